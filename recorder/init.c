/* init.c: libspprof.so's entry points. The constructor resolves the interposed libc functions,
 * registers the exit handler and, in the preloaded library, reads SPPROF_* from the
 * environment and starts recording (recording.c); at exit the trace gets its END record and
 * stderr one summary line. It must never stop the program: a failed setup prints one line
 * ("spprof: <why>; running unprofiled") and the program runs on. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <unistd.h>

#include "recorder/follow.h"
#include "recorder/interpose.h"
#include "recorder/log.h"
#include "recorder/options.h"
#include "recorder/recording.h"

/* on_exit rather than atexit: it is handed the exit status, which END records. Registered from
 * our constructor, which ld.so runs before __libc_start_main registers the loader's finalizer,
 * so it runs last: after the program's atexit handlers and after every destructor (the
 * program's and the libraries'), whose CPU time is thus still sampled. The libraries we call
 * (libdw, libzstd) have no destructor that tears down state we use. */
static void at_exit(int status, void *arg) {
    (void)arg;
    if (getpid() != sp_recording_pid()) {
        return; /* a child that did not come through fork's handlers has no recording */
    }
    sp_recording_finish(SPT_END_EXIT, status & 0xff, NULL); /* what the parent's wait() sees */
}

__attribute__((constructor)) static void spprof_init(void) {
    sp_interpose_init();
    sp_log_init();
    if (on_exit(at_exit, NULL) != 0) {
        sp_log("spprof: cannot register the exit handler; traces will end unfinished");
    }
#ifdef SP_AUTOSTART
    /* The preloaded library records from the start; a linked one waits for spprof_start(). */
    sp_options o;
    sp_options_defaults(&o);
    char err[512];
    if (sp_options_from_env(&o, err, sizeof err) != 0) {
        sp_log("spprof: %s; running unprofiled", err);
        return;
    }
    if (o.root_pid == 0 && getenv("SPPROF_SELF") == NULL) {
        o.root_pid = (int)getpid(); /* preloaded by hand: this process is the first */
    }
    sp_lineage lin;
    if (!sp_follow_from_env(&o, &lin)) {
        return; /* --no-follow, and this is not the first image of the first process */
    }
    if (sp_recording_start(&o, &lin, SP_START_PRELOAD, 1, err, sizeof err) != 0) {
        sp_log("spprof: %s; running unprofiled", err);
    }
#endif
}

/* init.c: libspprof.so's entry points. A constructor reads SPPROF_* from the environment and
 * starts the writer thread and the main thread's sampler; at exit the trace gets its END record
 * and stderr one summary line. It must never stop the program: a failed setup prints one line
 * ("spprof: <why>; running unprofiled") and the program runs on. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "recorder/log.h"
#include "recorder/ring.h"
#include "recorder/sampler.h"
#include "recorder/unwind.h"
#include "recorder/writer_thread.h"

#define DEFAULT_INTERVAL_NS 10000000u    /* 100 Hz, as py-spy and gperftools */
#define MIN_INTERVAL_NS     10000u       /* 10 us; CPU timers fire on the tick anyway (overruns) */
#define MAX_INTERVAL_NS     60000000000u /* 60 s */
#define DEFAULT_MAX_DEPTH   512u
#define MAX_MAX_DEPTH       4096u      /* keeps one ring reservation at 32 KiB */
#define RING_MIN_BYTES      (1u << 20) /* 1 MiB: ~10,000 samples of 8 frames between drains */
#define RING_MIN_ENTRIES    64u        /* room for 64 maximal samples whatever max_depth is */

/* Static: the handler may still look at it during exit, after everything else is gone. */
static sp_sampler_thread main_thread;
static pid_t recording_pid;
static uint64_t setup_cpu_ns;
static char output_path[PATH_MAX];

static uint64_t clock_ns(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Reads an unsigned decimal environment variable into *out (default when unset). Returns 0, or
 * -1 when it is set but not a number in [min, max]. */
static int env_u64(const char *name, uint64_t def, uint64_t min, uint64_t max, uint64_t *out) {
    const char *s = getenv(name);
    if (s == NULL || s[0] == '\0') {
        *out = def;
        return 0;
    }
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || s[0] == '-' || v < min || v > max) {
        sp_log("spprof: %s=%s is not a number from %" PRIu64 " to %" PRIu64 "; running unprofiled",
               name, s, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

static void make_trace_id(char out[33]) {
    unsigned char bytes[16];
    if (getrandom(bytes, sizeof bytes, GRND_NONBLOCK) != (ssize_t)sizeof bytes) {
        /* Early boot, no entropy yet: time and pid still make clashes unlikely. */
        uint64_t a = clock_ns(CLOCK_REALTIME);
        uint64_t b = clock_ns(CLOCK_MONOTONIC) ^ ((uint64_t)getpid() << 32);
        memcpy(bytes, &a, 8);
        memcpy(bytes + 8, &b, 8);
    }
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < sizeof bytes; i++) {
        out[2 * i] = hex[bytes[i] >> 4];
        out[2 * i + 1] = hex[bytes[i] & 15];
    }
    out[32] = '\0';
}

static void format_bytes(uint64_t bytes, char *out, size_t out_len) {
    if (bytes < 1024) {
        snprintf(out, out_len, "%" PRIu64 " B", bytes);
    } else if (bytes < 1024u * 1024u) {
        snprintf(out, out_len, "%.1f KiB", (double)bytes / 1024.0);
    } else if (bytes < 1024ull * 1024u * 1024u) {
        snprintf(out, out_len, "%.1f MiB", (double)bytes / (1024.0 * 1024.0));
    } else {
        snprintf(out, out_len, "%.1f GiB", (double)bytes / (1024.0 * 1024.0 * 1024.0));
    }
}

static void finish(spt_end_reason reason, int32_t status) {
    sp_writer_summary s;
    sp_writer_thread_finish(reason, status, setup_cpu_ns, &s);
    if (!s.ok) {
        if (strcmp(s.error, "not recording") != 0) {
            sp_log("spprof: trace %s did not finish cleanly: %s", output_path, s.error);
        }
        return;
    }
    char size[32];
    format_bytes(s.file_bytes, size, sizeof size);
    char per_sample[48] = "";
    if (s.samples > 0) {
        snprintf(per_sample, sizeof per_sample, ", %" PRIu64 " B/sample", s.file_bytes / s.samples);
    }
    double cpu_pct =
        s.process_cpu_ns > 0 ? 100.0 * (double)s.recorder_cpu_ns / (double)s.process_cpu_ns : 0;
    sp_log("spprof: %.2f s, %" PRIu64 " samples (%" PRIu64 " dropped), trace %s (%s%s), "
           "recorder CPU %.1f%%",
           (double)s.duration_ns / 1e9, s.samples, s.dropped_samples, output_path, size, per_sample,
           cpu_pct);
}

/* on_exit rather than atexit: it is handed the exit status, which END records. Registered from
 * our constructor, which ld.so runs before __libc_start_main registers the loader's finalizer,
 * so it runs last: after the program's atexit handlers and after every destructor (the
 * program's and the libraries'), whose CPU time is thus still sampled. The libraries we call
 * (libdw, libzstd) have no destructor that tears down state we use. */
static void at_exit(int status, void *arg) {
    (void)arg;
    if (getpid() != recording_pid) {
        return; /* a forked child inherited this handler, but not the writer thread */
    }
    finish(SPT_END_EXIT, status & 0xff); /* what the parent's wait() sees */
}

__attribute__((constructor)) static void spprof_init(void) {
    uint64_t cpu_start = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    pid_t pid = getpid();
    /* spprof-record names the process it launched. Children inherit LD_PRELOAD but are not
     * followed yet (issue 3), so their copy of the library stays passive. */
    const char *only_pid = getenv("SPPROF_PID");
    if (only_pid != NULL && only_pid[0] != '\0' && strtol(only_pid, NULL, 10) != (long)pid) {
        return;
    }

    sp_log_init();
    uint64_t interval_ns = 0;
    uint64_t max_depth = 0;
    if (env_u64("SPPROF_INTERVAL_NS", DEFAULT_INTERVAL_NS, MIN_INTERVAL_NS, MAX_INTERVAL_NS,
                &interval_ns) != 0 ||
        env_u64("SPPROF_MAX_DEPTH", DEFAULT_MAX_DEPTH, 1, MAX_MAX_DEPTH, &max_depth) != 0) {
        return;
    }
    const char *output = getenv("SPPROF_OUTPUT");
    if (output != NULL && output[0] != '\0') {
        snprintf(output_path, sizeof output_path, "%s", output);
    } else {
        snprintf(output_path, sizeof output_path, "spprof-%ld.sptrace", (long)pid);
    }
    char trace_id[33];
    const char *id_env = getenv("SPPROF_TRACE_ID");
    if (id_env != NULL && id_env[0] != '\0') {
        snprintf(trace_id, sizeof trace_id, "%s", id_env);
    } else {
        make_trace_id(trace_id);
    }

    int rc = sp_unwind_init();
    if (rc != 0) {
        sp_log("spprof: cannot configure libunwind (error %d); running unprofiled", rc);
        return;
    }
    size_t entry_bytes = sp_sampler_entry_bytes((uint32_t)max_depth);
    size_t ring_bytes = RING_MIN_ENTRIES * entry_bytes;
    sp_ring *ring = sp_ring_create(ring_bytes > RING_MIN_BYTES ? ring_bytes : RING_MIN_BYTES);
    if (ring == NULL) {
        sp_log("spprof: cannot allocate the sample ring: %s; running unprofiled", strerror(errno));
        return;
    }

    sp_writer_config config = {
        .output_path = output_path,
        .interval_ns = interval_ns,
        .max_depth = (uint32_t)max_depth,
        .trace_id = trace_id,
        .start_wall_ns = clock_ns(CLOCK_REALTIME),
        .start_mono_ns = clock_ns(CLOCK_MONOTONIC),
    };
    char err[512];
    if (sp_writer_thread_start(&config, err, sizeof err) != 0) {
        sp_log("spprof: %s; running unprofiled", err);
        sp_ring_destroy(ring);
        return;
    }
    recording_pid = pid;
    main_thread.ring = ring;
    main_thread.max_depth = (uint32_t)max_depth;
    sp_sampler_error serr = {"cannot register the main thread", ENOMEM};
    if (sp_writer_thread_add(&main_thread) != 0 || sp_sampler_install(&serr) != 0 ||
        sp_sampler_start_thread(&main_thread, interval_ns, &serr) != 0) {
        sp_log("spprof: %s%s%s; running unprofiled", serr.what, serr.errnum ? ": " : "",
               serr.errnum ? strerror(serr.errnum) : "");
        sp_writer_summary ignored;
        sp_writer_thread_finish(SPT_END_STOPPED, 0, 0, &ignored);
        unlink(output_path); /* no samples will ever come: leave no trace that suggests some */
        recording_pid = 0;
        return;
    }
    if (on_exit(at_exit, NULL) != 0) {
        sp_log("spprof: cannot register the exit handler; the trace will end unfinished");
    }
    setup_cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu_start;
}

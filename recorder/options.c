/* options.c: defaults, SPPROF_* parsing and limit checks for the recorder's settings. */
#define _GNU_SOURCE
#include "recorder/options.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static void make_trace_id(char out[33]) {
    unsigned char bytes[16];
    if (getrandom(bytes, sizeof bytes, GRND_NONBLOCK) != (ssize_t)sizeof bytes) {
        /* Early boot, no entropy yet: time and pid still make clashes unlikely. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t a = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
        uint64_t b = a * 0x9E3779B97F4A7C15ull ^ ((uint64_t)getpid() << 32);
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

/* Makes path absolute against the cwd, so that children which chdir still write next to it. */
static void absolute_path(const char *path, char *out, size_t out_len) {
    char cwd[PATH_MAX];
    int n;
    if (path[0] == '/' || getcwd(cwd, sizeof cwd) == NULL) {
        n = snprintf(out, out_len, "%s", path);
    } else {
        n = snprintf(out, out_len, "%s/%s", strcmp(cwd, "/") == 0 ? "" : cwd, path);
    }
    if (n < 0 || (size_t)n >= out_len) {
        out[out_len - 1] = '\0'; /* cut: creating the file then fails and says so */
    }
}

void sp_options_defaults(sp_options *o) {
    memset(o, 0, sizeof *o);
    char name[64];
    snprintf(name, sizeof name, "spprof-%ld.sptrace", (long)getpid());
    absolute_path(name, o->output, sizeof o->output);
    o->interval_ns = SP_DEFAULT_INTERVAL_NS;
    o->max_depth = SP_DEFAULT_MAX_DEPTH;
    o->memory_limit_bytes = (uint64_t)SP_DEFAULT_MEMORY_MB << 20;
    o->unwind = SP_UNWIND_LIBUNWIND;
    o->signo = SIGPROF;
    o->follow = 1;
    make_trace_id(o->trace_id);
}

/* Reads an unsigned decimal variable into *out; unset or empty leaves *out. Returns 0, or -1 with
 * err filled when it is set but not a number in [min, max]. */
static int env_u64(const char *name, uint64_t min, uint64_t max, uint64_t *out, char *err,
                   size_t err_len) {
    const char *s = getenv(name);
    if (s == NULL || s[0] == '\0') {
        return 0;
    }
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || s[0] == '-' || v < min || v > max) {
        snprintf(err, err_len, "%s=%s is not a number from %" PRIu64 " to %" PRIu64, name, s, min,
                 max);
        return -1;
    }
    *out = v;
    return 0;
}

int sp_options_from_env(sp_options *o, char *err, size_t err_len) {
    const char *output = getenv("SPPROF_OUTPUT");
    if (output != NULL && output[0] != '\0') {
        absolute_path(output, o->output, sizeof o->output);
    }
    uint64_t v = o->interval_ns;
    if (env_u64("SPPROF_INTERVAL_NS", SP_MIN_INTERVAL_NS, SP_MAX_INTERVAL_NS, &v, err, err_len)) {
        return -1;
    }
    o->interval_ns = v;
    v = o->max_depth;
    if (env_u64("SPPROF_MAX_DEPTH", 1, SP_MAX_MAX_DEPTH, &v, err, err_len)) {
        return -1;
    }
    o->max_depth = (uint32_t)v;
    v = o->memory_limit_bytes >> 20;
    if (env_u64("SPPROF_MEMORY_LIMIT_MB", 1, SP_MAX_MEMORY_MB, &v, err, err_len)) {
        return -1;
    }
    o->memory_limit_bytes = v << 20;
    v = o->max_size_bytes;
    if (env_u64("SPPROF_MAX_SIZE_BYTES", 0, UINT64_MAX / 2, &v, err, err_len)) {
        return -1;
    }
    o->max_size_bytes = v;
    v = (uint64_t)o->signo;
    if (env_u64("SPPROF_SIGNAL", 1, (uint64_t)SIGRTMAX, &v, err, err_len)) {
        return -1;
    }
    o->signo = (int)v;
    v = 0;
    if (env_u64("SPPROF_ROOT_PID", 1, INT32_MAX, &v, err, err_len)) {
        return -1;
    }
    o->root_pid = (int)v;
    const char *clock = getenv("SPPROF_CLOCK");
    if (clock != NULL && clock[0] != '\0') {
        if (strcmp(clock, "cpu") != 0 && strcmp(clock, "wall") != 0) {
            snprintf(err, err_len, "SPPROF_CLOCK=%s is neither cpu nor wall", clock);
            return -1;
        }
        o->clock_wall = strcmp(clock, "wall") == 0;
    }
    const char *unwind = getenv("SPPROF_UNWIND");
    if (unwind != NULL && unwind[0] != '\0') {
        if (strcmp(unwind, "libunwind") != 0 && strcmp(unwind, "fp") != 0) {
            snprintf(err, err_len, "SPPROF_UNWIND=%s is neither libunwind nor fp", unwind);
            return -1;
        }
        o->unwind = strcmp(unwind, "fp") == 0 ? SP_UNWIND_FP : SP_UNWIND_LIBUNWIND;
    }
    const char *follow = getenv("SPPROF_FOLLOW");
    if (follow != NULL && follow[0] != '\0') {
        o->follow = strcmp(follow, "0") != 0;
    }
    const char *system_lines = getenv("SPPROF_SYSTEM_LINES");
    o->system_lines = system_lines == NULL || strcmp(system_lines, "0") != 0; /* default on */
    const char *force = getenv("SPPROF_TEST_PROCESS_TIMER");
    o->force_process_timer = force != NULL && force[0] != '\0' && strcmp(force, "0") != 0;
    const char *alloc = getenv("SPPROF_ALLOC"); /* checked by sp_heap_configure */
    if (alloc != NULL) {
        snprintf(o->alloc_spec, sizeof o->alloc_spec, "%s", alloc);
    }
    const char *id = getenv("SPPROF_TRACE_ID");
    if (id != NULL && id[0] != '\0') {
        snprintf(o->trace_id, sizeof o->trace_id, "%s", id);
    }
    return sp_options_check(o, err, err_len);
}

int sp_options_check(const sp_options *o, char *err, size_t err_len) {
    if (o->output[0] == '\0') {
        snprintf(err, err_len, "the output path is empty");
        return -1;
    }
    if (o->interval_ns < SP_MIN_INTERVAL_NS || o->interval_ns > SP_MAX_INTERVAL_NS) {
        snprintf(err, err_len, "the interval must be from 10 us to 1 s");
        return -1;
    }
    if (o->max_depth < 1 || o->max_depth > SP_MAX_MAX_DEPTH) {
        snprintf(err, err_len, "the maximum depth must be from 1 to %u frames", SP_MAX_MAX_DEPTH);
        return -1;
    }
    if (o->memory_limit_bytes < (1u << 20) ||
        o->memory_limit_bytes > ((uint64_t)SP_MAX_MEMORY_MB << 20)) {
        snprintf(err, err_len, "the memory limit must be from 1 MB to %u MB", SP_MAX_MEMORY_MB);
        return -1;
    }
    if (o->signo < 1 || o->signo > SIGRTMAX || o->signo == SIGKILL || o->signo == SIGSTOP ||
        o->signo == SIGSEGV || o->signo == SIGBUS || o->signo == SIGFPE || o->signo == SIGILL ||
        o->signo == SIGABRT || o->signo == SIGCHLD || o->signo == SIGCONT) {
        snprintf(err, err_len, "signal %d cannot be the sampling signal", o->signo);
        return -1;
    }
    return 0;
}

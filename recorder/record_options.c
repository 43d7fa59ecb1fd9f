/* record_options.c: the launcher's options for clocks, limits, unwinding, the sampling signal
 * and following children; each becomes one SPPROF_* variable (docs/USAGE.md, "Recording"). */
#define _GNU_SOURCE
#include "recorder/record_options.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "--name VALUE" or "--name=VALUE": the value, advancing *i; NULL when arg is not --name.
 * *missing is set when --name is the last argument. */
static const char *long_value(int argc, char **argv, int *i, const char *name, int *missing) {
    const char *arg = argv[*i];
    size_t len = strlen(name);
    if (strcmp(arg, name) == 0) {
        if (*i + 1 >= argc) {
            *missing = 1;
            return NULL;
        }
        *i += 1;
        return argv[*i];
    }
    if (strncmp(arg, name, len) == 0 && arg[len] == '=') {
        return arg + len + 1;
    }
    return NULL;
}

static int parse_u64(const char *v, uint64_t min, uint64_t max, uint64_t *out) {
    char *end = NULL;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || v[0] == '-' || n < min || n > max) {
        return -1;
    }
    *out = n;
    return 0;
}

int sp_record_parse_signal(const char *name) {
    const char *s = strncmp(name, "SIG", 3) == 0 ? name + 3 : name;
    uint64_t n = 0;
    if (parse_u64(s, 1, (uint64_t)SIGRTMAX, &n) == 0) {
        return (int)n;
    }
    if (strncmp(s, "RTMIN", 5) == 0 || strncmp(s, "RTMAX", 5) == 0) {
        int base = s[3] == 'I' ? SIGRTMIN : SIGRTMAX;
        int sign = s[5] == '+' ? 1 : s[5] == '-' ? -1 : 0;
        uint64_t k = 0;
        if (s[5] != '\0' && (sign == 0 || parse_u64(s + 6, 0, 64, &k) != 0)) {
            return -1;
        }
        long signo = (long)base + sign * (long)k;
        return signo >= SIGRTMIN && signo <= SIGRTMAX ? (int)signo : -1;
    }
    for (int signo = 1; signo < SIGRTMIN; signo++) {
        const char *abbrev = sigabbrev_np(signo);
        if (abbrev != NULL && strcmp(abbrev, s) == 0) {
            return signo;
        }
    }
    return -1;
}

int sp_record_parse_option(int argc, char **argv, int *i, sp_record_settings *s, char *err,
                           size_t err_len) {
    int missing = 0;
    const char *v;
    if (strcmp(argv[*i], "--no-follow") == 0) {
        s->no_follow = 1;
        return 1;
    }
    if (strcmp(argv[*i], "--no-system-lines") == 0) {
        s->no_system_lines = 1;
        return 1;
    }
    if ((v = long_value(argc, argv, i, "--clock", &missing)) != NULL) {
        if (strcmp(v, "cpu") != 0 && strcmp(v, "wall") != 0) {
            snprintf(err, err_len, "--clock wants cpu or wall, not '%s'", v);
            return -1;
        }
        s->clock_wall = strcmp(v, "wall") == 0;
        return 1;
    }
    if ((v = long_value(argc, argv, i, "--memory-limit-mb", &missing)) != NULL) {
        if (parse_u64(v, 1, 1u << 20, &s->memory_limit_mb) != 0) {
            snprintf(err, err_len, "--memory-limit-mb wants megabytes from 1 to 1048576, not '%s'",
                     v);
            return -1;
        }
        return 1;
    }
    if ((v = long_value(argc, argv, i, "--max-size", &missing)) != NULL) {
        char *end = NULL;
        errno = 0;
        double mb = strtod(v, &end);
        /* Decimals are allowed (tests cap at a few KiB); below 0.01 MB the header alone fills
         * the trace. */
        if (errno != 0 || end == v || *end != '\0' || !(mb >= 0.01) || mb > 1073741824.0) {
            snprintf(err, err_len, "--max-size wants megabytes from 0.01 to 1073741824, not '%s'",
                     v);
            return -1;
        }
        s->max_size_bytes = (uint64_t)(mb * 1048576.0 + 0.5);
        return 1;
    }
    if ((v = long_value(argc, argv, i, "--unwind", &missing)) != NULL) {
        if (strcmp(v, "libunwind") != 0 && strcmp(v, "fp") != 0) {
            snprintf(err, err_len, "--unwind wants libunwind or fp, not '%s'", v);
            return -1;
        }
        s->unwind_fp = strcmp(v, "fp") == 0;
        return 1;
    }
    if ((v = long_value(argc, argv, i, "--signal", &missing)) != NULL) {
        int signo = sp_record_parse_signal(v);
        if (signo <= 0 || signo == SIGKILL || signo == SIGSTOP || signo == SIGSEGV ||
            signo == SIGBUS || signo == SIGFPE || signo == SIGILL || signo == SIGABRT ||
            signo == SIGCHLD || signo == SIGCONT) {
            snprintf(err, err_len,
                     "--signal wants a signal the program does not use, such as SIGPROF or "
                     "SIGRTMIN+3, not '%s'",
                     v);
            return -1;
        }
        s->signo = signo;
        return 1;
    }
    if (missing) {
        snprintf(err, err_len, "%s needs a value", argv[*i]);
        return -1;
    }
    return 0;
}

static int set_u64(const char *name, uint64_t value) {
    char number[32];
    snprintf(number, sizeof number, "%llu", (unsigned long long)value);
    return setenv(name, number, 1);
}

int sp_record_export(const sp_record_settings *s) {
    if (setenv("SPPROF_CLOCK", s->clock_wall ? "wall" : "cpu", 1) != 0 ||
        setenv("SPPROF_UNWIND", s->unwind_fp ? "fp" : "libunwind", 1) != 0 ||
        setenv("SPPROF_FOLLOW", s->no_follow ? "0" : "1", 1) != 0 ||
        setenv("SPPROF_SYSTEM_LINES", s->no_system_lines ? "0" : "1", 1) != 0 ||
        set_u64("SPPROF_MAX_SIZE_BYTES", s->max_size_bytes) != 0 ||
        set_u64("SPPROF_SIGNAL", (uint64_t)(s->signo > 0 ? s->signo : SIGPROF)) != 0) {
        return -1;
    }
    if (s->memory_limit_mb > 0 && set_u64("SPPROF_MEMORY_LIMIT_MB", s->memory_limit_mb) != 0) {
        return -1;
    }
    return 0;
}

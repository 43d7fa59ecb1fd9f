/* record_options.h: spprof-record's sampling and lifecycle options beyond -o, --interval and
 * --max-depth: --clock, --memory-limit-mb, --max-size, --unwind, --signal, --no-follow. Parsed
 * here and handed to the preloaded library as SPPROF_* variables. Launcher only. */
#ifndef SPPROF_RECORDER_RECORD_OPTIONS_H
#define SPPROF_RECORDER_RECORD_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int clock_wall;           /* --clock wall */
    uint64_t memory_limit_mb; /* --memory-limit-mb, 0 = the library's default (100) */
    uint64_t max_size_bytes;  /* --max-size (given in MB, decimals allowed), 0 = no cap */
    int unwind_fp;            /* --unwind fp */
    int signo;                /* --signal, 0 = SIGPROF */
    int no_follow;            /* --no-follow */
    int no_system_lines;      /* --no-system-lines */
} sp_record_settings;

/* If argv[*i] is one of these options, stores its value in *s, advances *i past it and returns
 * 1; returns 0 when it is not one of them; returns -1 with a one-line reason in err when it is
 * but its value is wrong. Not async-signal-safe. */
int sp_record_parse_option(int argc, char **argv, int *i, sp_record_settings *s, char *err,
                           size_t err_len);

/* Parses a signal name: SIGPROF, PROF, SIGRTMIN+3, RTMAX-1, or a number. Returns the signal
 * number, or -1. Not async-signal-safe. */
int sp_record_parse_signal(const char *name);

/* Sets the SPPROF_* variables for these settings. Returns 0, or -1 (errno from setenv).
 * Not async-signal-safe. */
int sp_record_export(const sp_record_settings *s);

#endif /* SPPROF_RECORDER_RECORD_OPTIONS_H */

/* log.h: the recorder's one-line messages to the user's stderr ("spprof: ..."). Not for the
 * signal path: formatting uses vsnprintf. */
#ifndef SPPROF_RECORDER_LOG_H
#define SPPROF_RECORDER_LOG_H

/* Keeps a private duplicate of stderr (close-on-exec, numbered 100 or above, away from the
 * low descriptors programs reuse), so the exit summary still reaches the terminal when the
 * program closed its stderr first, as coreutils do at exit. Falls back to fd 2. Call once, from
 * the constructor. Not async-signal-safe. */
void sp_log_init(void);

/* Formats one line, adds the newline and writes it whole with one write(2), bypassing stdio so
 * the program's stderr buffer and lock are never touched. Lines longer than 1 KiB are cut.
 * Not async-signal-safe. */
__attribute__((format(printf, 1, 2))) void sp_log(const char *fmt, ...);

#endif /* SPPROF_RECORDER_LOG_H */

/* summary.h: the one stderr line a recording ends with: duration, samples, drops, threads,
 * trace size, bytes per sample, the sampling rate achieved, and the recorder's own CPU time as a
 * share of the program's. Normal context only (it formats with snprintf). */
#ifndef SPPROF_RECORDER_SUMMARY_H
#define SPPROF_RECORDER_SUMMARY_H

#include <stddef.h>

#include "recorder/writer_thread.h"

/* Formats the summary of s into out (one line, no newline). Not async-signal-safe. */
void sp_summary_format(const sp_writer_summary *s, char *out, size_t out_len);

/* Prints it with sp_log, or "spprof: trace X did not finish cleanly: why" when it did not.
 * Not async-signal-safe. */
void sp_summary_print(const sp_writer_summary *s);

#endif /* SPPROF_RECORDER_SUMMARY_H */

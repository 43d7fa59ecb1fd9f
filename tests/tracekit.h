/* tracekit.h: what the C tests of every component share for files and traces: a scratch
 * directory, whole files read and written, allocation that cannot fail, and the public trace
 * writer opened, fed and closed with its errors printed. Test-only; it goes through
 * tracefmt/sptrace.h alone and knows nothing of tracefmt's internals. Not async-signal-safe. */
#ifndef SPPROF_TESTS_TRACEKIT_H
#define SPPROF_TESTS_TRACEKIT_H

#include <stddef.h>
#include <stdint.h>

#include "tracefmt/sptrace.h"

/* ---------------------------------------------------------------------------------------------
 * Scratch files.
 * ------------------------------------------------------------------------------------------- */

/* The scratch directory: $TEST_TMPDIR under Bazel, otherwise /tmp/spprof-test-<pid> (created on
 * first use; /tmp itself if that fails). Never NULL. */
const char *tk_tmp_dir(void);

/* Writes "<tk_tmp_dir()>/name" into buf (cap bytes, truncated to fit) and returns buf. */
const char *tk_tmp_path(const char *name, char *buf, size_t cap);

/* Makes tk_tmp_dir() the working directory, so that a test can give its files short relative
 * names. Returns 0, or -1 (errno set) when chdir fails. */
int tk_enter_tmp_dir(void);

/* Reads a whole file (any bytes) into a heap buffer with a NUL after the last byte; *len (when
 * not NULL) receives the length without that NUL. Returns NULL when the file cannot be opened or
 * read. The caller frees the buffer. */
char *tk_read_file(const char *path, size_t *len);

/* Writes len bytes to path, creating or replacing it. Returns 0, or -1 when it cannot be opened,
 * written in full or closed. */
int tk_write_file(const char *path, const void *data, size_t len);

/* ---------------------------------------------------------------------------------------------
 * Memory.
 * ------------------------------------------------------------------------------------------- */

/* realloc(p, size) that prints the size and aborts the test when memory runs out, so helpers
 * need no failure path; size 0 still returns a valid, freeable block. */
void *tk_xrealloc(void *p, size_t size);

/* ---------------------------------------------------------------------------------------------
 * Writing traces through the public writer.
 * ------------------------------------------------------------------------------------------- */

/* Opens a writer on path with header h and options o (NULL: the defaults). Returns it, or NULL
 * after printing the writer's one-line error on stderr. */
spt_writer *tk_open_writer(const char *path, const spt_header *h, const spt_writer_options *o);

/* Finishes w (with an END record when end is not NULL, an unfinished trace otherwise) and frees
 * it. Returns 0, or -1 after printing the writer's error, which names path. */
int tk_close_writer(spt_writer *w, const spt_end *end);

/* tk_close_writer with an END that says the program exited (status 0) after duration_ns. */
int tk_close_exited(spt_writer *w, uint64_t duration_ns);

/* Interns the mapping of file `path` over [start, end) from file_offset, without a build id.
 * Returns its id, or 0 when the writer failed. */
uint32_t tk_mapping(spt_writer *w, const char *path, uint64_t start, uint64_t end,
                    uint64_t file_offset);

/* Interns a native frame of function in file at line (either string may be NULL: unknown), at
 * address in mapping (0: none). Returns its id, or 0 when the writer failed. */
uint32_t tk_native_frame(spt_writer *w, const char *function, const char *file, uint32_t line,
                         uint64_t address, uint32_t mapping);

#endif /* SPPROF_TESTS_TRACEKIT_H */

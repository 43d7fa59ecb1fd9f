/* tracekit.c: the test helpers for scratch files and for writing traces (tracekit.h), shared by
 * the tests of tracefmt, analyze and convert. */
#define _XOPEN_SOURCE 700
#include "tests/tracekit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *tk_tmp_dir(void) {
    static char fallback[64];
    const char *dir = getenv("TEST_TMPDIR");
    if (dir != NULL && dir[0] != '\0')
        return dir;
    /* Outside Bazel: a directory of this process's own, so that two runs cannot collide. */
    if (fallback[0] == '\0') {
        snprintf(fallback, sizeof fallback, "/tmp/spprof-test-%ld", (long)getpid());
        if (mkdir(fallback, 0700) != 0 && access(fallback, W_OK) != 0)
            snprintf(fallback, sizeof fallback, "/tmp");
    }
    return fallback;
}

const char *tk_tmp_path(const char *name, char *buf, size_t cap) {
    snprintf(buf, cap, "%s/%s", tk_tmp_dir(), name);
    return buf;
}

int tk_enter_tmp_dir(void) {
    return chdir(tk_tmp_dir());
}

char *tk_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 65536, n = 0;
    char *buf = tk_xrealloc(NULL, cap);
    for (;;) {
        if (cap - n < 2) { /* room for one more byte and the NUL */
            cap *= 2;
            buf = tk_xrealloc(buf, cap);
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    if (len != NULL)
        *len = n;
    return buf;
}

int tk_write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return -1;
    size_t put = fwrite(data, 1, len, f);
    int rc = fclose(f);
    return put == len && rc == 0 ? 0 : -1;
}

void *tk_xrealloc(void *p, size_t size) {
    void *q = realloc(p, size ? size : 1);
    if (q == NULL) {
        fprintf(stderr, "test helper: out of memory (%zu bytes)\n", size);
        abort();
    }
    return q;
}

spt_writer *tk_open_writer(const char *path, const spt_header *h, const spt_writer_options *o) {
    spt_writer *w = NULL;
    spt_status st = spt_writer_open(path, h, o, &w);
    if (st == SPT_OK)
        return w;
    /* Without a writer (no memory for one) the status is all there is to say. */
    if (w != NULL)
        fprintf(stderr, "%s\n", spt_writer_error(w));
    else
        fprintf(stderr, "%s: cannot write: %s\n", path, spt_status_name(st));
    spt_writer_destroy(w);
    return NULL;
}

int tk_close_writer(spt_writer *w, const spt_end *end) {
    spt_status st = spt_writer_finish(w, end);
    if (st != SPT_OK)
        fprintf(stderr, "%s\n", spt_writer_error(w));
    spt_writer_destroy(w);
    return st == SPT_OK ? 0 : -1;
}

int tk_close_exited(spt_writer *w, uint64_t duration_ns) {
    spt_end e;
    memset(&e, 0, sizeof e);
    e.reason = SPT_END_EXIT;
    e.duration_ns = duration_ns;
    return tk_close_writer(w, &e);
}

uint32_t tk_mapping(spt_writer *w, const char *path, uint64_t start, uint64_t end,
                    uint64_t file_offset) {
    spt_mapping m;
    memset(&m, 0, sizeof m);
    m.start = start;
    m.end = end;
    m.file_offset = file_offset;
    m.path = spt_writer_cstring(w, path);
    return spt_writer_mapping(w, &m);
}

uint32_t tk_native_frame(spt_writer *w, const char *function, const char *file, uint32_t line,
                         uint64_t address, uint32_t mapping) {
    spt_frame f;
    memset(&f, 0, sizeof f);
    f.kind = SPT_FRAME_NATIVE;
    f.function = spt_writer_cstring(w, function);
    f.file = spt_writer_cstring(w, file);
    f.line = line;
    f.address = address;
    f.mapping = mapping;
    return spt_writer_frame(w, &f);
}

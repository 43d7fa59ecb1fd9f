/* spill.c: numbered append-only byte streams (one per thread and kind for speedscope, one for the
 * heap replay) kept in a single unlinked temporary file. Each stream buffers up to one 4 KiB
 * block in memory and writes it out when full, remembering only the block's offset, so memory
 * grows with the number of streams, and the file with the events spilled. */
#define _POSIX_C_SOURCE 200809L
#include "convert/convert_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BLOCK_BYTES 4096u

typedef struct {
    unsigned char *buf; /* the block being filled */
    size_t len, cap;
    uint64_t *offsets; /* written blocks, each BLOCK_BYTES long, in order */
    size_t n_blocks, blocks_cap;
} stream;

struct spc_spill {
    stream *streams;
    uint32_t n_streams;
    int fd; /* -1 until the first block is written */
    uint64_t file_len;
    int failed;
    char error[256];
};

spc_spill *spc_spill_new(void) {
    spc_spill *s = calloc(1, sizeof *s);
    if (s)
        s->fd = -1;
    return s;
}

void spc_spill_free(spc_spill *s) {
    if (!s)
        return;
    for (uint32_t i = 0; i < s->n_streams; i++) {
        free(s->streams[i].buf);
        free(s->streams[i].offsets);
    }
    free(s->streams);
    if (s->fd >= 0)
        close(s->fd);
    free(s);
}

const char *spc_spill_error(const spc_spill *s) {
    return s->failed ? s->error : "no error";
}

static int fail(spc_spill *s, const char *what, int err) {
    if (!s->failed) {
        if (err)
            snprintf(s->error, sizeof s->error, "temporary file: %s: %s", what, strerror(err));
        else
            snprintf(s->error, sizeof s->error, "out of memory while spilling events");
    }
    s->failed = 1;
    return -1;
}

/* Creates the temporary file and unlinks it at once: it lives as long as the descriptor. */
static int open_file(spc_spill *s) {
    const char *dir = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/spprof-convert-XXXXXX", dir && *dir ? dir : "/tmp");
    s->fd = mkstemp(path);
    if (s->fd < 0)
        return fail(s, "cannot create", errno);
    unlink(path);
    return 0;
}

static int write_block(spc_spill *s, stream *st) {
    if (s->fd < 0 && open_file(s))
        return -1;
    if (st->n_blocks == st->blocks_cap) {
        size_t cap = st->blocks_cap ? st->blocks_cap * 2 : 16;
        uint64_t *p = realloc(st->offsets, cap * sizeof *p);
        if (!p)
            return fail(s, NULL, 0);
        st->offsets = p;
        st->blocks_cap = cap;
    }
    size_t done = 0;
    while (done < st->len) {
        ssize_t n = pwrite(s->fd, st->buf + done, st->len - done, (off_t)(s->file_len + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return fail(s, "cannot write", n < 0 ? errno : EIO);
        done += (size_t)n;
    }
    st->offsets[st->n_blocks++] = s->file_len;
    s->file_len += st->len;
    st->len = 0;
    return 0;
}

int spc_spill_put(spc_spill *s, uint32_t index, const void *bytes, size_t len) {
    if (s->failed)
        return -1;
    if (index >= s->n_streams) {
        if (index == UINT32_MAX)
            return fail(s, NULL, 0);
        uint32_t n = s->n_streams ? s->n_streams : 16;
        while (n <= index)
            n = n > UINT32_MAX / 2 ? UINT32_MAX : n * 2;
        stream *p = realloc(s->streams, (size_t)n * sizeof *p);
        if (!p)
            return fail(s, NULL, 0);
        memset(p + s->n_streams, 0, (size_t)(n - s->n_streams) * sizeof *p);
        s->streams = p;
        s->n_streams = n;
    }
    stream *st = &s->streams[index];
    const unsigned char *src = bytes;
    while (len > 0) {
        if (st->len == st->cap) {
            if (st->cap == BLOCK_BYTES) {
                if (write_block(s, st))
                    return -1;
            } else {
                /* Small streams stay small: the buffer doubles from 64 bytes to a block. */
                size_t cap = st->cap ? st->cap * 2 : 64;
                unsigned char *p = realloc(st->buf, cap);
                if (!p)
                    return fail(s, NULL, 0);
                st->buf = p;
                st->cap = cap;
            }
        }
        size_t n = st->cap - st->len < len ? st->cap - st->len : len;
        memcpy(st->buf + st->len, src, n);
        st->len += n;
        src += n;
        len -= n;
    }
    return 0;
}

void spc_spill_read_begin(spc_spill_reader *rd, spc_spill *s, uint32_t index) {
    memset(rd, 0, sizeof *rd);
    rd->s = s;
    rd->stream = index;
}

/* Loads the next block (from the file, or the one still in memory). Returns 1, 0 at the end, or
 * -1 on a read error. */
static int next_block(spc_spill_reader *rd) {
    spc_spill *s = rd->s;
    if (rd->stream >= s->n_streams)
        return 0;
    const stream *st = &s->streams[rd->stream];
    if (rd->block < st->n_blocks) {
        size_t done = 0;
        while (done < BLOCK_BYTES) {
            ssize_t n = pread(s->fd, rd->io + done, BLOCK_BYTES - done,
                              (off_t)(st->offsets[rd->block] + done));
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                rd->failed = 1;
                return -1;
            }
            done += (size_t)n;
        }
        rd->data = rd->io;
        rd->len = BLOCK_BYTES;
    } else if (rd->block == st->n_blocks) {
        rd->data = st->buf;
        rd->len = st->len;
    } else {
        return 0;
    }
    rd->block++;
    rd->pos = 0;
    return 1;
}

int spc_spill_read_varint(spc_spill_reader *rd, uint64_t *v) {
    uint64_t x = 0;
    for (unsigned shift = 0, k = 0;; shift += 7, k++) {
        while (rd->pos == rd->len) {
            int rc = next_block(rd);
            if (rc <= 0)
                return rc < 0 || k > 0 ? -1 : 0; /* ending inside a varint is damage */
        }
        unsigned char c = rd->data[rd->pos++];
        if (k == 9 && c > 1)
            return -1;
        x |= (uint64_t)(c & 0x7F) << shift;
        if (!(c & 0x80))
            break;
        if (k == 9)
            return -1;
    }
    *v = x;
    return 1;
}

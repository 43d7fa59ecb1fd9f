/* proto.c: the protobuf wire format, as much of it as profile.proto needs (varints and
 * length-delimited fields; repeated numbers packed), and a gzip stream through zlib. No protobuf
 * library: a message is built in a spc_buf, then written behind its tag and length. */
#include "convert/convert_int.h"

#include <stdlib.h>
#include <zlib.h>

void spc_pb_tag(spc_buf *b, uint32_t field, unsigned wire) {
    spc_buf_varint(b, (uint64_t)field << 3 | wire);
}

void spc_pb_uint(spc_buf *b, uint32_t field, uint64_t v) {
    spc_pb_tag(b, field, SPC_PB_VARINT);
    spc_buf_varint(b, v);
}

void spc_pb_int(spc_buf *b, uint32_t field, int64_t v) {
    spc_pb_uint(b, field, (uint64_t)v); /* int64 is not zigzagged: negatives take 10 bytes */
}

void spc_pb_bytes(spc_buf *b, uint32_t field, const void *bytes, size_t len) {
    spc_pb_tag(b, field, SPC_PB_LEN);
    spc_buf_varint(b, len);
    spc_buf_add(b, bytes, len);
}

void spc_pb_packed(spc_buf *b, uint32_t field, const uint64_t *v, size_t n) {
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t x = v[i];
        do {
            len++;
            x >>= 7;
        } while (x);
    }
    spc_pb_tag(b, field, SPC_PB_LEN);
    spc_buf_varint(b, len);
    for (size_t i = 0; i < n; i++)
        spc_buf_varint(b, v[i]);
}

struct spc_gzip {
    z_stream z;
    FILE *out;
    int failed;
    unsigned char buf[65536];
};

spc_gzip *spc_gzip_open(FILE *out) {
    spc_gzip *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->out = out;
    /* windowBits 15 + 16: a gzip header and trailer instead of zlib's. */
    if (deflateInit2(&g->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK) {
        free(g);
        return NULL;
    }
    return g;
}

/* Runs deflate with `flush` until it wants more input (or, finishing, until the end). */
static int pump(spc_gzip *g, int flush) {
    for (;;) {
        g->z.next_out = g->buf;
        g->z.avail_out = sizeof g->buf;
        int rc = deflate(&g->z, flush);
        if (rc == Z_STREAM_ERROR) {
            g->failed = 1;
            return -1;
        }
        size_t have = sizeof g->buf - g->z.avail_out;
        if (have && fwrite(g->buf, 1, have, g->out) != have) {
            g->failed = 1;
            return -1;
        }
        if (flush == Z_FINISH ? rc == Z_STREAM_END : g->z.avail_out != 0)
            return 0;
    }
}

int spc_gzip_write(spc_gzip *g, const void *bytes, size_t len) {
    const unsigned char *p = bytes;
    while (len > 0 && !g->failed) {
        uInt n = len > 0x40000000u ? 0x40000000u : (uInt)len;
        g->z.next_in = (Bytef *)(uintptr_t)p;
        g->z.avail_in = n;
        if (pump(g, Z_NO_FLUSH))
            break;
        p += n;
        len -= n;
    }
    return g->failed ? -1 : 0;
}

int spc_gzip_close(spc_gzip *g) {
    int rc = -1;
    if (g) {
        g->z.next_in = NULL;
        g->z.avail_in = 0;
        if (!g->failed)
            pump(g, Z_FINISH);
        rc = g->failed ? -1 : 0;
        deflateEnd(&g->z);
        free(g);
    }
    return rc;
}

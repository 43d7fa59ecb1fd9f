/* chunk.c: zstd frames as chunks. Writes go through one write(2) loop that retries EINTR and
 * short writes; nothing here buffers in stdio, so a flushed chunk is in the kernel at return. */
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_createCCtx_advanced: route zstd's memory through ours */
#include "tracefmt/chunk.h"

#include <errno.h>
#include <unistd.h>
#include <zstd.h>
#include <zstd_errors.h>
#include "tracefmt/xalloc.h"

static void *zstd_alloc(void *opaque, size_t size) {
    return spt_xmalloc(opaque, size);
}

static void zstd_free(void *opaque, void *p) {
    spt_xfree(opaque, p);
}

static ZSTD_customMem custom_mem(const spt_allocator *a) {
    ZSTD_customMem mem = {zstd_alloc, zstd_free, (void *)a};
    if (!a) {
        ZSTD_customMem dflt = {NULL, NULL, NULL};
        return dflt;
    }
    return mem;
}

int spt_chunk_out_init(spt_chunk_out *c, int fd, int level, const spt_allocator *a) {
    c->fd = fd;
    c->file_bytes = 0;
    c->io_errno = 0;
    c->cctx = ZSTD_createCCtx_advanced(custom_mem(a));
    c->out_cap = ZSTD_CStreamOutSize();
    c->out = spt_xmalloc(a, c->out_cap);
    if (!c->cctx || !c->out)
        return -1;
    if (ZSTD_isError(ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_compressionLevel, level)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_checksumFlag, 1)))
        return -1;
    return 0;
}

spt_status spt_chunk_out_raw(spt_chunk_out *c, const void *data, size_t len) {
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t n = write(c->fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            c->io_errno = errno;
            return SPT_E_IO;
        }
        p += n;
        len -= (size_t)n;
        c->file_bytes += (uint64_t)n;
    }
    return SPT_OK;
}

spt_status spt_chunk_out_feed(spt_chunk_out *c, const void *data, size_t len, spt_feed_mode mode) {
    ZSTD_EndDirective directive = mode == SPT_FEED_END     ? ZSTD_e_end
                                  : mode == SPT_FEED_FLUSH ? ZSTD_e_flush
                                                           : ZSTD_e_continue;
    ZSTD_inBuffer in = {data, len, 0};
    for (;;) {
        ZSTD_outBuffer out = {c->out, c->out_cap, 0};
        size_t remaining = ZSTD_compressStream2(c->cctx, &out, &in, directive);
        if (ZSTD_isError(remaining))
            return ZSTD_getErrorCode(remaining) == ZSTD_error_memory_allocation ? SPT_E_NOMEM
                                                                                : SPT_E_COMPRESS;
        if (out.pos > 0) {
            spt_status st = spt_chunk_out_raw(c, c->out, out.pos);
            if (st != SPT_OK)
                return st;
        }
        /* e_continue is done once the input is consumed; flush and end until zstd says 0. */
        if (directive == ZSTD_e_continue ? in.pos == in.size : remaining == 0)
            return SPT_OK;
    }
}

void spt_chunk_out_free(spt_chunk_out *c, const spt_allocator *a) {
    ZSTD_freeCCtx(c->cctx);
    spt_xfree(a, c->out);
    c->cctx = NULL;
    c->out = NULL;
}

ZSTD_DCtx *spt_chunk_in_create(const spt_allocator *a) {
    return ZSTD_createDCtx_advanced(custom_mem(a));
}

void spt_chunk_in_reset(ZSTD_DCtx *d) {
    ZSTD_DCtx_reset(d, ZSTD_reset_session_only);
}

int spt_chunk_in_step(ZSTD_DCtx *d, const uint8_t *in, size_t in_len, size_t *consumed,
                      uint8_t *out, size_t out_cap, size_t *produced, const char **error) {
    ZSTD_inBuffer ib = {in, in_len, 0};
    ZSTD_outBuffer ob = {out, out_cap, 0};
    size_t r = ZSTD_decompressStream(d, &ob, &ib);
    *consumed = ib.pos;
    *produced = ob.pos;
    if (ZSTD_isError(r)) {
        *error = ZSTD_getErrorName(r);
        /* Running out of memory says nothing about the data: the caller must not skip it. */
        return ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation ? -2 : -1;
    }
    return r == 0 ? 1 : 0;
}

void spt_chunk_in_free(ZSTD_DCtx *d) {
    ZSTD_freeDCtx(d);
}

uint64_t spt_chunk_complete_prefix(const uint8_t *frame, size_t avail) {
    /* zstd_compression_format.md: Frame_Header, then blocks of a 3-byte little-endian header
     * (bit 0 Last_Block, bits 1-2 Block_Type, bits 3-23 Block_Size) and their content. */
    size_t pos = ZSTD_frameHeaderSize(frame, avail);
    if (ZSTD_isError(pos) || pos > avail)
        return 0;
    size_t good = pos;
    while (pos + 3 <= avail) {
        uint32_t h = (uint32_t)frame[pos] | ((uint32_t)frame[pos + 1] << 8) |
                     ((uint32_t)frame[pos + 2] << 16);
        uint32_t type = (h >> 1) & 3, size = h >> 3;
        size_t content = type == 1 ? 1 : size; /* an RLE block stores one byte */
        if (type == 3 || pos + 3 + content > avail)
            break;
        pos += 3 + content;
        good = pos;
        if (h & 1)
            break;
    }
    return good;
}

/* chunk.h: one zstd frame per chunk (docs/format.md section 4), internal to tracefmt.
 * The compressing side owns the output file descriptor's writes; the decompressing side is a
 * thin step function so the reader can stop at any byte and resynchronise after damage. */
#ifndef SPT_CHUNK_H
#define SPT_CHUNK_H

#include <stddef.h>
#include <stdint.h>
#include "tracefmt/sptrace.h"

typedef struct ZSTD_CCtx_s ZSTD_CCtx;
typedef struct ZSTD_DCtx_s ZSTD_DCtx;

/* How spt_chunk_out_feed ends its input. */
typedef enum {
    SPT_FEED_CONTINUE = 0, /* buffer more; write whatever zstd produced */
    SPT_FEED_FLUSH = 1,    /* end a zstd block so everything so far decodes; frame stays open */
    SPT_FEED_END = 2       /* close the frame (the chunk) with its checksum */
} spt_feed_mode;

typedef struct {
    ZSTD_CCtx *cctx;
    int fd;
    uint8_t *out; /* zstd's output before write(2) */
    size_t out_cap;
    uint64_t file_bytes; /* bytes written to fd so far, header included */
    int io_errno;        /* errno of the failed write, 0 if none */
} spt_chunk_out;

/* Prepares a compressor writing to fd at zstd level; returns 0 or -1 when memory runs out. */
int spt_chunk_out_init(spt_chunk_out *c, int fd, int level, const spt_allocator *a);

/* Compresses len bytes into the open frame (opening one if needed) and writes the output.
 * Returns SPT_OK, SPT_E_IO (io_errno says why) or SPT_E_COMPRESS. */
spt_status spt_chunk_out_feed(spt_chunk_out *c, const void *data, size_t len, spt_feed_mode mode);

/* Writes len raw bytes (the header frame) straight to the file. */
spt_status spt_chunk_out_raw(spt_chunk_out *c, const void *data, size_t len);

void spt_chunk_out_free(spt_chunk_out *c, const spt_allocator *a);

/* Creates a decompression context, or NULL when memory runs out. */
ZSTD_DCtx *spt_chunk_in_create(const spt_allocator *a);

/* Starts a new frame: forgets any partial frame state. */
void spt_chunk_in_reset(ZSTD_DCtx *d);

/* Decompresses from in[0..in_len) into out[0..out_cap). Sets *consumed and *produced.
 * Returns 1 when the frame ended (checksum verified), 0 when more input is wanted, -1 on
 * damaged data or -2 when zstd ran out of memory, with *error set to zstd's description. */
int spt_chunk_in_step(ZSTD_DCtx *d, const uint8_t *in, size_t in_len, size_t *consumed,
                      uint8_t *out, size_t out_cap, size_t *produced, const char **error);

void spt_chunk_in_free(ZSTD_DCtx *d);

/* For a zstd frame cut short after avail bytes: the length of its header plus the blocks that
 * are complete. The rest of the bytes are an incomplete block (section 4.1's truncation). */
uint64_t spt_chunk_complete_prefix(const uint8_t *frame, size_t avail);

#endif /* SPT_CHUNK_H */

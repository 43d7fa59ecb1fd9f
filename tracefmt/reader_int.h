/* reader_int.h: the reader's state, shared by reader.c (file, header, chunks, segments) and
 * records.c (record decoding and definition tables). Internal to tracefmt. */
#ifndef SPT_READER_INT_H
#define SPT_READER_INT_H

#include <stddef.h>
#include <stdint.h>
#include "tracefmt/chunk.h"
#include "tracefmt/intern.h"
#include "tracefmt/sptrace.h"

/* Each definition remembers the reader's chunk generation that last defined it, so a reference
 * to something the current chunk never defined is caught (docs/format.md section 5.2). */
typedef struct {
    uint64_t offset; /* into the string arena, where a NUL follows the bytes */
    uint32_t len;
    uint32_t mark;
} rd_string;

typedef struct {
    spt_mapping v;
    uint32_t mark;
} rd_mapping;

typedef struct {
    spt_frame v;
    uint32_t mark;
} rd_frame;

typedef struct {
    spt_stack v;
    uint32_t mark;
} rd_stack;

typedef struct {
    spt_thread v;
    uint32_t mark;
} rd_thread;

/* A table indexed by reader id; element 0 is the unused "none" slot. The map translates the
 * file's ids into ours. */
#define RD_TABLE(T)                                                                                \
    struct {                                                                                       \
        T *v;                                                                                      \
        size_t n;                                                                                  \
        size_t cap;                                                                                \
        spt_map ids;                                                                               \
    }

struct spt_reader {
    spt_allocator alloc_copy;
    const spt_allocator *alloc;
    char *name;
    char err[512];
    void (*warn)(void *ctx, const char *message);
    void *warn_ctx;
    size_t max_memory;
    size_t memory; /* bytes held by the tables */

    /* The source: a caller's buffer, or a file read through a window. */
    const uint8_t *mem;
    int fd;
    uint64_t file_size;
    uint8_t *win;
    size_t win_cap;
    uint64_t win_off;
    size_t win_len;

    spt_header header;
    char *header_blob; /* the header's strings */
    const char **argv;

    /* Chunk and segment decoding (reader.c). */
    ZSTD_DCtx *dctx;
    uint64_t pos; /* file offset of the next compressed byte */
    int in_chunk;
    uint64_t chunk_start;     /* file offset of the open chunk's frame */
    uint64_t checked_pos;     /* input position when the last segment's checksum passed */
    uint64_t chunk_seq;       /* from its CHUNK_BEGIN */
    uint32_t chunk_gen;       /* our count of chunks begun; marks definitions */
    int expect_begin;         /* the next record scanned must be CHUNK_BEGIN */
    int resyncing;            /* looking for a good chunk after damage */
    uint64_t chunk_number;    /* the open chunk's place in file order, for messages */
    uint64_t chunks_begun;    /* chunks begun outside resynchronisation */
    uint64_t damage_chunk;    /* the damaged chunk's number */
    int tail_pending;         /* damage that is truncation if no chunk follows */
    uint64_t tail_lost_bytes; /* compressed bytes after the last complete block */
    uint64_t tail_unchecked;  /* record bytes after the last checksum */
    uint64_t damage_start;    /* where the damage being skipped began */
    char damage_what[200];    /* why, for the warning once resync ends */
    uint8_t *raw;             /* decompressed bytes not yet consumed */
    size_t raw_len, raw_cap;
    size_t parse_pos; /* next verified record to decode */
    size_t ready_end; /* raw[parse_pos, ready_end) is checked; after it a partial segment */
    size_t scan_pos;  /* how far the partial segment's record headers were scanned */
    int done;         /* SPT_END or a fatal error has been returned */
    spt_status fatal;

    /* Record decoding (records.c). */
    uint64_t time_reg;
    uint64_t addr_reg;
    uint8_t *arena;
    size_t arena_len, arena_cap;
    RD_TABLE(rd_string) strings;
    RD_TABLE(rd_mapping) mappings;
    RD_TABLE(rd_frame) frames;
    RD_TABLE(rd_stack) stacks;
    RD_TABLE(rd_thread) threads;
    uint64_t unknown_by_kind[256];
    uint32_t tmp_id; /* scratch for the RESOLVE and KNOWN macros in records.c */

    spt_reader_stats stats;
};

/* Outcome of decoding one record. */
typedef enum {
    RD_DEFINITION = 0, /* absorbed into the tables; nothing to return */
    RD_EVENT = 1,      /* *ev is filled */
    RD_DAMAGED = 2,    /* the record is bad; r->damage_what says why */
    RD_FATAL = 3       /* memory limit or allocation failure; r->fatal and r->err are set */
} rd_result;

/* Decodes one record of the given kind and payload (records.c). */
rd_result spt_rd_record(spt_reader *r, uint8_t kind, const uint8_t *payload, size_t len,
                        spt_event *ev);

/* Resets per-chunk registers when a CHUNK_BEGIN is decoded (records.c). */
void spt_rd_chunk_begin(spt_reader *r, uint64_t base_ticks);

/* Frees the definition tables (records.c). */
void spt_rd_tables_free(spt_reader *r);

/* Sets the fatal error message: "<file>: <message>" (reader.c). */
__attribute__((format(printf, 3, 4))) spt_status spt_rd_fatal(spt_reader *r, spt_status st,
                                                              const char *fmt, ...);

#endif /* SPT_READER_INT_H */

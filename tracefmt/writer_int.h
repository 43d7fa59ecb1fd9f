/* writer_int.h: the writer's state, shared by writer.c (records, segments, chunks) and
 * writer_intern.c (interning). Internal to tracefmt. */
#ifndef SPT_WRITER_INT_H
#define SPT_WRITER_INT_H

#include <stddef.h>
#include <stdint.h>

#include "tracefmt/chunk.h"
#include "tracefmt/intern.h"
#include "tracefmt/sptrace.h"

/* Every table entry remembers the chunk that last defined it (chunk seq + 1; 0 = never), which
 * is all the state "restate on first use per chunk" needs. */
typedef struct {
    uint64_t offset; /* into the string arena */
    uint32_t len;
    uint32_t mark;
} wstring;

typedef struct {
    spt_mapping m;
    uint32_t mark;
} wmapping;

typedef struct {
    spt_frame f;
    uint32_t mark;
} wframe;

typedef struct {
    uint32_t parent;
    uint32_t frame;
    uint32_t depth;
    uint32_t mark;
} wstack;

typedef struct {
    uint32_t os_tid;
    uint32_t name;
    uint64_t start_ticks;
    uint32_t mark;
} wthread;

/* A growable array whose element 0 is unused, so ids index it directly. */
#define WTABLE(T)                                                                                  \
    struct {                                                                                       \
        T *v;                                                                                      \
        size_t n; /* highest id + 1 */                                                             \
        size_t cap;                                                                                \
    }

struct spt_writer {
    spt_allocator alloc_copy;
    const spt_allocator *alloc; /* &alloc_copy, or NULL for libc */
    char *name;
    char err[512];
    spt_status failed; /* first resource error; the writer refuses work after it */
    int finished;      /* spt_writer_finish ran */
    int writing_end;   /* finish is writing the END record */
    int fd;
    int own_fd;
    spt_chunk_out out;
    uint64_t tick_ns;

    size_t chunk_bytes;
    size_t segment_bytes;
    uint64_t chunk_max_age_ns;

    int chunk_open;
    uint32_t chunk_mark;      /* seq + 1 of the open (or last) chunk */
    uint64_t chunk_raw;       /* uncompressed bytes in the open chunk */
    uint64_t chunk_opened_ns; /* CLOCK_MONOTONIC when it opened */
    uint64_t time_reg;        /* section 5.1 */
    uint64_t addr_reg;        /* ALLOC/FREE address register */

    uint8_t *seg; /* the open segment's bytes */
    size_t seg_len, seg_cap;
    uint8_t *pay; /* the payload being encoded */
    size_t pay_len, pay_cap;
    uint32_t *chain; /* scratch for restating stacks */
    size_t chain_cap;

    uint8_t *arena;
    size_t arena_len, arena_cap;
    WTABLE(wstring) strings;
    WTABLE(wmapping) mappings;
    WTABLE(wframe) frames;
    WTABLE(wstack) stacks;
    WTABLE(wthread) threads;
    spt_map string_map, mapping_map, frame_map, stack_map;

    uint64_t samples, sample_weight, allocs, frees, raw_bytes;
};

/* An id is valid for a table when it names an entry or is 0 ("none"). */
#define VALID_ID(table, id) ((id) < (table).n)

/* Formats "<file>: <message>" into the writer's error and returns st (writer.c). */
__attribute__((format(printf, 3, 4))) spt_status spt_w_set_error(spt_writer *w, spt_status st,
                                                                 const char *fmt, ...);

/* Records a resource error (I/O, memory, compression), which makes the writer refuse further
 * work; returns the first such error (writer.c). */
spt_status spt_w_fail(spt_writer *w, spt_status st, const char *what);

/* Grows an array to hold need elements, or fails the writer with SPT_E_NOMEM (writer.c). */
int spt_w_grow_slow(spt_writer *w, void **buf, size_t *cap, size_t need, size_t elem);

/* spt_w_grow_slow when the array is too small; inline, because every record checks its
 * buffers and they almost always have room (the call was a tenth of the recorder's writer
 * thread at full allocation tracing). Returns 0, or -1 when the writer failed. */
static inline int spt_w_grow(spt_writer *w, void **buf, size_t *cap, size_t need, size_t elem) {
    return need <= *cap ? 0 : spt_w_grow_slow(w, buf, cap, need, elem);
}

#endif /* SPT_WRITER_INT_H */

/* xalloc.h: allocation through the caller's spt_allocator, or libc (internal to tracefmt). */
#ifndef SPT_XALLOC_H
#define SPT_XALLOC_H

#include <stdlib.h>
#include "tracefmt/sptrace.h"

static inline void *spt_xmalloc(const spt_allocator *a, size_t n) {
    if (a && a->malloc_fn)
        return a->malloc_fn(a->ctx, n);
    return malloc(n);
}

static inline void *spt_xrealloc(const spt_allocator *a, void *p, size_t n) {
    if (a && a->realloc_fn)
        return a->realloc_fn(a->ctx, p, n);
    return realloc(p, n);
}

static inline void spt_xfree(const spt_allocator *a, void *p) {
    if (!p)
        return;
    if (a && a->free_fn)
        a->free_fn(a->ctx, p);
    else
        free(p);
}

/* Grows *buf (of *cap elements of elem_size) to hold at least need elements, doubling.
 * Returns 0 on success, -1 if the size overflows or the allocation fails (*buf unchanged). */
static inline int spt_xgrow(const spt_allocator *a, void **buf, size_t *cap, size_t need,
                            size_t elem_size) {
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return -1;
        ncap *= 2;
    }
    if (ncap > SIZE_MAX / elem_size)
        return -1;
    void *nb = spt_xrealloc(a, *buf, ncap * elem_size);
    if (!nb)
        return -1;
    *buf = nb;
    *cap = ncap;
    return 0;
}

#endif /* SPT_XALLOC_H */

/* preload.c: the interposed malloc family, and nothing else (heaptrack_preload's split). Each
 * function calls the next definition in the lookup order (dlsym RTLD_NEXT: libc's, or another
 * preloaded allocator's) and tells heap.c about the block. It works from the very first call,
 * before any constructor has run: until the real functions are found, allocations come from a
 * static bootstrap pool, because dlsym itself allocates. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h> /* memcpy */
#include <unistd.h>

#include "recorder/heap.h"
#include "recorder/sigsafe.h"

/* Exported through libspprof.map; everything else in the library is hidden. */
#define SP_EXPORT __attribute__((visibility("default")))
/* The hook's return address: the first frame of the recorded stack (heap.h). */
#define CALLER ((uintptr_t)__builtin_return_address(0))

/* dlsym needs a few hundred bytes (its error state); 64 KiB leaves room for a preloaded library
 * of someone else's that allocates while we resolve. */
#define POOL_BYTES (64u * 1024u)

typedef struct {
    void *(*malloc)(size_t);
    void (*free)(void *);
    void *(*calloc)(size_t, size_t);
    void *(*realloc)(void *, size_t);
    int (*posix_memalign)(void **, size_t, size_t);
    void *(*aligned_alloc)(size_t, size_t);
    void *(*memalign)(size_t, size_t);
    void *(*valloc)(size_t);
    void *(*pvalloc)(size_t);
    size_t (*malloc_usable_size)(void *);
} real_functions;

static real_functions real;
static atomic_int resolve_state; /* 0 not yet, 1 in progress, 2 done */
/* Set while this thread is inside dlsym: its allocations must come from the pool. */
static __thread int tls_resolving __attribute__((tls_model("initial-exec")));

/* The bootstrap pool: a bump allocator that never reuses memory, so its blocks are already
 * zeroed for calloc and free() of one can simply do nothing. */
static _Alignas(64) unsigned char pool[POOL_BYTES];
static _Atomic size_t pool_used;

typedef struct {
    size_t size_bytes; /* what was asked for, so realloc can copy it out */
    size_t unused;     /* keeps blocks 16-byte aligned */
} pool_header;

static void *pool_alloc(size_t size, size_t align) {
    if (align < sizeof(pool_header)) {
        align = sizeof(pool_header);
    }
    size_t used = atomic_load_explicit(&pool_used, memory_order_relaxed);
    for (;;) {
        uintptr_t base = (uintptr_t)pool;
        uintptr_t start = (base + used + sizeof(pool_header) + align - 1) & ~(uintptr_t)(align - 1);
        size_t end = (size_t)(start - base) + size;
        if (size > POOL_BYTES || end > POOL_BYTES) {
            errno = ENOMEM;
            return NULL;
        }
        if (atomic_compare_exchange_weak_explicit(&pool_used, &used, end, memory_order_relaxed,
                                                  memory_order_relaxed)) {
            ((pool_header *)start - 1)->size_bytes = size;
            return (void *)start;
        }
    }
}

static int in_pool(const void *p) {
    return (const unsigned char *)p >= pool && (const unsigned char *)p < pool + POOL_BYTES;
}

/* Neither stdio nor malloc can be trusted here: say why in one write and stop, as the dynamic
 * loader does when a symbol is missing. */
__attribute__((noreturn)) static void cannot_run(const char *what) {
    static const char prefix[] = "spprof: cannot find the allocator's ";
    static const char suffix[] = " (dlsym RTLD_NEXT); the program cannot run with libspprof.so\n";
    sp_write_all(2, prefix, sizeof prefix - 1);
    sp_write_all(2, what, strlen(what));
    sp_write_all(2, suffix, sizeof suffix - 1);
    _exit(127);
}

static void *next_symbol(const char *name, int required) {
    void *f = dlsym(RTLD_NEXT, name);
    if (f == NULL && required) {
        cannot_run(name);
    }
    return f;
}

static void resolve(void) {
    tls_resolving = 1;
    real.malloc = (void *(*)(size_t))next_symbol("malloc", 1);
    real.free = (void (*)(void *))next_symbol("free", 1);
    real.calloc = (void *(*)(size_t, size_t))next_symbol("calloc", 1);
    real.realloc = (void *(*)(void *, size_t))next_symbol("realloc", 1);
    real.memalign = (void *(*)(size_t, size_t))next_symbol("memalign", 1);
    /* The rest have stand-ins built on the above when an allocator lacks them. */
    real.posix_memalign = (int (*)(void **, size_t, size_t))next_symbol("posix_memalign", 0);
    real.aligned_alloc = (void *(*)(size_t, size_t))next_symbol("aligned_alloc", 0);
    real.valloc = (void *(*)(size_t))next_symbol("valloc", 0);
    real.pvalloc = (void *(*)(size_t))next_symbol("pvalloc", 0);
    real.malloc_usable_size = (size_t(*)(void *))next_symbol("malloc_usable_size", 0);
    tls_resolving = 0;
}

/* Returns 1 when the real functions can be called, 0 when this call must use the pool (it
 * comes from inside dlsym). The first caller resolves; others wait for it. */
__attribute__((noinline)) static int resolve_slow(void) {
    int state = atomic_load_explicit(&resolve_state, memory_order_acquire);
    if (state == 2) {
        return 1;
    }
    if (tls_resolving) {
        return 0;
    }
    if (state == 0 && atomic_compare_exchange_strong(&resolve_state, &state, 1)) {
        resolve();
        atomic_store_explicit(&resolve_state, 2, memory_order_release);
        return 1;
    }
    while (atomic_load_explicit(&resolve_state, memory_order_acquire) != 2) {
        sched_yield(); /* another thread is inside dlsym; it takes microseconds */
    }
    return 1;
}

static inline int ready(void) {
    return __builtin_expect(atomic_load_explicit(&resolve_state, memory_order_acquire) == 2, 1) ||
           resolve_slow();
}

static int recording(void) {
    return atomic_load_explicit(&sp_heap_active, memory_order_acquire);
}

static size_t page_bytes(void) {
    return (size_t)sysconf(_SC_PAGESIZE);
}

/* ---- the interposed functions -------------------------------------------------------------- */

SP_EXPORT void *malloc(size_t size) {
    if (!ready()) {
        return pool_alloc(size, 16);
    }
    void *p = real.malloc(size);
    if (recording()) {
        sp_heap_on_alloc(p, size, CALLER);
    }
    return p;
}

SP_EXPORT void free(void *p) {
    if (p == NULL || in_pool(p)) {
        return;
    }
    /* Before the real free: once it returns, another thread may be handed p again and record
     * its ALLOC, which must come after this FREE (heaptrack orders its hook the same way). */
    if (recording() && sp_alloc_table_maybe_contains((uint64_t)(uintptr_t)p)) {
        sp_heap_before_free(p, CALLER);
    }
    if (ready()) {
        real.free(p);
    }
}

SP_EXPORT void *calloc(size_t n, size_t size) {
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    if (!ready()) {
        return pool_alloc(total, 16); /* pool memory is never reused: already zero */
    }
    void *p = real.calloc(n, size);
    if (recording()) {
        sp_heap_on_alloc(p, total, CALLER);
    }
    return p;
}

/* realloc and reallocarray: the old block's free (if recorded) before the real call, for the
 * same reason as in free(); the new block is then an allocation like any other. Inlined into
 * each, rather than tail-called, so that a CPU sample taken at the hook's end is named by the
 * function the program called (writer_samples.c). */
__attribute__((always_inline)) static inline void *realloc_hooked(void *old, size_t size,
                                                                  uintptr_t caller) {
    if (in_pool(old)) {
        /* A bootstrap block moves to the real heap; the pool keeps its bytes. */
        size_t old_size = ((const pool_header *)old - 1)->size_bytes;
        void *p = ready() ? real.malloc(size) : pool_alloc(size, 16);
        if (p != NULL) {
            memcpy(p, old, old_size < size ? old_size : size);
            if (recording() && !in_pool(p)) {
                sp_heap_on_alloc(p, size, caller);
            }
        }
        return p;
    }
    if (!ready()) {
        return pool_alloc(size, 16); /* old is NULL here: every earlier block is in the pool */
    }
    if (!recording()) {
        return real.realloc(old, size);
    }
    int old_recorded = old != NULL && sp_heap_before_free(old, caller);
    void *p = real.realloc(old, size);
    if (p != NULL) {
        sp_heap_on_alloc(p, size, caller);
    } else if (old_recorded && size != 0) {
        /* Failed (ENOMEM): old is untouched and still live. realloc(old, 0) freed it. */
        size_t usable = real.malloc_usable_size != NULL ? real.malloc_usable_size(old) : 0;
        sp_heap_realloc_failed(old, usable, caller);
    }
    return p;
}

SP_EXPORT void *realloc(void *old, size_t size) {
    return realloc_hooked(old, size, CALLER);
}

SP_EXPORT void *reallocarray(void *old, size_t n, size_t size) {
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM; /* as glibc: old stays allocated */
        return NULL;
    }
    return realloc_hooked(old, total, CALLER);
}

/* The aligned family: pool blocks while resolving, otherwise the real function (or memalign
 * standing in for one the allocator lacks). Inlined, as realloc_hooked. */
__attribute__((always_inline)) static inline void *
aligned_hooked(size_t align, size_t size, void *(*fn)(size_t, size_t), uintptr_t caller) {
    if (!ready()) {
        return pool_alloc(size, align);
    }
    void *p = fn != NULL ? fn(align, size) : real.memalign(align, size);
    if (recording()) {
        sp_heap_on_alloc(p, size, caller);
    }
    return p;
}

SP_EXPORT int posix_memalign(void **out, size_t align, size_t size) {
    if (align < sizeof(void *) || (align & (align - 1)) != 0) {
        return EINVAL;
    }
    if (!ready() || real.posix_memalign == NULL) {
        int saved_errno = errno; /* posix_memalign reports through its result, not errno */
        void *p = aligned_hooked(align, size, NULL, CALLER);
        errno = saved_errno;
        if (p == NULL) {
            return ENOMEM;
        }
        *out = p;
        return 0;
    }
    int rc = real.posix_memalign(out, align, size);
    if (rc == 0 && recording()) {
        sp_heap_on_alloc(*out, size, CALLER);
    }
    return rc;
}

SP_EXPORT void *aligned_alloc(size_t align, size_t size) {
    return aligned_hooked(align, size, real.aligned_alloc, CALLER);
}

SP_EXPORT void *memalign(size_t align, size_t size) {
    return aligned_hooked(align, size, real.memalign, CALLER);
}

SP_EXPORT void *valloc(size_t size) {
    if (ready() && real.valloc != NULL) {
        void *p = real.valloc(size);
        if (recording()) {
            sp_heap_on_alloc(p, size, CALLER);
        }
        return p;
    }
    return aligned_hooked(page_bytes(), size, NULL, CALLER);
}

SP_EXPORT void *pvalloc(size_t size) {
    /* pvalloc rounds the size up to whole pages: that is what the program gets. */
    size_t page = page_bytes();
    size_t rounded = size == 0 ? page : (size + page - 1) & ~(page - 1);
    if (rounded < size) {
        errno = ENOMEM;
        return NULL;
    }
    if (ready() && real.pvalloc != NULL) {
        void *p = real.pvalloc(size);
        if (recording()) {
            sp_heap_on_alloc(p, rounded, CALLER);
        }
        return p;
    }
    return aligned_hooked(page, rounded, NULL, CALLER);
}

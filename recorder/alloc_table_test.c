/* alloc_table_test.c: the live-address table (alloc_table.c) on its own, then the whole hook
 * path (heap.c, the per-thread rings, alloc_drain.c) driven from plain threads the way
 * preload.c drives it, writing real traces that are read back through the tracefmt reader:
 *   1. table semantics: duplicates, growth, backward-shift deletion, the filter, reset;
 *   2. a storm in "all" mode: 8 threads doing malloc/calloc/realloc/posix_memalign/free, with
 *      frees handed across threads; every ALLOC and FREE must alternate per address, exactly
 *      the blocks left behind must be live at the end, and the counts must match;
 *   3. default sampling (512 KiB) of 1 GiB of mixed allocations: the weights estimate it.
 * No LD_PRELOAD, so it runs under ASan and TSan. Usage: alloc_table_test [TMPDIR]. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "recorder/alloc_drain.h"
#include "recorder/alloc_sampler.h"
#include "recorder/alloc_table.h"
#include "recorder/alloc_thread.h"
#include "recorder/heap.h"
#include "recorder/sampler.h"
#include "tests/check.h"
#include "tracefmt/sptrace.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define STORM_OPS 60000 /* per thread: sanitizers make every operation ~10x slower */
#else
#define STORM_OPS 400000
#endif
#define STORM_THREADS 8
#define SLOTS         256 /* live blocks each storm thread juggles */
#define EXCHANGE      64  /* slots through which blocks move to another thread to be freed */
#define LEAKS         5   /* blocks each storm thread leaves allocated */
#define MAX_CALLERS   64

/* Sanitizers must let realloc fail with NULL (the failure path is tested) instead of aborting. */
const char *__asan_default_options(void);
const char *__tsan_default_options(void);
const char *__asan_default_options(void) {
    return "allocator_may_return_null=1";
}
const char *__tsan_default_options(void) {
    return "allocator_may_return_null=1";
}

/* The sampler's busy flag, which heap.c reads: this test links no sampler, so no CPU sample is
 * ever deferred to a hook's end either. */
__thread int sp_sampler_tls_busy;
__thread _Atomic uint64_t sp_sampler_tls_deferred;
sp_sampler_thread *sp_sampler_self(void) {
    return NULL; /* no sampler here: allocation stacks come from libunwind */
}
void sp_sampler_take_deferred(uintptr_t caller, uint32_t flags) {
    (void)caller;
    (void)flags;
}

static char tmp_dir[4096];

/* ---- the hooks, as preload.c calls them ---------------------------------------------------- */

/* Return addresses the hooks were called from: each ALLOC's innermost frame must be one. */
static _Atomic uint64_t callers[MAX_CALLERS];

static uintptr_t note_caller(uintptr_t caller) {
    for (int i = 0; i < MAX_CALLERS; i++) {
        uint64_t seen = atomic_load(&callers[i]);
        if (seen == caller) {
            break;
        }
        if (seen == 0 && atomic_compare_exchange_strong(&callers[i], &seen, caller)) {
            break;
        }
        if (seen == caller) {
            break;
        }
    }
    return caller;
}

static int is_caller(uint64_t pc) {
    for (int i = 0; i < MAX_CALLERS; i++) {
        if (atomic_load(&callers[i]) == pc) {
            return 1;
        }
    }
    return 0;
}

#define CALLER note_caller((uintptr_t)__builtin_return_address(0))

__attribute__((noinline)) static void *t_malloc(size_t n) {
    void *p = malloc(n);
    sp_heap_on_alloc(p, n, CALLER);
    return p;
}

__attribute__((noinline)) static void *t_calloc(size_t n, size_t size) {
    void *p = calloc(n, size);
    sp_heap_on_alloc(p, n * size, CALLER);
    return p;
}

__attribute__((noinline)) static void *t_memalign(size_t align, size_t size) {
    void *p = NULL;
    if (posix_memalign(&p, align, size) != 0) {
        return NULL;
    }
    sp_heap_on_alloc(p, size, CALLER);
    return p;
}

__attribute__((noinline)) static void *t_realloc(void *old, size_t n) {
    int recorded = old != NULL && sp_heap_before_free(old, 0);
    void *p = realloc(old, n);
    if (p != NULL) {
        sp_heap_on_alloc(p, n, CALLER);
    } else if (recorded && n != 0) {
        sp_heap_realloc_failed(old, 1, CALLER);
    }
    return p;
}

static void t_free(void *p) {
    if (p != NULL) {
        sp_heap_before_free(p, 0);
        free(p);
    }
}

/* ---- a sink writing a real trace ----------------------------------------------------------- */

typedef struct {
    spt_writer *w;
    uint64_t start_mono_ns;
    atomic_int stop;
    pthread_t thread;
    sp_alloc_sink sink;
    int failed;
    int keep_drain_state; /* drain_finish leaves the drain's state for the test to inspect */
} drain_ctx;

static uint64_t mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Frames are just addresses here (no symbolizer): the test compares addresses. */
static uint32_t sink_stack(void *ctx, const uint64_t *pcs, uint32_t n, int truncated) {
    drain_ctx *c = ctx;
    uint32_t parent = 0;
    if (truncated) {
        spt_frame f = {.kind = SPT_FRAME_NATIVE, .flags = SPT_FRAME_SYNTHETIC};
        parent = spt_writer_stack(c->w, 0, spt_writer_frame(c->w, &f));
    }
    for (uint32_t i = n; i-- > 0;) {
        spt_frame f = {.kind = SPT_FRAME_NATIVE, .address = pcs[i]};
        parent = spt_writer_stack(c->w, parent, spt_writer_frame(c->w, &f));
    }
    return parent;
}

static uint32_t sink_thread(void *ctx, int os_tid, uint64_t mono_ns, int *defined_here) {
    drain_ctx *c = ctx;
    *defined_here = 1;
    return spt_writer_thread(c->w, (uint32_t)os_tid, 0, mono_ns - c->start_mono_ns);
}

/* The writer thread's early wake-up, as heap.c calls it when a ring is 1/8 full. */
static pthread_mutex_t wake_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake_cond = PTHREAD_COND_INITIALIZER;
static int wake_posted;
static _Atomic uint64_t wakes;

static void wake_drain(void) {
    atomic_fetch_add(&wakes, 1);
    pthread_mutex_lock(&wake_lock);
    wake_posted = 1;
    pthread_cond_signal(&wake_cond);
    pthread_mutex_unlock(&wake_lock);
}

static void *drain_main(void *arg) {
    drain_ctx *c = arg;
    while (!atomic_load(&c->stop)) {
        if (!c->failed && sp_alloc_drain(&c->sink, 0) != 0) {
            fprintf(stderr, "drain failed: %s\n", spt_writer_error(c->w));
            c->failed = 1;
        }
        /* Like the writer: sleep until woken or a period passes (here 2 ms, not 100). */
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_nsec += 2000000;
        if (deadline.tv_nsec >= 1000000000) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000;
        }
        pthread_mutex_lock(&wake_lock);
        if (!wake_posted) {
            pthread_cond_timedwait(&wake_cond, &wake_lock, &deadline);
        }
        wake_posted = 0;
        pthread_mutex_unlock(&wake_lock);
    }
    return NULL;
}

static void drain_start(drain_ctx *c, const char *path) {
    memset(c, 0, sizeof *c);
    c->start_mono_ns = mono_ns();
    spt_header h;
    memset(&h, 0, sizeof h);
    h.recorder_version = "alloc_table_test";
    h.start_mono_ns = c->start_mono_ns;
    h.executable = "alloc_table_test";
    h.hostname = "";
    h.arch = "";
    h.alloc_mode = sp_heap_mode();
    h.alloc_sample_bytes = sp_heap_sample_bytes();
    h.max_depth = sp_heap_max_depth();
    h.trace_id = "0";
    h.parent_trace = "";
    if (spt_writer_open(path, &h, NULL, &c->w) != SPT_OK) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
    c->sink = (sp_alloc_sink){c->w, c->start_mono_ns, sink_stack, sink_thread, NULL, c};
    pthread_create(&c->thread, NULL, drain_main, c);
}

static void drain_finish(drain_ctx *c) {
    atomic_store(&c->stop, 1);
    pthread_join(c->thread, NULL);
    if (!c->failed && sp_alloc_drain(&c->sink, 1) != 0) {
        c->failed = 1;
    }
    spt_end end;
    memset(&end, 0, sizeof end);
    end.reason = SPT_END_EXIT;
    end.duration_ns = mono_ns() - c->start_mono_ns;
    sp_alloc_drain_end(&end);
    CHECK("the drain wrote every event without a writer error", !c->failed);
    CHECK("the trace closes cleanly", spt_writer_close(c->w, &end) == SPT_OK);
    if (!c->keep_drain_state) {
        sp_alloc_drain_release();
    }
}

/* ---- reading a trace back: a map from live address to size -------------------------------- */

typedef struct {
    uint64_t *keys; /* 0 = empty */
    uint64_t *sizes;
    size_t mask;
    size_t count;
} live_map;

static uint64_t mix(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    return x ^ (x >> 33);
}

static void map_init(live_map *m, size_t slots) {
    m->keys = calloc(slots, sizeof *m->keys);
    m->sizes = calloc(slots, sizeof *m->sizes);
    m->mask = slots - 1;
    m->count = 0;
}

static size_t map_find(const live_map *m, uint64_t key) {
    size_t i = (size_t)mix(key) & m->mask;
    while (m->keys[i] != 0 && m->keys[i] != key) {
        i = (i + 1) & m->mask;
    }
    return i;
}

static int map_insert(live_map *m, uint64_t key, uint64_t size) {
    size_t i = map_find(m, key);
    if (m->keys[i] == key) {
        return 0;
    }
    m->keys[i] = key;
    m->sizes[i] = size;
    m->count++;
    return 1;
}

static int map_remove(live_map *m, uint64_t key) {
    size_t i = map_find(m, key);
    if (m->keys[i] != key) {
        return 0;
    }
    m->keys[i] = 0;
    m->count--;
    /* Re-insert the rest of the probe run so lookups keep working. */
    for (size_t j = (i + 1) & m->mask; m->keys[j] != 0; j = (j + 1) & m->mask) {
        uint64_t k = m->keys[j], s = m->sizes[j];
        m->keys[j] = 0;
        m->count--;
        map_insert(m, k, s);
    }
    return 1;
}

static void map_free(live_map *m) {
    free(m->keys);
    free(m->sizes);
}

typedef struct {
    spt_reader *r;
    live_map live;
    uint64_t allocs, frees, double_allocs, unknown_frees, weight, drops;
    uint64_t bad_stacks;     /* ALLOC stacks whose innermost frame is not a hook's caller */
    uint64_t unknown_thread; /* events naming no defined thread */
} replay;

static int replay_trace(const char *path, replay *rp, size_t map_slots) {
    memset(rp, 0, sizeof *rp);
    if (spt_reader_open(path, NULL, &rp->r) != SPT_OK) {
        fprintf(stderr, "cannot read %s: %s\n", path, spt_reader_error(rp->r));
        return -1;
    }
    map_init(&rp->live, map_slots);
    spt_event ev;
    spt_status st;
    while ((st = spt_reader_next(rp->r, &ev)) == SPT_OK) {
        if (ev.kind == SPT_EV_ALLOC) {
            rp->allocs++;
            rp->weight += ev.u.alloc.weight_bytes;
            rp->double_allocs += !map_insert(&rp->live, ev.u.alloc.address, ev.u.alloc.size_bytes);
            const spt_stack *s = spt_reader_stack(rp->r, ev.u.alloc.stack);
            const spt_frame *f = s != NULL ? spt_reader_frame(rp->r, s->frame) : NULL;
            rp->bad_stacks += f == NULL || !is_caller(f->address) || s->depth < 2;
        } else if (ev.kind == SPT_EV_FREE) {
            rp->frees++;
            rp->unknown_frees += !map_remove(&rp->live, ev.u.free.address);
        } else if (ev.kind == SPT_EV_DROPS && ev.u.drops.reason == SPT_DROP_ALLOC_RING_FULL) {
            rp->drops += ev.u.drops.count;
        }
        if ((ev.kind == SPT_EV_ALLOC || ev.kind == SPT_EV_FREE) &&
            spt_reader_thread(rp->r, ev.thread) == NULL) {
            rp->unknown_thread++;
        }
    }
    return st == SPT_END ? 0 : -1;
}

/* ---- 1. the table alone -------------------------------------------------------------------- */

static void test_table(void) {
    CHECK("the table maps its filter", sp_alloc_table_init(1) == 0);
    uint64_t a = 0x7f0000001230ull;
    CHECK("an empty table contains nothing", !sp_alloc_table_maybe_contains(a));
    CHECK_EQ_U64("a new address is added", sp_alloc_table_insert(a), 0);
    CHECK_EQ_U64("adding it again reports the duplicate", sp_alloc_table_insert(a), 1);
    CHECK("the filter says it may be there", sp_alloc_table_maybe_contains(a));
    CHECK_EQ_U64("it is removed once", sp_alloc_table_remove(a), 1);
    CHECK_EQ_U64("and not twice", sp_alloc_table_remove(a), 0);
    CHECK("the filter forgets it", !sp_alloc_table_maybe_contains(a));

    /* 200,000 addresses, 16-byte aligned and clustered as an allocator's are: every stripe
     * grows several times. Remove every other one, then check the rest one by one: backward
     * shift deletion must keep every probe run intact. */
    const uint64_t n = 200000;
    uint64_t base = 0x555500000000ull;
    int ok = 1;
    for (uint64_t i = 0; i < n; i++) {
        ok &= sp_alloc_table_insert(base + i * 48) == 0;
    }
    CHECK("200,000 addresses are added", ok);
    CHECK_EQ_U64("the table counts them", sp_alloc_table_count(), n);
    ok = 1;
    for (uint64_t i = 0; i < n; i += 2) {
        ok &= sp_alloc_table_remove(base + i * 48) == 1;
    }
    CHECK("every other one is removed", ok);
    int remaining_ok = 1, removed_gone = 1;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t addr = base + i * 48;
        if (i % 2 == 1) {
            remaining_ok &= sp_alloc_table_maybe_contains(addr) && sp_alloc_table_insert(addr) == 1;
        } else {
            removed_gone &= sp_alloc_table_insert(addr) == 0 && sp_alloc_table_remove(addr) == 1;
        }
    }
    CHECK("every remaining address is still found after the deletions", remaining_ok);
    CHECK("every removed one is really gone", removed_gone);
    CHECK_EQ_U64("half remain", sp_alloc_table_count(), n / 2);
    sp_alloc_table_reset();
    CHECK_EQ_U64("reset empties the table", sp_alloc_table_count(), 0);
    int forgotten = 1;
    for (uint64_t i = 1; i < n; i += 2) {
        forgotten &= !sp_alloc_table_maybe_contains(base + i * 48);
    }
    CHECK("and zeroes the filter", forgotten);
}

/* ---- 2. the storm -------------------------------------------------------------------------- */

static _Atomic(void *) exchange[EXCHANGE];
static _Atomic uint64_t storm_allocs;
static pthread_mutex_t leaks_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t leak_addr[STORM_THREADS * LEAKS];
static uint64_t leak_size[STORM_THREADS * LEAKS];
static size_t n_leaks;

static void *storm_main(void *arg) {
    /* Eight busy threads on a machine with fewer cores starve a single drain thread, and the
     * hooks never wait for it: their rings would overflow. Nice 10 lets the drain keep up, so
     * that the exact checks below have a drop-free trace to check (the drop-tolerant invariants
     * are checked either way). */
    setpriority(PRIO_PROCESS, (id_t)gettid(), 10);
    uint64_t rng = sp_alloc_prng_seed((uint64_t)(uintptr_t)arg, 77);
    void *slot[SLOTS] = {0};
    uint64_t allocs = 0;
    for (int op = 0; op < STORM_OPS; op++) {
        uint64_t x = sp_alloc_prng_next(&rng);
        size_t i = (size_t)(x % SLOTS);
        size_t n = (size_t)(16u << ((x >> 8) % 10)) + (size_t)((x >> 20) % 100); /* 16 B-8 KiB */
        unsigned kind = (unsigned)((x >> 32) % 8);
        if (slot[i] == NULL) {
            void *p = kind < 4 ? t_malloc(n) : kind < 6 ? t_calloc(1, n) : t_memalign(64, n);
            allocs += p != NULL;
            slot[i] = p;
        } else if (kind < 3) {
            void *p = t_realloc(slot[i], n);
            if (p != NULL) {
                allocs++;
                slot[i] = p;
            }
        } else if (kind < 5) {
            /* Hand the block to whichever thread takes this exchange slot next, and free the
             * block it left there: frees on another thread than the allocation. */
            void *other = atomic_exchange(&exchange[(x >> 40) % EXCHANGE], slot[i]);
            t_free(other);
            slot[i] = NULL;
        } else {
            t_free(slot[i]);
            slot[i] = NULL;
        }
    }
    /* Leave exactly LEAKS blocks allocated (fresh ones, so their sizes are known). */
    for (size_t i = 0; i < SLOTS; i++) {
        t_free(slot[i]);
    }
    for (int k = 0; k < LEAKS; k++) {
        size_t n = 1000 + (size_t)k * 111 + (size_t)(uintptr_t)arg;
        void *p = t_malloc(n);
        allocs++;
        pthread_mutex_lock(&leaks_lock);
        leak_addr[n_leaks] = (uint64_t)(uintptr_t)p;
        leak_size[n_leaks] = n;
        n_leaks++;
        pthread_mutex_unlock(&leaks_lock);
    }
    atomic_fetch_add(&storm_allocs, allocs);
    return NULL;
}

static void test_storm(void) {
    const char *why = NULL;
    sp_heap_config config = {"all", 64, wake_drain, 0};
    CHECK("'all' is a valid configuration", sp_heap_configure(&config, &why) == 0);
    CHECK_EQ_U64("mode is all", sp_heap_mode(), SPT_ALLOC_ALL);
    char path[4200];
    snprintf(path, sizeof path, "%s/storm.sptrace", tmp_dir);
    drain_ctx c;
    drain_start(&c, path);
    sp_heap_start();

    /* First, on this thread: a realloc that fails leaves its block live, re-recorded. */
    void *p = t_malloc(100);
    errno = 0;
    void *q = t_realloc(p, (size_t)1 << 62);
    CHECK("realloc of 2^62 bytes fails with ENOMEM", q == NULL && errno == ENOMEM);
    t_free(p);
    uint64_t own_allocs = 1;

    pthread_t threads[STORM_THREADS];
    for (uintptr_t i = 0; i < STORM_THREADS; i++) {
        pthread_create(&threads[i], NULL, storm_main, (void *)(i + 1));
    }
    for (int i = 0; i < STORM_THREADS; i++) {
        pthread_join(threads[i], NULL);
    }
    for (int i = 0; i < EXCHANGE; i++) {
        t_free(atomic_exchange(&exchange[i], NULL));
    }
    sp_heap_stop();
    c.keep_drain_state = 1;
    drain_finish(&c);
    size_t live_blocks = sp_alloc_drain_live_blocks();
    sp_alloc_drain_release();

    replay rp;
    if (replay_trace(path, &rp, 1u << 20) != 0) {
        CHECK("the storm trace reads back to its end", 0);
        return;
    }
    const spt_reader_stats *st = spt_reader_get_stats(rp.r);
    uint64_t total = atomic_load(&storm_allocs) + own_allocs;
    printf("storm: %llu allocations, %llu ALLOC and %llu FREE records, %llu dropped, "
           "%u threads, %llu trace bytes\n",
           (unsigned long long)total, (unsigned long long)rp.allocs, (unsigned long long)rp.frees,
           (unsigned long long)st->end.dropped_allocs, spt_reader_thread_count(rp.r),
           (unsigned long long)st->file_bytes);
    printf("storm: the drain was woken early %llu times\n",
           (unsigned long long)atomic_load(&wakes));
    /* Whatever was dropped, the trace must stay well-formed and the counts exact. */
    CHECK("the header says every allocation is recorded",
          spt_reader_header(rp.r)->alloc_mode == SPT_ALLOC_ALL);
    CHECK("the trace ended cleanly", st->ended_cleanly);
    CHECK_EQ_U64("END: every allocation was seen", st->end.allocs_seen, total);
    CHECK_EQ_U64("DROPS records sum to END's dropped_allocs", rp.drops, st->end.dropped_allocs);
    CHECK_EQ_U64("END counts the ALLOC records", st->end.allocs, rp.allocs);
    CHECK_EQ_U64("END counts the FREE records", st->end.frees, rp.frees);
    CHECK_EQ_U64("no address is allocated twice without a FREE between", rp.double_allocs, 0);
    CHECK_EQ_U64("no FREE names an address that is not live", rp.unknown_frees, 0);
    CHECK("every allocation is recorded or counted as dropped",
          rp.allocs + st->end.dropped_allocs >= total + 1);
    /* With nothing dropped, exactness. */
    CHECK_EQ_U64("END: nothing was dropped", st->end.dropped_allocs, 0);
    if (st->end.dropped_allocs == 0) {
        /* Every allocation once, plus the failed realloc's block recorded a second time. */
        CHECK_EQ_U64("one ALLOC per allocation (+1 for the failed realloc)", rp.allocs, total + 1);
        CHECK_EQ_U64("exactly the leaked blocks are live at the end", rp.live.count, n_leaks);
        int leaks_match = n_leaks == STORM_THREADS * LEAKS;
        for (size_t i = 0; i < n_leaks; i++) {
            size_t k = map_find(&rp.live, leak_addr[i]);
            leaks_match &= rp.live.keys[k] == leak_addr[i] && rp.live.sizes[k] == leak_size[i];
        }
        CHECK("each leaked block is live with its size", leaks_match);
        CHECK_EQ_U64("the drain's live set holds exactly the leaked blocks", live_blocks,
                     n_leaks);
        CHECK_EQ_U64("the hooks' table is not used when recording everything",
                     sp_alloc_table_count(), 0);
    }
    CHECK_EQ_U64("every ALLOC stack starts at the hook's caller", rp.bad_stacks, 0);
    CHECK_EQ_U64("every event names a defined thread", rp.unknown_thread, 0);
    CHECK_EQ_U64("the storm threads and this one are defined", spt_reader_thread_count(rp.r),
                 STORM_THREADS + 1);
    map_free(&rp.live);
    spt_reader_close(rp.r);
}

/* ---- 3. default sampling ------------------------------------------------------------------- */

static void test_sampled(void) {
    const char *why = NULL;
    sp_heap_config bad = {"12x", 64, NULL, 0};
    CHECK("a malformed SPPROF_ALLOC is refused with a reason",
          sp_heap_configure(&bad, &why) != 0 && why != NULL && strstr(why, "bytes") != NULL);
    sp_heap_config config = {NULL, 64, NULL, 0};
    CHECK("the default configuration is valid", sp_heap_configure(&config, &why) == 0);
    CHECK_EQ_U64("the default is sampling", sp_heap_mode(), SPT_ALLOC_SAMPLED);
    CHECK_EQ_U64("every 512 KiB on average", sp_heap_sample_bytes(), 524288);

    char path[4200];
    snprintf(path, sizeof path, "%s/sampled.sptrace", tmp_dir);
    drain_ctx c;
    drain_start(&c, path);
    /* The new writer drains for a while before the recording starts, as a real writer may: the
     * storm's threads (gone for over a second) are reclaimed then, and must not be ended under
     * their ids in the storm's trace, which mean nothing to this writer. */
    struct timespec pause = {1, 300000000};
    nanosleep(&pause, NULL);
    sp_heap_start(); /* a second recording: the storm's leaked blocks are forgotten */
    CHECK_EQ_U64("a new recording starts with an empty table", sp_alloc_table_count(), 0);

    uint64_t rng = sp_alloc_prng_seed(11, 12);
    void *window[64] = {0};
    uint64_t total_bytes = 0, count = 0;
    while (total_bytes < (1ull << 30)) {
        uint64_t x = sp_alloc_prng_next(&rng);
        size_t n = (size_t)(16u << (x % 17)) + (size_t)((x >> 40) % 64); /* 16 B .. 1 MiB */
        size_t i = (size_t)((x >> 20) % 64);
        t_free(window[i]);
        window[i] = t_malloc(n);
        total_bytes += n;
        count++;
    }
    for (int i = 0; i < 64; i++) {
        t_free(window[i]);
    }
    sp_heap_stop();
    drain_finish(&c);
    size_t states = 0;
    for (sp_alloc_thread *t = atomic_load(&sp_alloc_threads); t != NULL; t = t->next) {
        states++;
    }
    CHECK_EQ_U64("the exited storm threads' state was reclaimed: only this thread's is left",
                 states, 1);

    replay rp;
    if (replay_trace(path, &rp, 1u << 16) != 0) {
        CHECK("the sampled trace reads back to its end", 0);
        return;
    }
    const spt_reader_stats *st = spt_reader_get_stats(rp.r);
    double ratio = (double)rp.weight / (double)total_bytes;
    printf("sampled: %llu allocations of %llu bytes, %llu recorded, estimate %llu (%.2f%%)\n",
           (unsigned long long)count, (unsigned long long)total_bytes,
           (unsigned long long)rp.allocs, (unsigned long long)rp.weight, 100.0 * ratio);
    const spt_header *h = spt_reader_header(rp.r);
    CHECK("the header says sampled, every 524288 bytes",
          h->alloc_mode == SPT_ALLOC_SAMPLED && h->alloc_sample_bytes == 524288);
    CHECK_EQ_U64("END: every allocation was seen, none of the previous recording's",
                 st->end.allocs_seen, count);
    CHECK("the summed weights estimate the bytes allocated within 10%", ratio > 0.9 && ratio < 1.1);
    CHECK("only a fraction of the allocations is recorded", rp.allocs > 0 && rp.allocs < count / 4);
    CHECK_EQ_U64("every recorded block's free is recorded, and no other", rp.frees, rp.allocs);
    CHECK_EQ_U64("nothing is live at the end", rp.live.count, 0);
    CHECK_EQ_U64("no FREE without its ALLOC", rp.unknown_frees + rp.double_allocs, 0);
    CHECK_EQ_U64("every ALLOC stack starts at the hook's caller", rp.bad_stacks, 0);
    map_free(&rp.live);
    spt_reader_close(rp.r);
}

int main(int argc, char **argv) {
    const char *base = argc > 1 ? argv[1] : getenv("TEST_TMPDIR");
    snprintf(tmp_dir, sizeof tmp_dir, "%s", base != NULL ? base : "/tmp");
    test_table();
    test_storm();
    test_sampled();
    /* The blocks the storm left on purpose (LeakSanitizer would report them). */
    for (size_t i = 0; i < n_leaks; i++) {
        free((void *)(uintptr_t)leak_addr[i]);
    }
    return CHECK_DONE();
}

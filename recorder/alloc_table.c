/* alloc_table.c: the live-address table behind "a free is recorded exactly when its allocation
 * was". Called from the malloc hooks: storage comes from mmap, locks are per-stripe spinlocks
 * that no signal handler takes, and there is no stdio. */
#define _GNU_SOURCE /* MAP_ANONYMOUS, MADV_DONTNEED */
#include "recorder/alloc_table.h"

#include <sched.h>
#include <stdatomic.h>
#include <sys/mman.h>

/* Each stripe's slots are a page of their own at least, so stripes cost cache and TLB misses:
 * with 1024 stripes the table was 12% of a fully traced program's time, and a third of a
 * sample's cost under sampling. Recording everything: 256 stripes, where 8 threads allocating
 * at once still meet on one stripe only once in 32 operations, briefly. Sampling: 64, as the
 * table holds a few thousand blocks and is used once per sample. */
#define STRIPE_BITS         8
#define N_STRIPES           (1u << STRIPE_BITS)
#define SAMPLED_STRIPE_BITS 6
#define MIN_SLOTS   512u /* one 4 KiB page of addresses */
/* 2^16 counters of one byte, one per 256-byte granule of each 16 MiB region
 * (sp_alloc_filter_index). A bigger filter misses the cache on every free, which costs more
 * than the lookups it saves (measured: a hashed 4 MiB filter was 11% of an allocation-heavy
 * run). */
#define FILTER_BYTES ((size_t)1 << SP_ALLOC_FILTER_BITS)
#define STICKY       255 /* a saturated counter stays: it can no longer count removals */
#define SPIN_LIMIT   64  /* pause this many times, then yield: the holder may be descheduled */

/* One stripe: an open-addressing set of addresses (0 = empty slot) with linear probing and
 * backward-shift deletion (no tombstones, so probes stay short under churn). */
typedef struct {
    _Alignas(64) atomic_int lock; /* 0 free, 1 held; one cache line per stripe */
    uint32_t count;               /* addresses stored */
    uint64_t mask;                /* slots - 1; 0 while no slots are mapped */
    uint64_t *slots;              /* mmap'ed array of mask + 1 addresses */
} stripe;

static stripe stripes[N_STRIPES];
static uint32_t stripe_mask = N_STRIPES - 1; /* stripes in use - 1 (sp_alloc_table_init) */
_Atomic uint8_t *sp_alloc_filter;

/* Disjoint bits of one hash pick the stripe (low bits) and the slot (the bits above). */
SP_SIGNAL_SAFE static stripe *stripe_of(uint64_t h) {
    return &stripes[h & stripe_mask];
}

SP_SIGNAL_SAFE static uint64_t home_slot(uint64_t h, uint64_t mask) {
    return (h >> STRIPE_BITS) & mask;
}

/* Counters are shared by addresses of different stripes: atomic, and sticky once saturated. */
SP_SIGNAL_SAFE static void filter_add(uint64_t address, int delta) {
    _Atomic uint8_t *c =
        sp_alloc_filter != NULL ? &sp_alloc_filter[sp_alloc_filter_index(address)] : NULL;
    uint8_t v = c != NULL ? atomic_load_explicit(c, memory_order_relaxed) : STICKY;
    while (v != STICKY &&
           !atomic_compare_exchange_weak_explicit(c, &v, (uint8_t)(v + delta),
                                                  memory_order_relaxed, memory_order_relaxed)) {
    }
}

SP_SIGNAL_SAFE static void cpu_relax(void) {
#if defined(__x86_64__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

SP_HOOK_SAFE static void stripe_lock(stripe *s) {
    int spins = 0;
    while (atomic_exchange_explicit(&s->lock, 1, memory_order_acquire) != 0) {
        while (atomic_load_explicit(&s->lock, memory_order_relaxed) != 0) {
            if (++spins < SPIN_LIMIT) {
                cpu_relax();
            } else {
                sched_yield();
            }
        }
    }
}

SP_HOOK_SAFE static void stripe_unlock(stripe *s) {
    atomic_store_explicit(&s->lock, 0, memory_order_release);
}

int sp_alloc_table_init(int use_filter) {
    /* The stripe count only changes while the table is empty (before recording starts). */
    stripe_mask = use_filter ? (1u << SAMPLED_STRIPE_BITS) - 1 : N_STRIPES - 1;
    if (!use_filter || sp_alloc_filter != NULL) {
        sp_alloc_filter = use_filter ? sp_alloc_filter : NULL;
        return 0;
    }
    void *mem = mmap(NULL, FILTER_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                     -1, 0);
    if (mem == MAP_FAILED) {
        return -1;
    }
    sp_alloc_filter = mem;
    return 0;
}

/* Doubles the stripe's array (or creates its first one) and rehashes into it. Called with the
 * stripe locked. The new array is in place before the old is unmapped, so a fork that
 * interrupts this (from a signal handler) leaves the child a valid array. Returns 0 or -1. */
SP_HOOK_SAFE static int stripe_grow(stripe *s) {
    uint64_t old_slots = s->slots != NULL ? s->mask + 1 : 0;
    uint64_t new_slots = old_slots ? old_slots * 2 : MIN_SLOTS;
    uint64_t *grown = mmap(NULL, new_slots * sizeof(uint64_t), PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (grown == MAP_FAILED) {
        return -1;
    }
    uint64_t new_mask = new_slots - 1;
    for (uint64_t i = 0; i < old_slots; i++) {
        uint64_t a = s->slots[i];
        if (a != 0) {
            uint64_t j = home_slot(sp_alloc_hash(a), new_mask);
            while (grown[j] != 0) {
                j = (j + 1) & new_mask;
            }
            grown[j] = a;
        }
    }
    uint64_t *old = s->slots;
    s->slots = grown;
    s->mask = new_mask;
    if (old != NULL) {
        munmap(old, old_slots * sizeof(uint64_t));
    }
    return 0;
}

SP_HOOK_SAFE int sp_alloc_table_insert(uint64_t address) {
    uint64_t h = sp_alloc_hash(address);
    stripe *s = stripe_of(h);
    stripe_lock(s);
    /* Keep the load factor under 3/4: linear probing degrades fast beyond that. */
    if ((s->slots == NULL || ((uint64_t)s->count + 1) * 4 > (s->mask + 1) * 3) &&
        stripe_grow(s) != 0) {
        stripe_unlock(s);
        return -1;
    }
    uint64_t i = home_slot(h, s->mask);
    while (s->slots[i] != 0) {
        if (s->slots[i] == address) {
            stripe_unlock(s);
            return 1;
        }
        i = (i + 1) & s->mask;
    }
    s->slots[i] = address;
    s->count++;
    /* Counted before the caller hands the pointer to the program, so every later free of it, on
     * any thread, happens after this add and sees the counter non-zero. */
    filter_add(address, 1);
    stripe_unlock(s);
    return 0;
}

SP_HOOK_SAFE int sp_alloc_table_remove(uint64_t address) {
    uint64_t h = sp_alloc_hash(address);
    stripe *s = stripe_of(h);
    stripe_lock(s);
    if (s->slots == NULL) {
        stripe_unlock(s);
        return 0;
    }
    uint64_t mask = s->mask;
    uint64_t i = home_slot(h, mask);
    while (s->slots[i] != address) {
        if (s->slots[i] == 0) {
            stripe_unlock(s);
            return 0;
        }
        i = (i + 1) & mask;
    }
    /* Backward-shift deletion: pull later members of the probe run into the hole when their
     * home slot is not between the hole and where they sit (cyclically). */
    uint64_t hole = i;
    for (uint64_t j = (i + 1) & mask; s->slots[j] != 0; j = (j + 1) & mask) {
        uint64_t home = home_slot(sp_alloc_hash(s->slots[j]), mask);
        int home_in_gap = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!home_in_gap) {
            s->slots[hole] = s->slots[j];
            hole = j;
        }
    }
    s->slots[hole] = 0;
    s->count--;
    filter_add(address, -1);
    stripe_unlock(s);
    return 1;
}

size_t sp_alloc_table_count(void) {
    size_t n = 0;
    for (uint32_t i = 0; i < N_STRIPES; i++) {
        stripe_lock(&stripes[i]);
        n += stripes[i].count;
        stripe_unlock(&stripes[i]);
    }
    return n;
}

void sp_alloc_table_clear(void) {
    for (uint32_t i = 0; i < N_STRIPES; i++) {
        stripe *s = &stripes[i];
        if (s->slots != NULL) {
            munmap(s->slots, (s->mask + 1) * sizeof(uint64_t));
        }
        s->slots = NULL;
        s->mask = 0;
        s->count = 0;
    }
    if (sp_alloc_filter != NULL) {
        /* Private anonymous pages read back as zeros after MADV_DONTNEED. */
        madvise((void *)sp_alloc_filter, FILTER_BYTES, MADV_DONTNEED);
    }
}

void sp_alloc_table_reset(void) {
    /* With every stripe held no insert or remove is in progress, and the filter's counters
     * only change under a stripe lock, so zeroing them cannot lose a concurrent update. */
    sp_alloc_table_lock_all();
    sp_alloc_table_clear();
    sp_alloc_table_unlock_all();
}

void sp_alloc_table_lock_all(void) {
    for (uint32_t i = 0; i < N_STRIPES; i++) {
        stripe_lock(&stripes[i]);
    }
}

void sp_alloc_table_unlock_all(void) {
    for (uint32_t i = N_STRIPES; i-- > 0;) {
        stripe_unlock(&stripes[i]);
    }
}

void sp_alloc_table_reset_in_child(void) {
    for (uint32_t i = 0; i < N_STRIPES; i++) {
        atomic_store_explicit(&stripes[i].lock, 0, memory_order_relaxed);
    }
    sp_alloc_table_clear();
}

/* ring.c: the SPSC sample ring. The producer half runs in SIGPROF context: it only touches
 * preallocated memory and lock-free atomics (see sigsafe.h). No stdio, no malloc, no locks. */
#define _GNU_SOURCE /* MAP_ANONYMOUS */
#include "recorder/ring.h"

#include <stdatomic.h>
#include <sys/mman.h>

/* Each entry is an 8-byte header then the payload padded to 8 bytes, so payloads stay aligned
 * for the uint64_t fields the sampler stores. An entry never wraps: when it would not fit before
 * the end of the buffer, the producer fills the rest with one PAD entry and starts at offset 0. */
enum { ENTRY_DATA = 1, ENTRY_PAD = 2 };

typedef struct {
    uint32_t size_bytes; /* payload bytes (without header or padding) */
    uint32_t type;       /* ENTRY_DATA or ENTRY_PAD */
} entry_header;

#define HEADER_BYTES ((uint64_t)sizeof(entry_header))
#define CACHE_LINE   64

/* head and tail count bytes ever written and freed; they never wrap in 2^64 bytes. Each side
 * works from a private copy of the other's position and reloads it only when that copy says the
 * ring is full (producer) or empty (consumer), and the consumer publishes tail in batches: a
 * shared line then changes hands once per batch, not once per entry. Reading head and tail for
 * every entry made the two cores trade those lines for 12% of the writer's time at full
 * allocation tracing. */
struct sp_ring {
    /* Producer's line. */
    _Alignas(CACHE_LINE) _Atomic uint64_t head; /* published to the consumer */
    uint64_t cached_tail;   /* the consumer's tail as last loaded; never ahead of tail */
    uint64_t pending_skip;  /* PAD bytes before the reserved entry */
    uint64_t pending_bytes; /* bytes reserved, 0 when nothing is reserved */
    _Atomic uint64_t dropped_full;
    _Atomic uint64_t dropped_other;
    /* Consumer's line. */
    _Alignas(CACHE_LINE) _Atomic uint64_t tail; /* published to the producer */
    uint64_t consumer_tail;  /* where the consumer really is; tail lags it by a batch at most */
    uint64_t cached_head;    /* the producer's head as last loaded */
    uint64_t consumer_bytes; /* size of the entry handed out by peek */
    /* Read-only after creation. */
    _Alignas(CACHE_LINE) uint64_t capacity; /* bytes in data, a power of two */
    uint64_t publish_bytes;                 /* the consumer publishes tail every this many */
    size_t map_bytes;                       /* size of the whole mapping */
    unsigned char *data;
};

static uint64_t round8(uint64_t n) {
    return (n + 7u) & ~(uint64_t)7u;
}

sp_ring *sp_ring_create(size_t capacity_bytes) {
    uint64_t capacity = 4096;
    while (capacity < capacity_bytes) {
        capacity <<= 1;
    }
    size_t struct_bytes = (sizeof(sp_ring) + 4095u) & ~(size_t)4095u;
    size_t map_bytes = struct_bytes + (size_t)capacity;
    void *mem = mmap(NULL, map_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
        return NULL;
    }
    /* The mapping is zero-filled, which is a valid empty ring; only the constants need setting. */
    sp_ring *ring = (sp_ring *)mem;
    ring->capacity = capacity;
    ring->publish_bytes = capacity / 16;
    ring->map_bytes = map_bytes;
    ring->data = (unsigned char *)mem + struct_bytes;
    return ring;
}

void sp_ring_destroy(sp_ring *ring) {
    if (ring != NULL) {
        munmap(ring, ring->map_bytes);
    }
}

SP_SIGNAL_SAFE size_t sp_ring_max_entry_bytes(const sp_ring *ring) {
    /* The worst case wastes up to one entry's size in PAD at the end, so only entries up to half
     * the buffer are guaranteed to fit in an empty ring. */
    return (size_t)(ring->capacity / 2 - HEADER_BYTES);
}

/* Producer: would an entry of need bytes (plus skip bytes of PAD) fit if the consumer were at
 * tail? */
SP_SIGNAL_SAFE static int fits(const sp_ring *ring, uint64_t head, uint64_t skip, uint64_t need,
                               uint64_t tail) {
    return head + skip + need - tail <= ring->capacity;
}

SP_SIGNAL_SAFE void *sp_ring_try_reserve(sp_ring *ring, size_t max_bytes) {
    uint64_t need = HEADER_BYTES + round8(max_bytes);
    /* relaxed: only this thread writes head. */
    uint64_t head = atomic_load_explicit(&ring->head, memory_order_relaxed);
    uint64_t pos = head & (ring->capacity - 1);
    uint64_t contiguous = ring->capacity - pos;
    uint64_t skip = need > contiguous ? contiguous : 0;
    ring->pending_bytes = 0;
    if (max_bytes > sp_ring_max_entry_bytes(ring)) {
        return NULL;
    }
    if (!fits(ring, head, skip, need, ring->cached_tail)) {
        /* acquire: the consumer's reads of the bytes it released happen before we overwrite
         * them. */
        ring->cached_tail = atomic_load_explicit(&ring->tail, memory_order_acquire);
        if (!fits(ring, head, skip, need, ring->cached_tail)) {
            return NULL;
        }
    }
    ring->pending_skip = skip;
    ring->pending_bytes = need;
    return ring->data + ((head + skip) & (ring->capacity - 1)) + HEADER_BYTES;
}

SP_SIGNAL_SAFE void sp_ring_count_full(sp_ring *ring) {
    atomic_fetch_add_explicit(&ring->dropped_full, 1, memory_order_relaxed);
}

SP_SIGNAL_SAFE void *sp_ring_reserve(sp_ring *ring, size_t max_bytes) {
    void *entry = sp_ring_try_reserve(ring, max_bytes);
    if (entry == NULL) {
        sp_ring_count_full(ring);
    }
    return entry;
}

SP_SIGNAL_SAFE void sp_ring_commit(sp_ring *ring, size_t size_bytes) {
    uint64_t used = HEADER_BYTES + round8(size_bytes);
    if (ring->pending_bytes == 0 || used > ring->pending_bytes) {
        return; /* nothing reserved, or a caller bug: never write past the reservation */
    }
    uint64_t head = atomic_load_explicit(&ring->head, memory_order_relaxed);
    uint64_t mask = ring->capacity - 1;
    if (ring->pending_skip > 0) {
        entry_header *pad = (entry_header *)(void *)(ring->data + (head & mask));
        pad->size_bytes = (uint32_t)(ring->pending_skip - HEADER_BYTES);
        pad->type = ENTRY_PAD;
    }
    entry_header *h = (entry_header *)(void *)(ring->data + ((head + ring->pending_skip) & mask));
    h->size_bytes = (uint32_t)size_bytes;
    h->type = ENTRY_DATA;
    ring->pending_bytes = 0;
    /* release: the payload and headers are written before the consumer can see the new head. */
    atomic_store_explicit(&ring->head, head + ring->pending_skip + used, memory_order_release);
}

SP_SIGNAL_SAFE void sp_ring_count_drop(sp_ring *ring) {
    atomic_fetch_add_explicit(&ring->dropped_other, 1, memory_order_relaxed);
}

/* Consumer: makes the bytes released so far visible to the producer. */
static void publish_tail(sp_ring *ring) {
    /* release: our reads of the entries are done before the producer may reuse their bytes. */
    atomic_store_explicit(&ring->tail, ring->consumer_tail, memory_order_release);
}

const void *sp_ring_peek(sp_ring *ring, size_t *size_bytes) {
    uint64_t mask = ring->capacity - 1;
    for (;;) {
        if (ring->consumer_tail == ring->cached_head) {
            /* acquire: the producer's payload writes happen before we read them. */
            ring->cached_head = atomic_load_explicit(&ring->head, memory_order_acquire);
            if (ring->consumer_tail == ring->cached_head) {
                /* Empty: hand back everything, so a producer waiting for room is not kept
                 * waiting on the batch. */
                publish_tail(ring);
                ring->consumer_bytes = 0;
                return NULL;
            }
        }
        const entry_header *h =
            (const entry_header *)(const void *)(ring->data + (ring->consumer_tail & mask));
        if (h->type == ENTRY_DATA) {
            ring->consumer_bytes = HEADER_BYTES + round8(h->size_bytes);
            *size_bytes = h->size_bytes;
            return h + 1;
        }
        /* A PAD entry: hand its bytes back at once so the producer can wrap. */
        ring->consumer_tail += HEADER_BYTES + h->size_bytes;
        publish_tail(ring);
    }
}

void sp_ring_release(sp_ring *ring) {
    if (ring->consumer_bytes == 0) {
        return;
    }
    ring->consumer_tail += ring->consumer_bytes;
    ring->consumer_bytes = 0;
    if (ring->consumer_tail - atomic_load_explicit(&ring->tail, memory_order_relaxed) >=
        ring->publish_bytes) {
        publish_tail(ring);
    }
}

void sp_ring_pause(sp_ring *ring) {
    publish_tail(ring);
}

SP_SIGNAL_SAFE int sp_ring_used_above(sp_ring *ring, size_t bytes) {
    uint64_t head = atomic_load_explicit(&ring->head, memory_order_relaxed);
    if (head - ring->cached_tail <= bytes) {
        return 0; /* the cached tail is never ahead: the ring holds no more than this */
    }
    ring->cached_tail = atomic_load_explicit(&ring->tail, memory_order_acquire);
    return head - ring->cached_tail > bytes;
}

SP_SIGNAL_SAFE int sp_ring_half_full(sp_ring *ring) {
    return sp_ring_used_above(ring, (size_t)(ring->capacity / 2));
}

void sp_ring_reset(sp_ring *ring) {
    atomic_store(&ring->head, 0);
    atomic_store(&ring->tail, 0);
    atomic_store(&ring->dropped_full, 0);
    atomic_store(&ring->dropped_other, 0);
    ring->cached_tail = 0;
    ring->pending_skip = 0;
    ring->pending_bytes = 0;
    ring->consumer_tail = 0;
    ring->cached_head = 0;
    ring->consumer_bytes = 0;
}

SP_SIGNAL_SAFE size_t sp_ring_capacity(const sp_ring *ring) {
    return (size_t)ring->capacity;
}

SP_SIGNAL_SAFE uint64_t sp_ring_dropped_full(const sp_ring *ring) {
    return atomic_load_explicit(&ring->dropped_full, memory_order_relaxed);
}

SP_SIGNAL_SAFE uint64_t sp_ring_dropped_other(const sp_ring *ring) {
    return atomic_load_explicit(&ring->dropped_other, memory_order_relaxed);
}

/* ring_test.c: the sample ring's contract, single-threaded and with a producer and a consumer
 * thread (TSan checks the memory ordering in the tsan config). */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>

#include "recorder/ring.h"
#include "tests/check.h"

#define THREADED_ENTRIES 100000u

/* Entry i holds i, then (i % 50) more words each equal to i ^ their index: sizes vary from 8 to
 * 400 bytes, so entries wrap at every possible offset. */
static size_t entry_words(uint64_t i) {
    return 1 + (size_t)(i % 50);
}

static void fill_entry(uint64_t *p, uint64_t i) {
    p[0] = i;
    for (size_t k = 1; k < entry_words(i); k++) {
        p[k] = i ^ k;
    }
}

static int entry_ok(const uint64_t *p, size_t size, uint64_t i) {
    if (size != entry_words(i) * 8 || p[0] != i) {
        return 0;
    }
    for (size_t k = 1; k < entry_words(i); k++) {
        if (p[k] != (i ^ k)) {
            return 0;
        }
    }
    return 1;
}

static void *producer(void *arg) {
    sp_ring *ring = arg;
    for (uint64_t i = 0; i < THREADED_ENTRIES;) {
        uint64_t *p = sp_ring_reserve(ring, entry_words(i) * 8);
        if (p == NULL) {
            sched_yield(); /* full: a real handler drops; here retry to test every entry's bytes */
            continue;
        }
        fill_entry(p, i);
        sp_ring_commit(ring, entry_words(i) * 8);
        i++;
    }
    return NULL;
}

static void test_threads(void) {
    sp_ring *ring = sp_ring_create(8192);
    pthread_t thread;
    pthread_create(&thread, NULL, producer, ring);
    uint64_t next = 0;
    int all_ok = 1;
    while (next < THREADED_ENTRIES) {
        size_t size = 0;
        const uint64_t *p = sp_ring_peek(ring, &size);
        if (p == NULL) {
            sched_yield(); /* on a loaded machine the producer may share our core */
            continue;
        }
        all_ok &= entry_ok(p, size, next);
        sp_ring_release(ring);
        next++;
    }
    pthread_join(thread, NULL);
    CHECK("every entry crosses the threads intact and in order", all_ok);
    CHECK_EQ_U64("a producer that retries loses nothing", next, THREADED_ENTRIES);
    size_t size = 0;
    CHECK("the ring is empty after the last entry", sp_ring_peek(ring, &size) == NULL);
    sp_ring_destroy(ring);
}

/* Stores up to n 1000-byte entries filled with byte; returns how many fitted. */
static int fill(sp_ring *ring, int n, unsigned char byte) {
    int stored = 0;
    for (int i = 0; i < n; i++) {
        void *e = sp_ring_reserve(ring, 1000);
        if (e != NULL) {
            memset(e, byte, 1000);
            sp_ring_commit(ring, 1000);
            stored++;
        }
    }
    return stored;
}

/* Consumes every entry; returns how many were 1000 bytes of byte. */
static int drain_count(sp_ring *ring, unsigned char byte) {
    int good = 0;
    size_t size = 0;
    const unsigned char *q;
    while ((q = sp_ring_peek(ring, &size)) != NULL) {
        good += size == 1000 && q[0] == byte && q[999] == byte;
        sp_ring_release(ring);
    }
    return good;
}

static void test_single_thread(void) {
    sp_ring *ring = sp_ring_create(100); /* rounded up to the 4 KiB minimum */
    CHECK("ring_create returns a ring", ring != NULL);
    CHECK_EQ_U64("an entry may take half of a 4 KiB ring", sp_ring_max_entry_bytes(ring), 2048 - 8);
    size_t size = 12345;
    CHECK("a new ring is empty", sp_ring_peek(ring, &size) == NULL);

    /* An abandoned reservation publishes nothing. */
    CHECK("reserve succeeds on an empty ring", sp_ring_reserve(ring, 64) != NULL);
    CHECK("an uncommitted entry is invisible", sp_ring_peek(ring, &size) == NULL);

    /* A commit may be shorter than its reservation. */
    uint64_t *p = sp_ring_reserve(ring, 1000);
    fill_entry(p, 3);
    sp_ring_commit(ring, entry_words(3) * 8);
    const uint64_t *q = sp_ring_peek(ring, &size);
    CHECK("a short commit is read back with its own size", q != NULL && entry_ok(q, size, 3));
    sp_ring_release(ring);

    CHECK("a reservation larger than max_entry_bytes is refused",
          sp_ring_reserve(ring, sp_ring_max_entry_bytes(ring) + 1) == NULL);
    CHECK_EQ_U64("the refusal counts as a full-ring drop", sp_ring_dropped_full(ring), 1);

    /* Fill without consuming: after the 32 bytes used above, four 1000-byte entries (1008 with
     * their header) fit in 4 KiB, then drops begin. */
    CHECK_EQ_U64("a 4 KiB ring holds four 1000-byte entries", fill(ring, 10, 0xAB), 4);
    CHECK_EQ_U64("the six that did not fit are counted", sp_ring_dropped_full(ring), 7);
    CHECK_EQ_U64("all four are read back whole", drain_count(ring, 0xAB), 4);
    /* 32 bytes are left before the end: the next entry must wrap behind a PAD entry. */
    CHECK_EQ_U64("entries wrap around the end of the buffer", fill(ring, 2, 0xCD), 2);
    CHECK_EQ_U64("wrapped entries are read back whole", drain_count(ring, 0xCD), 2);

    sp_ring_count_drop(ring);
    sp_ring_count_drop(ring);
    CHECK_EQ_U64("other drops are counted apart", sp_ring_dropped_other(ring), 2);
    CHECK("a drained ring accepts a maximal entry again",
          sp_ring_reserve(ring, sp_ring_max_entry_bytes(ring)) != NULL);
    sp_ring_destroy(ring);
}

int main(void) {
    test_single_thread();
    test_threads();
    return CHECK_DONE();
}

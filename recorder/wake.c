/* wake.c: futex post and wait, usable from signal handlers (raw system calls only, errno kept).
 * On the signal path: no stdio, no malloc, no locks (sigsafe.h). */
#define _GNU_SOURCE
#include "recorder/wake.h"

#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static _Atomic uint32_t writer_word;

SP_SIGNAL_SAFE void sp_futex_post(_Atomic uint32_t *word) {
    int saved_errno = errno;
    atomic_fetch_add_explicit(word, 1, memory_order_release);
    /* PRIVATE: the word never lives in shared memory, and private futexes skip the mm lookup. */
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
    errno = saved_errno;
}

SP_SIGNAL_SAFE void sp_futex_wake(_Atomic uint32_t *word) {
    int saved_errno = errno;
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
    errno = saved_errno;
}

SP_SIGNAL_SAFE void sp_futex_wait(_Atomic uint32_t *word, uint32_t seen, uint64_t timeout_ns) {
    int saved_errno = errno;
    if (atomic_load_explicit(word, memory_order_acquire) == seen) {
        struct timespec ts;
        ts.tv_sec = (time_t)(timeout_ns / 1000000000u);
        ts.tv_nsec = (long)(timeout_ns % 1000000000u);
        /* A relative timeout: FUTEX_WAIT measures it on CLOCK_MONOTONIC. EINTR and EAGAIN are
         * both fine: the caller re-checks. */
        syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, seen,
                timeout_ns > 0 ? &ts : NULL, NULL, 0);
    }
    errno = saved_errno;
}

SP_SIGNAL_SAFE void sp_wake_writer(void) {
    sp_futex_post(&writer_word);
}

SP_SIGNAL_SAFE uint32_t sp_wake_writer_seen(void) {
    return atomic_load_explicit(&writer_word, memory_order_acquire);
}

SP_SIGNAL_SAFE void sp_wake_writer_wait(uint32_t seen, uint64_t timeout_ns) {
    sp_futex_wait(&writer_word, seen, timeout_ns);
}

SP_SIGNAL_SAFE uint64_t sp_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* async-signal-safe per POSIX */
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

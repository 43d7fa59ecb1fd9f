/* sigsafe.h: the SP_SIGNAL_SAFE marker and the few helpers the signal path may use.
 * Everything declared here is async-signal-safe: no malloc, no locks, no stdio. */
#ifndef SPPROF_RECORDER_SIGSAFE_H
#define SPPROF_RECORDER_SIGSAFE_H

#include <errno.h>
#include <stddef.h>
#include <unistd.h>

/* Marks a function callable from a signal handler: it calls no malloc, takes no lock, uses no
 * stdio and calls only libc functions that POSIX lists as async-signal-safe. Grep for it. */
#define SP_SIGNAL_SAFE

/* Writes all len bytes at buf to fd, retrying on EINTR and short writes. Returns 0, or -1 with
 * errno set. Async-signal-safe. */
SP_SIGNAL_SAFE static inline int sp_write_all(int fd, const void *buf, size_t len) {
    const char *p = (const char *)buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

#endif /* SPPROF_RECORDER_SIGSAFE_H */

/* log.c: one-line messages to a private copy of stderr. Never called from a signal handler. */
#define _GNU_SOURCE
#include "recorder/log.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "recorder/sigsafe.h"

#define LOG_FD_MIN 100

static int log_fd = STDERR_FILENO;

void sp_log_init(void) {
    int fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, LOG_FD_MIN);
    if (fd >= 0) {
        log_fd = fd;
    }
}

void sp_log(const char *fmt, ...) {
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    size_t len = (size_t)n < sizeof line - 1 ? (size_t)n : sizeof line - 2;
    line[len++] = '\n';
    sp_write_all(log_fd, line, len);
}

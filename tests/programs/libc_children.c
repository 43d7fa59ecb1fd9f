/* libc_children.c: starts children the ways libc does by itself, for the recorder's follow
 * tests: system(), popen() and pclose() in modes "r", "w" and "re", then daemon(). It prints
 * every return value and errno (set to 4242 before each call), so a recorded run can be compared
 * line by line with a plain one. Usage: libc_children.
 *   system       system(NULL); "exit 3"; "kill -INT $PPID" (the caller ignores SIGINT meanwhile);
 *                "kill -INT $$" (the shell gets SIGINT back at its default); a SIGCHLD handler
 *                that reaps with waitpid(-1) finds nothing (SIGCHLD blocked while waiting)
 *   popen        "r" reads a line, pclose gives exit 5; "w" writes a line the shell checks,
 *                pclose gives exit 6; "re" has FD_CLOEXEC and its shell does not hold the "w"
 *                stream's pipe (glibc closes other popen streams in the child)
 *   daemon       daemon(0, 0): the parent exits 0 inside it; the child checks its session, cwd
 *                and /dev/null descriptors, burns in daemon_work and exits 8 (1 if a check fails)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ERRNO_MARK 4242 /* no libc call sets it: seen after a call, errno was left alone */

static volatile uint64_t sink;
static volatile sig_atomic_t reaped;

/* Non-static, so the trace names them as written. */
void main_work(void);
void daemon_work(void);

/* A macro, not a function: the recorder names inlined functions too, and the samples must land
 * in the function named after the work. */
#define BURN_MS(ms)                                                                                \
    do {                                                                                           \
        struct timespec start_, now_;                                                              \
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &start_);                                           \
        uint64_t x_ = 1;                                                                           \
        do {                                                                                       \
            for (int i_ = 0; i_ < 100000; i_++) {                                                  \
                x_ ^= x_ << 13;                                                                    \
                x_ ^= x_ >> 7;                                                                     \
                x_ ^= x_ << 17;                                                                    \
            }                                                                                      \
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now_);                                         \
        } while ((now_.tv_sec - start_.tv_sec) * 1000 +                                            \
                     (now_.tv_nsec - start_.tv_nsec) / 1000000 <                                   \
                 (ms));                                                                            \
        sink += x_;                                                                                \
    } while (0)

__attribute__((noinline)) void main_work(void) {
    BURN_MS(200);
}

__attribute__((noinline)) void daemon_work(void) {
    BURN_MS(200);
}

static void on_sigchld(int signo) {
    (void)signo;
    int saved = errno;
    while (waitpid(-1, NULL, WNOHANG) > 0) {
        reaped++;
    }
    errno = saved;
}

static void run_system(const char *label, const char *command) {
    errno = ERRNO_MARK;
    int rc = system(command);
    int err = errno;
    printf("system %s = %d (errno %d)\n", label, rc, err);
}

static void test_system(void) {
    run_system("NULL", NULL);
    run_system("exit 3", "exit 3");
    run_system("SIGINT to the caller", "kill -INT $PPID");
    run_system("SIGINT to the shell", "kill -INT $$");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigchld;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGCHLD, &sa, NULL);
    run_system("with a reaping SIGCHLD handler", "exit 4");
    printf("the SIGCHLD handler reaped %d\n", (int)reaped);
    sa.sa_handler = SIG_DFL;
    sigaction(SIGCHLD, &sa, NULL);
    struct sigaction now;
    sigaction(SIGINT, NULL, &now);
    printf("SIGINT is back at its default: %d\n", now.sa_handler == SIG_DFL);
}

static void test_popen(void) {
    errno = ERRNO_MARK;
    FILE *r = popen("echo popen-line; exit 5", "r");
    printf("popen r: %s (errno %d)\n", r != NULL ? "open" : "failed", errno);
    char line[64] = "";
    if (r != NULL && fgets(line, sizeof line, r) != NULL) {
        line[strcspn(line, "\n")] = '\0';
    }
    errno = ERRNO_MARK;
    int rc = r != NULL ? pclose(r) : -1;
    printf("popen r read \"%s\", pclose = %d (errno %d)\n", line, rc, errno);

    errno = ERRNO_MARK;
    FILE *w = popen("read x; test \"$x\" = hello && exit 6; exit 1", "w");
    printf("popen w: %s (errno %d)\n", w != NULL ? "open" : "failed", errno);
    if (w != NULL) {
        fputs("hello\n", w);
    }
    /* Open meanwhile: the "re" child must not inherit it. The shell counts its descriptors on
     * the "w" stream's pipe (by inode: the recorder in the shell may reuse the number). */
    struct stat wst;
    memset(&wst, 0, sizeof wst);
    if (w != NULL) {
        fstat(fileno(w), &wst);
    }
    char command[160];
    snprintf(command, sizeof command, "ls -l /proc/$$/fd | grep -c 'pipe:\\[%llu\\]'; exit 0",
             (unsigned long long)wst.st_ino);
    errno = ERRNO_MARK;
    FILE *e = popen(command, "re");
    int cloexec = e != NULL ? (fcntl(fileno(e), F_GETFD) & FD_CLOEXEC) != 0 : -1;
    printf("popen re: %s, FD_CLOEXEC %d (errno %d)\n", e != NULL ? "open" : "failed", cloexec,
           errno);
    int fds = -1;
    if (e != NULL && fgets(line, sizeof line, e) != NULL) {
        fds = atoi(line);
    }
    rc = e != NULL ? pclose(e) : -1;
    printf("popen re: the shell holds the \"w\" pipe %d times, pclose = %d\n", fds, rc);
    errno = ERRNO_MARK;
    rc = w != NULL ? pclose(w) : -1;
    printf("popen w: pclose = %d (errno %d)\n", rc, errno);
    errno = 0;
    FILE *bad = popen("exit 0", "x");
    printf("popen with mode \"x\": %s, errno %s\n", bad == NULL ? "NULL" : "a stream",
           errno == EINVAL ? "EINVAL" : "other");
}

/* In the daemon child: a new session, cwd "/", 0-2 on /dev/null. */
static int daemon_checks_pass(int rc) {
    char cwd[16];
    int ok = rc == 0 && getsid(0) == getpid() && getcwd(cwd, sizeof cwd) != NULL &&
             strcmp(cwd, "/") == 0;
    for (int fd = 0; fd < 3 && ok; fd++) {
        struct stat st;
        ok = fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3);
    }
    return ok;
}

int main(void) {
    main_work();
    test_system();
    test_popen();
    printf("daemon: next\n");
    fflush(stdout);
    int rc = daemon(0, 0); /* the parent _exits 0 in there */
    int ok = daemon_checks_pass(rc);
    daemon_work();
    return ok ? 8 : 1;
}

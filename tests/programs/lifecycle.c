/* lifecycle.c: one program, many ways to end or to start others, for the recorder's lifecycle
 * tests. Usage: lifecycle MODE [N]. Every mode burns CPU in a function named after it first, so
 * each trace has samples to find, and prints one line to stdout and one to stderr.
 *   exit N          exit(N) from main            return N     return N from main
 *   thread-exit N   exit(N) from another thread  _exit N      _exit(N) after the burn
 *   pthread-exit    main calls pthread_exit while a worker finishes (status 0)
 *   segv | abort | term    die of SIGSEGV, SIGABRT, or SIGTERM sent to itself
 *   fork            a child burns in child_work and exits 7; the parent waits (status 0)
 *   exec            execs itself as "exec-image", which burns in exec_image_work, exits 4
 *   exec-fail       execs a missing file, burns in after_exec_fail, exits 5
 *   spawn | vfork   starts "exec-image" with posix_spawn or vfork+execv and waits (status 0)
 *   forever         burns in forever_work until killed (prints "ready" after 1 s)
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static volatile uint64_t sink;

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
        } while ((now_.tv_sec - start_.tv_sec) * 1000 + (now_.tv_nsec - start_.tv_nsec) / 1000000 < \
                 (ms));                                                                            \
        sink += x_;                                                                                \
    } while (0)

/* Non-static, so the trace names them as written (and the tests look them up). */
void main_work(void);
void child_work(void);
void exec_image_work(void);
void after_exec_fail(void);
void worker_work(void);
void forever_work(void);

__attribute__((noinline)) void main_work(void) { BURN_MS(300); }
__attribute__((noinline)) void child_work(void) { BURN_MS(300); }
__attribute__((noinline)) void exec_image_work(void) { BURN_MS(300); }
__attribute__((noinline)) void after_exec_fail(void) { BURN_MS(300); }
__attribute__((noinline)) void worker_work(void) { BURN_MS(300); }

__attribute__((noinline)) void forever_work(void) {
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    int said = 0;
    for (;;) {
        BURN_MS(10);
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (!said && now.tv_sec - start.tv_sec >= 1) {
            printf("ready\n");
            fflush(stdout);
            said = 1;
        }
    }
}

static int status_arg;

static void *exiting_thread(void *arg) {
    (void)arg;
    worker_work();
    printf("lifecycle: thread-exit %d\n", status_arg);
    fflush(stdout);
    exit(status_arg);
}

static void *finishing_thread(void *arg) {
    (void)arg;
    worker_work();
    return NULL;
}

static int wait_child(pid_t pid) {
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) {
        return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "exit";
    status_arg = argc > 2 ? atoi(argv[2]) : 0;
    fprintf(stderr, "lifecycle: %s to stderr\n", mode);
    if (strcmp(mode, "exec-image") == 0) {
        exec_image_work();
        printf("lifecycle: exec-image\n");
        return 4;
    }
    if (strcmp(mode, "forever") == 0) {
        forever_work();
    }
    main_work();
    printf("lifecycle: %s\n", mode);
    fflush(stdout);
    if (strcmp(mode, "exit") == 0) {
        exit(status_arg);
    } else if (strcmp(mode, "return") == 0) {
        return status_arg;
    } else if (strcmp(mode, "_exit") == 0) {
        _exit(status_arg);
    } else if (strcmp(mode, "thread-exit") == 0) {
        pthread_t t;
        pthread_create(&t, NULL, exiting_thread, NULL);
        for (;;) {
            pause();
        }
    } else if (strcmp(mode, "pthread-exit") == 0) {
        pthread_t t;
        pthread_create(&t, NULL, finishing_thread, NULL);
        pthread_exit(NULL);
    } else if (strcmp(mode, "segv") == 0) {
        volatile int *p = NULL;
        *p = 1;
    } else if (strcmp(mode, "abort") == 0) {
        abort();
    } else if (strcmp(mode, "term") == 0) {
        kill(getpid(), SIGTERM);
        for (;;) {
            pause();
        }
    } else if (strcmp(mode, "fork") == 0) {
        pid_t pid = fork();
        if (pid == 0) {
            child_work();
            printf("lifecycle: child\n");
            exit(7);
        }
        int st = wait_child(pid);
        printf("lifecycle: child %d exited %d\n", (int)pid, st);
        return st == 7 ? 0 : 1;
    } else if (strcmp(mode, "exec") == 0) {
        execl("/proc/self/exe", argv[0], "exec-image", (char *)NULL);
        perror("execl");
        return 99;
    } else if (strcmp(mode, "exec-fail") == 0) {
        execl("/nonexistent/program", "program", (char *)NULL);
        after_exec_fail();
        printf("lifecycle: exec failed as expected\n");
        return 5;
    } else if (strcmp(mode, "spawn") == 0 || strcmp(mode, "vfork") == 0) {
        char *child_argv[] = {argv[0], "exec-image", NULL};
        pid_t pid = -1;
        if (strcmp(mode, "spawn") == 0) {
            if (posix_spawn(&pid, "/proc/self/exe", NULL, NULL, child_argv, environ) != 0) {
                return 98;
            }
        } else {
            pid = vfork();
            if (pid == 0) {
                execv("/proc/self/exe", child_argv);
                _exit(127);
            }
        }
        int st = wait_child(pid);
        printf("lifecycle: %s child exited %d\n", mode, st);
        return st == 4 ? 0 : 1;
    }
    return 0;
}

/* sigprof_owner.c: a program that profiles itself with SIGPROF: it installs its own handler
 * (sigaction, or signal() with "signal"), arms ITIMER_PROF at 5 ms and burns 0.6 s of CPU in
 * owner_work. Prints how many signals its handler saw; exits 0 when it saw at least 60 (it would
 * see ~120), 1 when its handler was starved or replaced. With "fork" it forks once its handler is
 * installed, and the child (which inherits the handler) does the same on its own, so that a
 * recorder starting in the child finds the signal taken already; the parent then exits with the
 * child's failure if there was one. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t seen;
static volatile uint64_t sink;

static void on_prof(int signo) {
    (void)signo;
    seen++;
}

void owner_work(void);

__attribute__((noinline)) void owner_work(void) {
    struct timespec start, now;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &start);
    uint64_t x = 1;
    do {
        for (int i = 0; i < 100000; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
        }
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
    } while ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 < 600);
    sink = x;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "signal") == 0) {
        signal(SIGPROF, on_prof);
    } else {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_prof;
        sa.sa_flags = SA_RESTART;
        sigaction(SIGPROF, &sa, NULL);
    }
    pid_t child = argc > 1 && strcmp(argv[1], "fork") == 0 ? fork() : -1;
    struct itimerval itv = {{0, 5000}, {0, 5000}};
    setitimer(ITIMER_PROF, &itv, NULL);
    owner_work();
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_PROF, &off, NULL);
    printf("sigprof_owner%s: handler saw %d signals\n", child == 0 ? " (child)" : "", (int)seen);
    fflush(stdout);
    int status = 0;
    if (child > 0 && (waitpid(child, &status, 0) != child || status != 0)) {
        return 1;
    }
    return seen >= 60 ? 0 : 1;
}

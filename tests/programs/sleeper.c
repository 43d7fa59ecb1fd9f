/* sleeper.c: four threads wait in nanosleep, poll, select and epoll_wait (100 ms each, ten times)
 * while a fifth burns CPU for a second. Every wait is checked: it must not fail with EINTR and
 * must last at least what was asked and less than 60 ms more. Prints the counts; exits 0 when
 * every wait was right, 1 otherwise. Used to check that wall-clock sampling leaves waits alone. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#define WAITS   10
#define WAIT_MS 100

static atomic_int interrupted; /* EINTR or another error */
static atomic_int cut_short;   /* returned before its time: what a sampling signal would do */
static atomic_int late;        /* returned over 60 ms late: a loaded machine, or a stalled thread */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void check(int failed, double started) {
    double took_ms = (now_s() - started) * 1e3;
    if (failed) {
        atomic_fetch_add(&interrupted, 1);
    } else if (took_ms < WAIT_MS - 1) {
        atomic_fetch_add(&cut_short, 1);
    } else if (took_ms > WAIT_MS + 60) {
        atomic_fetch_add(&late, 1);
    }
}

void wait_in_nanosleep(void);
void wait_in_poll(void);
void wait_in_select(void);
void wait_in_epoll(int fd);
uint64_t burn_for_a_second(void);

__attribute__((noinline)) void wait_in_nanosleep(void) {
    struct timespec ts = {0, WAIT_MS * 1000000L};
    double t = now_s();
    check(nanosleep(&ts, NULL) != 0, t);
}

__attribute__((noinline)) void wait_in_poll(void) {
    double t = now_s();
    check(poll(NULL, 0, WAIT_MS) != 0, t);
}

__attribute__((noinline)) void wait_in_select(void) {
    struct timeval tv = {0, WAIT_MS * 1000L};
    double t = now_s();
    check(select(0, NULL, NULL, NULL, &tv) != 0, t);
}

__attribute__((noinline)) void wait_in_epoll(int fd) {
    struct epoll_event ev;
    double t = now_s();
    check(epoll_wait(fd, &ev, 1, WAIT_MS) != 0, t);
}

__attribute__((noinline)) uint64_t burn_for_a_second(void) {
    uint64_t x = 1;
    double start = now_s();
    while (now_s() - start < 1.0) {
        for (int i = 0; i < 10000; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
        }
    }
    return x;
}

static void *nanosleeper(void *arg) {
    (void)arg;
    for (int i = 0; i < WAITS; i++) {
        wait_in_nanosleep();
    }
    return NULL;
}

static void *poller(void *arg) {
    (void)arg;
    for (int i = 0; i < WAITS; i++) {
        wait_in_poll();
    }
    return NULL;
}

static void *selecter(void *arg) {
    (void)arg;
    for (int i = 0; i < WAITS; i++) {
        wait_in_select();
    }
    return NULL;
}

static void *epoller(void *arg) {
    (void)arg;
    int fd = epoll_create1(0);
    for (int i = 0; i < WAITS; i++) {
        wait_in_epoll(fd);
    }
    close(fd);
    return NULL;
}

static volatile uint64_t sink;

static void *burner(void *arg) {
    (void)arg;
    sink = burn_for_a_second();
    return NULL;
}

int main(void) {
    void *(*fns[5])(void *) = {nanosleeper, poller, selecter, epoller, burner};
    const char *names[5] = {"nanosleeper", "poller", "selecter", "epoller", "burner"};
    pthread_t t[5];
    for (int i = 0; i < 5; i++) {
        if (pthread_create(&t[i], NULL, fns[i], NULL) != 0) {
            return 2;
        }
        pthread_setname_np(t[i], names[i]);
    }
    for (int i = 0; i < 5; i++) {
        pthread_join(t[i], NULL);
    }
    /* A wait that ends early or in an error is the failure this program exists to catch; a late
     * one can be the machine's (two cores running a test suite), so a few are tolerated. */
    int bad = atomic_load(&interrupted) + atomic_load(&cut_short) + (atomic_load(&late) > 2);
    printf("sleeper: %d waits, %d interrupted, %d cut short, %d late\n", 4 * WAITS,
           atomic_load(&interrupted), atomic_load(&cut_short), atomic_load(&late));
    return bad == 0 ? 0 : 1;
}

/* stamp.c: choosing the stamp source and converting stamps to CLOCK_MONOTONIC (stamp.h). */
#define _GNU_SOURCE /* O_CLOEXEC, CLOCK_MONOTONIC under -std=c11 */
#include "recorder/stamp.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* Below this many ticks since the reference pair the measured rate is mostly reading noise
 * (two clock reads of ~20 ns each): keep the previous rate, or assume 1 tick per ns. */
#define MIN_CALIBRATION_STAMPS 1000000u

int sp_stamp_is_tsc;

static uint64_t monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void sp_stamp_init(void) {
#if defined(__x86_64__)
    /* The kernel picks "tsc" only when the TSC is invariant and synchronized across CPUs (it
     * falls back to hpet or acpi_pm otherwise, and so do we). */
    char name[32] = {0};
    int fd = open("/sys/devices/system/clocksource/clocksource0/current_clocksource",
                  O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, name, sizeof name - 1);
        close(fd);
        sp_stamp_is_tsc = n >= 3 && strncmp(name, "tsc", 3) == 0 && (n == 3 || name[3] == '\n');
    }
#endif
}

/* Ticks the first rate is measured over (~0.1 ms at a few GHz): time stamps of the first
 * events are then right to a few parts in 10^4 until the first pass refines the rate. */
#define FIRST_CALIBRATION_STAMPS 300000u

void sp_stamp_clock_start(sp_stamp_clock *c) {
    c->stamp0 = sp_stamp_now();
    c->mono0 = monotonic_ns();
    c->ns_per_stamp = 1.0;
    if (sp_stamp_is_tsc) {
        uint64_t mono;
        while (sp_stamp_now() - c->stamp0 < FIRST_CALIBRATION_STAMPS) {
        }
        uint64_t stamp = sp_stamp_now();
        mono = monotonic_ns();
        if (mono > c->mono0) {
            c->ns_per_stamp = (double)(mono - c->mono0) / (double)(stamp - c->stamp0);
        }
    }
}

uint64_t sp_stamp_calibrate(sp_stamp_clock *c, uint64_t *mono_ns) {
    uint64_t stamp = sp_stamp_now();
    uint64_t mono = monotonic_ns();
    *mono_ns = mono;
    if (!sp_stamp_is_tsc) {
        return stamp; /* stamps are the clock itself */
    }
    if (stamp - c->stamp0 >= MIN_CALIBRATION_STAMPS && mono > c->mono0) {
        c->ns_per_stamp = (double)(mono - c->mono0) / (double)(stamp - c->stamp0);
    }
    return stamp;
}

uint64_t sp_stamp_to_mono_ns(const sp_stamp_clock *c, uint64_t stamp) {
    if (!sp_stamp_is_tsc) {
        return stamp;
    }
    if (stamp >= c->stamp0) {
        return c->mono0 + (uint64_t)((double)(stamp - c->stamp0) * c->ns_per_stamp);
    }
    uint64_t before = (uint64_t)((double)(c->stamp0 - stamp) * c->ns_per_stamp);
    return before < c->mono0 ? c->mono0 - before : 0;
}

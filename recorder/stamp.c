/* stamp.c: choosing the stamp source and converting stamps to CLOCK_MONOTONIC (stamp.h). */
#define _GNU_SOURCE /* O_CLOEXEC, CLOCK_MONOTONIC under -std=c11 */
#include "recorder/stamp.h"

#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "recorder/wake.h"

/* Below this many ticks since the reference pair the measured rate is mostly reading noise
 * (two clock reads of ~20 ns each): keep the previous rate, or assume 1 tick per ns. */
#define MIN_CALIBRATION_STAMPS 1000000u

int sp_stamp_is_tsc;

#if defined(__x86_64__)
static uint64_t read_tsc(void) {
    uint32_t lo, hi;
    __asm__ __volatile__("lfence\n\trdtsc" : "=a"(lo), "=d"(hi)::"memory");
    return ((uint64_t)hi << 32) | lo;
}

/* Reads up to size - 1 bytes of a small file into buf (NUL-terminated). Returns the length. */
static size_t read_small_file(const char *path, char *buf, size_t size) {
    size_t len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, buf, size - 1);
        len = n > 0 ? (size_t)n : 0;
        close(fd);
    }
    buf[len] = '\0';
    return len;
}

/* Does the first "flags" line of /proc/cpuinfo hold this flag as a whole word? */
static int cpu_has_flag(const char *cpuinfo, const char *flag) {
    const char *line = strstr(cpuinfo, "\nflags");
    size_t len = strlen(flag);
    for (const char *p = line != NULL ? line + 1 : NULL; p != NULL && *p != '\0' && *p != '\n';
         p++) {
        if (p[-1] == ' ' && strncmp(p, flag, len) == 0 && (p[len] == ' ' || p[len] == '\n')) {
            return 1;
        }
    }
    return 0;
}

/* Does the vDSO answer CLOCK_MONOTONIC without entering the kernel? Under kvm-clock it does so
 * only while the hypervisor marks its clock stable (PVCLOCK_TSC_STABLE_BIT), which it does only
 * when every vCPU's TSC runs in step; otherwise the vDSO falls back to the system call. The
 * best of a few rounds of each tells them apart (a vDSO read is ~30 ns, a system call ~10x). */
static int vdso_serves_monotonic(void) {
    uint64_t best_vdso = UINT64_MAX, best_syscall = UINT64_MAX;
    struct timespec ts;
    /* Every recorded process runs this: 3 rounds of 8 calls each way. Five rounds of 32 were
     * 160 system calls per process; the two differ by 10x, which 8 calls already show. */
    for (int round = 0; round < 3; round++) {
        uint64_t t0 = read_tsc();
        for (int i = 0; i < 8; i++) {
            clock_gettime(CLOCK_MONOTONIC, &ts);
        }
        uint64_t t1 = read_tsc();
        for (int i = 0; i < 8; i++) {
            syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
        }
        uint64_t t2 = read_tsc();
        best_vdso = t1 - t0 < best_vdso ? t1 - t0 : best_vdso;
        best_syscall = t2 - t1 < best_syscall ? t2 - t1 : best_syscall;
    }
    return best_vdso * 4 < best_syscall;
}
#endif

void sp_stamp_init(void) {
#if defined(__x86_64__)
    /* The kernel picks "tsc" only when the TSC is invariant and synchronized across CPUs (it
     * falls back to hpet or acpi_pm otherwise, and so do we). A KVM guest usually runs on
     * kvm-clock instead, which is itself the TSC scaled: its stamps would cost a vDSO read of
     * ~30-40 ns, a fifth of a fully traced allocation. There the TSC orders events as well when
     * it is invariant (constant_tsc, nonstop_tsc) and the hypervisor vouches that the vCPUs'
     * TSCs are in step, which the vDSO's answering tells. */
    char name[32];
    read_small_file("/sys/devices/system/clocksource/clocksource0/current_clocksource", name,
                    sizeof name);
    if (strcmp(name, "tsc\n") == 0 || strcmp(name, "tsc") == 0) {
        sp_stamp_is_tsc = 1;
    } else if (strcmp(name, "kvm-clock\n") == 0) {
        static char cpuinfo[16384]; /* the first CPU's lines; init runs once */
        read_small_file("/proc/cpuinfo", cpuinfo, sizeof cpuinfo);
        sp_stamp_is_tsc = cpu_has_flag(cpuinfo, "constant_tsc") &&
                          cpu_has_flag(cpuinfo, "nonstop_tsc") && vdso_serves_monotonic();
    }
#endif
}

/* Ticks the first rate is measured over (~0.1 ms at a few GHz): time stamps of the first
 * events are then right to a few parts in 10^4 until the first pass refines the rate. */
#define FIRST_CALIBRATION_STAMPS 300000u

void sp_stamp_clock_start(sp_stamp_clock *c) {
    c->stamp0 = sp_stamp_now();
    c->mono0 = sp_monotonic_ns();
    c->ns_per_stamp = 1.0;
    if (sp_stamp_is_tsc) {
        uint64_t mono;
        while (sp_stamp_now() - c->stamp0 < FIRST_CALIBRATION_STAMPS) {
        }
        uint64_t stamp = sp_stamp_now();
        mono = sp_monotonic_ns();
        if (mono > c->mono0) {
            c->ns_per_stamp = (double)(mono - c->mono0) / (double)(stamp - c->stamp0);
        }
    }
}

uint64_t sp_stamp_calibrate(sp_stamp_clock *c, uint64_t *mono_ns) {
    uint64_t stamp = sp_stamp_now();
    uint64_t mono = sp_monotonic_ns();
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

/* analyze_bench.c: times spprof-analyze info, top and tree and spprof-diff on synthetic traces of 1
 * and 10 million samples (50 million with --big), with the peak memory of each run, and, where
 * perf works, `perf report --stdio` on a perf recording of about as many samples. A benchmark,
 * not a test: it prints figures and asserts only that every run succeeds.
 *   bazel run //tests/bench/analyze:analyze_bench [-- --big] [--sizes 1,10] [--dir DIR] [--keep]
 *                                                 [--no-perf] [--perf-max MILLIONS] */
#define _GNU_SOURCE /* sched_setaffinity, wait4 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tracefmt/sptrace.h"

#define N_FUNCTIONS 3000
#define N_STACKS 20000
#define N_THREADS 8
#define MAX_DEPTH 32

static uint64_t rng_state = 0x5eed;

static uint64_t next_u64(void) {
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, const char *detail) {
    fprintf(stderr, "analyze_bench: %s: %s\n", what, detail);
    exit(1);
}

/* ---------------------------------------------------------------------------------------------
 * Synthetic traces: a program-like stack tree (stacks share prefixes, depth 4 to 32), samples
 * drawn with a skewed distribution over 20,000 stacks on 8 threads, 1 ms apart per thread, 5%
 * of them with timer overruns (weight 2). `moved` makes a different function the hottest, for
 * the diff.
 * ------------------------------------------------------------------------------------------- */
static void write_trace(const char *path, uint64_t samples, int moved) {
    spt_header h;
    memset(&h, 0, sizeof h);
    static const char *const argv[] = {"/usr/bin/bench-app", "--work"};
    h.recorder_version = "spprof bench";
    h.start_wall_ns = 1700000000000000000ull;
    h.start_mono_ns = 1000000000ull;
    h.pid = 4242;
    h.executable = "/usr/bin/bench-app";
    h.argc = 2;
    h.argv = argv;
    h.hostname = "bench";
    h.arch = "x86_64";
    h.clock = SPT_CLOCK_CPU_THREAD;
    h.interval_ns = 1000000;
    h.max_depth = 128;
    h.trace_id = "bench";
    h.parent_trace = "";
    spt_writer *w = NULL;
    if (spt_writer_open(path, &h, NULL, &w) != SPT_OK)
        die(path, w ? spt_writer_error(w) : "cannot open");
    spt_mapping map;
    memset(&map, 0, sizeof map);
    map.start = 0x400000;
    map.end = 0x2400000;
    map.path = spt_writer_cstring(w, "/usr/bin/bench-app");
    uint32_t mapping = spt_writer_mapping(w, &map);
    static uint32_t frames[N_FUNCTIONS], stacks[N_STACKS];
    for (uint32_t i = 0; i < N_FUNCTIONS; i++) {
        char name[64], file[64];
        snprintf(name, sizeof name, "app::module%u::function_%u", i % 40, i);
        snprintf(file, sizeof file, "src/module%u.cc", i % 40);
        spt_frame f;
        memset(&f, 0, sizeof f);
        f.kind = SPT_FRAME_NATIVE;
        f.function = spt_writer_cstring(w, name);
        f.file = spt_writer_cstring(w, file);
        f.line = 10 + i % 500;
        f.address = 0x400000 + 0x100ull * i;
        f.mapping = mapping;
        frames[i] = spt_writer_frame(w, &f);
    }
    /* Each stack extends an earlier one by 1 to 3 frames (or starts at main), so prefixes are
     * shared as in a real program. */
    rng_state = 0x5eed;
    for (uint32_t i = 0; i < N_STACKS; i++) {
        uint32_t parent = i < 16 ? 0 : stacks[next_u64() % i];
        uint32_t s = parent ? parent : spt_writer_stack(w, 0, frames[0]);
        uint32_t extra = 1 + (uint32_t)(next_u64() % 3);
        for (uint32_t k = 0; k < extra; k++)
            s = spt_writer_stack(w, s, frames[1 + next_u64() % (N_FUNCTIONS - 1)]);
        stacks[i] = s;
    }
    uint32_t threads[N_THREADS];
    for (uint32_t t = 0; t < N_THREADS; t++) {
        char name[32];
        snprintf(name, sizeof name, "worker-%u", t);
        threads[t] = spt_writer_thread(w, 5000 + t, spt_writer_cstring(w, name), 0);
    }
    rng_state = moved ? 0xa17e5 : 0xbef0e;
    for (uint64_t i = 0; i < samples; i++) {
        uint64_t r = next_u64();
        /* Skewed: the square of a uniform draw favours low stack indexes. */
        uint64_t u = (r >> 11) % N_STACKS;
        uint32_t k = (uint32_t)(u * u / N_STACKS);
        if (moved && k == 0)
            k = 7; /* the hottest stack's time moves elsewhere */
        uint32_t t = (uint32_t)(r % N_THREADS);
        if (spt_writer_sample(w, threads[t], (i / N_THREADS) * 1000000, stacks[k],
                              (r >> 7) % 20 == 0 ? 2 : 1, 0) != SPT_OK)
            die(path, spt_writer_error(w));
        if (i % 200000 == 0 && spt_writer_flush(w) != SPT_OK)
            die(path, spt_writer_error(w));
    }
    spt_end e;
    memset(&e, 0, sizeof e);
    e.reason = SPT_END_EXIT;
    e.duration_ns = samples / N_THREADS * 1000000;
    if (spt_writer_close(w, &e) != SPT_OK)
        die(path, "closing failed");
}

/* ---------------------------------------------------------------------------------------------
 * Running: wall time, CPU time and peak RSS of one child, pinned to CPU 0 ("one core").
 * ------------------------------------------------------------------------------------------- */
typedef struct {
    double wall_s, cpu_s;
    long max_rss_kib;
    int status;
} measured;

static measured run(char *const argv[], const char *out_path, int pin) {
    measured m = {0, 0, 0, -1};
    double t0 = now_s();
    pid_t pid = fork();
    if (pid < 0)
        die("fork", strerror(errno));
    if (pid == 0) {
        int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        if (pin) {
            cpu_set_t set;
            CPU_ZERO(&set);
            CPU_SET(0, &set);
            sched_setaffinity(0, sizeof set, &set);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    int status;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0) {
        if (errno != EINTR)
            die("wait4", strerror(errno));
    }
    m.wall_s = now_s() - t0;
    m.cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
              (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
    m.max_rss_kib = ru.ru_maxrss;
    m.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return m;
}

static void print_row(const char *what, uint64_t millions, const measured *m, const char *note) {
    printf("%-22s %5" PRIu64 "M  %8.2f s  %8.2f s  %9.1f MiB  %s\n", what, millions, m->wall_s,
           m->cpu_s, (double)m->max_rss_kib / 1024.0, note);
    fflush(stdout);
}

/* ---------------------------------------------------------------------------------------------
 * perf: a CPU-bound workload recorded with call graphs for about `samples` samples, then
 * `perf report --stdio` timed on it.
 * ------------------------------------------------------------------------------------------- */
static char dir[2048]; /* where traces and perf data go */

static volatile int burn_stop;

__attribute__((noinline)) static uint64_t burn_leaf(uint64_t x) {
    for (int i = 0; i < 1000; i++)
        x = x * 6364136223846793005ull + 1442695040888963407ull;
    return x;
}

__attribute__((noinline)) static uint64_t burn_mid(uint64_t x, int depth) {
    return depth ? burn_mid(x ^ (uint64_t)depth, depth - 1) + 1 : burn_leaf(x);
}

static void *burn_thread(void *arg) {
    uint64_t x = (uint64_t)(uintptr_t)arg;
    while (!burn_stop)
        x = burn_mid(x, (int)(x % 12));
    return (void *)(uintptr_t)x;
}

static int burn(double seconds, int threads) {
    pthread_t tid[64];
    if (threads > 64)
        threads = 64;
    for (int i = 0; i < threads; i++)
        pthread_create(&tid[i], NULL, burn_thread, (void *)(uintptr_t)(i + 1));
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    nanosleep(&ts, NULL);
    burn_stop = 1;
    for (int i = 0; i < threads; i++)
        pthread_join(tid[i], NULL);
    return 0;
}

/* Whether perf can record here (installed, and perf_event_open permitted). */
static int perf_works(void) {
    char data[4096], log[4096];
    snprintf(data, sizeof data, "%s/probe.data", dir);
    snprintf(log, sizeof log, "%s/probe.log", dir);
    char *argv[] = {"perf", "record", "-q", "-o", data, "-F", "1000", "--", "true", NULL};
    measured m = run(argv, log, 0);
    unlink(data);
    return m.status == 0;
}

/* The sample count perf record printed: "... (12345 samples) ]". */
static uint64_t perf_samples(const char *log) {
    FILE *f = fopen(log, "r");
    char line[512];
    uint64_t n = 0;
    while (f && fgets(line, sizeof line, f)) {
        char *p = strstr(line, " samples)");
        if (!p)
            continue;
        while (p > line && p[-1] >= '0' && p[-1] <= '9')
            p--;
        n = strtoull(p, NULL, 10);
    }
    if (f)
        fclose(f);
    return n;
}

static void perf_row(const char *self, uint64_t samples, int threads) {
    char data[4096], log[4096], secs[32], nthreads[16];
    /* perf's cpu-clock at a 20 us period: up to 50,000 samples per second per thread. */
    double seconds = (double)samples / (50000.0 * threads);
    snprintf(data, sizeof data, "%s/perf.data", dir);
    snprintf(log, sizeof log, "%s/perf-record.log", dir);
    snprintf(secs, sizeof secs, "%.3f", seconds);
    snprintf(nthreads, sizeof nthreads, "%d", threads);
    char *rec[] = {"perf", "record", "-e",         "cpu-clock", "-c", "20000",  "-g", "-o",
                   data,   "--",     (char *)self, "--burn",    secs, nthreads, NULL};
    measured m = run(rec, log, 0);
    uint64_t got = perf_samples(log);
    if (m.status != 0 || got == 0) {
        printf("%-22s %5" PRIu64 "M  perf record failed (see %s)\n", "perf report --stdio",
               samples / 1000000, log);
        return;
    }
    char out[4096], note[160];
    snprintf(out, sizeof out, "%s/perf-report.txt", dir);
    char *rep[] = {"perf", "report", "--stdio", "-i", data, NULL};
    m = run(rep, out, 1);
    struct stat st;
    snprintf(note, sizeof note, "%" PRIu64 " samples recorded, perf.data %.1f MiB%s", got,
             stat(data, &st) == 0 ? (double)st.st_size / 1048576.0 : 0.0,
             m.status ? " (perf report failed)" : "");
    print_row("perf report --stdio", (got + 500000) / 1000000, &m, note);
    unlink(data);
}

/* ---------------------------------------------------------------------------------------------
 * Main.
 * ------------------------------------------------------------------------------------------- */
static const char *tool(const char *env, const char *runfile) {
    const char *p = getenv(env);
    if (p && *p)
        return p;
    if (access(runfile, X_OK) == 0)
        return runfile;
    die(runfile, "not found: run through bazel run, or set SPPROF_ANALYZE and SPPROF_DIFF");
    return NULL;
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "--burn") == 0)
        return burn(atof(argv[2]), atoi(argv[3]));
    uint64_t sizes[8] = {1, 10};
    size_t n_sizes = 2;
    int keep = 0, use_perf = 1;
    uint64_t perf_max = 10;
    const char *dir_arg = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--big") == 0 && n_sizes < 8) {
            sizes[n_sizes++] = 50;
        } else if (strcmp(argv[i], "--sizes") == 0 && i + 1 < argc) {
            n_sizes = 0;
            for (char *p = argv[++i]; *p && n_sizes < 8; p += *p == ',')
                sizes[n_sizes++] = strtoull(p, &p, 10);
        } else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
            dir_arg = argv[++i];
        } else if (strcmp(argv[i], "--keep") == 0) {
            keep = 1;
        } else if (strcmp(argv[i], "--no-perf") == 0) {
            use_perf = 0;
        } else if (strcmp(argv[i], "--perf-max") == 0 && i + 1 < argc) {
            perf_max = strtoull(argv[++i], NULL, 10);
        } else {
            die(argv[i], "usage: analyze_bench [--big] [--sizes 1,10] [--dir DIR] [--keep] "
                         "[--no-perf] [--perf-max MILLIONS]");
        }
    }
    const char *analyze = tool("SPPROF_ANALYZE", "analyze/spprof-analyze");
    const char *diff = tool("SPPROF_DIFF", "analyze/spprof-diff");
    char self[4096];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0)
        die("/proc/self/exe", strerror(errno));
    self[len] = '\0';
    if (dir_arg) {
        snprintf(dir, sizeof dir, "%s", dir_arg);
        mkdir(dir, 0755);
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/analyze-bench.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(dir))
            die(dir, strerror(errno));
    }
    int have_perf = use_perf && perf_works();
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    printf("analyze_bench: spprof-analyze and spprof-diff pinned to one CPU; peak RSS from "
           "wait4\n");
    printf("traces: %d functions, %d stacks, %d threads, 5%% of samples weigh 2; in %s\n",
           N_FUNCTIONS, N_STACKS, N_THREADS, dir);
    if (!use_perf)
        printf("perf: skipped (--no-perf)\n");
    else if (!have_perf)
        printf("perf: not installed or not permitted here (perf record failed); skipped\n");
    printf("\n%-22s %6s  %10s  %10s  %13s  %s\n", "what", "size", "wall", "cpu", "peak RSS",
           "note");
    for (size_t s = 0; s < n_sizes; s++) {
        uint64_t n = sizes[s] * 1000000;
        char before[4096], after[4096], out[4096], note[128];
        snprintf(before, sizeof before, "%s/before-%" PRIu64 "M.sptrace", dir, sizes[s]);
        snprintf(after, sizeof after, "%s/after-%" PRIu64 "M.sptrace", dir, sizes[s]);
        snprintf(out, sizeof out, "%s/out.txt", dir);
        double t0 = now_s();
        write_trace(before, n, 0);
        double gen = now_s() - t0;
        write_trace(after, n, 1);
        struct stat st;
        snprintf(note, sizeof note, "%.1f MiB, written in %.2f s",
                 stat(before, &st) == 0 ? (double)st.st_size / 1048576.0 : 0.0, gen);
        printf("%-22s %5" PRIu64 "M  %s\n", "trace", sizes[s], note);

        static const char *const commands[] = {"info", "top", "tree"};
        for (size_t c = 0; c < 3; c++) {
            char *args[] = {(char *)analyze, (char *)commands[c], "--no-color", before, NULL};
            measured m = run(args, out, 1);
            char what[64];
            snprintf(what, sizeof what, "spprof-analyze %s", commands[c]);
            print_row(what, sizes[s], &m, m.status ? "FAILED" : "");
            if (m.status)
                return 1;
        }
        char *dargs[] = {(char *)diff, "--no-color", before, after, NULL};
        measured m = run(dargs, out, 1);
        print_row("spprof-diff", sizes[s], &m, m.status ? "FAILED" : "(two traces)");
        if (m.status)
            return 1;
        if (have_perf && sizes[s] <= perf_max)
            perf_row(self, n, (int)(cpus > 1 ? cpus : 1));
        if (!keep) {
            unlink(before);
            unlink(after);
        }
    }
    if (!keep) {
        char out[4096];
        static const char *const files[] = {"out.txt", "perf-record.log", "perf-report.txt",
                                            "probe.log"};
        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
            snprintf(out, sizeof out, "%s/%s", dir, files[i]);
            unlink(out);
        }
        if (!dir_arg)
            rmdir(dir);
    }
    return 0;
}

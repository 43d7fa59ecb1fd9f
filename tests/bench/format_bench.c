/* format_bench.c: measures the .sptrace format on synthetic 10-million-sample traces: bytes on disk
 * per sample, write and read throughput, each against a plain zstd baseline on the same bytes, and
 * `spprof-analyze top` wall time when that tool is built. A benchmark, not a test: it asserts
 * nothing but that every call succeeds.   bazel run //tests/bench:format_bench [-- --samples N] */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "tracefmt/sptrace.h"

typedef struct {
    uint64_t state;
} rng;

static uint64_t next_u64(rng *r) {
    uint64_t z = (r->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t below(rng *r, uint64_t bound) {
    return next_u64(r) % bound;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, const char *detail) {
    fprintf(stderr, "format_bench: %s: %s\n", what, detail);
    exit(1);
}

#define MUST(call, w)                                                                              \
    do {                                                                                           \
        if ((call) != SPT_OK) {                                                                    \
            die(#call, spt_writer_error(w));                                                       \
        }                                                                                          \
    } while (0)

/* One measured workload. */
typedef struct {
    const char *name;
    uint64_t samples;
    uint64_t file_bytes;
    uint64_t raw_bytes; /* uncompressed record bytes (from a zstd decompress of the file) */
    double write_s;     /* open .. close, interning and every sample included */
    double read_s;      /* open .. SPT_END through spt_reader_next, best of 3 */
    uint64_t read_events;
    double zstd_d_s; /* baseline: ZSTD_decompressStream of the whole file, best of 3 */
    double zstd_c_s; /* baseline: compress the same raw bytes at level 3 */
    double top_s;    /* spprof-analyze top; < 0 if not run */
} result;

/* Native and Python frames named like a real program's, interned once. */
static uint32_t make_frame(spt_writer *w, uint32_t i, uint32_t mapping) {
    char name[64], file[64];
    spt_frame f;
    memset(&f, 0, sizeof f);
    if (i % 3 == 0) {
        snprintf(name, sizeof name, "module%u.Class.method_%u", i % 17, i);
        snprintf(file, sizeof file, "/app/pkg/module%u.py", i % 17);
        f.kind = SPT_FRAME_PYTHON;
        f.code_id = 0x7f1200000000ull + 0x1000ull * i;
        f.first_line = 10 + i;
        f.line = 12 + i % 50;
    } else {
        snprintf(name, sizeof name, "native_function_%u", i);
        snprintf(file, sizeof file, "/src/lib%u/file%u.c", i % 7, i % 31);
        f.kind = SPT_FRAME_NATIVE;
        f.address = 0x555555554000ull + 0x40ull * i;
        f.mapping = mapping;
        f.line = 100 + i % 900;
    }
    f.function = spt_writer_cstring(w, name);
    f.file = spt_writer_cstring(w, file);
    uint32_t id = spt_writer_frame(w, &f);
    if (id == 0) {
        die("spt_writer_frame", spt_writer_error(w));
    }
    return id;
}

static spt_writer *open_writer(const char *path, uint32_t *mapping) {
    static const char *const argv[] = {"/usr/bin/python3", "bench.py"};
    spt_header h;
    memset(&h, 0, sizeof h);
    h.recorder_version = "spprof bench";
    h.start_wall_ns = 1700000000000000000ull;
    h.start_mono_ns = 1000000000ull;
    h.pid = 1234;
    h.executable = "/usr/bin/python3";
    h.argc = 2;
    h.argv = argv;
    h.hostname = "bench";
    h.arch = "x86_64";
    h.clock = SPT_CLOCK_CPU_THREAD;
    h.interval_ns = 10000000;
    h.max_depth = 128;
    h.trace_id = "bench";
    h.parent_trace = "";
    spt_writer *w = NULL;
    if (spt_writer_open(path, &h, NULL, &w) != SPT_OK) {
        die("spt_writer_open", spt_writer_error(w));
    }
    spt_mapping m;
    memset(&m, 0, sizeof m);
    m.start = 0x555555554000ull;
    m.end = m.start + (64u << 20);
    m.path = spt_writer_cstring(w, "/usr/lib/libapp.so");
    m.build_id_len = 20;
    memset(m.build_id, 0xab, 20);
    *mapping = spt_writer_mapping(w, &m);
    return w;
}

/* One thread, a few stacks about 20 deep sharing most of their frames, sampled every 10 ms with
 * +-50 us of jitter; a flush every 100 samples, as the recorder flushes once a second. */
static void write_steady(const char *path, uint64_t n, result *res) {
    double t0 = now_s();
    uint32_t mapping = 0;
    spt_writer *w = open_writer(path, &mapping);
    uint32_t frames[40], stacks[4];
    for (uint32_t i = 0; i < 40; i++) {
        frames[i] = make_frame(w, i, mapping);
    }
    for (uint32_t s = 0; s < 4; s++) {
        uint32_t path_ids[22];
        uint32_t depth = 18 + s; /* 18..21: a shared 15-frame trunk, then each its own leaves */
        for (uint32_t d = 0; d < depth; d++) {
            path_ids[d] = d < 15 ? frames[d] : frames[15 + s * 6 + (d - 15)];
        }
        stacks[s] = spt_writer_stack_path(w, path_ids, depth);
    }
    uint32_t th = spt_writer_thread(w, 4321, spt_writer_cstring(w, "MainThread"), 0);
    rng r = {42};
    static const uint32_t pick[20] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 3};
    for (uint64_t k = 1; k <= n; k++) {
        uint64_t t = k * 10000000ull + below(&r, 100001) - 50000;
        MUST(spt_writer_sample(w, th, t, stacks[pick[below(&r, 20)]], 1, 0), w);
        if (k % 100 == 0) {
            MUST(spt_writer_flush(w), w);
        }
    }
    spt_end end;
    memset(&end, 0, sizeof end);
    end.reason = SPT_END_EXIT;
    end.duration_ns = (n + 1) * 10000000ull;
    MUST(spt_writer_close(w, &end), NULL);
    res->write_s = now_s() - t0;
    res->samples = n;
}

/* Eight threads, 5,000 stacks 8 to 40 deep over 400 frames, picked Zipf(1.0); each thread samples
 * every 10 ms with jitter, merged roughly in time order; a flush every 800 samples. */
static void write_mixed(const char *path, uint64_t n, result *res) {
    enum { THREADS = 8, STACKS = 5000, FRAMES = 400 };
    double t0 = now_s();
    uint32_t mapping = 0;
    spt_writer *w = open_writer(path, &mapping);
    uint32_t *frames = malloc(FRAMES * sizeof *frames), *stacks = malloc(STACKS * sizeof *stacks);
    double *cdf = malloc(STACKS * sizeof *cdf);
    for (uint32_t i = 0; i < FRAMES; i++) {
        frames[i] = make_frame(w, i, mapping);
    }
    rng r = {7};
    for (uint32_t s = 0; s < STACKS; s++) {
        uint32_t path_ids[40];
        uint32_t depth = 8 + (uint32_t)below(&r, 33);
        uint32_t trunk = (uint32_t)below(&r, 20); /* 20 common entry paths of 5 frames */
        for (uint32_t d = 0; d < depth; d++) {
            path_ids[d] = d < 5 ? frames[trunk * 5 + d] : frames[100 + below(&r, FRAMES - 100)];
        }
        stacks[s] = spt_writer_stack_path(w, path_ids, depth);
        cdf[s] = (s ? cdf[s - 1] : 0) + 1.0 / (double)(s + 1);
    }
    uint32_t threads[THREADS];
    char name[32];
    for (uint32_t i = 0; i < THREADS; i++) {
        snprintf(name, sizeof name, "worker-%u", i);
        threads[i] = spt_writer_thread(w, 5000 + i, spt_writer_cstring(w, name), 0);
    }
    for (uint64_t k = 0; k < n; k++) {
        uint64_t tick = k / THREADS + 1;
        uint32_t ti = (uint32_t)(k % THREADS);
        uint64_t t = tick * 10000000ull + ti * 1000000ull + below(&r, 100001) - 50000;
        double u = (double)(next_u64(&r) >> 11) * 0x1p-53 * cdf[STACKS - 1];
        uint32_t lo = 0, hi = STACKS - 1;
        while (lo < hi) { /* first stack whose cumulative weight exceeds u */
            uint32_t mid = (lo + hi) / 2;
            if (cdf[mid] > u) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        MUST(spt_writer_sample(w, threads[ti], t, stacks[lo], 1, 0), w);
        if ((k + 1) % 800 == 0) {
            MUST(spt_writer_flush(w), w);
        }
    }
    spt_end end;
    memset(&end, 0, sizeof end);
    end.reason = SPT_END_EXIT;
    MUST(spt_writer_close(w, &end), NULL);
    res->write_s = now_s() - t0;
    res->samples = n;
    free(frames);
    free(stacks);
    free(cdf);
}

static uint8_t *slurp(const char *path, size_t *size) {
    int fd = open(path, O_RDONLY);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        die(path, strerror(errno));
    }
    uint8_t *buf = malloc((size_t)sb.st_size + 1);
    size_t got = 0;
    while (got < (size_t)sb.st_size) {
        ssize_t k = read(fd, buf + got, (size_t)sb.st_size - got);
        if (k <= 0) {
            die(path, "short read");
        }
        got += (size_t)k;
    }
    close(fd);
    *size = got;
    return buf;
}

static void measure_read(const char *path, result *res) {
    for (int rep = 0; rep < 3; rep++) {
        double t0 = now_s();
        spt_reader *r = NULL;
        if (spt_reader_open(path, NULL, &r) != SPT_OK) {
            die("spt_reader_open", spt_reader_error(r));
        }
        spt_event ev;
        uint64_t n = 0;
        spt_status st;
        while ((st = spt_reader_next(r, &ev)) == SPT_OK) {
            n++;
        }
        if (st != SPT_END) {
            die("spt_reader_next", spt_reader_error(r));
        }
        double dt = now_s() - t0;
        if (rep == 0 || dt < res->read_s) {
            res->read_s = dt;
        }
        res->read_events = n;
        spt_reader_close(r);
    }
}

/* Baselines on the same bytes: decompress the file (skipping its header frame), and compress the
 * decompressed records again at zstd's default level. */
static void measure_zstd(const char *path, result *res) {
    size_t size = 0;
    uint8_t *file = slurp(path, &size);
    res->file_bytes = size;
    size_t cap = 1u << 20, raw_cap = 0, raw_n = 0;
    uint8_t *out = malloc(cap), *raw = NULL;
    ZSTD_DCtx *d = ZSTD_createDCtx();
    for (int rep = 0; rep < 3; rep++) {
        int keep = rep == 0;
        double t0 = now_s();
        ZSTD_DCtx_reset(d, ZSTD_reset_session_only);
        ZSTD_inBuffer in = {file, size, 0};
        uint64_t total = 0;
        while (in.pos < in.size) {
            ZSTD_outBuffer o = {out, cap, 0};
            size_t rc = ZSTD_decompressStream(d, &o, &in);
            if (ZSTD_isError(rc)) {
                die("ZSTD_decompressStream", ZSTD_getErrorName(rc));
            }
            total += o.pos;
            if (keep) {
                if (raw_n + o.pos > raw_cap) {
                    raw_cap = (raw_n + o.pos) * 2;
                    raw = realloc(raw, raw_cap);
                }
                memcpy(raw + raw_n, out, o.pos);
                raw_n += o.pos;
            }
        }
        double dt = now_s() - t0;
        if (!keep && (res->zstd_d_s == 0 || dt < res->zstd_d_s)) {
            res->zstd_d_s = dt; /* the first pass also copied; time the next two */
        }
        res->raw_bytes = total;
    }
    ZSTD_freeDCtx(d);
    size_t bound = ZSTD_compressBound(raw_n);
    uint8_t *z = malloc(bound);
    double t0 = now_s();
    size_t zn = ZSTD_compress(z, bound, raw, raw_n, 3);
    res->zstd_c_s = now_s() - t0;
    if (ZSTD_isError(zn)) {
        die("ZSTD_compress", ZSTD_getErrorName(zn));
    }
    free(z);
    free(raw);
    free(out);
    free(file);
}

/* Wall time of `spprof-analyze top path`, output discarded; -1 if the tool is not built. */
static double measure_top(const char *tool, const char *path) {
    if (tool == NULL || tool[0] == '\0' || access(tool, X_OK) != 0) {
        return -1;
    }
    double t0 = now_s();
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        execl(tool, tool, "top", path, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    double dt = now_s() - t0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "format_bench: %s top %s exited with status %d\n", tool, path, status);
        return -2;
    }
    return dt;
}

static void print_table(const result *rs, size_t n) {
    printf("\n%-8s %10s %11s %8s %8s | %10s %8s %6s | %10s %8s %6s | %7s\n", "workload", "samples",
           "file bytes", "B/sample", "raw B/s.", "write s/s", "MB/s", "vs zc", "read s/s", "MB/s",
           "vs zd", "top s");
    for (size_t i = 0; i < n; i++) {
        const result *r = &rs[i];
        double raw_mb = (double)r->raw_bytes / 1e6;
        char top[16];
        if (r->top_s >= 0) {
            snprintf(top, sizeof top, "%.2f", r->top_s);
        } else {
            snprintf(top, sizeof top, r->top_s < -1.5 ? "failed" : "n/a");
        }
        printf("%-8s %10llu %11llu %8.2f %8.2f | %10.3g %8.1f %5.1fx | %10.3g %8.1f %5.1fx | %7s\n",
               r->name, (unsigned long long)r->samples, (unsigned long long)r->file_bytes,
               (double)r->file_bytes / (double)r->samples,
               (double)r->raw_bytes / (double)r->samples, (double)r->samples / r->write_s,
               raw_mb / r->write_s, r->write_s / r->zstd_c_s, (double)r->samples / r->read_s,
               raw_mb / r->read_s, r->read_s / r->zstd_d_s, top);
    }
    printf(
        "\nB/sample: file bytes on disk per sample (header, definitions, SYNCs and END included);"
        "\nraw B/s.: uncompressed record bytes per sample. MB/s are of raw record bytes.\n"
        "vs zc: write time / time to zstd-compress the same raw bytes (level 3, one call).\n"
        "vs zd: read time (spt_reader_next over every event) / time to zstd-decompress the "
        "file.\ntop s: wall time of `spprof-analyze top` on the file (n/a: tool not built).\n");
    for (size_t i = 0; i < n; i++) {
        printf("%s: write %.2f s, read %.2f s (%llu events), zstd -d %.3f s, zstd -3 %.3f s\n",
               rs[i].name, rs[i].write_s, rs[i].read_s, (unsigned long long)rs[i].read_events,
               rs[i].zstd_d_s, rs[i].zstd_c_s);
    }
}

int main(int argc, char **argv) {
    uint64_t n = 10000000;
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    int keep = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--samples") == 0 && i + 1 < argc) {
            n = strtoull(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
            dir = argv[++i];
        } else if (strcmp(argv[i], "--keep") == 0) {
            keep = 1;
        } else {
            fprintf(stderr, "usage: format_bench [--samples N] [--dir DIR] [--keep]\n");
            return 2;
        }
    }
    char tool[1024];
    const char *tool_path = getenv("SPPROF_ANALYZE");
    if (tool_path == NULL && getenv("BUILD_WORKSPACE_DIRECTORY") != NULL) {
        snprintf(tool, sizeof tool, "%s/bazel-bin/analyze/spprof-analyze",
                 getenv("BUILD_WORKSPACE_DIRECTORY"));
        tool_path = tool;
    }

    result rs[2];
    memset(rs, 0, sizeof rs);
    char paths[2][1024];
    rs[0].name = "steady";
    rs[1].name = "mixed";
    for (int i = 0; i < 2; i++) {
        snprintf(paths[i], sizeof paths[i], "%s/format_bench_%s_%ld.sptrace", dir, rs[i].name,
                 (long)getpid());
        fprintf(stderr, "%s: writing %llu samples to %s\n", rs[i].name, (unsigned long long)n,
                paths[i]);
        if (i == 0) {
            write_steady(paths[i], n, &rs[i]);
        } else {
            write_mixed(paths[i], n, &rs[i]);
        }
        fprintf(stderr, "%s: reading\n", rs[i].name);
        measure_read(paths[i], &rs[i]);
        measure_zstd(paths[i], &rs[i]);
        rs[i].top_s = measure_top(tool_path, paths[i]);
        if (!keep) {
            unlink(paths[i]);
        }
    }
    fflush(stderr);
    print_table(rs, 2);
    return 0;
}

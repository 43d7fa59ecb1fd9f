/* testutil.c: test helpers for analyze: the known trace, running the CLI, a strict JSON parser.
 * The known trace is the fixture every exact number in model_test.c and cli_test.c comes from. */
#define _XOPEN_SOURCE 700
#include "analyze/testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

const char *tu_tmp_path(const char *name) {
    static char slots[8][4096];
    static unsigned next;
    char *buf = slots[next++ % 8];
    const char *dir = getenv("TEST_TMPDIR");
    snprintf(buf, sizeof slots[0], "%s/%s", dir && *dir ? dir : "/tmp", name);
    return buf;
}

spt_header tu_header(void) {
    static const char *const argv[] = {"/usr/bin/demo", "--fast", "it's"};
    spt_header h;
    memset(&h, 0, sizeof h);
    h.recorder_version = "spprof 0.1.0";
    h.start_wall_ns = 1700000000123456789ull; /* 2023-11-14 22:13:20.123 UTC */
    h.start_mono_ns = 5000000000ull;
    h.tick_ns = 1000;
    h.pid = 4242;
    h.ppid = 1;
    h.executable = "/usr/bin/demo";
    h.argc = 3;
    h.argv = argv;
    h.hostname = "testhost";
    h.arch = "x86_64";
    h.clock = SPT_CLOCK_CPU_THREAD;
    h.interval_ns = 10000000; /* 10 ms */
    h.alloc_mode = SPT_ALLOC_OFF;
    h.python_version = 0x030B04F0; /* 3.11.4 final */
    h.max_depth = 128;
    h.trace_id = "run-1";
    h.parent_trace = "";
    return h;
}

static uint32_t native_frame(spt_writer *w, const char *fn, const char *file, uint32_t line,
                             uint64_t address, uint32_t mapping) {
    spt_frame f;
    memset(&f, 0, sizeof f);
    f.kind = SPT_FRAME_NATIVE;
    f.function = spt_writer_cstring(w, fn);
    f.file = spt_writer_cstring(w, file);
    f.line = line;
    f.address = address;
    f.mapping = mapping;
    return spt_writer_frame(w, &f);
}

static uint32_t mapping(spt_writer *w, const char *path, uint64_t start, uint64_t end,
                        uint64_t file_offset) {
    spt_mapping m;
    memset(&m, 0, sizeof m);
    m.start = start;
    m.end = end;
    m.file_offset = file_offset;
    m.path = spt_writer_cstring(w, path);
    return spt_writer_mapping(w, &m);
}

/* The known trace. Stacks, outermost first, and what each carries:
 *
 *   S1 main > compute > leaf_a          thread 1: 30 samples of weight 1, 5 of weight 2
 *   S2 main > compute > leaf_b          thread 1: 20
 *   S3 main > fib@43 > fib@43 > fib@45  thread 1: 15   (recursion: fib counted once)
 *   S4 main > fib@45                    thread 1: 5
 *   S5 main > helper (demo.c)           thread 1: 6    (two statics named helper)
 *   S6 main > helper (util.c)           thread 1: 4
 *   S7 main > compute > [libc+0x2234]   thread 1: 3    (no symbol: module+offset)
 *   S8 main                             thread 1: 2
 *   S9 Worker.run (Python) > leaf_a     thread 2: 10
 *
 * 100 samples of weight 105. leaf_a, leaf_b, compute, main and the fibs live in demo.c except
 * leaf_b (util.c); all native frames but the libc one are in /usr/bin/demo. */
int tu_write_known_trace(const char *path, tu_end end, size_t chunk_bytes) {
    spt_header h = tu_header();
    spt_writer_options o;
    memset(&o, 0, sizeof o);
    o.chunk_bytes = chunk_bytes;
    spt_writer *w = NULL;
    spt_status st = spt_writer_open(path, &h, &o, &w);
    if (st != SPT_OK) {
        fprintf(stderr, "writer open: %s\n", w ? spt_writer_error(w) : spt_status_name(st));
        spt_writer_close(w, NULL);
        return -1;
    }
    uint32_t demo = mapping(w, "/usr/bin/demo", 0x400000, 0x500000, 0);
    uint32_t libc =
        mapping(w, "/lib/x86_64-linux-gnu/libc.so.6", 0x7f0000000000ull, 0x7f0000200000ull, 0x1000);
    uint32_t main_f = native_frame(w, "main", "demo.c", 10, 0x401010, demo);
    uint32_t compute = native_frame(w, "compute", "demo.c", 20, 0x401020, demo);
    uint32_t leaf_a = native_frame(w, "leaf_a", "demo.c", 30, 0x401030, demo);
    uint32_t leaf_b = native_frame(w, "leaf_b", "util.c", 5, 0x401105, demo);
    uint32_t fib43 = native_frame(w, "fib", "demo.c", 43, 0x401043, demo);
    uint32_t fib45 = native_frame(w, "fib", "demo.c", 45, 0x401045, demo);
    uint32_t helper_demo = native_frame(w, "helper", "demo.c", 50, 0x401050, demo);
    uint32_t helper_util = native_frame(w, "helper", "util.c", 60, 0x401160, demo);
    uint32_t anon = native_frame(w, NULL, NULL, 0, 0x7f0000001234ull, libc);
    spt_frame py;
    memset(&py, 0, sizeof py);
    py.kind = SPT_FRAME_PYTHON;
    py.function = spt_writer_cstring(w, "Worker.run");
    py.file = spt_writer_cstring(w, "/app/worker.py");
    py.line = 12;
    py.first_line = 10;
    py.code_id = 0x7000;
    uint32_t run = spt_writer_frame(w, &py);

    const uint32_t p1[] = {main_f, compute, leaf_a};
    const uint32_t p2[] = {main_f, compute, leaf_b};
    const uint32_t p3[] = {main_f, fib43, fib43, fib45};
    const uint32_t p4[] = {main_f, fib45};
    const uint32_t p5[] = {main_f, helper_demo};
    const uint32_t p6[] = {main_f, helper_util};
    const uint32_t p7[] = {main_f, compute, anon};
    const uint32_t p8[] = {main_f};
    const uint32_t p9[] = {run, leaf_a};
    uint32_t s1 = spt_writer_stack_path(w, p1, 3), s2 = spt_writer_stack_path(w, p2, 3);
    uint32_t s3 = spt_writer_stack_path(w, p3, 4), s4 = spt_writer_stack_path(w, p4, 2);
    uint32_t s5 = spt_writer_stack_path(w, p5, 2), s6 = spt_writer_stack_path(w, p6, 2);
    uint32_t s7 = spt_writer_stack_path(w, p7, 3), s8 = spt_writer_stack_path(w, p8, 1);
    uint32_t s9 = spt_writer_stack_path(w, p9, 2);

    uint32_t t1 = spt_writer_thread(w, 1000, spt_writer_cstring(w, "main"), 0);
    uint32_t t2 = spt_writer_thread(w, 1001, spt_writer_cstring(w, "worker"), 100000000);
    spt_writer_metadata(w, 0, spt_writer_cstring(w, "python.executable"),
                        spt_writer_cstring(w, "/usr/bin/python3"));
    spt_writer_marker(w, t1, 0, spt_writer_cstring(w, "phase one"));

    const struct {
        uint32_t stack, thread, n;
        uint64_t weight;
    } plan[] = {{s1, t1, 30, 1}, {s1, t1, 5, 2}, {s2, t1, 20, 1}, {s3, t1, 15, 1}, {s4, t1, 5, 1},
                {s5, t1, 6, 1},  {s6, t1, 4, 1}, {s7, t1, 3, 1},  {s8, t1, 2, 1},  {s9, t2, 10, 1}};
    uint64_t time_ns = 0;
    for (size_t i = 0; i < sizeof plan / sizeof plan[0]; i++) {
        for (uint32_t k = 0; k < plan[i].n; k++) {
            if (time_ns == 500000000)
                spt_writer_marker(w, 0, time_ns, spt_writer_cstring(w, "phase two"));
            spt_writer_sample(w, plan[i].thread, time_ns, plan[i].stack, plan[i].weight, 0);
            time_ns += 10000000;
        }
        /* A flush per group, as the recorder flushes every second: each group ends a checked
         * segment, so a truncated copy of the file keeps the groups before the cut. */
        spt_writer_flush(w);
    }
    spt_writer_thread_end(w, t2, 995000000);
    spt_writer_drops(w, 996000000, SPT_DROP_RING_FULL, 7);

    spt_end e;
    memset(&e, 0, sizeof e);
    e.reason = SPT_END_EXIT;
    e.status = 0;
    e.duration_ns = 2000000000;
    e.dropped_samples = 7;
    e.recorder_cpu_ns = 12000000;
    e.process_cpu_ns = 1500000000;
    st = spt_writer_close(w, end == TU_END_CLEAN ? &e : NULL);
    if (st != SPT_OK) {
        /* The writer is gone; its status is all that is left to report. */
        fprintf(stderr, "%s: writing the known trace failed: %s\n", path, spt_status_name(st));
        return -1;
    }
    return 0;
}

/* Interns "a;b;c" as a stack of native frames in prog.c (line = 10 x position + 1). */
static uint32_t stack_of(spt_writer *w, uint32_t map, const char *spec) {
    uint32_t frames[64];
    size_t n = 0;
    const char *p = spec;
    while (*p && n < 64) {
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        spt_frame f;
        memset(&f, 0, sizeof f);
        f.kind = SPT_FRAME_NATIVE;
        f.function = spt_writer_string(w, p, len);
        f.file = spt_writer_cstring(w, "prog.c");
        f.line = (uint32_t)(10 * n + 1);
        f.address = 0x400000 + 16 * (uint64_t)f.function;
        f.mapping = map;
        frames[n++] = spt_writer_frame(w, &f);
        p = end ? end + 1 : p + len;
    }
    return spt_writer_stack_path(w, frames, n);
}

static spt_writer *open_plain(const char *path, const spt_header *h) {
    spt_writer *w = NULL;
    spt_status st = spt_writer_open(path, h, NULL, &w);
    if (st != SPT_OK) {
        fprintf(stderr, "writer open: %s\n", w ? spt_writer_error(w) : spt_status_name(st));
        spt_writer_close(w, NULL);
        return NULL;
    }
    return w;
}

static int close_clean(spt_writer *w, const char *path, uint64_t duration_ns) {
    spt_end e;
    memset(&e, 0, sizeof e);
    e.reason = SPT_END_EXIT;
    e.duration_ns = duration_ns;
    spt_status st = spt_writer_close(w, &e);
    if (st != SPT_OK)
        fprintf(stderr, "%s: writing failed: %s\n", path, spt_status_name(st));
    return st == SPT_OK ? 0 : -1;
}

int tu_write_samples(const char *path, spt_clock clock, const tu_samples *groups, size_t n,
                     uint64_t duration_ns) {
    spt_header h = tu_header();
    h.clock = clock;
    h.python_version = 0;
    h.executable = "/usr/bin/prog";
    return tu_write_samples_h(path, &h, groups, n, duration_ns);
}

int tu_write_diff_pair(const char *before, const char *after) {
    const tu_samples b[] = {{"main;hot_a", 1, 600, 1, 0, 0},
                            {"main;hot_b", 1, 100, 1, 0, 0},
                            {"main", 1, 300, 1, 0, 0},
                            {"main;x", 2, 15, 1, 0, 0}};
    const tu_samples a[] = {{"main;hot_a", 1, 100, 1, 0, 0},
                            {"main;hot_b", 1, 600, 1, 0, 0},
                            {"main", 1, 300, 1, 0, 0},
                            {"main;x", 2, 17, 1, 0, 0}};
    spt_header h = tu_header();
    h.python_version = 0;
    h.executable = "/usr/bin/prog";
    if (tu_write_samples_h(before, &h, b, 4, 10000000000ull))
        return -1;
    h.start_wall_ns += 3000000000ull;
    h.start_mono_ns += 3000000000ull;
    return tu_write_samples_h(after, &h, a, 4, 10000000000ull);
}

int tu_write_samples_h(const char *path, const spt_header *hp, const tu_samples *groups, size_t n,
                       uint64_t duration_ns) {
    spt_header h = *hp;
    spt_writer *w = open_plain(path, &h);
    if (!w)
        return -1;
    uint32_t map = mapping(w, "/usr/bin/prog", 0x400000, 0x500000, 0);
    uint32_t threads[3] = {0, spt_writer_thread(w, 2001, spt_writer_cstring(w, "main"), 0),
                           spt_writer_thread(w, 2002, spt_writer_cstring(w, "worker"), 0)};
    for (size_t i = 0; i < n; i++) {
        uint32_t stack = stack_of(w, map, groups[i].stack);
        uint32_t t = groups[i].thread <= 2 ? threads[groups[i].thread] : 0;
        for (uint64_t k = 0; k < groups[i].count; k++)
            spt_writer_sample(w, t, groups[i].time_ns + k * 10000000, stack, groups[i].weight,
                              groups[i].flags);
        spt_writer_flush(w);
    }
    return close_clean(w, path, duration_ns);
}

/* The known heap trace. Stacks, outermost first:
 *
 *   A main > load_config > malloc
 *   B main > parse > make_buffer > malloc
 *   C main > cache_put > malloc           (thread "cache"; the others on "main")
 *
 *    0 ms  A alloc 0x1000  100     live  100
 *   10 ms  B alloc 0x2000 1000           1100
 *   20 ms  B alloc 0x3000 1000           2100
 *   30 ms  C alloc 0x4000  500           2600
 *   40 ms  free 0x2000                   1600
 *   50 ms  B alloc 0x5000 2000           3600   the peak: B 3000 in 2, C 500, A 100
 *   60 ms  free 0x3000                   2600
 *   70 ms  free 0x5000                    600
 *   80 ms  C alloc 0x6000  300            900   live at the end: C 800 in 2, A 100 in 1
 *   90 ms  free 0x9999 (never allocated: ignored)
 *
 * Allocated in all: A 100 in 1, B 4000 in 3, C 800 in 2: 4900 bytes in 6 allocations. The
 * thread "main" also takes 10 CPU samples of main > parse, so the trace has both kinds. */
int tu_write_heap_trace(const char *path, int sampled) {
    spt_header h = tu_header();
    h.python_version = 0;
    h.alloc_mode = sampled ? SPT_ALLOC_SAMPLED : SPT_ALLOC_ALL;
    h.alloc_sample_bytes = sampled ? 512 : 0;
    spt_writer *w = open_plain(path, &h);
    if (!w)
        return -1;
    uint32_t map = mapping(w, "/usr/bin/demo", 0x400000, 0x500000, 0);
    uint32_t a = stack_of(w, map, "main;load_config;malloc");
    uint32_t b = stack_of(w, map, "main;parse;make_buffer;malloc");
    uint32_t c = stack_of(w, map, "main;cache_put;malloc");
    uint32_t cpu = stack_of(w, map, "main;parse");
    uint32_t t1 = spt_writer_thread(w, 3001, spt_writer_cstring(w, "main"), 0);
    uint32_t t2 = spt_writer_thread(w, 3002, spt_writer_cstring(w, "cache"), 0);
    const struct {
        uint64_t ms;
        uint32_t stack, thread;
        uint64_t address, size; /* size 0: a free */
    } plan[] = {
        {0, a, t1, 0x1000, 100},  {10, b, t1, 0x2000, 1000}, {20, b, t1, 0x3000, 1000},
        {30, c, t2, 0x4000, 500}, {40, 0, t1, 0x2000, 0},    {50, b, t1, 0x5000, 2000},
        {60, 0, t1, 0x3000, 0},   {70, 0, t1, 0x5000, 0},    {80, c, t2, 0x6000, 300},
        {90, 0, t2, 0x9999, 0},
    };
    for (size_t i = 0; i < sizeof plan / sizeof plan[0]; i++) {
        uint64_t t = plan[i].ms * 1000000;
        if (plan[i].size)
            spt_writer_alloc(w, plan[i].thread, t, plan[i].address, plan[i].size,
                             sampled ? 4 * plan[i].size : plan[i].size, plan[i].stack);
        else
            spt_writer_free(w, plan[i].thread, t, plan[i].address);
        spt_writer_sample(w, t1, t + 5000000, cpu, 1, 0);
    }
    return close_clean(w, path, 100000000);
}

char *tu_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n + 1 >= cap) {
            char *p = realloc(buf, cap * 2);
            if (!p) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = p;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        if (len)
            *len = n;
    }
    return buf;
}

int tu_write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t put = fwrite(data, 1, len, f);
    return (fclose(f) == 0 && put == len) ? 0 : -1;
}

int tu_run(char *const argv[], tu_run_result *res) {
    static unsigned counter;
    char name[64], out_path[4200], err_path[4200];
    memset(res, 0, sizeof *res);
    snprintf(name, sizeof name, "run.%u.out", counter);
    snprintf(out_path, sizeof out_path, "%s", tu_tmp_path(name));
    snprintf(name, sizeof name, "run.%u.err", counter++);
    snprintf(err_path, sizeof err_path, "%s", tu_tmp_path(name));

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    char *envp[] = {"TZ=UTC", NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(rc));
        return -1;
    }
    int wstatus;
    while (waitpid(pid, &wstatus, 0) < 0) {
        if (errno != EINTR)
            return -1;
    }
    res->status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
    res->out = tu_read_file(out_path, &res->out_len);
    res->err = tu_read_file(err_path, &res->err_len);
    if (!res->out || !res->err) {
        tu_run_free(res);
        return -1;
    }
    return 0;
}

void tu_run_free(tu_run_result *res) {
    free(res->out);
    free(res->err);
    memset(res, 0, sizeof *res);
}

int tu_runv(const char *bin, tu_run_result *res, ...) {
    char *argv[32];
    int n = 0;
    argv[n++] = (char *)bin;
    va_list ap;
    va_start(ap, res);
    for (char *a; n < 31 && (a = va_arg(ap, char *)) != NULL;)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    return tu_run(argv, res);
}

int tu_runfile(const char *rel, char *out, size_t size) {
    const char *srcdir = getenv("TEST_SRCDIR");
    const char *ws = getenv("TEST_WORKSPACE");
    char path[PATH_MAX + 256], resolved[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s/%s", srcdir ? srcdir : ".", ws ? ws : "spprof", rel);
    if (!realpath(path, resolved)) {
        fprintf(stderr, "cannot find %s\n", path);
        return -1;
    }
    snprintf(out, size, "%s", resolved);
    return 0;
}

/* A copy of text with the lines that start with a mask prefix replaced by "prefix<masked>". */
static char *masked(const char *text, size_t len, const char *const *masks, size_t *out_len) {
    char *out = malloc(len + 1);
    size_t o = 0;
    if (!out)
        return NULL;
    for (size_t i = 0; i < len;) {
        const char *line = text + i;
        const char *nl = memchr(line, '\n', len - i);
        size_t line_len = nl ? (size_t)(nl - line) + 1 : len - i;
        const char *hit = NULL;
        for (size_t k = 0; masks && masks[k] && !hit; k++) {
            if (strlen(masks[k]) <= line_len && memcmp(line, masks[k], strlen(masks[k])) == 0)
                hit = masks[k];
        }
        if (hit) {
            char *p = realloc(out, o + (len - i) + strlen(hit) + 16);
            if (!p) {
                free(out);
                return NULL;
            }
            out = p;
            o += (size_t)sprintf(out + o, "%s<masked>\n", hit);
        } else {
            memcpy(out + o, line, line_len);
            o += line_len;
        }
        i += line_len;
    }
    out[o] = '\0';
    *out_len = o;
    return out;
}

int tu_golden_equal(const char *dir, const char *name, const char *out, size_t len,
                    const char *const *masks) {
    char path[PATH_MAX + 256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    size_t want_len = 0, got_len = 0;
    char *want = tu_read_file(path, &want_len);
    char *want_m = want ? masked(want, want_len, masks, &want_len) : NULL;
    char *got = masked(out, len, masks, &got_len);
    int same = want_m && got && want_len == got_len && memcmp(want_m, got, got_len) == 0;
    if (!same) {
        const char *outdir = getenv("TEST_UNDECLARED_OUTPUTS_DIR");
        snprintf(path, sizeof path, "%s/%s", outdir ? outdir : "/tmp", name);
        if (got)
            tu_write_file(path, got, got_len);
        fprintf(stderr, "  %s differs; actual output written to %s:\n%s", name, path,
                got ? got : "");
    }
    free(want);
    free(want_m);
    free(got);
    return same;
}

size_t tu_count_lines(const char *s) {
    size_t n = 0;
    for (; s && *s; s++)
        n += *s == '\n';
    return n;
}

/* ---------------------------------------------------------------------------------------------
 * JSON.
 * ------------------------------------------------------------------------------------------- */
typedef enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ } j_kind;

struct tu_json {
    j_kind kind;
    double num;
    char *str;       /* J_STR value */
    char **keys;     /* J_OBJ member names */
    tu_json **items; /* J_ARR elements, J_OBJ values */
    size_t n;
};

typedef struct {
    const char *p;
    int depth;
} j_parser;

static void skip_ws(j_parser *ps) {
    while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')
        ps->p++;
}

static void put_utf8(char *out, size_t *o, unsigned cp) {
    if (cp < 0x80) {
        out[(*o)++] = (char)cp;
    } else if (cp < 0x800) {
        out[(*o)++] = (char)(0xC0 | (cp >> 6));
        out[(*o)++] = (char)(0x80 | (cp & 0x3F));
    } else {
        out[(*o)++] = (char)(0xE0 | (cp >> 12));
        out[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[(*o)++] = (char)(0x80 | (cp & 0x3F));
    }
}

/* Parses a string at ps->p (on the opening quote); returns a heap copy or NULL. Surrogate pairs
 * are not combined: the analyzer never emits them. */
static char *parse_string(j_parser *ps) {
    if (*ps->p != '"')
        return NULL;
    const char *start = ++ps->p;
    size_t cap = 1;
    for (const char *q = start; *q && *q != '"'; q++)
        cap += (*q == '\\' && q[1]) ? (q++, 4) : 1;
    char *out = malloc(cap + 4);
    if (!out)
        return NULL;
    size_t o = 0;
    for (;;) {
        unsigned char c = (unsigned char)*ps->p;
        if (c == '\0' || c < 0x20) {
            free(out);
            return NULL;
        }
        ps->p++;
        if (c == '"')
            break;
        if (c != '\\') {
            out[o++] = (char)c;
            continue;
        }
        char esc = *ps->p++;
        switch (esc) {
        case '"':
        case '\\':
        case '/':
            out[o++] = esc;
            break;
        case 'b':
            out[o++] = '\b';
            break;
        case 'f':
            out[o++] = '\f';
            break;
        case 'n':
            out[o++] = '\n';
            break;
        case 'r':
            out[o++] = '\r';
            break;
        case 't':
            out[o++] = '\t';
            break;
        case 'u': {
            unsigned cp = 0;
            for (int i = 0; i < 4; i++) {
                char h = *ps->p++;
                unsigned d = (h >= '0' && h <= '9')   ? (unsigned)(h - '0')
                             : (h >= 'a' && h <= 'f') ? (unsigned)(h - 'a' + 10)
                             : (h >= 'A' && h <= 'F') ? (unsigned)(h - 'A' + 10)
                                                      : 16u;
                if (d == 16) {
                    free(out);
                    return NULL;
                }
                cp = cp * 16 + d;
            }
            put_utf8(out, &o, cp);
            break;
        }
        default:
            free(out);
            return NULL;
        }
    }
    out[o] = '\0';
    return out;
}

static tu_json *parse_value(j_parser *ps);

static int push_item(tu_json *v, char *key, tu_json *item) {
    tu_json **items = realloc(v->items, (v->n + 1) * sizeof *items);
    if (!items)
        return -1;
    v->items = items;
    if (v->kind == J_OBJ) {
        char **keys = realloc(v->keys, (v->n + 1) * sizeof *keys);
        if (!keys)
            return -1;
        v->keys = keys;
        v->keys[v->n] = key;
    }
    v->items[v->n++] = item;
    return 0;
}

static tu_json *parse_container(j_parser *ps, tu_json *v, char close) {
    ps->p++;
    skip_ws(ps);
    if (*ps->p == close) {
        ps->p++;
        return v;
    }
    for (;;) {
        skip_ws(ps);
        char *key = NULL;
        if (v->kind == J_OBJ) {
            key = parse_string(ps);
            skip_ws(ps);
            if (!key || *ps->p != ':') {
                free(key);
                tu_json_free(v);
                return NULL;
            }
            ps->p++;
        }
        tu_json *item = parse_value(ps);
        if (!item || push_item(v, key, item)) {
            free(key);
            tu_json_free(item);
            tu_json_free(v);
            return NULL;
        }
        skip_ws(ps);
        if (*ps->p == ',') {
            ps->p++;
            continue;
        }
        if (*ps->p == close) {
            ps->p++;
            return v;
        }
        tu_json_free(v);
        return NULL;
    }
}

static tu_json *parse_value(j_parser *ps) {
    skip_ws(ps);
    if (++ps->depth > 64)
        return NULL;
    tu_json *v = calloc(1, sizeof *v);
    if (!v)
        return NULL;
    const char *p = ps->p;
    if (*p == '{') {
        v->kind = J_OBJ;
        v = parse_container(ps, v, '}');
    } else if (*p == '[') {
        v->kind = J_ARR;
        v = parse_container(ps, v, ']');
    } else if (*p == '"') {
        v->kind = J_STR;
        v->str = parse_string(ps);
        if (!v->str) {
            free(v);
            v = NULL;
        }
    } else if (strncmp(p, "null", 4) == 0) {
        v->kind = J_NULL;
        ps->p += 4;
    } else if (strncmp(p, "true", 4) == 0 || strncmp(p, "false", 5) == 0) {
        v->kind = J_BOOL;
        v->num = *p == 't';
        ps->p += *p == 't' ? 4 : 5;
    } else if (*p == '-' || (*p >= '0' && *p <= '9')) {
        char *end;
        v->kind = J_NUM;
        v->num = strtod(p, &end);
        ps->p = end;
    } else {
        free(v);
        v = NULL;
    }
    ps->depth--;
    return v;
}

tu_json *tu_json_parse(const char *text) {
    j_parser ps = {text, 0};
    tu_json *v = parse_value(&ps);
    skip_ws(&ps);
    if (v && *ps.p != '\0') {
        tu_json_free(v);
        return NULL;
    }
    return v;
}

void tu_json_free(tu_json *v) {
    if (!v)
        return;
    for (size_t i = 0; i < v->n; i++) {
        tu_json_free(v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->str);
    free(v);
}

const tu_json *tu_json_get(const tu_json *obj, const char *key) {
    if (!obj || obj->kind != J_OBJ)
        return NULL;
    for (size_t i = 0; i < obj->n; i++) {
        if (strcmp(obj->keys[i], key) == 0)
            return obj->items[i];
    }
    return NULL;
}

const tu_json *tu_json_at(const tu_json *arr, size_t i) {
    return arr && arr->kind == J_ARR && i < arr->n ? arr->items[i] : NULL;
}

size_t tu_json_len(const tu_json *v) {
    return v && (v->kind == J_ARR || v->kind == J_OBJ) ? v->n : 0;
}

double tu_json_num(const tu_json *v) {
    return v && v->kind == J_NUM ? v->num : -1;
}

const char *tu_json_str(const tu_json *v) {
    return v && v->kind == J_STR ? v->str : NULL;
}

int tu_json_is_null(const tu_json *v) {
    return v && v->kind == J_NULL;
}

int tu_json_is_true(const tu_json *v) {
    return v && v->kind == J_BOOL && v->num != 0;
}

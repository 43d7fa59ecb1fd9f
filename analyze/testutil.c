/* testutil.c: the traces of known content that analyze's and convert's tests compute their exact
 * numbers from (testutil.h): the known trace, sample groups, the diff pair and the heap trace. */
#include "analyze/testutil.h"

#include <string.h>

#include "tests/tracekit.h"

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
    spt_writer *w = tk_open_writer(path, &h, &o);
    if (!w)
        return -1;
    uint32_t demo = tk_mapping(w, "/usr/bin/demo", 0x400000, 0x500000, 0);
    uint32_t libc = tk_mapping(w, "/lib/x86_64-linux-gnu/libc.so.6", 0x7f0000000000ull,
                               0x7f0000200000ull, 0x1000);
    uint32_t main_f = tk_native_frame(w, "main", "demo.c", 10, 0x401010, demo);
    uint32_t compute = tk_native_frame(w, "compute", "demo.c", 20, 0x401020, demo);
    uint32_t leaf_a = tk_native_frame(w, "leaf_a", "demo.c", 30, 0x401030, demo);
    uint32_t leaf_b = tk_native_frame(w, "leaf_b", "util.c", 5, 0x401105, demo);
    uint32_t fib43 = tk_native_frame(w, "fib", "demo.c", 43, 0x401043, demo);
    uint32_t fib45 = tk_native_frame(w, "fib", "demo.c", 45, 0x401045, demo);
    uint32_t helper_demo = tk_native_frame(w, "helper", "demo.c", 50, 0x401050, demo);
    uint32_t helper_util = tk_native_frame(w, "helper", "util.c", 60, 0x401160, demo);
    uint32_t anon = tk_native_frame(w, NULL, NULL, 0, 0x7f0000001234ull, libc);
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
    return tk_close_writer(w, end == TU_END_CLEAN ? &e : NULL);
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
    spt_writer *w = tk_open_writer(path, &h, NULL);
    if (!w)
        return -1;
    uint32_t map = tk_mapping(w, "/usr/bin/prog", 0x400000, 0x500000, 0);
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
    return tk_close_exited(w, duration_ns);
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
    spt_writer *w = tk_open_writer(path, &h, NULL);
    if (!w)
        return -1;
    uint32_t map = tk_mapping(w, "/usr/bin/demo", 0x400000, 0x500000, 0);
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
    return tk_close_exited(w, 100000000);
}

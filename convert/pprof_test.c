/* pprof_test.c: `-f pprof` on traces of known content, gunzipped and decoded by a protobuf reader
 * written from profile.proto: string_table[0] = "", nonzero unique ids, sample types, values
 * summing to the trace's totals per thread label, locations leaf first with caller addresses
 * moved into the call, inlined calls as extra lines, functions with files and lines, mappings
 * with their flags, the period, times and comments; allocations; filters. */
#define _XOPEN_SOURCE 700
#include "analyze/testutil.h"
#include "convert/testlib.h"
#include "tests/check.h"

#include <stdlib.h>
#include <string.h>

static int read_profile(const char *out, ct_profile *p, const char *trace, const char *a1,
                        const char *a2) {
    char *text;
    size_t len;
    memset(p, 0, sizeof *p);
    if (ct_export(out, &text, &len, trace, "-f", "pprof", "-o", out, a1, a2, NULL))
        return -1;
    free(text);
    return ct_pprof_read(out, p);
}

static int64_t sum_type(const ct_profile *p, const char *type) {
    int k = ct_pprof_type(p, type);
    int64_t sum = 0;
    for (size_t i = 0; k >= 0 && i < p->n_samples; i++)
        sum += p->samples[i].values[k];
    return k >= 0 ? sum : -1;
}

/* The function name of a location's first (innermost) line, or "" when it has none. */
static const char *leaf_name(const ct_profile *p, uint64_t location) {
    const ct_location *l = ct_pprof_location(p, location);
    if (!l || l->n_lines == 0)
        return "";
    const ct_function *f = ct_pprof_function(p, l->function[0]);
    return f ? ct_pprof_str(p, f->name) : "<no function>";
}

/* Sum of type over samples whose innermost location's function is `name` (self). */
static int64_t self_of(const ct_profile *p, const char *name, const char *type) {
    int k = ct_pprof_type(p, type);
    int64_t sum = 0;
    for (size_t i = 0; k >= 0 && i < p->n_samples; i++) {
        const ct_sample *s = &p->samples[i];
        if (s->n_locations && strcmp(leaf_name(p, s->locations[0]), name) == 0)
            sum += s->values[k];
    }
    return sum;
}

/* The value of a sample's label `key` (string or number), as text. */
static const char *label_of(const ct_profile *p, const ct_sample *s, const char *key,
                            int64_t *num) {
    for (size_t i = 0; i < s->n_labels; i++) {
        if (strcmp(ct_pprof_str(p, s->label_key[i]), key) == 0) {
            if (num)
                *num = s->label_num[i];
            return ct_pprof_str(p, s->label_str[i]);
        }
    }
    return NULL;
}

static int ids_valid(const ct_profile *p) {
    int ok = p->n_strings > 0 && p->string_lens[0] == 0;
    for (size_t i = 0; i < p->n_locations; i++) {
        ok &= p->locations[i].id == i + 1; /* nonzero and unique */
        for (size_t k = 0; k < p->locations[i].n_lines; k++)
            ok &= ct_pprof_function(p, p->locations[i].function[k]) != NULL;
        ok &= p->locations[i].mapping_id <= p->n_mappings;
    }
    for (size_t i = 0; i < p->n_functions; i++)
        ok &= p->functions[i].id == i + 1 && (size_t)p->functions[i].name < p->n_strings &&
              (size_t)p->functions[i].filename < p->n_strings;
    for (size_t i = 0; i < p->n_mappings; i++)
        ok &= p->mappings[i].id == i + 1;
    for (size_t i = 0; i < p->n_samples; i++) {
        ok &= p->samples[i].n_values == p->n_types;
        for (size_t k = 0; k < p->samples[i].n_locations; k++)
            ok &= ct_pprof_location(p, p->samples[i].locations[k]) != NULL;
    }
    return ok;
}

static const ct_location *location_at(const ct_profile *p, uint64_t address) {
    for (size_t i = 0; i < p->n_locations; i++) {
        if (p->locations[i].address == address)
            return &p->locations[i];
    }
    return NULL;
}

static void test_known(void) {
    ct_profile p;
    if (read_profile("known.pb.gz", &p, "known.sptrace", NULL, NULL)) {
        CHECK("known trace exports and decodes as pprof", 0);
        ct_pprof_free(&p);
        return;
    }
    CHECK("the file is gzip-compressed", p.gzip);
    CHECK("ids are nonzero and unique, references resolve, string_table[0] is \"\"", ids_valid(&p));
    CHECK_EQ_U64("two sample types", p.n_types, 2);
    CHECK("samples/count then cpu/nanoseconds",
          strcmp(ct_pprof_str(&p, p.types[0][0]), "samples") == 0 &&
              strcmp(ct_pprof_str(&p, p.types[0][1]), "count") == 0 &&
              strcmp(ct_pprof_str(&p, p.types[1][0]), "cpu") == 0 &&
              strcmp(ct_pprof_str(&p, p.types[1][1]), "nanoseconds") == 0);
    CHECK("the default sample type is cpu",
          strcmp(ct_pprof_str(&p, p.default_sample_type), "cpu") == 0);
    CHECK("period: cpu nanoseconds, 10 ms",
          strcmp(ct_pprof_str(&p, p.period_type[0]), "cpu") == 0 && p.period == 10000000);
    CHECK_EQ_U64("time_nanos is the wall-clock start", (uint64_t)p.time_nanos,
                 1700000000123456789ull);
    CHECK_EQ_U64("duration_nanos is the recording's", (uint64_t)p.duration_nanos, 2000000000);
    CHECK("comments: the recorder and the command",
          p.n_comments == 2 &&
              strcmp(ct_pprof_str(&p, p.comments[0]), "recorded by spprof 0.1.0") == 0 &&
              strcmp(ct_pprof_str(&p, p.comments[1]), "command: /usr/bin/demo --fast it's") == 0);
    CHECK_EQ_U64("one sample per (thread, stack)", p.n_samples, 9);
    CHECK_EQ_U64("100 samples in all", (uint64_t)sum_type(&p, "samples"), 100);
    CHECK_EQ_U64("1.05 s of CPU time in all", (uint64_t)sum_type(&p, "cpu"), 1050000000);
    CHECK_EQ_U64("leaf_a: 500 ms self, both threads", (uint64_t)self_of(&p, "leaf_a", "cpu"),
                 500000000);
    CHECK_EQ_U64("fib: 200 ms self", (uint64_t)self_of(&p, "fib", "cpu"), 200000000);
    CHECK_EQ_U64("helper: 100 ms self in two functions", (uint64_t)self_of(&p, "helper", "cpu"),
                 100000000);
    CHECK_EQ_U64("main: 20 ms self", (uint64_t)self_of(&p, "main", "cpu"), 20000000);
    CHECK_EQ_U64("the unnamed libc frame: a location without lines, 30 ms",
                 (uint64_t)self_of(&p, "", "cpu"), 30000000);

    int64_t main_cpu = 0, worker_cpu = 0;
    int labelled = 1;
    for (size_t i = 0; i < p.n_samples; i++) {
        int64_t tid = 0;
        const char *name = label_of(&p, &p.samples[i], "thread", NULL);
        label_of(&p, &p.samples[i], "thread_id", &tid);
        labelled &= name != NULL;
        if (name && strcmp(name, "main") == 0 && tid == 1000)
            main_cpu += p.samples[i].values[1];
        else if (name && strcmp(name, "worker") == 0 && tid == 1001)
            worker_cpu += p.samples[i].values[1];
    }
    CHECK("every sample carries its thread as labels", labelled);
    CHECK_EQ_U64("thread main (1000): 950 ms", (uint64_t)main_cpu, 950000000);
    CHECK_EQ_U64("thread worker (1001): 100 ms", (uint64_t)worker_cpu, 100000000);

    CHECK_EQ_U64("one location per physical frame and leafness", p.n_locations, 11);
    CHECK("a leaf location keeps the sampled address", location_at(&p, 0x401030) != NULL);
    CHECK("a caller's return address moves back into the call",
          location_at(&p, 0x40101f) && location_at(&p, 0x40100f) && !location_at(&p, 0x401020));
    CHECK("main as a leaf keeps its address", location_at(&p, 0x401010) != NULL);
    const ct_location *l = location_at(&p, 0x401030);
    const ct_function *f = l && l->n_lines ? ct_pprof_function(&p, l->function[0]) : NULL;
    CHECK("leaf_a: function, file and line",
          f && strcmp(ct_pprof_str(&p, f->name), "leaf_a") == 0 &&
              strcmp(ct_pprof_str(&p, f->system_name), "leaf_a") == 0 &&
              strcmp(ct_pprof_str(&p, f->filename), "demo.c") == 0 && l->line[0] == 30);
    l = location_at(&p, 0x7f0000001233);
    CHECK("the libc frame as a caller does not exist; as a leaf it has no line",
          !l && location_at(&p, 0x7f0000001234) && location_at(&p, 0x7f0000001234)->n_lines == 0);

    const ct_location *py = NULL;
    for (size_t i = 0; i < p.n_locations; i++) {
        if (strcmp(leaf_name(&p, p.locations[i].id), "Worker.run") == 0)
            py = &p.locations[i];
    }
    f = py && py->n_lines ? ct_pprof_function(&p, py->function[0]) : NULL;
    CHECK("the Python frame: no address, no mapping, its line",
          py && py->address == 0 && py->mapping_id == 0 && py->line[0] == 12);
    CHECK("the Python function: file and first line",
          f && strcmp(ct_pprof_str(&p, f->filename), "/app/worker.py") == 0 && f->start_line == 10);
    int fibs = 0;
    for (size_t i = 0; i < p.n_functions; i++)
        fibs += strcmp(ct_pprof_str(&p, p.functions[i].name), "fib") == 0;
    CHECK_EQ_U64("fib at two lines is one function", fibs, 1);
    CHECK_EQ_U64("functions: one per name and file", p.n_functions, 8);

    CHECK_EQ_U64("two mappings", p.n_mappings, 2);
    const ct_mapping *demo = &p.mappings[0], *libc = &p.mappings[1];
    CHECK("the program's mapping: path, range, offset, all symbolized",
          strcmp(ct_pprof_str(&p, demo->filename), "/usr/bin/demo") == 0 &&
              demo->start == 0x400000 && demo->limit == 0x500000 && demo->offset == 0 &&
              demo->has_functions && demo->has_filenames && demo->has_line_numbers);
    CHECK("libc's mapping: its file offset, not symbolized",
          strcmp(ct_pprof_str(&p, libc->filename), "/lib/x86_64-linux-gnu/libc.so.6") == 0 &&
              libc->offset == 0x1000 && !libc->has_functions && !libc->has_line_numbers);
    ct_pprof_free(&p);
}

static void test_allocations(void) {
    ct_profile p;
    int rc = read_profile("heap.pb.gz", &p, "heap.sptrace", NULL, NULL);
    CHECK("heap trace decodes", rc == 0 && ids_valid(&p));
    CHECK_EQ_U64("samples, cpu and four allocation types", p.n_types, 6);
    CHECK("the Go heap profile's names",
          ct_pprof_type(&p, "alloc_objects") == 2 && ct_pprof_type(&p, "alloc_space") == 3 &&
              ct_pprof_type(&p, "inuse_objects") == 4 && ct_pprof_type(&p, "inuse_space") == 5);
    CHECK("alloc_space is in bytes", strcmp(ct_pprof_str(&p, p.types[3][1]), "bytes") == 0);
    CHECK_EQ_U64("6 allocations", (uint64_t)sum_type(&p, "alloc_objects"), 6);
    CHECK_EQ_U64("4,900 bytes allocated", (uint64_t)sum_type(&p, "alloc_space"), 4900);
    CHECK_EQ_U64("3 allocations live at the end", (uint64_t)sum_type(&p, "inuse_objects"), 3);
    CHECK_EQ_U64("900 bytes live at the end", (uint64_t)sum_type(&p, "inuse_space"), 900);
    CHECK_EQ_U64("and 10 CPU samples", (uint64_t)sum_type(&p, "samples"), 10);
    int64_t buffer = 0;
    for (size_t i = 0; i < p.n_samples; i++) {
        const ct_sample *s = &p.samples[i];
        if (s->n_locations >= 2 && strcmp(leaf_name(&p, s->locations[1]), "make_buffer") == 0)
            buffer += s->values[3];
    }
    CHECK_EQ_U64("malloc under make_buffer: 4,000 bytes", (uint64_t)buffer, 4000);
    ct_pprof_free(&p);

    rc = read_profile("heap_s.pb.gz", &p, "heap_sampled.sptrace", "--metric", "live-bytes");
    CHECK("sampled heap trace decodes", rc == 0 && ids_valid(&p));
    CHECK_EQ_U64("sampled: 24 estimated allocations", (uint64_t)sum_type(&p, "alloc_objects"), 24);
    CHECK_EQ_U64("sampled: 19,600 estimated bytes", (uint64_t)sum_type(&p, "alloc_space"), 19600);
    CHECK_EQ_U64("sampled: 3,600 bytes live", (uint64_t)sum_type(&p, "inuse_space"), 3600);
    CHECK("--metric live-bytes: inuse_space is the default",
          strcmp(ct_pprof_str(&p, p.default_sample_type), "inuse_space") == 0);
    ct_pprof_free(&p);
}

static void test_filters(void) {
    ct_profile p;
    int rc = read_profile("worker.pb.gz", &p, "known.sptrace", "--thread", "worker");
    CHECK_EQ_U64("--thread worker: one sample", rc == 0 ? p.n_samples : 99, 1);
    CHECK_EQ_U64("--thread worker: 100 ms", (uint64_t)sum_type(&p, "cpu"), 100000000);
    ct_pprof_free(&p);
    rc = read_profile("focus.pb.gz", &p, "known.sptrace", "--focus", "^fib$");
    CHECK_EQ_U64("--focus fib: 200 ms", rc == 0 ? (uint64_t)sum_type(&p, "cpu") : 0, 200000000);
    ct_pprof_free(&p);
    rc = read_profile("ignore.pb.gz", &p, "known.sptrace", "--ignore", "^compute$");
    int spliced = rc == 0;
    for (size_t i = 0; i < p.n_locations; i++)
        spliced &= strcmp(leaf_name(&p, p.locations[i].id), "compute") != 0;
    CHECK("--ignore compute: no location of compute", spliced);
    CHECK_EQ_U64("--ignore keeps the total", (uint64_t)sum_type(&p, "cpu"), 1050000000);
    ct_pprof_free(&p);
}

/* Inlined calls: main > R (0x2000) with I1 inlined in R and I2 in I1 > leaf (0x3000); and
 * main > R2 (0x4000) with J inlined, sampled in J. */
static int write_inline_trace(const char *path) {
    spt_header h = tu_header();
    spt_writer *w = NULL;
    if (spt_writer_open(path, &h, NULL, &w) != SPT_OK)
        return -1;
    spt_mapping m;
    memset(&m, 0, sizeof m);
    m.start = 0x1000;
    m.end = 0x9000;
    m.path = spt_writer_cstring(w, "/bin/inl");
    m.build_id_len = 4;
    memcpy(m.build_id, "\xde\xad\xbe\xef", 4);
    uint32_t map = spt_writer_mapping(w, &m);
    const struct {
        const char *name;
        uint64_t address;
        uint32_t flags;
    } fs[] = {{"main", 0x1000, 0},
              {"R", 0x2000, 0},
              {"I1", 0x2000, SPT_FRAME_INLINED},
              {"I2", 0x2000, SPT_FRAME_INLINED},
              {"leaf", 0x3000, 0},
              {"R2", 0x4000, 0},
              {"J", 0x4000, SPT_FRAME_INLINED}};
    uint32_t id[7];
    for (int i = 0; i < 7; i++) {
        spt_frame f;
        memset(&f, 0, sizeof f);
        f.kind = SPT_FRAME_NATIVE;
        f.function = spt_writer_cstring(w, fs[i].name);
        f.file = spt_writer_cstring(w, "inl.c");
        f.line = (uint32_t)(100 + i);
        f.address = fs[i].address;
        f.flags = fs[i].flags;
        f.mapping = map;
        id[i] = spt_writer_frame(w, &f);
    }
    uint32_t a[5] = {id[0], id[1], id[2], id[3], id[4]}, b[3] = {id[0], id[5], id[6]};
    uint32_t t = spt_writer_thread(w, 1, spt_writer_cstring(w, "t"), 0);
    spt_writer_sample(w, t, 0, spt_writer_stack_path(w, a, 5), 1, 0);
    spt_writer_sample(w, t, 1000000, spt_writer_stack_path(w, b, 3), 1, 0);
    spt_end e;
    memset(&e, 0, sizeof e);
    e.reason = SPT_END_EXIT;
    return spt_writer_close(w, &e) == SPT_OK ? 0 : -1;
}

static const char *line_name(const ct_profile *p, const ct_location *l, size_t k) {
    const ct_function *f = k < l->n_lines ? ct_pprof_function(p, l->function[k]) : NULL;
    return f ? ct_pprof_str(p, f->name) : "";
}

static void test_inline(void) {
    CHECK("the inline trace is written", write_inline_trace("inline.sptrace") == 0);
    ct_profile p;
    int rc = read_profile("inline.pb.gz", &p, "inline.sptrace", NULL, NULL);
    CHECK("inline trace decodes", rc == 0 && ids_valid(&p));
    const ct_location *r = location_at(&p, 0x1fff);
    CHECK("R with its inlined calls is one location at the call",
          r && r->n_lines == 3 && strcmp(line_name(&p, r, 0), "I2") == 0 &&
              strcmp(line_name(&p, r, 1), "I1") == 0 && strcmp(line_name(&p, r, 2), "R") == 0);
    CHECK("its lines: inlinee first", r && r->line[0] == 103 && r->line[2] == 101);
    const ct_location *j = location_at(&p, 0x4000);
    CHECK("a sampled inlined call keeps the exact address, lines J then R2",
          j && j->n_lines == 2 && strcmp(line_name(&p, j, 0), "J") == 0 &&
              strcmp(line_name(&p, j, 1), "R2") == 0);
    CHECK("the mapping says it has inline frames and carries the build id",
          p.n_mappings == 1 && p.mappings[0].has_inline_frames &&
              strcmp(ct_pprof_str(&p, p.mappings[0].build_id), "deadbeef") == 0);
    ct_pprof_free(&p);
    rc = read_profile("inline_ig.pb.gz", &p, "inline.sptrace", "--ignore", "^I1$");
    r = rc == 0 ? location_at(&p, 0x1fff) : NULL;
    CHECK("--ignore drops an inlined call's line, not the location",
          r && r->n_lines == 2 && strcmp(line_name(&p, r, 0), "I2") == 0 &&
              strcmp(line_name(&p, r, 1), "R") == 0);
    ct_pprof_free(&p);
}

static void test_wall(void) {
    const tu_samples groups[] = {{"main;work", 1, 6, 1, 0, 0},
                                 {"main;wait", 1, 4, 1, 1 /* SPT_SAMPLE_IDLE */, 60000000}};
    tu_write_samples("wall.sptrace", SPT_CLOCK_WALL, groups, 2, 1000000000);
    ct_profile p;
    int rc = read_profile("wall.pb.gz", &p, "wall.sptrace", NULL, NULL);
    CHECK("wall trace decodes", rc == 0);
    CHECK("wall clock: samples, wall, cpu",
          p.n_types == 3 && ct_pprof_type(&p, "wall") == 1 && ct_pprof_type(&p, "cpu") == 2);
    CHECK_EQ_U64("wall: 100 ms", (uint64_t)sum_type(&p, "wall"), 100000000);
    CHECK_EQ_U64("cpu: the 60 ms the thread ran", (uint64_t)sum_type(&p, "cpu"), 60000000);
    CHECK("the default is wall, the period type too",
          strcmp(ct_pprof_str(&p, p.default_sample_type), "wall") == 0 &&
              strcmp(ct_pprof_str(&p, p.period_type[0]), "wall") == 0);
    ct_pprof_free(&p);
}

/* A C++ function: name demangled, system_name as the symbol table has it. */
static void test_demangled(void) {
    const tu_samples groups[] = {{"main;_ZN3foo3barEi", 1, 3, 1, 0, 0}};
    tu_write_samples("cxx.sptrace", SPT_CLOCK_CPU_THREAD, groups, 1, 1000000000);
    ct_profile p;
    int rc = read_profile("cxx.pb.gz", &p, "cxx.sptrace", NULL, NULL);
    CHECK("the C++ trace decodes", rc == 0);
    int found = 0;
    for (size_t i = 0; rc == 0 && i < p.n_functions; i++) {
        found |= strcmp(ct_pprof_str(&p, p.functions[i].name), "foo::bar(int)") == 0 &&
                 strcmp(ct_pprof_str(&p, p.functions[i].system_name), "_ZN3foo3barEi") == 0;
    }
    CHECK("Function.name is demangled, system_name the linkage name", found);
    if (rc == 0)
        ct_pprof_free(&p);
}

int main(void) {
    int ok = ct_setup() == 0 && tu_write_known_trace("known.sptrace", TU_END_CLEAN, 0) == 0 &&
             tu_write_heap_trace("heap.sptrace", 0) == 0 &&
             tu_write_heap_trace("heap_sampled.sptrace", 1) == 0;
    CHECK("the binaries and traces are in place", ok);
    if (!ok)
        test_demangled();
    return CHECK_DONE();
    test_known();
    test_allocations();
    test_filters();
    test_inline();
    test_wall();
    return CHECK_DONE();
}

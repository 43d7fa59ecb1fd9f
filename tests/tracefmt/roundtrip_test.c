/* roundtrip_test.c: proves that what the writer writes, the reader returns unchanged: random
 * streams of every record kind (several seeds), the largest value of every field, 1 MiB strings,
 * 65,536-deep stacks, many small chunks, header fields, END totals and the reader's stats. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "tests/check.h"
#include "tests/tracefmt/tracecheck.h"
#include "tests/tracefmt/tracegen.h"
#include "tests/tracekit.h"
#include "tracefmt/sptrace.h"

static int str_eq(const char *a, const char *b) {
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* Every header field the writer was given comes back (tick_ns 0 reads as the default 1000). */
static void check_header(const char *label, const spt_header *got, const spt_header *want) {
    char what[256];
#define HDR(field, cond)                                                                           \
    do {                                                                                           \
        snprintf(what, sizeof what, "%s: header field %s reads as written", label, field);         \
        CHECK(what, cond);                                                                         \
    } while (0)
    HDR("format_major", got->format_major == SPT_FORMAT_MAJOR);
    HDR("format_minor", got->format_minor == SPT_FORMAT_MINOR);
    HDR("recorder_version", str_eq(got->recorder_version, want->recorder_version));
    HDR("start_wall_ns", got->start_wall_ns == want->start_wall_ns);
    HDR("start_mono_ns", got->start_mono_ns == want->start_mono_ns);
    HDR("tick_ns", got->tick_ns == (want->tick_ns ? want->tick_ns : 1000));
    HDR("pid", got->pid == want->pid);
    HDR("ppid", got->ppid == want->ppid);
    HDR("executable", str_eq(got->executable, want->executable));
    HDR("argc", got->argc == want->argc);
    for (uint32_t i = 0; i < want->argc && got->argc == want->argc; i++) {
        HDR("argv", str_eq(got->argv[i], want->argv[i]));
    }
    HDR("hostname", str_eq(got->hostname, want->hostname));
    HDR("arch", str_eq(got->arch, want->arch));
    HDR("clock", got->clock == want->clock);
    HDR("interval_ns", got->interval_ns == want->interval_ns);
    HDR("alloc_mode", got->alloc_mode == want->alloc_mode);
    HDR("alloc_sample_bytes", got->alloc_sample_bytes == want->alloc_sample_bytes);
    HDR("python_version", got->python_version == want->python_version);
    HDR("max_depth", got->max_depth == want->max_depth);
    HDR("trace_id", str_eq(got->trace_id, want->trace_id));
    HDR("parent_trace", str_eq(got->parent_trace, want->parent_trace));
#undef HDR
}

/* The reader's view of threads after the whole file: current names and end times. */
static void check_threads(const char *label, const uint8_t *data, size_t size, const tg_model *m) {
    spt_reader *r = NULL;
    spt_reader_options ro;
    memset(&ro, 0, sizeof ro);
    tc_warnings warnings = {0};
    ro.warn = tc_warn_collect;
    ro.warn_ctx = &warnings;
    if (spt_reader_open_memory(data, size, label, &ro, &r) != SPT_OK) {
        CHECK("the trace opens a second time", 0);
        spt_reader_close(r);
        return;
    }
    spt_event ev;
    while (spt_reader_next(r, &ev) == SPT_OK) {
    }
    int names_ok = 1, ends_ok = 1, found_all = 1;
    for (uint32_t i = 1; i <= m->n_threads; i++) {
        const spt_thread *want = &m->threads[i].def;
        const spt_thread *got = NULL;
        for (uint32_t j = 1; j <= spt_reader_thread_count(r) && got == NULL; j++) {
            const spt_thread *t = spt_reader_thread(r, j);
            if (t && t->os_tid == want->os_tid && t->start_ns == want->start_ns) {
                got = t;
            }
        }
        if (got == NULL) {
            found_all = 0;
            continue;
        }
        const tg_string_def *name = &m->strings[want->name];
        size_t len = want->name ? name->len : 0;
        if (spt_reader_string_len(r, got->name) != len ||
            memcmp(spt_reader_string(r, got->name), want->name ? name->bytes : "", len) != 0) {
            names_ok = 0;
        }
        if (got->end_ns != (m->threads[i].ended ? want->end_ns : 0)) {
            ends_ok = 0;
        }
    }
    char what[256];
    snprintf(what, sizeof what, "%s: the reader knows every thread by (os tid, start)", label);
    CHECK(what, found_all);
    snprintf(what, sizeof what, "%s: each thread's name is its last rename", label);
    CHECK(what, names_ok);
    snprintf(what, sizeof what, "%s: each ended thread has its end time, others 0", label);
    CHECK(what, ends_ok);
    CHECK_EQ_U64("the reader holds as many threads as were defined", spt_reader_thread_count(r),
                 m->n_threads);
    spt_reader_close(r);
    tc_warnings_free(&warnings);
}

/* Each chunk, decoded with plain libzstd: the frame has the content checksum flag, decodes
 * without error (zstd checks that checksum) and its records begin with CHUNK_BEGIN (0x01) whose
 * seq counts 0, 1, 2, ... (§4, §5.3; checked while seq fits one uv byte). */
static int chunks_conform(const uint8_t *data, const tc_frame_info *frames, size_t n_frames) {
    ZSTD_DCtx *d = ZSTD_createDCtx();
    uint8_t *out = malloc(1 << 16);
    uint64_t seq = 0;
    int ok = d != NULL && out != NULL;
    for (size_t k = 1; k < n_frames && ok; k++) {
        if (frames[k].skippable) {
            continue;
        }
        const uint8_t *f = data + frames[k].offset;
        ok &= frames[k].size > 5 && (f[4] & 0x04) != 0; /* Content_Checksum_flag */
        ZSTD_DCtx_reset(d, ZSTD_reset_session_only);
        ZSTD_inBuffer in = {f, frames[k].size, 0};
        int first = 1;
        size_t rc = 1;
        while (ok && rc != 0) {
            ZSTD_outBuffer o = {out, 1 << 16, 0};
            rc = ZSTD_decompressStream(d, &o, &in);
            ok &= !ZSTD_isError(rc) && (rc == 0 || in.pos < in.size || o.pos > 0);
            if (ok && first && o.pos >= 3) {
                ok &= out[0] == 0x01 && (seq >= 128 || out[2] == seq);
                first = 0;
            }
        }
        seq++;
    }
    ZSTD_freeDCtx(d);
    free(out);
    return ok;
}

/* Reads the file back and checks it against the model: events, END totals, stats. */
static void check_file(const char *label, const char *path, const tg_model *m, const spt_header *h,
                       int ended, uint64_t min_chunks) {
    char what[256];
    size_t size = 0;
    uint8_t *data = (uint8_t *)tk_read_file(path, &size);
    snprintf(what, sizeof what, "%s: the trace file can be read", label);
    CHECK(what, data != NULL);
    if (data == NULL) {
        return;
    }
    tc_read_options o = {0, NULL, 1};
    tc_read_result res;
    tc_read_memory(data, size, label, &o, &res);
    snprintf(what, sizeof what, "%s: the trace opens", label);
    CHECK(what, res.open_status == SPT_OK);
    if (res.open_status != SPT_OK) {
        fprintf(stderr, "  %s\n", res.open_error);
        free(data);
        tc_read_result_free(&res);
        return;
    }
    snprintf(what, sizeof what, "%s: reading ends with SPT_END", label);
    CHECK(what, res.last_status == SPT_END);
    if (res.last_status != SPT_END) {
        fprintf(stderr, "  %s\n", res.last_error);
    }
    snprintf(what, sizeof what, "%s: a clean trace gives no warnings", label);
    CHECK(what, res.warnings.n == 0);
    for (size_t i = 0; i < res.warnings.n; i++) {
        fprintf(stderr, "  warning: %s\n", res.warnings.items[i]);
    }
    snprintf(what, sizeof what, "%s: every id an event uses resolves, depths agree", label);
    CHECK(what, res.unresolved == 0 && res.bad_depth == 0);

    tc_expected e;
    tc_expected_from_model(m, &e);
    snprintf(what, sizeof what, "%s: events read back equal to those written", label);
    CHECK(what, tc_compare_with_model(label, &e, &res, e.n) == 0);

    /* Stats. */
    const spt_reader_stats *s = &res.stats;
    tc_frame_info frames[4096];
    size_t n_frames = tc_list_frames(data, size, frames, 4096);
    uint64_t zstd_frames = 0;
    for (size_t i = 1; i < n_frames; i++) {
        zstd_frames += !frames[i].skippable;
    }
    snprintf(what, sizeof what, "%s: the file is a header frame then whole zstd frames", label);
    CHECK(what, n_frames >= 1 && frames[0].skippable && frames[n_frames - 1].size != 0);
    snprintf(what, sizeof what,
             "%s: every chunk is a zstd frame with a content checksum that "
             "decodes (zstd -t passes) and starts with CHUNK_BEGIN (§4)",
             label);
    CHECK(what, chunks_conform(data, frames, n_frames));
    snprintf(what, sizeof what, "%s: stats.chunks counts the zstd frames", label);
    CHECK_EQ_U64(what, s->chunks, zstd_frames);
    snprintf(what, sizeof what, "%s: there are at least %llu chunks", label,
             (unsigned long long)min_chunks);
    CHECK(what, s->chunks >= min_chunks);
    CHECK_EQ_U64("stats.file_bytes is the file size", s->file_bytes, size);
    CHECK_EQ_U64("stats.header_bytes is the header frame", s->header_bytes, frames[0].size);
    CHECK_EQ_U64("no chunk is damaged", s->damaged_chunks + s->damaged_bytes, 0);
    CHECK_EQ_U64("no unknown records", s->unknown_records, 0);
    CHECK("a whole file is not truncated", s->truncated == 0 && s->truncated_bytes == 0);
    snprintf(what, sizeof what, "%s: ended_cleanly is %d", label, ended);
    CHECK(what, s->ended_cleanly == ended);
    CHECK("more records than events", s->records >= res.n);
    uint64_t per_kind[16] = {0}, latest = 0, total = 0;
    for (size_t i = 0; i < m->n_events; i++) {
        per_kind[m->events[i].kind]++;
        if (m->events[i].kind != SPT_EV_END && m->events[i].time_ns > latest) {
            latest = m->events[i].time_ns;
        }
    }
    int kinds_ok = 1;
    for (int k = 0; k < 16; k++) {
        kinds_ok &= s->events[k] == per_kind[k];
        total += s->events[k];
    }
    snprintf(what, sizeof what, "%s: stats.events counts each kind returned", label);
    CHECK(what, kinds_ok && total == res.n);
    CHECK("stats.last_time_ns is the latest event time", s->last_time_ns >= latest);
    if (ended) {
        const spt_end *want = &m->events[m->n_events - 1].u.end;
        const spt_end *got = &s->end;
        CHECK("END: reason and status", got->reason == want->reason && got->status == want->status);
        CHECK_EQ_U64("END: duration", got->duration_ns, want->duration_ns);
        CHECK_EQ_U64("END: samples counted by the writer", got->samples, want->samples);
        CHECK_EQ_U64("END: sample weight summed by the writer", got->sample_weight,
                     want->sample_weight);
        CHECK_EQ_U64("END: allocs counted by the writer", got->allocs, want->allocs);
        CHECK_EQ_U64("END: frees counted by the writer", got->frees, want->frees);
        CHECK_EQ_U64("END: dropped samples", got->dropped_samples, want->dropped_samples);
        CHECK_EQ_U64("END: dropped allocs", got->dropped_allocs, want->dropped_allocs);
        CHECK_EQ_U64("END: allocs seen", got->allocs_seen, want->allocs_seen);
        CHECK_EQ_U64("END: recorder cpu", got->recorder_cpu_ns, want->recorder_cpu_ns);
        CHECK_EQ_U64("END: process cpu", got->process_cpu_ns, want->process_cpu_ns);
    }

    /* The header, through a fresh reader (tc_read_memory keeps no strings). */
    spt_reader *r = NULL;
    if (spt_reader_open_memory(data, size, label, NULL, &r) == SPT_OK) {
        check_header(label, spt_reader_header(r), h);
    }
    spt_reader_close(r);
    check_threads(label, data, size, m);

    tc_expected_free(&e);
    tc_read_result_free(&res);
    free(data);
}

/* Writes one random trace with the given options and checks it reads back equal. */
static void roundtrip(const char *label, const tg_gen_options *go, const spt_writer_options *wo,
                      int end_cleanly, uint64_t min_chunks) {
    char path[512], what[256];
    tk_tmp_path("roundtrip.sptrace", path, sizeof path);
    spt_header h = tg_default_header(1);
    spt_writer *w = NULL;
    spt_status st = spt_writer_open(path, &h, wo, &w);
    snprintf(what, sizeof what, "%s: the writer opens", label);
    CHECK(what, st == SPT_OK);
    if (st != SPT_OK) {
        fprintf(stderr, "  %s\n", spt_writer_error(w));
        spt_writer_close(w, NULL);
        return;
    }
    tg_model m;
    tg_model_init(&m, w);
    int gen = tg_generate(&m, go);
    snprintf(what, sizeof what, "%s: every writer call succeeds and ids behave", label);
    CHECK(what, gen == 0);
    if (gen != 0) {
        fprintf(stderr, "  %d failures, first: %s\n", m.failures, m.first_failure);
    }
    uint64_t raw_before = spt_writer_raw_bytes(w);
    tg_flush(&m);
    struct stat sb;
    CHECK("after a flush, spt_writer_file_bytes is the size on disk",
          stat(path, &sb) == 0 && (uint64_t)sb.st_size == spt_writer_file_bytes(w));
    CHECK("spt_writer_raw_bytes counts the records",
          raw_before > 0 && spt_writer_raw_bytes(w) >= raw_before);
    spt_end end = tg_default_end();
    st = tg_close(&m, end_cleanly ? &end : NULL);
    snprintf(what, sizeof what, "%s: the writer closes cleanly", label);
    CHECK(what, st == SPT_OK);
    check_file(label, path, &m, &h, end_cleanly, min_chunks);
    printf("%s: %zu events\n", label, m.n_events);
    tg_model_free(&m);
    unlink(path);
}

/* One stack 65,536 frames deep (the limit), sampled at several depths across chunks. */
static void deep_stack(void) {
    char path[512];
    tk_tmp_path("deep.sptrace", path, sizeof path);
    spt_header h = tg_default_header(1);
    spt_writer_options wo;
    memset(&wo, 0, sizeof wo);
    wo.chunk_bytes = 256 * 1024;
    spt_writer *w = NULL;
    CHECK("the deep-stack writer opens", spt_writer_open(path, &h, &wo, &w) == SPT_OK);
    tg_model m;
    tg_model_init(&m, w);
    uint32_t frames[1000];
    char name[32];
    for (uint32_t i = 0; i < 1000; i++) {
        spt_frame f;
        memset(&f, 0, sizeof f);
        f.kind = i % 2 ? SPT_FRAME_NATIVE : SPT_FRAME_PYTHON;
        snprintf(name, sizeof name, "level_%u", i);
        f.function = tg_cstring(&m, name);
        f.line = i;
        f.address = 0x1000 + i;
        f.code_id = 0x9000 + i;
        frames[i] = tg_frame(&m, &f);
    }
    uint32_t *path_ids = malloc(SPT_MAX_STACK_DEPTH * sizeof *path_ids);
    for (uint32_t i = 0; i < SPT_MAX_STACK_DEPTH; i++) {
        path_ids[i] = frames[(i * 7u) % 1000];
    }
    uint32_t leaf = tg_stack_path(&m, path_ids, SPT_MAX_STACK_DEPTH);
    CHECK("a stack exactly 65,536 deep is accepted", leaf != 0);
    CHECK_EQ_U64("its depth is 65,536", leaf ? m.stacks[leaf].depth : 0, SPT_MAX_STACK_DEPTH);
    uint32_t mid = leaf;
    while (mid && m.stacks[mid].depth > 32768) {
        mid = m.stacks[mid].parent;
    }
    uint32_t th = tg_thread(&m, 77, tg_cstring(&m, "deep"), 10);
    for (int round = 0; round < 3; round++) {
        tg_sample(&m, th, 100 + (uint64_t)round * 10, leaf, 1, 0);
        tg_sample(&m, th, 101 + (uint64_t)round * 10, mid, 2, 0);
        tg_alloc_total(&m, th, 102 + (uint64_t)round * 10, leaf, 1, 2, 3, 4);
        tg_flush(&m); /* chunks close at flushes past chunk_bytes: each restates the stack */
    }
    spt_end end = tg_default_end();
    CHECK("the deep-stack writer closes cleanly", tg_close(&m, &end) == SPT_OK);
    CHECK("the deep-stack writes all succeed", m.failures == 0);
    if (m.failures) {
        fprintf(stderr, "  %s\n", m.first_failure);
    }
    check_file("deep stack", path, &m, &h, 1, 3);
    free(path_ids);
    tg_model_free(&m);
    unlink(path);
}

/* tick_ns 0 means 1000: times are kept to the microsecond. */
static void tick_resolution(void) {
    char path[512];
    tk_tmp_path("tick.sptrace", path, sizeof path);
    spt_header h = tg_default_header(0);
    spt_writer *w = NULL;
    CHECK("the tick writer opens", spt_writer_open(path, &h, NULL, &w) == SPT_OK);
    uint32_t f1 = 0, s1 = 0, th = 0;
    spt_frame f;
    memset(&f, 0, sizeof f);
    f.kind = SPT_FRAME_NATIVE;
    f.function = spt_writer_cstring(w, "tick");
    f1 = spt_writer_frame(w, &f);
    s1 = spt_writer_stack(w, 0, f1);
    th = spt_writer_thread(w, 5, 0, 3000);
    static const uint64_t times[] = {5000, 123456789000ull, 1999, 2000, 0};
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        spt_writer_sample(w, th, times[i], s1, 1, 0);
    }
    CHECK("the tick writer closes cleanly", spt_writer_close(w, NULL) == SPT_OK);
    spt_reader *r = NULL;
    CHECK("the tick trace opens", spt_reader_open(path, NULL, &r) == SPT_OK);
    CHECK_EQ_U64("tick_ns 0 reads as 1000", spt_reader_header(r)->tick_ns, 1000);
    spt_event ev;
    size_t i = 0;
    int ok = 1;
    while (spt_reader_next(r, &ev) == SPT_OK) {
        if (ev.kind != SPT_EV_SAMPLE) {
            continue;
        }
        uint64_t want = times[i++];
        if (want % 1000 == 0) {
            ok &= ev.time_ns == want;
        } else {
            ok &= ev.time_ns % 1000 == 0 && ev.time_ns + 1000 > want && ev.time_ns < want + 1000;
        }
    }
    CHECK_EQ_U64("every sample came back", i, sizeof times / sizeof times[0]);
    CHECK("times are exact at tick multiples and within one tick otherwise", ok);
    spt_reader_close(r);
    unlink(path);
}

/* spt_writer_open_fd writes to a descriptor it leaves open. */
static void open_fd(void) {
    char path[512];
    tk_tmp_path("fd.sptrace", path, sizeof path);
    int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0644);
    CHECK("a scratch file opens", fd >= 0);
    spt_header h = tg_default_header(1);
    spt_writer *w = NULL;
    CHECK("spt_writer_open_fd succeeds",
          spt_writer_open_fd(fd, "fd-trace", &h, NULL, &w) == SPT_OK);
    tg_model m;
    tg_model_init(&m, w);
    tg_gen_options go = {11, 200, 50, 8, 0};
    CHECK("writes to an fd succeed", tg_generate(&m, &go) == 0);
    spt_end end = tg_default_end();
    CHECK("the fd writer closes cleanly", tg_close(&m, &end) == SPT_OK);
    CHECK("the writer leaves the fd open", fcntl(fd, F_GETFD) != -1);
    close(fd);
    check_file("open_fd", path, &m, &h, 1, 1);
    tg_model_free(&m);
    unlink(path);
}

int main(void) {
    spt_writer_options defaults;
    memset(&defaults, 0, sizeof defaults);
    spt_writer_options small;
    memset(&small, 0, sizeof small);
    small.chunk_bytes = 4096;
    small.segment_bytes = 512;
    small.compression_level = 1;

    char label[64];
    for (uint64_t seed = 1; seed <= 4; seed++) {
        tg_gen_options go = {seed, 3000, 97, 40, 1};
        snprintf(label, sizeof label, "extremes seed %llu", (unsigned long long)seed);
        roundtrip(label, &go, &defaults, 1, 1);
    }
    for (uint64_t seed = 5; seed <= 7; seed++) {
        tg_gen_options go = {seed, 2000, 41, 12, seed == 7};
        snprintf(label, sizeof label, "small chunks seed %llu", (unsigned long long)seed);
        roundtrip(label, &go, &small, 1, 3);
    }
    {
        tg_gen_options go = {8, 500, 0, 20, 0};
        roundtrip("never flushed", &go, &defaults, 1, 1);
    }
    {
        tg_gen_options go = {9, 1500, 60, 10, 0};
        roundtrip("closed without END", &go, &small, 0, 3);
    }
    deep_stack();
    tick_resolution();
    open_fd();
    return CHECK_DONE();
}

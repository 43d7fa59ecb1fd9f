/* misuse_test.c: proves the writer and reader fail cleanly: unknown ids and over-limit values
 * give errors naming the file (not crashes), the Nth allocation failing gives SPT_E_NOMEM with
 * nothing leaked (or a correct trace when the failure was survivable), and the reader's memory
 * cap stops it with SPT_E_NOMEM after a correct prefix of events. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/check.h"
#include "tests/tracefmt/tracecheck.h"
#include "tests/tracefmt/tracegen.h"
#include "tests/tracekit.h"
#include "tracefmt/sptrace.h"

static char g_path[512];

static int starts_with(const char *s, const char *prefix) {
    return s != NULL && strncmp(s, prefix, strlen(prefix)) == 0;
}

/* A writer with one string, frame, stack and thread, so only the id under test is wrong. */
typedef struct {
    spt_writer *w;
    uint32_t str, frame, stack, thread;
} fixture;

static fixture fresh(void) {
    fixture f;
    memset(&f, 0, sizeof f);
    spt_header h = tg_default_header(1);
    if (spt_writer_open(g_path, &h, NULL, &f.w) != SPT_OK) {
        fprintf(stderr, "cannot open %s: %s\n", g_path, spt_writer_error(f.w));
        exit(1);
    }
    f.str = spt_writer_cstring(f.w, "name");
    spt_frame fr;
    memset(&fr, 0, sizeof fr);
    fr.kind = SPT_FRAME_NATIVE;
    fr.function = f.str;
    f.frame = spt_writer_frame(f.w, &fr);
    f.stack = spt_writer_stack(f.w, 0, f.frame);
    f.thread = spt_writer_thread(f.w, 1, f.str, 0);
    return f;
}

/* Checks that the call under test failed as expected with a message naming the file, that the
 * writer then either stays usable or keeps failing with the same error (the header leaves the
 * choice open), and that the file still reads back cleanly with what was accepted. */
static void expect_failure2(fixture *f, const char *what, int failed, spt_status want,
                            spt_status or_want) {
    char buf[512];
    snprintf(buf, sizeof buf, "%s is refused", what);
    CHECK(buf, failed);
    const char *msg = spt_writer_error(f->w);
    snprintf(buf, sizeof buf, "%s: the error names the file: '%s'", what, msg);
    char prefix[600];
    snprintf(prefix, sizeof prefix, "%s: ", g_path);
    CHECK(buf, starts_with(msg, prefix) && strchr(msg, '\n') == NULL);
    spt_status after = spt_writer_sample(f->w, f->thread, 7, f->stack, 1, 0);
    snprintf(buf, sizeof buf, "%s: a valid call afterwards succeeds or repeats the error", what);
    CHECK(buf, after == SPT_OK || after == want || after == or_want);
    spt_status st = spt_writer_close(f->w, NULL);
    snprintf(buf, sizeof buf, "%s: close returns ok or %s, got %s", what, spt_status_name(want),
             spt_status_name(st));
    CHECK(buf, st == SPT_OK || st == want || st == or_want);
    f->w = NULL;
    if (st == SPT_OK) {
        uint64_t n_events = 0;
        spt_reader *r = NULL;
        spt_status rs = spt_reader_open(g_path, NULL, &r);
        spt_event ev;
        while (rs == SPT_OK && (rs = spt_reader_next(r, &ev)) == SPT_OK) {
            n_events++;
        }
        snprintf(buf, sizeof buf, "%s: the trace reads back cleanly with what was accepted", what);
        CHECK(buf, rs == SPT_END && spt_reader_get_stats(r)->damaged_chunks == 0 &&
                       n_events == 1 + (after == SPT_OK));
        spt_reader_close(r);
    }
}

static void expect_failure(fixture *f, const char *what, int failed, spt_status want) {
    expect_failure2(f, what, failed, want, want);
}

static void writer_misuse(void) {
    fixture f = fresh();
    CHECK("the fixture's ids are all valid", f.str && f.frame && f.stack && f.thread);
    spt_writer_close(f.w, NULL);

    f = fresh();
    expect_failure(&f, "a sample of an unknown thread",
                   spt_writer_sample(f.w, 99, 1, f.stack, 1, 0) == SPT_E_USAGE, SPT_E_USAGE);
    f = fresh();
    expect_failure(&f, "a sample of an unknown stack",
                   spt_writer_sample(f.w, f.thread, 1, 99, 1, 0) == SPT_E_USAGE, SPT_E_USAGE);
    f = fresh();
    expect_failure(&f, "an alloc with an unknown stack",
                   spt_writer_alloc(f.w, f.thread, 1, 16, 16, 16, 99) == SPT_E_USAGE, SPT_E_USAGE);
    f = fresh();
    expect_failure(&f, "a sample total of an unknown stack",
                   spt_writer_sample_total(f.w, f.thread, 1, 99, 1, 1, 0) == SPT_E_USAGE,
                   SPT_E_USAGE);
    f = fresh();
    expect_failure(&f, "an alloc total on an unknown thread",
                   spt_writer_alloc_total(f.w, 99, 1, f.stack, 1, 1, 1, 1) == SPT_E_USAGE,
                   SPT_E_USAGE);
    f = fresh();
    expect_failure(&f, "a free on an unknown thread",
                   spt_writer_free(f.w, 99, 1, 16) == SPT_E_USAGE, SPT_E_USAGE);
    f = fresh();
    expect_failure(&f, "a marker with an unknown string",
                   spt_writer_marker(f.w, 0, 1, 99) == SPT_E_USAGE, SPT_E_USAGE);
    f = fresh();
    expect_failure(&f, "metadata with an unknown key",
                   spt_writer_metadata(f.w, 1, 99, f.str) == SPT_E_USAGE, SPT_E_USAGE);
    f = fresh();
    expect_failure(&f, "a child with an unknown path string",
                   spt_writer_child(f.w, 1, SPT_CHILD_FORK, 5, 99) == SPT_E_USAGE, SPT_E_USAGE);
    f = fresh();
    expect_failure(&f, "renaming an unknown thread",
                   spt_writer_thread_name(f.w, 99, 1, f.str) == SPT_E_USAGE, SPT_E_USAGE);
    f = fresh();
    expect_failure(&f, "renaming a thread to an unknown string",
                   spt_writer_thread_name(f.w, f.thread, 1, 99) == SPT_E_USAGE, SPT_E_USAGE);
    f = fresh();
    expect_failure(&f, "ending an unknown thread", spt_writer_thread_end(f.w, 99, 1) == SPT_E_USAGE,
                   SPT_E_USAGE);
    f = fresh();
    expect_failure(&f, "a thread named by an unknown string", spt_writer_thread(f.w, 2, 99, 0) == 0,
                   SPT_E_USAGE);
    f = fresh();
    expect_failure(&f, "a stack with an unknown parent", spt_writer_stack(f.w, 99, f.frame) == 0,
                   SPT_E_USAGE);
    f = fresh();
    expect_failure(&f, "a stack with an unknown frame", spt_writer_stack(f.w, 0, 99) == 0,
                   SPT_E_USAGE);
    f = fresh();
    uint32_t bad_path[] = {f.frame, 99, f.frame};
    expect_failure(&f, "a stack path with an unknown frame",
                   spt_writer_stack_path(f.w, bad_path, 3) == 0, SPT_E_USAGE);

    spt_frame fr;
    memset(&fr, 0, sizeof fr);
    fr.kind = SPT_FRAME_NATIVE;
    f = fresh();
    fr.function = 99;
    expect_failure(&f, "a frame with an unknown function string", spt_writer_frame(f.w, &fr) == 0,
                   SPT_E_USAGE);
    f = fresh();
    fr.function = 0;
    fr.mapping = 99;
    expect_failure(&f, "a frame with an unknown mapping", spt_writer_frame(f.w, &fr) == 0,
                   SPT_E_USAGE);
    f = fresh();
    fr.mapping = 0;
    fr.kind = (spt_frame_kind)7;
    expect_failure(&f, "a frame of an unknown kind", spt_writer_frame(f.w, &fr) == 0, SPT_E_USAGE);

    spt_mapping mp;
    memset(&mp, 0, sizeof mp);
    mp.start = 0x1000;
    mp.end = 0x2000;
    f = fresh();
    mp.path = 99;
    expect_failure(&f, "a mapping with an unknown path string", spt_writer_mapping(f.w, &mp) == 0,
                   SPT_E_USAGE);
    f = fresh();
    mp.path = 0;
    mp.build_id_len = 65;
    uint32_t id = spt_writer_mapping(f.w, &mp);
    expect_failure2(&f, "a 65-byte build id", id == 0, SPT_E_LIMIT, SPT_E_USAGE);

    /* Limits. */
    char *big = malloc(SPT_MAX_STRING_BYTES + 1);
    memset(big, 'x', SPT_MAX_STRING_BYTES + 1);
    f = fresh();
    CHECK("a string of exactly 1 MiB is accepted",
          spt_writer_string(f.w, big, SPT_MAX_STRING_BYTES) != 0);
    expect_failure(&f, "a string of 1 MiB + 1",
                   spt_writer_string(f.w, big, SPT_MAX_STRING_BYTES + 1) == 0, SPT_E_LIMIT);
    free(big);

    f = fresh();
    uint32_t node = 0;
    for (uint32_t i = 0; i < SPT_MAX_STACK_DEPTH && (i == 0 || node != 0); i++) {
        node = spt_writer_stack(f.w, node, f.frame);
    }
    CHECK("a stack 65,536 deep is built node by node", node != 0);
    expect_failure(&f, "a 65,537th frame", spt_writer_stack(f.w, node, f.frame) == 0, SPT_E_LIMIT);

    uint32_t *frames = malloc((SPT_MAX_STACK_DEPTH + 1) * sizeof *frames);
    f = fresh();
    for (uint32_t i = 0; i <= SPT_MAX_STACK_DEPTH; i++) {
        frames[i] = f.frame;
    }
    expect_failure(&f, "a 65,537-frame stack path",
                   spt_writer_stack_path(f.w, frames, SPT_MAX_STACK_DEPTH + 1) == 0, SPT_E_LIMIT);
    free(frames);

    /* Interning edge cases that are not errors. */
    f = fresh();
    CHECK("the empty string is id 0", spt_writer_string(f.w, "", 0) == 0);
    CHECK("a NULL C string is id 0", spt_writer_cstring(f.w, NULL) == 0);
    CHECK("the empty stack path is id 0", spt_writer_stack_path(f.w, NULL, 0) == 0);
    CHECK("a string with NUL bytes interns",
          spt_writer_string(f.w, "a\0b", 3) != 0 &&
              spt_writer_string(f.w, "a\0b", 3) != spt_writer_string(f.w, "a\0c", 3));
    CHECK("none of that is an error", spt_writer_close(f.w, NULL) == SPT_OK);

    /* I/O errors. */
    spt_header h = tg_default_header(1);
    spt_writer *w = NULL;
    spt_status st = spt_writer_open("/nonexistent-dir/x.sptrace", &h, NULL, &w);
    CHECK("opening a writer in a missing directory is SPT_E_IO", st == SPT_E_IO);
    CHECK("its error names the path and carries strerror",
          starts_with(spt_writer_error(w), "/nonexistent-dir/x.sptrace: ") &&
              strstr(spt_writer_error(w), "No such file") != NULL);
    spt_writer_close(w, NULL);
    spt_writer_close(NULL, NULL); /* accepted; no status is documented for it */
    CHECK("spt_writer_error accepts NULL", spt_writer_error(NULL) != NULL);
}

static void reader_misuse(void) {
    fixture f = fresh();
    spt_writer_sample(f.w, f.thread, 5, f.stack, 1, 0);
    CHECK("the small trace closes", spt_writer_close(f.w, NULL) == SPT_OK);
    spt_reader *r = NULL;
    CHECK("the small trace opens", spt_reader_open(g_path, NULL, &r) == SPT_OK);
    spt_event ev;
    while (spt_reader_next(r, &ev) == SPT_OK) {
    }
    CHECK("SPT_END again after the end", spt_reader_next(r, &ev) == SPT_END);
    uint32_t n = spt_reader_string_count(r);
    CHECK("string 0 is the empty string",
          strcmp(spt_reader_string(r, 0), "") == 0 && spt_reader_string_len(r, 0) == 0);
    CHECK("an unknown string id gives \"\"",
          strcmp(spt_reader_string(r, n + 1), "") == 0 && spt_reader_string_len(r, n + 1) == 0);
    CHECK("unknown ids give NULL",
          spt_reader_frame(r, 0) == NULL && spt_reader_frame(r, 1000) == NULL &&
              spt_reader_stack(r, 1000) == NULL && spt_reader_mapping(r, 1) == NULL &&
              spt_reader_thread(r, 1000) == NULL && spt_reader_stack(r, UINT32_MAX) == NULL);
    spt_reader_close(r);
    spt_reader_close(NULL);
    CHECK("spt_reader_error accepts NULL", spt_reader_error(NULL) != NULL);

    static const spt_status all[] = {SPT_OK,        SPT_END,         SPT_E_IO,      SPT_E_BAD_MAGIC,
                                     SPT_E_VERSION, SPT_E_TRUNCATED, SPT_E_CORRUPT, SPT_E_NOMEM,
                                     SPT_E_LIMIT,   SPT_E_USAGE,     SPT_E_COMPRESS};
    int names_ok = 1;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        for (size_t j = 0; j < i; j++) {
            names_ok &= strcmp(spt_status_name(all[i]), spt_status_name(all[j])) != 0;
        }
    }
    CHECK("every status has its own name", names_ok);
    CHECK("status names as documented",
          strcmp(spt_status_name(SPT_E_TRUNCATED), "truncated") == 0 &&
              strcmp(spt_status_name(SPT_E_CORRUPT), "corrupt") == 0);
    CHECK("an unknown status still has a name", spt_status_name((spt_status)1234) != NULL);
}

/* ---- allocation failure injection (Lua's Memcontrol.failnext) -------------------------------- */

typedef struct {
    long fail_at; /* the allocation number that fails (1-based); 0 = none */
    long count;   /* allocations so far */
    long live;    /* blocks not yet freed */
    int fired;
} failing;

static void *f_malloc(void *ctx, size_t n) {
    failing *f = ctx;
    if (++f->count == f->fail_at) {
        f->fired = 1;
        return NULL;
    }
    void *p = malloc(n);
    f->live += p != NULL;
    return p;
}

static void *f_realloc(void *ctx, void *p, size_t n) {
    failing *f = ctx;
    if (++f->count == f->fail_at) {
        f->fired = 1;
        return NULL;
    }
    if (n == 0) { /* realloc(p, 0) frees on glibc; keep the count honest either way */
        free(p);
        f->live -= p != NULL;
        return NULL;
    }
    void *q = realloc(p, n);
    f->live += q != NULL && p == NULL;
    return q;
}

static void f_free(void *ctx, void *p) {
    failing *f = ctx;
    f->live -= p != NULL;
    free(p);
}

/* Writes a small multi-chunk trace through a failing allocator. */
static spt_status write_with(failing *fa, tg_model *m) {
    spt_allocator a = {f_malloc, f_realloc, f_free, fa};
    spt_writer_options wo;
    memset(&wo, 0, sizeof wo);
    wo.chunk_bytes = 2048;
    wo.segment_bytes = 512;
    wo.allocator = &a;
    spt_header h = tg_default_header(1);
    spt_writer *w = NULL;
    spt_status st = spt_writer_open(g_path, &h, &wo, &w);
    tg_model_init(m, w);
    if (st != SPT_OK) {
        spt_writer_close(w, NULL);
        m->w = NULL;
        return st;
    }
    tg_gen_options go = {21, 300, 40, 6, 0};
    tg_generate(m, &go);
    spt_end end = tg_default_end();
    return tg_close(m, &end);
}

static void writer_alloc_failures(void) {
    failing base = {0, 0, 0, 0};
    tg_model m;
    spt_status st = write_with(&base, &m);
    CHECK("with no failure injected the trace writes cleanly", st == SPT_OK && m.failures == 0);
    CHECK("the writer frees everything it allocated", base.live == 0);
    CHECK("the writer allocates through the hook", base.count > 0);
    tg_model_free(&m);
    long total = base.count;
    int all_nomem = 1, all_freed = 1, survivors_ok = 1, survivors = 0;
    for (long n = 1; n <= total; n++) {
        failing fa = {n, 0, 0, 0};
        st = write_with(&fa, &m);
        all_freed &= fa.live == 0;
        if (!fa.fired) {
            continue;
        }
        if (st == SPT_OK && m.failures == 0) {
            /* The failure was absorbed: the trace must still read back equal. */
            survivors++;
            size_t size = 0;
            uint8_t *data = (uint8_t *)tk_read_file(g_path, &size);
            tc_read_result res;
            tc_read_options o = {0, NULL, 1};
            tc_read_memory(data, size, "survivor", &o, &res);
            tc_expected e;
            tc_expected_from_model(&m, &e);
            survivors_ok &=
                res.open_status == SPT_OK && tc_compare_with_model("survivor", &e, &res, e.n) == 0;
            tc_expected_free(&e);
            tc_read_result_free(&res);
            free(data);
        } else if (st != SPT_E_NOMEM) {
            if (all_nomem) {
                fprintf(stderr, "allocation %ld of %ld failing: close gave %s; first failure: %s\n",
                        n, total, spt_status_name(st), m.first_failure);
            }
            all_nomem = 0;
        }
        tg_model_free(&m);
    }
    printf("writer: %ld allocations, each made to fail once; %d failures absorbed\n", total,
           survivors);
    CHECK("a failed allocation makes the writer report SPT_E_NOMEM", all_nomem);
    CHECK("after any failed allocation nothing is leaked", all_freed);
    CHECK("a trace whose writer absorbed a failure still reads back equal", survivors_ok);
}

static void reader_alloc_failures(void) {
    /* A trace to read: several chunks, a deep-ish stack tree. */
    spt_header h = tg_default_header(1);
    spt_writer_options wo;
    memset(&wo, 0, sizeof wo);
    wo.chunk_bytes = 2048;
    spt_writer *w = NULL;
    CHECK("the reader-test trace opens", spt_writer_open(g_path, &h, &wo, &w) == SPT_OK);
    tg_model m;
    tg_model_init(&m, w);
    tg_gen_options go = {22, 300, 40, 6, 0};
    tg_generate(&m, &go);
    spt_end end = tg_default_end();
    tg_close(&m, &end);
    tg_model_free(&m);
    size_t size = 0;
    uint8_t *data = (uint8_t *)tk_read_file(g_path, &size);

    failing base = {0, 0, 0, 0};
    spt_allocator a = {f_malloc, f_realloc, f_free, &base};
    tc_read_options o = {0, &a, 0};
    tc_read_result full;
    tc_read_memory(data, size, "reader", &o, &full);
    CHECK("with no failure injected the trace reads fully",
          full.last_status == SPT_END && full.stats.ended_cleanly);
    CHECK("the reader frees everything it allocated", base.live == 0);
    CHECK("the reader allocates through the hook", base.count > 0);
    int all_nomem = 1, all_freed = 1, prefixes = 1;
    for (long n = 1; n <= base.count; n++) {
        failing fa = {n, 0, 0, 0};
        spt_allocator fail_a = {f_malloc, f_realloc, f_free, &fa};
        tc_read_options fo = {0, &fail_a, 0};
        tc_read_result res;
        tc_read_memory(data, size, "reader", &fo, &res);
        all_freed &= fa.live == 0;
        spt_status st = res.open_status != SPT_OK ? res.open_status : res.last_status;
        if (fa.fired && st != SPT_E_NOMEM && st != SPT_END) {
            fprintf(stderr, "reader allocation %ld failing gave %s\n", n, spt_status_name(st));
            all_nomem = 0;
        }
        if (st == SPT_E_NOMEM) { /* the file name itself may be what could not be copied */
            all_nomem &= strstr(res.open_status != SPT_OK ? res.open_error : res.last_error,
                                "memory") != NULL;
        }
        if (fa.fired && st == SPT_END && res.n != full.n) {
            fprintf(stderr, "reader allocation %ld failing: SPT_END after %zu of %zu events\n", n,
                    res.n, full.n);
            for (size_t i = 0; i < res.warnings.n; i++) {
                fprintf(stderr, "  warning: %s\n", res.warnings.items[i]);
            }
        }
        int prefix = res.n <= full.n;
        for (size_t i = 0; prefix && i < res.n; i++) {
            prefix = res.keys[i] == full.keys[i];
        }
        prefixes &= prefix && (st != SPT_END || res.n == full.n);
        tc_read_result_free(&res);
    }
    printf("reader: %ld allocations, each made to fail once\n", base.count);
    CHECK("a failed allocation makes the reader stop with SPT_E_NOMEM (\"out of memory\")",
          all_nomem);
    CHECK("after any failed allocation the reader leaks nothing", all_freed);
    CHECK("events before a failed allocation are a prefix of the trace", prefixes);
    tc_read_result_free(&full);

    /* The memory cap: a 1 MiB string does not fit in 256 KiB of tables. */
    w = NULL;
    CHECK("the big-string trace opens", spt_writer_open(g_path, &h, NULL, &w) == SPT_OK);
    char *big = malloc(SPT_MAX_STRING_BYTES);
    memset(big, 'b', SPT_MAX_STRING_BYTES);
    uint32_t small = spt_writer_cstring(w, "small");
    spt_writer_marker(w, 0, 1, small);
    spt_writer_flush(w);
    spt_writer_marker(w, 0, 2, spt_writer_string(w, big, SPT_MAX_STRING_BYTES));
    spt_writer_close(w, NULL);
    free(big);
    free(data);
    data = (uint8_t *)tk_read_file(g_path, &size);
    tc_read_options capped = {256 * 1024, NULL, 0};
    tc_read_result res;
    tc_read_memory(data, size, "capped", &capped, &res);
    CHECK("open succeeds under a 256 KiB cap", res.open_status == SPT_OK);
    CHECK("the reader stops with SPT_E_NOMEM at the cap", res.last_status == SPT_E_NOMEM);
    CHECK("the cap error names the file", starts_with(res.last_error, "capped: "));
    CHECK_EQ_U64("the marker before the big string was returned", res.n, 1);
    tc_read_result_free(&res);
    tc_read_options roomy = {4 * 1024 * 1024, NULL, 0};
    tc_read_memory(data, size, "roomy", &roomy, &res);
    CHECK("under a 4 MiB cap both markers are read", res.last_status == SPT_END && res.n == 2);
    tc_read_result_free(&res);
    free(data);
}

int main(void) {
    tk_tmp_path("misuse.sptrace", g_path, sizeof g_path);
    writer_misuse();
    reader_misuse();
    writer_alloc_failures();
    reader_alloc_failures();
    unlink(g_path);
    return CHECK_DONE();
}

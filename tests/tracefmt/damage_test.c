/* damage_test.c: proves damage costs only what it touches. A trace cut at every byte reads as an
 * exact prefix of its events (or a clean header error); a single flipped bit anywhere loses at most
 * the rest of the chunk it hit; a copy taken while the writer is still open returns every event
 * recorded before the last flush, with a truncation warning naming the file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/check.h"
#include "tests/tracefmt/tracecheck.h"
#include "tests/tracefmt/tracegen.h"
#include "tests/tracekit.h"
#include "tracefmt/sptrace.h"

#define NAME       "damaged.sptrace"
#define MAX_FRAMES 256

static uint8_t *g_data; /* the intact trace */
static size_t g_size;
static tc_read_result g_full; /* its events */
static tc_frame_info g_frames[MAX_FRAMES];
static size_t g_n_frames;                   /* frame 0 is the header */
static size_t g_events_through[MAX_FRAMES]; /* events in frames 1..k */
static uint64_t *g_plain;                   /* g_full's keys without THREAD_START */
static size_t g_plain_n;
static size_t g_plain_through[MAX_FRAMES]; /* the same, through frame k */

static int starts_with(const char *s, const char *prefix) {
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Reads the first `size` bytes of data from an exactly sized copy, so ASan sees any over-read. */
static void read_copy(const uint8_t *data, size_t size, tc_read_result *res) {
    uint8_t *copy = malloc(size ? size : 1);
    memcpy(copy, data, size);
    tc_read_memory(copy, size, NAME, NULL, res);
    free(copy);
}

static int warnings_name_file(const tc_warnings *w) {
    for (size_t i = 0; i < w->n; i++) {
        if (!starts_with(w->items[i], NAME ": ") || strchr(w->items[i], '\n') != NULL) {
            return 0;
        }
    }
    return 1;
}

/* res.keys[from..from+n) == g_full.keys[at..at+n) */
static int same_keys(const tc_read_result *res, size_t from, size_t at, size_t n) {
    if (from + n > res->n || at + n > g_full.n) {
        return 0;
    }
    return n == 0 || memcmp(res->keys + from, g_full.keys + at, n * sizeof *res->keys) == 0;
}

/* Event keys without THREAD_START: when a thread's first definition is lost with a damaged chunk,
 * the next chunk that restates it announces it then, so thread starts are checked apart. */
static size_t without_thread_starts(const tc_read_result *res, uint64_t *out) {
    size_t n = 0;
    for (size_t i = 0; i < res->n; i++) {
        if (res->kinds[i] != SPT_EV_THREAD_START) {
            out[n++] = res->keys[i];
        }
    }
    return n;
}

/* Every THREAD_START read is for one of the intact trace's threads, and none comes twice. */
static int thread_starts_ok(const tc_read_result *res) {
    for (size_t i = 0; i < res->n; i++) {
        if (res->kinds[i] != SPT_EV_THREAD_START) {
            continue;
        }
        int known = 0;
        for (size_t j = 0; j < g_full.n && !known; j++) { /* by thread: the name may be newer */
            known = g_full.kinds[j] == SPT_EV_THREAD_START &&
                    g_full.thread_keys[j] == res->thread_keys[i];
        }
        for (size_t j = 0; j < i && known; j++) {
            known =
                res->kinds[j] != SPT_EV_THREAD_START || res->thread_keys[j] != res->thread_keys[i];
        }
        if (!known) {
            return 0;
        }
    }
    return 1;
}

static void index_trace(void);

static void build_trace(void) {
    char path[512];
    tk_tmp_path("damage.sptrace", path, sizeof path);
    spt_header h = tg_default_header(1);
    spt_writer_options wo;
    memset(&wo, 0, sizeof wo);
    wo.chunk_bytes = 3072;
    wo.segment_bytes = 256;
    spt_writer *w = NULL;
    CHECK("the writer opens", spt_writer_open(path, &h, &wo, &w) == SPT_OK);
    tg_model m;
    tg_model_init(&m, w);
    tg_gen_options go = {31, 200, 16, 6, 0};
    CHECK("the trace is written", tg_generate(&m, &go) == 0);
    spt_end end = tg_default_end();
    CHECK("the writer closes", tg_close(&m, &end) == SPT_OK);
    g_data = (uint8_t *)tk_read_file(path, &g_size);
    CHECK("the trace file reads", g_data != NULL);
    unlink(path);

    tc_read_options o = {0, NULL, 1};
    tc_read_memory(g_data, g_size, NAME, &o, &g_full);
    tc_expected e;
    tc_expected_from_model(&m, &e);
    CHECK("the intact trace reads back equal",
          tc_compare_with_model("intact", &e, &g_full, e.n) == 0 && g_full.warnings.n == 0);
    tc_expected_free(&e);
    tg_model_free(&m);
    index_trace();
    CHECK("the trace has a header and at least 3 chunks", g_n_frames >= 4);
}

/* Indexes the intact trace in g_data/g_full: its frames, and the events through each chunk
 * boundary, which is what a cut there must return. */
static void index_trace(void) {
    g_plain = malloc((g_full.n + 1) * sizeof *g_plain);
    g_plain_n = without_thread_starts(&g_full, g_plain);
    g_n_frames = tc_list_frames(g_data, g_size, g_frames, MAX_FRAMES);
    CHECK("the header frame is as long as the reader says",
          g_frames[0].size == g_full.stats.header_bytes);
    /* Events up to each chunk boundary: cut there, the file is whole, just unfinished. */
    int boundaries_ok = 1;
    for (size_t k = 0; k < g_n_frames; k++) {
        size_t end_at = g_frames[k].offset + g_frames[k].size;
        tc_read_result res;
        read_copy(g_data, end_at, &res);
        g_events_through[k] = res.n;
        g_plain_through[k] = 0;
        for (size_t j = 0; j < res.n; j++) {
            g_plain_through[k] += res.kinds[j] != SPT_EV_THREAD_START;
        }
        boundaries_ok &= res.open_status == SPT_OK && res.last_status == SPT_END &&
                         same_keys(&res, 0, 0, res.n) && !res.stats.truncated &&
                         res.warnings.n == 0 && res.stats.ended_cleanly == (k + 1 == g_n_frames) &&
                         res.stats.chunks == k && res.stats.file_bytes == end_at;
        if (k > 0) {
            boundaries_ok &= g_events_through[k] > g_events_through[k - 1];
        }
        tc_read_result_free(&res);
    }
    CHECK("cut at a chunk boundary: all earlier chunks' events, no warning, not truncated",
          boundaries_ok);
    CHECK_EQ_U64("the last boundary is the whole trace", g_events_through[g_n_frames - 1],
                 g_full.n);
    printf("trace: %zu bytes, %zu chunks, %zu events\n", g_size, g_n_frames - 1, g_full.n);
}

/* Which frame holds byte i. */
static size_t frame_of(size_t i) {
    size_t k = 0;
    while (k + 1 < g_n_frames && g_frames[k + 1].offset <= i) {
        k++;
    }
    return k;
}

static void truncate_everywhere(void) {
    size_t header = g_frames[0].size;
    int header_ok = 1, prefix_ok = 1, monotonic = 1, flags_ok = 1, warn_ok = 1;
    size_t last_n = 0, bad_cut = SIZE_MAX;
    for (size_t cut = 0; cut <= g_size; cut++) {
        tc_read_result res;
        read_copy(g_data, cut, &res);
        if (cut < header) {
            int ok = res.open_status == SPT_E_TRUNCATED ||
                     (cut < 16 && res.open_status == SPT_E_BAD_MAGIC);
            ok &= starts_with(res.open_error, NAME ": ");
            if (!ok && header_ok) {
                fprintf(stderr, "cut at %zu (in the header): %s: %s\n", cut,
                        spt_status_name(res.open_status), res.open_error);
            }
            header_ok &= ok;
            tc_read_result_free(&res);
            continue;
        }
        size_t k = frame_of(cut == 0 ? 0 : cut - 1); /* the frame the cut falls in or ends */
        int at_boundary = cut == g_frames[k].offset + g_frames[k].size;
        size_t lo = at_boundary ? g_events_through[k] : g_events_through[k - 1];
        size_t hi = g_events_through[k];
        int ok = res.open_status == SPT_OK && res.last_status == SPT_END &&
                 same_keys(&res, 0, 0, res.n) && res.n >= lo && res.n <= hi;
        if (!ok && bad_cut == SIZE_MAX) {
            bad_cut = cut;
            fprintf(stderr, "cut at %zu of %zu: %s, %zu events (expected %zu..%zu, a prefix)\n",
                    cut, g_size, spt_status_name(res.last_status), res.n, lo, hi);
        }
        prefix_ok &= ok;
        monotonic &= res.n >= last_n;
        last_n = res.n;
        int truncated_expected = !at_boundary;
        /* A cut right after a flush leaves nothing unused: truncated_bytes may then be 0. */
        int flags = res.stats.truncated == truncated_expected &&
                    res.stats.truncated_bytes <= (at_boundary ? 0 : cut - g_frames[k].offset) &&
                    res.stats.file_bytes == cut && res.stats.ended_cleanly == (res.n == g_full.n);
        if (!flags && flags_ok) {
            fprintf(stderr,
                    "cut at %zu of %zu (chunk boundary: %d): truncated=%d "
                    "truncated_bytes=%llu file_bytes=%llu ended_cleanly=%d\n",
                    cut, g_size, at_boundary, res.stats.truncated,
                    (unsigned long long)res.stats.truncated_bytes,
                    (unsigned long long)res.stats.file_bytes, res.stats.ended_cleanly);
        }
        flags_ok &= flags;
        if (truncated_expected) {
            warn_ok &= tc_warnings_find(&res.warnings, "truncated at byte") >= 0;
        }
        warn_ok &= warnings_name_file(&res.warnings);
        tc_read_result_free(&res);
    }
    CHECK("a cut inside the header is SPT_E_TRUNCATED (or BAD_MAGIC before the magic), naming "
          "the file",
          header_ok);
    CHECK("a cut anywhere after the header returns exactly a prefix of the events, at least "
          "every whole chunk before the cut",
          prefix_ok);
    CHECK("cutting later never returns fewer events", monotonic);
    CHECK(
        "stats.truncated is set exactly when the cut is inside a chunk, truncated_bytes within it",
        flags_ok);
    CHECK("a cut inside a chunk warns 'truncated at byte', naming the file", warn_ok);
}

/* Bytes whose every bit is flipped: the header, and each chunk's first 32 bytes (zstd frame and
 * first block headers) and last 16 (last block header and content checksum). Elsewhere two bits
 * per byte keep the test quick under ASan. */
static int dense_byte(size_t i) {
    size_t k = frame_of(i);
    size_t from = i - g_frames[k].offset, to_end = g_frames[k].offset + g_frames[k].size - i;
    return k == 0 || from < 32 || to_end <= 16;
}

static void flip_bits(void) {
    size_t header = g_frames[0].size;
    size_t n_bits = g_size * 8;
    uint8_t *copy = malloc(g_size);
    int header_ok = 1, events_ok = 1, warn_ok = 1, status_ok = 1;
    size_t flips = 0, lossy = 0, reported = 0;
    for (size_t bit = 0; bit < n_bits; bit++) {
        size_t i = bit / 8;
        if (!dense_byte(i) && bit % 4 != i % 4) {
            continue; /* two bits of each byte in the compressed middle of a chunk */
        }
        memcpy(copy, g_data, g_size);
        copy[i] ^= (uint8_t)(1u << (bit % 8));
        tc_read_result res;
        tc_read_memory(copy, g_size, NAME, NULL, &res);
        uint64_t *plain = malloc((res.n + 1) * sizeof *plain);
        flips++;
        if (i < header) {
            int ok = res.open_status != SPT_OK && res.open_status != SPT_E_IO &&
                     res.open_status != SPT_E_NOMEM && starts_with(res.open_error, NAME ": ");
            if (!ok && header_ok) {
                fprintf(stderr, "bit %zu (header byte %zu) flipped: open gave %s: %s\n", bit, i,
                        spt_status_name(res.open_status), res.open_error);
            }
            header_ok &= ok;
            tc_read_result_free(&res);
            free(plain);
            continue;
        }
        size_t k = frame_of(i);
        size_t before = g_plain_through[k - 1], after = g_plain_n - g_plain_through[k];
        size_t in_chunk = g_plain_through[k] - before;
        size_t n = without_thread_starts(&res, plain);
        int ok =
            res.open_status == SPT_OK && n >= before + after && n <= before + in_chunk + after &&
            memcmp(plain, g_plain, (n - after) * sizeof *plain) == 0 &&
            memcmp(plain + n - after, g_plain + g_plain_through[k], after * sizeof *plain) == 0 &&
            thread_starts_ok(&res);
        status_ok &= res.last_status == SPT_END;
        if (!ok && reported < 3) {
            reported++;
            fprintf(stderr,
                    "bit %zu (byte %zu, chunk %zu at %zu) flipped: %zu events (not "
                    "counting thread starts); expected %zu before, up to %zu in the "
                    "chunk, %zu after\n",
                    bit, i, k - 1, g_frames[k].offset, n, before, in_chunk, after);
            for (size_t w = 0; w < res.warnings.n; w++) {
                fprintf(stderr, "  warning: %s\n", res.warnings.items[w]);
            }
        }
        events_ok &= ok;
        if (res.n < g_full.n) {
            lossy++;
            warn_ok &= res.warnings.n > 0 && (res.stats.damaged_chunks > 0 || res.stats.truncated);
        }
        warn_ok &= warnings_name_file(&res.warnings);
        tc_read_result_free(&res);
        free(plain);
    }
    free(copy);
    printf("flipped %zu of %zu bits; %zu of the flips lost events\n", flips, n_bits, lossy);
    CHECK("a flipped bit in the header fails the open with a header error naming the file",
          header_ok);
    CHECK("a flipped bit in chunk k keeps every event of the other chunks and a prefix of chunk k",
          events_ok);
    CHECK("reading a damaged trace still ends with SPT_END", status_ok);
    CHECK("losing events always comes with a warning naming the file and a damage count", warn_ok);
}

/* Writes `n` samples and a marker through the model. */
static void record_batch(tg_model *m, uint32_t thread, const uint32_t *stacks, uint64_t *t, int n) {
    for (int i = 0; i < n; i++) {
        *t += 10000;
        tg_sample(m, thread, *t, stacks[i % 3], 1, 0);
    }
    tg_marker(m, thread, *t, tg_cstring(m, "batch"));
}

/* Copies the file as it is on disk and checks it holds the model's events up to the last flush,
 * or more (a chunk that filled up was closed and written without a flush), in order. */
static void check_copy(const char *label, const char *path, const tg_model *m, size_t n_flushed) {
    char what[256];
    size_t size = 0;
    uint8_t *data = (uint8_t *)tk_read_file(path, &size);
    tc_read_result res;
    tc_read_options o = {0, NULL, 1};
    tc_read_memory(data, size, NAME, &o, &res);
    tc_expected e;
    tc_expected_from_model(m, &e);
    size_t plain_read = 0, plain_model = 0, n_expected = n_flushed;
    for (size_t i = 0; i < res.n; i++) {
        plain_read += res.kinds[i] != SPT_EV_THREAD_START;
    }
    for (size_t i = 0; i < e.n; i++) {
        plain_model += e.kinds[i] != SPT_EV_THREAD_START;
        if (plain_model == plain_read && i + 1 >= n_flushed) {
            n_expected = i + 1;
            break;
        }
    }
    snprintf(what, sizeof what, "%s: the copy holds every event recorded before the flush", label);
    CHECK(what, res.open_status == SPT_OK && res.last_status == SPT_END &&
                    tc_compare_with_model(label, &e, &res, n_expected) == 0);
    tc_frame_info frames[MAX_FRAMES];
    size_t n = tc_list_frames(data, size, frames, MAX_FRAMES);
    int open_chunk = n > 0 && frames[n - 1].size == 0;
    snprintf(what, sizeof what, "%s: truncated exactly when the last chunk is still open", label);
    CHECK(what, res.stats.truncated == open_chunk && !res.stats.ended_cleanly);
    if (open_chunk) {
        snprintf(what, sizeof what, "%s: the copy warns 'truncated at byte', naming the file",
                 label);
        CHECK(what, tc_warnings_find(&res.warnings, "truncated at byte") >= 0 &&
                        warnings_name_file(&res.warnings));
    }
    tc_expected_free(&e);
    tc_read_result_free(&res);
    free(data);
}

/* The recorder is SIGKILLed while the writer is open: what is on disk must be readable. */
static void killed_mid_write(size_t chunk_bytes, const char *label) {
    char path[512], what[256];
    tk_tmp_path("killed.sptrace", path, sizeof path);
    spt_header h = tg_default_header(1);
    spt_writer_options wo;
    memset(&wo, 0, sizeof wo);
    wo.chunk_bytes = chunk_bytes;
    spt_writer *w = NULL;
    CHECK("the writer opens", spt_writer_open(path, &h, &wo, &w) == SPT_OK);
    tg_model m;
    tg_model_init(&m, w);
    uint32_t fn = tg_cstring(&m, "loop");
    spt_frame f;
    memset(&f, 0, sizeof f);
    f.kind = SPT_FRAME_PYTHON;
    f.function = fn;
    uint32_t frames[3];
    for (uint32_t i = 0; i < 3; i++) {
        f.line = 10 + i;
        frames[i] = tg_frame(&m, &f);
    }
    uint32_t stacks[3] = {tg_stack_path(&m, frames, 1), tg_stack_path(&m, frames, 2),
                          tg_stack_path(&m, frames, 3)};
    uint32_t th = tg_thread(&m, 42, fn, 1000);
    uint64_t t = 1000;
    for (int batch = 0; batch < 6; batch++) {
        record_batch(&m, th, stacks, &t, 40);
        tg_flush(&m);
        snprintf(what, sizeof what, "%s, after flush %d", label, batch + 1);
        check_copy(what, path, &m, m.n_events);
    }
    size_t flushed = m.n_events;
    record_batch(&m, th, stacks, &t, 40); /* recorded but not flushed */
    snprintf(what, sizeof what, "%s, unflushed tail", label);
    check_copy(what, path, &m, flushed);
    spt_end end = tg_default_end();
    CHECK("the writer closes", tg_close(&m, &end) == SPT_OK);
    size_t size = 0;
    uint8_t *data = (uint8_t *)tk_read_file(path, &size);
    tc_read_result res;
    tc_read_options o = {0, NULL, 1};
    tc_read_memory(data, size, NAME, &o, &res);
    tc_expected e;
    tc_expected_from_model(&m, &e);
    snprintf(what, sizeof what, "%s: after close the file holds everything", label);
    CHECK(what, tc_compare_with_model(label, &e, &res, e.n) == 0 && res.stats.ended_cleanly);
    CHECK("the writer model saw no failures", m.failures == 0);
    tc_expected_free(&e);
    tc_read_result_free(&res);
    free(data);
    tg_model_free(&m);
    unlink(path);
}

/* A trace the recorder wrote (testdata/recorded/): the same cuts and flips must hold for what
 * the real writer path produces, not only for generated streams. */
static void load_recorded(const char *path) {
    g_data = (uint8_t *)tk_read_file(path, &g_size);
    CHECK("the recorded trace file reads", g_data != NULL);
    if (!g_data)
        return;
    tc_read_options o = {0, NULL, 1};
    tc_read_memory(g_data, g_size, NAME, &o, &g_full);
    CHECK("the recorded trace reads whole: ended cleanly, no warning, some samples",
          g_full.open_status == SPT_OK && g_full.last_status == SPT_END &&
              g_full.stats.ended_cleanly && g_full.warnings.n == 0 &&
              g_full.stats.events[SPT_EV_SAMPLE] > 0);
    index_trace();
    CHECK("the recorded trace has a header and a chunk", g_n_frames >= 2);
}

static void free_trace(void) {
    tc_read_result_free(&g_full);
    free(g_plain);
    free(g_data);
    g_plain = NULL;
    g_data = NULL;
}

int main(int argc, char **argv) {
    build_trace();
    if (g_n_frames >= 4) {
        truncate_everywhere();
        flip_bits();
    }
    killed_mid_write(0, "one open chunk");
    killed_mid_write(1024, "small chunks");
    free_trace();
    for (int i = 1; i < argc; i++) {
        load_recorded(argv[i]);
        if (g_data && g_n_frames >= 2) {
            truncate_everywhere();
            flip_bits();
        }
        free_trace();
    }
    return CHECK_DONE();
}

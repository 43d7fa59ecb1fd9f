/* export.c: writes a model as an aggregated trace: SAMPLE_TOTAL and ALLOC_TOTAL records per
 * (thread, stack), with the definitions they use translated from the reader's id space to the
 * writer's, plus threads, renames, markers, metadata, children and drops (format.md 5.3).
 * Translation is memoized per id, so the work grows with unique definitions, not samples. */
#include "analyze/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const spa_model *m;
    const spt_reader *r;
    spt_writer *w;
    uint64_t offset_ns;
    const spa_regex *focus;
    const spa_regex *ignore;
    uint32_t *strings;          /* [reader id] writer id, 0 = not yet */
    uint32_t *mappings;         /* [reader id] writer id, 0 = not yet */
    uint32_t *frames;           /* [reader id] writer id, 0 = not yet */
    uint32_t *stacks;           /* [reader id] writer id (0 = empty) */
    unsigned char *stack_state; /* [reader id] 1 once translated */
    unsigned char *focus_memo;  /* [frame id] 0 not asked, 1 no, 2 yes */
    unsigned char *ignore_memo;
    uint32_t *threads; /* [reader id] writer id, 0 = not written */
    uint32_t *chain;   /* stack_id's scratch: a chain of untranslated parents */
    size_t chain_cap;
    spa_export_stats stats; /* what was written */
    int failed;             /* the writer failed, or (nomem) we ran out of memory */
    int nomem;
} exporter;

static uint32_t str_id(exporter *x, uint32_t id) {
    if (id == 0 || x->failed)
        return 0;
    if (!x->strings[id]) {
        size_t len = spt_reader_string_len(x->r, id);
        x->strings[id] = spt_writer_string(x->w, spt_reader_string(x->r, id), len);
        if (!x->strings[id] && len)
            x->failed = 1;
    }
    return x->strings[id];
}

static uint32_t mapping_id(exporter *x, uint32_t id) {
    if (id == 0 || x->failed)
        return 0;
    if (!x->mappings[id]) {
        spt_mapping map = *spt_reader_mapping(x->r, id);
        map.path = str_id(x, map.path);
        x->mappings[id] = spt_writer_mapping(x->w, &map);
        x->failed |= !x->mappings[id];
    }
    return x->mappings[id];
}

static uint32_t frame_id(exporter *x, uint32_t id) {
    if (x->failed)
        return 0;
    if (!x->frames[id]) {
        spt_frame fr = *spt_reader_frame(x->r, id);
        fr.function = str_id(x, fr.function);
        fr.file = str_id(x, fr.file);
        fr.mapping = mapping_id(x, fr.mapping);
        x->frames[id] = spt_writer_frame(x->w, &fr);
        x->failed |= !x->frames[id];
    }
    return x->frames[id];
}

static int memo_match(const spa_regex *re, const spt_reader *r, unsigned char *memo,
                      uint32_t frame) {
    if (!memo[frame])
        memo[frame] = spa_regex_frame_matches(re, r, frame) ? 2 : 1;
    return memo[frame] == 2;
}

/* Translates stack id `id`, its untranslated parents first, splicing out ignored frames, and sets
 * pass[] (a frame on the path matches --focus) along the way. */
static uint32_t stack_id(exporter *x, uint32_t id, unsigned char *pass) {
    size_t n = 0;
    for (uint32_t s = id; s != 0 && !x->stack_state[s];) {
        if (n == x->chain_cap) {
            size_t cap = x->chain_cap ? x->chain_cap * 2 : 64;
            uint32_t *p = realloc(x->chain, cap * sizeof *p);
            if (!p) {
                x->failed = x->nomem = 1;
                return 0;
            }
            x->chain = p;
            x->chain_cap = cap;
        }
        x->chain[n++] = s;
        const spt_stack *st = spt_reader_stack(x->r, s);
        s = st && st->parent < s ? st->parent : 0; /* parents have smaller ids (format.md 5.3) */
    }
    /* chain[n - 1] is the outermost untranslated node; its parent is translated or the root. */
    for (size_t i = n; i-- > 0 && !x->failed;) {
        uint32_t s = x->chain[i];
        const spt_stack *st = spt_reader_stack(x->r, s);
        uint32_t parent = st && st->parent < s ? st->parent : 0;
        uint32_t wparent = parent ? x->stacks[parent] : 0;
        int parent_pass = parent ? pass[parent] : 0;
        int hide = !st || (x->ignore && memo_match(x->ignore, x->r, x->ignore_memo, st->frame));
        if (hide) {
            x->stacks[s] = wparent;
        } else {
            x->stacks[s] = spt_writer_stack(x->w, wparent, frame_id(x, st->frame));
            x->failed |= !x->stacks[s];
        }
        pass[s] =
            (unsigned char)(parent_pass || (st && x->focus &&
                                            memo_match(x->focus, x->r, x->focus_memo, st->frame)));
        x->stack_state[s] = 1;
    }
    return id ? x->stacks[id] : 0;
}

static uint64_t round_count(double c) {
    return c > 0 ? (uint64_t)llround(c) : 0;
}

/* Threads the filter selects, in id order, with their first name; renames follow as events. */
static void write_threads(exporter *x) {
    const spa_model *m = x->m;
    uint32_t n = spt_reader_thread_count(x->r);
    for (uint32_t id = 1; id <= n && !x->failed; id++) {
        if (!spa_model_thread_selected(m, id))
            continue;
        const spt_thread *th = spt_reader_thread(x->r, id);
        uint32_t first = spa_model_thread_first_name(m, id);
        x->threads[id] = spt_writer_thread(x->w, th->os_tid, str_id(x, first ? first : th->name),
                                           th->start_ns + x->offset_ns);
        x->failed |= !x->threads[id];
    }
    size_t n_renames;
    const spa_note *renames = spa_model_renames(m, &n_renames);
    for (size_t i = 0; i < n_renames && !x->failed; i++) {
        uint32_t wt = renames[i].thread < n + 1 ? x->threads[renames[i].thread] : 0;
        if (wt)
            x->failed |= spt_writer_thread_name(x->w, wt, renames[i].time_ns + x->offset_ns,
                                                str_id(x, renames[i].text)) != SPT_OK;
    }
    for (uint32_t id = 1; id <= n && !x->failed; id++) {
        const spt_thread *th = spt_reader_thread(x->r, id);
        if (x->threads[id] && th->end_ns)
            x->failed |=
                spt_writer_thread_end(x->w, x->threads[id], th->end_ns + x->offset_ns) != SPT_OK;
    }
}

/* Metadata, markers, children and drops: small, and kept as they were (shifted in time). */
static void write_notes(exporter *x, uint64_t stamp_ns) {
    const spa_model *m = x->m;
    size_t n;
    const spa_metadata *meta = spa_model_metadata(m, &n);
    for (size_t i = 0; i < n && !x->failed; i++)
        x->failed |= spt_writer_metadata(x->w, x->offset_ns, str_id(x, meta[i].key),
                                         str_id(x, meta[i].value)) != SPT_OK;
    const spa_note *notes = spa_model_markers(m, &n);
    for (size_t i = 0; i < n && !x->failed; i++) {
        uint32_t t = notes[i].thread;
        if (t && !x->threads[t])
            continue; /* the marker's thread was filtered out */
        x->failed |= spt_writer_marker(x->w, t ? x->threads[t] : 0, notes[i].time_ns + x->offset_ns,
                                       str_id(x, notes[i].text)) != SPT_OK;
    }
    notes = spa_model_children(m, &n);
    for (size_t i = 0; i < n && !x->failed; i++)
        x->failed |=
            spt_writer_child(x->w, notes[i].time_ns + x->offset_ns, (spt_child_kind)notes[i].kind,
                             notes[i].pid, str_id(x, notes[i].text)) != SPT_OK;
    const spa_totals *t = spa_model_totals(m);
    for (unsigned reason = 1; reason < sizeof t->drops / sizeof t->drops[0]; reason++) {
        if (t->drops[reason] && !x->failed)
            x->failed |= spt_writer_drops(x->w, stamp_ns, (spt_drop_reason)reason,
                                          t->drops[reason]) != SPT_OK;
    }
}

static void write_entries(exporter *x, uint64_t stamp_ns, unsigned char *pass) {
    size_t n;
    const spa_entry *entries = spa_model_entries(x->m, &n);
    for (size_t i = 0; i < n && !x->failed; i++) {
        const spa_entry *e = &entries[i];
        if (!spa_model_thread_selected(x->m, e->thread) || (e->thread && !x->threads[e->thread]))
            continue;
        uint32_t wt = e->thread ? x->threads[e->thread] : 0;
        uint32_t ws = stack_id(x, e->stack, pass);
        if (x->focus && (e->stack == 0 || !pass[e->stack]))
            continue;
        const spa_data *d = &e->data;
        spt_status st = SPT_OK;
        if (d->run.count || d->run.weight) {
            st = spt_writer_sample_total(x->w, wt, stamp_ns, ws, d->run.count, d->run.weight, 0);
            x->stats.records++;
        }
        if (st == SPT_OK && (d->idle.count || d->idle.weight)) {
            st = spt_writer_sample_total(x->w, wt, stamp_ns, ws, d->idle.count, d->idle.weight,
                                         SPT_SAMPLE_IDLE);
            x->stats.records++;
        }
        if (st == SPT_OK && (d->alloc_bytes || d->live_bytes || d->alloc_count > 0)) {
            st = spt_writer_alloc_total(x->w, wt, stamp_ns, ws, round_count(d->alloc_count),
                                        d->alloc_bytes, round_count(d->live_count), d->live_bytes);
            x->stats.records++;
            x->stats.allocs += round_count(d->alloc_count);
        }
        x->stats.samples.count += d->run.count + d->idle.count;
        x->stats.samples.weight += d->run.weight + d->idle.weight;
        x->failed |= st != SPT_OK;
    }
}

spt_status spa_export(const spa_model *m, spt_writer *w, uint64_t offset_ns, const spa_regex *focus,
                      const spa_regex *ignore, spa_export_stats *out) {
    exporter x;
    memset(&x, 0, sizeof x);
    x.m = m;
    x.r = spa_model_reader(m);
    x.w = w;
    x.offset_ns = offset_ns;
    x.focus = focus;
    x.ignore = ignore;
    size_t n_strings = (size_t)spt_reader_string_count(x.r) + 1;
    size_t n_mappings = (size_t)spt_reader_mapping_count(x.r) + 1;
    size_t n_frames = (size_t)spt_reader_frame_count(x.r) + 1;
    size_t n_stacks = (size_t)spt_reader_stack_count(x.r) + 1;
    size_t n_threads = (size_t)spt_reader_thread_count(x.r) + 1;
    x.strings = calloc(n_strings, sizeof *x.strings);
    x.mappings = calloc(n_mappings, sizeof *x.mappings);
    x.frames = calloc(n_frames, sizeof *x.frames);
    x.stacks = calloc(n_stacks, sizeof *x.stacks);
    x.stack_state = calloc(n_stacks, 1);
    x.focus_memo = calloc(n_frames, 1);
    x.ignore_memo = calloc(n_frames, 1);
    x.threads = calloc(n_threads, sizeof *x.threads);
    unsigned char *pass = calloc(n_stacks, 1);
    spt_status st = SPT_OK;
    if (!x.strings || !x.mappings || !x.frames || !x.stacks || !x.stack_state || !x.focus_memo ||
        !x.ignore_memo || !x.threads || !pass) {
        st = SPT_E_NOMEM;
    } else {
        /* Aggregated records carry the time they were written (format.md 5.3): the end of the
         * recording, so the time register of the output stays within the original span. */
        uint64_t stamp_ns = spa_model_totals(m)->last_time_ns + offset_ns;
        write_threads(&x);
        write_notes(&x, stamp_ns);
        write_entries(&x, stamp_ns, pass);
        if (x.failed)
            st = x.nomem ? SPT_E_NOMEM : SPT_E_USAGE;
        if (out)
            *out = x.stats;
    }
    free(x.strings);
    free(x.mappings);
    free(x.frames);
    free(x.stacks);
    free(x.stack_state);
    free(x.focus_memo);
    free(x.ignore_memo);
    free(x.threads);
    free(x.chain);
    free(pass);
    return st;
}

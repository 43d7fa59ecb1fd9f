/* tracetext.c: the text side of tracecheck.h: one-line descriptions of events for failure
 * messages, and the exact renderings of headers, frames and events that golden files hold. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tests/tracefmt/tracecheck.h"

/* ---- text ----------------------------------------------------------------------------------- */

typedef struct {
    char *p;
    size_t left;
} outbuf;

__attribute__((format(printf, 2, 3))) static void out(outbuf *o, const char *fmt, ...) {
    if (o->left <= 1) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->p, o->left, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    size_t used = (size_t)n < o->left ? (size_t)n : o->left - 1;
    o->p += used;
    o->left -= used;
}

/* A string quoted with C escapes, at most max bytes of it shown. */
static void out_quoted(outbuf *o, const char *s, size_t len, size_t max) {
    out(o, "\"");
    for (size_t i = 0; i < len && i < max; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') {
            out(o, "\\%c", ch);
        } else if (ch >= 0x20 && ch < 0x7F) {
            out(o, "%c", ch);
        } else {
            out(o, "\\x%02x", ch);
        }
    }
    out(o, len > max ? "\"...(%zu bytes)" : "\"", len);
}

static const char *const kind_names[] = {
    [SPT_EV_SAMPLE] = "SAMPLE",
    [SPT_EV_ALLOC] = "ALLOC",
    [SPT_EV_FREE] = "FREE",
    [SPT_EV_MARKER] = "MARKER",
    [SPT_EV_THREAD_START] = "THREAD_START",
    [SPT_EV_THREAD_NAME] = "THREAD_NAME",
    [SPT_EV_THREAD_END] = "THREAD_END",
    [SPT_EV_DROPS] = "DROPS",
    [SPT_EV_CHILD] = "CHILD",
    [SPT_EV_ALLOC_TOTAL] = "ALLOC_TOTAL",
    [SPT_EV_METADATA] = "METADATA",
    [SPT_EV_END] = "END",
};

static const char *kind_name(spt_event_kind kind) {
    return (unsigned)kind < sizeof kind_names / sizeof kind_names[0] && kind_names[kind]
               ? kind_names[kind]
               : "UNKNOWN";
}

static void describe_string(tc_canon *c, outbuf *o, uint32_t id) {
    size_t len = 0;
    const char *s = c->res.string(c->res.ctx, id, &len);
    if (s == NULL) {
        out(o, "<bad string id %u>", id);
    } else {
        out_quoted(o, s, len, 40);
    }
}

static void describe_stack(tc_canon *c, outbuf *o, uint32_t id) {
    uint64_t key = tc_stack_key(c, id);
    if (id == 0) {
        out(o, "<empty>");
        return;
    }
    const spt_stack *st = c->res.stack(c->res.ctx, id);
    const spt_frame *f = st ? c->res.frame(c->res.ctx, st->frame) : NULL;
    out(o, "[depth %u, innermost ", st ? st->depth : 0);
    if (f != NULL) {
        describe_string(c, o, f->function);
    } else {
        out(o, "?");
    }
    out(o, ", key %016" PRIx64 "]", key);
}

void tc_event_describe(tc_canon *c, const spt_event *ev, char *buf, size_t cap) {
    outbuf o = {buf, cap};
    buf[0] = '\0';
    out(&o, "%s t=%" PRIu64, kind_name(ev->kind), ev->time_ns);
    if (ev->thread) {
        const spt_thread *t = c->res.thread(c->res.ctx, ev->thread);
        if (t) {
            out(&o, " thread=tid %u start %" PRIu64, t->os_tid, t->start_ns);
        } else {
            out(&o, " thread=<bad id %u>", ev->thread);
        }
    }
    switch (ev->kind) {
    case SPT_EV_SAMPLE:
        out(&o, " stack=");
        describe_stack(c, &o, ev->u.sample.stack);
        out(&o, " weight=%" PRIu64 " count=%" PRIu64 " flags=%u", ev->u.sample.weight,
            ev->u.sample.count, ev->u.sample.flags);
        break;
    case SPT_EV_ALLOC:
        out(&o, " stack=");
        describe_stack(c, &o, ev->u.alloc.stack);
        out(&o, " address=0x%" PRIx64 " size=%" PRIu64 " weight=%" PRIu64, ev->u.alloc.address,
            ev->u.alloc.size_bytes, ev->u.alloc.weight_bytes);
        break;
    case SPT_EV_FREE:
        out(&o, " address=0x%" PRIx64, ev->u.free.address);
        break;
    case SPT_EV_MARKER:
        out(&o, " text=");
        describe_string(c, &o, ev->u.marker.text);
        break;
    case SPT_EV_THREAD_START:
    case SPT_EV_THREAD_NAME:
        out(&o, " name=");
        describe_string(c, &o, ev->u.thread_info.name);
        break;
    case SPT_EV_DROPS:
        out(&o, " reason=%d count=%" PRIu64, (int)ev->u.drops.reason, ev->u.drops.count);
        break;
    case SPT_EV_CHILD:
        out(&o, " kind=%d pid=%u path=", (int)ev->u.child.kind, ev->u.child.pid);
        describe_string(c, &o, ev->u.child.trace_path);
        break;
    case SPT_EV_ALLOC_TOTAL:
        out(&o, " stack=");
        describe_stack(c, &o, ev->u.alloc_total.stack);
        out(&o, " %" PRIu64 "/%" PRIu64 " live %" PRIu64 "/%" PRIu64, ev->u.alloc_total.alloc_count,
            ev->u.alloc_total.alloc_bytes, ev->u.alloc_total.live_count,
            ev->u.alloc_total.live_bytes);
        break;
    case SPT_EV_METADATA:
        out(&o, " key=");
        describe_string(c, &o, ev->u.metadata.key);
        out(&o, " value=");
        describe_string(c, &o, ev->u.metadata.value);
        break;
    case SPT_EV_END:
        out(&o,
            " reason=%d status=%d samples=%" PRIu64 " weight=%" PRIu64 " allocs=%" PRIu64
            " frees=%" PRIu64,
            (int)ev->u.end.reason, ev->u.end.status, ev->u.end.samples, ev->u.end.sample_weight,
            ev->u.end.allocs, ev->u.end.frees);
        break;
    default:
        break;
    }
}

static void render_string(const spt_reader *r, outbuf *o, uint32_t id) {
    if (id > spt_reader_string_count(r)) {
        out(o, "<bad string id>");
        return;
    }
    out_quoted(o, spt_reader_string(r, id), spt_reader_string_len(r, id), 200);
}

static void render_thread(const spt_reader *r, outbuf *o, uint32_t id) {
    const spt_thread *t = spt_reader_thread(r, id);
    if (id == 0) {
        out(o, " thread=-");
    } else if (t == NULL) {
        out(o, " thread=<bad id>");
    } else {
        out(o, " thread=%u", t->os_tid);
    }
}

/* Function names outermost first, joined by '>'; "?" for a frame with no name. */
static void render_stack(const spt_reader *r, outbuf *o, uint32_t id) {
    uint32_t ids[64];
    size_t n = 0;
    out(o, " stack=");
    if (id == 0) {
        out(o, "-");
        return;
    }
    for (uint32_t s = id; s != 0 && n < 64;) {
        const spt_stack *st = spt_reader_stack(r, s);
        if (st == NULL || st->parent >= s) {
            out(o, "<bad stack>");
            return;
        }
        ids[n++] = st->frame;
        s = st->parent;
    }
    while (n > 0) {
        const spt_frame *f = spt_reader_frame(r, ids[--n]);
        uint32_t fn = f ? f->function : 0;
        if (fn == 0 || fn > spt_reader_string_count(r)) {
            out(o, "?");
        } else {
            out(o, "%.*s", (int)spt_reader_string_len(r, fn), spt_reader_string(r, fn));
        }
        out(o, n ? ">" : "");
    }
}

void tc_event_render(const spt_reader *r, const spt_event *ev, char *buf, size_t cap) {
    outbuf o = {buf, cap};
    buf[0] = '\0';
    out(&o, "%s t=%" PRIu64, kind_name(ev->kind), ev->time_ns);
    switch (ev->kind) {
    case SPT_EV_SAMPLE:
        render_thread(r, &o, ev->thread);
        render_stack(r, &o, ev->u.sample.stack);
        out(&o, " weight=%" PRIu64 " count=%" PRIu64 " flags=%u", ev->u.sample.weight,
            ev->u.sample.count, ev->u.sample.flags);
        break;
    case SPT_EV_ALLOC:
        render_thread(r, &o, ev->thread);
        render_stack(r, &o, ev->u.alloc.stack);
        out(&o, " address=0x%" PRIx64 " size=%" PRIu64 " weight=%" PRIu64, ev->u.alloc.address,
            ev->u.alloc.size_bytes, ev->u.alloc.weight_bytes);
        break;
    case SPT_EV_FREE:
        render_thread(r, &o, ev->thread);
        out(&o, " address=0x%" PRIx64, ev->u.free.address);
        break;
    case SPT_EV_MARKER:
        render_thread(r, &o, ev->thread);
        out(&o, " text=");
        render_string(r, &o, ev->u.marker.text);
        break;
    case SPT_EV_THREAD_START:
    case SPT_EV_THREAD_NAME:
        render_thread(r, &o, ev->thread);
        out(&o, " name=");
        render_string(r, &o, ev->u.thread_info.name);
        break;
    case SPT_EV_THREAD_END:
        render_thread(r, &o, ev->thread);
        break;
    case SPT_EV_DROPS:
        out(&o, " reason=%d count=%" PRIu64, (int)ev->u.drops.reason, ev->u.drops.count);
        break;
    case SPT_EV_CHILD:
        out(&o, " kind=%d pid=%u path=", (int)ev->u.child.kind, ev->u.child.pid);
        render_string(r, &o, ev->u.child.trace_path);
        break;
    case SPT_EV_ALLOC_TOTAL:
        render_thread(r, &o, ev->thread);
        render_stack(r, &o, ev->u.alloc_total.stack);
        out(&o,
            " alloc_count=%" PRIu64 " alloc_bytes=%" PRIu64 " live_count=%" PRIu64
            " live_bytes=%" PRIu64,
            ev->u.alloc_total.alloc_count, ev->u.alloc_total.alloc_bytes,
            ev->u.alloc_total.live_count, ev->u.alloc_total.live_bytes);
        break;
    case SPT_EV_METADATA:
        out(&o, " key=");
        render_string(r, &o, ev->u.metadata.key);
        out(&o, " value=");
        render_string(r, &o, ev->u.metadata.value);
        break;
    case SPT_EV_END: {
        const spt_end *e = &ev->u.end;
        out(&o,
            " reason=%d status=%d duration_ns=%" PRIu64 " samples=%" PRIu64
            " sample_weight=%" PRIu64 " allocs=%" PRIu64 " frees=%" PRIu64
            " dropped_samples=%" PRIu64 " dropped_allocs=%" PRIu64 " allocs_seen=%" PRIu64
            " recorder_cpu_ns=%" PRIu64 " process_cpu_ns=%" PRIu64,
            (int)e->reason, e->status, e->duration_ns, e->samples, e->sample_weight, e->allocs,
            e->frees, e->dropped_samples, e->dropped_allocs, e->allocs_seen, e->recorder_cpu_ns,
            e->process_cpu_ns);
        break;
    }
    default:
        render_thread(r, &o, ev->thread);
        break;
    }
}

static void out_cstr(outbuf *o, const char *s) {
    if (s == NULL) {
        out(o, "(null)");
    } else {
        out_quoted(o, s, strlen(s), 200);
    }
}

void tc_header_render(const spt_header *h, char *buf, size_t cap) {
    outbuf o = {buf, cap};
    buf[0] = '\0';
    out(&o, "major=%u minor=%u recorder_version=", h->format_major, h->format_minor);
    out_cstr(&o, h->recorder_version);
    out(&o,
        " start_wall_ns=%" PRIu64 " start_mono_ns=%" PRIu64 " tick_ns=%" PRIu64
        " pid=%u ppid=%u executable=",
        h->start_wall_ns, h->start_mono_ns, h->tick_ns, h->pid, h->ppid);
    out_cstr(&o, h->executable);
    out(&o, " argv=[");
    for (uint32_t i = 0; i < h->argc && h->argv != NULL; i++) {
        out(&o, i ? "," : "");
        out_cstr(&o, h->argv[i]);
    }
    out(&o, "] hostname=");
    out_cstr(&o, h->hostname);
    out(&o, " arch=");
    out_cstr(&o, h->arch);
    out(&o,
        " clock=%d interval_ns=%" PRIu64 " alloc_mode=%d alloc_sample_bytes=%" PRIu64
        " python_version=0x%x max_depth=%u trace_id=",
        (int)h->clock, h->interval_ns, (int)h->alloc_mode, h->alloc_sample_bytes, h->python_version,
        h->max_depth);
    out_cstr(&o, h->trace_id);
    out(&o, " parent_trace=");
    out_cstr(&o, h->parent_trace);
}

void tc_frame_render(const spt_reader *r, uint32_t id, char *buf, size_t cap) {
    outbuf o = {buf, cap};
    buf[0] = '\0';
    const spt_frame *f = spt_reader_frame(r, id);
    if (f == NULL) {
        out(&o, "<no frame %u>", id);
        return;
    }
    spt_frame fr = *f;
    out(&o, "%s function=",
        fr.kind == SPT_FRAME_NATIVE   ? "native"
        : fr.kind == SPT_FRAME_PYTHON ? "python"
                                      : "<bad kind>");
    render_string(r, &o, fr.function);
    out(&o, " file=");
    render_string(r, &o, fr.file);
    out(&o, " line=%u flags=%u", fr.line, fr.flags);
    if (fr.kind == SPT_FRAME_PYTHON) {
        out(&o, " first_line=%u code_id=0x%" PRIx64, fr.first_line, fr.code_id);
        return;
    }
    out(&o, " address=0x%" PRIx64, fr.address);
    const spt_mapping *mp = spt_reader_mapping(r, fr.mapping);
    if (fr.mapping == 0 || mp == NULL) {
        out(&o, fr.mapping ? " mapping=<bad id>" : " mapping=-");
        return;
    }
    spt_mapping m = *mp;
    out(&o, " mapping=0x%" PRIx64 "-0x%" PRIx64 "+0x%" PRIx64 " path=", m.start, m.end,
        m.file_offset);
    render_string(r, &o, m.path);
    out(&o, " build_id=");
    for (unsigned i = 0; i < m.build_id_len && i < 64; i++) {
        out(&o, "%02x", m.build_id[i]);
    }
}

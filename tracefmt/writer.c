/* writer.c: encodes records into segments and chunks (docs/format.md sections 3-5) and restates
 * each definition the first time a chunk refers to it, so every chunk decodes on its own.
 * Interning lives in writer_intern.c. Single-threaded; not async-signal-safe. */
#define _GNU_SOURCE /* O_CLOEXEC */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "tracefmt/chunk.h"
#include "tracefmt/format.h"
#include "tracefmt/intern.h"
#include "tracefmt/sptrace.h"
#include "tracefmt/writer_int.h"
#include "tracefmt/varint.h"
#include "tracefmt/xalloc.h"

/* ---- errors ------------------------------------------------------------------------------ */

spt_status spt_w_set_error(spt_writer *w, spt_status st, const char *fmt, ...) {
    int n = snprintf(w->err, sizeof w->err, "%s: ", w->name ? w->name : "(trace)");
    if (n < 0 || (size_t)n >= sizeof w->err)
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->err + n, sizeof w->err - (size_t)n, fmt, ap);
    va_end(ap);
    return st;
}

/* Resource errors are sticky: a trace with a hole in it must not pretend to be whole. */
spt_status spt_w_fail(spt_writer *w, spt_status st, const char *what) {
    if (w->failed)
        return w->failed;
    w->failed = st;
    if (st == SPT_E_IO)
        return spt_w_set_error(w, st, "cannot write: %s", strerror(w->out.io_errno));
    if (st == SPT_E_NOMEM)
        return spt_w_set_error(w, st, "out of memory while %s", what);
    return spt_w_set_error(w, st, "%s", what);
}

int spt_w_grow_slow(spt_writer *w, void **buf, size_t *cap, size_t need, size_t elem) {
    if (spt_xgrow(w->alloc, buf, cap, need, elem) != 0) {
        spt_w_fail(w, SPT_E_NOMEM, "growing a table");
        return -1;
    }
    return 0;
}

static uint64_t mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- payload encoding -------------------------------------------------------------------- */

static int pay_reserve(spt_writer *w, size_t more) {
    return spt_w_grow(w, (void **)&w->pay, &w->pay_cap, w->pay_len + more, 1);
}

static inline void pay_uv(spt_writer *w, uint64_t v) {
    if (pay_reserve(w, SPT_VARINT_MAX_BYTES) == 0)
        w->pay_len += spt_uv_encode(w->pay + w->pay_len, v);
}

static void pay_sv(spt_writer *w, int64_t v) {
    pay_uv(w, spt_zigzag(v));
}

static void pay_bytes(spt_writer *w, const void *p, size_t n) {
    if (n && pay_reserve(w, n) == 0) {
        memcpy(w->pay + w->pay_len, p, n);
        w->pay_len += n;
    }
}

static void pay_str(spt_writer *w, const char *s) {
    size_t n = s ? strlen(s) : 0;
    pay_uv(w, n);
    pay_bytes(w, s, n);
}

/* ---- segments and chunks (section 4) ----------------------------------------------------- */

static spt_status end_segment(spt_writer *w, spt_feed_mode mode) {
    uint8_t sync[2 + SPT_SYNC_PAYLOAD_BYTES] = {SPT_REC_SYNC, SPT_SYNC_PAYLOAD_BYTES};
    spt_store_le64(sync + 2, XXH3_64bits(w->seg, w->seg_len));
    if (spt_w_grow(w, (void **)&w->seg, &w->seg_cap, w->seg_len + sizeof sync, 1) != 0)
        return w->failed;
    memcpy(w->seg + w->seg_len, sync, sizeof sync);
    w->seg_len += sizeof sync;
    w->chunk_raw += sizeof sync;
    w->raw_bytes += sizeof sync;
    spt_status st = spt_chunk_out_feed(&w->out, w->seg, w->seg_len, mode);
    w->seg_len = 0;
    if (st != SPT_OK)
        return spt_w_fail(w, st, "compressing a chunk");
    return SPT_OK;
}

/* Copies n bytes. Most records are ALLOC and FREE of under 16 bytes, where a call to memcpy
 * with a variable length cost more than the copy (it was 9% of the writer's time recording every
 * allocation): two fixed-size moves that may overlap instead. */
static inline void copy_record_bytes(uint8_t *dst, const uint8_t *src, size_t n) {
    if (n > 16) {
        memcpy(dst, src, n);
    } else if (n >= 8) {
        uint64_t first, last;
        memcpy(&first, src, 8);
        memcpy(&last, src + n - 8, 8);
        memcpy(dst, &first, 8);
        memcpy(dst + n - 8, &last, 8);
    } else if (n >= 4) {
        uint32_t first, last;
        memcpy(&first, src, 4);
        memcpy(&last, src + n - 4, 4);
        memcpy(dst, &first, 4);
        memcpy(dst + n - 4, &last, 4);
    } else {
        for (size_t i = 0; i < n; i++)
            dst[i] = src[i];
    }
}

/* Appends kind + len + the encoded payload to the segment. */
static spt_status emit(spt_writer *w, uint8_t kind) {
    if (w->failed)
        return w->failed;
    size_t most = 1 + SPT_VARINT_MAX_BYTES + w->pay_len;
    if (spt_w_grow(w, (void **)&w->seg, &w->seg_cap, w->seg_len + most, 1) != 0)
        return w->failed;
    uint8_t *out = w->seg + w->seg_len;
    out[0] = kind;
    size_t head_len = 1 + spt_uv_encode(out + 1, w->pay_len);
    size_t total = head_len + w->pay_len;
    copy_record_bytes(out + head_len, w->pay, w->pay_len);
    w->seg_len += total;
    w->chunk_raw += total;
    w->raw_bytes += total;
    if (w->seg_len >= w->segment_bytes)
        return end_segment(w, SPT_FEED_CONTINUE);
    return SPT_OK;
}

static spt_status close_chunk(spt_writer *w) {
    w->chunk_open = 0;
    return end_segment(w, SPT_FEED_END);
}

/* Opens a chunk if none is open, closing a full one first, and converts time_ns to ticks.
 * Must run before any definition is restated, so definitions and their user share a chunk. */
static spt_status begin_event(spt_writer *w, uint64_t time_ns, uint64_t *ticks) {
    if (w->failed)
        return w->failed;
    if (w->finished && !w->writing_end)
        return spt_w_set_error(w, SPT_E_USAGE, "the trace is already finished");
    *ticks = time_ns / w->tick_ns;
    if (w->chunk_open && w->chunk_raw >= w->chunk_bytes) {
        spt_status st = close_chunk(w);
        if (st != SPT_OK)
            return st;
    }
    if (!w->chunk_open) {
        w->chunk_open = 1;
        w->chunk_raw = 0;
        w->chunk_opened_ns = mono_ns();
        w->time_reg = *ticks;
        w->addr_reg = 0;
        w->pay_len = 0;
        pay_uv(w, w->chunk_mark); /* seq of the new chunk = old mark */
        pay_uv(w, *ticks);
        w->chunk_mark++;
        return emit(w, SPT_REC_CHUNK_BEGIN);
    }
    return SPT_OK;
}

static void pay_dt(spt_writer *w, uint64_t ticks) {
    pay_sv(w, (int64_t)(ticks - w->time_reg));
    w->time_reg = ticks;
}

/* ---- restating definitions (section 4: definitions are per chunk) ------------------------ */

static spt_status ensure_string(spt_writer *w, uint32_t id) {
    if (id == 0 || w->strings.v[id].mark == w->chunk_mark)
        return SPT_OK;
    wstring *s = &w->strings.v[id];
    w->pay_len = 0;
    pay_uv(w, id);
    pay_bytes(w, w->arena + s->offset, s->len);
    s->mark = w->chunk_mark;
    return emit(w, SPT_REC_STRING);
}

static spt_status ensure_mapping(spt_writer *w, uint32_t id) {
    if (id == 0 || w->mappings.v[id].mark == w->chunk_mark)
        return SPT_OK;
    wmapping *m = &w->mappings.v[id];
    spt_status st = ensure_string(w, m->m.path);
    if (st != SPT_OK)
        return st;
    w->pay_len = 0;
    pay_uv(w, id);
    pay_uv(w, m->m.start);
    pay_uv(w, m->m.end - m->m.start);
    pay_uv(w, m->m.file_offset);
    pay_uv(w, m->m.path);
    pay_uv(w, m->m.build_id_len);
    pay_bytes(w, m->m.build_id, m->m.build_id_len);
    m->mark = w->chunk_mark;
    return emit(w, SPT_REC_MAPPING);
}

static spt_status ensure_frame(spt_writer *w, uint32_t id) {
    if (id == 0 || w->frames.v[id].mark == w->chunk_mark)
        return SPT_OK;
    wframe *fr = &w->frames.v[id];
    const spt_frame *f = &fr->f;
    spt_status st = ensure_string(w, f->function);
    if (st == SPT_OK)
        st = ensure_string(w, f->file);
    if (st == SPT_OK && f->kind == SPT_FRAME_NATIVE)
        st = ensure_mapping(w, f->mapping);
    if (st != SPT_OK)
        return st;
    w->pay_len = 0;
    pay_uv(w, id);
    if (f->kind == SPT_FRAME_NATIVE) {
        pay_uv(w, f->address);
        pay_uv(w, f->mapping);
        pay_uv(w, f->function);
        pay_uv(w, f->file);
        pay_uv(w, f->line);
        pay_uv(w, f->flags);
    } else {
        pay_uv(w, f->code_id);
        pay_uv(w, f->function);
        pay_uv(w, f->file);
        pay_uv(w, f->first_line);
        pay_uv(w, f->line);
        pay_uv(w, f->flags);
    }
    fr->mark = w->chunk_mark;
    return emit(w, f->kind == SPT_FRAME_NATIVE ? SPT_REC_NATIVE_FRAME : SPT_REC_PY_FRAME);
}

/* Restates the undefined part of a stack's path, outermost node first, without recursion:
 * stacks may be 65,536 frames deep. */
static spt_status ensure_stack(spt_writer *w, uint32_t id) {
    size_t n = 0;
    for (uint32_t s = id; s != 0 && w->stacks.v[s].mark != w->chunk_mark;
         s = w->stacks.v[s].parent) {
        if (spt_w_grow(w, (void **)&w->chain, &w->chain_cap, n + 1, sizeof(uint32_t)) != 0)
            return w->failed;
        w->chain[n++] = s;
    }
    while (n > 0) {
        uint32_t s = w->chain[--n];
        wstack *node = &w->stacks.v[s];
        spt_status st = ensure_frame(w, node->frame);
        if (st != SPT_OK)
            return st;
        w->pay_len = 0;
        pay_uv(w, s);
        pay_uv(w, node->parent);
        pay_uv(w, node->frame);
        node->mark = w->chunk_mark;
        st = emit(w, SPT_REC_STACK);
        if (st != SPT_OK)
            return st;
    }
    return SPT_OK;
}

static spt_status ensure_thread(spt_writer *w, uint32_t id) {
    if (id == 0 || w->threads.v[id].mark == w->chunk_mark)
        return SPT_OK;
    wthread *t = &w->threads.v[id];
    spt_status st = ensure_string(w, t->name);
    if (st != SPT_OK)
        return st;
    w->pay_len = 0;
    pay_uv(w, id);
    pay_uv(w, t->os_tid);
    pay_uv(w, t->name);
    pay_uv(w, t->start_ticks);
    t->mark = w->chunk_mark;
    return emit(w, SPT_REC_THREAD);
}

/* ---- id checks --------------------------------------------------------------------------- */

static spt_status bad_id(spt_writer *w, const char *what, uint32_t id) {
    return spt_w_set_error(w, SPT_E_USAGE, "unknown %s id %u", what, id);
}

/* ---- open -------------------------------------------------------------------------------- */

static spt_status write_header(spt_writer *w, const spt_header *h) {
    w->pay_len = 0;
    pay_bytes(w, SPT_MAGIC, SPT_MAGIC_BYTES);
    uint8_t version[4];
    spt_store_le16(version, SPT_FORMAT_MAJOR);
    spt_store_le16(version + 2, SPT_FORMAT_MINOR);
    pay_bytes(w, version, sizeof version);
    pay_str(w, h->recorder_version);
    pay_uv(w, h->start_wall_ns);
    pay_uv(w, h->start_mono_ns);
    pay_uv(w, w->tick_ns);
    pay_uv(w, h->pid);
    pay_uv(w, h->ppid);
    pay_str(w, h->executable);
    pay_uv(w, h->argc);
    for (uint32_t i = 0; i < h->argc; i++)
        pay_str(w, h->argv ? h->argv[i] : NULL);
    pay_str(w, h->hostname);
    pay_str(w, h->arch);
    pay_uv(w, (uint64_t)h->clock);
    pay_uv(w, h->interval_ns);
    pay_uv(w, (uint64_t)h->alloc_mode);
    pay_uv(w, h->alloc_sample_bytes);
    pay_uv(w, h->python_version);
    pay_uv(w, h->max_depth);
    pay_str(w, h->trace_id);
    pay_str(w, h->parent_trace);
    if (w->failed)
        return w->failed;
    uint8_t sum[SPT_HEADER_CHECKSUM_BYTES];
    spt_store_le64(sum, XXH3_64bits(w->pay, w->pay_len));
    pay_bytes(w, sum, sizeof sum);
    if (w->failed)
        return w->failed;
    if (w->pay_len > SPT_MAX_HEADER_BYTES)
        return spt_w_set_error(w, SPT_E_LIMIT, "header is %zu bytes, over the 1 MiB limit",
                               w->pay_len);
    uint8_t frame[8];
    spt_store_le32(frame, SPT_HEADER_FRAME_MAGIC);
    spt_store_le32(frame + 4, (uint32_t)w->pay_len);
    spt_status st = spt_chunk_out_raw(&w->out, frame, sizeof frame);
    if (st == SPT_OK)
        st = spt_chunk_out_raw(&w->out, w->pay, w->pay_len);
    return st == SPT_OK ? SPT_OK : spt_w_fail(w, st, "writing the header");
}

/* fd < 0 means opening the file failed with open_errno; the writer is still created so that
 * spt_writer_error() can say why. */
static spt_status open_common(int fd, int open_errno, const char *name, const spt_header *header,
                              const spt_writer_options *opts, spt_writer **out) {
    const spt_allocator *a = opts ? opts->allocator : NULL;
    spt_writer *w = spt_xmalloc(a, sizeof *w);
    *out = w;
    if (!w) {
        if (fd >= 0)
            close(fd);
        return fd >= 0 ? SPT_E_NOMEM : SPT_E_IO;
    }
    memset(w, 0, sizeof *w);
    if (a) {
        w->alloc_copy = *a;
        w->alloc = &w->alloc_copy;
    }
    w->fd = fd;
    w->own_fd = fd >= 0;
    size_t name_len = strlen(name);
    w->name = spt_xmalloc(w->alloc, name_len + 1);
    if (w->name)
        memcpy(w->name, name, name_len + 1);
    if (fd < 0) {
        w->failed = SPT_E_IO;
        return spt_w_set_error(w, SPT_E_IO, "cannot create: %s", strerror(open_errno));
    }
    w->tick_ns = header->tick_ns ? header->tick_ns : SPT_DEFAULT_TICK_NS;
    int level = opts && opts->compression_level ? opts->compression_level : SPT_DEFAULT_LEVEL;
    w->chunk_bytes = opts && opts->chunk_bytes ? opts->chunk_bytes : SPT_DEFAULT_CHUNK_BYTES;
    w->segment_bytes =
        opts && opts->segment_bytes ? opts->segment_bytes : SPT_DEFAULT_SEGMENT_BYTES;
    if (w->segment_bytes > SPT_MAX_SEGMENT_BYTES / 2)
        w->segment_bytes = SPT_MAX_SEGMENT_BYTES / 2;
    w->chunk_max_age_ns =
        opts && opts->chunk_max_age_ns ? opts->chunk_max_age_ns : SPT_DEFAULT_CHUNK_AGE_NS;
    if (!w->name || spt_chunk_out_init(&w->out, fd, level, w->alloc) != 0)
        return spt_w_fail(w, SPT_E_NOMEM, "opening the writer");
    /* Element 0 of every table is the unused "none" slot. */
    if (spt_w_grow(w, (void **)&w->strings.v, &w->strings.cap, 1, sizeof(wstring)) ||
        spt_w_grow(w, (void **)&w->mappings.v, &w->mappings.cap, 1, sizeof(wmapping)) ||
        spt_w_grow(w, (void **)&w->frames.v, &w->frames.cap, 1, sizeof(wframe)) ||
        spt_w_grow(w, (void **)&w->stacks.v, &w->stacks.cap, 1, sizeof(wstack)) ||
        spt_w_grow(w, (void **)&w->threads.v, &w->threads.cap, 1, sizeof(wthread)))
        return w->failed;
    w->strings.n = w->mappings.n = w->frames.n = w->stacks.n = w->threads.n = 1;
    if (header->argc > SPT_MAX_ARGS)
        return spt_w_fail(w, SPT_E_LIMIT, "more than 65,536 command-line arguments");
    return write_header(w, header);
}

spt_status spt_writer_open(const char *path, const spt_header *header,
                           const spt_writer_options *options, spt_writer **out) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    return open_common(fd, fd >= 0 ? 0 : errno, path, header, options, out);
}

spt_status spt_writer_open_fd(int fd, const char *name, const spt_header *header,
                              const spt_writer_options *options, spt_writer **out) {
    spt_status st = open_common(fd, EBADF, name ? name : "(fd)", header, options, out);
    if (*out)
        (*out)->own_fd = 0;
    return st;
}

/* ---- events ------------------------------------------------------------------------------ */

uint32_t spt_writer_thread(spt_writer *w, uint32_t os_tid, uint32_t name, uint64_t start_ns) {
    if (!w || w->failed)
        return 0;
    if (!VALID_ID(w->strings, name)) {
        bad_id(w, "string", name);
        return 0;
    }
    uint64_t ticks;
    if (begin_event(w, start_ns, &ticks) != SPT_OK ||
        spt_w_grow(w, (void **)&w->threads.v, &w->threads.cap, w->threads.n + 1, sizeof(wthread)))
        return 0;
    uint32_t id = (uint32_t)w->threads.n++;
    wthread *t = &w->threads.v[id];
    t->os_tid = os_tid;
    t->name = name;
    t->start_ticks = ticks;
    t->mark = 0;
    /* Threads are written at once, not on first use: a thread that never ran a sample still
     * belongs in the trace. */
    return ensure_thread(w, id) == SPT_OK ? id : 0;
}

spt_status spt_writer_thread_name(spt_writer *w, uint32_t thread, uint64_t time_ns, uint32_t name) {
    if (!w)
        return SPT_E_USAGE;
    if (thread == 0 || !VALID_ID(w->threads, thread) || !VALID_ID(w->strings, name))
        return bad_id(w, "thread or string", thread);
    uint64_t ticks;
    spt_status st = begin_event(w, time_ns, &ticks);
    if (st == SPT_OK)
        st = ensure_thread(w, thread);
    if (st == SPT_OK)
        st = ensure_string(w, name);
    if (st != SPT_OK)
        return st;
    w->threads.v[thread].name = name;
    w->pay_len = 0;
    pay_uv(w, thread);
    pay_dt(w, ticks);
    pay_uv(w, name);
    return emit(w, SPT_REC_THREAD_NAME);
}

spt_status spt_writer_thread_end(spt_writer *w, uint32_t thread, uint64_t time_ns) {
    if (!w)
        return SPT_E_USAGE;
    if (thread == 0 || !VALID_ID(w->threads, thread))
        return bad_id(w, "thread", thread);
    uint64_t ticks;
    spt_status st = begin_event(w, time_ns, &ticks);
    if (st == SPT_OK)
        st = ensure_thread(w, thread);
    if (st != SPT_OK)
        return st;
    w->pay_len = 0;
    pay_uv(w, thread);
    pay_dt(w, ticks);
    return emit(w, SPT_REC_THREAD_END);
}

/* Common prologue of events that name a thread and a stack. */
static spt_status begin_thread_stack_event(spt_writer *w, uint32_t thread, uint32_t stack,
                                           uint64_t time_ns, uint64_t *ticks) {
    if (!VALID_ID(w->threads, thread))
        return bad_id(w, "thread", thread);
    if (!VALID_ID(w->stacks, stack))
        return bad_id(w, "stack", stack);
    spt_status st = begin_event(w, time_ns, ticks);
    if (st == SPT_OK)
        st = ensure_thread(w, thread);
    if (st == SPT_OK)
        st = ensure_stack(w, stack);
    return st;
}

spt_status spt_writer_sample(spt_writer *w, uint32_t thread, uint64_t time_ns, uint32_t stack,
                             uint64_t weight, uint32_t flags) {
    if (!w)
        return SPT_E_USAGE;
    uint64_t ticks;
    spt_status st = begin_thread_stack_event(w, thread, stack, time_ns, &ticks);
    if (st != SPT_OK)
        return st;
    w->pay_len = 0;
    pay_uv(w, thread);
    pay_dt(w, ticks);
    pay_uv(w, stack);
    /* weight 1 and flags 0 are the defaults: leave them out (section 5: optional fields). */
    if (weight != 1 || flags != 0)
        pay_uv(w, weight);
    if (flags != 0)
        pay_uv(w, flags);
    w->samples++;
    w->sample_weight += weight;
    return emit(w, SPT_REC_SAMPLE);
}

spt_status spt_writer_sample_total(spt_writer *w, uint32_t thread, uint64_t time_ns, uint32_t stack,
                                   uint64_t count, uint64_t weight, uint32_t flags) {
    if (!w)
        return SPT_E_USAGE;
    uint64_t ticks;
    spt_status st = begin_thread_stack_event(w, thread, stack, time_ns, &ticks);
    if (st != SPT_OK)
        return st;
    w->pay_len = 0;
    pay_uv(w, thread);
    pay_dt(w, ticks);
    pay_uv(w, stack);
    pay_uv(w, count);
    pay_uv(w, weight);
    pay_uv(w, flags);
    w->samples += count; /* END counts the samples a total stands for (section 5.4) */
    w->sample_weight += weight;
    return emit(w, SPT_REC_SAMPLE_TOTAL);
}

static void pay_address(spt_writer *w, uint64_t address) {
    pay_sv(w, (int64_t)(address - w->addr_reg));
    w->addr_reg = address;
}

spt_status spt_writer_alloc(spt_writer *w, uint32_t thread, uint64_t time_ns, uint64_t address,
                            uint64_t size_bytes, uint64_t weight_bytes, uint32_t stack) {
    if (!w)
        return SPT_E_USAGE;
    uint64_t ticks;
    spt_status st = begin_thread_stack_event(w, thread, stack, time_ns, &ticks);
    if (st != SPT_OK)
        return st;
    w->pay_len = 0;
    pay_uv(w, thread);
    pay_dt(w, ticks);
    pay_address(w, address);
    pay_uv(w, size_bytes);
    pay_uv(w, stack);
    if (weight_bytes != size_bytes)
        pay_uv(w, weight_bytes);
    w->allocs++;
    return emit(w, SPT_REC_ALLOC);
}

spt_status spt_writer_free(spt_writer *w, uint32_t thread, uint64_t time_ns, uint64_t address) {
    if (!w)
        return SPT_E_USAGE;
    if (!VALID_ID(w->threads, thread))
        return bad_id(w, "thread", thread);
    uint64_t ticks;
    spt_status st = begin_event(w, time_ns, &ticks);
    if (st == SPT_OK)
        st = ensure_thread(w, thread);
    if (st != SPT_OK)
        return st;
    w->pay_len = 0;
    pay_uv(w, thread);
    pay_dt(w, ticks);
    pay_address(w, address);
    w->frees++;
    return emit(w, SPT_REC_FREE);
}

spt_status spt_writer_alloc_total(spt_writer *w, uint32_t thread, uint64_t time_ns, uint32_t stack,
                                  uint64_t alloc_count, uint64_t alloc_bytes, uint64_t live_count,
                                  uint64_t live_bytes) {
    if (!w)
        return SPT_E_USAGE;
    uint64_t ticks;
    spt_status st = begin_thread_stack_event(w, thread, stack, time_ns, &ticks);
    if (st != SPT_OK)
        return st;
    w->pay_len = 0;
    pay_uv(w, thread);
    pay_dt(w, ticks);
    pay_uv(w, stack);
    pay_uv(w, alloc_count);
    pay_uv(w, alloc_bytes);
    pay_uv(w, live_count);
    pay_uv(w, live_bytes);
    return emit(w, SPT_REC_ALLOC_TOTAL);
}

spt_status spt_writer_marker(spt_writer *w, uint32_t thread, uint64_t time_ns, uint32_t text) {
    if (!w)
        return SPT_E_USAGE;
    if (!VALID_ID(w->threads, thread) || !VALID_ID(w->strings, text))
        return bad_id(w, "thread or string", thread);
    uint64_t ticks;
    spt_status st = begin_event(w, time_ns, &ticks);
    if (st == SPT_OK)
        st = ensure_thread(w, thread);
    if (st == SPT_OK)
        st = ensure_string(w, text);
    if (st != SPT_OK)
        return st;
    w->pay_len = 0;
    pay_uv(w, thread);
    pay_dt(w, ticks);
    pay_uv(w, text);
    return emit(w, SPT_REC_MARKER);
}

spt_status spt_writer_drops(spt_writer *w, uint64_t time_ns, spt_drop_reason reason,
                            uint64_t count) {
    if (!w)
        return SPT_E_USAGE;
    uint64_t ticks;
    spt_status st = begin_event(w, time_ns, &ticks);
    if (st != SPT_OK)
        return st;
    w->pay_len = 0;
    pay_dt(w, ticks);
    pay_uv(w, (uint64_t)reason);
    pay_uv(w, count);
    return emit(w, SPT_REC_DROPS);
}

spt_status spt_writer_child(spt_writer *w, uint64_t time_ns, spt_child_kind kind, uint32_t pid,
                            uint32_t trace_path) {
    if (!w)
        return SPT_E_USAGE;
    if (!VALID_ID(w->strings, trace_path))
        return bad_id(w, "string", trace_path);
    uint64_t ticks;
    spt_status st = begin_event(w, time_ns, &ticks);
    if (st == SPT_OK)
        st = ensure_string(w, trace_path);
    if (st != SPT_OK)
        return st;
    w->pay_len = 0;
    pay_dt(w, ticks);
    pay_uv(w, (uint64_t)kind);
    pay_uv(w, pid);
    pay_uv(w, trace_path);
    return emit(w, SPT_REC_CHILD);
}

spt_status spt_writer_metadata(spt_writer *w, uint64_t time_ns, uint32_t key, uint32_t value) {
    if (!w)
        return SPT_E_USAGE;
    if (!VALID_ID(w->strings, key) || !VALID_ID(w->strings, value))
        return bad_id(w, "string", key);
    uint64_t ticks;
    spt_status st = begin_event(w, time_ns, &ticks);
    if (st == SPT_OK)
        st = ensure_string(w, key);
    if (st == SPT_OK)
        st = ensure_string(w, value);
    if (st != SPT_OK)
        return st;
    w->pay_len = 0;
    pay_dt(w, ticks);
    pay_uv(w, key);
    pay_uv(w, value);
    return emit(w, SPT_REC_METADATA);
}

/* ---- flush and close --------------------------------------------------------------------- */

spt_status spt_writer_flush(spt_writer *w) {
    if (!w)
        return SPT_E_USAGE;
    if (w->failed)
        return w->failed;
    if (!w->chunk_open)
        return SPT_OK;
    if (w->chunk_raw >= w->chunk_bytes || mono_ns() - w->chunk_opened_ns >= w->chunk_max_age_ns)
        return close_chunk(w);
    return end_segment(w, SPT_FEED_FLUSH);
}

spt_status spt_writer_status(const spt_writer *w) {
    return w ? w->failed : SPT_E_NOMEM;
}

uint64_t spt_writer_file_bytes(const spt_writer *w) {
    return w ? w->out.file_bytes : 0;
}

uint64_t spt_writer_raw_bytes(const spt_writer *w) {
    return w ? w->raw_bytes : 0;
}

static void write_end(spt_writer *w, const spt_end *end) {
    uint64_t ticks;
    if (begin_event(w, end->duration_ns, &ticks) != SPT_OK)
        return;
    w->pay_len = 0;
    pay_dt(w, ticks);
    pay_uv(w, (uint64_t)end->reason);
    pay_sv(w, end->status);
    pay_uv(w, end->duration_ns);
    pay_uv(w, w->samples);
    pay_uv(w, w->sample_weight);
    pay_uv(w, w->allocs);
    pay_uv(w, w->frees);
    pay_uv(w, end->dropped_samples);
    pay_uv(w, end->dropped_allocs);
    pay_uv(w, end->allocs_seen);
    pay_uv(w, end->recorder_cpu_ns);
    pay_uv(w, end->process_cpu_ns);
    emit(w, SPT_REC_END);
}

spt_status spt_writer_finish(spt_writer *w, const spt_end *end) {
    if (!w)
        return SPT_E_USAGE;
    if (w->finished)
        return w->failed;
    w->finished = 1;
    if (!w->failed && end) {
        w->writing_end = 1;
        write_end(w, end);
        w->writing_end = 0;
    }
    if (!w->failed && w->chunk_open)
        close_chunk(w);
    if (w->own_fd && w->fd >= 0) {
        if (close(w->fd) != 0 && !w->failed) {
            w->out.io_errno = errno;
            spt_w_fail(w, SPT_E_IO, "");
        }
        w->fd = -1;
    }
    return w->failed;
}

void spt_writer_destroy(spt_writer *w) {
    if (!w)
        return;
    if (w->own_fd && w->fd >= 0)
        close(w->fd);
    spt_allocator acopy = w->alloc_copy;
    const spt_allocator *a = w->alloc ? &acopy : NULL; /* w->alloc points into w */
    spt_chunk_out_free(&w->out, a);
    spt_map_free(&w->string_map, a);
    spt_map_free(&w->mapping_map, a);
    spt_map_free(&w->frame_map, a);
    spt_map_free(&w->stack_map, a);
    spt_xfree(a, w->strings.v);
    spt_xfree(a, w->mappings.v);
    spt_xfree(a, w->frames.v);
    spt_xfree(a, w->stacks.v);
    spt_xfree(a, w->threads.v);
    spt_xfree(a, w->arena);
    spt_xfree(a, w->seg);
    spt_xfree(a, w->pay);
    spt_xfree(a, w->chain);
    spt_xfree(a, w->name);
    spt_xfree(a, w);
}

spt_status spt_writer_close(spt_writer *w, const spt_end *end) {
    if (!w)
        return SPT_OK;
    spt_status st = spt_writer_finish(w, end);
    spt_writer_destroy(w);
    return st;
}

const char *spt_writer_error(const spt_writer *w) {
    if (!w)
        return "out of memory";
    return w->err[0] ? w->err : "no error";
}

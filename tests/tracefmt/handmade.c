/* handmade.c: the .sptrace byte encoder of handmade.h, written from docs/format.md alone. */
#include "tests/tracefmt/handmade.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>
#include <zstd.h>

void hm_buf_free(hm_buf *b) {
    free(b->p);
    memset(b, 0, sizeof *b);
}

void hm_put_bytes(hm_buf *b, const void *bytes, size_t n) {
    if (b->cap - b->n < n) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->n < n) {
            cap *= 2;
        }
        b->p = realloc(b->p, cap);
        if (b->p == NULL) {
            fprintf(stderr, "handmade: out of memory\n");
            abort();
        }
        b->cap = cap;
    }
    if (n) {
        memcpy(b->p + b->n, bytes, n);
    }
    b->n += n;
}

void hm_put_u8(hm_buf *b, uint8_t v) {
    hm_put_bytes(b, &v, 1);
}

void hm_put_u16(hm_buf *b, uint16_t v) {
    uint8_t le[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    hm_put_bytes(b, le, 2);
}

void hm_put_u32(hm_buf *b, uint32_t v) {
    for (int i = 0; i < 4; i++) {
        hm_put_u8(b, (uint8_t)(v >> (8 * i)));
    }
}

void hm_put_u64(hm_buf *b, uint64_t v) {
    for (int i = 0; i < 8; i++) {
        hm_put_u8(b, (uint8_t)(v >> (8 * i)));
    }
}

void hm_put_uv(hm_buf *b, uint64_t v) {
    while (v >= 0x80) {
        hm_put_u8(b, (uint8_t)(v | 0x80));
        v >>= 7;
    }
    hm_put_u8(b, (uint8_t)v);
}

void hm_put_sv(hm_buf *b, int64_t v) {
    hm_put_uv(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

void hm_put_str(hm_buf *b, const char *s) {
    size_t n = strlen(s);
    hm_put_uv(b, n);
    hm_put_bytes(b, s, n);
}

hm_header hm_default_header(void) {
    static const char *const argv[] = {"/usr/bin/app", "--fast", "input file.txt"};
    hm_header h;
    memset(&h, 0, sizeof h);
    h.major = 1;
    h.minor = 0;
    h.recorder_version = "spprof 0.1.0";
    h.start_wall_ns = 1700000000000000000ull;
    h.start_mono_ns = 5000000000ull;
    h.tick_ns = 1000;
    h.pid = 4242;
    h.ppid = 4200;
    h.executable = "/usr/bin/app";
    h.argc = 3;
    h.argv = argv;
    h.hostname = "build-7";
    h.arch = "x86_64";
    h.clock = 0;
    h.interval_ns = 10000000;
    h.alloc_mode = 2;
    h.alloc_sample_bytes = 524288;
    h.python_version = 0x030B04F0;
    h.max_depth = 128;
    h.trace_id = "run-42";
    h.parent_trace = "";
    return h;
}

void hm_write_header(hm_buf *out, const hm_header *h) {
    hm_buf p = {0};
    hm_put_bytes(&p, h->magic ? h->magic : "SPTRACE\0", 8);
    hm_put_u16(&p, h->major);
    hm_put_u16(&p, h->minor);
    int n = h->n_fields ? h->n_fields : 17;
    for (int field = 1; field <= n; field++) {
        switch (field) {
        case 1:
            hm_put_str(&p, h->recorder_version);
            break;
        case 2:
            hm_put_uv(&p, h->start_wall_ns);
            break;
        case 3:
            hm_put_uv(&p, h->start_mono_ns);
            break;
        case 4:
            hm_put_uv(&p, h->tick_ns);
            break;
        case 5:
            hm_put_uv(&p, h->pid);
            hm_put_uv(&p, h->ppid);
            break;
        case 6:
            hm_put_str(&p, h->executable);
            break;
        case 7:
            hm_put_uv(&p, h->argc_claimed ? h->argc_claimed : h->argc);
            for (uint32_t i = 0; i < h->argc; i++) {
                hm_put_str(&p, h->argv[i]);
            }
            break;
        case 8:
            hm_put_str(&p, h->hostname);
            break;
        case 9:
            hm_put_str(&p, h->arch);
            break;
        case 10:
            hm_put_uv(&p, h->clock);
            break;
        case 11:
            hm_put_uv(&p, h->interval_ns);
            break;
        case 12:
            hm_put_uv(&p, h->alloc_mode);
            break;
        case 13:
            hm_put_uv(&p, h->alloc_sample_bytes);
            break;
        case 14:
            hm_put_uv(&p, h->python_version);
            break;
        case 15:
            hm_put_uv(&p, h->max_depth);
            break;
        case 16:
            hm_put_str(&p, h->trace_id);
            break;
        case 17:
            hm_put_str(&p, h->parent_trace);
            break;
        default:
            break;
        }
    }
    hm_put_bytes(&p, h->extra, h->extra_len);
    uint64_t sum = XXH3_64bits(p.p, p.n) + (h->bad_checksum ? 1 : 0);
    hm_put_u64(&p, sum);
    hm_put_u32(out, 0x184D2A5Cu);
    hm_put_u32(out, (uint32_t)p.n);
    hm_put_bytes(out, p.p, p.n);
    hm_buf_free(&p);
}

/* ---- chunks --------------------------------------------------------------------------------- */

void hm_record_claiming(hm_chunk *c, uint8_t kind, uint64_t claimed_len, const hm_buf *payload) {
    hm_put_u8(&c->raw, kind);
    hm_put_uv(&c->raw, claimed_len);
    hm_put_bytes(&c->raw, payload->p, payload->n);
}

void hm_record(hm_chunk *c, uint8_t kind, const hm_buf *payload) {
    hm_record_claiming(c, kind, payload->n, payload);
}

/* Appends the pad (a later minor's extra fields) and writes the record. */
static void emit(hm_chunk *c, uint8_t kind, hm_buf *p) {
    hm_put_bytes(p, c->pad, c->pad_len);
    hm_record(c, kind, p);
    hm_buf_free(p);
}

static void put_dt(hm_buf *p, hm_chunk *c, uint64_t ticks) {
    hm_put_sv(p, (int64_t)(ticks - c->reg));
    c->reg = ticks;
}

static void put_addr(hm_buf *p, hm_chunk *c, uint64_t address) {
    hm_put_sv(p, (int64_t)(address - c->addr));
    c->addr = address;
}

void hm_chunk_begin(hm_chunk *c, uint64_t seq, uint64_t base_ticks) {
    const uint8_t *pad = c->pad;
    size_t pad_len = c->pad_len;
    memset(c, 0, sizeof *c);
    c->pad = pad;
    c->pad_len = pad_len;
    c->reg = base_ticks;
    hm_buf p = {0};
    hm_put_uv(&p, seq);
    hm_put_uv(&p, base_ticks);
    emit(c, 0x01, &p);
}

void hm_chunk_free(hm_chunk *c) {
    hm_buf_free(&c->raw);
}

void hm_sync(hm_chunk *c) {
    hm_buf p = {0};
    hm_put_u64(&p, XXH3_64bits(c->raw.p + c->seg_start, c->raw.n - c->seg_start));
    emit(c, 0x02, &p);
    c->seg_start = c->raw.n;
    if (c->n_segs < sizeof c->seg_ends / sizeof c->seg_ends[0]) {
        c->seg_ends[c->n_segs++] = c->raw.n;
    }
}

void hm_string(hm_chunk *c, uint64_t id, const char *s) {
    hm_buf p = {0};
    hm_put_uv(&p, id);
    hm_put_bytes(&p, s, strlen(s)); /* the rest of the payload: never padded */
    hm_record(c, 0x10, &p);
    hm_buf_free(&p);
}

void hm_mapping(hm_chunk *c, uint64_t id, uint64_t start, uint64_t size, uint64_t file_offset,
                uint64_t path, const uint8_t *build_id, size_t build_id_len) {
    hm_buf p = {0};
    hm_put_uv(&p, id);
    hm_put_uv(&p, start);
    hm_put_uv(&p, size);
    hm_put_uv(&p, file_offset);
    hm_put_uv(&p, path);
    hm_put_uv(&p, build_id_len);
    hm_put_bytes(&p, build_id, build_id_len);
    emit(c, 0x11, &p);
}

void hm_native_frame(hm_chunk *c, uint64_t id, uint64_t address, uint64_t mapping,
                     uint64_t function, uint64_t file, uint64_t line, uint64_t flags) {
    hm_buf p = {0};
    uint64_t v[] = {id, address, mapping, function, file, line, flags};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        hm_put_uv(&p, v[i]);
    }
    emit(c, 0x12, &p);
}

void hm_py_frame(hm_chunk *c, uint64_t id, uint64_t code_id, uint64_t function, uint64_t file,
                 uint64_t first_line, uint64_t line, uint64_t flags) {
    hm_buf p = {0};
    uint64_t v[] = {id, code_id, function, file, first_line, line, flags};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        hm_put_uv(&p, v[i]);
    }
    emit(c, 0x13, &p);
}

void hm_stack(hm_chunk *c, uint64_t id, uint64_t parent, uint64_t frame) {
    hm_buf p = {0};
    hm_put_uv(&p, id);
    hm_put_uv(&p, parent);
    hm_put_uv(&p, frame);
    emit(c, 0x14, &p);
}

void hm_thread(hm_chunk *c, uint64_t id, uint64_t os_tid, uint64_t name, uint64_t start_ticks) {
    hm_buf p = {0};
    hm_put_uv(&p, id);
    hm_put_uv(&p, os_tid);
    hm_put_uv(&p, name);
    hm_put_uv(&p, start_ticks);
    emit(c, 0x15, &p);
}

void hm_thread_name(hm_chunk *c, uint64_t thread, uint64_t ticks, uint64_t name) {
    hm_buf p = {0};
    hm_put_uv(&p, thread);
    put_dt(&p, c, ticks);
    hm_put_uv(&p, name);
    emit(c, 0x16, &p);
}

void hm_thread_end(hm_chunk *c, uint64_t thread, uint64_t ticks) {
    hm_buf p = {0};
    hm_put_uv(&p, thread);
    put_dt(&p, c, ticks);
    emit(c, 0x17, &p);
}

void hm_sample(hm_chunk *c, uint64_t thread, uint64_t ticks, uint64_t stack, int64_t weight,
               int64_t flags) {
    hm_buf p = {0};
    hm_put_uv(&p, thread);
    put_dt(&p, c, ticks);
    hm_put_uv(&p, stack);
    if (weight >= 0 || c->pad_len) { /* padding implies every optional field is present */
        hm_put_uv(&p, weight >= 0 ? (uint64_t)weight : 1);
        if (flags >= 0 || c->pad_len) {
            hm_put_uv(&p, flags >= 0 ? (uint64_t)flags : 0);
        }
    }
    emit(c, 0x20, &p);
}

void hm_alloc(hm_chunk *c, uint64_t thread, uint64_t ticks, uint64_t address, uint64_t size,
              uint64_t stack, int64_t weight_bytes) {
    hm_buf p = {0};
    hm_put_uv(&p, thread);
    put_dt(&p, c, ticks);
    put_addr(&p, c, address);
    hm_put_uv(&p, size);
    hm_put_uv(&p, stack);
    if (weight_bytes >= 0 || c->pad_len) {
        hm_put_uv(&p, weight_bytes >= 0 ? (uint64_t)weight_bytes : size);
    }
    emit(c, 0x21, &p);
}

void hm_free(hm_chunk *c, uint64_t thread, uint64_t ticks, uint64_t address) {
    hm_buf p = {0};
    hm_put_uv(&p, thread);
    put_dt(&p, c, ticks);
    put_addr(&p, c, address);
    emit(c, 0x22, &p);
}

void hm_marker(hm_chunk *c, uint64_t thread, uint64_t ticks, uint64_t text) {
    hm_buf p = {0};
    hm_put_uv(&p, thread);
    put_dt(&p, c, ticks);
    hm_put_uv(&p, text);
    emit(c, 0x23, &p);
}

void hm_drops(hm_chunk *c, uint64_t ticks, uint64_t reason, uint64_t count) {
    hm_buf p = {0};
    put_dt(&p, c, ticks);
    hm_put_uv(&p, reason);
    hm_put_uv(&p, count);
    emit(c, 0x24, &p);
}

void hm_child(hm_chunk *c, uint64_t ticks, uint64_t kind, uint64_t pid, uint64_t path) {
    hm_buf p = {0};
    put_dt(&p, c, ticks);
    hm_put_uv(&p, kind);
    hm_put_uv(&p, pid);
    hm_put_uv(&p, path);
    emit(c, 0x25, &p);
}

void hm_metadata(hm_chunk *c, uint64_t ticks, uint64_t key, uint64_t value) {
    hm_buf p = {0};
    put_dt(&p, c, ticks);
    hm_put_uv(&p, key);
    hm_put_uv(&p, value);
    emit(c, 0x04, &p);
}

void hm_sample_total(hm_chunk *c, uint64_t thread, uint64_t ticks, uint64_t stack, uint64_t count,
                     uint64_t weight, uint64_t flags) {
    hm_buf p = {0};
    hm_put_uv(&p, thread);
    put_dt(&p, c, ticks);
    hm_put_uv(&p, stack);
    hm_put_uv(&p, count);
    hm_put_uv(&p, weight);
    hm_put_uv(&p, flags);
    emit(c, 0x26, &p);
}

void hm_alloc_total(hm_chunk *c, uint64_t thread, uint64_t ticks, uint64_t stack,
                    uint64_t alloc_count, uint64_t alloc_bytes, uint64_t live_count,
                    uint64_t live_bytes) {
    hm_buf p = {0};
    hm_put_uv(&p, thread);
    put_dt(&p, c, ticks);
    hm_put_uv(&p, stack);
    hm_put_uv(&p, alloc_count);
    hm_put_uv(&p, alloc_bytes);
    hm_put_uv(&p, live_count);
    hm_put_uv(&p, live_bytes);
    emit(c, 0x27, &p);
}

void hm_end(hm_chunk *c, uint64_t ticks, uint64_t reason, int64_t status,
            const uint64_t counters[10]) {
    hm_buf p = {0};
    put_dt(&p, c, ticks);
    hm_put_uv(&p, reason);
    hm_put_sv(&p, status);
    for (int i = 0; i < 10; i++) {
        hm_put_uv(&p, counters[i]);
    }
    emit(c, 0x03, &p);
}

void hm_chunk_compress(const hm_chunk *c, hm_buf *out, size_t *flush_offsets) {
    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    if (cctx == NULL || ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, 3))) {
        fprintf(stderr, "handmade: zstd setup failed\n");
        abort();
    }
    size_t frame_start = out->n;
    size_t done = 0;
    uint8_t tmp[1 << 16];
    for (size_t s = 0; s <= c->n_segs; s++) {
        size_t end = s < c->n_segs ? c->seg_ends[s] : c->raw.n;
        ZSTD_EndDirective mode = s < c->n_segs ? ZSTD_e_flush : ZSTD_e_end;
        ZSTD_inBuffer in = {c->raw.p + done, end - done, 0};
        size_t left;
        do {
            ZSTD_outBuffer o = {tmp, sizeof tmp, 0};
            left = ZSTD_compressStream2(cctx, &o, &in, mode);
            if (ZSTD_isError(left)) {
                fprintf(stderr, "handmade: zstd: %s\n", ZSTD_getErrorName(left));
                abort();
            }
            hm_put_bytes(out, tmp, o.pos);
        } while (left != 0 || in.pos < in.size);
        done = end;
        if (s < c->n_segs && flush_offsets != NULL) {
            flush_offsets[s] = out->n - frame_start;
        }
    }
    ZSTD_freeCCtx(cctx);
}

void hm_skippable(hm_buf *out, unsigned nibble, size_t payload_len) {
    hm_put_u32(out, 0x184D2A50u | (nibble & 0xF));
    hm_put_u32(out, (uint32_t)payload_len);
    for (size_t i = 0; i < payload_len; i++) {
        hm_put_u8(out, 0);
    }
}

/* varint.h: the number encodings of docs/format.md section 2.1 (internal to tracefmt).
 * Writers append to a growable byte buffer; readers decode through a bounded cursor that never
 * reads past its end and reports overruns instead of trusting lengths from the file. */
#ifndef SPT_VARINT_H
#define SPT_VARINT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SPT_VARINT_MAX_BYTES 10

/* Encodes v as unsigned LEB128 at out (room for 10 bytes); returns the bytes written. */
static inline size_t spt_uv_encode(uint8_t *out, uint64_t v) {
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

static inline uint64_t spt_zigzag(int64_t v) {
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t spt_unzigzag(uint64_t v) {
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static inline void spt_store_le16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void spt_store_le32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline void spt_store_le64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint16_t spt_load_le16(const uint8_t *p) {
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t spt_load_le32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline uint64_t spt_load_le64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* A read cursor over [pos, end). Every getter checks the bytes that remain; on a bad or
 * short field it sets ok = 0 and returns 0, so a parse can run to the end and test ok once. */
typedef struct {
    const uint8_t *pos;
    const uint8_t *end;
    int ok;
} spt_cursor;

static inline spt_cursor spt_cursor_make(const uint8_t *data, size_t size) {
    spt_cursor c = {data, data + size, 1};
    return c;
}

static inline size_t spt_cursor_left(const spt_cursor *c) {
    return (size_t)(c->end - c->pos);
}

static inline int spt_cursor_at_end(const spt_cursor *c) {
    return c->pos >= c->end;
}

/* Decodes a uv. Rejects more than 10 bytes and values that do not fit in 64 bits. */
static inline uint64_t spt_get_uv(spt_cursor *c) {
    uint64_t v = 0;
    for (unsigned shift = 0, i = 0; i < SPT_VARINT_MAX_BYTES; i++, shift += 7) {
        if (c->pos >= c->end)
            break;
        uint8_t b = *c->pos++;
        if (i == 9 && b > 1)
            break; /* the 10th byte holds only bit 63 */
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    c->ok = 0;
    c->pos = c->end;
    return 0;
}

/* Decodes an optional trailing uv: returns dflt when the payload has ended. */
static inline uint64_t spt_get_uv_or(spt_cursor *c, uint64_t dflt) {
    return spt_cursor_at_end(c) ? dflt : spt_get_uv(c);
}

/* Decodes a uv that must fit in 32 bits. */
static inline uint32_t spt_get_u32v(spt_cursor *c) {
    uint64_t v = spt_get_uv(c);
    if (v > UINT32_MAX) {
        c->ok = 0;
        c->pos = c->end;
        return 0;
    }
    return (uint32_t)v;
}

static inline int64_t spt_get_sv(spt_cursor *c) {
    return spt_unzigzag(spt_get_uv(c));
}

/* Returns a pointer to the next n bytes and advances, or NULL (ok = 0) if fewer remain. */
static inline const uint8_t *spt_get_bytes(spt_cursor *c, size_t n) {
    if (spt_cursor_left(c) < n) {
        c->ok = 0;
        c->pos = c->end;
        return NULL;
    }
    const uint8_t *p = c->pos;
    c->pos += n;
    return p;
}

/* Decodes a str (uv length + bytes) of at most max_len bytes; *len receives the length. */
static inline const uint8_t *spt_get_str(spt_cursor *c, size_t max_len, size_t *len) {
    uint64_t n = spt_get_uv(c);
    if (!c->ok || n > max_len || n > spt_cursor_left(c)) {
        c->ok = 0;
        c->pos = c->end;
        *len = 0;
        return NULL;
    }
    *len = (size_t)n;
    return spt_get_bytes(c, (size_t)n);
}

#endif /* SPT_VARINT_H */

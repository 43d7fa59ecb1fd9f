/* writer_intern.c: interning for the writer. Strings, mappings, frames and stacks are hashed
 * with xxHash (stacks by their (parent, frame) pair) and looked up in open-addressing maps, so a
 * definition seen before costs one hash and one probe; a new one gets the next id. */
#include <string.h>
#include <xxhash.h>

#include "tracefmt/format.h"
#include "tracefmt/writer_int.h"
#include "tracefmt/xalloc.h"

/* ---- interning --------------------------------------------------------------------------- */

typedef struct {
    const spt_writer *w;
    const void *data;
    size_t len;
} str_probe;

static int string_eq(const void *ctx, uint32_t id) {
    const str_probe *p = ctx;
    const wstring *s = &p->w->strings.v[id];
    return s->len == p->len && memcmp(p->w->arena + s->offset, p->data, p->len) == 0;
}

uint32_t spt_writer_string(spt_writer *w, const char *bytes, size_t len) {
    if (!w || w->failed || len == 0)
        return 0;
    if (len > SPT_MAX_STRING_BYTES) {
        spt_w_set_error(w, SPT_E_LIMIT, "string of %zu bytes is over the 1 MiB limit", len);
        return 0;
    }
    uint64_t h = XXH3_64bits(bytes, len);
    str_probe probe = {w, bytes, len};
    uint32_t id = spt_map_find(&w->string_map, h, string_eq, &probe);
    if (id)
        return id;
    if (w->strings.n > UINT32_MAX - 1) {
        spt_w_fail(w, SPT_E_LIMIT, "more than 2^32 strings");
        return 0;
    }
    if (spt_w_grow(w, (void **)&w->arena, &w->arena_cap, w->arena_len + len, 1) ||
        spt_w_grow(w, (void **)&w->strings.v, &w->strings.cap, w->strings.n + 1, sizeof(wstring)))
        return 0;
    id = (uint32_t)w->strings.n;
    wstring *s = &w->strings.v[w->strings.n++];
    s->offset = w->arena_len;
    s->len = (uint32_t)len;
    s->mark = 0;
    memcpy(w->arena + w->arena_len, bytes, len);
    w->arena_len += len;
    if (spt_map_insert(&w->string_map, w->alloc, h, id) != 0) {
        spt_w_fail(w, SPT_E_NOMEM, "interning a string");
        return 0;
    }
    return id;
}

uint32_t spt_writer_cstring(spt_writer *w, const char *s) {
    return s ? spt_writer_string(w, s, strlen(s)) : 0;
}

typedef struct {
    const spt_writer *w;
    const void *item;
} item_probe;

static int mapping_eq(const void *ctx, uint32_t id) {
    const item_probe *p = ctx;
    const spt_mapping *a = &p->w->mappings.v[id].m, *b = p->item;
    return a->start == b->start && a->end == b->end && a->file_offset == b->file_offset &&
           a->path == b->path && a->build_id_len == b->build_id_len &&
           memcmp(a->build_id, b->build_id, a->build_id_len) == 0;
}

uint32_t spt_writer_mapping(spt_writer *w, const spt_mapping *m) {
    if (!w || w->failed)
        return 0;
    if (!VALID_ID(w->strings, m->path) || m->build_id_len > SPT_MAX_BUILD_ID_BYTES ||
        m->end < m->start) {
        spt_w_set_error(w, SPT_E_USAGE, "invalid mapping (path id %u, build-id %u bytes)", m->path,
                        m->build_id_len);
        return 0;
    }
    spt_mapping key = *m;
    memset(key.build_id + key.build_id_len, 0, sizeof key.build_id - key.build_id_len);
    uint64_t h = XXH3_64bits(&key, sizeof key);
    item_probe probe = {w, &key};
    uint32_t id = spt_map_find(&w->mapping_map, h, mapping_eq, &probe);
    if (id)
        return id;
    if (spt_w_grow(w, (void **)&w->mappings.v, &w->mappings.cap, w->mappings.n + 1,
                   sizeof(wmapping)))
        return 0;
    id = (uint32_t)w->mappings.n++;
    w->mappings.v[id].m = key;
    w->mappings.v[id].mark = 0;
    if (spt_map_insert(&w->mapping_map, w->alloc, h, id) != 0) {
        spt_w_fail(w, SPT_E_NOMEM, "interning a mapping");
        return 0;
    }
    return id;
}

/* Frames are compared field by field; only the fields their kind uses take part. */
static spt_frame frame_key(const spt_frame *f) {
    spt_frame k;
    memset(&k, 0, sizeof k);
    k.kind = f->kind;
    k.function = f->function;
    k.file = f->file;
    k.line = f->line;
    k.flags = f->flags;
    if (f->kind == SPT_FRAME_NATIVE) {
        k.address = f->address;
        k.mapping = f->mapping;
    } else {
        k.code_id = f->code_id;
        k.first_line = f->first_line;
    }
    return k;
}

static int frame_eq(const void *ctx, uint32_t id) {
    const item_probe *p = ctx;
    return memcmp(&p->w->frames.v[id].f, p->item, sizeof(spt_frame)) == 0;
}

uint32_t spt_writer_frame(spt_writer *w, const spt_frame *f) {
    if (!w || w->failed)
        return 0;
    if ((f->kind != SPT_FRAME_NATIVE && f->kind != SPT_FRAME_PYTHON) ||
        !VALID_ID(w->strings, f->function) || !VALID_ID(w->strings, f->file) ||
        (f->kind == SPT_FRAME_NATIVE && !VALID_ID(w->mappings, f->mapping))) {
        spt_w_set_error(w, SPT_E_USAGE, "invalid frame (kind %d, function %u, file %u, mapping %u)",
                        (int)f->kind, f->function, f->file, f->mapping);
        return 0;
    }
    spt_frame key = frame_key(f);
    uint64_t h = XXH3_64bits(&key, sizeof key);
    item_probe probe = {w, &key};
    uint32_t id = spt_map_find(&w->frame_map, h, frame_eq, &probe);
    if (id)
        return id;
    if (spt_w_grow(w, (void **)&w->frames.v, &w->frames.cap, w->frames.n + 1, sizeof(wframe)))
        return 0;
    id = (uint32_t)w->frames.n++;
    w->frames.v[id].f = key;
    w->frames.v[id].mark = 0;
    if (spt_map_insert(&w->frame_map, w->alloc, h, id) != 0) {
        spt_w_fail(w, SPT_E_NOMEM, "interning a frame");
        return 0;
    }
    return id;
}

static int stack_eq(const void *ctx, uint32_t id) {
    const item_probe *p = ctx;
    const uint32_t *pf = p->item;
    return p->w->stacks.v[id].parent == pf[0] && p->w->stacks.v[id].frame == pf[1];
}

uint32_t spt_writer_stack(spt_writer *w, uint32_t parent, uint32_t frame) {
    if (!w || w->failed)
        return 0;
    if (!VALID_ID(w->stacks, parent) || frame == 0 || !VALID_ID(w->frames, frame)) {
        spt_w_set_error(w, SPT_E_USAGE, "invalid stack node (parent %u, frame %u)", parent, frame);
        return 0;
    }
    uint32_t depth = parent ? w->stacks.v[parent].depth + 1 : 1;
    if (depth > SPT_MAX_STACK_DEPTH) {
        spt_w_set_error(w, SPT_E_LIMIT, "stack deeper than %u frames", SPT_MAX_STACK_DEPTH);
        return 0;
    }
    uint32_t pf[2] = {parent, frame};
    uint64_t h = spt_mix64(((uint64_t)parent << 32) | frame);
    item_probe probe = {w, pf};
    uint32_t id = spt_map_find(&w->stack_map, h, stack_eq, &probe);
    if (id)
        return id;
    if (spt_w_grow(w, (void **)&w->stacks.v, &w->stacks.cap, w->stacks.n + 1, sizeof(wstack)))
        return 0;
    id = (uint32_t)w->stacks.n++;
    wstack *s = &w->stacks.v[id];
    s->parent = parent;
    s->frame = frame;
    s->depth = depth;
    s->mark = 0;
    if (spt_map_insert(&w->stack_map, w->alloc, h, id) != 0) {
        spt_w_fail(w, SPT_E_NOMEM, "interning a stack");
        return 0;
    }
    return id;
}

uint32_t spt_writer_stack_path(spt_writer *w, const uint32_t *frames, size_t n) {
    uint32_t id = 0;
    for (size_t i = 0; i < n; i++) {
        id = spt_writer_stack(w, id, frames[i]);
        if (id == 0)
            return 0;
    }
    return id;
}

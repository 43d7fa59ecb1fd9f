/* group.c: maps every frame of a model to a group (function, file, line or module) and gives each
 * group a printable label. Runs once per unique frame, never per sample; see model.h for the
 * grouping rules. */
#include "analyze/model.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A group's key is (name, disambiguator): the name is what is printed, the disambiguator (source
 * file or module) keeps same-named statics apart and is printed only when names collide. */
typedef struct {
    size_t key_off; /* in text: u32 name length, name bytes, disambiguator bytes */
    uint32_t key_len;
    uint32_t name_len;
    uint64_t hash;
    size_t label_off; /* in text */
    uint32_t label_len;
} group;

struct spa_groups {
    spa_group_by by;
    uint32_t *of_frame; /* [frame id] -> group index; [0] unused */
    uint32_t n_frames;
    group *groups;
    uint32_t n_groups;
    uint32_t groups_cap;
    uint32_t *slots; /* open addressing: group index + 1, 0 = empty */
    size_t n_slots;  /* a power of two, kept at most half full */
    char *text;
    size_t text_len;
    size_t text_cap;
};

/* A growable byte buffer for building one key. */
typedef struct {
    char *p;
    size_t len;
    size_t cap;
    int failed;
} buf;

static void buf_add(buf *b, const char *bytes, size_t len) {
    if (b->failed)
        return;
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + len + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->failed = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, bytes, len);
    b->len += len;
    b->p[b->len] = '\0';
}

static void buf_str(buf *b, const char *s) {
    buf_add(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void buf_fmt(buf *b, const char *fmt, ...) {
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        buf_add(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* FNV-1a: keys are hashed once per unique frame, so a simple hash is plenty. */
static uint64_t hash_bytes(const char *p, size_t len) {
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ull;
    }
    return h;
}

static int text_add(spa_groups *g, const char *bytes, size_t len, size_t *off) {
    if (g->text_len + len > g->text_cap) {
        size_t cap = g->text_cap ? g->text_cap : 4096;
        while (cap < g->text_len + len)
            cap *= 2;
        char *p = realloc(g->text, cap);
        if (!p)
            return -1;
        g->text = p;
        g->text_cap = cap;
    }
    memcpy(g->text + g->text_len, bytes, len);
    *off = g->text_len;
    g->text_len += len;
    return 0;
}

static int rehash(spa_groups *g, size_t n_slots) {
    uint32_t *slots = calloc(n_slots, sizeof *slots);
    if (!slots)
        return -1;
    for (uint32_t i = 0; i < g->n_groups; i++) {
        size_t s = (size_t)g->groups[i].hash & (n_slots - 1);
        while (slots[s])
            s = (s + 1) & (n_slots - 1);
        slots[s] = i + 1;
    }
    free(g->slots);
    g->slots = slots;
    g->n_slots = n_slots;
    return 0;
}

/* Returns the index of the group with this key, adding it if new; UINT32_MAX when out of
 * memory. */
static uint32_t intern(spa_groups *g, const char *key, size_t key_len, uint32_t name_len) {
    uint64_t h = hash_bytes(key, key_len);
    size_t s = (size_t)h & (g->n_slots - 1);
    while (g->slots[s]) {
        const group *e = &g->groups[g->slots[s] - 1];
        if (e->hash == h && e->key_len == key_len &&
            memcmp(g->text + e->key_off, key, key_len) == 0)
            return g->slots[s] - 1;
        s = (s + 1) & (g->n_slots - 1);
    }
    if (key_len > UINT32_MAX || g->n_groups == UINT32_MAX - 1)
        return UINT32_MAX;
    if (g->n_groups == g->groups_cap) {
        uint32_t cap = g->groups_cap ? g->groups_cap * 2 : 256;
        group *p = realloc(g->groups, (size_t)cap * sizeof *p);
        if (!p)
            return UINT32_MAX;
        g->groups = p;
        g->groups_cap = cap;
    }
    group *e = &g->groups[g->n_groups];
    memset(e, 0, sizeof *e);
    if (text_add(g, key, key_len, &e->key_off))
        return UINT32_MAX;
    e->key_len = (uint32_t)key_len;
    e->name_len = name_len;
    e->hash = h;
    g->slots[s] = g->n_groups + 1;
    uint32_t index = g->n_groups++;
    if ((size_t)g->n_groups * 2 > g->n_slots && rehash(g, g->n_slots * 2))
        return UINT32_MAX;
    return index;
}

static const char *basename_of(const char *path, size_t len, size_t *out_len) {
    size_t start = len;
    while (start > 0 && path[start - 1] != '/')
        start--;
    *out_len = len - start;
    return path + start;
}

/* Appends the module name of a native frame: the basename of its mapping's file. */
static void add_module(buf *b, const spt_reader *r, const spt_frame *fr) {
    const spt_mapping *map = fr->mapping ? spt_reader_mapping(r, fr->mapping) : NULL;
    if (!map) {
        buf_str(b, "[unknown]");
        return;
    }
    size_t len;
    const char *base =
        basename_of(spt_reader_string(r, map->path), spt_reader_string_len(r, map->path), &len);
    if (len == 0)
        buf_str(b, "[anonymous]");
    else
        buf_add(b, base, len);
}

/* "module+0xOFFSET": the offset in the mapped file, which stays the same across runs under
 * ASLR, unlike the address. */
static void add_native_address(buf *b, const spt_reader *r, const spt_frame *fr) {
    const spt_mapping *map = fr->mapping ? spt_reader_mapping(r, fr->mapping) : NULL;
    if (!map) {
        buf_fmt(b, "0x%" PRIx64, fr->address);
        return;
    }
    add_module(b, r, fr);
    buf_fmt(b, "+0x%" PRIx64, fr->address - map->start + map->file_offset);
}

/* Builds the (name, disambiguator) pair of one frame under the grouping `by`. */
static void frame_key(const spt_reader *r, const spt_frame *fr, spa_group_by by, buf *name,
                      buf *dis) {
    if (!fr) {
        buf_str(name, "[unknown frame]");
        return;
    }
    const char *fn = spt_reader_string(r, fr->function);
    size_t fn_len = spt_reader_string_len(r, fr->function);
    const char *file = spt_reader_string(r, fr->file);
    size_t file_len = spt_reader_string_len(r, fr->file);
    int native = fr->kind == SPT_FRAME_NATIVE;

    if (fr->flags & SPT_FRAME_SYNTHETIC) {
        if (fn_len)
            buf_add(name, fn, fn_len);
        else
            buf_str(name, "[synthetic]");
        return;
    }
    switch (by) {
    case SPA_BY_MODULE:
        if (native)
            add_module(name, r, fr);
        else if (file_len)
            buf_add(name, file, file_len);
        else
            buf_str(name, "[python]");
        return;
    case SPA_BY_FILE:
        if (file_len) {
            buf_add(name, file, file_len);
        } else if (native) {
            buf_str(name, "[");
            add_module(name, r, fr);
            buf_str(name, "]");
        } else {
            buf_str(name, "[python]");
        }
        return;
    case SPA_BY_LINE:
    case SPA_BY_FUNCTION:
        break;
    }

    if (fn_len == 0) {
        if (native) {
            add_native_address(name, r, fr);
        } else {
            buf_str(name, "[unknown]");
            buf_add(dis, file, file_len);
            buf_fmt(dis, ":%" PRIu32, fr->first_line);
        }
        return;
    }
    char *readable = native ? spa_demangle(fn, fn_len) : NULL;
    if (readable) {
        buf_str(name, readable);
        free(readable);
    } else {
        buf_add(name, fn, fn_len);
    }
    if (by == SPA_BY_LINE && fr->line != 0) {
        buf_str(name, " (");
        if (file_len)
            buf_add(name, file, file_len);
        else
            add_module(name, r, fr);
        buf_fmt(name, ":%" PRIu32 ")", fr->line);
        return;
    }
    if (file_len)
        buf_add(dis, file, file_len);
    else if (native)
        add_module(dis, r, fr);
}

typedef struct {
    const char *name;
    uint32_t len;
    uint32_t index;
} name_ref;

static int cmp_name_ref(const void *a, const void *b) {
    const name_ref *x = a, *y = b;
    int c = memcmp(x->name, y->name, x->len < y->len ? x->len : y->len);
    if (c)
        return c;
    return (x->len > y->len) - (x->len < y->len);
}

/* Writes every group's label: its name, plus " (disambiguator)" when another group has the same
 * name. Sorting the names finds the collisions without a second hash table. */
static int make_labels(spa_groups *g) {
    name_ref *refs = malloc(((size_t)g->n_groups + 1) * sizeof *refs);
    unsigned char *shared = calloc((size_t)g->n_groups + 1, 1);
    if (!refs || !shared) {
        free(refs);
        free(shared);
        return -1;
    }
    for (uint32_t i = 0; i < g->n_groups; i++) {
        refs[i].name = g->text + g->groups[i].key_off + 4;
        refs[i].len = g->groups[i].name_len;
        refs[i].index = i;
    }
    qsort(refs, g->n_groups, sizeof *refs, cmp_name_ref);
    for (uint32_t i = 1; i < g->n_groups; i++) {
        if (cmp_name_ref(&refs[i - 1], &refs[i]) == 0)
            shared[refs[i - 1].index] = shared[refs[i].index] = 1;
    }
    free(refs); /* it points into g->text, which text_add below may move */

    buf label = {0};
    int rc = 0;
    for (uint32_t i = 0; i < g->n_groups && rc == 0; i++) {
        group *e = &g->groups[i];
        uint32_t dis_len = e->key_len - 4 - e->name_len;
        label.len = 0;
        buf_add(&label, g->text + e->key_off + 4, e->name_len);
        if (shared[i] && dis_len) {
            buf_str(&label, " (");
            buf_add(&label, g->text + e->key_off + 4 + e->name_len, dis_len);
            buf_str(&label, ")");
        }
        if (label.failed || label.len > UINT32_MAX ||
            text_add(g, label.p ? label.p : "", label.len, &e->label_off))
            rc = -1;
        else
            e->label_len = (uint32_t)label.len;
    }
    free(label.p);
    free(shared);
    return rc;
}

int spa_group_by_parse(const char *text, spa_group_by *out) {
    static const spa_group_by all[] = {SPA_BY_FUNCTION, SPA_BY_FILE, SPA_BY_LINE, SPA_BY_MODULE};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (strcmp(text, spa_group_by_name(all[i])) == 0) {
            *out = all[i];
            return 0;
        }
    }
    return -1;
}

const char *spa_group_by_name(spa_group_by by) {
    switch (by) {
    case SPA_BY_FUNCTION:
        return "function";
    case SPA_BY_FILE:
        return "file";
    case SPA_BY_LINE:
        return "line";
    case SPA_BY_MODULE:
        return "module";
    }
    return "function";
}

spt_status spa_groups_build(const spa_model *m, spa_group_by by, spa_groups **out) {
    *out = NULL;
    const spt_reader *r = spa_model_reader(m);
    spa_groups *g = calloc(1, sizeof *g);
    if (!g)
        return SPT_E_NOMEM;
    g->by = by;
    g->n_frames = spt_reader_frame_count(r);
    g->of_frame = calloc((size_t)g->n_frames + 1, sizeof *g->of_frame);
    if (!g->of_frame || rehash(g, 1024)) {
        spa_groups_free(g);
        return SPT_E_NOMEM;
    }

    buf name = {0}, dis = {0}, key = {0};
    int failed = 0;
    for (uint32_t f = 1; f <= g->n_frames && !failed; f++) {
        name.len = dis.len = key.len = 0;
        frame_key(r, spt_reader_frame(r, f), by, &name, &dis);
        if (name.len > UINT32_MAX - 4) {
            failed = 1;
            break;
        }
        /* The key is length-prefixed so that names holding any bytes cannot collide. */
        uint32_t name_len = (uint32_t)name.len;
        buf_add(&key, (const char *)&name_len, 4);
        buf_add(&key, name.p ? name.p : "", name.len);
        buf_add(&key, dis.p ? dis.p : "", dis.len);
        if (name.failed || dis.failed || key.failed) {
            failed = 1;
            break;
        }
        uint32_t index = intern(g, key.p, key.len, name_len);
        if (index == UINT32_MAX)
            failed = 1;
        g->of_frame[f] = index;
    }
    free(name.p);
    free(dis.p);
    free(key.p);
    free(g->slots);
    g->slots = NULL;
    if (failed || make_labels(g)) {
        spa_groups_free(g);
        return SPT_E_NOMEM;
    }
    *out = g;
    return SPT_OK;
}

void spa_groups_free(spa_groups *g) {
    if (!g)
        return;
    free(g->of_frame);
    free(g->groups);
    free(g->slots);
    free(g->text);
    free(g);
}

uint32_t spa_groups_count(const spa_groups *g) {
    return g->n_groups;
}

uint32_t spa_groups_of_frame(const spa_groups *g, uint32_t frame) {
    if (frame == 0 || frame > g->n_frames)
        return UINT32_MAX;
    return g->of_frame[frame];
}

const char *spa_groups_label(const spa_groups *g, uint32_t i, size_t *len) {
    *len = g->groups[i].label_len;
    return g->text + g->groups[i].label_off;
}

const char *spa_groups_name(const spa_groups *g, uint32_t i, size_t *len) {
    *len = g->groups[i].name_len;
    return g->text + g->groups[i].key_off + 4;
}

const char *spa_groups_disambiguator(const spa_groups *g, uint32_t i, size_t *len) {
    const group *e = &g->groups[i];
    *len = e->key_len - 4 - e->name_len;
    return g->text + e->key_off + 4 + e->name_len;
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if it is not one. Rejects overlong
 * forms and surrogates, so what passes is safe to hand to a JSON parser or a terminal. */
size_t spa_utf8_len(const unsigned char *s, size_t left) {
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0Fu;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07u;
    } else {
        return 0;
    }
    if (n > left)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3Fu);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return n;
}

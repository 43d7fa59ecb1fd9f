/* testjson.c: the strict JSON parser that analyze's and convert's tests read the tools' JSON
 * output back with (testjson.h). */
#include "analyze/testjson.h"

#include <stdlib.h>
#include <string.h>

typedef enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ } j_kind;

struct tu_json {
    j_kind kind;
    double num;
    char *str;       /* J_STR value */
    char **keys;     /* J_OBJ member names */
    tu_json **items; /* J_ARR elements, J_OBJ values */
    size_t n;
};

typedef struct {
    const char *p;
    int depth;
} j_parser;

static void skip_ws(j_parser *ps) {
    while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')
        ps->p++;
}

static void put_utf8(char *out, size_t *o, unsigned cp) {
    if (cp < 0x80) {
        out[(*o)++] = (char)cp;
    } else if (cp < 0x800) {
        out[(*o)++] = (char)(0xC0 | (cp >> 6));
        out[(*o)++] = (char)(0x80 | (cp & 0x3F));
    } else {
        out[(*o)++] = (char)(0xE0 | (cp >> 12));
        out[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[(*o)++] = (char)(0x80 | (cp & 0x3F));
    }
}

/* Parses a string at ps->p (on the opening quote); returns a heap copy or NULL. Surrogate pairs
 * are not combined: the analyzer never emits them. */
static char *parse_string(j_parser *ps) {
    if (*ps->p != '"')
        return NULL;
    const char *start = ++ps->p;
    size_t cap = 1;
    for (const char *q = start; *q && *q != '"'; q++)
        cap += (*q == '\\' && q[1]) ? (q++, 4) : 1;
    char *out = malloc(cap + 4);
    if (!out)
        return NULL;
    size_t o = 0;
    for (;;) {
        unsigned char c = (unsigned char)*ps->p;
        if (c == '\0' || c < 0x20) {
            free(out);
            return NULL;
        }
        ps->p++;
        if (c == '"')
            break;
        if (c != '\\') {
            out[o++] = (char)c;
            continue;
        }
        char esc = *ps->p++;
        switch (esc) {
        case '"':
        case '\\':
        case '/':
            out[o++] = esc;
            break;
        case 'b':
            out[o++] = '\b';
            break;
        case 'f':
            out[o++] = '\f';
            break;
        case 'n':
            out[o++] = '\n';
            break;
        case 'r':
            out[o++] = '\r';
            break;
        case 't':
            out[o++] = '\t';
            break;
        case 'u': {
            unsigned cp = 0;
            for (int i = 0; i < 4; i++) {
                char h = *ps->p++;
                unsigned d = (h >= '0' && h <= '9')   ? (unsigned)(h - '0')
                             : (h >= 'a' && h <= 'f') ? (unsigned)(h - 'a' + 10)
                             : (h >= 'A' && h <= 'F') ? (unsigned)(h - 'A' + 10)
                                                      : 16u;
                if (d == 16) {
                    free(out);
                    return NULL;
                }
                cp = cp * 16 + d;
            }
            put_utf8(out, &o, cp);
            break;
        }
        default:
            free(out);
            return NULL;
        }
    }
    out[o] = '\0';
    return out;
}

static tu_json *parse_value(j_parser *ps);

static int push_item(tu_json *v, char *key, tu_json *item) {
    tu_json **items = realloc(v->items, (v->n + 1) * sizeof *items);
    if (!items)
        return -1;
    v->items = items;
    if (v->kind == J_OBJ) {
        char **keys = realloc(v->keys, (v->n + 1) * sizeof *keys);
        if (!keys)
            return -1;
        v->keys = keys;
        v->keys[v->n] = key;
    }
    v->items[v->n++] = item;
    return 0;
}

static tu_json *parse_container(j_parser *ps, tu_json *v, char close) {
    ps->p++;
    skip_ws(ps);
    if (*ps->p == close) {
        ps->p++;
        return v;
    }
    for (;;) {
        skip_ws(ps);
        char *key = NULL;
        if (v->kind == J_OBJ) {
            key = parse_string(ps);
            skip_ws(ps);
            if (!key || *ps->p != ':') {
                free(key);
                tu_json_free(v);
                return NULL;
            }
            ps->p++;
        }
        tu_json *item = parse_value(ps);
        if (!item || push_item(v, key, item)) {
            free(key);
            tu_json_free(item);
            tu_json_free(v);
            return NULL;
        }
        skip_ws(ps);
        if (*ps->p == ',') {
            ps->p++;
            continue;
        }
        if (*ps->p == close) {
            ps->p++;
            return v;
        }
        tu_json_free(v);
        return NULL;
    }
}

static tu_json *parse_value(j_parser *ps) {
    skip_ws(ps);
    if (++ps->depth > 64)
        return NULL;
    tu_json *v = calloc(1, sizeof *v);
    if (!v)
        return NULL;
    const char *p = ps->p;
    if (*p == '{') {
        v->kind = J_OBJ;
        v = parse_container(ps, v, '}');
    } else if (*p == '[') {
        v->kind = J_ARR;
        v = parse_container(ps, v, ']');
    } else if (*p == '"') {
        v->kind = J_STR;
        v->str = parse_string(ps);
        if (!v->str) {
            free(v);
            v = NULL;
        }
    } else if (strncmp(p, "null", 4) == 0) {
        v->kind = J_NULL;
        ps->p += 4;
    } else if (strncmp(p, "true", 4) == 0 || strncmp(p, "false", 5) == 0) {
        v->kind = J_BOOL;
        v->num = *p == 't';
        ps->p += *p == 't' ? 4 : 5;
    } else if (*p == '-' || (*p >= '0' && *p <= '9')) {
        char *end;
        v->kind = J_NUM;
        v->num = strtod(p, &end);
        ps->p = end;
    } else {
        free(v);
        v = NULL;
    }
    ps->depth--;
    return v;
}

tu_json *tu_json_parse(const char *text) {
    j_parser ps = {text, 0};
    tu_json *v = parse_value(&ps);
    skip_ws(&ps);
    if (v && *ps.p != '\0') {
        tu_json_free(v);
        return NULL;
    }
    return v;
}

void tu_json_free(tu_json *v) {
    if (!v)
        return;
    for (size_t i = 0; i < v->n; i++) {
        tu_json_free(v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->str);
    free(v);
}

const tu_json *tu_json_get(const tu_json *obj, const char *key) {
    if (!obj || obj->kind != J_OBJ)
        return NULL;
    for (size_t i = 0; i < obj->n; i++) {
        if (strcmp(obj->keys[i], key) == 0)
            return obj->items[i];
    }
    return NULL;
}

const tu_json *tu_json_at(const tu_json *arr, size_t i) {
    return arr && arr->kind == J_ARR && i < arr->n ? arr->items[i] : NULL;
}

size_t tu_json_len(const tu_json *v) {
    return v && (v->kind == J_ARR || v->kind == J_OBJ) ? v->n : 0;
}

double tu_json_num(const tu_json *v) {
    return v && v->kind == J_NUM ? v->num : -1;
}

const char *tu_json_str(const tu_json *v) {
    return v && v->kind == J_STR ? v->str : NULL;
}

int tu_json_is_null(const tu_json *v) {
    return v && v->kind == J_NULL;
}

int tu_json_is_true(const tu_json *v) {
    return v && v->kind == J_BOOL && v->num != 0;
}

/* testlib_xml.c: convert's test reader for the SVGs: elements with their attributes and text,
 * entities and CDATA decoded, tags checked for balance. Not a validating parser: xmllint (or
 * python3's xml.etree) judges well-formedness; this one reads the values back. */
#define _XOPEN_SOURCE 700
#include "convert/testlib.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------
 * XML.
 * ------------------------------------------------------------------------------------------- */
typedef struct {
    const char *p;
    ct_xml *x;
    int bad;
} xp;

static void add_text(char **text, const char *s, size_t len) {
    size_t old = *text ? strlen(*text) : 0;
    char *p = realloc(*text, old + len + 1);
    if (!p)
        return;
    memcpy(p + old, s, len);
    p[old + len] = '\0';
    *text = p;
}

static void put_cp(char **text, unsigned long cp) {
    char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (char)(0xF0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    add_text(text, b, n);
}

/* Decodes character data up to `stop` (exclusive) into *text; entities must be well formed. */
static int decode_chars(const char *s, const char *stop, char **text) {
    while (s < stop) {
        const char *amp = memchr(s, '&', (size_t)(stop - s));
        const char *lt = memchr(s, '<', (size_t)(stop - s));
        if (lt)
            return -1;
        if (!amp) {
            add_text(text, s, (size_t)(stop - s));
            return 0;
        }
        add_text(text, s, (size_t)(amp - s));
        const char *semi = memchr(amp, ';', (size_t)(stop - amp));
        if (!semi)
            return -1;
        size_t n = (size_t)(semi - amp - 1);
        const char *name = amp + 1;
        if (n == 3 && memcmp(name, "amp", 3) == 0)
            add_text(text, "&", 1);
        else if (n == 2 && memcmp(name, "lt", 2) == 0)
            add_text(text, "<", 1);
        else if (n == 2 && memcmp(name, "gt", 2) == 0)
            add_text(text, ">", 1);
        else if (n == 4 && memcmp(name, "quot", 4) == 0)
            add_text(text, "\"", 1);
        else if (n == 4 && memcmp(name, "apos", 4) == 0)
            add_text(text, "'", 1);
        else if (n >= 2 && name[0] == '#') {
            char *end;
            unsigned long cp =
                name[1] == 'x' ? strtoul(name + 2, &end, 16) : strtoul(name + 1, &end, 10);
            if (end != semi || cp == 0 || cp > 0x10FFFF)
                return -1;
            put_cp(text, cp);
        } else {
            return -1;
        }
        s = semi + 1;
    }
    return 0;
}

static size_t add_el(ct_xml *x, const char *name, size_t len, size_t parent) {
    ct_el *p = realloc(x->els, (x->n + 1) * sizeof *p);
    if (!p)
        return SIZE_MAX;
    x->els = p;
    ct_el *e = &x->els[x->n];
    memset(e, 0, sizeof *e);
    e->name = strndup(name, len);
    e->parent = parent;
    return x->n++;
}

static int is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == ':' || c == '.';
}

int ct_xml_parse(const char *text, ct_xml *out) {
    memset(out, 0, sizeof *out);
    const char *p = text;
    size_t stack[256];
    int depth = 0;
    int seen_root = 0;
    while (*p) {
        if (*p != '<') {
            const char *lt = strchr(p, '<');
            const char *stop = lt ? lt : p + strlen(p);
            if (depth == 0) {
                for (const char *q = p; q < stop; q++) {
                    if (*q != ' ' && *q != '\n' && *q != '\t' && *q != '\r')
                        return -1; /* text outside the root */
                }
            } else if (decode_chars(p, stop, &out->els[stack[depth - 1]].text)) {
                return -1;
            }
            p = stop;
            continue;
        }
        if (strncmp(p, "<?", 2) == 0) {
            const char *e = strstr(p, "?>");
            if (!e)
                return -1;
            p = e + 2;
        } else if (strncmp(p, "<!--", 4) == 0) {
            const char *e = strstr(p + 4, "-->");
            if (!e)
                return -1;
            p = e + 3;
        } else if (strncmp(p, "<![CDATA[", 9) == 0) {
            const char *e = strstr(p + 9, "]]>");
            if (!e || depth == 0)
                return -1;
            add_text(&out->els[stack[depth - 1]].text, p + 9, (size_t)(e - p - 9));
            p = e + 3;
        } else if (strncmp(p, "<!DOCTYPE", 9) == 0) {
            const char *e = strchr(p, '>');
            if (!e)
                return -1;
            p = e + 1;
        } else if (p[1] == '/') {
            const char *name = p + 2, *q = name;
            while (is_name_char(*q))
                q++;
            if (depth == 0 || *q != '>')
                return -1;
            const ct_el *open = &out->els[stack[depth - 1]];
            if (strlen(open->name) != (size_t)(q - name) ||
                strncmp(open->name, name, (size_t)(q - name)) != 0)
                return -1;
            depth--;
            p = q + 1;
        } else {
            const char *name = p + 1, *q = name;
            while (is_name_char(*q))
                q++;
            if (q == name || (depth == 0 && seen_root) || depth == 256)
                return -1;
            size_t i = add_el(out, name, (size_t)(q - name), depth ? stack[depth - 1] : SIZE_MAX);
            if (i == SIZE_MAX)
                return -1;
            seen_root = 1;
            ct_el *e = &out->els[i];
            for (;;) {
                while (*q == ' ' || *q == '\n' || *q == '\t' || *q == '\r')
                    q++;
                if (*q == '>' || (q[0] == '/' && q[1] == '>'))
                    break;
                const char *k = q;
                while (is_name_char(*q))
                    q++;
                if (q == k || *q != '=' || (q[1] != '"' && q[1] != '\''))
                    return -1;
                char quote = q[1];
                const char *v = q + 2, *ve = strchr(v, quote);
                if (!ve)
                    return -1;
                char *value = NULL;
                if (decode_chars(v, ve, &value)) {
                    free(value);
                    return -1;
                }
                char **keys = realloc(e->keys, (e->n_attrs + 1) * sizeof *keys);
                char **values = keys ? realloc(e->values, (e->n_attrs + 1) * sizeof *values) : NULL;
                if (!keys || !values)
                    return -1;
                e->keys = keys;
                e->values = values;
                e->keys[e->n_attrs] = strndup(k, (size_t)(q - k));
                e->values[e->n_attrs++] = value ? value : strdup("");
                q = ve + 1;
            }
            if (*q == '/') {
                p = q + 2;
            } else {
                stack[depth++] = i;
                p = q + 1;
            }
        }
    }
    return depth == 0 && seen_root ? 0 : -1;
}

void ct_xml_free(ct_xml *x) {
    for (size_t i = 0; i < x->n; i++) {
        ct_el *e = &x->els[i];
        for (size_t k = 0; k < e->n_attrs; k++) {
            free(e->keys[k]);
            free(e->values[k]);
        }
        free(e->keys);
        free(e->values);
        free(e->name);
        free(e->text);
    }
    free(x->els);
    memset(x, 0, sizeof *x);
}

const char *ct_xml_attr(const ct_el *e, const char *key) {
    for (size_t k = 0; k < e->n_attrs; k++) {
        if (strcmp(e->keys[k], key) == 0)
            return e->values[k];
    }
    return NULL;
}

size_t ct_xml_child(const ct_xml *x, size_t i, const char *name) {
    for (size_t k = i + 1; k < x->n; k++) {
        if (x->els[k].parent == i && strcmp(x->els[k].name, name) == 0)
            return k;
    }
    return SIZE_MAX;
}

size_t ct_xml_by_id(const ct_xml *x, const char *id) {
    for (size_t k = 0; k < x->n; k++) {
        const char *v = ct_xml_attr(&x->els[k], "id");
        if (v && strcmp(v, id) == 0)
            return k;
    }
    return SIZE_MAX;
}

/* line_cache.c: per-function source lines and inlined calls of a module, kept by build-id in
 * the cache directory (line_cache.h). The file: a header, the functions sorted by
 * start, their rows, their inlined calls, then the strings.
 *
 *   offset  size      field
 *   0       8         magic "SPLINES2"
 *   8       8         n_functions
 *   16      8         n_rows
 *   24      8         n_inlines
 *   32      8         string_bytes
 *   40      8         checksum: XXH3-64 of every byte after the header
 *   48      40 * n    functions: start, end (8 each, from the module's start), first_row,
 *                     n_rows, first_inline, n_inlines, name (4 each), 4 bytes of zero
 *   ...     12 * n    rows: offset from the function's start, file, line (4 each); each row
 *                     holds up to the next one; file NO_STRING = no line there
 *   ...     28 * n    inlined calls in DIE order: start, end (from the function's start),
 *                     parent (the first record of the enclosing call, NO_PARENT at the top),
 *                     die (the first record of this call: a call with several address ranges
 *                     has one record per range), name, call_file, call_line (4 each)
 *   ...     string_bytes NUL-terminated strings; a string field is an offset into them
 *
 * Native byte order: the file is read only on the machine that wrote it. */
#define _GNU_SOURCE
#include "recorder/line_cache.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "recorder/cache_dir.h"
#include "recorder/sigsafe.h"

#define FILE_MAGIC "SPLINES2" /* 1 had an FNV-1a checksum */
/* Cache files kept (sp_cache_evict): one per library version and per build of a program. */
#define FILES_KEPT 256
#define NO_STRING  UINT32_MAX
#define NO_PARENT  UINT32_MAX

typedef struct {
    char magic[8];
    uint64_t n_functions;
    uint64_t n_rows;
    uint64_t n_inlines;
    uint64_t string_bytes;
    uint64_t checksum;
} file_header;

typedef struct {
    uint64_t start; /* from the module's start */
    uint64_t end;
    uint32_t first_row;
    uint32_t n_rows;
    uint32_t first_inline;
    uint32_t n_inlines;
    uint32_t name; /* the subprogram's DWARF name, NO_STRING when unknown */
    uint32_t zero;
} packed_function;

typedef struct {
    uint32_t offset; /* from the function's start */
    uint32_t file;
    uint32_t line;
} packed_row;

typedef struct {
    uint32_t start; /* from the function's start */
    uint32_t end;
    uint32_t parent; /* index (within the function) of the enclosing call's first record */
    uint32_t die;    /* index (within the function) of this call's first record */
    uint32_t name;
    uint32_t call_file;
    uint32_t call_line;
} packed_inline;

/* The four arrays of a cache file, in a mapped file or in growable memory. */
typedef struct {
    packed_function *functions;
    size_t n_functions, cap_functions;
    packed_row *rows;
    size_t n_rows, cap_rows;
    packed_inline *inlines;
    size_t n_inlines, cap_inlines;
    char *strings;
    size_t string_bytes, cap_strings;
} table;

struct sp_line_cache {
    uint64_t base; /* the module's start */
    char path[PATH_MAX];
    table file; /* what the cache file held at open (points into map) */
    void *map;  /* NULL when there was no usable file */
    size_t map_bytes;
    table added;            /* functions read from DWARF since open (owned) */
    uint32_t *string_slots; /* added.strings deduplication: offset + 1, 0 = empty */
    size_t n_string_slots, used_string_slots;
    int out_of_memory; /* a string could not be added: nothing more is added or written */
};

/* ---- tables -------------------------------------------------------------------------------- */

/* Makes room for n more elements of size bytes in *v. Returns 0, or -1 when memory ran out. */
static int grow(void **v, size_t *cap, size_t used, size_t n, size_t size) {
    if (used + n <= *cap) {
        return 0;
    }
    size_t want = *cap ? *cap * 2 : 64;
    while (want < used + n) {
        want *= 2;
    }
    void *grown = realloc(*v, want * size);
    if (grown == NULL) {
        return -1;
    }
    *v = grown;
    *cap = want;
    return 0;
}

static void table_free(table *t) {
    free(t->functions);
    free(t->rows);
    free(t->inlines);
    free(t->strings);
    memset(t, 0, sizeof *t);
}

/* A string of t, or NULL for NO_STRING. */
static const char *string_at(const table *t, uint32_t offset) {
    return offset != NO_STRING && offset < t->string_bytes ? t->strings + offset : NULL;
}

/* Points t into a mapped file of bytes bytes. Returns 0, or -1 when it is not a valid cache
 * file: every index and offset in it is checked, so a damaged file is only ever ignored. */
static int attach(table *t, void *block, size_t bytes) {
    const file_header *h = block;
    memset(t, 0, sizeof *t);
    if (bytes < sizeof *h || memcmp(h->magic, FILE_MAGIC, sizeof h->magic) != 0) {
        return -1;
    }
    uint64_t body = bytes - sizeof *h;
    if (h->n_functions > body / sizeof(packed_function) || h->n_rows > body / sizeof(packed_row) ||
        h->n_inlines > body / sizeof(packed_inline) ||
        h->n_functions * sizeof(packed_function) + h->n_rows * sizeof(packed_row) +
                h->n_inlines * sizeof(packed_inline) + h->string_bytes !=
            body ||
        h->string_bytes == 0 || h->string_bytes >= NO_STRING ||
        XXH3_64bits(h + 1, (size_t)body) != h->checksum) {
        return -1;
    }
    t->functions = (packed_function *)(h + 1);
    t->n_functions = (size_t)h->n_functions;
    t->rows = (packed_row *)(t->functions + t->n_functions);
    t->n_rows = (size_t)h->n_rows;
    t->inlines = (packed_inline *)(t->rows + t->n_rows);
    t->n_inlines = (size_t)h->n_inlines;
    t->strings = (char *)(t->inlines + t->n_inlines);
    t->string_bytes = (size_t)h->string_bytes;
    if (t->strings[t->string_bytes - 1] != '\0') {
        return -1;
    }
    for (size_t i = 0; i < t->n_functions; i++) {
        const packed_function *f = &t->functions[i];
        if (f->end <= f->start || (i > 0 && f->start <= t->functions[i - 1].start) ||
            f->first_row > t->n_rows || f->n_rows > t->n_rows - f->first_row ||
            f->first_inline > t->n_inlines || f->n_inlines > t->n_inlines - f->first_inline) {
            return -1;
        }
        for (uint32_t j = 0; j < f->n_inlines; j++) {
            const packed_inline *in = &t->inlines[f->first_inline + j];
            if (in->die > j || (in->parent != NO_PARENT && in->parent >= j)) {
                return -1; /* references point backwards only: the walk always ends */
            }
        }
    }
    return 0;
}

/* The function of t starting at offset (from the module's start), or NULL. */
static const packed_function *find_function(const table *t, uint64_t offset, int sorted) {
    if (!sorted) {
        for (size_t i = 0; i < t->n_functions; i++) {
            if (t->functions[i].start == offset) {
                return &t->functions[i];
            }
        }
        return NULL;
    }
    size_t lo = 0, hi = t->n_functions;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->functions[mid].start < offset) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < t->n_functions && t->functions[lo].start == offset ? &t->functions[lo] : NULL;
}

/* Answers an address at offset from f's start (see sp_line_cache_lookup). */
static size_t resolve(const table *t, const packed_function *f, uint64_t offset,
                      sp_source_location *locs, size_t max) {
    locs[0] = (sp_source_location){NULL, NULL, 0};
    /* The last row at or before offset, as dwfl_module_getsrc picks it. */
    const packed_row *rows = t->rows + f->first_row;
    size_t lo = 0, hi = f->n_rows;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (rows[mid].offset <= offset) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo > 0 && rows[lo - 1].file != NO_STRING) {
        locs[0].file = string_at(t, rows[lo - 1].file);
        locs[0].line = (int)rows[lo - 1].line;
    }
    /* The calls inlined at offset, outermost first, as dwarf_getscopes descends: at each level
     * the first call (in DIE order) whose range holds offset. */
    const packed_inline *in = t->inlines + f->first_inline;
    uint32_t chain[64];
    size_t depth = 0;
    uint32_t parent = NO_PARENT;
    while (depth < sizeof chain / sizeof chain[0]) {
        uint32_t found = NO_PARENT;
        for (uint32_t j = 0; j < f->n_inlines; j++) {
            if (in[j].parent == parent && offset >= in[j].start && offset < in[j].end) {
                found = j;
                break;
            }
        }
        if (found == NO_PARENT) {
            break;
        }
        chain[depth++] = found;
        parent = in[found].die;
    }
    size_t n = 1;
    for (size_t k = depth; k-- > 0;) {
        const packed_inline *call = &in[chain[k]];
        if (n < max) {
            locs[n - 1].function = string_at(t, call->name);
            locs[n++] =
                (sp_source_location){NULL, string_at(t, call->call_file), (int)call->call_line};
        }
    }
    locs[n - 1].function = string_at(t, f->name);
    return n;
}

/* ---- reading DWARF into the added table ---------------------------------------------------- */

static size_t hash_string(const char *s) {
    return (size_t)XXH3_64bits(s, strlen(s));
}

/* Interns s into c->added's strings. Returns its offset, or NO_STRING for NULL; when memory runs
 * out, NO_STRING with c->out_of_memory set (a lost file name must not read as "no line"). */
static uint32_t add_string(sp_line_cache *c, const char *s) {
    if (s == NULL || c->out_of_memory) {
        return NO_STRING;
    }
    table *t = &c->added;
    if ((c->used_string_slots + 1) * 2 > c->n_string_slots) {
        size_t n = c->n_string_slots ? c->n_string_slots * 2 : 256;
        uint32_t *slots = calloc(n, sizeof *slots);
        if (slots == NULL) {
            c->out_of_memory = 1;
            return NO_STRING;
        }
        for (size_t i = 0; i < c->n_string_slots; i++) {
            if (c->string_slots[i] != 0) {
                size_t j = hash_string(t->strings + c->string_slots[i] - 1) & (n - 1);
                while (slots[j] != 0) {
                    j = (j + 1) & (n - 1);
                }
                slots[j] = c->string_slots[i];
            }
        }
        free(c->string_slots);
        c->string_slots = slots;
        c->n_string_slots = n;
    }
    size_t j = hash_string(s) & (c->n_string_slots - 1);
    for (; c->string_slots[j] != 0; j = (j + 1) & (c->n_string_slots - 1)) {
        if (strcmp(t->strings + c->string_slots[j] - 1, s) == 0) {
            return c->string_slots[j] - 1;
        }
    }
    size_t len = strlen(s) + 1;
    if (t->string_bytes + len >= NO_STRING ||
        grow((void **)&t->strings, &t->cap_strings, t->string_bytes, len, 1) != 0) {
        c->out_of_memory = 1;
        return NO_STRING;
    }
    uint32_t offset = (uint32_t)t->string_bytes;
    memcpy(t->strings + offset, s, len);
    t->string_bytes += len;
    c->string_slots[j] = offset + 1;
    c->used_string_slots++;
    return offset;
}

/* The name DWARF gives a subprogram or an inlined call: its linkage name (mangled, as in the
 * symbol table) or else its plain name, following DW_AT_abstract_origin to where inlined code
 * keeps them. NULL when it has neither. */
static const char *call_name(Dwarf_Die *die) {
    Dwarf_Attribute attr;
    const char *name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &attr));
    return name != NULL ? name : dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &attr));
}

/* Where an inlined call was made, in its caller: DW_AT_call_file (an index into files, the
 * compile unit's file list) and DW_AT_call_line; NULL and 0 when absent. */
static sp_source_location call_site(Dwarf_Die *inlined, Dwarf_Files *files, size_t n_files) {
    sp_source_location loc = {NULL, NULL, 0};
    Dwarf_Attribute attr;
    Dwarf_Word file = 0;
    Dwarf_Word line = 0;
    if (files != NULL && dwarf_formudata(dwarf_attr(inlined, DW_AT_call_file, &attr), &file) == 0 &&
        file < n_files) {
        loc.file = dwarf_filesrc(files, file, NULL, NULL);
    }
    if (dwarf_formudata(dwarf_attr(inlined, DW_AT_call_line, &attr), &line) == 0 &&
        line <= INT32_MAX) {
        loc.line = (int)line;
    }
    return loc;
}

/* The scopes holding address (a DWARF address) in cu, innermost first, as concrete DIEs: the
 * innermost scope dwarf_getscopes finds, then its own ancestors (dwarf_getscopes itself goes on
 * past an inlined call into the inlined function's abstract definition; eu-addr2line -i walks
 * the same way). Returns how many, with *chain malloc'ed; 0 when none. */
static int scope_chain(Dwarf_Die *cu, uint64_t address, Dwarf_Die **chain) {
    Dwarf_Die *scopes = NULL;
    *chain = NULL;
    int n_scopes = dwarf_getscopes(cu, address, &scopes);
    int n_chain = n_scopes > 0 ? dwarf_getscopes_die(&scopes[0], chain) : 0;
    free(scopes);
    return n_chain > 0 ? n_chain : 0;
}

size_t sp_dwarf_locations(Dwfl_Module *mod, uint64_t address, sp_source_location *locs,
                          size_t max) {
    locs[0] = (sp_source_location){NULL, NULL, 0};
    Dwfl_Line *l = dwfl_module_getsrc(mod, address);
    if (l != NULL) {
        locs[0].file = dwfl_lineinfo(l, NULL, &locs[0].line, NULL, NULL, NULL);
    }
    size_t n = 1;
    const char *subprogram = NULL;
    Dwarf_Addr bias = 0;
    Dwarf_Die *cu = dwfl_module_addrdie(mod, address, &bias);
    Dwarf_Die *chain = NULL;
    int n_chain = cu != NULL ? scope_chain(cu, address - bias, &chain) : 0;
    Dwarf_Files *files = NULL;
    size_t n_files = 0;
    if (n_chain > 0 && dwarf_getsrcfiles(cu, &files, &n_files) != 0) {
        files = NULL;
    }
    /* The chain runs from the innermost scope (lexical blocks, inlined calls) out to the
     * subprogram. Each inlined call names the location found so far and adds its call site as
     * the next one. */
    for (int i = 0; i < n_chain; i++) {
        Dwarf_Die *scope = &chain[i];
        int tag = dwarf_tag(scope);
        if (tag == DW_TAG_subprogram) {
            subprogram = call_name(scope);
            break;
        }
        if (tag == DW_TAG_inlined_subroutine && n < max) {
            locs[n - 1].function = call_name(scope);
            locs[n++] = call_site(scope, files, n_files);
        }
    }
    free(chain);
    locs[n - 1].function = subprogram;
    return n;
}

/* Appends the rows of cu's line table that fall in [start, end) (DWARF addresses), with
 * dwfl_module_getsrc's choices: the last row at or before an address, the last of rows sharing
 * one address, and no line after an end of sequence. Returns 0, or -1 when memory ran out. */
static int add_rows(sp_line_cache *c, Dwarf_Die *cu, uint64_t start, uint64_t end) {
    table *t = &c->added;
    size_t first_row = t->n_rows;
    Dwarf_Lines *lines = NULL;
    size_t n = 0;
    if (dwarf_getsrclines(cu, &lines, &n) != 0 || n == 0) {
        return 0; /* no line table: no address of the function has a line */
    }
    Dwarf_Addr address = 0;
    /* The first row after start: rows before it are below start. */
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (dwarf_lineaddr(dwarf_onesrcline(lines, mid), &address) == 0 && address <= start) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    /* The row covering start is the one before (if any); start itself gets a row either way. */
    for (size_t i = lo > 0 ? lo - 1 : 0; i < n; i++) {
        Dwarf_Line *line = dwarf_onesrcline(lines, i);
        Dwarf_Addr next = 0;
        if (line == NULL || dwarf_lineaddr(line, &address) != 0 || address >= end) {
            break;
        }
        if (i + 1 < n && dwarf_lineaddr(dwarf_onesrcline(lines, i + 1), &next) == 0 &&
            next == address) {
            continue; /* the last row of those at one address is the one that answers */
        }
        bool end_sequence = false;
        int line_number = 0;
        dwarf_lineendsequence(line, &end_sequence);
        dwarf_lineno(line, &line_number);
        uint32_t file = end_sequence ? NO_STRING : add_string(c, dwarf_linesrc(line, NULL, NULL));
        uint32_t offset = address > start ? (uint32_t)(address - start) : 0;
        if (grow((void **)&t->rows, &t->cap_rows, t->n_rows, 2, sizeof *t->rows) != 0) {
            return -1;
        }
        if (t->n_rows == first_row && offset > 0) {
            /* No row covers start: nothing until the first row. */
            t->rows[t->n_rows++] = (packed_row){0, NO_STRING, 0};
        }
        t->rows[t->n_rows++] =
            (packed_row){offset, file, end_sequence || line_number < 0 ? 0 : (uint32_t)line_number};
    }
    return 0;
}

/* Appends the calls inlined anywhere under scope (a subprogram, an inlined call or a lexical
 * block) that overlap [start, end), in DIE order, each with one record per address range.
 * parent is the enclosing call's first record (NO_PARENT at the subprogram). */
static int add_inlines(sp_line_cache *c, Dwarf_Die *scope, uint32_t parent, Dwarf_Files *files,
                       size_t n_files, uint64_t start, uint64_t end, int level) {
    Dwarf_Die child;
    if (level > 64 || dwarf_child(scope, &child) != 0) {
        return 0;
    }
    table *t = &c->added;
    packed_function *f = &t->functions[t->n_functions];
    do {
        int tag = dwarf_tag(&child);
        if (tag == DW_TAG_lexical_block) {
            if (add_inlines(c, &child, parent, files, n_files, start, end, level + 1) != 0) {
                return -1;
            }
            continue;
        }
        if (tag != DW_TAG_inlined_subroutine) {
            continue;
        }
        uint32_t die = NO_PARENT;
        Dwarf_Addr base = 0, lo = 0, hi = 0;
        ptrdiff_t next = 0;
        while ((next = dwarf_ranges(&child, next, &base, &lo, &hi)) > 0) {
            if (hi <= start || lo >= end || hi <= lo) {
                continue;
            }
            if (grow((void **)&t->inlines, &t->cap_inlines, t->n_inlines, 1, sizeof *t->inlines) !=
                0) {
                return -1;
            }
            uint32_t index = (uint32_t)(t->n_inlines - f->first_inline);
            if (die == NO_PARENT) {
                die = index;
            }
            sp_source_location site = call_site(&child, files, n_files);
            t->inlines[t->n_inlines++] = (packed_inline){
                (uint32_t)((lo > start ? lo : start) - start),
                (uint32_t)((hi < end ? hi : end) - start),
                parent,
                die,
                add_string(c, call_name(&child)),
                add_string(c, site.file),
                (uint32_t)site.line,
            };
        }
        /* Calls inlined into this one are under it even when it has no range here. */
        if (die != NO_PARENT &&
            add_inlines(c, &child, die, files, n_files, start, end, level + 1) != 0) {
            return -1;
        }
    } while (dwarf_siblingof(&child, &child) == 0);
    return 0;
}

/* ---- public -------------------------------------------------------------------------------- */

/* Maps the cache file at path into t. Returns the mapping (NULL when there is no valid file). */
static void *map_file(const char *path, table *t, size_t *bytes) {
    memset(t, 0, sizeof *t);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return NULL;
    }
    struct stat st;
    void *map = fstat(fd, &st) == 0 && st.st_size > 0
                    ? mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0)
                    : MAP_FAILED;
    close(fd);
    if (map == MAP_FAILED) {
        return NULL;
    }
    if (attach(t, map, (size_t)st.st_size) != 0) {
        munmap(map, (size_t)st.st_size);
        memset(t, 0, sizeof *t); /* attach may have filled part of it */
        return NULL;
    }
    *bytes = (size_t)st.st_size;
    return map;
}

sp_line_cache *sp_line_cache_open(Dwfl_Module *mod) {
    char hex[2 * 64 + 1], name[sizeof hex + 16];
    Dwarf_Addr base = 0;
    sp_line_cache *c = calloc(1, sizeof *c);
    if (c == NULL || dwfl_module_info(mod, NULL, &base, NULL, NULL, NULL, NULL, NULL) == NULL ||
        sp_cache_build_id_hex(mod, hex, sizeof hex) != 0 ||
        snprintf(name, sizeof name, "%s.lines", hex) <= 0 ||
        sp_cache_path("lines", name, c->path, sizeof c->path) != 0) {
        free(c);
        return NULL;
    }
    c->base = base;
    c->map = map_file(c->path, &c->file, &c->map_bytes);
    if (c->map != NULL) {
        sp_cache_touch(c->path);
    }
    return c;
}

size_t sp_line_cache_lookup(const sp_line_cache *c, uint64_t function_start, uint64_t address,
                            sp_source_location *locs, size_t max) {
    if (c == NULL || max == 0 || function_start < c->base || address < function_start) {
        return 0;
    }
    uint64_t offset = function_start - c->base;
    const packed_function *f = find_function(&c->file, offset, 1);
    const table *t = &c->file;
    if (f == NULL) {
        f = find_function(&c->added, offset, 0);
        t = &c->added;
    }
    if (f == NULL || address - function_start >= f->end - f->start) {
        return 0;
    }
    return resolve(t, f, address - function_start, locs, max);
}

int sp_line_cache_add(sp_line_cache *c, Dwfl_Module *mod, uint64_t start, uint64_t end) {
    if (c == NULL || c->out_of_memory || end <= start || start < c->base ||
        end - start > UINT32_MAX) {
        return -1;
    }
    table *t = &c->added;
    if (grow((void **)&t->functions, &t->cap_functions, t->n_functions, 1, sizeof *t->functions) !=
        0) {
        return -1;
    }
    Dwarf_Addr bias = 0;
    Dwarf_Die *cu = dwfl_module_addrdie(mod, start, &bias);
    if (cu == NULL) {
        return -1; /* no DWARF here: the caller asks libdwfl as before */
    }
    uint64_t dwarf_start = start - bias, dwarf_end = end - bias;
    size_t rows_before = t->n_rows, inlines_before = t->n_inlines;
    packed_function *f = &t->functions[t->n_functions];
    *f = (packed_function){start - c->base,
                           end - c->base,
                           (uint32_t)t->n_rows,
                           0,
                           (uint32_t)t->n_inlines,
                           0,
                           NO_STRING,
                           0};
    int failed = add_rows(c, cu, dwarf_start, dwarf_end) != 0;
    /* The subprogram holding start, found as sp_dwarf_locations finds it. */
    Dwarf_Die *chain = NULL;
    int n_chain = failed ? 0 : scope_chain(cu, dwarf_start, &chain);
    for (int i = 0; i < n_chain && !failed; i++) {
        if (dwarf_tag(&chain[i]) != DW_TAG_subprogram) {
            continue;
        }
        Dwarf_Files *files = NULL;
        size_t n_files = 0;
        if (dwarf_getsrcfiles(cu, &files, &n_files) != 0) {
            files = NULL;
        }
        f->name = add_string(c, call_name(&chain[i]));
        failed = add_inlines(c, &chain[i], NO_PARENT, files, n_files, dwarf_start, dwarf_end, 0);
        break;
    }
    free(chain);
    if (failed || c->out_of_memory) {
        t->n_rows = rows_before;
        t->n_inlines = inlines_before;
        return -1;
    }
    f->n_rows = (uint32_t)(t->n_rows - rows_before);
    f->n_inlines = (uint32_t)(t->n_inlines - inlines_before);
    t->n_functions++;
    return 0;
}

/* A function to write: its table and entry. */
typedef struct {
    const table *t;
    const packed_function *f;
} source_function;

static int by_start(const void *a, const void *b) {
    uint64_t x = ((const source_function *)a)->f->start;
    uint64_t y = ((const source_function *)b)->f->start;
    return x < y ? -1 : x > y;
}

/* What sp_cache_write's fill writes: the functions of every source table, once each. */
typedef struct {
    sp_line_cache *c;
    source_function *v;
    size_t n;
} merged;

/* Copies a string of from into c->added (the merge's string table) and returns its offset. */
static uint32_t copy_string(sp_line_cache *c, const table *from, uint32_t offset) {
    return from == &c->added ? offset : add_string(c, string_at(from, offset));
}

/* Writes the file: every function renumbered into one set of arrays. The strings of the file
 * being merged are first copied into c->added, so one string block serves all. */
static int write_merged(int fd, void *ctx) {
    merged *m = ctx;
    sp_line_cache *c = m->c;
    uint64_t n_rows = 0, n_inlines = 0;
    for (size_t i = 0; i < m->n; i++) {
        n_rows += m->v[i].f->n_rows;
        n_inlines += m->v[i].f->n_inlines;
    }
    packed_function *functions = calloc(m->n ? m->n : 1, sizeof *functions);
    packed_row *rows = calloc(n_rows ? n_rows : 1, sizeof *rows);
    packed_inline *inlines = calloc(n_inlines ? n_inlines : 1, sizeof *inlines);
    int failed = functions == NULL || rows == NULL || inlines == NULL;
    size_t r = 0, k = 0;
    for (size_t i = 0; i < m->n && !failed; i++) {
        const table *from = m->v[i].t;
        const packed_function *f = m->v[i].f;
        functions[i] = *f;
        functions[i].first_row = (uint32_t)r;
        functions[i].first_inline = (uint32_t)k;
        functions[i].name = copy_string(c, from, f->name);
        for (uint32_t j = 0; j < f->n_rows; j++) {
            rows[r] = from->rows[f->first_row + j];
            rows[r++].file = copy_string(c, from, from->rows[f->first_row + j].file);
        }
        for (uint32_t j = 0; j < f->n_inlines; j++) {
            const packed_inline *in = &from->inlines[f->first_inline + j];
            inlines[k] = *in;
            inlines[k].name = copy_string(c, from, in->name);
            inlines[k++].call_file = copy_string(c, from, in->call_file);
        }
    }
    const table *t = &c->added;
    file_header h;
    memcpy(h.magic, FILE_MAGIC, sizeof h.magic);
    h.n_functions = m->n;
    h.n_rows = n_rows;
    h.n_inlines = n_inlines;
    h.string_bytes = t->string_bytes;
    h.checksum = 0;
    XXH3_state_t *sum = failed ? NULL : XXH3_createState();
    if (sum != NULL && XXH3_64bits_reset(sum) == XXH_OK &&
        XXH3_64bits_update(sum, functions, m->n * sizeof *functions) == XXH_OK &&
        XXH3_64bits_update(sum, rows, n_rows * sizeof *rows) == XXH_OK &&
        XXH3_64bits_update(sum, inlines, n_inlines * sizeof *inlines) == XXH_OK &&
        XXH3_64bits_update(sum, t->strings, t->string_bytes) == XXH_OK) {
        h.checksum = XXH3_64bits_digest(sum);
    } else {
        failed = 1;
    }
    XXH3_freeState(sum);
    failed = failed || c->out_of_memory || t->string_bytes == 0 ||
             sp_write_all(fd, &h, sizeof h) != 0 ||
             sp_write_all(fd, functions, m->n * sizeof *functions) != 0 ||
             sp_write_all(fd, rows, n_rows * sizeof *rows) != 0 ||
             sp_write_all(fd, inlines, n_inlines * sizeof *inlines) != 0 ||
             sp_write_all(fd, t->strings, t->string_bytes) != 0;
    free(functions);
    free(rows);
    free(inlines);
    return failed ? -1 : 0;
}

void sp_line_cache_close(sp_line_cache *c) {
    if (c == NULL) {
        return;
    }
    if (c->added.n_functions > 0) {
        /* Merge with the file as it is now: another process may have added to it since open. */
        table now;
        size_t now_bytes = 0;
        void *now_map = map_file(c->path, &now, &now_bytes);
        size_t cap = c->added.n_functions + now.n_functions;
        merged m = {c, calloc(cap, sizeof *m.v), 0};
        if (m.v != NULL) {
            for (size_t i = 0; i < now.n_functions; i++) {
                m.v[m.n++] = (source_function){&now, &now.functions[i]};
            }
            for (size_t i = 0; i < c->added.n_functions; i++) {
                const packed_function *f = &c->added.functions[i];
                if (find_function(&now, f->start, 1) == NULL) {
                    m.v[m.n++] = (source_function){&c->added, f};
                }
            }
            qsort(m.v, m.n, sizeof *m.v, by_start);
            /* If the write fails, later processes read those functions from DWARF again. */
            if (sp_cache_write(c->path, write_merged, &m) == 0) {
                sp_cache_evict(c->path, FILES_KEPT);
            }
            free(m.v);
        }
        if (now_map != NULL) {
            munmap(now_map, now_bytes);
        }
    }
    if (c->map != NULL) {
        munmap(c->map, c->map_bytes);
    }
    table_free(&c->added);
    free(c->string_slots);
    free(c);
}

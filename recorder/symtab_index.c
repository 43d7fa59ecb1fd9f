/* symtab_index.c: a module's function symbols sorted by address (symtab_index.h), and their
 * file in the cache directory: a header, the entries, then the names.
 *
 *   offset  size      field
 *   0       8         magic "SPSYMIX1"
 *   8       8         n, the number of entries
 *   16      8         name_bytes, the size of the names block
 *   24      24 * n    entries: start (8, from the module's start), size (8), name (4, offset
 *                     into the names block), 4 bytes of zero
 *   ...     name_bytes the names, each ending in NUL
 *
 * Native byte order: the file is read only on the machine that wrote it. */
#define _GNU_SOURCE
#include "recorder/symtab_index.h"

#include <fcntl.h>
#include <gelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "recorder/cache_dir.h"
#include "recorder/sigsafe.h"

#define FILE_MAGIC "SPSYMIX1"
/* Cached indexes kept (sp_cache_evict): one per library version and per build of a program. */
#define INDEXES_KEPT 256

typedef struct {
    char magic[8];
    uint64_t n;
    uint64_t name_bytes;
} file_header;

/* One function in the index, as in the file. */
typedef struct {
    uint64_t start; /* from the module's start */
    uint64_t size;
    uint32_t name; /* offset into the names block */
    uint32_t zero;
} packed_entry;

/* One symbol while the index is built. */
typedef struct {
    uint64_t start;
    uint64_t size;
    const char *name;
    int rank; /* for ties at one address: lower wins (binding, then sized before unsized) */
} entry;

struct sp_symtab_index {
    uint64_t base; /* the module's start: entries count from it */
    const packed_entry *v;
    size_t n;
    const char *names;
    uint64_t name_bytes;
    void *block; /* header, entries and names: malloc'ed (built) or mapped (from the cache) */
    size_t mapped_bytes; /* 0 when block was malloc'ed */
};

static int binding_rank(unsigned char info) {
    switch (GELF_ST_BIND(info)) {
    case STB_GLOBAL:
        return 0;
    case STB_WEAK:
        return 1;
    default:
        return 2;
    }
}

/* Sorts v by start, keeping equal starts in their order (LSD radix sort, a byte at a time,
 * skipping the bytes every address shares: a module spans a few MiB, so most passes are
 * skipped). qsort took ~10 ms for libLLVM's 100,000 symbols, in every process that named a
 * frame there. Returns 0, or -1 when the scratch array cannot be had. */
static int sort_by_start(entry *v, size_t n) {
    entry *tmp = malloc(n * sizeof *tmp);
    if (tmp == NULL) {
        return -1;
    }
    entry *from = v, *to = tmp;
    for (unsigned shift = 0; shift < 64; shift += 8) {
        size_t count[257] = {0};
        for (size_t i = 0; i < n; i++) {
            count[((from[i].start >> shift) & 0xff) + 1]++;
        }
        if (count[((from[0].start >> shift) & 0xff) + 1] == n) {
            continue; /* every entry has this byte: nothing to reorder */
        }
        for (size_t d = 0; d < 256; d++) {
            count[d + 1] += count[d];
        }
        for (size_t i = 0; i < n; i++) {
            to[count[(from[i].start >> shift) & 0xff]++] = from[i];
        }
        entry *swap = from;
        from = to;
        to = swap;
    }
    if (from != v) {
        memcpy(v, from, n * sizeof *v);
    }
    free(tmp);
    return 0;
}

/* Collects mod's function symbols (at or above base), sorted by start, one per address. Returns the
 * count (0 when there are none or memory ran out); *out is malloc'ed. */
static size_t collect(Dwfl_Module *mod, int n_syms, uint64_t base, entry **out) {
    entry *v = malloc((size_t)n_syms * sizeof *v);
    if (v == NULL) {
        return 0;
    }
    size_t n = 0;
    for (int i = 1; i < n_syms; i++) { /* entry 0 is the null symbol */
        GElf_Sym sym;
        GElf_Addr address = 0;
        GElf_Word section = 0;
        const char *name = dwfl_module_getsym_info(mod, i, &sym, &address, &section, NULL, NULL);
        int type = GELF_ST_TYPE(sym.st_info);
        if (name == NULL || name[0] == '\0' || (type != STT_FUNC && type != STT_GNU_IFUNC) ||
            section == SHN_UNDEF || address == 0 || address < base) {
            continue;
        }
        v[n++] =
            (entry){address, sym.st_size, name, binding_rank(sym.st_info) * 2 + (sym.st_size == 0)};
    }
    if (n == 0 || sort_by_start(v, n) != 0) {
        free(v);
        return 0;
    }
    /* One entry per address: the best-ranked of those that share it. */
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (kept > 0 && v[kept - 1].start == v[i].start) {
            if (v[i].rank < v[kept - 1].rank) {
                v[kept - 1] = v[i];
            }
        } else {
            v[kept++] = v[i];
        }
    }
    *out = v;
    return kept;
}

/* Points ix's fields into its block. Returns 0, or -1 when the block is not a valid index of
 * bytes bytes (a damaged cache file). */
static int attach(sp_symtab_index *ix, size_t bytes) {
    const file_header *h = ix->block;
    if (bytes < sizeof *h || memcmp(h->magic, FILE_MAGIC, sizeof h->magic) != 0 || h->n == 0 ||
        h->n > (bytes - sizeof *h) / sizeof(packed_entry) ||
        h->name_bytes != bytes - sizeof *h - h->n * sizeof(packed_entry) || h->name_bytes == 0) {
        return -1;
    }
    ix->v = (const packed_entry *)(h + 1);
    ix->n = (size_t)h->n;
    ix->names = (const char *)(ix->v + ix->n);
    ix->name_bytes = h->name_bytes;
    /* The block ends in NUL, so every offset inside it reads a terminated name. */
    return ix->names[ix->name_bytes - 1] == '\0' ? 0 : -1;
}

/* Builds the index in memory from mod's symbol table. */
static sp_symtab_index *build(Dwfl_Module *mod, int n_syms, uint64_t base) {
    entry *v = NULL;
    size_t n = collect(mod, n_syms, base, &v);
    size_t name_bytes = 0;
    for (size_t i = 0; i < n; i++) {
        name_bytes += strlen(v[i].name) + 1;
    }
    size_t bytes = sizeof(file_header) + n * sizeof(packed_entry) + name_bytes;
    sp_symtab_index *ix = n > 0 && name_bytes < UINT32_MAX ? calloc(1, sizeof *ix) : NULL;
    file_header *h = ix != NULL ? malloc(bytes) : NULL;
    if (h == NULL) {
        free(ix);
        free(v);
        return NULL;
    }
    memcpy(h->magic, FILE_MAGIC, sizeof h->magic);
    h->n = n;
    h->name_bytes = name_bytes;
    packed_entry *out = (packed_entry *)(h + 1);
    char *names = (char *)(out + n);
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(v[i].name) + 1;
        out[i] = (packed_entry){v[i].start - base, v[i].size, (uint32_t)used, 0};
        memcpy(names + used, v[i].name, len);
        used += len;
    }
    free(v);
    ix->base = base;
    ix->block = h;
    attach(ix, bytes);
    return ix;
}

/* The index from the cache file at path, or NULL when there is none or it is damaged. */
static sp_symtab_index *load(const char *path, uint64_t base) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0) {
        return NULL;
    }
    void *map = fstat(fd, &st) == 0 && st.st_size > 0
                    ? mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0)
                    : MAP_FAILED;
    close(fd);
    sp_symtab_index *ix = map != MAP_FAILED ? calloc(1, sizeof *ix) : NULL;
    if (ix == NULL) {
        if (map != MAP_FAILED) {
            munmap(map, (size_t)st.st_size);
        }
        return NULL;
    }
    ix->base = base;
    ix->block = map;
    ix->mapped_bytes = (size_t)st.st_size;
    if (attach(ix, (size_t)st.st_size) != 0) {
        sp_symtab_index_free(ix);
        return NULL;
    }
    return ix;
}

/* sp_cache_write's fill: the index's block as it is in memory. */
static int write_block(int fd, void *index) {
    const sp_symtab_index *ix = index;
    size_t bytes = sizeof(file_header) + ix->n * sizeof(packed_entry) + ix->name_bytes;
    return sp_write_all(fd, ix->block, bytes);
}

sp_symtab_index *sp_symtab_index_build(Dwfl_Module *mod) {
    int n_syms = dwfl_module_getsymtab(mod);
    Dwarf_Addr base = 0;
    if (n_syms <= 1 || dwfl_module_info(mod, NULL, &base, NULL, NULL, NULL, NULL, NULL) == NULL) {
        return NULL;
    }
    /* The symbol count is in the name: a debug package installed since changes the table
     * libdwfl reads for the same build-id. */
    char hex[2 * 64 + 1], name[sizeof hex + 32], path[PATH_MAX];
    int cacheable = sp_cache_build_id_hex(mod, hex, sizeof hex) == 0 &&
                    snprintf(name, sizeof name, "%s-%d.idx", hex, n_syms) > 0 &&
                    sp_cache_path("symtab", name, path, sizeof path) == 0;
    sp_symtab_index *ix = cacheable ? load(path, base) : NULL;
    if (ix != NULL) {
        sp_cache_touch(path);
    } else {
        ix = build(mod, n_syms, base);
        /* If the write fails, the next process builds the index again. */
        if (ix != NULL && cacheable && sp_cache_write(path, write_block, ix) == 0) {
            sp_cache_evict(path, INDEXES_KEPT);
        }
    }
    return ix;
}

const char *sp_symtab_index_lookup(const sp_symtab_index *ix, uint64_t address) {
    return sp_symtab_index_find(ix, address, NULL, NULL);
}

const char *sp_symtab_index_find(const sp_symtab_index *ix, uint64_t address, uint64_t *start,
                                 uint64_t *end) {
    if (ix == NULL || address < ix->base || address - ix->base < ix->v[0].start) {
        return NULL;
    }
    uint64_t offset = address - ix->base;
    /* The last entry starting at or before offset. */
    size_t lo = 0, hi = ix->n;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (ix->v[mid].start <= offset) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    const packed_entry *e = &ix->v[lo];
    if ((e->size != 0 && offset - e->start >= e->size) || e->name >= ix->name_bytes) {
        return NULL; /* in a gap between functions (padding, or code without a symbol) */
    }
    if (start != NULL && end != NULL) {
        /* A symbol of size zero reaches the next one; the last such reaches the offset asked. */
        uint64_t stop = e->size != 0     ? e->start + e->size
                        : lo + 1 < ix->n ? ix->v[lo + 1].start
                                         : offset + 1;
        *start = ix->base + e->start;
        *end = ix->base + stop;
    }
    return ix->names + e->name;
}

void sp_symtab_index_free(sp_symtab_index *ix) {
    if (ix == NULL) {
        return;
    }
    if (ix->mapped_bytes > 0) {
        munmap(ix->block, ix->mapped_bytes);
    } else {
        free(ix->block);
    }
    free(ix);
}

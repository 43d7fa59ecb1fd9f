/* symtab_index.c: a module's function symbols sorted by address (symtab_index.h). */
#include "recorder/symtab_index.h"

#include <gelf.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint64_t start;
    uint64_t size;
    const char *name;
    int rank; /* for ties at one address: lower wins (binding, then sized before unsized) */
} entry;

struct sp_symtab_index {
    entry *v;
    size_t n;
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

sp_symtab_index *sp_symtab_index_build(Dwfl_Module *mod) {
    int n_syms = dwfl_module_getsymtab(mod);
    if (n_syms <= 1) {
        return NULL;
    }
    sp_symtab_index *ix = calloc(1, sizeof *ix);
    entry *v = malloc((size_t)n_syms * sizeof *v);
    if (ix == NULL || v == NULL) {
        free(ix);
        free(v);
        return NULL;
    }
    size_t n = 0;
    for (int i = 1; i < n_syms; i++) { /* entry 0 is the null symbol */
        GElf_Sym sym;
        GElf_Addr address = 0;
        GElf_Word section = 0;
        const char *name = dwfl_module_getsym_info(mod, i, &sym, &address, &section, NULL, NULL);
        int type = GELF_ST_TYPE(sym.st_info);
        if (name == NULL || name[0] == '\0' || (type != STT_FUNC && type != STT_GNU_IFUNC) ||
            section == SHN_UNDEF || address == 0) {
            continue;
        }
        v[n++] =
            (entry){address, sym.st_size, name, binding_rank(sym.st_info) * 2 + (sym.st_size == 0)};
    }
    if (n == 0 || sort_by_start(v, n) != 0) {
        free(v);
        free(ix);
        return NULL;
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
    if (kept == 0) {
        free(v);
        free(ix);
        return NULL;
    }
    ix->v = v;
    ix->n = kept;
    return ix;
}

const char *sp_symtab_index_lookup(const sp_symtab_index *ix, uint64_t address) {
    if (ix == NULL || address < ix->v[0].start) {
        return NULL;
    }
    /* The last entry starting at or before address. */
    size_t lo = 0, hi = ix->n;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (ix->v[mid].start <= address) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    const entry *e = &ix->v[lo];
    if (e->size != 0 && address - e->start >= e->size) {
        return NULL; /* in a gap between functions (padding, or code without a symbol) */
    }
    return e->name;
}

void sp_symtab_index_free(sp_symtab_index *ix) {
    if (ix != NULL) {
        free(ix->v);
        free(ix);
    }
}

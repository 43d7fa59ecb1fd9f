/* symtab_index_test.c: the sorted symbol index against libdwfl's own lookup, on this process's
 * modules (this test program and libc), its answers for this program's own functions, and its
 * file in the cache: read back, really used, and replaced when damaged. */
#define _GNU_SOURCE
#include <elfutils/libdwfl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "recorder/cache_dir.h"
#include "recorder/symtab_index.h"
#include "tests/check.h"

static const Dwfl_Callbacks callbacks = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = dwfl_build_id_find_debuginfo,
};

__attribute__((noinline, used)) static int symtab_test_marker(int x) {
    return x * 3 + 1;
}

/* Compares the index with dwfl_module_addrinfo at `samples` addresses spread over [lo, hi).
 * Counts where both name a function, where they name the same start address (aliases such as
 * malloc and __libc_malloc share one), and where exactly one of them names anything. */
static void compare(Dwfl_Module *mod, const sp_symtab_index *ix, uint64_t lo, uint64_t hi,
                    int samples, int *both, int *same_start, int *only_one) {
    for (int i = 0; i < samples; i++) {
        uint64_t a = lo + (hi - lo) / (uint64_t)samples * (uint64_t)i;
        GElf_Off off = 0;
        GElf_Sym sym;
        const char *theirs = dwfl_module_addrinfo(mod, a, &off, &sym, NULL, NULL, NULL);
        const char *ours = sp_symtab_index_lookup(ix, a);
        if (theirs != NULL && GELF_ST_TYPE(sym.st_info) != STT_FUNC &&
            GELF_ST_TYPE(sym.st_info) != STT_GNU_IFUNC) {
            theirs = NULL; /* data or section symbols: the index names functions only */
        }
        if ((theirs == NULL) != (ours == NULL)) {
            (*only_one)++;
            continue;
        }
        if (theirs == NULL) {
            continue;
        }
        (*both)++;
        /* Our name's own start: look it up where addrinfo says the function begins. */
        const char *at_start = sp_symtab_index_lookup(ix, a - off);
        *same_start += at_start != NULL && strcmp(at_start, ours) == 0;
    }
}

static char cache_dir[PATH_MAX];

/* Reads the whole file at path (malloc'ed, *len bytes), or NULL. */
static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    char *buf = f != NULL ? malloc(64u << 20) : NULL;
    *len = buf != NULL ? fread(buf, 1, 64u << 20, f) : 0;
    if (f != NULL) {
        fclose(f);
    }
    return buf;
}

static void spill(const char *path, const char *buf, size_t len) {
    FILE *f = fopen(path, "wb");
    if (f != NULL) {
        fwrite(buf, 1, len, f);
        fclose(f);
    }
}

/* The first build left libc's index in the cache; the next one maps it (a name changed in the
 * file shows through), and a damaged file is rebuilt and replaced. */
static void test_cache(Dwfl_Module *libc, const sp_symtab_index *built, uint64_t start,
                       uint64_t end, int both_built, int same_built) {
    char hex[129], path[PATH_MAX + 256];
    sp_cache_build_id_hex(libc, hex, sizeof hex);
    snprintf(path, sizeof path, "%s/symtab/%s-%d.idx", cache_dir, hex, dwfl_module_getsymtab(libc));
    size_t len = 0;
    char *file = slurp(path, &len);
    CHECK("the first build left libc's index in the cache", file != NULL && len > 1000);

    sp_symtab_index *mapped = sp_symtab_index_build(libc);
    int both = 0, same_start = 0, only_one = 0;
    compare(libc, mapped, start, end, 20000, &both, &same_start, &only_one);
    CHECK("the index from the cache names what the built one named",
          both == both_built && same_start == same_built);
    const char *name = sp_symtab_index_lookup(built, (uint64_t)(uintptr_t)&getpid);
    CHECK("the built index names getpid", name != NULL && name[0] != '\0');
    sp_symtab_index_free(mapped);

    /* Proof that the file is what is read: change the name in it. */
    char needle[256];
    size_t needle_len = (size_t)snprintf(needle, sizeof needle, "%c%s%c", 0, name, 0) + 1;
    char *at = file != NULL && name != NULL ? memmem(file, len, needle, needle_len - 1) : NULL;
    if (at != NULL) {
        at[1] = at[1] == 'X' ? 'Y' : 'X';
        spill(path, file, len);
    }
    mapped = sp_symtab_index_build(libc);
    const char *changed = sp_symtab_index_lookup(mapped, (uint64_t)(uintptr_t)&getpid);
    CHECK("a later build reads the cached file", at != NULL && changed != NULL &&
                                                     changed[0] == at[1] &&
                                                     strcmp(changed + 1, name + 1) == 0);
    sp_symtab_index_free(mapped);

    /* A damaged file (cut short) is not used, and is replaced. */
    spill(path, file, 20);
    mapped = sp_symtab_index_build(libc);
    const char *rebuilt = sp_symtab_index_lookup(mapped, (uint64_t)(uintptr_t)&getpid);
    CHECK("a damaged cache file is not used: the name is right again",
          rebuilt != NULL && name != NULL && strcmp(rebuilt, name) == 0);
    sp_symtab_index_free(mapped);
    free(file);
    file = slurp(path, &len);
    CHECK("and the file is whole again", file != NULL && len > 1000);
    free(file);
}

int main(void) {
    /* A cache of this test's own: the first builds below write it. */
    const char *base = getenv("TEST_TMPDIR");
    snprintf(cache_dir, sizeof cache_dir, "%s/symtab_cache.XXXXXX", base != NULL ? base : "/tmp");
    if (mkdtemp(cache_dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    setenv("SPPROF_CACHE_DIR", cache_dir, 1);

    Dwfl *dwfl = dwfl_begin(&callbacks);
    CHECK("libdwfl starts", dwfl != NULL);
    dwfl_report_begin(dwfl);
    CHECK("this process's modules are reported", dwfl_linux_proc_report(dwfl, getpid()) == 0);
    dwfl_report_end(dwfl, NULL, NULL);

    uint64_t marker = (uint64_t)(uintptr_t)&symtab_test_marker;
    Dwfl_Module *self = dwfl_addrmodule(dwfl, marker);
    sp_symtab_index *ix = self != NULL ? sp_symtab_index_build(self) : NULL;
    CHECK("this program's symbols are indexed", ix != NULL);
    const char *name = sp_symtab_index_lookup(ix, marker + 2);
    CHECK("an address inside a function names it",
          name != NULL && strcmp(name, "symtab_test_marker") == 0);
    CHECK("an address before every symbol names nothing", sp_symtab_index_lookup(ix, 1) == NULL);
    sp_symtab_index_free(ix);

    uint64_t in_libc = (uint64_t)(uintptr_t)&getpid;
    Dwfl_Module *libc = dwfl_addrmodule(dwfl, in_libc);
    Dwarf_Addr start = 0, end = 0;
    dwfl_module_info(libc, NULL, &start, &end, NULL, NULL, NULL, NULL);
    sp_symtab_index *libc_ix = libc != NULL ? sp_symtab_index_build(libc) : NULL;
    CHECK("libc's symbols are indexed", libc_ix != NULL);
    int both = 0, same_start = 0, only_one = 0;
    compare(libc, libc_ix, start, end, 20000, &both, &same_start, &only_one);
    printf("libc: %d addresses named by both, %d at the same function, %d by one only\n", both,
           same_start, only_one);
    CHECK("most of libc's text is named", both > 10000);
    CHECK_EQ_U64("where libdwfl names a function, the index names one at the same address",
                 same_start, both);
    CHECK("the index and libdwfl agree on what is named (within 1%)", only_one * 100 < both);
    test_cache(libc, libc_ix, start, end, both, same_start);
    sp_symtab_index_free(libc_ix);
    dwfl_end(dwfl);
    return CHECK_DONE();
}

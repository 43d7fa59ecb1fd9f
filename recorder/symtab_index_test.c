/* symtab_index_test.c: the sorted symbol index against libdwfl's own lookup, on this process's
 * modules (this test program and libc), and its answers for this program's own functions. */
#define _GNU_SOURCE
#include <elfutils/libdwfl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

int main(void) {
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
    sp_symtab_index_free(libc_ix);
    dwfl_end(dwfl);
    return CHECK_DONE();
}

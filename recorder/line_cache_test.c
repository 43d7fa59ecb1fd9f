/* line_cache_test.c: the line cache against libdw's own answers, address by address, over libc
 * functions of this process (libc6-dbg gives them lines and inlined calls): answered from the
 * functions just read, then from the file a later process would map, and with that file
 * damaged (ignored, then replaced); and the cache directory's eviction. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elfutils/libdwfl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "recorder/cache_dir.h"
#include "recorder/line_cache.h"
#include "recorder/symtab_index.h"
#include "tests/check.h"

static const Dwfl_Callbacks callbacks = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = dwfl_build_id_find_debuginfo,
};

/* libc functions with lines and, in glibc's build, calls inlined into them. */
static const char *const functions[] = {"malloc", "free",        "qsort",   "printf",
                                        "fopen",  "getaddrinfo", "regexec", "strftime"};
#define N_FUNCTIONS (sizeof functions / sizeof functions[0])

typedef struct {
    uint64_t start, end;
} range;

static int same_string(const char *a, const char *b) {
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

typedef struct {
    int compared;  /* addresses looked up both ways */
    int differing; /* addresses where the answers differ */
    int with_file; /* addresses with a source file */
    int inlined;   /* addresses inside an inlined call */
    int missing;   /* addresses the cache did not answer */
} tally;

/* Compares the cache with sp_dwarf_locations at every address of each function. */
static tally compare(Dwfl_Module *mod, const sp_line_cache *c, const range *r, size_t n) {
    tally t = {0, 0, 0, 0, 0};
    for (size_t i = 0; i < n; i++) {
        for (uint64_t a = r[i].start; a < r[i].end; a++) {
            sp_source_location want[8], got[8];
            size_t n_want = sp_dwarf_locations(mod, a, want, 8);
            size_t n_got = sp_line_cache_lookup(c, r[i].start, a, got, 8);
            t.compared++;
            if (n_got == 0) {
                t.missing++;
                continue;
            }
            int same = n_got == n_want;
            for (size_t k = 0; same && k < n_want; k++) {
                same = same_string(want[k].function, got[k].function) &&
                       same_string(want[k].file, got[k].file) && want[k].line == got[k].line;
            }
            if (!same && t.differing++ < 3) {
                fprintf(stderr, "  %#llx: libdw %zu locations (%s:%d), cache %zu (%s:%d)\n",
                        (unsigned long long)(a - r[i].start), n_want,
                        want[0].file ? want[0].file : "-", want[0].line, n_got,
                        got[0].file ? got[0].file : "-", got[0].line);
            }
            t.with_file += want[0].file != NULL;
            t.inlined += n_want > 1;
        }
    }
    return t;
}

static void flip_a_byte(const char *path, long at) {
    FILE *f = fopen(path, "r+b");
    if (f == NULL) {
        return;
    }
    fseek(f, at, SEEK_SET);
    int ch = fgetc(f);
    fseek(f, at, SEEK_SET);
    fputc(ch ^ 0xff, f);
    fclose(f);
}

/* The cache directory's eviction and use marks (cache_dir.h), in dir. */
static void test_eviction(const char *dir) {
    struct stat st;
    /* Eviction keeps the most recently modified files (sp_cache_evict, cache_dir.h), never a
     * file being written; a file in use but not rewritten for days is marked used again. */
    char evict_dir[PATH_MAX + 16], file[PATH_MAX + 64];
    snprintf(evict_dir, sizeof evict_dir, "%s/evict", dir);
    mkdir(evict_dir, 0755);
    time_t now = time(NULL);
    for (int i = 0; i < 10; i++) {
        snprintf(file, sizeof file, "%s/%02d.lines", evict_dir, i);
        FILE *f = fopen(file, "w");
        if (f != NULL) {
            fclose(f);
        }
        /* File i was last modified i hours ago. */
        struct timespec times[2] = {{now - 3600 * i, 0}, {now - 3600 * i, 0}};
        utimensat(AT_FDCWD, file, times, 0);
    }
    snprintf(file, sizeof file, "%s/07.lines.tmp.123", evict_dir);
    FILE *tmp_file = fopen(file, "w");
    if (tmp_file != NULL) {
        fclose(tmp_file);
    }
    snprintf(file, sizeof file, "%s/00.lines", evict_dir);
    sp_cache_evict(file, 4);
    int kept = 0, right = 1;
    for (int i = 0; i < 10; i++) {
        snprintf(file, sizeof file, "%s/%02d.lines", evict_dir, i);
        int there = access(file, F_OK) == 0;
        kept += there;
        right &= there == (i < 4);
    }
    CHECK_EQ_U64("eviction keeps as many files as asked", kept, 4);
    CHECK("the most recently modified ones", right);
    snprintf(file, sizeof file, "%s/07.lines.tmp.123", evict_dir);
    CHECK("and leaves a file being written alone", access(file, F_OK) == 0);
    struct timespec two_days[2] = {{now - 48 * 3600, 0}, {now - 48 * 3600, 0}};
    snprintf(file, sizeof file, "%s/03.lines", evict_dir);
    utimensat(AT_FDCWD, file, two_days, 0);
    sp_cache_touch(file);
    CHECK("a file last marked two days ago is marked used now",
          stat(file, &st) == 0 && st.st_mtime >= now - 60);
    snprintf(file, sizeof file, "%s/02.lines", evict_dir);
    sp_cache_touch(file);
    CHECK("one marked two hours ago is left as it is",
          stat(file, &st) == 0 && st.st_mtime <= now - 2 * 3600 + 60);
}

int main(void) {
    char dir[PATH_MAX];
    const char *tmp = getenv("TEST_TMPDIR");
    snprintf(dir, sizeof dir, "%s/line-cache", tmp != NULL ? tmp : "/tmp");
    setenv("SPPROF_CACHE_DIR", dir, 1);
    mkdir(dir, 0755);
    test_eviction(dir);

    Dwfl *dwfl = dwfl_begin(&callbacks);
    int reported = dwfl != NULL && dwfl_linux_proc_report(dwfl, getpid()) == 0 &&
                   dwfl_report_end(dwfl, NULL, NULL) == 0;
    CHECK("libdwfl reports this process", reported);
    if (!reported) {
        return CHECK_DONE();
    }
    /* libc's own definitions: a sanitizer's interceptors are what RTLD_DEFAULT finds. */
    void *libc_handle = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    uint64_t probe = libc_handle != NULL ? (uint64_t)(uintptr_t)dlsym(libc_handle, "qsort") : 0;
    Dwfl_Module *libc = dwfl_addrmodule(dwfl, probe);
    Dwarf_Addr bias = 0;
    if (libc == NULL || dwfl_module_getdwarf(libc, &bias) == NULL) {
        fprintf(stderr, "  skipped: libc has no DWARF here (install libc6-dbg)\n");
        dwfl_end(dwfl);
        return CHECK_DONE();
    }
    sp_symtab_index *ix = sp_symtab_index_build(libc);
    range r[N_FUNCTIONS];
    size_t n = 0;
    for (size_t i = 0; i < N_FUNCTIONS; i++) {
        uint64_t a = (uint64_t)(uintptr_t)dlsym(libc_handle, functions[i]);
        if (a != 0 && sp_symtab_index_find(ix, a, &r[n].start, &r[n].end) != NULL) {
            n++;
        }
    }
    CHECK("libc's functions are found in its symbol table", n == N_FUNCTIONS);

    /* 1. Read from DWARF into a fresh cache, and answered from memory. */
    sp_line_cache *c = sp_line_cache_open(libc);
    CHECK("the cache opens", c != NULL);
    for (size_t i = 0; i < n; i++) {
        CHECK("a function is read into the cache",
              sp_line_cache_add(c, libc, r[i].start, r[i].end) == 0);
    }
    tally fresh = compare(libc, c, r, n);
    fprintf(stderr, "  %d addresses: %d with a file, %d inside inlined calls\n", fresh.compared,
            fresh.with_file, fresh.inlined);
    CHECK("the cache answers every address of the functions it read", fresh.missing == 0);
    CHECK("with libdw's answer at every address", fresh.differing == 0);
    CHECK("the comparison covers lines", fresh.with_file > fresh.compared / 2);
    CHECK("and inlined calls", fresh.inlined > 0);
    sp_source_location loc[8];
    CHECK("an address outside the function is not answered",
          sp_line_cache_lookup(c, r[0].start, r[0].end, loc, 8) == 0);
    CHECK("nor a function never read",
          sp_line_cache_lookup(c, r[0].start + 1, r[0].start + 1, loc, 8) == 0);
    sp_line_cache_close(c);

    /* 2. The file the close wrote, as the next process maps it. */
    char hex[129], path[sizeof dir + sizeof hex + 16];
    struct stat st;
    CHECK("the module has a build-id", sp_cache_build_id_hex(libc, hex, sizeof hex) == 0);
    snprintf(path, sizeof path, "%s/lines/%s.lines", dir, hex);
    CHECK("closing wrote the cache file", stat(path, &st) == 0 && st.st_size > 0);
    c = sp_line_cache_open(libc);
    tally mapped = compare(libc, c, r, n);
    CHECK("the file answers every address", mapped.missing == 0);
    CHECK("with libdw's answer", mapped.differing == 0);
    /* A function added now merges with the file's at close. */
    uint64_t start = 0, end = 0;
    uint64_t other = (uint64_t)(uintptr_t)dlsym(libc_handle, "memmem");
    int added = sp_symtab_index_find(ix, other, &start, &end) != NULL &&
                sp_line_cache_add(c, libc, start, end) == 0;
    CHECK("another function is added over the file", added);
    sp_line_cache_close(c);
    c = sp_line_cache_open(libc);
    CHECK("the rewritten file keeps the earlier functions", compare(libc, c, r, n).missing == 0);
    CHECK("and holds the new one", sp_line_cache_lookup(c, start, start, loc, 8) > 0);
    sp_line_cache_close(c);

    /* 3. Damage: a flipped byte in the function table is caught, the file ignored, and a
     * process that reads a function replaces it with a good one. */
    flip_a_byte(path, 48 + 12);
    c = sp_line_cache_open(libc);
    CHECK("a damaged file is ignored",
          sp_line_cache_lookup(c, r[0].start, r[0].start, loc, 8) == 0);
    CHECK("the function is read again", sp_line_cache_add(c, libc, r[0].start, r[0].end) == 0);
    sp_line_cache_close(c);
    c = sp_line_cache_open(libc);
    CHECK("and the file is good again",
          sp_line_cache_lookup(c, r[0].start, r[0].start, loc, 8) > 0);
    sp_line_cache_close(c);

    /* 4. Off: no cache at all, and the caller reads DWARF directly. */
    setenv("SPPROF_CACHE_DIR", "off", 1);
    CHECK("SPPROF_CACHE_DIR=off: no cache", sp_line_cache_open(libc) == NULL);
    CHECK("looking up in no cache is a miss",
          sp_line_cache_lookup(NULL, r[0].start, r[0].start, loc, 8) == 0);

    sp_symtab_index_free(ix);
    dwfl_end(dwfl);
    dlclose(libc_handle);
    return CHECK_DONE();
}

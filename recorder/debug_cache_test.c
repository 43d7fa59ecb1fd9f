/* debug_cache_test.c: sp_debug_cache_write_copy on a real ELF file with zlib-compressed debug
 * sections (this test binary itself, built with -gz): the copy has every section of the
 * original, in order, with the same names, types and flags but SHF_COMPRESSED, the compressed
 * ones at their uncompressed size, and libdw reads the same compilation units from it. Then the
 * find_debuginfo path: the cache directory's off switch, and a copy over a missing directory. */
#define _GNU_SOURCE
#include <elfutils/libdw.h>
#include <fcntl.h>
#include <gelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "recorder/debug_cache.h"
#include "tests/check.h"

static int count_compressed(Elf *elf) {
    int n = 0;
    for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn)) != NULL;) {
        GElf_Shdr shdr;
        n += gelf_getshdr(scn, &shdr) != NULL && (shdr.sh_flags & SHF_COMPRESSED) != 0;
    }
    return n;
}

static int count_units(int fd) {
    Dwarf *dw = dwarf_begin(fd, DWARF_C_READ);
    int n = 0;
    Dwarf_Off off = 0, next;
    size_t header_size;
    while (dw != NULL && dwarf_nextcu(dw, off, &next, &header_size, NULL, NULL, NULL) == 0) {
        n++;
        off = next;
    }
    dwarf_end(dw);
    return n;
}

/* Compares the two files section by section. Returns the number of differences. */
static int compare_sections(Elf *orig, Elf *copy) {
    size_t orig_strndx, copy_strndx;
    int differences = 0;
    if (elf_getshdrstrndx(orig, &orig_strndx) != 0 || elf_getshdrstrndx(copy, &copy_strndx) != 0) {
        return 1;
    }
    Elf_Scn *a = NULL, *b = NULL;
    for (;;) {
        a = elf_nextscn(orig, a);
        b = elf_nextscn(copy, b);
        if (a == NULL || b == NULL) {
            return differences + (a != b);
        }
        GElf_Shdr sa, sb;
        if (gelf_getshdr(a, &sa) == NULL || gelf_getshdr(b, &sb) == NULL) {
            return differences + 1;
        }
        const char *na = elf_strptr(orig, orig_strndx, sa.sh_name);
        const char *nb = elf_strptr(copy, copy_strndx, sb.sh_name);
        uint64_t expected_size = sa.sh_size;
        if (sa.sh_flags & SHF_COMPRESSED) {
            GElf_Chdr chdr;
            expected_size = gelf_getchdr(a, &chdr) != NULL ? chdr.ch_size : 0;
        }
        if (na == NULL || nb == NULL || strcmp(na, nb) != 0 || sa.sh_type != sb.sh_type ||
            (sa.sh_flags & ~(GElf_Xword)SHF_COMPRESSED) != sb.sh_flags ||
            sb.sh_size != expected_size) {
            fprintf(stderr, "section %s differs\n", na != NULL ? na : "?");
            differences++;
        }
    }
}

int main(void) {
    elf_version(EV_CURRENT);
    const char *base = getenv("TEST_TMPDIR");
    char dir[PATH_MAX], copy_path[PATH_MAX + 32];
    snprintf(dir, sizeof dir, "%s/debug_cache_test.XXXXXX", base != NULL ? base : "/tmp");
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(copy_path, sizeof copy_path, "%s/self.debug", dir);

    int self_fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    Elf *self = elf_begin(self_fd, ELF_C_READ, NULL);
    CHECK("this test binary's debug sections are compressed (-gz)",
          self != NULL && count_compressed(self) > 0);
    CHECK_EQ_U64("the copy is written", sp_debug_cache_write_copy(self_fd, copy_path), 0);

    int copy_fd = open(copy_path, O_RDONLY | O_CLOEXEC);
    Elf *copy = copy_fd >= 0 ? elf_begin(copy_fd, ELF_C_READ, NULL) : NULL;
    CHECK("the copy is an ELF file", copy != NULL && elf_kind(copy) == ELF_K_ELF);
    CHECK_EQ_U64("the copy has no compressed section", copy ? count_compressed(copy) : 1, 0);
    CHECK_EQ_U64("every section is there, as it was but uncompressed",
                 copy ? compare_sections(self, copy) : 1, 0);
    int units = count_units(self_fd);
    CHECK("libdw reads compilation units from the original", units > 0);
    CHECK_EQ_U64("and the same ones from the copy", count_units(copy_fd), units);
    char tmp_left[PATH_MAX + 64];
    snprintf(tmp_left, sizeof tmp_left, "%s.tmp.%d", copy_path, (int)getpid());
    CHECK("no temporary file is left behind", access(tmp_left, F_OK) != 0);

    char missing[PATH_MAX + 64];
    snprintf(missing, sizeof missing, "%s/no/such/dir/x.debug", dir);
    CHECK("a copy into a missing directory fails cleanly",
          sp_debug_cache_write_copy(self_fd, missing) == -1 && access(missing, F_OK) != 0);
    int not_elf = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    snprintf(missing, sizeof missing, "%s/not-elf.debug", dir);
    CHECK("a file that is not ELF is not copied",
          sp_debug_cache_write_copy(not_elf, missing) == -1 && access(missing, F_OK) != 0);
    close(not_elf);

    elf_end(copy);
    elf_end(self);
    close(copy_fd);
    close(self_fd);
    return CHECK_DONE();
}

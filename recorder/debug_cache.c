/* debug_cache.c: uncompressed copies of separate debug files, shared by every recorded process
 * (debug_cache.h says why). Writer thread only. */
#define _GNU_SOURCE
#include "recorder/debug_cache.h"

#include <fcntl.h>
#include <gelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "recorder/cache_dir.h"

/* Copies kept (sp_cache_evict): each is a whole debug file, glibc's 10 MB. */
#define DEBUG_COPIES_KEPT 64

/* Does the ELF file on fd have a section libdw would have to inflate? */
static int has_compressed_sections(int fd) {
    Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    int compressed = 0;
    for (Elf_Scn *scn = NULL;
         elf != NULL && !compressed && (scn = elf_nextscn(elf, scn)) != NULL;) {
        GElf_Shdr shdr;
        compressed = gelf_getshdr(scn, &shdr) != NULL && (shdr.sh_flags & SHF_COMPRESSED) != 0;
    }
    elf_end(elf);
    return compressed;
}

/* The two paths of mod's separate debug file: where the system keeps it, found by build-id as
 * dwfl_build_id_find_debuginfo looks for it, and its copy in the cache, CACHE/debug/<build-id in
 * hex>.debug. Returns 0 or -1. */
static int debug_paths(Dwfl_Module *mod, char *system_path, char *cached_path, size_t size) {
    char hex[2 * 64 + 1], name[sizeof hex + 8];
    if (sp_cache_build_id_hex(mod, hex, sizeof hex) != 0) {
        return -1;
    }
    snprintf(name, sizeof name, "%s.debug", hex);
    int m = snprintf(system_path, size, "/usr/lib/debug/.build-id/%.2s/%s.debug", hex, hex + 2);
    return m > 0 && (size_t)m < size ? sp_cache_path("debug", name, cached_path, size) : -1;
}

/* Copies in's ELF header, program headers and sections into out, decompressing compressed
 * sections on the way. Returns 0 or -1. */
static int copy_decompressed(Elf *in, Elf *out) {
    GElf_Ehdr ehdr;
    size_t phnum, shstrndx;
    if (gelf_getehdr(in, &ehdr) == NULL || gelf_newehdr(out, gelf_getclass(in)) == NULL ||
        elf_getphdrnum(in, &phnum) != 0 || elf_getshdrstrndx(in, &shstrndx) != 0 ||
        shstrndx >= SHN_LORESERVE) {
        return -1;
    }
    if (phnum > 0 && gelf_newphdr(out, phnum) == NULL) {
        return -1;
    }
    for (size_t i = 0; i < phnum; i++) {
        GElf_Phdr phdr;
        if (gelf_getphdr(in, (int)i, &phdr) == NULL || !gelf_update_phdr(out, (int)i, &phdr)) {
            return -1;
        }
    }
    for (Elf_Scn *scn = NULL; (scn = elf_nextscn(in, scn)) != NULL;) {
        GElf_Shdr shdr;
        if (gelf_getshdr(scn, &shdr) == NULL) {
            return -1;
        }
        /* Decompressed in memory (libelf keeps the change to itself on a read-only Elf). */
        if ((shdr.sh_flags & SHF_COMPRESSED) != 0 &&
            (elf_compress(scn, 0, 0) != 1 || gelf_getshdr(scn, &shdr) == NULL)) {
            return -1;
        }
        Elf_Scn *copy = elf_newscn(out);
        Elf_Data *data = elf_getdata(scn, NULL);
        if (copy == NULL || !gelf_update_shdr(copy, &shdr)) {
            return -1;
        }
        if (data != NULL) {
            Elf_Data *copied = elf_newdata(copy);
            if (copied == NULL) {
                return -1;
            }
            copied->d_buf = data->d_buf;
            copied->d_size = data->d_size;
            copied->d_type = data->d_type;
            copied->d_align = data->d_align;
            copied->d_off = 0;
            copied->d_version = data->d_version;
        }
    }
    /* libelf lays the file out anew and sets the offsets and counts itself. */
    ehdr.e_shstrndx = (GElf_Half)shstrndx;
    return gelf_update_ehdr(out, &ehdr) && elf_update(out, ELF_C_WRITE) >= 0 ? 0 : -1;
}

/* sp_cache_write's fill: the decompressed copy of the ELF file on *(int *)src_fd. */
static int write_decompressed(int out_fd, void *src_fd) {
    Elf *in = elf_begin(*(int *)src_fd, ELF_C_READ, NULL);
    Elf *out = elf_begin(out_fd, ELF_C_WRITE, NULL);
    int ok = in != NULL && out != NULL && copy_decompressed(in, out) == 0;
    elf_end(out);
    elf_end(in);
    return ok ? 0 : -1;
}

int sp_debug_cache_write_copy(int src_fd, const char *dst_path) {
    if (elf_version(EV_CURRENT) == EV_NONE) {
        return -1;
    }
    return sp_cache_write(dst_path, write_decompressed, &src_fd);
}

int sp_debug_cache_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
                                  Dwarf_Addr base, const char *file_name,
                                  const char *debuglink_file, GElf_Word debuglink_crc,
                                  char **debuginfo_file_name) {
    elf_version(EV_CURRENT);
    /* libdwfl asks through this callback for a dwz alternate file too, naming it by its
     * (slashed) .gnu_debugaltlink path; a .gnu_debuglink is a bare file name. Those, and files
     * the cache cannot serve, go the standard way. The copy cannot be handed over after
     * dwfl_build_id_find_debuginfo ran: that keeps its own handle on the file it found. */
    int alternate = debuglink_file != NULL && strchr(debuglink_file, '/') != NULL;
    char system_path[PATH_MAX], cached_path[PATH_MAX];
    if (!alternate && debug_paths(mod, system_path, cached_path, sizeof cached_path) == 0) {
        int cached = open(cached_path, O_RDONLY | O_CLOEXEC);
        if (cached < 0) {
            int fd = open(system_path, O_RDONLY | O_CLOEXEC);
            if (fd >= 0 && has_compressed_sections(fd) &&
                sp_debug_cache_write_copy(fd, cached_path) == 0) {
                cached = open(cached_path, O_RDONLY | O_CLOEXEC);
                sp_cache_evict(cached_path, DEBUG_COPIES_KEPT);
            }
            if (fd >= 0) {
                close(fd);
            }
        }
        if (cached >= 0) {
            sp_cache_touch(cached_path);
        }
        char *name = cached >= 0 ? strdup(cached_path) : NULL;
        if (name != NULL) {
            free(*debuginfo_file_name);
            *debuginfo_file_name = name;
            return cached; /* libdwfl checks its build-id against the module's */
        }
        if (cached >= 0) {
            close(cached);
        }
    }
    return dwfl_build_id_find_debuginfo(mod, userdata, modname, base, file_name, debuglink_file,
                                        debuglink_crc, debuginfo_file_name);
}

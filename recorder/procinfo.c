/* procinfo.c: reads /proc/self files and uname for the header and the writer. Never called from
 * a signal handler. */
#define _GNU_SOURCE
#include "recorder/procinfo.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *sp_read_file(const char *path, size_t *len_out) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return NULL;
    }
    size_t cap = 256;
    size_t len = 0;
    char *buf = malloc(cap + 1);
    while (buf != NULL) {
        if (len == cap) {
            char *grown = realloc(buf, cap * 2 + 1);
            if (grown == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        len += (size_t)n;
    }
    close(fd);
    if (buf != NULL) {
        buf[len] = '\0';
        *len_out = len;
    }
    return buf;
}

/* Splits /proc/self/cmdline (NUL-separated) into an argv array; *argc_out is its length. */
static const char **split_cmdline(char *buf, size_t len, uint32_t *argc_out) {
    uint32_t argc = 0;
    for (size_t i = 0; i < len; i++) {
        argc += buf[i] == '\0';
    }
    if (len > 0 && buf[len - 1] != '\0') {
        argc++; /* a program that rewrote its argv may drop the last NUL */
    }
    const char **argv = calloc(argc + 1u, sizeof *argv);
    if (argv == NULL) {
        return NULL;
    }
    uint32_t k = 0;
    for (size_t i = 0; i < len && k < argc; i += strlen(buf + i) + 1) {
        argv[k++] = buf + i;
    }
    *argc_out = k;
    return argv;
}

void sp_procinfo_get(sp_procinfo *info) {
    memset(info, 0, sizeof *info);
    ssize_t exe_len = readlink("/proc/self/exe", info->exe, sizeof info->exe - 1);
    info->exe[exe_len > 0 ? exe_len : 0] = '\0';
    size_t len = 0;
    info->cmdline = sp_read_file("/proc/self/cmdline", &len);
    if (info->cmdline != NULL) {
        info->argv = split_cmdline(info->cmdline, len, &info->argc);
    }
    if (uname(&info->uts) != 0) {
        memset(&info->uts, 0, sizeof info->uts);
    }
}

void sp_procinfo_release(sp_procinfo *info) {
    free(info->argv);
    free(info->cmdline);
    info->argv = NULL;
    info->cmdline = NULL;
}

int sp_mapping_end(uint64_t addr, uint64_t *top) {
    size_t len = 0;
    char *maps = sp_read_file("/proc/self/maps", &len);
    int found = -1;
    for (char *line = maps; line != NULL && *line != '\0';) {
        unsigned long long lo = 0, hi = 0;
        if (sscanf(line, "%llx-%llx", &lo, &hi) == 2 && addr >= lo && addr < hi) {
            *top = hi;
            found = 0;
            break;
        }
        line = strchr(line, '\n');
        line = line != NULL ? line + 1 : NULL;
    }
    free(maps);
    return found;
}

typedef struct {
    ElfW(Addr) base; /* the load bias looked for */
    uint64_t start, end;
} own_text_search;

/* dl_iterate_phdr callback: finds the executable segment of the shared object loaded at base.
 * The program itself (dlpi_name "") is never the recorder's own code: a program that links the
 * recorder (the C API) holds its own functions in the same segment. */
static int find_own_text(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    own_text_search *search = data;
    if (info->dlpi_addr != search->base) {
        return 0;
    }
    if (info->dlpi_name == NULL || info->dlpi_name[0] == '\0') {
        return 1; /* found, and it is the program: no range */
    }
    for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
            search->start = info->dlpi_addr + ph->p_vaddr;
            search->end = search->start + ph->p_memsz;
            return 1;
        }
    }
    return 0;
}

void sp_own_text(uint64_t *start, uint64_t *end) {
    own_text_search search = {0, 0, 0};
    Dl_info info;
    if (dladdr((void *)(uintptr_t)&sp_own_text, &info) != 0) {
        /* dlpi_addr is the load bias, which for a shared object is its base address. */
        search.base = (ElfW(Addr))(uintptr_t)info.dli_fbase;
        dl_iterate_phdr(find_own_text, &search);
    }
    *start = search.start;
    *end = search.end;
}

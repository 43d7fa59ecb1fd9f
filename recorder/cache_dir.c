/* cache_dir.c: the recorder's cache directory (cache_dir.h). */
#define _GNU_SOURCE
#include "recorder/cache_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "recorder/log.h"

/* Fills dir with the cache directory. Returns 0, or -1 when the cache is off or has no home. */
static int cache_dir(char *dir, size_t size) {
    const char *own = getenv("SPPROF_CACHE_DIR");
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    int n;
    if (own != NULL) {
        if (own[0] == '\0' || strcmp(own, "off") == 0) {
            return -1;
        }
        n = snprintf(dir, size, "%s", own);
    } else if (xdg != NULL && xdg[0] == '/') {
        n = snprintf(dir, size, "%s/spprof", xdg);
    } else if (home != NULL && home[0] == '/') {
        n = snprintf(dir, size, "%s/.cache/spprof", home);
    } else {
        return -1;
    }
    return n > 0 && (size_t)n < size ? 0 : -1;
}

/* mkdir -p. Returns 0 when the directory exists afterwards. */
static int make_dirs(char *path) {
    for (char *slash = strchr(path + 1, '/');; slash = strchr(slash + 1, '/')) {
        if (slash != NULL) {
            *slash = '\0';
        }
        int made = mkdir(path, 0755) == 0 || errno == EEXIST;
        if (slash == NULL) {
            return made ? 0 : -1;
        }
        *slash = '/';
        if (!made) {
            return -1;
        }
    }
}

int sp_cache_path(const char *subdir, const char *name, char *path, size_t size) {
    char dir[PATH_MAX];
    if (cache_dir(dir, sizeof dir) != 0) {
        return -1;
    }
    int n = snprintf(path, size, "%s/%s", dir, subdir);
    if (n <= 0 || (size_t)n >= sizeof dir) {
        return -1;
    }
    if (make_dirs(strcpy(dir, path)) != 0) {
        /* The default directory fails quietly (no home, a read-only one): the cache is an
         * optimization. A directory the user named is worth one line per process. */
        static int said;
        const char *own = getenv("SPPROF_CACHE_DIR");
        if (own != NULL && !said) {
            said = 1;
            sp_log("spprof: SPPROF_CACHE_DIR=%s: cannot create %s: %s; symbols are worked out "
                   "without the cache",
                   own, path, strerror(errno));
        }
        return -1;
    }
    int m = snprintf(path + n, size - (size_t)n, "/%s", name);
    return m > 0 && (size_t)m < size - (size_t)n ? 0 : -1;
}

int sp_cache_write(const char *path, int (*fill)(int fd, void *ctx), void *ctx) {
    char tmp[PATH_MAX];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    if (n <= 0 || (size_t)n >= sizeof tmp) {
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        return -1;
    }
    int ok = fill(fd, ctx) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

int sp_cache_build_id_hex(Dwfl_Module *mod, char *hex, size_t size) {
    const unsigned char *bits = NULL;
    GElf_Addr vaddr;
    int len = dwfl_module_build_id(mod, &bits, &vaddr);
    if (len < 2 || (size_t)len * 2 + 1 > size) {
        return -1;
    }
    for (int i = 0; i < len; i++) {
        snprintf(hex + 2 * i, 3, "%02x", bits[i]);
    }
    return 0;
}

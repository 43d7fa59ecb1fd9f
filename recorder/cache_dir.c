/* cache_dir.c: the recorder's cache directory (cache_dir.h). */
#define _GNU_SOURCE
#include "recorder/cache_dir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
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

/* A file of a cache directory, for eviction. */
typedef struct {
    time_t mtime;
    char name[256];
} cache_file;

static int oldest_first(const void *a, const void *b) {
    time_t x = ((const cache_file *)a)->mtime, y = ((const cache_file *)b)->mtime;
    return x < y ? -1 : x > y;
}

void sp_cache_evict(const char *path, size_t keep) {
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (slash == NULL || (size_t)(slash - path) >= sizeof dir) {
        return;
    }
    memcpy(dir, path, (size_t)(slash - path));
    dir[slash - path] = '\0';
    DIR *d = opendir(dir);
    if (d == NULL) {
        return;
    }
    /* Names first: most writes find the directory under its limit and need no stat at all. */
    size_t names = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        names += e->d_name[0] != '.';
    }
    if (names <= keep) {
        closedir(d);
        return;
    }
    rewinddir(d);
    cache_file *files = NULL;
    size_t n = 0, cap = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        struct stat st;
        if (e->d_name[0] == '.' || strstr(e->d_name, ".tmp.") != NULL /* being written */ ||
            strlen(e->d_name) >= sizeof files->name ||
            fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) {
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            cache_file *grown = realloc(files, cap * sizeof *files);
            if (grown == NULL) {
                break;
            }
            files = grown;
        }
        files[n].mtime = st.st_mtime;
        strcpy(files[n++].name, e->d_name);
    }
    if (n > keep) {
        qsort(files, n, sizeof *files, oldest_first);
        for (size_t i = 0; i < n - keep; i++) {
            unlinkat(dirfd(d), files[i].name, 0);
        }
    }
    closedir(d);
    free(files);
}

void sp_cache_touch(const char *path) {
    struct stat st;
    if (stat(path, &st) == 0 && time(NULL) - st.st_mtime > 24 * 3600) {
        utimensat(AT_FDCWD, path, NULL, 0);
    }
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

/* exec_env.c: puts the recorder's variables back into an environment a program hands to execve
 * or posix_spawn. The rebuilt array is mmap'ed (not malloc'ed) so it never shows up in the
 * allocation hooks and needs no heap in a process about to exec. */
#define _GNU_SOURCE
#include "recorder/exec_env.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "recorder/recording.h"

extern char **environ;

#define MAX_OURS 32 /* SPPROF_* variables plus LD_PRELOAD */

static int is_ours(const char *entry) {
    return strncmp(entry, "SPPROF_", 7) == 0 || strncmp(entry, "LD_PRELOAD=", 11) == 0;
}

static int contains(char *const envp[], const char *entry) {
    for (size_t i = 0; envp[i] != NULL; i++) {
        if (strcmp(envp[i], entry) == 0) {
            return 1;
        }
    }
    return 0;
}

static const char *find(char *const envp[], const char *prefix) {
    size_t len = strlen(prefix);
    for (size_t i = 0; envp[i] != NULL; i++) {
        if (strncmp(envp[i], prefix, len) == 0) {
            return envp[i] + len;
        }
    }
    return NULL;
}

/* Does a LD_PRELOAD value name lib (as one ':' or ' ' separated element)? */
static int names_lib(const char *value, const char *lib) {
    size_t lib_len = strlen(lib);
    for (const char *p = value; p != NULL && *p != '\0';) {
        size_t len = strcspn(p, ": ");
        if (len == lib_len && strncmp(p, lib, len) == 0) {
            return 1;
        }
        p += len + (p[len] != '\0');
    }
    return 0;
}

/* What a followed child must see, compared with the environment it would get. */
typedef struct {
    const char *lib;            /* this library's path, as LD_PRELOAD must name it */
    const char *ours[MAX_OURS]; /* our SPPROF_* entries of environ */
    size_t n_ours;
    const char *their_preload; /* in's LD_PRELOAD value, or NULL */
    int preload_ok;            /* their_preload names lib */
} wanted;

/* Fills *w for environment in. Returns 1 when in carries everything, 0 when something is
 * missing, -1 when children are not followed (or our library cannot be named). */
static int inspect(char *const in[], wanted *w) {
    if (!sp_recording_follows_children() || in == NULL) {
        return -1;
    }
    Dl_info info;
    if (dladdr((void *)sp_exec_env, &info) == 0 || info.dli_fname == NULL) {
        return -1;
    }
    w->lib = info.dli_fname;
    w->n_ours = 0;
    for (size_t i = 0; environ[i] != NULL && w->n_ours < MAX_OURS; i++) {
        if (strncmp(environ[i], "SPPROF_", 7) == 0) {
            w->ours[w->n_ours++] = environ[i];
        }
    }
    w->their_preload = find(in, "LD_PRELOAD=");
    w->preload_ok = w->their_preload != NULL && names_lib(w->their_preload, w->lib);
    int all = w->preload_ok;
    for (size_t i = 0; i < w->n_ours && all; i++) {
        all = contains(in, w->ours[i]);
    }
    return all;
}

int sp_exec_env_follows(char *const envp[]) {
    wanted w;
    return inspect(envp != NULL ? envp : environ, &w) == 1;
}

char *const *sp_exec_env(char *const envp[], sp_exec_env_mem *mem) {
    mem->map = NULL;
    mem->map_bytes = 0;
    char *const *in = envp != NULL ? envp : environ;
    wanted w;
    if (inspect(in, &w) != 0) {
        return envp; /* complete already, or not following */
    }
    size_t n_in = 0, bytes = 0;
    for (; in[n_in] != NULL; n_in++) {
        bytes += strlen(in[n_in]) + 1;
    }
    bytes += strlen("LD_PRELOAD=") + strlen(w.lib) + 1 +
             (w.their_preload ? strlen(w.their_preload) : 0) + 1;
    size_t slots = n_in + w.n_ours + 2;
    size_t total = slots * sizeof(char *) + bytes;
    void *map = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED) {
        return envp; /* not followed, but the program's exec still works */
    }
    char **out = map;
    char *strings = (char *)map + slots * sizeof(char *);
    size_t k = 0;
    for (size_t i = 0; i < n_in; i++) {
        if (!is_ours(in[i]) || (strncmp(in[i], "LD_PRELOAD=", 11) == 0 && w.preload_ok)) {
            out[k++] = in[i];
        }
    }
    for (size_t i = 0; i < w.n_ours; i++) {
        out[k++] = (char *)w.ours[i];
    }
    if (!w.preload_ok) {
        size_t room = total - (size_t)(strings - (char *)map);
        if (w.their_preload != NULL && w.their_preload[0] != '\0') {
            snprintf(strings, room, "LD_PRELOAD=%s:%s", w.lib, w.their_preload);
        } else {
            snprintf(strings, room, "LD_PRELOAD=%s", w.lib);
        }
        out[k++] = strings;
    }
    out[k] = NULL;
    mem->map = map;
    mem->map_bytes = total;
    return out;
}

void sp_exec_env_free(sp_exec_env_mem *mem) {
    if (mem->map != NULL) {
        munmap(mem->map, mem->map_bytes);
        mem->map = NULL;
    }
}

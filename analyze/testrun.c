/* testrun.c: running the built binaries with captured output, runfiles and golden text for
 * analyze's and convert's tests (testrun.h). */
#define _XOPEN_SOURCE 700
#include "analyze/testrun.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/tracekit.h"

int tu_run(char *const argv[], tu_run_result *res) {
    static unsigned counter;
    char name[64], out_path[4200], err_path[4200];
    memset(res, 0, sizeof *res);
    snprintf(name, sizeof name, "run.%u.out", counter);
    tk_tmp_path(name, out_path, sizeof out_path);
    snprintf(name, sizeof name, "run.%u.err", counter++);
    tk_tmp_path(name, err_path, sizeof err_path);

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    char *envp[] = {"TZ=UTC", NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(rc));
        return -1;
    }
    int wstatus;
    while (waitpid(pid, &wstatus, 0) < 0) {
        if (errno != EINTR)
            return -1;
    }
    res->status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
    res->out = tk_read_file(out_path, &res->out_len);
    res->err = tk_read_file(err_path, &res->err_len);
    if (!res->out || !res->err) {
        tu_run_free(res);
        return -1;
    }
    return 0;
}

void tu_run_free(tu_run_result *res) {
    free(res->out);
    free(res->err);
    memset(res, 0, sizeof *res);
}

int tu_runva(const char *bin, tu_run_result *res, va_list ap) {
    char *argv[32];
    int n = 0;
    argv[n++] = (char *)bin;
    for (char *a; n < 31 && (a = va_arg(ap, char *)) != NULL;)
        argv[n++] = a;
    argv[n] = NULL;
    return tu_run(argv, res);
}

int tu_runv(const char *bin, tu_run_result *res, ...) {
    va_list ap;
    va_start(ap, res);
    int rc = tu_runva(bin, res, ap);
    va_end(ap);
    return rc;
}

int tu_runfile(const char *rel, char *out, size_t size) {
    const char *srcdir = getenv("TEST_SRCDIR");
    const char *ws = getenv("TEST_WORKSPACE");
    char path[PATH_MAX + 256], resolved[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s/%s", srcdir ? srcdir : ".", ws ? ws : "spprof", rel);
    if (!realpath(path, resolved)) {
        fprintf(stderr, "cannot find %s\n", path);
        return -1;
    }
    snprintf(out, size, "%s", resolved);
    return 0;
}

/* A copy of text with the lines that start with a mask prefix replaced by "prefix<masked>". */
static char *masked(const char *text, size_t len, const char *const *masks, size_t *out_len) {
    char *out = malloc(len + 1);
    size_t o = 0;
    if (!out)
        return NULL;
    for (size_t i = 0; i < len;) {
        const char *line = text + i;
        const char *nl = memchr(line, '\n', len - i);
        size_t line_len = nl ? (size_t)(nl - line) + 1 : len - i;
        const char *hit = NULL;
        for (size_t k = 0; masks && masks[k] && !hit; k++) {
            if (strlen(masks[k]) <= line_len && memcmp(line, masks[k], strlen(masks[k])) == 0)
                hit = masks[k];
        }
        if (hit) {
            char *p = realloc(out, o + (len - i) + strlen(hit) + 16);
            if (!p) {
                free(out);
                return NULL;
            }
            out = p;
            o += (size_t)sprintf(out + o, "%s<masked>\n", hit);
        } else {
            memcpy(out + o, line, line_len);
            o += line_len;
        }
        i += line_len;
    }
    out[o] = '\0';
    *out_len = o;
    return out;
}

int tu_golden_equal(const char *dir, const char *name, const char *out, size_t len,
                    const char *const *masks) {
    char path[PATH_MAX + 256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    size_t want_len = 0, got_len = 0;
    char *want = tk_read_file(path, &want_len);
    char *want_m = want ? masked(want, want_len, masks, &want_len) : NULL;
    char *got = masked(out, len, masks, &got_len);
    int same = want_m && got && want_len == got_len && memcmp(want_m, got, got_len) == 0;
    if (!same) {
        const char *outdir = getenv("TEST_UNDECLARED_OUTPUTS_DIR");
        snprintf(path, sizeof path, "%s/%s", outdir ? outdir : "/tmp", name);
        if (got)
            tk_write_file(path, got, got_len);
        fprintf(stderr, "  %s differs; actual output written to %s:\n%s", name, path,
                got ? got : "");
    }
    free(want);
    free(want_m);
    free(got);
    return same;
}

size_t tu_count_lines(const char *s) {
    size_t n = 0;
    for (; s && *s; s++)
        n += *s == '\n';
    return n;
}

int tu_columns_aligned(const char *text, const char *heading) {
    const char *p = text ? strstr(text, heading) : NULL;
    if (!p || (p != text && p[-1] != '\n') || p[strlen(heading)] != '\n')
        return 0;
    size_t column = 0, rows = 0;
    for (p += strlen(heading) + 1; *p && *p != '\n'; rows++) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        /* The first column ends at the first run of two spaces after the indent. */
        const char *gap = NULL;
        for (size_t i = 2; i + 1 < len && !gap; i++) {
            if (p[i] == ' ' && p[i + 1] == ' ' && p[i - 1] != ' ')
                gap = p + i;
        }
        if (strncmp(p, "  ", 2) != 0 || p[2] == ' ' || !gap)
            return 0;
        size_t at = (size_t)(gap - p) + strspn(gap, " ");
        if (at >= len || (rows > 0 && at != column))
            return 0;
        column = at;
        p = nl ? nl + 1 : p + len;
    }
    return rows > 0;
}

/* family.c: where the rest of a trace's process went. A trace holds one image of one process.
 * A wrapper that execs the real program (env, a pyenv shim, a script ending in exec) records a
 * few milliseconds and hands over to OUT.<pid>.1, and a process that only waits for its children
 * (time, a shell running a pipeline) records nothing of their work. `top run.sptrace` on such a
 * trace would only say "0 samples"; these notes say on stderr which trace holds the program.
 * Only headers are read to follow the chain, so the note costs a few file opens. */
#include "analyze/cli.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_EXEC_HOPS 64   /* a shim chain is a handful; a loop of execs must not run on */
#define ARGV_SHOWN    120u /* bytes of the command line quoted in the note */
#define PATH_BYTES    4096u

/* Whether path is a regular file we may read. Paths come from the trace: a FIFO or a device
 * named there must not block or be read. */
static int readable_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, R_OK) == 0;
}

/* The file name part of path. */
static const char *file_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash != NULL ? slash + 1 : path;
}

/* The path under which the trace recorded as `recorded` can be read: as recorded, or, for
 * traces moved together to another directory or machine, its file name next to `file`.
 * Returns 0 with out filled, or -1 when neither exists. */
static int locate(const char *file, const char *recorded, char *out, size_t size) {
    if (recorded[0] == '\0')
        return -1;
    if (readable_file(recorded) && strlen(recorded) < size) {
        memcpy(out, recorded, strlen(recorded) + 1);
        return 0;
    }
    int dir_len = (int)(file_name(file) - file);
    int n = snprintf(out, size, "%.*s%s", dir_len, file, file_name(recorded));
    return n > 0 && (size_t)n < size && readable_file(out) ? 0 : -1;
}

/* The command line of header h, quoted for one line of text: "python3 mp.py fork". */
static void command_of(const spt_header *h, char *out, size_t size) {
    out[0] = '\0';
    size_t used = 0;
    for (uint32_t i = 0; i < h->argc && used + 4 < size; i++) {
        /* The program's name, as a shell prompt shows it. */
        const char *arg = i == 0 ? file_name(h->argv[0]) : h->argv[i];
        int n = snprintf(out + used, size - used, "%s%s", i ? " " : "", arg);
        if (n < 0 || (size_t)n >= size - used) {
            memcpy(out + size - 4, "...", 4);
            break;
        }
        used += (size_t)n;
    }
    for (char *p = out; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    }
}

/* Whether path's header names process pid and the trace `parent` (compared by file name, as
 * traces may have moved since) as its parent: the exec'd image that continued it. When it
 * does, its command line goes to command. */
static int continues(const char *path, uint64_t pid, const char *parent, char *command,
                     size_t size) {
    spt_reader *r = NULL;
    int yes = 0;
    if (spt_reader_open(path, NULL, &r) == SPT_OK) {
        const spt_header *h = spt_reader_header(r);
        yes = h->pid == pid && strcmp(file_name(h->parent_trace), file_name(parent)) == 0;
        if (yes)
            command_of(h, command, size);
    }
    spt_reader_close(r);
    return yes;
}

/* path with its last ".<n>" replaced by ".<n+1>": the recorder names the n-th image a process
 * exec'd OUT.<pid>.<n> (docs/USAGE.md, Children). Returns -1 when path does not end so. */
static int next_image(const char *path, char *out, size_t size) {
    const char *dot = strrchr(path, '.');
    if (dot == NULL || dot[1] == '\0' || strspn(dot + 1, "0123456789") != strlen(dot + 1) ||
        strlen(dot + 1) > 9)
        return -1;
    long n = strtol(dot + 1, NULL, 10);
    int len = snprintf(out, size, "%.*s.%ld", (int)(dot - path), path, n + 1);
    return len > 0 && (size_t)len < size ? 0 : -1;
}

/* The trace of the last image of this process, and its command line: the exec chain followed
 * from the CHILD (exec) record through OUT.<pid>.<n+1>, each checked to continue the previous
 * one. */
static int last_image(const spa_model *m, const char *file, const spa_note *exec_child, char *out,
                      size_t size, char *command, size_t command_size) {
    const spt_reader *r = spa_model_reader(m);
    const char *recorded = spt_reader_string(r, exec_child->text);
    uint64_t pid = spa_model_header(m)->pid;
    if (locate(file, recorded, out, size) != 0 || !continues(out, pid, file, command, command_size))
        return -1;
    char next[PATH_BYTES];
    for (int hop = 0; hop < MAX_EXEC_HOPS; hop++) {
        if (next_image(out, next, sizeof next) != 0 || !readable_file(next) ||
            !continues(next, pid, out, command, command_size))
            break;
        memcpy(out, next, strlen(next) + 1);
    }
    return 0;
}

void spa_cli_note_elsewhere(const spa_model *m, const char *file) {
    const spt_reader_stats *st = spa_model_stats(m);
    const spa_totals *t = spa_model_totals(m);
    size_t n_children = 0;
    const spa_note *children = spa_model_children(m, &n_children);
    const spa_note *exec_child = NULL;
    for (size_t i = 0; i < n_children; i++) {
        if (children[i].kind == SPT_CHILD_EXEC)
            exec_child = &children[i];
    }
    char path[PATH_BYTES], command[ARGV_SHOWN + 4];
    if (st->ended_cleanly && st->end.reason == SPT_END_EXEC && exec_child != NULL) {
        if (last_image(m, file, exec_child, path, sizeof path, command, sizeof command) != 0) {
            spa_cli_error("%s: this process exec'd another program, whose trace %s cannot be read",
                          file, spt_reader_string(spa_model_reader(m), exec_child->text));
            return;
        }
        char took[32];
        spa_fmt_duration(took, sizeof took, spa_model_duration_ns(m));
        spa_cli_error("%s: this process exec'd after %s; the program it became (%s) is recorded "
                      "in %s",
                      file, took, command, path);
    } else if (t->samples.count == 0 && t->allocs == 0 && n_children > 0 &&
               locate(file, spt_reader_string(spa_model_reader(m), children[0].text), path,
                      sizeof path) == 0) {
        spa_cli_error("%s: nothing was recorded in this process itself; its %zu child process%s "
                      "%s recorded in %s%s (spprof-analyze merge combines traces)",
                      file, n_children, n_children == 1 ? "" : "es", n_children == 1 ? "is" : "are",
                      path, n_children == 1 ? "" : " and others");
    }
}

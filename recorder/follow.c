/* follow.c: trace naming and the SPPROF_SELF handshake between a process, the programs it
 * execs and the children it starts. */
#define _GNU_SOURCE
#include "recorder/follow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void sp_follow_name(const sp_options *o, int pid, unsigned gen, char *out, size_t out_len) {
    int n;
    if (gen == 0 && pid == o->root_pid) {
        n = snprintf(out, out_len, "%s", o->output);
    } else if (gen == 0) {
        n = snprintf(out, out_len, "%s.%d", o->output, pid);
    } else {
        n = snprintf(out, out_len, "%s.%d.%u", o->output, pid, gen);
    }
    if (n < 0 || (size_t)n >= out_len) {
        /* Cut (a path near PATH_MAX): the writer then fails to create it and says so. */
        out[out_len - 1] = '\0';
    }
}

/* Parses SPPROF_SELF = "<pid> <gen> <path>". Returns 1 when present and well formed. */
static int parse_self(int *pid, unsigned *gen, char *path, size_t path_len) {
    const char *s = getenv("SPPROF_SELF");
    if (s == NULL) {
        return 0;
    }
    char *end = NULL;
    long p = strtol(s, &end, 10);
    if (end == s || *end != ' ') {
        return 0;
    }
    const char *g = end + 1;
    unsigned long n = strtoul(g, &end, 10);
    if (end == g || *end != ' ' || p <= 0 || n > 1000000u) {
        return 0;
    }
    *pid = (int)p;
    *gen = (unsigned)n;
    snprintf(path, path_len, "%s", end + 1);
    return 1;
}

int sp_follow_from_env(const sp_options *o, sp_lineage *lin) {
    memset(lin, 0, sizeof *lin);
    lin->pid = (int)getpid();
    int self_pid = 0;
    unsigned self_gen = 0;
    char self_path[PATH_MAX];
    if (!parse_self(&self_pid, &self_gen, self_path, sizeof self_path)) {
        /* No recorder ran before us in this line of processes: the first process, or (pid not
         * the launcher's) one whose environment lost SPPROF_SELF on the way. */
        if (!o->follow && o->root_pid != 0 && lin->pid != o->root_pid) {
            return 0;
        }
        sp_follow_name(o, lin->pid, 0, lin->path, sizeof lin->path);
        return 1;
    }
    if (!o->follow) {
        return 0; /* --no-follow: only the first image of the first process records */
    }
    if (self_pid == lin->pid) {
        lin->gen = self_gen + 1; /* the same process after execve */
    }
    snprintf(lin->parent, sizeof lin->parent, "%s", self_path);
    sp_follow_name(o, lin->pid, lin->gen, lin->path, sizeof lin->path);
    return 1;
}

void sp_follow_fork_child(const sp_options *o, const sp_lineage *parent, int child_pid,
                          sp_lineage *out) {
    memset(out, 0, sizeof *out);
    out->pid = child_pid;
    snprintf(out->parent, sizeof out->parent, "%s", parent->path);
    sp_follow_name(o, child_pid, 0, out->path, sizeof out->path);
}

void sp_follow_next_exec(const sp_options *o, const sp_lineage *cur, sp_lineage *out) {
    memset(out, 0, sizeof *out);
    out->pid = cur->pid;
    out->gen = cur->gen + 1;
    snprintf(out->parent, sizeof out->parent, "%s", cur->path);
    sp_follow_name(o, out->pid, out->gen, out->path, sizeof out->path);
}

void sp_follow_publish(const sp_options *o, const sp_lineage *lin) {
    char self[PATH_MAX + 64];
    snprintf(self, sizeof self, "%d %u %s", lin->pid, lin->gen, lin->path);
    setenv("SPPROF_SELF", self, 1);
    setenv("SPPROF_OUTPUT", o->output, 1);
    setenv("SPPROF_TRACE_ID", o->trace_id, 1);
    char root[32];
    snprintf(root, sizeof root, "%d", o->root_pid);
    setenv("SPPROF_ROOT_PID", root, 1);
}

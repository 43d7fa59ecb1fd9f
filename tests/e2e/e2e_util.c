/* e2e_util.c: process running and trace reading for the recorder's end-to-end tests. */
#define _GNU_SOURCE
#include "tests/e2e/e2e_util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

char e2e_tmp[PATH_MAX];

void e2e_init(const char *test_name) {
    const char *base = getenv("TEST_TMPDIR");
    snprintf(e2e_tmp, sizeof e2e_tmp, "%s/%s.XXXXXX", base != NULL ? base : "/tmp", test_name);
    if (mkdtemp(e2e_tmp) == NULL) {
        fprintf(stderr, "cannot create a temporary directory: %s\n", strerror(errno));
        exit(1);
    }
}

void e2e_absolute(const char *in, char out[PATH_MAX]) {
    if (realpath(in, out) == NULL) {
        fprintf(stderr, "cannot find %s: %s\n", in, strerror(errno));
        exit(1);
    }
}

void e2e_path(char out[PATH_MAX], const char *name) {
    int n = snprintf(out, PATH_MAX, "%s/%s", e2e_tmp, name);
    if (n < 0 || n >= PATH_MAX) {
        fprintf(stderr, "path too long: %s\n", name);
        exit(1);
    }
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return strdup("");
    }
    size_t cap = 4096, len = 0, n;
    char *buf = malloc(cap);
    while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 2) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
    }
    buf[len] = '\0';
    fclose(f);
    return buf;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static e2e_run_result run_impl(const char *const *argv, const char *cwd, const char *const *env,
                               int kill_delay_ms) {
    static int counter;
    char out_path[PATH_MAX], err_path[PATH_MAX], name[64];
    snprintf(name, sizeof name, "run%d.stdout", counter);
    e2e_path(out_path, name);
    snprintf(name, sizeof name, "run%d.stderr", counter++);
    e2e_path(err_path, name);
    e2e_run_result r;
    memset(&r, 0, sizeof r);
    fflush(NULL);
    double start = now_s();
    pid_t pid = fork();
    if (pid == 0) {
        int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(out, 1);
        dup2(err, 2);
        if (cwd != NULL && chdir(cwd) != 0) {
            _exit(99);
        }
        for (size_t i = 0; env != NULL && env[i] != NULL; i++) {
            const char *eq = strchr(env[i], '=');
            if (eq != NULL) {
                char var[128];
                snprintf(var, sizeof var, "%.*s", (int)(eq - env[i]), env[i]);
                setenv(var, eq + 1, 1);
            } else {
                unsetenv(env[i]);
            }
        }
        execv(argv[0], (char *const *)argv);
        _exit(98);
    }
    int status = 0;
    if (kill_delay_ms >= 0) {
        /* Wait until the program says "ready" (it has run a while), then SIGKILL it. */
        for (int waited = 0; waited < 30000; waited += 10) {
            char *out = slurp(out_path);
            int ready = strstr(out, "ready") != NULL;
            free(out);
            if (ready) {
                break;
            }
            struct timespec ms = {0, 10000000};
            nanosleep(&ms, NULL);
        }
        struct timespec delay = {kill_delay_ms / 1000, (long)(kill_delay_ms % 1000) * 1000000L};
        nanosleep(&delay, NULL);
        kill(pid, SIGKILL);
    }
    waitpid(pid, &status, 0);
    r.seconds = now_s() - start;
    r.pid = pid;
    r.signaled = WIFSIGNALED(status);
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = slurp(out_path);
    r.err = slurp(err_path);
    return r;
}

e2e_run_result e2e_run(const char *const *argv, const char *cwd, const char *const *env) {
    return run_impl(argv, cwd, env, -1);
}

e2e_run_result e2e_run_and_kill(const char *const *argv, const char *const *env,
                                int kill_delay_ms) {
    return run_impl(argv, NULL, env, kill_delay_ms);
}

void e2e_free_result(e2e_run_result *r) {
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

int e2e_count_lines(const char *s, const char *prefix) {
    int n = 0;
    size_t len = strlen(prefix);
    for (const char *line = s; line != NULL && *line != '\0';) {
        n += strncmp(line, prefix, len) == 0;
        line = strchr(line, '\n');
        line = line != NULL ? line + 1 : NULL;
    }
    return n;
}

/* ---- traces ---- */

/* Interns a copy of s in the trace (the reader's strings die with it). */
static const char *keep(e2e_trace *t, const char *s) {
    for (size_t i = 0; i < t->n_strings; i++) {
        if (strcmp(t->strings[i], s) == 0) {
            return t->strings[i];
        }
    }
    if ((t->n_strings & (t->n_strings - 1)) == 0) {
        t->strings = realloc(t->strings, (t->n_strings ? t->n_strings * 2 : 16) * sizeof *t->strings);
    }
    t->strings[t->n_strings] = strdup(s);
    return t->strings[t->n_strings++];
}

static e2e_thread *thread_entry(e2e_trace *t, spt_reader *r, uint32_t id) {
    for (size_t i = 0; i < t->n_threads; i++) {
        if (t->threads[i].id == id) {
            return &t->threads[i];
        }
    }
    t->threads = realloc(t->threads, (t->n_threads + 1) * sizeof *t->threads);
    e2e_thread *th = &t->threads[t->n_threads++];
    memset(th, 0, sizeof *th);
    th->id = id;
    const spt_thread *def = spt_reader_thread(r, id);
    if (def != NULL) {
        th->os_tid = def->os_tid;
        snprintf(th->first_name, sizeof th->first_name, "%s", spt_reader_string(r, def->name));
        snprintf(th->last_name, sizeof th->last_name, "%s", th->first_name);
        snprintf(th->names[0], sizeof th->names[0], "%s", th->first_name);
    }
    return th;
}

static void add_sample(e2e_trace *t, spt_reader *r, const spt_event *ev, const char *count_fn) {
    if ((t->n_samples & (t->n_samples - 1)) == 0) {
        t->samples = realloc(t->samples, (t->n_samples ? t->n_samples * 2 : 64) * sizeof *t->samples);
    }
    e2e_sample *s = &t->samples[t->n_samples++];
    memset(s, 0, sizeof *s);
    s->thread = ev->thread;
    s->time_ns = ev->time_ns;
    s->weight = ev->u.sample.weight;
    s->flags = ev->u.sample.flags;
    for (const spt_stack *st = spt_reader_stack(r, ev->u.sample.stack); st != NULL;
         st = st->parent != 0 ? spt_reader_stack(r, st->parent) : NULL) {
        const spt_frame *f = spt_reader_frame(r, st->frame);
        const char *fn = f != NULL && f->function != 0 ? spt_reader_string(r, f->function) : "?";
        if (s->depth == 0) {
            s->depth = st->depth;
        }
        if (s->n_names < E2E_MAX_FRAMES) {
            s->names[s->n_names++] = keep(t, fn);
        }
        if (count_fn != NULL && strcmp(fn, count_fn) == 0) {
            s->count_of_target++;
        }
        if (st->parent == 0) {
            s->outermost = keep(t, fn);
        }
    }
}

void e2e_read_trace(const char *path, const char *count_function, e2e_trace *t) {
    memset(t, 0, sizeof *t);
    spt_reader *r = NULL;
    t->open_status = spt_reader_open(path, NULL, &r);
    if (t->open_status != SPT_OK) {
        fprintf(stderr, "cannot read %s: %s\n", path, spt_reader_error(r));
        spt_reader_close(r);
        return;
    }
    t->header = *spt_reader_header(r);
    snprintf(t->executable, sizeof t->executable, "%s", t->header.executable);
    snprintf(t->parent_trace, sizeof t->parent_trace, "%s", t->header.parent_trace);
    snprintf(t->trace_id, sizeof t->trace_id, "%s", t->header.trace_id);
    t->header.executable = t->executable;
    t->header.parent_trace = t->parent_trace;
    t->header.trace_id = t->trace_id;
    t->header.argv = NULL;
    t->header.recorder_version = NULL;
    t->header.hostname = NULL;
    t->header.arch = NULL;
    spt_event ev;
    while ((t->last_status = spt_reader_next(r, &ev)) == SPT_OK) {
        switch (ev.kind) {
        case SPT_EV_SAMPLE:
            add_sample(t, r, &ev, count_function);
            break;
        case SPT_EV_THREAD_START:
            thread_entry(t, r, ev.thread);
            break;
        case SPT_EV_THREAD_NAME: {
            e2e_thread *th = thread_entry(t, r, ev.thread);
            snprintf(th->last_name, sizeof th->last_name, "%s",
                     spt_reader_string(r, ev.u.thread_info.name));
            th->renames++;
            if (th->renames < 4) {
                snprintf(th->names[th->renames], sizeof th->names[0], "%s", th->last_name);
            }
            break;
        }
        case SPT_EV_THREAD_END:
            thread_entry(t, r, ev.thread)->ended = 1;
            break;
        case SPT_EV_CHILD:
            if (t->n_children < 64) {
                e2e_child *c = &t->children[t->n_children++];
                c->kind = ev.u.child.kind;
                c->pid = ev.u.child.pid;
                snprintf(c->path, sizeof c->path, "%s",
                         spt_reader_string(r, ev.u.child.trace_path));
            }
            break;
        case SPT_EV_DROPS:
            if (ev.u.drops.reason < 8) {
                t->drops[ev.u.drops.reason] += ev.u.drops.count;
            }
            break;
        case SPT_EV_MARKER:
            if (t->n_markers < 64) {
                t->marker_threads[t->n_markers] = ev.thread;
                t->markers[t->n_markers++] = strdup(spt_reader_string(r, ev.u.marker.text));
            }
            break;
        default:
            break;
        }
    }
    t->stats = *spt_reader_get_stats(r);
    spt_reader_close(r);
}

void e2e_free_trace(e2e_trace *t) {
    for (size_t i = 0; i < t->n_strings; i++) {
        free(t->strings[i]);
    }
    for (size_t i = 0; i < t->n_markers; i++) {
        free(t->markers[i]);
    }
    free(t->strings);
    free(t->samples);
    free(t->threads);
    memset(t, 0, sizeof *t);
}

uint64_t e2e_self_weight(const e2e_trace *t, const char *function, uint32_t thread) {
    uint64_t w = 0;
    for (size_t i = 0; i < t->n_samples; i++) {
        const e2e_sample *s = &t->samples[i];
        if ((thread == 0 || s->thread == thread) && s->n_names > 0 &&
            strcmp(s->names[0], function) == 0) {
            w += s->weight;
        }
    }
    return w;
}

uint64_t e2e_weight(const e2e_trace *t, uint32_t thread, uint32_t flag_mask, uint32_t flag_want) {
    uint64_t w = 0;
    for (size_t i = 0; i < t->n_samples; i++) {
        const e2e_sample *s = &t->samples[i];
        if ((thread == 0 || s->thread == thread) && (s->flags & flag_mask) == flag_want) {
            w += s->weight;
        }
    }
    return w;
}

int e2e_stack_has(const e2e_trace *t, uint32_t thread, const char *function) {
    for (size_t i = 0; i < t->n_samples; i++) {
        const e2e_sample *s = &t->samples[i];
        if (thread != 0 && s->thread != thread) {
            continue;
        }
        for (uint32_t k = 0; k < s->n_names; k++) {
            if (strcmp(s->names[k], function) == 0) {
                return 1;
            }
        }
    }
    return 0;
}

const e2e_thread *e2e_thread_by_id(const e2e_trace *t, uint32_t id) {
    for (size_t i = 0; i < t->n_threads; i++) {
        if (t->threads[i].id == id) {
            return &t->threads[i];
        }
    }
    return NULL;
}

const e2e_thread *e2e_thread_of(const e2e_trace *t, const char *function) {
    const e2e_thread *best = NULL;
    uint64_t best_w = 0;
    for (size_t i = 0; i < t->n_threads; i++) {
        uint64_t w = e2e_self_weight(t, function, t->threads[i].id);
        if (w > best_w) {
            best_w = w;
            best = &t->threads[i];
        }
    }
    return best;
}

long long e2e_file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* record_test.c: end-to-end test of spprof-record and libspprof.so. It records
 * tests/programs/hot_split and reads the trace back through the tracefmt reader (never through
 * spprof-analyze): CPU shares, names, header, END totals, exit status and output untouched; then
 * inlined calls expanded into frames; the launcher's refusals and errors. Usage: record_test
 * SPPROF_RECORD LIBSPPROF HOT_SPLIT STATIC_HELLO INLINE_CHAIN INLINE_CHAIN_SRC (Bazel passes the
 * $(rootpath)s). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xxhash.h>

#include "tests/check.h"
#include "tests/tracekit.h"
#include "tracefmt/sptrace.h"

static char record_bin[PATH_MAX];
static char lib_path[PATH_MAX];
static char hot_split[PATH_MAX];
static char static_hello[PATH_MAX];
static char inline_chain[PATH_MAX];
static char inline_chain_src[PATH_MAX];
static char tmp_dir[PATH_MAX];

/* ---- running programs ---------------------------------------------------------------------- */

typedef struct {
    int status; /* exit status, or 128 + signal number */
    pid_t pid;
    char *out; /* everything written to stdout */
    char *err; /* everything written to stderr */
} run_result;

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return strdup("");
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
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

/* Runs argv (NULL-terminated) in cwd with the environment changes in env ("NAME=value" sets,
 * "NAME" unsets), capturing its stdout and stderr through files. */
static run_result run(const char *const *argv, const char *cwd, const char *const *env) {
    char out_path[PATH_MAX + 16], err_path[PATH_MAX + 16];
    snprintf(out_path, sizeof out_path, "%s/stdout", tmp_dir);
    snprintf(err_path, sizeof err_path, "%s/stderr", tmp_dir);
    run_result r = {0, 0, NULL, NULL};
    fflush(NULL);
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
                char name[64];
                snprintf(name, sizeof name, "%.*s", (int)(eq - env[i]), env[i]);
                setenv(name, eq + 1, 1);
            } else {
                unsetenv(env[i]);
            }
        }
        execv(argv[0], (char *const *)argv);
        _exit(98);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    r.pid = pid;
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = slurp(out_path);
    r.err = slurp(err_path);
    return r;
}

static void free_result(run_result *r) {
    free(r->out);
    free(r->err);
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int is_hex(const char *s, size_t len) {
    if (strlen(s) != len) {
        return 0;
    }
    for (; *s != '\0'; s++) {
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f'))) {
            return 0;
        }
    }
    return 1;
}

/* ---- reading a trace ----------------------------------------------------------------------- */

#define MAX_FUNCTIONS 64

typedef struct {
    spt_reader *r;
    spt_status open_status;
    uint64_t samples;
    uint64_t weight;
    char names[MAX_FUNCTIONS][64]; /* innermost frames' function names ("?" for none) */
    uint64_t self_weight[MAX_FUNCTIONS];
    size_t n_functions;
    uint64_t truncated_drops;   /* DROPS records with SPT_DROP_TRUNCATED_STACK, summed */
    uint64_t other_drops;       /* every other DROPS record, summed */
    uint64_t truncated_samples; /* samples whose outermost frame is "[truncated]" */
    uint64_t truncated_allocs;  /* ALLOC stacks cut the same way (counted in the same DROPS) */
    uint32_t max_depth_seen;
    uint32_t max_unwound_seen;      /* frames per stack that are neither inlined nor synthetic */
    int samples_on_unknown_thread;  /* samples whose thread is not defined */
    int hot_has_source;             /* hot_sixty's frame carries hot_split.c and a line */
    int hot_mapping_ok;             /* ... and a mapping of hot_split with a build-id */
    int main_seen;                  /* some stack contains main */
    uint64_t libc_frames;           /* frames in libc's mapping */
    uint64_t libc_frames_with_file; /* ... that carry a source file */
    uint64_t libc_frames_marked;    /* ... whose file contains libc_file_marker */
    spt_status last_status;
} trace_summary;

/* When set, read_trace counts the libc frames whose source file contains it. */
static const char *libc_file_marker;

static size_t function_slot(trace_summary *t, const char *name) {
    for (size_t i = 0; i < t->n_functions; i++) {
        if (strcmp(t->names[i], name) == 0) {
            return i;
        }
    }
    if (t->n_functions == MAX_FUNCTIONS) {
        return MAX_FUNCTIONS - 1;
    }
    snprintf(t->names[t->n_functions], sizeof t->names[0], "%s", name);
    return t->n_functions++;
}

static uint64_t self_weight_of(const trace_summary *t, const char *name) {
    for (size_t i = 0; i < t->n_functions; i++) {
        if (strcmp(t->names[i], name) == 0) {
            return t->self_weight[i];
        }
    }
    return 0;
}

/* 1 when the outermost frame of stack is the writer's "[truncated]" marker. */
static int outermost_is_truncated(const trace_summary *t, uint32_t stack) {
    const spt_stack *st = spt_reader_stack(t->r, stack);
    while (st != NULL && st->parent != 0) {
        st = spt_reader_stack(t->r, st->parent);
    }
    const spt_frame *outer = st != NULL ? spt_reader_frame(t->r, st->frame) : NULL;
    return outer != NULL && (outer->flags & SPT_FRAME_SYNTHETIC) &&
           strcmp(spt_reader_string(t->r, outer->function), "[truncated]") == 0;
}

static void look_at_sample(trace_summary *t, const spt_event *ev) {
    const spt_stack *st = spt_reader_stack(t->r, ev->u.sample.stack);
    if (st == NULL) {
        return;
    }
    if (st->depth > t->max_depth_seen) {
        t->max_depth_seen = st->depth;
    }
    if (spt_reader_thread(t->r, ev->thread) == NULL) {
        t->samples_on_unknown_thread = 1;
    }
    const spt_frame *inner = spt_reader_frame(t->r, st->frame);
    const char *fn =
        inner != NULL && inner->function != 0 ? spt_reader_string(t->r, inner->function) : "?";
    t->self_weight[function_slot(t, fn)] += ev->u.sample.weight;
    if (inner != NULL && strcmp(fn, "hot_sixty") == 0) {
        const char *file = spt_reader_string(t->r, inner->file);
        t->hot_has_source |= ends_with(file, "hot_split.c") && inner->line > 0;
        const spt_mapping *m = spt_reader_mapping(t->r, inner->mapping);
        t->hot_mapping_ok |=
            m != NULL && ends_with(spt_reader_string(t->r, m->path), "hot_split") &&
            m->build_id_len > 0 && inner->address >= m->start && inner->address < m->end;
    }
    /* Walk to the root: is main there, is the outermost frame the truncation marker, and how
     * many frames came from the unwinder (inlined calls expand one address into several)? */
    const spt_frame *outer = inner;
    uint32_t unwound = 0;
    for (const spt_stack *s = st; s != NULL;
         s = s->parent ? spt_reader_stack(t->r, s->parent) : NULL) {
        outer = spt_reader_frame(t->r, s->frame);
        unwound += outer != NULL && !(outer->flags & (SPT_FRAME_INLINED | SPT_FRAME_SYNTHETIC));
        const spt_mapping *m = outer != NULL ? spt_reader_mapping(t->r, outer->mapping) : NULL;
        if (m != NULL && strstr(spt_reader_string(t->r, m->path), "/libc.so") != NULL) {
            t->libc_frames++;
            t->libc_frames_with_file += outer->file != 0;
            t->libc_frames_marked +=
                libc_file_marker != NULL && outer->file != 0 &&
                strstr(spt_reader_string(t->r, outer->file), libc_file_marker) != NULL;
        }
        if (outer != NULL && outer->function != 0 &&
            strcmp(spt_reader_string(t->r, outer->function), "main") == 0) {
            t->main_seen = 1;
        }
    }
    if (unwound > t->max_unwound_seen) {
        t->max_unwound_seen = unwound;
    }
    t->truncated_samples += outermost_is_truncated(t, ev->u.sample.stack);
}

static trace_summary read_trace(const char *path) {
    trace_summary t;
    memset(&t, 0, sizeof t);
    t.open_status = spt_reader_open(path, NULL, &t.r);
    if (t.open_status != SPT_OK) {
        fprintf(stderr, "cannot read %s: %s\n", path, spt_reader_error(t.r));
        return t;
    }
    spt_event ev;
    while ((t.last_status = spt_reader_next(t.r, &ev)) == SPT_OK) {
        if (ev.kind == SPT_EV_SAMPLE) {
            t.samples++;
            t.weight += ev.u.sample.weight;
            look_at_sample(&t, &ev);
        } else if (ev.kind == SPT_EV_ALLOC) {
            t.truncated_allocs += outermost_is_truncated(&t, ev.u.alloc.stack);
        } else if (ev.kind == SPT_EV_DROPS) {
            if (ev.u.drops.reason == SPT_DROP_TRUNCATED_STACK) {
                t.truncated_drops += ev.u.drops.count;
            } else {
                t.other_drops += ev.u.drops.count;
            }
        }
    }
    return t;
}

static double share_pct(const trace_summary *t, const char *name) {
    return t->weight > 0 ? 100.0 * (double)self_weight_of(t, name) / (double)t->weight : 0.0;
}

/* ---- the tests ----------------------------------------------------------------------------- */

/* Fills id with the build-id of this process's libc, in hex ("" when it cannot be read). */
static void libc_build_id(char *id, size_t size) {
    FILE *maps = fopen("/proc/self/maps", "r");
    char line[PATH_MAX + 128];
    char libc[PATH_MAX] = "";
    while (maps != NULL && fgets(line, sizeof line, maps) != NULL) {
        char *path = strchr(line, '/');
        if (path != NULL && strstr(path, "/libc.so") != NULL) {
            path[strcspn(path, "\n")] = '\0';
            snprintf(libc, sizeof libc, "%s", path);
            break;
        }
    }
    if (maps != NULL) {
        fclose(maps);
    }
    char cmd[PATH_MAX + 64];
    snprintf(cmd, sizeof cmd, "readelf -n '%s' 2>/dev/null | awk '/Build ID/ { print $3 }'", libc);
    FILE *p = libc[0] != '\0' ? popen(cmd, "r") : NULL;
    id[0] = '\0';
    if (p != NULL) {
        if (fgets(id, (int)size, p) == NULL) {
            id[0] = '\0';
        }
        pclose(p);
    }
    id[strcspn(id, "\n")] = '\0';
}

/* Is libc's separate debug information installed (libc6-dbg), found by build-id as the
 * recorder looks for it? */
static int have_libc_debug_info(void) {
    char id[128];
    libc_build_id(id, sizeof id);
    if (strlen(id) < 3) {
        return 0;
    }
    char debug[256];
    snprintf(debug, sizeof debug, "/usr/lib/debug/.build-id/%.2s/%s.debug", id, id + 2);
    return access(debug, R_OK) == 0;
}

static void test_hot_split(void) {
    const char *plain_argv[] = {hot_split, NULL};
    run_result plain = run(plain_argv, NULL, NULL);
    CHECK_EQ_U64("hot_split alone exits with status 3", plain.status, 3);

    char trace[PATH_MAX + 32];
    snprintf(trace, sizeof trace, "%s/hot.sptrace", tmp_dir);
    const char *argv[] = {record_bin, "-o", trace, "--interval", "1", "--", hot_split, NULL};
    char lib_env[PATH_MAX + 16];
    snprintf(lib_env, sizeof lib_env, "SPPROF_LIB=%s", lib_path);
    const char *env[] = {lib_env, NULL};
    run_result rec = run(argv, NULL, env);
    CHECK_EQ_U64("recorded hot_split still exits with status 3", rec.status, 3);
    CHECK("recorded hot_split prints exactly what it prints alone",
          strcmp(rec.out, plain.out) == 0);

    /* stderr is the one summary line, e.g. "spprof: 1.50 s, 375 samples (0 dropped), trace
     * /tmp/hot.sptrace (1.9 KiB, 5 B/sample), recorder CPU 0.4%". */
    double seconds = 0, cpu = 0;
    unsigned long long n_samples = 0, dropped = 0;
    char path_seen[PATH_MAX] = "";
    int fields = sscanf(rec.err, "spprof: %lf s, %llu samples (%llu dropped), trace %4095s",
                        &seconds, &n_samples, &dropped, path_seen);
    const char *cpu_part = strstr(rec.err, "recorder CPU ");
    CHECK("stderr holds the summary line", fields == 4 && strcmp(path_seen, trace) == 0);
    CHECK("stderr holds nothing but that line",
          strchr(rec.err, '\n') != NULL && strchr(rec.err, '\n')[1] == '\0');
    CHECK("the summary gives the recorder's CPU share",
          cpu_part != NULL && sscanf(cpu_part, "recorder CPU %lf%%", &cpu) == 1 && cpu >= 0);
    CHECK("the summary says nothing was dropped", dropped == 0);
    fprintf(stderr, "summary line: %s", rec.err);

    trace_summary t = read_trace(trace);
    CHECK("the trace opens", t.open_status == SPT_OK);
    if (t.open_status != SPT_OK) {
        spt_reader_close(t.r);
        return;
    }
    CHECK("the trace reads to its end without error", t.last_status == SPT_END);
    const spt_reader_stats *stats = spt_reader_get_stats(t.r);
    const spt_header *h = spt_reader_header(t.r);

    CHECK("the trace ended cleanly (END record)", stats->ended_cleanly);
    CHECK("no chunk is damaged and the tail is complete",
          stats->damaged_chunks == 0 && !stats->truncated);
    CHECK_EQ_U64("END says the program exited", stats->end.reason, SPT_END_EXIT);
    CHECK_EQ_U64("END records exit status 3", stats->end.status, 3);
    CHECK_EQ_U64("END counts the SAMPLE records read", stats->end.samples, t.samples);
    CHECK_EQ_U64("END sums the weights read", stats->end.sample_weight, t.weight);
    CHECK_EQ_U64("the summary line counts the same samples", n_samples, t.samples);
    CHECK_EQ_U64("END reports no dropped samples", stats->end.dropped_samples, 0);
    CHECK_EQ_U64("no DROPS records", t.other_drops + t.truncated_drops, 0);
    CHECK("END has the recorder's and the process's CPU time",
          stats->end.recorder_cpu_ns > 0 && stats->end.process_cpu_ns > stats->end.recorder_cpu_ns);
    /* Weight counts timer expirations, overruns included, so weight x interval is the main
     * thread's CPU time, which for this single-threaded program is nearly all of the process's
     * (compared with CPU time, not run time: on a loaded machine the two differ). */
    double cpu_from_weight = (double)t.weight * 1e6;
    double duration = (double)stats->end.duration_ns;
    double process_cpu = (double)stats->end.process_cpu_ns;
    CHECK("weight x interval matches the process's CPU time within 15%",
          cpu_from_weight > 0.85 * process_cpu && cpu_from_weight < 1.15 * process_cpu);
    CHECK("hot_split ran for at least 0.5 s", duration > 0.5e9);

    double sixty = share_pct(&t, "hot_sixty");
    double thirty = share_pct(&t, "hot_thirty");
    double ten = share_pct(&t, "hot_ten");
    fprintf(stderr,
            "self shares: hot_sixty %.1f%%, hot_thirty %.1f%%, hot_ten %.1f%% of %llu "
            "samples (weight %llu), %llu trace bytes, %.1f B/sample\n",
            sixty, thirty, ten, (unsigned long long)t.samples, (unsigned long long)t.weight,
            (unsigned long long)stats->file_bytes,
            t.samples ? (double)stats->file_bytes / (double)t.samples : 0.0);
    CHECK("hot_sixty has 60% of the self time, within 5 points", sixty > 55 && sixty < 65);
    CHECK("hot_thirty has 30% of the self time, within 5 points", thirty > 25 && thirty < 35);
    CHECK("hot_ten has 10% of the self time, within 5 points", ten > 5 && ten < 15);
    CHECK("main appears in the stacks", t.main_seen);
    CHECK("hot_sixty's frame has its source file and line", t.hot_has_source);
    CHECK("hot_sixty's frame lies in hot_split's mapping, which has a build-id", t.hot_mapping_ok);
    CHECK("stacks pass through libc (__libc_start_call_main)", t.libc_frames > 0);
    if (have_libc_debug_info()) {
        CHECK("libc's debug information is installed: its frames carry source files",
              t.libc_frames_with_file > 0);
    } else {
        fprintf(stderr, "SKIP libc source lines: libc's debug information (libc6-dbg) is not "
                        "installed\n");
    }
    CHECK("no stack was truncated at the default depth", t.truncated_samples == 0);
    CHECK("every sample names a defined thread", !t.samples_on_unknown_thread && t.samples > 0);

    struct utsname uts;
    uname(&uts);
    CHECK("header: recorder version", strcmp(h->recorder_version, "spprof 0.1.0") == 0);
    CHECK_EQ_U64("header: pid is the program's (exec in place)", h->pid, rec.pid);
    CHECK_EQ_U64("header: ppid is ours", h->ppid, getpid());
    CHECK("header: executable is hot_split", ends_with(h->executable, "/hot_split"));
    CHECK("header: argv is the program's own", h->argc == 1 && strcmp(h->argv[0], hot_split) == 0);
    CHECK("header: arch and host",
          strcmp(h->arch, uts.machine) == 0 && strcmp(h->hostname, uts.nodename) == 0);
    CHECK_EQ_U64("header: per-thread CPU clock", h->clock, SPT_CLOCK_CPU_THREAD);
    CHECK_EQ_U64("header: interval is 1 ms", h->interval_ns, 1000000);
    CHECK_EQ_U64("header: default max depth", h->max_depth, 128);
    CHECK("header: allocations sampled every 512 KiB (the default)",
          h->alloc_mode == SPT_ALLOC_SAMPLED && h->alloc_sample_bytes == 524288);
    CHECK("header: trace id is 32 hex digits", is_hex(h->trace_id, 32));
    CHECK("header: starts are set",
          h->start_wall_ns > 1600000000ull * 1000000000ull && h->start_mono_ns > 0);
    CHECK_EQ_U64("one thread is defined", spt_reader_thread_count(t.r), 1);
    const spt_thread *th = spt_reader_thread(t.r, 1);
    CHECK("it is the main thread, named after the program",
          th != NULL && th->os_tid == (uint32_t)rec.pid &&
              strcmp(spt_reader_string(t.r, th->name), "hot_split") == 0);
    spt_reader_close(t.r);
    free_result(&plain);
    free_result(&rec);
}

/* Where libc's debug information is installed, its frames carry source files by default (the
 * issue's "file and line where debug information exists"); --no-system-lines names them from
 * the symbol table only, and spares the recorder inflating that information. */
static void test_no_system_lines(void) {
    char trace[PATH_MAX + 32];
    snprintf(trace, sizeof trace, "%s/lines.sptrace", tmp_dir);
    const char *argv[] = {record_bin, "-o", trace, "--no-system-lines", "--", hot_split, NULL};
    char lib_env[PATH_MAX + 16];
    snprintf(lib_env, sizeof lib_env, "SPPROF_LIB=%s", lib_path);
    const char *env[] = {lib_env, NULL};
    run_result rec = run(argv, NULL, env);
    CHECK_EQ_U64("with --no-system-lines hot_split still exits with 3", rec.status, 3);
    trace_summary t = read_trace(trace);
    CHECK("the --no-system-lines trace opens", t.open_status == SPT_OK);
    CHECK("stacks pass through libc (__libc_start_call_main)", t.libc_frames > 0);
    CHECK_EQ_U64("with --no-system-lines libc's frames have no source files",
                 t.libc_frames_with_file, 0);
    CHECK("hot_sixty's frame still has its source file and line", t.hot_has_source);
    spt_reader_close(t.r);
    free_result(&rec);
}

/* Counts the files in dir whose names end in suffix. */
static int count_files(const char *dir, const char *suffix) {
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;) {
        size_t len = strlen(e->d_name), slen = strlen(suffix);
        n += len > slen && strcmp(e->d_name + len - slen, suffix) == 0;
    }
    if (d != NULL) {
        closedir(d);
    }
    return n;
}

/* The libc frames with a source file in the trace at path (0 when it cannot be read). */
static uint64_t libc_frames_with_file(const char *path) {
    trace_summary t = read_trace(path);
    if (t.open_status != SPT_OK) {
        return 0;
    }
    uint64_t n = t.libc_frames_with_file;
    spt_reader_close(t.r);
    return n;
}

/* Where the line cache file keeps its checksum: XXH3-64 of every byte after its 48-byte header
 * (line_cache.c). */
#define LINES_CHECKSUM_AT  40
#define LINES_HEADER_BYTES 48

/* Replaces every from in the file at path with to (as long), and when checksum_at is not 0,
 * stores there the XXH3-64 of the bytes after the line cache's header. Returns how many were
 * replaced. */
static int replace_in_file(const char *path, const char *from, const char *to, long checksum_at) {
    size_t len = 0;
    char *bytes = tk_read_file(path, &len);
    size_t n = strlen(from);
    int replaced = 0;
    for (char *at = bytes; at != NULL && len > n;) {
        at = memmem(at, len - (size_t)(at - bytes), from, n);
        if (at != NULL) {
            memcpy(at, to, n);
            replaced++;
        }
    }
    if (replaced > 0 && checksum_at > 0 && len > LINES_HEADER_BYTES) {
        uint64_t h = XXH3_64bits(bytes + LINES_HEADER_BYTES, len - LINES_HEADER_BYTES);
        memcpy(bytes + checksum_at, &h, sizeof h);
    }
    if (replaced > 0 && tk_write_file(path, bytes, len) != 0) {
        replaced = 0;
    }
    free(bytes);
    return replaced;
}

/* Records argv once more and counts the libc frames of its trace whose file contains marker. */
static uint64_t libc_frames_marked_after_run(const char **argv, const char **env, const char *trace,
                                             const char *marker) {
    run_result rec = run(argv, NULL, env);
    libc_file_marker = marker;
    trace_summary t = read_trace(trace);
    libc_file_marker = NULL;
    uint64_t n = t.open_status == SPT_OK ? t.libc_frames_marked : 0;
    if (t.open_status == SPT_OK) {
        spt_reader_close(t.r);
    }
    free_result(&rec);
    return n;
}

/* libc6-dbg's DWARF is zlib-compressed: the first recorded process leaves an uncompressed copy
 * in the cache directory and later ones read it (debug_cache.h); their libc frames still carry
 * source files. SPPROF_CACHE_DIR=off writes nothing. */
static void test_debug_cache(void) {
    if (!have_libc_debug_info()) {
        fprintf(stderr, "SKIP debug cache: libc's debug information (libc6-dbg) is not "
                        "installed\n");
        return;
    }
    char cache[PATH_MAX + 32], cache_env[PATH_MAX + 64], debug_dir[PATH_MAX + 64];
    char trace[PATH_MAX + 32], lib_env[PATH_MAX + 16];
    snprintf(cache, sizeof cache, "%s/cache", tmp_dir);
    snprintf(cache_env, sizeof cache_env, "SPPROF_CACHE_DIR=%s", cache);
    snprintf(debug_dir, sizeof debug_dir, "%s/debug", cache);
    snprintf(trace, sizeof trace, "%s/cached.sptrace", tmp_dir);
    snprintf(lib_env, sizeof lib_env, "SPPROF_LIB=%s", lib_path);
    const char *argv[] = {record_bin, "-o", trace, "--", hot_split, NULL};
    const char *env[] = {lib_env, cache_env, NULL};
    char id[128], libc_copy[PATH_MAX + 256];
    libc_build_id(id, sizeof id);
    snprintf(libc_copy, sizeof libc_copy, "%s/%s.debug", debug_dir, id);
    struct stat first = {0}, second = {0};
    for (int round = 1; round <= 2; round++) {
        run_result rec = run(argv, NULL, env);
        CHECK_EQ_U64("with the debug cache hot_split still exits with 3", rec.status, 3);
        trace_summary t = read_trace(trace);
        CHECK("the trace opens", t.open_status == SPT_OK);
        CHECK("libc's frames carry source files (read through the cache)",
              t.libc_frames_with_file > 0);
        CHECK("the cache holds an uncompressed copy of libc's debug file",
              stat(libc_copy, round == 1 ? &first : &second) == 0);
        CHECK_EQ_U64("and no temporary file",
                     count_files(debug_dir, "") - count_files(debug_dir, ".debug") - 2, 0);
        if (t.open_status == SPT_OK) {
            spt_reader_close(t.r);
        }
        free_result(&rec);
    }
    CHECK("the second process read the copy the first one wrote",
          first.st_ino != 0 && first.st_ino == second.st_ino &&
              first.st_mtim.tv_nsec == second.st_mtim.tv_nsec);

    char lines_file[PATH_MAX + 256];
    snprintf(lines_file, sizeof lines_file, "%s/lines/%s.lines", cache, id);
    CHECK("the cache holds libc's line cache (line_cache.h)", access(lines_file, R_OK) == 0);

    /* Proof that the line cache answers: a file name changed in it (its checksum made good
     * again) shows in the next trace, while libc's DWARF still says libc-start.c. */
    CHECK("libc's line cache names libc-start.c",
          replace_in_file(lines_file, "libc-start.c", "libc-stYrt.c", LINES_CHECKSUM_AT) > 0);
    CHECK("a file name changed in the line cache shows in the next trace",
          libc_frames_marked_after_run(argv, env, trace, "libc-stYrt.c") > 0);

    /* Proof that libdw reads the copy rather than the compressed original (which a first version
     * opened all the same): with the line cache gone, a file name changed in the copy shows in
     * the next trace. */
    unlink(lines_file);
    CHECK("libc's copy names libc-start.c",
          replace_in_file(libc_copy, "libc-start.c", "libc-stXrt.c", 0) > 0);
    CHECK("a file name changed in the copy shows in the next trace: libdw read the copy",
          libc_frames_marked_after_run(argv, env, trace, "libc-stXrt.c") > 0);
    unlink(libc_copy);

    char home[PATH_MAX + 32], home_env[PATH_MAX + 64], home_cache[PATH_MAX + 64];
    snprintf(home, sizeof home, "%s/home", tmp_dir);
    mkdir(home, 0755);
    snprintf(home_env, sizeof home_env, "HOME=%s", home);
    snprintf(home_cache, sizeof home_cache, "%s/.cache", home);
    /* A cache directory the user named but that cannot be made: one line, and the program
     * and its trace as without the cache. */
    const char *bad_env[] = {lib_env, "SPPROF_CACHE_DIR=/dev/null/spprof-cache", NULL};
    run_result bad = run(argv, NULL, bad_env);
    CHECK_EQ_U64("with an impossible SPPROF_CACHE_DIR hot_split still exits with 3", bad.status, 3);
    const char *said = "spprof: SPPROF_CACHE_DIR=/dev/null/spprof-cache: cannot create "
                       "/dev/null/spprof-cache/";
    const char *first_line = bad.err != NULL ? strstr(bad.err, said) : NULL;
    CHECK("an impossible SPPROF_CACHE_DIR is said on stderr, naming it and why",
          first_line != NULL && strstr(first_line, ": Not a directory; symbols are worked out "
                                                   "without the cache\n") != NULL);
    CHECK("and said once", first_line != NULL && strstr(first_line + 1, said) == NULL);
    CHECK("without a usable cache libc's frames still carry source files",
          libc_frames_with_file(trace) > 0);
    free_result(&bad);

    const char *off_env[] = {lib_env, "SPPROF_CACHE_DIR=off", home_env, "XDG_CACHE_HOME", NULL};
    run_result rec = run(argv, NULL, off_env);
    CHECK_EQ_U64("with the cache off hot_split still exits with 3", rec.status, 3);
    CHECK("SPPROF_CACHE_DIR=off writes no cache", access(home_cache, F_OK) != 0);
    CHECK("without the cache libc's frames still carry source files",
          libc_frames_with_file(trace) > 0);
    free_result(&rec);
}

static void test_max_depth_and_default_name(void) {
    char dir[PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s/depth", tmp_dir);
    mkdir(dir, 0755);
    /* No SPPROF_LIB: the launcher must find libspprof.so next to itself. */
    const char *argv[] = {record_bin, "--max-depth", "3", hot_split, NULL};
    const char *env[] = {"SPPROF_LIB", NULL};
    run_result rec = run(argv, dir, env);
    CHECK_EQ_U64("with --max-depth 3 hot_split still exits with 3", rec.status, 3);
    char trace[PATH_MAX + 64];
    snprintf(trace, sizeof trace, "%s/spprof-%ld.sptrace", dir, (long)rec.pid);
    CHECK("the default trace name is spprof-<pid>.sptrace in the cwd", access(trace, R_OK) == 0);
    trace_summary t = read_trace(trace);
    if (t.open_status == SPT_OK) {
        CHECK("the depth-limited trace ended cleanly", spt_reader_get_stats(t.r)->ended_cleanly);
        CHECK_EQ_U64("header: max depth 3", spt_reader_header(t.r)->max_depth, 3);
        CHECK_EQ_U64("stacks hold at most 3 unwound frames", t.max_unwound_seen, 3);
        CHECK("truncated stacks start with a synthetic [truncated] frame",
              t.truncated_samples > 0 && t.truncated_samples <= t.samples);
        /* Sampled allocations (on by default) are cut at the same depth and counted in the
         * same DROPS reason: hot_split's stdout buffer is sometimes one. */
        CHECK_EQ_U64("each truncated stack is counted in DROPS", t.truncated_drops,
                     t.truncated_samples + t.truncated_allocs);
        CHECK("the hot functions are still the innermost frames",
              share_pct(&t, "hot_sixty") > 55 || t.samples < 50);
    } else {
        CHECK("the default-named trace opens", 0);
    }
    spt_reader_close(t.r);
    free_result(&rec);
}

static void test_static_target(void) {
    char dir[PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s/static", tmp_dir);
    mkdir(dir, 0755);
    const char *argv[] = {record_bin, "--", static_hello, NULL};
    run_result rec = run(argv, dir, NULL);
    char expected[PATH_MAX * 3 + 256];
    snprintf(expected, sizeof expected,
             "spprof: cannot profile %s: statically linked (LD_PRELOAD has no effect); "
             "running it unprofiled\n",
             static_hello);
    CHECK("a static target gets the one-line explanation", strcmp(rec.err, expected) == 0);
    CHECK("the static target still runs", strcmp(rec.out, "static_hello: ran\n") == 0);
    CHECK_EQ_U64("with its own exit status", rec.status, 5);
    char trace[PATH_MAX + 64];
    snprintf(trace, sizeof trace, "%s/spprof-%ld.sptrace", dir, (long)rec.pid);
    CHECK("no trace is written for it", access(trace, F_OK) != 0);
    free_result(&rec);

    /* A script whose interpreter is static: the interpreter is what gets checked. */
    char script[PATH_MAX + 32];
    snprintf(script, sizeof script, "%s/script.sh", dir);
    FILE *f = fopen(script, "w");
    fprintf(f, "#!%s\n", static_hello);
    fclose(f);
    chmod(script, 0755);
    const char *sargv[] = {record_bin, script, NULL};
    rec = run(sargv, dir, NULL);
    snprintf(expected, sizeof expected,
             "spprof: cannot profile %s: its interpreter %s is statically linked (LD_PRELOAD has "
             "no effect); running it unprofiled\n",
             script, static_hello);
    CHECK("a script with a static interpreter is explained too", strcmp(rec.err, expected) == 0);
    CHECK("and still runs, through its interpreter",
          rec.status == 5 && strcmp(rec.out, "static_hello: ran\n") == 0);
    free_result(&rec);
}

/* Copies src to dst with mode 0755. Returns 0 on success. */
static int copy_file(const char *src, const char *dst) {
    int in = open(src, O_RDONLY);
    int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    char buf[65536];
    ssize_t n = 0;
    while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof buf)) > 0) {
        if (write(out, buf, (size_t)n) != n) {
            n = -1;
            break;
        }
    }
    int ok = in >= 0 && out >= 0 && n == 0;
    if (in >= 0) {
        close(in);
    }
    if (out >= 0) {
        close(out);
    }
    return ok ? 0 : -1;
}

/* A set-group-ID program whose group is not ours: ld.so ignores LD_PRELOAD for it (secure
 * execution), so the launcher refuses before running it. Needs a group we may give a file. */
static void test_setgid_target(void) {
    char prog[PATH_MAX + 32];
    snprintf(prog, sizeof prog, "%s/setgid_prog", tmp_dir);
    gid_t other = getgid() == 0 ? 1 : 0;
    gid_t groups[64];
    int n_groups = getgroups(64, groups);
    for (int i = 0; getgid() != 0 && i < n_groups; i++) {
        other = groups[i] != getgid() ? groups[i] : other;
    }
    struct statvfs vfs;
    if (copy_file(hot_split, prog) != 0 || chown(prog, (uid_t)-1, other) != 0 ||
        chmod(prog, 02755) != 0 || statvfs(prog, &vfs) != 0 || (vfs.f_flag & ST_NOSUID)) {
        fprintf(stderr, "skipped the set-group-ID check: cannot make such a file in %s\n", tmp_dir);
        return;
    }
    const char *argv[] = {record_bin, prog, NULL};
    run_result r = run(argv, NULL, NULL);
    char expected[PATH_MAX * 3 + 256];
    snprintf(expected, sizeof expected,
             "spprof: cannot profile %s: a set-group-ID program (the loader ignores LD_PRELOAD "
             "for it); not running it\n",
             prog);
    CHECK_EQ_U64("a set-group-ID target is refused with status 2", r.status, 2);
    CHECK("with the reason, and without running it",
          strcmp(r.err, expected) == 0 && r.out[0] == '\0');
    free_result(&r);
}

static void test_errors(void) {
    const char *missing[] = {record_bin, "--", "spprof-no-such-command", NULL};
    run_result r = run(missing, NULL, NULL);
    CHECK_EQ_U64("a missing command exits 127, as in the shell", r.status, 127);
    CHECK("and says so in one line",
          strcmp(r.err, "spprof: cannot run spprof-no-such-command: command not found\n") == 0);
    free_result(&r);

    const char *missing_path[] = {record_bin, "/nonexistent/prog", NULL};
    r = run(missing_path, NULL, NULL);
    CHECK("a missing path names the path and the reason",
          r.status == 127 &&
              strcmp(r.err, "spprof: cannot run /nonexistent/prog: No such file or directory\n") ==
                  0);
    free_result(&r);

    const char *bad_interval[] = {record_bin, "--interval", "abc", "--", hot_split, NULL};
    r = run(bad_interval, NULL, NULL);
    CHECK_EQ_U64("a bad interval is a usage error (2)", r.status, 2);
    CHECK("with a one-line reason",
          strcmp(r.err, "spprof-record: --interval wants milliseconds from 1 to 1000 (down to "
                        "0.01 accepted), not 'abc' (see spprof-record --help)\n") == 0);
    CHECK("and the program does not run", r.out[0] == '\0');
    free_result(&r);

    const char *bad_option[] = {record_bin, "--frobnicate", "--", hot_split, NULL};
    r = run(bad_option, NULL, NULL);
    CHECK("an unknown option is a usage error naming it",
          r.status == 2 && strstr(r.err, "unknown option '--frobnicate'") != NULL);
    free_result(&r);

    const char *no_command[] = {record_bin, "-o", "x.sptrace", NULL};
    r = run(no_command, NULL, NULL);
    CHECK("no command is a usage error", r.status == 2 && strstr(r.err, "no command") != NULL);
    free_result(&r);

    const char *help[] = {record_bin, "--help", NULL};
    r = run(help, NULL, NULL);
    CHECK("--help prints the usage on stdout and exits 0",
          r.status == 0 && strncmp(r.out, "Usage: spprof-record ", 21) == 0 && r.err[0] == '\0');
    free_result(&r);

    const char *bad_lib_argv[] = {record_bin, "--", hot_split, NULL};
    const char *bad_lib_env[] = {"SPPROF_LIB=/nonexistent/libspprof.so", NULL};
    r = run(bad_lib_argv, NULL, bad_lib_env);
    CHECK("a missing SPPROF_LIB is reported before anything runs",
          r.status == 2 && r.out[0] == '\0' &&
              strstr(r.err, "SPPROF_LIB=/nonexistent/libspprof.so") != NULL);
    free_result(&r);
}

/* The 1-based number of the first line of path that contains marker, 0 if none. */
static uint32_t line_of(const char *path, const char *marker) {
    char *text = slurp(path);
    char *hit = strstr(text, marker);
    uint32_t line = 0;
    if (hit != NULL) {
        line = 1;
        for (char *p = text; p < hit; p++) {
            line += *p == '\n';
        }
    }
    free(text);
    return line;
}

/* Does frame f have this function name, inlined flag, source file (ending in file) and (unless
 * 0) line? */
static int frame_is(spt_reader *r, const spt_frame *f, const char *function, int inlined,
                    const char *file, uint32_t line) {
    return f != NULL && f->function != 0 &&
           strcmp(spt_reader_string(r, f->function), function) == 0 &&
           !!(f->flags & SPT_FRAME_INLINED) == inlined &&
           ends_with(spt_reader_string(r, f->file), file) &&
           (line == 0 ? f->line > 0 : f->line == line);
}

/* Records inline_chain once (with env) and counts its samples, and those whose innermost frames
 * read main > run_chain > mix_outer > mix_inner with the call lines, in a file ending in file. */
static void inline_chain_run(const char **env, const char *file, uint64_t *samples,
                             uint64_t *expanded) {
    uint32_t call_inner = line_of(inline_chain_src, "CALL_INNER");
    uint32_t call_outer = line_of(inline_chain_src, "CALL_OUTER");
    uint32_t call_run = line_of(inline_chain_src, "CALL_RUN");
    CHECK("the source markers are found", call_inner > 0 && call_outer > 0 && call_run > 0);
    char trace[PATH_MAX + 32];
    snprintf(trace, sizeof trace, "%s/inline.sptrace", tmp_dir);
    const char *argv[] = {record_bin, "-o", trace, "--interval", "1", "--", inline_chain, NULL};
    run_result rec = run(argv, NULL, env);
    CHECK_EQ_U64("inline_chain exits with 0", rec.status, 0);
    *samples = *expanded = 0;
    spt_reader *r = NULL;
    if (spt_reader_open(trace, NULL, &r) != SPT_OK) {
        CHECK("the inline_chain trace opens", 0);
        spt_reader_close(r);
        free_result(&rec);
        return;
    }
    spt_event ev;
    while (spt_reader_next(r, &ev) == SPT_OK) {
        if (ev.kind != SPT_EV_SAMPLE) {
            continue;
        }
        (*samples)++;
        /* Innermost first: mix_inner (inlined) < mix_outer (inlined, at CALL_INNER) <
         * run_chain (a real frame, at CALL_OUTER) < main (at CALL_RUN). */
        const spt_frame *f[4] = {NULL, NULL, NULL, NULL};
        const spt_stack *st = spt_reader_stack(r, ev.u.sample.stack);
        for (int i = 0; i < 4 && st != NULL; i++) {
            f[i] = spt_reader_frame(r, st->frame);
            st = st->parent ? spt_reader_stack(r, st->parent) : NULL;
        }
        *expanded += frame_is(r, f[0], "mix_inner", 1, file, 0) &&
                     frame_is(r, f[1], "mix_outer", 1, file, call_inner) &&
                     frame_is(r, f[2], "run_chain", 0, file, call_outer) &&
                     frame_is(r, f[3], "main", 0, file, call_run) &&
                     f[0]->address == f[1]->address && f[1]->address == f[2]->address;
    }
    fprintf(stderr, "inline_chain: %llu of %llu samples expanded as expected (%s)\n",
            (unsigned long long)*expanded, (unsigned long long)*samples, file);
    spt_reader_close(r);
    free_result(&rec);
}

/* Inlined calls in the program's own code expand into frames with their call lines: read from
 * DWARF by the first process, from the line cache (line_cache.h) by the next. */
static void test_inline_chain(void) {
    char cache[PATH_MAX + 32], cache_env[PATH_MAX + 64], lib_env[PATH_MAX + 16];
    snprintf(cache, sizeof cache, "%s/inline-cache", tmp_dir);
    snprintf(cache_env, sizeof cache_env, "SPPROF_CACHE_DIR=%s", cache);
    snprintf(lib_env, sizeof lib_env, "SPPROF_LIB=%s", lib_path);
    const char *env[] = {lib_env, cache_env, NULL};
    uint64_t samples = 0, expanded = 0;
    for (int round = 1; round <= 2; round++) {
        inline_chain_run(env, "inline_chain.c", &samples, &expanded);
        CHECK("inline_chain was sampled", samples >= 20);
        CHECK(round == 1 ? "9 in 10 samples read main > run_chain > mix_outer > mix_inner with "
                           "call lines (from DWARF)"
                         : "and again with the line cache written by the first process",
              expanded * 10 >= samples * 9);
    }
    /* Proof that the second answer came from the cache: a file name changed in the program's
     * cache file shows in the next trace. */
    char lines_dir[PATH_MAX + 64], path[2 * PATH_MAX];
    snprintf(lines_dir, sizeof lines_dir, "%s/lines", cache);
    int patched = 0;
    DIR *d = opendir(lines_dir);
    for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;) {
        snprintf(path, sizeof path, "%s/%s", lines_dir, e->d_name);
        if (e->d_name[0] != '.') {
            patched +=
                replace_in_file(path, "inline_chain.c", "inline_chXin.c", LINES_CHECKSUM_AT) > 0;
        }
    }
    if (d != NULL) {
        closedir(d);
    }
    CHECK("the program's own functions are in the line cache", patched == 1);
    inline_chain_run(env, "inline_chXin.c", &samples, &expanded);
    CHECK("a file name changed in the program's line cache shows in the next trace",
          expanded * 10 >= samples * 9 && samples >= 20);
}

static void absolute(const char *in, char *out) {
    if (realpath(in, out) == NULL) {
        fprintf(stderr, "cannot find %s: %s\n", in, strerror(errno));
        exit(1);
    }
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: record_test SPPROF_RECORD LIBSPPROF HOT_SPLIT STATIC_HELLO "
                        "INLINE_CHAIN INLINE_CHAIN_SRC\n");
        return 2;
    }
    absolute(argv[1], record_bin);
    absolute(argv[2], lib_path);
    absolute(argv[3], hot_split);
    absolute(argv[4], static_hello);
    absolute(argv[5], inline_chain);
    absolute(argv[6], inline_chain_src);
    const char *base = getenv("TEST_TMPDIR");
    snprintf(tmp_dir, sizeof tmp_dir, "%s/record_test.XXXXXX", base != NULL ? base : "/tmp");
    if (mkdtemp(tmp_dir) == NULL) {
        fprintf(stderr, "cannot create a temporary directory: %s\n", strerror(errno));
        return 1;
    }
    test_hot_split();
    test_max_depth_and_default_name();
    test_no_system_lines();
    test_debug_cache();
    test_inline_chain();
    test_static_target();
    test_errors();
    test_setgid_target();
    return CHECK_DONE();
}

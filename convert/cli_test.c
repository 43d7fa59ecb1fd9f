/* cli_test.c: spprof-convert's command line and its output files: --help, the one-line errors
 * and exit status 2 for bad usage, options that do not apply to the format, unreadable inputs;
 * an existing OUT replaced only with --force; a failed write (/dev/full, a file size limit, a
 * directory that cannot be written) leaves neither OUT nor its temporary file, and says why in
 * one line naming OUT. */
#define _XOPEN_SOURCE 700
#include "analyze/testrun.h"
#include "analyze/testutil.h"
#include "convert/testlib.h"
#include "tests/check.h"
#include "tests/tracekit.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define ERR(what, prefix, ...)                                                                     \
    do {                                                                                           \
        tu_run_result r_;                                                                          \
        ct_run(&r_, __VA_ARGS__, NULL);                                                            \
        CHECK(what, ct_check_error(what, &r_, prefix));                                            \
        tu_run_free(&r_);                                                                          \
    } while (0)

/* Whether dir holds an entry whose name contains part. */
static int dir_has(const char *dir, const char *part) {
    DIR *d = opendir(dir);
    int found = 0;
    for (struct dirent *e; d && (e = readdir(d)) != NULL;)
        found |= strstr(e->d_name, part) != NULL;
    if (d)
        closedir(d);
    return found;
}

static void test_help(void) {
    tu_run_result r;
    ct_run(&r, "--help", NULL);
    CHECK("--help: exit 0, usage on stdout, nothing on stderr",
          r.status == 0 && strncmp(r.out, "usage: spprof-convert [options] FILE -o OUT", 43) == 0 &&
              r.err_len == 0);
    CHECK("--help lists the formats and the filters",
          strstr(r.out, "-f, --format FMT") && strstr(r.out, "heap-svg") &&
              strstr(r.out, "--thread ID|NAME") && strstr(r.out, "--focus REGEX") &&
              strstr(r.out, "--force") && strstr(r.out, "--per-thread"));
    CHECK("--help lines the options' help up", tu_columns_aligned(r.out, "Options:"));
    tu_run_free(&r);
    tu_runv(ct_analyze, &r, "flamegraph", "--help", NULL);
    CHECK("spprof-analyze flamegraph --help",
          r.status == 0 && strncmp(r.out, "usage: spprof-analyze flamegraph", 32) == 0 &&
              strstr(r.out, "--color-by KEY") && strstr(r.out, "--diff"));
    tu_run_free(&r);
    tu_runv(ct_analyze, &r, "--help", NULL);
    CHECK("spprof-analyze lists flamegraph and collapsed",
          r.status == 0 && strstr(r.out, "\n  flamegraph ") && strstr(r.out, "\n  collapsed "));
    tu_run_free(&r);
}

static void test_usage(void) {
    ERR("no arguments", "spprof-convert: missing FILE (see 'spprof-convert --help')", "-o", "x");
    ERR("an unknown format", "spprof-convert: --format expects speedscope, collapsed, pprof, svg",
        "known.sptrace", "-f", "svgz", "-o", "x.svg");
    ERR("no -o", "spprof-convert: missing -o OUT", "known.sptrace");
    ERR("an unknown option", "spprof-convert: unknown option '--bogus'", "known.sptrace", "--bogus",
        "-o", "x");
    ERR("a bad metric", "spprof-convert: --metric expects cpu, wall", "known.sptrace", "--metric",
        "joules", "-o", "x");
    ERR("a bad regular expression", "spprof-convert: --focus: bad regular expression",
        "known.sptrace", "--focus", "(", "-o", "x");
    ERR("--to before --from", "spprof-convert: --to must be later than --from", "known.sptrace",
        "--from", "2s", "--to", "1s", "-o", "x");
    ERR("--per-thread with svg", "spprof-convert: --per-thread applies to collapsed, not svg",
        "known.sptrace", "-f", "svg", "--per-thread", "-o", "x.svg");
    ERR("--color-by with pprof", "spprof-convert: --color-by applies to svg, not pprof",
        "known.sptrace", "-f", "pprof", "--color-by", "module", "-o", "x.pb.gz");
    ERR("a bad --color-by", "spprof-convert: --color-by expects kind or module", "known.sptrace",
        "-f", "svg", "--color-by", "rainbow", "-o", "x.svg");
    ERR("--diff with speedscope", "spprof-convert: --diff makes a differential flame graph",
        "--diff", "known.sptrace", "known.sptrace", "-o", "x.json");
    ERR("--diff with one trace", "spprof-convert: --diff needs two traces", "-f", "svg", "--diff",
        "known.sptrace", "-o", "x.svg");
    ERR("two traces without --diff", "spprof-convert: expected one FILE, but 'b.sptrace' follows",
        "known.sptrace", "b.sptrace", "-o", "x.json");
    ERR("--metric with heap-svg", "spprof-convert: heap-svg always shows live bytes",
        "known.sptrace", "-f", "heap-svg", "--metric", "cpu", "-o", "x.svg");
    ERR("-o naming the input", "spprof-convert: -o names the input trace known.sptrace",
        "known.sptrace", "--force", "-o", "known.sptrace");
    ERR("a missing trace", "spprof-convert: missing.sptrace: ", "missing.sptrace", "-o", "m.json");
    ERR("not a trace", "spprof-convert: notes.txt: ", "notes.txt", "-o", "n.json");
    CHECK("a failed conversion leaves no output",
          access("m.json", F_OK) != 0 && access("n.json", F_OK) != 0 && !dir_has(".", ".tmp-"));
    tu_run_result r;
    tu_runv(ct_analyze, &r, "aggregate", "known.sptrace", "-o", "agg.sptrace", NULL);
    tu_run_free(&r);
    ct_run(&r, "agg.sptrace", "--from", "1s", "-f", "collapsed", "-o", "agg.folded", NULL);
    CHECK("a window on an aggregated trace: exported, with one warning line",
          r.status == 0 && tu_count_lines(r.err) == 1 &&
              strcmp(r.err, "spprof-convert: agg.sptrace: an aggregated trace has no time order; "
                            "--from and --to select all of its aggregated records\n") == 0);
    tu_run_free(&r);
    char *agg = tk_read_file("agg.folded", NULL);
    CHECK("and all of its records", agg && ct_folded_count(agg, "main;compute;leaf_a") == 40);
    free(agg);
    tu_runv(ct_analyze, &r, "flamegraph", "known.sptrace", NULL);
    CHECK(
        "spprof-analyze flamegraph without -o",
        ct_check_error("flamegraph without -o", &r, "spprof-analyze: flamegraph: missing -o OUT"));
    tu_run_free(&r);
}

static void test_force(void) {
    tk_write_file("exists.json", "keep me\n", 8);
    tu_run_result r;
    ct_run(&r, "known.sptrace", "-o", "exists.json", NULL);
    CHECK(
        "an existing OUT is refused without --force",
        ct_check_error("existing OUT", &r,
                       "spprof-convert: exists.json: already exists (use --force to replace it)"));
    tu_run_free(&r);
    char *text = tk_read_file("exists.json", NULL);
    CHECK("and left as it was", text && strcmp(text, "keep me\n") == 0);
    free(text);
    ct_run(&r, "known.sptrace", "--force", "-o", "exists.json", NULL);
    CHECK("with --force it is replaced: exit 0, silent",
          r.status == 0 && r.err_len == 0 && r.out_len == 0);
    tu_run_free(&r);
    text = tk_read_file("exists.json", NULL);
    CHECK("by the export", text && strncmp(text, "{\"$schema\":", 11) == 0);
    free(text);
    CHECK("no temporary file is left", !dir_has(".", ".tmp-"));

    /* Through a symlink, the file it names is replaced and the link kept. */
    tk_write_file("target.txt", "old\n", 4);
    unlink("link.txt");
    symlink("target.txt", "link.txt");
    ct_run(&r, "known.sptrace", "-f", "collapsed", "--force", "-o", "link.txt", NULL);
    tu_run_free(&r);
    struct stat sb;
    text = tk_read_file("target.txt", NULL);
    CHECK("--force through a symlink writes the file it names, keeping the link",
          lstat("link.txt", &sb) == 0 && S_ISLNK(sb.st_mode) && text &&
              strncmp(text, "Worker.run;leaf_a 10\n", 21) == 0);
    free(text);
}

static void test_write_failures(void) {
    tu_run_result r;
    if (access("/dev/full", W_OK) == 0) {
        ct_run(&r, "known.sptrace", "-f", "svg", "-o", "/dev/full", NULL);
        CHECK("/dev/full: exit 2, one line naming it and why",
              ct_check_error("/dev/full", &r,
                             "spprof-convert: /dev/full: cannot write: No space left on device"));
        tu_run_free(&r);
    } else {
        fprintf(stderr, "  skipped: no /dev/full\n");
    }
}

static void test_file_size_limit(void) {
    tu_run_result r;
    /* A file size limit of 4 KiB: the SVG (about 10 KiB) fails with EFBIG part way through.
     * SIGXFSZ is ignored so that write(2) returns the error; both settings are inherited.
     * ThreadSanitizer's runtime itself dies of SIGBUS under such a limit: not tested there. */
#ifdef __SANITIZE_THREAD__
    fprintf(stderr, "  skipped: the file size limit under ThreadSanitizer\n");
    return;
#endif
    struct rlimit old, small = {4096, 0};
    getrlimit(RLIMIT_FSIZE, &old);
    small.rlim_max = old.rlim_max;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    mkdir("fsize", 0755);
    setrlimit(RLIMIT_FSIZE, &small);
    ct_run(&r, "known.sptrace", "-f", "svg", "-o", "fsize/out.svg", NULL);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, prev);
    CHECK("a write that fails part way: exit 2, one line naming OUT and why",
          ct_check_error("file size limit", &r,
                         "spprof-convert: fsize/out.svg: cannot write: File too large"));
    tu_run_free(&r);
    CHECK("no partial OUT is left", access("fsize/out.svg", F_OK) != 0);
    CHECK("nor its temporary file", !dir_has("fsize", "out.svg"));

    /* The same with an existing OUT and --force: the old OUT survives untouched. */
    tk_write_file("fsize/old.svg", "old\n", 4);
    signal(SIGXFSZ, SIG_IGN);
    setrlimit(RLIMIT_FSIZE, &small);
    ct_run(&r, "known.sptrace", "-f", "svg", "--force", "-o", "fsize/old.svg", NULL);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, prev);
    CHECK("--force over a file, failing: exit 2", r.status == 2);
    tu_run_free(&r);
    char *text = tk_read_file("fsize/old.svg", NULL);
    CHECK("--force over a file, failing: the old OUT is untouched",
          text && strcmp(text, "old\n") == 0);
    free(text);
    CHECK("--force over a file, failing: no temporary file", !dir_has("fsize", ".tmp-"));
}

static void test_locked_and_signals(void) {
    tu_run_result r;

    /* A directory that cannot be written (root writes anyway, so only as another user). */
    mkdir("locked", 0755);
    chmod("locked", 0555);
    if (geteuid() != 0) {
        ct_run(&r, "known.sptrace", "-o", "locked/out.json", NULL);
        CHECK("an unwritable directory: exit 2, naming OUT",
              ct_check_error("unwritable directory", &r,
                             "spprof-convert: locked/out.json: cannot create a temporary file "
                             "beside it: Permission denied"));
        tu_run_free(&r);
        CHECK("an unwritable directory: nothing in it", !dir_has("locked", "out"));
    } else {
        fprintf(stderr, "  skipped: running as root, a read-only directory is still writable\n");
    }
    chmod("locked", 0755);

    /* SIGTERM part way: the temporary file goes with the process. OUT is opened before the
     * trace, and the trace is a FIFO nobody writes, so the export waits with its temporary file
     * created until the signal comes. */
    mkdir("sig", 0755);
    unlink("sig/slow.sptrace");
    if (mkfifo("sig/slow.sptrace", 0644) == 0) {
        /* posix_spawn, not fork: a child forked from a TSan-instrumented test can deadlock
         * in TSan's runtime before it reaches exec (google/sanitizers#1400). */
        char *argv[] = {(char *)ct_convert, "sig/slow.sptrace", "-o", "sig/out.json", NULL};
        pid_t pid;
        int spawned = posix_spawn(&pid, ct_convert, NULL, NULL, argv, environ) == 0;
        CHECK("the export starts", spawned);
        if (!spawned)
            return;
        int waited = 0;
        struct timespec tick = {0, 10000000};
        while (!dir_has("sig", "out.json.tmp-") && waited++ < 300)
            nanosleep(&tick, NULL);
        CHECK("the export has created its temporary file", dir_has("sig", "out.json.tmp-"));
        kill(pid, SIGTERM);
        /* Bounded, so a stuck export fails this check instead of the whole test timing out.
         * Under TSan a signal that lands while the export is entering open() on the FIFO (a call
         * TSan does not know blocks) is only queued, to be handled when that call returns, and
         * the call then waits for a writer forever: after 2 s the test opens the FIFO's writing
         * end, the open returns, and the queued SIGTERM must still end the export as asserted.
         * Without TSan the signal is handled at once and the writer is never needed. */
        int status = 0, writer = -1;
        pid_t done = 0;
        for (waited = 0; (done = waitpid(pid, &status, WNOHANG)) == 0 && waited < 2000; waited++) {
            if (waited == 200) {
                writer = open("sig/slow.sptrace", O_WRONLY | O_NONBLOCK);
                fprintf(stderr, "  the export still runs 2 s after SIGTERM; its FIFO %s\n",
                        writer >= 0 ? "now has a writer" : "has no reader yet");
            }
            nanosleep(&tick, NULL);
        }
        if (writer >= 0)
            close(writer);
        if (done == 0) {
            fprintf(stderr, "  the export did not end within 20 s of SIGTERM; killing it\n");
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
        }
        CHECK("SIGTERM ends the export", WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
        CHECK("and its temporary file is gone, with no OUT", !dir_has("sig", "out.json"));
    } else {
        fprintf(stderr, "  skipped: cannot make a FIFO\n");
    }
}

int main(void) {
    int ok =
        ct_setup() == 0 && tu_write_known_trace("known.sptrace", TU_END_CLEAN, 0) == 0 &&
        tk_write_file("notes.txt", "not a trace, but long enough to be read as one\n", 47) == 0;
    CHECK("the binaries and traces are in place", ok);
    if (!ok)
        return CHECK_DONE();
    test_help();
    test_usage();
    test_force();
    test_write_failures();
    test_file_size_limit();
    test_locked_and_signals();
    return CHECK_DONE();
}

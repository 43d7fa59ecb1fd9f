/* testlib.c: convert's test helpers: running the binaries, the awkward trace, folded lines. The
 * pprof and XML readers live in testlib_pprof.c and testlib_xml.c; all of them are written from
 * the formats' specifications, not from convert's code, so a round trip checks the exporter. */
#define _XOPEN_SOURCE 700
#include "convert/testlib.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyze/testutil.h"
#include "tracefmt/sptrace.h"

/* ---------------------------------------------------------------------------------------------
 * Running the binaries.
 * ------------------------------------------------------------------------------------------- */
char ct_convert[PATH_MAX];
char ct_analyze[PATH_MAX];
char ct_golden[PATH_MAX];

int ct_setup(void) {
    if (tu_runfile("convert/spprof-convert", ct_convert, sizeof ct_convert) ||
        tu_runfile("analyze/spprof-analyze", ct_analyze, sizeof ct_analyze) ||
        tu_runfile("testdata/convert", ct_golden, sizeof ct_golden))
        return -1;
    const char *tmp = getenv("TEST_TMPDIR");
    return chdir(tmp && *tmp ? tmp : "/tmp");
}

static int run_va(tu_run_result *r, va_list ap) {
    char *argv[32];
    int n = 0;
    argv[n++] = ct_convert;
    for (char *a; n < 31 && (a = va_arg(ap, char *)) != NULL;)
        argv[n++] = a;
    argv[n] = NULL;
    return tu_run(argv, r);
}

int ct_run(tu_run_result *r, ...) {
    va_list ap;
    va_start(ap, r);
    int rc = run_va(r, ap);
    va_end(ap);
    return rc;
}

int ct_export(const char *out, char **text, size_t *len, ...) {
    tu_run_result r;
    *text = NULL;
    unlink(out);
    va_list ap;
    va_start(ap, len);
    int rc = run_va(&r, ap);
    va_end(ap);
    if (rc)
        return -1;
    if (r.status != 0 || r.out_len || r.err_len) {
        fprintf(stderr, "  spprof-convert -o %s: status %d\n  stdout: %s\n  stderr: %s\n", out,
                r.status, r.out, r.err);
        tu_run_free(&r);
        return -1;
    }
    tu_run_free(&r);
    *text = tu_read_file(out, len);
    return *text ? 0 : -1;
}

int ct_check_error(const char *what, const tu_run_result *r, const char *prefix) {
    int ok = r->status == 2 && tu_count_lines(r->err) == 1 &&
             strncmp(r->err, prefix, strlen(prefix)) == 0 && r->out_len == 0;
    if (!ok)
        fprintf(stderr, "FAIL %s: status %d, stderr '%s' (wanted '%s...'), stdout %zu bytes\n",
                what, r->status, r->err ? r->err : "", prefix, r->out_len);
    return ok;
}

int ct_xml_wellformed(const char *path) {
    tu_run_result r;
    if (access("/usr/bin/xmllint", X_OK) == 0) {
        if (tu_runv("/usr/bin/xmllint", &r, "--noout", "--nonet", path, NULL))
            return 0;
    } else if (access("/usr/bin/python3", X_OK) == 0) {
        if (tu_runv("/usr/bin/python3", &r, "-c",
                    "import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])", path, NULL))
            return 0;
    } else {
        fprintf(stderr, "  skipped: neither xmllint nor python3 is installed\n");
        return -1;
    }
    int ok = r.status == 0 && r.err_len == 0;
    if (!ok)
        fprintf(stderr, "  %s is not well-formed XML: %s\n", path, r.err);
    tu_run_free(&r);
    return ok;
}

/* ---------------------------------------------------------------------------------------------
 * The awkward names.
 * ------------------------------------------------------------------------------------------- */
#define FFFD   "\xef\xbf\xbd"
#define PIC(c) "\xe2\x90" c /* Control Pictures: U+2400 + byte */
#define X10    "xxxxxxxxxx"
#define X100   X10 X10 X10 X10 X10 X10 X10 X10 X10 X10
#define X1000  X100 X100 X100 X100 X100 X100 X100 X100 X100 X100
#define LONG   "long_" X1000 X1000 X1000 X1000 X1000

#define CTL     "ctl\x01\x1f\x7f\ttab\nnl\rcr"
#define BAD     "bad\xff\xfe utf8 \xc0\xaf \xed\xa0\x80 \xc3"
#define SAME(s) s, sizeof(s) - 1, s, s, s, s

const ct_name ct_names[] = {
    {"semi;colon", 10, "semi;colon", "semi:colon", "semi;colon", "semi;colon"},
    {SAME("with space \"quoted\" 'apos'")},
    {SAME("<&>")},
    {CTL, sizeof CTL - 1, CTL,
     "ctl" PIC("\x81")
         PIC("\x9f") "\xe2\x90\xa1" PIC("\x89") "tab" PIC("\x8a") "nl" PIC("\x8d") "cr",
     "ctl" PIC("\x81")
         PIC("\x9f") "\xe2\x90\xa1" PIC("\x89") "tab" PIC("\x8a") "nl" PIC("\x8d") "cr",
     CTL},
    {BAD, sizeof BAD - 1, "bad" FFFD FFFD " utf8 " FFFD FFFD " " FFFD FFFD FFFD " " FFFD,
     "bad" FFFD FFFD " utf8 " FFFD FFFD " " FFFD FFFD FFFD " " FFFD,
     "bad" FFFD FFFD " utf8 " FFFD FFFD " " FFFD FFFD FFFD " " FFFD,
     "bad" FFFD FFFD " utf8 " FFFD FFFD " " FFFD FFFD FFFD " " FFFD},
    {SAME("caf\xc3\xa9 \xe2\x80\xa8 \xf0\x9f\x94\xa5")},
    {SAME(LONG)},
    {SAME("back\\slash/and/slash")},
    {SAME("]]> <!-- --> ?>")},
    {"nonchar \xef\xbf\xbe", 11, "nonchar \xef\xbf\xbe", "nonchar \xef\xbf\xbe", "nonchar " FFFD,
     "nonchar \xef\xbf\xbe"},
    /* A NUL byte: JSON readers here stop at it, so only the raw text is checked (json NULL). */
    {"nul\0byte", 8, NULL, "nul" PIC("\x80") "byte", "nul" PIC("\x80") "byte", NULL},
    {SAME("trailing space ")},
    {SAME("ends with digits 42")},
};

const size_t ct_n_names = sizeof ct_names / sizeof ct_names[0];

static uint32_t frame(spt_writer *w, const char *name, size_t len, uint32_t line, uint32_t map,
                      uint64_t address) {
    spt_frame f;
    memset(&f, 0, sizeof f);
    f.kind = SPT_FRAME_NATIVE;
    f.function = spt_writer_string(w, name, len);
    f.file = spt_writer_cstring(w, CT_FILE_NAME);
    f.line = line;
    f.address = address;
    f.mapping = map;
    return spt_writer_frame(w, &f);
}

int ct_write_awkward_trace(const char *path) {
    spt_header h = tu_header();
    h.python_version = 0;
    spt_writer *w = NULL;
    if (spt_writer_open(path, &h, NULL, &w) != SPT_OK) {
        fprintf(stderr, "%s: cannot write\n", path);
        spt_writer_close(w, NULL);
        return -1;
    }
    spt_mapping m;
    memset(&m, 0, sizeof m);
    m.start = 0x7f0000000000ull;
    m.end = 0x7f0000100000ull;
    m.path = spt_writer_cstring(w, "/usr/lib/odd dir/libodd.so");
    uint32_t map = spt_writer_mapping(w, &m);
    uint32_t main_f = frame(w, "main", 4, 9, map, 0x7f0000000100ull);
    uint32_t t1 = spt_writer_thread(w, 7001, spt_writer_cstring(w, CT_THREAD_NAME), 0);
    uint32_t t2 = spt_writer_thread(w, 7002, spt_writer_cstring(w, "plain"), 0);
    uint32_t frames[64];
    uint64_t time_ns = 0;
    for (size_t k = 0; k < ct_n_names; k++) {
        frames[k] = frame(w, ct_names[k].raw, ct_names[k].raw_len, (uint32_t)(10 + k), map,
                          0x7f0000001000ull + 0x100 * k);
        uint32_t path_ids[2] = {main_f, frames[k]};
        uint32_t stack = spt_writer_stack_path(w, path_ids, 2);
        spt_writer_sample(w, t1, time_ns, stack, k + 1, 0);
        time_ns += 10000000;
    }
    uint32_t nested[3] = {main_f, frames[0], frames[2]};
    uint32_t stack = spt_writer_stack_path(w, nested, 3);
    for (int i = 0; i < 2; i++) {
        spt_writer_sample(w, t2, time_ns, stack, 1, 0);
        time_ns += 10000000;
    }
    spt_end e;
    memset(&e, 0, sizeof e);
    e.reason = SPT_END_EXIT;
    e.duration_ns = time_ns;
    if (spt_writer_close(w, &e) != SPT_OK) {
        fprintf(stderr, "%s: writing failed\n", path);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Folded stacks.
 * ------------------------------------------------------------------------------------------- */
long long ct_folded_count(const char *text, const char *stack) {
    size_t want = strlen(stack);
    for (const char *line = text; line && *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        const char *sp = NULL;
        for (size_t i = len; i > 0 && !sp; i--) {
            if (line[i - 1] == ' ')
                sp = line + i - 1;
        }
        if (sp && (size_t)(sp - line) == want && memcmp(line, stack, want) == 0)
            return strtoll(sp + 1, NULL, 10);
        line = nl ? nl + 1 : NULL;
    }
    return -1;
}

int ct_folded_valid(const char *text, unsigned long long *total, size_t *lines) {
    const char *prev = NULL;
    size_t prev_len = 0;
    *total = 0;
    *lines = 0;
    for (const char *line = text; *line;) {
        const char *nl = strchr(line, '\n');
        if (!nl)
            return 0; /* every line ends with a newline */
        size_t len = (size_t)(nl - line);
        const char *sp = NULL;
        for (size_t i = len; i > 0 && !sp; i--) {
            if (line[i - 1] == ' ')
                sp = line + i - 1;
        }
        if (!sp || sp == line || sp + 1 == nl)
            return 0;
        for (const char *d = sp + 1; d < nl; d++) {
            if (*d < '0' || *d > '9')
                return 0;
        }
        unsigned long long count = strtoull(sp + 1, NULL, 10);
        if (count == 0)
            return 0;
        size_t stack_len = (size_t)(sp - line);
        if (prev) {
            int c = memcmp(prev, line, prev_len < stack_len ? prev_len : stack_len);
            if (c > 0 || (c == 0 && prev_len >= stack_len))
                return 0; /* not strictly increasing: unsorted or a duplicate */
        }
        prev = line;
        prev_len = stack_len;
        *total += count;
        (*lines)++;
        line = nl + 1;
    }
    return 1;
}

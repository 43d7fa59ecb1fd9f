/* testlib.c: running convert's two binaries from its tests: finding them, spprof-convert with
 * captured output, an export read back, the one-line errors and well-formed XML (testlib.h). The
 * readers live in testlib_pprof.c, testlib_xml.c and testlib_folded.c, the awkward trace in
 * testlib_names.c; all are written from the formats' specifications, not from convert's code,
 * so that a round trip checks the exporter. */
#define _XOPEN_SOURCE 700
#include "convert/testlib.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "analyze/testrun.h"
#include "tests/tracekit.h"

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
    return tk_enter_tmp_dir();
}

int ct_run(tu_run_result *r, ...) {
    va_list ap;
    va_start(ap, r);
    int rc = tu_runva(ct_convert, r, ap);
    va_end(ap);
    return rc;
}

int ct_export(const char *out, char **text, size_t *len, ...) {
    tu_run_result r;
    *text = NULL;
    unlink(out);
    va_list ap;
    va_start(ap, len);
    int rc = tu_runva(ct_convert, &r, ap);
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
    *text = tk_read_file(out, len);
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

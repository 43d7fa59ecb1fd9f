/* names_test.c: frames named with everything a format cares about (';', spaces, quotes, '<&>',
 * control characters, a NUL, invalid UTF-8, a noncharacter, "]]>", a 5,005-byte name) survive a
 * round trip through every format: each reader (a strict JSON parser, folded lines, the protobuf
 * decoder, an XML parser after xmllint, and python3's xml.etree when installed) reads back
 * exactly what docs/USAGE.md ("Exporting") says each name becomes, with each frame's own weight. */
#define _XOPEN_SOURCE 700
#include "analyze/testjson.h"
#include "analyze/testrun.h"
#include "convert/testlib.h"
#include "tests/check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int str_is(const tu_json *v, const char *want) {
    const char *s = tu_json_str(v);
    return s && strcmp(s, want) == 0;
}

static void test_speedscope(void) {
    char *text;
    size_t len;
    if (ct_export("names.json", &text, &len, "names.sptrace", "-o", "names.json", NULL)) {
        CHECK("the awkward trace exports to speedscope", 0);
        return;
    }
    tu_json *doc = tu_json_parse(text);
    CHECK("speedscope: strict JSON despite the names", doc != NULL);
    const tu_json *frames = tu_json_get(tu_json_get(doc, "shared"), "frames");
    const tu_json *p = NULL;
    const tu_json *profiles = tu_json_get(doc, "profiles");
    for (size_t i = 0; i < tu_json_len(profiles); i++) {
        if (str_is(tu_json_get(tu_json_at(profiles, i), "name"),
                   "Thread 7001 \"" CT_THREAD_NAME "\""))
            p = tu_json_at(profiles, i);
    }
    CHECK("speedscope: the thread's awkward name reads back exactly", p != NULL);
    const tu_json *samples = tu_json_get(p, "samples"), *weights = tu_json_get(p, "weights");
    for (size_t k = 0; k < ct_n_names; k++) {
        char d[160];
        if (!ct_names[k].json)
            continue;
        long idx = -1;
        for (size_t f = 0; f < tu_json_len(frames); f++) {
            if (str_is(tu_json_get(tu_json_at(frames, f), "name"), ct_names[k].json))
                idx = (long)f;
        }
        snprintf(d, sizeof d, "speedscope: name %zu reads back as documented", k);
        CHECK(d, idx >= 0);
        /* Sample k of thread 1 is main > name k, weighing k + 1 intervals of 10 ms. */
        const tu_json *st = tu_json_at(samples, k);
        snprintf(d, sizeof d, "speedscope: name %zu has its own sample and weight", k);
        CHECK(d, tu_json_len(st) == 2 && tu_json_num(tu_json_at(st, 1)) == (double)idx &&
                     tu_json_num(tu_json_at(weights, k)) == (double)(k + 1) * 1e7);
        snprintf(d, sizeof d, "speedscope: name %zu's file is the sanitized path", k);
        CHECK(d, idx >= 0 && str_is(tu_json_get(tu_json_at(frames, (size_t)idx), "file"),
                                    "dir with space/a;b\xef\xbf\xbd.c"));
    }
    CHECK("speedscope: a NUL is \\u0000", strstr(text, "\"nul\\u0000byte\"") != NULL);
    tu_json_free(doc);
    free(text);
}

static void test_collapsed(void) {
    char *text;
    size_t len;
    if (ct_export("names.folded", &text, &len, "names.sptrace", "-f", "collapsed", "-o",
                  "names.folded", NULL)) {
        CHECK("the awkward trace exports to folded stacks", 0);
        return;
    }
    unsigned long long total;
    size_t lines;
    CHECK("folded: every line is still STACK COUNT, sorted", ct_folded_valid(text, &total, &lines));
    CHECK_EQ_U64("folded: one line per stack", lines, ct_n_names + 1);
    char stack[8192];
    for (size_t k = 0; k < ct_n_names; k++) {
        char d[160];
        snprintf(stack, sizeof stack, "main;%s", ct_names[k].folded);
        snprintf(d, sizeof d, "folded: name %zu is one frame, escaped as documented, weight %zu", k,
                 k + 1);
        long long count = ct_folded_count(text, stack);
        /* name 0's stack main > semi:colon also weighs its own sample only */
        CHECK(d, count == (long long)(k + 1));
    }
    CHECK("folded: the nested stack keeps both frames apart",
          ct_folded_count(text, "main;semi:colon;<&>") == 2);
    free(text);
    if (ct_export("names_pt.folded", &text, &len, "names.sptrace", "-f", "collapsed",
                  "--per-thread", "-o", "names_pt.folded", NULL) == 0) {
        CHECK("folded --per-thread: the thread's name escaped like a frame",
              ct_folded_count(text, "thr:ead \"one\" <&>\xe2\x90\x81/7001;main;<&>") == 3 &&
                  ct_folded_count(text, "plain/7002;main;semi:colon;<&>") == 2);
        free(text);
    }
}

static void test_pprof(void) {
    char *text;
    size_t len;
    ct_profile p;
    if (ct_export("names.pb.gz", &text, &len, "names.sptrace", "-f", "pprof", "-o", "names.pb.gz",
                  NULL) ||
        ct_pprof_read("names.pb.gz", &p)) {
        CHECK("the awkward trace exports to pprof and decodes", 0);
        free(text);
        return;
    }
    free(text);
    int cpu = ct_pprof_type(&p, "cpu");
    for (size_t k = 0; k < ct_n_names; k++) {
        const char *want = ct_names[k].pprof ? ct_names[k].pprof : ct_names[k].raw;
        size_t want_len = ct_names[k].pprof ? strlen(want) : ct_names[k].raw_len;
        int64_t self = 0;
        int found = 0;
        for (size_t i = 0; i < p.n_samples; i++) {
            const ct_sample *s = &p.samples[i];
            const ct_location *l = s->n_locations ? ct_pprof_location(&p, s->locations[0]) : NULL;
            const ct_function *f = l && l->n_lines ? ct_pprof_function(&p, l->function[0]) : NULL;
            if (f && (size_t)f->name < p.n_strings && p.string_lens[f->name] == want_len &&
                memcmp(p.strings[f->name], want, want_len) == 0) {
                found = 1;
                self += s->values[cpu];
                CHECK("pprof: a frame's file is its sanitized path",
                      strcmp(ct_pprof_str(&p, f->filename), "dir with space/a;b\xef\xbf\xbd.c") ==
                          0);
            }
        }
        char d[160];
        snprintf(d, sizeof d, "pprof: name %zu is in the string table as documented", k);
        CHECK(d, found);
        snprintf(d, sizeof d, "pprof: name %zu's own CPU time", k);
        int64_t expected = (int64_t)(k + 1) * 10000000 + (k == 2 ? 20000000 : 0);
        CHECK(d, self == expected);
    }
    int thread_ok = 0;
    for (size_t i = 0; i < p.n_samples; i++) {
        for (size_t l = 0; l < p.samples[i].n_labels; l++) {
            if (strcmp(ct_pprof_str(&p, p.samples[i].label_key[l]), "thread") == 0 &&
                strcmp(ct_pprof_str(&p, p.samples[i].label_str[l]), CT_THREAD_NAME) == 0)
                thread_ok = 1;
        }
    }
    CHECK("pprof: the thread label holds the awkward name exactly", thread_ok);
    ct_pprof_free(&p);
}

static void test_svg(void) {
    char *text;
    size_t len;
    if (ct_export("names.svg", &text, &len, "names.sptrace", "-f", "svg", "-o", "names.svg",
                  NULL)) {
        CHECK("the awkward trace exports to SVG", 0);
        return;
    }
    CHECK("svg: well-formed XML despite the names", ct_xml_wellformed("names.svg") != 0);
    if (access("/usr/bin/python3", X_OK) == 0) {
        tu_run_result r;
        tu_runv("/usr/bin/python3", &r, "-c",
                "import sys, xml.etree.ElementTree as E\n"
                "n = [t.text.split('\\n')[0] for t in E.parse(sys.argv[1]).iter("
                "'{http://www.w3.org/2000/svg}title')]\n"
                "print(len(n))",
                "names.svg", NULL);
        CHECK("svg: python's xml.etree reads every frame's title",
              r.status == 0 && r.out && atoi(r.out) == (int)ct_n_names + 3);
        tu_run_free(&r);
    } else {
        fprintf(stderr, "  skipped: no /usr/bin/python3 for a second XML parser\n");
    }
    ct_xml x;
    if (ct_xml_parse(text, &x)) {
        CHECK("svg: the XML reader reads it", 0);
        free(text);
        return;
    }
    for (size_t k = 0; k < ct_n_names; k++) {
        int found = 0;
        for (size_t i = 0; i < x.n; i++) {
            const char *cls = ct_xml_attr(&x.els[i], "class");
            size_t t = cls && strcmp(cls, "f") == 0 ? ct_xml_child(&x, i, "title") : SIZE_MAX;
            const char *title = t != SIZE_MAX ? x.els[t].text : NULL;
            size_t n = strlen(ct_names[k].xml);
            if (title && strncmp(title, ct_names[k].xml, n) == 0 && title[n] == '\n' &&
                strcmp(ct_xml_attr(&x.els[i], "data-d"), "2") == 0 &&
                strtoull(ct_xml_attr(&x.els[i], "data-v"), NULL, 10) == k + 1 + (k == 0 ? 2 : 0))
                found = 1; /* name 0 also holds thread 2's main > name 0 > name 2 */
        }
        char d[160];
        snprintf(d, sizeof d, "svg: name %zu reads back as documented, with its weight", k);
        CHECK(d, found);
    }
    /* main > semi;colon: itself 1 plus main > semi;colon > <&> from thread 2: 2. */
    int nested = 0;
    for (size_t i = 0; i < x.n; i++) {
        const char *cls = ct_xml_attr(&x.els[i], "class");
        size_t t = cls && strcmp(cls, "f") == 0 ? ct_xml_child(&x, i, "title") : SIZE_MAX;
        if (t != SIZE_MAX && strncmp(x.els[t].text, "semi;colon\n", 11) == 0 &&
            strcmp(ct_xml_attr(&x.els[i], "data-v"), "3") == 0)
            nested++;
        if (t != SIZE_MAX && strncmp(x.els[t].text, "<&>\n", 4) == 0 &&
            (strcmp(ct_xml_attr(&x.els[i], "data-v"), "3") == 0 ||
             strcmp(ct_xml_attr(&x.els[i], "data-v"), "2") == 0))
            nested++;
    }
    CHECK_EQ_U64("svg: the frames shared by both threads have their totals", nested, 3);
    /* The long name is cut to what fits, on a character boundary, with "..". */
    int cut = 0;
    for (size_t i = 0; i < x.n; i++) {
        const char *cls = ct_xml_attr(&x.els[i], "class");
        size_t tx = cls && strcmp(cls, "f") == 0 ? ct_xml_child(&x, i, "text") : SIZE_MAX;
        const char *s = tx != SIZE_MAX ? x.els[tx].text : NULL;
        if (s && strncmp(s, "long_xxx", 8) == 0)
            cut = strlen(s) < 200 && strcmp(s + strlen(s) - 2, "..") == 0;
    }
    CHECK("svg: a long name's label is cut to fit, ending in '..'", cut);
    ct_xml_free(&x);
    free(text);
}

int main(void) {
    int ok = ct_setup() == 0 && ct_write_awkward_trace("names.sptrace") == 0;
    CHECK("the binaries and the awkward trace are in place", ok);
    if (!ok)
        return CHECK_DONE();
    test_speedscope();
    test_collapsed();
    test_pprof();
    test_svg();
    return CHECK_DONE();
}

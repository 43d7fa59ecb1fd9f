/* convert_unit_test.c: the pieces every format stands on, tested directly: escaping for JSON (read
 * back by a strict parser), XML and folded stacks; the spill across many blocks and streams; the
 * interning table; protobuf varints and gzip (inflated back by zlib); OUT written through a
 * temporary file, refused without --force, removed on failure; the inline script's CDATA. */
#define _XOPEN_SOURCE 700
#include "convert/convert_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "analyze/testjson.h"
#include "tests/check.h"
#include "tests/tracekit.h"

/* What a function wrote to a FILE, as a heap string. */
typedef struct {
    char *text;
    size_t len;
    FILE *f;
} capture;

static void cap_begin(capture *c) {
    c->text = NULL;
    c->len = 0;
    c->f = open_memstream(&c->text, &c->len);
}

static const char *cap_end(capture *c) {
    fclose(c->f);
    return c->text;
}

static void test_json(void) {
    static const struct {
        const char *in;
        size_t len;
        const char *text; /* exactly what is written */
        const char *back; /* what a JSON parser reads back */
    } cases[] = {
        {"plain", 5, "\"plain\"", "plain"},
        {"q\"b\\s/", 6, "\"q\\\"b\\\\s/\"", "q\"b\\s/"},
        {"c\x01\x1f\x7f\t\n", 6, "\"c\\u0001\\u001f\\u007f\\u0009\\u000a\"", "c\x01\x1f\x7f\t\n"},
        {"bad\xff\xc3", 5, "\"bad\\ufffd\\ufffd\"", "bad\xef\xbf\xbd\xef\xbf\xbd"},
        {"ls\xe2\x80\xa8ps\xe2\x80\xa9", 10, "\"ls\\u2028ps\\u2029\"",
         "ls\xe2\x80\xa8ps\xe2\x80\xa9"},
        {"caf\xc3\xa9\xf0\x9f\x94\xa5", 9, "\"caf\xc3\xa9\xf0\x9f\x94\xa5\"",
         "caf\xc3\xa9\xf0\x9f\x94\xa5"},
        {"sur\xed\xa0\x80", 6, "\"sur\\ufffd\\ufffd\\ufffd\"",
         "sur\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        capture c;
        cap_begin(&c);
        spc_put_json(c.f, cases[i].in, cases[i].len);
        const char *out = cap_end(&c);
        char d[128];
        snprintf(d, sizeof d, "JSON string %zu is written exactly", i);
        CHECK(d, strcmp(out, cases[i].text) == 0);
        tu_json *v = tu_json_parse(out);
        snprintf(d, sizeof d, "JSON string %zu reads back exactly", i);
        CHECK(d, v && tu_json_str(v) && strcmp(tu_json_str(v), cases[i].back) == 0);
        tu_json_free(v);
        free(c.text);
    }
}

static void test_folded_and_xml(void) {
    spc_buf b = {0};
    spc_esc_folded(&b, "a;b c\n\x01\x7f\xff", 9);
    spc_buf_byte(&b, 0);
    CHECK("folded: ';' becomes ':', controls their pictures, bad bytes U+FFFD",
          strcmp((char *)b.p, "a:b c\xe2\x90\x8a\xe2\x90\x81\xe2\x90\xa1\xef\xbf\xbd") == 0);
    spc_buf_free(&b);

    spc_esc_utf8(&b, "ok;\x01\xc3", 5);
    CHECK_EQ_U64("utf8 sanitizing keeps valid bytes and replaces the bad one", b.len, 4 + 3);
    CHECK("utf8 sanitizing: exact bytes", memcmp(b.p, "ok;\x01\xef\xbf\xbd", 7) == 0);
    spc_buf_free(&b);

    capture c;
    cap_begin(&c);
    spc_put_xml(c.f, "<a & 'b'> \"c\" \x09\xef\xbf\xbe\xff", 19, SIZE_MAX);
    const char *out = cap_end(&c);
    CHECK("xml: entities, control pictures, U+FFFE and bad bytes as U+FFFD",
          strcmp(out, "&lt;a &amp; &apos;b&apos;&gt; &quot;c&quot; \xe2\x90\x89\xef\xbf\xbd"
                      "\xef\xbf\xbd") == 0);
    free(c.text);
    cap_begin(&c);
    spc_put_xml(c.f, "\xc3\xa9\xc3\xa9<\xc3\xa9", 7, 3);
    out = cap_end(&c);
    CHECK("xml: max_chars counts characters, not bytes", strcmp(out, "\xc3\xa9\xc3\xa9&lt;") == 0);
    free(c.text);
    CHECK_EQ_U64("char count: an invalid byte is one character", spc_char_count("\xc3\xa9x\xff", 4),
                 3);

    char v[48];
    spc_fmt_value(v, sizeof v, SPA_METRIC_CPU, 105, 10000000);
    CHECK("1.05 s of CPU time", strcmp(v, "1.05 s") == 0);
    spc_fmt_value(v, sizeof v, SPA_METRIC_ALLOC_BYTES, 1536, 0);
    CHECK("1.5 KiB", strcmp(v, "1.5 KiB") == 0);
    spc_fmt_value(v, sizeof v, SPA_METRIC_CPU, 1234567, 0);
    CHECK("no interval: a sample count", strcmp(v, "1,234,567 samples") == 0);
    CHECK_EQ_U64("weight x interval saturates", spc_mul_sat(UINT64_MAX / 2, 3), UINT64_MAX);
}

static void test_spill(void) {
    spc_spill *s = spc_spill_new();
    CHECK("a spill is made", s != NULL);
    if (!s)
        return;
    /* Three streams interleaved, 60,000 varints of 1 to 10 bytes each: many 4 KiB blocks. */
    const uint32_t streams[3] = {0, 7, 1000};
    int ok = 1;
    for (uint64_t i = 0; i < 60000 && ok; i++) {
        spc_buf b = {0};
        spc_buf_varint(&b, i * i * 2654435761u);
        ok = spc_spill_put(s, streams[i % 3], b.p, b.len) == 0;
        spc_buf_free(&b);
    }
    CHECK("60,000 varints are spilled", ok);
    for (int k = 0; k < 3; k++) {
        spc_spill_reader rd;
        spc_spill_read_begin(&rd, s, streams[k]);
        uint64_t v, i = (uint64_t)k, n = 0;
        int rc, same = 1;
        while ((rc = spc_spill_read_varint(&rd, &v)) == 1) {
            same &= v == i * i * 2654435761u;
            i += 3;
            n++;
        }
        CHECK("a stream reads back to its end without error", rc == 0);
        CHECK_EQ_U64("a stream reads back every value", n, 20000);
        CHECK("a stream reads back in order, exactly", same);
    }
    spc_spill_reader rd;
    uint64_t v;
    spc_spill_read_begin(&rd, s, 5);
    CHECK("a stream never written is empty", spc_spill_read_varint(&rd, &v) == 0);
    spc_spill_free(s);

    /* A temporary directory that does not exist: the first full block fails, and says why. */
    const char *old = getenv("TMPDIR");
    char *saved = old ? strdup(old) : NULL;
    setenv("TMPDIR", "/nonexistent/spprof", 1);
    s = spc_spill_new();
    unsigned char block[5000];
    memset(block, 1, sizeof block);
    CHECK("a spill that cannot create its file fails",
          spc_spill_put(s, 0, block, sizeof block) < 0);
    CHECK("and says so", strstr(spc_spill_error(s), "temporary file: cannot create") != NULL);
    CHECK("and stays failed", spc_spill_put(s, 1, block, 1) < 0);
    spc_spill_free(s);
    if (saved)
        setenv("TMPDIR", saved, 1);
    else
        unsetenv("TMPDIR");
    free(saved);
}

static void test_intern(void) {
    spc_intern t;
    memset(&t, 0, sizeof t);
    int added;
    CHECK_EQ_U64("the empty key is index 0", spc_intern_put(&t, "", 0, &added), 0);
    CHECK("and was added", added);
    int all = 1;
    char key[32];
    for (int i = 0; i < 5000; i++) {
        int n = snprintf(key, sizeof key, "key %d", i);
        all &= spc_intern_put(&t, key, (size_t)n, &added) == (uint32_t)i + 1 && added;
    }
    CHECK("5,000 keys get indexes in order", all);
    CHECK_EQ_U64("a key put again keeps its index", spc_intern_put(&t, "key 42", 6, &added), 43);
    CHECK("and is not added", !added);
    CHECK_EQ_U64("keys differing only after a NUL are apart", spc_intern_put(&t, "k\0a", 3, &added),
                 5001);
    CHECK_EQ_U64("keys differing only after a NUL are apart (2)",
                 spc_intern_put(&t, "k\0b", 3, &added), 5002);
    size_t len;
    const unsigned char *k = spc_intern_key(&t, 43, &len);
    CHECK("a key's bytes come back", len == 6 && memcmp(k, "key 42", 6) == 0);
    spc_intern_free(&t);
}

static void test_proto_gzip(void) {
    spc_buf b = {0};
    spc_buf_varint(&b, 150);
    CHECK("varint 150 is 96 01", b.len == 2 && b.p[0] == 0x96 && b.p[1] == 0x01);
    b.len = 0;
    spc_pb_int(&b, 1, -1);
    CHECK_EQ_U64("int64 -1 takes a tag and ten bytes", b.len, 11);
    b.len = 0;
    const uint64_t vals[3] = {3, 270, 86942};
    spc_pb_packed(&b, 4, vals, 3);
    static const unsigned char packed[] = {0x22, 0x06, 0x03, 0x8E, 0x02, 0x9E, 0xA7, 0x05};
    CHECK("packed repeated field as in the protobuf documentation",
          b.len == sizeof packed && memcmp(b.p, packed, sizeof packed) == 0);
    b.len = 0;
    spc_pb_bytes(&b, 6, "", 0);
    CHECK("an empty string is a tag and a zero length", b.len == 2 && b.p[0] == 0x32 && !b.p[1]);
    spc_buf_free(&b);

    /* A megabyte through gzip, inflated back. */
    size_t n = 1 << 20;
    unsigned char *data = malloc(n);
    for (size_t i = 0; i < n; i++)
        data[i] = (unsigned char)((i * 7919) ^ (i >> 9));
    capture c;
    cap_begin(&c);
    spc_gzip *g = spc_gzip_open(c.f);
    int ok =
        g && spc_gzip_write(g, data, n / 3) == 0 && spc_gzip_write(g, data + n / 3, n - n / 3) == 0;
    ok &= spc_gzip_close(g) == 0;
    cap_end(&c);
    CHECK("gzip writes a megabyte", ok);
    CHECK("with the gzip magic",
          c.len > 18 && (unsigned char)c.text[0] == 0x1f && (unsigned char)c.text[1] == 0x8b);
    unsigned char *back = malloc(n + 16);
    z_stream z;
    memset(&z, 0, sizeof z);
    inflateInit2(&z, 15 + 16);
    z.next_in = (Bytef *)c.text;
    z.avail_in = (uInt)c.len;
    z.next_out = back;
    z.avail_out = (uInt)(n + 16);
    int rc = inflate(&z, Z_FINISH);
    CHECK("zlib inflates it to the end (CRC and size checked)", rc == Z_STREAM_END);
    CHECK("to the same megabyte", z.total_out == n && memcmp(back, data, n) == 0);
    inflateEnd(&z);
    free(back);
    free(data);
    free(c.text);
}

/* Whether dir holds a file whose name contains part. */
static int dir_has(const char *dir, const char *part) {
    DIR *d = opendir(dir);
    int found = 0;
    for (struct dirent *e; d && (e = readdir(d)) != NULL;)
        found |= strstr(e->d_name, part) != NULL;
    if (d)
        closedir(d);
    return found;
}

static void test_output(void) {
    char dir[4096], path[4200], err[512];
    tk_tmp_path("outdir", dir, sizeof dir);
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/out.txt", dir);
    unlink(path);

    spc_output *o;
    CHECK("a new OUT opens", spc_output_open(path, 0, &o, err, sizeof err) == 0);
    fputs("first", spc_output_file(o));
    CHECK("while writing, OUT does not exist yet", access(path, F_OK) != 0);
    CHECK("while writing, the temporary file does", dir_has(dir, "out.txt.tmp-"));
    CHECK("commit succeeds", spc_output_commit(o, err, sizeof err) == 0);
    char *text = tk_read_file(path, NULL);
    CHECK("OUT holds what was written", text && strcmp(text, "first") == 0);
    free(text);
    CHECK("no temporary file is left", !dir_has(dir, ".tmp-"));
    struct stat sb;
    CHECK("OUT is readable by others, as a plain create makes it (umask permitting)",
          stat(path, &sb) == 0 && (sb.st_mode & 0600) == 0600);

    CHECK("an existing OUT is refused without force",
          spc_output_open(path, 0, &o, err, sizeof err) < 0);
    CHECK("saying so and naming it", strstr(err, "out.txt: already exists (use --force") != NULL);
    CHECK("with force it opens", spc_output_open(path, 1, &o, err, sizeof err) == 0);
    fputs("second", spc_output_file(o));
    spc_output_abort(o);
    text = tk_read_file(path, NULL);
    CHECK("an aborted write leaves the old OUT as it was", text && strcmp(text, "first") == 0);
    free(text);
    CHECK("and no temporary file", !dir_has(dir, ".tmp-"));
    CHECK("with force it opens again", spc_output_open(path, 1, &o, err, sizeof err) == 0);
    fputs("third", spc_output_file(o));
    CHECK("and commit replaces OUT", spc_output_commit(o, err, sizeof err) == 0);
    text = tk_read_file(path, NULL);
    CHECK("OUT holds the new text", text && strcmp(text, "third") == 0);
    free(text);

    CHECK("a directory is refused", spc_output_open(dir, 1, &o, err, sizeof err) < 0);
    CHECK("saying so", strstr(err, "is a directory") != NULL);
    CHECK("a file in a missing directory is refused",
          spc_output_open("/nonexistent/dir/x.svg", 0, &o, err, sizeof err) < 0);
    CHECK("naming it", strncmp(err, "/nonexistent/dir/x.svg: ", 24) == 0);

    if (access("/dev/full", W_OK) == 0) {
        CHECK("/dev/full opens (a device is written in place)",
              spc_output_open("/dev/full", 0, &o, err, sizeof err) == 0);
        for (int i = 0; i < 10000; i++)
            fputs("0123456789", spc_output_file(o));
        CHECK("and its commit fails", spc_output_commit(o, err, sizeof err) < 0);
        CHECK("saying why, naming it",
              strcmp(err, "/dev/full: cannot write: No space left on device") == 0);
    }
    CHECK("/dev/null is written in place, without --force",
          spc_output_open("/dev/null", 0, &o, err, sizeof err) == 0 &&
              spc_output_commit(o, err, sizeof err) == 0);
    CHECK("/dev/null is still a device", stat("/dev/null", &sb) == 0 && S_ISCHR(sb.st_mode));
}

static void test_names(void) {
    spc_format f;
    CHECK("speedscope parses", spc_format_parse("speedscope", &f) == 0 && f == SPC_SPEEDSCOPE);
    CHECK("folded is collapsed", spc_format_parse("folded", &f) == 0 && f == SPC_COLLAPSED);
    CHECK("flamegraph is svg", spc_format_parse("flamegraph", &f) == 0 && f == SPC_SVG);
    CHECK("heap-svg parses", spc_format_parse("heap-svg", &f) == 0 && f == SPC_HEAP_SVG);
    CHECK("pprof parses", spc_format_parse("pprof", &f) == 0 && f == SPC_PPROF);
    CHECK("an unknown format does not", spc_format_parse("svgz", &f) < 0);
    CHECK("format names round-trip", strcmp(spc_format_name(SPC_HEAP_SVG), "heap-svg") == 0 &&
                                         strcmp(spc_format_name(SPC_COLLAPSED), "collapsed") == 0);
    spc_color_by c;
    CHECK("module parses", spc_color_by_parse("module", &c) == 0 && c == SPC_COLOR_MODULE);
    CHECK("colour keys are checked", spc_color_by_parse("rainbow", &c) < 0);
    /* The scripts sit in CDATA sections: "]]>" in them would end the section early. */
    CHECK("the flame graph script never ends its CDATA section",
          strstr(spc_svg_flame_js, "]]>") == NULL && strstr(spc_svg_flame_css, "]]>") == NULL);
    CHECK("the heap chart script never ends its CDATA section",
          strstr(spc_svg_heap_js, "]]>") == NULL);
}

int main(void) {
    test_json();
    test_folded_and_xml();
    test_spill();
    test_intern();
    test_proto_gzip();
    test_output();
    test_names();
    (void)errno;
    return CHECK_DONE();
}

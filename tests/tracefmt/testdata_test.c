/* testdata_test.c: proves the reader makes of every file in testdata/good and testdata/bad exactly
 * what its .expect file says: open status and error text naming the file, warnings, header and
 * frame fields, every event, and the stats. The files come from make_testdata.c.
 * Expect lines: "open: S[|S]", "message: <text in the open error>", "last: S", "warning: <text in
 * some warning>", "warnings: N", "header: <line>", "frame: <line>" (frame ids 1, 2, ... in order),
 * "event: <line>" (every event in order), "stat <field>: N", "stat-min <field>: N" (at least N).
 * '#' starts a comment. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "tests/check.h"
#include "tests/tracefmt/tracecheck.h"
#include "tracefmt/sptrace.h"

#define MAX_LINES 256

typedef struct {
    char *open;
    char *message;
    char *last;
    char *warning[8];
    int n_warning;
    long warnings; /* -1 = not checked */
    char *header;
    char *frame[32];
    int n_frame;
    char *event[MAX_LINES];
    int n_event;
    char *stat_name[16];
    unsigned long long stat_value[16];
    int stat_is_min[16]; /* "stat-min": at least the value */
    int n_stat;
} expectation;

static const struct {
    const char *name;
    spt_status status;
} status_names[] = {
    {"SPT_OK", SPT_OK},
    {"SPT_END", SPT_END},
    {"SPT_E_IO", SPT_E_IO},
    {"SPT_E_BAD_MAGIC", SPT_E_BAD_MAGIC},
    {"SPT_E_VERSION", SPT_E_VERSION},
    {"SPT_E_TRUNCATED", SPT_E_TRUNCATED},
    {"SPT_E_CORRUPT", SPT_E_CORRUPT},
    {"SPT_E_NOMEM", SPT_E_NOMEM},
    {"SPT_E_LIMIT", SPT_E_LIMIT},
    {"SPT_E_USAGE", SPT_E_USAGE},
    {"SPT_E_COMPRESS", SPT_E_COMPRESS},
};

static const char *status_text(spt_status st) {
    for (size_t i = 0; i < sizeof status_names / sizeof status_names[0]; i++) {
        if (status_names[i].status == st) {
            return status_names[i].name;
        }
    }
    return "?";
}

/* "SPT_E_LIMIT|SPT_E_CORRUPT" contains st? */
static int status_in(const char *alternatives, spt_status st) {
    const char *name = status_text(st);
    size_t n = strlen(name);
    for (const char *p = alternatives; p && *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0) {
            return 1;
        }
        p = bar ? bar + 1 : NULL;
    }
    return 0;
}

static char *dup_line(const char *s) {
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    memcpy(d, s, n + 1);
    return d;
}

static int parse_expect(const char *path, expectation *e) {
    memset(e, 0, sizeof *e);
    e->warnings = -1;
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *v = strstr(line, ": ");
        if (line[0] == '#' || line[0] == '\0' || v == NULL) {
            continue;
        }
        *v = '\0';
        v += 2;
        if (strcmp(line, "open") == 0) {
            e->open = dup_line(v);
        } else if (strcmp(line, "message") == 0) {
            e->message = dup_line(v);
        } else if (strcmp(line, "last") == 0) {
            e->last = dup_line(v);
        } else if (strcmp(line, "warning") == 0 && e->n_warning < 8) {
            e->warning[e->n_warning++] = dup_line(v);
        } else if (strcmp(line, "warnings") == 0) {
            e->warnings = strtol(v, NULL, 10);
        } else if (strcmp(line, "header") == 0) {
            e->header = dup_line(v);
        } else if (strcmp(line, "frame") == 0 && e->n_frame < 32) {
            e->frame[e->n_frame++] = dup_line(v);
        } else if (strcmp(line, "event") == 0 && e->n_event < MAX_LINES) {
            e->event[e->n_event++] = dup_line(v);
        } else if ((strncmp(line, "stat ", 5) == 0 || strncmp(line, "stat-min ", 9) == 0) &&
                   e->n_stat < 16) {
            e->stat_is_min[e->n_stat] = line[4] == '-';
            e->stat_name[e->n_stat] = dup_line(strchr(line, ' ') + 1);
            e->stat_value[e->n_stat++] = strtoull(v, NULL, 10);
        } else {
            fprintf(stderr, "%s: unknown line '%s'\n", path, line);
            fclose(f);
            return -1;
        }
    }
    fclose(f);
    return 0;
}

static void free_expect(expectation *e) {
    free(e->open);
    free(e->message);
    free(e->last);
    free(e->header);
    for (int i = 0; i < e->n_warning; i++) {
        free(e->warning[i]);
    }
    for (int i = 0; i < e->n_frame; i++) {
        free(e->frame[i]);
    }
    for (int i = 0; i < e->n_event; i++) {
        free(e->event[i]);
    }
    for (int i = 0; i < e->n_stat; i++) {
        free(e->stat_name[i]);
    }
}

static unsigned long long stat_field(const spt_reader_stats *s, const char *name, int *known) {
    const struct {
        const char *name;
        unsigned long long value;
    } fields[] = {
        {"chunks", s->chunks},
        {"damaged_chunks", s->damaged_chunks},
        {"truncated", (unsigned long long)s->truncated},
        {"truncated_bytes", s->truncated_bytes},
        {"ended_cleanly", (unsigned long long)s->ended_cleanly},
        {"unknown_records", s->unknown_records},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        if (strcmp(name, fields[i].name) == 0) {
            *known = 1;
            return fields[i].value;
        }
    }
    *known = 0;
    return 0;
}

static int starts_with(const char *s, const char *prefix) {
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Reads one file and checks it against its expectation. */
static void check_file(const char *trace_path, const expectation *e) {
    char what[1200], prefix[1100];
    snprintf(prefix, sizeof prefix, "%s: ", trace_path);
    tc_warnings warnings = {0};
    spt_reader_options ro;
    memset(&ro, 0, sizeof ro);
    ro.warn = tc_warn_collect;
    ro.warn_ctx = &warnings;
    spt_reader *r = NULL;
    spt_status st = spt_reader_open(trace_path, &ro, &r);
    snprintf(what, sizeof what, "%s opens with status %s", trace_path, e->open);
    CHECK(what, status_in(e->open, st));
    if (!status_in(e->open, st)) {
        fprintf(stderr, "  got %s: %s\n", status_text(st), spt_reader_error(r));
    }
    if (st != SPT_OK) {
        const char *msg = spt_reader_error(r);
        snprintf(what, sizeof what, "%s: the open error names the file: '%s'", trace_path, msg);
        CHECK(what, starts_with(msg, prefix));
        snprintf(what, sizeof what, "%s: the open error '%s' says '%s'", trace_path, msg,
                 e->message ? e->message : "");
        CHECK(what, e->message == NULL || strstr(msg, e->message) != NULL);
        CHECK("an open error is one line", strchr(msg, '\n') == NULL);
        spt_reader_close(r);
        tc_warnings_free(&warnings);
        return;
    }

    char buf[4096];
    if (e->header) {
        tc_header_render(spt_reader_header(r), buf, sizeof buf);
        snprintf(what, sizeof what, "%s: header fields read as written", trace_path);
        CHECK(what, strcmp(buf, e->header) == 0);
        if (strcmp(buf, e->header) != 0) {
            fprintf(stderr, "  expected %s\n  got      %s\n", e->header, buf);
        }
    }
    int n_events = 0, events_ok = 1;
    spt_event ev;
    while ((st = spt_reader_next(r, &ev)) == SPT_OK) {
        tc_event_render(r, &ev, buf, sizeof buf);
        if (n_events < e->n_event && strcmp(buf, e->event[n_events]) != 0 && events_ok) {
            fprintf(stderr, "%s: event %d\n  expected %s\n  got      %s\n", trace_path, n_events,
                    e->event[n_events], buf);
            events_ok = 0;
        } else if (n_events >= e->n_event && events_ok) {
            fprintf(stderr, "%s: unexpected event %d: %s\n", trace_path, n_events, buf);
            events_ok = 0;
        }
        n_events++;
    }
    snprintf(what, sizeof what, "%s: reading ends with %s", trace_path,
             e->last ? e->last : "SPT_END");
    CHECK(what, status_in(e->last ? e->last : "SPT_END", st));
    if (!status_in(e->last ? e->last : "SPT_END", st)) {
        fprintf(stderr, "  got %s: %s\n", status_text(st), spt_reader_error(r));
    }
    snprintf(what, sizeof what, "%s: every event reads as expected, in order", trace_path);
    CHECK(what, events_ok);
    snprintf(what, sizeof what, "%s: event count", trace_path);
    CHECK_EQ_U64(what, n_events, e->n_event);

    for (int i = 0; i < e->n_frame; i++) {
        tc_frame_render(r, (uint32_t)(i + 1), buf, sizeof buf);
        snprintf(what, sizeof what, "%s: frame %d reads as written", trace_path, i + 1);
        CHECK(what, strcmp(buf, e->frame[i]) == 0);
        if (strcmp(buf, e->frame[i]) != 0) {
            fprintf(stderr, "  expected %s\n  got      %s\n", e->frame[i], buf);
        }
    }
    if (e->n_frame) {
        snprintf(what, sizeof what, "%s: frame count", trace_path);
        CHECK_EQ_U64(what, spt_reader_frame_count(r), e->n_frame);
    }

    const spt_reader_stats *s = spt_reader_get_stats(r);
    for (int i = 0; i < e->n_stat; i++) {
        int known;
        unsigned long long v = stat_field(s, e->stat_name[i], &known);
        snprintf(what, sizeof what, "%s: stats.%s", trace_path, e->stat_name[i]);
        CHECK(what, known);
        if (e->stat_is_min[i]) {
            snprintf(what, sizeof what, "%s: stats.%s is at least %llu (got %llu)", trace_path,
                     e->stat_name[i], e->stat_value[i], v);
            CHECK(what, v >= e->stat_value[i]);
        } else {
            CHECK_EQ_U64(what, v, e->stat_value[i]);
        }
    }

    for (int i = 0; i < e->n_warning; i++) {
        snprintf(what, sizeof what, "%s: a warning says '%s'", trace_path, e->warning[i]);
        CHECK(what, tc_warnings_find(&warnings, e->warning[i]) >= 0);
    }
    if (e->warnings >= 0) {
        snprintf(what, sizeof what, "%s: number of warnings", trace_path);
        CHECK_EQ_U64(what, warnings.n, e->warnings);
    }
    for (size_t i = 0; i < warnings.n; i++) {
        snprintf(what, sizeof what, "%s: warning '%s' is one line naming the file", trace_path,
                 warnings.items[i]);
        CHECK(what, starts_with(warnings.items[i], prefix) && !strchr(warnings.items[i], '\n'));
    }
    if (check_failed_count) {
        for (size_t i = 0; i < warnings.n; i++) {
            fprintf(stderr, "  warning: %s\n", warnings.items[i]);
        }
    }
    spt_reader_close(r);
    tc_warnings_free(&warnings);
}

static int by_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Checks every <name>.expect in dir; returns how many. */
static int check_dir(const char *dir) {
    DIR *d = opendir(dir);
    CHECK("the testdata directory can be listed", d != NULL);
    if (d == NULL) {
        perror(dir);
        return 0;
    }
    char *names[256];
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && n < 256) {
        size_t len = strlen(de->d_name);
        if (len > 7 && strcmp(de->d_name + len - 7, ".expect") == 0) {
            names[n++] = dup_line(de->d_name);
        }
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], by_name);
    for (int i = 0; i < n; i++) {
        char expect_path[1024], trace_path[1024];
        snprintf(expect_path, sizeof expect_path, "%s/%s", dir, names[i]);
        snprintf(trace_path, sizeof trace_path, "%s/%.*s.sptrace", dir, (int)(strlen(names[i]) - 7),
                 names[i]);
        expectation e;
        int parsed = parse_expect(expect_path, &e) == 0 && e.open != NULL;
        CHECK("every .expect file parses and says how the file opens", parsed);
        if (parsed) {
            int before = check_failed_count;
            check_file(trace_path, &e);
            printf("%-50s %s\n", trace_path, check_failed_count == before ? "ok" : "FAILED");
        }
        free_expect(&e);
        free(names[i]);
    }
    return n;
}

int main(int argc, char **argv) {
    const char *root = argc > 1 ? argv[1] : "testdata";
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/good", root);
    int good = check_dir(dir);
    snprintf(dir, sizeof dir, "%s/bad", root);
    int bad = check_dir(dir);
    CHECK("testdata/good has golden files", good >= 3);
    CHECK("testdata/bad has golden files", bad >= 10);

    /* A file that does not exist: SPT_E_IO with the path and strerror. */
    spt_reader *r = NULL;
    spt_status st = spt_reader_open("/nonexistent/dir/x.sptrace", NULL, &r);
    CHECK("opening a missing file fails with SPT_E_IO", st == SPT_E_IO);
    CHECK("the error names the missing file",
          starts_with(spt_reader_error(r), "/nonexistent/dir/x.sptrace: "));
    CHECK("the error carries strerror", strstr(spt_reader_error(r), "No such file") != NULL);
    spt_reader_close(r);
    return CHECK_DONE();
}

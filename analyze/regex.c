/* regex.c: --focus and --ignore patterns (POSIX <regex.h>, REG_EXTENDED). A frame matches when the
 * pattern matches its function name, its source file or its module's path. Callers evaluate each
 * unique frame once and remember the answer; nothing here runs per sample. */
#define _POSIX_C_SOURCE 200809L
#include "analyze/model.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct spa_regex {
    regex_t re;
    char *pattern;
};

int spa_regex_compile(const char *pattern, spa_regex **out, char *err, size_t err_size) {
    *out = NULL;
    spa_regex *re = calloc(1, sizeof *re);
    char *copy = strdup(pattern);
    if (!re || !copy) {
        free(re);
        free(copy);
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    int rc = regcomp(&re->re, pattern, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        regerror(rc, &re->re, err, err_size);
        free(re);
        free(copy);
        return -1;
    }
    re->pattern = copy;
    *out = re;
    return 0;
}

void spa_regex_free(spa_regex *re) {
    if (!re)
        return;
    regfree(&re->re);
    free(re->pattern);
    free(re);
}

const char *spa_regex_pattern(const spa_regex *re) {
    return re->pattern;
}

/* Reader strings are NUL-terminated; one holding a NUL byte is matched up to it. */
static int matches(const spa_regex *re, const char *s) {
    return s && *s && regexec(&re->re, s, 0, NULL, 0) == 0;
}

int spa_regex_frame_matches(const spa_regex *re, const spt_reader *r, uint32_t frame) {
    const spt_frame *fr = spt_reader_frame(r, frame);
    if (!fr)
        return 0;
    if (matches(re, spt_reader_string(r, fr->function)) ||
        matches(re, spt_reader_string(r, fr->file)))
        return 1;
    /* C++ functions match by their readable name too, as the reports show them. */
    char *readable =
        spa_demangle(spt_reader_string(r, fr->function), spt_reader_string_len(r, fr->function));
    int readable_matches = readable && matches(re, readable);
    free(readable);
    if (readable_matches)
        return 1;
    const spt_mapping *map = fr->mapping ? spt_reader_mapping(r, fr->mapping) : NULL;
    return map && matches(re, spt_reader_string(r, map->path));
}

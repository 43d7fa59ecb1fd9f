/* testlib_folded.c: convert's test readers for folded stacks ("root;child;leaf COUNT" lines): the
 * count of one stack, and whether a whole export is well-formed and sorted (testlib.h). */
#include "convert/testlib.h"

#include <stdlib.h>
#include <string.h>

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

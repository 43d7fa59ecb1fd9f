/* demangle.c: C++ (Itanium ABI) names made readable, as perf and py-spy show them. Traces keep
 * the linkage names the symbol tables hold ("_ZN4llvm11InlinerPass3run..."); the analyser and
 * the exporters show "llvm::InlinerPass::run(...)". libstdc++'s own demangler does the work. */
#include <stdlib.h>
#include <string.h>

#include "analyze/model.h"

/* libstdc++'s, declared here because <cxxabi.h> is C++ only. */
char *__cxa_demangle(const char *mangled, char *out, size_t *length, int *status);

char *spa_demangle(const char *name, size_t len) {
    /* "_Z" starts every Itanium-mangled name; C names and Python functions never do, so they
     * cost one comparison. Names with a NUL inside cannot be passed on. */
    if (name == NULL || len < 3 || name[0] != '_' || name[1] != 'Z' ||
        memchr(name, '\0', len) != NULL) {
        return NULL;
    }
    char *copy = malloc(len + 1);
    if (copy == NULL) {
        return NULL;
    }
    memcpy(copy, name, len);
    copy[len] = '\0';
    int status = -1;
    char *readable = __cxa_demangle(copy, NULL, NULL, &status);
    free(copy);
    if (status != 0) {
        free(readable);
        return NULL;
    }
    return readable;
}

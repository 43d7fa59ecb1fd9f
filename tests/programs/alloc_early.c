/* alloc_early.c: allocates before any constructor runs (from .preinit_array, which ld.so runs
 * before the constructors of every shared object, the preloaded recorder's included), then
 * frees one of those blocks, reallocates another and keeps the third, and leaks one block of
 * its own. The malloc hooks must pass everything through before the recorder starts, and the
 * trace must show neither the early blocks nor a FREE of one. Prints "early <name> <address>"
 * and "leak <address> <size>" lines with write(2), so stdio keeps no buffer of its own
 * allocated; exits with status 0. */
#define _GNU_SOURCE /* strdup */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *early_kept, *early_freed, *early_grown;

static void early(int argc, char **argv, char **envp) {
    (void)argc, (void)argv, (void)envp;
    early_kept = malloc(111);
    early_freed = calloc(1, 222);
    early_grown = strdup("grown from a pre-init block");
}

__attribute__((section(".preinit_array"), used)) static void (*run_early)(int, char **,
                                                                          char **) = early;

static void say(const char *what, const void *p, size_t size) {
    char line[96];
    int n = snprintf(line, sizeof line, "%s %llu %zu\n", what, (unsigned long long)(uintptr_t)p,
                     size);
    if (write(1, line, (size_t)n) != n) {
        _exit(3);
    }
}

int main(void) {
    if (early_kept == NULL || early_freed == NULL || early_grown == NULL) {
        return 1;
    }
    memset(early_kept, 1, 111);
    say("early kept", early_kept, 111);
    say("early freed", early_freed, 222);
    say("early grown", early_grown, 28);
    free(early_freed);
    early_grown = realloc(early_grown, 100000); /* moves: the old block is freed, unrecorded */
    say("leak", early_grown, 100000);
    char *late = malloc(444);
    memset(late, 2, 444);
    say("leak", late, 444);
    return strcmp(early_grown, "grown from a pre-init block") == 0 ? 0 : 2;
}

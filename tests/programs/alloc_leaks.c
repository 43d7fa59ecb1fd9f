/* alloc_leaks.c: leaks exactly eight blocks, from four known functions, and frees everything
 * else it allocates through every interposed function (malloc, calloc, realloc, reallocarray,
 * posix_memalign, aligned_alloc, memalign, valloc, pvalloc, strdup). It prints one line per
 * leaked block, "leak <address> <size> <function>", with write(2) and a stack buffer: stdio
 * would leave its own buffer allocated, and the set of live blocks at exit must be exactly the
 * leaks. Exits with status 0. */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Keeps the compiler from removing an allocation whose block is never used: GCC deletes
 * malloc/free pairs it can see through. */
static void escape(void *p) {
    __asm__ __volatile__("" : : "r"(p) : "memory");
}

static void say_leak(const void *p, size_t size, const char *function) {
    char line[128];
    int n = snprintf(line, sizeof line, "leak %llu %zu %s\n", (unsigned long long)(uintptr_t)p,
                     size, function);
    if (write(1, line, (size_t)n) != n) {
        _exit(3);
    }
}

/* Each leak comes from its own function so the test can check the stacks' innermost frames. */
__attribute__((noinline)) static void leak_malloc(void) {
    for (size_t i = 0; i < 3; i++) {
        size_t size = 1000 + i;
        void *p = malloc(size);
        memset(p, 'a', size);
        say_leak(p, size, "leak_malloc");
    }
}

__attribute__((noinline)) static void leak_calloc(void) {
    void *p = calloc(10, 77);
    escape(p);
    say_leak(p, 770, "leak_calloc");
}

__attribute__((noinline)) static void leak_realloc(void) {
    char *p = malloc(50);
    memset(p, 'r', 50);
    p = realloc(p, 5000); /* the first block is freed by the move (or grown in place) */
    say_leak(p, 5000, "leak_realloc");
    void *q = reallocarray(NULL, 7, 11);
    escape(q);
    say_leak(q, 77, "leak_realloc");
}

__attribute__((noinline)) static void leak_aligned(void) {
    void *p = NULL;
    if (posix_memalign(&p, 64, 4096) != 0) {
        _exit(4);
    }
    say_leak(p, 4096, "leak_aligned");
    void *q = aligned_alloc(256, 512);
    escape(q);
    say_leak(q, 512, "leak_aligned");
}

/* Temporaries: everything here is freed again, through each interposed function. */
__attribute__((noinline)) static void churn(void) {
    for (int round = 0; round < 2000; round++) {
        size_t n = 16 + (size_t)(round % 97) * 13;
        char *a = malloc(n);
        char *b = calloc(3, n);
        a = realloc(a, 2 * n);
        b = reallocarray(b, 2, n);
        void *c = NULL;
        if (posix_memalign(&c, 32, n) != 0) {
            _exit(5);
        }
        void *d = aligned_alloc(64, 128);
        void *e = memalign(128, n);
        void *f = valloc(100);
        void *g = pvalloc(100);
        char *h = strdup("spprof");
        escape(a), escape(b), escape(c), escape(d), escape(e), escape(f), escape(g), escape(h);
        h = realloc(h, 0); /* glibc frees h and returns NULL */
        free(h);
        free(a);
        free(b);
        free(c);
        free(d);
        free(e);
        free(f);
        free(g);
    }
    free(NULL);
}

int main(void) {
    churn();
    leak_malloc();
    leak_calloc();
    leak_realloc();
    leak_aligned();
    churn();
    return 0;
}

/* check.h: a tiny test helper in the manner of Redis's testhelp.h. Each check is a sentence:
 *   CHECK("reader rejects a chunk longer than the file", st == SPT_E_CORRUPT);
 * CHECK_DONE() prints "N passed, N failed" and returns the exit status for main(). */
#ifndef SPPROF_TESTS_CHECK_H
#define SPPROF_TESTS_CHECK_H

#include <stdio.h>

static int check_passed_count;
static int check_failed_count;

#define CHECK(description, condition)                                                          \
    do {                                                                                       \
        if (condition) {                                                                       \
            check_passed_count++;                                                              \
        } else {                                                                               \
            check_failed_count++;                                                              \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, (description));            \
        }                                                                                      \
    } while (0)

/* Like CHECK, but prints the two integers when they differ. */
#define CHECK_EQ_U64(description, actual, expected)                                            \
    do {                                                                                       \
        unsigned long long check_a_ = (unsigned long long)(actual);                            \
        unsigned long long check_e_ = (unsigned long long)(expected);                          \
        if (check_a_ == check_e_) {                                                            \
            check_passed_count++;                                                              \
        } else {                                                                               \
            check_failed_count++;                                                              \
            fprintf(stderr, "FAIL %s:%d: %s: got %llu, expected %llu\n", __FILE__, __LINE__,   \
                    (description), check_a_, check_e_);                                        \
        }                                                                                      \
    } while (0)

#define CHECK_DONE()                                                                           \
    (printf("%d passed, %d failed\n", check_passed_count, check_failed_count),                 \
     (check_failed_count == 0 && check_passed_count > 0) ? 0 : 1)

#endif /* SPPROF_TESTS_CHECK_H */

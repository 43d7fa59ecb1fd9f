/* reader_fuzz.h: the reader fuzz target, shared by libFuzzer (reader_fuzz) and the corpus replay
 * test (fuzz_replay_main.c). */
#ifndef SPPROF_TESTS_FUZZ_READER_FUZZ_H
#define SPPROF_TESTS_FUZZ_READER_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "tracefmt/sptrace.h"

/* What one input did, for the replay test's own checks. */
typedef struct {
    spt_status open_status;  /* spt_reader_open_memory's result */
    spt_status last_status;  /* what ended the read loop */
    uint64_t events;         /* events returned */
    uint64_t warnings;       /* warn callbacks */
    uint64_t damaged_chunks; /* from the stats */
    int truncated;           /* from the stats */
} reader_fuzz_summary;

/* Opens data with spt_reader_open_memory (64 MiB table cap), reads every event and resolves every
 * id it refers to, walking stacks to the root. Aborts with a message if the reader breaks one of
 * its documented promises (see reader_fuzz.c). */
void reader_fuzz_check(const uint8_t *data, size_t size, reader_fuzz_summary *out);

/* libFuzzer's entry point: reader_fuzz_check, summary discarded. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif /* SPPROF_TESTS_FUZZ_READER_FUZZ_H */

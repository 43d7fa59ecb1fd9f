/* make_corpus.c: writes the reader fuzzer's seed corpus: small valid traces of varied shapes made
 * with the real writer (many chunks, deep stacks, clean and unfinished ends) and cut copies.
 *   bazel run //tests/fuzz:make_corpus -- "$PWD/testdata/fuzz/reader"
 * Keeps the corpus under 1 MiB; the fuzzer adds its own finds to a copy (tests/fuzz/run_fuzz.sh).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/tracefmt/tracecheck.h"
#include "tests/tracefmt/tracegen.h"
#include "tests/tracekit.h"

static size_t g_total;

static void put(const char *dir, const char *name, const uint8_t *data, size_t size) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (tk_write_file(path, data, size) != 0) {
        perror(path);
        exit(2);
    }
    g_total += size;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: make_corpus <dir>\n");
        return 2;
    }
    const char *dir = argv[1];
    char tmp[1024], name[128];
    snprintf(tmp, sizeof tmp, "%s/.make_corpus.tmp", dir);
    for (int seed = 1; seed <= 16; seed++) {
        spt_header h = tg_default_header(seed % 3 ? 1000 : 1);
        spt_writer_options wo;
        memset(&wo, 0, sizeof wo);
        wo.chunk_bytes = seed % 4 == 0 ? 0 : 512u << (seed % 4);
        wo.segment_bytes = seed % 2 ? 128 : 0;
        spt_writer *w = NULL;
        if (spt_writer_open(tmp, &h, &wo, &w) != SPT_OK) {
            fprintf(stderr, "%s\n", spt_writer_error(w));
            return 1;
        }
        tg_model m;
        tg_model_init(&m, w);
        tg_gen_options go = {(uint64_t)seed * 7919, 20 + (size_t)seed * 8, 1 + (size_t)seed % 9,
                             (uint32_t)(1 + seed % 12), 0};
        tg_generate(&m, &go);
        spt_end end = tg_default_end();
        tg_close(&m, seed % 5 == 4 ? NULL : &end);
        tg_model_free(&m);
        size_t size = 0;
        uint8_t *data = (uint8_t *)tk_read_file(tmp, &size);
        snprintf(name, sizeof name, "trace_%02d.sptrace", seed);
        put(dir, name, data, size);
        if (seed % 3 == 0) { /* cut in the middle of the body */
            size_t cut = size / 2 + (size_t)seed;
            snprintf(name, sizeof name, "trace_%02d_cut_%zu.sptrace", seed, cut);
            put(dir, name, data, cut);
        }
        free(data);
    }
    unlink(tmp);
    printf("wrote the corpus to %s: %zu bytes\n", dir, g_total);
    return g_total < (1u << 20) ? 0 : 1;
}

/* fuzz_replay_main.c: replays every file of the given directories through the reader fuzz target,
 * so the seed corpus and golden files run under gcc and ASan without libFuzzer. Beyond the target's
 * own checks, files named *.sptrace under a "good" directory must read cleanly, and those under a
 * "bad" directory must fail to open or warn. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/check.h"
#include "tests/fuzz/reader_fuzz.h"
#include "tests/tracekit.h"

static int by_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static void replay_dir(const char *dir) {
    DIR *d = opendir(dir);
    char what[1200];
    snprintf(what, sizeof what, "%s can be listed", dir);
    CHECK(what, d != NULL);
    if (d == NULL) {
        return;
    }
    char *names[4096];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && n < 4096) {
        if (de->d_name[0] != '.') {
            names[n] = malloc(strlen(de->d_name) + 1);
            strcpy(names[n++], de->d_name);
        }
    }
    closedir(d);
    qsort(names, n, sizeof names[0], by_name);
    int good = ends_with(dir, "good"), bad = ends_with(dir, "bad");
    size_t replayed = 0, events = 0;
    for (size_t i = 0; i < n; i++) {
        char path[1100];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        size_t size = 0;
        uint8_t *data = (uint8_t *)tk_read_file(path, &size);
        if (data == NULL) {
            continue;
        }
        reader_fuzz_summary s;
        reader_fuzz_check(data, size, &s); /* aborts on a broken promise */
        replayed++;
        events += s.events;
        if (good && ends_with(names[i], ".sptrace")) {
            snprintf(what, sizeof what, "%s reads cleanly", path);
            CHECK(what, s.open_status == SPT_OK && s.last_status == SPT_END &&
                            s.damaged_chunks == 0 && !s.truncated && s.events > 0);
        }
        if (bad && ends_with(names[i], ".sptrace")) {
            snprintf(what, sizeof what, "%s fails to open or warns", path);
            CHECK(what, s.open_status != SPT_OK || s.warnings > 0);
        }
        free(data);
        free(names[i]);
    }
    printf("%s: replayed %zu files, %zu events\n", dir, replayed, events);
    snprintf(what, sizeof what, "%s holds files to replay", dir);
    CHECK(what, replayed > 0);
}

int main(int argc, char **argv) {
    CHECK("directories to replay are given", argc > 1);
    for (int i = 1; i < argc; i++) {
        struct stat sb;
        if (stat(argv[i], &sb) == 0 && S_ISREG(sb.st_mode)) { /* a single file, e.g. a crash */
            size_t size = 0;
            uint8_t *data = (uint8_t *)tk_read_file(argv[i], &size);
            reader_fuzz_summary s;
            reader_fuzz_check(data, size, &s);
            printf("%s: open %s, %llu events, %llu warnings\n", argv[i],
                   spt_status_name(s.open_status), (unsigned long long)s.events,
                   (unsigned long long)s.warnings);
            CHECK("the file replays", 1);
            free(data);
            continue;
        }
        replay_dir(argv[i]);
    }
    return CHECK_DONE();
}

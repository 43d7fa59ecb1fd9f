/* dl_user.c: loads a plugin (argv[1]) with dlopen five times, each time burning ~100 ms of CPU
 * in its plugin_work and unloading it with dlclose, while the recorder samples every 1 ms: a
 * sample taken inside dlopen or dlclose must not deadlock libunwind, and samples in the plugin
 * must be named. Exits 0 when every load worked. */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: dl_user PLUGIN\n");
        return 2;
    }
    uint64_t x = 1;
    for (int round = 0; round < 5; round++) {
        void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
        if (h == NULL) {
            fprintf(stderr, "dl_user: %s\n", dlerror());
            return 1;
        }
        uint64_t (*work)(uint64_t, uint64_t) =
            (uint64_t(*)(uint64_t, uint64_t))(uintptr_t)dlsym(h, "plugin_work");
        if (work == NULL) {
            return 1;
        }
        x = work(x, 60000000ull);
        dlclose(h);
    }
    printf("dl_user: 5 loads, checksum %016llx\n", (unsigned long long)x);
    return 0;
}

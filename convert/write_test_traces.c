/* write_test_traces.c: writes the test traces (the known trace, the known heap trace, the
 * awkward-names trace) into the directory given, for the shell tests. Test-only. */
#include <stdio.h>
#include <unistd.h>

#include "analyze/testutil.h"
#include "convert/testlib.h"

int main(int argc, char **argv) {
    if (argc != 2 || chdir(argv[1]) != 0) {
        fprintf(stderr, "usage: write_test_traces DIR\n");
        return 2;
    }
    if (tu_write_known_trace("known.sptrace", TU_END_CLEAN, 0) ||
        tu_write_heap_trace("heap.sptrace", 0) || ct_write_awkward_trace("names.sptrace"))
        return 1;
    return 0;
}

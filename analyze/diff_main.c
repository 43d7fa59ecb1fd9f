/* diff_main.c: spprof-diff BEFORE AFTER. One command, so the program is the command: the same
 * option parser, model and output helpers as spprof-analyze. Exit status: 0 answer given, 1 a
 * --fail-if-* gate tripped, 2 bad usage or a file that cannot be read. */
#define _POSIX_C_SOURCE 200809L
#include "analyze/cli.h"

#include <errno.h>
#include <string.h>

const char spa_prog[] = "spprof-diff";

static const spa_command diff_command = {
    "spprof-diff",
    "compares two traces function by function, honest about sampling noise",
    "[options] BEFORE AFTER",
    "For each function: its self and total share of each trace's total (or, with --absolute,\n"
    "its time or bytes), the change, and the change's 95% confidence interval. Rows are sorted\n"
    "by the largest change, self or total. A table follows for allocated bytes when both traces\n"
    "recorded allocations (or for the metric --metric names). Functions match on their name\n"
    "and source file (or module, without one); one found in a single trace still matches a\n"
    "same-named one found only in the other, so a renamed binary or a moved function matches.\n"
    "\n"
    "Noise: profiles are sampled. A share is k of n samples, so each trace's share gets a\n"
    "Wilson score interval and the change gets Newcombe's interval built from the two (method\n"
    "10, Statistics in Medicine 17:873-890, 1998). n is the raw samples for time; for\n"
    "allocations sampled every B bytes it is the bytes / B sample points, and for traces that\n"
    "record every allocation the allocations. With --absolute, counts are taken as Poisson\n"
    "(variance = count). A change whose interval holds 0 is marked '~': noise alone explains it.\n"
    "\n"
    "Gates for CI: --fail-if-slower PCT exits 1 when some function's self or total share of\n"
    "time grew by more than PCT points beyond the noise, that is when the low end of the\n"
    "interval of its change is above PCT (with --absolute: above PCT% of the before total).\n"
    "--fail-if-more-alloc PCT does the same for shares of allocated bytes. Each function that\n"
    "trips a gate gets one line on stderr.\n"
    "\n"
    "Works on full, aggregated and merged traces alike. Filters (--thread, --from, --to,\n"
    "--focus, --ignore) apply to both traces, as in spprof-analyze.\n",
    SPA_OPT_FORMAT | SPA_OPT_NO_COLOR | SPA_OPT_BY | SPA_OPT_LIMIT | SPA_OPT_FILTERS |
        SPA_OPT_METRIC | SPA_OPT_ABSOLUTE | SPA_OPT_GATES,
    2,
    2,
    spa_cmd_diff,
};

int main(int argc, char **argv) {
    spa_cli cli;
    int rc = spa_cli_parse(&diff_command, argc - 1, argv + 1, &cli);
    if (rc < 0)
        return SPA_EXIT_OK;
    if (rc > 0)
        return SPA_EXIT_USAGE;
    int status = spa_cmd_diff(&cli);
    spa_cli_free(&cli);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        spa_cli_error("standard output: %s", strerror(errno));
        return SPA_EXIT_USAGE;
    }
    return status;
}

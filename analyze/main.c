/* main.c: spprof-analyze, `spprof-analyze <command> [options] FILE`. The command table (names, help
 * and the options each accepts) and the exit status: 0 answer given, 2 bad usage or a file that
 * cannot be read or written (one line on stderr). Options are parsed in opts.c. */
#define _POSIX_C_SOURCE 200809L
#include "analyze/cli.h"
#include "convert/cmd.h"

#include <errno.h>
#include <string.h>

const char spa_prog[] = "spprof-analyze";

#define FILTER_HELP                                                                                \
    "Filters: --thread takes a kernel thread id or a thread name (a thread renamed later counts\n" \
    "whole if it ever bore the name); --from and --to take times since the trace started\n"        \
    "(1.5s, 250ms, 40us; a bare number is seconds); --focus keeps the stacks with a frame\n"       \
    "matching REGEX, --ignore splices matching frames out. REGEX is a POSIX extended regular\n"    \
    "expression matched against each frame's function name, source file and module path.\n"

#define METRIC_HELP                                                                                \
    "Metrics: cpu counts samples taken while the thread ran, wall every sample (the two are\n"     \
    "the same on a CPU-time trace), alloc-bytes and alloc-count the estimated bytes and\n"         \
    "allocations made, live-bytes the estimated bytes never freed. Without --metric a trace is\n"  \
    "shown by its clock (cpu, or wall for a wall-clock trace), or alloc-bytes if it has only\n"    \
    "allocations.\n"

static const spa_command commands[] = {
    {"info", "what a trace holds: header, duration, counts, sizes, and whether it ended cleanly",
     "[options] FILE",
     "Prints what was recorded (command, process, start time in the local time zone, clock and\n"
     "interval), the duration, samples and the CPU time they stand for, drops, threads, markers,\n"
     "allocations, chunks and sizes, and how the recording ended. With filters it also says\n"
     "what they select. A truncated trace is read up to where it ends, with a warning.\n",
     SPA_OPT_FORMAT | SPA_OPT_NO_COLOR | SPA_OPT_FILTERS, 1, 1, spa_cmd_info},
    {"top", "the flat profile: self and total share and samples per function", "[options] FILE",
     "Self counts the samples whose innermost frame is in a function; total counts the samples\n"
     "with the function anywhere on the stack, once per sample however deep it recurses.\n"
     "Samples are counted in sampling intervals (a sample that stands for timer overruns counts\n"
     "more than once), and time is samples x the sampling interval.\n"
     "\n"
     "Same-named functions from different files stay apart and are shown as 'name (file)'.\n"
     "Native frames without a symbol are shown as 'module+0xOFFSET' (offset in the file).\n"
     "\n" METRIC_HELP "\n" FILTER_HELP,
     SPA_OPT_FORMAT | SPA_OPT_NO_COLOR | SPA_OPT_BY | SPA_OPT_SORT | SPA_OPT_LIMIT |
         SPA_OPT_FILTERS | SPA_OPT_METRIC,
     1, 1, spa_cmd_top},
    {"tree", "the call tree, top-down or (--inverted) bottom-up", "[options] FILE",
     "Each line is a function called from the line above it, with its total (itself and what\n"
     "it calls) and self share. Children are sorted heaviest first; nodes below --min-percent\n"
     "of the total are folded into one '[N more]' line per parent. --inverted starts from the\n"
     "innermost functions and lists their callers below them; its 'self' is the share of\n"
     "stacks that start at that caller.\n"
     "\n"
     "JSON nests children inside their parent; CSV has one row per node with its depth and\n"
     "its path of functions joined by ';'.\n"
     "\n" METRIC_HELP "\n" FILTER_HELP,
     SPA_OPT_FORMAT | SPA_OPT_NO_COLOR | SPA_OPT_BY | SPA_OPT_FILTERS | SPA_OPT_METRIC |
         SPA_OPT_MIN_PERCENT | SPA_OPT_INVERTED,
     1, 1, spa_cmd_tree},
    {"threads", "per thread: samples, share, names, lifetime and hottest function",
     "[options] FILE",
     "One row per thread, heaviest first: kernel thread id, name (with earlier names after a\n"
     "rename), samples and their share, when the thread was first seen and when it ended\n"
     "('-' if it was still running), and the function with the most self samples in it.\n"
     "On a wall-clock trace the idle share says how much of its time the thread waited.\n"
     "\n" METRIC_HELP "\n" FILTER_HELP,
     SPA_OPT_FORMAT | SPA_OPT_NO_COLOR | SPA_OPT_BY | SPA_OPT_FILTERS | SPA_OPT_METRIC, 1, 1,
     spa_cmd_threads},
    {"heap", "the estimated live heap over time, its peak, and the sites holding it",
     "[options] FILE",
     "Replays allocations and frees to follow the estimated live heap: a timeline (the most\n"
     "live at any moment of each time slice), the peak and when it happened, and the\n"
     "allocation stacks holding the most memory at the peak, or at --at TIME. --csv and --json\n"
     "give the timeline for plotting. Memory grows with the allocations live at one time.\n"
     "\n"
     "Sampled traces are estimates: an allocation recorded with weight W stands for W bytes.\n"
     "With a time window the heap is still replayed from the start (so what was allocated\n"
     "earlier counts), but the timeline and the peak are limited to the window; --thread\n"
     "counts the allocations that thread made (from when it bore the name, for a rename).\n"
     "\n" FILTER_HELP,
     SPA_OPT_FORMAT | SPA_OPT_NO_COLOR | SPA_OPT_BY | SPA_OPT_LIMIT | SPA_OPT_FILTERS | SPA_OPT_AT,
     1, 1, spa_cmd_heap},
    {"leaks", "memory still live at the end, by allocation stack, largest first", "[options] FILE",
     "Groups the allocations never freed by their allocation stack and lists the largest first,\n"
     "with estimated bytes and counts (a sampled allocation of size S and weight W stands for\n"
     "W / S allocations). With a time window, only the window's allocations are considered.\n"
     "\n" FILTER_HELP,
     SPA_OPT_FORMAT | SPA_OPT_NO_COLOR | SPA_OPT_BY | SPA_OPT_LIMIT | SPA_OPT_FILTERS, 1, 1,
     spa_cmd_leaks},
    {"aggregate", "a smaller trace holding stack totals instead of individual samples",
     "[options] FILE -o OUT",
     "Writes OUT with one SAMPLE_TOTAL per thread, stack and idle state, and one ALLOC_TOTAL\n"
     "per thread and allocation stack (allocated and still-live estimates), and reports the\n"
     "compression ratio. Time order is given up: heap has no timeline on the result, but top,\n"
     "tree, threads, leaks and spprof-diff give the same answers on it. Threads, renames,\n"
     "markers, metadata, children and drops are kept. Filters make a smaller trace still.\n"
     "\n" FILTER_HELP,
     SPA_OPT_FORMAT | SPA_OPT_NO_COLOR | SPA_OPT_FILTERS | SPA_OPT_OUTPUT, 1, 1, spa_cmd_aggregate},
    {"merge", "one aggregated trace from several (a parent and its children, test shards)",
     "[options] FILE... -o OUT",
     "Writes OUT, an aggregated trace (see aggregate) holding every input's totals. Threads stay\n"
     "apart per input; times are aligned by each trace's start time. The header is the first\n"
     "input's. All inputs must share one sampling interval, so that samples mean the same time.\n"
     "\n" FILTER_HELP,
     SPA_OPT_FORMAT | SPA_OPT_NO_COLOR | SPA_OPT_FILTERS | SPA_OPT_OUTPUT, 1, SPA_MAX_FILES,
     spa_cmd_merge},
    {"flamegraph", "an interactive SVG flame graph (--diff: differential) of the profile",
     "[options] FILE -o OUT.svg   (or --diff BEFORE AFTER -o OUT.svg)",
     "The same flame graph as `spprof-convert -f svg`: self-contained (opens in any browser with\n"
     "no network), hover for a frame's share, click to zoom, Search highlights the frames\n"
     "matching a regular expression and shows the share they cover. --color-by module gives\n"
     "each module its own hue. With --diff BEFORE AFTER, AFTER's frames are coloured by how\n"
     "their share of each trace's total changed: red grew, blue shrank.\n"
     "\n" METRIC_HELP "\n" FILTER_HELP "\n" SPC_CMD_HELP,
     SPA_OPT_EXPORT_OUTPUT | SPA_OPT_BY | SPA_OPT_FILTERS | SPA_OPT_METRIC | SPA_OPT_SVG |
         SPA_OPT_DIFF,
     1, 2, spc_cmd_flamegraph},
    {"collapsed", "folded stacks for flamegraph.pl and inferno ('root;child;leaf COUNT')",
     "[options] FILE [-o OUT]",
     "The same folded stacks as `spprof-convert -f collapsed`, on standard output unless -o\n"
     "names a file: one line per stack, frames root-first, sorted, the metric's weight last\n"
     "(sampling intervals, bytes or allocations). --per-thread puts 'name/tid' first.\n"
     "\n" METRIC_HELP "\n" FILTER_HELP "\n" SPC_CMD_HELP,
     SPA_OPT_EXPORT_OUTPUT | SPA_OPT_BY | SPA_OPT_FILTERS | SPA_OPT_METRIC | SPA_OPT_PER_THREAD, 1,
     1, spc_cmd_collapsed},
};

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

static void print_general_help(FILE *f) {
    fprintf(f, "usage: %s <command> [options] FILE\n\nCommands:\n", spa_prog);
    /* The summaries start two columns after the longest name, whichever command that is. */
    int width = 0;
    for (size_t i = 0; i < N_ELEMS(commands); i++) {
        int len = (int)strlen(commands[i].name);
        width = len > width ? len : width;
    }
    for (size_t i = 0; i < N_ELEMS(commands); i++)
        fprintf(f, "  %-*s  %s\n", width, commands[i].name, commands[i].summary);
    fprintf(f,
            "\n'%s <command> --help' lists a command's options; spprof-diff compares two traces.\n"
            "Exit status: 0 answer given, 2 bad usage or a file that cannot be read or written.\n",
            spa_prog);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        spa_cli_error("missing command (see '%s --help')", spa_prog);
        return SPA_EXIT_USAGE;
    }
    const char *name = argv[1];
    int help = 0;
    if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0) {
        print_general_help(stdout);
        return SPA_EXIT_OK;
    }
    if (strcmp(name, "help") == 0) {
        if (argc < 3) {
            print_general_help(stdout);
            return SPA_EXIT_OK;
        }
        name = argv[2];
        help = 1;
    }
    const spa_command *c = NULL;
    for (size_t i = 0; i < N_ELEMS(commands); i++) {
        if (strcmp(commands[i].name, name) == 0)
            c = &commands[i];
    }
    if (!c) {
        spa_cli_error("unknown command '%s' (see '%s --help')", name, spa_prog);
        return SPA_EXIT_USAGE;
    }
    if (help) {
        spa_cli_print_help(stdout, c);
        return SPA_EXIT_OK;
    }

    spa_cli cli;
    int rc = spa_cli_parse(c, argc - 2, argv + 2, &cli);
    if (rc < 0)
        return SPA_EXIT_OK;
    if (rc > 0)
        return SPA_EXIT_USAGE;
    int status = c->run(&cli);
    spa_cli_free(&cli);
    /* A full disk or closed pipe must not look like a successful answer. */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        spa_cli_error("standard output: %s", strerror(errno));
        return SPA_EXIT_USAGE;
    }
    return status;
}

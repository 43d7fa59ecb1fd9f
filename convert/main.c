/* main.c: spprof-convert, `spprof-convert [options] FILE -f FORMAT -o OUT`: exports a trace to
 * the formats other viewers read (see docs/USAGE.md ("Exporting")), with the analyser's filters,
 * parsed by analyze/opts.c as every spprof-analyze command parses them. Exit status: 0 written, 2
 * bad usage or a file that cannot be read or written (one line on stderr). */
#include "convert/cmd.h"

#include <errno.h>
#include <string.h>

const char spa_prog[] = "spprof-convert";

#define FILTER_HELP                                                                                \
    "Exports what the filters select: --thread takes a kernel thread id or a thread name;\n"       \
    "--from and --to take times since the trace started (1.5s, 250ms; a bare number is\n"          \
    "seconds); --focus keeps the stacks with a frame matching REGEX, --ignore splices matching\n"  \
    "frames out (POSIX extended regular expressions, matched against each frame's function,\n"     \
    "source file and module path). --metric picks what is counted (cpu, wall, alloc-bytes,\n"      \
    "alloc-count, live-bytes; by default the trace's clock): speedscope then writes that one\n"    \
    "metric (by default time, with allocations as their own profiles), pprof makes it the\n"       \
    "default sample type (it carries every sample type the trace has). --by groups frames for\n"   \
    "speedscope, collapsed and svg; pprof keeps every frame.\n"                                    \
    "\n"

static const spa_command command = {
    "spprof-convert",
    "export a trace to speedscope, folded stacks, pprof or an SVG flame graph",
    "[options] FILE -o OUT   (svg: -f svg --diff BEFORE AFTER -o OUT)",
    FILTER_HELP SPC_CMD_HELP,
    SPA_OPT_EXPORT_FORMAT | SPA_OPT_EXPORT_OUTPUT | SPA_OPT_FILTERS | SPA_OPT_METRIC | SPA_OPT_BY |
        SPA_OPT_PER_THREAD | SPA_OPT_SVG | SPA_OPT_DIFF,
    1,
    2,
    spc_cmd_convert,
};

int main(int argc, char **argv) {
    spa_cli cli;
    int rc = spa_cli_parse(&command, argc - 1, argv + 1, &cli);
    if (rc < 0)
        return SPA_EXIT_OK;
    if (rc > 0)
        return SPA_EXIT_USAGE;
    int status = command.run(&cli);
    spa_cli_free(&cli);
    /* A full disk or closed pipe must not look like a successful export. */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        spa_cli_error("standard output: %s", strerror(errno));
        return SPA_EXIT_USAGE;
    }
    return status;
}

/* cmd.h: the export commands on the analyser's command line (analyze/cli.h), shared by
 * spprof-convert and by spprof-analyze's `flamegraph` and `collapsed`, so that every way of
 * exporting runs the one implementation: options checked against the format, OUT opened (refused
 * when it exists, unless --force), the trace converted, OUT committed or removed. */
#ifndef SPPROF_CONVERT_CMD_H
#define SPPROF_CONVERT_CMD_H

#include "analyze/cli.h"
#include "convert/convert.h"

/* The help paragraphs of the export commands: formats, names, files. */
#define SPC_CMD_HELP                                                                               \
    "Formats: speedscope is speedscope.app's JSON file (one profile per thread, samples in time\n" \
    "order, CPU time in nanoseconds; allocations as their own profiles in bytes). collapsed is\n"  \
    "folded stacks, 'root;child;leaf COUNT' per line, for flamegraph.pl and inferno. pprof is a\n" \
    "gzip-compressed profile.proto for `go tool pprof`. svg is an interactive flame graph that\n"  \
    "opens in any browser (click to zoom, Search, Reset Zoom); with --diff BEFORE AFTER it\n"      \
    "colours AFTER's frames by how their share changed (red grew, blue shrank). heap-svg\n"        \
    "charts the live heap over time.\n"                                                            \
    "\n"                                                                                           \
    "Names are escaped as each format needs: JSON \\u escapes, XML entities, ';' becomes ':'\n"    \
    "in folded stacks; control characters become Control Pictures where a format cannot hold\n"    \
    "them, and invalid UTF-8 bytes U+FFFD. OUT is written to a temporary file beside it and\n"     \
    "renamed when complete: a failed write leaves nothing behind. An existing OUT is replaced\n"   \
    "only with --force.\n"

/* spprof-convert: -f FORMAT (default speedscope), -o OUT required. Returns the exit status (0, or
 * 2 after printing one error line). */
int spc_cmd_convert(const spa_cli *cli);

/* spprof-analyze flamegraph: the SVG flame graph (--diff BEFORE AFTER: differential), -o OUT
 * required. */
int spc_cmd_flamegraph(const spa_cli *cli);

/* spprof-analyze collapsed: folded stacks, to -o OUT or standard output. */
int spc_cmd_collapsed(const spa_cli *cli);

#endif /* SPPROF_CONVERT_CMD_H */

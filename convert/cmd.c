/* cmd.c: the export commands behind spprof-convert and spprof-analyze's flamegraph and
 * collapsed. Checks what the command line asks for against the format, refuses to overwrite the
 * input or an existing OUT without --force, converts through spc_convert and commits OUT only
 * when everything was written. Every failure is one line on stderr and exit status 2. */
#define _POSIX_C_SOURCE 200809L
#include "convert/cmd.h"

#include <stdarg.h>
#include <string.h>

/* A usage error: "<prog>: <command>: <message>" (no command for spprof-convert itself). */
__attribute__((format(printf, 2, 3))) static int usage(const spa_cli *cli, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (strcmp(cli->command, spa_prog) == 0)
        spa_cli_error("%s", msg);
    else
        spa_cli_error("%s: %s", cli->command, msg);
    return SPA_EXIT_USAGE;
}

/* Checks the options against the format. Returns 0, or the exit status after the error. */
static int check(const spa_cli *cli, spc_format format, const char *output) {
    const char *name = spc_format_name(format);
    if (cli->diff && format != SPC_SVG)
        return usage(cli, "--diff makes a differential flame graph: it needs -f svg");
    if (cli->diff && cli->n_files != 2)
        return usage(cli, "--diff needs two traces, BEFORE and AFTER");
    if (!cli->diff && cli->n_files > 1)
        return usage(cli, "expected one FILE, but '%s' follows '%s' (--diff compares two)",
                     cli->files[1], cli->files[0]);
    if (cli->per_thread && format != SPC_COLLAPSED)
        return usage(cli, "--per-thread applies to collapsed, not %s", name);
    if (cli->color_by && format != SPC_SVG)
        return usage(cli, "--color-by applies to svg, not %s", name);
    if (cli->title && format != SPC_SVG && format != SPC_HEAP_SVG)
        return usage(cli, "--title applies to svg and heap-svg, not %s", name);
    if (cli->metric_set && format == SPC_HEAP_SVG)
        return usage(cli, "heap-svg always shows live bytes; --metric does not apply");
    if (!output)
        return usage(cli, "missing -o OUT, the file to write ('-' for standard output)");
    for (size_t i = 0; i < cli->n_files; i++) {
        if (strcmp(output, "-") != 0 && spa_same_file(cli->files[i], output))
            return usage(cli, "-o names the input trace %s; write the export elsewhere",
                         cli->files[i]);
    }
    return 0;
}

static int run(const spa_cli *cli, spc_format format, const char *output) {
    int rc = check(cli, format, output);
    if (rc)
        return rc;
    spc_options o = spc_options_default();
    o.format = format;
    o.by = cli->by;
    o.focus = cli->focus;
    o.ignore = cli->ignore;
    o.metric_set = cli->metric_set;
    o.metric = cli->metric;
    o.per_thread = cli->per_thread;
    if (cli->color_by)
        spc_color_by_parse(cli->color_by, &o.color_by);
    o.title = cli->title;

    char err[1024];
    spc_output *out;
    if (spc_output_open(output, cli->force, &out, err, sizeof err)) {
        spa_cli_error("%s", err);
        return SPA_EXIT_USAGE;
    }
    if (format == SPC_PPROF && spc_output_is_terminal(out)) {
        spc_output_abort(out);
        return usage(cli, "pprof is gzip-compressed binary data; not writing it to a terminal");
    }
    spa_model_options mo = spa_cli_model_options(cli, 0);
    spt_status st;
    if (cli->diff)
        st = spc_convert_diff(cli->files[0], cli->files[1], &mo, &o, spc_output_file(out), err,
                              sizeof err);
    else
        st = spc_convert(cli->file, &mo, &o, spc_output_file(out), err, sizeof err);
    if (st != SPT_OK) {
        spc_output_abort(out);
        spa_cli_error("%s", err);
        return SPA_EXIT_USAGE;
    }
    if (spc_output_commit(out, err, sizeof err)) {
        spa_cli_error("%s", err);
        return SPA_EXIT_USAGE;
    }
    return SPA_EXIT_OK;
}

int spc_cmd_convert(const spa_cli *cli) {
    spc_format format = SPC_SPEEDSCOPE;
    if (cli->export_format && spc_format_parse(cli->export_format, &format))
        return usage(cli,
                     "--format expects speedscope, collapsed, pprof, svg or heap-svg, not '%s'",
                     cli->export_format);
    return run(cli, format, cli->output);
}

int spc_cmd_flamegraph(const spa_cli *cli) {
    return run(cli, SPC_SVG, cli->output);
}

int spc_cmd_collapsed(const spa_cli *cli) {
    return run(cli, SPC_COLLAPSED, cli->output ? cli->output : "-");
}

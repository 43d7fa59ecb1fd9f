/* opts.c: the command line of every spprof-analyze command and of spprof-diff, parsed in one place
 * so that an option behaves the same wherever it is accepted: `--name VALUE` or `--name=VALUE`,
 * options and files in any order, `--` before files that start with a dash. Also the check that
 * keeps -o off the inputs, for the exports as well (spa_same_file). */
#define _POSIX_C_SOURCE 200809L
#include "analyze/cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef enum {
    O_BY,
    O_SORT,
    O_LIMIT,
    O_METRIC,
    O_MIN_PERCENT,
    O_INVERTED,
    O_AT,
    O_THREAD,
    O_FROM,
    O_TO,
    O_FOCUS,
    O_IGNORE,
    O_ABSOLUTE,
    O_FAIL_SLOWER,
    O_FAIL_ALLOC,
    O_OUTPUT,
    O_FORMAT,
    O_JSON,
    O_CSV,
    O_NO_COLOR,
    O_EXPORT_FORMAT,
    O_EXPORT_OUTPUT,
    O_FORCE,
    O_PER_THREAD,
    O_COLOR_BY,
    O_TITLE,
    O_DIFF
} opt_id;

typedef struct {
    opt_id id;
    unsigned bit;        /* SPA_OPT_* that enables it */
    const char *name;    /* "--by" */
    const char *alias;   /* "-o", or NULL */
    const char *value;   /* "KEY"; NULL for a flag */
    const char *expects; /* what a valid value looks like, for the error line */
    const char *help;
} option;

static const option options[] = {
    {O_BY, SPA_OPT_BY, "--by", NULL, "KEY", "function, file, line or module",
     "group frames by function, file, line or module (default: function)"},
    {O_SORT, SPA_OPT_SORT, "--sort", NULL, "KEY", "self or total",
     "sort by self or total (default: self)"},
    {O_LIMIT, SPA_OPT_LIMIT, "--limit", NULL, "N", "a whole number",
     "show the first N rows; 0 shows all (default: 20)"},
    {O_METRIC, SPA_OPT_METRIC, "--metric", NULL, "M",
     "cpu, wall, alloc-bytes, alloc-count or live-bytes",
     "cpu, wall, alloc-bytes, alloc-count or live-bytes (default: by the trace)"},
    {O_MIN_PERCENT, SPA_OPT_MIN_PERCENT, "--min-percent", NULL, "P", "a percentage from 0 to 100",
     "fold nodes below P% of the total into one line (default: 1)"},
    {O_INVERTED, SPA_OPT_INVERTED, "--inverted", NULL, NULL, NULL,
     "bottom-up: innermost functions first, their callers below"},
    {O_AT, SPA_OPT_AT, "--at", NULL, "TIME", "a time such as 1.5s or 250ms",
     "show the sites live at TIME instead of at the peak"},
    {O_THREAD, SPA_OPT_THREAD, "--thread", NULL, "ID|NAME", "a thread id or name",
     "only the thread with this kernel id or name"},
    {O_FROM, SPA_OPT_WINDOW, "--from", NULL, "TIME", "a time such as 1.5s or 250ms",
     "only events from TIME on (since the trace started)"},
    {O_TO, SPA_OPT_WINDOW, "--to", NULL, "TIME", "a time such as 3s or 2500ms",
     "only events before TIME"},
    {O_FOCUS, SPA_OPT_FOCUS, "--focus", NULL, "REGEX", "a regular expression",
     "only stacks through a frame matching REGEX"},
    {O_IGNORE, SPA_OPT_IGNORE, "--ignore", NULL, "REGEX", "a regular expression",
     "hide frames matching REGEX (their time goes to their caller)"},
    {O_ABSOLUTE, SPA_OPT_ABSOLUTE, "--absolute", NULL, NULL, NULL,
     "compare absolute time and bytes instead of shares of each trace's total"},
    {O_FAIL_SLOWER, SPA_OPT_GATES, "--fail-if-slower", NULL, "PCT", "a number of percentage points",
     "exit 1 if a function's share of time grew > PCT points beyond the noise"},
    {O_FAIL_ALLOC, SPA_OPT_GATES, "--fail-if-more-alloc", NULL, "PCT",
     "a number of percentage points", "the same for shares of allocated bytes"},
    {O_OUTPUT, SPA_OPT_OUTPUT, "--output", "-o", "OUT", "a file name", "write the trace to OUT"},
    {O_FORMAT, SPA_OPT_FORMAT, "--format", NULL, "FMT", "text, json or csv",
     "text, json or csv (default: text)"},
    {O_JSON, SPA_OPT_FORMAT, "--json", NULL, NULL, NULL, "same as --format json"},
    {O_CSV, SPA_OPT_FORMAT, "--csv", NULL, NULL, NULL, "same as --format csv"},
    {O_NO_COLOR, SPA_OPT_NO_COLOR, "--no-color", NULL, NULL, NULL,
     "never colour (colour is only used on a terminal, and not with NO_COLOR)"},
    {O_EXPORT_FORMAT, SPA_OPT_EXPORT_FORMAT, "--format", "-f", "FMT",
     "speedscope, collapsed, pprof, svg or heap-svg",
     "speedscope (default), collapsed, pprof, svg or heap-svg"},
    {O_EXPORT_OUTPUT, SPA_OPT_EXPORT_OUTPUT, "--output", "-o", "OUT", "a file name",
     "write to OUT ('-' for standard output)"},
    {O_FORCE, SPA_OPT_EXPORT_OUTPUT, "--force", NULL, NULL, NULL, "replace OUT if it exists"},
    {O_PER_THREAD, SPA_OPT_PER_THREAD, "--per-thread", NULL, NULL, NULL,
     "collapsed: the thread (name/tid) as the root frame"},
    {O_COLOR_BY, SPA_OPT_SVG, "--color-by", NULL, "KEY", "kind or module",
     "svg: colour frames by kind (Python, native) or by module (default: kind)"},
    {O_TITLE, SPA_OPT_SVG, "--title", NULL, "TEXT", "a title", "svg, heap-svg: the title"},
    {O_DIFF, SPA_OPT_DIFF, "--diff", NULL, NULL, NULL,
     "svg: a differential flame graph of BEFORE and AFTER"},
};

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* A usage error, "<prog>: <command>: <message>", without the command for spprof-diff, whose
 * one command is the program itself. */
__attribute__((format(printf, 2, 3))) static void usage_error(const char *command, const char *fmt,
                                                              ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (strcmp(command, spa_prog) == 0)
        spa_cli_error("%s", msg);
    else
        spa_cli_error("%s: %s", command, msg);
}

/* The left column of an option's help line: "-o, --output OUT". Returns its length. */
static int option_left(const option *o, char *buf, size_t size) {
    return snprintf(buf, size, "%s%s%s%s%s", o->alias ? o->alias : "", o->alias ? ", " : "",
                    o->name, o->value ? " " : "", o->value ? o->value : "");
}

void spa_cli_print_help(FILE *f, const spa_command *c) {
    if (strcmp(c->name, spa_prog) == 0)
        fprintf(f, "usage: %s %s\n\n%s: %s.\n\nOptions:\n", spa_prog, c->usage, spa_prog,
                c->summary);
    else
        fprintf(f, "usage: %s %s %s\n\n%s: %s.\n\nOptions:\n", spa_prog, c->name, c->usage, c->name,
                c->summary);
    /* The help texts start two columns after the longest option this command takes. */
    static const char help_left[] = "-h, --help";
    int width = (int)sizeof help_left - 1;
    char left[48];
    for (size_t i = 0; i < N_ELEMS(options); i++) {
        int len = option_left(&options[i], left, sizeof left);
        if ((c->options & options[i].bit) && len > width)
            width = len;
    }
    for (size_t i = 0; i < N_ELEMS(options); i++) {
        if (!(c->options & options[i].bit))
            continue;
        option_left(&options[i], left, sizeof left);
        fprintf(f, "  %-*s  %s\n", width, left, options[i].help);
    }
    fprintf(f, "  %-*s  %s\n\n%s", width, help_left, "show this help", c->help);
}

static int parse_u64(const char *text, uint64_t *out) {
    if (*text < '0' || *text > '9')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

/* A non-negative finite number, up to `max`. */
static int parse_number(const char *text, double max, double *out) {
    if (!((*text >= '0' && *text <= '9') || *text == '.'))
        return -1;
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || *end || !isfinite(v) || v < 0 || v > max)
        return -1;
    *out = v;
    return 0;
}

static int compile(spa_cli *cli, const option *o, const char *value, spa_regex **out) {
    char err[256];
    spa_regex_free(*out);
    *out = NULL;
    if (spa_regex_compile(value, out, err, sizeof err) == 0)
        return 0;
    usage_error(cli->command, "%s: bad regular expression '%s': %s", o->name, value, err);
    return -1;
}

/* Applies one option's value; returns 0, or -1 after printing the usage error. */
static int apply(spa_cli *cli, const option *o, const char *value, int *no_color) {
    switch (o->id) {
    case O_BY:
        if (spa_group_by_parse(value, &cli->by) == 0)
            return 0;
        break;
    case O_SORT:
        if (strcmp(value, "self") == 0 || strcmp(value, "total") == 0) {
            cli->sort = value[0] == 's' ? SPA_SORT_SELF : SPA_SORT_TOTAL;
            return 0;
        }
        break;
    case O_LIMIT:
        if (parse_u64(value, &cli->limit) == 0)
            return 0;
        break;
    case O_METRIC:
        if (spa_metric_parse(value, &cli->metric) == 0) {
            cli->metric_set = 1;
            return 0;
        }
        break;
    case O_MIN_PERCENT:
        if (parse_number(value, 100, &cli->min_percent) == 0)
            return 0;
        break;
    case O_INVERTED:
        cli->inverted = 1;
        return 0;
    case O_AT:
        if (spa_parse_duration(value, &cli->at_ns) == 0) {
            cli->has_at = 1;
            return 0;
        }
        break;
    case O_THREAD:
        if (*value) {
            cli->thread = value;
            return 0;
        }
        break;
    case O_FROM:
        if (spa_parse_duration(value, &cli->from_ns) == 0) {
            cli->has_window = 1;
            return 0;
        }
        break;
    case O_TO:
        if (spa_parse_duration(value, &cli->to_ns) == 0 && cli->to_ns > 0) {
            cli->has_window = 1;
            return 0;
        }
        break;
    case O_FOCUS:
        return compile(cli, o, value, &cli->focus);
    case O_IGNORE:
        return compile(cli, o, value, &cli->ignore);
    case O_ABSOLUTE:
        cli->absolute = 1;
        return 0;
    case O_FAIL_SLOWER:
        if (parse_number(value, 100, &cli->fail_slower) == 0)
            return 0;
        break;
    case O_FAIL_ALLOC:
        if (parse_number(value, 100, &cli->fail_alloc) == 0)
            return 0;
        break;
    case O_OUTPUT:
        if (*value) {
            cli->output = value;
            return 0;
        }
        break;
    case O_FORMAT:
        if (strcmp(value, "text") == 0)
            cli->format = SPA_FORMAT_TEXT;
        else if (strcmp(value, "json") == 0)
            cli->format = SPA_FORMAT_JSON;
        else if (strcmp(value, "csv") == 0)
            cli->format = SPA_FORMAT_CSV;
        else
            break;
        return 0;
    case O_JSON:
        cli->format = SPA_FORMAT_JSON;
        return 0;
    case O_CSV:
        cli->format = SPA_FORMAT_CSV;
        return 0;
    case O_NO_COLOR:
        *no_color = 1;
        return 0;
    case O_EXPORT_FORMAT:
        if (*value) {
            cli->export_format = value;
            return 0;
        }
        break;
    case O_EXPORT_OUTPUT:
        if (*value) {
            cli->output = value;
            return 0;
        }
        break;
    case O_FORCE:
        cli->force = 1;
        return 0;
    case O_PER_THREAD:
        cli->per_thread = 1;
        return 0;
    case O_COLOR_BY:
        if (strcmp(value, "kind") == 0 || strcmp(value, "module") == 0) {
            cli->color_by = value;
            return 0;
        }
        break;
    case O_TITLE:
        cli->title = value;
        return 0;
    case O_DIFF:
        cli->diff = 1;
        return 0;
    }
    usage_error(cli->command, "%s expects %s, not '%s'", o->name, o->expects, value);
    return -1;
}

static int wants_color(const spa_cli *cli, int no_color) {
    if (no_color || cli->format != SPA_FORMAT_TEXT || !isatty(STDOUT_FILENO))
        return 0;
    const char *env = getenv("NO_COLOR"); /* https://no-color.org */
    if (env && *env)
        return 0;
    env = getenv("TERM");
    return !(env && strcmp(env, "dumb") == 0);
}

static const option *find_option(const spa_command *c, const char *arg, size_t name_len) {
    for (size_t k = 0; k < N_ELEMS(options); k++) {
        const option *o = &options[k];
        if (!(c->options & o->bit))
            continue;
        if ((strlen(o->name) == name_len && strncmp(o->name, arg, name_len) == 0) ||
            (o->alias && strlen(o->alias) == name_len && strncmp(o->alias, arg, name_len) == 0))
            return o;
    }
    return NULL;
}

/* The checks that need the whole command line. Returns 0, or 1 after printing the error. */
static int check_complete(const spa_command *c, spa_cli *cli, const char *extra) {
    if (extra) {
        if (c->max_files == 2)
            usage_error(c->name, "expected BEFORE and AFTER, but '%s' follows them", extra);
        else
            usage_error(c->name, "expected one FILE, but '%s' follows '%s'", extra, cli->files[0]);
        return 1;
    }
    if (cli->n_files < c->min_files) {
        if (c->min_files == 2)
            usage_error(c->name, "expected two traces, BEFORE and AFTER (see '%s --help')",
                        spa_prog);
        else if (strcmp(c->name, spa_prog) == 0)
            usage_error(c->name, "missing FILE (see '%s --help')", spa_prog);
        else
            usage_error(c->name, "missing FILE (see '%s %s --help')", spa_prog, c->name);
        return 1;
    }
    if ((c->options & SPA_OPT_OUTPUT) && !cli->output) {
        usage_error(c->name, "missing -o OUT, the trace to write");
        return 1;
    }
    if (cli->to_ns && cli->to_ns <= cli->from_ns) {
        usage_error(c->name, "--to must be later than --from");
        return 1;
    }
    return 0;
}

int spa_cli_parse(const spa_command *c, int argc, char **argv, spa_cli *cli) {
    int no_color = 0;
    int only_files = 0;
    const char *extra = NULL;
    memset(cli, 0, sizeof *cli);
    cli->command = c->name;
    cli->limit = 20;
    cli->min_percent = 1.0;
    cli->fail_slower = cli->fail_alloc = -1;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (only_files || arg[0] != '-' || arg[1] == '\0') {
            if (cli->n_files < c->max_files && cli->n_files < SPA_MAX_FILES)
                cli->files[cli->n_files++] = arg;
            else if (!extra)
                extra = arg;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            only_files = 1;
            continue;
        }
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            spa_cli_print_help(stdout, c);
            spa_cli_free(cli);
            return -1;
        }
        const char *eq = strchr(arg, '=');
        size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
        const option *o = find_option(c, arg, name_len);
        if (!o) {
            if (strcmp(c->name, spa_prog) == 0)
                usage_error(c->name, "unknown option '%.*s' (see '%s --help')", (int)name_len, arg,
                            spa_prog);
            else
                usage_error(c->name, "unknown option '%.*s' (see '%s %s --help')", (int)name_len,
                            arg, spa_prog, c->name);
            spa_cli_free(cli);
            return 1;
        }
        const char *value = NULL;
        if (o->value) {
            if (eq) {
                value = eq + 1;
            } else if (i + 1 < argc) {
                value = argv[++i];
            } else {
                usage_error(c->name, "%s needs a value: %s", o->name, o->expects);
                spa_cli_free(cli);
                return 1;
            }
        } else if (eq) {
            usage_error(c->name, "%s takes no value", o->name);
            spa_cli_free(cli);
            return 1;
        }
        if (apply(cli, o, value, &no_color)) {
            spa_cli_free(cli);
            return 1;
        }
    }
    if (check_complete(c, cli, extra)) {
        spa_cli_free(cli);
        return 1;
    }
    cli->file = cli->files[0];
    cli->color = wants_color(cli, no_color);
    return 0;
}

void spa_cli_free(spa_cli *cli) {
    spa_regex_free(cli->focus);
    spa_regex_free(cli->ignore);
    cli->focus = cli->ignore = NULL;
}

int spa_same_file(const char *a, const char *b) {
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

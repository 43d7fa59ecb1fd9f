/* main.c: spprof-analyze, `spprof-analyze <command> [options] FILE`. Parses the options every
 * command shares in one place, so they behave the same everywhere, and owns the exit status:
 * 0 answer given, 2 bad usage or unreadable file (one line on stderr). */
#define _POSIX_C_SOURCE 200809L
#include "analyze/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char prog[] = "spprof-analyze";

typedef struct {
    const char *name;
    const char *summary; /* one line for the command list */
    const char *help;    /* the paragraphs `<command> --help` ends with */
    unsigned options;    /* SPA_OPT_* */
    int (*run)(const spa_cli *cli);
} command;

static const command commands[] = {
    {"info", "what a trace holds: header, duration, counts, sizes, and whether it ended cleanly",
     "Prints what was recorded (command, process, start time in the local time zone, clock and\n"
     "interval), the duration, samples and the CPU time they stand for, drops, threads, markers,\n"
     "allocations, chunks and sizes, and how the recording ended. A truncated trace is read up\n"
     "to where it ends, with a warning.\n",
     SPA_OPT_FORMAT | SPA_OPT_NO_COLOR, spa_cmd_info},
    {"top", "the flat profile: self and total share and samples per function",
     "Self counts the samples whose innermost frame is in a function; total counts the samples\n"
     "with the function anywhere on the stack, once per sample however deep it recurses.\n"
     "Samples are counted in sampling intervals (a sample that stands for timer overruns counts\n"
     "more than once), and time is samples x the sampling interval.\n"
     "\n"
     "Same-named functions from different files stay apart and are shown as 'name (file)'.\n"
     "Native frames without a symbol are shown as 'module+0xOFFSET' (offset in the file).\n",
     SPA_OPT_FORMAT | SPA_OPT_NO_COLOR | SPA_OPT_BY | SPA_OPT_SORT | SPA_OPT_LIMIT, spa_cmd_top},
};

typedef struct {
    unsigned bit;
    const char *name;
    const char *value;   /* NULL for a flag */
    const char *expects; /* what a valid value looks like, for the error line */
    const char *help;
} option;

static const option options[] = {
    {SPA_OPT_BY, "--by", "KEY", "function, file, line or module",
     "group frames by function, file, line or module (default: function)"},
    {SPA_OPT_SORT, "--sort", "KEY", "self or total", "sort by self or total (default: self)"},
    {SPA_OPT_LIMIT, "--limit", "N", "a whole number",
     "show the first N rows; 0 shows all (default: 20)"},
    {SPA_OPT_FORMAT, "--format", "FMT", "text, json or csv", "text, json or csv (default: text)"},
    {SPA_OPT_NO_COLOR, "--no-color", NULL, NULL,
     "never colour the output (colour is used only on a terminal, and not with NO_COLOR set)"},
};

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

void spa_cli_error(const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* One line, whatever a file name or a library message holds. */
    for (char *p = msg; *p; p++) {
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    }
    fflush(stdout);
    fprintf(stderr, "%s: %s\n", prog, msg);
}

static void print_warning(void *ctx, const char *message) {
    (void)ctx;
    spa_cli_error("%s", message);
}

spa_model *spa_cli_load(const spa_cli *cli) {
    spa_model_options mo;
    memset(&mo, 0, sizeof mo);
    mo.warn = print_warning;
    spa_model *m;
    spt_status st = spa_model_load(cli->file, &mo, &m);
    if (st != SPT_OK) {
        spa_cli_error("%s", spa_model_error(m));
        spa_model_free(m);
        return NULL;
    }
    return m;
}

static void print_general_help(FILE *f) {
    fprintf(f, "usage: %s <command> [options] FILE\n\nCommands:\n", prog);
    for (size_t i = 0; i < N_ELEMS(commands); i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(f,
            "\n'%s <command> --help' lists a command's options.\n"
            "Exit status: 0 answer given, 2 bad usage or a file that cannot be read.\n",
            prog);
}

static void print_command_help(FILE *f, const command *c) {
    fprintf(f, "usage: %s %s [options] FILE\n\n%s: %s.\n\nOptions:\n", prog, c->name, c->name,
            c->summary);
    for (size_t i = 0; i < N_ELEMS(options); i++) {
        if (!(c->options & options[i].bit))
            continue;
        char left[32];
        snprintf(left, sizeof left, "%s%s%s", options[i].name, options[i].value ? " " : "",
                 options[i].value ? options[i].value : "");
        fprintf(f, "  %-16s %s\n", left, options[i].help);
    }
    fprintf(f, "  %-16s %s\n\n%s", "-h, --help", "show this help", c->help);
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

/* Applies one option's value; returns 0, or -1 after printing the usage error. */
static int apply(spa_cli *cli, const option *o, const char *value, int *no_color) {
    switch (o->bit) {
    case SPA_OPT_FORMAT:
        if (strcmp(value, "text") == 0)
            cli->format = SPA_FORMAT_TEXT;
        else if (strcmp(value, "json") == 0)
            cli->format = SPA_FORMAT_JSON;
        else if (strcmp(value, "csv") == 0)
            cli->format = SPA_FORMAT_CSV;
        else
            break;
        return 0;
    case SPA_OPT_NO_COLOR:
        *no_color = 1;
        return 0;
    case SPA_OPT_BY:
        if (spa_group_by_parse(value, &cli->by) == 0)
            return 0;
        break;
    case SPA_OPT_SORT:
        if (strcmp(value, "self") == 0)
            cli->sort = SPA_SORT_SELF;
        else if (strcmp(value, "total") == 0)
            cli->sort = SPA_SORT_TOTAL;
        else
            break;
        return 0;
    case SPA_OPT_LIMIT:
        if (parse_u64(value, &cli->limit) == 0)
            return 0;
        break;
    }
    spa_cli_error("%s: %s expects %s, not '%s'", cli->command, o->name, o->expects, value);
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

/* Parses argv[0..argc) (the arguments after the command name). Returns -1 to exit 0 (help was
 * printed), 0 to run, 1 after a usage error was printed. */
static int parse(const command *c, int argc, char **argv, spa_cli *cli) {
    int no_color = 0;
    int only_files = 0;
    const char *extra = NULL;
    memset(cli, 0, sizeof *cli);
    cli->command = c->name;
    cli->limit = 20;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (only_files || arg[0] != '-' || arg[1] == '\0') {
            if (!cli->file)
                cli->file = arg;
            else if (!extra)
                extra = arg;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            only_files = 1;
            continue;
        }
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            print_command_help(stdout, c);
            return -1;
        }
        const char *eq = strchr(arg, '=');
        size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
        const option *o = NULL;
        for (size_t k = 0; k < N_ELEMS(options); k++) {
            if ((c->options & options[k].bit) && strlen(options[k].name) == name_len &&
                strncmp(options[k].name, arg, name_len) == 0)
                o = &options[k];
        }
        if (!o) {
            spa_cli_error("%s: unknown option '%.*s' (see '%s %s --help')", c->name, (int)name_len,
                          arg, prog, c->name);
            return 1;
        }
        const char *value = NULL;
        if (o->value) {
            if (eq) {
                value = eq + 1;
            } else if (i + 1 < argc) {
                value = argv[++i];
            } else {
                spa_cli_error("%s: %s needs a value: %s", c->name, o->name, o->expects);
                return 1;
            }
        } else if (eq) {
            spa_cli_error("%s: %s takes no value", c->name, o->name);
            return 1;
        }
        if (apply(cli, o, value, &no_color))
            return 1;
    }
    if (!cli->file) {
        spa_cli_error("%s: missing FILE (see '%s %s --help')", c->name, prog, c->name);
        return 1;
    }
    if (extra) {
        spa_cli_error("%s: expected one FILE, but '%s' follows '%s'", c->name, extra, cli->file);
        return 1;
    }
    cli->color = wants_color(cli, no_color);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        spa_cli_error("missing command (see '%s --help')", prog);
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
    const command *c = NULL;
    for (size_t i = 0; i < N_ELEMS(commands); i++) {
        if (strcmp(commands[i].name, name) == 0)
            c = &commands[i];
    }
    if (!c) {
        spa_cli_error("unknown command '%s' (see '%s --help')", name, prog);
        return SPA_EXIT_USAGE;
    }
    if (help) {
        print_command_help(stdout, c);
        return SPA_EXIT_OK;
    }

    spa_cli cli;
    int rc = parse(c, argc - 2, argv + 2, &cli);
    if (rc < 0)
        return SPA_EXIT_OK;
    if (rc > 0)
        return SPA_EXIT_USAGE;
    int status = c->run(&cli);
    /* A full disk or closed pipe must not look like a successful answer. */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        spa_cli_error("standard output: %s", strerror(errno));
        return SPA_EXIT_USAGE;
    }
    return status;
}

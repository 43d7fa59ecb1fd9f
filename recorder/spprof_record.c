/* spprof_record.c: the launcher. Parses options, checks that the target can be profiled, sets
 * LD_PRELOAD and SPPROF_* and execs the command in place, so that pid, exit status, output and
 * signals are exactly the program's own. It never forks, waits or forwards signals. */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h> /* isfinite */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "recorder/record_options.h"
#include "recorder/version.h"

#define EXIT_USAGE         2   /* bad usage, or spprof-record itself cannot work */
#define EXIT_CANNOT_RUN    126 /* as the shell: found but not executable */
#define EXIT_NOT_FOUND     127 /* as the shell: no such command */
#define MAX_SCRIPT_NESTING 4   /* Linux runs at most 4 levels of #! interpreters */

#if defined(__x86_64__)
#define OWN_MACHINE EM_X86_64
#elif defined(__aarch64__)
#define OWN_MACHINE EM_AARCH64
#else
#error "spprof-record knows the ELF machine of x86_64 and aarch64 only"
#endif

static const char usage_text[] =
    "Usage: spprof-record [OPTIONS] [--] CMD [ARGS...]\n"
    "Runs CMD with the spprof recorder preloaded and writes a profile (.sptrace).\n"
    "\n"
    "  -o, --output OUT     trace file to write (default: spprof-<pid>.sptrace here);\n"
    "                       followed children write OUT.<pid>, exec'd programs\n"
    "                       OUT.<pid>.<n>\n"
    "  -i, --interval MS    sample every MS milliseconds (default 10; 1 to 1000,\n"
    "                       decimals allowed; down to 0.01 with a warning)\n"
    "      --clock cpu|wall cpu: each thread's CPU time (default); wall: every thread\n"
    "                       on the wall clock, waiting ones too (flagged idle)\n"
    "  -d, --max-depth N    deepest stack recorded, in frames (default 128, 1 to\n"
    "                       65535); deeper stacks are cut and marked [truncated]\n"
    "      --unwind libunwind|fp\n"
    "                       libunwind: DWARF, every frame (default); fp: frame\n"
    "                       pointers, faster, needs -fno-omit-frame-pointer\n"
    "      --memory-limit-mb N\n"
    "                       memory for all sample buffers (default 100); when full,\n"
    "                       samples are dropped and counted, never waited for\n"
    "      --max-size MB    end the trace cleanly at this size; the program runs on\n"
    "      --signal SIG     sampling signal (default SIGPROF; e.g. SIGRTMIN+3); a\n"
    "                       program that takes it moves sampling to a free one\n"
    "      --no-follow      record this process only, not its children or exec'd\n"
    "                       programs\n"
    "      --no-system-lines\n"
    "                       name system libraries' frames (libc...) without source\n"
    "                       files and lines, skipping their DWARF (libc6-dbg)\n"
    "      --alloc-sample BYTES|all\n"
    "                       record allocations: a sample every BYTES allocated on\n"
    "                       average (default 512K; K, M, G suffixes), or every\n"
    "                       allocation and free with 'all'\n"
    "      --no-alloc       do not record allocations\n"
    "  -h, --help           show this help\n"
    "  -V, --version        show the version\n"
    "\n"
    "CMD replaces spprof-record (same pid, output, signals and exit status). Every\n"
    "thread is sampled; fork children and exec'd programs are followed into traces of\n"
    "their own. At exit one summary line goes to stderr. Statically linked programs\n"
    "cannot be profiled (LD_PRELOAD has no effect on them); they run unprofiled, with\n"
    "a warning.\n"
    "\n"
    "Environment: SPPROF_LIB is the libspprof.so to preload (default: next to this\n"
    "program, or ../lib/spprof/). SPPROF_CACHE_DIR keeps uncompressed copies of\n"
    "compressed debug files (default ~/.cache/spprof; 'off' for none).\n"
    "Exit status: CMD's own; 2 on bad usage or a set-user-ID CMD; 126 when CMD cannot\n"
    "be executed; 127 when it is not found.\n";

typedef struct {
    const char *output; /* NULL: spprof-<pid>.sptrace */
    uint64_t interval_ns;
    uint32_t max_depth;
    int cmd_index; /* argv index of CMD */
    const char *alloc; /* SPPROF_ALLOC: "off", "all" or a byte count; NULL = the default */
    sp_record_settings more; /* --clock, --memory-limit-mb, ... (record_options.h) */
} options;

__attribute__((noreturn, format(printf, 1, 2))) static void usage_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("spprof-record: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs(" (see spprof-record --help)\n", stderr);
    va_end(ap);
    exit(EXIT_USAGE);
}

/* Returns the value of an option given as "--name VALUE", "--name=VALUE" or "-xVALUE", and
 * advances *i past it; NULL when arg is not this option. */
static const char *option_value(int argc, char **argv, int *i, const char *short_name,
                                const char *long_name) {
    const char *arg = argv[*i];
    size_t long_len = strlen(long_name);
    if (strcmp(arg, short_name) == 0 || strcmp(arg, long_name) == 0) {
        if (*i + 1 >= argc) {
            usage_error("%s needs a value", arg);
        }
        *i += 1;
        return argv[*i];
    }
    if (strncmp(arg, long_name, long_len) == 0 && arg[long_len] == '=') {
        return arg + long_len + 1;
    }
    if (strncmp(arg, short_name, 2) == 0 && arg[2] != '\0') {
        return arg + 2;
    }
    return NULL;
}

/* --alloc-sample BYTES|all (or =VALUE) and --no-alloc: returns the SPPROF_ALLOC value ("all",
 * "off" or a decimal byte count) and advances *i past the option; NULL when arg is neither. */
static const char *alloc_option(int argc, char **argv, int *i) {
    static char bytes[32];
    static const char name[] = "--alloc-sample";
    const char *arg = argv[*i];
    const char *v = NULL;
    if (strcmp(arg, "--no-alloc") == 0) {
        return "off";
    }
    if (strcmp(arg, name) == 0) {
        if (*i + 1 >= argc) {
            usage_error("%s needs a value", arg);
        }
        v = argv[++*i];
    } else if (strncmp(arg, name, sizeof name - 1) == 0 && arg[sizeof name - 1] == '=') {
        v = arg + sizeof name;
    } else {
        return NULL;
    }
    if (strcmp(v, "all") == 0) {
        return "all";
    }
    char *end = NULL;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    unsigned shift = 0;
    if (end != NULL && end != v && end[0] != '\0' && end[1] == '\0') {
        shift = end[0] == 'k' || end[0] == 'K' ? 10 : end[0] == 'm' || end[0] == 'M' ? 20
              : end[0] == 'g' || end[0] == 'G' ? 30 : 64;
        end += shift < 64;
    }
    if (errno != 0 || end == v || *end != '\0' || v[0] == '-' || shift == 64 || n == 0 ||
        n > (1ull << 40) >> shift) {
        usage_error("--alloc-sample wants 'all' or a number of bytes from 1 to 1T (K, M, G "
                    "suffixes allowed), not '%s'", v);
    }
    snprintf(bytes, sizeof bytes, "%llu", n << shift);
    return bytes;
}

static options parse_options(int argc, char **argv) {
    options o = {.interval_ns = 10000000u, .max_depth = 128u};
    int i = 1;
    for (; i < argc; i++) {
        const char *arg = argv[i];
        const char *v;
        if (strcmp(arg, "--") == 0) {
            i++;
            break;
        }
        if (arg[0] != '-' || arg[1] == '\0') {
            break; /* the command: options stop here, as in env(1) */
        }
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            fputs(usage_text, stdout);
            exit(0);
        }
        if (strcmp(arg, "-V") == 0 || strcmp(arg, "--version") == 0) {
            printf("spprof-record %s\n", SP_VERSION);
            exit(0);
        }
        if ((v = option_value(argc, argv, &i, "-o", "--output")) != NULL) {
            if (v[0] == '\0') {
                usage_error("the output file name is empty");
            }
            o.output = v;
        } else if ((v = option_value(argc, argv, &i, "-i", "--interval")) != NULL) {
            char *end = NULL;
            errno = 0;
            double ms = strtod(v, &end);
            if (errno != 0 || end == v || *end != '\0' || !isfinite(ms) || ms < 0.01 ||
                ms > 1000.0) {
                usage_error("--interval wants milliseconds from 1 to 1000 (down to 0.01 "
                            "accepted), not '%s'",
                            v);
            }
            if (ms < 1.0) {
                /* CPU-time timers fire on the scheduler tick (250 Hz on most kernels): the
                 * weights keep CPU time right, but the rate asked for is not the rate had. */
                fprintf(stderr, "spprof-record: warning: --interval %s ms is below 1 ms; "
                                "expect more overhead and samples weighted for the intervals "
                                "the kernel merged\n",
                        v);
            }
            o.interval_ns = (uint64_t)(ms * 1e6 + 0.5);
        } else if ((v = option_value(argc, argv, &i, "-d", "--max-depth")) != NULL) {
            char *end = NULL;
            errno = 0;
            long n = strtol(v, &end, 10);
            if (errno != 0 || end == v || *end != '\0' || n < 1 || n > 65535) {
                usage_error("--max-depth wants a number of frames from 1 to 65535, not '%s'", v);
            }
            o.max_depth = (uint32_t)n;
        } else {
            char why[256];
            int more = sp_record_parse_option(argc, argv, &i, &o.more, why, sizeof why);
            if (more < 0) {
                usage_error("%s", why);
            }
            if (more > 0) {
                continue;
            }
            const char *alloc = alloc_option(argc, argv, &i);
            if (alloc == NULL) {
                usage_error("unknown option '%s'", arg);
            }
            o.alloc = alloc;
        }
    }
    if (i >= argc) {
        usage_error("no command to run");
    }
    o.cmd_index = i;
    return o;
}

/* ---- finding things ------------------------------------------------------------------------ */

static int is_executable_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* Resolves cmd as execvp(3) will: as a path when it has a '/', else along PATH (glibc's default
 * when unset). Returns 0 with the path in out, or an errno value: ENOENT, or EACCES when a
 * match exists but cannot be executed. */
static int resolve_command(const char *cmd, char *out, size_t out_len) {
    if (strchr(cmd, '/') != NULL) {
        snprintf(out, out_len, "%s", cmd);
        if (access(cmd, F_OK) != 0) {
            return ENOENT;
        }
        return is_executable_file(cmd) ? 0 : EACCES;
    }
    const char *path = getenv("PATH");
    if (path == NULL) {
        path = "/bin:/usr/bin";
    }
    int found_unusable = 0;
    for (const char *p = path;; p = strchr(p, ':') + 1) {
        size_t len = strcspn(p, ":");
        /* An empty PATH element means the current directory. */
        int n = len == 0 ? snprintf(out, out_len, "%s", cmd)
                         : snprintf(out, out_len, "%.*s/%s", (int)len, p, cmd);
        if (n > 0 && (size_t)n < out_len) {
            if (is_executable_file(out)) {
                return 0;
            }
            found_unusable |= access(out, F_OK) == 0;
        }
        if (p[len] == '\0') {
            break;
        }
    }
    return found_unusable ? EACCES : ENOENT;
}

/* Finds libspprof.so: $SPPROF_LIB, else next to this executable, else ../lib/spprof/. Stores
 * its absolute path (LD_PRELOAD must not depend on the program's cwd) in out. Returns 0, or -1
 * after saying why on stderr. */
static int find_library(char out[PATH_MAX]) {
    const char *env = getenv("SPPROF_LIB");
    if (env != NULL && env[0] != '\0') {
        if (realpath(env, out) == NULL) {
            fprintf(stderr, "spprof-record: SPPROF_LIB=%s: %s\n", env, strerror(errno));
            return -1;
        }
        return 0;
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash != NULL) {
            *slash = '\0';
            static const char *const relative[] = {"/libspprof.so", "/../lib/spprof/libspprof.so"};
            for (size_t i = 0; i < sizeof relative / sizeof relative[0]; i++) {
                char candidate[PATH_MAX + 32];
                snprintf(candidate, sizeof candidate, "%s%s", self, relative[i]);
                if (realpath(candidate, out) != NULL) {
                    return 0;
                }
            }
        }
    }
    if (n > 0) {
        fprintf(stderr,
                "spprof-record: cannot find libspprof.so in %s or %s/../lib/spprof; set "
                "SPPROF_LIB\n",
                self, self);
    } else {
        fprintf(stderr, "spprof-record: cannot find libspprof.so; set SPPROF_LIB\n");
    }
    return -1;
}

/* ---- checking the target ------------------------------------------------------------------- */

typedef enum {
    TARGET_OK,         /* dynamically linked: LD_PRELOAD works */
    TARGET_UNPROFILED, /* runs, but the preload cannot take effect: run it without */
    TARGET_REFUSED     /* set-user-ID or set-group-ID: the loader ignores LD_PRELOAD */
} target_verdict;

static target_verdict check_target(const char *path, int nesting, char *why, size_t why_len);

/* Checks the interpreter that will run a script and says so in why. */
static target_verdict check_interpreter(const char *interp, int nesting, char *why,
                                        size_t why_len) {
    if (nesting >= MAX_SCRIPT_NESTING) {
        return TARGET_OK; /* the kernel will refuse it and execvp will say so */
    }
    char inner[PATH_MAX + 256] = "";
    target_verdict v = check_target(interp, nesting + 1, inner, sizeof inner);
    if (v != TARGET_OK) {
        snprintf(why, why_len, "its interpreter %s is %s", interp, inner);
    }
    return v;
}

/* Reads count bytes at offset; returns 0 when all were read. */
static int read_at(int fd, void *buf, size_t count, off_t offset) {
    return pread(fd, buf, count, offset) == (ssize_t)count ? 0 : -1;
}

/* An ELF file: does the dynamic loader run it (so that it reads LD_PRELOAD)? */
static target_verdict check_elf(int fd, char *why, size_t why_len) {
    Elf64_Ehdr eh;
    if (read_at(fd, &eh, sizeof eh, 0) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64) {
        snprintf(why, why_len, "a 32-bit program (libspprof.so is 64-bit)");
        return TARGET_UNPROFILED;
    }
    if (eh.e_machine != OWN_MACHINE) {
        snprintf(why, why_len, "built for another architecture than libspprof.so");
        return TARGET_UNPROFILED;
    }
    int has_interp = 0;
    Elf64_Phdr dynamic = {0};
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        if (read_at(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + (uint64_t)i * eh.e_phentsize)) != 0) {
            break;
        }
        has_interp |= ph.p_type == PT_INTERP;
        if (ph.p_type == PT_DYNAMIC) {
            dynamic = ph;
        }
    }
    if (has_interp) {
        return TARGET_OK;
    }
    /* No PT_INTERP: static, or static-pie (PT_DYNAMIC for its self-relocation only). The one
     * exception is a shared object run directly, such as ld.so itself, which has a DT_SONAME. */
    for (uint64_t off = 0;
         dynamic.p_type == PT_DYNAMIC && off + sizeof(Elf64_Dyn) <= dynamic.p_filesz;
         off += sizeof(Elf64_Dyn)) {
        Elf64_Dyn d;
        if (read_at(fd, &d, sizeof d, (off_t)(dynamic.p_offset + off)) != 0 || d.d_tag == DT_NULL) {
            break;
        }
        if (d.d_tag == DT_SONAME) {
            return TARGET_OK;
        }
    }
    snprintf(why, why_len, "statically linked (LD_PRELOAD has no effect)");
    return TARGET_UNPROFILED;
}

/* A "#!" script: the kernel runs its interpreter, which is what must be dynamically linked. For
 * "#!/usr/bin/env NAME" the program that matters is NAME, found on PATH. */
static target_verdict check_script(int fd, int nesting, char *why, size_t why_len) {
    char line[256];
    ssize_t n = pread(fd, line, sizeof line - 1, 0);
    if (n < 2) {
        return TARGET_OK;
    }
    line[n] = '\0';
    line[strcspn(line, "\n")] = '\0';
    char *save = NULL;
    char *interp = strtok_r(line + 2, " \t", &save);
    if (interp == NULL) {
        /* The kernel refuses an empty #! line and execvp then hands the file to /bin/sh. */
        return check_interpreter("/bin/sh", nesting, why, why_len);
    }
    const char *slash = strrchr(interp, '/');
    char *next = strtok_r(NULL, " \t", &save);
    char resolved[PATH_MAX];
    const char *program = interp;
    if (strcmp(slash != NULL ? slash + 1 : interp, "env") == 0 && next != NULL && next[0] != '-' &&
        resolve_command(next, resolved, sizeof resolved) == 0) {
        program = resolved;
    }
    return check_interpreter(program, nesting, why, why_len);
}

static target_verdict check_target(const char *path, int nesting, char *why, size_t why_len) {
    struct stat st;
    struct statvfs vfs;
    if (stat(path, &st) != 0) {
        return TARGET_OK; /* execvp will report it */
    }
    /* The kernel sets AT_SECURE, and ld.so drops LD_PRELOAD, when the exec changes our user or
     * group id, unless the file system is mounted nosuid. */
    int nosuid = statvfs(path, &vfs) == 0 && (vfs.f_flag & ST_NOSUID);
    if (!nosuid && (((st.st_mode & S_ISUID) && st.st_uid != getuid()) ||
                    ((st.st_mode & S_ISGID) && st.st_gid != getgid()))) {
        snprintf(why, why_len, "a set-%s-ID program (the loader ignores LD_PRELOAD for it)",
                 (st.st_mode & S_ISUID) ? "user" : "group");
        return TARGET_REFUSED;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return TARGET_OK; /* execute-only file: we cannot look, let the loader try */
    }
    unsigned char magic[4] = {0};
    target_verdict v = TARGET_OK;
    if (read_at(fd, magic, 2, 0) == 0 && magic[0] == '#' && magic[1] == '!') {
        v = check_script(fd, nesting, why, why_len);
    } else if (read_at(fd, magic, 4, 0) == 0 && memcmp(magic, ELFMAG, SELFMAG) == 0) {
        v = check_elf(fd, why, why_len);
    } else {
        v = check_interpreter("/bin/sh", nesting, why, why_len); /* execvp's ENOEXEC fallback */
    }
    close(fd);
    return v;
}

/* ---- environment --------------------------------------------------------------------------- */

static void set_env(const char *name, const char *value) {
    if (setenv(name, value, 1) != 0) {
        fprintf(stderr, "spprof-record: cannot set %s: %s\n", name, strerror(errno));
        exit(EXIT_USAGE);
    }
}

static void make_trace_id(char out[33]) {
    unsigned char bytes[16] = {0};
    if (getrandom(bytes, sizeof bytes, GRND_NONBLOCK) != (ssize_t)sizeof bytes) {
        uint64_t a = (uint64_t)getpid() * 0x9E3779B97F4A7C15ull ^ (uint64_t)time(NULL);
        memcpy(bytes, &a, sizeof a);
    }
    for (size_t i = 0; i < sizeof bytes; i++) {
        snprintf(out + 2 * i, 3, "%02x", bytes[i]);
    }
}

/* Prepends lib to LD_PRELOAD (keeping what the user preloads), unless it is already there. */
static void set_preload(const char *lib) {
    const char *old = getenv("LD_PRELOAD");
    if (old == NULL || old[0] == '\0') {
        set_env("LD_PRELOAD", lib);
        return;
    }
    size_t lib_len = strlen(lib);
    for (const char *p = old; *p != '\0';) {
        size_t len = strcspn(p, ": ");
        if (len == lib_len && strncmp(p, lib, len) == 0) {
            return;
        }
        p += len + (p[len] != '\0');
    }
    size_t len = lib_len + 1 + strlen(old) + 1;
    char *value = malloc(len);
    if (value == NULL) {
        fprintf(stderr, "spprof-record: out of memory\n");
        exit(EXIT_USAGE);
    }
    snprintf(value, len, "%s:%s", lib, old);
    set_env("LD_PRELOAD", value);
    free(value);
}

/* Reports a failed execvp, removes the trace file created for it (if any) and returns the exit
 * status the shell would give. */
static int exec_failed(const char *cmd, int exec_errno, const char *created_output) {
    fprintf(stderr, "spprof: cannot run %s: %s\n", cmd, strerror(exec_errno));
    if (created_output != NULL) {
        unlink(created_output);
    }
    return exec_errno == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_RUN;
}

int main(int argc, char **argv) {
    options o = parse_options(argc, argv);
    const char *cmd = argv[o.cmd_index];
    char **cmd_argv = argv + o.cmd_index;

    char resolved[PATH_MAX];
    int err = resolve_command(cmd, resolved, sizeof resolved);
    if (err != 0) {
        fprintf(stderr, "spprof: cannot run %s: %s\n", cmd,
                err == ENOENT && strchr(cmd, '/') == NULL ? "command not found" : strerror(err));
        return err == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_RUN;
    }

    char why[PATH_MAX * 2 + 512] = "";
    switch (check_target(resolved, 0, why, sizeof why)) {
    case TARGET_OK:
        break;
    case TARGET_UNPROFILED:
        /* The program must still run: the user asked for it, the profile is the extra. */
        fprintf(stderr, "spprof: cannot profile %s: %s; running it unprofiled\n", cmd, why);
        execvp(cmd, cmd_argv);
        return exec_failed(cmd, errno, NULL);
    case TARGET_REFUSED:
        fprintf(stderr, "spprof: cannot profile %s: %s; not running it\n", cmd, why);
        return EXIT_USAGE;
    }

    char lib[PATH_MAX];
    if (find_library(lib) != 0) {
        return EXIT_USAGE;
    }
    if (strpbrk(lib, ": ") != NULL) {
        fprintf(stderr, "spprof-record: %s: LD_PRELOAD cannot hold a path with ':' or ' '\n", lib);
        return EXIT_USAGE;
    }

    /* exec keeps the pid, so the default name is the profiled process's pid. */
    char default_output[64];
    snprintf(default_output, sizeof default_output, "spprof-%ld.sptrace", (long)getpid());
    const char *output = o.output != NULL ? o.output : default_output;
    /* Absolute, so that followed children that change directory write next to it. */
    char absolute_output[PATH_MAX * 2];
    char cwd[PATH_MAX];
    if (output[0] != '/' && getcwd(cwd, sizeof cwd) != NULL) {
        snprintf(absolute_output, sizeof absolute_output, "%s/%s", cwd, output);
        output = absolute_output;
    }
    /* Fail before the program runs, not after, when the trace cannot be written. */
    int fd = open(output, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    int created = fd >= 0;
    if (fd < 0 && errno == EEXIST) {
        fd = open(output, O_WRONLY | O_CLOEXEC);
    }
    if (fd < 0) {
        fprintf(stderr, "spprof-record: cannot write %s: %s\n", output, strerror(errno));
        return EXIT_USAGE;
    }
    close(fd);

    char number[32];
    char trace_id[33];
    make_trace_id(trace_id);
    set_preload(lib);
    set_env("SPPROF_OUTPUT", output);
    snprintf(number, sizeof number, "%llu", (unsigned long long)o.interval_ns);
    set_env("SPPROF_INTERVAL_NS", number);
    snprintf(number, sizeof number, "%u", o.max_depth);
    set_env("SPPROF_MAX_DEPTH", number);
    /* The first process writes OUT; every other pid is a followed child (recorder/follow.h). */
    snprintf(number, sizeof number, "%ld", (long)getpid());
    set_env("SPPROF_ROOT_PID", number);
    set_env("SPPROF_TRACE_ID", trace_id);
    unsetenv("SPPROF_SELF"); /* a run inside another run starts its own line of traces */
    if (sp_record_export(&o.more) != 0) {
        fprintf(stderr, "spprof-record: cannot set the SPPROF_* variables: %s\n", strerror(errno));
        return EXIT_USAGE;
    }
    set_env("SPPROF_ALLOC", o.alloc != NULL ? o.alloc : "524288"); /* 512 KiB, as tcmalloc */

    execvp(cmd, cmd_argv);
    return exec_failed(cmd, errno, created ? output : NULL);
}

/* output.c: writing OUT safely. Everything goes to OUT.tmp-XXXXXX in OUT's directory, which is
 * renamed over OUT only once fully written and closed, so a failed write (a full disk, a file
 * size limit, a signal) never leaves a partial OUT behind and never harms an existing one. An
 * existing regular file is replaced only with --force; devices and pipes are written in place. */
#define _GNU_SOURCE /* fopencookie: to keep the errno of the write that failed */
#include "convert/convert.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct spc_output {
    char *path;   /* OUT as given, for messages */
    char *target; /* what is renamed over: OUT, or the file a symlink OUT points to */
    char *tmp;    /* the temporary file; NULL when writing in place or to stdout */
    int fd;       /* what the stream writes to */
    FILE *f;      /* a stdio stream over fd that remembers the first error */
    int error;    /* errno of the first failed write or close; 0 if none */
    int force;
    int is_stdout;
    int terminal;
};

/* The stream's write: all of it, or remember why not. stdio reports a failed write at some
 * fflush far from it, when errno says something else entirely. */
static ssize_t stream_write(void *cookie, const char *buf, size_t size) {
    spc_output *o = cookie;
    size_t done = 0;
    while (done < size && !o->error) {
        ssize_t n = write(o->fd, buf + done, size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            o->error = n < 0 ? errno : EIO;
        else
            done += (size_t)n;
    }
    return o->error ? 0 : (ssize_t)size; /* 0: the stream's error flag is set */
}

static int stream_close(void *cookie) {
    spc_output *o = cookie;
    if (o->is_stdout)
        return 0;
    if (close(o->fd) != 0 && !o->error)
        o->error = errno; /* NFS reports some write errors only here */
    return o->error ? -1 : 0;
}

/* Wraps o->fd in o->f. Returns 0, or -1 with errno set. */
static int open_stream(spc_output *o) {
    static const cookie_io_functions_t io = {NULL, stream_write, NULL, stream_close};
    o->f = fopencookie(o, "w", io);
    if (!o->f)
        return -1;
    setvbuf(o->f, NULL, _IOFBF, 1 << 16);
    return 0;
}

/* The temporary file a signal handler removes. One output is open at a time. */
static char pending_tmp[PATH_MAX + 64];
static volatile sig_atomic_t have_pending;
static const int caught[] = {SIGINT, SIGTERM, SIGHUP};
static struct sigaction saved[3];

static void on_signal(int sig) {
    if (have_pending)
        unlink(pending_tmp); /* async-signal-safe */
    signal(sig, SIG_DFL);
    raise(sig);
}

static void guard(const char *tmp) {
    snprintf(pending_tmp, sizeof pending_tmp, "%s", tmp);
    have_pending = 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof caught / sizeof caught[0]; i++)
        sigaction(caught[i], &sa, &saved[i]);
}

static void unguard(void) {
    if (!have_pending)
        return;
    for (size_t i = 0; i < sizeof caught / sizeof caught[0]; i++)
        sigaction(caught[i], &saved[i], NULL);
    have_pending = 0;
}

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t size, const char *fmt,
                                                      ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, size, fmt, ap);
    va_end(ap);
    return -1;
}

static void release(spc_output *o) {
    free(o->path);
    free(o->target);
    free(o->tmp);
    free(o);
}

int spc_output_open(const char *path, int force, spc_output **out, char *err, size_t err_size) {
    *out = NULL;
    spc_output *o = calloc(1, sizeof *o);
    if (!o || !(o->path = strdup(path))) {
        free(o);
        return fail(err, err_size, "%s: out of memory", path);
    }
    o->force = force;
    if (strcmp(path, "-") == 0) {
        o->is_stdout = 1;
        o->fd = STDOUT_FILENO;
        o->terminal = isatty(STDOUT_FILENO);
        fflush(stdout); /* anything already printed goes first */
        if (open_stream(o)) {
            release(o);
            return fail(err, err_size, "standard output: out of memory");
        }
        *out = o;
        return 0;
    }
    struct stat sb;
    int exists = stat(path, &sb) == 0;
    if (!exists && errno != ENOENT) {
        int e = errno;
        release(o);
        return fail(err, err_size, "%s: cannot write: %s", path, strerror(e));
    }
    if (exists && S_ISDIR(sb.st_mode)) {
        release(o);
        return fail(err, err_size, "%s: is a directory", path);
    }
    if (exists && !S_ISREG(sb.st_mode)) {
        /* A device or a pipe: nothing to replace, and renaming over /dev/null would be a
         * disaster. Written in place. */
        o->fd = open(path, O_WRONLY | O_CLOEXEC);
        if (o->fd < 0 || open_stream(o)) {
            int e = errno;
            if (o->fd >= 0)
                close(o->fd);
            release(o);
            return fail(err, err_size, "%s: cannot write: %s", path, strerror(e));
        }
        o->terminal = isatty(o->fd);
        *out = o;
        return 0;
    }
    if (exists && !force) {
        release(o);
        return fail(err, err_size, "%s: already exists (use --force to replace it)", path);
    }
    /* Through a symlink, replace the file it names and keep the link. */
    char resolved[PATH_MAX];
    o->target = strdup(exists && realpath(path, resolved) ? resolved : path);
    size_t n = o->target ? strlen(o->target) + 16 : 0;
    o->tmp = n ? malloc(n) : NULL;
    if (!o->target || !o->tmp) {
        release(o);
        return fail(err, err_size, "%s: out of memory", path);
    }
    snprintf(o->tmp, n, "%s.tmp-XXXXXX", o->target);
    /* The signals that remove the temporary file are held from its creation until the handler
     * knows its name: a SIGTERM in between would otherwise leave it behind. */
    sigset_t held, before;
    sigemptyset(&held);
    for (size_t i = 0; i < sizeof caught / sizeof caught[0]; i++)
        sigaddset(&held, caught[i]);
    sigprocmask(SIG_BLOCK, &held, &before);
    int fd = mkstemp(o->tmp);
    if (fd >= 0)
        guard(o->tmp);
    sigprocmask(SIG_SETMASK, &before, NULL);
    if (fd < 0) {
        int e = errno;
        release(o);
        return fail(err, err_size, "%s: cannot create a temporary file beside it: %s", path,
                    strerror(e));
    }
    /* mkstemp makes 0600; give the file what a plain create would, or the replaced file's. */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, exists ? (sb.st_mode & 07777) : (0666 & ~mask));
    o->fd = fd;
    if (open_stream(o)) {
        int e = errno;
        close(fd);
        unguard();
        unlink(o->tmp);
        release(o);
        return fail(err, err_size, "%s: cannot write: %s", path, strerror(e));
    }
    *out = o;
    return 0;
}

FILE *spc_output_file(spc_output *o) {
    return o->f;
}

int spc_output_is_terminal(const spc_output *o) {
    return o->terminal;
}

void spc_output_abort(spc_output *o) {
    if (!o)
        return;
    if (o->f)
        fclose(o->f);
    if (o->tmp)
        unlink(o->tmp);
    unguard();
    release(o);
}

int spc_output_commit(spc_output *o, char *err, size_t err_size) {
    const char *name = o->is_stdout ? "standard output" : o->path;
    int bad = fclose(o->f) != 0 || o->error;
    int e = o->error ? o->error : EIO;
    o->f = NULL;
    if (bad) {
        fail(err, err_size, "%s: cannot write: %s", name, strerror(e));
        spc_output_abort(o);
        return -1;
    }
    if (o->tmp) {
        int rc, linked = 0;
        if (o->force) {
            rc = rename(o->tmp, o->target);
        } else {
            /* link() refuses to replace a file that appeared meanwhile; filesystems without
             * hard links fall back to a check and a rename. */
            rc = link(o->tmp, o->target);
            linked = rc == 0;
            if (rc != 0 && errno != EEXIST) {
                struct stat sb;
                if (stat(o->target, &sb) == 0)
                    errno = EEXIST;
                else
                    rc = rename(o->tmp, o->target);
            }
        }
        if (rc != 0) {
            e = errno;
            if (e == EEXIST)
                fail(err, err_size, "%s: appeared while converting; not replaced (use --force)",
                     name);
            else
                fail(err, err_size, "%s: cannot write: %s", name, strerror(e));
            spc_output_abort(o);
            return -1;
        }
        if (linked)
            unlink(o->tmp);
        unguard();
    }
    release(o);
    return 0;
}

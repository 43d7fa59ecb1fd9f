/* interpose.c: the libc functions libspprof.so replaces, each a thin wrapper around the real one
 * (dlsym RTLD_NEXT): pthread_create (register the new thread), pthread_setname_np and prctl
 * (renames), fork and posix_spawn (CHILD records), system, popen and daemon (CHILD records for
 * the children libc starts by itself), the exec family (END exec, then follow the new image),
 * _exit, _Exit and quick_exit (finish the trace first), sigaction and signal (share signals with
 * the program), dlopen and dlclose (no unwinding inside the loader). Every wrapper behaves
 * exactly like the real function when nothing is recording. The version script exports these
 * names and nothing else but spprof_*. */
#define _GNU_SOURCE
#include "recorder/interpose.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <paths.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include <spawn.h>
#include <alloca.h>

#include "recorder/exec_env.h"
#include "recorder/recording.h"
#include "recorder/sampler.h"
#include "recorder/signals.h"
#include "recorder/threads.h"
#include "recorder/wall.h"
#include "recorder/wake.h"
#include "recorder/writer_thread.h"

#define SP_EXPORT __attribute__((visibility("default")))
/* dlclose: symbolize a library's samples before it goes, waiting 1 s at most. */
#define DLCLOSE_SYNC_NS 1000000000u

extern char **environ;

typedef int (*pthread_create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
typedef int (*setname_fn)(pthread_t, const char *);
typedef int (*prctl_fn)(int, unsigned long, unsigned long, unsigned long, unsigned long);
typedef void (*exit_fn)(int);
typedef pid_t (*fork_fn)(void);
typedef int (*spawn_fn)(pid_t *, const char *, const posix_spawn_file_actions_t *,
                        const posix_spawnattr_t *, char *const[], char *const[]);
typedef int (*execve_fn)(const char *, char *const[], char *const[]);
typedef int (*execv_fn)(const char *, char *const[]);
typedef int (*fexecve_fn)(int, char *const[], char *const[]);
typedef int (*execveat_fn)(int, const char *, char *const[], char *const[], int);
typedef int (*sigaction_fn)(int, const struct sigaction *, struct sigaction *);
typedef void *(*dlopen_fn)(const char *, int);
typedef FILE *(*popen_fn)(const char *, const char *);
typedef int (*dlclose_fn)(void *);

/* Resolved once; _Atomic so a wrapper called before the constructor (another library's
 * constructor creating a thread) resolves it safely. */
static struct {
    _Atomic(pthread_create_fn) pthread_create;
    _Atomic(setname_fn) setname;
    _Atomic(prctl_fn) prctl;
    _Atomic(exit_fn) exit_, Exit, quick_exit;
    _Atomic(fork_fn) fork;
    _Atomic(spawn_fn) spawn, spawnp;
    _Atomic(execve_fn) execve, execvpe;
    _Atomic(execv_fn) execv, execvp;
    _Atomic(fexecve_fn) fexecve;
    _Atomic(execveat_fn) execveat;
    _Atomic(sigaction_fn) sigaction;
    _Atomic(dlopen_fn) dlopen;
    _Atomic(dlclose_fn) dlclose;
    _Atomic(popen_fn) popen;
} real;

static void *next_symbol(const char *name) {
    int prev = sp_sampler_set_busy(1); /* dlsym may allocate */
    void *p = dlsym(RTLD_NEXT, name);
    sp_sampler_set_busy(prev);
    if (p == NULL) {
        /* Without the real function we cannot do anything sensible; say so and stop. */
        static const char msg[] = "spprof: a libc function cannot be found (dlsym); aborting\n";
        sp_write_all(STDERR_FILENO, msg, sizeof msg - 1);
        abort();
    }
    return p;
}

#define REAL(field, name)                                                                          \
    (atomic_load(&real.field) != NULL                                                              \
         ? atomic_load(&real.field)                                                                \
         : (atomic_store(&real.field, next_symbol(name)), atomic_load(&real.field)))

void sp_interpose_init(void) {
    (void)REAL(pthread_create, "pthread_create");
    (void)REAL(setname, "pthread_setname_np");
    (void)REAL(prctl, "prctl");
    (void)REAL(exit_, "_exit");
    (void)REAL(Exit, "_Exit");
    (void)REAL(quick_exit, "quick_exit");
    (void)REAL(fork, "fork");
    (void)REAL(spawn, "posix_spawn");
    (void)REAL(spawnp, "posix_spawnp");
    (void)REAL(execve, "execve");
    (void)REAL(execvpe, "execvpe");
    (void)REAL(execv, "execv");
    (void)REAL(execvp, "execvp");
    (void)REAL(fexecve, "fexecve");
    (void)REAL(execveat, "execveat");
    (void)REAL(sigaction, "sigaction");
    (void)REAL(dlopen, "dlopen");
    (void)REAL(dlclose, "dlclose");
    (void)REAL(popen, "popen");
}

SP_SIGNAL_SAFE int sp_real_sigaction(int signo, const struct sigaction *act,
                                     struct sigaction *oldact) {
    return REAL(sigaction, "sigaction")(signo, act, oldact);
}

SP_SIGNAL_SAFE void sp_real_exit(int status) {
    REAL(exit_, "_exit")(status);
    __builtin_unreachable();
}

/* ---- recorder threads ---------------------------------------------------------------------- */

typedef struct {
    void *(*start)(void *);
    void *arg;
    _Atomic uint32_t tid; /* set by the new thread before it runs start; a futex word */
} internal_start;

static void *internal_trampoline(void *p) {
    internal_start *s = p;
    void *(*start)(void *) = s->start;
    void *arg = s->arg;
    int tid = (int)syscall(SYS_gettid);
    sp_threads_note_internal(tid);        /* never adopted from /proc/self/task */
    atomic_store(&s->tid, (uint32_t)tid); /* s lives on the creator's stack: last write */
    /* The creator may already have seen the store and returned: a private futex wake only
     * hashes the address, it never reads or writes what is there now. */
    sp_futex_wake(&s->tid);
    return start(arg);
}

int sp_create_internal_thread(pthread_t *thread, void *(*start)(void *), void *arg) {
    internal_start s = {start, arg, 0};
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* the new thread inherits this mask */
    int rc = REAL(pthread_create, "pthread_create")(thread, NULL, internal_trampoline, &s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    /* Until it noted its tid: adoption must never pick it up. Asleep, not yielding: a
     * sched_yield loop kept this thread runnable beside the new one, and the wait was ~0.85 ms
     * of every recorded process's start (uprobes, 2-vCPU VM); asleep it is ~0.4 ms. */
    while (rc == 0 && atomic_load(&s.tid) == 0) {
        sp_futex_wait(&s.tid, 0, 10u * 1000u * 1000u);
    }
    return rc;
}

/* ---- threads ------------------------------------------------------------------------------- */

SP_EXPORT int pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*start)(void *),
                             void *arg) {
    pthread_create_fn create = REAL(pthread_create, "pthread_create");
    void *launch = sp_threads_launch_prepare(start, arg);
    if (launch == NULL) {
        return create(thread, attr, start, arg);
    }
    int rc = create(thread, attr, sp_threads_trampoline, launch);
    if (rc != 0) {
        sp_threads_launch_cancel(launch);
    }
    return rc;
}

SP_EXPORT int pthread_setname_np(pthread_t thread, const char *name) {
    int rc = REAL(setname, "pthread_setname_np")(thread, name);
    if (rc == 0) {
        sp_threads_renamed(pthread_equal(thread, pthread_self()), thread, name);
    }
    return rc;
}

/* prctl is variadic; every option takes at most four more unsigned long arguments, which the
 * x86-64 and aarch64 calling conventions pass in registers, so forwarding four is exact. */
SP_EXPORT int prctl(int option, ...) {
    va_list ap;
    va_start(ap, option);
    unsigned long a2 = va_arg(ap, unsigned long);
    unsigned long a3 = va_arg(ap, unsigned long);
    unsigned long a4 = va_arg(ap, unsigned long);
    unsigned long a5 = va_arg(ap, unsigned long);
    va_end(ap);
    int rc = REAL(prctl, "prctl")(option, a2, a3, a4, a5);
    if (rc == 0 && option == PR_SET_NAME && a2 != 0) {
        char name[16];
        strncpy(name, (const char *)a2, sizeof name - 1);
        name[sizeof name - 1] = '\0';
        sp_threads_renamed(1, pthread_self(), name);
    }
    return rc;
}

/* ---- exit ---------------------------------------------------------------------------------- */

/* In a vfork child (or any child that did not come through fork's handlers) the pid differs:
 * it must not touch the parent's recording, so it exits at once. */
static void finish_before_exit(int status) {
    if (sp_recording_pid() == getpid()) {
        sp_recording_exiting(status);
    }
}

SP_EXPORT __attribute__((noreturn)) void _exit(int status) {
    finish_before_exit(status);
    REAL(exit_, "_exit")(status);
    __builtin_unreachable();
}

SP_EXPORT __attribute__((noreturn)) void _Exit(int status) {
    finish_before_exit(status);
    REAL(Exit, "_Exit")(status);
    __builtin_unreachable();
}

SP_EXPORT __attribute__((noreturn)) void quick_exit(int status) {
    finish_before_exit(status);
    REAL(quick_exit, "quick_exit")(status);
    __builtin_unreachable();
}

/* ---- fork and spawn ------------------------------------------------------------------------ */

/* fork's parent side: the CHILD record, with errno as fork left it. Inlined rather than
 * tail-called, so that a CPU sample in it is named fork, the function the program called
 * (writer_samples.c names such samples by the outermost of the recorder's frames). */
__attribute__((always_inline)) static inline pid_t follow_fork(void) {
    pid_t pid = REAL(fork, "fork")(); /* the atfork handlers do the child's side */
    if (pid > 0) {
        int saved = errno;
        sp_recording_forked(pid);
        errno = saved;
    }
    return pid;
}

SP_EXPORT pid_t fork(void) {
    return follow_fork();
}

/* posix_spawn and posix_spawnp (search = 1), and system(): the recorder's variables put back
 * into the environment, and the CHILD record. errno and *pid as the real call leaves them (it
 * writes *pid only on success). Inlined, as follow_fork. */
__attribute__((always_inline)) static inline int
spawn_common(int search, pid_t *pid, const char *path, const posix_spawn_file_actions_t *actions,
             const posix_spawnattr_t *attr, char *const argv[], char *const envp[]) {
    int saved = errno;
    sp_exec_env_mem mem;
    char *const *env = sp_exec_env(envp, &mem);
    pid_t child = 0;
    spawn_fn fn = search ? REAL(spawnp, "posix_spawnp") : REAL(spawn, "posix_spawn");
    errno = saved;
    int rc = fn(&child, path, actions, attr, argv, env != NULL ? env : environ);
    saved = errno;
    sp_exec_env_free(&mem);
    if (rc == 0) {
        sp_recording_spawned(child);
        if (pid != NULL) {
            *pid = child;
        }
    }
    errno = saved;
    return rc;
}

SP_EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *actions,
                          const posix_spawnattr_t *attr, char *const argv[], char *const envp[]) {
    return spawn_common(0, pid, path, actions, attr, argv, envp);
}

SP_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *actions,
                           const posix_spawnattr_t *attr, char *const argv[], char *const envp[]) {
    return spawn_common(1, pid, file, actions, attr, argv, envp);
}

/* ---- children libc starts by itself: system, popen, daemon --------------------------------- */

/* glibc's system() and popen() start the shell with its internal __posix_spawn, and daemon()
 * forks and exits with its internal __fork and _exit: none of them reaches the wrappers above.
 * The shell records anyway (it finds SPPROF_SELF in environ), but without these the parent's
 * trace would not name it, and daemon's parent would die without its END record. */

/* system(): glibc's own (2.36, sysdeps/posix/system.c) step by step, spawning through
 * spawn_common. Wrapping the real one cannot work: the shell's pid never leaves it. Kept as
 * glibc has it: SIGINT and SIGQUIT ignored while any system() call runs (the first call saves
 * their dispositions, the last one restores them), SIGCHLD blocked while waiting, the shell
 * started with the caller's mask and with SIGINT and SIGQUIT at their default unless the caller
 * ignores them, 127 << 8 and errno when the shell cannot be spawned, the shell killed and
 * reaped if the thread is cancelled while waiting. Dispositions change through the real
 * sigaction, as glibc's internal __sigaction does: the recorder's fatal handlers are restored
 * with the rest. */
static struct {
    pthread_mutex_t lock;
    int calls;                   /* system() calls under way */
    struct sigaction intr, quit; /* SIGINT and SIGQUIT as the first of them found them */
} sys = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* The last system() call under way gives SIGINT and SIGQUIT back their dispositions. */
static void system_release_signals(void) {
    pthread_mutex_lock(&sys.lock);
    if (--sys.calls == 0) {
        sp_real_sigaction(SIGINT, &sys.intr, NULL);
        sp_real_sigaction(SIGQUIT, &sys.quit, NULL);
    }
    pthread_mutex_unlock(&sys.lock);
}

/* Cancellation while waiting: the shell is killed and reaped, the dispositions released. */
static void system_cancelled(void *arg) {
    pid_t pid = *(const pid_t *)arg;
    int saved = errno;
    kill(pid, SIGKILL);
    errno = saved;
    int state;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &state);
    while (waitpid(pid, NULL, 0) == -1 && errno == EINTR) {
    }
    pthread_setcancelstate(state, NULL);
    system_release_signals();
}

/* Waits for the shell; a cancellation point (waitpid), deferred for the wait as glibc does. */
static int system_wait(pid_t pid) {
    int status = -1;
    pthread_cleanup_push_defer_np(system_cancelled, &pid);
    if (TEMP_FAILURE_RETRY(waitpid(pid, &status, 0)) != pid) {
        status = -1;
    }
    pthread_cleanup_pop_restore_np(0);
    return status;
}

static int do_system(const char *line) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    sigset_t reset;
    sigemptyset(&reset);
    pthread_mutex_lock(&sys.lock);
    if (sys.calls++ == 0) {
        sp_real_sigaction(SIGINT, &sa, &sys.intr);
        sp_real_sigaction(SIGQUIT, &sa, &sys.quit);
    }
    if (sys.intr.sa_handler != SIG_IGN) {
        sigaddset(&reset, SIGINT);
    }
    if (sys.quit.sa_handler != SIG_IGN) {
        sigaddset(&reset, SIGQUIT);
    }
    pthread_mutex_unlock(&sys.lock);
    sigset_t omask;
    sigaddset(&sa.sa_mask, SIGCHLD);
    sigprocmask(SIG_BLOCK, &sa.sa_mask, &omask);

    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setsigmask(&attr, &omask);
    posix_spawnattr_setsigdefault(&attr, &reset);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    char *argv[] = {"sh", "-c", "--", (char *)line, NULL};
    pid_t pid = 0;
    int rc = spawn_common(0, &pid, "/bin/sh", NULL, &attr, argv, environ);
    posix_spawnattr_destroy(&attr);
    /* POSIX: a shell that cannot be started counts as one that did _exit(127). */
    int status = rc == 0 ? system_wait(pid) : 127 << 8;

    system_release_signals();
    sigprocmask(SIG_SETMASK, &omask, NULL);
    if (rc != 0) {
        errno = rc;
    }
    return status;
}

SP_EXPORT int system(const char *line) {
    if (line == NULL) {
        return do_system("exit 0") == 0; /* is there a shell? */
    }
    return do_system(line);
}

/* popen(): the real one, with the shell's pid read back from the stream. Reimplementing popen
 * would need a stream that fclose and pclose wait on as glibc's do (pclose is fclose there),
 * which only glibc can make; so the stream stays glibc's own, and with it modes "r", "w" and
 * "e", other popen streams closed in the child, and pclose's status. glibc keeps the pid after
 * the FILE and its vtable pointer, struct _IO_proc_file { struct _IO_FILE_plus file; pid_t pid;
 * ... } (libio/iopopen.c, unchanged since glibc 2.1). That is not an interface, so the pid is
 * believed only if it is a child of this process not yet waited for: waitid with WNOWAIT reaps
 * nothing, and as a raw system call it is no cancellation point. If it is not (or SIGCHLD is
 * ignored and the shell is already gone), there is no CHILD record; nothing else changes. */
typedef struct {
    FILE file;
    const void *vtable;
    pid_t pid;
} glibc_proc_file;

static void note_popen_child(FILE *fp) {
#ifdef __GLIBC__
    pid_t pid;
    memcpy(&pid, (const char *)fp + offsetof(glibc_proc_file, pid), sizeof pid);
    siginfo_t info;
    if (pid > 0 &&
        syscall(SYS_waitid, P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT, NULL) == 0 &&
        sp_exec_env_follows(NULL)) { /* the shell gets environ as it is */
        sp_recording_spawned(pid);
    }
#else
    (void)fp;
#endif
}

SP_EXPORT FILE *popen(const char *command, const char *mode) {
    FILE *fp = REAL(popen, "popen")(command, mode);
    if (fp != NULL) {
        int saved = errno;
        note_popen_child(fp);
        errno = saved;
    }
    return fp;
}

/* daemon(): glibc's own (2.36, misc/daemon.c) step by step, but forking and exiting through the
 * wrappers here, so the child gets its CHILD record and the parent's trace its END (glibc's
 * internal __fork and _exit reach neither); the child records from the atfork handler, as any
 * fork child does. As in glibc: /dev/null opened with no cancellation point and used only if it
 * is the character device 1:3 (else ENODEV), and on failure closed with no cancellation point,
 * errno as that close leaves it. */
SP_EXPORT int daemon(int nochdir, int noclose) {
    pid_t pid = follow_fork();
    if (pid == -1) {
        return -1;
    }
    if (pid > 0) {
        finish_before_exit(0);
        REAL(exit_, "_exit")(0);
        __builtin_unreachable();
    }
    if (setsid() == -1) {
        return -1;
    }
    if (!nochdir && chdir("/") != 0) {
        /* ignored, as glibc does */
    }
    if (noclose) {
        return 0;
    }
    int fd = (int)syscall(SYS_openat, AT_FDCWD, _PATH_DEVNULL, O_RDWR | O_LARGEFILE, 0);
    struct stat st;
    if (fd == -1 || fstat(fd, &st) != 0) {
        syscall(SYS_close, fd);
        return -1;
    }
    if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3)) {
        syscall(SYS_close, fd);
        errno = ENODEV; /* no call failed: say why */
        return -1;
    }
    dup2(fd, STDIN_FILENO);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    if (fd > 2) {
        close(fd);
    }
    return 0;
}

/* ---- exec ---------------------------------------------------------------------------------- */

/* The exec family shares one shape: fix the environment, end the trace, exec; if the exec
 * returns, it failed: continue recording in a new trace and return its error. */
typedef struct {
    sp_exec_env_mem mem;
    int restart;
} exec_state;

static char *const *exec_begin(exec_state *st, char *const envp[]) {
    char *const *env = sp_exec_env(envp, &st->mem);
    st->restart = sp_recording_before_exec();
    return env;
}

static int exec_end(exec_state *st) {
    int saved = errno;
    sp_exec_env_free(&st->mem);
    if (st->restart) {
        sp_recording_exec_failed();
    }
    errno = saved;
    return -1;
}

SP_EXPORT int execve(const char *path, char *const argv[], char *const envp[]) {
    exec_state st;
    char *const *env = exec_begin(&st, envp);
    REAL(execve, "execve")(path, argv, env);
    return exec_end(&st);
}

SP_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[]) {
    exec_state st;
    char *const *env = exec_begin(&st, envp);
    REAL(execvpe, "execvpe")(file, argv, env);
    return exec_end(&st);
}

SP_EXPORT int execv(const char *path, char *const argv[]) {
    exec_state st;
    char *const *env = exec_begin(&st, NULL);
    if (env != NULL) {
        REAL(execve, "execve")(path, argv, env); /* environ needed the recorder's variables */
    } else {
        REAL(execv, "execv")(path, argv);
    }
    return exec_end(&st);
}

SP_EXPORT int execvp(const char *file, char *const argv[]) {
    exec_state st;
    char *const *env = exec_begin(&st, NULL);
    if (env != NULL) {
        REAL(execvpe, "execvpe")(file, argv, env);
    } else {
        REAL(execvp, "execvp")(file, argv);
    }
    return exec_end(&st);
}

SP_EXPORT int fexecve(int fd, char *const argv[], char *const envp[]) {
    exec_state st;
    char *const *env = exec_begin(&st, envp);
    REAL(fexecve, "fexecve")(fd, argv, env);
    return exec_end(&st);
}

SP_EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[],
                       int flags) {
    exec_state st;
    char *const *env = exec_begin(&st, envp);
    REAL(execveat, "execveat")(dirfd, path, argv, env, flags);
    return exec_end(&st);
}

/* The execl* calls list their arguments; they become an argv on our stack (alloca: no heap,
 * as a vfork child requires). Returns the count, args[count] = NULL. */
#define COLLECT_ARGS(args, first, ap, extra_env)                                                   \
    do {                                                                                           \
        va_list count_ap;                                                                          \
        va_copy(count_ap, ap);                                                                     \
        size_t n_ = 1;                                                                             \
        while (va_arg(count_ap, char *) != NULL) {                                                 \
            n_++;                                                                                  \
        }                                                                                          \
        va_end(count_ap);                                                                          \
        args = alloca((n_ + 1) * sizeof(char *));                                                  \
        args[0] = (char *)(first);                                                                 \
        for (size_t i_ = 1; i_ <= n_; i_++) {                                                      \
            args[i_] = va_arg(ap, char *);                                                         \
        }                                                                                          \
        if (extra_env != NULL) {                                                                   \
            *(extra_env) = va_arg(ap, char *const *);                                              \
        }                                                                                          \
    } while (0)

SP_EXPORT int execl(const char *path, const char *arg, ...) {
    va_list ap;
    va_start(ap, arg);
    char **args;
    COLLECT_ARGS(args, arg, ap, (char *const **)NULL);
    va_end(ap);
    exec_state st;
    char *const *env = exec_begin(&st, NULL);
    REAL(execve, "execve")(path, args, env != NULL ? env : environ);
    return exec_end(&st);
}

SP_EXPORT int execlp(const char *file, const char *arg, ...) {
    va_list ap;
    va_start(ap, arg);
    char **args;
    COLLECT_ARGS(args, arg, ap, (char *const **)NULL);
    va_end(ap);
    exec_state st;
    char *const *env = exec_begin(&st, NULL);
    REAL(execvpe, "execvpe")(file, args, env != NULL ? env : environ);
    return exec_end(&st);
}

SP_EXPORT int execle(const char *path, const char *arg, ...) {
    va_list ap;
    va_start(ap, arg);
    char **args;
    char *const *envp = NULL;
    COLLECT_ARGS(args, arg, ap, &envp);
    va_end(ap);
    exec_state st;
    char *const *env = exec_begin(&st, envp);
    REAL(execve, "execve")(path, args, env);
    return exec_end(&st);
}

/* ---- signals ------------------------------------------------------------------------------- */

SP_EXPORT int sigaction(int signo, const struct sigaction *act, struct sigaction *oldact) {
    return sp_signals_sigaction(signo, act, oldact);
}

/* glibc's signal() has BSD semantics: SA_RESTART, handler stays installed. */
SP_EXPORT sighandler_t signal(int signo, sighandler_t handler) {
    struct sigaction act, old;
    memset(&act, 0, sizeof act);
    act.sa_handler = handler;
    act.sa_flags = SA_RESTART;
    sigemptyset(&act.sa_mask);
    sigaddset(&act.sa_mask, signo);
    if (sp_signals_sigaction(signo, &act, &old) != 0) {
        return SIG_ERR;
    }
    return old.sa_handler;
}

/* ---- the dynamic loader -------------------------------------------------------------------- */

/* Takes the CPU sample deferred while the loader ran (sp_sampler_take_deferred), innermost
 * frame the wrapper whose return address caller is. errno stays the loader's. */
static void take_loader_sample(uintptr_t caller) {
    if (sp_sampler_deferred_pending()) {
        int saved_errno = errno;
        sp_sampler_take_deferred(caller, SP_SAMPLE_LOADER);
        errno = saved_errno;
    }
}

/* libunwind looks up unwind tables under the loader's lock, which dlopen holds: a sample that
 * lands on this thread meanwhile (in the loader, or in the library's constructors) is deferred,
 * and taken here once the loader is done, as a sample in dlopen. */
SP_EXPORT void *dlopen(const char *file, int mode) {
    int prev = sp_sampler_set_in_dl(1);
    void *h = REAL(dlopen, "dlopen")(file, mode);
    sp_sampler_set_in_dl(prev);
    if (h != NULL) {
        sp_wall_mappings_changed(); /* the writer rescans mappings on its next drain */
    }
    take_loader_sample((uintptr_t)__builtin_return_address(0));
    return h;
}

SP_EXPORT int dlclose(void *handle) {
    /* Symbolize what was sampled in the library while it is still mapped, and keep the
     * wall-clock sampler from reading its unwind tables while it goes. */
    sp_writer_thread_sync(DLCLOSE_SYNC_NS);
    sp_wall_hold();
    int prev = sp_sampler_set_in_dl(1);
    int rc = REAL(dlclose, "dlclose")(handle);
    sp_sampler_set_in_dl(prev);
    sp_wall_mappings_changed();
    sp_wall_release_hold();
    take_loader_sample((uintptr_t)__builtin_return_address(0));
    return rc;
}

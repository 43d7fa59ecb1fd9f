/* interpose.c: the libc functions libspprof.so replaces, each a thin wrapper around the real one
 * (dlsym RTLD_NEXT): pthread_create (register the new thread), pthread_setname_np and prctl
 * (renames), fork and posix_spawn (CHILD records), the exec family (END exec, then follow the
 * new image), _exit, _Exit and quick_exit (finish the trace first), sigaction and signal (share
 * signals with the program), dlopen and dlclose (no unwinding inside the loader). Every wrapper
 * behaves exactly like the real function when nothing is recording. The version script exports
 * these names and nothing else but spprof_*. */
#define _GNU_SOURCE
#include "recorder/interpose.h"

#include <dlfcn.h>
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <spawn.h>
#include <alloca.h>

#include "recorder/exec_env.h"
#include "recorder/recording.h"
#include "recorder/sampler.h"
#include "recorder/signals.h"
#include "recorder/threads.h"
#include "recorder/wall.h"
#include "recorder/writer_thread.h"

#define SP_EXPORT __attribute__((visibility("default")))
#define DLCLOSE_SYNC_NS 1000000000u /* symbolize a library's samples before it goes, 1 s at most */

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
    _Atomic int tid; /* set by the new thread before it runs start */
} internal_start;

static void *internal_trampoline(void *p) {
    internal_start *s = p;
    void *(*start)(void *) = s->start;
    void *arg = s->arg;
    int tid = (int)syscall(SYS_gettid);
    sp_threads_note_internal(tid); /* never adopted from /proc/self/task */
    atomic_store(&s->tid, tid);    /* s lives on the creator's stack: last touch */
    return start(arg);
}

int sp_create_internal_thread(pthread_t *thread, void *(*start)(void *), void *arg) {
    internal_start s = {start, arg, 0};
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* the new thread inherits this mask */
    int rc = REAL(pthread_create, "pthread_create")(thread, NULL, internal_trampoline, &s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    while (rc == 0 && atomic_load(&s.tid) == 0) {
        sched_yield(); /* until it noted its tid: adoption must never pick it up */
    }
    return rc;
}

/* ---- threads ------------------------------------------------------------------------------- */

SP_EXPORT int pthread_create(pthread_t *thread, const pthread_attr_t *attr,
                             void *(*start)(void *), void *arg) {
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

SP_EXPORT pid_t fork(void) {
    pid_t pid = REAL(fork, "fork")(); /* the atfork handlers do the child's side */
    if (pid > 0) {
        sp_recording_forked(pid);
    }
    return pid;
}

static int spawn_common(int search, pid_t *pid, const char *path,
                        const posix_spawn_file_actions_t *actions, const posix_spawnattr_t *attr,
                        char *const argv[], char *const envp[]) {
    sp_exec_env_mem mem;
    char *const *env = sp_exec_env(envp, &mem);
    pid_t child = 0;
    spawn_fn fn = search ? REAL(spawnp, "posix_spawnp") : REAL(spawn, "posix_spawn");
    int rc = fn(&child, path, actions, attr, argv, env != NULL ? env : environ);
    sp_exec_env_free(&mem);
    if (rc == 0) {
        sp_recording_spawned(child);
    }
    if (pid != NULL) {
        *pid = child;
    }
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
            n_++;                                                                              \
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

/* libunwind looks up unwind tables under the loader's lock, which dlopen holds: a sample taken
 * on this thread meanwhile would deadlock, so it is dropped and counted as busy instead. */
SP_EXPORT void *dlopen(const char *file, int mode) {
    int prev = sp_sampler_set_in_dl(1);
    void *h = REAL(dlopen, "dlopen")(file, mode);
    sp_sampler_set_in_dl(prev);
    if (h != NULL) {
        sp_wall_mappings_changed(); /* the writer rescans mappings on its next drain */
    }
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
    return rc;
}

/* exec_env.h: the environment a followed program is exec'd or spawned with. A program may pass
 * an environment of its own (execve, posix_spawn) or clear LD_PRELOAD; to follow it anyway, the
 * recorder's variables (LD_PRELOAD with libspprof.so, SPPROF_*) are put back. Normal context:
 * never used in a vfork child, which must not allocate. */
#ifndef SPPROF_RECORDER_EXEC_ENV_H
#define SPPROF_RECORDER_EXEC_ENV_H

#include <stddef.h>

typedef struct {
    void *map; /* mmap'ed block holding a rebuilt environment, or NULL */
    size_t map_bytes;
} sp_exec_env_mem;

/* Returns the environment to exec with: envp (NULL means environ) when it already carries the
 * recorder's variables or children are not followed, else a rebuilt copy that lives in *mem.
 * Not async-signal-safe. */
char *const *sp_exec_env(char *const envp[], sp_exec_env_mem *mem);

/* Will a program started with envp (NULL means environ) as it is be followed: does it carry
 * LD_PRELOAD naming libspprof.so and every SPPROF_* variable, while this process follows
 * children? For children libc starts with environ, which the recorder cannot rebuild (popen).
 * Not async-signal-safe. */
int sp_exec_env_follows(char *const envp[]);

/* Unmaps a rebuilt environment (after a failed exec or after posix_spawn).
 * Not async-signal-safe. */
void sp_exec_env_free(sp_exec_env_mem *mem);

#endif /* SPPROF_RECORDER_EXEC_ENV_H */

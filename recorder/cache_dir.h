/* cache_dir.h: where the recorder keeps what one recorded process works out and the next can
 * reuse (debug_cache.h, symtab_index.h): $SPPROF_CACHE_DIR, else $XDG_CACHE_HOME/spprof, else
 * $HOME/.cache/spprof. SPPROF_CACHE_DIR=off (or an empty value) turns every cache off. Entries
 * are named by build-id, so a file is never stale, and written whole before a rename, so a
 * reader never sees a partial one. A SPPROF_CACHE_DIR that cannot be created is said once per
 * process on stderr; the default directory fails quietly. Writer thread only; not
 * async-signal-safe. */
#ifndef SPPROF_RECORDER_CACHE_DIR_H
#define SPPROF_RECORDER_CACHE_DIR_H

#include <elfutils/libdwfl.h>
#include <stddef.h>

/* Fills path with CACHE/subdir/name, making CACHE/subdir on the way. Returns 0, or -1 when the
 * cache is off, has no home, or the directory cannot be made. */
int sp_cache_path(const char *subdir, const char *name, char *path, size_t size);

/* Writes the file at path whole: fill writes its content to a fresh temporary file beside it
 * (returning 0, or -1 on failure), which is then renamed to path, so a reader never sees a
 * partial file. Returns 0, or -1 with nothing left behind. */
int sp_cache_write(const char *path, int (*fill)(int fd, void *ctx), void *ctx);

/* Fills hex with mod's build-id in lowercase hexadecimal. Returns 0, or -1 when the module has
 * none (or hex is too small). */
int sp_cache_build_id_hex(Dwfl_Module *mod, char *hex, size_t size);

#endif /* SPPROF_RECORDER_CACHE_DIR_H */

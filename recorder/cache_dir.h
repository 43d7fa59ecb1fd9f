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

/* Keeps at most keep files in the directory holding path (one of the cache's subdirectories):
 * removes the least recently modified beyond that. Files are named by build-id, so a program
 * rebuilt every day would otherwise leave one more in symtab/ and lines/ per build, forever.
 * Call after writing path; concurrent readers keep what they mapped. */
void sp_cache_evict(const char *path, size_t keep);

/* Marks the cache file at path as in use (its modification time becomes now) when it was last
 * marked more than a day ago, so that eviction spares files every process reads but none has
 * needed to rewrite lately. */
void sp_cache_touch(const char *path);

/* Fills hex with mod's build-id in lowercase hexadecimal. Returns 0, or -1 when the module has
 * none (or hex is too small). */
int sp_cache_build_id_hex(Dwfl_Module *mod, char *hex, size_t size);

#endif /* SPPROF_RECORDER_CACHE_DIR_H */

/* debug_cache.h: a cache of separate debug files with their DWARF sections decompressed, shared
 * by every process the recorder follows. Debian's -dbg and -dbgsym packages (libc6-dbg) ship
 * zlib-compressed .debug_* sections, which libdw inflates whole, into anonymous memory, in every
 * process that names one frame of that library: 30-40 ms and ~40 MB of page faults per process
 * for glibc's. The first process that needs a debug file writes an uncompressed copy under the
 * cache directory (by build-id, atomically, by rename); every later one maps that copy and
 * shares its pages through the page cache. perf keeps its ~/.debug cache the same way.
 *
 * The directory is cache_dir.h's, under debug/. Any failure (no home, a read-only disk, a full
 * disk) leaves libdw reading the compressed file as before. Runs on the
 * writer thread only; not async-signal-safe. */
#ifndef SPPROF_RECORDER_DEBUG_CACHE_H
#define SPPROF_RECORDER_DEBUG_CACHE_H

#include <elfutils/libdwfl.h>

/* A libdwfl find_debuginfo callback. A module's separate debug file with compressed sections
 * is served from its uncompressed copy in the cache, made on first use; everything else (no
 * cache, uncompressed files, dwz alternate files) goes to dwfl_build_id_find_debuginfo: local
 * lookups by build-id only, never debuginfod. Returns an open descriptor or -1, as libdwfl
 * expects. */
int sp_debug_cache_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
                                  Dwarf_Addr base, const char *file_name,
                                  const char *debuglink_file, GElf_Word debuglink_crc,
                                  char **debuginfo_file_name);

/* Writes an uncompressed copy of the ELF file open on src_fd to dst_path (through a temporary
 * file and rename, so readers never see a partial copy). Returns 0, or -1 with nothing left
 * behind. Exposed for the tests. */
int sp_debug_cache_write_copy(int src_fd, const char *dst_path);

#endif /* SPPROF_RECORDER_DEBUG_CACHE_H */

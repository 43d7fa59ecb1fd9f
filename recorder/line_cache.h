/* line_cache.h: an address's source locations (its line and the calls inlined there) from
 * DWARF, and from a cache of them per function, kept in the cache directory (cache_dir.h, under
 * lines/, by build-id) so that later processes name their frames without reading the module's
 * DWARF at all.
 *
 * Why: reading libc6-dbg's DWARF costs every recorded process ~25 ms of writer CPU and ~5 MB
 * of memory before its first libc frame has a line (libdw sorts the whole address-range table
 * and parses the compile unit's DIEs and line table), although the answer never changes for a
 * given build-id; a test suite pays the same for its own test binary in every process. The cache
 * holds, per function (a symbol table entry), the line-table rows and the inlined calls that fall
 * inside it, so any address in a function seen before (a CPU sample lands on any of its
 * instructions) is answered from the file. A function seen for the first time is read from DWARF as
 * before and added; the file is rewritten when the symbolizer closes, merged with whatever another
 * process wrote meanwhile. Writer thread only; not async-signal-safe. */
#ifndef SPPROF_RECORDER_LINE_CACHE_H
#define SPPROF_RECORDER_LINE_CACHE_H

#include <elfutils/libdwfl.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sp_line_cache sp_line_cache;

/* One source location, as symbols.c builds frames from it. Strings stay valid until the cache
 * is closed. */
typedef struct {
    const char *function; /* NULL when unknown */
    const char *file;     /* NULL when unknown */
    int line;             /* 0 when unknown */
} sp_source_location;

/* Reads address's source locations (address absolute, as dwfl reports addresses) from mod's
 * DWARF, innermost first: the line at address (dwfl_module_getsrc), then for each call inlined
 * there (innermost first) the inlined function's name on the location before it and the call
 * site as the next location, at most max. The last location's function is the subprogram's
 * DWARF name (NULL when unknown). Returns how many (at least 1; max must be at least 1). */
size_t sp_dwarf_locations(Dwfl_Module *mod, uint64_t address, sp_source_location *locs, size_t max);

/* Opens mod's cache: maps its file when an earlier process left one. Returns NULL when the
 * module has no build-id, the cache directory is off or unusable, or memory runs out (the
 * caller then reads DWARF as usual). */
sp_line_cache *sp_line_cache_open(Dwfl_Module *mod);

/* Looks up address in the function starting at function_start. On a hit, fills locs exactly as
 * sp_dwarf_locations would. Returns how many locations (at least 1), or 0 when the function is
 * not cached. */
size_t sp_line_cache_lookup(const sp_line_cache *c, uint64_t function_start, uint64_t address,
                            sp_source_location *locs, size_t max);

/* Reads the function [start, end) from mod's DWARF (its line rows and inlined calls) into the
 * cache. Returns 0, or -1 when mod has no DWARF for it or memory ran out (the caller reads
 * DWARF directly). */
int sp_line_cache_add(sp_line_cache *c, Dwfl_Module *mod, uint64_t start, uint64_t end);

/* Writes the functions added since open to the cache file (merged with the file's current
 * content), then frees the cache. Accepts NULL. */
void sp_line_cache_close(sp_line_cache *c);

#endif /* SPPROF_RECORDER_LINE_CACHE_H */

/* symbols.h: turns instruction addresses of this process into interned trace frames: function
 * names from the symbol tables, source file and line from DWARF, mappings with their GNU
 * build-ids, so a trace names everything without the binaries. Writer thread only. */
#ifndef SPPROF_RECORDER_SYMBOLS_H
#define SPPROF_RECORDER_SYMBOLS_H

#include <stddef.h>
#include <stdint.h>

#include "tracefmt/sptrace.h"

typedef struct sp_symbols sp_symbols;

/* Creates a symbolizer that interns its strings, mappings and frames into w, and scans the
 * loaded objects (dl_iterate_phdr) and this process's modules (libdwfl). When libdwfl cannot
 * start, frames still carry their address and mapping, with no names. Functions are named from
 * the symbol tables (a separate debug file's when one is installed) and DWARF, which also gives
 * source files, lines and inlined calls wherever it exists. Without system_lines, system
 * libraries (installed under /lib, /usr/lib and the like) skip DWARF: libdw inflates every
 * compressed debug section of a module the first time it reads one, 30-40 ms of CPU for
 * libc6-dbg's alone, which every recorded process (and every followed child) pays. Returns NULL
 * only when memory runs out. Not async-signal-safe. */
sp_symbols *sp_symbols_create(spt_writer *w, int system_lines);

/* Symbolizes the instruction address pc into frames interned in w and points *ids at their ids,
 * outermost first: the function holding the code, then each call inlined into it at pc
 * (flag SPT_FRAME_INLINED), so a stack expands to the calls the source made. is_caller says pc
 * is a return address (every frame but the innermost), so names and lines are looked up at
 * pc - 1, the call instruction, which may belong to another line or even another function.
 * Results are cached per (pc, is_caller); *ids stays valid until the next call. Returns the
 * number of frames (at least 1), or 0 when the writer failed (see spt_writer_error).
 * Not async-signal-safe. */
size_t sp_symbols_frames(sp_symbols *s, uint64_t pc, int is_caller, const uint32_t **ids);

/* Returns the frame id of a synthetic frame named name (such as "[truncated]"): no address, flag
 * SPT_FRAME_SYNTHETIC. Returns 0 when the writer failed. Not async-signal-safe. */
uint32_t sp_symbols_synthetic(sp_symbols *s, const char *name);

/* Finds the function (symbol table entry) holding addr: [*lo, *hi), from the same index that
 * names frames (symtab_index.h: a symbol without a size reaches the next one). Returns 0, or -1
 * when unknown. Not async-signal-safe. */
int sp_symbols_function_range(sp_symbols *s, uint64_t addr, uint64_t *lo, uint64_t *hi);

/* Frees the symbolizer (not the writer). Accepts NULL. Not async-signal-safe. */
void sp_symbols_destroy(sp_symbols *s);

#endif /* SPPROF_RECORDER_SYMBOLS_H */

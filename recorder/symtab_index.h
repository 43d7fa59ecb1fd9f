/* symtab_index.h: a module's function symbols sorted by address, for naming frames.
 * dwfl_module_addrinfo scans a module's whole symbol table on every lookup: for libLLVM's
 * 100,000 symbols that is half a millisecond per frame, and recording one clang compile cost
 * 0.6 s of writer CPU. This index reads the table once (the symbol table dwfl chose: the
 * separate debug file's when installed) and answers by binary search. Building it still costs
 * ~40 ms for libLLVM, in every process that names a frame there (every compiler of a build), so
 * the index is kept in the cache directory (cache_dir.h, under symtab/, by build-id and symbol
 * count) and later processes map it. Writer thread only. */
#ifndef SPPROF_RECORDER_SYMTAB_INDEX_H
#define SPPROF_RECORDER_SYMTAB_INDEX_H

#include <elfutils/libdwfl.h>
#include <stdint.h>

typedef struct sp_symtab_index sp_symtab_index;

/* Builds the index of mod's function symbols (STT_FUNC and STT_GNU_IFUNC, defined, non-empty
 * names). Where several name one address, a global symbol wins over a weak one, a weak one over
 * a local one, and a sized one over one of size zero. Returns NULL when the module has no such
 * symbols or memory runs out. The index holds its own copy of the names, read from the cache
 * when an earlier process left one there. Not async-signal-safe. */
sp_symtab_index *sp_symtab_index_build(Dwfl_Module *mod);

/* The name of the function whose symbol covers address (absolute, as dwfl reports addresses),
 * or NULL. A symbol of size zero covers everything up to the next symbol. Not
 * async-signal-safe. */
const char *sp_symtab_index_lookup(const sp_symtab_index *ix, uint64_t address);

/* As sp_symtab_index_lookup, and when a name is found and start and end are not NULL, sets
 * [*start, *end) to the addresses its symbol covers. Not async-signal-safe. */
const char *sp_symtab_index_find(const sp_symtab_index *ix, uint64_t address, uint64_t *start,
                                 uint64_t *end);

/* Frees the index. Accepts NULL. Not async-signal-safe. */
void sp_symtab_index_free(sp_symtab_index *ix);

#endif /* SPPROF_RECORDER_SYMTAB_INDEX_H */

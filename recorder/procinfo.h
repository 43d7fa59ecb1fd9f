/* procinfo.h: small facts about this process from /proc and uname, for the trace header and
 * the writer: the executable, the command line, the host, the stack mapping holding an address.
 * Normal context only: these allocate and read files. */
#ifndef SPPROF_RECORDER_PROCINFO_H
#define SPPROF_RECORDER_PROCINFO_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/utsname.h>

typedef struct {
    char exe[PATH_MAX];  /* /proc/self/exe, "" if unreadable */
    char *cmdline;       /* /proc/self/cmdline, NUL-separated (malloc'ed) */
    const char **argv;   /* argc pointers into cmdline (malloc'ed) */
    uint32_t argc;
    struct utsname uts;  /* zeroed if uname failed */
} sp_procinfo;

/* Reads a whole small file (/proc/self/cmdline, /proc/self/maps) into a malloc'ed,
 * NUL-terminated buffer. Returns NULL on failure; *len_out is the byte count.
 * Not async-signal-safe. */
char *sp_read_file(const char *path, size_t *len_out);

/* Fills *info; fields that cannot be read stay empty. Not async-signal-safe. */
void sp_procinfo_get(sp_procinfo *info);

/* Frees what sp_procinfo_get allocated. Not async-signal-safe. */
void sp_procinfo_release(sp_procinfo *info);

/* Finds the mapping of this process that holds address addr and stores its end in *top.
 * Returns 0, or -1 when none holds it. Not async-signal-safe. */
int sp_mapping_end(uint64_t addr, uint64_t *top);

/* The executable segment of libspprof.so, [*start, *end): the recorder's own frames lie there.
 * Both stay 0 when it cannot be found, and when the recorder is linked into the program itself
 * (the C API): that segment is the program's code too. Not async-signal-safe (dladdr,
 * dl_iterate_phdr). */
void sp_own_text(uint64_t *start, uint64_t *end);

#endif /* SPPROF_RECORDER_PROCINFO_H */

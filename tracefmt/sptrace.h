/* sptrace.h: the one public API for writing and reading .sptrace files.
 *
 * The byte layout is specified in docs/format.md; this header is the programmer's view of it.
 * tracefmt depends on libzstd and libxxhash only. Nothing here is async-signal-safe: the
 * recorder calls the writer from its background writer thread, never from a signal handler.
 *
 * Ids. Strings, mappings, frames, stacks and threads are referred to by uint32_t ids that start
 * at 1; 0 always means "none" (the empty string, no mapping, the root of the stack tree, no
 * thread). The writer assigns ids as things are interned; the reader assigns its own dense ids in
 * the order definitions are first read. The two id spaces are not the same numbers. A
 * definition restated in a later chunk keeps the reader id it was first given, and a stack's
 * parent always has a lower id than the stack, in both id spaces. Events may name thread 0
 * (not tied to a thread) and stack 0 (an empty stack).
 *
 * Times are nanoseconds since the trace started (spt_header.start_mono_ns), stored in the file
 * with the resolution spt_header.tick_ns.
 */
#ifndef SPTRACE_H
#define SPTRACE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SPT_FORMAT_MAJOR 1 /* readers refuse any other major version */
#define SPT_FORMAT_MINOR 0 /* readers accept any minor version, skipping unknown records */

/* ---------------------------------------------------------------------------------------------
 * Status codes. Values are stable and never reused.
 * ------------------------------------------------------------------------------------------- */
typedef enum {
    SPT_OK = 0,          /* success */
    SPT_END = 1,         /* spt_reader_next: no more events (not an error) */
    SPT_E_IO = 2,        /* open/read/write failed; the message carries strerror */
    SPT_E_BAD_MAGIC = 3, /* not an .sptrace file */
    SPT_E_VERSION = 4,   /* a format major version this library does not read */
    SPT_E_TRUNCATED = 5, /* the file ends inside its header */
    SPT_E_CORRUPT = 6,   /* the header is damaged (chunk damage is a warning, see reader) */
    SPT_E_NOMEM = 7,     /* an allocation failed or the reader's memory limit was reached */
    SPT_E_LIMIT = 8,     /* a documented limit was exceeded (string length, stack depth, ...) */
    SPT_E_USAGE = 9,     /* the API was called wrongly (bad id, writer already failed, ...) */
    SPT_E_COMPRESS = 10  /* zstd refused to compress */
} spt_status;

/* Returns a short constant name for a status ("truncated", "corrupt", ...). Never NULL. */
const char *spt_status_name(spt_status status);

/* ---------------------------------------------------------------------------------------------
 * Allocator hook. Tests use it to make the Nth allocation fail; the recorder uses it to keep the
 * writer's allocations out of its own malloc hooks. NULL fields mean the libc functions.
 * ------------------------------------------------------------------------------------------- */
typedef struct {
    void *(*malloc_fn)(void *ctx, size_t size_bytes);
    void *(*realloc_fn)(void *ctx, void *ptr, size_t size_bytes);
    void (*free_fn)(void *ctx, void *ptr);
    void *ctx;
} spt_allocator;

/* ---------------------------------------------------------------------------------------------
 * Header: what was recorded, known when recording starts (docs/format.md section 3).
 * ------------------------------------------------------------------------------------------- */
typedef enum {
    SPT_CLOCK_CPU_THREAD = 0,  /* per-thread CPU-time timers (CLOCK_THREAD_CPUTIME_ID) */
    SPT_CLOCK_CPU_PROCESS = 1, /* one process-wide CPU-time timer (fallback when refused) */
    SPT_CLOCK_WALL = 2         /* wall-clock sampling of every thread, running or not */
} spt_clock;

typedef enum {
    SPT_ALLOC_OFF = 0,    /* allocations not recorded */
    SPT_ALLOC_ALL = 1,    /* every allocation and every free recorded */
    SPT_ALLOC_SAMPLED = 2 /* Poisson sampling by bytes, mean alloc_sample_bytes apart */
} spt_alloc_mode;

typedef struct {
    uint16_t format_major;        /* filled by the reader; ignored by the writer */
    uint16_t format_minor;        /* filled by the reader; ignored by the writer */
    const char *recorder_version; /* e.g. "spprof 0.1.0" */
    uint64_t start_wall_ns;       /* CLOCK_REALTIME when recording started, ns since the epoch */
    uint64_t start_mono_ns;       /* CLOCK_MONOTONIC at the same moment */
    uint64_t tick_ns;             /* resolution of stored times; 0 means the default, 1000 */
    uint32_t pid;
    uint32_t ppid;
    const char *executable; /* absolute path of the profiled executable */
    uint32_t argc;
    const char *const *argv; /* argc command-line arguments */
    const char *hostname;
    const char *arch; /* "x86_64", "aarch64", ... */
    spt_clock clock;
    uint64_t interval_ns; /* sampling interval */
    spt_alloc_mode alloc_mode;
    uint64_t alloc_sample_bytes; /* mean bytes between allocation samples (SPT_ALLOC_SAMPLED) */
    uint32_t python_version;     /* PY_VERSION_HEX of the profiled interpreter; 0 if none */
    uint32_t max_depth;          /* deepest stack the recorder captures */
    const char *trace_id;        /* run id shared by a process and its followed children */
    const char *parent_trace;    /* path of the parent process's trace; "" if none */
} spt_header;

/* ---------------------------------------------------------------------------------------------
 * Definitions. The same structs serve both directions: the writer reads string ids from its own
 * id space, the reader fills them with ids from its id space (see spt_reader_string).
 * ------------------------------------------------------------------------------------------- */
typedef struct {
    uint64_t start;       /* first address of the mapping in the recorded process */
    uint64_t end;         /* one past the last address */
    uint64_t file_offset; /* offset in the file that is mapped at start */
    uint32_t path;        /* string id of the file's path */
    uint8_t build_id_len; /* 0 if the file has no GNU build-id note; at most 64 */
    uint8_t build_id[64];
} spt_mapping;

typedef enum {
    SPT_FRAME_NATIVE = 1, /* a machine-code frame: address, mapping, symbolized name */
    SPT_FRAME_PYTHON = 2  /* a CPython frame: code object, qualified name, line */
} spt_frame_kind;

/* Native: this frame is a function inlined into the frame just outside it (the previous one in
 * outermost-first order), at the same address. The outermost frame of such a group, the real
 * function, has no flag; every frame but the innermost carries its call site's file and line. */
#define SPT_FRAME_INLINED   0x1u
#define SPT_FRAME_SYNTHETIC 0x2u /* a placeholder such as "[truncated]"; no address */

typedef struct {
    spt_frame_kind kind;
    uint32_t function;   /* string id: function name, or Python qualified name; 0 = unknown */
    uint32_t file;       /* string id: source file; 0 = unknown */
    uint32_t line;       /* source line; 0 = unknown */
    uint32_t flags;      /* SPT_FRAME_* bits */
    uint64_t address;    /* native: the instruction address as unwound (return address for
                            callers, exact PC for the innermost frame) */
    uint32_t mapping;    /* native: mapping id holding the address; 0 = unknown */
    uint64_t code_id;    /* python: identity of the code object (its address in the process) */
    uint32_t first_line; /* python: co_firstlineno */
} spt_frame;

/* A stack is a node of a prefix tree: its parent's frames, then one more (innermost) frame. */
typedef struct {
    uint32_t parent; /* stack id of the caller part; 0 = this is an outermost frame */
    uint32_t frame;  /* frame id of the innermost frame */
    uint32_t depth;  /* number of frames (1 for an outermost frame); reader fills it */
} spt_stack;

typedef struct {
    uint32_t os_tid;   /* kernel thread id */
    uint32_t name;     /* string id of the current name */
    uint64_t start_ns; /* when the thread was first seen */
    uint64_t end_ns;   /* when it ended; reader: 0 if no end was recorded */
} spt_thread;

/* ---------------------------------------------------------------------------------------------
 * Events: everything that happens at a time. The reader returns these; definitions are absorbed
 * into its tables and looked up by id.
 * ------------------------------------------------------------------------------------------- */
typedef enum {
    SPT_EV_SAMPLE = 1,       /* a CPU or wall-clock sample (or an aggregated stack total) */
    SPT_EV_ALLOC = 2,        /* a recorded allocation */
    SPT_EV_FREE = 3,         /* a recorded free of a recorded allocation */
    SPT_EV_MARKER = 4,       /* a user marker, e.g. a test's name */
    SPT_EV_THREAD_START = 5, /* a thread was defined for the first time */
    SPT_EV_THREAD_NAME = 6,  /* a thread was renamed */
    SPT_EV_THREAD_END = 7,   /* a thread ended */
    SPT_EV_DROPS = 8,        /* the recorder dropped data and counted it */
    SPT_EV_CHILD = 9,        /* a followed child process has its own trace */
    SPT_EV_ALLOC_TOTAL = 10, /* an aggregated allocation site (aggregated traces) */
    SPT_EV_METADATA = 11,    /* a key/value fact learned while recording */
    SPT_EV_END = 12          /* the recording finished cleanly; totals in spt_end */
} spt_event_kind;

/* SPT_EV_SAMPLE flags. */
#define SPT_SAMPLE_IDLE 0x1u /* wall clock: the thread did not run since its previous sample */

typedef enum {
    SPT_DROP_RING_FULL = 1,       /* sample buffers full: samples dropped */
    SPT_DROP_UNWIND_FAILED = 2,   /* the unwinder failed: samples dropped */
    SPT_DROP_ALLOC_RING_FULL = 3, /* allocation events dropped */
    SPT_DROP_TRUNCATED_STACK = 4, /* stacks cut at max_depth (recorded, but incomplete) */
    SPT_DROP_BUSY = 5,            /* a sample arrived while the recorder was busy on the thread */
    SPT_DROP_FORK = 6             /* a sample arrived while a fork held the unwinder */
} spt_drop_reason;

typedef enum {
    SPT_CHILD_FORK = 1,
    SPT_CHILD_EXEC = 2, /* this process exec'd; the new program's trace continues the run */
    SPT_CHILD_SPAWN = 3
} spt_child_kind;

typedef enum {
    SPT_END_EXIT = 1,     /* normal exit; status = exit code */
    SPT_END_SIGNAL = 2,   /* fatal signal; status = signal number */
    SPT_END_EXEC = 3,     /* the process called execve */
    SPT_END_MAX_SIZE = 4, /* the trace reached its size cap; the program ran on */
    SPT_END_STOPPED = 5   /* stopped through the C API or by the tool */
} spt_end_reason;

typedef struct {
    spt_end_reason reason;
    int32_t status;           /* exit code or signal number */
    uint64_t duration_ns;     /* from start to end of recording */
    uint64_t samples;         /* 1 per SAMPLE record plus each SAMPLE_TOTAL's count (writer) */
    uint64_t sample_weight;   /* sum of their weights (filled by the writer) */
    uint64_t allocs;          /* ALLOC records written, not ALLOC_TOTAL estimates (writer) */
    uint64_t frees;           /* FREE records written (filled by the writer) */
    uint64_t dropped_samples; /* samples lost, every DROPS reason but 3 and 4 */
    uint64_t dropped_allocs;  /* allocation events lost */
    uint64_t allocs_seen;     /* allocations the recorder observed, recorded or not */
    uint64_t recorder_cpu_ns; /* CPU time the recorder spent (writer thread + handlers) */
    uint64_t process_cpu_ns;  /* CPU time of the whole process */
} spt_end;

typedef struct {
    spt_event_kind kind;
    uint64_t time_ns; /* since trace start; for aggregated records, the time they were written */
    uint32_t thread;  /* thread id; 0 = not tied to a thread */
    union {
        struct {
            uint32_t stack;  /* stack id */
            uint64_t weight; /* sampling intervals this stands for (1 + timer overruns) */
            uint64_t count;  /* raw samples merged into this one (1 unless aggregated) */
            uint32_t flags;  /* SPT_SAMPLE_* */
            int aggregated;  /* 1 when read from a SAMPLE_TOTAL record (no time order) */
        } sample;
        struct {
            uint32_t stack;
            uint64_t address;
            uint64_t size_bytes;
            uint64_t weight_bytes; /* estimated bytes this sample stands for (= size if all) */
        } alloc;
        struct {
            uint64_t address;
        } free;
        struct {
            uint32_t text; /* string id */
        } marker;
        struct {
            uint32_t name; /* string id (THREAD_START, THREAD_NAME) */
        } thread_info;
        struct {
            spt_drop_reason reason;
            uint64_t count; /* dropped since the previous DROPS event of this reason */
        } drops;
        struct {
            spt_child_kind kind;
            uint32_t pid;
            uint32_t trace_path; /* string id */
        } child;
        struct {
            uint32_t stack;
            uint64_t alloc_count; /* estimated allocations made at this site */
            uint64_t alloc_bytes; /* estimated bytes allocated */
            uint64_t live_count;  /* estimated allocations still live at the end */
            uint64_t live_bytes;  /* estimated bytes still live at the end */
        } alloc_total;
        struct {
            uint32_t key;   /* string id */
            uint32_t value; /* string id */
        } metadata;
        spt_end end;
    } u;
} spt_event;

/* ---------------------------------------------------------------------------------------------
 * Writer. One writer per file, used from one thread at a time.
 * ------------------------------------------------------------------------------------------- */
typedef struct spt_writer spt_writer;

typedef struct {
    int compression_level;     /* zstd level; 0 means the default, 3 */
    size_t chunk_bytes;        /* close a chunk after this many uncompressed bytes; 0 = 4 MiB */
    uint64_t chunk_max_age_ns; /* close a chunk at a flush this long after it opened; 0 = 60 s */
    size_t segment_bytes;      /* checksum and hand to zstd every this many bytes; 0 = 256 KiB */
    const spt_allocator *allocator; /* NULL = libc */
} spt_writer_options;

/* Creates (truncating) the file at path, close-on-exec, and writes the header. On success *out is
 * the writer. On failure *out is still set when memory allowed, so spt_writer_error() can say why;
 * close it. */
spt_status spt_writer_open(const char *path, const spt_header *header,
                           const spt_writer_options *options, spt_writer **out);

/* Like spt_writer_open but writes to an open file descriptor, which the writer does not close.
 * name is used in error messages only. */
spt_status spt_writer_open_fd(int fd, const char *name, const spt_header *header,
                              const spt_writer_options *options, spt_writer **out);

/* Interns a string of len bytes (any bytes, not only UTF-8) and returns its id, or 0 on failure
 * (the writer's error says why). The empty string is always id 0. Strings over 1 MiB fail. */
uint32_t spt_writer_string(spt_writer *w, const char *bytes, size_t len);

/* Interns a NUL-terminated string; same as spt_writer_string(w, s, strlen(s)). NULL gives 0. */
uint32_t spt_writer_cstring(spt_writer *w, const char *s);

/* Interns a mapping (its path is a string id from this writer) and returns its id, 0 on failure. */
uint32_t spt_writer_mapping(spt_writer *w, const spt_mapping *mapping);

/* Interns a frame whose string and mapping ids come from this writer. Two frames with equal
 * fields get the same id. Returns the id, 0 on failure. */
uint32_t spt_writer_frame(spt_writer *w, const spt_frame *frame);

/* Interns the stack made of stack `parent` (0 for none) with `frame` as its new innermost frame.
 * Returns the id, 0 on failure (unknown ids, or deeper than SPT_MAX_STACK_DEPTH). */
uint32_t spt_writer_stack(spt_writer *w, uint32_t parent, uint32_t frame);

/* Interns a whole stack given as n frame ids, outermost first. n = 0 gives 0 (the empty stack).
 * Returns the id of the innermost node, 0 on failure. */
uint32_t spt_writer_stack_path(spt_writer *w, const uint32_t *frames, size_t n);

/* Defines a new thread (os tid, name string id, start time) and returns its id, 0 on failure.
 * Each call defines a new thread, even for a reused os tid. */
uint32_t spt_writer_thread(spt_writer *w, uint32_t os_tid, uint32_t name, uint64_t start_ns);

/* Records that thread was renamed to string id `name` at time_ns. */
spt_status spt_writer_thread_name(spt_writer *w, uint32_t thread, uint64_t time_ns, uint32_t name);

/* Records that thread ended at time_ns. */
spt_status spt_writer_thread_end(spt_writer *w, uint32_t thread, uint64_t time_ns);

/* Records one CPU or wall-clock sample of `thread` with stack id `stack`; weight is the number of
 * sampling intervals it stands for (at least 1); flags are SPT_SAMPLE_* bits. */
spt_status spt_writer_sample(spt_writer *w, uint32_t thread, uint64_t time_ns, uint32_t stack,
                             uint64_t weight, uint32_t flags);

/* Records `count` samples of one (thread, stack, flags) with total weight, for aggregated
 * traces: time order is given up. */
spt_status spt_writer_sample_total(spt_writer *w, uint32_t thread, uint64_t time_ns, uint32_t stack,
                                   uint64_t count, uint64_t weight, uint32_t flags);

/* Records an allocation of size_bytes at address; weight_bytes is the number of bytes the sample
 * stands for (size_bytes when every allocation is recorded). */
spt_status spt_writer_alloc(spt_writer *w, uint32_t thread, uint64_t time_ns, uint64_t address,
                            uint64_t size_bytes, uint64_t weight_bytes, uint32_t stack);

/* Records the free of a recorded allocation at address. */
spt_status spt_writer_free(spt_writer *w, uint32_t thread, uint64_t time_ns, uint64_t address);

/* Records an aggregated allocation site (aggregated traces). */
spt_status spt_writer_alloc_total(spt_writer *w, uint32_t thread, uint64_t time_ns, uint32_t stack,
                                  uint64_t alloc_count, uint64_t alloc_bytes, uint64_t live_count,
                                  uint64_t live_bytes);

/* Records a marker: text (string id) at time_ns on thread (0 = process-wide). */
spt_status spt_writer_marker(spt_writer *w, uint32_t thread, uint64_t time_ns, uint32_t text);

/* Records that count more items were dropped for reason since the previous call for that
 * reason (counts are increments, not running totals). */
spt_status spt_writer_drops(spt_writer *w, uint64_t time_ns, spt_drop_reason reason,
                            uint64_t count);

/* Records that a followed child process (pid) writes the trace at trace_path (a string id). */
spt_status spt_writer_child(spt_writer *w, uint64_t time_ns, spt_child_kind kind, uint32_t pid,
                            uint32_t trace_path);

/* Records a key/value fact (string ids), e.g. ("python.executable", "/usr/bin/python3"). */
spt_status spt_writer_metadata(spt_writer *w, uint64_t time_ns, uint32_t key, uint32_t value);

/* Makes everything recorded so far durable: ends the current segment with a checksum, flushes
 * zstd and writes to the file. A reader then sees all of it, even if the process dies. Closes
 * the chunk when it is large or old enough. Call at least once a second while recording. */
spt_status spt_writer_flush(spt_writer *w);

/* The first resource error the writer met (SPT_OK if none). Calls that return ids return 0 on
 * failure, which for strings is also the empty string: this tells the two apart. */
spt_status spt_writer_status(const spt_writer *w);

/* Bytes written to the file so far (header and compressed chunks). */
uint64_t spt_writer_file_bytes(const spt_writer *w);

/* Uncompressed record bytes produced so far. */
uint64_t spt_writer_raw_bytes(const spt_writer *w);

/* Finishes the trace. If end is not NULL an END record is written with its fields (the writer
 * fills samples, sample_weight, allocs and frees itself), which marks the trace as complete; with
 * NULL the trace reads as unfinished, like one whose recorder was killed. Closes the file
 * (unless it came from spt_writer_open_fd). Returns the first error the writer met, if any;
 * spt_writer_error() still says why. Afterwards only spt_writer_error, spt_writer_status,
 * spt_writer_file_bytes, spt_writer_raw_bytes and spt_writer_destroy may be called. */
spt_status spt_writer_finish(spt_writer *w, const spt_end *end);

/* Frees the writer. A writer destroyed without spt_writer_finish leaves an unfinished trace (its
 * file is closed). Accepts NULL. */
void spt_writer_destroy(spt_writer *w);

/* spt_writer_finish then spt_writer_destroy, for callers that need only the status. */
spt_status spt_writer_close(spt_writer *w, const spt_end *end);

/* The last error as one line: "<file>: <what went wrong>". Never NULL. */
const char *spt_writer_error(const spt_writer *w);

/* ---------------------------------------------------------------------------------------------
 * Reader. Streams events; memory grows with unique definitions, not with events.
 * ------------------------------------------------------------------------------------------- */
typedef struct spt_reader spt_reader;

typedef struct {
    /* Called once per warning (damaged chunk skipped, truncated tail, unknown record kinds).
     * message is one line that names the file. NULL prints "spprof: <message>" to stderr. */
    void (*warn)(void *ctx, const char *message);
    void *warn_ctx;
    size_t max_memory_bytes;        /* cap on the reader's own tables; 0 = 4 GiB */
    const spt_allocator *allocator; /* NULL = libc */
} spt_reader_options;

/* What the reader saw; complete once spt_reader_next has returned SPT_END. */
typedef struct {
    uint64_t file_bytes;      /* bytes in the file (as far as read) */
    uint64_t header_bytes;    /* bytes of the file header */
    uint64_t raw_bytes;       /* uncompressed record bytes decoded */
    uint64_t chunks;          /* chunks found in the file, damaged ones included */
    uint64_t damaged_chunks;  /* chunks skipped, wholly or from the damage on */
    uint64_t damaged_bytes;   /* compressed bytes skipped because of damage */
    uint64_t records;         /* records decoded */
    uint64_t unknown_records; /* records of kinds this reader does not know, skipped */
    uint64_t events[16];      /* events returned, indexed by spt_event_kind */
    int truncated;            /* the last chunk was cut short (recorder killed or running) */
    uint64_t truncated_bytes; /* bytes at the end that could not be used */
    int ended_cleanly;        /* an END record was read */
    spt_end end;              /* the END record's totals, when ended_cleanly */
    uint64_t last_time_ns;    /* the latest event time seen */
} spt_reader_stats;

/* Opens the file at path and reads its header. On success *out is the reader. On failure *out is
 * still set when memory allowed, so that spt_reader_error() can say why; close it. Fails with
 * SPT_E_IO, SPT_E_BAD_MAGIC, SPT_E_VERSION, SPT_E_TRUNCATED, SPT_E_CORRUPT or SPT_E_NOMEM. */
spt_status spt_reader_open(const char *path, const spt_reader_options *options, spt_reader **out);

/* Like spt_reader_open but reads size bytes at data, which must stay valid until close.
 * name is used in messages. */
spt_status spt_reader_open_memory(const void *data, size_t size, const char *name,
                                  const spt_reader_options *options, spt_reader **out);

/* The header. Its strings belong to the reader. Valid until close. */
const spt_header *spt_reader_header(const spt_reader *r);

/* Reads the next event into *ev. Returns SPT_OK, SPT_END when the trace is exhausted, or an
 * error (SPT_E_IO, SPT_E_NOMEM, SPT_E_LIMIT) after which the reader is done. Damaged chunks and a
 * truncated tail are not errors: they are reported through the warn callback and skipped. */
spt_status spt_reader_next(spt_reader *r, spt_event *ev);

/* Definitions by id. Each returns NULL (or "" for strings) for 0 or an unknown id. The pointers
 * stay valid until the next call to spt_reader_next or close. */
const char *spt_reader_string(const spt_reader *r, uint32_t id);
size_t spt_reader_string_len(const spt_reader *r, uint32_t id);
const spt_mapping *spt_reader_mapping(const spt_reader *r, uint32_t id);
const spt_frame *spt_reader_frame(const spt_reader *r, uint32_t id);
const spt_stack *spt_reader_stack(const spt_reader *r, uint32_t id);
const spt_thread *spt_reader_thread(const spt_reader *r, uint32_t id);

/* How many of each definition the reader holds; ids run from 1 to the count. */
uint32_t spt_reader_string_count(const spt_reader *r);
uint32_t spt_reader_mapping_count(const spt_reader *r);
uint32_t spt_reader_frame_count(const spt_reader *r);
uint32_t spt_reader_stack_count(const spt_reader *r);
uint32_t spt_reader_thread_count(const spt_reader *r);

/* Counters about the file; see spt_reader_stats. */
const spt_reader_stats *spt_reader_get_stats(const spt_reader *r);

/* The last error as one line: "<file>: <where>: <what>". Never NULL; accepts NULL. */
const char *spt_reader_error(const spt_reader *r);

/* Frees the reader and everything it returned. Accepts NULL. */
void spt_reader_close(spt_reader *r);

/* ---------------------------------------------------------------------------------------------
 * Limits (docs/format.md section 7). Readers reject anything larger.
 * ------------------------------------------------------------------------------------------- */
#define SPT_MAX_HEADER_BYTES  (1u << 20)  /* the header frame's payload */
#define SPT_MAX_RECORD_BYTES  (16u << 20) /* one record's payload */
#define SPT_MAX_SEGMENT_BYTES (64u << 20) /* uncompressed bytes between two SYNC records */
#define SPT_MAX_STRING_BYTES  (1u << 20)  /* one string */
#define SPT_MAX_STACK_DEPTH   65536u      /* frames in one stack */
#define SPT_MAX_ARGS          65536u      /* command-line arguments in the header */

#ifdef __cplusplus
}
#endif
#endif /* SPTRACE_H */

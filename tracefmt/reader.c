/* reader.c: opens a trace, checks its header (docs/format.md section 3) and walks its chunks
 * (section 4): decompresses, cuts the stream into segments, checks each segment's SYNC checksum
 * before any of its records is decoded, and resynchronises at the next chunk after damage.
 * Memory is bounded by the largest segment plus the definition tables. */
#define _GNU_SOURCE /* pread, memmem, O_CLOEXEC */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "tracefmt/format.h"
#include "tracefmt/reader_int.h"
#include "tracefmt/varint.h"
#include "tracefmt/xalloc.h"

#define WINDOW_BYTES      (1u << 20)   /* how much of a file is read at once */
#define DECODE_STEP_BYTES (128u << 10) /* room made in the raw buffer per zstd call */

/* ---- messages ---------------------------------------------------------------------------- */

spt_status spt_rd_fatal(spt_reader *r, spt_status st, const char *fmt, ...) {
    int n = snprintf(r->err, sizeof r->err, "%s: ", r->name ? r->name : "(trace)");
    if (n < 0 || (size_t)n >= sizeof r->err)
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err + n, sizeof r->err - (size_t)n, fmt, ap);
    va_end(ap);
    r->fatal = st;
    return st;
}

__attribute__((format(printf, 2, 3))) static void warnf(spt_reader *r, const char *fmt, ...) {
    char msg[600];
    int n = snprintf(msg, sizeof msg, "%s: ", r->name ? r->name : "(trace)");
    if (n < 0 || (size_t)n >= sizeof msg)
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
    va_end(ap);
    if (r->warn)
        r->warn(r->warn_ctx, msg);
    else
        fprintf(stderr, "spprof: %s\n", msg);
}

/* ---- the source -------------------------------------------------------------------------- */

/* Points *p at up to want bytes at offset off; returns how many are available (0 at EOF). */
static size_t source_at(spt_reader *r, uint64_t off, size_t want, const uint8_t **p) {
    if (off >= r->file_size)
        return 0;
    uint64_t left = r->file_size - off;
    if (want > left)
        want = (size_t)left;
    if (r->mem) {
        *p = r->mem + off;
        return want;
    }
    if (want > r->win_cap)
        want = r->win_cap;
    if (off >= r->win_off && off + want <= r->win_off + r->win_len) {
        *p = r->win + (off - r->win_off);
        return want;
    }
    size_t got = 0;
    size_t fill = left < r->win_cap ? (size_t)left : r->win_cap;
    while (got < fill) {
        ssize_t n = pread(r->fd, r->win + got, fill - got, (off_t)(off + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            spt_rd_fatal(r, SPT_E_IO, "cannot read at byte %llu: %s", (unsigned long long)off,
                         strerror(errno));
            return 0;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    r->win_off = off;
    r->win_len = got;
    if (got < fill)
        r->file_size = off + got; /* the file shrank under us: treat as its end */
    *p = r->win;
    return got < want ? got : want;
}

/* ---- header (section 3) ------------------------------------------------------------------ */

static char *blob_put(char **cursor, const uint8_t *s, size_t len) {
    char *out = *cursor;
    if (len)
        memcpy(out, s, len);
    out[len] = 0;
    *cursor += len + 1;
    return out;
}

static spt_status read_header(spt_reader *r) {
    const uint8_t *p;
    size_t n = source_at(r, 0, 8, &p);
    if (r->fatal)
        return r->fatal;
    if (n == 0)
        return spt_rd_fatal(r, SPT_E_BAD_MAGIC, "file is empty, not an .sptrace trace");
    if (n < 4 || spt_load_le32(p) != SPT_HEADER_FRAME_MAGIC)
        return spt_rd_fatal(r, SPT_E_BAD_MAGIC, "not an .sptrace file (bad magic bytes)");
    if (n < 8)
        return spt_rd_fatal(r, SPT_E_TRUNCATED, "file ends inside its header (%zu bytes)", n);
    uint32_t size = spt_load_le32(p + 4);
    if (size > SPT_MAX_HEADER_BYTES)
        return spt_rd_fatal(r, SPT_E_CORRUPT, "header claims %u bytes, over the 1 MiB limit", size);
    if (size < SPT_MAGIC_BYTES + 4 + SPT_HEADER_CHECKSUM_BYTES)
        return spt_rd_fatal(r, SPT_E_CORRUPT, "header is %u bytes, too short", size);
    n = source_at(r, 8, size, &p);
    if (r->fatal)
        return r->fatal;
    if (n >= SPT_MAGIC_BYTES && memcmp(p, SPT_MAGIC, SPT_MAGIC_BYTES) != 0)
        return spt_rd_fatal(r, SPT_E_BAD_MAGIC, "not an .sptrace file (bad magic bytes)");
    if (n >= SPT_MAGIC_BYTES + 2 && spt_load_le16(p + SPT_MAGIC_BYTES) != SPT_FORMAT_MAJOR)
        return spt_rd_fatal(r, SPT_E_VERSION,
                            "format version %u.%u is not supported (this spprof reads %u.x)",
                            spt_load_le16(p + SPT_MAGIC_BYTES),
                            n >= SPT_MAGIC_BYTES + 4 ? spt_load_le16(p + SPT_MAGIC_BYTES + 2) : 0,
                            SPT_FORMAT_MAJOR);
    if (n < size)
        return spt_rd_fatal(r, SPT_E_TRUNCATED,
                            "file ends inside its header (%llu of %u bytes present)",
                            (unsigned long long)(8 + n), 8 + size);
    size_t body = size - SPT_HEADER_CHECKSUM_BYTES;
    if (XXH3_64bits(p, body) != spt_load_le64(p + body))
        return spt_rd_fatal(r, SPT_E_CORRUPT, "header is damaged (checksum mismatch)");

    spt_header *h = &r->header;
    h->format_major = SPT_FORMAT_MAJOR;
    h->format_minor = spt_load_le16(p + SPT_MAGIC_BYTES + 2);
    /* Strings are copied into one blob no larger than the header itself. */
    r->header_blob = spt_xmalloc(r->alloc, size + 16);
    if (!r->header_blob)
        return spt_rd_fatal(r, SPT_E_NOMEM, "out of memory reading the header");
    char *blob = r->header_blob;
    static const char empty[] = "";
    spt_cursor c = spt_cursor_make(p + SPT_MAGIC_BYTES + 4, body - SPT_MAGIC_BYTES - 4);
    size_t len;
    const uint8_t *s;
    /* Every field is optional: a header that ends early gives defaults (section 3). */
#define STR_FIELD(field)                                                                           \
    if (spt_cursor_at_end(&c)) {                                                                   \
        h->field = empty;                                                                          \
    } else {                                                                                       \
        s = spt_get_str(&c, SPT_MAX_HEADER_BYTES, &len);                                           \
        h->field = c.ok ? blob_put(&blob, s, len) : empty;                                         \
    }
    STR_FIELD(recorder_version);
    h->start_wall_ns = spt_get_uv_or(&c, 0);
    h->start_mono_ns = spt_get_uv_or(&c, 0);
    h->tick_ns = spt_get_uv_or(&c, SPT_DEFAULT_TICK_NS);
    uint64_t pid = spt_get_uv_or(&c, 0);
    uint64_t ppid = spt_get_uv_or(&c, 0);
    STR_FIELD(executable);
    uint64_t argc = spt_get_uv_or(&c, 0);
    if (!c.ok || pid > UINT32_MAX || ppid > UINT32_MAX)
        return spt_rd_fatal(r, SPT_E_CORRUPT, "header is damaged (a field near byte %llu)",
                            (unsigned long long)(8 + (uint64_t)(c.pos - p)));
    /* Each argument takes at least one byte, so a count beyond the bytes left is a lie. */
    if (argc > SPT_MAX_ARGS || argc > spt_cursor_left(&c))
        return spt_rd_fatal(r, SPT_E_CORRUPT,
                            "header is damaged: argument count %llu at byte %llu is over the "
                            "limit of 65,536 or the %zu bytes that remain",
                            (unsigned long long)argc,
                            (unsigned long long)(8 + (uint64_t)(c.pos - p)), spt_cursor_left(&c));
    h->pid = (uint32_t)pid;
    h->ppid = (uint32_t)ppid;
    r->argv = spt_xmalloc(r->alloc, (size_t)(argc + 1) * sizeof(char *));
    if (!r->argv)
        return spt_rd_fatal(r, SPT_E_NOMEM, "out of memory reading the header");
    h->argc = (uint32_t)argc;
    for (uint64_t i = 0; i < argc; i++) {
        s = spt_get_str(&c, SPT_MAX_HEADER_BYTES, &len);
        r->argv[i] = c.ok ? blob_put(&blob, s, len) : empty;
    }
    r->argv[argc] = NULL;
    h->argv = r->argv;
    STR_FIELD(hostname);
    STR_FIELD(arch);
    uint64_t clock = spt_get_uv_or(&c, 0);
    h->interval_ns = spt_get_uv_or(&c, 0);
    uint64_t alloc_mode = spt_get_uv_or(&c, 0);
    h->alloc_sample_bytes = spt_get_uv_or(&c, 0);
    h->python_version = (uint32_t)spt_get_uv_or(&c, 0);
    h->max_depth = (uint32_t)spt_get_uv_or(&c, 0);
    STR_FIELD(trace_id);
    STR_FIELD(parent_trace);
#undef STR_FIELD
    if (!c.ok)
        return spt_rd_fatal(r, SPT_E_CORRUPT, "header is damaged (a field overruns it)");
    if (h->tick_ns == 0)
        return spt_rd_fatal(r, SPT_E_CORRUPT, "header is damaged (tick_ns is 0)");
    h->clock = (spt_clock)(clock <= 2 ? clock : 0);
    h->alloc_mode = (spt_alloc_mode)(alloc_mode <= 2 ? alloc_mode : 0);
    r->pos = 8 + (uint64_t)size;
    r->stats.header_bytes = r->pos;
    return SPT_OK;
}

/* ---- open and close ---------------------------------------------------------------------- */

static spt_status open_common(spt_reader **out, const char *name, const spt_reader_options *o) {
    const spt_allocator *a = o ? o->allocator : NULL;
    spt_reader *r = spt_xmalloc(a, sizeof *r);
    *out = r;
    if (!r)
        return SPT_E_NOMEM;
    memset(r, 0, sizeof *r);
    r->fd = -1;
    if (a) {
        r->alloc_copy = *a;
        r->alloc = &r->alloc_copy;
    }
    size_t name_len = strlen(name);
    r->name = spt_xmalloc(r->alloc, name_len + 1);
    if (r->name)
        memcpy(r->name, name, name_len + 1);
    if (o) {
        r->warn = o->warn;
        r->warn_ctx = o->warn_ctx;
    }
    r->max_memory = o && o->max_memory_bytes ? o->max_memory_bytes : SPT_DEFAULT_READER_MEMORY;
    r->dctx = spt_chunk_in_create(r->alloc);
    if (!r->name || !r->dctx)
        return spt_rd_fatal(r, SPT_E_NOMEM, "out of memory opening the reader");
        /* Slot 0 of every table is "none". */
#define INIT_TABLE(t)                                                                              \
    if (spt_xgrow(r->alloc, (void **)&(t).v, &(t).cap, 1, sizeof((t).v[0])) != 0)                  \
        return spt_rd_fatal(r, SPT_E_NOMEM, "out of memory opening the reader");                   \
    memset((t).v, 0, sizeof((t).v[0]));                                                            \
    (t).n = 1
    INIT_TABLE(r->strings);
    INIT_TABLE(r->mappings);
    INIT_TABLE(r->frames);
    INIT_TABLE(r->stacks);
    INIT_TABLE(r->threads);
#undef INIT_TABLE
    return SPT_OK;
}

spt_status spt_reader_open(const char *path, const spt_reader_options *options, spt_reader **out) {
    spt_status st = open_common(out, path, options);
    if (st != SPT_OK)
        return st;
    spt_reader *r = *out;
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0)
        return spt_rd_fatal(r, SPT_E_IO, "cannot open: %s", strerror(errno));
    struct stat sb;
    if (fstat(r->fd, &sb) != 0)
        return spt_rd_fatal(r, SPT_E_IO, "cannot stat: %s", strerror(errno));
    if (S_ISDIR(sb.st_mode))
        return spt_rd_fatal(r, SPT_E_IO, "is a directory, not a trace file");
    r->file_size = (uint64_t)sb.st_size;
    r->win_cap = WINDOW_BYTES;
    r->win = spt_xmalloc(r->alloc, r->win_cap);
    if (!r->win)
        return spt_rd_fatal(r, SPT_E_NOMEM, "out of memory opening the reader");
    r->stats.file_bytes = r->file_size;
    return read_header(r);
}

spt_status spt_reader_open_memory(const void *data, size_t size, const char *name,
                                  const spt_reader_options *options, spt_reader **out) {
    spt_status st = open_common(out, name ? name : "(memory)", options);
    if (st != SPT_OK)
        return st;
    spt_reader *r = *out;
    static const uint8_t nothing[1];
    r->mem = data ? data : nothing;
    r->file_size = data ? size : 0;
    r->stats.file_bytes = r->file_size;
    return read_header(r);
}

void spt_reader_close(spt_reader *r) {
    if (!r)
        return;
    spt_allocator acopy = r->alloc_copy;
    const spt_allocator *a = r->alloc ? &acopy : NULL;
    r->alloc = a;
    if (r->fd >= 0)
        close(r->fd);
    spt_chunk_in_free(r->dctx);
    spt_rd_tables_free(r);
    spt_xfree(a, r->win);
    spt_xfree(a, r->raw);
    spt_xfree(a, r->header_blob);
    spt_xfree(a, r->argv);
    spt_xfree(a, r->name);
    spt_xfree(a, r);
}

const spt_header *spt_reader_header(const spt_reader *r) {
    return r ? &r->header : NULL;
}

const spt_reader_stats *spt_reader_get_stats(const spt_reader *r) {
    return r ? &r->stats : NULL;
}

const char *spt_reader_error(const spt_reader *r) {
    if (!r)
        return "out of memory";
    return r->err[0] ? r->err : "no error";
}

/* ---- damage and resynchronisation (section 4.1) ------------------------------------------ */

/* Records why the open chunk is damaged, unless we are already skipping earlier damage (then
 * the first reason is the one worth reporting). */
__attribute__((format(printf, 2, 3))) static void set_damage(spt_reader *r, const char *fmt, ...) {
    if (r->resyncing)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->damage_what, sizeof r->damage_what, fmt, ap);
    va_end(ap);
}

/* The open chunk is damaged: forget its unchecked bytes (and, with drop_ready, its checked but
 * undecoded ones) and look for the next chunk after its start. The warning waits until we know
 * how much was skipped. */
static void damage(spt_reader *r, int drop_ready) {
    if (!r->resyncing) {
        r->resyncing = 1;
        r->damage_start = r->chunk_start;
        r->damage_chunk = r->chunk_number;
        r->stats.damaged_chunks++;
    }
    r->in_chunk = 0;
    if (drop_ready)
        r->ready_end = r->parse_pos;
    r->raw_len = r->scan_pos = r->ready_end;
    r->pos = r->chunk_start + 1;
}

/* Reports a recording that did not finish: the chunk at tail_start runs to the end of the file.
 * What was flushed before the cut has been returned; say exactly what could not be. */
static void report_truncation(spt_reader *r) {
    r->stats.truncated = 1;
    r->stats.truncated_bytes = r->tail_lost_bytes;
    if (r->tail_lost_bytes == 0 && r->tail_unchecked == 0)
        warnf(r,
              "truncated at byte %llu: the recording did not finish (no END record); "
              "everything up to its last flush was read",
              (unsigned long long)r->file_size);
    else
        warnf(r,
              "truncated at byte %llu: the recording did not finish; the last %llu bytes (a "
              "partly written block) and %llu bytes of records after the last checksum could "
              "not be used",
              (unsigned long long)r->file_size, (unsigned long long)r->tail_lost_bytes,
              (unsigned long long)r->tail_unchecked);
}

static void end_resync(spt_reader *r, uint64_t resume_at) {
    if (!r->resyncing)
        return;
    r->resyncing = 0;
    if (r->tail_pending && resume_at >= r->file_size) {
        /* No chunk follows the one that ran past the end: it was cut short, not damaged. */
        r->tail_pending = 0;
        r->stats.damaged_chunks--;
        report_truncation(r);
        return;
    }
    r->tail_pending = 0;
    uint64_t skipped = resume_at - r->damage_start;
    r->stats.damaged_bytes += skipped;
    if (resume_at >= r->file_size)
        warnf(r, "chunk %llu at byte %llu is damaged (%s); skipped the %llu bytes to the end",
              (unsigned long long)r->damage_chunk, (unsigned long long)r->damage_start,
              r->damage_what, (unsigned long long)skipped);
    else
        warnf(r, "chunk %llu at byte %llu is damaged (%s); skipped %llu bytes to the next chunk",
              (unsigned long long)r->damage_chunk, (unsigned long long)r->damage_start,
              r->damage_what, (unsigned long long)skipped);
}

/* The file ended inside the open chunk. Usually the recorder was killed or is still running,
 * but a damaged block size can also make a frame seem to run past the end: so treat it as
 * damage first, and call it truncation only if no later chunk turns up. */
static void eof_in_chunk(spt_reader *r) {
    const uint8_t *p;
    size_t n = source_at(r, r->chunk_start, (size_t)(r->file_size - r->chunk_start), &p);
    uint64_t complete = n ? spt_chunk_complete_prefix(p, n) : 0;
    r->tail_lost_bytes = r->file_size - r->chunk_start - complete;
    r->tail_unchecked = r->raw_len - r->ready_end;
    r->tail_pending = 1;
    set_damage(r, "its frame runs past the end of the file");
    damage(r, 0);
}

/* Moves pos to the next zstd frame magic at or after it, or to EOF. */
static void seek_magic(spt_reader *r) {
    static const uint8_t magic[4] = {0x28, 0xB5, 0x2F, 0xFD};
    while (r->pos + 4 <= r->file_size) {
        const uint8_t *p;
        size_t n = source_at(r, r->pos, WINDOW_BYTES, &p);
        if (r->fatal || n < 4)
            break;
        const uint8_t *hit = memmem(p, n, magic, 4);
        if (hit) {
            r->pos += (uint64_t)(hit - p);
            return;
        }
        r->pos += n - 3; /* a magic may straddle the window edge */
    }
    r->pos = r->file_size;
}

/* ---- segments (section 4) ---------------------------------------------------------------- */

/* Reads a record header at raw[at]: returns 1 with kind/len/header size, 0 if more bytes are
 * needed, -1 if malformed. */
static int record_header(const uint8_t *p, size_t avail, uint8_t *kind, uint64_t *len,
                         size_t *head) {
    if (avail < 2)
        return 0;
    spt_cursor c = spt_cursor_make(p + 1, avail - 1);
    uint64_t v = spt_get_uv(&c);
    if (!c.ok)
        return avail - 1 >= SPT_VARINT_MAX_BYTES ? -1 : 0;
    *kind = p[0];
    *len = v;
    *head = (size_t)(c.pos - p);
    return 1;
}

/* Scans newly decompressed bytes for record boundaries; a SYNC whose checksum matches makes its
 * segment ready. Returns 0, or -1 after recording damage in damage_what. */
static int scan_segments(spt_reader *r) {
    while (r->scan_pos < r->raw_len) {
        uint8_t kind;
        uint64_t len;
        size_t head;
        int got = record_header(r->raw + r->scan_pos, r->raw_len - r->scan_pos, &kind, &len, &head);
        if (got < 0) {
            set_damage(r, "a record length is malformed");
            return -1;
        }
        if (got == 0)
            return 0;
        if (kind == 0) {
            set_damage(r, "a record has kind 0");
            return -1;
        }
        if (len > SPT_MAX_RECORD_BYTES) {
            set_damage(r, "a record claims %llu bytes, over the 16 MiB limit",
                       (unsigned long long)len);
            return -1;
        }
        if (r->expect_begin && kind != SPT_REC_CHUNK_BEGIN) {
            set_damage(r, "the chunk does not start with CHUNK_BEGIN");
            return -1;
        }
        r->expect_begin = 0;
        if (r->raw_len - r->scan_pos - head < len)
            return 0;
        if (kind == SPT_REC_SYNC) {
            const uint8_t *payload = r->raw + r->scan_pos + head;
            if (len < SPT_SYNC_PAYLOAD_BYTES ||
                XXH3_64bits(r->raw + r->ready_end, r->scan_pos - r->ready_end) !=
                    spt_load_le64(payload)) {
                set_damage(r, "segment checksum mismatch");
                return -1;
            }
            r->scan_pos += head + (size_t)len;
            r->ready_end = r->scan_pos;
            r->checked_pos = r->pos;
            continue;
        }
        r->scan_pos += head + (size_t)len;
        if (r->scan_pos - r->ready_end > SPT_MAX_SEGMENT_BYTES) {
            set_damage(r, "a segment exceeds 64 MiB");
            return -1;
        }
    }
    return 0;
}

/* The file ends before a chunk or skippable frame could even begin: nothing was lost but
 * the few bytes there. */
static void truncated_between_chunks(spt_reader *r) {
    r->tail_lost_bytes = r->file_size - r->pos;
    r->tail_unchecked = 0;
    report_truncation(r);
    r->pos = r->file_size;
}

/* Begins the chunk at pos, skips a skippable frame, or records damage. Returns 0 when there is
 * nothing left in the file. */
static int begin_chunk(spt_reader *r) {
    const uint8_t *p;
    size_t n = source_at(r, r->pos, 8, &p);
    if (r->fatal || n == 0)
        return 0;
    if (n < 4) {
        if (r->resyncing) {
            r->pos = r->file_size;
            return 0;
        }
        truncated_between_chunks(r);
        return 0;
    }
    uint32_t magic = spt_load_le32(p);
    if (magic == SPT_ZSTD_FRAME_MAGIC) {
        r->in_chunk = 1;
        /* Chunks are numbered in file order; a candidate found while resynchronising takes the
         * next number only once it proves good (end_resync). */
        r->chunk_number = r->chunks_begun;
        if (!r->resyncing)
            r->stats.chunks = ++r->chunks_begun;
        r->chunk_start = r->pos;
        r->expect_begin = 1;
        r->chunk_gen++;
        r->checked_pos = r->pos;
        spt_chunk_in_reset(r->dctx);
        return 1;
    }
    if (magic >= SPT_SKIPPABLE_MAGIC_MIN && magic <= SPT_SKIPPABLE_MAGIC_MAX && !r->resyncing) {
        uint64_t size = n >= 8 ? spt_load_le32(p + 4) : 0;
        if (n < 8 || r->pos + 8 + size > r->file_size) {
            truncated_between_chunks(r);
            return 0;
        }
        r->pos += 8 + size; /* section 2: skippable frames may sit between chunks */
        return 1;
    }
    set_damage(r, "unexpected bytes where a chunk should start");
    r->chunk_start = r->pos;
    damage(r, 0);
    return 1;
}

/* Decompresses until a checked segment is ready, the chunk ends, or the file does. */
static void decode_more(spt_reader *r) {
    while (r->parse_pos >= r->ready_end && !r->fatal) {
        if (!r->in_chunk) {
            if (r->resyncing)
                seek_magic(r);
            if (r->pos >= r->file_size) {
                end_resync(r, r->file_size);
                return;
            }
            if (!begin_chunk(r)) {
                end_resync(r, r->file_size);
                return;
            }
            continue;
        }
        /* Compact: everything before parse_pos has been decoded. */
        if (r->parse_pos > 0) {
            memmove(r->raw, r->raw + r->parse_pos, r->raw_len - r->parse_pos);
            r->raw_len -= r->parse_pos;
            r->ready_end -= r->parse_pos;
            r->scan_pos -= r->parse_pos;
            r->parse_pos = 0;
        }
        if (r->raw_len + DECODE_STEP_BYTES > SPT_MAX_SEGMENT_BYTES + SPT_MAX_RECORD_BYTES + 64) {
            set_damage(r, "a segment exceeds 64 MiB");
            damage(r, 0);
            continue;
        }
        if (spt_xgrow(r->alloc, (void **)&r->raw, &r->raw_cap, r->raw_len + DECODE_STEP_BYTES, 1) !=
            0) {
            spt_rd_fatal(r, SPT_E_NOMEM, "out of memory decoding a chunk");
            return;
        }
        const uint8_t *in;
        size_t avail = source_at(r, r->pos, WINDOW_BYTES, &in);
        if (r->fatal)
            return;
        if (avail == 0) {
            if (r->resyncing)
                damage(r, 0);
            else
                eof_in_chunk(r);
            continue;
        }
        size_t consumed, produced;
        const char *zerr = NULL;
        int frame_end = spt_chunk_in_step(r->dctx, in, avail, &consumed, r->raw + r->raw_len,
                                          r->raw_cap - r->raw_len, &produced, &zerr);
        r->pos += consumed;
        r->raw_len += produced;
        r->stats.raw_bytes += produced;
        size_t was_ready = r->ready_end;
        if (frame_end == -2) {
            spt_rd_fatal(r, SPT_E_NOMEM, "out of memory decompressing the chunk at byte %llu",
                         (unsigned long long)r->chunk_start);
            return;
        }
        if (frame_end < 0) {
            set_damage(r, "zstd: %s", zerr);
            damage(r, 0);
            continue;
        }
        if (scan_segments(r) != 0) {
            damage(r, 0);
            continue;
        }
        if (r->ready_end > was_ready && r->resyncing) {
            r->stats.chunks = ++r->chunks_begun;
            end_resync(r, r->chunk_start);
        }
        if (frame_end == 1) {
            r->in_chunk = 0;
            if (r->ready_end != r->raw_len) {
                /* A finished chunk must end with a SYNC; its frame ended cleanly, so the next
                 * chunk starts right after it and no search is needed. */
                r->stats.damaged_chunks++;
                r->stats.damaged_bytes += r->raw_len - r->ready_end;
                warnf(r,
                      "chunk %llu at byte %llu is damaged (it ends inside a segment); skipped "
                      "its last %zu bytes of records",
                      (unsigned long long)r->chunk_number, (unsigned long long)r->chunk_start,
                      r->raw_len - r->ready_end);
                r->raw_len = r->scan_pos = r->ready_end;
            }
        }
    }
}

/* ---- the event loop ---------------------------------------------------------------------- */

static void report_unknown(spt_reader *r) {
    if (!r->stats.unknown_records)
        return;
    char list[300] = "";
    size_t used = 0;
    for (int k = 1; k < 256; k++) {
        if (!r->unknown_by_kind[k] || used + 32 >= sizeof list)
            continue;
        int n = snprintf(list + used, sizeof list - used, "%s%llu of kind 0x%02x", used ? ", " : "",
                         (unsigned long long)r->unknown_by_kind[k], k);
        if (n > 0)
            used += (size_t)n;
    }
    warnf(r, "skipped %llu record%s this reader does not know (%s); a newer spprof reads them",
          (unsigned long long)r->stats.unknown_records, r->stats.unknown_records == 1 ? "" : "s",
          list);
}

spt_status spt_reader_next(spt_reader *r, spt_event *ev) {
    if (!r || !ev)
        return SPT_E_USAGE;
    if (r->done)
        return r->fatal ? r->fatal : SPT_END;
    for (;;) {
        if (r->parse_pos >= r->ready_end) {
            decode_more(r);
            if (r->fatal) {
                r->done = 1;
                return r->fatal;
            }
            if (r->parse_pos >= r->ready_end) {
                r->done = 1;
                r->stats.file_bytes = r->file_size;
                report_unknown(r);
                return SPT_END;
            }
        }
        /* Framing inside a ready segment was checked by scan_segments. */
        uint8_t kind = 0;
        uint64_t len = 0;
        size_t head = 0;
        record_header(r->raw + r->parse_pos, r->ready_end - r->parse_pos, &kind, &len, &head);
        const uint8_t *payload = r->raw + r->parse_pos + head;
        r->parse_pos += head + (size_t)len;
        r->stats.records++;
        if (kind == SPT_REC_SYNC)
            continue; /* already checked by scan_segments */
        if (kind == SPT_REC_CHUNK_BEGIN) {
            spt_cursor c = spt_cursor_make(payload, (size_t)len);
            r->chunk_seq = spt_get_uv(&c);
            uint64_t base = spt_get_uv(&c);
            if (!c.ok) {
                set_damage(r, "CHUNK_BEGIN is malformed");
                damage(r, 1);
                continue;
            }
            spt_rd_chunk_begin(r, base);
            continue;
        }
        rd_result res = spt_rd_record(r, kind, payload, (size_t)len, ev);
        if (res == RD_EVENT)
            return SPT_OK;
        if (res == RD_FATAL) {
            r->done = 1;
            return r->fatal;
        }
        if (res == RD_DAMAGED)
            damage(r, 1); /* the rest of this chunk cannot be trusted; find the next one */
    }
}

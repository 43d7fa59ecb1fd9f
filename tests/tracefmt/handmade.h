/* handmade.h: writes .sptrace bytes straight from docs/format.md, without tracefmt, so test
 * files can be well-formed, from a future minor version, or damaged in one exact place. */
#ifndef SPPROF_TESTS_HANDMADE_H
#define SPPROF_TESTS_HANDMADE_H

#include <stddef.h>
#include <stdint.h>

/* A growing byte buffer. */
typedef struct {
    uint8_t *p;
    size_t n;
    size_t cap;
} hm_buf;

void hm_buf_free(hm_buf *b);
void hm_put_bytes(hm_buf *b, const void *bytes, size_t n);
void hm_put_u8(hm_buf *b, uint8_t v);
void hm_put_u16(hm_buf *b, uint16_t v); /* little-endian (§2) */
void hm_put_u32(hm_buf *b, uint32_t v);
void hm_put_u64(hm_buf *b, uint64_t v);
void hm_put_uv(hm_buf *b, uint64_t v);     /* LEB128 (§2.1) */
void hm_put_sv(hm_buf *b, int64_t v);      /* zigzag, then LEB128 */
void hm_put_str(hm_buf *b, const char *s); /* uv length, then the bytes */

/* The header frame (§3). Fields mirror spt_header; the last group bends the rules. */
typedef struct {
    uint16_t major, minor;
    const char *recorder_version;
    uint64_t start_wall_ns, start_mono_ns, tick_ns;
    uint32_t pid, ppid;
    const char *executable;
    uint32_t argc;
    const char *const *argv;
    const char *hostname, *arch;
    uint64_t clock, interval_ns, alloc_mode, alloc_sample_bytes, python_version, max_depth;
    const char *trace_id, *parent_trace;

    int n_fields;         /* write only the first n of the 17 field groups (pid+ppid and
                             argc+argv count as one each); 0 = all */
    const uint8_t *extra; /* bytes after the last field (a later minor's fields) */
    size_t extra_len;
    uint64_t argc_claimed; /* if nonzero, the argc written instead (argv stays argc long) */
    int bad_checksum;      /* store checksum + 1 */
    const char *magic;     /* 8 bytes; NULL = "SPTRACE\0" */
} hm_header;

/* A header with every field set to the values the golden files expect. */
hm_header hm_default_header(void);

/* Appends the header frame to out. */
void hm_write_header(hm_buf *out, const hm_header *h);

/* A chunk's decompressed content being built (§4, §5). */
typedef struct {
    hm_buf raw;
    size_t seg_start;    /* where the open segment began in raw */
    size_t seg_ends[64]; /* raw offset just after each SYNC */
    size_t n_segs;
    uint64_t reg;       /* time register, ticks (§5.1) */
    uint64_t addr;      /* ALLOC/FREE address register (§5.3) */
    const uint8_t *pad; /* appended to every record but STRING (a later minor's fields) */
    size_t pad_len;
} hm_chunk;

void hm_chunk_begin(hm_chunk *c, uint64_t seq, uint64_t base_ticks);
void hm_chunk_free(hm_chunk *c);

/* One record: kind, uv length of the payload, payload. */
void hm_record(hm_chunk *c, uint8_t kind, const hm_buf *payload);
/* Like hm_record but the length field claims claimed_len bytes whatever the payload holds. */
void hm_record_claiming(hm_chunk *c, uint8_t kind, uint64_t claimed_len, const hm_buf *payload);
/* Ends the segment with a SYNC carrying XXH3-64 of its bytes. */
void hm_sync(hm_chunk *c);

/* Typed records (§5.3). Times are absolute ticks; the dt is computed. -1 omits an optional. */
void hm_string(hm_chunk *c, uint64_t id, const char *s);
void hm_mapping(hm_chunk *c, uint64_t id, uint64_t start, uint64_t size, uint64_t file_offset,
                uint64_t path, const uint8_t *build_id, size_t build_id_len);
void hm_native_frame(hm_chunk *c, uint64_t id, uint64_t address, uint64_t mapping,
                     uint64_t function, uint64_t file, uint64_t line, uint64_t flags);
void hm_py_frame(hm_chunk *c, uint64_t id, uint64_t code_id, uint64_t function, uint64_t file,
                 uint64_t first_line, uint64_t line, uint64_t flags);
void hm_stack(hm_chunk *c, uint64_t id, uint64_t parent, uint64_t frame);
void hm_thread(hm_chunk *c, uint64_t id, uint64_t os_tid, uint64_t name, uint64_t start_ticks);
void hm_thread_name(hm_chunk *c, uint64_t thread, uint64_t ticks, uint64_t name);
void hm_thread_end(hm_chunk *c, uint64_t thread, uint64_t ticks);
void hm_sample(hm_chunk *c, uint64_t thread, uint64_t ticks, uint64_t stack, int64_t weight,
               int64_t flags);
void hm_alloc(hm_chunk *c, uint64_t thread, uint64_t ticks, uint64_t address, uint64_t size,
              uint64_t stack, int64_t weight_bytes);
void hm_free(hm_chunk *c, uint64_t thread, uint64_t ticks, uint64_t address);
void hm_marker(hm_chunk *c, uint64_t thread, uint64_t ticks, uint64_t text);
void hm_drops(hm_chunk *c, uint64_t ticks, uint64_t reason, uint64_t count);
void hm_child(hm_chunk *c, uint64_t ticks, uint64_t kind, uint64_t pid, uint64_t path);
void hm_metadata(hm_chunk *c, uint64_t ticks, uint64_t key, uint64_t value);
void hm_sample_total(hm_chunk *c, uint64_t thread, uint64_t ticks, uint64_t stack, uint64_t count,
                     uint64_t weight, uint64_t flags);
void hm_alloc_total(hm_chunk *c, uint64_t thread, uint64_t ticks, uint64_t stack,
                    uint64_t alloc_count, uint64_t alloc_bytes, uint64_t live_count,
                    uint64_t live_bytes);
/* END (§5.4): values in the order of the table, after dt. */
void hm_end(hm_chunk *c, uint64_t ticks, uint64_t reason, int64_t status,
            const uint64_t counters[10]);

/* Compresses the chunk as one zstd frame with the content checksum, flushing after each SYNC
 * like the writer does. flush_offsets[i] (if not NULL) receives the frame's length after the
 * flush of segment i. Appends the frame to out. */
void hm_chunk_compress(const hm_chunk *c, hm_buf *out, size_t *flush_offsets);

/* A zstd skippable frame of payload_len zero bytes with the given magic nibble. */
void hm_skippable(hm_buf *out, unsigned nibble, size_t payload_len);

#endif /* SPPROF_TESTS_HANDMADE_H */

/* format.h: constants of the .sptrace byte layout, section by section of docs/format.md
 * (internal to tracefmt). Change the two together. */
#ifndef SPT_FORMAT_H
#define SPT_FORMAT_H

#include <stdint.h>

/* Section 3: the header is a zstd skippable frame holding "SPTRACE\0", the version and fields. */
#define SPT_HEADER_FRAME_MAGIC    0x184D2A5Cu
#define SPT_MAGIC                 "SPTRACE\0"
#define SPT_MAGIC_BYTES           8
#define SPT_HEADER_FIXED_BYTES    20 /* frame magic, frame size, magic, major, minor */
#define SPT_HEADER_CHECKSUM_BYTES 8

/* Section 2: skippable frames carry this magic in their low nibble range; chunks are zstd frames.
 */
#define SPT_SKIPPABLE_MAGIC_MIN 0x184D2A50u
#define SPT_SKIPPABLE_MAGIC_MAX 0x184D2A5Fu
#define SPT_ZSTD_FRAME_MAGIC    0xFD2FB528u

/* Section 5.3: record kinds. 0 is invalid. */
enum {
    SPT_REC_CHUNK_BEGIN = 0x01,
    SPT_REC_SYNC = 0x02,
    SPT_REC_END = 0x03,
    SPT_REC_METADATA = 0x04,
    SPT_REC_STRING = 0x10,
    SPT_REC_MAPPING = 0x11,
    SPT_REC_NATIVE_FRAME = 0x12,
    SPT_REC_PY_FRAME = 0x13,
    SPT_REC_STACK = 0x14,
    SPT_REC_THREAD = 0x15,
    SPT_REC_THREAD_NAME = 0x16,
    SPT_REC_THREAD_END = 0x17,
    SPT_REC_SAMPLE = 0x20,
    SPT_REC_ALLOC = 0x21,
    SPT_REC_FREE = 0x22,
    SPT_REC_MARKER = 0x23,
    SPT_REC_DROPS = 0x24,
    SPT_REC_CHILD = 0x25,
    SPT_REC_SAMPLE_TOTAL = 0x26,
    SPT_REC_ALLOC_TOTAL = 0x27
};

#define SPT_SYNC_PAYLOAD_BYTES 8

/* Writer defaults (section 4). */
#define SPT_DEFAULT_TICK_NS       1000u
#define SPT_DEFAULT_LEVEL         3
#define SPT_DEFAULT_CHUNK_BYTES   (4u << 20)
#define SPT_DEFAULT_CHUNK_AGE_NS  (60ull * 1000000000ull)
#define SPT_DEFAULT_SEGMENT_BYTES (256u << 10)

/* Reader default for spt_reader_options.max_memory_bytes (section 7). */
#define SPT_DEFAULT_READER_MEMORY (4ull << 30)

#define SPT_MAX_BUILD_ID_BYTES 64

#endif /* SPT_FORMAT_H */

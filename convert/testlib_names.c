/* testlib_names.c: the awkward trace convert's tests export in every format: names holding what
 * each format must escape or repair (';', quotes, '<&>', controls, NUL, invalid UTF-8, very
 * long), each with what every format must show for it (testlib.h). */
#include "convert/testlib.h"

#include <string.h>

#include "analyze/testutil.h"
#include "tests/tracekit.h"
#include "tracefmt/sptrace.h"

#define FFFD   "\xef\xbf\xbd"
#define PIC(c) "\xe2\x90" c /* Control Pictures: U+2400 + byte */
#define X10    "xxxxxxxxxx"
#define X100   X10 X10 X10 X10 X10 X10 X10 X10 X10 X10
#define X1000  X100 X100 X100 X100 X100 X100 X100 X100 X100 X100
#define LONG   "long_" X1000 X1000 X1000 X1000 X1000

#define CTL     "ctl\x01\x1f\x7f\ttab\nnl\rcr"
#define BAD     "bad\xff\xfe utf8 \xc0\xaf \xed\xa0\x80 \xc3"
#define SAME(s) s, sizeof(s) - 1, s, s, s, s

const ct_name ct_names[] = {
    {"semi;colon", 10, "semi;colon", "semi:colon", "semi;colon", "semi;colon"},
    {SAME("with space \"quoted\" 'apos'")},
    {SAME("<&>")},
    {CTL, sizeof CTL - 1, CTL,
     "ctl" PIC("\x81")
         PIC("\x9f") "\xe2\x90\xa1" PIC("\x89") "tab" PIC("\x8a") "nl" PIC("\x8d") "cr",
     "ctl" PIC("\x81")
         PIC("\x9f") "\xe2\x90\xa1" PIC("\x89") "tab" PIC("\x8a") "nl" PIC("\x8d") "cr",
     CTL},
    {BAD, sizeof BAD - 1, "bad" FFFD FFFD " utf8 " FFFD FFFD " " FFFD FFFD FFFD " " FFFD,
     "bad" FFFD FFFD " utf8 " FFFD FFFD " " FFFD FFFD FFFD " " FFFD,
     "bad" FFFD FFFD " utf8 " FFFD FFFD " " FFFD FFFD FFFD " " FFFD,
     "bad" FFFD FFFD " utf8 " FFFD FFFD " " FFFD FFFD FFFD " " FFFD},
    {SAME("caf\xc3\xa9 \xe2\x80\xa8 \xf0\x9f\x94\xa5")},
    {SAME(LONG)},
    {SAME("back\\slash/and/slash")},
    {SAME("]]> <!-- --> ?>")},
    {"nonchar \xef\xbf\xbe", 11, "nonchar \xef\xbf\xbe", "nonchar \xef\xbf\xbe", "nonchar " FFFD,
     "nonchar \xef\xbf\xbe"},
    /* A NUL byte: JSON readers here stop at it, so only the raw text is checked (json NULL). */
    {"nul\0byte", 8, NULL, "nul" PIC("\x80") "byte", "nul" PIC("\x80") "byte", NULL},
    {SAME("trailing space ")},
    {SAME("ends with digits 42")},
};

const size_t ct_n_names = sizeof ct_names / sizeof ct_names[0];

/* The frame of awkward name k, interned by its length (tk_native_frame takes C strings, and one
 * name holds a NUL byte). */
static uint32_t awkward_frame(spt_writer *w, size_t k, uint32_t map) {
    spt_frame f;
    memset(&f, 0, sizeof f);
    f.kind = SPT_FRAME_NATIVE;
    f.function = spt_writer_string(w, ct_names[k].raw, ct_names[k].raw_len);
    f.file = spt_writer_cstring(w, CT_FILE_NAME);
    f.line = (uint32_t)(10 + k);
    f.address = 0x7f0000001000ull + 0x100 * k;
    f.mapping = map;
    return spt_writer_frame(w, &f);
}

int ct_write_awkward_trace(const char *path) {
    spt_header h = tu_header();
    h.python_version = 0;
    spt_writer *w = tk_open_writer(path, &h, NULL);
    if (!w)
        return -1;
    uint32_t map =
        tk_mapping(w, "/usr/lib/odd dir/libodd.so", 0x7f0000000000ull, 0x7f0000100000ull, 0);
    uint32_t main_f = tk_native_frame(w, "main", CT_FILE_NAME, 9, 0x7f0000000100ull, map);
    uint32_t t1 = spt_writer_thread(w, 7001, spt_writer_cstring(w, CT_THREAD_NAME), 0);
    uint32_t t2 = spt_writer_thread(w, 7002, spt_writer_cstring(w, "plain"), 0);
    uint32_t frames[64];
    uint64_t time_ns = 0;
    for (size_t k = 0; k < ct_n_names; k++) {
        frames[k] = awkward_frame(w, k, map);
        uint32_t path_ids[2] = {main_f, frames[k]};
        uint32_t stack = spt_writer_stack_path(w, path_ids, 2);
        spt_writer_sample(w, t1, time_ns, stack, k + 1, 0);
        time_ns += 10000000;
    }
    uint32_t nested[3] = {main_f, frames[0], frames[2]};
    uint32_t stack = spt_writer_stack_path(w, nested, 3);
    for (int i = 0; i < 2; i++) {
        spt_writer_sample(w, t2, time_ns, stack, 1, 0);
        time_ns += 10000000;
    }
    return tk_close_exited(w, time_ns);
}

/* status.c: names for spt_status values, one line per code so the table cannot drift. */
#include "tracefmt/sptrace.h"

const char *spt_status_name(spt_status status) {
    switch (status) {
    case SPT_OK:
        return "ok";
    case SPT_END:
        return "end";
    case SPT_E_IO:
        return "i/o error";
    case SPT_E_BAD_MAGIC:
        return "not an sptrace file";
    case SPT_E_VERSION:
        return "unsupported version";
    case SPT_E_TRUNCATED:
        return "truncated";
    case SPT_E_CORRUPT:
        return "corrupt";
    case SPT_E_NOMEM:
        return "out of memory";
    case SPT_E_LIMIT:
        return "limit exceeded";
    case SPT_E_USAGE:
        return "invalid use";
    case SPT_E_COMPRESS:
        return "compression failed";
    }
    return "unknown status";
}

/* json_out.c: JSON strings for speedscope. Valid UTF-8 passes through as it is; everything JSON
 * or JavaScript cannot hold raw is a \uXXXX escape, so a strict parser reads the name back
 * exactly (invalid bytes as U+FFFD, the one loss every format shares). */
#include "convert/convert_int.h"

void spc_put_json(FILE *f, const char *s, size_t len) {
    fputc('"', f);
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7F) {
            if (c == '"' || c == '\\')
                fputc('\\', f);
            fputc(c, f);
            i++;
            continue;
        }
        size_t n = spa_utf8_len((const unsigned char *)s + i, len - i);
        if (n == 0) {
            fputs("\\ufffd", f);
            i++;
        } else if (n == 1) {
            fprintf(f, "\\u%04x", c); /* control characters and DEL */
            i++;
        } else if (n == 3 && c == 0xE2 && (unsigned char)s[i + 1] == 0x80 &&
                   ((unsigned char)s[i + 2] == 0xA8 || (unsigned char)s[i + 2] == 0xA9)) {
            /* U+2028 and U+2029 end a line in JavaScript before ES2019. */
            fprintf(f, "\\u%04x", (unsigned)(0x2000 + ((unsigned char)s[i + 2] - 0x80)));
            i += 3;
        } else {
            fwrite(s + i, 1, n, f);
            i += n;
        }
    }
    fputc('"', f);
}

size_t spc_fmt_u64(char *buf, uint64_t v) {
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    return n;
}

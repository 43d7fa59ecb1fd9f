/* testjson.h: a small strict JSON parser for reading the tools' JSON output back in tests: it
 * rejects trailing garbage, bad escapes and unquoted keys. Test-only. */
#ifndef SPPROF_ANALYZE_TESTJSON_H
#define SPPROF_ANALYZE_TESTJSON_H

#include <stddef.h>

typedef struct tu_json tu_json;

/* Parses text; returns NULL on any syntax error. Free with tu_json_free. */
tu_json *tu_json_parse(const char *text);

/* Frees a parsed value and everything in it. Accepts NULL. */
void tu_json_free(tu_json *v);

/* Member `key` of an object, element i of an array; NULL when absent or of the wrong type. */
const tu_json *tu_json_get(const tu_json *obj, const char *key);
const tu_json *tu_json_at(const tu_json *arr, size_t i);

/* Number of elements of an array or members of an object; 0 for anything else. */
size_t tu_json_len(const tu_json *v);

/* A number's value (-1 when v is not a number), a string's bytes (NULL when not a string),
 * whether v is null. */
double tu_json_num(const tu_json *v);
const char *tu_json_str(const tu_json *v);
int tu_json_is_null(const tu_json *v);

/* Whether v is the JSON literal true. */
int tu_json_is_true(const tu_json *v);

#endif /* SPPROF_ANALYZE_TESTJSON_H */

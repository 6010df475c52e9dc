/* fgjson: the few conventions floodgate keeps on top of jansson (Debian's
 * libjansson), the one JSON library of the actuator and the CLI.
 *
 * Writing: compact text in insertion order (`{"a":1,"b":"x"}`), numbers with
 * 15 significant digits and integral values printed as integers, NaN and
 * infinities written as 0 (JSON has none), strings that are not UTF-8 kept
 * readable with '?' for each bad byte. Reading: text from Redis or another
 * process is untrusted: the size is capped by the caller, jansson checks the
 * syntax and caps the depth; every miss is a default, never a crash.
 * Leaf module: never logs. */
#ifndef FG_FGJSON_H
#define FG_FGJSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* A number: an integer when v is integral and below 1e15 in magnitude, else
 * a real; NaN and infinities become 0. New reference, NULL on OOM. */
json_t *fgjson_num(double v);

/* A string; bytes that do not form UTF-8 become '?'. NULL s is "". New
 * reference, NULL on OOM. */
json_t *fgjson_str(const char *s);

/* obj[key] = the value; the setters take no reference from the caller, and
 * mark *ok false on failure (OOM) so a builder checks once at the end. */
void fgjson_set_str(json_t *obj, const char *key, const char *s, bool *ok);
void fgjson_set_num(json_t *obj, const char *key, double v, bool *ok);
/* v rounded to `decimals` places (0..6), as printf's %.Nf would show it. */
void fgjson_set_fixed(json_t *obj, const char *key, double v, int decimals, bool *ok);
void fgjson_set_uint(json_t *obj, const char *key, uint64_t v, bool *ok);
void fgjson_set_bool(json_t *obj, const char *key, bool v, bool *ok);
/* Takes the reference to v (NULL marks *ok false). */
void fgjson_set_new(json_t *obj, const char *key, json_t *v, bool *ok);
/* Appends v to the array, taking the reference (NULL marks *ok false). */
void fgjson_append_new(json_t *arr, json_t *v, bool *ok);

/* The compact text of v, the caller's to free; NULL on OOM. v is borrowed. */
char *fgjson_dump(const json_t *v);

/* Print v compactly to out followed by a newline. 0, or -1 on a write or
 * memory failure. */
int fgjson_print(const json_t *v, FILE *out);

/* Parse one JSON value of any type (objects, arrays, strings, numbers,
 * literals) from text of at most max bytes. New reference, NULL when text is
 * NULL, longer than max or not valid JSON. */
json_t *fgjson_parse(const char *text, size_t max);

/* Members of an object, with a default when v is not an object, the member
 * is absent or of another type. Cannot fail. */
const char *fgjson_get_str(const json_t *v, const char *key, const char *def);
double fgjson_get_num(const json_t *v, const char *key, double def);

#endif

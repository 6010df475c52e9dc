/* json: a growable buffer to write JSON text, and a syntax check for JSON
 * read back from Redis (untrusted).
 *
 * Writers never fail midway: an allocation failure marks the buffer failed,
 * later writes do nothing, and json_take() returns NULL. Commas between
 * members and items are added by json_key() and json_sep(). */
#ifndef FG_ACT_JSON_H
#define FG_ACT_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *data;
    size_t len;
    size_t cap;
    bool failed;
} json_buf_t;

/* An empty buffer. Cannot fail. */
void json_init(json_buf_t *b);

/* Free the text and reset the buffer to empty. Idempotent. */
void json_reset(json_buf_t *b);

/* Append text as is. */
void json_raw(json_buf_t *b, const char *s);

/* Append a ',' unless the buffer is empty or ends with '{', '[' or ':'. */
void json_sep(json_buf_t *b);

/* Append s as a quoted JSON string, escaped. NULL appends "". */
void json_str(json_buf_t *b, const char *s);

/* Append a number; NaN and infinities become 0 (JSON has none). */
void json_num(json_buf_t *b, double v);
void json_uint(json_buf_t *b, uint64_t v);

/* Append ,"key": (the separator when needed). */
void json_key(json_buf_t *b, const char *key);

/* Shorthands: a key and its value. */
void json_kv_str(json_buf_t *b, const char *key, const char *v);
void json_kv_num(json_buf_t *b, const char *key, double v);
void json_kv_uint(json_buf_t *b, const char *key, uint64_t v);

/* The text, the caller's to free, and an empty buffer; NULL when any write
 * failed (the buffer is freed either way). */
char *json_take(json_buf_t *b);

/* True when s is one complete JSON value (objects and arrays nested at most
 * 32 deep, surrounding whitespace allowed). Reads at most up to the NUL. */
bool json_valid(const char *s);

#endif

/* fgbuf: the one growable byte buffer (text or binary), kept NUL-terminated
 * so text in it can be used as a C string.
 *
 * A buffer may be bounded (max > 0): growing past max fails like an
 * allocation failure. After a failure the buffer is marked failed and
 * later appends do nothing, so a writer checks once at the end.
 * fg_array_grow is the same growth for arrays of structs. Leaf module:
 * never logs. */
#ifndef FG_FGBUF_H
#define FG_FGBUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    char *data;  /* NULL until the first growth, else NUL-terminated */
    size_t len;  /* bytes held, the NUL not counted */
    size_t cap;  /* bytes allocated */
    size_t max;  /* most bytes it may hold, 0 = no bound */
    bool failed; /* an append failed (out of memory or over max) */
} fg_buf_t;

/* An empty buffer holding at most max bytes (0 = no bound). Cannot fail. */
void fg_buf_init(fg_buf_t *b, size_t max);

/* Room for more bytes after len (and the NUL), growing by doubling from
 * 256 bytes; data is NUL-terminated at len afterwards. A caller may write
 * into data + len directly, then add to len and put the NUL back. 0, or -1
 * (out of memory, over max, or failed before). */
int fg_buf_reserve(fg_buf_t *b, size_t more);

/* Append n bytes. 0, or -1 as fg_buf_reserve (nothing appended). */
int fg_buf_append(fg_buf_t *b, const void *p, size_t n);

/* Empty the buffer and clear its failure; the memory is kept. */
void fg_buf_reset(fg_buf_t *b);

/* Free the memory and make the buffer empty (max kept). Idempotent. */
void fg_buf_free(fg_buf_t *b);

/* Grow the array *arr_p (a pointer to any T *) of *cap items of elem bytes
 * so it holds at least need items, doubling from first. *arr_p and *cap
 * change only on success. 0, or -1 (out of memory or overflow). */
int fg_array_grow(void *arr_p, size_t *cap, size_t need, size_t elem, size_t first);

#endif

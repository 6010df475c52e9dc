/* jsonr: a small JSON reader for the CLI (history lines and ban details read
 * back from Redis, so untrusted: depth and size are capped, every error is
 * a NULL, never a crash). */
#ifndef FG_CLI_JSONR_H
#define FG_CLI_JSONR_H

#include <stddef.h>

#define JSONR_MAX_DEPTH 32

typedef enum { JR_NULL, JR_BOOL, JR_NUM, JR_STR, JR_ARR, JR_OBJ } jr_type_t;

typedef struct jr jr_t;
struct jr {
    jr_type_t type;
    double num;   /* JR_NUM, JR_BOOL (0 / 1) */
    char *str;    /* JR_STR (unescaped, NUL-terminated) */
    char *key;    /* member name, when inside an object */
    jr_t **items; /* JR_ARR, JR_OBJ */
    size_t n;
};

/* Parse text (one complete value, surrounding spaces allowed) into a tree,
 * the caller's to free with jr_free. NULL when it is not valid JSON, nests
 * deeper than JSONR_MAX_DEPTH or memory runs out. */
jr_t *jr_parse(const char *text);

/* Free a tree. NULL is fine. */
void jr_free(jr_t *v);

/* Member key of object v, or NULL (v may be NULL or not an object). */
const jr_t *jr_get(const jr_t *v, const char *key);

/* The string of member key, or def when absent or not a string. */
const char *jr_str(const jr_t *v, const char *key, const char *def);

/* The number of member key, or def when absent or not a number. */
double jr_num(const jr_t *v, const char *key, double def);

#endif

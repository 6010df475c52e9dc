#include "common/fgbuf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FG_BUF_FIRST 256

void fg_buf_init(fg_buf_t *b, size_t max)
{
    memset(b, 0, sizeof(*b));
    b->max = max;
}

int fg_buf_reserve(fg_buf_t *b, size_t more)
{
    if (b->failed)
        return -1;
    if (more > SIZE_MAX / 2 - b->len - 1 || (b->max && b->len + more > b->max)) {
        b->failed = true;
        return -1;
    }
    size_t need = b->len + more + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : FG_BUF_FIRST;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) {
        b->failed = true;
        return -1;
    }
    b->data = p;
    b->cap = cap;
    b->data[b->len] = '\0';
    return 0;
}

int fg_buf_append(fg_buf_t *b, const void *p, size_t n)
{
    if (fg_buf_reserve(b, n) < 0)
        return -1;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

void fg_buf_reset(fg_buf_t *b)
{
    b->len = 0;
    b->failed = false;
    if (b->data)
        b->data[0] = '\0';
}

void fg_buf_free(fg_buf_t *b)
{
    free(b->data);
    fg_buf_init(b, b->max);
}

int fg_array_grow(void *arr_p, size_t *cap, size_t need, size_t elem, size_t first)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : (first ? first : 1);
    while (n < need) {
        if (n > SIZE_MAX / 2)
            return -1;
        n *= 2;
    }
    if (elem && n > SIZE_MAX / elem)
        return -1;
    void *old;
    memcpy(&old, arr_p, sizeof(old));
    void *p = realloc(old, n * elem);
    if (!p)
        return -1;
    memcpy(arr_p, &p, sizeof(p));
    *cap = n;
    return 0;
}

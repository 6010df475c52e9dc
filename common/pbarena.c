#include "common/pbarena.h"

#include <stdint.h>
#include <stdlib.h>

#define PBARENA_ALIGN 16

/* A block beyond the first (chained until the next reset). */
typedef struct s_more {
    struct s_more *next;
} s_more_t;

struct fg_pbarena {
    ProtobufCAllocator a;
    uint8_t *first;   /* the block kept between messages */
    size_t size;      /* its size */
    uint8_t *cur;     /* the block pieces come from now: first or the newest more */
    size_t cur_size, cur_at;
    s_more_t *more;   /* the blocks beyond the first, newest first */
    size_t used;      /* bytes handed out since the last reset */
};

static void *s_alloc(void *data, size_t size)
{
    fg_pbarena_t *self = data;
    if (size > SIZE_MAX / 4)
        return NULL;
    /* a piece of 0 bytes is a piece too (malloc(0)'s unique pointer) */
    size = size ? (size + PBARENA_ALIGN - 1) / PBARENA_ALIGN * PBARENA_ALIGN : PBARENA_ALIGN;
    if (self->cur_size - self->cur_at < size) {
        /* a new block: twice the last one, or the piece if larger */
        size_t want = self->cur_size * 2 > size ? self->cur_size * 2 : size;
        s_more_t *m = malloc(PBARENA_ALIGN + want);
        if (!m)
            return NULL;
        m->next = self->more;
        self->more = m;
        self->cur = (uint8_t *)m + PBARENA_ALIGN;
        self->cur_size = want;
        self->cur_at = 0;
    }
    void *p = self->cur + self->cur_at;
    self->cur_at += size;
    self->used += size;
    return p;
}

static void s_free(void *data, void *p)
{
    (void)data, (void)p; /* all at once, in fg_pbarena_reset */
}

fg_pbarena_t *fg_pbarena_new(size_t size)
{
    fg_pbarena_t *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->size = size < 4096 ? 4096 : size;
    self->first = malloc(self->size);
    if (!self->first) {
        free(self);
        return NULL;
    }
    self->a = (ProtobufCAllocator){s_alloc, s_free, self};
    fg_pbarena_reset(self);
    return self;
}

static void s_free_more(fg_pbarena_t *self)
{
    while (self->more) {
        s_more_t *n = self->more->next;
        free(self->more);
        self->more = n;
    }
}

void fg_pbarena_reset(fg_pbarena_t *self)
{
    if (self->more) {
        /* the last message took more than the block: next time one block
         * as large as all it took (within PBARENA_KEEP_MAX) */
        size_t want = self->used + self->used / 4;
        s_free_more(self);
        if (want > self->size && want <= PBARENA_KEEP_MAX) {
            uint8_t *b = malloc(want);
            if (b) {
                free(self->first);
                self->first = b;
                self->size = want;
            }
        }
    }
    self->cur = self->first;
    self->cur_size = self->size;
    self->cur_at = 0;
    self->used = 0;
}

void fg_pbarena_destroy(fg_pbarena_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    s_free_more(*self_p);
    free((*self_p)->first);
    free(*self_p);
    *self_p = NULL;
}

ProtobufCAllocator *fg_pbarena_allocator(fg_pbarena_t *self)
{
    return &self->a;
}

size_t fg_pbarena_used(const fg_pbarena_t *self)
{
    return self->used;
}

size_t fg_pbarena_block(const fg_pbarena_t *self)
{
    return self->size;
}

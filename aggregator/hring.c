#include "aggregator/hring.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/bigmem.h"
#include "common/prefetch.h"

/* Rates whose holds end in one slot, and where: m is the sum of their
 * weights (s_weight) times their last window's offset in the slot. */
typedef struct {
    float pps, Bps, m;
} hr_slot_t;

typedef struct {
    float pps, Bps;
} hr_fine_t;

typedef struct {
    uint32_t next; /* 1 + the host's next block (or the free list's), 0 = none */
    uint32_t host;
    uint32_t bits; /* slots holding rates */
    uint8_t code;
    uint16_t ends;  /* its slots' rates on the ends lists, not ended yet */
    uint64_t fbits; /* fine buckets holding rates */
    hr_slot_t slot[HR_SLOTS];
    hr_fine_t fine[]; /* nf buckets */
} hr_block_t;

typedef struct {
    uint32_t *ids;
    uint32_t n, cap;
} hr_list_t;

/* A slot's rates that end with a window: where its block's fine bucket
 * would have taken them, without a write to that bucket's line now and a
 * read of it then. */
typedef struct {
    uint32_t block;
    float pps, Bps;
} hr_end_t;

typedef struct {
    hr_end_t *ev;
    uint32_t n, cap;
} hr_ends_t;

struct hr {
    /* per host: 1 + first block, 0 = none; a uint32_t every hstride bytes
     * from heads, in own or in the caller's memory (hr_set_heads) */
    uint8_t *heads;
    size_t hstride;
    uint32_t *own;
    uint32_t max_hosts;
    uint8_t *pool;
    size_t stride;
    uint32_t max, top, free_head;
    size_t used;
    uint32_t gw;    /* windows per slot */
    uint32_t nf;    /* fine buckets: gw + 1 */
    uint64_t fired; /* last window closed here; 0 = none yet */
    hr_list_t slots[HR_SLOTS]; /* per slot index: blocks that set its bit */
    hr_list_t fines[HR_MAX_SLOT_WINDOWS + 1];
    hr_ends_t ends[HR_MAX_SLOT_WINDOWS + 1]; /* per fine bucket index */
    hr_delta_fn fn;
    void *arg;
    hr_prefetch_fn pf; /* the caller's memory of a host whose holds end */
};

/* Blocks ahead in a due list whose memory is asked for: the header and the
 * bucket 2 x HR_PF ahead, then (the header read) the host's HR_PF ahead. */
#define HR_PF 8

_Static_assert(HR_MAX_SLOT_WINDOWS + 1 <= 64, "fine buckets are bits of a uint64_t");

/* A rate's weight for a slot's mean end: packets, or bytes for rates of
 * bytes only. */
static float s_weight(float pps, float Bps)
{
    return pps + Bps / 1024.0f;
}

uint32_t hr_slot_windows(uint64_t max_windows)
{
    uint64_t gw = (max_windows + HR_SLOTS - 3) / (HR_SLOTS - 2);
    return gw < 1 ? 1 : gw > HR_MAX_SLOT_WINDOWS ? HR_MAX_SLOT_WINDOWS : (uint32_t)gw;
}

uint64_t hr_max_windows(uint32_t slot_windows)
{
    return (uint64_t)(HR_SLOTS - 1) * slot_windows;
}

uint64_t hr_span(const hr_t *self)
{
    return hr_max_windows(self->gw);
}

static uint32_t *s_head(const hr_t *self, uint32_t host)
{
    return (uint32_t *)(self->heads + (size_t)host * self->hstride);
}

static hr_block_t *s_at(const hr_t *self, uint32_t i)
{
    return (hr_block_t *)(self->pool + (size_t)i * self->stride);
}

static uint32_t s_id(const hr_t *self, const hr_block_t *b)
{
    return (uint32_t)(((const uint8_t *)b - self->pool) / self->stride);
}

hr_t *hr_new(uint32_t max_hosts, uint32_t max_blocks, uint32_t slot_windows)
{
    if (!max_hosts || !max_blocks || max_blocks >= UINT32_MAX / 2 || !slot_windows ||
        slot_windows > HR_MAX_SLOT_WINDOWS)
        return NULL;
    hr_t *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->max_hosts = max_hosts;
    self->max = max_blocks;
    self->gw = slot_windows;
    self->nf = slot_windows + 1;
    self->stride = (sizeof(hr_block_t) + self->nf * sizeof(hr_fine_t) + 7) / 8 * 8;
    self->own = fg_big_calloc(max_hosts, sizeof(*self->own));
    self->heads = (uint8_t *)self->own;
    self->hstride = sizeof(*self->own);
    self->pool = fg_big_calloc(max_blocks, self->stride);
    if (!self->own || !self->pool)
        hr_destroy(&self);
    return self;
}

void hr_destroy(hr_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    hr_t *self = *self_p;
    for (int i = 0; i < HR_SLOTS; i++)
        free(self->slots[i].ids);
    for (int i = 0; i <= HR_MAX_SLOT_WINDOWS; i++)
        free(self->fines[i].ids);
    for (int i = 0; i <= HR_MAX_SLOT_WINDOWS; i++)
        free(self->ends[i].ev);
    fg_big_free(self->own, self->max_hosts, sizeof(*self->own));
    fg_big_free(self->pool, self->max, self->stride);
    free(self);
    *self_p = NULL;
}

/* The host's block for code, a new one when it has none (NULL: no room). */
static hr_block_t *s_block(hr_t *self, uint32_t host, uint8_t code)
{
    uint32_t *head = s_head(self, host);
    for (uint32_t i = *head; i; i = s_at(self, i - 1)->next)
        if (s_at(self, i - 1)->code == code)
            return s_at(self, i - 1);
    uint32_t i;
    if (self->free_head) {
        i = self->free_head - 1;
        self->free_head = s_at(self, i)->next;
    } else if (self->top < self->max) {
        i = self->top++;
    } else {
        return NULL;
    }
    hr_block_t *b = s_at(self, i);
    memset(b, 0, sizeof(*b));
    b->next = *head;
    b->host = host;
    b->code = code;
    *head = i + 1;
    self->used++;
    return b;
}

/* A block holding nothing goes back to the free list (its list entries go
 * stale: a bit not set is skipped). */
static void s_maybe_free(hr_t *self, hr_block_t *b)
{
    if (b->bits || b->fbits || b->ends)
        return;
    uint32_t id = s_id(self, b) + 1;
    uint32_t *head = s_head(self, b->host);
    for (uint32_t *p = head; *p; p = &s_at(self, *p - 1)->next)
        if (*p == id) {
            *p = b->next;
            break;
        }
    b->next = self->free_head;
    self->free_head = id;
    self->used--;
    if (!*head)
        self->fn(b->host, HR_CODES, 0, 0, self->arg);
}

/* items (n of *cap used, each of size bytes) with room for one more:
 * items itself, or grown (doubled); NULL when out of memory (items kept). */
static void *s_room(void *items, uint32_t n, uint32_t *cap, size_t size)
{
    if (n < *cap)
        return items;
    uint32_t c = *cap ? 2 * *cap : 256;
    void *p = c > *cap ? realloc(items, (size_t)c * size) : NULL;
    if (p)
        *cap = c;
    return p;
}

/* Append block b to list l (grown as needed). -1 when out of memory. */
static int s_list_add(hr_t *self, hr_list_t *l, const hr_block_t *b)
{
    uint32_t *ids = s_room(l->ids, l->n, &l->cap, sizeof(*ids));
    if (!ids)
        return -1;
    l->ids = ids;
    l->ids[l->n++] = s_id(self, b);
    return 0;
}

/* Add (pps, Bps) to the fine bucket of window w (pending, within the
 * ring). -1 when its list has no room for the block (nothing changed). */
static int s_fine_add(hr_t *self, hr_block_t *b, uint64_t w, float pps, float Bps)
{
    uint32_t j = (uint32_t)(w % self->nf);
    uint64_t bit = 1ull << j;
    hr_fine_t *f = &b->fine[j];
    if (!(b->fbits & bit)) {
        if (s_list_add(self, &self->fines[j], b) < 0)
            return -1;
        b->fbits |= bit;
        f->pps = f->Bps = 0;
    }
    f->pps += pps;
    f->Bps += Bps;
    return 0;
}

/* The rates (pps, Bps) of block b end with window w (pending, within the
 * ring): an entry on its ends list. -1 when the list has no room (nothing
 * changed). */
static int s_end_add(hr_t *self, hr_block_t *b, uint64_t w, float pps, float Bps)
{
    hr_ends_t *l = &self->ends[w % self->nf];
    hr_end_t *ev = s_room(l->ev, l->n, &l->cap, sizeof(*ev));
    if (!ev)
        return -1;
    l->ev = ev;
    l->ev[l->n++] = (hr_end_t){s_id(self, b), pps, Bps};
    b->ends++;
    return 0;
}

static int s_slot_add(hr_t *self, hr_block_t *b, uint64_t last, float pps, float Bps)
{
    uint64_t k = last / self->gw;
    uint32_t idx = (uint32_t)(k % HR_SLOTS), bit = 1u << idx;
    hr_slot_t *s = &b->slot[idx];
    if (!(b->bits & bit)) {
        if (s_list_add(self, &self->slots[idx], b) < 0)
            return -1;
        b->bits |= bit;
        *s = (hr_slot_t){0, 0, 0};
    }
    s->pps += pps;
    s->Bps += Bps;
    s->m += s_weight(pps, Bps) * (float)(last - k * self->gw);
    return 0;
}

int hr_hold(hr_t *self, uint32_t host, uint8_t code, float pps, float Bps, uint64_t open,
            uint64_t last, hr_delta_fn fn, void *arg)
{
    if (host >= self->max_hosts || code >= HR_CODES || open == 0 || last < open ||
        last - open >= hr_max_windows(self->gw) || !(pps >= 0) || !(Bps >= 0))
        return -1;
    self->fn = fn;
    self->arg = arg;
    if (!self->fired)
        self->fired = open - 1;
    if (last <= self->fired) /* the windows closed ahead of the open one */
        last = self->fired + 1;
    /* pending slots: k from (fired + 1) / gw + 1, HR_SLOTS of them */
    uint64_t k_end = (self->fired + 1) / self->gw + 1 + HR_SLOTS;
    if (last >= k_end * self->gw)
        last = k_end * self->gw - 1;
    hr_block_t *b = s_block(self, host, code);
    if (!b)
        return -1;
    int rc = last <= self->fired + self->nf ? s_fine_add(self, b, last, pps, Bps)
                                             : s_slot_add(self, b, last, pps, Bps);
    if (rc < 0) {
        s_maybe_free(self, b);
        return -1;
    }
    return 0; /* the caller adds the rate (hr_hold) */
}

/* For the due list l at i, of the bucket at offset off in its blocks:
 * bring the blocks ahead into the cache, and (host) the caller's memory of
 * their hosts. */
static void s_due_prefetch(const hr_t *self, const hr_list_t *l, uint32_t i, size_t off,
                           bool host)
{
    if (i + 2 * HR_PF < l->n) {
        const uint8_t *b = (const uint8_t *)s_at(self, l->ids[i + 2 * HR_PF]);
        fg_prefetch(b);
        fg_prefetch(b + off);
    }
    if (host && self->pf && i + HR_PF < l->n) {
        const hr_block_t *b = s_at(self, l->ids[i + HR_PF]);
        self->pf(b->host, b->code, self->arg);
    }
}

/* Slot k's time has come (the close of window k * gw - 1): its rates end
 * with their mean last window, in [k * gw, (k + 1) * gw) (an ends list's
 * entry; the block stays until then). */
static void s_slot_due(hr_t *self, uint64_t k)
{
    uint32_t idx = (uint32_t)(k % HR_SLOTS), bit = 1u << idx;
    hr_list_t *l = &self->slots[idx];
    for (uint32_t i = 0; i < l->n; i++) {
        s_due_prefetch(self, l, i, offsetof(hr_block_t, slot) + idx * sizeof(hr_slot_t), false);
        hr_block_t *b = s_at(self, l->ids[i]);
        if (!(b->bits & bit))
            continue; /* a duplicate, or a block freed since */
        hr_slot_t *s = &b->slot[idx];
        b->bits &= ~bit;
        float w = s_weight(s->pps, s->Bps);
        uint64_t off = w > 0 ? (uint64_t)(s->m / w + 0.5f) : 0;
        if (off >= self->gw)
            off = self->gw - 1;
        if (s_end_add(self, b, k * self->gw + off, s->pps, s->Bps) < 0) /* no room: ends now */
            self->fn(b->host, b->code, -s->pps, -s->Bps, self->arg);
        s_maybe_free(self, b);
    }
    l->n = 0;
}

/* The holds of fine bucket j end (all: every bucket and slot, after a gap
 * longer than any hold), and the slots' rates on its ends list. */
static void s_fine_due(hr_t *self, uint32_t j)
{
    hr_list_t *l = &self->fines[j];
    uint64_t bit = 1ull << j;
    for (uint32_t i = 0; i < l->n; i++) {
        s_due_prefetch(self, l, i, offsetof(hr_block_t, fine) + j * sizeof(hr_fine_t), true);
        hr_block_t *b = s_at(self, l->ids[i]);
        if (!(b->fbits & bit))
            continue;
        b->fbits &= ~bit;
        self->fn(b->host, b->code, -b->fine[j].pps, -b->fine[j].Bps, self->arg);
        s_maybe_free(self, b);
    }
    l->n = 0;
    hr_ends_t *e = &self->ends[j];
    for (uint32_t i = 0; i < e->n; i++) {
        if (i + 2 * HR_PF < e->n)
            fg_prefetch(s_at(self, e->ev[i + 2 * HR_PF].block));
        if (self->pf && i + HR_PF < e->n) {
            const hr_block_t *b = s_at(self, e->ev[i + HR_PF].block);
            self->pf(b->host, b->code, self->arg);
        }
        hr_block_t *b = s_at(self, e->ev[i].block);
        self->fn(b->host, b->code, -e->ev[i].pps, -e->ev[i].Bps, self->arg);
        b->ends--;
        s_maybe_free(self, b);
    }
    e->n = 0;
}

static void s_end_all(hr_t *self)
{
    for (uint32_t idx = 0; idx < HR_SLOTS; idx++) {
        hr_list_t *l = &self->slots[idx];
        for (uint32_t i = 0; i < l->n; i++) {
            hr_block_t *b = s_at(self, l->ids[i]);
            if (!(b->bits & (1u << idx)))
                continue;
            b->bits &= ~(1u << idx);
            self->fn(b->host, b->code, -b->slot[idx].pps, -b->slot[idx].Bps, self->arg);
            s_maybe_free(self, b);
        }
        l->n = 0;
    }
    for (uint32_t j = 0; j < self->nf; j++)
        s_fine_due(self, j);
}

void hr_advance(hr_t *self, uint64_t closed, hr_delta_fn fn, void *arg)
{
    self->fn = fn;
    self->arg = arg;
    if (!self->fired || closed <= self->fired) {
        if (!self->fired)
            self->fired = closed;
        return;
    }
    if (closed - self->fired > hr_max_windows(self->gw) + 2 * self->nf) {
        s_end_all(self);
        self->fired = closed;
        return;
    }
    for (uint64_t c = self->fired + 1; c <= closed; c++) {
        if ((c + 1) % self->gw == 0)
            s_slot_due(self, (c + 1) / self->gw);
        s_fine_due(self, (uint32_t)(c % self->nf));
        self->fired = c;
    }
}

void hr_set_prefetch(hr_t *self, hr_prefetch_fn pf)
{
    self->pf = pf;
}

void hr_set_heads(hr_t *self, void *first, size_t stride)
{
    if (!first || stride < sizeof(uint32_t))
        return;
    fg_big_free(self->own, self->max_hosts, sizeof(*self->own));
    self->own = NULL;
    self->heads = first;
    self->hstride = stride;
}

void hr_prefetch_first(const hr_t *self, uint32_t host, uint64_t last)
{
    uint32_t i = host < self->max_hosts && self->fired ? *s_head(self, host) : 0;
    if (!i)
        return;
    const hr_block_t *b = s_at(self, i - 1);
    fg_prefetch(b);
    if (last <= self->fired + self->nf)
        fg_prefetch(&b->fine[last % self->nf]);
    else
        fg_prefetch(&b->slot[last / self->gw % HR_SLOTS]);
}

int hr_holds(const hr_t *self, uint32_t host)
{
    return host < self->max_hosts && *s_head(self, host) != 0;
}

size_t hr_blocks(const hr_t *self)
{
    return self->used;
}

size_t hr_room(const hr_t *self)
{
    return self->max - self->used;
}

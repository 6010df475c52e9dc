#include "aggregator/hring.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/bigmem.h"
#include "common/prefetch.h"

/* A block's memory is laid out by slot, not by block: slot idx of every
 * block in one array (slots + idx * max), each fine bucket likewise, the
 * headers in a third. A hold then writes one line (its slot or bucket,
 * which carries the tag of the slot or window it belongs to, so that
 * neither a header nor a list is read or written to tell a live one from a
 * stale one), and a slot's time scans one array in order. */

/* Rates whose holds end in one slot, where (m: the sum of their weights,
 * s_weight, times their last window's offset in the slot), and which slot
 * (tag: s_tag of its number; any other value is stale). */
typedef struct {
    float pps, Bps, m;
    uint32_t tag;
} hr_slot_t;

typedef struct {
    float pps, Bps;
    uint32_t tag; /* s_tag of the window */
} hr_fine_t;

typedef struct {
    uint32_t next; /* the host's next block (s_enc), or 1 + the next free one; 0 = none */
    uint32_t host;
    uint32_t code;
} hr_hdr_t;

/* A host's memory: its first block (s_enc, 0 = none) and the number of
 * live things holding its rates (slots, fine buckets, ends entries); when
 * that falls to 0 its blocks go back. */
typedef struct {
    uint32_t head;
    uint32_t live;
} hr_host_t;

/* A fine bucket to visit when its window closes. */
typedef struct {
    uint32_t enc; /* s_enc of the block */
    uint32_t host;
} hr_ref_t;

typedef struct {
    hr_ref_t *v;
    uint32_t n, cap;
} hr_refs_t;

/* A slot's rates that end with a window (where its block's fine bucket
 * would have taken them), with all that ending them needs. */
typedef struct {
    uint32_t host;
    uint32_t code;
    float pps, Bps;
} hr_end_t;

typedef struct {
    hr_end_t *v;
    uint32_t n, cap;
} hr_ends_t;

struct hr {
    /* per host: an hr_host_t every hstride bytes from heads, in own or in
     * the caller's memory (hr_set_heads) */
    uint8_t *heads;
    size_t hstride;
    hr_host_t *own;
    uint32_t max_hosts;
    hr_hdr_t *hdr;     /* max */
    hr_slot_t *slots;  /* HR_SLOTS x max, by slot index */
    hr_fine_t *fine;   /* nf x max, by bucket index */
    uint32_t max, top, free_head;
    size_t used;
    uint32_t gw;    /* windows per slot */
    uint32_t nf;    /* fine buckets: gw + 1 */
    uint64_t fired; /* last window closed here; 0 = none yet */
    hr_refs_t fines[HR_MAX_SLOT_WINDOWS + 1]; /* per fine bucket index */
    hr_ends_t ends[HR_MAX_SLOT_WINDOWS + 1];  /* per fine bucket index */
    hr_delta_fn fn;
    void *arg;
    hr_prefetch_fn pf; /* the caller's memory of a host whose holds end */
};

/* Entries ahead in a due list whose memory is asked for: the bucket
 * 2 x HR_PF ahead, the caller's memory of the host HR_PF ahead. */
#define HR_PF 8
/* A block in a host's list: 1 + its index, its code in the top bits. */
#define HR_ID_BITS 29
#define HR_ID_MASK ((1u << HR_ID_BITS) - 1)

_Static_assert(HR_MAX_SLOT_WINDOWS + 1 <= 64, "at most 64 fine buckets");
_Static_assert(HR_CODES <= (1 << (32 - HR_ID_BITS)), "a code fits the top bits");
_Static_assert(sizeof(hr_host_t) == HR_HOST_BYTES, "a host's memory is HR_HOST_BYTES");

static uint32_t s_enc(uint32_t id, uint32_t code)
{
    return code << HR_ID_BITS | (id + 1);
}

static uint32_t s_eid(uint32_t enc)
{
    return (enc & HR_ID_MASK) - 1;
}

static uint32_t s_ecode(uint32_t enc)
{
    return enc >> HR_ID_BITS;
}

/* The tag of slot number (or window id) v: never 0 (fresh memory), and
 * distinct for any two within 2^32 - 1 of each other. */
static uint32_t s_tag(uint64_t v)
{
    return (uint32_t)(v % 0xffffffffu) + 1;
}

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

static hr_host_t *s_host(const hr_t *self, uint32_t host)
{
    return (hr_host_t *)(self->heads + (size_t)host * self->hstride);
}

static hr_slot_t *s_slot(const hr_t *self, uint32_t idx, uint32_t id)
{
    return &self->slots[(size_t)idx * self->max + id];
}

static hr_fine_t *s_fine(const hr_t *self, uint32_t j, uint32_t id)
{
    return &self->fine[(size_t)j * self->max + id];
}

hr_t *hr_new(uint32_t max_hosts, uint32_t max_blocks, uint32_t slot_windows)
{
    if (!max_hosts || !max_blocks || max_blocks >= HR_ID_MASK || !slot_windows ||
        slot_windows > HR_MAX_SLOT_WINDOWS)
        return NULL;
    hr_t *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->max_hosts = max_hosts;
    self->max = max_blocks;
    self->gw = slot_windows;
    self->nf = slot_windows + 1;
    self->own = fg_big_calloc(max_hosts, sizeof(*self->own));
    self->heads = (uint8_t *)self->own;
    self->hstride = sizeof(*self->own);
    self->hdr = fg_big_calloc(max_blocks, sizeof(*self->hdr));
    self->slots = fg_big_calloc((size_t)HR_SLOTS * max_blocks, sizeof(*self->slots));
    self->fine = fg_big_calloc((size_t)self->nf * max_blocks, sizeof(*self->fine));
    if (!self->own || !self->hdr || !self->slots || !self->fine)
        hr_destroy(&self);
    return self;
}

void hr_destroy(hr_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    hr_t *self = *self_p;
    for (int i = 0; i <= HR_MAX_SLOT_WINDOWS; i++) {
        free(self->fines[i].v);
        free(self->ends[i].v);
    }
    fg_big_free(self->own, self->max_hosts, sizeof(*self->own));
    fg_big_free(self->hdr, self->max, sizeof(*self->hdr));
    fg_big_free(self->slots, (size_t)HR_SLOTS * self->max, sizeof(*self->slots));
    fg_big_free(self->fine, (size_t)self->nf * self->max, sizeof(*self->fine));
    free(self);
    *self_p = NULL;
}

/* The host's block for code (its index), a new one when it has none
 * (*fresh set); UINT32_MAX when there is no room. */
static uint32_t s_block(hr_t *self, uint32_t host, uint32_t code, bool *fresh)
{
    hr_host_t *hh = s_host(self, host);
    for (uint32_t e = hh->head; e; e = self->hdr[s_eid(e)].next)
        if (s_ecode(e) == code)
            return s_eid(e);
    uint32_t i;
    if (self->free_head) {
        i = self->free_head - 1;
        self->free_head = self->hdr[i].next;
    } else if (self->top < self->max) {
        i = self->top++;
    } else {
        return UINT32_MAX;
    }
    self->hdr[i] = (hr_hdr_t){hh->head, host, code};
    hh->head = s_enc(i, code);
    self->used++;
    *fresh = true;
    return i;
}

/* Block i goes on the free list. */
static void s_free_block(hr_t *self, uint32_t i)
{
    self->hdr[i].next = self->free_head;
    self->free_head = i + 1;
    self->used--;
}

/* The host's blocks go back to the free list: it holds nothing. */
static void s_release(hr_t *self, uint32_t host)
{
    hr_host_t *hh = s_host(self, host);
    for (uint32_t e = hh->head; e;) {
        uint32_t i = s_eid(e);
        e = self->hdr[i].next;
        s_free_block(self, i);
    }
    hh->head = 0;
    hh->live = 0;
    self->fn(host, HR_CODES, 0, 0, self->arg);
}

/* Block id, just taken for host (its head), goes back: the hold failed. */
static void s_unlink_fresh(hr_t *self, uint32_t host, uint32_t id)
{
    hr_host_t *hh = s_host(self, host);
    hh->head = self->hdr[id].next;
    s_free_block(self, id);
    if (!hh->head)
        self->fn(host, HR_CODES, 0, 0, self->arg);
}

/* One of the host's live things is over; the last one releases its blocks. */
static void s_dec(hr_t *self, uint32_t host)
{
    hr_host_t *hh = s_host(self, host);
    if (hh->live > 1) {
        hh->live--;
        return;
    }
    s_release(self, host);
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

/* Add (pps, Bps) to block id's fine bucket of window w (pending, within
 * the ring). -1 when its list has no room for the block (nothing
 * changed). */
static int s_fine_add(hr_t *self, uint32_t host, uint32_t id, uint32_t code, uint64_t w,
                      float pps, float Bps)
{
    uint32_t j = (uint32_t)(w % self->nf), tag = s_tag(w);
    hr_fine_t *f = s_fine(self, j, id);
    if (f->tag != tag) {
        hr_refs_t *l = &self->fines[j];
        hr_ref_t *v = s_room(l->v, l->n, &l->cap, sizeof(*v));
        if (!v)
            return -1;
        l->v = v;
        l->v[l->n++] = (hr_ref_t){s_enc(id, code), host};
        *f = (hr_fine_t){0, 0, tag};
        s_host(self, host)->live++;
    }
    f->pps += pps;
    f->Bps += Bps;
    return 0;
}

static void s_slot_add(hr_t *self, uint32_t host, uint32_t id, uint64_t last, float pps, float Bps)
{
    uint64_t k = last / self->gw;
    uint32_t tag = s_tag(k);
    hr_slot_t *s = s_slot(self, (uint32_t)(k % HR_SLOTS), id);
    if (s->tag != tag) {
        *s = (hr_slot_t){0, 0, 0, tag};
        s_host(self, host)->live++;
    }
    s->pps += pps;
    s->Bps += Bps;
    s->m += s_weight(pps, Bps) * (float)(last - k * self->gw);
}

/* A hold's last window as the pool keeps it: after the last window closed
 * (the windows closed ahead of the open one), within the pending slots (k
 * from (fired + 1) / gw + 1, HR_SLOTS of them). */
static uint64_t s_clamp(const hr_t *self, uint64_t last)
{
    if (last <= self->fired)
        last = self->fired + 1;
    uint64_t k_end = (self->fired + 1) / self->gw + 1 + HR_SLOTS;
    return last >= k_end * self->gw ? k_end * self->gw - 1 : last;
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
    last = s_clamp(self, last);
    bool fresh = false;
    uint32_t id = s_block(self, host, code, &fresh);
    if (id == UINT32_MAX)
        return -1;
    if (last > self->fired + self->nf) {
        s_slot_add(self, host, id, last, pps, Bps);
    } else if (s_fine_add(self, host, id, code, last, pps, Bps) < 0) {
        if (fresh)
            s_unlink_fresh(self, host, id);
        return -1;
    }
    return 0; /* the caller adds the rate (hr_hold) */
}

/* The rates of (host, code) end with window w (pending, within the ring):
 * an entry on its ends list. -1 when the list has no room (nothing
 * changed). */
static int s_end_add(hr_t *self, uint64_t w, uint32_t host, uint32_t code, float pps, float Bps)
{
    hr_ends_t *l = &self->ends[w % self->nf];
    hr_end_t *v = s_room(l->v, l->n, &l->cap, sizeof(*v));
    if (!v)
        return -1;
    l->v = v;
    l->v[l->n++] = (hr_end_t){host, code, pps, Bps};
    return 0;
}

/* Slot k's time has come (the close of window k * gw - 1): one pass over
 * slot index k % HR_SLOTS of every block; the live ones' rates end with
 * their mean last window, in [k * gw, (k + 1) * gw) (an ends list's
 * entry: the block is not read again), or at once when now is set (after
 * a gap longer than any hold) or the list has no room. */
static void s_slot_due(hr_t *self, uint64_t k, bool now)
{
    uint32_t idx = (uint32_t)(k % HR_SLOTS), tag = s_tag(k);
    const hr_slot_t *a = s_slot(self, idx, 0);
    for (uint32_t i = 0; i < self->top; i++) {
        if (a[i].tag != tag)
            continue;
        const hr_slot_t *s = &a[i];
        const hr_hdr_t *h = &self->hdr[i];
        float w = s_weight(s->pps, s->Bps);
        uint64_t off = w > 0 ? (uint64_t)(s->m / w + 0.5f) : 0;
        if (off >= self->gw)
            off = self->gw - 1;
        if (now || s_end_add(self, k * self->gw + off, h->host, h->code, s->pps, s->Bps) < 0) {
            self->fn(h->host, (uint8_t)h->code, -s->pps, -s->Bps, self->arg);
            s_dec(self, h->host);
        }
    }
}

/* The holds of fine bucket j end (those of window w: all of them, since
 * every one on its list is of w), and the slots' rates on its ends list. */
static void s_fine_due(hr_t *self, uint32_t j)
{
    hr_refs_t *l = &self->fines[j];
    for (uint32_t i = 0; i < l->n; i++) {
        if (i + 2 * HR_PF < l->n)
            fg_prefetch(s_fine(self, j, s_eid(l->v[i + 2 * HR_PF].enc)));
        if (self->pf && i + HR_PF < l->n)
            self->pf(l->v[i + HR_PF].host, (uint8_t)s_ecode(l->v[i + HR_PF].enc), self->arg);
        const hr_ref_t *r = &l->v[i];
        const hr_fine_t *f = s_fine(self, j, s_eid(r->enc));
        self->fn(r->host, (uint8_t)s_ecode(r->enc), -f->pps, -f->Bps, self->arg);
        s_dec(self, r->host);
    }
    l->n = 0;
    hr_ends_t *e = &self->ends[j];
    for (uint32_t i = 0; i < e->n; i++) {
        if (self->pf && i + HR_PF < e->n)
            self->pf(e->v[i + HR_PF].host, (uint8_t)e->v[i + HR_PF].code, self->arg);
        const hr_end_t *x = &e->v[i];
        self->fn(x->host, (uint8_t)x->code, -x->pps, -x->Bps, self->arg);
        s_dec(self, x->host);
    }
    e->n = 0;
}

/* After a gap longer than any hold: every pending slot's rates end now,
 * then every fine bucket and ends list. */
static void s_end_all(hr_t *self)
{
    uint64_t k0 = (self->fired + 1) / self->gw; /* swept up to it */
    for (uint64_t k = k0 + 1; k <= k0 + HR_SLOTS; k++)
        s_slot_due(self, k, true);
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
            s_slot_due(self, (c + 1) / self->gw, false);
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
    if (!first || stride < HR_HOST_BYTES || (uintptr_t)first % sizeof(uint32_t) ||
        stride % sizeof(uint32_t))
        return;
    fg_big_free(self->own, self->max_hosts, sizeof(*self->own));
    self->own = NULL;
    self->heads = first;
    self->hstride = stride;
}

void hr_prefetch_first(const hr_t *self, uint32_t host, uint64_t last)
{
    uint32_t e = host < self->max_hosts && self->fired ? s_host(self, host)->head : 0;
    if (!e)
        return;
    last = s_clamp(self, last);
    if (last <= self->fired + self->nf)
        fg_prefetch(s_fine(self, (uint32_t)(last % self->nf), s_eid(e)));
    else
        fg_prefetch(s_slot(self, (uint32_t)(last / self->gw % HR_SLOTS), s_eid(e)));
}

int hr_holds(const hr_t *self, uint32_t host)
{
    return host < self->max_hosts && s_host(self, host)->head != 0;
}

size_t hr_blocks(const hr_t *self)
{
    return self->used;
}

size_t hr_room(const hr_t *self)
{
    return self->max - self->used;
}

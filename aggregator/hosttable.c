#include "aggregator/hosttable.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/bigmem.h"
#include "common/prefetch.h"

/* A free entry: dir holds HT_FREE, seen the free list link (1 + index). */
#define HT_FREE 0xff

struct ht {
    uint64_t *slots;      /* tag << 32 | (index + 1); 0 = empty */
    uint64_t mask;        /* slot count - 1 */
    ht_entry_t *entries;  /* [0, top) used or on the free list */
    uint32_t n, max;
    uint32_t top;         /* entries ever handed out */
    uint32_t free_head;   /* 1 + index of the first free entry, 0 = none */
    uint32_t cursor;      /* ht_expire's position */
    uint32_t hand;        /* ht_victim's position */
};

uint64_t ht_hash(const fg_addr_t *addr, uint8_t dir)
{
    uint64_t h = fg_addr_hash(addr) ^ ((uint64_t)dir * 0x9e3779b97f4a7c15ULL);
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 32;
    return h;
}

static uint64_t s_tag(uint64_t h)
{
    return h & 0xffffffff00000000ULL;
}

ht_t *ht_new(uint32_t max_hosts)
{
    if (max_hosts == 0)
        return NULL;
    ht_t *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    uint64_t slots = 16;
    while (slots < 2 * (uint64_t)max_hosts)
        slots <<= 1;
    self->mask = slots - 1;
    self->max = max_hosts;
    self->slots = fg_big_calloc(slots, sizeof(*self->slots));
    self->entries = fg_big_calloc(max_hosts, sizeof(*self->entries));
    if (!self->slots || !self->entries)
        ht_destroy(&self);
    return self;
}

void ht_destroy(ht_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fg_big_free((*self_p)->slots, (*self_p)->mask + 1, sizeof(*(*self_p)->slots));
    fg_big_free((*self_p)->entries, (*self_p)->max, sizeof(*(*self_p)->entries));
    free(*self_p);
    *self_p = NULL;
}

/* The slot holding (addr, dir), or the empty slot where it would go. */
static uint64_t s_probe(const ht_t *self, const fg_addr_t *addr, uint8_t dir, uint64_t h)
{
    uint64_t tag = s_tag(h);
    for (uint64_t i = h & self->mask;; i = (i + 1) & self->mask) {
        uint64_t s = self->slots[i];
        if (s == 0)
            return i;
        if ((s & 0xffffffff00000000ULL) != tag)
            continue;
        const ht_entry_t *e = &self->entries[(uint32_t)s - 1];
        if (e->dir == dir && fg_addr_eq(&e->addr, addr))
            return i;
    }
}

void ht_prefetch_slot(const ht_t *self, uint64_t h)
{
    fg_prefetch(&self->slots[h & self->mask]);
}

uint32_t ht_prefetch_entry(const ht_t *self, uint64_t h, int cls, int syn)
{
    /* the probe as far as the home slot's cache line goes (a third of the
     * keys are not in their home slot at half load) */
    for (uint64_t i = h & self->mask;; i = (i + 1) & self->mask) {
        uint64_t s = self->slots[i];
        if (!s)
            return 0;
        if (s_tag(s) == s_tag(h)) {
            ht_prefetch_index(self, (uint32_t)s - 1, cls, syn);
            return (uint32_t)s;
        }
        if ((i + 1) % (64 / sizeof(*self->slots)) == 0)
            return 0;
    }
}

void ht_prefetch_index(const ht_t *self, uint32_t i, int cls, int syn)
{
    const char *e = (const char *)&self->entries[i];
    const size_t head = offsetof(ht_entry_t, cls);
    fg_prefetch(e);
    fg_prefetch(e + head - 1);
    if (cls < 0 || cls >= HT_CLASSES)
        return;
    _Static_assert(HT_TCP_SYN == HT_TCP + 1, "tcp_syn's counts follow tcp's");
    size_t lo = head + (size_t)cls * sizeof(ht_counts_t);
    size_t hi = lo + (syn && cls == HT_TCP ? 2 : 1) * sizeof(ht_counts_t);
    fg_prefetch(e + lo);
    fg_prefetch(e + hi - 1);
}

void ht_prefetch_head(const ht_t *self, uint32_t i)
{
    const char *e = (const char *)&self->entries[i];
    fg_prefetch(e);
    fg_prefetch(e + offsetof(ht_entry_t, cls) - 1);
}

void ht_prefetch_counted(const ht_t *self, uint32_t i)
{
    const ht_entry_t *e = &self->entries[i];
    for (unsigned m = e->cmask; m; m &= m - 1) {
        const char *c = (const char *)&e->cls[__builtin_ctz(m)];
        fg_prefetch(c);
        fg_prefetch(c + sizeof(ht_counts_t) - 1);
    }
}

ht_entry_t *ht_find(ht_t *self, const fg_addr_t *addr, uint8_t dir)
{
    return ht_find_hinted(self, addr, dir, ht_hash(addr, dir), 0);
}

ht_entry_t *ht_find_hinted(ht_t *self, const fg_addr_t *addr, uint8_t dir, uint64_t h,
                           uint32_t hint)
{
    if (hint && hint <= self->top) { /* a free entry's dir is HT_FREE: no match */
        ht_entry_t *e = &self->entries[hint - 1];
        if (e->dir == dir && fg_addr_eq(&e->addr, addr))
            return e;
    }
    uint64_t s = self->slots[s_probe(self, addr, dir, h)];
    return s ? &self->entries[(uint32_t)s - 1] : NULL;
}

ht_entry_t *ht_insert(ht_t *self, const fg_addr_t *addr, uint8_t dir, uint8_t group,
                      uint32_t now)
{
    if (self->n == self->max)
        return NULL;
    uint64_t h = ht_hash(addr, dir);
    uint64_t i = s_probe(self, addr, dir, h);
    uint32_t idx;
    if (self->free_head) {
        idx = self->free_head - 1;
        self->free_head = self->entries[idx].seen;
    } else {
        idx = self->top++;
    }
    self->n++;
    self->slots[i] = s_tag(h) | (uint64_t)(idx + 1);
    ht_entry_t *e = &self->entries[idx];
    memset(e, 0, sizeof(*e));
    e->addr = *addr;
    e->dir = dir;
    e->group = group;
    e->seen = now;
    return e;
}

ht_entry_t *ht_at(ht_t *self, uint32_t i)
{
    return &self->entries[i];
}

uint32_t ht_index(const ht_t *self, const ht_entry_t *e)
{
    return (uint32_t)(e - self->entries);
}

/* The slot pointing at entry idx. The entry is in the table, so the probe
 * ends there. */
static uint64_t s_slot_of(const ht_t *self, uint32_t idx)
{
    const ht_entry_t *e = &self->entries[idx];
    return s_probe(self, &e->addr, e->dir, ht_hash(&e->addr, e->dir));
}

/* Backward-shift deletion: pull later members of the probe run into the
 * hole so that no lookup stops early at it. */
static void s_slot_delete(ht_t *self, uint64_t hole)
{
    uint64_t i = hole;
    for (;;) {
        i = (i + 1) & self->mask;
        uint64_t s = self->slots[i];
        if (s == 0)
            break;
        const ht_entry_t *e = &self->entries[(uint32_t)s - 1];
        uint64_t home = ht_hash(&e->addr, e->dir) & self->mask;
        /* Move s to the hole unless its home lies cyclically in (hole, i]. */
        if (((i - home) & self->mask) >= ((i - hole) & self->mask)) {
            self->slots[hole] = s;
            hole = i;
        }
    }
    self->slots[hole] = 0;
}

void ht_remove(ht_t *self, uint32_t i)
{
    s_slot_delete(self, s_slot_of(self, i));
    ht_entry_t *e = &self->entries[i];
    e->dir = HT_FREE;
    e->seen = self->free_head;
    self->free_head = i + 1;
    self->n--;
}

void ht_each(ht_t *self, void (*fn)(ht_entry_t *e, void *arg), void *arg)
{
    for (uint32_t i = 0; i < self->top; i++)
        if (self->entries[i].dir != HT_FREE)
            fn(&self->entries[i], arg);
}

size_t ht_expire(ht_t *self, uint32_t now, uint32_t idle, size_t budget, ht_expire_fn fn,
                 void *arg)
{
    size_t removed = 0;
    if (budget > self->top)
        budget = self->top;
    for (size_t k = 0; k < budget && self->n > 0; k++) {
        if (self->cursor >= self->top)
            self->cursor = 0;
        uint32_t i = self->cursor++;
        ht_entry_t *e = &self->entries[i];
        if (e->dir == HT_FREE || (int32_t)(now - e->seen) < 0 || now - e->seen < idle)
            continue;
        if (fn && fn(e, arg) != 0)
            continue;
        ht_remove(self, i);
        removed++;
    }
    return removed;
}

int64_t ht_victim(ht_t *self, size_t budget, ht_expire_fn fn, void *arg)
{
    if (budget > self->top)
        budget = self->top;
    for (size_t k = 0; k < budget; k++) {
        if (self->hand >= self->top)
            self->hand = 0;
        uint32_t i = self->hand++;
        ht_entry_t *e = &self->entries[i];
        if (e->dir != HT_FREE && fn(e, arg) == 0)
            return i;
    }
    return -1;
}

size_t ht_size(const ht_t *self)
{
    return self->n;
}

size_t ht_max(const ht_t *self)
{
    return self->max;
}

void ht_reset(ht_entry_t *e)
{
    for (unsigned m = e->cmask; m; m &= m - 1) {
        ht_counts_t *c = &e->cls[__builtin_ctz(m)];
        c->packets = c->flows = 0;
        c->bytes = 0;
    }
    e->cmask = 0;
    e->tot_packets = e->tot_flows = 0;
    e->tot_bytes = 0;
}

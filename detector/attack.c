#include "detector/attack.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ATK_MIN_SLOTS 64
#define ATK_EVICT_SCAN 64 /* states looked at for one eviction */

struct atk_table {
    atk_state_t *slots;
    size_t mask; /* slot count - 1 */
    size_t n, max;
    size_t cursor; /* where the next eviction scan starts */
    size_t sweep;  /* where the next expiry sweep starts */
};

static size_t s_home(const atk_table_t *self, const fg_addr_t *addr, uint8_t dir)
{
    return (size_t)((fg_addr_hash(addr) ^ (dir * 0x9e3779b97f4a7c15ULL)) & self->mask);
}

atk_table_t *atk_new(uint32_t max)
{
    if (max == 0)
        return NULL;
    atk_table_t *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->slots = calloc(ATK_MIN_SLOTS, sizeof(*self->slots));
    if (!self->slots) {
        free(self);
        return NULL;
    }
    self->mask = ATK_MIN_SLOTS - 1;
    self->max = max;
    return self;
}

void atk_destroy(atk_table_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->slots);
    free(*self_p);
    *self_p = NULL;
}

/* The slot of (addr, dir), or the free slot where it would go. */
static size_t s_probe(const atk_table_t *self, const fg_addr_t *addr, uint8_t dir)
{
    size_t i = s_home(self, addr, dir);
    while (self->slots[i].used &&
           !(self->slots[i].dir == dir && fg_addr_eq(&self->slots[i].addr, addr)))
        i = (i + 1) & self->mask;
    return i;
}

atk_state_t *atk_find(atk_table_t *self, const fg_addr_t *addr, uint8_t dir)
{
    atk_state_t *s = &self->slots[s_probe(self, addr, dir)];
    return s->used ? s : NULL;
}

static int s_grow(atk_table_t *self)
{
    size_t cap = (self->mask + 1) * 2;
    atk_state_t *old = self->slots;
    size_t old_cap = self->mask + 1;
    atk_state_t *slots = calloc(cap, sizeof(*slots));
    if (!slots)
        return -1;
    self->slots = slots;
    self->mask = cap - 1;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].used)
            self->slots[s_probe(self, &old[i].addr, old[i].dir)] = old[i];
    free(old);
    return 0;
}

atk_state_t *atk_insert(atk_table_t *self, const fg_addr_t *addr, uint8_t dir)
{
    if (self->n >= self->max)
        return NULL;
    if (2 * (self->n + 1) > self->mask + 1 && s_grow(self) != 0)
        return NULL;
    atk_state_t *s = &self->slots[s_probe(self, addr, dir)];
    memset(s, 0, sizeof(*s));
    s->addr = *addr;
    s->dir = dir;
    s->used = 1;
    self->n++;
    return s;
}

/* Backward-shift deletion of slot hole. */
static void s_delete(atk_table_t *self, size_t hole)
{
    size_t i = hole;
    for (;;) {
        i = (i + 1) & self->mask;
        if (!self->slots[i].used)
            break;
        size_t home = s_home(self, &self->slots[i].addr, self->slots[i].dir);
        if (((i - home) & self->mask) >= ((i - hole) & self->mask)) {
            self->slots[hole] = self->slots[i];
            hole = i;
        }
    }
    self->slots[hole].used = 0;
    self->n--;
}

void atk_remove(atk_table_t *self, const fg_addr_t *addr, uint8_t dir)
{
    size_t i = s_probe(self, addr, dir);
    if (self->slots[i].used)
        s_delete(self, i);
}

size_t atk_expire(atk_table_t *self, uint64_t now_ms, uint64_t end_ms, size_t budget,
                  size_t *attacks)
{
    size_t removed = 0, att = 0, i = self->sweep & self->mask;
    if (budget > self->mask + 1)
        budget = self->mask + 1;
    for (size_t k = 0; k < budget && self->n > 0;) {
        const atk_state_t *s = &self->slots[i];
        if (s->used && now_ms >= s->last_over_ms && now_ms - s->last_over_ms >= end_ms) {
            att += s->attacking;
            s_delete(self, i); /* a later state may have moved here: look again */
            removed++;
        } else {
            i = (i + 1) & self->mask;
            k++;
        }
    }
    self->sweep = i;
    if (attacks)
        *attacks = att;
    return removed;
}

size_t atk_size(const atk_table_t *self)
{
    return self->n;
}

size_t atk_slots(const atk_table_t *self)
{
    return self->mask + 1;
}

int atk_evict(atk_table_t *self, double below)
{
    size_t best = SIZE_MAX, seen = 0, i = self->cursor & self->mask;
    double best_pps = below;
    for (size_t k = 0; k <= self->mask && seen < ATK_EVICT_SCAN; k++, i = (i + 1) & self->mask) {
        const atk_state_t *s = &self->slots[i];
        if (!s->used)
            continue;
        seen++;
        if (!s->attacking && s->avg[0][ATK_PPS] < best_pps) {
            best = i;
            best_pps = s->avg[0][ATK_PPS];
        }
    }
    self->cursor = i;
    if (best == SIZE_MAX)
        return -1;
    s_delete(self, best);
    return 0;
}

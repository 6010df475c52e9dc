/* The exporter streams' table; see exporters.h.
 *
 * Entries live in a fixed array (slots) and never move; a hash index of slot
 * numbers (open addressing, linear probing, backward-shift deletion) finds
 * them by key. A second index counts streams and templates per source
 * address and heads the list of the address's streams (next_addr). */
#include "collector/exporters.h"

#include <stdlib.h>

typedef struct {
    fg_addr_t addr;
    uint32_t streams;
    uint32_t templates;
    uint32_t head; /* first stream of the address */
    uint8_t used;
} exp_addr_t;

struct exp_table {
    exp_limits_t lim;
    exp_entry_t *slots; /* lim.max_streams */
    uint32_t *index;    /* cap; EXP_NONE = empty */
    exp_addr_t *addrs;  /* cap */
    size_t cap;         /* power of two, at least 4/3 of max_streams */
    size_t n, n_est;
    uint32_t free_head; /* free slots, chained through next_addr */
    size_t evict_cursor, expire_cursor;
    exp_table_stats_t st;
};

static uint64_t s_key_hash(const fg_addr_t *addr, uint8_t proto, uint32_t domain)
{
    fg_addr_t k = {addr->hi ^ ((uint64_t)proto << 32 | domain), addr->lo};
    return fg_addr_hash(&k);
}

exp_table_t *exp_table_new(const exp_limits_t *lim)
{
    exp_table_t *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->lim = *lim;
    if (self->lim.max_streams == 0)
        self->lim.max_streams = 1;
    if (self->lim.max_streams_per_addr == 0)
        self->lim.max_streams_per_addr = 1;
    size_t max = self->lim.max_streams;
    self->cap = 2;
    while (self->cap < max + max / 3 + 1)
        self->cap *= 2;
    self->slots = calloc(max, sizeof(exp_entry_t));
    self->index = malloc(self->cap * sizeof(uint32_t));
    self->addrs = calloc(self->cap, sizeof(exp_addr_t));
    if (!self->slots || !self->index || !self->addrs) {
        exp_table_destroy(&self);
        return NULL;
    }
    for (size_t i = 0; i < self->cap; i++)
        self->index[i] = EXP_NONE;
    for (size_t i = 0; i < max; i++) {
        self->slots[i].idx = (uint32_t)i;
        self->slots[i].next_addr = i + 1 < max ? (uint32_t)(i + 1) : EXP_NONE;
    }
    self->free_head = 0;
    return self;
}

void exp_table_destroy(exp_table_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->slots);
    free((*self_p)->index);
    free((*self_p)->addrs);
    free(*self_p);
    *self_p = NULL;
}

/* ---- the per-address index ---- */

/* The slot of addr in the address index: its entry, or the empty slot
 * where it would go. */
static size_t s_addr_find(const exp_table_t *self, const fg_addr_t *addr)
{
    size_t mask = self->cap - 1, i = fg_addr_hash(addr) & mask;
    while (self->addrs[i].used && !fg_addr_eq(&self->addrs[i].addr, addr))
        i = (i + 1) & mask;
    return i;
}

static void s_addr_remove(exp_table_t *self, size_t i)
{
    size_t mask = self->cap - 1, j = i;
    self->addrs[i].used = 0;
    for (;;) { /* backward-shift deletion: no tombstones */
        j = (j + 1) & mask;
        if (!self->addrs[j].used)
            return;
        size_t home = fg_addr_hash(&self->addrs[j].addr) & mask;
        if (((j - home) & mask) < ((j - i) & mask))
            continue; /* j's probe does not pass through i */
        self->addrs[i] = self->addrs[j];
        self->addrs[j].used = 0;
        i = j;
    }
}

/* ---- the stream index ---- */

static size_t s_find(const exp_table_t *self, const fg_addr_t *addr, uint8_t proto,
                     uint32_t domain)
{
    size_t mask = self->cap - 1, i = s_key_hash(addr, proto, domain) & mask;
    for (; self->index[i] != EXP_NONE; i = (i + 1) & mask) {
        const exp_entry_t *e = &self->slots[self->index[i]];
        if (e->proto == proto && e->domain == domain && fg_addr_eq(&e->addr, addr))
            return i;
    }
    return i;
}

static void s_index_remove(exp_table_t *self, size_t i)
{
    size_t mask = self->cap - 1, j = i;
    self->index[i] = EXP_NONE;
    for (;;) {
        j = (j + 1) & mask;
        if (self->index[j] == EXP_NONE)
            return;
        const exp_entry_t *e = &self->slots[self->index[j]];
        size_t home = s_key_hash(&e->addr, e->proto, e->domain) & mask;
        if (((j - home) & mask) < ((j - i) & mask))
            continue;
        self->index[i] = self->index[j];
        self->index[j] = EXP_NONE;
        i = j;
    }
}

static void s_stats_add(exp_stats_t *to, const exp_stats_t *from)
{
    to->datagrams += from->datagrams;
    to->malformed += from->malformed;
    to->records += from->records;
    to->filtered += from->filtered;
    to->sets_no_template += from->sets_no_template;
    to->templates += from->templates;
    to->options += from->options;
}

/* Take stream e out of the table; its counters go to st.gone, its
 * templates become orphans (their generation no longer matches). */
static void s_remove(exp_table_t *self, exp_entry_t *e)
{
    s_index_remove(self, s_find(self, &e->addr, e->proto, e->domain));
    size_t ai = s_addr_find(self, &e->addr);
    exp_addr_t *a = &self->addrs[ai];
    if (a->used) {
        uint32_t *p = &a->head;
        while (*p != EXP_NONE && *p != e->idx)
            p = &self->slots[*p].next_addr;
        if (*p == e->idx)
            *p = e->next_addr;
        a->streams--;
        a->templates = a->templates > e->n_templates ? a->templates - e->n_templates : 0;
        if (a->streams == 0)
            s_addr_remove(self, ai);
    }
    s_stats_add(&self->st.gone, &e->st);
    self->st.gone_lost += e->seq.lost;
    self->st.gone_resets += e->seq.resets;
    if (e->established)
        self->n_est--;
    uint32_t idx = e->idx, gen = e->gen + 1;
    *e = (exp_entry_t){0};
    e->idx = idx;
    e->gen = gen;
    e->next_addr = self->free_head;
    self->free_head = idx;
    self->n--;
}

static bool s_idle(const exp_table_t *self, const exp_entry_t *e, uint64_t now_ms)
{
    return self->lim.idle_ms && now_ms > e->last_ms + self->lim.idle_ms;
}

/* Is a a better stream to displace than b (NULL: none yet)? Idle first,
 * then without flow records, then silent for longer. */
static bool s_worse(const exp_table_t *self, const exp_entry_t *a, const exp_entry_t *b,
                    uint64_t now_ms)
{
    if (!b)
        return true;
    bool ia = s_idle(self, a, now_ms), ib = s_idle(self, b, now_ms);
    if (ia != ib)
        return ia;
    bool ra = a->st.records > 0, rb = b->st.records > 0;
    if (ra != rb)
        return !ra;
    return a->last_ms < b->last_ms;
}

/* The stream of address slot a to displace (not except; with templates
 * only, when with_templates), or NULL. */
static exp_entry_t *s_victim_addr(exp_table_t *self, const exp_addr_t *a,
                                  const exp_entry_t *except, bool with_templates, uint64_t now_ms)
{
    exp_entry_t *best = NULL;
    for (uint32_t i = a->head; i != EXP_NONE; i = self->slots[i].next_addr) {
        exp_entry_t *e = &self->slots[i];
        if (e == except || e->established || (with_templates && !e->n_templates))
            continue;
        if (s_worse(self, e, best, now_ms))
            best = e;
    }
    return best;
}

/* The stream to displace from a full table: the worst of up to
 * EXP_EVICT_SAMPLE unestablished streams within EXP_EVICT_SCAN slots of a
 * moving cursor, or NULL when every stream is established (or none was
 * found there: the next arrival looks further on). */
static exp_entry_t *s_victim_any(exp_table_t *self, uint64_t now_ms)
{
    if (self->n_est >= self->n)
        return NULL;
    exp_entry_t *best = NULL;
    size_t seen = 0, max = self->lim.max_streams;
    for (size_t k = 0; k < max && k < EXP_EVICT_SCAN && seen < EXP_EVICT_SAMPLE; k++) {
        exp_entry_t *e = &self->slots[self->evict_cursor];
        self->evict_cursor = (self->evict_cursor + 1) % max;
        if (!e->used || e->established)
            continue;
        seen++;
        if (s_worse(self, e, best, now_ms))
            best = e;
    }
    return best;
}

/* Displace victim (NULL: refuse). Returns 0, or -1 when refused. */
static int s_displace(exp_table_t *self, exp_entry_t *victim, uint64_t now_ms)
{
    if (!victim) {
        self->st.refused++;
        return -1;
    }
    if (s_idle(self, victim, now_ms))
        self->st.expired++;
    else
        self->st.evicted++;
    s_remove(self, victim);
    return 0;
}

static exp_entry_t *s_insert(exp_table_t *self, const fg_addr_t *addr, uint8_t proto,
                             uint32_t domain, bool trusted)
{
    size_t ai = s_addr_find(self, addr);
    exp_addr_t *a = &self->addrs[ai];
    if (!a->used)
        *a = (exp_addr_t){.addr = *addr, .head = EXP_NONE, .used = 1};
    exp_entry_t *e = &self->slots[self->free_head];
    self->free_head = e->next_addr;
    uint32_t idx = e->idx, gen = e->gen;
    *e = (exp_entry_t){0};
    e->idx = idx;
    e->gen = gen;
    e->used = 1;
    e->addr = *addr;
    e->proto = proto;
    e->domain = domain;
    e->trusted = trusted;
    e->next_addr = a->head;
    a->head = idx;
    a->streams++;
    self->index[s_find(self, addr, proto, domain)] = idx;
    self->n++;
    self->st.added++;
    return e;
}

exp_entry_t *exp_get(exp_table_t *self, const fg_addr_t *addr, uint8_t proto, uint32_t domain,
                     bool trusted, uint64_t now_ms)
{
    size_t i = s_find(self, addr, proto, domain);
    if (self->index[i] != EXP_NONE)
        return &self->slots[self->index[i]];
    const exp_addr_t *a = &self->addrs[s_addr_find(self, addr)];
    if (a->used && a->streams >= self->lim.max_streams_per_addr &&
        s_displace(self, s_victim_addr(self, a, NULL, false, now_ms), now_ms) != 0)
        return NULL;
    if (self->n >= self->lim.max_streams &&
        s_displace(self, s_victim_any(self, now_ms), now_ms) != 0)
        return NULL;
    return s_insert(self, addr, proto, domain, trusted);
}

void exp_seen(exp_table_t *self, exp_entry_t *e, uint64_t now_ms)
{
    if (e->established || e->idx == EXP_NONE)
        return;
    if (e->seq.run <= 1)
        e->run_ms = now_ms;
    bool ok = e->trusted ? e->st.records > 0
                         : e->seq.run >= EXP_ESTABLISHED_DATAGRAMS && e->st.records > 0 &&
                               now_ms >= e->run_ms + self->lim.established_ms;
    if (!ok)
        return;
    e->established = 1;
    self->n_est++;
    self->st.established++;
}

size_t exp_expire(exp_table_t *self, uint64_t now_ms, size_t budget)
{
    size_t gone = 0, max = self->lim.max_streams;
    if (!self->lim.idle_ms)
        return 0;
    for (size_t k = 0; k < budget && k < max; k++) {
        exp_entry_t *e = &self->slots[self->expire_cursor];
        self->expire_cursor = (self->expire_cursor + 1) % max;
        if (e->used && s_idle(self, e, now_ms)) {
            s_remove(self, e);
            self->st.expired++;
            gone++;
        }
    }
    return gone;
}

exp_entry_t *exp_live(exp_table_t *self, uint32_t idx, uint32_t gen)
{
    if (idx >= self->lim.max_streams)
        return NULL;
    exp_entry_t *e = &self->slots[idx];
    return e->used && e->gen == gen ? e : NULL;
}

int exp_template_room(exp_table_t *self, exp_entry_t *e, uint64_t now_ms)
{
    if (e->idx == EXP_NONE || !e->used)
        return -1;
    exp_addr_t *a = &self->addrs[s_addr_find(self, &e->addr)];
    while (a->used && a->templates >= self->lim.max_templates_per_addr) {
        exp_entry_t *v = s_victim_addr(self, a, e, true, now_ms);
        if (!v)
            return -1;
        s_displace(self, v, now_ms);
        a = &self->addrs[s_addr_find(self, &e->addr)]; /* the index may have shifted */
    }
    return 0;
}

void exp_templates_add(exp_table_t *self, exp_entry_t *e, int delta)
{
    uint32_t d = (uint32_t)(delta < 0 ? -delta : delta);
    if (delta < 0)
        e->n_templates = e->n_templates > d ? e->n_templates - d : 0;
    else
        e->n_templates += d;
    if (!self || e->idx == EXP_NONE || !e->used)
        return;
    exp_addr_t *a = &self->addrs[s_addr_find(self, &e->addr)];
    if (!a->used)
        return;
    if (delta < 0)
        a->templates = a->templates > d ? a->templates - d : 0;
    else
        a->templates += d;
}

uint32_t exp_templates_orphan(exp_table_t *self, exp_entry_t *e)
{
    uint32_t n = e->n_templates;
    exp_templates_add(self, e, -(int)n);
    e->gen++;
    return n;
}

size_t exp_count(const exp_table_t *self)
{
    return self->n;
}

size_t exp_established(const exp_table_t *self)
{
    return self->n_est;
}

uint32_t exp_addr_streams(const exp_table_t *self, const fg_addr_t *addr)
{
    const exp_addr_t *a = &self->addrs[s_addr_find(self, addr)];
    return a->used ? a->streams : 0;
}

uint32_t exp_addr_templates(const exp_table_t *self, const fg_addr_t *addr)
{
    const exp_addr_t *a = &self->addrs[s_addr_find(self, addr)];
    return a->used ? a->templates : 0;
}

const exp_table_stats_t *exp_stats(const exp_table_t *self)
{
    return &self->st;
}

const exp_entry_t *exp_at(const exp_table_t *self, size_t i)
{
    return i < self->lim.max_streams && self->slots[i].used ? &self->slots[i] : NULL;
}

size_t exp_capacity(const exp_table_t *self)
{
    return self->lim.max_streams;
}

size_t exp_top(const exp_table_t *self, uint32_t *top, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < self->lim.max_streams && n; i++) {
        const exp_entry_t *e = &self->slots[i];
        if (!e->used)
            continue;
        if (k == n && e->st.records <= self->slots[top[k - 1]].st.records)
            continue;
        size_t j = k < n ? k++ : n - 1; /* insertion: drop the last when full */
        while (j > 0 && self->slots[top[j - 1]].st.records < e->st.records) {
            top[j] = top[j - 1];
            j--;
        }
        top[j] = (uint32_t)i;
    }
    return k;
}

void exp_learn_sampling(exp_entry_t *e, bool has_id, uint32_t id, uint32_t rate)
{
    if (rate == 0)
        return;
    e->sampling = rate; /* the latest announcement is the exporter's rate */
    if (!has_id)
        return;
    for (uint32_t i = 0; i < e->n_samplers; i++)
        if (e->samplers[i].id == id) {
            e->samplers[i].rate = rate;
            return;
        }
    if (e->n_samplers < EXP_MAX_SAMPLERS)
        e->samplers[e->n_samplers++] = (exp_sampler_t){id, rate};
}

uint32_t exp_sampling(const exp_entry_t *e, bool has_id, uint32_t id)
{
    if (has_id)
        for (uint32_t i = 0; i < e->n_samplers; i++)
            if (e->samplers[i].id == id)
                return e->samplers[i].rate;
    return e->sampling;
}

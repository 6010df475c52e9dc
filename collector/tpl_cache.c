/* The template cache: open addressing, linear probing, backward-shift
 * deletion; every template owned by an exporter stream (slot and
 * generation), so a stream that leaves the table leaves orphans that the
 * cache drops when it meets them. See templates.h. */
#include <stdlib.h>

#include "collector/tpl_int.h"

tpl_cache_t *tpl_cache_new(size_t max)
{
    tpl_cache_t *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->max = max ? max : 1;
    self->cap = 2;
    while (self->cap < self->max + self->max / 3 + 1)
        self->cap *= 2;
    self->slots = calloc(self->cap, sizeof(tpl_t));
    if (!self->slots)
        tpl_cache_destroy(&self);
    return self;
}

void tpl_cache_destroy(tpl_cache_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->slots);
    free(*self_p);
    *self_p = NULL;
}

static size_t s_home(const tpl_cache_t *self, const fg_addr_t *a, uint8_t proto,
                     uint32_t domain, uint16_t id)
{
    fg_addr_t k = {a->hi ^ ((uint64_t)proto << 48 | (uint64_t)id << 32 | domain), a->lo};
    return (size_t)fg_addr_hash(&k) & (self->cap - 1);
}

static bool s_match(const tpl_t *t, const fg_addr_t *a, uint8_t proto, uint32_t domain,
                    uint16_t id)
{
    return t->id == id && t->domain == domain && t->proto == proto && fg_addr_eq(&t->exporter, a);
}

/* The slot of the key, or of the free slot ending its probe. */
static size_t s_find(const tpl_cache_t *self, const fg_addr_t *a, uint8_t proto,
                     uint32_t domain, uint16_t id)
{
    size_t i = s_home(self, a, proto, domain, id);
    while (self->slots[i].used && !s_match(&self->slots[i], a, proto, domain, id))
        i = (i + 1) & (self->cap - 1);
    return i; /* the load stays below 3/4: a free slot ends every probe */
}

/* Remove slot i, shifting later members of its cluster back so that every
 * probe still finds them (Knuth 6.4, algorithm R). */
static void s_remove(tpl_cache_t *self, size_t i)
{
    size_t mask = self->cap - 1, j = i;
    self->slots[i].used = 0;
    self->n--;
    for (;;) {
        j = (j + 1) & mask;
        tpl_t *t = &self->slots[j];
        if (!t->used)
            return;
        size_t home = s_home(self, &t->exporter, t->proto, t->domain, t->id);
        /* t may move to i when its home is not cyclically in (i, j] */
        bool stay = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (stay)
            continue;
        self->slots[i] = *t;
        t->used = 0;
        i = j;
    }
}

/* The stream that owns t: NULL when it is gone (t is an orphan). Without a
 * stream table (tests, benchmarks) every template belongs to fallback. */
static exp_entry_t *s_owner(exp_table_t *streams, const tpl_t *t, exp_entry_t *fallback)
{
    return streams ? exp_live(streams, t->stream, t->stream_gen) : fallback;
}

/* Remove slot i, uncounting it from its stream (when it still has one). */
static void s_drop(tpl_cache_t *self, exp_table_t *streams, size_t i, exp_entry_t *fallback)
{
    exp_entry_t *owner = s_owner(streams, &self->slots[i], fallback);
    s_remove(self, i);
    if (owner)
        exp_templates_add(streams, owner, -1);
}

static bool s_timed_out(const tpl_t *t, uint64_t now_ms, uint64_t timeout_ms)
{
    return timeout_ms && now_ms > t->seen_ms + timeout_ms;
}

/* Is the template of owner a better one to drop than that of best (NULL:
 * none yet)? Those of streams without flow records first, then those of
 * the stream silent for the longest. */
static bool s_worse_owner(const exp_entry_t *owner, const exp_entry_t *best)
{
    if (!best)
        return true;
    bool ro = owner->st.records > 0, rb = best->st.records > 0;
    if (ro != rb)
        return !ro;
    return owner->last_ms < best->last_ms;
}

/* Free one slot of a full cache: the first orphan or timed-out template
 * within TPL_RECLAIM_SCAN slots of a moving cursor, else among them the
 * one of the least valuable unestablished stream other than env->exp
 * (s_worse_owner). 0, or -1 when there is none (the cache holds
 * established streams' templates). */
static int s_reclaim(tpl_cache_t *self, tpl_env_t *env)
{
    size_t best = SIZE_MAX, mask = self->cap - 1;
    exp_entry_t *best_owner = NULL;
    if (!env->streams)
        return -1;
    for (size_t k = 0; k < TPL_RECLAIM_SCAN && k < self->cap; k++) {
        size_t i = self->cursor;
        self->cursor = (self->cursor + 1) & mask;
        const tpl_t *t = &self->slots[i];
        if (!t->used)
            continue;
        exp_entry_t *owner = s_owner(env->streams, t, NULL);
        if (!owner) { /* counted with its stream, or withdrawn */
            s_remove(self, i);
            return 0;
        }
        if (s_timed_out(t, env->now_ms, env->timeout_ms)) {
            s_drop(self, env->streams, i, NULL);
            env->st->templates_expired++;
            return 0;
        }
        if (owner != env->exp && !owner->established && s_worse_owner(owner, best_owner)) {
            best = i;
            best_owner = owner;
        }
    }
    if (best == SIZE_MAX)
        return -1;
    s_drop(self, env->streams, best, NULL);
    env->st->templates_evicted++;
    return 0;
}

/* Room for a new template of env->exp: per stream, per address, in all. */
static tpl_status_t s_room(tpl_cache_t *self, tpl_env_t *env)
{
    if (env->exp->n_templates >= env->max_per_stream)
        return TPL_ERR_CAP;
    if (env->streams && exp_template_room(env->streams, env->exp, env->now_ms) != 0)
        return TPL_ERR_CAP;
    if (self->n >= self->max && s_reclaim(self, env) != 0)
        return TPL_ERR_FULL;
    return TPL_ADDED;
}

tpl_status_t tpl_put(tpl_env_t *env, const tpl_t *t)
{
    tpl_cache_t *self = env->cache;
    size_t i = s_find(self, &t->exporter, t->proto, t->domain, t->id);
    if (self->slots[i].used && s_owner(env->streams, &self->slots[i], env->exp)) {
        uint32_t stream = self->slots[i].stream, gen = self->slots[i].stream_gen;
        self->slots[i] = *t;
        self->slots[i].used = 1;
        self->slots[i].stream = stream;
        self->slots[i].stream_gen = gen;
        return TPL_REPLACED;
    }
    if (self->slots[i].used) /* an orphan under the same key */
        s_remove(self, i);
    if (env->streams && env->exp->idx == EXP_NONE)
        return TPL_ERR_FULL; /* a stream the table refused holds nothing */
    tpl_status_t st = s_room(self, env);
    if (st != TPL_ADDED)
        return st;
    i = s_find(self, &t->exporter, t->proto, t->domain, t->id); /* removals shift */
    self->slots[i] = *t;
    self->slots[i].used = 1;
    self->slots[i].stream = env->exp->idx;
    self->slots[i].stream_gen = env->exp->gen;
    self->n++;
    exp_templates_add(env->streams, env->exp, 1);
    return TPL_ADDED;
}

const tpl_t *tpl_get(tpl_env_t *env, uint8_t proto, uint32_t domain, uint16_t id)
{
    tpl_cache_t *self = env->cache;
    size_t i = s_find(self, &env->exporter, proto, domain, id);
    tpl_t *t = &self->slots[i];
    if (!t->used)
        return NULL;
    if (!s_owner(env->streams, t, env->exp)) { /* its stream left, or withdrew it */
        s_remove(self, i);
        return NULL;
    }
    if (s_timed_out(t, env->now_ms, env->timeout_ms)) {
        s_drop(self, env->streams, i, env->exp);
        env->st->templates_expired++;
        return NULL;
    }
    return t;
}

int tpl_withdraw(tpl_env_t *env, uint8_t proto, uint32_t domain, uint16_t id, bool all)
{
    tpl_cache_t *self = env->cache;
    int removed = 0;
    if (!all) {
        size_t i = s_find(self, &env->exporter, proto, domain, id);
        if (self->slots[i].used) {
            s_drop(self, env->streams, i, env->exp);
            removed = 1;
        }
        return removed;
    }
    if (env->streams) /* O(1): the stream's templates become orphans */
        return env->exp->idx == EXP_NONE ? 0 : (int)exp_templates_orphan(env->streams, env->exp);
    for (size_t i = 0; i < self->cap; i++) {
        const tpl_t *t = &self->slots[i];
        /* a removal shifts a later entry into i: look at i again */
        while (t->used && t->proto == proto && t->domain == domain &&
               fg_addr_eq(&t->exporter, &env->exporter)) {
            s_drop(self, env->streams, i, env->exp);
            removed++;
        }
    }
    return removed;
}

size_t tpl_expire(tpl_cache_t *self, exp_table_t *streams, uint64_t now_ms, uint64_t timeout_ms,
                  size_t budget, tpl_stats_t *st)
{
    size_t gone = 0, mask = self->cap - 1;
    for (size_t k = 0; k < budget && k < self->cap; k++) {
        size_t i = self->sweep;
        const tpl_t *t = &self->slots[i];
        bool orphan = t->used && streams && !s_owner(streams, t, NULL);
        if (t->used && (orphan || s_timed_out(t, now_ms, timeout_ms))) {
            s_drop(self, streams, i, NULL);
            if (!orphan) /* orphans were counted with their stream, or withdrawn */
                st->templates_expired++;
            gone++;
            continue; /* a later entry may have shifted into i */
        }
        self->sweep = (self->sweep + 1) & mask;
    }
    return gone;
}

size_t tpl_count(const tpl_cache_t *self)
{
    return self->n;
}


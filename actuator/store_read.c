/* store_read: a ban key read back (written by us, by `floodgate ban` or by
 * hand: every field checked). Part of the store (store_int.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actuator/store_int.h"

/* One field of a hash read back: set it, note in chk what is wrong. */
static void s_check_field(ban_t *out, const redisReply *k, const redisReply *v,
                          store_check_t *chk)
{
    bool text = k->type == REDIS_REPLY_STRING && v->type == REDIS_REPLY_STRING &&
                strlen(k->str) == k->len && strlen(v->str) == v->len;
    if (!text) {
        if (!chk->bad_field[0])
            snprintf(chk->bad_field, sizeof(chk->bad_field), "(binary)");
        return;
    }
    if (strcmp(k->str, "ip") == 0)
        chk->ip_mismatch = strcmp(v->str, out->ip) != 0;
    else if (ban_set_field(out, k->str, v->str) < 0 && !chk->bad_field[0])
        snprintf(chk->bad_field, sizeof(chk->bad_field), "%.31s", k->str);
}

/* Fill out from HGETALL's field/value array and PTTL. */
static void s_parse_ban(const redisReply *h, long long pttl, uint64_t now_ms, ban_t *out,
                        store_check_t *chk)
{
    for (size_t i = 0; i + 1 < h->elements && i < 2 * STORE_HASH_MAX_FIELDS; i += 2)
        s_check_field(out, h->element[i], h->element[i + 1], chk);
    if (h->elements > 2 * STORE_HASH_MAX_FIELDS && !chk->bad_field[0])
        snprintf(chk->bad_field, sizeof(chk->bad_field), "(too many fields)");
    if (!out->banned_at)
        out->banned_at = (int64_t)(now_ms / 1000);
    if (pttl > 0) {
        out->expires_ms = now_ms + (uint64_t)pttl;
        out->expires_at = (int64_t)((out->expires_ms + 500) / 1000);
        out->ban_time = (uint32_t)((uint64_t)out->expires_at - (uint64_t)out->banned_at);
    }
    if (strcmp(out->metric, "pps") == 0)
        out->pps = out->value;
    else if (out->details && ban_details_pps(out->details) >= 0)
        out->pps = ban_details_pps(out->details);
}

/* A hand-written ban without a hostgroup gets the one its address is in. */
static void s_default_group(const store_t *self, ban_t *b)
{
    fg_addr_t a;
    const fg_hostgroup_t *g;
    if (b->hostgroup[0] || fg_addr_parse(b->ip, &a) < 0 || !(g = fg_config_group(self->cfg, &a)))
        return;
    snprintf(b->hostgroup, sizeof(b->hostgroup), "%s", g->name);
}

int store_read_ban(store_t *self, const char *ip, uint64_t now_ms, ban_t *out)
{
    store_check_t chk;
    int rc = store_read_ban_checked(self, ip, now_ms, out, &chk);
    return rc == 2 ? 0 : rc;
}

/* HGETALL answered WRONGTYPE: the key is there, but not a hash. */
static bool s_wrong_type(const redisReply *r)
{
    return r->type == REDIS_REPLY_ERROR && r->str && strncmp(r->str, "WRONGTYPE", 9) == 0;
}

int store_read_ban_checked(store_t *self, const char *ip, uint64_t now_ms, ban_t *out,
                           store_check_t *chk)
{
    char key[STORE_KEY_MAX];
    redisReply *r[2];
    memset(out, 0, sizeof(*out));
    memset(chk, 0, sizeof(*chk));
    if (!self->ctx) {
        st_fail(self, "read ban", "not connected");
        return -1;
    }
    st_key(self, key, "ban", ip);
    redisAppendCommand(self->ctx, "HGETALL %s", key);
    redisAppendCommand(self->ctx, "PTTL %s", key);
    if (st_replies(self, 2, r, "read ban") < 0)
        return -1;
    int rc = 0;
    if (s_wrong_type(r[0])) {
        chk->wrong_type = true;
        rc = 2;
    } else if (st_is(self, r[0], REDIS_REPLY_ARRAY, "hgetall") &&
               st_is(self, r[1], REDIS_REPLY_INTEGER, "pttl") && r[0]->elements > 0) {
        snprintf(out->ip, sizeof(out->ip), "%s", ip);
        strcpy(out->direction, "incoming");
        strcpy(out->source, "manual");
        strcpy(out->attack_type, "manual");
        chk->pttl = r[1]->integer;
        s_parse_ban(r[0], r[1]->integer, now_ms, out, chk);
        s_default_group(self, out);
        rc = 1;
    }
    st_free(r, 2);
    return rc;
}


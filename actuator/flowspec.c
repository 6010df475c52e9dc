/* FlowSpec rules from an attack's fingerprint (see flowspec.h). */
#include "actuator/flowspec.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/classes.h"
#include "common/fgjson.h"

#define FS_SRC_LEN_V4 120 /* /24 on the 128-bit form */
#define FS_SRC_LEN_V6 48
#define FS_JSON_MAX 65536

typedef struct {
    fg_addr_t addr; /* FS_SRC: the prefix address */
    uint32_t value;
    double share;
} fs_val_t;

static double s_clamp01(double x)
{
    return x < 0 ? 0 : x > 1 ? 1 : x;
}

void fs_profile_add(fs_profile_t *p, int dim, const fg_addr_t *addr, uint32_t value,
                    double share)
{
    if (p->n >= FS_MAX_ITEMS || dim < 0 || dim >= FS_DIMS || !isfinite(share) || share <= 0)
        return;
    p->item[p->n].dim = dim;
    p->item[p->n].addr = addr ? *addr : (fg_addr_t){0, 0};
    p->item[p->n].value = value;
    p->item[p->n].share = share > 1 ? 1 : share;
    p->n++;
}

static double s_rate_share(const Floodgate__Rates *part, const Floodgate__Rates *total)
{
    if (!part || !total || !(total->pps > 0) || !isfinite(part->pps))
        return -1;
    double s = part->pps / total->pps;
    return s < 0 ? 0 : s > 1 ? 1 : s;
}

void fs_profile_from_decision(fs_profile_t *p, const Floodgate__Decision *d)
{
    static const int dims[] = {[FLOODGATE__CONTRIB_KIND__CONTRIB_SRC_ADDR] = FS_SRC,
                               [FLOODGATE__CONTRIB_KIND__CONTRIB_SRC_PORT] = FS_SPORT,
                               [FLOODGATE__CONTRIB_KIND__CONTRIB_DST_PORT] = FS_DPORT,
                               [FLOODGATE__CONTRIB_KIND__CONTRIB_PROTO] = FS_PROTO};
    double samples = 0, unsampled = 0;
    memset(p, 0, sizeof(*p));
    for (size_t i = 0; i < d->n_top; i++) {
        const Floodgate__Contributor *c = d->top[i];
        if (!c)
            continue;
        if (c->kind == FLOODGATE__CONTRIB_KIND__CONTRIB_EXPORTER) {
            samples += (double)c->packets / (c->sampling > 1 ? c->sampling : 1);
        } else if ((unsigned)c->kind <= FLOODGATE__CONTRIB_KIND__CONTRIB_PROTO) {
            fg_addr_t a = {c->key_hi, c->key_lo};
            uint64_t max = c->kind == FLOODGATE__CONTRIB_KIND__CONTRIB_PROTO ? 255 : 0xffff;
            if (c->kind != FLOODGATE__CONTRIB_KIND__CONTRIB_SRC_ADDR && c->key_lo > max)
                continue; /* not a port or protocol: no rule from it */
            bool addr = c->kind == FLOODGATE__CONTRIB_KIND__CONTRIB_SRC_ADDR;
            fs_profile_add(p, dims[c->kind], &a, addr ? 0 : (uint32_t)c->key_lo, c->share);
            if (c->kind == FLOODGATE__CONTRIB_KIND__CONTRIB_PROTO)
                unsampled += (double)c->packets;
        }
    }
    p->samples = samples > 0 ? samples : unsampled;
    double syn = s_rate_share(d->tcp_syn, d->total), frag = s_rate_share(d->frag, d->total);
    p->syn = d->attack_type && strcmp(d->attack_type, "syn_flood") == 0 && syn >= 0;
    p->fragment = d->attack_type && strcmp(d->attack_type, "ip_fragmentation") == 0 && frag >= 0;
    p->syn_share = syn;
    p->frag_share = frag;
}

int fs_profile_from_normal(fs_profile_t *p, const Floodgate__Decision *d)
{
    static const int dims[] = {[FLOODGATE__CONTRIB_KIND__CONTRIB_SRC_ADDR] = FS_SRC,
                               [FLOODGATE__CONTRIB_KIND__CONTRIB_SRC_PORT] = FS_SPORT,
                               [FLOODGATE__CONTRIB_KIND__CONTRIB_DST_PORT] = FS_DPORT,
                               [FLOODGATE__CONTRIB_KIND__CONTRIB_PROTO] = FS_PROTO};
    const Floodgate__Profile *n = d->normal;
    memset(p, 0, sizeof(*p));
    if (!n || n->windows == 0)
        return -1;
    double listed[FS_DIMS] = {0};
    for (size_t i = 0; i < n->n_top; i++) {
        const Floodgate__Contributor *c = n->top[i];
        if (!c || (unsigned)c->kind > FLOODGATE__CONTRIB_KIND__CONTRIB_PROTO)
            continue;
        fg_addr_t a = {c->key_hi, c->key_lo};
        bool addr = c->kind == FLOODGATE__CONTRIB_KIND__CONTRIB_SRC_ADDR;
        if (!addr && c->key_lo > 0xffff)
            continue;
        int before = p->n;
        fs_profile_add(p, dims[c->kind], &a, addr ? 0 : (uint32_t)c->key_lo, c->share);
        if (p->n > before)
            listed[dims[c->kind]] += p->item[before].share;
    }
    for (int k = 0; k < FS_DIMS; k++)
        p->rest[k] = s_clamp01(1 - listed[k]);
    p->syn_share = n->n_class_share > FG_CLS_TCP_SYN ? s_clamp01(n->class_share[FG_CLS_TCP_SYN]) : -1;
    p->frag_share = n->n_class_share > FG_CLS_FRAG ? s_clamp01(n->class_share[FG_CLS_FRAG]) : -1;
    return 0;
}

/* The values of one dimension with their shares, largest first; source
 * addresses summed into their /24 or /48. Returns the count. */
static int s_values(const fs_profile_t *p, int dim, fs_val_t *out)
{
    int n = 0;
    for (int i = 0; i < p->n; i++) {
        if (p->item[i].dim != dim)
            continue;
        fs_val_t v = {.value = p->item[i].value, .share = p->item[i].share};
        if (dim == FS_SRC)
            v.addr = fg_addr_mask(&p->item[i].addr,
                                  fg_addr_is_v4(&p->item[i].addr) ? FS_SRC_LEN_V4 : FS_SRC_LEN_V6);
        int k = 0;
        while (k < n && !(fg_addr_eq(&out[k].addr, &v.addr) && out[k].value == v.value))
            k++;
        if (k == n)
            out[n++] = v;
        else
            out[k].share += v.share;
    }
    for (int i = 1; i < n; i++) /* insertion sort, n <= FS_MAX_ITEMS */
        for (int k = i; k > 0 && out[k].share > out[k - 1].share; k--) {
            fs_val_t t = out[k];
            out[k] = out[k - 1];
            out[k - 1] = t;
        }
    return n;
}

/* The share of a value in a profile (0 when absent). */
static double s_share(const fs_profile_t *p, int dim, const fg_addr_t *addr, uint32_t value)
{
    fs_val_t v[FS_MAX_ITEMS];
    int n = s_values(p, dim, v);
    for (int i = 0; i < n; i++)
        if (v[i].value == value && (!addr || fg_addr_eq(&v[i].addr, addr)))
            return v[i].share;
    return 0;
}

/* The most a value may weigh in a normal profile: its share, or when not
 * listed what the listed values of its kind leave. */
static double s_share_max(const fs_profile_t *p, int dim, const fg_addr_t *addr, uint32_t value)
{
    double s = s_share(p, dim, addr, value);
    return s > 0 ? s : p->rest[dim];
}

/* Lower bound of the share matching every selector of r, where vshare is
 * the share of its dimension's values (one value, or the union of a set's
 * disjoint values): Fréchet, P(A and B) >= P(A) + P(B) - 1. A SYN is a TCP
 * packet: with the SYN flag the protocol term is implied. */
static double s_lower(const fs_rule_t *r, const fs_profile_t *p, int dim, double vshare)
{
    double sum = 0;
    int k = 0;
    if (r->proto >= 0 && !r->tcp_flags)
        sum += s_share(p, FS_PROTO, NULL, (uint32_t)r->proto), k++;
    if (dim >= 0)
        sum += vshare, k++;
    if (r->tcp_flags)
        sum += p->syn_share > 0 ? p->syn_share : 0, k++;
    if (r->fragment)
        sum += p->frag_share > 0 ? p->frag_share : 0, k++;
    return k ? s_clamp01(sum - (k - 1)) : 1;
}

/* Upper bound of the normal share matching r: the least of its selectors'. */
static double s_rule_upper(const fs_rule_t *r, const fs_profile_t *p)
{
    double u = 1;
    if (r->proto >= 0)
        u = fmin(u, s_share_max(p, FS_PROTO, NULL, (uint32_t)r->proto));
    if (r->sport >= 0)
        u = fmin(u, s_share_max(p, FS_SPORT, NULL, (uint32_t)r->sport));
    if (r->dport >= 0)
        u = fmin(u, s_share_max(p, FS_DPORT, NULL, (uint32_t)r->dport));
    if (r->src.len) {
        fs_val_t v[FS_MAX_ITEMS];
        int n = s_values(p, FS_SRC, v);
        double s = p->rest[FS_SRC];
        for (int i = 0; i < n; i++)
            if (fg_addr_eq(&v[i].addr, &r->src.addr))
                s = v[i].share;
        u = fmin(u, s);
    }
    if (r->tcp_flags && p->syn_share >= 0)
        u = fmin(u, p->syn_share);
    if (r->fragment && p->frag_share >= 0)
        u = fmin(u, p->frag_share);
    return u;
}

/* The base of every rule: destination, protocol, flags. */
static fs_rule_t s_base(const fg_addr_t *dst, const fs_profile_t *a, int proto)
{
    fs_rule_t r = {.proto = proto, .sport = -1, .dport = -1};
    r.dst.addr = *dst;
    r.dst.len = 128;
    r.tcp_flags = a->syn && proto == 6 ? FS_TCP_SYN : 0;
    r.fragment = a->fragment;
    return r;
}

/* Rules along one dimension (dim < 0: one rule per protocol). */
static void s_try(const fs_params_t *par, const fg_addr_t *dst, const fs_profile_t *a,
                  const fs_profile_t *normal, int dim, int proto, fs_set_t *s)
{
    fs_val_t v[FS_MAX_ITEMS];
    int n = s_values(a, dim < 0 ? FS_PROTO : dim, v);
    double union_share = 0;
    memset(s, 0, sizeof(*s));
    s->collateral = normal ? 0 : -1;
    if ((dim == FS_SPORT || dim == FS_DPORT) && proto != 6 && proto != 17)
        return; /* ports only in TCP and UDP */
    for (int i = 0; i < n && s->n < par->budget && s->coverage < par->target; i++) {
        if (v[i].share < par->min_share)
            break;
        fs_rule_t r = s_base(dst, a, dim < 0 ? (int)v[i].value : proto);
        if (dim == FS_SPORT)
            r.sport = (int)v[i].value;
        else if (dim == FS_DPORT)
            r.dport = (int)v[i].value;
        else if (dim == FS_SRC) {
            r.src.addr = v[i].addr;
            r.src.len = fg_addr_is_v4(&v[i].addr) ? FS_SRC_LEN_V4 : FS_SRC_LEN_V6;
        }
        r.coverage = s_lower(&r, a, dim < 0 ? -1 : dim, v[i].share);
        if (r.coverage <= 0)
            continue;
        s->rule[s->n++] = r;
        /* the rules' values are disjoint: the set's bound is the union's */
        union_share += v[i].share;
        s->coverage = dim < 0 ? s_clamp01(s->coverage + r.coverage)
                              : s_lower(&r, a, dim, s_clamp01(union_share));
        if (normal)
            s->collateral = s_clamp01(s->collateral + s_rule_upper(&r, normal));
    }
}

/* Is a better than b (both reach the target)? Fewer rules, then lower
 * collateral; the earlier dimension on a tie. */
static bool s_better(const fs_set_t *a, const fs_set_t *b)
{
    if (a->n != b->n)
        return a->n < b->n;
    return a->collateral < b->collateral;
}

static void s_judge(const fs_params_t *par, const fs_profile_t *normal, fs_set_t *s)
{
    if (s->n == 0 || s->coverage < par->target) {
        s->result = FS_NO_COVERAGE;
        return;
    }
    for (int i = 0; !normal && i < s->n; i++)
        if (s->rule[i].sport < 0 && s->rule[i].dport < 0 && !s->rule[i].src.len) {
            s->result = FS_TOO_BROAD;
            return;
        }
    s->result = normal && s->collateral > par->max_collateral ? FS_COLLATERAL : FS_OK;
}

void fs_generate(const fs_params_t *par, const fg_addr_t *dst, const fs_profile_t *attack,
                 const fs_profile_t *normal, fs_set_t *out)
{
    fs_val_t protos[FS_MAX_ITEMS];
    fs_set_t cand;
    bool found = false;
    memset(out, 0, sizeof(*out));
    out->collateral = normal ? 0 : -1;
    if (attack->samples < par->min_samples) {
        out->result = FS_FEW_SAMPLES;
        return;
    }
    int proto = s_values(attack, FS_PROTO, protos) > 0 ? (int)protos[0].value : -1;
    for (int dim = FS_SPORT; dim <= FS_SRC; dim++) {
        s_try(par, dst, attack, normal, dim, proto, &cand);
        s_judge(par, normal, &cand);
        if (cand.result == FS_NO_COVERAGE)
            continue;
        if (!found || (cand.result == FS_OK && out->result != FS_OK) ||
            (cand.result == out->result && s_better(&cand, out)))
            *out = cand, found = true;
    }
    if (found && out->result == FS_OK)
        return;
    s_try(par, dst, attack, normal, -1, -1, &cand); /* whole protocols */
    s_judge(par, normal, &cand);
    if (!found || cand.result == FS_OK || (out->result == FS_NO_COVERAGE))
        *out = cand;
}

const char *fs_result_name(fs_result_t r)
{
    static const char *names[] = {"ok", "few_samples", "no_coverage", "collateral", "too_broad"};
    return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "?";
}

static bool s_in(const fg_prefix_t *p, const fg_addr_t *a)
{
    fg_addr_t m = fg_addr_mask(a, p->len);
    return fg_addr_eq(&m, &p->addr);
}

bool fs_rule_matches(const fs_rule_t *r, const fg_addr_t *dst, const fg_addr_t *src, int proto,
                     int sport, int dport, uint8_t tcp_flags, bool fragment)
{
    return s_in(&r->dst, dst) && (!r->src.len || s_in(&r->src, src)) &&
           (r->proto < 0 || r->proto == proto) && (r->sport < 0 || r->sport == sport) &&
           (r->dport < 0 || r->dport == dport) &&
           (r->tcp_flags & tcp_flags) == r->tcp_flags && (!r->fragment || fragment);
}

/* ---- text forms ---- */

int fs_rule_key(const fs_rule_t *r, char *out, size_t len)
{
    char dst[FG_PREFIX_STRLEN], src[FG_PREFIX_STRLEN];
    size_t n = 0;
    int k = snprintf(out, len, "dst=%s", fg_prefix_format(&r->dst, dst));
    if (k < 0 || (size_t)k >= len)
        return -1;
    n = (size_t)k;
#define FS_APPEND(...)                                                                             \
    do {                                                                                           \
        k = snprintf(out + n, len - n, __VA_ARGS__);                                               \
        if (k < 0 || (size_t)k >= len - n)                                                         \
            return -1;                                                                             \
        n += (size_t)k;                                                                            \
    } while (0)
    if (r->src.len)
        FS_APPEND(" src=%s", fg_prefix_format(&r->src, src));
    if (r->proto >= 0)
        FS_APPEND(" proto=%d", r->proto);
    if (r->sport >= 0)
        FS_APPEND(" sport=%d", r->sport);
    if (r->dport >= 0)
        FS_APPEND(" dport=%d", r->dport);
    if (r->tcp_flags & FS_TCP_SYN)
        FS_APPEND(" tcp_flags=syn");
    if (r->fragment)
        FS_APPEND(" fragment");
#undef FS_APPEND
    return 0;
}

/* A number 0..max from text. 0 or -1. */
static int s_num(const char *s, int max, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < 0 || v > max || (s[0] == '0' && s[1]))
        return -1;
    *out = (int)v;
    return 0;
}

static int s_key_item(fs_rule_t *r, const char *name, const char *val, bool *have_dst)
{
    const char *why;
    if (!strcmp(name, "dst") && val && fg_prefix_parse(val, &r->dst, &why) == 0)
        return *have_dst = true, 0;
    if (!strcmp(name, "src") && val)
        return fg_prefix_parse(val, &r->src, &why);
    if (!strcmp(name, "proto") && val)
        return s_num(val, 255, &r->proto);
    if (!strcmp(name, "sport") && val)
        return s_num(val, 65535, &r->sport);
    if (!strcmp(name, "dport") && val)
        return s_num(val, 65535, &r->dport);
    if (!strcmp(name, "tcp_flags") && val && !strcmp(val, "syn"))
        return r->tcp_flags = FS_TCP_SYN, 0;
    if (!strcmp(name, "fragment") && !val)
        return r->fragment = true, 0;
    return -1;
}

int fs_rule_parse_key(const char *key, fs_rule_t *out)
{
    char buf[FS_RULE_STRLEN];
    bool have_dst = false;
    memset(out, 0, sizeof(*out));
    out->proto = out->sport = out->dport = -1;
    if (!key || strlen(key) >= sizeof(buf))
        return -1;
    strcpy(buf, key);
    char seen[FS_RULE_STRLEN] = " ";
    for (char *save = NULL, *tok = strtok_r(buf, " ", &save); tok;
         tok = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(tok, '='), name[24];
        if (eq)
            *eq++ = '\0';
        snprintf(name, sizeof(name), " %.20s ", tok);
        if (strstr(seen, name)) /* each selector once: no second dst */
            return -1;
        strncat(seen, name + 1, sizeof(seen) - strlen(seen) - 1);
        if (s_key_item(out, tok, eq, &have_dst) < 0)
            return -1;
    }
    /* the destination is a host; the source, if any, of the same family */
    if (!have_dst || out->dst.len != 128 ||
        (out->src.len && fg_addr_is_v4(&out->src.addr) != fg_addr_is_v4(&out->dst.addr)))
        return -1;
    return 0;
}

const char *fs_action_name(fs_action_t a)
{
    return a == FS_RATE_LIMIT ? "rate-limit" : a == FS_REDIRECT_RT ? "redirect" : "discard";
}

int fs_action_parse(const char *s, fs_action_t *out)
{
    static const fs_action_t all[] = {FS_DISCARD, FS_RATE_LIMIT, FS_REDIRECT_RT};
    for (size_t i = 0; s && i < 3; i++)
        if (!strcmp(s, fs_action_name(all[i])))
            return *out = all[i], 0;
    return -1;
}

char *fs_set_json(const fs_set_t *s, fs_action_t act, double rate, const char *rt)
{
    bool ok = true;
    json_t *o = json_object(), *rules = json_array();
    char key[FS_RULE_STRLEN];
    fgjson_set_str(o, "action", fs_action_name(act), &ok);
    if (act == FS_RATE_LIMIT)
        fgjson_set_num(o, "rate", rate, &ok);
    if (act == FS_REDIRECT_RT)
        fgjson_set_str(o, "redirect", rt ? rt : "", &ok);
    fgjson_set_fixed(o, "coverage", s->coverage, 4, &ok);
    if (s->collateral >= 0)
        fgjson_set_fixed(o, "collateral", s->collateral, 4, &ok);
    else
        fgjson_set_str(o, "collateral", "unknown", &ok);
    for (int i = 0; i < s->n; i++) {
        json_t *r = json_object();
        if (fs_rule_key(&s->rule[i], key, sizeof(key)) < 0)
            ok = false;
        fgjson_set_str(r, "match", key, &ok);
        fgjson_set_fixed(r, "coverage", s->rule[i].coverage, 4, &ok);
        fgjson_append_new(rules, r, &ok);
    }
    fgjson_set_new(o, "rules", rules, &ok);
    char *text = ok ? fgjson_dump(o) : NULL;
    json_decref(o);
    return text;
}

int fs_set_parse(const char *text, fs_set_t *out, fs_action_t *act, double *rate, char *rt,
                 size_t rtlen)
{
    memset(out, 0, sizeof(*out));
    json_t *o = text ? fgjson_parse(text, FS_JSON_MAX) : NULL;
    json_t *rules = json_object_get(o, "rules");
    size_t i;
    json_t *r;
    int rc = json_is_object(o) && json_is_array(rules) &&
                     json_array_size(rules) <= FS_MAX_RULES &&
                     fs_action_parse(fgjson_get_str(o, "action", "discard"), act) == 0
                 ? 0
                 : -1;
    json_array_foreach(rules, i, r)
    {
        if (rc < 0 || fs_rule_parse_key(fgjson_get_str(r, "match", ""), &out->rule[out->n]) < 0) {
            rc = -1;
            break;
        }
        out->rule[out->n++].coverage = s_clamp01(fgjson_get_num(r, "coverage", 0));
    }
    if (rc == 0) {
        *rate = fgjson_get_num(o, "rate", 0);
        snprintf(rt, rtlen, "%s", fgjson_get_str(o, "redirect", ""));
        out->coverage = s_clamp01(fgjson_get_num(o, "coverage", 0));
        out->collateral = json_is_number(json_object_get(o, "collateral"))
                              ? s_clamp01(fgjson_get_num(o, "collateral", 0))
                              : -1;
        if (!isfinite(*rate) || *rate < 0 || out->n == 0)
            rc = -1;
    }
    json_decref(o);
    if (rc < 0)
        memset(out, 0, sizeof(*out));
    return rc;
}

/* Unit tests: FlowSpec rules from an attack's fingerprint (actuator/flowspec.h).
 *
 * Each case makes flow records (an attack on 10.0.0.5 and the host's normal
 * traffic, 99:1 as in a real flood), reduces them to a Decision the way the
 * aggregator does (per kind, the 8 heaviest values with their shares of the
 * window's packets; SYN and fragment rates), generates the rules, then
 * checks them against the records themselves: the rules match >= 95 % of
 * the attack's packets and none of the normal ones. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "actuator/flowspec.h"
#include "common/classes.h"
#include "detector/profile.h"

#define MAXREC 4096
#define TOPK 8 /* the aggregator's TOPK_SLOTS */

typedef struct {
    fg_addr_t src;
    int proto, sport, dport;
    uint8_t flags;
    bool frag, attack;
    uint64_t packets;
} rec_t;

static rec_t s_rec[MAXREC];
static int s_n;
static fg_addr_t s_dst;
static uint32_t s_rand = 12345;

static uint32_t s_rnd(void)
{
    s_rand = s_rand * 1103515245u + 12345u;
    return s_rand >> 8;
}

static void s_add(const char *src, int proto, int sport, int dport, uint8_t flags, bool frag,
                  bool attack, uint64_t packets)
{
    assert_true(s_n < MAXREC);
    rec_t *r = &s_rec[s_n++];
    assert_int_equal(fg_addr_parse(src, &r->src), 0);
    r->proto = proto, r->sport = sport, r->dport = dport, r->flags = flags, r->frag = frag;
    r->attack = attack, r->packets = packets;
}

static char *s_ip(char *buf, int a, int b, int c, int d)
{
    sprintf(buf, "%d.%d.%d.%d", a, b, c, d);
    return buf;
}

/* The host's normal traffic: HTTPS clients (ACK/PSH), SSH, IPsec over UDP
 * 4500, ICMP; 1 % of the window. */
static void s_background(uint64_t total)
{
    char ip[32];
    for (int i = 0; i < 100; i++) {
        int kind = i % 10;
        s_ip(ip, 100, 64, (int)(s_rnd() % 250), 1 + (int)(s_rnd() % 250));
        uint64_t p = total / 100;
        if (kind < 6)
            s_add(ip, 6, 1024 + (int)(s_rnd() % 60000), 443, 0x18, false, false, p);
        else if (kind < 8)
            s_add(ip, 6, 1024 + (int)(s_rnd() % 60000), 22, 0x10, false, false, p);
        else if (kind < 9)
            s_add(ip, 17, 4500, 4500, 0, false, false, p);
        else
            s_add(ip, 1, 0, 0, 0, false, false, p);
    }
}

static void s_reset(void)
{
    s_n = 0;
    assert_int_equal(fg_addr_parse("10.0.0.5", &s_dst), 0);
}

/* The window as the aggregator reports it: the 8 heaviest values per kind
 * (only, or also the normal records), shares of the window's packets. */
typedef struct {
    uint64_t key_hi, key_lo, packets;
} kv_t;

static void s_top(Floodgate__Decision *d, Floodgate__Contributor *pool, int *np, int kind,
                  bool with_attack, bool with_normal)
{
    kv_t kv[MAXREC];
    int n = 0;
    uint64_t total = 0;
    for (int i = 0; i < s_n; i++) {
        const rec_t *r = &s_rec[i];
        if ((r->attack && !with_attack) || (!r->attack && !with_normal))
            continue;
        total += r->packets;
        kv_t k = {0, 0, r->packets};
        if (kind == FLOODGATE__CONTRIB_KIND__CONTRIB_SRC_ADDR)
            k.key_hi = r->src.hi, k.key_lo = r->src.lo;
        else
            k.key_lo = (uint64_t)(kind == FLOODGATE__CONTRIB_KIND__CONTRIB_SRC_PORT   ? r->sport
                                  : kind == FLOODGATE__CONTRIB_KIND__CONTRIB_DST_PORT ? r->dport
                                                                                        : r->proto);
        int j = 0;
        while (j < n && !(kv[j].key_hi == k.key_hi && kv[j].key_lo == k.key_lo))
            j++;
        if (j == n)
            kv[n++] = k;
        else
            kv[j].packets += k.packets;
    }
    for (int t = 0; t < TOPK && t < n; t++) {
        int best = t;
        for (int j = t + 1; j < n; j++)
            if (kv[j].packets > kv[best].packets)
                best = j;
        kv_t tmp = kv[t];
        kv[t] = kv[best], kv[best] = tmp;
        Floodgate__Contributor *c = &pool[(*np)++];
        floodgate__contributor__init(c);
        c->kind = (Floodgate__ContribKind)kind;
        c->key_hi = kv[t].key_hi, c->key_lo = kv[t].key_lo;
        c->packets = kv[t].packets;
        c->share = (double)kv[t].packets / (double)total;
        d->top[d->n_top++] = c;
    }
}

typedef struct {
    Floodgate__Decision d;
    Floodgate__Contributor pool[64];
    Floodgate__Contributor *ptr[64];
    Floodgate__Rates total, syn, frag;
} win_t;

static void s_window(win_t *w, const char *type, bool with_attack, bool with_normal)
{
    int np = 0;
    floodgate__decision__init(&w->d);
    floodgate__rates__init(&w->total);
    floodgate__rates__init(&w->syn);
    floodgate__rates__init(&w->frag);
    w->d.top = w->ptr;
    w->d.attack_type = (char *)type;
    for (int k = 0; k <= FLOODGATE__CONTRIB_KIND__CONTRIB_PROTO; k++)
        s_top(&w->d, w->pool, &np, k, with_attack, with_normal);
    for (int i = 0; i < s_n; i++) {
        const rec_t *r = &s_rec[i];
        if ((r->attack && !with_attack) || (!r->attack && !with_normal))
            continue;
        w->total.pps += (double)r->packets;
        w->syn.pps += r->proto == 6 && (r->flags & 0x02) ? (double)r->packets : 0;
        w->frag.pps += r->frag ? (double)r->packets : 0;
    }
    w->d.total = &w->total;
    w->d.tcp_syn = &w->syn;
    w->d.frag = &w->frag;
}

static const fs_params_t s_par = {
    .budget = 4, .target = 0.95, .max_collateral = 0.05, .min_samples = 100, .min_share = 0.01};

/* Generate for the current records; normal known or not. */
static void s_generate(const char *type, bool normal_known, const fs_params_t *par, fs_set_t *s)
{
    win_t w, nw;
    fs_profile_t a, n;
    s_window(&w, type, true, true);
    fs_profile_from_decision(&a, &w.d);
    if (normal_known) {
        s_window(&nw, type, false, true);
        fs_profile_from_decision(&n, &nw.d);
    }
    fs_generate(par, &s_dst, &a, normal_known ? &n : NULL, s);
    char key[FS_RULE_STRLEN];
    fprintf(stderr, "# %s: %s, %d rules, coverage %.3f collateral %.3f\n", type,
            fs_result_name(s->result), s->n, s->coverage, s->collateral);
    for (int i = 0; i < s->n; i++) {
        assert_int_equal(fs_rule_key(&s->rule[i], key, sizeof(key)), 0);
        fprintf(stderr, "#   %s (%.3f)\n", key, s->rule[i].coverage);
    }
}

/* The oracle: shares of attack and normal packets the rules match. */
static void s_measure(const fs_set_t *s, double *attack, double *normal)
{
    uint64_t at = 0, am = 0, nt = 0, nm = 0;
    for (int i = 0; i < s_n; i++) {
        const rec_t *r = &s_rec[i];
        bool m = false;
        for (int k = 0; k < s->n && !m; k++)
            m = fs_rule_matches(&s->rule[k], &s_dst, &r->src, r->proto, r->sport, r->dport,
                                r->flags, r->frag);
        if (r->attack)
            at += r->packets, am += m ? r->packets : 0;
        else
            nt += r->packets, nm += m ? r->packets : 0;
    }
    *attack = at ? (double)am / (double)at : 0;
    *normal = nt ? (double)nm / (double)nt : 0;
}

/* The rules as used: every rule pins the destination /32, the set is within
 * budget, reaches the target by its own estimate and by the oracle, and
 * matches no normal packet. */
static void s_expect_good(const fs_set_t *s, const fs_params_t *par)
{
    double att, nor;
    assert_int_equal(s->result, FS_OK);
    assert_true(s->n >= 1 && s->n <= par->budget);
    assert_true(s->coverage >= par->target);
    s_measure(s, &att, &nor);
    fprintf(stderr, "#   oracle: attack %.4f normal %.4f\n", att, nor);
    assert_true(att >= 0.95);
    assert_true(nor == 0.0);
    for (int i = 0; i < s->n; i++) {
        assert_int_equal(s->rule[i].dst.len, 128);
        assert_true(fg_addr_eq(&s->rule[i].dst.addr, &s_dst));
    }
}

static void s_amplification(int port)
{
    char ip[32];
    s_reset();
    for (int i = 0; i < 500; i++) /* reflectors all over */
        s_add(s_ip(ip, 1 + (int)(s_rnd() % 220), (int)(s_rnd() % 250), (int)(s_rnd() % 250),
                   1 + (int)(s_rnd() % 250)),
              17, port, 1024 + (int)(s_rnd() % 60000), 0, false, true, 200);
    s_background(1000);
}

static void test_flowspec_dns_amplification(void **state)
{
    (void)state;
    fs_set_t s;
    s_amplification(53);
    s_generate("amplification_dns", true, &s_par, &s);
    s_expect_good(&s, &s_par);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.rule[0].proto, 17);
    assert_int_equal(s.rule[0].sport, 53);
    assert_int_equal(s.rule[0].dport, -1);
    assert_true(s.collateral == 0.0);
    /* normal traffic unknown: the same rule (it pins a port), collateral unknown */
    s_generate("amplification_dns", false, &s_par, &s);
    s_expect_good(&s, &s_par);
    assert_true(s.collateral < 0);
}

static void test_flowspec_ntp_amplification(void **state)
{
    (void)state;
    fs_set_t s;
    s_amplification(123);
    s_generate("amplification_ntp", true, &s_par, &s);
    s_expect_good(&s, &s_par);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.rule[0].sport, 123);
    assert_int_equal(s.rule[0].proto, 17);
}

static void test_flowspec_syn_flood(void **state)
{
    (void)state;
    char ip[32];
    fs_set_t s;
    s_reset();
    for (int i = 0; i < 1000; i++) /* spoofed sources, random ports */
        s_add(s_ip(ip, 1 + (int)(s_rnd() % 220), (int)(s_rnd() % 250), (int)(s_rnd() % 250), 1),
              6, 1024 + (int)(s_rnd() % 60000), 443, 0x02, false, true, 100);
    s_background(1000);
    s_generate("syn_flood", true, &s_par, &s);
    s_expect_good(&s, &s_par);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.rule[0].proto, 6);
    assert_int_equal(s.rule[0].dport, 443);
    assert_int_equal(s.rule[0].tcp_flags, FS_TCP_SYN);
    assert_int_equal(s.rule[0].sport, -1);
}

/* nets /24s, 8 / nets hosts each (the aggregator reports the 8 heaviest
 * sources), random ports. */
static void s_udp_from_nets(int nets)
{
    int hosts = 8 / nets;
    char ip[32];
    s_reset();
    for (int i = 0; i < 800; i++) {
        int net = i % nets;
        s_add(s_ip(ip, 198, 18, 10 + net, 1 + (i / nets) % hosts), 17, 1024 + (int)(s_rnd() % 60000),
              1024 + (int)(s_rnd() % 60000), 0, false, true, 125);
    }
    s_background(1000);
}

static void test_flowspec_udp_flood_from_few_nets(void **state)
{
    (void)state;
    fs_set_t s;
    s_udp_from_nets(4);
    s_generate("udp_flood", true, &s_par, &s);
    s_expect_good(&s, &s_par);
    assert_int_equal(s.n, 4);
    for (int i = 0; i < s.n; i++) {
        assert_int_equal(s.rule[i].src.len, 120);
        assert_int_equal(s.rule[i].proto, 17);
    }
}

/* The budget holds: 6 nets with budget 4 do not make 6 rules; the whole
 * protocol is the only set within budget, and with the normal traffic
 * unknown it is refused as too broad. */
static void test_flowspec_budget(void **state)
{
    (void)state;
    fs_set_t s;
    s_udp_from_nets(6);
    s_generate("udp_flood", false, &s_par, &s);
    assert_true(s.n <= s_par.budget);
    assert_int_equal(s.result, FS_TOO_BROAD);
    fs_params_t six = s_par;
    six.budget = 6;
    s_generate("udp_flood", false, &six, &s);
    assert_int_equal(s.result, FS_OK);
    assert_int_equal(s.n, 6);
    s_expect_good(&s, &six);
    /* with the normal traffic known (1 % UDP to 4500): the whole of UDP
     * costs 10 % of it, over the 5 % limit */
    s_generate("udp_flood", true, &s_par, &s);
    assert_int_equal(s.result, FS_COLLATERAL);
    assert_true(s.collateral > s_par.max_collateral);
}

/* A resolver: half its normal traffic is DNS answers (UDP from port 53). A
 * DNS amplification rule would drop them: refused for collateral. */
static void test_flowspec_collateral_limit(void **state)
{
    (void)state;
    char ip[32];
    fs_set_t s;
    s_amplification(53);
    for (int i = 0; i < 10; i++)
        s_add(s_ip(ip, 9, 9, 9, 1 + i), 17, 53, 30000 + i, 0, false, false, 100);
    s_generate("amplification_dns", true, &s_par, &s);
    assert_int_equal(s.result, FS_COLLATERAL);
    assert_true(s.collateral >= 0.4);
    double att, nor;
    s_measure(&s, &att, &nor);
    assert_true(nor >= 0.4); /* the estimate was right to refuse */
}

/* ---- collateral from the host's normal traffic, as the detector learns it */

/* The detector's profile of the host (detector/profile.h) learnt from 30
 * calm windows of the normal records alone, the way the aggregator
 * reports them (top contributors, class rates), carried in a Decision
 * (prof_fill) and read back as the actuator does. */
static void s_learnt_normal(fs_profile_t *n)
{
    win_t w;
    prof_t prof;
    prof_msg_t msg;
    Floodgate__HostWindow hw = FLOODGATE__HOST_WINDOW__INIT;
    Floodgate__Rates udp = FLOODGATE__RATES__INIT, tcp = FLOODGATE__RATES__INIT;
    memset(&prof, 0, sizeof(prof));
    s_window(&w, "", false, true);
    for (int i = 0; i < s_n; i++) {
        if (s_rec[i].attack)
            continue;
        udp.pps += s_rec[i].proto == 17 ? (double)s_rec[i].packets : 0;
        tcp.pps += s_rec[i].proto == 6 ? (double)s_rec[i].packets : 0;
    }
    hw.total = &w.total, hw.tcp = &tcp, hw.tcp_syn = &w.syn, hw.udp = &udp, hw.frag = &w.frag;
    hw.n_top = w.d.n_top;
    hw.top = w.d.top;
    for (int i = 0; i < 30; i++)
        prof_learn(&prof, &hw, 1000, 900);
    assert_true(prof_known(&prof));
    prof_fill(&prof, &msg);
    w.d.normal = &msg.msg;
    assert_int_equal(fs_profile_from_normal(n, &w.d), 0);
    w.d.normal = NULL;
    assert_int_equal(fs_profile_from_normal(n, &w.d), -1); /* none: unknown */
    w.d.normal = &msg.msg;
    fs_profile_from_normal(n, &w.d);
}

/* Generate with the normal profile the detector learnt. */
static void s_generate_learnt(const char *type, fs_set_t *s)
{
    win_t w;
    fs_profile_t a, n;
    s_window(&w, type, true, true);
    fs_profile_from_decision(&a, &w.d);
    s_learnt_normal(&n);
    fs_generate(&s_par, &s_dst, &a, &n, s);
    fprintf(stderr, "# %s (learnt normal): %s, %d rules, coverage %.3f collateral %.3f\n", type,
            fs_result_name(s->result), s->n, s->coverage, s->collateral);
}

/* A resolver whose normal traffic is DNS answers (UDP from port 53 of a
 * few upstream servers) under DNS amplification: "udp sport 53" would
 * drop its answers; its collateral, from what the detector learnt, is
 * over the limit, so no rule is used. */
static void test_flowspec_resolver_collateral_from_profile(void **state)
{
    (void)state;
    char ip[32];
    fs_set_t s;
    s_amplification(53);
    s_n -= 100; /* no web background: a resolver */
    for (int i = 0; i < 40; i++)
        s_add(s_ip(ip, 9, 9, i % 4, 1 + i), 17, 53, 1024 + (int)(s_rnd() % 60000), 0, false,
              false, 25);
    s_generate_learnt("amplification_dns", &s);
    assert_int_not_equal(s.result, FS_OK);
    assert_true(s.collateral > s_par.max_collateral);
    double att, nor;
    s_measure(&s, &att, &nor);
    fprintf(stderr, "#   oracle: attack %.4f normal %.4f\n", att, nor);
    assert_true(nor > 0.9); /* refusing was right: the answers would go */
    /* without the profile the port rule would have been used, blind */
    s_generate("amplification_dns", false, &s_par, &s);
    assert_int_equal(s.result, FS_OK);
    assert_int_equal(s.rule[0].sport, 53);
}

/* A web server (HTTP and HTTPS clients, some ICMP) under NTP
 * amplification: "udp sport 123" with collateral ~0 from its learnt
 * profile (it receives no UDP). Then a host that also takes IPsec (10 % UDP
 * on 4500) under a UDP flood of random ports from everywhere, which only a
 * whole-protocol rule covers: refused while normal traffic is unknown,
 * used with the profile, its collateral the UDP share (0.1), under a limit
 * raised to 0.15 and refused under 0.05. */
static void test_flowspec_web_server_collateral_from_profile(void **state)
{
    (void)state;
    char ip[32];
    fs_set_t s;
    s_amplification(123);
    s_n -= 100;
    for (int i = 0; i < 100; i++)
        s_add(s_ip(ip, 100, 64, (int)(s_rnd() % 250), 1 + (int)(s_rnd() % 250)),
              i % 10 == 9 ? 1 : 6, i % 10 == 9 ? 0 : 1024 + (int)(s_rnd() % 60000),
              i % 10 == 9 ? 0 : i % 2 ? 443 : 80, i % 10 == 9 ? 0 : 0x18, false, false, 10);
    s_generate_learnt("amplification_ntp", &s);
    s_expect_good(&s, &s_par);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.rule[0].sport, 123);
    assert_true(s.collateral >= 0 && s.collateral < 0.01);
    s_reset();
    for (int i = 0; i < 500; i++)
        s_add(s_ip(ip, 1 + (int)(s_rnd() % 220), (int)(s_rnd() % 250), (int)(s_rnd() % 250),
                   1 + (int)(s_rnd() % 250)),
              17, 1024 + (int)(s_rnd() % 60000), 1024 + (int)(s_rnd() % 60000), 0, false, true,
              200);
    s_background(1000);
    s_generate("udp_flood", false, &s_par, &s);
    assert_int_equal(s.result, FS_TOO_BROAD);
    fs_params_t par = s_par;
    par.max_collateral = 0.15;
    win_t w;
    fs_profile_t a, n;
    s_window(&w, "udp_flood", true, true);
    fs_profile_from_decision(&a, &w.d);
    s_learnt_normal(&n);
    fs_generate(&par, &s_dst, &a, &n, &s);
    assert_int_equal(s.result, FS_OK);
    assert_int_equal(s.rule[0].proto, 17);
    assert_true(fabs(s.collateral - 0.1) < 0.02);
    double att, nor;
    s_measure(&s, &att, &nor);
    assert_true(att >= 0.95 && fabs(nor - 0.1) < 0.02); /* the estimate is the truth */
    par.max_collateral = 0.05;
    fs_generate(&par, &s_dst, &a, &n, &s);
    assert_int_equal(s.result, FS_COLLATERAL);
}

/* sFlow at 1:10000 with 30 samples in the window: no rule. */
static void test_flowspec_too_few_samples(void **state)
{
    (void)state;
    win_t w;
    fs_profile_t a;
    fs_set_t s;
    s_amplification(123);
    s_window(&w, "amplification_ntp", true, true);
    Floodgate__Contributor exp = FLOODGATE__CONTRIBUTOR__INIT;
    exp.kind = FLOODGATE__CONTRIB_KIND__CONTRIB_EXPORTER;
    exp.packets = 300000;
    exp.sampling = 10000;
    exp.share = 1;
    w.d.top[w.d.n_top++] = &exp;
    fs_profile_from_decision(&a, &w.d);
    assert_true(a.samples == 30);
    fs_generate(&s_par, &s_dst, &a, NULL, &s);
    assert_int_equal(s.result, FS_FEW_SAMPLES);
    assert_int_equal(s.n, 0);
    exp.packets = 3000000; /* 300 samples: enough */
    fs_profile_from_decision(&a, &w.d);
    fs_generate(&s_par, &s_dst, &a, NULL, &s);
    assert_int_equal(s.result, FS_OK);
}

/* Forged contributors (a port of 70 000, protocol 300, NaN and negative
 * shares) make no rule; the real ones still do. */
static void test_flowspec_forged_contributors(void **state)
{
    (void)state;
    win_t w;
    fs_profile_t a;
    fs_set_t s;
    s_amplification(53);
    s_window(&w, "amplification_dns", true, true);
    Floodgate__Contributor f[4];
    for (int i = 0; i < 4; i++) {
        floodgate__contributor__init(&f[i]);
        f[i].share = 0.99;
        f[i].packets = 99000;
    }
    f[0].kind = FLOODGATE__CONTRIB_KIND__CONTRIB_SRC_PORT;
    f[0].key_lo = 70000 + 53; /* the low 16 bits are 53 + 4464: must not alias */
    f[1].kind = FLOODGATE__CONTRIB_KIND__CONTRIB_PROTO;
    f[1].key_lo = 300;
    f[2].kind = FLOODGATE__CONTRIB_KIND__CONTRIB_DST_PORT;
    f[2].share = NAN;
    f[3].kind = FLOODGATE__CONTRIB_KIND__CONTRIB_DST_PORT;
    f[3].share = -1;
    for (int i = 0; i < 4; i++)
        w.d.top[w.d.n_top++] = &f[i];
    fs_profile_from_decision(&a, &w.d);
    for (int i = 0; i < a.n; i++) {
        assert_true(a.item[i].share > 0 && a.item[i].share <= 1);
        if (a.item[i].dim == FS_PROTO)
            assert_true(a.item[i].value <= 255);
        assert_true(a.item[i].value != (70000 + 53) % 65536);
    }
    fs_generate(&s_par, &s_dst, &a, NULL, &s);
    s_expect_good(&s, &s_par);
    assert_int_equal(s.rule[0].sport, 53);
}

static void test_flowspec_json_roundtrip(void **state)
{
    (void)state;
    fs_set_t s, back;
    fs_action_t act;
    double rate;
    char rt[32], k1[FS_RULE_STRLEN], k2[FS_RULE_STRLEN];
    s_udp_from_nets(4);
    s_generate("udp_flood", true, &s_par, &s);
    s.rule[0].tcp_flags = 0;
    s.rule[0].fragment = true;
    char *json = fs_set_json(&s, FS_RATE_LIMIT, 125000, NULL);
    assert_non_null(json);
    assert_int_equal(fs_set_parse(json, &back, &act, &rate, rt, sizeof(rt)), 0);
    assert_int_equal(act, FS_RATE_LIMIT);
    assert_true(rate == 125000);
    assert_int_equal(back.n, s.n);
    for (int i = 0; i < s.n; i++) {
        fs_rule_key(&s.rule[i], k1, sizeof(k1));
        fs_rule_key(&back.rule[i], k2, sizeof(k2));
        assert_string_equal(k1, k2);
    }
    free(json);
    /* hostile text from Redis */
    const char *bad[] = {"", "[]", "{\"rules\":[]}", "{\"rules\":[{\"match\":\"proto=17\"}]}",
                         "{\"rules\":[{\"match\":\"dst=10.0.0.0/24\"}]}",
                         "{\"rules\":[{\"match\":\"dst=10.0.0.5/32 sport=70000\"}]}",
                         "{\"rules\":[{\"match\":\"dst=10.0.0.5/32 src=2001:db8::/48\"}]}",
                         "{\"action\":\"explode\",\"rules\":[{\"match\":\"dst=10.0.0.5/32\"}]}",
                         "{\"rules\":[{\"match\":\"dst=10.0.0.5/32 proto=017\"}]}",
                         "{\"rules\":[{\"match\":\"dst=10.0.0.5/32 dst=10.0.0.9/32\"}]}",
                         "{\"rules\":[{\"match\":\"dst=10.0.0.5/32 proto=6 proto=17\"}]}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(fs_set_parse(bad[i], &back, &act, &rate, rt, sizeof(rt)), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flowspec_dns_amplification),
        cmocka_unit_test(test_flowspec_ntp_amplification),
        cmocka_unit_test(test_flowspec_syn_flood),
        cmocka_unit_test(test_flowspec_udp_flood_from_few_nets),
        cmocka_unit_test(test_flowspec_budget),
        cmocka_unit_test(test_flowspec_collateral_limit),
        cmocka_unit_test(test_flowspec_resolver_collateral_from_profile),
        cmocka_unit_test(test_flowspec_web_server_collateral_from_profile),
        cmocka_unit_test(test_flowspec_too_few_samples),
        cmocka_unit_test(test_flowspec_forged_contributors),
        cmocka_unit_test(test_flowspec_json_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

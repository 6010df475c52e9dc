/* gobgp_fs: FlowSpec rules as gobgp client arguments, and the rules of a
 * `gobgp global rib -a ipv4-flowspec|ipv6-flowspec -j` listing (see
 * gobgp.h). Leaf code: no logging. */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "actuator/gobgp.h"

/* FlowSpec NLRI component types (RFC 8955 section 4.2.2) as gobgp's JSON
 * numbers them. */
enum {
    GFS_DST = 1,
    GFS_SRC = 2,
    GFS_PROTO = 3,
    GFS_DPORT = 5,
    GFS_SPORT = 6,
    GFS_TCP_FLAGS = 9,
    GFS_FRAGMENT = 12
};

/* Append one argument copied into the text buffer. */
static int s_arg(const char **argv, int *n, int max, char **buf, size_t *left, const char *fmt,
                 ...) __attribute__((format(printf, 6, 7)));
static int s_arg(const char **argv, int *n, int max, char **buf, size_t *left, const char *fmt,
                 ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(*buf, *left, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= *left || *n >= max)
        return -1;
    argv[(*n)++] = *buf;
    *buf += k + 1;
    *left -= (size_t)k + 1;
    return 0;
}

int gobgp_fs_args(const fs_rule_t *r, fs_action_t act, double rate, const char *rt, bool add,
                  const char **argv, int n, int max, char *buf, size_t buflen)
{
    char dst[FG_PREFIX_STRLEN], src[FG_PREFIX_STRLEN];
    bool v6 = !fg_addr_is_v4(&r->dst.addr);
    size_t left = buflen;
    int rc = 0;
#define A(...) rc |= s_arg(argv, &n, max - 1, &buf, &left, __VA_ARGS__)
    A("%s", add ? "add" : "del");
    A("-a");
    A("%s", v6 ? "ipv6-flowspec" : "ipv4-flowspec");
    A("match");
    A("destination");
    A("%s", fg_prefix_format(&r->dst, dst));
    if (r->src.len) {
        A("source");
        A("%s", fg_prefix_format(&r->src, src));
    }
    if (r->proto >= 0) {
        A("protocol");
        A("==%d", r->proto);
    }
    if (r->sport >= 0) {
        A("source-port");
        A("==%d", r->sport);
    }
    if (r->dport >= 0) {
        A("destination-port");
        A("==%d", r->dport);
    }
    if (r->tcp_flags & FS_TCP_SYN) {
        A("tcp-flags");
        A("=S");
    }
    if (r->fragment) {
        A("fragment");
        A("is-fragment");
    }
    if (add) {
        A("then");
        if (act == FS_RATE_LIMIT) {
            A("rate-limit");
            A("%.0f", rate);
        } else if (act == FS_REDIRECT_RT) {
            A("redirect");
            A("%s", rt);
        } else {
            A("discard");
        }
    }
#undef A
    if (rc < 0)
        return -1;
    argv[n] = NULL;
    return n;
}

/* The single value of a [{op, value}] list (our rules use one "==v"). */
static int s_single(const json_t *list, long long max, int *out)
{
    const json_t *v = json_object_get(json_array_get(list, 0), "value");
    if (!json_is_array(list) || json_array_size(list) != 1 || !json_is_integer(v) ||
        json_integer_value(v) < 0 || json_integer_value(v) > max)
        return -1;
    *out = (int)json_integer_value(v);
    return 0;
}

static int s_prefix(const json_t *c, fg_prefix_t *out)
{
    const char *why, *p = json_string_value(json_object_get(json_object_get(c, "value"), "prefix"));
    return p ? fg_prefix_parse(p, out, &why) : -1;
}

/* One NLRI component into r. 0, or -1 when it is not of our rules' form. */
static int s_component(const json_t *c, fs_rule_t *r, bool *have_dst)
{
    const json_t *list = json_object_get(c, "value");
    int v;
    switch (json_integer_value(json_object_get(c, "type"))) {
    case GFS_DST:
        return *have_dst = true, s_prefix(c, &r->dst);
    case GFS_SRC:
        return s_prefix(c, &r->src);
    case GFS_PROTO:
        return s_single(list, 255, &r->proto);
    case GFS_DPORT:
        return s_single(list, 65535, &r->dport);
    case GFS_SPORT:
        return s_single(list, 65535, &r->sport);
    case GFS_TCP_FLAGS:
        if (s_single(list, 255, &v) < 0 || v != FS_TCP_SYN)
            return -1;
        return r->tcp_flags = FS_TCP_SYN, 0;
    case GFS_FRAGMENT:
        if (s_single(list, 255, &v) < 0 || v != 2) /* is-fragment */
            return -1;
        return r->fragment = true, 0;
    default:
        return -1;
    }
}

/* The rule of one path's NLRI; 0, or -1 when not of our form. */
static int s_path_rule(const json_t *path, fs_rule_t *r)
{
    size_t i;
    const json_t *c;
    bool have_dst = false;
    memset(r, 0, sizeof(*r));
    r->proto = r->sport = r->dport = -1;
    const json_t *comps = json_object_get(json_object_get(path, "nlri"), "value");
    if (!json_is_array(comps))
        return -1;
    json_array_foreach(comps, i, c)
    {
        if (s_component(c, r, &have_dst) < 0)
            return -1;
    }
    return have_dst && r->dst.len == 128 ? 0 : -1;
}

int gobgp_fs_parse_rib(const char *text, gobgp_fs_fn *fn, void *arg)
{
    json_error_t err;
    json_t *all = text && *text ? json_loads(text, 0, &err) : json_object();
    const char *name;
    json_t *paths, *path;
    size_t i;
    int n = 0;
    if (!json_is_object(all)) {
        json_decref(all);
        return -1;
    }
    json_object_foreach(all, name, paths)
    {
        json_array_foreach(paths, i, path)
        {
            fs_rule_t r;
            char key[FS_RULE_STRLEN];
            if (s_path_rule(path, &r) == 0 && fs_rule_key(&r, key, sizeof(key)) == 0) {
                fn(key, arg);
                n++;
            }
        }
    }
    json_decref(all);
    return n;
}

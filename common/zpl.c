/* zpl: the loader behind zpl.h.
 *
 * zconfig parses the ZPL syntax; it keeps no line numbers, so the loader
 * numbers the nodes itself: zconfig makes one node per significant line
 * (not blank, not a comment) in file order, which is the pre-order of the
 * tree, so the n-th node visited is the n-th significant line. */
#include "common/addr.h"
#include "common/zpl.h"

#include <ctype.h>
#include <czmq.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ZPL_HOST_MAX 256 /* longest host of a host:port value (a DNS name is 253) */

#include "common/ptrie.h"

/* Loader state: where we are, for error messages. */
typedef struct {
    const zpl_section_t *const *secs;
    size_t n_secs;
    void *root;
    const char *path;
    int *lines; /* line number of each significant line */
    int n_lines;
    int node; /* index of the node being visited */
    char *err;
    size_t errlen;
    int **seen; /* per section and key: line where first set, 0 = not yet */
} loader_t;

/* ---- typed values: return 0, or -1 with a static reason ---- */

static int s_parse_num(const char *val, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(val, &end);
    if (*val == '\0' || *end != '\0' || errno || isnan(v) || isinf(v))
        return -1;
    *out = v;
    return 0;
}

static int s_set_int(void *field, const zpl_key_t *k, const char *val, const char **why)
{
    char *end;
    errno = 0;
    long v = strtol(val, &end, 10);
    if (*val == '\0' || *end != '\0' || errno) {
        *why = "not an integer";
        return -1;
    }
    if (v < k->min || v > k->max) {
        *why = "out of range";
        return -1;
    }
    if (k->kind == ZPL_UINT32)
        *(uint32_t *)field = (uint32_t)v;
    else
        *(int *)field = (int)v;
    return 0;
}

static int s_set_double(void *field, const zpl_key_t *k, const char *val, const char **why)
{
    double v;
    if (s_parse_num(val, &v) != 0) {
        *why = "not a number";
        return -1;
    }
    if (v < k->min || v > k->max) {
        *why = "out of range";
        return -1;
    }
    *(double *)field = v;
    return 0;
}

static int s_set_bool(void *field, const char *val, const char **why)
{
    static const char *yes[] = {"true", "on", "yes", "1"}, *no[] = {"false", "off", "no", "0"};
    for (int i = 0; i < 4; i++) {
        if (!strcmp(val, yes[i]) || !strcmp(val, no[i])) {
            *(bool *)field = !strcmp(val, yes[i]);
            return 0;
        }
    }
    *why = "not a boolean (true/false, on/off, yes/no, 1/0)";
    return -1;
}

static int s_set_str(void *field, const zpl_key_t *k, const char *val, const char **why)
{
    if (strlen(val) >= k->size) {
        *why = "value too long";
        return -1;
    }
    strcpy(field, val);
    return 0;
}

static int s_set_word(void *field, const zpl_key_t *k, const char *val, const char **why)
{
    size_t n = strlen(val);
    for (const char *w = k->words; n && (w = strstr(w, val)); w += n)
        if ((w == k->words || w[-1] == ' ') && (w[n] == ' ' || w[n] == '\0'))
            return s_set_str(field, k, val, why);
    *why = k->why;
    return -1;
}

int zpl_each_item(const char *val, int (*fn)(void *, const char *, const char **), void *arg,
                  const char **why)
{
    char item[ZPL_ITEM_MAX];
    const char *p = val;
    while (*p) {
        while (*p && (isspace((unsigned char)*p) || *p == ','))
            p++;
        size_t n = 0;
        while (p[n] && !isspace((unsigned char)p[n]) && p[n] != ',')
            n++;
        if (n == 0)
            break;
        if (n >= sizeof(item)) {
            *why = "list item too long";
            return -1;
        }
        memcpy(item, p, n);
        item[n] = '\0';
        if (fn(arg, item, why) != 0)
            return -1;
        p += n;
    }
    return 0;
}

int zpl_check_hostport(const char *s, const char **why)
{
    const char *colon = strrchr(s, ':');
    char host[ZPL_HOST_MAX];
    uint16_t port;
    if (!colon || colon == s) {
        *why = "expected host:port";
        return -1;
    }
    if (fg_hostport_split(s, host, sizeof(host), &port) != 0) {
        *why = strlen(s) >= sizeof(host) ? "host too long" : "bad port";
        return -1;
    }
    return 0;
}

/* A list of endpoints being filled. */
typedef struct {
    char *arr; /* max items of size bytes */
    size_t size;
    int *n;
    int max;
    bool zmq; /* a ZeroMQ endpoint (else host:port) */
} ep_arg_t;

static int s_add_endpoint(void *arg, const char *item, const char **why)
{
    ep_arg_t *a = arg;
    if (*a->n >= a->max) {
        *why = "too many endpoints";
        return -1;
    }
    if (a->zmq && strncmp(item, "tcp://", 6) && strncmp(item, "ipc://", 6) &&
        strncmp(item, "inproc://", 9)) {
        *why = "not a ZeroMQ endpoint (tcp://host:port, ipc://path)";
        return -1;
    }
    if (!strncmp(item, "tcp://", 6) || !a->zmq)
        if (zpl_check_hostport(a->zmq ? item + 6 : item, why) != 0)
            return -1;
    if (strlen(item) >= a->size) {
        *why = "list item too long";
        return -1;
    }
    strcpy(a->arr + (size_t)(*a->n)++ * a->size, item);
    return 0;
}

static int s_set_zmq(void *field, const zpl_key_t *k, const char *val, const char **why)
{
    char one[ZPL_ITEM_MAX];
    int n = 0;
    ep_arg_t a = {one, sizeof(one), &n, 1, true};
    if (zpl_each_item(val, s_add_endpoint, &a, why) != 0)
        return -1;
    if (n != 1) {
        *why = "expected one ZeroMQ endpoint";
        return -1;
    }
    return s_set_str(field, k, val, why);
}

typedef struct {
    ptrie_t *trie;
    int value;
} prefix_arg_t;

static int s_add_prefix(void *arg, const char *item, const char **why)
{
    prefix_arg_t *a = arg;
    fg_prefix_t p;
    if (fg_prefix_parse(item, &p, why) != 0)
        return -1;
    if (ptrie_insert(a->trie, &p, a->value) != 0) {
        *why = "out of memory";
        return -1;
    }
    return 0;
}

/* Parse val into the key's field of target. */
static int s_set(void *root, void *target, const zpl_key_t *k, const char *val, const char **why)
{
    void *field = (char *)target + k->off;
    switch (k->kind) {
    case ZPL_INT:
    case ZPL_UINT32:
        return s_set_int(field, k, val, why);
    case ZPL_DOUBLE:
        return s_set_double(field, k, val, why);
    case ZPL_BOOL:
        return s_set_bool(field, val, why);
    case ZPL_STRING:
        return s_set_str(field, k, val, why);
    case ZPL_WORD:
        return s_set_word(field, k, val, why);
    case ZPL_LISTEN:
        if (*val == '\0')
            return s_set_str(field, k, val, why);
        /* fall through */
    case ZPL_HOSTPORT:
        if (zpl_check_hostport(val, why) != 0)
            return -1;
        return s_set_str(field, k, val, why);
    case ZPL_ZMQ:
        return s_set_zmq(field, k, val, why);
    case ZPL_ZMQ_LIST:
    case ZPL_HOSTPORTS: {
        ep_arg_t a = {field, k->size, (int *)(void *)((char *)target + k->count_off), k->max_items,
                      k->kind == ZPL_ZMQ_LIST};
        return zpl_each_item(val, s_add_endpoint, &a, why);
    }
    case ZPL_PREFIXES: {
        prefix_arg_t a = {*(ptrie_t **)field, k->value};
        return zpl_each_item(val, s_add_prefix, &a, why);
    }
    case ZPL_CUSTOM:
        return k->parse(root, target, k, val, why);
    }
    *why = "unknown key kind";
    return -1;
}

static bool s_counted(const zpl_key_t *k)
{
    return k->kind == ZPL_ZMQ_LIST || k->kind == ZPL_HOSTPORTS ||
           (k->kind == ZPL_CUSTOM && k->counted);
}

int zpl_defaults(const zpl_section_t *sec, void *root, void *target, char *err, size_t errlen)
{
    for (size_t i = 0; i < sec->n_keys; i++) {
        const zpl_key_t *k = &sec->keys[i];
        const char *why = "bad default";
        if (!k->def || !*k->def)
            continue;
        if (s_set(root, target, k, k->def, &why) != 0) {
            snprintf(err, errlen, "%s: %s", k->name, why);
            return -1;
        }
    }
    return 0;
}

/* ---- restart-only keys ---- */

/* Bytes of the key's field (of one list item for lists); 0 for tries. */
static size_t s_field_size(const zpl_key_t *k)
{
    switch (k->kind) {
    case ZPL_INT:
        return sizeof(int);
    case ZPL_UINT32:
        return sizeof(uint32_t);
    case ZPL_DOUBLE:
        return sizeof(double);
    case ZPL_BOOL:
        return sizeof(bool);
    case ZPL_PREFIXES:
        return 0;
    default:
        return k->size;
    }
}

static bool s_is_text(const zpl_key_t *k)
{
    return k->kind != ZPL_INT && k->kind != ZPL_UINT32 && k->kind != ZPL_DOUBLE &&
           k->kind != ZPL_BOOL && k->kind != ZPL_CUSTOM && k->kind != ZPL_PREFIXES;
}

/* Items in the field: the count of a list, else 1. */
static int s_items(const zpl_key_t *k, const char *sec)
{
    return s_counted(k) ? *(const int *)(const void *)(sec + k->count_off) : 1;
}

/* Same value in both sections' structs? Text is compared up to its NUL. */
static bool s_same(const zpl_key_t *k, const char *a, const char *b)
{
    size_t size = s_field_size(k);
    int n = s_items(k, a);
    if (n != s_items(k, b))
        return false;
    for (int i = 0; i < n && size; i++) {
        const char *fa = a + k->off + (size_t)i * size, *fb = b + k->off + (size_t)i * size;
        if (s_is_text(k) ? strncmp(fa, fb, size) != 0 : memcmp(fa, fb, size) != 0)
            return false;
    }
    return true;
}

static void s_copy_field(const zpl_key_t *k, char *dst, const char *src)
{
    size_t size = s_field_size(k);
    int cap = s_counted(k) ? k->max_items : 1;
    memcpy(dst + k->off, src + k->off, size * (size_t)cap);
    if (s_counted(k))
        memcpy(dst + k->count_off, src + k->count_off, sizeof(int));
}

int zpl_keep_restart(const zpl_section_t *const *secs, size_t n_secs, const void *old_root,
                     void *new_root, char *out, size_t outlen)
{
    int changed = 0;
    size_t used = 0;
    if (outlen)
        out[0] = '\0';
    for (size_t s = 0; s < n_secs; s++) {
        const zpl_section_t *sec = secs[s];
        const char *a = (const char *)old_root + sec->off;
        char *b = (char *)new_root + sec->off;
        for (size_t i = 0; !sec->group && i < sec->n_keys; i++) {
            const zpl_key_t *k = &sec->keys[i];
            if (!k->restart || s_same(k, a, b))
                continue;
            s_copy_field(k, b, a);
            changed++;
            if (used + 1 >= outlen)
                continue;
            int w = snprintf(out + used, outlen - used, "%s%s/%s", used ? " " : "", sec->name,
                             k->name);
            used = w < 0 || (size_t)w >= outlen - used ? outlen - 1 : used + (size_t)w;
        }
    }
    return changed;
}

/* ---- errors and line numbers ---- */

static int s_fail(loader_t *l, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int s_fail(loader_t *l, int line, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (line > 0)
        snprintf(l->err, l->errlen, "%s:%d: %s", l->path, line, msg);
    else if (line == 0)
        snprintf(l->err, l->errlen, "%s: %s", l->path, msg);
    else
        snprintf(l->err, l->errlen, "environment: %s", msg);
    return -1;
}

/* Check one significant line's indentation (the common mistakes, caught
 * here to name the line). Returns 0 or -1. */
static int s_check_indent(loader_t *l, const char *buf, const char *p, int lineno, int *level)
{
    int indent = (int)(p - buf);
    if (*p == '\t')
        return s_fail(l, lineno, "syntax error: tab in indentation (use 4 spaces)");
    if (indent % 4 || indent / 4 > *level + 1)
        return s_fail(l, lineno,
                      "syntax error: indentation must be 4 spaces per level, "
                      "one level deeper at most");
    *level = indent / 4;
    return 0;
}

static int s_push_line(loader_t *l, int lineno, int *cap)
{
    if (l->n_lines == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        int *n = realloc(l->lines, (size_t)*cap * sizeof(int));
        if (!n)
            return s_fail(l, 0, "out of memory");
        l->lines = n;
    }
    l->lines[l->n_lines++] = lineno;
    return 0;
}

/* Line numbers of the significant lines of the file, in order. */
static int s_index_lines(loader_t *l)
{
    FILE *f = fopen(l->path, "r");
    if (!f)
        return s_fail(l, 0, "cannot open: %s", strerror(errno));
    char buf[4096];
    int lineno = 0, cap = 0, level = -1, rc = 0;
    while (rc == 0 && fgets(buf, sizeof(buf), f)) {
        size_t len = strlen(buf);
        if (len && buf[len - 1] == '\n')
            lineno++;
        else if (!feof(f)) /* a line longer than buf: zconfig rejects it */
            continue;
        else
            lineno++;
        const char *p = buf;
        while (*p == ' ')
            p++;
        if (*p == '\0' || *p == '\n' || *p == '\r' || *p == '#')
            continue;
        rc = s_check_indent(l, buf, p, lineno, &level);
        if (rc == 0)
            rc = s_push_line(l, lineno, &cap);
    }
    fclose(f);
    return rc;
}

/* Line of the node being visited (0 when unknown). */
static int s_line(const loader_t *l)
{
    return l->node < l->n_lines ? l->lines[l->node] : 0;
}

/* ---- reading sections ---- */

/* Apply a value of key k (index i of section s) read at line (0: default,
 * -1: environment). */
static int s_apply(loader_t *l, size_t s, size_t i, const char *val, int line)
{
    const zpl_section_t *sec = l->secs[s];
    const zpl_key_t *k = &sec->keys[i];
    void *target = (char *)l->root + sec->off;
    int *seen = &l->seen[s][i];
    const char *why = "bad value";
    if (line != 0 && *seen && !k->list)
        return s_fail(l, line, "%s/%s given twice (first at line %d)", sec->name, k->name, *seen);
    if (line != 0 && !*seen && k->list && s_counted(k))
        *(int *)(void *)((char *)target + k->count_off) = 0;
    if (line > 0)
        *seen = line;
    if (s_set(l->root, target, k, val, &why) != 0)
        return s_fail(l, line, "%s/%s = \"%s\": %s", sec->name, k->name, val, why);
    return 0;
}

static const zpl_key_t *s_key(const zpl_section_t *sec, const char *name, size_t *idx)
{
    for (size_t i = 0; i < sec->n_keys; i++)
        if (!strcmp(sec->keys[i].name, name)) {
            *idx = i;
            return &sec->keys[i];
        }
    return NULL;
}

static int s_read_group_key(loader_t *l, const zpl_section_t *sec, const char *group, zconfig_t *k,
                            void *target, int *seen)
{
    int line = s_line(l);
    const char *key = zconfig_name(k), *val = zconfig_value(k) ? zconfig_value(k) : "";
    const char *why = "bad value";
    size_t i;
    const zpl_key_t *def = s_key(sec, key, &i);
    if (zconfig_child(k))
        return s_fail(l, line, "%s/%s/%s: unexpected subsection", sec->name, group, key);
    if (!def)
        return s_fail(l, line, "unknown key %s/%s/%s", sec->name, group, key);
    if (seen[i] && !def->list)
        return s_fail(l, line, "%s/%s/%s given twice (first at line %d)", sec->name, group, key,
                      seen[i]);
    seen[i] = line;
    if (s_set(l->root, target, def, val, &why) != 0)
        return s_fail(l, line, "%s/%s/%s = \"%s\": %s", sec->name, group, key, val, why);
    return 0;
}

static int s_read_group(loader_t *l, const zpl_section_t *sec, zconfig_t *grp)
{
    const char *name = zconfig_name(grp), *v = zconfig_value(grp), *why = "bad group";
    int gline = s_line(l);
    if (v && *v)
        return s_fail(l, gline, "%s %s takes no value", sec->name, name);
    if (zconfig_child(grp) == NULL && (!sec->builtin || strcmp(name, sec->builtin)))
        return s_fail(l, gline, "%s %s is empty", sec->name, name);
    void *target = sec->group(l->root, name, &why);
    if (!target)
        return s_fail(l, gline, "%s", why);
    int *seen = calloc(sec->n_keys, sizeof(int)), rc = 0;
    if (!seen)
        return s_fail(l, gline, "out of memory");
    for (zconfig_t *k = zconfig_child(grp); k && rc == 0; k = zconfig_next(k)) {
        l->node++;
        rc = s_read_group_key(l, sec, name, k, target, seen);
    }
    free(seen);
    return rc;
}

/* Nodes in the subtree of k, k included. */
static int s_count_tree(zconfig_t *k)
{
    int n = 1;
    for (zconfig_t *c = zconfig_child(k); c; c = zconfig_next(c))
        n += s_count_tree(c);
    return n;
}

static int s_read_key(loader_t *l, size_t s, zconfig_t *k)
{
    const zpl_section_t *sec = l->secs[s];
    const char *key = zconfig_name(k), *val = zconfig_value(k) ? zconfig_value(k) : "";
    if (zconfig_child(k))
        return s_fail(l, s_line(l), "%s/%s: unexpected subsection", sec->name, key);
    size_t i;
    if (!s_key(sec, key, &i))
        return s_fail(l, s_line(l), "unknown key %s/%s", sec->name, key);
    return s_apply(l, s, i, val, s_line(l));
}

/* Pass 0 reads the plain sections, pass 1 the groups. */
static int s_read_section(loader_t *l, zconfig_t *node, int pass)
{
    const char *name = zconfig_name(node);
    size_t s;
    for (s = 0; s < l->n_secs; s++)
        if (!strcmp(l->secs[s]->name, name))
            break;
    if (s == l->n_secs)
        return s_fail(l, s_line(l), "unknown section \"%s\"", name);
    if (zconfig_value(node) && *zconfig_value(node))
        return s_fail(l, s_line(l), "section %s takes no value (keys go indented below it)", name);
    const zpl_section_t *sec = l->secs[s];
    bool mine = (sec->group != NULL) == (pass == 1);
    for (zconfig_t *k = zconfig_child(node); k; k = zconfig_next(k)) {
        l->node++;
        if (!mine)
            l->node += s_count_tree(k) - 1;
        else if (sec->group ? s_read_group(l, sec, k) : s_read_key(l, s, k))
            return -1;
    }
    return 0;
}

/* PREFIX_<SECTION>_<KEY> overrides, for plain sections. */
static int s_read_env(loader_t *l, const char *prefix)
{
    for (size_t s = 0; s < l->n_secs; s++) {
        const zpl_section_t *sec = l->secs[s];
        for (size_t i = 0; !sec->group && i < sec->n_keys; i++) {
            char name[128];
            snprintf(name, sizeof(name), "%s_%s_%s", prefix, sec->name, sec->keys[i].name);
            for (char *p = name; *p; p++)
                *p = (char)toupper((unsigned char)*p);
            const char *val = getenv(name);
            if (!val)
                continue;
            l->seen[s][i] = 0; /* an override replaces lists as well */
            if (s_apply(l, s, i, val, -1) != 0)
                return -1;
        }
    }
    return 0;
}

static int s_defaults_and_checks(loader_t *l, bool finish)
{
    char why[400];
    for (size_t s = 0; s < l->n_secs; s++) {
        const zpl_section_t *sec = l->secs[s];
        if (!finish && !sec->group) {
            for (size_t i = 0; i < sec->n_keys; i++)
                if (sec->keys[i].def && *sec->keys[i].def &&
                    s_apply(l, s, i, sec->keys[i].def, 0) != 0)
                    return -1;
        }
        if (finish && sec->finish && sec->finish(l->root, why, sizeof(why)) != 0)
            return s_fail(l, 0, "%s", why);
    }
    return 0;
}

static int s_read_file(loader_t *l)
{
    /* not zconfig_load: it leaks its zfile_t on a syntax error */
    zchunk_t *text = zchunk_slurp(l->path, 0);
    zconfig_t *root = text ? zconfig_chunk_load(text) : NULL;
    zchunk_destroy(&text);
    if (!root) /* zconfig printed its reason with the line number on stdout */
        return s_fail(l, 0, "syntax error (see the zconfig message above)");
    int rc = 0;
    for (int pass = 0; pass < 2 && rc == 0; pass++) {
        l->node = -1;
        for (zconfig_t *sec = zconfig_child(root); sec && rc == 0; sec = zconfig_next(sec)) {
            l->node++;
            rc = s_read_section(l, sec, pass);
        }
    }
    zconfig_destroy(&root);
    return rc;
}

int zpl_load(const char *path, const zpl_section_t *const *secs, size_t n_secs,
             const char *env_prefix, void *root, char *err, size_t errlen)
{
    loader_t l = {
        .secs = secs, .n_secs = n_secs, .root = root, .path = path, .err = err, .errlen = errlen};
    int rc = -1;
    l.seen = calloc(n_secs, sizeof(int *));
    for (size_t s = 0; l.seen && s < n_secs; s++)
        if (!(l.seen[s] = calloc(secs[s]->n_keys + 1, sizeof(int)))) {
            s_fail(&l, 0, "out of memory");
            goto done;
        }
    if (!l.seen)
        s_fail(&l, 0, "out of memory");
    else if (s_defaults_and_checks(&l, false) == 0 && s_index_lines(&l) == 0 &&
             s_read_file(&l) == 0 && s_read_env(&l, env_prefix) == 0 &&
             s_defaults_and_checks(&l, true) == 0)
        rc = 0;
done:
    for (size_t s = 0; l.seen && s < n_secs; s++)
        free(l.seen[s]);
    free(l.seen);
    free(l.lines);
    return rc;
}

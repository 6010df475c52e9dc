/* metrics: the registry and the text renderer, on the daemon's loop thread.
 * The HTTP server is common/metrics_http.c; what the two threads share is
 * described in common/metrics_priv.h. */
#include "common/metrics.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/metrics_priv.h"

#define M_RENDER_EVERY_MS 1000 /* a render at least this often, scraped or not */
#define M_RENDER_MIN_MS 100    /* and at most this often, however many scrapes */

/* ---- output buffer ---- */

static void s_out_printf(fg_mout_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void s_out_printf(fg_mout_t *o, const char *fmt, ...)
{
    va_list ap;
    fg_buf_t *b = &o->b;
    for (int pass = 0; pass < 2 && !b->failed; pass++) {
        size_t room = b->cap > b->len ? b->cap - b->len : 0;
        va_start(ap, fmt);
        int n = vsnprintf(b->data ? b->data + b->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        fg_buf_reserve(b, (size_t)n);
    }
}

void fg_mout_family(fg_mout_t *out, const char *name, const char *type, const char *help)
{
    s_out_printf(out, "# HELP %s ", name);
    for (const char *p = help; *p; p++) { /* help escapes: \\ and \n */
        if (*p == '\\')
            s_out_printf(out, "\\\\");
        else if (*p == '\n')
            s_out_printf(out, "\\n");
        else
            s_out_printf(out, "%c", *p);
    }
    s_out_printf(out, "\n# TYPE %s %s\n", name, type);
}

void fg_mout_u64(fg_mout_t *out, const char *name, const char *labels, uint64_t v)
{
    if (labels && *labels)
        s_out_printf(out, "%s{%s} %" PRIu64 "\n", name, labels, v);
    else
        s_out_printf(out, "%s %" PRIu64 "\n", name, v);
}

void fg_mout_double(fg_mout_t *out, const char *name, const char *labels, double v)
{
    char num[64];
    if (isnan(v))
        snprintf(num, sizeof(num), "NaN");
    else if (isinf(v))
        snprintf(num, sizeof(num), v > 0 ? "+Inf" : "-Inf");
    else
        snprintf(num, sizeof(num), "%.15g", v);
    if (labels && *labels)
        s_out_printf(out, "%s{%s} %s\n", name, labels, num);
    else
        s_out_printf(out, "%s %s\n", name, num);
}

char *fg_metrics_escape(const char *s, char *out, size_t len)
{
    size_t o = 0;
    if (len == 0)
        return out;
    for (; *s; s++) {
        const char *rep = *s == '\\' ? "\\\\" : *s == '"' ? "\\\"" : *s == '\n' ? "\\n" : NULL;
        size_t n = rep ? 2 : 1;
        if (o + n >= len)
            break;
        if (rep)
            memcpy(out + o, rep, 2);
        else
            out[o] = *s;
        o += n;
    }
    out[o] = '\0';
    return out;
}

/* ---- registry ---- */

fg_metrics_t *fg_metrics_new(const char *proc)
{
    fg_metrics_t *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    snprintf(m->proc, sizeof(m->proc), "%s", proc);
    m->start_ms = fg_now_ms();
    m->wake_fd = -1;
    pthread_mutex_init(&m->mu, NULL);
    m->clock = fg_mono_ms;
    atomic_store(&m->last_tick, fg_mono_ms());
    snprintf(m->snap_why, sizeof(m->snap_why), "no render yet");
    return m;
}

/* One series: labels (common, then the row's, either may be "") copied. */
static int s_add(fg_metrics_t *m, const fg_series_t *row, const char *labels,
                 const uint64_t *value)
{
    if (fg_array_grow(&m->entries, &m->cap_entries, m->n_entries + 1, sizeof(*m->entries), 32))
        return -1;
    char *l = NULL;
    const char *sep = *labels && *row->labels ? "," : "";
    if (asprintf(&l, "%s%s%s", labels, sep, row->labels) < 0)
        return -1;
    m->entries[m->n_entries++] = (fgm_entry_t){row->name, row->help, row->type, l, value};
    return 0;
}

int fg_metrics_table(fg_metrics_t *self, const fg_series_t *table, size_t n, const void *base,
                     const char *labels)
{
    for (size_t i = 0; i < n; i++) {
        const uint64_t *v = (const uint64_t *)((const char *)base + table[i].off);
        if (s_add(self, &table[i], labels ? labels : "", v) != 0)
            return -1;
    }
    return 0;
}

void fg_mout_table(fg_mout_t *out, const fg_series_t *table, size_t n, const void *base,
                   const char *labels)
{
    char l[256];
    labels = labels ? labels : "";
    for (size_t i = 0; i < n; i++) {
        const fg_series_t *r = &table[i];
        if (i == 0 || strcmp(r->name, table[i - 1].name))
            fg_mout_family(out, r->name, r->type, r->help);
        snprintf(l, sizeof(l), "%s%s%s", labels, *labels && *r->labels ? "," : "", r->labels);
        fg_mout_u64(out, r->name, l, *(const uint64_t *)((const char *)base + r->off));
    }
}

int fg_metrics_add_fn(fg_metrics_t *self, fg_metrics_fn fn, void *arg)
{
    if (fg_array_grow(&self->fns, &self->cap_fns, self->n_fns + 1, sizeof(*self->fns), 8))
        return -1;
    self->fns[self->n_fns++] = (fgm_fn_t){fn, arg};
    return 0;
}

void *fg_metrics_calloc(fg_metrics_t *self, size_t size)
{
    void **o = realloc(self->owned, (self->n_owned + 1) * sizeof(*o));
    if (!o)
        return NULL;
    self->owned = o;
    void *p = calloc(1, size);
    if (p)
        self->owned[self->n_owned++] = p;
    return p;
}

void fg_metrics_set_health(fg_metrics_t *self, fg_health_fn fn, void *arg)
{
    self->health = fn;
    self->health_arg = arg;
}

/* ---- rendering (the loop's thread) ---- */

static void s_render_entry(fg_mout_t *o, const fgm_entry_t *e)
{
    fg_mout_u64(o, e->name, e->labels, *e->value);
}

/* Registered entries grouped by family, in order of first registration. */
static void s_render_entries(fg_metrics_t *m, fg_mout_t *o)
{
    for (size_t i = 0; i < m->n_entries; i++) {
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = !strcmp(m->entries[j].name, m->entries[i].name);
        if (seen)
            continue;
        fg_mout_family(o, m->entries[i].name, m->entries[i].type, m->entries[i].help);
        for (size_t k = i; k < m->n_entries; k++)
            if (!strcmp(m->entries[k].name, m->entries[i].name))
                s_render_entry(o, &m->entries[k]);
    }
}

static void s_render_common(fg_metrics_t *m, fg_mout_t *o, uint64_t now_ms)
{
    char labels[160];
    snprintf(labels, sizeof(labels), "proc=\"%s\",version=\"%s\"", m->proc, FG_VERSION);
    fg_mout_family(o, "floodgate_build_info", "gauge", "Always 1; the labels tell the build.");
    fg_mout_u64(o, "floodgate_build_info", labels, 1);
    fg_mout_family(o, "floodgate_process_start_time_seconds", "gauge",
                   "Start time of the process, seconds since the epoch.");
    fg_mout_double(o, "floodgate_process_start_time_seconds", NULL, (double)m->start_ms / 1e3);
    fg_mout_family(o, "floodgate_uptime_seconds", "gauge", "Seconds since the process started.");
    fg_mout_double(o, "floodgate_uptime_seconds", NULL, (double)(now_ms - m->start_ms) / 1e3);
    fg_mout_family(o, "floodgate_heartbeat_timestamp_seconds", "gauge",
                   "When the process's loop rendered these metrics, seconds since the epoch.");
    fg_mout_double(o, "floodgate_heartbeat_timestamp_seconds", NULL, (double)now_ms / 1e3);
    fg_mout_family(o, "floodgate_healthy", "gauge",
                   "1 when the process does its job (what /healthz answers), else 0.");
    fg_mout_double(o, "floodgate_healthy", NULL, m->healthy_gauge);
    if (m->http)
        fgm_http_render(m, o);
}

void fg_metrics_render(fg_metrics_t *self)
{
    uint64_t started = fg_mono_ms(); /* a request made before this gets it */
    char why[256] = "";
    bool ok = !self->health || self->health(why, sizeof(why), self->health_arg) == 0;
    self->healthy_gauge = ok ? 1 : 0;
    fg_mout_t *o = &self->render;
    fg_buf_reset(&o->b);
    s_render_common(self, o, fg_now_ms());
    s_render_entries(self, o);
    for (size_t i = 0; i < self->n_fns; i++)
        self->fns[i].fn(o, self->fns[i].arg);

    pthread_mutex_lock(&self->mu);
    if (!o->b.failed) { /* keep the previous text rather than a cut one */
        fg_mout_t t = self->snap;
        self->snap = *o;
        *o = t;
    }
    self->snap_healthy = ok;
    /* a healthy process may add a note ("ok standby ...") */
    snprintf(self->snap_why, sizeof(self->snap_why), "%s%s%s", ok ? "ok" : "",
             ok && why[0] ? " " : "", why);
    self->snap_ms = started;
    self->snap_gen++;
    pthread_mutex_unlock(&self->mu);
    if (self->wake_fd >= 0) { /* requests may wait for this render */
        uint64_t one = 1;
        ssize_t w = write(self->wake_fd, &one, sizeof(one));
        (void)w; /* EAGAIN: the counter is full, the server is awake anyway */
    }
}

void fg_metrics_set_clock(fg_metrics_t *self, uint64_t (*clock)(void))
{
    self->clock = clock ? clock : fg_mono_ms;
    atomic_store(&self->last_tick, self->clock());
}

void fg_metrics_tick(fg_metrics_t *self)
{
    if (!self)
        return;
    atomic_store_explicit(&self->last_tick, self->clock(), memory_order_relaxed);
    uint64_t age = fg_mono_ms() - self->snap_ms; /* snap_ms is written by this thread only */
    if (age >= M_RENDER_EVERY_MS ||
        (age >= M_RENDER_MIN_MS && atomic_load_explicit(&self->wanted, memory_order_relaxed))) {
        atomic_store(&self->wanted, 0); /* before the render: a later request asks again */
        fg_metrics_render(self);
    }
}

char *fg_metrics_snapshot(fg_metrics_t *self)
{
    pthread_mutex_lock(&self->mu);
    char *s = malloc(self->snap.b.len + 1);
    if (s) {
        if (self->snap.b.len)
            memcpy(s, self->snap.b.data, self->snap.b.len);
        s[self->snap.b.len] = '\0';
    }
    pthread_mutex_unlock(&self->mu);
    return s;
}

void fg_metrics_destroy(fg_metrics_t **self_p)
{
    fg_metrics_t *m = self_p ? *self_p : NULL;
    if (!m)
        return;
    fgm_http_stop(m);
    for (size_t i = 0; i < m->n_entries; i++)
        free(m->entries[i].labels);
    free(m->entries);
    free(m->fns);
    for (size_t i = 0; i < m->n_owned; i++)
        free(m->owned[i]);
    free(m->owned);
    fg_buf_free(&m->render.b);
    fg_buf_free(&m->snap.b);
    pthread_mutex_destroy(&m->mu);
    free(m);
    *self_p = NULL;
}

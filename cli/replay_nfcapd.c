/* replay_nfcapd: nfcapd files through nfdump (see replay_nfcapd.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/replay_nfcapd.h"

#define NF_MAGIC 0xA50C
#define NF_LINE 512 /* a record line is about 120 bytes */
#define NF_FIELDS 11
/* start, end (UTC, ms), src, dst, sport, dport, proto, flags, packets,
 * bytes, exporter. %te is used rather than %ter: 1.7.1 prints the latter's
 * milliseconds wrongly. */
#define NF_FORMAT "fmt:%ts|%te|%sa|%da|%sp|%dp|%pr|%flg|%pkt|%byt|%ra"
#define NF_HINT "install nfdump (Debian: apt-get install nfdump)"

struct rp_nf {
    pid_t pid;
    FILE *out;
    char path[256];
};

int rp_nf_probe(const char *path, char *err, size_t errlen)
{
    unsigned char h[4];
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t n = fread(h, 1, sizeof(h), f);
    fclose(f);
    if (n < 4 || (h[0] | h[1] << 8) != NF_MAGIC)
        return 0;
    unsigned layout = (unsigned)(h[2] | h[3] << 8);
    if (layout == 1 || layout == 2)
        return 1;
    snprintf(err, errlen, "%s: nfcapd file of layout %u, not one nfdump 1.7 reads", path,
             layout);
    return -1;
}

static void s_child(int fd, const char *path)
{
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    if (fd > STDERR_FILENO)
        close(fd);
    setenv("TZ", "UTC", 1);
    char *argv[] = {"nfdump", "-r", (char *)path, "-q", "-N", "-6", "-o", NF_FORMAT, NULL};
    execvp("nfdump", argv);
    _exit(127);
}

rp_nf_t *rp_nf_open(const char *path, char *err, size_t errlen)
{
    int fd[2];
    rp_nf_t *self = calloc(1, sizeof(*self));
    if (!self || pipe2(fd, O_CLOEXEC) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        free(self);
        return NULL;
    }
    fflush(NULL);
    self->pid = fork();
    if (self->pid == 0)
        s_child(fd[1], path);
    close(fd[1]);
    if (self->pid < 0 || !(self->out = fdopen(fd[0], "r"))) {
        snprintf(err, errlen, "%s: cannot run nfdump: %s", path, strerror(errno));
        if (self->pid > 0) {
            kill(self->pid, SIGTERM);
            waitpid(self->pid, NULL, 0);
        }
        close(fd[0]);
        free(self);
        return NULL;
    }
    snprintf(self->path, sizeof(self->path), "%s", path);
    return self;
}

/* "YYYY-MM-DD hh:mm:ss.mmm" (UTC) as unix ms; -1 when it is not that. */
static int s_time(const char *s, uint64_t *ms)
{
    struct tm tm = {0};
    int msec = -1, used = 0;
    if (sscanf(s, " %4d-%2d-%2d %2d:%2d:%2d.%3d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &msec, &used) != 7 ||
        msec < 0 || tm.tm_year < 1970)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    if (t < 0)
        return -1;
    *ms = (uint64_t)t * 1000 + (uint64_t)msec;
    return 0;
}

/* A decimal of at most max; -1 when it is not one. */
static int s_uint(const char *s, uint64_t max, uint64_t *v)
{
    char *end;
    while (*s == ' ')
        s++;
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    while (*end == ' ')
        end++;
    if (errno || *end || x > max)
        return -1;
    *v = x;
    return 0;
}

static int s_addr(char *s, fg_addr_t *a)
{
    while (*s == ' ')
        s++;
    return fg_addr_parse(s, a);
}

/* nfdump's flags: "CEUAPRSF" with '.' for a bit unset, or 0x.. */
static int s_flags(const char *s, uint8_t *flags)
{
    static const char bits[] = "CEUAPRSF";
    while (*s == ' ')
        s++;
    if (s[0] == '0' && s[1] == 'x') {
        char *end;
        unsigned long v = strtoul(s + 2, &end, 16);
        *flags = (uint8_t)v;
        return v <= 0xff && end != s + 2 ? 0 : -1;
    }
    *flags = 0;
    for (int i = 0; i < 8; i++) {
        if (s[i] == bits[i])
            *flags |= (uint8_t)(0x80 >> i);
        else if (s[i] != '.')
            return -1;
    }
    return 0;
}

/* One output line as a record: 0, or -1 when it is not one. */
static int s_parse(char *line, raw_flow_t *r, fg_addr_t *exporter)
{
    char *f[NF_FIELDS], *save = NULL;
    int n = 0;
    for (char *t = strtok_r(line, "|", &save); t && n < NF_FIELDS + 1;
         t = strtok_r(NULL, "|", &save))
        if (n < NF_FIELDS)
            f[n++] = t;
        else
            return -1;
    uint64_t sp, dp, pr;
    memset(r, 0, sizeof(*r));
    if (n != NF_FIELDS || s_time(f[0], &r->start_ms) || s_time(f[1], &r->end_ms) ||
        s_addr(f[2], &r->src) || s_addr(f[3], &r->dst) || s_uint(f[4], 65535, &sp) ||
        s_uint(f[5], 65535, &dp) || s_uint(f[6], 255, &pr) || s_flags(f[7], &r->tcp_flags) ||
        s_uint(f[8], UINT64_MAX, &r->packets) || s_uint(f[9], UINT64_MAX, &r->bytes) ||
        s_addr(f[10], exporter) || r->end_ms < r->start_ms)
        return -1;
    r->sport = (uint16_t)sp;
    r->dport = (uint16_t)dp;
    r->proto = (uint8_t)pr;
    r->sampling = 1; /* already applied by nfcapd */
    return 0;
}

static int s_fail(rp_nf_t *self, char *err, size_t errlen, const char *line)
{
    snprintf(err, errlen, "%s: not an nfcapd file nfdump can read: nfdump says \"%.200s\"",
             self->path, line);
    return -1;
}

static int s_end(rp_nf_t *self, char *err, size_t errlen)
{
    int st = 0;
    pid_t pid = self->pid;
    self->pid = 0;
    if (waitpid(pid, &st, 0) != pid) {
        snprintf(err, errlen, "%s: waiting for nfdump: %s", self->path, strerror(errno));
        return -1;
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 127) {
        snprintf(err, errlen, "%s: is an nfcapd file, read through nfdump, which cannot be run: %s",
                 self->path, NF_HINT);
        return -1;
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        snprintf(err, errlen, "%s: nfdump failed (status %d)", self->path, st);
        return -1;
    }
    return 0;
}

int rp_nf_next(rp_nf_t *self, raw_flow_t *rec, fg_addr_t *exporter, char *err, size_t errlen)
{
    char line[NF_LINE];
    while (self->pid > 0) {
        if (!fgets(line, sizeof(line), self->out))
            return s_end(self, err, errlen);
        size_t len = strlen(line);
        if (len == 0 || line[len - 1] != '\n')
            return s_fail(self, err, errlen, "a line too long or cut");
        line[--len] = '\0';
        if (len == 0 || strcmp(line, "No matching flows") == 0)
            continue; /* an empty file */
        char copy[NF_LINE];
        memcpy(copy, line, len + 1);
        if (s_parse(line, rec, exporter) == 0)
            return 1;
        return s_fail(self, err, errlen, copy);
    }
    return 0;
}

void rp_nf_close(rp_nf_t **self_p)
{
    rp_nf_t *self = *self_p;
    if (!self)
        return;
    if (self->pid > 0) {
        kill(self->pid, SIGTERM);
        waitpid(self->pid, NULL, 0);
    }
    if (self->out)
        fclose(self->out);
    free(self);
    *self_p = NULL;
}

#include "common/ptrie.h"

#include "common/fgbuf.h"

#include <stdlib.h>

/* A node of the binary trie. Lookups follow jump[] instead of child[]: a
 * chain of nodes with one child and no prefix is passed over in one step,
 * the skipped bits checked at once against the address of the node landed
 * on, so a lookup costs one step per prefix or fork on its path, not one
 * per bit (10.0.0.0/16 alone: one step instead of 16). */
typedef struct {
    uint32_t child[2]; /* 0 = none (node 0 is the root, never a child) */
    uint32_t jump[2];  /* the first node from child[b] on with a prefix, two
                        * children or none; 0 = no child */
    int32_t value;     /* -1 = no prefix ends here */
    uint32_t depth;    /* bits of the path from the root */
    fg_addr_t addr;    /* the path's bits, the rest 0 */
} ptrie_node_t;

#define PTRIE_V4_WALK (-2) /* v4_top: a prefix longer than /8 lies inside */

struct ptrie {
    ptrie_node_t *nodes;
    uint32_t count;
    size_t cap;
    uint32_t v4_root; /* node of ::ffff:0:0/96 */
    int v4_cover;     /* value of the longest prefix holding ::ffff:0:0/96 */
    size_t prefixes;
    /* Per IPv4 /8: the answer for every address in it when no prefix
     * longer than /8 lies inside (most of the address space: a flow's
     * outside end is answered in one read), else PTRIE_V4_WALK. */
    int32_t v4_top[256];
};

static inline unsigned s_bit(const fg_addr_t *a, unsigned i)
{
    return i < 64 ? (unsigned)(a->hi >> (63 - i)) & 1u : (unsigned)(a->lo >> (127 - i)) & 1u;
}

/* addr with the bits from depth on cleared. */
static inline fg_addr_t s_mask(const fg_addr_t *a, unsigned depth)
{
    fg_addr_t m = {0, 0};
    if (depth >= 64) {
        m.hi = a->hi;
        m.lo = depth >= 128 ? a->lo : a->lo & ~(~0ULL >> (depth - 64));
    } else if (depth > 0) {
        m.hi = a->hi & ~(~0ULL >> depth);
    }
    return m;
}

/* Does addr lie under node n (its path)? */
static inline bool s_under(const ptrie_node_t *n, const fg_addr_t *addr)
{
    fg_addr_t m = s_mask(addr, n->depth);
    return m.hi == n->addr.hi && m.lo == n->addr.lo;
}

/* Index of a fresh node for the path addr/depth, or 0 when out of memory. */
static uint32_t s_node_new(ptrie_t *self, const fg_addr_t *addr, unsigned depth)
{
    if (self->count == UINT32_MAX ||
        fg_array_grow(&self->nodes, &self->cap, (size_t)self->count + 1, sizeof(*self->nodes), 64))
        return 0;
    ptrie_node_t *n = &self->nodes[self->count];
    n->child[0] = n->child[1] = n->jump[0] = n->jump[1] = 0;
    n->value = -1;
    n->depth = depth;
    n->addr = s_mask(addr, depth);
    return self->count++;
}

/* Where a lookup arriving at node c goes on: c itself, or the end of the
 * chain of one-child nodes without a prefix that starts at c. */
static uint32_t s_landing(const ptrie_t *self, uint32_t c)
{
    const ptrie_node_t *n = &self->nodes[c];
    if (!c || n->value >= 0 || (n->child[0] != 0) == (n->child[1] != 0))
        return c;
    return n->jump[n->child[1] != 0];
}

/* Set the jumps of the nodes on the path to addr/len, deepest first (only
 * they can have changed: a chain runs down one path). */
static void s_rejump(ptrie_t *self, const fg_addr_t *addr, unsigned len)
{
    uint32_t path[129];
    path[0] = 0;
    for (unsigned i = 0; i < len; i++)
        path[i + 1] = self->nodes[path[i]].child[s_bit(addr, i)];
    for (unsigned i = len + 1; i-- > 0;) {
        ptrie_node_t *n = &self->nodes[path[i]];
        n->jump[0] = s_landing(self, n->child[0]);
        n->jump[1] = s_landing(self, n->child[1]);
    }
}

/* Walk (creating nodes) from the root to the node of addr/len. 0 on OOM. */
static uint32_t s_descend(ptrie_t *self, const fg_addr_t *addr, unsigned len)
{
    uint32_t at = 0;
    for (unsigned i = 0; i < len; i++) {
        unsigned b = s_bit(addr, i);
        if (!self->nodes[at].child[b]) {
            uint32_t n = s_node_new(self, addr, i + 1);
            if (!n) {
                s_rejump(self, addr, i); /* the nodes made so far */
                return 0;
            }
            self->nodes[at].child[b] = n;
        }
        at = self->nodes[at].child[b];
    }
    return at;
}

/* Recompute the value IPv4 lookups start with: the longest prefix of length
 * <= 96 on the path to the v4 root (::/0, ::ffff:0:0/96 and the like). */
static void s_update_v4_cover(ptrie_t *self)
{
    fg_addr_t mapped = fg_addr_from_v4(0);
    uint32_t at = 0;
    int best = self->nodes[0].value;
    for (unsigned i = 0; i < 96 && at != self->v4_root; i++) {
        at = self->nodes[at].child[s_bit(&mapped, i)];
        if (self->nodes[at].value >= 0)
            best = self->nodes[at].value;
    }
    self->v4_cover = best;
}

static int s_walk(const ptrie_t *self, const fg_addr_t *addr);

/* Keep v4_top after prefix/len was inserted: its /8 walks from now on
 * when it is longer than /8; the /8s it holds (all of them for a prefix
 * holding the whole IPv4 space) take the answer of their first address. */
static void s_update_v4_top(ptrie_t *self, const fg_prefix_t *prefix)
{
    fg_addr_t mapped = fg_addr_from_v4(0);
    unsigned len = prefix->len;
    if (len > 96 && !s_under(&self->nodes[self->v4_root], &prefix->addr))
        return; /* IPv6 only */
    fg_addr_t m = s_mask(&mapped, len), p = s_mask(&prefix->addr, len);
    if (len <= 96 && (m.hi != p.hi || m.lo != p.lo))
        return; /* does not hold the IPv4 space */
    if (len > 104) {
        self->v4_top[(prefix->addr.lo >> 24) & 0xff] = PTRIE_V4_WALK;
        return;
    }
    unsigned n = len > 96 ? 1u << (104 - len) : 256;
    unsigned first = len > 96 ? (unsigned)(prefix->addr.lo >> 24) & 0xff & ~(n - 1) : 0;
    for (unsigned t = first; t < first + n; t++)
        if (self->v4_top[t] != PTRIE_V4_WALK) {
            fg_addr_t a = fg_addr_from_v4((uint32_t)t << 24);
            self->v4_top[t] = s_walk(self, &a);
        }
}

ptrie_t *ptrie_new(void)
{
    ptrie_t *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    fg_addr_t zero = {0, 0};
    if (s_node_new(self, &zero, 0) != 0)
        goto fail; /* root must be node 0 */
    if (!self->nodes)
        goto fail;
    fg_addr_t mapped = fg_addr_from_v4(0);
    self->v4_root = s_descend(self, &mapped, 96);
    if (!self->v4_root)
        goto fail;
    s_rejump(self, &mapped, 96);
    self->v4_cover = -1;
    for (int t = 0; t < 256; t++)
        self->v4_top[t] = -1;
    return self;
fail:
    ptrie_destroy(&self);
    return NULL;
}

void ptrie_destroy(ptrie_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->nodes);
    free(*self_p);
    *self_p = NULL;
}

int ptrie_insert(ptrie_t *self, const fg_prefix_t *prefix, int value)
{
    if (value < 0 || prefix->len > 128)
        return -1;
    uint32_t at = prefix->len == 0 ? 0 : s_descend(self, &prefix->addr, prefix->len);
    if (prefix->len && !at)
        return -1;
    if (self->nodes[at].value < 0)
        self->prefixes++;
    self->nodes[at].value = value;
    s_rejump(self, &prefix->addr, prefix->len); /* a chain may end here now */
    s_update_v4_cover(self);
    s_update_v4_top(self, prefix);
    return 0;
}

/* The longest match by walking the trie (from the v4 root for IPv4). */
static int s_walk(const ptrie_t *self, const fg_addr_t *addr)
{
    const ptrie_node_t *nodes = self->nodes;
    uint32_t at = 0;
    unsigned i = 0;
    int best = nodes[0].value;

    if (fg_addr_is_v4(addr)) {
        best = self->v4_cover;
        at = self->v4_root;
        i = 96;
    }
    while (i < 128) {
        uint32_t n = nodes[at].jump[s_bit(addr, i)];
        if (!n || !s_under(&nodes[n], addr))
            return best; /* what lies beyond holds no prefix of addr */
        at = n;
        i = nodes[at].depth;
        if (nodes[at].value >= 0)
            best = nodes[at].value;
    }
    return best;
}

int ptrie_lookup(const ptrie_t *self, const fg_addr_t *addr)
{
    if (fg_addr_is_v4(addr)) {
        int v = self->v4_top[(addr->lo >> 24) & 0xff];
        if (v != PTRIE_V4_WALK)
            return v;
    }
    return s_walk(self, addr);
}

size_t ptrie_size(const ptrie_t *self)
{
    return self->prefixes;
}

/* Does the subtree at node at hold a prefix? */
static bool s_subtree_has(const ptrie_t *self, uint32_t at)
{
    if (self->nodes[at].value >= 0)
        return true;
    for (int b = 0; b < 2; b++)
        if (self->nodes[at].child[b] && s_subtree_has(self, self->nodes[at].child[b]))
            return true;
    return false;
}

bool ptrie_overlaps(const ptrie_t *self, const fg_prefix_t *prefix)
{
    uint32_t at = 0;
    for (unsigned i = 0; i < prefix->len && i < 128; i++) {
        if (self->nodes[at].value >= 0)
            return true; /* a shorter prefix holds it */
        at = self->nodes[at].child[s_bit(&prefix->addr, i)];
        if (!at)
            return false;
    }
    return s_subtree_has(self, at);
}

int ptrie_exact(const ptrie_t *self, const fg_prefix_t *prefix)
{
    uint32_t at = 0;
    for (unsigned i = 0; i < prefix->len && i < 128; i++) {
        at = self->nodes[at].child[s_bit(&prefix->addr, i)];
        if (!at)
            return -1;
    }
    return self->nodes[at].value;
}

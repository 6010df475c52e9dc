/* ptrie: longest-prefix match over IPv4 and IPv6 prefixes.
 *
 * A binary trie over the 128-bit address form (IPv4 mapped), nodes in one
 * array so a lookup touches no allocator. IPv4 lookups start at the ::ffff:0:0/96
 * node, so they walk at most 32 levels; those in a /8 with no prefix longer
 * than /8 inside (a flow's outside end, most often) are answered from a
 * table of 256 kept at insert, without a walk. Each prefix carries an int
 * value (a hostgroup index, or 1 for plain membership). */
#ifndef FG_PTRIE_H
#define FG_PTRIE_H

#include "common/addr.h"

typedef struct ptrie ptrie_t;

/* A new, empty trie, or NULL when out of memory. */
ptrie_t *ptrie_new(void);

/* Free the trie and NULL the caller's pointer. Idempotent. */
void ptrie_destroy(ptrie_t **self_p);

/* Insert prefix with value (>= 0). A prefix inserted twice keeps the last
 * value. Returns 0, or -1 when out of memory or value < 0. */
int ptrie_insert(ptrie_t *self, const fg_prefix_t *prefix, int value);

/* The value of the longest prefix holding addr, or -1 when none does.
 * Cannot fail. */
int ptrie_lookup(const ptrie_t *self, const fg_addr_t *addr);

/* The value stored for exactly this prefix, or -1 when it was not inserted.
 * Cannot fail. */
int ptrie_exact(const ptrie_t *self, const fg_prefix_t *prefix);

/* True when a prefix inserted overlaps prefix: holds it, or lies inside it
 * (a whitelisted host inside a /24 to announce). Cannot fail. */
bool ptrie_overlaps(const ptrie_t *self, const fg_prefix_t *prefix);

/* Number of prefixes inserted (distinct). */
size_t ptrie_size(const ptrie_t *self);

#endif

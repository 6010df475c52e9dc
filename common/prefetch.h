/* prefetch: a hint to bring a cache line in before it is needed.
 *
 * The empty volatile asm matters: a helper made only of __builtin_prefetch
 * has no effect the compiler can see, so GCC's pure-const analysis makes it
 * a "const" function and deletes calls to it (the host table's entry
 * prefetch was so compiled away: 30-45 % of a shard's time went to the
 * misses it was there to hide). */
#ifndef FG_PREFETCH_H
#define FG_PREFETCH_H

static inline void fg_prefetch(const void *p)
{
    __builtin_prefetch(p);
    __asm__ __volatile__("" : : "r"(p));
}

#endif

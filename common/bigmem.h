/* bigmem: large zeroed tables (host tables, pools) that ask the kernel for
 * transparent huge pages. Their lookups are random, so with 4 KiB pages
 * nearly every one also misses the TLB; with 2 MiB pages a 100 MiB table
 * needs 50 TLB entries. Untouched parts still cost nothing until used
 * (now in 2 MiB steps where the kernel gives huge pages: THP "madvise" or
 * "always"; otherwise plain pages). Leaf module: no logging. */
#ifndef FG_BIGMEM_H
#define FG_BIGMEM_H

#include <stddef.h>

/* n * size zeroed bytes, or NULL (overflow, out of memory). */
void *fg_big_calloc(size_t n, size_t size);

/* Free what fg_big_calloc(n, size) returned (NULL: nothing). */
void fg_big_free(void *p, size_t n, size_t size);

#endif

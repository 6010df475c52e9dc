#include "common/bigmem.h"

#include <stdint.h>
#include <sys/mman.h>

#define BIG_HUGE (2u << 20)

void *fg_big_calloc(size_t n, size_t size)
{
    if (n == 0 || size == 0 || n > SIZE_MAX / size)
        return NULL;
    size_t len = n * size;
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    if (len >= BIG_HUGE)
        (void)madvise(p, len, MADV_HUGEPAGE); /* a hint: refused, plain pages */
    return p;
}

void fg_big_free(void *p, size_t n, size_t size)
{
    if (p)
        munmap(p, n * size);
}

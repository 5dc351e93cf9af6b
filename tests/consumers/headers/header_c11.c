/* The headers as C11 with -pedantic and conversion warnings, BMA_ALLOC_ARRAY
 * included. Compiled, not run. */
#include <bitmapalloc.h>
#include <bitmapalloc_dump.h>

#include <stdint.h>

int c11_use(bma_heap *h);
int c11_use(bma_heap *h)
{
    uint64_t *a;
    _Static_assert(BMA_BUFFER_ALIGN >= 8, "documented minimum");
    if (BMA_ALLOC_ARRAY(h, uint64_t, 4, &a) != BMA_OK) {
        return 1;
    }
    a[3] = 1;
    return bma_free(h, a) == BMA_OK ? 0 : 1;
}

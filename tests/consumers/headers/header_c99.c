/* The headers as C99 with -pedantic: everything but BMA_ALLOC_ARRAY, which
 * needs C11's _Alignof. Compiled, not run. */
#include <bitmapalloc.h>
#include <bitmapalloc_dump.h>

int c99_use(bma_heap *h, void **out);
int c99_use(bma_heap *h, void **out)
{
    bma_stats s;
    size_t index;
    for (int i = 0; i < 1; i++) { /* a C99 for-declaration */
        if (bma_alloc(h, 1, 0, out) != BMA_OK || bma_chunk_index(h, *out, &index) != BMA_OK) {
            return 1;
        }
    }
    (void)bma_dump(h, stderr);
    return bma_get_stats(h, &s) == BMA_OK && s.live_allocations > 0 ? 0 : 1;
}

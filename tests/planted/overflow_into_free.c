/* Planted bug: writes one byte past the end of an allocation, into the free
 * chunk after it. ASan must report a "use-after-poison" (the library poisons
 * free chunks when built with -DBMA_SANITIZER_ANNOTATIONS=1); Valgrind reports
 * an "Invalid write". Exits 0 without a tool. */
#include <stdlib.h>
#include <string.h>

#include "bitmapalloc.h"

int main(void)
{
    size_t size = 0;
    bma_heap *h = NULL;
    void *buf = NULL;
    unsigned char *p = NULL;
    volatile unsigned char *vp;
    if (bma_buffer_size(32, 32 * 8, &size) != BMA_OK || (buf = malloc(size)) == NULL) {
        return 2;
    }
    if (bma_init(buf, size, 32, &h) != BMA_OK || bma_alloc(h, 32, 0, (void **)&p) != BMA_OK) {
        return 3;
    }
    memset(p, 0, 32);
    vp = p;
    vp[32] = 1; /* PLANTED: one past the allocation, in a free chunk */
    (void)bma_detach(h);
    free(buf);
    return 0;
}

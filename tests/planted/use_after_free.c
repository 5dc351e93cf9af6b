/* Planted bug: reads a chunk after freeing it. Valgrind must report an
 * "Invalid read" (the library marks free chunks NOACCESS when built with
 * -DBMA_VALGRIND=1), ASan a "use-after-poison" (free chunks are poisoned when
 * the library is built with -DBMA_SANITIZER_ANNOTATIONS=1).
 * Without a tool it runs to the end and exits 0. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bitmapalloc.h"

int main(void)
{
    size_t size = 0;
    bma_heap *h = NULL;
    void *buf = NULL;
    unsigned char *p = NULL;
    volatile unsigned char seen;
    if (bma_buffer_size(64, 64 * 16, &size) != BMA_OK || (buf = malloc(size)) == NULL) {
        return 2;
    }
    if (bma_init(buf, size, 64, &h) != BMA_OK || bma_alloc(h, 64, 0, (void **)&p) != BMA_OK) {
        return 3;
    }
    memset(p, 0xAB, 64);
    if (bma_free(h, p) != BMA_OK) {
        return 4;
    }
    seen = p[7]; /* PLANTED: read of a freed chunk */
    printf("read 0x%02x from a freed chunk\n", (unsigned)seen);
    (void)bma_detach(h);
    free(buf);
    return 0;
}

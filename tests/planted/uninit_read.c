/* Planted bug: branches on a byte of a fresh allocation that nobody wrote.
 *   uninit_read calloc   the buffer is zeroed, so only the library's
 *                        annotation makes the chunk undefined: Valgrind must
 *                        report "depends on uninitialised value(s)", which
 *                        proves that bma_alloc marks new allocations UNDEFINED.
 *   uninit_read malloc   the buffer is malloc'd: MSan must report a
 *                        "use-of-uninitialized-value".
 * Exits 0 without a tool. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bitmapalloc.h"

int main(int argc, char **argv)
{
    int zeroed = argc < 2 || strcmp(argv[1], "malloc") != 0;
    size_t size = 0;
    bma_heap *h = NULL;
    void *buf = NULL;
    unsigned char *p = NULL;
    if (bma_buffer_size(64, 64 * 16, &size) != BMA_OK) {
        return 2;
    }
    buf = zeroed ? calloc(1, size) : malloc(size);
    if (buf == NULL || bma_init(buf, size, 64, &h) != BMA_OK || bma_alloc(h, 100, 0, (void **)&p) != BMA_OK) {
        return 3;
    }
    if (p[5] == 0x5A) { /* PLANTED: p[5] was never written */
        puts("0x5a");
    } else {
        fputs("not 0x5a\n", stderr); /* a different call, so the branch stays a branch */
    }
    (void)bma_detach(h);
    free(buf);
    return 0;
}

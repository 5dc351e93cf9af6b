/* Outside consumer (c), overrun: writes one byte past a one-chunk allocation,
 * into the free chunk after it ("overrun"), or the allocation's own last byte
 * ("control"). Exits 0 if nothing stops it: with the library's sanitizer
 * annotations on, ASan must report the overrun as a use-after-poison. */
#include <bitmapalloc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CS ((size_t)64)

int main(int argc, char **argv)
{
    size_t size = 0;
    bma_heap *h = NULL;
    void *buf = NULL;
    void *p = NULL;
    volatile unsigned char *vp;
    bma_stats st;
    int overrun = argc > 1 && strcmp(argv[1], "overrun") == 0;
    if (argc < 2 || (!overrun && strcmp(argv[1], "control") != 0)) {
        fprintf(stderr, "usage: overrun overrun|control\n");
        return 2;
    }
    if (bma_buffer_size(CS, 8 * CS, &size) != BMA_OK || (buf = malloc(size)) == NULL) {
        return 3;
    }
    if (bma_init(buf, size, CS, &h) != BMA_OK || bma_alloc(h, CS, 0, &p) != BMA_OK) {
        return 4;
    }
    /* The chunk right after the allocation is free. */
    if (bma_get_stats(h, &st) != BMA_OK || st.used_chunks != 1 || st.free_chunks != st.chunk_count - 1 ||
        bma_usable_size(h, p) != CS) {
        return 5;
    }
    memset(p, 0x5A, CS);
    vp = p;
    vp[overrun ? CS : CS - 1] = 1;
    printf("overrun %s: wrote byte %zu of a %zu-byte allocation, nothing reported\n", argv[1], overrun ? CS : CS - 1,
           CS);
    (void)bma_detach(h); /* hand the buffer back to malloc unpoisoned */
    free(buf);
    return 0;
}

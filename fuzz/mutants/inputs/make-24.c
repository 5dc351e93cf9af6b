/* Builds fuzz/mutants/inputs/24-fuzz_attach-i3-word-boundary (and
 * corpus/fuzz_attach/regress-i3-word-boundary-after-used-word, the same bytes):
 *   cc -std=c11 -Iinclude fuzz/mutants/inputs/make-24.c lib/bitmapalloc.c -o make-24
 *   ./make-24 OUT 288
 * Input: byte 0 = 0 (raw mode), then a heap of 192
 * one-byte chunks, allocations [0,72) and [72,127), chunk 127 free, chunk 128
 * used without a start bit (I3 broken at a word boundary after a used word). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include "bitmapalloc.h"
int main(int argc, char **argv)
{
    size_t size, a, b;
    bma_heap *h;
    bma_stats st;
    if (argc != 3) {
        fprintf(stderr, "usage: make-24 OUT HEADER_SIZE\n");
        return 1;
    }
    if (bma_buffer_size(1, 192, &size) != BMA_OK) return 1;
    uint8_t *buf = aligned_alloc(64, (size + 63) & ~(size_t)63);
    memset(buf, 0, size);
    if (bma_init(buf, size, 1, &h) != BMA_OK) return 2;
    bma_get_stats(h, &st);
    if (st.chunk_count != 192) return 3;
    if (bma_alloc_chunks(h, 72, &a) != BMA_OK || a != 0) return 4;
    if (bma_alloc_chunks(h, 55, &b) != BMA_OK || b != 72) return 5;
    if (bma_check(h) != BMA_OK) return 6;
    bma_detach(h);
    /* The free bitmap follows the header (argv[2]: its size, 288 in format 3). */
    size_t hdr = (size_t)atoi(argv[2]);
    uint64_t w2;
    memcpy(&w2, buf + hdr + 16, 8);
    w2 &= ~UINT64_C(1);
    memcpy(buf + hdr + 16, &w2, 8);
    if (bma_check((bma_heap *)buf) != BMA_ECORRUPT) return 7;
    FILE *f = fopen(argv[1], "wb");
    fputc(0, f);
    fwrite(buf, 1, size, f);
    fclose(f);
    printf("size %zu chunks_off %zu\n", size, st.chunks_offset);
    return 0;
}

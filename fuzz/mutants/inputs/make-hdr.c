/* Writes fuzz_attach raw-mode inputs (byte 0 = 0, then a heap image) whose
 * header is corrupt in one field that a planted bug would let through:
 *   cc -std=c11 -Iinclude fuzz/mutants/inputs/make-hdr.c lib/bitmapalloc.c -o make-hdr
 *   ./make-hdr hint OUT      2200 one-byte chunks (35 words: hints, no index
 *                            levels), [0, 100) allocated, hint[0]
 *                            (threshold 1) = 2 while the first free chunk, 100,
 *                            is in word 1: one word too high (mutant 32)
 *   ./make-hdr longest OUT   5000 one-byte chunks (index levels at the default
 *                            BMA_TOP_NODES), [0, 100) allocated, the stored
 *                            longest_off moved past the buffer (mutant 33)
 * The unmutated library refuses both with ECORRUPT. The input's last bytes
 * are the heap's last chunks, all 0: the engine reads them as alloc(1 chunk)
 * ops, which start at the first free chunk the hint allows.
 * Header offsets are those of format version 4 (see lib/bitmapalloc.c). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bitmapalloc.h"

#define HINT0_OFF 256u   /* header.hint[0] */
#define LONGEST_OFF 72u  /* header.longest_off */

int main(int argc, char **argv)
{
    size_t size, chunks, a;
    bma_heap *h;
    int hint;
    if (argc != 3) {
        fprintf(stderr, "usage: make-hdr hint|longest OUT\n");
        return 1;
    }
    hint = strcmp(argv[1], "hint") == 0;
    chunks = hint ? 2200 : 5000;
    if (bma_buffer_size(1, chunks, &size) != BMA_OK) {
        return 1;
    }
    uint8_t *buf = aligned_alloc(64, (size + 63) & ~(size_t)63);
    if (!buf) {
        return 1;
    }
    memset(buf, 0, size);
    if (bma_init(buf, size, 1, &h) != BMA_OK || bma_alloc_chunks(h, 100, &a) != BMA_OK || a != 0) {
        return 2;
    }
    bma_detach(h);
    if (hint) {
        uint32_t v = 2;
        memcpy(buf + HINT0_OFF, &v, sizeof v);
    } else {
        uint64_t v;
        memcpy(&v, buf + LONGEST_OFF, sizeof v);
        v += (uint64_t)1 << 20;
        memcpy(buf + LONGEST_OFF, &v, sizeof v);
    }
    if (bma_check((bma_heap *)buf) != BMA_ECORRUPT) {
        return 3;
    }
    FILE *f = fopen(argv[2], "wb");
    if (!f || fputc(0, f) == EOF || fwrite(buf, 1, size, f) != size || fclose(f) != 0) {
        return 4;
    }
    free(buf);
    return 0;
}

/* Writes corpus/fuzz_ops/regress-mutant-31-short-run-kept-over-used-word, a
 * fuzz_ops input encoded as fuzz/make_seeds.c encodes its seeds:
 *   cc -std=c11 -Iinclude -Ifuzz fuzz/mutants/inputs/make-31.c -o make-31 && ./make-31 OUT
 * A heap of 192 one-byte chunks (3 bitmap words, no index levels at the
 * default BMA_TOP_NODES): alloc_chunks 60, 4, 64, 10 land at 0, 60, 64, 128;
 * free the 4 at 60 (word 0 ends in 4 free chunks) and the 10 at 128 (word 2
 * is all free); word 1 is all used. alloc_chunks(5) must answer 128. With
 * scan_short's carried run kept over the used word 1 (mutant 31) the run of 4
 * meets word 2's free left edge and the answer is 124, inside word 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "producer.h"

static fdp_enc e;

static void put(uint64_t v, uint64_t lo, uint64_t hi) { fdp_enc_range(&e, v, lo, hi); }
static void op(enum diff_op o) { put(o, 0, DOP_COUNT - 1); }
static void alloc_n(size_t n)
{
    op(DOP_ALLOC_CHUNKS);
    put(DC_SMALL, 0, 7);
    put(n, 1, 64);
}
static void free_live(size_t j)
{
    op(DOP_FREE);
    put(DT_LIVE, 0, 15);
    put(j, 0, 255);
}

int main(int argc, char **argv)
{
    size_t len;
    uint8_t *bytes;
    FILE *f;
    if (argc != 2) {
        fprintf(stderr, "usage: make-31 OUT\n");
        return 1;
    }
    memset(&e, 0, sizeof e);
    put(0, 0, 12);                      /* chunk size 1 */
    put(DGEO_WORDS, 0, DGEO_COUNT - 1); /* 64 * w + d - 1 chunks */
    put(3, 1, 200);                     /* w = 3 */
    put(1, 0, 2);                       /* d = 1: 192 chunks */
    alloc_n(60);
    alloc_n(4);
    alloc_n(64);
    alloc_n(10);
    free_live(1); /* live list by index: 0, 60, 64, 128 */
    free_live(2); /* now 0, 64, 128 */
    alloc_n(5);
    bytes = fdp_enc_finish(&e, &len);
    f = fopen(argv[1], "wb");
    if (!f || fwrite(bytes, 1, len, f) != len || fclose(f) != 0) {
        return 1;
    }
    free(bytes);
    return 0;
}

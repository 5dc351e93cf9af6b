/* A grapheme store like a terminal emulator's.
 *
 * Each screen cell that holds a multi-codepoint grapheme cluster (an accented
 * letter, a ZWJ emoji sequence, a flag, Hangul jamo) keeps it in a "page": a
 * bitmapalloc heap with 16-byte chunks. A record is an array of uint32_t:
 * record[0] is the number of codepoints, record[1..n] the codepoints. Adding a
 * combining mark grows the record with bma_realloc, in place when the next
 * chunk is free.
 *
 * When the page is full it grows. bma_attach accepts a larger buffer but does
 * not grow the heap in it (the heap keeps its chunk count), and bma_init on a
 * buffer that already holds a heap would forget every allocation. So growth
 * is: bma_init a new heap in a buffer twice as large, bma_walk the old heap
 * and move every live record across (lowest-fit on an empty heap, so the new
 * page comes out compacted), keeping a map old chunk index -> new pointer,
 * then re-point every cell through that map.
 *
 * A shadow copy of every cell in ordinary memory is checked after every step;
 * the program exits non-zero on any mismatch.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bitmapalloc.h"
#include "bitmapalloc_dump.h"

#define CHUNK 16u
#define ROWS 8u
#define COLS 16u
#define CELLS (ROWS * COLS)
#define MAX_CPS 12u
#define STEPS 2000u

typedef struct page {
    void *buf;
    bma_heap *heap;
    uint32_t *cells[CELLS]; /* record of each cell, NULL if empty */
    unsigned grows;
    unsigned moved_reallocs, in_place_reallocs;
} page;

typedef struct shadow {
    uint32_t cps[MAX_CPS];
    size_t n;
} shadow;

static shadow expect[CELLS];
static int failures;

#define FAIL(...)                                              \
    do {                                                       \
        fprintf(stderr, "grapheme_store: FAIL: " __VA_ARGS__); \
        fputc('\n', stderr);                                   \
        failures++;                                            \
    } while (0)

static const uint32_t sample_e_acute[] = {0x65, 0x301};
static const uint32_t sample_family[] = {0x1F468, 0x200D, 0x1F469, 0x200D, 0x1F467, 0x200D, 0x1F466};
static const uint32_t sample_flag_de[] = {0x1F1E9, 0x1F1EA};
static const uint32_t sample_hangul[] = {0x1112, 0x1161, 0x11AB};
static const uint32_t sample_thumbs[] = {0x1F44D, 0x1F3FD};
static const uint32_t sample_kssi[] = {0x0915, 0x094D, 0x0937, 0x093F};
static const uint32_t sample_keycap[] = {0x31, 0xFE0F, 0x20E3};
static const uint32_t sample_rainbow[] = {0x1F3F3, 0xFE0F, 0x200D, 0x1F308};

static const struct {
    const uint32_t *cps;
    size_t n;
} samples[] = {
    {sample_e_acute, 2}, {sample_family, 7}, {sample_flag_de, 2}, {sample_hangul, 3},
    {sample_thumbs, 2},  {sample_kssi, 4},   {sample_keycap, 3},  {sample_rainbow, 4},
};
#define SAMPLES (sizeof samples / sizeof samples[0])

static uint32_t rng_state = 12345u;
static uint32_t rnd(uint32_t bound)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return (rng_state >> 8) % bound;
}

static bool new_page(page *p, size_t chunks)
{
    size_t size;
    bma_status rc = bma_buffer_size(CHUNK, chunks * CHUNK, &size);
    if (rc != BMA_OK) {
        FAIL("bma_buffer_size: %s", bma_strerror(rc));
        return false;
    }
    p->buf = malloc(size); /* malloc's alignment >= BMA_BUFFER_ALIGN */
    if (p->buf == NULL) {
        FAIL("out of memory");
        return false;
    }
    rc = bma_init(p->buf, size, CHUNK, &p->heap);
    if (rc != BMA_OK) {
        FAIL("bma_init: %s", bma_strerror(rc));
        free(p->buf);
        return false;
    }
    return true;
}

static size_t chunk_count(const bma_heap *h)
{
    bma_stats s;
    return bma_get_stats(h, &s) == BMA_OK ? s.chunk_count : 0;
}

/* bma_attach on a bigger copy succeeds but keeps the old chunk count. */
static void show_attach_does_not_grow(page *p)
{
    bma_stats s;
    bma_heap *copy;
    void *big;
    if (bma_get_stats(p->heap, &s) != BMA_OK || (big = malloc(2 * s.buffer_size)) == NULL) {
        FAIL("stats / malloc");
        return;
    }
    (void)bma_detach(p->heap); /* sanitizer builds poison free chunks; memcpy reads them */
    memcpy(big, p->buf, s.buffer_size);
    if (bma_attach(big, 2 * s.buffer_size, &copy) != BMA_OK || chunk_count(copy) != s.chunk_count) {
        FAIL("attach of a copy in a larger buffer");
    } else {
        printf("a copy attached in a buffer of %zu B still has %zu chunks: attach does not grow a heap\n",
               2 * s.buffer_size, chunk_count(copy));
    }
    (void)bma_detach(copy);
    free(big);
}

typedef struct move_ctx {
    bma_heap *old_heap, *new_heap;
    void **moved_to; /* old chunk index -> new address */
    bma_status rc;
} move_ctx;

static int move_one(size_t index, size_t count, void *vctx)
{
    move_ctx *m = (move_ctx *)vctx;
    size_t new_index;
    void *from = bma_chunk_ptr(m->old_heap, index);
    m->rc = bma_alloc_chunks(m->new_heap, count, &new_index);
    if (m->rc != BMA_OK || from == NULL) {
        return 1;
    }
    m->moved_to[index] = bma_chunk_ptr(m->new_heap, new_index);
    memcpy(m->moved_to[index], from, count * CHUNK);
    return 0;
}

/* Moves every record into a new page of twice the chunks. */
static bool grow(page *p)
{
    page np;
    move_ctx m;
    size_t old_chunks = chunk_count(p->heap), i;

    if (p->grows == 0) {
        printf("-- page full for the first time:\n");
        (void)bma_dump(p->heap, stdout);
        show_attach_does_not_grow(p);
    }
    np = *p;
    if (!new_page(&np, 2 * old_chunks)) {
        return false;
    }
    m.old_heap = p->heap;
    m.new_heap = np.heap;
    m.rc = BMA_OK;
    m.moved_to = (void **)calloc(old_chunks, sizeof(void *));
    if (m.moved_to == NULL) {
        FAIL("out of memory");
        return false;
    }
    if (bma_walk(p->heap, move_one, &m) != BMA_OK || m.rc != BMA_OK) {
        FAIL("moving records: %s", bma_strerror(m.rc));
        return false;
    }
    for (i = 0; i < CELLS; i++) {
        size_t index;
        if (p->cells[i] == NULL) {
            continue;
        }
        if (bma_chunk_index(p->heap, p->cells[i], &index) != BMA_OK || m.moved_to[index] == NULL) {
            FAIL("cell %zu points at no live record", i);
            return false;
        }
        np.cells[i] = (uint32_t *)m.moved_to[index];
    }
    free(m.moved_to);
    (void)bma_detach(p->heap);
    free(p->buf);
    np.grows = p->grows + 1u;
    *p = np;
    printf("grew the page: %zu -> %zu chunks\n", old_chunks, chunk_count(p->heap));
    return true;
}

/* Stores cps in cell, replacing what it held; grows the page when full. */
static bma_status set_cell(page *p, size_t cell, const uint32_t *cps, size_t n)
{
    uint32_t *rec;
    bma_status rc;
    if (p->cells[cell] != NULL) {
        rc = bma_free(p->heap, p->cells[cell]);
        if (rc != BMA_OK) {
            return rc;
        }
        p->cells[cell] = NULL;
    }
    while ((rc = BMA_ALLOC_ARRAY(p->heap, uint32_t, n + 1u, &rec)) == BMA_ENOMEM) {
        if (!grow(p)) {
            return BMA_ENOMEM;
        }
    }
    if (rc == BMA_OK) {
        rec[0] = (uint32_t)n;
        memcpy(rec + 1, cps, n * sizeof *cps);
        p->cells[cell] = rec;
    }
    return rc;
}

/* Adds one codepoint to the cell's record with bma_realloc; grows the page when full. */
static bma_status append_cp(page *p, size_t cell, uint32_t cp)
{
    void *grown;
    bma_status rc;
    size_t n = p->cells[cell][0];
    while ((rc = bma_realloc(p->heap, p->cells[cell], (n + 2u) * sizeof(uint32_t), 0, &grown)) == BMA_ENOMEM) {
        if (!grow(p)) {
            return BMA_ENOMEM;
        }
    }
    if (rc == BMA_OK) {
        if (grown == p->cells[cell]) {
            p->in_place_reallocs++;
        } else {
            p->moved_reallocs++;
        }
        p->cells[cell] = (uint32_t *)grown;
        p->cells[cell][n + 1u] = cp;
        p->cells[cell][0] = (uint32_t)(n + 1u);
    }
    return rc;
}

static bool check_cell(const page *p, size_t cell)
{
    const uint32_t *rec = p->cells[cell];
    if (rec == NULL) {
        return expect[cell].n == 0;
    }
    return rec[0] == expect[cell].n && memcmp(rec + 1, expect[cell].cps, expect[cell].n * sizeof(uint32_t)) == 0 &&
           bma_usable_size(p->heap, rec) >= (expect[cell].n + 1u) * sizeof(uint32_t);
}

static bool check_all(const page *p)
{
    size_t i;
    bma_status rc = bma_check(p->heap);
    if (rc != BMA_OK) {
        FAIL("bma_check: %s", bma_strerror(rc));
        return false;
    }
    for (i = 0; i < CELLS; i++) {
        if (!check_cell(p, i)) {
            FAIL("cell %zu does not hold what was stored", i);
            return false;
        }
    }
    return true;
}

int main(void)
{
    page p;
    unsigned step, grows_seen = 0;
    size_t i, shown = 0;
    bma_stats s;

    memset(&p, 0, sizeof p);
    if (!new_page(&p, 16)) {
        return 1;
    }
    for (step = 0; step < STEPS && failures == 0; step++) {
        size_t cell = rnd(CELLS);
        uint32_t action = rnd(10);
        bma_status rc = BMA_OK;
        if (action < 5 || expect[cell].n == 0) {
            size_t k = rnd((uint32_t)SAMPLES);
            rc = set_cell(&p, cell, samples[k].cps, samples[k].n);
            memcpy(expect[cell].cps, samples[k].cps, samples[k].n * sizeof(uint32_t));
            expect[cell].n = samples[k].n;
        } else if (action < 8) {
            if (expect[cell].n < MAX_CPS) {
                uint32_t mark = 0x300u + rnd(0x70);
                rc = append_cp(&p, cell, mark);
                expect[cell].cps[expect[cell].n++] = mark;
            }
        } else {
            rc = bma_free(p.heap, p.cells[cell]);
            p.cells[cell] = NULL;
            expect[cell].n = 0;
        }
        if (rc != BMA_OK) {
            FAIL("step %u: %s", step, bma_strerror(rc));
        } else if (!check_cell(&p, cell)) {
            FAIL("step %u: cell %zu is wrong", step, cell);
        }
        if (p.grows != grows_seen) {
            grows_seen = p.grows;
            (void)check_all(&p);
        }
    }
    if (failures == 0 && check_all(&p)) {
        printf("-- after %u steps, %u page growths, %u reallocs in place, %u moved:\n", step, p.grows,
               p.in_place_reallocs, p.moved_reallocs);
        (void)bma_dump(p.heap, stdout);
        for (i = 0; i < CELLS && shown < 4; i++) {
            size_t k;
            if (p.cells[i] == NULL) {
                continue;
            }
            printf("cell %3zu:", i);
            for (k = 1; k <= p.cells[i][0]; k++) {
                printf(" U+%04X", (unsigned)p.cells[i][k]);
            }
            putchar('\n');
            shown++;
        }
    }
    if (p.grows < 2) {
        FAIL("the workload should have grown the page at least twice, grew %u times", p.grows);
    }
    /* Clear the screen: every record is freed and the page is empty again. */
    for (i = 0; i < CELLS; i++) {
        if (p.cells[i] != NULL && bma_free(p.heap, p.cells[i]) != BMA_OK) {
            FAIL("freeing cell %zu", i);
        }
    }
    if (bma_get_stats(p.heap, &s) != BMA_OK || s.live_allocations != 0 || s.free_chunks != s.chunk_count) {
        FAIL("page not empty after clearing every cell");
    }
    (void)bma_detach(p.heap);
    free(p.buf);
    if (failures != 0) {
        return 1;
    }
    printf("grapheme_store: OK\n");
    return 0;
}

/* placement: the first-fit rule, with the scenarios that guarded the original
 * Zig BitmapAllocator. Every allocation is checked against the exact chunk
 * index the contract prescribes: the lowest index of a long-enough free run. */
#include "util.h"

/* A heap of 384 chunks (6 bitmap words) laid out as
 *   [0, s) used | [s, s+n) free | [s+n, 257) used | [257, 384) free
 * so the only free runs are exactly n chunks at s and 127 chunks at 257.
 * Built with three allocations and one free, each checked. */
#define HOLE_HEAP_CHUNKS 384u
#define HOLE_REGION_END 257u
#define HOLE_TAIL (HOLE_HEAP_CHUNKS - HOLE_REGION_END)

static int build_single_hole(heap_fx *fx, size_t s, size_t n)
{
    size_t idx = SIZE_MAX;
    if (!fx_reset(fx)) {
        return 0;
    }
    if (s > 0 && (!CHECK_STATUS(bma_alloc_chunks(fx->h, s, &idx), BMA_OK) || !CHECK_EQ(idx, 0))) {
        return 0;
    }
    if (!CHECK_STATUS(bma_alloc_chunks(fx->h, n, &idx), BMA_OK) || !CHECK_EQ(idx, s)) {
        return 0;
    }
    if (!CHECK_STATUS(bma_alloc_chunks(fx->h, HOLE_REGION_END - s - n, &idx), BMA_OK) || !CHECK_EQ(idx, s + n)) {
        return 0;
    }
    return CHECK_STATUS(bma_free_chunks(fx->h, s, n), BMA_OK);
}

/* With only the hole [s, s+n) and the tail free: n+1 chunks skip the hole,
 * n chunks land exactly in it, and afterwards nothing else moved. */
static void check_single_hole(heap_fx *fx, size_t s, size_t n)
{
    size_t idx = SIZE_MAX;
    bma_stats st;
    CHECK_CTX("hole of %zu chunks at %zu", n, s);
    if (!build_single_hole(fx, s, n)) {
        return;
    }
    st = stats_of(fx->h);
    CHECK_EQ(st.free_chunks, n + HOLE_TAIL);
    CHECK_EQ(st.largest_free_run, n > HOLE_TAIL ? n : HOLE_TAIL);
    if (n + 1 <= HOLE_TAIL) {
        CHECK_STATUS(bma_alloc_chunks(fx->h, n + 1, &idx), BMA_OK);
        CHECK_EQ(idx, HOLE_REGION_END);
    } else {
        idx = 12345;
        CHECK_STATUS(bma_alloc_chunks(fx->h, n + 1, &idx), BMA_ENOMEM);
        CHECK_EQ(idx, 12345);
    }
    CHECK_STATUS(bma_alloc_chunks(fx->h, n, &idx), BMA_OK);
    CHECK_EQ(idx, s);
    CHECK_STATUS(bma_check(fx->h), BMA_OK);
}

/* Original test: for every run length n in 1..64 and every start inside one
 * bitmap word, a free run of exactly n at that start takes an n-chunk request
 * and refuses an (n+1)-chunk one. Done in each of the four words. */
static void in_word_runs_every_length_and_start(void)
{
    heap_fx fx;
    size_t word, n, s;
    if (!fx_new(&fx, 8, HOLE_HEAP_CHUNKS)) {
        return;
    }
    for (word = 0; word < 4 && CASE_OK(); word++) {
        for (n = 1; n <= 64 && CASE_OK(); n++) {
            for (s = word * 64; s + n <= word * 64 + 64 && CASE_OK(); s++) {
                check_single_hole(&fx, s, n);
            }
        }
    }
    fx_free(&fx);
}

/* Every hole [s, s+n) inside [0, 256) that crosses at least one word
 * boundary: n from 2 to 256, every start. */
static void runs_straddling_word_boundaries(void)
{
    heap_fx fx;
    size_t n, s;
    if (!fx_new(&fx, 16, HOLE_HEAP_CHUNKS)) {
        return;
    }
    for (n = 2; n <= 256 && CASE_OK(); n++) {
        for (s = 0; s + n <= 256 && CASE_OK(); s++) {
            if (s / 64 != (s + n - 1) / 64) {
                check_single_hole(&fx, s, n);
            }
        }
    }
    fx_free(&fx);
}

/* Original test: a 2-chunk run made of chunks 63 and 64. */
static void two_chunk_run_at_63_64(void)
{
    heap_fx fx;
    size_t idx = SIZE_MAX, i;
    if (!fx_new(&fx, 64, 128)) {
        return;
    }
    for (i = 0; i < 128; i++) {
        CHECK_STATUS(bma_alloc_chunks(fx.h, 1, &idx), BMA_OK);
        CHECK_EQ(idx, i);
    }
    CHECK_STATUS(bma_free_chunks(fx.h, 63, 1), BMA_OK);
    CHECK_STATUS(bma_free_chunks(fx.h, 64, 1), BMA_OK);
    CHECK_EQ(stats_of(fx.h).largest_free_run, 2);
    CHECK_STATUS(bma_alloc_chunks(fx.h, 3, &idx), BMA_ENOMEM);
    CHECK_STATUS(bma_alloc_chunks(fx.h, 2, &idx), BMA_OK);
    CHECK_EQ(idx, 63);
    CHECK_EQ(stats_of(fx.h).free_chunks, 0);
    /* The same through the byte interface: one pointer, two chunks. */
    CHECK_STATUS(bma_free_chunks(fx.h, 63, 2), BMA_OK);
    {
        void *p = NULL;
        CHECK_STATUS(bma_alloc(fx.h, 65, 0, &p), BMA_OK);
        CHECK_PTR_EQ(p, bma_chunk_ptr(fx.h, 63));
        CHECK_EQ(bma_usable_size(fx.h, p), 128);
    }
    fx_free(&fx);
}

/* Original test: a 64-chunk run over chunks 60..123, half in each word. */
static void sixty_four_chunk_run_at_60_123(void)
{
    heap_fx fx;
    size_t idx = SIZE_MAX;
    if (!fx_new(&fx, 32, 192)) {
        return;
    }
    CHECK_STATUS(bma_alloc_chunks(fx.h, 60, &idx), BMA_OK);
    CHECK_EQ(idx, 0);
    CHECK_STATUS(bma_alloc_chunks(fx.h, 64, &idx), BMA_OK);
    CHECK_EQ(idx, 60);
    CHECK_STATUS(bma_alloc_chunks(fx.h, 68, &idx), BMA_OK);
    CHECK_EQ(idx, 124);
    CHECK_STATUS(bma_free_chunks(fx.h, 60, 64), BMA_OK);
    CHECK_STATUS(bma_alloc_chunks(fx.h, 65, &idx), BMA_ENOMEM);
    CHECK_STATUS(bma_alloc_chunks(fx.h, 64, &idx), BMA_OK);
    CHECK_EQ(idx, 60);
    fx_free(&fx);
}

/* Original test: runs of more than 64 chunks that do not start at chunk 0. */
static void runs_over_64_chunks_not_at_start(void)
{
    heap_fx fx;
    size_t idx = SIZE_MAX;
    if (!fx_new(&fx, 8, 1024)) {
        return;
    }
    CHECK_STATUS(bma_alloc_chunks(fx.h, 1, &idx), BMA_OK);
    CHECK_EQ(idx, 0);
    CHECK_STATUS(bma_alloc_chunks(fx.h, 65, &idx), BMA_OK);
    CHECK_EQ(idx, 1);
    CHECK_STATUS(bma_alloc_chunks(fx.h, 100, &idx), BMA_OK);
    CHECK_EQ(idx, 66);
    CHECK_STATUS(bma_alloc_chunks(fx.h, 300, &idx), BMA_OK);
    CHECK_EQ(idx, 166);
    CHECK_STATUS(bma_alloc_chunks(fx.h, 129, &idx), BMA_OK);
    CHECK_EQ(idx, 466);
    /* A 65-chunk hole at 1: 64 chunks fit there, then 2 do not fit in the 1
     * that is left and go to the end, then 1 fills the hole. */
    CHECK_STATUS(bma_free_chunks(fx.h, 1, 65), BMA_OK);
    CHECK_STATUS(bma_alloc_chunks(fx.h, 64, &idx), BMA_OK);
    CHECK_EQ(idx, 1);
    CHECK_STATUS(bma_alloc_chunks(fx.h, 2, &idx), BMA_OK);
    CHECK_EQ(idx, 595);
    CHECK_STATUS(bma_alloc_chunks(fx.h, 1, &idx), BMA_OK);
    CHECK_EQ(idx, 65);
    /* What is left is [597, 1024): 427 chunks. */
    CHECK_STATUS(bma_alloc_chunks(fx.h, 428, &idx), BMA_ENOMEM);
    CHECK_STATUS(bma_alloc_chunks(fx.h, 427, &idx), BMA_OK);
    CHECK_EQ(idx, 597);
    CHECK_EQ(stats_of(fx.h).free_chunks, 0);
    CHECK_STATUS(bma_check(fx.h), BMA_OK);
    fx_free(&fx);
}

/* Original test: requests of exactly 64, 128 and 192 chunks. */
static void exact_multiples_of_64(void)
{
    heap_fx fx;
    size_t idx = SIZE_MAX;
    void *p = NULL;
    if (!fx_new(&fx, 16, 192)) {
        return;
    }
    CHECK_STATUS(bma_alloc_chunks(fx.h, 64, &idx), BMA_OK);
    CHECK_EQ(idx, 0);
    CHECK_STATUS(bma_alloc_chunks(fx.h, 128, &idx), BMA_OK);
    CHECK_EQ(idx, 64);
    CHECK_STATUS(bma_alloc_chunks(fx.h, 1, &idx), BMA_ENOMEM);
    CHECK_STATUS(bma_free_chunks(fx.h, 0, 64), BMA_OK);
    CHECK_STATUS(bma_free_chunks(fx.h, 64, 128), BMA_OK);
    CHECK_STATUS(bma_alloc_chunks(fx.h, 192, &idx), BMA_OK);
    CHECK_EQ(idx, 0);
    CHECK_EQ(stats_of(fx.h).free_chunks, 0);
    CHECK_STATUS(bma_free_chunks(fx.h, 0, 192), BMA_OK);
    CHECK_STATUS(bma_alloc(fx.h, (size_t)128 * 16, 0, &p), BMA_OK);
    CHECK_PTR_EQ(p, bma_chunk_ptr(fx.h, 0));
    CHECK_STATUS(bma_alloc(fx.h, (size_t)64 * 16, 0, &p), BMA_OK);
    CHECK_PTR_EQ(p, bma_chunk_ptr(fx.h, 128));
    fx_free(&fx);

    /* The same sizes, not at the start: 1 + 64 + 128 + 192 + 15 = 400. */
    if (!fx_new(&fx, 16, 400)) {
        return;
    }
    CHECK_STATUS(bma_alloc_chunks(fx.h, 1, &idx), BMA_OK);
    CHECK_EQ(idx, 0);
    CHECK_STATUS(bma_alloc_chunks(fx.h, 64, &idx), BMA_OK);
    CHECK_EQ(idx, 1);
    CHECK_STATUS(bma_alloc_chunks(fx.h, 128, &idx), BMA_OK);
    CHECK_EQ(idx, 65);
    CHECK_STATUS(bma_alloc_chunks(fx.h, 192, &idx), BMA_OK);
    CHECK_EQ(idx, 193);
    CHECK_STATUS(bma_alloc_chunks(fx.h, 16, &idx), BMA_ENOMEM);
    CHECK_STATUS(bma_alloc_chunks(fx.h, 15, &idx), BMA_OK);
    CHECK_EQ(idx, 385);
    CHECK_STATUS(bma_check(fx.h), BMA_OK);
    fx_free(&fx);
}

/* Original test: a request larger than the heap fails with ENOMEM, writes no
 * result and changes no byte of the buffer. */
static void request_larger_than_heap_is_enomem_and_changes_nothing(void)
{
    heap_fx fx;
    unsigned char *snap;
    size_t idx = 777, k;
    void *p = &idx;
    const size_t cs = 32, n = 100;
    const size_t too_big[] = {n + 1, n + 64, 2 * n, SIZE_MAX / cs, SIZE_MAX};
    if (!fx_new(&fx, cs, n)) {
        return;
    }
    snap = fx_snapshot(&fx);
    for (k = 0; k < sizeof too_big / sizeof too_big[0]; k++) {
        CHECK_CTX("count %zu", too_big[k]);
        CHECK_STATUS(bma_alloc_chunks(fx.h, too_big[k], &idx), BMA_ENOMEM);
        CHECK_EQ(idx, 777);
        if (too_big[k] <= SIZE_MAX / cs) {
            CHECK_STATUS(bma_alloc(fx.h, too_big[k] * cs, 0, &p), BMA_ENOMEM);
            CHECK_STATUS(bma_alloc(fx.h, too_big[k] * cs - cs + 1, 0, &p), BMA_ENOMEM);
            CHECK_PTR_EQ(p, &idx);
        }
        CHECK_UNCHANGED(&fx, snap);
    }
    CHECK_CTX_CLEAR();
    CHECK_STATUS(bma_alloc(fx.h, SIZE_MAX, 0, &p), BMA_ENOMEM);
    CHECK_PTR_EQ(p, &idx);
    CHECK_UNCHANGED(&fx, snap);
    /* The whole heap fits; one more chunk never does. */
    CHECK_STATUS(bma_alloc_chunks(fx.h, n, &idx), BMA_OK);
    CHECK_EQ(idx, 0);
    CHECK_STATUS(bma_free_chunks(fx.h, 0, n), BMA_OK);
    CHECK_STATUS(bma_alloc_chunks(fx.h, 1, &idx), BMA_OK);
    CHECK_EQ(idx, 0);
    CHECK_STATUS(bma_alloc_chunks(fx.h, n, &idx), BMA_ENOMEM);
    CHECK_STATUS(bma_alloc_chunks(fx.h, n - 1, &idx), BMA_OK);
    CHECK_EQ(idx, 1);
    free(snap);
    fx_free(&fx);
}

/* Regression: ceil(size / chunk_size) computed as (size + chunk_size - 1) /
 * chunk_size wraps for sizes near SIZE_MAX and turns a huge request into a
 * tiny one that succeeds. Every such size must be ENOMEM. */
static void regression_huge_size_wraps_to_small_chunk_count(void)
{
    const size_t sizes[] = {1, 16, 4096};
    size_t k, d;
    for (k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        heap_fx fx;
        size_t cs = sizes[k];
        if (!fx_new(&fx, cs, 64)) {
            return;
        }
        for (d = 0; d < 2 * cs + 2 && d < 70; d++) {
            void *p = NULL;
            size_t idx = 0;
            CHECK_CTX("cs %zu size SIZE_MAX-%zu", cs, d);
            CHECK_STATUS(bma_alloc(fx.h, SIZE_MAX - d, 0, &p), BMA_ENOMEM);
            CHECK_STATUS(bma_alloc_array(fx.h, 1, SIZE_MAX - d, 0, &p), BMA_ENOMEM);
            CHECK_STATUS(bma_realloc(fx.h, NULL, SIZE_MAX - d, 0, &p), BMA_ENOMEM);
            CHECK_STATUS(bma_alloc_chunks(fx.h, SIZE_MAX - d, &idx), BMA_ENOMEM);
        }
        CHECK_CTX_CLEAR();
        CHECK_EQ(stats_of(fx.h).free_chunks, 64);
        fx_free(&fx);
    }
}

/* Original test: a freed run is handed out again at the same index. */
static void reuse_after_free_returns_same_index(void)
{
    heap_fx fx;
    size_t a = 0, b = 0, c = 0, idx = 0, i;
    void *p = NULL, *q = NULL;
    if (!fx_new(&fx, 64, 256)) {
        return;
    }
    CHECK_STATUS(bma_alloc_chunks(fx.h, 1, &a), BMA_OK);
    CHECK_STATUS(bma_alloc_chunks(fx.h, 3, &b), BMA_OK);
    CHECK_STATUS(bma_alloc_chunks(fx.h, 1, &c), BMA_OK);
    CHECK_EQ(a, 0);
    CHECK_EQ(b, 1);
    CHECK_EQ(c, 4);
    CHECK_STATUS(bma_free_chunks(fx.h, b, 3), BMA_OK);
    CHECK_STATUS(bma_alloc_chunks(fx.h, 3, &idx), BMA_OK);
    CHECK_EQ(idx, 1);
    CHECK_STATUS(bma_free_chunks(fx.h, 1, 3), BMA_OK);
    CHECK_STATUS(bma_alloc_chunks(fx.h, 2, &idx), BMA_OK);
    CHECK_EQ(idx, 1);
    CHECK_STATUS(bma_alloc_chunks(fx.h, 2, &idx), BMA_OK);
    CHECK_EQ(idx, 5); /* only chunk 3 is left in the hole */
    CHECK_STATUS(bma_alloc_chunks(fx.h, 1, &idx), BMA_OK);
    CHECK_EQ(idx, 3);
    /* Through pointers, many times over: always the same address. */
    CHECK_STATUS(bma_alloc(fx.h, 100, 0, &p), BMA_OK);
    for (i = 0; i < 200; i++) {
        CHECK_STATUS(bma_free(fx.h, p), BMA_OK);
        CHECK_STATUS(bma_alloc(fx.h, 100, 0, &q), BMA_OK);
        if (!CHECK_PTR_EQ(q, p)) {
            break;
        }
    }
    CHECK_EQ(index_of(fx.h, p), 7);
    /* Freeing an earlier run brings the search back to it. */
    CHECK_STATUS(bma_free_chunks(fx.h, 0, 1), BMA_OK);
    CHECK_STATUS(bma_alloc(fx.h, 1, 0, &q), BMA_OK);
    CHECK_PTR_EQ(q, bma_chunk_ptr(fx.h, 0));
    fx_free(&fx);
}

/* Original test: 4-byte elements through BMA_ALLOC_ARRAY: alignment, chunk
 * counts, and contents that survive later allocations. */
static void uint32_arrays_via_alloc_array_macro(void)
{
    const size_t chunk_sizes[] = {1, 2, 4, 8, 64};
    const size_t lengths[] = {1, 3, 17, 64, 1000};
    size_t k, j, i;
    for (k = 0; k < sizeof chunk_sizes / sizeof chunk_sizes[0]; k++) {
        size_t cs = chunk_sizes[k];
        heap_fx fx;
        uint32_t *arr[sizeof lengths / sizeof lengths[0]];
        size_t expect = 0, chunks_needed = 0;
        for (j = 0; j < sizeof lengths / sizeof lengths[0]; j++) {
            chunks_needed += ceil_div(lengths[j] * 4, cs) + 4;
        }
        if (!fx_new(&fx, cs, chunks_needed)) {
            return;
        }
        for (j = 0; j < sizeof lengths / sizeof lengths[0]; j++) {
            size_t idx;
            CHECK_CTX("cs %zu, uint32_t[%zu]", cs, lengths[j]);
            arr[j] = NULL;
            if (!CHECK_STATUS(BMA_ALLOC_ARRAY(fx.h, uint32_t, lengths[j], &arr[j]), BMA_OK)) {
                continue;
            }
            /* The first chunk at or after expect whose buffer offset is a
             * multiple of 4. */
            while ((fx.st.chunks_offset + expect * cs) % 4 != 0) {
                expect++;
            }
            idx = index_of(fx.h, arr[j]);
            CHECK_EQ(idx, expect);
            CHECK_EQ((uintptr_t)arr[j] % _Alignof(uint32_t), 0);
            CHECK_EQ(bma_usable_size(fx.h, arr[j]), ceil_div(lengths[j] * 4, cs) * cs);
            for (i = 0; i < lengths[j]; i++) {
                arr[j][i] = (uint32_t)(0x9E3779B9u * (uint32_t)(i + 1) ^ (uint32_t)j);
            }
            expect = idx + ceil_div(lengths[j] * 4, cs);
        }
        for (j = 0; j < sizeof lengths / sizeof lengths[0]; j++) {
            size_t bad = lengths[j];
            if (arr[j] == NULL) {
                continue;
            }
            for (i = 0; i < lengths[j]; i++) {
                if (arr[j][i] != (uint32_t)(0x9E3779B9u * (uint32_t)(i + 1) ^ (uint32_t)j)) {
                    bad = i;
                    break;
                }
            }
            CHECK_CTX("cs %zu, uint32_t[%zu]", cs, lengths[j]);
            CHECK_EQ(bad, lengths[j]);
            CHECK_STATUS(bma_free_sized(fx.h, arr[j], lengths[j] * sizeof(uint32_t)), BMA_OK);
        }
        CHECK_CTX_CLEAR();
        CHECK_EQ(stats_of(fx.h).free_chunks, chunks_needed);
        fx_free(&fx);
    }
}

/* Wider element types get their own alignment through the same macro. */
typedef struct wide {
    long double x;
    uint64_t tag;
} wide;

static void wider_element_types_via_alloc_array_macro(void)
{
    const size_t chunk_sizes[] = {1, 4, 8, 16, 32};
    size_t k;
    for (k = 0; k < sizeof chunk_sizes / sizeof chunk_sizes[0]; k++) {
        heap_fx fx;
        uint64_t *u = NULL;
        wide *w = NULL;
        unsigned char *c = NULL;
        size_t i, cs = chunk_sizes[k];
        CHECK_CTX("cs %zu", cs);
        if (!fx_new_ex(&fx, cs, ceil_div(4096, cs), 0, 64, 0)) {
            return;
        }
        CHECK_STATUS(BMA_ALLOC_ARRAY(fx.h, unsigned char, 3, &c), BMA_OK);
        CHECK_STATUS(BMA_ALLOC_ARRAY(fx.h, uint64_t, 5, &u), BMA_OK);
        CHECK_STATUS(BMA_ALLOC_ARRAY(fx.h, wide, 7, &w), BMA_OK);
        if (c == NULL || u == NULL || w == NULL) {
            fx_free(&fx);
            return;
        }
        CHECK_EQ(index_of(fx.h, c), 0);
        CHECK_EQ((uintptr_t)u % _Alignof(uint64_t), 0);
        CHECK_EQ((uintptr_t)w % _Alignof(wide), 0);
        CHECK((unsigned char *)u >= c + 3);
        CHECK((unsigned char *)w >= (unsigned char *)(u + 5));
        for (i = 0; i < 5; i++) {
            u[i] = UINT64_C(0x0123456789ABCDEF) * (i + 1);
        }
        for (i = 0; i < 7; i++) {
            w[i].x = (long double)i / 3;
            w[i].tag = i;
        }
        for (i = 0; i < 5; i++) {
            CHECK_EQ(u[i], UINT64_C(0x0123456789ABCDEF) * (i + 1));
        }
        for (i = 0; i < 7; i++) {
            CHECK(w[i].x == (long double)i / 3);
            CHECK_EQ(w[i].tag, i);
        }
        fx_free(&fx);
    }
}

/* ------------------------------------------------------ large heaps */

/* A heap of 70,400 one-byte chunks: 1,100 bitmap words, enough for a search
 * index of several levels in any library that keeps one, so runs must be
 * found across the boundaries of its nodes (multiples of 512, 4096, 32768
 * chunks for a fan-out of 8) as well as of words. */
#define BIG_CHUNKS 70400u
#define BIG_REGION_END 66000u /* chunk 66000 stays used; [66001, 70400) is the tail */
#define BIG_TAIL (BIG_CHUNKS - BIG_REGION_END - 1u)

/* Free holes at the given sorted, non-adjacent (start, length) pairs inside
 * [0, BIG_REGION_END]; every other chunk of that range used; the tail free.
 * Built from consecutive allocations, the holes then freed. */
static int build_holes(heap_fx *fx, const size_t (*holes)[2], size_t nholes)
{
    size_t pos = 0, k, idx = 0;
    int ok = fx_reset(fx);
    for (k = 0; k <= nholes && ok; k++) {
        size_t next = k < nholes ? holes[k][0] : BIG_REGION_END + 1u;
        if (next > pos) {
            ok &= CHECK_STATUS(bma_alloc_chunks(fx->h, next - pos, &idx), BMA_OK) && CHECK_EQ(idx, pos);
        }
        if (k < nholes) {
            ok &= CHECK_STATUS(bma_alloc_chunks(fx->h, holes[k][1], &idx), BMA_OK) && CHECK_EQ(idx, next);
            pos = next + holes[k][1];
        }
    }
    for (k = 0; k < nholes && ok; k++) {
        ok &= CHECK_STATUS(bma_free_chunks(fx->h, holes[k][0], holes[k][1]), BMA_OK);
    }
    return ok;
}

static const size_t big_boundaries[] = {64, 512, 4096, 4608, 12288, 32768, 37440, 65536};
static const size_t big_lengths[] = {1, 2, 63, 64, 65, 100, 511, 512, 513, 1000, 4095, 4096, 4097, 5000, 33000};

/* One hole of n chunks at s, starting before, at and after each boundary:
 * n + 1 chunks go to the tail (or fail), n chunks land exactly at s. */
static void large_heap_single_holes_across_index_boundaries(void)
{
    heap_fx fx;
    size_t b, l, k;
    if (!fx_new(&fx, 1, BIG_CHUNKS)) {
        return;
    }
    for (l = 0; l < sizeof big_lengths / sizeof big_lengths[0] && CASE_OK(); l++) {
        size_t n = big_lengths[l];
        for (b = 0; b < sizeof big_boundaries / sizeof big_boundaries[0]; b++) {
            size_t bd = big_boundaries[b];
            const size_t starts[] = {bd - 1, bd, bd + 1, bd - n / 2, bd - n, bd - n + 1};
            for (k = 0; k < sizeof starts / sizeof starts[0]; k++) {
                size_t hole[1][2], idx = 0;
                hole[0][0] = starts[k];
                hole[0][1] = n;
                if (starts[k] == 0 || starts[k] > bd + 1 || starts[k] + n >= BIG_REGION_END) {
                    continue; /* chunk 0 stays used: the hole needs a used chunk before it */
                }
                CHECK_CTX("hole of %zu at %zu (boundary %zu)", n, starts[k], bd);
                if (!build_holes(&fx, (const size_t(*)[2])hole, 1)) {
                    break;
                }
                CHECK_EQ(stats_of(fx.h).largest_free_run, n > BIG_TAIL ? n : BIG_TAIL);
                if (n + 1 <= BIG_TAIL) {
                    CHECK_STATUS(bma_alloc_chunks(fx.h, n + 1, &idx), BMA_OK);
                    CHECK_EQ(idx, BIG_REGION_END + 1);
                } else {
                    CHECK_STATUS(bma_alloc_chunks(fx.h, n + 1, &idx), BMA_ENOMEM);
                }
                CHECK_STATUS(bma_alloc_chunks(fx.h, n, &idx), BMA_OK);
                CHECK_EQ(idx, starts[k]);
                CHECK_STATUS(bma_check(fx.h), BMA_OK);
            }
        }
    }
    fx_free(&fx);
}

/* Near misses first: a hole of n - 1 straddling each boundary, then the
 * real hole of n straddling a later one. n chunks skip every near miss;
 * then n - 1 chunks take the first near miss. */
static void large_heap_skips_near_miss_holes(void)
{
    heap_fx fx;
    size_t l;
    if (!fx_new(&fx, 1, BIG_CHUNKS)) {
        return;
    }
    for (l = 0; l < sizeof big_lengths / sizeof big_lengths[0] && CASE_OK(); l++) {
        size_t n = big_lengths[l], holes[16][2], nholes = 0, b, idx = 0, last_end = 1;
        if (n < 2 || n > 5000) {
            continue;
        }
        for (b = 0; b < sizeof big_boundaries / sizeof big_boundaries[0] - 1; b++) {
            size_t start = big_boundaries[b] - (n - 1) / 2;
            if (big_boundaries[b] <= (n - 1) / 2 || start <= last_end || start + n - 1 >= big_boundaries[b + 1]) {
                continue;
            }
            holes[nholes][0] = start;
            holes[nholes][1] = n - 1;
            last_end = start + n - 1;
            nholes++;
        }
        /* The real one straddles 65536. */
        holes[nholes][0] = 65536 - n / 2;
        holes[nholes][1] = n;
        if (holes[nholes][0] <= last_end || holes[nholes][0] + n >= BIG_REGION_END) {
            continue;
        }
        nholes++;
        CHECK_CTX("n %zu, %zu near misses", n, nholes - 1);
        if (!build_holes(&fx, (const size_t(*)[2])holes, nholes)) {
            break;
        }
        CHECK_STATUS(bma_alloc_chunks(fx.h, n + 1, &idx), BMA_OK);
        CHECK_EQ(idx, BIG_REGION_END + 1);
        CHECK_STATUS(bma_alloc_chunks(fx.h, n, &idx), BMA_OK);
        CHECK_EQ(idx, holes[nholes - 1][0]);
        if (nholes > 1) {
            CHECK_STATUS(bma_alloc_chunks(fx.h, n - 1, &idx), BMA_OK);
            CHECK_EQ(idx, holes[0][0]);
        }
        CHECK_STATUS(bma_check(fx.h), BMA_OK);
    }
    fx_free(&fx);
}

/* Allocating and freeing every chunk of a large heap one by one keeps the
 * lowest-index rule at every step, in both directions. */
static void large_heap_fills_and_drains_in_index_order(void)
{
    heap_fx fx;
    size_t i, idx = 0;
    const size_t n = 40000;
    if (!fx_new(&fx, 2, n)) {
        return;
    }
    for (i = 0; i < n && CASE_OK(); i++) {
        CHECK_STATUS(bma_alloc_chunks(fx.h, 1, &idx), BMA_OK);
        CHECK_EQ(idx, i);
    }
    CHECK_STATUS(bma_alloc_chunks(fx.h, 1, &idx), BMA_ENOMEM);
    /* Free every other chunk from the end: each single chunk is reused at
     * the lowest free index, which is the one just freed. */
    for (i = n - 1; i > 0 && CASE_OK(); i -= 7) {
        CHECK_STATUS(bma_free_chunks(fx.h, i, 1), BMA_OK);
        CHECK_STATUS(bma_alloc_chunks(fx.h, 1, &idx), BMA_OK);
        CHECK_EQ(idx, i);
        CHECK_STATUS(bma_free_chunks(fx.h, i, 1), BMA_OK);
        if (i < 7) {
            break;
        }
    }
    CHECK_EQ(stats_of(fx.h).largest_free_run, 1);
    CHECK_STATUS(bma_alloc_chunks(fx.h, 2, &idx), BMA_ENOMEM);
    CHECK_STATUS(bma_alloc_chunks(fx.h, 1, &idx), BMA_OK);
    CHECK_EQ(idx, (n - 1) % 7);
    CHECK_STATUS(bma_check(fx.h), BMA_OK);
    fx_free(&fx);
}

/* Search hints (lib/bitmapalloc.c keeps one per size class) are kept only on
 * heaps of more than 32 bitmap words, so these tests use 40 words. */
#define HINTED_CHUNKS ((size_t)40 * 64)

/* A free that joins a free run ending in the previous word must lower the
 * hint of the merged run's size to that run's start, or the next search
 * starts past it. Chunks [0, 65) are taken one by one and then 6-chunk runs
 * up to the end, which raises the 6-chunk hint past word 0; [59, 64) is
 * freed, still too short for 6, and then chunk 64 makes it 6 across the word
 * boundary. */
static void regression_hint_lowered_to_a_run_in_the_previous_word(void)
{
    heap_fx fx;
    size_t i, idx = 0;
    if (!fx_new(&fx, 16, HINTED_CHUNKS)) {
        return;
    }
    for (i = 0; i < 65; i++) {
        CHECK_STATUS(bma_alloc_chunks(fx.h, 1, &idx), BMA_OK);
        CHECK_EQ(idx, i);
    }
    for (i = 65; i + 6 <= HINTED_CHUNKS; i += 6) {
        CHECK_STATUS(bma_alloc_chunks(fx.h, 6, &idx), BMA_OK);
        CHECK_EQ(idx, i);
    }
    for (i = 59; i < 64; i++) {
        CHECK_STATUS(bma_free_chunks(fx.h, i, 1), BMA_OK);
    }
    CHECK_STATUS(bma_alloc_chunks(fx.h, 6, &idx), BMA_ENOMEM); /* [59, 64) and the last 5 chunks hold 5 */
    CHECK_STATUS(bma_free_chunks(fx.h, 64, 1), BMA_OK);
    CHECK_STATUS(bma_alloc_chunks(fx.h, 6, &idx), BMA_OK);
    CHECK_EQ(idx, 59);
    CHECK_STATUS(bma_check(fx.h), BMA_OK);
    fx_free(&fx);
}

/* A hint is raised only by a successful unaligned search: an aligned one
 * passes over unaligned fits, and a failed one must change no byte. After
 * both, the plain request still finds the lowest fit. */
static void regression_hint_not_raised_past_unaligned_fits(void)
{
    heap_fx fx;
    size_t idx = 0;
    void *p = NULL;
    unsigned char *before;
    if (!fx_new(&fx, 16, HINTED_CHUNKS)) {
        return;
    }
    CHECK_STATUS(bma_alloc_chunks(fx.h, 1, &idx), BMA_OK); /* chunk 0 */
    CHECK_STATUS(bma_alloc(fx.h, 16, (size_t)16 * 128, &p),
                 BMA_OK); /* skips chunks 1.. to an aligned one, past word 0 */
    before = fx_snapshot(&fx);
    CHECK_STATUS(bma_alloc_chunks(fx.h, HINTED_CHUNKS, &idx), BMA_ENOMEM);
    CHECK_UNCHANGED(&fx, before);
    free(before);
    CHECK_STATUS(bma_alloc_chunks(fx.h, 1, &idx), BMA_OK);
    CHECK_EQ(idx, 1);
    CHECK_STATUS(bma_check(fx.h), BMA_OK);
    fx_free(&fx);
}

/* A heap of at most 32 words keeps no hints; one of 33 does. Both give the
 * lowest fit while holes open and close below the last fit. */
static void hints_or_none_on_either_side_of_32_words(void)
{
    const size_t sizes[] = {(size_t)32 * 64, (size_t)33 * 64};
    size_t k, i, idx = 0;
    for (k = 0; k < 2; k++) {
        heap_fx fx;
        if (!fx_new(&fx, 16, sizes[k])) {
            return;
        }
        for (i = 0; i + 3 <= sizes[k]; i += 3) {
            CHECK_STATUS(bma_alloc_chunks(fx.h, 3, &idx), BMA_OK);
            CHECK_EQ(idx, i);
        }
        for (i = sizes[k] / 2; i > 0; i -= 300) { /* holes from the middle down */
            size_t at = i - i % 3;
            CHECK_STATUS(bma_free_chunks(fx.h, at, 3), BMA_OK);
            CHECK_STATUS(bma_alloc_chunks(fx.h, 2, &idx), BMA_OK);
            CHECK_EQ(idx, at);
            CHECK_STATUS(bma_alloc_chunks(fx.h, 1, &idx), BMA_OK);
            CHECK_EQ(idx, at + 2);
            CHECK_STATUS(bma_free_chunks(fx.h, at, 2), BMA_OK);
            if (i < 300) {
                break;
            }
        }
        CHECK_STATUS(bma_check(fx.h), BMA_OK);
        fx_free(&fx);
    }
}

int main(void)
{
    RUN(in_word_runs_every_length_and_start);
    RUN(runs_straddling_word_boundaries);
    RUN(two_chunk_run_at_63_64);
    RUN(sixty_four_chunk_run_at_60_123);
    RUN(runs_over_64_chunks_not_at_start);
    RUN(exact_multiples_of_64);
    RUN(request_larger_than_heap_is_enomem_and_changes_nothing);
    RUN(regression_huge_size_wraps_to_small_chunk_count);
    RUN(reuse_after_free_returns_same_index);
    RUN(uint32_arrays_via_alloc_array_macro);
    RUN(wider_element_types_via_alloc_array_macro);
    RUN(large_heap_single_holes_across_index_boundaries);
    RUN(large_heap_skips_near_miss_holes);
    RUN(large_heap_fills_and_drains_in_index_order);
    RUN(regression_hint_lowered_to_a_run_in_the_previous_word);
    RUN(regression_hint_not_raised_past_unaligned_fits);
    RUN(hints_or_none_on_either_side_of_32_words);
    return check_finish("placement");
}

/* geometry: bma_buffer_size and bma_init. Sizes agree with each other for
 * chunk sizes 1..4096 and buffers from a few bytes to several MiB, including
 * chunk counts that leave the last bitmap word partly used; bad arguments and
 * buffers too small for one chunk are refused without touching the buffer;
 * size computations near SIZE_MAX report BMA_EOVERFLOW instead of wrapping. */
#include "util.h"

#include <limits.h>

#define NUM_CHUNK_SIZES 13 /* 1, 2, 4, ..., 4096 */

static size_t chunk_size_at(size_t k) { return (size_t)1 << k; }

/* bma_buffer_size(cs, cs): the smallest buffer bma_init accepts. */
static size_t min_buffer(size_t cs)
{
    size_t n = 0;
    CHECK_STATUS(bma_buffer_size(cs, cs, &n), BMA_OK);
    return n;
}

/* bma_buffer_size(cs, chunks * cs), or SIZE_MAX on EOVERFLOW. */
static size_t size_for_chunks(size_t cs, size_t chunks)
{
    size_t n = 0;
    bma_status s;
    if (chunks > SIZE_MAX / cs) {
        return SIZE_MAX;
    }
    s = bma_buffer_size(cs, chunks * cs, &n);
    if (s == BMA_EOVERFLOW) {
        return SIZE_MAX;
    }
    CHECK_STATUS(s, BMA_OK);
    return n;
}

/* Inits a heap on buf[0, size) (buf filled with fill beforehand) and checks
 * everything the contract says about the result. Returns the chunk count, 0
 * if init refused. */
static size_t init_and_check(unsigned char *buf, size_t size, size_t cs, int fill, int check_bytes)
{
    bma_heap *h = (bma_heap *)&size;
    bma_stats st;
    bma_status s = bma_init(buf, size, cs, &h);
    size_t idx = 0, i, min = min_buffer(cs);
    if (size < min) {
        CHECK_STATUS(s, BMA_ENOMEM);
        CHECK_PTR_EQ(h, &size);
        if (check_bytes) {
            for (i = 0; i < size && buf[i] == (unsigned char)fill; i++) {
            }
            CHECK_MSG(i == size, "refused init wrote byte %zu of %zu", i, size);
        }
        return 0;
    }
    if (!CHECK_STATUS(s, BMA_OK) || !CHECK_PTR_EQ(h, buf)) {
        return 0;
    }
    st = stats_of(h);
    CHECK_EQ(st.chunk_size, cs);
    CHECK(st.chunk_count >= 1);
    CHECK_EQ(st.chunks_offset % cs, 0);
    CHECK_EQ(st.metadata_bytes, st.chunks_offset);
    CHECK_EQ(st.buffer_size, st.chunks_offset + st.chunk_count * cs);
    CHECK(st.buffer_size <= size);
    CHECK_EQ(st.free_chunks, st.chunk_count);
    CHECK_EQ(st.used_chunks, 0);
    CHECK_EQ(st.live_allocations, 0);
    CHECK_EQ(st.largest_free_run, st.chunk_count);
    /* As many chunks as fit: the buffer for these chunks fits, one more does not. */
    CHECK(size_for_chunks(cs, st.chunk_count) <= size);
    CHECK_EQ(size_for_chunks(cs, st.chunk_count), st.buffer_size);
    CHECK(size_for_chunks(cs, st.chunk_count + 1) > size);
    if (check_bytes) {
        /* Init never touches chunk bytes, nor anything past the heap. */
        CHECK_STATUS(bma_detach(h), BMA_OK);
        for (i = st.chunks_offset; i < size && buf[i] == (unsigned char)fill; i++) {
        }
        CHECK_MSG(i == size, "init wrote byte %zu (chunks start at %zu, buffer is %zu)", i, st.chunks_offset, size);
    }
    /* Every chunk is usable, including those in a partial last bitmap word. */
    CHECK_STATUS(bma_alloc_chunks(h, st.chunk_count, &idx), BMA_OK);
    CHECK_EQ(idx, 0);
    CHECK_STATUS(bma_alloc_chunks(h, 1, &idx), BMA_ENOMEM);
    CHECK_STATUS(bma_check(h), BMA_OK);
    CHECK_STATUS(bma_free_chunks(h, 0, st.chunk_count), BMA_OK);
    CHECK_STATUS(bma_alloc_chunks(h, 1, &idx), BMA_OK);
    CHECK_EQ(idx, 0);
    CHECK_STATUS(bma_alloc_chunks(h, st.chunk_count, &idx), BMA_ENOMEM);
    CHECK_STATUS(bma_check(h), BMA_OK);
    CHECK_STATUS(bma_detach(h), BMA_OK);
    return st.chunk_count;
}

/* bma_buffer_size(cs, capacity) is the smallest buffer whose heap holds at
 * least capacity bytes: init on it gives enough chunks and wastes no byte,
 * and init on one byte less gives too few (or refuses). */
static void check_buffer_size_round_trip(size_t cs, size_t capacity)
{
    size_t size = 0, need = ceil_div(capacity, cs), got;
    unsigned char *buf;
    CHECK_CTX("cs %zu capacity %zu", cs, capacity);
    if (!CHECK_STATUS(bma_buffer_size(cs, capacity, &size), BMA_OK)) {
        return;
    }
    CHECK(size >= need * cs);
    buf = xmalloc(size);
    memset(buf, 0x3C, size);
    got = init_and_check(buf, size, cs, 0x3C, size <= (1u << 20));
    CHECK(got >= need);
    free(buf);
    if (size > 0) {
        buf = xmalloc(size - 1);
        got = init_and_check(buf, size - 1, cs, 0x3C, 0);
        CHECK_MSG(got < need, "a buffer one byte smaller than bma_buffer_size(%zu, %zu) = %zu still holds %zu chunks",
                  cs, capacity, size, got);
        free(buf);
    }
}

static void buffer_size_is_the_smallest_buffer_that_holds_capacity(void)
{
    size_t k, cap;
    for (k = 0; k < NUM_CHUNK_SIZES && CASE_OK(); k++) {
        size_t cs = chunk_size_at(k);
        /* Every capacity up to 300 bytes, and up to 130 chunks. */
        for (cap = 1; cap <= 300; cap++) {
            check_buffer_size_round_trip(cs, cap);
        }
        for (cap = 1; cap <= 130; cap++) {
            check_buffer_size_round_trip(cs, cap * cs);
            if (cs > 1) {
                check_buffer_size_round_trip(cs, cap * cs - 1);
            }
        }
        /* Sampled up to several MiB: powers of two and their neighbours. */
        for (cap = 512; cap <= ((size_t)6 << 20); cap *= 2) {
            check_buffer_size_round_trip(cs, cap - 1);
            check_buffer_size_round_trip(cs, cap);
            check_buffer_size_round_trip(cs, cap + 1);
            check_buffer_size_round_trip(cs, cap + 63 * cs);
        }
    }
}

/* bma_init for every buffer size from 0 to a few chunks past the smallest
 * heap, then sampled sizes up to 8 MiB, for every chunk size 1..4096. */
static void init_accepts_every_buffer_size_from_tiny_to_mib(void)
{
    size_t k, size, j;
    for (k = 0; k < NUM_CHUNK_SIZES && CASE_OK(); k++) {
        size_t cs = chunk_size_at(k), min = min_buffer(cs), prev = 0;
        size_t limit = cs <= 64 ? min + 200 * cs + 64 : min + 2 * cs + 64;
        for (size = 0; size <= limit; size++) {
            unsigned char *buf = xmalloc(size);
            size_t got;
            CHECK_CTX("cs %zu size %zu", cs, size);
            memset(buf, 0xC3, size);
            got = init_and_check(buf, size, cs, 0xC3, 1);
            CHECK(got >= prev); /* more bytes never give fewer chunks */
            prev = got;
            free(buf);
        }
        /* Around chunk counts that fill 1, 2 and 3 bitmap words and one more. */
        for (j = 60; j <= 200; j++) {
            size_t exact = size_for_chunks(cs, j);
            /* One byte short holds one chunk fewer; up to cs - 1 bytes more
             * hold no extra chunk. */
            size_t tries[] = {exact - 1, exact, exact + cs / 2, exact + cs - 1};
            size_t t;
            for (t = 0; t < sizeof tries / sizeof tries[0]; t++) {
                unsigned char *buf = xmalloc(tries[t]);
                size_t got;
                CHECK_CTX("cs %zu size %zu (around %zu chunks)", cs, tries[t], j);
                memset(buf, 0xC3, tries[t]);
                got = init_and_check(buf, tries[t], cs, 0xC3, 1);
                CHECK_EQ(got, t == 0 ? j - 1 : j);
                free(buf);
            }
        }
        /* Several MiB, with odd tails. */
        for (size = (size_t)1 << 20; size <= ((size_t)8 << 20); size += (size_t)7 << 18) {
            size_t tails[] = {0, 1, 8, cs - 1, cs + 8, 777};
            size_t t;
            for (t = 0; t < sizeof tails / sizeof tails[0]; t++) {
                unsigned char *buf = xmalloc(size + tails[t]);
                CHECK_CTX("cs %zu size %zu", cs, size + tails[t]);
                init_and_check(buf, size + tails[t], cs, 0, 0);
                free(buf);
            }
        }
    }
}

/* Any buffer below bma_buffer_size(cs, cs) is ENOMEM and not written; exactly
 * that size gives one chunk. */
static void init_below_one_chunk_heap_is_enomem_and_buffer_unchanged(void)
{
    size_t k, size;
    for (k = 0; k < NUM_CHUNK_SIZES && CASE_OK(); k++) {
        size_t cs = chunk_size_at(k), min = min_buffer(cs), idx = 0;
        unsigned char *buf;
        bma_heap *h = NULL;
        for (size = 0; size < min; size++) {
            CHECK_CTX("cs %zu size %zu (min %zu)", cs, size, min);
            buf = xmalloc(size);
            memset(buf, 0x77, size);
            CHECK_EQ(init_and_check(buf, size, cs, 0x77, 1), 0);
            free(buf);
        }
        CHECK_CTX("cs %zu size %zu (min)", cs, min);
        buf = xmalloc(min);
        if (CHECK_STATUS(bma_init(buf, min, cs, &h), BMA_OK)) {
            bma_stats st = stats_of(h);
            CHECK_EQ(st.chunk_count, 1);
            CHECK_EQ(st.buffer_size, min);
            CHECK_STATUS(bma_alloc_chunks(h, 1, &idx), BMA_OK);
            CHECK_EQ(idx, 0);
            memset(bma_chunk_ptr(h, 0), 0xEE, cs); /* the whole chunk is inside the buffer */
            CHECK_STATUS(bma_alloc_chunks(h, 1, &idx), BMA_ENOMEM);
            CHECK_PTR_EQ(bma_chunk_ptr(h, 1), NULL);
            bma_detach(h);
        }
        free(buf);
    }
}

/* Larger chunk sizes than the usual range keep the chunk region aligned. */
static void large_chunk_sizes_keep_chunk_region_aligned(void)
{
    size_t cs;
    for (cs = 8192; cs <= ((size_t)1 << 20); cs *= 4) {
        size_t size = 0;
        unsigned char *buf;
        CHECK_CTX("cs %zu", cs);
        if (!CHECK_STATUS(bma_buffer_size(cs, 3 * cs, &size), BMA_OK)) {
            continue;
        }
        CHECK_EQ(size, 4 * cs); /* metadata rounds up to one chunk */
        buf = xmalloc(size);
        CHECK_EQ(init_and_check(buf, size, cs, 0, 0), 3);
        free(buf);
    }
}

/* The largest capacity bma_buffer_size accepts for cs (binary search: the
 * true size only grows with the capacity); 0 if even one byte overflows. */
static size_t largest_capacity(size_t cs)
{
    size_t lo = 0, hi = SIZE_MAX, out = 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2 + 1;
        if (bma_buffer_size(cs, mid, &out) == BMA_OK) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    return lo;
}

/* Regression guard: ceil(capacity / cs) as (capacity + cs - 1) / cs, or the
 * byte total, wraps around for capacities near SIZE_MAX and yields a small,
 * wrong buffer size. Near SIZE_MAX the answer must be BMA_EOVERFLOW, and every
 * accepted answer must be at least the capacity. */
static void regression_buffer_size_wraps_near_size_max(void)
{
    size_t k;
    for (k = 0; k < sizeof(size_t) * CHAR_BIT; k++) {
        size_t cs = (size_t)1 << k, cmax, out = 4242, prev = 0, d;
        CHECK_CTX("cs 2^%zu", k);
        CHECK_STATUS(bma_buffer_size(cs, SIZE_MAX, &out), BMA_EOVERFLOW);
        if (cs > 1) {
            CHECK_STATUS(bma_buffer_size(cs, SIZE_MAX - cs + 2, &out), BMA_EOVERFLOW);
        }
        CHECK_EQ(out, 4242);
        {
            /* About SIZE_MAX / 2 bytes of chunks still fit next to the metadata,
             * except when the metadata rounds up to a chunk of a quarter of SIZE_MAX. */
            size_t half = 0;
            bma_status s = bma_buffer_size(cs, SIZE_MAX / 2 + 2, &half);
            CHECK_STATUS(s, cs >= SIZE_MAX / 4 + 1 ? BMA_EOVERFLOW : BMA_OK);
            if (s == BMA_OK) {
                CHECK(half >= SIZE_MAX / 2 + 2);
            }
        }
        cmax = largest_capacity(cs);
        if (cs >= SIZE_MAX / 2 + 1) {
            CHECK_EQ(cmax, 0); /* one chunk of half of SIZE_MAX plus metadata rounded to another */
            continue;
        }
        CHECK(cmax >= SIZE_MAX / 4);
        CHECK_STATUS(bma_buffer_size(cs, cmax + 1, &out), BMA_EOVERFLOW);
        /* Just below the limit every answer is valid, covers the capacity
         * and never shrinks as the capacity grows. */
        for (d = 64; d-- > 0;) {
            size_t cap = cmax - d;
            if (!CHECK_STATUS(bma_buffer_size(cs, cap, &out), BMA_OK)) {
                break;
            }
            CHECK(out >= cap);
            CHECK(out >= prev);
            CHECK(out >= ceil_div(cap, cs) * cs); /* the chunks alone fit in it */
            prev = out;
        }
        /* The answer depends only on the chunk count. */
        {
            size_t a = 0, b = 0, cap = cmax / 3;
            CHECK_STATUS(bma_buffer_size(cs, cap, &a), BMA_OK);
            CHECK_STATUS(bma_buffer_size(cs, ceil_div(cap, cs) * cs, &b), BMA_OK);
            CHECK_EQ(a, b);
            CHECK(a >= ceil_div(cap, cs) * cs);
        }
    }
}

/* chunk_size 0 or not a power of two, capacity 0 and a NULL result are
 * EINVAL; nothing is written. */
static void buffer_size_rejects_bad_arguments(void)
{
    const size_t bad[] = {
        0, 3, 5, 6, 7, 12, 24, 100, 4095, 4097, 12288, SIZE_MAX, SIZE_MAX / 2, (SIZE_MAX / 2 + 1) + 1, SIZE_MAX >> 24};
    size_t k, out;
    for (k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        out = 99;
        CHECK_CTX("cs %zu", bad[k]);
        CHECK_STATUS(bma_buffer_size(bad[k], 4096, &out), BMA_EINVAL);
        CHECK_STATUS(bma_buffer_size(bad[k], 1, &out), BMA_EINVAL);
        CHECK_EQ(out, 99);
    }
    CHECK_CTX_CLEAR();
    out = 99;
    CHECK_STATUS(bma_buffer_size(64, 0, &out), BMA_EINVAL);
    CHECK_STATUS(bma_buffer_size(1, 0, &out), BMA_EINVAL);
    CHECK_EQ(out, 99);
    CHECK_STATUS(bma_buffer_size(64, 4096, NULL), BMA_EINVAL);
    CHECK_STATUS(bma_buffer_size(3, 4096, NULL), BMA_EINVAL);
}

/* chunk_size 0 or not a power of two, NULL buf or out, and a buffer that is
 * not BMA_BUFFER_ALIGN-aligned are EINVAL; nothing is written. */
static void init_rejects_bad_arguments(void)
{
    const size_t bad[] = {0, 3, 6, 24, 100, 4097, SIZE_MAX};
    const size_t size = 8192;
    unsigned char *buf = xmalloc(size), *pristine = xmalloc(size);
    bma_heap *h = (bma_heap *)pristine, *h2 = NULL;
    size_t k, off;
    memset(buf, 0x42, size);
    memcpy(pristine, buf, size);
    for (k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        CHECK_CTX("cs %zu", bad[k]);
        CHECK_STATUS(bma_init(buf, size, bad[k], &h), BMA_EINVAL);
        CHECK_PTR_EQ(h, pristine);
        CHECK_EQ(first_diff(buf, pristine, size), size);
    }
    CHECK_CTX_CLEAR();
    CHECK_STATUS(bma_init(NULL, size, 64, &h), BMA_EINVAL);
    CHECK_STATUS(bma_init(NULL, 0, 64, &h), BMA_EINVAL);
    CHECK_STATUS(bma_init(buf, size, 64, NULL), BMA_EINVAL);
    CHECK_PTR_EQ(h, pristine);
    CHECK_EQ(first_diff(buf, pristine, size), size);
    for (off = 1; off < BMA_BUFFER_ALIGN; off++) {
        CHECK_CTX("buf + %zu", off);
        CHECK_STATUS(bma_init(buf + off, size - off, 64, &h), BMA_EINVAL);
        CHECK_STATUS(bma_init(buf + off, size - off, 1, &h), BMA_EINVAL);
        CHECK_PTR_EQ(h, pristine);
        CHECK_EQ(first_diff(buf, pristine, size), size);
    }
    CHECK_CTX_CLEAR();
    /* BMA_BUFFER_ALIGN is enough. */
    CHECK_STATUS(bma_init(buf + BMA_BUFFER_ALIGN, size - BMA_BUFFER_ALIGN, 64, &h2), BMA_OK);
    CHECK_PTR_EQ(h2, buf + BMA_BUFFER_ALIGN);
    CHECK_STATUS(bma_check(h2), BMA_OK);
    if (h2 != NULL) {
        bma_detach(h2);
    }
    /* A chunk of 2^63 bytes is a power of two: valid, but never fits. */
    CHECK_STATUS(bma_init(buf, size, SIZE_MAX / 2 + 1, &h), BMA_ENOMEM);
    free(buf);
    free(pristine);
}

/* bma_init on a live heap starts over: every chunk free again. */
static void init_over_a_used_heap_empties_it(void)
{
    heap_fx fx;
    size_t idx = 0;
    if (!fx_new(&fx, 32, 100)) {
        return;
    }
    CHECK_STATUS(bma_alloc_chunks(fx.h, 70, &idx), BMA_OK);
    CHECK_STATUS(bma_alloc_chunks(fx.h, 7, &idx), BMA_OK);
    CHECK(fx_reset(&fx));
    CHECK_EQ(stats_of(fx.h).free_chunks, 100);
    CHECK_EQ(stats_of(fx.h).live_allocations, 0);
    CHECK_STATUS(bma_alloc_chunks(fx.h, 100, &idx), BMA_OK);
    CHECK_EQ(idx, 0);
    fx_free(&fx);
}

int main(void)
{
    RUN(buffer_size_is_the_smallest_buffer_that_holds_capacity);
    RUN(init_accepts_every_buffer_size_from_tiny_to_mib);
    RUN(init_below_one_chunk_heap_is_enomem_and_buffer_unchanged);
    RUN(large_chunk_sizes_keep_chunk_region_aligned);
    RUN(regression_buffer_size_wraps_near_size_max);
    RUN(buffer_size_rejects_bad_arguments);
    RUN(init_rejects_bad_arguments);
    RUN(init_over_a_used_heap_empties_it);
    return check_finish("geometry");
}

/* capacity: heaps sized by bma_buffer_size hold what was asked, hand out
 * nothing outside their buffer, and reserve no more than they need.
 *
 * The buffers are malloc'd at exactly the size bma_buffer_size returns
 * (malloc is 16-aligned, more than BMA_BUFFER_ALIGN), so under AddressSanitizer
 * any slice that runs past the buffer is reported when it is memset. */
#include "util.h"

#define MAX_CAPACITY_CHUNKS 200u

typedef struct slice {
    unsigned char *p;
    size_t n;
} slice;

static int slice_cmp(const void *a, const void *b)
{
    const slice *x = a, *y = b;
    return x->p < y->p ? -1 : x->p > y->p;
}

/* An upper bound on the metadata of a heap of count chunks: a header of at
 * most 320 bytes, two bitmaps, at most one more bitmap's worth of index, and
 * less than one chunk of padding. Reserving chunk_size times the bitmaps (the
 * original's bug) exceeds it for every chunk size above 2. */
static size_t metadata_bound(size_t cs, size_t count)
{
    size_t words = ceil_div(count, 64);
    return 320 + (size_t)3 * 8 * words + cs;
}

/* One heap of capacity bytes: allocate until ENOMEM (mixed sizes, then single
 * chunks), fill every slice completely, and check that the slices are inside
 * the buffer, disjoint, and cover every chunk. */
static void fill_heap_of_capacity(size_t cs, size_t capacity)
{
    size_t size = 0, want = ceil_div(capacity, cs), n = 0, i, used = 0;
    const size_t mix[] = {1, cs, cs + 1, 3 * cs - 1, 2 * cs, 5 * cs};
    unsigned char *buf;
    bma_heap *h = NULL;
    bma_stats st;
    slice *s;
    void *p;
    if (!CHECK_STATUS(bma_buffer_size(cs, capacity, &size), BMA_OK)) {
        return;
    }
    buf = xmalloc(size);
    if (!CHECK_STATUS(bma_init(buf, size, cs, &h), BMA_OK)) {
        free(buf);
        return;
    }
    st = stats_of(h);
    /* Holds at least capacity bytes, and not over-reserved. */
    CHECK(st.chunk_count >= want);
    CHECK_EQ(st.buffer_size, size);
    CHECK_EQ(st.chunks_offset + st.chunk_count * cs, size);
    CHECK_EQ(st.metadata_bytes, st.chunks_offset);
    CHECK_MSG(st.metadata_bytes < metadata_bound(cs, st.chunk_count),
              "metadata %zu bytes for %zu chunks of %zu, bound %zu", st.metadata_bytes, st.chunk_count, cs,
              metadata_bound(cs, st.chunk_count));

    s = xmalloc((st.chunk_count + 1) * sizeof *s);
    for (i = 0;; i++) {
        size_t req = mix[i % (sizeof mix / sizeof mix[0])];
        p = NULL;
        if (bma_alloc(h, req, 0, &p) != BMA_OK) {
            break;
        }
        s[n].p = p;
        s[n].n = bma_usable_size(h, p);
        CHECK_EQ(s[n].n, ceil_div(req, cs) * cs);
        n++;
    }
    for (;;) {
        bma_status r = bma_alloc(h, 1, 0, &p);
        if (r != BMA_OK) {
            CHECK_STATUS(r, BMA_ENOMEM);
            break;
        }
        s[n].p = p;
        s[n].n = bma_usable_size(h, p);
        CHECK_EQ(s[n].n, cs);
        n++;
    }
    /* Fill each slice completely: ASan reports any byte outside the buffer or
     * in a chunk the heap considers free. */
    for (i = 0; i < n; i++) {
        memset(s[i].p, (int)(i & 0xFF), s[i].n);
        used += s[i].n;
    }
    CHECK_EQ(used, st.chunk_count * cs);
    st = stats_of(h);
    CHECK_EQ(st.free_chunks, 0);
    CHECK_EQ(st.live_allocations, n);
    qsort(s, n, sizeof *s, slice_cmp);
    for (i = 0; i < n; i++) {
        size_t j;
        CHECK(s[i].p >= buf + st.chunks_offset);
        CHECK(s[i].p + s[i].n <= buf + size);
        if (i > 0) {
            CHECK(s[i].p >= s[i - 1].p + s[i - 1].n);
        }
        /* Contents survived every later memset: no slice overlaps another. */
        for (j = 1; j < s[i].n && s[i].p[j] == s[i].p[0]; j++) {
        }
        CHECK_EQ(j >= s[i].n, 1);
    }
    for (i = 0; i < n; i++) {
        CHECK_STATUS(bma_free(h, s[i].p), BMA_OK);
    }
    CHECK_EQ(stats_of(h).free_chunks, st.chunk_count);
    CHECK_STATUS(bma_check(h), BMA_OK);
    bma_detach(h);
    free(s);
    free(buf);
}

/* Original test: chunk sizes 1..4096, capacities of 1..200 chunks (and a
 * partial last chunk), exact-size buffers, filled to ENOMEM. */
static void small_capacities_never_run_past_the_buffer(void)
{
    size_t cs, k;
    for (cs = 1; cs <= 4096 && CASE_OK(); cs *= 2) {
        for (k = 1; k <= MAX_CAPACITY_CHUNKS && CASE_OK(); k++) {
            CHECK_CTX("cs %zu capacity %zu chunks", cs, k);
            fill_heap_of_capacity(cs, k * cs);
            if (cs > 1) {
                CHECK_CTX("cs %zu capacity %zu chunks - %zu bytes", cs, k, cs / 2);
                fill_heap_of_capacity(cs, k * cs - cs / 2);
            }
        }
    }
}

/* Regression: the original reserved the bitmap bytes once per byte of a
 * chunk, so a heap of 4096-byte chunks wasted megabytes. The buffer for n
 * chunks is the chunks plus small metadata, rounded up to one chunk. */
static void regression_metadata_reserved_chunk_size_times_over(void)
{
    const size_t counts[] = {1, 64, 65, 1000, 4096, 100000};
    size_t k, cs;
    for (cs = 1; cs <= 4096; cs *= 2) {
        for (k = 0; k < sizeof counts / sizeof counts[0]; k++) {
            size_t size = 0, n = counts[k];
            CHECK_CTX("cs %zu, %zu chunks", cs, n);
            if (!CHECK_STATUS(bma_buffer_size(cs, n * cs, &size), BMA_OK)) {
                continue;
            }
            CHECK(size >= n * cs);
            CHECK_MSG(size - n * cs < metadata_bound(cs, n), "buffer %zu = %zu chunk bytes + %zu, bound %zu", size,
                      n * cs, size - n * cs, metadata_bound(cs, n));
            /* The metadata is a multiple of chunk_size and less than one
             * chunk beyond the real need; for chunk sizes above the bound
             * that is exactly one chunk. */
            CHECK_EQ((size - n * cs) % cs, 0);
            if (cs >= metadata_bound(1, n)) {
                CHECK_EQ(size - n * cs, cs);
            }
        }
    }
}

/* One large heap: capacity is honoured at the MiB scale too. */
static void large_capacity_holds_every_requested_byte(void)
{
    const size_t cs = 64, capacity = ((size_t)3 << 20) + 123;
    size_t size = 0, idx = 0, want = ceil_div(capacity, cs);
    unsigned char *buf, *p;
    bma_heap *h = NULL;
    if (!CHECK_STATUS(bma_buffer_size(cs, capacity, &size), BMA_OK)) {
        return;
    }
    buf = xmalloc(size);
    if (!CHECK_STATUS(bma_init(buf, size, cs, &h), BMA_OK)) {
        free(buf);
        return;
    }
    CHECK_EQ(stats_of(h).chunk_count, want);
    CHECK_STATUS(bma_alloc_chunks(h, want, &idx), BMA_OK);
    CHECK_EQ(idx, 0);
    p = bma_chunk_ptr(h, 0);
    memset(p, 0x5A, want * cs);
    CHECK_PTR_EQ(p + want * cs, buf + size);
    CHECK_STATUS(bma_free_chunks(h, 0, want), BMA_OK);
    bma_detach(h);
    free(buf);
}

int main(void)
{
    RUN(small_capacities_never_run_past_the_buffer);
    RUN(regression_metadata_reserved_chunk_size_times_over);
    RUN(large_capacity_holds_every_requested_byte);
    return check_finish("capacity");
}

/* attach: bma_attach accepts a consistent heap and rejects a corrupt one with
 * BMA_ECORRUPT, never crashing and never writing to the buffer.
 *
 * The tests do not know the private layout. They find the bitmaps by
 * experiment: the metadata is the first stats.metadata_bytes bytes, and the
 * bytes that change when known chunks are allocated are the bitmap bytes of
 * those chunks. Only the public header's statement that the bitmaps are W
 * 64-bit words (chunk i at bit i % 64 of word i / 64, stored as this machine
 * stores a uint64_t) is assumed, and it is verified chunk by chunk. */
#include "util.h"

/* --------------------------------------------------------- helpers */

/* A copy of the heap's first n bytes in a buffer of exactly n bytes (the
 * source is detached first so that free chunks may be read). */
static unsigned char *copy_prefix(heap_fx *fx, size_t n)
{
    unsigned char *c = xmalloc(n);
    CHECK_STATUS(bma_detach(fx->h), BMA_OK);
    memcpy(c, fx->buf, n < fx->size ? n : fx->size);
    return c;
}

/* bma_attach on an exact copy of the heap: returns the status, and checks
 * that attach wrote nothing and that a refused attach wrote no handle. */
static bma_status attach_copy(heap_fx *fx, size_t buf_size)
{
    unsigned char *c = copy_prefix(fx, buf_size), *ref = copy_prefix(fx, buf_size);
    bma_heap *h = (bma_heap *)ref;
    bma_status s = bma_attach(c, buf_size, &h);
    if (s == BMA_OK) {
        CHECK_PTR_EQ(h, c);
        CHECK_STATUS(bma_detach(h), BMA_OK);
    } else {
        CHECK_PTR_EQ(h, ref);
    }
    CHECK_MSG(first_diff(c, ref, buf_size) == buf_size, "attach wrote byte %zu", first_diff(c, ref, buf_size));
    free(c);
    free(ref);
    return s;
}

/* Where the bitmaps are, found by experiment on a heap of N chunks. */
typedef struct bitmap_map {
    size_t free_off, start_off, words;
} bitmap_map;

static int bit_of(const unsigned char *m, size_t off, size_t i) { return (m[off + i / 8] >> (i % 8)) & 1; }

/* Bytes in [0, n) where a == from and b == to. Returns how many; *first gets
 * the lowest such offset. */
static size_t bytes_changed(const unsigned char *a, const unsigned char *b, size_t n, int from, int to, size_t *first)
{
    size_t i, count = 0;
    *first = SIZE_MAX;
    for (i = 0; i < n; i++) {
        if (a[i] == (unsigned char)from && b[i] == (unsigned char)to) {
            if (count++ == 0) {
                *first = i;
            }
        }
    }
    return count;
}

/* Finds the free bitmap (bytes that go 0xFF -> 0x00 when one allocation
 * takes the whole heap) and the start bitmap (bytes that go 0x00 -> 0xFF when
 * every chunk is a one-chunk allocation), then checks, for every chunk i in
 * turn, that allocating it clears exactly bit i of the first and sets exactly
 * bit i of the second. Leaves the heap empty. fx->st.chunk_count must be a
 * multiple of 8. */
static int find_bitmaps(heap_fx *fx, bitmap_map *m)
{
    size_t n = fx->st.chunk_count, md = fx->st.metadata_bytes, idx = 0, i, j;
    unsigned char *fresh = xmalloc(md), *before = xmalloc(md), *after = xmalloc(md);
    int ok = 1;
    m->words = ceil_div(n, 64);
    ok &= fx_reset(fx);
    memcpy(fresh, fx->buf, md); /* metadata is never poisoned */
    ok &= CHECK_STATUS(bma_alloc_chunks(fx->h, n, &idx), BMA_OK);
    memcpy(after, fx->buf, md);
    ok &= CHECK_EQ(bytes_changed(fresh, after, md, 0xFF, 0x00, &m->free_off), n / 8);
    ok &= fx_reset(fx);
    for (i = 0; i < n; i++) {
        ok &= CHECK_STATUS(bma_alloc_chunks(fx->h, 1, &idx), BMA_OK);
    }
    memcpy(after, fx->buf, md);
    ok &= CHECK_EQ(bytes_changed(fresh, after, md, 0x00, 0xFF, &m->start_off), n / 8);
    if (ok) {
        ok &= CHECK(m->free_off + 8 * m->words <= md && m->start_off + 8 * m->words <= md);
        ok &= CHECK(m->free_off + 8 * m->words <= m->start_off || m->start_off + 8 * m->words <= m->free_off);
    }
    ok &= fx_reset(fx);
    for (i = 0; i < n && ok; i++) {
        memcpy(before, fx->buf, md);
        ok &= CHECK_STATUS(bma_alloc_chunks(fx->h, 1, &idx), BMA_OK) && CHECK_EQ(idx, i);
        memcpy(after, fx->buf, md);
        for (j = 0; j < 64 * m->words && ok; j++) {
            CHECK_CTX("layout probe: chunk %zu, bitmap bit %zu", i, j);
            ok &= CHECK_EQ(bit_of(before, m->free_off, j), j >= n ? 0 : j >= i);
            ok &= CHECK_EQ(bit_of(after, m->free_off, j), j >= n ? 0 : j > i);
            ok &= CHECK_EQ(bit_of(before, m->start_off, j), j < i);
            ok &= CHECK_EQ(bit_of(after, m->start_off, j), j <= i);
        }
    }
    CHECK_CTX_CLEAR();
    ok &= fx_reset(fx);
    free(fresh);
    free(before);
    free(after);
    return ok;
}

/* A heap of 200 chunks of 16 bytes (4 words, the last one partly used):
 *   A [0, 3)  B [3, 4)  free [4, 10)  C [10, 75)  free [75, 130)  D [130, 131)  free [131, 200) */
#define N_CHUNKS 200u

static int build_base(heap_fx *fx)
{
    size_t idx = 0;
    int ok = fx_reset(fx);
    const size_t sizes[] = {3, 1, 6, 65, 55, 1};
    const size_t at[] = {0, 3, 4, 10, 75, 130};
    size_t k;
    for (k = 0; k < 6; k++) {
        ok &= CHECK_STATUS(bma_alloc_chunks(fx->h, sizes[k], &idx), BMA_OK) && CHECK_EQ(idx, at[k]);
    }
    ok &= CHECK_STATUS(bma_free_chunks(fx->h, 4, 6), BMA_OK);
    ok &= CHECK_STATUS(bma_free_chunks(fx->h, 75, 55), BMA_OK);
    ok &= CHECK_STATUS(bma_check(fx->h), BMA_OK);
    return ok;
}

/* Flips the bits mask of byte off in place: bma_check and bma_attach of a
 * copy must both say ECORRUPT; then restores it. */
static void expect_corrupt(heap_fx *fx, size_t off, unsigned mask, const char *what, size_t chunk)
{
    CHECK_CTX("%s, chunk %zu (byte %zu mask 0x%02x)", what, chunk, off, mask);
    fx->buf[off] ^= (unsigned char)mask;
    CHECK_STATUS(bma_check(fx->h), BMA_ECORRUPT);
    CHECK_STATUS(attach_copy(fx, fx->size), BMA_ECORRUPT);
    fx->buf[off] ^= (unsigned char)mask;
    CHECK_STATUS(bma_check(fx->h), BMA_OK);
    CHECK_CTX_CLEAR();
}

#define START_BIT(m, i) (m).start_off + (i) / 8, 1u << ((i) % 8)
#define FREE_BIT(m, i) (m).free_off + (i) / 8, 1u << ((i) % 8)

/* ------------------------------------------------------------ tests */

static void attach_accepts_a_fresh_and_a_busy_heap(void)
{
    heap_fx fx;
    bma_heap *h = NULL;
    bma_stats a, b;
    size_t idx = 0;
    if (!fx_new(&fx, 16, N_CHUNKS)) {
        return;
    }
    CHECK_STATUS(attach_copy(&fx, fx.size), BMA_OK);
    /* In place, on the buffer itself: the same handle, the same heap. */
    CHECK_STATUS(bma_attach(fx.buf, fx.size, &h), BMA_OK);
    CHECK_PTR_EQ(h, fx.h);
    if (!build_base(&fx)) {
        fx_free(&fx);
        return;
    }
    a = stats_of(fx.h);
    CHECK_STATUS(attach_copy(&fx, fx.size), BMA_OK);
    CHECK_STATUS(bma_attach(fx.buf, fx.size, &h), BMA_OK);
    CHECK_PTR_EQ(h, fx.buf);
    b = stats_of(h);
    CHECK_EQ(memcmp(&a, &b, sizeof a), 0);
    CHECK_STATUS(bma_alloc_chunks(h, 6, &idx), BMA_OK);
    CHECK_EQ(idx, 4);
    fx_free(&fx);
}

static void attach_rejects_null_and_misaligned_buffers(void)
{
    heap_fx fx;
    bma_heap *h = (bma_heap *)&fx;
    unsigned char *mem, *snap;
    size_t off;
    if (!fx_new(&fx, 16, 64)) {
        return;
    }
    snap = fx_snapshot(&fx);
    CHECK_STATUS(bma_attach(NULL, fx.size, &h), BMA_EINVAL);
    CHECK_STATUS(bma_attach(fx.buf, fx.size, NULL), BMA_EINVAL);
    /* A valid heap copied to a misaligned address. */
    mem = xmalloc(fx.size + BMA_BUFFER_ALIGN);
    for (off = 1; off < BMA_BUFFER_ALIGN; off++) {
        CHECK_CTX("buf + %zu", off);
        memcpy(mem + off, snap, fx.size);
        CHECK_STATUS(bma_attach(mem + off, fx.size, &h), BMA_EINVAL);
        CHECK_EQ(first_diff(mem + off, snap, fx.size), fx.size);
    }
    CHECK_CTX_CLEAR();
    memcpy(mem + BMA_BUFFER_ALIGN, snap, fx.size);
    CHECK_STATUS(bma_attach(mem + BMA_BUFFER_ALIGN, fx.size, &h), BMA_OK);
    CHECK_PTR_EQ(h, mem + BMA_BUFFER_ALIGN);
    bma_detach(h);
    CHECK_UNCHANGED(&fx, snap);
    free(mem);
    free(snap);
    fx_free(&fx);
}

/* Garbage is not a heap: zeros, all ones, random bytes, a heap's tail. */
static void attach_rejects_buffers_that_never_were_heaps(void)
{
    const size_t size = 4096;
    unsigned char *buf = xmalloc(size);
    bma_heap *h = (bma_heap *)buf;
    rng r = {77};
    size_t i, trial;
    memset(buf, 0, size);
    CHECK_STATUS(bma_attach(buf, size, &h), BMA_ECORRUPT);
    memset(buf, 0xFF, size);
    CHECK_STATUS(bma_attach(buf, size, &h), BMA_ECORRUPT);
    for (trial = 0; trial < 200; trial++) {
        for (i = 0; i < size; i++) {
            buf[i] = (unsigned char)rng_next(&r);
        }
        CHECK_CTX("random buffer %zu", trial);
        CHECK_STATUS(bma_attach(buf, size, &h), BMA_ECORRUPT);
    }
    CHECK_PTR_EQ(h, buf);
    free(buf);
}

/* The bytes that identify the format (the magic and the version): the
 * nonzero bytes at the start of the metadata that are identical in three
 * heaps of different geometry and state. Changing any of them is ECORRUPT. */
static void attach_rejects_wrong_magic_and_version(void)
{
    heap_fx fx[3];
    const size_t cs[3] = {16, 1, 4096}, n[3] = {64, 200, 130};
    const int fill[3] = {0xA5, 0x5A, 0x3C};
    size_t k, i, idx = 0, min_md = SIZE_MAX, ident = 0;
    for (k = 0; k < 3; k++) {
        if (!fx_new_ex(&fx[k], cs[k], n[k], 0, 0, fill[k])) {
            return;
        }
        if (fx[k].st.metadata_bytes < min_md) {
            min_md = fx[k].st.metadata_bytes;
        }
    }
    /* Three different states: empty; one allocation of everything; every
     * chunk its own allocation. */
    CHECK_STATUS(bma_alloc_chunks(fx[1].h, n[1], &idx), BMA_OK);
    for (i = 0; i < n[2]; i++) {
        CHECK_STATUS(bma_alloc_chunks(fx[2].h, 1, &idx), BMA_OK);
    }
    for (i = 0; i < min_md; i++) {
        const unsigned char b = fx[0].buf[i];
        const unsigned char repl[] = {(unsigned char)(b ^ 0x01), (unsigned char)(b ^ 0x80), 0x00, 0xFF};
        size_t t;
        if (b == 0 || fx[1].buf[i] != b || fx[2].buf[i] != b) {
            continue;
        }
        ident++;
        for (k = 0; k < 3; k++) {
            for (t = 0; t < sizeof repl; t++) {
                if (repl[t] == b) {
                    continue;
                }
                CHECK_CTX("format byte %zu: 0x%02x -> 0x%02x, heap %zu", i, b, repl[t], k);
                fx[k].buf[i] = repl[t];
                CHECK_STATUS(bma_check(fx[k].h), BMA_ECORRUPT);
                CHECK_STATUS(attach_copy(&fx[k], fx[k].size), BMA_ECORRUPT);
                fx[k].buf[i] = b;
            }
            CHECK_STATUS(bma_check(fx[k].h), BMA_OK);
        }
    }
    CHECK_CTX_CLEAR();
    printf("       %zu format-identifying bytes found and each one altered\n", ident);
    CHECK_MSG(ident >= 4, "only %zu format-identifying bytes found (expected a magic number and a version)", ident);
    for (k = 0; k < 3; k++) {
        fx_free(&fx[k]);
    }
}

/* A buf_size that cuts the heap short: every size from 0 to the heap's size
 * minus one is ECORRUPT. The copies are exactly that long, so a read past
 * buf_size is an ASan report. */
static void attach_rejects_every_truncated_size(void)
{
    const size_t cs[] = {16, 1, 256};
    const size_t n[] = {70, 200, 3};
    size_t k, s;
    for (k = 0; k < sizeof cs / sizeof cs[0]; k++) {
        heap_fx fx;
        size_t idx = 0;
        bma_heap *h = NULL;
        if (!fx_new(&fx, cs[k], n[k])) {
            return;
        }
        CHECK_STATUS(bma_alloc_chunks(fx.h, 2, &idx), BMA_OK);
        for (s = 0; s < fx.size; s++) {
            CHECK_CTX("cs %zu, heap of %zu bytes attached as %zu", cs[k], fx.size, s);
            CHECK_STATUS(attach_copy(&fx, s), BMA_ECORRUPT);
            CHECK_STATUS(bma_attach(fx.buf, s, &h), BMA_ECORRUPT);
        }
        CHECK_CTX_CLEAR();
        CHECK_STATUS(attach_copy(&fx, fx.size), BMA_OK);
        fx_free(&fx);
    }
}

/* Extra bytes after the heap are accepted and not used. */
static void attach_accepts_a_larger_buffer_and_ignores_the_extra(void)
{
    const size_t extra[] = {1, 7, 8, 15, 16, 17, 1000, 100000};
    heap_fx fx;
    size_t k, idx = 0;
    if (!fx_new(&fx, 16, 100) || !CHECK_STATUS(bma_alloc_chunks(fx.h, 7, &idx), BMA_OK)) {
        return;
    }
    for (k = 0; k < sizeof extra / sizeof extra[0]; k++) {
        size_t size = fx.size + extra[k];
        unsigned char *c = copy_prefix(&fx, size);
        bma_heap *h = NULL;
        bma_stats st;
        CHECK_CTX("%zu extra bytes", extra[k]);
        memset(c + fx.size, 0xEE, extra[k]);
        if (!CHECK_STATUS(bma_attach(c, size, &h), BMA_OK)) {
            free(c);
            continue;
        }
        st = stats_of(h);
        CHECK_EQ(st.chunk_count, 100);
        CHECK_EQ(st.buffer_size, fx.size);
        CHECK_EQ(st.used_chunks, 7);
        CHECK_STATUS(bma_alloc_chunks(h, 93, &idx), BMA_OK);
        CHECK_EQ(idx, 7);
        CHECK_STATUS(bma_alloc_chunks(h, 1, &idx), BMA_ENOMEM);
        CHECK_PTR_EQ(bma_chunk_ptr(h, 100), NULL);
        bma_detach(h);
        for (idx = fx.size; idx < size && c[idx] == 0xEE; idx++) {
        }
        CHECK_EQ(idx, size);
        free(c);
    }
    fx_free(&fx);
}

/* The contract's three bitmap corruptions, at bits found by experiment. */
static void attach_rejects_corrupt_bitmaps(void)
{
    heap_fx fx;
    bitmap_map m;
    size_t i;
    const size_t free_chunks[] = {4, 5, 9, 75, 76, 127, 128, 129, 131, 150, 192, 199};
    if (!fx_new(&fx, 16, N_CHUNKS)) {
        return;
    }
    if (!find_bitmaps(&fx, &m) || !build_base(&fx)) {
        fx_free(&fx);
        return;
    }
    /* A start bit on a free chunk. */
    for (i = 0; i < sizeof free_chunks / sizeof free_chunks[0]; i++) {
        expect_corrupt(&fx, START_BIT(m, free_chunks[i]), "start bit on a free chunk", free_chunks[i]);
    }
    /* A start chunk marked free (its start bit stays). */
    expect_corrupt(&fx, FREE_BIT(m, 0), "start chunk marked free", 0);
    expect_corrupt(&fx, FREE_BIT(m, 3), "start chunk marked free", 3);
    expect_corrupt(&fx, FREE_BIT(m, 130), "start chunk marked free", 130);
    /* A used chunk that no allocation starts: a free chunk after a free chunk
     * marked used, or the start bit of an allocation after a free chunk (or
     * at chunk 0) cleared. */
    for (i = 0; i < sizeof free_chunks / sizeof free_chunks[0]; i++) {
        if (free_chunks[i] != 4 && free_chunks[i] != 75 && free_chunks[i] != 131) {
            expect_corrupt(&fx, FREE_BIT(m, free_chunks[i]), "used chunk without a start", free_chunks[i]);
        }
    }
    expect_corrupt(&fx, START_BIT(m, 0), "allocation at 0 lost its start bit", 0);
    expect_corrupt(&fx, START_BIT(m, 10), "allocation after a free run lost its start bit", 10);
    expect_corrupt(&fx, START_BIT(m, 130), "allocation after a free run lost its start bit", 130);
    /* Free bits and start bits past chunk_count, in the partial last word. */
    for (i = N_CHUNKS; i < 64 * m.words; i++) {
        expect_corrupt(&fx, FREE_BIT(m, i), "free bit past chunk_count", i);
        expect_corrupt(&fx, START_BIT(m, i), "start bit past chunk_count", i);
    }
    /* The same past-the-end bits on a full heap and an empty one. */
    {
        size_t idx = 0;
        CHECK_STATUS(bma_alloc_chunks(fx.h, N_CHUNKS - 131, &idx), BMA_OK);
        CHECK_STATUS(bma_alloc_chunks(fx.h, 55, &idx), BMA_OK);
        CHECK_STATUS(bma_alloc_chunks(fx.h, 6, &idx), BMA_OK);
        CHECK_EQ(stats_of(fx.h).free_chunks, 0);
        expect_corrupt(&fx, FREE_BIT(m, N_CHUNKS), "free bit past chunk_count, heap full", N_CHUNKS);
        expect_corrupt(&fx, FREE_BIT(m, 64 * m.words - 1), "free bit past chunk_count, heap full", 64 * m.words - 1);
        CHECK(fx_reset(&fx));
        expect_corrupt(&fx, FREE_BIT(m, N_CHUNKS), "free bit past chunk_count, heap empty", N_CHUNKS);
        expect_corrupt(&fx, START_BIT(m, N_CHUNKS + 1), "start bit past chunk_count, heap empty", N_CHUNKS + 1);
    }
    fx_free(&fx);
}

/* Not every bitmap change is corruption: clearing the start bit of an
 * allocation that directly follows another merges the two into one, a
 * consistent heap (no free run changes, so no index can disagree). */
static void merging_two_adjacent_allocations_is_consistent(void)
{
    heap_fx fx;
    bitmap_map m;
    walk_list w;
    if (!fx_new(&fx, 16, N_CHUNKS)) {
        return;
    }
    if (!find_bitmaps(&fx, &m) || !build_base(&fx)) {
        fx_free(&fx);
        return;
    }
    fx.buf[m.start_off + 3 / 8] ^= (unsigned char)(1u << 3); /* B [3, 4) joins A [0, 3) */
    CHECK_STATUS(bma_check(fx.h), BMA_OK);
    CHECK_STATUS(attach_copy(&fx, fx.size), BMA_OK);
    w = walk_all(fx.h);
    if (CHECK_EQ(w.n, 3)) {
        CHECK_EQ(w.index[0], 0);
        CHECK_EQ(w.count[0], 4);
        CHECK_EQ(w.index[1], 10);
        CHECK_EQ(w.index[2], 130);
    }
    walk_free(&w);
    CHECK_EQ(bma_usable_size(fx.h, bma_chunk_ptr(fx.h, 0)), 4 * 16);
    CHECK_STATUS(bma_free_chunks(fx.h, 0, 3), BMA_ESIZE);
    CHECK_STATUS(bma_free_chunks(fx.h, 3, 1), BMA_EBADPTR);
    CHECK_STATUS(bma_free_chunks(fx.h, 0, 4), BMA_OK);
    CHECK_STATUS(bma_check(fx.h), BMA_OK);
    fx_free(&fx);
}

/* The free runs are the gaps between the allocations bma_walk reports. An
 * accepted heap must search them as they are: the largest run is in the
 * stats, a request of that size lands in the first gap that long, one chunk
 * more is ENOMEM, and one chunk lands in the first gap. (A search index that
 * disagreed with the bitmaps would break one of these.) */
static void check_search_agrees_with_walk(bma_heap *h)
{
    walk_list w = walk_all(h);
    bma_stats st = stats_of(h);
    size_t i, pos = 0, largest = 0, first_gap = SIZE_MAX, free_total = 0, idx = 0, first_largest = SIZE_MAX;
    for (i = 0; i <= w.n; i++) {
        size_t end = i < w.n ? w.index[i] : st.chunk_count, gap = end - pos;
        if (gap > 0 && first_gap == SIZE_MAX) {
            first_gap = pos;
        }
        if (gap > largest) {
            largest = gap;
            first_largest = pos;
        }
        free_total += gap;
        if (i < w.n) {
            pos = w.index[i] + w.count[i];
        }
    }
    walk_free(&w);
    CHECK_EQ(st.free_chunks, free_total);
    CHECK_EQ(st.largest_free_run, largest);
    if (largest == 0) {
        CHECK_STATUS(bma_alloc_chunks(h, 1, &idx), BMA_ENOMEM);
        return;
    }
    CHECK_STATUS(bma_alloc_chunks(h, largest + 1, &idx), BMA_ENOMEM);
    if (CHECK_STATUS(bma_alloc_chunks(h, largest, &idx), BMA_OK)) {
        CHECK_EQ(idx, first_largest);
        CHECK_STATUS(bma_free_chunks(h, idx, largest), BMA_OK);
    }
    if (CHECK_STATUS(bma_alloc_chunks(h, 1, &idx), BMA_OK)) {
        CHECK_EQ(idx, first_gap);
        CHECK_STATUS(bma_free_chunks(h, idx, 1), BMA_OK);
    }
}

/* Every single bit of the metadata of small heaps flipped in turn: attach
 * returns ECORRUPT, or OK and then the heap is fully usable. Never anything
 * else, never a crash, never a write by attach. */
static void flipping_any_metadata_bit_is_detected_or_harmless(void)
{
    /* The last heap has 65 bitmap words: past the size at which a library
     * may start keeping a search index, whose bytes get flipped too. */
    const size_t cs[] = {8, 1, 64, 1};
    const size_t n[] = {70, 130, 64, 4160};
    size_t k;
    for (k = 0; k < sizeof cs / sizeof cs[0]; k++) {
        heap_fx fx;
        size_t bit, idx = 0, corrupt = 0, accepted = 0, i;
        unsigned char *img;
        if (!fx_new(&fx, cs[k], n[k])) {
            return;
        }
        if (k != 2) {
            CHECK_STATUS(bma_alloc_chunks(fx.h, 5, &idx), BMA_OK);
            CHECK_STATUS(bma_alloc_chunks(fx.h, 60, &idx), BMA_OK);
            CHECK_STATUS(bma_alloc_chunks(fx.h, 1, &idx), BMA_OK);
            CHECK_STATUS(bma_free_chunks(fx.h, 0, 5), BMA_OK);
        }
        for (i = 0; k == 3 && i < 40; i++) {
            CHECK_STATUS(bma_alloc_chunks(fx.h, 1 + (i * 37) % 150, &idx), BMA_OK);
            if (i % 3 == 1) {
                CHECK_STATUS(bma_free_chunks(fx.h, idx, 1 + (i * 37) % 150), BMA_OK);
            }
        }
        img = fx_snapshot(&fx);
        for (bit = 0; bit < 8 * fx.st.metadata_bytes; bit++) {
            unsigned char *c = xmalloc(fx.size);
            bma_heap *h = NULL;
            bma_status s;
            CHECK_CTX("cs %zu, %zu chunks: metadata bit %zu (byte %zu)", cs[k], n[k], bit, bit / 8);
            memcpy(c, img, fx.size);
            c[bit / 8] ^= (unsigned char)(1u << (bit % 8));
            s = bma_attach(c, fx.size, &h);
            if (s == BMA_ECORRUPT) {
                corrupt++;
                /* A refused attach wrote nothing. */
                c[bit / 8] ^= (unsigned char)(1u << (bit % 8));
                CHECK_EQ(first_diff(c, img, fx.size), fx.size);
            } else if (CHECK_STATUS(s, BMA_OK)) {
                bma_stats st;
                void *p = NULL;
                accepted++;
                CHECK_PTR_EQ(h, c);
                CHECK_STATUS(bma_check(h), BMA_OK);
                st = stats_of(h);
                CHECK(st.chunks_offset + st.chunk_count * st.chunk_size <= fx.size);
                CHECK_EQ(st.chunks_offset % st.chunk_size, 0);
                check_walk_consistent(h);
                check_search_agrees_with_walk(h);
                s = bma_alloc(h, 1, 0, &p);
                if (s == BMA_OK) {
                    memset(p, 0x99, bma_usable_size(h, p));
                    CHECK_STATUS(bma_free(h, p), BMA_OK);
                } else {
                    CHECK_STATUS(s, BMA_ENOMEM);
                    CHECK_EQ(st.free_chunks, 0);
                }
                CHECK_STATUS(bma_check(h), BMA_OK);
                bma_detach(h);
            }
            free(c);
        }
        CHECK_CTX_CLEAR();
        printf("       cs %zu, %zu chunks: %zu metadata bits flipped, %zu ECORRUPT, %zu accepted\n", cs[k], n[k],
               corrupt + accepted, corrupt, accepted);
        CHECK(corrupt > 0);
        free(img);
        fx_free(&fx);
    }
}

int main(void)
{
    RUN(attach_accepts_a_fresh_and_a_busy_heap);
    RUN(attach_rejects_null_and_misaligned_buffers);
    RUN(attach_rejects_buffers_that_never_were_heaps);
    RUN(attach_rejects_wrong_magic_and_version);
    RUN(attach_rejects_every_truncated_size);
    RUN(attach_accepts_a_larger_buffer_and_ignores_the_extra);
    RUN(attach_rejects_corrupt_bitmaps);
    RUN(merging_two_adjacent_allocations_is_consistent);
    RUN(flipping_any_metadata_bit_is_detected_or_harmless);
    return check_finish("attach");
}

/* relocate: a heap copied with memcpy, placed at another address, or written
 * to a file and read back is the same heap. bma_attach accepts the copy, the
 * data sits at the same chunk indices, and the same operations on the
 * original and the copy give the same indices, the same stats and the same
 * metadata bytes (no pointer is stored in the buffer). */
#include "util.h"

#define CS ((size_t)32)
#define NCHUNKS 700u

/* A busy heap: a seeded mix of sizes and alignments, some freed again, every
 * live allocation filled with a pattern whose seed is its chunk index. */
static int build_busy_heap(heap_fx *fx, uint64_t seed)
{
    rng r = {seed};
    size_t i;
    walk_list w;
    if (!fx_new_ex(fx, CS, NCHUNKS, 0, 4096, 0x11)) {
        return 0;
    }
    for (i = 0; i < 120; i++) {
        size_t size = 1 + rng_below(&r, 12 * CS), align = rng_below(&r, 4) == 0 ? (size_t)64 << rng_below(&r, 4) : 0;
        void *p = NULL;
        bma_status s = bma_alloc(fx->h, size, align, &p);
        if (s != BMA_OK) {
            CHECK_STATUS(s, BMA_ENOMEM);
            continue;
        }
        if (rng_below(&r, 3) == 0) {
            CHECK_STATUS(bma_free(fx->h, p), BMA_OK);
        }
    }
    w = walk_all(fx->h);
    for (i = 0; i < w.n; i++) {
        pattern_fill(bma_chunk_ptr(fx->h, w.index[i]), w.count[i] * CS, w.index[i]);
    }
    CHECK(w.n > 20);
    walk_free(&w);
    return CHECK_STATUS(bma_check(fx->h), BMA_OK);
}

/* The copy at h holds the same allocations as the original, with the same
 * bytes. */
static void check_same_contents(bma_heap *orig, bma_heap *copy, int check_patterns)
{
    walk_list a = walk_all(orig), b = walk_all(copy);
    bma_stats sa = stats_of(orig), sb = stats_of(copy);
    /* Chunks taken by alloc_chunks, resize and realloc were never written:
     * detach marks them defined for Valgrind, so the compare is of bytes. */
    CHECK_STATUS(bma_detach(orig), BMA_OK);
    CHECK_STATUS(bma_detach(copy), BMA_OK);
    CHECK_EQ(memcmp(&sa, &sb, sizeof sa), 0);
    if (CHECK_EQ(a.n, b.n)) {
        for (size_t i = 0; i < a.n; i++) {
            unsigned char *pa = bma_chunk_ptr(orig, a.index[i]), *pb = bma_chunk_ptr(copy, b.index[i]);
            CHECK_EQ(a.index[i], b.index[i]);
            CHECK_EQ(a.count[i], b.count[i]);
            if (a.count[i] == b.count[i]) {
                CHECK_EQ(first_diff(pa, pb, a.count[i] * CS), a.count[i] * CS);
            }
            if (check_patterns) {
                CHECK_PATTERN(pb, b.count[i] * CS, b.index[i]);
            }
            CHECK_EQ(bma_usable_size(copy, pb), b.count[i] * CS);
        }
    }
    walk_free(&a);
    walk_free(&b);
}

/* The same seeded operations on two heaps: every status, index and stats
 * field must agree, and so must the metadata bytes. */
static void run_same_operations(bma_heap *h1, bma_heap *h2, uint64_t seed, size_t steps)
{
    rng r = {seed};
    size_t step;
    size_t md = stats_of(h1).metadata_bytes;
    for (step = 0; step < steps && CASE_OK(); step++) {
        size_t op = rng_below(&r, 6), size = 1 + rng_below(&r, 20 * CS);
        size_t align = rng_below(&r, 3) == 0 ? (size_t)1 << rng_below(&r, 12) : 0;
        walk_list w = walk_all(h1);
        size_t j = w.n > 0 ? rng_below(&r, w.n) : 0;
        void *p1 = NULL, *p2 = NULL;
        bma_status s1, s2;
        bma_stats st1, st2;
        CHECK_CTX("step %zu op %zu", step, op);
        if (op <= 1 || w.n == 0) {
            s1 = bma_alloc(h1, size, align, &p1);
            s2 = bma_alloc(h2, size, align, &p2);
            CHECK_STATUS(s2, s1);
            if (s1 == BMA_OK && s2 == BMA_OK) {
                CHECK_EQ(index_of(h2, p2), index_of(h1, p1));
                pattern_fill(p1, bma_usable_size(h1, p1), step); /* the whole slice, so copies compare defined bytes */
                pattern_fill(p2, bma_usable_size(h2, p2), step);
            }
        } else if (op == 2) {
            s1 = bma_free(h1, bma_chunk_ptr(h1, w.index[j]));
            s2 = bma_free(h2, bma_chunk_ptr(h2, w.index[j]));
            CHECK_STATUS(s1, BMA_OK);
            CHECK_STATUS(s2, BMA_OK);
        } else if (op == 3) {
            s1 = bma_realloc(h1, bma_chunk_ptr(h1, w.index[j]), size, align, &p1);
            s2 = bma_realloc(h2, bma_chunk_ptr(h2, w.index[j]), size, align, &p2);
            CHECK_STATUS(s2, s1);
            if (s1 == BMA_OK && s2 == BMA_OK) {
                CHECK_EQ(index_of(h2, p2), index_of(h1, p1));
            }
        } else if (op == 4) {
            s1 = bma_resize(h1, bma_chunk_ptr(h1, w.index[j]), size);
            s2 = bma_resize(h2, bma_chunk_ptr(h2, w.index[j]), size);
            CHECK_STATUS(s2, s1);
        } else {
            size_t i1 = SIZE_MAX, i2 = SIZE_MAX, count = 1 + rng_below(&r, 40);
            s1 = bma_alloc_chunks(h1, count, &i1);
            s2 = bma_alloc_chunks(h2, count, &i2);
            CHECK_STATUS(s2, s1);
            CHECK_EQ(i2, i1);
        }
        walk_free(&w);
        st1 = stats_of(h1);
        st2 = stats_of(h2);
        CHECK_EQ(memcmp(&st1, &st2, sizeof st1), 0);
        CHECK_MSG(first_diff(h1, h2, md) == md, "metadata differs at byte %zu", first_diff(h1, h2, md));
        CHECK_STATUS(bma_check(h2), BMA_OK);
    }
    CHECK_CTX_CLEAR();
    check_same_contents(h1, h2, 0);
}

/* Copies the heap into a new malloc'd buffer at offset off, of size + extra
 * bytes, and attaches it there. */
static bma_heap *relocate(heap_fx *fx, unsigned char **mem, size_t off, size_t extra)
{
    bma_heap *h = NULL;
    *mem = xaligned(4096, off + fx->size + extra);
    CHECK_STATUS(bma_detach(fx->h), BMA_OK);
    memcpy(*mem + off, fx->buf, fx->size);
    memset(*mem + off + fx->size, 0xDD, extra);
    if (!CHECK_STATUS(bma_attach(*mem + off, fx->size + extra, &h), BMA_OK)) {
        return NULL;
    }
    CHECK_PTR_EQ(h, *mem + off);
    return h;
}

static void relocated_copy_has_same_allocations_and_behaviour(void)
{
    /* Same alignment, 8 bytes off a page (alignment is from the buffer start,
     * so indices must not change), and with unused extra bytes. */
    const size_t offs[] = {0, 8, 24, 0};
    const size_t extras[] = {0, 0, 0, 4096 + 5};
    size_t k;
    for (k = 0; k < sizeof offs / sizeof offs[0]; k++) {
        heap_fx fx;
        unsigned char *mem = NULL;
        bma_heap *h2;
        CHECK_CTX("copy at offset %zu with %zu extra bytes", offs[k], extras[k]);
        if (!build_busy_heap(&fx, 1000 + k)) {
            fx_free(&fx);
            return;
        }
        h2 = relocate(&fx, &mem, offs[k], extras[k]);
        if (h2 != NULL) {
            check_same_contents(fx.h, h2, 1);
            run_same_operations(fx.h, h2, 2000 + k, 1500);
            bma_detach(h2);
        }
        free(mem);
        fx_free(&fx);
    }
}

/* Original and copy are independent: a change to one is not seen by the
 * other. */
static void copies_are_independent_heaps(void)
{
    heap_fx fx;
    unsigned char *mem = NULL;
    bma_heap *h2;
    size_t idx1 = 0, idx2 = 0;
    bma_stats before;
    if (!build_busy_heap(&fx, 3000)) {
        fx_free(&fx);
        return;
    }
    h2 = relocate(&fx, &mem, 0, 0);
    if (h2 == NULL) {
        free(mem);
        fx_free(&fx);
        return;
    }
    before = stats_of(h2);
    CHECK_STATUS(bma_alloc_chunks(fx.h, 1, &idx1), BMA_OK);
    CHECK_EQ(stats_of(h2).free_chunks, before.free_chunks);
    CHECK_STATUS(bma_alloc_chunks(h2, 1, &idx2), BMA_OK);
    CHECK_EQ(idx2, idx1); /* the copy still had that chunk free */
    CHECK_STATUS(bma_free_chunks(h2, idx2, 1), BMA_OK);
    CHECK_EQ(stats_of(fx.h).free_chunks, before.free_chunks - 1);
    CHECK_STATUS(bma_free_chunks(fx.h, idx1, 1), BMA_OK);
    bma_detach(h2);
    free(mem);
    fx_free(&fx);
}

/* Written to a file and read back into a fresh buffer: attach, the same
 * contents, and the same behaviour from there on. */
static void heap_survives_a_round_trip_through_a_file(void)
{
    heap_fx fx;
    FILE *f = tmpfile();
    unsigned char *buf;
    bma_heap *h2 = NULL;
    size_t got;
    CHECK(f != NULL);
    if (f == NULL) {
        return;
    }
    if (!build_busy_heap(&fx, 4000)) {
        fclose(f);
        fx_free(&fx);
        return;
    }
    CHECK_STATUS(bma_detach(fx.h), BMA_OK);
    CHECK_EQ(fwrite(fx.buf, 1, fx.size, f), fx.size);
    CHECK_EQ(fflush(f), 0);
    rewind(f);
    buf = xaligned(64, fx.size);
    memset(buf, 0, fx.size);
    got = fread(buf, 1, fx.size, f);
    CHECK_EQ(got, fx.size);
    fclose(f);
    if (CHECK_STATUS(bma_attach(buf, fx.size, &h2), BMA_OK)) {
        check_same_contents(fx.h, h2, 1);
        run_same_operations(fx.h, h2, 5000, 1500);
        bma_detach(h2);
    }
    free(buf);
    fx_free(&fx);
}

/* A copy of a copy of a copy, each taken after more operations. */
static void chained_relocations(void)
{
    heap_fx fx;
    unsigned char *mem[3] = {NULL, NULL, NULL};
    bma_heap *h[3];
    heap_fx hop;
    size_t k;
    if (!build_busy_heap(&fx, 6000)) {
        fx_free(&fx);
        return;
    }
    hop = fx;
    for (k = 0; k < 3; k++) {
        h[k] = relocate(&hop, &mem[k], 8 * k, 0);
        if (h[k] == NULL) {
            break;
        }
        run_same_operations(hop.h, h[k], 7000 + k, 300);
        hop.buf = mem[k] + 8 * k;
        hop.h = h[k];
    }
    for (k = 0; k < 3; k++) {
        if (mem[k] != NULL) {
            bma_detach((bma_heap *)(mem[k] + 8 * k));
            free(mem[k]);
        }
    }
    fx_free(&fx);
}

int main(void)
{
    RUN(relocated_copy_has_same_allocations_and_behaviour);
    RUN(copies_are_independent_heaps);
    RUN(heap_survives_a_round_trip_through_a_file);
    RUN(chained_relocations);
    return check_finish("relocate");
}

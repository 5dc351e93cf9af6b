/* model: the library against the reference oracle (oracle/oracle.c, a
 * one-byte-per-chunk first-fit model) where the model is the clearest way to
 * say what the answer must be:
 *   - on fixed fragmented heaps, every request size and every alignment
 *     probes the first-fit rule: the index must be the model's;
 *   - short seeded sequences of every call (good and bad pointers alike)
 *     must give the model's status, index, stats and walk at every step.
 * (The long randomized comparison is the 'differential' suite.) */
#include "util.h"

#include "oracle.h"

static orc_heap *model_of(const heap_fx *fx)
{
    orc_heap *o =
        orc_new(fx->st.chunk_size, fx->st.chunk_count, fx->st.chunks_offset, fx->st.buffer_size, fx->st.metadata_bytes);
    if (o == NULL) {
        fprintf(stderr, "test setup: orc_new failed\n");
        exit(99);
    }
    return o;
}

/* Stats and the full walk of heap and model agree. */
static void check_same_state(const heap_fx *fx, const orc_heap *o)
{
    bma_stats a = stats_of(fx->h), b;
    walk_list w = walk_all(fx->h);
    size_t *idx = xmalloc((a.chunk_count + 1) * sizeof *idx), *cnt = xmalloc((a.chunk_count + 1) * sizeof *cnt);
    size_t n;
    memset(&b, 0, sizeof b);
    CHECK_STATUS(orc_get_stats(o, &b), BMA_OK);
    CHECK_EQ(a.free_chunks, b.free_chunks);
    CHECK_EQ(a.used_chunks, b.used_chunks);
    CHECK_EQ(a.live_allocations, b.live_allocations);
    CHECK_EQ(a.largest_free_run, b.largest_free_run);
    CHECK_EQ(a.chunk_count, b.chunk_count);
    n = orc_walk(o, idx, cnt, a.chunk_count + 1);
    if (CHECK_EQ(w.n, n)) {
        for (size_t i = 0; i < n; i++) {
            CHECK_EQ(w.index[i], idx[i]);
            CHECK_EQ(w.count[i], cnt[i]);
        }
    }
    free(idx);
    free(cnt);
    walk_free(&w);
}

/* The same chunk-level layout in heap and model: allocations of the given
 * counts in order, then the ones marked in drop freed. */
static int build_layout(heap_fx *fx, orc_heap *o, const size_t *counts, const int *drop, size_t n)
{
    size_t k, a = 0, b = 0;
    int ok = 1;
    size_t *at = xmalloc(n * sizeof *at);
    for (k = 0; k < n; k++) {
        ok &= CHECK_STATUS(bma_alloc_chunks(fx->h, counts[k], &a), orc_alloc_chunks(o, counts[k], &b));
        ok &= CHECK_EQ(a, b);
        at[k] = a;
    }
    for (k = 0; k < n; k++) {
        if (drop[k]) {
            ok &= CHECK_STATUS(bma_free_chunks(fx->h, at[k], counts[k]), BMA_OK);
            ok &= CHECK_STATUS(orc_free_chunks(o, at[k], counts[k]), BMA_OK);
        }
    }
    free(at);
    check_same_state(fx, o);
    return ok;
}

/* On a fragmented heap, every request of 1..80 chunks at every alignment
 * 0, 1, 2, ..., 8192 lands where the model's first fit says (or fails
 * with ENOMEM exactly when the model does). Each probe is undone. */
static void every_size_and_alignment_matches_first_fit(void)
{
    const size_t chunk_sizes[] = {1, 16, 512};
    const size_t counts[] = {1, 2, 3, 5, 7, 1, 9, 30, 1, 62, 2, 64, 3, 65, 4, 66, 1, 100, 8, 1};
    const int drop[] = {0, 1, 0, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0, 0, 1, 1, 0, 1, 1, 0};
    size_t k;
    for (k = 0; k < sizeof chunk_sizes / sizeof chunk_sizes[0]; k++) {
        size_t cs = chunk_sizes[k];
        heap_fx fx;
        orc_heap *o;
        if (!fx_new_ex(&fx, cs, 480, 0, 8192, 0)) {
            return;
        }
        o = model_of(&fx);
        if (build_layout(&fx, o, counts, drop, sizeof counts / sizeof counts[0])) {
            for (size_t count = 1; count <= 80 && CASE_OK(); count++) {
                for (size_t align = 0; align <= 8192; align = align == 0 ? 1 : 2 * align) {
                    void *p = NULL;
                    size_t want = SIZE_MAX;
                    bma_status s_lib, s_orc;
                    CHECK_CTX("cs %zu, %zu chunks, align %zu", cs, count, align);
                    s_orc = orc_alloc(o, count * cs, align, &want);
                    s_lib = bma_alloc(fx.h, count * cs, align, &p);
                    CHECK_STATUS(s_lib, s_orc);
                    if (s_lib == BMA_OK && s_orc == BMA_OK) {
                        CHECK_EQ(index_of(fx.h, p), want);
                        CHECK_STATUS(bma_free(fx.h, p), BMA_OK);
                        CHECK_STATUS(orc_free_chunks(o, want, count), BMA_OK);
                    }
                }
            }
            CHECK_CTX_CLEAR();
            check_same_state(&fx, o);
        }
        orc_delete(o);
        fx_free(&fx);
    }
}

/* A large heap fragmented by a seeded mix of allocations and frees: every
 * probe size from 1 to 70 chunks and a ladder of larger ones, at several
 * alignments, lands where the model's first fit says. */
static void large_fragmented_heaps_match_first_fit(void)
{
    const size_t chunk_counts[] = {4160, 70400};
    const size_t big[] = {100, 255, 511, 512, 513, 1000, 2047, 4095, 4096, 4097, 9000, 20000, 40000};
    size_t k;
    for (k = 0; k < sizeof chunk_counts / sizeof chunk_counts[0]; k++) {
        size_t n = chunk_counts[k], i, a, idx_lib = 0, idx_orc = 0, fit = 0, probes = 0;
        heap_fx fx;
        orc_heap *o;
        rng r = {42 + k};
        if (!fx_new_ex(&fx, 4, n, 0, 4096, 0)) {
            return;
        }
        o = model_of(&fx);
        /* Fragment: allocations of 1..600 chunks until the heap is full, then
         * free about two in three of them. */
        for (;;) {
            size_t c = 1 + rng_below(&r, rng_below(&r, 8) == 0 ? 600 : 40);
            bma_status s = bma_alloc_chunks(fx.h, c, &idx_lib);
            CHECK_STATUS(s, orc_alloc_chunks(o, c, &idx_orc));
            if (s != BMA_OK) {
                if (c == 1) {
                    break;
                }
                continue;
            }
            CHECK_EQ(idx_lib, idx_orc);
        }
        {
            walk_list w = walk_all(fx.h);
            for (i = 0; i < w.n; i++) {
                if (rng_below(&r, 3) != 0) {
                    CHECK_STATUS(bma_free_chunks(fx.h, w.index[i], w.count[i]), BMA_OK);
                    CHECK_STATUS(orc_free_chunks(o, w.index[i], w.count[i]), BMA_OK);
                }
            }
            walk_free(&w);
        }
        check_same_state(&fx, o);
        for (i = 0; i < 70 + sizeof big / sizeof big[0] && CASE_OK(); i++) {
            size_t count = i < 70 ? i + 1 : big[i - 70];
            for (a = 0; a < 5; a++) {
                size_t align = a == 0 ? 0 : (size_t)4 << (3 * a); /* 0, 32, 256, 2048, 16384 */
                void *p = NULL;
                size_t want = SIZE_MAX;
                bma_status s_lib, s_orc;
                CHECK_CTX("%zu chunks: %zu-chunk request at align %zu", n, count, align);
                s_orc = orc_alloc(o, count * 4, align, &want);
                s_lib = bma_alloc(fx.h, count * 4, align, &p);
                CHECK_STATUS(s_lib, s_orc);
                probes++;
                if (s_lib == BMA_OK && s_orc == BMA_OK) {
                    fit++;
                    CHECK_EQ(index_of(fx.h, p), want);
                    CHECK_STATUS(bma_free(fx.h, p), BMA_OK);
                    CHECK_STATUS(orc_free_chunks(o, want, count), BMA_OK);
                }
            }
        }
        CHECK_CTX_CLEAR();
        printf("       %zu chunks, %zu free in runs up to %zu: %zu probes, %zu fit\n", n, stats_of(fx.h).free_chunks,
               stats_of(fx.h).largest_free_run, probes, fit);
        check_same_state(&fx, o);
        CHECK_STATUS(bma_check(fx.h), BMA_OK);
        orc_delete(o);
        fx_free(&fx);
    }
}

/* A pointer for the sequence test: a live start, an interior or free chunk,
 * a byte off a chunk boundary, or a metadata byte. */
static size_t pick_offset(rng *r, const heap_fx *fx, const walk_list *w)
{
    size_t cs = fx->st.chunk_size, co = fx->st.chunks_offset;
    switch (rng_below(r, 6)) {
    case 0:
    case 1:
    case 2:
        if (w->n > 0) {
            return co + w->index[rng_below(r, w->n)] * cs;
        }
        return co;
    case 3: return co + rng_below(r, fx->st.chunk_count) * cs;
    case 4: return co + rng_below(r, fx->st.chunk_count * cs);
    default: return rng_below(r, co);
    }
}

/* Seeded sequences of every call, comparing each result with the model. */
static void seeded_sequences_match_the_model(void)
{
    const size_t chunk_sizes[] = {1, 8, 64, 4096};
    /* Up to 4160 chunks (65 words) and 33000 (516 words): past the sizes at
     * which a library may start keeping a search index of one and two levels. */
    const size_t chunk_counts[] = {1, 63, 64, 65, 200, 513, 4160, 33000};
    size_t a, b, ops = 0, ok_ops = 0;
    for (a = 0; a < sizeof chunk_sizes / sizeof chunk_sizes[0]; a++) {
        for (b = 0; b < sizeof chunk_counts / sizeof chunk_counts[0] && CASE_OK(); b++) {
            size_t cs = chunk_sizes[a], n = chunk_counts[b], step;
            heap_fx fx;
            orc_heap *o;
            rng r = {a * 100 + b + 1};
            if (!fx_new(&fx, cs, n)) {
                return;
            }
            o = model_of(&fx);
            size_t steps = n > 1000 ? 1500 : 3000, state_every = n > 1000 ? 50 : 1;
            for (step = 0; step < steps && CASE_OK(); step++) {
                walk_list w = walk_all(fx.h);
                size_t op = rng_below(&r, 9), size = 1 + rng_below(&r, (rng_below(&r, 4) == 0 ? n / 4 + 2 : 70) * cs);
                size_t align = rng_below(&r, 4) == 0 ? (size_t)1 << rng_below(&r, 14) : 0;
                size_t off = pick_offset(&r, &fx, &w), i_lib = SIZE_MAX, i_orc = SIZE_MAX;
                void *p = NULL;
                bma_status s_lib = BMA_OK, s_orc = BMA_OK;
                CHECK_CTX("cs %zu, %zu chunks, step %zu, op %zu, size %zu, align %zu, offset %zu", cs, n, step, op,
                          size, align, off);
                switch (op) {
                case 0:
                case 1:
                    s_orc = orc_alloc(o, size, align, &i_orc);
                    s_lib = bma_alloc(fx.h, size, align, &p);
                    if (s_lib == BMA_OK) {
                        i_lib = index_of(fx.h, p);
                    }
                    break;
                case 2:
                    s_orc = orc_alloc_chunks(o, 1 + size / cs, &i_orc);
                    s_lib = bma_alloc_chunks(fx.h, 1 + size / cs, &i_lib);
                    break;
                case 3:
                    s_orc = orc_free(o, off);
                    s_lib = bma_free(fx.h, fx.buf + off);
                    break;
                case 4:
                    s_orc = orc_free_sized(o, off, size);
                    s_lib = bma_free_sized(fx.h, fx.buf + off, size);
                    break;
                case 5: {
                    size_t idx = off >= fx.st.chunks_offset ? (off - fx.st.chunks_offset) / cs : n + off;
                    s_orc = orc_free_chunks(o, idx, 1 + size / cs);
                    s_lib = bma_free_chunks(fx.h, idx, 1 + size / cs);
                    break;
                }
                case 6:
                    s_orc = orc_resize(o, off, size);
                    s_lib = bma_resize(fx.h, fx.buf + off, size);
                    break;
                case 7: {
                    int null = rng_below(&r, 8) == 0;
                    s_orc = orc_realloc(o, null ? ORC_NULL : off, size, align, &i_orc);
                    s_lib = bma_realloc(fx.h, null ? NULL : fx.buf + off, size, align, &p);
                    if (s_lib == BMA_OK) {
                        i_lib = index_of(fx.h, p);
                    }
                    break;
                }
                default: CHECK_EQ(bma_usable_size(fx.h, fx.buf + off), orc_usable_size(o, off)); break;
                }
                walk_free(&w);
                ops++;
                ok_ops += s_lib == BMA_OK && op != 8;
                CHECK_STATUS(s_lib, s_orc);
                if (s_lib == BMA_OK && s_orc == BMA_OK && (op <= 2 || op == 7)) {
                    CHECK_EQ(i_lib, i_orc);
                }
                if (step % state_every == 0) {
                    check_same_state(&fx, o);
                }
            }
            CHECK_CTX_CLEAR();
            check_same_state(&fx, o);
            CHECK_STATUS(bma_check(fx.h), BMA_OK);
            orc_delete(o);
            fx_free(&fx);
        }
    }
    printf("       %zu calls compared, %zu of them succeeded\n", ops, ok_ops);
}

int main(void)
{
    RUN(every_size_and_alignment_matches_first_fit);
    RUN(large_fragmented_heaps_match_first_fit);
    RUN(seeded_sequences_match_the_model);
    return check_finish("model");
}

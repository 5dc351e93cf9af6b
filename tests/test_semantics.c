/* semantics: what the successful calls do. realloc in place and by moving
 * (including the contract's "new run chosen while the old one is held" and
 * "unmet alignment moves even when shrinking"), resize, usable_size, stats,
 * bma_walk order and early stop, bma_strerror, and bma_check on valid heaps
 * after long random sequences. */
#include "util.h"

#define CS ((size_t)32)

static unsigned char *alloc_at(heap_fx *fx, size_t size, size_t align, size_t want_index)
{
    void *p = NULL;
    if (!CHECK_STATUS(bma_alloc(fx->h, size, align, &p), BMA_OK)) {
        return NULL;
    }
    CHECK_EQ(index_of(fx->h, p), want_index);
    return p;
}

static void realloc_shrinks_in_place(void)
{
    heap_fx fx;
    unsigned char *a, *b;
    void *out = NULL;
    size_t idx = 0;
    if (!fx_new(&fx, CS, 64)) {
        return;
    }
    a = alloc_at(&fx, 5 * CS, 0, 0);
    b = alloc_at(&fx, CS, 0, 5);
    if (a == NULL || b == NULL) {
        fx_free(&fx);
        return;
    }
    pattern_fill(a, 5 * CS, 7);
    CHECK_STATUS(bma_realloc(fx.h, a, 2 * CS - 3, 0, &out), BMA_OK);
    CHECK_PTR_EQ(out, a);
    CHECK_EQ(bma_usable_size(fx.h, a), 2 * CS);
    CHECK_PATTERN(a, 2 * CS, 7);
    /* The three released chunks are free and first in line. */
    CHECK_STATUS(bma_alloc_chunks(fx.h, 3, &idx), BMA_OK);
    CHECK_EQ(idx, 2);
    /* Shrinking with an alignment the allocation already meets stays too. */
    CHECK_STATUS(bma_realloc(fx.h, a, 1, CS, &out), BMA_OK);
    CHECK_PTR_EQ(out, a);
    CHECK_EQ(bma_usable_size(fx.h, a), CS);
    /* Same chunk count: nothing moves. */
    CHECK_STATUS(bma_realloc(fx.h, a, CS, 0, &out), BMA_OK);
    CHECK_PTR_EQ(out, a);
    CHECK_PATTERN(a, CS, 7);
    CHECK_STATUS(bma_check(fx.h), BMA_OK);
    fx_free(&fx);
}

static void realloc_grows_in_place_when_next_chunks_are_free(void)
{
    heap_fx fx;
    unsigned char *a, *b;
    void *out = NULL;
    if (!fx_new(&fx, CS, 64)) {
        return;
    }
    a = alloc_at(&fx, 2 * CS, 0, 0);
    b = alloc_at(&fx, CS, 0, 2);
    if (a == NULL || b == NULL) {
        fx_free(&fx);
        return;
    }
    CHECK_STATUS(bma_free(fx.h, b), BMA_OK);
    pattern_fill(a, 2 * CS, 8);
    CHECK_STATUS(bma_realloc(fx.h, a, 5 * CS, 0, &out), BMA_OK);
    CHECK_PTR_EQ(out, a);
    CHECK_EQ(bma_usable_size(fx.h, a), 5 * CS);
    CHECK_PATTERN(a, 2 * CS, 8);
    CHECK_EQ(index_of(fx.h, alloc_at(&fx, 1, 0, 5)), 5);
    /* Up to the very end of the heap. */
    CHECK_STATUS(bma_free_chunks(fx.h, 5, 1), BMA_OK);
    CHECK_STATUS(bma_realloc(fx.h, a, 64 * CS, 0, &out), BMA_OK);
    CHECK_PTR_EQ(out, a);
    CHECK_EQ(stats_of(fx.h).free_chunks, 0);
    CHECK_PATTERN(a, 2 * CS, 8);
    fx_free(&fx);
}

static void realloc_moves_when_growth_is_blocked_and_copies(void)
{
    heap_fx fx;
    unsigned char *a, *b;
    void *out = NULL;
    size_t idx = 0;
    if (!fx_new(&fx, CS, 64)) {
        return;
    }
    a = alloc_at(&fx, 2 * CS, 0, 0);
    b = alloc_at(&fx, CS, 0, 2);
    if (a == NULL || b == NULL) {
        fx_free(&fx);
        return;
    }
    pattern_fill(a, 2 * CS, 9);
    pattern_fill(b, CS, 10);
    CHECK_STATUS(bma_realloc(fx.h, a, 4 * CS, 0, &out), BMA_OK);
    CHECK_EQ(index_of(fx.h, out), 3);
    CHECK_EQ(bma_usable_size(fx.h, out), 4 * CS);
    CHECK_PATTERN(out, 2 * CS, 9);
    CHECK_PATTERN(b, CS, 10);
    /* The old run is free again. */
    CHECK_EQ(bma_usable_size(fx.h, a), 0);
    CHECK_STATUS(bma_free(fx.h, a), BMA_EDOUBLEFREE);
    CHECK_STATUS(bma_alloc_chunks(fx.h, 2, &idx), BMA_OK);
    CHECK_EQ(idx, 0);
    CHECK_EQ(stats_of(fx.h).live_allocations, 3);
    fx_free(&fx);
}

/* Regression guard for the contract's "allocates a new run while the old one
 * is still held": a realloc that freed first would take [0, 4), which
 * overlaps its own old run [1, 3), and then copy onto itself. */
static void regression_realloc_reuses_its_own_run_before_copying(void)
{
    heap_fx fx;
    unsigned char *x, *a, *y;
    void *out = NULL;
    size_t idx = 0;
    if (!fx_new(&fx, CS, 64)) {
        return;
    }
    x = alloc_at(&fx, CS, 0, 0);
    a = alloc_at(&fx, 2 * CS, 0, 1);
    CHECK_STATUS(bma_alloc_chunks(fx.h, 1, &idx), BMA_OK);
    CHECK_EQ(idx, 3);
    y = alloc_at(&fx, CS, 0, 4);
    if (x == NULL || a == NULL || y == NULL) {
        fx_free(&fx);
        return;
    }
    CHECK_STATUS(bma_free(fx.h, x), BMA_OK);
    CHECK_STATUS(bma_free_chunks(fx.h, 3, 1), BMA_OK);
    /* Free: 0, 3, [5, 64). A = [1, 3) cannot grow (4 is used). */
    pattern_fill(a, 2 * CS, 11);
    CHECK_STATUS(bma_realloc(fx.h, a, 4 * CS, 0, &out), BMA_OK);
    CHECK_EQ(index_of(fx.h, out), 5);
    CHECK_PATTERN(out, 2 * CS, 11);
    CHECK_EQ(stats_of(fx.h).largest_free_run, 64 - 9);
    CHECK_STATUS(bma_alloc_chunks(fx.h, 4, &idx), BMA_OK);
    CHECK_EQ(idx, 0);
    CHECK_STATUS(bma_check(fx.h), BMA_OK);
    fx_free(&fx);
}

/* An allocation whose offset does not meet the requested alignment moves,
 * even to shrink, and only min(old, new) bytes are copied: the allocation
 * right after the new run keeps its bytes. */
static void realloc_with_unmet_alignment_moves_even_when_shrinking(void)
{
    heap_fx fx;
    unsigned char *a, *guard;
    void *out = NULL;
    size_t first4 = 0, i, ai;
    if (!fx_new(&fx, CS, 64)) {
        return;
    }
    /* The lowest chunk whose offset is a multiple of 4 * CS. */
    while ((fx.st.chunks_offset + first4 * CS) % (4 * CS) != 0) {
        first4++;
    }
    /* A: 3 chunks starting one past an aligned chunk. */
    ai = first4 + 1;
    CHECK(alloc_at(&fx, ai * CS, 0, 0) != NULL);
    a = alloc_at(&fx, 3 * CS, 0, ai);
    /* The next aligned chunk after A, and a guard right after it. */
    CHECK_EQ(index_of(fx.h, alloc_at(&fx, CS, 0, ai + 3)), ai + 3);
    guard = alloc_at(&fx, CS, 0, ai + 4);
    if (a == NULL || guard == NULL) {
        fx_free(&fx);
        return;
    }
    pattern_fill(a, 3 * CS, 12);
    pattern_fill(guard, CS, 13);
    CHECK_STATUS(bma_free_chunks(fx.h, ai + 3, 1), BMA_OK);
    /* Shrink to one chunk at 4*CS alignment: the only aligned free chunk
     * below the end of the used area is ai + 3 (first4 + 4). */
    CHECK_STATUS(bma_realloc(fx.h, a, CS, 4 * CS, &out), BMA_OK);
    CHECK_EQ(index_of(fx.h, out), first4 + 4);
    CHECK_EQ(bma_usable_size(fx.h, out), CS);
    CHECK_PATTERN(out, CS, 12);
    CHECK_PATTERN(guard, CS, 13);
    CHECK_EQ(bma_usable_size(fx.h, a), 0);
    CHECK_EQ(((unsigned char *)out - fx.buf) % (4 * CS), 0);
    /* Alignment met: growing and shrinking stay in place. */
    a = out;
    CHECK_STATUS(bma_realloc(fx.h, a, CS, 4 * CS, &out), BMA_OK);
    CHECK_PTR_EQ(out, a);
    /* A's old chunks are free now. */
    for (i = 0; i < 3; i++) {
        CHECK_STATUS(bma_free_chunks(fx.h, ai + i, 1), BMA_EDOUBLEFREE);
    }
    CHECK_STATUS(bma_check(fx.h), BMA_OK);
    fx_free(&fx);
}

static void realloc_null_is_alloc(void)
{
    heap_fx fx;
    void *out = NULL;
    if (!fx_new(&fx, CS, 64)) {
        return;
    }
    CHECK(alloc_at(&fx, CS, 0, 0) != NULL);
    CHECK_STATUS(bma_realloc(fx.h, NULL, 3 * CS, 0, &out), BMA_OK);
    CHECK_EQ(index_of(fx.h, out), 1);
    CHECK_EQ(bma_usable_size(fx.h, out), 3 * CS);
    CHECK_STATUS(bma_realloc(fx.h, NULL, 1, 8 * CS, &out), BMA_OK);
    CHECK_EQ(((unsigned char *)out - fx.buf) % (8 * CS), 0);
    CHECK_EQ(stats_of(fx.h).live_allocations, 3);
    fx_free(&fx);
}

/* bma_resize in place: shrinking frees the tail, growing takes free chunks
 * after the allocation, the same chunk count changes nothing. */
static void resize_shrinks_and_grows_in_place(void)
{
    heap_fx fx;
    unsigned char *a, *snap;
    size_t idx = 0;
    if (!fx_new(&fx, CS, 64)) {
        return;
    }
    a = alloc_at(&fx, 10 * CS, 0, 0);
    if (a == NULL) {
        fx_free(&fx);
        return;
    }
    pattern_fill(a, 10 * CS, 14);
    CHECK_STATUS(bma_resize(fx.h, a, 4 * CS), BMA_OK);
    CHECK_EQ(bma_usable_size(fx.h, a), 4 * CS);
    CHECK_PATTERN(a, 4 * CS, 14);
    CHECK_EQ(stats_of(fx.h).free_chunks, 60);
    CHECK_STATUS(bma_free(fx.h, a + 4 * CS), BMA_EDOUBLEFREE);
    CHECK_STATUS(bma_resize(fx.h, a, 7 * CS), BMA_OK);
    CHECK_EQ(bma_usable_size(fx.h, a), 7 * CS);
    CHECK_PATTERN(a, 4 * CS, 14);
    /* 7 chunks whichever size maps to them: no byte changes. */
    snap = xmalloc(fx.size);
    CHECK_STATUS(bma_detach(fx.h), BMA_OK);
    memcpy(snap, fx.buf, fx.size);
    CHECK_STATUS(bma_resize(fx.h, a, 6 * CS + 1), BMA_OK);
    CHECK_STATUS(bma_resize(fx.h, a, 7 * CS), BMA_OK);
    CHECK_STATUS(bma_detach(fx.h), BMA_OK);
    CHECK_EQ(first_diff(snap, fx.buf, fx.size), fx.size);
    free(snap);
    CHECK_STATUS(bma_alloc_chunks(fx.h, 1, &idx), BMA_OK);
    CHECK_EQ(idx, 7);
    CHECK_STATUS(bma_resize(fx.h, a, 8 * CS), BMA_ENOMEM);
    CHECK_STATUS(bma_resize(fx.h, a, 1), BMA_OK);
    CHECK_STATUS(bma_alloc_chunks(fx.h, 6, &idx), BMA_OK);
    CHECK_EQ(idx, 1);
    CHECK_STATUS(bma_check(fx.h), BMA_OK);
    fx_free(&fx);
}

static void usable_size_is_chunk_count_times_chunk_size(void)
{
    const size_t chunk_sizes[] = {1, 8, 64, 4096};
    size_t k, size;
    for (k = 0; k < sizeof chunk_sizes / sizeof chunk_sizes[0]; k++) {
        size_t cs = chunk_sizes[k];
        heap_fx fx;
        if (!fx_new(&fx, cs, 300)) {
            return;
        }
        for (size = 1; size <= 5 * cs + 1 && size <= 300; size += (cs > 8 ? cs / 4 : 1)) {
            void *p = NULL;
            CHECK_CTX("cs %zu size %zu", cs, size);
            if (!CHECK_STATUS(bma_alloc(fx.h, size, 0, &p), BMA_OK)) {
                break;
            }
            CHECK_EQ(bma_usable_size(fx.h, p), ceil_div(size, cs) * cs);
            CHECK_EQ(index_of(fx.h, p), 0);
            CHECK_STATUS(bma_free_sized(fx.h, p, size), BMA_OK);
        }
        fx_free(&fx);
    }
}

/* Stats of a known layout, field by field. */
static void stats_are_exact(void)
{
    heap_fx fx;
    bma_stats st;
    size_t idx = 0;
    if (!fx_new(&fx, CS, 200)) {
        return;
    }
    st = stats_of(fx.h);
    CHECK_EQ(st.chunk_size, CS);
    CHECK_EQ(st.chunk_count, 200);
    CHECK_EQ(st.free_chunks, 200);
    CHECK_EQ(st.used_chunks, 0);
    CHECK_EQ(st.live_allocations, 0);
    CHECK_EQ(st.largest_free_run, 200);
    CHECK_EQ(st.buffer_size, fx.size);
    CHECK_EQ(st.metadata_bytes, st.chunks_offset);
    CHECK_PTR_EQ(bma_chunk_ptr(fx.h, 0), fx.buf + st.chunks_offset);
    CHECK_STATUS(bma_alloc_chunks(fx.h, 10, &idx), BMA_OK);  /* [0, 10) */
    CHECK_STATUS(bma_alloc_chunks(fx.h, 70, &idx), BMA_OK);  /* [10, 80) */
    CHECK_STATUS(bma_alloc_chunks(fx.h, 1, &idx), BMA_OK);   /* [80, 81) */
    CHECK_STATUS(bma_alloc_chunks(fx.h, 100, &idx), BMA_OK); /* [81, 181) */
    CHECK_STATUS(bma_free_chunks(fx.h, 10, 70), BMA_OK);
    st = stats_of(fx.h);
    CHECK_EQ(st.free_chunks, 70 + 19);
    CHECK_EQ(st.used_chunks, 111);
    CHECK_EQ(st.live_allocations, 3);
    CHECK_EQ(st.largest_free_run, 70);
    CHECK_STATUS(bma_free_chunks(fx.h, 81, 100), BMA_OK);
    st = stats_of(fx.h);
    CHECK_EQ(st.largest_free_run, 119);
    CHECK_EQ(st.live_allocations, 2);
    CHECK_STATUS(bma_free_chunks(fx.h, 80, 1), BMA_OK);
    CHECK_EQ(stats_of(fx.h).largest_free_run, 190);
    fx_free(&fx);
}

static void walk_reports_allocations_in_index_order(void)
{
    heap_fx fx;
    walk_list w;
    size_t idx = 0;
    const size_t want_index[] = {0, 2, 5, 64, 100, 127};
    const size_t want_count[] = {2, 3, 59, 1, 27, 1};
    if (!fx_new(&fx, CS, 128)) {
        return;
    }
    w = walk_all(fx.h);
    CHECK_EQ(w.n, 0);
    walk_free(&w);
    /* Allocated out of order: the walk is still in index order. */
    CHECK_STATUS(bma_alloc_chunks(fx.h, 100, &idx), BMA_OK);
    CHECK_STATUS(bma_alloc_chunks(fx.h, 27, &idx), BMA_OK);
    CHECK_EQ(idx, 100);
    CHECK_STATUS(bma_alloc_chunks(fx.h, 1, &idx), BMA_OK);
    CHECK_EQ(idx, 127);
    CHECK_STATUS(bma_free_chunks(fx.h, 0, 100), BMA_OK);
    CHECK_STATUS(bma_alloc_chunks(fx.h, 64, &idx), BMA_OK); /* [0, 64) */
    CHECK_STATUS(bma_alloc_chunks(fx.h, 1, &idx), BMA_OK);  /* 64 */
    CHECK_STATUS(bma_free_chunks(fx.h, 0, 64), BMA_OK);
    CHECK_STATUS(bma_alloc_chunks(fx.h, 2, &idx), BMA_OK);  /* [0, 2) */
    CHECK_STATUS(bma_alloc_chunks(fx.h, 3, &idx), BMA_OK);  /* [2, 5) */
    CHECK_STATUS(bma_alloc_chunks(fx.h, 59, &idx), BMA_OK); /* [5, 64) */
    w = walk_all(fx.h);
    if (CHECK_EQ(w.n, 6)) {
        for (size_t i = 0; i < 6; i++) {
            CHECK_CTX("entry %zu", i);
            CHECK_EQ(w.index[i], want_index[i]);
            CHECK_EQ(w.count[i], want_count[i]);
        }
    }
    walk_free(&w);
    CHECK_CTX_CLEAR();
    CHECK(check_walk_consistent(fx.h));
    fx_free(&fx);
}

static int count_calls_cb(size_t index, size_t count, void *ctx)
{
    size_t *calls = ctx;
    (void)index;
    (void)count;
    ++*calls;
    return 0;
}

static void walk_stops_when_callback_returns_nonzero(void)
{
    heap_fx fx;
    size_t idx = 0, i, stop, calls = 0;
    if (!fx_new(&fx, CS, 64)) {
        return;
    }
    for (i = 0; i < 10; i++) {
        CHECK_STATUS(bma_alloc_chunks(fx.h, i + 1, &idx), BMA_OK);
    }
    for (stop = 1; stop <= 10; stop++) {
        walk_list w;
        memset(&w, 0, sizeof w);
        w.stop_after = stop;
        CHECK_CTX("stop after %zu", stop);
        CHECK_STATUS(bma_walk(fx.h, walk_collect_cb, &w), BMA_OK);
        CHECK_EQ(w.n, stop);
        if (w.n >= 1) {
            CHECK_EQ(w.index[w.n - 1], (stop - 1) * stop / 2);
            CHECK_EQ(w.count[w.n - 1], stop);
        }
        walk_free(&w);
    }
    CHECK_CTX_CLEAR();
    CHECK_STATUS(bma_walk(fx.h, count_calls_cb, &calls), BMA_OK);
    CHECK_EQ(calls, 10);
    fx_free(&fx);
}

static void strerror_names_every_status(void)
{
    const char *seen[BMA_ECORRUPT + 1];
    int s, t;
    for (s = BMA_OK; s <= BMA_ECORRUPT; s++) {
        const char *msg = bma_strerror((bma_status)s);
        seen[s] = msg;
        CHECK_CTX("%s", check_status_name(s));
        CHECK(msg != NULL);
        if (msg == NULL) {
            continue;
        }
        CHECK(msg[0] != '\0');
        CHECK(strcmp(msg, "unknown status") != 0);
        for (t = 0; t < s; t++) {
            CHECK_MSG(seen[t] == NULL || strcmp(seen[t], msg) != 0, "same text as %s: \"%s\"", check_status_name(t),
                      msg);
        }
    }
    CHECK_CTX_CLEAR();
    CHECK(strcmp(bma_strerror((bma_status)(BMA_ECORRUPT + 1)), "unknown status") == 0);
    CHECK(strcmp(bma_strerror((bma_status)99), "unknown status") == 0);
    CHECK(strcmp(bma_strerror((bma_status)-1), "unknown status") == 0);
}

/* Long random sequences of every kind of call: after each, bma_check passes
 * and stats, walk and usable sizes agree with what the test tracked. */
static void check_passes_on_valid_heaps_after_random_operations(void)
{
    const size_t chunk_sizes[] = {1, 16, 256};
    size_t k;
    for (k = 0; k < sizeof chunk_sizes / sizeof chunk_sizes[0]; k++) {
        size_t cs = chunk_sizes[k], nlive = 0, step;
        heap_fx fx;
        void *live[64];
        rng r = {k + 1};
        if (!fx_new(&fx, cs, 333)) {
            return;
        }
        for (step = 0; step < 4000 && CASE_OK(); step++) {
            size_t op = rng_below(&r, 5), size = 1 + rng_below(&r, 40 * cs);
            void *p = NULL;
            CHECK_CTX("cs %zu step %zu op %zu", cs, step, op);
            if ((op <= 1 || nlive == 0) && nlive < 64) {
                size_t align = rng_below(&r, 3) == 0 ? (size_t)1 << rng_below(&r, 10) : 0;
                bma_status s = bma_alloc(fx.h, size, align, &p);
                if (s == BMA_OK) {
                    live[nlive++] = p;
                } else {
                    CHECK_STATUS(s, BMA_ENOMEM);
                }
            } else if (op == 2) {
                size_t j = rng_below(&r, nlive);
                CHECK_STATUS(bma_free(fx.h, live[j]), BMA_OK);
                live[j] = live[--nlive];
            } else if (op == 3) {
                size_t j = rng_below(&r, nlive);
                bma_status s = bma_resize(fx.h, live[j], size);
                if (s != BMA_OK) {
                    CHECK_STATUS(s, BMA_ENOMEM);
                } else {
                    CHECK_EQ(bma_usable_size(fx.h, live[j]), ceil_div(size, cs) * cs);
                }
            } else if (nlive > 0) {
                size_t j = rng_below(&r, nlive);
                bma_status s = bma_realloc(fx.h, live[j], size, 0, &p);
                if (s == BMA_OK) {
                    live[j] = p;
                    CHECK_EQ(bma_usable_size(fx.h, p), ceil_div(size, cs) * cs);
                } else {
                    CHECK_STATUS(s, BMA_ENOMEM);
                }
            }
            CHECK_STATUS(bma_check(fx.h), BMA_OK);
            CHECK_EQ(stats_of(fx.h).live_allocations, nlive);
            check_walk_consistent(fx.h);
        }
        fx_free(&fx);
    }
}

int main(void)
{
    RUN(realloc_shrinks_in_place);
    RUN(realloc_grows_in_place_when_next_chunks_are_free);
    RUN(realloc_moves_when_growth_is_blocked_and_copies);
    RUN(regression_realloc_reuses_its_own_run_before_copying);
    RUN(realloc_with_unmet_alignment_moves_even_when_shrinking);
    RUN(realloc_null_is_alloc);
    RUN(resize_shrinks_and_grows_in_place);
    RUN(usable_size_is_chunk_count_times_chunk_size);
    RUN(stats_are_exact);
    RUN(walk_reports_allocations_in_index_order);
    RUN(walk_stops_when_callback_returns_nonzero);
    RUN(strerror_names_every_status);
    RUN(check_passes_on_valid_heaps_after_random_operations);
    return check_finish("semantics");
}

/* util.h: fixtures shared by the bitmapalloc unit tests: heaps in exactly
 * sized malloc'd buffers, buffer snapshots, a seeded PRNG, bma_walk
 * collection and byte patterns. Needs check.h. */
#ifndef BMA_TEST_UTIL_H
#define BMA_TEST_UTIL_H

#include "check.h"

#include <stdbool.h>

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#ifndef TEST_ASAN
#define TEST_ASAN 0
#endif

/* Exit status meson counts as a skipped test. */
#define EXIT_SKIP 77

/* ------------------------------------------------------------ memory */

/* malloc of exactly n bytes (so ASan and Valgrind report any access past n,
 * and Valgrind any access at all for n == 0); exits if the machine is out of
 * memory, which is not a finding of the test. */
static inline void *xmalloc(size_t n)
{
    void *p = malloc(n); /* NOLINT(clang-analyzer-optin.portability.UnixAPI): n == 0 is deliberate, NULL is handled */
    if (p == NULL) {
        p = n == 0 ? malloc(1) : NULL; /* malloc(0) may return NULL */
    }
    if (p == NULL) {
        fprintf(stderr, "test setup: out of memory allocating %zu bytes\n", n);
        exit(99);
    }
    return p;
}

/* n bytes at an address aligned to align (a power of two >= sizeof(void *)). */
static inline void *xaligned(size_t align, size_t n)
{
    void *p = NULL;
    if (posix_memalign(&p, align, n != 0 ? n : 1) != 0) {
        fprintf(stderr, "test setup: posix_memalign(%zu, %zu) failed\n", align, n);
        exit(99);
    }
    return p;
}

static inline size_t ceil_div(size_t a, size_t b) { return a / b + (a % b != 0); }

/* Offset of the first differing byte, or n if the ranges are equal. */
static inline size_t first_diff(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    size_t i;
    for (i = 0; i < n; i++) {
        if (x[i] != y[i]) {
            return i;
        }
    }
    return n;
}

/* ------------------------------------------------------------- heaps */

/* A heap in a malloc'd buffer of exactly size bytes. */
typedef struct heap_fx {
    unsigned char *mem; /* what to free() */
    unsigned char *buf; /* the heap buffer: mem, or mem + an offset */
    size_t size;        /* bytes of buf */
    bma_heap *h;
    bma_stats st; /* right after init */
} heap_fx;

/* Makes fx a fresh heap of exactly nchunks chunks of cs bytes, in a buffer of
 * bma_buffer_size(cs, nchunks * cs) + slack bytes that was filled with the byte
 * fill before bma_init. buf_align 0 means plain malloc (16-aligned); otherwise
 * the buffer address is a multiple of buf_align. Returns 0 (after a failed
 * check) if that is not what the library produced. */
static inline int fx_new_ex(heap_fx *fx, size_t cs, size_t nchunks, size_t slack, size_t buf_align, int fill)
{
    size_t need = 0;
    memset(fx, 0, sizeof *fx);
    if (!CHECK_STATUS(bma_buffer_size(cs, nchunks * cs, &need), BMA_OK)) {
        return 0;
    }
    fx->size = need + slack;
    fx->mem = buf_align == 0 ? xmalloc(fx->size) : xaligned(buf_align, fx->size);
    fx->buf = fx->mem;
    memset(fx->buf, fill, fx->size);
    if (!CHECK_STATUS(bma_init(fx->buf, fx->size, cs, &fx->h), BMA_OK)) {
        free(fx->mem);
        fx->mem = NULL;
        return 0;
    }
    CHECK_PTR_EQ(fx->h, fx->buf);
    if (!CHECK_STATUS(bma_get_stats(fx->h, &fx->st), BMA_OK) || !CHECK_EQ(fx->st.chunk_count, nchunks)) {
        bma_detach(fx->h);
        free(fx->mem);
        fx->mem = NULL;
        return 0;
    }
    return 1;
}

static inline int fx_new(heap_fx *fx, size_t cs, size_t nchunks) { return fx_new_ex(fx, cs, nchunks, 0, 0, 0xA5); }

/* Empties the heap again (same buffer, same geometry). */
static inline int fx_reset(heap_fx *fx)
{
    bma_heap *h = NULL;
    if (!CHECK_STATUS(bma_init(fx->buf, fx->size, fx->st.chunk_size, &h), BMA_OK)) {
        return 0;
    }
    return CHECK_PTR_EQ(h, fx->h);
}

static inline void fx_free(heap_fx *fx)
{
    if (fx->mem != NULL) {
        if (fx->h != NULL) {
            bma_detach(fx->h); /* hand the bytes back to malloc unpoisoned */
        }
        free(fx->mem);
    }
    memset(fx, 0, sizeof *fx);
}

static inline bma_stats stats_of(const bma_heap *h)
{
    bma_stats st;
    memset(&st, 0, sizeof st);
    CHECK_STATUS(bma_get_stats(h, &st), BMA_OK);
    return st;
}

/* The chunk index of p (SIZE_MAX after a failed check). */
static inline size_t index_of(const bma_heap *h, const void *p)
{
    size_t i = SIZE_MAX;
    CHECK_STATUS(bma_chunk_index(h, p, &i), BMA_OK);
    return i;
}

/* Ends sanitizer tracking (so every byte may be read) and copies the whole
 * buffer. Free with free(). */
static inline unsigned char *fx_snapshot(const heap_fx *fx)
{
    unsigned char *copy = xmalloc(fx->size);
    CHECK_STATUS(bma_detach(fx->h), BMA_OK);
    memcpy(copy, fx->buf, fx->size);
    return copy;
}

/* The buffer is byte-identical to the snapshot. */
#define CHECK_UNCHANGED(fx, snap)                                                              \
    CHECK_MSG(first_diff((fx)->buf, (snap), (fx)->size) == (fx)->size,                         \
              "buffer changed: first difference at offset %zu of %zu (metadata is %zu bytes)", \
              first_diff((fx)->buf, (snap), (fx)->size), (fx)->size, (fx)->st.metadata_bytes)

/* ------------------------------------------------------------- PRNG */

/* splitmix64: small, seeded, the same on every platform. */
typedef struct rng {
    uint64_t s;
} rng;

static inline uint64_t rng_next(rng *r)
{
    uint64_t z = (r->s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Uniform-ish in [0, n); n > 0. */
static inline size_t rng_below(rng *r, size_t n) { return (size_t)(rng_next(r) % (uint64_t)n); }

/* -------------------------------------------------------------- walk */

typedef struct walk_list {
    size_t n, cap, stop_after; /* stop_after 0: never stop early */
    size_t *index, *count;
} walk_list;

static inline int walk_collect_cb(size_t index, size_t count, void *ctx)
{
    walk_list *w = ctx;
    if (w->n == w->cap) {
        w->cap = w->cap != 0 ? 2 * w->cap : 64;
        w->index = realloc(w->index, w->cap * sizeof *w->index);
        w->count = realloc(w->count, w->cap * sizeof *w->count);
        if (w->index == NULL || w->count == NULL) {
            fprintf(stderr, "test setup: out of memory in walk\n");
            exit(99);
        }
    }
    w->index[w->n] = index;
    w->count[w->n] = count;
    w->n++;
    return w->stop_after != 0 && w->n >= w->stop_after;
}

/* Every live allocation, by bma_walk. Free with walk_free. */
static inline walk_list walk_all(const bma_heap *h)
{
    walk_list w;
    memset(&w, 0, sizeof w);
    CHECK_STATUS(bma_walk(h, walk_collect_cb, &w), BMA_OK);
    return w;
}

static inline void walk_free(walk_list *w)
{
    free(w->index);
    free(w->count);
    memset(w, 0, sizeof *w);
}

/* The walk is in strictly increasing, non-overlapping index order and agrees
 * with the stats (allocation count, used chunks). */
static inline int check_walk_consistent(const bma_heap *h)
{
    walk_list w = walk_all(h);
    bma_stats st = stats_of(h);
    size_t i, used = 0;
    int ok = 1;
    for (i = 0; i < w.n; i++) {
        ok &= CHECK(w.count[i] > 0);
        ok &= CHECK(w.index[i] + w.count[i] <= st.chunk_count);
        if (i > 0) {
            ok &= CHECK(w.index[i] >= w.index[i - 1] + w.count[i - 1]);
        }
        used += w.count[i];
    }
    ok &= CHECK_EQ(w.n, st.live_allocations);
    ok &= CHECK_EQ(used, st.used_chunks);
    ok &= CHECK_EQ(st.used_chunks + st.free_chunks, st.chunk_count);
    walk_free(&w);
    return ok;
}

/* ----------------------------------------------------------- patterns */

static inline unsigned char pattern_byte(uint64_t seed, size_t i)
{
    return (unsigned char)((seed * 131u + i * 7u + (i >> 8) * 13u) & 0xFFu);
}

static inline void pattern_fill(void *p, size_t n, uint64_t seed)
{
    unsigned char *b = p;
    size_t i;
    for (i = 0; i < n; i++) {
        b[i] = pattern_byte(seed, i);
    }
}

/* Offset of the first byte that is not the pattern, or n. */
static inline size_t pattern_find_mismatch(const void *p, size_t n, uint64_t seed)
{
    const unsigned char *b = p;
    size_t i;
    for (i = 0; i < n; i++) {
        if (b[i] != pattern_byte(seed, i)) {
            return i;
        }
    }
    return n;
}

#define CHECK_PATTERN(p, n, seed)                                                                       \
    CHECK_MSG(pattern_find_mismatch((p), (n), (seed)) == (n), "pattern %llu broken at byte %zu of %zu", \
              (unsigned long long)(seed), pattern_find_mismatch((p), (n), (seed)), (size_t)(n))

#endif

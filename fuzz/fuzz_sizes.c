/* Size arithmetic at the extremes. Each case's answer is computed here,
 * independently of the library and the oracle, from the contract alone:
 * argument errors (EINVAL) first, then an exact product or sum that exceeds
 * SIZE_MAX (EOVERFLOW, found with __builtin_mul_overflow/__builtin_add_overflow),
 * then placement (ENOMEM iff no aligned run exists, worked out by hand for a
 * heap that is empty or holds one chunk at index 0).
 *
 * Encoding (producer.h, from the end): cs_log range(0, 12), chunks
 * range(1, 300), then cases until the input runs out: case range(0, SC_COUNT-1)
 * and its values, each from pick(): kind range(0, 7) of
 *   0 range(0, 64)      1 1 << range(0, 63)   2 (1 << range(0, 63)) + range(0, 2) - 1
 *   3 SIZE_MAX - range(0, 4096)   4 SIZE_MAX / range(1, 4096) + range(0, 2)
 *   5 any 64-bit value   6 zero   7 range(1, 1 << 20) */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bitmapalloc.h"
#include "diff.h"
#include "producer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum sc {
    SC_BUFFER_SIZE,  /* cs, capacity */
    SC_ALLOC,        /* size, align (empty heap) */
    SC_ALLOC_ARRAY,  /* elem, count, align (empty heap) */
    SC_ALLOC_CHUNKS, /* count (empty heap) */
    SC_FREE_SIZED,   /* size (one chunk live at 0) */
    SC_FREE_CHUNKS,  /* index, count (one chunk live at 0) */
    SC_RESIZE,       /* size (one chunk live at 0) */
    SC_REALLOC,      /* null? bool, size, align (one chunk live at 0) */
    SC_INIT,         /* cs, slack range(0, 4096) */
    SC_CHUNK_PTR,    /* index */
    SC_COUNT
};

static const char *const sc_names[] = {"buffer_size", "alloc",  "alloc_array", "alloc_chunks", "free_sized",
                                       "free_chunks", "resize", "realloc",     "init",         "chunk_ptr"};

typedef struct ctx {
    fdp p;
    size_t cs, chunks, buf_size, co; /* the test heap's geometry */
    uint8_t *buf;
    bma_heap *h;
    int state;                  /* what the heap holds: HEAP_UNKNOWN, HEAP_EMPTY or HEAP_ONE (chunk 0 live) */
    size_t held[300][2], nheld; /* empty_out's walk: index, count */
    char what[200];
} ctx;

enum { HEAP_UNKNOWN, HEAP_EMPTY, HEAP_ONE };

#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 2, 3)))
#endif
static void
expect_fail(const ctx *c, const char *fmt, ...);

#define EXPECT(c, cond, ...)               \
    do {                                   \
        if (!(cond))                       \
            expect_fail((c), __VA_ARGS__); \
    } while (0)

static void expect_fail(const ctx *c, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "fuzz_sizes: %s (heap: chunk_size %zu, %zu chunks, chunks_offset %zu)\n  ", c->what, c->cs,
            c->chunks, c->co);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

static const char *sn(bma_status s) { return bma_strerror(s); }

static int pow2(size_t x) { return x && !(x & (x - 1)); }

static size_t pick(fdp *p)
{
    switch (fdp_range(p, 0, 7)) {
    case 0: return fdp_size(p, 0, 64);
    case 1: return (size_t)1 << fdp_range(p, 0, 63);
    case 2: return ((size_t)1 << fdp_range(p, 0, 63)) + fdp_size(p, 0, 2) - 1;
    case 3: return SIZE_MAX - fdp_size(p, 0, 4096);
    case 4: return SIZE_MAX / fdp_size(p, 1, 4096) + fdp_size(p, 0, 2);
    case 5: return (size_t)fdp_range(p, 0, UINT64_MAX);
    case 6: return 0;
    default: return fdp_size(p, 1, (size_t)1 << 20);
    }
}

/* bma_init is linear in the chunk count (and under ASan and coverage
 * tracing, slow): case_init clamps its buffer to INIT_MAX_CHUNKS chunks (the
 * answer stays OK), and case_buffer_size's round trip through bma_init runs
 * for at most RT_MAX_CHUNKS chunks (two index levels; fuzz_ops covers heaps
 * up to 2^16 chunks too). Uncapped, these inits took most of the time. */
#define INIT_MAX_CHUNKS ((size_t)4096)
#ifndef RT_MAX_CHUNKS
#define RT_MAX_CHUNKS ((size_t)65536)
#endif

static size_t ceil_div(size_t a, size_t b) { return a / b + (a % b != 0); }

/* Lowest chunk index >= from whose offset meets align (0: chunk alignment)
 * and that starts a run of n chunks inside the heap; SIZE_MAX if none. */
static size_t first_fit(const ctx *c, size_t from, size_t n, size_t align)
{
    size_t i = from;
    if (align > c->cs) {
        size_t step = align / c->cs, k = c->co / c->cs;
        i = (step - k % step) % step; /* (k + i) % step == 0 */
        if (i < from) {
            i += step * ceil_div(from - i, step);
        }
    }
    return i < c->chunks && n <= c->chunks - i ? i : SIZE_MAX;
}

/* A fresh heap, optionally with one chunk allocated at index 0. */
static void release(ctx *c)
{
    /* The old heap's free chunks are ASan-poisoned until detached. */
    if (c->h) {
        bma_detach(c->h);
    }
    c->h = NULL;
    c->state = HEAP_UNKNOWN;
}

static int collect(size_t index, size_t count, void *arg)
{
    ctx *c = arg;
    if (c->nheld < sizeof c->held / sizeof c->held[0]) {
        c->held[c->nheld][0] = index;
        c->held[c->nheld][1] = count;
    }
    c->nheld++;
    return 0;
}

/* Frees every allocation of the heap (at most one per chunk); 1 if it is
 * then empty. Cheaper than bma_init, which under ASan is linear in bytes. */
static int empty_out(ctx *c)
{
    bma_stats s;
    c->nheld = 0;
    if (bma_walk(c->h, collect, c) != BMA_OK || c->nheld > sizeof c->held / sizeof c->held[0]) {
        return 0;
    }
    for (size_t k = 0; k < c->nheld; k++) {
        bma_status st = bma_free_chunks(c->h, c->held[k][0], c->held[k][1]);
        EXPECT(c, st == BMA_OK, "free_chunks(%zu, %zu) of a walked allocation = %s", c->held[k][0], c->held[k][1],
               sn(st));
    }
    return bma_get_stats(c->h, &s) == BMA_OK && s.used_chunks == 0 && s.largest_free_run == c->chunks;
}

/* A heap that is empty, or holds one chunk at index 0. A new bma_init per
 * case made this harness slow (under ASan, init is linear in the buffer), so
 * the heap is kept from case to case when the stats say it is in the state
 * asked for, or one alloc or free away from it. */
static void fresh(ctx *c, int one_live)
{
    int want = one_live ? HEAP_ONE : HEAP_EMPTY;
    bma_status st;
    size_t i = 1;
    if (c->state == want) {
        return;
    }
    if (c->state == HEAP_EMPTY) {
        st = bma_alloc_chunks(c->h, 1, &i);
        EXPECT(c, st == BMA_OK && i == 0, "alloc_chunks(1) on an empty heap = %s at %zu", sn(st), i);
    } else if (c->state == HEAP_ONE) {
        st = bma_free_chunks(c->h, 0, 1);
        EXPECT(c, st == BMA_OK, "free_chunks(0, 1) = %s", sn(st));
    } else if (c->h && empty_out(c)) {
        if (one_live) {
            st = bma_alloc_chunks(c->h, 1, &i);
            EXPECT(c, st == BMA_OK && i == 0, "alloc_chunks(1) on an emptied heap = %s at %zu", sn(st), i);
        }
    } else {
        release(c);
        st = bma_init(c->buf, c->buf_size, c->cs, &c->h);
        EXPECT(c, st == BMA_OK, "bma_init = %s", sn(st));
        if (one_live) {
            st = bma_alloc_chunks(c->h, 1, &i);
            EXPECT(c, st == BMA_OK && i == 0, "first alloc_chunks = %s at %zu", sn(st), i);
        }
    }
    c->state = want;
}

/* After a case: what the heap holds now, from the stats and chunk 0. */
static void settle_state(ctx *c)
{
    bma_stats s;
    c->state = HEAP_UNKNOWN;
    if (!c->h || bma_get_stats(c->h, &s) != BMA_OK) {
        return;
    }
    if (s.used_chunks == 0 && s.live_allocations == 0 && s.largest_free_run == c->chunks) {
        c->state = HEAP_EMPTY;
    } else if (s.used_chunks == 1 && s.live_allocations == 1 && bma_usable_size(c->h, c->buf + c->co) == c->cs) {
        c->state = HEAP_ONE;
    }
}

static void *at(const ctx *c, size_t index) { return c->buf + c->co + index * c->cs; }

/* The answer of a placement request for n chunks, as the contract gives it. */
static void expect_placed(ctx *c, bma_status st, void *got, size_t n, size_t align, size_t from)
{
    size_t i = first_fit(c, from, n, align);
    if (i == SIZE_MAX) {
        EXPECT(c, st == BMA_ENOMEM, "%s, want ENOMEM", sn(st));
        return;
    }
    EXPECT(c, st == BMA_OK, "%s, want OK at chunk %zu", sn(st), i);
    EXPECT(c, got == at(c, i), "placed at offset %zu, want chunk %zu", (size_t)((uintptr_t)got - (uintptr_t)c->buf), i);
}

static void case_buffer_size(ctx *c)
{
    size_t cs = fdp_range(&c->p, 0, 1) ? pick(&c->p) : (size_t)1 << fdp_range(&c->p, 0, 63), cap = pick(&c->p);
    size_t out = 12345, prod, low;
    snprintf(c->what, sizeof c->what, "bma_buffer_size(%zu, %zu)", cs, cap);
    bma_status st = bma_buffer_size(cs, cap, &out);
    if (!pow2(cs) || cap == 0) {
        EXPECT(c, st == BMA_EINVAL && out == 12345, "%s, want EINVAL", sn(st));
        return;
    }
    /* The chunks need ceil(cap/cs) * cs bytes, and the metadata at least one
     * more chunk, since the chunk region starts at a non-zero multiple of cs. */
    size_t n = ceil_div(cap, cs);
    if (__builtin_mul_overflow(n, cs, &prod) || __builtin_add_overflow(prod, cs, &low)) {
        EXPECT(c, st == BMA_EOVERFLOW, "%s, want EOVERFLOW", sn(st));
        return;
    }
    /* Metadata is far below one byte per chunk plus 4 KiB: if even that
     * fits, the exact size fits too and EOVERFLOW is wrong. */
    size_t high = 0, meta;
    int high_ovf = __builtin_add_overflow(n, (size_t)4096, &meta) || __builtin_add_overflow(meta, cs - 1, &high) ||
                   __builtin_add_overflow(high / cs * cs, prod, &high);
    if (st == BMA_EOVERFLOW) {
        EXPECT(c, high_ovf, "EOVERFLOW although even %zu bytes would do", high);
        return;
    }
    EXPECT(c, st == BMA_OK, "%s, want OK or EOVERFLOW", sn(st));
    EXPECT(c, out >= low && (high_ovf || out <= high), "%zu bytes, outside [%zu, %zu]", out, low, high);
    /* Monotonic in capacity. */
    size_t more = 0;
    if (cap < SIZE_MAX && bma_buffer_size(cs, cap + 1, &more) == BMA_OK) {
        EXPECT(c, more >= out, "capacity %zu needs %zu bytes, one byte more needs only %zu", cap, out, more);
    }
    /* Round trip through bma_init for buffers small enough to make, and
     * quick enough to initialise (see INIT_MAX_CHUNKS). */
    if (out <= ((size_t)1 << 20) && cs <= out && n <= RT_MAX_CHUNKS) {
        /* chunk_count >= n iff chunk n - 1 has an address: O(1), where
         * bma_get_stats would be O(chunk_count) */
        uint8_t *b = diff_buffer(DBUF_USER2, out);
        bma_heap *h;
        st = bma_init(b, out, cs, &h);
        EXPECT(c, st == BMA_OK, "bma_init(%zu bytes) = %s", out, sn(st));
        EXPECT(c, bma_chunk_ptr(h, n - 1) != NULL, "bma_init(%zu bytes) made fewer than %zu chunks", out, n);
        bma_detach(h);
        st = bma_init(b, out - 1, cs, &h);
        if (st == BMA_OK) {
            EXPECT(c, bma_chunk_ptr(h, n - 1) == NULL, "%zu bytes is not the smallest: %zu bytes hold %zu chunks", out,
                   out - 1, n);
            bma_detach(h);
        } else {
            EXPECT(c, st == BMA_ENOMEM && n == 1, "bma_init(%zu bytes) = %s", out - 1, sn(st));
        }
    }
}

static int align_ok(size_t a) { return a == 0 || pow2(a); }

static void case_alloc(ctx *c, int array)
{
    size_t elem = 1, count = 1, size = 0, align;
    if (array) {
        elem = pick(&c->p);
        count = pick(&c->p);
    } else {
        size = pick(&c->p);
    }
    align = pick(&c->p);
    fresh(c, 0);
    void *got = NULL;
    bma_status st;
    if (array) {
        snprintf(c->what, sizeof c->what, "bma_alloc_array(elem %zu, count %zu, align %zu)", elem, count, align);
        st = bma_alloc_array(c->h, elem, count, align, &got);
        if (!elem || !count || !align_ok(align)) {
            EXPECT(c, st == BMA_EINVAL, "%s, want EINVAL", sn(st));
            return;
        }
        if (__builtin_mul_overflow(elem, count, &size)) {
            EXPECT(c, st == BMA_EOVERFLOW, "%s, want EOVERFLOW", sn(st));
            return;
        }
    } else {
        snprintf(c->what, sizeof c->what, "bma_alloc(size %zu, align %zu)", size, align);
        st = bma_alloc(c->h, size, align, &got);
        if (!size || !align_ok(align)) {
            EXPECT(c, st == BMA_EINVAL, "%s, want EINVAL", sn(st));
            return;
        }
    }
    /* Representable but too big is ENOMEM, never EOVERFLOW. */
    expect_placed(c, st, got, ceil_div(size, c->cs), align, 0);
}

static void case_alloc_chunks(ctx *c)
{
    size_t count = pick(&c->p), idx = 777;
    snprintf(c->what, sizeof c->what, "bma_alloc_chunks(%zu)", count);
    fresh(c, 0);
    bma_status st = bma_alloc_chunks(c->h, count, &idx);
    if (!count) {
        EXPECT(c, st == BMA_EINVAL, "%s, want EINVAL", sn(st));
    } else if (count > c->chunks) {
        EXPECT(c, st == BMA_ENOMEM && idx == 777, "%s, want ENOMEM", sn(st));
    } else {
        EXPECT(c, st == BMA_OK && idx == 0, "%s at %zu, want OK at 0", sn(st), idx);
    }
}

static void case_free_sized(ctx *c)
{
    size_t size = pick(&c->p);
    snprintf(c->what, sizeof c->what, "bma_free_sized(chunk 0 of 1, %zu)", size);
    fresh(c, 1);
    bma_status st = bma_free_sized(c->h, at(c, 0), size), want;
    want = !size ? BMA_EINVAL : ceil_div(size, c->cs) == 1 ? BMA_OK : BMA_ESIZE;
    EXPECT(c, st == want, "%s, want %s", sn(st), sn(want));
}

static void case_free_chunks(ctx *c)
{
    size_t index = fdp_range(&c->p, 0, 1) ? pick(&c->p) : 0, count = pick(&c->p);
    snprintf(c->what, sizeof c->what, "bma_free_chunks(%zu, %zu) with chunk 0 live", index, count);
    fresh(c, 1);
    bma_status st = bma_free_chunks(c->h, index, count), want;
    if (!count) {
        want = BMA_EINVAL;
    } else if (index == 0) {
        want = count == 1 ? BMA_OK : BMA_ESIZE;
    } else {
        want = index < c->chunks ? BMA_EDOUBLEFREE : BMA_EBADPTR;
    }
    EXPECT(c, st == want, "%s, want %s", sn(st), sn(want));
}

static void case_resize(ctx *c)
{
    size_t size = pick(&c->p);
    snprintf(c->what, sizeof c->what, "bma_resize(chunk 0 of 1, %zu)", size);
    fresh(c, 1);
    bma_status st = bma_resize(c->h, at(c, 0), size), want;
    want = !size ? BMA_EINVAL : ceil_div(size, c->cs) <= c->chunks ? BMA_OK : BMA_ENOMEM;
    EXPECT(c, st == want, "%s, want %s", sn(st), sn(want));
}

static void case_realloc(ctx *c)
{
    int null = fdp_bool(&c->p);
    size_t size = pick(&c->p), align = pick(&c->p);
    snprintf(c->what, sizeof c->what, "bma_realloc(%s, %zu, align %zu)", null ? "NULL" : "chunk 0 of 1", size, align);
    fresh(c, 1);
    void *got = NULL;
    bma_status st = bma_realloc(c->h, null ? NULL : at(c, 0), size, align, &got);
    if (!size || !align_ok(align)) {
        EXPECT(c, st == BMA_EINVAL, "%s, want EINVAL", sn(st));
        return;
    }
    size_t n = ceil_div(size, c->cs);
    if (!null && (align == 0 || c->co % align == 0) && n <= c->chunks) {
        EXPECT(c, st == BMA_OK && got == at(c, 0), "%s, want OK in place", sn(st));
        return;
    }
    /* Moving (or a fresh alloc): chunk 0 is held, so the run starts at >= 1. */
    expect_placed(c, st, got, n, align, 1);
}

static void case_init(ctx *c)
{
    size_t cs = fdp_range(&c->p, 0, 1) ? pick(&c->p) : (size_t)1 << fdp_range(&c->p, 0, 63);
    size_t slack = fdp_size(&c->p, 0, 4096), size = c->buf_size - slack % (c->buf_size + 1), need = 0;
    if (pow2(cs) && size / cs > INIT_MAX_CHUNKS) {
        size = INIT_MAX_CHUNKS * cs; /* same answer (OK), without a long init */
    }
    snprintf(c->what, sizeof c->what, "bma_init(%zu bytes, chunk %zu)", size, cs);
    bma_heap *h = NULL;
    release(c);
    bma_status st = bma_init(c->buf, size, cs, &h);
    if (!pow2(cs)) {
        EXPECT(c, st == BMA_EINVAL, "%s, want EINVAL", sn(st));
        return;
    }
    bma_status bs = bma_buffer_size(cs, cs, &need);
    bma_status want = bs == BMA_OK && need <= size ? BMA_OK : BMA_ENOMEM;
    EXPECT(c, st == want, "%s, want %s (bma_buffer_size(cs, cs) = %s, %zu)", sn(st), sn(want), sn(bs), need);
    if (st == BMA_OK) {
        bma_detach(h);
    }
}

static void case_chunk_ptr(ctx *c)
{
    size_t index = pick(&c->p);
    snprintf(c->what, sizeof c->what, "bma_chunk_ptr(%zu)", index);
    fresh(c, 0);
    void *p = bma_chunk_ptr(c->h, index);
    EXPECT(c, p == (index < c->chunks ? at(c, index) : NULL), "returned %p", p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int trace = -1;
    if (trace < 0) {
        trace = getenv("FUZZ_TRACE") != NULL;
    }
    ctx c;
    memset(&c, 0, sizeof c);
    fdp_init(&c.p, data, size);
    c.cs = (size_t)1 << fdp_range(&c.p, 0, 12);
    c.chunks = fdp_size(&c.p, 1, 300);
    snprintf(c.what, sizeof c.what, "setup");
    EXPECT(&c, bma_buffer_size(c.cs, c.chunks * c.cs, &c.buf_size) == BMA_OK, "bma_buffer_size failed");
    c.buf = diff_buffer(DBUF_USER1, c.buf_size);
    fresh(&c, 0);
    bma_stats s;
    bma_get_stats(c.h, &s);
    c.co = s.chunks_offset;
    EXPECT(&c, s.chunk_count == c.chunks, "heap of %zu chunks has %zu", c.chunks, s.chunk_count);
    for (unsigned n = 0; fdp_remaining(&c.p) > 0 && n < 1000; n++) {
        unsigned sc = (unsigned)fdp_range(&c.p, 0, SC_COUNT - 1);
        c.what[0] = 0; /* each case names itself */
        switch (sc) {
        case SC_BUFFER_SIZE: case_buffer_size(&c); break;
        case SC_ALLOC: case_alloc(&c, 0); break;
        case SC_ALLOC_ARRAY: case_alloc(&c, 1); break;
        case SC_ALLOC_CHUNKS: case_alloc_chunks(&c); break;
        case SC_FREE_SIZED: case_free_sized(&c); break;
        case SC_FREE_CHUNKS: case_free_chunks(&c); break;
        case SC_RESIZE: case_resize(&c); break;
        case SC_REALLOC: case_realloc(&c); break;
        case SC_INIT: case_init(&c); break;
        default: case_chunk_ptr(&c); break;
        }
        if (trace) {
            fprintf(stderr, "%s: %s ok\n", sc_names[sc], c.what);
        }
        settle_state(&c);
    }
    release(&c);
    return 0;
}

/* The differential engine; see diff.h for the input encoding.
 *
 * Every op calls the library and the oracle with the same arguments and
 * settle() compares what came back. Each op then checks what it could have
 * changed (see diff.h, "Checks"): the chunks it took or released and the
 * chunk on either side, the byte patterns of the allocations it touched, the
 * O(1) counters, and for a failing or read-only call that the metadata is
 * byte-identical. full_check() compares everything (bma_check, the stats,
 * the walk, every live pattern) every DIFF_FULL_EVERY ops, after every
 * relocation and attach, and at the end of every input. Every live
 * allocation holds a byte pattern derived from its id over its whole usable
 * size, so a lost copy, an overlapping allocation or a stray write shows up
 * as a pattern mismatch. */
#include "diff.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bitmapalloc.h"
#include "oracle.h"
#include "producer.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DIFF_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define DIFF_ASAN 1
#endif
#ifdef DIFF_ASAN
#include <sanitizer/asan_interface.h>
#define DIFF_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define DIFF_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define DIFF_POISON(p, n) ((void)(p), (void)(n))
#define DIFF_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define SENTINEL_IDX ((size_t)0x5e5e5e5e5e5e5e5eULL)

/* An address that no call may return, to see that *out stays unwritten. */
static char sentinel_obj;
#define SENTINEL_PTR ((void *)&sentinel_obj)

typedef struct live {
    size_t index, count;
    uint32_t id;
} live;

typedef struct eng {
    fdp p;
    uint8_t *buf; /* diff_buffer(slot, buf_size): buf_size addressable bytes */
    size_t buf_size;
    unsigned slot; /* DBUF_HEAP or DBUF_HEAP2: relocation moves to the other */
    bma_heap *h;
    orc_heap *o;
    bma_stats g; /* geometry, fixed for the heap's life */
    live *lv;    /* sorted by index */
    size_t nlive, lvcap;
    size_t used; /* chunks held by the live table: the engine's O(1) counter */
    uint32_t next_id;
    size_t last_freed; /* chunk index of the start most recently freed */
    uint8_t *snap;     /* metadata as the last successful change left it */
    size_t snap_len;
    int snap_stale;                  /* a successful change since snap was taken */
    unsigned long since_full;        /* ops since the last full_check */
    size_t *wi, *wc, *oi, *oc, wcap; /* walk lists: library, oracle */
    size_t wn;
    unsigned long nops;
    int readonly; /* the current op must not change the metadata at all */
    int trace;
    char desc[256];
} eng;

static diff_totals totals;

diff_totals diff_get_totals(void) { return totals; }

/* ------------------------------------------------------------- failures */

static const char *st_name(bma_status s)
{
    static const char *const names[] = {"OK",      "EINVAL",      "EOVERFLOW", "ENOMEM",
                                        "EBADPTR", "EDOUBLEFREE", "ESIZE",     "ECORRUPT"};
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}

#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 2, 3), noreturn))
#endif
static void
fail(const eng *e, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "\nbitmapalloc differential MISMATCH at op #%lu: %s\n  ", e->nops, e->desc);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr,
            "\n  geometry: chunk_size=%zu chunk_count=%zu chunks_offset=%zu buffer=%zu (malloc %zu) metadata=%zu\n",
            e->g.chunk_size, e->g.chunk_count, e->g.chunks_offset, e->g.buffer_size, e->buf_size, e->g.metadata_bytes);
    fprintf(stderr, "  live allocations (%zu):", e->nlive);
    for (size_t i = 0; i < e->nlive && i < 16; i++) {
        fprintf(stderr, " [%zu+%zu #%u]", e->lv[i].index, e->lv[i].count, (unsigned)e->lv[i].id);
    }
    fprintf(stderr, "%s\n  rerun with FUZZ_TRACE=1 for the op-by-op story\n", e->nlive > 16 ? " ..." : "");
    abort();
}

#define EXPECT(e, cond, ...)        \
    do {                            \
        if (!(cond))                \
            fail((e), __VA_ARGS__); \
    } while (0)

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "diff: out of memory (%zu bytes)\n", n);
        abort();
    }
    return p;
}

/* ------------------------------------------------------ buffer pool */

/* Heap buffers are reused from one input to the next: a fresh malloc of up
 * to 4 MiB per input (and per relocation) cost more in page faults and
 * munmap than the ops themselves. Each slot keeps one allocation; the bytes
 * past the size asked for are ASan-poisoned, so an over-read past buf_size
 * is still reported, as with an exact-size malloc. */
typedef struct pool {
    uint8_t *base;
    size_t cap;
    size_t size; /* [0, size) addressable, [size, cap) poisoned */
} pool;

static pool pools[DBUF_COUNT];

uint8_t *diff_buffer(unsigned slot, size_t size)
{
    pool *p = &pools[slot];
    if (size > p->cap || !p->base) {
        if (p->base) {
            DIFF_UNPOISON(p->base, p->cap);
            free(p->base);
        }
        p->cap = (size + size / 4 + 4096) & ~(size_t)7;
        p->base = malloc(p->cap);
        if (!p->base) {
            fprintf(stderr, "diff: out of memory (%zu bytes)\n", p->cap);
            abort();
        }
        memset(p->base, 0xA5, p->cap); /* defined once, so whole-buffer compares stay meaningful (and MSan-clean) */
        p->size = p->cap;
    }
    /* Only the part between the old and the new size changes: a full update
     * writes cap / 8 shadow bytes, which for MiB-sized slots cost as much as
     * a small input's ops. */
    if (size > p->size) {
        DIFF_UNPOISON(p->base + p->size, size - p->size);
    } else {
        DIFF_POISON(p->base + size, p->size - size);
    }
    p->size = size;
    return p->base;
}

/* Every byte of the slot unaddressable: a stale pointer into it is reported. */
static void buffer_retire(unsigned slot)
{
    if (pools[slot].base) {
        DIFF_POISON(pools[slot].base, pools[slot].cap);
        pools[slot].size = 0;
    }
}

static int trace_enabled(void)
{
    static int cached = -1;
    if (cached < 0) {
        const char *v = getenv("FUZZ_TRACE");
        cached = v && *v && strcmp(v, "0") != 0;
    }
    return cached;
}

/* ------------------------------------------------------------- geometry */

static size_t cs_of(const eng *e) { return e->g.chunk_size; }
static size_t chunk_off(const eng *e, size_t i) { return e->g.chunks_offset + i * e->g.chunk_size; }
static size_t region_end(const eng *e) { return chunk_off(e, e->g.chunk_count); }
static size_t chunks_for(const eng *e, size_t size) { return size / cs_of(e) + (size % cs_of(e) != 0); }
static uint8_t *chunk_mem(const eng *e, size_t i) { return e->buf + chunk_off(e, i); }
/* Pointers outside the buffer are made through uintptr_t: out-of-object
 * pointer arithmetic would be UB, an integer conversion is not. */
static void *ptr_at(const eng *e, size_t off)
{
    return (void *)((uintptr_t)e->buf + off); /* NOLINT(performance-no-int-to-ptr): see above */
}
static size_t off_of(const eng *e, const void *p) { return (size_t)((uintptr_t)p - (uintptr_t)e->buf); }

/* Chunk index of an offset that is a chunk boundary inside the region. */
static int index_of_off(const eng *e, size_t off, size_t *index)
{
    if (off < e->g.chunks_offset || off >= region_end(e) || (off - e->g.chunks_offset) % cs_of(e)) {
        return 0;
    }
    *index = (off - e->g.chunks_offset) / cs_of(e);
    return 1;
}

/* ------------------------------------------------------------ live table */

static live *live_find(eng *e, size_t index)
{
    size_t lo = 0, hi = e->nlive;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (e->lv[mid].index == index) {
            return &e->lv[mid];
        }
        if (e->lv[mid].index < index) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}

static live *live_insert(eng *e, size_t index, size_t count, uint32_t id)
{
    if (e->nlive == e->lvcap) {
        e->lvcap = e->lvcap ? 2 * e->lvcap : 64;
        live *n = realloc(e->lv, e->lvcap * sizeof *n);
        if (!n) {
            abort();
        }
        e->lv = n;
    }
    size_t pos = 0;
    while (pos < e->nlive && e->lv[pos].index < index) {
        pos++;
    }
    EXPECT(e, pos == e->nlive || e->lv[pos].index != index, "engine: chunk %zu handed out twice", index);
    memmove(&e->lv[pos + 1], &e->lv[pos], (e->nlive - pos) * sizeof *e->lv);
    e->lv[pos] = (live){index, count, id};
    e->nlive++;
    e->used += count;
    return &e->lv[pos];
}

static void live_remove(eng *e, live *l)
{
    size_t pos = (size_t)(l - e->lv);
    e->last_freed = l->index;
    e->used -= l->count;
    memmove(&e->lv[pos], &e->lv[pos + 1], (e->nlive - pos - 1) * sizeof *e->lv);
    e->nlive--;
}

/* ------------------------------------------------------------- patterns */

/* Position-dependent, so data copied to the wrong offset is caught, and
 * id-dependent, so two allocations never look alike. Made a 64-bit word at a
 * time: filling and checking whole MiB-sized allocations is most of a run. */
static uint64_t pat_word(uint32_t id, size_t k)
{
    uint64_t x = ((uint64_t)id + 1) * 0x9E3779B97F4A7C15ULL ^ (uint64_t)k * 0xD6E8FEB86659FD93ULL;
    return x ^ (x >> 29);
}

static uint8_t pat_byte(uint32_t id, size_t i)
{
    uint64_t w = pat_word(id, i / 8);
    uint8_t b[8];
    memcpy(b, &w, 8);
    return b[i % 8];
}

static void fill(const eng *e, size_t index, size_t from, size_t to, uint32_t id)
{
    uint8_t *m = chunk_mem(e, index);
    size_t i = from;
    for (; i < to && i % 8; i++) {
        m[i] = pat_byte(id, i);
    }
    for (; i + 8 <= to; i += 8) {
        uint64_t w = pat_word(id, i / 8);
        memcpy(m + i, &w, 8);
    }
    for (; i < to; i++) {
        m[i] = pat_byte(id, i);
    }
}

/* Checks bytes [0, len) of the allocation at index against id's pattern. */
static void verify_bytes(const eng *e, size_t index, size_t len, uint32_t id, const char *why)
{
    const uint8_t *m = chunk_mem(e, index);
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w = pat_word(id, i / 8), got;
        memcpy(&got, m + i, 8);
        if (got != w) {
            break; /* find the byte below */
        }
    }
    for (; i < len; i++) {
        if (m[i] != pat_byte(id, i)) {
            fail(e, "%s: contents of allocation #%u at chunk %zu damaged at byte %zu of %zu: 0x%02x, want 0x%02x", why,
                 (unsigned)id, index, i, len, m[i], pat_byte(id, i));
        }
    }
}

static void verify_live(const eng *e, const live *l, const char *why)
{
    verify_bytes(e, l->index, l->count * cs_of(e), l->id, why);
}

static void verify_all(const eng *e, const char *why)
{
    for (size_t i = 0; i < e->nlive; i++) {
        verify_live(e, &e->lv[i], why);
    }
}

/* ------------------------------------------------------------- settling */

enum out_kind { OUT_STATUS, OUT_PTR, OUT_IDX, OUT_VAL };

typedef struct outcome {
    enum out_kind kind;
    bma_status lib, orc;
    void *lib_ptr;  /* OUT_PTR */
    size_t lib_idx; /* OUT_IDX: index; OUT_VAL: value */
    size_t orc_idx;
    size_t align; /* OUT_PTR: the returned offset must meet it */
} outcome;

static outcome out_new(enum out_kind kind)
{
    return (outcome){kind, BMA_OK, BMA_OK, SENTINEL_PTR, SENTINEL_IDX, SENTINEL_IDX, 0};
}

#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 2, 3)))
#endif
static void
begin(eng *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->desc, sizeof e->desc, fmt, ap);
    va_end(ap);
    if (e->trace) {
        fprintf(stderr, "#%lu %s", e->nops, e->desc); /* no newline: a crash in the call shows here */
    }
}

/* Compares one op's results; returns the (agreed) status. For OUT_PTR and
 * OUT_IDX an OK result leaves the chunk index in o->lib_idx. */
static bma_status settle(eng *e, outcome *o)
{
    if (e->trace) {
        fprintf(stderr, " -> %s", st_name(o->lib));
        if (o->lib != o->orc) {
            fprintf(stderr, " (oracle %s)", st_name(o->orc));
        }
        if (o->kind == OUT_PTR && o->lib == BMA_OK && o->lib_ptr) {
            fprintf(stderr, " chunk %zu", (off_of(e, o->lib_ptr) - e->g.chunks_offset) / cs_of(e));
        } else if (o->kind != OUT_STATUS && o->lib_idx != SENTINEL_IDX) {
            fprintf(stderr, " %s %zu", o->kind == OUT_VAL ? "value" : "chunk", o->lib_idx);
        }
        fputc('\n', stderr);
    }
    EXPECT(e, o->lib == o->orc, "status: library %s, oracle %s", st_name(o->lib), st_name(o->orc));
    if (o->lib != BMA_OK) {
        totals.failed_calls++;
    }
    switch (o->kind) {
    case OUT_PTR:
        if (o->lib != BMA_OK) {
            EXPECT(e, o->lib_ptr == SENTINEL_PTR, "failed call wrote *out (%p)", o->lib_ptr);
            break;
        }
        EXPECT(e, o->lib_ptr != SENTINEL_PTR && o->lib_ptr, "OK without a pointer");
        EXPECT(e, index_of_off(e, off_of(e, o->lib_ptr), &o->lib_idx),
               "returned pointer %p (offset %zu) is not a chunk start", o->lib_ptr, off_of(e, o->lib_ptr));
        EXPECT(e, o->align == 0 || off_of(e, o->lib_ptr) % o->align == 0, "offset %zu misses align %zu",
               off_of(e, o->lib_ptr), o->align);
        /* fall through */
    case OUT_IDX:
        if (o->lib != BMA_OK) {
            EXPECT(e, o->lib_idx == SENTINEL_IDX, "failed call wrote *index (%zu)", o->lib_idx);
            break;
        }
        /* fall through */
    case OUT_VAL:
        EXPECT(e, o->lib_idx == o->orc_idx, "%s: library %zu, oracle %zu", o->kind == OUT_VAL ? "value" : "chunk index",
               o->lib_idx, o->orc_idx);
        break;
    case OUT_STATUS: break;
    }
    if (o->lib == BMA_OK && !e->readonly) {
        e->snap_stale = 1; /* run_ops takes a new snapshot after the op */
    } else {
        size_t n = e->snap_len;
        if (memcmp(e->snap, e->buf, n) != 0) {
            size_t i = 0;
            while (e->snap[i] == e->buf[i]) {
                i++;
            }
            fail(e, "%s changed metadata byte %zu: 0x%02x -> 0x%02x",
                 o->lib != BMA_OK ? "a failing call" : "a read-only call", i, e->snap[i], e->buf[i]);
        }
    }
    return o->lib;
}

/* ------------------------------------------------------- after every op */

static int walk_collect(size_t index, size_t count, void *ctx)
{
    eng *e = ctx;
    if (e->wn < e->wcap) {
        e->wi[e->wn] = index;
        e->wc[e->wn] = count;
    }
    e->wn++;
    return 0;
}

static void walk_reserve(eng *e, size_t n)
{
    if (n <= e->wcap) {
        return;
    }
    size_t cap = e->wcap ? e->wcap : 64;
    while (cap < n) {
        cap *= 2;
    }
    size_t **arrs[] = {&e->wi, &e->wc, &e->oi, &e->oc};
    for (size_t k = 0; k < 4; k++) {
        size_t *p = realloc(*arrs[k], cap * sizeof(size_t));
        if (!p) {
            abort();
        }
        *arrs[k] = p;
    }
    e->wcap = cap;
}

#define STATS_FIELDS \
    X(chunk_size)    \
    X(chunk_count)   \
    X(chunks_offset) \
    X(free_chunks) X(used_chunks) X(live_allocations) X(largest_free_run) X(buffer_size) X(metadata_bytes)

/* The O(1) counters: the engine's (from the live table) and the oracle's. */
static void check_counters(eng *e)
{
    size_t of, ou, ol;
    orc_counts(e->o, &of, &ou, &ol);
    EXPECT(e, ou == e->used && ol == e->nlive && of == e->g.chunk_count - e->used,
           "counters: engine %zu used in %zu allocations, oracle %zu used (%zu free) in %zu", e->used, e->nlive, ou, of,
           ol);
}

/* The whole state: bma_check, the stats against the oracle's and the
 * counters, the walk against the oracle's and the live table, and every live
 * allocation's byte pattern. */
static void full_check(eng *e, const char *why)
{
    e->since_full = 0;
    bma_status st = bma_check(e->h);
    EXPECT(e, st == BMA_OK, "bma_check() = %s (%s)", st_name(st), why);

    bma_stats a, b;
    st = bma_get_stats(e->h, &a);
    EXPECT(e, st == BMA_OK, "bma_get_stats() = %s", st_name(st));
    EXPECT(e, orc_get_stats(e->o, &b) == BMA_OK, "orc_get_stats failed");
#define X(f) EXPECT(e, a.f == b.f, "stats." #f ": library %zu, oracle %zu (%s)", a.f, b.f, why);
    STATS_FIELDS
#undef X
    EXPECT(e, a.used_chunks == e->used && a.live_allocations == e->nlive,
           "stats: library %zu used in %zu allocations, engine %zu in %zu (%s)", a.used_chunks, a.live_allocations,
           e->used, e->nlive, why);
    check_counters(e);

    walk_reserve(e, e->nlive + 1);
    e->wn = 0;
    st = bma_walk(e->h, walk_collect, e);
    EXPECT(e, st == BMA_OK, "bma_walk() = %s", st_name(st));
    size_t on = orc_walk(e->o, e->oi, e->oc, e->wcap);
    EXPECT(e, e->wn == on, "walk: library lists %zu allocations, oracle %zu (%s)", e->wn, on, why);
    EXPECT(e, on == e->nlive, "engine: oracle has %zu allocations, engine %zu", on, e->nlive);
    for (size_t i = 0; i < on; i++) {
        EXPECT(e, e->wi[i] == e->oi[i] && e->wc[i] == e->oc[i],
               "walk entry %zu: library [%zu+%zu], oracle [%zu+%zu] (%s)", i, e->wi[i], e->wc[i], e->oi[i], e->oc[i],
               why);
        EXPECT(e, e->lv[i].index == e->oi[i] && e->lv[i].count == e->oc[i],
               "engine: entry %zu is [%zu+%zu], oracle [%zu+%zu]", i, e->lv[i].index, e->lv[i].count, e->oi[i],
               e->oc[i]);
    }
    verify_all(e, why);
}

/* ------------------------------------------------- the touched range */

/* What the engine's live table says chunk j is: 'S' an allocation's start,
 * 'C' a later chunk of one, 'F' free. */
static char model_state(const eng *e, size_t j)
{
    size_t lo = 0, hi = e->nlive; /* the last allocation starting at or before j */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (e->lv[mid].index <= j) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo == 0 || j >= e->lv[lo - 1].index + e->lv[lo - 1].count) {
        return 'F';
    }
    return e->lv[lo - 1].index == j ? 'S' : 'C';
}

/* What the library says chunk j is, through a call that must fail without a
 * change: freeing SIZE_MAX chunks at j is EDOUBLEFREE on a free chunk,
 * EBADPTR inside an allocation and ESIZE at its start. */
static char lib_state(const eng *e, size_t j)
{
    bma_status st = bma_free_chunks(e->h, j, SIZE_MAX);
    EXPECT(e, st == BMA_EDOUBLEFREE || st == BMA_EBADPTR || st == BMA_ESIZE,
           "probe of chunk %zu: free_chunks(%zu, SIZE_MAX) = %s", j, j, st_name(st));
    if (st == BMA_EDOUBLEFREE) {
        return 'F';
    }
    if (st == BMA_EBADPTR) {
        return 'C';
    }
    return 'S';
}

static void probe(const eng *e, size_t j, const char *what)
{
    if (j < e->g.chunk_count) {
        char want = model_state(e, j), got = lib_state(e, j);
        EXPECT(e, got == want, "chunk %zu (%s): library %c, engine %c (S start, C inside, F free)", j, what, got, want);
    }
}

#define PROBE_ENDS 32 /* a released run longer than twice this is probed at both ends only */

/* After an op changed chunks [first, first + n) (taken, released or
 * resized): the chunk on either side is what it was, and the run itself is
 * what the live table says, chunk by chunk for released chunks (their start
 * and free bits) and through bma_usable_size for an allocation (whose
 * extent the library works out from the same bits). */
static void check_range(eng *e, size_t first, size_t n)
{
    if (first > 0) {
        probe(e, first - 1, "before the changed run");
    }
    probe(e, first + n, "after the changed run");
    for (size_t k = 0; k < n; k++) {
        if (k >= PROBE_ENDS && k < n - PROBE_ENDS) {
            k = n - PROBE_ENDS;
        }
        size_t j = first + k;
        char want = model_state(e, j);
        if (want == 'F') {
            probe(e, j, "in the changed run");
        } else if (want == 'S') {
            const live *l = live_find(e, j);
            size_t u = bma_usable_size(e->h, chunk_mem(e, j));
            EXPECT(e, u == l->count * cs_of(e), "bma_usable_size(chunk %zu) = %zu, want %zu chunks", j, u, l->count);
            k += l->count - 1;
        }
    }
}

/* --------------------------------------------------------------- pickers */

typedef struct target {
    size_t off;
    void *ptr;
    int null;
    char what[40];
} target;

static live *pick_live(eng *e, size_t *j)
{
    *j = fdp_size(&e->p, 0, 255);
    if (!e->nlive) {
        return NULL;
    }
    *j %= e->nlive;
    return &e->lv[*j];
}

/* Chunk c (1..) inside l, or the chunk right after a one-chunk l. */
static size_t interior_chunk(const live *l, size_t c) { return l->index + (l->count > 1 ? 1 + c % (l->count - 1) : 1); }

static target pick_target(eng *e)
{
    target t = {0, NULL, 0, ""};
    unsigned k = (unsigned)fdp_range(&e->p, 0, 15);
    size_t j = 0, v;
    live *l;
    switch (k < DT_COUNT ? k : DT_LIVE) {
    case DT_LIVE:
        l = pick_live(e, &j);
        t.off = chunk_off(e, l ? l->index : 0);
        if (l) {
            snprintf(t.what, sizeof t.what, "live#%zu", j);
        } else {
            snprintf(t.what, sizeof t.what, "chunk0");
        }
        break;
    case DT_INTERIOR:
        l = pick_live(e, &j);
        v = fdp_size(&e->p, 1, 255);
        t.off = chunk_off(e, l ? interior_chunk(l, v) : 1);
        snprintf(t.what, sizeof t.what, "interior of live#%zu", j);
        break;
    case DT_OFFBOUND:
        l = pick_live(e, &j);
        v = fdp_size(&e->p, 1, 4095);
        t.off = chunk_off(e, l ? l->index : 0) + (cs_of(e) > 1 ? 1 + (v - 1) % (cs_of(e) - 1) : 0);
        snprintf(t.what, sizeof t.what, "off-boundary live#%zu", j);
        break;
    case DT_META:
        t.off = fdp_size(&e->p, 0, 65535) % e->g.chunks_offset;
        snprintf(t.what, sizeof t.what, "metadata");
        break;
    case DT_CHUNK:
        t.off = chunk_off(e, fdp_size(&e->p, 0, 65535) % (e->g.chunk_count + 2));
        snprintf(t.what, sizeof t.what, "a chunk");
        break;
    case DT_FREED:
        t.off = chunk_off(e, e->last_freed);
        snprintf(t.what, sizeof t.what, "last freed");
        break;
    case DT_END:
        t.off = region_end(e) + fdp_size(&e->p, 0, 255);
        snprintf(t.what, sizeof t.what, "past the region");
        break;
    case DT_BEFORE:
        t.off = (size_t)0 - (fdp_size(&e->p, 1, 4096) + 1); /* never -1, which is ORC_NULL */
        snprintf(t.what, sizeof t.what, "before the buffer");
        break;
    case DT_FAR:
        t.off = (size_t)1 << fdp_range(&e->p, 20, 62);
        snprintf(t.what, sizeof t.what, "far away");
        break;
    default: /* DT_NULL */
        t.null = 1;
        t.off = ORC_NULL;
        snprintf(t.what, sizeof t.what, "NULL");
        return t;
    }
    t.ptr = ptr_at(e, t.off);
    return t;
}

/* The live allocation that starts exactly at t, if any. */
static live *live_at(eng *e, const target *t)
{
    size_t index;
    return !t->null && index_of_off(e, t->off, &index) ? live_find(e, index) : NULL;
}

static size_t pick_index(eng *e)
{
    unsigned k = (unsigned)fdp_range(&e->p, 0, 7);
    size_t j;
    live *l;
    switch (k < DI_COUNT ? k : DI_LIVE) {
    case DI_LIVE: l = pick_live(e, &j); return l ? l->index : 0;
    case DI_INTERIOR: {
        l = pick_live(e, &j);
        size_t c = fdp_size(&e->p, 1, 255);
        return l ? interior_chunk(l, c) : 1;
    }
    case DI_ANY: return fdp_size(&e->p, 0, 65535) % (e->g.chunk_count + 2);
    case DI_FREED: return e->last_freed;
    default: /* DI_HUGE */ return SIZE_MAX - fdp_size(&e->p, 0, 255);
    }
}

static size_t pick_size(eng *e, size_t rel)
{
    size_t cs = cs_of(e), r = rel ? rel : 1, n;
    unsigned k = (unsigned)fdp_range(&e->p, 0, 15);
    switch (k < DS_COUNT ? k : DS_SMALL) {
    case DS_EXACT: return r * cs;
    case DS_INSIDE: return r * cs - fdp_size(&e->p, 0, cs - 1);
    case DS_OVER: return r * cs + 1 + fdp_size(&e->p, 0, cs - 1);
    case DS_SHRINK: n = fdp_size(&e->p, 1, 65535); return (1 + n % (r > 1 ? r - 1 : 1)) * cs;
    case DS_GROW: return (r + fdp_size(&e->p, 1, 64)) * cs;
    case DS_SMALL: return fdp_size(&e->p, 1, 4 * cs);
    case DS_CHUNKS: return fdp_size(&e->p, 1, 64) * cs;
    case DS_BIG: return fdp_size(&e->p, 1, (e->g.chunk_count + 1) * cs);
    case DS_HUGE: return SIZE_MAX - fdp_size(&e->p, 0, 4096);
    case DS_ZERO: return 0;
    default: /* DS_POW2 */ return (size_t)1 << fdp_range(&e->p, 0, 63);
    }
}

static size_t pick_count(eng *e, size_t rel)
{
    size_t r = rel ? rel : 1;
    unsigned k = (unsigned)fdp_range(&e->p, 0, 7);
    switch (k < DC_COUNT ? k : DC_SMALL) {
    case DC_EXACT: return r;
    case DC_MORE: return r + 1;
    case DC_LESS: return r - 1;
    case DC_ZERO: return 0;
    case DC_SMALL: return fdp_size(&e->p, 1, 64);
    case DC_ANY: return fdp_size(&e->p, 1, e->g.chunk_count + 1);
    default: /* DC_HUGE */ return SIZE_MAX - fdp_size(&e->p, 0, 255);
    }
}

static size_t pick_align(eng *e, int forced)
{
    static const size_t bad[8] = {3, 5, 6, 12, 24, 4097, (SIZE_MAX / 2 + 1) | 1, SIZE_MAX};
    unsigned k = (unsigned)fdp_range(&e->p, forced ? 3 : 0, 7);
    if (k < DA_SMALL) {
        return 0;
    }
    if (k < DA_LARGE) {
        return (size_t)1 << fdp_range(&e->p, 0, 12);
    }
    if (k == DA_LARGE) {
        return (size_t)1 << fdp_range(&e->p, 13, 30);
    }
    if (k == DA_HUGE) {
        return (size_t)1 << fdp_range(&e->p, 31, 63);
    }
    return bad[fdp_range(&e->p, 0, 7)];
}

static void pick_array(eng *e, size_t *elem, size_t *count)
{
    unsigned k = (unsigned)fdp_range(&e->p, 0, 7);
    if (k < DR_OVERFLOW) {
        *elem = fdp_size(&e->p, 1, 256);
        *count = fdp_size(&e->p, 1, 256);
    } else if (k == DR_OVERFLOW) {
        *elem = (size_t)1 << fdp_range(&e->p, 1, 63);
        *count = SIZE_MAX / *elem + 1 + fdp_size(&e->p, 0, 255);
    } else if (k == DR_EDGE) {
        *elem = fdp_size(&e->p, 1, 65535);
        *count = SIZE_MAX / *elem;
    } else if (k == DR_ZERO) {
        int which = fdp_bool(&e->p);
        size_t other = fdp_size(&e->p, 1, 255);
        *elem = which ? 0 : other;
        *count = which ? other : 0;
    } else if (k == DR_HUGE) {
        *elem = fdp_size(&e->p, 1, 255);
        *count = SIZE_MAX / 2 + fdp_size(&e->p, 0, 255);
    } else { /* DR_BIG */
        *elem = fdp_size(&e->p, 1, 16);
        *count = fdp_size(&e->p, 1, e->g.chunk_count * cs_of(e));
    }
}

/* ------------------------------------------------------ state after OK */

/* A new allocation of count chunks at index: record, fill, check its size. */
static void took(eng *e, size_t index, size_t count)
{
    live *l = live_insert(e, index, count, e->next_id++);
    fill(e, index, 0, count * cs_of(e), l->id);
    check_range(e, index, count);
}

/* l was freed by both; it must have been a live allocation of the engine. */
static void released(eng *e, live *l, const target *t)
{
    EXPECT(e, l != NULL, "both freed %s (offset %zu), which the engine holds no allocation at", t->what, t->off);
    size_t first = l->index, n = l->count;
    live_remove(e, l);
    check_range(e, first, n);
}

/* l now has new_count chunks at new_index (same place when resized in
 * place); the common prefix must have kept l's pattern. */
static void moved(eng *e, live *l, size_t new_index, size_t new_count)
{
    size_t keep = (l->count < new_count ? l->count : new_count) * cs_of(e);
    uint32_t id = l->id;
    size_t old_index = l->index, old_count = l->count;
    verify_bytes(e, new_index, keep, id, new_index == l->index ? "resized in place" : "moved by realloc");
    if (new_index == l->index) {
        e->used += new_count - old_count; /* wraps back when shrinking */
        l->count = new_count;
    } else {
        live_remove(e, l);
        live_insert(e, new_index, new_count, id);
    }
    if (new_count > old_count) {
        fill(e, new_index, keep, new_count * cs_of(e), id);
    }
    if (new_index == old_index) {
        check_range(e, old_index, old_count > new_count ? old_count : new_count);
    } else {
        check_range(e, new_index, new_count);
        check_range(e, old_index, old_count);
    }
}

/* -------------------------------------------------------------------- ops */

typedef struct op_desc op_desc;
struct op_desc {
    const char *name;
    void (*fn)(eng *e, int arg);
    int arg;
    int readonly;
};

static void op_alloc(eng *e, int forced)
{
    size_t size = pick_size(e, 0), align = pick_align(e, forced);
    begin(e, "alloc(size=%zu, align=%zu)", size, align);
    outcome o = out_new(OUT_PTR);
    o.align = align;
    o.lib = bma_alloc(e->h, size, align, &o.lib_ptr);
    o.orc = orc_alloc(e->o, size, align, &o.orc_idx);
    if (settle(e, &o) == BMA_OK) {
        took(e, o.lib_idx, chunks_for(e, size));
    }
}

static void op_alloc_array(eng *e, int arg)
{
    (void)arg;
    size_t elem, count, align, prod;
    pick_array(e, &elem, &count);
    align = pick_align(e, 0);
    begin(e, "alloc_array(elem=%zu, count=%zu, align=%zu)", elem, count, align);
    outcome o = out_new(OUT_PTR);
    o.align = align;
    o.lib = bma_alloc_array(e->h, elem, count, align, &o.lib_ptr);
    o.orc = orc_alloc_array(e->o, elem, count, align, &o.orc_idx);
    int ovf = __builtin_mul_overflow(elem, count, &prod);
    /* Independent of the oracle: EOVERFLOW iff the exact product does not fit. */
    int args_ok = elem && count && (align & (align - 1)) == 0;
    if (settle(e, &o) == BMA_OK) {
        EXPECT(e, !ovf, "OK although elem*count overflows");
        took(e, o.lib_idx, chunks_for(e, prod));
    } else if (args_ok) {
        EXPECT(e, ovf == (o.lib == BMA_EOVERFLOW), "%s although elem*count %s", st_name(o.lib),
               ovf ? "overflows" : "fits");
    }
}

static void op_alloc_chunks(eng *e, int arg)
{
    (void)arg;
    size_t count = pick_count(e, 0);
    begin(e, "alloc_chunks(count=%zu)", count);
    outcome o = out_new(OUT_IDX);
    o.lib = bma_alloc_chunks(e->h, count, &o.lib_idx);
    o.orc = orc_alloc_chunks(e->o, count, &o.orc_idx);
    if (settle(e, &o) == BMA_OK) {
        took(e, o.lib_idx, count);
    }
}

static void op_free(eng *e, int arg)
{
    (void)arg;
    target t = pick_target(e);
    live *l = live_at(e, &t);
    begin(e, "free(offset=%zu %s)", t.off, t.what);
    if (l) {
        verify_live(e, l, "before free");
    }
    outcome o = out_new(OUT_STATUS);
    o.lib = bma_free(e->h, t.ptr);
    o.orc = t.null ? BMA_EINVAL : orc_free(e->o, t.off);
    if (settle(e, &o) == BMA_OK) {
        released(e, l, &t);
    }
}

static void op_free_sized(eng *e, int arg)
{
    (void)arg;
    target t = pick_target(e);
    live *l = live_at(e, &t);
    size_t size = pick_size(e, l ? l->count : 0);
    begin(e, "free_sized(offset=%zu %s, size=%zu)", t.off, t.what, size);
    if (l) {
        verify_live(e, l, "before free_sized");
    }
    outcome o = out_new(OUT_STATUS);
    o.lib = bma_free_sized(e->h, t.ptr, size);
    o.orc = t.null ? BMA_EINVAL : orc_free_sized(e->o, t.off, size);
    if (settle(e, &o) == BMA_OK) {
        released(e, l, &t);
    }
}

static void op_free_chunks(eng *e, int arg)
{
    (void)arg;
    size_t index = pick_index(e);
    live *l = live_find(e, index);
    size_t count = pick_count(e, l ? l->count : 0);
    begin(e, "free_chunks(index=%zu, count=%zu)", index, count);
    if (l) {
        verify_live(e, l, "before free_chunks");
    }
    outcome o = out_new(OUT_STATUS);
    o.lib = bma_free_chunks(e->h, index, count);
    o.orc = orc_free_chunks(e->o, index, count);
    target t = {index, NULL, 0, "index"};
    if (settle(e, &o) == BMA_OK) {
        released(e, l, &t);
    }
}

static void op_resize(eng *e, int arg)
{
    (void)arg;
    target t = pick_target(e);
    live *l = live_at(e, &t);
    size_t size = pick_size(e, l ? l->count : 0);
    begin(e, "resize(offset=%zu %s, size=%zu)", t.off, t.what, size);
    if (l) {
        verify_live(e, l, "before resize");
    }
    outcome o = out_new(OUT_STATUS);
    o.lib = bma_resize(e->h, t.ptr, size);
    o.orc = t.null ? BMA_EINVAL : orc_resize(e->o, t.off, size);
    if (settle(e, &o) == BMA_OK) {
        EXPECT(e, l != NULL, "resize of %s succeeded", t.what);
        moved(e, l, l->index, chunks_for(e, size));
    } else if (l) {
        verify_live(e, l, "after a failed resize");
    }
}

static void op_realloc(eng *e, int arg)
{
    (void)arg;
    target t = pick_target(e);
    live *l = live_at(e, &t);
    size_t size = pick_size(e, l ? l->count : 0), align = pick_align(e, 0);
    begin(e, "realloc(offset=%zu %s, size=%zu, align=%zu)", t.off, t.what, size, align);
    if (l) {
        verify_live(e, l, "before realloc");
    }
    outcome o = out_new(OUT_PTR);
    o.align = align;
    o.lib = bma_realloc(e->h, t.ptr, size, align, &o.lib_ptr);
    o.orc = orc_realloc(e->o, t.off, size, align, &o.orc_idx);
    if (settle(e, &o) == BMA_OK) {
        if (t.null) {
            took(e, o.lib_idx, chunks_for(e, size));
            return;
        }
        EXPECT(e, l != NULL, "realloc of %s succeeded", t.what);
        moved(e, l, o.lib_idx, chunks_for(e, size));
    } else if (l) {
        verify_live(e, l, "after a failed realloc");
    }
}

static void op_usable_size(eng *e, int arg)
{
    (void)arg;
    target t = pick_target(e);
    begin(e, "usable_size(offset=%zu %s)", t.off, t.what);
    outcome o = out_new(OUT_VAL);
    o.lib_idx = bma_usable_size(e->h, t.ptr);
    o.orc_idx = t.null ? 0 : orc_usable_size(e->o, t.off);
    settle(e, &o);
}

static void op_chunk_ptr(eng *e, int arg)
{
    (void)arg;
    size_t index = pick_index(e);
    begin(e, "chunk_ptr(index=%zu)", index);
    void *p = bma_chunk_ptr(e->h, index);
    outcome o = out_new(OUT_VAL);
    o.lib_idx = p ? off_of(e, p) : SIZE_MAX;
    o.orc_idx = index < e->g.chunk_count ? chunk_off(e, index) : SIZE_MAX;
    settle(e, &o);
    if (p) { /* the round trip */
        size_t back = SENTINEL_IDX;
        bma_status st = bma_chunk_index(e->h, p, &back);
        EXPECT(e, st == BMA_OK && back == index, "bma_chunk_index(bma_chunk_ptr(%zu)) = %s, %zu", index, st_name(st),
               back);
    }
}

static void op_chunk_index(eng *e, int arg)
{
    (void)arg;
    target t = pick_target(e);
    begin(e, "chunk_index(offset=%zu %s)", t.off, t.what);
    outcome o = out_new(OUT_IDX);
    o.lib = bma_chunk_index(e->h, t.ptr, &o.lib_idx);
    /* The expected answer comes straight from the contract's geometry. */
    o.orc = t.null ? BMA_EINVAL : index_of_off(e, t.off, &o.orc_idx) ? BMA_OK : BMA_EBADPTR;
    if (settle(e, &o) == BMA_OK) {
        EXPECT(e, bma_chunk_ptr(e->h, o.lib_idx) == t.ptr, "bma_chunk_ptr(bma_chunk_index(p)) != p");
    }
}

typedef struct walk_ctx {
    eng *e;
    size_t stop, calls, bad;
} walk_ctx;

static int walk_check(size_t index, size_t count, void *ctx)
{
    walk_ctx *w = ctx;
    if (w->calls < w->e->nlive && (w->e->lv[w->calls].index != index || w->e->lv[w->calls].count != count)) {
        w->bad = w->calls + 1;
    }
    w->calls++;
    return w->stop && w->calls >= w->stop;
}

static void op_walk(eng *e, int arg)
{
    (void)arg;
    walk_ctx w = {e, fdp_size(&e->p, 0, 255), 0, 0};
    begin(e, "walk(stop after %zu)", w.stop);
    outcome o = out_new(OUT_VAL);
    o.lib = bma_walk(e->h, walk_check, &w);
    o.lib_idx = w.calls;
    o.orc_idx = w.stop && w.stop < e->nlive ? w.stop : e->nlive;
    settle(e, &o);
    EXPECT(e, !w.bad, "walk call %zu named the wrong allocation", w.bad - 1);
}

static void op_verify(eng *e, int arg)
{
    (void)arg;
    begin(e, "verify(%zu allocations)", e->nlive);
    verify_all(e, "verify");
    outcome o = out_new(OUT_STATUS);
    settle(e, &o);
}

/* A truncated copy must be refused without reading past its end: it lives
 * in its own exact-size malloc so ASan sees any over-read. */
static void probe_truncated(eng *e, size_t len)
{
    uint8_t *t = diff_buffer(DBUF_PROBE, len);
    memcpy(t, e->buf, len);
    bma_heap *h2 = (bma_heap *)SENTINEL_PTR;
    bma_status st = bma_attach(t, len, &h2);
    EXPECT(e, st == BMA_ECORRUPT, "attach of the first %zu of %zu bytes = %s, want ECORRUPT", len, e->g.buffer_size,
           st_name(st));
    EXPECT(e, h2 == (bma_heap *)SENTINEL_PTR, "failed attach wrote *out");
    EXPECT(e, memcmp(t, e->buf, len) == 0, "failed attach wrote the buffer");
    buffer_retire(DBUF_PROBE);
}

static void op_relocate(eng *e, int arg)
{
    (void)arg;
    unsigned mode = (unsigned)fdp_range(&e->p, 0, DREL_COUNT - 1);
    size_t extra = mode == DREL_BIGGER || mode == DREL_BIGGER_HEAP ? fdp_size(&e->p, 1, 4096) : 0;
    size_t cut = fdp_size(&e->p, 0, 65535);
    static const char *const modes[] = {"same size", "bigger", "bigger, heap size", "probe truncated"};
    begin(e, "relocate(%s, extra=%zu, cut=%zu)", modes[mode], extra, cut);
    bma_status st = bma_detach(e->h);
    EXPECT(e, st == BMA_OK, "bma_detach = %s", st_name(st));
    if (mode == DREL_TRUNCATED) {
        probe_truncated(e, cut % e->g.buffer_size);
        probe_truncated(e, e->g.buffer_size - 1);
    }
    size_t new_size = e->buf_size + extra;
    unsigned slot = e->slot == DBUF_HEAP ? DBUF_HEAP2 : DBUF_HEAP;
    uint8_t *nb = diff_buffer(slot, new_size);
    memcpy(nb, e->buf, e->buf_size);
    memset(nb + e->buf_size, 0xA5, extra);
    buffer_retire(e->slot); /* as free() did: a stale pointer into the old copy is reported */
    e->slot = slot;
    e->buf = nb;
    e->buf_size = new_size;
    bma_heap *h2 = (bma_heap *)SENTINEL_PTR;
    outcome o = out_new(OUT_STATUS);
    o.lib = bma_attach(nb, mode == DREL_BIGGER_HEAP ? e->g.buffer_size : new_size, &h2);
    settle(e, &o); /* read-only op: the metadata must have come across unchanged */
    EXPECT(e, h2 == (bma_heap *)nb, "bma_attach handle %p, buffer %p", (void *)h2, (void *)nb);
    e->h = h2;
    totals.relocations++;
    full_check(e, "after relocate"); /* chunks are rebased by index: same offsets */
}

static int count_cb(size_t index, size_t count, void *ctx)
{
    (void)index;
    (void)count;
    ++*(size_t *)ctx;
    return 0;
}

static void op_bad_args(eng *e, int arg)
{
    (void)arg;
    unsigned which = (unsigned)fdp_range(&e->p, 0, DBAD_COUNT - 1);
    size_t cs = cs_of(e), idx = SENTINEL_IDX, n = 0;
    void *p = chunk_mem(e, e->nlive ? e->lv[0].index : 0), *q = SENTINEL_PTR;
    bma_heap *h2 = (bma_heap *)SENTINEL_PTR, *h = e->h;
    bma_stats s;
    bma_status st = BMA_EINVAL, want = BMA_EINVAL;
    begin(e, "bad_args(probe %u)", which);
    switch (which) {
    case 0: st = bma_alloc(NULL, 1, 0, &q); break;
    case 1: st = bma_alloc(h, 1, 0, NULL); break;
    case 2: st = bma_alloc_array(NULL, 1, 1, 0, &q); break;
    case 3: st = bma_alloc_array(h, 1, 1, 0, NULL); break;
    case 4: st = bma_alloc_chunks(NULL, 1, &idx); break;
    case 5: st = bma_alloc_chunks(h, 1, NULL); break;
    case 6: st = bma_free(NULL, p); break;
    case 7: st = bma_free_sized(NULL, p, cs); break;
    case 8: st = bma_free_chunks(NULL, 0, 1); break;
    case 9: st = bma_resize(NULL, p, cs); break;
    case 10: st = bma_resize(h, NULL, cs); break;
    case 11: st = bma_realloc(NULL, p, cs, 0, &q); break;
    case 12: st = bma_realloc(h, p, cs, 0, NULL); break;
    case 13: st = bma_realloc(h, NULL, cs, 0, NULL); break;
    case 14: st = bma_usable_size(NULL, p) == 0 ? BMA_EINVAL : BMA_OK; break;
    case 15: st = bma_chunk_ptr(NULL, 0) == NULL ? BMA_EINVAL : BMA_OK; break;
    case 16: st = bma_chunk_index(NULL, p, &idx); break;
    case 17: st = bma_chunk_index(h, p, NULL); break;
    case 18: st = bma_get_stats(NULL, &s); break;
    case 19: st = bma_get_stats(h, NULL); break;
    case 20: st = bma_check(NULL); break;
    case 21: st = bma_walk(NULL, count_cb, &n); break;
    case 22: st = bma_walk(h, NULL, NULL); break;
    case 23: st = bma_detach(NULL); break;
    case 24: st = bma_attach(NULL, e->buf_size, &h2); break;
    case 25: st = bma_attach(e->buf, e->buf_size, NULL); break;
    case 26: st = bma_attach(e->buf + 4, e->buf_size - 4, &h2); break; /* misaligned */
    case 27: st = bma_init(e->buf, e->buf_size, cs, NULL); break;
    case 28: st = bma_init(e->buf, e->buf_size, cs * 3, &h2); break;
    case 29: st = bma_buffer_size(cs, cs, NULL); break;
    default: /* every status has a distinct name, unknown ones too */
        want = BMA_OK;
        st = BMA_OK;
        for (int a = 0; a <= (int)BMA_ECORRUPT + 1; a++) {
            for (int b = 0; b < a; b++) {
                const char *sa = bma_strerror((bma_status)a), *sb = bma_strerror((bma_status)b);
                if (!sa || !sb || !*sa || strcmp(sa, sb) == 0) {
                    st = BMA_EINVAL;
                }
            }
        }
        break;
    }
    EXPECT(e, q == SENTINEL_PTR && idx == SENTINEL_IDX && h2 == (bma_heap *)SENTINEL_PTR && n == 0,
           "a call refused for a bad argument still wrote an output (or called back)");
    outcome o = out_new(OUT_STATUS);
    o.lib = st;
    o.orc = want;
    settle(e, &o);
}

static const op_desc ops[DOP_COUNT] = {
    [DOP_ALLOC] = {"alloc", op_alloc, 0, 0},
    [DOP_ALLOC_ALIGNED] = {"alloc aligned", op_alloc, 1, 0},
    [DOP_ALLOC_ARRAY] = {"alloc_array", op_alloc_array, 0, 0},
    [DOP_ALLOC_CHUNKS] = {"alloc_chunks", op_alloc_chunks, 0, 0},
    [DOP_FREE] = {"free", op_free, 0, 0},
    [DOP_FREE_SIZED] = {"free_sized", op_free_sized, 0, 0},
    [DOP_FREE_CHUNKS] = {"free_chunks", op_free_chunks, 0, 0},
    [DOP_RESIZE] = {"resize", op_resize, 0, 0},
    [DOP_REALLOC] = {"realloc", op_realloc, 0, 0},
    [DOP_USABLE_SIZE] = {"usable_size", op_usable_size, 0, 1},
    [DOP_CHUNK_PTR] = {"chunk_ptr", op_chunk_ptr, 0, 1},
    [DOP_CHUNK_INDEX] = {"chunk_index", op_chunk_index, 0, 1},
    [DOP_WALK] = {"walk", op_walk, 0, 1},
    [DOP_VERIFY] = {"verify", op_verify, 0, 1},
    [DOP_RELOCATE] = {"relocate", op_relocate, 0, 1},
    [DOP_BAD_ARGS] = {"bad_args", op_bad_args, 0, 1},
};

/* ---------------------------------------------------------------- driver */

static void eng_free(eng *e)
{
    if (e->h) {
        bma_detach(e->h); /* every byte addressable again */
    }
    if (e->o) {
        orc_delete(e->o);
    }
    free(e->lv);
    free(e->snap);
    free(e->wi);
    free(e->wc);
    free(e->oi);
    free(e->oc);
}

/* start: the reason for a full check before the first op, or NULL after
 * bma_init, whose empty heap check_geometry has seen (bma_check suffices). */
static int run_ops(eng *e, const char *start)
{
    e->snap_len = e->g.metadata_bytes <= e->buf_size ? e->g.metadata_bytes : e->buf_size;
    e->snap = xmalloc(e->snap_len);
    memcpy(e->snap, e->buf, e->snap_len);
    if (start) {
        full_check(e, start);
    } else {
        bma_status st = bma_check(e->h);
        EXPECT(e, st == BMA_OK, "bma_check() = %s on a new heap", st_name(st));
    }
    size_t max_ops = DIFF_WORK_BUDGET / e->g.chunk_count;
    max_ops = max_ops < 32 ? 32 : max_ops > DIFF_MAX_OPS ? DIFF_MAX_OPS : max_ops;
    while (fdp_remaining(&e->p) > 0 && e->nops < max_ops) {
        const op_desc *d = &ops[fdp_range(&e->p, 0, DOP_COUNT - 1)];
        e->nops++;
        e->readonly = d->readonly;
        snprintf(e->desc, sizeof e->desc, "%s", d->name);
        d->fn(e, d->arg);
        if (e->snap_stale) {
            memcpy(e->snap, e->buf, e->snap_len);
            e->snap_stale = 0;
        }
        check_counters(e);
        if (++e->since_full >= DIFF_FULL_EVERY) {
            full_check(e, "periodic full check");
        }
    }
    full_check(e, "full check at the end of the input");
    totals.runs++;
    totals.ops += e->nops;
    int n = (int)e->nops;
    eng_free(e);
    return n;
}

/* Geometry must be exactly what the contract promises, checked without the oracle. */
static void check_geometry(eng *e, size_t chunk_size, size_t buf_size)
{
    const bma_stats *g = &e->g;
    size_t need;
    EXPECT(e, g->chunk_size == chunk_size, "stats.chunk_size %zu, asked %zu", g->chunk_size, chunk_size);
    EXPECT(e,
           g->chunk_count >= 1 && g->chunks_offset % chunk_size == 0 && g->metadata_bytes > 0 &&
               g->metadata_bytes <= g->chunks_offset &&
               g->chunks_offset + g->chunk_count * chunk_size <= g->buffer_size && g->buffer_size <= buf_size,
           "inconsistent geometry");
    EXPECT(e,
           g->free_chunks == g->chunk_count && g->used_chunks == 0 && g->live_allocations == 0 &&
               g->largest_free_run == g->chunk_count,
           "a new heap is not empty");
    /* "as many chunks as fit": one more chunk needs a bigger buffer */
    EXPECT(e, bma_buffer_size(chunk_size, g->chunk_count * chunk_size, &need) == BMA_OK && need <= buf_size,
           "bma_buffer_size for %zu chunks is %zu > %zu", g->chunk_count, need, buf_size);
    bma_status st = bma_buffer_size(chunk_size, (g->chunk_count + 1) * chunk_size, &need);
    EXPECT(e, st != BMA_OK || need > buf_size, "%zu chunks would fit in %zu bytes, init made %zu", g->chunk_count + 1,
           buf_size, g->chunk_count);
}

static void trace_geometry(const eng *e, const char *how)
{
    if (e->trace) {
        fprintf(stderr, "%s: chunk_size=%zu buffer=%zu -> chunk_count=%zu chunks_offset=%zu metadata=%zu heap=%zu\n",
                how, e->g.chunk_size, e->buf_size, e->g.chunk_count, e->g.chunks_offset, e->g.metadata_bytes,
                e->g.buffer_size);
    }
}

/* Init refusals must leave the buffer alone; the prefix checked is the part
 * bma_init would write. */
static void probe_init(eng *e, size_t cs, size_t min)
{
    size_t n = min < e->buf_size ? min : e->buf_size;
    bma_heap *h2 = (bma_heap *)SENTINEL_PTR;
    memset(e->buf, 0x5A, n);
    struct {
        void *buf;
        size_t size, cs;
        bma_status want;
    } probes[] = {
        {e->buf, min - 1, cs, BMA_ENOMEM},    {e->buf, e->buf_size, cs * 3, BMA_EINVAL},
        {e->buf, e->buf_size, 0, BMA_EINVAL}, {e->buf + 1, e->buf_size - 1, cs, BMA_EINVAL},
        {NULL, e->buf_size, cs, BMA_EINVAL},
    };
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
        bma_status st = bma_init(probes[i].buf, probes[i].size, probes[i].cs, &h2);
        EXPECT(e, st == probes[i].want, "bma_init probe %zu (size %zu, chunk %zu) = %s, want %s", i, probes[i].size,
               probes[i].cs, st_name(st), st_name(probes[i].want));
        EXPECT(e, h2 == (bma_heap *)SENTINEL_PTR, "failed bma_init wrote *out");
    }
    for (size_t i = 0; i < n; i++) {
        EXPECT(e, e->buf[i] == 0x5A, "failed bma_init wrote byte %zu", i);
    }
}

static int run_fresh(eng *e, size_t cs, size_t buf_size)
{
    size_t min;
    e->trace = trace_enabled();
    snprintf(e->desc, sizeof e->desc, "init(chunk_size=%zu, buffer=%zu)", cs, buf_size);
    EXPECT(e, bma_buffer_size(cs, cs, &min) == BMA_OK, "bma_buffer_size(%zu, %zu) failed", cs, cs);
    EXPECT(e, buf_size >= min, "engine: buffer %zu below the minimum %zu", buf_size, min);
    e->buf_size = buf_size;
    e->slot = DBUF_HEAP;
    e->buf = diff_buffer(e->slot, buf_size);
    probe_init(e, cs, min);
    bma_status st = bma_init(e->buf, buf_size, cs, &e->h);
    EXPECT(e, st == BMA_OK, "bma_init = %s", st_name(st));
    EXPECT(e, e->h == (bma_heap *)e->buf, "handle %p is not the buffer %p", (void *)e->h, (void *)e->buf);
    st = bma_get_stats(e->h, &e->g);
    EXPECT(e, st == BMA_OK, "bma_get_stats = %s", st_name(st));
    trace_geometry(e, "init");
    check_geometry(e, cs, buf_size);
    e->o = orc_new(cs, e->g.chunk_count, e->g.chunks_offset, e->g.buffer_size, e->g.metadata_bytes);
    if (!e->o) {
        abort();
    }
    return run_ops(e, NULL);
}

int diff_run_geom(size_t chunk_size, size_t buf_size, const uint8_t *data, size_t size)
{
    eng e = {0};
    fdp_init(&e.p, data, size);
    return run_fresh(&e, chunk_size, buf_size);
}

int diff_run(const uint8_t *data, size_t size)
{
    eng e = {0};
    fdp_init(&e.p, data, size);
    size_t cs = (size_t)1 << fdp_range(&e.p, 0, 12), min, buf_size, n = 0;
    unsigned geo = (unsigned)fdp_range(&e.p, 0, DGEO_COUNT - 1);
    if (bma_buffer_size(cs, cs, &min) != BMA_OK) {
        fprintf(stderr, "bma_buffer_size(%zu, %zu) failed\n", cs, cs);
        abort();
    }
    switch (geo) {
    case DGEO_TINY: buf_size = min + fdp_size(&e.p, 0, 2 * cs + 64); break;
    case DGEO_CHUNKS:
    case DGEO_WORDS:
        if (geo == DGEO_CHUNKS) {
            n = fdp_size(&e.p, 1, 200);
        } else { /* around word boundaries, at most about DIFF_MAX_BYTES of chunks */
            size_t wmax = DIFF_MAX_BYTES / (64 * cs);
            wmax = wmax ? wmax : 1;
            size_t w = 1 + (fdp_size(&e.p, 1, 200) - 1) % ((wmax < 200) ? wmax : 200);
            n = 64 * w + fdp_size(&e.p, 0, 2) - 1;
        }
        if (bma_buffer_size(cs, n * cs, &buf_size) != BMA_OK) {
            abort();
        }
        buf_size += fdp_size(&e.p, 0, cs - 1);
        break;
    case DGEO_BYTES: {
        size_t cap = DIFF_MAX_CHUNKS * cs < DIFF_MAX_BYTES ? DIFF_MAX_CHUNKS * cs : DIFF_MAX_BYTES;
        size_t b = fdp_size(&e.p, 0, ((size_t)1 << fdp_range(&e.p, 0, 22)) - 1); /* log-uniform */
        buf_size = min + (b < cap ? b : cap);
        break;
    }
    default: { /* DGEO_BELOW: an exact-size buffer one byte short must be refused untouched */
        uint8_t *b = xmalloc(min - 1);
        memset(b, 0x5A, min - 1);
        bma_heap *h = (bma_heap *)SENTINEL_PTR;
        bma_status st = bma_init(b, min - 1, cs, &h);
        if (trace_enabled()) {
            fprintf(stderr, "init(chunk_size=%zu, buffer=%zu, one byte short) -> %s\n", cs, min - 1, st_name(st));
        }
        if (st != BMA_ENOMEM || h != (bma_heap *)SENTINEL_PTR) {
            fprintf(stderr,
                    "bitmapalloc MISMATCH: bma_init(buffer of %zu < minimum %zu, chunk %zu) = %s, want ENOMEM\n",
                    min - 1, min, cs, st_name(st));
            abort();
        }
        for (size_t i = 0; i + 1 < min; i++) {
            if (b[i] != 0x5A) {
                fprintf(stderr, "bitmapalloc MISMATCH: refused bma_init wrote byte %zu\n", i);
                abort();
            }
        }
        free(b);
        return -1;
    }
    }
    return run_fresh(&e, cs, buf_size);
}

int diff_run_heap(const void *img, size_t buf_size, const uint8_t *data, size_t size)
{
    eng e = {0};
    fdp_init(&e.p, data, size);
    e.trace = trace_enabled();
    e.slot = DBUF_HEAP;
    e.buf = diff_buffer(e.slot, buf_size);
    memcpy(e.buf, img, buf_size);
    e.buf_size = buf_size;
    snprintf(e.desc, sizeof e.desc, "attach(buffer=%zu)", buf_size);
    bma_heap *h = NULL;
    if (bma_attach(e.buf, buf_size, &h) != BMA_OK) {
        return -1;
    }
    e.h = h;
    EXPECT(&e, h == (bma_heap *)e.buf, "handle is not the buffer");
    EXPECT(&e, bma_check(h) == BMA_OK, "attach accepted a heap that bma_check refuses");
    EXPECT(&e, bma_get_stats(h, &e.g) == BMA_OK, "bma_get_stats failed");
    trace_geometry(&e, "attach");
    const bma_stats *g = &e.g;
    EXPECT(&e,
           g->chunk_size && (g->chunk_size & (g->chunk_size - 1)) == 0 && g->chunk_count >= 1 &&
               g->chunks_offset % g->chunk_size == 0 && g->metadata_bytes <= g->chunks_offset &&
               g->chunks_offset <= g->buffer_size && g->buffer_size <= buf_size &&
               g->chunk_count <= (g->buffer_size - g->chunks_offset) / g->chunk_size,
           "attach accepted a geometry that does not fit %zu bytes", buf_size);
    e.o = orc_new(g->chunk_size, g->chunk_count, g->chunks_offset, g->buffer_size, g->metadata_bytes);
    if (!e.o) {
        abort();
    }

    /* Rebuild the walk list in the oracle: since first fit takes the lowest
     * free run, allocating each gap and then each allocation in index order
     * lands everything where the walk says; then the gap fillers are freed. */
    walk_reserve(&e, 64);
    e.wn = 0;
    EXPECT(&e, bma_walk(h, walk_collect, &e) == BMA_OK, "bma_walk failed");
    walk_reserve(&e, e.wn);
    e.wn = 0;
    bma_walk(h, walk_collect, &e);
    size_t cursor = 0, nfill = 0;
    size_t *fillers = xmalloc((e.wn + 1) * sizeof *fillers);
    for (size_t i = 0; i < e.wn; i++) {
        size_t at = SENTINEL_IDX;
        EXPECT(&e, e.wi[i] >= cursor && e.wi[i] < g->chunk_count && e.wc[i] >= 1 && e.wc[i] <= g->chunk_count - e.wi[i],
               "walk entry [%zu+%zu] overlaps or leaves the region", e.wi[i], e.wc[i]);
        if (e.wi[i] > cursor) {
            EXPECT(&e, orc_alloc_chunks(e.o, e.wi[i] - cursor, &at) == BMA_OK && at == cursor,
                   "engine: oracle rebuild");
            fillers[nfill++] = cursor;
        }
        EXPECT(&e, orc_alloc_chunks(e.o, e.wc[i], &at) == BMA_OK && at == e.wi[i], "engine: oracle rebuild");
        live *l = live_insert(&e, e.wi[i], e.wc[i], e.next_id++);
        fill(&e, l->index, 0, l->count * g->chunk_size, l->id);
        cursor = e.wi[i] + e.wc[i];
    }
    for (size_t i = 0; i < nfill; i++) {
        size_t next = SENTINEL_IDX;
        for (size_t k = 0; k < e.wn; k++) {
            if (e.wi[k] > fillers[i]) {
                next = e.wi[k];
                break;
            }
        }
        EXPECT(&e, orc_free_chunks(e.o, fillers[i], next - fillers[i]) == BMA_OK, "engine: oracle rebuild");
    }
    free(fillers);
    return run_ops(&e, "full check after attach");
}

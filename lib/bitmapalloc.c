/* bitmapalloc: see include/bitmapalloc.h for the contract of each function.
 *
 * Buffer layout (every offset from the buffer start, every region 8-aligned):
 *
 *   0            header        magic, version, chunk_size, chunk_count, the
 *                              resolved geometry, and the search hints
 *   free_off     free bitmap   W words, bit i = 1 iff chunk i is free
 *   start_off    start bitmap  W words, bit i = 1 iff an allocation starts at i
 *   index_off    run index     levels 1..L of run summaries (see below)
 *   longest_off  word runs     W bytes, the longest free run in each word,
 *                              stored only when there is a level 1 to feed
 *   chunks_off   chunks        chunk_count * chunk_size bytes
 *
 * chunks_off is the end of the metadata rounded up to chunk_size, so chunk i
 * sits at a multiple of chunk_size from the buffer start and every alignment
 * up to chunk_size is free of charge. layout_of() is the one function that
 * decides the layout. bma_init stores what it resolves (offsets, word count,
 * levels, where each level starts) in the header, so a call reads its
 * geometry instead of recomputing it; bma_attach and bma_check recompute it
 * from chunk_size and chunk_count and refuse a header that disagrees, so a
 * corrupt header can only ever describe a geometry layout_of() accepts.
 *
 * The run index is a tree with fan-out 8 over the free bitmap. Level 0 is the
 * bitmap words (only their longest runs are stored; the edge runs are one
 * ctz/clz away); a level k node summarises 8 nodes of level k - 1; levels are
 * added until the top one has at most 64 nodes, which the search scans
 * linearly (so heaps of up to 4096 chunks store no levels at all, and pay no
 * index upkeep). A summary is the free run at the node's left edge, at its
 * right edge, and the longest inside, as Linux's percpu allocator keeps
 * left_free / right_free / contig_hint per block. The first fit is found by
 * walking up from a start position through later siblings and down into the
 * first node that can hold the run: O(64 + 8 log8 W) instead of O(W).
 * Fan-out 8 keeps a node's children in one or two cache lines and the index
 * at about 0.55 bits per chunk. Storing each word's longest run spares an
 * update from recounting the runs of the seven words that did not change.
 * An update does not recombine children either: it knows the one free run
 * that the changed chunks merge into (a free) or were carved from (an
 * allocation), so each node's edges and longest run follow from its old
 * summary; only an allocation that cuts a node's longest run reads the
 * node's children for the next longest.
 *
 * Search hints. A half-full heap keeps small holes near its start that fit
 * one chunk but not two, so a search from chunk 0 rescans the same words on
 * every call, and a single "lowest free chunk" hint skips few of them (a
 * model of the terminal workload on a heap of 4080 chunks: 11.9 words
 * scanned per allocation from chunk 0, 10.5 from the lowest free word, 3.6
 * from the hints below). So the header keeps one hint per size class:
 * hint[c] is a bitmap word before which no run of threshold(c) free chunks
 * starts (thresholds 1, 2, 3, 4, 6, 9, 17, 65). A hint is a lower bound,
 * never an answer: the search for n chunks starts at the hint of the largest
 * threshold <= n and finds the first fit a search from 0 would. A successful
 * unaligned allocation of n at s raises the first two classes of threshold
 * >= n to s + n (first fit proves that no such run starts before s); a free lowers
 * every class whose threshold fits in the merged free run to the run's start.
 * Only successful calls touch them, so a failed call changes no byte.
 * Heaps of at most HINTLESS_WORDS words keep every hint at 0 and search from
 * word 0: so few words scan faster than the hints are kept.
 *
 * Invariants (verified by bma_check):
 *   I1  free and start bits past chunk_count are 0.
 *   I2  no start bit on a free chunk.
 *   I3  a used chunk without a start bit follows a used chunk; so the used
 *       chunks split uniquely into allocations, each a start chunk followed
 *       by used non-start chunks, and a free needs no size from the caller.
 *   I4  every word's stored longest run and every index node equal what the
 *       bitmap and the node's children say.
 *   I5  every hint is at most W and INT32_MAX, and no run of threshold(c)
 *       free chunks starts before word hint[c]; every hint is 0 on a heap of
 *       at most HINTLESS_WORDS words.
 */
#include "bitmapalloc.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Sanitizer annotations are opt-in (include/bitmapalloc.h, "Sanitizer
 * annotations"): only a build that defines BMA_SANITIZER_ANNOTATIONS=1 (meson:
 * -Dsanitizer_annotations=true) poisons free chunks, and only when it is an
 * AddressSanitizer build; it also gets memcheck client requests where
 * <valgrind/memcheck.h> is found. BMA_VALGRIND=1 alone asks for the memcheck
 * requests only. Any other build leaves the buffer a plain byte array. */
#if defined(BMA_SANITIZER_ANNOTATIONS) && BMA_SANITIZER_ANNOTATIONS
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BMA_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(BMA_ASAN)
#define BMA_ASAN 1
#endif
#if !defined(BMA_VALGRIND) && defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#define BMA_VALGRIND 1
#endif
#endif
#endif
#ifdef BMA_ASAN
#include <sanitizer/asan_interface.h>
#endif
#ifdef BMA_VALGRIND
#include <valgrind/memcheck.h>
#endif

/* For the few helpers on every search and update path. */
#if defined(__GNUC__) || defined(__clang__)
#define HOT_INLINE inline __attribute__((always_inline))
#define NO_INLINE __attribute__((noinline))
#else
#define HOT_INLINE inline
#define NO_INLINE
#endif

/* Linux's OPTIMIZER_HIDE_VAR: the compiler forgets what it knew of pointer p,
 * so loads through p are not hoisted out of the loop that uses it. */
#if defined(__GNUC__) || defined(__clang__)
#define HIDE_FROM_OPTIMIZER(p) __asm__("" : "+r"(p))
#else
#define HIDE_FROM_OPTIMIZER(p) ((void)0)
#endif

#define BITS 64u
#define FANOUT_SHIFT 3u
#define FANOUT (1u << FANOUT_SHIFT)
/* The top level is scanned linearly, so small heaps store no levels. Tests
 * build with a smaller value to grow deep trees on small heaps; it is part
 * of the format, so heaps move only between builds that agree on it. */
#ifndef BMA_TOP_NODES
#define BMA_TOP_NODES 64u
#endif
#define TOP_NODES ((size_t)BMA_TOP_NODES)
#define MAX_LEVELS 20u                            /* W <= 2^58 needs at most 20 levels above the words */
#define FORMAT_MAGIC UINT64_C(0x3150414548414D42) /* "BMAHEAP1" read little-endian */
#define FORMAT_VERSION 4u
#define NOT_FOUND SIZE_MAX
#define ALL_FREE (~UINT64_C(0)) /* a bitmap word with every chunk free */
#define HINT_CLASSES 8u
/* Heaps of at most this many bitmap words keep no hints (all stay 0): there a
 * search from word 0 costs less than the upkeep (terminal trace, instructions
 * per call: 137 against 181 at 8 words; 201 against 196 at 32, but faster in
 * time; at 63 words the hints win, 217 against 301). Part of the format. */
#define HINTLESS_WORDS 32u
#define FOLD_STEPS 6u /* shift-and steps that find any run of up to 64 set bits */

typedef struct header {
    uint64_t magic;
    uint32_t version;
    uint32_t header_size;
    uint64_t chunk_size;
    uint64_t chunk_count;
    /* What layout_of() resolves for chunk_size and chunk_count. */
    uint64_t words, levels, shift;
    uint64_t start_off, index_off, longest_off, chunks_off, total;
    uint64_t level_first[MAX_LEVELS]; /* first node of level k + 1; 0 past levels */
    /* Search hints, as bitmap word indices, by size class; see the top of this file. */
    uint32_t hint[HINT_CLASSES];
} header;

/* One index node. uint64_t rather than size_t keeps the format the same for
 * 32- and 64-bit programs sharing a heap. */
typedef struct node {
    uint64_t left, right, longest;
} node;

_Static_assert(CHAR_BIT == 8, "bytes are octets");
_Static_assert(sizeof(header) % sizeof(uint64_t) == 0, "bitmaps after the header stay 8-aligned");
_Static_assert(sizeof(header) == 36 * sizeof(uint64_t), "the header has no padding: every byte is checked");
_Static_assert(sizeof(node) == 3 * sizeof(uint64_t), "nodes are packed");
_Static_assert(BITS == 1u << 6, "span_shift() counts a word's chunks as 2^6");
_Static_assert(HINT_CLASSES == 8u, "hints_lower() updates the hints as two 4-lane vectors");
_Static_assert(BMA_BUFFER_ALIGN % _Alignof(header) == 0, "the header is readable in a BMA_BUFFER_ALIGN buffer");
_Static_assert(BMA_BUFFER_ALIGN % _Alignof(uint64_t) == 0, "metadata words are readable in a BMA_BUFFER_ALIGN buffer");
_Static_assert(TOP_NODES >= 1u, "a level with at most TOP_NODES nodes ends the tree");

/* Offsets of one geometry; the single place that decides the layout. */
typedef struct layout {
    size_t words, levels;           /* index levels 1..levels are stored; levels is the top */
    size_t level_first[MAX_LEVELS]; /* first node of level k + 1 */
    size_t start_off, index_off, longest_off, chunks_off, total;
} layout;

/* A heap opened for one call: the stored geometry resolved to addresses. */
typedef struct view {
    header *hdr;
    uint64_t *free_bits;
    uint64_t *start_bits;
    node *index;
    unsigned char *word_longest; /* longest free run of each bitmap word */
    unsigned char *chunks;
    const uint64_t *level_first;
    size_t chunk_count, words, levels;
    unsigned shift; /* log2(chunk_size) */
} view;

/* ------------------------------------------------------------ bit helpers */

static unsigned ctz64(uint64_t x)
{
#if defined(__GNUC__) || defined(__clang__)
    return (unsigned)__builtin_ctzll(x);
#else
    unsigned n = 0;
    for (; (x & 1u) == 0; x >>= 1) {
        n++;
    }
    return n;
#endif
}

static unsigned clz64(uint64_t x)
{
#if defined(__GNUC__) || defined(__clang__)
    return (unsigned)__builtin_clzll(x);
#else
    unsigned n = 0;
    for (; (x >> 63) == 0; x <<= 1) {
        n++;
    }
    return n;
#endif
}

static size_t popcount64(uint64_t x)
{
#if defined(__GNUC__) || defined(__clang__)
    return (size_t)__builtin_popcountll(x);
#else
    size_t n = 0;
    for (; x != 0; x &= x - 1) {
        n++;
    }
    return n;
#endif
}

static bool is_pow2(size_t x) { return x != 0 && (x & (x - 1)) == 0; }

static bool align_ok(size_t align) { return align == 0 || is_pow2(align); }

/* Bits [from, from + n) of one word; from < 64, 1 <= n <= 64 - from. */
static HOT_INLINE uint64_t bit_range(size_t from, size_t n)
{
    return (~UINT64_C(0) >> ((BITS - n) & (BITS - 1u))) << from; /* the mask states 64 - n < 64 for analyzers */
}

static bool bit_get(const uint64_t *bits, size_t i) { return (bits[i / BITS] >> (i % BITS)) & 1u; }

static void bit_put(uint64_t *bits, size_t i, bool value)
{
    uint64_t mask = UINT64_C(1) << (i % BITS);
    bits[i / BITS] = value ? bits[i / BITS] | mask : bits[i / BITS] & ~mask;
}

/* Sets (value true) or clears bits [first, first + n), n >= 1: a partial
 * first word, whole words, a partial last word. */
static HOT_INLINE void bits_fill(uint64_t *bits, size_t first, size_t n, bool value)
{
    uint64_t *word = &bits[first / BITS], fill = value ? ~UINT64_C(0) : 0, mask;
    size_t from = first % BITS;
    while (n > BITS - from) {
        mask = ~UINT64_C(0) << from;
        *word = (*word & ~mask) | (fill & mask);
        word++;
        n -= BITS - from;
        from = 0;
    }
    mask = bit_range(from, n);
    *word = (*word & ~mask) | (fill & mask);
}

/* A word's free runs at bit 0 and at bit 63. */
static size_t edge_left(uint64_t x) { return x == ALL_FREE ? BITS : ctz64(~x); }
static size_t edge_right(uint64_t x) { return x == ALL_FREE ? BITS : clz64(~x); }

/* Shift-and folding: x &= x >> s keeps bit i iff bit i + s was set too. If
 * bit i already stood for a run of c set bits, a shift by s <= c makes it
 * stand for a run of c + s. So shifts of 1, 2, 4, 8, 16, 32, each cut down
 * to what is left of n - 1, find runs of any n <= 64 in six steps. A plan
 * holds the six shifts (0 once n is reached: x & x is x) for one n. The
 * search folds every word it visits with the same six steps: no loop whose
 * length depends on n, which mispredicted on every search when the sizes
 * vary, as a terminal's do. */
typedef struct fold_plan {
    const unsigned char *shift; /* FOLD_STEPS shifts */
    unsigned steps;             /* how many of them to take: all, or 4 when n <= 16 */
    uint64_t inside;            /* all ones iff n <= 64, so that a longer run never fits inside a word */
} fold_plan;

/* The shifts for every n <= 64 (row 0 unused): step k takes what is left of
 * n - 1 after the steps before, which were full (2^k in all), cut to 2^k:
 * min(max(n - 2^k, 0), 2^k). */
static const unsigned char fold_shifts[BITS + 1u][FOLD_STEPS] = {
    {0, 0, 0, 0, 0, 0},   {0, 0, 0, 0, 0, 0},   {1, 0, 0, 0, 0, 0},   {1, 1, 0, 0, 0, 0},   {1, 2, 0, 0, 0, 0},
    {1, 2, 1, 0, 0, 0},   {1, 2, 2, 0, 0, 0},   {1, 2, 3, 0, 0, 0},   {1, 2, 4, 0, 0, 0},   {1, 2, 4, 1, 0, 0},
    {1, 2, 4, 2, 0, 0},   {1, 2, 4, 3, 0, 0},   {1, 2, 4, 4, 0, 0},   {1, 2, 4, 5, 0, 0},   {1, 2, 4, 6, 0, 0},
    {1, 2, 4, 7, 0, 0},   {1, 2, 4, 8, 0, 0},   {1, 2, 4, 8, 1, 0},   {1, 2, 4, 8, 2, 0},   {1, 2, 4, 8, 3, 0},
    {1, 2, 4, 8, 4, 0},   {1, 2, 4, 8, 5, 0},   {1, 2, 4, 8, 6, 0},   {1, 2, 4, 8, 7, 0},   {1, 2, 4, 8, 8, 0},
    {1, 2, 4, 8, 9, 0},   {1, 2, 4, 8, 10, 0},  {1, 2, 4, 8, 11, 0},  {1, 2, 4, 8, 12, 0},  {1, 2, 4, 8, 13, 0},
    {1, 2, 4, 8, 14, 0},  {1, 2, 4, 8, 15, 0},  {1, 2, 4, 8, 16, 0},  {1, 2, 4, 8, 16, 1},  {1, 2, 4, 8, 16, 2},
    {1, 2, 4, 8, 16, 3},  {1, 2, 4, 8, 16, 4},  {1, 2, 4, 8, 16, 5},  {1, 2, 4, 8, 16, 6},  {1, 2, 4, 8, 16, 7},
    {1, 2, 4, 8, 16, 8},  {1, 2, 4, 8, 16, 9},  {1, 2, 4, 8, 16, 10}, {1, 2, 4, 8, 16, 11}, {1, 2, 4, 8, 16, 12},
    {1, 2, 4, 8, 16, 13}, {1, 2, 4, 8, 16, 14}, {1, 2, 4, 8, 16, 15}, {1, 2, 4, 8, 16, 16}, {1, 2, 4, 8, 16, 17},
    {1, 2, 4, 8, 16, 18}, {1, 2, 4, 8, 16, 19}, {1, 2, 4, 8, 16, 20}, {1, 2, 4, 8, 16, 21}, {1, 2, 4, 8, 16, 22},
    {1, 2, 4, 8, 16, 23}, {1, 2, 4, 8, 16, 24}, {1, 2, 4, 8, 16, 25}, {1, 2, 4, 8, 16, 26}, {1, 2, 4, 8, 16, 27},
    {1, 2, 4, 8, 16, 28}, {1, 2, 4, 8, 16, 29}, {1, 2, 4, 8, 16, 30}, {1, 2, 4, 8, 16, 31}, {1, 2, 4, 8, 16, 32},
};

/* n >= 1. */
static HOT_INLINE fold_plan fold_plan_for(size_t n)
{
    fold_plan p;
    p.inside = n <= BITS ? ~UINT64_C(0) : 0;
    p.shift = fold_shifts[n <= BITS ? n : 1u];
    p.steps = FOLD_STEPS;
    return p;
}

/* Bit i of the result is set iff a run of the plan's n set bits starts at
 * bit i of x; 0 if n > 64. */
static HOT_INLINE uint64_t fold_with(const fold_plan *p, uint64_t x)
{
    size_t k;
    for (k = 0; k < p->steps; k++) {
        x &= x >> p->shift[k]; /* every shift in the table is at most 32 */
    }
    return x & p->inside;
}

/* ---------------------------------------------------------------- layout */

/* Overflow-checked arithmetic. */
static bool add_ok(size_t a, size_t b, size_t *sum)
{
#if defined(__GNUC__) || defined(__clang__)
    return !__builtin_add_overflow(a, b, sum);
#else
    *sum = a + b; /* wraps, as the builtin does */
    return a <= SIZE_MAX - b;
#endif
}

static bool mul_ok(size_t a, size_t b, size_t *product)
{
#if defined(__GNUC__) || defined(__clang__)
    return !__builtin_mul_overflow(a, b, product);
#else
    *product = a * b; /* wraps, as the builtin does */
    return b == 0 || a <= SIZE_MAX / b;
#endif
}

/* Nodes of a level (level 0: the words). W >= 1. */
static size_t nodes_of_level(size_t words, size_t level) { return ((words - 1u) >> (FANOUT_SHIFT * level)) + 1u; }

/* The layout of a heap of chunk_count >= 1 chunks; false iff a size
 * overflows. Runs at init and attach only: every other call reads the
 * result from the header. */
static bool layout_of(size_t chunk_size, size_t chunk_count, layout *l)
{
    size_t bitmap_bytes, index_bytes, longest_bytes, metadata_end, chunk_bytes, nodes = 0;
    bool ok;
    memset(l, 0, sizeof *l);
    l->words = chunk_count / BITS + (chunk_count % BITS != 0);
    while (nodes_of_level(l->words, l->levels) > TOP_NODES && l->levels < MAX_LEVELS) {
        l->level_first[l->levels] = nodes;
        l->levels++;
        nodes += nodes_of_level(l->words, l->levels);
    }
    ok = mul_ok(l->words, sizeof(uint64_t), &bitmap_bytes);
    ok = mul_ok(nodes, sizeof(node), &index_bytes) && ok;
    ok = add_ok(sizeof(header), bitmap_bytes, &l->start_off) && ok;
    ok = add_ok(l->start_off, bitmap_bytes, &l->index_off) && ok;
    ok = add_ok(l->index_off, index_bytes, &l->longest_off) && ok;
    ok = add_ok(l->levels == 0 ? 0 : l->words, sizeof(uint64_t) - 1u, &longest_bytes) && ok;
    ok = add_ok(l->longest_off, longest_bytes & ~(sizeof(uint64_t) - 1u), &metadata_end) && ok;
    ok = add_ok(metadata_end, chunk_size - 1u, &l->chunks_off) && ok;
    l->chunks_off &= ~(chunk_size - 1u);
    ok = mul_ok(chunk_count, chunk_size, &chunk_bytes) && ok;
    ok = add_ok(l->chunks_off, chunk_bytes, &l->total) && ok;
    return ok;
}

/* Writes the resolved geometry into a new heap's header. */
static void layout_store(header *hdr, const layout *l, size_t chunk_size)
{
    size_t k;
    hdr->words = (uint64_t)l->words;
    hdr->levels = (uint64_t)l->levels;
    hdr->shift = (uint64_t)ctz64((uint64_t)chunk_size);
    hdr->start_off = (uint64_t)l->start_off;
    hdr->index_off = (uint64_t)l->index_off;
    hdr->longest_off = (uint64_t)l->longest_off;
    hdr->chunks_off = (uint64_t)l->chunks_off;
    hdr->total = (uint64_t)l->total;
    for (k = 0; k < MAX_LEVELS; k++) {
        hdr->level_first[k] = (uint64_t)l->level_first[k];
    }
}

/* Whether a header holds exactly what layout_store() would write. */
static bool layout_stored(const header *hdr, const layout *l, size_t chunk_size)
{
    bool same = hdr->words == l->words && hdr->levels == l->levels && hdr->shift == ctz64((uint64_t)chunk_size) &&
                hdr->start_off == l->start_off && hdr->index_off == l->index_off &&
                hdr->longest_off == l->longest_off && hdr->chunks_off == l->chunks_off && hdr->total == l->total;
    size_t k;
    for (k = 0; k < MAX_LEVELS; k++) {
        same = same && hdr->level_first[k] == l->level_first[k];
    }
    return same;
}

/* The view of a heap that init or attach accepted: its stored geometry. The
 * cast drops const only for read-only callers, which never write through
 * the view. */
static HOT_INLINE void view_of(const bma_heap *h, view *v)
{
    header *hdr =
        (header *)(uintptr_t)h; /* NOLINT(performance-no-int-to-ptr): drops const; read-only callers never write */
    unsigned char *base = (unsigned char *)hdr;
    v->hdr = hdr;
    v->free_bits = (uint64_t *)(void *)(base + sizeof(header));
    v->start_bits = (uint64_t *)(void *)(base + (size_t)hdr->start_off);
    v->index = (node *)(void *)(base + (size_t)hdr->index_off);
    v->word_longest = base + (size_t)hdr->longest_off;
    v->chunks = base + (size_t)hdr->chunks_off;
    v->level_first = hdr->level_first;
    v->chunk_count = (size_t)hdr->chunk_count;
    v->words = (size_t)hdr->words;
    v->levels = (size_t)hdr->levels;
    v->shift = (unsigned)hdr->shift;
}

static size_t chunk_size_of(const view *v) { return (size_t)1 << v->shift; }

/* ceil(size / chunk_size) for size >= 1, which every caller has checked. */
static size_t chunks_for(const view *v, size_t size) { return ((size - 1u) >> v->shift) + 1u; }

/* ------------------------------------------------------------ run index */

/* A node's runs, with the chunks it spans (fewer for the last node of a
 * level). A word's right edge run is counted from bit 63, so the last,
 * partial word has none; nothing follows it that could use one. */
typedef struct summary {
    size_t left, right, longest, span;
} summary;

static size_t level_nodes(const view *v, size_t level) { return nodes_of_level(v->words, level); }

/* log2 of the chunks in a node of a level (level <= 19 for any W: the mask
 * only says so to analyzers). */
static unsigned span_shift(size_t level) { return (unsigned)(6u + FANOUT_SHIFT * level) & (BITS - 1u); }

/* A level resolved once, not per node: node i's first chunk is i << shift
 * (below chunk_count, since the node exists), and every node but the last
 * spans full chunks. Level 0, the bitmap words, stores no nodes. */
typedef struct level_geom {
    node *nodes;
    size_t last, full; /* the last node's index; every other node's span */
    unsigned shift;
} level_geom;

static HOT_INLINE level_geom level_of(const view *v, size_t level)
{
    level_geom g;
    g.nodes = level == 0 ? NULL : &v->index[(size_t)v->level_first[level - 1u]];
    g.shift = span_shift(level);
    g.full = (size_t)1 << g.shift;
    g.last = level_nodes(v, level) - 1u;
    return g;
}

/* The chunks node i of a level spans: full, but for the heap's last node. */
static HOT_INLINE size_t node_span(const view *v, const level_geom *g, size_t i)
{
    size_t rest = v->chunk_count - (i << g->shift);
    return rest < g->full ? rest : g->full;
}

/* Longest run of set bits. fold(x, a + b) = fold(x, a) & (fold(x, b) >> a), so
 * the length is built greedily from the folds for 32, 16, ..., 1. */
static size_t longest_in_word(uint64_t x)
{
    uint64_t folds[6], runs = ALL_FREE; /* runs = fold(x, length) */
    size_t k, length = 0;
    if (x == 0 || x == ALL_FREE) {
        return x == 0 ? 0 : BITS;
    }
    folds[0] = x;
    for (k = 1; k < 6; k++) {
        folds[k] = folds[k - 1u] & (folds[k - 1u] >> (1u << (k - 1u)));
    }
    for (k = 6; k > 0; k--) { /* branch-free: whether a step lengthens the run is data */
        uint64_t longer = runs & (folds[k - 1u] >> length);
        uint64_t taken = longer != 0 ? ALL_FREE : 0;
        runs = (longer & taken) | (runs & ~taken);
        length += (size_t)(taken & ((uint64_t)1 << (k - 1u)));
    }
    return length;
}

/* Summary of node i of a level (g is that level), which spans span chunks;
 * level 0 reads the bitmap word, and its stored longest run if there is a
 * level 1 to keep it for. */
static HOT_INLINE summary summary_of(const view *v, const level_geom *g, size_t level, size_t i, size_t span)
{
    summary s;
    s.span = span;
    if (level == 0) {
        uint64_t x = v->free_bits[i];
        s.left = edge_left(x);
        s.right = edge_right(x);
        s.longest = v->levels != 0 ? v->word_longest[i] : longest_in_word(x);
    } else {
        const node *n = &g->nodes[i];
        s.left = (size_t)n->left;
        s.right = (size_t)n->right;
        s.longest = (size_t)n->longest;
    }
    return s;
}

/* The end of node i's children in the level below (below is that level). */
static HOT_INLINE size_t children_end(const level_geom *below, size_t i)
{
    size_t end = (i + 1u) << FANOUT_SHIFT, nodes = below->last + 1u;
    return end < nodes ? end : nodes;
}

/* The free run after a node, given the run that reaches its left edge: it
 * runs on through a node free throughout, else restarts at its right edge. */
static HOT_INLINE size_t run_through(size_t run, const summary *s)
{
    return s->left == s->span ? run + s->span : s->right;
}

/* The longest run once a node joins those before it: the best of the
 * longest so far, the node's own, and the run reaching it joined to its
 * left edge run. With run_through(), the one rule for how children join. */
static HOT_INLINE size_t join_longest(size_t best, size_t run, const summary *s)
{
    size_t joined = run + s->left;
    best = s->longest > best ? s->longest : best;
    return joined > best ? joined : best;
}

/* One step of combining summaries left to right: the running summary n
 * (run: the free chunks at its right end so far; prefix_free: whether every
 * child so far was all free) takes in one more child. */
static HOT_INLINE void combine_step(node *n, size_t *run, bool *prefix_free, const summary *s)
{
    n->left += *prefix_free ? s->left : 0;
    *prefix_free = *prefix_free && s->left == s->span;
    n->longest = (uint64_t)join_longest((size_t)n->longest, *run, s);
    *run = run_through(*run, s);
}

/* The summary of nodes [first, end) of a level (g) taken as one run of
 * chunks. combine() instantiates it for the words apart, where summaries
 * are bit operations and every span but the heap's last is 64. */
static HOT_INLINE node combine_at(const view *v, const level_geom *g, size_t level, size_t first, size_t end)
{
    node n = {0, 0, 0};
    size_t c, run = 0;
    bool prefix_free = true;
    for (c = first; c < end; c++) {
        summary s = summary_of(v, g, level, c, node_span(v, g, c));
        combine_step(&n, &run, &prefix_free, &s);
    }
    n.right = (uint64_t)run;
    return n;
}

static HOT_INLINE node combine(const view *v, const level_geom *g, size_t level, size_t first, size_t end)
{
    return level == 0 ? combine_at(v, g, 0, first, end) : combine_at(v, g, level, first, end);
}

/* Node i of a stored level as its children (below, at level - 1) say it should be. */
static HOT_INLINE node node_expected(const view *v, const level_geom *below, size_t level, size_t i)
{
    return combine(v, below, level - 1u, i << FANOUT_SHIFT, children_end(below, i));
}

static bool node_equal(const node *a, const node *b)
{
    return a->left == b->left && a->right == b->right && a->longest == b->longest;
}

/* Free chunks right below bit b of a word (b < 64) and from bit b on. Below:
 * bits [0, b) of x moved to the top, over zeros that stop clz at b. */
static HOT_INLINE size_t free_below(uint64_t x, size_t b) { return clz64(~((x << 1) << (BITS - 1u - b))); }

static HOT_INLINE size_t free_from(uint64_t x, size_t b)
{
    uint64_t used = ~x >> b;
    return used == 0 ? BITS - b : ctz64(used);
}

/* The update of chunks [p, e), all of which flipped between free and used.
 * run is [run_start, run_end), the free run through them (after a free) or
 * the one they were carved from (before an allocation); each end is clipped
 * to the current level's node that holds it, so it is known exactly without
 * scanning the heap: a level widens it only through the siblings it reaches. */
typedef struct change {
    size_t p, e, run_start, run_end;
    bool freed;
} change;

/* The left (or right) edge run of node j of a level (g); level 0: a bitmap word. */
static HOT_INLINE size_t edge_of(const view *v, const level_geom *g, size_t level, size_t j, bool right)
{
    if (level == 0) {
        return right ? edge_right(v->free_bits[j]) : edge_left(v->free_bits[j]);
    }
    return (size_t)(right ? g->nodes[j].right : g->nodes[j].left);
}

/* Widens the run's ends from the nodes of a level (g) to those of the level
 * above: an end on a node boundary extends through the siblings' edge runs.
 * Only the heap's last node spans fewer than full chunks, and no sibling
 * follows it. */
static HOT_INLINE void run_widen(const view *v, change *c, const level_geom *g, size_t level)
{
    size_t full = g->full, i, j, edge; /* full is a power of two: no division */
    if ((c->run_start & (full - 1u)) == 0) {
        i = c->run_start >> g->shift;
        for (j = i; j > (i & ~(size_t)(FANOUT - 1u));) {
            edge = edge_of(v, g, level, --j, true);
            c->run_start -= edge;
            if (edge != full) {
                break;
            }
        }
    }
    if ((c->run_end & (full - 1u)) == 0) {
        size_t stop;
        i = (c->run_end >> g->shift) - 1u;
        stop = children_end(g, i >> FANOUT_SHIFT);
        for (j = i + 1u; j < stop; j++) {
            edge = edge_of(v, g, level, j, false);
            c->run_end += edge;
            if (edge != full) {
                break;
            }
        }
    }
}

/* The longest run in node i of a stored level, from its children (below):
 * combine() with no left or right edge to keep. So the spans do not matter:
 * only the heap's last child can be short, and nothing after it reads the
 * run it carries. longest_step() takes in child c. */
static HOT_INLINE void longest_step(const view *v, const level_geom *below, size_t level, size_t c, size_t *best,
                                    size_t *run)
{
    summary s = summary_of(v, below, level - 1u, c, below->full);
    *best = join_longest(*best, *run, &s);
    *run = run_through(*run, &s);
}

static HOT_INLINE size_t children_longest(const view *v, const level_geom *below, size_t level, size_t i)
{
    size_t c = i << FANOUT_SHIFT, end = children_end(below, i), run = 0, best = 0;
    if (end - c == FANOUT) { /* every node but the level's last: unrolled, no loop exit to mispredict */
        for (size_t k = 0; k < FANOUT; k++) {
            longest_step(v, below, level, c + k, &best, &run);
        }
        return best;
    }
    for (; c < end; c++) {
        longest_step(v, below, level, c, &best, &run);
    }
    return best;
}

/* A node's right edge run when chunks [from, end) are free and the one
 * before is not. summary_of() counts a word's right run from bit 63, so
 * the heap's last, partial word adds to it only when all of it is free. */
static size_t right_run(size_t from, size_t end)
{
    return end % BITS == 0 || from <= end - end % BITS ? end - from : 0;
}

/* Node i of a stored level (g; below is the level under it) after the
 * change, from its old summary and the run alone: a free merges the run,
 * and an allocation cuts it into [run_start, p) and [e, run_end). Only an
 * allocation that cuts the node's longest run needs the children, to find
 * the next longest. */
static HOT_INLINE node node_changed(const view *v, const change *c, const level_geom *g, const level_geom *below,
                                    size_t level, size_t i, const node *old)
{
    size_t first = i << g->shift, end = first + node_span(v, g, i), lo, hi;
    node n = *old;
    lo = c->run_start > first ? c->run_start : first;
    hi = c->run_end < end ? c->run_end : end;
    if (c->p <= first && end <= c->e) { /* wholly inside the change */
        n.left = n.right = n.longest = c->freed ? (uint64_t)(end - first) : 0;
    } else if (c->freed) {
        n.left = lo == first ? (uint64_t)(hi - first) : old->left;
        n.right = hi == end ? (uint64_t)right_run(lo, end) : old->right;
        n.longest = hi - lo > old->longest ? (uint64_t)(hi - lo) : old->longest;
    } else {
        n.left = lo == first ? (uint64_t)(c->p > first ? c->p - first : 0) : old->left;
        n.right = hi == end ? (uint64_t)right_run(c->e < end ? c->e : end, end) : old->right;
        n.longest = hi - lo < old->longest ? old->longest : (uint64_t)children_longest(v, below, level, i);
    }
    return n;
}

/* Bitmap word w's longest run after the change, as node_changed() does. */
static HOT_INLINE unsigned char word_changed(const view *v, const change *c, size_t w)
{
    size_t first = w * BITS, end = first + BITS, old = v->word_longest[w];
    size_t lo = c->run_start > first ? c->run_start : first, hi = c->run_end < end ? c->run_end : end;
    if (c->p <= first && end <= c->e) {
        return c->freed ? (unsigned char)BITS : 0;
    }
    if (c->freed) {
        return (unsigned char)(hi - lo > old ? hi - lo : old);
    }
    return (unsigned char)(hi - lo < old ? old : longest_in_word(v->free_bits[w]));
}

/* Brings nodes [first, last] of stored level level (g; below is the level
 * under it) up to date after widening the run to them. Returns whether any
 * of them changed: if none did, no level above changes either. */
static HOT_INLINE bool level_update(const view *v, change *c, const level_geom *g, const level_geom *below,
                                    size_t level, size_t first, size_t last)
{
    uint64_t changed = 0;
    size_t i;
    run_widen(v, c, below, level - 1u);
    for (i = first; i <= last; i++) {
        node *n = &g->nodes[i], fresh = node_changed(v, c, g, below, level, i, n);
        /* Stored either way: whether a node changed is data, and a branch on it mispredicts. */
        changed |= (n->left ^ fresh.left) | (n->right ^ fresh.right) | (n->longest ^ fresh.longest);
        *n = fresh;
    }
    return changed != 0;
}

/* Brings the index of a heap with index levels up to date after chunks
 * [p, e) flipped, all of them, between free and used; before is the old
 * value of p's word. A change inside one word that leaves its edge runs
 * and longest run as they were changes no node, and stops here; so does a
 * level where no node changed. Out of line, with its own view, so that
 * the hot paths of heaps without levels keep theirs in registers; compiled
 * once for frees and once for allocations (freed), which share no branch.
 * Level 1, whose children are the words, is taken apart from the loop, so
 * that each is compiled for its own kind of children. */
static HOT_INLINE void index_update(const bma_heap *h, size_t p, size_t e, uint64_t before, bool freed)
{
    view v;
    change c;
    level_geom below, g;
    size_t level, first = p / BITS, last = (e - 1u) / BITS;
    uint64_t x;
    view_of(h, &v);
    if (v.levels == 0) {
        return; /* never taken: tells the compiler that the words' longest runs are stored */
    }
    x = v.free_bits[first];
    c.p = p;
    c.e = e;
    c.freed = freed;
    c.run_start = p - free_below(x, p % BITS);
    c.run_end = e % BITS == 0 ? e : e + free_from(v.free_bits[last], e % BITS);
    if (first == last) {
        unsigned char longest = word_changed(&v, &c, first);
        if (longest == v.word_longest[first] && edge_left(x) == edge_left(before) &&
            edge_right(x) == edge_right(before)) {
            return;
        }
        v.word_longest[first] = longest;
    } else { /* the words in between flipped whole */
        v.word_longest[first] = word_changed(&v, &c, first);
        if (last - first > 1u) {
            memset(&v.word_longest[first + 1u], c.freed ? (int)BITS : 0, last - first - 1u);
        }
        v.word_longest[last] = word_changed(&v, &c, last);
    }
    below = level_of(&v, 0);
    g = level_of(&v, 1);
    first >>= FANOUT_SHIFT;
    last >>= FANOUT_SHIFT;
    if (!level_update(&v, &c, &g, &below, 1, first, last)) {
        return;
    }
    for (level = 2; level <= v.levels; level++) {
        below = g;
        g = level_of(&v, level);
        first >>= FANOUT_SHIFT;
        last >>= FANOUT_SHIFT;
        if (!level_update(&v, &c, &g, &below, level, first, last)) {
            return;
        }
    }
}

static NO_INLINE void index_freed(const bma_heap *h, size_t p, size_t e, uint64_t before)
{
    index_update(h, p, e, before, true);
}

static void index_claimed(const bma_heap *h, size_t p, size_t e, uint64_t before)
{
    index_update(h, p, e, before, false);
}

/* ---------------------------------------------------------------- search */

/* scan_level() over bitmap words, where a summary is a few bit operations
 * and a fit inside a word is returned at once, so *into never names a word. A used
 * word needs no case of its own: its edge runs are 0 and its fold is empty,
 * and an extra branch on it mispredicted often. */
static HOT_INLINE size_t scan_words(const view *v, const fold_plan *plan, size_t i, size_t end, size_t count,
                                    size_t *carry, size_t *into)
{
    size_t run = *carry;
    *into = NOT_FOUND;
    for (; i < end; i++) {
        uint64_t x = v->free_bits[i], starts;
        if (run + edge_left(x) >= count) {
            return i * BITS - run;
        }
        if (count <= BITS && (starts = fold_with(plan, x)) != 0) { /* no fold for runs that cannot fit in a word */
            return i * BITS + ctz64(starts);
        }
        run = x == ALL_FREE ? run + BITS : edge_right(x);
    }
    *carry = run;
    return NOT_FOUND;
}

/* Looks for the first fit among nodes [i, end) of one level (g), given
 * carry free chunks right before node i. Returns the start chunk if a run
 * begins before node i or at a node's left edge, or (level 0 only) inside a
 * word; else stores in *into the first node of a stored level that holds
 * the run inside it, or NOT_FOUND, and updates carry. */
static HOT_INLINE size_t scan_level(const view *v, const fold_plan *plan, const level_geom *g, size_t level, size_t i,
                                    size_t end, size_t count, size_t *carry, size_t *into)
{
    if (level == 0) {
        return scan_words(v, plan, i, end, count, carry, into);
    }
    *into = NOT_FOUND;
    for (; i < end; i++) {
        summary s = summary_of(v, g, level, i, g->full); /* no carry past the level's last node is read */
        if (*carry + s.left >= count) {
            return (i << g->shift) - *carry;
        }
        if (s.longest >= count) {
            *into = i;
            return NOT_FOUND;
        }
        *carry = run_through(*carry, &s);
    }
    return NOT_FOUND;
}

/* The first fit inside node i of a stored level (level >= 1), which holds
 * one. Each step scans the node's children; the words answer directly, so
 * the walk ends there at the latest. */
static size_t descend(const view *v, const fold_plan *plan, size_t level, size_t i, size_t count)
{
    for (;;) {
        level_geom below = level_of(v, level - 1u);
        size_t carry = 0, into, start;
        start =
            scan_level(v, plan, &below, level - 1u, i << FANOUT_SHIFT, children_end(&below, i), count, &carry, &into);
        if (start != NOT_FOUND || into == NOT_FOUND) {
            return start; /* NOT_FOUND only for an index that lies */
        }
        level--;
        i = into;
    }
}

/* The end of the group of siblings that node i of a level (g) belongs to. */
static size_t group_end(const view *v, const level_geom *g, size_t level, size_t i)
{
    return level == v->levels ? g->last + 1u : children_end(g, i >> FANOUT_SHIFT);
}

/* The first fit of count chunks that starts in pos's word at or after pos;
 * else NOT_FOUND, and *carry is the free run at the word's end from pos on. */
static HOT_INLINE size_t fit_in_first_word(const view *v, const fold_plan *plan, size_t pos, size_t *carry)
{
    size_t i = pos / BITS;
    uint64_t word = v->free_bits[i] & (~UINT64_C(0) << (pos % BITS)), starts = fold_with(plan, word);
    *carry = edge_right(word);
    return starts != 0 ? i * BITS + ctz64(starts) : NOT_FOUND;
}

/* find_from() on a heap with index levels: walks up from pos's word through
 * the later siblings at each level, carrying the free run that reaches the
 * current position, and descends into the first node that holds the run.
 * O(TOP_NODES + 8 log8 W). */
static size_t find_from_index(const bma_heap *h, size_t pos, size_t count)
{
    view v;
    fold_plan plan = fold_plan_for(count);
    size_t level = 0, i = pos / BITS, carry, into, start;
    view_of(h, &v);
    start = fit_in_first_word(&v, &plan, pos, &carry);
    while (start == NOT_FOUND) {
        level_geom g = level_of(&v, level);
        start = scan_level(&v, &plan, &g, level, i + 1u, group_end(&v, &g, level, i), count, &carry, &into);
        if (start == NOT_FOUND && into != NOT_FOUND) {
            return descend(&v, &plan, level, into, count);
        }
        if (level == v.levels) {
            break;
        }
        level++;
        i >>= FANOUT_SHIFT;
    }
    return start;
}

/* find_from() of 1 <= count <= 64 chunks on a heap without index levels:
 * per word, a run that straddles from the previous words (run free chunks
 * at their end; pos's own word has none), then a fold. Since count <= 64, a
 * word with every chunk free always holds a fit, so the edge runs need no
 * case for it; the guard bits only keep ctz and clz defined. steps is a
 * constant. */
static HOT_INLINE size_t scan_short(const view *v, size_t pos, size_t count, unsigned steps)
{
    fold_plan plan = fold_plan_for(count);
    size_t i = pos / BITS;
    uint64_t x = v->free_bits[i] & (~UINT64_C(0) << (pos % BITS));
    plan.steps = steps;
    for (;;) {
        uint64_t starts;
        size_t run;
        /* The fold's shifts are loaded per word: a load into cl costs what a
         * register move does, and four registers held for them made the
         * search spill (-10 instructions per allocation). */
        HIDE_FROM_OPTIMIZER(plan.shift);
        starts = fold_with(&plan, x);
        if (starts != 0) {
            return i * BITS + ctz64(starts);
        }
        if (++i == v->words) {
            return NOT_FOUND;
        }
        run = clz64(~x | 1u);
        x = v->free_bits[i];
        if (run + ctz64(~x | (UINT64_C(1) << 63)) >= count) {
            return i * BITS - run;
        }
    }
}

/* find_from() of count > 64 chunks on a heap without index levels; out of
 * line, with its own view, as find_from_index(). */
static size_t scan_long(const bma_heap *h, size_t pos, size_t count)
{
    view v;
    fold_plan plan = fold_plan_for(count);
    size_t carry, into;
    view_of(h, &v);
    (void)fit_in_first_word(&v, &plan, pos, &carry); /* no fit inside a word; sets the carry */
    return scan_words(&v, &plan, pos / BITS + 1u, v.words, count, &carry, &into);
}

/* The lowest chunk s >= pos such that chunks [s, s + count) are free, or
 * NOT_FOUND; 1 <= count. Without index levels (at most TOP_NODES words) a
 * scan of the words from pos on; with them, find_from_index(). Runs of up
 * to 16 chunks, a terminal's graphemes, fold in four steps. */
static HOT_INLINE size_t find_from(const view *v, size_t pos, size_t count)
{
    if (pos >= v->chunk_count) {
        return NOT_FOUND;
    }
    if (v->levels != 0) {
        return find_from_index((const bma_heap *)v->hdr, pos, count);
    }
    if (count > BITS) {
        return scan_long((const bma_heap *)v->hdr, pos, count);
    }
    return count <= 16u ? scan_short(v, pos, count, 4u) : scan_short(v, pos, count, FOLD_STEPS);
}

/* The chunk alignment a byte alignment asks for: chunk i qualifies iff
 * i % step == phase. */
typedef struct chunk_align {
    size_t step, phase;
} chunk_align;

static chunk_align chunk_align_for(const view *v, size_t align)
{
    chunk_align a = {1u, 0u};
    if (align > chunk_size_of(v)) {
        size_t base = (size_t)v->hdr->chunks_off >> v->shift; /* chunks_off is a multiple of chunk_size */
        a.step = align >> v->shift;
        a.phase = (a.step - (base & (a.step - 1u))) & (a.step - 1u);
    }
    return a;
}

/* The first qualifying chunk >= pos, or NOT_FOUND if it is not representable.
 * pos rounded down to step has no bits below step, so adding phase is an or. */
static size_t align_up(chunk_align a, size_t pos)
{
    size_t up = (pos & ~(a.step - 1u)) | a.phase;
    return up >= pos ? up : add_ok(up, a.step, &up) ? up : NOT_FOUND;
}

/* ----------------------------------------------------------------- hints */

/* Size classes and their thresholds (the smallest run in the class). A hint
 * is a word index: the search starts at a word anyway, and 32 bits keep the
 * eight hints in 32 bytes. A hint saturates at INT32_MAX words (2^37
 * chunks), which is still a lower bound and lets hints_lower() compare them
 * as signed 32-bit lanes. */
static const int32_t hint_threshold[HINT_CLASSES] = {1, 2, 3, 4, 6, 9, 17, 65};

/* The class of a request: the largest threshold <= count. */
static HOT_INLINE size_t hint_class(size_t count)
{
    static const unsigned char small[17] = {0, 0, 1, 2, 3, 3, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5};
    return count <= 16u ? small[count] : count < 65u ? 6u : 7u;
}

/* Whether a heap keeps hints: see HINTLESS_WORDS. */
static HOT_INLINE bool hints_kept(const view *v) { return v->words > HINTLESS_WORDS; }

/* Where a search for count chunks may start: its class's hint, as a chunk,
 * on a heap with hints (hinted: hints_kept()); else chunk 0. */
static HOT_INLINE size_t search_start(const view *v, size_t count, bool hinted)
{
    return hinted ? (size_t)v->hdr->hint[hint_class(count)] * BITS : 0;
}

static uint32_t hint_word(size_t chunk)
{
    size_t w = chunk / BITS;
    return w < INT32_MAX ? (uint32_t)w : INT32_MAX;
}

/* A successful unaligned first fit of count chunks at index: no run of
 * count or more free chunks starts before index + count now. That holds for
 * every class whose threshold is at least count. Raising the first two of
 * them takes a terminal trace from 1.89 to 1.71 words scanned per search
 * (16 KiB heap; 3.96 to 3.42 at 64 KiB), nearly what raising all eight
 * does, for two stores. */
static HOT_INLINE void hints_raise(const view *v, size_t index, size_t count)
{
    /* The first class whose threshold is >= count, for count <= 65. */
    static const unsigned char first_at_least[66] = {0, 0, 1, 2, 3, 4, 4, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7,
                                                     7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
                                                     7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7};
    uint32_t *hint = v->hdr->hint, to;
    size_t c;
    if (count > 65u) {
        return;
    }
    c = first_at_least[count];
    to = hint_word(index + count);
    hint[c] = hint[c] > to ? hint[c] : to;
    c += c + 1u < HINT_CLASSES; /* the next class; the last one twice */
    hint[c] = hint[c] > to ? hint[c] : to;
}

/* Free chunks right before chunk pos and from chunk pos on, counted inside
 * pos's word as free_below() and free_from() count them; a run that reaches
 * the word's edge is taken as 64 chunks longer, which is all a hint needs. */
static HOT_INLINE size_t free_run_before(const view *v, size_t pos)
{
    size_t b = pos % BITS, run = free_below(v->free_bits[pos / BITS], b);
    return run == b ? run + BITS : run;
}

static HOT_INLINE size_t free_run_from(const view *v, size_t pos)
{
    size_t b = pos % BITS, run = free_from(v->free_bits[pos / BITS], b);
    return run == BITS - b ? run + BITS : run;
}

#if defined(__SSE2__)
/* Four lanes of hints_lower(): a hint above to is lowered to it where its
 * class's threshold is at most run. */
static HOT_INLINE __m128i hints_lower4(__m128i h, __m128i thresholds, __m128i run, __m128i to)
{
    __m128i lower = _mm_andnot_si128(_mm_cmpgt_epi32(thresholds, run), _mm_cmpgt_epi32(h, to));
    return _mm_xor_si128(h, _mm_and_si128(lower, _mm_xor_si128(h, to)));
}
#endif

/* Chunks [first, first + n) were just freed. A new run of t <= 65 free
 * chunks can only start at or after max(start of the merged free run,
 * first - t + 1), so at or after first - min(free run before first, 64);
 * classes whose threshold exceeds the merged run gain nothing. Both runs are
 * read inside their own word and may be overestimated past it, which only
 * lowers a hint further than it had to. */
static HOT_INLINE void hints_lower(const view *v, size_t first, size_t n)
{
    uint32_t *restrict hint = v->hdr->hint;
    size_t left = free_run_before(v, first), merged = left + n;
    int32_t from = (int32_t)hint_word(first > left ? first - left : 0), run;
    if (first + n < v->chunk_count) {
        merged += free_run_from(v, first + n);
    }
    run = merged < 66u ? (int32_t)merged : 66; /* above every threshold */
#if defined(__SSE2__)
    {
        /* The loop below in two 4-lane steps. Hints are at most INT32_MAX (I5),
         * so signed compares order them; memcpy, as the header is 8-aligned. */
        __m128i to = _mm_set1_epi32(from), runs = _mm_set1_epi32(run), lo, hi, t_lo, t_hi;
        memcpy(&lo, &hint[0], sizeof lo);
        memcpy(&hi, &hint[4], sizeof hi);
        memcpy(&t_lo, &hint_threshold[0], sizeof t_lo);
        memcpy(&t_hi, &hint_threshold[4], sizeof t_hi);
        lo = hints_lower4(lo, t_lo, runs, to);
        hi = hints_lower4(hi, t_hi, runs, to);
        memcpy(&hint[0], &lo, sizeof lo);
        memcpy(&hint[4], &hi, sizeof hi);
    }
#else
    size_t c;
    for (c = 0; c < HINT_CLASSES; c++) {
        int32_t h = (int32_t)hint[c], ceiling = hint_threshold[c] > run ? INT32_MAX : from;
        hint[c] = (uint32_t)(h < ceiling ? h : ceiling);
    }
#endif
}

/* find_run() for an alignment above chunk_size. Each round finds the first
 * fit at or after the first qualifying chunk; no qualifying chunk lies
 * between a fit and the next qualifying one, so the rounds skip no answer. */
static size_t find_aligned_run(const bma_heap *h, size_t count, size_t align)
{
    view v;
    chunk_align a;
    size_t pos, fit;
    view_of(h, &v);
    a = chunk_align_for(&v, align);
    pos = align_up(a, search_start(&v, count, hints_kept(&v)));
    while (pos != NOT_FOUND && (fit = find_from(&v, pos, count)) != NOT_FOUND) {
        pos = align_up(a, fit);
        if (pos == fit) {
            return fit;
        }
    }
    return NOT_FOUND;
}

/* The search: the lowest index of count free chunks that meets align, or
 * NOT_FOUND. It starts at the hint of count's class on a heap with hints
 * (hinted is hints_kept(v), passed in so that a caller can fix it). */
static HOT_INLINE size_t find_run(const view *v, size_t count, size_t align, bool hinted)
{
    if (count > v->chunk_count) {
        return NOT_FOUND;
    }
    if (align > chunk_size_of(v)) {
        return find_aligned_run((const bma_heap *)v->hdr, count, align);
    }
    return find_from(v, search_start(v, count, hinted), count);
}

/* -------------------------------------------------------------- scanning */

/* Which chunks a linear scan looks for, one bitmap word at a time. Scans
 * cover one allocation or the whole heap, never a search. */
typedef enum scan_kind {
    SCAN_USED,     /* used chunks */
    SCAN_START,    /* allocation starts */
    SCAN_BOUNDARY, /* where an allocation ends: a free chunk or the next start */
} scan_kind;

static uint64_t valid_mask(const view *v, size_t w)
{
    size_t tail = v->chunk_count % BITS;
    return (w + 1u == v->words && tail != 0) ? bit_range(0, tail) : ~UINT64_C(0);
}

static uint64_t scan_word(const view *v, scan_kind kind, size_t w)
{
    switch (kind) {
    case SCAN_USED: return ~v->free_bits[w] & valid_mask(v, w);
    case SCAN_START: return v->start_bits[w];
    case SCAN_BOUNDARY:
    default: return v->free_bits[w] | v->start_bits[w];
    }
}

/* The first chunk >= pos of the given kind, or chunk_count if there is none. */
static HOT_INLINE size_t scan_next(const view *v, scan_kind kind, size_t pos)
{
    size_t w;
    uint64_t word;
    if (pos >= v->chunk_count) {
        return v->chunk_count;
    }
    w = pos / BITS;
    word = scan_word(v, kind, w) & (~UINT64_C(0) << (pos % BITS));
    while (word == 0) {
        if (++w == v->words) {
            return v->chunk_count;
        }
        word = scan_word(v, kind, w);
    }
    pos = w * BITS + ctz64(word);
    return pos < v->chunk_count ? pos : v->chunk_count;
}

/* --------------------------------------------------- sanitizer annotations */

/* ASan: free chunks are poisoned, so a slice overrun into a free chunk is
 * reported. Valgrind: free chunks are no-access and new allocations undefined.
 * Plain addressability requests keep no state inside Valgrind, so handles to
 * several mappings and heaps abandoned without a "destroy" need no care. */
static void note_allocated(const view *v, size_t index, size_t count)
{
    void *p = v->chunks + (index << v->shift);
    size_t n = count << v->shift;
    (void)p;
    (void)n;
#ifdef BMA_ASAN
    ASAN_UNPOISON_MEMORY_REGION(p, n);
#endif
#ifdef BMA_VALGRIND
    VALGRIND_MAKE_MEM_UNDEFINED(p, n);
#endif
}

static void note_freed(const view *v, size_t index, size_t count)
{
    void *p = v->chunks + (index << v->shift);
    size_t n = count << v->shift;
    (void)p;
    (void)n;
#ifdef BMA_ASAN
    ASAN_POISON_MEMORY_REGION(p, n);
#endif
#ifdef BMA_VALGRIND
    VALGRIND_MAKE_MEM_NOACCESS(p, n);
#endif
}

/* Makes bytes addressable and defined again: bma_detach, and bma_init over a
 * buffer that may still hold an earlier heap's poisoned chunks. */
static void note_reset(void *p, size_t n)
{
    (void)p;
    (void)n;
#ifdef BMA_ASAN
    ASAN_UNPOISON_MEMORY_REGION(p, n);
#endif
#ifdef BMA_VALGRIND
    VALGRIND_MAKE_MEM_DEFINED(p, n);
#endif
}

/* bma_walk() callback for bma_attach: a live allocation's bytes came with the
 * buffer, so they are addressable and defined. */
static int note_live(size_t index, size_t count, void *ctx)
{
    const view *v = ctx;
    note_reset(v->chunks + (index << v->shift), count << v->shift);
    return 0;
}

/* ------------------------------------------------------- state changes */

/* The hints and the index after chunks [first, first + n) were freed
 * (before: word first's old value). Out of line, with its own view, and
 * returning the free's status, BMA_OK: the free's fast path then ends in a
 * tail call and keeps nothing across it, and a heap with neither hints nor
 * index pays for neither. */
static bma_status upkeep_freed(const bma_heap *h, size_t first, size_t n, uint64_t before)
{
    view v;
    view_of(h, &v);
    if (hints_kept(&v)) {
        hints_lower(&v, first, n);
    }
    if (v.levels != 0) {
        index_freed(h, first, first + n, before);
    }
    return BMA_OK;
}

/* What follows the free of chunks [first, first + n) in the free bitmap:
 * annotations, hints, index. Returns BMA_OK, the free's status. */
static HOT_INLINE bma_status freed_done(const view *v, size_t first, size_t n, uint64_t before)
{
    view now;
    note_freed(v, first, n);
    view_of((const bma_heap *)v->hdr, &now); /* read after the bitmap stores, so not held in registers across them */
    if (hints_kept(&now) || now.levels != 0) {
        return upkeep_freed((const bma_heap *)v->hdr, first, n, before);
    }
    return BMA_OK;
}

/* What follows a change of chunks [first, first + n) to free or used in the
 * free bitmap: annotations, hints, index (before: word first's old value). */
static HOT_INLINE void set_free_done(const view *v, size_t first, size_t n, bool free, uint64_t before)
{
    if (free) {
        (void)freed_done(v, first, n, before);
    } else {
        note_allocated(v, first, n);
        if (v->levels != 0) {
            index_claimed((const bma_heap *)v->hdr, first, first + n, before);
        }
    }
}

/* Marks chunks [first, first + n) free or used, keeping the index in step;
 * n >= 1. */
static HOT_INLINE void set_free(const view *v, size_t first, size_t n, bool free)
{
    uint64_t before = v->free_bits[first / BITS];
    bits_fill(v->free_bits, first, n, free);
    set_free_done(v, first, n, free, before);
}

/* Marks [index, index + count) as one live allocation. */
static HOT_INLINE void claim(const view *v, size_t index, size_t count)
{
    bit_put(v->start_bits, index, true);
    set_free(v, index, count, false);
}

static HOT_INLINE void release(const view *v, size_t index, size_t count)
{
    bit_put(v->start_bits, index, false);
    set_free(v, index, count, true);
}

/* Claims the first fit for count chunks; NOT_FOUND (and no change) if none. */
static HOT_INLINE size_t alloc_run(const view *v, size_t count, size_t align, bool hinted)
{
    size_t index = find_run(v, count, align, hinted);
    if (index == NOT_FOUND) {
        return NOT_FOUND;
    }
    claim(v, index, count);
    if (hinted && align <= chunk_size_of(v)) {
        hints_raise(v, index, count);
    }
    return index;
}

/* alloc_run() out of line, with its own view. */
static size_t alloc_run_any(const bma_heap *h, size_t count, size_t align)
{
    view v;
    view_of(h, &v);
    return alloc_run(&v, count, align, hints_kept(&v));
}

/* alloc_run(), with the common case kept apart: an unaligned run of at most
 * 64 chunks on a heap without index levels. Inlined after these tests,
 * alloc_run() calls nothing, so the call keeps its state in registers; it is
 * inlined twice, for heaps with hints and without, so that neither copy
 * tests for them again (-3 instructions per allocation). */
static HOT_INLINE size_t alloc_fast(const view *v, size_t count, size_t align)
{
    if (v->levels != 0 || count > BITS || align > chunk_size_of(v)) {
        return alloc_run_any((const bma_heap *)v->hdr, count, align);
    }
    return hints_kept(v) ? alloc_run(v, count, align, true) : alloc_run(v, count, align, false);
}

/* --------------------------------------------------------- addressing */

static HOT_INLINE bma_status index_of(const view *v, const void *ptr, size_t *index)
{
    uintptr_t p = (uintptr_t)ptr, first = (uintptr_t)v->chunks;
    size_t offset;
    if (p < first) {
        return BMA_EBADPTR;
    }
    offset = (size_t)(p - first);
    if ((offset & (chunk_size_of(v) - 1u)) != 0 || (offset >> v->shift) >= v->chunk_count) {
        return BMA_EBADPTR;
    }
    *index = offset >> v->shift;
    return BMA_OK;
}

/* Classifies index: the start of a live allocation (its chunk count in
 * *count), a free chunk, or anything else. */
static HOT_INLINE bma_status live_extent(const view *v, size_t index, size_t *count)
{
    if (index >= v->chunk_count) {
        return BMA_EBADPTR;
    }
    if (bit_get(v->free_bits, index)) {
        return BMA_EDOUBLEFREE;
    }
    if (!bit_get(v->start_bits, index)) {
        return BMA_EBADPTR;
    }
    *count = scan_next(v, SCAN_BOUNDARY, index + 1u) - index;
    return BMA_OK;
}

/* live_extent() of the chunk ptr points at. */
static bma_status live_extent_at(const view *v, const void *ptr, size_t *index, size_t *count)
{
    bma_status s = index_of(v, ptr, index);
    return s != BMA_OK ? s : live_extent(v, *index, count);
}

static bool meets_align(const view *v, size_t index, size_t align)
{
    chunk_align a = chunk_align_for(v, align);
    return (index & (a.step - 1u)) == a.phase;
}

/* ---------------------------------------------------------- validation */

static bma_status check_bitmaps(const view *v)
{
    uint64_t carry = 0; /* whether the last chunk of the previous word is used */
    size_t w;
    for (w = 0; w < v->words; w++) {
        uint64_t valid = valid_mask(v, w), free = v->free_bits[w], start = v->start_bits[w];
        uint64_t used = ~free & valid;
        uint64_t continued = used & ~start;
        if ((free & ~valid) != 0 || (start & ~valid) != 0) {
            return BMA_ECORRUPT; /* I1 */
        }
        if ((start & free) != 0) {
            return BMA_ECORRUPT; /* I2 */
        }
        if ((continued & ~((used << 1) | carry)) != 0) {
            return BMA_ECORRUPT; /* I3 */
        }
        carry = used >> (BITS - 1u);
    }
    return BMA_OK;
}

/* I4, bottom-up, so each node is compared with children already verified. */
static bma_status check_index(const view *v)
{
    size_t level, i;
    for (i = 0; v->levels != 0 && i < v->words; i++) {
        if (v->word_longest[i] != longest_in_word(v->free_bits[i])) {
            return BMA_ECORRUPT;
        }
    }
    for (level = 1; level <= v->levels; level++) {
        level_geom g = level_of(v, level), below = level_of(v, level - 1u);
        for (i = 0; i <= g.last; i++) {
            node expected = node_expected(v, &below, level, i);
            if (!node_equal(&g.nodes[i], &expected)) {
                return BMA_ECORRUPT;
            }
        }
    }
    return BMA_OK;
}

/* I5, with the search itself (from chunk 0, on the verified index) as the
 * judge of where each class's first run starts. O(HINT_CLASSES (64 + 8 log W)),
 * or O(HINT_CLASSES W) on a heap without index levels. */
static bma_status check_hints(const view *v)
{
    size_t c;
    for (c = 0; c < HINT_CLASSES; c++) {
        size_t first = find_from(v, 0, (size_t)hint_threshold[c]);
        if (v->hdr->hint[c] > (hints_kept(v) ? v->words : 0) || v->hdr->hint[c] > INT32_MAX ||
            (first != NOT_FOUND && v->hdr->hint[c] > first / BITS)) {
            return BMA_ECORRUPT;
        }
    }
    return BMA_OK;
}

/* Validates the header against buf_size and opens the heap. */
static bma_status open_checked(const void *buf, size_t buf_size, view *v)
{
    const header *hdr = buf;
    size_t chunk_size, chunk_count;
    layout l;
    bma_status s;
    if (buf_size < sizeof(header) || hdr->magic != FORMAT_MAGIC || hdr->version != FORMAT_VERSION ||
        hdr->header_size != sizeof(header) || hdr->chunk_size > SIZE_MAX || hdr->chunk_count > SIZE_MAX) {
        return BMA_ECORRUPT;
    }
    chunk_size = (size_t)hdr->chunk_size;
    chunk_count = (size_t)hdr->chunk_count;
    if (!is_pow2(chunk_size) || chunk_count == 0 || !layout_of(chunk_size, chunk_count, &l) || l.total > buf_size ||
        !layout_stored(hdr, &l, chunk_size)) {
        return BMA_ECORRUPT;
    }
    view_of(buf, v);
    s = check_bitmaps(v);
    s = s != BMA_OK ? s : check_index(v);
    return s != BMA_OK ? s : check_hints(v);
}

/* ------------------------------------------------------------------ API */

const char *bma_strerror(bma_status s)
{
    switch (s) {
    case BMA_OK: return "success";
    case BMA_EINVAL: return "invalid argument";
    case BMA_EOVERFLOW: return "size computation overflows size_t";
    case BMA_ENOMEM: return "no run of free chunks satisfies the request";
    case BMA_EBADPTR: return "not the start of a live allocation of this heap";
    case BMA_EDOUBLEFREE: return "chunk is already free";
    case BMA_ESIZE: return "size does not match the allocation";
    case BMA_ECORRUPT: return "buffer is not a consistent heap";
    }
    return "unknown status";
}

bma_status bma_buffer_size(size_t chunk_size, size_t capacity, size_t *buf_size)
{
    layout l;
    if (buf_size == NULL || !is_pow2(chunk_size) || capacity == 0) {
        return BMA_EINVAL;
    }
    if (!layout_of(chunk_size, capacity / chunk_size + (capacity % chunk_size != 0), &l)) {
        return BMA_EOVERFLOW;
    }
    *buf_size = l.total;
    return BMA_OK;
}

static bool geometry_fits(size_t chunk_size, size_t chunk_count, size_t buf_size)
{
    layout l;
    return layout_of(chunk_size, chunk_count, &l) && l.total <= buf_size;
}

bma_status bma_init(void *buf, size_t buf_size, size_t chunk_size, bma_heap **out)
{
    size_t lo = 1, hi;
    layout l;
    header *hdr = buf;
    view v;
    if (buf == NULL || out == NULL || (uintptr_t)buf % BMA_BUFFER_ALIGN != 0 || !is_pow2(chunk_size)) {
        return BMA_EINVAL;
    }
    if (!geometry_fits(chunk_size, 1, buf_size)) {
        return BMA_ENOMEM;
    }
    /* The largest chunk count that fits: the total size grows with the count. */
    hi = buf_size / chunk_size;
    while (lo < hi) {
        size_t mid = lo + (hi - lo + 1u) / 2u;
        if (geometry_fits(chunk_size, mid, buf_size)) {
            lo = mid;
        } else {
            hi = mid - 1u;
        }
    }
    (void)layout_of(chunk_size, lo, &l);
    note_reset(buf, l.total);
    memset(buf, 0, l.chunks_off); /* every hint 0: a lower bound for any heap */
    hdr->magic = FORMAT_MAGIC;
    hdr->version = FORMAT_VERSION;
    hdr->header_size = (uint32_t)sizeof(header);
    hdr->chunk_size = (uint64_t)chunk_size;
    hdr->chunk_count = (uint64_t)lo;
    layout_store(hdr, &l, chunk_size);
    view_of(buf, &v);
    set_free(&v, 0, lo, true);
    *out = (bma_heap *)buf;
    return BMA_OK;
}

bma_status bma_attach(void *buf, size_t buf_size, bma_heap **out)
{
    view v;
    bma_status s;
    if (buf == NULL || out == NULL || (uintptr_t)buf % BMA_BUFFER_ALIGN != 0) {
        return BMA_EINVAL;
    }
    s = open_checked(buf, buf_size, &v);
    if (s != BMA_OK) {
        return s;
    }
    note_freed(&v, 0, v.chunk_count);
    (void)bma_walk((bma_heap *)buf, note_live, &v);
    *out = (bma_heap *)buf;
    return BMA_OK;
}

bma_status bma_detach(bma_heap *h)
{
    view v;
    if (h == NULL) {
        return BMA_EINVAL;
    }
    view_of(h, &v);
    note_reset(v.chunks, v.chunk_count << v.shift);
    return BMA_OK;
}

bma_status bma_alloc(bma_heap *h, size_t size, size_t align, void **out)
{
    view v;
    size_t index;
    if (h == NULL || out == NULL || size == 0 || !align_ok(align)) {
        return BMA_EINVAL;
    }
    view_of(h, &v);
    index = alloc_fast(&v, chunks_for(&v, size), align);
    if (index == NOT_FOUND) {
        return BMA_ENOMEM;
    }
    view_of(h, &v); /* read again after the bitmap stores: nothing of it is kept across the search */
    *out = v.chunks + (index << v.shift);
    return BMA_OK;
}

bma_status bma_alloc_array(bma_heap *h, size_t elem_size, size_t count, size_t align, void **out)
{
    size_t size;
    if (h == NULL || out == NULL || elem_size == 0 || count == 0 || !align_ok(align)) {
        return BMA_EINVAL;
    }
    if (!mul_ok(elem_size, count, &size)) {
        return BMA_EOVERFLOW;
    }
    return bma_alloc(h, size, align, out);
}

bma_status bma_alloc_chunks(bma_heap *h, size_t count, size_t *index)
{
    view v;
    size_t found;
    if (h == NULL || index == NULL || count == 0) {
        return BMA_EINVAL;
    }
    view_of(h, &v);
    found = alloc_fast(&v, count, 0);
    if (found == NOT_FOUND) {
        return BMA_ENOMEM;
    }
    *index = found;
    return BMA_OK;
}

/* The free path shared by every free: validate, then release. expected_count
 * 0 means the caller gave no size. Out of line, with its own view. */
static bma_status free_index_any(const bma_heap *h, size_t index, size_t expected_count)
{
    view v;
    size_t count;
    bma_status s;
    view_of(h, &v);
    s = live_extent(&v, index, &count);
    if (s != BMA_OK) {
        return s;
    }
    if (expected_count != 0 && expected_count != count) {
        return BMA_ESIZE;
    }
    release(&v, index, count);
    return BMA_OK;
}

/* free_index_any(), with the common case kept apart: a valid free of an
 * allocation that ends in the word it starts in, decided from that word of
 * each bitmap (the next free chunk or start after index ends it). Anything
 * else, errors included, takes the general path, which decides it again. */
static HOT_INLINE bma_status free_index(const view *v, size_t index, size_t expected_count)
{
    size_t b = index % BITS, count;
    uint64_t bit = UINT64_C(1) << b, free_w, start_w, ends;
    if (index >= v->chunk_count) {
        return free_index_any((const bma_heap *)v->hdr, index, expected_count);
    }
    free_w = v->free_bits[index / BITS];
    start_w = v->start_bits[index / BITS];
    ends = (free_w | start_w) & ~(bit | (bit - 1u)); /* boundaries above bit b */
    count = ctz64(ends | (UINT64_C(1) << 63)) - b;   /* defined for ends == 0 */
    if ((free_w & bit) != 0 || (start_w & bit) == 0 || ends == 0 || (expected_count != 0 && expected_count != count)) {
        return free_index_any((const bma_heap *)v->hdr, index, expected_count);
    }
    v->start_bits[index / BITS] = start_w & ~bit;                        /* release(), with the words in hand */
    v->free_bits[index / BITS] = free_w | ((ends & (~ends + 1u)) - bit); /* ends != 0: no wrap */
    return freed_done(v, index, count, free_w);
}

static bma_status free_ptr(bma_heap *h, void *ptr, size_t size)
{
    view v;
    size_t index;
    bma_status s;
    if (h == NULL || ptr == NULL) {
        return BMA_EINVAL;
    }
    view_of(h, &v);
    s = index_of(&v, ptr, &index);
    return s != BMA_OK ? s : free_index(&v, index, size == 0 ? 0 : chunks_for(&v, size));
}

bma_status bma_free(bma_heap *h, void *ptr) { return free_ptr(h, ptr, 0); }

bma_status bma_free_sized(bma_heap *h, void *ptr, size_t size)
{
    return size == 0 ? BMA_EINVAL : free_ptr(h, ptr, size);
}

bma_status bma_free_chunks(bma_heap *h, size_t index, size_t count)
{
    view v;
    if (h == NULL || count == 0) {
        return BMA_EINVAL;
    }
    view_of(h, &v);
    return free_index(&v, index, count);
}

/* Resizes the allocation [index, index + count) in place to new_count chunks. */
static bool resize_run(const view *v, size_t index, size_t count, size_t new_count)
{
    if (new_count < count) {
        set_free(v, index + new_count, count - new_count, true);
        return true;
    }
    if (new_count > v->chunk_count - index || scan_next(v, SCAN_USED, index + count) < index + new_count) {
        return false;
    }
    if (new_count > count) {
        set_free(v, index + count, new_count - count, false);
    }
    return true;
}

bma_status bma_resize(bma_heap *h, void *ptr, size_t new_size)
{
    view v;
    size_t index, count;
    if (h == NULL || ptr == NULL || new_size == 0) {
        return BMA_EINVAL;
    }
    view_of(h, &v);
    if (live_extent_at(&v, ptr, &index, &count) != BMA_OK) {
        return BMA_EBADPTR;
    }
    return resize_run(&v, index, count, chunks_for(&v, new_size)) ? BMA_OK : BMA_ENOMEM;
}

bma_status bma_realloc(bma_heap *h, void *ptr, size_t new_size, size_t align, void **out)
{
    view v;
    size_t index, count, new_count, new_index;
    if (h == NULL || out == NULL || new_size == 0 || !align_ok(align)) {
        return BMA_EINVAL;
    }
    if (ptr == NULL) {
        return bma_alloc(h, new_size, align, out);
    }
    view_of(h, &v);
    if (live_extent_at(&v, ptr, &index, &count) != BMA_OK) {
        return BMA_EBADPTR;
    }
    new_count = chunks_for(&v, new_size);
    if (meets_align(&v, index, align) && resize_run(&v, index, count, new_count)) {
        *out = ptr;
        return BMA_OK;
    }
    new_index = alloc_run(&v, new_count, align, hints_kept(&v));
    if (new_index == NOT_FOUND) {
        return BMA_ENOMEM;
    }
    memcpy(v.chunks + (new_index << v.shift), ptr, (count < new_count ? count : new_count) << v.shift);
    release(&v, index, count);
    *out = v.chunks + (new_index << v.shift);
    return BMA_OK;
}

size_t bma_usable_size(const bma_heap *h, const void *ptr)
{
    view v;
    size_t index, count;
    if (h == NULL || ptr == NULL) {
        return 0;
    }
    view_of(h, &v);
    return live_extent_at(&v, ptr, &index, &count) == BMA_OK ? count << v.shift : 0;
}

void *bma_chunk_ptr(bma_heap *h, size_t index)
{
    view v;
    if (h == NULL) {
        return NULL;
    }
    view_of(h, &v);
    return index < v.chunk_count ? v.chunks + (index << v.shift) : NULL;
}

bma_status bma_chunk_index(const bma_heap *h, const void *ptr, size_t *index)
{
    view v;
    if (h == NULL || ptr == NULL || index == NULL) {
        return BMA_EINVAL;
    }
    view_of(h, &v);
    return index_of(&v, ptr, index);
}

bma_status bma_get_stats(const bma_heap *h, bma_stats *out)
{
    view v;
    level_geom top;
    size_t w, free_chunks = 0, starts = 0;
    if (h == NULL || out == NULL) {
        return BMA_EINVAL;
    }
    view_of(h, &v);
    for (w = 0; w < v.words; w++) {
        free_chunks += popcount64(v.free_bits[w]);
        starts += popcount64(v.start_bits[w]);
    }
    out->chunk_size = chunk_size_of(&v);
    out->chunk_count = v.chunk_count;
    out->chunks_offset = (size_t)v.hdr->chunks_off;
    out->free_chunks = free_chunks;
    out->used_chunks = v.chunk_count - free_chunks;
    out->live_allocations = starts;
    top = level_of(&v, v.levels);
    out->largest_free_run = (size_t)combine(&v, &top, v.levels, 0, top.last + 1u).longest;
    out->buffer_size = (size_t)v.hdr->total;
    out->metadata_bytes = (size_t)v.hdr->chunks_off;
    return BMA_OK;
}

bma_status bma_check(const bma_heap *h)
{
    view v;
    if (h == NULL) {
        return BMA_EINVAL;
    }
    return open_checked(h, SIZE_MAX, &v);
}

bma_status bma_walk(const bma_heap *h, int (*fn)(size_t index, size_t count, void *ctx), void *ctx)
{
    view v;
    size_t index;
    if (h == NULL || fn == NULL) {
        return BMA_EINVAL;
    }
    view_of(h, &v);
    for (index = scan_next(&v, SCAN_START, 0); index < v.chunk_count; index = scan_next(&v, SCAN_START, index + 1u)) {
        size_t end = scan_next(&v, SCAN_BOUNDARY, index + 1u);
        if (fn(index, end - index, ctx) != 0) {
            break;
        }
    }
    return BMA_OK;
}

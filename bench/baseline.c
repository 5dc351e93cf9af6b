/* Baseline contender for the benchmarks: NOT production code.
 *
 * It follows the description of findFreeChunks in Ghostty's Zig
 * BitmapAllocator (src/terminal/bitmap_allocator.zig), the algorithm this
 * library started from, so the benchmark can show what the library's own
 * search buys:
 *
 *  - one u64 bitmap, bit = 1 means the chunk is free;
 *  - n <= 64: for each word in order, fold the word with n - 1 shift-and
 *    steps (shifted &= word >> i) so that bit b survives iff bits
 *    [b, b + n) are free, and take the lowest survivor. A run is only ever
 *    found inside one word: a run of n <= 64 that straddles two words is not
 *    seen, so this is not exact first fit (the library's is);
 *  - n > 64: take the free bits at the top of a word (clz of the inverted
 *    word), then whole free words, then a remainder at the bottom of the
 *    next word; on a miss, restart the search at the word that broke the run.
 *    This is exact first fit for n > 64;
 *  - no hint, no index, no start bitmap: every search starts at word 0 and
 *    free trusts its caller (the original's free(slice) takes the length).
 *
 * Ghostty main (PR #13826, the baseline_hint_* functions) adds one field,
 * search_start: the lowest word that may hold a free bit. alloc runs the same
 * search on bitmap[min(search_start, words) ..], then moves search_start
 * forward past the words that are now 0; free first lowers it to the freed
 * run's word. Everything else (the in-word fold for n <= 64, the n > 64 path,
 * free) is the original's.
 *
 * Differences from the original, none of which changes the search: the
 * bitmap and the chunks live in one malloc'd block instead of an offset
 * buffer; a chunk count that is not a multiple of 64 leaves the bits past it
 * at 0 (used) instead of rounding the count up; and the n > 64 path checks
 * the word index before reading the remainder word (the original reads
 * bitmaps[i] when i may equal bitmaps.len).
 */
#include "baseline.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BL_ALL UINT64_MAX

/* The search and its hinted form are forced inline into both the chunk and
 * the byte entry points, so that the two contenders get the same treatment
 * from the compiler (left to itself, GCC inlined one and not the other). */
#if defined(__GNUC__) || defined(__clang__)
#define BL_INLINE inline __attribute__((always_inline))
#else
#define BL_INLINE inline
#endif

/* Bits [from, from + n) of a word; from < 64, 1 <= n <= 64 - from. */
static uint64_t bl_mask(unsigned from, unsigned n)
{
    uint64_t low = n == 64u ? BL_ALL : (UINT64_C(1) << n) - 1u;
    return low << from;
}

/* Leading / trailing set bits; the original's @clz(~w) / @ctz(~w), which Zig
 * defines as 64 for a zero argument (the builtins do not). */
static unsigned bl_top_ones(uint64_t w) { return ~w == 0 ? 64u : (unsigned)__builtin_clzll(~w); }
static unsigned bl_bottom_ones(uint64_t w) { return ~w == 0 ? 64u : (unsigned)__builtin_ctzll(~w); }

bool baseline_create(baseline_heap *h, size_t chunk_size, size_t chunk_count)
{
    size_t words = chunk_count / 64u + (chunk_count % 64u != 0);
    size_t bitmap_bytes = words * sizeof(uint64_t);
    if (chunk_count == 0 || chunk_size == 0 || (chunk_size & (chunk_size - 1u)) != 0 ||
        chunk_count > SIZE_MAX / chunk_size || chunk_count * chunk_size > SIZE_MAX - bitmap_bytes) {
        return false;
    }
    h->buffer = malloc(bitmap_bytes + chunk_count * chunk_size);
    if (h->buffer == NULL) {
        return false;
    }
    h->bitmap = h->buffer;
    h->words = words;
    h->chunk_count = chunk_count;
    h->chunk_size = chunk_size;
    h->chunk_shift = (unsigned)__builtin_ctzll(chunk_size);
    h->chunks = (unsigned char *)h->buffer + bitmap_bytes;
    baseline_reset(h);
    return true;
}

void baseline_destroy(baseline_heap *h)
{
    free(h->buffer);
    h->buffer = NULL;
}

void baseline_reset(baseline_heap *h)
{
    size_t tail = h->chunk_count % 64u;
    memset(h->bitmap, 0xff, h->words * sizeof(uint64_t));
    if (tail != 0) {
        h->bitmap[h->words - 1u] = bl_mask(0, (unsigned)tail);
    }
    h->search_start = 0;
}

/* n > 64: the original's "large chunks" path. */
static bool bl_find_large(uint64_t *bm, size_t len, size_t n, size_t *index)
{
    size_t i = 0;
    while (i < len) {
        unsigned prefix = bl_top_ones(bm[i]);
        size_t start_word, rem, suffix, full, k;
        unsigned start_bit;
        if (prefix == 0) {
            i++;
            continue;
        }
        start_word = i;
        start_bit = 64u - prefix;
        rem = n - prefix;
        i++;
        while (rem > 64u && i < len && bm[i] == BL_ALL) {
            rem -= 64u;
            i++;
        }
        if (i >= len) {
            return false;
        }
        if (rem > 64u || bl_bottom_ones(bm[i]) < rem) {
            continue; /* restart at word i, which broke the run */
        }
        /* Found: mark [start, start + n) used, as the original does. */
        suffix = (n - prefix) % 64u;
        full = (n - prefix - suffix) / 64u;
        bm[start_word] &= ~bl_mask(start_bit, prefix);
        for (k = 1; k <= full; k++) {
            bm[start_word + k] = 0;
        }
        if (suffix > 0) {
            bm[i] &= ~bl_mask(0, (unsigned)suffix);
        }
        *index = start_word * 64u + start_bit;
        return true;
    }
    return false;
}

/* The original's findFreeChunks on bm[0, len): *index is relative to bm. */
static BL_INLINE bool bl_find(uint64_t *bm, size_t len, size_t n, size_t *index)
{
    size_t idx;
    if (n == 0) {
        return false;
    }
    if (n > 64u) {
        return bl_find_large(bm, len, n, index);
    }
    for (idx = 0; idx < len; idx++) {
        uint64_t word = bm[idx], shifted = word;
        unsigned bit;
        size_t i;
        /* The original's shift-and fold, one step per extra chunk. */
        for (i = 1; i < n; i++) {
            shifted &= word >> i;
        }
        if (shifted == 0) {
            continue;
        }
        bit = (unsigned)__builtin_ctzll(shifted);
        bm[idx] = word ^ bl_mask(bit, (unsigned)n);
        *index = idx * 64u + bit;
        return true;
    }
    return false;
}

bool baseline_alloc_chunks(baseline_heap *h, size_t n, size_t *index) { return bl_find(h->bitmap, h->words, n, index); }

/* Ghostty main's alloc: the same search from search_start. */
static BL_INLINE bool bl_hint_alloc(baseline_heap *h, size_t n, size_t *index)
{
    size_t start = h->search_start < h->words ? h->search_start : h->words, rel;
    if (!bl_find(h->bitmap + start, h->words - start, n, &rel)) {
        return false;
    }
    *index = start * 64u + rel;
    /* Past the words this allocation (or earlier ones) filled. */
    while (start < h->words && h->bitmap[start] == 0) {
        start++;
    }
    h->search_start = start;
    return true;
}

/* Ghostty main's free: lower the hint, then the original's free. */
static BL_INLINE void bl_hint_free(baseline_heap *h, size_t index, size_t n)
{
    if (index / 64u < h->search_start) {
        h->search_start = index / 64u; /* that word gains free bits */
    }
    baseline_free_chunks(h, index, n);
}

void baseline_free_chunks(baseline_heap *h, size_t index, size_t n)
{
    while (n > 0) {
        unsigned from = (unsigned)(index % 64u);
        size_t take = 64u - from < n ? 64u - from : n;
        h->bitmap[index / 64u] |= bl_mask(from, (unsigned)take);
        index += take;
        n -= take;
    }
}

static size_t bl_chunks_for(const baseline_heap *h, size_t bytes)
{
    return (bytes >> h->chunk_shift) + ((bytes & (h->chunk_size - 1u)) != 0);
}

void *baseline_alloc(baseline_heap *h, size_t bytes)
{
    size_t index;
    if (!bl_find(h->bitmap, h->words, bl_chunks_for(h, bytes), &index)) {
        return NULL;
    }
    return h->chunks + (index << h->chunk_shift);
}

void baseline_free(baseline_heap *h, void *ptr, size_t bytes)
{
    size_t index = (size_t)((unsigned char *)ptr - h->chunks) >> h->chunk_shift;
    baseline_free_chunks(h, index, bl_chunks_for(h, bytes));
}

/* ------------------------------------------ Ghostty main: search_start */

bool baseline_hint_alloc_chunks(baseline_heap *h, size_t n, size_t *index) { return bl_hint_alloc(h, n, index); }

void baseline_hint_free_chunks(baseline_heap *h, size_t index, size_t n) { bl_hint_free(h, index, n); }

void *baseline_hint_alloc(baseline_heap *h, size_t bytes)
{
    size_t index;
    if (!bl_hint_alloc(h, bl_chunks_for(h, bytes), &index)) {
        return NULL;
    }
    return h->chunks + (index << h->chunk_shift);
}

void baseline_hint_free(baseline_heap *h, void *ptr, size_t bytes)
{
    size_t index = (size_t)((unsigned char *)ptr - h->chunks) >> h->chunk_shift;
    bl_hint_free(h, index, bl_chunks_for(h, bytes));
}

/* The benchmark's baseline contenders: a C transcription of the search that
 * Ghostty's Zig BitmapAllocator describes (src/terminal/bitmap_allocator.zig,
 * findFreeChunks), and Ghostty main's version of it, which starts that search
 * at a search_start hint (PR #13826). Benchmark-only code; see baseline.c for
 * what it keeps and what it deliberately leaves out. */
#ifndef BENCH_BASELINE_H
#define BENCH_BASELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct baseline_heap {
    uint64_t *bitmap; /* 1 = free, as in the original */
    size_t words;     /* ceil(chunk_count / 64) */
    size_t chunk_count;
    size_t chunk_size;     /* a power of two, as Ghostty's comptime chunk_size */
    unsigned chunk_shift;  /* log2(chunk_size): the byte wrappers shift, as Zig does for a comptime power of two */
    unsigned char *chunks; /* chunk i is at chunks + i * chunk_size */
    void *buffer;          /* the one allocation holding bitmap and chunks */
    /* Only the baseline_hint_* functions read or write it: the lowest bitmap
     * word that may hold a free bit (every word below it is 0). */
    size_t search_start;
} baseline_heap;

/* Allocates (with malloc) and initialises a heap of chunk_count chunks of
 * chunk_size bytes, all free. false if out of memory or a size overflows. */
bool baseline_create(baseline_heap *h, size_t chunk_size, size_t chunk_count);
void baseline_destroy(baseline_heap *h);
/* Marks every chunk free again, like the original's init. */
void baseline_reset(baseline_heap *h);

/* The original's findFreeChunks: finds n free chunks, marks them used and
 * stores the first index. false (and no change) if its search finds none. */
bool baseline_alloc_chunks(baseline_heap *h, size_t n, size_t *index);
/* The original's free: marks [index, index + n) free, with no validation. */
void baseline_free_chunks(baseline_heap *h, size_t index, size_t n);

/* Byte wrappers, as the original's alloc(T, n) / free(slice) compute the
 * chunk count from the byte length. NULL when the search finds nothing. */
void *baseline_alloc(baseline_heap *h, size_t bytes);
void baseline_free(baseline_heap *h, void *ptr, size_t bytes);

/* Ghostty main's search (the "ghostty-main" contender): the same search run
 * on bitmap[min(search_start, words), words), then search_start advanced past
 * the words that are now 0; free lowers search_start to the freed run's first
 * word. The hint only skips words without a free bit, so it returns exactly
 * the indices of baseline_alloc_chunks on the same bitmap. A heap is driven
 * either through these or through the unhinted functions, not both. */
bool baseline_hint_alloc_chunks(baseline_heap *h, size_t n, size_t *index);
void baseline_hint_free_chunks(baseline_heap *h, size_t index, size_t n);
void *baseline_hint_alloc(baseline_heap *h, size_t bytes);
void baseline_hint_free(baseline_heap *h, void *ptr, size_t bytes);

#endif /* BENCH_BASELINE_H */

/* The reference oracle: a naive model of a bitmapalloc heap.
 *
 * Every chunk has one byte of state: FREE, START (an allocation begins here)
 * or CONT (a later chunk of the allocation that begins before it). An
 * allocation is a START followed by its CONT chunks. Every operation is a
 * plain loop over that array; nothing here is shared with lib/.
 *
 * Every function checks everything first and changes the model only once it
 * knows it will return BMA_OK, so an error changes nothing and leaves *index
 * unwritten. */
#include "oracle.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { CHUNK_FREE = 0, CHUNK_START = 1, CHUNK_CONT = 2 };

struct orc_heap {
    size_t chunk_size;
    size_t chunk_count;
    size_t chunks_offset;  /* chunk i is at byte chunks_offset + i * chunk_size */
    size_t buffer_size;    /* only echoed back by orc_get_stats */
    size_t metadata_bytes; /* only echoed back by orc_get_stats */
    unsigned char *state;  /* chunk_count bytes, one CHUNK_* per chunk */
    size_t used, starts;   /* chunks not FREE, chunks that are START: kept by mark_* for orc_counts */
};

/* ------------------------------------------------------------ helpers */

static int is_power_of_two(size_t x)
{
    size_t p = 1;
    while (p < x && p <= SIZE_MAX / 2) {
        p = p * 2;
    }
    return x != 0 && p == x;
}

/* align 0 means "no constraint"; anything else must be a power of two. */
static int align_is_valid(size_t align) { return align == 0 || is_power_of_two(align); }

/* ceil(size / chunk_size), without computing size + chunk_size - 1. */
static size_t chunks_for_bytes(const orc_heap *o, size_t size)
{
    size_t count = size / o->chunk_size;
    if (size % o->chunk_size != 0) {
        count = count + 1;
    }
    return count;
}

/* Byte offset of chunk i from the buffer start. orc_new made sure this
 * cannot overflow for any i < chunk_count. */
static size_t chunk_offset(const orc_heap *o, size_t i) { return o->chunks_offset + i * o->chunk_size; }

static int chunk_meets_align(const orc_heap *o, size_t i, size_t align)
{
    if (align == 0) {
        return 1;
    }
    return chunk_offset(o, i) % align == 0;
}

/* If offset is the first byte of a chunk inside the chunk region, stores
 * that chunk's index and returns 1; otherwise returns 0. */
static int offset_to_chunk(const orc_heap *o, size_t offset, size_t *i)
{
    if (offset < o->chunks_offset) {
        return 0;
    }
    if ((offset - o->chunks_offset) % o->chunk_size != 0) {
        return 0;
    }
    if ((offset - o->chunks_offset) / o->chunk_size >= o->chunk_count) {
        return 0;
    }
    *i = (offset - o->chunks_offset) / o->chunk_size;
    return 1;
}

/* Number of chunks of the allocation that starts at chunk first (a START):
 * the START itself plus the CONT chunks right after it. */
static size_t allocation_length(const orc_heap *o, size_t first)
{
    size_t n = 1;
    while (first + n < o->chunk_count && o->state[first + n] == CHUNK_CONT) {
        n = n + 1;
    }
    return n;
}

/* Sets chunk i to state s, keeping the counters of orc_counts in step. */
static void set_state(orc_heap *o, size_t i, unsigned char s)
{
    unsigned char was = o->state[i];
    o->used = o->used - (was != CHUNK_FREE) + (s != CHUNK_FREE);
    o->starts = o->starts - (was == CHUNK_START) + (s == CHUNK_START);
    o->state[i] = s;
}

static void mark_allocated(orc_heap *o, size_t first, size_t count)
{
    set_state(o, first, CHUNK_START);
    for (size_t k = 1; k < count; k++) {
        set_state(o, first + k, CHUNK_CONT);
    }
}

static void mark_free(orc_heap *o, size_t first, size_t count)
{
    for (size_t k = 0; k < count; k++) {
        set_state(o, first + k, CHUNK_FREE);
    }
}

/* First fit: the lowest i such that chunks [i, i + count) are all FREE and
 * chunk i meets align. Returns 1 and stores i, or returns 0 if there is none.
 *
 * One pass over the chunks: `run` is the number of FREE chunks that end at
 * chunk j. When run >= count, the count chunks ending at j, that is
 * [j + 1 - count, j], are all FREE, so i = j + 1 - count is a candidate.
 * Each i is considered exactly once (at j = i + count - 1), in increasing
 * order, so the first candidate that meets align is the lowest one. */
static int find_first_fit(const orc_heap *o, size_t count, size_t align, size_t *first)
{
    size_t run = 0;
    for (size_t j = 0; j < o->chunk_count; j++) {
        if (o->state[j] == CHUNK_FREE) {
            run = run + 1;
        } else {
            run = 0;
        }
        if (run >= count && chunk_meets_align(o, j + 1 - count, align)) {
            *first = j + 1 - count;
            return 1;
        }
    }
    return 0;
}

/* Changes the allocation at first (a START of old_count chunks) to
 * new_count chunks without moving it. Shrinking always succeeds; growing
 * succeeds iff the chunks right after it exist and are all FREE. */
static bma_status resize_in_place(orc_heap *o, size_t first, size_t old_count, size_t new_count)
{
    size_t end = first + old_count; /* one past the allocation, <= chunk_count */
    if (new_count <= old_count) {
        mark_free(o, first + new_count, old_count - new_count);
        return BMA_OK;
    }
    size_t extra = new_count - old_count;
    if (extra > o->chunk_count - end) {
        return BMA_ENOMEM; /* would run past the last chunk */
    }
    for (size_t k = 0; k < extra; k++) {
        if (o->state[end + k] != CHUNK_FREE) {
            return BMA_ENOMEM;
        }
    }
    mark_allocated(o, first, new_count);
    return BMA_OK;
}

/* ---------------------------------------------------------- lifecycle */

orc_heap *orc_new(size_t chunk_size, size_t chunk_count, size_t chunks_offset, size_t buffer_size,
                  size_t metadata_bytes)
{
    if (!is_power_of_two(chunk_size) || chunk_count == 0) {
        return NULL;
    }
    /* Every chunk offset, chunks_offset + i * chunk_size, must fit a size_t. */
    if (chunk_count > SIZE_MAX / chunk_size) {
        return NULL;
    }
    if (chunks_offset > SIZE_MAX - chunk_count * chunk_size) {
        return NULL;
    }
    orc_heap *o = malloc(sizeof *o);
    if (o == NULL) {
        return NULL;
    }
    o->state = malloc(chunk_count);
    if (o->state == NULL) {
        free(o);
        return NULL;
    }
    memset(o->state, CHUNK_FREE, chunk_count);
    o->used = 0;
    o->starts = 0;
    o->chunk_size = chunk_size;
    o->chunk_count = chunk_count;
    o->chunks_offset = chunks_offset;
    o->buffer_size = buffer_size;
    o->metadata_bytes = metadata_bytes;
    return o;
}

orc_heap *orc_clone(const orc_heap *o)
{
    if (o == NULL) {
        return NULL;
    }
    orc_heap *c = orc_new(o->chunk_size, o->chunk_count, o->chunks_offset, o->buffer_size, o->metadata_bytes);
    if (c == NULL) {
        return NULL;
    }
    memcpy(c->state, o->state, o->chunk_count);
    c->used = o->used;
    c->starts = o->starts;
    return c;
}

void orc_delete(orc_heap *o)
{
    if (o == NULL) {
        return;
    }
    free(o->state);
    free(o);
}

/* --------------------------------------------------------- allocation */

/* Allocates count chunks by first fit. count must be non-zero. */
static bma_status alloc_count(orc_heap *o, size_t count, size_t align, size_t *index)
{
    size_t first;
    if (!find_first_fit(o, count, align, &first)) {
        return BMA_ENOMEM;
    }
    mark_allocated(o, first, count);
    *index = first;
    return BMA_OK;
}

bma_status orc_alloc(orc_heap *o, size_t size, size_t align, size_t *index)
{
    if (o == NULL || index == NULL || size == 0 || !align_is_valid(align)) {
        return BMA_EINVAL;
    }
    return alloc_count(o, chunks_for_bytes(o, size), align, index);
}

bma_status orc_alloc_array(orc_heap *o, size_t elem_size, size_t count, size_t align, size_t *index)
{
    if (o == NULL || index == NULL || elem_size == 0 || count == 0 || !align_is_valid(align)) {
        return BMA_EINVAL;
    }
    if (count > SIZE_MAX / elem_size) {
        return BMA_EOVERFLOW;
    }
    return orc_alloc(o, elem_size * count, align, index);
}

bma_status orc_alloc_chunks(orc_heap *o, size_t count, size_t *index)
{
    if (o == NULL || index == NULL || count == 0) {
        return BMA_EINVAL;
    }
    return alloc_count(o, count, 0, index);
}

/* --------------------------------------------------------------- free */

/* The checks shared by every free. If chunk i (i < chunk_count) is a live
 * start of exactly want_count chunks (want_count 0: any count), frees it.
 * FREE chunk: EDOUBLEFREE. CONT chunk: EBADPTR. Other count: ESIZE. */
static bma_status free_at(orc_heap *o, size_t i, size_t want_count)
{
    if (o->state[i] == CHUNK_FREE) {
        return BMA_EDOUBLEFREE;
    }
    if (o->state[i] != CHUNK_START) {
        return BMA_EBADPTR;
    }
    size_t n = allocation_length(o, i);
    if (want_count != 0 && want_count != n) {
        return BMA_ESIZE;
    }
    mark_free(o, i, n);
    return BMA_OK;
}

bma_status orc_free(orc_heap *o, size_t offset)
{
    size_t i;
    if (o == NULL) {
        return BMA_EINVAL;
    }
    if (!offset_to_chunk(o, offset, &i)) {
        return BMA_EBADPTR;
    }
    return free_at(o, i, 0);
}

bma_status orc_free_sized(orc_heap *o, size_t offset, size_t size)
{
    size_t i;
    if (o == NULL || size == 0) {
        return BMA_EINVAL;
    }
    if (!offset_to_chunk(o, offset, &i)) {
        return BMA_EBADPTR;
    }
    return free_at(o, i, chunks_for_bytes(o, size));
}

bma_status orc_free_chunks(orc_heap *o, size_t index, size_t count)
{
    if (o == NULL || count == 0) {
        return BMA_EINVAL;
    }
    if (index >= o->chunk_count) {
        return BMA_EBADPTR;
    }
    return free_at(o, index, count);
}

/* ------------------------------------------------------------- resize */

bma_status orc_resize(orc_heap *o, size_t offset, size_t new_size)
{
    size_t i;
    if (o == NULL || new_size == 0) {
        return BMA_EINVAL;
    }
    if (!offset_to_chunk(o, offset, &i) || o->state[i] != CHUNK_START) {
        return BMA_EBADPTR;
    }
    return resize_in_place(o, i, allocation_length(o, i), chunks_for_bytes(o, new_size));
}

bma_status orc_realloc(orc_heap *o, size_t offset, size_t new_size, size_t align, size_t *index)
{
    size_t i;
    size_t first;
    if (o == NULL || index == NULL || new_size == 0 || !align_is_valid(align)) {
        return BMA_EINVAL;
    }
    if (offset == ORC_NULL) {
        return orc_alloc(o, new_size, align, index);
    }
    if (!offset_to_chunk(o, offset, &i) || o->state[i] != CHUNK_START) {
        return BMA_EBADPTR;
    }
    size_t old_count = allocation_length(o, i);
    size_t new_count = chunks_for_bytes(o, new_size);

    /* In place, when the allocation already meets align. */
    if (chunk_meets_align(o, i, align) && resize_in_place(o, i, old_count, new_count) == BMA_OK) {
        *index = i;
        return BMA_OK;
    }

    /* Move. The old chunks are still START/CONT, so the search skips them. */
    if (!find_first_fit(o, new_count, align, &first)) {
        return BMA_ENOMEM;
    }
    mark_allocated(o, first, new_count);
    mark_free(o, i, old_count);
    *index = first;
    return BMA_OK;
}

/* ------------------------------------------------------ introspection */

size_t orc_usable_size(const orc_heap *o, size_t offset)
{
    size_t i;
    if (o == NULL) {
        return 0;
    }
    if (!offset_to_chunk(o, offset, &i) || o->state[i] != CHUNK_START) {
        return 0;
    }
    return allocation_length(o, i) * o->chunk_size;
}

static size_t count_chunks_in_state(const orc_heap *o, unsigned char s)
{
    size_t n = 0;
    for (size_t k = 0; k < o->chunk_count; k++) {
        if (o->state[k] == s) {
            n = n + 1;
        }
    }
    return n;
}

static size_t largest_free_run(const orc_heap *o)
{
    size_t best = 0;
    size_t run = 0;
    for (size_t k = 0; k < o->chunk_count; k++) {
        if (o->state[k] == CHUNK_FREE) {
            run = run + 1;
        } else {
            run = 0;
        }
        if (run > best) {
            best = run;
        }
    }
    return best;
}

bma_status orc_get_stats(const orc_heap *o, bma_stats *out)
{
    if (o == NULL || out == NULL) {
        return BMA_EINVAL;
    }
    out->chunk_size = o->chunk_size;
    out->chunk_count = o->chunk_count;
    out->chunks_offset = o->chunks_offset;
    out->free_chunks = count_chunks_in_state(o, CHUNK_FREE);
    out->used_chunks = o->chunk_count - out->free_chunks;
    out->live_allocations = count_chunks_in_state(o, CHUNK_START);
    out->largest_free_run = largest_free_run(o);
    out->buffer_size = o->buffer_size;
    out->metadata_bytes = o->metadata_bytes;
    return BMA_OK;
}

void orc_counts(const orc_heap *o, size_t *free_chunks, size_t *used_chunks, size_t *live_allocations)
{
    *free_chunks = o->chunk_count - o->used;
    *used_chunks = o->used;
    *live_allocations = o->starts;
}

size_t orc_walk(const orc_heap *o, size_t *index, size_t *count, size_t max)
{
    size_t found = 0;
    if (o == NULL) {
        return 0;
    }
    for (size_t k = 0; k < o->chunk_count; k++) {
        if (o->state[k] != CHUNK_START) {
            continue;
        }
        if (found < max) {
            index[found] = k;
            count[found] = allocation_length(o, k);
        }
        found = found + 1;
    }
    return found;
}

/* The reference oracle: a naive model of a bitmapalloc heap with one byte per
 * chunk and a linear first-fit scan. It shares no code with lib/; it takes
 * only the status codes and the stats struct from the public header, which
 * are part of the contract. Pointers are passed as byte offsets from the
 * heap buffer's first byte. */
#ifndef BMA_ORACLE_H
#define BMA_ORACLE_H

#include "bitmapalloc.h"
#include <stddef.h>

/* Offset value meaning "NULL pointer" for orc_realloc. */
#define ORC_NULL ((size_t)-1)

typedef struct orc_heap orc_heap;

/* A model heap with the given geometry, all chunks free. buffer_size and
 * metadata_bytes are only echoed back by orc_stats. NULL if malloc fails. */
orc_heap *orc_new(size_t chunk_size, size_t chunk_count, size_t chunks_offset, size_t buffer_size,
                  size_t metadata_bytes);
orc_heap *orc_clone(const orc_heap *o);
void orc_delete(orc_heap *o);

/* Same meaning, arguments and status codes as the bma_ functions of the same
 * name, except that pointers are offsets and results are chunk indices. */
bma_status orc_alloc(orc_heap *o, size_t size, size_t align, size_t *index);
bma_status orc_alloc_array(orc_heap *o, size_t elem_size, size_t count, size_t align, size_t *index);
bma_status orc_alloc_chunks(orc_heap *o, size_t count, size_t *index);
bma_status orc_free(orc_heap *o, size_t offset);
bma_status orc_free_sized(orc_heap *o, size_t offset, size_t size);
bma_status orc_free_chunks(orc_heap *o, size_t index, size_t count);
bma_status orc_resize(orc_heap *o, size_t offset, size_t new_size);
/* offset ORC_NULL allocates. *index receives the (possibly unchanged) start. */
bma_status orc_realloc(orc_heap *o, size_t offset, size_t new_size, size_t align, size_t *index);
size_t orc_usable_size(const orc_heap *o, size_t offset);
bma_status orc_get_stats(const orc_heap *o, bma_stats *out);

/* free_chunks, used_chunks and live_allocations of orc_get_stats, in O(1):
 * counters kept as chunks change state (orc_get_stats counts them anew). */
void orc_counts(const orc_heap *o, size_t *free_chunks, size_t *used_chunks, size_t *live_allocations);

/* Stores up to max live allocations (start index, chunk count) in index
 * order; returns how many there are in all. */
size_t orc_walk(const orc_heap *o, size_t *index, size_t *count, size_t max);

#endif

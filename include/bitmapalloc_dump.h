/* bitmapalloc_dump: a human-readable map of a bitmapalloc heap.
 *
 * Kept out of bitmapalloc.h so that the main header needs nothing but
 * <stddef.h> (it stays usable where <stdio.h> is not available); this one
 * pulls in <stdio.h> for FILE. The function lives in the same library.
 */
#ifndef BITMAPALLOC_DUMP_H
#define BITMAPALLOC_DUMP_H

#include <stdio.h>

#include "bitmapalloc.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Writes a text report of the heap to out: its geometry; the statistics of
 * bma_get_stats() with fragmentation, 1 - largest_free_run / free_chunks as a
 * percentage (0 when nothing is free); and a map with one character per chunk,
 * '#' the first chunk of an allocation, '=' its other chunks, '.' a free
 * chunk, 64 chunks a line, each line led by the index of its first chunk and
 * the last line by chunk_count. Two or more lines in a row that equal the
 * line before them are written as one "*" line giving their count and chunk
 * range. If bma_check() fails, writes one line saying so and nothing else.
 * Built on the public API only; reads the heap and never writes it. Output
 * errors are not reported here (test ferror(out)); one stops the map early.
 * O(chunk_count) time, O(1) memory.
 * Fails with BMA_EINVAL iff h or out is NULL. */
BMA_API bma_status bma_dump(const bma_heap *h, FILE *out);

#ifdef __cplusplus
}
#endif

#endif /* BITMAPALLOC_DUMP_H */

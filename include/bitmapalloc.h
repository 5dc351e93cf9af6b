/* bitmapalloc: a bitmap allocator for fixed, caller-owned buffers.
 *
 * A heap is one byte buffer. Everything the allocator knows lives inside it,
 * as offsets from its first byte: a header, the free bitmap (one bit per
 * chunk, 1 = free), the start bitmap (1 = an allocation begins here), and the
 * chunks. No pointer is stored in the buffer, so a heap may be copied with
 * memcpy, written to a file, or mapped at different addresses by several
 * processes; bma_attach() validates it at its new address.
 *
 * Memory is handed out in whole chunks of chunk_size bytes (a power of two).
 * A request of size bytes takes ceil(size / chunk_size) consecutive chunks,
 * always the run with the lowest chunk index that is free and meets the
 * requested alignment. Every free is validated against the start bitmap.
 *
 * Conventions for every function below:
 *  - Any result other than BMA_OK (BMA_ENOMEM included) leaves every byte of
 *    the buffer as it was, and leaves *out / *index unwritten.
 *  - W is the number of bitmap words, ceil(chunk_count / 64); n is the number
 *    of chunks of the allocation concerned. log W below is log base 8: the
 *    run index is a tree with fan-out 8 over the bitmap words.
 *  - Not thread-safe: callers that share a heap serialise all calls on it.
 *  - Alignment is measured from the buffer start: a heap buffer placed at an
 *    address aligned to A meets every alignment up to A in absolute terms.
 *
 * Sanitizer annotations are opt-in. By default, whatever -fsanitize the
 * library is built with, the buffer is a plain byte array: any code may copy,
 * compare or write out a live heap at any time, and a heap may be abandoned
 * (a returned stack frame, a freed buffer) without a call. A build that
 * defines BMA_SANITIZER_ANNOTATIONS=1 when compiling lib/ (meson:
 * -Dsanitizer_annotations=true; -Dbitmapalloc:sanitizer_annotations=true from
 * a parent project) asks for them:
 *  - with AddressSanitizer, free chunks are poisoned (bma_init, bma_attach and
 *    every free or shrink poison; allocations unpoison), so an overrun into a
 *    free chunk or a use after free is reported as use-after-poison;
 *  - where <valgrind/memcheck.h> is found, memcheck client requests mark free
 *    chunks no-access and new allocations undefined (BMA_VALGRIND=1 alone asks
 *    for these only).
 * In such a build, call bma_detach() before copying, comparing or writing out
 * a whole heap buffer, and before the buffer is freed or goes out of scope.
 */
#ifndef BITMAPALLOC_H
#define BITMAPALLOC_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BMA_VERSION_MAJOR 0
#define BMA_VERSION_MINOR 1
#define BMA_VERSION_PATCH 0
#define BMA_VERSION_STRING "0.1.0"

#if defined(_WIN32) && defined(BMA_SHARED_BUILD)
#define BMA_API __declspec(dllexport)
#elif defined(__GNUC__) || defined(__clang__)
#define BMA_API __attribute__((visibility("default")))
#else
#define BMA_API
#endif

/* Opaque; a bma_heap * is the address of the heap buffer's first byte. */
typedef struct bma_heap bma_heap;

typedef enum bma_status {
    BMA_OK = 0,
    BMA_EINVAL,      /* bad argument: NULL, chunk_size / align not a power of two, size 0, misaligned buffer */
    BMA_EOVERFLOW,   /* a size computation would overflow size_t */
    BMA_ENOMEM,      /* no run of free chunks satisfies the request (or buffer too small at init) */
    BMA_EBADPTR,     /* pointer/index is not the start of a live allocation of this heap */
    BMA_EDOUBLEFREE, /* pointer/index names a chunk that is already free */
    BMA_ESIZE,       /* sized free/resize: size does not match the allocation */
    BMA_ECORRUPT     /* bma_attach/bma_check: the buffer is not a consistent heap */
} bma_status;

/* A static, human-readable name for s ("unknown status" for other values). O(1). */
BMA_API const char *bma_strerror(bma_status s);

/* Minimum alignment of a heap buffer. */
#define BMA_BUFFER_ALIGN 8

/* ---------------------------------------------------------------- setup */

/* Smallest buffer size whose heap holds at least capacity bytes of chunks,
 * i.e. ceil(capacity / chunk_size) chunks. O(log W). Touches only *buf_size.
 * Fails with BMA_EINVAL iff buf_size is NULL, chunk_size is not a power of
 * two, or capacity is 0; with BMA_EOVERFLOW iff that size exceeds SIZE_MAX. */
BMA_API bma_status bma_buffer_size(size_t chunk_size, size_t capacity, size_t *buf_size);

/* Makes buf a new, empty heap with as many chunks as fit in buf_size bytes.
 * O(W + log(buf_size) log W). Writes the header, bitmaps and index; never
 * touches chunk bytes. With sanitizer annotations on, it first makes the
 * whole heap addressable, so a buffer that held an earlier heap can be reused
 * directly, then poisons the free chunks.
 * Fails with BMA_EINVAL iff buf or out is NULL, buf is not BMA_BUFFER_ALIGN
 * aligned, or chunk_size is not a power of two; with BMA_ENOMEM iff buf_size
 * is smaller than bma_buffer_size(chunk_size, chunk_size). */
BMA_API bma_status bma_init(void *buf, size_t buf_size, size_t chunk_size, bma_heap **out);

/* Validates the heap already in buf (after memcpy, mmap, or reading a file)
 * with the checks of bma_check(), and returns a handle to it. O(W). Reads
 * only the metadata, never past buf_size; writes nothing in the buffer.
 * buf_size may exceed the heap's own size; the extra bytes are not used.
 * Fails with BMA_EINVAL iff buf or out is NULL or buf is misaligned; with
 * BMA_ECORRUPT iff the magic or format version is wrong, the geometry does not
 * fit buf_size, or bma_check() would fail. */
BMA_API bma_status bma_attach(void *buf, size_t buf_size, bma_heap **out);

/* Needed only with sanitizer annotations on (see the top of this file); in
 * any other build it changes nothing. Ends ASan and Valgrind tracking of the
 * buffer: every byte becomes addressable (and defined) again, so the buffer
 * can be copied, written out or released. The heap stays valid and h may
 * still be used; later calls annotate the chunks they touch again. O(log W),
 * plus the annotation of the chunk region.
 * Fails with BMA_EINVAL iff h is NULL. */
BMA_API bma_status bma_detach(bma_heap *h);

/* ----------------------------------------------------- byte allocation */

/* Allocates ceil(size / chunk_size) chunks at the lowest chunk index whose
 * byte offset from the buffer start is a multiple of align (align 0 means
 * chunk alignment), and stores their address in *out.
 * O(log W + n / 64) worst case without alignment; an alignment above
 * chunk_size adds O(log W) for each free run of >= n chunks that has no
 * aligned start, before the one returned. Writes the bitmaps, the index and
 * (unaligned requests only) the search hint of n's size class.
 * Fails with BMA_EINVAL iff h or out is NULL, size is 0, or align is neither
 * 0 nor a power of two; with BMA_ENOMEM iff no such run of free chunks exists. */
BMA_API bma_status bma_alloc(bma_heap *h, size_t size, size_t align, void **out);

/* bma_alloc(h, elem_size * count, align, out).
 * Fails as bma_alloc, with BMA_EINVAL also iff elem_size or count is 0, and
 * with BMA_EOVERFLOW iff elem_size * count exceeds SIZE_MAX. */
BMA_API bma_status bma_alloc_array(bma_heap *h, size_t elem_size, size_t count, size_t align, void **out);

/* Frees the allocation that starts at ptr. O(n / 64 + log W). Writes the
 * bitmaps and the index. Fails with BMA_EINVAL iff h or ptr is NULL; with
 * BMA_EDOUBLEFREE iff ptr is on a chunk boundary inside the chunk region and
 * names a free chunk; with BMA_EBADPTR iff ptr is otherwise not the start of
 * a live allocation (outside the region, off a chunk boundary, interior). */
BMA_API bma_status bma_free(bma_heap *h, void *ptr);

/* bma_free(h, ptr) for an allocation of size bytes. Fails as bma_free, with
 * BMA_EINVAL also iff size is 0, and with BMA_ESIZE iff ptr is a live start
 * whose chunk count is not ceil(size / chunk_size). */
BMA_API bma_status bma_free_sized(bma_heap *h, void *ptr, size_t size);

/* Resizes the allocation at ptr in place to ceil(new_size / chunk_size)
 * chunks. Shrinking always succeeds; growing succeeds iff the chunks right
 * after the allocation are free. O(n / 64 + log W) for the larger extent.
 * Fails with BMA_EINVAL iff h or ptr is NULL or new_size is 0; with
 * BMA_EBADPTR iff ptr is not the start of a live allocation; with BMA_ENOMEM
 * iff it must grow and the chunks after it are not all free. */
BMA_API bma_status bma_resize(bma_heap *h, void *ptr, size_t new_size);

/* Resizes in place when ptr's offset meets align and bma_resize() succeeds;
 * otherwise allocates a new run by bma_alloc()'s rule while the old one is
 * still held, copies min(old, new) usable bytes, frees the old run, and
 * stores the new address in *out. ptr NULL behaves as bma_alloc().
 * As bma_alloc when it moves, plus the copy.
 * Fails with BMA_EINVAL iff h or out is NULL, new_size is 0, or align is
 * neither 0 nor a power of two; with BMA_EBADPTR iff ptr is neither NULL nor
 * the start of a live allocation; with BMA_ENOMEM iff it must move and no run
 * fits. On failure the old allocation is untouched. */
BMA_API bma_status bma_realloc(bma_heap *h, void *ptr, size_t new_size, size_t align, void **out);

/* Chunk count times chunk_size of the live allocation starting at ptr; 0 if
 * h or ptr is NULL or ptr is not a live start. O(n / 64 + 1). Reads only. */
BMA_API size_t bma_usable_size(const bma_heap *h, const void *ptr);

/* ---------------------------------------------------- chunk allocation */

/* bma_alloc of count chunks at chunk alignment; stores the first index.
 * O(log W + count / 64). Fails with BMA_EINVAL iff h or index is NULL or count is 0;
 * with BMA_ENOMEM iff no run of count free chunks exists. */
BMA_API bma_status bma_alloc_chunks(bma_heap *h, size_t count, size_t *index);

/* Frees the allocation of count chunks starting at index. O(count / 64 + log W).
 * Fails with BMA_EINVAL iff h is NULL or count is 0; with BMA_EDOUBLEFREE
 * iff index < chunk_count names a free chunk; with BMA_EBADPTR iff index is
 * otherwise not a live start; with BMA_ESIZE iff it is a live start of a
 * different chunk count. */
BMA_API bma_status bma_free_chunks(bma_heap *h, size_t index, size_t count);

/* Address of chunk index, allocated or not; NULL iff h is NULL or
 * index >= chunk_count. O(1). */
BMA_API void *bma_chunk_ptr(bma_heap *h, size_t index);

/* Index of the chunk that starts at ptr. O(1). Fails with BMA_EINVAL iff h,
 * ptr or index is NULL; with BMA_EBADPTR iff ptr is not on a chunk boundary
 * inside the chunk region. */
BMA_API bma_status bma_chunk_index(const bma_heap *h, const void *ptr, size_t *index);

/* -------------------------------------------------------- introspection */

typedef struct bma_stats {
    size_t chunk_size, chunk_count, chunks_offset; /* chunk i is at buf + chunks_offset + i*chunk_size */
    size_t free_chunks, used_chunks, live_allocations, largest_free_run;
    size_t buffer_size, metadata_bytes; /* bytes the heap occupies; bytes before the chunks */
} bma_stats;

/* Fills *out. O(W) (free and live counts are popcounts; the largest free run
 * is read off the index). Fails with BMA_EINVAL iff h or out is NULL. */
BMA_API bma_status bma_get_stats(const bma_heap *h, bma_stats *out);

/* Verifies every invariant of the metadata: magic, version, geometry (the
 * offsets stored in the header are the ones the layout gives), no free or
 * start bit past chunk_count, no start bit on a free chunk, every used chunk
 * inside an allocation, every run index node, and that every search hint is
 * a true lower bound (no run of its size class starts before it). O(W).
 * Reads only the metadata; it trusts the buffer to be as large as the header
 * says (bma_attach checks that against the real size). Fails with BMA_EINVAL iff h is NULL;
 * with BMA_ECORRUPT iff any invariant is broken. */
BMA_API bma_status bma_check(const bma_heap *h);

/* Calls fn(index, count, ctx) once per live allocation, in index order, and
 * stops early if fn returns non-zero. O(W + calls). Fails with BMA_EINVAL
 * iff h or fn is NULL. fn must not change the heap. */
BMA_API bma_status bma_walk(const bma_heap *h, int (*fn)(size_t index, size_t count, void *ctx), void *ctx);

/* Typed helper, like the original's alloc(T, n). Needs C11 (_Alignof) or C++11. */
#ifdef __cplusplus
#define BMA_ALLOC_ARRAY(h, T, n, outp) bma_alloc_array((h), sizeof(T), (n), alignof(T), reinterpret_cast<void **>(outp))
#else
#define BMA_ALLOC_ARRAY(h, T, n, outp) bma_alloc_array((h), sizeof(T), (n), _Alignof(T), (void **)(outp))
#endif

#ifdef __cplusplus
}
#endif

#endif /* BITMAPALLOC_H */

/* bitmapalloc: see include/bitmapalloc.h for the contract of each function.
 *
 * Buffer layout (every offset from the buffer start, every region 8-aligned):
 *
 *   0            header        magic, version, chunk_size, chunk_count, hint
 *   free_off     free bitmap   W words, bit i = 1 iff chunk i is free
 *   start_off    start bitmap  W words, bit i = 1 iff an allocation starts at i
 *   chunks_off   chunks        chunk_count * chunk_size bytes
 *
 * chunks_off is the end of the metadata rounded up to chunk_size, so chunk i
 * sits at a multiple of chunk_size from the buffer start and every alignment
 * up to chunk_size is free of charge. Only chunk_size and chunk_count are
 * stored; every offset is recomputed by layout_of(), so a corrupt header can
 * only ever describe a geometry that layout_of() accepts.
 *
 * Invariants (verified by bma_check):
 *   I1  free and start bits past chunk_count are 0.
 *   I2  no start bit on a free chunk.
 *   I3  a used chunk without a start bit follows a used chunk; so the used
 *       chunks split uniquely into allocations, each a start chunk followed
 *       by used non-start chunks, and a free needs no size from the caller.
 *   I4  every free-bitmap word below hint is 0 (no free chunk there).
 */
#include "bitmapalloc.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BMA_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define BMA_ASAN 1
#endif
#ifdef BMA_ASAN
#include <sanitizer/asan_interface.h>
#endif
#ifdef BMA_VALGRIND
#include <valgrind/memcheck.h>
#endif

#define BITS 64u
#define FORMAT_MAGIC UINT64_C(0x3150414548414D42) /* "BMAHEAP1" read little-endian */
#define FORMAT_VERSION 1u

typedef struct header {
    uint64_t magic;
    uint32_t version;
    uint32_t header_size;
    uint64_t chunk_size;
    uint64_t chunk_count;
    uint64_t hint; /* lowest word that may hold a free chunk (I4) */
} header;

_Static_assert(CHAR_BIT == 8, "bytes are octets");
_Static_assert(sizeof(header) % sizeof(uint64_t) == 0, "bitmaps after the header stay 8-aligned");
_Static_assert(BMA_BUFFER_ALIGN % _Alignof(header) == 0, "the header is readable in a BMA_BUFFER_ALIGN buffer");
_Static_assert(BMA_BUFFER_ALIGN % _Alignof(uint64_t) == 0, "bitmap words are readable in a BMA_BUFFER_ALIGN buffer");

/* Offsets of one geometry; the single place that decides the layout. */
typedef struct layout {
    size_t words, free_off, start_off, chunks_off, total;
} layout;

/* A heap opened for one call: the layout resolved to addresses. */
typedef struct view {
    header *hdr;
    uint64_t *free_bits;
    uint64_t *start_bits;
    unsigned char *chunks;
    size_t chunk_size, chunk_count, words, chunks_off;
    unsigned shift; /* log2(chunk_size) */
} view;

/* ------------------------------------------------------------ bit helpers */

static unsigned ctz64(uint64_t x)
{
#if defined(__GNUC__) || defined(__clang__)
    return (unsigned)__builtin_ctzll(x);
#else
    unsigned n = 0;
    while ((x & 1u) == 0) {
        x >>= 1;
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
static uint64_t bit_range(size_t from, size_t n)
{
    uint64_t low = n == BITS ? ~UINT64_C(0) : (UINT64_C(1) << n) - 1u;
    return low << from;
}

static bool bit_get(const uint64_t *bits, size_t i) { return (bits[i / BITS] >> (i % BITS)) & 1u; }

/* Sets (value true) or clears bits [first, first + n). */
static void bits_fill(uint64_t *bits, size_t first, size_t n, bool value)
{
    while (n > 0) {
        size_t from = first % BITS;
        size_t take = BITS - from < n ? BITS - from : n;
        uint64_t mask = bit_range(from, take);
        uint64_t *word = &bits[first / BITS];
        *word = value ? *word | mask : *word & ~mask;
        first += take;
        n -= take;
    }
}

/* ---------------------------------------------------------------- layout */

static bool add_ok(size_t a, size_t b, size_t *sum)
{
    if (a > SIZE_MAX - b) {
        return false;
    }
    *sum = a + b;
    return true;
}

static bool mul_ok(size_t a, size_t b, size_t *product)
{
    if (b != 0 && a > SIZE_MAX / b) {
        return false;
    }
    *product = a * b;
    return true;
}

/* The layout of a heap of chunk_count chunks; false iff a size overflows. */
static bool layout_of(size_t chunk_size, size_t chunk_count, layout *l)
{
    size_t words = chunk_count / BITS + (chunk_count % BITS != 0);
    size_t bitmap_bytes, metadata_end, chunk_bytes;
    l->words = words;
    l->free_off = sizeof(header);
    if (!mul_ok(words, sizeof(uint64_t), &bitmap_bytes) ||
        !add_ok(l->free_off, bitmap_bytes, &l->start_off) ||
        !add_ok(l->start_off, bitmap_bytes, &metadata_end) ||
        !add_ok(metadata_end, chunk_size - 1u, &l->chunks_off) ||
        !mul_ok(chunk_count, chunk_size, &chunk_bytes)) {
        return false;
    }
    l->chunks_off &= ~(chunk_size - 1u);
    return add_ok(l->chunks_off, chunk_bytes, &l->total);
}

static view view_at(void *buf, size_t chunk_size, size_t chunk_count, const layout *l)
{
    unsigned char *base = buf;
    view v;
    v.hdr = buf;
    v.free_bits = (uint64_t *)(void *)(base + l->free_off);
    v.start_bits = (uint64_t *)(void *)(base + l->start_off);
    v.chunks = base + l->chunks_off;
    v.chunk_size = chunk_size;
    v.chunk_count = chunk_count;
    v.words = l->words;
    v.chunks_off = l->chunks_off;
    v.shift = ctz64(chunk_size);
    return v;
}

/* The view of a heap that init or attach accepted. The casts drop const only
 * for read-only callers, which never write through the view. */
static view view_of(const bma_heap *h)
{
    header *hdr = (header *)(uintptr_t)h;
    size_t chunk_size = (size_t)hdr->chunk_size, chunk_count = (size_t)hdr->chunk_count;
    layout l = {0, 0, 0, 0, 0};
    (void)layout_of(chunk_size, chunk_count, &l);
    return view_at(hdr, chunk_size, chunk_count, &l);
}

static size_t chunks_for(const view *v, size_t size)
{
    return (size >> v->shift) + ((size & (v->chunk_size - 1u)) != 0);
}

/* ---------------------------------------------------------------- scanning */

/* Which chunks a scan looks for, as one bitmap word at a time. */
typedef enum scan_kind {
    SCAN_FREE,     /* free chunks */
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
    case SCAN_FREE:
        return v->free_bits[w];
    case SCAN_USED:
        return ~v->free_bits[w] & valid_mask(v, w);
    case SCAN_START:
        return v->start_bits[w];
    case SCAN_BOUNDARY:
    default:
        return v->free_bits[w] | v->start_bits[w];
    }
}

/* The first chunk >= pos of the given kind, or chunk_count if there is none. */
static size_t scan_next(const view *v, scan_kind kind, size_t pos)
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

/* The first free chunk at or after pos, or chunk_count if there is none;
 * 0 <= pos <= chunk_count. Used chunks past a free run end it. */
static size_t run_end(const view *v, size_t pos) { return scan_next(v, SCAN_USED, pos); }

/* The chunk alignment a byte alignment asks for: chunk i qualifies iff
 * i % step == phase. */
typedef struct chunk_align {
    size_t step, phase;
} chunk_align;

static chunk_align chunk_align_for(const view *v, size_t align)
{
    chunk_align a = {1u, 0u};
    if (align > v->chunk_size) {
        size_t base = v->chunks_off >> v->shift; /* chunk_off is a multiple of chunk_size */
        a.step = align >> v->shift;
        a.phase = (a.step - (base & (a.step - 1u))) & (a.step - 1u);
    }
    return a;
}

/* The first qualifying chunk >= pos, or SIZE_MAX if it is not representable. */
static size_t align_up(chunk_align a, size_t pos)
{
    size_t down = pos & ~(a.step - 1u), up;
    if (!add_ok(down, a.phase, &up)) {
        return SIZE_MAX;
    }
    if (up < pos && !add_ok(up, a.step, &up)) {
        return SIZE_MAX;
    }
    return up;
}

/* The search: the lowest index of a run of count free chunks that meets align.
 * It walks the free runs in index order from the hint, so it returns exactly
 * the contract's first fit. *first_free receives the first free chunk seen,
 * from which the caller derives the new hint. */
static bool find_run(const view *v, size_t count, size_t align, size_t *index, size_t *first_free)
{
    chunk_align a = chunk_align_for(v, align);
    size_t pos = scan_next(v, SCAN_FREE, (size_t)v->hdr->hint * BITS);
    *first_free = pos;
    if (count > v->chunk_count) {
        return false;
    }
    while (pos < v->chunk_count) {
        size_t end = run_end(v, pos);
        size_t start = align_up(a, pos);
        if (start < end && end - start >= count) {
            *index = start;
            return true;
        }
        pos = scan_next(v, SCAN_FREE, end);
    }
    return false;
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

/* Marks every free run freed, after init or attach. */
static void note_free_runs(const view *v)
{
#if defined(BMA_ASAN) || defined(BMA_VALGRIND)
    size_t pos = scan_next(v, SCAN_FREE, 0);
    while (pos < v->chunk_count) {
        size_t end = run_end(v, pos);
        note_freed(v, pos, end - pos);
        pos = scan_next(v, SCAN_FREE, end);
    }
#else
    (void)v;
#endif
}

/* ------------------------------------------------------- state changes */

static void set_hint(const view *v, size_t chunk)
{
    v->hdr->hint = (uint64_t)(chunk / BITS);
}

static void lower_hint(const view *v, size_t chunk)
{
    if (chunk / BITS < v->hdr->hint) {
        set_hint(v, chunk);
    }
}

static void claim(const view *v, size_t index, size_t count)
{
    bits_fill(v->free_bits, index, count, false);
    bits_fill(v->start_bits, index, 1u, true);
    note_allocated(v, index, count);
}

static void release(const view *v, size_t index, size_t count)
{
    bits_fill(v->start_bits, index, 1u, false);
    bits_fill(v->free_bits, index, count, true);
    lower_hint(v, index);
    note_freed(v, index, count);
}

/* Claims the first fit for count chunks; false (and no change) if none. */
static bool alloc_run(const view *v, size_t count, size_t align, size_t *index)
{
    size_t first_free;
    if (!find_run(v, count, align, index, &first_free)) {
        return false;
    }
    set_hint(v, first_free);
    claim(v, *index, count);
    return true;
}

/* --------------------------------------------------------- addressing */

static bma_status index_of(const view *v, const void *ptr, size_t *index)
{
    uintptr_t p = (uintptr_t)ptr, first = (uintptr_t)v->chunks;
    size_t offset;
    if (p < first) {
        return BMA_EBADPTR;
    }
    offset = (size_t)(p - first);
    if ((offset & (v->chunk_size - 1u)) != 0 || (offset >> v->shift) >= v->chunk_count) {
        return BMA_EBADPTR;
    }
    *index = offset >> v->shift;
    return BMA_OK;
}

/* Classifies index: the start of a live allocation (its chunk count in
 * *count), a free chunk, or anything else. */
static bma_status live_extent(const view *v, size_t index, size_t *count)
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
    if (v->hdr->hint > v->words) {
        return BMA_ECORRUPT;
    }
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
        if (w < v->hdr->hint && free != 0) {
            return BMA_ECORRUPT; /* I4 */
        }
        carry = used >> (BITS - 1u);
    }
    return BMA_OK;
}

/* Validates the header against buf_size and opens the heap. */
static bma_status open_checked(const void *buf, size_t buf_size, view *v)
{
    const header *hdr = buf;
    layout l;
    size_t chunk_size, chunk_count;
    if (buf_size < sizeof(header) || hdr->magic != FORMAT_MAGIC || hdr->version != FORMAT_VERSION ||
        hdr->header_size != sizeof(header) || hdr->chunk_size > SIZE_MAX || hdr->chunk_count > SIZE_MAX) {
        return BMA_ECORRUPT;
    }
    chunk_size = (size_t)hdr->chunk_size;
    chunk_count = (size_t)hdr->chunk_count;
    if (!is_pow2(chunk_size) || chunk_count == 0 || !layout_of(chunk_size, chunk_count, &l) || l.total > buf_size) {
        return BMA_ECORRUPT;
    }
    *v = view_at((void *)(uintptr_t)buf, chunk_size, chunk_count, &l);
    return check_bitmaps(v);
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

static bool fits(size_t chunk_size, size_t chunk_count, size_t buf_size)
{
    layout l;
    return layout_of(chunk_size, chunk_count, &l) && l.total <= buf_size;
}

bma_status bma_init(void *buf, size_t buf_size, size_t chunk_size, bma_heap **out)
{
    size_t lo = 1, hi;
    layout l;
    view v;
    if (buf == NULL || out == NULL || (uintptr_t)buf % BMA_BUFFER_ALIGN != 0 || !is_pow2(chunk_size)) {
        return BMA_EINVAL;
    }
    if (!fits(chunk_size, 1, buf_size)) {
        return BMA_ENOMEM;
    }
    /* The largest chunk count that fits: total size grows with the count. */
    hi = buf_size / chunk_size;
    while (lo < hi) {
        size_t mid = lo + (hi - lo + 1u) / 2u;
        if (fits(chunk_size, mid, buf_size)) {
            lo = mid;
        } else {
            hi = mid - 1u;
        }
    }
    (void)layout_of(chunk_size, lo, &l);
    v = view_at(buf, chunk_size, lo, &l);
    memset(buf, 0, l.start_off + l.words * sizeof(uint64_t));
    v.hdr->magic = FORMAT_MAGIC;
    v.hdr->version = FORMAT_VERSION;
    v.hdr->header_size = (uint32_t)sizeof(header);
    v.hdr->chunk_size = (uint64_t)chunk_size;
    v.hdr->chunk_count = (uint64_t)lo;
    v.hdr->hint = 0;
    bits_fill(v.free_bits, 0, lo, true);
    note_free_runs(&v);
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
    note_free_runs(&v);
    *out = (bma_heap *)buf;
    return BMA_OK;
}

bma_status bma_detach(bma_heap *h)
{
    view v;
    if (h == NULL) {
        return BMA_EINVAL;
    }
    v = view_of(h);
    (void)v;
#ifdef BMA_ASAN
    ASAN_UNPOISON_MEMORY_REGION(v.chunks, v.chunk_count << v.shift);
#endif
#ifdef BMA_VALGRIND
    VALGRIND_MAKE_MEM_DEFINED(v.chunks, v.chunk_count << v.shift);
#endif
    return BMA_OK;
}

bma_status bma_alloc(bma_heap *h, size_t size, size_t align, void **out)
{
    view v;
    size_t index;
    if (h == NULL || out == NULL || size == 0 || !align_ok(align)) {
        return BMA_EINVAL;
    }
    v = view_of(h);
    if (!alloc_run(&v, chunks_for(&v, size), align, &index)) {
        return BMA_ENOMEM;
    }
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
    if (h == NULL || index == NULL || count == 0) {
        return BMA_EINVAL;
    }
    v = view_of(h);
    return alloc_run(&v, count, 0, index) ? BMA_OK : BMA_ENOMEM;
}

/* The free path shared by every free: validate, then release. */
static bma_status free_index(bma_heap *h, size_t index, size_t expected_count)
{
    view v = view_of(h);
    size_t count;
    bma_status s = live_extent(&v, index, &count);
    if (s != BMA_OK) {
        return s;
    }
    if (expected_count != 0 && expected_count != count) {
        return BMA_ESIZE;
    }
    release(&v, index, count);
    return BMA_OK;
}

static bma_status free_ptr(bma_heap *h, void *ptr, size_t size)
{
    view v;
    size_t index;
    bma_status s;
    if (h == NULL || ptr == NULL) {
        return BMA_EINVAL;
    }
    v = view_of(h);
    s = index_of(&v, ptr, &index);
    return s != BMA_OK ? s : free_index(h, index, size == 0 ? 0 : chunks_for(&v, size));
}

bma_status bma_free(bma_heap *h, void *ptr) { return free_ptr(h, ptr, 0); }

bma_status bma_free_sized(bma_heap *h, void *ptr, size_t size)
{
    return size == 0 ? BMA_EINVAL : free_ptr(h, ptr, size);
}

bma_status bma_free_chunks(bma_heap *h, size_t index, size_t count)
{
    if (h == NULL || count == 0) {
        return BMA_EINVAL;
    }
    return free_index(h, index, count);
}

/* Resizes the allocation [index, index + count) in place to new_count chunks. */
static bool resize_run(const view *v, size_t index, size_t count, size_t new_count)
{
    if (new_count < count) {
        bits_fill(v->free_bits, index + new_count, count - new_count, true);
        lower_hint(v, index + new_count);
        note_freed(v, index + new_count, count - new_count);
        return true;
    }
    if (new_count > v->chunk_count - index || scan_next(v, SCAN_USED, index + count) < index + new_count) {
        return false;
    }
    bits_fill(v->free_bits, index + count, new_count - count, false);
    note_allocated(v, index + count, new_count - count);
    return true;
}

bma_status bma_resize(bma_heap *h, void *ptr, size_t new_size)
{
    view v;
    size_t index, count;
    if (h == NULL || ptr == NULL || new_size == 0) {
        return BMA_EINVAL;
    }
    v = view_of(h);
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
    v = view_of(h);
    if (live_extent_at(&v, ptr, &index, &count) != BMA_OK) {
        return BMA_EBADPTR;
    }
    new_count = chunks_for(&v, new_size);
    if (meets_align(&v, index, align) && resize_run(&v, index, count, new_count)) {
        *out = ptr;
        return BMA_OK;
    }
    if (!alloc_run(&v, new_count, align, &new_index)) {
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
    v = view_of(h);
    return live_extent_at(&v, ptr, &index, &count) == BMA_OK ? count << v.shift : 0;
}

void *bma_chunk_ptr(bma_heap *h, size_t index)
{
    view v;
    if (h == NULL) {
        return NULL;
    }
    v = view_of(h);
    return index < v.chunk_count ? v.chunks + (index << v.shift) : NULL;
}

bma_status bma_chunk_index(const bma_heap *h, const void *ptr, size_t *index)
{
    view v;
    if (h == NULL || ptr == NULL || index == NULL) {
        return BMA_EINVAL;
    }
    v = view_of(h);
    return index_of(&v, ptr, index);
}

bma_status bma_get_stats(const bma_heap *h, bma_stats *out)
{
    view v;
    size_t w, pos, free_chunks = 0, starts = 0, largest = 0;
    if (h == NULL || out == NULL) {
        return BMA_EINVAL;
    }
    v = view_of(h);
    for (w = 0; w < v.words; w++) {
        free_chunks += popcount64(v.free_bits[w]);
        starts += popcount64(v.start_bits[w]);
    }
    for (pos = scan_next(&v, SCAN_FREE, 0); pos < v.chunk_count; pos = scan_next(&v, SCAN_FREE, pos)) {
        size_t end = run_end(&v, pos);
        largest = end - pos > largest ? end - pos : largest;
        pos = end;
    }
    out->chunk_size = v.chunk_size;
    out->chunk_count = v.chunk_count;
    out->chunks_offset = v.chunks_off;
    out->free_chunks = free_chunks;
    out->used_chunks = v.chunk_count - free_chunks;
    out->live_allocations = starts;
    out->largest_free_run = largest;
    out->buffer_size = v.chunks_off + (v.chunk_count << v.shift);
    out->metadata_bytes = v.chunks_off;
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
    v = view_of(h);
    for (index = scan_next(&v, SCAN_START, 0); index < v.chunk_count;
         index = scan_next(&v, SCAN_START, index + 1u)) {
        size_t end = scan_next(&v, SCAN_BOUNDARY, index + 1u);
        if (fn(index, end - index, ctx) != 0) {
            break;
        }
    }
    return BMA_OK;
}

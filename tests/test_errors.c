/* errors: every failure condition in include/bitmapalloc.h. Each call checks
 * the exact status, that the whole heap buffer is byte-identical to a
 * snapshot taken before it (ENOMEM included), and that *out / *index was not
 * written.
 *
 * The fixture: 64-byte chunks, 100 of them, and 63 bytes of slack after the
 * heap (a 64th would hold another chunk) so that pointers just past the chunk
 * region are still inside the malloc'd buffer. Its allocations:
 *
 *   A [0, 3)   B [3, 4)   C [4, 9)   free [9, 20)   D [20, 22)   free [22, 98)   Z [98, 100)
 *
 * The chunks of A hold a byte pattern.
 */
#include "util.h"

#define CS ((size_t)64)
#define NCHUNKS 100u
#define SLACK (CS - 1) /* more would hold another chunk */

typedef struct fixture {
    heap_fx fx;
    unsigned char *a, *b, *c, *d, *z, *free9, *past_end;
    unsigned char *snap;
} fixture;

static int fixture_new(fixture *f)
{
    size_t idx = 0;
    void *p = NULL;
    memset(f, 0, sizeof *f);
    if (!fx_new_ex(&f->fx, CS, NCHUNKS, SLACK, 0, 0x6B)) {
        return 0;
    }
    if (!CHECK_STATUS(bma_alloc(f->fx.h, 3 * CS, 0, &p), BMA_OK)) {
        return 0;
    }
    f->a = p;
    CHECK_STATUS(bma_alloc(f->fx.h, 1, 0, &p), BMA_OK);
    f->b = p;
    CHECK_STATUS(bma_alloc(f->fx.h, 5 * CS, 0, &p), BMA_OK);
    f->c = p;
    CHECK_STATUS(bma_alloc_chunks(f->fx.h, 11, &idx), BMA_OK);
    CHECK_EQ(idx, 9);
    CHECK_STATUS(bma_alloc(f->fx.h, 2 * CS, 0, &p), BMA_OK);
    f->d = p;
    CHECK_STATUS(bma_alloc_chunks(f->fx.h, 76, &idx), BMA_OK);
    CHECK_EQ(idx, 22);
    CHECK_STATUS(bma_alloc(f->fx.h, 2 * CS, 0, &p), BMA_OK);
    f->z = p;
    CHECK_STATUS(bma_free_chunks(f->fx.h, 9, 11), BMA_OK);
    CHECK_STATUS(bma_free_chunks(f->fx.h, 22, 76), BMA_OK);
    CHECK_PTR_EQ(f->a, bma_chunk_ptr(f->fx.h, 0));
    CHECK_PTR_EQ(f->b, bma_chunk_ptr(f->fx.h, 3));
    CHECK_PTR_EQ(f->c, bma_chunk_ptr(f->fx.h, 4));
    CHECK_PTR_EQ(f->d, bma_chunk_ptr(f->fx.h, 20));
    CHECK_PTR_EQ(f->z, bma_chunk_ptr(f->fx.h, 98));
    f->free9 = bma_chunk_ptr(f->fx.h, 9);
    f->past_end = f->fx.buf + f->fx.st.buffer_size;
    CHECK_PTR_EQ(f->past_end, f->fx.buf + f->fx.st.chunks_offset + NCHUNKS * CS);
    CHECK(f->past_end + SLACK == f->fx.buf + f->fx.size);
    pattern_fill(f->a, 3 * CS, 1);
    f->snap = fx_snapshot(&f->fx);
    return CASE_OK();
}

/* A successful call changed the heap: take a new snapshot. */
static void fixture_resnap(fixture *f)
{
    free(f->snap);
    f->snap = fx_snapshot(&f->fx);
}

static void fixture_free(fixture *f)
{
    free(f->snap);
    fx_free(&f->fx);
}

/* The call returns status and leaves every byte of the buffer as it was. */
#define EXPECT(f, call, status)               \
    do {                                      \
        CHECK_STATUS((call), (status));       \
        CHECK_UNCHANGED(&(f)->fx, (f)->snap); \
    } while (0)

/* The same for a heap_fx outside the fixture. */
#define EXPECT2(fxp, snap, call, status) \
    do {                                 \
        CHECK_STATUS((call), (status));  \
        CHECK_UNCHANGED((fxp), (snap));  \
    } while (0)

/* A pointer that is not the start of a live allocation, and what each
 * function must answer for it. */
typedef struct bad_ptr {
    const char *what;
    void *p;
    bma_status free_status; /* bma_free / bma_free_sized */
    int on_boundary;        /* bma_chunk_index accepts it */
    size_t index;           /* ... with this index */
} bad_ptr;

static size_t bad_ptrs(fixture *f, bad_ptr *out)
{
    size_t n = 0;
    unsigned char *meta = f->fx.buf;
    size_t md = f->fx.st.metadata_bytes;
#define ADD(w, ptr, st, ob, ix)                                                                                      \
    (out[n].what = (w), out[n].p = (ptr), out[n].free_status = (st), out[n].on_boundary = (ob), out[n].index = (ix), \
     n++)
    ADD("the heap handle (buffer start)", meta, BMA_EBADPTR, 0, 0);
    ADD("metadata + 8", meta + 8, BMA_EBADPTR, 0, 0);
    ADD("last metadata byte", meta + md - 1, BMA_EBADPTR, 0, 0);
    if (md >= CS) {
        ADD("one chunk before the chunk region", meta + md - CS, BMA_EBADPTR, 0, 0);
    }
    ADD("end of the chunk region", f->past_end, BMA_EBADPTR, 0, 0);
    ADD("last slack byte", f->past_end + SLACK - 1, BMA_EBADPTR, 0, 0);
    ADD("end of the chunk region + 1", f->past_end + 1, BMA_EBADPTR, 0, 0);
    ADD("A + 1", f->a + 1, BMA_EBADPTR, 0, 0);
    ADD("A + cs/2", f->a + CS / 2, BMA_EBADPTR, 0, 0);
    ADD("A + cs - 1", f->a + CS - 1, BMA_EBADPTR, 0, 0);
    ADD("B + 1 (one-chunk allocation)", f->b + 1, BMA_EBADPTR, 0, 0);
    ADD("A's second chunk (interior)", f->a + CS, BMA_EBADPTR, 1, 1);
    ADD("A's last chunk (interior)", f->a + 2 * CS, BMA_EBADPTR, 1, 2);
    ADD("C's last chunk (interior)", f->c + 4 * CS, BMA_EBADPTR, 1, 8);
    ADD("Z's last chunk, the heap's last (interior)", f->z + CS, BMA_EBADPTR, 1, 99);
    ADD("free chunk 9", f->free9, BMA_EDOUBLEFREE, 1, 9);
    ADD("free chunk 19", f->free9 + 10 * CS, BMA_EDOUBLEFREE, 1, 19);
    ADD("free chunk 22", f->d + 2 * CS, BMA_EDOUBLEFREE, 1, 22);
    ADD("free chunk 97", f->z - CS, BMA_EDOUBLEFREE, 1, 97);
    ADD("free chunk 9 + 1", f->free9 + 1, BMA_EBADPTR, 0, 0);
    ADD("free chunk 97 + cs - 1", f->z - 1, BMA_EBADPTR, 0, 0);
#undef ADD
    return n;
}

#define MAX_BAD 32

static void null_arguments_are_einval(void)
{
    fixture f;
    void *out = &f;
    size_t idx = 4242;
    bma_stats st;
    if (!fixture_new(&f)) {
        fixture_free(&f);
        return;
    }
    memset(&st, 0x11, sizeof st);
    EXPECT(&f, bma_alloc(NULL, 1, 0, &out), BMA_EINVAL);
    EXPECT(&f, bma_alloc(f.fx.h, 1, 0, NULL), BMA_EINVAL);
    EXPECT(&f, bma_alloc_array(NULL, 1, 1, 0, &out), BMA_EINVAL);
    EXPECT(&f, bma_alloc_array(f.fx.h, 1, 1, 0, NULL), BMA_EINVAL);
    EXPECT(&f, bma_alloc_chunks(NULL, 1, &idx), BMA_EINVAL);
    EXPECT(&f, bma_alloc_chunks(f.fx.h, 1, NULL), BMA_EINVAL);
    EXPECT(&f, bma_free(NULL, f.a), BMA_EINVAL);
    EXPECT(&f, bma_free(f.fx.h, NULL), BMA_EINVAL);
    EXPECT(&f, bma_free_sized(NULL, f.a, 3 * CS), BMA_EINVAL);
    EXPECT(&f, bma_free_sized(f.fx.h, NULL, 3 * CS), BMA_EINVAL);
    EXPECT(&f, bma_free_chunks(NULL, 0, 3), BMA_EINVAL);
    EXPECT(&f, bma_resize(NULL, f.a, CS), BMA_EINVAL);
    EXPECT(&f, bma_resize(f.fx.h, NULL, CS), BMA_EINVAL);
    EXPECT(&f, bma_realloc(NULL, f.a, CS, 0, &out), BMA_EINVAL);
    EXPECT(&f, bma_realloc(f.fx.h, f.a, CS, 0, NULL), BMA_EINVAL);
    EXPECT(&f, bma_realloc(f.fx.h, NULL, CS, 0, NULL), BMA_EINVAL);
    EXPECT(&f, bma_chunk_index(NULL, f.a, &idx), BMA_EINVAL);
    EXPECT(&f, bma_chunk_index(f.fx.h, NULL, &idx), BMA_EINVAL);
    EXPECT(&f, bma_chunk_index(f.fx.h, f.a, NULL), BMA_EINVAL);
    EXPECT(&f, bma_get_stats(NULL, &st), BMA_EINVAL);
    EXPECT(&f, bma_get_stats(f.fx.h, NULL), BMA_EINVAL);
    EXPECT(&f, bma_check(NULL), BMA_EINVAL);
    EXPECT(&f, bma_walk(NULL, walk_collect_cb, NULL), BMA_EINVAL);
    EXPECT(&f, bma_walk(f.fx.h, NULL, NULL), BMA_EINVAL);
    EXPECT(&f, bma_detach(NULL), BMA_EINVAL);
    CHECK_PTR_EQ(bma_chunk_ptr(NULL, 0), NULL);
    CHECK_EQ(bma_usable_size(NULL, f.a), 0);
    CHECK_EQ(bma_usable_size(f.fx.h, NULL), 0);
    CHECK_UNCHANGED(&f.fx, f.snap);
    CHECK_PTR_EQ(out, &f);
    CHECK_EQ(idx, 4242);
    CHECK_EQ(st.chunk_count, (size_t)0x1111111111111111u);
    /* NULL with another bad argument is still EINVAL. */
    EXPECT(&f, bma_free_sized(f.fx.h, NULL, 0), BMA_EINVAL);
    EXPECT(&f, bma_free_chunks(NULL, 9, 0), BMA_EINVAL);
    EXPECT(&f, bma_alloc(NULL, 0, 3, &out), BMA_EINVAL);
    fixture_free(&f);
}

static void zero_sizes_and_counts_are_einval(void)
{
    fixture f;
    void *out = &f;
    size_t idx = 4242;
    if (!fixture_new(&f)) {
        fixture_free(&f);
        return;
    }
    EXPECT(&f, bma_alloc(f.fx.h, 0, 0, &out), BMA_EINVAL);
    EXPECT(&f, bma_alloc(f.fx.h, 0, 64, &out), BMA_EINVAL);
    EXPECT(&f, bma_alloc_array(f.fx.h, 0, 5, 0, &out), BMA_EINVAL);
    EXPECT(&f, bma_alloc_array(f.fx.h, 5, 0, 0, &out), BMA_EINVAL);
    EXPECT(&f, bma_alloc_array(f.fx.h, 0, SIZE_MAX, 0, &out), BMA_EINVAL);
    EXPECT(&f, bma_alloc_chunks(f.fx.h, 0, &idx), BMA_EINVAL);
    EXPECT(&f, bma_free_sized(f.fx.h, f.a, 0), BMA_EINVAL);
    EXPECT(&f, bma_free_sized(f.fx.h, f.free9, 0), BMA_EINVAL);
    EXPECT(&f, bma_free_chunks(f.fx.h, 0, 0), BMA_EINVAL);
    EXPECT(&f, bma_free_chunks(f.fx.h, 9, 0), BMA_EINVAL);
    EXPECT(&f, bma_resize(f.fx.h, f.a, 0), BMA_EINVAL);
    EXPECT(&f, bma_realloc(f.fx.h, f.a, 0, 0, &out), BMA_EINVAL);
    EXPECT(&f, bma_realloc(f.fx.h, NULL, 0, 0, &out), BMA_EINVAL);
    CHECK_PTR_EQ(out, &f);
    CHECK_EQ(idx, 4242);
    fixture_free(&f);
}

static void alignment_not_a_power_of_two_is_einval(void)
{
    const size_t bad[] = {3, 5, 6, 7, 12, 24, 100, 4095, 4097, SIZE_MAX, SIZE_MAX / 2, (SIZE_MAX / 2 + 1) + 1};
    fixture f;
    void *out = &f;
    size_t k;
    if (!fixture_new(&f)) {
        fixture_free(&f);
        return;
    }
    for (k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        CHECK_CTX("align %zu", bad[k]);
        EXPECT(&f, bma_alloc(f.fx.h, 1, bad[k], &out), BMA_EINVAL);
        EXPECT(&f, bma_alloc_array(f.fx.h, 4, 4, bad[k], &out), BMA_EINVAL);
        EXPECT(&f, bma_realloc(f.fx.h, f.a, CS, bad[k], &out), BMA_EINVAL);
        EXPECT(&f, bma_realloc(f.fx.h, f.a, 10 * CS, bad[k], &out), BMA_EINVAL);
        EXPECT(&f, bma_realloc(f.fx.h, NULL, CS, bad[k], &out), BMA_EINVAL);
    }
    CHECK_PTR_EQ(out, &f);
    fixture_free(&f);
}

/* elem_size * count past SIZE_MAX is EOVERFLOW; representable but too large
 * is ENOMEM. */
static void alloc_array_overflow_is_eoverflow(void)
{
    const size_t over[][2] = {
        {SIZE_MAX / 2 + 1, 2}, {2, SIZE_MAX / 2 + 1},
        {SIZE_MAX, SIZE_MAX},  {(size_t)1 << (sizeof(size_t) * 4), (size_t)1 << (sizeof(size_t) * 4)},
        {SIZE_MAX, 2},         {3, SIZE_MAX / 3 + 1}};
    const size_t fits_but_too_big[][2] = {{SIZE_MAX / 2, 2}, {1, SIZE_MAX}, {SIZE_MAX, 1},
                                          {3, SIZE_MAX / 3}, {CS, 77},      {1, 76 * CS + 1}};
    fixture f;
    void *out = &f;
    size_t k;
    if (!fixture_new(&f)) {
        fixture_free(&f);
        return;
    }
    for (k = 0; k < sizeof over / sizeof over[0]; k++) {
        CHECK_CTX("%zu * %zu", over[k][0], over[k][1]);
        EXPECT(&f, bma_alloc_array(f.fx.h, over[k][0], over[k][1], 0, &out), BMA_EOVERFLOW);
        EXPECT(&f, bma_alloc_array(f.fx.h, over[k][0], over[k][1], 8, &out), BMA_EOVERFLOW);
    }
    for (k = 0; k < sizeof fits_but_too_big / sizeof fits_but_too_big[0]; k++) {
        CHECK_CTX("%zu * %zu", fits_but_too_big[k][0], fits_but_too_big[k][1]);
        EXPECT(&f, bma_alloc_array(f.fx.h, fits_but_too_big[k][0], fits_but_too_big[k][1], 0, &out), BMA_ENOMEM);
    }
    CHECK_PTR_EQ(out, &f);
    fixture_free(&f);
}

/* No free run of the requested length (the longest is 76 chunks), or no
 * aligned one: ENOMEM, and nothing changes. */
static void no_fitting_run_is_enomem(void)
{
    fixture f;
    void *out = &f;
    size_t idx = 4242, align;
    if (!fixture_new(&f)) {
        fixture_free(&f);
        return;
    }
    CHECK_EQ(f.fx.st.chunk_count, NCHUNKS);
    CHECK_EQ(stats_of(f.fx.h).largest_free_run, 76);
    EXPECT(&f, bma_alloc(f.fx.h, 76 * CS + 1, 0, &out), BMA_ENOMEM);
    EXPECT(&f, bma_alloc(f.fx.h, 77 * CS, 0, &out), BMA_ENOMEM);
    EXPECT(&f, bma_alloc(f.fx.h, SIZE_MAX, 0, &out), BMA_ENOMEM);
    EXPECT(&f, bma_alloc_chunks(f.fx.h, 77, &idx), BMA_ENOMEM);
    EXPECT(&f, bma_alloc_chunks(f.fx.h, NCHUNKS, &idx), BMA_ENOMEM);
    EXPECT(&f, bma_alloc_chunks(f.fx.h, SIZE_MAX, &idx), BMA_ENOMEM);
    EXPECT(&f, bma_realloc(f.fx.h, NULL, 77 * CS, 0, &out), BMA_ENOMEM);
    /* Alignments no chunk offset of this heap meets. */
    for (align = (size_t)1 << 20; align != 0; align <<= 1) {
        CHECK_CTX("align %zu", align);
        EXPECT(&f, bma_alloc(f.fx.h, 1, align, &out), BMA_ENOMEM);
        EXPECT(&f, bma_realloc(f.fx.h, f.a, CS, align, &out), BMA_ENOMEM);
    }
    CHECK_CTX_CLEAR();
    CHECK_PTR_EQ(out, &f);
    CHECK_EQ(idx, 4242);
    fixture_free(&f);
}

/* Every kind of bad pointer through every function that takes one. */
static void bad_pointers_are_rejected_by_every_function(void)
{
    fixture f;
    bad_ptr bad[MAX_BAD];
    size_t n, k;
    if (!fixture_new(&f)) {
        fixture_free(&f);
        return;
    }
    n = bad_ptrs(&f, bad);
    for (k = 0; k < n; k++) {
        void *out = &f;
        size_t idx = 4242;
        CHECK_CTX("%s", bad[k].what);
        EXPECT(&f, bma_free(f.fx.h, bad[k].p), bad[k].free_status);
        EXPECT(&f, bma_free_sized(f.fx.h, bad[k].p, CS), bad[k].free_status);
        EXPECT(&f, bma_free_sized(f.fx.h, bad[k].p, 3 * CS), bad[k].free_status);
        EXPECT(&f, bma_resize(f.fx.h, bad[k].p, CS), BMA_EBADPTR);
        EXPECT(&f, bma_resize(f.fx.h, bad[k].p, 3 * CS), BMA_EBADPTR);
        EXPECT(&f, bma_realloc(f.fx.h, bad[k].p, CS, 0, &out), BMA_EBADPTR);
        EXPECT(&f, bma_realloc(f.fx.h, bad[k].p, 50 * CS, 0, &out), BMA_EBADPTR);
        CHECK_EQ(bma_usable_size(f.fx.h, bad[k].p), 0);
        if (bad[k].on_boundary) {
            EXPECT(&f, bma_chunk_index(f.fx.h, bad[k].p, &idx), BMA_OK);
            CHECK_EQ(idx, bad[k].index);
        } else {
            EXPECT(&f, bma_chunk_index(f.fx.h, bad[k].p, &idx), BMA_EBADPTR);
            CHECK_EQ(idx, 4242);
        }
        CHECK_UNCHANGED(&f.fx, f.snap);
        CHECK_PTR_EQ(out, &f);
    }
    fixture_free(&f);
}

/* A pointer that is a live start in another heap is not one in this heap. */
static void pointer_from_another_heap_is_ebadptr(void)
{
    fixture f;
    heap_fx other;
    void *p = NULL, *out = &f;
    size_t idx = 4242;
    unsigned char *other_snap;
    if (!fixture_new(&f) || !fx_new(&other, CS, 10)) {
        fixture_free(&f);
        return;
    }
    CHECK_STATUS(bma_alloc(other.h, CS, 0, &p), BMA_OK);
    other_snap = fx_snapshot(&other);
    EXPECT(&f, bma_free(f.fx.h, p), BMA_EBADPTR);
    EXPECT(&f, bma_free_sized(f.fx.h, p, CS), BMA_EBADPTR);
    EXPECT(&f, bma_resize(f.fx.h, p, CS), BMA_EBADPTR);
    EXPECT(&f, bma_realloc(f.fx.h, p, CS, 0, &out), BMA_EBADPTR);
    EXPECT(&f, bma_chunk_index(f.fx.h, p, &idx), BMA_EBADPTR);
    CHECK_EQ(bma_usable_size(f.fx.h, p), 0);
    CHECK_UNCHANGED(&other, other_snap);
    CHECK_EQ(idx, 4242);
    CHECK_PTR_EQ(out, &f);
    /* ... and this heap's pointers mean nothing to the other one. */
    EXPECT(&f, bma_free(other.h, f.a), BMA_EBADPTR);
    CHECK_UNCHANGED(&other, other_snap);
    free(other_snap);
    fx_free(&other);
    fixture_free(&f);
}

/* A pointer freed once is EDOUBLEFREE the second time, through each free. */
static void second_free_is_edoublefree(void)
{
    fixture f;
    if (!fixture_new(&f)) {
        fixture_free(&f);
        return;
    }
    CHECK_STATUS(bma_free(f.fx.h, f.b), BMA_OK);
    fixture_resnap(&f);
    EXPECT(&f, bma_free(f.fx.h, f.b), BMA_EDOUBLEFREE);
    EXPECT(&f, bma_free_sized(f.fx.h, f.b, 1), BMA_EDOUBLEFREE);
    EXPECT(&f, bma_free_chunks(f.fx.h, 3, 1), BMA_EDOUBLEFREE);
    CHECK_STATUS(bma_free_sized(f.fx.h, f.c, 5 * CS), BMA_OK);
    fixture_resnap(&f);
    EXPECT(&f, bma_free_sized(f.fx.h, f.c, 5 * CS), BMA_EDOUBLEFREE);
    EXPECT(&f, bma_free(f.fx.h, f.c), BMA_EDOUBLEFREE);
    /* Interior chunks of a freed run are free chunks now. */
    EXPECT(&f, bma_free(f.fx.h, f.c + 2 * CS), BMA_EDOUBLEFREE);
    CHECK_STATUS(bma_free_chunks(f.fx.h, 98, 2), BMA_OK);
    fixture_resnap(&f);
    EXPECT(&f, bma_free_chunks(f.fx.h, 98, 2), BMA_EDOUBLEFREE);
    EXPECT(&f, bma_free_chunks(f.fx.h, 99, 1), BMA_EDOUBLEFREE);
    EXPECT(&f, bma_free(f.fx.h, f.z), BMA_EDOUBLEFREE);
    CHECK_EQ(stats_of(f.fx.h).live_allocations, 2);
    CHECK_STATUS(bma_check(f.fx.h), BMA_OK);
    fixture_free(&f);
}

/* free_sized: a live start with a size of another chunk count is ESIZE; a
 * size that maps to the same count is accepted. */
static void free_sized_with_wrong_size_is_esize(void)
{
    const size_t wrong[] = {1, CS, 2 * CS, 3 * CS + 1, 4 * CS, 100 * CS, SIZE_MAX};
    fixture f;
    size_t k;
    if (!fixture_new(&f)) {
        fixture_free(&f);
        return;
    }
    for (k = 0; k < sizeof wrong / sizeof wrong[0]; k++) {
        CHECK_CTX("A (3 chunks) freed as %zu bytes", wrong[k]);
        EXPECT(&f, bma_free_sized(f.fx.h, f.a, wrong[k]), BMA_ESIZE);
    }
    CHECK_CTX_CLEAR();
    EXPECT(&f, bma_free_sized(f.fx.h, f.b, CS + 1), BMA_ESIZE);
    EXPECT(&f, bma_free_sized(f.fx.h, f.c, 4 * CS), BMA_ESIZE);
    EXPECT(&f, bma_free_sized(f.fx.h, f.z, 3 * CS), BMA_ESIZE);
    /* 2 * CS + 1 .. 3 * CS all mean three chunks. */
    CHECK_STATUS(bma_free_sized(f.fx.h, f.a, 2 * CS + 1), BMA_OK);
    CHECK_STATUS(bma_free_sized(f.fx.h, f.b, 1), BMA_OK);
    CHECK_STATUS(bma_free_sized(f.fx.h, f.c, 5 * CS), BMA_OK);
    CHECK_STATUS(bma_free_sized(f.fx.h, f.z, 2 * CS - 7), BMA_OK);
    CHECK_EQ(stats_of(f.fx.h).live_allocations, 1);
    fixture_free(&f);
}

/* free_chunks: every index and count combination that is not exactly a live
 * allocation. */
static void free_chunks_errors(void)
{
    fixture f;
    size_t i;
    if (!fixture_new(&f)) {
        fixture_free(&f);
        return;
    }
    /* Wrong count for a live start. */
    EXPECT(&f, bma_free_chunks(f.fx.h, 0, 1), BMA_ESIZE);
    EXPECT(&f, bma_free_chunks(f.fx.h, 0, 2), BMA_ESIZE);
    EXPECT(&f, bma_free_chunks(f.fx.h, 0, 4), BMA_ESIZE);
    EXPECT(&f, bma_free_chunks(f.fx.h, 0, SIZE_MAX), BMA_ESIZE);
    EXPECT(&f, bma_free_chunks(f.fx.h, 3, 2), BMA_ESIZE);
    EXPECT(&f, bma_free_chunks(f.fx.h, 4, 6), BMA_ESIZE);
    EXPECT(&f, bma_free_chunks(f.fx.h, 98, 3), BMA_ESIZE);
    /* Every index: live starts are ESIZE with a wrong count, interior chunks
     * EBADPTR, free chunks EDOUBLEFREE, whatever the count. */
    for (i = 0; i < NCHUNKS; i++) {
        int start = i == 0 || i == 3 || i == 4 || i == 20 || i == 98;
        int used = i < 9 || (i >= 20 && i < 22) || i >= 98;
        CHECK_CTX("index %zu", i);
        if (start) {
            EXPECT(&f, bma_free_chunks(f.fx.h, i, 6), BMA_ESIZE);
        } else if (used) {
            EXPECT(&f, bma_free_chunks(f.fx.h, i, 1), BMA_EBADPTR);
            EXPECT(&f, bma_free_chunks(f.fx.h, i, 2), BMA_EBADPTR);
        } else {
            EXPECT(&f, bma_free_chunks(f.fx.h, i, 1), BMA_EDOUBLEFREE);
            EXPECT(&f, bma_free_chunks(f.fx.h, i, 11), BMA_EDOUBLEFREE);
        }
    }
    CHECK_CTX_CLEAR();
    /* Past the last chunk. */
    EXPECT(&f, bma_free_chunks(f.fx.h, NCHUNKS, 1), BMA_EBADPTR);
    EXPECT(&f, bma_free_chunks(f.fx.h, NCHUNKS + 1, 1), BMA_EBADPTR);
    EXPECT(&f, bma_free_chunks(f.fx.h, SIZE_MAX, 1), BMA_EBADPTR);
    EXPECT(&f, bma_free_chunks(f.fx.h, SIZE_MAX, SIZE_MAX), BMA_EBADPTR);
    /* The right counts work. */
    CHECK_STATUS(bma_free_chunks(f.fx.h, 4, 5), BMA_OK);
    CHECK_STATUS(bma_free_chunks(f.fx.h, 0, 3), BMA_OK);
    CHECK_STATUS(bma_free_chunks(f.fx.h, 98, 2), BMA_OK);
    CHECK_EQ(stats_of(f.fx.h).live_allocations, 2);
    fixture_free(&f);
}

/* resize: growth into used chunks or past the heap's end is ENOMEM. */
static void resize_growth_blocked_is_enomem(void)
{
    fixture f;
    if (!fixture_new(&f)) {
        fixture_free(&f);
        return;
    }
    EXPECT(&f, bma_resize(f.fx.h, f.a, 3 * CS + 1), BMA_ENOMEM); /* B is right after A */
    EXPECT(&f, bma_resize(f.fx.h, f.b, 2 * CS), BMA_ENOMEM);     /* C is right after B */
    EXPECT(&f, bma_resize(f.fx.h, f.c, 17 * CS), BMA_ENOMEM);    /* 11 free, then D */
    EXPECT(&f, bma_resize(f.fx.h, f.d, 79 * CS), BMA_ENOMEM);    /* 76 free, then Z */
    EXPECT(&f, bma_resize(f.fx.h, f.z, 3 * CS), BMA_ENOMEM);     /* the heap ends */
    EXPECT(&f, bma_resize(f.fx.h, f.z, SIZE_MAX), BMA_ENOMEM);
    EXPECT(&f, bma_resize(f.fx.h, f.c, SIZE_MAX), BMA_ENOMEM);
    EXPECT(&f, bma_resize(f.fx.h, f.c, SIZE_MAX - CS + 2), BMA_ENOMEM);
    CHECK_PATTERN(f.a, 3 * CS, 1);
    /* Up to the next allocation it works. */
    CHECK_STATUS(bma_resize(f.fx.h, f.c, 16 * CS), BMA_OK);
    CHECK_EQ(bma_usable_size(f.fx.h, f.c), 16 * CS);
    CHECK_STATUS(bma_resize(f.fx.h, f.d, 78 * CS), BMA_OK);
    CHECK_EQ(bma_usable_size(f.fx.h, f.d), 78 * CS);
    CHECK_EQ(stats_of(f.fx.h).free_chunks, 0);
    CHECK_STATUS(bma_check(f.fx.h), BMA_OK);
    fixture_free(&f);
}

/* realloc that must move but finds no run is ENOMEM: the old allocation
 * keeps its place, size and bytes. */
static void realloc_move_blocked_is_enomem_with_data_intact(void)
{
    fixture f;
    void *out = &f;
    if (!fixture_new(&f)) {
        fixture_free(&f);
        return;
    }
    EXPECT(&f, bma_realloc(f.fx.h, f.a, 77 * CS, 0, &out), BMA_ENOMEM);
    EXPECT(&f, bma_realloc(f.fx.h, f.a, SIZE_MAX, 0, &out), BMA_ENOMEM);
    EXPECT(&f, bma_realloc(f.fx.h, f.z, 77 * CS, 0, &out), BMA_ENOMEM);
    EXPECT(&f, bma_realloc(f.fx.h, f.d, 79 * CS, 0, &out), BMA_ENOMEM);
    /* D could grow in place to 78 chunks, and shrink in place to 1, but its
     * offset (below 1 MiB) does not meet a 1 MiB alignment, so it must move,
     * and no chunk of this heap does. */
    EXPECT(&f, bma_realloc(f.fx.h, f.d, 78 * CS, (size_t)1 << 20, &out), BMA_ENOMEM);
    EXPECT(&f, bma_realloc(f.fx.h, f.d, 1, (size_t)1 << 20, &out), BMA_ENOMEM);
    CHECK_PTR_EQ(out, &f);
    CHECK_EQ(bma_usable_size(f.fx.h, f.a), 3 * CS);
    CHECK_PATTERN(f.a, 3 * CS, 1);
    fixture_free(&f);
}

/* chunk_ptr past the end is NULL; chunk_index off a boundary is EBADPTR. */
static void chunk_ptr_and_index_bounds(void)
{
    fixture f;
    size_t i, idx;
    if (!fixture_new(&f)) {
        fixture_free(&f);
        return;
    }
    for (i = 0; i < NCHUNKS; i++) {
        unsigned char *p = bma_chunk_ptr(f.fx.h, i);
        CHECK_PTR_EQ(p, f.fx.buf + f.fx.st.chunks_offset + i * CS);
        idx = 4242;
        CHECK_STATUS(bma_chunk_index(f.fx.h, p, &idx), BMA_OK);
        CHECK_EQ(idx, i);
        idx = 4242;
        CHECK_STATUS(bma_chunk_index(f.fx.h, p + 1, &idx), BMA_EBADPTR);
        CHECK_STATUS(bma_chunk_index(f.fx.h, p + CS - 1, &idx), BMA_EBADPTR);
        CHECK_EQ(idx, 4242);
    }
    CHECK_PTR_EQ(bma_chunk_ptr(f.fx.h, NCHUNKS), NULL);
    CHECK_PTR_EQ(bma_chunk_ptr(f.fx.h, NCHUNKS + 1), NULL);
    CHECK_PTR_EQ(bma_chunk_ptr(f.fx.h, SIZE_MAX), NULL);
    CHECK_PTR_EQ(bma_chunk_ptr(f.fx.h, SIZE_MAX / CS + 1), NULL);
    CHECK_UNCHANGED(&f.fx, f.snap);
    fixture_free(&f);
}

/* Reading calls never write: stats, check, walk, usable_size, chunk_index,
 * chunk_ptr on a busy heap leave every byte alone. */
static void read_only_calls_change_nothing(void)
{
    fixture f;
    walk_list w;
    bma_stats st;
    size_t idx = 0;
    if (!fixture_new(&f)) {
        fixture_free(&f);
        return;
    }
    EXPECT(&f, bma_check(f.fx.h), BMA_OK);
    EXPECT(&f, bma_get_stats(f.fx.h, &st), BMA_OK);
    CHECK_EQ(st.live_allocations, 5);
    CHECK_EQ(st.used_chunks, 13);
    CHECK_EQ(st.free_chunks, 87);
    CHECK_EQ(st.largest_free_run, 76);
    w = walk_all(f.fx.h);
    CHECK_UNCHANGED(&f.fx, f.snap);
    CHECK_EQ(w.n, 5);
    walk_free(&w);
    CHECK_EQ(bma_usable_size(f.fx.h, f.c), 5 * CS);
    EXPECT(&f, bma_chunk_index(f.fx.h, f.d, &idx), BMA_OK);
    CHECK_EQ(idx, 20);
    CHECK_PTR_EQ(bma_chunk_ptr(f.fx.h, 20), f.d);
    EXPECT(&f, bma_detach(f.fx.h), BMA_OK);
    CHECK_UNCHANGED(&f.fx, f.snap);
    fixture_free(&f);
}

/* The same guarantees on a heap large enough for a multi-level search index
 * (70,400 chunks, 1,100 bitmap words): failed searches, frees and resizes
 * leave every byte, index included, as it was. */
static void failures_on_a_large_heap_change_nothing(void)
{
    heap_fx fx;
    unsigned char *snap;
    rng r = {99};
    size_t idx = 4242, largest, i, live = SIZE_MAX, live_count = 0, freed = SIZE_MAX;
    void *out = &fx;
    walk_list w;
    if (!fx_new(&fx, 1, 70400)) {
        return;
    }
    for (;;) {
        size_t c = 1 + rng_below(&r, 700);
        if (bma_alloc_chunks(fx.h, c, &idx) != BMA_OK && bma_alloc_chunks(fx.h, 1, &idx) != BMA_OK) {
            break;
        }
    }
    w = walk_all(fx.h);
    for (i = 0; i < w.n; i++) {
        if (i % 3 != 0) {
            CHECK_STATUS(bma_free_chunks(fx.h, w.index[i], w.count[i]), BMA_OK);
            if (freed == SIZE_MAX && w.index[i] > 40000) {
                freed = w.index[i];
            }
        } else if (live == SIZE_MAX && w.index[i] > 33000 && i + 1 < w.n) {
            live = w.index[i];
            live_count = w.count[i];
        }
    }
    walk_free(&w);
    if (!CHECK(live != SIZE_MAX && freed != SIZE_MAX)) {
        fx_free(&fx);
        return;
    }
    largest = stats_of(fx.h).largest_free_run;
    snap = fx_snapshot(&fx);
    fx.st = stats_of(fx.h);
    idx = 4242;
    EXPECT2(&fx, snap, bma_alloc_chunks(fx.h, largest + 1, &idx), BMA_ENOMEM);
    EXPECT2(&fx, snap, bma_alloc(fx.h, largest + 1, 0, &out), BMA_ENOMEM);
    EXPECT2(&fx, snap, bma_alloc(fx.h, 1, (size_t)1 << 20, &out), BMA_ENOMEM);
    /* Growing in place would need largest + 1 free chunks after it. */
    EXPECT2(&fx, snap, bma_realloc(fx.h, bma_chunk_ptr(fx.h, live), live_count + largest + 1, 0, &out), BMA_ENOMEM);
    EXPECT2(&fx, snap, bma_resize(fx.h, bma_chunk_ptr(fx.h, live), 70400), BMA_ENOMEM);
    EXPECT2(&fx, snap, bma_free_chunks(fx.h, freed, 1), BMA_EDOUBLEFREE);
    EXPECT2(&fx, snap, bma_free_chunks(fx.h, live, live_count + 1), BMA_ESIZE);
    if (live_count > 1) {
        EXPECT2(&fx, snap, bma_free_chunks(fx.h, live + live_count - 1, 1), BMA_EBADPTR);
    }
    EXPECT2(&fx, snap, bma_free(fx.h, bma_chunk_ptr(fx.h, freed)), BMA_EDOUBLEFREE);
    EXPECT2(&fx, snap, bma_free_chunks(fx.h, 70400, 1), BMA_EBADPTR);
    CHECK_EQ(idx, 4242);
    CHECK_PTR_EQ(out, &fx);
    /* And the largest run is really there. */
    CHECK_STATUS(bma_alloc_chunks(fx.h, largest, &idx), BMA_OK);
    CHECK_STATUS(bma_check(fx.h), BMA_OK);
    free(snap);
    fx_free(&fx);
}

int main(void)
{
    RUN(null_arguments_are_einval);
    RUN(zero_sizes_and_counts_are_einval);
    RUN(alignment_not_a_power_of_two_is_einval);
    RUN(alloc_array_overflow_is_eoverflow);
    RUN(no_fitting_run_is_enomem);
    RUN(bad_pointers_are_rejected_by_every_function);
    RUN(pointer_from_another_heap_is_ebadptr);
    RUN(second_free_is_edoublefree);
    RUN(free_sized_with_wrong_size_is_esize);
    RUN(free_chunks_errors);
    RUN(resize_growth_blocked_is_enomem);
    RUN(realloc_move_blocked_is_enomem_with_data_intact);
    RUN(chunk_ptr_and_index_bounds);
    RUN(read_only_calls_change_nothing);
    RUN(failures_on_a_large_heap_change_nothing);
    return check_finish("errors");
}

/* Writes the hand-made seed corpus: make_seeds DIR writes DIR/fuzz_ops,
 * DIR/fuzz_attach and DIR/fuzz_sizes (which must exist). Each seed is an op
 * sequence encoded with producer.h's inverse, so it decodes to exactly the
 * scenario its name says; replay one with FUZZ_TRACE=1 to read it back. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bitmapalloc.h"
#include "diff.h"
#include "producer.h"

static const char *outdir;
static unsigned written;

typedef struct seed {
    fdp_enc e;
    size_t cs, count, co; /* geometry, as the engine will see it */
} seed;

static void put(seed *s, uint64_t v, uint64_t lo, uint64_t hi) { fdp_enc_range(&s->e, v, lo, hi); }

static void save(seed *s, const char *harness, const char *name)
{
    size_t len;
    uint8_t *bytes = fdp_enc_finish(&s->e, &len);
    char path[512];
    snprintf(path, sizeof path, "%s/%s/%s", outdir, harness, name);
    FILE *f = fopen(path, "wb");
    if (!f || (len && fwrite(bytes, 1, len, f) != len) || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
    free(bytes);
    written++;
}

/* ------------------------------------------------------------ fuzz_ops */

/* Learns the geometry the engine will get for (cs, buf_size) from the library. */
static void learn(seed *s, size_t cs, size_t buf_size)
{
    uint8_t *b = malloc(buf_size);
    bma_heap *h;
    bma_stats st;
    if (!b || bma_init(b, buf_size, cs, &h) != BMA_OK || bma_get_stats(h, &st) != BMA_OK) {
        fprintf(stderr, "make_seeds: cannot make a heap of %zu bytes, chunk %zu\n", buf_size, cs);
        exit(1);
    }
    s->cs = cs;
    s->count = st.chunk_count;
    s->co = st.chunks_offset;
    bma_detach(h);
    free(b);
}

static unsigned lg(size_t cs)
{
    unsigned l = 0;
    while (((size_t)1 << l) < cs) {
        l++;
    }
    return l;
}

/* Geometry: n chunks of cs bytes plus slack bytes (DGEO_CHUNKS). */
static void geo_chunks(seed *s, size_t cs, size_t n, size_t slack)
{
    size_t size;
    memset(s, 0, sizeof *s);
    put(s, lg(cs), 0, 12);
    put(s, DGEO_CHUNKS, 0, DGEO_COUNT - 1);
    put(s, n, 1, 200);
    put(s, slack, 0, cs - 1);
    bma_buffer_size(cs, n * cs, &size);
    learn(s, cs, size + slack);
}

/* Geometry: 64*w + d - 1 chunks (DGEO_WORDS), around bitmap word edges. */
static void geo_words(seed *s, size_t cs, size_t w, size_t d)
{
    size_t size, n = 64 * w + d - 1;
    memset(s, 0, sizeof *s);
    put(s, lg(cs), 0, 12);
    put(s, DGEO_WORDS, 0, DGEO_COUNT - 1);
    put(s, w, 1, 200); /* w' == w while w <= min(200, DIFF_MAX_BYTES / (64*cs)) */
    put(s, d, 0, 2);
    bma_buffer_size(cs, n * cs, &size);
    learn(s, cs, size);
}

static size_t min_size(size_t cs)
{
    size_t m;
    bma_buffer_size(cs, cs, &m);
    return m;
}

static void geo_tiny(seed *s, size_t cs, size_t extra)
{
    memset(s, 0, sizeof *s);
    put(s, lg(cs), 0, 12);
    put(s, DGEO_TINY, 0, DGEO_COUNT - 1);
    put(s, extra, 0, 2 * cs + 64);
    learn(s, cs, min_size(cs) + extra);
}

static void geo_bytes(seed *s, size_t cs, size_t b)
{
    unsigned sh = 0;
    while (sh < 22 && ((size_t)1 << sh) <= b) {
        sh++;
    }
    memset(s, 0, sizeof *s);
    put(s, lg(cs), 0, 12);
    put(s, DGEO_BYTES, 0, DGEO_COUNT - 1);
    put(s, sh, 0, 22);
    put(s, b, 0, ((size_t)1 << sh) - 1);
    size_t cap = DIFF_MAX_CHUNKS * cs < DIFF_MAX_BYTES ? DIFF_MAX_CHUNKS * cs : DIFF_MAX_BYTES;
    learn(s, cs, min_size(cs) + (b < cap ? b : cap));
}

static void op(seed *s, enum diff_op o) { put(s, o, 0, DOP_COUNT - 1); }

/* pickers, mirroring diff.c */
static void live(seed *s, size_t j) { put(s, j, 0, 255); }
static void t_live(seed *s, size_t j)
{
    put(s, DT_LIVE, 0, 15);
    live(s, j);
}
static void t_interior(seed *s, size_t j, size_t c)
{
    put(s, DT_INTERIOR, 0, 15);
    live(s, j);
    put(s, c, 1, 255);
}
static void t_offbound(seed *s, size_t j, size_t d)
{
    put(s, DT_OFFBOUND, 0, 15);
    live(s, j);
    put(s, d, 1, 4095);
}
static void t_meta(seed *s, size_t m)
{
    put(s, DT_META, 0, 15);
    put(s, m, 0, 65535);
}
static void t_chunk(seed *s, size_t i)
{
    put(s, DT_CHUNK, 0, 15);
    put(s, i, 0, 65535);
}
static void t_freed(seed *s) { put(s, DT_FREED, 0, 15); }
static void t_end(seed *s, size_t d)
{
    put(s, DT_END, 0, 15);
    put(s, d, 0, 255);
}
static void t_before(seed *s, size_t d)
{
    put(s, DT_BEFORE, 0, 15);
    put(s, d, 1, 4096);
}
static void t_far(seed *s, unsigned sh)
{
    put(s, DT_FAR, 0, 15);
    put(s, sh, 20, 62);
}
static void t_null(seed *s) { put(s, DT_NULL, 0, 15); }

static void i_live(seed *s, size_t j)
{
    put(s, DI_LIVE, 0, 7);
    live(s, j);
}
static void i_interior(seed *s, size_t j, size_t c)
{
    put(s, DI_INTERIOR, 0, 7);
    live(s, j);
    put(s, c, 1, 255);
}
static void i_any(seed *s, size_t i)
{
    put(s, DI_ANY, 0, 7);
    put(s, i, 0, 65535);
}
static void i_freed(seed *s) { put(s, DI_FREED, 0, 7); }
static void i_huge(seed *s, size_t d)
{
    put(s, DI_HUGE, 0, 7);
    put(s, d, 0, 255);
}

static void sz(seed *s, enum diff_size k) { put(s, k, 0, 15); }
static void s_exact(seed *s) { sz(s, DS_EXACT); }
static void s_inside(seed *s, size_t d)
{
    sz(s, DS_INSIDE);
    put(s, d, 0, s->cs - 1);
}
static void s_over(seed *s, size_t d)
{
    sz(s, DS_OVER);
    put(s, d, 0, s->cs - 1);
}
static void s_shrink(seed *s, size_t n)
{
    sz(s, DS_SHRINK);
    put(s, n, 1, 65535);
}
static void s_grow(seed *s, size_t g)
{
    sz(s, DS_GROW);
    put(s, g, 1, 64);
}
static void s_small(seed *s, size_t b)
{
    sz(s, DS_SMALL);
    put(s, b, 1, 4 * s->cs);
}
static void s_chunks(seed *s, size_t n)
{
    sz(s, DS_CHUNKS);
    put(s, n, 1, 64);
}
static void s_big(seed *s, size_t b)
{
    sz(s, DS_BIG);
    put(s, b, 1, (s->count + 1) * s->cs);
}
static void s_huge(seed *s, size_t d)
{
    sz(s, DS_HUGE);
    put(s, d, 0, 4096);
}
static void s_zero(seed *s) { sz(s, DS_ZERO); }
static void s_pow2(seed *s, unsigned sh)
{
    sz(s, DS_POW2);
    put(s, sh, 0, 63);
}

static void c_kind(seed *s, enum diff_count k) { put(s, k, 0, 7); }
static void c_small(seed *s, size_t n)
{
    c_kind(s, DC_SMALL);
    put(s, n, 1, 64);
}
static void c_any(seed *s, size_t n)
{
    c_kind(s, DC_ANY);
    put(s, n, 1, s->count + 1);
}
static void c_huge(seed *s, size_t d)
{
    c_kind(s, DC_HUGE);
    put(s, d, 0, 255);
}

/* align: shift < 0 means 0; forced aligns cannot be 0. */
static void a_zero(seed *s) { put(s, DA_ZERO, 0, 7); }
static void a_pow(seed *s, unsigned sh, int forced)
{
    unsigned lo = forced ? 3 : 0;
    if (sh <= 12) {
        put(s, DA_SMALL, lo, 7);
        put(s, sh, 0, 12);
    } else if (sh <= 30) {
        put(s, DA_LARGE, lo, 7);
        put(s, sh, 13, 30);
    } else {
        put(s, DA_HUGE, lo, 7);
        put(s, sh, 31, 63);
    }
}
static void a_bad(seed *s, unsigned which, int forced)
{
    put(s, DA_BAD, forced ? 3 : 0, 7);
    put(s, which, 0, 7);
}

/* common op shapes */
static void alloc_small(seed *s, size_t b)
{
    op(s, DOP_ALLOC);
    s_small(s, b);
    a_zero(s);
}
static void alloc_chunks(seed *s, size_t n)
{
    op(s, DOP_ALLOC);
    s_chunks(s, n);
    a_zero(s);
}
static void alloc_n(seed *s, size_t n)
{
    op(s, DOP_ALLOC_CHUNKS);
    if (n <= 64) {
        c_small(s, n);
    } else {
        c_any(s, n);
    }
}
static void free_live(seed *s, size_t j)
{
    op(s, DOP_FREE);
    t_live(s, j);
}
static void verify(seed *s) { op(s, DOP_VERIFY); }
static void relocate(seed *s, enum diff_relocate m, size_t extra, size_t cut)
{
    op(s, DOP_RELOCATE);
    put(s, m, 0, DREL_COUNT - 1);
    if (m == DREL_BIGGER || m == DREL_BIGGER_HEAP) {
        put(s, extra, 1, 4096);
    }
    put(s, cut, 0, 65535);
}

static void ops_seeds(void)
{
    seed s;
    const char *H = "fuzz_ops";

    /* Every chunk size, a few allocs of each kind and a free. */
    for (size_t l = 0; l <= 12; l++) {
        char name[64];
        geo_chunks(&s, (size_t)1 << l, 70, l ? ((size_t)1 << l) - 1 : 0);
        alloc_small(&s, 1);
        alloc_chunks(&s, 3);
        alloc_n(&s, 5);
        op(&s, DOP_ALLOC_ARRAY);
        put(&s, 0, 0, 7);
        put(&s, 3, 1, 256);
        put(&s, 7, 1, 256);
        a_zero(&s);
        free_live(&s, 1);
        alloc_small(&s, 1);
        op(&s, DOP_WALK);
        put(&s, 0, 0, 255);
        snprintf(name, sizeof name, "seed-basics-cs%zu", (size_t)1 << l);
        save(&s, H, name);
    }

    /* First fit across word boundaries: fill, punch holes, refill. */
    geo_words(&s, 1, 3, 2);
    alloc_n(&s, 63);
    alloc_n(&s, 2);  /* straddles word 0/1 */
    alloc_n(&s, 64); /* 65..128: straddles word 1/2 */
    alloc_n(&s, 64);
    free_live(&s, 1);
    alloc_n(&s, 1);
    alloc_n(&s, 1);
    alloc_n(&s, 1); /* no 1-run left below; goes to the tail */
    op(&s, DOP_ALLOC_CHUNKS);
    c_any(&s, s.count + 1); /* ENOMEM */
    free_live(&s, 0);
    op(&s, DOP_ALLOC_CHUNKS);
    c_any(&s, 64);
    save(&s, H, "seed-word-straddle");

    /* Past 64 bitmap words the library keeps a run index: runs across
     * index nodes, a hole far from the hint, the last partial word. */
    geo_words(&s, 1, 65, 2); /* 4161 chunks */
    alloc_n(&s, 64);
    op(&s, DOP_ALLOC_CHUNKS);
    c_any(&s, 4000);
    alloc_n(&s, 64);
    alloc_n(&s, 40);
    free_live(&s, 1);
    alloc_n(&s, 600);
    alloc_n(&s, 3000);
    op(&s, DOP_ALLOC_CHUNKS);
    c_any(&s, 3401);
    op(&s, DOP_ALLOC_ALIGNED);
    s_chunks(&s, 5);
    a_pow(&s, 9, 1);
    free_live(&s, 0);
    alloc_n(&s, 64);
    relocate(&s, DREL_SAME, 0, 0);
    save(&s, H, "seed-run-index");

    geo_words(&s, 2, 130, 0); /* 8319 chunks, two index levels' worth of nodes */
    for (int i = 0; i < 40; i++) {
        alloc_n(&s, 63);
    }
    for (int i = 0; i < 40; i += 3) {
        free_live(&s, (size_t)i);
    }
    op(&s, DOP_ALLOC_CHUNKS);
    c_any(&s, 120);
    op(&s, DOP_ALLOC_CHUNKS);
    c_any(&s, 5000);
    alloc_n(&s, 1);
    save(&s, H, "seed-run-index-2");

    /* Partial last word: 64*2 + 1 - 1 = 128 chunks exactly, and 127. */
    geo_words(&s, 8, 2, 0);
    alloc_n(&s, 64);
    alloc_n(&s, 63);
    alloc_n(&s, 1); /* ENOMEM: 127 chunks */
    free_live(&s, 1);
    alloc_n(&s, 63);
    save(&s, H, "seed-partial-last-word");

    /* Fill the heap to ENOMEM with single chunks, free every other one. */
    geo_chunks(&s, 16, 130, 5);
    for (int i = 0; i < 131; i++) {
        alloc_n(&s, 1);
    }
    for (int i = 0; i < 64; i++) {
        free_live(&s, (size_t)i + 1);
    }
    alloc_n(&s, 2); /* ENOMEM: only holes of one */
    alloc_n(&s, 1);
    save(&s, H, "seed-fill-enomem-holes");

    /* Aligned allocations: every power of two up to 4096, then huge and bad. */
    geo_chunks(&s, 16, 200, 0);
    for (unsigned sh = 0; sh <= 12; sh++) {
        op(&s, DOP_ALLOC_ALIGNED);
        s_small(&s, 17);
        a_pow(&s, sh, 1);
    }
    op(&s, DOP_ALLOC_ALIGNED);
    s_small(&s, 1);
    a_pow(&s, 20, 1); /* ENOMEM: no chunk offset meets it */
    op(&s, DOP_ALLOC_ALIGNED);
    s_small(&s, 1);
    a_pow(&s, 63, 1);
    for (unsigned b = 0; b < 8; b++) {
        op(&s, DOP_ALLOC_ALIGNED);
        s_small(&s, 1);
        a_bad(&s, b, 1); /* EINVAL */
    }
    save(&s, H, "seed-aligned");

    /* Every kind of invalid free, each must fail and change nothing. */
    geo_chunks(&s, 64, 100, 3);
    alloc_chunks(&s, 4);
    alloc_chunks(&s, 1);
    alloc_chunks(&s, 2);
    op(&s, DOP_FREE);
    t_interior(&s, 0, 1);
    op(&s, DOP_FREE);
    t_interior(&s, 1, 1); /* the chunk after a 1-chunk allocation */
    op(&s, DOP_FREE);
    t_offbound(&s, 0, 5);
    op(&s, DOP_FREE);
    t_meta(&s, 0);
    op(&s, DOP_FREE);
    t_meta(&s, 9);
    op(&s, DOP_FREE);
    t_chunk(&s, 50); /* free chunk: double free */
    op(&s, DOP_FREE);
    t_chunk(&s, 101); /* one past the end */
    op(&s, DOP_FREE);
    t_end(&s, 0);
    op(&s, DOP_FREE);
    t_end(&s, 200);
    op(&s, DOP_FREE);
    t_before(&s, 7);
    op(&s, DOP_FREE);
    t_far(&s, 40);
    op(&s, DOP_FREE);
    t_null(&s);
    free_live(&s, 1);
    op(&s, DOP_FREE);
    t_freed(&s); /* double free */
    op(&s, DOP_FREE_SIZED);
    t_live(&s, 0);
    s_over(&s, 0); /* wrong size */
    op(&s, DOP_FREE_SIZED);
    t_live(&s, 0);
    s_shrink(&s, 1);
    op(&s, DOP_FREE_SIZED);
    t_live(&s, 0);
    s_zero(&s);
    op(&s, DOP_FREE_SIZED);
    t_live(&s, 0);
    s_huge(&s, 0);
    op(&s, DOP_FREE_SIZED);
    t_freed(&s);
    s_exact(&s);
    op(&s, DOP_FREE_CHUNKS);
    i_live(&s, 0);
    c_kind(&s, DC_MORE);
    op(&s, DOP_FREE_CHUNKS);
    i_live(&s, 0);
    c_kind(&s, DC_LESS);
    op(&s, DOP_FREE_CHUNKS);
    i_live(&s, 0);
    c_kind(&s, DC_ZERO);
    op(&s, DOP_FREE_CHUNKS);
    i_live(&s, 0);
    c_huge(&s, 0);
    op(&s, DOP_FREE_CHUNKS);
    i_interior(&s, 0, 2);
    c_kind(&s, DC_EXACT);
    op(&s, DOP_FREE_CHUNKS);
    i_freed(&s);
    c_kind(&s, DC_EXACT);
    op(&s, DOP_FREE_CHUNKS);
    i_any(&s, 100);
    c_kind(&s, DC_EXACT); /* index == count */
    op(&s, DOP_FREE_CHUNKS);
    i_any(&s, 101);
    c_kind(&s, DC_EXACT);
    op(&s, DOP_FREE_CHUNKS);
    i_huge(&s, 0);
    c_kind(&s, DC_EXACT);
    op(&s, DOP_FREE_SIZED);
    t_live(&s, 0);
    s_inside(&s, 63); /* right size: OK */
    op(&s, DOP_FREE_CHUNKS);
    i_live(&s, 0);
    c_kind(&s, DC_EXACT); /* OK */
    save(&s, H, "seed-invalid-frees");

    /* Resize in place: grow into free space, fail when blocked, shrink. */
    geo_chunks(&s, 32, 60, 0);
    alloc_chunks(&s, 2);
    alloc_chunks(&s, 2);
    free_live(&s, 1);
    op(&s, DOP_RESIZE);
    t_live(&s, 0);
    s_grow(&s, 2); /* OK: into the freed run */
    op(&s, DOP_RESIZE);
    t_live(&s, 0);
    s_grow(&s, 60); /* ENOMEM */
    op(&s, DOP_RESIZE);
    t_live(&s, 0);
    s_shrink(&s, 3); /* 4 chunks -> 1 + 3 % 3 = 1 */
    op(&s, DOP_RESIZE);
    t_live(&s, 0);
    s_zero(&s);
    op(&s, DOP_RESIZE);
    t_live(&s, 0);
    s_huge(&s, 0);
    op(&s, DOP_RESIZE);
    t_interior(&s, 0, 1);
    s_exact(&s);
    op(&s, DOP_RESIZE);
    t_null(&s);
    s_exact(&s);
    op(&s, DOP_RESIZE);
    t_chunk(&s, 30);
    s_exact(&s);
    save(&s, H, "seed-resize");

    /* Realloc: NULL, in place, forced move (blocked, and by alignment),
     * shrink that must move for alignment, failure keeps the old one. */
    geo_chunks(&s, 16, 120, 0);
    op(&s, DOP_REALLOC);
    t_null(&s);
    s_small(&s, 40);
    a_zero(&s);          /* = alloc, 3 chunks at 0 */
    alloc_chunks(&s, 1); /* blocker at 3 */
    op(&s, DOP_REALLOC);
    t_live(&s, 0);
    s_grow(&s, 2);
    a_zero(&s); /* must move */
    op(&s, DOP_REALLOC);
    t_live(&s, 1);
    s_grow(&s, 1);
    a_zero(&s); /* in place */
    op(&s, DOP_REALLOC);
    t_live(&s, 1);
    s_shrink(&s, 1);
    a_pow(&s, 9, 0); /* shrink, moves for align */
    op(&s, DOP_REALLOC);
    t_live(&s, 0);
    s_big(&s, (size_t)120 * 16);
    a_zero(&s); /* ENOMEM */
    op(&s, DOP_REALLOC);
    t_live(&s, 0);
    s_huge(&s, 1);
    a_zero(&s); /* ENOMEM */
    op(&s, DOP_REALLOC);
    t_live(&s, 0);
    s_exact(&s);
    a_bad(&s, 0, 0); /* EINVAL */
    op(&s, DOP_REALLOC);
    t_interior(&s, 1, 1);
    s_exact(&s);
    a_zero(&s); /* EBADPTR */
    op(&s, DOP_REALLOC);
    t_freed(&s);
    s_exact(&s);
    a_zero(&s); /* EBADPTR */
    op(&s, DOP_REALLOC);
    t_live(&s, 0);
    s_zero(&s);
    a_zero(&s); /* EINVAL */
    op(&s, DOP_REALLOC);
    t_before(&s, 1);
    s_exact(&s);
    a_zero(&s); /* EBADPTR */
    verify(&s);
    save(&s, H, "seed-realloc");

    /* One-byte chunks: realloc copies byte-exact prefixes. */
    geo_chunks(&s, 1, 200, 0);
    alloc_small(&s, 3);
    alloc_small(&s, 1);
    op(&s, DOP_REALLOC);
    t_live(&s, 0);
    s_grow(&s, 5);
    a_zero(&s);
    op(&s, DOP_REALLOC);
    t_live(&s, 1);
    s_shrink(&s, 3);
    a_pow(&s, 4, 0);
    op(&s, DOP_REALLOC);
    t_live(&s, 0);
    s_over(&s, 0);
    a_pow(&s, 3, 0);
    save(&s, H, "seed-realloc-cs1");

    /* Relocation in every mode, with live data across it. */
    geo_chunks(&s, 128, 90, 100);
    alloc_small(&s, 300);
    alloc_chunks(&s, 7);
    free_live(&s, 0);
    relocate(&s, DREL_SAME, 0, 0);
    alloc_small(&s, 1);
    relocate(&s, DREL_BIGGER, 333, 0);
    relocate(&s, DREL_BIGGER_HEAP, 4096, 0);
    relocate(&s, DREL_TRUNCATED, 0, 17);
    relocate(&s, DREL_TRUNCATED, 0, 65535);
    free_live(&s, 0);
    free_live(&s, 0);
    save(&s, H, "seed-relocate");

    /* Read-only calls: usable_size, chunk_ptr/chunk_index round trips, walk with stops. */
    geo_chunks(&s, 8, 80, 1);
    alloc_n(&s, 3);
    alloc_n(&s, 1);
    alloc_n(&s, 9);
    op(&s, DOP_USABLE_SIZE);
    t_live(&s, 2);
    op(&s, DOP_USABLE_SIZE);
    t_interior(&s, 2, 3);
    op(&s, DOP_USABLE_SIZE);
    t_offbound(&s, 0, 1);
    op(&s, DOP_USABLE_SIZE);
    t_null(&s);
    op(&s, DOP_USABLE_SIZE);
    t_end(&s, 0);
    op(&s, DOP_CHUNK_PTR);
    i_any(&s, 0);
    op(&s, DOP_CHUNK_PTR);
    i_any(&s, 79);
    op(&s, DOP_CHUNK_PTR);
    i_any(&s, 80);
    op(&s, DOP_CHUNK_PTR);
    i_huge(&s, 0);
    op(&s, DOP_CHUNK_INDEX);
    t_chunk(&s, 79);
    op(&s, DOP_CHUNK_INDEX);
    t_end(&s, 0);
    op(&s, DOP_CHUNK_INDEX);
    t_offbound(&s, 1, 3);
    op(&s, DOP_CHUNK_INDEX);
    t_meta(&s, 3);
    op(&s, DOP_CHUNK_INDEX);
    t_before(&s, 8);
    op(&s, DOP_CHUNK_INDEX);
    t_null(&s);
    for (size_t stop = 0; stop < 5; stop++) {
        op(&s, DOP_WALK);
        put(&s, stop, 0, 255);
    }
    save(&s, H, "seed-readonly-queries");

    /* Every NULL / bad-argument probe. */
    geo_chunks(&s, 32, 10, 0);
    alloc_n(&s, 2);
    for (unsigned b = 0; b < DBAD_COUNT; b++) {
        op(&s, DOP_BAD_ARGS);
        put(&s, b, 0, DBAD_COUNT - 1);
    }
    save(&s, H, "seed-bad-args");

    /* Sizes at the extremes on a live heap. */
    geo_chunks(&s, 4096, 20, 4095);
    alloc_small(&s, 5000);
    op(&s, DOP_ALLOC);
    s_huge(&s, 0);
    a_zero(&s);
    op(&s, DOP_ALLOC);
    s_huge(&s, 4096);
    a_zero(&s);
    op(&s, DOP_ALLOC);
    s_zero(&s);
    a_zero(&s);
    op(&s, DOP_ALLOC);
    s_pow2(&s, 63);
    a_zero(&s);
    op(&s, DOP_ALLOC);
    s_big(&s, (size_t)21 * 4096);
    a_zero(&s);
    op(&s, DOP_ALLOC);
    s_big(&s, (size_t)18 * 4096);
    a_zero(&s); /* exactly the rest */
    op(&s, DOP_ALLOC_CHUNKS);
    c_huge(&s, 0);
    op(&s, DOP_ALLOC_CHUNKS);
    c_kind(&s, DC_ZERO);
    static const uint8_t arrays[][3] = {{3, 7, 0}, {4, 63, 1}, {4, 1, 0}, {5, 0, 0}, {6, 255, 255}, {7, 16, 0}};
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++) {
        op(&s, DOP_ALLOC_ARRAY);
        put(&s, arrays[i][0], 0, 7);
        switch (arrays[i][0]) {
        case DR_OVERFLOW:
            put(&s, arrays[i][1], 1, 63);
            put(&s, arrays[i][2], 0, 255);
            break;
        case DR_EDGE: put(&s, arrays[i][1], 1, 65535); break;
        case DR_ZERO:
            put(&s, arrays[i][1], 0, 1);
            put(&s, 9, 1, 255);
            break;
        case DR_HUGE:
            put(&s, arrays[i][1], 1, 255);
            put(&s, arrays[i][2], 0, 255);
            break;
        default:
            put(&s, arrays[i][1], 1, 16);
            put(&s, 4096, 1, s.count * s.cs);
            break;
        }
        a_zero(&s);
    }
    save(&s, H, "seed-extreme-sizes");

    /* Tiny heaps: the minimum buffer and one chunk. */
    for (size_t l = 0; l <= 12; l += 4) {
        char name[64];
        geo_tiny(&s, (size_t)1 << l, 0);
        alloc_n(&s, 1);
        alloc_n(&s, 1); /* ENOMEM */
        free_live(&s, 0);
        op(&s, DOP_ALLOC_ALIGNED);
        s_small(&s, 1);
        a_pow(&s, 12, 1);
        relocate(&s, DREL_TRUNCATED, 0, 5);
        snprintf(name, sizeof name, "seed-tiny-cs%zu", (size_t)1 << l);
        save(&s, H, name);
    }

    /* A buffer one byte below the minimum must be refused. */
    memset(&s, 0, sizeof s);
    put(&s, 6, 0, 12);
    put(&s, DGEO_BELOW, 0, DGEO_COUNT - 1);
    save(&s, H, "seed-init-below-minimum");

    /* A large heap (64K chunks of 16 bytes, 1 MiB): long runs, big allocations. */
    geo_bytes(&s, 16, 1 << 20);
    op(&s, DOP_ALLOC);
    s_big(&s, 700000);
    a_zero(&s);
    op(&s, DOP_ALLOC);
    s_big(&s, 300000);
    a_pow(&s, 12, 0);
    alloc_n(&s, 64);
    free_live(&s, 0);
    op(&s, DOP_ALLOC_CHUNKS);
    c_any(&s, s.count / 2);
    relocate(&s, DREL_SAME, 0, 0);
    save(&s, H, "seed-large-heap");

    /* A multi-MiB heap of 4 KiB chunks. */
    geo_words(&s, 4096, 16, 1);
    op(&s, DOP_ALLOC);
    s_big(&s, 3u << 20);
    a_zero(&s);
    op(&s, DOP_REALLOC);
    t_live(&s, 0);
    s_shrink(&s, 100);
    a_pow(&s, 16, 0);
    alloc_n(&s, 64);
    save(&s, H, "seed-4mib-heap");
}

/* --------------------------------------------------------- fuzz_attach */

/* Raw mode: byte 0 even, then a real heap image. */
static void attach_image(size_t cs, size_t chunks, const size_t *allocs, size_t nallocs, size_t free_every,
                         const char *name)
{
    size_t size;
    bma_heap *h;
    bma_buffer_size(cs, chunks * cs, &size);
    uint8_t *b = calloc(1, size + 1);
    if (!b || bma_init(b + 0, size, cs, &h) != BMA_OK) {
        exit(1);
    }
    size_t idx[64], n = 0;
    for (size_t i = 0; i < nallocs && n < 64; i++) {
        if (bma_alloc_chunks(h, allocs[i], &idx[n]) == BMA_OK) {
            n++;
        }
    }
    for (size_t i = 0; free_every && i < n; i += free_every) {
        bma_free_chunks(h, idx[i], allocs[i]);
    }
    bma_detach(h);
    seed s;
    memset(&s, 0, sizeof s);
    /* The image goes in buffer order after byte 0: push it reversed. */
    fdp_enc_bytes(&s.e, b, size);
    fdp_enc_byte(&s.e, 0);
    save(&s, "fuzz_attach", name);
    free(b);
}

static void attach_seeds(void)
{
    static const size_t a1[] = {1, 2, 3, 63, 1, 5};
    static const size_t a2[] = {64, 64, 1};
    static const size_t a3[] = {1};
    attach_image(1, 130, a1, 6, 0, "seed-image-cs1");
    attach_image(1, 130, a1, 6, 2, "seed-image-cs1-holes");
    attach_image(8, 129, a2, 3, 2, "seed-image-cs8");
    attach_image(64, 3, a3, 1, 0, "seed-image-cs64-tiny");
    attach_image(256, 64, a1, 6, 3, "seed-image-cs256");
    attach_image(1, 5000, a1, 6, 2, "seed-image-indexed-cs1");

    /* Flip mode: byte 0 odd, then the encoded recipe (producer from the end). */
    static const struct {
        unsigned cs_log, chunks, where, xr, cut;
        size_t pos;
        const char *name;
    } flips[] = {
        {0, 100, 1, 0x01, 0, 0, "seed-flip-magic"},
        {0, 100, 1, 0x01, 0, 8, "seed-flip-version"},
        {3, 70, 1, 0x80, 0, 16, "seed-flip-chunk-size"},
        {3, 70, 1, 0x01, 0, 24, "seed-flip-chunk-count"},
        {3, 70, 1, 0x40, 0, 31, "seed-flip-chunk-count-high"},
        /* Format 4 header: geometry at 32..95 (words, levels, shift, the region
         * offsets, total), level starts at 96..255, search hints at 256..287,
         * the free bitmap from 288. Hints are kept on heaps of more than 32
         * words only (on smaller ones any set hint bit is corrupt). */
        {2, 5000, 1, 0x01, 0, 256, "seed-flip-hint"},
        {2, 5000, 1, 0x40, 0, 259, "seed-flip-hint-high"},
        {2, 200, 1, 0x01, 0, 256, "seed-flip-hint-small-heap"},
        {3, 70, 1, 0x08, 0, 80, "seed-flip-stored-chunks-off"},
        {3, 70, 1, 0x01, 0, 32, "seed-flip-stored-words"},
        {0, 5000, 1, 0x01, 0, 96, "seed-flip-big-level-start"},
        {2, 200, 1, 0x10, 0, 289, "seed-flip-free-bitmap"},
        {2, 200, 1, 0x04, 0, 336, "seed-flip-start-bitmap"},
        {5, 130, 0, 0xff, 1, 9999, "seed-flip-chunks-truncated"},
        {5, 130, 0, 0x01, 2, 9999, "seed-flip-chunks-padded"},
        {1, 64, 1, 0x01, 3, 0, "seed-flip-truncated-more"},
        /* pos >= 60000 means metadata_bytes - (pos - 60000): the index and
         * the per-word run lengths sit at the end of the metadata */
        {0, 5000, 1, 0x01, 0, 60000 + 80, "seed-flip-big-word-runs"},
        {0, 5000, 1, 0x01, 0, 60000 + 2, "seed-flip-big-word-runs-last"},
        {0, 5000, 1, 0x02, 0, 60000 + 100, "seed-flip-big-index"},
        {4, 9000, 1, 0x04, 0, 60000 + 200, "seed-flip-big-index-2"},
        {2, 9000, 0, 0x20, 0, 1500, "seed-flip-big-bitmap"},
        /* 120 chunks in use, so word 0 ends used and word 1 ends free; the
         * flip marks chunk 128 (word 2, bit 0) used with no allocation
         * starting there: a check that lets the carry from word 0 stick
         * would accept it (mutant 24). */
        {2, 200, 1, 0x01, 0, 304, "seed-flip-orphan-after-free-word"},
    };
    for (size_t i = 0; i < sizeof flips / sizeof flips[0]; i++) {
        seed s;
        memset(&s, 0, sizeof s);
        put(&s, flips[i].cs_log, 0, 8);
        put(&s, flips[i].chunks > 300, 0, 1);
        if (flips[i].chunks > 300) {
            put(&s, flips[i].chunks, 4097, 12000);
        } else {
            put(&s, flips[i].chunks, 1, 300);
        }
        if (strcmp(flips[i].name, "seed-flip-orphan-after-free-word") == 0) {
            put(&s, 15, 0, 16); /* steps: fifteen allocations of 8 chunks */
            for (int k = 0; k < 15; k++) {
                put(&s, 0, 0, 1);
                put(&s, 8, 1, 8);
            }
        } else {
            put(&s, 3, 0, 16); /* steps: alloc 3, alloc 2, free one */
            put(&s, 0, 0, 1);
            put(&s, 3, 1, 8);
            put(&s, 0, 0, 1);
            put(&s, 2, 1, 8);
            put(&s, 1, 0, 1);
            put(&s, 0, 0, 255);
        }
        put(&s, 1, 1, 8); /* one flip */
        size_t pos = flips[i].pos;
        if (pos >= 60000) {
            size_t cs = (size_t)1 << flips[i].cs_log, size;
            cs = flips[i].chunks > 300 && cs > 16 ? 16 : cs;
            bma_buffer_size(cs, flips[i].chunks * cs, &size);
            uint8_t *b = malloc(size);
            bma_heap *h;
            bma_stats st;
            if (!b || bma_init(b, size, cs, &h) != BMA_OK || bma_get_stats(h, &st) != BMA_OK) {
                exit(1);
            }
            pos = st.metadata_bytes - (pos - 60000);
            bma_detach(h);
            free(b);
        }
        put(&s, flips[i].where, 0, 7);
        put(&s, pos, 0, 65535);
        put(&s, flips[i].xr, 1, 255);
        put(&s, flips[i].cut, 0, 3);
        if (flips[i].cut == 3) {
            put(&s, 9, 1, 64);
        }
        /* a few diff ops for an accepted heap: alloc 1 chunk, free live#0, verify */
        put(&s, DOP_ALLOC_CHUNKS, 0, DOP_COUNT - 1);
        put(&s, DC_SMALL, 0, 7);
        put(&s, 1, 1, 64);
        put(&s, DOP_FREE, 0, DOP_COUNT - 1);
        put(&s, DT_LIVE, 0, 15);
        put(&s, 0, 0, 255);
        put(&s, DOP_VERIFY, 0, DOP_COUNT - 1);
        fdp_enc_byte(&s.e, 1); /* byte 0 last in consumption order = first in the file */
        save(&s, "fuzz_attach", flips[i].name);
    }
}

/* ---------------------------------------------------------- fuzz_sizes */

/* value kinds of fuzz_sizes.c's pick() */
static void v_small(seed *s, uint64_t v)
{
    put(s, 0, 0, 7);
    put(s, v, 0, 64);
}
static void v_pow2(seed *s, unsigned sh)
{
    put(s, 1, 0, 7);
    put(s, sh, 0, 63);
}
static void v_pow2pm(seed *s, unsigned sh, int d)
{
    put(s, 2, 0, 7);
    put(s, sh, 0, 63);
    put(s, d < 0 ? 0 : d == 0 ? 1 : 2, 0, 2); /* (1 << sh) + d */
}
static void v_max(seed *s, uint64_t d)
{
    put(s, 3, 0, 7);
    put(s, d, 0, 4096);
}
static void v_div(seed *s, uint64_t q, uint64_t d)
{
    put(s, 4, 0, 7);
    put(s, q, 1, 4096);
    put(s, d, 0, 2);
}
static void v_zero(seed *s) { put(s, 6, 0, 7); }
static void v_mid(seed *s, uint64_t v)
{
    put(s, 7, 0, 7);
    put(s, v, 1, (uint64_t)1 << 20);
}

enum {
    SC_BUFFER_SIZE,
    SC_ALLOC,
    SC_ALLOC_ARRAY,
    SC_ALLOC_CHUNKS,
    SC_FREE_SIZED,
    SC_FREE_CHUNKS,
    SC_RESIZE,
    SC_REALLOC,
    SC_INIT,
    SC_CHUNK_PTR,
    SC_COUNT
};
static void sc(seed *s, unsigned c) { put(s, c, 0, SC_COUNT - 1); }

static void sizes_seeds(void)
{
    for (unsigned cl = 0; cl <= 12; cl += 3) {
        seed s;
        char name[64];
        memset(&s, 0, sizeof s);
        put(&s, cl, 0, 12);
        put(&s, 100, 1, 300);
        /* buffer_size: power-of-two chunk sizes up to 1 << 63, capacity extremes */
        sc(&s, SC_BUFFER_SIZE);
        put(&s, 0, 0, 1);
        put(&s, 0, 0, 63);
        v_max(&s, 0);
        sc(&s, SC_BUFFER_SIZE);
        put(&s, 0, 0, 1);
        put(&s, 63, 0, 63);
        v_small(&s, 1);
        sc(&s, SC_BUFFER_SIZE);
        put(&s, 0, 0, 1);
        put(&s, 12, 0, 63);
        v_max(&s, 4096);
        sc(&s, SC_BUFFER_SIZE);
        put(&s, 0, 0, 1);
        put(&s, 3, 0, 63);
        v_div(&s, 8, 0);
        sc(&s, SC_BUFFER_SIZE);
        put(&s, 1, 0, 1);
        v_pow2pm(&s, 4, 1);
        v_small(&s, 5); /* cs 17: EINVAL */
        sc(&s, SC_BUFFER_SIZE);
        put(&s, 1, 0, 1);
        v_zero(&s);
        v_small(&s, 5);
        sc(&s, SC_BUFFER_SIZE);
        put(&s, 0, 0, 1);
        put(&s, 0, 0, 63);
        v_zero(&s);
        sc(&s, SC_BUFFER_SIZE);
        put(&s, 0, 0, 1);
        put(&s, 5, 0, 63);
        v_mid(&s, 100000);
        /* alloc: huge sizes are ENOMEM, bad aligns EINVAL, huge aligns ENOMEM */
        sc(&s, SC_ALLOC);
        v_max(&s, 0);
        v_zero(&s);
        sc(&s, SC_ALLOC);
        v_max(&s, 0);
        v_pow2(&s, 12);
        sc(&s, SC_ALLOC);
        v_small(&s, 1);
        v_pow2(&s, 63);
        sc(&s, SC_ALLOC);
        v_small(&s, 1);
        v_pow2pm(&s, 5, 1);
        sc(&s, SC_ALLOC);
        v_small(&s, 0);
        v_zero(&s);
        sc(&s, SC_ALLOC);
        v_mid(&s, 3000);
        v_pow2(&s, 13);
        /* alloc_array at SIZE_MAX */
        sc(&s, SC_ALLOC_ARRAY);
        v_div(&s, 3, 0);
        v_small(&s, 3);
        v_zero(&s); /* exactly SIZE_MAX: ENOMEM */
        sc(&s, SC_ALLOC_ARRAY);
        v_div(&s, 3, 1);
        v_small(&s, 3);
        v_zero(&s); /* overflow */
        sc(&s, SC_ALLOC_ARRAY);
        v_pow2(&s, 32);
        v_pow2(&s, 32);
        v_zero(&s); /* 2^64: overflow */
        sc(&s, SC_ALLOC_ARRAY);
        v_pow2(&s, 32);
        v_pow2pm(&s, 32, -1);
        v_zero(&s); /* fits */
        sc(&s, SC_ALLOC_ARRAY);
        v_zero(&s);
        v_max(&s, 0);
        v_zero(&s); /* EINVAL */
        sc(&s, SC_ALLOC_ARRAY);
        v_max(&s, 0);
        v_max(&s, 0);
        v_small(&s, 3); /* EINVAL beats EOVERFLOW */
        sc(&s, SC_ALLOC_ARRAY);
        v_small(&s, 7);
        v_small(&s, 9);
        v_pow2(&s, 6);
        /* chunk counts and sized frees at the extremes */
        sc(&s, SC_ALLOC_CHUNKS);
        v_max(&s, 0);
        sc(&s, SC_ALLOC_CHUNKS);
        v_zero(&s);
        sc(&s, SC_ALLOC_CHUNKS);
        v_small(&s, 64);
        sc(&s, SC_FREE_SIZED);
        v_max(&s, 0);
        sc(&s, SC_FREE_SIZED);
        v_small(&s, 1);
        sc(&s, SC_FREE_SIZED);
        v_pow2(&s, (unsigned)cl + 1);
        sc(&s, SC_FREE_SIZED);
        v_zero(&s);
        sc(&s, SC_FREE_CHUNKS);
        put(&s, 0, 0, 1);
        v_max(&s, 0);
        sc(&s, SC_FREE_CHUNKS);
        put(&s, 1, 0, 1);
        v_max(&s, 0);
        v_small(&s, 1);
        sc(&s, SC_FREE_CHUNKS);
        put(&s, 1, 0, 1);
        v_small(&s, 5);
        v_small(&s, 1);
        sc(&s, SC_RESIZE);
        v_max(&s, 0);
        sc(&s, SC_RESIZE);
        v_mid(&s, 5000);
        sc(&s, SC_REALLOC);
        put(&s, 0, 0, 1);
        v_max(&s, 0);
        v_zero(&s);
        sc(&s, SC_REALLOC);
        put(&s, 0, 0, 1);
        v_small(&s, 1);
        v_pow2(&s, 14); /* moves for alignment */
        sc(&s, SC_REALLOC);
        put(&s, 1, 0, 1);
        v_small(&s, 1);
        v_pow2(&s, 62);
        sc(&s, SC_REALLOC);
        put(&s, 0, 0, 1);
        v_mid(&s, 4000);
        v_zero(&s);
        /* init with huge and bad chunk sizes */
        sc(&s, SC_INIT);
        put(&s, 0, 0, 1);
        put(&s, 63, 0, 63);
        put(&s, 0, 0, 4096);
        sc(&s, SC_INIT);
        put(&s, 0, 0, 1);
        put(&s, 40, 0, 63);
        put(&s, 0, 0, 4096);
        sc(&s, SC_INIT);
        put(&s, 1, 0, 1);
        v_max(&s, 0);
        put(&s, 0, 0, 4096);
        sc(&s, SC_INIT);
        put(&s, 0, 0, 1);
        put(&s, (uint64_t)cl, 0, 63);
        put(&s, 4096, 0, 4096);
        sc(&s, SC_CHUNK_PTR);
        v_max(&s, 0);
        sc(&s, SC_CHUNK_PTR);
        v_small(&s, 64);
        snprintf(name, sizeof name, "seed-extremes-cs%u", 1u << cl);
        save(&s, "fuzz_sizes", name);
    }
}

/* Inputs that once found a bug, rebuilt here so they stay decodable. */
static void regressions(void)
{
    seed s;
    /* fuzz_sizes re-initialised a buffer whose previous heap still had its
     * free chunks ASan-poisoned; bma_init's metadata memset then hit them.
     * (A harness bug: a buffer must be bma_detach()ed before reuse.) */
    memset(&s, 0, sizeof s);
    put(&s, 0, 0, 12); /* chunk size 1 */
    put(&s, 300, 1, 300);
    sc(&s, SC_INIT);
    put(&s, 0, 0, 1);
    put(&s, 7, 0, 63); /* chunk size 128: metadata grows into old chunks */
    put(&s, 0, 0, 4096);
    save(&s, "fuzz_sizes", "regress-harness-reinit-over-poisoned-heap");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR (with fuzz_ops/, fuzz_attach/, fuzz_sizes/ in it)\n", argv[0]);
        return 2;
    }
    outdir = argv[1];
    ops_seeds();
    attach_seeds();
    sizes_seeds();
    regressions();
    printf("wrote %u seeds under %s\n", written, outdir);
    return 0;
}

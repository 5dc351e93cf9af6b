/* soak: long random workloads against bitmapalloc (scripts/soak.sh runs it).
 *
 *   soak small OPS [SEED]   heaps of a few MiB, the reference oracle in
 *                           lockstep: every call's status and chunk index is
 *                           compared, stats every STATS_EVERY ops, the walk
 *                           list and bma_check every CHECK_EVERY ops. A new
 *                           geometry every EPOCH_OPS ops; halfway through each
 *                           epoch the heap is moved (memcpy + bma_attach).
 *   soak large OPS [SEED]   one heap of SOAK_LARGE_MIB MiB (default 1024), no
 *                           oracle: the program's own table of live
 *                           allocations says what must succeed; bma_check
 *                           every CHECK_EVERY ops; at the end every live
 *                           allocation is freed and the whole heap is
 *                           allocated in one piece.
 *
 * Both stamp the first 8 bytes of every chunk of every allocation with a
 * pattern of (allocation tag, chunk number) and verify the stamps when the
 * allocation is freed, resized or moved, so overlapping allocations, lost
 * realloc copies and writes into chunk data are caught. The occupancy target
 * drifts between about 20% and 95% so both roomy and ENOMEM-heavy phases
 * occur. Prints a progress line every few seconds and, at the end, ops/s,
 * peak RSS and the final stats. Exits 1 with a message at the first failure.
 * Environment: SOAK_LARGE_MIB, SOAK_CHECK_EVERY, SOAK_STATS_EVERY. */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bitmapalloc.h"
#include "oracle.h"

#define EPOCH_OPS 1000000UL
#define STAMP_MUL UINT64_C(0x9E3779B97F4A7C15)

/* ------------------------------------------------------------ helpers */

static uint64_t rng_state, seed;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Uniform in [0, n); n > 0. */
static size_t below(size_t n) { return (size_t)(rnd() % n); }

static const char *mode_name;
static unsigned long long op_no;

static _Noreturn void die(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "\nsoak %s: FAILED at op %llu (seed %" PRIu64 "): ", mode_name, op_no, seed);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long peak_rss_kib(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
}

/* User + system CPU seconds of this process. */
static double cpu_seconds(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) {
        return 0.0;
    }
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec * 1e-6;
}

static size_t env_size(const char *name, size_t dflt)
{
    const char *v = getenv(name);
    return v != NULL && *v != '\0' ? (size_t)strtoull(v, NULL, 0) : dflt;
}

/* ------------------------------------------------------- live table */

typedef struct live {
    size_t index, count; /* first chunk, chunk count */
    uint64_t tag;
} live;

typedef struct soak {
    unsigned char *buf;
    size_t buf_size;
    bma_heap *h;
    orc_heap *o; /* NULL for the large workload */
    bma_stats geo;
    live *lv;
    size_t nlive, cap, used_chunks;
    uint64_t next_tag;
    /* counters for the summary */
    unsigned long long n_alloc, n_enomem, n_free, n_resize, n_realloc, n_moved, n_bad, n_checks;
} soak;

static unsigned char *chunk_addr(const soak *s, size_t index)
{
    return s->buf + s->geo.chunks_offset + index * s->geo.chunk_size;
}

static void stamp(const soak *s, const live *a, size_t from)
{
    for (size_t k = from; k < a->count; k++) {
        uint64_t w = a->tag ^ ((uint64_t)k * STAMP_MUL);
        memcpy(chunk_addr(s, a->index + k), &w, sizeof w);
    }
}

static void verify(const soak *s, const live *a, size_t upto, const char *what)
{
    for (size_t k = 0; k < upto && k < a->count; k++) {
        uint64_t w, want = a->tag ^ ((uint64_t)k * STAMP_MUL);
        memcpy(&w, chunk_addr(s, a->index + k), sizeof w);
        if (w != want) {
            die("%s: allocation at chunk %zu (%zu chunks, tag %" PRIu64 "): chunk %zu holds %016" PRIx64
                ", expected %016" PRIx64,
                what, a->index, a->count, a->tag, k, w, want);
        }
    }
}

static void live_add(soak *s, size_t index, size_t count)
{
    if (s->nlive == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 1024;
        s->lv = realloc(s->lv, s->cap * sizeof *s->lv);
        if (s->lv == NULL) {
            die("out of memory for the live table");
        }
    }
    live *a = &s->lv[s->nlive++];
    a->index = index;
    a->count = count;
    a->tag = ++s->next_tag * UINT64_C(0xD6E8FEB86659FD93);
    s->used_chunks += count;
    stamp(s, a, 0);
}

static void live_remove(soak *s, size_t j)
{
    s->used_chunks -= s->lv[j].count;
    s->lv[j] = s->lv[--s->nlive];
}

/* ------------------------------------------------------ comparisons */

static size_t ptr_index(const soak *s, const void *p)
{
    const unsigned char *c = p;
    size_t off;
    if (c < s->buf + s->geo.chunks_offset || c >= s->buf + s->geo.buffer_size) {
        die("pointer %p outside the chunk region", p);
    }
    off = (size_t)(c - s->buf) - s->geo.chunks_offset;
    if (off % s->geo.chunk_size != 0) {
        die("pointer %p not on a chunk boundary", p);
    }
    return off / s->geo.chunk_size;
}

static void same_status(const char *call, bma_status got, bma_status want)
{
    if (got != want) {
        die("%s: library says %s, oracle says %s", call, bma_strerror(got), bma_strerror(want));
    }
}

static void compare_stats(soak *s)
{
    bma_stats a, b;
    if (bma_get_stats(s->h, &a) != BMA_OK) {
        die("bma_get_stats failed");
    }
    if (s->o != NULL) {
        orc_get_stats(s->o, &b);
        if (memcmp(&a, &b, sizeof a) != 0) {
            die("stats differ: free %zu/%zu used %zu/%zu live %zu/%zu largest %zu/%zu (library/oracle)", a.free_chunks,
                b.free_chunks, a.used_chunks, b.used_chunks, a.live_allocations, b.live_allocations, a.largest_free_run,
                b.largest_free_run);
        }
    }
    if (a.used_chunks != s->used_chunks || a.live_allocations != s->nlive) {
        die("stats say %zu used chunks in %zu allocations, the table %zu in %zu", a.used_chunks, a.live_allocations,
            s->used_chunks, s->nlive);
    }
}

typedef struct walk_ctx {
    size_t n, cap, *index, *count;
} walk_ctx;

static int walk_fn(size_t index, size_t count, void *ctx)
{
    walk_ctx *w = ctx;
    if (w->n < w->cap) {
        w->index[w->n] = index;
        w->count[w->n] = count;
    }
    w->n++;
    return 0;
}

static int cmp_live(const void *x, const void *y)
{
    const live *a = x, *b = y;
    return a->index < b->index ? -1 : a->index > b->index;
}

/* bma_check, and the walk against the table (and the oracle). */
static void full_check(soak *s)
{
    bma_status st = bma_check(s->h);
    walk_ctx w = {0, s->nlive + 1, NULL, NULL};
    s->n_checks++;
    if (st != BMA_OK) {
        die("bma_check: %s", bma_strerror(st));
    }
    w.index = malloc(w.cap * sizeof *w.index);
    w.count = malloc(w.cap * sizeof *w.count);
    if (w.index == NULL || w.count == NULL) {
        die("out of memory");
    }
    bma_walk(s->h, walk_fn, &w);
    if (w.n != s->nlive) {
        die("bma_walk lists %zu allocations, the table has %zu", w.n, s->nlive);
    }
    qsort(s->lv, s->nlive, sizeof *s->lv, cmp_live);
    for (size_t i = 0; i < s->nlive; i++) {
        if (w.index[i] != s->lv[i].index || w.count[i] != s->lv[i].count) {
            die("walk entry %zu is (%zu, %zu), the table says (%zu, %zu)", i, w.index[i], w.count[i], s->lv[i].index,
                s->lv[i].count);
        }
    }
    if (s->o != NULL) {
        size_t n = orc_walk(s->o, w.index, w.count, w.cap);
        if (n != s->nlive) {
            die("oracle walk lists %zu allocations, the table has %zu", n, s->nlive);
        }
        for (size_t i = 0; i < n; i++) {
            if (w.index[i] != s->lv[i].index || w.count[i] != s->lv[i].count) {
                die("oracle walk entry %zu is (%zu, %zu), the table says (%zu, %zu)", i, w.index[i], w.count[i],
                    s->lv[i].index, s->lv[i].count);
            }
        }
    }
    free(w.index);
    free(w.count);
    compare_stats(s);
}

/* ------------------------------------------------------ the workload */

/* A chunk count: mostly small, sometimes medium, rarely a large part of the heap. */
static size_t draw_count(const soak *s)
{
    size_t r = below(1000), n = s->geo.chunk_count, c;
    if (r < 700) {
        c = 1 + below(8);
    } else if (r < 950) {
        c = 9 + below(248);
    } else if (r < 999) {
        c = 257 + below(8192 - 256);
    } else {
        c = 1 + below(n / 16 + 1);
    }
    return c;
}

static size_t draw_align(void)
{
    size_t r = below(100);
    if (r < 70) {
        return 0;
    }
    if (r < 97) {
        return (size_t)1 << below(13); /* 1 .. 4096 */
    }
    return (size_t)1 << (13 + below(8)); /* 8 KiB .. 1 MiB */
}

/* Bytes for count chunks: anywhere in (count - 1, count] chunks. */
static size_t bytes_for(const soak *s, size_t count) { return count * s->geo.chunk_size - below(s->geo.chunk_size); }

static bool check_align(const soak *s, size_t index, size_t align)
{
    return align == 0 || (s->geo.chunks_offset + index * s->geo.chunk_size) % align == 0;
}

/* The occupancy the workload steers to: a slow wave between ~0.2 and ~0.95. */
static double target_fill(unsigned long long i)
{
    double phase = (double)(i % 2000000ULL) / 2000000.0;
    return 0.575 + 0.375 * sin(phase * 6.283185307179586);
}

static void do_alloc(soak *s)
{
    size_t count = draw_count(s), align = draw_align(), got = 0, oi = 0;
    int kind = (int)below(10);
    bma_status st, ost;
    void *p = NULL;
    if (kind < 6) {
        size_t bytes = bytes_for(s, count);
        st = bma_alloc(s->h, bytes, align, &p);
        if (s->o) {
            ost = orc_alloc(s->o, bytes, align, &oi);
            same_status("bma_alloc", st, ost);
        }
    } else if (kind < 8) {
        /* elem * n == count chunks exactly */
        size_t elem = s->geo.chunk_size >> below(4), n = count * (s->geo.chunk_size / elem);
        st = bma_alloc_array(s->h, elem, n, align, &p);
        if (s->o) {
            ost = orc_alloc_array(s->o, elem, n, align, &oi);
            same_status("bma_alloc_array", st, ost);
        }
    } else {
        align = 0;
        st = bma_alloc_chunks(s->h, count, &got);
        if (s->o) {
            ost = orc_alloc_chunks(s->o, count, &oi);
            same_status("bma_alloc_chunks", st, ost);
        }
        p = st == BMA_OK ? chunk_addr(s, got) : NULL;
    }
    s->n_alloc++;
    if (st == BMA_ENOMEM) {
        s->n_enomem++;
        if (s->o == NULL && count <= 1 && s->used_chunks < s->geo.chunk_count && align == 0) {
            die("one chunk refused with %zu of %zu chunks used", s->used_chunks, s->geo.chunk_count);
        }
        return;
    }
    if (st != BMA_OK) {
        die("allocation of %zu chunks (align %zu): %s", count, align, bma_strerror(st));
    }
    got = ptr_index(s, p);
    if (s->o && got != oi) {
        die("allocation of %zu chunks (align %zu): library gives chunk %zu, oracle %zu", count, align, got, oi);
    }
    if (!check_align(s, got, align)) {
        die("chunk %zu does not meet align %zu", got, align);
    }
    live_add(s, got, count);
}

static void do_free(soak *s)
{
    size_t j = below(s->nlive);
    live a = s->lv[j];
    int kind = (int)below(3);
    bma_status st, ost = BMA_OK;
    void *p = chunk_addr(s, a.index);
    size_t off = (size_t)((unsigned char *)p - s->buf);
    verify(s, &a, a.count, "free");
    if (kind == 0) {
        st = bma_free(s->h, p);
        if (s->o) {
            ost = orc_free(s->o, off);
        }
    } else if (kind == 1) {
        size_t bytes = bytes_for(s, a.count);
        st = bma_free_sized(s->h, p, bytes);
        if (s->o) {
            ost = orc_free_sized(s->o, off, bytes);
        }
    } else {
        st = bma_free_chunks(s->h, a.index, a.count);
        if (s->o) {
            ost = orc_free_chunks(s->o, a.index, a.count);
        }
    }
    if (s->o) {
        same_status("free", st, ost);
    }
    if (st != BMA_OK) {
        die("free of the live allocation at chunk %zu (%zu chunks, kind %d): %s", a.index, a.count, kind,
            bma_strerror(st));
    }
    live_remove(s, j);
    s->n_free++;
}

static void do_resize(soak *s)
{
    size_t j = below(s->nlive), new_count, bytes, oi = 0;
    live *a = &s->lv[j];
    bma_status st, ost;
    void *p = chunk_addr(s, a->index), *q = NULL;
    size_t off = (size_t)((unsigned char *)p - s->buf);
    int realloc_call = below(2) == 0;
    size_t align = realloc_call && below(4) == 0 ? draw_align() : 0;
    new_count = below(2) ? a->count + 1 + below(a->count + 8) : 1 + below(a->count);
    bytes = bytes_for(s, new_count);
    verify(s, a, a->count, "resize");
    if (!realloc_call) {
        s->n_resize++;
        st = bma_resize(s->h, p, bytes);
        if (s->o) {
            ost = orc_resize(s->o, off, bytes);
            same_status("bma_resize", st, ost);
        }
        if (st == BMA_ENOMEM && new_count <= a->count) {
            die("in-place shrink from %zu to %zu chunks refused", a->count, new_count);
        }
        if (st == BMA_OK) {
            size_t old = a->count;
            s->used_chunks = s->used_chunks - old + new_count;
            a->count = new_count;
            stamp(s, a, old < new_count ? old : new_count);
        } else if (st != BMA_ENOMEM) {
            die("bma_resize: %s", bma_strerror(st));
        }
        return;
    }
    s->n_realloc++;
    st = bma_realloc(s->h, p, bytes, align, &q);
    if (s->o) {
        ost = orc_realloc(s->o, off, bytes, align, &oi);
        same_status("bma_realloc", st, ost);
    }
    if (st == BMA_ENOMEM) {
        s->n_enomem++;
        verify(s, a, a->count, "failed realloc");
        return;
    }
    if (st != BMA_OK) {
        die("bma_realloc: %s", bma_strerror(st));
    }
    size_t got = ptr_index(s, q), old = a->count;
    if (s->o && got != oi) {
        die("bma_realloc to %zu chunks (align %zu): library gives chunk %zu, oracle %zu", new_count, align, got, oi);
    }
    if (!check_align(s, got, align)) {
        die("realloc result chunk %zu does not meet align %zu", got, align);
    }
    if (got != a->index) {
        s->n_moved++;
    }
    a->index = got;
    a->count = new_count;
    s->used_chunks = s->used_chunks - old + new_count;
    verify(s, a, old, "realloc copy");
    stamp(s, a, old < new_count ? old : new_count);
}

/* Calls that must be refused and change nothing: an interior pointer, a
 * freed start, a wrong size, a pointer off a chunk boundary. */
static void do_bad(soak *s)
{
    size_t j = below(s->nlive);
    live a = s->lv[j];
    bma_status st, ost = BMA_OK, want;
    int kind = (int)below(4);
    s->n_bad++;
    switch (kind) {
    case 0: /* interior chunk */
        if (a.count < 2) {
            return;
        }
        st = bma_free_chunks(s->h, a.index + 1, a.count - 1);
        want = BMA_EBADPTR;
        if (s->o) {
            ost = orc_free_chunks(s->o, a.index + 1, a.count - 1);
        }
        break;
    case 1: /* wrong count */
        st = bma_free_chunks(s->h, a.index, a.count + 1);
        want = BMA_ESIZE;
        if (s->o) {
            ost = orc_free_chunks(s->o, a.index, a.count + 1);
        }
        break;
    case 2: /* off a chunk boundary */
        st = bma_free(s->h, chunk_addr(s, a.index) + 1 + below(s->geo.chunk_size - 1));
        want = BMA_EBADPTR;
        if (s->o) {
            ost = BMA_EBADPTR;
        }
        break;
    default: { /* the chunk after the allocation, when it is free: a double free */
        size_t i = a.index + a.count;
        if (i >= s->geo.chunk_count || bma_usable_size(s->h, chunk_addr(s, i)) != 0) {
            return; /* past the end, or the start of another allocation */
        }
        st = bma_free_chunks(s->h, i, 1);
        want = BMA_EDOUBLEFREE;
        if (s->o) {
            ost = orc_free_chunks(s->o, i, 1);
        }
        break;
    }
    }
    if (s->o) {
        same_status("refused free", st, ost);
    }
    if (st != want) {
        die("bad free (kind %d) at chunk %zu of %zu: %s, expected %s", kind, a.index, a.count, bma_strerror(st),
            bma_strerror(want));
    }
}

static void do_query(soak *s)
{
    size_t j = below(s->nlive), idx = 0;
    live *a = &s->lv[j];
    void *p = chunk_addr(s, a->index);
    size_t u = bma_usable_size(s->h, p);
    if (u != a->count * s->geo.chunk_size) {
        die("bma_usable_size of chunk %zu is %zu, expected %zu", a->index, u, a->count * s->geo.chunk_size);
    }
    if (s->o && orc_usable_size(s->o, (size_t)((unsigned char *)p - s->buf)) != u) {
        die("orc_usable_size differs");
    }
    if (bma_chunk_index(s->h, p, &idx) != BMA_OK || idx != a->index || bma_chunk_ptr(s->h, idx) != p) {
        die("bma_chunk_index / bma_chunk_ptr disagree at chunk %zu", a->index);
    }
}

static void step(soak *s, unsigned long long i)
{
    double fill = (double)s->used_chunks / (double)s->geo.chunk_count;
    size_t r = below(100);
    if (s->nlive == 0 || (r < 55 && fill < target_fill(i)) || (r < 20)) {
        do_alloc(s);
    } else if (r < 75) {
        do_free(s);
    } else if (r < 93) {
        do_resize(s);
    } else if (r < 97) {
        do_query(s);
    } else {
        do_bad(s);
    }
}

/* ------------------------------------------------------- lifecycles */

static void open_heap(soak *s, size_t chunk_size, size_t buf_size)
{
    s->buf_size = buf_size;
    s->buf = aligned_alloc(4096, (buf_size + 4095) / 4096 * 4096);
    if (s->buf == NULL) {
        die("cannot allocate a %zu-byte buffer", buf_size);
    }
    bma_status st = bma_init(s->buf, buf_size, chunk_size, &s->h);
    if (st != BMA_OK) {
        die("bma_init(%zu bytes, chunk %zu): %s", buf_size, chunk_size, bma_strerror(st));
    }
    bma_get_stats(s->h, &s->geo);
    s->nlive = 0;
    s->used_chunks = 0;
}

static void close_heap(soak *s)
{
    bma_detach(s->h);
    free(s->buf);
    s->buf = NULL;
    s->h = NULL;
}

/* memcpy the heap to a new buffer and attach it there. */
static void relocate(soak *s)
{
    unsigned char *nb = aligned_alloc(4096, (s->buf_size + 4095) / 4096 * 4096);
    bma_heap *nh = NULL;
    if (nb == NULL) {
        die("out of memory");
    }
    bma_detach(s->h); /* the whole buffer becomes readable for memcpy */
    memcpy(nb, s->buf, s->geo.buffer_size);
    free(s->buf);
    bma_status st = bma_attach(nb, s->buf_size, &nh);
    if (st != BMA_OK) {
        die("bma_attach after memcpy: %s", bma_strerror(st));
    }
    s->buf = nb;
    s->h = nh;
    for (size_t i = 0; i < s->nlive; i++) {
        verify(s, &s->lv[i], s->lv[i].count, "relocated");
    }
}

static void print_stats(const soak *s)
{
    bma_stats st;
    bma_get_stats(s->h, &st);
    printf("  final stats: chunk_size %zu, chunk_count %zu, chunks_offset %zu, free %zu, used %zu, live %zu,"
           " largest_free_run %zu, buffer_size %zu, metadata_bytes %zu\n",
           st.chunk_size, st.chunk_count, st.chunks_offset, st.free_chunks, st.used_chunks, st.live_allocations,
           st.largest_free_run, st.buffer_size, st.metadata_bytes);
}

static double t_start, t_last;

static void progress(const soak *s, unsigned long long i, unsigned long long total, int last)
{
    double t = now();
    if (!last && t - t_last < 5.0) {
        return;
    }
    t_last = t;
    fprintf(stderr, "soak %s: %5.1f%% %llu/%llu ops, %.0f ops/s, %zu live, %.1f%% full, %llu ENOMEM, %llu checks\n",
            mode_name, 100.0 * (double)i / (double)total, i, total, (double)i / (t - t_start + 1e-9), s->nlive,
            100.0 * (double)s->used_chunks / (double)s->geo.chunk_count, s->n_enomem, s->n_checks);
}

static void summary(const soak *s, unsigned long long ops)
{
    double secs = now() - t_start, cpu = cpu_seconds();
    printf("soak %s: %llu ops in %.1f s wall, %.1f s CPU: %.0f ops/s wall, %.0f ops/s CPU; peak RSS %ld KiB\n",
           mode_name, ops, secs, cpu, (double)ops / secs, (double)ops / (cpu > 0 ? cpu : 1e-9), peak_rss_kib());
    printf("  calls: %llu allocs (%llu ENOMEM), %llu frees, %llu resizes, %llu reallocs (%llu moved), %llu refused "
           "frees, %llu full checks\n",
           s->n_alloc, s->n_enomem, s->n_free, s->n_resize, s->n_realloc, s->n_moved, s->n_bad, s->n_checks);
}

static void run_small(unsigned long long ops)
{
    static const size_t sizes[] = {8, 16, 32, 64, 128, 256, 512, 1024};
    soak s;
    size_t check_every = env_size("SOAK_CHECK_EVERY", 100000), stats_every = env_size("SOAK_STATS_EVERY", 1000);
    unsigned long long i = 0;
    memset(&s, 0, sizeof s);
    while (i < ops) {
        size_t cs = sizes[below(sizeof sizes / sizeof sizes[0])];
        size_t mib = 2 + below(3), target = mib << 20;
        size_t buf_size = target + below(cs * 64); /* partial last bitmap words */
        unsigned long long end = i + EPOCH_OPS < ops ? i + EPOCH_OPS : ops, mid = i + (end - i) / 2;
        /* keep the oracle's linear scans affordable: at most 64 Ki chunks */
        while (buf_size / cs > 65536) {
            cs *= 2;
        }
        open_heap(&s, cs, buf_size);
        s.o =
            orc_new(s.geo.chunk_size, s.geo.chunk_count, s.geo.chunks_offset, s.geo.buffer_size, s.geo.metadata_bytes);
        if (s.o == NULL) {
            die("orc_new failed");
        }
        for (; i < end; i++) {
            op_no = i;
            step(&s, i);
            if (i % stats_every == 0) {
                compare_stats(&s);
            }
            if (i % check_every == 0) {
                full_check(&s);
            }
            if (i == mid) {
                relocate(&s);
            }
            progress(&s, i, ops, 0);
        }
        full_check(&s);
        if (i >= ops) {
            progress(&s, i, ops, 1);
            summary(&s, ops);
            print_stats(&s);
        }
        while (s.nlive > 0) {
            do_free(&s);
        }
        full_check(&s);
        orc_delete(s.o);
        s.o = NULL;
        close_heap(&s);
    }
    free(s.lv);
}

static void run_large(unsigned long long ops)
{
    soak s;
    size_t mib = env_size("SOAK_LARGE_MIB", 1024), check_every = env_size("SOAK_CHECK_EVERY", 100000);
    size_t buf_size = mib << 20, whole = 0;
    unsigned long long i;
    void *p = NULL;
    memset(&s, 0, sizeof s);
    open_heap(&s, 64, buf_size);
    for (i = 0; i < ops; i++) {
        op_no = i;
        step(&s, i);
        if (i % check_every == 0) {
            full_check(&s);
        }
        progress(&s, i, ops, 0);
    }
    full_check(&s);
    progress(&s, i, ops, 1);
    summary(&s, ops);
    print_stats(&s);
    /* free everything, verifying every stamp */
    while (s.nlive > 0) {
        do_free(&s);
    }
    full_check(&s);
    bma_stats st;
    bma_get_stats(s.h, &st);
    if (st.free_chunks != st.chunk_count || st.largest_free_run != st.chunk_count || st.live_allocations != 0) {
        die("after freeing everything: %zu of %zu chunks free, largest run %zu, %zu live", st.free_chunks,
            st.chunk_count, st.largest_free_run, st.live_allocations);
    }
    /* the whole heap in one piece */
    whole = st.chunk_count * st.chunk_size;
    bma_status r = bma_alloc(s.h, whole, 0, &p);
    if (r != BMA_OK || p != chunk_addr(&s, 0) || bma_usable_size(s.h, p) != whole) {
        die("allocating the whole heap (%zu bytes) in one piece: %s", whole, bma_strerror(r));
    }
    live_add(&s, 0, st.chunk_count);
    full_check(&s);
    do_free(&s);
    full_check(&s);
    printf("  end: every allocation freed and verified; the whole heap (%zu chunks) allocated in one piece, "
           "verified and freed\n",
           st.chunk_count);
    close_heap(&s);
    free(s.lv);
}

int main(int argc, char **argv)
{
    unsigned long long ops;
    if (argc < 3 || (strcmp(argv[1], "small") != 0 && strcmp(argv[1], "large") != 0)) {
        fprintf(stderr, "usage: %s small|large OPS [SEED]\n", argv[0]);
        return 2;
    }
    mode_name = argv[1];
    ops = strtoull(argv[2], NULL, 0);
    seed = rng_state = argc > 3 ? strtoull(argv[3], NULL, 0) : 1;
    printf("soak %s: %llu ops, seed %" PRIu64 "\n", mode_name, ops, seed);
    fflush(stdout);
    t_start = t_last = now();
    if (mode_name[0] == 's') {
        run_small(ops);
    } else {
        run_large(ops);
    }
    return 0;
}

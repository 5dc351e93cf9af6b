/* bma-bench: replays pre-generated allocation traces against this library,
 * the baseline (Ghostty's original search, baseline.c), glibc malloc, and
 * jemalloc / mimalloc when installed, and reports median ns/op.
 *
 *   bma-bench [--reps N] [--quick] [--scale-max K] [--scale-step S]
 *             [--min-ms M] [--seed S] [--only terminal,mixed,scale] [--out DIR]
 *   bma-bench --verify
 *
 * Workloads (see the README's Performance section and scripts/bench.sh):
 *   terminal  chunk 16 B, heaps of 8..64 KiB, graphemes of 1..16 chunks grown
 *             by alloc(len + 1) / copy / free, about half full;
 *   mixed     chunk 64 B, a 64 MiB heap, log-uniform 1..1024 chunks with
 *             random frees, about 70% full;
 *   scale     heaps of 2^12..2^24 chunks of 16 B where every bitmap word holds
 *             one used chunk (free runs of 63, none of 65) and only a free
 *             tail at the end fits 65 chunks; each timed op is alloc(65 chunks)
 *             then its free, so the state never changes.
 * Every repetition replays the whole trace from a fresh heap; the contenders
 * take turns within each repetition so that machine noise spreads over all of
 * them, and a first, discarded repetition warms caches and faults in pages.
 */
#define _GNU_SOURCE /* clock_gettime, posix_memalign */

#include "bench.h"
#include "baseline.h"
#include "bitmapalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BENCH_ASAN 1
#endif
#endif

#define MAX_CONTENDERS 8
#define MAX_REPS 64
#define SCALE_CHUNK 16u
#define SCALE_REQUEST 65u /* one more than a bitmap word: no in-word fit exists */
#define SCALE_KEEP 32u    /* the used chunk each word keeps */
#define SCALE_TAIL 256u   /* free chunks at the end, the only place 65 fit */
#define SCALE_MIN_LOG2 12u

typedef struct options {
    unsigned reps, scale_max, scale_step;
    double min_ms;
    uint64_t seed;
    size_t terminal_ops, mixed_ops;
    bool quick, verify, run_terminal, run_mixed, run_scale;
    const char *out_dir;
} options;

/* One contender's result on one workload. */
typedef struct row {
    bool available;
    const char *why;
    double median, min, max; /* ns per timed op */
    size_t enomem, setup_enomem;
} row;

typedef struct result {
    char name[48], desc[160];
    size_t timed_ops;
    row rows[MAX_CONTENDERS];
} result;

typedef struct scale_point {
    unsigned log2;
    size_t chunks, iters[2];
    double median[2], min[2], max[2]; /* [0] library, [1] baseline */
} scale_point;

static const bench_contender *const *contenders;
static size_t n_contenders;

/* ------------------------------------------------------------ helpers */

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1u, size);
    if (p == NULL) {
        fputs("bench: out of memory\n", stderr);
        exit(2);
    }
    return p;
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median, min and max of v[0, n); sorts v. */
static void summarise(double *v, size_t n, double *median, double *min, double *max)
{
    qsort(v, n, sizeof *v, cmp_double);
    *median = n % 2u ? v[n / 2u] : (v[n / 2u - 1u] + v[n / 2u]) / 2.0;
    *min = v[0];
    *max = v[n - 1u];
}

/* Chunk count of a library heap in a buffer of buf_size bytes: the fixed
 * heaps of the terminal and mixed workloads get exactly this many chunks. */
static size_t lib_chunks_in(size_t buf_size, size_t chunk_size)
{
    void *buf = NULL;
    bma_heap *h;
    bma_stats st;
    size_t count;
    if (posix_memalign(&buf, 4096, buf_size) != 0 || bma_init(buf, buf_size, chunk_size, &h) != BMA_OK ||
        bma_get_stats(h, &st) != BMA_OK) {
        fputs("bench: cannot size a library heap\n", stderr);
        exit(2);
    }
    count = st.chunk_count;
    free(buf);
    return count;
}

/* Metadata bits per chunk of a library heap of chunk_count chunks. The
 * buffer is never written past the metadata, so even 256 MiB costs only the
 * pages bma_init touches. */
static double lib_meta_bits(size_t chunk_size, size_t chunk_count, size_t *meta_bytes)
{
    size_t size;
    void *buf = NULL;
    bma_heap *h;
    bma_stats st;
    double bits = -1.0;
    if (bma_buffer_size(chunk_size, chunk_count * chunk_size, &size) == BMA_OK &&
        posix_memalign(&buf, 4096, size) == 0 && bma_init(buf, size, chunk_size, &h) == BMA_OK &&
        bma_get_stats(h, &st) == BMA_OK) {
        bits = (double)st.metadata_bytes * 8.0 / (double)st.chunk_count;
        *meta_bytes = st.metadata_bytes;
    }
    free(buf);
    return bits;
}

/* ----------------------------------------------------- trace workloads */

static void run_workload(const bench_workload *w, const options *o, result *res)
{
    void *self[MAX_CONTENDERS];
    double samples[MAX_CONTENDERS][MAX_REPS];
    bench_slot *slots = xcalloc(w->slots, sizeof *slots);
    size_t timed = w->trace.len - w->prefix, c, j;
    int rep;

    snprintf(res->name, sizeof res->name, "%s", w->name);
    snprintf(res->desc, sizeof res->desc, "%s", w->desc);
    res->timed_ops = timed;
    for (c = 0; c < n_contenders; c++) {
        const char *why = NULL;
        self[c] = contenders[c]->create(w->chunk_size, w->chunk_count, &why);
        res->rows[c].available = self[c] != NULL;
        res->rows[c].why = why;
    }
    /* rep -1 is the warm-up; the starting contender rotates per rep. */
    for (rep = -1; rep < (int)o->reps; rep++) {
        for (j = 0; j < n_contenders; j++) {
            const bench_contender *ct;
            double t0, t1;
            size_t setup_fail, fail;
            c = (j + (size_t)(rep + 1)) % n_contenders;
            ct = contenders[c];
            if (self[c] == NULL) {
                continue;
            }
            ct->reset(self[c]);
            memset(slots, 0, w->slots * sizeof *slots);
            setup_fail = ct->replay(self[c], w->trace.ops, w->prefix, slots, w->chunk_size);
            t0 = now_ns();
            fail = ct->replay(self[c], w->trace.ops + w->prefix, timed, slots, w->chunk_size);
            t1 = now_ns();
            (void)ct->replay(self[c], w->teardown.ops, w->teardown.len, slots, w->chunk_size);
            if (!ct->fixed_heap && (fail != 0 || setup_fail != 0)) {
                fprintf(stderr, "bench: %s returned NULL\n", ct->name);
                exit(2);
            }
            if (rep >= 0) {
                samples[c][rep] = (t1 - t0) / (double)timed;
                res->rows[c].enomem = fail;
                res->rows[c].setup_enomem = setup_fail;
            }
        }
    }
    for (c = 0; c < n_contenders; c++) {
        if (self[c] != NULL) {
            summarise(samples[c], o->reps, &res->rows[c].median, &res->rows[c].min, &res->rows[c].max);
            contenders[c]->destroy(self[c]);
        }
    }
    free(slots);
}

static void print_result(const result *r, unsigned reps)
{
    const row *lib = &r->rows[BENCH_LIB];
    size_t c;
    printf("\n== %s: %s\n   %zu timed ops, median of %u repetitions\n", r->name, r->desc, r->timed_ops, reps);
    printf("   %-12s %10s %10s %10s %12s %10s\n", "contender", "ns/op", "min", "max", "vs library", "ENOMEM");
    for (c = 0; c < n_contenders; c++) {
        const row *x = &r->rows[c];
        if (!x->available) {
            printf("   %-12s unavailable (%s)\n", contenders[c]->name, x->why ? x->why : "?");
            continue;
        }
        printf("   %-12s %10.2f %10.2f %10.2f %11.2fx", contenders[c]->name, x->median, x->min, x->max,
               x->median / lib->median);
        if (contenders[c]->fixed_heap) {
            printf(" %10zu", x->enomem);
            if (x->setup_enomem != 0) {
                printf(" (+%zu in setup)", x->setup_enomem);
            }
        } else {
            printf(" %10s", "n/a");
        }
        putchar('\n');
    }
}

/* --------------------------------------------------------------- scale */

static void run_pairs(const bench_contender *ct, void *self, const bench_trace *pairs, size_t iters, bench_slot *slot)
{
    size_t per_pass = pairs->len / 2u, failed = 0;
    for (; iters >= per_pass; iters -= per_pass) {
        failed += ct->replay(self, pairs->ops, pairs->len, slot, SCALE_CHUNK);
    }
    failed += ct->replay(self, pairs->ops, 2u * iters, slot, SCALE_CHUNK);
    if (failed != 0) {
        fprintf(stderr, "bench: %s: a 65-chunk request failed in the scale workload\n", ct->name);
        exit(2);
    }
}

/* Untimed: the first 65-chunk request must land where the fragmentation
 * says, 31 chunks before the tail (the free top of the last kept word). */
static void check_scale_state(const bench_contender *ct, void *self, const bench_trace *pairs, size_t chunks)
{
    bench_slot slot = {NULL, 0};
    size_t expect = chunks - SCALE_TAIL - (63u - SCALE_KEEP), got;
    (void)ct->replay(self, pairs->ops, 1, &slot, SCALE_CHUNK);
    got = slot.p == NULL ? SIZE_MAX
                         : (size_t)((unsigned char *)slot.p - (unsigned char *)ct->chunk_base(self)) / SCALE_CHUNK;
    if (got != expect) {
        fprintf(stderr, "bench: %s: scale setup wrong: first fit of 65 at %zu, expected %zu\n", ct->name, got, expect);
        exit(2);
    }
    (void)ct->replay(self, pairs->ops + 1, 1, &slot, SCALE_CHUNK);
}

static size_t run_scale(const options *o, scale_point *pts)
{
    const bench_contender *ct[2] = {contenders[BENCH_LIB], contenders[BENCH_BASELINE]};
    bench_trace pairs = {NULL, 0, 0};
    double min_ns = o->min_ms * 1e6;
    size_t n = 0;
    unsigned k;
    bench_gen_pairs(&pairs, 1024, SCALE_REQUEST);
    for (k = SCALE_MIN_LOG2; k <= o->scale_max; k += o->scale_step) {
        scale_point *p = &pts[n++];
        double samples[2][MAX_REPS];
        void *self[2];
        bench_slot slot = {NULL, 0};
        size_t i;
        int rep;
        p->log2 = k;
        p->chunks = (size_t)1 << k;
        for (i = 0; i < 2; i++) {
            const char *why = NULL;
            double t0, t;
            self[i] = ct[i]->create(SCALE_CHUNK, p->chunks, &why);
            if (self[i] == NULL) {
                fprintf(stderr, "bench: %s: cannot create a heap of 2^%u chunks: %s\n", ct[i]->name, k, why);
                exit(2);
            }
            ct[i]->fragment(self[i], SCALE_KEEP, SCALE_TAIL);
            check_scale_state(ct[i], self[i], &pairs, p->chunks);
            /* Calibrate: grow the op count until one repetition takes at
             * least min_ms (the baseline at 2^24 needs only a few hundred).
             * This also serves as the warm-up. */
            p->iters[i] = 1;
            for (;;) {
                t0 = now_ns();
                run_pairs(ct[i], self[i], &pairs, p->iters[i], &slot);
                t = now_ns() - t0;
                if (t >= min_ns) {
                    break;
                }
                p->iters[i] = (size_t)((double)p->iters[i] * (t < min_ns / 100.0 ? 100.0 : 1.25 * min_ns / t)) + 1u;
            }
        }
        for (rep = 0; rep < (int)o->reps; rep++) {
            for (i = 0; i < 2; i++) {
                size_t x = (i + (size_t)rep) % 2u;
                double t0 = now_ns();
                run_pairs(ct[x], self[x], &pairs, p->iters[x], &slot);
                samples[x][rep] = (now_ns() - t0) / (double)p->iters[x];
            }
        }
        for (i = 0; i < 2; i++) {
            summarise(samples[i], o->reps, &p->median[i], &p->min[i], &p->max[i]);
            ct[i]->destroy(self[i]);
        }
        printf("   2^%-2u %10zu %12.1f %12.1f %12.1fx %8zu %8zu\n", k, p->chunks, p->median[0], p->median[1],
               p->median[1] / p->median[0], p->iters[0], p->iters[1]);
        fflush(stdout);
    }
    bench_trace_free(&pairs);
    return n;
}

/* -------------------------------------------------------------- verify */

/* Lowest i with [i, i + n) free in the shadow map; within_word restricts the
 * run to one 64-chunk word, as the original's n <= 64 search does. SIZE_MAX
 * if none. */
static size_t shadow_fit(const unsigned char *used, size_t count, size_t n, bool within_word)
{
    size_t i, run = 0;
    for (i = 0; i < count; i++) {
        if (within_word && i % 64u == 0) {
            run = 0;
        }
        run = used[i] ? 0 : run + 1u;
        if (run == n) {
            return i + 1u - n;
        }
    }
    return SIZE_MAX;
}

typedef struct verify_counts {
    size_t allocs, same, both_none, by_design, frees, mismatches;
} verify_counts;

/* An index for messages: -1 for "none". */
static long long shown(size_t index) { return index == SIZE_MAX ? -1LL : (long long)index; }

static void verify_fail(verify_counts *vc, const char *what, size_t count, size_t n, size_t lib, size_t base,
                        size_t expect)
{
    if (vc->mismatches++ < 10u) {
        fprintf(stderr, "verify: %s (heap %zu chunks, n=%zu): library %lld, baseline %lld, expected %lld\n", what,
                count, n, shown(lib), shown(base), shown(expect));
    }
}

/* Drives the library and the baseline through one random trace, keeping
 * both heaps in the same state, and checks each against a shadow map:
 * the library must give exact first fit; the baseline must give the
 * in-word first fit for n <= 64 and exact first fit for n > 64, never an
 * out-of-range or overlapping run; and the two must return the same index
 * whenever the library's run lies inside one word (then the in-word search
 * must find it too). When they differ by design (the library's run
 * straddles a word), both allocations are undone so the heaps stay equal. */
static void verify_heap(size_t count, uint64_t seed, size_t steps, verify_counts *vc)
{
    const size_t cs = 16;
    size_t buf_size, step, n_live = 0, i;
    void *buf = NULL;
    bma_heap *h;
    baseline_heap bl;
    bench_rng rng;
    unsigned char *used = xcalloc(count, 1);
    size_t *live_at = xcalloc(count, sizeof *live_at), *live_n = xcalloc(count, sizeof *live_n);
    size_t in_use = 0;

    if (bma_buffer_size(cs, count * cs, &buf_size) != BMA_OK || posix_memalign(&buf, 64, buf_size) != 0 ||
        bma_init(buf, buf_size, cs, &h) != BMA_OK || !baseline_create(&bl, cs, count)) {
        fputs("verify: setup failed\n", stderr);
        exit(2);
    }
    bench_rng_seed(&rng, seed);
    for (step = 0; step < steps; step++) {
        double fill = (double)in_use / (double)count;
        if (n_live > 0 && bench_rng_unit(&rng) < fill) {
            size_t j = (size_t)bench_rng_below(&rng, n_live), at = live_at[j], n = live_n[j];
            if (bma_free_chunks(h, at, n) != BMA_OK) {
                verify_fail(vc, "library free failed", count, n, at, at, at);
            }
            baseline_free_chunks(&bl, at, n);
            memset(used + at, 0, n);
            in_use -= n;
            live_at[j] = live_at[n_live - 1u];
            live_n[j] = live_n[--n_live];
            vc->frees++;
        } else {
            double r = bench_rng_unit(&rng);
            size_t n = r < 0.6   ? 1u + (size_t)bench_rng_below(&rng, 8)
                       : r < 0.9 ? 9u + (size_t)bench_rng_below(&rng, 56)
                                 : 65u + (size_t)bench_rng_below(&rng, count / 4u);
            size_t exact = shadow_fit(used, count, n, false);
            size_t expect_base = n <= 64u ? shadow_fit(used, count, n, true) : exact;
            size_t li = SIZE_MAX, bi = SIZE_MAX;
            bool lib_ok = bma_alloc_chunks(h, n, &li) == BMA_OK;
            bool base_ok = baseline_alloc_chunks(&bl, n, &bi);
            vc->allocs++;
            if (!lib_ok) {
                li = SIZE_MAX;
            }
            if (!base_ok) {
                bi = SIZE_MAX;
            }
            if (li != exact) {
                verify_fail(vc, "library is not exact first fit", count, n, li, bi, exact);
            }
            if (bi != expect_base) {
                verify_fail(vc, "baseline differs from its own rule", count, n, li, bi, expect_base);
            }
            if (base_ok) {
                bool overlap = bi > count || n > count - bi;
                for (i = 0; !overlap && i < n; i++) {
                    overlap = used[bi + i] != 0;
                }
                if (overlap) {
                    verify_fail(vc, "baseline run out of range or overlapping", count, n, li, bi, expect_base);
                    base_ok = false; /* do not free what it does not own */
                }
            }
            if (lib_ok && base_ok && li == bi) {
                vc->same++;
                memset(used + li, 1, n);
                in_use += n;
                live_at[n_live] = li;
                live_n[n_live++] = n;
            } else if (!lib_ok && !base_ok) {
                vc->both_none++;
            } else {
                /* Allowed only when the library's run straddles a word and
                 * n <= 64 (the baseline cannot see it). */
                if (!lib_ok || n > 64u || li % 64u + n <= 64u) {
                    verify_fail(vc, "library and baseline disagree where they must agree", count, n, li, bi, exact);
                } else {
                    vc->by_design++;
                }
                if (lib_ok && bma_free_chunks(h, li, n) != BMA_OK) {
                    verify_fail(vc, "library undo failed", count, n, li, bi, exact);
                }
                if (base_ok) {
                    baseline_free_chunks(&bl, bi, n);
                }
            }
        }
        if (step % 1024u == 0) {
            bma_stats st;
            if (bma_check(h) != BMA_OK || bma_get_stats(h, &st) != BMA_OK || st.used_chunks != in_use) {
                verify_fail(vc, "library state differs from the shadow", count, 0, 0, 0, 0);
            }
            for (i = 0; i < count; i++) {
                bool base_free = (bl.bitmap[i / 64u] >> (i % 64u)) & 1u;
                if (base_free == (used[i] != 0)) {
                    verify_fail(vc, "baseline bitmap differs from the shadow", count, 0, i, i, i);
                    break;
                }
            }
        }
    }
    baseline_destroy(&bl);
    free(buf);
    free(used);
    free(live_at);
    free(live_n);
}

static int run_verify(uint64_t seed)
{
    static const size_t sizes[] = {64, 100, 300, 1000, 1024, 4096};
    verify_counts vc = {0, 0, 0, 0, 0, 0};
    size_t i;
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        verify_heap(sizes[i], seed + i, 40000, &vc);
    }
    printf("verify: %zu allocations, %zu frees on heaps of 64..4096 chunks\n", vc.allocs, vc.frees);
    printf("verify:   same index from library and baseline: %zu\n", vc.same);
    printf("verify:   both ENOMEM:                          %zu\n", vc.both_none);
    printf("verify:   differ by design (library run straddles a word, n <= 64): %zu\n", vc.by_design);
    printf("verify:   mismatches: %zu\n", vc.mismatches);
    printf("verify: %s\n", vc.mismatches == 0 ? "OK" : "FAILED");
    return vc.mismatches == 0 ? 0 : 1;
}

/* -------------------------------------------------------------- report */

static const char *met(bool ok) { return ok ? "MET" : "NOT MET"; }

typedef struct targets {
    bool have_terminal, have_mixed, have_scale, scale_full;
    double terminal_worst, mixed, growth, vs_baseline;
    const char *terminal_worst_at; /* points into the results */
    unsigned scale_top;
} targets;

static targets evaluate(const result *res, size_t n_res, const scale_point *pts, size_t n_pts)
{
    targets t;
    size_t i;
    memset(&t, 0, sizeof t);
    for (i = 0; i < n_res; i++) {
        double ratio = res[i].rows[BENCH_LIB].median / res[i].rows[BENCH_GLIBC].median;
        if (strncmp(res[i].name, "terminal", 8) == 0) {
            if (!t.have_terminal || ratio > t.terminal_worst) {
                t.terminal_worst = ratio;
                t.terminal_worst_at = res[i].name;
            }
            t.have_terminal = true;
        } else if (strcmp(res[i].name, "mixed") == 0) {
            t.mixed = ratio;
            t.have_mixed = true;
        }
    }
    if (n_pts > 0) {
        const scale_point *lo = &pts[0], *hi = &pts[n_pts - 1u];
        t.have_scale = true;
        t.scale_top = hi->log2;
        t.scale_full = lo->log2 == 12u && hi->log2 == 24u;
        t.growth = hi->median[0] / lo->median[0];
        t.vs_baseline = hi->median[1] / hi->median[0];
    }
    return t;
}

static void print_targets(FILE *f, const targets *t, bool md)
{
    const char *item = md ? "- " : "TARGET ";
    if (t->have_terminal) {
        fprintf(f, "%sterminal: bitmapalloc at most 0.6x glibc per op: worst %.2fx (%s) -> %s\n", item,
                t->terminal_worst, t->terminal_worst_at, met(t->terminal_worst <= 0.6));
    }
    if (t->have_mixed) {
        fprintf(f, "%smixed: bitmapalloc no slower than glibc: %.2fx -> %s\n", item, t->mixed, met(t->mixed <= 1.0));
    }
    if (t->have_scale) {
        fprintf(f, "%sscale: ns/op at 2^%u within 3x of ns/op at 2^12: growth %.2fx -> %s%s\n", item, t->scale_top,
                t->growth, met(t->growth <= 3.0), t->scale_full ? "" : " (partial range: not the full 2^12..2^24)");
        fprintf(f, "%sscale: at 2^%u at least 1000x faster than the baseline: %.1fx -> %s%s\n", item, t->scale_top,
                t->vs_baseline, met(t->vs_baseline >= 1000.0), t->scale_full ? "" : " (partial range)");
    }
}

static void write_markdown(const char *dir, const options *o, const result *res, size_t n_res, const scale_point *pts,
                           size_t n_pts, const targets *t, const char *meta)
{
    char path[4096];
    FILE *f;
    size_t i, c;
    snprintf(path, sizeof path, "%s/table.md", dir);
    f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "bench: cannot write %s: %s\n", path, strerror(errno));
        return;
    }
    if (n_res > 0) {
        fprintf(f,
                "Median ns per operation over %u repetitions (in parentheses: contender time / bitmapalloc time; "
                "lower is faster).\n\n| workload |",
                o->reps);
        for (c = 0; c < n_contenders; c++) {
            fprintf(f, " %s |", contenders[c]->name);
        }
        fputs("\n|---|", f);
        for (c = 0; c < n_contenders; c++) {
            fputs("---:|", f);
        }
        fputc('\n', f);
        for (i = 0; i < n_res; i++) {
            fprintf(f, "| %s |", res[i].name);
            for (c = 0; c < n_contenders; c++) {
                const row *x = &res[i].rows[c];
                if (!x->available) {
                    fputs(" n/a |", f);
                } else if (c == BENCH_LIB) {
                    fprintf(f, " %.1f |", x->median);
                } else {
                    fprintf(f, " %.1f (%.2fx) |", x->median, x->median / res[i].rows[BENCH_LIB].median);
                }
            }
            fputc('\n', f);
        }
        fputs("\nWorkloads:\n\n", f);
        for (i = 0; i < n_res; i++) {
            fprintf(f, "- **%s**: %s; %zu timed ops; ENOMEM (skipped) bitmapalloc %zu, baseline %zu.\n", res[i].name,
                    res[i].desc, res[i].timed_ops, res[i].rows[BENCH_LIB].enomem, res[i].rows[BENCH_BASELINE].enomem);
        }
    }
    if (n_pts > 0) {
        fputs("\nScale: heaps of 16-byte chunks where every bitmap word holds a used chunk and only the end fits "
              "65 chunks; one op is alloc(65 chunks) + free. Plot: `scale.png`.\n\n"
              "| chunks | bitmapalloc ns/op | baseline ns/op | baseline / bitmapalloc |\n|---:|---:|---:|---:|\n",
              f);
        for (i = 0; i < n_pts; i++) {
            fprintf(f, "| 2^%u | %.1f | %.1f | %.1fx |\n", pts[i].log2, pts[i].median[0], pts[i].median[1],
                    pts[i].median[1] / pts[i].median[0]);
        }
    }
    fprintf(f, "\nMetadata: %s\n\nTargets:\n\n", meta);
    print_targets(f, t, true);
    fclose(f);
}

static void write_plot(const char *dir, const scale_point *pts, size_t n_pts)
{
    char path[4096];
    FILE *f;
    size_t i;
    snprintf(path, sizeof path, "%s/scale.dat", dir);
    f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "bench: cannot write %s: %s\n", path, strerror(errno));
        return;
    }
    fputs("# log2_chunks chunks bitmapalloc_ns baseline_ns\n", f);
    for (i = 0; i < n_pts; i++) {
        fprintf(f, "%u %zu %.3f %.3f\n", pts[i].log2, pts[i].chunks, pts[i].median[0], pts[i].median[1]);
    }
    fclose(f);
    /* Paths are relative: scripts/bench.sh runs gnuplot inside the directory. */
    snprintf(path, sizeof path, "%s/scale.gp", dir);
    f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "bench: cannot write %s: %s\n", path, strerror(errno));
        return;
    }
    fputs("set terminal pngcairo size 900,600 enhanced\n"
          "set output 'scale.png'\n"
          "set title 'alloc(65 chunks) + free in a fragmented heap (every bitmap word holds a used chunk)'\n"
          "set xlabel 'heap size (16-byte chunks)'\n"
          "set ylabel 'median ns per op'\n"
          "set logscale x 2\n"
          "set logscale y 10\n"
          "set format x '2^{%L}'\n"
          "set format y '10^{%L}'\n"
          "set xrange [2**11.5:2**24.5]\n"
          "set xtics 4096, 4\n"
          "set grid\n"
          "set key top left\n"
          "plot 'scale.dat' using 2:3 with linespoints lw 2 pt 7 title 'bitmapalloc', \\\n"
          "     'scale.dat' using 2:4 with linespoints lw 2 pt 5 title 'baseline (Ghostty findFreeChunks)'\n",
          f);
    fclose(f);
}

/* ---------------------------------------------------------------- main */

static void usage(void)
{
    fputs("usage: bma-bench [--reps N] [--quick] [--scale-max K] [--scale-step S] [--min-ms M]\n"
          "                 [--seed S] [--only terminal,mixed,scale] [--out DIR]\n"
          "       bma-bench --verify\n",
          stderr);
    exit(2);
}

static unsigned long parse_num(const char *s)
{
    char *end;
    unsigned long v;
    errno = 0;
    v = strtoul(s, &end, 0);
    if (errno != 0 || end == s || *end != '\0') {
        usage();
    }
    return v;
}

static options parse(int argc, char **argv)
{
    options o;
    int i;
    memset(&o, 0, sizeof o);
    o.reps = 7;
    o.scale_max = 24;
    o.scale_step = 1;
    o.min_ms = 50.0;
    o.seed = 0x424D41u;
    o.terminal_ops = 400000;
    o.mixed_ops = 200000;
    o.run_terminal = o.run_mixed = o.run_scale = true;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--verify") == 0) {
            o.verify = true;
        } else if (strcmp(a, "--quick") == 0) {
            o.quick = true;
        } else if (v == NULL) {
            usage();
        } else if (strcmp(a, "--reps") == 0) {
            o.reps = (unsigned)parse_num(v), i++;
        } else if (strcmp(a, "--scale-max") == 0) {
            o.scale_max = (unsigned)parse_num(v), i++;
        } else if (strcmp(a, "--scale-step") == 0) {
            o.scale_step = (unsigned)parse_num(v), i++;
        } else if (strcmp(a, "--min-ms") == 0) {
            o.min_ms = (double)parse_num(v), i++;
        } else if (strcmp(a, "--seed") == 0) {
            o.seed = (uint64_t)parse_num(v), i++;
        } else if (strcmp(a, "--out") == 0) {
            o.out_dir = v, i++;
        } else if (strcmp(a, "--only") == 0) {
            o.run_terminal = strstr(v, "terminal") != NULL;
            o.run_mixed = strstr(v, "mixed") != NULL;
            o.run_scale = strstr(v, "scale") != NULL;
            i++;
        } else {
            usage();
        }
    }
    if (o.quick) {
        /* A smoke run: small traces, small scale range, short repetitions. */
        o.terminal_ops = 50000;
        o.mixed_ops = 20000;
        o.scale_max = o.scale_max < 16u ? o.scale_max : 16u;
        o.min_ms = 5.0;
        o.reps = o.reps < 5u ? o.reps : 5u;
    }
    if (o.reps < 1u || o.reps > MAX_REPS || o.scale_step < 1u || o.scale_max > 30u || o.min_ms <= 0.0) {
        usage();
    }
    return o;
}

int main(int argc, char **argv)
{
    static const size_t terminal_kib[] = {8, 16, 32, 64};
    result res[8];
    scale_point pts[32];
    size_t n_res = 0, n_pts = 0, i;
    char meta[512];
    size_t meta_len = 0;
    targets t;
    options o = parse(argc, argv);

    if (o.verify) {
        return run_verify(o.seed);
    }
    bench_prepare_process(argv);
    contenders = bench_contenders(&n_contenders);

    printf("bma-bench: bitmapalloc %s, %s; malloc resolves to %s\n", BMA_VERSION_STRING,
#if defined(__SANITIZE_ADDRESS__) || defined(BENCH_ASAN)
           "SANITIZER BUILD: numbers are meaningless",
#elif defined(__OPTIMIZE__) && defined(NDEBUG)
           "optimised build",
#elif defined(__OPTIMIZE__)
           "optimised build (assertions on)",
#else
           "UNOPTIMISED BUILD: numbers are meaningless",
#endif
           bench_malloc_origin());
    if (getenv(BENCH_TLS_MARK) != NULL) {
        printf("note: re-executed with GLIBC_TUNABLES=%s so that jemalloc's static TLS fits a dlopen\n",
               getenv("GLIBC_TUNABLES") ? getenv("GLIBC_TUNABLES") : "?");
    }
    if (o.reps < 5u) {
        printf("warning: %u repetitions; use at least 5 for numbers worth quoting\n", o.reps);
    }

    for (i = 0; o.run_terminal && i < sizeof terminal_kib / sizeof terminal_kib[0]; i++) {
        bench_workload w;
        memset(&w, 0, sizeof w);
        snprintf(w.name, sizeof w.name, "terminal %zu KiB", terminal_kib[i]);
        w.chunk_size = 16;
        w.chunk_count = lib_chunks_in(terminal_kib[i] * 1024u, w.chunk_size);
        w.target_fill = 0.5;
        snprintf(w.desc, sizeof w.desc,
                 "chunk 16 B, %zu KiB heap (%zu chunks), graphemes of 1..16 chunks grown by alloc(len+1)/copy/free, "
                 "~50%% full",
                 terminal_kib[i], w.chunk_count);
        bench_gen_terminal(&w, o.terminal_ops, o.seed + i);
        run_workload(&w, &o, &res[n_res]);
        print_result(&res[n_res++], o.reps);
        bench_trace_free(&w.trace);
        bench_trace_free(&w.teardown);
        fflush(stdout);
    }
    if (o.run_mixed) {
        bench_workload w;
        memset(&w, 0, sizeof w);
        snprintf(w.name, sizeof w.name, "mixed");
        w.chunk_size = 64;
        w.chunk_count = lib_chunks_in((size_t)64 << 20, w.chunk_size);
        w.target_fill = 0.7;
        snprintf(w.desc, sizeof w.desc,
                 "chunk 64 B, 64 MiB heap (%zu chunks), log-uniform 1..1024 chunks, random frees, ~70%% full",
                 w.chunk_count);
        bench_gen_mixed(&w, o.mixed_ops, o.seed + 100u);
        run_workload(&w, &o, &res[n_res]);
        print_result(&res[n_res++], o.reps);
        bench_trace_free(&w.trace);
        bench_trace_free(&w.teardown);
        fflush(stdout);
    }
    if (o.run_scale) {
        printf("\n== scale: alloc(65 chunks) + free per op, chunk 16 B, every word holds a used chunk, free tail of "
               "%u chunks\n   median of %u repetitions of >= %.0f ms each\n",
               SCALE_TAIL, o.reps, o.min_ms);
        printf("   %-4s %10s %12s %12s %13s %8s %8s\n", "heap", "chunks", "bitmapalloc", "baseline", "base/lib",
               "ops(lib)", "ops(base)");
        n_pts = run_scale(&o, pts);
        if (n_pts > 0) {
            printf("   growth: bitmapalloc ns/op at 2^%u / at 2^%u = %.2fx; baseline / bitmapalloc at 2^%u = %.1fx\n",
                   pts[n_pts - 1u].log2, pts[0].log2, pts[n_pts - 1u].median[0] / pts[0].median[0],
                   pts[n_pts - 1u].log2, pts[n_pts - 1u].median[1] / pts[n_pts - 1u].median[0]);
        }
    }

    /* Memory overhead: the library's metadata (header, bitmaps, any index,
     * padding to the first chunk) in bits per chunk. */
    {
        const size_t geo[][2] = {
            {16, lib_chunks_in(8192, 16)}, {16, (size_t)1 << 12}, {16, (size_t)1 << 16},
            {16, (size_t)1 << 20},         {16, (size_t)1 << 24}, {64, lib_chunks_in((size_t)64 << 20, 64)},
        };
        meta_len = (size_t)snprintf(meta, sizeof meta, "metadata bits per chunk (metadata_bytes * 8 / chunk_count):");
        for (i = 0; i < sizeof geo / sizeof geo[0] && meta_len < sizeof meta; i++) {
            size_t bytes = 0;
            double bits = lib_meta_bits(geo[i][0], geo[i][1], &bytes);
            meta_len += (size_t)snprintf(meta + meta_len, sizeof meta - meta_len, "%s %zu x %zu B: %.2f (%zu B)",
                                         i ? ";" : "", geo[i][1], geo[i][0], bits, bytes);
        }
        printf("\n%s\n", meta);
    }

    t = evaluate(res, n_res, pts, n_pts);
    putchar('\n');
    print_targets(stdout, &t, false);
    if (o.out_dir != NULL) {
        write_markdown(o.out_dir, &o, res, n_res, pts, n_pts, &t, meta);
        if (n_pts > 0) {
            write_plot(o.out_dir, pts, n_pts);
        }
    }
    return 0;
}

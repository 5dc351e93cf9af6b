/* bma-bench: replays pre-generated allocation traces against this library,
 * the baseline (Ghostty's original search, baseline.c), ghostty-main (that
 * search with Ghostty main's search_start hint, baseline.c), glibc malloc,
 * and jemalloc / mimalloc when installed, and reports median ns/op and, from
 * a callgrind run, instructions per allocator call.
 *
 *   bma-bench [--reps N] [--quick] [--scale-max K] [--scale-step S]
 *             [--min-ms M] [--seed S] [--only terminal,mixed,scale] [--out DIR]
 *             [--instructions FILE]
 *   bma-bench --count-instructions [--quick] [--scale-max K] [--scale-step S]
 *             [--seed S] [--only LIST] [--count-ops N]
 *   bma-bench --verify
 *
 * --count-instructions is meant to run under
 *   valgrind --tool=callgrind --instr-atstart=no --collect-atstart=no
 * For every workload and contender it replays the untimed prefix without
 * instrumentation, then the timed part once with collection on, and dumps
 * callgrind's counters with the label "bma-bench:<workload>:<contender>". It
 * prints, as tab-separated lines, how many allocator calls that replay made
 * (an op-by-op replay of the same part, not counted). scripts/bench.sh turns
 * the dumps and these lines into the FILE that --instructions reads. The
 * counts include the replay loop (and GROW's memcpy), the same source for
 * every contender.
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
#ifdef BENCH_HAVE_CALLGRIND
#include <valgrind/callgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#define CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_STOP_INSTRUMENTATION
#define CALLGRIND_TOGGLE_COLLECT
#define CALLGRIND_DUMP_STATS_AT(label) ((void)(label))
#endif
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
#define SCALE_COUNT_PAIRS 16u /* pairs counted per scale point: every pair costs the same */
#define SCALE_GOAL_LOG2 24u   /* the scale targets are stated at 2^24 chunks */

typedef struct options {
    unsigned reps, scale_max, scale_step;
    double min_ms;
    uint64_t seed;
    size_t terminal_ops, mixed_ops;
    size_t count_terminal_ops, count_mixed_ops; /* timed ops counted per trace; 0 = all */
    bool quick, verify, count, run_terminal, run_mixed, run_scale;
    const char *out_dir, *instr_file;
} options;

/* One contender's result on one workload. */
typedef struct row {
    bool available;
    const char *why;
    double median, min, max; /* ns per timed op */
    size_t enomem, setup_enomem;
    double ipc; /* instructions per allocator call; < 0 if not counted */
} row;

typedef struct result {
    char name[48], desc[160];
    size_t timed_ops;
    row rows[MAX_CONTENDERS];
} result;

/* Indexed by contender, [0, BENCH_FIXED): library, baseline, ghostty-main. */
typedef struct scale_point {
    unsigned log2;
    size_t chunks, iters[BENCH_FIXED];
    double median[BENCH_FIXED], min[BENCH_FIXED], max[BENCH_FIXED]; /* ns per alloc(65) + free pair */
    double ipp[BENCH_FIXED];                                        /* instructions per pair; < 0 if not counted */
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

/* ------------------------------------------------ instruction counts */

/* What --instructions FILE holds, one tab-separated record a line:
 *   calls <workload> <contender> <allocator calls> <ops>   (--count-instructions)
 *   ir    <workload> <contender> <instructions>            (callgrind's totals)
 *   note  <text>                                           (printed with the tables)
 *   na    <why>                                            (no counts: why)
 * Other lines are ignored. */
typedef struct instr_entry {
    char workload[48], contender[24];
    double ir;
    size_t calls, ops;
    bool has_ir, has_calls;
} instr_entry;

static instr_entry instr_tab[256];
static size_t instr_n;
static char instr_why[256] = "not counted (scripts/bench.sh counts them under callgrind)";
static char instr_notes[1024];

static instr_entry *instr_find(const char *workload, const char *contender, bool add)
{
    size_t i;
    for (i = 0; i < instr_n; i++) {
        if (strcmp(instr_tab[i].workload, workload) == 0 && strcmp(instr_tab[i].contender, contender) == 0) {
            return &instr_tab[i];
        }
    }
    if (!add || instr_n == sizeof instr_tab / sizeof instr_tab[0]) {
        return NULL;
    }
    memset(&instr_tab[instr_n], 0, sizeof instr_tab[0]);
    snprintf(instr_tab[instr_n].workload, sizeof instr_tab[0].workload, "%s", workload);
    snprintf(instr_tab[instr_n].contender, sizeof instr_tab[0].contender, "%s", contender);
    return &instr_tab[instr_n++];
}

static void load_instructions(const char *path)
{
    char line[1024];
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(instr_why, sizeof instr_why, "cannot read %s: %s", path, strerror(errno));
        return;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        char *field[6] = {NULL};
        size_t nf = 0;
        char *p = line;
        line[strcspn(line, "\r\n")] = '\0';
        while (nf < 6u) {
            char *tab = strchr(p, '\t');
            field[nf++] = p;
            if (tab == NULL) {
                break;
            }
            *tab = '\0';
            p = tab + 1;
        }
        if (strcmp(field[0], "na") == 0 && nf >= 2u) {
            snprintf(instr_why, sizeof instr_why, "%s", field[1]);
        } else if (strcmp(field[0], "note") == 0 && nf >= 2u) {
            size_t len = strlen(instr_notes);
            snprintf(instr_notes + len, sizeof instr_notes - len, "%s%s", len ? " " : "", field[1]);
        } else if (strcmp(field[0], "calls") == 0 && nf >= 5u) {
            instr_entry *e = instr_find(field[1], field[2], true);
            if (e != NULL) {
                e->calls = (size_t)strtoull(field[3], NULL, 10);
                e->ops = (size_t)strtoull(field[4], NULL, 10);
                e->has_calls = true;
            }
        } else if (strcmp(field[0], "ir") == 0 && nf >= 4u) {
            instr_entry *e = instr_find(field[1], field[2], true);
            if (e != NULL) {
                e->ir = strtod(field[3], NULL);
                e->has_ir = true;
            }
        }
    }
    fclose(f);
}

/* Instructions per allocator call (per_pair: per two calls), or -1. */
static double instr_per(const char *workload, const char *contender, bool per_pair)
{
    const instr_entry *e = instr_find(workload, contender, false);
    if (e == NULL || !e->has_ir || !e->has_calls || e->calls == 0) {
        return -1.0;
    }
    return e->ir / (double)e->calls * (per_pair ? 2.0 : 1.0);
}

/* "123.4" or "n/a" into buf. */
static const char *fmt_ir(char *buf, size_t size, double v)
{
    if (v < 0) {
        snprintf(buf, size, "n/a");
    } else {
        snprintf(buf, size, "%.1f", v);
    }
    return buf;
}

/* "0.85x" or "n/a": a / b when both are known. */
static const char *fmt_ratio(char *buf, size_t size, double a, double b)
{
    if (a < 0 || b <= 0) {
        snprintf(buf, size, "n/a");
    } else {
        snprintf(buf, size, "%.2fx", a / b);
    }
    return buf;
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
        res->rows[c].ipc = instr_per(w->name, contenders[c]->name, false);
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
    printf("\n== %s: %s\n   %zu timed ops, median of %u repetitions; instr/call: instructions per allocator call "
           "(callgrind)\n",
           r->name, r->desc, r->timed_ops, reps);
    printf("   %-12s %10s %10s %10s %11s %11s %11s %10s\n", "contender", "ns/op", "min", "max", "vs library",
           "instr/call", "vs library", "ENOMEM");
    for (c = 0; c < n_contenders; c++) {
        const row *x = &r->rows[c];
        char b1[32], b2[32];
        if (!x->available) {
            printf("   %-12s unavailable (%s)\n", contenders[c]->name, x->why ? x->why : "?");
            continue;
        }
        printf("   %-12s %10.2f %10.2f %10.2f %10.2fx %11s %11s", contenders[c]->name, x->median, x->min, x->max,
               x->median / lib->median, fmt_ir(b1, sizeof b1, x->ipc), fmt_ratio(b2, sizeof b2, x->ipc, lib->ipc));
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

/* A fixed heap of 2^k chunks in the scale workload's state, checked. */
static void *scale_heap(const bench_contender *ct, size_t chunks, const bench_trace *pairs)
{
    const char *why = NULL;
    void *self = ct->create(SCALE_CHUNK, chunks, &why);
    if (self == NULL) {
        fprintf(stderr, "bench: %s: cannot create a heap of %zu chunks: %s\n", ct->name, chunks, why);
        exit(2);
    }
    ct->fragment(self, SCALE_KEEP, SCALE_TAIL);
    check_scale_state(ct, self, pairs, chunks);
    return self;
}

static size_t run_scale(const options *o, scale_point *pts)
{
    bench_trace pairs = {NULL, 0, 0};
    double min_ns = o->min_ms * 1e6;
    size_t n = 0;
    unsigned k;
    bench_gen_pairs(&pairs, 1024, SCALE_REQUEST);
    for (k = SCALE_MIN_LOG2; k <= o->scale_max; k += o->scale_step) {
        scale_point *p = &pts[n++];
        double samples[BENCH_FIXED][MAX_REPS];
        void *self[BENCH_FIXED];
        bench_slot slot = {NULL, 0};
        size_t i;
        int rep;
        char label[48];
        p->log2 = k;
        p->chunks = (size_t)1 << k;
        snprintf(label, sizeof label, "scale 2^%u", k);
        for (i = 0; i < BENCH_FIXED; i++) {
            const bench_contender *ct = contenders[i];
            double t0, t;
            self[i] = scale_heap(ct, p->chunks, &pairs);
            p->ipp[i] = instr_per(label, ct->name, true);
            /* Calibrate: grow the op count until one repetition takes at
             * least min_ms (the baseline at 2^24 needs only a few hundred).
             * This also serves as the warm-up. */
            p->iters[i] = 1;
            for (;;) {
                t0 = now_ns();
                run_pairs(ct, self[i], &pairs, p->iters[i], &slot);
                t = now_ns() - t0;
                if (t >= min_ns) {
                    break;
                }
                p->iters[i] = (size_t)((double)p->iters[i] * (t < min_ns / 100.0 ? 100.0 : 1.25 * min_ns / t)) + 1u;
            }
        }
        for (rep = 0; rep < (int)o->reps; rep++) {
            for (i = 0; i < BENCH_FIXED; i++) {
                size_t x = (i + (size_t)rep) % BENCH_FIXED;
                double t0 = now_ns();
                run_pairs(contenders[x], self[x], &pairs, p->iters[x], &slot);
                samples[x][rep] = (now_ns() - t0) / (double)p->iters[x];
            }
        }
        for (i = 0; i < BENCH_FIXED; i++) {
            summarise(samples[i], o->reps, &p->median[i], &p->min[i], &p->max[i]);
            contenders[i]->destroy(self[i]);
        }
        {
            char b[BENCH_FIXED][32];
            for (i = 0; i < BENCH_FIXED; i++) {
                fmt_ir(b[i], sizeof b[i], p->ipp[i]);
            }
            printf("   2^%-2u %9zu %11.1f %11.1f %12.1f %11s %11s %12s %9.1fx\n", k, p->chunks, p->median[0],
                   p->median[1], p->median[2], b[0], b[1], b[2], p->median[1] / p->median[0]);
        }
        fflush(stdout);
    }
    bench_trace_free(&pairs);
    return n;
}

/* ------------------------------------------------------ count mode */

/* Replays ops[0, n) one op at a time and counts the allocator calls they
 * make: ALLOC 1; FREE 1 if the slot holds an allocation; GROW 1, plus 1 for
 * the free when the allocation succeeded and the slot held one. */
static size_t count_calls(const bench_contender *ct, void *self, const bench_op *ops, size_t n, bench_slot *slots,
                          size_t chunk_size)
{
    size_t calls = 0, i;
    for (i = 0; i < n; i++) {
        bool live = slots[ops[i].slot].p != NULL;
        size_t failed = ct->replay(self, &ops[i], 1, slots, chunk_size);
        switch ((bench_op_kind)ops[i].kind) {
        case OP_ALLOC: calls++; break;
        case OP_FREE: calls += live; break;
        case OP_GROW: calls += 1u + (failed == 0 && live); break;
        }
    }
    return calls;
}

static void count_label(char *buf, size_t size, const char *workload, const char *contender)
{
    snprintf(buf, size, "bma-bench:%s:%s", workload, contender);
}

/* The timed part (its first `limit` ops if limit > 0) of one workload, once
 * per contender, with callgrind collecting only around that replay. */
static void count_workload(const bench_workload *w, size_t limit)
{
    bench_slot *slots = xcalloc(w->slots, sizeof *slots);
    size_t timed = w->trace.len - w->prefix, c;
    if (limit > 0 && limit < timed) {
        timed = limit;
    }
    for (c = 0; c < n_contenders; c++) {
        const bench_contender *ct = contenders[c];
        const char *why = NULL;
        void *self = ct->create(w->chunk_size, w->chunk_count, &why);
        const bench_op *part = w->trace.ops + w->prefix;
        char label[128];
        size_t calls;
        if (self == NULL) {
            printf("unavailable\t%s\t%s\t%s\n", w->name, ct->name, why ? why : "?");
            continue;
        }
        /* Pass 1, not counted: how many allocator calls the part makes. */
        ct->reset(self);
        memset(slots, 0, w->slots * sizeof *slots);
        (void)ct->replay(self, w->trace.ops, w->prefix, slots, w->chunk_size);
        calls = count_calls(ct, self, part, timed, slots, w->chunk_size);
        (void)ct->replay(self, w->teardown.ops, w->teardown.len, slots, w->chunk_size);
        /* Pass 2: the same part in one replay, counted. */
        ct->reset(self);
        memset(slots, 0, w->slots * sizeof *slots);
        (void)ct->replay(self, w->trace.ops, w->prefix, slots, w->chunk_size);
        count_label(label, sizeof label, w->name, ct->name);
        CALLGRIND_START_INSTRUMENTATION;
        CALLGRIND_TOGGLE_COLLECT;
        (void)ct->replay(self, part, timed, slots, w->chunk_size);
        CALLGRIND_TOGGLE_COLLECT;
        CALLGRIND_STOP_INSTRUMENTATION;
        CALLGRIND_DUMP_STATS_AT(label);
        (void)ct->replay(self, w->teardown.ops, w->teardown.len, slots, w->chunk_size);
        ct->destroy(self);
        printf("calls\t%s\t%s\t%zu\t%zu\n", w->name, ct->name, calls, timed);
        fflush(stdout);
    }
    free(slots);
}

static void count_scale(const options *o)
{
    bench_trace pairs = {NULL, 0, 0};
    unsigned k;
    bench_gen_pairs(&pairs, SCALE_COUNT_PAIRS, SCALE_REQUEST);
    for (k = SCALE_MIN_LOG2; k <= o->scale_max; k += o->scale_step) {
        size_t i, chunks = (size_t)1 << k;
        char name[48], label[128];
        snprintf(name, sizeof name, "scale 2^%u", k);
        for (i = 0; i < BENCH_FIXED; i++) {
            const bench_contender *ct = contenders[i];
            void *self = scale_heap(ct, chunks, &pairs);
            bench_slot slot = {NULL, 0};
            size_t failed;
            count_label(label, sizeof label, name, ct->name);
            CALLGRIND_START_INSTRUMENTATION;
            CALLGRIND_TOGGLE_COLLECT;
            failed = ct->replay(self, pairs.ops, pairs.len, &slot, SCALE_CHUNK);
            CALLGRIND_TOGGLE_COLLECT;
            CALLGRIND_STOP_INSTRUMENTATION;
            CALLGRIND_DUMP_STATS_AT(label);
            if (failed != 0) {
                fprintf(stderr, "bench: %s: a 65-chunk request failed in the scale workload\n", ct->name);
                exit(2);
            }
            ct->destroy(self);
            printf("calls\t%s\t%s\t%zu\t%zu\n", name, ct->name, pairs.len, pairs.len / 2u);
            fflush(stdout);
        }
    }
    bench_trace_free(&pairs);
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
    size_t hint_same, hint_skipped; /* ghostty-main: same index as the baseline; words its hint skipped */
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
 * straddles a word), both allocations are undone so the heaps stay equal.
 * A third heap, ghostty-main's (the baseline with search_start), must
 * return exactly the baseline's index every time, keep exactly its bitmap,
 * and only ever have words of 0 below its hint. A dense trace (1..16
 * chunks, ~92% full) keeps leading words full, so that the hint skips some. */
static void verify_heap(size_t count, uint64_t seed, size_t steps, bool dense, verify_counts *vc)
{
    const size_t cs = 16;
    size_t buf_size, step, n_live = 0, i;
    void *buf = NULL;
    bma_heap *h;
    baseline_heap bl, bh;
    bench_rng rng;
    unsigned char *used = xcalloc(count, 1);
    size_t *live_at = xcalloc(count, sizeof *live_at), *live_n = xcalloc(count, sizeof *live_n);
    size_t in_use = 0;

    if (bma_buffer_size(cs, count * cs, &buf_size) != BMA_OK || posix_memalign(&buf, 64, buf_size) != 0 ||
        bma_init(buf, buf_size, cs, &h) != BMA_OK || !baseline_create(&bl, cs, count) ||
        !baseline_create(&bh, cs, count)) {
        fputs("verify: setup failed\n", stderr);
        exit(2);
    }
    bench_rng_seed(&rng, seed);
    for (step = 0; step < steps; step++) {
        double fill = (double)in_use / (double)count, p_free = fill;
        if (dense) {
            p_free = fill * fill, p_free *= p_free, p_free *= p_free; /* fill^8: ~92% full */
        }
        if (n_live > 0 && bench_rng_unit(&rng) < p_free) {
            size_t j = (size_t)bench_rng_below(&rng, n_live), at = live_at[j], n = live_n[j];
            if (bma_free_chunks(h, at, n) != BMA_OK) {
                verify_fail(vc, "library free failed", count, n, at, at, at);
            }
            baseline_free_chunks(&bl, at, n);
            baseline_hint_free_chunks(&bh, at, n);
            memset(used + at, 0, n);
            in_use -= n;
            live_at[j] = live_at[n_live - 1u];
            live_n[j] = live_n[--n_live];
            vc->frees++;
        } else {
            double r = bench_rng_unit(&rng);
            size_t n = dense     ? 1u + (size_t)bench_rng_below(&rng, 16)
                       : r < 0.6 ? 1u + (size_t)bench_rng_below(&rng, 8)
                       : r < 0.9 ? 9u + (size_t)bench_rng_below(&rng, 56)
                                 : 65u + (size_t)bench_rng_below(&rng, count / 4u);
            size_t exact = shadow_fit(used, count, n, false);
            size_t expect_base = n <= 64u ? shadow_fit(used, count, n, true) : exact;
            size_t li = SIZE_MAX, bi = SIZE_MAX, hi = SIZE_MAX, hint = bh.search_start;
            bool lib_ok = bma_alloc_chunks(h, n, &li) == BMA_OK;
            bool base_ok = baseline_alloc_chunks(&bl, n, &bi);
            bool hint_ok = baseline_hint_alloc_chunks(&bh, n, &hi);
            vc->allocs++;
            vc->hint_skipped += hint;
            if (hint_ok != base_ok || (base_ok && hi != bi)) {
                verify_fail(vc, "ghostty-main differs from the baseline (library column: ghostty-main)", count, n,
                            hint_ok ? hi : SIZE_MAX, base_ok ? bi : SIZE_MAX, expect_base);
                hint_ok = false; /* do not free what the baseline may not own */
            } else {
                vc->hint_same++;
            }
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
                    base_ok = hint_ok = false; /* do not free what they do not own */
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
                if (hint_ok) {
                    baseline_hint_free_chunks(&bh, hi, n);
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
            if (memcmp(bl.bitmap, bh.bitmap, bl.words * sizeof *bl.bitmap) != 0) {
                verify_fail(vc, "ghostty-main bitmap differs from the baseline's", count, 0, 0, 0, 0);
            }
            for (i = 0; i < bh.search_start && i < bh.words; i++) {
                if (bh.bitmap[i] != 0) {
                    verify_fail(vc, "ghostty-main search_start skips a word with a free bit", count, 0, i, i, i);
                    break;
                }
            }
        }
    }
    baseline_destroy(&bl);
    baseline_destroy(&bh);
    free(buf);
    free(used);
    free(live_at);
    free(live_n);
}

static int run_verify(uint64_t seed)
{
    static const size_t sizes[] = {64, 100, 300, 1000, 1024, 4096};
    verify_counts vc = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t i;
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        verify_heap(sizes[i], seed + i, 40000, false, &vc);
        verify_heap(sizes[i], seed + 100u + i, 40000, true, &vc);
    }
    printf("verify: %zu allocations, %zu frees on heaps of 64..4096 chunks\n", vc.allocs, vc.frees);
    printf("verify:   same index from library and baseline: %zu\n", vc.same);
    printf("verify:   both ENOMEM:                          %zu\n", vc.both_none);
    printf("verify:   differ by design (library run straddles a word, n <= 64): %zu\n", vc.by_design);
    printf("verify:   ghostty-main (search_start) same as baseline: %zu of %zu (its hint skipped %.1f words per "
           "allocation)\n",
           vc.hint_same, vc.allocs, vc.allocs ? (double)vc.hint_skipped / (double)vc.allocs : 0.0);
    printf("verify:   mismatches: %zu\n", vc.mismatches);
    printf("verify: %s\n", vc.mismatches == 0 ? "OK" : "FAILED");
    return vc.mismatches == 0 ? 0 : 1;
}

/* -------------------------------------------------------------- report */

static const char *met(bool ok) { return ok ? "MET" : "NOT MET"; }

/* The library's metadata (header, bitmaps, any index, padding to the first
 * chunk) on a few heaps, and the fixed header H estimated from them. */
#define META_N 6
typedef struct meta_info {
    size_t chunk_size[META_N], chunks[META_N], bytes[META_N];
    double slope;  /* bits per chunk added between the 2^20- and 2^24-chunk heaps */
    double header; /* H: the smallest heap's bytes minus slope * its chunks / 8, at least 0 */
    double worst;  /* max over heaps of >= 2^16 chunks of (bytes - H) * 8 / chunks */
    bool ok;
} meta_info;

static meta_info measure_meta(void)
{
    meta_info m;
    size_t i;
    memset(&m, 0, sizeof m);
    m.chunk_size[0] = 16, m.chunks[0] = lib_chunks_in(8192, 16);
    m.chunk_size[1] = 16, m.chunks[1] = (size_t)1 << 12;
    m.chunk_size[2] = 16, m.chunks[2] = (size_t)1 << 16;
    m.chunk_size[3] = 16, m.chunks[3] = (size_t)1 << 20;
    m.chunk_size[4] = 16, m.chunks[4] = (size_t)1 << 24;
    m.chunk_size[5] = 64, m.chunks[5] = lib_chunks_in((size_t)64 << 20, 64);
    m.ok = true;
    for (i = 0; i < META_N; i++) {
        m.ok = m.ok && lib_meta_bits(m.chunk_size[i], m.chunks[i], &m.bytes[i]) >= 0;
    }
    if (!m.ok) {
        return m;
    }
    m.slope = ((double)m.bytes[4] - (double)m.bytes[3]) * 8.0 / (double)(m.chunks[4] - m.chunks[3]);
    m.header = (double)m.bytes[0] - m.slope * (double)m.chunks[0] / 8.0;
    if (m.header < 0) {
        m.header = 0;
    }
    for (i = 0; i < META_N; i++) {
        double bits = ((double)m.bytes[i] - m.header) * 8.0 / (double)m.chunks[i];
        if (m.chunks[i] >= ((size_t)1 << 16) && bits > m.worst) {
            m.worst = bits;
        }
    }
    return m;
}

static void print_meta(FILE *f, const meta_info *m)
{
    size_t i;
    if (!m->ok) {
        fputs("metadata: could not be measured\n", f);
        return;
    }
    fputs("metadata bytes (bits per chunk = metadata_bytes * 8 / chunk_count):", f);
    for (i = 0; i < META_N; i++) {
        fprintf(f, "%s %zu x %zu B: %zu B (%.2f)", i ? ";" : "", m->chunks[i], m->chunk_size[i], m->bytes[i],
                (double)m->bytes[i] * 8.0 / (double)m->chunks[i]);
    }
    fprintf(f,
            ".\nFixed header H ~= %.0f B (the %zu-chunk heap's metadata minus %.3f bits per chunk, the rate between "
            "2^20 and 2^24 chunks). Without H, on heaps of >= 2^16 chunks: at most %.3f bits per chunk.\n",
            m->header, m->chunks[0], m->slope, m->worst);
}

typedef struct targets {
    const result *term[8];
    size_t n_term;
    const result *mixed;
    const scale_point *lo, *goal, *top; /* 2^12, 2^24 (NULL if not measured), the largest measured */
    const meta_info *meta;
} targets;

static targets evaluate(const result *res, size_t n_res, const scale_point *pts, size_t n_pts, const meta_info *m)
{
    targets t;
    size_t i;
    memset(&t, 0, sizeof t);
    for (i = 0; i < n_res; i++) {
        if (strncmp(res[i].name, "terminal", 8) == 0 && t.n_term < 8u) {
            t.term[t.n_term++] = &res[i];
        } else if (strcmp(res[i].name, "mixed") == 0) {
            t.mixed = &res[i];
        }
    }
    for (i = 0; i < n_pts; i++) {
        if (pts[i].log2 == SCALE_MIN_LOG2) {
            t.lo = &pts[i];
        }
        if (pts[i].log2 == SCALE_GOAL_LOG2) {
            t.goal = &pts[i];
        }
        t.top = &pts[i];
    }
    t.meta = m;
    return t;
}

/* Time ratio bitmapalloc / contender c (< 0 if c did not run). */
static double time_ratio(const result *r, size_t c)
{
    return r->rows[c].available && r->rows[BENCH_LIB].available ? r->rows[BENCH_LIB].median / r->rows[c].median : -1.0;
}

/* One line over every terminal heap: bitmapalloc / contender c, by time
 * (and, in parentheses, by instructions per call); with a verdict when
 * limit > 0. */
static void terminal_line(FILE *f, const char *kind, const targets *t, size_t c, const char *what, double limit)
{
    double worst = -1.0;
    bool all = true;
    size_t i;
    char b[32];
    fprintf(f, "%s terminal: %s:", kind, what);
    for (i = 0; i < t->n_term; i++) {
        const result *r = t->term[i];
        double x = time_ratio(r, c);
        fprintf(f, "%s %s %s", i ? "," : "", r->name + 9, fmt_ratio(b, sizeof b, x, 1.0));
        fprintf(f, " (instr %s)", fmt_ratio(b, sizeof b, r->rows[BENCH_LIB].ipc, r->rows[c].ipc));
        all = all && x >= 0;
        if (x > worst) {
            worst = x;
        }
    }
    if (limit > 0) {
        fprintf(f, "; worst %.2fx -> %s", worst, all ? met(worst <= limit) : "NOT MET (a contender did not run)");
    }
    fputc('\n', f);
}

static void print_targets(FILE *f, const targets *t, bool md)
{
    const char *target = md ? "- TARGET" : "TARGET", *stretch = md ? "- STRETCH" : "STRETCH",
               *info = md ? "- INFO" : "INFO";
    char b1[32], b2[32];
    if (t->n_term > 0) {
        terminal_line(f, target, t, BENCH_BASELINE, "bitmapalloc time <= 1.0x the baseline's (the original's search)",
                      1.0);
        terminal_line(f, target, t, BENCH_GLIBC, "bitmapalloc time <= 1.0x glibc's", 1.0);
        terminal_line(f, stretch, t, BENCH_GLIBC, "bitmapalloc time <= 0.6x glibc's", 0.6);
        terminal_line(f, info, t, BENCH_GHOSTTY_MAIN, "bitmapalloc time / ghostty-main's (no target)", 0.0);
        if (t->n_term < 4u) {
            fprintf(f, "%s terminal: only %zu of the 4 heaps (8..64 KiB) ran\n", info, t->n_term);
        }
    }
    if (t->mixed != NULL) {
        double x = time_ratio(t->mixed, BENCH_GLIBC);
        fprintf(f, "%s mixed: bitmapalloc time <= 1.0x glibc's: %s (instr %s) -> %s\n", target,
                fmt_ratio(b1, sizeof b1, x, 1.0),
                fmt_ratio(b2, sizeof b2, t->mixed->rows[BENCH_LIB].ipc, t->mixed->rows[BENCH_GLIBC].ipc),
                met(x >= 0 && x <= 1.0));
    }
    if (t->top != NULL) {
        if (t->goal != NULL) {
            fprintf(f, "%s scale: alloc(65) + free at 2^24 chunks <= 250 ns: %.1f ns (%s instructions) -> %s\n", target,
                    t->goal->median[BENCH_LIB], fmt_ir(b1, sizeof b1, t->goal->ipp[BENCH_LIB]),
                    met(t->goal->median[BENCH_LIB] <= 250.0));
        } else {
            fprintf(f, "%s scale: alloc(65) + free at 2^24 chunks <= 250 ns: this run stops at 2^%u -> NOT MEASURED\n",
                    target, t->top->log2);
        }
        if (t->goal != NULL && t->lo != NULL) {
            double g = t->goal->median[BENCH_LIB] / t->lo->median[BENCH_LIB];
            fprintf(f, "%s scale: growth ns(2^24) / ns(2^12) <= 2x: %.2fx (instructions %s) -> %s\n", target, g,
                    fmt_ratio(b1, sizeof b1, t->goal->ipp[BENCH_LIB], t->lo->ipp[BENCH_LIB]), met(g <= 2.0));
        } else {
            fprintf(f, "%s scale: growth ns(2^24) / ns(2^12) <= 2x: needs 2^12 and 2^24 -> NOT MEASURED\n", target);
        }
        if (t->lo != NULL && t->top != t->lo && t->top != t->goal) {
            fprintf(f, "%s scale: growth ns(2^%u) / ns(2^12): %.2fx (instructions %s)\n", info, t->top->log2,
                    t->top->median[BENCH_LIB] / t->lo->median[BENCH_LIB],
                    fmt_ratio(b1, sizeof b1, t->top->ipp[BENCH_LIB], t->lo->ipp[BENCH_LIB]));
        }
    }
    if (t->meta != NULL && t->meta->ok) {
        fprintf(f,
                "%s metadata: <= 3 bits per chunk plus a fixed header: at most %.2f bits per chunk on heaps of "
                ">= 2^16 chunks, H ~= %.0f B -> %s\n",
                target, t->meta->worst, t->meta->header, met(t->meta->worst <= 3.0));
    }
}

static void md_cell(FILE *f, const result *r, size_t c, bool instr)
{
    const row *x = &r->rows[c], *lib = &r->rows[BENCH_LIB];
    double v = instr ? x->ipc : x->median, base = instr ? lib->ipc : lib->median;
    char b[32];
    if (!x->available || v < 0) {
        fputs(" n/a |", f);
    } else if (c == BENCH_LIB) {
        fprintf(f, " %.1f |", v);
    } else {
        fprintf(f, " %.1f (%s) |", v, fmt_ratio(b, sizeof b, v, base));
    }
}

static void md_table(FILE *f, const result *res, size_t n_res, bool instr)
{
    size_t i, c;
    fputs("| workload |", f);
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
            md_cell(f, &res[i], c, instr);
        }
        fputc('\n', f);
    }
}

static void write_markdown(const char *dir, const options *o, const result *res, size_t n_res, const scale_point *pts,
                           size_t n_pts, const targets *t)
{
    char path[4096], b[BENCH_FIXED][32];
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
                "Median ns per op over %u repetitions; an op is one trace step (ALLOC or FREE: one allocator call; "
                "GROW: alloc, copy, free). In parentheses: contender / bitmapalloc; lower is faster.\n\n",
                o->reps);
        md_table(f, res, n_res, false);
        fputs("\nInstructions per allocator call, counted by callgrind (deterministic: compare these across runs on "
              "a noisy machine). They include the replay loop and GROW's memcpy, the same source for every "
              "contender. In parentheses: contender / bitmapalloc.",
              f);
        if (instr_notes[0] != '\0') {
            fprintf(f, " %s", instr_notes);
        }
        if (instr_n == 0) {
            fprintf(f, " n/a: %s.", instr_why);
        }
        fputs("\n\n", f);
        md_table(f, res, n_res, true);
        fputs("\nWorkloads:\n\n", f);
        for (i = 0; i < n_res; i++) {
            fprintf(f, "- **%s**: %s; %zu timed ops; ENOMEM (skipped):", res[i].name, res[i].desc, res[i].timed_ops);
            for (c = 0; c < BENCH_FIXED; c++) {
                fprintf(f, "%s %s %zu", c ? "," : "", contenders[c]->name, res[i].rows[c].enomem);
            }
            fputs(".\n", f);
        }
    }
    if (n_pts > 0) {
        fputs("\nScale: heaps of 16-byte chunks where every bitmap word holds a used chunk and only the end fits "
              "65 chunks; one op is alloc(65 chunks) + free (two calls). Median ns per op, and instructions per op "
              "(callgrind). Plot: `scale.png`.\n\n"
              "| chunks | bitmapalloc ns | baseline ns | ghostty-main ns | bitmapalloc instr | baseline instr | "
              "ghostty-main instr |\n|---:|---:|---:|---:|---:|---:|---:|\n",
              f);
        for (i = 0; i < n_pts; i++) {
            for (c = 0; c < BENCH_FIXED; c++) {
                fmt_ir(b[c], sizeof b[c], pts[i].ipp[c]);
            }
            fprintf(f, "| 2^%u | %.1f | %.1f | %.1f | %s | %s | %s |\n", pts[i].log2, pts[i].median[0],
                    pts[i].median[1], pts[i].median[2], b[0], b[1], b[2]);
        }
    }
    fputs("\n", f);
    print_meta(f, t->meta);
    fputs("\nTargets (issue #10), from this run:\n\n", f);
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
    fputs("# log2_chunks chunks bitmapalloc_ns baseline_ns ghostty_main_ns\n", f);
    for (i = 0; i < n_pts; i++) {
        fprintf(f, "%u %zu %.3f %.3f %.3f\n", pts[i].log2, pts[i].chunks, pts[i].median[0], pts[i].median[1],
                pts[i].median[2]);
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
          "     'scale.dat' using 2:4 with linespoints lw 2 pt 5 title 'baseline (Ghostty findFreeChunks)', \\\n"
          "     'scale.dat' using 2:5 with linespoints lw 2 pt 9 dt 2 title 'ghostty-main (with search\\_start)'\n",
          f);
    fclose(f);
}

/* ---------------------------------------------------------------- main */

static void usage(void)
{
    fputs("usage: bma-bench [--reps N] [--quick] [--scale-max K] [--scale-step S] [--min-ms M]\n"
          "                 [--seed S] [--only terminal,mixed,scale] [--out DIR] [--instructions FILE]\n"
          "       bma-bench --count-instructions [--quick] [--scale-max K] [--scale-step S] [--seed S]\n"
          "                 [--only LIST] [--count-ops N]   (under valgrind --tool=callgrind, see bench.sh)\n"
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
    /* callgrind runs ~50x slower than native: every terminal op is counted,
     * but only the first part of mixed, whose baselines scan ~10^5
     * instructions per call. The trace generator is prefix-stable, so that
     * is exactly the start of the timed part. */
    o.count_terminal_ops = 0;
    o.count_mixed_ops = 10000;
    o.run_terminal = o.run_mixed = o.run_scale = true;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--verify") == 0) {
            o.verify = true;
        } else if (strcmp(a, "--quick") == 0) {
            o.quick = true;
        } else if (strcmp(a, "--count-instructions") == 0) {
            o.count = true;
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
        } else if (strcmp(a, "--instructions") == 0) {
            o.instr_file = v, i++;
        } else if (strcmp(a, "--count-ops") == 0) {
            o.count_terminal_ops = o.count_mixed_ops = (size_t)parse_num(v), i++;
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
        if (o.count_mixed_ops == 0 || o.count_mixed_ops > 2000u) {
            o.count_mixed_ops = 2000;
        }
    }
    if (o.reps < 1u || o.reps > MAX_REPS || o.scale_step < 1u || o.scale_max > 30u || o.min_ms <= 0.0) {
        usage();
    }
    return o;
}

static const size_t terminal_kib[] = {8, 16, 32, 64};
#define N_TERMINAL (sizeof terminal_kib / sizeof terminal_kib[0])

static void make_terminal(bench_workload *w, size_t i, const options *o)
{
    memset(w, 0, sizeof *w);
    snprintf(w->name, sizeof w->name, "terminal %zu KiB", terminal_kib[i]);
    w->chunk_size = 16;
    w->chunk_count = lib_chunks_in(terminal_kib[i] * 1024u, w->chunk_size);
    w->target_fill = 0.5;
    snprintf(w->desc, sizeof w->desc,
             "chunk 16 B, %zu KiB heap (%zu chunks), graphemes of 1..16 chunks grown by alloc(len+1)/copy/free, "
             "~50%% full",
             terminal_kib[i], w->chunk_count);
    bench_gen_terminal(w, o->terminal_ops, o->seed + i);
}

static void make_mixed(bench_workload *w, const options *o)
{
    memset(w, 0, sizeof *w);
    snprintf(w->name, sizeof w->name, "mixed");
    w->chunk_size = 64;
    w->chunk_count = lib_chunks_in((size_t)64 << 20, w->chunk_size);
    w->target_fill = 0.7;
    snprintf(w->desc, sizeof w->desc,
             "chunk 64 B, 64 MiB heap (%zu chunks), log-uniform 1..1024 chunks, random frees, ~70%% full",
             w->chunk_count);
    bench_gen_mixed(w, o->mixed_ops, o->seed + 100u);
}

static void drop_workload(bench_workload *w)
{
    bench_trace_free(&w->trace);
    bench_trace_free(&w->teardown);
}

/* --count-instructions: see the top of this file. Output on stdout, one
 * tab-separated record a line (the format load_instructions reads). */
static int run_count(const options *o)
{
    size_t i;
    if (!RUNNING_ON_VALGRIND) {
#ifdef BENCH_HAVE_CALLGRIND
        printf("na\tnot run under valgrind --tool=callgrind\n");
#else
        printf("na\tbma-bench was built without valgrind/callgrind.h\n");
#endif
        fflush(stdout);
    }
    {
        size_t t = o->count_terminal_ops, m = o->count_mixed_ops;
        const char *sep = "";
        printf("note\tCounted:");
        if (o->run_terminal) {
            if (t == 0 || t >= o->terminal_ops) {
                printf(" terminal, all %zu timed ops", o->terminal_ops);
            } else {
                printf(" terminal, the first %zu of the %zu timed ops", t, o->terminal_ops);
            }
            sep = ";";
        }
        if (o->run_mixed) {
            if (m == 0 || m >= o->mixed_ops) {
                printf("%s mixed, all %zu timed ops", sep, o->mixed_ops);
            } else {
                printf("%s mixed, the first %zu of the %zu timed ops (the baselines' scans make callgrind slow there)",
                       sep, m, o->mixed_ops);
            }
            sep = ";";
        }
        if (o->run_scale) {
            printf("%s scale, %u alloc(65) + free pairs per heap (every pair costs the same)", sep, SCALE_COUNT_PAIRS);
        }
        printf(".\n");
    }
    for (i = 0; o->run_terminal && i < N_TERMINAL; i++) {
        bench_workload w;
        make_terminal(&w, i, o);
        count_workload(&w, o->count_terminal_ops);
        drop_workload(&w);
    }
    if (o->run_mixed) {
        bench_workload w;
        make_mixed(&w, o);
        count_workload(&w, o->count_mixed_ops);
        drop_workload(&w);
    }
    if (o->run_scale) {
        count_scale(o);
    }
    return 0;
}

int main(int argc, char **argv)
{
    result res[8];
    scale_point pts[32];
    size_t n_res = 0, n_pts = 0, i;
    meta_info meta;
    targets t;
    options o = parse(argc, argv);

    if (o.verify) {
        return run_verify(o.seed);
    }
    /* Under valgrind a re-exec would leave it; scripts/bench.sh sets the
     * TLS tunable for that run itself. */
    if (!(o.count && RUNNING_ON_VALGRIND)) {
        bench_prepare_process(argv);
    }
    contenders = bench_contenders(&n_contenders);
    if (o.count) {
        return run_count(&o);
    }
    if (o.instr_file != NULL) {
        load_instructions(o.instr_file);
    }

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
    if (instr_n == 0) {
        printf("instructions per call: n/a: %s\n", instr_why);
    } else {
        printf("instructions per call: from %s (callgrind; the replay loop and GROW's memcpy included, the same "
               "for every contender). %s\n",
               o.instr_file, instr_notes);
    }

    for (i = 0; o.run_terminal && i < N_TERMINAL; i++) {
        bench_workload w;
        make_terminal(&w, i, &o);
        run_workload(&w, &o, &res[n_res]);
        print_result(&res[n_res++], o.reps);
        drop_workload(&w);
        fflush(stdout);
    }
    if (o.run_mixed) {
        bench_workload w;
        make_mixed(&w, &o);
        run_workload(&w, &o, &res[n_res]);
        print_result(&res[n_res++], o.reps);
        drop_workload(&w);
        fflush(stdout);
    }
    if (o.run_scale) {
        printf("\n== scale: alloc(65 chunks) + free per op, chunk 16 B, every word holds a used chunk, free tail of "
               "%u chunks\n   median ns per op over %u repetitions of >= %.0f ms each; instr: instructions per op "
               "(callgrind)\n",
               SCALE_TAIL, o.reps, o.min_ms);
        printf("   %-4s %9s %11s %11s %12s %11s %11s %12s %10s\n", "heap", "chunks", "lib ns", "base ns", "g-main ns",
               "lib instr", "base instr", "g-main instr", "base/lib");
        n_pts = run_scale(&o, pts);
    }

    meta = measure_meta();
    putchar('\n');
    print_meta(stdout, &meta);

    t = evaluate(res, n_res, pts, n_pts, &meta);
    putchar('\n');
    print_targets(stdout, &t, false);
    if (o.out_dir != NULL) {
        write_markdown(o.out_dir, &o, res, n_res, pts, n_pts, &t);
        if (n_pts > 0) {
            write_plot(o.out_dir, pts, n_pts);
        }
    }
    return 0;
}

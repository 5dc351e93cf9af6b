/* Trace generation: seeded, done once per workload before any timing, and
 * replayed op for op by every contender. The generator tracks occupancy from
 * the trace's own sizes (it cannot know where a contender puts things), so
 * the heaps stay near the target fill and ENOMEM stays rare. */
#include "bench.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (p == NULL) {
        fputs("bench: out of memory generating a trace\n", stderr);
        exit(2);
    }
    return p;
}

/* ------------------------------------------------------------- PRNG */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

void bench_rng_seed(bench_rng *r, uint64_t seed)
{
    int i;
    for (i = 0; i < 4; i++) {
        r->s[i] = splitmix64(&seed);
    }
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t bench_rng_next(bench_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5u, 7) * 9u, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t bench_rng_below(bench_rng *r, uint64_t n)
{
    return ((bench_rng_next(r) >> 32) * (n & UINT64_C(0xffffffff))) >> 32;
}

double bench_rng_unit(bench_rng *r) { return (double)(bench_rng_next(r) >> 11) * 0x1.0p-53; }

/* ------------------------------------------------------------ traces */

void bench_trace_push(bench_trace *t, bench_op_kind kind, uint32_t slot, uint32_t chunks)
{
    if (t->len == t->cap) {
        size_t cap = t->cap ? t->cap * 2u : 1024u;
        bench_op *ops = realloc(t->ops, cap * sizeof *ops);
        if (ops == NULL) {
            fputs("bench: out of memory generating a trace\n", stderr);
            exit(2);
        }
        t->ops = ops;
        t->cap = cap;
    }
    t->ops[t->len].kind = (uint32_t)kind;
    t->ops[t->len].slot = slot;
    t->ops[t->len].chunks = chunks;
    t->len++;
}

void bench_trace_free(bench_trace *t)
{
    free(t->ops);
    t->ops = NULL;
    t->len = t->cap = 0;
}

/* The generator's view: which slots are live and how big, slot ids recycled
 * so the slot table stays as small as the live set. */
typedef struct gen {
    bench_workload *w;
    bench_rng rng;
    uint32_t *live;     /* live slot ids, in no order */
    uint32_t *size;     /* chunks, by slot id */
    uint32_t *free_ids; /* recycled slot ids */
    size_t n_live, n_free, next_id, used, cap;
} gen;

static void gen_start(gen *g, bench_workload *w, uint64_t seed)
{
    g->w = w;
    bench_rng_seed(&g->rng, seed);
    g->cap = w->chunk_count + 1u; /* every allocation holds at least one chunk */
    g->live = xcalloc(g->cap, sizeof *g->live);
    g->size = xcalloc(g->cap, sizeof *g->size);
    g->free_ids = xcalloc(g->cap, sizeof *g->free_ids);
    g->n_live = g->n_free = g->next_id = g->used = 0;
}

static void gen_alloc(gen *g, uint32_t chunks)
{
    uint32_t id = g->n_free > 0 ? g->free_ids[--g->n_free] : (uint32_t)g->next_id++;
    bench_trace_push(&g->w->trace, OP_ALLOC, id, chunks);
    g->size[id] = chunks;
    g->live[g->n_live++] = id;
    g->used += chunks;
}

/* Frees the live allocation at live[j] (swap-remove). */
static void gen_free_at(gen *g, size_t j)
{
    uint32_t id = g->live[j];
    bench_trace_push(&g->w->trace, OP_FREE, id, g->size[id]);
    g->used -= g->size[id];
    g->live[j] = g->live[--g->n_live];
    g->free_ids[g->n_free++] = id;
}

static size_t gen_pick(gen *g) { return (size_t)bench_rng_below(&g->rng, g->n_live); }

static void gen_finish(gen *g)
{
    bench_workload *w = g->w;
    size_t id;
    w->slots = g->next_id;
    for (id = 0; id < w->slots; id++) {
        bench_trace_push(&w->teardown, OP_FREE, (uint32_t)id, 0);
    }
    free(g->live);
    free(g->size);
    free(g->free_ids);
}

/* A grapheme's chunk count: mostly 1, halving per extra chunk, at most 16. */
static uint32_t grapheme_chunks(gen *g)
{
    uint32_t n = 1;
    while (n < 16u && (bench_rng_next(&g->rng) >> 63) != 0) {
        n++;
    }
    return n;
}

void bench_gen_terminal(bench_workload *w, size_t timed_ops, uint64_t seed)
{
    gen g;
    size_t target = (size_t)((double)w->chunk_count * w->target_fill), k;
    gen_start(&g, w, seed);
    while (g.used < target) {
        gen_alloc(&g, grapheme_chunks(&g));
    }
    w->prefix = w->trace.len;
    for (k = 0; k < timed_ops; k++) {
        double r = bench_rng_unit(&g.rng);
        /* Below the target, lean to allocating; above it, to freeing. Grows
         * happen either way, as graphemes gain codepoints. */
        double p_alloc = g.used < target ? 0.40 : 0.25, p_grow = 0.30;
        if (g.n_live == 0 || r < p_alloc) {
            gen_alloc(&g, grapheme_chunks(&g));
        } else if (r < p_alloc + p_grow) {
            size_t j = gen_pick(&g);
            uint32_t id = g.live[j];
            if (g.size[id] >= 16u) {
                gen_free_at(&g, j); /* a full grapheme is not grown further */
            } else {
                g.size[id]++;
                g.used++;
                bench_trace_push(&w->trace, OP_GROW, id, g.size[id]);
            }
        } else {
            gen_free_at(&g, gen_pick(&g));
        }
    }
    gen_finish(&g);
}

/* Log-uniform in [1, 1024]: floor(1025^u) for u uniform in [0, 1). */
static uint32_t log_uniform_chunks(gen *g)
{
    uint32_t n = (uint32_t)exp(bench_rng_unit(&g->rng) * log(1025.0));
    return n < 1u ? 1u : n > 1024u ? 1024u : n;
}

void bench_gen_mixed(bench_workload *w, size_t timed_ops, uint64_t seed)
{
    gen g;
    size_t target = (size_t)((double)w->chunk_count * w->target_fill), k, churn;
    gen_start(&g, w, seed);
    while (g.used < target) {
        gen_alloc(&g, log_uniform_chunks(&g));
    }
    /* Untimed churn, two ops per live allocation, so the timed part starts
     * from a fragmented steady state rather than a freshly packed heap. */
    churn = 2u * g.n_live;
    for (k = 0; k < churn + timed_ops; k++) {
        double p_alloc = g.used < target ? 0.6 : 0.4;
        if (k == churn) {
            w->prefix = w->trace.len;
        }
        if (g.n_live == 0 || bench_rng_unit(&g.rng) < p_alloc) {
            gen_alloc(&g, log_uniform_chunks(&g));
        } else {
            gen_free_at(&g, gen_pick(&g));
        }
    }
    gen_finish(&g);
}

void bench_gen_pairs(bench_trace *t, size_t pairs, uint32_t chunks)
{
    size_t k;
    for (k = 0; k < pairs; k++) {
        bench_trace_push(t, OP_ALLOC, 0, chunks);
        bench_trace_push(t, OP_FREE, 0, chunks);
    }
}

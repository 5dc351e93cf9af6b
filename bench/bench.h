/* Shared pieces of the benchmark: the operation trace, the contender
 * interface and the one trace replayer every contender runs. */
#ifndef BENCH_BENCH_H
#define BENCH_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ------------------------------------------------------------ the trace */

typedef enum bench_op_kind {
    OP_ALLOC, /* slot = alloc(chunks) */
    OP_FREE,  /* free(slot); skipped if the slot is empty (an earlier ENOMEM) */
    OP_GROW,  /* the terminal pattern: q = alloc(chunks); copy; free(slot); slot = q */
} bench_op_kind;

typedef struct bench_op {
    uint32_t kind;   /* bench_op_kind */
    uint32_t slot;   /* index into the replay's slot table */
    uint32_t chunks; /* size in chunks; bytes = chunks * chunk_size */
} bench_op;

/* A growable op array. */
typedef struct bench_trace {
    bench_op *ops;
    size_t len, cap;
} bench_trace;

/* One live allocation as the replayer sees it. */
typedef struct bench_slot {
    void *p;
    size_t chunks;
} bench_slot;

void bench_trace_push(bench_trace *t, bench_op_kind kind, uint32_t slot, uint32_t chunks);
void bench_trace_free(bench_trace *t);

/* A workload: one trace that every contender replays. ops[0, prefix) bring
 * the heap to its working state and are not timed; the rest are. */
typedef struct bench_workload {
    char name[48];
    char desc[160];
    size_t chunk_size, chunk_count; /* the fixed heaps' geometry */
    double target_fill;             /* fraction of chunk_count the trace keeps in use */
    bench_trace trace;
    size_t prefix;
    size_t slots;         /* size of the slot table the trace indexes */
    bench_trace teardown; /* FREE of every slot: releases what is left, untimed */
} bench_workload;

/* terminal: grapheme-like sizes of 1..16 chunks, grown by alloc(len + 1) /
 * copy / free, about half full. */
void bench_gen_terminal(bench_workload *w, size_t timed_ops, uint64_t seed);
/* mixed: log-uniform sizes of 1..1024 chunks, random frees, about 70% full. */
void bench_gen_mixed(bench_workload *w, size_t timed_ops, uint64_t seed);
/* scale: `pairs` x (alloc(chunks) into slot 0, free slot 0). */
void bench_gen_pairs(bench_trace *t, size_t pairs, uint32_t chunks);

/* ------------------------------------------------------------- PRNG */

/* xoshiro256** seeded by splitmix64: fast, and identical on every platform,
 * so a seed names one trace everywhere. */
typedef struct bench_rng {
    uint64_t s[4];
} bench_rng;

void bench_rng_seed(bench_rng *r, uint64_t seed);
uint64_t bench_rng_next(bench_rng *r);
/* Uniform in [0, n), n >= 1 (Lemire's multiply-shift, bias < 2^-32 here). */
uint64_t bench_rng_below(bench_rng *r, uint64_t n);
/* Uniform in [0, 1). */
double bench_rng_unit(bench_rng *r);

/* ------------------------------------------------------ the contenders */

/* Replays ops[0, n) against one contender; returns how many allocations
 * failed (ENOMEM for the fixed heaps, NULL from malloc). */
typedef size_t (*bench_replay_fn)(void *self, const bench_op *ops, size_t n, bench_slot *slots, size_t chunk_size);

struct bench_contender {
    const char *name;
    /* A fixed heap (this library, the baseline): allocations can fail with
     * ENOMEM, and it takes part in the scale workload. */
    bool fixed_heap;
    /* Makes an empty heap of chunk_count chunks (fixed heaps; malloc-based
     * contenders ignore the geometry). NULL if unavailable; *why says why. */
    void *(*create)(size_t chunk_size, size_t chunk_count, const char **why);
    /* Back to empty (fixed heaps); nothing for malloc-based contenders, whose
     * allocations the caller frees by replaying FREE ops. */
    void (*reset)(void *self);
    void (*destroy)(void *self);
    bench_replay_fn replay;
    /* Fixed heaps only, untimed: the scale workload's state. Chunks
     * [0, chunk_count - tail) are used except that each 64-chunk word keeps
     * one used chunk at bit `keep` and the rest free; [chunk_count - tail,
     * chunk_count) is free. */
    void (*fragment)(void *self, unsigned keep, size_t tail);
    /* Fixed heaps only: address of chunk 0, to turn pointers into indices. */
    void *(*chunk_base)(void *self);
};

typedef struct bench_contender bench_contender;

/* Every contender this build knows, at these positions first (then
 * jemalloc, mimalloc); *count receives the number. The fixed heaps come
 * first, [0, BENCH_FIXED). Unavailable ones are still listed: create() says
 * why. */
enum { BENCH_LIB = 0, BENCH_BASELINE = 1, BENCH_GHOSTTY_MAIN = 2, BENCH_FIXED = 3, BENCH_GLIBC = 3 };
const bench_contender *const *bench_contenders(size_t *count);

/* Where the process's malloc comes from (for the report). */
const char *bench_malloc_origin(void);

/* Call first in main: loads jemalloc, re-executing the process once with more
 * static TLS if its dlopen needs it (see contenders.c). */
void bench_prepare_process(char **argv);
/* Set in the environment of the re-executed process. */
#define BENCH_TLS_MARK "BMA_BENCH_TLS_REEXEC"

/* ------------------------------------------------------- the replayer */

#if defined(__GNUC__) || defined(__clang__)
#define BENCH_ALWAYS_INLINE __attribute__((always_inline))
#else
#define BENCH_ALWAYS_INLINE
#endif

/* The one replay loop. Each contender instantiates it with its own
 * alloc/free through BENCH_DEFINE_REPLAYER, so the compiler sees constant
 * function pointers and makes direct calls: the loop is the same source for
 * every contender and no contender pays for an extra indirect call. */
static inline BENCH_ALWAYS_INLINE size_t bench_replay_with(void *self, const bench_op *ops, size_t n, bench_slot *slots,
                                                           size_t chunk_size,
                                                           void *(*alloc_fn)(void *self, size_t bytes),
                                                           void (*free_fn)(void *self, void *p, size_t bytes))
{
    size_t failed = 0, i;
    for (i = 0; i < n; i++) {
        const bench_op *op = &ops[i];
        bench_slot *s = &slots[op->slot];
        switch ((bench_op_kind)op->kind) {
        case OP_ALLOC:
            s->p = alloc_fn(self, op->chunks * chunk_size);
            s->chunks = op->chunks;
            failed += s->p == NULL;
            break;
        case OP_FREE:
            if (s->p != NULL) {
                free_fn(self, s->p, s->chunks * chunk_size);
                s->p = NULL;
            }
            break;
        case OP_GROW: {
            /* alloc(len + 1), copy, free: what a terminal does to append to a
             * grapheme. The new run is taken while the old one is held. */
            void *q = alloc_fn(self, op->chunks * chunk_size);
            if (q == NULL) {
                failed++; /* keep the old allocation, as the caller would */
                break;
            }
            if (s->p != NULL) {
                size_t keep = s->chunks < op->chunks ? s->chunks : op->chunks;
                memcpy(q, s->p, keep * chunk_size);
                free_fn(self, s->p, s->chunks * chunk_size);
            }
            s->p = q;
            s->chunks = op->chunks;
            break;
        }
        }
    }
    return failed;
}

#define BENCH_DEFINE_REPLAYER(name, alloc_fn, free_fn)                                                  \
    static size_t name(void *self, const bench_op *ops, size_t n, bench_slot *slots, size_t chunk_size) \
    {                                                                                                   \
        return bench_replay_with(self, ops, n, slots, chunk_size, alloc_fn, free_fn);                   \
    }

#endif /* BENCH_BENCH_H */

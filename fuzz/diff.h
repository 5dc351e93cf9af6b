/* The differential engine: decodes bytes into bitmapalloc calls, runs each on
 * the library and on the reference oracle (oracle/oracle.h), and abort()s
 * with a message on stderr at the first difference in status, returned
 * chunk, stats, walk list, bma_check() result or allocation contents.
 * FUZZ_TRACE=1 in the environment prints every decoded op and its result.
 *
 * Checks. After every op, what that op could have changed:
 *   - the status, the returned chunk and every output (settle in diff.c);
 *   - a failing or read-only call left the metadata byte-identical: compared
 *     with a copy taken after the last successful change (memcmp of
 *     metadata_bytes, the cheapest way measured; see FUZZING.md);
 *   - the chunks the op took or released, and the chunk on either side of
 *     them: each released chunk (up to 32 at each end of a long run) is
 *     asked its state with a call that must fail (bma_free_chunks(i,
 *     SIZE_MAX): EDOUBLEFREE free, EBADPTR inside, ESIZE start), each
 *     allocation in the run through bma_usable_size;
 *   - the byte patterns of the allocations the op touched (before a free,
 *     resize or realloc, after a move, after a failed resize or realloc);
 *   - the O(1) counters: used chunks and live allocations kept by the engine
 *     against the oracle's orc_counts.
 * Every DIFF_FULL_EVERY ops, after attach and every relocation, and
 * at the end of the input, the full check: bma_check, every stats field
 * against the oracle and the counters, the walk against the oracle and the
 * engine's live table (so every chunk's state), and every live pattern.
 * A new heap from bma_init gets bma_check and check_geometry instead: it is
 * empty, and check_geometry has compared its stats with the contract.
 *
 * The encoding (all values are read from the END of the input with the
 * producer in producer.h; make_seeds.c writes inputs with the inverse):
 *
 *   diff_run:  cs_log  range(0, 12)           chunk_size = 1 << cs_log
 *              geo     range(0, DGEO_COUNT-1)  then, by geo:
 *                TINY   extra range(0, 2*cs+64): buf = min + extra
 *                CHUNKS n range(1, 200), slack range(0, cs-1)
 *                WORDS  w range(1, 200), d range(0, 2): n = 64*w' + d - 1 where
 *                       w' = 1 + (w-1) % min(200, max(1, DIFF_MAX_BYTES / (64*cs)))
 *                       (past 64 words the library keeps a search index)
 *                BYTES  s range(0, 22), b range(0, (1 << s) - 1): buf = min + b,
 *                       capped at DIFF_MAX_CHUNKS chunks and DIFF_MAX_BYTES
 *                BELOW  buf = min - 1: bma_init must fail, nothing else runs
 *              where min = bma_buffer_size(cs, cs) and CHUNKS/WORDS give
 *              buf = bma_buffer_size(cs, n*cs) + slack.
 *   then ops until the input is exhausted: op range(0, DOP_COUNT-1) and
 *   that op's arguments, drawn by the pickers described at each enum.
 *   The oracle's own search is O(chunk_count), so a run stops after
 *   max(32, DIFF_WORK_BUDGET / chunk_count) ops to keep big heaps fast.
 *   Heap sizes: TINY and CHUNKS heaps are small, BYTES heaps are
 *   log-uniform up to 4 MiB, WORDS heaps span 64 to 12,800 chunks; of the
 *   committed corpus 75% of the heaps are under 64 KiB and 8% 1 MiB or more. */
#ifndef BMA_FUZZ_DIFF_H
#define BMA_FUZZ_DIFF_H

#include <stddef.h>
#include <stdint.h>

#define DIFF_MAX_BYTES ((size_t)4 << 20)
#define DIFF_MAX_CHUNKS ((size_t)1 << 16)
#define DIFF_MAX_OPS 100000
#define DIFF_WORK_BUDGET ((size_t)1 << 21)
#define DIFF_FULL_EVERY 16 /* ops between full checks */

enum diff_geo { DGEO_TINY, DGEO_CHUNKS, DGEO_WORDS, DGEO_BYTES, DGEO_BELOW, DGEO_COUNT };

/* Ops and their arguments, in the order they are read. */
enum diff_op {
    DOP_ALLOC,         /* size, align */
    DOP_ALLOC_ALIGNED, /* size, align (forced: never kinds 0..2) */
    DOP_ALLOC_ARRAY,   /* array pair, align */
    DOP_ALLOC_CHUNKS,  /* count(rel 0) */
    DOP_FREE,          /* target */
    DOP_FREE_SIZED,    /* target, size(rel = count of the live allocation at target, else 0) */
    DOP_FREE_CHUNKS,   /* index, count(rel as above) */
    DOP_RESIZE,        /* target, size(rel) */
    DOP_REALLOC,       /* target, size(rel), align */
    DOP_USABLE_SIZE,   /* target */
    DOP_CHUNK_PTR,     /* index */
    DOP_CHUNK_INDEX,   /* target */
    DOP_WALK,          /* stop range(0, 255): stop after that many calls, 0 = never */
    DOP_VERIFY,        /* (none): check every live allocation's pattern */
    DOP_RELOCATE,      /* mode range(0, DREL_COUNT-1), extra range(1, 4096) for the BIGGER modes, cut range(0, 65535) */
    DOP_BAD_ARGS,      /* which range(0, DBAD_COUNT-1) */
    DOP_COUNT
};

/* live: j range(0, 255), the (j % nlive)-th live allocation by chunk index
 * (none if nlive == 0). */

/* target (a pointer): kind range(0, 15); kinds >= DT_COUNT mean DT_LIVE. */
enum diff_target {
    DT_LIVE,     /* live; its start (chunk 0 if none) */
    DT_INTERIOR, /* live, c range(1, 255): chunk 1 + c % (count-1) of it, or the chunk after a 1-chunk one */
    DT_OFFBOUND, /* live, d range(1, 4095): start + 1 + (d-1) % (cs-1) (start if cs == 1) */
    DT_META,     /* m range(0, 65535): offset m % chunks_offset */
    DT_CHUNK,    /* i range(0, 65535): chunk i % (chunk_count + 2) */
    DT_FREED,    /* the start most recently freed (chunk 0 if none) */
    DT_END,      /* d range(0, 255): end of the chunk region + d */
    DT_BEFORE,   /* d range(1, 4096): offset -(d + 1) */
    DT_FAR,      /* s range(20, 62): offset 1 << s */
    DT_NULL,     /* the NULL pointer */
    DT_COUNT
};

/* index (a chunk index): kind range(0, 7); kinds >= DI_COUNT mean DI_LIVE. */
enum diff_index {
    DI_LIVE,     /* live; its index (0 if none) */
    DI_INTERIOR, /* live, c range(1, 255): as DT_INTERIOR, in chunks */
    DI_ANY,      /* i range(0, 65535): i % (chunk_count + 2) */
    DI_FREED,    /* the start most recently freed (0 if none) */
    DI_HUGE,     /* d range(0, 255): SIZE_MAX - d */
    DI_COUNT
};

/* size (bytes), relative to rel chunks (rel 0 reads as 1): kind range(0, 15). */
enum diff_size {
    DS_EXACT,  /* rel * cs */
    DS_INSIDE, /* d range(0, cs-1): rel * cs - d (same chunk count) */
    DS_OVER,   /* d range(0, cs-1): rel * cs + 1 + d (one chunk more) */
    DS_SHRINK, /* n range(1, 65535): (1 + n % (rel-1 or 1)) * cs */
    DS_GROW,   /* g range(1, 64): (rel + g) * cs */
    DS_SMALL,  /* b range(1, 4*cs) */
    DS_CHUNKS, /* n range(1, 64): n * cs */
    DS_BIG,    /* b range(1, (chunk_count + 1) * cs) */
    DS_HUGE,   /* d range(0, 4096): SIZE_MAX - d */
    DS_ZERO,   /* 0 */
    DS_POW2,   /* s range(0, 63): 1 << s */
    DS_COUNT   /* kinds >= DS_COUNT mean DS_SMALL */
};

/* count (chunks), relative to rel: kind range(0, 7). */
enum diff_count {
    DC_EXACT, /* rel (1 if rel is 0) */
    DC_MORE,  /* rel + 1 */
    DC_LESS,  /* rel - 1 (0 for rel <= 1) */
    DC_ZERO,  /* 0 */
    DC_SMALL, /* n range(1, 64) */
    DC_ANY,   /* n range(1, chunk_count + 1) */
    DC_HUGE,  /* d range(0, 255): SIZE_MAX - d */
    DC_COUNT  /* kinds >= DC_COUNT mean DC_SMALL */
};

/* align: kind range(0, 7), forced aligns read range(3, 7) instead. */
enum diff_align {
    DA_ZERO,      /* 0 (kinds 0..2) */
    DA_SMALL = 3, /* s range(0, 12): 1 << s (kinds 3, 4) */
    DA_LARGE = 5, /* s range(13, 30): 1 << s */
    DA_HUGE = 6,  /* s range(31, 63): 1 << s */
    DA_BAD = 7    /* b range(0, 7): one of 3, 5, 6, 12, 24, 4097, SIZE_MAX / 2 + 1 | 1 (2^63 + 1 on 64-bit), SIZE_MAX */
};

/* alloc_array pair: kind range(0, 7). */
enum diff_array {
    DR_SMALL,        /* elem range(1, 256), count range(1, 256) (kinds 0..2) */
    DR_OVERFLOW = 3, /* s range(1, 63), d range(0, 255): elem 1 << s, count SIZE_MAX / elem + 1 + d */
    DR_EDGE = 4,     /* elem range(1, 65535): count SIZE_MAX / elem (exact product fits) */
    DR_ZERO = 5,     /* which range(0, 1): elem 0 or count 0, the other range(1, 255) */
    DR_HUGE = 6,     /* elem range(1, 255), count d range(0, 255): SIZE_MAX / 2 + d */
    DR_BIG = 7       /* elem range(1, 16), count range(1, chunk_count * cs) */
};

enum diff_relocate {
    DREL_SAME,        /* exact-size copy */
    DREL_BIGGER,      /* extra bytes, attached with the whole bigger size */
    DREL_BIGGER_HEAP, /* extra bytes, attached with the heap's own size */
    DREL_TRUNCATED,   /* also probe attach of a truncated copy of cut % buffer_size bytes */
    DREL_COUNT
};

enum diff_bad { DBAD_COUNT = 31 }; /* the NULL / bad-argument probes in diff.c */

/* Decodes a geometry from the end of data, then runs ops from the rest.
 * Returns the number of ops run (-1 if the geometry was only an init probe).
 * abort()s on any mismatch. */
int diff_run(const uint8_t *data, size_t size);

/* Runs ops from data on a fresh heap of chunk_size and buf_size bytes
 * (buf_size >= bma_buffer_size(chunk_size, chunk_size)). */
int diff_run_geom(size_t chunk_size, size_t buf_size, const uint8_t *data, size_t size);

/* Attaches a copy of the heap image img (buf_size bytes) in the engine's own
 * buffer, builds an oracle from bma_walk, and runs ops from data. Returns -1
 * if bma_attach fails. */
int diff_run_heap(const void *img, size_t buf_size, const uint8_t *data, size_t size);

/* Reusable buffers, one per slot: diff_buffer(slot, size) returns an
 * 8-aligned buffer of which exactly size bytes are addressable (under ASan
 * the rest of the slot is poisoned, so reading past size is reported as
 * with an exact-size malloc). The bytes are those the slot last held. The
 * buffer is valid until the next call for the same slot, and a heap in it
 * must be bma_detach()ed before that call: only the bytes between the old
 * and the new size are (un)poisoned. */
enum diff_buf {
    DBUF_HEAP,  /* the engine's heap */
    DBUF_HEAP2, /* the engine's heap after a relocation (then back) */
    DBUF_PROBE, /* the engine's truncated copies */
    DBUF_USER1, /* for the harnesses */
    DBUF_USER2,
    DBUF_USER3,
    DBUF_COUNT
};
uint8_t *diff_buffer(unsigned slot, size_t size);

/* Totals since the process started, for test drivers. */
typedef struct diff_totals {
    unsigned long runs, ops, relocations, failed_calls;
} diff_totals;
diff_totals diff_get_totals(void);

#endif

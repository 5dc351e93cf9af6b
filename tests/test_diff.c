/* Seeded random differential test: the fuzz_ops engine (fuzz/diff.c) on
 * byte strings from a splitmix64 stream, over a sweep of geometries (every
 * chunk size 1..4096; tiny, word-edge and multi-MiB buffers; partial last
 * bitmap words). Each input is a complete fuzz_ops input (random op bytes,
 * then the geometry encoded at the end), so a failing one is written to
 * test_diff-failure.bin and replays with the fuzz_ops harness.
 *
 * Environment: TEST_DIFF_SEED (default 1) changes the stream,
 * TEST_DIFF_SCALE (default 4) the number of strings per geometry.
 * Fails (abort, non-zero) on the first mismatch. */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bitmapalloc.h"
#include "diff.h"
#include "producer.h"

static uint64_t rng;

static uint64_t splitmix64(void)
{
    uint64_t z = (rng += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint64_t below(uint64_t n) { return splitmix64() % n; }

/* The input being run, for the abort handler. */
static const uint8_t *cur;
static size_t cur_len;

static void on_abort(int sig)
{
    static const char path[] = "test_diff-failure.bin";
    static const char msg[] = "\ntest_diff: failing input written to test_diff-failure.bin in the working directory;"
                              " replay: FUZZ_TRACE=1 fuzz/fuzz_ops test_diff-failure.bin\n";
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        size_t off = 0;
        while (off < cur_len) {
            ssize_t w = write(fd, cur + off, cur_len - off);
            if (w <= 0) {
                break;
            }
            off += (size_t)w;
        }
        close(fd);
        if (write(STDERR_FILENO, msg, sizeof msg - 1) < 0) {
            /* nothing more to do in a signal handler */
        }
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static unsigned long runs, ops;

/* Runs random op bytes on the geometry already put in g (consumption order). */
static void run(fdp_enc *g, size_t nbytes)
{
    size_t glen;
    uint8_t *geo = fdp_enc_finish(g, &glen);
    uint8_t *in = malloc(nbytes + glen);
    if (!in) {
        abort();
    }
    for (size_t i = 0; i < nbytes; i++) {
        in[i] = (uint8_t)splitmix64();
    }
    if (glen) {
        memcpy(in + nbytes, geo, glen);
    }
    free(geo);
    cur = in;
    cur_len = nbytes + glen;
    int n = diff_run(in, nbytes + glen);
    runs++;
    ops += n > 0 ? (unsigned long)n : 0;
    cur = NULL;
    free(in);
}

static void geo_start(fdp_enc *g, unsigned cs_log, enum diff_geo kind)
{
    memset(g, 0, sizeof *g);
    fdp_enc_range(g, cs_log, 0, 12);
    fdp_enc_range(g, kind, 0, DGEO_COUNT - 1);
}

int main(void)
{
    const char *s = getenv("TEST_DIFF_SEED"), *sc = getenv("TEST_DIFF_SCALE");
    uint64_t seed = s ? strtoull(s, NULL, 0) : 1;
    unsigned scale = sc ? (unsigned)strtoul(sc, NULL, 0) : 4;
    rng = seed;
    signal(SIGABRT, on_abort);
    clock_t t0 = clock();

    static const size_t counts[] = {1, 2, 63, 64, 65, 127, 129, 200};
    for (unsigned l = 0; l <= 12; l++) {
        size_t cs = (size_t)1 << l;
        fdp_enc g;
        for (unsigned r = 0; r < scale; r++) {
            /* tiny: just above the minimum */
            geo_start(&g, l, DGEO_TINY);
            fdp_enc_range(&g, below(2 * cs + 65), 0, 2 * cs + 64);
            run(&g, 64 + below(400));
            /* exact chunk counts, including partial last words */
            for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
                geo_start(&g, l, DGEO_CHUNKS);
                fdp_enc_range(&g, counts[i], 1, 200);
                fdp_enc_range(&g, below(cs), 0, cs - 1);
                run(&g, 200 + below(1500));
            }
            /* word edges: 64w - 1, 64w, 64w + 1 chunks; past 64 words
             * the library keeps a run index */
            static const size_t words[] = {1, 2, 3, 5, 8, 63, 64, 65, 72, 130, 200};
            for (size_t d = 0; d <= 2; d++) {
                geo_start(&g, l, DGEO_WORDS);
                fdp_enc_range(&g, words[below(sizeof words / sizeof words[0])], 1, 200);
                fdp_enc_range(&g, d, 0, 2);
                run(&g, 200 + below(1500));
            }
        }
        /* one big heap per chunk size: up to DIFF_MAX_BYTES or 2^18 chunks */
        geo_start(&g, l, DGEO_BYTES);
        fdp_enc_range(&g, 22, 0, 22);
        fdp_enc_range(&g, ((size_t)1 << 22) - 1 - below(4096), 0, ((size_t)1 << 22) - 1);
        run(&g, 400 + below(400));
    }
    /* and geometries drawn at random, like the fuzzer's */
    for (unsigned r = 0; r < 50 * scale; r++) {
        fdp_enc g;
        memset(&g, 0, sizeof g);
        run(&g, 50 + below(2000));
    }

    diff_totals t = diff_get_totals();
    printf("test_diff: seed %llu: %lu runs, %lu ops (%lu refused calls compared, %lu relocations) in %.1f s CPU\n",
           (unsigned long long)seed, runs, ops, t.failed_calls, t.relocations, (double)(clock() - t0) / CLOCKS_PER_SEC);
    return runs && ops ? 0 : 1;
}

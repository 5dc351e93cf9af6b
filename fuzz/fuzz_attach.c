/* bma_attach on hostile buffers. Input byte 0 picks the mode:
 *   even: the rest of the input IS the heap buffer, tried at several
 *         buf_size values (exact, one short, rounded down to 8, half, padded);
 *   odd:  a valid heap is built from the input (producer.h, from the end):
 *         cs_log range(0, 8), big bool, chunks range(1, 300), or for big heaps
 *         (more than 64 bitmap words: the library adds a search index)
 *         range(4097, 12000) chunks of at most 16 bytes; steps range(0, 16) of
 *         {free? bool, count range(1, 8) or live j range(0, 255)}, then
 *         flips range(1, 8) of {where range(0, 7) (0 = anywhere, else the
 *         metadata), pos range(0, 65535), xor range(1, 255)}, then
 *         cut range(0, 3) (0 keep, 1 drop the last byte, 2 pad by 8,
 *         3 drop d range(1, 64) bytes), and the rest drives diff ops.
 * Attach must answer OK or ECORRUPT, read nothing past buf_size (each
 * buffer is a diff_buffer() slot with exactly buf_size addressable bytes)
 * and write nothing. An accepted heap
 * must pass bma_check and then survive differential ops against an oracle
 * rebuilt from bma_walk (diff_run_heap). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bitmapalloc.h"
#include "diff.h"
#include "producer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_OPS_BYTES 256

static void die(const char *what, size_t buf_size, bma_status st)
{
    fprintf(stderr, "fuzz_attach: %s (buf_size %zu, status %s)\n", what, buf_size, bma_strerror(st));
    abort();
}

/* Attaches a fresh exact-size copy of img[0, len), zero padded to buf_size.
 * If accepted and ops is non-NULL, hands it to the differential engine.
 * Returns the attach status. */
static bma_status try_attach(const uint8_t *img, size_t len, size_t buf_size, const uint8_t *ops, size_t nops)
{
    uint8_t *b = diff_buffer(DBUF_USER1, buf_size);
    uint8_t *copy = diff_buffer(DBUF_USER2, buf_size);
    size_t n = len < buf_size ? len : buf_size;
    memcpy(b, img, n);
    memset(b + n, 0, buf_size - n);
    memcpy(copy, b, buf_size);
    bma_heap *h = NULL;
    bma_status st = bma_attach(b, buf_size, &h);
    if (st != BMA_OK && st != BMA_ECORRUPT) {
        die("attach answered neither OK nor ECORRUPT", buf_size, st);
    }
    if (st == BMA_OK) {
        if ((void *)h != (void *)b) {
            die("attach returned a handle that is not the buffer", buf_size, st);
        }
        bma_status c = bma_check(h);
        if (c != BMA_OK) {
            die("attach accepted a heap that bma_check refuses", buf_size, c);
        }
        bma_stats s;
        if (bma_get_stats(h, &s) != BMA_OK || s.buffer_size > buf_size) {
            die("accepted heap claims more bytes than it was given", buf_size, st);
        }
        bma_detach(h); /* attach poisons free chunks; make them readable for memcmp */
    }
    if (memcmp(b, copy, buf_size) != 0) {
        die("attach wrote the buffer", buf_size, st);
    }
    if (st == BMA_OK && ops && diff_run_heap(b, buf_size, ops, nops) < 0) {
        die("a second attach of the same bytes failed", buf_size, st);
    }
    return st;
}

static void raw_mode(const uint8_t *img, size_t n)
{
    const uint8_t *ops = img + (n > MAX_OPS_BYTES ? n - MAX_OPS_BYTES : 0);
    size_t nops = n < MAX_OPS_BYTES ? n : MAX_OPS_BYTES;
    bma_status full = try_attach(img, n, n, ops, nops);
    /* Larger buf_size than the heap needs is always accepted. */
    bma_status padded = try_attach(img, n, n + 8, NULL, 0);
    if (full == BMA_OK && padded != BMA_OK) {
        die("heap accepted at its size but refused with 8 more bytes", n + 8, padded);
    }
    if (n) {
        try_attach(img, n, n - 1, NULL, 0);
    }
    try_attach(img, n, n & ~(size_t)7, NULL, 0);
    try_attach(img, n, n / 2, NULL, 0);
}

static void flip_mode(const uint8_t *in, size_t n)
{
    fdp p;
    fdp_init(&p, in, n);
    size_t cs = (size_t)1 << fdp_range(&p, 0, 8), size, chunks;
    if (fdp_bool(&p)) {
        chunks = fdp_size(&p, 4097, 12000);
        cs = cs > 16 ? 16 : cs;
    } else {
        chunks = fdp_size(&p, 1, 300);
    }
    if (bma_buffer_size(cs, chunks * cs, &size) != BMA_OK) {
        abort();
    }
    uint8_t *b = diff_buffer(DBUF_USER3, size + 8);
    memset(b, 0, size + 8);
    bma_heap *h;
    bma_status st = bma_init(b, size, cs, &h);
    if (st != BMA_OK) {
        die("bma_init", size, st);
    }
    size_t starts[16], counts[16], nstarts = 0, steps = fdp_size(&p, 0, 16);
    for (size_t i = 0; i < steps; i++) {
        if (fdp_bool(&p)) {
            size_t j = fdp_size(&p, 0, 255);
            if (nstarts) {
                j %= nstarts;
                st = bma_free_chunks(h, starts[j], counts[j]);
                if (st != BMA_OK) {
                    die("freeing a live allocation", size, st);
                }
                nstarts--;
                starts[j] = starts[nstarts];
                counts[j] = counts[nstarts];
            }
        } else {
            size_t idx, count = fdp_size(&p, 1, 8);
            if (bma_alloc_chunks(h, count, &idx) == BMA_OK) {
                starts[nstarts] = idx;
                counts[nstarts++] = count;
            }
        }
    }
    bma_stats s;
    bma_get_stats(h, &s);
    bma_detach(h);
    size_t flips = fdp_size(&p, 1, 8);
    for (size_t i = 0; i < flips; i++) {
        unsigned where = (unsigned)fdp_range(&p, 0, 7);
        size_t pos = fdp_size(&p, 0, 65535) % (where ? s.metadata_bytes : size);
        b[pos] ^= (uint8_t)fdp_range(&p, 1, 255);
    }
    size_t buf_size = size;
    switch (fdp_range(&p, 0, 3)) {
    case 1: buf_size = size - 1; break;
    case 2: buf_size = size + 8; break;
    case 3: {
        size_t d = fdp_size(&p, 1, 64);
        buf_size = size > d ? size - d : 0;
        break;
    }
    default: break;
    }
    size_t left = fdp_remaining(&p);
    try_attach(b, size + 8, buf_size, in + (left > MAX_OPS_BYTES ? left - MAX_OPS_BYTES : 0),
               left < MAX_OPS_BYTES ? left : MAX_OPS_BYTES);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    if (data[0] & 1) {
        flip_mode(data + 1, size - 1);
    } else {
        raw_mode(data + 1, size - 1);
    }
    return 0;
}

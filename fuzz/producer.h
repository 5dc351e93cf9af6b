/* A tiny fuzz data producer, in the spirit of zstd's fuzz_data_producer and
 * libFuzzer's FuzzedDataProvider: every value is taken from the END of the
 * input, big-endian, using only as many bytes as its range needs, and an
 * exhausted producer yields the range minimum (raw 0). Taking from the end
 * keeps the decoding stable when a mutator appends or truncates bytes.
 *
 * fdp_enc_* is the exact inverse, used by make_seeds.c to write inputs that
 * decode to a chosen sequence of values. */
#ifndef BMA_FUZZ_PRODUCER_H
#define BMA_FUZZ_PRODUCER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fdp {
    const uint8_t *data;
    size_t size; /* bytes not yet consumed: data[0 .. size) */
} fdp;

static inline void fdp_init(fdp *p, const uint8_t *data, size_t size)
{
    p->data = data;
    p->size = data ? size : 0;
}

static inline size_t fdp_remaining(const fdp *p) { return p->size; }

/* A value in [lo, hi]; consumes one byte per 8 bits of (hi - lo). */
static inline uint64_t fdp_range(fdp *p, uint64_t lo, uint64_t hi)
{
    if (hi <= lo) {
        return lo;
    }
    uint64_t range = hi - lo, v = 0;
    unsigned bits = 0;
    while (bits < 64 && (range >> bits) != 0 && p->size > 0) {
        v = (v << 8) | p->data[--p->size];
        bits += 8;
    }
    if (range != UINT64_MAX) {
        v %= range + 1;
    }
    return lo + v;
}

static inline size_t fdp_size(fdp *p, size_t lo, size_t hi) { return (size_t)fdp_range(p, lo, hi); }

static inline int fdp_bool(fdp *p) { return (int)fdp_range(p, 0, 1); }

/* Up to n raw bytes into out (taken from the end, in buffer order); the
 * rest of out is zeroed. Returns how many were real. */
static inline size_t fdp_bytes(fdp *p, void *out, size_t n)
{
    size_t k = n < p->size ? n : p->size;
    memcpy(out, p->data + p->size - k, k);
    memset((uint8_t *)out + k, 0, n - k);
    p->size -= k;
    return k;
}

/* ------------------------------------------------------------- encoder */

typedef struct fdp_enc {
    uint8_t *buf; /* bytes in CONSUMPTION order; fdp_enc_finish reverses */
    size_t len, cap;
} fdp_enc;

static inline void fdp_enc_byte(fdp_enc *e, uint8_t b)
{
    if (e->len == e->cap) {
        size_t ncap = e->cap ? 2 * e->cap : 256;
        uint8_t *nb = (uint8_t *)realloc(e->buf, ncap);
        if (!nb) {
            abort();
        }
        e->buf = nb;
        e->cap = ncap;
    }
    e->buf[e->len++] = b;
}

/* Encodes v so that fdp_range(p, lo, hi) returns it. */
static inline void fdp_enc_range(fdp_enc *e, uint64_t v, uint64_t lo, uint64_t hi)
{
    if (hi <= lo) {
        return;
    }
    if (v < lo || v > hi) { /* a generator bug: the value cannot be decoded */
        fprintf(stderr, "fdp_enc_range: %llu outside [%llu, %llu]\n", (unsigned long long)v, (unsigned long long)lo,
                (unsigned long long)hi);
        abort();
    }
    uint64_t range = hi - lo, r = v - lo;
    unsigned nbytes = 0;
    while (nbytes < 8 && (range >> (8 * nbytes)) != 0) {
        nbytes++;
    }
    for (unsigned i = nbytes; i-- > 0;) {
        fdp_enc_byte(e, (uint8_t)(r >> (8 * i)));
    }
}

static inline void fdp_enc_bytes(fdp_enc *e, const void *src, size_t n)
{
    /* fdp_bytes takes the LAST n bytes in buffer order, so after the final
     * reversal they must read forwards: push them backwards. */
    for (size_t i = n; i-- > 0;) {
        fdp_enc_byte(e, ((const uint8_t *)src)[i]);
    }
}

/* The input, in buffer order; the encoder is emptied. Caller frees. */
static inline uint8_t *fdp_enc_finish(fdp_enc *e, size_t *len)
{
    for (size_t i = 0; i < e->len / 2; i++) {
        uint8_t t = e->buf[i];
        e->buf[i] = e->buf[e->len - 1 - i];
        e->buf[e->len - 1 - i] = t;
    }
    uint8_t *out = e->buf;
    *len = e->len;
    e->buf = NULL;
    e->len = e->cap = 0;
    return out;
}

#endif

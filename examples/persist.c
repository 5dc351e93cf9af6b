/* A heap persisted to a file and loaded back with bma_attach.
 *
 * The heap holds a linked list of notes. Links are chunk indices, never
 * pointers, so the list means the same wherever the buffer is loaded. The
 * heap is written out as its raw bytes (in this machine's byte order), after
 * bma_detach: sanitizer builds poison free chunks, and writing the buffer
 * reads all of it.
 *
 * Then the file is damaged on purpose: truncated files and a flipped header
 * byte must be refused with BMA_ECORRUPT. Last, every single-bit flip of the
 * metadata is tried: bma_attach must either refuse it or give a heap that
 * passes bma_check and can be walked. Loaded buffers are malloc'd at exactly
 * the file's size, so a sanitizer build catches any read past the end.
 * Exits non-zero if anything is not as expected.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bitmapalloc.h"
#include "bitmapalloc_dump.h"

#define CHUNK 32u
#define CAPACITY 4096u
#define NO_NOTE SIZE_MAX

typedef struct root { /* the first allocation, at chunk 0 */
    uint64_t magic;
    size_t count; /* notes in the list */
    size_t first; /* chunk index of the first note, or NO_NOTE */
} root;

typedef struct note {
    size_t next; /* chunk index of the next note, or NO_NOTE */
    size_t len;
    char text[]; /* len bytes and a NUL */
} note;

#define ROOT_MAGIC UINT64_C(0x53455443494E4F4E) /* "NONICTES" */

static const char *const texts[] = {
    "buy milk",
    "the heap is one buffer; links are chunk indices",
    "call the plumber about the noise in the pipes on the third floor",
    "x",
    "persisted heaps survive a restart",
    "bma_attach validates before it trusts",
};
#define TEXTS (sizeof texts / sizeof texts[0])
#define DROPPED_A 1u /* notes freed again before saving, leaving holes */
#define DROPPED_B 3u

static int failures;

#define CHECK(cond, ...)                                    \
    do {                                                    \
        if (!(cond)) {                                      \
            fprintf(stderr, "persist: FAIL: " __VA_ARGS__); \
            fputc('\n', stderr);                            \
            failures++;                                     \
        }                                                   \
    } while (0)

static bool write_file(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    bool ok = f != NULL && fwrite(data, 1, size, f) == size;
    if (f != NULL && fclose(f) != 0) {
        ok = false;
    }
    return ok;
}

/* Reads the whole file into a buffer of exactly its size (at least 1 byte). */
static void *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf;
    long end;
    if (f == NULL) {
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (end = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return NULL;
    }
    *size = (size_t)end;
    buf = (unsigned char *)malloc(*size != 0 ? *size : 1u); /* malloc's alignment >= BMA_BUFFER_ALIGN */
    if (buf != NULL && fread(buf, 1, *size, f) != *size) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

static note *note_at(bma_heap *h, size_t index) { return (note *)bma_chunk_ptr(h, index); }

/* Builds the list: every text appended in order, then two notes unlinked and freed. */
static bma_heap *build(void *buf, size_t size)
{
    bma_heap *h;
    root *r;
    size_t i, index[TEXTS], *link;
    bma_status rc = bma_init(buf, size, CHUNK, &h);
    CHECK(rc == BMA_OK, "bma_init: %s", bma_strerror(rc));
    if (rc != BMA_OK) {
        return NULL;
    }
    rc = bma_alloc(h, sizeof(root), 0, (void **)&r);
    CHECK(rc == BMA_OK && (void *)r == bma_chunk_ptr(h, 0), "the root must be at chunk 0");
    if (rc != BMA_OK) {
        return NULL;
    }
    r->magic = ROOT_MAGIC;
    r->count = 0;
    r->first = NO_NOTE;
    link = &r->first;
    for (i = 0; i < TEXTS; i++) {
        size_t len = strlen(texts[i]);
        note *n;
        rc = bma_alloc(h, sizeof(note) + len + 1u, 0, (void **)&n);
        CHECK(rc == BMA_OK, "bma_alloc: %s", bma_strerror(rc));
        if (rc != BMA_OK || bma_chunk_index(h, n, &index[i]) != BMA_OK) {
            return NULL;
        }
        n->next = NO_NOTE;
        n->len = len;
        memcpy(n->text, texts[i], len + 1u);
        *link = index[i];
        link = &n->next;
        r->count++;
    }
    /* Unlink and free two notes; their chunks become holes. */
    note_at(h, index[DROPPED_A - 1u])->next = index[DROPPED_A + 1u];
    note_at(h, index[DROPPED_B - 1u])->next = index[DROPPED_B + 1u];
    CHECK(bma_free(h, note_at(h, index[DROPPED_A])) == BMA_OK, "free");
    CHECK(bma_free(h, note_at(h, index[DROPPED_B])) == BMA_OK, "free");
    r->count -= 2u;
    return h;
}

/* Follows the list from the root and compares it with texts[]. */
static bool verify(bma_heap *h, bool print)
{
    const root *r = (const root *)bma_chunk_ptr(h, 0);
    size_t at, i = 0, seen = 0;
    if (r == NULL || bma_usable_size(h, r) < sizeof(root) || r->magic != ROOT_MAGIC) {
        return false;
    }
    for (at = r->first; at != NO_NOTE; at = note_at(h, at)->next) {
        const note *n = note_at(h, at);
        if (i == DROPPED_A || i == DROPPED_B) {
            i++;
        }
        if (n == NULL || seen >= r->count || i >= TEXTS || bma_usable_size(h, n) < sizeof(note) + n->len + 1u ||
            n->len != strlen(texts[i]) || memcmp(n->text, texts[i], n->len + 1u) != 0) {
            return false;
        }
        if (print) {
            printf("  note at chunk %2zu: \"%s\"\n", at, n->text);
        }
        i++;
        seen++;
    }
    return seen == r->count;
}

/* Loads path into a buffer of its exact size plus extra bytes and attaches. */
static bma_status load(const char *path, size_t extra, void **buf, bma_heap **h)
{
    size_t size;
    unsigned char *data = (unsigned char *)read_file(path, &size), *bigger;
    if (data == NULL) {
        return BMA_EINVAL;
    }
    if (extra != 0) {
        bigger = (unsigned char *)realloc(data, size + extra);
        if (bigger == NULL) {
            free(data);
            return BMA_EINVAL;
        }
        data = bigger;
        memset(data + size, 0xA5, extra);
    }
    *buf = data;
    return bma_attach(data, size + extra, h);
}

static void expect_corrupt(const char *what, const char *path)
{
    void *buf = NULL;
    bma_heap *h;
    bma_status rc = load(path, 0, &buf, &h);
    printf("%-40s bma_attach: %s\n", what, bma_strerror(rc));
    CHECK(rc == BMA_ECORRUPT, "%s: want BMA_ECORRUPT, got %s", what, bma_strerror(rc));
    free(buf);
}

static int count_allocation(size_t index, size_t count, void *ctx)
{
    (void)index;
    (void)count;
    ++*(size_t *)ctx;
    return 0;
}

/* Every single-bit flip in the metadata: refused, or a heap that checks out. */
static void flip_every_metadata_bit(const unsigned char *image, size_t size, size_t metadata_bytes)
{
    unsigned char *copy = (unsigned char *)malloc(size);
    FILE *sink = fopen("/dev/null", "w");
    size_t byte, refused = 0, accepted = 0;
    unsigned bit;
    if (copy == NULL || sink == NULL) {
        CHECK(false, "malloc / fopen /dev/null");
        free(copy);
        if (sink != NULL) {
            fclose(sink);
        }
        return;
    }
    for (byte = 0; byte < metadata_bytes; byte++) {
        for (bit = 0; bit < 8u; bit++) {
            bma_heap *h;
            bma_status rc;
            memcpy(copy, image, size);
            copy[byte] = (unsigned char)(copy[byte] ^ (1u << bit));
            rc = bma_attach(copy, size, &h);
            if (rc == BMA_ECORRUPT) {
                refused++;
            } else if (rc == BMA_OK) {
                size_t walked = 0;
                bma_stats s;
                accepted++;
                CHECK(bma_check(h) == BMA_OK, "byte %zu bit %u: attached but bma_check fails", byte, bit);
                CHECK(bma_walk(h, count_allocation, &walked) == BMA_OK && bma_get_stats(h, &s) == BMA_OK &&
                          walked == s.live_allocations && s.buffer_size <= size,
                      "byte %zu bit %u: attached heap walks inconsistently", byte, bit);
                CHECK(bma_dump(h, sink) == BMA_OK, "bma_dump");
                (void)bma_detach(h);
            } else {
                CHECK(false, "byte %zu bit %u: bma_attach: %s", byte, bit, bma_strerror(rc));
            }
        }
    }
    printf("single-bit flips of the %zu metadata bytes: %zu refused, %zu accepted as another consistent heap\n",
           metadata_bytes, refused, accepted);
    CHECK(refused > 0, "no flip was detected");
    fclose(sink);
    free(copy);
}

int main(void)
{
    char path[256], damaged[300];
    const char *dir = getenv("TMPDIR");
    size_t size, file_size, saved, cut;
    void *buf, *loaded = NULL;
    unsigned char *image;
    bma_heap *h;
    bma_stats s;
    bma_status rc;
    int fd;
    static const size_t cuts[] = {0, 8, 1};

    snprintf(path, sizeof path, "%s/bma-persist-XXXXXX", dir != NULL && dir[0] != '\0' ? dir : "/tmp");
    fd = mkstemp(path);
    if (fd < 0) {
        fprintf(stderr, "persist: mkstemp: %s\n", strerror(errno));
        return 1;
    }
    close(fd);
    snprintf(damaged, sizeof damaged, "%s.damaged", path);

    /* 1. Build and save. */
    if (bma_buffer_size(CHUNK, CAPACITY, &size) != BMA_OK || (buf = calloc(1, size)) == NULL) {
        unlink(path);
        return 1;
    }
    h = build(buf, size);
    if (h == NULL || !verify(h, false) || bma_get_stats(h, &s) != BMA_OK) {
        CHECK(false, "building the list");
        free(buf);
        unlink(path);
        return 1;
    }
    printf("-- heap before saving:\n");
    (void)bma_dump(h, stdout);
    (void)bma_detach(h);
    CHECK(write_file(path, buf, s.buffer_size), "writing %s", path);
    free(buf);
    saved = s.buffer_size;
    printf("saved %zu bytes\n", saved);

    /* 2. Load it back at another address, and into a larger buffer. */
    rc = load(path, 0, &loaded, &h);
    CHECK(rc == BMA_OK, "bma_attach of the saved file: %s", bma_strerror(rc));
    if (rc == BMA_OK) {
        printf("-- loaded with bma_attach:\n");
        CHECK(verify(h, true), "the loaded list differs");
        (void)bma_dump(h, stdout);
        /* The loaded heap is live: add a note in one of the holes. */
        {
            note *n;
            rc = bma_alloc(h, sizeof(note) + 6u, 0, (void **)&n);
            CHECK(rc == BMA_OK && bma_check(h) == BMA_OK, "allocating in the loaded heap");
            if (rc == BMA_OK) {
                size_t index;
                CHECK(bma_chunk_index(h, n, &index) == BMA_OK, "bma_chunk_index");
                printf("a new allocation in the loaded heap went to chunk %zu\n", index);
                CHECK(bma_free(h, n) == BMA_OK, "bma_free");
            }
        }
        (void)bma_detach(h);
    }
    free(loaded);
    loaded = NULL;
    rc = load(path, 4096, &loaded, &h);
    CHECK(rc == BMA_OK && verify(h, false) && bma_get_stats(h, &s) == BMA_OK && s.buffer_size == saved,
          "attach in a larger buffer");
    printf("attached in a buffer %u bytes larger: the heap is still %zu bytes\n", 4096u, s.buffer_size);
    free(loaded);

    /* 3. Damaged files. */
    image = (unsigned char *)read_file(path, &file_size);
    if (image == NULL) {
        CHECK(false, "reading %s back", path);
        unlink(path);
        return 1;
    }
    for (cut = 0; cut < sizeof cuts / sizeof cuts[0]; cut++) {
        char what[64];
        size_t keep = cuts[cut] == 1 ? file_size - 1u : cuts[cut];
        snprintf(what, sizeof what, "truncated to %zu of %zu bytes:", keep, file_size);
        CHECK(write_file(damaged, image, keep), "writing %s", damaged);
        expect_corrupt(what, damaged);
    }
    {
        char what[64];
        size_t keep = s.metadata_bytes / 2u;
        snprintf(what, sizeof what, "truncated to %zu of %zu bytes:", keep, file_size);
        CHECK(write_file(damaged, image, keep), "writing %s", damaged);
        expect_corrupt(what, damaged);
    }
    image[0] ^= 0x01u; /* the first byte of the header's magic number */
    CHECK(write_file(damaged, image, file_size), "writing %s", damaged);
    expect_corrupt("header byte 0 flipped:", damaged);
    image[0] ^= 0x01u;

    flip_every_metadata_bit(image, file_size, s.metadata_bytes);

    free(image);
    unlink(damaged);
    unlink(path);
    if (failures != 0) {
        return 1;
    }
    printf("persist: OK\n");
    return 0;
}

/* Outside consumer (c), plain_buffer: the contract's first promise in an
 * AddressSanitizer build of the library at its default settings. A live heap
 * with free chunks is copied with memcpy, compared with memcmp, written out
 * with write() and read back, and each copy attaches as the same heap; a heap
 * placed in a stack buffer is left behind when its function returns, and
 * later frames reuse that stack. bma_detach is never called.
 *
 * Usage: plain_buffer [copy|stack]   (no argument: both)
 * Exits 0 if every check holds; 1 on a failed check. Under ASan, a poisoned
 * byte anywhere on these paths ends the program with a report instead. */
#define _POSIX_C_SOURCE 200809L
#include <bitmapalloc.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FAIL_IF(cond)                                                                        \
    do {                                                                                     \
        if (cond) {                                                                          \
            fprintf(stderr, "plain_buffer: check failed at line %d: %s\n", __LINE__, #cond); \
            exit(1);                                                                         \
        }                                                                                    \
    } while (0)

#define CS ((size_t)64)
#define NCHUNKS ((size_t)256)

typedef struct live {
    size_t index, count;
} live;

typedef struct walk_log {
    live runs[NCHUNKS];
    size_t n;
} walk_log;

static int log_run(size_t index, size_t count, void *ctx)
{
    walk_log *w = ctx;
    if (w->n < NCHUNKS) {
        w->runs[w->n].index = index;
        w->runs[w->n].count = count;
    }
    w->n++;
    return 0;
}

static walk_log walk_of(const bma_heap *h)
{
    walk_log w;
    memset(&w, 0, sizeof w);
    FAIL_IF(bma_walk(h, log_run, &w) != BMA_OK);
    return w;
}

static unsigned char pattern(size_t index, size_t i) { return (unsigned char)(index * 131u + i * 7u + 1u); }

/* The copy h2 is the same heap as h: stats, walk, every live byte, and the
 * next allocation's chunk index. Both heaps end as they began. */
static void expect_same_heap(bma_heap *h, bma_heap *h2)
{
    bma_stats a, b;
    walk_log wa, wb;
    size_t i, k, ia = 0, ib = 0;
    FAIL_IF(bma_check(h2) != BMA_OK);
    FAIL_IF(bma_get_stats(h, &a) != BMA_OK || bma_get_stats(h2, &b) != BMA_OK);
    FAIL_IF(a.chunk_count != b.chunk_count || a.free_chunks != b.free_chunks || a.used_chunks != b.used_chunks ||
            a.live_allocations != b.live_allocations || a.largest_free_run != b.largest_free_run);
    wa = walk_of(h);
    wb = walk_of(h2);
    FAIL_IF(wa.n != wb.n || memcmp(wa.runs, wb.runs, sizeof wa.runs) != 0);
    for (k = 0; k < wb.n; k++) {
        const unsigned char *p = bma_chunk_ptr(h2, wb.runs[k].index);
        FAIL_IF(p == NULL);
        for (i = 0; i < wb.runs[k].count * CS; i++) {
            FAIL_IF(p[i] != pattern(wb.runs[k].index, i));
        }
    }
    FAIL_IF(bma_alloc_chunks(h, 5, &ia) != BMA_OK || bma_alloc_chunks(h2, 5, &ib) != BMA_OK || ia != ib);
    FAIL_IF(bma_free_chunks(h, ia, 5) != BMA_OK || bma_free_chunks(h2, ib, 5) != BMA_OK);
}

/* A live heap with free runs between its allocations and after them. */
static bma_heap *make_live_heap(unsigned char *buf, size_t size)
{
    bma_heap *h = NULL;
    void *p[12];
    size_t i, j;
    bma_stats st;
    FAIL_IF(bma_init(buf, size, CS, &h) != BMA_OK);
    for (i = 0; i < 12; i++) {
        FAIL_IF(bma_alloc(h, (i % 4 + 1) * CS, 0, &p[i]) != BMA_OK);
    }
    for (i = 1; i < 12; i += 3) {
        FAIL_IF(bma_free(h, p[i]) != BMA_OK);
        p[i] = NULL;
    }
    for (i = 0; i < 12; i++) {
        size_t index = 0;
        if (p[i] == NULL) {
            continue;
        }
        FAIL_IF(bma_chunk_index(h, p[i], &index) != BMA_OK);
        for (j = 0; j < bma_usable_size(h, p[i]); j++) {
            ((unsigned char *)p[i])[j] = pattern(index, j);
        }
    }
    FAIL_IF(bma_get_stats(h, &st) != BMA_OK);
    FAIL_IF(st.live_allocations != 8 || st.free_chunks <= st.largest_free_run);
    printf("live heap: %zu chunks, %zu live allocations, %zu free chunks, %zu-byte buffer\n", st.chunk_count,
           st.live_allocations, st.free_chunks, size);
    return h;
}

static void write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        FAIL_IF(w <= 0);
        p += w;
        n -= (size_t)w;
    }
}

static void read_all(int fd, unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        FAIL_IF(r <= 0);
        p += r;
        n -= (size_t)r;
    }
}

static void copy_compare_write(void)
{
    size_t size = 0;
    unsigned char *buf, *copy, *back;
    bma_heap *h, *h2 = NULL;
    char path[] = "plain_buffer.XXXXXX";
    int fd;
    FAIL_IF(bma_buffer_size(CS, NCHUNKS * CS, &size) != BMA_OK);
    buf = malloc(size);
    copy = malloc(size);
    back = malloc(size);
    FAIL_IF(buf == NULL || copy == NULL || back == NULL);
    h = make_live_heap(buf, size);

    /* memcpy and memcmp the whole buffer, free chunks included. */
    memcpy(copy, buf, size);
    FAIL_IF(memcmp(copy, buf, size) != 0);
    FAIL_IF(bma_attach(copy, size, &h2) != BMA_OK);
    expect_same_heap(h, h2);
    printf("memcpy + memcmp of the live heap: the copy attaches as the same heap\n");

    /* write() it to /dev/null, and to a file that is read back. */
    fd = open("/dev/null", O_WRONLY);
    FAIL_IF(fd < 0);
    write_all(fd, buf, size);
    FAIL_IF(close(fd) != 0);
    fd = mkstemp(path);
    FAIL_IF(fd < 0);
    FAIL_IF(unlink(path) != 0);
    write_all(fd, buf, size);
    FAIL_IF(lseek(fd, 0, SEEK_SET) != 0);
    read_all(fd, back, size);
    FAIL_IF(close(fd) != 0);
    FAIL_IF(memcmp(back, buf, size) != 0);
    FAIL_IF(bma_attach(back, size, &h2) != BMA_OK);
    expect_same_heap(h, h2);
    printf("write() of the live heap to /dev/null and to a file: read back, it attaches as the same heap\n");

    free(back);
    free(copy);
    free(buf);
}

/* A heap in this function's frame, with a free chunk between live ones; the
 * function returns without bma_detach. */
static __attribute__((noinline)) size_t heap_in_a_stack_frame(void)
{
    _Alignas(64) unsigned char buf[8192];
    bma_heap *h = NULL;
    void *a = NULL, *b = NULL, *c = NULL;
    bma_stats st;
    FAIL_IF(bma_init(buf, sizeof buf, CS, &h) != BMA_OK);
    FAIL_IF(bma_alloc(h, CS, 0, &a) != BMA_OK || bma_alloc(h, CS, 0, &b) != BMA_OK ||
            bma_alloc(h, 3 * CS, 0, &c) != BMA_OK || bma_free(h, b) != BMA_OK);
    memset(a, 1, CS);
    memset(c, 3, 3 * CS);
    FAIL_IF(bma_get_stats(h, &st) != BMA_OK || st.used_chunks != 4);
    return st.free_chunks;
}

/* Reuses the stack that heap_in_a_stack_frame left behind. */
static __attribute__((noinline)) unsigned long stack_user(unsigned seed)
{
    volatile unsigned char big[16384];
    unsigned char plain[4096];
    unsigned long sum = 0;
    size_t i;
    for (i = 0; i < sizeof big; i++) {
        big[i] = (unsigned char)(seed + i);
    }
    for (i = 0; i < sizeof big; i++) {
        sum += big[i];
    }
    memset(plain, (int)seed, sizeof plain);
    for (i = 0; i < sizeof plain; i++) {
        sum += plain[i];
    }
    return sum;
}

static __attribute__((noinline)) unsigned long deeper(unsigned depth)
{
    volatile unsigned char frame[512];
    frame[0] = (unsigned char)depth;
    frame[sizeof frame - 1] = (unsigned char)depth;
    return depth == 0 ? frame[0] : deeper(depth - 1) + frame[sizeof frame - 1];
}

static void stack_heap(void)
{
    unsigned long want = 0;
    size_t i, free_chunks = heap_in_a_stack_frame();
    FAIL_IF(free_chunks == 0);
    for (i = 0; i < 16384; i++) {
        want += (unsigned char)(9u + i);
    }
    want += 4096ul * 9u;
    FAIL_IF(stack_user(9) != want);
    FAIL_IF(deeper(40) != 40ul * 41ul / 2ul);
    printf("heap in a returned stack frame (%zu free chunks), not detached: later frames reuse the stack\n",
           free_chunks);
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "all";
    if (strcmp(what, "copy") == 0 || strcmp(what, "all") == 0) {
        copy_compare_write();
    }
    if (strcmp(what, "stack") == 0 || strcmp(what, "all") == 0) {
        stack_heap();
    }
    if (strcmp(what, "copy") != 0 && strcmp(what, "stack") != 0 && strcmp(what, "all") != 0) {
        fprintf(stderr, "usage: plain_buffer [copy|stack]\n");
        return 2;
    }
    printf("plain_buffer (bitmapalloc %s): OK\n", BMA_VERSION_STRING);
    return 0;
}

/* asan_poison: what an AddressSanitizer build does to the heap buffer, in
 * both modes of the library (include/bitmapalloc.h, "Sanitizer annotations").
 *
 * Built with BMA_SANITIZER_ANNOTATIONS=1 (meson: -Dsanitizer_annotations=true,
 * which gives the tests the macro too): the library poisons free chunks, so a
 * slice overrun into a free chunk, a use after free, or a memcpy of a whole
 * live heap is reported, and bma_detach ends that.
 * Built without it (the default): the buffer stays a plain byte array, so all
 * of those run clean, and no byte of it is ever poisoned.
 *
 * Each scenario runs in a forked child whose stderr the parent captures: a
 * bad access must kill the child with ASan's "use-after-poison" report, and
 * a clean one must exit 0. A library and a test built in different modes fail
 * one way or the other. Without AddressSanitizer there is nothing to
 * observe: exit 77 (skipped). */
#include "util.h"

#include <fcntl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#if TEST_ASAN
#include <sanitizer/asan_interface.h>
#endif

#if defined(BMA_SANITIZER_ANNOTATIONS) && BMA_SANITIZER_ANNOTATIONS
#define TEST_ANNOTATIONS 1
#else
#define TEST_ANNOTATIONS 0
#endif

#define CS ((size_t)64)
#define NCHUNKS ((size_t)16)

/* What a child does with its heap; returns normally only if nothing was
 * reported. */
typedef void (*scenario)(heap_fx *fx);

typedef struct outcome {
    int exited, code, signaled, sig;
    char report[8192];
} outcome;

static outcome run_child(scenario fn)
{
    outcome o;
    int fds[2];
    pid_t pid;
    size_t used = 0;
    memset(&o, 0, sizeof o);
    if (pipe(fds) != 0) {
        perror("pipe");
        exit(99);
    }
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(99);
    }
    if (pid == 0) {
        heap_fx fx;
        close(fds[0]);
        dup2(fds[1], STDERR_FILENO);
        if (!fx_new(&fx, CS, NCHUNKS)) {
            _exit(98);
        }
        fn(&fx);
        _exit(0);
    }
    close(fds[1]);
    for (;;) {
        char tmp[4096];
        ssize_t n = read(fds[0], tmp, sizeof tmp);
        if (n <= 0) {
            break;
        }
        if (used + 1 < sizeof o.report) {
            size_t take = (size_t)n < sizeof o.report - 1 - used ? (size_t)n : sizeof o.report - 1 - used;
            memcpy(o.report + used, tmp, take);
            used += take;
        }
    }
    close(fds[0]);
    {
        int status = 0;
        while (waitpid(pid, &status, 0) < 0) {
        }
        o.exited = WIFEXITED(status);
        o.code = o.exited ? WEXITSTATUS(status) : 0;
        o.signaled = WIFSIGNALED(status);
        o.sig = o.signaled ? WTERMSIG(status) : 0;
    }
    return o;
}

/* The child died of an ASan report about poisoned memory. */
static void expect_reported(scenario fn, const char *what)
{
    outcome o = run_child(fn);
    CHECK_CTX("%s", what);
    CHECK_MSG(!(o.exited && o.code == 0), "the bad access went unreported (child exited 0)");
    CHECK_MSG(!(o.exited && o.code == 98), "child could not set up its heap");
    CHECK_MSG(strstr(o.report, "AddressSanitizer") != NULL, "no AddressSanitizer report; child stderr:\n%s", o.report);
    CHECK_MSG(strstr(o.report, "use-after-poison") != NULL, "not a use-after-poison report; child stderr:\n%s",
              o.report);
    CHECK_CTX_CLEAR();
}

/* The child ran to the end without a report. */
static void expect_clean(scenario fn, const char *what)
{
    outcome o = run_child(fn);
    CHECK_CTX("%s", what);
    CHECK_MSG(o.exited && o.code == 0, "control child failed (exited %d code %d, signal %d); stderr:\n%s", o.exited,
              o.code, o.sig, o.report);
    CHECK_CTX_CLEAR();
}

static unsigned char *alloc_one(heap_fx *fx)
{
    void *p = NULL;
    if (bma_alloc(fx->h, CS, 0, &p) != BMA_OK) {
        _exit(97);
    }
    return p;
}

/* ------------------------------------------------------- scenarios */

static void write_last_byte_of_slice(heap_fx *fx)
{
    volatile unsigned char *p = alloc_one(fx);
    p[0] = 1;
    p[CS - 1] = 1;
}

static void write_one_byte_past_slice(heap_fx *fx)
{
    volatile unsigned char *p = alloc_one(fx);
    p[CS] = 1; /* chunk 1 is free */
}

static void read_one_byte_past_slice(heap_fx *fx)
{
    const volatile unsigned char *p = alloc_one(fx);
    unsigned char c = p[CS];
    (void)c;
}

static void write_to_freed_slice(heap_fx *fx)
{
    unsigned char *slice = alloc_one(fx);
    volatile unsigned char *p = slice;
    if (bma_free(fx->h, slice) != BMA_OK) {
        _exit(96);
    }
    p[0] = 1;
}

static void write_to_fresh_heap_chunk(heap_fx *fx)
{
    volatile unsigned char *p = bma_chunk_ptr(fx->h, 3);
    p[0] = 1;
}

static void write_past_shrunk_slice(heap_fx *fx)
{
    void *q = NULL;
    volatile unsigned char *p;
    if (bma_alloc(fx->h, 2 * CS, 0, &q) != BMA_OK || bma_resize(fx->h, q, CS) != BMA_OK) {
        _exit(96);
    }
    p = q;
    p[CS] = 1; /* the chunk resize gave back */
}

static void write_inside_shrunk_slice(heap_fx *fx)
{
    void *q = NULL;
    volatile unsigned char *p;
    if (bma_alloc(fx->h, 2 * CS, 0, &q) != BMA_OK || bma_resize(fx->h, q, CS) != BMA_OK ||
        bma_resize(fx->h, q, 2 * CS) != BMA_OK) {
        _exit(96);
    }
    p = q;
    p[2 * CS - 1] = 1; /* grown back: addressable again */
}

static void write_to_old_slice_after_realloc_moved(heap_fx *fx)
{
    void *a = NULL, *b = NULL, *moved = NULL;
    volatile unsigned char *p;
    if (bma_alloc(fx->h, CS, 0, &a) != BMA_OK || bma_alloc(fx->h, CS, 0, &b) != BMA_OK ||
        bma_realloc(fx->h, a, 3 * CS, 0, &moved) != BMA_OK || moved == a) {
        _exit(96);
    }
    p = a;
    p[0] = 1;
}

static void write_free_chunk_after_detach(heap_fx *fx)
{
    volatile unsigned char *p = alloc_one(fx);
    if (bma_detach(fx->h) != BMA_OK) {
        _exit(96);
    }
    p[CS] = 1; /* tracking ended: every byte is addressable */
}

/* A live heap with free chunks between and after its allocations. */
static void make_live_heap(heap_fx *fx)
{
    void *a = NULL, *b = NULL, *c = NULL;
    if (bma_alloc(fx->h, CS, 0, &a) != BMA_OK || bma_alloc(fx->h, 3 * CS, 0, &b) != BMA_OK ||
        bma_alloc(fx->h, 2 * CS, 0, &c) != BMA_OK || bma_free(fx->h, b) != BMA_OK) {
        _exit(96);
    }
    memset(a, 0x11, CS);
    memset(c, 0x22, 2 * CS);
}

/* memcpy, memcmp and write() the whole live heap, then attach the copy: it
 * must be the same heap. Exits non-zero on any difference. */
static void copy_compare_write_live_heap(heap_fx *fx)
{
    unsigned char *copy = xmalloc(fx->size);
    bma_heap *h2 = NULL;
    bma_stats a, b;
    int fd;
    make_live_heap(fx);
    memcpy(copy, fx->buf, fx->size);
    if (memcmp(copy, fx->buf, fx->size) != 0) {
        _exit(95);
    }
    fd = open("/dev/null", O_WRONLY);
    if (fd < 0 || write(fd, fx->buf, fx->size) != (ssize_t)fx->size) {
        _exit(94);
    }
    close(fd);
    if (bma_attach(copy, fx->size, &h2) != BMA_OK || bma_get_stats(fx->h, &a) != BMA_OK ||
        bma_get_stats(h2, &b) != BMA_OK || a.used_chunks != b.used_chunks || a.free_chunks != b.free_chunks ||
        a.live_allocations != b.live_allocations) {
        _exit(93);
    }
    free(copy);
}

static void copy_live_heap_after_detach(heap_fx *fx)
{
    unsigned char *copy = xmalloc(fx->size);
    make_live_heap(fx);
    if (bma_detach(fx->h) != BMA_OK) {
        _exit(96);
    }
    memcpy(copy, fx->buf, fx->size);
    free(copy);
}

/* Puts a heap in a stack buffer, uses it, and returns without bma_detach.
 * With annotations, gcc's ASan leaves the frame's poisoned chunks behind and
 * stack_user() is then reported; clang's clears a frame's shadow on return,
 * so under clang this scenario passes in either mode. */
static __attribute__((noinline)) size_t heap_on_the_stack(size_t n)
{
    _Alignas(64) unsigned char buf[4096];
    bma_heap *h = NULL;
    void *p = NULL, *q = NULL;
    size_t used = 0;
    if (bma_init(buf, sizeof buf, 64, &h) != BMA_OK || bma_alloc(h, n, 0, &p) != BMA_OK ||
        bma_alloc(h, n, 0, &q) != BMA_OK || bma_free(h, p) != BMA_OK) {
        _exit(96);
    }
    memset(q, 0x33, n);
    used = bma_usable_size(h, q);
    return used;
}

/* Uses the same stack bytes heap_on_the_stack left behind. */
static __attribute__((noinline)) unsigned stack_user(unsigned char seed)
{
    volatile unsigned char big[4096];
    unsigned sum = 0;
    size_t i;
    for (i = 0; i < sizeof big; i++) {
        big[i] = (unsigned char)(seed + i);
    }
    for (i = 0; i < sizeof big; i++) {
        sum += big[i];
    }
    return sum;
}

static void stack_heap_left_attached(heap_fx *fx)
{
    (void)fx;
    if (heap_on_the_stack(200) != 256) {
        _exit(92);
    }
    if (stack_user(7) == 0) {
        _exit(91);
    }
}

/* ------------------------------------------------------------ tests */

/* The first poisoned byte of the buffer's chunk region, or -1 if none. */
static long first_poisoned_chunk_byte(const heap_fx *fx)
{
#if TEST_ASAN
    unsigned char *start = fx->buf + fx->st.chunks_offset;
    unsigned char *bad = __asan_region_is_poisoned(start, fx->st.chunk_count * CS);
    return bad == NULL ? -1 : (long)(bad - start);
#else
    (void)fx;
    return -1;
#endif
}

/* With annotations */

static void overrun_into_free_chunk_is_reported(void)
{
    expect_clean(write_last_byte_of_slice, "control: write the slice's first and last byte");
    expect_reported(write_one_byte_past_slice, "write one byte past a one-chunk slice");
    expect_reported(read_one_byte_past_slice, "read one byte past a one-chunk slice");
}

static void use_after_free_is_reported(void)
{
    expect_reported(write_to_freed_slice, "write to a freed slice");
    expect_reported(write_to_old_slice_after_realloc_moved, "write to the old slice after realloc moved it");
}

static void free_chunks_of_a_new_heap_are_poisoned(void)
{
    heap_fx fx;
    expect_reported(write_to_fresh_heap_chunk, "write to a chunk of a fresh heap");
    if (fx_new(&fx, CS, NCHUNKS)) {
        CHECK_MSG(first_poisoned_chunk_byte(&fx) == 0, "a fresh heap's first chunk is not poisoned");
        fx_free(&fx);
    }
}

static void resize_tracks_the_slice_end(void)
{
    expect_reported(write_past_shrunk_slice, "write past a slice shrunk by bma_resize");
    expect_clean(write_inside_shrunk_slice, "control: write the end of a slice shrunk then grown back");
}

static void copying_a_live_heap_needs_detach(void)
{
    expect_reported(copy_compare_write_live_heap, "memcpy a live heap without bma_detach");
    expect_clean(copy_live_heap_after_detach, "control: memcpy a live heap after bma_detach");
}

static void detach_ends_poisoning(void)
{
    expect_clean(write_free_chunk_after_detach, "control: write a free chunk after bma_detach");
}

/* Without annotations */

static void no_byte_is_ever_poisoned(void)
{
    heap_fx fx;
    void *a = NULL, *b = NULL, *moved = NULL;
    if (!fx_new(&fx, CS, NCHUNKS)) {
        return;
    }
    CHECK_MSG(first_poisoned_chunk_byte(&fx) == -1, "a fresh heap has a poisoned chunk byte at %ld",
              first_poisoned_chunk_byte(&fx));
    CHECK_STATUS(bma_alloc(fx.h, CS, 0, &a), BMA_OK);
    CHECK_STATUS(bma_alloc(fx.h, 2 * CS, 0, &b), BMA_OK);
    CHECK_STATUS(bma_realloc(fx.h, a, 4 * CS, 0, &moved), BMA_OK);
    CHECK_STATUS(bma_resize(fx.h, b, CS), BMA_OK);
    CHECK_STATUS(bma_attach(fx.buf, fx.size, &fx.h), BMA_OK);
    CHECK_MSG(first_poisoned_chunk_byte(&fx) == -1,
              "after alloc, realloc, resize and attach, chunk byte %ld is poisoned", first_poisoned_chunk_byte(&fx));
    CHECK_STATUS(bma_free(fx.h, moved), BMA_OK);
    CHECK_STATUS(bma_free(fx.h, b), BMA_OK);
    CHECK_MSG(first_poisoned_chunk_byte(&fx) == -1, "after every free, chunk byte %ld is poisoned",
              first_poisoned_chunk_byte(&fx));
    fx_free(&fx);
}

static void free_chunks_are_plain_bytes(void)
{
    expect_clean(write_one_byte_past_slice, "write one byte past a one-chunk slice");
    expect_clean(read_one_byte_past_slice, "read one byte past a one-chunk slice");
    expect_clean(write_to_freed_slice, "write to a freed slice");
    expect_clean(write_to_fresh_heap_chunk, "write to a chunk of a fresh heap");
    expect_clean(write_past_shrunk_slice, "write past a slice shrunk by bma_resize");
}

static void a_live_heap_is_a_plain_buffer(void)
{
    expect_clean(copy_compare_write_live_heap, "memcpy, memcmp, write() and attach a live heap, no bma_detach");
    expect_clean(stack_heap_left_attached, "a heap on the stack, returned from without bma_detach");
}

int main(void)
{
    if (!TEST_ASAN) {
        printf("asan_poison: not built with AddressSanitizer; skipped\n");
        return EXIT_SKIP;
    }
    if (TEST_ANNOTATIONS) {
        printf("asan_poison: sanitizer annotations on: free chunks must be poisoned\n");
        RUN(overrun_into_free_chunk_is_reported);
        RUN(use_after_free_is_reported);
        RUN(free_chunks_of_a_new_heap_are_poisoned);
        RUN(resize_tracks_the_slice_end);
        RUN(copying_a_live_heap_needs_detach);
        RUN(detach_ends_poisoning);
    } else {
        printf("asan_poison: sanitizer annotations off: the buffer must stay plain bytes\n");
        RUN(no_byte_is_ever_poisoned);
        RUN(free_chunks_are_plain_bytes);
        RUN(a_live_heap_is_a_plain_buffer);
    }
    return check_finish("asan_poison");
}

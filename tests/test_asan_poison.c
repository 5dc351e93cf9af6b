/* asan_poison: under AddressSanitizer the library poisons free chunks, so a
 * slice overrun into a free chunk, or a use after free, is reported. Each
 * scenario runs in a forked child whose stderr the parent captures: a bad
 * access must kill the child with ASan's "use-after-poison" report, and the
 * matching control (the same program with an in-bounds access) must exit 0.
 * Without AddressSanitizer there is nothing to observe: exit 77 (skipped). */
#include "util.h"

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define CS ((size_t)64)

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
        if (!fx_new(&fx, CS, 16)) {
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

/* ------------------------------------------------------------ tests */

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
    expect_reported(write_to_fresh_heap_chunk, "write to a chunk of a fresh heap");
}

static void resize_tracks_the_slice_end(void)
{
    expect_reported(write_past_shrunk_slice, "write past a slice shrunk by bma_resize");
    expect_clean(write_inside_shrunk_slice, "control: write the end of a slice shrunk then grown back");
}

static void detach_ends_poisoning(void)
{
    expect_clean(write_free_chunk_after_detach, "control: write a free chunk after bma_detach");
}

int main(void)
{
    if (!TEST_ASAN) {
        printf("asan_poison: not built with AddressSanitizer; skipped\n");
        return EXIT_SKIP;
    }
    RUN(overrun_into_free_chunk_is_reported);
    RUN(use_after_free_is_reported);
    RUN(free_chunks_of_a_new_heap_are_poisoned);
    RUN(resize_tracks_the_slice_end);
    RUN(detach_ends_poisoning);
    return check_finish("asan_poison");
}

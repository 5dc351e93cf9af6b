/* Two processes sharing one heap through a MAP_SHARED file.
 *
 * File layout:   [ control block, 8 KiB ][ heap buffer ]
 *
 * The control block holds a process-shared pthread mutex, which serialises
 * every bma_ call of both processes (the heap itself is not thread-safe), a
 * process-shared barrier for the phases, and a table of what each process
 * allocated, as chunk indices, never pointers: the two processes see the file
 * at different addresses. It lies before the heap buffer, not inside it.
 *
 * The parent creates the file, the lock and the heap (bma_init) and forks.
 * The child maps the file (through the inherited descriptor) a second time, while the inherited mapping is still
 * in place so that the new address must differ, drops the inherited mapping,
 * and opens the heap at its own address with bma_attach. Both then allocate,
 * write a pattern and free concurrently; after a barrier each verifies the
 * other's data through its own mapping. Exits non-zero on any mismatch.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bitmapalloc.h"
#include "bitmapalloc_dump.h"

#define CHUNK 64u
#define HEAP_CAPACITY (64u * 1024u)
#define ROUNDS 96u
#define CONTROL_SIZE 8192u /* the heap buffer starts this far into the file */

typedef struct slot {
    size_t index; /* first chunk of the allocation */
    size_t size;  /* bytes asked for */
    int live;
} slot;

typedef struct control {
    pthread_mutex_t lock; /* around every bma_ call, in both processes */
    pthread_barrier_t phase;
    size_t heap_size;
    slot slots[2][ROUNDS]; /* [process][round], written only by its process */
} control;

_Static_assert(sizeof(control) <= CONTROL_SIZE, "the control block fits before the heap");

static const char *who = "parent";

#define FAIL(...)                                         \
    do {                                                  \
        fprintf(stderr, "shared_heap (%s): FAIL: ", who); \
        fprintf(stderr, __VA_ARGS__);                     \
        fputc('\n', stderr);                              \
        return false;                                     \
    } while (0)

static unsigned char pattern(unsigned proc, size_t round, size_t i)
{
    return (unsigned char)((proc * 131u + round * 7u + i) & 0xFFu);
}

static void lock(control *c) { (void)pthread_mutex_lock(&c->lock); }
static void unlock(control *c) { (void)pthread_mutex_unlock(&c->lock); }

/* Allocates and fills ROUNDS blocks, freeing every third one again. */
static bool work(control *c, bma_heap *h, unsigned proc)
{
    uint32_t rng = 77u + proc;
    size_t r, i;
    for (r = 0; r < ROUNDS; r++) {
        void *p;
        size_t index;
        bma_status rc;
        rng = rng * 1103515245u + 12345u;
        c->slots[proc][r].size = 1u + (rng >> 8) % 400u;
        lock(c);
        rc = bma_alloc(h, c->slots[proc][r].size, 0, &p);
        if (rc == BMA_OK) {
            rc = bma_chunk_index(h, p, &index);
        }
        unlock(c);
        if (rc != BMA_OK) {
            FAIL("round %zu: %s", r, bma_strerror(rc));
        }
        /* The allocation is ours alone: no lock needed to write it. */
        for (i = 0; i < c->slots[proc][r].size; i++) {
            ((unsigned char *)p)[i] = pattern(proc, r, i);
        }
        c->slots[proc][r].index = index;
        c->slots[proc][r].live = 1;
        if (r >= 2 && r % 3u == 0) {
            slot *old = &c->slots[proc][r - 2u];
            lock(c);
            rc = bma_free_sized(h, bma_chunk_ptr(h, old->index), old->size);
            unlock(c);
            if (rc != BMA_OK) {
                FAIL("freeing round %zu: %s", r - 2u, bma_strerror(rc));
            }
            old->live = 0;
        }
        if (r % 8u == 0) {
            sched_yield(); /* let the other process interleave */
        }
    }
    return true;
}

/* Checks every live block of process proc through this process's mapping. */
static bool verify(control *c, bma_heap *h, unsigned proc)
{
    size_t r, i;
    bma_status rc;
    lock(c);
    rc = bma_check(h);
    unlock(c);
    if (rc != BMA_OK) {
        FAIL("bma_check: %s", bma_strerror(rc));
    }
    for (r = 0; r < ROUNDS; r++) {
        const slot *s = &c->slots[proc][r];
        const unsigned char *p;
        size_t usable;
        if (!s->live) {
            continue;
        }
        lock(c);
        p = (const unsigned char *)bma_chunk_ptr(h, s->index);
        usable = bma_usable_size(h, p);
        unlock(c);
        if (p == NULL || usable < s->size) {
            FAIL("process %u round %zu: chunk %zu is not a live block of %zu bytes", proc, r, s->index, s->size);
        }
        for (i = 0; i < s->size; i++) {
            if (p[i] != pattern(proc, r, i)) {
                FAIL("process %u round %zu: byte %zu is %u, want %u", proc, r, i, (unsigned)p[i],
                     (unsigned)pattern(proc, r, i));
            }
        }
    }
    return true;
}

static size_t live_slots(const control *c)
{
    size_t n = 0, r;
    unsigned proc;
    for (proc = 0; proc < 2; proc++) {
        for (r = 0; r < ROUNDS; r++) {
            n += c->slots[proc][r].live != 0;
        }
    }
    return n;
}

/* The child: its own mapping, its own handle, the same heap. */
static bool child(int fd, size_t file_size, void *inherited)
{
    unsigned char *base;
    control *c;
    bma_heap *h;
    bma_status rc;
    bool ok;

    base = (unsigned char *)mmap(NULL, file_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (base == MAP_FAILED) {
        FAIL("mmap: %s", strerror(errno));
    }
    if ((void *)base == inherited) {
        FAIL("the second mapping has the same address");
    }
    c = (control *)(void *)base;
    /* The inherited mapping goes; sanitizer builds forget its poisoning first. */
    lock(c);
    (void)bma_detach((bma_heap *)((unsigned char *)inherited + CONTROL_SIZE));
    unlock(c);
    munmap(inherited, file_size);

    lock(c);
    rc = bma_attach(base + CONTROL_SIZE, c->heap_size, &h);
    unlock(c);
    if (rc != BMA_OK) {
        FAIL("bma_attach: %s", bma_strerror(rc));
    }
    printf("child: attached the heap at a different address (offset of the heap in the file: %u)\n", CONTROL_SIZE);
    fflush(stdout);

    ok = work(c, h, 1);
    (void)pthread_barrier_wait(&c->phase); /* both have written */
    if (ok) {
        lock(c);
        (void)bma_detach(h); /* the parent's blocks are poisoned in this process's sanitizer view */
        unlock(c);
        ok = verify(c, h, 0) && verify(c, h, 1);
    }
    (void)pthread_barrier_wait(&c->phase); /* both have verified */
    munmap(base, file_size);
    if (ok) {
        printf("child: verified the parent's blocks\n");
    }
    return ok;
}

static bool parent(void)
{
    char path[256];
    const char *dir = getenv("TMPDIR");
    size_t heap_size, file_size;
    unsigned char *base;
    control *c;
    bma_heap *h;
    pthread_mutexattr_t ma;
    pthread_barrierattr_t ba;
    pid_t pid;
    int fd, status = 0;
    bool ok;
    bma_status rc;

    rc = bma_buffer_size(CHUNK, HEAP_CAPACITY, &heap_size);
    if (rc != BMA_OK) {
        FAIL("bma_buffer_size: %s", bma_strerror(rc));
    }
    file_size = CONTROL_SIZE + heap_size;
    snprintf(path, sizeof path, "%s/bma-shared-XXXXXX", dir != NULL && dir[0] != '\0' ? dir : "/tmp");
    fd = mkstemp(path);
    if (fd < 0) {
        FAIL("mkstemp: %s", strerror(errno));
    }
    unlink(path); /* the open descriptor keeps the file; nothing is left behind */
    if (ftruncate(fd, (off_t)file_size) != 0) {
        close(fd);
        FAIL("ftruncate: %s", strerror(errno));
    }
    base = (unsigned char *)mmap(NULL, file_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
        close(fd);
        FAIL("mmap: %s", strerror(errno));
    }
    c = (control *)(void *)base;
    c->heap_size = heap_size;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(&c->lock, &ma);
    pthread_mutexattr_destroy(&ma);
    pthread_barrierattr_init(&ba);
    pthread_barrierattr_setpshared(&ba, PTHREAD_PROCESS_SHARED);
    pthread_barrier_init(&c->phase, &ba, 2);
    pthread_barrierattr_destroy(&ba);

    rc = bma_init(base + CONTROL_SIZE, heap_size, CHUNK, &h);
    if (rc != BMA_OK) {
        close(fd);
        FAIL("bma_init: %s", bma_strerror(rc));
    }
    printf("parent: a heap of %zu B (chunk %u B) after a %u B control block in a MAP_SHARED file\n", heap_size, CHUNK,
           CONTROL_SIZE);
    fflush(stdout); /* nothing buffered may be written twice after fork */

    pid = fork();
    if (pid < 0) {
        close(fd);
        FAIL("fork: %s", strerror(errno));
    }
    if (pid == 0) {
        who = "child";
        alarm(30);
        exit(child(fd, file_size, base) ? 0 : 1);
    }
    close(fd);

    ok = work(c, h, 0);
    (void)pthread_barrier_wait(&c->phase);
    if (ok) {
        lock(c);
        (void)bma_detach(h); /* the child's blocks are poisoned in this process's sanitizer view */
        unlock(c);
        ok = verify(c, h, 1) && verify(c, h, 0);
    }
    (void)pthread_barrier_wait(&c->phase);
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        ok = false;
        fprintf(stderr, "shared_heap: FAIL: the child failed (status %d)\n", status);
    }
    if (ok) {
        bma_stats s;
        size_t proc, r;
        printf("parent: verified the child's blocks\n");
        if (bma_get_stats(h, &s) != BMA_OK || s.live_allocations != live_slots(c)) {
            ok = false;
            fprintf(stderr, "shared_heap: FAIL: %zu live allocations, %zu expected\n", s.live_allocations,
                    live_slots(c));
        }
        (void)bma_dump(h, stdout);
        /* The parent frees the child's blocks too: one heap, any process. */
        for (proc = 0; proc < 2 && ok; proc++) {
            for (r = 0; r < ROUNDS; r++) {
                slot *sl = &c->slots[proc][r];
                if (sl->live && bma_free_sized(h, bma_chunk_ptr(h, sl->index), sl->size) != BMA_OK) {
                    ok = false;
                    fprintf(stderr, "shared_heap: FAIL: freeing process %zu round %zu\n", proc, r);
                }
                sl->live = 0;
            }
        }
        if (ok && (bma_get_stats(h, &s) != BMA_OK || s.live_allocations != 0 || bma_check(h) != BMA_OK)) {
            ok = false;
            fprintf(stderr, "shared_heap: FAIL: heap not empty after freeing everything\n");
        }
    }
    (void)bma_detach(h);
    pthread_barrier_destroy(&c->phase);
    pthread_mutex_destroy(&c->lock);
    munmap(base, file_size);
    return ok;
}

int main(void)
{
    alarm(30); /* a deadlock fails the test instead of hanging it */
    if (!parent()) {
        return 1;
    }
    printf("shared_heap: OK\n");
    return 0;
}

/* The contenders: this library, the baseline (the original's search),
 * ghostty-main (that search with Ghostty main's search_start hint), glibc
 * malloc, and jemalloc and mimalloc when the build found them. Each is a handful of small functions
 * plus one instance of the shared replayer (bench.h).
 *
 * How jemalloc and mimalloc are called: both libraries export malloc/free,
 * so linking either one replaces malloc for the whole process, glibc's
 * contender included. They are therefore loaded with
 * dlopen(RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND) and called through dlsym'd
 * pointers: RTLD_LOCAL keeps their symbols out of the global scope, so the
 * process's malloc stays glibc's (bench_malloc_origin() reports where malloc
 * resolves, and the report prints it), and RTLD_DEEPBIND binds each library's
 * own internal references to itself (except in ASan builds, which refuse
 * RTLD_DEEPBIND and are not for timing anyway). mimalloc is called through its
 * prefixed API (mi_malloc / mi_free); Debian's jemalloc exports only the
 * unprefixed names, so it is called through the malloc / free found in its
 * own handle. Debian's libjemalloc.so.2 uses initial-exec TLS, which a plain
 * dlopen cannot place ("cannot allocate memory in static TLS block"); when
 * that happens bench_prepare_process() re-executes the benchmark once with
 * GLIBC_TUNABLES=glibc.rtld.optional_static_tls raised, which only reserves
 * more static TLS space and does not change how glibc's malloc behaves.
 */
#define _GNU_SOURCE /* dladdr, RTLD_DEEPBIND, setenv, posix_memalign */

#include "baseline.h"
#include "bench.h"
#include "bitmapalloc.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "bench: %s: %s\n", what, detail);
    abort();
}

/* Heap buffers are page aligned, as a caller carving heaps out of mmap'd or
 * static memory would have them. Their chunk bytes are never written here:
 * only the pages the benchmark touches get faulted in. */
static void *page_buffer(size_t size)
{
    void *p = NULL;
    return posix_memalign(&p, 4096, size) == 0 ? p : NULL;
}

/* ------------------------------------------------------- this library */

typedef struct lib_self {
    void *buf;
    size_t buf_size, chunk_size, chunk_count;
    bma_heap *h;
} lib_self;

static void lib_reset(void *self)
{
    lib_self *s = self;
    bma_stats st;
    if (bma_init(s->buf, s->buf_size, s->chunk_size, &s->h) != BMA_OK || bma_get_stats(s->h, &st) != BMA_OK ||
        st.chunk_count != s->chunk_count) {
        die("bitmapalloc", "bma_init did not give the requested chunk count");
    }
}

static void *lib_create(size_t chunk_size, size_t chunk_count, const char **why)
{
    lib_self *s = calloc(1, sizeof *s);
    if (s == NULL || bma_buffer_size(chunk_size, chunk_count * chunk_size, &s->buf_size) != BMA_OK ||
        (s->buf = page_buffer(s->buf_size)) == NULL) {
        free(s);
        *why = "out of memory";
        return NULL;
    }
    s->chunk_size = chunk_size;
    s->chunk_count = chunk_count;
    lib_reset(s);
    return s;
}

static void lib_destroy(void *self)
{
    lib_self *s = self;
    free(s->buf);
    free(s);
}

static void *lib_alloc(void *self, size_t bytes)
{
    void *p;
    bma_status st = bma_alloc(((lib_self *)self)->h, bytes, 0, &p);
    if (st == BMA_OK) {
        return p;
    }
    if (st != BMA_ENOMEM) {
        die("bma_alloc", bma_strerror(st));
    }
    return NULL;
}

static void lib_free(void *self, void *p, size_t bytes)
{
    bma_status st = bma_free(((lib_self *)self)->h, p);
    (void)bytes; /* the library finds the extent itself (start bitmap) */
    if (st != BMA_OK) {
        die("bma_free", bma_strerror(st));
    }
}

BENCH_DEFINE_REPLAYER(lib_replay, lib_alloc, lib_free)

/* Through the public API. Per 64-chunk word, three allocations: the chunks
 * below `keep`, the kept chunk, the chunks above it, all landing in index
 * order (first fit on a heap that is free from there on); then, in a second
 * pass, frees of the first and the last of each word. Three allocations a
 * word instead of 64 keep the setup of a 2^24-chunk heap short, under
 * callgrind too. */
static void lib_fragment(void *self, unsigned keep, size_t tail)
{
    lib_self *s = self;
    size_t end = s->chunk_count - tail, w, index, pass;
    for (pass = 0; pass < 2u; pass++) {
        for (w = 0; w < end; w += 64u) {
            size_t word_end = end - w < 64u ? end : w + 64u, mid = w + keep, from[3], to[3], i;
            from[0] = w, to[0] = mid < word_end ? mid : word_end;
            from[1] = to[0], to[1] = mid < word_end ? mid + 1u : word_end;
            from[2] = to[1], to[2] = word_end;
            for (i = 0; i < 3u; i++) {
                if (from[i] == to[i]) {
                    continue;
                }
                if (pass == 0 && (bma_alloc_chunks(s->h, to[i] - from[i], &index) != BMA_OK || index != from[i])) {
                    die("bitmapalloc fragment", "the fill did not go in index order");
                }
                if (pass == 1 && i != 1u && bma_free_chunks(s->h, from[i], to[i] - from[i]) != BMA_OK) {
                    die("bitmapalloc fragment", "free failed");
                }
            }
        }
    }
}

static void *lib_chunk_base(void *self) { return bma_chunk_ptr(((lib_self *)self)->h, 0); }

static const bench_contender contender_lib = {
    "bitmapalloc", true, lib_create, lib_reset, lib_destroy, lib_replay, lib_fragment, lib_chunk_base,
};

/* ---------------------------------------------------------- baseline */

static void *base_create(size_t chunk_size, size_t chunk_count, const char **why)
{
    baseline_heap *h = malloc(sizeof *h);
    if (h == NULL || !baseline_create(h, chunk_size, chunk_count)) {
        free(h);
        *why = "out of memory";
        return NULL;
    }
    return h;
}

static void base_reset(void *self) { baseline_reset(self); }

static void base_destroy(void *self)
{
    baseline_destroy(self);
    free(self);
}

static void *base_alloc(void *self, size_t bytes) { return baseline_alloc(self, bytes); }
static void base_free(void *self, void *p, size_t bytes) { baseline_free(self, p, bytes); }

BENCH_DEFINE_REPLAYER(base_replay, base_alloc, base_free)

/* The baseline has no start bitmap and searches from word 0 every time, so
 * filling it chunk by chunk would take O(chunks^2 / 64). Instead: one
 * allocation of the whole used range (a single n > 64 search that succeeds at
 * chunk 0), then frees of the sub-ranges between the kept chunks, which the
 * original's free(slice) allows. The bitmap ends up exactly as the
 * library's. ghostty-main goes through its own functions, so its
 * search_start ends where its own calls leave it (word 0). */
static void base_fragment_with(baseline_heap *h, unsigned keep, size_t tail, bool hint)
{
    bool (*alloc_fn)(baseline_heap *, size_t, size_t *) = hint ? baseline_hint_alloc_chunks : baseline_alloc_chunks;
    void (*free_fn)(baseline_heap *, size_t, size_t) = hint ? baseline_hint_free_chunks : baseline_free_chunks;
    size_t end = h->chunk_count - tail, index, w;
    if (!alloc_fn(h, end, &index) || index != 0) {
        die("baseline fragment", "whole-range allocation did not land at chunk 0");
    }
    for (w = 0; w * 64u < end; w++) {
        if (keep > 0) {
            free_fn(h, w * 64u, keep);
        }
        if (keep < 63u) {
            free_fn(h, w * 64u + keep + 1u, 63u - keep);
        }
    }
}

static void base_fragment(void *self, unsigned keep, size_t tail) { base_fragment_with(self, keep, tail, false); }

static void *base_chunk_base(void *self) { return ((baseline_heap *)self)->chunks; }

static const bench_contender contender_baseline = {
    "baseline", true, base_create, base_reset, base_destroy, base_replay, base_fragment, base_chunk_base,
};

/* ------------------------------------------------------- ghostty-main */

/* The same heap as the baseline's, driven through baseline_hint_*. */
static void *main_alloc(void *self, size_t bytes) { return baseline_hint_alloc(self, bytes); }
static void main_free(void *self, void *p, size_t bytes) { baseline_hint_free(self, p, bytes); }

BENCH_DEFINE_REPLAYER(main_replay, main_alloc, main_free)

static void main_fragment(void *self, unsigned keep, size_t tail) { base_fragment_with(self, keep, tail, true); }

static const bench_contender contender_ghostty_main = {
    "ghostty-main", true, base_create, base_reset, base_destroy, main_replay, main_fragment, base_chunk_base,
};

/* ---------------------------------------------------- malloc contenders */

/* malloc-based contenders have no geometry and no state of their own. */
static int malloc_token;

static void *glibc_create(size_t chunk_size, size_t chunk_count, const char **why)
{
    (void)chunk_size;
    (void)chunk_count;
    (void)why;
    return &malloc_token;
}

static void nothing(void *self) { (void)self; }

static void *glibc_alloc(void *self, size_t bytes)
{
    (void)self;
    return malloc(bytes);
}

static void glibc_free(void *self, void *p, size_t bytes)
{
    (void)self;
    (void)bytes;
    free(p);
}

BENCH_DEFINE_REPLAYER(glibc_replay, glibc_alloc, glibc_free)

static const bench_contender contender_glibc = {
    "glibc", false, glibc_create, nothing, nothing, glibc_replay, NULL, NULL,
};

/* ASan refuses RTLD_DEEPBIND (it would bypass its interceptors); sanitizer
 * builds are for correctness, not timing, so they load without it. */
#if defined(__SANITIZE_ADDRESS__)
#define BENCH_DEEPBIND 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BENCH_DEEPBIND 0
#endif
#endif
#ifndef BENCH_DEEPBIND
#define BENCH_DEEPBIND RTLD_DEEPBIND
#endif

/* A dlopen'ed allocator: its malloc and free, or why it is unavailable. */
typedef struct dl_alloc {
    void *(*malloc_fn)(size_t);
    void (*free_fn)(void *);
    const char *why;
    char why_buf[256];
    bool tried;
} dl_alloc;

/* dlsym returns void *; the copy converts it to a function pointer without
 * the object-to-function cast that ISO C leaves undefined. */
static bool dl_sym(void *lib, const char *name, void *fn_ptr, size_t fn_size)
{
    void *sym = dlsym(lib, name);
    if (sym == NULL || fn_size != sizeof sym) {
        return false;
    }
    memcpy(fn_ptr, &sym, sizeof sym);
    return true;
}

static void dl_open(dl_alloc *a, const char *soname, const char *malloc_name, const char *free_name)
{
    void *lib;
    if (a->tried) {
        return;
    }
    a->tried = true;
    if (soname == NULL) {
        a->why = "not found at build time";
        return;
    }
    lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL | BENCH_DEEPBIND);
    if (lib == NULL) {
        snprintf(a->why_buf, sizeof a->why_buf, "dlopen: %s", dlerror());
        a->why = a->why_buf;
        return;
    }
    /* Never dlclose'd: unloading an allocator that still owns memory is not
     * something either library supports. */
    if (!dl_sym(lib, malloc_name, &a->malloc_fn, sizeof a->malloc_fn) ||
        !dl_sym(lib, free_name, &a->free_fn, sizeof a->free_fn)) {
        a->why = "dlsym failed";
        a->malloc_fn = NULL;
        return;
    }
    a->why = NULL;
}

#ifdef BENCH_JEMALLOC_SONAME
#define JEMALLOC_SONAME BENCH_JEMALLOC_SONAME
#else
#define JEMALLOC_SONAME NULL
#endif
#ifdef BENCH_MIMALLOC_SONAME
#define MIMALLOC_SONAME BENCH_MIMALLOC_SONAME
#else
#define MIMALLOC_SONAME NULL
#endif

static dl_alloc jemalloc_lib, mimalloc_lib;

static void *jemalloc_create(size_t chunk_size, size_t chunk_count, const char **why)
{
    (void)chunk_size;
    (void)chunk_count;
    dl_open(&jemalloc_lib, JEMALLOC_SONAME, "malloc", "free");
    *why = jemalloc_lib.why;
    return jemalloc_lib.malloc_fn != NULL ? &jemalloc_lib : NULL;
}

static void *mimalloc_create(size_t chunk_size, size_t chunk_count, const char **why)
{
    (void)chunk_size;
    (void)chunk_count;
    dl_open(&mimalloc_lib, MIMALLOC_SONAME, "mi_malloc", "mi_free");
    *why = mimalloc_lib.why;
    return mimalloc_lib.malloc_fn != NULL ? &mimalloc_lib : NULL;
}

/* One indirect call per operation through the dlsym'd pointer; glibc's malloc
 * is reached through the PLT, also an indirect jump. */
static void *dl_malloc(void *self, size_t bytes) { return ((dl_alloc *)self)->malloc_fn(bytes); }

static void dl_free(void *self, void *p, size_t bytes)
{
    (void)bytes;
    ((dl_alloc *)self)->free_fn(p);
}

BENCH_DEFINE_REPLAYER(dl_replay, dl_malloc, dl_free)

static const bench_contender contender_jemalloc = {
    "jemalloc", false, jemalloc_create, nothing, nothing, dl_replay, NULL, NULL,
};

static const bench_contender contender_mimalloc = {
    "mimalloc", false, mimalloc_create, nothing, nothing, dl_replay, NULL, NULL,
};

/* ------------------------------------------------------------ registry */

const bench_contender *const *bench_contenders(size_t *count)
{
    static const bench_contender *const all[] = {
        &contender_lib,   &contender_baseline, &contender_ghostty_main,
        &contender_glibc, &contender_jemalloc, &contender_mimalloc,
    };
    *count = sizeof all / sizeof all[0];
    return all;
}

const char *bench_malloc_origin(void)
{
    static char origin[512];
    void *(*fn)(size_t) = malloc;
    void *addr;
    Dl_info info;
    memcpy(&addr, &fn, sizeof addr);
    if (dladdr(addr, &info) == 0 || info.dli_fname == NULL) {
        return "unknown";
    }
    snprintf(origin, sizeof origin, "%s", info.dli_fname);
    return origin;
}

#define TLS_TUNABLE "glibc.rtld.optional_static_tls=16384"

void bench_prepare_process(char **argv)
{
    const char *why;
    char tunables[1024];
    const char *old;
    (void)jemalloc_create(0, 0, &why);
    if (why == NULL || strstr(why, "static TLS") == NULL || getenv(BENCH_TLS_MARK) != NULL) {
        return;
    }
    old = getenv("GLIBC_TUNABLES");
    if (old != NULL && old[0] != '\0') {
        snprintf(tunables, sizeof tunables, "%s:%s", old, TLS_TUNABLE);
    } else {
        snprintf(tunables, sizeof tunables, "%s", TLS_TUNABLE);
    }
    if (setenv("GLIBC_TUNABLES", tunables, 1) != 0 || setenv(BENCH_TLS_MARK, "1", 1) != 0) {
        return;
    }
    fflush(NULL);
    execv("/proc/self/exe", argv);
    /* exec failed: carry on; jemalloc is then reported as unavailable. */
}

/* Outside consumer (a): a plain C program built with cc and pkg-config. */
#include <bitmapalloc.h>
#include <bitmapalloc_dump.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define FAIL_IF(cond)                                                                                                  \
    do {                                                                                                               \
        if (cond) {                                                                                                    \
            fprintf(stderr, "consumer: check failed at line %d: %s\n", __LINE__, #cond);                              \
            return 1;                                                                                                  \
        }                                                                                                              \
    } while (0)

static _Alignas(64) unsigned char buf[8192];

int main(void)
{
    bma_heap *h;
    void *a, *b;
    uint64_t *arr;
    bma_stats s;

    FAIL_IF(bma_init(buf, sizeof buf, 32, &h) != BMA_OK);
    FAIL_IF(bma_alloc(h, 100, 0, &a) != BMA_OK);
    FAIL_IF(BMA_ALLOC_ARRAY(h, uint64_t, 10, &arr) != BMA_OK);
    FAIL_IF(bma_alloc(h, 1, 256, &b) != BMA_OK);
    memset(a, 0xAB, 100);
    arr[9] = 42;
    FAIL_IF(bma_usable_size(h, a) != 128);
    FAIL_IF(((uintptr_t)b - (uintptr_t)buf) % 256 != 0);
    FAIL_IF(bma_free(h, (char *)a + 32) != BMA_EBADPTR);
    FAIL_IF(bma_free(h, a) != BMA_OK);
    FAIL_IF(bma_free(h, a) != BMA_EDOUBLEFREE);
    FAIL_IF(bma_check(h) != BMA_OK);
    FAIL_IF(bma_dump(h, stdout) != BMA_OK);
    FAIL_IF(bma_free(h, arr) != BMA_OK || bma_free(h, b) != BMA_OK);
    FAIL_IF(bma_get_stats(h, &s) != BMA_OK || s.live_allocations != 0 || s.free_chunks != s.chunk_count);
    printf("pkg-config consumer (bitmapalloc %s): OK\n", BMA_VERSION_STRING);
    return 0;
}

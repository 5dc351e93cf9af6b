// The headers as C++11 with -pedantic: extern "C", BMA_ALLOC_ARRAY with
// alignof. Compiled, not run (the CMake consumer links C++ for real).
#include <bitmapalloc.h>
#include <bitmapalloc_dump.h>

#include <cstdint>
#include <type_traits>

static_assert(std::is_same<decltype(&bma_alloc), bma_status (*)(bma_heap *, std::size_t, std::size_t, void **)>::value,
              "bma_alloc has the documented signature");

struct alignas(32) Wide {
    unsigned char bytes[32];
};

int cxx_use(bma_heap *h);
int cxx_use(bma_heap *h)
{
    Wide *w = nullptr;
    if (BMA_ALLOC_ARRAY(h, Wide, 3, &w) != BMA_OK) {
        return 1;
    }
    w[2].bytes[31] = 1;
    (void)bma_dump(h, stdout);
    return bma_free(h, w) == BMA_OK ? 0 : 1;
}

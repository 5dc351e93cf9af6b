// Outside consumer (c): C++11, built by CMake with pkg_check_modules.
#include <bitmapalloc.h>
#include <bitmapalloc_dump.h>

#include <cstdint>
#include <cstdio>
#include <cstring>

#define FAIL_IF(cond)                                                                   \
    do {                                                                                \
        if (cond) {                                                                     \
            std::fprintf(stderr, "consumer: check failed at line %d: %s\n", __LINE__, #cond); \
            return 1;                                                                   \
        }                                                                               \
    } while (0)

namespace {
struct Cell {
    std::uint32_t codepoint;
    std::uint16_t width, flags;
};
alignas(64) unsigned char buf[8192];
} // namespace

int main()
{
    bma_heap *h = nullptr;
    Cell *cells = nullptr;
    void *p = nullptr;
    bma_stats s;

    FAIL_IF(bma_init(buf, sizeof buf, 64, &h) != BMA_OK);
    FAIL_IF(BMA_ALLOC_ARRAY(h, Cell, 80, &cells) != BMA_OK); // 640 bytes: 10 chunks
    for (int i = 0; i < 80; i++) {
        cells[i].codepoint = static_cast<std::uint32_t>('a' + i % 26);
        cells[i].width = 1;
        cells[i].flags = 0;
    }
    FAIL_IF(bma_usable_size(h, cells) != 10 * 64);
    FAIL_IF(bma_realloc(h, cells, 2000, 0, &p) != BMA_OK);
    cells = static_cast<Cell *>(p);
    FAIL_IF(cells[79].codepoint != static_cast<std::uint32_t>('a' + 79 % 26));
    FAIL_IF(bma_free_sized(h, cells, 1) != BMA_ESIZE);
    FAIL_IF(bma_free_sized(h, cells, 2000) != BMA_OK);
    FAIL_IF(bma_check(h) != BMA_OK);
    FAIL_IF(bma_get_stats(h, &s) != BMA_OK || s.live_allocations != 0);
    FAIL_IF(bma_dump(h, stdout) != BMA_OK);
    FAIL_IF(std::strcmp(bma_strerror(BMA_OK), "") == 0);
    std::printf("cmake consumer (C++, bitmapalloc %s): OK\n", BMA_VERSION_STRING);
    return 0;
}

/* Planted bug: an unsigned subtraction that wraps and a narrowing that
 * changes the value, as a stand-in for a size computation gone wrong in the
 * library. clang's -fsanitize=unsigned-integer-overflow must report "unsigned
 * integer overflow" (and implicit-conversion the narrowing). Exits 0 without
 * a tool. */
#include <stdio.h>
#include <stdlib.h>

#include "bitmapalloc.h"

int main(int argc, char **argv)
{
    size_t have = (size_t)argc; /* 1 */
    size_t need = have + 1u;
    size_t missing = have - need; /* PLANTED: wraps to SIZE_MAX */
    unsigned char low = missing;  /* PLANTED: narrowing that changes the value */
    (void)argv;
    printf("%zu %u %s\n", missing, (unsigned)low, bma_strerror(BMA_OK));
    return 0;
}

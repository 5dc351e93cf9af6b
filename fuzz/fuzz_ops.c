/* Differential fuzzing of every heap operation against the oracle; the
 * input encoding is described in diff.h. */
#include <stddef.h>
#include <stdint.h>

#include "diff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    diff_run(data, size);
    return 0;
}

#!/bin/sh
# The sanitizer builds, each running every test program (scripts/matrix.sh):
#   asan-ubsan-clang, asan-ubsan-gcc  ASan + UBSan, -fno-sanitize-recover=all
#   ubsan-int-clang   clang's -fsanitize=unsigned-integer-overflow and
#                     implicit-conversion over lib/ (recoverable, so every site
#                     is listed in build/matrix/ubsan-int-clang/sites.txt);
#                     fails if lib/ triggers any
#   msan-clang        MemorySanitizer with origin tracking, over everything
# and the planted bugs that prove ASan, MSan and the integer checks fire.
# Usage: scripts/msan.sh [matrix.sh options]
set -eu
cd "$(dirname "$0")/.."
exec scripts/matrix.sh --set sanitizers --set planted --only '^(asan-|ubsan-|msan-|planted-(asan|msan|ubsan))' "$@"

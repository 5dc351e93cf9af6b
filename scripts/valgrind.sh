#!/bin/sh
# Valgrind memcheck over every test program, with the library's client
# requests compiled in (-DBMA_VALGRIND=1, what meson's -Dvalgrind=true sets:
# free chunks NOACCESS, new allocations UNDEFINED). Must report zero errors
# (--error-exitcode, definite and indirect leaks count as errors).
# Then the planted bugs: tests/planted/use_after_free.c must draw an
# "Invalid read" and a non-zero exit, tests/planted/uninit_read.c an
# uninitialised-value report, or the script fails: proof that the
# annotations work.
# Usage: scripts/valgrind.sh [matrix.sh options, e.g. -j 1]
#   BMA_VALGRIND_DIFF_SCALE (default 0) sizes the differential test.
set -eu
cd "$(dirname "$0")/.."
exec scripts/matrix.sh --set valgrind --only '^(valgrind-|planted-valgrind-)' --set planted "$@"

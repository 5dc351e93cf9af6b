#!/usr/bin/env bash
# Soak: two long random workloads (tests/soak/soak.c), not part of the
# default suite.
#   small  heaps of a few MiB with the reference oracle in lockstep
#   large  one heap of SOAK_LARGE_MIB MiB (default 1024), no oracle; at the end
#          everything is freed and the whole heap is allocated in one piece
# Each prints a progress line every 5 s, then ops/s (wall and CPU), peak RSS
# and the final stats. Built with -O2 into build/soak.
#
# Usage: scripts/soak.sh [OPS] [small|large|both]   (OPS default 1e8, both)
# Environment: SOAK_SEED (default 1), SOAK_LARGE_MIB, SOAK_CHECK_EVERY
#   (bma_check + walk every N ops, default 1e5), SOAK_STATS_EVERY (stats
#   against the oracle every N ops, default 1000), SOAK_CFLAGS (extra flags,
#   e.g. -DBMA_TOP_NODES=1 for deep index trees on the small heaps).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
ensure_packages gcc

ops=${1:-100000000}
which=${2:-both}
ops=$(printf '%.0f' "$ops") # accepts 1e8
out=build/soak
mkdir -p "$out"
read -r -a extra <<<"${SOAK_CFLAGS:-}"
gcc -std=c11 -O2 -g -Wall -Wextra -Wpedantic -Werror "${extra[@]}" -Iinclude -Ioracle \
    tests/soak/soak.c lib/*.c oracle/*.c -lm -o "$out/soak"
status=0
for mode in small large; do
    [ "$which" = both ] || [ "$which" = "$mode" ] || continue
    echo "=== soak $mode: $ops ops"
    "$out/soak" "$mode" "$ops" "${SOAK_SEED:-1}" || status=1
done
exit $status

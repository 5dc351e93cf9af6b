#!/bin/sh
# Builds bitmapalloc several ways and runs every test suite in each:
#   gcc, clang, clang with ASan+UBSan (unit, diff and corpus replay), gcc -m32
#   (under qemu-i386 where the kernel cannot execute 32-bit programs),
#   and ASan+UBSan with deep index trees (-DBMA_TOP_NODES=1: replay and diff);
# then installs the library and builds outside consumers against it, and
# checks that every planted-bug patch in fuzz/mutants/ still applies.
# Usage: scripts/test.sh        (installs missing Debian packages as root)
set -eu
cd "$(dirname "$0")/.."
. scripts/deps.sh

ensure_packages meson ninja-build gcc clang libclang-rt-14-dev llvm-14 \
    gcc-multilib valgrind pkg-config cmake

export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1

summary=""
run_build() {
    name=$1
    shift
    echo "=== $name: configure and build"
    mkdir -p build
    if ! meson_configure "build/$name" "$@" >"build/$name.log" 2>&1; then
        tail -n 20 "build/$name/meson-logs/meson-log.txt" 2>/dev/null || true
        echo "$name: meson setup failed (log build/$name/meson-logs/meson-log.txt)"
        summary="$summary$name: FAIL (configure)\n"
        return 0
    fi
    if ! ninja -C "build/$name" >"build/$name.log" 2>&1; then
        tail -n 40 "build/$name.log" 2>/dev/null || true
        summary="$summary$name: FAIL (build)\n"
        return 0
    fi
    echo "=== $name: test"
    # shellcheck disable=SC2086 # SUITES is a list of --suite options
    if meson test -C "build/$name" --print-errorlogs --num-processes 2 ${SUITES:-}; then
        note=""
        [ "$name" != m32 ] || note=${M32_NOTE:-}
        summary="$summary$name: pass$note\n"
    else
        summary="$summary$name: FAIL\n"
    fi
}

CC=gcc run_build gcc
CC=clang run_build clang
CC=clang run_build asan -Db_sanitize=address,undefined -Db_lundef=false -Dsanitizer_annotations=true \
    -Dc_args=-fno-sanitize-recover=all
# -m32: natively, or where the kernel cannot execute 32-bit programs, as a
# cross build whose tests run under qemu-i386 (meson's exe_wrapper).
m32_rc=0
m32_runs_natively || m32_rc=$?
if [ $m32_rc = 1 ]; then
    echo "=== m32: this kernel cannot execute 32-bit programs; building for i686 and running the tests under qemu-i386"
    ensure_packages qemu-user
    mkdir -p build
    cat >build/m32-cross.ini <<'INI'
[binaries]
c = ['gcc', '-m32']
ar = 'ar'
strip = 'strip'
pkgconfig = 'pkg-config'
exe_wrapper = 'qemu-i386'

[properties]
needs_exe_wrapper = true

[host_machine]
system = 'linux'
cpu_family = 'x86'
cpu = 'i686'
endian = 'little'
INI
    M32_NOTE=" (tests under qemu-i386: this kernel cannot run 32-bit programs)"
    run_build m32 --cross-file build/m32-cross.ini
else
    M32_NOTE=""
    CC=gcc CFLAGS=-m32 LDFLAGS=-m32 run_build m32
fi
# The index format with a one-node top level: small heaps grow deep index
# trees, so the corpus and the differential test reach every index level.
SUITES="--suite replay --suite diff" CC=clang run_build asan-top1 \
    -Db_sanitize=address,undefined -Db_lundef=false -Dsanitizer_annotations=true \
    "-Dc_args=-fno-sanitize-recover=all -DBMA_TOP_NODES=1"

echo "=== consumers (install, pkg-config, meson subproject, CMake, C99/C++ header)"
if scripts/consumer-test.sh; then
    summary="${summary}consumers: pass\n"
else
    summary="${summary}consumers: FAIL\n"
fi

# The mutation check (scripts/mutation-test.sh) is too slow for every run,
# but a planted-bug patch that no longer applies would silently drop out of
# it, so every patch must still apply to lib/ as it is now.
echo "=== mutants: every fuzz/mutants/*.patch applies to lib/"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    stale=""
    for p in fuzz/mutants/*.patch; do
        git apply --check "$p" 2>/dev/null || stale="$stale $p"
    done
    if [ -z "$stale" ]; then
        summary="${summary}mutants apply: pass\n"
    else
        echo "stale mutant patches (rewrite them against lib/):$stale"
        summary="${summary}mutants apply: FAIL\n"
    fi
else
    echo "not a git checkout: skipped"
fi

echo "=== summary"
printf "$summary"
! printf "$summary" | grep -q FAIL

#!/bin/sh
# Installs bitmapalloc into a temporary prefix and builds and runs outside
# consumers of the installed library (tests/consumers/run.sh): the install
# itself, the exported symbols, the headers as C99 / C11 / C++11, make +
# pkg-config, a meson project (pkg-config and subproject), an ASan meson
# project with bitmapalloc as a subproject (sanitizer annotations off: a live
# heap is a plain buffer; on: an overrun into a free chunk is reported), and
# CMake.
# Prints PASS or FAIL per way and exits non-zero on any failure.
#
# Usage: scripts/consumer-test.sh     (installs missing Debian packages as root)
#   BMA_KEEP_TMP=1 keeps the temporary directory and prints its path.
set -eu
cd "$(dirname "$0")/.."
. scripts/deps.sh

ensure_packages meson ninja-build gcc g++ make pkg-config cmake binutils

src=$(pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bma-consumers.XXXXXX")
cleanup() {
    if [ "${BMA_KEEP_TMP:-0}" = 1 ]; then
        echo "kept $tmp"
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "=== consumers: build and install into $tmp/prefix"
if ! {
    meson setup "$tmp/build" "$src" --prefix="$tmp/prefix" -Dtests=false &&
        ninja -C "$tmp/build" -j 2 &&
        meson install -C "$tmp/build" --no-rebuild
} >"$tmp/install.log" 2>&1; then
    echo "FAIL: build-and-install (log follows)"
    tail -n 40 "$tmp/install.log"
    echo "consumers: 0 passed, 1 failed"
    exit 1
fi
echo "PASS: build-and-install"

mkdir "$tmp/work"
sh tests/consumers/run.sh "$tmp/prefix" "$src" "$tmp/work"

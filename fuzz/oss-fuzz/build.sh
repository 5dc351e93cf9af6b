#!/bin/bash -eu
# OSS-Fuzz / ClusterFuzzLite build script for bitmapalloc.
#
# Runs inside gcr.io/oss-fuzz-base/base-builder (the Dockerfile copies it to
# $SRC/build.sh and the checkout to $SRC/bitmapalloc), or here through
# scripts/oss-fuzz-test.sh. It reads the environment OSS-Fuzz's `compile`
# sets up:
#   CC, CFLAGS          compiler and flags: sanitizer, and for libFuzzer/
#                       honggfuzz the coverage flags (-fsanitize=fuzzer-no-link)
#   LIB_FUZZING_ENGINE  link argument for the engine: -fsanitize=fuzzer, or a
#                       path to an engine library (libAFLDriver.a, libhfuzz.a)
#   FUZZING_ENGINE      libfuzzer | afl | honggfuzz | centipede | none
#   SRC, WORK, OUT      sources, scratch space, and where the results go
# and writes, for each harness NAME, to $OUT:
#   NAME  NAME_seed_corpus.zip (corpus/NAME/)  NAME.dict  NAME.options
#
# Meson is configured so that $CFLAGS rule: buildtype plain (no -O/-g of its
# own), werror off (the project's default werror=true would turn harmless
# warnings from the injected flags into a failed build), static libraries,
# no -Wl,--no-undefined (b_lundef=false), no test suites. Meson itself adds
# $CFLAGS to every link line.
set -euo pipefail

: "${SRC:?SRC is not set (run inside OSS-Fuzz, or through scripts/oss-fuzz-test.sh)}"
: "${WORK:?WORK is not set}"
: "${OUT:?OUT is not set}"
: "${CC:?CC is not set}"
CFLAGS=${CFLAGS-}
LIB_FUZZING_ENGINE=${LIB_FUZZING_ENGINE:--fsanitize=fuzzer}
FUZZING_ENGINE=${FUZZING_ENGINE:-libfuzzer}
export CC CFLAGS

# The checkout: $SRC/bitmapalloc (OSS-Fuzz and ClusterFuzzLite), else the
# checkout this script sits in (running fuzz/oss-fuzz/build.sh in place).
PROJECT_DIR=${BMA_PROJECT_DIR:-$SRC/bitmapalloc}
if [ ! -f "$PROJECT_DIR/meson.build" ]; then
    PROJECT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
fi
if [ ! -f "$PROJECT_DIR/meson.build" ] || [ ! -d "$PROJECT_DIR/fuzz" ]; then
    echo "build.sh: no bitmapalloc checkout at $SRC/bitmapalloc" >&2
    exit 1
fi

# libFuzzer gets the project's libFuzzer build; every other engine links its
# driver through fuzz_link_args alone (the 'afl' build: no -fsanitize=fuzzer
# of its own when fuzz_link_args is set).
case $FUZZING_ENGINE in
    libfuzzer) MESON_ENGINE=libfuzzer ;;
    none) echo "build.sh: FUZZING_ENGINE=none is not supported" >&2; exit 1 ;;
    *) MESON_ENGINE=afl ;;
esac

# Same as scripts/fuzz.sh: keep the oracle and the engine's pattern loops out
# of SanitizerCoverage feedback (about 4x faster). Only where CFLAGS already
# turn SanitizerCoverage on; AFL++ instruments by its own pass.
IGNORELIST=$PROJECT_DIR/fuzz/coverage-ignore.txt
if [ "${BMA_COVERAGE_IGNORELIST:-1}" = 1 ] && [ -f "$IGNORELIST" ] && [ "$FUZZING_ENGINE" != afl ]; then
    case " $CFLAGS " in
        *fuzzer-no-link*|*-fsanitize-coverage=*)
            CFLAGS="$CFLAGS -fsanitize-coverage-ignorelist=$IGNORELIST" ;;
    esac
fi

BUILD=$WORK/bitmapalloc-build
rm -rf "$BUILD"  # meson reads CFLAGS on the first setup only

echo "build.sh: $PROJECT_DIR -> $OUT (FUZZING_ENGINE=$FUZZING_ENGINE, meson fuzz_engine=$MESON_ENGINE)"
meson setup "$BUILD" "$PROJECT_DIR" \
    --buildtype=plain \
    -Dwerror=false \
    -Ddefault_library=static \
    -Db_lundef=false \
    -Dtests=false \
    -Dsanitizer_annotations=true \
    -Dfuzz_engine="$MESON_ENGINE" \
    -Dfuzz_link_args="$LIB_FUZZING_ENGINE" ||
    { cat "$BUILD/meson-logs/meson-log.txt" >&2 || true; exit 1; }

# The harnesses are the executables fuzz/meson.build defines (with an engine
# selected, that is all of them). Ask meson rather than keep a second list.
mapfile -t TARGETS < <(meson introspect --targets "$BUILD" | python3 -c '
import json, os, sys
build = sys.argv[1]
for t in json.load(sys.stdin):
    if t["type"] == "executable" and t["defined_in"].replace(os.sep, "/").endswith("/fuzz/meson.build"):
        for f in t["filename"]:
            print(os.path.relpath(f, build))
' "$BUILD")
[ ${#TARGETS[@]} -gt 0 ] || { echo "build.sh: fuzz/meson.build defines no harness" >&2; exit 1; }

ninja -C "$BUILD" -j"${BMA_JOBS:-$(nproc)}" "${TARGETS[@]}"

mkdir -p "$OUT"
for target in "${TARGETS[@]}"; do
    name=$(basename "$target")
    cp "$BUILD/$target" "$OUT/$name"
    corpus=$PROJECT_DIR/corpus/$name
    if [ -n "$(find "$corpus" -type f -print -quit 2>/dev/null)" ]; then
        rm -f "$OUT/${name}_seed_corpus.zip"
        # -j: flat archive, as ClusterFuzz unpacks it into one directory.
        (cd "$corpus" && find . -type f -print | LC_ALL=C sort | zip -q -j -X "$OUT/${name}_seed_corpus.zip" -@)
    else
        echo "build.sh: warning: no seed corpus in corpus/$name" >&2
    fi
    for ext in dict options; do
        if [ -f "$PROJECT_DIR/fuzz/$name.$ext" ]; then
            cp "$PROJECT_DIR/fuzz/$name.$ext" "$OUT/$name.$ext"
        else
            echo "build.sh: warning: no fuzz/$name.$ext" >&2
        fi
    done
    echo "build.sh: $OUT/$name"
done

#!/usr/bin/env bash
# Runs fuzz/oss-fuzz/build.sh in a simulated OSS-Fuzz build environment and
# checks what it leaves in $OUT.
#
#   scripts/oss-fuzz-test.sh [CONFIG...]
#
# CONFIG is one of these; without arguments the first three run:
#   libfuzzer   CC=clang, CFLAGS with ASan+UBSan and -fsanitize=fuzzer-no-link,
#               LIB_FUZZING_ENGINE=-fsanitize=fuzzer, FUZZING_ENGINE=libfuzzer
#   afl         CC=afl-clang-fast, CFLAGS with ASan, LIB_FUZZING_ENGINE=
#               -fsanitize=fuzzer (AFL++'s libFuzzer-compatible driver)
#   afl-driver  as afl, but LIB_FUZZING_ENGINE=/usr/lib/afl/libAFLDriver.a: a
#               driver library path, the form OSS-Fuzz's compile_afl uses
#   undefined   libFuzzer with OSS-Fuzz's SANITIZER=undefined flags
#   memory      libFuzzer with OSS-Fuzz's SANITIZER=memory flags
#
# Like the OSS-Fuzz Dockerfile, it copies the working tree (without build/
# and .git) to $SRC/bitmapalloc and fuzz/oss-fuzz/build.sh to $SRC/build.sh,
# then runs `bash -eux $SRC/build.sh` from $SRC/bitmapalloc. In $OUT, for each
# harness (the fuzz/*.c that define LLVMFuzzerTestOneInput), it checks the
# executable and its sanitizer, NAME_seed_corpus.zip (every corpus/NAME file,
# nothing else), NAME.dict and NAME.options, then runs it: libFuzzer binaries
# for -runs=2000 over the unzipped seed corpus with the flags from
# NAME.options, AFL++ binaries on one seed through argv and one through
# stdin, under afl-showmap (proves the AFL++ instrumentation) and over the
# whole seed corpus. Prints PASS/FAIL per check; exits non-zero if any failed.
#
# As root, installs missing Debian packages. BMA_KEEP_TMP=1 keeps the
# temporary directory (it is always kept after a failure). BMA_JOBS
# (default 2) is build.sh's ninja -j.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)
. scripts/deps.sh
# shellcheck source=fuzz/fuzz-env.sh
. fuzz/fuzz-env.sh # fz_options_pairs

CONFIGS=("$@")
[ ${#CONFIGS[@]} -gt 0 ] || CONFIGS=(libfuzzer afl afl-driver)
for c in "${CONFIGS[@]}"; do
    case $c in
        libfuzzer|afl|afl-driver|undefined|memory) ;;
        -h|--help) sed -n '2,33p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown config $c (libfuzzer, afl, afl-driver, undefined, memory)" >&2; exit 2 ;;
    esac
done

ensure_packages zip unzip afl++ clang libclang-rt-14-dev meson ninja-build python3 binutils || exit 1

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bma-oss-fuzz.XXXXXX")
cleanup() {
    if [ "${BMA_KEEP_TMP:-0}" = 1 ] || [ "$failed" -gt 0 ]; then
        echo "kept $tmp"
    else
        rm -rf "$tmp"
    fi
}
passed=0 failed=0
trap cleanup EXIT
trap 'exit 130' INT TERM

pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
# check NAME COMMAND...: PASS or FAIL by the command's status.
check() {
    local name=$1
    shift
    if "$@"; then pass "$name"; else fail "$name"; fi
}

# The harnesses, found independently of build.sh (which asks meson).
mapfile -t HARNESSES < <(grep -l -E '^int LLVMFuzzerTestOneInput\(.*\)[[:space:]]*$' fuzz/*.c |
                         grep -v '/replay\.c$' | xargs -n1 basename | sed 's/\.c$//' | LC_ALL=C sort)
if [ ${#HARNESSES[@]} -eq 0 ]; then
    echo "FAIL: no harness found in fuzz/*.c"
    exit 1
fi
echo "harnesses: ${HARNESSES[*]}"

# The source tree as the Dockerfile lays it out.
SRC=$tmp/src
mkdir -p "$SRC/bitmapalloc"
tar -C "$ROOT" --exclude=./build --exclude=./.git -cf - . | tar -C "$SRC/bitmapalloc" -xf - ||
    { echo "FAIL: copy the checkout to $SRC/bitmapalloc"; exit 1; }
cp fuzz/oss-fuzz/build.sh "$SRC/build.sh"

# libFuzzer flags from OUT/NAME.options ([libfuzzer] key = value), as
# ClusterFuzz passes them; dict is relative to $OUT.
options_flags() {
    local f=$1 out=$2 key val
    while read -r key val; do
        [ "$key" = dict ] && val=$out/$val
        echo "-$key=$val"
    done < <(fz_options_pairs "$f")
}

check_out_files() {
    local out=$1 h=$2 want got
    check "$h: executable in \$OUT" test -f "$out/$h" -a -x "$out/$h"
    check "$h: built with $SANITIZER (${SANITIZER_SYMBOL})" \
        sh -c "nm '$out/$h' 2>/dev/null | grep -q '$SANITIZER_SYMBOL'"
    want=$(find "corpus/$h" -type f 2>/dev/null | wc -l)
    got=$(unzip -Z1 "$out/${h}_seed_corpus.zip" 2>/dev/null | grep -vc '/$')
    if [ -s "$out/${h}_seed_corpus.zip" ] && unzip -l "$out/${h}_seed_corpus.zip" >/dev/null 2>&1 &&
       [ "$got" -gt 0 ] && [ "$got" = "$want" ]; then
        pass "$h: ${h}_seed_corpus.zip ($got files, all of corpus/$h)"
    else
        fail "$h: ${h}_seed_corpus.zip (zip lists ${got:-0} files, corpus/$h has $want)"
    fi
    check "$h: $h.dict" test -s "$out/$h.dict"
    check "$h: $h.options" test -s "$out/$h.options"
    local d
    d=$(sed -n 's/^[[:space:]]*dict[[:space:]]*=[[:space:]]*//p' "$out/$h.options" 2>/dev/null | sed 's/[[:space:]]*$//')
    [ -z "$d" ] || check "$h: options' dict = $d is in \$OUT" test -s "$out/$d"
}

run_libfuzzer() {
    local out=$1 h=$2 dir log
    dir=$tmp/run-$3/$h log=$tmp/run-$3/$h.log
    mkdir -p "$dir/corpus" "$dir/artifacts"
    (cd "$dir/corpus" && unzip -q "$out/${h}_seed_corpus.zip") || { fail "$h: unzip seed corpus"; return; }
    mapfile -t opts < <(options_flags "$out/$h.options" "$out")
    # Sanitizer reports are fatal, leaks included; unsigned wrap-around is a
    # coverage signal only (OSS-Fuzz's silence_unsigned_overflow).
    if ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:symbolize=1 \
       MSAN_OPTIONS=abort_on_error=1:symbolize=1 \
       UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:silence_unsigned_overflow=1 \
       timeout 300 "$out/$h" -runs=2000 -max_total_time=120 -print_final_stats=1 \
           -artifact_prefix="$dir/artifacts/" "${opts[@]}" "$dir/corpus" >"$log" 2>&1 &&
       grep -q '^Done [0-9]* runs' "$log" && ! grep -q 'runtime error:' "$log"; then
        pass "$h: libFuzzer $(grep -m1 -o 'INITED cov: [0-9]*' "$log"), $(grep -o '^Done [0-9]* runs in [0-9]* second(s)' "$log") (${opts[*]})"
    else
        fail "$h: libFuzzer -runs=2000 over the seed corpus (log $log):"
        tail -n 15 "$log"
    fi
}

run_afl() {
    local out=$1 h=$2 dir seed tuples
    dir=$tmp/run-$3/$h
    mkdir -p "$dir/corpus"
    (cd "$dir/corpus" && unzip -q "$out/${h}_seed_corpus.zip") || { fail "$h: unzip seed corpus"; return; }
    seed=$(find "$dir/corpus" -type f -size +0 | LC_ALL=C sort | head -1)
    local asan=abort_on_error=1:detect_leaks=1:symbolize=1
    if ASAN_OPTIONS=$asan "$out/$h" "$seed" >"$dir.argv.log" 2>&1 && grep -q 'Execution successful' "$dir.argv.log"; then
        pass "$h: AFL++ driver runs one seed from argv ($(basename "$seed"))"
    else
        fail "$h: AFL++ driver on one seed from argv (log $dir.argv.log)"
        tail -n 10 "$dir.argv.log"
    fi
    if ASAN_OPTIONS=$asan "$out/$h" - <"$seed" >"$dir.stdin.log" 2>&1 && grep -q 'Execution successful' "$dir.stdin.log"; then
        pass "$h: AFL++ driver runs one seed from stdin"
    else
        fail "$h: AFL++ driver on one seed from stdin (log $dir.stdin.log)"
        tail -n 10 "$dir.stdin.log"
    fi
    if ASAN_OPTIONS=$asan AFL_QUIET=1 afl-showmap -q -t 10000 -o "$dir.map" -- "$out/$h" "$seed" >"$dir.showmap.log" 2>&1 &&
       tuples=$(wc -l <"$dir.map") && [ "$tuples" -gt 0 ]; then
        pass "$h: afl-showmap sees AFL++ instrumentation ($tuples tuples)"
    else
        fail "$h: afl-showmap (log $dir.showmap.log)"
        tail -n 10 "$dir.showmap.log"
    fi
    local n
    n=$(find "$dir/corpus" -type f | wc -l)
    if find "$dir/corpus" -type f -print0 | LC_ALL=C sort -z |
        ASAN_OPTIONS=$asan timeout 300 xargs -0 "$out/$h" >"$dir.all.log" 2>&1 &&
       [ "$(grep -c 'Execution successful' "$dir.all.log")" -ge "$n" ]; then
        pass "$h: AFL++ driver replays all $n seeds"
    else
        fail "$h: AFL++ driver over the whole seed corpus (log $dir.all.log)"
        tail -n 10 "$dir.all.log"
    fi
}

# OSS-Fuzz's per-sanitizer flags (base-builder's SANITIZER_FLAGS_*), its
# default compile flags, and its libFuzzer coverage flags.
BASE_CFLAGS="-O1 -fno-omit-frame-pointer -gline-tables-only"
ASAN_FLAGS="-fsanitize=address -fsanitize-address-use-after-scope"
UBSAN_CHECKS=array-bounds,bool,builtin,enum,float-divide-by-zero,function,integer-divide-by-zero,null,object-size,return,returns-nonnull-attribute,shift,signed-integer-overflow,unsigned-integer-overflow,unreachable,vla-bound,vptr
UBSAN_FLAGS="-fsanitize=$UBSAN_CHECKS -fno-sanitize-recover=${UBSAN_CHECKS/unsigned-integer-overflow,/}"
MSAN_FLAGS="-fsanitize=memory -fsanitize-memory-track-origins"
for config in "${CONFIGS[@]}"; do
    echo "=== $config"
    WORK=$tmp/work-$config OUT=$tmp/out-$config
    mkdir -p "$WORK" "$OUT"
    case $config in
        undefined) SANITIZER=undefined SANITIZER_SYMBOL=__ubsan_handle_ ;;
        memory) SANITIZER=memory SANITIZER_SYMBOL=__msan_init ;;
        *) SANITIZER=address SANITIZER_SYMBOL=__asan_init ;;
    esac
    case $config in afl|afl-driver) engine=afl ;; *) engine=libfuzzer ;; esac
    start=$SECONDS
    (
        unset LDFLAGS CPPFLAGS CXXFLAGS AFL_USE_ASAN AFL_USE_UBSAN AFL_LLVM_DENYLIST AFL_LLVM_ALLOWLIST
        export SRC WORK OUT SANITIZER ARCHITECTURE=x86_64 FUZZING_LANGUAGE=c FUZZING_ENGINE=$engine \
            BMA_JOBS=${BMA_JOBS:-2}
        case $config in
            libfuzzer) flags="-fsanitize=address,undefined -fsanitize-address-use-after-scope" ;;
            undefined) flags=$UBSAN_FLAGS ;;
            memory) flags=$MSAN_FLAGS ;;
            *) flags=$ASAN_FLAGS ;;
        esac
        if [ $engine = libfuzzer ]; then
            export CC=clang CXX=clang++ LIB_FUZZING_ENGINE=-fsanitize=fuzzer \
                CFLAGS="$BASE_CFLAGS $flags -fsanitize=fuzzer-no-link"
        else
            # compile_afl: afl-clang-fast, sanitizer flags only (no
            # SanitizerCoverage), quiet, no leak checks while building.
            export CC=afl-clang-fast CXX=afl-clang-fast++ CFLAGS="$BASE_CFLAGS $flags" \
                AFL_QUIET=1 ASAN_OPTIONS=detect_leaks=0:symbolize=0:detect_odr_violation=0:abort_on_error=1
            if [ "$config" = afl ]; then
                export LIB_FUZZING_ENGINE=-fsanitize=fuzzer
            else
                export LIB_FUZZING_ENGINE=/usr/lib/afl/libAFLDriver.a
            fi
        fi
        export CXXFLAGS=$CFLAGS
        cd "$SRC/bitmapalloc" && bash -eux "$SRC/build.sh"
    ) >"$tmp/build-$config.log" 2>&1
    rc=$?
    if [ $rc = 0 ]; then
        pass "$config: build.sh ($((SECONDS - start)) s)"
    else
        fail "$config: build.sh exited with $rc (log $tmp/build-$config.log):"
        tail -n 30 "$tmp/build-$config.log"
        continue
    fi
    for h in "${HARNESSES[@]}"; do
        check_out_files "$OUT" "$h"
        if [ ! -x "$OUT/$h" ] || [ ! -s "$OUT/${h}_seed_corpus.zip" ]; then continue; fi
        case $engine in
            libfuzzer) run_libfuzzer "$OUT" "$h" "$config" ;;
            *) run_afl "$OUT" "$h" "$config" ;;
        esac
    done
    extra=$(find "$OUT" -mindepth 1 -maxdepth 1 -printf '%f\n' |
            grep -v -E "^($(IFS='|'; echo "${HARNESSES[*]}"))(\.dict|\.options|_seed_corpus\.zip)?$")
    if [ -z "$extra" ]; then
        pass "$config: nothing else in \$OUT"
    else
        fail "$config: unexpected files in \$OUT: $(echo "$extra" | tr '\n' ' ')"
    fi
done

echo "=== oss-fuzz-test: $passed passed, $failed failed (${CONFIGS[*]})"
[ "$failed" = 0 ]

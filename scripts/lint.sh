#!/usr/bin/env bash
# Static analysis and formatting.
#   clang-tidy    config in .clang-tidy
#   cppcheck      --enable=warning,style,performance,portability --library=posix
#   gcc-analyzer  gcc -fanalyzer (only its -Wanalyzer-* diagnostics count)
#   scan-build    scan-build-14, the clang static analyzer's default checkers
#   clang-format  .clang-format; a file it would change is a finding
# over lib/, oracle/, fuzz/, tests/ (tests/*.c, tests/soak/) and the headers
# they include; clang-format also covers include/, examples/ and bench/.
#
# Every finding is printed as path:line:col: message [check], and the counts
# per tool and directory go to build/lint/counts.tsv (the full lists to
# build/lint/TOOL.txt). The script fails if
#   - any analyzer reports anything in a gated directory (LINT_GATE, default
#     "include lib oracle fuzz tests"; tests/ is tests/*.c, tests/*.h and
#     tests/soak/, never tests/planted/, whose bugs are there to be reported),
#   - clang-format would change any file,
#   - any analyzer reports nothing in tests/planted/analyzer_bugs.c (the
#     proof that its configuration checks something).
# Suppress a finding at its line with a reason, so that grep lists them all:
#   clang-tidy    /* NOLINT(check-name): reason */
#   cppcheck      /* cppcheck-suppress id ; reason */   (on the line before)
#   gcc-analyzer  #pragma GCC diagnostic ignored "-Wanalyzer-..." around it, with a comment
#   scan-build    #ifndef __clang_analyzer__ around it, with a comment
#
# Usage: scripts/lint.sh [--tools "clang-tidy cppcheck gcc-analyzer scan-build clang-format"] [-j N]
#        scripts/lint.sh --fix-format    (runs clang-format -i on every file in scope; changes files)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
. scripts/deps.sh

TOOLS="clang-tidy cppcheck gcc-analyzer scan-build clang-format"
JOBS=2
FIX_FORMAT=0
while [ $# -gt 0 ]; do
    case $1 in
    --tools) TOOLS=$2; shift ;;
    -j) JOBS=$2; shift ;;
    --fix-format) FIX_FORMAT=1 ;;
    -h | --help)
        sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "unknown argument: $1" >&2
        exit 2
        ;;
    esac
    shift
done

ensure_packages clang-tidy cppcheck clang-format clang-tools-14 clang gcc make

OUT="$ROOT/build/lint"
rm -rf "$OUT"
mkdir -p "$OUT/raw"
DIRS="include lib oracle fuzz tests"
GATE=${LINT_GATE:-include lib oracle fuzz tests}
PLANTED=tests/planted/analyzer_bugs.c

# ------------------------------------------------------------- sources

# The translation units each analyzer sees, as paths relative to the root.
analyzed_files() {
    ls lib/*.c oracle/*.c fuzz/*.c tests/*.c 2>/dev/null
    ls tests/soak/*.c 2>/dev/null || true
}

format_files() {
    ls include/*.h lib/*.c lib/*.h oracle/*.c oracle/*.h fuzz/*.c fuzz/*.h tests/*.c tests/*.h \
        tests/soak/*.c tests/planted/*.c examples/*.c bench/*.c bench/*.h 2>/dev/null || true
}

# tests/meson.build's test_c_args, which the unit tests are built with.
test_c_args() {
    [ -f tests/meson.build ] || return 0
    sed -n "s/^test_c_args *= *\\[\\(.*\\)\\].*/\\1/p" tests/meson.build | head -n1 | tr -d "'," || true
}
TEST_ARGS=$(test_c_args)

# Compiler flags for one file, as the build uses them.
flags_for() {
    local f=$1
    printf '%s ' -std=c11 -I"$ROOT/include" -I"$ROOT/oracle" -I"$ROOT/fuzz" -I"$ROOT/tests"
    case $f in
    tests/test_*.c) printf '%s ' $TEST_ARGS ;;
    esac
}

# par CMD...: runs CMD in the background, at most JOBS at once.
par() {
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do
        wait -n || true
    done
    "$@" &
}

# Normalises "ABS_PATH:line:col: ..." to a root-relative path.
rel() { sed "s|$ROOT/||g"; }

# ------------------------------------------------------------ analyzers

run_clang_tidy() { # FILE OUTPUT
    # shellcheck disable=SC2046 # the flags are words
    clang-tidy --quiet "$1" -- $(flags_for "$1") >"$2" 2>"$2.err" || true
}

clang_tidy() { # FILES... -> findings on stdout
    local f i=0
    rm -f "$OUT"/raw/tidy.*
    for f in "$@"; do
        i=$((i + 1))
        par run_clang_tidy "$f" "$OUT/raw/tidy.$i"
    done
    wait
    cat "$OUT"/raw/tidy.* 2>/dev/null | grep -E '^[^ ]+:[0-9]+:[0-9]+: (warning|error): ' | rel | sort -u || true
}

cppcheck_run() {
    cppcheck --enable=warning,style,performance,portability --std=c11 --library=posix --inline-suppr --quiet \
        -j "$JOBS" --suppress=missingIncludeSystem \
        --template='{file}:{line}:{column}: {severity}: {message} [{id}]' \
        -I include -I oracle -I fuzz -I tests "$@" 2>&1 >/dev/null | tee "$OUT/raw/cppcheck.log" |
        grep -E '^[^ ]+:[0-9]+:[0-9]+: ' | grep -v ': information: ' | rel | sort -u || true
}

run_gcc_analyzer() { # FILE OUTPUT
    # shellcheck disable=SC2046
    gcc $(flags_for "$1") -O1 -fanalyzer -fdiagnostics-plain-output -c "$1" -o /dev/null >"$2" 2>&1 || true
}

gcc_analyzer() {
    local f i=0
    rm -f "$OUT"/raw/gcca.*
    for f in "$@"; do
        i=$((i + 1))
        par run_gcc_analyzer "$f" "$OUT/raw/gcca.$i"
    done
    wait
    cat "$OUT"/raw/gcca.* 2>/dev/null | grep -E '^[^ ]+:[0-9]+:[0-9]+: (warning|error): .*\[-Wanalyzer-' | rel |
        sort -u || true
}

scan_build() { # FILES... (one scan-build run over a generated Makefile)
    local f i=0 mk="$OUT/raw/scan.mk" dir="$OUT/raw/scan-$RANDOM"
    {
        echo "all:"
        for f in "$@"; do
            i=$((i + 1))
            printf 'all: o%d\no%d:\n\t$(CC) %s -c %s -o /dev/null\n' "$i" "$i" "$(flags_for "$f")" "$ROOT/$f"
        done
        echo ".PHONY: all $(seq -f 'o%g' -s ' ' 1 "$i")"
    } >"$mk"
    scan-build-14 -o "$dir" --use-cc=clang-14 make -s -k -j "$JOBS" -f "$mk" >"$OUT/raw/scan.log" 2>&1 || true
    # One HTML report per bug; its header comments say where and what.
    find "$dir" -name 'report-*.html' 2>/dev/null | while read -r r; do
        awk '/<!-- BUGFILE /{file=$3} /<!-- BUGLINE /{line=$3} /<!-- BUGCOLUMN /{col=$3}
             /<!-- BUGDESC /{sub(/^<!-- BUGDESC /,""); sub(/ -->$/,""); desc=$0}
             /<!-- BUGTYPE /{sub(/^<!-- BUGTYPE /,""); sub(/ -->$/,""); type=$0}
             END {printf "%s:%s:%s: %s [scan-build: %s]\n", file, line, col, desc, type}' "$r"
    done | rel | sort -u
}

clang_format_check() {
    local f minus plus
    for f in $(format_files); do
        if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
            minus=$(clang-format "$f" | diff "$f" - | grep -c '^<' || true)
            plus=$(clang-format "$f" | diff "$f" - | grep -c '^>' || true)
            echo "$f:1:1: clang-format would change $minus lines (into $plus) [clang-format]"
        fi
    done
}

# --------------------------------------------------------------- runs

if [ $FIX_FORMAT = 1 ]; then
    # shellcheck disable=SC2046
    clang-format -i $(format_files)
    echo "formatted $(format_files | wc -l) files"
    exit 0
fi

mapfile -t FILES < <(analyzed_files)
status=0
declare -A COUNT
planted_report=""

for tool in $TOOLS; do
    t0=$(date +%s)
    case $tool in
    clang-tidy)
        clang_tidy "${FILES[@]}" >"$OUT/$tool.txt"
        clang_tidy "$PLANTED" >"$OUT/$tool.planted.txt"
        ;;
    cppcheck)
        cppcheck_run "${FILES[@]}" >"$OUT/$tool.txt"
        cppcheck_run "$PLANTED" >"$OUT/$tool.planted.txt"
        ;;
    gcc-analyzer)
        gcc_analyzer "${FILES[@]}" >"$OUT/$tool.txt"
        gcc_analyzer "$PLANTED" >"$OUT/$tool.planted.txt"
        ;;
    scan-build)
        scan_build "${FILES[@]}" >"$OUT/$tool.txt"
        scan_build "$PLANTED" >"$OUT/$tool.planted.txt"
        ;;
    clang-format)
        clang_format_check >"$OUT/$tool.txt"
        ;;
    *)
        echo "unknown tool: $tool" >&2
        exit 2
        ;;
    esac
    rm -f "$OUT"/raw/tidy.* "$OUT"/raw/gcca.*
    n=$(wc -l <"$OUT/$tool.txt")
    echo "=== $tool: $n findings ($(($(date +%s) - t0))s)"
    if [ "$n" -gt 0 ]; then
        sed 's/^/  /' "$OUT/$tool.txt"
    fi
    for d in $DIRS other; do
        if [ $d = other ]; then
            c=$(grep -cvE "^($(echo $DIRS | tr ' ' '|'))/" "$OUT/$tool.txt" || true)
        else
            c=$(grep -c "^$d/" "$OUT/$tool.txt" || true)
        fi
        COUNT[$tool,$d]=$c
    done
    if [ "$tool" = clang-format ]; then
        [ "$n" = 0 ] || status=1
    else
        for d in $GATE; do
            [ "${COUNT[$tool,$d]}" = 0 ] || status=1
        done
        p=$(grep -c "^$PLANTED:" "$OUT/$tool.planted.txt" || true)
        planted_report="$planted_report  $tool: $p findings in $PLANTED"$'\n'
        if [ "$p" = 0 ]; then
            planted_report="$planted_report    NOT CAUGHT: the configuration checks nothing"$'\n'
            status=1
        fi
    fi
done

echo
echo "=== planted bugs (each analyzer must report at least one)"
printf '%s' "$planted_report"

echo
printf '%-14s' "findings"
for d in $DIRS other; do printf '%8s' "$d/"; done
echo
printf 'tool\tdir\tcount\n' >"$OUT/counts.tsv"
for tool in $TOOLS; do
    printf '%-14s' "$tool"
    for d in $DIRS other; do
        printf '%8s' "${COUNT[$tool,$d]}"
        printf '%s\t%s\t%s\n' "$tool" "$d" "${COUNT[$tool,$d]}" >>"$OUT/counts.tsv"
    done
    echo
done
echo "(gated: $GATE (not tests/planted/), and every clang-format finding; counts in build/lint/counts.tsv)"
if [ $status = 0 ]; then
    echo "lint: PASS"
else
    echo "lint: FAIL"
fi
exit $status

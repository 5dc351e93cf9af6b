#!/usr/bin/env bash
# The build matrix, and the sanitizer, Valgrind and planted-bug cells.
#
# Each cell compiles the tree straight with the compiler (no meson: a cell is
# ~10 compiler calls, so that is much faster) and runs every test program in
# it. Sources come from the tree by globs, so new files are picked up:
#   library        lib/*.c                  (+ -Wconversion -Wsign-conversion -Wshadow)
#   test support   oracle/*.c fuzz/diff.c   (the reference model, the differential engine)
#   unit tests     tests/test_*.c           one program each, linked with the above
#   fuzz replay    fuzz/fuzz_*.c + fuzz/replay.c, replaying corpus/<harness>/
#   examples       examples/*.c             one program each
# Every file builds with -Wall -Wextra -Wpedantic -Werror. A test that exits 77
# counts as skipped. The differential test runs with TEST_DIFF_SCALE=1 (half
# the default sweep) and a different TEST_DIFF_SEED in every cell, so the
# cells that run it cover 12+ random streams instead of one stream 24 times.
#
# Sets of cells (--set, repeatable; default: std headers):
#   std         gcc, clang x -O0 -O2 -O3 x -m64 -m32 x -std=c11 -std=c17 (24)
#   headers     the public headers as C99 (-pedantic), C11 and C++11 (g++, clang++)
#   sanitizers  ASan+UBSan (clang, gcc; -fno-sanitize-recover=all; clang's with
#               -DBMA_SANITIZER_ANNOTATIONS=1, gcc's without), clang's
#               unsigned-integer-overflow + implicit-conversion over lib/, MSan
#   valgrind    memcheck over every test with -DBMA_VALGRIND=1 (what meson's
#               -Dvalgrind=true sets)
#   planted     tests/planted/ under each tool: every planted bug MUST be caught
#   all         all of the above
#
# Usage: scripts/matrix.sh [--set NAME]... [--only REGEX] [-j N] [--out DIR] [--list]
#   -j N         cells run in parallel (default 2; the machine has 2 cores)
#   --only RE    run only cells whose name matches the extended regex RE
#   --out DIR    work directory (default build/matrix); each cell's log is DIR/CELL/log
# Work sharing: C17 changes nothing that this C11 code compiles to, so a
# -c17 cell builds everything (its warnings count) but runs a program only if
# its binary differs from the one its -c11 twin already ran (BMA_MATRIX_SHARE=0
# runs everything). The -c17 cells are scheduled after all others.
# Environment: BMA_DIFF_SCALE (default 1; 0 is quickest), BMA_DIFF_SEED_BASE
#   (default 1: cell k uses seed BASE + k), BMA_TEST_TIMEOUT (seconds per
#   program, default 600), BMA_EXTRA_CFLAGS (added to every compile of the
#   tree cells, e.g. -D_POSIX_C_SOURCE=200809L).
# Prints a table of cells and exits non-zero if any cell failed. On a kernel
# that cannot execute 32-bit programs the -m32 cells only build (BUILT).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

# --------------------------------------------------------------- cells

std_cells() {
    local cc opt bits std
    for cc in gcc clang; do
        for opt in O0 O2 O3; do
            for bits in m64 m32; do
                for std in c11 c17; do
                    echo "$cc-$opt-$bits-$std"
                done
            done
        done
    done
}

list_set() {
    case $1 in
    std) std_cells ;;
    headers) printf '%s\n' hdr-c99-gcc hdr-c99-clang hdr-c11-gcc hdr-c99-macro-gcc hdr-c99-macro-clang \
        hdr-cxx11-g++ hdr-cxx11-clang++ hdr-cxx11-oldcast-g++ ;;
    sanitizers) printf '%s\n' asan-ubsan-clang asan-ubsan-gcc ubsan-int-clang msan-clang ;;
    valgrind) printf '%s\n' valgrind-gcc ;;
    planted) printf '%s\n' planted-valgrind-uaf planted-valgrind-undef planted-asan-uaf \
        planted-asan-overflow planted-msan-uninit planted-ubsan-int ;;
    all) for s in std headers sanitizers valgrind planted; do list_set $s; done ;;
    *)
        echo "unknown set: $1" >&2
        return 1
        ;;
    esac
}

WARN=(-Wall -Wextra -Wpedantic -Werror)
LIBWARN=(-Wconversion -Wsign-conversion -Wshadow)

# ------------------------------------------------------- cell machinery
# A cell runs in its own directory $D; everything it prints goes to $D/log.
# Its verdict is $D/result: "STATUS<TAB>build_s<TAB>run_s<TAB>detail".

D=""
NOTES=""
note() { NOTES="${NOTES:+$NOTES; }$*"; }
log() { echo "$*" >>"$D/log"; }

# run_logged CMD...: runs CMD with output appended to the log; returns its status.
run_logged() {
    log "+ $*"
    "$@" >>"$D/log" 2>&1
}

# Compiles and links one cell. Arguments: CC STD OPT ARCH "EXTRA_ALL" "EXTRA_LIB" "LDEXTRA".
# EXTRA_ALL applies to every file; EXTRA_LIB also to lib/*.c.
build_tree() {
    local cc=$1 std=$2 opt=$3 arch=$4
    local -a all lib ld
    read -r -a all <<<"$5"
    read -r -a lib <<<"$6"
    read -r -a ld <<<"$7"
    local -a extra
    read -r -a extra <<<"${BMA_EXTRA_CFLAGS:-}"
    local -a base=(-std="$std" "$opt" ${arch:+"$arch"} "${WARN[@]}" -I"$ROOT/include" "${all[@]}" "${extra[@]}")
    local src name
    mkdir -p "$D/obj" "$D/bin"
    for src in "$ROOT"/lib/*.c; do
        name=$(basename "$src" .c)
        run_logged "$cc" "${base[@]}" "${LIBWARN[@]}" "${lib[@]}" -c "$src" -o "$D/obj/lib_$name.o" || return 1
    done
    rm -f "$D/obj/libbitmapalloc.a" "$D/obj/libbmatest.a"
    run_logged ar rcs "$D/obj/libbitmapalloc.a" "$D"/obj/lib_*.o || return 1
    for src in "$ROOT"/oracle/*.c "$ROOT/fuzz/diff.c"; do
        name=$(basename "$src" .c)
        run_logged "$cc" "${base[@]}" -I"$ROOT/oracle" -I"$ROOT/fuzz" -c "$src" -o "$D/obj/t_$name.o" || return 1
    done
    run_logged ar rcs "$D/obj/libbmatest.a" "$D"/obj/t_*.o || return 1
    local -a link=("$D/obj/libbmatest.a" "$D/obj/libbitmapalloc.a" -pthread -lm "${ld[@]}")
    local -a inc=(-I"$ROOT/oracle" -I"$ROOT/fuzz" -I"$ROOT/tests")
    local -a targs
    read -r -a targs <<<"$(test_c_args)"
    for src in "$ROOT"/tests/test_*.c; do
        [ -e "$src" ] || continue
        name=$(basename "$src" .c)
        run_logged "$cc" "${base[@]}" "${targs[@]}" "${inc[@]}" "$src" "${link[@]}" -o "$D/bin/$name" || return 1
    done
    for src in "$ROOT"/fuzz/fuzz_*.c; do
        [ -e "$src" ] || continue
        name=$(basename "$src" .c)
        run_logged "$cc" "${base[@]}" "${inc[@]}" "$src" "$ROOT/fuzz/replay.c" "${link[@]}" -o "$D/bin/$name" ||
            return 1
    done
    for src in "$ROOT"/examples/*.c; do
        [ -e "$src" ] || continue
        name=$(basename "$src" .c)
        run_logged "$cc" "${base[@]}" "${LIBWARN[@]}" "$src" "${link[@]}" -o "$D/bin/example_$name" || return 1
    done
}

# The unit tests' extra flags, as tests/meson.build gives them to meson:
# the strings of its "test_c_args = [...]" line.
test_c_args() {
    [ -f "$ROOT/tests/meson.build" ] || return 0
    sed -n "s/^test_c_args *= *\[\(.*\)\].*/\1/p" "$ROOT/tests/meson.build" | head -n1 | tr -d "'," || true
}

# run_programs [RUNNER...]: runs every built program, prefixed by RUNNER.
# Sets FAILED (names) and SKIPPED (names). Each result also goes to
# $D/progs.tsv (name, exit status, seconds). With TWIN set to another cell's
# directory, a program whose binary is byte-identical to the twin's and whose
# result the twin already has is not run again: its result is taken over.
FAILED=""
SKIPPED=""
TWIN=""
run_programs() {
    local exe name rc t shared=0 total=0
    local -a runner=("$@")
    slowest="" slowest_s=-1
    mkdir -p "$D/tmp"
    : >"$D/progs.tsv"
    for exe in "$D"/bin/*; do
        name=$(basename "$exe")
        local -a args=()
        case $name in
        fuzz_*)
            [ -d "$ROOT/corpus/$name" ] || continue
            # shellcheck disable=SC2206 # REPLAY_OPTS is a list of words
            args=(${REPLAY_OPTS:-} "$ROOT/corpus/$name")
            ;;
        esac
        total=$((total + 1))
        rc=""
        if [ -n "$TWIN" ] && [ -f "$TWIN/progs.tsv" ] && cmp -s "$exe" "$TWIN/bin/$name"; then
            rc=$(awk -F'\t' -v n="$name" '$1 == n {print $2}' "$TWIN/progs.tsv")
        fi
        if [ -n "$rc" ]; then
            shared=$((shared + 1))
            t=0
            log "=== $name: identical to $(basename "$TWIN")'s binary, which exited $rc: not run again"
        else
            log "=== $name"
            rc=0
            t=$(date +%s)
            (cd "$D/tmp" && TMPDIR="$D/tmp" timeout "${BMA_TEST_TIMEOUT:-600}" "${runner[@]}" "$exe" "${args[@]}") \
                >>"$D/log" 2>&1 || rc=$?
            t=$(($(date +%s) - t))
            log "=== $name: exit $rc in ${t}s"
        fi
        printf '%s\t%s\t%s\n' "$name" "$rc" "$t" >>"$D/progs.tsv"
        if [ "$t" -gt "$slowest_s" ]; then
            slowest_s=$t
            slowest="$name ${t}s"
        fi
        if [ "$rc" = 77 ]; then
            SKIPPED="$SKIPPED $name"
        elif [ "$rc" != 0 ]; then
            FAILED="$FAILED $name($rc)"
        fi
    done
    [ $shared = 0 ] || note "$shared of $total runs shared with $(basename "$TWIN") (identical binaries)"
}

# Where the differential test draws its stream: one seed per cell.
cell_seed() {
    local k
    k=$(list_set all | grep -nxF -- "$1" | cut -d: -f1)
    echo $((${BMA_DIFF_SEED_BASE:-1} + ${k:-0}))
}

# The first compiler or linker diagnostic of the log, shortened.
first_error() {
    grep -v '^+ ' "$D/log" | grep -m1 -E ': (fatal )?error:|undefined reference|: warning:' |
        sed "s|$ROOT/||g" | cut -c1-150 || true
}

finish() { # STATUS BUILD_S RUN_S
    printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$NOTES" >"$D/result"
}

# A cell that builds the tree and runs every program.
tree_cell() { # CC STD OPT ARCH EXTRA_ALL EXTRA_LIB LDEXTRA [RUNNER...]
    local t0 t1 t2
    t0=$(date +%s)
    if ! build_tree "$1" "$2" "$3" "$4" "$5" "$6" "$7"; then
        note "build failed: $(first_error)"
        finish FAIL $(($(date +%s) - t0)) 0
        return
    fi
    t1=$(date +%s)
    if [ "$4" = -m32 ] && [ "${BMA_M32_RUNS:-1}" = 0 ]; then
        note "built only: this kernel cannot execute 32-bit programs (scripts/test.sh runs the -m32 tests under qemu-i386)"
        finish BUILT $((t1 - t0)) 0
        return
    fi
    shift 7
    run_programs "$@"
    t2=$(date +%s)
    [ -z "$SKIPPED" ] || note "skipped:$SKIPPED"
    [ -z "$slowest" ] || [ "$slowest_s" -le 0 ] || note "slowest: $slowest"
    if [ -n "$FAILED" ]; then
        note "failed:$FAILED"
        finish FAIL $((t1 - t0)) $((t2 - t1))
    else
        finish PASS $((t1 - t0)) $((t2 - t1))
    fi
}

# ---------------------------------------------------------- header cells

write_header_sources() {
    cat >"$D/hdr.c" <<'EOF'
/* The public headers under a strict dialect: every function, no macro that needs C11. */
#include "bitmapalloc.h"
#include "bitmapalloc_dump.h"

static int count_fn(size_t index, size_t count, void *ctx)
{
    (void)index;
    *(size_t *)ctx += count;
    return 0;
}

int main(void)
{
    static unsigned long long buf[8192]; /* 64 KiB, 8-aligned */
    bma_heap *h = NULL;
    void *p = NULL, *q = NULL;
    size_t need = 0, index = 0, used = 0;
    bma_stats st;
    if (bma_buffer_size(64, 4096, &need) != BMA_OK || need > sizeof buf) return 1;
    if (bma_init(buf, sizeof buf, 64, &h) != BMA_OK) return 2;
    if (bma_alloc(h, 100, 0, &p) != BMA_OK || bma_usable_size(h, p) != 128) return 3;
    if (bma_alloc_array(h, 8, 10, 16, &q) != BMA_OK) return 4;
    if (bma_realloc(h, q, 500, 0, &q) != BMA_OK || bma_resize(h, q, 64) != BMA_OK) return 5;
    if (bma_chunk_index(h, p, &index) != BMA_OK || bma_chunk_ptr(h, index) != p) return 6;
    if (bma_walk(h, count_fn, &used) != BMA_OK || bma_get_stats(h, &st) != BMA_OK) return 7;
    if (used != st.used_chunks || bma_check(h) != BMA_OK) return 8;
    if (bma_attach(buf, sizeof buf, &h) != BMA_OK) return 9;
    if (bma_free_sized(h, q, 64) != BMA_OK || bma_free(h, p) != BMA_OK) return 10;
    if (bma_alloc_chunks(h, 3, &index) != BMA_OK || bma_free_chunks(h, index, 3) != BMA_OK) return 11;
    if (bma_strerror(BMA_ECORRUPT) == NULL || bma_detach(h) != BMA_OK) return 12;
    return 0;
}
EOF
    cat >"$D/hdr_macro.c" <<'EOF'
/* BMA_ALLOC_ARRAY: needs _Alignof (C11). */
#include "bitmapalloc.h"

int main(void)
{
    static unsigned long long buf[8192];
    bma_heap *h = NULL;
    double *d = NULL;
    if (bma_init(buf, sizeof buf, 64, &h) != BMA_OK) return 1;
    return BMA_ALLOC_ARRAY(h, double, 4, &d) == BMA_OK && d != NULL ? 0 : 2;
}
EOF
    cat >"$D/hdr.cpp" <<'EOF'
// The public headers from C++11: extern "C", enums, the BMA_ALLOC_ARRAY macro.
#include "bitmapalloc.h"
#include "bitmapalloc_dump.h"

#include <cstdint>

struct alignas(256) Wide {
    unsigned char bytes[256];
};

int main()
{
    alignas(4096) static unsigned char buf[1 << 16];
    bma_heap *h = nullptr;
    if (bma_init(buf, sizeof buf, 64, &h) != BMA_OK) return 1;
    double *d = nullptr;
    Wide *w = nullptr;
    if (BMA_ALLOC_ARRAY(h, double, 4, &d) != BMA_OK || d == nullptr) return 2;
    if (BMA_ALLOC_ARRAY(h, Wide, 2, &w) != BMA_OK) return 3;
    if (reinterpret_cast<std::uintptr_t>(w) % alignof(Wide) != 0) return 4;
    bma_stats st;
    if (bma_get_stats(h, &st) != BMA_OK || st.live_allocations != 2) return 5;
    bma_status s = bma_free(h, d);
    return s == BMA_OK && bma_free(h, w) == BMA_OK ? 0 : 6;
}
EOF
}

# Builds the library once (C11, -O2) for the header programs to link with.
header_lib() { # CC
    local src name
    mkdir -p "$D/obj"
    for src in "$ROOT"/lib/*.c; do
        name=$(basename "$src" .c)
        run_logged "$1" -std=c11 -O2 "${WARN[@]}" -I"$ROOT/include" -c "$src" -o "$D/obj/$name.o" || return 1
    done
}

header_cell() { # NAME
    local lang cc t0
    t0=$(date +%s)
    write_header_sources
    case $1 in
    hdr-c99-macro-*)
        cc=${1#hdr-c99-macro-}
        # Informational: reports whether BMA_ALLOC_ARRAY is accepted as C99.
        if run_logged "$cc" -std=c99 -pedantic-errors -Wall -Wextra -I"$ROOT/include" -c "$D/hdr_macro.c" -o "$D/m.o"; then
            note "BMA_ALLOC_ARRAY compiles as C99 -pedantic-errors"
        else
            note "BMA_ALLOC_ARRAY is rejected as C99 -pedantic-errors (_Alignof is C11), as documented"
        fi
        finish INFO $(($(date +%s) - t0)) 0
        return
        ;;
    hdr-c99-* | hdr-c11-*)
        lang=${1#hdr-}
        lang=${lang%%-*}
        cc=${1##*-}
        local -a files=("$D/hdr.c")
        [ "$lang" = c11 ] && files+=("$D/hdr_macro.c")
        local f ok=1
        header_lib "$cc" || ok=0
        for f in "${files[@]}"; do
            [ $ok = 1 ] || break
            run_logged "$cc" -std="$lang" -pedantic "${WARN[@]}" -I"$ROOT/include" "$f" "$D"/obj/*.o -o "$D/a.out" &&
                run_logged "$D/a.out" || ok=0
        done
        ;;
    hdr-cxx11-oldcast-*)
        cc=${1#hdr-cxx11-oldcast-}
        # Informational: C++ users who build with -Wold-style-cast.
        if run_logged "$cc" -std=c++11 -Wold-style-cast -Werror -I"$ROOT/include" -c "$D/hdr.cpp" -o "$D/m.o"; then
            note "clean under -Wold-style-cast"
        else
            note "BMA_ALLOC_ARRAY's (void **) cast warns under -Wold-style-cast"
        fi
        finish INFO $(($(date +%s) - t0)) 0
        return
        ;;
    hdr-cxx11-*)
        cc=${1#hdr-cxx11-}
        local ok=1
        header_lib gcc || ok=0
        [ $ok = 1 ] && { run_logged "$cc" -std=c++11 "${WARN[@]}" -I"$ROOT/include" "$D/hdr.cpp" "$D"/obj/*.o -o "$D/a.out" &&
            run_logged "$D/a.out" || ok=0; }
        ;;
    esac
    if [ "$ok" = 1 ]; then
        finish PASS $(($(date +%s) - t0)) 0
    else
        note "$(first_error)"
        finish FAIL $(($(date +%s) - t0)) 0
    fi
}

# ------------------------------------------------------- sanitizer cells

# clang's extra integer checks over lib/: every site is printed (recoverable),
# and the cell fails if any is in lib/. UBSan reports each site once per
# process. Sites that mean to wrap belong in lib/ as
# __attribute__((no_sanitize("unsigned-integer-overflow"))) with a reason.
ubsan_int_cell() {
    export UBSAN_OPTIONS=print_stacktrace=0:halt_on_error=0:report_error_type=1
    tree_cell clang c11 -O1 "" "-g -fno-omit-frame-pointer -fsanitize=undefined -fno-sanitize-recover=all" \
        "-fsanitize=unsigned-integer-overflow,implicit-conversion -fsanitize-recover=unsigned-integer-overflow,implicit-conversion" \
        "-fsanitize=undefined"
    local sites
    sites=$(grep -E '^[^ ]*lib/[^ ]*: runtime error' "$D/log" | sed -E 's/^.*(lib\/[^ ]*): runtime error: (.*)$/\1: \2/' |
        sed -E 's/(value|of) [-0-9]+/\1 N/g; s/\([-0-9]+\)/(N)/g' | sort | uniq -c | sort -rn || true)
    if [ -n "$sites" ]; then
        printf '%s\n' "$sites" >"$D/sites.txt"
        note "$(printf '%s\n' "$sites" | wc -l) lib/ sites (see $D/sites.txt)"
        finish FAIL "$(cut -f2 "$D/result")" "$(cut -f3 "$D/result")"
    fi
}

# --------------------------------------------------------- planted bugs

# planted_cell TOOL PROGRAM ARG EXPECT: builds tests/planted/PROGRAM.c with
# the tool's flags; it must exit 0 on its own (not under the tool), and exit
# non-zero with EXPECT in its output under the tool.
planted_cell() {
    local tool=$1 prog=$2 arg=$3 expect=$4 t0 cc=clang rc=0
    local -a flags=(-std=c11 -O1 -g -fno-omit-frame-pointer) runner=() plain=()
    t0=$(date +%s)
    case $tool in
    valgrind)
        cc=gcc
        flags+=(-DBMA_VALGRIND=1)
        runner=(valgrind --error-exitcode=99 --track-origins=yes)
        ;;
    asan)
        # shellcheck disable=SC2054 # the commas belong to the flags
        flags+=(-fsanitize=address,undefined -fno-sanitize-recover=all -DBMA_SANITIZER_ANNOTATIONS=1) ;;
    msan) flags+=(-fsanitize=memory -fsanitize-memory-track-origins=2) ;;
    ubsan-int)
        # shellcheck disable=SC2054
        flags+=(-fsanitize=unsigned-integer-overflow,implicit-conversion -fno-sanitize-recover=all) ;;
    esac
    mkdir -p "$D/obj"
    local src name ok=1
    for src in "$ROOT"/lib/*.c; do
        name=$(basename "$src" .c)
        run_logged "$cc" "${flags[@]}" "${WARN[@]}" -I"$ROOT/include" -c "$src" -o "$D/obj/$name.o" || ok=0
    done
    [ $ok = 1 ] && run_logged "$cc" "${flags[@]}" "${WARN[@]}" -I"$ROOT/include" "$ROOT/tests/planted/$prog.c" \
        "$D"/obj/*.o -o "$D/planted" || ok=0
    if [ $ok = 0 ]; then
        note "build failed"
        finish FAIL $(($(date +%s) - t0)) 0
        return
    fi
    if [ "$tool" = valgrind ]; then
        # On its own the program must run clean: the bug is visible only to the tool.
        plain=("$D/planted" ${arg:+"$arg"})
        log "=== plain run"
        if ! "${plain[@]}" >>"$D/log" 2>&1; then
            note "the planted program fails without the tool"
            finish FAIL $(($(date +%s) - t0)) 0
            return
        fi
    fi
    log "=== under $tool"
    "${runner[@]}" "$D/planted" ${arg:+"$arg"} >"$D/tool.out" 2>&1 || rc=$?
    cat "$D/tool.out" >>"$D/log"
    if [ $rc != 0 ] && grep -q -- "$expect" "$D/tool.out"; then
        note "caught: exit $rc, \"$expect\" at $(grep -m1 -oE "$prog\.c:[0-9]+" "$D/tool.out" || echo '?')"
        finish PASS $(($(date +%s) - t0)) 0
    else
        note "NOT caught: exit $rc, \"$expect\" $(grep -q -- "$expect" "$D/tool.out" && echo present || echo missing)"
        finish FAIL $(($(date +%s) - t0)) 0
    fi
}

# ---------------------------------------------------------------- a cell

run_cell() {
    local name=$1 cc opt bits std
    D="$OUT/$name"
    rm -rf "$D"
    mkdir -p "$D"
    : >"$D/log"
    export TEST_DIFF_SEED TEST_DIFF_SCALE=${BMA_DIFF_SCALE:-1}
    TEST_DIFF_SEED=$(cell_seed "$name")
    export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:detect_stack_use_after_return=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    case $name in
    gcc-* | clang-*)
        IFS=- read -r cc opt bits std <<<"$name"
        note "seed $TEST_DIFF_SEED"
        # C17 changes nothing C11 code compiles to: a -c17 cell builds all
        # (its warnings count) and runs only what differs from its -c11 twin,
        # which runs first.
        if [ "$std" = c17 ] && [ "${BMA_MATRIX_SHARE:-1}" = 1 ]; then
            TWIN="$OUT/$cc-$opt-$bits-c11"
        fi
        tree_cell "$cc" "$std" "-$opt" "-$bits" "" "" ""
        ;;
    hdr-*) header_cell "$name" ;;
    asan-ubsan-clang | asan-ubsan-gcc)
        note "seed $TEST_DIFF_SEED"
        # Both modes of the library: free chunks poisoned (clang), plain bytes (gcc).
        local ann=""
        [ "$name" = asan-ubsan-gcc ] || ann=" -DBMA_SANITIZER_ANNOTATIONS=1"
        tree_cell "${name#asan-ubsan-}" c11 -O1 "" \
            "-g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all$ann" "" ""
        ;;
    ubsan-int-clang)
        note "seed $TEST_DIFF_SEED"
        ubsan_int_cell
        ;;
    msan-clang)
        note "seed $TEST_DIFF_SEED"
        export MSAN_OPTIONS=halt_on_error=1
        tree_cell clang c11 -O1 "" \
            "-g -fno-omit-frame-pointer -fsanitize=memory -fsanitize-memory-track-origins=2" "" ""
        ;;
    valgrind-gcc)
        if [ ! -f /usr/include/valgrind/memcheck.h ]; then
            note "valgrind/memcheck.h missing (apt-get install valgrind)"
            finish FAIL 0 0
            return
        fi
        # The differential test is the slow one under Valgrind (~50x): the
        # smallest sweep, and one geometry per chunk size, is plenty here.
        TEST_DIFF_SCALE=${BMA_VALGRIND_DIFF_SCALE:-0}
        # One process for the whole corpus: no fork (and no leak check) per input.
        REPLAY_OPTS=--no-fork
        note "seed $TEST_DIFF_SEED scale $TEST_DIFF_SCALE"
        tree_cell gcc c11 -O2 "" "-g" "-DBMA_VALGRIND=1" "" \
            valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
            --show-leak-kinds=definite,indirect --track-origins=yes
        ;;
    planted-valgrind-uaf) planted_cell valgrind use_after_free "" "Invalid read" ;;
    planted-valgrind-undef) planted_cell valgrind uninit_read calloc "depends on uninitialised value" ;;
    planted-asan-uaf) planted_cell asan use_after_free "" "use-after-poison" ;;
    planted-asan-overflow) planted_cell asan overflow_into_free "" "use-after-poison" ;;
    planted-msan-uninit) planted_cell msan uninit_read malloc "use-of-uninitialized-value" ;;
    planted-ubsan-int) planted_cell ubsan-int unsigned_wrap "" "unsigned integer overflow" ;;
    *)
        note "unknown cell"
        finish FAIL 0 0
        ;;
    esac
}

# ------------------------------------------------------------------ main

OUT="$ROOT/build/matrix"
if [ "${1:-}" = --run-cell ]; then
    OUT=$2
    run_cell "$3"
    exit 0
fi

. scripts/deps.sh

sets=()
only=""
jobs=2
list=0
while [ $# -gt 0 ]; do
    case $1 in
    --set) sets+=("$2"); shift ;;
    --only) only=$2; shift ;;
    -j) jobs=$2; shift ;;
    -j*) jobs=${1#-j} ;;
    --out) OUT=$2; shift ;;
    --list) list=1 ;;
    -h | --help)
        sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "unknown argument: $1 (see --help)" >&2
        exit 2
        ;;
    esac
    shift
done
[ ${#sets[@]} -gt 0 ] || sets=(std headers)

cells=()
for s in "${sets[@]}"; do
    while read -r c; do
        if [ -z "$only" ] || [[ $c =~ $only ]]; then
            cells+=("$c")
        fi
    done < <(list_set "$s")
done
if [ $list = 1 ]; then
    printf '%s\n' "${cells[@]}"
    exit 0
fi
[ ${#cells[@]} -gt 0 ] || {
    echo "no cells selected" >&2
    exit 2
}

pkgs=(gcc clang g++ gcc-multilib libclang-rt-14-dev binutils coreutils)
for c in "${cells[@]}"; do
    case $c in valgrind-* | planted-valgrind-*) pkgs+=(valgrind) ;; esac
done
mapfile -t pkgs < <(printf '%s\n' "${pkgs[@]}" | sort -u)
ensure_packages "${pkgs[@]}"

# Some kernels lack IA32 emulation: the -m32 cells then build (every warning
# an error) but cannot run their programs, and say so (status BUILT).
BMA_M32_RUNS=1
if printf '%s\n' "${cells[@]}" | grep -q -- '-m32-'; then
    m32_rc=0
    m32_runs_natively || m32_rc=$?
    if [ $m32_rc = 1 ]; then
        BMA_M32_RUNS=0
        echo "matrix: this kernel cannot execute 32-bit programs: the -m32 cells build but do not run"
    fi
fi
export BMA_M32_RUNS

mkdir -p "$OUT"
start=$(date +%s)
echo "matrix: ${#cells[@]} cells, $jobs at a time, logs in $OUT/CELL/log"
# -c17 cells run after all others, so that their -c11 twins are done.
{
    printf '%s\n' "${cells[@]}" | grep -v -- '-c17$' || true
    printf '%s\n' "${cells[@]}" | grep -- '-c17$' || true
} |
    xargs -P "$jobs" -I{} sh -c '"$0" --run-cell "$1" "{}" && echo "  done {}: $(cut -f1 "$1/{}/result")"' "$0" "$OUT"
wall=$(($(date +%s) - start))

fails=0
passes=0
built=0
printf '\n%-26s %-6s %7s %7s  %s\n' CELL RESULT BUILD_S RUN_S DETAIL
for c in "${cells[@]}"; do
    if [ -f "$OUT/$c/result" ]; then
        IFS=$'\t' read -r st b r d <"$OUT/$c/result" || true
    else
        st=FAIL b=- r=- d="no result (cell crashed)"
    fi
    printf '%-26s %-6s %7s %7s  %s\n' "$c" "$st" "$b" "$r" "$d"
    case $st in
    FAIL) fails=$((fails + 1)) ;;
    PASS) passes=$((passes + 1)) ;;
    BUILT) built=$((built + 1)) ;;
    esac
done
echo
echo "matrix wall time: ${wall}s"
if [ $built -gt 0 ]; then
    echo "matrix: $passes passed, $built built but not run (32-bit programs cannot run on this kernel), $fails failed"
else
    echo "matrix: $passes passed, $fails failed"
fi
[ $fails = 0 ]

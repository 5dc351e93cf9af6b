#!/usr/bin/env bash
# Mutation check: proves that the fuzzing oracle has teeth.
#
#   scripts/mutation-test.sh [--seconds N] [--engine libfuzzer] [--only NN]...
#                            [--from seeds|empty|both] [--seed S] [--no-baseline] [--keep]
#
# Each fuzz/mutants/NN-name.patch plants one realistic bug in
# lib/bitmapalloc.c (its first line says which). For each one, in a private
# copy of the working tree (build/ and .git left out, untracked files kept):
#   1. apply the patch (patch -p1) and build three trees with -j2:
#      fuzz       clang, libFuzzer, ASan+UBSan, the normal heap format
#      fuzz@top1  the same with -DBMA_TOP_NODES=1: every heap of more than 64
#                 chunks gets a run index, so small heaps grow deep trees
#                 (index bugs are otherwise seen only past 4096 chunks)
#      unit       the default compiler, ASan+UBSan, tests on
#   2. corpus replay: every file of corpus/<harness>/ through every harness on
#      both fuzz builds; "y" if any input fails.
#   3. fuzzing from the seeds only (corpus/<harness>/seed-*; --from empty:
#      from nothing; --from both: one run of each), never from the rest of
#      the corpus, one libFuzzer process at a time, N seconds in total
#      (default 60) shared round robin by four targets: fuzz_ops, fuzz_ops@top1,
#      fuzz_attach, fuzz_sizes. Round r gives each target a slice of 5*2^(r-1)
#      seconds (60 s: two rounds, 5 s then 10 s each) and each target keeps
#      its own new inputs from one slice to the next. It stops at the first
#      crash; the time to detection is the wall time of all slices so far,
#      libFuzzer start-up and seed loading included.
#   4. meson test --suite unit on the mutant.
# Before the mutants the unmutated tree goes through steps 2-4 (the
# baseline); if anything fails there, the results would mean nothing and the
# script stops with exit status 2 (--no-baseline skips it).
#
# Output: build/mutation/table.md (also printed) and results.tsv; per mutant,
# build/mutation/NN-name/ holds the logs and crash inputs. Reproduce a crash:
#   patch -p1 < fuzz/mutants/NN-name.patch, scripts/fuzz.sh's build, then
#   FUZZ_TRACE=1 build/fuzz-libfuzzer/fuzz/HARNESS build/mutation/NN-name/crashes/...
# (for @top1 crashes the build needs -DBMA_TOP_NODES=1 in c_args).
# Exit status: 0 every mutant was caught; 1 a mutant survived both the corpus
# replay and the fuzzing, or did not apply or build; 2 usage or setup error.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
usage() { sed -n '2,36p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
die() { echo "mutation-test: $*" >&2; exit 2; }

SECS=60 ENGINE=libfuzzer FROM=seeds SEED=1 BASELINE=1 KEEP=0 ONLY=()
while [ $# -gt 0 ]; do
    case $1 in
        --seconds) SECS=${2:?}; shift 2 ;;
        --seconds=*) SECS=${1#*=}; shift ;;
        --engine) ENGINE=${2:?}; shift 2 ;;
        --engine=*) ENGINE=${1#*=}; shift ;;
        --only) IFS=, read -r -a more <<<"${2:?}"; ONLY+=("${more[@]}"); shift 2 ;;
        --only=*) IFS=, read -r -a more <<<"${1#*=}"; ONLY+=("${more[@]}"); shift ;;
        --from) FROM=${2:?}; shift 2 ;;
        --from=*) FROM=${1#*=}; shift ;;
        --seed) SEED=${2:?}; shift 2 ;;
        --seed=*) SEED=${1#*=}; shift ;;
        --no-baseline) BASELINE=0; shift ;;
        --keep) KEEP=1; shift ;;
        -h|--help) usage 0 ;;
        *) echo "unknown argument: $1" >&2; usage 2 ;;
    esac
done
[[ $SECS =~ ^[0-9]+$ ]] || die "--seconds must be a whole number"
[[ $SEED =~ ^[0-9]+$ ]] || die "--seed must be a whole number"
case $FROM in
    seeds|empty) MODES=("$FROM") ;;
    both) MODES=(seeds empty) ;;
    *) die "--from must be seeds, empty or both" ;;
esac
# Time to first crash is read off libFuzzer's exit on the first crash; AFL++
# keeps running after one, so it would need a different measurement.
[ "$ENGINE" = libfuzzer ] || die "--engine: only libfuzzer is supported"

# shellcheck source=scripts/deps.sh
. "$ROOT/scripts/deps.sh"
# shellcheck source=fuzz/fuzz-env.sh
. "$ROOT/fuzz/fuzz-env.sh" # fz_options_pairs
ensure_packages patch meson ninja-build clang libclang-rt-14-dev gcc || die "missing packages"

HARNESSES=(fuzz_ops fuzz_attach fuzz_sizes)
TARGETS=(fuzz_ops fuzz_ops@top1 fuzz_attach fuzz_sizes) # fuzzing round robin, in this order
NINJA_JOBS=2

# ------------------------------------------------------------------ mutants
MUTANTS=()
for p in "$ROOT"/fuzz/mutants/[0-9][0-9]-*.patch; do
    [ -e "$p" ] || continue
    n=$(basename "$p")
    if [ ${#ONLY[@]} -gt 0 ]; then
        keep=0
        for o in "${ONLY[@]}"; do
            case $n in "$o"-*|"$o".patch) keep=1 ;; esac
        done
        [ $keep = 1 ] || continue
    fi
    MUTANTS+=("$p")
done
[ ${#MUTANTS[@]} -gt 0 ] || die "no mutant matches (fuzz/mutants/NN-name.patch, --only ${ONLY[*]:-})"

OUT="$ROOT/build/mutation"
mkdir -p "$OUT"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/bma-mutation.XXXXXX") || die "mktemp failed"
# shellcheck disable=SC2317 # called by the trap
cleanup() { if [ "$KEEP" = 1 ]; then echo "kept $TMP"; else rm -rf "$TMP"; fi; }
trap cleanup EXIT
trap 'exit 130' INT TERM

PRISTINE=$TMP/pristine SRC=$TMP/src
START=$EPOCHREALTIME

elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# ------------------------------------------------------------------- setup
echo "mutation-test: ${#MUTANTS[@]} mutants, ${SECS}s of fuzzing each from: ${MODES[*]}; work dir $TMP"
mkdir -p "$PRISTINE" "$SRC"
tar -C "$ROOT" --exclude=./build --exclude=./.git -cf - . | tar -C "$PRISTINE" -xf - || die "copying the tree failed"
tar -C "$PRISTINE" -cf - . | tar -C "$SRC" -xf - || die "copying the tree failed"

FUZZ_CFLAGS="-fsanitize=fuzzer-no-link -fsanitize-coverage-ignorelist=$SRC/fuzz/coverage-ignore.txt -fno-sanitize-recover=all -fno-omit-frame-pointer"
# shellcheck disable=SC2054 # address,undefined is one meson value
COMMON=(-Ddefault_library=static -Db_lundef=false -Dbuildtype=debugoptimized -Db_sanitize=address,undefined -Dsanitizer_annotations=true)
setup_build() { # name, then meson arguments
    local name=$1
    shift
    "$@" >"$TMP/setup-$name.log" 2>&1 || { cat "$TMP/setup-$name.log" >&2; die "meson setup of the $name build failed"; }
}
echo "configuring the fuzz, fuzz@top1 and unit builds ..."
setup_build fuzz env CC=clang meson setup "$TMP/b-fuzz" "$SRC" "${COMMON[@]}" -Dtests=false -Dfuzz_engine=libfuzzer \
    -Dc_args="$FUZZ_CFLAGS" -Dc_link_args=-fno-sanitize-recover=all
setup_build top1 env CC=clang meson setup "$TMP/b-top1" "$SRC" "${COMMON[@]}" -Dtests=false -Dfuzz_engine=libfuzzer \
    -Dc_args="$FUZZ_CFLAGS -DBMA_TOP_NODES=1" -Dc_link_args=-fno-sanitize-recover=all
setup_build unit meson setup "$TMP/b-unit" "$SRC" "${COMMON[@]}" -Dtests=true -Dfuzz_engine=none

# Starting corpora for fuzzing: the hand-made seed-* inputs, or nothing.
for h in "${HARNESSES[@]}"; do
    mkdir -p "$TMP/from-seeds/$h" "$TMP/from-empty/$h"
    for f in "$PRISTINE/corpus/$h"/seed-*; do
        [ -e "$f" ] && cp "$f" "$TMP/from-seeds/$h/"
    done
done

# libFuzzer flags from fuzz/NAME.options ([libfuzzer] key = value); the
# per-input timeout is set here, shorter, so a hang fits in a slice.
fuzz_options() {
    local key val
    while read -r key val; do
        case $key in
            timeout) continue ;;
            dict) val="$SRC/fuzz/$val" ;;
        esac
        echo "-$key=$val"
    done < <(fz_options_pairs "$SRC/fuzz/$1.options")
}

bin_of() { # target -> binary
    case $1 in
        *@top1) echo "$TMP/b-top1/fuzz/${1%@top1}" ;;
        *) echo "$TMP/b-fuzz/fuzz/$1" ;;
    esac
}

# The first report in a log, on one line, for the table.
first_error() {
    awk '
        /MISMATCH/ || /^fuzz_(sizes|attach):/ { line = $0; if ((getline nxt) > 0) line = line " -- " nxt; print line; exit }
        /ERROR: AddressSanitizer/ || /runtime error:/ || /ERROR: LeakSanitizer/ || /ERROR: libFuzzer/ || /deadly signal/ { print; exit }
    ' "$1" | sed -e 's/^==[0-9]*==//' -e 's/[[:space:]]\+/ /g' -e 's/^ //' -e 's/ on address 0x[0-9a-f]* at pc.*//' \
        -e 's/bitmapalloc differential //' -e 's/ -- rerun with FUZZ_TRACE.*//' | cut -c1-180 | sed 's/|/\\|/g'
}

# ------------------------------------------------------------- the stages
BUILD_LOG=""
build_all() { # -> 0 or 1
    local b
    for b in fuzz top1 unit; do
        ninja -C "$TMP/b-$b" -j"$NINJA_JOBS" >>"$BUILD_LOG" 2>&1 || return 1
    done
}

# replay DIR -> sets REPLAY (y/n) and REPLAY_WHAT
replay() {
    local dir=$1 t h bin log files
    REPLAY=n REPLAY_WHAT=""
    for t in "${HARNESSES[@]}" fuzz_ops@top1 fuzz_attach@top1 fuzz_sizes@top1; do
        h=${t%@top1}
        bin=$(bin_of "$t")
        log="$dir/replay-$t.log"
        files=("$PRISTINE/corpus/$h"/*)
        mkdir -p "$dir/crashes"
        if ! (cd "$TMP" && exec timeout -k 5 900 "$bin" -timeout=30 -artifact_prefix="$dir/crashes/replay-$t-" \
            "${files[@]}") >"$log" 2>&1; then
            REPLAY=y
            local input
            input=$(grep -a '^Running: ' "$log" | tail -1 | sed 's/^Running: //')
            REPLAY_WHAT+="${REPLAY_WHAT:+; }$t: $(basename "${input:-?}")"
            [ -n "${REPLAY_FIRST:-}" ] || REPLAY_FIRST=$(first_error "$log")
        fi
    done
}

# fuzz DIR MODE -> sets FUZZ_FOUND (0/1), FUZZ_TIME, FUZZ_TARGET, FUZZ_SEEDCRASH,
# FUZZ_FIRST, FUZZ_SPENT
fuzz() {
    local dir=$1 mode=$2 round=1 slice spent=0 t secs work log slog t0 t1 rc wall seed_n=$SEED
    FUZZ_FOUND=0 FUZZ_TIME="" FUZZ_TARGET="" FUZZ_SEEDCRASH=0 FUZZ_FIRST=""
    rm -rf "$TMP/work"
    mkdir -p "$dir/crashes"
    while :; do
        slice=$((5 << (round - 1)))
        for t in "${TARGETS[@]}"; do
            secs=$(awk -v b="$SECS" -v s="$spent" -v sl="$slice" 'BEGIN { r = int(b - s); print (r < sl ? r : sl) }')
            [ "$secs" -ge 1 ] || { FUZZ_SPENT=$spent; return; }
            local h=${t%@top1} opts
            mapfile -t opts < <(fuzz_options "$h")
            work="$TMP/work/$t"
            mkdir -p "$work/corpus"
            log="$dir/fuzz-$mode-$t.log"
            slog="$TMP/slice.log"
            t0=$EPOCHREALTIME
            (cd "$work" && exec timeout -s INT -k 5 $((secs + 30)) "$(bin_of "$t")" -max_total_time="$secs" -timeout=10 \
                -seed="$seed_n" -print_final_stats=1 -artifact_prefix="$dir/crashes/$mode-$t-" \
                "${opts[@]}" "$work/corpus" "$TMP/from-$mode/$h") >"$slog" 2>&1
            rc=$?
            t1=$EPOCHREALTIME
            seed_n=$((seed_n + 1))
            wall=$(elapsed "$t0" "$t1")
            { echo "==== round $round, slice ${secs}s, -seed=$((seed_n - 1)): exit $rc after ${wall}s"; cat "$slog"; } >>"$log"
            local found=0
            compgen -G "$dir/crashes/$mode-$t-*" >/dev/null && found=1
            if [ $found = 0 ] && [ $rc != 0 ] && [ -n "$(first_error "$slog")" ]; then
                found=1 # a report without an artifact (e.g. killed by the wall-clock limit)
            fi
            if [ $found = 1 ]; then
                FUZZ_FOUND=1
                FUZZ_TIME=$(awk -v s="$spent" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", s + b - a }')
                FUZZ_TARGET=$t
                grep -aq 'INITED' "$slog" || FUZZ_SEEDCRASH=1
                FUZZ_FIRST=$(first_error "$slog")
                [ -n "$FUZZ_FIRST" ] || FUZZ_FIRST="libFuzzer exit $rc"
                FUZZ_SPENT=$FUZZ_TIME
                return
            elif [ $rc != 0 ]; then
                echo "  warning: $t exited $rc without a crash report; see $log" >&2
            fi
            spent=$(awk -v s="$spent" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", s + b - a }')
        done
        round=$((round + 1))
    done
}

# unit DIR -> sets UNIT (y/n/...) and UNIT_WHAT
unit() {
    local dir=$1 rc
    UNIT_WHAT=""
    (cd "$TMP" && meson test -C "$TMP/b-unit" --suite unit --no-rebuild --num-processes 2 --timeout-multiplier 0.2) \
        >"$dir/unit.log" 2>&1
    rc=$?
    if [ $rc = 0 ]; then
        UNIT=n
    else
        UNIT=y
        UNIT_WHAT=$(grep -aE '^ *[0-9]+/[0-9]+ .*(FAIL|TIMEOUT|ERROR)' "$dir/unit.log" |
            sed -E 's/.*unit \/ ([A-Za-z0-9_]+) .*/\1/' | sort -u | paste -sd, -)
        [ -n "$UNIT_WHAT" ] || UNIT_WHAT="meson test exit $rc"
    fi
}

# ----------------------------------------------------------------- baseline
REPLAY_FIRST=""
if [ $BASELINE = 1 ]; then
    dir="$OUT/00-baseline"
    rm -rf "$dir"
    mkdir -p "$dir"
    BUILD_LOG="$dir/build.log"
    t0=$EPOCHREALTIME
    echo "== 00 baseline (no mutation): build ..."
    build_all || { tail -30 "$BUILD_LOG" >&2; die "the unmutated tree does not build; see $BUILD_LOG"; }
    replay "$dir"
    [ $REPLAY = n ] || die "the unmutated tree fails the corpus replay ($REPLAY_WHAT): $REPLAY_FIRST"
    spent=""
    for mode in "${MODES[@]}"; do
        fuzz "$dir" "$mode"
        [ $FUZZ_FOUND = 0 ] ||
            die "fuzzing the unmutated tree from $mode crashed ($FUZZ_TARGET after ${FUZZ_TIME}s): $FUZZ_FIRST; see $dir"
        spent+="${spent:+, }${FUZZ_SPENT}s from $mode"
    done
    unit "$dir"
    [ $UNIT = n ] || die "the unit tests fail on the unmutated tree ($UNIT_WHAT); see $dir/unit.log"
    echo "   baseline clean: corpus replay, fuzzing ($spent) and unit tests all pass ($(elapsed "$t0" "$EPOCHREALTIME")s)"
fi

# ------------------------------------------------------------------ mutants
ROWS=() SURVIVORS=() BROKEN=()
printf 'mutant\tbug\tcorpus_replay\treplay_inputs\tseeds_seconds\tseeds_target\tseeds_by_a_seed\tempty_seconds\tempty_target\tunit_tests\tunit_failing\tfirst_report\tmutant_seconds\n' \
    >"$OUT/results.tsv"
for p in "${MUTANTS[@]}"; do
    name=$(basename "$p" .patch)
    desc=$(head -1 "$p" | sed -e 's/^#[[:space:]]*//' -e 's/^[0-9][0-9][-:a-z0-9]*:[[:space:]]*//' -e 's/|/\\|/g')
    dir="$OUT/$name"
    rm -rf "$dir"
    mkdir -p "$dir"
    BUILD_LOG="$dir/build.log"
    t0=$EPOCHREALTIME
    echo "== $name: $desc"
    mapfile -t touched < <(sed -n 's/^+++ [^/]*\/\([^[:space:]]*\).*/\1/p' "$p")
    restore() { # a fresh mtime, so ninja rebuilds
        local f
        for f in "${touched[@]}"; do
            if [ -e "$PRISTINE/$f" ]; then cp "$PRISTINE/$f" "$SRC/$f"; else rm -f "$SRC/$f"; fi
        done
    }
    restore
    if ! patch -d "$SRC" -p1 -s --no-backup-if-mismatch <"$p" >"$dir/patch.log" 2>&1; then
        echo "   does not apply: $(head -3 "$dir/patch.log")"
        BROKEN+=("$name")
        ROWS+=("| $name | $desc | patch does not apply |")
        restore
        continue
    fi
    if ! build_all; then
        echo "   does not build; see $BUILD_LOG"
        BROKEN+=("$name")
        ROWS+=("| $name | $desc | does not build |")
        restore
        continue
    fi
    REPLAY_FIRST=""
    replay "$dir"
    echo "   corpus replay: $REPLAY${REPLAY_WHAT:+ ($REPLAY_WHAT)}"
    declare -A CELL=() TIME=() TARGET=() BYSEED=()
    caught_fuzz=0 first=""
    for mode in "${MODES[@]}"; do
        fuzz "$dir" "$mode"
        if [ $FUZZ_FOUND = 1 ]; then
            caught_fuzz=1
            how="$FUZZ_TARGET"
            if [ $FUZZ_SEEDCRASH = 1 ]; then
                if [ "$mode" = seeds ]; then how="$how, a seed input"; else how="$how, at start-up"; fi
            fi
            CELL[$mode]="$FUZZ_TIME ($how)" TIME[$mode]=$FUZZ_TIME TARGET[$mode]=$FUZZ_TARGET BYSEED[$mode]=$FUZZ_SEEDCRASH
            [ -n "$first" ] || first=$FUZZ_FIRST
            echo "   fuzzing from $mode: caught after ${FUZZ_TIME}s by $how: $FUZZ_FIRST"
        else
            CELL[$mode]="not caught in ${FUZZ_SPENT}s"
            echo "   fuzzing from $mode: NOT caught in ${FUZZ_SPENT}s"
        fi
    done
    unit "$dir"
    echo "   unit tests: $UNIT${UNIT_WHAT:+ ($UNIT_WHAT)}"
    first=${first:-$REPLAY_FIRST}
    ucell=$UNIT
    [ -n "$UNIT_WHAT" ] && ucell="$UNIT ($UNIT_WHAT)"
    row="| $name | $desc | $REPLAY |"
    for mode in "${MODES[@]}"; do row+=" ${CELL[$mode]} |"; done
    ROWS+=("$row $ucell | ${first:--} |")
    mt=$(elapsed "$t0" "$EPOCHREALTIME")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$desc" "$REPLAY" "$REPLAY_WHAT" \
        "${TIME[seeds]:-}" "${TARGET[seeds]:-}" "${BYSEED[seeds]:-}" "${TIME[empty]:-}" "${TARGET[empty]:-}" \
        "$UNIT" "$UNIT_WHAT" "$first" "$mt" >>"$OUT/results.tsv"
    if [ $REPLAY = n ] && [ $caught_fuzz = 0 ]; then
        SURVIVORS+=("$name")
    fi
    echo "   (${mt}s)"
    restore
done

# -------------------------------------------------------------------- table
TOTAL=$(elapsed "$START" "$EPOCHREALTIME")
{
    head="| mutant | bug planted | caught by corpus replay |" rule="| --- | --- | --- |"
    for mode in "${MODES[@]}"; do
        if [ "$mode" = seeds ]; then head+=" time to detection fuzzing from the seeds, s (target) |"
        else head+=" time to detection fuzzing from an empty corpus, s (target) |"; fi
        rule+=" --- |"
    done
    echo "$head caught by unit tests | first report |"
    echo "$rule --- | --- |"
    printf '%s\n' "${ROWS[@]}"
    echo
    echo "${#MUTANTS[@]} mutants; fuzzing budget ${SECS}s per mutant and starting corpus, one libFuzzer process, round robin over" \
        "${TARGETS[*]} in slices of 5 s, then 10 s, ...; libFuzzer -seed=$SEED upwards. Total wall time ${TOTAL}s" \
        "on $(nproc) shared cores, $(date -u +%Y-%m-%d)."
    for mode in "${MODES[@]}"; do
        col=5
        [ "$mode" = seeds ] || col=8
        # median and maximum over all mutants; one that fuzzing missed counts as above the budget
        awk -F'\t' -v c="$col" 'NR > 1 { print ($c == "" ? 1e9 : $c + 0) }' "$OUT/results.tsv" | sort -g |
            awk -v m="$mode" -v b="$SECS" '{ t[++n] = $1 }
                function show(x) { return x >= 1e9 ? "> " b : sprintf("%.1f", x) }
                END {
                    if (n == 0) exit
                    med = (n % 2) ? t[(n + 1) / 2] : (t[n / 2] >= 1e9 || t[n / 2 + 1] >= 1e9 ? 1e9 : (t[n / 2] + t[n / 2 + 1]) / 2)
                    for (i = 1; i <= n; i++) if (t[i] >= 1e9) miss++
                    printf "Time to detection fuzzing from %s: median %s s, maximum %s s, over %d mutants (%d not caught in %d s).\n",
                        m, show(med), show(t[n]), n, miss, b
                }'
    done
    [ ${#SURVIVORS[@]} -eq 0 ] || echo "SURVIVED corpus replay and fuzzing: ${SURVIVORS[*]}"
    [ ${#BROKEN[@]} -eq 0 ] || echo "did not apply or build: ${BROKEN[*]}"
} >"$OUT/table.md"
echo
cat "$OUT/table.md"
echo
echo "written: build/mutation/table.md, build/mutation/results.tsv, logs in build/mutation/NN-name/"
[ ${#SURVIVORS[@]} -eq 0 ] && [ ${#BROKEN[@]} -eq 0 ] || exit 1
exit 0

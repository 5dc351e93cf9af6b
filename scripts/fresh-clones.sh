#!/usr/bin/env bash
# Runs the scripts of scripts/, each as the FIRST command in its own fresh
# clone of this checkout's HEAD (git clone into a new temporary directory),
# so that no script can lean on a directory, build or file that another one
# left behind. Each runs at its shortest meaningful setting:
#
#   fuzz-afl       scripts/fuzz.sh 60 --engine afl --jobs 2 --harness fuzz_ops
#                  (an -M main and a CMPLOG -S secondary)
#   fuzz-fork      scripts/fuzz.sh 20 --jobs 2 --harness fuzz_sizes (libFuzzer -fork=2)
#   fuzz-crash     fuzz/mutants/01-*.patch applied, then scripts/fuzz.sh 20
#                  --harness fuzz_ops must fail and print a crash; the replay
#                  and minimise commands it prints are then run as printed:
#                  the replay must fail with the MISMATCH, the minimise must
#                  write a .min file that still fails
#   fuzz-corpus    scripts/fuzz-corpus.sh seeds must rewrite the committed
#                  seeds byte for byte (git status), then scripts/fuzz-corpus.sh
#                  merge --harness fuzz_sizes must merge and keep the seeds
#   fuzz-coverage  scripts/fuzz-coverage.sh --harness fuzz_sizes
#   bench          scripts/bench.sh --quick --reps 1
#   mutation-test  scripts/mutation-test.sh --seconds 5 --only 01 --no-baseline (one
#                  planted bug must be caught; the unmutated baseline, ~3.5 min
#                  here, is left to the full run to keep CI under 30 min)
#   soak           SOAK_LARGE_MIB=64 scripts/soak.sh 2e5 both
#   consumer-test  scripts/consumer-test.sh
#   matrix         scripts/matrix.sh          (as CI ran it before)
#   msan           scripts/msan.sh
#   valgrind       scripts/valgrind.sh
#   lint           scripts/lint.sh
#   oss-fuzz-test  scripts/oss-fuzz-test.sh
# (scripts/fuzz.sh and scripts/test.sh run first in CI's own clone, as the
# README's quick start; scripts/deps.sh is sourced by the others, not run.)
#
# Usage: scripts/fresh-clones.sh [NAME...]   (default: all, in the order above)
#        scripts/fresh-clones.sh --list
# Prints each script's output under a header, then a table of name, status,
# seconds and command; exits non-zero if any failed. A clone is deleted
# after a pass and kept after a failure (BMA_KEEP_CLONES=1 keeps all).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd)

ALL=(fuzz-afl fuzz-fork fuzz-crash fuzz-corpus fuzz-coverage bench mutation-test soak consumer-test
     matrix msan valgrind lint oss-fuzz-test)

command_of() {
    case $1 in
        fuzz-afl) echo "scripts/fuzz.sh 60 --engine afl --jobs 2 --harness fuzz_ops" ;;
        fuzz-fork) echo "scripts/fuzz.sh 20 --jobs 2 --harness fuzz_sizes" ;;
        fuzz-crash) echo "git apply fuzz/mutants/01-bit-range-63-bits.patch; scripts/fuzz.sh 20 --harness fuzz_ops; then its replay and minimise commands" ;;
        fuzz-corpus) echo "scripts/fuzz-corpus.sh seeds; git status corpus/; scripts/fuzz-corpus.sh merge --harness fuzz_sizes" ;;
        fuzz-coverage) echo "scripts/fuzz-coverage.sh --harness fuzz_sizes" ;;
        bench) echo "scripts/bench.sh --quick --reps 1" ;;
        mutation-test) echo "scripts/mutation-test.sh --seconds 5 --only 01 --no-baseline" ;;
        soak) echo "SOAK_LARGE_MIB=64 scripts/soak.sh 2e5 both" ;;
        consumer-test) echo "scripts/consumer-test.sh" ;;
        matrix) echo "scripts/matrix.sh" ;;
        msan) echo "scripts/msan.sh" ;;
        valgrind) echo "scripts/valgrind.sh" ;;
        lint) echo "scripts/lint.sh" ;;
        oss-fuzz-test) echo "scripts/oss-fuzz-test.sh" ;;
        *) return 1 ;;
    esac
}

# fuzz-crash: a planted bug must be reported with commands that work as printed.
fuzz_crash() {
    git apply fuzz/mutants/01-bit-range-63-bits.patch || { echo "fuzz-crash: the planted bug does not apply"; return 1; }
    local out=$LOGS/fuzz.out rc=0
    scripts/fuzz.sh 20 --harness fuzz_ops 2>&1 | tee "$out" || rc=$?
    if [ $rc = 0 ]; then
        echo "fuzz-crash: scripts/fuzz.sh exited 0 on a planted bug"
        return 1
    fi
    local crash replay minimise
    crash=$(sed -n 's/^    CRASH //p' "$out" | head -1)
    replay=$(sed -n 's/^      replay: *//p' "$out" | head -1)
    minimise=$(sed -n 's/^      minimise: *//p' "$out" | head -1)
    if [ -z "$crash" ] || [ ! -f "$crash" ] || [ -z "$replay" ] || [ -z "$minimise" ]; then
        echo "fuzz-crash: the summary lacks the crash file, or its replay or minimise command"
        return 1
    fi
    echo "+ $replay"
    if bash -c "$replay" >"$LOGS/replay.log" 2>&1; then
        echo "fuzz-crash: the replay command exited 0"
        return 1
    fi
    grep -a -m1 'MISMATCH' "$LOGS/replay.log" ||
        { echo "fuzz-crash: the replay printed no MISMATCH"; tail -5 "$LOGS/replay.log"; return 1; }
    echo "+ $minimise"
    bash -c "$minimise" 2>&1 | tee "$LOGS/minimise.log"
    local min
    min=$(sed -n 's/^minimized: .* bytes: //p' "$LOGS/minimise.log")
    if [ -z "$min" ] || [ ! -f "$min" ]; then
        echo "fuzz-crash: the minimise command wrote no .min file"
        return 1
    fi
    if build/fuzz-libfuzzer/fuzz/fuzz_ops "$min" >/dev/null 2>&1; then
        echo "fuzz-crash: the minimised input $min does not fail"
        return 1
    fi
    echo "fuzz-crash: PASS (crash reported, replayed and minimised to $(wc -c <"$min") bytes)"
}

fuzz_corpus() {
    scripts/fuzz-corpus.sh seeds || return 1
    if [ -n "$(git status --porcelain -- corpus/)" ]; then
        echo "fuzz-corpus: scripts/fuzz-corpus.sh seeds did not rewrite the committed seeds byte for byte:"
        git status --porcelain -- corpus/ | head -10
        return 1
    fi
    echo "fuzz-corpus: the seeds rewrite byte for byte"
    scripts/fuzz-corpus.sh merge --harness fuzz_sizes | tee "$LOGS/merge.log" || return 1
    grep -q '^corpus/fuzz_sizes: [0-9]* -> [0-9]* files$' "$LOGS/merge.log" ||
        { echo "fuzz-corpus: the merge did not report corpus/fuzz_sizes"; return 1; }
    [ -n "$(find corpus/fuzz_sizes -name 'seed-*')" ] || { echo "fuzz-corpus: the merge dropped the seeds"; return 1; }
}

run_one() { # NAME, in the current directory (a fresh clone)
    case $1 in
        fuzz-afl) scripts/fuzz.sh 60 --engine afl --jobs 2 --harness fuzz_ops ;;
        fuzz-fork) scripts/fuzz.sh 20 --jobs 2 --harness fuzz_sizes ;;
        fuzz-crash) fuzz_crash ;;
        fuzz-corpus) fuzz_corpus ;;
        fuzz-coverage) scripts/fuzz-coverage.sh --harness fuzz_sizes ;;
        bench) scripts/bench.sh --quick --reps 1 ;;
        mutation-test) scripts/mutation-test.sh --seconds 5 --only 01 --no-baseline ;;
        soak) SOAK_LARGE_MIB=64 scripts/soak.sh 2e5 both ;;
        consumer-test) scripts/consumer-test.sh ;;
        matrix) scripts/matrix.sh ;;
        msan) scripts/msan.sh ;;
        valgrind) scripts/valgrind.sh ;;
        lint) scripts/lint.sh ;;
        oss-fuzz-test) scripts/oss-fuzz-test.sh ;;
    esac
}

NAMES=()
for a in "$@"; do
    case $a in
        --list) for n in "${ALL[@]}"; do printf '%-14s %s\n' "$n" "$(command_of "$n")"; done; exit 0 ;;
        -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) command_of "$a" >/dev/null || { echo "unknown name $a (${ALL[*]})" >&2; exit 2; }
           NAMES+=("$a") ;;
    esac
done
[ ${#NAMES[@]} -gt 0 ] || NAMES=("${ALL[@]}")
command -v git >/dev/null 2>&1 || { echo "fresh-clones: git is missing (apt-get install git)" >&2; exit 2; }
[ -z "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] ||
    echo "fresh-clones: note: uncommitted changes are not in the clones (they clone HEAD)"

ROWS=() failed=0 t_all=$SECONDS
for n in "${NAMES[@]}"; do
    dir=$(mktemp -d "${TMPDIR:-/tmp}/bma-fresh-$n.XXXXXX")
    # The runner's own files go beside the clone, never into it: nothing
    # may exist in the clone before the script's first command.
    LOGS=$dir.logs
    mkdir -p "$LOGS"
    echo
    echo "######## fresh clone $dir: $(command_of "$n")"
    t0=$SECONDS
    if git clone -q "$ROOT" "$dir"; then
        (cd "$dir" && run_one "$n") </dev/null
        rc=$?
    else
        echo "git clone $ROOT failed"
        rc=1
    fi
    secs=$((SECONDS - t0))
    if [ $rc = 0 ]; then
        status=pass
        [ "${BMA_KEEP_CLONES:-0}" = 1 ] || rm -rf "$dir" "$LOGS"
    else
        status="FAIL ($rc)"
        failed=$((failed + 1))
        echo "######## $n failed with status $rc; clone kept in $dir (the runner's logs in $LOGS)"
    fi
    echo "######## $n: $status in $secs s"
    ROWS+=("$(printf '%-14s %-9s %5s s  %s' "$n" "$status" "$secs" "$(command_of "$n")")")
done

echo
echo "=== fresh clones: one per script, each script the first command in its clone ($((SECONDS - t_all)) s in all)"
printf '%s\n' "${ROWS[@]}"
echo "fresh-clones: $((${#NAMES[@]} - failed)) passed, $failed failed"
[ $failed = 0 ]

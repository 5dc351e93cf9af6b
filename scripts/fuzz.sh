#!/usr/bin/env bash
# Fuzz bitmapalloc's harnesses.
#
#   scripts/fuzz.sh [SECONDS] [--engine libfuzzer|afl] [--jobs N] [--harness NAME]
#
# SECONDS (default 60) is per harness; without --harness every harness runs
# in turn (fuzz_ops, fuzz_attach, fuzz_sizes). --jobs N runs libFuzzer with
# -fork=N, or AFL++ as one -M and N-1 -S instances.
#
# Builds into build/fuzz-libfuzzer (clang, ASan+UBSan) or build/fuzz-afl
# (afl-clang-fast, AFL_USE_ASAN), reads corpus/NAME/ and writes new inputs and
# crashes under build/fuzz-work/ENGINE/NAME/ only: scripts/fuzz-corpus.sh
# merges them into corpus/. Exits non-zero if any harness crashed.
set -euo pipefail
source "$(dirname "$0")/../fuzz/fuzz-env.sh"

usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

SECS=60 ENGINE=libfuzzer JOBS=1 HARNESSES=()
while [ $# -gt 0 ]; do
    case $1 in
        --engine) ENGINE=${2:?}; shift 2 ;;
        --engine=*) ENGINE=${1#*=}; shift ;;
        --jobs) JOBS=${2:?}; shift 2 ;;
        --jobs=*) JOBS=${1#*=}; shift ;;
        --harness) HARNESSES+=("${2:?}"); shift 2 ;;
        --harness=*) HARNESSES+=("${1#*=}"); shift ;;
        -h|--help) usage 0 ;;
        [0-9]*) SECS=$1; shift ;;
        *) echo "unknown argument: $1" >&2; usage 2 ;;
    esac
done
case $ENGINE in libfuzzer|afl) ;; *) fz_die "--engine must be libfuzzer or afl" ;; esac
[[ $JOBS =~ ^[1-9][0-9]*$ ]] || fz_die "--jobs must be a positive number"
[ ${#HARNESSES[@]} -gt 0 ] || HARNESSES=("${FZ_HARNESSES[@]}")
for h in "${HARNESSES[@]}"; do fz_is_harness "$h" || fz_die "unknown harness $h (${FZ_HARNESSES[*]})"; done

fz_ensure_tools "$ENGINE"
echo "building build/fuzz-$ENGINE ..."
fz_build "$ENGINE"

TTY=0
[ -t 1 ] && TTY=1
# One status line: redrawn in place on a terminal, every 10 s otherwise.
progress() {
    local now=$SECONDS
    if [ $TTY = 1 ]; then
        printf '\r\033[K%s' "${1:0:150}"
    elif [ $((now - ${LAST_PRINT:-0})) -ge 10 ]; then
        echo "$1"
        LAST_PRINT=$now
    fi
}

SUMMARY=() CRASHED=0

# ---------------------------------------------------------------- libFuzzer
run_libfuzzer() {
    local h=$1 bin work log pid
    bin=$(fz_bin libfuzzer "$h")
    work="$FZ_ROOT/build/fuzz-work/libfuzzer/$h"
    log="$work/log.txt"
    mkdir -p "$work/corpus" "$work/crashes"
    local args=(-max_total_time="$SECS" -print_final_stats=1 -artifact_prefix="$work/crashes/")
    mapfile -t opts < <(fz_libfuzzer_options "$h")
    args+=("${opts[@]}")
    [ "$JOBS" -gt 1 ] && args+=(-fork="$JOBS" -ignore_crashes=1)
    echo "== $h: libFuzzer, ${SECS}s, jobs $JOBS; log $log"
    # New inputs go to the first directory (the work dir); corpus/ is only read.
    (cd "$work" && exec "$bin" "${args[@]}" "$work/corpus" "$FZ_ROOT/corpus/$h") >"$log" 2>&1 &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        progress "[$h] $(grep -a -E '^#[0-9]+' "$log" 2>/dev/null | tail -1 | tr -s ' \t' ' ')"
        sleep 2
    done
    wait "$pid" && rc=0 || rc=$?
    [ $TTY = 1 ] && echo

    local last execs eps cov ft
    last=$(grep -a -E '^#[0-9]+' "$log" | tail -1 || true)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    [ -n "$execs" ] || execs=$(echo "$last" | sed -n 's/^#\([0-9]*\).*/\1/p')
    [ -n "$eps" ] || eps=$(echo "$last" | sed -n 's/.*exec\/s:\{0,1\} \([0-9]*\).*/\1/p')
    cov=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
    ft=$(echo "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
    local corp new
    corp=$(find "$FZ_ROOT/corpus/$h" -type f | wc -l)
    new=$(find "$work/corpus" -type f | wc -l)
    SUMMARY+=("$(printf '%-12s execs %-9s exec/s %-6s cov %-5s ft %-6s corpus %s committed + %s in %s' \
        "$h" "${execs:-?}" "${eps:-?}" "${cov:-?}" "${ft:-?}" "$corp" "$new" "build/fuzz-work/libfuzzer/$h/corpus")")
    local f found=0
    for f in "$work"/crashes/crash-* "$work"/crashes/leak-* "$work"/crashes/timeout-* "$work"/crashes/oom-*; do
        [ -e "$f" ] || continue
        found=1
        SUMMARY+=("    CRASH $f"
                  "      reproduce: FUZZ_TRACE=1 $bin $f"
                  "      minimize:  scripts/fuzz-corpus.sh minimize-crash $f --harness $h")
    done
    if [ $found = 1 ]; then
        CRASHED=1
        grep -a -m1 -E 'MISMATCH|ERROR: AddressSanitizer|runtime error|fuzz_(attach|sizes):' "$log" \
            | sed 's/^/      first error: /' | head -1 >>/dev/stderr || true
    elif [ "$rc" != 0 ]; then
        SUMMARY+=("    libFuzzer exited with $rc; see $log")
        CRASHED=1
    fi
}

# ------------------------------------------------------------------- AFL++
run_afl() {
    local h=$1 bin work out dict tmo pids=() i
    bin=$(fz_bin afl "$h")
    work="$FZ_ROOT/build/fuzz-work/afl/$h"
    out="$work/out"
    mkdir -p "$work"
    dict="$FZ_ROOT/fuzz/$h.dict"
    export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_AUTORESUME=1 \
        AFL_NO_AFFINITY=1 AFL_QUIET=1
    local common=(-i "$FZ_ROOT/corpus/$h" -o "$out" -V "$SECS" -t 5000)
    [ -f "$dict" ] && common+=(-x "$dict")
    echo "== $h: AFL++, ${SECS}s, instances $JOBS; logs $work/*.log"
    afl-fuzz "${common[@]}" -M main -- "$bin" >"$work/main.log" 2>&1 &
    pids+=($!)
    for ((i = 1; i < JOBS; i++)); do
        afl-fuzz "${common[@]}" -S "s$i" -- "$bin" >"$work/s$i.log" 2>&1 &
        pids+=($!)
    done
    local alive=1 st="$out/main/fuzzer_stats"
    while [ $alive = 1 ]; do
        alive=0
        for i in "${pids[@]}"; do kill -0 "$i" 2>/dev/null && alive=1; done
        if [ -f "$st" ]; then
            progress "[$h] $(awk -F' *: *' '$1=="execs_done"||$1=="execs_per_sec"||$1=="corpus_count"||$1=="saved_crashes"||$1=="unique_crashes"||$1=="bitmap_cvg"{printf "%s %s  ", $1, $2}' "$st")"
        fi
        [ $alive = 1 ] && sleep 2
    done
    local rc=0
    for i in "${pids[@]}"; do wait "$i" || rc=$?; done
    [ $TTY = 1 ] && echo
    if [ ! -f "$st" ]; then
        tail -20 "$work/main.log" >&2
        SUMMARY+=("$h: afl-fuzz did not start (exit $rc); see $work/main.log")
        CRASHED=1
        return
    fi
    local execs=0 eps=0 s
    for s in "$out"/*/fuzzer_stats; do
        execs=$((execs + $(awk -F' *: *' '$1=="execs_done"{print $2}' "$s")))
        eps=$(awk -v a="$eps" -F' *: *' '$1=="execs_per_sec"{printf "%.0f", a + $2}' "$s")
    done
    local corp cvg
    corp=$(awk -F' *: *' '$1=="corpus_count"{print $2}' "$st")
    cvg=$(awk -F' *: *' '$1=="bitmap_cvg"{print $2}' "$st")
    SUMMARY+=("$(printf '%-12s execs %-9s exec/s %-6s map %-7s corpus %s (queue in %s)' \
        "$h" "$execs" "$eps" "$cvg" "$corp" "build/fuzz-work/afl/$h/out/*/queue")")
    local f
    for f in "$out"/*/crashes/id:* "$out"/*/hangs/id:*; do
        [ -e "$f" ] || continue
        CRASHED=1
        SUMMARY+=("    CRASH $f"
                  "      reproduce: FUZZ_TRACE=1 $bin '$f'"
                  "      (or with libFuzzer: scripts/fuzz-corpus.sh minimize-crash '$f' --harness $h)")
    done
}

for h in "${HARNESSES[@]}"; do
    "run_$ENGINE" "$h"
done

echo
echo "==== summary ($ENGINE, ${SECS}s per harness, jobs $JOBS)"
printf '%s\n' "${SUMMARY[@]}"
if [ $CRASHED = 1 ]; then
    echo "crashes found: save each as corpus/NAME/regress-<what-it-found> once understood"
    exit 1
fi
echo "no crashes; merge new inputs with: scripts/fuzz-corpus.sh merge --engine $ENGINE"

#!/usr/bin/env bash
# Fuzz bitmapalloc's harnesses.
#
#   scripts/fuzz.sh [SECONDS] [--engine libfuzzer|afl] [--jobs N] [--harness NAME]
#
# SECONDS (default 60) is per harness; without --harness every harness runs
# in turn (fuzz_ops, fuzz_attach, fuzz_sizes). --jobs N runs libFuzzer with
# -fork=N, or AFL++ as one -M main and N-1 -S secondaries, the first of which
# is a CMPLOG instance (-c build/fuzz-afl-cmplog/fuzz/NAME); the summary adds
# the instances up.
#
# Builds into build/fuzz-libfuzzer (clang, ASan+UBSan) or build/fuzz-afl
# (afl-clang-fast, AFL_USE_ASAN), reads corpus/NAME/ and writes new inputs and
# crashes under build/fuzz-work/ENGINE/NAME/ only: scripts/fuzz-corpus.sh
# merges them into corpus/. While fuzzing it prints a progress line (elapsed,
# left, execs, exec/s, coverage, corpus, crashes): redrawn every second on a
# terminal, a new line every FUZZ_PROGRESS_SECS (default 5) otherwise. At the
# end: one summary line per harness, and for every crash its file, the
# command that replays it and the command that minimises it. Exits non-zero
# if any harness crashed.
set -euo pipefail
source "$(dirname "$0")/../fuzz/fuzz-env.sh"

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

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
[[ $SECS =~ ^[1-9][0-9]*$ ]] || fz_die "SECONDS must be a positive whole number"
[[ $JOBS =~ ^[1-9][0-9]*$ ]] || fz_die "--jobs must be a positive number"
[ ${#HARNESSES[@]} -gt 0 ] || HARNESSES=("${FZ_HARNESSES[@]}")
for h in "${HARNESSES[@]}"; do fz_is_harness "$h" || fz_die "unknown harness $h (${FZ_HARNESSES[*]})"; done
EVERY=${FUZZ_PROGRESS_SECS:-5}
[[ $EVERY =~ ^[1-9][0-9]*$ ]] || fz_die "FUZZ_PROGRESS_SECS must be a positive whole number"

echo "fuzz.sh: ${#HARNESSES[@]} harness(es) (${HARNESSES[*]}), ${SECS} s each ($((${#HARNESSES[@]} * SECS)) s of fuzzing after the build), $ENGINE, $JOBS instance(s)."
echo "Each input drives bitmapalloc and a naive reference model (oracle/) side by side;"
echo "any difference, sanitizer report or failed check is a crash."

fz_ensure_tools "$ENGINE"
[ "$ENGINE" = afl ] && { command -v python3 >/dev/null 2>&1 || fz_die "python3 is missing (apt-get install python3)"; }
t0=$SECONDS
echo "building build/fuzz-$ENGINE (log build/fuzz-$ENGINE.build.log) ..."
fz_build "$ENGINE"
if [ "$ENGINE" = afl ] && [ "$JOBS" -gt 1 ]; then
    echo "building build/fuzz-afl-cmplog (AFL_LLVM_CMPLOG=1, for the CMPLOG secondary) ..."
    fz_build afl-cmplog
fi
echo "built in $((SECONDS - t0)) s"

TTY=0
[ -t 1 ] && TTY=1
LAST_PRINT=-1000
# progress LINE: redrawn in place on a terminal; otherwise a new line every $EVERY s.
progress() {
    if [ $TTY = 1 ]; then
        printf '\r\033[K%s' "${1:0:$(( $(tput cols 2>/dev/null || echo 160) - 1 ))}"
    elif [ $((SECONDS - LAST_PRINT)) -ge "$EVERY" ]; then
        echo "$1"
        LAST_PRINT=$SECONDS
    fi
}
progress_end() { [ $TTY = 1 ] && echo; LAST_PRINT=-1000; return 0; }

# mm:ss
clock() { printf '%d:%02d' $(($1 / 60)) $(($1 % 60)); }
# "elapsed 0:35, left 0:25" for a run that started at $1 (a $SECONDS value)
run_times() {
    local el=$((SECONDS - $1)) left
    left=$((SECS - el))
    [ $left -ge 0 ] || left=0
    printf 'elapsed %s, left %s' "$(clock $el)" "$(clock $left)"
}

PIDS=() # everything started in the background, ended on exit
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

SUMMARY=() CRASHED=0 NCRASH=0

# crash_report FILE HARNESS BIN: the summary lines for one crash (the first
# three of a harness in full, then a count).
crash_report() {
    local f=$1 h=$2 bin=$3
    NCRASH=$((NCRASH + 1)) HCRASH=$((HCRASH + 1))
    if [ $HCRASH -gt 3 ]; then
        [ $HCRASH = 4 ] && SUMMARY+=("    ... more crashes in $(dirname "$f")")
        return 0
    fi
    SUMMARY+=("    CRASH $f"
              "      replay:   FUZZ_TRACE=1 $bin '$f'"
              "      minimise: scripts/fuzz-corpus.sh minimize-crash '$f' --harness $h")
}

# ---------------------------------------------------------------- libFuzzer
# lf_fields LINE: "execs cov ft corpus exec/s" from a libFuzzer status line,
# "#N  KIND cov: C ft: F corp: N/S ... exec/s: E" or, under -fork,
# "#N: cov: C ft: F corp: N exec/s E oom/timeout/crash: ...".
lf_fields() {
    echo "$1" | awk '{
        e = $1; sub(/^#/, "", e); sub(/:$/, "", e); c = f = n = x = "?"
        for (i = 2; i < NF; i++) {
            if ($i == "cov:") c = $(i + 1)
            else if ($i == "ft:") f = $(i + 1)
            else if ($i == "corp:") { n = $(i + 1); sub(/\/.*/, "", n) }
            else if ($i == "exec/s:" || $i == "exec/s") x = $(i + 1)
        }
        print e, c, f, n, x }'
}

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
    local ncorp
    ncorp=$(find "$FZ_ROOT/corpus/$h" -type f | wc -l)
    echo
    echo "== $h: libFuzzer, ${SECS} s, $JOBS instance(s), from corpus/$h ($ncorp files); log ${log#"$FZ_ROOT"/}"
    # New inputs go to the first directory (the work dir); corpus/ is only read.
    local start=$SECONDS
    (cd "$work" && exec "$bin" "${args[@]}" "$work/corpus" "$FZ_ROOT/corpus/$h") >"$log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    local last="" seen=$SECONDS crashes e c f n x
    while kill -0 "$pid" 2>/dev/null; do
        sleep 1
        local cur
        cur=$(grep -a -E '^#[0-9]+' "$log" 2>/dev/null | tail -1 || true)
        if [ "$cur" != "$last" ]; then last=$cur; seen=$SECONDS; fi
        crashes=$(find "$work/crashes" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) 2>/dev/null | wc -l || true)
        if [ -z "$last" ]; then
            progress "[$h] $(run_times "$start") | loading and running the $ncorp corpus inputs | crashes $crashes"
        else
            read -r e c f n x < <(lf_fields "$last")
            progress "[$h] $(run_times "$start") | execs $e, $x exec/s (libFuzzer's report of $((SECONDS - seen)) s ago) | cov $c ft $f | corpus $n | crashes $crashes"
        fi
    done
    wait "$pid" && rc=0 || rc=$?
    progress_end

    local execs eps cov ft
    last=$(grep -a -E '^#[0-9]+' "$log" | tail -1 || true)
    read -r execs cov ft n eps < <(lf_fields "${last:-#?}")
    # Without -fork the final stats are exact; under -fork the parent's last
    # line already adds all jobs up.
    local s
    s=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    [ -z "$s" ] || execs=$s
    s=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    [ -z "$s" ] || eps=$s
    local new
    new=$(find "$work/corpus" -type f | wc -l)
    local inst=""
    [ "$JOBS" -gt 1 ] && inst=" ($JOBS -fork jobs, summed)"
    SUMMARY+=("$(printf '%-12s execs %-9s exec/s %-6s cov %-5s ft %-6s corpus %s committed + %s in %s%s' \
        "$h" "${execs:-?}" "${eps:-?}" "${cov:-?}" "${ft:-?}" "$ncorp" "$new" "build/fuzz-work/libfuzzer/$h/corpus" "$inst")")
    local found=0
    for f in "$work"/crashes/crash-* "$work"/crashes/leak-* "$work"/crashes/timeout-* "$work"/crashes/oom-*; do
        [ -e "$f" ] || continue
        found=1
        crash_report "$f" "$h" "$bin"
    done
    if [ $found = 1 ]; then
        CRASHED=1
        local first
        first=$(grep -a -m1 -E 'MISMATCH|ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error|fuzz_(ops|attach|sizes):|deadly signal' "$log" || true)
        [ -z "$first" ] || SUMMARY+=("      first error: $first")
        echo "[$h] CRASH: libFuzzer stopped after $((SECONDS - start)) s; details in the summary below and in ${log#"$FZ_ROOT"/}"
    elif [ "$rc" != 0 ]; then
        tail -20 "$log" >&2
        SUMMARY+=("    libFuzzer exited with $rc; see $log")
        CRASHED=1
    fi
}

# ------------------------------------------------------------------- AFL++
# AFL++ rewrites fuzzer_stats only once a minute, so the live figures come
# from its StatsD metrics (AFL_STATSD, every second) instead: statsd_listen
# FILE receives them on a free UDP port of 127.0.0.1, writes the port to
# FILE.port and keeps the latest values in FILE as "name value" lines.
statsd_listen() {
    python3 - "$1" <<'PY' &
import os, socket, sys
out = sys.argv[1]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
with open(out + ".port.tmp", "w") as f:
    f.write("%d\n" % s.getsockname()[1])
os.replace(out + ".port.tmp", out + ".port")
vals = {}
while True:
    for line in s.recv(65536).decode("ascii", "replace").splitlines():
        name, _, rest = line.partition(":")
        if name.startswith("fuzzing."):
            vals[name[len("fuzzing."):]] = rest.split("|")[0]
    with open(out + ".tmp", "w") as f:
        f.writelines("%s %s\n" % kv for kv in vals.items())
    os.replace(out + ".tmp", out)
PY
    PIDS+=($!)
    local i
    for i in $(seq 50); do [ -s "$1.port" ] && return 0; sleep 0.1; done
    fz_die "the StatsD listener for AFL++'s progress did not start"
}

# stat_sum KEY FILE...: the sum of KEY over the files ("name value" or "name : value" lines).
stat_sum() {
    local k=$1
    shift
    awk -v k="$k" '{ sub(/ *: */, " ") } $1 == k { s += $2; n++ } END { if (n) printf "%.0f", s; else print "?" }' "$@" 2>/dev/null || true
}
stat_max() {
    local k=$1
    shift
    awk -v k="$k" '{ sub(/ *: */, " ") } $1 == k && $2 > m { m = $2 } $1 == k { n++ } END { if (n) print m + 0; else print "?" }' "$@" 2>/dev/null || true
}

run_afl() {
    local h=$1 bin work out dict i
    bin=$(fz_bin afl "$h")
    work="$FZ_ROOT/build/fuzz-work/afl/$h"
    out="$work/out"
    mkdir -p "$work"
    rm -f "$work"/*.statsd "$work"/*.statsd.port
    dict="$FZ_ROOT/fuzz/$h.dict"
    # AFL_FAST_CAL: calibrate each corpus input in 3 runs instead of 8; the
    # harnesses are deterministic (stability 100%), and calibrating the ~1000
    # inputs of corpus/fuzz_ops took minutes of a short run.
    export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_AUTORESUME=1 \
        AFL_NO_AFFINITY=1 AFL_QUIET=1 AFL_STATSD=1 AFL_STATSD_HOST=127.0.0.1 AFL_FAST_CAL=1
    local common=(-i "$FZ_ROOT/corpus/$h" -o "$out" -V "$SECS" -t 5000)
    [ -f "$dict" ] && common+=(-x "$dict")
    local names=(main) extra
    for ((i = 1; i < JOBS; i++)); do names+=("s$i"); done
    local ncorp
    ncorp=$(find "$FZ_ROOT/corpus/$h" -type f | wc -l)
    echo
    echo "== $h: AFL++, ${SECS} s, $JOBS instance(s) (${names[*]}$([ "$JOBS" -gt 1 ] && echo "; s1 is CMPLOG")), from corpus/$h ($ncorp files); logs ${work#"$FZ_ROOT"/}/*.log"
    local start=$SECONDS afl_pids=() n
    for n in "${names[@]}"; do
        statsd_listen "$work/$n.statsd"
        case $n in
            main) extra=(-M main) ;;
            s1) extra=(-S s1 -c "$(fz_bin afl-cmplog "$h")") ;;
            *) extra=(-S "$n") ;;
        esac
        AFL_STATSD_PORT=$(cat "$work/$n.statsd.port") afl-fuzz "${common[@]}" "${extra[@]}" -- "$bin" >"$work/$n.log" 2>&1 &
        afl_pids+=($!)
        PIDS+=($!)
    done
    # AFL++ first runs every corpus input once (calibration); -V counts from
    # the end of that, when the first StatsD metrics arrive.
    local alive=1 stats crashes fstart=""
    while [ $alive = 1 ]; do
        sleep 1
        alive=0
        for i in "${afl_pids[@]}"; do if kill -0 "$i" 2>/dev/null; then alive=1; fi; done
        crashes=$(find "$out" -path '*/crashes/id:*' -o -path '*/hangs/id:*' 2>/dev/null | wc -l || true)
        stats=("$work"/*.statsd)
        if [ -e "${stats[0]}" ]; then
            [ -n "$fstart" ] || fstart=$SECONDS
            progress "[$h] $(run_times "$fstart") | execs $(stat_sum execs_done "${stats[@]}"), $(stat_sum execs_per_sec "${stats[@]}") exec/s | edges $(stat_max edges_found "${stats[@]}") | corpus $(stat_max corpus_count "${stats[@]}") | crashes $crashes"
        else
            progress "[$h] calibrating: running each of the $ncorp corpus inputs once ($(clock $((SECONDS - start))) so far; the ${SECS} s start after it) | crashes $crashes"
        fi
    done
    local rc=0
    for i in "${afl_pids[@]}"; do wait "$i" || rc=$?; done
    progress_end
    local st="$out/main/fuzzer_stats"
    if [ ! -f "$st" ]; then
        # A corpus input that crashes stops AFL++ during calibration.
        local seed
        seed=$(grep -a -o "Test case '[^']*' results in a crash" "$work/main.log" | head -1 | sed "s/^Test case '//; s/' results in a crash\$//" || true)
        CRASHED=1
        if [ -n "$seed" ]; then
            [ "${seed#/}" != "$seed" ] || seed="$FZ_ROOT/corpus/$h/$seed"
            SUMMARY+=("$h: the corpus input $seed crashes; AFL++ stopped while calibrating (see ${work#"$FZ_ROOT"/}/main.log)")
            crash_report "$seed" "$h" "$bin"
        else
            tail -20 "$work/main.log" >&2
            SUMMARY+=("$h: afl-fuzz did not start (exit $rc); see ${work#"$FZ_ROOT"/}/main.log")
        fi
        return
    fi
    local sts=() execs eps corp cvg
    for n in "${names[@]}"; do [ -f "$out/$n/fuzzer_stats" ] && sts+=("$out/$n/fuzzer_stats"); done
    execs=$(stat_sum execs_done "${sts[@]}")
    eps=$(stat_sum execs_per_sec "${sts[@]}")
    corp=$(awk -F' *: *' '$1=="corpus_count"{print $2}' "$st")
    cvg=$(awk -F' *: *' '$1=="bitmap_cvg"{print $2}' "$st")
    local inst=""
    [ "$JOBS" -gt 1 ] && inst=" (${#sts[@]} instances, summed)"
    SUMMARY+=("$(printf '%-12s execs %-9s exec/s %-6s map %-7s corpus %s (queue in %s)%s' \
        "$h" "$execs" "$eps" "$cvg" "$corp" "build/fuzz-work/afl/$h/out/*/queue" "$inst")")
    local f
    for f in "$out"/*/crashes/id:* "$out"/*/hangs/id:*; do
        [ -e "$f" ] || continue
        CRASHED=1
        crash_report "$f" "$h" "$bin"
    done
}

for h in "${HARNESSES[@]}"; do
    HCRASH=0
    "run_$ENGINE" "$h"
done

echo
echo "==== summary ($ENGINE, ${SECS} s per harness, $JOBS instance(s))"
printf '%s\n' "${SUMMARY[@]}"
if [ $CRASHED = 1 ]; then
    echo "FAILED: $NCRASH crash(es). Replay prints the operations (FUZZ_TRACE=1) and the error;"
    echo "once understood, keep the (minimised) input as corpus/NAME/regress-<what-it-found>."
    exit 1
fi
echo "PASSED: no crashes. Merge the new inputs into corpus/ with: scripts/fuzz-corpus.sh merge --engine $ENGINE"

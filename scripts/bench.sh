#!/bin/sh
# Runs the benchmark suite (bench/) in its own release build:
#   build/bench/               meson build, --buildtype=release -Db_ndebug=true
#   build/bench/bench.txt      the full table, as printed
#   build/bench/results.md     markdown for the README's Performance section
#   build/bench/scale.png      ns/op against heap size, library vs baselines
#   build/bench/instructions.tsv  instructions per allocator call (callgrind)
#   build/bench/callgrind/     callgrind's dumps, one per workload and contender:
#                              a per-function profile (callgrind_annotate FILE)
# Usage: scripts/bench.sh [bma-bench options: --reps N, --quick, --scale-max K,
#                          --scale-step S, --min-ms M, --seed S, --only LIST,
#                          --count-ops N]
# --quick is a smoke run (about a minute, the callgrind step included).
# VALGRIND=path picks the valgrind to use; VALGRIND= (empty) skips the
# callgrind step, and the instruction counts are then n/a.
# Installs missing Debian packages as root; otherwise prints the apt-get
# command and fails. Without valgrind the instruction counts are n/a (and the
# report says why). Targets are reported as MET / NOT MET, never as failure.
set -eu
cd "$(dirname "$0")/.."
. scripts/deps.sh

ensure_packages meson ninja-build gcc pkg-config libjemalloc-dev libmimalloc-dev gnuplot-nox
# Optional: only the instruction counts need it.
ensure_packages valgrind || echo "valgrind unavailable: instructions per call will be n/a" >&2

if ! grep -q "subdir('bench')" meson.build; then
    echo "meson.build has no subdir('bench'); the benchmark is not part of the build" >&2
    exit 1
fi

out=build/bench
exe=$out/bench/bma-bench
mkdir -p "$out"
echo "=== configure $out (release)"
meson_configure "$out" --buildtype=release -Db_ndebug=true -Dtests=false
echo "=== build"
ninja -C "$out" -j 2 bench/bma-bench

# The baseline's self-check: cheap, untimed, and a wrong baseline would make
# every number below meaningless.
echo "=== verify baseline against the library"
"$exe" --verify | tail -n 1

# Instructions per allocator call: one callgrind run of
# bma-bench --count-instructions, which replays each workload's untimed part
# uninstrumented, counts its timed part once per contender and dumps the
# counters with a label; its stdout gives the call counts. Deterministic, so
# it takes the same options as the timing run (bench.c says what it caps).
instr=$out/instructions.tsv
cgdir=$out/callgrind
rm -rf "$cgdir" "$instr"
mkdir -p "$cgdir"
valgrind=${VALGRIND-valgrind}
if [ -z "$valgrind" ]; then
    printf 'na\tthe callgrind step was skipped (VALGRIND is empty)\n' >"$instr"
elif ! command -v "$valgrind" >/dev/null 2>&1; then
    printf 'na\tvalgrind is not installed (apt-get install valgrind)\n' >"$instr"
else
    echo "=== count instructions (callgrind): bma-bench --count-instructions $*"
    started=$(date +%s)
    # The TLS tunable lets jemalloc's dlopen work without the re-exec that
    # bma-bench does natively (a re-exec would leave valgrind).
    if GLIBC_TUNABLES="${GLIBC_TUNABLES:+$GLIBC_TUNABLES:}glibc.rtld.optional_static_tls=16384" \
        "$valgrind" --tool=callgrind --instr-atstart=no --collect-atstart=no \
        --callgrind-out-file="$cgdir/callgrind.out.%p" \
        "$exe" --count-instructions "$@" >"$cgdir/calls.tsv" 2>"$cgdir/valgrind.log"; then
        {
            cat "$cgdir/calls.tsv"
            # Each dump: "desc: Trigger: Client Request: bma-bench:<workload>:<contender>"
            # and "totals: <instructions>". The file name is kept for
            # callgrind_annotate (bma-bench ignores the extra field).
            awk '
                FNR == 1 { label = "" }
                /^desc: Trigger: Client Request: bma-bench:/ {
                    label = substr($0, index($0, "bma-bench:") + 10)
                }
                /^totals: / && label != "" {
                    split(label, part, ":")
                    printf "ir\t%s\t%s\t%s\t%s\n", part[1], part[2], $2, FILENAME
                }' "$cgdir"/callgrind.out.*
        } >"$instr"
        echo "counted in $(($(date +%s) - started)) s: $(grep -c '^ir' "$instr") dumps in $cgdir"
    else
        printf 'na\tthe callgrind run failed (see %s)\n' "$cgdir/valgrind.log" >"$instr"
        echo "callgrind run failed; see $cgdir/valgrind.log" >&2
    fi
fi

echo "=== run: bma-bench $*"
rm -f "$out/table.md" "$out/scale.dat" "$out/scale.gp" "$out/scale.png" "$out/results.md"
"$exe" --out "$out" --instructions "$instr" "$@" | tee "$out/bench.txt"
[ -f "$out/table.md" ] || { echo "bma-bench wrote no $out/table.md" >&2; exit 1; }

if [ -f "$out/scale.gp" ]; then
    (cd "$out" && gnuplot scale.gp)
    echo "wrote $out/scale.png"
fi

cpu=$(grep -m 1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
cc_version=$(${CC:-cc} --version | head -n 1)
libc_version=$(ldd --version 2>&1 | head -n 1 | sed 's/^ldd //')
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
{
    echo "## Performance"
    echo
    echo "Measured with \`scripts/bench.sh${*:+ $*}\` on $(date -u +%Y-%m-%d):"
    echo "$(nproc) CPUs (\`nproc\`), ${cpu:-unknown CPU}; $cc_version; $libc_version;"
    echo "commit $commit. Release build (\`-O3\`, \`NDEBUG\`). Each number is the median"
    echo "over the repetitions; every contender replays the same pre-generated trace,"
    echo "and jemalloc / mimalloc are loaded with \`dlopen(RTLD_LOCAL)\` so that glibc's"
    echo "malloc stays the process's malloc. Instructions per call come from one"
    echo "callgrind run of the same traces (\`bma-bench --count-instructions\`);"
    echo "the per-function profiles are in \`build/bench/callgrind/\`."
    echo
    cat "$out/table.md"
    if [ -f "$out/scale.png" ]; then
        echo
        echo "![scale: ns/op against heap size](scale.png)"
    fi
} >"$out/results.md"
echo "wrote $out/results.md"

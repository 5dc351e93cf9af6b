#!/bin/sh
# Runs the benchmark suite (bench/) in its own release build:
#   build/bench/               meson build, --buildtype=release -Db_ndebug=true
#   build/bench/bench.txt      the full table, as printed
#   build/bench/results.md     markdown for the README's Performance section
#   build/bench/scale.png      ns/op against heap size, library vs baseline
# Usage: scripts/bench.sh [bma-bench options: --reps N, --quick, --scale-max K,
#                          --scale-step S, --min-ms M, --seed S, --only LIST]
# Installs missing Debian packages as root; otherwise prints the apt-get
# command and fails. Targets are reported as MET / NOT MET, never as failure.
set -eu
cd "$(dirname "$0")/.."
. scripts/deps.sh

ensure_packages meson ninja-build gcc pkg-config libjemalloc-dev libmimalloc-dev gnuplot-nox

if ! grep -q "subdir('bench')" meson.build; then
    echo "meson.build has no subdir('bench'); the benchmark is not part of the build" >&2
    exit 1
fi

out=build/bench
exe=$out/bench/bma-bench
echo "=== configure $out (release)"
meson_configure "$out" --buildtype=release -Db_ndebug=true -Dtests=false
echo "=== build"
ninja -C "$out" -j 2 bench/bma-bench

# The baseline's self-check: cheap, untimed, and a wrong baseline would make
# every number below meaningless.
echo "=== verify baseline against the library"
"$exe" --verify | tail -n 1

echo "=== run: bma-bench $*"
rm -f "$out/table.md" "$out/scale.dat" "$out/scale.gp" "$out/scale.png" "$out/results.md"
"$exe" --out "$out" "$@" | tee "$out/bench.txt"
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
    echo "malloc stays the process's malloc."
    echo
    cat "$out/table.md"
    if [ -f "$out/scale.png" ]; then
        echo
        echo "![scale: ns/op against heap size](scale.png)"
    fi
} >"$out/results.md"
echo "wrote $out/results.md"

#!/usr/bin/env bash
# Source-based coverage of lib/ over the whole fuzz corpus.
#
#   scripts/fuzz-coverage.sh [--harness NAME] [--extra DIR]
#
# Builds build/fuzz-coverage (clang -fprofile-instr-generate
# -fcoverage-mapping, replay drivers), replays corpus/NAME/ (plus any --extra
# directories, e.g. build/fuzz-work/libfuzzer/fuzz_ops/corpus) through every
# harness, and writes an HTML report of lib/ to build/fuzz-coverage/html/
# with llvm-cov-14, then prints one line of line and branch coverage.
set -euo pipefail
source "$(dirname "$0")/../fuzz/fuzz-env.sh"

HARNESSES=() EXTRA=()
while [ $# -gt 0 ]; do
    case $1 in
        --harness) HARNESSES+=("${2:?}"); shift 2 ;;
        --extra) EXTRA+=("${2:?}"); shift 2 ;;
        -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
[ ${#HARNESSES[@]} -gt 0 ] || HARNESSES=("${FZ_HARNESSES[@]}")

fz_ensure_tools coverage
fz_build coverage
dir=$(fz_build_dir coverage)
prof="$dir/profiles"
rm -rf "$prof" "$dir/html"
mkdir -p "$prof"

objects=()
for h in "${HARNESSES[@]}"; do
    fz_is_harness "$h" || fz_die "unknown harness $h"
    bin="$dir/fuzz/$h"
    inputs=("$FZ_ROOT/corpus/$h")
    for e in "${EXTRA[@]}"; do inputs+=("$e"); done
    echo "replaying ${inputs[*]} through $h ..."
    # In-process replay (--no-fork): one profile per harness.
    LLVM_PROFILE_FILE="$prof/$h-%p.profraw" "$bin" --no-fork "${inputs[@]}" >"$prof/$h.log" 2>&1 \
        || { tail -5 "$prof/$h.log" >&2; fz_die "$h failed on its corpus (see $prof/$h.log)"; }
    if [ ${#objects[@]} = 0 ]; then objects=("$bin"); else objects+=(-object "$bin"); fi
done

llvm-profdata-14 merge -sparse "$prof"/*.profraw -o "$prof/merged.profdata"
# Keep lib/ only (paths are recorded relative to the build directory).
only_lib=(-ignore-filename-regex='(^|/)(fuzz|oracle|include|tests|bench)/')
llvm-cov-14 show "${objects[@]}" -instr-profile="$prof/merged.profdata" -format=html "${only_lib[@]}" \
    -show-branches=count -show-line-counts-or-regions -output-dir="$dir/html" >/dev/null
llvm-cov-14 report "${objects[@]}" -instr-profile="$prof/merged.profdata" "${only_lib[@]}" >"$dir/report.txt"
cat "$dir/report.txt"
# TOTAL columns: regions missed cover functions missed cover lines missed cover branches missed cover
awk '$1 == "TOTAL" {
    printf "lib/ coverage over the corpus: lines %s (%d/%d), branches %s (%d/%d), functions %s\n",
        $10, $8 - $9, $8, $13, $11 - $12, $11, $7 }' "$dir/report.txt"
echo "HTML report: $dir/html/index.html"

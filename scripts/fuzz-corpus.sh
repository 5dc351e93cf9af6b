#!/usr/bin/env bash
# Maintain corpus/NAME/ for the fuzz harnesses.
#
#   scripts/fuzz-corpus.sh merge [--engine libfuzzer|afl] [--harness NAME]
#       Minimize corpus/NAME/ together with everything the fuzzers found under
#       build/fuzz-work/ (libFuzzer -merge=1, or afl-cmin). seed-* and regress-*
#       files are always kept; the other files are replaced by the merge result.
#   scripts/fuzz-corpus.sh minimize-crash FILE --harness NAME [--runs N]
#       libFuzzer -minimize_crash=1; writes build/fuzz-work/minimized/FILE.min
#       and prints how to read it and keep it as a regression input.
#   scripts/fuzz-corpus.sh seeds
#       Rewrites the hand-made seed-* files with fuzz/make_seeds.c.
set -euo pipefail
source "$(dirname "$0")/../fuzz/fuzz-env.sh"

usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

[ $# -gt 0 ] || usage 2
CMD=$1
shift
ENGINE=libfuzzer HARNESSES=() FILE= RUNS=20000
while [ $# -gt 0 ]; do
    case $1 in
        --engine) ENGINE=${2:?}; shift 2 ;;
        --harness) HARNESSES+=("${2:?}"); shift 2 ;;
        --runs) RUNS=${2:?}; shift 2 ;;
        -h|--help) usage 0 ;;
        -*) echo "unknown option $1" >&2; usage 2 ;;
        *) FILE=$1; shift ;;
    esac
done
[ ${#HARNESSES[@]} -gt 0 ] || HARNESSES=("${FZ_HARNESSES[@]}")
for h in "${HARNESSES[@]}"; do fz_is_harness "$h" || fz_die "unknown harness $h"; done

is_kept() { case ${1##*/} in seed-*|regress-*) return 0 ;; esac; return 1; }

# Replaces the non-kept files of corpus/NAME with the files in DIR.
install_merged() {
    local h=$1 dir=$2 dest="$FZ_ROOT/corpus/$1" f before after
    before=$(find "$dest" -type f | wc -l)
    for f in "$dest"/*; do [ -e "$f" ] && ! is_kept "$f" && rm -f "$f"; done
    for f in "$dir"/*; do [ -e "$f" ] && ! is_kept "$f" && cp "$f" "$dest/"; done
    after=$(find "$dest" -type f | wc -l)
    echo "corpus/$h: $before -> $after files"
}

merge_libfuzzer() {
    local h=$1 bin tmp src=()
    bin=$(fz_bin libfuzzer "$h")
    tmp=$(mktemp -d "$FZ_ROOT/build/fuzz-work/merge-$h.XXXXXX")
    local f
    for f in "$FZ_ROOT/corpus/$h"/*; do [ -e "$f" ] && is_kept "$f" && cp "$f" "$tmp/"; done
    src+=("$FZ_ROOT/corpus/$h")
    [ -d "$FZ_ROOT/build/fuzz-work/libfuzzer/$h/corpus" ] && src+=("$FZ_ROOT/build/fuzz-work/libfuzzer/$h/corpus")
    for f in "$FZ_ROOT/build/fuzz-work/afl/$h/out"/*/queue; do [ -d "$f" ] && src+=("$f"); done
    mapfile -t opts < <(fz_libfuzzer_options "$h" | grep -E '^-(max_len|timeout)=')
    # Files already in the first directory (seeds, regressions) count as the
    # base; only inputs adding coverage beyond them are added.
    "$bin" -merge=1 "${opts[@]}" -artifact_prefix="$tmp.crash-" "$tmp" "${src[@]}" \
        >"$tmp.log" 2>&1 || { tail -20 "$tmp.log" >&2; fz_die "merge failed, see $tmp.log"; }
    install_merged "$h" "$tmp"
    rm -rf "$tmp"
}

merge_afl() {
    local h=$1 bin all tmp f
    bin=$(fz_bin afl "$h")
    all=$(mktemp -d "$FZ_ROOT/build/fuzz-work/cmin-in-$h.XXXXXX")
    tmp=$(mktemp -d "$FZ_ROOT/build/fuzz-work/cmin-out-$h.XXXXXX")
    rmdir "$tmp"
    cp "$FZ_ROOT/corpus/$h"/* "$all/" 2>/dev/null || true
    for f in "$FZ_ROOT/build/fuzz-work/afl/$h/out"/*/queue/id:* "$FZ_ROOT/build/fuzz-work/libfuzzer/$h/corpus"/*; do
        [ -f "$f" ] && cp "$f" "$all/$(basename "$f" | tr ':,' '__')"
    done
    AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 afl-cmin -i "$all" -o "$tmp" -t 5000 -- "$bin" >"$tmp.log" 2>&1 \
        || { tail -20 "$tmp.log" >&2; fz_die "afl-cmin failed, see $tmp.log"; }
    install_merged "$h" "$tmp"
    rm -rf "$all" "$tmp"
}

case $CMD in
    merge)
        case $ENGINE in libfuzzer|afl) ;; *) fz_die "--engine must be libfuzzer or afl" ;; esac
        fz_ensure_tools "$ENGINE"
        fz_build "$ENGINE"
        mkdir -p "$FZ_ROOT/build/fuzz-work"
        for h in "${HARNESSES[@]}"; do "merge_$ENGINE" "$h"; done
        echo "replay check: meson test -C build/fuzz-none --suite replay (or scripts/fuzz-corpus.sh seeds first)"
        ;;
    minimize-crash)
        [ -n "$FILE" ] && [ -f "$FILE" ] || fz_die "minimize-crash needs a crash FILE"
        [ ${#HARNESSES[@]} = 1 ] || fz_die "minimize-crash needs --harness NAME"
        fz_ensure_tools libfuzzer
        fz_build libfuzzer
        h=${HARNESSES[0]}
        mkdir -p "$FZ_ROOT/build/fuzz-work/minimized"
        out="$FZ_ROOT/build/fuzz-work/minimized/$(basename "$FILE").min"
        "$(fz_bin libfuzzer "$h")" -minimize_crash=1 -runs="$RUNS" -exact_artifact_path="$out" "$FILE" \
            >"$out.log" 2>&1 || true
        [ -f "$out" ] || fz_die "no smaller crash found (see $out.log); does $FILE still crash?"
        echo "minimized: $(wc -c <"$FILE") -> $(wc -c <"$out") bytes: $out"
        echo "read it:   FUZZ_TRACE=1 $(fz_bin libfuzzer "$h") $out"
        echo "keep it:   cp $out corpus/$h/regress-<what-it-found>"
        ;;
    seeds)
        fz_ensure_tools none
        fz_build none
        "$(fz_build_dir none)/fuzz/make_seeds" "$FZ_ROOT/corpus"
        ;;
    *) usage 2 ;;
esac

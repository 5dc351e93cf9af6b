# Shared by scripts/fuzz.sh, scripts/fuzz-corpus.sh, scripts/fuzz-coverage.sh:
# tool checks, the fuzz builds and harness options. Source it; needs bash.

FZ_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FZ_HARNESSES=(fuzz_ops fuzz_attach fuzz_sizes)
FZ_PACKAGES="meson ninja-build clang libclang-rt-14-dev afl++ llvm-14"
FZ_NINJA_JOBS=${FZ_NINJA_JOBS:-2} # the machines are shared: -j2 at most

fz_die() { echo "error: $*" >&2; exit 1; }

fz_is_harness() {
    local h
    for h in "${FZ_HARNESSES[@]}"; do [ "$h" = "$1" ] && return 0; done
    return 1
}

# Can clang link a libFuzzer target with ASan+UBSan? (needs libclang-rt-14-dev)
fz_have_libfuzzer() {
    command -v clang >/dev/null 2>&1 || return 1
    local d
    d=$(mktemp -d)
    printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' >"$d/t.c"
    clang -fsanitize=fuzzer,address,undefined "$d/t.c" -o "$d/t" >/dev/null 2>&1
    local rc=$?
    rm -rf "$d"
    return $rc
}

# fz_ensure_tools ENGINE: installs what is missing (root), or says how (not root).
fz_ensure_tools() {
    local engine=$1 missing=()
    command -v meson >/dev/null 2>&1 || missing+=(meson)
    command -v ninja >/dev/null 2>&1 || missing+=(ninja)
    case $engine in
        libfuzzer) fz_have_libfuzzer || missing+=(clang+libclang-rt) ;;
        afl) command -v afl-clang-fast >/dev/null 2>&1 && command -v afl-fuzz >/dev/null 2>&1 \
                 || missing+=(afl++) ;;
        coverage) command -v clang >/dev/null 2>&1 && command -v llvm-profdata-14 >/dev/null 2>&1 \
                      && command -v llvm-cov-14 >/dev/null 2>&1 || missing+=(clang+llvm-14) ;;
    esac
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "missing: ${missing[*]}" >&2
    if [ "$(id -u)" = 0 ]; then
        echo "installing: apt-get install -y $FZ_PACKAGES" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq && apt-get install -y $FZ_PACKAGES >&2 || fz_die "apt-get install failed"
    else
        echo "run as root:  apt-get update && apt-get install -y $FZ_PACKAGES" >&2
        exit 1
    fi
}

fz_build_dir() { echo "$FZ_ROOT/build/fuzz-$1"; }

# fz_build ENGINE: configures (once) and builds build/fuzz-ENGINE.
#   libfuzzer  clang, ASan+UBSan, libFuzzer; the oracle and the engine's pattern
#              loops are left out of coverage feedback (fuzz/coverage-ignore.txt)
#   afl        afl-clang-fast with AFL_USE_ASAN/UBSAN, persistent shared-memory driver
#   afl-cmplog afl-clang-fast with AFL_LLVM_CMPLOG=1 and no sanitizers: the binary
#              a CMPLOG instance gets with afl-fuzz -c (scripts/fuzz.sh --jobs)
#   none       the default compiler, ASan+UBSan, replay drivers
#   coverage   clang source-based coverage, replay drivers
fz_build() {
    local engine=$1 dir
    dir=$(fz_build_dir "$engine")
    mkdir -p "$(dirname "$dir")" # build/: the setup and build logs sit beside $dir
    local common=(-Dtests=false -Ddefault_library=static -Db_lundef=false -Dbuildtype=debugoptimized)
    if [ ! -f "$dir/build.ninja" ]; then
        case $engine in
            libfuzzer)
                CC=clang meson setup "$dir" "$FZ_ROOT" "${common[@]}" -Dfuzz_engine=libfuzzer -Dsanitizer_annotations=true \
                    -Db_sanitize=address,undefined \
                    -Dc_args="-fsanitize=fuzzer-no-link -fsanitize-coverage-ignorelist=$FZ_ROOT/fuzz/coverage-ignore.txt -fno-sanitize-recover=all -fno-omit-frame-pointer" \
                    -Dc_link_args=-fno-sanitize-recover=all >"$dir.setup.log" 2>&1 ;;
            afl)
                CC=afl-clang-fast AFL_USE_ASAN=1 AFL_USE_UBSAN=1 AFL_QUIET=1 meson setup "$dir" "$FZ_ROOT" "${common[@]}" \
                    -Dfuzz_engine=afl -Dfuzz_link_args=-fsanitize=fuzzer -Dsanitizer_annotations=true >"$dir.setup.log" 2>&1 ;;
            afl-cmplog)
                CC=afl-clang-fast AFL_LLVM_CMPLOG=1 AFL_QUIET=1 meson setup "$dir" "$FZ_ROOT" "${common[@]}" \
                    -Dfuzz_engine=afl -Dfuzz_link_args=-fsanitize=fuzzer >"$dir.setup.log" 2>&1 ;;
            none)
                meson setup "$dir" "$FZ_ROOT" "${common[@]}" -Dfuzz_engine=none \
                    -Db_sanitize=address,undefined -Dsanitizer_annotations=true >"$dir.setup.log" 2>&1 ;;
            coverage)
                # meson runs instrumented sanity-check programs: keep their profiles out of the tree
                CC=clang LLVM_PROFILE_FILE="$dir.setup-%p.profraw" meson setup "$dir" "$FZ_ROOT" "${common[@]}" -Dfuzz_engine=none \
                    -Dc_args="-fprofile-instr-generate -fcoverage-mapping" \
                    -Dc_link_args="-fprofile-instr-generate -fcoverage-mapping" >"$dir.setup.log" 2>&1 ;;
            *) fz_die "unknown build $engine" ;;
        esac || { cat "$dir.setup.log" >&2; fz_die "meson setup of $dir failed"; }
    fi
    if [ "$engine" = afl ]; then
        AFL_USE_ASAN=1 AFL_USE_UBSAN=1 AFL_QUIET=1 ninja -C "$dir" -j"$FZ_NINJA_JOBS" >"$dir.build.log" 2>&1
    elif [ "$engine" = afl-cmplog ]; then
        AFL_LLVM_CMPLOG=1 AFL_QUIET=1 ninja -C "$dir" -j"$FZ_NINJA_JOBS" >"$dir.build.log" 2>&1
    else
        ninja -C "$dir" -j"$FZ_NINJA_JOBS" >"$dir.build.log" 2>&1
    fi || { tail -40 "$dir.build.log" >&2; fz_die "build of $dir failed"; }
}

fz_bin() { echo "$(fz_build_dir "$1")/fuzz/$2"; }

# The [libfuzzer] "key = value" lines of an .options file, as "key value".
fz_options_pairs() {
    local f=$1 in=0 line key val
    [ -f "$f" ] || return 0
    while IFS= read -r line || [ -n "$line" ]; do
        case $line in
            \[libfuzzer\]*) in=1; continue ;;
            \[*) in=0; continue ;;
        esac
        [ $in = 1 ] || continue
        line=${line%%#*}
        case $line in *=*) ;; *) continue ;; esac
        key=$(echo "${line%%=*}" | tr -d ' \t')
        val=$(echo "${line#*=}" | sed 's/^[ \t]*//; s/[ \t]*$//')
        [ -n "$key" ] && echo "$key $val"
    done <"$f"
}

# libFuzzer flags from fuzz/NAME.options.
fz_libfuzzer_options() {
    local key val
    while read -r key val; do
        [ "$key" = dict ] && val="$FZ_ROOT/fuzz/$val"
        echo "-$key=$val"
    done < <(fz_options_pairs "$FZ_ROOT/fuzz/$1.options")
}

# fz_option NAME KEY: one value from fuzz/NAME.options, empty if absent.
fz_option() {
    fz_libfuzzer_options "$1" | sed -n "s/^-$2=//p" | head -1
}

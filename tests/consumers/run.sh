#!/bin/sh
# Builds and runs the outside consumers against an INSTALLED bitmapalloc.
#
# Usage: tests/consumers/run.sh PREFIX SRCDIR WORKDIR
#   PREFIX   where `meson install` put bitmapalloc
#   SRCDIR   the bitmapalloc source tree (for the meson subproject consumer)
#   WORKDIR  an empty scratch directory; each way builds in WORKDIR/<way>
#            and logs to WORKDIR/<way>.log
#
# Ways (each prints PASS or FAIL):
#   install           the prefix holds the headers, both libraries, the .pc
#   exports           the .so exports exactly the bma_ functions the headers
#                     declare, and the .a defines no global symbol without bma_
#   header-c99        the headers compile as C99 -pedantic (gcc, clang)
#   header-c11        ... as C11 -pedantic -Wconversion, BMA_ALLOC_ARRAY too
#   header-c++11      ... as C++11 -pedantic (g++, clang++), extern "C"
#   pkgconfig-make    make + pkg-config, shared and static, run
#   meson-pkgconfig   a meson project finding the install through pkg-config
#   meson-subproject  the same project with bitmapalloc as a subproject
#   meson-asan-default      an ASan project (meson-asan/, -Db_sanitize=address)
#                     with bitmapalloc as a subproject at its default settings:
#                     memcpy, memcmp and write() of a live heap and a heap left
#                     in a returned stack frame, no bma_detach, run clean
#   meson-asan-annotations  the same with -Dbitmapalloc:sanitizer_annotations=true:
#                     ASan reports a one-byte overrun into a free chunk, and
#                     each plain_buffer scenario (so those are real checks)
#   cmake             CMake pkg_check_modules(IMPORTED_TARGET), a C++ program
# Exits non-zero if any way fails. Needs cc, c++, gcc (with libasan), make,
# meson, ninja, cmake, pkg-config, nm and readelf; scripts/consumer-test.sh
# checks for them.
set -u

if [ $# -ne 3 ]; then
    echo "usage: $0 PREFIX SRCDIR WORKDIR" >&2
    exit 2
fi
prefix=$(cd "$1" && pwd) || exit 2
srcdir=$(cd "$2" && pwd) || exit 2
work=$(cd "$3" && pwd) || exit 2
here=$(cd "$(dirname "$0")" && pwd)

pc=$(find "$prefix" -name bitmapalloc.pc | head -n 1)
pcdir=$(dirname "${pc:-/nonexistent/x}")
so=$(find "$prefix" -name libbitmapalloc.so | head -n 1)
ar=$(find "$prefix" -name libbitmapalloc.a | head -n 1)
libdir=$(dirname "${so:-/nonexistent/x}")
PKG_CONFIG_PATH="$pcdir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export PKG_CONFIG_PATH
incflags=$(pkg-config --cflags bitmapalloc 2>/dev/null)
version=$(sed -n 's/^#define BMA_VERSION_STRING "\(.*\)"$/\1/p' "$srcdir/include/bitmapalloc.h")

passed=0
failed=0
failures=""

# run_way NAME FUNCTION: runs FUNCTION with output to WORKDIR/NAME.log.
run_way() {
    name=$1
    log="$work/$name.log"
    # Not in an if condition nor before || or &&: there the shell would
    # ignore the set -e inside.
    (set -e; "$2") >"$log" 2>&1
    # shellcheck disable=SC2181 # see above
    if [ $? -eq 0 ]; then
        echo "PASS: $name"
        passed=$((passed + 1))
    else
        echo "FAIL: $name (the end of its log, $log:)"
        sed 's/^/    | /' "$log" | tail -n 40
        failed=$((failed + 1))
        failures="$failures $name"
    fi
}

# links_shared yes|no BINARY: whether the binary loads libbitmapalloc.so.* at
# run time must be as said. (set -e ignores a command after !, so no !.)
links_shared() {
    if readelf -d "$2" | grep 'NEEDED' | grep -q 'libbitmapalloc\.so'; then
        [ "$1" = yes ] || { echo "$2 should not need libbitmapalloc.so"; return 1; }
    else
        [ "$1" = no ] || { echo "$2 should need libbitmapalloc.so"; return 1; }
    fi
    echo "$(basename "$2") links libbitmapalloc.so: $1"
}

way_install() {
    for f in "$prefix/include/bitmapalloc.h" "$prefix/include/bitmapalloc_dump.h" "$so" "$ar" "$pc"; do
        if [ -z "$f" ] || [ ! -f "$f" ]; then
            echo "missing from the install: ${f:-a library or the .pc}"
            return 1
        fi
        echo "installed: ${f#"$prefix"/}"
    done
    soname=$(readelf -d "$so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
    echo "SONAME: $soname"
    [ -n "$soname" ]
    [ -e "$libdir/$soname" ]
    pkg-config --validate bitmapalloc
    echo "pkg-config --modversion: $(pkg-config --modversion bitmapalloc), header: $version"
    [ "$(pkg-config --modversion bitmapalloc)" = "$version" ]
    pkg-config --cflags --libs bitmapalloc
}

way_exports() {
    exported=$(nm -D --defined-only "$so" | awk 'NF == 3 { print $3 }' | sort -u)
    declared=$(cat "$prefix/include/bitmapalloc.h" "$prefix/include/bitmapalloc_dump.h" | tr '\n' ' ' |
        grep -o 'BMA_API[^;(]*(' | sed -n 's/.*[ *]\(bma_[A-Za-z0-9_]*\)($/\1/p' | sort -u)
    echo "exported: $(echo "$exported" | tr '\n' ' ')"
    stray=$(echo "$exported" | grep -v '^bma_' || true)
    missing=$(printf '%s\n' "$declared" | grep -vxF "$exported" || true)
    extra=$(printf '%s\n' "$exported" | grep -vxF "$declared" || true)
    ar_stray=$(nm -g --defined-only "$ar" | awk 'NF == 3 { print $3 }' | grep -v '^bma_' || true)
    ok=0
    [ -z "$stray" ] || { echo "exported without the bma_ prefix: $stray"; ok=1; }
    [ -z "$missing" ] || { echo "declared BMA_API but not exported: $missing"; ok=1; }
    [ -z "$extra" ] || { echo "exported but not declared in the headers: $extra"; ok=1; }
    [ -z "$ar_stray" ] || { echo "global symbols without bma_ in the static library: $ar_stray"; ok=1; }
    [ -n "$declared" ] || { echo "found no BMA_API declarations"; ok=1; }
    return $ok
}

# compile_with COMPILER FLAGS... FILE: compile only, into WORKDIR.
compile_with() {
    cc_=$1
    shift
    echo "+ $cc_ $*"
    # shellcheck disable=SC2086 # incflags is a flag list
    "$cc_" $incflags "$@" -c -o "$work/header-check.o"
}

way_header_c99() {
    for c in gcc clang; do
        command -v "$c" >/dev/null || { echo "($c not installed, skipped)"; continue; }
        compile_with "$c" -std=c99 -pedantic-errors -Wall -Wextra -Werror "$here/headers/header_c99.c"
    done
}

way_header_c11() {
    for c in gcc clang; do
        command -v "$c" >/dev/null || { echo "($c not installed, skipped)"; continue; }
        compile_with "$c" -std=c11 -pedantic-errors -Wall -Wextra -Wconversion -Wsign-conversion -Werror \
            "$here/headers/header_c11.c"
    done
}

way_header_cxx() {
    for c in g++ clang++; do
        command -v "$c" >/dev/null || { echo "($c not installed, skipped)"; continue; }
        compile_with "$c" -std=c++11 -pedantic-errors -Wall -Wextra -Werror "$here/headers/header_cxx.cpp"
    done
}

way_pkgconfig_make() {
    rm -rf "$work/pkgconfig-make"
    cp -R "$here/pkgconfig-make" "$work/pkgconfig-make"
    make -C "$work/pkgconfig-make" check
    links_shared yes "$work/pkgconfig-make/consumer-shared"
    links_shared no "$work/pkgconfig-make/consumer-static"
}

way_meson_pkgconfig() {
    rm -rf "$work/meson-pkgconfig"
    cp -R "$here/meson-project" "$work/meson-pkgconfig"
    rm -rf "$work/meson-pkgconfig/subprojects/bitmapalloc"
    meson setup "$work/meson-pkgconfig/build" "$work/meson-pkgconfig" --wrap-mode=nofallback
    ninja -C "$work/meson-pkgconfig/build" -j 2
    links_shared yes "$work/meson-pkgconfig/build/consumer"
    LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$work/meson-pkgconfig/build/consumer"
}

way_meson_subproject() {
    rm -rf "$work/meson-subproject"
    cp -R "$here/meson-project" "$work/meson-subproject"
    rm -rf "$work/meson-subproject/subprojects/bitmapalloc"
    ln -s "$srcdir" "$work/meson-subproject/subprojects/bitmapalloc"
    meson setup "$work/meson-subproject/build" "$work/meson-subproject" --force-fallback-for=bitmapalloc
    grep -q 'Dependency bitmapalloc found: YES .*(overridden)' "$work/meson-subproject/build/meson-logs/meson-log.txt"
    ninja -C "$work/meson-subproject/build" -j 2
    links_shared no "$work/meson-subproject/build/consumer" # the fallback asks for a static library
    "$work/meson-subproject/build/consumer"
}

# The ASan consumer: tests/consumers/meson-asan in DIR with bitmapalloc as a
# subproject, -Db_sanitize=address plus any further setup arguments. Built by
# gcc: its ASan leaves a returned frame's shadow as it was, so stack bytes a
# heap left poisoned would be reported later (clang's clears a frame's shadow
# on return). The run is pinned to the real stack (no fake stack frames).
asan_opts=detect_leaks=1:detect_stack_use_after_return=0:abort_on_error=0
asan_project() { # DIR [MESON SETUP ARGUMENTS...]
    dir=$1
    shift
    rm -rf "$dir"
    cp -R "$here/meson-asan" "$dir"
    rm -rf "$dir/subprojects/bitmapalloc"
    ln -s "$srcdir" "$dir/subprojects/bitmapalloc"
    CC=gcc meson setup "$dir/build" "$dir" --force-fallback-for=bitmapalloc -Db_sanitize=address "$@"
    grep -q 'Dependency bitmapalloc found: YES .*(overridden)' "$dir/build/meson-logs/meson-log.txt"
    ninja -C "$dir/build" -j 2
    # The project's b_sanitize reached the subproject: the library is an ASan build.
    lib=$(find "$dir/build/subprojects" -name libbitmapalloc.a | head -n 1)
    [ -n "$lib" ]
    nm "$lib" | grep -q '__asan_report_'
    echo "$(basename "$lib") is instrumented by ASan"
}

# expect_poison_report PROGRAM ARG: PROGRAM ARG must exit non-zero with an
# ASan use-after-poison report.
expect_poison_report() {
    rc=0
    ASAN_OPTIONS=$asan_opts "$1" "$2" >"$work/report.out" 2>&1 || rc=$?
    grep -m1 'ERROR: AddressSanitizer' "$work/report.out" || true
    if [ "$rc" -eq 0 ]; then
        echo "$(basename "$1") $2: exited 0, nothing reported"
        return 1
    fi
    if ! grep -q 'use-after-poison' "$work/report.out"; then
        echo "$(basename "$1") $2: exit $rc but no use-after-poison report:"
        tail -n 20 "$work/report.out"
        return 1
    fi
    echo "$(basename "$1") $2: exit $rc, use-after-poison reported"
}

way_meson_asan_default() {
    d="$work/meson-asan-default"
    if grep -q 'bma_detach(' "$here/meson-asan/plain_buffer.c"; then
        echo "plain_buffer.c calls bma_detach: it must not"
        return 1
    fi
    asan_project "$d"
    if grep -q 'BMA_SANITIZER_ANNOTATIONS' "$d/build/compile_commands.json"; then
        echo "the default build defines BMA_SANITIZER_ANNOTATIONS"
        return 1
    fi
    ASAN_OPTIONS=$asan_opts "$d/build/plain_buffer"
    # Plain bytes: the overrun into a free chunk is not the library's to catch.
    ASAN_OPTIONS=$asan_opts "$d/build/overrun" overrun
}

way_meson_asan_annotations() {
    d="$work/meson-asan-annotations"
    asan_project "$d" -Dbitmapalloc:sanitizer_annotations=true
    grep -q -- '-DBMA_SANITIZER_ANNOTATIONS=1' "$d/build/compile_commands.json"
    ASAN_OPTIONS=$asan_opts "$d/build/overrun" control
    expect_poison_report "$d/build/overrun" overrun
    # plain_buffer's scenarios are real checks: on poisoned chunks each fails.
    expect_poison_report "$d/build/plain_buffer" copy
    expect_poison_report "$d/build/plain_buffer" stack
}

way_cmake() {
    rm -rf "$work/cmake"
    cp -R "$here/cmake-project" "$work/cmake"
    cmake -S "$work/cmake" -B "$work/cmake/build" -DCMAKE_BUILD_TYPE=Release
    cmake --build "$work/cmake/build" -j 2
    links_shared yes "$work/cmake/build/consumer"
    LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$work/cmake/build/consumer"
}

run_way install way_install
run_way exports way_exports
run_way header-c99 way_header_c99
run_way header-c11 way_header_c11
run_way header-c++11 way_header_cxx
run_way pkgconfig-make way_pkgconfig_make
run_way meson-pkgconfig way_meson_pkgconfig
run_way meson-subproject way_meson_subproject
run_way meson-asan-default way_meson_asan_default
run_way meson-asan-annotations way_meson_asan_annotations
run_way cmake way_cmake

echo "consumers: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

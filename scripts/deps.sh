# Sourced by the scripts: ensure_packages installs missing Debian packages.
# As root it runs apt-get; otherwise it prints the exact command and fails.

ensure_packages() {
    missing=""
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
            missing="$missing $pkg"
    done
    [ -z "$missing" ] && return 0
    if [ "$(id -u)" = 0 ]; then
        echo "installing:$missing"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq || { echo "apt-get update failed" >&2; return 1; }
        # shellcheck disable=SC2086 # word splitting of the package list is wanted
        apt-get install -y -qq --no-install-recommends $missing >/dev/null ||
            { echo "apt-get install$missing failed" >&2; return 1; }
    else
        echo "missing packages:$missing" >&2
        echo "run: sudo apt-get install -y$missing" >&2
        return 1
    fi
}

# meson setup for a fresh directory, or reconfigure an existing one.
meson_configure() {
    dir=$1
    shift
    if [ -f "$dir/build.ninja" ]; then
        meson setup --reconfigure "$dir" "$@" >/dev/null
    else
        meson setup "$dir" "$@" >/dev/null
    fi
}

# Can this machine execute 32-bit x86 programs natively? Some kernels are
# built without IA32 emulation ("Exec format error"); the -m32 builds then
# run their programs under qemu-i386 (package qemu-user) instead.
# Returns 0 if they run natively, 1 if not, 2 if gcc -m32 cannot even link.
m32_runs_natively() {
    m32d=$(mktemp -d "${TMPDIR:-/tmp}/bma-m32.XXXXXX")
    printf 'int main(void) { return 0; }\n' >"$m32d/t.c"
    if ! gcc -m32 "$m32d/t.c" -o "$m32d/t" >/dev/null 2>&1; then
        rm -rf "$m32d"
        return 2
    fi
    if "$m32d/t" >/dev/null 2>&1; then
        rm -rf "$m32d"
        return 0
    fi
    rm -rf "$m32d"
    return 1
}

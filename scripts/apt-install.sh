#!/usr/bin/env bash
# Installs one Debian package with apt-get, for the ensure-*.sh scripts: as root, or through sudo.
#
# Usage: apt-install.sh WHO PACKAGE [OTHER-WAY]
#   WHO        the calling script's name, for its messages (e.g. ensure-redis)
#   PACKAGE    the Debian package to install
#   OTHER-WAY  what else the user may do instead, appended to the messages (optional)
# Set SLOTWISE_APT_UPDATED=1 to skip `apt-get update` when the caller has just run it.
set -euo pipefail

who=$1
package=$2
other=${3:-}

say() { printf '%s: %s\n' "$who" "$*" >&2; }

if ! command -v apt-get >/dev/null 2>&1; then
    say "$package is missing and there is no apt-get to install it; install it with your" \
        "package manager${other:+, $other}"
    exit 1
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
        sudo=(sudo)
    else
        say "$package is missing and installing it needs root; run" \
            "\`apt-get install -y $package\` as root${other:+, $other}"
        exit 1
    fi
fi

say "installing $package with apt-get"
export DEBIAN_FRONTEND=noninteractive
if [[ ${SLOTWISE_APT_UPDATED:-0} != 1 ]]; then
    "${sudo[@]}" apt-get update -q </dev/null
fi
"${sudo[@]}" apt-get install -y -q --no-install-recommends "$package" </dev/null

#!/usr/bin/env bash
# Makes sure the `openssl` command is there: the test kit makes the CA and certificates of its
# TLS clusters with it. Installs it with apt-get when it is missing (slim container images lack
# it).
#
# Silent when `openssl` is on PATH. Safe to run any number of times. Set SLOTWISE_APT_UPDATED=1
# to skip `apt-get update` when the caller has just run it.
set -euo pipefail

say() { printf 'ensure-openssl: %s\n' "$*" >&2; }

if command -v openssl >/dev/null 2>&1; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    say "no openssl on PATH and no apt-get to install it; install OpenSSL's command-line" \
        "tool with your package manager (the TLS tests need it)"
    exit 1
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
        sudo=(sudo)
    else
        say "openssl is missing and installing it needs root; run" \
            "\`apt-get install -y openssl\` as root"
        exit 1
    fi
fi

say "no openssl found; installing it with apt-get"
export DEBIAN_FRONTEND=noninteractive
if [[ ${SLOTWISE_APT_UPDATED:-0} != 1 ]]; then
    "${sudo[@]}" apt-get update -q </dev/null
fi
"${sudo[@]}" apt-get install -y -q --no-install-recommends openssl </dev/null

if ! command -v openssl >/dev/null 2>&1; then
    say "apt-get finished but openssl is still not on PATH"
    exit 1
fi
say "installed $(openssl version)"

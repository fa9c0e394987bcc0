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

say "no openssl found"
bash "$(dirname "$0")/apt-install.sh" ensure-openssl openssl

if ! command -v openssl >/dev/null 2>&1; then
    say "apt-get finished but openssl is still not on PATH"
    exit 1
fi
say "installed $(openssl version)"

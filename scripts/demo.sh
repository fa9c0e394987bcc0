#!/usr/bin/env bash
# The main job: `slotwise demo`. It starts a throwaway local Redis Cluster (3 primaries with 1
# replica each, on free ports), walks through redis-py's clustering guide with slotwise on it
# (naming the node that served each command, ending with a live failover), and stops the cluster
# at the end, also after a failure or Ctrl-C.
#
# Installs redis-server first if no Redis or Valkey server is available.
set -euo pipefail

cd "$(dirname "$0")/.."

bash scripts/ensure-redis.sh

# On Unix `cargo run` replaces itself with the binary once built, so Ctrl-C reaches the demo
# directly and the demo stops its cluster.
exec cargo run -q -p slotwise-cli --bin slotwise -- demo

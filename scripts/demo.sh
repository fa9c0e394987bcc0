#!/usr/bin/env bash
# The main job, for now: start a local Redis Cluster (3 primaries, 1 replica each), show every
# node with a live PING through slotwise's own connection, and stop it again.
#
# Installs redis-server first if no Redis or Valkey server is available. The cluster uses ports
# $SLOTWISE_DEMO_PORT.. (default 7000..7005) and is stopped on exit, also after a failure or
# Ctrl-C.
set -euo pipefail

cd "$(dirname "$0")/.."

port=${SLOTWISE_DEMO_PORT:-7000}
demo_started=${EPOCHREALTIME/./}

slotwise() {
    printf '\n$ slotwise %s\n' "$*"
    "$binary" "$@"
}

bash scripts/ensure-redis.sh

# A cluster or anything else already on the first port is someone else's: refuse rather than
# stop it on the way out.
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    printf 'demo: something already listens on 127.0.0.1:%s; stop it (`slotwise cluster stop --port %s` if it is a slotwise cluster) or pick other ports with SLOTWISE_DEMO_PORT\n' \
        "$port" "$port" >&2
    exit 1
fi

# Build once before starting anything (the same as `cargo run -q -p slotwise-cli -- ...`), so a
# build error leaves nothing behind and compiler warnings are not repeated for every step. Cargo
# names the binary it built, wherever the target directory is.
binary=$(cargo build -q -p slotwise-cli --bin slotwise --message-format=json-render-diagnostics |
    sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
if [[ -z $binary || ! -x $binary ]]; then
    echo "demo: cargo did not report the slotwise binary it built" >&2
    exit 1
fi

cluster_up=0
cleanup() {
    if ((cluster_up)); then
        "$binary" cluster stop --port "$port" >/dev/null 2>&1 || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cluster_up=1
slotwise cluster start --port "$port"
slotwise cluster status --port "$port"
slotwise cluster stop --port "$port"
cluster_up=0

elapsed_ms=$(((${EPOCHREALTIME/./} - demo_started) / 1000))
printf '\ndemo: done in %d.%02d s\n' $((elapsed_ms / 1000)) $((elapsed_ms % 1000 / 10))

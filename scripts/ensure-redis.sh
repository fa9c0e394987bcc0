#!/usr/bin/env bash
# Makes sure a Redis Cluster capable server (Redis or Valkey 7.0+) is there for the test kit, the
# tests and the demo; installs `redis-server` with apt-get when none is.
#
# Silent when a server is already available: $SLOTWISE_REDIS_SERVER if set (the test kit uses
# it first), else `redis-server` or `valkey-server` on PATH. Safe to run any number of times.
# Set SLOTWISE_APT_UPDATED=1 to skip `apt-get update` when the caller has just run it.
set -euo pipefail

say() { printf 'ensure-redis: %s\n' "$*" >&2; }

# Redis Cluster features the test kit relies on (cluster-port, CLUSTER ADDSLOTSRANGE, CLUSTER
# SHARDS) arrived in 7.0.
check_version() {
    local binary=$1 version major
    version=$("$binary" --version 2>/dev/null | sed -n 's/.*v=\([0-9][0-9.]*\).*/\1/p')
    major=${version%%.*}
    if [[ -z $major ]]; then
        say "$binary --version does not print a Redis or Valkey version"
        return 1
    fi
    if ((major < 7)); then
        say "$binary is version $version; slotwise needs Redis or Valkey 7.0 or newer" \
            "(Debian 12 and Ubuntu 24.04 ship it; elsewhere see https://redis.io/downloads)," \
            "or point SLOTWISE_REDIS_SERVER at a newer binary"
        return 1
    fi
}

if [[ -n ${SLOTWISE_REDIS_SERVER:-} ]]; then
    if [[ ! -x $SLOTWISE_REDIS_SERVER || -d $SLOTWISE_REDIS_SERVER ]]; then
        say "SLOTWISE_REDIS_SERVER=$SLOTWISE_REDIS_SERVER is not an executable file;" \
            "fix it or unset it to use redis-server from PATH"
        exit 1
    fi
    check_version "$SLOTWISE_REDIS_SERVER"
    exit 0
fi

for name in redis-server valkey-server; do
    if binary=$(command -v "$name"); then
        check_version "$binary"
        exit 0
    fi
done

say "no redis-server or valkey-server found"
bash "$(dirname "$0")/apt-install.sh" ensure-redis redis-server "or set SLOTWISE_REDIS_SERVER"

if ! binary=$(command -v redis-server); then
    say "apt-get finished but redis-server is still not on PATH"
    exit 1
fi
check_version "$binary"
say "installed $("$binary" --version)"

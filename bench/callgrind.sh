#!/usr/bin/env bash
# Counts CPU instructions per GET (64 tasks sharing one client) for slotwise, redis-rs and fred
# with valgrind's callgrind: perf counters are not available in this VM, and instruction counts
# do not swing with the machine's load the way timings do.
#
# Each client runs twice under callgrind, with a small and a large fixed number of operations;
# the difference in instructions divided by the difference in operations is the cost of one
# operation, with start-up, connecting and tear-down cancelled out. Everything the process does
# counts: the client, the tokio runtime, the harness (the same for all three), system-call entry
# in user space; the kernel does not.
#
# Valgrind runs the program ~50× slower on one core at a time, so the counts are kept small.
# The callgrind files stay in target/callgrind/ for `callgrind_annotate`. With TOP=N, each
# client's N most expensive functions per operation (own instructions, the same difference of
# the two runs) follow the table.
#
# Usage: bench/callgrind.sh [workload (default get-64)]
# e.g. CLIENTS="slotwise slotwise-cached" bench/callgrind.sh hot-get-64 for the client-side
# cache: 1,000 hot keys, 1 % SET (each read back from the node once it is invalidated); with
# READ_ONLY=1 the SETs are left out, so every GET after each key's first read is a cache hit
# and the count is that of one hit.
# Environment: SMALL and LARGE operation counts (default 5000 and 25000), CLIENTS (default
# "slotwise redis-rs fred"; also "slotwise-cached", slotwise with its default cache), TOP
# (default 0), FEATURES (cargo features of the build, e.g. "slotwise/metrics" to count
# slotwise with its metrics facade on and no recorder installed; default none).
set -euo pipefail

cd "$(dirname "$0")/.."

workload=${1:-get-64}
small=${SMALL:-5000}
large=${LARGE:-25000}
clients=${CLIENTS:-"slotwise redis-rs fred"}
top=${TOP:-0}
features=${FEATURES:-}
read_only=${READ_ONLY:-}

if ! command -v valgrind >/dev/null; then
    echo "valgrind not found; install it with: apt-get install -y valgrind" >&2
    exit 1
fi

cargo build --release -p slotwise-bench ${features:+--features "$features"} >&2
bin=target/release/slotwise-bench
out=target/callgrind
# Builds with other features keep their profiles apart.
tag=${features:+-${features//[^A-Za-z0-9]/_}}${read_only:+-read-only}
mkdir -p "$out"

# A filled cluster that lives as long as the `serve` process, which exits when its stdin closes.
coproc SERVE { "$bin" serve; }
read -r seed <&"${SERVE[0]}"
trap 'exec {SERVE[1]}>&-; wait "$SERVE_PID" 2>/dev/null || true' EXIT
echo "cluster: $seed" >&2

# Prints the instructions callgrind collected for one run.
instructions() {
    local client=$1 ops=$2
    local file="$out/$client-$workload$tag-$ops.out"
    valgrind --tool=callgrind --dump-instr=no --callgrind-out-file="$file" \
        "$bin" worker --client "$client" --workload "$workload" --seed "$seed" --ops "$ops" \
        ${read_only:+--read-only} \
        >/dev/null 2>"$out/$client-$workload$tag-$ops.log"
    # The totals line of the output file: "totals: <Ir>".
    awk '/^totals:/ { print $2 }' "$file"
}

printf '| Client | instructions / op (%s%s%s) |\n|---|--:|\n' "$workload" "${features:+, $features}" \
    "${read_only:+, read-only}"
for client in $clients; do
    a=$(instructions "$client" "$small")
    b=$(instructions "$client" "$large")
    per_op=$(( (b - a) / (large - small) ))
    printf '| %s | %s |\n' "$client" "$per_op"
done

# Per function: (own instructions in the large run - in the small run) / extra operations.
per_function() {
    python3 - "$1" "$2" "$3" "$top" <<'PY'
import re
import subprocess
import sys

def costs(path):
    text = subprocess.run(
        ["callgrind_annotate", "--threshold=100", "--auto=no", path],
        capture_output=True, text=True, check=True,
    ).stdout
    found = {}
    for line in text.splitlines():
        m = re.match(r"\s*([\d,]+) \([^)]*\)\s+(\S.*)$", line)
        if not m or "PROGRAM TOTALS" in line:
            continue
        # "file:function [object]" -> "function"
        name = re.sub(r"\s*\[[^]]*\]$", "", m.group(2))
        name = name.split(":", 1)[1] if ":" in name else name
        found[name] = found.get(name, 0) + int(m.group(1).replace(",", ""))
    return found

small, large, ops, top = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
a, b = costs(small), costs(large)
rows = sorted(((b.get(k, 0) - a.get(k, 0)) / ops, k) for k in a.keys() | b.keys())
for per_op, name in reversed(rows[-top:]):
    print(f"{per_op:10.1f}  {name[:150]}")
PY
}

if [ "$top" -gt 0 ]; then
    for client in $clients; do
        printf '\n%s, instructions per operation by function (own cost):\n' "$client"
        per_function "$out/$client-$workload$tag-$small.out" "$out/$client-$workload$tag-$large.out" \
            $((large - small))
    done
fi
echo >&2
echo "profiles: $out/<client>-$workload$tag-$large.out (callgrind_annotate <file>)" >&2

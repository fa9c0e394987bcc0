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
# The callgrind files stay in target/callgrind/ for `callgrind_annotate`.
#
# Usage: bench/callgrind.sh [workload (default get-64)]
# Environment: SMALL and LARGE operation counts (default 5000 and 25000), CLIENTS (default
# "slotwise redis-rs fred").
set -euo pipefail

cd "$(dirname "$0")/.."

workload=${1:-get-64}
small=${SMALL:-5000}
large=${LARGE:-25000}
clients=${CLIENTS:-"slotwise redis-rs fred"}

if ! command -v valgrind >/dev/null; then
    echo "valgrind not found; install it with: apt-get install -y valgrind" >&2
    exit 1
fi

cargo build --release -p slotwise-bench >&2
bin=target/release/slotwise-bench
out=target/callgrind
mkdir -p "$out"

# A filled cluster that lives as long as the `serve` process, which exits when its stdin closes.
coproc SERVE { "$bin" serve; }
read -r seed <&"${SERVE[0]}"
trap 'exec {SERVE[1]}>&-; wait "$SERVE_PID" 2>/dev/null || true' EXIT
echo "cluster: $seed" >&2

# Prints the instructions callgrind collected for one run.
instructions() {
    local client=$1 ops=$2
    local file="$out/$client-$workload-$ops.out"
    valgrind --tool=callgrind --dump-instr=no --callgrind-out-file="$file" \
        "$bin" worker --client "$client" --workload "$workload" --seed "$seed" --ops "$ops" \
        >/dev/null 2>"$out/$client-$workload-$ops.log"
    # The totals line of the output file: "totals: <Ir>".
    awk '/^totals:/ { print $2 }' "$file"
}

printf '| Client | instructions / op (%s) |\n|---|--:|\n' "$workload"
for client in $clients; do
    a=$(instructions "$client" "$small")
    b=$(instructions "$client" "$large")
    per_op=$(( (b - a) / (large - small) ))
    printf '| %s | %s |\n' "$client" "$per_op"
done
echo >&2
echo "profiles: $out/<client>-$workload-$large.out (callgrind_annotate <file>)" >&2

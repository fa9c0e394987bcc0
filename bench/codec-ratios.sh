#!/usr/bin/env bash
# Runs the codec benchmark and prints, per case, each contender's median time per operation and
# the ratio (fastest peer's median / slotwise's median): above 1.0 slotwise is faster.
#
# Usage: bench/codec-ratios.sh [extra criterion arguments, e.g. a group filter]
set -euo pipefail

cd "$(dirname "$0")/.."

cargo bench -p slotwise-bench --bench codec -- "$@"

target_dir=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')

python3 - "$target_dir/criterion" <<'PY'
import json
import pathlib
import sys

root = pathlib.Path(sys.argv[1])
cases = {}
# benchmark.json names the group and contender exactly; the directory names are sanitised copies.
for meta_path in sorted(root.glob("*/*/new/benchmark.json")):
    meta = json.loads(meta_path.read_text())
    estimates = json.loads((meta_path.parent / "estimates.json").read_text())
    cases.setdefault(meta["group_id"], {})[meta["function_id"]] = estimates["median"]["point_estimate"]

def show(ns):
    return f"{ns / 1000:9.2f} µs" if ns >= 1000 else f"{ns:9.1f} ns"

for case, times in cases.items():
    if "slotwise" not in times:
        continue
    ours = times["slotwise"]
    print(f"{case}")
    for name, ns in sorted(times.items(), key=lambda item: item[1]):
        print(f"  {name:<22} {show(ns)}")
    peers = {name: ns for name, ns in times.items() if name != "slotwise"}
    if peers:
        best_name, best_ns = min(peers.items(), key=lambda item: item[1])
        print(f"  ratio {best_name} / slotwise = {best_ns / ours:.2f}")
    print()

if not cases:
    print(f"no criterion results under {root}", file=sys.stderr)
    sys.exit(1)
PY

#!/usr/bin/env bash
# Checks that the `rust-version` the published crates declare is at least what their locked
# dependencies declare.
#
# This machine has one toolchain, so the declared minimum cannot be proven by building with it.
# What can be checked is the lock file: `cargo metadata --locked --all-features` reads every
# locked dependency's manifest (all platforms, since a published crate is built on any), and
# each declares its own `rust-version`. The check walks the normal and build dependencies of
# every published crate (every member without `publish = false`) and fails when one of them
# declares a newer Rust than the crate that pulls it in. Dev-dependencies are left out: they do
# not reach users. Prints the highest requirements found and how each is reached.
#
# The crates' own code is checked by clippy's `incompatible_msrv` lint, which reads the same
# `rust-version` and flags standard-library items stabilised after it; language features are not
# covered by either check. Needs python3 and the crates.io index (to download the manifests on a
# fresh machine); builds nothing.
set -euo pipefail

cd "$(dirname "$0")/.."

if ! command -v python3 >/dev/null 2>&1; then
    bash scripts/apt-install.sh msrv-check python3
fi

metadata=$(mktemp)
trap 'rm -f "$metadata"' EXIT
cargo metadata --format-version 1 --all-features --locked >"$metadata"

python3 - "$metadata" <<'EOF'
import json
import sys


def version(text):
    """A rust-version ("1.88", "1.88.0") as a comparable tuple."""
    parts = [int(p) for p in text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def shown(v):
    return ".".join(str(p) for p in v[:2]) if v[2] == 0 else ".".join(map(str, v))


with open(sys.argv[1]) as f:
    meta = json.load(f)
packages = {p["id"]: p for p in meta["packages"]}
nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
members = set(meta["workspace_members"])

published = [
    i for i in sorted(members, key=lambda i: packages[i]["name"]) if packages[i]["publish"] != []
]
if not published:
    sys.exit("msrv-check: no published crate in the workspace")

failures = []
for root in published:
    crate = packages[root]
    declared_text = crate.get("rust_version")
    if not declared_text:
        failures.append(f"{crate['name']} declares no rust-version")
        continue
    declared = version(declared_text)
    # Breadth first, so each dependency is reported through its shortest path.
    path = {root: [crate["name"]]}
    queue = [root]
    while queue:
        current = queue.pop(0)
        for dep in nodes[current]["deps"]:
            if dep["pkg"] in path:
                continue
            if any(k["kind"] in (None, "build") for k in dep["dep_kinds"]):
                path[dep["pkg"]] = path[current] + [packages[dep["pkg"]]["name"]]
                queue.append(dep["pkg"])
    required = []
    undeclared = 0
    for pkg_id in path:
        if pkg_id == root:
            continue
        pkg = packages[pkg_id]
        if pkg.get("rust_version"):
            required.append((version(pkg["rust_version"]), pkg_id))
        else:
            undeclared += 1
    required.sort(key=lambda r: (r[0], packages[r[1]]["name"]), reverse=True)
    highest = required[0][0] if required else (0, 0, 0)
    print(
        f"{crate['name']}: rust-version {shown(declared)}; {len(path) - 1} dependencies, "
        f"highest requirement {shown(highest)}, {undeclared} declare none"
    )
    for need, pkg_id in required[:5]:
        pkg = packages[pkg_id]
        print(f"    {shown(need):>6}  {pkg['name']} {pkg['version']}  ({' -> '.join(path[pkg_id])})")
    for need, pkg_id in required:
        if need > declared:
            pkg = packages[pkg_id]
            failures.append(
                f"{crate['name']} declares rust-version {shown(declared)}, but "
                f"{pkg['name']} {pkg['version']} needs {shown(need)} "
                f"({' -> '.join(path[pkg_id])})"
            )

if failures:
    print("msrv-check: FAILED", file=sys.stderr)
    for line in failures:
        print(f"  {line}", file=sys.stderr)
    print(
        "  Raise `rust-version` in the workspace Cargo.toml, or lock older versions "
        "(cargo update -p NAME --precise VERSION).",
        file=sys.stderr,
    )
    sys.exit(1)
print("msrv-check: every locked dependency fits the declared rust-version")
EOF

#!/usr/bin/env bash
# Checks that the published crates (every workspace member without `publish = false`:
# slotwise, slotwise-testkit, slotwise-cli) can go to crates.io, without uploading anything.
#
# Each package must carry both licence files. Then `cargo publish --workspace --dry-run`
# packages the crates in dependency order and builds each one from its package, the way a user
# would get it, against its siblings' packages in a temporary local registry: the test kit and
# the CLI depend on crates that are not on crates.io yet, so `cargo publish -p slotwise-testkit`
# alone cannot resolve them. Checks the working tree as it is (`--allow-dirty`) and the lock
# file as committed (`--locked`). Needs the crates.io index.
#
# Last, slotwise's docs as docs.rs builds them: every feature, `--cfg docsrs` (which turns on
# the nightly `doc_cfg` feature labels), warnings denied. docs.rs uses a nightly rustdoc; only
# the stable toolchain is here, so RUSTC_BOOTSTRAP=1 lets it take the nightly feature for this
# one build. A failure here is a docs.rs page that would fail to build after publishing.
set -euo pipefail

cd "$(dirname "$0")/.."

if ! command -v python3 >/dev/null 2>&1; then
    bash scripts/apt-install.sh publish-check python3
fi

crates=$(cargo metadata --no-deps --format-version 1 --locked | python3 -c '
import json, sys
for package in json.load(sys.stdin)["packages"]:
    if package["publish"] != []:
        print(package["name"])
')

for crate in $crates; do
    files=$(cargo package --list --allow-dirty --locked -p "$crate")
    for licence in LICENSE-MIT LICENSE-APACHE; do
        if ! grep -qx "$licence" <<<"$files"; then
            printf 'publish-check: the %s package lacks %s\n' "$crate" "$licence" >&2
            exit 1
        fi
    done
done

cargo publish --workspace --dry-run --allow-dirty --locked

RUSTC_BOOTSTRAP=1 RUSTDOCFLAGS="--cfg docsrs -D warnings" \
    cargo doc -p slotwise --no-deps --all-features --locked
printf 'publish-check: %s package and build from their packages; the docs build as on docs.rs\n' "${crates//$'\n'/, }"

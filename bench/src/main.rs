//! `slotwise-bench`: the side-by-side cluster benchmark against peer clients.
//!
//! Only the codec micro-benchmark exists so far (`cargo bench -p slotwise-bench --bench codec`,
//! or `bench/codec-ratios.sh` for the ratios). The end-to-end cluster benchmark, which needs a
//! running cluster from the test kit, is not written yet; this binary says so instead of
//! pretending to measure anything.

use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!("usage: slotwise-bench");
    eprintln!();
    eprintln!(
        "The cluster benchmark (slotwise against redis-rs and fred on a local cluster) is not"
    );
    eprintln!("implemented yet. The codec benchmark is available now:");
    eprintln!("    cargo bench -p slotwise-bench --bench codec");
    eprintln!("    bench/codec-ratios.sh");
    // Non-zero, so a script that expects a benchmark result does not mistake this for one.
    ExitCode::from(2)
}

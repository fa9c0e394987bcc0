//! The benchmark's smoke run: `slotwise-bench --quick` against a cluster of this test's own
//! must produce a row for every client on every quick workload, with no failed call and no
//! missing value, so the benchmark code cannot rot unnoticed; and the client-side cache's row
//! must have served most of its reads from memory.

use std::process::Command;

use slotwise_testkit::LocalCluster;

const CLIENTS: [&str; 3] = ["slotwise", "redis-rs", "fred"];
const WORKLOADS: [&str; 5] = ["get-1", "set-64", "get-64x16", "mget-100", "hot-get-64"];

#[test]
fn quick_run_has_a_row_for_every_client() {
    let cluster = LocalCluster::builder()
        .primaries(3)
        .replicas(1)
        .start()
        .unwrap();
    let json =
        std::env::temp_dir().join(format!("slotwise-bench-quick-{}.json", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_slotwise-bench"))
        .arg("--quick")
        .args(["--seed", &cluster.seed_url()])
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the quick run failed:\n{stderr}");
    assert!(
        stdout.contains("| Workload | Client |"),
        "no table on stdout:\n{stdout}"
    );

    let text = std::fs::read_to_string(&json).unwrap();
    let _ = std::fs::remove_file(&json);
    let rows: serde_json::Value = serde_json::from_str(&text).unwrap();
    let rows = rows.as_array().expect("a JSON array of rows");
    for workload in WORKLOADS {
        for client in CLIENTS {
            let row = rows
                .iter()
                .find(|r| r["client"] == client && r["workload"] == workload)
                .unwrap_or_else(|| panic!("no row for {client} on {workload} in {text}"));
            for field in ["ops_per_sec", "p50_us", "p99_us", "cpu_us_per_op"] {
                let value = row[field].as_f64().unwrap_or(0.0);
                assert!(value > 0.0, "{client} {workload}: {field} is {value}");
            }
            assert!(
                row["rss_kib"].is_number(),
                "{client} {workload}: no rss_kib"
            );
            assert_eq!(
                row["reps"], 1,
                "{client} {workload}: one repetition expected"
            );
            assert_eq!(row["errors"], 0, "{client} {workload}: failed calls");
            assert_eq!(row["misses"], 0, "{client} {workload}: missing values");
        }
    }
    // The cached clients on the hot keys: 1,000 keys, 1 % of them written, so well over half of
    // the reads are hits however slow the machine (a generous bound, not a goal).
    let cached: &[&str] = if cfg!(feature = "redis-rs-cache") {
        &["slotwise-cached", "redis-rs-cached"]
    } else {
        &["slotwise-cached"]
    };
    for &client in cached {
        let cached = rows
            .iter()
            .find(|r| r["client"] == client && r["workload"] == "hot-get-64")
            .unwrap_or_else(|| panic!("no {client} row on hot-get-64 in {text}"));
        assert_eq!(cached["errors"], 0, "{client}: failed calls");
        assert_eq!(cached["misses"], 0, "{client}: missing values");
        let ratio = cached["cache_hit_ratio"].as_f64().unwrap_or(0.0);
        assert!(ratio > 0.5, "{client} hit ratio {ratio}:\n{text}");
        assert!(
            !rows
                .iter()
                .any(|r| r["client"] == client && r["workload"] != "hot-get-64"),
            "{client} ran outside the cache's workloads:\n{text}"
        );
    }
    let cached = rows
        .iter()
        .find(|r| r["client"] == "slotwise-cached" && r["workload"] == "hot-get-64");
    let entries = cached
        .and_then(|r| r["cache_entries"].as_f64())
        .unwrap_or(0.0);
    assert!(
        entries > 0.0 && entries <= 1000.0,
        "slotwise-cached holds {entries} keys of 1,000"
    );
    // redis-benchmark is optional (the run says how to install it); when it is there, its rows
    // must be too.
    let has_redis_benchmark = Command::new("redis-benchmark")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if has_redis_benchmark {
        for workload in ["get-1", "get-64x16"] {
            let row = rows
                .iter()
                .find(|r| r["client"] == "redis-benchmark" && r["workload"] == workload);
            let ops = row.and_then(|r| r["ops_per_sec"].as_f64()).unwrap_or(0.0);
            assert!(
                ops > 0.0,
                "no redis-benchmark row for {workload}:\n{stderr}\n{text}"
            );
        }
    }
}

//! From samples to what a reader sees: per row the median and min–max over repetitions, the
//! markdown tables (results, slotwise ÷ best peer, the goals) and the JSON file.
//!
//! Ratios are of medians taken in the same run. For ops/s higher is better; for latency, CPU
//! per operation and memory lower is better. "Best peer" is the best of the Rust clients
//! (redis-rs, fred); `redis-benchmark` is a C tool and appears in the goals that name it.
//!
//! The client-side cache's workloads get a section of their own: `slotwise-cached` against
//! slotwise without its cache, its hit ratio and what it held, and the cache's goals.

use std::fmt::Write as _;

use crate::runner::Results;
use crate::worker::Sample;
use crate::workload::{Client, Workload};

/// Median and extremes of one metric over the repetitions.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Stat {
    pub(crate) median: f64,
    pub(crate) min: f64,
    pub(crate) max: f64,
}

impl Stat {
    /// The median, smallest and largest of `values`; all 0 when there are none.
    fn of(values: impl IntoIterator<Item = f64>) -> Stat {
        Stat::of_some(values).unwrap_or_default()
    }

    /// The median, smallest and largest of `values`; `None` when there are none.
    pub(crate) fn of_some(values: impl IntoIterator<Item = f64>) -> Option<Stat> {
        let mut v: Vec<f64> = values.into_iter().collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let mid = v.len() / 2;
        let median = if v.len() % 2 == 1 {
            v[mid]
        } else {
            (v[mid - 1] + v[mid]) / 2.0
        };
        Some(Stat {
            median,
            min: v[0],
            max: v[v.len() - 1],
        })
    }
}

/// One row of the table: one client on one workload.
#[derive(Clone, Debug)]
pub(crate) struct Row {
    pub(crate) workload: Workload,
    pub(crate) client: Client,
    pub(crate) reps: usize,
    pub(crate) ops_per_sec: Stat,
    pub(crate) p50_us: Stat,
    pub(crate) p99_us: Stat,
    pub(crate) cpu_us_per_op: Stat,
    pub(crate) rss_kib: Stat,
    /// Failed calls and missing values over all repetitions (both 0 in a sound run).
    pub(crate) errors: u64,
    pub(crate) misses: u64,
    /// What the client's cache did, for a client with one.
    pub(crate) cache: Option<CacheRow>,
}

/// A cached row's cache figures over the repetitions.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct CacheRow {
    /// Hits over cacheable reads inside the window.
    pub(crate) hit_ratio: Stat,
    /// Keys held at the end of the window, if the client says.
    pub(crate) entries: Option<Stat>,
    /// Estimated bytes of replies held at the end of the window, if the client says.
    pub(crate) bytes: Option<Stat>,
    /// Entries evicted per second of the window, if the client counts them.
    pub(crate) evictions_per_sec: Option<Stat>,
}

impl CacheRow {
    fn of(samples: &[Sample]) -> Option<CacheRow> {
        let counts = || samples.iter().filter_map(|s| s.cache.map(|c| (s, c)));
        Some(CacheRow {
            hit_ratio: Stat::of_some(counts().filter_map(|(_, c)| c.hit_ratio()))?,
            entries: Stat::of_some(counts().filter_map(|(_, c)| Some(c.entries? as f64))),
            bytes: Stat::of_some(counts().filter_map(|(_, c)| Some(c.bytes? as f64))),
            evictions_per_sec: Stat::of_some(
                counts()
                    .filter(|(s, _)| s.seconds > 0.0)
                    .filter_map(|(s, c)| Some(c.evictions? as f64 / s.seconds)),
            ),
        })
    }
}

/// The rows, in workload then client order.
pub(crate) fn rows(results: &Results) -> Vec<Row> {
    results
        .samples
        .iter()
        .map(|(&(workload, client), samples)| {
            let stat = |f: fn(&Sample) -> f64| Stat::of(samples.iter().map(f));
            Row {
                workload,
                client,
                reps: samples.len(),
                ops_per_sec: stat(|s| s.ops_per_sec),
                p50_us: stat(|s| s.p50_us),
                p99_us: stat(|s| s.p99_us),
                cpu_us_per_op: stat(|s| s.cpu_us_per_op),
                rss_kib: stat(|s| s.rss_kib as f64),
                errors: samples.iter().map(|s| s.errors).sum(),
                misses: samples.iter().map(|s| s.misses).sum(),
                cache: CacheRow::of(samples),
            }
        })
        .collect()
}

/// One object per row, for `--json`.
pub(crate) fn json(rows: &[Row]) -> serde_json::Value {
    let objects = rows
        .iter()
        .map(|r| {
            let mut object = serde_json::json!({
                "client": r.client.name(),
                "workload": r.workload.name(),
                "ops_per_sec": r.ops_per_sec.median,
                "p50_us": r.p50_us.median,
                "p99_us": r.p99_us.median,
                "cpu_us_per_op": r.cpu_us_per_op.median,
                "rss_kib": r.rss_kib.median,
                "reps": r.reps,
                "ops_per_sec_min": r.ops_per_sec.min,
                "ops_per_sec_max": r.ops_per_sec.max,
                "errors": r.errors,
                "misses": r.misses,
            });
            if let (Some(c), Some(map)) = (r.cache, object.as_object_mut()) {
                map.insert("cache_hit_ratio".into(), c.hit_ratio.median.into());
                map.insert("cache_hit_ratio_min".into(), c.hit_ratio.min.into());
                map.insert("cache_hit_ratio_max".into(), c.hit_ratio.max.into());
                let median = |s: Option<Stat>| s.map(|s| s.median).into();
                map.insert("cache_entries".into(), median(c.entries));
                map.insert("cache_bytes".into(), median(c.bytes));
                map.insert(
                    "cache_evictions_per_sec".into(),
                    median(c.evictions_per_sec),
                );
            }
            object
        })
        .collect();
    serde_json::Value::Array(objects)
}

fn find(rows: &[Row], workload: Workload, client: Client) -> Option<&Row> {
    rows.iter()
        .find(|r| r.workload == workload && r.client == client)
}

/// A metric of a row, and whether more is better.
#[derive(Clone, Copy)]
enum Metric {
    Ops,
    P50,
    P99,
    Cpu,
    Rss,
}

impl Metric {
    fn of(self, row: &Row) -> f64 {
        match self {
            Metric::Ops => row.ops_per_sec.median,
            Metric::P50 => row.p50_us.median,
            Metric::P99 => row.p99_us.median,
            Metric::Cpu => row.cpu_us_per_op.median,
            Metric::Rss => row.rss_kib.median,
        }
    }

    fn higher_is_better(self) -> bool {
        matches!(self, Metric::Ops)
    }
}

/// slotwise's median (`ours`: with or without its cache) over the best Rust peer's of the
/// same kind (cached against cached, uncached against uncached), and that peer.
fn versus_best_peer(
    rows: &[Row],
    workload: Workload,
    ours: Client,
    metric: Metric,
) -> Option<(f64, Client)> {
    let peers: &[Client] = if ours.is_cached() {
        &[Client::RedisRsCached]
    } else {
        &[Client::RedisRs, Client::Fred]
    };
    let ours = metric.of(find(rows, workload, ours)?);
    let peers = peers
        .iter()
        .copied()
        .filter_map(|c| find(rows, workload, c).map(|r| (metric.of(r), c)));
    let best = if metric.higher_is_better() {
        peers.max_by(|a, b| a.0.total_cmp(&b.0))
    } else {
        peers.min_by(|a, b| a.0.total_cmp(&b.0))
    }?;
    (best.0 > 0.0).then(|| (ours / best.0, best.1))
}

fn versus(rows: &[Row], workload: Workload, peer: Client, metric: Metric) -> Option<f64> {
    versus_as(rows, workload, Client::Slotwise, peer, metric)
}

/// `ours`'s median over `peer`'s.
fn versus_as(
    rows: &[Row],
    workload: Workload,
    ours: Client,
    peer: Client,
    metric: Metric,
) -> Option<f64> {
    let ours = metric.of(find(rows, workload, ours)?);
    let theirs = metric.of(find(rows, workload, peer)?);
    (theirs > 0.0).then(|| ours / theirs)
}

fn cell(s: Stat, digits: usize, scale: f64) -> String {
    format!(
        "{:.d$} ({:.d$}–{:.d$})",
        s.median / scale,
        s.min / scale,
        s.max / scale,
        d = digits
    )
}

fn ops_cell(s: Stat) -> String {
    format!(
        "{} ({}–{})",
        thousands(s.median),
        thousands(s.min),
        thousands(s.max)
    )
}

fn thousands(x: f64) -> String {
    let digits = format!("{:.0}", x.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The results table, the ratio table and the goals, in markdown; then, if the cache's
/// workloads ran, their section, judged against `cache_entries`, the most keys the cached
/// client was configured to keep.
pub(crate) fn markdown(rows: &[Row], cache_entries: u64) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| Workload | Client | ops/s | p50 µs | p99 µs | CPU µs/op | RSS MiB | ops/s ÷ best peer |"
    );
    let _ = writeln!(out, "|---|---|--:|--:|--:|--:|--:|--:|");
    for r in rows {
        let ratio = if matches!(r.client, Client::Slotwise | Client::SlotwiseCached) {
            versus_best_peer(rows, r.workload, r.client, Metric::Ops)
                .map(|(x, peer)| format!("{x:.2}× ({peer})"))
                .unwrap_or_default()
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            r.workload.label(),
            r.client,
            ops_cell(r.ops_per_sec),
            cell(r.p50_us, 0, 1.0),
            cell(r.p99_us, 0, 1.0),
            cell(r.cpu_us_per_op, 2, 1.0),
            cell(r.rss_kib, 1, 1024.0),
            ratio
        );
    }
    out.push('\n');
    let ratios = ratio_table(rows);
    if !ratios.is_empty() {
        out.push_str(&ratios);
        out.push('\n');
    }
    out.push_str(&goals(rows));
    if rows.iter().any(|r| r.client.is_cached()) {
        out.push('\n');
        out.push_str(&cache_section(rows, cache_entries));
    }
    out
}

/// slotwise ÷ best Rust peer for every metric of every workload.
fn ratio_table(rows: &[Row]) -> String {
    let mut workloads: Vec<Workload> = rows.iter().map(|r| r.workload).collect();
    workloads.dedup();
    // The cache's memory row has no peer to compare with.
    workloads.retain(|w| w.has(Client::Fred));
    let mut out = String::new();
    if workloads.is_empty() {
        return out;
    }
    let _ = writeln!(
        out,
        "slotwise ÷ best peer (medians; ops/s: higher is better, the rest: lower is better)\n"
    );
    let _ = writeln!(
        out,
        "| Workload | ops/s ↑ | p50 ↓ | p99 ↓ | CPU/op ↓ | RSS ↓ | ops/s ÷ redis-benchmark |"
    );
    let _ = writeln!(out, "|---|--:|--:|--:|--:|--:|--:|");
    for w in workloads {
        let ratio = |m| {
            versus_best_peer(rows, w, Client::Slotwise, m)
                .map(|(x, peer)| format!("{x:.2}× {peer}"))
                .unwrap_or_else(|| "–".to_owned())
        };
        let rb = versus(rows, w, Client::RedisBenchmark, Metric::Ops)
            .map(|x| format!("{x:.2}×"))
            .unwrap_or_else(|| "–".to_owned());
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            w.label(),
            ratio(Metric::Ops),
            ratio(Metric::P50),
            ratio(Metric::P99),
            ratio(Metric::Cpu),
            ratio(Metric::Rss),
            rb
        );
    }
    out
}

/// One goal of the issue: its wording, the measured value, and the bound it must meet.
struct Goal {
    text: String,
    ratio: Option<f64>,
    /// True: the value must be at least the bound; false: at most.
    at_least: bool,
    bound: f64,
    unit: Unit,
}

/// How a goal's value and bound read.
#[derive(Clone, Copy)]
enum Unit {
    /// `1.47×`, bound `1.3×`.
    Ratio,
    /// `0.981`, bound `0.95`.
    Fraction,
    /// `0.21 µs`, bound `0.30 µs`.
    Micros,
}

impl Unit {
    fn value(self, x: f64) -> String {
        match self {
            Unit::Ratio => format!("{x:.2}×"),
            Unit::Fraction => format!("{x:.3}"),
            Unit::Micros => format!("{x:.2} µs"),
        }
    }

    fn bound(self, x: f64) -> String {
        match self {
            Unit::Ratio => format!("{x:.1}×"),
            Unit::Fraction => format!("{x:.2}"),
            Unit::Micros => format!("{x:.2} µs"),
        }
    }
}

/// The goals, each as measured in this run.
fn goals(rows: &[Row]) -> String {
    let peer_ops = |w| versus_best_peer(rows, w, Client::Slotwise, Metric::Ops).map(|(x, _)| x);
    let mut list = vec![
        Goal {
            text: "GET 1 task ÷ redis-benchmark -c 1".to_owned(),
            ratio: versus(rows, Workload::Get1, Client::RedisBenchmark, Metric::Ops),
            at_least: true,
            bound: 1.0,
            unit: Unit::Ratio,
        },
        Goal {
            text: "GET 64 tasks ÷ best of fred, redis-rs".to_owned(),
            ratio: peer_ops(Workload::Get64),
            at_least: true,
            bound: 1.3,
            unit: Unit::Ratio,
        },
        Goal {
            text: "SET 64 tasks ÷ best of fred, redis-rs".to_owned(),
            ratio: peer_ops(Workload::Set64),
            at_least: true,
            bound: 1.3,
            unit: Unit::Ratio,
        },
        Goal {
            text: "GET 64 tasks p99 ÷ fred's".to_owned(),
            ratio: versus(rows, Workload::Get64, Client::Fred, Metric::P99),
            at_least: false,
            bound: 1.0,
            unit: Unit::Ratio,
        },
        Goal {
            text: "SET 64 tasks p99 ÷ fred's".to_owned(),
            ratio: versus(rows, Workload::Set64, Client::Fred, Metric::P99),
            at_least: false,
            bound: 1.0,
            unit: Unit::Ratio,
        },
        Goal {
            text: "GET 64 × 16 ÷ redis-benchmark -c 50 -P 16".to_owned(),
            ratio: versus(
                rows,
                Workload::Get64x16,
                Client::RedisBenchmark,
                Metric::Ops,
            ),
            at_least: true,
            bound: 0.9,
            unit: Unit::Ratio,
        },
        Goal {
            text: "MGET 100 ÷ fred".to_owned(),
            ratio: versus(rows, Workload::Mget100, Client::Fred, Metric::Ops),
            at_least: true,
            bound: 1.5,
            unit: Unit::Ratio,
        },
    ];
    // CPU and memory: every workload must meet them, so the worst one is the measure.
    let worst = |metric| {
        let mut workloads: Vec<Workload> = rows.iter().map(|r| r.workload).collect();
        workloads.dedup();
        workloads
            .into_iter()
            .filter_map(|w| versus(rows, w, Client::Fred, metric).map(|x| (x, w)))
            .max_by(|a, b| a.0.total_cmp(&b.0))
    };
    for (metric, what, bound) in [(Metric::Cpu, "CPU/op", 0.7), (Metric::Rss, "peak RSS", 1.0)] {
        let found = worst(metric);
        list.push(Goal {
            text: match found {
                Some((_, w)) => format!("{what} ÷ fred's, worst workload ({})", w.label()),
                None => format!("{what} ÷ fred's, worst workload"),
            },
            ratio: found.map(|(x, _)| x),
            at_least: false,
            bound,
            unit: Unit::Ratio,
        });
    }
    goal_table(list)
}

/// The goals as a table: each one's target, what was measured and whether it is met.
fn goal_table(list: Vec<Goal>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| Goal (medians, same run) | Target | Measured | Met |"
    );
    let _ = writeln!(out, "|---|--:|--:|:-:|");
    for g in list {
        let target = format!(
            "{} {}",
            if g.at_least { "≥" } else { "≤" },
            g.unit.bound(g.bound)
        );
        let (measured, met) = match g.ratio {
            Some(x) => {
                let met = if g.at_least {
                    x >= g.bound
                } else {
                    x <= g.bound
                };
                (g.unit.value(x), if met { "yes" } else { "no" })
            }
            None => ("not measured".to_owned(), "–"),
        };
        let _ = writeln!(out, "| {} | {target} | {measured} | {met} |", g.text);
    }
    out
}

/// The client-side cache's rows: each cached client against the same library without its
/// cache on the same workload, what the cache held, and the goals for slotwise's.
fn cache_section(rows: &[Row], cache_entries: u64) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Client-side cache (slotwise-cached: at most {cache_entries} keys; redis-rs-cached: \
         redis-rs's defaults, 10,000 keys; the other rows read every value from the nodes)\n"
    );
    let _ = writeln!(
        out,
        "| Workload | Client | ops/s, cache on ÷ off | hit ratio | keys held | reply MiB held | \
         RSS MiB, on / off | CPU µs/op, on / off |"
    );
    let _ = writeln!(out, "|---|---|--:|--:|--:|--:|--:|--:|");
    let dash = || "–".to_owned();
    for r in rows.iter().filter(|r| r.client.is_cached()) {
        let (w, on, off) = (r.workload, r.client, r.client.uncached());
        let on_off = |metric: Metric, digits: usize, scale: f64| {
            let value = |c: Option<Client>| {
                c.and_then(|c| find(rows, w, c))
                    .map(|r| format!("{:.digits$}", metric.of(r) / scale))
                    .unwrap_or_else(dash)
            };
            format!("{} / {}", value(Some(on)), value(off))
        };
        let speedup = off
            .and_then(|off| versus_as(rows, w, on, off, Metric::Ops))
            .map(|x| format!("{x:.2}×"))
            .unwrap_or_else(dash);
        let hits = r
            .cache
            .map(|c| {
                let h = c.hit_ratio;
                format!("{:.3} ({:.3}–{:.3})", h.median, h.min, h.max)
            })
            .unwrap_or_else(dash);
        let entries = r
            .cache
            .and_then(|c| c.entries)
            .map(|s| thousands(s.median))
            .unwrap_or_else(dash);
        let bytes = r
            .cache
            .and_then(|c| c.bytes)
            .map(|s| format!("{:.2}", s.median / (1024.0 * 1024.0)))
            .unwrap_or_else(dash);
        let _ = writeln!(
            out,
            "| {} | {on} | {speedup} | {hits} | {entries} | {bytes} | {} | {} |",
            w.label(),
            on_off(Metric::Rss, 1, 1024.0),
            on_off(Metric::Cpu, 2, 1.0),
        );
    }
    out.push('\n');
    let hot = find(rows, Workload::HotGet64, Client::SlotwiseCached);
    let wide = find(rows, Workload::WideGet64, Client::SlotwiseCached);
    let held = wide
        .and_then(|r| r.cache)
        .and_then(|c| c.entries)
        .map(|s| s.max / cache_entries.max(1) as f64);
    out.push_str(&goal_table(vec![
        Goal {
            text: "hot GET ops/s, slotwise cache on ÷ cache off".to_owned(),
            ratio: versus_as(
                rows,
                Workload::HotGet64,
                Client::SlotwiseCached,
                Client::Slotwise,
                Metric::Ops,
            ),
            at_least: true,
            bound: 10.0,
            unit: Unit::Ratio,
        },
        Goal {
            text: "hot GET hit ratio, slotwise".to_owned(),
            ratio: hot.and_then(|r| r.cache).map(|c| c.hit_ratio.median),
            at_least: true,
            bound: 0.95,
            unit: Unit::Fraction,
        },
        Goal {
            text: "hot GET CPU per call, slotwise cache on (the 1 % SET and the harness included)"
                .to_owned(),
            ratio: hot.map(|r| r.cpu_us_per_op.median),
            at_least: false,
            bound: 0.3,
            unit: Unit::Micros,
        },
        Goal {
            text: "wide GET keys held by slotwise (most of any repetition) ÷ the configured most"
                .to_owned(),
            ratio: held,
            at_least: false,
            bound: 1.0,
            unit: Unit::Ratio,
        },
    ]));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_extremes() {
        let s = Stat::of([3.0, 1.0, 2.0]);
        assert_eq!((s.median, s.min, s.max), (2.0, 1.0, 3.0));
        let s = Stat::of([4.0, 1.0, 2.0, 3.0]);
        assert_eq!(s.median, 2.5);
        assert_eq!(Stat::of([]), Stat::default());
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0.0), "0");
        assert_eq!(thousands(999.4), "999");
        assert_eq!(thousands(1234567.0), "1,234,567");
    }

    fn row(client: Client, ops: f64, p99: f64) -> Row {
        let stat = |x| Stat {
            median: x,
            min: x,
            max: x,
        };
        Row {
            workload: Workload::Get64,
            client,
            reps: 1,
            ops_per_sec: stat(ops),
            p50_us: stat(1.0),
            p99_us: stat(p99),
            cpu_us_per_op: stat(1.0),
            rss_kib: stat(1.0),
            errors: 0,
            misses: 0,
            cache: None,
        }
    }

    #[test]
    fn best_peer_depends_on_direction() {
        let rows = [
            row(Client::Slotwise, 130.0, 10.0),
            row(Client::RedisRs, 100.0, 20.0),
            row(Client::Fred, 90.0, 8.0),
        ];
        let (x, peer) =
            versus_best_peer(&rows, Workload::Get64, Client::Slotwise, Metric::Ops).unwrap();
        assert_eq!((x, peer), (1.3, Client::RedisRs));
        let (x, peer) =
            versus_best_peer(&rows, Workload::Get64, Client::Slotwise, Metric::P99).unwrap();
        assert_eq!((x, peer), (1.25, Client::Fred));
    }

    #[test]
    fn the_cache_section_judges_the_cached_row_against_the_uncached() {
        let stat = |x| Stat {
            median: x,
            min: x,
            max: x,
        };
        let mut off = row(Client::Slotwise, 100.0, 10.0);
        off.workload = Workload::HotGet64;
        let mut on = row(Client::SlotwiseCached, 1200.0, 10.0);
        on.workload = Workload::HotGet64;
        on.cpu_us_per_op = stat(0.25);
        on.cache = Some(CacheRow {
            hit_ratio: stat(0.97),
            entries: Some(stat(1000.0)),
            bytes: Some(stat(150_000.0)),
            evictions_per_sec: None,
        });
        let text = markdown(&[off.clone()], 10_000);
        assert!(
            !text.contains("Client-side cache"),
            "no cached row, no section:\n{text}"
        );
        let mut theirs = row(Client::RedisRsCached, 600.0, 10.0);
        theirs.workload = Workload::HotGet64;
        let text = markdown(&[off, on, theirs], 10_000);
        for line in [
            "| hot GET ops/s, slotwise cache on ÷ cache off | ≥ 10.0× | 12.00× | yes |",
            "| hot GET hit ratio, slotwise | ≥ 0.95 | 0.970 | yes |",
            "| ≤ 0.30 µs | 0.25 µs | yes |",
            // A cached row's peer is the other cached client.
            "| 2.00× (redis-rs-cached) |",
            "| slotwise-cached | 12.00× | 0.970 (0.970–0.970) | 1,000 | 0.14 | 0.0 / 0.0 | 0.25 / 1.00 |",
        ] {
            assert!(text.contains(line), "expected {line:?} in:\n{text}");
        }
    }
}

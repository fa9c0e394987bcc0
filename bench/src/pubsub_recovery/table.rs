//! The pub/sub recovery comparison's tables: the summary (medians over the runs), every run,
//! and the JSON rows. What the columns mean is in the parent module's docs.

use super::{Kind, Row};
use crate::recovery::table::{count, median, ms, ms_spread};
use crate::recovery::Scenario;
use crate::workload::Client;

/// The summary table, one row per scenario × kind × client in the order given, over `runs`
/// runs; then the table of every run.
pub(crate) fn markdown(
    rows: &[Row],
    scenarios: &[Scenario],
    kinds: &[Kind],
    clients: &[Client],
    runs: usize,
) -> String {
    let mut out = format!(
        "{runs} run(s) of each scenario × kind × client; cells: median over the runs \
         (duplicates, channels lost: totals)\n\n\
         | scenario | kind | client | runs all back | cluster recovered after \
         | deaf (median, min–max) | after recovery (median, min–max) | lost (healthy) \
         | duplicates | channels lost |\n\
         |---|---|---|--:|--:|--:|--:|--:|--:|--:|\n"
    );
    for &scenario in scenarios {
        for &kind in kinds {
            for &client in clients {
                let group: Vec<&Row> = rows
                    .iter()
                    .filter(|r| r.scenario == scenario && r.kind == kind && r.client == client)
                    .collect();
                if group.is_empty() {
                    continue;
                }
                let deaf: Vec<f64> = group.iter().filter_map(|r| r.outcome.deaf_ms).collect();
                let after: Vec<f64> = group
                    .iter()
                    .filter_map(|r| r.outcome.after_recovery_ms)
                    .collect();
                out.push_str(&format!(
                    "| {scenario} | {kind} | {client} | {}/{runs} | {} | {} | {} | {} ({}) | {} | {} |\n",
                    group.iter().filter(|r| r.outcome.channels_lost == 0).count(),
                    ms(median(group.iter().filter_map(|r| r.cluster_ms))),
                    ms_spread(&deaf),
                    ms_spread(&after),
                    count(median(group.iter().map(|r| r.outcome.lost as f64))),
                    count(median(group.iter().map(|r| r.outcome.healthy_lost as f64))),
                    group.iter().map(|r| r.outcome.duplicates).sum::<u64>(),
                    group.iter().map(|r| r.outcome.channels_lost).sum::<u64>(),
                ));
            }
        }
    }
    out.push_str(
        "\nEvery run:\n\n\
         | scenario | kind | client | run | node hit | affected | cluster | deaf \
         | after recovery | lost (healthy) | duplicates | channels lost | received/published |\n\
         |---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n",
    );
    for r in rows {
        let o = &r.outcome;
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} ({}) | {} | {} | {}/{} |\n",
            r.scenario,
            r.kind,
            r.client,
            r.run,
            r.victim,
            o.affected,
            ms(r.cluster_ms),
            ms(o.deaf_ms),
            ms(o.after_recovery_ms),
            o.lost,
            o.healthy_lost,
            o.duplicates,
            o.channels_lost,
            o.received,
            o.published,
        ));
    }
    out
}

/// Every run's row as JSON.
pub(crate) fn json(rows: &[Row]) -> serde_json::Value {
    serde_json::Value::Array(
        rows.iter()
            .map(|r| {
                let mut v = r.outcome.to_json();
                v["run"] = r.run.into();
                v["scenario"] = r.scenario.name().into();
                v["kind"] = r.kind.name().into();
                v["client"] = r.client.name().into();
                v["victim"] = r.victim.into();
                v["cluster_ms"] = r.cluster_ms.into();
                v
            })
            .collect(),
    )
}

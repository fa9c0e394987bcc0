//! The recovery comparison's tables: the summary (medians over the runs), every run, and the
//! JSON rows. What the columns mean is in the parent module's docs.

use super::{Row, Scenario, ServerCounts};
use crate::report::Stat;
use crate::workload::Client;

pub(crate) fn ms(v: Option<f64>) -> String {
    match v {
        Some(v) if v >= 1000.0 => format!("{:.2} s", v / 1000.0),
        Some(v) => format!("{v:.0} ms"),
        None => "—".to_owned(),
    }
}

/// A count, or a median of counts (which may end in .5).
pub(crate) fn count(v: Option<f64>) -> String {
    match v {
        Some(v) if v.fract() == 0.0 => format!("{v:.0}"),
        Some(v) => format!("{v:.1}"),
        None => "—".to_owned(),
    }
}

/// The median of `values`; `None` when there are none.
pub(crate) fn median(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    Stat::of_some(values).map(|s| s.median)
}

/// The median with the smallest and largest value, as `median (min–max)`; the value alone
/// when there is one.
pub(crate) fn ms_spread(values: &[f64]) -> String {
    match Stat::of_some(values.iter().copied()) {
        Some(s) if values.len() > 1 => format!(
            "{} ({}–{})",
            ms(Some(s.median)),
            ms(Some(s.min)),
            ms(Some(s.max))
        ),
        s => ms(s.map(|s| s.median)),
    }
}

/// The summary table, one row per scenario × client in the order given, over `runs` runs; then
/// the table of every run.
pub(crate) fn markdown(
    rows: &[Row],
    scenarios: &[Scenario],
    clients: &[Client],
    runs: usize,
) -> String {
    let mut out = format!(
        "{runs} run(s) of each scenario × client; cells: median over the runs \
         (wrong, stale: totals)\n\n\
         | scenario | client | runs recovered | cluster recovered after \
         | lag after recovery (median, min–max) | longest stall | client's stall \
         | errors (healthy slots) | wrong | stale | MOVED | ASK | topology queries |\n\
         |---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n"
    );
    for &scenario in scenarios {
        for &client in clients {
            let group: Vec<&Row> = rows
                .iter()
                .filter(|r| r.scenario == scenario && r.client == client)
                .collect();
            let of = |f: fn(&Row) -> f64| median(group.iter().map(|r| f(r)));
            let server = |f: fn(&ServerCounts) -> u64| {
                median(
                    group
                        .iter()
                        .filter_map(|r| r.server.as_ref().map(f))
                        .map(|n| n as f64),
                )
            };
            let lags: Vec<f64> = group.iter().filter_map(|r| r.outcome.lag_ms).collect();
            out.push_str(&format!(
                "| {scenario} | {client} | {}/{runs} | {} | {} | {} | {} | {} ({}) | {} | {} \
                 | {} | {} | {} |\n",
                group.iter().filter(|r| r.outcome.recovered).count(),
                ms(median(group.iter().filter_map(|r| r.cluster_ms))),
                ms_spread(&lags),
                ms(of(|r| r.outcome.stall_ms)),
                ms(of(Row::client_stall_ms)),
                count(of(|r| r.outcome.errors as f64)),
                count(of(|r| r.outcome.healthy_errors as f64)),
                group.iter().map(|r| r.outcome.wrong).sum::<u64>(),
                group.iter().map(|r| r.outcome.stale).sum::<u64>(),
                count(server(|c| c.moved)),
                count(server(|c| c.ask)),
                count(server(|c| c.topology)),
            ));
        }
    }
    out.push_str(
        "\nEvery run:\n\n\
         | scenario | client | run | cluster | all nodes ok | lag | stall | client's stall \
         | errors |\n\
         |---|---|--:|--:|--:|--:|--:|--:|--:|\n",
    );
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} ({}) |\n",
            r.scenario,
            r.client,
            r.run,
            ms(r.cluster_ms),
            ms(r.settled_ms),
            ms(r.outcome.lag_ms),
            ms(Some(r.outcome.stall_ms)),
            ms(Some(r.client_stall_ms())),
            r.outcome.errors,
            r.outcome.healthy_errors,
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
                v["client"] = r.client.name().into();
                v["cluster_ms"] = r.cluster_ms.into();
                v["settled_ms"] = r.settled_ms.into();
                v["client_stall_ms"] = r.client_stall_ms().into();
                v["moved"] = r.server.map(|c| c.moved).into();
                v["ask"] = r.server.map(|c| c.ask).into();
                v["asking"] = r.server.map(|c| c.asking).into();
                v["topology_queries"] = r.server.map(|c| c.topology).into();
                v
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(Vec::new()), None);
        assert_eq!(median([3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median([4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(ms_spread(&[300.0, 100.0, 200.0]), "200 ms (100 ms–300 ms)");
        assert_eq!(ms_spread(&[42.0]), "42 ms");
        assert_eq!(ms_spread(&[]), "—");
        assert_eq!(count(Some(2.5)), "2.5");
        assert_eq!(count(Some(3.0)), "3");
    }
}

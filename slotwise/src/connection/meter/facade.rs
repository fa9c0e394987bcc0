//! A node's meter recorded into the [`metrics`] facade (feature `metrics`), for whatever recorder
//! the application installed: a Prometheus exporter, an OpenTelemetry bridge, a test recorder.
//!
//! Every metric carries the node (`host:port`) as its `node` label:
//!
//! | Metric | Type | Labels |
//! |---|---|---|
//! | `slotwise_requests_total` | counter | `node` |
//! | `slotwise_errors_total` | counter | `node`, `kind` (`server`, `refused`, `timeout`, `io`, `connect`, `overloaded`) |
//! | `slotwise_redirects_total` | counter | `node`, `kind` (`moved`, `ask`) |
//! | `slotwise_reconnects_total` | counter | `node` |
//! | `slotwise_in_flight` | gauge | `node` |
//! | `slotwise_request_duration_seconds` | histogram | `node` |
//!
//! The handles are registered once, when the client first meets the node, so recording is a
//! call through a handle with no lookup by name; a recorder installed after that sees nothing of
//! the node. This module does not decide what is counted; the parent module does.

use metrics::{Counter, Gauge, Histogram};

use super::Family;

/// The facade's handles for one node.
pub(super) struct NodeMetrics {
    requests: Counter,
    errors: [Counter; Family::ALL.len()],
    moved: Counter,
    ask: Counter,
    reconnects: Counter,
    in_flight: Gauge,
    duration: Histogram,
}

impl NodeMetrics {
    pub(super) fn new(node: &str) -> NodeMetrics {
        describe();
        let node = node.to_owned();
        let with_kind = |name: &'static str, kind: &'static str| metrics::counter!(name, "node" => node.clone(), "kind" => kind);
        NodeMetrics {
            requests: metrics::counter!("slotwise_requests_total", "node" => node.clone()),
            errors: Family::ALL.map(|f| with_kind("slotwise_errors_total", f.label())),
            moved: with_kind("slotwise_redirects_total", "moved"),
            ask: with_kind("slotwise_redirects_total", "ask"),
            reconnects: metrics::counter!("slotwise_reconnects_total", "node" => node.clone()),
            in_flight: metrics::gauge!("slotwise_in_flight", "node" => node.clone()),
            duration: metrics::histogram!("slotwise_request_duration_seconds", "node" => node),
        }
    }

    pub(super) fn sent(&self, n: u64) {
        self.requests.increment(n);
        self.in_flight.increment(n as f64);
    }

    pub(super) fn answered(&self, n: u64) {
        self.in_flight.decrement(n as f64);
    }

    pub(super) fn timed(&self, nanos: u64) {
        self.duration.record(nanos as f64 / 1e9);
    }

    pub(super) fn failed(&self, family: Family) {
        self.errors[family as usize].increment(1);
    }

    pub(super) fn redirect(&self, moved: bool) {
        if moved { &self.moved } else { &self.ask }.increment(1);
    }

    pub(super) fn reconnected(&self) {
        self.reconnects.increment(1);
    }
}

impl std::fmt::Debug for NodeMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NodeMetrics")
    }
}

/// Describes the metrics to the recorder, once per process.
fn describe() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
        describe_counter!("slotwise_requests_total", "Commands sent to the node");
        describe_counter!(
            "slotwise_errors_total",
            "Failed requests to the node, by kind of failure"
        );
        describe_counter!(
            "slotwise_redirects_total",
            "MOVED and ASK replies received from the node"
        );
        describe_counter!(
            "slotwise_reconnects_total",
            "Connections to the node opened again after being lost"
        );
        describe_gauge!(
            "slotwise_in_flight",
            "Commands sent to the node and not yet answered"
        );
        describe_histogram!(
            "slotwise_request_duration_seconds",
            Unit::Seconds,
            "Time from queueing a request to reading its reply"
        );
    });
}

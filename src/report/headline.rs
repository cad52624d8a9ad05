//! The headline metrics every multi-run command reports: read from a run's
//! [`Summary`], one number each, with the direction that is better. `lbsim
//! compare`, `run --replications`, `sweep` and `capacity` all use this one
//! list, so a metric means the same thing (and has the same key) in each.

use serde::{Deserialize, Serialize};

use crate::report::Summary;

/// Which direction of a metric is an improvement.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    Lower,
    Higher,
}

/// One headline metric, read from a run's summary (`None`: undefined in
/// that run, e.g. no alert fired so there is no time to detect).
pub struct Metric {
    /// Stable key, used in JSON and CSV (`latency_p99_ms`).
    pub key: &'static str,
    pub label: &'static str,
    /// `%`, `ms`, `req/s`, `min`, or empty for a count.
    pub unit: &'static str,
    pub better: Better,
    pub get: fn(&Summary) -> Option<f64>,
}

impl Metric {
    /// The metric with this key.
    pub fn by_key(key: &str) -> Option<&'static Metric> {
        METRICS.iter().find(|m| m.key == key)
    }
}

pub const METRICS: &[Metric] = &[
    Metric {
        key: "error_rate_pct",
        label: "error rate",
        unit: "%",
        better: Better::Lower,
        get: |s| Some(100.0 * s.error_rate),
    },
    Metric {
        key: "requests_failed",
        label: "requests failed",
        unit: "",
        better: Better::Lower,
        get: |s| Some(s.requests.failed.total as f64),
    },
    Metric {
        key: "users_affected_pct",
        label: "users affected (failed at least once)",
        unit: "%",
        better: Better::Lower,
        get: |s| Some(s.users.affected_pct),
    },
    Metric {
        key: "users_unable_pct",
        label: "users unable to use the service",
        unit: "%",
        better: Better::Lower,
        get: |s| Some(s.users.unable_pct),
    },
    Metric {
        key: "users_slowed_pct",
        label: "users slowed (never failed)",
        unit: "%",
        better: Better::Lower,
        get: |s| Some(s.users.slowed_pct),
    },
    Metric {
        key: "incident_error_rate_pct",
        label: "error rate in the incident window",
        unit: "%",
        better: Better::Lower,
        get: |s| s.incident.as_ref().map(|w| 100.0 * w.error_rate),
    },
    Metric {
        key: "incident_users_affected_pct",
        label: "users affected in the incident window",
        unit: "%",
        better: Better::Lower,
        get: |s| s.incident.as_ref().map(|w| w.users.affected_pct),
    },
    Metric {
        key: "incident_users_unable_pct",
        label: "users unable in the incident window",
        unit: "%",
        better: Better::Lower,
        get: |s| s.incident.as_ref().map(|w| w.users.unable_pct),
    },
    Metric {
        key: "latency_mean_ms",
        label: "latency mean",
        unit: "ms",
        better: Better::Lower,
        get: |s| served(s).then_some(s.latency_ms.mean),
    },
    Metric {
        key: "latency_p50_ms",
        label: "latency p50",
        unit: "ms",
        better: Better::Lower,
        get: |s| served(s).then_some(s.latency_ms.p50),
    },
    Metric {
        key: "latency_p99_ms",
        label: "latency p99",
        unit: "ms",
        better: Better::Lower,
        get: |s| served(s).then_some(s.latency_ms.p99),
    },
    Metric {
        key: "throughput_rps",
        label: "throughput",
        unit: "req/s",
        better: Better::Higher,
        get: |s| Some(s.throughput_rps),
    },
    Metric {
        key: "peak_error_rate_pct",
        label: "peak interval error rate",
        unit: "%",
        better: Better::Lower,
        get: |s| Some(100.0 * s.impact.peak_error_rate),
    },
    Metric {
        key: "impact_min",
        label: "impact duration (SLO breached)",
        unit: "min",
        better: Better::Lower,
        get: |s| Some(s.impact.window.as_ref().map_or(0.0, |w| w.duration_s / 60.0)),
    },
    Metric {
        key: "time_to_detect_min",
        label: "time to detect",
        unit: "min",
        better: Better::Lower,
        get: |s| s.impact.time_to_detect_s.map(|t| t / 60.0),
    },
    Metric {
        key: "time_to_recover_min",
        label: "time to recover after the fix",
        unit: "min",
        better: Better::Lower,
        get: |s| s.impact.time_to_recover_s.map(|t| t / 60.0),
    },
    Metric {
        key: "server_crashes",
        label: "server crashes",
        unit: "",
        better: Better::Lower,
        get: |s| Some(s.servers.iter().map(|v| v.crashes as f64).sum()),
    },
];

/// Latency is only defined when something succeeded: a run where every
/// request failed has no latency, not a latency of zero.
fn served(s: &Summary) -> bool {
    s.requests.completed > 0
}

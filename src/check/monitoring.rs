//! Monitoring rules: an alert on a metric this scenario never produces
//! (`MON001`), an alert threshold its metric can never cross (`MON002`),
//! and an SLO no alert watches (`MON003`).

use super::locate::Locator;
use super::{Issue, rules};
use crate::metrics::snapshot::{BalancerMetric, GlobalMetric, MetricKind, ServerMetric};
use crate::model::alerts::{AlertRule, Condition, MetricUnit, metric_unit};
use crate::model::network::Foreign;
use crate::model::slos::SloMetric;
use crate::model::{Change, ServerAction, World};

pub(crate) fn check(world: &World, loc: &Locator<'_>) -> Vec<Issue> {
    let mut out = Vec::new();
    for (i, a) in world.alerts.iter().enumerate() {
        let key = format!("alert {}", a.name);
        if let Some(why) = never_produced(world, a) {
            out.push(
                Issue::new(
                    rules::ALERT_NEVER_FIRES,
                    key.clone(),
                    format!("alert `{}` watches `{}`, which {why}, so it can never fire", a.name, a.metric_name()),
                )
                .at(loc.alert(i)),
            );
        } else if let Some(why) = out_of_range(a) {
            out.push(
                Issue::new(
                    rules::THRESHOLD_OUT_OF_RANGE,
                    key,
                    format!(
                        "alert `{}` fires when `{}` {} {}, which {why}",
                        a.name,
                        a.metric_name(),
                        a.condition.symbol(),
                        a.threshold_text
                    ),
                )
                .at(loc.alert(i)),
            );
        }
    }
    for (i, slo) in world.slos.iter().enumerate() {
        if !world.alerts.iter().any(|a| watches(a.metric, slo.objective.metric)) {
            out.push(
                Issue::new(
                    rules::SLO_UNWATCHED,
                    format!("slo {}", slo.name),
                    format!(
                        "no alert watches SLO `{}`: it can be breached without anyone being paged",
                        slo.objective.text
                    ),
                )
                .help(format!("add an alert on {}", suggested_metric(slo.objective.metric)))
                .at(loc.slo(i)),
            );
        }
    }
    out
}

/// Why an alert's metric is always zero (for `above`) or always one (for a
/// `below` on `up`) in this scenario.
fn never_produced(world: &World, a: &AlertRule) -> Option<String> {
    let above = a.condition == Condition::Above;
    let net = world.network.as_ref();
    let servers_of =
        |ids: Option<&Vec<usize>>| -> Vec<usize> { ids.cloned().unwrap_or_else(|| (0..world.servers.len()).collect()) };
    match a.metric {
        MetricKind::Global(g) if above => match g {
            GlobalMetric::Unreachable
            | GlobalMetric::Dropped
            | GlobalMetric::Loop
            | GlobalMetric::Misrouted
            | GlobalMetric::ResponseLost
                if net.is_none() =>
            {
                Some("is counted only on a `network:`, and the scenario has none".into())
            }
            GlobalMetric::Misrouted if net.is_some_and(|n| !n.nodes.iter().any(|x| x.foreign == Foreign::Error)) => {
                Some("counts answers from a wrong host with `foreign: error`, and no host has it".into())
            }
            GlobalMetric::Retries if world.clients.iter().all(|c| c.retry.as_ref().is_none_or(|r| r.attempts <= 1)) => {
                Some("counts retries, and no client group retries".into())
            }
            GlobalMetric::TimedOut if world.clients.iter().all(|c| c.timeout.is_none()) => {
                Some("counts timeouts, and no client group has a `timeout`".into())
            }
            GlobalMetric::Rejected if world.servers.iter().all(|s| s.queue_limit == u64::MAX) => {
                Some("counts requests rejected by a full queue, and no server has a `queue_limit`".into())
            }
            _ => None,
        },
        MetricKind::Server(ServerMetric::Rejected) if above => {
            let ids = servers_of(a.entities.as_ref());
            ids.iter().all(|&s| world.servers[s].queue_limit == u64::MAX).then(|| {
                "counts requests rejected by a full queue, and the servers it watches have no `queue_limit`".into()
            })
        }
        MetricKind::Server(ServerMetric::Up) if !above => {
            let ids = servers_of(a.entities.as_ref());
            let can_go_down = |s: usize| {
                let def = &world.servers[s];
                def.crash.is_some()
                    || def.initially_down
                    || world.timeline.iter().any(|t| {
                        matches!(&t.change, Change::Server { servers, action: Some(ServerAction::Crash | ServerAction::Restart), .. }
                            if servers.iter().any(|x| x.index() == s))
                    })
            };
            (!ids.iter().any(|&s| can_go_down(s))).then(|| {
                "is always 1: the servers it watches have no crash rule, start up, and the timeline never crashes or restarts them"
                    .into()
            })
        }
        MetricKind::Balancer(BalancerMetric::Up) if !above => {
            let downs = world.timeline.iter().any(|t| matches!(t.change, Change::Balancer { down: true, .. }));
            (!downs).then(|| "is always 1: the timeline never takes a balancer down".into())
        }
        _ => None,
    }
}

/// Why the threshold can never be crossed (or is always crossed).
fn out_of_range(a: &AlertRule) -> Option<&'static str> {
    let t = a.threshold;
    match (a.condition, metric_unit(a.metric)) {
        (Condition::Above, MetricUnit::Fraction) if t >= 1.0 => Some("a share never exceeds (it is at most 100%)"),
        (Condition::Below, _) if t <= 0.0 => Some("the metric never goes below (it is never negative)"),
        (Condition::Above, _) if t < 0.0 => {
            Some("holds all the time (the metric is never negative), so the alert always fires")
        }
        _ => None,
    }
}

/// Whether an alert on `m` watches an SLO on `slo`.
fn watches(m: MetricKind, slo: SloMetric) -> bool {
    use SloMetric::*;
    let latency = matches!(
        m,
        MetricKind::Global(
            GlobalMetric::LatencyP50 | GlobalMetric::LatencyP90 | GlobalMetric::LatencyP99 | GlobalMetric::LatencyMax
        ) | MetricKind::Server(ServerMetric::LatencyMs)
    );
    let errors = match m {
        MetricKind::Global(g) => {
            matches!(g, GlobalMetric::ErrorRate | GlobalMetric::Failed | GlobalMetric::UsersFailed)
        }
        MetricKind::Server(s) => matches!(s, ServerMetric::ErrorRate | ServerMetric::Errors),
        MetricKind::Client(_) | MetricKind::Subnet(_) => true,
        MetricKind::Balancer(b) => matches!(b, BalancerMetric::NoBackend | BalancerMetric::HealthyBackends),
    };
    let throughput =
        matches!(m, MetricKind::Global(GlobalMetric::ThroughputRps | GlobalMetric::Completed | GlobalMetric::Requests));
    match slo {
        P50 | P90 | P99 | P999 | Mean | Max | UsersSlowed => latency,
        ErrorRate | Availability | UsersAffected | UsersUnable => errors,
        Throughput => throughput,
    }
}

fn suggested_metric(slo: SloMetric) -> &'static str {
    use SloMetric::*;
    match slo {
        P50 | P90 | P99 | P999 | Mean | Max | UsersSlowed => {
            "`latency_p99_ms`, e.g. `{name: slow, metric: latency_p99_ms, above: 500ms, for: 2m}`"
        }
        ErrorRate | Availability | UsersAffected | UsersUnable => {
            "`error_rate`, e.g. `{name: errors, metric: error_rate, above: 1%, for: 1m}`"
        }
        Throughput => "`throughput_rps`, e.g. `{name: traffic-drop, metric: throughput_rps, below: 100/s, for: 2m}`",
    }
}

//! Stage: model. Compiled alert rules: [`compile_alerts`] checks the
//! scenario's `alerts:` ([`crate::scenario::monitoring::AlertSpec`]) against
//! the declared entity names ([`EntityNames`]) and turns each into an
//! [`AlertRule`]: a metric, a list of entities and a threshold in the metric's
//! own unit (milliseconds for `*_ms` metrics, a fraction for rates and shares,
//! per second for `throughput_rps`). Also the metric name and unit tables the
//! rules are checked with. `sim::alerts` evaluates the rules.

use super::did_you_mean;
use crate::error::Error;
use crate::limits::Limits;
use crate::metrics::snapshot::{BalancerMetric, ClientMetric, GlobalMetric, MetricKind, ServerMetric, SubnetMetric};
use crate::scenario::ScenarioSource;
use crate::scenario::monitoring::{AlertSpec, Scope, Threshold, ThresholdUnit};
use crate::scenario::names::{self, NameIndex, ResolveError};

// ---------------------------------------------------------------------------
// Entities, scopes and metric units.

/// A kind of entity with per-entity metrics.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum EntityKind {
    Server,
    Balancer,
    Client,
    Subnet,
}

impl EntityKind {
    pub const ALL: [EntityKind; 4] = [EntityKind::Server, EntityKind::Balancer, EntityKind::Client, EntityKind::Subnet];

    pub fn name(self) -> &'static str {
        match self {
            EntityKind::Server => "server",
            EntityKind::Balancer => "balancer",
            EntityKind::Client => "client",
            EntityKind::Subnet => "subnet",
        }
    }
}

/// The declared names of the entities with per-entity metrics, each kind in
/// id order: what alert `entity:` filters resolve against, and what the
/// series rows and alert messages name.
#[derive(Clone, Debug, Default)]
pub struct EntityNames {
    pub servers: Vec<String>,
    pub balancers: Vec<String>,
    pub clients: Vec<String>,
    /// Client subnets (`group.name`), by global subnet index; empty without a network.
    pub subnets: Vec<String>,
}

impl EntityNames {
    /// The declared names of this kind, in id order.
    pub fn of(&self, kind: EntityKind) -> &[String] {
        match kind {
            EntityKind::Server => &self.servers,
            EntityKind::Balancer => &self.balancers,
            EntityKind::Client => &self.clients,
            EntityKind::Subnet => &self.subnets,
        }
    }
}

/// The declared names of each kind, indexed: what alert `entity:` filters
/// resolve against when the scenario is compiled.
#[derive(Clone, Debug, Default)]
pub struct EntityIndex<'a> {
    pub servers: NameIndex<'a>,
    pub balancers: NameIndex<'a>,
    pub clients: NameIndex<'a>,
    pub subnets: NameIndex<'a>,
}

impl<'a> EntityIndex<'a> {
    /// The index of `names`.
    pub fn of(names: &'a EntityNames) -> EntityIndex<'a> {
        let index = |v: &'a [String]| NameIndex::new(v.iter().map(String::as_str));
        EntityIndex {
            servers: index(&names.servers),
            balancers: index(&names.balancers),
            clients: index(&names.clients),
            subnets: index(&names.subnets),
        }
    }

    fn of_kind(&self, kind: EntityKind) -> &NameIndex<'a> {
        match kind {
            EntityKind::Server => &self.servers,
            EntityKind::Balancer => &self.balancers,
            EntityKind::Client => &self.clients,
            EntityKind::Subnet => &self.subnets,
        }
    }
}

/// The entity kind a scope is evaluated for, `None` for the global scope.
fn scope_entity_kind(scope: Scope) -> Option<EntityKind> {
    match scope {
        Scope::Global => None,
        Scope::Server => Some(EntityKind::Server),
        Scope::Balancer => Some(EntityKind::Balancer),
        Scope::Client => Some(EntityKind::Client),
        Scope::Subnet => Some(EntityKind::Subnet),
    }
}

/// The scope's metric named `text`.
fn scope_metric(scope: Scope, text: &str) -> Option<MetricKind> {
    match scope {
        Scope::Global => GlobalMetric::parse(text).map(MetricKind::Global),
        Scope::Server => ServerMetric::parse(text).map(MetricKind::Server),
        Scope::Balancer => BalancerMetric::parse(text).map(MetricKind::Balancer),
        Scope::Client => ClientMetric::parse(text).map(MetricKind::Client),
        Scope::Subnet => SubnetMetric::parse(text).map(MetricKind::Subnet),
    }
}

/// The names of the scope's metrics.
fn scope_metric_names(scope: Scope) -> Vec<&'static str> {
    match scope {
        Scope::Global => GlobalMetric::names(),
        Scope::Server => ServerMetric::names(),
        Scope::Balancer => BalancerMetric::names(),
        Scope::Client => ClientMetric::names(),
        Scope::Subnet => SubnetMetric::names(),
    }
}

/// The kind of entity a metric is kept for, `None` for global metrics.
pub fn metric_entity_kind(m: MetricKind) -> Option<EntityKind> {
    match m {
        MetricKind::Global(_) => None,
        MetricKind::Server(_) => Some(EntityKind::Server),
        MetricKind::Balancer(_) => Some(EntityKind::Balancer),
        MetricKind::Client(_) => Some(EntityKind::Client),
        MetricKind::Subnet(_) => Some(EntityKind::Subnet),
    }
}

/// A metric's name as written in scenarios and `timeseries.csv`.
pub fn metric_name(m: MetricKind) -> &'static str {
    match m {
        MetricKind::Global(g) => g.name(),
        MetricKind::Server(s) => s.name(),
        MetricKind::Balancer(b) => b.name(),
        MetricKind::Client(c) => c.name(),
        MetricKind::Subnet(n) => n.name(),
    }
}

/// What a metric's values measure, which decides the thresholds it accepts.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum MetricUnit {
    /// Milliseconds (`*_ms`): a duration or a plain number of milliseconds.
    Millis,
    /// A fraction between 0 and 1: a percentage or a plain fraction.
    Fraction,
    /// Events per second: a rate or a plain number.
    PerSecond,
    /// A count or a level: a plain number.
    Count,
}

pub fn metric_unit(m: MetricKind) -> MetricUnit {
    use MetricUnit::*;
    match m {
        MetricKind::Global(g) => match g {
            GlobalMetric::LatencyP50
            | GlobalMetric::LatencyP90
            | GlobalMetric::LatencyP99
            | GlobalMetric::LatencyMax => Millis,
            GlobalMetric::ErrorRate => Fraction,
            GlobalMetric::ThroughputRps => PerSecond,
            _ => Count,
        },
        MetricKind::Server(ServerMetric::ErrorRate | ServerMetric::Share | ServerMetric::Utilisation) => Fraction,
        MetricKind::Balancer(BalancerMetric::MaxShare) => Fraction,
        MetricKind::Client(ClientMetric::ErrorRate) => Fraction,
        MetricKind::Subnet(SubnetMetric::ErrorRate) => Fraction,
        MetricKind::Server(ServerMetric::LatencyMs) => Millis,
        _ => Count,
    }
}

/// `a` and `b` equal within a relative 1e-9 (so `99.9%` equals `1 - 0.001`).
pub(super) fn nearly_equal(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

// ---------------------------------------------------------------------------
// Alert rules.

/// Which side of the threshold is bad.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Condition {
    Above,
    Below,
}

impl Condition {
    pub fn symbol(self) -> &'static str {
        match self {
            Condition::Above => ">",
            Condition::Below => "<",
        }
    }

    /// Whether `value` is strictly beyond `threshold` (NaN never is).
    #[inline]
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        let beyond = match self {
            Condition::Above => value > threshold,
            Condition::Below => value < threshold,
        };
        beyond && !nearly_equal(value, threshold)
    }
}

/// A compiled alert rule.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertRule {
    pub name: String,
    pub metric: MetricKind,
    /// The entities it covers, in id order; `None`: every entity of the
    /// metric's kind (and the single global value for global metrics).
    pub entities: Option<Vec<usize>>,
    pub condition: Condition,
    /// In the metric's unit (see [`MetricUnit`]).
    pub threshold: f64,
    /// The threshold as written.
    pub threshold_text: String,
    /// `for:` as written, nanoseconds.
    pub for_ns: u64,
    /// Consecutive true intervals before the alert fires: `max(1, ceil(for / interval))`.
    pub intervals_needed: u32,
}

impl AlertRule {
    /// The kind of entity the rule is evaluated for, `None` for a global rule.
    pub fn entity_kind(&self) -> Option<EntityKind> {
        metric_entity_kind(self.metric)
    }

    pub fn metric_name(&self) -> &'static str {
        metric_name(self.metric)
    }

    /// Whether the alert condition holds for `value`.
    #[inline]
    pub fn holds(&self, value: f64) -> bool {
        self.condition.holds(value, self.threshold)
    }
}

/// Checks the scenario's `alerts:` and compiles them against the declared
/// entity names. `interval_ns` is the series interval, the granularity of `for`.
pub fn compile_alerts(
    specs: &[AlertSpec],
    names: &EntityIndex<'_>,
    interval_ns: u64,
    src: &ScenarioSource,
    limits: &Limits,
) -> Result<Vec<AlertRule>, Error> {
    let err = |loc: &serde_saphyr::Location, msg: String, help: Option<String>| src.error_at_location(loc, msg, help);
    let mut rules: Vec<AlertRule> = Vec::with_capacity(specs.len());
    for (i, spec) in specs.iter().enumerate() {
        let name = spec.name.value.trim();
        if name.is_empty() {
            return Err(err(&spec.name.referenced, "an alert needs a non-empty `name`".into(), None));
        }
        if specs[..i].iter().any(|s| s.name.value.trim() == name) {
            let help = Some("give each alert its own name".to_string());
            return Err(err(&spec.name.referenced, format!("alert `{name}` is defined twice"), help));
        }

        let scope = spec.scope.as_ref().map(|s| s.value).unwrap_or_default();
        let metric = compile_metric(spec, scope).map_err(|(msg, help)| err(&spec.metric.referenced, msg, help))?;
        let entities = compile_entities(spec, scope, names, limits).map_err(|(loc, msg, help)| err(&loc, msg, help))?;

        let (condition, threshold) = match (&spec.above, &spec.below) {
            (Some(t), None) => (Condition::Above, t),
            (None, Some(t)) => (Condition::Below, t),
            (Some(_), Some(b)) => {
                return Err(err(
                    &b.referenced,
                    format!("alert `{name}` has both `above` and `below`: give exactly one"),
                    Some("write two alerts to watch both sides".into()),
                ));
            }
            (None, None) => {
                return Err(err(
                    &spec.name.referenced,
                    format!("alert `{name}` has no threshold: add `above:` or `below:`"),
                    Some(format!("for example `above: {}`", example_threshold(metric_unit(metric)))),
                ));
            }
        };
        let value =
            check_threshold(metric, &threshold.value).map_err(|(msg, help)| err(&threshold.referenced, msg, help))?;

        let for_ns = spec.hold.as_ref().map_or(0, |d| d.value.nanos());
        let interval = interval_ns.max(1);
        let needed = for_ns.div_ceil(interval).max(1);
        rules.push(AlertRule {
            name: name.to_string(),
            metric,
            entities,
            condition,
            threshold: value,
            threshold_text: threshold.value.text.trim().to_string(),
            for_ns,
            intervals_needed: u32::try_from(needed).unwrap_or(u32::MAX),
        });
    }
    Ok(rules)
}

fn compile_metric(spec: &AlertSpec, scope: Scope) -> Result<MetricKind, (String, Option<String>)> {
    let text = spec.metric.value.trim();
    if let Some(m) = scope_metric(scope, text) {
        return Ok(m);
    }
    let valid = scope_metric_names(scope);
    let message = format!("`{text}` is not a {} metric", scope.name());
    if let Some(other) = Scope::ALL.into_iter().find(|s| scope_metric(*s, text).is_some()) {
        let help = format!("`{text}` is a {} metric: set `scope: {}`", other.name(), other.name());
        return Err((message, Some(help)));
    }
    let listing = format!("{} metrics: {}", scope.name(), valid.join(", "));
    let help = match names::closest(text, valid.iter().copied()) {
        Some(n) => format!("did you mean `{n}`? {listing}"),
        None => listing,
    };
    Err((message, Some(help)))
}

type LocatedMessage = (serde_saphyr::Location, String, Option<String>);

fn compile_entities(
    spec: &AlertSpec,
    scope: Scope,
    names: &EntityIndex<'_>,
    limits: &Limits,
) -> Result<Option<Vec<usize>>, LocatedMessage> {
    let Some(entity) = &spec.entity else {
        return Ok(None);
    };
    let loc = entity.referenced;
    let reference = entity.value.trim();
    let Some(kind) = scope_entity_kind(scope) else {
        let owner = EntityKind::ALL.into_iter().find(|k| names.of_kind(*k).resolve(reference, limits).is_ok());
        let help = match owner {
            Some(k) => format!("`{reference}` is a {}: add `scope: {}`", k.name(), k.name()),
            None => "add `scope: server`, `scope: balancer` or `scope: client`".to_string(),
        };
        return Err((loc, "`entity` needs a `scope` of server, balancer or client".to_string(), Some(help)));
    };
    let declared = names.of_kind(kind);
    let candidates = declared.names();
    match declared.resolve(reference, limits) {
        Ok(mut ids) => {
            ids.sort_unstable();
            ids.dedup();
            Ok(Some(ids))
        }
        Err(ResolveError::Unknown(n)) => {
            Err((loc, format!("no {} is named `{n}`", kind.name()), did_you_mean(&n, candidates.iter().copied())))
        }
        Err(ResolveError::NoMatch(p)) => {
            let help = (candidates.len() <= 12).then(|| format!("defined: {}", candidates.join(", ")));
            Err((loc, format!("`{p}` matches no {}", kind.name()), help))
        }
        Err(ResolveError::Pattern(msg, help)) => Err((loc, msg, help)),
    }
}

fn example_threshold(unit: MetricUnit) -> &'static str {
    match unit {
        MetricUnit::Millis => "500ms",
        MetricUnit::Fraction => "5%",
        MetricUnit::PerSecond => "100/s",
        MetricUnit::Count => "10",
    }
}

/// The threshold in the metric's unit, or why it does not fit the metric.
fn check_threshold(metric: MetricKind, t: &Threshold) -> Result<f64, (String, Option<String>)> {
    let name = metric_name(metric);
    let text = t.text.trim();
    let unit = metric_unit(metric);
    let what = match unit {
        MetricUnit::Millis => "in milliseconds",
        MetricUnit::Fraction => "a fraction between 0 and 1",
        MetricUnit::PerSecond => "per second",
        MetricUnit::Count => "a count",
    };
    let mismatch = |kind: &str| {
        let help = format!("write e.g. `{}`", example_threshold(unit));
        Err((format!("`{text}` is {kind}, but `{name}` is {what}"), Some(help)))
    };
    match (unit, t.unit) {
        (MetricUnit::Millis, ThresholdUnit::Number | ThresholdUnit::Duration) => Ok(t.value),
        (MetricUnit::Fraction, ThresholdUnit::Percent) => Ok(t.value),
        (MetricUnit::Fraction, ThresholdUnit::Number) if t.value > 1.0 => Err((
            format!("`{text}` is more than 1, but `{name}` is {what}"),
            Some(format!("write {text}% for a percentage")),
        )),
        (MetricUnit::Fraction, ThresholdUnit::Number) => Ok(t.value),
        (MetricUnit::PerSecond | MetricUnit::Count, ThresholdUnit::Number) => Ok(t.value),
        (MetricUnit::PerSecond, ThresholdUnit::Rate) => Ok(t.value),
        (_, ThresholdUnit::Duration) => Err((
            format!("`{text}` is a duration, but `{name}` is not a latency metric"),
            Some(format!(
                "duration thresholds apply to *_ms metrics only; `{name}` is {what}: write e.g. `{}`",
                example_threshold(unit)
            )),
        )),
        (_, ThresholdUnit::Percent) => mismatch("a percentage"),
        (_, ThresholdUnit::Rate) if matches!(metric, MetricKind::Global(GlobalMetric::Requests)) => Err((
            format!("`{text}` is a rate, but `{name}` counts requests per interval"),
            Some("use `metric: throughput_rps` for a rate, or give a plain count".into()),
        )),
        (_, ThresholdUnit::Rate) => mismatch("a rate"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::test_monitoring::{ERR5, alert_err, alerts};

    #[test]
    fn thresholds_convert_to_the_metric_unit() {
        let text = "alerts:\n  - {name: a, metric: latency_p99_ms, above: 1.5s}\n  - {name: b, metric: latency_p50_ms, above: 200}\n  - {name: c, metric: throughput_rps, below: 2k/min}\n  - {name: d, metric: utilisation, scope: server, above: 0.9}\n  - {name: e, metric: requests, above: 1000}\n  - {name: f, metric: up, scope: server, below: 1}\n";
        let rules = alerts(text).unwrap();
        let got: Vec<f64> = rules.iter().map(|r| r.threshold).collect();
        assert_eq!(got, [1500.0, 200.0, 2000.0 / 60.0, 0.9, 1000.0, 1.0]);
        assert_eq!(rules[0].threshold_text, "1.5s");
        assert_eq!(rules[2].condition, Condition::Below);
        assert_eq!(rules[3].metric, MetricKind::Server(ServerMetric::Utilisation));
        assert_eq!(rules[3].entities, None);
    }

    #[test]
    fn bad_alerts_are_located_and_explained() {
        let (msg, help) = alert_err("alerts:\n  - name: a\n    metric: error_rat\n    above: 5%\n");
        assert!(msg.starts_with("t.yaml:3:13: `error_rat` is not a global metric"), "{msg}");
        assert!(help.contains("did you mean `error_rate`?") && help.contains("latency_p99_ms"), "{help}");

        let (msg, help) = alert_err("alerts:\n  - {name: a, metric: queue, above: 5}\n");
        assert!(msg.starts_with("t.yaml:2:23: `queue` is not a global metric"), "{msg}");
        assert!(help.contains("set `scope: server`"), "{help}");

        let (msg, help) = alert_err("alerts:\n  - {name: a, metric: utilisation, scope: balancer, above: 5%}\n");
        assert!(msg.contains("not a balancer metric"), "{msg}");
        assert!(help.contains("server metric"), "{help}");

        let (msg, help) = alert_err("alerts:\n  - {name: a, metric: queue, scope: server, entity: web-1, above: 5}\n");
        assert!(msg.starts_with("t.yaml:2:53: no server is named `web-1`"), "{msg}");
        assert!(help.contains("did you mean `web-01`?"), "{help}");

        let (msg, help) =
            alert_err("alerts:\n  - {name: a, metric: queue, scope: server, entity: \"cache-*\", above: 5}\n");
        assert!(msg.contains("`cache-*` matches no server"), "{msg}");
        assert!(help.contains("web-01, web-02, db-01"), "{help}");

        let (msg, _) =
            alert_err("alerts:\n  - {name: a, metric: queue, scope: server, entity: \"web-{5..1}\", above: 5}\n");
        assert!(msg.contains("counts down"), "{msg}");

        let (msg, help) = alert_err("alerts:\n  - {name: a, metric: error_rate, entity: web-01, above: 5%}\n");
        assert!(msg.starts_with("t.yaml:2:43: `entity` needs a `scope`"), "{msg}");
        assert!(help.contains("`web-01` is a server: add `scope: server`"), "{help}");

        let (msg, _) = alert_err("alerts:\n  - name: a\n    metric: error_rate\n    above: 5%\n    below: 1%\n");
        assert!(msg.starts_with("t.yaml:5:12: alert `a` has both `above` and `below`"), "{msg}");

        let (msg, help) = alert_err("alerts:\n  - name: a\n    metric: latency_p99_ms\n");
        assert!(msg.starts_with("t.yaml:2:11: alert `a` has no threshold"), "{msg}");
        assert!(help.contains("above: 500ms"), "{help}");

        let (msg, help) = alert_err("alerts:\n  - name: a\n    metric: error_rate\n    above: 2s\n");
        assert!(msg.starts_with("t.yaml:4:12: `2s` is a duration, but `error_rate` is not a latency metric"), "{msg}");
        assert!(help.contains("*_ms"), "{help}");

        let (msg, help) = alert_err("alerts:\n  - {name: a, metric: latency_p99_ms, above: 5%}\n");
        assert!(msg.contains("`5%` is a percentage, but `latency_p99_ms` is in milliseconds"), "{msg}");
        assert!(help.contains("500ms"), "{help}");

        let (msg, help) = alert_err("alerts:\n  - {name: a, metric: error_rate, above: 5}\n");
        assert!(msg.contains("more than 1"), "{msg}");
        assert!(help.contains("5%"), "{help}");

        let (msg, _) = alert_err("alerts:\n  - {name: a, metric: requests, above: 5%}\n");
        assert!(msg.contains("`requests` is a count"), "{msg}");
        let (msg, help) = alert_err("alerts:\n  - {name: a, metric: requests, above: 100/s}\n");
        assert!(msg.contains("is a rate") && help.contains("throughput_rps"), "{msg} {help}");
        let (msg, _) = alert_err("alerts:\n  - {name: a, metric: latency_max_ms, above: 100/s}\n");
        assert!(msg.contains("`100/s` is a rate, but `latency_max_ms` is in milliseconds"), "{msg}");

        let (msg, help) = alert_err(&format!("{ERR5}  - name: error-spike\n    metric: failed\n    above: 3\n"));
        assert!(msg.starts_with("t.yaml:5:11: alert `error-spike` is defined twice"), "{msg}");
        assert!(help.contains("its own name"), "{help}");
    }
}

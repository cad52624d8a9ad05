//! Alert rules and SLO objectives, evaluated on the interval snapshots.
//!
//! # Alert rules (`alerts:`)
//!
//! ```yaml
//! alerts:
//!   - name: error-spike
//!     metric: error_rate   # a metric of the scope's kind (see metrics::snapshot)
//!     scope: server        # global (default) | server | balancer | client
//!     entity: web-*        # optional: names, {..} patterns or * globs of that kind
//!     above: 5%            # or below:; a number, a percentage, a duration or a rate
//!     for: 2m              # default 0
//! ```
//!
//! A rule is compiled once ([`compile_alerts`]) into a metric index, a list of
//! entities and a threshold in the metric's own unit (milliseconds for `*_ms`
//! metrics, a fraction for rates and shares, per second for `throughput_rps`).
//! A rule with a non-global scope is evaluated separately for each entity it
//! covers; each (rule, entity) pair goes through the same states as a
//! Prometheus alert with `for:`, evaluated at each interval close on that
//! interval's value:
//!
//! - the condition is `value > threshold` (`above`) or `value < threshold`
//!   (`below`), strict (a value equal to the threshold, within a relative
//!   1e-9, is not beyond it); a NaN value (an error rate with no traffic)
//!   counts as false;
//! - the alert becomes *pending* at the start of the first interval in which
//!   the condition is true;
//! - it *fires* at the end of the interval at which the condition has been
//!   true for `max(for, one interval)` without a break, counting whole
//!   intervals: `for: 0` fires at the end of the first true interval, `for: 2m`
//!   with 1s intervals at the end of the 120th consecutive true one, and a
//!   `for` that is not a multiple of the interval is rounded up;
//! - one false interval resets a pending alert; a firing alert *resolves* at
//!   the end of the first false interval;
//! - alerts still firing when the run ends stay firing; [`AlertEngine::finish`]
//!   lists them ([`AlertEngine::firing_at_end`]).
//!
//! # SLO objectives (`slos:`)
//!
//! ```yaml
//! slos:
//!   - name: latency              # optional; defaults to the objective text
//!     objective: "p99 < 500ms"   # <metric> <op> <value>, op one of < <= > >=
//!     window: run                # run (default) | incident | {from: "14:00", until: "16:30"}
//! ```
//!
//! Objectives are judged on the statistics of a whole window
//! ([`Objective::evaluate`] on a [`WindowStats`]) and, where one interval is
//! enough to judge them (interval percentiles, maximum, error rate,
//! availability, throughput), on each interval ([`Objective::evaluate_interval`]),
//! which [`ImpactTracker`] uses to find the first and last interval outside
//! an objective. An unknown (NaN) window statistic does not meet any objective;
//! an unknown interval value judges nothing.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_saphyr::Spanned;

use crate::clock::{TimeSpec, WallClock};
use crate::error::Error;
use crate::metrics::Names;
use crate::metrics::snapshot::{
    BalancerMetric, ClientMetric, GlobalMetric, MetricKind, ServerMetric, Snapshot, SubnetMetric,
};
use crate::scenario::ScenarioSource;
use crate::scenario::names::{self, ResolveError};
use crate::time::format_duration;
use crate::units::{Duration, format_percent, format_rate, parse_duration, parse_rate};

// ---------------------------------------------------------------------------
// Scopes, entities and metric units.

/// Which entities an alert rule is evaluated for.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Once, on the global metrics.
    #[default]
    Global,
    /// For each server.
    Server,
    /// For each balancer.
    Balancer,
    /// For each client group.
    Client,
    /// For each client subnet (with a network).
    Subnet,
}

/// A kind of entity with per-entity metrics.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum EntityKind {
    Server,
    Balancer,
    Client,
    Subnet,
}

impl Scope {
    pub const ALL: [Scope; 5] = [Scope::Global, Scope::Server, Scope::Balancer, Scope::Client, Scope::Subnet];

    pub fn name(self) -> &'static str {
        match self {
            Scope::Global => "global",
            Scope::Server => "server",
            Scope::Balancer => "balancer",
            Scope::Client => "client",
            Scope::Subnet => "subnet",
        }
    }

    /// The entity kind, `None` for the global scope.
    pub fn entity_kind(self) -> Option<EntityKind> {
        match self {
            Scope::Global => None,
            Scope::Server => Some(EntityKind::Server),
            Scope::Balancer => Some(EntityKind::Balancer),
            Scope::Client => Some(EntityKind::Client),
            Scope::Subnet => Some(EntityKind::Subnet),
        }
    }

    /// The scope's metric named `text`.
    pub fn parse_metric(self, text: &str) -> Option<MetricKind> {
        match self {
            Scope::Global => GlobalMetric::parse(text).map(MetricKind::Global),
            Scope::Server => ServerMetric::parse(text).map(MetricKind::Server),
            Scope::Balancer => BalancerMetric::parse(text).map(MetricKind::Balancer),
            Scope::Client => ClientMetric::parse(text).map(MetricKind::Client),
            Scope::Subnet => SubnetMetric::parse(text).map(MetricKind::Subnet),
        }
    }

    /// The names of the scope's metrics.
    pub fn metric_names(self) -> Vec<&'static str> {
        match self {
            Scope::Global => GlobalMetric::names(),
            Scope::Server => ServerMetric::names(),
            Scope::Balancer => BalancerMetric::names(),
            Scope::Client => ClientMetric::names(),
            Scope::Subnet => SubnetMetric::names(),
        }
    }
}

impl EntityKind {
    pub fn name(self) -> &'static str {
        match self {
            EntityKind::Server => "server",
            EntityKind::Balancer => "balancer",
            EntityKind::Client => "client",
            EntityKind::Subnet => "subnet",
        }
    }

    /// The declared names of this kind, in id order.
    pub fn names(self, names: &Names) -> &[String] {
        match self {
            EntityKind::Server => &names.servers,
            EntityKind::Balancer => &names.balancers,
            EntityKind::Client => &names.clients,
            EntityKind::Subnet => &names.subnets,
        }
    }
}

/// The scope a metric belongs to.
pub fn metric_scope(m: MetricKind) -> Scope {
    match m {
        MetricKind::Global(_) => Scope::Global,
        MetricKind::Server(_) => Scope::Server,
        MetricKind::Balancer(_) => Scope::Balancer,
        MetricKind::Client(_) => Scope::Client,
        MetricKind::Subnet(_) => Scope::Subnet,
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

/// The value of metric `m` for `entity` (ignored for global metrics); NaN
/// when the snapshot has no such entity.
#[inline]
pub fn metric_value(snap: &Snapshot, m: MetricKind, entity: usize) -> f64 {
    let row = match m {
        MetricKind::Global(g) => return snap.global.get(g.idx()).copied().unwrap_or(f64::NAN),
        MetricKind::Server(s) => snap.servers.get(entity).map(|r| (r, s.idx())),
        MetricKind::Balancer(b) => snap.balancers.get(entity).map(|r| (r, b.idx())),
        MetricKind::Client(c) => snap.clients.get(entity).map(|r| (r, c.idx())),
        MetricKind::Subnet(n) => snap.subnets.get(entity).map(|r| (r, n.idx())),
    };
    row.and_then(|(r, i)| r.get(i).copied()).unwrap_or(f64::NAN)
}

/// `a` and `b` equal within a relative 1e-9 (so `99.9%` equals `1 - 0.001`).
fn nearly_equal(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

/// A number for messages: up to four significant digits, no trailing zeros.
pub fn format_number(v: f64) -> String {
    if v.is_nan() {
        return "no data".to_string();
    }
    if v.is_infinite() || (v == v.trunc() && v.abs() < 1e15) {
        return format!("{v}");
    }
    let magnitude = v.abs().log10().floor() as i32;
    let decimals = (3 - magnitude).clamp(0, 9) as usize;
    let text = format!("{v:.decimals$}");
    if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.').to_string() } else { text }
}

// ---------------------------------------------------------------------------
// Thresholds.

/// How a threshold was written.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ThresholdUnit {
    /// `12`, `0.5`.
    Number,
    /// `5%` (the value is the fraction, 0.05).
    Percent,
    /// `250ms` (the value is in milliseconds).
    Duration,
    /// `100/s` (the value is per second).
    Rate,
}

/// A threshold as written, with its value: percentages as fractions,
/// durations in milliseconds, rates per second.
#[derive(Clone, Debug, PartialEq)]
pub struct Threshold {
    pub value: f64,
    pub unit: ThresholdUnit,
    pub text: String,
}

const THRESHOLD_HELP: &str = "a number (12, 0.5), a percentage (5%), a duration (250ms) or a rate (100/s)";

impl Threshold {
    pub fn parse(text: &str) -> Result<Threshold, String> {
        let s = text.trim();
        let raw = text.to_string();
        if let Some(p) = s.strip_suffix('%') {
            let v: f64 = p.trim().parse().map_err(|_| format!("`{text}` is not {THRESHOLD_HELP}"))?;
            if !v.is_finite() || v < 0.0 {
                return Err(format!("`{text}`: a percentage must be a number of 0% or more"));
            }
            return Ok(Threshold { value: v / 100.0, unit: ThresholdUnit::Percent, text: raw });
        }
        if s.contains('/') {
            let r = parse_rate(s)?;
            return Ok(Threshold { value: r.per_sec(), unit: ThresholdUnit::Rate, text: raw });
        }
        if let Ok(v) = s.parse::<f64>() {
            if !v.is_finite() {
                return Err(format!("`{text}` is not {THRESHOLD_HELP}"));
            }
            return Ok(Threshold { value: v, unit: ThresholdUnit::Number, text: raw });
        }
        match parse_duration(s) {
            Ok(d) => Ok(Threshold { value: d.nanos() as f64 / 1e6, unit: ThresholdUnit::Duration, text: raw }),
            Err(_) => Err(format!("`{text}` is not {THRESHOLD_HELP}")),
        }
    }

    fn number(v: f64) -> Threshold {
        Threshold { value: v, unit: ThresholdUnit::Number, text: format!("{v}") }
    }
}

impl<'de> Deserialize<'de> for Threshold {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Threshold;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(THRESHOLD_HELP)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Threshold, E> {
                Threshold::parse(v).map_err(E::custom)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Threshold, E> {
                if v.is_finite() {
                    Ok(Threshold::number(v))
                } else {
                    Err(E::custom(format!("expected {THRESHOLD_HELP}")))
                }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Threshold, E> {
                Ok(Threshold::number(v as f64))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Threshold, E> {
                Ok(Threshold::number(v as f64))
            }
        }
        d.deserialize_any(V)
    }
}

// ---------------------------------------------------------------------------
// Alert rules: the scenario form and compilation.

/// One entry of the scenario's `alerts:` list, as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertSpec {
    /// Shown in reports; unique among the alerts.
    pub name: Spanned<String>,
    /// A metric name of the scope's kind.
    pub metric: Spanned<String>,
    /// `global` (default), `server`, `balancer` or `client`.
    pub scope: Option<Spanned<Scope>>,
    /// Only these entities (a name, `{..}` pattern or `*` glob); default all.
    pub entity: Option<Spanned<String>>,
    pub above: Option<Spanned<Threshold>>,
    pub below: Option<Spanned<Threshold>>,
    /// How long the condition must hold before the alert fires (default 0).
    #[serde(rename = "for")]
    pub hold: Option<Spanned<Duration>>,
}

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
    pub fn scope(&self) -> Scope {
        metric_scope(self.metric)
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

fn did_you_mean(wanted: &str, candidates: &[&str]) -> Option<String> {
    match names::closest(wanted, candidates.iter().copied()) {
        Some(n) => Some(format!("did you mean `{n}`?")),
        None if candidates.len() <= 12 => Some(format!("defined: {}", candidates.join(", "))),
        None => None,
    }
}

/// Checks the scenario's `alerts:` and compiles them against the declared
/// entity names. `interval_ns` is the series interval, the granularity of `for`.
pub fn compile_alerts(
    specs: &[AlertSpec],
    names: &Names,
    interval_ns: u64,
    src: &ScenarioSource,
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
        let entities = compile_entities(spec, scope, names).map_err(|(loc, msg, help)| err(&loc, msg, help))?;

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
    if let Some(m) = scope.parse_metric(text) {
        return Ok(m);
    }
    let valid = scope.metric_names();
    let message = format!("`{text}` is not a {} metric", scope.name());
    if let Some(other) = Scope::ALL.into_iter().find(|s| s.parse_metric(text).is_some()) {
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

fn compile_entities(spec: &AlertSpec, scope: Scope, names: &Names) -> Result<Option<Vec<usize>>, LocatedMessage> {
    let Some(entity) = &spec.entity else {
        return Ok(None);
    };
    let loc = entity.referenced;
    let reference = entity.value.trim();
    let Some(kind) = scope.entity_kind() else {
        let owner = [EntityKind::Server, EntityKind::Balancer, EntityKind::Client, EntityKind::Subnet]
            .into_iter()
            .find(|k| names::resolve(reference, k.names(names)).is_ok());
        let help = match owner {
            Some(k) => format!("`{reference}` is a {}: add `scope: {}`", k.name(), k.name()),
            None => "add `scope: server`, `scope: balancer` or `scope: client`".to_string(),
        };
        return Err((loc, "`entity` needs a `scope` of server, balancer or client".to_string(), Some(help)));
    };
    let declared = kind.names(names);
    let candidates: Vec<&str> = declared.iter().map(String::as_str).collect();
    match names::resolve(reference, declared) {
        Ok(mut ids) => {
            ids.sort_unstable();
            ids.dedup();
            Ok(Some(ids))
        }
        Err(ResolveError::Unknown(n)) => {
            Err((loc, format!("no {} is named `{n}`", kind.name()), did_you_mean(&n, &candidates)))
        }
        Err(ResolveError::NoMatch(p)) => {
            let help = (candidates.len() <= 12).then(|| format!("defined: {}", candidates.join(", ")));
            Err((loc, format!("`{p}` matches no {}", kind.name()), help))
        }
        Err(ResolveError::Pattern(msg)) => Err((loc, msg, None)),
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

// ---------------------------------------------------------------------------
// Alert evaluation.

/// Where one (rule, entity) pair stands.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum AlertState {
    #[default]
    Inactive,
    /// The condition has held since `since_ns`, not yet for long enough.
    Pending { since_ns: u64 },
    /// Fired at `fired_ns`; the condition has held since `since_ns`.
    Firing { since_ns: u64, fired_ns: u64 },
}

/// An alert firing or resolving.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct AlertEvent {
    /// The end of the interval at which it happened.
    pub time_ns: u64,
    /// Index of the rule.
    pub rule: usize,
    /// The entity, `None` for global rules.
    pub entity: Option<(EntityKind, usize)>,
    /// True when it fires, false when it resolves.
    pub firing: bool,
    /// The metric's value in that interval.
    pub value: f64,
    pub threshold: f64,
    /// When the condition started holding (the start of the pending period).
    pub since_ns: u64,
    /// When it fired (equal to `time_ns` for a firing event).
    pub fired_ns: u64,
}

/// An alert still firing when the run ended.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct ActiveAlert {
    pub rule: usize,
    pub entity: Option<(EntityKind, usize)>,
    pub since_ns: u64,
    pub fired_ns: u64,
    /// The value in the last interval observed.
    pub value: f64,
}

/// Per-rule totals over all of the rule's entities.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleStats {
    /// Times it fired.
    pub fired: u32,
    /// Times it resolved.
    pub resolved: u32,
    /// Time spent firing (summed over entities); after [`AlertEngine::finish`]
    /// it includes alerts still firing at the end.
    pub firing_ns: u64,
}

#[derive(Clone, Debug)]
struct Slot {
    rule: usize,
    entity: Option<(EntityKind, usize)>,
    /// Consecutive true intervals so far.
    streak: u32,
    since_ns: u64,
    fired_ns: Option<u64>,
    last_value: f64,
}

/// Evaluates compiled rules on each closed interval.
#[derive(Clone, Debug)]
pub struct AlertEngine {
    rules: Vec<AlertRule>,
    slots: Vec<Slot>,
    /// Each rule's slots: `slots[rule_start[r]..rule_start[r + 1]]`.
    rule_start: Vec<usize>,
    fired: Vec<u32>,
    resolved: Vec<u32>,
    closed_firing_ns: Vec<u64>,
    end_ns: Option<u64>,
    at_end: Vec<ActiveAlert>,
}

impl AlertEngine {
    /// An engine for `rules` over a world with these entity counts. Entity
    /// ids beyond the counts are ignored.
    pub fn new(rules: Vec<AlertRule>, servers: usize, balancers: usize, clients: usize, subnets: usize) -> AlertEngine {
        let mut slots = Vec::new();
        let mut rule_start = Vec::with_capacity(rules.len() + 1);
        for (r, rule) in rules.iter().enumerate() {
            rule_start.push(slots.len());
            let slot = |entity| Slot { rule: r, entity, streak: 0, since_ns: 0, fired_ns: None, last_value: f64::NAN };
            let Some(kind) = rule.scope().entity_kind() else {
                slots.push(slot(None));
                continue;
            };
            let count = match kind {
                EntityKind::Server => servers,
                EntityKind::Balancer => balancers,
                EntityKind::Client => clients,
                EntityKind::Subnet => subnets,
            };
            match &rule.entities {
                Some(ids) => slots.extend(ids.iter().filter(|&&e| e < count).map(|&e| slot(Some((kind, e))))),
                None => slots.extend((0..count).map(|e| slot(Some((kind, e))))),
            }
        }
        rule_start.push(slots.len());
        let n = rules.len();
        AlertEngine {
            rules,
            slots,
            rule_start,
            fired: vec![0; n],
            resolved: vec![0; n],
            closed_firing_ns: vec![0; n],
            end_ns: None,
            at_end: Vec::new(),
        }
    }

    /// An engine sized from the entity names.
    pub fn with_names(rules: Vec<AlertRule>, names: &Names) -> AlertEngine {
        AlertEngine::new(rules, names.servers.len(), names.balancers.len(), names.clients.len(), names.subnets.len())
    }

    pub fn rules(&self) -> &[AlertRule] {
        &self.rules
    }

    /// Evaluates one closed interval, appending the alerts that fire or
    /// resolve at its end to `out` (rule order, then entity order).
    pub fn observe(&mut self, snap: &Snapshot, out: &mut Vec<AlertEvent>) {
        for slot in &mut self.slots {
            let rule = &self.rules[slot.rule];
            let value = metric_value(snap, rule.metric, slot.entity.map_or(0, |(_, e)| e));
            slot.last_value = value;
            if rule.holds(value) {
                if slot.streak == 0 {
                    slot.since_ns = snap.start;
                }
                slot.streak = slot.streak.saturating_add(1);
                if slot.fired_ns.is_none() && slot.streak >= rule.intervals_needed {
                    slot.fired_ns = Some(snap.end);
                    self.fired[slot.rule] += 1;
                    out.push(AlertEvent {
                        time_ns: snap.end,
                        rule: slot.rule,
                        entity: slot.entity,
                        firing: true,
                        value,
                        threshold: rule.threshold,
                        since_ns: slot.since_ns,
                        fired_ns: snap.end,
                    });
                }
            } else {
                if let Some(fired_ns) = slot.fired_ns.take() {
                    self.resolved[slot.rule] += 1;
                    self.closed_firing_ns[slot.rule] += snap.end.saturating_sub(fired_ns);
                    out.push(AlertEvent {
                        time_ns: snap.end,
                        rule: slot.rule,
                        entity: slot.entity,
                        firing: false,
                        value,
                        threshold: rule.threshold,
                        since_ns: slot.since_ns,
                        fired_ns,
                    });
                }
                slot.streak = 0;
            }
        }
    }

    /// Ends the run at `end_ns`: alerts still firing stay firing and are
    /// listed by [`AlertEngine::firing_at_end`]. Calling it again recomputes
    /// the list for the new end.
    pub fn finish(&mut self, end_ns: u64) {
        self.end_ns = Some(end_ns);
        self.at_end.clear();
        for slot in &self.slots {
            if let Some(fired_ns) = slot.fired_ns {
                self.at_end.push(ActiveAlert {
                    rule: slot.rule,
                    entity: slot.entity,
                    since_ns: slot.since_ns,
                    fired_ns,
                    value: slot.last_value,
                });
            }
        }
    }

    /// Alerts firing when [`AlertEngine::finish`] was called.
    pub fn firing_at_end(&self) -> &[ActiveAlert] {
        &self.at_end
    }

    /// The state of `rule` for `entity` (`None` for a global rule), or
    /// `None` when the rule does not cover that entity.
    pub fn state(&self, rule: usize, entity: Option<usize>) -> Option<AlertState> {
        let range = self.rule_start[rule]..self.rule_start[rule + 1];
        let slot = self.slots[range].iter().find(|s| s.entity.map(|(_, e)| e) == entity)?;
        Some(match (slot.streak, slot.fired_ns) {
            (_, Some(fired_ns)) => AlertState::Firing { since_ns: slot.since_ns, fired_ns },
            (0, None) => AlertState::Inactive,
            (_, None) => AlertState::Pending { since_ns: slot.since_ns },
        })
    }

    /// Totals of one rule.
    pub fn rule_stats(&self, rule: usize) -> RuleStats {
        let open: u64 = match self.end_ns {
            Some(end) => self.at_end.iter().filter(|a| a.rule == rule).map(|a| end.saturating_sub(a.fired_ns)).sum(),
            None => 0,
        };
        RuleStats {
            fired: self.fired[rule],
            resolved: self.resolved[rule],
            firing_ns: self.closed_firing_ns[rule] + open,
        }
    }

    fn entity_text(entity: Option<(EntityKind, usize)>, names: &Names) -> String {
        match entity {
            None => String::new(),
            Some((kind, i)) => match kind.names(names).get(i) {
                Some(n) => format!(" on {} {n}", kind.name()),
                None => format!(" on {} #{i}", kind.name()),
            },
        }
    }

    /// One line about an event: `error-spike firing on server web-01:
    /// error_rate 0.12 > 0.05 for 2m`, or `error-spike resolved on server
    /// web-01 after 3m: error_rate 0.01 (alert when > 0.05)`.
    pub fn describe(&self, ev: &AlertEvent, names: &Names) -> String {
        let rule = &self.rules[ev.rule];
        let on = Self::entity_text(ev.entity, names);
        let (metric, sym) = (rule.metric_name(), rule.condition.symbol());
        let (value, threshold) = (format_number(ev.value), format_number(ev.threshold));
        if ev.firing {
            let hold = if rule.for_ns > 0 { format!(" for {}", format_duration(rule.for_ns)) } else { String::new() };
            format!("{} firing{on}: {metric} {value} {sym} {threshold}{hold}", rule.name)
        } else {
            let after = format_duration(ev.time_ns.saturating_sub(ev.fired_ns));
            format!("{} resolved{on} after {after}: {metric} {value} (alert when {sym} {threshold})", rule.name)
        }
    }

    /// [`AlertEngine::describe`] prefixed with the time: `[14:12:00] ...`
    /// with a clock, `[+2m] ...` without.
    pub fn describe_at(&self, ev: &AlertEvent, names: &Names, clock: Option<&WallClock>) -> String {
        format!("[{}] {}", time_text(ev.time_ns, clock), self.describe(ev, names))
    }

    /// One line about an alert still firing at the end.
    pub fn describe_active(&self, a: &ActiveAlert, names: &Names, clock: Option<&WallClock>) -> String {
        let rule = &self.rules[a.rule];
        format!(
            "{} still firing{} at the end (since {}): {} {} {} {}",
            rule.name,
            Self::entity_text(a.entity, names),
            time_text(a.fired_ns, clock),
            rule.metric_name(),
            format_number(a.value),
            rule.condition.symbol(),
            format_number(rule.threshold)
        )
    }
}

fn time_text(ns: u64, clock: Option<&WallClock>) -> String {
    match clock {
        Some(c) => c.format_short(ns),
        None => format!("+{}", format_duration(ns)),
    }
}

// ---------------------------------------------------------------------------
// SLO objectives.

/// The quantities an objective can be about.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum SloMetric {
    P50,
    P90,
    P99,
    P999,
    Mean,
    Max,
    ErrorRate,
    Availability,
    UsersAffected,
    UsersUnable,
    UsersSlowed,
    Throughput,
}

/// The unit an objective's threshold and observed value are in.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SloUnit {
    /// Latency of successful calls, milliseconds.
    Millis,
    /// A fraction of calls, 0 to 1.
    Fraction,
    /// A percentage of active users, 0 to 100.
    PercentOfUsers,
    /// Successful calls per second.
    PerSecond,
}

impl SloMetric {
    pub const ALL: [SloMetric; 12] = [
        SloMetric::P50,
        SloMetric::P90,
        SloMetric::P99,
        SloMetric::P999,
        SloMetric::Mean,
        SloMetric::Max,
        SloMetric::ErrorRate,
        SloMetric::Availability,
        SloMetric::UsersAffected,
        SloMetric::UsersUnable,
        SloMetric::UsersSlowed,
        SloMetric::Throughput,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SloMetric::P50 => "p50",
            SloMetric::P90 => "p90",
            SloMetric::P99 => "p99",
            SloMetric::P999 => "p999",
            SloMetric::Mean => "mean",
            SloMetric::Max => "max",
            SloMetric::ErrorRate => "error_rate",
            SloMetric::Availability => "availability",
            SloMetric::UsersAffected => "users_affected",
            SloMetric::UsersUnable => "users_unable",
            SloMetric::UsersSlowed => "users_slowed",
            SloMetric::Throughput => "throughput",
        }
    }

    pub fn parse(text: &str) -> Option<SloMetric> {
        SloMetric::ALL.into_iter().find(|m| m.name() == text)
    }

    pub fn unit(self) -> SloUnit {
        match self {
            SloMetric::P50 | SloMetric::P90 | SloMetric::P99 | SloMetric::P999 | SloMetric::Mean | SloMetric::Max => {
                SloUnit::Millis
            }
            SloMetric::ErrorRate | SloMetric::Availability => SloUnit::Fraction,
            SloMetric::UsersAffected | SloMetric::UsersUnable | SloMetric::UsersSlowed => SloUnit::PercentOfUsers,
            SloMetric::Throughput => SloUnit::PerSecond,
        }
    }
}

/// A comparison in an objective.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }

    /// `value op threshold`, with values within a relative 1e-9 counted as
    /// equal; false for NaN.
    #[inline]
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        if value.is_nan() || threshold.is_nan() {
            return false;
        }
        let eq = nearly_equal(value, threshold);
        match self {
            CmpOp::Lt => value < threshold && !eq,
            CmpOp::Le => value <= threshold || eq,
            CmpOp::Gt => value > threshold && !eq,
            CmpOp::Ge => value >= threshold || eq,
        }
    }
}

/// A parsed objective: `p99 < 500ms` is `{P99, Lt, 500.0}`.
#[derive(Clone, Debug, PartialEq)]
pub struct Objective {
    pub metric: SloMetric,
    pub op: CmpOp,
    /// In the metric's [`SloUnit`]: ms, fraction, percent of users, per second.
    pub threshold: f64,
    /// The objective as written (trimmed).
    pub text: String,
}

/// Statistics of one window, in the units of [`SloUnit`]; NaN when unknown.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct WindowStats {
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub mean_ms: f64,
    pub max_ms: f64,
    /// Failed calls / answered calls, 0 to 1.
    pub error_rate: f64,
    /// Percentages (0 to 100) of the active users.
    pub users_affected_pct: f64,
    pub users_unable_pct: f64,
    pub users_slowed_pct: f64,
    /// Successful calls per second.
    pub throughput_rps: f64,
}

impl WindowStats {
    /// Everything unknown.
    pub const UNKNOWN: WindowStats = WindowStats {
        p50_ms: f64::NAN,
        p90_ms: f64::NAN,
        p99_ms: f64::NAN,
        p999_ms: f64::NAN,
        mean_ms: f64::NAN,
        max_ms: f64::NAN,
        error_rate: f64::NAN,
        users_affected_pct: f64::NAN,
        users_unable_pct: f64::NAN,
        users_slowed_pct: f64::NAN,
        throughput_rps: f64::NAN,
    };
}

impl Default for WindowStats {
    fn default() -> Self {
        WindowStats::UNKNOWN
    }
}

const OBJECTIVE_HELP: &str =
    "`<metric> <op> <value>`, like `p99 < 500ms`, `availability >= 99.9%` or `throughput >= 100/s`";

fn slo_metric_list() -> String {
    SloMetric::ALL.iter().map(|m| m.name()).collect::<Vec<_>>().join(", ")
}

/// Parses an objective such as `p99 < 500ms`.
pub fn parse_objective(text: &str) -> Result<Objective, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err(format!("empty objective: expected {OBJECTIVE_HELP}"));
    }
    let metric_end = s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(s.len());
    let metric_text = &s[..metric_end];
    if metric_text.is_empty() {
        return Err(format!("`{s}` does not start with a metric: expected {OBJECTIVE_HELP}"));
    }
    let metric = SloMetric::parse(metric_text).ok_or_else(|| {
        let hint = match names::closest(metric_text, SloMetric::ALL.iter().map(|m| m.name())) {
            Some(n) => format!(" (did you mean `{n}`?)"),
            None => String::new(),
        };
        format!("`{metric_text}` in `{s}` is not an SLO metric{hint}; expected one of {}", slo_metric_list())
    })?;
    let rest = s[metric_end..].trim_start();
    let (op, rest) = if let Some(r) = rest.strip_prefix("<=") {
        (CmpOp::Le, r)
    } else if let Some(r) = rest.strip_prefix(">=") {
        (CmpOp::Ge, r)
    } else if let Some(r) = rest.strip_prefix('<') {
        (CmpOp::Lt, r)
    } else if let Some(r) = rest.strip_prefix('>') {
        (CmpOp::Gt, r)
    } else if rest.is_empty() {
        return Err(format!("`{s}` has no comparison: expected {OBJECTIVE_HELP}"));
    } else {
        return Err(format!("`{s}`: the comparison must be <, <=, > or >=; expected {OBJECTIVE_HELP}"));
    };
    let value_text = rest.trim();
    if value_text.is_empty() {
        return Err(format!("`{s}` has no value after `{}`: expected {OBJECTIVE_HELP}", op.symbol()));
    }
    let threshold = objective_value(metric, value_text)?;
    Ok(Objective { metric, op, threshold, text: s.to_string() })
}

/// The value of an objective in the metric's unit, or why it does not fit.
fn objective_value(metric: SloMetric, v: &str) -> Result<f64, String> {
    let name = metric.name();
    let t = Threshold::parse(v).map_err(|e| format!("{e} (in the objective on `{name}`)"))?;
    match (metric.unit(), t.unit) {
        (SloUnit::Millis, ThresholdUnit::Duration) => Ok(t.value),
        (SloUnit::Millis, ThresholdUnit::Number) => {
            Err(format!("`{v}` has no unit: `{name}` is a latency, write a duration like {v}ms"))
        }
        (SloUnit::Millis, _) => Err(format!("`{v}` is not a duration: `{name}` is a latency, write e.g. 500ms")),
        (SloUnit::Fraction | SloUnit::PercentOfUsers, ThresholdUnit::Percent | ThresholdUnit::Number) => {
            if t.unit == ThresholdUnit::Number && t.value > 1.0 {
                return Err(format!("`{v}` is more than 1: write {v}% for a percentage"));
            }
            if !(0.0..=1.0).contains(&t.value) {
                return Err(format!("`{v}` is outside 0%..100%"));
            }
            Ok(if metric.unit() == SloUnit::PercentOfUsers { t.value * 100.0 } else { t.value })
        }
        (SloUnit::Fraction, _) => {
            Err(format!("`{v}` is not a percentage: `{name}` is a fraction of calls, write e.g. 0.1% or 0.001"))
        }
        (SloUnit::PercentOfUsers, _) => {
            Err(format!("`{v}` is not a percentage: `{name}` is a share of active users, write e.g. 5%"))
        }
        (SloUnit::PerSecond, ThresholdUnit::Rate) => Ok(t.value),
        (SloUnit::PerSecond, ThresholdUnit::Number) => {
            Err(format!("`{v}` has no time unit: `{name}` is a rate, write e.g. {v}/s"))
        }
        (SloUnit::PerSecond, _) => Err(format!("`{v}` is not a rate: `{name}` is a rate, write e.g. 100/s")),
    }
}

impl Objective {
    /// The observed value of the objective's metric in a window (NaN when
    /// unknown) and whether the objective is met (never when unknown).
    pub fn evaluate(&self, w: &WindowStats) -> (f64, bool) {
        let observed = match self.metric {
            SloMetric::P50 => w.p50_ms,
            SloMetric::P90 => w.p90_ms,
            SloMetric::P99 => w.p99_ms,
            SloMetric::P999 => w.p999_ms,
            SloMetric::Mean => w.mean_ms,
            SloMetric::Max => w.max_ms,
            SloMetric::ErrorRate => w.error_rate,
            SloMetric::Availability => 1.0 - w.error_rate,
            SloMetric::UsersAffected => w.users_affected_pct,
            SloMetric::UsersUnable => w.users_unable_pct,
            SloMetric::UsersSlowed => w.users_slowed_pct,
            SloMetric::Throughput => w.throughput_rps,
        };
        (observed, self.op.holds(observed, self.threshold))
    }

    /// Whether a single interval can judge this objective.
    pub fn judges_intervals(&self) -> bool {
        self.interval_metric().is_some()
    }

    fn interval_metric(&self) -> Option<GlobalMetric> {
        match self.metric {
            SloMetric::P50 => Some(GlobalMetric::LatencyP50),
            SloMetric::P90 => Some(GlobalMetric::LatencyP90),
            SloMetric::P99 => Some(GlobalMetric::LatencyP99),
            SloMetric::Max => Some(GlobalMetric::LatencyMax),
            SloMetric::ErrorRate | SloMetric::Availability => Some(GlobalMetric::ErrorRate),
            SloMetric::Throughput => Some(GlobalMetric::ThroughputRps),
            _ => None,
        }
    }

    /// Whether one interval meets the objective: `None` for objectives an
    /// interval cannot judge (p999, mean, users) and when the interval's
    /// value is unknown (NaN).
    pub fn evaluate_interval(&self, snap: &Snapshot) -> Option<bool> {
        let m = self.interval_metric()?;
        let raw = snap.global.get(m.idx()).copied().unwrap_or(f64::NAN);
        let value = if self.metric == SloMetric::Availability { 1.0 - raw } else { raw };
        (!value.is_nan()).then(|| self.op.holds(value, self.threshold))
    }

    /// A value of this objective's metric for reports: `512ms`, `0.3%`,
    /// `46%`, `1200/s`; `n/a` when unknown.
    pub fn format_value(&self, v: f64) -> String {
        if v.is_nan() {
            return "n/a".to_string();
        }
        match self.metric.unit() {
            SloUnit::Millis => format_duration(crate::time::secs_to_nanos(v / 1e3)),
            SloUnit::Fraction => format_percent(v),
            SloUnit::PercentOfUsers => format_percent(v / 100.0),
            SloUnit::PerSecond => format_rate(v),
        }
    }
}

impl fmt::Display for Objective {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

// ---------------------------------------------------------------------------
// SLO windows and the scenario form.

/// The window an objective is judged over, as written.
#[derive(Clone, Debug)]
pub enum WindowSpec {
    /// The measured period (after the warm-up).
    Run,
    /// The incident (the span of the scenario's timeline).
    Incident,
    /// `{from: "14:00", until: "16:30"}`; either may be left out (the start
    /// or the end of the run).
    Range { from: Option<Spanned<TimeSpec>>, until: Option<Spanned<TimeSpec>> },
}

const WINDOW_HELP: &str = "`run`, `incident` or a range like {from: \"14:00\", until: \"16:30\"}";

impl<'de> Deserialize<'de> for WindowSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = WindowSpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(WINDOW_HELP)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<WindowSpec, E> {
                match v.trim() {
                    "run" => Ok(WindowSpec::Run),
                    "incident" => Ok(WindowSpec::Incident),
                    other => Err(E::custom(format!("`{other}` is not a window: expected {WINDOW_HELP}"))),
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<WindowSpec, A::Error> {
                let (mut from, mut until) = (None, None);
                while let Some(key) = map.next_key::<String>()? {
                    let slot = match key.as_str() {
                        "from" => &mut from,
                        "until" => &mut until,
                        other => return Err(de::Error::unknown_field(other, &["from", "until"])),
                    };
                    if slot.is_some() {
                        return Err(de::Error::custom(format!("`{key}` is given twice")));
                    }
                    *slot = Some(map.next_value::<Spanned<TimeSpec>>()?);
                }
                if from.is_none() && until.is_none() {
                    return Err(de::Error::custom(format!("an empty window: expected {WINDOW_HELP}")));
                }
                Ok(WindowSpec::Range { from, until })
            }
        }
        d.deserialize_any(V)
    }
}

/// A resolved window.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SloWindow {
    Run,
    Incident,
    /// Nanoseconds since the start; `until_ns` is `u64::MAX` when open-ended.
    Explicit {
        from_ns: u64,
        until_ns: u64,
    },
}

impl WindowSpec {
    /// Resolves the times of a range (wall-clock times need the clock).
    pub fn resolve(&self, clock: Option<&WallClock>) -> Result<SloWindow, String> {
        match self {
            WindowSpec::Run => Ok(SloWindow::Run),
            WindowSpec::Incident => Ok(SloWindow::Incident),
            WindowSpec::Range { from, until } => {
                let from_ns = from.as_ref().map_or(Ok(0), |t| t.value.resolve(clock))?;
                let until_ns = until.as_ref().map_or(Ok(u64::MAX), |t| t.value.resolve(clock))?;
                if until_ns <= from_ns {
                    return Err(window_order_message(from, until, clock));
                }
                Ok(SloWindow::Explicit { from_ns, until_ns })
            }
        }
    }
}

fn window_order_message(
    from: &Option<Spanned<TimeSpec>>,
    until: &Option<Spanned<TimeSpec>>,
    clock: Option<&WallClock>,
) -> String {
    let show = |t: &Option<Spanned<TimeSpec>>| t.as_ref().map_or(String::new(), |t| t.value.text().to_string());
    let mut msg = format!("the window is empty: `until` ({}) is not after `from` ({})", show(until), show(from));
    if clock.is_some() {
        msg.push_str("; a time of day means its first occurrence at or after the start");
    }
    msg
}

impl SloWindow {
    /// The `[from, until)` span to judge, given the measured period and the
    /// incident's span; an explicit range is clipped to the run. `None` when
    /// the window is empty (or `incident` without an incident).
    pub fn bounds(&self, run: (u64, u64), incident: Option<(u64, u64)>) -> Option<(u64, u64)> {
        let (from, until) = match *self {
            SloWindow::Run => run,
            SloWindow::Incident => incident?,
            SloWindow::Explicit { from_ns, until_ns } => (from_ns.max(run.0), until_ns.min(run.1)),
        };
        (from < until).then_some((from, until))
    }

    /// `run`, `incident`, or the range as times (`14:00:00–16:30:00` with a
    /// clock, `+10m–+1h` without).
    pub fn describe(&self, clock: Option<&WallClock>) -> String {
        match *self {
            SloWindow::Run => "run".to_string(),
            SloWindow::Incident => "incident".to_string(),
            SloWindow::Explicit { from_ns, until_ns } => {
                let until = if until_ns == u64::MAX { "end".to_string() } else { time_text(until_ns, clock) };
                format!("{}–{until}", time_text(from_ns, clock))
            }
        }
    }
}

/// One entry of the scenario's `slos:` list, as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SloSpec {
    /// Defaults to the objective text.
    pub name: Option<Spanned<String>>,
    /// `<metric> <op> <value>`.
    pub objective: Spanned<String>,
    /// `run` (default), `incident` or `{from, until}`.
    pub window: Option<Spanned<WindowSpec>>,
}

/// A compiled SLO.
#[derive(Clone, Debug, PartialEq)]
pub struct Slo {
    pub name: String,
    pub objective: Objective,
    pub window: SloWindow,
}

/// Checks the scenario's `slos:`; wall-clock window times need `clock`.
pub fn compile_slos(specs: &[SloSpec], clock: Option<&WallClock>, src: &ScenarioSource) -> Result<Vec<Slo>, Error> {
    let mut out: Vec<Slo> = Vec::with_capacity(specs.len());
    for spec in specs {
        let objective = parse_objective(&spec.objective.value)
            .map_err(|msg| src.error_at_location(&spec.objective.referenced, msg, Some(objective_help())))?;
        let (name, name_loc) = match &spec.name {
            Some(n) if n.value.trim().is_empty() => {
                return Err(src.error_at_location(&n.referenced, "an SLO name must not be empty", None));
            }
            Some(n) => (n.value.trim().to_string(), n.referenced),
            None => (objective.text.clone(), spec.objective.referenced),
        };
        if out.iter().any(|s| s.name == name) {
            return Err(src.error_at_location(
                &name_loc,
                format!("two SLOs are named `{name}`"),
                Some("give each objective a distinct `name:`".into()),
            ));
        }
        let window = match &spec.window {
            None => SloWindow::Run,
            Some(w) => resolve_window(&w.value, clock)
                .map_err(|(loc, msg)| src.error_at_location(&loc.unwrap_or(w.referenced), msg, None))?,
        };
        out.push(Slo { name, objective, window });
    }
    Ok(out)
}

/// Resolves a window, naming the `from` or `until` value that failed.
fn resolve_window(
    w: &WindowSpec,
    clock: Option<&WallClock>,
) -> Result<SloWindow, (Option<serde_saphyr::Location>, String)> {
    if let WindowSpec::Range { from, until } = w {
        for t in [from, until].into_iter().flatten() {
            t.value.resolve(clock).map_err(|e| (Some(t.referenced), e))?;
        }
        let at = until.as_ref().or(from.as_ref()).map(|t| t.referenced);
        return w.resolve(clock).map_err(|e| (at, e));
    }
    w.resolve(clock).map_err(|e| (None, e))
}

fn objective_help() -> String {
    format!("objectives are {OBJECTIVE_HELP}; metrics: {}", slo_metric_list())
}

// ---------------------------------------------------------------------------
// The impact window.

/// A span of intervals outside an objective.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ImpactWindow {
    /// Start of the first interval outside the objective.
    pub first_start_ns: u64,
    /// End of the last one.
    pub last_end_ns: u64,
    /// Intervals outside it (not necessarily consecutive).
    pub bad_intervals: u32,
}

impl ImpactWindow {
    fn add(slot: &mut Option<ImpactWindow>, snap: &Snapshot) {
        match slot {
            None => *slot = Some(ImpactWindow { first_start_ns: snap.start, last_end_ns: snap.end, bad_intervals: 1 }),
            Some(w) => {
                w.first_start_ns = w.first_start_ns.min(snap.start);
                w.last_end_ns = w.last_end_ns.max(snap.end);
                w.bad_intervals += 1;
            }
        }
    }
}

/// Finds the first and last interval outside each interval-judged objective
/// (whatever its window), and over all of them.
#[derive(Clone, Debug, Default)]
pub struct ImpactTracker {
    per_slo: Vec<Option<ImpactWindow>>,
    any: Option<ImpactWindow>,
}

impl ImpactTracker {
    pub fn new(slos: usize) -> ImpactTracker {
        ImpactTracker { per_slo: vec![None; slos], any: None }
    }

    /// Judges one closed interval against every objective.
    pub fn observe(&mut self, snap: &Snapshot, slos: &[Slo]) {
        let mut bad = false;
        for (slot, slo) in self.per_slo.iter_mut().zip(slos) {
            if slo.objective.evaluate_interval(snap) == Some(false) {
                ImpactWindow::add(slot, snap);
                bad = true;
            }
        }
        if bad {
            ImpactWindow::add(&mut self.any, snap);
        }
    }

    /// From the first to the last interval outside any objective.
    pub fn window(&self) -> Option<ImpactWindow> {
        self.any
    }

    pub fn per_slo(&self) -> &[Option<ImpactWindow>] {
        &self.per_slo
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::NANOS_PER_SEC;
    use std::path::Path;

    const S: u64 = NANOS_PER_SEC;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Doc {
        #[serde(default)]
        alerts: Vec<AlertSpec>,
        #[serde(default)]
        slos: Vec<SloSpec>,
    }

    fn names() -> Names {
        let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect();
        Names {
            servers: v(&["web-01", "web-02", "db-01"]),
            balancers: v(&["edge"]),
            clients: v(&["app", "batch"]),
            subnets: v(&["app.eu", "app.us"]),
        }
    }

    fn source(text: &str) -> ScenarioSource {
        ScenarioSource::from_text(Path::new("t.yaml"), text.to_string())
    }

    fn doc(text: &str) -> Doc {
        serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    /// Compiles `alerts:` text with 1s intervals.
    fn alerts(text: &str) -> Result<Vec<AlertRule>, (String, Option<String>)> {
        let src = source(text);
        compile_alerts(&doc(text).alerts, &names(), S, &src).map_err(|e| match e {
            Error::Located(l) => (format!("{}: {}", l.location, l.message), l.help),
            other => (other.to_string(), None),
        })
    }

    fn alert_err(text: &str) -> (String, String) {
        let (msg, help) = alerts(text).expect_err(text);
        (msg, help.unwrap_or_default())
    }

    fn slos(text: &str, clock: Option<&WallClock>) -> Result<Vec<Slo>, String> {
        let src = source(text);
        compile_slos(&doc(text).slos, clock, &src).map_err(|e| e.to_string())
    }

    /// Snapshots of 1s intervals with three servers, one balancer, two clients,
    /// filled by `fill(interval index, snapshot)`.
    fn series(n: usize, mut fill: impl FnMut(usize, &mut Snapshot)) -> Vec<Snapshot> {
        (0..n)
            .map(|i| {
                let mut s = Snapshot::sized(3, 1, 2, 2);
                s.index = i as u32;
                s.start = i as u64 * S;
                s.end = (i as u64 + 1) * S;
                fill(i, &mut s);
                s
            })
            .collect()
    }

    fn global_error_rates(values: &[f64]) -> Vec<Snapshot> {
        series(values.len(), |i, s| s.global[GlobalMetric::ErrorRate.idx()] = values[i])
    }

    fn run(engine: &mut AlertEngine, snaps: &[Snapshot]) -> Vec<AlertEvent> {
        let mut out = Vec::new();
        for s in snaps {
            engine.observe(s, &mut out);
        }
        out
    }

    /// (time in seconds, firing) of each event.
    fn times(events: &[AlertEvent]) -> Vec<(u64, bool)> {
        events.iter().map(|e| (e.time_ns / S, e.firing)).collect()
    }

    fn engine(text: &str) -> AlertEngine {
        AlertEngine::with_names(alerts(text).unwrap(), &names())
    }

    const ERR5: &str = "alerts:\n  - name: error-spike\n    metric: error_rate\n    above: 5%\n";

    #[test]
    fn for_zero_fires_at_the_end_of_the_first_true_interval() {
        let mut e = engine(ERR5);
        let rule = &e.rules()[0];
        assert_eq!((rule.threshold, rule.intervals_needed, rule.condition), (0.05, 1, Condition::Above));
        let ev = run(&mut e, &global_error_rates(&[0.0, 0.1, 0.2, 0.01, 0.0, 0.3]));
        assert_eq!(times(&ev), [(2, true), (4, false), (6, true)]);
        assert_eq!((ev[0].since_ns, ev[0].value, ev[0].threshold, ev[0].entity), (S, 0.1, 0.05, None));
        assert_eq!((ev[1].since_ns, ev[1].fired_ns, ev[1].value), (S, 2 * S, 0.01));
        e.finish(6 * S);
        assert_eq!(
            e.firing_at_end(),
            [ActiveAlert { rule: 0, entity: None, since_ns: 5 * S, fired_ns: 6 * S, value: 0.3 }]
        );
        assert_eq!(e.rule_stats(0), RuleStats { fired: 2, resolved: 1, firing_ns: 2 * S });
    }

    #[test]
    fn for_needs_consecutive_true_intervals_and_a_dip_resets_pending() {
        let mut e = engine(&format!("{ERR5}    for: 3s\n"));
        assert_eq!(e.rules()[0].intervals_needed, 3);
        //                               0    1    2(dip) 3    4    5    6    7
        let snaps = global_error_rates(&[0.1, 0.1, 0.0, 0.1, 0.1, 0.1, 0.1, 0.0]);
        let mut out = Vec::new();
        e.observe(&snaps[0], &mut out);
        assert_eq!(e.state(0, None), Some(AlertState::Pending { since_ns: 0 }));
        e.observe(&snaps[1], &mut out);
        e.observe(&snaps[2], &mut out);
        assert_eq!(e.state(0, None), Some(AlertState::Inactive));
        assert!(out.is_empty());
        for s in &snaps[3..7] {
            e.observe(s, &mut out);
        }
        assert_eq!(e.state(0, None), Some(AlertState::Firing { since_ns: 3 * S, fired_ns: 6 * S }));
        e.observe(&snaps[7], &mut out);
        assert_eq!(times(&out), [(6, true), (8, false)]);
        assert_eq!(out[0].since_ns, 3 * S);
        e.finish(8 * S);
        assert!(e.firing_at_end().is_empty());
        assert_eq!(e.rule_stats(0).firing_ns, 2 * S);
    }

    #[test]
    fn long_for_counts_whole_intervals_rounding_up() {
        let mut e = engine(&format!("{ERR5}    for: 2m\n"));
        assert_eq!(e.rules()[0].intervals_needed, 120);
        let ev = run(&mut e, &global_error_rates(&[0.5; 130]));
        assert_eq!(times(&ev), [(120, true)]);
        let e = engine(&format!("{ERR5}    for: 2.5s\n"));
        assert_eq!(e.rules()[0].intervals_needed, 3);
        let e = engine(&format!("{ERR5}    for: 500ms\n"));
        assert_eq!(e.rules()[0].intervals_needed, 1);
    }

    #[test]
    fn nan_and_values_at_the_threshold_count_as_false() {
        let mut e = engine(ERR5);
        let ev = run(&mut e, &global_error_rates(&[0.1, f64::NAN, 0.1, 0.05, f64::NAN]));
        assert_eq!(times(&ev), [(1, true), (2, false), (3, true), (4, false)]);
        assert!(ev[1].value.is_nan());
        // 0.1 + 0.2 is 0.30000000000000004: at the threshold, not above it.
        let mut e = engine(&ERR5.replace("5%", "30%"));
        assert!(run(&mut e, &global_error_rates(&[0.1 + 0.2, 0.3])).is_empty());
        // A `below` rule does not fire on missing data either.
        let text = "alerts:\n  - {name: starved, metric: throughput_rps, below: 10/s}\n";
        let mut e = engine(text);
        let snaps = series(3, |i, s| s.global[GlobalMetric::ThroughputRps.idx()] = [f64::NAN, 20.0, 5.0][i]);
        assert_eq!(times(&run(&mut e, &snaps)), [(3, true)]);
        // Snapshots missing an entity read as NaN rather than panicking.
        let mut e = engine("alerts:\n  - {name: q, metric: queue, scope: server, above: 1}\n");
        let mut out = Vec::new();
        e.observe(&Snapshot::default(), &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn per_server_rules_fire_independently() {
        let text = "alerts:\n  - name: hot\n    metric: error_rate\n    scope: server\n    above: 0.2\n    for: 2s\n";
        let mut e = engine(text);
        let er = ServerMetric::ErrorRate.idx();
        let snaps = series(6, |i, s| {
            s.servers[0][er] = [0.0, 0.5, 0.5, 0.5, 0.0, 0.0][i];
            s.servers[1][er] = [0.0, 0.0, 0.5, 0.5, 0.5, 0.5][i];
            s.servers[2][er] = [0.5, 0.0, 0.5, 0.0, 0.5, 0.0][i];
        });
        let ev = run(&mut e, &snaps);
        let srv = |i| Some((EntityKind::Server, i));
        let got: Vec<_> = ev.iter().map(|e| (e.time_ns / S, e.firing, e.entity)).collect();
        assert_eq!(got, [(3, true, srv(0)), (4, true, srv(1)), (5, false, srv(0))]);
        e.finish(6 * S);
        assert_eq!(e.firing_at_end().len(), 1);
        assert_eq!(e.firing_at_end()[0].entity, srv(1));
        assert_eq!(e.state(0, Some(2)), Some(AlertState::Inactive));
        assert_eq!(e.rule_stats(0), RuleStats { fired: 2, resolved: 1, firing_ns: 2 * S + 2 * S });
        let names = names();
        assert_eq!(e.describe(&ev[0], &names), "hot firing on server web-01: error_rate 0.5 > 0.2 for 2s");
        assert_eq!(
            e.describe_at(&ev[2], &names, None),
            "[+5s] hot resolved on server web-01 after 2s: error_rate 0 (alert when > 0.2)"
        );
        let clock = WallClock::parse_start("2024-06-01T14:00:00Z").unwrap();
        assert_eq!(
            e.describe_active(&e.firing_at_end()[0], &names, Some(&clock)),
            "hot still firing on server web-02 at the end (since 14:00:04): error_rate 0.5 > 0.2"
        );
    }

    #[test]
    fn entity_filters_select_servers_by_name_pattern_or_glob() {
        let base = "alerts:\n  - {name: q, metric: queue, scope: server, above: 10, entity: ";
        for (entity, want) in [("web-02", vec![1]), ("\"web-{01..02}\"", vec![0, 1]), ("\"web-*\"", vec![0, 1])] {
            let rules = alerts(&format!("{base}{entity}}}\n")).unwrap();
            assert_eq!(rules[0].entities, Some(want), "{entity}");
        }
        let mut e = engine(&format!("{base}db-01}}\n"));
        let snaps = series(1, |_, s| {
            for row in &mut s.servers {
                row[ServerMetric::Queue.idx()] = 50.0;
            }
        });
        let ev = run(&mut e, &snaps);
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].entity, Some((EntityKind::Server, 2)));
        assert_eq!(e.state(0, Some(0)), None);
        // Balancer and client scopes.
        let text = "alerts:\n  - {name: nb, metric: healthy_backends, scope: balancer, below: 2}\n  - {name: cf, metric: failed, scope: client, entity: batch, above: 0}\n";
        let mut e = engine(text);
        let snaps = series(1, |_, s| {
            s.balancers[0][BalancerMetric::HealthyBackends.idx()] = 1.0;
            s.clients[0][ClientMetric::Failed.idx()] = 3.0;
            s.clients[1][ClientMetric::Failed.idx()] = 4.0;
        });
        let ev = run(&mut e, &snaps);
        let got: Vec<_> = ev.iter().map(|e| (e.rule, e.entity)).collect();
        assert_eq!(got, [(0, Some((EntityKind::Balancer, 0))), (1, Some((EntityKind::Client, 1)))]);
        assert_eq!(e.describe(&ev[0], &names()), "nb firing on balancer edge: healthy_backends 1 < 2");
    }

    #[test]
    fn describe_matches_the_documented_form() {
        let text = "alerts:\n  - {name: error-spike, metric: error_rate, scope: server, above: 5%, for: 2m}\n";
        let e = engine(text);
        let ev = AlertEvent {
            time_ns: 180 * S,
            rule: 0,
            entity: Some((EntityKind::Server, 0)),
            firing: true,
            value: 0.12,
            threshold: 0.05,
            since_ns: 60 * S,
            fired_ns: 180 * S,
        };
        assert_eq!(e.describe(&ev, &names()), "error-spike firing on server web-01: error_rate 0.12 > 0.05 for 2m");
        let clock = WallClock::parse_start("2024-06-01T14:00:00Z").unwrap();
        assert!(e.describe_at(&ev, &names(), Some(&clock)).starts_with("[14:03:00] error-spike firing"));
        assert_eq!(format_number(812.345), "812.3");
        assert_eq!(format_number(0.123456), "0.1235");
        assert_eq!(format_number(3.0), "3");
        assert_eq!(format_number(f64::NAN), "no data");
    }

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

    #[test]
    fn malformed_alert_fields_fail_while_reading() {
        for (text, want) in [
            ("alerts:\n  - {name: a, metric: queue, scope: servers, above: 1}\n", "server"),
            ("alerts:\n  - {name: a, metric: queue, scope: server, over: 1}\n", "unknown field"),
            ("alerts:\n  - {name: a, metric: queue, scope: server, above: lots}\n", "a percentage (5%)"),
            ("alerts:\n  - {name: a, metric: queue, scope: server, above: 1, for: 5}\n", "no unit"),
        ] {
            let err = serde_saphyr::from_str::<Doc>(text).unwrap_err().to_string();
            assert!(err.contains(want), "{text}: {err}");
        }
    }

    #[test]
    fn threshold_parsing_recognises_each_form() {
        let t = |s: &str| Threshold::parse(s).map(|t| (t.value, t.unit));
        assert_eq!(t("5%"), Ok((0.05, ThresholdUnit::Percent)));
        assert_eq!(t("0.5"), Ok((0.5, ThresholdUnit::Number)));
        assert_eq!(t("-3"), Ok((-3.0, ThresholdUnit::Number)));
        assert_eq!(t("250ms"), Ok((250.0, ThresholdUnit::Duration)));
        assert_eq!(t("100/s"), Ok((100.0, ThresholdUnit::Rate)));
        for bad in ["nan", "inf", "x%", "-5%", "fast", ""] {
            assert!(Threshold::parse(bad).is_err(), "{bad}");
        }
    }

    fn obj(text: &str) -> Objective {
        parse_objective(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn objectives_parse_for_every_metric_and_unit() {
        let cases: [(&str, SloMetric, CmpOp, f64); 17] = [
            ("p50 < 200ms", SloMetric::P50, CmpOp::Lt, 200.0),
            ("p90 <= 1.5s", SloMetric::P90, CmpOp::Le, 1500.0),
            ("p99 < 500ms", SloMetric::P99, CmpOp::Lt, 500.0),
            ("p99<500ms", SloMetric::P99, CmpOp::Lt, 500.0),
            ("p999 < 2s", SloMetric::P999, CmpOp::Lt, 2000.0),
            ("mean < 100us", SloMetric::Mean, CmpOp::Lt, 0.1),
            ("max <= 1m", SloMetric::Max, CmpOp::Le, 60_000.0),
            ("error_rate < 0.1%", SloMetric::ErrorRate, CmpOp::Lt, 0.001),
            ("error_rate <= 0.002", SloMetric::ErrorRate, CmpOp::Le, 0.002),
            ("availability >= 99.9%", SloMetric::Availability, CmpOp::Ge, 0.999),
            ("availability > 0.99", SloMetric::Availability, CmpOp::Gt, 0.99),
            ("users_affected < 5%", SloMetric::UsersAffected, CmpOp::Lt, 5.0),
            ("users_unable <= 1%", SloMetric::UsersUnable, CmpOp::Le, 1.0),
            ("users_slowed < 0.1", SloMetric::UsersSlowed, CmpOp::Lt, 10.0),
            ("throughput >= 100/s", SloMetric::Throughput, CmpOp::Ge, 100.0),
            ("throughput > 6k/min", SloMetric::Throughput, CmpOp::Gt, 100.0),
            ("  p50   >=   1ms  ", SloMetric::P50, CmpOp::Ge, 1.0),
        ];
        for (text, metric, op, threshold) in cases {
            let o = obj(text);
            assert_eq!((o.metric, o.op), (metric, op), "{text}");
            assert!((o.threshold - threshold).abs() <= 1e-12 * threshold, "{text}: {}", o.threshold);
            assert_eq!(o.to_string(), text.trim());
        }
        assert_eq!(SloMetric::ALL.len(), 12);
        for m in SloMetric::ALL {
            assert_eq!(SloMetric::parse(m.name()), Some(m));
        }
    }

    #[test]
    fn bad_objectives_say_what_is_expected() {
        let cases = [
            ("p95 < 1s", "not an SLO metric"),
            ("latency < 1s", "p50, p90, p99, p999, mean, max, error_rate"),
            ("p99 < 5%", "`p99` is a latency, write e.g. 500ms"),
            ("p99 < 500", "has no unit: `p99` is a latency, write a duration like 500ms"),
            ("mean < 10/s", "not a duration"),
            ("error_rate < 2s", "`error_rate` is a fraction of calls"),
            ("error_rate < 5", "write 5% for a percentage"),
            ("availability >= 101%", "outside 0%..100%"),
            ("users_affected < 150%", "outside 0%..100%"),
            ("users_slowed < 1s", "share of active users"),
            ("throughput > 100", "write e.g. 100/s"),
            ("throughput > 5%", "not a rate"),
            ("p99 = 1s", "must be <, <=, > or >="),
            ("p99 == 1s", "must be <, <=, > or >="),
            ("p99", "no comparison"),
            ("p99 <", "no value after `<`"),
            ("< 1s", "does not start with a metric"),
            ("", "empty objective"),
            ("p99 < soon", "is not a number"),
        ];
        for (text, want) in cases {
            let err = parse_objective(text).unwrap_err();
            assert!(err.contains(want), "{text}: {err}");
        }
        assert!(parse_objective("p95 < 1s").unwrap_err().contains("did you mean"));
    }

    #[test]
    fn evaluation_handles_edges_and_unknowns() {
        let mut w = WindowStats {
            p50_ms: 20.0,
            p90_ms: 80.0,
            p99_ms: 500.0,
            p999_ms: 900.0,
            mean_ms: 30.0,
            max_ms: 2000.0,
            error_rate: 0.001,
            users_affected_pct: 5.0,
            users_unable_pct: 0.0,
            users_slowed_pct: 12.5,
            throughput_rps: 100.0,
        };
        assert_eq!(obj("p99 < 500ms").evaluate(&w), (500.0, false));
        assert_eq!(obj("p99 <= 500ms").evaluate(&w), (500.0, true));
        assert_eq!(obj("p999 < 1s").evaluate(&w), (900.0, true));
        assert_eq!(obj("mean > 30ms").evaluate(&w), (30.0, false));
        assert_eq!(obj("max <= 2s").evaluate(&w), (2000.0, true));
        assert_eq!(obj("p50 < 10ms").evaluate(&w), (20.0, false));
        assert_eq!(obj("p90 < 100ms").evaluate(&w), (80.0, true));
        // 1 - 0.001 and 99.9 / 100 differ in the last bit; they still compare equal.
        let (avail, met) = obj("availability >= 99.9%").evaluate(&w);
        assert!((avail - 0.999).abs() < 1e-12 && met);
        assert!(!obj("availability > 99.9%").evaluate(&w).1);
        assert!(obj("error_rate <= 0.1%").evaluate(&w).1);
        assert!(!obj("error_rate < 0.1%").evaluate(&w).1);
        assert_eq!(obj("users_affected < 5%").evaluate(&w), (5.0, false));
        assert_eq!(obj("users_affected <= 5%").evaluate(&w), (5.0, true));
        assert_eq!(obj("users_unable <= 0%").evaluate(&w), (0.0, true));
        assert_eq!(obj("users_slowed < 10%").evaluate(&w), (12.5, false));
        assert_eq!(obj("throughput >= 100/s").evaluate(&w), (100.0, true));
        assert_eq!(obj("throughput > 100/s").evaluate(&w), (100.0, false));
        w.p99_ms = f64::NAN;
        w.error_rate = f64::NAN;
        let (v, met) = obj("p99 < 1h").evaluate(&w);
        assert!(v.is_nan() && !met);
        assert!(!obj("availability >= 0%").evaluate(&w).1);
        assert!(!obj("p50 < 1s").evaluate(&WindowStats::default()).1);
    }

    #[test]
    fn intervals_judge_only_what_one_interval_can() {
        let snaps = series(1, |_, s| {
            s.global[GlobalMetric::LatencyP50.idx()] = 40.0;
            s.global[GlobalMetric::LatencyP90.idx()] = 300.0;
            s.global[GlobalMetric::LatencyP99.idx()] = 600.0;
            s.global[GlobalMetric::LatencyMax.idx()] = 900.0;
            s.global[GlobalMetric::ErrorRate.idx()] = 0.02;
            s.global[GlobalMetric::ThroughputRps.idx()] = 50.0;
        });
        let s = &snaps[0];
        let judge = |text: &str| obj(text).evaluate_interval(s);
        assert_eq!(judge("p50 < 50ms"), Some(true));
        assert_eq!(judge("p90 < 250ms"), Some(false));
        assert_eq!(judge("p99 < 500ms"), Some(false));
        assert_eq!(judge("max <= 900ms"), Some(true));
        assert_eq!(judge("error_rate < 1%"), Some(false));
        assert_eq!(judge("availability >= 98%"), Some(true));
        assert_eq!(judge("availability > 98%"), Some(false));
        assert_eq!(judge("throughput >= 100/s"), Some(false));
        for text in ["p999 < 1s", "mean < 1s", "users_affected < 1%", "users_unable < 1%", "users_slowed < 1%"] {
            assert_eq!(judge(text), None, "{text}");
            assert!(!obj(text).judges_intervals());
        }
        let mut nan = s.clone();
        nan.global[GlobalMetric::ErrorRate.idx()] = f64::NAN;
        assert_eq!(obj("error_rate < 1%").evaluate_interval(&nan), None);
        assert_eq!(obj("availability > 1%").evaluate_interval(&Snapshot::default()), None);
    }

    #[test]
    fn values_format_in_the_objective_unit() {
        assert_eq!(obj("p99 < 1s").format_value(512.5), "512.5ms");
        assert_eq!(obj("error_rate < 1%").format_value(0.003), "0.3%");
        assert_eq!(obj("users_affected < 1%").format_value(46.0), "46%");
        assert_eq!(obj("throughput > 1/s").format_value(1200.0), "1200/s");
        assert_eq!(obj("p99 < 1s").format_value(f64::NAN), "n/a");
    }

    #[test]
    fn slos_compile_with_default_names_and_windows() {
        let text = "slos:\n  - objective: \"p99 < 500ms\"\n  - name: avail\n    objective: availability >= 99.9%\n    window: incident\n  - objective: error_rate < 1%\n    window: {from: \"14:10\", until: 16:30}\n  - objective: p50 < 1s\n    window: {from: 10m}\n  - objective: max < 5s\n    window: run\n";
        let clock = WallClock::parse_start("2024-06-01T14:00:00Z").unwrap();
        let out = slos(text, Some(&clock)).unwrap();
        let names: Vec<&str> = out.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["p99 < 500ms", "avail", "error_rate < 1%", "p50 < 1s", "max < 5s"]);
        assert_eq!(out[0].window, SloWindow::Run);
        assert_eq!(out[1].window, SloWindow::Incident);
        assert_eq!(out[2].window, SloWindow::Explicit { from_ns: 600 * S, until_ns: 9000 * S });
        assert_eq!(out[3].window, SloWindow::Explicit { from_ns: 600 * S, until_ns: u64::MAX });
        assert_eq!(out[4].window, SloWindow::Run);
        assert_eq!(out[2].window.describe(Some(&clock)), "14:10:00–16:30:00");
        assert_eq!(out[3].window.describe(None), "+10m–end");
        // Bounds clip to the run; `incident` needs an incident.
        let run = (60 * S, 3600 * S);
        assert_eq!(out[0].window.bounds(run, None), Some(run));
        assert_eq!(out[1].window.bounds(run, None), None);
        assert_eq!(out[1].window.bounds(run, Some((5 * S, 9 * S))), Some((5 * S, 9 * S)));
        assert_eq!(out[2].window.bounds(run, None), Some((600 * S, 3600 * S)));
        assert_eq!(out[3].window.bounds((0, 300 * S), None), None);
        // Offsets work without a clock.
        let text = "slos:\n  - {objective: p99 < 1s, window: {from: 5m, until: 1h}}\n";
        assert_eq!(slos(text, None).unwrap()[0].window, SloWindow::Explicit { from_ns: 300 * S, until_ns: 3600 * S });
    }

    #[test]
    fn bad_slos_are_located_and_explained() {
        let err = slos("slos:\n  - objective: p95 < 1s\n", None).unwrap_err();
        assert!(err.starts_with("t.yaml:2:16: `p95` in `p95 < 1s` is not an SLO metric"), "{err}");
        let err = slos("slos:\n  - objective: p99 < 1s\n  - objective: p99 < 1s\n", None).unwrap_err();
        assert!(err.starts_with("t.yaml:3:16: two SLOs are named `p99 < 1s`"), "{err}");
        let err =
            slos("slos:\n  - {name: x, objective: p99 < 1s}\n  - {name: x, objective: p50 < 1s}\n", None).unwrap_err();
        assert!(err.starts_with("t.yaml:3:12: two SLOs are named `x`"), "{err}");
        let err = slos("slos:\n  - objective: p99 < 1s\n    window: {from: \"14:00\", until: \"16:30\"}\n", None)
            .unwrap_err();
        assert!(err.starts_with("t.yaml:3:20: `14:00` is a wall-clock time"), "{err}");
        assert!(err.contains("set `start:` to use wall-clock times"), "{err}");
        let clock = WallClock::parse_start("2024-06-01T14:00:00Z").unwrap();
        let err =
            slos("slos:\n  - objective: p99 < 1s\n    window: {from: \"16:00\", until: \"15:00\"}\n", Some(&clock))
                .unwrap_err();
        assert!(err.starts_with("t.yaml:3:36: the window is empty"), "{err}");
        assert!(err.contains("first occurrence"), "{err}");
        let err = slos("slos:\n  - objective: p99 < 1s\n    window: {from: 2024-06-01T13:00:00Z}\n", Some(&clock))
            .unwrap_err();
        assert!(err.starts_with("t.yaml:3:20:") && err.contains("before the start"), "{err}");

        for (text, want) in [
            ("slos:\n  - {objective: p99 < 1s, window: forever}\n", "`forever` is not a window"),
            ("slos:\n  - {objective: p99 < 1s, window: {from: 1m, to: 2m}}\n", "unknown field `to`"),
            ("slos:\n  - {objective: p99 < 1s, window: {}}\n", "an empty window"),
            ("slos:\n  - {objective: p99 < 1s, window: {from: \"25:00\"}}\n", "hour must be 00 to 23"),
            ("slos:\n  - {objective: p99 < 1s, windows: run}\n", "unknown field"),
        ] {
            let err = serde_saphyr::from_str::<Doc>(text).unwrap_err().to_string();
            assert!(err.contains(want), "{text}: {err}");
        }
    }

    #[test]
    fn impact_window_spans_the_first_to_the_last_bad_interval() {
        let text =
            "slos:\n  - objective: p99 < 500ms\n  - objective: error_rate < 1%\n  - objective: users_affected < 1%\n";
        let list = slos(text, None).unwrap();
        let p99 = [100.0, 600.0, 100.0, 100.0, 100.0, 100.0];
        let err = [0.0, 0.0, 0.0, 0.05, f64::NAN, 0.0];
        let snaps = series(6, |i, s| {
            s.global[GlobalMetric::LatencyP99.idx()] = p99[i];
            s.global[GlobalMetric::ErrorRate.idx()] = err[i];
        });
        let mut t = ImpactTracker::new(list.len());
        for s in &snaps {
            t.observe(s, &list);
        }
        assert_eq!(t.window(), Some(ImpactWindow { first_start_ns: S, last_end_ns: 4 * S, bad_intervals: 2 }));
        assert_eq!(t.per_slo()[0], Some(ImpactWindow { first_start_ns: S, last_end_ns: 2 * S, bad_intervals: 1 }));
        assert_eq!(t.per_slo()[1], Some(ImpactWindow { first_start_ns: 3 * S, last_end_ns: 4 * S, bad_intervals: 1 }));
        assert_eq!(t.per_slo()[2], None);
    }
}

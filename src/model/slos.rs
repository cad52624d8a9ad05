//! Stage: model. Compiled service-level objectives: [`compile_slos`] checks
//! the scenario's `slos:` ([`crate::scenario::monitoring::SloSpec`]), parsing
//! each objective text (`p99 < 500ms`, [`parse_objective`]) into an
//! [`Objective`] in its metric's unit and resolving its window
//! ([`SloWindow`]). `sim::objectives` judges them on the run's windows
//! and intervals.

use std::fmt;

use crate::scenario::Spanned;

use super::alerts::nearly_equal;
use crate::clock::{TimeSpec, WallClock};
use crate::error::Error;
use crate::scenario::ScenarioSource;
use crate::scenario::monitoring::{SloSpec, SloWindowSpec, Threshold, ThresholdUnit};
use crate::scenario::names;
use crate::time::format_duration;
use crate::units::{format_percent, format_rate};

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
// SLO windows.

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

/// Resolves the times of a range (wall-clock times need the clock).
fn resolve_spec(w: &SloWindowSpec, clock: Option<&WallClock>) -> Result<SloWindow, String> {
    match w {
        SloWindowSpec::Run => Ok(SloWindow::Run),
        SloWindowSpec::Incident => Ok(SloWindow::Incident),
        SloWindowSpec::Range { from, until } => {
            let from_ns = from.as_ref().map_or(Ok(0), |t| t.value.resolve(clock))?;
            let until_ns = until.as_ref().map_or(Ok(u64::MAX), |t| t.value.resolve(clock))?;
            if until_ns <= from_ns {
                return Err(window_order_message(from, until, clock));
            }
            Ok(SloWindow::Explicit { from_ns, until_ns })
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
    w: &SloWindowSpec,
    clock: Option<&WallClock>,
) -> Result<SloWindow, (Option<serde_saphyr::Location>, String)> {
    if let SloWindowSpec::Range { from, until } = w {
        for t in [from, until].into_iter().flatten() {
            t.value.resolve(clock).map_err(|e| (Some(t.referenced), e))?;
        }
        let at = until.as_ref().or(from.as_ref()).map(|t| t.referenced);
        return resolve_spec(w, clock).map_err(|e| (at, e));
    }
    resolve_spec(w, clock).map_err(|e| (None, e))
}

fn objective_help() -> String {
    format!("objectives are {OBJECTIVE_HELP}; metrics: {}", slo_metric_list())
}

/// A time for messages: `14:12:00` with a clock, `+2m` without.
pub(crate) fn time_text(ns: u64, clock: Option<&WallClock>) -> String {
    match clock {
        Some(c) => c.format_short(ns),
        None => format!("+{}", format_duration(ns)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::test_monitoring::{S, obj, slos};

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
    }
}

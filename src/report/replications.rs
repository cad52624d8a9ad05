//! What many replications of one configuration say together: each headline
//! metric as a mean with a Student-t confidence interval, the latency
//! percentiles of every request of every replication pooled, and each SLO's
//! verdict with the confidence it holds with. Built by
//! `crate::experiment::estimate`; written into `summary.json`
//! (`replications`), the terminal table, `report.html` and `report.md`, and
//! per point of a sweep.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::metrics::LatencySummary;
use crate::report::headline::Better;

/// The outcome of an objective judged over replications.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The whole confidence interval is on the passing side of the threshold.
    Pass,
    /// The whole interval is on the failing side (or no replication had data).
    Fail,
    /// The interval straddles the threshold: more replications may decide it.
    Inconclusive,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Inconclusive => "inconclusive",
        }
    }

    /// The verdict of several objectives together: a pass needs every one to
    /// pass, one failure fails them all, anything else is inconclusive.
    pub fn all(verdicts: impl IntoIterator<Item = Verdict>) -> Verdict {
        let mut out = Verdict::Pass;
        for v in verdicts {
            match v {
                Verdict::Fail => return Verdict::Fail,
                Verdict::Inconclusive => out = Verdict::Inconclusive,
                Verdict::Pass => {}
            }
        }
        out
    }
}

/// One headline metric over the replications. `mean`, `ci_low` and
/// `ci_high` are null when no replication defines it (and the interval is
/// null with fewer than two that do).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MetricEstimate {
    pub metric: &'static str,
    pub label: &'static str,
    pub unit: &'static str,
    pub better: Better,
    pub mean: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    /// Replications that define the metric (an alert that never fired leaves
    /// time to detect undefined).
    pub n: usize,
}

/// One SLO over the replications.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SloEstimate {
    pub name: String,
    pub objective: String,
    pub window: String,
    /// Replications in which the objective was met.
    pub met: usize,
    pub replications: usize,
    /// Mean and confidence interval of the observed value, in the
    /// objective's unit (as `slos[].observed` of a single run).
    pub observed_mean: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    /// `287ms [280ms, 296ms]`.
    pub observed_text: String,
    pub verdict: Verdict,
    /// The verdict in words, with its confidence.
    pub statement: String,
}

/// The `replications` block of `summary.json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Replications {
    pub replications: usize,
    /// Replication `i` used seed `first_seed + i`.
    pub first_seed: u64,
    pub confidence: f64,
    pub metrics: Vec<MetricEstimate>,
    /// Latency percentiles over every successful request of every
    /// replication (their HDR histograms merged), ms.
    pub latency_pooled_ms: LatencySummary,
    pub slos: Vec<SloEstimate>,
    /// `pass` when every SLO holds with the stated confidence (or none is
    /// declared), `fail` when one fails with it, else `inconclusive`.
    pub verdict: Verdict,
}

impl Replications {
    /// The confidence level as a percentage for text: `95%`, `99.9%`.
    pub fn confidence_text(&self) -> String {
        confidence_pct(self.confidence)
    }
}

/// `0.95` as `95%`.
pub fn confidence_pct(c: f64) -> String {
    let pct = (c * 1000.0).round() / 10.0;
    format!("{pct}%")
}

/// A number with about four significant digits, no exponent; whole numbers
/// of 10,000 and more grouped in thousands; `n/a` when not finite.
pub fn num(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".into();
    }
    let a = v.abs();
    if a >= 10_000.0 {
        let sign = if v < 0.0 { "-" } else { "" };
        return format!("{sign}{}", super::numbers::thousands(a.round() as u64));
    }
    // Decimals for four significant digits, judged after rounding so that
    // 99.996 prints as 100.0, not 100.00.
    let decimals_for = |a: f64| match a {
        a if a >= 1000.0 || a == 0.0 => 0,
        a if a >= 100.0 => 1,
        a if a >= 10.0 => 2,
        a if a >= 1.0 => 3,
        _ => 4,
    };
    let mut decimals = decimals_for(a);
    let rounded: f64 = format!("{a:.decimals$}").parse().unwrap_or(a);
    decimals = decimals.min(decimals_for(rounded));
    let s = format!("{v:.decimals$}");
    if s.trim_start_matches('-').chars().all(|c| c == '0' || c == '.') { "0".into() } else { s }
}

/// A value with its unit: `3%`, `3 ms`, `3` for a count.
pub fn with_unit(v: String, unit: &str) -> String {
    match unit {
        "" => v,
        "%" => format!("{v}%"),
        u => format!("{v} {u}"),
    }
}

impl MetricEstimate {
    /// `43.40 ms`, or `n/a`.
    pub fn mean_text(&self) -> String {
        self.mean.map_or_else(|| "n/a".into(), |m| with_unit(num(m), self.unit))
    }

    /// `[42.9, 43.9]`, or a reason there is none.
    pub fn interval_text(&self) -> String {
        match (self.ci_low, self.ci_high) {
            (Some(lo), Some(hi)) => format!("[{}, {}]", num(lo), num(hi)),
            _ if self.n == 0 => "undefined in every replication".into(),
            _ => "fewer than 2 replications define it".into(),
        }
    }
}

/// The rows of the metric table (terminal, HTML and Markdown): metric,
/// mean, interval, replications defining it. Metrics no replication
/// defines (no incident window, no alert) are left out.
pub fn metric_rows(r: &Replications) -> Vec<[String; 4]> {
    r.metrics
        .iter()
        .filter(|m| m.n > 0)
        .map(|m| {
            let n = if m.n < r.replications { format!("{}/{}", m.n, r.replications) } else { m.n.to_string() };
            [m.label.to_string(), m.mean_text(), m.interval_text(), n]
        })
        .collect()
}

/// The terminal block: a table of the metrics and one line per SLO.
pub fn text_block(r: &Replications) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "Over {} replications (seeds {}..{}), means with {} Student-t confidence intervals:",
        r.replications,
        r.first_seed,
        r.first_seed.saturating_add(r.replications as u64 - 1),
        r.confidence_text()
    );
    let head = ["metric".to_string(), "mean".into(), format!("{} CI", r.confidence_text()), "runs".into()];
    let rows: Vec<[String; 4]> = std::iter::once(head).chain(metric_rows(r)).collect();
    let widths: Vec<usize> = (0..4).map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0)).collect();
    for row in &rows {
        let cells: Vec<String> = row.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        let _ = writeln!(o, "  {}", cells.join("  ").trim_end());
    }
    let p = &r.latency_pooled_ms;
    let _ = writeln!(
        o,
        "  latency of all replications' requests pooled: p50 {} · p90 {} · p99 {} · p99.9 {} · max {}",
        super::numbers::ms(p.p50),
        super::numbers::ms(p.p90),
        super::numbers::ms(p.p99),
        super::numbers::ms(p.p999),
        super::numbers::ms(p.max)
    );
    for s in &r.slos {
        let _ = writeln!(o, "SLO {:<4} {}", s.verdict.as_str().to_uppercase(), s.statement);
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_combine_fail_first() {
        use Verdict::*;
        assert_eq!(Verdict::all([Pass, Pass]), Pass);
        assert_eq!(Verdict::all([Pass, Inconclusive]), Inconclusive);
        assert_eq!(Verdict::all([Inconclusive, Fail, Pass]), Fail);
        assert_eq!(Verdict::all([]), Pass);
    }

    #[test]
    fn numbers_keep_about_four_significant_digits() {
        assert_eq!(num(0.0), "0");
        assert_eq!(num(0.000_01), "0");
        assert_eq!(num(0.123_456), "0.1235");
        assert_eq!(num(-99.996), "-100.0");
        assert_eq!(num(2761.4), "2761");
        assert_eq!(num(2_769_612.0), "2,769,612");
        assert_eq!(num(f64::NAN), "n/a");
        assert_eq!(with_unit("3".into(), "%"), "3%");
        assert_eq!(with_unit("3".into(), "ms"), "3 ms");
        assert_eq!(confidence_pct(0.95), "95%");
        assert_eq!(confidence_pct(0.999), "99.9%");
    }
}

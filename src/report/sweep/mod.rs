//! A sweep's outputs: `sweep.json` (every point with its replications
//! block), `sweep.csv` (tidy: one row per point and metric), the knees of
//! the curves, and the data the sweep's charts and `report.html` draw.
//!
//! Everything here is computed from the plan and the points' estimates
//! alone, never from wall-clock time or the machine, so a sweep run on one
//! machine and the same sweep merged from shards give the same bytes.

pub mod html;

use serde::Serialize;

use super::design::{Axis, AxisValue, SloDef};
use super::replications::{Replications, Verdict};
use crate::error::Error;
use crate::metrics::series::format_value;
use crate::model::slos::SloMetric;

/// One point of the grid with what its replications say.
#[derive(Clone, Debug, Serialize)]
pub struct PointReport {
    pub index: usize,
    /// One per axis, in `--vary` order.
    pub values: Vec<AxisValue>,
    /// `servers.app.count=24 clients.web.rate=4000/s`.
    pub label: String,
    pub replications: Replications,
}

/// Where a curve bends most.
#[derive(Clone, Debug, Serialize)]
pub struct Knee {
    pub metric: &'static str,
    /// The values of the other axes that fix the curve (empty for one axis).
    pub series: String,
    /// The point at the knee, and its value on the first axis.
    pub point: usize,
    pub value: String,
    /// The knee's distance from the straight line through the curve's ends,
    /// with both axes scaled to 0..1 (at least [`KNEE_MIN_DISTANCE`]).
    pub distance: f64,
}

/// An SLO's threshold, for the charts.
#[derive(Clone, Debug, Serialize)]
pub struct SloThreshold {
    /// Index in each point's `replications.slos`.
    pub slo: usize,
    pub name: String,
    pub objective: String,
    /// The threshold in the objective's unit (as `observed_mean`).
    pub value: f64,
    /// The headline metric the objective bounds over the same window, and
    /// the threshold in that metric's unit (null when none matches, e.g.
    /// `p999` or an explicit window: the SLO then gets a chart of its own).
    pub metric: Option<&'static str>,
    pub metric_value: Option<f64>,
}

/// The whole sweep: what `sweep.json` holds.
#[derive(Clone, Debug, Serialize)]
pub struct SweepReport {
    pub lbsim_version: String,
    pub scenario: String,
    pub description: String,
    pub file: String,
    /// `--set` overrides applied to every point.
    pub sets: Vec<String>,
    pub axes: Vec<Axis>,
    pub replications: usize,
    pub first_seed: u64,
    pub confidence: f64,
    /// `--down K`: the K largest servers of each group were out at every point.
    pub down: u32,
    pub points: Vec<PointReport>,
    pub thresholds: Vec<SloThreshold>,
    pub knees: Vec<Knee>,
}

/// Smallest bend that counts as a knee (in the unit square the curve is
/// scaled to; a right-angled hockey stick is about 0.5).
pub const KNEE_MIN_DISTANCE: f64 = 0.1;

/// Fewest points a curve needs to have a knee.
pub const KNEE_MIN_POINTS: usize = 4;

impl SweepReport {
    /// The points that share every axis value but the first's: one curve
    /// each, in point order, with the label of the fixed values.
    pub fn curves(&self) -> Vec<(String, Vec<usize>)> {
        let mut out: Vec<(String, Vec<usize>)> = Vec::new();
        for p in &self.points {
            let key = self
                .axes
                .iter()
                .zip(&p.values)
                .skip(1)
                .map(|(a, v)| format!("{}={}", a.path, v.text))
                .collect::<Vec<_>>()
                .join(" ");
            match out.iter_mut().find(|(k, _)| *k == key) {
                Some((_, idx)) => idx.push(p.index),
                None => out.push((key, vec![p.index])),
            }
        }
        out
    }

    /// Finds the knee of every metric's curve along a numeric first axis.
    /// A curve is only searched when it has at least [`KNEE_MIN_POINTS`]
    /// points and rises (or falls) from its lowest to its highest mean by
    /// more than the widest confidence interval on it: a knee in noise is
    /// not a knee.
    pub fn find_knees(&mut self) {
        let mut knees = Vec::new();
        if self.axes.first().is_some_and(|a| a.kind.is_numeric()) {
            for (series, idx) in self.curves() {
                for (m, metric) in self.points[0].replications.metrics.iter().enumerate() {
                    let mut widest = 0.0f64;
                    let pts: Vec<(f64, f64)> = idx
                        .iter()
                        .filter_map(|&p| {
                            let point = &self.points[p];
                            let est = &point.replications.metrics[m];
                            widest = widest.max(est.ci_high.zip(est.ci_low).map_or(f64::INFINITY, |(h, l)| h - l));
                            Some((point.values[0].number?, est.mean?))
                        })
                        .collect();
                    let (lo, hi) =
                        pts.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), p| (l.min(p.1), h.max(p.1)));
                    if pts.len() != idx.len()
                        || pts.len() < KNEE_MIN_POINTS
                        || (hi - lo).partial_cmp(&widest) != Some(std::cmp::Ordering::Greater)
                    {
                        continue;
                    }
                    if let Some((at, distance)) = knee(&pts) {
                        let point = idx[at];
                        knees.push(Knee {
                            metric: metric.metric,
                            series: series.clone(),
                            point,
                            value: self.points[point].values[0].text.clone(),
                            distance,
                        });
                    }
                }
            }
        }
        self.knees = knees;
    }

    /// Whether the scenario declares any SLO.
    pub fn slos_declared(&self) -> bool {
        self.points.first().is_some_and(|p| !p.replications.slos.is_empty())
    }

    /// How many points pass, fail and are inconclusive on their SLOs.
    pub fn verdict_counts(&self) -> (usize, usize, usize) {
        let count = |v: Verdict| self.points.iter().filter(|p| p.replications.verdict == v).count();
        (count(Verdict::Pass), count(Verdict::Fail), count(Verdict::Inconclusive))
    }
}

/// The index of the point furthest from the chord through the first and
/// last points, both axes scaled to 0..1 (the "elbow" or Kneedle
/// criterion), with its distance; None for fewer than three points, a flat
/// curve, or a bend under [`KNEE_MIN_DISTANCE`].
pub fn knee(points: &[(f64, f64)]) -> Option<(usize, f64)> {
    if points.len() < 3 {
        return None;
    }
    let (x0, x1) = (points[0].0, points[points.len() - 1].0);
    let (lo, hi) = points.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), p| (l.min(p.1), h.max(p.1)));
    let rises = |a: f64, b: f64| b.partial_cmp(&a) == Some(std::cmp::Ordering::Greater);
    if !rises(x0, x1) || !rises(lo, hi) {
        return None;
    }
    let scaled: Vec<(f64, f64)> = points.iter().map(|&(x, y)| ((x - x0) / (x1 - x0), (y - lo) / (hi - lo))).collect();
    let (a, b) = (scaled[0], scaled[scaled.len() - 1]);
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let norm = (dx * dx + dy * dy).sqrt();
    let (at, distance) = scaled
        .iter()
        .enumerate()
        .skip(1)
        .take(scaled.len() - 2)
        .map(|(i, p)| (i, ((p.0 - a.0) * dy - (p.1 - a.1) * dx).abs() / norm))
        .fold((0, 0.0), |best, c| if c.1 > best.1 { c } else { best });
    (distance >= KNEE_MIN_DISTANCE).then_some((at, distance))
}

/// Each SLO's threshold, and the headline metric it bounds when one does.
pub fn thresholds(slos: &[SloDef]) -> Vec<SloThreshold> {
    slos.iter()
        .enumerate()
        .filter_map(|(i, def)| {
            let o = def.parsed().ok()?;
            let t = o.threshold;
            let on = |run: &'static str, incident: Option<&'static str>| match def.window.as_str() {
                "run" => Some(run),
                "incident" => incident,
                _ => None,
            };
            let (metric, value) = match o.metric {
                SloMetric::P50 => (on("latency_p50_ms", None), t),
                SloMetric::P99 => (on("latency_p99_ms", None), t),
                SloMetric::Mean => (on("latency_mean_ms", None), t),
                SloMetric::ErrorRate => (on("error_rate_pct", Some("incident_error_rate_pct")), 100.0 * t),
                SloMetric::Availability => (on("error_rate_pct", Some("incident_error_rate_pct")), 100.0 * (1.0 - t)),
                SloMetric::UsersAffected => (on("users_affected_pct", Some("incident_users_affected_pct")), t),
                SloMetric::UsersUnable => (on("users_unable_pct", Some("incident_users_unable_pct")), t),
                SloMetric::UsersSlowed => (on("users_slowed_pct", None), t),
                SloMetric::Throughput => (on("throughput_rps", None), t),
                SloMetric::P90 | SloMetric::P999 | SloMetric::Max => (None, t),
            };
            Some(SloThreshold {
                slo: i,
                name: def.name.clone(),
                objective: def.objective.clone(),
                value: t,
                metric,
                metric_value: metric.map(|_| value),
            })
        })
        .collect()
}

/// `sweep.json`.
pub fn json(r: &SweepReport) -> Result<Vec<u8>, Error> {
    let mut bytes = serde_json::to_vec_pretty(r).map_err(|e| Error::Internal(format!("serialising the sweep: {e}")))?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// `sweep.csv`: tidy, one row per point and metric (headline metrics, the
/// pooled latency percentiles, then each SLO's observed value with its
/// verdict).
pub fn csv(r: &SweepReport) -> Result<Vec<u8>, Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let internal = |e: csv::Error| Error::Internal(format!("building sweep.csv: {e}"));
    let mut header = vec!["point".to_string()];
    header.extend(r.axes.iter().map(|a| a.path.clone()));
    header.extend(
        ["metric", "unit", "mean", "ci_low", "ci_high", "n", "replications", "verdict", "met"].map(String::from),
    );
    w.write_record(&header).map_err(internal)?;
    let f = |v: Option<f64>| v.map(format_value).unwrap_or_default();
    for p in &r.points {
        let rep = &p.replications;
        let lead: Vec<String> =
            std::iter::once(p.index.to_string()).chain(p.values.iter().map(|v| v.text.clone())).collect();
        let mut row = |cells: [String; 9]| {
            let mut record = lead.clone();
            record.extend(cells);
            w.write_record(&record)
        };
        let n = rep.replications.to_string();
        for m in &rep.metrics {
            row([
                m.metric.into(),
                m.unit.into(),
                f(m.mean),
                f(m.ci_low),
                f(m.ci_high),
                m.n.to_string(),
                n.clone(),
                String::new(),
                String::new(),
            ])
            .map_err(internal)?;
        }
        let pooled = &rep.latency_pooled_ms;
        for (key, v) in [
            ("pooled_latency_p50_ms", pooled.p50),
            ("pooled_latency_p90_ms", pooled.p90),
            ("pooled_latency_p99_ms", pooled.p99),
            ("pooled_latency_p999_ms", pooled.p999),
            ("pooled_latency_max_ms", pooled.max),
        ] {
            row([
                key.into(),
                "ms".into(),
                format_value(v),
                String::new(),
                String::new(),
                n.clone(),
                n.clone(),
                String::new(),
                String::new(),
            ])
            .map_err(internal)?;
        }
        for s in &rep.slos {
            row([
                format!("slo:{}", s.name),
                String::new(),
                f(s.observed_mean),
                f(s.ci_low),
                f(s.ci_high),
                s.replications.to_string(),
                n.clone(),
                s.verdict.as_str().into(),
                s.met.to_string(),
            ])
            .map_err(internal)?;
        }
    }
    w.into_inner().map_err(|e| Error::Internal(format!("building sweep.csv: {e}")))
}

/// The point label: `servers.app.count=24 clients.web.rate=4000/s`.
pub fn point_label(axes: &[Axis], values: &[AxisValue]) -> String {
    axes.iter().zip(values).map(|(a, v)| format!("{}={}", a.path, v.text)).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_knee_is_where_the_curve_leaves_its_chord_furthest() {
        // A hockey stick: flat, then rising from x = 6.
        let pts: Vec<(f64, f64)> =
            (0..10).map(|x| (f64::from(x), if x < 6 { 10.0 } else { 10.0 + 30.0 * f64::from(x - 5) })).collect();
        assert_eq!(knee(&pts).map(|k| k.0), Some(5));
        // A decreasing curve bends too (p99 against servers).
        let down: Vec<(f64, f64)> = (1..=8).map(|n| (f64::from(n), 100.0 / f64::from(n))).collect();
        let (at, d) = knee(&down).unwrap();
        assert!((1..=3).contains(&at) && d > 0.3, "{at} {d}");
        // Straight lines and flat curves have none; two points are not a curve.
        let line: Vec<(f64, f64)> = (0..5).map(|x| (f64::from(x), 2.0 * f64::from(x))).collect();
        assert_eq!(knee(&line), None);
        assert_eq!(knee(&[(0.0, 1.0), (1.0, 1.0), (2.0, 1.0)]), None);
        assert_eq!(knee(&[(0.0, 1.0), (1.0, 5.0)]), None);
    }
}

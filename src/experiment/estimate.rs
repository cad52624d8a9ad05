//! From the samples of N replications to what they say together: each
//! headline metric's mean and Student-t interval, pooled latency
//! percentiles, and each SLO's verdict with its confidence.
//!
//! An SLO *holds with confidence C* when the whole C-level interval of its
//! observed value's mean lies on the passing side of the threshold (so the
//! one-sided confidence is at least C), *fails with confidence C* when the
//! whole interval lies on the failing side, and is *inconclusive* otherwise:
//! more replications narrow the interval and may decide it. A replication
//! whose window saw no data fails the objective, as a single run does.
//! Intervals are clipped at zero below, since every value is non-negative.

use super::sample::{LatencyPool, Sample};
use crate::model::slos::{CmpOp, Objective, SloUnit};
use crate::report::design::SloDef;
use crate::report::headline::METRICS;
use crate::report::replications::{MetricEstimate, Replications, SloEstimate, Verdict, confidence_pct, num};
use crate::validation::stats::{Estimate, mean_ci};

/// The replications of one configuration as they finish, in any order: the
/// samples kept by replication, the latencies merged into one pool at once
/// (histograms add exactly, so the order they come in does not matter).
pub(crate) struct PointAccumulator {
    samples: Vec<Option<Sample>>,
    pool: Option<LatencyPool>,
    missing: usize,
}

impl PointAccumulator {
    pub(crate) fn new(replications: usize) -> PointAccumulator {
        PointAccumulator { samples: vec![None; replications], pool: None, missing: replications }
    }

    /// Adds replication `r`; true once every replication is in.
    pub(crate) fn add(&mut self, r: usize, sample: Sample, latency: LatencyPool) -> bool {
        if self.samples[r].replace(sample).is_none() {
            self.missing -= 1;
        }
        match &mut self.pool {
            Some(p) => p.merge(&latency),
            None => self.pool = Some(latency),
        }
        self.missing == 0
    }

    /// What the replications say together (those added, in replication order).
    pub(crate) fn finish(self, slos: &[SloDef], first_seed: u64, confidence: f64) -> Replications {
        let samples: Vec<Sample> = self.samples.into_iter().flatten().collect();
        estimate(&samples, self.pool.as_ref(), slos, first_seed, confidence)
    }
}

/// Every metric and SLO over the samples of one configuration; `pooled`
/// holds the latencies of all of them merged.
pub(crate) fn estimate(
    samples: &[Sample],
    pooled: Option<&LatencyPool>,
    slos: &[SloDef],
    first_seed: u64,
    confidence: f64,
) -> Replications {
    let metrics = METRICS
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let values: Vec<f64> = samples.iter().filter_map(|s| s.metrics.get(i).copied().flatten()).collect();
            let e = mean_ci(&values, confidence);
            let (lo, hi) = interval(&e);
            MetricEstimate {
                metric: m.key,
                label: m.label,
                unit: m.unit,
                better: m.better,
                mean: (e.n > 0 && e.mean.is_finite()).then_some(e.mean),
                ci_low: lo,
                ci_high: hi,
                n: e.n,
            }
        })
        .collect();
    let slos: Vec<SloEstimate> = slos.iter().enumerate().map(|(i, def)| judge(def, i, samples, confidence)).collect();
    Replications {
        replications: samples.len(),
        first_seed,
        confidence,
        metrics,
        latency_pooled_ms: pooled.map(LatencyPool::summary).unwrap_or_default(),
        verdict: Verdict::all(slos.iter().map(|s| s.verdict)),
        slos,
    }
}

/// The interval's ends when it is informative, the lower clipped at zero:
/// every headline metric and SLO value is a count, rate, share or time.
fn interval(e: &Estimate) -> (Option<f64>, Option<f64>) {
    if e.is_informative() { (Some(e.lo().max(0.0)), Some(e.hi())) } else { (None, None) }
}

/// A value of the objective's metric with about four significant digits
/// and its unit: `287.4ms`, `0.0412%`, `1200/s`.
fn show(o: &Objective, v: f64) -> String {
    match o.metric.unit() {
        SloUnit::Millis => format!("{}ms", num(v)),
        SloUnit::Fraction => format!("{}%", num(100.0 * v)),
        SloUnit::PercentOfUsers => format!("{}%", num(v)),
        SloUnit::PerSecond => format!("{}/s", num(v)),
    }
}

/// Whether lower values pass the objective.
fn lower_passes(op: CmpOp) -> bool {
    matches!(op, CmpOp::Lt | CmpOp::Le)
}

/// One SLO over the samples.
fn judge(def: &SloDef, index: usize, samples: &[Sample], confidence: f64) -> SloEstimate {
    let n = samples.len();
    let met = samples.iter().filter(|s| s.slos.get(index).is_some_and(|x| x.met)).count();
    let observed: Vec<f64> = samples.iter().filter_map(|s| s.slos.get(index).and_then(|x| x.observed)).collect();
    let e = mean_ci(&observed, confidence);
    let (lo, hi) = interval(&e);
    let objective = def.parsed().ok();
    let fmt = |v: f64| objective.as_ref().map_or_else(|| num(v), |o| show(o, v));
    let conf = confidence_pct(confidence);
    let met_text = format!("met in {met}/{n} replications");
    let title = def.title();
    let (verdict, statement) = match (&objective, lo, hi) {
        _ if observed.is_empty() => {
            (Verdict::Fail, format!("{title} fails: no replication saw data in its window ({met_text})"))
        }
        (Some(o), Some(lo), Some(hi)) if observed.len() == n => {
            let (best, worst) = if lower_passes(o.op) { (hi, lo) } else { (lo, hi) };
            let range = format!("mean {}, {conf} CI [{}, {}]", fmt(e.mean), fmt(lo), fmt(hi));
            if o.op.holds(best, o.threshold) {
                (Verdict::Pass, format!("{title} holds with {conf} confidence: {range}, {met_text}"))
            } else if !o.op.holds(worst, o.threshold) {
                (Verdict::Fail, format!("{title} fails with {conf} confidence: {range}, {met_text}"))
            } else {
                (
                    Verdict::Inconclusive,
                    format!(
                        "{title} is inconclusive at {conf}: {range} straddles {} ({met_text}); more replications may decide it",
                        fmt(o.threshold)
                    ),
                )
            }
        }
        _ if observed.len() < n => (
            Verdict::Inconclusive,
            format!(
                "{title} is inconclusive: only {} of {n} replications saw data in its window ({met_text})",
                observed.len()
            ),
        ),
        _ => (Verdict::Inconclusive, format!("{title} is inconclusive: fewer than 2 replications ({met_text})")),
    };
    let observed_text = match (lo, hi) {
        (Some(lo), Some(hi)) => format!("{} [{}, {}]", fmt(e.mean), fmt(lo), fmt(hi)),
        _ if e.n > 0 => fmt(e.mean),
        _ => "n/a".into(),
    };
    SloEstimate {
        name: def.name.clone(),
        objective: def.objective.clone(),
        window: def.window.clone(),
        met,
        replications: n,
        observed_mean: (e.n > 0).then_some(e.mean),
        ci_low: lo,
        ci_high: hi,
        observed_text,
        verdict,
        statement,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::sample::SloSample;

    fn samples(observed: &[Option<f64>], threshold_below: f64) -> Vec<Sample> {
        observed
            .iter()
            .enumerate()
            .map(|(i, &o)| Sample {
                seed: i as u64,
                metrics: METRICS.iter().map(|_| Some(i as f64)).collect(),
                slos: vec![SloSample { observed: o, met: o.is_some_and(|v| v < threshold_below) }],
            })
            .collect()
    }

    fn def(objective: &str) -> SloDef {
        SloDef { name: objective.into(), objective: objective.into(), window: "run".into() }
    }

    fn verdict(observed: &[Option<f64>], objective: &str) -> SloEstimate {
        estimate(&samples(observed, 300.0), None, &[def(objective)], 1, 0.95).slos.remove(0)
    }

    #[test]
    fn an_slo_holds_only_when_the_whole_interval_passes() {
        let s = verdict(&[Some(280.0), Some(285.0), Some(290.0)], "p99 < 300ms");
        assert_eq!((s.verdict, s.met, s.replications), (Verdict::Pass, 3, 3));
        assert!(s.statement.starts_with("`p99 < 300ms` holds with 95% confidence: mean 285.0ms"), "{}", s.statement);
        // Mean 290, t(0.975, 2) = 4.303, s = 10: half-width 24.8 reaches past 300.
        let s = verdict(&[Some(280.0), Some(290.0), Some(300.0)], "p99 < 300ms");
        assert_eq!(s.verdict, Verdict::Inconclusive, "{}", s.statement);
        assert!(s.statement.contains("straddles 300.0ms"), "{}", s.statement);
        let s = verdict(&[Some(350.0), Some(360.0), Some(355.0)], "p99 < 300ms");
        assert_eq!((s.verdict, s.met), (Verdict::Fail, 0));
        // Objectives met from above: throughput >= 100/s.
        let s = verdict(&[Some(120.0), Some(121.0), Some(119.0)], "throughput >= 100/s");
        assert_eq!(s.verdict, Verdict::Pass);
        let s = verdict(&[Some(80.0), Some(81.0), Some(79.0)], "throughput >= 100/s");
        assert_eq!(s.verdict, Verdict::Fail);
    }

    #[test]
    fn missing_data_fails_or_leaves_it_open() {
        assert_eq!(verdict(&[None, None], "p99 < 300ms").verdict, Verdict::Fail);
        let s = verdict(&[Some(100.0), None, Some(110.0)], "p99 < 300ms");
        assert_eq!(s.verdict, Verdict::Inconclusive);
        assert!(s.statement.contains("only 2 of 3"), "{}", s.statement);
        assert_eq!(verdict(&[Some(100.0)], "p99 < 300ms").verdict, Verdict::Inconclusive);
        // A constant value has a zero-width interval, decided either way.
        assert_eq!(verdict(&[Some(0.0), Some(0.0)], "error_rate < 0.1%").verdict, Verdict::Pass);
    }

    #[test]
    fn metrics_get_means_and_intervals() {
        let r = estimate(&samples(&[Some(1.0), Some(2.0), Some(3.0)], 300.0), None, &[], 5, 0.95);
        let m = &r.metrics[0];
        assert_eq!((m.mean, m.n), (Some(1.0), 3));
        let (lo, hi) = (m.ci_low.unwrap(), m.ci_high.unwrap());
        // Values 0, 1, 2: s = 1, t(0.975, 2) = 4.3027, half-width 2.484;
        // the lower end, -1.48, is clipped at zero.
        assert!((hi - 1.0 - 4.302_652_729_7 / 3f64.sqrt()).abs() < 1e-6, "{lo} {hi}");
        assert_eq!(lo, 0.0);
        assert_eq!((r.replications, r.first_seed, r.verdict), (3, 5, Verdict::Pass));
        let one = estimate(&samples(&[Some(1.0)], 300.0), None, &[], 5, 0.95);
        assert_eq!((one.metrics[0].mean, one.metrics[0].ci_low), (Some(0.0), None));
    }
}

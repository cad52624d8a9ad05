//! The statistics of `lbsim compare` (experiment engine): a baseline and a
//! changed scenario run over the same N replications with common random numbers (replication `i` of both uses
//! seed `seed + i`, and every random stream is named after its entity, so
//! the same users send the same requests at the same times on both sides).
//! Each headline metric's difference gets a paired Student-t confidence
//! interval; it is significant when that interval excludes zero. Common
//! random numbers make intervals so narrow that a 0.01% change can be
//! significant, so a verdict of better or worse also needs the change to be
//! at least `--min-effect` percent of the baseline (the noise floor users of
//! benchmark comparisons ask for); smaller significant changes are
//! `negligible`.

use serde::Serialize;

use crate::report::Summary;
use crate::report::headline::{Better, METRICS, Metric};
use crate::validation::stats::{Estimate, diff_ci, mean_ci};

/// One metric compared.
#[derive(Clone, Debug, Serialize)]
pub struct MetricComparison {
    pub metric: &'static str,
    pub label: &'static str,
    pub unit: &'static str,
    pub better: Better,
    pub baseline_mean: f64,
    pub baseline_half_width: f64,
    pub changed_mean: f64,
    pub changed_half_width: f64,
    /// Changed minus baseline, over the replications where both are defined.
    pub difference: f64,
    pub difference_low: f64,
    pub difference_high: f64,
    /// The difference relative to the baseline mean over the paired
    /// replications, % (null when that is 0).
    pub relative_pct: Option<f64>,
    pub significant: bool,
    pub verdict: Effect,
    /// Replications where both runs define the metric.
    pub pairs: usize,
    /// In how many replications each side defined it (e.g. an alert fired).
    pub baseline_defined: usize,
    pub changed_defined: usize,
}

/// What a change did to one metric.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Effect {
    #[serde(rename = "better")]
    Better,
    #[serde(rename = "worse")]
    Worse,
    /// Significant, but smaller than the minimum effect.
    #[serde(rename = "negligible")]
    Negligible,
    #[serde(rename = "no significant change")]
    NoSignificantChange,
    /// Fewer than two replications define it, or the sides define it in different replications.
    #[serde(rename = "not comparable")]
    NotComparable,
}

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Better => "better",
            Effect::Worse => "worse",
            Effect::Negligible => "negligible",
            Effect::NoSignificantChange => "no significant change",
            Effect::NotComparable => "not comparable",
        }
    }
}

/// The whole comparison.
#[derive(Clone, Debug, Serialize)]
pub struct RunComparison {
    pub baseline: String,
    pub baseline_file: String,
    pub changed: String,
    pub changed_file: String,
    /// Overrides on both sides, and on the changed side only.
    pub sets: Vec<String>,
    pub changes: Vec<String>,
    pub replications: usize,
    pub first_seed: u64,
    pub confidence: f64,
    pub min_effect_pct: f64,
    pub rows: Vec<MetricComparison>,
}

/// Every headline metric compared; a metric neither side ever defines (no
/// incident window, say) is left out.
pub(crate) fn rows(
    base: &[&Summary],
    changed: &[&Summary],
    confidence: f64,
    min_effect_pct: f64,
) -> Vec<MetricComparison> {
    METRICS
        .iter()
        .map(|m| compare_metric(m, base, changed, confidence, min_effect_pct))
        .filter(|r| r.baseline_defined + r.changed_defined > 0)
        .collect()
}

/// One metric compared over the paired replications of both sides.
pub(crate) fn compare_metric(
    m: &Metric,
    base: &[&Summary],
    changed: &[&Summary],
    confidence: f64,
    min_effect_pct: f64,
) -> MetricComparison {
    let values = |side: &[&Summary]| side.iter().map(|s| (m.get)(s)).collect::<Vec<Option<f64>>>();
    let (a, b) = (values(base), values(changed));
    let defined = |v: &[Option<f64>]| v.iter().flatten().copied().collect::<Vec<f64>>();
    let (pa, pb): (Vec<f64>, Vec<f64>) = a.iter().zip(&b).filter_map(|(x, y)| Some(((*x)?, (*y)?))).unzip();
    let ea = mean_ci(&defined(&a), confidence);
    let eb = mean_ci(&defined(&b), confidence);
    let d = diff_ci(&pa, &pb, confidence);
    let significant = d.excludes_zero();
    let improves = match m.better {
        Better::Lower => d.mean < 0.0,
        Better::Higher => d.mean > 0.0,
    };
    // Relative to the baseline over the same pairs the difference is taken on.
    let paired_base = pa.iter().sum::<f64>() / pa.len() as f64;
    let relative_pct = (paired_base.abs() > 0.0 && d.mean.is_finite()).then(|| 100.0 * d.mean / paired_base);
    // From a baseline of zero every change is large.
    let large = relative_pct.is_none_or(|p| p.abs() >= min_effect_pct);
    // When the sides disagree on whether the metric exists (an alert fired
    // in 10 baseline runs and 7 changed ones), a difference over the runs
    // where both have it would hide that disagreement.
    let comparable = pa.len() >= 2 && pa.len() == ea.n && pa.len() == eb.n;
    let verdict = match (significant, large, improves) {
        _ if !comparable => Effect::NotComparable,
        (false, _, _) => Effect::NoSignificantChange,
        (true, false, _) => Effect::Negligible,
        (true, true, true) => Effect::Better,
        (true, true, false) => Effect::Worse,
    };
    let finite = |e: &Estimate| if e.half_width.is_finite() { e.half_width } else { f64::NAN };
    MetricComparison {
        metric: m.key,
        label: m.label,
        unit: m.unit,
        better: m.better,
        baseline_mean: ea.mean,
        baseline_half_width: finite(&ea),
        changed_mean: eb.mean,
        changed_half_width: finite(&eb),
        difference: d.mean,
        difference_low: d.lo(),
        difference_high: d.hi(),
        relative_pct,
        significant,
        verdict,
        pairs: pa.len(),
        baseline_defined: ea.n,
        changed_defined: eb.n,
    }
}

#[cfg(test)]
/// A tiny run's summary with its mean latency set to `latency_mean`.
pub(crate) fn summary_with(latency_mean: f64) -> Summary {
    let world = crate::model::load_str(
        "t.yaml",
        "name: t\nduration: 2s\nclients:\n  c: {target: lb, rate: 10/s}\nbalancers:\n  lb: {backends: [s]}\n\
         servers:\n  s: {service: {constant: 1ms}}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut summary = Summary::build(&crate::sim::run_quiet(world), &crate::report::RunContext::default());
    summary.latency_ms.mean = latency_mean;
    summary
}

#[cfg(test)]
/// The mean-latency row of a comparison between sides with these means.
pub(crate) fn latency_mean_row(base: &[f64], changed: &[f64], min_effect: f64) -> MetricComparison {
    let metric = METRICS.iter().find(|m| m.key == "latency_mean_ms").unwrap();
    let a: Vec<Summary> = base.iter().map(|&v| summary_with(v)).collect();
    let b: Vec<Summary> = changed.iter().map(|&v| summary_with(v)).collect();
    compare_metric(metric, &a.iter().collect::<Vec<_>>(), &b.iter().collect::<Vec<_>>(), 0.95, min_effect)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(side: &[Summary]) -> Vec<&Summary> {
        side.iter().collect()
    }

    #[test]
    fn verdicts_need_significance_and_a_large_enough_effect() {
        // Paired differences -10, -11, -9: significant, 20% of the baseline.
        let r = latency_mean_row(&[50.0, 51.0, 49.0], &[40.0, 40.0, 40.0], 1.0);
        assert_eq!((r.difference, r.significant, r.verdict), (-10.0, true, Effect::Better));
        assert!((r.relative_pct.unwrap() + 20.0).abs() < 1e-12);
        // The same change under a 50% noise floor is negligible.
        assert_eq!(latency_mean_row(&[50.0, 51.0, 49.0], &[40.0, 40.0, 40.0], 50.0).verdict, Effect::Negligible);
        // Higher latency is worse.
        assert_eq!(latency_mean_row(&[40.0, 40.0, 40.0], &[50.0, 51.0, 49.0], 1.0).verdict, Effect::Worse);
        // Differences of both signs: the interval holds zero.
        let r = latency_mean_row(&[50.0, 50.0, 50.0], &[45.0, 55.0, 50.0], 1.0);
        assert!(!r.significant && r.difference_low < 0.0 && r.difference_high > 0.0);
        assert_eq!(r.verdict, Effect::NoSignificantChange);
        // A constant difference has a zero-width interval away from zero.
        let r = latency_mean_row(&[50.0, 50.0], &[49.0, 49.0], 1.0);
        assert_eq!((r.difference_low, r.difference_high, r.verdict), (-1.0, -1.0, Effect::Better));
        // One pair is not enough for an interval.
        assert_eq!(latency_mean_row(&[50.0], &[40.0], 1.0).verdict, Effect::NotComparable);
    }

    #[test]
    fn a_run_where_nothing_succeeded_has_no_latency() {
        let metric = METRICS.iter().find(|m| m.key == "latency_p99_ms").unwrap();
        let mut o = summary_with(50.0);
        assert!((metric.get)(&o).is_some());
        o.requests.completed = 0;
        assert_eq!((metric.get)(&o), None);
    }

    #[test]
    fn sides_that_disagree_on_whether_a_metric_exists_are_not_compared() {
        let metric = METRICS.iter().find(|m| m.key == "time_to_detect_min").unwrap();
        let side = |detections: &[Option<f64>]| -> Vec<Summary> {
            detections
                .iter()
                .map(|d| {
                    let mut o = summary_with(50.0);
                    o.impact.time_to_detect_s = *d;
                    o
                })
                .collect()
        };
        // The alert fired in all three baseline runs, in two changed ones:
        // the two pairs alone would call it better.
        let base = side(&[Some(600.0), Some(660.0), Some(600.0)]);
        let r = compare_metric(metric, &refs(&base), &refs(&side(&[Some(60.0), None, Some(60.0)])), 0.95, 1.0);
        assert_eq!((r.pairs, r.baseline_defined, r.changed_defined), (2, 3, 2));
        assert_eq!(r.verdict, Effect::NotComparable);
        // Defined in the same runs on both sides: compared, and the relative
        // change is taken over those runs (the pair at 660 is left out).
        let base = side(&[Some(600.0), None, Some(600.0)]);
        let r = compare_metric(metric, &refs(&base), &refs(&side(&[Some(60.0), None, Some(60.0)])), 0.95, 1.0);
        assert_eq!((r.pairs, r.verdict), (2, Effect::Better));
        assert!((r.relative_pct.unwrap() + 90.0).abs() < 1e-9, "{:?}", r.relative_pct);
    }
}

//! Made-up experiments for the tests of their charts and pages (test-only,
//! beside the experiment engine whose `--vary` parsing it uses): a sweep
//! over a grid of any axes whose metrics move with the first axis' position
//! like a server nearing saturation (p99 flat, then rising steeply), each
//! curve a little higher than the one before, with intervals 5% either side
//! of each mean; and a capacity search's probes.

use super::vary::parse_vary;
use crate::model::slos::parse_objective;
use crate::report::capacity::{CapacityReport, Probe};
use crate::report::design::{Axis, AxisValue, Kind, SloDef};
use crate::report::headline::METRICS;
use crate::report::replications::{MetricEstimate, Replications, SloEstimate, Verdict};
use crate::report::sweep::{PointReport, SweepReport, point_label, thresholds};

/// An axis from a `--vary` argument (`clients.web.rate=300/s..600/s/100/s`).
pub(crate) fn axis(arg: &str) -> Axis {
    parse_vary(arg).unwrap_or_else(|e| panic!("{arg}: {e}"))
}

/// A text axis of these choices.
pub(crate) fn choices(path: &str, values: &[&str]) -> Axis {
    let values = values.iter().map(|v| AxisValue { text: (*v).to_string(), number: None }).collect();
    Axis { path: path.to_string(), kind: Kind::Text, values }
}

/// Every combination of the axes' value indices, the first axis slowest.
fn grid(axes: &[Axis]) -> Vec<Vec<usize>> {
    let mut all = vec![Vec::new()];
    for a in axes {
        all = all
            .into_iter()
            .flat_map(|head| (0..a.values.len()).map(move |i| [head.clone(), vec![i]].concat()))
            .collect();
    }
    all
}

/// A metric's value at position `t` (0..1) along the first axis on curve `c`.
fn value(key: &str, t: f64, c: usize) -> Option<f64> {
    let c = c as f64;
    let stick = if t > 0.6 { (t - 0.6) * 2500.0 } else { 0.0 };
    Some(match key {
        "latency_p99_ms" => 80.0 + 15.0 * c + stick,
        "latency_p50_ms" => 20.0 + 10.0 * t + 2.0 * c,
        "latency_mean_ms" => 30.0 + 40.0 * t * t + 3.0 * c,
        "error_rate_pct" => 0.01 + 2.0 * t * t + 0.1 * c,
        "users_affected_pct" => 0.5 + 10.0 * t * t + c,
        "throughput_rps" => 300.0 + 300.0 * t,
        "time_to_detect_min" | "time_to_recover_min" => return None,
        _ => 0.0,
    })
}

/// An SLO's observed value (in its objective's unit) at `t` on curve `c`.
fn observed(objective: &str, t: f64, c: usize) -> Option<f64> {
    let o = parse_objective(objective).ok()?;
    let p99 = value("latency_p99_ms", t, c)?;
    Some(match o.metric.name() {
        "p999" => 2.5 * p99,
        "error_rate" => value("error_rate_pct", t, c)? / 100.0,
        _ => p99,
    })
}

/// A sweep over `axes` with these SLO objectives (judged over the run),
/// knees found as a sweep finds them.
pub(crate) fn sweep(axes: Vec<Axis>, objectives: &[&str]) -> SweepReport {
    let defs: Vec<SloDef> = objectives
        .iter()
        .map(|o| SloDef { name: (*o).to_string(), objective: (*o).to_string(), window: "run".into() })
        .collect();
    let n0 = axes.first().map_or(1, |a| a.values.len()).max(1);
    let points = grid(&axes)
        .into_iter()
        .enumerate()
        .map(|(index, idx)| {
            let values: Vec<AxisValue> = axes.iter().zip(&idx).map(|(a, &i)| a.values[i].clone()).collect();
            let t = idx.first().map_or(0.0, |&i| i as f64 / (n0 - 1).max(1) as f64);
            // The other axes' position, as one number: the curve.
            let c = idx.iter().skip(1).fold(0, |acc, &i| acc * 7 + i);
            PointReport { index, label: point_label(&axes, &values), values, replications: replications(&defs, t, c) }
        })
        .collect();
    let mut r = SweepReport {
        lbsim_version: "0.1.0".into(),
        scenario: "made-up".into(),
        description: "A <b>made-up</b> sweep & its 'quotes'".into(),
        file: "scenarios/made up.yaml".into(),
        sets: vec!["duration=40s".into()],
        axes,
        replications: 3,
        first_seed: 42,
        confidence: 0.95,
        down: 0,
        points,
        thresholds: thresholds(&defs),
        knees: Vec::new(),
    };
    r.find_knees();
    r
}

fn replications(defs: &[SloDef], t: f64, c: usize) -> Replications {
    let metrics = METRICS
        .iter()
        .map(|m| {
            let mean = value(m.key, t, c);
            MetricEstimate {
                metric: m.key,
                label: m.label,
                unit: m.unit,
                better: m.better,
                mean,
                ci_low: mean.map(|v| 0.95 * v),
                ci_high: mean.map(|v| 1.05 * v),
                n: if mean.is_some() { 3 } else { 0 },
            }
        })
        .collect();
    let slos: Vec<SloEstimate> = defs
        .iter()
        .map(|d| {
            let o = parse_objective(&d.objective).unwrap_or_else(|e| panic!("{e}"));
            let v = observed(&d.objective, t, c).unwrap_or(f64::NAN);
            let (lo, hi) = (0.95 * v, 1.05 * v);
            let verdict = if o.op.holds(hi, o.threshold) && o.op.holds(lo, o.threshold) {
                Verdict::Pass
            } else if !o.op.holds(hi, o.threshold) && !o.op.holds(lo, o.threshold) {
                Verdict::Fail
            } else {
                Verdict::Inconclusive
            };
            let met = match verdict {
                Verdict::Pass => 3,
                Verdict::Inconclusive => 2,
                Verdict::Fail => 0,
            };
            SloEstimate {
                name: d.name.clone(),
                objective: d.objective.clone(),
                window: d.window.clone(),
                met,
                replications: 3,
                observed_mean: Some(v),
                ci_low: Some(lo),
                ci_high: Some(hi),
                observed_text: format!("{} [{}, {}]", o.format_value(v), o.format_value(lo), o.format_value(hi)),
                verdict,
                statement: format!("`{}` is {} <at> 95%", d.objective, verdict.as_str()),
            }
        })
        .collect();
    Replications {
        replications: 3,
        first_seed: 42,
        confidence: 0.95,
        metrics,
        latency_pooled_ms: Default::default(),
        verdict: Verdict::all(slos.iter().map(|s| s.verdict)),
        slos,
    }
}

/// A probe at `number` (per second) whose p99 is `p99` ms (interval 10% either
/// side) and, when `error_rate` is given, a second SLO `error_rate < 1%`.
pub(crate) fn probe(order: usize, number: f64, p99: f64, verdict: Verdict, error_rate: Option<f64>) -> Probe {
    let mut r = sweep(vec![axis("a.b=1,2")], &["p99 < 300ms", "error_rate < 1%"]).points.remove(0).replications;
    r.slos[0].observed_mean = Some(p99);
    r.slos[0].ci_low = Some(p99 * 0.9);
    r.slos[0].ci_high = Some(p99 * 1.1);
    r.slos[1].observed_mean = error_rate;
    r.slos[1].ci_low = error_rate.map(|e| e * 0.9);
    r.slos[1].ci_high = error_rate.map(|e| e * 1.1);
    if error_rate.is_none() {
        r.slos.pop();
    }
    r.verdict = verdict;
    Probe { order, value: format!("{number}/s"), number, verdict, replications: r }
}

/// A search for the largest `clients.web.rate` in 300/s..2000/s.
pub(crate) fn search(probes: Vec<Probe>, answer: Option<f64>) -> CapacityReport {
    CapacityReport {
        lbsim_version: "0.1.0".into(),
        scenario: "made-up".into(),
        file: "s.yaml".into(),
        sets: Vec::new(),
        path: "clients.web.rate".into(),
        find: "max",
        kind: Kind::Rate,
        low: "300/s".into(),
        high: "2000/s".into(),
        bracketed: false,
        resolution: "17/s".into(),
        replications: 4,
        max_replications: 16,
        first_seed: 42,
        confidence: 0.95,
        down: 0,
        answer: answer.map(|a| format!("{a}/s")),
        answer_number: answer,
        statement: String::new(),
        notes: Vec::new(),
        probes,
    }
}

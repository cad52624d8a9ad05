//! What the charts draw: a run's time series downsampled to a bounded number
//! of buckets, the changes and alerts to mark on them, and the latency
//! distribution. Built from a finished run (`ChartData::from_run`); the
//! renderers in `charts` only read it, so they can be tested on synthetic
//! data.

use crate::clock::WallClock;
use crate::metrics::WindowStats;
use crate::metrics::chart::Bucket;
use crate::model::timeline::{Change, ServerAction, first_change, undone_at};
use crate::sim::RunResult;

/// One timeline change as the charts show it: shaded from `from_s` to
/// `until_s` (or to the end of the run when it was never reverted), or a
/// vertical line when it is `instant` (a restart).
#[derive(Clone, Debug)]
pub struct ChangeMark {
    pub from_s: f64,
    pub until_s: Option<f64>,
    pub instant: bool,
    /// Short text: the entry's name or what it changed.
    pub label: String,
}

/// One alert firing: a marker at `at_s`, resolved at `resolved_s`.
#[derive(Clone, Debug)]
pub struct AlertMark {
    pub at_s: f64,
    pub resolved_s: Option<f64>,
    /// The rule's name, and the entity for per-entity rules.
    pub label: String,
}

/// Everything the charts of one run draw. Bucket vectors (`t_s` and every
/// per-bucket series) all have the same length, at most
/// [`MAX_BUCKETS`](crate::metrics::chart::MAX_BUCKETS); per-server series
/// are indexed `[server][bucket]`.
/// Missing values (no traffic in a bucket) are NaN.
#[derive(Clone, Debug, Default)]
pub struct ChartData {
    /// Scenario name, for titles.
    pub scenario: String,
    /// The scenario's `start`, when it has one: the time axis then reads in
    /// time of day, in the start's offset.
    pub clock: Option<WallClock>,
    /// Simulated seconds covered, and the warm-up left out of the statistics.
    pub duration_s: f64,
    pub warmup_s: f64,
    /// Length of one bucket, seconds (a whole number of intervals).
    pub bucket_s: f64,
    /// Start of each bucket, seconds since the run's start.
    pub t_s: Vec<f64>,
    /// Requests users sent per second.
    pub request_rate: Vec<f64>,
    /// Failed / answered (0..1).
    pub error_rate: Vec<f64>,
    /// Failures where the client waited for its timeout (timed out, dropped,
    /// loop, response lost) / answered (0..1).
    pub timeout_rate: Vec<f64>,
    /// Response-time percentiles of successful requests, milliseconds.
    pub p50_ms: Vec<f64>,
    pub p90_ms: Vec<f64>,
    pub p99_ms: Vec<f64>,
    /// Users affected so far (failed at least once), % of users active so far.
    pub users_affected_pct: Vec<f64>,
    /// Users affected or slowed so far, % of users active so far.
    pub users_affected_or_slowed_pct: Vec<f64>,
    /// Distinct users with a failure in an interval (the bucket's worst interval).
    pub users_failing: Vec<f64>,
    pub servers: Vec<String>,
    /// Share of the requests that reached a server (0..1).
    pub share: Vec<Vec<f32>>,
    /// Busy worker time / (workers x time) (0..1).
    pub utilisation: Vec<Vec<f32>>,
    /// Requests waiting, mean of the interval-end samples in the bucket.
    pub queue: Vec<Vec<f32>>,
    pub changes: Vec<ChangeMark>,
    pub alerts: Vec<AlertMark>,
    /// The latency distribution of the measured period: (quantile, ms)
    /// pairs from 0 up to 1 - 1/count, dense enough to draw as a line.
    pub spectrum: Vec<(f64, f64)>,
}

impl ChartData {
    /// The chart data of a finished run.
    pub fn from_run(r: &RunResult) -> ChartData {
        let w = &r.world;
        let buckets = &r.recorder.chart.buckets;
        let per_bucket = |f: &dyn Fn(&Bucket) -> f64| buckets.iter().map(f).collect::<Vec<f64>>();
        // `f(bucket, its index, server)`: the index reads figures computed
        // once a bucket (the share's total) rather than once a server.
        let per_server = |f: &dyn Fn(&Bucket, usize, usize) -> f64| {
            (0..w.servers.len()).map(|s| buckets.iter().enumerate().map(|(k, b)| f(b, k, s) as f32).collect()).collect()
        };
        // Requests that reached any server, a bucket: what each server's share is of.
        let reached: Vec<f64> = buckets.iter().map(|b| b.server_requests.iter().sum()).collect();
        let answered = |b: &Bucket| (b.completed + b.failed) as f64;
        let users_pct = |b: &Bucket, n: u64| {
            if b.users.active == 0 { f64::NAN } else { 100.0 * n as f64 / b.users.active as f64 }
        };
        let end_s = r.end.as_secs_f64();
        ChartData {
            scenario: w.name.clone(),
            clock: w.clock,
            duration_s: end_s,
            warmup_s: w.warmup.as_secs_f64().min(end_s),
            bucket_s: r.recorder.interval_ns() as f64 * f64::from(r.recorder.chart.per_bucket) / 1e9,
            t_s: per_bucket(&|b| b.start_ns as f64 / 1e9),
            request_rate: per_bucket(&|b| ratio_or_nan(b.requests as f64, b.seconds())),
            error_rate: per_bucket(&|b| ratio_or_nan(b.failed as f64, answered(b))),
            timeout_rate: per_bucket(&|b| ratio_or_nan(b.waited as f64, answered(b))),
            p50_ms: per_bucket(&|b| b.latency_quantile_ms(0.5)),
            p90_ms: per_bucket(&|b| b.latency_quantile_ms(0.9)),
            p99_ms: per_bucket(&|b| b.latency_quantile_ms(0.99)),
            users_affected_pct: per_bucket(&|b| users_pct(b, b.users.affected)),
            users_affected_or_slowed_pct: per_bucket(&|b| users_pct(b, b.users.affected_or_slowed)),
            users_failing: per_bucket(&|b| b.users_failing as f64),
            servers: w.servers.iter().map(|s| s.name.clone()).collect(),
            share: per_server(&|b, k, s| ratio_or_nan(b.server_requests[s], reached[k])),
            utilisation: per_server(&|b, _, s| ratio_or_nan(b.server_busy_s[s], b.seconds())),
            queue: per_server(&|b, _, s| b.server_queue_sum[s] / f64::from(b.intervals.max(1))),
            changes: change_marks(r, end_s),
            alerts: r
                .watch
                .fired
                .iter()
                .map(|a| AlertMark {
                    at_s: a.fired_ns as f64 / 1e9,
                    resolved_s: a.resolved_ns.map(|t| t as f64 / 1e9),
                    label: match &a.entity {
                        Some(e) => format!("{} ({e})", r.watch.engine.rules()[a.rule].name),
                        None => r.watch.engine.rules()[a.rule].name.clone(),
                    },
                })
                .collect(),
            spectrum: spectrum(r.recorder.measured()),
        }
    }
}

fn ratio_or_nan(part: f64, whole: f64) -> f64 {
    if whole > 0.0 { part / whole } else { f64::NAN }
}

/// The applied changes: spans until their revert (automatic or by a later
/// `revert` entry); restarts and reverts as instants. A change never undone
/// is shaded to the end of the run only when it is the incident's first
/// change (the earliest, as the summary's impact takes it); later permanent
/// ones (a deploy, a resize) are instants, or their shading would cover
/// everything after them. Notes are left to the report's timeline table.
fn change_marks(r: &RunResult, end_s: f64) -> Vec<ChangeMark> {
    let timeline = &r.world.timeline;
    let secs = |ns: u64| ns as f64 / 1e9;
    let first_change = first_change(timeline, &r.blocked_changes);
    let mut marks = Vec::new();
    for (i, t) in timeline.iter().enumerate() {
        if r.blocked_changes.contains(&i) || secs(t.at) > end_s {
            continue;
        }
        let label = t.name.clone().unwrap_or_else(|| format!("{} {}", t.target, t.what));
        let (instant, until) = match &t.change {
            Change::Note => continue,
            Change::Revert { .. } => (true, None),
            Change::Server { action: Some(ServerAction::Restart), .. } => (true, None),
            _ => {
                let until = undone_at(timeline, i);
                let permanent = until.is_none() && first_change != Some(i);
                (permanent, until.map(secs).filter(|&u| u < end_s))
            }
        };
        marks.push(ChangeMark { from_s: secs(t.at), until_s: until, instant, label });
    }
    marks
}

/// (quantile, ms) from 0 to 1 - 1/count, every 0.05 of a nine, with the
/// usual percentiles (p50 ... p99.99) as exact points of their own, so a
/// reader of the line finds the same p50 as the summary.
fn spectrum(w: &WindowStats) -> Vec<(f64, f64)> {
    let count = w.completed;
    if count == 0 {
        return Vec::new();
    }
    let top_q = 1.0 - 1.0 / count as f64;
    let steps = ((count as f64).log10() / 0.05).floor() as u32;
    let mut qs: Vec<f64> = (0..=steps).map(|k| 1.0 - 10f64.powf(-0.05 * f64::from(k))).collect();
    qs.extend([0.5, 0.9, 0.99, 0.999, 0.9999].into_iter().filter(|&q| q <= top_q));
    qs.sort_by(f64::total_cmp);
    qs.dedup_by(|a, b| (*a - *b).abs() < 1e-12);
    qs.into_iter().map(|q| (q, w.latency_quantile_ms(q))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::load_str;
    use crate::sim::run_quiet;

    const SCENARIO: &str = "
name: chart-data
seed: 7
duration: 10m
warmup: 1m
interval: 10s
slow_threshold: 100ms
clients:
  users: {target: lb, rate: 200/s, users: 500, timeout: 2s}
balancers:
  lb: {algorithm: round_robin, backends: [a, b]}
servers:
  a: {workers: 8, service: {exponential: 20ms}}
  b: {workers: 8, service: {exponential: 20ms}}
timeline:
  - {name: slow-b, at: 2m, server: b, slow_down: 3}
  - {at: 4m, server: a, action: restart}
  - {at: 6m, revert: slow-b, fix: true}
  - {name: errors, at: 7m, server: a, error_rate: 30%, duration: 1m}
  - {name: resize, at: 9m, server: b, workers: 10}
alerts:
  - {name: error-spike, metric: error_rate, above: 5%, for: 20s}
";

    #[test]
    fn a_run_becomes_bounded_series_with_its_changes_and_alerts() {
        let world = load_str("t.yaml", SCENARIO).unwrap_or_else(|e| panic!("{e}"));
        let r = run_quiet(world);
        let d = ChartData::from_run(&r);
        assert_eq!(d.t_s.len(), 60);
        assert_eq!(d.bucket_s, 10.0);
        assert_eq!((d.duration_s, d.warmup_s), (600.0, 60.0));
        for series in [&d.request_rate, &d.error_rate, &d.p50_ms, &d.users_affected_pct] {
            assert_eq!(series.len(), d.t_s.len());
        }
        assert_eq!(d.share.len(), 2);
        // Round robin: half each, in every bucket.
        for k in 0..d.t_s.len() {
            let total = d.share[0][k] + d.share[1][k];
            assert!((total - 1.0).abs() < 1e-4, "bucket {k}: {total}");
        }
        // The rate is the offered 200/s; b is slowed 3x from 2m to 6m: its
        // utilisation (100/s x 20ms / 8 workers = 0.25 normally) triples.
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        assert!((mean(&d.request_rate) / 200.0 - 1.0).abs() < 0.05);
        let util_b = |k: usize| f64::from(d.utilisation[1][k]);
        assert!(util_b(15) > 0.6 && util_b(45) < 0.4, "{} {}", util_b(15), util_b(45));
        assert!(d.p99_ms[15] > 2.0 * d.p99_ms[45]);
        // Users affected so far never falls and ends where the summary does.
        let affected: Vec<f64> = d.users_affected_pct.iter().copied().filter(|v| !v.is_nan()).collect();
        assert!(affected.windows(2).all(|w| w[1] >= w[0]));
        let users = r.recorder.measured().users.counts();
        let last = *affected.last().unwrap();
        assert!((last - users.pct(users.affected())).abs() < 1e-9);
        // Changes: slow-b until its revert, the restart and the revert as
        // instants, the error burst until its automatic revert, the
        // permanent resize as an instant.
        let marks: Vec<(f64, Option<f64>, bool)> = d.changes.iter().map(|c| (c.from_s, c.until_s, c.instant)).collect();
        assert_eq!(
            marks,
            [
                (120.0, Some(360.0), false),
                (240.0, None, true),
                (360.0, None, true),
                (420.0, Some(480.0), false),
                (540.0, None, true)
            ]
        );
        assert_eq!(d.changes[0].label, "slow-b");
        assert!(d.alerts.iter().any(|a| a.label == "error-spike" && a.at_s > 420.0 && a.at_s < 480.0));
        // The spectrum climbs from the median to the tail.
        assert_eq!(d.spectrum[0].0, 0.0);
        assert!(d.spectrum.windows(2).all(|w| w[1].0 > w[0].0 && w[1].1 >= w[0].1));
        let p50 = d.spectrum.iter().find(|(q, _)| *q == 0.5).expect("p50 is a point of its own").1;
        assert_eq!(p50, r.recorder.measured().latency_summary().p50);
        let (q_top, _) = *d.spectrum.last().unwrap();
        assert!(q_top <= 1.0 - 1.0 / r.recorder.measured().completed as f64 + 1e-12);
    }

    #[test]
    fn the_change_shaded_to_the_end_is_the_earliest_not_the_first_listed() {
        let scenario = "
name: out-of-order
seed: 1
duration: 3m
interval: 10s
clients:
  users: {target: lb, rate: 50/s, users: 50, timeout: 2s}
balancers:
  lb: {algorithm: round_robin, backends: [a, b]}
servers:
  a: {workers: 4, service: {exponential: 10ms}}
  b: {workers: 4, service: {exponential: 10ms}}
timeline:
  - {name: resize, at: 2m, server: b, workers: 6}
  - {name: slow-a, at: 1m, server: a, slow_down: 2}
";
        let world = load_str("t.yaml", scenario).unwrap_or_else(|e| panic!("{e}"));
        let d = ChartData::from_run(&run_quiet(world));
        let marks: Vec<(&str, f64, Option<f64>, bool)> =
            d.changes.iter().map(|c| (c.label.as_str(), c.from_s, c.until_s, c.instant)).collect();
        assert_eq!(marks, [("resize", 120.0, None, true), ("slow-a", 60.0, None, false)]);
    }
}

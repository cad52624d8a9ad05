//! Stage: sim (monitoring during the run). SLO judgement: the compiled [`Objective`]s
//! (`model::slos`) are judged on the statistics of a whole window
//! ([`Objective::evaluate`] on a [`SloWindowStats`]) and, where one interval
//! is enough to judge them (interval percentiles, maximum, error rate,
//! availability, throughput), on each interval
//! ([`Objective::evaluate_interval`]), which [`ImpactTracker`] uses to find
//! the first and last interval outside an objective. An unknown (NaN) window
//! statistic does not meet any objective; an unknown interval value judges
//! nothing.

use super::RunResult;
use crate::metrics::WindowStats;
use crate::metrics::snapshot::{GlobalMetric, Snapshot};
use crate::model::slos::{Objective, Slo, SloMetric};

/// Statistics of one window, the input of [`Objective::evaluate`], in the
/// units of [`crate::model::slos::SloUnit`]; NaN when unknown.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct SloWindowStats {
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

impl SloWindowStats {
    /// Everything unknown.
    pub const UNKNOWN: SloWindowStats = SloWindowStats {
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

impl Default for SloWindowStats {
    fn default() -> Self {
        SloWindowStats::UNKNOWN
    }
}

// The judgement of a compiled objective belongs to this stage, so its
// methods are defined here rather than beside the type in `model::slos`.
impl Objective {
    /// The observed value of the objective's metric in a window (NaN when
    /// unknown) and whether the objective is met (never when unknown).
    pub fn evaluate(&self, w: &SloWindowStats) -> (f64, bool) {
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

impl SloWindowStats {
    /// A recorder window in the units SLO objectives use, up to `end`.
    pub fn of(win: &WindowStats, end: u64) -> SloWindowStats {
        let users = win.users.counts();
        let seconds = (win.until.min(end).saturating_sub(win.from)) as f64 / 1e9;
        let known = |v: f64| if win.completed > 0 { v } else { f64::NAN };
        let l = win.latency_summary();
        SloWindowStats {
            p50_ms: known(l.p50),
            p90_ms: known(l.p90),
            p99_ms: known(l.p99),
            p999_ms: known(l.p999),
            mean_ms: known(l.mean),
            max_ms: known(l.max),
            error_rate: if win.completed + win.failed_total() > 0 { win.error_rate() } else { f64::NAN },
            users_affected_pct: if users.active > 0 { users.pct(users.affected()) } else { f64::NAN },
            users_unable_pct: if users.active > 0 { users.pct(users.unable) } else { f64::NAN },
            users_slowed_pct: if users.active > 0 { users.pct(users.slowed) } else { f64::NAN },
            throughput_rps: if seconds > 0.0 { win.completed as f64 / seconds } else { f64::NAN },
        }
    }
}

impl RunResult {
    /// An SLO judged on its window at the end of the run (`window`, an index
    /// into the recorder's windows; `None` when it never opened): the
    /// observed value in the objective's unit (NaN when unknown) and whether
    /// the objective is met.
    pub fn slo_outcome(&self, slo: &Slo, window: Option<usize>) -> (f64, bool) {
        let stats = window.map(|i| SloWindowStats::of(&self.recorder.windows()[i], self.end.0)).unwrap_or_default();
        slo.objective.evaluate(&stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::test_monitoring::{S, obj, series, slos};

    #[test]
    fn evaluation_handles_edges_and_unknowns() {
        let mut w = SloWindowStats {
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
        assert!(!obj("p50 < 1s").evaluate(&SloWindowStats::default()).1);
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

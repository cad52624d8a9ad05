//! One reporting window's totals (the measured period, an incident window,
//! an SLO window): counts, latencies and which users it saw served,
//! slowed or failed.

use hdrhistogram::Histogram;
use serde::Serialize;

use super::tally::Tally;
use super::users::{self, UserFlags};
use super::{FAILURE_KINDS, Failure, HIST_MAX_NS, WINDOW_SIGFIG, chart, histogram};

/// Totals over a window (requests generated inside it). The measured
/// window's counts and latencies may be added by interval (see
/// `Recorder::totals_by_interval`): its counts are complete at each
/// interval close, and counts and latencies after
/// [`Recorder::settle_totals`](super::Recorder::settle_totals).
#[derive(Clone, Debug)]
pub struct WindowStats {
    pub from: u64,
    pub until: u64,
    pub generated: u64,
    pub completed: u64,
    pub failed: [u64; FAILURE_KINDS],
    pub slow: u64,
    /// Successful requests' latencies, up to date after
    /// [`Recorder::flush_latencies`](super::Recorder::flush_latencies),
    /// which [`Recorder::settle_totals`](super::Recorder::settle_totals)
    /// calls at the end of a run; until then they gather in `pending`.
    pub latency: Histogram<u64>,
    /// Latencies counted since the last flush into `latency`.
    pub(super) pending: Tally,
    pub(super) latency_sum_ns: u128,
    pub latency_max_ns: u64,
    pub latency_min_ns: u64,
    pub users: UserFlags,
    /// Running counts of the users' outcomes so far, for the charts.
    pub so_far: chart::UsersSoFar,
}

impl WindowStats {
    pub(super) fn new(from: u64, until: u64, users: usize) -> WindowStats {
        WindowStats {
            from,
            until,
            generated: 0,
            completed: 0,
            failed: [0; FAILURE_KINDS],
            slow: 0,
            latency: histogram(WINDOW_SIGFIG),
            pending: Tally::new(HIST_MAX_NS),
            latency_sum_ns: 0,
            latency_max_ns: 0,
            latency_min_ns: u64::MAX,
            users: UserFlags::new(users),
            so_far: chart::UsersSoFar::default(),
        }
    }

    #[inline]
    pub(super) fn contains(&self, t: u64) -> bool {
        t >= self.from && t < self.until
    }

    pub fn failed_total(&self) -> u64 {
        self.failed.iter().sum()
    }

    /// failed / (completed + failed).
    pub fn error_rate(&self) -> f64 {
        let f = self.failed_total();
        let answered = self.completed + f;
        if answered == 0 { 0.0 } else { f as f64 / answered as f64 }
    }

    /// Sum of the successful requests' latencies, ns (exact).
    pub fn latency_sum_ns(&self) -> u128 {
        self.latency_sum_ns
    }

    pub fn latency_mean_ms(&self) -> f64 {
        if self.completed == 0 { 0.0 } else { self.latency_sum_ns as f64 / self.completed as f64 / 1e6 }
    }

    /// Latency quantile of successful requests, milliseconds. HDR returns
    /// the top of the value's bucket (within 0.1%); it is clamped to the
    /// exact extremes seen, so a constant latency reads exactly.
    pub fn latency_quantile_ms(&self, q: f64) -> f64 {
        if self.latency.is_empty() {
            0.0
        } else {
            let v = self.latency.value_at_quantile(q).clamp(self.latency_min_ns, self.latency_max_ns);
            v as f64 / 1e6
        }
    }

    pub fn latency_summary(&self) -> LatencySummary {
        LatencySummary {
            mean: self.latency_mean_ms(),
            p50: self.latency_quantile_ms(0.5),
            p90: self.latency_quantile_ms(0.9),
            p99: self.latency_quantile_ms(0.99),
            p999: self.latency_quantile_ms(0.999),
            max: self.latency_max_ns as f64 / 1e6,
        }
    }

    /// # Safety
    /// As for `mark_active`.
    #[inline]
    pub(super) unsafe fn generated(&mut self, id: usize) {
        self.generated += 1;
        // SAFETY: the caller's promise.
        unsafe { self.mark_active(id) };
    }

    /// What a request generated in the window counts besides `generated`.
    ///
    /// # Safety
    /// `id` is below the number of users the window was made for (the
    /// recorder's per-request calls check it no more).
    #[inline(always)]
    pub(super) unsafe fn mark_active(&mut self, id: usize) {
        // SAFETY: the caller's promise.
        let old = unsafe { self.users.mark_unchecked(id, users::ACTIVE) };
        self.so_far.active += u64::from(old & users::ACTIVE == 0);
    }

    /// A success with latency `latency_ns`, whose tally slot is `slot`.
    ///
    /// # Safety
    /// As for `mark_active`.
    #[inline]
    pub(super) unsafe fn success(&mut self, id: usize, latency_ns: u64, slot: usize, slow: bool) {
        self.completed += 1;
        self.pending.count(slot);
        // SAFETY: the caller's promise.
        unsafe { self.succeeded(id, latency_ns, slow) };
    }

    /// What a success counts besides `completed` and the latency tally.
    ///
    /// # Safety
    /// As for `mark_active`.
    #[inline(always)]
    pub(super) unsafe fn succeeded(&mut self, id: usize, latency_ns: u64, slow: bool) {
        self.latency_sum_ns += u128::from(latency_ns);
        self.latency_max_ns = self.latency_max_ns.max(latency_ns);
        self.latency_min_ns = self.latency_min_ns.min(latency_ns);
        if slow {
            self.slow += 1;
        }
        // SAFETY: the caller's promise.
        let old = unsafe { self.users.mark_unchecked(id, users::SERVED | if slow { users::SLOWED } else { 0 }) };
        self.so_far.affected_or_slowed += u64::from(slow && old & (users::FAILED | users::SLOWED) == 0);
    }

    #[inline]
    pub(super) fn failure(&mut self, id: usize, why: Failure) {
        self.failed[why as usize] += 1;
        self.mark_failed(id);
    }

    /// What a failure counts besides `failed`.
    #[inline(always)]
    pub(super) fn mark_failed(&mut self, id: usize) {
        let old = self.users.mark(id, users::FAILED);
        self.so_far.affected += u64::from(old & users::FAILED == 0);
        self.so_far.affected_or_slowed += u64::from(old & (users::FAILED | users::SLOWED) == 0);
    }
}

/// Latency summary in milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LatencySummary {
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

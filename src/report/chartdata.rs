//! What the charts draw: a run's time series downsampled to a bounded number
//! of buckets, the changes and alerts to mark on them, and the latency
//! distribution. Built from a finished run (`ChartData::from_run`); the
//! renderers in `charts` only read it, so they can be tested on synthetic
//! data.

use serde::Serialize;

/// One timeline change as the charts show it: shaded from `from_s` to
/// `until_s` (or to the end of the run when it was never reverted), or a
/// vertical line when it is `instant` (a restart).
#[derive(Clone, Debug, Serialize)]
pub struct ChangeMark {
    pub from_s: f64,
    pub until_s: Option<f64>,
    pub instant: bool,
    /// Short text: the entry's name or what it changed.
    pub label: String,
}

/// One alert firing: a marker at `at_s`, resolved at `resolved_s`.
#[derive(Clone, Debug, Serialize)]
pub struct AlertMark {
    pub at_s: f64,
    pub resolved_s: Option<f64>,
    /// The rule's name, and the entity for per-entity rules.
    pub label: String,
}

/// The wall clock of the run's start, for axis labels in time of day.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct ClockAxis {
    /// Unix seconds of the run's start.
    pub start_unix_s: i64,
    /// The start's UTC offset, seconds (times are shown in it).
    pub utc_offset_s: i32,
}

/// Everything the charts of one run draw. Bucket vectors (`t_s` and every
/// per-bucket series) all have the same length, at most
/// [`MAX_BUCKETS`]; per-server series are indexed `[server][bucket]`.
/// Missing values (no traffic in a bucket) are NaN.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ChartData {
    /// Scenario name, for titles.
    pub scenario: String,
    /// Wall-clock axis when the scenario has a `start`.
    pub clock: Option<ClockAxis>,
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

/// Most buckets a series keeps; longer runs merge neighbouring intervals.
pub const MAX_BUCKETS: usize = 720;

impl ChartData {
    /// The chart data of a finished run.
    pub fn from_run(result: &crate::sim::RunResult) -> ChartData {
        ChartData { scenario: result.world.name.clone(), ..ChartData::default() }
    }
}

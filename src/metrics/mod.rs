//! Streaming collectors: latency histograms (HdrHistogram), per-interval
//! counters flushed to a series sink at each interval boundary, per-entity
//! totals and per-user outcomes.
//!
//! Nothing here grows with the number of requests: counters are flat vectors
//! indexed by integer ids, histograms have fixed bounds, and interval rows
//! leave memory as soon as the interval closes.

pub mod series;
pub mod snapshot;
pub mod users;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::time::NANOS_PER_SEC;
pub use series::{CsvSink, NullSink, SeriesSink};
pub use users::{UserCounts, UserTracker};

/// Why a request failed, as its client saw it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Failure {
    /// The server's queue was full.
    Rejected = 0,
    /// No answer within the client's timeout.
    TimedOut = 1,
    /// The balancer had no eligible backend.
    NoBackend = 2,
    /// The server answered with an error (a 5xx): a fault or a bad deploy.
    ServerError = 3,
    /// Nothing accepted the connection: the server or balancer was down.
    Refused = 4,
    /// The server crashed while it held the request.
    Reset = 5,
}

pub const FAILURE_KINDS: usize = 6;

impl Failure {
    pub const ALL: [Failure; FAILURE_KINDS] =
        [Failure::Rejected, Failure::TimedOut, Failure::NoBackend, Failure::ServerError, Failure::Refused, Failure::Reset];

    pub fn name(self) -> &'static str {
        match self {
            Failure::Rejected => "rejected",
            Failure::TimedOut => "timed_out",
            Failure::NoBackend => "no_backend",
            Failure::ServerError => "server_error",
            Failure::Refused => "refused",
            Failure::Reset => "reset",
        }
    }
}

/// Latencies up to an hour are resolved; longer ones saturate (the exact
/// maximum is tracked separately).
const HIST_MAX_NS: u64 = 3_600 * NANOS_PER_SEC;

fn histogram(sigfig: u8) -> Histogram<u64> {
    Histogram::new_with_bounds(1, HIST_MAX_NS, sigfig).expect("static histogram bounds are valid")
}

/// Counters for one interval.
#[derive(Clone, Debug, Default)]
struct Interval {
    generated: u64,
    completed: u64,
    failed: [u64; FAILURE_KINDS],
    server_requests: Vec<u64>,
    server_completed: Vec<u64>,
    server_rejected: Vec<u64>,
    server_max_queue: Vec<u64>,
    balancer_requests: Vec<u64>,
    balancer_no_backend: Vec<u64>,
    client_generated: Vec<u64>,
    client_completed: Vec<u64>,
    client_failed: Vec<u64>,
    users_failed: u64,
}

impl Interval {
    fn sized(servers: usize, balancers: usize, clients: usize) -> Interval {
        Interval {
            server_requests: vec![0; servers],
            server_completed: vec![0; servers],
            server_rejected: vec![0; servers],
            server_max_queue: vec![0; servers],
            balancer_requests: vec![0; balancers],
            balancer_no_backend: vec![0; balancers],
            client_generated: vec![0; clients],
            client_completed: vec![0; clients],
            client_failed: vec![0; clients],
            ..Interval::default()
        }
    }

    fn clear(&mut self) {
        self.generated = 0;
        self.completed = 0;
        self.failed = [0; FAILURE_KINDS];
        self.users_failed = 0;
        for v in [
            &mut self.server_requests,
            &mut self.server_completed,
            &mut self.server_rejected,
            &mut self.server_max_queue,
            &mut self.balancer_requests,
            &mut self.balancer_no_backend,
            &mut self.client_generated,
            &mut self.client_completed,
            &mut self.client_failed,
        ] {
            v.fill(0);
        }
    }
}

/// Point-in-time state the simulator hands over when an interval closes.
#[derive(Clone, Copy, Debug, Default)]
pub struct ServerGauge {
    /// Worker-nanoseconds spent busy during the interval.
    pub busy_ns: f64,
    pub workers: u32,
    pub queue: u64,
}

/// Totals per server over the measured period.
#[derive(Clone, Debug, Default)]
pub struct ServerTotals {
    pub requests: u64,
    pub completed: u64,
    pub rejected: u64,
    pub max_queue: u64,
}

#[derive(Clone, Debug, Default)]
pub struct EntityTotals {
    pub requests: u64,
    pub completed: u64,
    pub failed: u64,
}

/// Names of the entities, for the series rows.
#[derive(Clone, Debug, Default)]
pub struct Names {
    pub servers: Vec<String>,
    pub balancers: Vec<String>,
    pub clients: Vec<String>,
}

/// Totals over the measured period (requests generated after the warm-up).
#[derive(Clone, Debug, Default)]
pub struct Totals {
    pub generated: u64,
    pub completed: u64,
    pub failed: [u64; FAILURE_KINDS],
    pub slow: u64,
}

/// All collectors of one run.
pub struct Recorder {
    pub names: Names,
    interval_ns: u64,
    /// Index of the open interval.
    pub interval_index: u32,
    interval_start: u64,
    /// Requests generated at or after this time count in the totals.
    pub warmup: u64,
    slow_threshold: u64,
    sink: Box<dyn SeriesSink>,
    clock: Box<dyn Fn(u64) -> String + Send>,
    cur: Interval,
    interval_latency: Histogram<u64>,

    pub totals: Totals,
    pub latency: Histogram<u64>,
    latency_sum_ns: u128,
    pub latency_max_ns: u64,
    pub latency_min_ns: u64,
    pub servers: Vec<ServerTotals>,
    pub balancers: Vec<EntityTotals>,
    pub clients: Vec<EntityTotals>,
    pub users: UserTracker,
}

impl Recorder {
    pub fn new(
        names: Names,
        user_groups: &[u64],
        interval_ns: u64,
        warmup: u64,
        slow_threshold: u64,
        sink: Box<dyn SeriesSink>,
    ) -> Recorder {
        let (s, b, c) = (names.servers.len(), names.balancers.len(), names.clients.len());
        Recorder {
            interval_ns,
            interval_index: 0,
            interval_start: 0,
            warmup,
            slow_threshold,
            sink,
            clock: Box::new(|_| String::new()),
            cur: Interval::sized(s, b, c),
            interval_latency: histogram(2),
            totals: Totals::default(),
            latency: histogram(3),
            latency_sum_ns: 0,
            latency_max_ns: 0,
            latency_min_ns: u64::MAX,
            servers: vec![ServerTotals::default(); s],
            balancers: vec![EntityTotals::default(); b],
            clients: vec![EntityTotals::default(); c],
            users: UserTracker::new(user_groups),
            names,
        }
    }

    /// Sets how interval start times are shown as wall-clock text.
    pub fn set_clock(&mut self, clock: Box<dyn Fn(u64) -> String + Send>) {
        self.clock = clock;
    }

    /// End of the open interval: the simulator flushes when time reaches it.
    #[inline]
    pub fn next_boundary(&self) -> u64 {
        self.interval_start + self.interval_ns
    }

    pub fn interval_ns(&self) -> u64 {
        self.interval_ns
    }

    #[inline]
    pub fn counts(&self, created_ns: u64) -> bool {
        created_ns >= self.warmup
    }

    #[inline]
    pub fn on_generated(&mut self, client: u32, user: u32, counted: bool) {
        self.cur.generated += 1;
        self.cur.client_generated[client as usize] += 1;
        if counted {
            self.totals.generated += 1;
            self.clients[client as usize].requests += 1;
            let id = self.users.global_id(client, user);
            self.users.mark(id, users::ACTIVE);
        }
    }

    #[inline]
    pub fn on_balancer(&mut self, balancer: u32, counted: bool) {
        self.cur.balancer_requests[balancer as usize] += 1;
        if counted {
            self.balancers[balancer as usize].requests += 1;
        }
    }

    #[inline]
    pub fn on_server_arrival(&mut self, server: u32, queue_len: u64, counted: bool) {
        let s = server as usize;
        self.cur.server_requests[s] += 1;
        if queue_len > self.cur.server_max_queue[s] {
            self.cur.server_max_queue[s] = queue_len;
        }
        if counted {
            let t = &mut self.servers[s];
            t.requests += 1;
            t.max_queue = t.max_queue.max(queue_len);
        }
    }

    #[inline]
    pub fn on_server_done(&mut self, server: u32, rejected: bool, counted: bool) {
        let s = server as usize;
        if rejected {
            self.cur.server_rejected[s] += 1;
        } else {
            self.cur.server_completed[s] += 1;
        }
        if counted {
            let t = &mut self.servers[s];
            if rejected {
                t.rejected += 1;
            } else {
                t.completed += 1;
            }
        }
    }

    /// A client got its response after `latency_ns`.
    #[inline]
    pub fn on_success(&mut self, client: u32, user: u32, latency_ns: u64, counted: bool) {
        self.cur.completed += 1;
        self.cur.client_completed[client as usize] += 1;
        self.interval_latency.saturating_record(latency_ns.clamp(1, HIST_MAX_NS));
        if counted {
            self.totals.completed += 1;
            self.clients[client as usize].completed += 1;
            self.latency.saturating_record(latency_ns.clamp(1, HIST_MAX_NS));
            self.latency_sum_ns += u128::from(latency_ns);
            self.latency_max_ns = self.latency_max_ns.max(latency_ns);
            self.latency_min_ns = self.latency_min_ns.min(latency_ns);
            let id = self.users.global_id(client, user);
            let slow = latency_ns > self.slow_threshold;
            if slow {
                self.totals.slow += 1;
            }
            self.users.mark(id, users::SERVED | if slow { users::SLOWED } else { 0 });
        }
    }

    /// A client's request failed.
    #[inline]
    pub fn on_failure(&mut self, client: u32, user: u32, why: Failure, counted: bool) {
        self.cur.failed[why as usize] += 1;
        self.cur.client_failed[client as usize] += 1;
        let id = self.users.global_id(client, user);
        if self.users.fail_in_interval(id, self.interval_index) {
            self.cur.users_failed += 1;
        }
        if counted {
            self.totals.failed[why as usize] += 1;
            self.clients[client as usize].failed += 1;
            self.users.mark(id, users::FAILED);
        }
    }

    #[inline]
    pub fn on_no_backend(&mut self, balancer: u32) {
        self.cur.balancer_no_backend[balancer as usize] += 1;
    }

    /// Mean response time of successful requests, seconds.
    pub fn latency_mean_s(&self) -> f64 {
        if self.totals.completed == 0 { 0.0 } else { self.latency_sum_ns as f64 / self.totals.completed as f64 / 1e9 }
    }

    /// Closes the open interval at `end` (normally its boundary; earlier for
    /// the last, partial one), writes its rows and opens the next.
    pub fn close_interval(&mut self, end: u64, gauges: &[ServerGauge], in_flight: u64) {
        let start = self.interval_start;
        let secs = (end.saturating_sub(start)) as f64 / 1e9;
        let t = start as f64 / 1e9;
        let clock = (self.clock)(start);
        let c = &self.cur;
        let failed: u64 = c.failed.iter().sum();
        let answered = c.completed + failed;
        let sink = &mut self.sink;
        let mut g = |metric: &str, v: f64| sink.row(t, &clock, "global", "all", metric, v);
        g("requests", c.generated as f64);
        g("completed", c.completed as f64);
        g("failed", failed as f64);
        for f in Failure::ALL {
            g(f.name(), c.failed[f as usize] as f64);
        }
        g("error_rate", if answered > 0 { failed as f64 / answered as f64 } else { 0.0 });
        g("throughput_rps", if secs > 0.0 { c.completed as f64 / secs } else { 0.0 });
        let h = &self.interval_latency;
        let (p50, p90, p99, max) = if h.is_empty() {
            (0.0, 0.0, 0.0, 0.0)
        } else {
            let q: Vec<u64> = h.value_at_quantiles([0.5, 0.9, 0.99]).collect();
            (q[0] as f64 / 1e6, q[1] as f64 / 1e6, q[2] as f64 / 1e6, h.max() as f64 / 1e6)
        };
        g("latency_p50_ms", p50);
        g("latency_p90_ms", p90);
        g("latency_p99_ms", p99);
        g("latency_max_ms", max);
        g("in_flight", in_flight as f64);
        g("users_failed", c.users_failed as f64);

        let total_server_requests: u64 = c.server_requests.iter().sum();
        for (i, name) in self.names.servers.iter().enumerate() {
            let gauge = gauges.get(i).copied().unwrap_or_default();
            let mut s = |metric: &str, v: f64| sink.row(t, &clock, "server", name, metric, v);
            s("requests", c.server_requests[i] as f64);
            s("completed", c.server_completed[i] as f64);
            s("rejected", c.server_rejected[i] as f64);
            s(
                "share",
                if total_server_requests > 0 {
                    c.server_requests[i] as f64 / total_server_requests as f64
                } else {
                    0.0
                },
            );
            let capacity = f64::from(gauge.workers.max(1)) * (end.saturating_sub(start)) as f64;
            s("utilisation", if capacity > 0.0 { gauge.busy_ns / capacity } else { 0.0 });
            s("queue", gauge.queue as f64);
            s("max_queue", c.server_max_queue[i] as f64);
        }
        for (i, name) in self.names.balancers.iter().enumerate() {
            sink.row(t, &clock, "balancer", name, "requests", c.balancer_requests[i] as f64);
            sink.row(t, &clock, "balancer", name, "no_backend", c.balancer_no_backend[i] as f64);
        }
        for (i, name) in self.names.clients.iter().enumerate() {
            sink.row(t, &clock, "client", name, "requests", c.client_generated[i] as f64);
            sink.row(t, &clock, "client", name, "completed", c.client_completed[i] as f64);
            sink.row(t, &clock, "client", name, "failed", c.client_failed[i] as f64);
        }

        self.cur.clear();
        self.interval_latency.reset();
        self.interval_start = end;
        self.interval_index += 1;
    }

    /// Flushes the series sink.
    pub fn finish_series(&mut self) -> std::io::Result<()> {
        self.sink.finish()
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
}

/// Latency summary in milliseconds.
#[derive(Clone, Debug, Default, Serialize)]
pub struct LatencySummary {
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

impl LatencySummary {
    pub fn from_recorder(r: &Recorder) -> LatencySummary {
        LatencySummary {
            mean: r.latency_mean_s() * 1e3,
            p50: r.latency_quantile_ms(0.5),
            p90: r.latency_quantile_ms(0.9),
            p99: r.latency_quantile_ms(0.99),
            p999: r.latency_quantile_ms(0.999),
            max: r.latency_max_ns as f64 / 1e6,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Row = (f64, String, String, String, f64);
    struct Capture(std::sync::Arc<std::sync::Mutex<Vec<Row>>>);
    impl SeriesSink for Capture {
        fn row(&mut self, t: f64, _: &str, kind: &str, entity: &str, metric: &str, v: f64) {
            self.0.lock().unwrap().push((t, kind.into(), entity.into(), metric.into(), v));
        }
        fn finish(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn intervals_report_counts_shares_and_percentiles() {
        let rows = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let names =
            Names { servers: vec!["a".into(), "b".into()], balancers: vec!["lb".into()], clients: vec!["web".into()] };
        let mut r = Recorder::new(names, &[10], NANOS_PER_SEC, 0, 500_000_000, Box::new(Capture(rows.clone())));
        for i in 0..4 {
            r.on_generated(0, i, true);
            r.on_server_arrival(if i == 0 { 1 } else { 0 }, 0, true);
            r.on_success(0, i, (i as u64 + 1) * 1_000_000, true);
        }
        r.on_failure(0, 7, Failure::TimedOut, true);
        r.on_failure(0, 7, Failure::TimedOut, true);
        let gauges = [ServerGauge { busy_ns: 5e8, workers: 1, queue: 2 }, ServerGauge::default()];
        r.close_interval(NANOS_PER_SEC, &gauges, 3);
        let rows = rows.lock().unwrap();
        let get = |kind: &str, entity: &str, metric: &str| {
            rows.iter().find(|r| r.1 == kind && r.2 == entity && r.3 == metric).map(|r| r.4).unwrap()
        };
        assert_eq!(get("global", "all", "requests"), 4.0);
        assert_eq!(get("global", "all", "timed_out"), 2.0);
        assert_eq!(get("global", "all", "users_failed"), 1.0);
        assert!((get("global", "all", "error_rate") - 2.0 / 6.0).abs() < 1e-12);
        assert_eq!(get("server", "a", "share"), 0.75);
        assert_eq!(get("server", "a", "utilisation"), 0.5);
        assert_eq!(get("server", "a", "queue"), 2.0);
        assert_eq!(get("global", "all", "in_flight"), 3.0);
        let p99 = get("global", "all", "latency_p99_ms");
        assert!((p99 - 4.0).abs() < 0.05, "{p99}");
        assert_eq!(r.interval_index, 1);
        assert_eq!(r.totals.failed[Failure::TimedOut as usize], 2);
        assert!((r.latency_mean_s() - 0.0025).abs() < 1e-12);
    }
}

//! Streaming collectors: latency histograms (HdrHistogram), per-interval
//! counters turned into a [`Snapshot`] at each interval boundary, per-entity
//! totals, per-user outcomes per reporting window, and the event log.
//!
//! Nothing here grows with the number of requests: counters are flat vectors
//! indexed by integer ids, histograms have fixed bounds, and interval rows
//! leave memory as soon as the interval closes.

pub mod chart;
pub mod events;
mod interval;
pub mod series;
pub mod snapshot;
pub mod tally;
pub mod users;
mod window;

use hdrhistogram::Histogram;

use crate::ids::ServerId;
use crate::time::NANOS_PER_SEC;
pub use events::{AlertChange, BlockReason, CrashCause, EventKind, EventLog, EventTag, LoggedEvent, Subject};
use interval::{Interval, ServerCounts};
pub use series::{CsvSink, Labels, Names, NullSink, SeriesSink, Sizes};
pub use snapshot::{BalancerMetric, ClientMetric, GlobalMetric, ServerMetric, Snapshot, SubnetMetric};
use tally::Tally;
pub use users::{UserCounts, UserFlags, UserIndex};
pub use window::{LatencySummary, WindowStats};

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
    /// The server (or the balancer in between) crashed while it held the request.
    Reset = 5,
    /// The network refused it at once: a reject route, no route, or a host
    /// that was not the destination refusing it.
    Unreachable = 6,
    /// The network lost it (blackhole, link or port down, loss): the client
    /// waited until its timeout.
    Dropped = 7,
    /// A routing loop: it went round until its TTL ran out, and the client
    /// waited until its timeout.
    Loop = 8,
    /// Routed to the wrong host, which answered with an error.
    Misrouted = 9,
    /// The server answered but the response never made it back.
    ResponseLost = 10,
}

pub const FAILURE_KINDS: usize = 11;

impl Failure {
    pub const ALL: [Failure; FAILURE_KINDS] = [
        Failure::Rejected,
        Failure::TimedOut,
        Failure::NoBackend,
        Failure::ServerError,
        Failure::Refused,
        Failure::Reset,
        Failure::Unreachable,
        Failure::Dropped,
        Failure::Loop,
        Failure::Misrouted,
        Failure::ResponseLost,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Failure::Rejected => "rejected",
            Failure::TimedOut => "timed_out",
            Failure::NoBackend => "no_backend",
            Failure::ServerError => "server_error",
            Failure::Refused => "refused",
            Failure::Reset => "reset",
            Failure::Unreachable => "unreachable",
            Failure::Dropped => "dropped",
            Failure::Loop => "loop",
            Failure::Misrouted => "misrouted",
            Failure::ResponseLost => "response_lost",
        }
    }
}

/// What a server did with one request.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ServerOutcome {
    Completed,
    Rejected,
    Error,
    Refused,
    Reset,
}

/// Latencies up to an hour are resolved; longer ones saturate (the exact
/// maximum is tracked separately).
const HIST_MAX_NS: u64 = 3_600 * NANOS_PER_SEC;

fn histogram(sigfig: u8) -> Histogram<u64> {
    Histogram::new_with_bounds(1, HIST_MAX_NS, sigfig).expect("static histogram bounds are valid")
}

/// Significant figures of the windows' latency histograms, and of the
/// per-interval one (which only feeds the series and the charts).
const WINDOW_SIGFIG: u8 = tally::SIGFIG;
const INTERVAL_SIGFIG: u8 = 2;

/// Point-in-time state the simulator hands over when an interval closes.
#[derive(Clone, Copy, Debug, Default)]
pub struct ServerGauge {
    /// Worker-nanoseconds spent busy during the interval.
    pub busy_ns: f64,
    pub workers: u32,
    pub queue: u64,
    pub up: bool,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct BalancerGauge {
    pub usable_backends: u32,
    pub up: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Gauges {
    pub servers: Vec<ServerGauge>,
    pub balancers: Vec<BalancerGauge>,
    pub in_flight: u64,
}

/// Totals per server over the measured period.
#[derive(Clone, Debug, Default)]
pub struct ServerTotals {
    pub requests: u64,
    pub completed: u64,
    pub rejected: u64,
    /// Rejected, 5xx, refused and reset.
    pub errors: u64,
    pub max_queue: u64,
}

#[derive(Clone, Debug, Default)]
pub struct EntityTotals {
    pub requests: u64,
    pub completed: u64,
    pub failed: u64,
}

/// All collectors of one run.
pub struct Recorder {
    sizes: Sizes,
    interval_ns: u64,
    /// Index of the open interval.
    pub interval_index: u32,
    interval_start: u64,
    slow_threshold: u64,
    sink: Box<dyn SeriesSink>,
    clock: Box<dyn Fn(u64) -> String + Send>,
    cur: Interval,
    interval_latency: Histogram<u64>,
    /// Latencies of the open interval, flushed into `interval_latency` when it closes.
    interval_pending: Tally,
    /// `interval_pending` folded into `interval_latency`'s layout at the close.
    interval_coarse: Tally,
    /// The last closed interval.
    pub snapshot: Snapshot,
    user_index: UserIndex,
    /// Window 0 is the measured period (from the warm-up); others are the
    /// incident window and SLO windows, in the order they were added.
    windows: Vec<WindowStats>,
    pub attempts: u64,
    pub retries: u64,
    pub servers: Vec<ServerTotals>,
    pub balancers: Vec<EntityTotals>,
    pub clients: Vec<EntityTotals>,
    pub events: EventLog,
    /// Every interval folded into a bounded number of buckets, for the charts.
    pub chart: chart::ChartStore,
    /// Every request still to be counted is in the measured period: the
    /// totals above (servers, balancers, clients, attempts) and the measured
    /// window's counts and latencies (window 0; its per-user marks,
    /// extremes and sums stay per request) are the sums of the intervals'
    /// counters, added when an interval closes, instead of being counted per
    /// request beside them. True from the start without a
    /// warm-up; the simulator switches it on once no request from the
    /// warm-up remains ([`Recorder::count_totals_by_interval`]).
    totals_by_interval: bool,
    /// Per balancer, each backend's server, when every request a backend is
    /// sent reaches its server in the same instant and no server is shared:
    /// a backend's count is then its server's, and is not kept twice.
    backend_servers: Option<Vec<Vec<u32>>>,
    /// Per client group, whether each call is exactly one attempt (no
    /// retries): its interval's attempts are then its calls, and are not
    /// counted twice ([`Recorder::count_attempts_by_calls`]).
    single_attempt: Vec<bool>,
}

impl Recorder {
    pub fn new(
        sizes: Sizes,
        balancer_backends: &[usize],
        user_groups: &[u64],
        interval_ns: u64,
        warmup: u64,
        slow_threshold: u64,
        sink: Box<dyn SeriesSink>,
    ) -> Recorder {
        let (s, b, c, n) = (sizes.servers, sizes.balancers, sizes.clients, sizes.subnets);
        // One size per client group: the per-request calls rely on it.
        assert_eq!(user_groups.len(), c, "one user count per client group");
        let user_index = UserIndex::new(user_groups);
        let measured = WindowStats::new(warmup, u64::MAX, user_index.total);
        Recorder {
            interval_ns,
            interval_index: 0,
            interval_start: 0,
            slow_threshold,
            sink,
            clock: Box::new(|_| String::new()),
            cur: Interval::sized(s, balancer_backends, c, n),
            interval_latency: histogram(INTERVAL_SIGFIG),
            interval_pending: Tally::new(HIST_MAX_NS),
            interval_coarse: Tally::with_sigfig(HIST_MAX_NS, INTERVAL_SIGFIG),
            // Server rows only when an alert rule reads them (`keep_server_rows`).
            snapshot: Snapshot::sized(0, b, c, n),
            windows: vec![measured],
            user_index,
            attempts: 0,
            retries: 0,
            servers: vec![ServerTotals::default(); s],
            balancers: vec![EntityTotals::default(); b],
            clients: vec![EntityTotals::default(); c],
            events: EventLog::default(),
            chart: chart::ChartStore::new(s),
            totals_by_interval: warmup == 0,
            sizes,
            backend_servers: None,
            single_attempt: vec![false; c],
        }
    }

    /// Adds a reporting window (requests generated in [from, until)); returns its index.
    pub fn add_window(&mut self, from: u64, until: u64) -> usize {
        self.windows.push(WindowStats::new(from, until, self.user_index.total));
        self.windows.len() - 1
    }

    /// The measured window and the others.
    #[inline(always)]
    fn measured_and_others(&mut self) -> (&mut WindowStats, &mut [WindowStats]) {
        debug_assert!(!self.windows.is_empty());
        // SAFETY: `windows` always starts with the measured window: `new`
        // puts it in, and windows are only ever added after it.
        unsafe { self.windows.split_first_mut().unwrap_unchecked() }
    }

    /// Where each client group's users are in the global user numbering.
    pub fn user_index(&self) -> &UserIndex {
        &self.user_index
    }

    /// The windows: the measured period first, then the ones
    /// `add_window` added, in order.
    pub fn windows(&self) -> &[WindowStats] {
        &self.windows
    }

    /// The measured period.
    pub fn measured(&self) -> &WindowStats {
        &self.windows[0]
    }

    /// Sets how interval start times are shown as wall-clock text.
    pub fn set_clock(&mut self, clock: Box<dyn Fn(u64) -> String + Send>) {
        self.clock = clock;
    }

    pub fn clock_text(&self, ns: u64) -> String {
        (self.clock)(ns)
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
        created_ns >= self.windows[0].from
    }

    /// Whether a request created at `created_ns` goes into the totals one
    /// by one (not with its interval).
    #[inline(always)]
    fn totals_per_request(&self, created_ns: u64) -> bool {
        !self.totals_by_interval && self.counts(created_ns)
    }

    /// Whether a request whose `counted` flag (created in the measured
    /// period) is given goes into the totals one by one. Once totals are
    /// counted by interval (most of a run) the first test settles it.
    #[inline(always)]
    fn counts_per_request(&self, counted: bool) -> bool {
        !self.totals_by_interval && counted
    }

    /// From the next interval on, totals are the sums of the intervals'
    /// counters. Call it between intervals, once every request still in the
    /// simulation (and every one to come) was created in the measured period.
    pub fn count_totals_by_interval(&mut self) {
        self.totals_by_interval = true;
    }

    pub fn totals_by_interval(&self) -> bool {
        self.totals_by_interval
    }

    /// Adds the open interval's counters to the totals.
    fn add_to_totals(&mut self) {
        let c = &self.cur;
        for (t, k) in self.clients.iter_mut().zip(&c.clients) {
            t.requests += k.generated;
            t.completed += k.completed;
            t.failed += k.failed;
        }
        for (t, k) in self.balancers.iter_mut().zip(&c.balancers) {
            t.requests += k.requests;
        }
        for (t, k) in self.servers.iter_mut().zip(&c.servers) {
            t.requests += k.requests;
            t.completed += k.completed;
            t.rejected += k.rejected;
            t.errors += k.errors;
            t.max_queue = t.max_queue.max(k.max_queue);
        }
        self.attempts += c.attempts();
        self.retries += c.retries;
        let measured = &mut self.windows[0];
        measured.generated += c.generated();
        measured.completed += c.completed();
        for (w, k) in measured.failed.iter_mut().zip(&c.failed) {
            *w += k;
        }
    }

    /// The open interval's latencies into its histogram and the chart's
    /// next interval, and into the measured window's tally when that window
    /// is counted by interval.
    fn flush_interval_latencies(&mut self) {
        let measured = self.windows.first_mut().filter(|_| self.totals_by_interval);
        self.interval_pending.move_into(&mut self.interval_coarse, measured.map(|w| &mut w.pending));
        let chart = &mut self.chart;
        let add = |slot, highest, n| chart.add_latency(slot, highest, n);
        self.interval_coarse.flush_into_with(&mut self.interval_latency, add);
    }

    /// At the end of the run: counts into the totals what the open interval
    /// holds (nothing if it was just closed), so they are complete even when
    /// the last interval is never closed.
    pub fn settle_totals(&mut self) {
        self.derive_counts();
        if self.totals_by_interval {
            self.flush_interval_latencies();
            self.add_to_totals();
            self.cur.clear();
        }
        self.flush_latencies();
    }

    /// A user sends a request (a call); `subnet` is the user's subnet
    /// (global index) or `u32::MAX` without a network.
    ///
    /// # Safety
    /// `client` is below the number of client groups the recorder was made
    /// for (`Sizes::clients`) and `user` below that group's size. The
    /// per-request calls take their ids unchecked: the checks cost 25
    /// instructions per simulated request on the reference benchmark.
    /// What they index keeps the sizes `new` gave it: the open interval's
    /// counters, the user index and the windows' user flags are private,
    /// and nothing resizes them.
    #[inline(always)]
    pub unsafe fn on_call(&mut self, client: u32, user: u32, now: u64, subnet: u32) {
        // SAFETY (the block's three unchecked accesses): the caller's promise;
        // the windows' flags have one entry per user of every group.
        unsafe { self.cur.clients.get_unchecked_mut(client as usize) }.generated += 1;
        if let Some(x) = self.cur.subnets.get_mut(subnet as usize) {
            x.generated += 1;
        }
        let id = unsafe { self.user_index.global_id_unchecked(client, user) };
        let by_interval = self.totals_by_interval;
        let (measured, others) = self.measured_and_others();
        // Counted by interval, the measured window takes only its marks here.
        if by_interval {
            unsafe { measured.mark_active(id) };
        } else if measured.contains(now) {
            unsafe { measured.generated(id) };
        }
        for w in others.iter_mut().filter(|w| w.contains(now)) {
            unsafe { w.generated(id) };
        }
        if self.totals_per_request(now) {
            self.clients[client as usize].requests += 1;
            if self.single_attempt[client as usize] {
                self.attempts += 1;
            }
        }
    }

    /// An attempt (first try or retry) leaves a client.
    #[inline(always)]
    pub fn on_attempt(&mut self, client: u32, retry: bool, counted: bool) {
        self.cur.clients[client as usize].attempts += 1;
        self.cur.retries += u64::from(retry);
        if self.counts_per_request(counted) {
            self.attempts += 1;
            self.retries += u64::from(retry);
        }
    }

    #[inline(always)]
    pub fn on_balancer(&mut self, balancer: u32, backend: u32, counted: bool) {
        let b = balancer as usize;
        if self.backend_servers.is_none() {
            // Otherwise forwarded requests are the servers' (`derive_counts`).
            self.cur.balancers[b].requests += 1;
            self.cur.forwarded(b, backend as usize);
        }
        if self.counts_per_request(counted) {
            self.balancers[b].requests += 1;
        }
    }

    #[inline]
    pub fn on_no_backend(&mut self, balancer: u32, counted: bool) {
        let b = balancer as usize;
        let c = &mut self.cur.balancers[b];
        c.requests += 1;
        c.no_backend += 1;
        if self.counts_per_request(counted) {
            self.balancers[b].requests += 1;
        }
    }

    /// A request reaches `server`, which holds `queue_len` waiting.
    ///
    /// # Safety
    /// `server` is below the number of servers the recorder was made for
    /// (`Sizes::servers`).
    #[inline(always)]
    pub unsafe fn on_server_arrival(&mut self, server: ServerId, queue_len: u64, counted: bool) {
        let s = server.index();
        // SAFETY: the caller's promise.
        let c = unsafe { self.cur.servers.get_unchecked_mut(s) };
        c.requests += 1;
        c.max_queue = c.max_queue.max(queue_len);
        if self.counts_per_request(counted) {
            let t = &mut self.servers[s];
            t.requests += 1;
            t.max_queue = t.max_queue.max(queue_len);
        }
    }

    /// `server` is done with a request: `outcome`.
    ///
    /// # Safety
    /// As for `on_server_arrival`.
    #[inline(always)]
    pub unsafe fn on_server_outcome(&mut self, server: ServerId, outcome: ServerOutcome, counted: bool) {
        let s = server.index();
        // SAFETY: the caller's promise.
        let c = unsafe { self.cur.servers.get_unchecked_mut(s) };
        match outcome {
            ServerOutcome::Completed => c.completed += 1,
            ServerOutcome::Rejected => {
                c.rejected += 1;
                c.errors += 1;
            }
            _ => c.errors += 1,
        }
        if self.counts_per_request(counted) {
            let t = &mut self.servers[s];
            match outcome {
                ServerOutcome::Completed => t.completed += 1,
                ServerOutcome::Rejected => {
                    t.rejected += 1;
                    t.errors += 1;
                }
                _ => t.errors += 1,
            }
        }
    }

    /// A client got its response `latency_ns` after the call was created,
    /// from `server` (which may be `ServerId::NONE`).
    ///
    /// # Safety
    /// As for `on_call`, for `client` and `user`.
    #[inline(always)]
    pub unsafe fn on_success(
        &mut self,
        client: u32,
        user: u32,
        created: u64,
        latency_ns: u64,
        server: ServerId,
        subnet: u32,
    ) {
        // SAFETY (the block's three unchecked accesses): as in `on_call`.
        unsafe { self.cur.clients.get_unchecked_mut(client as usize) }.completed += 1;
        if let Some(x) = self.cur.servers.get_mut(server.index()) {
            x.latency_ns += latency_ns;
            x.answered += 1;
        }
        if let Some(x) = self.cur.subnets.get_mut(subnet as usize) {
            x.completed += 1;
        }
        let slot = tally::slot(latency_ns.clamp(1, HIST_MAX_NS));
        self.interval_pending.count(slot);
        let id = unsafe { self.user_index.global_id_unchecked(client, user) };
        let slow = latency_ns > self.slow_threshold;
        let by_interval = self.totals_by_interval;
        let (measured, others) = self.measured_and_others();
        if by_interval {
            unsafe { measured.succeeded(id, latency_ns, slow) };
        } else if measured.contains(created) {
            unsafe { measured.success(id, latency_ns, slot, slow) };
        }
        for w in others.iter_mut().filter(|w| w.contains(created)) {
            unsafe { w.success(id, latency_ns, slot, slow) };
        }
        if self.totals_per_request(created) {
            self.clients[client as usize].completed += 1;
        }
    }

    /// A client's call failed.
    #[inline]
    pub fn on_failure(&mut self, client: u32, user: u32, created: u64, why: Failure, subnet: u32) {
        self.cur.failed[why as usize] += 1;
        self.cur.clients[client as usize].failed += 1;
        if let Some(x) = self.cur.subnets.get_mut(subnet as usize) {
            x.failed += 1;
        }
        let id = self.user_index.global_id(client, user);
        if self.user_index.fail_in_interval(id, self.interval_index) {
            self.cur.users_failed += 1;
        }
        let by_interval = self.totals_by_interval;
        if let Some((measured, others)) = self.windows.split_first_mut() {
            if by_interval {
                measured.mark_failed(id);
            } else if measured.contains(created) {
                measured.failure(id, why);
            }
            for w in others.iter_mut().filter(|w| w.contains(created)) {
                w.failure(id, why);
            }
        }
        if self.totals_per_request(created) {
            self.clients[client as usize].failed += 1;
        }
    }

    /// Closes the open interval at `end` (normally its boundary; earlier for
    /// the last, partial one), fills the snapshot, writes its rows (naming
    /// the entities with `labels`) and opens the next.
    pub fn close_interval(&mut self, end: u64, gauges: &Gauges, labels: &dyn Labels) -> &Snapshot {
        self.derive_counts();
        self.flush_interval_latencies();
        self.fill_snapshot(end, gauges);
        let total = self.cur.servers.iter().map(|s| s.requests).sum();
        let span = end.saturating_sub(self.interval_start);
        if !self.snapshot.servers.is_empty() {
            let mut rows = std::mem::take(&mut self.snapshot.servers);
            for (i, row) in rows.iter_mut().enumerate() {
                row.copy_from_slice(&server_row(&self.cur.servers[i], span, gauges, i, total));
            }
            self.snapshot.servers = rows;
        }
        self.write_rows(labels, gauges, total);
        let servers = &self.cur.servers;
        let server = |i: usize| {
            let row = server_row(&servers[i], span, gauges, i, total);
            use ServerMetric as S;
            [row[S::Requests.idx()], row[S::Utilisation.idx()], row[S::Queue.idx()]]
        };
        self.chart.push_with(&self.snapshot, self.windows[0].so_far, &server);
        if self.totals_by_interval {
            self.add_to_totals();
        }
        self.cur.clear();
        self.interval_latency.reset();
        self.interval_start = end;
        self.interval_index += 1;
        &self.snapshot
    }

    fn fill_snapshot(&mut self, end: u64, gauges: &Gauges) {
        let start = self.interval_start;
        let secs = (end.saturating_sub(start)) as f64 / 1e9;
        let c = &self.cur;
        let snap = &mut self.snapshot;
        snap.index = self.interval_index;
        snap.start = start;
        snap.end = end;
        let failed: u64 = c.failed.iter().sum();
        let completed = c.completed();
        let answered = completed + failed;
        let g = &mut snap.global;
        use GlobalMetric as G;
        g[G::Requests.idx()] = c.generated() as f64;
        g[G::Completed.idx()] = completed as f64;
        g[G::Failed.idx()] = failed as f64;
        for f in Failure::ALL {
            g[G::of_failure(f).idx()] = c.failed[f as usize] as f64;
        }
        // No answer, no rate: NaN (an empty cell in the CSV), so alerts and
        // SLO checks treat an idle interval as missing data, not as 0% errors.
        g[G::ErrorRate.idx()] = ratio_or_nan(failed as f64, answered as f64);
        g[G::ThroughputRps.idx()] = ratio(completed as f64, secs);
        let h = &self.interval_latency;
        let (p50, p90, p99, max) = if h.is_empty() {
            (f64::NAN, f64::NAN, f64::NAN, f64::NAN)
        } else {
            let mut q = h.value_at_quantiles([0.5, 0.9, 0.99]);
            let mut next = || q.next().unwrap_or(0) as f64 / 1e6;
            (next(), next(), next(), h.max() as f64 / 1e6)
        };
        g[G::LatencyP50.idx()] = p50;
        g[G::LatencyP90.idx()] = p90;
        g[G::LatencyP99.idx()] = p99;
        g[G::LatencyMax.idx()] = max;
        g[G::InFlight.idx()] = gauges.in_flight as f64;
        g[G::UsersFailed.idx()] = c.users_failed as f64;
        g[G::Attempts.idx()] = c.attempts() as f64;
        g[G::Retries.idx()] = c.retries as f64;

        for (i, row) in snap.subnets.iter_mut().enumerate() {
            let n = &c.subnets[i];
            use SubnetMetric as N;
            row[N::Requests.idx()] = n.generated as f64;
            row[N::Completed.idx()] = n.completed as f64;
            row[N::Failed.idx()] = n.failed as f64;
            row[N::ErrorRate.idx()] = ratio_or_nan(n.failed as f64, (n.completed + n.failed) as f64);
        }
        for (i, row) in snap.balancers.iter_mut().enumerate() {
            let gauge = gauges.balancers.get(i).copied().unwrap_or_default();
            use BalancerMetric as B;
            let (forwarded, top) = match &self.backend_servers {
                Some(servers) => {
                    let per = servers[i].iter().map(|&s| c.servers[s as usize].requests);
                    per.fold((0, 0), |(sum, top), n| (sum + n, top.max(n)))
                }
                None => {
                    let per = c.backend_requests(i);
                    (per.iter().sum(), per.iter().copied().max().unwrap_or(0))
                }
            };
            row[B::Requests.idx()] = c.balancers[i].requests as f64;
            row[B::NoBackend.idx()] = c.balancers[i].no_backend as f64;
            row[B::HealthyBackends.idx()] = f64::from(gauge.usable_backends);
            row[B::MaxShare.idx()] = ratio(top as f64, forwarded as f64);
            row[B::Up.idx()] = f64::from(u8::from(gauge.up));
        }
        for (i, row) in snap.clients.iter_mut().enumerate() {
            let k = &c.clients[i];
            use ClientMetric as C;
            row[C::Requests.idx()] = k.generated as f64;
            row[C::Completed.idx()] = k.completed as f64;
            row[C::Failed.idx()] = k.failed as f64;
            row[C::ErrorRate.idx()] = ratio_or_nan(k.failed as f64, (k.completed + k.failed) as f64);
            row[C::Attempts.idx()] = k.attempts as f64;
        }
    }

    /// The open interval's counters not counted per request: a
    /// single-attempt group's attempts are its calls, and with
    /// [`Recorder::count_backends_by_server`] a balancer's requests are its
    /// servers' plus those it had no backend for.
    fn derive_counts(&mut self) {
        let c = &mut self.cur;
        for (k, &single) in c.clients.iter_mut().zip(&self.single_attempt) {
            if single {
                k.attempts = k.generated;
            }
        }
        if let Some(servers) = &self.backend_servers {
            for (b, list) in c.balancers.iter_mut().zip(servers) {
                b.requests = b.no_backend + list.iter().map(|&s| c.servers[s as usize].requests).sum::<u64>();
            }
        }
    }

    /// Client groups whose calls are exactly one attempt each (no retries):
    /// the simulator does not report their attempts one by one
    /// ([`Recorder::on_attempt`]); they are counted as their calls.
    pub fn count_attempts_by_calls(&mut self, single_attempt: Vec<bool>) {
        self.single_attempt = single_attempt;
    }

    /// Counts each backend's requests as its server's (`servers`: per
    /// balancer, each backend's server): for runs where every forwarded
    /// request reaches its server at once (no network) and no server is
    /// the backend of two balancers. One counter fewer per request, which
    /// at a million servers is a cache miss.
    pub fn count_backends_by_server(&mut self, servers: Vec<Vec<u32>>) {
        self.cur.drop_backend_counts();
        self.backend_servers = Some(servers);
    }

    /// Keeps every server's row in the snapshot, for alert rules on servers.
    pub fn keep_server_rows(&mut self) {
        self.snapshot.servers = snapshot::Rows::new(self.sizes.servers, ServerMetric::COUNT);
    }

    /// Writes the closed interval's rows; server rows are made one at a
    /// time from the counters rather than kept (a million servers' rows
    /// would be 88 MB).
    fn write_rows(&mut self, labels: &dyn Labels, gauges: &Gauges, total: u64) {
        let snap = &self.snapshot;
        let t = snap.start as f64 / 1e9;
        let span = snap.end.saturating_sub(snap.start);
        let clock = (self.clock)(snap.start);
        let sink = &mut self.sink;
        for m in GlobalMetric::ALL {
            sink.row(t, &clock, "global", "all", m.name(), snap.global(*m));
        }
        for i in 0..self.sizes.servers {
            let name = labels.server(i);
            let row = server_row(&self.cur.servers[i], span, gauges, i, total);
            for m in ServerMetric::ALL {
                sink.row(t, &clock, "server", name, m.name(), row[m.idx()]);
            }
        }
        for i in 0..self.sizes.balancers {
            let name = labels.balancer(i);
            for m in BalancerMetric::ALL {
                sink.row(t, &clock, "balancer", name, m.name(), snap.balancer(i, *m));
            }
        }
        for i in 0..self.sizes.clients {
            let name = labels.client(i);
            for m in ClientMetric::ALL {
                sink.row(t, &clock, "client", name, m.name(), snap.client(i, *m));
            }
        }
        for i in 0..self.sizes.subnets {
            let name = labels.subnet(i);
            for m in SubnetMetric::ALL {
                sink.row(t, &clock, "subnet", name, m.name(), snap.subnets[i][m.idx()]);
            }
        }
    }

    /// Brings the windows' latency histograms up to date. Interval closes
    /// leave the counts in the windows' tallies (adding to a tally is far
    /// cheaper than recording into a histogram, and only the reports read
    /// the histograms); [`Recorder::settle_totals`] calls this at the end.
    pub fn flush_latencies(&mut self) {
        for w in &mut self.windows {
            w.pending.flush_into(&mut w.latency);
        }
    }

    /// Flushes the series sink.
    pub fn finish_series(&mut self) -> std::io::Result<()> {
        self.sink.finish()
    }
}

/// Server `i`'s metrics in an interval `span_ns` long from its counts `n`
/// and the gauge the simulator reported (`total`: the requests that
/// reached any server in it).
fn server_row(n: &ServerCounts, span_ns: u64, gauges: &Gauges, i: usize, total: u64) -> [f64; ServerMetric::COUNT] {
    let gauge = gauges.servers.get(i).copied().unwrap_or_default();
    let mut row = [0.0; ServerMetric::COUNT];
    use ServerMetric as S;
    row[S::Requests.idx()] = n.requests as f64;
    row[S::Completed.idx()] = n.completed as f64;
    row[S::Errors.idx()] = n.errors as f64;
    row[S::ErrorRate.idx()] = ratio_or_nan(n.errors as f64, n.requests as f64);
    row[S::Rejected.idx()] = n.rejected as f64;
    row[S::Share.idx()] = ratio(n.requests as f64, total as f64);
    let capacity = f64::from(gauge.workers.max(1)) * span_ns as f64;
    row[S::Utilisation.idx()] = ratio(gauge.busy_ns, capacity);
    row[S::Queue.idx()] = gauge.queue as f64;
    row[S::MaxQueue.idx()] = n.max_queue as f64;
    row[S::Up.idx()] = f64::from(u8::from(gauge.up));
    row[S::LatencyMs.idx()] = ratio_or_nan(n.latency_ns as f64 / 1e6, n.answered as f64);
    row
}

fn ratio(part: f64, whole: f64) -> f64 {
    if whole > 0.0 { part / whole } else { 0.0 }
}

fn ratio_or_nan(part: f64, whole: f64) -> f64 {
    if whole > 0.0 { part / whole } else { f64::NAN }
}

#[cfg(test)]
mod tests;

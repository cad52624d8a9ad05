//! The traffic model on the kernel: client groups make calls; each call is
//! one or more attempts (retries); a balancer picks a backend from its own
//! tables; servers queue, serve, fail, crash and restart; clients see a
//! response, a failure or a timeout. The timeline changes configuration
//! while the run is in flight, and health checks and outlier detection
//! react to what happens.
//!
//! Hot-path rules: no allocation per event, integer ids into flat vectors,
//! time as integer nanoseconds. Calls and attempts live in slabs; events
//! carry only ids and handles.
//!
//! This file holds the `Simulation` state, its set-up, the event enum and
//! the event loop (`run`, `handle`), and the `RunResult`. The handlers are
//! split by concern: the request path in `request` (arrival to answer) and
//! `outcome` (success, retry, failure, timeouts); server life in `server`;
//! health checks, outlier ejection and panic mode in `health`; interval
//! close and the event log in `accounting`; timeline changes in `timeline`.
//!
//! Monitoring during the run (alert rules and SLO objectives judged on each
//! closed interval) is in [`alerts`], [`objectives`] and `watch`.

mod accounting;
pub mod alerts;
pub(crate) mod balancer;
mod client;
mod health;
pub(crate) mod network;
pub mod objectives;
mod outcome;
mod replay;
mod request;
mod server;
mod timeline;
mod watch;

use std::time::Instant;

use crate::engine::{EventQueue, Handle, Slab};
use crate::limits::{Exceeded, Limit, human_bytes};
use crate::metrics::{BalancerGauge, Failure, Gauges, Recorder, SeriesSink, ServerGauge, Sizes};
use crate::model::slos::SloWindow;
use crate::model::{Load, ServerId, World};
use crate::rng::{self, SimRng, unit_f64};
use crate::time::text::spoken;
use crate::time::{SimDuration, SimTime};
use crate::units::thousands;

use balancer::BalancerState;
use client::ClientState;
use network::NetState;
use server::{Phase, ServerState};
pub use watch::{FiredAlert, Watch};

/// What the event set holds: small, `Copy`, ids only.
#[derive(Copy, Clone, Debug, Default)]
enum Event {
    /// The open-loop generator of a client group fires.
    Arrival { client: u32, generation: u32 },
    /// A closed-loop user sends its next request.
    UserSend { client: u32, user: u32 },
    /// A replayed request arrives (replay groups only).
    ReplayArrival { client: u32, user: u32 },
    /// A server finishes serving an attempt.
    Complete { server: ServerId, attempt: Handle },
    /// An attempt reaches its balancer over the network.
    AtBalancer { attempt: Handle },
    /// An attempt reaches its server over the network.
    AtServer { attempt: Handle },
    /// The head of a client group's call-deadline list is due.
    CallTimeout { client: u32 },
    /// The head of a client group's per-try deadline list is due.
    TryTimeout { client: u32 },
    /// A call's next attempt, after its backoff.
    Retry { call: Handle },
    /// The warm-up ends: snapshot time-weighted totals.
    #[default]
    WarmupEnd,
    /// Apply (or revert) timeline entry `index`.
    Timeline { index: u32, revert: bool },
    /// A balancer probes one backend.
    Probe { balancer: u32, backend: u32 },
    /// A probe that got no answer times out.
    ProbeFailed { balancer: u32, backend: u32 },
    /// An outlier ejection ends.
    Unject { balancer: u32, backend: u32, generation: u32 },
    /// A restarting server comes back.
    ServerUp { server: ServerId, life: u32 },
    /// A server's overload clock may have run out.
    OverloadCheck { server: ServerId },
}

/// A user's request, across its attempts.
#[derive(Clone, Copy, Debug)]
struct Call {
    /// When the user sent it.
    created: SimTime,
    user: u32,
    client: u32,
    /// The user's subnet (global index; 0 without a network).
    subnet: u32,
    attempts: u32,
    /// The attempt the client is waiting on (may be stale).
    current: Handle,
}

/// The call of an attempt whose client group has no retries: the call is
/// that one attempt, which carries everything the
/// call would (`created`, `user`, `client`, `subnet`), so no `Call` record
/// is made for it (see `Simulation::call_of`).
const NO_CALL: Handle = Handle { index: u32::MAX, generation: u32::MAX };

/// Where an attempt is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// On its way to the balancer.
    ToBalancer,
    /// Forwarded, on its way to the server.
    ToServer,
    /// Waiting in the server's queue, or in service after waiting: the
    /// stage is not rewritten when a worker takes it from the queue, which
    /// would touch the attempt once more per request (a cache miss with
    /// many servers). A crash tells the two apart by the server's queue.
    Queued,
    /// Taken by a worker on arrival.
    Serving,
    /// Lost by the network, or its answer would arrive too late: it waits
    /// for the client's timeout and holds nothing anywhere.
    Lost,
}

/// One try of a call.
#[derive(Clone, Copy, Debug)]
struct Attempt {
    /// Its call, or `NO_CALL`.
    call: Handle,
    /// The call's creation, user, group and subnet.
    created: SimTime,
    client: u32,
    user: u32,
    subnet: u32,
    balancer: u32,
    backend: u32,
    server: ServerId,
    /// Constant latency from the balancer to the server, applied to the
    /// answer instead (see `balance`), ns. 32 bits keep the attempt at 64
    /// bytes, a cache line.
    shift: u32,
    /// The earlier of the per-try and the call deadline (MAX: none).
    deadline: SimTime,
    stage: Stage,
    /// What a timeout will be blamed on when the network lost it.
    lost: Option<Failure>,
    /// The client stopped waiting for it (per-try timeout, or the call ended).
    abandoned: bool,
    retry: bool,
    /// The balancer's in-flight count no longer includes it (the balancer crashed).
    released: bool,
    counted: bool,
}

impl Attempt {
    /// The call of a `NO_CALL` attempt (`handle`), as its record would be.
    #[inline(always)]
    fn as_call(&self, handle: Handle) -> Call {
        Call {
            created: self.created,
            user: self.user,
            client: self.client,
            subnet: self.subnet,
            attempts: 1,
            current: handle,
        }
    }
}

/// Why the run stopped.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// The scenario's duration elapsed.
    Duration,
    /// Every request was generated and answered.
    Drained,
    /// A guard stopped it early (the memory guard, or the zero-time
    /// detector): its figures cover only the time until then, and
    /// [`RunResult::stopped`] says why.
    Stopped,
}

/// Time-weighted quantities over the measured period.
#[derive(Clone, Debug, Default)]
pub struct TimeWeighted {
    /// Per server: worker-nanoseconds busy since the warm-up.
    pub server_busy_ns: Vec<f64>,
    /// Integral of calls in the system (client view) over the measured
    /// period, call-ns.
    pub in_system_ns: u128,
    /// Sum of time in system of calls generated after the warm-up that
    /// finished (client view), ns.
    pub sojourn_sum_ns: u128,
    pub sojourn_count: u64,
    /// Time inside the measured period spent by calls that straddle its
    /// edges (sent before the warm-up ended, or unfinished at the end), ns.
    /// Sample-path Little's law: in_system_ns == sojourn_sum_ns + edge_ns.
    pub edge_ns: u128,
}

/// Everything a finished run hands to the report.
pub struct RunResult {
    pub world: World,
    pub recorder: Recorder,
    pub end: SimTime,
    pub end_reason: EndReason,
    pub in_flight_at_end: u64,
    pub in_flight_counted_at_end: u64,
    pub time_weighted: TimeWeighted,
    pub wall_seconds: f64,
    pub events: u64,
    /// Calls generated, warm-up included.
    pub generated: u64,
    pub peak_requests_in_memory: usize,
    /// Alerts and SLO breaches seen during the run.
    pub watch: Watch,
    /// Per SLO, the recorder window holding its figures (None: empty window).
    pub slo_windows: Vec<Option<usize>>,
    /// Why a guard stopped the run early (`end_reason` is then `Stopped`).
    pub stopped: Option<String>,
}

impl RunResult {
    /// Timeline changes blocked by validation (by entry index), in the
    /// order they were blocked: read from the `ChangeBlocked` events.
    pub fn blocked_changes(&self) -> Vec<usize> {
        self.recorder.events.blocked().map(|(i, _)| i).collect()
    }

    /// Why validation blocked timeline entry `index`; None if it did not.
    pub fn blocked_reason(&self, index: usize) -> Option<&crate::metrics::BlockReason> {
        self.recorder.events.blocked().find(|&(i, _)| i == index).map(|(_, reason)| reason)
    }
}

/// A simulation in progress.
///
/// # Ids on the request path
///
/// The request path indexes `clients`, `world.clients`, `balancers`,
/// `servers` and a balancer's `servers` and `pool.backends` with
/// `get_unchecked`, and hands its ids to the recorder's per-request calls,
/// which take them unchecked too (`Recorder::on_call` and the like: the
/// recorder is made with the world's sizes). Their bounds checks cost 26
/// and 25 instructions per simulated request on the reference benchmark
/// (callgrind, README "Speed"), 5% of the whole. Each such access is sound
/// by these invariants; `check_ids` verifies in `new` the ones the world
/// carries, and no later code can break them:
///
/// - none of these vectors changes length after `new`: one entry per
///   client group, balancer, server, and backend of each balancer (a
///   balancer's `servers` and `pool.backends` are as long as each other);
/// - a client id in an event, a call or an attempt is an index of
///   `world.clients`: the run takes them from `0..clients.len()`, and its
///   user is below the group's `users`, which is at least 1 (drawn below
///   it, a Zipf draw clamped to it, counted up to it, or a trace's user
///   taken modulo it);
/// - an attempt's balancer is one of its group's targets, which are
///   indexes of `balancers`;
/// - a server id in an event or a routed attempt comes from a balancer's
///   `servers`, whose entries are indexes of `servers`;
/// - an attempt's backend comes from its balancer's pick, which `balance`
///   checks against `pool.backends` (the one check kept, since the pick is
///   the balancing algorithms' code);
/// - with a network, an attempt's subnet comes from `NetState::subnet_of`,
///   below the number of subnets, and the constant-leg tables it and the
///   balancer and backend index are shaped by them (`NetState::new` builds
///   them from the world, whose shapes `check_ids` checks).
pub struct Simulation {
    world: World,
    now: SimTime,
    events: EventQueue<Event>,
    calls: Slab<Call>,
    /// Calls in flight without a record (`NO_CALL`): counted with `calls`.
    callless: u64,
    attempts: Slab<Attempt>,
    clients: Vec<ClientState>,
    balancers: Vec<BalancerState>,
    servers: Vec<ServerState>,
    recorder: Recorder,
    generated: u64,
    /// Client-side calls in the system.
    in_system: u64,
    /// Sums of the times (ns) calls entered and left the system: the
    /// time-weighted count up to `t` is `left + in_system * t - entered`,
    /// exact, for two additions per call instead of a product per change.
    in_system_entered_ns: u128,
    in_system_left_ns: u128,
    /// Snapshots at the end of warm-up.
    warm: Option<(Vec<f64>, u128)>,
    sojourn_sum_ns: u128,
    sojourn_count: u64,
    edge_ns: u128,
    gauges: Gauges,
    processed: u64,
    /// The series had no room for another interval (see
    /// `Simulation::series_guard`); the guard has not stopped the run yet.
    series_full: bool,
    /// Timeline entries applied (by index), for reverts.
    applied: Vec<bool>,
    watch: Watch,
    slo_windows: Vec<Option<usize>>,
    scratch: Vec<(Handle, SimTime)>,
    /// Random stream for probes, backoff and target choice.
    misc_rng: SimRng,
    /// Routes, links and resolved paths (None: every hop is instant).
    net: Option<NetState>,
    /// Some server crashes when overloaded (else overload is not tracked).
    crash_rules: bool,
    /// Client subnets' names, for the series rows (the rest are the world's).
    subnet_names: Vec<String>,
}

impl Simulation {
    /// Builds the run-time state of `world`, writing series rows to `sink`.
    pub fn new(mut world: World, sink: Box<dyn SeriesSink>) -> Simulation {
        check_ids(&world);
        if !sink.writes() {
            // No series to bound: the series guard stands aside.
            world.series_guard.intervals = u64::MAX;
        }
        let seed = world.seed;
        let subnet_names = crate::model::network::subnet_names(&world.clients, world.network.as_ref());
        let sizes = Sizes {
            servers: world.servers.len(),
            balancers: world.balancers.len(),
            clients: world.clients.len(),
            subnets: subnet_names.len(),
        };
        let groups: Vec<u64> = world.clients.iter().map(|c| c.users).collect();
        let backends: Vec<usize> = world.balancers.iter().map(|b| b.backends.len()).collect();
        let watch = Watch::new(&world, sizes);
        let mut recorder =
            Recorder::new(sizes, &backends, &groups, world.interval, world.warmup.0, world.slow_threshold, sink);
        if world.alerts.iter().any(|a| a.entity_kind() == Some(crate::model::alerts::EntityKind::Server)) {
            recorder.keep_server_rows();
        }
        recorder.count_attempts_by_calls(world.clients.iter().map(client::single_attempt).collect());
        if let Some(servers) = exclusive_backends(&world) {
            recorder.count_backends_by_server(servers);
        }
        if let Some((from, until)) = world.incident_window {
            recorder.add_window(from, until);
        }
        let run_bounds = (world.warmup.0, world.end.0);
        let slo_windows = world
            .slos
            .iter()
            .map(|slo| match slo.window {
                SloWindow::Run => Some(0),
                SloWindow::Incident => world.incident_window.map(|_| 1),
                SloWindow::Explicit { .. } => {
                    slo.window.bounds(run_bounds, world.incident_window).map(|(f, u)| recorder.add_window(f, u))
                }
            })
            .collect();
        if let Some(clock) = world.clock {
            recorder.set_clock(Box::new(move |ns| clock.format(ns)));
        }
        let servers = world.servers.iter().map(|s| ServerState::new(s, rng::stream(seed, "server", &s.name))).collect();
        let balancers: Vec<BalancerState> = world
            .balancers
            .iter()
            .map(|b| BalancerState::new(b, &world.servers, rng::stream(seed, "balancer", &b.name)))
            .collect();
        let mut clients: Vec<ClientState> =
            world.clients.iter().map(|c| ClientState::new(c, rng::stream(seed, "client", &c.name))).collect();
        let net = NetState::new(&world, rng::stream(seed, "network", "links"));
        if let Some(n) = &net {
            for (c, def) in world.clients.iter().enumerate() {
                let subnets = world.network.as_ref().map_or(0, |w| w.subnets[c].len());
                clients[c].displacement = n.fixed_client_latency(c as u32, subnets, &def.targets).unwrap_or(0);
                clients[c].fixed_forward = n.forward_is_fixed(c as u32, subnets, &def.targets, clients[c].displacement);
            }
        }
        let gauges = Gauges {
            servers: vec![ServerGauge::default(); world.servers.len()],
            balancers: vec![BalancerGauge::default(); world.balancers.len()],
            in_flight: 0,
        };
        let applied = vec![false; world.timeline.len()];
        // A balancer's servers and pool are as long as each other (the
        // request path relies on it, see `check_ids`).
        assert!(balancers.iter().all(|b| b.servers.len() == b.pool.backends.len()));
        Simulation {
            now: SimTime::ZERO,
            events: EventQueue::new(),
            calls: Slab::new(),
            callless: 0,
            attempts: Slab::new(),
            clients,
            balancers,
            servers,
            recorder,
            generated: 0,
            in_system: 0,
            in_system_entered_ns: 0,
            in_system_left_ns: 0,
            warm: None,
            sojourn_sum_ns: 0,
            sojourn_count: 0,
            edge_ns: 0,
            gauges,
            processed: 0,
            series_full: false,
            applied,
            watch,
            slo_windows,
            scratch: Vec::new(),
            misc_rng: rng::stream(seed, "simulator", "misc"),
            net,
            crash_rules: world.servers.iter().any(|s| s.crash.is_some()),
            subnet_names,
            world,
        }
    }

    /// Adds a reporting window to the recorder; returns its index.
    pub fn add_window(&mut self, from: u64, until: u64) -> usize {
        self.recorder.add_window(from, until)
    }

    fn schedule_initial(&mut self) {
        for c in 0..self.clients.len() {
            match &self.world.clients[c].load {
                Load::Open { .. } => {
                    if let Some(t) = self.clients[c].next_open_arrival(&self.world.clients[c]) {
                        let at = t + SimDuration(self.clients[c].displacement);
                        self.events.push(at, Event::Arrival { client: c as u32, generation: 0 });
                    }
                }
                Load::Closed { think } => {
                    // Users start at a random point of their first think time,
                    // so they do not all fire at once.
                    for user in 0..self.world.clients[c].users as u32 {
                        let t = think.sample(&mut self.clients[c].rng) + self.clients[c].displacement;
                        self.events.push(SimTime(t), Event::UserSend { client: c as u32, user });
                    }
                }
                Load::Replay(_) => {}
            }
        }
        self.start_replays();
        if self.world.warmup > SimTime::ZERO {
            self.events.push(self.world.warmup, Event::WarmupEnd);
        } else {
            self.warm = Some((vec![0.0; self.servers.len()], 0));
        }
        for (i, t) in self.world.timeline.iter().enumerate() {
            self.events.push(SimTime(t.at), Event::Timeline { index: i as u32, revert: false });
            if let Some(r) = t.revert_at {
                self.events.push(SimTime(r), Event::Timeline { index: i as u32, revert: true });
            }
        }
        for b in 0..self.balancers.len() {
            if let Some(hc) = self.balancers[b].health_check {
                for backend in 0..self.balancers[b].pool.backends.len() {
                    // Probes start at a random phase of the interval.
                    let phase = (unit_f64(&mut self.balancers[b].rng) * hc.interval as f64) as u64;
                    self.events.push(SimTime(phase), Event::Probe { balancer: b as u32, backend: backend as u32 });
                }
            }
        }
    }

    /// Runs to the end and returns the collected results. `progress` is
    /// called now and then with the fraction done.
    pub fn run(mut self, mut progress: impl FnMut(f64)) -> RunResult {
        let wall = Instant::now();
        self.schedule_initial();
        let end = self.world.end;
        let mut next_boundary = SimTime(self.recorder.next_boundary());
        let mut next_progress = 0u64;
        // The guards look at the run at each progress tick (every 2^20
        // events), so they cost nothing per event.
        let mut stall = (SimTime::ZERO, 0u64);
        let mut stopped = None;
        let drain_point = self.drain_point();
        while !self.only_housekeeping_left(drain_point) {
            let Some((t, event)) = self.events.pop_before(end) else { break };
            while t >= next_boundary {
                next_boundary = self.close_interval_in_run(next_boundary);
            }
            self.now = t;
            self.processed += 1;
            self.handle(event);
            if self.processed >= next_progress {
                next_progress = self.processed + (1 << 20);
                progress(self.fraction_done());
                stopped = self.guard(&mut stall);
                if stopped.is_some() {
                    break;
                }
            }
        }
        // The series guard's stop, when the run ended before its next look.
        if std::mem::take(&mut self.series_full) && stopped.is_none() {
            stopped = Some(self.series_guard());
        }
        // The run stops at its duration, or earlier when nothing is left to
        // happen and the request budget is spent (every request answered).
        let drained = self.events.is_empty() || self.only_housekeeping_left(drain_point);
        let (end_time, end_reason) = if stopped.is_some() {
            (self.now, EndReason::Stopped)
        } else if end != SimTime::MAX && (!drained || self.world.max_requests == u64::MAX) {
            (end, EndReason::Duration)
        } else {
            (self.now, EndReason::Drained)
        };
        self.now = end_time;
        while next_boundary <= end_time && end_time > SimTime::ZERO {
            self.close_interval(next_boundary);
            next_boundary = SimTime(self.recorder.next_boundary());
        }
        if end_time.0 > next_boundary.0 - self.recorder.interval_ns() {
            self.close_interval(end_time);
        }
        if self.warm.is_none() {
            // The run ended before the warm-up did.
            self.on_warmup_end();
        }
        for s in &mut self.servers {
            s.touch(end_time);
        }
        let (warm_busy, warm_area) = self.warm.clone().unwrap_or_default();
        let mut in_flight = 0;
        let mut in_flight_counted = 0;
        let warmup = self.world.warmup.min(end_time);
        let recorded = self.calls.handles().filter_map(|h| self.calls.get(h).copied());
        let unrecorded = self
            .attempts
            .handles()
            .filter_map(|h| self.attempts.get(h).filter(|a| a.call == NO_CALL && !a.abandoned).map(|a| a.as_call(h)));
        let mut edge_ns = 0;
        for c in recorded.chain(unrecorded) {
            in_flight += 1;
            in_flight_counted += u64::from(c.created >= self.world.warmup);
            // From when it entered the system, as its outcome would have
            // counted it (a network's client-side latency comes before).
            edge_ns += u128::from(end_time.since(self.entered(&c).max(warmup)).0);
        }
        self.edge_ns += edge_ns;
        let time_weighted = TimeWeighted {
            server_busy_ns: self.servers.iter().zip(&warm_busy).map(|(s, w)| s.busy_area - w).collect(),
            in_system_ns: self.in_system_area() - warm_area,
            sojourn_sum_ns: self.sojourn_sum_ns,
            sojourn_count: self.sojourn_count,
            edge_ns: self.edge_ns,
        };
        self.watch.engine.finish(end_time.0);
        self.recorder.settle_totals();
        self.recorder.events.sort();
        progress(1.0);
        RunResult {
            recorder: self.recorder,
            end: end_time,
            end_reason,
            in_flight_at_end: in_flight,
            in_flight_counted_at_end: in_flight_counted,
            time_weighted,
            wall_seconds: wall.elapsed().as_secs_f64(),
            events: self.processed,
            generated: self.generated,
            peak_requests_in_memory: self.calls.capacity() + self.attempts.capacity(),
            watch: self.watch,
            slo_windows: self.slo_windows,
            world: self.world,
            stopped,
        }
    }

    /// The memory guard and the zero-time detector: why the run must stop
    /// now, if it must. `stall` is the simulated time at the last tick that
    /// saw the clock move, and the events handled by then.
    fn guard(&mut self, stall: &mut (SimTime, u64)) -> Option<String> {
        if std::mem::take(&mut self.series_full) {
            return Some(self.series_guard());
        }
        let limits = self.world.limits;
        let calls = self.calls.len() as u64 + self.callless;
        let in_memory = calls + self.attempts.len() as u64;
        if let Err(over) = limits.check(Limit::InFlight, in_memory) {
            return Some(format!(
                "the memory guard stopped the run at {} of simulated time: {} requests in flight at once \
                 ({} calls, {} attempts), {}; the servers cannot keep up with the load (set a `queue_limit`, \
                 lower the rates, or add servers), or {}",
                spoken(self.now.as_secs_f64()),
                thousands(in_memory),
                thousands(calls),
                thousands(self.attempts.len() as u64),
                over.over(),
                over.help()
            ));
        }
        if self.now != stall.0 {
            *stall = (self.now, self.processed);
            return None;
        }
        let at_once = self.processed - stall.1;
        let over = limits.check(Limit::InstantEvents, at_once).err()?;
        Some(format!(
            "simulated time stopped advancing at {}: {} events at that one instant, {}; {}. \
             Something takes no time and repeats forever; or {}",
            spoken(self.now.as_secs_f64()),
            thousands(at_once),
            over.over(),
            self.busiest_at_now(),
            over.help()
        ))
    }

    /// Closes the interval that ends at `boundary` and returns the next
    /// boundary; unless the series has no room for another interval: no
    /// interval closes any more, and the series guard stops the run at the
    /// event loop's next look (`guard`, at most 2^20 events on, which keeps
    /// the loop itself as it was: a few milliseconds of work, no disk).
    #[cold]
    #[inline(never)]
    fn close_interval_in_run(&mut self, boundary: SimTime) -> SimTime {
        // Only this closes intervals during the run, so the recorder's
        // count of closed intervals is the guard's.
        if u64::from(self.recorder.interval_index) >= self.world.series_guard.intervals {
            self.series_full = true;
            return SimTime::MAX;
        }
        self.close_interval(boundary);
        SimTime(self.recorder.next_boundary())
    }

    /// Why the series guard stops the run: the intervals closed so far were
    /// written, and the open one (which never closes) would take the time
    /// series past the `series_bytes` limit. The compiler refuses a run with
    /// a duration whose series would; this catches a run bounded by requests that goes
    /// on far longer than its senders' pace promised (or for ever), before
    /// it fills the disk.
    fn series_guard(&self) -> String {
        let (closed, at) = (u64::from(self.recorder.interval_index), self.recorder.next_boundary());
        let limit = Limit::SeriesBytes;
        let bytes = (closed + 1).saturating_mul(self.world.series_guard.interval_bytes);
        let over = Exceeded { limit, value: bytes, max: self.world.limits.get(limit) };
        format!(
            "the series guard stopped the run at {} of simulated time: at {} its time series would have had \
             more than {} intervals, at least {} bytes ({}) of timeseries.csv, {}, and it was written no further; \
             a run bounded by `requests` can last far longer than its senders' pace suggests: give it a \
             `duration`, a longer `interval`, a higher limit (`limits: {{series_bytes: N}}` or \
             `--set limits.series_bytes=N`), or run with --allow-large-run",
            spoken(self.now.as_secs_f64()),
            spoken(SimTime(at).as_secs_f64()),
            thousands(closed),
            thousands(bytes),
            human_bytes(bytes),
            over.over(),
        )
    }

    /// Names what the events due at this instant belong to: the client
    /// group most of them are for (the loop that does not advance time).
    fn busiest_at_now(&mut self) -> String {
        let mut per_client = vec![0u64; self.clients.len()];
        let mut others = 0u64;
        let until = SimTime(self.now.0.saturating_add(1));
        for _ in 0..100_000 {
            let Some((_, event)) = self.events.pop_before(until) else { break };
            let client = match event {
                Event::Arrival { client, .. }
                | Event::UserSend { client, .. }
                | Event::CallTimeout { client }
                | Event::TryTimeout { client } => Some(client),
                Event::Retry { call } => self.calls.get(call).map(|c| c.client),
                Event::Complete { attempt, .. } | Event::AtBalancer { attempt } | Event::AtServer { attempt } => {
                    self.attempts.get(attempt).map(|a| a.client)
                }
                _ => None,
            };
            match client {
                Some(c) => per_client[c as usize] += 1,
                None => others += 1,
            }
        }
        let top = (0..per_client.len()).max_by_key(|&c| (per_client[c], std::cmp::Reverse(c)));
        match top {
            Some(c) if per_client[c] >= others && per_client[c] > 0 => {
                let def = &self.world.clients[c];
                let kind = match def.load {
                    Load::Closed { .. } => "closed-loop users sending again as soon as they are answered",
                    Load::Open { .. } => "requests arriving at one instant",
                    Load::Replay(_) => "a replayed trace's requests arriving at one instant",
                };
                format!("most of the events due then are client group `{}`'s ({kind})", def.name)
            }
            _ => "the events due then are the balancers' and the timeline's, not a client group's".into(),
        }
    }

    /// How many requests spend the budget of a run without a duration (none
    /// can with one): from then on, the run may be down to housekeeping.
    /// Constant for a run, so the event loop reads it once.
    fn drain_point(&self) -> u64 {
        if self.world.end == SimTime::MAX { self.world.max_requests } else { u64::MAX }
    }

    /// With a request budget spent (`drain_point`, from
    /// [`Simulation::drain_point`]) and nothing in flight, only periodic
    /// housekeeping (probes) would keep the run going.
    #[inline(always)]
    fn only_housekeeping_left(&self, drain_point: u64) -> bool {
        self.generated >= drain_point && self.calls.is_empty() && self.attempts.is_empty()
    }

    #[inline(always)]
    fn handle(&mut self, event: Event) {
        match event {
            Event::Arrival { client, generation } => self.on_arrival(client, generation),
            Event::UserSend { client, user } => {
                if self.may_generate() {
                    self.new_call(client, user);
                }
            }
            Event::ReplayArrival { client, user } => self.on_replay_arrival(client, user),
            Event::Complete { server, attempt } => self.on_complete(server, attempt),
            Event::AtBalancer { attempt } => self.on_at_balancer(attempt),
            Event::AtServer { attempt } => self.on_at_server(attempt),
            Event::CallTimeout { client } => self.on_call_timeout(client),
            Event::TryTimeout { client } => self.on_try_timeout(client),
            Event::Retry { call } => self.start_attempt(call),
            Event::WarmupEnd => self.on_warmup_end(),
            Event::Timeline { index, revert } => self.on_timeline(index as usize, revert),
            Event::Probe { balancer, backend } => self.on_probe(balancer, backend),
            Event::ProbeFailed { balancer, backend } => self.probe_outcome(balancer, backend, false),
            Event::Unject { balancer, backend, generation } => self.on_unject(balancer, backend, generation),
            Event::ServerUp { server, life } => self.on_server_up(server, life),
            Event::OverloadCheck { server } => self.on_overload_check(server),
        }
    }

    fn fraction_done(&self) -> f64 {
        let by_time = if self.world.end != SimTime::MAX { self.now.0 as f64 / self.world.end.0 as f64 } else { 0.0 };
        let by_count = if self.world.max_requests != u64::MAX {
            self.generated as f64 / self.world.max_requests as f64
        } else {
            0.0
        };
        by_time.max(by_count).min(1.0)
    }

    #[inline]
    fn may_generate(&self) -> bool {
        self.generated < self.world.max_requests
    }
}

/// Per balancer, each backend's server, when no server is the backend of
/// two balancers and there is no network (so a forwarded request reaches
/// its server in the same instant): the recorder can then count backends
/// by their servers.
fn exclusive_backends(world: &World) -> Option<Vec<Vec<u32>>> {
    if world.network.is_some() {
        return None;
    }
    let mut taken = vec![false; world.servers.len()];
    let mut out = Vec::with_capacity(world.balancers.len());
    for b in &world.balancers {
        let mut servers = Vec::with_capacity(b.backends.len());
        for be in &b.backends {
            if std::mem::replace(&mut taken[be.server.index()], true) {
                return None;
            }
            servers.push(be.server.index() as u32);
        }
        out.push(servers);
    }
    Some(out)
}

/// Runs a world to completion without writing a series (validation, benches).
pub fn run_quiet(world: World) -> RunResult {
    Simulation::new(world, Box::new(crate::metrics::NullSink)).run(|_| {})
}

/// Checks the invariants of the world that the request path's unchecked
/// indexing relies on (see "Ids on the request path" on [`Simulation`]). A
/// compiled world always passes; a hand-built one with an id out of range
/// panics here rather than reading out of bounds later.
fn check_ids(world: &World) {
    let (n_servers, n_balancers) = (world.servers.len(), world.balancers.len());
    for c in &world.clients {
        // A user id is below `users`: there must be one.
        assert!(c.users >= 1, "client group `{}` has no users", c.name);
        assert!(
            c.targets.iter().all(|t| (t.0 as usize) < n_balancers),
            "client group `{}` targets a balancer id out of range",
            c.name
        );
    }
    for b in &world.balancers {
        assert!(
            b.backends.iter().all(|be| be.server.index() < n_servers),
            "balancer `{}` has a backend server id out of range",
            b.name
        );
    }
    // The network's constant-leg tables (`NetState`) are shaped by these.
    // Routing changes touch neither the subnets nor their shares.
    if let Some(net) = &world.network {
        assert_eq!(net.subnets.len(), world.clients.len(), "one subnet list per client group");
        assert_eq!(net.balancer_node.len(), n_balancers, "one node per balancer");
        assert!(
            net.subnet_shares.iter().zip(&net.subnets).all(|(shares, ids)| shares.len() <= ids.len().max(1)),
            "no more subnet shares than subnets"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world() -> World {
        let text = "name: t\nrequests: 100\nclients:\n  c: {target: lb, rate: 10/s}\n\
                    balancers:\n  lb: {algorithm: random, backends: [s]}\n\
                    servers:\n  s: {service: {exponential: 10ms}}\n";
        crate::model::load_str("t.yaml", text).unwrap_or_else(|e| panic!("{e}"))
    }

    fn build(world: World) -> Simulation {
        Simulation::new(world, Box::new(crate::metrics::NullSink))
    }

    #[test]
    fn a_compiled_world_passes_the_id_check_and_runs() {
        assert_eq!(build(world()).run(|_| {}).generated, 100);
    }

    /// The request path indexes by these ids without bounds checks: a
    /// hand-built world with one out of range must not get that far.
    #[test]
    #[should_panic(expected = "targets a balancer id out of range")]
    fn a_target_out_of_range_is_refused() {
        let mut w = world();
        w.clients[0].targets[0].0 = 1;
        build(w);
    }

    #[test]
    #[should_panic(expected = "has a backend server id out of range")]
    fn a_backend_server_out_of_range_is_refused() {
        let mut w = world();
        w.balancers[0].backends[0].server = ServerId::from_index(1);
        build(w);
    }

    #[test]
    #[should_panic(expected = "has no users")]
    fn a_group_without_users_is_refused() {
        let mut w = world();
        w.clients[0].users = 0;
        build(w);
    }

    /// The hot path copies attempts in and out of their slab: keep them
    /// within a cache line. An attempt carries its call's fields, so a call
    /// without retries (`NO_CALL`) needs no record: 64 bytes a request
    /// instead of a 48-byte attempt and a 32-byte call.
    #[test]
    fn an_attempt_fits_in_a_cache_line() {
        assert!(std::mem::size_of::<Attempt>() <= 64, "{}", std::mem::size_of::<Attempt>());
        assert!(std::mem::size_of::<Call>() <= 32, "{}", std::mem::size_of::<Call>());
    }
}

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
//! Monitoring during the run (alert rules and SLO objectives judged on each
//! closed interval) is in [`alerts`], [`objectives`] and `watch`.

pub mod alerts;
mod balancer;
mod client;
mod network;
pub mod objectives;
mod server;
mod timeline;
mod watch;

use std::time::Instant;

use crate::engine::{EventQueue, Handle, Slab};
use crate::metrics::{
    BalancerGauge, CrashCause, EventKind, Failure, Gauges, Names, Recorder, SeriesSink, ServerGauge, ServerOutcome,
};
use crate::model::slos::SloWindow;
use crate::model::{Budget, Jitter, Load, RetryOn, TargetPolicy, World};
use crate::rng::{self, SimRng, mix64, unit_f64};
use crate::time::{SimDuration, SimTime};

use balancer::{BalancerState, Passive};
use client::ClientState;
use network::{Crossing, Leg, NetState};
use server::{Arrival, Phase, ServerState};
pub use watch::{FiredAlert, Watch};

/// What the event set holds: small, `Copy`, ids only.
#[derive(Copy, Clone, Debug)]
enum Event {
    /// The open-loop generator of a client group fires.
    Arrival { client: u32, generation: u32 },
    /// A closed-loop user sends its next request.
    UserSend { client: u32, user: u32 },
    /// A server finishes serving an attempt.
    Complete { server: u32, attempt: Handle },
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
    ServerUp { server: u32, life: u32 },
    /// A server's overload clock may have run out.
    OverloadCheck { server: u32 },
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
    done: bool,
}

/// Where an attempt is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// On its way to the balancer.
    ToBalancer,
    /// Forwarded, on its way to the server.
    ToServer,
    /// Waiting in the server's queue.
    Queued,
    Serving,
    /// Lost by the network, or its answer would arrive too late: it waits
    /// for the client's timeout and holds nothing anywhere.
    Lost,
}

/// One try of a call.
#[derive(Clone, Copy, Debug)]
struct Attempt {
    call: Handle,
    client: u32,
    user: u32,
    balancer: u32,
    backend: u32,
    server: u32,
    /// Constant latency from the balancer to the server, applied to the
    /// answer instead (see `balance`), ns. 32 bits keep the attempt at 48
    /// bytes, which the hot path notices.
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

/// Why the run stopped.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// The scenario's duration elapsed.
    Duration,
    /// Every request was generated and answered.
    Drained,
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
pub struct Simulation {
    world: World,
    now: SimTime,
    events: EventQueue<Event>,
    calls: Slab<Call>,
    attempts: Slab<Attempt>,
    clients: Vec<ClientState>,
    balancers: Vec<BalancerState>,
    servers: Vec<ServerState>,
    recorder: Recorder,
    generated: u64,
    /// Client-side calls in the system, and when that count last changed.
    in_system: u64,
    in_system_since: SimTime,
    in_system_area: u128,
    /// Snapshots at the end of warm-up.
    warm: Option<(Vec<f64>, u128)>,
    sojourn_sum_ns: u128,
    sojourn_count: u64,
    edge_ns: u128,
    gauges: Gauges,
    processed: u64,
    /// Timeline entries applied (by index), for reverts.
    applied: Vec<bool>,
    watch: Watch,
    slo_windows: Vec<Option<usize>>,
    scratch: Vec<(Handle, SimTime)>,
    /// Random stream for probes, backoff and target choice.
    misc_rng: SimRng,
    /// Routes, links and resolved paths (None: every hop is instant).
    net: Option<NetState>,
}

impl Simulation {
    /// Builds the run-time state of `world`, writing series rows to `sink`.
    pub fn new(world: World, sink: Box<dyn SeriesSink>) -> Simulation {
        let seed = world.seed;
        let names = world.entity_names();
        let groups: Vec<u64> = world.clients.iter().map(|c| c.users).collect();
        let backends: Vec<usize> = world.balancers.iter().map(|b| b.backends.len()).collect();
        let series_names = Names {
            servers: names.servers.clone(),
            balancers: names.balancers.clone(),
            clients: names.clients.clone(),
            subnets: names.subnets.clone(),
        };
        let watch = Watch::new(&world, names);
        let mut recorder =
            Recorder::new(series_names, &backends, &groups, world.interval, world.warmup.0, world.slow_threshold, sink);
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
        let balancers = world
            .balancers
            .iter()
            .map(|b| BalancerState::new(b, &world.servers, rng::stream(seed, "balancer", &b.name)))
            .collect();
        let mut clients: Vec<ClientState> =
            world.clients.iter().map(|c| ClientState::new(c, rng::stream(seed, "client", &c.name))).collect();
        let backends: Vec<Vec<u32>> =
            world.balancers.iter().map(|b| b.backends.iter().map(|be| be.server).collect()).collect();
        let net = NetState::new(&world, backends, rng::stream(seed, "network", "links"));
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
        Simulation {
            now: SimTime::ZERO,
            events: EventQueue::new(),
            calls: Slab::new(),
            attempts: Slab::new(),
            clients,
            balancers,
            servers,
            recorder,
            generated: 0,
            in_system: 0,
            in_system_since: SimTime::ZERO,
            in_system_area: 0,
            warm: None,
            sojourn_sum_ns: 0,
            sojourn_count: 0,
            edge_ns: 0,
            gauges,
            processed: 0,
            applied,
            watch,
            slo_windows,
            scratch: Vec::new(),
            misc_rng: rng::stream(seed, "simulator", "misc"),
            net,
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
            }
        }
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
        while let Some(t) = self.events.peek_time() {
            if t >= end || (self.only_housekeeping_left()) {
                break;
            }
            while t >= next_boundary {
                self.close_interval(next_boundary);
                next_boundary = SimTime(self.recorder.next_boundary());
            }
            let Some((t, event)) = self.events.pop() else { break };
            self.now = t;
            self.processed += 1;
            self.handle(event);
            if self.processed >= next_progress {
                next_progress = self.processed + (1 << 20);
                progress(self.fraction_done());
            }
        }
        // The run stops at its duration, or earlier when nothing is left to
        // happen and the request budget is spent (every request answered).
        let drained = self.events.is_empty() || self.only_housekeeping_left();
        let (end_time, end_reason) = if end != SimTime::MAX && (!drained || self.world.max_requests == u64::MAX) {
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
        self.touch_in_system();
        for s in &mut self.servers {
            s.touch(end_time);
        }
        let (warm_busy, warm_area) = self.warm.clone().unwrap_or_default();
        let mut in_flight = 0;
        let mut in_flight_counted = 0;
        let warmup = self.world.warmup.min(end_time);
        for h in self.calls.handles() {
            if let Some(c) = self.calls.get(h).copied()
                && !c.done
            {
                in_flight += 1;
                in_flight_counted += u64::from(c.created >= self.world.warmup);
                self.edge_ns += u128::from(end_time.since(c.created.max(warmup)).0);
            }
        }
        let time_weighted = TimeWeighted {
            server_busy_ns: self.servers.iter().zip(&warm_busy).map(|(s, w)| s.busy_area - w).collect(),
            in_system_ns: self.in_system_area - warm_area,
            sojourn_sum_ns: self.sojourn_sum_ns,
            sojourn_count: self.sojourn_count,
            edge_ns: self.edge_ns,
        };
        self.watch.engine.finish(end_time.0);
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
        }
    }

    /// With a request budget spent and nothing in flight, only periodic
    /// housekeeping (probes) would keep the run going.
    fn only_housekeeping_left(&self) -> bool {
        self.world.end == SimTime::MAX
            && self.generated >= self.world.max_requests
            && self.calls.is_empty()
            && self.attempts.is_empty()
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Arrival { client, generation } => self.on_arrival(client, generation),
            Event::UserSend { client, user } => self.new_call(client, user),
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

    fn close_interval(&mut self, boundary: SimTime) {
        for (g, s) in self.gauges.servers.iter_mut().zip(self.servers.iter_mut()) {
            s.touch(boundary);
            *g = ServerGauge {
                busy_ns: s.busy_area - s.busy_area_at_interval_start,
                workers: s.workers,
                queue: s.queue_len() as u64,
                up: s.is_up(),
            };
            s.busy_area_at_interval_start = s.busy_area;
        }
        for (g, b) in self.gauges.balancers.iter_mut().zip(&self.balancers) {
            *g = BalancerGauge { usable_backends: b.usable, up: !b.down };
        }
        self.gauges.in_flight = self.in_system;
        self.recorder.close_interval(boundary.0, &self.gauges);
        self.watch.observe(&self.recorder.snapshot, &self.world, &mut self.recorder.events);
    }

    fn on_warmup_end(&mut self) {
        let now = self.now;
        for s in &mut self.servers {
            s.touch(now);
        }
        self.touch_in_system();
        self.warm = Some((self.servers.iter().map(|s| s.busy_area).collect(), self.in_system_area));
    }

    #[inline]
    fn touch_in_system(&mut self) {
        let dt = self.now.since(self.in_system_since).0;
        self.in_system_area += u128::from(self.in_system) * u128::from(dt);
        self.in_system_since = self.now;
    }

    #[inline]
    fn may_generate(&self) -> bool {
        self.generated < self.world.max_requests
    }

    fn log(&mut self, kind: EventKind) {
        self.recorder.events.push(self.now.0, kind);
    }

    // ------------------------------------------------------------------
    // Calls and attempts.

    fn on_arrival(&mut self, client: u32, generation: u32) {
        if generation != self.clients[client as usize].arrival_gen || !self.may_generate() {
            return;
        }
        let state = &mut self.clients[client as usize];
        let def = &self.world.clients[client as usize];
        let user = state.pick_user();
        if let Some(t) = state.next_open_arrival(def) {
            let at = t + SimDuration(state.displacement);
            self.events.push(at, Event::Arrival { client, generation });
        }
        self.new_call(client, user);
    }

    /// When a call entered the simulation: its creation (the user's send)
    /// plus the group's constant path latency to the balancer, which is
    /// folded into the time its events fire.
    #[inline]
    fn entered(&self, call: &Call) -> SimTime {
        call.created + SimDuration(self.clients[call.client as usize].displacement)
    }

    /// A user of `client` sends a request. With a network whose paths to
    /// the balancers have one constant latency, events fire when the request
    /// reaches the balancer, and the user sent it that latency earlier.
    fn new_call(&mut self, client: u32, user: u32) {
        if !self.may_generate() {
            return;
        }
        let displacement = self.clients[client as usize].displacement;
        let created = SimTime(self.now.0.saturating_sub(displacement));
        self.generated += 1;
        let subnet = match &self.net {
            Some(n) => n.subnet_of(client, user) as u32,
            None => 0,
        };
        self.recorder.on_call(client, user, created.0, subnet);
        self.touch_in_system();
        self.in_system += 1;
        let call = self.calls.insert(Call {
            created,
            user,
            client,
            subnet,
            attempts: 0,
            current: Handle { index: u32::MAX, generation: 0 },
            done: false,
        });
        if let Some(timeout) = self.clients[client as usize].call_timeout {
            let deadline = created + SimDuration(timeout);
            if self.clients[client as usize].call_timers.push(deadline, call) {
                self.events.push(deadline, Event::CallTimeout { client });
            }
        }
        self.start_attempt(call);
    }

    /// Chooses the balancer for a call's next attempt.
    #[inline]
    fn choose_balancer(&mut self, client: u32, user: u32, attempt: u32) -> u32 {
        if let Some(b) = self.clients[client as usize].single_target {
            return b;
        }
        let def = &self.world.clients[client as usize];
        match def.target_policy {
            TargetPolicy::Spread => {
                // A user keeps its balancer (as with cached DNS); each retry
                // tries the next address in the list, as a client with
                // several addresses would.
                let total: u64 = def.targets.iter().map(|t| u64::from(t.1)).sum();
                let h = mix64(u64::from(user) ^ (u64::from(client) << 32));
                let mut pick = h % total.max(1);
                let mut first = 0;
                for (i, &(_, w)) in def.targets.iter().enumerate() {
                    if pick < u64::from(w) {
                        first = i;
                        break;
                    }
                    pick -= u64::from(w);
                }
                def.targets[(first + attempt as usize - 1) % def.targets.len()].0
            }
            TargetPolicy::Failover => {
                let now = self.now;
                def.targets
                    .iter()
                    .map(|t| t.0)
                    .find(|&b| {
                        let lb = &self.balancers[b as usize];
                        !lb.down || now.since(lb.down_since).0 < def.failover_after
                    })
                    .unwrap_or(def.targets[0].0)
            }
        }
    }

    fn start_attempt(&mut self, call_h: Handle) {
        let Some(call) = self.calls.get_mut(call_h) else { return };
        if call.done {
            return;
        }
        call.attempts += 1;
        let (client, user, attempt_no, subnet) = (call.client, call.user, call.attempts, call.subnet);
        let counted = call.created >= self.world.warmup;
        let call_deadline =
            self.clients[client as usize].call_timeout.map_or(SimTime::MAX, |t| call.created + SimDuration(t));
        let retry = attempt_no > 1;
        let balancer = self.choose_balancer(client, user, attempt_no);
        let displacement = self.clients[client as usize].displacement;
        let sent = SimTime(self.now.0.saturating_sub(displacement));
        let try_deadline =
            self.clients[client as usize].per_try_timeout.map_or(SimTime::MAX, |t| sent + SimDuration(t));
        let att = Attempt {
            call: call_h,
            client,
            user,
            balancer,
            backend: u32::MAX,
            server: u32::MAX,
            shift: 0,
            deadline: call_deadline.min(try_deadline),
            stage: Stage::ToBalancer,
            lost: None,
            abandoned: false,
            retry,
            released: false,
            counted,
        };
        let handle = self.attempts.insert(att);
        if let Some(c) = self.calls.get_mut(call_h) {
            c.current = handle;
        }
        let cs = &mut self.clients[client as usize];
        cs.active_attempts += 1;
        cs.active_retries += u32::from(retry);
        self.recorder.on_attempt(client, retry, counted);
        if try_deadline != SimTime::MAX && cs.try_timers.push(try_deadline, handle) {
            self.events.push(try_deadline, Event::TryTimeout { client });
        }
        if let Some(net) = self.net.as_mut().filter(|_| !cs.fixed_forward) {
            match net.cross(Leg::ToBalancer { subnet: subnet as usize, balancer }) {
                Crossing::Arrives(ns) if ns > displacement => {
                    self.events.push(self.now + SimDuration(ns - displacement), Event::AtBalancer { attempt: handle });
                    return;
                }
                Crossing::Arrives(_) => {}
                Crossing::FailsFast(why) => {
                    self.end_attempt(handle, att, Some(why), None, 0);
                    return;
                }
                Crossing::Lost(why) => {
                    self.lose(handle, why);
                    return;
                }
            }
        }
        self.balance(handle, att);
    }

    /// An attempt reaches its balancer over the network.
    fn on_at_balancer(&mut self, handle: Handle) {
        if let Some(att) = self.attempts.get(handle).copied() {
            self.balance(handle, att);
        }
    }

    /// The network lost the attempt: nothing more happens to it until the
    /// client's timeout, which will be blamed on `why`.
    fn lose(&mut self, handle: Handle, why: Failure) {
        if let Some(a) = self.attempts.get_mut(handle) {
            a.stage = Stage::Lost;
            a.lost = Some(why);
        }
    }

    /// At the balancer: it picks a backend and forwards the attempt.
    #[inline(always)]
    fn balance(&mut self, handle: Handle, mut att: Attempt) {
        let lb = &mut self.balancers[att.balancer as usize];
        if lb.down {
            self.end_attempt(handle, att, Some(Failure::Refused), None, 0);
            return;
        }
        let key = mix64(u64::from(att.user) ^ (u64::from(att.client) << 32));
        let Some(backend) = lb.algorithm.pick(&lb.pool, key, &mut lb.rng) else {
            self.recorder.on_no_backend(att.balancer, att.counted);
            self.end_attempt(handle, att, Some(Failure::NoBackend), None, 0);
            return;
        };
        lb.pool.backends[backend as usize].inflight += 1;
        att.backend = backend;
        att.server = lb.servers[backend as usize];
        att.stage = Stage::ToServer;
        self.recorder.on_balancer(att.balancer, backend, att.counted);
        if let Some(net) = &mut self.net {
            // A constant, lossless hop to the server is applied as a shift:
            // the server takes the request now and its answer leaves that
            // much later. For the server's queue this is exact (every request
            // it gets from this balancer is shifted alike); the balancer's
            // in-flight count and timeline events see the server that much
            // early, a microsecond-scale difference on a LAN.
            if let Some(shift) = net.fixed_to_server(att.balancer, backend) {
                att.shift = shift;
                self.arrive_at_server(handle, att);
                return;
            }
            match net.cross(Leg::ToServer { balancer: att.balancer, backend }) {
                Crossing::Arrives(0) => {}
                Crossing::Arrives(ns) => {
                    if let Some(a) = self.attempts.get_mut(handle) {
                        *a = att;
                    }
                    self.events.push(self.now + SimDuration(ns), Event::AtServer { attempt: handle });
                    return;
                }
                Crossing::FailsFast(why) => {
                    // The balancer is refused: passive detection counts it.
                    self.balancer_sees(&att, ServerOutcome::Refused);
                    att.released = true;
                    self.end_attempt(handle, att, Some(why), None, 0);
                    return;
                }
                Crossing::Lost(why) => {
                    // The balancer gives up on the connection; the client waits.
                    let lb = &mut self.balancers[att.balancer as usize];
                    let b = &mut lb.pool.backends[backend as usize];
                    b.inflight = b.inflight.saturating_sub(1);
                    att.released = true;
                    att.stage = Stage::Lost;
                    att.lost = Some(why);
                    if let Some(a) = self.attempts.get_mut(handle) {
                        *a = att;
                    }
                    return;
                }
            }
        }
        self.arrive_at_server(handle, att);
    }

    /// Writes back what the balancer decided and where the attempt is.
    #[inline(always)]
    fn store_routing(&mut self, handle: Handle, att: &Attempt) {
        if let Some(a) = self.attempts.get_mut(handle) {
            a.backend = att.backend;
            a.server = att.server;
            a.stage = att.stage;
            a.shift = att.shift;
        }
    }

    fn on_at_server(&mut self, handle: Handle) {
        let Some(att) = self.attempts.get(handle).copied() else { return };
        if att.stage == Stage::ToServer {
            self.arrive_at_server(handle, att);
        }
    }

    #[inline(always)]
    fn arrive_at_server(&mut self, handle: Handle, mut att: Attempt) {
        let now = self.now;
        let server = att.server;
        let s = &mut self.servers[server as usize];
        let outcome = s.arrive(now, handle);
        let queue_len = s.queue_len() as u64;
        match outcome {
            Arrival::Started(done_at) => {
                self.recorder.on_server_arrival(server, 0, att.counted);
                att.stage = Stage::Serving;
                self.store_routing(handle, &att);
                self.events.push(done_at, Event::Complete { server, attempt: handle });
            }
            Arrival::Queued(len) => {
                self.recorder.on_server_arrival(server, len, att.counted);
                att.stage = Stage::Queued;
                self.store_routing(handle, &att);
            }
            Arrival::Rejected => {
                self.recorder.on_server_arrival(server, queue_len, att.counted);
                self.server_answers(handle, att, Some(Failure::Rejected), ServerOutcome::Rejected);
            }
            Arrival::Error => {
                self.recorder.on_server_arrival(server, queue_len, att.counted);
                self.server_answers(handle, att, Some(Failure::ServerError), ServerOutcome::Error);
            }
            Arrival::Refused => {
                self.recorder.on_server_arrival(server, queue_len, att.counted);
                self.server_answers(handle, att, Some(Failure::Refused), ServerOutcome::Refused);
            }
        }
        self.overload_changed(server);
    }

    fn on_complete(&mut self, server: u32, handle: Handle) {
        // A completion from before a crash: the crash already ended the attempt.
        let Some(att) = self.attempts.get(handle).copied() else { return };
        if att.server != server || att.stage != Stage::Serving {
            return;
        }
        let now = self.now;
        if let Some((next, done_at)) = self.servers[server as usize].complete(now) {
            if let Some(a) = self.attempts.get_mut(next) {
                a.stage = Stage::Serving;
            }
            self.events.push(done_at, Event::Complete { server, attempt: next });
        }
        self.server_answers(handle, att, None, ServerOutcome::Completed);
        self.overload_changed(server);
    }

    /// The server's answer (or error) travels back through the balancer to
    /// the client: with a network it takes the return paths' latency, or is lost.
    #[inline(always)]
    fn server_answers(&mut self, handle: Handle, att: Attempt, failure: Option<Failure>, outcome: ServerOutcome) {
        let mut delay = 0;
        if let Some(net) = &mut self.net {
            let subnet = self.calls.get(att.call).map_or(0, |c| c.subnet as usize);
            let back = net.cross(Leg::FromServer { balancer: att.balancer, backend: att.backend });
            let to_client = net.cross(Leg::ToClient { balancer: att.balancer, subnet });
            match (back, to_client) {
                (Crossing::Arrives(a), Crossing::Arrives(b)) => delay = u64::from(att.shift) + a + b,
                _ => {
                    // The answer never gets back: the balancer saw the server
                    // finish, the client will time out.
                    self.recorder.on_server_outcome(att.server, outcome, att.counted);
                    self.balancer_sees(&att, outcome);
                    if let Some(a) = self.attempts.get_mut(handle) {
                        a.released = true;
                        a.stage = Stage::Lost;
                        a.lost = Some(Failure::ResponseLost);
                    }
                    return;
                }
            }
        }
        self.end_attempt(handle, att, failure, Some(outcome), delay);
    }

    /// The balancer sees the server's outcome: its in-flight count drops and
    /// passive detection counts a failure or a success. The caller marks the
    /// attempt released if it lives on.
    #[inline(always)]
    fn balancer_sees(&mut self, att: &Attempt, outcome: ServerOutcome) {
        if att.released || att.backend == u32::MAX {
            return;
        }
        let lb = &mut self.balancers[att.balancer as usize];
        let b = &mut lb.pool.backends[att.backend as usize];
        b.inflight = b.inflight.saturating_sub(1);
        let failed = outcome != ServerOutcome::Completed;
        if let Passive::Eject(until, generation) = lb.observe(att.backend as usize, failed, self.now) {
            self.on_ejection(att.balancer, att.backend, until, generation);
        }
    }

    /// An attempt is over: `failure` None is a success. The balancer sees
    /// the server's outcome; the client (unless it gave up on this attempt)
    /// gets its answer `delay` ns from now, or retries.
    #[inline(always)]
    fn end_attempt(
        &mut self,
        handle: Handle,
        att: Attempt,
        failure: Option<Failure>,
        at_server: Option<ServerOutcome>,
        delay: u64,
    ) {
        if let Some(outcome) = at_server {
            self.recorder.on_server_outcome(att.server, outcome, att.counted);
            self.balancer_sees(&att, outcome);
        }
        if !att.abandoned && delay > 0 && self.arrives_too_late(&att, delay) {
            // The answer would reach the client after its deadline: the
            // timeout fires first and counts it.
            if let Some(a) = self.attempts.get_mut(handle) {
                a.stage = Stage::Lost;
                a.released = true;
            }
            return;
        }
        self.attempts.remove(handle);
        if att.abandoned {
            return;
        }
        self.client_attempt_over(&att);
        match failure {
            None => self.call_succeeded(att.call, delay, att.server),
            Some(why) => self.attempt_failed(att.call, why, delay),
        }
    }

    /// Whether an answer leaving now reaches the client after a deadline.
    #[inline(always)]
    fn arrives_too_late(&self, att: &Attempt, delay: u64) -> bool {
        self.now + SimDuration(delay) > att.deadline
    }

    /// The client stops counting an attempt as active.
    #[inline(always)]
    fn client_attempt_over(&mut self, att: &Attempt) {
        let cs = &mut self.clients[att.client as usize];
        cs.active_attempts = cs.active_attempts.saturating_sub(1);
        if att.retry {
            cs.active_retries = cs.active_retries.saturating_sub(1);
        }
    }

    /// The call succeeded; the client has the answer `delay` ns from now.
    fn call_succeeded(&mut self, call_h: Handle, delay: u64, server: u32) {
        let Some(call) = self.calls.get(call_h).copied() else { return };
        if call.done {
            return;
        }
        let latency = (self.now + SimDuration(delay)).since(call.created).0;
        self.recorder.on_success(call.client, call.user, call.created.0, latency, server, call.subnet);
        if let Some(Budget::TokenBucket { max_tokens, token_ratio }) =
            self.world.clients[call.client as usize].retry.as_ref().and_then(|r| r.budget)
        {
            let cs = &mut self.clients[call.client as usize];
            cs.tokens = (cs.tokens + token_ratio).min(max_tokens);
        }
        self.finish_call(call_h, &call, delay);
    }

    /// An attempt failed (the client learns it `delay` ns from now): retry
    /// if the policy and budget allow, else the call fails.
    fn attempt_failed(&mut self, call_h: Handle, why: Failure, delay: u64) {
        let Some(call) = self.calls.get(call_h).copied() else { return };
        if call.done {
            return;
        }
        let client = call.client as usize;
        if let Some(policy) = &self.world.clients[client].retry {
            let cs = &mut self.clients[client];
            if let Some(Budget::TokenBucket { .. }) = policy.budget {
                cs.tokens = (cs.tokens - 1.0).max(0.0);
            }
            let kind = match why {
                Failure::TimedOut | Failure::Dropped | Failure::Loop | Failure::ResponseLost => RetryOn::Timeout,
                Failure::Rejected => RetryOn::Rejected,
                Failure::ServerError | Failure::Misrouted => RetryOn::ServerError,
                Failure::Refused | Failure::Unreachable => RetryOn::Refused,
                Failure::Reset => RetryOn::Reset,
                Failure::NoBackend => RetryOn::NoBackend,
            };
            let budget_ok = match policy.budget {
                None => true,
                Some(Budget::Ratio { ratio, min_concurrency }) => {
                    let allowed = (ratio * f64::from(cs.active_attempts)).max(f64::from(min_concurrency));
                    f64::from(cs.active_retries) < allowed
                }
                Some(Budget::TokenBucket { max_tokens, .. }) => cs.tokens > max_tokens / 2.0,
            };
            if call.attempts < policy.attempts && policy.retries(kind) && budget_ok {
                let cap =
                    policy.backoff_base.saturating_mul(1u64 << (call.attempts - 1).min(32)).min(policy.backoff_max);
                let backoff = match policy.jitter {
                    Jitter::Full => (unit_f64(&mut cs.rng) * cap as f64) as u64,
                    Jitter::Equal => cap / 2 + (unit_f64(&mut cs.rng) * (cap / 2) as f64) as u64,
                    Jitter::None => cap,
                };
                // The retry is sent after the backoff and reaches the
                // balancer the group's folded latency later.
                let at = self.now + SimDuration(delay + backoff + cs.displacement);
                self.events.push(at, Event::Retry { call: call_h });
                return;
            }
        }
        self.recorder.on_failure(call.client, call.user, call.created.0, why, call.subnet);
        self.finish_call(call_h, &call, delay);
    }

    /// Bookkeeping when a call has its outcome: the in-system count, the
    /// attempt it leaves behind, and the closed-loop user's next request
    /// (the client has the outcome `delay` ns from now).
    #[inline(always)]
    fn finish_call(&mut self, call_h: Handle, call: &Call, delay: u64) {
        if let Some(c) = self.calls.get_mut(call_h) {
            c.done = true;
        }
        // The client no longer waits for the current attempt; one the
        // network lost holds nothing anywhere and goes.
        if let Some(a) = self.attempts.get_mut(call.current)
            && a.call == call_h
            && !a.abandoned
        {
            a.abandoned = true;
            let a = *a;
            self.client_attempt_over(&a);
            if a.stage == Stage::Lost {
                self.attempts.remove(call.current);
            }
        }
        self.calls.remove(call_h);
        self.touch_in_system();
        self.in_system -= 1;
        // Little's law counts a call from when it entered the simulation to
        // when its outcome was decided (now), the time it spent in `in_system`.
        let entered = self.entered(call);
        if call.created >= self.world.warmup {
            self.sojourn_sum_ns += u128::from(self.now.since(entered).0);
            self.sojourn_count += 1;
        } else if self.now > self.world.warmup {
            // Sent during the warm-up, finished after it: only the part
            // inside the measured period counts.
            self.edge_ns += u128::from(self.now.since(entered.max(self.world.warmup)).0);
        }
        if let Load::Closed { think } = &self.world.clients[call.client as usize].load
            && self.may_generate()
        {
            let cs = &mut self.clients[call.client as usize];
            let pause = think.sample(&mut cs.rng);
            let at = self.now + SimDuration(delay + pause + cs.displacement);
            self.events.push(at, Event::UserSend { client: call.client, user: call.user });
        }
    }

    fn on_call_timeout(&mut self, client: u32) {
        let now = self.now;
        while let Some((deadline, call_h)) = self.clients[client as usize].call_timers.front() {
            let Some(call) = self.calls.get(call_h).copied().filter(|c| !c.done) else {
                // Finished already: drop it, due or not.
                self.clients[client as usize].call_timers.pop();
                continue;
            };
            if deadline > now {
                break;
            }
            self.clients[client as usize].call_timers.pop();
            // A request the network lost times out blamed on the network.
            let why = self
                .attempts
                .get(call.current)
                .filter(|a| a.call == call_h && !a.abandoned)
                .and_then(|a| a.lost)
                .unwrap_or(Failure::TimedOut);
            self.recorder.on_failure(call.client, call.user, call.created.0, why, call.subnet);
            self.finish_call(call_h, &call, 0);
        }
        if let Some(next) = self.clients[client as usize].call_timers.next_deadline() {
            self.events.push(next, Event::CallTimeout { client });
        }
    }

    fn on_try_timeout(&mut self, client: u32) {
        let now = self.now;
        while let Some((deadline, handle)) = self.clients[client as usize].try_timers.front() {
            let Some(a) = self.attempts.get(handle).copied().filter(|a| !a.abandoned) else {
                self.clients[client as usize].try_timers.pop();
                continue;
            };
            if deadline > now {
                break;
            }
            self.clients[client as usize].try_timers.pop();
            if let Some(x) = self.attempts.get_mut(handle) {
                x.abandoned = true;
            }
            if a.stage == Stage::Lost {
                self.attempts.remove(handle);
            }
            self.client_attempt_over(&a);
            self.attempt_failed(a.call, a.lost.unwrap_or(Failure::TimedOut), 0);
        }
        if let Some(next) = self.clients[client as usize].try_timers.next_deadline() {
            self.events.push(next, Event::TryTimeout { client });
        }
    }

    // ------------------------------------------------------------------
    // Server life cycle.

    #[inline(always)]
    fn overload_changed(&mut self, server: u32) {
        if let Some(check_at) = self.servers[server as usize].overload_changed(self.now) {
            self.events.push(check_at, Event::OverloadCheck { server });
        }
    }

    fn on_overload_check(&mut self, server: u32) {
        if self.servers[server as usize].overload_expired(self.now) {
            self.crash_server(server, CrashCause::Overwhelmed);
            let up = self.servers[server as usize].begin_restart(self.now);
            let life = self.servers[server as usize].life;
            self.events.push(up, Event::ServerUp { server, life });
            self.log(EventKind::ServerRestarting { server, cause: CrashCause::Overwhelmed, up_at_ns: up.0 });
        }
    }

    /// Everything the server holds is lost: clients see a reset.
    fn crash_server(&mut self, server: u32, cause: CrashCause) {
        let now = self.now;
        let queued = self.servers[server as usize].crash(now);
        let mut lost: Vec<Handle> = queued;
        for h in self.attempts.handles() {
            if let Some(a) = self.attempts.get(h)
                && a.server == server
                && a.stage == Stage::Serving
            {
                lost.push(h);
            }
        }
        let n = lost.len();
        for h in lost {
            if let Some(att) = self.attempts.get(h).copied() {
                self.server_answers(h, att, Some(Failure::Reset), ServerOutcome::Reset);
            }
        }
        self.log(EventKind::ServerCrashed { server, cause, lost: n });
    }

    fn on_server_up(&mut self, server: u32, life: u32) {
        let s = &mut self.servers[server as usize];
        if s.life != life || !matches!(s.phase, Phase::Restarting(_)) {
            return;
        }
        s.come_up(self.now);
        self.log(EventKind::ServerUp { server });
    }

    /// Restarts a server: down now if it is up, up after its restart time.
    fn restart_server(&mut self, server: u32, cause: CrashCause) {
        if self.servers[server as usize].phase == Phase::Up {
            self.crash_server(server, cause);
        }
        let up = self.servers[server as usize].begin_restart(self.now);
        let life = self.servers[server as usize].life;
        self.events.push(up, Event::ServerUp { server, life });
        self.log(EventKind::ServerRestarting { server, cause, up_at_ns: up.0 });
    }

    /// Starts queued requests on workers the timeline added.
    fn start_waiting(&mut self, server: u32) {
        let mut started = std::mem::take(&mut self.scratch);
        self.servers[server as usize].start_waiting(self.now, &mut started);
        for &(h, done_at) in &started {
            if let Some(a) = self.attempts.get_mut(h) {
                a.stage = Stage::Serving;
            }
            self.events.push(done_at, Event::Complete { server, attempt: h });
        }
        started.clear();
        self.scratch = started;
    }

    // ------------------------------------------------------------------
    // Health checks and outlier detection.

    fn on_probe(&mut self, balancer: u32, backend: u32) {
        let lb = &self.balancers[balancer as usize];
        let Some(hc) = lb.health_check else { return };
        let server = lb.servers[backend as usize] as usize;
        let s = &self.servers[server];
        // A probe is refused by a down server, answered with an error at the
        // server's error rate, and times out when the queue ahead of it (or
        // the network) makes it later than the probe timeout, or the network
        // loses it.
        let mut network_ns = 0u64;
        let mut outcome_by_network: Option<Option<bool>> = None;
        if let Some(net) = &mut self.net {
            let there = net.cross(Leg::ToServer { balancer, backend });
            let back = net.cross(Leg::FromServer { balancer, backend });
            match (there, back) {
                (Crossing::Arrives(a), Crossing::Arrives(b)) => network_ns = a + b,
                (Crossing::FailsFast(_), _) | (_, Crossing::FailsFast(_)) => outcome_by_network = Some(Some(false)),
                _ => outcome_by_network = Some(None),
            }
        }
        let wait = s.queue_len() as f64 * s.mean_service_secs() / f64::from(s.workers.max(1));
        let outcome = if let Some(o) = outcome_by_network {
            o
        } else if !s.is_up() {
            Some(false)
        } else if wait * 1e9 + network_ns as f64 > hc.timeout as f64 {
            None
        } else {
            let error_rate = self.world.servers[server].error_rate;
            Some(!(error_rate > 0.0 && rng::chance(&mut self.misc_rng, error_rate)))
        };
        match outcome {
            Some(ok) => self.probe_outcome(balancer, backend, ok),
            None => self.events.push(self.now + SimDuration(hc.timeout), Event::ProbeFailed { balancer, backend }),
        }
        let next = self.now + self.balancers[balancer as usize].next_probe_delay();
        self.events.push(next, Event::Probe { balancer, backend });
    }

    fn probe_outcome(&mut self, balancer: u32, backend: u32, ok: bool) {
        let Some(healthy) = self.balancers[balancer as usize].probe_result(backend as usize, ok) else { return };
        let server = self.balancers[balancer as usize].servers[backend as usize];
        self.log(if healthy {
            EventKind::BackendHealthy { server, balancer }
        } else {
            EventKind::BackendUnhealthy { server, balancer }
        });
        self.refresh_balancer(balancer);
    }

    fn on_ejection(&mut self, balancer: u32, backend: u32, until: SimTime, generation: u32) {
        let server = self.balancers[balancer as usize].servers[backend as usize];
        self.log(EventKind::BackendEjected { server, balancer, for_ns: until.since(self.now).0 });
        self.events.push(until, Event::Unject { balancer, backend, generation });
        self.refresh_balancer(balancer);
    }

    fn on_unject(&mut self, balancer: u32, backend: u32, generation: u32) {
        if self.balancers[balancer as usize].unject(backend as usize, generation, self.now) {
            let server = self.balancers[balancer as usize].servers[backend as usize];
            self.log(EventKind::BackendReturned { server, balancer });
            self.refresh_balancer(balancer);
        }
    }

    fn refresh_balancer(&mut self, balancer: u32) {
        if self.balancers[balancer as usize].refresh() {
            self.log(if self.balancers[balancer as usize].panicking {
                EventKind::PanicModeOn { balancer }
            } else {
                EventKind::PanicModeOff { balancer }
            });
        }
    }
}

/// Runs a world to completion without writing a series (validation, benches).
pub fn run_quiet(world: World) -> RunResult {
    Simulation::new(world, Box::new(crate::metrics::NullSink)).run(|_| {})
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hot path copies attempts in and out of their slab: keep them small.
    #[test]
    fn an_attempt_fits_in_48_bytes() {
        assert!(std::mem::size_of::<Attempt>() <= 48, "{}", std::mem::size_of::<Attempt>());
    }
}

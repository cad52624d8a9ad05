//! The traffic model on the kernel: client groups generate requests, balancers
//! pick backends from their own tables, servers queue and serve them, and
//! clients see a response, a rejection or a timeout.
//!
//! Hot-path rules: no allocation per event, integer ids into flat vectors,
//! time as integer nanoseconds. Request state lives in a slab; events carry
//! only ids and handles.

mod client;
mod server;

use std::time::Instant;

use crate::balancer::{self, Algorithm, Backend, Pool};
use crate::engine::{EventQueue, Handle, Slab};
use crate::metrics::{Failure, Names, Recorder, SeriesSink, ServerGauge};
use crate::model::{Load, World};
use crate::rng::{self, SimRng, stable_hash};
use crate::time::{SimDuration, SimTime};

use client::ClientState;
use server::{Arrival, ServerState};

/// What the event set holds: small, `Copy`, ids only.
#[derive(Copy, Clone, Debug)]
enum Event {
    /// The open-loop generator of a client group fires.
    Arrival { client: u32 },
    /// A closed-loop user sends its next request.
    UserSend { client: u32, user: u32 },
    /// A server finishes serving a request.
    Complete { server: u32, request: Handle },
    /// The head of a client group's timeout list is due.
    Timeout { client: u32 },
    /// The warm-up ends: snapshot time-weighted totals.
    WarmupEnd,
}

/// One request in flight.
#[derive(Clone, Copy, Debug)]
struct Request {
    created: SimTime,
    user: u32,
    client: u32,
    balancer: u32,
    backend: u32,
    server: u32,
    /// The client already has its outcome (response or timeout); the server
    /// may still be working on it.
    client_done: bool,
    /// Generated after the warm-up: counts in the summary.
    counted: bool,
}

/// A balancer at run time: its table and its algorithm.
struct BalancerState {
    pool: Pool,
    algorithm: Box<dyn Algorithm>,
    rng: SimRng,
    /// Backend index -> server id.
    servers: Vec<u32>,
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
    /// Integral of requests in the system (client view) over the measured
    /// period, request-ns.
    pub in_system_ns: u128,
    /// Sum of time in system of requests generated after the warm-up that
    /// finished (client view), ns.
    pub sojourn_sum_ns: u128,
    pub sojourn_count: u64,
    /// Time inside the measured period spent by requests that straddle its
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
    /// Requests generated, warm-up included.
    pub generated: u64,
    pub peak_requests_in_memory: usize,
}

/// A simulation in progress.
pub struct Simulation {
    world: World,
    now: SimTime,
    events: EventQueue<Event>,
    requests: Slab<Request>,
    clients: Vec<ClientState>,
    balancers: Vec<BalancerState>,
    servers: Vec<ServerState>,
    recorder: Recorder,
    generated: u64,
    /// Client-side requests in the system, and when that count last changed.
    in_system: u64,
    in_system_since: SimTime,
    in_system_area: u128,
    /// Snapshots at the end of warm-up.
    warm: Option<(Vec<f64>, u128)>,
    sojourn_sum_ns: u128,
    sojourn_count: u64,
    edge_ns: u128,
    gauges: Vec<ServerGauge>,
    processed: u64,
}

impl Simulation {
    /// Builds the run-time state of `world`, writing series rows to `sink`.
    pub fn new(world: World, sink: Box<dyn SeriesSink>) -> Simulation {
        let seed = world.seed;
        let names = Names {
            servers: world.servers.iter().map(|s| s.name.clone()).collect(),
            balancers: world.balancers.iter().map(|b| b.name.clone()).collect(),
            clients: world.clients.iter().map(|c| c.name.clone()).collect(),
        };
        let groups: Vec<u64> = world.clients.iter().map(|c| c.users).collect();
        let recorder = Recorder::new(names, &groups, world.interval, world.warmup.0, world.slow_threshold, sink);
        let servers: Vec<ServerState> =
            world.servers.iter().map(|s| ServerState::new(s, rng::stream(seed, "server", &s.name))).collect();
        let balancers = world
            .balancers
            .iter()
            .map(|b| {
                let pool = Pool {
                    backends: b
                        .backends
                        .iter()
                        .map(|be| Backend {
                            weight: be.weight,
                            available: true,
                            inflight: 0,
                            max_conn: be.max_conn,
                            name_hash: stable_hash(world.servers[be.server as usize].name.as_bytes()),
                        })
                        .collect(),
                    eligible: Vec::new(),
                };
                let mut state = BalancerState {
                    pool,
                    algorithm: balancer::build(b.algorithm, b.params),
                    rng: rng::stream(seed, "balancer", &b.name),
                    servers: b.backends.iter().map(|be| be.server).collect(),
                };
                state.pool.refresh();
                state.algorithm.rebuild(&state.pool);
                state
            })
            .collect();
        let clients = world.clients.iter().map(|c| ClientState::new(c, rng::stream(seed, "client", &c.name))).collect();
        let gauges = vec![ServerGauge::default(); world.servers.len()];
        Simulation {
            world,
            now: SimTime::ZERO,
            events: EventQueue::new(),
            requests: Slab::new(),
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
        }
    }

    /// Sets how the series shows wall-clock times.
    pub fn set_clock(&mut self, clock: Box<dyn Fn(u64) -> String + Send>) {
        self.recorder.set_clock(clock);
    }

    fn schedule_initial(&mut self) {
        for c in 0..self.clients.len() {
            match &self.world.clients[c].load {
                Load::Open { .. } => {
                    if let Some(t) = self.clients[c].next_open_arrival(&self.world.clients[c]) {
                        self.events.push(t, Event::Arrival { client: c as u32 });
                    }
                }
                Load::Closed { think } => {
                    // Users start at a random point of their first think time,
                    // so they do not all fire at once.
                    for user in 0..self.world.clients[c].users as u32 {
                        let t = SimTime(think.sample(&mut self.clients[c].rng));
                        self.events.push(t, Event::UserSend { client: c as u32, user });
                    }
                }
            }
        }
        if self.world.warmup > SimTime::ZERO {
            self.events.push(self.world.warmup, Event::WarmupEnd);
        } else {
            self.warm = Some((vec![0.0; self.servers.len()], 0));
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
            if t >= end {
                break;
            }
            while t >= next_boundary {
                self.close_interval(next_boundary);
                next_boundary = SimTime(self.recorder.next_boundary());
            }
            let Some((t, event)) = self.events.pop() else {
                break;
            };
            self.now = t;
            self.processed += 1;
            match event {
                Event::Arrival { client } => self.on_arrival(client),
                Event::UserSend { client, user } => self.send(client, user),
                Event::Complete { server, request } => self.on_complete(server, request),
                Event::Timeout { client } => self.on_timeout(client),
                Event::WarmupEnd => self.on_warmup_end(),
            }
            if self.processed >= next_progress {
                next_progress = self.processed + (1 << 20);
                progress(self.fraction_done());
            }
        }
        // The run stops at its duration, or earlier when nothing is left to
        // happen and the request budget is spent (every request answered).
        let (end_time, end_reason) =
            if end != SimTime::MAX && (self.events.peek_time().is_some() || self.world.max_requests == u64::MAX) {
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
        for h in self.requests.handles() {
            let r = self.requests.get(h).copied();
            if let Some(r) = r
                && !r.client_done
            {
                in_flight += 1;
                in_flight_counted += u64::from(r.counted);
                self.edge_ns += u128::from(end_time.since(r.created.max(warmup)).0);
            }
        }
        let time_weighted = TimeWeighted {
            server_busy_ns: self.servers.iter().zip(&warm_busy).map(|(s, w)| s.busy_area - w).collect(),
            in_system_ns: self.in_system_area - warm_area,
            sojourn_sum_ns: self.sojourn_sum_ns,
            sojourn_count: self.sojourn_count,
            edge_ns: self.edge_ns,
        };
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
            peak_requests_in_memory: self.requests.capacity(),
            world: self.world,
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
        for (g, s) in self.gauges.iter_mut().zip(self.servers.iter_mut()) {
            s.touch(boundary);
            *g = ServerGauge {
                busy_ns: s.busy_area - s.busy_area_at_interval_start,
                workers: s.workers,
                queue: s.queue_len() as u64,
            };
            s.busy_area_at_interval_start = s.busy_area;
        }
        self.recorder.close_interval(boundary.0, &self.gauges, self.in_system);
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

    fn on_arrival(&mut self, client: u32) {
        if !self.may_generate() {
            return;
        }
        let def = &self.world.clients[client as usize];
        let state = &mut self.clients[client as usize];
        let user = state.pick_user();
        if let Some(t) = state.next_open_arrival(def) {
            self.events.push(t, Event::Arrival { client });
        }
        self.send(client, user);
    }

    /// A user of `client` sends a request.
    fn send(&mut self, client: u32, user: u32) {
        if !self.may_generate() {
            return;
        }
        self.generated += 1;
        let counted = self.recorder.counts(self.now.0);
        self.recorder.on_generated(client, user, counted);
        self.touch_in_system();
        self.in_system += 1;
        let def = &self.world.clients[client as usize];
        let balancer = def.target;
        let handle = self.requests.insert(Request {
            created: self.now,
            user,
            client,
            balancer,
            backend: u32::MAX,
            server: u32::MAX,
            client_done: false,
            counted,
        });
        if let Some(timeout) = def.timeout {
            let deadline = self.now + SimDuration(timeout);
            if self.clients[client as usize].timers.push(deadline, handle) {
                self.events.push(deadline, Event::Timeout { client });
            }
        }
        self.dispatch(handle);
    }

    /// The balancer picks a backend and forwards the request.
    fn dispatch(&mut self, handle: Handle) {
        let Some(req) = self.requests.get(handle).copied() else {
            return;
        };
        let b = req.balancer as usize;
        self.recorder.on_balancer(req.balancer, req.counted);
        let key = rng::mix64(u64::from(req.user) ^ (u64::from(req.client) << 32));
        let lb = &mut self.balancers[b];
        let Some(backend) = lb.algorithm.pick(&lb.pool, key, &mut lb.rng) else {
            self.recorder.on_no_backend(req.balancer);
            self.fail(handle, Failure::NoBackend);
            return;
        };
        lb.pool.backends[backend as usize].inflight += 1;
        let server = lb.servers[backend as usize];
        if let Some(r) = self.requests.get_mut(handle) {
            r.backend = backend;
            r.server = server;
        }
        self.arrive_at_server(server, handle, req.counted);
    }

    fn arrive_at_server(&mut self, server: u32, handle: Handle, counted: bool) {
        let now = self.now;
        let s = &mut self.servers[server as usize];
        match s.arrive(now, handle) {
            Arrival::Started(done_at) => {
                self.recorder.on_server_arrival(server, 0, counted);
                self.events.push(done_at, Event::Complete { server, request: handle });
            }
            Arrival::Queued(len) => self.recorder.on_server_arrival(server, len, counted),
            Arrival::Rejected => {
                let len = s.queue_len() as u64;
                self.recorder.on_server_arrival(server, len, counted);
                self.recorder.on_server_done(server, true, counted);
                self.release_backend(handle);
                self.fail(handle, Failure::Rejected);
            }
        }
    }

    fn on_complete(&mut self, server: u32, handle: Handle) {
        let now = self.now;
        if let Some((next, done_at)) = self.servers[server as usize].complete(now) {
            self.events.push(done_at, Event::Complete { server, request: next });
        }
        let counted = self.requests.get(handle).is_some_and(|r| r.counted);
        self.recorder.on_server_done(server, false, counted);
        self.release_backend(handle);
        self.respond(handle);
    }

    /// The balancer sees the response (or the rejection) go back.
    fn release_backend(&mut self, handle: Handle) {
        if let Some(r) = self.requests.get(handle)
            && r.backend != u32::MAX
        {
            let b = &mut self.balancers[r.balancer as usize].pool.backends[r.backend as usize];
            b.inflight = b.inflight.saturating_sub(1);
        }
    }

    /// A successful response reaches the client (unless it gave up already).
    fn respond(&mut self, handle: Handle) {
        let Some(req) = self.requests.get(handle).copied() else {
            return;
        };
        self.requests.remove(handle);
        if req.client_done {
            return;
        }
        let latency = self.now.since(req.created).0;
        self.recorder.on_success(req.client, req.user, latency, req.counted);
        self.client_finished(&req, latency);
    }

    /// The client sees a failure now.
    fn fail(&mut self, handle: Handle, why: Failure) {
        let Some(req) = self.requests.get(handle).copied() else {
            return;
        };
        self.requests.remove(handle);
        if req.client_done {
            return;
        }
        self.recorder.on_failure(req.client, req.user, why, req.counted);
        let latency = self.now.since(req.created).0;
        self.client_finished(&req, latency);
    }

    /// Bookkeeping when a client has its outcome: the in-system count, and
    /// the closed-loop user's next request.
    fn client_finished(&mut self, req: &Request, time_in_system: u64) {
        self.touch_in_system();
        self.in_system -= 1;
        if req.counted {
            self.sojourn_sum_ns += u128::from(time_in_system);
            self.sojourn_count += 1;
        } else if self.now > self.world.warmup {
            // Sent during the warm-up, finished after it: only the part
            // inside the measured period counts.
            self.edge_ns += u128::from(self.now.since(self.world.warmup).0);
        }
        if let Load::Closed { think } = &self.world.clients[req.client as usize].load
            && self.may_generate()
        {
            let pause = think.sample(&mut self.clients[req.client as usize].rng);
            self.events.push(self.now + SimDuration(pause), Event::UserSend { client: req.client, user: req.user });
        }
    }

    fn on_timeout(&mut self, client: u32) {
        let now = self.now;
        while let Some(handle) = self.clients[client as usize].timers.pop_due(now) {
            let Some(req) = self.requests.get_mut(handle) else {
                continue;
            };
            if req.client_done {
                continue;
            }
            req.client_done = true;
            let req = *req;
            self.recorder.on_failure(req.client, req.user, Failure::TimedOut, req.counted);
            self.client_finished(&req, now.since(req.created).0);
        }
        if let Some(next) = self.clients[client as usize].timers.next_deadline() {
            self.events.push(next, Event::Timeout { client });
        }
    }
}

/// Runs a world to completion without writing a series (validation, benches).
pub fn run_quiet(world: World) -> RunResult {
    Simulation::new(world, Box::new(crate::metrics::NullSink)).run(|_| {})
}

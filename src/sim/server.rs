//! Servers at run time: workers, a FIFO queue with a limit, the service-time
//! distribution, and the life cycle the incident timeline and overload
//! drive: up, crashed (refusing connections), restarting, back up cold.
//!
//! Timeline changes (slow-downs, error rates, worker counts, deploys) are
//! kept as layers keyed by the change that made them, so that reverting one
//! change restores exactly what the others leave in force.
//!
//! The `impl Simulation` block at the end (run stage, `sim`) drives that
//! life cycle on the run: overload checks, crashes (losing what the server
//! holds), restarts, coming back up, and starting queued work on new workers.

use super::{Event, Simulation, Stage};
use crate::dist::Dist;
use crate::engine::{Handle, Ring};
use crate::metrics::{CrashCause, EventKind, Failure, ServerOutcome};
use crate::model::{ColdStart, CrashRule, Degrade, ServerDef, ServerId};
use crate::rng::{SimRng, chance};
use crate::time::{SimDuration, SimTime};

/// The overload clock drains this many times slower than it fills: a
/// server that keeps hitting its limit with short breathers (a queue that
/// is full, drains one slot, fills again) still falls over, as memory and
/// thread pressure would make it.
pub(super) const RELIEF_DIVISOR: u64 = 10;

/// Where a server is in its life cycle.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    Up,
    /// Crashed: refusing connections until something restarts it.
    Down,
    /// Coming back; up at the given time.
    Restarting(SimTime),
}

/// What happened to a request that reached a server.
pub(super) enum Arrival {
    /// A worker took it; it will be done at this time.
    Started(SimTime),
    /// It waits; the queue now has this many requests.
    Queued(u64),
    /// The queue was full.
    Rejected,
    /// Answered at once with an error (a fault or bad deploy).
    Error,
    /// The server is down.
    Refused,
}

/// Changes from the timeline, each tagged with the change that made it;
/// allocated on a server's first change (most servers of a million never
/// have one).
#[derive(Clone, Debug, Default)]
pub(super) struct Layers(Option<Box<LayerLists>>);

#[derive(Clone, Debug, Default)]
pub(super) struct LayerLists {
    pub slow_down: Vec<(u32, f64)>,
    pub error_rate: Vec<(u32, f64)>,
    pub workers: Vec<(u32, u32)>,
    pub service: Vec<(u32, Dist)>,
}

impl Layers {
    /// The lists, to add a layer to.
    pub(super) fn lists(&mut self) -> &mut LayerLists {
        self.0.get_or_insert_with(Box::default)
    }

    pub(super) fn remove(&mut self, change: u32) {
        if let Some(l) = &mut self.0 {
            l.slow_down.retain(|l| l.0 != change);
            l.error_rate.retain(|l| l.0 != change);
            l.workers.retain(|l| l.0 != change);
            l.service.retain(|l| l.0 != change);
        }
    }
}

pub(super) struct ServerState {
    pub workers: u32,
    busy: u32,
    queue: Ring<Handle>,
    queue_limit: u64,
    service: Dist,
    /// Product of active slow-downs.
    slow_down: f64,
    /// Share of requests failed at once.
    error_rate: f64,
    pub layers: Layers,
    rng: SimRng,
    pub phase: Phase,
    /// Bumped on every crash and restart: events from an earlier life are stale.
    pub life: u32,
    /// Cold starts, slow-down with load and crashing when overwhelmed, for
    /// the servers that have any (a million servers without them pay a
    /// pointer each).
    behaviour: Option<Box<Behaviour>>,
    /// Whether any multiplier applies (skips the arithmetic when none does).
    plain_service: bool,
    /// Integral of busy workers over time (worker-ns), and when it was last brought up to date.
    pub busy_area: f64,
    last_change: SimTime,
    pub busy_area_at_interval_start: f64,
}

/// What only some servers do, and its state.
#[derive(Clone, Debug)]
struct Behaviour {
    cold_start: Option<ColdStart>,
    up_since: SimTime,
    degrade: Option<Degrade>,
    crash: Option<CrashRule>,
    /// Overload clock: runs up while overloaded, down while not.
    overload_level: u64,
    overloaded: bool,
    overload_since: SimTime,
}

impl ServerState {
    pub(super) fn new(def: &ServerDef, rng: SimRng) -> ServerState {
        let (cold_start, degrade, crash) = (def.cold_start.as_deref(), def.degrade.as_deref(), def.crash.as_deref());
        let behaviour = (cold_start.is_some() || degrade.is_some() || crash.is_some()).then(|| {
            Box::new(Behaviour {
                cold_start: cold_start.copied(),
                up_since: SimTime::ZERO,
                degrade: degrade.copied(),
                crash: crash.copied(),
                overload_level: 0,
                overloaded: false,
                overload_since: SimTime::ZERO,
            })
        });
        let mut s = ServerState {
            workers: def.workers,
            busy: 0,
            queue: Ring::new(),
            queue_limit: def.queue_limit,
            service: def.service.clone(),
            slow_down: 1.0,
            error_rate: def.error_rate,
            layers: Layers::default(),
            rng,
            phase: if def.initially_down { Phase::Down } else { Phase::Up },
            life: 0,
            behaviour,
            plain_service: true,
            busy_area: 0.0,
            last_change: SimTime::ZERO,
            busy_area_at_interval_start: 0.0,
        };
        s.refresh_plain();
        s
    }

    fn refresh_plain(&mut self) {
        let varies = self.behaviour.as_ref().is_some_and(|b| b.degrade.is_some() || b.cold_start.is_some());
        self.plain_service = self.slow_down == 1.0 && !varies;
    }

    pub(super) fn queue_len(&self) -> usize {
        self.queue.len()
    }

    /// Requests in the server: being served and waiting.
    pub(super) fn in_system(&self) -> u64 {
        u64::from(self.busy) + self.queue.len() as u64
    }

    pub(super) fn is_up(&self) -> bool {
        self.phase == Phase::Up
    }

    pub(super) fn mean_service_secs(&self) -> f64 {
        self.service.mean_secs() * self.slow_down
    }

    /// Brings the busy-time integral up to `now`.
    #[inline]
    pub(super) fn touch(&mut self, now: SimTime) {
        if now > self.last_change {
            self.busy_area += f64::from(self.busy) * (now.0 - self.last_change.0) as f64;
            self.last_change = now;
        }
    }

    #[inline(always)]
    fn service_time(&mut self, now: SimTime) -> SimDuration {
        let base = self.service.sample(&mut self.rng);
        if self.plain_service {
            return SimDuration(base);
        }
        let mut factor = self.slow_down;
        if let Some(b) = self.behaviour.as_deref() {
            if let Some(d) = b.degrade {
                let over = self.in_system().saturating_sub(u64::from(d.above));
                factor *= 1.0 + d.per_request * over as f64;
            }
            if let Some(c) = b.cold_start {
                let warm = now.since(b.up_since).0;
                if warm < c.duration && c.duration > 0 {
                    factor *= 1.0 + (c.factor - 1.0) * (1.0 - warm as f64 / c.duration as f64);
                }
            }
        }
        SimDuration((base as f64 * factor).round() as u64)
    }

    /// A request arrives.
    #[inline(always)]
    pub(super) fn arrive(&mut self, now: SimTime, request: Handle) -> Arrival {
        if self.phase != Phase::Up {
            return Arrival::Refused;
        }
        if self.error_rate > 0.0 && chance(&mut self.rng, self.error_rate) {
            return Arrival::Error;
        }
        if self.busy < self.workers {
            self.touch(now);
            self.busy += 1;
            Arrival::Started(now + self.service_time(now))
        } else if (self.queue.len() as u64) < self.queue_limit {
            self.queue.push_back(request);
            Arrival::Queued(self.queue.len() as u64)
        } else {
            Arrival::Rejected
        }
    }

    /// A worker finished; returns the next request it starts, if any.
    #[inline]
    pub(super) fn complete(&mut self, now: SimTime) -> Option<(Handle, SimTime)> {
        if self.busy <= self.workers
            && let Some(next) = self.queue.pop_front()
        {
            let done = now + self.service_time(now);
            return Some((next, done));
        }
        self.touch(now);
        self.busy = self.busy.saturating_sub(1);
        None
    }

    /// Starts queued requests on idle workers (after the worker count grew).
    pub(super) fn start_waiting(&mut self, now: SimTime, out: &mut Vec<(Handle, SimTime)>) {
        while self.busy < self.workers && self.phase == Phase::Up {
            let Some(next) = self.queue.pop_front() else { break };
            self.touch(now);
            self.busy += 1;
            let done = now + self.service_time(now);
            out.push((next, done));
        }
    }

    /// Crashes the server: everything it held is lost. Returns the queued
    /// requests (the ones in service are found by the caller).
    pub(super) fn crash(&mut self, now: SimTime) -> Vec<Handle> {
        self.touch(now);
        self.busy = 0;
        self.phase = Phase::Down;
        self.life += 1;
        if let Some(b) = self.behaviour.as_deref_mut() {
            b.overloaded = false;
            b.overload_level = 0;
        }
        self.queue.take_all()
    }

    /// Begins a restart taking `restart_time` ns; returns when the server
    /// will be up.
    pub(super) fn begin_restart(&mut self, now: SimTime, restart_time: u64) -> SimTime {
        let up = now + SimDuration(restart_time);
        self.phase = Phase::Restarting(up);
        self.life += 1;
        up
    }

    /// Restart finished: up again, cold.
    pub(super) fn come_up(&mut self, now: SimTime) {
        self.touch(now);
        self.phase = Phase::Up;
        if let Some(b) = self.behaviour.as_deref_mut() {
            b.up_since = now;
        }
    }

    /// Recomputes the effective values from the base (the server as
    /// declared, `def`) and the active layers.
    pub(super) fn apply_layers(&mut self, def: &ServerDef) {
        let layers = self.layers.lists();
        self.slow_down = layers.slow_down.iter().map(|l| l.1).product();
        let ok: f64 = layers.error_rate.iter().map(|l| 1.0 - l.1).product::<f64>() * (1.0 - def.error_rate);
        self.error_rate = 1.0 - ok;
        self.workers = layers.workers.last().map_or(def.workers, |l| l.1);
        self.service = layers.service.last().map_or_else(|| def.service.clone(), |l| l.1.clone());
        self.refresh_plain();
    }

    /// Updates the overload clock after the load changed. Returns the time
    /// at which to check for a crash when the server just became overloaded.
    #[inline]
    pub(super) fn overload_changed(&mut self, now: SimTime) -> Option<SimTime> {
        let (up, in_system) = (self.phase == Phase::Up, self.in_system());
        let b = self.behaviour.as_deref_mut()?;
        let rule = b.crash?;
        let over = up && in_system > rule.threshold;
        if over == b.overloaded {
            return None;
        }
        let elapsed = now.since(b.overload_since).0;
        b.overload_level = if b.overloaded {
            b.overload_level + elapsed
        } else {
            b.overload_level.saturating_sub(elapsed / RELIEF_DIVISOR)
        };
        b.overloaded = over;
        b.overload_since = now;
        over.then(|| now + SimDuration(rule.after.saturating_sub(b.overload_level)))
    }

    /// Whether the overload clock has run out (the server should crash now).
    pub(super) fn overload_expired(&mut self, now: SimTime) -> bool {
        let Some(b) = self.behaviour.as_deref() else { return false };
        let Some(rule) = b.crash else { return false };
        if !b.overloaded || self.phase != Phase::Up {
            return false;
        }
        b.overload_level + now.since(b.overload_since).0 >= rule.after
    }
}

// ------------------------------------------------------------------
// The life cycle on the simulation: overload, crash, restart, back up.

impl Simulation {
    #[inline(always)]
    pub(super) fn overload_changed(&mut self, server: ServerId) {
        if !self.crash_rules {
            return;
        }
        if let Some(check_at) = self.servers[server.index()].overload_changed(self.now) {
            self.events.push(check_at, Event::OverloadCheck { server });
        }
    }

    pub(super) fn on_overload_check(&mut self, server: ServerId) {
        if self.servers[server.index()].overload_expired(self.now) {
            self.crash_server(server, CrashCause::Overwhelmed);
            let up =
                self.servers[server.index()].begin_restart(self.now, self.world.servers[server.index()].restart_time);
            let life = self.servers[server.index()].life;
            self.events.push(up, Event::ServerUp { server, life });
            self.log(EventKind::ServerRestarting { server, cause: CrashCause::Overwhelmed, up_at_ns: up.0 });
        }
    }

    /// Everything the server holds is lost: clients see a reset.
    pub(super) fn crash_server(&mut self, server: ServerId, cause: CrashCause) {
        let now = self.now;
        let queued = self.servers[server.index()].crash(now);
        // In service: at this server, taken on arrival (`Serving`) or from
        // its queue (`Queued`, and no longer in the queue).
        let mut waiting: Vec<(u32, u32)> = queued.iter().map(|h| (h.index, h.generation)).collect();
        waiting.sort_unstable();
        let mut lost: Vec<Handle> = queued;
        for h in self.attempts.handles() {
            if let Some(a) = self.attempts.get(h)
                && a.server == server
                && (a.stage == Stage::Serving
                    || a.stage == Stage::Queued && waiting.binary_search(&(h.index, h.generation)).is_err())
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

    pub(super) fn on_server_up(&mut self, server: ServerId, life: u32) {
        let s = &mut self.servers[server.index()];
        if s.life != life || !matches!(s.phase, Phase::Restarting(_)) {
            return;
        }
        s.come_up(self.now);
        self.log(EventKind::ServerUp { server });
    }

    /// Restarts a server: down now if it is up, up after its restart time.
    pub(super) fn restart_server(&mut self, server: ServerId, cause: CrashCause) {
        if self.servers[server.index()].phase == Phase::Up {
            self.crash_server(server, cause);
        }
        let up = self.servers[server.index()].begin_restart(self.now, self.world.servers[server.index()].restart_time);
        let life = self.servers[server.index()].life;
        self.events.push(up, Event::ServerUp { server, life });
        self.log(EventKind::ServerRestarting { server, cause, up_at_ns: up.0 });
    }

    /// Starts queued requests on workers the timeline added.
    pub(super) fn start_waiting(&mut self, server: ServerId) {
        let mut started = std::mem::take(&mut self.scratch);
        self.servers[server.index()].start_waiting(self.now, &mut started);
        for &(h, done_at) in &started {
            if let Some(a) = self.attempts.get_mut(h) {
                a.stage = Stage::Serving;
            }
            self.events.push(done_at, Event::Complete { server, attempt: h });
        }
        started.clear();
        self.scratch = started;
    }
}

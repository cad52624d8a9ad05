//! Servers at run time: workers, a FIFO queue with a limit, and the
//! service-time distribution.

use std::collections::VecDeque;

use crate::dist::Dist;
use crate::engine::Handle;
use crate::model::ServerDef;
use crate::rng::SimRng;
use crate::time::{SimDuration, SimTime};

/// What happened to a request that reached a server.
pub(super) enum Arrival {
    /// A worker took it; it will be done at this time.
    Started(SimTime),
    /// It waits; the queue now has this many requests.
    Queued(u64),
    /// The queue was full.
    Rejected,
}

pub(super) struct ServerState {
    pub workers: u32,
    busy: u32,
    queue: VecDeque<Handle>,
    queue_limit: u64,
    service: Dist,
    rng: SimRng,
    /// Integral of busy workers over time (worker-ns), and when it was last brought up to date.
    pub busy_area: f64,
    last_change: SimTime,
    pub busy_area_at_interval_start: f64,
}

impl ServerState {
    pub fn new(def: &ServerDef, rng: SimRng) -> ServerState {
        ServerState {
            workers: def.workers,
            busy: 0,
            queue: VecDeque::new(),
            queue_limit: def.queue_limit,
            service: def.service.clone(),
            rng,
            busy_area: 0.0,
            last_change: SimTime::ZERO,
            busy_area_at_interval_start: 0.0,
        }
    }

    pub fn queue_len(&self) -> usize {
        self.queue.len()
    }

    /// Brings the busy-time integral up to `now`.
    #[inline]
    pub fn touch(&mut self, now: SimTime) {
        if now > self.last_change {
            self.busy_area += f64::from(self.busy) * (now.0 - self.last_change.0) as f64;
            self.last_change = now;
        }
    }

    #[inline]
    fn start(&mut self, now: SimTime) -> SimTime {
        now + SimDuration(self.service.sample(&mut self.rng))
    }

    /// A request arrives.
    #[inline]
    pub fn arrive(&mut self, now: SimTime, request: Handle) -> Arrival {
        if self.busy < self.workers {
            self.touch(now);
            self.busy += 1;
            Arrival::Started(self.start(now))
        } else if (self.queue.len() as u64) < self.queue_limit {
            self.queue.push_back(request);
            Arrival::Queued(self.queue.len() as u64)
        } else {
            Arrival::Rejected
        }
    }

    /// A worker finished; returns the next request it starts, if any.
    #[inline]
    pub fn complete(&mut self, now: SimTime) -> Option<(Handle, SimTime)> {
        if let Some(next) = self.queue.pop_front() {
            Some((next, self.start(now)))
        } else {
            self.touch(now);
            self.busy = self.busy.saturating_sub(1);
            None
        }
    }
}

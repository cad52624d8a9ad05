//! Accounting during the run (run stage, `sim`): closing an interval (the
//! gauges go to the recorder and monitoring judges the closed interval), the
//! end of the warm-up, the time-weighted in-system count, and the event log.

use super::Simulation;
use crate::metrics::{BalancerGauge, EventKind, Labels, ServerGauge};
use crate::model::World;
use crate::time::SimTime;

impl Simulation {
    pub(super) fn close_interval(&mut self, boundary: SimTime) {
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
        let labels = WorldLabels { world: &self.world, subnets: &self.subnet_names };
        self.recorder.close_interval(boundary.0, &self.gauges, &labels);
        self.watch.observe(&self.recorder.snapshot, &self.world, &mut self.recorder.events);
        if !self.recorder.totals_by_interval() && boundary >= self.world.warmup && !self.warmup_requests_left() {
            self.recorder.count_totals_by_interval();
        }
    }

    /// Whether a request created during the warm-up (not counted in the
    /// totals) is still in the simulation. Scans the live requests: called
    /// at interval closes after the warm-up, until the first that says no.
    fn warmup_requests_left(&self) -> bool {
        let warmup = self.world.warmup;
        self.calls.handles().any(|h| self.calls.get(h).is_some_and(|c| c.created < warmup))
            || self.attempts.handles().any(|h| self.attempts.get(h).is_some_and(|a| !a.counted))
    }

    pub(super) fn on_warmup_end(&mut self) {
        let now = self.now;
        for s in &mut self.servers {
            s.touch(now);
        }
        self.warm = Some((self.servers.iter().map(|s| s.busy_area).collect(), self.in_system_area()));
    }

    /// A call enters the system now.
    #[inline(always)]
    pub(super) fn enter_system(&mut self) {
        self.in_system += 1;
        self.in_system_entered_ns += u128::from(self.now.0);
    }

    /// A call leaves the system now.
    #[inline(always)]
    pub(super) fn leave_system(&mut self) {
        self.in_system -= 1;
        self.in_system_left_ns += u128::from(self.now.0);
    }

    /// The integral of the number of calls in the system from 0 to now, ns.
    pub(super) fn in_system_area(&self) -> u128 {
        self.in_system_left_ns + u128::from(self.in_system) * u128::from(self.now.0) - self.in_system_entered_ns
    }

    pub(super) fn log(&mut self, kind: EventKind) {
        self.recorder.events.push(self.now.0, kind);
    }
}

/// The world's names, lent to the recorder for the series rows.
struct WorldLabels<'a> {
    world: &'a World,
    subnets: &'a [String],
}

impl Labels for WorldLabels<'_> {
    fn server(&self, i: usize) -> &str {
        &self.world.servers[i].name
    }
    fn balancer(&self, i: usize) -> &str {
        &self.world.balancers[i].name
    }
    fn client(&self, i: usize) -> &str {
        &self.world.clients[i].name
    }
    fn subnet(&self, i: usize) -> &str {
        &self.subnets[i]
    }
}

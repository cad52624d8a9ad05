//! Health at run time (run stage, `sim`): active health checks (probes
//! over the network and their outcome), outlier ejection and return, and
//! panic mode, logged as the balancers' tables change. The tables
//! themselves are in `balancer`.

use super::network::{Crossing, Leg};
use super::{Event, Simulation};
use crate::metrics::EventKind;
use crate::rng;
use crate::time::{SimDuration, SimTime};

impl Simulation {
    pub(super) fn on_probe(&mut self, balancer: u32, backend: u32) {
        let lb = &self.balancers[balancer as usize];
        let Some(hc) = lb.health_check else { return };
        let server = lb.servers[backend as usize].index();
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

    pub(super) fn probe_outcome(&mut self, balancer: u32, backend: u32, ok: bool) {
        let Some(healthy) = self.balancers[balancer as usize].probe_result(backend as usize, ok) else { return };
        let server = self.balancers[balancer as usize].servers[backend as usize];
        self.log(if healthy {
            EventKind::BackendHealthy { server, balancer }
        } else {
            EventKind::BackendUnhealthy { server, balancer }
        });
        self.refresh_balancer(balancer);
    }

    pub(super) fn on_ejection(&mut self, balancer: u32, backend: u32, until: SimTime, generation: u32) {
        let server = self.balancers[balancer as usize].servers[backend as usize];
        self.log(EventKind::BackendEjected { server, balancer, for_ns: until.since(self.now).0 });
        self.events.push(until, Event::Unject { balancer, backend, generation });
        self.refresh_balancer(balancer);
    }

    pub(super) fn on_unject(&mut self, balancer: u32, backend: u32, generation: u32) {
        if self.balancers[balancer as usize].unject(backend as usize, generation, self.now) {
            let server = self.balancers[balancer as usize].servers[backend as usize];
            self.log(EventKind::BackendReturned { server, balancer });
            self.refresh_balancer(balancer);
        }
    }

    pub(super) fn refresh_balancer(&mut self, balancer: u32) {
        if self.balancers[balancer as usize].refresh() {
            self.log(if self.balancers[balancer as usize].panicking {
                EventKind::PanicModeOn { balancer }
            } else {
                EventKind::PanicModeOff { balancer }
            });
        }
    }
}

//! Applying and reverting timeline changes on the run-time tables.
//!
//! Configuration changes become layers tagged with the entry's index, so a
//! revert removes exactly that entry's effect and leaves later changes in
//! force. Crashes, restarts and balancer outages change state directly.

use super::balancer::ConfigLayer;
use super::{Event, Simulation, Stage};
use crate::engine::Handle;
use crate::metrics::{BlockReason, CrashCause, EventKind, Failure};
use crate::model::{Change, ServerAction as Action, ServerId};

impl Simulation {
    pub(super) fn on_timeline(&mut self, index: usize, revert: bool) {
        let change = self.world.timeline[index].change.clone();
        if let Change::Note = change {
            self.log(EventKind::Note { change: index });
            return;
        }
        if revert {
            // Automatic revert (duration/until); skipped if never applied or already undone.
            if self.applied[index] {
                self.undo(index, None);
            }
            return;
        }
        if let Change::Revert { entry } = change {
            if self.applied[entry] {
                self.undo(entry, Some(index));
            } else {
                self.log(EventKind::NothingToRevert { change: index, entry });
            }
            return;
        }
        if let Some(reason) = self.blocked_by_validation(index) {
            self.log(EventKind::ChangeBlocked { change: index, reason });
            return;
        }
        self.applied[index] = true;
        self.log(EventKind::ChangeApplied { change: index });
        let tag = index as u32;
        match change {
            Change::Balancer { balancer, members, weights, algorithm, down } => {
                let lb = &mut self.balancers[balancer as usize];
                lb.layers.push(ConfigLayer { change: tag, members, weights, algorithm, down });
                if down {
                    self.take_balancer_down(balancer);
                }
                self.refresh_balancer(balancer);
            }
            Change::Server { servers, action, slow_down, error_rate, workers, service } => {
                for &s in &servers {
                    match action {
                        Some(Action::Crash) if self.servers[s.index()].is_up() => {
                            self.crash_server(s, CrashCause::TimelineCrash);
                        }
                        Some(Action::Restart) => self.restart_server(s, CrashCause::TimelineRestart),
                        _ => {}
                    }
                    let st = &mut self.servers[s.index()];
                    let layers = st.layers.lists();
                    if let Some(f) = slow_down {
                        layers.slow_down.push((tag, f));
                    }
                    if let Some(r) = error_rate {
                        layers.error_rate.push((tag, r));
                    }
                    if let Some(w) = workers {
                        layers.workers.push((tag, w));
                    }
                    if let Some(d) = &service {
                        layers.service.push((tag, d.clone()));
                    }
                    st.apply_layers(&self.world.servers[s.index()]);
                    self.start_waiting(s);
                }
            }
            Change::Client { client, rate, factor } => {
                self.clients[client as usize].rate_layers.push((tag, rate, factor));
                self.restart_arrivals(client);
            }
            Change::Network { ops } => {
                if let Some(net) = &mut self.net {
                    net.apply(tag, ops);
                }
                self.network_changed();
            }
            Change::Revert { .. } | Change::Note => unreachable!("handled above"),
        }
    }

    /// Undoes entry `index` (by its `duration`/`until`, or by the revert entry `by`).
    fn undo(&mut self, index: usize, by: Option<usize>) {
        self.applied[index] = false;
        let change = self.world.timeline[index].change.clone();
        self.log(EventKind::ChangeReverted { change: index, by });
        let tag = index as u32;
        match change {
            Change::Balancer { balancer, down, .. } => {
                let lb = &mut self.balancers[balancer as usize];
                lb.layers.retain(|l| l.change != tag);
                let was_down = lb.down;
                self.refresh_balancer(balancer);
                if down && was_down && !self.balancers[balancer as usize].down {
                    self.log(EventKind::BalancerUp { balancer });
                }
            }
            Change::Server { servers, action, .. } => {
                for &s in &servers {
                    if action == Some(Action::Crash) && self.servers[s.index()].phase == super::Phase::Down {
                        self.restart_server(s, CrashCause::UndoCrash);
                    }
                    let st = &mut self.servers[s.index()];
                    st.layers.remove(tag);
                    st.apply_layers(&self.world.servers[s.index()]);
                    self.start_waiting(s);
                }
            }
            Change::Client { client, .. } => {
                self.clients[client as usize].rate_layers.retain(|l| l.0 != tag);
                self.restart_arrivals(client);
            }
            Change::Network { .. } => {
                if let Some(net) = &mut self.net {
                    net.revert(tag);
                }
                self.network_changed();
            }
            Change::Revert { .. } | Change::Note => {}
        }
    }

    fn blocked_by_validation(&self, index: usize) -> Option<BlockReason> {
        if let Change::Network { ops } = &self.world.timeline[index].change {
            return self.net.as_ref().and_then(|n| n.violates(ops));
        }
        let Change::Balancer { balancer, members, weights, algorithm, down } = &self.world.timeline[index].change
        else {
            return None;
        };
        let layer = ConfigLayer {
            change: index as u32,
            members: members.clone(),
            weights: weights.clone(),
            algorithm: *algorithm,
            down: *down,
        };
        let lb = &self.balancers[*balancer as usize];
        if let Some(reason) = lb.violates(*balancer, &layer) {
            return Some(reason);
        }
        // A pre-flight check: every backend the change puts into rotation must be up.
        if lb.validation.is_some_and(|v| v.require_healthy)
            && let Some(members) = members
        {
            let failing: Vec<ServerId> = members
                .iter()
                .enumerate()
                .filter(|(i, m)| **m && !self.servers[lb.servers[*i].index()].is_up())
                .map(|(i, _)| lb.servers[i])
                .collect();
            if !failing.is_empty() {
                return Some(BlockReason::PreflightFails { balancer: *balancer, servers: failing });
            }
        }
        None
    }

    /// After routing changed: which groups may skip the network on the way in.
    fn network_changed(&mut self) {
        let Some(net) = &self.net else { return };
        for (c, def) in self.world.clients.iter().enumerate() {
            let subnets = self.world.network.as_ref().map_or(0, |w| w.subnets[c].len());
            let cs = &mut self.clients[c];
            cs.fixed_forward = net.forward_is_fixed(c as u32, subnets, &def.targets, cs.displacement);
        }
    }

    /// New rate: restart the group's arrival process from now.
    fn restart_arrivals(&mut self, client: u32) {
        let now = self.now;
        let cs = &mut self.clients[client as usize];
        cs.apply_rate_layers(now, &self.world.clients[client as usize]);
        let generation = cs.arrival_gen;
        if let Some(t) = cs.next_open_arrival(&self.world.clients[client as usize]) {
            self.events.push(t, Event::Arrival { client, generation });
        }
    }

    /// A balancer goes down: it refuses new connections, and the attempts it
    /// was carrying are cut (the servers finish them, but nobody gets the answer).
    fn take_balancer_down(&mut self, balancer: u32) {
        let now = self.now;
        let lb = &mut self.balancers[balancer as usize];
        if lb.down {
            return;
        }
        lb.down_since = now;
        for b in &mut lb.pool.backends {
            b.inflight = 0;
        }
        let cut: Vec<Handle> = self
            .attempts
            .handles()
            .filter(|&h| self.attempts.get(h).is_some_and(|a| a.balancer == balancer && a.backend != u32::MAX))
            .collect();
        let n = cut.len();
        for h in cut {
            let Some(a) = self.attempts.get_mut(h) else { continue };
            a.released = true;
            if a.abandoned {
                continue;
            }
            a.abandoned = true;
            let a = *a;
            if a.stage == Stage::Lost {
                continue;
            }
            self.client_attempt_over(&a);
            if let Some(call) = self.call_of(&a, h) {
                self.attempt_failed(a.call, &call, Failure::Reset, 0);
            }
        }
        self.log(EventKind::BalancerDown { balancer, cut: n });
    }
}

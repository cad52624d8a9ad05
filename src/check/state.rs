//! The configuration at one moment, without simulating: which backends each
//! balancer has in rotation with which weights, which servers are up with
//! how many workers and how fast, each client group's rate, and the network
//! with the timeline's changes applied. Built from the world and the list
//! of timeline entries in force, layered as the run layers them (a later
//! rotation replaces an earlier one, weights and workers are the latest,
//! slow-downs multiply), so `check` judges the state the run would be in.

use crate::model::network::Network;
use crate::model::{Change, Load, ServerAction, World};
use crate::sim::network::apply_op;

/// One balancer's configuration.
#[derive(Clone, Debug)]
pub(crate) struct BalancerState {
    /// Per pool backend: in rotation.
    pub members: Vec<bool>,
    pub weights: Vec<u32>,
    pub algorithm: crate::balancer::AlgorithmKind,
    pub down: bool,
}

impl BalancerState {
    /// Pool indices of the backends in rotation with a weight above 0.
    pub(crate) fn in_rotation(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.members.len()).filter(|&i| self.members[i] && self.weights[i] > 0)
    }
}

/// One server's configuration.
#[derive(Clone, Debug)]
pub(crate) struct ServerState {
    pub up: bool,
    pub workers: u32,
    /// Mean service time, seconds (slow-downs included).
    pub mean_s: f64,
    /// p99 service time, seconds, where the distribution has one in closed form.
    pub p99_s: Option<f64>,
}

impl ServerState {
    /// Requests per second the server can serve when busy.
    pub(crate) fn capacity(&self) -> f64 {
        if !self.up || self.mean_s <= 0.0 { 0.0 } else { f64::from(self.workers) / self.mean_s }
    }
}

/// A snapshot of the configuration.
#[derive(Clone, Debug)]
pub(crate) struct Snapshot {
    pub balancers: Vec<BalancerState>,
    pub servers: Vec<ServerState>,
    /// Per client group: the peak offered requests per second.
    pub offered: Vec<f64>,
    pub net: Option<Network>,
}

impl Snapshot {
    /// Pool indices of balancer `b`'s backends that take its traffic: in
    /// rotation and up, and of those the backups only while no other
    /// backend is (a backup serves only then).
    pub(crate) fn serving(&self, world: &World, b: usize) -> Vec<usize> {
        let (primary, backup) = self.usable(world, b);
        if primary.is_empty() { backup } else { primary }
    }

    /// Balancer `b`'s backups that wait (in rotation and up) while other
    /// backends serve: what takes over when those are all gone.
    pub(crate) fn standby(&self, world: &World, b: usize) -> Vec<usize> {
        let (primary, backup) = self.usable(world, b);
        if primary.is_empty() { Vec::new() } else { backup }
    }

    /// Backends in rotation and up: (not backups, backups).
    fn usable(&self, world: &World, b: usize) -> (Vec<usize>, Vec<usize>) {
        let def = &world.balancers[b];
        self.balancers[b]
            .in_rotation()
            .filter(|&k| self.servers[def.backends[k].server.index()].up)
            .partition(|&k| !def.backends[k].backup)
    }

    /// The configuration as the scenario declares it.
    pub(crate) fn base(world: &World) -> Snapshot {
        Snapshot::with(world, &[])
    }

    /// The configuration with timeline entries `layers` in force, in order.
    pub(crate) fn with(world: &World, layers: &[usize]) -> Snapshot {
        let mut balancers: Vec<BalancerState> = world
            .balancers
            .iter()
            .map(|b| BalancerState {
                members: b.backends.iter().map(|be| be.member).collect(),
                weights: b.backends.iter().map(|be| be.weight).collect(),
                algorithm: b.algorithm,
                down: false,
            })
            .collect();
        let mut up: Vec<bool> = world.servers.iter().map(|s| !s.initially_down).collect();
        let mut workers: Vec<u32> = world.servers.iter().map(|s| s.workers).collect();
        let mut service: Vec<&crate::dist::Dist> = world.servers.iter().map(|s| &s.service).collect();
        let mut slow = vec![1.0f64; world.servers.len()];
        let mut rate_override: Vec<Option<f64>> = vec![None; world.clients.len()];
        let mut rate_factor = vec![1.0f64; world.clients.len()];
        let mut net = world.network.clone();
        for &i in layers {
            match &world.timeline[i].change {
                Change::Balancer { balancer, members, weights, algorithm, down } => {
                    let b = &mut balancers[*balancer as usize];
                    if let Some(m) = members {
                        b.members.clone_from(m);
                    }
                    for &(k, w) in weights {
                        b.weights[k] = w;
                    }
                    if let Some(a) = algorithm {
                        b.algorithm = *a;
                    }
                    b.down |= *down;
                }
                Change::Server { servers, action, slow_down, workers: w, service: d, .. } => {
                    for s in servers {
                        let k = s.index();
                        if *action == Some(ServerAction::Crash) {
                            up[k] = false;
                        }
                        if let Some(f) = slow_down {
                            slow[k] *= f;
                        }
                        if let Some(w) = w {
                            workers[k] = *w;
                        }
                        if let Some(d) = d {
                            service[k] = d;
                        }
                    }
                }
                Change::Client { client, rate, factor } => {
                    let c = *client as usize;
                    if rate.is_some() {
                        rate_override[c] = *rate;
                    }
                    rate_factor[c] *= factor.unwrap_or(1.0);
                }
                Change::Network { ops } => {
                    if let Some(n) = &mut net {
                        for op in ops {
                            apply_op(n, op);
                        }
                    }
                }
                Change::Revert { .. } | Change::Note => {}
            }
        }
        let servers = (0..world.servers.len())
            .map(|k| ServerState {
                up: up[k],
                workers: workers[k],
                mean_s: service[k].mean_secs() * slow[k],
                p99_s: service[k].quantile_secs(0.99).map(|q| q * slow[k]),
            })
            .collect();
        let offered = world
            .clients
            .iter()
            .enumerate()
            .map(|(c, def)| match &def.load {
                Load::Open { profile, .. } => {
                    let peak = rate_override[c].unwrap_or_else(|| peak_rate(profile, world.end.0));
                    peak * rate_factor[c]
                }
                // A closed loop sends at most one request per user per think time.
                Load::Closed { think } => def.users as f64 / think.mean_secs().max(1e-9),
                // A replay at its busiest minute, sped up and scaled.
                Load::Replay(r) => r.info.peak_per_s * r.speed * r.scale * rate_factor[c],
            })
            .collect();
        Snapshot { balancers, servers, offered, net }
    }
}

/// The highest rate a profile reaches within the run (its steps, and the
/// ends of its ramps; a repeating profile's whole period).
fn peak_rate(profile: &crate::model::RateProfile, end_ns: u64) -> f64 {
    let end_s = if end_ns == u64::MAX { f64::INFINITY } else { end_ns as f64 / 1e9 };
    let mut peak = 0.0f64;
    for (i, s) in profile.segments.iter().enumerate() {
        if profile.repeat.is_none() && s.start >= end_s && i > 0 {
            break;
        }
        let seg_end = profile.segments.get(i + 1).map_or(profile.repeat.unwrap_or(end_s), |n| n.start);
        let until = if profile.repeat.is_some() { seg_end } else { seg_end.min(end_s) };
        peak = peak.max(s.rate);
        if until.is_finite() {
            peak = peak.max(s.rate + s.slope * (until - s.start));
        }
    }
    peak.max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::load_str;

    const BASE: &str = "name: t\nduration: 10m\nclients:\n  web: {target: lb, rate: 100/s, profile: [{at: 1m, ramp_to: 300/s, over: 1m}, {at: 20m, rate: 900/s}]}\nbalancers:\n  lb: {backends: [\"s{1..3}\"]}\nservers:\n  s{1..3}: {workers: 2, service: {constant: 10ms}}\n";

    #[test]
    fn the_peak_is_within_the_run_and_layers_apply_in_order() {
        let text = format!(
            "{BASE}timeline:\n  - {{name: pin, at: 1m, balancer: lb, backends: [s1]}}\n  - {{at: 2m, server: s1, slow_down: 2}}\n  - {{at: 3m, server: s2, action: crash}}\n  - {{at: 4m, client: web, rate_factor: 1.5}}\n"
        );
        let w = load_str("t.yaml", &text).unwrap();
        let base = Snapshot::base(&w);
        // The 900/s step starts after the end of the run.
        assert_eq!(base.offered, [300.0]);
        assert_eq!(base.balancers[0].in_rotation().count(), 3);
        assert_eq!(base.servers[0].capacity(), 200.0);
        let s = Snapshot::with(&w, &[0, 1, 2, 3]);
        assert_eq!(s.balancers[0].in_rotation().collect::<Vec<_>>(), [0]);
        assert!((s.servers[0].capacity() - 100.0).abs() < 1e-9);
        assert!(!s.servers[1].up);
        assert_eq!(s.servers[1].capacity(), 0.0);
        assert_eq!(s.offered, [450.0]);
    }
}

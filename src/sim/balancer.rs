//! Balancers at run time: the pool table the algorithm reads, the layers of
//! configuration the timeline applies, active health checks and passive
//! outlier detection, and panic mode.

use crate::balancer::{self, Algorithm, AlgorithmKind, Backend, Balancing, Pool};
use crate::metrics::BlockReason;
use crate::model::AllUnhealthy;
use crate::model::{BalancerDef, HealthCheck, Outlier, ServerDef, ServerId, Validation};
use crate::rng::{SimRng, stable_hash};
use crate::time::{SimDuration, SimTime};

/// Why a rotation (`members`, `weights` per backend) of `balancer` breaks
/// its validation rules, if it does: too few backends in rotation, or one
/// with too large a share of the weight. The run's check before a balancer
/// change, and `lbsim check`'s.
pub(crate) fn rotation_violation(
    v: Validation,
    balancer: u32,
    members: &[bool],
    weights: &[u32],
) -> Option<BlockReason> {
    let in_rotation: Vec<u32> = members.iter().zip(weights).filter(|(m, w)| **m && **w > 0).map(|(_, w)| *w).collect();
    if (in_rotation.len() as u32) < v.min_backends {
        return Some(BlockReason::TooFewBackends { balancer, left: in_rotation.len(), min: v.min_backends });
    }
    let total: u64 = in_rotation.iter().map(|&w| u64::from(w)).sum();
    let max = in_rotation.iter().copied().max().unwrap_or(0);
    if total > 0 && (max as f64 / total as f64) > v.max_weight_share + 1e-12 {
        return Some(BlockReason::WeightShare { balancer, weight: max, total, max: v.max_weight_share });
    }
    None
}

/// One configuration change from the timeline.
#[derive(Clone, Debug)]
pub(super) struct ConfigLayer {
    pub change: u32,
    pub members: Option<Vec<bool>>,
    pub weights: Vec<(usize, u32)>,
    pub algorithm: Option<AlgorithmKind>,
    pub down: bool,
}

/// Health of one backend as this balancer sees it.
#[derive(Clone, Copy, Debug)]
pub(super) struct BackendHealth {
    /// Active checks say healthy (always true without health checks).
    pub healthy: bool,
    pub ok_streak: u32,
    pub fail_streak: u32,
    /// Passive detection.
    pub ejected: bool,
    pub failures: u32,
    pub ejections: u32,
    pub returned_at: SimTime,
    pub ejection_gen: u32,
}

impl Default for BackendHealth {
    fn default() -> Self {
        BackendHealth {
            healthy: true,
            ok_streak: 0,
            fail_streak: 0,
            ejected: false,
            failures: 0,
            ejections: 0,
            returned_at: SimTime::ZERO,
            ejection_gen: 0,
        }
    }
}

/// What an observed response does to passive detection.
pub(super) enum Passive {
    Nothing,
    /// Eject the backend until this time.
    Eject(SimTime, u32),
}

pub(super) struct BalancerState {
    pub pool: Pool,
    pub algorithm: Balancing,
    pub algorithm_kind: AlgorithmKind,
    params: balancer::AlgorithmParams,
    pub rng: SimRng,
    /// Backend index -> server id.
    pub servers: Vec<ServerId>,
    base_members: Vec<bool>,
    /// Backends used only while no other is usable (empty: none are).
    backup: Vec<bool>,
    base_weights: Vec<u32>,
    base_algorithm: AlgorithmKind,
    pub layers: Vec<ConfigLayer>,
    pub down: bool,
    pub down_since: SimTime,
    pub health_check: Option<HealthCheck>,
    pub outlier: Option<Outlier>,
    /// Per backend; empty without health checks and outlier detection.
    pub health: Vec<BackendHealth>,
    on_all_unhealthy: AllUnhealthy,
    panic_threshold: f64,
    pub validation: Option<Validation>,
    pub panicking: bool,
    /// Backends usable now (health and ejection), for the series.
    pub usable: u32,
}

impl BalancerState {
    pub(super) fn new(def: &BalancerDef, servers: &[ServerDef], rng: SimRng) -> BalancerState {
        let pool = Pool {
            backends: def
                .backends
                .iter()
                .map(|be| Backend {
                    weight: if be.member { be.weight } else { 0 },
                    available: true,
                    inflight: 0,
                    max_conn: be.max_conn,
                    name_hash: stable_hash(servers[be.server.index()].name.as_bytes()),
                })
                .collect(),
            eligible: Vec::new(),
        };
        let mut s = BalancerState {
            pool,
            algorithm: balancer::build(def.algorithm, def.params),
            algorithm_kind: def.algorithm,
            params: def.params,
            rng,
            servers: def.backends.iter().map(|be| be.server).collect(),
            base_members: def.backends.iter().map(|be| be.member).collect(),
            backup: if def.backends.iter().any(|be| be.backup) {
                def.backends.iter().map(|be| be.backup).collect()
            } else {
                Vec::new()
            },
            base_weights: def.backends.iter().map(|be| be.weight).collect(),
            base_algorithm: def.algorithm,
            layers: Vec::new(),
            down: false,
            down_since: SimTime::ZERO,
            health_check: def.health_check,
            outlier: def.outlier,
            // Only checks and detection change a backend's health: without
            // them every backend is healthy, and a million need no record.
            health: if def.health_check.is_some() || def.outlier.is_some() {
                vec![BackendHealth::default(); def.backends.len()]
            } else {
                Vec::new()
            },
            on_all_unhealthy: def.on_all_unhealthy,
            panic_threshold: def.panic_threshold,
            validation: def.validation,
            panicking: false,
            usable: 0,
        };
        s.refresh();
        s
    }

    /// Effective membership and weights with `extra` layered on top.
    fn effective(&self, extra: Option<&ConfigLayer>) -> (Vec<bool>, Vec<u32>) {
        let mut members = self.base_members.clone();
        let mut weights = self.base_weights.clone();
        for l in self.layers.iter().chain(extra) {
            if let Some(m) = &l.members {
                members.clone_from(m);
            }
            for &(i, w) in &l.weights {
                weights[i] = w;
            }
        }
        (members, weights)
    }

    /// Why `layer` would break this balancer's validation rules, if it would.
    pub(super) fn violates(&self, balancer: u32, layer: &ConfigLayer) -> Option<BlockReason> {
        let v = self.validation?;
        let (members, weights) = self.effective(Some(layer));
        rotation_violation(v, balancer, &members, &weights)
    }

    /// Recomputes weights, availability (health, ejection, panic) and the
    /// algorithm after anything changed. Returns whether panic mode changed.
    pub(super) fn refresh(&mut self) -> bool {
        let (members, weights) = self.effective(None);
        let algorithm = self.layers.iter().rev().find_map(|l| l.algorithm).unwrap_or(self.base_algorithm);
        self.down = self.layers.iter().any(|l| l.down);
        if algorithm != self.algorithm_kind {
            self.algorithm = balancer::build(algorithm, self.params);
            self.algorithm_kind = algorithm;
        }
        let mut in_rotation = 0u32;
        let mut usable = 0u32;
        for (i, b) in self.pool.backends.iter_mut().enumerate() {
            b.weight = if members[i] { weights[i] } else { 0 };
            let ok = self.health.get(i).is_none_or(|h| h.healthy && !h.ejected);
            if b.weight > 0 {
                in_rotation += 1;
                usable += u32::from(ok);
            }
            b.available = ok;
        }
        self.usable = usable;
        self.hold_backups();
        let below = in_rotation > 0 && (usable == 0 || (usable as f64) < self.panic_threshold * in_rotation as f64);
        let panicking = below && self.on_all_unhealthy == AllUnhealthy::Panic;
        if panicking {
            for b in &mut self.pool.backends {
                b.available = true;
            }
        }
        let changed = panicking != self.panicking;
        self.panicking = panicking;
        self.pool.refresh();
        self.algorithm.rebuild(&self.pool);
        changed
    }

    /// Backups stay out while any other backend in rotation is usable
    /// (NGINX and HAProxy `backup`); once none is, the usable backups take
    /// the traffic. Panic mode, decided after this, ignores the difference.
    fn hold_backups(&mut self) {
        if self.backup.is_empty() {
            return;
        }
        let primary_usable =
            self.pool.backends.iter().zip(&self.backup).any(|(b, &backup)| !backup && b.weight > 0 && b.available);
        if primary_usable {
            for (b, &backup) in self.pool.backends.iter_mut().zip(&self.backup) {
                if backup {
                    b.available = false;
                }
            }
        }
    }

    /// Records a probe result. Returns `Some(healthy)` when the backend's
    /// health flipped.
    pub(super) fn probe_result(&mut self, backend: usize, ok: bool) -> Option<bool> {
        let hc = self.health_check?;
        let h = &mut self.health[backend];
        if ok {
            h.ok_streak += 1;
            h.fail_streak = 0;
            if !h.healthy && h.ok_streak >= hc.healthy_threshold {
                h.healthy = true;
                return Some(true);
            }
        } else {
            h.fail_streak += 1;
            h.ok_streak = 0;
            if h.healthy && h.fail_streak >= hc.unhealthy_threshold {
                h.healthy = false;
                return Some(false);
            }
        }
        None
    }

    /// Time to the next probe: the interval plus jitter.
    pub(super) fn next_probe_delay(&mut self) -> SimDuration {
        let hc = self.health_check.expect("probing needs a health check");
        let jitter = if hc.jitter > 0.0 { crate::rng::unit_f64(&mut self.rng) * hc.jitter } else { 0.0 };
        SimDuration((hc.interval as f64 * (1.0 + jitter)) as u64)
    }

    /// Passive detection sees a response from `backend`.
    #[inline]
    pub(super) fn observe(&mut self, backend: usize, failed: bool, now: SimTime) -> Passive {
        let Some(o) = self.outlier else { return Passive::Nothing };
        let h = &mut self.health[backend];
        if !failed {
            h.failures = 0;
            return Passive::Nothing;
        }
        h.failures += 1;
        if h.ejected || h.failures < o.consecutive_failures {
            return Passive::Nothing;
        }
        let in_rotation = self.pool.backends.iter().filter(|b| b.weight > 0).count().max(1);
        let ejected = self.health.iter().filter(|h| h.ejected).count();
        if ejected > 0 && (ejected as f64) >= o.max_ejection_fraction * in_rotation as f64 {
            return Passive::Nothing;
        }
        let h = &mut self.health[backend];
        // The multiplier falls by one for each interval spent back in the pool.
        let decay = if h.ejections > 0 { now.since(h.returned_at).0 / o.interval } else { 0 };
        h.ejections = h.ejections.saturating_sub(decay.min(u64::from(u32::MAX)) as u32) + 1;
        h.ejected = true;
        h.failures = 0;
        h.ejection_gen += 1;
        let time = o.base_ejection.saturating_mul(u64::from(h.ejections)).min(o.max_ejection);
        Passive::Eject(now + SimDuration(time), h.ejection_gen)
    }

    /// An ejection ends (unless superseded).
    pub(super) fn unject(&mut self, backend: usize, generation: u32, now: SimTime) -> bool {
        let h = &mut self.health[backend];
        if !h.ejected || h.ejection_gen != generation {
            return false;
        }
        h.ejected = false;
        h.returned_at = now;
        true
    }
}

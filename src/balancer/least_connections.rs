//! Least connections, as NGINX `least_conn` and HAProxy `balance leastconn`.
//!
//! The backend with the fewest in-flight requests relative to its weight wins:
//! `a` is lighter than `b` when `inflight_a * weight_b < inflight_b * weight_a`
//! (NGINX's `peer->conns * best->weight < best->conns * peer->weight`, in
//! integers, no floats). Equally loaded backends take turns: the scan starts
//! just after the previously chosen backend, and the first lightest one found
//! wins, so ties rotate round robin, like HAProxy's leastconn tree where a
//! server that was just used is requeued behind its equals.
//!
//! Deviations: NGINX breaks ties with its smooth weighted round robin (so
//! equally loaded peers share in proportion to weight) and HAProxy keys on
//! `(inflight + 1) / weight` for busy servers; here ties rotate unweighted.

use super::{Algorithm, Pool};
use crate::rng::SimRng;

/// Least connections relative to weight, round robin among equals.
#[derive(Clone, Debug)]
pub(crate) struct LeastConnections {
    /// Eligible backend indices at the last rebuild, ascending.
    members: Vec<u32>,
    /// Position in `members` where the next scan starts.
    start: usize,
    /// Whether all members have the same weight (plain in-flight compare).
    uniform: bool,
    /// Backend chosen last (`u32::MAX` before the first pick): after a
    /// rebuild the scan resumes just after it.
    last: u32,
}

impl LeastConnections {
    /// A least-connections balancer: call `rebuild` before `pick`.
    pub(crate) fn new() -> Self {
        LeastConnections { members: Vec::new(), start: 0, uniform: true, last: u32::MAX }
    }
}

impl Default for LeastConnections {
    fn default() -> Self {
        LeastConnections::new()
    }
}

impl Algorithm for LeastConnections {
    fn rebuild(&mut self, pool: &Pool) {
        self.members.clear();
        self.members.extend_from_slice(&pool.eligible);
        let weight = |m: &u32| pool.backends[*m as usize].weight;
        self.uniform = self.members.first().is_none_or(|f| self.members.iter().all(|m| weight(m) == weight(f)));
        // Resume the rotation after the last choice, whatever changed.
        self.start = if self.last == u32::MAX {
            0
        } else {
            let p = self.members.partition_point(|&m| m <= self.last);
            if p == self.members.len() { 0 } else { p }
        };
    }

    #[inline]
    fn pick(&mut self, pool: &Pool, _key: u64, _rng: &mut SimRng) -> Option<u32> {
        let n = self.members.len();
        if pool.eligible.is_empty() || n == 0 {
            return None;
        }
        let backends = &pool.backends;
        // Scan members[start..] then members[..start]: the rotated order.
        let (before, from_start) = self.members.split_at(self.start);
        let mut best_pos = self.start;
        if self.uniform {
            let mut best_load = u32::MAX;
            for (pos, &m) in (self.start..).zip(from_start).chain((0..).zip(before)) {
                let load = backends[m as usize].inflight;
                if load < best_load {
                    best_load = load;
                    best_pos = pos;
                }
            }
        } else {
            // Start above any real load per weight: the first member wins.
            let (mut best_load, mut best_weight) = (1u64 << 32, 1u64);
            for (pos, &m) in (self.start..).zip(from_start).chain((0..).zip(before)) {
                let b = &backends[m as usize];
                let (load, weight) = (u64::from(b.inflight), u64::from(b.weight));
                // load / weight < best_load / best_weight, without division.
                if load * best_weight < best_load * weight {
                    best_pos = pos;
                    best_load = load;
                    best_weight = weight;
                }
            }
        }
        self.start = if best_pos + 1 == n { 0 } else { best_pos + 1 };
        self.last = self.members[best_pos];
        Some(self.last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balancer::test_pool as pool;
    use crate::rng::stream;

    #[test]
    fn picks_the_least_loaded() {
        let mut p = pool(&[1, 1, 1]);
        p.backends[0].inflight = 4;
        p.backends[1].inflight = 2;
        p.backends[2].inflight = 3;
        let mut a = LeastConnections::new();
        a.rebuild(&p);
        let mut rng = stream(0, "test", "lc");
        assert_eq!(a.pick(&p, 0, &mut rng), Some(1));
    }

    #[test]
    fn load_is_relative_to_weight() {
        // 5/3 < 2/1: the heavier-weighted backend is lighter.
        let mut p = pool(&[1, 3]);
        p.backends[0].inflight = 2;
        p.backends[1].inflight = 5;
        let mut a = LeastConnections::new();
        a.rebuild(&p);
        let mut rng = stream(0, "test", "lc");
        assert_eq!(a.pick(&p, 0, &mut rng), Some(1));
        // 6/3 == 2/1: a tie, broken by rotation (the scan now starts at 0).
        p.backends[1].inflight = 6;
        assert_eq!(a.pick(&p, 0, &mut rng), Some(0));
        assert_eq!(a.pick(&p, 0, &mut rng), Some(1));
    }

    #[test]
    fn ties_rotate_round_robin() {
        let p = pool(&[1, 2, 0, 1]);
        let mut a = LeastConnections::new();
        a.rebuild(&p);
        let mut rng = stream(0, "test", "lc");
        let seq: Vec<u32> = (0..6).map(|_| a.pick(&p, 0, &mut rng).unwrap()).collect();
        assert_eq!(seq, vec![0, 1, 3, 0, 1, 3]);
    }

    #[test]
    fn in_flight_tracking_spreads_evenly() {
        // With the simulator's bookkeeping (inflight += 1 per pick), picks
        // spread exactly in proportion to weight.
        let mut p = pool(&[1, 2, 3]);
        let mut a = LeastConnections::new();
        a.rebuild(&p);
        let mut rng = stream(0, "test", "lc");
        for _ in 0..600 {
            let b = a.pick(&p, 0, &mut rng).unwrap();
            p.backends[b as usize].inflight += 1;
        }
        let loads: Vec<u32> = p.backends.iter().map(|b| b.inflight).collect();
        assert_eq!(loads, vec![100, 200, 300]);
    }

    #[test]
    fn rotation_survives_rebuilds() {
        let mut p = pool(&[1, 1, 1, 1]);
        let mut a = LeastConnections::new();
        a.rebuild(&p);
        let mut rng = stream(0, "test", "lc");
        assert_eq!(a.pick(&p, 0, &mut rng), Some(0));
        assert_eq!(a.pick(&p, 0, &mut rng), Some(1));
        // Backend 2 goes down: the rotation continues at 3, then wraps.
        p.backends[2].available = false;
        p.refresh();
        a.rebuild(&p);
        assert_eq!(a.pick(&p, 0, &mut rng), Some(3));
        assert_eq!(a.pick(&p, 0, &mut rng), Some(0));
        // 0 was chosen last: the scan resumes at 1, then reaches 2, back again.
        p.backends[2].available = true;
        p.refresh();
        a.rebuild(&p);
        assert_eq!(a.pick(&p, 0, &mut rng), Some(1));
        assert_eq!(a.pick(&p, 0, &mut rng), Some(2));
    }
}

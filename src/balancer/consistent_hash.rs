//! Ketama consistent hashing, as NGINX `hash $key consistent` (160 points per
//! unit of weight, Cache::Memcached::Fast compatible) and Envoy `RING_HASH`.
//!
//! Every backend with weight > 0 puts `vnodes × weight` points on a 64-bit
//! ring. Point `i` of a backend sits at `mix64(name_hash ^ mix64(i))`, so it
//! depends only on the backend's name, never on its position in the pool, and
//! raising a weight only adds points. A request goes to the owner of the first
//! point at or after `mix64(key)`, wrapping around; if that backend is not
//! eligible (unavailable), the walk continues clockwise to the next point whose
//! owner is eligible, as NGINX does when the chosen peer is down.
//!
//! The ring is rebuilt only when membership, weights or names change; an
//! availability change only recomputes the clockwise skip table, so keys come
//! back to a backend as soon as it is available again. Removing one backend of
//! N moves only the keys it owned, about 1/N of them.
//!
//! Deviation: ketama's points come from MD5 of `"name-i"`; ours come from the
//! simulator's stable hash, so the same properties hold but not the same
//! placement as a real NGINX.

use super::{Algorithm, Pool};
use crate::rng::{SimRng, mix64};

/// Points one backend may place at most (guards against absurd weights).
const MAX_POINTS_PER_BACKEND: u64 = 1 << 20;

/// Ketama ring (NGINX `hash consistent`, Envoy `RING_HASH`).
#[derive(Clone, Debug)]
pub(crate) struct ConsistentHash {
    /// Points per unit of weight.
    vnodes: u32,
    /// (weight, name_hash) of every backend when the ring was built.
    signature: Vec<(u32, u64)>,
    /// Ring point positions, ascending.
    positions: Vec<u64>,
    /// Backend owning each point.
    owners: Vec<u32>,
    /// For each point, the first eligible backend at or after it, clockwise
    /// (`u32::MAX` when none is).
    resolved: Vec<u32>,
}

impl ConsistentHash {
    /// A ring with `vnodes` points per unit of weight (clamped to >= 1).
    /// Call `rebuild` before `pick`.
    pub(crate) fn new(vnodes: u32) -> Self {
        ConsistentHash {
            vnodes: vnodes.max(1),
            signature: Vec::new(),
            positions: Vec::new(),
            owners: Vec::new(),
            resolved: Vec::new(),
        }
    }

    /// Where point `i` of a backend named `name_hash` sits on the ring.
    #[inline]
    fn point(name_hash: u64, i: u64) -> u64 {
        mix64(name_hash ^ mix64(i))
    }

    /// Rebuilds the points from the current weights and names.
    fn build_ring(&mut self, pool: &Pool) {
        let mut points: Vec<(u64, u32)> = Vec::new();
        for (idx, b) in pool.backends.iter().enumerate() {
            if b.weight == 0 {
                continue;
            }
            let count = (u64::from(b.weight) * u64::from(self.vnodes)).min(MAX_POINTS_PER_BACKEND);
            points.extend((0..count).map(|i| (Self::point(b.name_hash, i), idx as u32)));
        }
        // Ties on position (vanishingly rare) are ordered by backend index.
        points.sort_unstable();
        self.positions = points.iter().map(|p| p.0).collect();
        self.owners = points.iter().map(|p| p.1).collect();
    }

    /// The number of points on the ring.
    #[cfg(test)]
    pub(crate) fn ring_len(&self) -> usize {
        self.positions.len()
    }
}

impl Algorithm for ConsistentHash {
    fn rebuild(&mut self, pool: &Pool) {
        let unchanged = self.signature.len() == pool.backends.len()
            && self.signature.iter().zip(&pool.backends).all(|(&(w, h), b)| w == b.weight && h == b.name_hash);
        if !unchanged {
            self.signature.clear();
            self.signature.extend(pool.backends.iter().map(|b| (b.weight, b.name_hash)));
            self.build_ring(pool);
        }
        // Clockwise skip table: two passes from the end so that points near
        // the end see eligible points past the wrap.
        let usable = |b: u32| {
            let be = &pool.backends[b as usize];
            be.weight > 0 && be.available
        };
        let n = self.owners.len();
        self.resolved.clear();
        self.resolved.resize(n, u32::MAX);
        let mut next = u32::MAX;
        for k in (0..2 * n).rev() {
            let j = if k >= n { k - n } else { k };
            if usable(self.owners[j]) {
                next = self.owners[j];
            }
            if k < n {
                self.resolved[j] = next;
            }
        }
    }

    #[inline]
    fn pick(&mut self, pool: &Pool, key: u64, _rng: &mut SimRng) -> Option<u32> {
        if pool.eligible.is_empty() || self.positions.is_empty() {
            return None;
        }
        let h = mix64(key);
        let mut slot = self.positions.partition_point(|&p| p < h);
        if slot == self.positions.len() {
            slot = 0;
        }
        let b = self.resolved[slot];
        (b != u32::MAX).then_some(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balancer::test_pool as pool;
    use crate::rng::{stable_hash, stream};

    fn named(weights: &[u32]) -> Pool {
        let mut p = pool(weights);
        for (i, b) in p.backends.iter_mut().enumerate() {
            b.name_hash = stable_hash(format!("web-{i:02}").as_bytes());
        }
        p
    }

    fn assign(a: &mut ConsistentHash, p: &Pool, keys: u64) -> Vec<u32> {
        let mut rng = stream(0, "test", "ch");
        (0..keys).map(|k| a.pick(p, stable_hash(&k.to_le_bytes()), &mut rng).unwrap()).collect()
    }

    #[test]
    fn same_key_same_backend() {
        let p = named(&[1, 1, 1, 1]);
        let mut a = ConsistentHash::new(160);
        a.rebuild(&p);
        assert_eq!(a.ring_len(), 640);
        let first = assign(&mut a, &p, 1000);
        // A fresh ring over the same pool agrees: placement depends on names.
        let mut b = ConsistentHash::new(160);
        b.rebuild(&p);
        assert_eq!(first, assign(&mut b, &p, 1000));
        assert_eq!(first, assign(&mut a, &p, 1000));
    }

    #[test]
    fn shares_roughly_follow_weights() {
        let p = named(&[1, 2, 3, 2]);
        let mut a = ConsistentHash::new(160);
        a.rebuild(&p);
        let keys = 10_000;
        let got = assign(&mut a, &p, keys);
        let mut counts = [0u32; 4];
        for b in got {
            counts[b as usize] += 1;
        }
        for (i, &w) in [1.0, 2.0, 3.0, 2.0].iter().enumerate() {
            let share = f64::from(counts[i]) / keys as f64;
            let expect = w / 8.0;
            // Ketama is never perfectly smooth: allow 20 % relative error.
            assert!(
                (share - expect).abs() < 0.2 * expect,
                "backend {i}: share {share:.3}, expected {expect:.3} ({counts:?})"
            );
        }
    }

    #[test]
    fn removing_a_backend_moves_only_its_keys() {
        let n = 8;
        let mut p = named(&vec![1; n]);
        let mut a = ConsistentHash::new(160);
        a.rebuild(&p);
        let keys = 10_000;
        let before = assign(&mut a, &p, keys);
        p.backends[3].weight = 0;
        p.refresh();
        a.rebuild(&p);
        assert_eq!(a.ring_len(), 160 * (n - 1));
        let after = assign(&mut a, &p, keys);
        let mut moved = 0;
        for (b, a) in before.iter().zip(&after) {
            if *b == 3 {
                assert_ne!(*a, 3);
                moved += 1;
            } else {
                assert_eq!(b, a, "a key not on the removed backend moved");
            }
        }
        let frac = f64::from(moved) / keys as f64;
        assert!((frac - 1.0 / n as f64).abs() < 0.04, "moved {frac:.3}");
    }

    #[test]
    fn unavailable_backend_keys_go_elsewhere_and_come_back() {
        let mut p = named(&[1, 1, 1, 1, 1]);
        let mut a = ConsistentHash::new(160);
        a.rebuild(&p);
        let keys = 5_000;
        let before = assign(&mut a, &p, keys);
        let ring = a.positions.clone();
        p.backends[1].available = false;
        p.refresh();
        a.rebuild(&p);
        // Availability does not rebuild the ring.
        assert_eq!(a.positions, ring);
        let during = assign(&mut a, &p, keys);
        let mut displaced = 0;
        for (b, d) in before.iter().zip(&during) {
            assert_ne!(*d, 1);
            if *b == 1 {
                displaced += 1;
            } else {
                assert_eq!(b, d);
            }
        }
        assert!(displaced > 0);
        p.backends[1].available = true;
        p.refresh();
        a.rebuild(&p);
        assert_eq!(before, assign(&mut a, &p, keys));
    }

    #[test]
    fn walk_wraps_around_the_ring() {
        // Only one backend eligible: every key reaches it, including keys
        // hashing past the last point.
        let mut p = named(&[1, 1, 1]);
        p.backends[0].available = false;
        p.backends[1].available = false;
        p.refresh();
        let mut a = ConsistentHash::new(4);
        a.rebuild(&p);
        let mut rng = stream(0, "test", "ch");
        for key in [0, u64::MAX, 12345] {
            assert_eq!(a.pick(&p, key, &mut rng), Some(2));
        }
        assert!(assign(&mut a, &p, 1000).iter().all(|&b| b == 2));
    }

    #[test]
    fn raising_a_weight_only_pulls_keys_towards_it() {
        let mut p = named(&[1, 1, 1]);
        let mut a = ConsistentHash::new(100);
        a.rebuild(&p);
        let before = assign(&mut a, &p, 5_000);
        p.backends[0].weight = 2;
        a.rebuild(&p);
        let after = assign(&mut a, &p, 5_000);
        for (b, a) in before.iter().zip(&after) {
            assert!(b == a || *a == 0);
        }
    }
}

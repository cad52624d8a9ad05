//! Weighted random, as NGINX `random` (without `two`) does it
//! (`ngx_http_upstream_random_module.c`: `ngx_random() % total_weight`, then a
//! binary search over the cumulative weight ranges). With equal weights this is
//! Envoy's `RANDOM` policy: uniform over the available hosts.
//!
//! `WeightedSampler` is shared with the power-of-choices balancer, which
//! draws its candidates the same way; with one choice the two balancers make
//! identical picks from the same random stream.

use super::{Algorithm, Pool};
use crate::rng::{SimRng, below, unit_f64};

/// Draws eligible backends with probability proportional to their weight.
///
/// All tables are built by [`WeightedSampler::rebuild`]; drawing never
/// allocates.
#[derive(Clone, Debug, Default)]
pub(crate) struct WeightedSampler {
    /// Eligible backend indices at the last rebuild, ascending.
    members: Vec<u32>,
    /// Running sum of the members' weights (`cumulative[i]` includes member
    /// `i`); empty when all weights are equal and a uniform index suffices.
    cumulative: Vec<u64>,
    /// Sum of the members' weights.
    total: u64,
    /// The members are `0..members.len()`: a drawn position is the backend
    /// itself, with no look-up (at a million backends, a cache miss less).
    identity: bool,
}

impl WeightedSampler {
    /// Recomputes the tables from the pool's eligible backends.
    pub(crate) fn rebuild(&mut self, pool: &Pool) {
        self.members.clear();
        self.members.extend_from_slice(&pool.eligible);
        self.cumulative.clear();
        self.total = 0;
        self.identity = self.members.iter().enumerate().all(|(i, &m)| m as usize == i);
        let first = match self.members.first() {
            Some(&i) => pool.backends[i as usize].weight,
            None => return,
        };
        let uniform = self.members.iter().all(|&i| pool.backends[i as usize].weight == first);
        if uniform {
            self.total = u64::from(first) * self.members.len() as u64;
            return;
        }
        for &i in &self.members {
            self.total += u64::from(pool.backends[i as usize].weight);
            self.cumulative.push(self.total);
        }
    }

    /// True when there is nothing to draw from.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// True when every member has the same weight.
    #[inline]
    pub(crate) fn is_uniform(&self) -> bool {
        self.cumulative.is_empty()
    }

    /// One weighted draw: a backend index. The sampler must not be empty.
    #[inline(always)]
    pub(crate) fn sample(&self, rng: &mut SimRng) -> u32 {
        debug_assert!(!self.members.is_empty());
        if self.cumulative.is_empty() {
            let k = below(rng, self.members.len() as u32);
            return if self.identity { k } else { self.members[k as usize] };
        }
        // A point in 0..total, exact while the total fits in 32 bits (always,
        // for realistic weights); 53-bit resolution beyond that.
        let x = if self.total <= u64::from(u32::MAX) {
            u64::from(below(rng, self.total as u32))
        } else {
            ((unit_f64(rng) * self.total as f64) as u64).min(self.total - 1)
        };
        // The first member whose cumulative weight exceeds x.
        let slot = self.cumulative.partition_point(|&c| c <= x);
        self.members[slot]
    }
}

/// Weighted random choice (NGINX `random`; Envoy `RANDOM` for equal weights).
///
/// Each eligible backend is chosen with probability weight / total weight,
/// independently of load and of earlier picks. The affinity key is ignored.
#[derive(Clone, Debug, Default)]
pub(crate) struct Random {
    sampler: WeightedSampler,
}

impl Random {
    /// A random balancer with no backends yet: call `rebuild` before `pick`.
    pub(crate) fn new() -> Self {
        Random::default()
    }
}

impl Algorithm for Random {
    fn rebuild(&mut self, pool: &Pool) {
        self.sampler.rebuild(pool);
    }

    #[inline(always)]
    fn pick(&mut self, pool: &Pool, _key: u64, rng: &mut SimRng) -> Option<u32> {
        if pool.eligible.is_empty() || self.sampler.is_empty() {
            return None;
        }
        Some(self.sampler.sample(rng))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balancer::test_pool as pool;
    use crate::rng::stream;

    fn shares(p: &Pool, n: u32, seed: u64) -> Vec<u32> {
        let mut alg = Random::new();
        alg.rebuild(p);
        let mut rng = stream(seed, "test", "random");
        let mut counts = vec![0u32; p.backends.len()];
        for _ in 0..n {
            counts[alg.pick(p, 0, &mut rng).unwrap() as usize] += 1;
        }
        counts
    }

    /// |observed - expected| within 5 binomial standard errors.
    fn assert_close(count: u32, n: u32, p: f64) {
        let sd = (f64::from(n) * p * (1.0 - p)).sqrt();
        let dev = (f64::from(count) - f64::from(n) * p).abs();
        assert!(dev < 5.0 * sd, "count {count} of {n}, expected p {p}");
    }

    #[test]
    fn equal_weights_are_uniform() {
        let p = pool(&[3, 3, 3, 3]);
        let n = 80_000;
        let c = shares(&p, n, 1);
        for &x in &c {
            assert_close(x, n, 0.25);
        }
    }

    #[test]
    fn unequal_weights_follow_weights() {
        let p = pool(&[1, 2, 0, 5]);
        let n = 80_000;
        let c = shares(&p, n, 2);
        assert_eq!(c[2], 0);
        assert_close(c[0], n, 1.0 / 8.0);
        assert_close(c[1], n, 2.0 / 8.0);
        assert_close(c[3], n, 5.0 / 8.0);
    }

    #[test]
    fn cumulative_search_covers_the_edges() {
        // Every point of 0..total maps to the member owning that range.
        let p = pool(&[2, 1, 3]);
        let mut s = WeightedSampler::default();
        s.rebuild(&p);
        assert!(!s.is_uniform());
        let owners: Vec<usize> = (0..6u64).map(|x| s.cumulative.partition_point(|&c| c <= x)).collect();
        assert_eq!(owners, vec![0, 0, 1, 2, 2, 2]);
    }

    #[test]
    fn huge_weights_still_work() {
        let p = pool(&[u32::MAX, u32::MAX, 1]);
        let n = 20_000;
        let c = shares(&p, n, 3);
        assert_close(c[0], n, 0.5);
        assert_close(c[1], n, 0.5);
    }

    #[test]
    fn empty_pool_gives_none() {
        let p = pool(&[0, 0]);
        let mut alg = Random::new();
        alg.rebuild(&p);
        let mut rng = stream(0, "test", "random");
        assert_eq!(alg.pick(&p, 0, &mut rng), None);
    }
}

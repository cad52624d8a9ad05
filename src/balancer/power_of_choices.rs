//! Power of d choices.
//!
//! Equal weights: Envoy `LEAST_REQUEST` with the `N_CHOICES` selection method
//! (`choice_count`, default 2): draw `choices` healthy hosts uniformly **with
//! replacement** and send to the one with the fewest active requests; on a tie
//! the first drawn is kept. With two hosts of different load the busier one is
//! returned 25 % of the time (both draws land on it), as Envoy's proto notes.
//!
//! Unequal weights: NGINX `random two least_conn`: candidates are drawn with
//! probability proportional to weight and the one with the lowest
//! `conns / weight` wins (compared as `conns_a * weight_b` against
//! `conns_b * weight_a`, ties keep the first drawn).
//!
//! Deviations: NGINX draws again when the second candidate is the same peer as
//! the first (its pair is always distinct) and is fixed at two candidates; here
//! draws are always with replacement and `choices` may be any number >= 1, so
//! both weight regimes share one sampling model. With `choices = 1` this is
//! exactly [`super::random::Random`]: same draws from the same stream.
//! Envoy's unequal-weight mode (weighted RR over `weight / (active + 1)^bias`)
//! is not modelled.

use super::random::WeightedSampler;
use super::{Algorithm, Pool};
use crate::rng::SimRng;

/// Power of d choices (Envoy `LEAST_REQUEST`/N_CHOICES, NGINX `random two`).
#[derive(Clone, Debug)]
pub(crate) struct PowerOfChoices {
    choices: u32,
    sampler: WeightedSampler,
}

impl PowerOfChoices {
    /// A balancer drawing `choices` candidates per request (clamped to >= 1).
    /// Call `rebuild` before `pick`.
    pub(crate) fn new(choices: u32) -> Self {
        PowerOfChoices { choices: choices.max(1), sampler: WeightedSampler::default() }
    }
}

impl Algorithm for PowerOfChoices {
    fn rebuild(&mut self, pool: &Pool) {
        self.sampler.rebuild(pool);
    }

    #[inline]
    fn pick(&mut self, pool: &Pool, _key: u64, rng: &mut SimRng) -> Option<u32> {
        if pool.eligible.is_empty() || self.sampler.is_empty() {
            return None;
        }
        let backends = &pool.backends;
        let mut best = self.sampler.sample(rng);
        if self.sampler.is_uniform() {
            let mut best_load = backends[best as usize].inflight;
            for _ in 1..self.choices {
                let c = self.sampler.sample(rng);
                let load = backends[c as usize].inflight;
                if load < best_load {
                    best = c;
                    best_load = load;
                }
            }
        } else {
            for _ in 1..self.choices {
                let c = self.sampler.sample(rng);
                let (bc, bb) = (&backends[c as usize], &backends[best as usize]);
                // c is lighter when c.inflight / c.weight < best.inflight / best.weight.
                if u64::from(bc.inflight) * u64::from(bb.weight) < u64::from(bb.inflight) * u64::from(bc.weight) {
                    best = c;
                }
            }
        }
        Some(best)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balancer::random::Random;
    use crate::balancer::test_pool as pool;
    use crate::rng::stream;

    /// Picks `n` times with fixed in-flight counts; returns per-backend counts.
    fn counts(p: &Pool, choices: u32, n: u32, seed: u64) -> Vec<u32> {
        let mut alg = PowerOfChoices::new(choices);
        alg.rebuild(p);
        let mut rng = stream(seed, "test", "p2c");
        let mut c = vec![0u32; p.backends.len()];
        for _ in 0..n {
            c[alg.pick(p, 0, &mut rng).unwrap() as usize] += 1;
        }
        c
    }

    /// Asserts `count` is within 5 binomial standard errors of `n * prob`.
    fn assert_close(count: u32, n: u32, prob: f64) {
        let sd = (f64::from(n) * prob * (1.0 - prob)).sqrt();
        let dev = (f64::from(count) - f64::from(n) * prob).abs();
        assert!(dev < 5.0 * sd, "count {count} of {n}, expected {prob} (sd {sd:.1})");
    }

    #[test]
    fn two_hosts_busier_is_chosen_a_quarter_of_the_time() {
        let mut p = pool(&[1, 1]);
        p.backends[0].inflight = 7;
        p.backends[1].inflight = 3;
        let n = 100_000;
        let c = counts(&p, 2, n, 11);
        assert_close(c[0], n, 0.25);
        assert_close(c[1], n, 0.75);
    }

    #[test]
    fn more_choices_avoid_the_busy_host_more() {
        // d draws with replacement: the busier of two is chosen with 2^-d.
        let mut p = pool(&[1, 1]);
        p.backends[1].inflight = 1;
        let n = 100_000;
        let c = counts(&p, 3, n, 12);
        assert_close(c[1], n, 0.125);
    }

    #[test]
    fn one_choice_is_plain_random() {
        for weights in [&[1u32, 1, 1][..], &[1, 4, 2][..]] {
            let mut p = pool(weights);
            p.backends[0].inflight = 50;
            let mut a = PowerOfChoices::new(1);
            let mut b = Random::new();
            a.rebuild(&p);
            b.rebuild(&p);
            let mut ra = stream(5, "test", "same");
            let mut rb = stream(5, "test", "same");
            for _ in 0..10_000 {
                assert_eq!(a.pick(&p, 0, &mut ra), b.pick(&p, 0, &mut rb));
            }
        }
        // ... and so ignores load: the busy host still gets its 1/2.
        let mut p = pool(&[1, 1]);
        p.backends[0].inflight = 100;
        let n = 50_000;
        let c = counts(&p, 1, n, 13);
        assert_close(c[0], n, 0.5);
    }

    #[test]
    fn ties_keep_the_first_drawn() {
        // Equal load: the result is the first draw, i.e. uniform.
        let p = pool(&[1, 1, 1, 1]);
        let n = 40_000;
        let c = counts(&p, 2, n, 14);
        for &x in &c {
            assert_close(x, n, 0.25);
        }
    }

    #[test]
    fn weighted_compares_load_per_weight() {
        // Weights 3:1 with loads 3:1 are equally loaded per weight: ties keep
        // the first draw, so shares follow the weights.
        let mut p = pool(&[3, 1]);
        p.backends[0].inflight = 3;
        p.backends[1].inflight = 1;
        let n = 80_000;
        let c = counts(&p, 2, n, 15);
        assert_close(c[0], n, 0.75);
        // Load 4 on weight 3 is heavier than 1 on weight 1: backend 0 wins only
        // when both draws are it (probability 0.75^2).
        p.backends[0].inflight = 4;
        let c = counts(&p, 2, n, 16);
        assert_close(c[0], n, 0.5625);
        // Load 2 on weight 3 is lighter: backend 1 wins only with two draws of it.
        p.backends[0].inflight = 2;
        let c = counts(&p, 2, n, 17);
        assert_close(c[1], n, 0.0625);
    }

    #[test]
    fn choices_zero_is_clamped_to_one() {
        let p = pool(&[1, 1]);
        let mut a = PowerOfChoices::new(0);
        a.rebuild(&p);
        let mut rng = stream(1, "test", "zero");
        assert!(a.pick(&p, 0, &mut rng).is_some());
    }
}

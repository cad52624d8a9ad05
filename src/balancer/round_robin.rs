//! NGINX smooth weighted round robin (`ngx_http_upstream_get_peer` in
//! `ngx_http_upstream_round_robin.c`), NGINX's default balancer.
//!
//! On every pick, each eligible peer's `current` grows by its weight and the
//! total of those weights is taken; the peer with the largest `current` wins
//! (the first in index order on ties) and its `current` drops by the total.
//! Weights {5, 1, 1} give `a a b a c a a`; {3, 1} give `a a b a`. Ineligible
//! peers are skipped and keep their `current`, and every peer keeps its
//! `current` across rebuilds while the number of backends is unchanged, as
//! NGINX peers keep theirs when marked down and up again.
//!
//! Deviation: NGINX lowers `effective_weight` on failures and restores it one
//! step per selection; here the effective weight is the configured weight
//! (the simulator changes weights explicitly instead).
//!
//! Fast path. Once a block of `P = total / gcd(weights)` consecutive picks
//! chooses every peer exactly `weight / gcd` times, every `current` is back
//! where it was, so the sequence repeats with period `P` from then on. For
//! equal weights `P` is the number of peers and, from NGINX's all-zero start,
//! the cycle is plain rotation. `rebuild` simulates the general rule offline
//! (from the real `current` values) until it finds such a block, and `pick`
//! then replays it with an O(1) cursor: the output is identical to the
//! general rule, which `pick` still runs for the transient steps before the
//! cycle, and always when the period is too long to tabulate or no cycle
//! appears within the search budget. The `current` values are brought up to
//! date from the cursor at the next rebuild.

use super::{Algorithm, Pool};
use crate::rng::SimRng;

/// Longest cycle tabulated (entries of 4 bytes).
const MAX_PERIOD: u64 = 4096;
/// Largest `period × peers` simulated per block (bounds rebuild work).
const MAX_BLOCK_WORK: u64 = 1 << 18;
/// Blocks of `period` picks simulated while looking for the cycle.
const MAX_BLOCKS: usize = 16;

/// NGINX smooth weighted round robin, with a tabulated-cycle fast path.
#[derive(Clone, Debug, Default)]
pub(crate) struct RoundRobin {
    /// NGINX `current_weight` of every backend as of the last rebuild
    /// (stale for eligible backends between rebuilds; see `cur`).
    saved: Vec<i64>,
    /// Eligible backend indices at the last rebuild, ascending.
    members: Vec<u32>,
    /// Weights of `members`, parallel to it.
    weights: Vec<i64>,
    /// Live `current_weight` of `members`, parallel to it. While the cycle is
    /// being replayed it holds the state at the start of the cycle.
    cur: Vec<i64>,
    /// Sum of `weights`.
    total: i64,
    /// One period of picks (backend indices); empty when the general rule
    /// runs on every pick.
    cycle: Vec<u32>,
    /// Next position in `cycle`.
    cursor: usize,
    /// General-rule picks still to run before the cycle starts.
    transient: usize,
}

/// One step of the smooth weighted round robin over parallel `cur`/`weights`:
/// returns the winning position.
#[inline]
fn swrr_step(cur: &mut [i64], weights: &[i64], total: i64) -> usize {
    let mut best = 0;
    let mut best_cur = i64::MIN;
    for (j, (c, &w)) in cur.iter_mut().zip(weights).enumerate() {
        *c += w;
        // Strictly greater: the first peer wins ties.
        if *c > best_cur {
            best_cur = *c;
            best = j;
        }
    }
    cur[best] -= total;
    best
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl RoundRobin {
    /// A round-robin balancer: call `rebuild` before `pick`.
    pub(crate) fn new() -> Self {
        RoundRobin::default()
    }

    /// Writes the live state back into `saved`, replaying the part of the
    /// cycle consumed so far.
    fn save_state(&mut self) {
        for (&m, &c) in self.members.iter().zip(&self.cur) {
            self.saved[m as usize] = c;
        }
        if self.transient == 0 && self.cursor > 0 {
            let k = self.cursor as i64;
            for (&m, &w) in self.members.iter().zip(&self.weights) {
                self.saved[m as usize] += k * w;
            }
            for &b in &self.cycle[..self.cursor] {
                self.saved[b as usize] -= self.total;
            }
        }
        self.cycle.clear();
        self.cursor = 0;
        self.transient = 0;
    }

    /// Looks for the repeating block from the current state; fills `cycle`
    /// and `transient` when found within budget.
    fn find_cycle(&mut self) {
        let n = self.members.len();
        if n == 0 {
            return;
        }
        let g = self.weights.iter().fold(0u64, |g, &w| gcd(g, w as u64));
        let period = self.total as u64 / g;
        if period > MAX_PERIOD || period * n as u64 > MAX_BLOCK_WORK {
            return;
        }
        let period = period as usize;
        let quota: Vec<u64> = self.weights.iter().map(|&w| w as u64 / g).collect();
        let mut sim = self.cur.clone();
        let mut counts = vec![0u64; n];
        let mut block = Vec::with_capacity(period);
        for b in 0..MAX_BLOCKS {
            block.clear();
            counts.iter_mut().for_each(|c| *c = 0);
            for _ in 0..period {
                let j = swrr_step(&mut sim, &self.weights, self.total);
                counts[j] += 1;
                block.push(self.members[j]);
            }
            if counts == quota {
                self.cycle = block;
                self.transient = b * period;
                return;
            }
        }
    }

    /// True when picks replay a tabulated cycle (after any transient).
    #[cfg(test)]
    pub(crate) fn has_cycle(&self) -> bool {
        !self.cycle.is_empty()
    }
}

impl Algorithm for RoundRobin {
    fn rebuild(&mut self, pool: &Pool) {
        self.save_state();
        if self.saved.len() != pool.backends.len() {
            self.saved.clear();
            self.saved.resize(pool.backends.len(), 0);
        }
        self.members.clear();
        self.members.extend_from_slice(&pool.eligible);
        self.weights.clear();
        self.weights.extend(self.members.iter().map(|&m| i64::from(pool.backends[m as usize].weight)));
        self.total = self.weights.iter().sum();
        self.cur.clear();
        self.cur.extend(self.members.iter().map(|&m| self.saved[m as usize]));
        self.find_cycle();
    }

    #[inline]
    fn pick(&mut self, pool: &Pool, _key: u64, _rng: &mut SimRng) -> Option<u32> {
        if pool.eligible.is_empty() || self.members.is_empty() {
            return None;
        }
        if self.transient == 0 && !self.cycle.is_empty() {
            let b = self.cycle[self.cursor];
            self.cursor += 1;
            if self.cursor == self.cycle.len() {
                self.cursor = 0;
            }
            return Some(b);
        }
        let j = swrr_step(&mut self.cur, &self.weights, self.total);
        self.transient = self.transient.saturating_sub(1);
        Some(self.members[j])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balancer::test_pool as pool;
    use crate::rng::{below, stream};

    /// NGINX's rule verbatim, per backend, no fast path: the reference.
    struct Reference {
        current: Vec<i64>,
    }

    impl Reference {
        fn pick(&mut self, pool: &Pool) -> Option<u32> {
            if self.current.len() != pool.backends.len() {
                self.current = vec![0; pool.backends.len()];
            }
            let mut total = 0;
            let mut best: Option<usize> = None;
            for &i in &pool.eligible {
                let i = i as usize;
                let w = i64::from(pool.backends[i].weight);
                self.current[i] += w;
                total += w;
                if best.is_none_or(|b| self.current[i] > self.current[b]) {
                    best = Some(i);
                }
            }
            let b = best?;
            self.current[b] -= total;
            Some(b as u32)
        }
    }

    fn letters(weights: &[u32], n: usize) -> String {
        let p = pool(weights);
        let mut a = RoundRobin::new();
        a.rebuild(&p);
        let mut rng = stream(0, "test", "rr");
        (0..n).map(|_| (b'a' + a.pick(&p, 0, &mut rng).unwrap() as u8) as char).collect()
    }

    #[test]
    fn nginx_check_sequences() {
        assert_eq!(letters(&[5, 1, 1], 7), "aabacaa");
        assert_eq!(letters(&[5, 1, 1], 14), "aabacaaaabacaa");
        assert_eq!(letters(&[3, 1], 4), "aaba");
        assert_eq!(letters(&[3, 1], 8), "aabaaaba");
    }

    #[test]
    fn equal_weights_rotate() {
        assert_eq!(letters(&[1, 1, 1, 1], 9), "abcdabcda");
        assert_eq!(letters(&[7, 7, 7], 6), "abcabc");
        let p = pool(&[2, 2, 2]);
        let mut a = RoundRobin::new();
        a.rebuild(&p);
        assert!(a.has_cycle());
        assert_eq!(a.transient, 0);
        assert_eq!(a.cycle, vec![0, 1, 2]);
    }

    #[test]
    fn skips_ineligible_and_keeps_their_state() {
        let mut p = pool(&[1, 1, 0, 1]);
        p.backends[1].available = false;
        p.refresh();
        let mut a = RoundRobin::new();
        a.rebuild(&p);
        let mut rng = stream(0, "test", "rr");
        let seq: Vec<u32> = (0..4).map(|_| a.pick(&p, 0, &mut rng).unwrap()).collect();
        assert_eq!(seq, vec![0, 3, 0, 3]);
    }

    /// The fast path must reproduce NGINX's rule exactly, across weight,
    /// membership and availability changes that leave arbitrary state behind.
    #[test]
    fn fast_path_matches_the_general_rule() {
        let mut rng = stream(9, "test", "rr-equivalence");
        let mut dummy = stream(0, "test", "rr");
        let mut cycles_used = 0;
        for case in 0..300 {
            let n = 1 + below(&mut rng, 8) as usize;
            let mut p = pool(&vec![1; n]);
            let mut alg = RoundRobin::new();
            let mut reference = Reference { current: Vec::new() };
            alg.rebuild(&p);
            for _event in 0..12 {
                let picks = below(&mut rng, 40);
                for _ in 0..picks {
                    let want = reference.pick(&p);
                    assert_eq!(alg.pick(&p, 0, &mut dummy), want, "case {case}");
                }
                // Change something: availability, a weight (often keeping all
                // weights equal), or everything equal again.
                let i = below(&mut rng, n as u32) as usize;
                match below(&mut rng, 4) {
                    0 => p.backends[i].available = !p.backends[i].available,
                    1 => p.backends[i].weight = below(&mut rng, 5),
                    2 => {
                        let w = 1 + below(&mut rng, 3);
                        p.backends.iter_mut().for_each(|b| b.weight = w);
                    }
                    _ => p.backends[i].weight = 1000 + below(&mut rng, 3),
                }
                p.refresh();
                alg.rebuild(&p);
                if alg.has_cycle() {
                    cycles_used += 1;
                }
            }
        }
        assert!(cycles_used > 1000, "fast path rarely used: {cycles_used}");
    }

    #[test]
    fn state_survives_an_outage_then_cycles_again() {
        // Equal weights, one backend away for a while: the returning backend's
        // stale state changes the order but the result is still a cycle.
        let mut p = pool(&[1, 1, 1]);
        let mut a = RoundRobin::new();
        a.rebuild(&p);
        let mut rng = stream(0, "test", "rr");
        a.pick(&p, 0, &mut rng);
        p.backends[0].available = false;
        p.refresh();
        a.rebuild(&p);
        for _ in 0..3 {
            assert_ne!(a.pick(&p, 0, &mut rng), Some(0));
        }
        p.backends[0].available = true;
        p.refresh();
        a.rebuild(&p);
        assert!(a.has_cycle());
        // Past the transient, each full period picks each backend once.
        for _ in 0..a.transient {
            a.pick(&p, 0, &mut rng);
        }
        let mut seen = [0; 3];
        for _ in 0..30 {
            seen[a.pick(&p, 0, &mut rng).unwrap() as usize] += 1;
        }
        assert_eq!(seen, [10, 10, 10]);
    }

    #[test]
    fn changed_backend_count_resets_state() {
        let mut p = pool(&[3, 1]);
        let mut a = RoundRobin::new();
        a.rebuild(&p);
        let mut rng = stream(0, "test", "rr");
        a.pick(&p, 0, &mut rng);
        p = pool(&[5, 1, 1]);
        a.rebuild(&p);
        let s: String = (0..7).map(|_| (b'a' + a.pick(&p, 0, &mut rng).unwrap() as u8) as char).collect();
        assert_eq!(s, "aabacaa");
    }

    #[test]
    fn long_periods_use_the_general_rule() {
        let p = pool(&[10_000, 1]);
        let mut a = RoundRobin::new();
        a.rebuild(&p);
        assert!(!a.has_cycle());
        let mut rng = stream(0, "test", "rr");
        let picks: Vec<u32> = (0..10_001).map(|_| a.pick(&p, 0, &mut rng).unwrap()).collect();
        assert_eq!(picks.iter().filter(|&&b| b == 1).count(), 1);
    }
}

//! Load-balancing algorithms, one per file, behind one trait.
//!
//! A balancer only sees what it has itself sent: the in-flight counts in its
//! own [`Pool`]. The simulator owns the pool (plain mutable tables, so the
//! incident timeline can change weights, membership and health mid-run) and
//! calls [`Algorithm::rebuild`] whenever membership, weights or eligibility
//! change. In-flight counts change on every request and do not trigger a
//! rebuild: algorithms that need them read them in [`Algorithm::pick`].

pub(crate) mod consistent_hash;
pub(crate) mod first;
pub(crate) mod least_connections;
pub(crate) mod power_of_choices;
pub(crate) mod random;
pub(crate) mod round_robin;

use serde::{Deserialize, Serialize};

use crate::rng::SimRng;

pub(crate) use consistent_hash::ConsistentHash;
pub(crate) use first::First;
pub(crate) use least_connections::LeastConnections;
pub(crate) use power_of_choices::PowerOfChoices;
pub(crate) use random::Random;
pub(crate) use round_robin::RoundRobin;

/// What one balancer knows about one of its backends.
#[derive(Clone, Debug)]
pub(crate) struct Backend {
    /// Configured weight; 0 takes the backend out of rotation.
    pub weight: u32,
    /// Whether the simulator currently lets this backend receive traffic
    /// (healthy, not ejected, not administratively down).
    pub available: bool,
    /// Requests this balancer has sent to the backend that have not returned.
    pub inflight: u32,
    /// Connection slots for the `first` algorithm (u32::MAX: unlimited).
    pub max_conn: u32,
    /// Stable hash of the backend's name: consistent hashing places ring
    /// points from it, so a server keeps its points whatever its position.
    pub name_hash: u64,
}

/// A balancer's backends and which of them may receive traffic now.
#[derive(Clone, Debug, Default)]
pub(crate) struct Pool {
    pub backends: Vec<Backend>,
    /// Indices into `backends`, ascending, of those with weight > 0 and
    /// `available`. Kept up to date by [`Pool::refresh`].
    pub eligible: Vec<u32>,
}

impl Pool {
    /// Recomputes `eligible` after weights or availability changed.
    pub(crate) fn refresh(&mut self) {
        self.eligible.clear();
        for (i, b) in self.backends.iter().enumerate() {
            if b.weight > 0 && b.available {
                self.eligible.push(i as u32);
            }
        }
    }
}

/// The algorithms a scenario can name.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlgorithmKind {
    RoundRobin,
    Random,
    LeastConnections,
    PowerOfTwoChoices,
    ConsistentHash,
    First,
}

impl AlgorithmKind {
    /// The name used in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            AlgorithmKind::RoundRobin => "round_robin",
            AlgorithmKind::Random => "random",
            AlgorithmKind::LeastConnections => "least_connections",
            AlgorithmKind::PowerOfTwoChoices => "power_of_two_choices",
            AlgorithmKind::ConsistentHash => "consistent_hash",
            AlgorithmKind::First => "first",
        }
    }
}

/// Tunables some algorithms take.
#[derive(Copy, Clone, Debug)]
pub struct AlgorithmParams {
    /// Candidates sampled by `power_of_two_choices` (>= 1; default 2).
    pub choices: u32,
    /// Ring points per unit of weight for `consistent_hash` (default 160).
    pub vnodes: u32,
}

impl Default for AlgorithmParams {
    fn default() -> Self {
        AlgorithmParams { choices: 2, vnodes: 160 }
    }
}

/// One load-balancing algorithm.
pub(crate) trait Algorithm: Send {
    /// Called after the pool's membership, weights or eligibility changed,
    /// and once before the first pick.
    fn rebuild(&mut self, pool: &Pool);

    /// Chooses a backend (an index into `pool.backends`) for a request whose
    /// affinity key is `key` (a hash of the user id), or `None` when no
    /// backend is eligible.
    fn pick(&mut self, pool: &Pool, key: u64, rng: &mut SimRng) -> Option<u32>;
}

/// The algorithm a balancer runs. An enum rather than a trait object, so
/// that the hot path calls each algorithm's `pick` statically and can
/// inline it (and skip work it does not need, such as the affinity key).
/// An explicit one-byte tag: without it the variant is encoded in a niche
/// of the first variant's vector, and decoding it costs five instructions
/// more per pick.
#[derive(Clone, Debug)]
#[repr(u8)]
pub(crate) enum Balancing {
    RoundRobin(RoundRobin),
    Random(Random),
    LeastConnections(LeastConnections),
    PowerOfChoices(PowerOfChoices),
    ConsistentHash(ConsistentHash),
    First(First),
}

impl Algorithm for Balancing {
    fn rebuild(&mut self, pool: &Pool) {
        match self {
            Balancing::RoundRobin(a) => a.rebuild(pool),
            Balancing::Random(a) => a.rebuild(pool),
            Balancing::LeastConnections(a) => a.rebuild(pool),
            Balancing::PowerOfChoices(a) => a.rebuild(pool),
            Balancing::ConsistentHash(a) => a.rebuild(pool),
            Balancing::First(a) => a.rebuild(pool),
        }
    }

    #[inline(always)]
    fn pick(&mut self, pool: &Pool, key: u64, rng: &mut SimRng) -> Option<u32> {
        match self {
            Balancing::RoundRobin(a) => a.pick(pool, key, rng),
            Balancing::Random(a) => a.pick(pool, key, rng),
            Balancing::LeastConnections(a) => a.pick(pool, key, rng),
            Balancing::PowerOfChoices(a) => a.pick(pool, key, rng),
            Balancing::ConsistentHash(a) => a.pick(pool, key, rng),
            Balancing::First(a) => a.pick(pool, key, rng),
        }
    }
}

/// Builds the algorithm a scenario names.
///
/// `params.choices` and `params.vnodes` are clamped to at least 1. The result
/// needs a [`Algorithm::rebuild`] before its first pick.
pub(crate) fn build(kind: AlgorithmKind, params: AlgorithmParams) -> Balancing {
    match kind {
        AlgorithmKind::RoundRobin => Balancing::RoundRobin(RoundRobin::new()),
        AlgorithmKind::Random => Balancing::Random(Random::new()),
        AlgorithmKind::LeastConnections => Balancing::LeastConnections(LeastConnections::new()),
        AlgorithmKind::PowerOfTwoChoices => Balancing::PowerOfChoices(PowerOfChoices::new(params.choices)),
        AlgorithmKind::ConsistentHash => Balancing::ConsistentHash(ConsistentHash::new(params.vnodes)),
        AlgorithmKind::First => Balancing::First(First::new()),
    }
}

/// A pool of available backends with the given weights (name hash = index,
/// unlimited slots, nothing in flight), for tests.
#[cfg(test)]
pub(crate) fn test_pool(weights: &[u32]) -> Pool {
    let mut p = Pool {
        backends: weights
            .iter()
            .enumerate()
            .map(|(i, &w)| Backend {
                weight: w,
                available: true,
                inflight: 0,
                max_conn: u32::MAX,
                name_hash: crate::rng::mix64(i as u64 + 1),
            })
            .collect(),
        eligible: Vec::new(),
    };
    p.refresh();
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{below, stream};

    const KINDS: [AlgorithmKind; 6] = [
        AlgorithmKind::RoundRobin,
        AlgorithmKind::Random,
        AlgorithmKind::LeastConnections,
        AlgorithmKind::PowerOfTwoChoices,
        AlgorithmKind::ConsistentHash,
        AlgorithmKind::First,
    ];

    fn variants() -> Vec<(AlgorithmKind, AlgorithmParams)> {
        let mut v = Vec::new();
        for kind in KINDS {
            v.push((kind, AlgorithmParams::default()));
        }
        for choices in [1, 3] {
            v.push((AlgorithmKind::PowerOfTwoChoices, AlgorithmParams { choices, ..AlgorithmParams::default() }));
        }
        v.push((AlgorithmKind::ConsistentHash, AlgorithmParams { vnodes: 1, ..AlgorithmParams::default() }));
        v
    }

    /// Weight-0 and unavailable backends are never picked, under any load,
    /// key or sequence of eligibility changes; picks are always eligible.
    #[test]
    fn out_of_rotation_backends_are_never_picked() {
        for (kind, params) in variants() {
            for weights in [&[1u32, 0, 1, 1, 0, 1][..], &[3, 0, 1, 5, 2, 0][..]] {
                let mut p = test_pool(weights);
                p.backends[2].available = false;
                for b in &mut p.backends {
                    b.max_conn = 4;
                }
                p.refresh();
                let mut alg = build(kind, params);
                alg.rebuild(&p);
                let mut rng = stream(3, "test", "balancer-eligibility");
                let mut draw = stream(4, "test", "balancer-load");
                for step in 0..20_000u64 {
                    if step % 5_000 == 4_999 {
                        // Flip one more backend in or out of service.
                        let i = [3usize, 5][(step / 5_000) as usize % 2];
                        p.backends[i].available = !p.backends[i].available;
                        p.refresh();
                        alg.rebuild(&p);
                    }
                    let key = crate::rng::mix64(below(&mut draw, 1000).into());
                    let b = alg.pick(&p, key, &mut rng).expect("some backend eligible");
                    assert!(p.eligible.contains(&b), "{kind:?} {params:?} picked {b} outside {:?}", p.eligible);
                    let be = &mut p.backends[b as usize];
                    assert!(be.weight > 0 && be.available);
                    be.inflight += 1;
                    // Complete a random request now and then.
                    let j = below(&mut draw, p.backends.len() as u32) as usize;
                    if p.backends[j].inflight > 0 && below(&mut draw, 2) == 0 {
                        p.backends[j].inflight -= 1;
                    }
                }
            }
        }
    }

    #[test]
    fn empty_eligible_set_gives_none() {
        for (kind, params) in variants() {
            let mut rng = stream(5, "test", "balancer-empty");
            // No backends at all.
            let mut p = Pool::default();
            let mut alg = build(kind, params);
            alg.rebuild(&p);
            assert_eq!(alg.pick(&p, 1, &mut rng), None, "{kind:?}");
            // Backends, but all out of rotation.
            p = test_pool(&[0, 2, 1]);
            alg.rebuild(&p);
            assert!(alg.pick(&p, 1, &mut rng).is_some(), "{kind:?}");
            p.backends[1].available = false;
            p.backends[2].available = false;
            p.refresh();
            alg.rebuild(&p);
            for key in 0..100 {
                assert_eq!(alg.pick(&p, key, &mut rng), None, "{kind:?}");
            }
            // And back.
            p.backends[2].available = true;
            p.refresh();
            alg.rebuild(&p);
            assert_eq!(alg.pick(&p, 7, &mut rng), Some(2), "{kind:?}");
        }
    }

    #[test]
    fn every_kind_builds_and_spreads_load() {
        for kind in KINDS {
            let mut p = test_pool(&[1, 1, 1, 1]);
            let mut alg = build(kind, AlgorithmParams::default());
            alg.rebuild(&p);
            let mut rng = stream(6, "test", "balancer-spread");
            let mut seen = [false; 4];
            for key in 0..400u64 {
                let b = alg.pick(&p, crate::rng::mix64(key), &mut rng).unwrap();
                seen[b as usize] = true;
                // `first` only moves on when a backend is full.
                if kind == AlgorithmKind::First {
                    p.backends[b as usize].max_conn = 1;
                    p.backends[b as usize].inflight = 1;
                }
            }
            assert_eq!(seen, [true; 4], "{kind:?}");
        }
    }
}

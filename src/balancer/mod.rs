//! Load-balancing algorithms, one per file, behind one trait.
//!
//! A balancer only sees what it has itself sent: the in-flight counts in its
//! own [`Pool`]. The simulator owns the pool (plain mutable tables, so the
//! incident timeline can change weights, membership and health mid-run) and
//! calls [`Algorithm::rebuild`] whenever membership, weights or eligibility
//! change. In-flight counts change on every request and do not trigger a
//! rebuild: algorithms that need them read them in [`Algorithm::pick`].

use serde::{Deserialize, Serialize};

use crate::rng::SimRng;

/// What one balancer knows about one of its backends.
#[derive(Clone, Debug)]
pub struct Backend {
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
pub struct Pool {
    pub backends: Vec<Backend>,
    /// Indices into `backends`, ascending, of those with weight > 0 and
    /// `available`. Kept up to date by [`Pool::refresh`].
    pub eligible: Vec<u32>,
}

impl Pool {
    /// Recomputes `eligible` after weights or availability changed.
    pub fn refresh(&mut self) {
        self.eligible.clear();
        for (i, b) in self.backends.iter().enumerate() {
            if b.weight > 0 && b.available {
                self.eligible.push(i as u32);
            }
        }
    }
}

/// The algorithms a scenario can name.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlgorithmKind {
    RoundRobin,
    Random,
    LeastConnections,
    PowerOfTwoChoices,
    ConsistentHash,
    First,
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
        AlgorithmParams {
            choices: 2,
            vnodes: 160,
        }
    }
}

/// One load-balancing algorithm.
pub trait Algorithm: Send {
    /// Called after the pool's membership, weights or eligibility changed,
    /// and once before the first pick.
    fn rebuild(&mut self, pool: &Pool);

    /// Chooses a backend (an index into `pool.backends`) for a request whose
    /// affinity key is `key` (a hash of the user id), or `None` when no
    /// backend is eligible.
    fn pick(&mut self, pool: &Pool, key: u64, rng: &mut SimRng) -> Option<u32>;
}

/// Builds the algorithm a scenario names.
pub fn build(kind: AlgorithmKind, params: AlgorithmParams) -> Box<dyn Algorithm> {
    let _ = (kind, params);
    todo!("balancer algorithms")
}

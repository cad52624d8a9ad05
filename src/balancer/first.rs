//! HAProxy `balance first`: the first server, in ascending id order, with a
//! free connection slot (`inflight < maxconn`) takes the request; once it is
//! full the next one is used. Weights are ignored, except that weight 0 takes
//! a server out of rotation. Meant for consolidation onto few servers.
//!
//! As in HAProxy, `max_conn = 0` means "no limit" (so does `u32::MAX`).
//!
//! Deviation: when every eligible backend is full, HAProxy queues the request
//! at the proxy until a slot frees. This trait has to return a backend, so we
//! fall back to the eligible backend with the lowest `inflight / max_conn`
//! ratio (compared by cross-multiplication; ties go to the lowest index).

use super::{Algorithm, Pool};
use crate::rng::SimRng;

/// HAProxy `balance first`, with a least-full fallback when all are full.
#[derive(Clone, Debug, Default)]
pub(crate) struct First {
    /// Eligible backend indices at the last rebuild, ascending.
    members: Vec<u32>,
}

impl First {
    /// A `first` balancer: call `rebuild` before `pick`.
    pub(crate) fn new() -> Self {
        First::default()
    }
}

/// The slot limit, with 0 read as unlimited.
#[inline]
fn slots(max_conn: u32) -> u32 {
    if max_conn == 0 { u32::MAX } else { max_conn }
}

impl Algorithm for First {
    fn rebuild(&mut self, pool: &Pool) {
        self.members.clear();
        self.members.extend_from_slice(&pool.eligible);
    }

    #[inline]
    fn pick(&mut self, pool: &Pool, _key: u64, _rng: &mut SimRng) -> Option<u32> {
        if pool.eligible.is_empty() {
            return None;
        }
        let backends = &pool.backends;
        for &m in &self.members {
            let b = &backends[m as usize];
            if b.inflight < slots(b.max_conn) {
                return Some(m);
            }
        }
        // All full: the least full by inflight / slots (first index on ties).
        let (&first, rest) = self.members.split_first()?;
        let mut best = first;
        let b0 = &backends[first as usize];
        let (mut best_load, mut best_slots) = (u64::from(b0.inflight), u64::from(slots(b0.max_conn)));
        for &m in rest {
            let b = &backends[m as usize];
            let (load, cap) = (u64::from(b.inflight), u64::from(slots(b.max_conn)));
            if load * best_slots < best_load * cap {
                best = m;
                best_load = load;
                best_slots = cap;
            }
        }
        Some(best)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balancer::test_pool as pool;
    use crate::rng::stream;

    fn limited(weights: &[u32], max_conn: &[u32]) -> Pool {
        let mut p = pool(weights);
        for (b, &m) in p.backends.iter_mut().zip(max_conn) {
            b.max_conn = m;
        }
        p
    }

    #[test]
    fn fills_servers_in_index_order() {
        let mut p = limited(&[1, 5, 1], &[2, 3, 2]);
        let mut a = First::new();
        a.rebuild(&p);
        let mut rng = stream(0, "test", "first");
        let mut seq = Vec::new();
        for _ in 0..7 {
            let b = a.pick(&p, 0, &mut rng).unwrap();
            p.backends[b as usize].inflight += 1;
            seq.push(b);
        }
        // Weights are ignored: 0 fills first, then 1, then 2.
        assert_eq!(seq, vec![0, 0, 1, 1, 1, 2, 2]);
        // Slots free on 1 and 2 while 0 stays full: 1 comes first.
        p.backends[1].inflight -= 1;
        p.backends[2].inflight -= 1;
        assert_eq!(a.pick(&p, 0, &mut rng), Some(1));
        // A slot frees on 0 too: 0 comes before both.
        p.backends[0].inflight -= 1;
        assert_eq!(a.pick(&p, 0, &mut rng), Some(0));
    }

    #[test]
    fn skips_weight_zero_and_unavailable() {
        let mut p = limited(&[0, 1, 1], &[10, 10, 10]);
        p.backends[1].available = false;
        p.refresh();
        let mut a = First::new();
        a.rebuild(&p);
        let mut rng = stream(0, "test", "first");
        assert_eq!(a.pick(&p, 0, &mut rng), Some(2));
    }

    #[test]
    fn all_full_falls_back_to_least_full_ratio() {
        let mut p = limited(&[1, 1, 1], &[2, 4, 4]);
        p.backends[0].inflight = 3; // 1.5
        p.backends[1].inflight = 5; // 1.25
        p.backends[2].inflight = 6; // 1.5
        let mut a = First::new();
        a.rebuild(&p);
        let mut rng = stream(0, "test", "first");
        assert_eq!(a.pick(&p, 0, &mut rng), Some(1));
        // Ties go to the lowest index.
        p.backends[1].inflight = 6;
        assert_eq!(a.pick(&p, 0, &mut rng), Some(0));
    }

    #[test]
    fn zero_max_conn_means_unlimited() {
        let mut p = limited(&[1, 1], &[0, 1]);
        p.backends[0].inflight = 1_000_000;
        let mut a = First::new();
        a.rebuild(&p);
        let mut rng = stream(0, "test", "first");
        assert_eq!(a.pick(&p, 0, &mut rng), Some(0));
    }
}

//! Per-user outcomes: which distinct users were served, slowed or failed.
//!
//! The postmortems count users, not requests ("46% of users affected"), so
//! every request carries a user id and each user keeps a few flag bits.
//! Memory is proportional to the user population, never to the requests.

/// Bits kept per user.
pub const ACTIVE: u8 = 1;
pub const SERVED: u8 = 2;
pub const SLOWED: u8 = 4;
pub const FAILED: u8 = 8;

/// Flags for every user of every client group, indexed by a global user id
/// (the group's offset plus the user's index within the group).
#[derive(Clone, Debug)]
pub struct UserTracker {
    flags: Vec<u8>,
    /// Interval number (plus one) in which the user last failed; tells the
    /// series how many distinct users failed in each interval.
    last_failed_interval: Vec<u32>,
    /// Offset of each client group's users in the flat vectors.
    pub group_offset: Vec<u64>,
}

/// Counts of users by outcome.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UserCounts {
    pub total: u64,
    pub active: u64,
    /// Saw at least one failure or timeout.
    pub failed: u64,
    /// Every response they got was a success but at least one was slow.
    pub slowed_only: u64,
    /// Only fast successes.
    pub served_normally: u64,
}

impl UserTracker {
    pub fn new(group_sizes: &[u64]) -> UserTracker {
        let mut group_offset = Vec::with_capacity(group_sizes.len());
        let mut total = 0u64;
        for &n in group_sizes {
            group_offset.push(total);
            total += n;
        }
        UserTracker { flags: vec![0; total as usize], last_failed_interval: vec![0; total as usize], group_offset }
    }

    #[inline]
    pub fn global_id(&self, group: u32, user: u32) -> usize {
        (self.group_offset[group as usize] + u64::from(user)) as usize
    }

    #[inline]
    pub fn mark(&mut self, id: usize, bits: u8) {
        self.flags[id] |= bits;
    }

    /// Records a failure in interval `interval`; returns true when it is the
    /// user's first failure in that interval.
    #[inline]
    pub fn fail_in_interval(&mut self, id: usize, interval: u32) -> bool {
        let tag = interval + 1;
        if self.last_failed_interval[id] == tag {
            false
        } else {
            self.last_failed_interval[id] = tag;
            true
        }
    }

    pub fn counts(&self) -> UserCounts {
        let mut c = UserCounts { total: self.flags.len() as u64, ..UserCounts::default() };
        for &f in &self.flags {
            if f & ACTIVE == 0 {
                continue;
            }
            c.active += 1;
            if f & FAILED != 0 {
                c.failed += 1;
            } else if f & SLOWED != 0 {
                c.slowed_only += 1;
            } else {
                c.served_normally += 1;
            }
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_partition_active_users() {
        let mut t = UserTracker::new(&[3, 2]);
        let a = t.global_id(0, 0);
        let b = t.global_id(0, 2);
        let c = t.global_id(1, 1);
        assert_eq!(c, 4);
        t.mark(a, ACTIVE | SERVED);
        t.mark(b, ACTIVE | SERVED | SLOWED);
        t.mark(c, ACTIVE | SLOWED | FAILED);
        let n = t.counts();
        assert_eq!(n.total, 5);
        assert_eq!(n.active, 3);
        assert_eq!((n.failed, n.slowed_only, n.served_normally), (1, 1, 1));
        assert_eq!(n.failed + n.slowed_only + n.served_normally, n.active);
    }

    #[test]
    fn interval_failures_count_each_user_once() {
        let mut t = UserTracker::new(&[2]);
        assert!(t.fail_in_interval(0, 0));
        assert!(!t.fail_in_interval(0, 0));
        assert!(t.fail_in_interval(0, 1));
        assert!(t.fail_in_interval(1, 1));
    }
}

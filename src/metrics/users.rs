//! Per-user outcomes: which distinct users were served normally, slowed,
//! failed at least once, or could not use the service at all.
//!
//! The postmortems count users, not requests ("90% of users could not reach
//! the service, 10% saw slowdowns"), so every request carries a user id and
//! each user keeps a few flag bits per reporting window. Memory is
//! proportional to the user population, never to the requests.

/// Bits kept per user and window.
pub const ACTIVE: u8 = 1;
pub const SERVED: u8 = 2;
pub const SLOWED: u8 = 4;
pub const FAILED: u8 = 8;

/// Flags for every user of every client group in one window, indexed by a
/// global user id (the group's offset plus the user's index within it).
#[derive(Clone, Debug)]
pub struct UserFlags {
    flags: Vec<u8>,
}

/// Users by outcome. `unable + failed_some + slowed + normal + pending = active`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UserCounts {
    pub total: u64,
    /// Sent at least one request.
    pub active: u64,
    /// Every request they got an answer to failed: they could not use the service.
    pub unable: u64,
    /// Failed at least once but also served at least once.
    pub failed_some: u64,
    /// Never failed; at least one response slower than the threshold.
    pub slowed: u64,
    /// Only fast successes.
    pub normal: u64,
    /// Sent requests but had no answer yet when the run ended.
    pub pending: u64,
}

impl UserCounts {
    /// Failed at least once (unable or not).
    pub fn affected(&self) -> u64 {
        self.unable + self.failed_some
    }

    pub fn pct(&self, n: u64) -> f64 {
        if self.active == 0 { 0.0 } else { 100.0 * n as f64 / self.active as f64 }
    }
}

impl UserFlags {
    pub fn new(total: usize) -> UserFlags {
        UserFlags { flags: vec![0; total] }
    }

    /// Sets `bits` for user `id`; returns the bits it had before.
    #[inline]
    pub fn mark(&mut self, id: usize, bits: u8) -> u8 {
        let old = self.flags[id];
        self.flags[id] = old | bits;
        old
    }

    /// `mark` without the bounds check.
    ///
    /// # Safety
    /// `id` is below the number of users the flags were made for.
    #[inline(always)]
    pub unsafe fn mark_unchecked(&mut self, id: usize, bits: u8) -> u8 {
        // SAFETY: the caller's promise.
        let f = unsafe { self.flags.get_unchecked_mut(id) };
        let old = *f;
        *f = old | bits;
        old
    }

    pub fn counts(&self) -> UserCounts {
        self.counts_of(0..self.flags.len(), |_| true)
    }

    /// Counts over the users with global ids in `ids` that `keep` accepts.
    pub fn counts_of(&self, ids: std::ops::Range<usize>, keep: impl Fn(usize) -> bool) -> UserCounts {
        let mut c = UserCounts::default();
        for id in ids {
            if !keep(id) {
                continue;
            }
            c.total += 1;
            let f = self.flags[id];
            if f & ACTIVE == 0 {
                continue;
            }
            c.active += 1;
            match (f & SERVED != 0, f & FAILED != 0, f & SLOWED != 0) {
                (false, true, _) => c.unable += 1,
                (true, true, _) => c.failed_some += 1,
                (true, false, true) => c.slowed += 1,
                (true, false, false) => c.normal += 1,
                (false, false, _) => c.pending += 1,
            }
        }
        c
    }
}

/// Global user ids and per-interval distinct-failure counting.
#[derive(Clone, Debug)]
pub struct UserIndex {
    /// Offset of each client group's users in the flat vectors.
    pub group_offset: Vec<u64>,
    pub total: usize,
    /// Interval number (plus one) in which the user last failed.
    last_failed_interval: Vec<u32>,
}

impl UserIndex {
    pub fn new(group_sizes: &[u64]) -> UserIndex {
        let mut group_offset = Vec::with_capacity(group_sizes.len());
        let mut total = 0u64;
        for &n in group_sizes {
            group_offset.push(total);
            // The recorder's per-request calls take global ids unchecked:
            // the numbering must not wrap.
            total = total.checked_add(n).expect("the number of users fits in 64 bits");
        }
        let total = usize::try_from(total).expect("the number of users fits in memory");
        UserIndex { group_offset, total, last_failed_interval: vec![0; total] }
    }

    #[inline]
    pub fn global_id(&self, group: u32, user: u32) -> usize {
        (self.group_offset[group as usize] + u64::from(user)) as usize
    }

    /// `global_id` without the bounds check.
    ///
    /// # Safety
    /// `group` is below the number of groups the index was made for.
    #[inline(always)]
    pub unsafe fn global_id_unchecked(&self, group: u32, user: u32) -> usize {
        // SAFETY: the caller's promise.
        (unsafe { *self.group_offset.get_unchecked(group as usize) } + u64::from(user)) as usize
    }

    /// Records a failure in interval `interval`; true when it is the user's
    /// first failure in that interval.
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_partition_active_users() {
        let idx = UserIndex::new(&[3, 3]);
        let mut t = UserFlags::new(idx.total);
        t.mark(idx.global_id(0, 0), ACTIVE | SERVED);
        t.mark(idx.global_id(0, 1), ACTIVE | SERVED | SLOWED);
        t.mark(idx.global_id(0, 2), ACTIVE | SERVED | FAILED);
        t.mark(idx.global_id(1, 0), ACTIVE | FAILED);
        t.mark(idx.global_id(1, 1), ACTIVE);
        assert_eq!(idx.global_id(1, 1), 4);
        let n = t.counts();
        assert_eq!(n.total, 6);
        assert_eq!(n.active, 5);
        assert_eq!((n.unable, n.failed_some, n.slowed, n.normal, n.pending), (1, 1, 1, 1, 1));
        assert_eq!(n.unable + n.failed_some + n.slowed + n.normal + n.pending, n.active);
        assert_eq!(n.affected(), 2);
        assert_eq!(n.pct(1), 20.0);
    }

    #[test]
    fn interval_failures_count_each_user_once() {
        let mut t = UserIndex::new(&[2]);
        assert!(t.fail_in_interval(0, 0));
        assert!(!t.fail_in_interval(0, 0));
        assert!(t.fail_in_interval(0, 1));
        assert!(t.fail_in_interval(1, 1));
    }

    /// The recorder's per-request calls index users by these numbers
    /// unchecked: sizes that would wrap them are refused.
    #[test]
    #[should_panic(expected = "fits in 64 bits")]
    fn user_numbering_that_would_wrap_is_refused() {
        UserIndex::new(&[u64::MAX, 1]);
    }
}

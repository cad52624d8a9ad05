//! The pending-event set: an implicit 4-ary min-heap keyed by
//! (time, insertion sequence).
//!
//! Ties in time resolve by insertion order, so a run is the same on every
//! machine. A 4-ary heap does about half the levels of a binary heap and its
//! four children share a cache line or two, which measured faster than
//! `std::collections::BinaryHeap` for the simulator's event mix.

use crate::time::SimTime;

#[derive(Copy, Clone, Debug)]
struct Entry<E> {
    time: u64,
    seq: u64,
    event: E,
}

impl<E> Entry<E> {
    #[inline]
    fn before(&self, other: &Entry<E>) -> bool {
        (self.time, self.seq) < (other.time, other.seq)
    }
}

/// Events of type `E` waiting for their time.
#[derive(Clone, Debug)]
pub(crate) struct EventQueue<E: Copy> {
    heap: Vec<Entry<E>>,
    next_seq: u64,
}

impl<E: Copy> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

const ARITY: usize = 4;

impl<E: Copy> EventQueue<E> {
    pub(crate) fn new() -> Self {
        EventQueue { heap: Vec::with_capacity(1024), next_seq: 0 }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Time of the earliest pending event.
    #[inline]
    pub(crate) fn peek_time(&self) -> Option<SimTime> {
        self.heap.first().map(|e| SimTime(e.time))
    }

    /// Schedules `event` at `time`; among equal times, earlier pushes pop first.
    #[inline(always)]
    pub(crate) fn push(&mut self, time: SimTime, event: E) {
        let entry = Entry { time: time.0, seq: self.next_seq, event };
        self.next_seq += 1;
        self.heap.push(entry);
        self.sift_up(self.heap.len() - 1);
    }

    /// Removes and returns the earliest event.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<(SimTime, E)> {
        let last = self.heap.pop()?;
        if self.heap.is_empty() {
            return Some((SimTime(last.time), last.event));
        }
        let top = std::mem::replace(&mut self.heap[0], last);
        self.sift_down(0);
        Some((SimTime(top.time), top.event))
    }

    #[inline(always)]
    fn sift_up(&mut self, mut i: usize) {
        let item = self.heap[i];
        while i > 0 {
            let parent = (i - 1) / ARITY;
            if item.before(&self.heap[parent]) {
                self.heap[i] = self.heap[parent];
                i = parent;
            } else {
                break;
            }
        }
        self.heap[i] = item;
    }

    #[inline]
    fn sift_down(&mut self, mut i: usize) {
        let len = self.heap.len();
        let item = self.heap[i];
        loop {
            let first = i * ARITY + 1;
            if first >= len {
                break;
            }
            let end = (first + ARITY).min(len);
            let mut best = first;
            for c in first + 1..end {
                if self.heap[c].before(&self.heap[best]) {
                    best = c;
                }
            }
            if self.heap[best].before(&item) {
                self.heap[i] = self.heap[best];
                i = best;
            } else {
                break;
            }
        }
        self.heap[i] = item;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn pops_in_time_order_with_fifo_ties() {
        let mut q = EventQueue::new();
        q.push(SimTime(5), 'a');
        q.push(SimTime(1), 'b');
        q.push(SimTime(5), 'c');
        q.push(SimTime(3), 'd');
        q.push(SimTime(1), 'e');
        let order: String = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, "bedac");
        assert!(q.is_empty());
    }

    proptest! {
        #[test]
        fn matches_a_stable_sort(times in proptest::collection::vec(0u64..50, 0..300)) {
            let mut q = EventQueue::new();
            for (i, &t) in times.iter().enumerate() {
                q.push(SimTime(t), i);
            }
            let mut expected: Vec<(u64, usize)> = times.iter().copied().zip(0..).collect();
            expected.sort();
            let got: Vec<(u64, usize)> = std::iter::from_fn(|| q.pop().map(|(t, e)| (t.0, e))).collect();
            prop_assert_eq!(got, expected);
        }

        #[test]
        fn interleaved_push_pop_never_goes_back_in_time(ops in proptest::collection::vec((0u64..20, any::<bool>()), 0..400)) {
            let mut q = EventQueue::new();
            let mut now = 0u64;
            for (dt, pop) in ops {
                if pop {
                    if let Some((t, _)) = q.pop() {
                        prop_assert!(t.0 >= now);
                        now = t.0;
                    }
                } else {
                    q.push(SimTime(now + dt), ());
                }
            }
        }
    }
}

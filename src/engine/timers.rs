//! FIFO timer lists.
//!
//! Timers of one constant length (a client group's timeout, say) expire in
//! the order they were started, so they can wait in a plain queue with only
//! the head represented in the event set: starting a timer is a push, and a
//! timer whose request already finished is dropped when it reaches the head.
//! This keeps a timeout per request from doubling the work of the heap.
//! When the head's event fires, the caller also drops every timer whose
//! request has finished, due or not, so the next event is for a request
//! still waiting: in steady state one event serves a whole timeout period.

use super::ring::Ring;
use crate::time::SimTime;

/// One list of (deadline, payload) in non-decreasing deadline order.
#[derive(Clone, Debug, Default)]
pub(crate) struct FifoTimers<T: Copy> {
    /// A ring rather than a `VecDeque`, whose `push_back` the compiler
    /// does not inline into the request path.
    items: Ring<(SimTime, T)>,
}

impl<T: Copy> FifoTimers<T> {
    pub(crate) fn new() -> Self {
        FifoTimers { items: Ring::new() }
    }

    /// Adds a timer. Returns true when the list was empty, i.e. when the
    /// caller must schedule an event for this (new head) deadline.
    ///
    /// Deadlines must not decrease; with a constant length and a clock that
    /// only moves forward, they never do.
    #[inline]
    pub(crate) fn push(&mut self, deadline: SimTime, payload: T) -> bool {
        debug_assert!(self.items.back().is_none_or(|(d, _)| d <= deadline));
        self.items.push_back((deadline, payload));
        self.items.len() == 1
    }

    /// Removes and returns the head if its deadline is at or before `now`.
    #[inline]
    #[cfg(test)]
    pub(crate) fn pop_due(&mut self, now: SimTime) -> Option<T> {
        match self.items.front() {
            Some((d, _)) if d <= now => self.items.pop_front().map(|(_, p)| p),
            _ => None,
        }
    }

    /// Deadline of the head, to schedule the next event for.
    pub(crate) fn next_deadline(&self) -> Option<SimTime> {
        self.items.front().map(|(d, _)| d)
    }

    /// The head, without removing it.
    #[inline]
    pub(crate) fn front(&self) -> Option<(SimTime, T)> {
        self.items.front()
    }

    /// Removes the head.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<T> {
        self.items.pop_front().map(|(_, p)| p)
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.items.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_timers_come_out_in_order_and_report_new_heads() {
        let mut t = FifoTimers::new();
        assert!(t.push(SimTime(10), 1));
        assert!(!t.push(SimTime(10), 2));
        assert!(!t.push(SimTime(15), 3));
        assert_eq!(t.pop_due(SimTime(9)), None);
        assert_eq!(t.pop_due(SimTime(10)), Some(1));
        assert_eq!(t.pop_due(SimTime(10)), Some(2));
        assert_eq!(t.pop_due(SimTime(10)), None);
        assert_eq!(t.next_deadline(), Some(SimTime(15)));
        assert_eq!(t.pop_due(SimTime(20)), Some(3));
        assert!(t.is_empty());
    }
}

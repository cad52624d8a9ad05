//! The pending-event set: an implicit 4-ary min-heap keyed by
//! (time, insertion sequence), with two shortcuts that keep a simulation's
//! commonest patterns off the heap.
//!
//! Ties in time resolve by insertion order, so a run is the same on every
//! machine. The key packs time and sequence into one `u128` (time in the high
//! half), so ordering is a single wide comparison. A 4-ary heap does about
//! half the levels of a binary heap and its four children share a cache line
//! or two.
//!
//! The shortcuts change the cost of operations, never the order in which
//! events come out (keys are unique, so the order is the keys' order
//! whatever the layout):
//!
//! - **Deferred pop.** `pop` hands out the root but leaves its slot as a
//!   hole; the handler's next `push` drops into the hole and sifts down once,
//!   instead of a sift-down to remove the root and a sift-up to insert. A
//!   server finishing one request and starting the next costs one sift.
//! - **Side slot.** `push_side` puts an event in a one-entry slot beside the
//!   heap when it is free (else in the heap). `pop` takes the smaller of the
//!   slot and the root. A generator that schedules its next firing from its
//!   current one (an open-loop client's arrivals) then never touches the heap.

use crate::time::SimTime;

#[derive(Copy, Clone, Debug)]
struct Entry<E> {
    /// `time << 64 | seq`.
    key: u128,
    event: E,
}

/// An empty side slot's key: later than any real event (whose sequence
/// number never reaches `u64::MAX`).
const EMPTY: u128 = u128::MAX;

#[inline(always)]
fn key(time: SimTime, seq: u64) -> u128 {
    (u128::from(time.0) << 64) | u128::from(seq)
}

#[inline(always)]
fn time_of(key: u128) -> SimTime {
    SimTime((key >> 64) as u64)
}

/// Events of type `E` waiting for their time.
#[derive(Clone, Debug)]
pub(crate) struct EventQueue<E: Copy> {
    /// The heap's entries, then `PAD` sentinels (key `EMPTY`): a node
    /// with any child then has all `ARITY` child slots in the vector, so
    /// sift-down compares four slots without checking how many exist (a
    /// sentinel never wins), and the root slot is always there.
    heap: Vec<Entry<E>>,
    /// `heap[0]` was handed out by `pop` and awaits its replacement.
    hole: bool,
    /// The side slot; its key is `EMPTY` when free.
    side: Entry<E>,
    next_seq: u64,
}

const ARITY: usize = 4;
/// Sentinels after the last entry: the last parent's children reach at
/// most `ARITY - 1` slots past it.
const PAD: usize = ARITY - 1;

impl<E: Copy + Default> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Copy + Default> EventQueue<E> {
    pub(crate) fn new() -> Self {
        let mut heap = Vec::with_capacity(1024);
        heap.resize(PAD, Entry { key: EMPTY, event: E::default() });
        EventQueue { heap, hole: false, side: Entry { key: EMPTY, event: E::default() }, next_seq: 0 }
    }
}

impl<E: Copy> EventQueue<E> {
    /// Entries in the heap (the sentinels follow them).
    #[inline(always)]
    fn len(&self) -> usize {
        self.heap.len() - PAD
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == usize::from(self.hole) && self.side.key == EMPTY
    }

    /// Time of the earliest pending event.
    #[cfg(test)]
    pub(crate) fn peek_time(&mut self) -> Option<SimTime> {
        self.fill_hole();
        let k = self.heap[0].key.min(self.side.key);
        (k != EMPTY).then(|| time_of(k))
    }

    #[inline(always)]
    fn next_key(&mut self, time: SimTime) -> u128 {
        let k = key(time, self.next_seq);
        self.next_seq += 1;
        k
    }

    /// Schedules `event` at `time`; among equal times, earlier pushes pop first.
    #[inline(always)]
    pub(crate) fn push(&mut self, time: SimTime, event: E) {
        let entry = Entry { key: self.next_key(time), event };
        self.insert(entry);
    }

    /// Schedules `event` at `time` like `push`, in the side slot if it is
    /// free. For the one event stream that recurs the most.
    #[inline(always)]
    pub(crate) fn push_side(&mut self, time: SimTime, event: E) {
        let entry = Entry { key: self.next_key(time), event };
        if self.side.key == EMPTY {
            self.side = entry;
        } else {
            self.insert(entry);
        }
    }

    #[inline(always)]
    fn insert(&mut self, entry: Entry<E>) {
        if self.hole {
            self.hole = false;
            *self.root_mut() = entry;
            self.sift_down(0);
        } else {
            // The first sentinel becomes the entry; a new one goes last.
            let n = self.len();
            self.heap[n] = entry;
            self.heap.push(Entry { key: EMPTY, event: entry.event });
            self.sift_up(n);
        }
    }

    /// Removes and returns the earliest event.
    #[cfg(test)]
    pub(crate) fn pop(&mut self) -> Option<(SimTime, E)> {
        self.take_below(EMPTY)
    }

    /// Removes and returns the earliest event if it is due before `end`;
    /// otherwise leaves it pending.
    #[inline(always)]
    pub(crate) fn pop_before(&mut self, end: SimTime) -> Option<(SimTime, E)> {
        self.take_below(key(end, 0))
    }

    /// The earliest event if its key is below `limit`.
    #[inline(always)]
    fn take_below(&mut self, limit: u128) -> Option<(SimTime, E)> {
        self.fill_hole();
        // An empty heap's root slot is a sentinel.
        let root = self.root().key;
        if self.side.key < root {
            if self.side.key >= limit {
                return None;
            }
            let e = self.side;
            self.side.key = EMPTY;
            return Some((time_of(e.key), e.event));
        }
        if root >= limit {
            return None;
        }
        // `root < limit <= EMPTY`: the heap has a root.
        let e = *self.root();
        self.hole = true;
        Some((time_of(e.key), e.event))
    }

    /// Removes the handed-out root for good (nothing replaced it).
    #[inline(always)]
    fn fill_hole(&mut self) {
        if self.hole {
            self.hole = false;
            // The last entry's slot becomes the first sentinel.
            let n = self.len() - 1;
            let last = self.heap[n];
            self.heap[n].key = EMPTY;
            self.heap.pop();
            if n > 0 {
                *self.root_mut() = last;
                self.sift_down(0);
            }
        }
    }

    #[inline(always)]
    fn sift_up(&mut self, mut i: usize) {
        let heap = &mut self.heap[..];
        let item = heap[i];
        while i > 0 {
            let parent = (i - 1) / ARITY;
            let p = heap[parent];
            if item.key < p.key {
                heap[i] = p;
                i = parent;
            } else {
                break;
            }
        }
        heap[i] = item;
    }

    /// Moves `heap[i]` down to its place.
    #[inline(always)]
    fn sift_down(&mut self, mut i: usize) {
        let heap = &mut self.heap[..];
        debug_assert!(i < heap.len());
        // SAFETY (this function's three unchecked accesses): `i` starts in
        // bounds (callers pass 0, and the heap always holds its `PAD >= 1`
        // sentinels), and afterwards is always `first + j` for a chunk
        // `heap[first..first + ARITY]` that `get` found in bounds, `j <
        // ARITY`. Why unchecked: this loop runs once or twice per simulated
        // request, and its bounds checks cost 4.9 instructions per request
        // on the reference (callgrind, README "Speed").
        let item = *unsafe { heap.get_unchecked(i) };
        loop {
            let first = i * ARITY + 1;
            // All child slots exist exactly when the first child is an
            // entry (`first < len`, the sentinels follow).
            let Some(c) = heap.get(first..).and_then(|s| s.first_chunk::<ARITY>()) else { break };
            // A two-round tournament.
            let a = usize::from(c[1].key < c[0].key);
            let b = 2 + usize::from(c[3].key < c[2].key);
            let j = if c[b].key < c[a].key { b } else { a };
            let child = c[j];
            if child.key >= item.key {
                break;
            }
            *unsafe { heap.get_unchecked_mut(i) } = child;
            i = first + j;
        }
        *unsafe { heap.get_unchecked_mut(i) } = item;
    }

    /// The root slot: the earliest entry, or a sentinel when the heap is
    /// empty.
    #[inline(always)]
    fn root(&self) -> &Entry<E> {
        debug_assert!(self.heap.len() >= PAD);
        // SAFETY: the heap always holds its `PAD >= 1` sentinels (`new`
        // puts them in, `insert` pushes one for each entry it adds and
        // `fill_hole` pops one for each it takes out), so slot 0 exists.
        // Read on every event; the check cost 2 instructions per request.
        unsafe { self.heap.get_unchecked(0) }
    }

    #[inline(always)]
    fn root_mut(&mut self) -> &mut Entry<E> {
        debug_assert!(self.heap.len() >= PAD);
        // SAFETY: as in `root`.
        unsafe { self.heap.get_unchecked_mut(0) }
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

    /// Events at the last representable time are real events, not the
    /// sentinels padding the heap: they pop (in push order) and count.
    #[test]
    fn events_at_the_end_of_time_are_not_sentinels() {
        let mut q = EventQueue::new();
        q.push(SimTime(u64::MAX), 'a');
        q.push_side(SimTime(u64::MAX), 'b');
        for (i, c) in ('c'..='h').enumerate() {
            q.push(SimTime(i as u64), c);
        }
        q.push(SimTime(u64::MAX), 'i');
        let due: String = std::iter::from_fn(|| q.pop_before(SimTime::MAX).map(|(_, e)| e)).collect();
        assert_eq!(due, "cdefgh");
        assert!(!q.is_empty());
        assert_eq!(q.peek_time(), Some(SimTime(u64::MAX)));
        let rest: String = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(rest, "abi");
        assert!(q.is_empty());
        assert_eq!(q.peek_time(), None);
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

        /// Pops, side-slot pushes and plain pushes in any mix give exactly
        /// what an ordered set of (time, push order) gives.
        #[test]
        fn any_mix_pops_in_key_order(ops in proptest::collection::vec((0u64..30, 0u8..4), 0..400)) {
            let mut q = EventQueue::new();
            let mut model = std::collections::BTreeSet::new();
            let (mut now, mut n) = (0u64, 0usize);
            for (dt, op) in ops {
                match op {
                    0 => {
                        let got = q.pop().map(|(t, e)| (t.0, e));
                        let want = model.pop_first();
                        prop_assert_eq!(got, want);
                        if let Some((t, _)) = got {
                            now = t;
                        }
                    }
                    3 => {
                        prop_assert_eq!(q.peek_time().map(|t| t.0), model.first().map(|&(t, _)| t));
                    }
                    kind => {
                        if kind == 1 {
                            q.push(SimTime(now + dt), n);
                        } else {
                            q.push_side(SimTime(now + dt), n);
                        }
                        model.insert((now + dt, n));
                        n += 1;
                    }
                }
                prop_assert_eq!(q.is_empty(), model.is_empty());
            }
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

//! A FIFO of `Copy` items in a power-of-two ring: what a server's waiting
//! queue needs and no more. It starts without a buffer (a million idle
//! servers allocate nothing) and doubles when full, so its memory stays
//! within twice the peak number waiting. Push and pop are a mask and a
//! store or load; growing is kept out of line.

/// A FIFO queue of `T`.
#[derive(Clone, Debug)]
pub(crate) struct Ring<T: Copy> {
    /// Capacity is zero or a power of two.
    buf: Box<[T]>,
    /// Slot of the front item.
    head: usize,
    len: usize,
}

impl<T: Copy> Default for Ring<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Copy> Ring<T> {
    pub(crate) fn new() -> Self {
        Ring { buf: Box::default(), head: 0, len: 0 }
    }

    #[inline(always)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Appends `item` at the back.
    #[inline(always)]
    pub(crate) fn push_back(&mut self, item: T) {
        if self.len == self.buf.len() {
            self.grow(item);
        }
        let mask = self.buf.len() - 1;
        let slot = (self.head + self.len) & mask;
        debug_assert!(slot < self.buf.len());
        // SAFETY: `buf` is not empty (`grow` made room), its length is a
        // power of two, so `slot`, masked by `len - 1`, is in bounds. Why
        // unchecked: a server queues most requests at high load, and the
        // check costs about 2 instructions per request (README "Speed").
        *unsafe { self.buf.get_unchecked_mut(slot) } = item;
        self.len += 1;
    }

    /// Removes the front item.
    #[inline(always)]
    pub(crate) fn pop_front(&mut self) -> Option<T> {
        if self.len == 0 {
            return None;
        }
        debug_assert!(self.head < self.buf.len());
        // SAFETY: an item is held, so `buf` is not empty, and `head` is
        // always masked by `buf.len() - 1` (or 0 from `grow`): in bounds.
        // Unchecked for the reason `push_back` gives.
        let item = *unsafe { self.buf.get_unchecked(self.head) };
        self.head = (self.head + 1) & (self.buf.len() - 1);
        self.len -= 1;
        Some(item)
    }

    /// The front item.
    #[inline(always)]
    pub(crate) fn front(&self) -> Option<T> {
        if self.len == 0 {
            return None;
        }
        debug_assert!(self.head < self.buf.len());
        // SAFETY: as in `pop_front`. Unchecked for the timer lists, whose
        // head is read once per request.
        Some(*unsafe { self.buf.get_unchecked(self.head) })
    }

    /// The back item.
    pub(crate) fn back(&self) -> Option<T> {
        if self.len == 0 { None } else { Some(self.buf[(self.head + self.len - 1) & (self.buf.len() - 1)]) }
    }

    /// Removes every item, front first.
    pub(crate) fn take_all(&mut self) -> Vec<T> {
        let all = self.iter().collect();
        self.head = 0;
        self.len = 0;
        all
    }

    fn iter(&self) -> impl Iterator<Item = T> + '_ {
        let mask = self.buf.len().wrapping_sub(1);
        (0..self.len).map(move |k| self.buf[(self.head + k) & mask])
    }

    /// Doubles the buffer (4 slots the first time), items front first;
    /// `fill` pads the free slots.
    #[cold]
    #[inline(never)]
    fn grow(&mut self, fill: T) {
        let cap = (self.buf.len() * 2).max(4);
        let mut buf = Vec::with_capacity(cap);
        buf.extend(self.iter());
        buf.resize(cap, fill);
        self.buf = buf.into_boxed_slice();
        self.head = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::VecDeque;

    #[test]
    fn starts_without_a_buffer_and_keeps_order_across_the_wrap() {
        let mut r = Ring::new();
        assert_eq!(r.buf.len(), 0);
        assert_eq!(r.pop_front(), None);
        for i in 0..3 {
            r.push_back(i);
        }
        assert_eq!(r.pop_front(), Some(0));
        assert_eq!(r.pop_front(), Some(1));
        // Wraps around the 4-slot buffer, then grows while wrapped.
        for i in 3..9 {
            r.push_back(i);
        }
        assert_eq!(r.buf.len(), 8);
        assert_eq!(r.len(), 7);
        assert_eq!(r.take_all(), vec![2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(r.len(), 0);
        assert_eq!(r.pop_front(), None);
    }

    proptest! {
        /// Any mix of pushes, pops and take-alls gives what a `VecDeque`
        /// gives (front and back included), and the buffer stays within
        /// twice the peak length.
        #[test]
        fn behaves_like_a_vecdeque(ops in proptest::collection::vec(0u8..10, 0..500)) {
            let mut r = Ring::new();
            let mut model = VecDeque::new();
            let (mut n, mut peak) = (0u32, 0usize);
            for op in ops {
                match op {
                    0..=4 => {
                        r.push_back(n);
                        model.push_back(n);
                        n += 1;
                    }
                    5..=8 => prop_assert_eq!(r.pop_front(), model.pop_front()),
                    _ => prop_assert_eq!(r.take_all(), model.drain(..).collect::<Vec<_>>()),
                }
                prop_assert_eq!(r.len(), model.len());
                prop_assert_eq!(r.front(), model.front().copied());
                prop_assert_eq!(r.back(), model.back().copied());
                peak = peak.max(model.len());
                prop_assert!(r.buf.len() <= (2 * peak).max(4));
            }
        }
    }
}

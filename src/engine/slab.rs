//! A slab: items in a flat vector, reused through a free list, addressed by
//! (index, generation) handles. A handle outlives its item safely: once the
//! slot is reused the generation differs, so a late timeout for a request
//! that already completed is recognised and dropped in O(1).
//!
//! A slot's generation is even while it holds an item and odd while it is
//! free (insert and remove each add one), and handles carry even
//! generations: one comparison tells a live item from a stale handle.

/// Address of an item in a [`Slab`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Handle {
    pub index: u32,
    pub generation: u32,
}

#[derive(Clone, Debug)]
struct Slot<T> {
    /// Even: holds `item`; odd: free.
    generation: u32,
    item: T,
}

/// Live items of type `T`; memory is bounded by the peak number alive.
#[derive(Clone, Debug)]
pub(crate) struct Slab<T> {
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
    live: usize,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Slab<T> {
    pub(crate) fn new() -> Self {
        Slab { slots: Vec::new(), free: Vec::new(), live: 0 }
    }

    /// Number of live items.
    pub(crate) fn len(&self) -> usize {
        self.live
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Slots ever allocated (the high-water mark of live items).
    pub(crate) fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// The handle the next `insert` will return.
    #[inline]
    pub(crate) fn next_handle(&self) -> Handle {
        match self.free.last() {
            Some(&index) => {
                // SAFETY: a free index is a slot's (see `insert`). Read once
                // per request that arms a call timeout.
                let slot = unsafe { self.slots.get_unchecked(index as usize) };
                Handle { index, generation: slot.generation.wrapping_add(1) }
            }
            None => Handle { index: self.slots.len() as u32, generation: 0 },
        }
    }

    #[inline]
    pub(crate) fn insert(&mut self, item: T) -> Handle {
        self.live += 1;
        if let Some(index) = self.free.pop() {
            // SAFETY: only `remove` adds to `free`, and only the index of a
            // slot it found; slots are never taken away. Why unchecked: an
            // insert per simulated request (README "Speed").
            let slot = unsafe { self.slots.get_unchecked_mut(index as usize) };
            slot.generation = slot.generation.wrapping_add(1);
            slot.item = item;
            Handle { index, generation: slot.generation }
        } else {
            let index = self.slots.len() as u32;
            self.slots.push(Slot { generation: 0, item });
            Handle { index, generation: 0 }
        }
    }

    #[inline]
    pub(crate) fn get(&self, h: Handle) -> Option<&T> {
        match self.slots.get(h.index as usize) {
            Some(s) if s.generation == h.generation => Some(&s.item),
            _ => None,
        }
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, h: Handle) -> Option<&mut T> {
        match self.slots.get_mut(h.index as usize) {
            Some(s) if s.generation == h.generation => Some(&mut s.item),
            _ => None,
        }
    }

    /// Frees the item; its handle (and every copy) stops resolving.
    #[inline]
    pub(crate) fn remove(&mut self, h: Handle) -> bool {
        match self.slots.get_mut(h.index as usize) {
            Some(s) if s.generation == h.generation => {
                s.generation = s.generation.wrapping_add(1);
                self.free.push(h.index);
                self.live -= 1;
                true
            }
            _ => false,
        }
    }

    /// Handles of all live items, in slot order.
    pub(crate) fn handles(&self) -> impl Iterator<Item = Handle> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.generation % 2 == 0)
            .map(|(i, s)| Handle { index: i as u32, generation: s.generation })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_handles_stop_resolving_after_reuse() {
        let mut s = Slab::new();
        let a = s.insert("a");
        assert_eq!(s.get(a), Some(&"a"));
        assert!(s.remove(a));
        assert!(!s.remove(a));
        assert_eq!(s.next_handle(), Handle { index: a.index, generation: a.generation + 2 });
        let b = s.insert("b");
        assert_eq!(b.index, a.index);
        assert_ne!(b.generation, a.generation);
        assert_eq!(s.get(a), None);
        assert_eq!(s.get(b), Some(&"b"));
        assert_eq!(s.len(), 1);
        assert_eq!(s.capacity(), 1);
    }

    #[test]
    fn memory_is_bounded_by_peak_live_items() {
        let mut s = Slab::new();
        for i in 0..10_000 {
            let h = s.insert(i);
            s.remove(h);
        }
        assert_eq!(s.capacity(), 1);
        let hs: Vec<Handle> = (0..3)
            .map(|i| {
                let next = s.next_handle();
                let h = s.insert(i);
                assert_eq!(h, next);
                h
            })
            .collect();
        assert_eq!(s.handles().count(), 3);
        assert_eq!(s.capacity(), 3);
        drop(hs);
    }
}

//! [`IdMap`]: a fixed-capacity open-addressing map from an order id to a `Copy` entry (linear
//! probing with Fibonacci hashing, backward-shift deletion, load factor ≤ 1/2), allocated once.
//! The simulated venue's L3 queue keeps its market orders in one (the MBO book has its own
//! 16-byte, run-hashed order map: `book::mbo`).

/// An entry of an [`IdMap`]: `Default` is the vacant slot.
pub trait IdEntry: Copy + Default {
    /// The key.
    fn id(&self) -> u64;
    /// True for a vacant slot (never for a stored entry).
    fn is_vacant(&self) -> bool;
}

/// Map from id to entry with room for `max` entries in `2·max` (rounded up to a power of two)
/// slots. Invariant: every stored entry is reachable from its home slot without crossing a
/// vacant slot, and at most `max` slots are occupied, so probes terminate.
#[derive(Clone, Debug)]
pub struct IdMap<T> {
    slots: Vec<T>,
    mask: usize,
    shift: u32,
    len: usize,
    max: usize,
}

impl<T: IdEntry> IdMap<T> {
    /// A map for at most `max_entries` (≥ 1) entries.
    pub fn new(max_entries: usize) -> Self {
        let max = max_entries.max(1);
        let cap = (max * 2).next_power_of_two().max(2);
        Self { slots: vec![T::default(); cap], mask: cap - 1, shift: 64 - cap.trailing_zeros(), len: 0, max }
    }

    #[inline]
    fn home(&self, id: u64) -> usize {
        // Fibonacci hashing: the top bits of id·2⁶⁴/φ.
        (id.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }

    /// Entries stored.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nothing is stored.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True when no entry can be inserted.
    #[inline]
    pub fn is_full(&self) -> bool {
        self.len >= self.max
    }

    /// Slot index holding `id`.
    #[inline]
    pub fn find(&self, id: u64) -> Option<usize> {
        let mut i = self.home(id);
        loop {
            let s = &self.slots[i];
            if s.is_vacant() {
                return None;
            }
            if s.id() == id {
                return Some(i);
            }
            i = (i + 1) & self.mask;
        }
    }

    /// Inserts an entry whose id is known to be absent; false when the map is full.
    #[inline]
    pub fn insert_new(&mut self, e: T) -> bool {
        if self.is_full() {
            return false;
        }
        let mut i = self.home(e.id());
        while !self.slots[i].is_vacant() {
            i = (i + 1) & self.mask;
        }
        self.slots[i] = e;
        self.len += 1;
        true
    }

    /// Removes the entry at slot `i`, shifting later members of its probe run back.
    #[inline]
    pub fn remove_at(&mut self, i: usize) {
        let mut hole = i;
        let mut j = (i + 1) & self.mask;
        while !self.slots[j].is_vacant() {
            let home = self.home(self.slots[j].id());
            // Move slot j into the hole when its home is not in (hole, j] (cyclically).
            if (j.wrapping_sub(home) & self.mask) >= (j.wrapping_sub(hole) & self.mask) {
                self.slots[hole] = self.slots[j];
                hole = j;
            }
            j = (j + 1) & self.mask;
        }
        self.slots[hole] = T::default();
        self.len -= 1;
    }

    /// Removes every entry.
    pub fn clear(&mut self) {
        if self.len > 0 {
            self.slots.fill(T::default());
            self.len = 0;
        }
    }
}

impl<T> std::ops::Index<usize> for IdMap<T> {
    type Output = T;
    #[inline]
    fn index(&self, i: usize) -> &T {
        &self.slots[i]
    }
}

impl<T> std::ops::IndexMut<usize> for IdMap<T> {
    #[inline]
    fn index_mut(&mut self, i: usize) -> &mut T {
        &mut self.slots[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy, Debug, Default, PartialEq)]
    struct E {
        id: u64,
        used: bool,
    }

    impl IdEntry for E {
        fn id(&self) -> u64 {
            self.id
        }
        fn is_vacant(&self) -> bool {
            !self.used
        }
    }

    #[test]
    fn insert_find_remove_and_full() {
        let mut m = IdMap::<E>::new(64);
        for id in 0..64u64 {
            assert!(m.insert_new(E { id: id * 7919, used: true }));
        }
        assert!(m.is_full() && !m.insert_new(E { id: 1, used: true }));
        for id in (0..64u64).step_by(2) {
            let i = m.find(id * 7919).unwrap_or(usize::MAX);
            m.remove_at(i);
        }
        assert_eq!(m.len(), 32);
        for id in 0..64u64 {
            assert_eq!(m.find(id * 7919).is_some(), id % 2 == 1, "id {id}");
        }
        m.clear();
        assert!(m.is_empty() && m.find(7919).is_none());
    }
}

//! A fixed-capacity, allocation-free vector of `Copy` values, for per-event output buffers
//! (stage outboxes, normalizer event buffers). Pushing beyond the capacity drops the value and
//! counts it, so a buffer sized too small shows up in counters instead of allocating.

/// Types with a constant placeholder value used to fill unused slots.
pub trait Blank: Copy {
    /// The placeholder (never observed through the vector's API).
    const BLANK: Self;
}

/// Up to `N` values of `T` inline; slots `len..N` hold stale values that are never read.
#[derive(Clone)]
pub struct FixedVec<T: Blank, const N: usize> {
    items: [T; N],
    len: usize,
    overflow: u64,
}

impl<T: Blank, const N: usize> Default for FixedVec<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Blank + std::fmt::Debug, const N: usize> std::fmt::Debug for FixedVec<T, N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

impl<T: Blank, const N: usize> FixedVec<T, N> {
    /// The capacity.
    pub const CAPACITY: usize = N;

    /// An empty vector.
    pub const fn new() -> Self {
        Self { items: [T::BLANK; N], len: 0, overflow: 0 }
    }

    /// Appends `v`; when full, drops it, counts it in [`FixedVec::overflow`] and returns false.
    #[inline]
    pub fn push(&mut self, v: T) -> bool {
        match self.items.get_mut(self.len) {
            Some(slot) => {
                *slot = v;
                self.len += 1;
                true
            }
            None => {
                self.overflow += 1;
                false
            }
        }
    }

    /// Number of values.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Removes every value (the overflow count is kept).
    #[inline]
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// The values, in push order.
    #[inline]
    pub fn as_slice(&self) -> &[T] {
        &self.items[..self.len]
    }

    /// The values, mutable.
    #[inline]
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        &mut self.items[..self.len]
    }

    /// The value at `i`, if any.
    #[inline]
    pub fn get(&self, i: usize) -> Option<T> {
        self.as_slice().get(i).copied()
    }

    /// Iterates over the values.
    #[inline]
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.as_slice().iter()
    }

    /// Values dropped because the vector was full.
    #[inline]
    pub fn overflow(&self) -> u64 {
        self.overflow
    }

    /// Appends a copy of the value at `i` (one whole-value copy) and returns the new last
    /// value to be edited in place; `None` (nothing appended) when `i` is not a value or the
    /// vector is full, which is counted in [`FixedVec::overflow`]. For a buffer whose first
    /// value is the template of the ones after it: the copy moves the whole value in a few
    /// wide moves and the caller writes only the fields that differ.
    #[inline]
    pub fn push_copy_of(&mut self, i: usize) -> Option<&mut T> {
        let len = self.len;
        if i >= len {
            return None;
        }
        let v = self.items[i];
        match self.items.get_mut(len) {
            Some(slot) => {
                *slot = v;
                self.len = len + 1;
                Some(slot)
            }
            None => {
                self.overflow += 1;
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Blank for u32 {
        const BLANK: u32 = 0;
    }

    #[test]
    fn bounded_push_counts_overflow() {
        let mut v = FixedVec::<u32, 3>::new();
        assert!(v.is_empty());
        assert!(v.push(1) && v.push(2) && v.push(3));
        assert!(!v.push(4));
        assert_eq!((v.len(), v.overflow(), v.as_slice()), (3, 1, &[1, 2, 3][..]));
        assert_eq!(v.get(2), Some(3));
        assert_eq!(v.get(3), None);
        v.as_mut_slice()[0] = 9;
        assert_eq!(v.iter().copied().collect::<Vec<_>>(), vec![9, 2, 3]);
        v.clear();
        assert!(v.is_empty() && v.overflow() == 1);
        assert_eq!(format!("{v:?}"), "[]");
    }

    /// A copy of an existing value is appended and can be edited in place; a missing source
    /// or a full vector appends nothing (the full case is counted as overflow).
    #[test]
    fn push_copy_of_appends_an_editable_copy() {
        let mut v = FixedVec::<u32, 3>::new();
        assert!(v.push_copy_of(0).is_none(), "no value to copy");
        assert!(v.push(4));
        *v.push_copy_of(0).unwrap() += 1;
        assert_eq!(v.push_copy_of(1).copied(), Some(5));
        assert!(v.push_copy_of(0).is_none(), "full");
        assert!(v.push_copy_of(3).is_none(), "beyond the values");
        assert_eq!((v.as_slice(), v.overflow()), (&[4, 5, 5][..], 1));
    }
}

//! [`Words`]: a fixed-size POD that encodes bit-exactly as `N` `u64` words, so it can cross
//! threads through atomic words (the runtime's seqlock cells) without `unsafe` and without
//! tearing.

/// A `Copy` value with a bit-exact encoding as `N` `u64` words.
///
/// Invariant: `T::from_words(&v.to_words())` is bit-identical to `v` for every `v`.
pub trait Words<const N: usize>: Copy {
    /// Encodes the value.
    fn to_words(&self) -> [u64; N];
    /// Decodes a value encoded by [`Words::to_words`].
    fn from_words(w: &[u64; N]) -> Self;
}

impl<const N: usize> Words<N> for [u64; N] {
    #[inline]
    fn to_words(&self) -> [u64; N] {
        *self
    }
    #[inline]
    fn from_words(w: &[u64; N]) -> Self {
        *w
    }
}

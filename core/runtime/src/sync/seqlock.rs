//! [`SeqCell`]: a single-writer, multi-reader seqlock carrying a [`Words`] value from a cold
//! thread to the hot path (gamma levels today; stage counters for monitoring and model
//! hot-swap tomorrow).
//!
//! The cell is a seqlock over two slots whose payload is stored as `AtomicU64` words, so no
//! read can race non-atomically with a write (no undefined behaviour, no `unsafe`). The writer
//! fills the slot that is *not* the latest, then publishes its index; a reader copies the latest
//! slot and validates it with the slot's sequence counter. Because the writer is always busy on
//! the other slot, a reader only has to retry if the writer has published twice during its
//! copy; reads never block and make a bounded number of attempts, falling back to the previous
//! complete snapshot.

use std::marker::PhantomData;
use std::sync::atomic::{fence, AtomicBool, AtomicU64, Ordering};

use mia_model::words::Words;

/// One seqlock-protected copy.
#[repr(align(64))]
struct Slot<const N: usize> {
    /// Even when stable, odd while being written.
    seq: AtomicU64,
    words: [AtomicU64; N],
}

impl<const N: usize> Slot<N> {
    fn new() -> Self {
        Slot { seq: AtomicU64::new(0), words: std::array::from_fn(|_| AtomicU64::new(0)) }
    }

    /// One validated read attempt.
    #[inline]
    fn try_read<T: Words<N>>(&self) -> Option<T> {
        let s1 = self.seq.load(Ordering::Acquire);
        if s1 & 1 == 1 {
            return None;
        }
        let mut w = [0u64; N];
        for (dst, src) in w.iter_mut().zip(&self.words) {
            *dst = src.load(Ordering::Relaxed);
        }
        // Orders the payload loads before the re-check of the sequence (seqlock reader side).
        fence(Ordering::Acquire);
        let s2 = self.seq.load(Ordering::Relaxed);
        (s1 == s2).then(|| T::from_words(&w))
    }
}

/// Single-writer, multi-reader lock-free cell holding the latest `T` (encoded as `N` words).
pub struct SeqCell<T: Words<N>, const N: usize> {
    slots: [Slot<N>; 2],
    /// Number of completed publications; the latest is in slot `(latest − 1) & 1`.
    latest: AtomicU64,
    /// Serialises writers (the design has one; a second concurrent writer waits, never tears).
    writing: AtomicBool,
    _t: PhantomData<fn() -> T>,
}

impl<T: Words<N>, const N: usize> Default for SeqCell<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Words<N>, const N: usize> std::fmt::Debug for SeqCell<T, N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeqCell").field("published", &self.published()).finish()
    }
}

/// Read attempts before [`SeqCell::read`] gives up.
const READ_ATTEMPTS: usize = 8;

impl<T: Words<N>, const N: usize> SeqCell<T, N> {
    /// An empty cell ([`SeqCell::read`] returns `None` until the first publish).
    pub fn new() -> Self {
        SeqCell {
            slots: [Slot::new(), Slot::new()],
            latest: AtomicU64::new(0),
            writing: AtomicBool::new(false),
            _t: PhantomData,
        }
    }

    /// Number of snapshots published so far.
    pub fn published(&self) -> u64 {
        self.latest.load(Ordering::Acquire)
    }

    /// Publishes a new snapshot (cold thread). Wait-free for a single writer.
    pub fn publish(&self, value: &T) {
        while self.writing.swap(true, Ordering::Acquire) {
            std::hint::spin_loop();
        }
        let n = self.latest.load(Ordering::Relaxed);
        // Write into the slot that does not hold the latest snapshot.
        let slot = &self.slots[(n & 1) as usize];
        let s = slot.seq.load(Ordering::Relaxed);
        slot.seq.store(s + 1, Ordering::Relaxed);
        // Orders the odd sequence before the payload stores (seqlock writer side).
        fence(Ordering::Release);
        for (dst, src) in slot.words.iter().zip(value.to_words()) {
            dst.store(src, Ordering::Relaxed);
        }
        slot.seq.store(s + 2, Ordering::Release);
        self.latest.store(n + 1, Ordering::Release);
        self.writing.store(false, Ordering::Release);
    }

    /// The latest complete snapshot, or the previous one if the latest is being overwritten;
    /// `None` before the first publish or (practically never) when the writer published on
    /// every attempt. Never blocks.
    #[inline]
    pub fn read(&self) -> Option<T> {
        for _ in 0..READ_ATTEMPTS {
            let n = self.latest.load(Ordering::Acquire);
            if n == 0 {
                return None;
            }
            let newest = &self.slots[((n - 1) & 1) as usize];
            if let Some(v) = newest.try_read() {
                return Some(v);
            }
            if n >= 2 {
                if let Some(v) = self.slots[(n & 1) as usize].try_read() {
                    return Some(v);
                }
            }
            std::hint::spin_loop();
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    type Probe = [u64; 14];
    type SnapshotCell = SeqCell<Probe, 14>;

    /// A value whose every word is derived from `i`, so a torn copy is detectable.
    fn probe(i: u64) -> Probe {
        std::array::from_fn(|k| i.wrapping_mul(k as u64 + 1) ^ (k as u64) << 40)
    }

    #[test]
    fn empty_then_latest() {
        let c = SnapshotCell::new();
        assert_eq!(c.read(), None);
        c.publish(&probe(1));
        assert_eq!(c.read(), Some(probe(1)));
        c.publish(&probe(2));
        c.publish(&probe(3));
        assert_eq!(c.read(), Some(probe(3)));
        assert_eq!(c.published(), 3);
    }

    #[test]
    fn stress_no_torn_reads() {
        let cell = Arc::new(SnapshotCell::new());
        let stop = Arc::new(AtomicBool::new(false));
        let reads = Arc::new(AtomicUsize::new(0));
        const WRITES: u64 = 300_000;
        let readers: Vec<_> = (0..3)
            .map(|_| {
                let (cell, stop, reads) = (cell.clone(), stop.clone(), reads.clone());
                std::thread::spawn(move || {
                    let mut local = 0usize;
                    let mut max_seen = 0;
                    while !stop.load(Ordering::Relaxed) {
                        if let Some(v) = cell.read() {
                            let i = v[0];
                            assert_eq!(v, probe(i), "torn read at {i}");
                            max_seen = max_seen.max(i);
                            local += 1;
                        }
                    }
                    reads.fetch_add(local, Ordering::Relaxed);
                    max_seen
                })
            })
            .collect();
        for i in 1..=WRITES {
            cell.publish(&probe(i));
        }
        stop.store(true, Ordering::Relaxed);
        for r in readers {
            let max_seen = r.join().expect("reader thread");
            assert!(max_seen <= WRITES);
        }
        assert!(reads.load(Ordering::Relaxed) > 0);
        assert_eq!(cell.read(), Some(probe(WRITES)));
    }
}

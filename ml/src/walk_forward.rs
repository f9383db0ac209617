//! Walk-forward train/test splits with a purge gap, for time-ordered samples.
//!
//! A label computed from the next `h` samples (e.g. "price up 10 ticks within 500 events")
//! leaks the test period into any training sample within `h` of the test start. Following
//! López de Prado (purged cross-validation), such training samples are removed: each test
//! window starts `purge` samples after its training window ends. In walk-forward the training
//! window always precedes the test window, so no embargo after the test window is needed.

use std::ops::Range;

/// Rolling walk-forward splits over samples `0..n` (in time order).
///
/// Split `k` (from 0) has `train = s..s + train` and `test = t..t + test` with
/// `s = k · step` and `t = s + train + purge`; splits are produced while the test window
/// fits in `0..n` (a partial last test window is not produced). Nothing is produced if
/// `train`, `test` or `step` is 0. Index arithmetic cannot overflow (it stops instead).
///
/// ```
/// let splits: Vec<_> = mia_ml::walk_forward_splits(10, 4, 2, 2, 1).collect();
/// assert_eq!(splits, vec![(0..4, 5..7), (2..6, 7..9)]);
/// ```
pub fn walk_forward_splits(
    n: usize,
    train: usize,
    test: usize,
    step: usize,
    purge: usize,
) -> impl Iterator<Item = (Range<usize>, Range<usize>)> + Clone {
    let valid = train > 0 && test > 0 && step > 0;
    let mut next = if valid { Some(0usize) } else { None };
    std::iter::from_fn(move || {
        let s = next?;
        let train_end = s.checked_add(train)?;
        let test_start = train_end.checked_add(purge)?;
        let test_end = test_start.checked_add(test)?;
        if test_end > n {
            next = None;
            return None;
        }
        next = s.checked_add(step);
        Some((s..train_end, test_start..test_end))
    })
    .fuse()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(
        n: usize,
        train: usize,
        test: usize,
        step: usize,
        purge: usize,
    ) -> Vec<(Range<usize>, Range<usize>)> {
        walk_forward_splits(n, train, test, step, purge).collect()
    }

    #[test]
    fn rolling_windows_without_purge() {
        assert_eq!(all(10, 4, 2, 2, 0), vec![(0..4, 4..6), (2..6, 6..8), (4..8, 8..10)]);
    }

    #[test]
    fn purge_gap_separates_train_and_test() {
        assert_eq!(all(12, 4, 3, 3, 2), vec![(0..4, 6..9), (3..7, 9..12)]);
        for (tr, te) in walk_forward_splits(1000, 200, 50, 37, 5) {
            assert_eq!(te.start - tr.end, 5);
            assert_eq!((tr.len(), te.len()), (200, 50));
            assert!(te.end <= 1000);
        }
    }

    #[test]
    fn step_equal_to_test_tiles_the_test_periods() {
        let splits = all(100, 30, 10, 10, 3);
        assert_eq!(splits.len(), 6);
        for w in splits.windows(2) {
            assert_eq!(w[0].1.end, w[1].1.start);
        }
        assert_eq!(splits[0], (0..30, 33..43));
        assert_eq!(splits[5], (50..80, 83..93));
    }

    #[test]
    fn degenerate_parameters_produce_nothing() {
        assert!(all(10, 0, 2, 1, 0).is_empty());
        assert!(all(10, 4, 0, 1, 0).is_empty());
        assert!(all(10, 4, 2, 0, 0).is_empty());
        assert!(all(5, 4, 2, 1, 0).is_empty());
        assert!(all(6, 4, 2, 1, 1).is_empty());
        assert_eq!(all(6, 4, 2, 1, 0), vec![(0..4, 4..6)]);
        assert!(all(usize::MAX, usize::MAX - 1, 2, 1, 0).is_empty());
        assert_eq!(all(usize::MAX, 1, 1, usize::MAX, 0), vec![(0..1, 1..2)]);
    }

    #[test]
    fn iterator_is_fused() {
        let mut it = walk_forward_splits(6, 4, 2, 1, 0);
        assert!(it.next().is_some());
        assert!(it.next().is_none());
        assert!(it.next().is_none());
    }
}

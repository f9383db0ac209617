//! Purged k-fold cross-validation and purged walk-forward with an embargo, over samples whose
//! labels are computed from a time window `[start, end]` (López de Prado, *Advances in
//! Financial Machine Learning*, ch. 7).
//!
//! A label that looks forward (e.g. "price up 10 ticks within 500 ms") makes sample `i` depend
//! on everything in its window `[start_i, end_i]`. A training sample whose window overlaps the
//! test fold's span `[min start, max end]` shares information with the test labels: it is
//! **purged** (dropped from training). Serial correlation also leaks across the boundary, so
//! an **embargo** of length `embargo` (same time unit as the windows, e.g. ns) drops more:
//!
//! - k-fold: training samples that *start* within `embargo` after the test span's end;
//! - walk-forward (training always precedes the test fold): training samples whose window
//!   *ends* within `embargo` before the test span's start.
//!
//! Samples must be in time order (`start` non-decreasing) with `start ≤ end`.

use std::ops::Range;

/// One split: training sample indices (ascending) and the contiguous test fold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurgedSplit {
    /// Training sample indices, ascending, purged and embargoed.
    pub train: Vec<usize>,
    /// Test sample indices.
    pub test: Range<usize>,
}

/// Why splits cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    /// A window ends before it starts.
    #[error("sample {index}: label window [{start}, {end}] ends before it starts")]
    BadWindow {
        /// Sample index.
        index: usize,
        /// Window start.
        start: u64,
        /// Window end.
        end: u64,
    },
    /// Samples are not in time order.
    #[error("sample {index} starts before sample {}: samples must be in time order", index - 1)]
    Unsorted {
        /// The first out-of-order sample.
        index: usize,
    },
    /// `k` must be in `2..=n`.
    #[error("{k} folds for {n} samples: need 2 <= k <= n")]
    BadFolds {
        /// Folds asked for.
        k: usize,
        /// Samples.
        n: usize,
    },
}

fn check(windows: &[(u64, u64)]) -> Result<(), SplitError> {
    for (index, &(start, end)) in windows.iter().enumerate() {
        if end < start {
            return Err(SplitError::BadWindow { index, start, end });
        }
        if index > 0 && start < windows[index - 1].0 {
            return Err(SplitError::Unsorted { index });
        }
    }
    Ok(())
}

/// The time span `[min start, max end]` of the samples in `test` (non-empty).
fn span(windows: &[(u64, u64)], test: Range<usize>) -> (u64, u64) {
    windows[test].iter().fold((u64::MAX, 0), |(s, e), &(a, b)| (s.min(a), e.max(b)))
}

fn overlaps((s, e): (u64, u64), (ts, te): (u64, u64)) -> bool {
    s <= te && e >= ts
}

/// Purged k-fold: `k` contiguous test folds (sizes differ by at most one); each split trains on
/// every other sample except those whose window overlaps the fold's span (purge) and those
/// starting within `embargo` after the span's end (embargo).
///
/// ```
/// // 6 samples, each label looks 15 time units ahead.
/// let w: Vec<(u64, u64)> = (0..6).map(|i| (i * 10, i * 10 + 15)).collect();
/// let s = mia_ml::purged_kfold(&w, 3, 0).unwrap();
/// assert_eq!(s[1].test, 2..4); // span [20, 45]
/// assert_eq!(s[1].train, vec![0, 5]); // 1 ends at 25 >= 20, 4 starts at 40 <= 45: purged
/// ```
pub fn purged_kfold(windows: &[(u64, u64)], k: usize, embargo: u64) -> Result<Vec<PurgedSplit>, SplitError> {
    check(windows)?;
    let n = windows.len();
    if k < 2 || k > n {
        return Err(SplitError::BadFolds { k, n });
    }
    Ok((0..k)
        .map(|j| {
            let test = j * n / k..(j + 1) * n / k;
            let sp = span(windows, test.clone());
            let embargo_end = sp.1.saturating_add(embargo);
            let train = (0..n)
                .filter(|i| !test.contains(i))
                .filter(|&i| {
                    let w = windows[i];
                    let embargoed = w.0 > sp.1 && w.0 <= embargo_end;
                    !overlaps(w, sp) && !embargoed
                })
                .collect();
            PurgedSplit { train, test }
        })
        .collect())
}

/// Purged walk-forward: split `s` tests on samples `s·step + train .. + test` and trains on
/// the `train` samples before them, minus those whose window overlaps the test span (purge)
/// or ends within `embargo` before it starts (embargo). Splits are produced while the test
/// fold fits; nothing if `train`, `test` or `step` is 0.
pub fn purged_walk_forward(
    windows: &[(u64, u64)],
    train: usize,
    test: usize,
    step: usize,
    embargo: u64,
) -> Result<Vec<PurgedSplit>, SplitError> {
    check(windows)?;
    let n = windows.len();
    let mut out = Vec::new();
    if train == 0 || test == 0 || step == 0 {
        return Ok(out);
    }
    let mut s = 0usize;
    while let Some(test_end) = s.checked_add(train).and_then(|t| t.checked_add(test)) {
        if test_end > n {
            break;
        }
        let tr = s..s + train;
        let te = s + train..test_end;
        let sp = span(windows, te.clone());
        let train_idx = tr
            .filter(|&i| !overlaps(windows[i], sp) && windows[i].1.saturating_add(embargo) < sp.0)
            .collect();
        out.push(PurgedSplit { train: train_idx, test: te });
        match s.checked_add(step) {
            Some(next) => s = next,
            None => break,
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    /// Samples every 10 units with labels looking 11..=10+horizon units ahead (irregular,
    /// always overlapping the next sample).
    fn windows(n: usize, horizon: u64, seed: u64) -> Vec<(u64, u64)> {
        let mut rng = SplitMix64::new(seed);
        (0..n as u64).map(|i| (i * 10, i * 10 + 11 + rng.next_u64() % horizon)).collect()
    }

    fn assert_no_leak(w: &[(u64, u64)], splits: &[PurgedSplit]) {
        for s in splits {
            let sp = span(w, s.test.clone());
            for &i in &s.train {
                assert!(!s.test.contains(&i));
                for t in s.test.clone() {
                    assert!(!overlaps(w[i], w[t]), "train {i} {:?} overlaps test {t} {:?}", w[i], w[t]);
                }
                assert!(!overlaps(w[i], sp), "train {i} overlaps the test span");
            }
        }
    }

    #[test]
    fn kfold_purges_every_overlap_with_and_without_embargo() {
        let w = windows(200, 60, 1);
        for embargo in [0, 25, 100] {
            let splits = purged_kfold(&w, 5, embargo).unwrap();
            assert_eq!(splits.len(), 5);
            assert_eq!(splits.iter().map(|s| s.test.len()).sum::<usize>(), 200);
            assert_no_leak(&w, &splits);
            // Purging really happened: the samples just before each later fold are gone.
            for s in &splits[1..] {
                assert!(!s.train.contains(&(s.test.start - 1)));
            }
        }
        // Without overlap, purging drops nothing.
        let disjoint: Vec<(u64, u64)> = (0..20).map(|i| (i * 10, i * 10 + 5)).collect();
        let s = purged_kfold(&disjoint, 4, 0).unwrap();
        assert_eq!(s[1].train.len(), 15);
    }

    #[test]
    fn embargo_removes_the_samples_right_after_the_fold() {
        // Windows of length 5, one every 10: no overlap at all, so only the embargo removes.
        let w: Vec<(u64, u64)> = (0..30).map(|i| (i * 10, i * 10 + 5)).collect();
        let no = purged_kfold(&w, 3, 0).unwrap();
        let yes = purged_kfold(&w, 3, 30).unwrap();
        // Fold 0 = 0..10, span [0, 95]; embargo 30 drops starts in (95, 125]: 10, 11, 12.
        assert_eq!(no[0].train, (10..30).collect::<Vec<_>>());
        assert_eq!(yes[0].train, (13..30).collect::<Vec<_>>());
        // Fold 1 = 10..20, span [100, 195]: before the fold nothing changes, after it 20..=22 go.
        let expect: Vec<usize> = (0..10).chain(23..30).collect();
        assert_eq!(yes[1].train, expect);
        // The last fold has nothing after it.
        assert_eq!(yes[2].train, no[2].train);
    }

    #[test]
    fn walk_forward_purges_and_embargoes() {
        let w = windows(300, 80, 2);
        for embargo in [0, 50] {
            let splits = purged_walk_forward(&w, 100, 30, 30, embargo).unwrap();
            assert_eq!(splits.len(), 6);
            assert_no_leak(&w, &splits);
            for s in &splits {
                assert!(s.train.iter().all(|&i| i < s.test.start));
                let ts = span(&w, s.test.clone()).0;
                assert!(s.train.iter().all(|&i| w[i].1 + embargo < ts));
                // The last training sample before the fold is purged (its label reaches in).
                assert!(!s.train.contains(&(s.test.start - 1)));
            }
        }
        let w: Vec<(u64, u64)> = (0..20).map(|i| (i * 10, i * 10 + 5)).collect();
        let s = purged_walk_forward(&w, 10, 5, 5, 0).unwrap();
        assert_eq!(s[0], PurgedSplit { train: (0..10).collect(), test: 10..15 });
        let s = purged_walk_forward(&w, 10, 5, 5, 20).unwrap();
        // Test starts at 100; windows ending at 85 and 95 are within 20 before it.
        assert_eq!(s[0].train, (0..8).collect::<Vec<_>>());
        assert!(purged_walk_forward(&w, 0, 5, 5, 0).unwrap().is_empty());
    }

    #[test]
    fn bad_inputs_are_errors() {
        assert_eq!(
            purged_kfold(&[(0, 1), (5, 4)], 2, 0),
            Err(SplitError::BadWindow { index: 1, start: 5, end: 4 })
        );
        assert_eq!(purged_kfold(&[(5, 6), (0, 1)], 2, 0), Err(SplitError::Unsorted { index: 1 }));
        assert_eq!(purged_kfold(&[(0, 1), (2, 3)], 3, 0), Err(SplitError::BadFolds { k: 3, n: 2 }));
        assert_eq!(purged_kfold(&[(0, 1), (2, 3)], 1, 0), Err(SplitError::BadFolds { k: 1, n: 2 }));
        assert_eq!(
            purged_walk_forward(&[(5, 6), (0, 1)], 1, 1, 1, 0),
            Err(SplitError::Unsorted { index: 1 })
        );
        // Huge embargo saturates instead of overflowing.
        let w: Vec<(u64, u64)> = (0..4).map(|i| (i, u64::MAX - 4 + i)).collect();
        assert!(purged_kfold(&w, 2, u64::MAX).is_ok());
    }
}

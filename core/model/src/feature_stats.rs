//! Run statistics of the feature vector for the summary: per feature, the share of samples in
//! which it was valid and the min / mean / max of its valid values. Samples are the feature
//! snapshots (every 1-minute bar close and every signal), not every event: the hot path pays
//! nothing for them.

use crate::features::{FeatureVector, N_FEATURES};

/// Statistics of one feature.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FeatureStat {
    /// Samples in which the feature was valid.
    pub valid: u64,
    /// Min of the valid values.
    pub min: f64,
    /// Max of the valid values.
    pub max: f64,
    /// Sum of the valid values.
    pub sum: f64,
}

impl FeatureStat {
    /// Mean of the valid values.
    pub fn mean(&self) -> Option<f64> {
        (self.valid > 0).then(|| self.sum / self.valid as f64)
    }
}

/// Statistics of every slot.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FeatureStats {
    /// Samples taken.
    pub samples: u64,
    /// Per slot (`v[id − 1]`).
    pub slots: [FeatureStat; N_FEATURES],
}

impl FeatureStats {
    /// Adds one sample.
    pub fn sample(&mut self, v: &FeatureVector) {
        self.samples += 1;
        for (i, s) in self.slots.iter_mut().enumerate() {
            if v.valid & (1 << i) == 0 {
                continue;
            }
            let x = v.v[i] as f64;
            if s.valid == 0 {
                s.min = x;
                s.max = x;
            } else {
                s.min = s.min.min(x);
                s.max = s.max.max(x);
            }
            s.valid += 1;
            s.sum += x;
        }
    }

    /// Share of samples in which slot `i` was valid.
    pub fn validity(&self, i: usize) -> f64 {
        if self.samples == 0 {
            0.0
        } else {
            self.slots[i].valid as f64 / self.samples as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::FeatureId;

    #[test]
    fn validity_and_moments() {
        let mut st = FeatureStats::default();
        let mut v = FeatureVector::default();
        v.set(FeatureId::Delta, 4.0);
        st.sample(&v);
        v.set(FeatureId::Delta, -2.0);
        st.sample(&v);
        v.invalidate(FeatureId::Delta);
        st.sample(&v);
        let d = st.slots[FeatureId::Delta.slot()];
        assert_eq!((st.samples, d.valid, d.min, d.max, d.mean()), (3, 2, -2.0, 4.0, Some(1.0)));
        assert!((st.validity(FeatureId::Delta.slot()) - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(st.validity(0), 0.0);
    }
}

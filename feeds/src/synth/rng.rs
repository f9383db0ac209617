//! The synthetic market's stream generator, xoshiro256**, seeded from the workspace's
//! SplitMix64 ([`mia_model::rng::SplitMix64`]). Integer-only, so the output is identical on
//! every platform.

use mia_model::rng::SplitMix64;

/// xoshiro256** (Blackman & Vigna 2018): fast, 256-bit state, passes BigCrush.
#[derive(Clone, Debug)]
pub(crate) struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// Seeds the four state words from SplitMix64(`seed`) (never all zero).
    pub(crate) fn new(seed: u64) -> Self {
        let mut sm = SplitMix64::new(seed);
        let s = [sm.next_u64(), sm.next_u64(), sm.next_u64(), sm.next_u64()];
        debug_assert!(s.iter().any(|&w| w != 0));
        Self { s }
    }

    /// Next 64 random bits.
    #[inline]
    pub(crate) fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1) with 53 random bits.
    #[inline]
    pub(crate) fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in `0..n` (Lemire's multiply-shift, bias < 2^-32; `n > 0`).
    #[inline]
    pub(crate) fn below(&mut self, n: u32) -> u32 {
        (((self.next_u64() >> 32) * n as u64) >> 32) as u32
    }

    /// True with probability `p` (p ≤ 0 never, p ≥ 1 always).
    #[inline]
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.next_f64() < p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xoshiro_is_seed_dependent_and_uniformish() {
        let mut a = Rng::new(1);
        let mut b = Rng::new(1);
        let mut c = Rng::new(2);
        let mut same = true;
        for _ in 0..100 {
            let x = a.next_u64();
            assert_eq!(x, b.next_u64());
            same &= x == c.next_u64();
        }
        assert!(!same);
        let n = 200_000;
        let mut sum = 0.0;
        let mut counts = [0u32; 10];
        for _ in 0..n {
            let u = a.next_f64();
            assert!((0.0..1.0).contains(&u));
            sum += u;
            counts[a.below(10) as usize] += 1;
        }
        assert!((sum / n as f64 - 0.5).abs() < 0.005);
        for c in counts {
            assert!((c as f64 / n as f64 - 0.1).abs() < 0.005, "{counts:?}");
        }
    }
}

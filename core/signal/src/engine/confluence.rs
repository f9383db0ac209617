//! The composite confluence `C(d)` of SIGNALS.md §11: `Σ wᵢ·aᵢ(d) / Σ wᵢ` over eight inputs,
//! with the seed's computed v3.1 weights (gamma 0.25, volume 0.18, VWAP 0.15, Sierra 0.15,
//! MTF 0.12, smart money 0.10, OBI 0.03, options flow 0.02). Every `aᵢ ∈ [0, 1]`; an invalid
//! input gives `aᵢ = 0.5`. Computed once per decision, for both directions, from explicit inputs.

use mia_model::bar::Bar;
use mia_model::order::Direction;
use mia_model::price::Px;

/// The v3.1 weights (fixed), in the order of [`ConfluenceInputs`]' parts.
pub const WEIGHTS: [f64; 8] = [0.25, 0.18, 0.15, 0.15, 0.12, 0.10, 0.03, 0.02];

/// What `C(d)` reads at a decision point (each `None` when invalid).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ConfluenceInputs {
    /// P = close of the decision bar.
    pub price: Px,
    /// Contract tick.
    pub tick: Px,
    /// Net GEX F9 ($bn per 1 %), when the snapshot is fresh.
    pub net_gex_bn: Option<f64>,
    /// Put wall, call wall, zero-gamma flip in ES prices (fresh snapshot only).
    pub put_wall: Option<Px>,
    /// Call wall (ES).
    pub call_wall: Option<Px>,
    /// Flip (ES).
    pub flip: Option<Px>,
    /// `v_t`, `delta_t` of the decision bar and `v̄10` of the 10 bars before it.
    pub volume: Option<(f64, f64, f64)>,
    /// `ρ₅` = corr(volume, close) over the last 5 bars (0 when undefined).
    pub rho5: f64,
    /// The regime detector's VWAP slope.
    pub vwap_slope: Option<f64>,
    /// F17.
    pub vwap_dev: Option<f64>,
    /// Battle Navale S.
    pub bn_s: Option<f64>,
    /// Sierra scores: LDUB, and max(LUDB, CDS).
    pub sierra: (f64, f64),
    /// MTF M.
    pub mtf: Option<f64>,
    /// Smart money SM.
    pub sm: Option<f64>,
    /// F1.
    pub obi: Option<f64>,
    /// F13 and the snapshot's volume put/call ratio (clamped to [0, 10]).
    pub pc: Option<(f64, f64)>,
}

#[inline]
fn sgn(d: Direction) -> f64 {
    match d {
        Direction::Long => 1.0,
        Direction::Short => -1.0,
        Direction::Flat => 0.0,
    }
}

fn ticks(a: Px, b: Px, tick: Px) -> f64 {
    (a - b) as f64 / tick.max(1) as f64
}

impl ConfluenceInputs {
    /// The eight `aᵢ(d)`.
    pub fn parts(&self, d: Direction) -> [f64; 8] {
        let s = sgn(d);
        let p = self.price;
        let gamma = (|| {
            let f9 = self.net_gex_bn?;
            let wall = if s > 0.0 { self.put_wall? } else { self.call_wall? };
            let flip = self.flip?;
            let wp = (1.0 - ticks(p, wall, self.tick).abs() / 8.0).max(0.0);
            let gr = if f9 >= 0.0 { 0.65 } else { 0.5 + 0.35 * (f9.abs() / 10.0).min(1.0) };
            let fp = (1.0 - ticks(p, flip, self.tick).abs() / 12.0).max(0.0);
            Some(0.65 * wp + 0.25 * gr + 0.10 * fp)
        })()
        .unwrap_or(0.5);
        let volume = match self.volume {
            Some((v, delta, vbar)) if v > 0.0 && vbar > 0.0 => {
                0.45 * (v / (1.8 * vbar)).min(1.0)
                    + 0.35 * (2.2 * (s * delta).max(0.0) / v).min(1.0)
                    + 0.20 * (self.rho5.abs() + 1.0) / 2.0
            }
            _ => 0.5,
        };
        let vwap = match self.vwap_dev {
            Some(f17) => {
                let slope = self.vwap_slope.unwrap_or(0.0);
                let xv = (0.5 * (slope / 0.5).clamp(-1.0, 1.0) + 0.5 * (f17 / 2.0).clamp(-1.0, 1.0))
                    .clamp(-1.0, 1.0);
                (1.0 + s * xv) / 2.0
            }
            None => 0.5,
        };
        let sierra = match self.bn_s {
            Some(bs) => {
                let pd = if s > 0.0 { self.sierra.0 } else { self.sierra.1 };
                0.6 * (1.0 + s * (bs / 0.5).clamp(-1.0, 1.0)) / 2.0 + 0.4 * pd
            }
            None => 0.5,
        };
        let half = |x: Option<f64>| x.map_or(0.5, |v| (1.0 + s * v) / 2.0);
        let flow = match self.pc {
            Some((f13, pcv)) => {
                let pcs = if f13 < 0.75 {
                    (0.7 + 0.6 * (0.75 - f13)).min(1.0)
                } else if f13 > 1.25 {
                    0.3 - (0.4 * (f13 - 1.25)).min(0.3)
                } else {
                    0.5
                };
                let ob = 0.6 * pcs + 0.4 / (1.0 + pcv.clamp(0.0, 10.0));
                if s > 0.0 {
                    ob
                } else {
                    1.0 - ob
                }
            }
            None => 0.5,
        };
        let mut a = [gamma, volume, vwap, sierra, half(self.mtf), half(self.sm), half(self.obi), flow];
        for x in a.iter_mut() {
            *x = if x.is_finite() { x.clamp(0.0, 1.0) } else { 0.5 };
        }
        a
    }

    /// `C(d)`.
    pub fn score(&self, d: Direction) -> f64 {
        let a = self.parts(d);
        let sum: f64 = WEIGHTS.iter().sum();
        a.iter().zip(WEIGHTS).map(|(x, w)| x * w).sum::<f64>() / sum
    }
}

/// `corr(volume, close)` over the newest `n` bars (0 when undefined).
pub fn volume_close_corr<'a>(bars: impl Iterator<Item = &'a Bar>, n: usize) -> f64 {
    let mut xs = [0f64; 16];
    let mut ys = [0f64; 16];
    let mut k = 0;
    for b in bars.take(n.min(16)) {
        xs[k] = b.volume as f64;
        ys[k] = b.close as f64;
        k += 1;
    }
    if k < 2 {
        return 0.0;
    }
    let (mx, my) = (xs[..k].iter().sum::<f64>() / k as f64, ys[..k].iter().sum::<f64>() / k as f64);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for i in 0..k {
        sxy += (xs[i] - mx) * (ys[i] - my);
        sxx += (xs[i] - mx).powi(2);
        syy += (ys[i] - my).powi(2);
    }
    if sxx <= 0.0 || syy <= 0.0 {
        0.0
    } else {
        sxy / (sxx * syy).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: Px = 1_000_000_000;
    const T: Px = 250_000_000;

    #[test]
    fn all_invalid_is_neutral() {
        let c = ConfluenceInputs { price: 5000 * P, tick: T, ..Default::default() };
        assert!((c.score(Direction::Long) - 0.5).abs() < 1e-12);
        assert!((c.score(Direction::Short) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn hand_computed_parts_and_direction() {
        let c = ConfluenceInputs {
            price: 5000 * P,
            tick: T,
            net_gex_bn: Some(5.0),
            put_wall: Some(5000 * P - 4 * T), // 4 ticks below: wp = 0.5 (long)
            call_wall: Some(5000 * P + 16 * T), // far: wp = 0 (short)
            flip: Some(5000 * P - 6 * T),     // fp = 0.5
            volume: Some((1800.0, 900.0, 1000.0)), // 0.45·1 + 0.35·min(2.2·0.5, 1) + 0.2·0.5
            rho5: 0.0,
            vwap_slope: Some(0.25),
            vwap_dev: Some(1.0), // xv = 0.5·0.5 + 0.5·0.5 = 0.5
            bn_s: Some(0.5),
            sierra: (1.0, 0.0),
            mtf: Some(0.6),
            sm: Some(-0.2),
            obi: Some(0.4),
            pc: Some((1.0, 1.0)), // pcs 0.5, ob = 0.3 + 0.2 = 0.5
        };
        let a = c.parts(Direction::Long);
        let expect =
            [0.65 * 0.5 + 0.25 * 0.65 + 0.1 * 0.5, 0.45 + 0.35 + 0.1, 0.75, 0.6 + 0.4, 0.8, 0.4, 0.7, 0.5];
        for (x, y) in a.iter().zip(expect) {
            assert!((x - y).abs() < 1e-12, "{a:?}");
        }
        let cl = c.score(Direction::Long);
        let cs = c.score(Direction::Short);
        assert!(cl > 0.6 && cs < 0.5, "long {cl} short {cs}");
        let w: f64 = WEIGHTS.iter().sum();
        let manual: f64 = expect.iter().zip(WEIGHTS).map(|(x, w)| x * w).sum::<f64>() / w;
        assert!((cl - manual).abs() < 1e-12);
    }

    #[test]
    fn correlation() {
        let bars: Vec<Bar> = (0..5)
            .map(|i| Bar { volume: 100 + i * 10, close: 5000 * P + i as i64 * T, ..Bar::default() })
            .collect();
        assert!((volume_close_corr(bars.iter(), 5) - 1.0).abs() < 1e-9);
        assert_eq!(volume_close_corr(bars.iter().take(1), 5), 0.0);
    }
}

//! Cumulative delta (DESIGN §5 item 3): Σ signed aggressor volume (buy-initiated +,
//! sell-initiated −) since the session start, plus a rolling-window delta over `window_ms`
//! of event time.
//!
//! Aggressor side comes from the feed; where it is absent (`Side::None`) the tick rule
//! classifies the print (up-tick → buy, down-tick → sell, unchanged → the previous print's
//! sign), the trade-only half of Lee & Ready (1991).
//!
//! The rolling window is a ring of fixed-duration buckets (`window_ms / BUCKETS` each): O(1)
//! amortized per trade, fixed memory, no allocation.

use super::{EventView, Feature, FeatureId, FeatureVector};
use mia_model::event::{EventKind, Side};
use mia_model::price::Px;

const BUCKETS: usize = 64;

/// Configuration of [`CumDelta`].
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeltaConfig {
    /// Rolling window length in milliseconds of event time.
    pub window_ms: u64,
}

impl Default for DeltaConfig {
    fn default() -> Self {
        Self { window_ms: 5_000 }
    }
}

/// Incremental cumulative and rolling delta.
#[derive(Clone, Debug)]
pub struct CumDelta {
    bucket_ns: u64,
    buckets: [i64; BUCKETS],
    /// Bucket index (ts / bucket_ns) of the newest bucket.
    head: u64,
    window: i64,
    session: i64,
    last_px: Px,
    last_sign: i64,
}

impl CumDelta {
    /// A feature with the window of `cfg`.
    pub fn new(cfg: &DeltaConfig) -> Self {
        let bucket_ns = (cfg.window_ms.max(1) * 1_000_000).div_ceil(BUCKETS as u64);
        Self { bucket_ns, buckets: [0; BUCKETS], head: 0, window: 0, session: 0, last_px: 0, last_sign: 0 }
    }

    /// Classifies the aggressor: the feed's side, else the tick rule.
    #[inline]
    fn sign(&mut self, side: Side, price: Px) -> i64 {
        let s = match side {
            Side::Bid => 1,
            Side::Ask => -1,
            Side::None => {
                if self.last_px == 0 || price == self.last_px {
                    self.last_sign
                } else if price > self.last_px {
                    1
                } else {
                    -1
                }
            }
        };
        self.last_px = price;
        self.last_sign = s;
        s
    }

    /// Moves the window to event time `ts` (ns), expiring old buckets.
    #[inline]
    pub fn advance(&mut self, ts: u64) {
        let idx = ts / self.bucket_ns;
        if idx <= self.head {
            return;
        }
        let steps = (idx - self.head).min(BUCKETS as u64);
        for k in 1..=steps {
            let slot = ((self.head + k) % BUCKETS as u64) as usize;
            self.window -= self.buckets[slot];
            self.buckets[slot] = 0;
        }
        self.head = idx;
    }

    /// Adds a trade print at event time `ts`.
    #[inline]
    pub fn on_trade(&mut self, ts: u64, side: Side, price: Px, size: u32) {
        self.advance(ts);
        let v = self.sign(side, price) * size as i64;
        let slot = (self.head % BUCKETS as u64) as usize;
        self.buckets[slot] += v;
        self.window += v;
        self.session += v;
    }

    /// Session cumulative delta.
    #[inline]
    pub fn session(&self) -> i64 {
        self.session
    }

    /// Delta over the rolling window (as of the last `advance`/`on_trade`).
    #[inline]
    pub fn window(&self) -> i64 {
        self.window
    }

    /// Resets at a session boundary.
    pub fn reset_session(&mut self) {
        self.session = 0;
    }
}

impl Feature for CumDelta {
    type Config = DeltaConfig;

    fn new(cfg: &DeltaConfig, _tick: i64) -> Self {
        CumDelta::new(cfg)
    }

    fn validate(cfg: &DeltaConfig) -> Result<(), String> {
        if cfg.window_ms == 0 {
            return Err("window_ms: must be > 0".into());
        }
        Ok(())
    }

    #[inline]
    fn on_event(&mut self, e: &EventView<'_>) {
        if e.ev.kind == EventKind::Trade {
            self.on_trade(e.ev.ts_recv, e.ev.side, e.ev.price, e.ev.size);
        }
    }

    #[inline]
    fn on_last(&mut self, ts: u64) {
        self.advance(ts);
    }

    /// Writes the rolling-window delta (contracts; exact in `f32` up to 2^24).
    #[inline]
    fn write(&self, out: &mut FeatureVector) {
        out.set(FeatureId::Delta, self.window as f32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn signed_volume_and_tick_rule() {
        let mut d = CumDelta::new(&DeltaConfig { window_ms: 1000 });
        d.on_trade(0, Side::Bid, 100, 5);
        d.on_trade(MS, Side::Ask, 100, 3);
        assert_eq!((d.session(), d.window()), (2, 2));
        // tick rule: up-tick from 100 → buy, then unchanged → same sign, then down → sell
        d.on_trade(2 * MS, Side::None, 101, 4);
        d.on_trade(3 * MS, Side::None, 101, 1);
        d.on_trade(4 * MS, Side::None, 99, 2);
        assert_eq!(d.session(), 2 + 4 + 1 - 2);
    }

    #[test]
    fn window_expires_old_volume() {
        let mut d = CumDelta::new(&DeltaConfig { window_ms: 640 }); // 10 ms buckets
        d.on_trade(0, Side::Bid, 100, 10);
        d.on_trade(300 * MS, Side::Ask, 100, 4);
        assert_eq!(d.window(), 6);
        d.advance(650 * MS); // first bucket (0..10ms) expired
        assert_eq!(d.window(), -4);
        d.advance(5_000 * MS); // everything expired
        assert_eq!(d.window(), 0);
        assert_eq!(d.session(), 6);
        // time going backwards does not corrupt the window
        d.on_trade(4_000 * MS, Side::Bid, 100, 1);
        assert_eq!(d.window(), 1);
    }
}

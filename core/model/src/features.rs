//! The feature vector (DESIGN §5, SIGNALS.md §2): the 18 feature values with their validity
//! bits, as the strategies and the ML filter read them, and the feature snapshot the journal
//! records at every 1-minute bar close and every signal. Computed by `mia_signal::features`.

use crate::bar::{pack_u32, unpack_u32, Bar, BAR_WORDS};
use crate::price::Px;
use crate::words::Words;

/// Number of feature slots (DESIGN §5: 8 order flow, 6 options, 4 context).
pub const N_FEATURES: usize = 18;

/// The 18 features, numbered as in DESIGN §5; slot `v[id − 1]`, validity bit `id − 1`.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FeatureId {
    /// 1. Order-book imbalance.
    BookImbalance = 1,
    /// 2. Order-flow imbalance (Cont–Kukanov–Stoikov).
    OrderFlowImbalance = 2,
    /// 3. Rolling (and cumulative) delta.
    Delta = 3,
    /// 4. Delta divergence.
    DeltaDivergence = 4,
    /// 5. Tick momentum.
    TickMomentum = 5,
    /// 6. Microprice deviation.
    MicropriceDeviation = 6,
    /// 7. Smart money flow.
    SmartMoneyFlow = 7,
    /// 8. Absorption / footprint imbalance.
    Absorption = 8,
    /// 9. Net GEX.
    NetGex = 9,
    /// 10. Distance to the zero-gamma flip.
    ZeroGammaDistance = 10,
    /// 11. Distance to the call wall.
    CallWallDistance = 11,
    /// 12. Distance to the put wall.
    PutWallDistance = 12,
    /// 13. Put/call ratio.
    PutCallRatio = 13,
    /// 14. Gamma-cycle phase (trading days to monthly OPEX).
    GammaCycle = 14,
    /// 15. Volatility regime.
    VolatilityRegime = 15,
    /// 16. Session phase.
    SessionPhase = 16,
    /// 17. VWAP deviation.
    VwapDeviation = 17,
    /// 18. Market regime (efficiency ratio).
    MarketRegime = 18,
}

impl FeatureId {
    /// Slot index in [`FeatureVector::v`].
    #[inline]
    pub const fn slot(self) -> usize {
        self as usize - 1
    }
}

/// The feature values at one point of the input stream: `v[id − 1]` holds feature `id`,
/// valid iff bit `id − 1` of `valid` is set. An invalid slot is never read as a number.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct FeatureVector {
    /// Event time of the refresh (ns).
    pub ts: u64,
    /// Sequence number of the input that refreshed it.
    pub seq: u64,
    /// Values.
    pub v: [f32; N_FEATURES],
    /// Validity bits.
    pub valid: u32,
    /// State flags (SIGNALS.md §2: no/stale options snapshot, bad book, warm-up).
    pub flags: u32,
}

const _: () = assert!(core::mem::size_of::<FeatureVector>() == 96);

impl FeatureVector {
    /// Sets feature `id` to `value` and marks it valid (a non-finite value marks it invalid).
    #[inline]
    pub fn set(&mut self, id: FeatureId, value: f32) {
        if value.is_finite() {
            self.v[id.slot()] = value;
            self.valid |= 1 << id.slot();
        } else {
            self.invalidate(id);
        }
    }

    /// Marks feature `id` invalid.
    #[inline]
    pub fn invalidate(&mut self, id: FeatureId) {
        self.v[id.slot()] = 0.0;
        self.valid &= !(1 << id.slot());
    }

    /// The value of feature `id`, `None` when invalid.
    #[inline]
    pub fn get(&self, id: FeatureId) -> Option<f32> {
        (self.valid & (1 << id.slot()) != 0).then(|| self.v[id.slot()])
    }
}

/// Bits of [`FeatureVector::flags`] (SIGNALS.md §2).
pub mod vector_flags {
    /// No options snapshot.
    pub const OPT_NONE: u32 = 1;
    /// The options snapshot is older than its limit.
    pub const OPT_STALE: u32 = 1 << 1;
    /// The options snapshot is newer than event time.
    pub const OPT_FUTURE: u32 = 1 << 2;
    /// The book is crossed, locked or flagged `MAYBE_BAD_BOOK`.
    pub const BOOK_BAD: u32 = 1 << 3;
    /// Fewer decision bars than the warm-up needs: no decision can trade.
    pub const WARMUP: u32 = 1 << 4;
}

/// The 18 features in slot order, for iteration.
pub const FEATURE_IDS: [FeatureId; N_FEATURES] = [
    FeatureId::BookImbalance,
    FeatureId::OrderFlowImbalance,
    FeatureId::Delta,
    FeatureId::DeltaDivergence,
    FeatureId::TickMomentum,
    FeatureId::MicropriceDeviation,
    FeatureId::SmartMoneyFlow,
    FeatureId::Absorption,
    FeatureId::NetGex,
    FeatureId::ZeroGammaDistance,
    FeatureId::CallWallDistance,
    FeatureId::PutWallDistance,
    FeatureId::PutCallRatio,
    FeatureId::GammaCycle,
    FeatureId::VolatilityRegime,
    FeatureId::SessionPhase,
    FeatureId::VwapDeviation,
    FeatureId::MarketRegime,
];

impl FeatureId {
    /// Column name (snake case, as in `docs/features.md` and the CSV export).
    pub const fn name(self) -> &'static str {
        match self {
            FeatureId::BookImbalance => "obi",
            FeatureId::OrderFlowImbalance => "ofi",
            FeatureId::Delta => "rolling_delta",
            FeatureId::DeltaDivergence => "delta_divergence",
            FeatureId::TickMomentum => "tick_momentum",
            FeatureId::MicropriceDeviation => "microprice_dev",
            FeatureId::SmartMoneyFlow => "smart_money_flow",
            FeatureId::Absorption => "absorption",
            FeatureId::NetGex => "net_gex_bn",
            FeatureId::ZeroGammaDistance => "zero_gamma_dist",
            FeatureId::CallWallDistance => "call_wall_dist",
            FeatureId::PutWallDistance => "put_wall_dist",
            FeatureId::PutCallRatio => "put_call_ratio",
            FeatureId::GammaCycle => "days_to_opex",
            FeatureId::VolatilityRegime => "vol_percentile",
            FeatureId::SessionPhase => "session_phase",
            FeatureId::VwapDeviation => "vwap_dev",
            FeatureId::MarketRegime => "efficiency_ratio",
        }
    }
}

impl FeatureId {
    /// When the feature is valid (SIGNALS.md §2), for a reader who sees it never valid.
    pub const fn valid_when(self) -> &'static str {
        match self {
            FeatureId::BookImbalance | FeatureId::MicropriceDeviation => {
                "both best levels present and the book not crossed"
            }
            FeatureId::OrderFlowImbalance => "a BBO change in the window",
            FeatureId::Delta => "a classified trade this session",
            FeatureId::DeltaDivergence => "lookback_bars + 1 bars of one session",
            FeatureId::TickMomentum => "2 trades this session",
            FeatureId::SmartMoneyFlow => "volume in the smart-money window",
            FeatureId::Absorption => "min_bar_volume in the current bar",
            FeatureId::NetGex
            | FeatureId::ZeroGammaDistance
            | FeatureId::CallWallDistance
            | FeatureId::PutWallDistance
            | FeatureId::PutCallRatio => "a fresh gamma snapshot (an SPX chain, at most max_age_s old)",
            FeatureId::GammaCycle | FeatureId::SessionPhase => "an event",
            FeatureId::VolatilityRegime => {
                "min_sessions completed sessions (e.g. `--days 6` on the synthetic market)"
            }
            FeatureId::VwapDeviation => "min_volume and min_sigma_ticks since the anchor",
            FeatureId::MarketRegime => "er_bars + 1 bars",
        }
    }
}

/// Words of a [`FeatureVector`].
pub const VECTOR_WORDS: usize = 12;

impl Words<VECTOR_WORDS> for FeatureVector {
    fn to_words(&self) -> [u64; VECTOR_WORDS] {
        let mut w = [0u64; VECTOR_WORDS];
        w[0] = self.ts;
        w[1] = self.seq;
        for i in 0..N_FEATURES / 2 {
            w[2 + i] = pack_u32(self.v[2 * i].to_bits(), self.v[2 * i + 1].to_bits());
        }
        w[11] = pack_u32(self.valid, self.flags);
        w
    }

    fn from_words(w: &[u64; VECTOR_WORDS]) -> Self {
        let mut v = [0f32; N_FEATURES];
        for i in 0..N_FEATURES / 2 {
            let (a, b) = unpack_u32(w[2 + i]);
            v[2 * i] = f32::from_bits(a);
            v[2 * i + 1] = f32::from_bits(b);
        }
        let (valid, flags) = unpack_u32(w[11]);
        FeatureVector { ts: w[0], seq: w[1], v, valid, flags }
    }
}

/// Why a snapshot was taken.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SnapshotKind {
    /// A 1-minute bar closed.
    MinuteClose = 1,
    /// A signal was emitted.
    Signal = 2,
}

impl SnapshotKind {
    /// The kind of a code, `None` if unknown.
    pub fn from_u32(v: u32) -> Option<Self> {
        match v {
            1 => Some(Self::MinuteClose),
            2 => Some(Self::Signal),
            _ => None,
        }
    }

    /// Name in the CSV export.
    pub fn name(self) -> &'static str {
        match self {
            Self::MinuteClose => "bar",
            Self::Signal => "signal",
        }
    }
}

/// A feature snapshot: the vector and its bar context at one point of the input stream.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FeatureSnapshot {
    /// Sequence number of the input at which it was taken.
    pub seq: u64,
    /// Event time (ns).
    pub ts: u64,
    /// [`SnapshotKind`] code.
    pub kind: u32,
    /// Session date, yyyymmdd.
    pub session_date: u32,
    /// The feature vector.
    pub vector: FeatureVector,
    /// The last closed 1-minute bar.
    pub bar: Bar,
    /// Session cumulative delta.
    pub cum_delta: i64,
    /// ES mid (0 when the book has none).
    pub mid: Px,
    /// Session phase code (F16).
    pub phase: u32,
    /// Gamma-cycle phase (SIGNALS §8): 0 none yet, 1 post-expiry, 2 expiry week, 3 peak,
    /// 4 moderate, 5 normal.
    pub gamma_phase: u32,
    /// [`cycle_flags`] bits.
    pub cycle_flags: u32,
    /// Share of |GEX| expiring today (valid iff `cycle_flags::ZDTE_VALID`, else 0).
    pub zero_dte_share: f32,
}

/// Bits of [`FeatureSnapshot::cycle_flags`].
pub mod cycle_flags {
    /// The session date lies in OPEX week.
    pub const OPEX_WEEK: u32 = 1;
    /// `zero_dte_share` comes from a fresh snapshot.
    pub const ZDTE_VALID: u32 = 1 << 1;
}

/// Words of a [`FeatureSnapshot`].
pub const SNAPSHOT_WORDS: usize = 3 + VECTOR_WORDS + BAR_WORDS + 4;
/// Bytes of an encoded [`FeatureSnapshot`].
pub const SNAPSHOT_LEN: usize = SNAPSHOT_WORDS * 8;

const _: () = assert!(core::mem::size_of::<FeatureSnapshot>() == SNAPSHOT_LEN);

impl Words<SNAPSHOT_WORDS> for FeatureSnapshot {
    fn to_words(&self) -> [u64; SNAPSHOT_WORDS] {
        let mut w = [0u64; SNAPSHOT_WORDS];
        w[0] = self.seq;
        w[1] = self.ts;
        w[2] = pack_u32(self.kind, self.session_date);
        w[3..3 + VECTOR_WORDS].copy_from_slice(&self.vector.to_words());
        w[3 + VECTOR_WORDS..3 + VECTOR_WORDS + BAR_WORDS].copy_from_slice(&self.bar.to_words());
        let k = 3 + VECTOR_WORDS + BAR_WORDS;
        w[k] = self.cum_delta as u64;
        w[k + 1] = self.mid as u64;
        w[k + 2] = pack_u32(self.phase, self.gamma_phase);
        w[k + 3] = pack_u32(self.cycle_flags, self.zero_dte_share.to_bits());
        w
    }

    fn from_words(w: &[u64; SNAPSHOT_WORDS]) -> Self {
        let mut vw = [0u64; VECTOR_WORDS];
        vw.copy_from_slice(&w[3..3 + VECTOR_WORDS]);
        let mut bw = [0u64; BAR_WORDS];
        bw.copy_from_slice(&w[3 + VECTOR_WORDS..3 + VECTOR_WORDS + BAR_WORDS]);
        let k = 3 + VECTOR_WORDS + BAR_WORDS;
        let (kind, session_date) = unpack_u32(w[2]);
        let (phase, gamma_phase) = unpack_u32(w[k + 2]);
        let (cycle_flags, zdte) = unpack_u32(w[k + 3]);
        FeatureSnapshot {
            seq: w[0],
            ts: w[1],
            kind,
            session_date,
            vector: FeatureVector::from_words(&vw),
            bar: Bar::from_words(&bw),
            cum_delta: w[k] as i64,
            mid: w[k + 1] as Px,
            phase,
            gamma_phase,
            cycle_flags,
            zero_dte_share: f32::from_bits(zdte),
        }
    }
}

impl FeatureSnapshot {
    /// Little-endian bytes.
    pub fn encode(&self, out: &mut [u8; SNAPSHOT_LEN]) {
        for (chunk, w) in out.chunks_exact_mut(8).zip(self.to_words()) {
            chunk.copy_from_slice(&w.to_le_bytes());
        }
    }

    /// Decodes [`Self::encode`]'s bytes; `None` when `bytes` is not [`SNAPSHOT_LEN`] long.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != SNAPSHOT_LEN {
            return None;
        }
        let mut w = [0u64; SNAPSHOT_WORDS];
        for (x, chunk) in w.iter_mut().zip(bytes.chunks_exact(8)) {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            *x = u64::from_le_bytes(b);
        }
        Some(Self::from_words(&w))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vector_slots_and_validity() {
        let mut v = FeatureVector::default();
        assert_eq!(v.get(FeatureId::Delta), None);
        v.set(FeatureId::Delta, 12.0);
        v.set(FeatureId::MarketRegime, -0.5);
        assert_eq!((v.get(FeatureId::Delta), v.get(FeatureId::MarketRegime)), (Some(12.0), Some(-0.5)));
        assert_eq!(v.valid, (1 << 2) | (1 << 17));
        v.set(FeatureId::Delta, f32::NAN);
        assert_eq!(v.get(FeatureId::Delta), None, "a non-finite value is never valid");
        v.invalidate(FeatureId::MarketRegime);
        assert_eq!(v.valid, 0);
    }

    #[test]
    fn snapshot_encoding_round_trips_and_rejects_wrong_lengths() {
        let mut v = FeatureVector { ts: 11, seq: 12, ..FeatureVector::default() };
        v.set(FeatureId::BookImbalance, -0.25);
        v.set(FeatureId::MarketRegime, 0.75);
        v.flags = vector_flags::OPT_STALE;
        let bar = Bar {
            ts_start: 5,
            open: 7,
            high: 9,
            low: -3,
            close: 8,
            vwap_bar: 1.5,
            delta: -4,
            volume: 20,
            fp_score: 0.5,
            session_date: 20240313,
            ..Bar::default()
        };
        let s = FeatureSnapshot {
            seq: 1,
            ts: 2,
            kind: SnapshotKind::Signal as u32,
            session_date: 20240313,
            vector: v,
            bar,
            cum_delta: -17,
            mid: 5_000_125_000_000,
            phase: 3,
            gamma_phase: 2,
            cycle_flags: cycle_flags::OPEX_WEEK,
            zero_dte_share: 0.0,
        };
        let mut buf = [0u8; SNAPSHOT_LEN];
        s.encode(&mut buf);
        assert_eq!(FeatureSnapshot::decode(&buf), Some(s));
        assert_eq!(FeatureSnapshot::decode(&buf[..SNAPSHOT_LEN - 1]), None);
        assert_eq!(
            FEATURE_IDS.iter().map(|f| f.slot()).collect::<Vec<_>>(),
            (0..N_FEATURES).collect::<Vec<_>>()
        );
    }
}

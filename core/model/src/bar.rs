//! The bar record (SIGNALS.md §1): one closed event-time bar, a fixed-size POD that the
//! signal engine keeps in rings and the feature snapshots carry. Built by
//! `mia_signal::market::bars`.

use crate::price::Px;
use crate::words::Words;

/// One closed bar (SIGNALS.md §1 bar record; 152 B, POD).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Bar {
    /// Interval start (ns, UTC).
    pub ts_start: u64,
    /// First trade (ns).
    pub ts_first: u64,
    /// Last trade (ns).
    pub ts_last: u64,
    /// Open.
    pub open: Px,
    /// High.
    pub high: Px,
    /// Low.
    pub low: Px,
    /// Close.
    pub close: Px,
    /// `Σp·v/Σv`.
    pub vwap_bar: f64,
    /// Session cumulative delta at the close.
    pub cum_delta_close: i64,
    /// Session VWAP at the close (0 when it is not valid).
    pub vwap_session_close: f64,
    /// Contracts traded.
    pub volume: u32,
    /// Trade events.
    pub trades: u32,
    /// Buyer-initiated volume.
    pub buy_vol: u32,
    /// Seller-initiated volume.
    pub sell_vol: u32,
    /// Unclassified volume.
    pub unk_vol: u32,
    /// `buy_vol − sell_vol`.
    pub delta: i32,
    /// Mean spread over the bar's BBO changes (ticks), or the last spread if it had none.
    pub spread_mean_ticks: f32,
    /// Book imbalance (F1) at the close (0 when invalid).
    pub obi_close: f32,
    /// Footprint `B`.
    pub fp_b: u32,
    /// Footprint `B_abs`.
    pub fp_babs: u32,
    /// Footprint `S`.
    pub fp_s: u32,
    /// Footprint `S_abs`.
    pub fp_sabs: u32,
    /// Footprint score (F8 of the closed bar; 0 when volume is 0).
    pub fp_score: f32,
    /// Trades outside the footprint slots.
    pub fp_overflow: u32,
    /// Large-print buy volume finalized in the bar (SIGNALS §7).
    pub large_buy: u32,
    /// Large-print sell volume finalized in the bar.
    pub large_sell: u32,
    /// Session date, yyyymmdd.
    pub session_date: u32,
}

const _: () = assert!(core::mem::size_of::<Bar>() <= 160);

impl Bar {
    /// True when close > open.
    #[inline]
    pub fn is_up(&self) -> bool {
        self.close > self.open
    }
}

/// Words of a [`Bar`].
pub const BAR_WORDS: usize = 19;

/// Two u32 in one word (low, high).
#[inline]
pub(crate) fn pack_u32(a: u32, b: u32) -> u64 {
    a as u64 | (b as u64) << 32
}

/// The two u32 of a word (low, high).
#[inline]
pub(crate) fn unpack_u32(w: u64) -> (u32, u32) {
    (w as u32, (w >> 32) as u32)
}

impl Words<BAR_WORDS> for Bar {
    fn to_words(&self) -> [u64; BAR_WORDS] {
        [
            self.ts_start,
            self.ts_first,
            self.ts_last,
            self.open as u64,
            self.high as u64,
            self.low as u64,
            self.close as u64,
            self.vwap_bar.to_bits(),
            self.cum_delta_close as u64,
            self.vwap_session_close.to_bits(),
            pack_u32(self.volume, self.trades),
            pack_u32(self.buy_vol, self.sell_vol),
            pack_u32(self.unk_vol, self.delta as u32),
            pack_u32(self.spread_mean_ticks.to_bits(), self.obi_close.to_bits()),
            pack_u32(self.fp_b, self.fp_babs),
            pack_u32(self.fp_s, self.fp_sabs),
            pack_u32(self.fp_score.to_bits(), self.fp_overflow),
            pack_u32(self.large_buy, self.large_sell),
            pack_u32(self.session_date, 0),
        ]
    }

    fn from_words(w: &[u64; BAR_WORDS]) -> Self {
        let (volume, trades) = unpack_u32(w[10]);
        let (buy_vol, sell_vol) = unpack_u32(w[11]);
        let (unk_vol, delta) = unpack_u32(w[12]);
        let (spread, obi) = unpack_u32(w[13]);
        let (fp_b, fp_babs) = unpack_u32(w[14]);
        let (fp_s, fp_sabs) = unpack_u32(w[15]);
        let (fp_score, fp_overflow) = unpack_u32(w[16]);
        let (large_buy, large_sell) = unpack_u32(w[17]);
        let (session_date, _) = unpack_u32(w[18]);
        Bar {
            ts_start: w[0],
            ts_first: w[1],
            ts_last: w[2],
            open: w[3] as Px,
            high: w[4] as Px,
            low: w[5] as Px,
            close: w[6] as Px,
            vwap_bar: f64::from_bits(w[7]),
            cum_delta_close: w[8] as i64,
            vwap_session_close: f64::from_bits(w[9]),
            volume,
            trades,
            buy_vol,
            sell_vol,
            unk_vol,
            delta: delta as i32,
            spread_mean_ticks: f32::from_bits(spread),
            obi_close: f32::from_bits(obi),
            fp_b,
            fp_babs,
            fp_s,
            fp_sabs,
            fp_score: f32::from_bits(fp_score),
            fp_overflow,
            large_buy,
            large_sell,
            session_date,
        }
    }
}

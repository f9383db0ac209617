//! Trade snapshots (record kind 8): at the entry and at the exit of every round trip, the
//! opening signal, the risk manager's state, the position event and the feature snapshot in
//! force (vector, bar, gamma context), written cold-side into a run's features journal.
//!
//! Fixed layout, little endian (`TRADE_SNAPSHOT_LEN` bytes):
//!
//! | bytes | field |
//! |---|---|
//! | 0..8 | `trade_no` (u64, 1-based round trip number) |
//! | 8..16 | `seq` of the fill's input |
//! | 16..24 | `ts` event time of the fill (ns) |
//! | 24..32 | `price` fill price (`Px`) |
//! | 32..40 | `position` signed position after the fill |
//! | 40..48 | `net_pnl_nano` the trip's net P&L (exit; 0 at entry) |
//! | 48..56 | `day_pnl_nano` the risk manager's daily P&L |
//! | 56..60 | `consecutive_losses` (u32) |
//! | 60..64 | `trades_today` (u32) |
//! | 64 | `moment` (1 entry, 2 exit) |
//! | 65 | `exit_reason` (`mia_exec::position::ExitReason` code; 0 at entry) |
//! | 66 | `risk_state` (0 active, 1 reducing, 2 halted) |
//! | 67 | `risk_reason` (`RejectReason` code, 0 none) |
//! | 68 | `flags` (bit 0: signal present, bit 1: features present, bit 2: kill switch on) |
//! | 69..72 | zero |
//! | 72..72+S | the signal, `mia_model::msg::wire` payload of kind 2 (zeros when absent) |
//! | then 304 | the `FeatureSnapshot` (its own encoding; zeros when absent) |

use mia_model::features::{FeatureSnapshot, SNAPSHOT_LEN};
use mia_model::msg::wire;
use mia_model::msg::{Msg, Signal};
use mia_model::price::Px;

const HEAD: usize = 72;
const SIGNAL_LEN: usize = wire::SIGNAL_LEN;
/// Bytes of an encoded [`TradeSnapshot`].
pub const TRADE_SNAPSHOT_LEN: usize = HEAD + SIGNAL_LEN + SNAPSHOT_LEN;

/// Entry or exit.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Moment {
    /// The fill that opened the position.
    #[default]
    Entry = 1,
    /// The fill that closed it.
    Exit = 2,
}

impl Moment {
    /// `entry` / `exit`.
    pub fn as_str(self) -> &'static str {
        match self {
            Moment::Entry => "entry",
            Moment::Exit => "exit",
        }
    }
}

/// Flag bits of [`TradeSnapshot::flags`].
pub mod trade_flags {
    /// `signal` holds the signal that opened the trade.
    pub const SIGNAL: u8 = 1;
    /// `features` holds the latest feature snapshot at or before the fill.
    pub const FEATURES: u8 = 1 << 1;
    /// The kill switch was in force.
    pub const KILLED: u8 = 1 << 2;
}

/// One trade snapshot (see the [module docs](self)).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TradeSnapshot {
    /// Entry or exit.
    pub moment: Moment,
    /// Round trip number in the session, from 1.
    pub trade_no: u64,
    /// Sequence number of the input at which the fill happened.
    pub seq: u64,
    /// Event time of the fill (ns).
    pub ts: u64,
    /// Fill price.
    pub price: Px,
    /// Signed position after the fill.
    pub position: i64,
    /// Net P&L of the round trip (exit), nano-USD; 0 at entry.
    pub net_pnl_nano: i64,
    /// The risk manager's daily P&L, nano-USD.
    pub day_pnl_nano: i64,
    /// Losing round trips in a row (after this exit).
    pub consecutive_losses: u32,
    /// Round trips today.
    pub trades_today: u32,
    /// Why the trip ended (`ExitReason` code; 0 at entry).
    pub exit_reason: u8,
    /// Risk state code (0 active, 1 reducing, 2 halted).
    pub risk_state: u8,
    /// Why the risk manager is not active (`RejectReason` code; 0 none).
    pub risk_reason: u8,
    /// [`trade_flags`] bits.
    pub flags: u8,
    /// The signal that opened the trade (valid with [`trade_flags::SIGNAL`]).
    pub signal: Signal,
    /// The latest feature snapshot at or before the fill (valid with [`trade_flags::FEATURES`]).
    pub features: FeatureSnapshot,
}

impl TradeSnapshot {
    /// The opening signal, if recorded.
    pub fn signal(&self) -> Option<&Signal> {
        (self.flags & trade_flags::SIGNAL != 0).then_some(&self.signal)
    }

    /// The feature snapshot, if there was one.
    pub fn features(&self) -> Option<&FeatureSnapshot> {
        (self.flags & trade_flags::FEATURES != 0).then_some(&self.features)
    }

    /// Encodes into `out` (no allocation).
    pub fn encode(&self, out: &mut [u8; TRADE_SNAPSHOT_LEN]) {
        out.fill(0);
        let words: [u64; 7] = [
            self.trade_no,
            self.seq,
            self.ts,
            self.price as u64,
            self.position as u64,
            self.net_pnl_nano as u64,
            self.day_pnl_nano as u64,
        ];
        for (i, w) in words.iter().enumerate() {
            out[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
        }
        out[56..60].copy_from_slice(&self.consecutive_losses.to_le_bytes());
        out[60..64].copy_from_slice(&self.trades_today.to_le_bytes());
        out[64] = self.moment as u8;
        out[65] = self.exit_reason;
        out[66] = self.risk_state;
        out[67] = self.risk_reason;
        out[68] = self.flags;
        if self.flags & trade_flags::SIGNAL != 0 {
            wire::encode(&Msg::Signal(self.signal), &mut out[HEAD..HEAD + SIGNAL_LEN]);
        }
        if self.flags & trade_flags::FEATURES != 0 {
            let mut buf = [0u8; SNAPSHOT_LEN];
            self.features.encode(&mut buf);
            out[HEAD + SIGNAL_LEN..].copy_from_slice(&buf);
        }
    }

    /// Decodes [`Self::encode`]'s bytes; `None` for a wrong length, an unknown moment, unknown
    /// flag bits or an invalid signal.
    pub fn decode(b: &[u8]) -> Option<Self> {
        if b.len() != TRADE_SNAPSHOT_LEN {
            return None;
        }
        let w = |i: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&b[i * 8..i * 8 + 8]);
            u64::from_le_bytes(a)
        };
        let u32_at = |at: usize| {
            let mut a = [0u8; 4];
            a.copy_from_slice(&b[at..at + 4]);
            u32::from_le_bytes(a)
        };
        let moment = match b[64] {
            1 => Moment::Entry,
            2 => Moment::Exit,
            _ => return None,
        };
        let flags = b[68];
        if flags & !(trade_flags::SIGNAL | trade_flags::FEATURES | trade_flags::KILLED) != 0 {
            return None;
        }
        let signal = if flags & trade_flags::SIGNAL != 0 {
            match wire::decode(wire::KIND_SIGNAL, &b[HEAD..HEAD + SIGNAL_LEN]) {
                Ok(Msg::Signal(s)) => s,
                _ => return None,
            }
        } else {
            Signal::default()
        };
        let features = if flags & trade_flags::FEATURES != 0 {
            FeatureSnapshot::decode(&b[HEAD + SIGNAL_LEN..])?
        } else {
            FeatureSnapshot::default()
        };
        Some(Self {
            moment,
            trade_no: w(0),
            seq: w(1),
            ts: w(2),
            price: w(3) as i64,
            position: w(4) as i64,
            net_pnl_nano: w(5) as i64,
            day_pnl_nano: w(6) as i64,
            consecutive_losses: u32_at(56),
            trades_today: u32_at(60),
            exit_reason: b[65],
            risk_state: b[66],
            risk_reason: b[67],
            flags,
            signal,
            features,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mia_model::msg::{Direction, SignalSource};

    fn sample() -> TradeSnapshot {
        let mut features =
            FeatureSnapshot { seq: 40, ts: 41, mid: 5_000_250_000_000, gamma_phase: 3, ..Default::default() };
        features.session_date = 20240105;
        TradeSnapshot {
            moment: Moment::Exit,
            trade_no: 7,
            seq: 42,
            ts: 43,
            price: 5_001_000_000_000,
            position: 0,
            net_pnl_nano: -12_500_000_000,
            day_pnl_nano: -30_000_000_000,
            consecutive_losses: 2,
            trades_today: 5,
            exit_reason: 3,
            risk_state: 1,
            risk_reason: 9,
            flags: trade_flags::SIGNAL | trade_flags::FEATURES,
            signal: Signal {
                seq: 30,
                ts: 31,
                entry: 5_000_000_000_000,
                confidence: 0.75,
                direction: Direction::Long,
                tier: 2,
                source: SignalSource { strategy: 2, pattern: 3 },
                ..Signal::default()
            },
            features,
        }
    }

    #[test]
    fn round_trips_and_rejects_bad_bytes() {
        let t = sample();
        let mut b = [0u8; TRADE_SNAPSHOT_LEN];
        t.encode(&mut b);
        assert_eq!(TradeSnapshot::decode(&b), Some(t));
        assert_eq!(TradeSnapshot::decode(&b[..TRADE_SNAPSHOT_LEN - 1]), None, "length");
        let mut bad = b;
        bad[64] = 9;
        assert_eq!(TradeSnapshot::decode(&bad), None, "moment");
        let mut bad = b;
        bad[68] |= 0x80;
        assert_eq!(TradeSnapshot::decode(&bad), None, "flags");
        // without signal and features the payload still decodes, to defaults
        let bare =
            TradeSnapshot { flags: 0, signal: Signal::default(), features: FeatureSnapshot::default(), ..t };
        bare.encode(&mut b);
        let back = TradeSnapshot::decode(&b).expect("decodes");
        assert_eq!(back, bare);
        assert!(back.signal().is_none() && back.features().is_none());
    }
}

//! Data sanity (DESIGN §10): what the signal stage refuses to believe. Counted, not fatal:
//! levels or trades off the tick grid, trades with zero size, bad ticks far from the market,
//! event time going backwards, and crossed or locked books (no decision on a crossed book).

use mia_runtime::stage::StageReport;

/// Data-sanity limits (`[sanity]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SanityConfig {
    /// A trade more than this many ticks away from the book mid (or, without a book, from the
    /// last accepted trade) is a bad tick: counted and dropped. 0 disables the check.
    pub max_jump_ticks: i64,
}

impl Default for SanityConfig {
    fn default() -> Self {
        Self { max_jump_ticks: 80 }
    }
}

/// Counters of suspicious input seen by the stage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SanityCounters {
    /// Prices not on the contract's tick grid (ignored).
    pub off_tick: u64,
    /// Trades with zero size (ignored).
    pub zero_size_trades: u64,
    /// Events whose `ts_recv` went backwards (processed, counted).
    pub ts_backwards: u64,
    /// `LAST` events on a crossed or locked book (no signal evaluated).
    pub crossed: u64,
    /// Level events refused by the book (bad depth or side).
    pub rejected_levels: u64,
    /// Trades farther from the market than `max_jump_ticks` (dropped).
    pub bad_ticks: u64,
}

impl SanityCounters {
    /// Adds the counters to a stage report as `sanity.<name>`.
    pub fn report(&self, r: &mut StageReport) {
        r.count("sanity.off_tick", self.off_tick);
        r.count("sanity.zero_size_trades", self.zero_size_trades);
        r.count("sanity.bad_ticks", self.bad_ticks);
        r.count("sanity.ts_backwards", self.ts_backwards);
        r.count("sanity.crossed", self.crossed);
        r.count("sanity.rejected_levels", self.rejected_levels);
    }
}

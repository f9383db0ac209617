//! The synthetic session's SPX chain publications: the opening snapshot at the stream start,
//! then one fresh snapshot before every RTH open, as a positioning vendor's pre-market update
//! would be (decision recorded in `docs/synthetic_market.md`, "Chain publications").
//!
//! Publication `d` (one per trading day `d` of the run, numbered from 1) is valued at 08:00 CT
//! ([`PUBLISH_BEFORE_RTH_NS`] before the 08:30 CT open) around the ES price then (the last
//! trade at or before that instant; the opening price before any) minus the configured basis,
//! so the snapshot's spot and the ES price at its adoption agree and its levels map to ES with
//! the configured basis. Its open interest is drawn from [`chain_seed`]`(seed, d)`, so each
//! morning's positioning is new but reproducible. The spots depend on the path: they come from
//! one pass of the generator up to the last publication, a pure function of the
//! configuration, so the publications are too; the generator itself places the planted gamma
//! episodes at the first publication's walls the same way (`SynthSession::try_new`).

use dbn::Mbp10Msg;
use mia_model::price::{to_f64, Px};
use mia_options::chain::Chain;

use super::{SynthConfig, SynthError, SynthSession};
use crate::synth_chain::generate_chain;

/// How long before the RTH open a day's chain is valued and published: 30 minutes (08:00 CT).
pub const PUBLISH_BEFORE_RTH_NS: u64 = 30 * 60 * 1_000_000_000;

/// One chain publication of a synthetic run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ChainPublication {
    /// Valuation (and publication) instant, UTC ns; the chain itself is stamped to the minute.
    pub valuation_ts_ns: u64,
    /// SPX spot the chain is built around and valued at (points).
    pub spot: f64,
    /// Seed of its open interest and quotes.
    pub seed: u64,
}

impl ChainPublication {
    /// The chain itself (deterministic for the publication).
    pub fn chain(&self) -> Chain {
        generate_chain(self.seed, self.spot, self.valuation_ts_ns)
    }
}

/// The chain seed of trading day `day_ix` (0-based) of a run with seed `seed`; day 0 keeps
/// the run's seed.
pub fn chain_seed(seed: u64, day_ix: usize) -> u64 {
    seed ^ (day_ix as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

impl SynthSession {
    /// The opening snapshot: valued at the stream start (17:00 CT the evening before the first
    /// trading day) around [`SynthSession::spx_spot_estimate`].
    pub fn opening_chain(&self) -> ChainPublication {
        ChainPublication {
            valuation_ts_ns: self.start_ns(),
            spot: to_f64(self.spx_spot_estimate()),
            seed: self.cfg.seed,
        }
    }
}

/// The valuation (and publication) instant of the day whose RTH opens at `rth_open_ns`.
pub(crate) fn valuation_ts(rth_open_ns: u64) -> u64 {
    rth_open_ns - PUBLISH_BEFORE_RTH_NS
}

/// The publication of trading day `day_ix` (its RTH opening at `rth_open_ns`), with
/// `last_trade` the last ES trade at or before its valuation instant.
pub(crate) fn publication(
    cfg: &SynthConfig,
    day_ix: usize,
    rth_open_ns: u64,
    last_trade: Px,
) -> ChainPublication {
    ChainPublication {
        valuation_ts_ns: valuation_ts(rth_open_ns),
        spot: to_f64(last_trade - cfg.spx_basis),
        seed: chain_seed(cfg.seed, day_ix),
    }
}

/// The price of the last trade record at or before each of `times` (increasing), `open`
/// before any trade; reads `records` only up to the last of them.
pub(crate) fn last_trades_at(records: impl Iterator<Item = Mbp10Msg>, times: &[u64], open: Px) -> Vec<Px> {
    let mut out = Vec::with_capacity(times.len());
    let mut last = open;
    for r in records {
        while out.len() < times.len() && r.hd.ts_event > times[out.len()] {
            out.push(last);
        }
        if out.len() == times.len() {
            break;
        }
        if r.action as u8 == b'T' {
            last = r.price;
        }
    }
    out.resize(times.len(), last);
    out
}

/// The pre-RTH publications of the run `cfg` describes, one per trading day, in time order.
/// Makes one pass of the generator up to the last one (records generated, not normalized:
/// for a one-day run only the overnight segment, ~9 % of the day's records).
///
/// # Errors
/// The configuration is invalid.
pub fn daily_publications(cfg: &SynthConfig) -> Result<Vec<ChainPublication>, SynthError> {
    let session = SynthSession::try_new(cfg)?;
    let days = session.days().to_vec();
    let open = session.opening_price();
    let times: Vec<u64> = days.iter().map(|d| valuation_ts(d.rth_open_ns)).collect();
    let last = last_trades_at(session, &times, open);
    Ok(days.iter().zip(last).enumerate().map(|(i, (d, l))| publication(cfg, i, d.rth_open_ns, l)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(days: u32) -> SynthConfig {
        SynthConfig { seed: 9, days, target_records: 40_000, ..SynthConfig::default() }
    }

    #[test]
    fn one_publication_per_day_at_eight_central_around_the_es_price_then() {
        let c = cfg(3);
        let pubs = daily_publications(&c).expect("valid");
        let s = SynthSession::new(&c);
        let days = s.days().to_vec();
        assert_eq!(pubs.len(), 3);
        for (p, d) in pubs.iter().zip(&days) {
            assert_eq!(p.valuation_ts_ns, d.rth_open_ns - PUBLISH_BEFORE_RTH_NS);
            assert_eq!(Some(p.valuation_ts_ns), d.date.at_chicago_ns(8, 0));
        }
        // The spot: the last trade at or before the valuation instant, minus the basis.
        let mut last = vec![s.opening_price(); days.len()];
        for r in SynthSession::new(&c) {
            if r.action as u8 == b'T' {
                for (i, p) in pubs.iter().enumerate() {
                    if r.hd.ts_event <= p.valuation_ts_ns {
                        last[i] = r.price;
                    }
                }
            }
        }
        for (i, p) in pubs.iter().enumerate() {
            assert_eq!(p.spot, to_f64(last[i] - c.spx_basis), "day {i}");
        }
        assert_ne!(pubs[1].spot, pubs[2].spot, "the spot follows the path");
        assert_ne!(pubs[1].seed, pubs[2].seed);
        assert_eq!(pubs[0].seed, c.seed);
        // Deterministic.
        assert_eq!(daily_publications(&c).expect("valid"), pubs);
        let chain = pubs[1].chain();
        assert_eq!(chain.spot, pubs[1].spot);
        assert_eq!(chain.valuation_ts_ns, pubs[1].valuation_ts_ns);
    }

    #[test]
    fn planted_episodes_leave_the_overnight_stream_and_so_the_first_publication_unchanged() {
        // The generator places the gamma episodes at the first publication's walls from a pass
        // without them; that is exact only if episodes change nothing before the open.
        let plain = cfg(1);
        let planted =
            SynthConfig { episodes: super::super::EpisodesConfig { enabled: true }, ..plain.clone() };
        let a = daily_publications(&plain).expect("valid");
        let b = daily_publications(&planted).expect("valid");
        assert_eq!(a, b);
        let open = SynthSession::new(&plain).days()[0].rth_open_ns;
        let pre =
            |c: &SynthConfig| SynthSession::new(c).take_while(|r| r.hd.ts_event < open).collect::<Vec<_>>();
        assert!(pre(&plain) == pre(&planted), "the overnight records are the same");
    }

    #[test]
    fn an_invalid_configuration_is_refused() {
        let bad = SynthConfig { days: 0, ..cfg(1) };
        assert!(daily_publications(&bad).is_err());
    }
}

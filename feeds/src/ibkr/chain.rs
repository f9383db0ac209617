//! The SPX option chain from IBKR, as a [`Chain`] for the options thread.
//!
//! One pass (`fetch`): the SPX index contract id (contract details of `IND SPX CBOE`), the
//! spot (index last, or close when there is no last), the option parameters
//! (`reqSecDefOptParams`: trading classes SPX and SPXW with their expiries and strikes), then
//! quotes for the `strikes_each_side` strikes on each side of spot of the `expiries` nearest
//! expiries: bid / ask / last, volume, open interest (generic tick 101: ticks 27/28) and the
//! model option computation (tick 13: IV, delta, gamma). Lines are requested in batches of at
//! most `max_lines` (IB's market-data line allowance), each batch waited for up to
//! `quote_wait_secs`, then cancelled. The chain's `valuation_ts_ns` is the local time when the
//! quotes were read; [`Chain::compute_model`] fills the model IV and greeks.
//!
//! `run` repeats this every `every` and hands each chain to the caller's sink, which sequences
//! the publication (a `GammaPublished` control input).

use super::config::IbkrConfig;
use super::contract::parse_ib_date;
use super::status::now_ns;
use ibapi::client::blocking::Client;
use ibapi::contracts::tick_types::TickType;
use ibapi::contracts::{Contract, Currency, Exchange, OptionRight, SecurityType, Symbol};
use ibapi::market_data::realtime::TickTypes;
use ibapi::subscriptions::SubscriptionItem;
use mia_model::time::calendar::{self, Date};
use mia_options::chain::{Chain, ChainRow, ModelParams, Quote, Root};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// One option line to quote.
#[derive(Clone, Debug, PartialEq)]
pub struct OptionLine {
    /// SPX or SPXW.
    pub root: Root,
    /// IB expiry string `YYYYMMDD`.
    pub expiry_ib: String,
    /// Expiry date.
    pub expiry: Date,
    /// Strike.
    pub strike: f64,
    /// Call (true) or put.
    pub call: bool,
}

/// Chooses the lines: the `n_exp` nearest expiries on or after `today` (over both classes) and,
/// for each, the `each_side` strikes below and above `spot`.
pub fn select_lines(
    params: &[(Root, Vec<String>, Vec<f64>)],
    today: Date,
    spot: f64,
    n_exp: usize,
    each_side: usize,
) -> Vec<OptionLine> {
    let mut dates: Vec<Date> = params
        .iter()
        .flat_map(|(_, exps, _)| exps.iter().filter_map(|e| parse_ib_date(e)))
        .filter(|d| *d >= today)
        .collect();
    dates.sort_unstable();
    dates.dedup();
    dates.truncate(n_exp);
    let mut out = Vec::new();
    for (root, exps, strikes) in params {
        let mut ks: Vec<f64> = strikes.iter().copied().filter(|k| k.is_finite() && *k > 0.0).collect();
        ks.sort_by(|a, b| a.total_cmp(b));
        ks.dedup();
        let below: Vec<f64> = ks.iter().copied().filter(|k| *k <= spot).rev().take(each_side).collect();
        let above: Vec<f64> = ks.iter().copied().filter(|k| *k > spot).take(each_side).collect();
        let mut chosen: Vec<f64> = below.into_iter().chain(above).collect();
        chosen.sort_by(|a, b| a.total_cmp(b));
        for e in exps {
            let Some(d) = parse_ib_date(e) else { continue };
            if !dates.contains(&d) {
                continue;
            }
            for &k in &chosen {
                for call in [true, false] {
                    out.push(OptionLine { root: *root, expiry_ib: e.clone(), expiry: d, strike: k, call });
                }
            }
        }
    }
    out
}

fn index_contract() -> Contract {
    Contract {
        symbol: Symbol("SPX".into()),
        security_type: SecurityType::Index,
        exchange: Exchange("CBOE".into()),
        currency: Currency("USD".into()),
        ..Contract::default()
    }
}

fn option_contract(l: &OptionLine) -> Contract {
    Contract {
        symbol: Symbol("SPX".into()),
        security_type: SecurityType::Option,
        last_trade_date_or_contract_month: l.expiry_ib.clone(),
        strike: l.strike,
        right: Some(if l.call { OptionRight::Call } else { OptionRight::Put }),
        multiplier: "100".into(),
        exchange: Exchange("SMART".into()),
        currency: Currency("USD".into()),
        trading_class: l.root.as_str().into(),
        ..Contract::default()
    }
}

/// Folds one tick into a quote; true when the quote is complete (bid, ask and greeks).
fn apply(q: &mut Quote, got_greeks: &mut bool, t: &TickTypes) {
    let pos = |v: f64| v.is_finite() && v >= 0.0;
    match t {
        TickTypes::Price(p) => set_price(q, &p.tick_type, p.price, pos(p.price)),
        TickTypes::PriceSize(p) => set_price(q, &p.price_tick_type, p.price, pos(p.price)),
        TickTypes::Size(s) if s.size.is_finite() && s.size >= 0.0 => match s.tick_type {
            TickType::Volume | TickType::OptionCallVolume | TickType::OptionPutVolume => {
                q.volume = s.size as u64
            }
            TickType::OptionCallOpenInterest | TickType::OptionPutOpenInterest => {
                q.open_interest = s.size as u64
            }
            _ => {}
        },
        TickTypes::OptionComputation(c)
            if matches!(c.field, TickType::ModelOption | TickType::DelayedModelOption) =>
        {
            q.iv_src = c.implied_volatility.filter(|v| v.is_finite() && *v > 0.0);
            q.delta_src = c.delta.filter(|v| v.is_finite());
            q.gamma_src = c.gamma.filter(|v| v.is_finite());
            *got_greeks = true;
        }
        _ => {}
    }
}

fn set_price(q: &mut Quote, t: &TickType, v: f64, ok: bool) {
    if !ok {
        return;
    }
    match t {
        TickType::Bid | TickType::DelayedBid => q.bid = v,
        TickType::Ask | TickType::DelayedAsk => q.ask = v,
        TickType::Last | TickType::DelayedLast => q.last = v,
        _ => {}
    }
}

fn spx_con_id(client: &Client) -> Result<i32, String> {
    let d = client
        .contract_details(&index_contract())
        .map_err(|e| format!("ibkr chain: SPX index details: {e}"))?;
    d.first()
        .map(|d| d.contract.contract_id)
        .ok_or_else(|| "ibkr chain: IB listed no SPX index contract".to_string())
}

fn spot(client: &Client, wait: Duration) -> Result<f64, String> {
    let sub = client
        .market_data(&index_contract())
        .subscribe()
        .map_err(|e| format!("ibkr chain: SPX quote: {e}"))?;
    let deadline = Instant::now() + wait;
    let mut close = None;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match sub.next_timeout(left) {
            Some(Ok(SubscriptionItem::Data(t))) => {
                let (tick, price) = match &t {
                    TickTypes::Price(p) => (&p.tick_type, p.price),
                    TickTypes::PriceSize(p) => (&p.price_tick_type, p.price),
                    _ => continue,
                };
                if !(price.is_finite() && price > 0.0) {
                    continue;
                }
                match tick {
                    TickType::Last | TickType::DelayedLast => return Ok(price),
                    TickType::Close | TickType::DelayedClose => close = Some(price),
                    _ => {}
                }
            }
            Some(Err(e)) => return Err(format!("ibkr chain: SPX quote: {e}")),
            None => break,
            _ => {}
        }
    }
    close.ok_or_else(|| format!("ibkr chain: no SPX last or close within {} ms", wait.as_millis()))
}

/// One chain now.
///
/// # Errors
/// A request failed, or no option quote came.
pub(crate) fn fetch(client: &Client, cfg: &IbkrConfig) -> Result<Chain, String> {
    let c = &cfg.chain;
    let wait = Duration::from_secs(u64::from(c.quote_wait_secs));
    let con_id = spx_con_id(client)?;
    let spot = spot(client, wait)?;
    let sub = client
        .option_chain("SPX", SecurityType::Index, con_id)
        .subscribe()
        .map_err(|e| format!("ibkr chain: option parameters: {e}"))?;
    let mut params: BTreeMap<Root, (Vec<String>, Vec<f64>)> = BTreeMap::new();
    let deadline = Instant::now() + cfg.request_timeout();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match sub.next_timeout(left) {
            Some(Ok(SubscriptionItem::Data(p))) => {
                let Some(root) = Root::parse(&p.trading_class) else { continue };
                let e = params.entry(root).or_default();
                e.0.extend(p.expirations);
                e.1.extend(p.strikes);
            }
            Some(Ok(SubscriptionItem::Notice(_))) => {}
            Some(Err(e)) => return Err(format!("ibkr chain: option parameters: {e}")),
            None => break,
        }
    }
    drop(sub);
    let params: Vec<(Root, Vec<String>, Vec<f64>)> =
        params.into_iter().map(|(r, (e, k))| (r, e, k)).collect();
    let today = calendar::eastern_date(now_ns());
    let lines = select_lines(&params, today, spot, c.expiries as usize, c.strikes_each_side as usize);
    if lines.is_empty() {
        return Err(format!(
            "ibkr chain: no SPX/SPXW lines around {spot} in the {} nearest expiries",
            c.expiries
        ));
    }
    let mut quotes: Vec<(Quote, bool)> = vec![(Quote::default(), false); lines.len()];
    for (batch_no, batch) in lines.chunks(c.max_lines.max(1) as usize).enumerate() {
        let base = batch_no * c.max_lines.max(1) as usize;
        let mut subs = Vec::with_capacity(batch.len());
        for (k, l) in batch.iter().enumerate() {
            match client.market_data(&option_contract(l)).generic_ticks(&["100", "101", "106"]).subscribe() {
                Ok(s) => subs.push((base + k, s)),
                Err(e) => {
                    tracing::warn!(strike = l.strike, expiry = %l.expiry_ib, error = %e, "ibkr chain: quote request failed")
                }
            }
        }
        let deadline = Instant::now() + wait;
        loop {
            let mut any = false;
            for (idx, s) in &subs {
                while let Some(item) = s.try_next() {
                    if let (Ok(SubscriptionItem::Data(t)), Some((q, g))) = (item, quotes.get_mut(*idx)) {
                        apply(q, g, &t);
                        any = true;
                    }
                }
            }
            let complete = subs
                .iter()
                .all(|(i, _)| quotes.get(*i).is_some_and(|(q, g)| *g && q.bid > 0.0 && q.ask > 0.0));
            if complete || Instant::now() >= deadline {
                break;
            }
            if !any {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        // Dropping the subscriptions cancels the lines.
    }
    let valuation_ts_ns = now_ns();
    let mut rows: BTreeMap<(Date, Root, i64), ChainRow> = BTreeMap::new();
    for (l, (q, _)) in lines.iter().zip(quotes) {
        let key = (l.expiry, l.root, (l.strike * 1000.0).round() as i64);
        let row = rows.entry(key).or_insert_with(|| ChainRow {
            expiry: l.expiry,
            root: l.root,
            strike: l.strike,
            call: Quote::default(),
            put: Quote::default(),
        });
        if l.call {
            row.call = q;
        } else {
            row.put = q;
        }
    }
    let mut chain =
        Chain { underlying: "SPX (IBKR)".into(), spot, valuation_ts_ns, rows: rows.into_values().collect() };
    chain.compute_model(&ModelParams::default());
    Ok(chain)
}

/// The chain thread's body: a chain every `every` until `stop`; returns the number published.
pub(crate) fn run(
    client: &Client,
    cfg: &IbkrConfig,
    every: Duration,
    mut sink: impl FnMut(Chain),
    stop: &AtomicBool,
) -> Result<u64, String> {
    let mut n = 0;
    let mut next = Instant::now();
    loop {
        if stop.load(Ordering::Acquire) {
            return Ok(n);
        }
        if Instant::now() >= next {
            next = Instant::now() + every;
            if client.is_connected() {
                match fetch(client, cfg) {
                    Ok(c) => {
                        n += 1;
                        sink(c);
                    }
                    Err(e) => tracing::warn!(error = %e, "ibkr chain: publication skipped"),
                }
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_around_spot_for_the_nearest_expiries() {
        let params = vec![
            (
                Root::Spxw,
                vec!["20261202".into(), "20261203".into(), "20261130".into()],
                vec![5990.0, 5995.0, 6000.0, 6005.0, 6010.0, f64::NAN],
            ),
            (Root::Spx, vec!["20261218".into()], vec![5990.0, 6000.0, 6010.0]),
        ];
        let today = Date::new(2026, 12, 1).expect("date");
        let lines = select_lines(&params, today, 6001.0, 2, 2);
        // Expiries 12-02 and 12-03 (11-30 is past, 12-18 is third); strikes 5995, 6000 | 6005, 6010.
        assert_eq!(lines.len(), 2 * 4 * 2);
        assert!(lines.iter().all(|l| l.root == Root::Spxw));
        let mut ks: Vec<f64> = lines.iter().map(|l| l.strike).collect();
        ks.sort_by(|a, b| a.total_cmp(b));
        ks.dedup();
        assert_eq!(ks, [5995.0, 6000.0, 6005.0, 6010.0]);
        assert_eq!(lines.iter().filter(|l| l.call).count(), 8);
    }

    #[test]
    fn ticks_fold_into_a_quote() {
        use ibapi::contracts::OptionComputation;
        use ibapi::market_data::realtime::{TickPrice, TickSize};
        let mut q = Quote::default();
        let mut g = false;
        apply(
            &mut q,
            &mut g,
            &TickTypes::Price(TickPrice { tick_type: TickType::Bid, price: 1.5, ..Default::default() }),
        );
        apply(
            &mut q,
            &mut g,
            &TickTypes::Price(TickPrice { tick_type: TickType::Ask, price: f64::NAN, ..Default::default() }),
        );
        apply(
            &mut q,
            &mut g,
            &TickTypes::Size(TickSize { tick_type: TickType::OptionCallOpenInterest, size: 1234.0 }),
        );
        let c = OptionComputation {
            field: TickType::ModelOption,
            implied_volatility: Some(0.2),
            gamma: Some(0.003),
            ..Default::default()
        };
        apply(&mut q, &mut g, &TickTypes::OptionComputation(c));
        assert_eq!(
            (q.bid, q.ask, q.open_interest, q.iv_src, q.gamma_src, g),
            (1.5, 0.0, 1234, Some(0.2), Some(0.003), true)
        );
    }
}

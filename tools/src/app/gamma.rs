//! The options-analytics cold side: computes a chain's gamma levels on a cold thread
//! (`mia-options`). A backtest waits for the first snapshot and opens the session with it; a
//! later snapshot is published on the [`GammaBoard`] and announced to the hot path as a
//! sequenced `GammaPublished` input (the hot stage never waits for it and never reads it
//! before the announcement).

use anyhow::{anyhow, Context, Result};
use mia_model::msg::{Control, ControlKind, Msg};
use mia_options::chain::ModelParams;
use mia_options::gex::{compute_levels, GexConfig};
use mia_options::levels::GammaLevels;
use mia_signal::gates::gamma::GammaBoard;
use std::sync::Arc;
use std::thread::JoinHandle;

/// Gamma levels of a chain in Cboe layout, stamped with the chain's valuation time (so the
/// result depends on the chain only).
pub fn gamma_levels(name: &str, text: &str) -> Result<GammaLevels> {
    let parsed = mia_feeds::cboe::parse_str(name, text, &ModelParams::default())?;
    let report = compute_levels(&parsed.chain, None, &GexConfig::default());
    Ok(report.to_gamma_levels(parsed.chain.valuation_ts_ns))
}

/// Starts the options-analytics thread: parses `text` (Cboe layout, named `name` in errors)
/// and computes the levels. With `publish`, it writes them to the board as publication `n`
/// and announces them on the control ring (a live session); without, the caller opens the
/// session with the returned levels (a backtest).
///
/// # Errors
/// The thread cannot start; the chain's errors come back through the handle.
pub fn spawn_gamma_thread(
    name: String,
    text: String,
    publish: Option<(Arc<GammaBoard>, u64, rtrb::Producer<Msg>)>,
) -> Result<JoinHandle<Result<GammaLevels>>> {
    std::thread::Builder::new()
        .name("mia-options".into())
        .spawn(move || {
            let levels = gamma_levels(&name, &text)?;
            if let Some((board, n, mut tx)) = publish {
                board.publish(n, &levels);
                let c = Control { kind: ControlKind::GammaPublished, arg: n, ..Control::default() };
                tx.push(Msg::Control(c)).map_err(|_| anyhow!("the control ring is full"))?;
            }
            Ok(levels)
        })
        .context("cannot start the options analytics thread")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::input::Input;

    #[test]
    fn publisher_thread_publishes_and_announces() {
        let Ok(Some((name, text))) = Input::Synthetic { seed: 4, days: 1 }.chain() else {
            panic!("synthetic chain")
        };
        let board = Arc::new(GammaBoard::new(4));
        let (tx, mut rx) = rtrb::RingBuffer::new(4);
        let levels = match spawn_gamma_thread(name, text, Some((board.clone(), 1, tx))).map(|h| h.join()) {
            Ok(Ok(Ok(l))) => l,
            _ => panic!("publisher failed"),
        };
        assert_eq!(
            board.read(1).map(|l| (l.call_wall, l.put_wall)),
            Some((levels.call_wall, levels.put_wall))
        );
        assert!(
            matches!(rx.pop(), Ok(Msg::Control(c)) if c.kind == ControlKind::GammaPublished && c.arg == 1)
        );
        assert_ne!(levels.call_wall, mia_model::price::UNDEF_PX, "the synthetic chain has walls");
    }

    #[test]
    fn a_broken_chain_is_an_error_naming_it() {
        let r = spawn_gamma_thread("bad.csv".into(), "not,a,chain\n".into(), None).map(|h| h.join());
        match r {
            Ok(Ok(Err(e))) => assert!(e.to_string().contains("bad.csv"), "{e}"),
            _ => panic!("expected an error"),
        }
    }
}

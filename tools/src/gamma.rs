//! The options-analytics cold side: finds the SPX chain that goes with an input, computes its
//! gamma levels on a cold thread and publishes them to the hot path through a
//! [`SnapshotCell`] (the hot stage never waits for it).

use crate::session::Input;
use anyhow::{anyhow, Context, Result};
use mia_feeds::synth::{SynthConfig, SynthSession};
use mia_options::chain::ModelParams;
use mia_options::gex::{compute_levels, GexConfig};
use mia_options::levels::GammaLevels;
use mia_signal::gates::gamma::GammaCell as SnapshotCell;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;

/// The SPX chain that goes with an input, as Cboe quote-table text: generated for the
/// synthetic session (coherent with its ES opening price), or read from beside the data:
/// `FILE.chain.csv` for a DBN file `FILE.dbn`, `DIR/chain.csv` for a journal directory.
/// `None` when the input has no chain (the gamma gate then stays inactive).
pub fn chain_text(input: &Input) -> Result<Option<(String, String)>> {
    let read = |p: PathBuf| -> Result<Option<(String, String)>> {
        if !p.is_file() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&p).with_context(|| format!("{}: cannot read", p.display()))?;
        Ok(Some((p.display().to_string(), text)))
    };
    match input {
        Input::Synthetic { seed } => {
            let session = SynthSession::try_new(&SynthConfig { seed: *seed, ..SynthConfig::default() })
                .map_err(|e| anyhow!("{e}"))?;
            let spot = mia_model::price::to_f64(session.spx_spot_estimate());
            let chain = mia_feeds::synth_chain::generate_chain(*seed, spot, session.start_ns());
            Ok(Some((
                format!("synthetic SPX chain seed={seed}"),
                mia_feeds::synth_chain::to_cboe_csv(&chain, spot),
            )))
        }
        Input::Dbn(p) => read(p.with_extension("chain.csv")),
        Input::Journal(d) => read(d.join(CHAIN_FILE)),
    }
}

/// Name of the chain file kept in a journal directory.
pub const CHAIN_FILE: &str = "chain.csv";

/// Gamma levels of a chain in Cboe layout, stamped with the chain's valuation time (so the
/// result depends on the chain only).
pub fn gamma_levels(name: &str, text: &str) -> Result<GammaLevels> {
    let parsed = mia_feeds::cboe::parse_str(name, text, &ModelParams::default())?;
    let report = compute_levels(&parsed.chain, None, &GexConfig::default());
    Ok(report.to_gamma_levels(parsed.chain.valuation_ts_ns))
}

/// Starts the options-analytics thread: parses `text` (Cboe layout, named `name` in errors),
/// computes the levels, publishes them into `cell` and returns them.
pub fn spawn_gamma_publisher(
    name: String,
    text: String,
    cell: Arc<SnapshotCell>,
) -> Result<JoinHandle<Result<GammaLevels>>> {
    std::thread::Builder::new()
        .name("mia-options".into())
        .spawn(move || {
            let levels = gamma_levels(&name, &text)?;
            cell.publish(&levels);
            Ok(levels)
        })
        .context("cannot start the options analytics thread")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publisher_thread_fills_the_cell() {
        let Ok(Some((name, text))) = chain_text(&Input::Synthetic { seed: 4 }) else {
            panic!("synthetic chain")
        };
        let cell = Arc::new(SnapshotCell::new());
        assert!(cell.read().is_none());
        let levels = match spawn_gamma_publisher(name, text, cell.clone()).map(|h| h.join()) {
            Ok(Ok(Ok(l))) => l,
            _ => panic!("publisher failed"),
        };
        let read = cell.read().map(|l| (l.call_wall, l.put_wall, l.zero_gamma));
        assert_eq!(read, Some((levels.call_wall, levels.put_wall, levels.zero_gamma)));
        assert_ne!(levels.call_wall, mia_model::price::UNDEF_PX, "the synthetic chain has walls");
    }

    #[test]
    fn a_broken_chain_is_an_error_naming_it() {
        let cell = Arc::new(SnapshotCell::new());
        let r =
            spawn_gamma_publisher("bad.csv".into(), "not,a,chain\n".into(), cell.clone()).map(|h| h.join());
        match r {
            Ok(Ok(Err(e))) => assert!(e.to_string().contains("bad.csv"), "{e}"),
            _ => panic!("expected an error"),
        }
        assert!(cell.read().is_none(), "nothing published");
    }
}

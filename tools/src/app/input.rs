//! Inputs of a run: where the market data comes from, how to open it, and the SPX chain that
//! goes with it.

use anyhow::{anyhow, Context, Result};
use mia_feeds::dbn_source::{DbnFileSource, Mbp10IterSource};
use mia_feeds::journal_source::JournalSource;
use mia_feeds::sierra::depth::DepthSource;
use mia_feeds::sierra::merge::MergedSource;
use mia_feeds::sierra::scid::{ScidOptions, ScidSource};
use mia_feeds::synth::{SynthConfig, SynthSession};
use mia_runtime::source::EventSource;
use std::path::{Path, PathBuf};

/// Seed of the built-in synthetic session when a command is given none (`mia backtest`,
/// `mia gen`, `mia paper --source synthetic`, ...).
///
/// It is the lowest seed whose one-day session makes the default strategy (the signal engine
/// of `docs/strategy.md`) enter: scanning seeds 1–200 (`mia backtest --seed N`, one day each)
/// found entries on seeds 65 and 162 only, so the default run shows the whole path, an engine
/// entry sent as a bracket through risk and the queue-model venue and closed by its stop or
/// target. The choice is by that rule, not by the trade's outcome (seed 65's trade loses), and
/// a synthetic day proves mechanics, not an edge (`docs/strategy.md`, "The default session").
pub const DEFAULT_SEED: u64 = 65;

/// Name of the chain file kept in a journal directory.
pub const CHAIN_FILE: &str = "chain.csv";

/// Where the market data comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// The built-in synthetic ES session with this seed, over this many trading days.
    Synthetic {
        /// Generator seed.
        seed: u64,
        /// Consecutive trading days (1 = the single reference session).
        days: u32,
    },
    /// A DBN file (mbo, mbp-1, mbp-10, tbbo, trades; `.zst` too).
    Dbn(PathBuf),
    /// A journal directory written by an earlier run.
    Journal(PathBuf),
    /// A Sierra Chart intraday file (`*.scid`, tick by tick; ES tick size).
    Scid(PathBuf),
    /// A Sierra Chart market-depth file (`*.depth`: the book only, no trades).
    Depth(PathBuf),
    /// A `.scid` file and the `.depth` file of the same day merged in time
    /// (`--depth FILE.depth` beside a `.scid` input; `mia_feeds::sierra::merge`).
    ScidDepth {
        /// The intraday (trades and top of book) file.
        scid: PathBuf,
        /// The market-depth file.
        depth: PathBuf,
    },
}

impl Input {
    /// Classifies a path given to `mia replay` / `--data`: a directory is a journal, a
    /// `*.scid` file is a Sierra Chart intraday file, a `*.depth` file a Sierra Chart
    /// market-depth file, any other file is DBN. A missing path is an error naming it.
    ///
    /// # Errors
    /// The path does not exist.
    pub fn from_path(path: &Path) -> Result<Self> {
        let meta = std::fs::metadata(path).with_context(|| format!("{}: cannot open", path.display()))?;
        let ext =
            |x: &str| path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case(x));
        Ok(if meta.is_dir() {
            Input::Journal(path.to_path_buf())
        } else if ext("scid") {
            Input::Scid(path.to_path_buf())
        } else if ext("depth") {
            Input::Depth(path.to_path_buf())
        } else {
            Input::Dbn(path.to_path_buf())
        })
    }

    /// Adds the `.depth` file of `--depth` to a `.scid` input (one source merged in time).
    /// Nothing is picked up automatically: a file appearing beside a `.scid` never changes
    /// what a replay of it does.
    ///
    /// # Errors
    /// The input is not a `.scid` file, or `depth` does not exist.
    pub fn with_depth(self, depth: &Path) -> Result<Self> {
        std::fs::metadata(depth).with_context(|| format!("{}: cannot open", depth.display()))?;
        match self {
            Input::Scid(scid) => Ok(Input::ScidDepth { scid, depth: depth.to_path_buf() }),
            other => Err(anyhow!(
                "--depth {} merges a Sierra Chart .depth file with the .scid file of the same day; \
                 the input {other:?} is not a .scid file",
                depth.display()
            )),
        }
    }

    /// The generator seed (0 for files).
    pub fn seed(&self) -> u64 {
        match self {
            Input::Synthetic { seed, .. } => *seed,
            _ => 0,
        }
    }

    /// The session metadata a journal input recorded (its run mode, config and source);
    /// `None` for other inputs or a journal without one.
    pub fn recorded(&self) -> Option<mia_journal::SessionMeta> {
        match self {
            Input::Journal(p) => JournalSource::open(p).ok()?.meta().cloned(),
            _ => None,
        }
    }

    /// The run mode a journal input recorded (`None` for other inputs or an unknown label).
    pub fn recorded_mode(&self) -> Option<crate::app::session::RunMode> {
        let meta = self.recorded()?;
        crate::app::session::RunMode::from_label(&meta.mode)
    }

    /// Opens the input as an event source.
    ///
    /// # Errors
    /// The input cannot be opened or its header is invalid (the error names it).
    pub fn open(&self) -> Result<Box<dyn EventSource>> {
        Ok(match self {
            Input::Synthetic { seed, days } => {
                let cfg = SynthConfig { seed: *seed, days: *days, ..SynthConfig::default() };
                let session = SynthSession::try_new(&cfg).map_err(|e| anyhow!("{e}"))?;
                let name = if *days == 1 {
                    format!("synthetic ES session seed={seed}")
                } else {
                    format!("synthetic ES session seed={seed} days={days}")
                };
                Box::new(Mbp10IterSource::from_producer(name, session))
            }
            Input::Dbn(p) => Box::new(DbnFileSource::open(p)?),
            Input::Scid(p) => Box::new(ScidSource::open(p)?),
            Input::Depth(p) => Box::new(DepthSource::open(p, ScidOptions::default())?),
            Input::ScidDepth { scid, depth } => Box::new(MergedSource::new(
                Box::new(DepthSource::open(depth, ScidOptions::default())?),
                Box::new(ScidSource::open(scid)?),
            )),
            Input::Journal(p) => {
                // One cold pass to learn how the journal ends, so a torn tail is reported first.
                let r = mia_journal::JournalReader::scan(p).map_err(|e| e.to_source_error())?;
                if let Some((seg, off)) = &r.torn_at {
                    eprintln!(
                        "mia: warning: {}: the journal ends in a torn or damaged record at {} offset {off} ({}); \
                         replaying the {} complete records before it",
                        p.display(),
                        seg.display(),
                        r.reason.as_deref().unwrap_or("damaged"),
                        r.records
                    );
                }
                Box::new(JournalSource::open(p)?)
            }
        })
    }

    /// The places a chain for this input may be: for a file `DIR/NAME.EXT1.EXT2`, every
    /// `DIR/NAME[.EXT1…].chain.csv` from the shortest stem on (so `x.dbn`, `x.dbn.zst` and
    /// `x.mbp10.dbn.zst` all find `x.chain.csv`, and `x.dbn.chain.csv` still works); for a
    /// journal, `DIR/chain.csv`.
    pub fn chain_candidates(&self) -> Vec<PathBuf> {
        match self {
            Input::Synthetic { .. } => Vec::new(),
            Input::Journal(d) => vec![d.join(CHAIN_FILE)],
            Input::Dbn(p) | Input::Scid(p) | Input::Depth(p) | Input::ScidDepth { scid: p, .. } => {
                let Some(name) = p.file_name().and_then(|n| n.to_str()) else { return Vec::new() };
                let parts: Vec<&str> = name.split('.').collect();
                (1..=parts.len())
                    .map(|k| p.with_file_name(format!("{}.chain.csv", parts[..k].join("."))))
                    .collect()
            }
        }
    }

    /// The SPX chain that goes with the input, as (name, Cboe quote-table text): generated
    /// for the synthetic session (coherent with its ES opening price), or the first
    /// [`Input::chain_candidates`] file that exists. `None` when there is none (the gamma gate
    /// then stays inactive, and the summary says so).
    ///
    /// # Errors
    /// A chain file exists but cannot be read.
    pub fn chain(&self) -> Result<Option<(String, String)>> {
        if let Input::Synthetic { seed, days } = self {
            let cfg = SynthConfig { seed: *seed, days: *days, ..SynthConfig::default() };
            let session = SynthSession::try_new(&cfg).map_err(|e| anyhow!("{e}"))?;
            let spot = mia_model::price::to_f64(session.spx_spot_estimate());
            let chain = mia_feeds::synth_chain::generate_chain(*seed, spot, session.start_ns());
            return Ok(Some((
                format!("synthetic SPX chain seed={seed}"),
                mia_feeds::synth_chain::to_cboe_csv(&chain, spot),
            )));
        }
        for p in self.chain_candidates() {
            if p.is_file() {
                let text =
                    std::fs::read_to_string(&p).with_context(|| format!("{}: cannot read", p.display()))?;
                return Ok(Some((p.display().to_string(), text)));
            }
        }
        Ok(None)
    }
}

impl Input {
    /// The chain publications that follow the opening snapshot ([`Input::chain`]), as (name,
    /// Cboe quote-table text) in publication order, each adopted at its valuation time:
    /// - the synthetic session: one before every RTH open (`mia_feeds::synth::chains`: valued
    ///   at 08:00 CT from the previous settlement), as a positioning vendor's pre-market update;
    /// - a file with an opening chain `STEM.chain.csv`: the files `STEM.chain.1.csv`,
    ///   `STEM.chain.2.csv`, … beside it, up to the first number missing (what `mia gen`
    ///   writes; a user can put one Cboe download per morning there);
    /// - a journal: none here (its publications are in `RUN_DIR/gamma/`).
    ///
    /// # Errors
    /// An invalid synthetic configuration, or a publication file that cannot be read.
    pub fn chain_publications(&self) -> Result<Vec<(String, String)>> {
        if let Input::Synthetic { seed, days } = self {
            return synthetic_publications(&SynthConfig {
                seed: *seed,
                days: *days,
                ..SynthConfig::default()
            });
        }
        let Some(open) = self.chain_candidates().into_iter().find(|p| p.is_file()) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for n in 1.. {
            let p = publication_path(&open, n);
            if !p.is_file() {
                break;
            }
            let text =
                std::fs::read_to_string(&p).with_context(|| format!("{}: cannot read", p.display()))?;
            out.push((p.display().to_string(), text));
        }
        Ok(out)
    }
}

/// The pre-RTH chain publications of the synthetic session `cfg` (name, Cboe text), as
/// [`Input::chain_publications`] gives them for `Input::Synthetic` (there with the default
/// generator settings; a caller running its own configuration, e.g. planted episodes, passes
/// these through `SessionExtras::publications`).
///
/// # Errors
/// The configuration is invalid.
pub fn synthetic_publications(cfg: &SynthConfig) -> Result<Vec<(String, String)>> {
    let pubs = mia_feeds::synth::chains::daily_publications(cfg).map_err(|e| anyhow!("{e}"))?;
    Ok(pubs
        .iter()
        .enumerate()
        .map(|(i, p)| {
            (
                format!("synthetic SPX chain seed={} publication {}", cfg.seed, i + 1),
                mia_feeds::synth_chain::to_cboe_csv(&p.chain(), p.spot),
            )
        })
        .collect())
}

/// The path of publication `n` beside the opening chain `STEM.chain.csv`: `STEM.chain.N.csv`.
pub fn publication_path(opening: &std::path::Path, n: usize) -> PathBuf {
    let name = opening.file_name().and_then(|s| s.to_str()).unwrap_or("chain.csv");
    let stem = name.strip_suffix(".csv").unwrap_or(name);
    opening.with_file_name(format!("{stem}.{n}.csv"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_is_found_beside_every_file_form() {
        let d = tempfile::tempdir().expect("tmp");
        std::fs::write(d.path().join("x.chain.csv"), "c").expect("write");
        for name in ["x.dbn", "x.dbn.zst", "x.mbp10.dbn.zst"] {
            let i = Input::Dbn(d.path().join(name));
            assert_eq!(i.chain().expect("read").map(|c| c.1), Some("c".to_string()), "{name}");
        }
        // the older `FILE.dbn.chain.csv` form still works
        std::fs::write(d.path().join("y.dbn.chain.csv"), "y").expect("write");
        assert_eq!(Input::Dbn(d.path().join("y.dbn")).chain().expect("read").map(|c| c.1), Some("y".into()));
        assert_eq!(Input::Dbn(d.path().join("z.dbn")).chain().expect("read"), None);
        // and beside a Sierra Chart file
        assert_eq!(
            Input::Scid(d.path().join("x.scid")).chain().expect("read").map(|c| c.1),
            Some("c".into())
        );
    }

    #[test]
    fn publications_are_the_numbered_files_beside_the_opening_chain() {
        let d = tempfile::tempdir().expect("tmp");
        let i = Input::Dbn(d.path().join("x.dbn"));
        assert!(i.chain_publications().expect("none").is_empty(), "no chain, no publication");
        std::fs::write(d.path().join("x.chain.csv"), "open").expect("write");
        std::fs::write(d.path().join("x.chain.1.csv"), "one").expect("write");
        std::fs::write(d.path().join("x.chain.2.csv"), "two").expect("write");
        std::fs::write(d.path().join("x.chain.4.csv"), "after a gap: not read").expect("write");
        let p = i.chain_publications().expect("read");
        assert_eq!(p.iter().map(|x| x.1.as_str()).collect::<Vec<_>>(), ["one", "two"]);
        assert!(p[0].0.ends_with("x.chain.1.csv"), "named by its file: {}", p[0].0);
        assert!(Input::Journal(d.path().into()).chain_publications().expect("journal").is_empty());
    }

    #[test]
    fn the_synthetic_session_publishes_before_each_rth_open() {
        let p = Input::Synthetic { seed: 2, days: 2 }.chain_publications().expect("synthetic");
        assert_eq!(p.len(), 2);
        assert!(p[1].0.contains("publication 2"), "{}", p[1].0);
        assert_ne!(p[0].1, p[1].1);
    }

    #[test]
    fn a_scid_path_is_a_sierra_chart_input() {
        let d = tempfile::tempdir().expect("tmp");
        let p = d.path().join("ESH6_FUT_CME.scid");
        std::fs::write(&p, b"x").expect("write");
        assert_eq!(Input::from_path(&p).expect("exists"), Input::Scid(p.clone()));
        let e = Input::Scid(p).open().err().expect("not a .scid file");
        assert!(e.to_string().contains("ESH6_FUT_CME.scid"), "{e}");
    }
}

//! Helpers shared by the integration tests of this crate.
#![allow(dead_code)] // each test binary uses a subset

use std::path::Path;

/// Every file under `dir` (recursively) whose bytes contain `needle` (a secret that must not
/// be there).
pub fn grep_dir(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut hits = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else { return hits };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            hits.extend(grep_dir(&p, needle));
        } else if let Ok(b) = std::fs::read(&p) {
            if b.windows(needle.len()).any(|w| w == needle) {
                hits.push(p.display().to_string());
            }
        }
    }
    hits
}

/// The default configuration with the threshold strategy, for the tests that need a session
/// that trades (the default strategy, the signal engine, is selective and may take no trade
/// on a short synthetic run).
pub fn threshold_config() -> mia_tools::app::config::Config {
    let mut c = mia_tools::app::config::Config::default();
    c.signal.strategy = mia_signal::strategy::registry::StrategyKind::Threshold;
    c
}

/// `threshold_config()` as a TOML fragment, for tests that run the binary with a config file.
pub const THRESHOLD_TOML: &str = "[signal]\nstrategy = \"threshold\"\n";

/// Every `Msg` record of a run's journal, and whether the whole journal read without error.
pub fn journal_msgs(run: &Path) -> (Vec<mia_model::msg::Msg>, Result<(), String>) {
    use mia_journal::{JournalReader, JournalRecord};
    let mut msgs = Vec::new();
    let mut reader = match JournalReader::open(run.join("journal")) {
        Ok(r) => r,
        Err(e) => return (msgs, Err(e.to_string())),
    };
    loop {
        match reader.next_record() {
            Ok(Some(JournalRecord::Msg(m))) => msgs.push(m),
            Ok(Some(_)) => {}
            Ok(None) => return (msgs, Ok(())),
            Err(e) => return (msgs, Err(e.to_string())),
        }
    }
}

/// The `Filled` execution reports among `msgs`.
pub fn filled_reports(msgs: &[mia_model::msg::Msg]) -> Vec<mia_model::msg::ExecReport> {
    msgs.iter()
        .filter_map(|m| match m {
            mia_model::msg::Msg::Exec(r) if r.kind == mia_model::msg::ExecKind::Filled => Some(*r),
            _ => None,
        })
        .collect()
}

//! `mia check` for IBKR: a list of named pass / warn / fail rows, each with its detail.
//! Rows: config, Gateway reachable, handshake + server version (≥ 213), managed accounts contain
//! `MIA_IBKR_ACCOUNT` (shown redacted), contract month resolved by MIA's roll rule, clock skew
//! against the server's `current_time`. Later rows are skipped (fail) when an earlier one makes
//! them impossible.

use super::config::{IbkrConfig, Secret, ACCOUNT_ENV};
use super::status::now_ns;
use super::{contract, open_client, IbkrError, MIN_SERVER_VERSION};
use mia_model::time::calendar::{self, Date};
use std::fmt;

/// The outcome of one row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Fine.
    Pass,
    /// Works, but look at it.
    Warn,
    /// Broken: live trading would not work.
    Fail,
}

/// One row of the report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckRow {
    /// What was checked.
    pub name: &'static str,
    /// The outcome.
    pub verdict: Verdict,
    /// What was found (never the account id in clear).
    pub detail: String,
}

/// The report.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Rows in check order.
    pub rows: Vec<CheckRow>,
}

impl CheckReport {
    fn push(&mut self, name: &'static str, verdict: Verdict, detail: impl Into<String>) {
        self.rows.push(CheckRow { name, verdict, detail: detail.into() });
    }

    /// True when no row failed.
    pub fn ok(&self) -> bool {
        self.rows.iter().all(|r| r.verdict != Verdict::Fail)
    }

    /// The row named `name`.
    pub fn row(&self, name: &str) -> Option<&CheckRow> {
        self.rows.iter().find(|r| r.name == name)
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for r in &self.rows {
            let v = match r.verdict {
                Verdict::Pass => "PASS",
                Verdict::Warn => "WARN",
                Verdict::Fail => "FAIL",
            };
            writeln!(f, "{v:4}  {:<18} {}", r.name, r.detail)?;
        }
        Ok(())
    }
}

/// Runs the checks against the Gateway of `cfg` (account from `MIA_IBKR_ACCOUNT`, today's date).
pub fn check(cfg: &IbkrConfig) -> CheckReport {
    check_with(cfg, crate::ibkr::config::account_from_env(), calendar::eastern_date(now_ns()))
}

/// [`check`] with an explicit account and date.
pub fn check_with(cfg: &IbkrConfig, account: Option<Secret>, today: Date) -> CheckReport {
    let mut r = CheckReport::default();
    match cfg.validate() {
        Ok(()) => r.push("config", Verdict::Pass, format!("{} client id {}", cfg.address(), cfg.client_id)),
        Err(e) => {
            r.push("config", Verdict::Fail, e.join("; "));
            return r;
        }
    }
    let client = match open_client(cfg) {
        Ok(c) => {
            r.push("gateway reachable", Verdict::Pass, cfg.address());
            c
        }
        Err(IbkrError::Unreachable { addr, reason }) => {
            r.push("gateway reachable", Verdict::Fail, format!("{addr}: {reason}"));
            return r;
        }
        Err(IbkrError::ServerVersion { found, need, .. }) => {
            r.push("gateway reachable", Verdict::Pass, cfg.address());
            r.push(
                "server version",
                Verdict::Fail,
                format!("{found} < {need}: upgrade TWS/Gateway (10.40+ latest, 10.45+ stable)"),
            );
            return r;
        }
        Err(e) => {
            r.push("gateway reachable", Verdict::Pass, cfg.address());
            r.push("handshake", Verdict::Fail, e.to_string());
            return r;
        }
    };
    let v = client.server_version();
    r.push(
        "server version",
        if v >= MIN_SERVER_VERSION { Verdict::Pass } else { Verdict::Fail },
        format!("{v} (needs >= {MIN_SERVER_VERSION})"),
    );
    let managed = client.handshake_managed_accounts();
    match account {
        Some(a) if managed.iter().any(|m| m == a.expose()) => r.push(
            "account",
            Verdict::Pass,
            format!("{ACCOUNT_ENV}={} is managed ({} account(s))", a.redacted(), managed.len()),
        ),
        Some(a) => r.push(
            "account",
            Verdict::Fail,
            format!("{ACCOUNT_ENV}={} is not among the {} managed account(s)", a.redacted(), managed.len()),
        ),
        None => r.push(
            "account",
            if managed.len() == 1 { Verdict::Warn } else { Verdict::Fail },
            format!("{ACCOUNT_ENV} is unset; the Gateway manages {} account(s)", managed.len()),
        ),
    }
    match contract::resolve(&client, cfg.root, today) {
        Ok(c) => r.push(
            "contract",
            Verdict::Pass,
            format!(
                "{} con id {} expires {} (roll rule on {})",
                c.local_symbol,
                c.con_id,
                contract::fmt_date(c.expiry),
                contract::fmt_date(today)
            ),
        ),
        Err(e) => r.push("contract", Verdict::Fail, e.to_string()),
    }
    let before = now_ns();
    match client.server_time() {
        Ok(t) => {
            let after = now_ns();
            let local = before / 2 + after / 2;
            let server = super::md::ts_of(&t);
            // The server's time has whole seconds: allow the truncation.
            let skew_ms = (i128::from(local) - i128::from(server)).abs() / 1_000_000;
            let max = i128::from(cfg.max_clock_skew_ms) + 1000;
            r.push(
                "clock skew",
                if skew_ms <= max { Verdict::Pass } else { Verdict::Warn },
                format!(
                    "{skew_ms} ms against the server (limit {} ms + 1 s resolution)",
                    cfg.max_clock_skew_ms
                ),
            );
        }
        Err(e) => r.push("clock skew", Verdict::Warn, format!("server time request failed: {e}")),
    }
    client.disconnect();
    r
}

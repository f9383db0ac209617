//! ES/MES front month by MIA's own roll rule ([`mia_model::contract::front_month`]: the first
//! quarterly whose roll date, 8 days before the third-Friday expiry, is after today). IB is
//! asked for every listed contract of the root (contract details with no month) and the edge
//! picks the one expiring in that month; ibapi's calendar `front_month()` is never used (it
//! rolls on the 15th of every month, wrong for ES).

use mia_model::contract::{front_month, Root};
use mia_model::time::calendar::Date;

/// A listed futures contract as IB describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    /// IB contract id.
    pub con_id: i32,
    /// Local symbol (`ESZ6`).
    pub local_symbol: String,
    /// Last trade / expiry date.
    pub expiry: Date,
}

/// The contract the edge trades.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedContract {
    /// Root.
    pub root: Root,
    /// IB contract id (also the `instrument_id` of the events).
    pub con_id: i32,
    /// Local symbol (`ESZ6`).
    pub local_symbol: String,
    /// Expiry date.
    pub expiry: Date,
}

/// Why no contract was chosen.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ContractError {
    /// IB listed nothing usable for the root.
    #[error("ibkr contract {root}: IB listed no contract{detail}")]
    NoneListed {
        /// Root symbol.
        root: &'static str,
        /// What was found instead (details that could not be parsed).
        detail: String,
    },
    /// No listed contract expires in the roll rule's month.
    #[error("ibkr contract {root}: no contract expiring in {year}-{month:02} (MIA's front month on {today}); IB listed: {found}")]
    NoMatch {
        /// Root symbol.
        root: &'static str,
        /// Front-month year.
        year: i32,
        /// Front-month month.
        month: u32,
        /// The date the rule was applied to.
        today: String,
        /// The listed contracts (`ESH7 2027-03-19, …`).
        found: String,
    },
    /// The contract-details request failed.
    #[error("ibkr contract {root}: contract details request failed: {reason}")]
    Request {
        /// Root symbol.
        root: &'static str,
        /// The client's error.
        reason: String,
    },
}

/// Parses IB's `YYYYMMDD` (a longer string such as `20261218 08:30 US/Central` keeps its
/// first 8 characters).
pub fn parse_ib_date(s: &str) -> Option<Date> {
    let d = s.trim().get(..8)?;
    if !d.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Date::new(d.get(..4)?.parse().ok()?, d.get(4..6)?.parse().ok()?, d.get(6..8)?.parse().ok()?)
}

/// Picks the contract of MIA's front month on `today` among `listed`.
///
/// # Errors
/// Nothing listed, or nothing expiring in that month (the error lists what was found).
pub fn pick_front(root: Root, today: Date, listed: &[Listed]) -> Result<ResolvedContract, ContractError> {
    let name = root.spec().root;
    if listed.is_empty() {
        return Err(ContractError::NoneListed { root: name, detail: String::new() });
    }
    let (year, month) = front_month(today);
    if let Some(l) = listed.iter().find(|l| l.expiry.year == year && u32::from(l.expiry.month) == month) {
        return Ok(ResolvedContract {
            root,
            con_id: l.con_id,
            local_symbol: l.local_symbol.clone(),
            expiry: l.expiry,
        });
    }
    let mut sorted: Vec<&Listed> = listed.iter().collect();
    sorted.sort_by_key(|l| l.expiry);
    let found = sorted
        .iter()
        .map(|l| format!("{} {}", l.local_symbol, fmt_date(l.expiry)))
        .collect::<Vec<_>>()
        .join(", ");
    Err(ContractError::NoMatch { root: name, year, month, today: fmt_date(today), found })
}

/// `YYYY-MM-DD`.
pub fn fmt_date(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year, d.month, d.day)
}

/// Asks IB for the root's listed contracts and picks the front month on `today`.
///
/// # Errors
/// As [`pick_front`], or the request failed.
pub(crate) fn resolve(
    client: &ibapi::client::blocking::Client,
    root: Root,
    today: Date,
) -> Result<ResolvedContract, ContractError> {
    let name = root.spec().root;
    let details = client
        .contract_details(&future_query(root))
        .map_err(|e| ContractError::Request { root: name, reason: e.to_string() })?;
    let mut listed = Vec::new();
    let mut bad = Vec::new();
    for d in &details {
        let c = &d.contract;
        let date = parse_ib_date(&d.real_expiration_date)
            .or_else(|| parse_ib_date(&c.last_trade_date_or_contract_month))
            .or_else(|| c.last_trade_date.and_then(|t| Date::new(t.year(), u8::from(t.month()), t.day())));
        match date {
            Some(expiry) => {
                listed.push(Listed { con_id: c.contract_id, local_symbol: c.local_symbol.clone(), expiry })
            }
            None => {
                bad.push(format!("{} (expiry {:?})", c.local_symbol, c.last_trade_date_or_contract_month))
            }
        }
    }
    if listed.is_empty() && !bad.is_empty() {
        return Err(ContractError::NoneListed {
            root: name,
            detail: format!(" with a readable expiry: {}", bad.join(", ")),
        });
    }
    pick_front(root, today, &listed)
}

/// The contract-details query for every listed future of `root` on CME.
pub(crate) fn future_query(root: Root) -> ibapi::contracts::Contract {
    use ibapi::contracts::{Contract, Currency, Exchange, SecurityType, Symbol};
    Contract {
        symbol: Symbol(root.spec().root.to_string()),
        security_type: SecurityType::Future,
        exchange: Exchange("CME".into()),
        currency: Currency("USD".into()),
        ..Contract::default()
    }
}

/// The contract to subscribe and trade, by contract id.
pub(crate) fn ib_contract(c: &ResolvedContract) -> ibapi::contracts::Contract {
    let mut q = future_query(c.root);
    q.contract_id = c.con_id;
    q.local_symbol = c.local_symbol.clone();
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u8, day: u8) -> Date {
        Date::new(y, m, day).expect("date")
    }

    fn listed() -> Vec<Listed> {
        vec![
            Listed { con_id: 1, local_symbol: "ESH7".into(), expiry: d(2027, 3, 19) },
            Listed { con_id: 2, local_symbol: "ESZ6".into(), expiry: d(2026, 12, 18) },
        ]
    }

    #[test]
    fn roll_rule_month_is_picked() {
        // ESZ6 expires Fri 2026-12-18, rolls Thu 2026-12-10.
        assert_eq!(mia_model::contract::roll_date(2026, 12), d(2026, 12, 10));
        let before = pick_front(Root::Es, d(2026, 12, 9), &listed()).expect("front");
        assert_eq!(before.local_symbol, "ESZ6");
        let on_roll = pick_front(Root::Es, d(2026, 12, 10), &listed()).expect("front");
        assert_eq!(on_roll.local_symbol, "ESH7");
        let after = pick_front(Root::Es, d(2026, 12, 15), &listed()).expect("front");
        assert_eq!(after.local_symbol, "ESH7");
    }

    #[test]
    fn no_match_names_root_and_what_was_found() {
        let e = pick_front(Root::Es, d(2027, 5, 1), &listed()).expect_err("no June");
        let s = e.to_string();
        assert!(s.contains("ES") && s.contains("2027-06") && s.contains("ESH7 2027-03-19"), "{s}");
        assert!(pick_front(Root::Mes, d(2027, 5, 1), &[]).expect_err("empty").to_string().contains("MES"));
    }

    #[test]
    fn dates() {
        assert_eq!(parse_ib_date("20261218"), Some(d(2026, 12, 18)));
        assert_eq!(parse_ib_date("20261218 08:30 US/Central"), Some(d(2026, 12, 18)));
        assert_eq!(parse_ib_date("202612"), None);
        assert_eq!(parse_ib_date("2026121x"), None);
        assert_eq!(parse_ib_date("20261332"), None);
    }
}

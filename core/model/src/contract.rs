//! Contract specifications (CME E-mini and Micro E-mini S&P 500 futures) and the quarterly
//! front-month / roll-date rule.
//!
//! Source: CME Group contract specs — ES: $50 × index, tick 0.25 index points = $12.50;
//! MES: $5 × index, tick 0.25 = $1.25; quarterly months H (Mar), M (Jun), U (Sep), Z (Dec),
//! expiring on the third Friday. Roll: 8 calendar days before expiry (the Thursday of the week
//! before), the usual volume-migration date.

use crate::price::Px;
use crate::time::calendar::{nth_weekday, Date, Weekday};

/// A contract root MIA trades, as written in the config (`"ES"`, `"MES"`): an unknown root
/// is a config error, so no code looks a contract up by string after loading.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, serde::Deserialize, serde::Serialize)]
pub enum Root {
    /// E-mini S&P 500.
    #[default]
    #[serde(rename = "ES")]
    Es,
    /// Micro E-mini S&P 500.
    #[serde(rename = "MES")]
    Mes,
}

impl Root {
    /// The contract's specification.
    pub const fn spec(self) -> ContractSpec {
        match self {
            Root::Es => ContractSpec::ES,
            Root::Mes => ContractSpec::MES,
        }
    }
}

/// A futures contract's trading specification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContractSpec {
    /// Product root symbol ("ES", "MES").
    pub root: &'static str,
    /// Minimum price increment in 1e-9 units.
    pub tick: Px,
    /// Dollars per 1.0 index point.
    pub point_value_usd: i64,
}

impl ContractSpec {
    /// E-mini S&P 500.
    pub const ES: ContractSpec = ContractSpec { root: "ES", tick: 250_000_000, point_value_usd: 50 };
    /// Micro E-mini S&P 500.
    pub const MES: ContractSpec = ContractSpec { root: "MES", tick: 250_000_000, point_value_usd: 5 };

    /// Looks a spec up by root symbol.
    pub fn by_root(root: &str) -> Option<ContractSpec> {
        match root {
            "ES" => Some(Self::ES),
            "MES" => Some(Self::MES),
            _ => None,
        }
    }

    /// Dollar value of one tick.
    pub fn tick_value_usd(&self) -> f64 {
        self.point_value_usd as f64 * self.tick as f64 / 1e9
    }

    /// Money for a price difference `dpx` (1e-9 points) times `qty` contracts, in 1e-9 USD.
    #[inline]
    pub fn pnl_nano_usd(&self, dpx: Px, qty: i64) -> i64 {
        dpx.saturating_mul(qty).saturating_mul(self.point_value_usd)
    }

    /// Price difference expressed in ticks (truncated).
    #[inline]
    pub fn ticks(&self, dpx: Px) -> i64 {
        dpx / self.tick
    }
}

/// CME month code of a quarterly month.
pub fn month_code(month: u32) -> Option<char> {
    match month {
        3 => Some('H'),
        6 => Some('M'),
        9 => Some('U'),
        12 => Some('Z'),
        _ => None,
    }
}

/// Expiry date of the quarterly contract of (year, month): the third Friday.
pub fn expiry_date(year: i32, month: u32) -> Date {
    nth_weekday(year, month as u8, Weekday::Fri, 3)
}

/// Roll date: 8 calendar days before expiry.
pub fn roll_date(year: i32, month: u32) -> Date {
    expiry_date(year, month).add_days(-8)
}

/// The front quarterly contract (year, month) to trade on `date`: the first quarterly
/// contract whose roll date is after that date.
pub fn front_month(date: Date) -> (i32, u32) {
    let (mut yy, mut mm) = (date.year, u32::from(date.month).div_ceil(3) * 3);
    loop {
        if roll_date(yy, mm) > date {
            return (yy, mm);
        }
        mm += 3;
        if mm > 12 {
            mm = 3;
            yy += 1;
        }
    }
}

/// Front-month symbol for `root` on `date`, e.g. "ESM4" (single-digit year as on CME Globex).
pub fn front_symbol(root: &str, date: Date) -> String {
    let (fy, fm) = front_month(date);
    format!("{root}{}{}", month_code(fm).unwrap_or('?'), fy.rem_euclid(10))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        assert_eq!(ContractSpec::ES.tick_value_usd(), 12.5);
        assert_eq!(ContractSpec::MES.tick_value_usd(), 1.25);
        // 1 point on 2 ES = $100 = 100e9 nano-USD
        assert_eq!(ContractSpec::ES.pnl_nano_usd(1_000_000_000, 2), 100_000_000_000);
        assert_eq!(ContractSpec::ES.ticks(750_000_000), 3);
        assert_eq!(ContractSpec::by_root("MES"), Some(ContractSpec::MES));
        assert_eq!(ContractSpec::by_root("NQ"), None);
    }

    #[test]
    fn front_month_and_roll() {
        // March 2024 expiry Fri 2024-03-15, roll Thu 2024-03-07.
        let d = |y, m, day| Date::new(y, m, day).expect("valid test date");
        assert_eq!(expiry_date(2024, 3), d(2024, 3, 15));
        assert_eq!(roll_date(2024, 3), d(2024, 3, 7));
        assert_eq!(front_month(d(2024, 3, 6)), (2024, 3));
        assert_eq!(front_month(d(2024, 3, 7)), (2024, 6));
        assert_eq!(front_month(d(2024, 12, 25)), (2025, 3));
        assert_eq!(front_symbol("ES", d(2024, 3, 13)), "ESM4");
        assert_eq!(front_symbol("ES", d(2020, 12, 28)), "ESH1");
    }
}

//! The post-mortem of a trade (`docs/report.md` § Post-mortem): from the recorded trade prints
//! after the exit, how much of the move the exit caught, how much was left, and whether the
//! stop was too tight or the target too conservative; and the findings that recur over the
//! last N trades ("6 of the last 10 stops were too tight").
//!
//! Notation: `d` = +1 long / −1 short, `E` entry, `X` exit, `S` stop, `T` target (the opening
//! signal's, when it set them), prices in points; "after the exit" = the prints with time in
//! `(exit_ts, exit_ts + window]`.

/// Post-mortem settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PmConfig {
    /// Window after the exit, ns.
    pub window_ns: u64,
    /// A target exit was *too conservative* when, after it, price ran beyond the target by at
    /// least this fraction of the planned move `|T − E|`.
    pub run_beyond_frac: f64,
    /// Without a recorded target, a stop-out is judged against `E + d · rr · |E − X|` (the
    /// trade's risk taken as `|E − X|`, the stop's distance).
    pub fallback_rr: f64,
    /// Findings look at the last this many trades (stops, target exits).
    pub last_n: usize,
    /// A finding is reported when at least this share of the considered trades has it.
    pub finding_share: f64,
}

impl Default for PmConfig {
    fn default() -> Self {
        Self {
            window_ns: 15 * 60_000_000_000,
            run_beyond_frac: 0.5,
            fallback_rr: 1.0,
            last_n: 10,
            finding_share: 0.5,
        }
    }
}

/// What the post-mortem needs of a trade.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PmTrade {
    /// Long (true) or short.
    pub long: bool,
    /// Contracts.
    pub qty: u32,
    /// Average entry price.
    pub entry: f64,
    /// Average exit price.
    pub exit: f64,
    /// Maximum favourable excursion inside the trade, points (as recorded, ≥ 0).
    pub mfe_points: f64,
    /// The exit was a stop.
    pub stopped: bool,
    /// The exit was the target.
    pub at_target: bool,
    /// The opening signal's target, when it set one.
    pub target: Option<f64>,
}

/// Verdict on a stop-out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopVerdict {
    /// The trade did not end on its stop.
    NotStopped,
    /// After the stop, price reached the target within the window.
    TooTight,
    /// It did not.
    Justified,
    /// No print after the exit was recorded.
    NoData,
}

/// Verdict on a target exit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetVerdict {
    /// The trade did not end at its target.
    NotTarget,
    /// After the exit, price ran beyond the target by at least `run_beyond_frac` of the
    /// planned move.
    TooConservative,
    /// It did not.
    Adequate,
    /// No print after the exit was recorded.
    NoData,
}

impl StopVerdict {
    /// CSV / table name.
    pub fn name(self) -> &'static str {
        match self {
            Self::NotStopped => "",
            Self::TooTight => "too_tight",
            Self::Justified => "justified",
            Self::NoData => "no_data",
        }
    }
}

impl TargetVerdict {
    /// CSV / table name.
    pub fn name(self) -> &'static str {
        match self {
            Self::NotTarget => "",
            Self::TooConservative => "too_conservative",
            Self::Adequate => "adequate",
            Self::NoData => "no_data",
        }
    }
}

/// The post-mortem of one trade.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PostMortem {
    /// Prints after the exit in the window.
    pub prints_after: usize,
    /// Most favourable print after the exit (max for a long, min for a short).
    pub best_after: Option<f64>,
    /// `d · (X − E) / MFE`: the share of the best move inside the trade that the exit kept
    /// (1 = exited at the best price, < 0 = exited at a loss); `None` when MFE = 0.
    pub exit_efficiency: Option<f64>,
    /// `max(0, d · (best_after − X))`, points: the move the trade would still have had.
    pub left_points: Option<f64>,
    /// `left_points × point value × qty`, USD.
    pub left_usd: Option<f64>,
    /// The reference target of the stop verdict (the signal's target, or the fallback).
    pub reference_target: Option<f64>,
    /// Verdict on a stop-out.
    pub stop: StopVerdict,
    /// Verdict on a target exit.
    pub target: TargetVerdict,
}

/// The post-mortem of `t` from the prints after its exit (`after`: the prints in
/// `(exit_ts, exit_ts + window]`, any order); `point_value` USD per point.
pub fn analyze(t: &PmTrade, after: &[(u64, f64)], point_value: f64, cfg: &PmConfig) -> PostMortem {
    let d = if t.long { 1.0 } else { -1.0 };
    let best_after = after.iter().map(|p| p.1).fold(None, |acc: Option<f64>, p| {
        Some(match acc {
            None => p,
            Some(b) if d * (p - b) > 0.0 => p,
            Some(b) => b,
        })
    });
    let exit_efficiency = (t.mfe_points > 0.0).then(|| d * (t.exit - t.entry) / t.mfe_points);
    let left_points = best_after.map(|b| (d * (b - t.exit)).max(0.0));
    let left_usd = left_points.map(|p| p * point_value * f64::from(t.qty));
    let reference_target = if t.stopped {
        Some(t.target.unwrap_or(t.entry + d * cfg.fallback_rr * (t.entry - t.exit).abs()))
    } else {
        t.target
    };
    let stop = match (t.stopped, best_after, reference_target) {
        (false, _, _) => StopVerdict::NotStopped,
        (true, None, _) | (true, _, None) => StopVerdict::NoData,
        (true, Some(b), Some(tg)) => {
            if d * (b - tg) >= 0.0 {
                StopVerdict::TooTight
            } else {
                StopVerdict::Justified
            }
        }
    };
    let target = match (t.at_target, best_after) {
        (false, _) => TargetVerdict::NotTarget,
        (true, None) => TargetVerdict::NoData,
        (true, Some(b)) => {
            let tg = t.target.unwrap_or(t.exit);
            let planned = (tg - t.entry).abs();
            let beyond = d * (b - tg);
            if beyond > 0.0 && beyond >= cfg.run_beyond_frac * planned {
                TargetVerdict::TooConservative
            } else {
                TargetVerdict::Adequate
            }
        }
    };
    PostMortem {
        prints_after: after.len(),
        best_after,
        exit_efficiency,
        left_points,
        left_usd,
        reference_target,
        stop,
        target,
    }
}

/// The findings over the last `cfg.last_n` trades of `pms` (in time order): the share of
/// stops that were too tight (over the last N stop-outs), of target exits that were too
/// conservative (over the last N target exits), and the money left and the mean exit
/// efficiency over the last N trades. A share is a *finding* when it reaches
/// `cfg.finding_share`; every line is returned, findings first marked `FINDING:`.
pub fn findings(pms: &[PostMortem], cfg: &PmConfig) -> Vec<String> {
    let n = cfg.last_n.max(1);
    let mut out = Vec::new();
    let judged_stops: Vec<&PostMortem> =
        pms.iter().filter(|p| matches!(p.stop, StopVerdict::TooTight | StopVerdict::Justified)).collect();
    let last_stops = &judged_stops[judged_stops.len().saturating_sub(n)..];
    if !last_stops.is_empty() {
        let tight = last_stops.iter().filter(|p| p.stop == StopVerdict::TooTight).count();
        let share = tight as f64 / last_stops.len() as f64;
        let mark = if share >= cfg.finding_share { "FINDING: " } else { "" };
        out.push(format!(
            "{mark}{tight} of the last {} stops were too tight (price reached the target within the window after the stop)",
            last_stops.len()
        ));
    } else {
        out.push("no stop-out with prints after it to judge".into());
    }
    let judged_targets: Vec<&PostMortem> = pms
        .iter()
        .filter(|p| matches!(p.target, TargetVerdict::TooConservative | TargetVerdict::Adequate))
        .collect();
    let last_targets = &judged_targets[judged_targets.len().saturating_sub(n)..];
    if !last_targets.is_empty() {
        let cons = last_targets.iter().filter(|p| p.target == TargetVerdict::TooConservative).count();
        let share = cons as f64 / last_targets.len() as f64;
        let mark = if share >= cfg.finding_share { "FINDING: " } else { "" };
        out.push(format!(
            "{mark}{cons} of the last {} target exits were too conservative (price ran ≥ {:.0}% of the planned move beyond the target)",
            last_targets.len(),
            cfg.run_beyond_frac * 100.0
        ));
    } else {
        out.push("no target exit with prints after it to judge".into());
    }
    let last = &pms[pms.len().saturating_sub(n)..];
    if !last.is_empty() {
        let left: f64 = last.iter().filter_map(|p| p.left_usd).sum();
        let with_left = last.iter().filter(|p| p.left_points.is_some_and(|l| l > 0.0)).count();
        let eff: Vec<f64> = last.iter().filter_map(|p| p.exit_efficiency).collect();
        let mean_eff = if eff.is_empty() { f64::NAN } else { eff.iter().sum::<f64>() / eff.len() as f64 };
        let share = with_left as f64 / last.len() as f64;
        let mark = if share >= cfg.finding_share { "FINDING: " } else { "" };
        out.push(format!(
            "{mark}{with_left} of the last {} trades left money on the table after the exit: {left:.2} USD in all",
            last.len()
        ));
        if mean_eff.is_finite() {
            out.push(format!(
                "mean exit efficiency of the last {} trades: {:.0}%",
                last.len(),
                mean_eff * 100.0
            ));
        }
    }
    out.sort_by_key(|l| !l.starts_with("FINDING"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PV: f64 = 50.0;

    fn path(prices: &[f64]) -> Vec<(u64, f64)> {
        prices.iter().enumerate().map(|(i, &p)| (i as u64 + 1, p)).collect()
    }

    fn long(entry: f64, exit: f64, mfe: f64) -> PmTrade {
        PmTrade {
            long: true,
            qty: 1,
            entry,
            exit,
            mfe_points: mfe,
            stopped: false,
            at_target: false,
            target: None,
        }
    }

    #[test]
    fn exit_efficiency_and_money_left_on_a_long() {
        // Long 5000 → exit 5002 after the best price 5004 (MFE 4): efficiency 50 %. After the
        // exit the price goes to 5005: 3 points (150 USD) were left on the table.
        let t = long(5000.0, 5002.0, 4.0);
        let pm = analyze(&t, &path(&[5001.0, 5003.0, 5005.0, 4999.0]), PV, &PmConfig::default());
        assert_eq!(pm.exit_efficiency, Some(0.5));
        assert_eq!(pm.best_after, Some(5005.0));
        assert_eq!((pm.left_points, pm.left_usd), (Some(3.0), Some(150.0)));
        assert_eq!((pm.stop, pm.target), (StopVerdict::NotStopped, TargetVerdict::NotTarget));
        // Price only fell after the exit: nothing left.
        let pm = analyze(&t, &path(&[5001.0, 4990.0]), PV, &PmConfig::default());
        assert_eq!(pm.left_points, Some(0.0));
        // No print after the exit: unknown, not zero.
        let pm = analyze(&t, &[], PV, &PmConfig::default());
        assert_eq!((pm.left_points, pm.best_after, pm.prints_after), (None, None, 0));
        // No favourable excursion: efficiency undefined.
        assert_eq!(analyze(&long(5000.0, 4998.0, 0.0), &[], PV, &PmConfig::default()).exit_efficiency, None);
    }

    #[test]
    fn short_mirrors_the_long() {
        // Short 5000 → exit 4997 (MFE 4, efficiency 75 %); after it, low 4995: 2 points × 2.
        let t = PmTrade { long: false, qty: 2, ..long(5000.0, 4997.0, 4.0) };
        let pm = analyze(&t, &path(&[4998.0, 4995.0, 4999.0]), PV, &PmConfig::default());
        assert_eq!(pm.exit_efficiency, Some(0.75));
        assert_eq!((pm.best_after, pm.left_points, pm.left_usd), (Some(4995.0), Some(2.0), Some(200.0)));
    }

    #[test]
    fn stop_too_tight_or_justified() {
        // Long 5000, stop 4998, target 5004: stopped at 4998.
        let stopped = PmTrade { stopped: true, target: Some(5004.0), ..long(5000.0, 4998.0, 0.5) };
        let cfg = PmConfig::default();
        // Price comes back to 5004 within the window: the stop was too tight.
        let pm = analyze(&stopped, &path(&[4997.0, 5001.0, 5004.0]), PV, &cfg);
        assert_eq!(pm.stop, StopVerdict::TooTight);
        // It reaches 5003.75 only: the stop was justified.
        let pm = analyze(&stopped, &path(&[4997.0, 5003.75, 4990.0]), PV, &cfg);
        assert_eq!(pm.stop, StopVerdict::Justified);
        // No target recorded: judged against 1R = entry + |entry − exit| = 5002.
        let no_target = PmTrade { target: None, ..stopped };
        let pm = analyze(&no_target, &path(&[5002.0]), PV, &cfg);
        assert_eq!((pm.stop, pm.reference_target), (StopVerdict::TooTight, Some(5002.0)));
        assert_eq!(analyze(&no_target, &path(&[5001.75]), PV, &cfg).stop, StopVerdict::Justified);
        assert_eq!(analyze(&no_target, &[], PV, &cfg).stop, StopVerdict::NoData);
        // A short stopped at 5002 (target 4996) and price falls to 4996: too tight.
        let short = PmTrade { long: false, ..PmTrade { target: Some(4996.0), exit: 5002.0, ..stopped } };
        assert_eq!(analyze(&short, &path(&[5003.0, 4996.0]), PV, &cfg).stop, StopVerdict::TooTight);
        assert_eq!(analyze(&short, &path(&[5003.0, 4996.25]), PV, &cfg).stop, StopVerdict::Justified);
    }

    #[test]
    fn target_too_conservative_or_adequate() {
        // Long 5000, target 5004 (planned move 4): exited at the target.
        let t = PmTrade { at_target: true, target: Some(5004.0), ..long(5000.0, 5004.0, 4.0) };
        let cfg = PmConfig::default();
        // Ran to 5006 = 2 beyond = 50 % of the planned move: too conservative.
        assert_eq!(analyze(&t, &path(&[5005.0, 5006.0]), PV, &cfg).target, TargetVerdict::TooConservative);
        // 5005.75 is 1.75 beyond (< 2): adequate.
        assert_eq!(analyze(&t, &path(&[5005.75, 5001.0]), PV, &cfg).target, TargetVerdict::Adequate);
        assert_eq!(analyze(&t, &[], PV, &cfg).target, TargetVerdict::NoData);
    }

    #[test]
    fn recurring_findings_over_the_last_n() {
        let cfg = PmConfig { last_n: 10, ..PmConfig::default() };
        let stopped = PmTrade { stopped: true, target: Some(5004.0), ..long(5000.0, 4998.0, 0.5) };
        let mut pms = Vec::new();
        // 12 stops: the first 2 justified, then 6 too tight and 4 justified.
        for i in 0..12 {
            let p = if (2..8).contains(&i) { 5004.0 } else { 4999.0 };
            pms.push(analyze(&stopped, &path(&[p]), PV, &cfg));
        }
        let f = findings(&pms, &cfg);
        assert!(
            f.iter().any(|l| l == "FINDING: 6 of the last 10 stops were too tight (price reached the target within the window after the stop)"),
            "{f:?}"
        );
        assert!(f[0].starts_with("FINDING:"), "findings come first: {f:?}");
        // Fewer stops than N: all of them count.
        let f = findings(&pms[..9], &cfg);
        assert!(f.iter().any(|l| l.starts_with("FINDING: 6 of the last 9 stops were too tight")), "{f:?}");
        // Below the share: reported, not a finding.
        let few = findings(&pms[8..], &cfg);
        assert!(few.iter().any(|l| l.starts_with("0 of the last 4 stops were too tight")), "{few:?}");
        let last_n3 = findings(&pms[..8], &PmConfig { last_n: 3, ..cfg });
        assert!(last_n3.iter().any(|l| l.starts_with("FINDING: 3 of the last 3 stops")), "{last_n3:?}");
    }
}

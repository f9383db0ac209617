//! Planted, labelled pattern episodes (ground truth for the signal engine's detectors).
//!
//! With [`EpisodesConfig::enabled`] (off by default, so the default session is unchanged) each
//! trading day of a synthetic run carries a fixed script of episodes during the regular
//! session, one of each elite pattern of SIGNALS §4 (ids 1–5). While an episode runs, the
//! latent fair value follows the script's target (a stiff mean reversion to it plus a small
//! noise) instead of the free model, and the script may change the event rate and the
//! aggressor mix; the book, the trades and the order flow are produced by the ordinary
//! generator, so the detectors see the usual feed. Times are minutes after the 08:30 CT open,
//! in book time (the script aims the fair value 15 s ahead, where the informed flow trades).
//!
//! | minutes | episode | label (pattern, direction, window) |
//! |---|---|---|
//! | 45–90 | a quiet base (event rate × 0.3, aggressors never take out the touch), flat for 25 minutes, then stepping 1.5 ticks per 5-minute bar in direction `d` (a Green base for a long) | — |
//! | 90–100 | its break: 30 ticks in `d` in 10 minutes, event rate × 1.5 | base break, `d`, 85–100 (the last step of the base may already close outside it) |
//! | 105–110 | a quiet hold | — |
//! | 110–115 | a volume anomaly: event rate × 5, 75 % of aggressors on side `d`, price held | microstructure, `d`, 110–115 |
//! | 120–165 | a tight range (nine 5-minute bars) | — |
//! | 165–170 | a false breakout: 8 ticks beyond the range's middle in `d` in 2.5 min and back by the bar's close, event rate × 2.5 | headfake, `−d`, 165–170 |
//! | 230–275 | travel to the chosen gamma wall (call or put, drawn per day) | — |
//! | 275–300 | a pin one tick on the near side of the wall, event rate × 0.6 | gamma pin, against the wall (call → short, put → long), 280–300 |
//! | 300–320 | away from the wall by 16 ticks and held | — |
//! | 320–335 | back to one tick in front of the wall (the wall, the session extreme made at the pin and the pin's high-volume prices form a multi-level zone) | confluence zone and gamma pin, against the wall, 320–335 (the bar of the return, which ends at 325, is the touch) |
//!
//! The gamma episodes are planted on the first day only, at the walls of the day's pre-RTH
//! chain publication (`super::chains`, the snapshot the session holds in RTH), and only when
//! that chain's net GEX is at least [`MIN_PIN_GEX_BN`] and the wall is defined. The labels of a run are known when the session is built
//! ([`super::SynthSession::episode_labels`]) and written as CSV by [`labels_csv`].

use super::rng::Rng;
use mia_model::price::Px;

/// `SynthConfig::episodes`: planted pattern episodes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EpisodesConfig {
    /// Plant the episodes (default false: the session is the plain model).
    pub enabled: bool,
}

/// The elite pattern an episode plants (SIGNALS §4 ids).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum EpisodePattern {
    /// 1: a quality base then its break.
    BaseBreak = 1,
    /// 2: a pin near a gamma wall in positive gamma.
    GammaPin = 2,
    /// 3: a false breakout (headfake).
    Headfake = 3,
    /// 4: a volume / order-flow anomaly.
    Microstructure = 4,
    /// 5: a multi-level confluence-zone touch.
    ConfluenceZone = 5,
}

impl EpisodePattern {
    /// Every planted pattern, by id.
    pub const ALL: [EpisodePattern; 5] = [
        EpisodePattern::BaseBreak,
        EpisodePattern::GammaPin,
        EpisodePattern::Headfake,
        EpisodePattern::Microstructure,
        EpisodePattern::ConfluenceZone,
    ];

    /// The SIGNALS §4 pattern id.
    pub fn id(self) -> u8 {
        self as u8
    }

    /// The config name of the pattern (`[signal.patterns.<name>]`).
    pub fn name(self) -> &'static str {
        match self {
            EpisodePattern::BaseBreak => "base_break",
            EpisodePattern::GammaPin => "gamma_pin",
            EpisodePattern::Headfake => "headfake",
            EpisodePattern::Microstructure => "microstructure",
            EpisodePattern::ConfluenceZone => "confluence_zone",
        }
    }

    /// The pattern with SIGNALS id `id`.
    pub fn from_id(id: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.id() == id)
    }
}

/// One planted episode: the pattern, the direction a correct detector gives, and the event-time
/// window (UTC ns, `[start_ns, end_ns)`) whose decision-bar closes should see it. A decision
/// taken at the close that ends the window (the first event at or after `end_ns`) belongs to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpisodeLabel {
    /// The pattern.
    pub pattern: EpisodePattern,
    /// +1 long, −1 short.
    pub dir: i8,
    /// Window start, UTC ns.
    pub start_ns: u64,
    /// Window end, UTC ns.
    pub end_ns: u64,
}

/// The labels as CSV: `pattern_id,pattern,dir,start_ns,end_ns` (dir `long` / `short`).
pub fn labels_csv(labels: &[EpisodeLabel]) -> String {
    let mut s = String::from("pattern_id,pattern,dir,start_ns,end_ns\n");
    for l in labels {
        let dir = if l.dir > 0 { "long" } else { "short" };
        s.push_str(&format!("{},{},{dir},{},{}\n", l.pattern.id(), l.pattern.name(), l.start_ns, l.end_ns));
    }
    s
}

/// What the script asks of the generator for one second.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Directive {
    /// Fair value to aim at (ticks above the opening best bid).
    pub(crate) target: f64,
    /// Share of the gap to the target closed per second.
    pub(crate) kappa: f64,
    /// Standard deviation of the 1-second noise, ticks.
    pub(crate) noise: f64,
    /// Event-rate multiplier.
    pub(crate) rate: f64,
    /// Probability that an ordinary aggressor buys (None: the model's informed choice).
    pub(crate) buy_share: Option<f64>,
    /// Aggressors never take out the touch (a quiet, two-sided market: bars a few ticks wide).
    pub(crate) no_sweep: bool,
}

/// The gamma walls of the session in fair-value ticks (above the opening best bid).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Walls {
    pub(crate) call: f64,
    pub(crate) put: f64,
}

/// The script of one day.
#[derive(Clone, Debug)]
pub(crate) struct DayScript {
    rth_open_ns: u64,
    d_base: f64,
    d_micro: f64,
    d_head: f64,
    /// +1 call wall, −1 put wall, with its price in ticks; None: no gamma episodes today.
    wall: Option<(f64, f64)>,
    /// Anchors captured at the start of each episode (the fair value then).
    anchor: [Option<f64>; 4],
}

const MIN: u64 = 60_000_000_000;

/// End of the last episode of a day, minutes after the open.
pub(crate) const SCRIPT_END_MIN: f64 = 335.0;

impl DayScript {
    /// Draws one day's directions; `walls` only on a day where the gamma episodes are planted.
    pub(crate) fn new(rng: &mut Rng, rth_open_ns: u64, walls: Option<Walls>) -> Self {
        let mut sign = || if rng.chance(0.5) { 1.0 } else { -1.0 };
        let (d_base, d_micro, d_head) = (sign(), sign(), sign());
        let wall = walls.map(|w| if sign() > 0.0 { (1.0, w.call) } else { (-1.0, w.put) });
        Self { rth_open_ns, d_base, d_micro, d_head, wall, anchor: [None; 4] }
    }

    /// The labels of the day.
    pub(crate) fn labels(&self, out: &mut Vec<EpisodeLabel>) {
        let at = |m: u64| self.rth_open_ns + m * MIN;
        let dir = |d: f64| if d > 0.0 { 1 } else { -1 };
        let mut push = |pattern, d: f64, a: u64, b: u64| {
            out.push(EpisodeLabel { pattern, dir: dir(d), start_ns: at(a), end_ns: at(b) });
        };
        push(EpisodePattern::BaseBreak, self.d_base, 85, 100);
        push(EpisodePattern::Microstructure, self.d_micro, 110, 115);
        push(EpisodePattern::Headfake, -self.d_head, 165, 170);
        if let Some((s, _)) = self.wall {
            push(EpisodePattern::GammaPin, -s, 280, 300);
            push(EpisodePattern::ConfluenceZone, -s, 320, 335);
            push(EpisodePattern::GammaPin, -s, 320, 335);
        }
    }

    /// The directive for book time `t_ns` (the script aims there), with `fair` the current
    /// frontier of the fair value; None outside the episodes.
    pub(crate) fn directive(&mut self, t_ns: u64, fair: f64) -> Option<Directive> {
        if t_ns < self.rth_open_ns {
            return None;
        }
        let m = (t_ns - self.rth_open_ns) as f64 / MIN as f64;
        let hold = |target: f64| Directive {
            target,
            kappa: 0.05,
            noise: 0.25,
            rate: 1.0,
            buy_share: None,
            no_sweep: false,
        };
        let mut anchor = |i: usize| *self.anchor[i].get_or_insert(fair);
        if (45.0..100.0).contains(&m) {
            let a = anchor(0);
            let d = self.d_base;
            let quiet = |target: f64| Directive {
                kappa: 0.1,
                noise: 0.05,
                rate: 0.3,
                no_sweep: true,
                ..hold(target)
            };
            return Some(if m < 70.0 {
                quiet(a)
            } else if m < 90.0 {
                quiet(a + d * 0.3 * (m - 70.0))
            } else {
                Directive {
                    target: a + d * (6.0 + 3.0 * (m - 90.0)),
                    kappa: 0.1,
                    noise: 0.3,
                    rate: 1.5,
                    buy_share: None,
                    no_sweep: false,
                }
            });
        }
        if (105.0..115.0).contains(&m) {
            let a = anchor(1);
            return Some(if m < 110.0 {
                hold(a)
            } else {
                Directive { rate: 5.0, buy_share: Some(0.5 + 0.25 * self.d_micro), ..hold(a) }
            });
        }
        if (120.0..170.0).contains(&m) {
            let a = anchor(2);
            let d = self.d_head;
            return Some(if m < 165.0 {
                Directive { kappa: 0.03, noise: 0.35, ..hold(a) }
            } else if m < 167.5 {
                Directive {
                    target: a + d * 8.0 * (m - 165.0) / 2.5,
                    kappa: 0.1,
                    noise: 0.3,
                    rate: 2.5,
                    ..hold(a)
                }
            } else {
                Directive { kappa: 0.1, noise: 0.3, rate: 2.5, ..hold(a) }
            });
        }
        let (s, w) = self.wall?;
        if (230.0..SCRIPT_END_MIN).contains(&m) {
            let a = anchor(3);
            let front = w - s;
            return Some(if m < 275.0 {
                hold(a + (front - a) * ((m - 230.0) / 40.0).min(1.0))
            } else if m < 300.0 {
                Directive { kappa: 0.08, rate: 2.0, no_sweep: true, ..hold(front) }
            } else if m < 310.0 {
                hold(front - s * 16.0 * (m - 300.0) / 10.0)
            } else if m < 320.0 {
                hold(front - s * 16.0)
            } else if m < 325.0 {
                hold(front - s * 16.0 * (1.0 - (m - 320.0) / 5.0))
            } else {
                Directive { kappa: 0.08, rate: 1.5, no_sweep: true, ..hold(front) }
            });
        }
        None
    }
}

/// Net GEX ($bn per 1 %) of the first publication below which no gamma episode is planted:
/// pinning is a strong-positive-gamma phenomenon, and SIGNALS §4's pin score scales with
/// `F9 / 5 bn`, so at 2 bn a price one tick in front of the wall scores 0.8 × 0.4 = 0.32, just
/// above the detection threshold 0.3 (below it the planted pin would not be a pin by the spec).
pub(crate) const MIN_PIN_GEX_BN: f64 = 2.0;

/// The session's call and put walls in fair-value ticks from the opening best bid `open`,
/// mapped to ES with the basis `basis` (ES − SPX), when the synthetic chain's net GEX is at
/// least [`MIN_PIN_GEX_BN`].
pub(crate) fn walls(seed: u64, spot: f64, start_ns: u64, basis: f64, open: Px, tick: Px) -> Option<Walls> {
    let chain = crate::synth_chain::generate_chain(seed, spot, start_ns);
    let rep = mia_options::gex::compute_levels(&chain, Some(spot), &mia_options::gex::GexConfig::default());
    if rep.total_gex / 1e9 < MIN_PIN_GEX_BN {
        return None;
    }
    let to_ticks =
        |spx: f64| ((spx + basis) - mia_model::price::to_f64(open)) / mia_model::price::to_f64(tick);
    Some(Walls { call: to_ticks(rep.call_wall?), put: to_ticks(rep.put_wall?) })
}

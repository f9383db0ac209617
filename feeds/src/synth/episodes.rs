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
//! | 45–60 | three flat, quiet bars (event rate × 0.3, aggressors never take out the touch) | — |
//! | 60–85 | the base: five quiet bars that each test a ceiling 7 ticks beyond the flat level in direction `d` in their first 1.5 minutes and then close 1.5 ticks further in `d` than the previous bar (closes 0, 1.5, …, 6 ticks: every close inside the band, every close difference strict, band ≈ 8–9 ticks ≤ 10: a Green base with quality ≈ 0.7 for a long, SIGNALS §3.2) | — |
//! | 85–95 | its break, from the first bar after the base: 6 ticks beyond the ceiling at once, then 3 ticks a minute in `d`, event rate × 1.5 (the bar 85–90 closes outside the band and finalizes the base) | base break, `d`, 85–90 |
//! | 95–105 | free | — |
//! | 105–110 | a quiet hold | — |
//! | 110–115 | a volume anomaly: event rate × 5, 75 % of aggressors on side `d`, price held | microstructure, `d`, 110–115 |
//! | 120–165 | a tight range (nine 5-minute bars) | — |
//! | 165–170 | a false breakout: 10 ticks beyond the range's middle in `d` in 2 min with 65 % of aggressors on side `d`, then back to the middle with 80 % on the other side by the bar's close, event rate × 2.5 (the break exceeds the range's edge by more than half a bar's range, the close is back inside and the bar's delta is against the break) | headfake, `−d`, 165–170 |
//! | 230–275 | travel to the chosen gamma wall (call or put, drawn per day) | — |
//! | 275–300 | a pin one tick on the near side of the wall, event rate × 2 | gamma pin, against the wall (call → short, put → long), 280–300; confluence-zone *candidate*, 280–300 |
//! | 300–320 | away from the wall by 16 ticks and held | — |
//! | 320–335 | back to one tick in front of the wall (the bar of the return, which ends at 325, is the touch) | gamma pin, against the wall, 320–335; confluence-zone *candidate*, 320–335 |
//!
//! A zone candidate is an episode only where at least 3 levels lie within 3 ticks with the
//! wall, which the session's trades decide, not the script: the labels carry the wall's price
//! ([`EpisodeLabel::level`]) and the scorer (`mia episodes`) confirms or drops each candidate
//! from the trades (docs/strategy.md "Ground truth").
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
    /// The price the episode happens at, when it has one: the gamma wall (as an ES price on
    /// the tick grid) of the pin and zone episodes.
    pub level: Option<Px>,
}

/// The labels as CSV: `pattern_id,pattern,dir,start_ns,end_ns,level_px` (dir `long` /
/// `short`; `level_px` the raw 1e-9 price, empty without a level).
pub fn labels_csv(labels: &[EpisodeLabel]) -> String {
    let mut s = String::from("pattern_id,pattern,dir,start_ns,end_ns,level_px\n");
    for l in labels {
        let dir = if l.dir > 0 { "long" } else { "short" };
        let level = l.level.map_or(String::new(), |p| p.to_string());
        s.push_str(&format!(
            "{},{},{dir},{},{},{level}\n",
            l.pattern.id(),
            l.pattern.name(),
            l.start_ns,
            l.end_ns
        ));
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
    /// The call wall as an ES price on the tick grid.
    pub(crate) call_px: Px,
    /// The put wall as an ES price on the tick grid.
    pub(crate) put_px: Px,
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
    /// The chosen wall as an ES price.
    wall_px: Option<Px>,
    /// Anchors captured at the start of each episode (the fair value then).
    anchor: [Option<f64>; 4],
}

const MIN: u64 = 60_000_000_000;

/// How far the headfake's push goes beyond the range's middle (ticks): the 45-minute range is
/// about ±6 ticks and its 5-minute bars about 10 ticks wide, so the push breaks the range's
/// edge by about 8 ticks, more than half a bar's range (a breakout, not a poke).
const HEAD_PUSH_TICKS: f64 = 14.0;

/// Event-rate multiplier of the pin: dealers' two-sided hedging trades heavily at the pinned
/// price, which becomes a high-volume node of the session (its POC or an HVN). Selected on
/// seeds 21–40 against 3.0 (docs/strategy.md): 3.0 makes the pin's first bar a real volume
/// anomaly, and the zone's recall moved within its seed-to-seed noise.
const PIN_RATE: f64 = 2.0;

/// Minute of the base's first step bar (after three flat, quiet bars from minute 45).
const BASE_STEPS_MIN: f64 = 60.0;
/// Minute the base break starts in script time: 15 s (the informed flow's look-ahead) after
/// the 5-minute bar boundary at 85, so the informed aggressors start it at the boundary and
/// the base's last bar is not moved; the bar 85–90 is the first bar after the base and must
/// close outside it.
const BREAK_MIN: f64 = 85.25;
/// Share of aggressors on side `d` while a base bar settles to its close.
const BASE_CLOSE_SHARE: f64 = 0.35;
/// Height of the base's ceiling above its anchor (ticks, in `d`): each step bar tests it.
const BASE_CEILING_TICKS: f64 = 6.0;
/// Close-to-close step of the base's bars (ticks, in `d`): four steps of 1.25 ticks keep every
/// close a tick inside the ceiling; with the closing aggressors on side `d` (the close prints
/// at the ask for a long) each close difference is one or two ticks, strict (a Green base).
const BASE_STEP_TICKS: f64 = 1.25;

/// End of the last episode of a day, minutes after the open.
pub(crate) const SCRIPT_END_MIN: f64 = 335.0;

impl DayScript {
    /// Draws one day's directions; `walls` only on a day where the gamma episodes are planted.
    pub(crate) fn new(rng: &mut Rng, rth_open_ns: u64, walls: Option<Walls>) -> Self {
        let mut sign = || if rng.chance(0.5) { 1.0 } else { -1.0 };
        let (d_base, d_micro, d_head) = (sign(), sign(), sign());
        let pick =
            walls.map(|w| if sign() > 0.0 { (1.0, w.call, w.call_px) } else { (-1.0, w.put, w.put_px) });
        let wall = pick.map(|(s, w, _)| (s, w));
        let wall_px = pick.map(|(_, _, p)| p);
        Self { rth_open_ns, d_base, d_micro, d_head, wall, wall_px, anchor: [None; 4] }
    }

    /// The labels of the day.
    pub(crate) fn labels(&self, out: &mut Vec<EpisodeLabel>) {
        let at = |m: u64| self.rth_open_ns + m * MIN;
        let dir = |d: f64| if d > 0.0 { 1 } else { -1 };
        let mut push = |pattern, d: f64, a: u64, b: u64, level: Option<Px>| {
            out.push(EpisodeLabel { pattern, dir: dir(d), start_ns: at(a), end_ns: at(b), level });
        };
        push(EpisodePattern::BaseBreak, self.d_base, 85, 90, None);
        push(EpisodePattern::Microstructure, self.d_micro, 110, 115, None);
        push(EpisodePattern::Headfake, -self.d_head, 165, 170, None);
        if let Some((s, _)) = self.wall {
            let w = self.wall_px;
            push(EpisodePattern::GammaPin, -s, 280, 300, w);
            // zone *candidates*: a zone episode only where ≥ 3 levels coincide at the wall,
            // which the session's trades decide (the scorer confirms them, docs/strategy.md)
            push(EpisodePattern::ConfluenceZone, -s, 280, 300, w);
            push(EpisodePattern::ConfluenceZone, -s, 320, 335, w);
            push(EpisodePattern::GammaPin, -s, 320, 335, w);
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
        if (45.0..BREAK_MIN + 10.0).contains(&m) {
            let a = anchor(0);
            let d = self.d_base;
            let quiet = |target: f64| Directive {
                kappa: 0.1,
                noise: 0.05,
                rate: 0.3,
                no_sweep: true,
                ..hold(target)
            };
            return Some(if m < BASE_STEPS_MIN {
                quiet(a)
            } else if m < 85.0 {
                // five bars under a ceiling: each tests it, then closes a step further in `d`
                let k = ((m - BASE_STEPS_MIN) / 5.0).floor();
                let into_bar = m - BASE_STEPS_MIN - 5.0 * k;
                if into_bar < 1.5 {
                    quiet(a + d * BASE_CEILING_TICKS)
                } else {
                    Directive {
                        buy_share: Some(0.5 + BASE_CLOSE_SHARE * d),
                        ..quiet(a + d * BASE_STEP_TICKS * k)
                    }
                }
            } else if m < BREAK_MIN {
                quiet(a + d * BASE_STEP_TICKS * 4.0)
            } else {
                // the break starts with the bar: beyond the ceiling at once, then running
                Directive {
                    target: a + d * (BASE_CEILING_TICKS + 6.0 + 3.0 * (m - BREAK_MIN)),
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
            } else if m < 167.0 {
                // the push: through the range's edge, buyers (for d = +1) leading
                Directive {
                    target: a + d * HEAD_PUSH_TICKS * (m - 165.0) / 2.0,
                    kappa: 0.1,
                    noise: 0.3,
                    rate: 2.5,
                    buy_share: Some(0.5 + 0.15 * d),
                    no_sweep: false,
                }
            } else {
                // the failure: sellers take it back inside the range before the bar closes
                Directive { kappa: 0.1, noise: 0.3, rate: 2.5, buy_share: Some(0.5 - 0.3 * d), ..hold(a) }
            });
        }
        let (s, w) = self.wall?;
        if (230.0..SCRIPT_END_MIN).contains(&m) {
            let a = anchor(3);
            let front = w - s;
            return Some(if m < 275.0 {
                hold(a + (front - a) * ((m - 230.0) / 40.0).min(1.0))
            } else if m < 300.0 {
                Directive { kappa: 0.08, rate: PIN_RATE, no_sweep: true, ..hold(front) }
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
    let (call, put) = (to_ticks(rep.call_wall?), to_ticks(rep.put_wall?));
    let px = |t: f64| open + t.round() as Px * tick;
    Some(Walls { call, put, call_px: px(call), put_px: px(put) })
}

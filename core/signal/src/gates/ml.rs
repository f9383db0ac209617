//! The ML entry filter: a trained model scores each *entry* signal the strategy emits and the
//! stage drops the entries it rejects (exits always pass). Strategy-agnostic: it reads the
//! signal and the feature vector, never the strategy's state.
//!
//! The crate graph (`docs/architecture.md`) lets `mia-signal` depend on model, options and
//! runtime only, and `mia-ml` on nothing of MIA, so the flat evaluator cannot be called from
//! here directly. The seam is the [`EntryModel`] trait: `mia-tools` (which may depend on both)
//! implements it for `mia_ml::FlatEnsemble` and hands the stage an `Arc<dyn EntryModel>`. The
//! one indirect call happens per entry candidate (a few per session), not per event, and
//! allocates nothing.
//!
//! **Hot swap.** A new model becomes visible only at a sequenced point: the cold side writes it
//! into slot `n` of a [`ModelBoard`] (write-once slots: a reader sees a slot empty or complete,
//! never torn, with one acquire load and no lock), then sends `Control::ModelPublished { arg: n }`
//! through the sequencer (journaled like every input); the stage adopts slot `n` when that input
//! reaches it. A journal replay puts the same models on a board, so it adopts them at the same
//! input and gives the same digest.
//!
//! **Rejected entries.** When an entry is rejected the strategy still believes it entered; the
//! gate remembers that "shadow" position and drops the signals that belong to it (its exit, or
//! an add in the same direction), so the exec stage never sees an exit of a trade it was never
//! given. A signal in the opposite direction is a new entry and is scored.

use mia_model::features::FeatureVector;
use mia_model::msg::Signal;
use mia_model::order::Direction;
use mia_model::price::UNDEF_PX;
use std::sync::{Arc, OnceLock};

/// A model scoring entry signals (implemented in `mia-tools` over `mia_ml::FlatEnsemble`).
pub trait EntryModel: Send + Sync + 'static {
    /// Probability that the entry `sig` taken with features `v` succeeds. Allocation-free.
    fn probability(&self, v: &FeatureVector, sig: &Signal) -> f64;
    /// Approval threshold: approve iff `probability ≥ threshold` (NaN never approves).
    fn threshold(&self) -> f64;
    /// A short description for the summary (file name, members).
    fn label(&self) -> &str;
}

/// Models published during a session, by number `1..=capacity` (write-once slots).
pub struct ModelBoard {
    slots: Box<[OnceLock<Arc<dyn EntryModel>>]>,
}

impl std::fmt::Debug for ModelBoard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelBoard").field("capacity", &self.slots.len()).finish()
    }
}

impl ModelBoard {
    /// A board for publications `1..=capacity` (allocates once).
    pub fn new(capacity: usize) -> Self {
        Self { slots: (0..capacity).map(|_| OnceLock::new()).collect() }
    }

    /// Writes publication `n` (one writer: the cold side). Fails when `n` is 0, beyond the
    /// capacity, or already published.
    ///
    /// # Errors
    /// The reason, as text.
    pub fn publish(&self, n: u64, model: Arc<dyn EntryModel>) -> Result<(), String> {
        let slot = n
            .checked_sub(1)
            .and_then(|i| self.slots.get(i as usize))
            .ok_or_else(|| format!("model publication {n}: outside 1..={}", self.slots.len()))?;
        slot.set(model).map_err(|_| format!("model publication {n}: already published"))
    }

    /// Publication `n`, `None` if it was never published.
    pub fn read(&self, n: u64) -> Option<Arc<dyn EntryModel>> {
        n.checked_sub(1).and_then(|i| self.slots.get(i as usize)).and_then(|s| s.get().cloned())
    }
}

/// The gate's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MlCounters {
    /// Entries the model approved.
    pub approved: u64,
    /// Entries the model rejected.
    pub rejected: u64,
    /// Signals dropped because they belonged to a rejected entry (its exit, an add).
    pub shadow_dropped: u64,
    /// Entries that passed because no model was loaded (the filter was off).
    pub unfiltered: u64,
    /// Models adopted from `ModelPublished` inputs.
    pub swaps: u64,
    /// `ModelPublished` inputs whose publication was not on the board (nothing changed).
    pub missed: u64,
}

/// The ML entry filter of the signal stage.
#[derive(Default)]
pub struct MlGate {
    model: Option<Arc<dyn EntryModel>>,
    board: Option<Arc<ModelBoard>>,
    /// Direction of the last signal passed on.
    pos: Direction,
    /// Direction of a rejected entry the strategy still holds (`Flat`: none).
    shadow: Direction,
    /// Counters.
    pub counters: MlCounters,
}

impl MlGate {
    /// A gate without a model (off: every signal passes, counted as unfiltered).
    pub fn new() -> Self {
        Self::default()
    }

    /// Uses `model` from now on (the session's opening model).
    pub fn set_model(&mut self, model: Arc<dyn EntryModel>) {
        self.model = Some(model);
    }

    /// Reads `ModelPublished` publications from `board`.
    pub fn attach_board(&mut self, board: Arc<ModelBoard>) {
        self.board = Some(board);
    }

    /// The model in use.
    pub fn model(&self) -> Option<&Arc<dyn EntryModel>> {
        self.model.as_ref()
    }

    /// Adopts publication `n` (a `Control::ModelPublished { arg: n }` input reached the stage).
    #[cold]
    pub fn on_published(&mut self, n: u64) {
        match self.board.as_ref().and_then(|b| b.read(n)) {
            Some(m) => {
                self.model = Some(m);
                self.counters.swaps += 1;
            }
            None => self.counters.missed += 1,
        }
    }

    /// Filters one strategy signal: `Some` is what the stage emits (the signal, or an exit
    /// replacing a rejected flip), `None` drops it.
    #[inline]
    pub fn filter(&mut self, sig: Signal, v: &FeatureVector) -> Option<Signal> {
        let d = sig.direction;
        if self.shadow != Direction::Flat {
            if d == Direction::Flat || d == self.shadow {
                // The exit (or an add) of an entry that was never passed on.
                if d == Direction::Flat {
                    self.shadow = Direction::Flat;
                }
                self.counters.shadow_dropped += 1;
                return None;
            }
            self.shadow = Direction::Flat;
        }
        let entry = d != Direction::Flat && d != self.pos;
        if !entry {
            self.pos = d;
            return Some(sig);
        }
        let Some(model) = &self.model else {
            self.counters.unfiltered += 1;
            self.pos = d;
            return Some(sig);
        };
        if model.probability(v, &sig) >= model.threshold() {
            self.counters.approved += 1;
            self.pos = d;
            return Some(sig);
        }
        self.counters.rejected += 1;
        self.shadow = d;
        if self.pos == Direction::Flat {
            return None;
        }
        // A rejected flip still closes the position it flips out of.
        self.pos = Direction::Flat;
        Some(Signal { direction: Direction::Flat, stop: UNDEF_PX, target: UNDEF_PX, confidence: 0.0, ..sig })
    }

    /// The summary line: `off (no model)`, or the model, its threshold and the counts.
    pub fn describe(&self) -> String {
        let c = &self.counters;
        match &self.model {
            None if c.swaps == 0 => {
                format!("off (no model): {} entries passed unfiltered", c.unfiltered)
            }
            None => "off".to_string(),
            Some(m) => format!(
                "model {} threshold {:.2}: approved {} rejected {} (exits of rejected entries dropped: {}; swaps: {}, missed: {}{})",
                m.label(),
                m.threshold(),
                c.approved,
                c.rejected,
                c.shadow_dropped,
                c.swaps,
                c.missed,
                if c.unfiltered > 0 { format!(", passed before a model: {}", c.unfiltered) } else { String::new() }
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mia_model::features::FeatureId;

    /// Approves iff the book imbalance times the direction is at least 0.5.
    struct Obi(&'static str);
    impl EntryModel for Obi {
        fn probability(&self, v: &FeatureVector, sig: &Signal) -> f64 {
            let s = if sig.direction == Direction::Long { 1.0 } else { -1.0 };
            f64::from(v.get(FeatureId::BookImbalance).unwrap_or(0.0)) * s
        }
        fn threshold(&self) -> f64 {
            0.5
        }
        fn label(&self) -> &str {
            self.0
        }
    }

    fn sig(d: Direction) -> Signal {
        Signal { direction: d, stop: 1, target: 2, ..Signal::default() }
    }

    fn vec_obi(x: f32) -> FeatureVector {
        let mut v = FeatureVector::default();
        v.set(FeatureId::BookImbalance, x);
        v
    }

    #[test]
    fn off_passes_everything_and_says_so() {
        let mut g = MlGate::new();
        assert!(g.filter(sig(Direction::Long), &vec_obi(-1.0)).is_some());
        assert!(g.filter(sig(Direction::Flat), &vec_obi(-1.0)).is_some());
        assert_eq!(g.counters.unfiltered, 1);
        assert!(g.describe().starts_with("off (no model)"), "{}", g.describe());
    }

    #[test]
    fn rejected_entries_and_their_exits_are_dropped_approved_pass() {
        let mut g = MlGate::new();
        g.set_model(Arc::new(Obi("obi")));
        let (l, s, f) = (Direction::Long, Direction::Short, Direction::Flat);
        assert_eq!(g.filter(sig(l), &vec_obi(0.2)), None, "rejected");
        assert_eq!(g.filter(sig(f), &vec_obi(0.0)), None, "its exit");
        let ok = g.filter(sig(l), &vec_obi(0.9));
        assert_eq!(ok.map(|x| x.direction), Some(l), "approved");
        assert_eq!(g.filter(sig(f), &vec_obi(0.0)).map(|x| x.direction), Some(f), "its exit passes");
        // Rejected entry, then a flip to the other side: a new entry, scored.
        assert_eq!(g.filter(sig(s), &vec_obi(0.9)), None);
        assert_eq!(g.filter(sig(l), &vec_obi(0.8)).map(|x| x.direction), Some(l));
        // A rejected flip out of a position becomes its exit.
        let e = g.filter(sig(s), &vec_obi(0.9)).expect("an exit");
        assert_eq!((e.direction, e.stop, e.target), (f, UNDEF_PX, UNDEF_PX));
        assert_eq!(g.filter(sig(f), &vec_obi(0.0)), None, "the strategy's exit of the rejected short");
        assert_eq!(
            g.counters,
            MlCounters { approved: 2, rejected: 3, shadow_dropped: 2, ..MlCounters::default() }
        );
        let d = g.describe();
        assert!(d.contains("model obi threshold 0.50: approved 2 rejected 3"), "{d}");
    }

    #[test]
    fn a_published_model_is_adopted_only_when_announced() {
        let board = Arc::new(ModelBoard::new(2));
        let mut g = MlGate::new();
        g.attach_board(board.clone());
        board.publish(1, Arc::new(Obi("swapped"))).expect("publish");
        assert!(board.publish(1, Arc::new(Obi("again"))).is_err(), "write-once");
        assert!(board.publish(3, Arc::new(Obi("far"))).is_err(), "beyond capacity");
        assert!(g.filter(sig(Direction::Long), &vec_obi(0.0)).is_some(), "no model yet: passes");
        assert!(g.filter(sig(Direction::Flat), &vec_obi(0.0)).is_some());
        g.on_published(1);
        assert_eq!(g.model().map(|m| m.label()), Some("swapped"));
        assert_eq!(g.filter(sig(Direction::Long), &vec_obi(0.0)), None, "now filtered");
        g.on_published(2);
        assert_eq!((g.counters.swaps, g.counters.missed), (1, 1));
    }
}

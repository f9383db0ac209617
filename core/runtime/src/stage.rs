//! The stage API: a stage consumes one [`Envelope`] at a time and pushes zero or more
//! envelopes into a fixed-capacity [`Outbox`], and describes its results in a
//! [`StageReport`] after the run. The pipeline runner (see [`crate::pipeline`])
//! drains the outbox either straight into the next stage (inline mode) or into an SPSC ring
//! (threaded mode), so the same stage code runs in both modes.
//!
//! Invariant: a stage is a pure function of the sequence of envelopes it has received (it may
//! keep state, but reads no wall clock and no shared mutable state), which is what makes inline
//! and threaded runs produce identical decisions.

use mia_model::fixed_vec::FixedVec;
use mia_model::msg::Envelope;

/// Maximum number of envelopes a stage may emit for one input.
pub const OUTBOX_CAP: usize = 16;

/// The fixed-capacity, allocation-free output buffer of one stage step. Beyond
/// [`OUTBOX_CAP`] an envelope is dropped and counted in `overflow()` (a stage bug that the
/// runner reports).
pub type Outbox = FixedVec<Envelope, OUTBOX_CAP>;

/// One step of the decision path.
pub trait Stage: Send + 'static {
    /// Short static name used in latency reports (e.g. `"book+signal"`).
    fn name(&self) -> &'static str;

    /// Processes one envelope, pushing outputs (including forwarded inputs) into `out`.
    fn on_envelope(&mut self, env: &Envelope, out: &mut Outbox);

    /// Called once after the last input, to flush end-of-stream outputs.
    fn finish(&mut self, _out: &mut Outbox) {}

    /// Called when the stage has nothing to process: by a stage thread once per spell of an
    /// empty input ring, before it spins or yields, and by the inline runner after each input
    /// has gone through the whole chain. For work that prepares the stage (warming its code
    /// and data before a known expensive input) and changes no output: it has no outbox, and
    /// whether and when it runs depends on timing, so nothing it does may reach a decision.
    fn on_idle(&mut self) {}

    /// Whether [`Self::on_idle`] does anything; asked once when the chain is built, so the
    /// runners call the hook only on stages that use it.
    fn wants_idle(&self) -> bool {
        false
    }

    /// Adds the stage's end-of-run figures to `r` (counters, values, artefacts), so the
    /// caller reads results by name, never by downcasting a stage at a position.
    fn report(&self, _r: &mut StageReport) {}
}

/// What stages say about a run, by name (cold: built once after the run).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StageReport {
    /// Integer counters (`"signals"`, `"sanity.off_tick"`, …).
    pub counters: Vec<(&'static str, u64)>,
    /// Real values (`"net_pnl_usd"`, …).
    pub values: Vec<(&'static str, f64)>,
    /// Artefacts to write beside the run: (file name, contents).
    pub files: Vec<(&'static str, String)>,
    /// Problems that must not pass silently (e.g. a record buffer that overflowed).
    pub warnings: Vec<String>,
    /// Descriptive lines for the run summary, by key (`"venue"`: the venue and its models).
    pub notes: Vec<(&'static str, String)>,
    /// Feature-vector statistics over the run's snapshots (the signal stage).
    pub features: Option<mia_model::feature_stats::FeatureStats>,
}

impl StageReport {
    /// Adds a counter.
    pub fn count(&mut self, key: &'static str, v: u64) {
        self.counters.push((key, v));
    }

    /// Adds a value.
    pub fn value(&mut self, key: &'static str, v: f64) {
        self.values.push((key, v));
    }

    /// The counter `key` (0 when no stage reported it).
    pub fn counter(&self, key: &str) -> u64 {
        self.counters.iter().filter(|(k, _)| *k == key).map(|(_, v)| *v).sum()
    }

    /// The value `key`, if a stage reported it.
    pub fn get_value(&self, key: &str) -> Option<f64> {
        self.values.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    /// Adds a descriptive line for the summary.
    pub fn note(&mut self, key: &'static str, text: String) {
        self.notes.push((key, text));
    }

    /// The note `key`, if a stage wrote one.
    pub fn get_note(&self, key: &str) -> Option<&str> {
        self.notes.iter().find(|(k, _)| *k == key).map(|(_, v)| v.as_str())
    }

    /// The artefact `name`, if a stage produced it.
    pub fn file(&self, name: &str) -> Option<&str> {
        self.files.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mia_model::event::Event;
    use mia_model::msg::Msg;

    #[test]
    fn outbox_bounds_and_counts_overflow() {
        let mut o = Outbox::new();
        let env = Envelope { t0: 0, msg: Msg::Market(Event::default()) };
        for _ in 0..OUTBOX_CAP + 3 {
            o.push(env);
        }
        assert_eq!(o.len(), OUTBOX_CAP);
        assert_eq!(o.overflow(), 3);
        assert!(o.get(OUTBOX_CAP).is_none());
        o.clear();
        assert!(o.is_empty());
    }
}

//! The stage API: a stage consumes one [`Envelope`] at a time and pushes zero or more
//! envelopes into a fixed-capacity [`Outbox`]. The pipeline runner (see [`crate::pipeline`])
//! drains the outbox either straight into the next stage (inline mode) or into an SPSC ring
//! (threaded mode), so the same stage code runs in both modes.
//!
//! Invariant: a stage is a pure function of the sequence of envelopes it has received (it may
//! keep state, but reads no wall clock and no shared mutable state), which is what makes inline
//! and threaded runs produce identical decisions.

use crate::msg::Envelope;

/// Maximum number of envelopes a stage may emit for one input.
pub const OUTBOX_CAP: usize = 16;

/// A fixed-capacity, allocation-free output buffer for one stage step.
pub struct Outbox {
    /// Slots `0..len` hold the pending envelopes; the rest are stale copies (never read).
    items: [Envelope; OUTBOX_CAP],
    len: usize,
    overflow: u64,
}

impl Default for Outbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Outbox {
    /// An empty outbox.
    pub const fn new() -> Self {
        const BLANK: Envelope = Envelope {
            t0: 0,
            msg: crate::msg::Msg::Market(crate::event::Event {
                ts_event: 0,
                ts_recv: 0,
                seq: 0,
                price: 0,
                order_id: 0,
                size: 0,
                count: 0,
                instrument_id: 0,
                kind: crate::event::EventKind::Status,
                side: crate::event::Side::None,
                depth: 0,
                flags: 0,
            }),
        };
        Self { items: [BLANK; OUTBOX_CAP], len: 0, overflow: 0 }
    }

    /// Appends an envelope. Beyond [`OUTBOX_CAP`] the envelope is dropped and counted in
    /// [`Outbox::overflow`] (a stage bug that the runner reports).
    #[inline]
    pub fn push(&mut self, env: Envelope) {
        if self.len < OUTBOX_CAP {
            self.items[self.len] = env;
            self.len += 1;
        } else {
            self.overflow += 1;
        }
    }

    /// Number of envelopes waiting.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nothing is waiting.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The envelope at `i` (< `len`).
    #[inline]
    pub fn get(&self, i: usize) -> Option<Envelope> {
        self.as_slice().get(i).copied()
    }

    /// The pending envelopes, in push order.
    #[inline]
    pub fn as_slice(&self) -> &[Envelope] {
        &self.items[..self.len]
    }

    /// Empties the outbox (keeps the overflow count).
    #[inline]
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Envelopes dropped because the outbox was full.
    pub fn overflow(&self) -> u64 {
        self.overflow
    }
}

/// One step of the decision path.
pub trait Stage: Send + 'static {
    /// Short static name used in latency reports (e.g. `"book+signal"`).
    fn name(&self) -> &'static str;

    /// Processes one envelope, pushing outputs (including forwarded inputs) into `out`.
    fn on_envelope(&mut self, env: &Envelope, out: &mut Outbox);

    /// Called once after the last input, to flush end-of-stream outputs.
    fn finish(&mut self, _out: &mut Outbox) {}

    /// The stage as `Any`, so the caller can inspect a concrete stage after a run.
    fn as_any(&self) -> &dyn std::any::Any;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Event;
    use crate::msg::Msg;

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

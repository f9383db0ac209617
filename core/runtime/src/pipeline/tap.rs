//! Taps: SPSC rings from the hot path to a cold consumer (the journal writer), with a policy
//! for a full ring, and the one spin → yield → sleep wait used by every ring in the runtime.

use mia_model::msg::Envelope;
use std::time::Duration;

/// What to do when a tap ring is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TapPolicy {
    /// Wait for space (never lose a record).
    Block,
    /// Drop and count.
    Drop,
}

/// A tap ring to a cold consumer (of envelopes by default; the signal stage also taps its
/// feature snapshots).
pub struct Tap<T: Copy = Envelope> {
    /// Producer end.
    pub producer: rtrb::Producer<T>,
    /// Full-ring policy.
    pub policy: TapPolicy,
    /// Envelopes dropped (policy `Drop`) or lost because the consumer went away.
    pub dropped: u64,
}

impl<T: Copy> Tap<T> {
    /// A tap over `producer`.
    pub fn new(producer: rtrb::Producer<T>, policy: TapPolicy) -> Self {
        Self { producer, policy, dropped: 0 }
    }

    /// Sends one item under the tap's policy.
    #[inline]
    pub fn send(&mut self, env: T) {
        let mut item = env;
        let mut backoff = Backoff::new();
        loop {
            match self.producer.push(item) {
                Ok(()) => return,
                Err(rtrb::PushError::Full(back)) => {
                    if self.policy == TapPolicy::Drop || self.producer.is_abandoned() {
                        self.dropped += 1;
                        return;
                    }
                    item = back;
                    backoff.snooze();
                }
            }
        }
    }
}

/// The optional taps of a run.
#[derive(Default)]
pub struct Taps {
    /// Market events as they enter the first stage.
    pub input: Option<Tap>,
    /// Everything that reaches the sink.
    pub output: Option<Tap>,
}

/// Wait strategy for an idle ring: spin, then yield the CPU; a cold consumer (`sleepy`) then
/// sleeps, so it does not compete with the hot threads for cores.
pub(crate) struct Backoff {
    n: u32,
    spins: u32,
    sleepy: bool,
}

impl Backoff {
    pub(crate) fn new() -> Self {
        Self { n: 0, spins: 64, sleepy: false }
    }

    /// A hot-stage wait: spin `spins` times, then yield.
    pub(crate) fn hot(spins: u32) -> Self {
        Self { n: 0, spins, sleepy: false }
    }

    pub(crate) fn cold() -> Self {
        Self { n: 0, spins: 64, sleepy: true }
    }

    #[inline]
    pub(crate) fn snooze(&mut self) {
        if self.n < self.spins {
            std::hint::spin_loop();
        } else if !self.sleepy || self.n < self.spins + 64 {
            std::thread::yield_now();
        } else {
            std::thread::sleep(Duration::from_micros(500));
        }
        self.n = self.n.saturating_add(1);
    }

    #[inline]
    pub(crate) fn reset(&mut self) {
        self.n = 0;
    }
}

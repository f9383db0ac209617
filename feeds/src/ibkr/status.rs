//! Feed status shared with the stale-data guard and monitoring: lock-free atomics behind an
//! `Arc`, written by the edge threads, read by anyone.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};

/// Connection state of the edge.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkState {
    /// Not connected yet.
    Connecting = 0,
    /// Connected, subscriptions live.
    Connected = 1,
    /// The socket dropped, or TWS lost IB (1100): data is not flowing.
    Lost = 2,
    /// Connected again after a loss (resubscribed).
    Restored = 3,
    /// The edge stopped (shutdown or gave up reconnecting).
    Stopped = 4,
}

impl LinkState {
    fn from_u8(v: u8) -> Self {
        match v {
            1 => Self::Connected,
            2 => Self::Lost,
            3 => Self::Restored,
            4 => Self::Stopped,
            _ => Self::Connecting,
        }
    }

    /// True when data can flow.
    pub fn is_up(self) -> bool {
        matches!(self, Self::Connected | Self::Restored)
    }
}

/// The edge's status counters.
#[derive(Debug, Default)]
pub struct FeedStatus {
    state: AtomicU8,
    last_msg_ns: AtomicU64,
    /// Market events pushed to the ring.
    pub events: AtomicU64,
    /// Events dropped because the ring was full (the sequencer is not keeping up).
    pub ring_full: AtomicU64,
    /// Connection losses seen.
    pub losses: AtomicU64,
    /// Restorations (resubscriptions) done.
    pub restores: AtomicU64,
    /// Pacing violations (IB error 100).
    pub pacing: AtomicU64,
    /// Execution reports dropped as unknown or duplicate.
    pub dropped_reports: AtomicU64,
    /// Fills reported without a commission (the report did not arrive in time).
    pub fills_without_fee: AtomicU64,
}

impl FeedStatus {
    /// The current link state.
    pub fn state(&self) -> LinkState {
        LinkState::from_u8(self.state.load(Ordering::Acquire))
    }

    /// Sets the link state (counting losses and restores).
    pub fn set_state(&self, s: LinkState) {
        let old = self.state.swap(s as u8, Ordering::AcqRel);
        if old != s as u8 {
            match s {
                LinkState::Lost => {
                    self.losses.fetch_add(1, Ordering::Relaxed);
                }
                LinkState::Restored => {
                    self.restores.fetch_add(1, Ordering::Relaxed);
                }
                _ => {}
            }
        }
    }

    /// Records that a message arrived at `now_ns` (local clock, ns since the epoch).
    pub fn touch(&self, now_ns: u64) {
        self.last_msg_ns.store(now_ns, Ordering::Release);
    }

    /// Local time of the last market message (0 = none yet).
    pub fn last_msg_ns(&self) -> u64 {
        self.last_msg_ns.load(Ordering::Acquire)
    }

    /// Age of the last market message at `now_ns`; `None` before the first one.
    pub fn last_msg_age_ns(&self, now_ns: u64) -> Option<u64> {
        match self.last_msg_ns() {
            0 => None,
            t => Some(now_ns.saturating_sub(t)),
        }
    }
}

/// The local clock, ns since the UNIX epoch (the runtime's one wall-clock reading).
pub use mia_runtime::clock::wall_ns as now_ns;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_transitions_are_counted() {
        let s = FeedStatus::default();
        assert_eq!(s.state(), LinkState::Connecting);
        s.set_state(LinkState::Connected);
        s.set_state(LinkState::Lost);
        s.set_state(LinkState::Lost);
        s.set_state(LinkState::Restored);
        assert_eq!(s.losses.load(Ordering::Relaxed), 1);
        assert_eq!(s.restores.load(Ordering::Relaxed), 1);
        assert!(s.state().is_up());
        assert_eq!(s.last_msg_age_ns(10), None);
        s.touch(100);
        assert_eq!(s.last_msg_age_ns(250), Some(150));
    }
}

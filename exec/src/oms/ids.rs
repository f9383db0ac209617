//! Client order ids that stay unique across restarts.
//!
//! [`IdGen`] hands out increasing ids and remembers the last one issued, its **high-water
//! mark**. The caller persists the mark (the journal already records every intent with its
//! id, so the largest id journaled is a valid mark) and a restarted process continues with
//! [`IdGen::resume`]: every id it issues is above every id issued before the restart.

/// Increasing client order id generator with a persistable high-water mark.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct IdGen {
    last: u64,
}

impl IdGen {
    /// A generator for a fresh account: the first id is 1 (0 is never issued).
    pub fn new() -> Self {
        Self { last: 0 }
    }

    /// A generator that continues after `hwm`, the mark of a previous run: the first id is
    /// `hwm + 1`.
    pub fn resume(hwm: u64) -> Self {
        Self { last: hwm }
    }

    /// The next id (strictly greater than every id issued or resumed from). Saturates at
    /// `u64::MAX`, which is never reached in practice (2⁶⁴ orders).
    #[inline]
    pub fn next_id(&mut self) -> u64 {
        self.last = self.last.saturating_add(1);
        self.last
    }

    /// The high-water mark: the last id issued (or the mark resumed from), to persist.
    #[inline]
    pub fn hwm(&self) -> u64 {
        self.last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_increase_and_survive_a_restart() {
        let mut g = IdGen::new();
        assert_eq!([g.next_id(), g.next_id(), g.next_id()], [1, 2, 3]);
        let saved = g.hwm();
        assert_eq!(saved, 3);
        // "Restart": a new process resumes from the persisted mark.
        let mut r = IdGen::resume(saved);
        assert_eq!(r.hwm(), 3);
        assert_eq!(r.next_id(), 4);
        assert_eq!(IdGen::resume(u64::MAX - 1).next_id(), u64::MAX);
    }
}

//! The retry back-off of the broker edges (IBKR resubscriptions and reconciliations, the DTC
//! reconnect): an initial wait, doubled after each failure up to a cap, back to the start
//! after a success. One type, so every edge retries the same way.

use std::time::Duration;

/// A doubling back-off with a cap (see the [module docs](self)).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Backoff {
    initial: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    /// Starts at `initial`, doubling up to `max` (a `max` below `initial` caps at `initial`).
    pub(crate) fn new(initial: Duration, max: Duration) -> Self {
        Self { initial, max: max.max(initial), next: initial }
    }

    /// A retry failed (or is about to be made): the wait to use now (returned), and a doubled
    /// one for the next failure.
    pub(crate) fn failed(&mut self) -> Duration {
        let wait = self.next;
        self.next = (wait * 2).min(self.max);
        wait
    }

    /// A retry succeeded: the next failure waits the initial delay again.
    pub(crate) fn reset(&mut self) {
        self.next = self.initial;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_to_its_cap_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(500), Duration::from_millis(1_500));
        let ms = |d: Duration| d.as_millis();
        assert_eq!(
            [ms(b.failed()), ms(b.failed()), ms(b.failed()), ms(b.failed())],
            [500, 1_000, 1_500, 1_500]
        );
        b.reset();
        assert_eq!(ms(b.failed()), 500, "a success starts over");
        let mut c = Backoff::new(Duration::from_millis(200), Duration::from_millis(50));
        assert_eq!([ms(c.failed()), ms(c.failed())], [200, 200], "a cap below the start is the start");
    }
}

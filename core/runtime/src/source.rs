//! Event sources: anything that yields normalized [`Event`]s (synthetic market, DBN file,
//! journal, live feed edge). The pipeline assigns `Event::seq`; a source leaves it 0.

use mia_model::event::Event;
use mia_model::msg::Msg;

/// A decoding or I/O error that names the input, the place in it and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input}: {place}: {reason}")]
pub struct SourceError {
    /// The input (file path or feed name).
    pub input: String,
    /// Where in the input (byte offset, record index, line number).
    pub place: String,
    /// What is wrong.
    pub reason: String,
}

impl SourceError {
    /// Builds an error from its three parts.
    pub fn new(input: impl Into<String>, place: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { input: input.into(), place: place.into(), reason: reason.into() }
    }
}

/// A stream of normalized market events.
pub trait EventSource: Send {
    /// Human-readable name of the input (used in errors and summaries).
    fn describe(&self) -> &str;

    /// The next event, `Ok(None)` at the end of the stream. Must not allocate per event once
    /// warmed up.
    ///
    /// # Errors
    /// A decoding or I/O error naming the input and the place.
    fn next_event(&mut self) -> Result<Option<Event>, SourceError>;

    /// The next decision input: a market event, or — for a source that recorded them, such as
    /// a journal — an execution report or control input at its recorded place. The default
    /// yields [`next_event`](EventSource::next_event) as `Msg::Market`.
    ///
    /// # Errors
    /// As [`next_event`](EventSource::next_event).
    #[inline]
    fn next_input(&mut self) -> Result<Option<Msg>, SourceError> {
        Ok(self.next_event()?.map(Msg::Market))
    }

    /// True when [`next_input`](EventSource::next_input) may yield more than market events (a
    /// journal). The sequencer then reads inputs; otherwise it takes the cheaper
    /// [`next_event`](EventSource::next_event) path.
    fn has_recorded_inputs(&self) -> bool {
        false
    }
}

/// An [`EventSource`] over an in-memory slice of events (tests, benches).
pub struct SliceSource<'a> {
    events: &'a [Event],
    pos: usize,
}

impl<'a> SliceSource<'a> {
    /// A source yielding `events` in order.
    pub fn new(events: &'a [Event]) -> Self {
        Self { events, pos: 0 }
    }
}

impl EventSource for SliceSource<'_> {
    fn describe(&self) -> &str {
        "memory"
    }

    fn next_event(&mut self) -> Result<Option<Event>, SourceError> {
        let e = self.events.get(self.pos).copied();
        self.pos += e.is_some() as usize;
        Ok(e)
    }
}

/// An [`EventSource`] that stops after `limit` events of an inner source.
pub struct TakeSource {
    inner: Box<dyn EventSource>,
    left: u64,
}

impl TakeSource {
    /// Yields at most `limit` events of `inner`.
    pub fn new(inner: Box<dyn EventSource>, limit: u64) -> Self {
        Self { inner, left: limit }
    }
}

impl EventSource for TakeSource {
    fn describe(&self) -> &str {
        self.inner.describe()
    }

    #[inline]
    fn next_event(&mut self) -> Result<Option<Event>, SourceError> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        self.inner.next_event()
    }

    #[inline]
    fn next_input(&mut self) -> Result<Option<Msg>, SourceError> {
        if self.left == 0 {
            return Ok(None);
        }
        let m = self.inner.next_input()?;
        if matches!(m, Some(Msg::Market(_))) {
            self.left -= 1;
        }
        Ok(m)
    }

    fn has_recorded_inputs(&self) -> bool {
        self.inner.has_recorded_inputs()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_stops_at_limit() {
        static EVENTS: [Event; 3] = [<Event as mia_model::fixed_vec::Blank>::BLANK; 3];
        let mut t = TakeSource::new(Box::new(SliceSource::new(&EVENTS)), 2);
        assert!(matches!(t.next_event(), Ok(Some(_))));
        assert!(matches!(t.next_event(), Ok(Some(_))));
        assert!(matches!(t.next_event(), Ok(None)));
        assert_eq!(t.describe(), "memory");
    }
}

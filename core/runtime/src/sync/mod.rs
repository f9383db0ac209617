//! Cold → hot hand-over primitives that never block the hot path.

pub mod seqlock;

pub use seqlock::SeqCell;

//! Strategies: turn the feature vector and the context into a decision.

pub mod threshold;

//! Incremental features (DESIGN §5). Each feature is updated per event in O(1) with fixed
//! memory, and documents its window or decay.

pub mod delta;
pub mod obi;

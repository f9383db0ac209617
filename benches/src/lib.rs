//! Shared helpers for the criterion benches and the instruction-count gate.

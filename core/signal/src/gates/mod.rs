//! Entry gates: context that may veto an entry (never an exit).

pub mod gamma;

/// Which entries the context (e.g. the gamma gate) allows; exits are always allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Allow {
    /// A flat → long entry may fire.
    pub long: bool,
    /// A flat → short entry may fire.
    pub short: bool,
}

impl Allow {
    /// Everything allowed.
    pub const ALL: Allow = Allow { long: true, short: true };
}

//! Entry gates: context that may veto an entry (never an exit).

pub mod gamma;
pub mod ml;

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
    /// Nothing allowed.
    pub const NONE: Allow = Allow { long: false, short: false };
    /// Longs only.
    pub const LONG: Allow = Allow { long: true, short: false };
    /// Shorts only.
    pub const SHORT: Allow = Allow { long: false, short: true };

    /// True when an entry in `d` is allowed (`Flat` never is).
    #[inline]
    pub const fn allows(self, d: mia_model::order::Direction) -> bool {
        match d {
            mia_model::order::Direction::Long => self.long,
            mia_model::order::Direction::Short => self.short,
            mia_model::order::Direction::Flat => false,
        }
    }

    /// Both sets at once.
    #[inline]
    pub const fn and(self, o: Allow) -> Allow {
        Allow { long: self.long && o.long, short: self.short && o.short }
    }
}

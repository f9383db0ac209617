//! The decision digest: an XXH3-64 hash over the decision stream (order intents and fills,
//! each with the sequence number of the event that caused it). Two runs made the same
//! decisions on the same events if and only if (up to hash collisions) their digests match.

use mia_model::msg::{Fill, Msg, OrderIntent};
use xxhash_rust::xxh3::Xxh3;

/// Streaming decision digest.
#[derive(Clone)]
pub struct DecisionDigest {
    h: Xxh3,
    /// Intents hashed.
    pub intents: u64,
    /// Fills hashed.
    pub fills: u64,
}

impl Default for DecisionDigest {
    fn default() -> Self {
        Self::new()
    }
}

impl DecisionDigest {
    /// An empty digest.
    pub fn new() -> Self {
        Self { h: Xxh3::new(), intents: 0, fills: 0 }
    }

    /// Hashes an intent.
    pub fn intent(&mut self, i: &OrderIntent) {
        self.intents += 1;
        let mut b = [0u8; 43];
        b[0] = b'I';
        b[1..9].copy_from_slice(&i.seq.to_le_bytes());
        b[9..17].copy_from_slice(&i.client_order_id.to_le_bytes());
        b[17..25].copy_from_slice(&i.ts.to_le_bytes());
        b[25..33].copy_from_slice(&i.price.to_le_bytes());
        b[33..37].copy_from_slice(&i.qty.to_le_bytes());
        b[37..41].copy_from_slice(&i.instrument_id.to_le_bytes());
        b[41] = i.side as u8;
        b[42] = i.order_type as u8;
        self.h.update(&b);
    }

    /// Hashes a fill.
    pub fn fill(&mut self, f: &Fill) {
        self.fills += 1;
        let mut b = [0u8; 47];
        b[0] = b'F';
        b[1..9].copy_from_slice(&f.seq.to_le_bytes());
        b[9..17].copy_from_slice(&f.client_order_id.to_le_bytes());
        b[17..25].copy_from_slice(&f.ts.to_le_bytes());
        b[25..33].copy_from_slice(&f.price.to_le_bytes());
        b[33..41].copy_from_slice(&f.fee.to_le_bytes());
        b[41..45].copy_from_slice(&f.qty.to_le_bytes());
        b[45] = f.side as u8;
        b[46] = f.done as u8;
        self.h.update(&b);
    }

    /// Hashes a message if it is a decision (intent or fill); ignores the rest.
    pub fn msg(&mut self, m: &Msg) {
        match m {
            Msg::Intent(i) => self.intent(i),
            Msg::Fill(f) => self.fill(f),
            Msg::Market(_) | Msg::Signal(_) => {}
        }
    }

    /// The digest value.
    pub fn value(&self) -> u64 {
        self.h.digest()
    }

    /// The digest as 16 lowercase hex digits.
    pub fn hex(&self) -> String {
        format!("{:016x}", self.value())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mia_model::event::Side;

    #[test]
    fn order_and_content_matter() {
        let a = OrderIntent { seq: 1, client_order_id: 1, qty: 1, side: Side::Bid, ..Default::default() };
        let b = OrderIntent { seq: 2, ..a };
        let mut d1 = DecisionDigest::new();
        d1.intent(&a);
        d1.intent(&b);
        let mut d2 = DecisionDigest::new();
        d2.intent(&b);
        d2.intent(&a);
        let mut d3 = DecisionDigest::new();
        d3.msg(&Msg::Intent(a));
        d3.msg(&Msg::Intent(b));
        assert_ne!(d1.value(), d2.value());
        assert_eq!(d1.value(), d3.value());
        assert_eq!(d1.hex().len(), 16);
        let mut d4 = DecisionDigest::new();
        d4.fill(&Fill { seq: 1, ..Default::default() });
        assert_ne!(d4.value(), DecisionDigest::new().value());
    }
}

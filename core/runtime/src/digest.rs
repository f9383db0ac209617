//! The decision digest: an XXH3-64 hash over the decision stream (order intents and fills,
//! each with the sequence number of the input that caused it), in their `wire` encoding. Two runs made the same
//! decisions on the same events if and only if (up to hash collisions) their digests match.

use mia_model::msg::{wire, Fill, Msg, OrderIntent};
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

    /// Hashes an intent: the tag `I`, then its [`wire`] encoding.
    pub fn intent(&mut self, i: &OrderIntent) {
        self.intents += 1;
        self.hash(b'I', &Msg::Intent(*i));
    }

    /// Hashes a fill: the tag `F`, then its [`wire`] encoding.
    pub fn fill(&mut self, f: &Fill) {
        self.fills += 1;
        self.hash(b'F', &Msg::Fill(*f));
    }

    #[inline]
    fn hash(&mut self, tag: u8, m: &Msg) {
        let mut b = [0u8; 1 + wire::MAX_LEN];
        b[0] = tag;
        let n = wire::encode(m, &mut b[1..]);
        self.h.update(&b[..1 + n]);
    }

    /// Hashes a message if it is a decision (intent or fill); ignores the rest.
    pub fn msg(&mut self, m: &Msg) {
        match m {
            Msg::Intent(i) => self.intent(i),
            Msg::Fill(f) => self.fill(f),
            Msg::Market(_) | Msg::Signal(_) | Msg::Exec(_) | Msg::Control(_) => {}
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
    use mia_model::msg::OrderSide;

    #[test]
    fn order_and_content_matter() {
        let a =
            OrderIntent { seq: 1, client_order_id: 1, qty: 1, side: OrderSide::Buy, ..Default::default() };
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

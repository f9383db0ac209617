//! The normalizer and the book agree with the generator: after every MBP-10 record of a
//! synthetic session, the book built from the normalized events holds exactly the record's 10
//! levels per side (shifts, sweeps, refills and trades included).

use dbn::Mbp10Msg;
use mia_feeds::normalize::{EventBuf, Mbp10Normalizer};
use mia_feeds::synth::{SynthConfig, SynthSession};
use mia_model::book::{Book, DEPTH};
use mia_model::price::UNDEF_PX;

fn assert_levels(book: &Book, rec: &Mbp10Msg, i: usize) {
    for d in 0..DEPTH {
        let p = &rec.levels[d];
        let (b, a) = (book.bid(d), book.ask(d));
        let want_b = if p.bid_sz == 0 { (UNDEF_PX, 0, 0) } else { (p.bid_px, p.bid_sz, p.bid_ct) };
        let want_a = if p.ask_sz == 0 { (UNDEF_PX, 0, 0) } else { (p.ask_px, p.ask_sz, p.ask_ct) };
        assert_eq!((b.price, b.size, b.count), want_b, "record {i} bid depth {d}");
        assert_eq!((a.price, a.size, a.count), want_a, "record {i} ask depth {d}");
    }
}

#[test]
fn book_from_normalized_events_equals_every_record() {
    let session =
        SynthSession::new(&SynthConfig { seed: 3, target_records: 150_000, ..SynthConfig::default() });
    let mut norm = Mbp10Normalizer::new();
    let mut buf = EventBuf::new();
    let mut book = Book::new();
    let (mut records, mut trades) = (0usize, 0u64);
    for (i, rec) in session.enumerate() {
        norm.normalize(&rec, &mut buf);
        for ev in buf.iter() {
            book.apply(ev);
            trades += u64::from(ev.kind == mia_model::event::EventKind::Trade);
        }
        assert_levels(&book, &rec, i);
        assert!(!book.is_crossed_or_locked(), "record {i}");
        records += 1;
    }
    assert!(records > 100_000, "{records} records");
    assert!(trades > 10_000, "{trades} trades");
    assert_eq!(book.rejected, 0);
}

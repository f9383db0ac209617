//! The feature engine end to end on hand-built event streams: the edge cases of SIGNALS.md §2
//! (one-sided and crossed books, zero volume, a session boundary, a missing gamma snapshot).

use mia_model::event::{flags, Event, Side};
use mia_model::features::{vector_flags, FeatureId};
use mia_model::time::calendar::Date;
use mia_signal::features::engine::FeatureEngine;
use mia_signal::features::registry::FeaturesConfig;
use mia_signal::market::MarketConfig;

const P: i64 = 1_000_000_000;
const T: i64 = 250_000_000;

fn ct(y: i32, m: u8, d: u8, hh: u32, mm: u32) -> u64 {
    Date::new(y, m, d).and_then(|d| d.at_chicago_ns(hh, mm)).unwrap_or(0)
}

fn engine() -> FeatureEngine {
    FeatureEngine::new(&MarketConfig::default(), &FeaturesConfig::default(), T)
}

/// Applies `ev` as the signal stage does (no sanity checks here).
fn apply(e: &mut FeatureEngine, ev: Event) {
    e.begin(ev.ts_recv, ev.seq);
    match ev.kind {
        mia_model::event::EventKind::Level => {
            e.level(&ev);
        }
        mia_model::event::EventKind::Trade => {
            e.trade(&ev);
        }
        mia_model::event::EventKind::Clear => e.clear(),
        mia_model::event::EventKind::Status | mia_model::event::EventKind::Mbo => {}
    }
    if ev.is_last() {
        e.end_record(&ev);
    }
}

fn book(e: &mut FeatureEngine, ts: u64, bid: i64, bs: u32, ask: i64, as_: u32) {
    apply(e, Event::level(ts, ts, Side::Bid, 0, bid, bs, 1, 0));
    apply(e, Event::level(ts, ts, Side::Ask, 0, ask, as_, 1, flags::LAST));
}

#[test]
fn one_sided_and_crossed_books_invalidate_the_book_features() {
    let mut e = engine();
    let t0 = ct(2024, 3, 13, 9, 0);
    apply(&mut e, Event::level(t0, t0, Side::Bid, 0, 5000 * P, 10, 1, flags::LAST));
    let v = e.vector();
    assert_eq!((v.get(FeatureId::BookImbalance), v.get(FeatureId::MicropriceDeviation)), (None, None));
    assert_eq!(v.get(FeatureId::OrderFlowImbalance), None, "no observation on a one-sided book");
    book(&mut e, t0 + 1, 5000 * P, 30, 5000 * P + T, 10);
    let v = *e.vector();
    assert!(v.get(FeatureId::BookImbalance).is_some_and(|x| (x - 0.5).abs() < 1e-6));
    assert!(v.get(FeatureId::MicropriceDeviation).is_some_and(|x| (x - 0.25).abs() < 1e-6), "T3");
    assert_eq!(v.flags & vector_flags::BOOK_BAD, 0);
    // crossed: ask below bid
    apply(&mut e, Event::level(t0 + 2, t0 + 2, Side::Ask, 0, 5000 * P - T, 10, 1, flags::LAST));
    let v = *e.vector();
    assert_ne!(v.flags & vector_flags::BOOK_BAD, 0);
    assert_eq!((v.get(FeatureId::BookImbalance), v.get(FeatureId::MicropriceDeviation)), (None, None));
}

#[test]
fn session_boundary_resets_the_session_features() {
    let mut e = engine();
    let t0 = ct(2024, 3, 13, 14, 50);
    book(&mut e, t0, 5000 * P, 10, 5000 * P + T, 10);
    for i in 0..3u64 {
        let ts = t0 + 1 + i;
        apply(&mut e, Event::trade(ts, ts, Side::Bid, 5000 * P + T, 5, flags::LAST));
    }
    assert_eq!(e.market.cum_delta, 15);
    assert_eq!(e.market.clock.date, 20240313);
    assert!(e.vector().get(FeatureId::Delta).is_some());
    assert!(e.vector().get(FeatureId::TickMomentum).is_some());
    // 17:00 CT: the next session (2024-03-14) starts; a book event rolls it
    let t1 = ct(2024, 3, 13, 17, 0);
    book(&mut e, t1, 5000 * P, 10, 5000 * P + T, 10);
    assert_eq!(e.market.clock.date, 20240314);
    assert_eq!(e.market.cum_delta, 0, "session cumulative delta reset");
    let v = e.vector();
    assert_eq!(v.get(FeatureId::Delta), None, "no classified trade this session yet");
    assert_eq!((v.get(FeatureId::TickMomentum), v.get(FeatureId::VwapDeviation)), (None, None));
    assert_eq!(v.get(FeatureId::SessionPhase), Some(0.0), "overnight");
    // the bars of the old session closed before the first event of the new one
    assert_eq!(e.market.bars.series(mia_signal::market::bars::Timeframe::M1).ring.len(), 1);
}

#[test]
fn zero_volume_and_missing_snapshot_are_invalid_not_zero() {
    let mut e = engine();
    let t0 = ct(2024, 3, 13, 10, 0);
    book(&mut e, t0, 5000 * P, 10, 5000 * P + T, 10);
    let v = *e.vector();
    assert_eq!(v.get(FeatureId::Absorption), None, "no trade in the bar");
    assert_eq!(v.get(FeatureId::SmartMoneyFlow), None, "no volume in the window");
    assert_ne!(v.flags & vector_flags::OPT_NONE, 0, "no gamma snapshot");
    for id in [
        FeatureId::NetGex,
        FeatureId::ZeroGammaDistance,
        FeatureId::CallWallDistance,
        FeatureId::PutWallDistance,
        FeatureId::PutCallRatio,
    ] {
        assert_eq!(v.get(id), None, "{id:?} without a snapshot");
    }
    assert!(v.get(FeatureId::GammaCycle).is_some(), "F14 comes from the calendar: always valid");
    assert_ne!(v.flags & vector_flags::WARMUP, 0, "no decision bars yet");
}

#[test]
fn bar_close_fills_the_bar_record_and_the_footprint_score() {
    let mut e = engine();
    let t0 = ct(2024, 3, 13, 10, 0);
    book(&mut e, t0, 5000 * P, 10, 5000 * P + T, 10);
    // T8's footprint as trades (ticks above 5000.00), one record each
    let trades =
        [(0, -1, 50), (0, 1, 5), (1, -1, 10), (1, 1, 15), (2, -1, 8), (2, 1, 36), (3, -1, 12), (3, 1, 9)];
    for (k, (tick, sign, size)) in trades.into_iter().enumerate() {
        let ts = t0 + 1 + k as u64;
        let side = if sign > 0 { Side::Bid } else { Side::Ask };
        apply(&mut e, Event::trade(ts, ts, side, 5000 * P + tick * T, size, flags::LAST));
    }
    let live = e.vector().get(FeatureId::Absorption).unwrap_or(f32::NAN);
    assert!((live - 14.0 / 145.0).abs() < 1e-6, "F8 live = T8: {live}");
    // the 5-minute bar closes at 10:05
    book(&mut e, ct(2024, 3, 13, 10, 5), 5000 * P, 10, 5000 * P + T, 10);
    let b = e
        .market
        .bars
        .series(mia_signal::market::bars::Timeframe::M5)
        .ring
        .last()
        .copied()
        .unwrap_or_default();
    assert_eq!((b.volume, b.buy_vol, b.sell_vol, b.delta, b.cum_delta_close), (145, 65, 80, -15, -15));
    assert_eq!((b.fp_b, b.fp_babs, b.fp_s, b.fp_sabs), (36, 36, 50, 50));
    assert!((b.fp_score - 14.0 / 145.0).abs() < 1e-6);
    assert_eq!(b.session_date, 20240313);
    assert_eq!(e.vector().get(FeatureId::Absorption), None, "a new bar has no volume yet");
}

//! Proves that `FlatLogistic::predict` and `FlatEnsemble::predict`/`approve` (logistic +
//! random forest + boosted trees + Platt calibration, loaded from a file) do not allocate: 100k predictions under a counting
//! global allocator (wrapping `std::alloc::System`) add zero allocations. The counter is
//! per-thread, so the test harness's other threads cannot disturb it, and a control
//! measurement shows the counter does see a deliberate allocation.

use std::alloc::System;
use std::hint::black_box;

use mia_ml::{
    train_forest, train_gbm, train_logistic, BoostedSource, FlatEnsemble, FlatLogistic, FlatModelFile,
    ForestConfig, GbmConfig, MemberWeights, Members, Platt, TrainConfig, DEFAULT_THRESHOLD,
};
use mia_model::rng::SplitMix64;
use mia_runtime::alloc_count::CountingAlloc;

#[global_allocator]
static GLOBAL: CountingAlloc<System> = CountingAlloc::new(System);

/// Allocations made on this thread while running `f`.
fn allocations_during<R>(f: impl FnOnce() -> R) -> (u64, R) {
    GLOBAL.count_during(f)
}

/// Deterministic test inputs (SplitMix64 in [-3, 3)).
fn inputs<const N: usize>(n: usize, seed: u64) -> Vec<[f64; N]> {
    let mut s = SplitMix64::new(seed);
    (0..n).map(|_| std::array::from_fn(|_| s.next_signed_f64() * 3.0)).collect()
}

fn predict_all<const N: usize>(m: &FlatLogistic<N>, xs: &[[f64; N]]) -> f64 {
    let mut sum = 0.0;
    for x in xs {
        sum += m.predict(black_box(x));
    }
    sum
}

#[test]
fn counter_sees_a_deliberate_allocation() {
    let (n, b) = allocations_during(|| black_box(Box::new(black_box(7u64))));
    assert_eq!(n, 1);
    drop(b);
    let (n, _) = allocations_during(|| black_box(vec![0u8; black_box(16)]).len());
    assert_eq!(n, 1);
}

#[test]
fn predict_100k_allocates_nothing() {
    // A trained model (the realistic case) and one loaded from a file, N = 8 and N = 18.
    let xs8 = inputs::<8>(100_000, 1);
    let ys: Vec<bool> = xs8.iter().map(|x| x[0] - 0.5 * x[3] + 0.2 * x[7] > 0.1).collect();
    let m8 = train_logistic(&xs8[..2000], &ys[..2000], &TrainConfig::default()).unwrap().to_flat().unwrap();

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m18.json");
    let names: [String; 18] = std::array::from_fn(|i| format!("f{i}"));
    let name_refs: [&str; 18] = std::array::from_fn(|i| names[i].as_str());
    let w: [f64; 18] = std::array::from_fn(|i| (i as f64 - 9.0) / 7.0);
    let m = FlatLogistic::new(w, 0.25, [0.1; 18], [1.5; 18]).unwrap();
    FlatModelFile::from_logistic(&m, name_refs).save(&path).unwrap();
    let m18 = FlatModelFile::load_logistic::<18>(&path, name_refs).unwrap();
    let xs18 = inputs::<18>(100_000, 2);

    let (n8, s8) = allocations_during(|| predict_all(&m8, &xs8));
    let (n18, s18) = allocations_during(|| predict_all(&m18, &xs18));
    assert_eq!((n8, n18), (0, 0), "predict allocated");
    // The work was real: probabilities in (0, 1), not all equal.
    assert!(s8 > 0.0 && s8 < 100_000.0 && s18 > 0.0 && s18 < 100_000.0, "{s8} {s18}");

    // Control: the same loop with one allocation inside is counted.
    let (n, _) = allocations_during(|| {
        let s = predict_all(&m8, &xs8[..1000]);
        black_box(Box::new(s))
    });
    assert_eq!(n, 1);
}

#[test]
fn ensemble_predict_and_approve_100k_allocate_nothing() {
    let xs = inputs::<18>(100_000, 3);
    let ys: Vec<bool> = xs.iter().map(|x| x[0] * x[1] > 0.0 || x[5] > 1.5).collect();
    let (tx, ty) = (&xs[..1500], &ys[..1500]);
    let lr = train_logistic(tx, ty, &TrainConfig::default()).unwrap().to_flat().unwrap();
    let rf =
        train_forest(tx, ty, &ForestConfig { trees: 20, ..Default::default() }).unwrap().to_flat().unwrap();
    let gbm = train_gbm(tx, ty, &GbmConfig { trees: 30, ..Default::default() }).unwrap().to_flat().unwrap();
    let names: [String; 18] = std::array::from_fn(|i| format!("f{i}"));
    let name_refs: [&str; 18] = std::array::from_fn(|i| names[i].as_str());
    let members = Members { lr: Some(lr), rf: Some(rf), boosted: Some((BoostedSource::Gbm, gbm)) };
    // Calibrated (Platt scaling on the weighted mean), as `mia train` exports it.
    let e = FlatEnsemble::new(name_refs, members, MemberWeights::default(), DEFAULT_THRESHOLD)
        .unwrap()
        .with_calibration(Some(Platt::new(1.7, -0.3).unwrap()));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ensemble.json");
    e.save(&path).unwrap();
    let e = FlatEnsemble::<18>::load_checked(&path, name_refs).unwrap();
    assert!(e.missing().is_empty());
    assert!(e.calibration().is_some());

    let (n, (sum, approved)) = allocations_during(|| {
        let mut sum = 0.0;
        let mut approved = 0usize;
        for x in &xs {
            sum += e.predict(black_box(x));
            approved += usize::from(e.approve(black_box(x)));
        }
        (sum, approved)
    });
    assert_eq!(n, 0, "ensemble inference allocated");
    assert!(sum > 1000.0 && sum < 99_000.0, "{sum}");
    assert!(approved > 1000 && approved < 99_000, "{approved}");
}

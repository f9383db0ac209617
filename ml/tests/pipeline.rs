//! End to end on synthetic data: purged k-fold over label windows, train the three members
//! per fold, validate the out-of-fold ensemble, check the floors, export, reload and predict
//! the same; and an XGBoost-imported boosted member inside an ensemble.

use std::path::PathBuf;

use mia_ml::{
    auc, check_floors, load_xgboost, log_loss, purged_kfold, train_forest, train_gbm, train_logistic,
    validate, BoostedSource, FlatEnsemble, Floors, ForestConfig, GbmConfig, MemberWeights, Members,
    TrainConfig, ValidateConfig,
};

const N: usize = 6;

/// A deterministic nonlinear problem (interaction + threshold + a linear part), label noise,
/// and label windows: one sample every 1 ms, each label looking 1-4 ms ahead.
type Dataset = (Vec<[f64; N]>, Vec<bool>, Vec<(u64, u64)>);

fn data(n: usize) -> Dataset {
    let mut s = 0x1234_5678u64;
    let mut next = || {
        s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut x = Vec::new();
    let mut y = Vec::new();
    let mut w = Vec::new();
    for i in 0..n as u64 {
        let r: [f64; N] = std::array::from_fn(|_| next() * 2.0 - 1.0);
        let score = 2.0 * r[0] * r[1] + if r[2] > 0.4 { 1.0 } else { -0.3 } + 0.8 * r[3];
        y.push((score > 0.0) != (next() < 0.08));
        x.push(r);
        let ms = 1_000_000;
        w.push((i * ms, i * ms + ms + (next() * 3.0 * ms as f64) as u64));
    }
    (x, y, w)
}

fn names() -> [&'static str; N] {
    ["obi_l1", "obi_l5", "cum_delta_1s", "spread_ticks", "vol_1m", "gamma_dist"]
}

fn ensemble(x: &[[f64; N]], y: &[bool]) -> FlatEnsemble<N> {
    let lr = train_logistic(x, y, &TrainConfig::default()).unwrap().to_flat().unwrap();
    let rf =
        train_forest(x, y, &ForestConfig { trees: 30, ..Default::default() }).unwrap().to_flat().unwrap();
    let gbm = train_gbm(x, y, &GbmConfig { trees: 60, ..Default::default() }).unwrap().to_flat().unwrap();
    let members = Members { lr: Some(lr), rf: Some(rf), boosted: Some((BoostedSource::Gbm, gbm)) };
    FlatEnsemble::new(names(), members, MemberWeights::default(), 0.7).unwrap()
}

#[test]
fn purged_cv_validate_floors_export_reload() {
    let (x, y, w) = data(3000);
    let splits = purged_kfold(&w, 4, 2_000_000).unwrap();
    let mut oof = vec![f64::NAN; x.len()];
    for s in &splits {
        assert!(s.train.len() < x.len() - s.test.len(), "purge/embargo removed nothing");
        let tx: Vec<[f64; N]> = s.train.iter().map(|&i| x[i]).collect();
        let ty: Vec<bool> = s.train.iter().map(|&i| y[i]).collect();
        let e = ensemble(&tx, &ty);
        for i in s.test.clone() {
            oof[i] = e.predict(&x[i]);
        }
    }
    assert!(oof.iter().all(|p| p.is_finite()));
    // Out-of-fold metrics over every sample.
    let oof_auc = auc(&oof, &y).unwrap();
    assert!(oof_auc > 0.85, "out-of-fold AUC {oof_auc}");
    assert!(log_loss(&oof, &y) < 0.5);

    // Final model on the first 2400 rows, validated on the last 600.
    let e = ensemble(&x[..2400], &y[..2400]);
    let report = validate(|r| e.predict(r), &x[2400..], &y[2400..], &ValidateConfig::default()).unwrap();
    let auc = report.auc.unwrap();
    assert!(auc > 0.85, "held-out AUC {auc}");
    assert!(report.log_loss < 0.5, "{}", report.log_loss);
    // Permutation importance: the noise features 4, 5 matter less than 0, 1, 2.
    let imp = |f: usize| report.importance[f].auc_drop.unwrap();
    assert!(imp(0) > imp(4) && imp(1) > imp(5) && imp(2) > imp(4), "{:?}", report.importance);
    assert!(check_floors(&report, &Floors::default()).is_ok());
    assert!(check_floors(&report, &Floors { min_auc: 0.999, ..Default::default() }).is_err());

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("filter.json");
    e.save(&path).unwrap();
    let back = FlatEnsemble::<N>::load_checked(&path, names()).unwrap();
    for r in &x[2400..] {
        assert_eq!(back.predict(r), e.predict(r));
        assert_eq!(back.approve(r), e.predict(r) >= 0.7);
    }
}

#[test]
fn xgboost_member_in_an_ensemble() {
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/xgb_depth5.json");
    let (xgb, _) = load_xgboost(&fixture, 5).unwrap();
    let members = Members { lr: None, rf: None, boosted: Some((BoostedSource::Xgboost, xgb.clone())) };
    let e =
        FlatEnsemble::new(["f0", "f1", "f2", "f3", "f4"], members, MemberWeights::default(), 0.7).unwrap();
    assert_eq!(e.missing().len(), 2);
    assert_eq!(e.weights().boosted, 1.0);
    let x = [0.5, -100.0, f64::NAN, 0.25, 1.0];
    assert_eq!(e.predict(&x), xgb.predict(&x));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("xgb_ensemble.json");
    e.save(&path).unwrap();
    assert_eq!(FlatEnsemble::<5>::load(&path).unwrap().predict(&x), xgb.predict(&x));
}

//! XGBoost parity: MIA's import of a model saved by Python xgboost predicts what xgboost
//! predicted, to 1e-6, on every row of the committed fixture (made by
//! `ml/tests/fixtures/make_xgb.py`: 400 rows with ~12% NaN inputs plus 600 rows placed on,
//! or within f32 rounding of, the split thresholds).

use std::path::PathBuf;

use mia_ml::load_xgboost;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn rows() -> Vec<[f64; 5]> {
    let text = std::fs::read_to_string(fixture("xgb_data.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("f0,f1,f2,f3,f4"));
    lines
        .map(|l| {
            let v: Vec<f64> = l.split(',').map(|s| s.parse::<f64>().unwrap()).collect();
            <[f64; 5]>::try_from(v).unwrap()
        })
        .collect()
}

fn preds(name: &str) -> Vec<f64> {
    std::fs::read_to_string(fixture(name)).unwrap().lines().map(|l| l.parse().unwrap()).collect()
}

/// Depth of a tree (children have larger ids than parents, so one forward pass suffices).
fn depth(t: &mia_ml::TreeSpec) -> usize {
    let mut d = vec![0usize; t.len()];
    for i in 0..t.len() {
        if t.left[i] >= 0 {
            d[t.left[i] as usize] = d[i] + 1;
            d[t.right[i] as usize] = d[i] + 1;
        }
    }
    d.into_iter().max().unwrap_or(0)
}

fn check(model: &str, pred: &str, depth_at_least: usize) {
    let (m, names) = load_xgboost(&fixture(model), 5).unwrap();
    assert!(names.is_empty());
    let xs = rows();
    let want = preds(pred);
    assert_eq!(xs.len(), 1000);
    assert_eq!(want.len(), xs.len());
    let nan_rows = xs.iter().filter(|r| r.iter().any(|v| v.is_nan())).count();
    assert!(nan_rows > 100, "fixture must exercise default directions: {nan_rows}");
    let deepest = m.spec().trees.iter().map(depth).max().unwrap();
    assert!(deepest >= depth_at_least, "{model}: deepest tree has depth {deepest}");
    let mut worst = 0.0f64;
    for (i, (x, p)) in xs.iter().zip(&want).enumerate() {
        let q = m.predict(x);
        worst = worst.max((p - q).abs());
        assert!((p - q).abs() <= 1e-6, "{model} row {i} {x:?}: xgboost {p}, mia {q}");
    }
    // Predictions are spread out (the test is not comparing constants).
    let lo = want.iter().cloned().fold(1.0, f64::min);
    let hi = want.iter().cloned().fold(0.0, f64::max);
    assert!(lo < 0.2 && hi > 0.8, "{lo} {hi}");
    eprintln!("{model}: max |xgboost - mia| = {worst:e}");
}

#[test]
fn depth1_model_matches_xgboost_on_every_row() {
    check("xgb_depth1.json", "xgb_depth1_pred.csv", 1);
}

#[test]
fn depth5_model_matches_xgboost_on_every_row() {
    check("xgb_depth5.json", "xgb_depth5_pred.csv", 4);
}

//! `mia report` and `mia backup` end to end: a backtest's run directory gives the tables, a
//! self-contained `report.html` that headless Chromium renders without a console message and
//! into a picture that is not blank, and the two CSVs; a backup verifies, and a corrupted byte
//! is named.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn mia(args: &[&str], cwd: &Path) -> Output {
    match Command::new(env!("CARGO_BIN_EXE_mia")).args(args).current_dir(cwd).output() {
        Ok(o) => o,
        Err(e) => panic!("cannot run mia: {e}"),
    }
}

fn ok(o: &Output) -> String {
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "mia failed: {}\n{out}", String::from_utf8_lossy(&o.stderr));
    out
}

/// The Chromium binary. CI installs it (`.ci/install-tools`); without it this test fails with
/// a message saying so, it never passes silently.
fn chromium() -> PathBuf {
    for name in ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"] {
        if let Ok(o) = Command::new("sh").args(["-c", &format!("command -v {name}")]).output() {
            let p = String::from_utf8_lossy(&o.stdout).trim().to_string();
            if o.status.success() && !p.is_empty() {
                return PathBuf::from(p);
            }
        }
    }
    panic!(
        "headless check: no Chromium found (tried chromium, chromium-browser, google-chrome); \
         install it with `bash .ci/install-tools` (apt-get install -y chromium)"
    );
}

/// Runs Chromium headless with `args` on `page`, killing it if it has not ended after two
/// minutes (a hung browser must not hang the test suite). Returns (stdout, stderr).
fn run_chromium(page: &Path, args: &[&str], dir: &Path) -> (String, String) {
    let url = format!("file://{}", page.display());
    let out_path = dir.join("chromium.stdout");
    let err_path = dir.join("chromium.stderr");
    let stdout = std::fs::File::create(&out_path).expect("stdout file");
    let stderr = std::fs::File::create(&err_path).expect("stderr file");
    let mut child = Command::new(chromium())
        .args(["--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--hide-scrollbars"])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .args(["--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000"])
        .args(args)
        .arg(&url)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .expect("start chromium");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        match child.try_wait().expect("wait chromium") {
            Some(_) => break,
            None if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("headless check: chromium did not finish within 120 s");
            }
            None => std::thread::sleep(Duration::from_millis(100)),
        }
    }
    (
        std::fs::read_to_string(&out_path).unwrap_or_default(),
        std::fs::read_to_string(&err_path).unwrap_or_default(),
    )
}

/// Distinct colours and the share of non-white pixels of a PNG.
fn png_colours(path: &Path) -> (usize, f64) {
    let f = std::fs::File::open(path).expect("screenshot");
    let mut dec = png::Decoder::new(std::io::BufReader::new(f));
    dec.set_transformations(png::Transformations::EXPAND);
    let mut reader = dec.read_info().expect("png header");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("png frame");
    let ch = info.color_type.samples();
    let px = &buf[..info.buffer_size()];
    let mut colours = std::collections::HashSet::new();
    let mut non_white = 0usize;
    let n = px.len() / ch;
    for p in px.chunks_exact(ch) {
        let rgb = if ch >= 3 { (p[0], p[1], p[2]) } else { (p[0], p[0], p[0]) };
        colours.insert(rgb);
        if rgb != (255, 255, 255) {
            non_white += 1;
        }
    }
    (colours.len(), non_white as f64 / n.max(1) as f64)
}

#[test]
fn report_of_a_backtest_renders_headless_and_exports_csvs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    // The threshold strategy: a day with trades to report (the default engine may take none).
    std::fs::write(d.join("threshold.toml"), "[signal]\nstrategy = \"threshold\"\n").expect("write");
    ok(&mia(&["backtest", "--seed", "5", "--config", "threshold.toml", "--out", "run"], d));
    let text = ok(&mia(&["report", "run", "--out", "rep"], d));
    for needle in [
        "## Trades (net of fees)",
        "Sharpe ratio",
        "## By session phase (entry)",
        "## By pattern",
        "## By tier",
        "Post-mortem findings",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    let trades = std::fs::read_to_string(d.join("run/trades.csv")).expect("trades.csv");
    let n_trades = trades.lines().count() - 1;
    assert!(n_trades > 0, "the seed-5 backtest trades");
    // the session journaled its signals (the exec stage forwards them to the output tap)
    assert!(text.contains("signals: journaled ("), "{text}");

    // The CSVs: one row per trade (enriched), two per trade (snapshots), every cell in place.
    let enriched = std::fs::read_to_string(d.join("rep/trades_enriched.csv")).expect("enriched");
    let lines: Vec<&str> = enriched.lines().collect();
    assert_eq!(lines.len(), n_trades + 1);
    let head: Vec<&str> = lines[0].split(',').collect();
    let sm = head.iter().position(|h| *h == "signal_match").expect("signal_match column");
    for l in &lines[1..] {
        let cells: Vec<&str> = l.split(',').collect();
        assert_eq!(cells.len(), head.len(), "{l}");
        assert_eq!(cells[sm], "order", "every trade is joined to its signal through its order: {l}");
    }
    let snaps = std::fs::read_to_string(d.join("rep/trade_snapshots.csv")).expect("snapshots");
    assert_eq!(snaps.lines().count(), 2 * n_trades + 1);
    assert!(snaps.lines().next().is_some_and(|h| h.contains(",obi,") && h.contains(",efficiency_ratio")));
    // every row comes from the journaled trade snapshots, not a rebuild
    assert!(snaps.lines().skip(1).all(|l| l.contains(",journal,")), "{}", &snaps[..snaps.len().min(800)]);

    // Self-contained: no script, no stylesheet link, no external URL (the SVG namespace is a
    // name, not a fetch), no url() but in-page references.
    let page = d.join("rep/report.html");
    let html = std::fs::read_to_string(&page).expect("report.html");
    for bad in ["<script", "<link", "<img", "<iframe", "@import", "src=", "href="] {
        assert!(!html.contains(bad), "report.html must be self-contained: found {bad:?}");
    }
    let urls = html.matches("http").count();
    assert_eq!(urls, html.matches("http://www.w3.org/2000/svg").count(), "only the SVG namespace");
    assert_eq!(html.matches("url(").count(), html.matches("url(#").count());
    for needle in [
        "Equity curve",
        "Drawdown",
        "Daily net P&amp;L",
        "Net P&amp;L by session phase",
        "VWAP ±1σ",
        "MAE / MFE",
        "Latency percentiles",
        "long entry",
    ] {
        assert!(html.contains(needle), "report.html lacks {needle:?}");
    }
    // Chart ids are unique in the page.
    let mut ids: Vec<&str> = html
        .match_indices("<clipPath id=\"")
        .map(|(i, _)| &html[i + 15..i + 15 + html[i + 15..].find('"').unwrap_or(0)])
        .collect();
    let n = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), n, "duplicate clip-path ids");

    // Headless Chromium: the DOM is there, no console message, and the screenshot is a picture.
    let (dom, err) = run_chromium(&page, &["--dump-dom"], d);
    assert!(
        dom.contains("MIA report") && dom.contains("<svg"),
        "chromium did not render the page: {}",
        &err[..err.len().min(2000)]
    );
    let shot = d.join("shot.png");
    let (_, err2) =
        run_chromium(&page, &[&format!("--screenshot={}", shot.display()), "--window-size=1280,2400"], d);
    for e in [&err, &err2] {
        let console: Vec<&str> =
            e.lines().filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught")).collect();
        assert!(console.is_empty(), "console messages or script errors: {console:?}");
    }
    assert!(shot.is_file(), "no screenshot written: {}", &err2[..err2.len().min(2000)]);
    let (colours, ink) = png_colours(&shot);
    assert!(colours > 1, "the screenshot is blank (one colour)");
    assert!(ink > 0.01, "the screenshot is almost empty: {:.4} of the pixels are not white", ink);

    // Two runs side by side: a column per run.
    ok(&mia(&["report", "run", "run", "--out", "rep2"], d));
    let html2 = std::fs::read_to_string(d.join("rep2/report.html")).expect("report.html");
    assert!(html2.contains("<th>statistic</th><th>run</th><th>run</th>"));
    assert!(html2.contains("repeat(2, minmax(0, 1fr))"));
}

#[test]
fn report_and_backup_refuse_bad_input_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let o = mia(&["report", "nowhere"], d);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("nowhere") && err.contains("no trades.csv"), "{err}");
    std::fs::create_dir_all(d.join("bad")).expect("mkdir");
    std::fs::write(d.join("bad/trades.csv"), "entry_ts,exit_ts\n1,2\n").expect("write");
    let o = mia(&["report", "bad"], d);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bad/trades.csv: line 1: missing column"), "{err}");
    let o = mia(&["report", "bad", "--equity", "0"], d);
    assert!(String::from_utf8_lossy(&o.stderr).contains("--equity"));

    // Backup round trip through the CLI: verify OK, then a corrupted byte is named.
    std::fs::create_dir_all(d.join("run")).expect("mkdir");
    std::fs::write(d.join("run/trades.csv"), "entry_ts\n").expect("write");
    std::fs::write(d.join("run/config.toml"), "[trading]\ninstrument = \"ES\"\n").expect("write");
    let out = ok(&mia(&["backup", "run", "--to", "bk", "--verify", "--keep-days", "30"], d));
    assert!(out.contains("verify: OK") && out.contains("2 files match SHA256SUMS"), "{out}");
    let folder =
        std::fs::read_dir(d.join("bk")).expect("bk").flatten().next().expect("a backup folder").path();
    let cfg = folder.join("run/config.toml");
    let mut bytes = std::fs::read(&cfg).expect("read");
    bytes[3] ^= 1;
    std::fs::write(&cfg, bytes).expect("write");
    let o = mia(&["backup", "--verify", "--to", "bk"], d);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("run/config.toml: checksum mismatch"), "{err}");
    let o = mia(&["backup", "missing-dir", "--to", "bk"], d);
    assert!(String::from_utf8_lossy(&o.stderr).contains("missing-dir: no such file"));
}

//! Live gamma publications replay exactly: a publisher thread on the wall clock publishes new
//! snapshots mid-session (journaled to `RUN_DIR/gamma/`, then announced through the
//! sequencer); `mia replay` of that journal adopts each at the same input and reproduces the
//! feature snapshots and the digest. Without the gamma journal the replay would differ (the
//! test checks that too, so it can fail).

use mia_journal::{JournalReader, JournalRecord};
use mia_model::features::{FeatureId, FeatureSnapshot};
use mia_runtime::pipeline::Schedule;
use mia_signal::gates::gamma::GammaBoard;
use mia_tools::app::config::Config;
use mia_tools::app::gamma::{gamma_levels, GammaPublisher, GAMMA_DIR};
use mia_tools::app::input::Input;
use mia_tools::app::session::{run_session, run_session_with, RunMode, SessionExtras, SessionOptions};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const EVENTS: u64 = 600_000;

fn opts(input: Input, run_mode: RunMode, out: &Path, pace: Option<u64>) -> SessionOptions {
    SessionOptions {
        input,
        config: Config::default(),
        mode: Some(Schedule::Inline),
        out: Some(out.to_path_buf()),
        progress: false,
        run_mode,
        pace,
        max_events: Some(EVENTS),
        profile: Some(mia_signal::engine::profiles::ProfileName::Paper),
        on_progress: None,
    }
}

fn snapshots(run: &Path) -> Vec<FeatureSnapshot> {
    let (recs, _) = JournalReader::read_all(run.join("features")).expect("features journal");
    recs.into_iter().filter_map(|r| if let JournalRecord::Features(s) = r { Some(s) } else { None }).collect()
}

fn call_wall_dists(s: &[FeatureSnapshot]) -> Vec<u32> {
    s.iter().filter_map(|x| x.vector.get(FeatureId::CallWallDistance).map(f32::to_bits)).collect()
}

#[test]
fn gamma_publications_are_journaled_and_replay_to_the_same_snapshots() {
    let dir = tempfile::tempdir().expect("tmp");
    let live = dir.path().join("live");
    let input = Input::Synthetic { seed: 5, days: 1 };
    let Ok(Some((name, text))) = input.chain() else { panic!("synthetic chain") };
    let open = gamma_levels(&name, &text).expect("levels");

    let board = Arc::new(GammaBoard::new(8));
    let (tx, rx) = rtrb::RingBuffer::new(16);
    let mut publisher =
        GammaPublisher::new(board.clone(), tx, Some(&live.join(GAMMA_DIR))).expect("publisher");
    // Two new snapshots at wall-clock times: the walls move 50 and 100 points.
    let producer = std::thread::spawn(move || {
        for k in 1..=2i64 {
            std::thread::sleep(Duration::from_millis(60));
            let mut l = open;
            l.call_wall += k * 50_000_000_000;
            l.put_wall -= k * 50_000_000_000;
            publisher.publish(&l).expect("publish");
        }
        publisher.finish().expect("finish");
    });
    let extras = SessionExtras { side: vec![rx], board: Some(board), live: true, ..SessionExtras::default() };
    // Paced at 1 M events/s: the run lasts ~0.6 s, so both publications land mid-session.
    let s = run_session_with(&opts(input, RunMode::Paper, &live, Some(1_000_000)), extras).expect("live run");
    producer.join().expect("producer");
    let live_snaps = snapshots(&live);
    let walls = call_wall_dists(&live_snaps);
    let distinct = {
        let mut w = walls.clone();
        w.dedup();
        w.len()
    };
    assert!(distinct > 2, "the publications changed the call-wall distance mid-run");

    let replay = dir.path().join("replay");
    let r = run_session(&opts(Input::Journal(live.join("journal")), RunMode::Replay, &replay, None))
        .expect("replay");
    assert_eq!(r.digest, s.digest);
    assert_eq!(snapshots(&replay), live_snaps, "every snapshot, gamma features included, is reproduced");

    // Without the gamma journal the replay cannot know the levels: it must differ.
    std::fs::remove_dir_all(live.join(GAMMA_DIR)).expect("rm gamma");
    let bare = dir.path().join("bare");
    run_session(&opts(Input::Journal(live.join("journal")), RunMode::Replay, &bare, None))
        .expect("bare replay");
    assert_ne!(call_wall_dists(&snapshots(&bare)), walls, "the gamma journal is what makes the replay exact");
}

/// A file input's numbered chain files (what `mia gen` writes beside the DBN file: the
/// synthetic session's pre-RTH publication at 08:00 CT) are adopted at their valuation time:
/// the feature snapshots before it equal those of a run without the file, the ones after it
/// differ; a publication not later than the snapshot before it is refused, naming the file.
#[test]
fn numbered_chain_files_are_adopted_at_their_valuation_time() {
    let dir = tempfile::tempdir().expect("tmp");
    let dbn = dir.path().join("s5.dbn");
    mia_tools::app::session::generate_dbn(5, 1, &dbn).expect("gen");
    let publication = dir.path().join("s5.chain.1.csv");
    assert!(publication.is_file(), "mia gen writes the pre-RTH publication beside the DBN file");
    let text = std::fs::read_to_string(&publication).expect("read");
    let valued = gamma_levels("p1", &text).expect("levels").valuation_ts_ns;

    let with = dir.path().join("with");
    let s = run_session(&opts(Input::Dbn(dbn.clone()), RunMode::Backtest, &with, None)).expect("run");
    let chain = s.chain.clone().unwrap_or_default();
    assert!(chain.contains("1 later publication(s)"), "{chain}");
    let with_snaps = snapshots(&with);

    std::fs::rename(&publication, dir.path().join("aside.csv")).expect("move aside");
    let without = dir.path().join("without");
    run_session(&opts(Input::Dbn(dbn.clone()), RunMode::Backtest, &without, None)).expect("run");
    let without_snaps = snapshots(&without);
    assert_eq!(with_snaps.len(), without_snaps.len());
    let (before, after): (Vec<_>, Vec<_>) =
        with_snaps.iter().zip(&without_snaps).partition(|(a, _)| a.ts < valued);
    assert!(!before.is_empty() && !after.is_empty(), "the run spans the publication");
    assert!(before.iter().all(|(a, b)| a == b), "nothing changes before the publication");
    assert!(after.iter().any(|(a, b)| a != b), "the publication's levels are used after it");

    // The opening chain again as publication 1: not later than the opening snapshot.
    std::fs::copy(dir.path().join("s5.chain.csv"), &publication).expect("copy");
    let Err(e) = run_session(&opts(Input::Dbn(dbn), RunMode::Backtest, &dir.path().join("bad"), None)) else {
        panic!("a publication not later than the opening snapshot is refused")
    };
    let msg = format!("{e:#}");
    assert!(msg.contains("s5.chain.1.csv") && msg.contains("not later"), "{msg}");
}

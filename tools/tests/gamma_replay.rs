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

//! `mia backup SRC... --to DIR [--keep-days N] [--verify]` (`docs/report.md` § Backup):
//! copies run directories (journals, configs, models: any files and folders) into a new
//! timestamped folder `DIR/mia-backup-YYYYMMDD-HHMMSS` with a `SHA256SUMS` manifest in the
//! format of GNU `sha256sum` (`<64 hex>  <path>`, paths relative to the folder, so
//! `sha256sum -c SHA256SUMS` checks it too); removes backup folders older than N days; and
//! verifies a backup: every checksum, then every frame (CRC) of every journal in it, read with
//! `mia_journal`'s reader. The first bad file or frame is named in the error.

use anyhow::{anyhow, bail, Context, Result};
use mia_journal::JournalReader;
use mia_model::time::calendar::Date;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// The manifest's file name.
pub const MANIFEST: &str = "SHA256SUMS";
/// Prefix of backup folder names.
pub const PREFIX: &str = "mia-backup-";

/// `mia backup` arguments.
#[derive(clap::Args, Debug, Clone)]
pub struct BackupArgs {
    /// Files or directories to back up (run directories, config/, models). None with
    /// `--verify`: verify the backup at `--to` (a backup folder, or the newest one under it).
    pub sources: Vec<PathBuf>,
    /// Where backup folders are created.
    #[arg(long)]
    pub to: PathBuf,
    /// Remove backup folders under `--to` whose timestamp is more than this many days old.
    #[arg(long)]
    pub keep_days: Option<u64>,
    /// Re-check every checksum and re-read every journal frame of the backup.
    #[arg(long)]
    pub verify: bool,
}

/// A backup that was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backup {
    /// The new folder.
    pub dir: PathBuf,
    /// Files copied.
    pub files: usize,
    /// Bytes copied.
    pub bytes: u64,
}

/// What a verification checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Verified {
    /// Files whose checksum matched.
    pub files: usize,
    /// Journal directories read to the end.
    pub journals: usize,
    /// Journal records read (every frame's CRC checked).
    pub records: u64,
}

/// UTC `YYYYMMDD-HHMMSS` of a UNIX time.
pub fn stamp(unix_s: u64) -> String {
    let d = Date::from_days_since_epoch((unix_s / 86_400) as i64);
    let s = unix_s % 86_400;
    format!("{:04}{:02}{:02}-{:02}{:02}{:02}", d.year, d.month, d.day, s / 3600, s / 60 % 60, s % 60)
}

/// The UNIX time of a backup folder name (`mia-backup-YYYYMMDD-HHMMSS[-n]`), `None` for any
/// other name.
pub fn parse_stamp(name: &str) -> Option<u64> {
    let rest = name.strip_prefix(PREFIX)?;
    let (date, time) = (rest.get(0..8)?, rest.get(9..15)?);
    if rest.as_bytes().get(8) != Some(&b'-') || !matches!(rest.as_bytes().get(15), None | Some(b'-')) {
        return None;
    }
    let n = |s: &str| s.parse::<u32>().ok();
    let d = Date::new(n(&date[0..4])? as i32, n(&date[4..6])? as u8, n(&date[6..8])? as u8)?;
    let (hh, mm, ss) = (n(&time[0..2])?, n(&time[2..4])?, n(&time[4..6])?);
    if hh > 23 || mm > 59 || ss > 59 {
        return None;
    }
    let days = u64::try_from(d.days_since_epoch()).ok()?;
    Some(days * 86_400 + u64::from(hh) * 3600 + u64::from(mm) * 60 + u64::from(ss))
}

fn now_unix_s() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// The SHA-256 of a file, lower-case hex.
///
/// # Errors
/// The file cannot be read.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).with_context(|| format!("{}: cannot read", path.display()))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Copies `src` (file or directory tree; symbolic links are skipped) to `dst`, appending
/// `(relative path, bytes)` of every file copied, relative to `root`.
fn copy_tree(src: &Path, dst: &Path, root: &Path, out: &mut Vec<(PathBuf, u64)>) -> Result<()> {
    let meta = std::fs::symlink_metadata(src).with_context(|| format!("{}: cannot read", src.display()))?;
    if meta.file_type().is_symlink() {
        return Ok(());
    }
    if meta.is_dir() {
        std::fs::create_dir_all(dst).with_context(|| format!("{}: cannot create", dst.display()))?;
        let mut entries: Vec<_> = std::fs::read_dir(src)
            .with_context(|| format!("{}: cannot list", src.display()))?
            .collect::<std::io::Result<_>>()
            .with_context(|| format!("{}: cannot list", src.display()))?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            copy_tree(&e.path(), &dst.join(e.file_name()), root, out)?;
        }
    } else {
        let n = std::fs::copy(src, dst)
            .with_context(|| format!("{} → {}: cannot copy", src.display(), dst.display()))?;
        let rel = dst.strip_prefix(root).unwrap_or(dst).to_path_buf();
        out.push((rel, n));
    }
    Ok(())
}

/// A fresh folder name under `to` for time `unix_s`.
fn new_folder(to: &Path, unix_s: u64) -> PathBuf {
    let base = to.join(format!("{PREFIX}{}", stamp(unix_s)));
    let mut dir = base.clone();
    let mut n = 1;
    while dir.exists() {
        dir = PathBuf::from(format!("{}-{n}", base.display()));
        n += 1;
    }
    dir
}

/// Backs `sources` up into a new folder under `to`, stamped `unix_s`, and writes its manifest.
///
/// # Errors
/// A source is missing or unreadable, or the backup cannot be written (nothing is removed).
pub fn backup_at(sources: &[PathBuf], to: &Path, unix_s: u64) -> Result<Backup> {
    if sources.is_empty() {
        bail!("nothing to back up (give run directories or files)");
    }
    for s in sources {
        if !s.exists() {
            bail!("{}: no such file or directory", s.display());
        }
    }
    std::fs::create_dir_all(to).with_context(|| format!("{}: cannot create", to.display()))?;
    let dir = new_folder(to, unix_s);
    std::fs::create_dir_all(&dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let mut copied = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for s in sources {
        let canon = s.canonicalize().unwrap_or_else(|_| s.clone());
        let base =
            canon.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "root".into());
        let mut name = base.clone();
        let mut k = 2;
        while names.contains(&name) || name == MANIFEST {
            name = format!("{base}-{k}");
            k += 1;
        }
        names.push(name.clone());
        copy_tree(s, &dir.join(&name), &dir, &mut copied)?;
    }
    let mut manifest = String::new();
    for (rel, _) in &copied {
        let hex = sha256_file(&dir.join(rel))?;
        let p = rel.to_string_lossy().replace('\\', "/");
        if p.contains('\n') {
            bail!("{}: a file name with a line break cannot go in the manifest", dir.join(rel).display());
        }
        manifest.push_str(&format!("{hex}  {p}\n"));
    }
    let mpath = dir.join(MANIFEST);
    std::fs::write(&mpath, manifest).with_context(|| format!("{}: cannot write", mpath.display()))?;
    Ok(Backup { dir, files: copied.len(), bytes: copied.iter().map(|c| c.1).sum() })
}

/// Removes the backup folders under `to` (named `mia-backup-<stamp>` and holding a manifest)
/// whose stamp is more than `keep_days` days before `now_s`; `keep` is never removed. Returns
/// the folders removed.
///
/// # Errors
/// `to` cannot be listed or a folder cannot be removed.
pub fn rotate(to: &Path, keep_days: u64, now_s: u64, keep: Option<&Path>) -> Result<Vec<PathBuf>> {
    let cutoff = now_s.saturating_sub(keep_days.saturating_mul(86_400));
    let mut removed = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(to)
        .with_context(|| format!("{}: cannot list", to.display()))?
        .filter_map(|e| e.ok())
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let Some(ts) = e.file_name().to_str().and_then(parse_stamp) else { continue };
        if ts >= cutoff || !path.join(MANIFEST).is_file() || keep.is_some_and(|k| k == path) {
            continue;
        }
        std::fs::remove_dir_all(&path).with_context(|| format!("{}: cannot remove", path.display()))?;
        removed.push(path);
    }
    Ok(removed)
}

/// The newest backup folder under `to`, or `to` itself when it holds a manifest.
///
/// # Errors
/// No backup found.
pub fn find_backup(to: &Path) -> Result<PathBuf> {
    if to.join(MANIFEST).is_file() {
        return Ok(to.to_path_buf());
    }
    let mut best: Option<(u64, String, PathBuf)> = None;
    for e in std::fs::read_dir(to).with_context(|| format!("{}: cannot list", to.display()))?.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(ts) = parse_stamp(&name) {
            if e.path().join(MANIFEST).is_file() && best.as_ref().is_none_or(|b| (ts, &name) > (b.0, &b.1)) {
                best = Some((ts, name, e.path()));
            }
        }
    }
    best.map(|b| b.2).ok_or_else(|| anyhow!("{}: no backup folder (no {MANIFEST})", to.display()))
}

/// Verifies the backup folder `dir`: every manifest line's checksum, then every journal
/// directory in it (a folder with `seg-*.mj` files) read frame by frame.
///
/// # Errors
/// The first bad file (missing, or checksum mismatch) or frame (segment, offset, reason); a
/// malformed manifest line (its line number).
pub fn verify(dir: &Path) -> Result<Verified> {
    let mpath = dir.join(MANIFEST);
    let text =
        std::fs::read_to_string(&mpath).with_context(|| format!("{}: cannot read", mpath.display()))?;
    let mut v = Verified::default();
    for (i, line) in text.lines().enumerate() {
        if line.is_empty() {
            continue;
        }
        let (hex, rel) = match (line.get(..64), line.get(64..66), line.get(66..)) {
            (Some(h), Some("  "), Some(p)) if h.bytes().all(|b| b.is_ascii_hexdigit()) && !p.is_empty() => {
                (h, p)
            }
            _ => bail!("{}: line {}: not `<sha256>  <path>`", mpath.display(), i + 1),
        };
        if Path::new(rel).components().any(|c| !matches!(c, std::path::Component::Normal(_))) {
            bail!("{}: line {}: path {rel:?} leaves the backup folder", mpath.display(), i + 1);
        }
        let file = dir.join(rel);
        if !file.is_file() {
            bail!("{}: missing (listed in {MANIFEST} line {})", file.display(), i + 1);
        }
        let got = sha256_file(&file)?;
        if !got.eq_ignore_ascii_case(hex) {
            bail!("{}: checksum mismatch: {MANIFEST} says {hex}, the file hashes to {got}", file.display());
        }
        v.files += 1;
    }
    let mut journals = Vec::new();
    find_journals(dir, &mut journals)?;
    for j in journals {
        let rec = JournalReader::scan(&j).map_err(|e| anyhow!("{e}"))?;
        if let (Some((path, off)), Some(reason)) = (&rec.torn_at, &rec.reason) {
            bail!(
                "{}: offset {off}: bad journal frame: {reason} ({} records before it are intact)",
                path.display(),
                rec.records
            );
        }
        v.journals += 1;
        v.records += rec.records;
    }
    Ok(v)
}

fn find_journals(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let mut has_segment = false;
    let mut subdirs = Vec::new();
    for e in std::fs::read_dir(dir).with_context(|| format!("{}: cannot list", dir.display()))?.flatten() {
        let ft = match e.file_type() {
            Ok(t) => t,
            Err(_) => continue,
        };
        let name = e.file_name();
        let name = name.to_string_lossy();
        if ft.is_dir() {
            subdirs.push(e.path());
        } else if ft.is_file() && name.starts_with("seg-") && name.ends_with(".mj") {
            has_segment = true;
        }
    }
    if has_segment {
        out.push(dir.to_path_buf());
    }
    subdirs.sort();
    for d in subdirs {
        find_journals(&d, out)?;
    }
    Ok(())
}

/// Runs `mia backup`.
///
/// # Errors
/// See [`backup_at`], [`rotate`], [`verify`].
pub fn run(args: &BackupArgs) -> Result<()> {
    let now = now_unix_s();
    let target = if args.sources.is_empty() {
        if !args.verify && args.keep_days.is_none() {
            bail!("nothing to do: give sources to back up, --verify, or --keep-days");
        }
        None
    } else {
        let b = backup_at(&args.sources, &args.to, now)?;
        println!("backup: {} ({} files, {} bytes; manifest {MANIFEST})", b.dir.display(), b.files, b.bytes);
        Some(b.dir)
    };
    if let Some(days) = args.keep_days {
        let removed = rotate(&args.to, days, now, target.as_deref())?;
        println!("rotation: {} backup(s) older than {days} days removed", removed.len());
        for r in removed {
            println!("  removed {}", r.display());
        }
    }
    if args.verify {
        let dir = match target {
            Some(d) => d,
            None => find_backup(&args.to)?,
        };
        let v = verify(&dir)?;
        println!(
            "verify: OK: {} ({} files match {MANIFEST}; {} journal(s), {} records, every frame CRC valid)",
            dir.display(),
            v.files,
            v.journals,
            v.records
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use mia_journal::{JournalConfig, JournalWriter, SessionMeta};
    use mia_model::event::Event;
    use mia_model::msg::Msg;

    /// A run directory with a config, a trades file and a two-segment journal.
    fn make_run(root: &Path) -> PathBuf {
        let run = root.join("run1");
        std::fs::create_dir_all(run.join("latency")).expect("mkdir");
        std::fs::write(run.join("trades.csv"), "entry_ts,exit_ts\n1,2\n").expect("write");
        std::fs::write(run.join("latency/summary.txt"), "x\n").expect("write");
        let mut w = JournalWriter::create(run.join("journal"), JournalConfig::with_segment_size(4096))
            .expect("journal");
        w.append_meta(&SessionMeta::now("test", 1, "backtest", "[trading]\n")).expect("meta");
        for i in 0..200u64 {
            let e = Event { ts_recv: i, seq: i, price: 5_000_000_000_000 + i as i64, ..Event::default() };
            w.append_msg(&Msg::Market(e)).expect("append");
        }
        w.finish().expect("finish");
        run
    }

    #[test]
    fn stamps_round_trip() {
        let t = 1_710_336_672; // 2024-03-13 13:31:12 UTC
        assert_eq!(stamp(t), "20240313-133112");
        assert_eq!(parse_stamp(&format!("{PREFIX}20240313-133112")), Some(t));
        assert_eq!(parse_stamp(&format!("{PREFIX}20240313-133112-2")), Some(t));
        assert_eq!(parse_stamp(&format!("{PREFIX}20241313-133112")), None);
        assert_eq!(parse_stamp("other-20240313-133112"), None);
        assert_eq!(parse_stamp(&format!("{PREFIX}20240313-1331")), None);
    }

    #[test]
    fn backup_verifies_and_a_corrupt_byte_is_named() {
        let d = tempfile::tempdir().expect("tempdir");
        let run = make_run(d.path());
        let to = d.path().join("backups");
        let b = backup_at(std::slice::from_ref(&run), &to, 1_710_336_672).expect("backup");
        assert_eq!(b.dir, to.join("mia-backup-20240313-133112"));
        let manifest = std::fs::read_to_string(b.dir.join(MANIFEST)).expect("manifest");
        assert!(manifest.contains("  run1/journal/seg-000000.mj\n"), "{manifest}");
        assert!(manifest.contains("  run1/trades.csv\n"));
        assert!(b.files >= 4 && manifest.lines().count() == b.files);
        let v = verify(&b.dir).expect("clean backup verifies");
        assert_eq!((v.files, v.journals, v.records), (b.files, 1, 201));
        // One byte of a journal segment flipped: the checksum names the file.
        let seg = b.dir.join("run1/journal/seg-000001.mj");
        let mut bytes = std::fs::read(&seg).expect("read");
        // The payload of the segment's first record (32-byte header, then len, crc, kind);
        // padding between frames is not under the CRC, the checksum still catches it.
        bytes[44] ^= 0x40;
        std::fs::write(&seg, &bytes).expect("write");
        let e = verify(&b.dir).expect_err("corrupt");
        let msg = e.to_string();
        assert!(msg.contains("seg-000001.mj: checksum mismatch"), "{msg}");
        // With the manifest updated to the bad bytes, the frame check finds the damage.
        let fixed: String = manifest
            .lines()
            .map(|l| {
                if l.ends_with("run1/journal/seg-000001.mj") {
                    format!("{}  run1/journal/seg-000001.mj\n", sha256_file(&seg).expect("hash"))
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        std::fs::write(b.dir.join(MANIFEST), fixed).expect("write");
        let e = verify(&b.dir).expect_err("bad frame");
        let msg = e.to_string();
        assert!(msg.contains("seg-000001.mj: offset") && msg.contains("bad journal frame"), "{msg}");
        // A missing file and a malformed manifest line are named too.
        std::fs::remove_file(b.dir.join("run1/trades.csv")).expect("rm");
        assert!(verify(&b.dir).expect_err("missing").to_string().contains("trades.csv: missing"));
        std::fs::write(b.dir.join(MANIFEST), "nonsense\n").expect("write");
        assert!(verify(&b.dir).expect_err("malformed").to_string().contains("line 1"));
        std::fs::write(b.dir.join(MANIFEST), format!("{}  ../etc/passwd\n", "0".repeat(64))).expect("write");
        assert!(verify(&b.dir).expect_err("escape").to_string().contains("leaves the backup folder"));
    }

    #[test]
    fn rotation_removes_only_old_backups() {
        let d = tempfile::tempdir().expect("tempdir");
        let run = make_run(d.path());
        let to = d.path().join("b");
        let day = 86_400;
        let now = 1_710_336_672;
        let old = backup_at(std::slice::from_ref(&run), &to, now - 10 * day).expect("old");
        let recent = backup_at(std::slice::from_ref(&run), &to, now - day).expect("recent");
        let same_second = backup_at(std::slice::from_ref(&run), &to, now - day).expect("again");
        assert_ne!(recent.dir, same_second.dir, "a second backup in the same second gets its own folder");
        // Not ours: an old-looking folder without a manifest, and another name.
        std::fs::create_dir_all(to.join("mia-backup-20000101-000000")).expect("mkdir");
        std::fs::create_dir_all(to.join("keepme")).expect("mkdir");
        let removed = rotate(&to, 7, now, None).expect("rotate");
        assert_eq!(removed, vec![old.dir.clone()]);
        assert!(!old.dir.exists() && recent.dir.exists() && same_second.dir.exists());
        assert!(to.join("mia-backup-20000101-000000").exists() && to.join("keepme").exists());
        // The newest backup is what --verify checks without sources.
        assert_eq!(find_backup(&to).expect("found"), same_second.dir);
        // keep_days 0 removes everything older than now, except the one being kept.
        let removed = rotate(&to, 0, now, Some(&recent.dir)).expect("rotate");
        assert_eq!(removed, vec![same_second.dir]);
        assert!(backup_at(&[d.path().join("nope")], &to, now).is_err());
    }
}

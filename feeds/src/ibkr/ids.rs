//! IB order ids: taken at or above the handshake's `NextValidId`, strictly increasing, and never
//! rolled back across restarts: the high-water mark is persisted (a small file in the caller's
//! state directory, written atomically: temp file, `fsync`, rename) in blocks of
//! [`RESERVE_BLOCK`] ids, so a Gateway restart that reissues a lower `NextValidId` (seen by
//! QuantConnect LEAN, research §5) cannot make the edge reuse an id.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Ids reserved per write of the high-water file.
pub const RESERVE_BLOCK: i32 = 64;

/// Order ids must stay below this: ibapi uses the range above for request ids.
pub const ID_CEILING: i32 = 1_500_000_000;

/// The allocator.
#[derive(Debug)]
pub struct OrderIds {
    next: i32,
    reserved_to: i32,
    path: Option<PathBuf>,
}

/// The file name of the high-water mark of `client_id` (IB ids are per client id).
pub fn file_name(client_id: i32) -> String {
    format!("ibkr-order-ids.client-{client_id}")
}

impl OrderIds {
    /// An allocator starting at `max(next_valid_id, persisted mark)`; `state_dir = None` keeps
    /// nothing on disk (tests, `check`).
    ///
    /// # Errors
    /// The file exists but cannot be read or parsed (a corrupt mark is never guessed over).
    pub fn open(state_dir: Option<&Path>, client_id: i32, next_valid_id: i32) -> io::Result<Self> {
        Self::open_file(state_dir.map(|d| d.join(file_name(client_id))), next_valid_id)
    }

    /// An allocator whose high-water mark is the file `path` (any venue's client order ids:
    /// the DTC edge keeps its own file with this allocator), starting at
    /// `max(start, persisted mark)`; `None` keeps nothing on disk.
    ///
    /// # Errors
    /// The file exists but cannot be read or parsed.
    pub fn open_file(path: Option<PathBuf>, start: i32) -> io::Result<Self> {
        let persisted = match &path {
            Some(p) => read_mark(p)?,
            None => 0,
        };
        let next = start.max(persisted).max(1);
        Ok(Self { next, reserved_to: next.min(persisted), path })
    }

    /// A new session's `NextValidId`: the allocator only moves up.
    pub fn reseed(&mut self, next_valid_id: i32) {
        self.next = self.next.max(next_valid_id);
    }

    /// Moves the allocator past `id` (after a 103 duplicate-id reject).
    pub fn skip_past(&mut self, id: i32) {
        self.next = self.next.max(id.saturating_add(1));
    }

    /// The id the next [`allocate`](Self::allocate) returns.
    pub fn peek(&self) -> i32 {
        self.next
    }

    /// Ids that [`allocate`](Self::allocate) can still hand out without writing the file.
    pub fn reserved_left(&self) -> i32 {
        self.reserved_to.saturating_sub(self.next).max(0)
    }

    /// Extends the persisted reservation by a block when fewer than half a block of reserved
    /// ids is left (or none is reserved yet), so the write and its `fsync` happen here — at a
    /// moment the caller chooses, after the order is on the wire — and not inside the
    /// `allocate` of the next order. Returns whether it wrote. The invariant is unchanged:
    /// every id handed out is below the persisted mark.
    ///
    /// # Errors
    /// The high-water file cannot be written.
    pub fn top_up(&mut self) -> io::Result<bool> {
        if self.reserved_left() >= RESERVE_BLOCK / 2 || self.next >= ID_CEILING - 1 {
            return Ok(false);
        }
        let to = self.next.max(self.reserved_to).saturating_add(RESERVE_BLOCK).min(ID_CEILING - 1);
        if let Some(p) = &self.path {
            write_mark(p, to)?;
        }
        self.reserved_to = to;
        Ok(true)
    }

    /// The next id.
    ///
    /// # Errors
    /// The id space is exhausted, or the high-water file cannot be written.
    pub fn allocate(&mut self) -> io::Result<i32> {
        let id = self.next;
        if id >= ID_CEILING - 1 {
            return Err(io::Error::other(format!("IB order id {id} reached the request-id range (1.5e9)")));
        }
        if id >= self.reserved_to {
            let to = id.saturating_add(RESERVE_BLOCK).min(ID_CEILING - 1);
            if let Some(p) = &self.path {
                write_mark(p, to)?;
            }
            self.reserved_to = to;
        }
        self.next = id + 1;
        Ok(id)
    }
}

fn read_mark(p: &Path) -> io::Result<i32> {
    match std::fs::read_to_string(p) {
        Ok(text) => {
            let v = text
                .lines()
                .find_map(|l| l.strip_prefix("next_order_id "))
                .and_then(|v| v.trim().parse::<i32>().ok())
                .ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("{}: expected a line `next_order_id <N>`, found {text:?}", p.display()),
                    )
                })?;
            Ok(v)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(io::Error::new(e.kind(), format!("{}: {e}", p.display()))),
    }
}

/// Writes the mark atomically and durably: a temporary file beside it (named after the full
/// file name, so two client ids never share one), fsync, rename, fsync of the directory. The
/// state directory is created on the first write.
fn write_mark(p: &Path, next: i32) -> io::Result<()> {
    let mut tmp_name = p.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(".tmp");
    let tmp = p.with_file_name(tmp_name);
    let wrap = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", tmp.display()));
    let dir = p.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(d) = dir {
        std::fs::create_dir_all(d).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", d.display())))?;
    }
    {
        let mut f = std::fs::File::create(&tmp).map_err(wrap)?;
        writeln!(f, "# MIA order-id high-water mark: ids below this were (maybe) used").map_err(wrap)?;
        writeln!(f, "next_order_id {next}").map_err(wrap)?;
        f.sync_all().map_err(wrap)?;
    }
    std::fs::rename(&tmp, p).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", p.display())))?;
    if let Some(d) = dir {
        // The rename is durable once the directory entry is (a crash right after it could
        // otherwise bring the old mark back).
        std::fs::File::open(d)
            .and_then(|f| f.sync_all())
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", d.display())))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_increase_and_survive_a_restart_with_a_lower_next_valid_id() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut a = OrderIds::open(Some(dir.path()), 7, 1000).expect("open");
        let ids: Vec<i32> = (0..3).map(|_| a.allocate().expect("id")).collect();
        assert_eq!(ids, [1000, 1001, 1002]);
        a.reseed(900);
        assert_eq!(a.allocate().expect("id"), 1003, "a lower NextValidId never moves it back");
        a.reseed(2000);
        assert_eq!(a.allocate().expect("id"), 2000);
        drop(a);
        // Restart: the Gateway says 1000 again.
        let mut b = OrderIds::open(Some(dir.path()), 7, 1000).expect("reopen");
        let id = b.allocate().expect("id");
        assert!(id > 2000, "{id}");
        // Another client id has its own mark.
        let mut c = OrderIds::open(Some(dir.path()), 8, 1000).expect("open");
        assert_eq!(c.allocate().expect("id"), 1000);
        b.skip_past(5000);
        assert_eq!(b.peek(), 5001);
    }

    #[test]
    fn the_first_allocation_creates_the_state_directory() {
        let dir = tempfile::tempdir().expect("tmp");
        let state = dir.path().join("state").join("ibkr");
        let mut ids = OrderIds::open(Some(&state), 3, 1000).expect("no file yet is fine");
        assert_eq!(ids.allocate().expect("the directory is created"), 1000);
        let files: Vec<_> =
            std::fs::read_dir(&state).expect("dir").flatten().map(|e| e.file_name()).collect();
        assert_eq!(files, vec![std::ffi::OsString::from(file_name(3))], "no temporary file left behind");
        let again = OrderIds::open(Some(&state), 3, 1).expect("reads the mark");
        assert!(again.peek() > 1000, "the mark survives: {}", again.peek());
    }

    #[test]
    fn a_corrupt_mark_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(dir.path().join(file_name(1)), "garbage").expect("write");
        let e = OrderIds::open(Some(dir.path()), 1, 1).expect_err("corrupt");
        assert!(e.to_string().contains("ibkr-order-ids.client-1"), "{e}");
    }

    #[test]
    fn top_up_moves_the_write_out_of_allocate_and_keeps_every_id_below_the_mark() {
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join(file_name(2));
        let mut ids = OrderIds::open(Some(dir.path()), 2, 1000).expect("open");
        assert_eq!(ids.reserved_left(), 0);
        assert!(ids.top_up().expect("write"), "nothing reserved yet: it writes");
        let mark = || read_mark(&file).expect("mark");
        let first = mark();
        assert!(!ids.top_up().expect("no write"), "a full block left: nothing to do");
        let mut handed = Vec::new();
        for _ in 0..RESERVE_BLOCK / 2 {
            handed.push(ids.allocate().expect("id"));
        }
        assert!(!ids.top_up().expect("no write"), "half a block left: still enough");
        handed.push(ids.allocate().expect("id"));
        assert_eq!(mark(), first, "allocate did not write while the reservation lasted");
        assert!(ids.top_up().expect("write"), "less than half a block left: it extends");
        assert!(mark() > first);
        for _ in 0..4 * RESERVE_BLOCK {
            handed.push(ids.allocate().expect("id"));
            ids.top_up().expect("write");
            assert!(handed.iter().all(|&id| id < mark()), "an id at or above the persisted mark");
        }
        assert!(ids.reserved_left() >= RESERVE_BLOCK / 2, "topped up after every order");
    }

    #[test]
    fn the_ceiling_is_enforced() {
        let mut a = OrderIds::open(None, 1, ID_CEILING - 1).expect("open");
        assert!(a.allocate().is_err());
    }
}

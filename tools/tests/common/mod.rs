//! Helpers shared by the integration tests of this crate.

use std::path::Path;

/// Every file under `dir` (recursively) whose bytes contain `needle` (a secret that must not
/// be there).
pub fn grep_dir(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut hits = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else { return hits };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            hits.extend(grep_dir(&p, needle));
        } else if let Ok(b) = std::fs::read(&p) {
            if b.windows(needle.len()).any(|w| w == needle) {
                hits.push(p.display().to_string());
            }
        }
    }
    hits
}

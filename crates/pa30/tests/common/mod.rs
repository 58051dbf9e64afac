//! What the pa30 integration tests share: where the real samples are, and reading one.

use std::path::{Path, PathBuf};

/// `../shared/realdata` (or `SXSAUDIT_REALDATA`); `None` with a note when absent, a panic when
/// `SXSAUDIT_REQUIRE_REALDATA=1`.
pub fn realdata() -> Option<PathBuf> {
    let dir = std::env::var_os("SXSAUDIT_REALDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../../shared/realdata"
            ))
        });
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("SXSAUDIT_REQUIRE_REALDATA").as_deref() == Ok("1") {
        panic!("realdata required but not found at {}", dir.display());
    }
    eprintln!("skipped: realdata not found at {}", dir.display());
    None
}

/// A sample's bytes.
pub fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

//! Where the tests and benches of every crate of the workspace find the real samples: Microsoft's
//! files in `../shared/realdata`, beside the checkout, which are never copied into the
//! repository. One locator, so every crate skips, or fails under CI, the same way.
#![deny(missing_docs)]

use std::path::{Path, PathBuf};

/// `SXSAUDIT_REALDATA` if set, else `../shared/realdata` beside the checkout. `None` (after
/// printing `skipped: ...`) when it is absent, unless `SXSAUDIT_REQUIRE_REALDATA=1`, which CI
/// sets: then absence is a panic, so a run without the samples cannot pass silently.
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

/// A sample's bytes; a sample that cannot be read is a test failure naming it.
pub fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A seeded xorshift64 generator: the reproducible "random" inputs (bit flips, mutated
/// documents) of every crate's robustness tests. A seed of 0 stays 0: pass a non-zero one.
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 bits.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

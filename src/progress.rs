//! A progress bar on stderr for people at a terminal, and nothing at all otherwise (so CI logs
//! stay clean): indicatif hides itself when stderr is not a terminal, and `--quiet` or
//! `--no-progress` turn it off outright.

use std::sync::atomic::{AtomicU64, Ordering};

use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Manifests (and shared WIM blobs) done, and payload bytes hashed.
pub struct Progress {
    bar: Option<ProgressBar>,
    bytes: AtomicU64,
}

impl Progress {
    /// A bar over `total` items (manifests), shown only when `enabled` and stderr is a
    /// terminal. Bytes are counted as they come: a store's size is not known before its
    /// manifests are read.
    pub fn new(enabled: bool, total: u64) -> Progress {
        use std::io::IsTerminal;
        let bytes = AtomicU64::new(0);
        if !enabled || !std::io::stderr().is_terminal() {
            return Progress { bar: None, bytes };
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} ETA {eta} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_message("hashed 0 B");
        Progress {
            bar: Some(bar),
            bytes,
        }
    }

    /// `items` more done, after hashing `bytes`.
    pub fn step(&self, items: u64, bytes: u64) {
        if let Some(bar) = &self.bar {
            let total = self.bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
            bar.inc(items);
            if bar.position().is_multiple_of(64) || bar.position() == bar.length().unwrap_or(0) {
                bar.set_message(format!("hashed {}", HumanBytes(total)));
            }
        }
    }

    /// `items` more to do (content hashed after planning).
    pub fn add(&self, items: u64) {
        if let Some(bar) = &self.bar {
            bar.inc_length(items);
        }
    }

    /// Remove the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

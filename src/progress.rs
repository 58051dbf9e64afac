//! A progress bar on stderr for people at a terminal, and nothing at all otherwise (so CI logs
//! stay clean): indicatif hides itself when stderr is not a terminal, and `--quiet` or
//! `--no-progress` turn it off outright.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Files and bytes hashed so far.
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A bar over `total_bytes`, shown only when `enabled` and stderr is a terminal.
    pub fn new(enabled: bool, total_files: u64, total_bytes: u64) -> Progress {
        use std::io::IsTerminal;
        if !enabled || !std::io::stderr().is_terminal() {
            return Progress { bar: None };
        }
        let bar = ProgressBar::with_draw_target(Some(total_bytes), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_message(format!("0/{total_files} files"));
        Progress { bar: Some(bar) }
    }

    /// One more file of `bytes` done; `done_files` so far.
    pub fn inc(&self, bytes: u64, done_files: u64, total_files: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
            if done_files.is_multiple_of(64) || done_files == total_files {
                bar.set_message(format!("{done_files}/{total_files} files"));
            }
        }
    }

    /// Remove the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

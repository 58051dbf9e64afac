//! Where results go: the output flags every auditing command shares, resolved once into
//! [`Outputs`], which streams findings while the audit runs (when a format wants that) and
//! writes every report at the end, then gives the exit status.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;

use crate::audit::{Audit, Observer};
use crate::report::Format;

/// Output flags.
#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write the report to FILE instead of standard output (`-` is standard output).
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Print nothing but errors (the exit status tells the result; -o still writes).
    #[arg(short, long)]
    pub quiet: bool,
    /// No progress bar (it is only ever drawn when stderr is a terminal).
    #[arg(long)]
    pub no_progress: bool,
}

/// Resolved outputs of one run.
pub struct Outputs {
    format: Format,
    output: Option<PathBuf>,
    quiet: bool,
    progress: bool,
}

impl OutputArgs {
    /// Check and resolve the flags.
    pub fn resolve(&self) -> anyhow::Result<Outputs> {
        Ok(Outputs {
            format: self.format,
            output: self.output.clone().filter(|p| p != Path::new("-")),
            quiet: self.quiet,
            progress: !self.quiet && !self.no_progress,
        })
    }
}

impl Outputs {
    /// Whether to draw a progress bar.
    pub fn progress(&self) -> bool {
        self.progress
    }

    /// Whether to keep quiet on the terminal.
    pub fn quiet(&self) -> bool {
        self.quiet
    }

    /// The observer to give the audit, for formats that stream.
    pub fn observer(&self) -> Option<Observer> {
        None
    }

    /// Write every report; the exit status of the run.
    pub fn finish(&self, audit: &mut Audit) -> anyhow::Result<u8> {
        let renderer = self.format.renderer();
        match &self.output {
            Some(path) => {
                let file = File::create(path).with_context(|| format!("cannot create the report {}", path.display()))?;
                let mut w = BufWriter::new(file);
                renderer.render(audit, &mut w).and_then(|_| w.flush()).with_context(|| format!("cannot write the report {}", path.display()))?;
            }
            None if self.quiet => {}
            None => {
                let stdout = io::stdout();
                let mut w = BufWriter::new(stdout.lock());
                renderer.render(audit, &mut w).and_then(|_| w.flush()).context("cannot write the report to standard output")?;
            }
        }
        Ok(audit.exit_code())
    }
}

//! Reports: one module per output format behind one trait. Renderers are pure: they turn an
//! [`Audit`] into bytes on any writer, and never decide what is wrong (that is the audit's
//! job) or where the bytes go (that is the CLI's).

pub mod github;
pub mod json;
pub mod jsonl;
pub mod junit;
pub mod sarif;
pub mod text;

use std::io::{self, Write};

use crate::audit::Audit;

/// An output format.
pub trait Report {
    /// Write the whole report.
    fn render(&self, audit: &Audit, out: &mut dyn Write) -> io::Result<()>;
}

/// The formats `--format` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// CBS.log-style lines and a DISM-style summary, for people.
    Text,
    /// One JSON document (`schema_version` 1), sorted and byte-stable.
    Json,
    /// SARIF 2.1.0, for code-scanning dashboards.
    Sarif,
    /// JUnit XML, one test case per component.
    Junit,
    /// JSON Lines: one finding per line as it is found, then a summary line.
    Jsonl,
}

impl Format {
    /// The renderer.
    pub fn renderer(self) -> Box<dyn Report> {
        match self {
            Format::Text => Box::new(text::Text),
            Format::Json => Box::new(json::Json),
            Format::Sarif => Box::new(sarif::Sarif::default()),
            Format::Junit => Box::new(junit::Junit::default()),
            Format::Jsonl => Box::new(jsonl::Jsonl::default()),
        }
    }
}

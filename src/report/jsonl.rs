//! The JSON Lines report (`--format jsonl`): one finding per line as soon as it is made, so a
//! CI log or a `jq` pipeline sees problems while a 5 GB image is still being hashed, then one
//! summary line.
//!
//! ```text
//! {"type":"finding","kind":"hash_mismatch","severity":"error","component":"amd64_...",...}
//! {"type":"summary","schema_version":1,"tool":{...},"summary":{...},"notes":[...]}
//! ```
//!
//! A finding line is the JSON report's finding object with `"type":"finding"` first; the last
//! line holds the JSON report's `summary` object. Streamed lines come in discovery order,
//! which depends on the thread count; [`Jsonl`] (used when nothing streamed) writes them in
//! the audit's sorted order. A waived finding carries its reason in `waived` in both cases.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::Value;

use super::json::{FindingW, SCHEMA_VERSION};
use super::Report;
use crate::audit::Audit;
use crate::exit::FailOn;
use crate::findings::Finding;

/// Renders every finding, sorted, then the summary line.
#[derive(Debug, Clone, Copy, Default)]
pub struct Jsonl {
    /// Which kinds fail (decides the summary's `exit_code`).
    pub fail_on: FailOn,
}

#[derive(Serialize)]
struct FindingLine<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    finding: FindingW<'a>,
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct SummaryLine<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    schema_version: u32,
    tool: Tool,
    summary: Value,
    notes: &'a [String],
}

/// The JSON report's summary object, with the exit status `fail_on` gives.
pub fn summary(a: &Audit, fail_on: &FailOn) -> Value {
    let mut v = serde_json::to_value(super::json::summary(a)).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut v {
        map.insert("exit_code".into(), fail_on.audit_status(a).into());
    }
    v
}

/// One finding line, without its newline.
pub fn finding_line(f: &Finding) -> String {
    serde_json::to_string(&FindingLine {
        kind: "finding",
        finding: FindingW::from(f),
    })
    .unwrap_or_default()
}

/// The summary line, without its newline.
pub fn summary_line(a: &Audit, fail_on: &FailOn) -> String {
    let line = SummaryLine {
        kind: "summary",
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
        },
        summary: summary(a, fail_on),
        notes: &a.notes,
    };
    serde_json::to_string(&line).unwrap_or_default()
}

impl Report for Jsonl {
    fn render(&self, a: &Audit, out: &mut dyn Write) -> io::Result<()> {
        for f in &a.findings {
            writeln!(out, "{}", finding_line(f))?;
        }
        writeln!(out, "{}", summary_line(a, &self.fail_on))
    }
}

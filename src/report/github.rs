//! GitHub Actions output (`--github`): workflow-command annotations and a job summary.
//!
//! Annotations are lines `::error file=<path>,title=<title>::<message>` (and `::warning`,
//! `::notice`) that the runner turns into marks on the run's page. GitHub shows at most 10
//! of each level per step, so the first [`MAX_ANNOTATIONS`] findings that are not waived are
//! annotated (those that fail the run first), and a notice says how many more there are.
//! Workflow-command escaping: `%`, CR and LF in every part, and also `:` and `,` in
//! properties.
//!
//! The job summary is Markdown appended to the file `$GITHUB_STEP_SUMMARY` names: the verdict,
//! counts per kind (found, waived, whether the kind fails), the first [`MAX_SUMMARY_ROWS`]
//! findings, and the notes (expired and unused waivers among them).

use std::io::{self, Write};

use super::sarif::rule;
use crate::audit::Audit;
use crate::exit::FailOn;
use crate::findings::{Finding, Kind};

/// Annotations GitHub shows per level and step.
pub const MAX_ANNOTATIONS: usize = 10;

/// Findings (and notes) listed in the job summary (it is shown whole, and GitHub limits it
/// to 1 MiB).
pub const MAX_SUMMARY_ROWS: usize = 50;

fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

fn what(f: &Finding) -> String {
    match &f.file {
        Some(name) => format!("{}\\{}", f.component, name),
        None => f.component.clone(),
    }
}

/// Write the annotations.
pub fn annotations(a: &Audit, fail_on: &FailOn, out: &mut dyn Write) -> io::Result<()> {
    let live: Vec<&Finding> = a.findings.iter().filter(|f| f.waived.is_none()).collect();
    let (failing, other): (Vec<&Finding>, Vec<&Finding>) =
        live.iter().partition(|f| fail_on.fails(f.kind));
    for f in failing.iter().chain(other.iter()).take(MAX_ANNOTATIONS) {
        let level = if fail_on.fails(f.kind) {
            "error"
        } else {
            "warning"
        };
        let title = format!("sxsaudit {}: {}", rule(f.kind).id, f.kind.as_str());
        writeln!(
            out,
            "::{level} file={},title={}::{}: {}",
            escape_property(&f.path),
            escape_property(&title),
            escape_data(&what(f)),
            escape_data(&f.detail)
        )?;
    }
    if live.len() > MAX_ANNOTATIONS {
        writeln!(out, "::notice title=sxsaudit::{} more findings are not annotated (GitHub shows {MAX_ANNOTATIONS} per step); see the job summary or the report", live.len() - MAX_ANNOTATIONS)?;
    }
    Ok(())
}

/// A Markdown table cell.
fn cell(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\r', '\n'], " ")
        .replace('<', "&lt;")
}

/// A code span in a table cell.
fn code(s: &str) -> String {
    format!(
        "`{}`",
        s.replace('`', "'")
            .replace('|', "\\|")
            .replace(['\r', '\n'], " ")
    )
}

/// Write the Markdown job summary.
pub fn step_summary(a: &Audit, fail_on: &FailOn, out: &mut dyn Write) -> io::Result<()> {
    let code_ = fail_on.audit_status(a);
    let verdict = if code_ == 0 {
        ":white_check_mark: no finding fails the gate".to_string()
    } else {
        format!(":x: the image is NOT fit to deploy (exit {code_})")
    };
    writeln!(out, "## sxsaudit: {verdict}")?;
    writeln!(out)?;
    let t = &a.totals;
    writeln!(
        out,
        "Image {}: {} manifests ({} compressed), {} components with payloads, {} payload files, {} bytes hashed.",
        code(&a.input),
        t.manifests,
        t.manifests_compressed,
        t.components,
        t.payload_files,
        t.bytes_hashed
    )?;
    writeln!(out)?;
    writeln!(out, "| kind | rule | found | waived | fails the gate |")?;
    writeln!(out, "|---|---|--:|--:|---|")?;
    for k in Kind::ALL {
        let found = a.count(k);
        let waived = a
            .findings
            .iter()
            .filter(|f| f.kind == k && f.waived.is_some())
            .count();
        writeln!(
            out,
            "| {} | {} | {found} | {waived} | {} |",
            code(k.as_str()),
            rule(k).id,
            if fail_on.fails(k) { "yes" } else { "no" }
        )?;
    }
    if !a.findings.is_empty() {
        writeln!(out)?;
        let shown = a.findings.len().min(MAX_SUMMARY_ROWS);
        writeln!(out, "### Findings ({shown} of {})", a.findings.len())?;
        writeln!(out)?;
        writeln!(out, "| | kind | component | file | detail |")?;
        writeln!(out, "|---|---|---|---|---|")?;
        for f in a.findings.iter().take(MAX_SUMMARY_ROWS) {
            let mark = match &f.waived {
                Some(reason) => format!("waived: {}", cell(reason)),
                None if fail_on.fails(f.kind) => ":x:".into(),
                None => ":warning:".into(),
            };
            let file = f.file.as_deref().map(code).unwrap_or_default();
            writeln!(
                out,
                "| {mark} | {} | {} | {file} | {} |",
                code(f.kind.as_str()),
                code(&f.component),
                cell(&f.detail)
            )?;
        }
    }
    if !a.notes.is_empty() {
        writeln!(out)?;
        writeln!(out, "### Notes")?;
        writeln!(out)?;
        for n in a.notes.iter().take(MAX_SUMMARY_ROWS) {
            writeln!(out, "- {}", cell(n))?;
        }
        if a.notes.len() > MAX_SUMMARY_ROWS {
            writeln!(
                out,
                "- … and {} more notes in the report",
                a.notes.len() - MAX_SUMMARY_ROWS
            )?;
        }
    }
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_commands_are_escaped() {
        assert_eq!(escape_data("50%\r\nnext"), "50%25%0D%0Anext");
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
    }

    #[test]
    fn table_cells_cannot_break_the_table() {
        assert_eq!(cell("a|b\nc<d"), "a\\|b c&lt;d");
        assert_eq!(code("x`|y"), "`x'\\|y`");
    }
}

//! The JUnit XML report (`--format junit`), the test-result format every CI shows (Jenkins,
//! GitLab, Azure Pipelines, GitHub through test-reporter actions).
//!
//! One `<testsuites>` holding one `<testsuite name="sxsaudit">` per run; one `<testcase>` per
//! component with payloads, and per component with a finding (classname the component's identity name taken from its keyform, name the
//! keyform); one `<failure type="<kind>">` per finding that fails the run (`--fail-on`), its
//! message the file and what is wrong, its text the path and digests. Findings that do not
//! fail (warnings, waived findings) go to the test case's `<system-out>`, so they are visible
//! without turning the test red. Counts: `tests` = test cases, `failures` = `<failure>`
//! elements, `errors` and `skipped` = 0. No times or timestamps: the file is byte-stable
//! between runs like the JSON report.
//!
//! Hand-written rather than with `quick-junit`, which allows one failure per test case: a
//! component with three bad payloads must show three failures.

use std::collections::BTreeMap;
use std::io::{self, Write};

use quick_xml::escape::escape;

use super::Report;
use crate::audit::Audit;
use crate::exit::FailOn;
use crate::findings::Finding;
use crate::format::digest::to_base64;

/// Renders JUnit XML.
#[derive(Debug, Clone, Copy, Default)]
pub struct Junit {
    /// Which kinds fail.
    pub fail_on: FailOn,
}

/// XML 1.0 text: escaped, with characters XML cannot hold replaced.
fn xml(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| {
            if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect();
    escape(clean.as_str()).into_owned()
}

/// The identity name inside a keyform `arch_name_publickeytoken_version_culture_hash`; the
/// keyform itself when it has not that shape.
pub fn component_name(keyform: &str) -> &str {
    let parts: Vec<&str> = keyform.split('_').collect();
    if parts.len() < 6 {
        return keyform;
    }
    let start = parts.first().map_or(0, |a| a.len() + 1);
    let end = keyform.len()
        - parts
            .iter()
            .rev()
            .take(4)
            .map(|p| p.len() + 1)
            .sum::<usize>();
    keyform
        .get(start..end)
        .filter(|n| !n.is_empty())
        .unwrap_or(keyform)
}

/// Every component that gets a test case, with its findings (sorted): every component with
/// payloads when the audit kept an inventory ([`crate::audit::Options::inventory`]; the CLI
/// asks for one when a JUnit report is wanted), and every component with a finding.
fn cases(a: &Audit) -> BTreeMap<&str, Vec<&Finding>> {
    let mut cases: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    if let Some(inv) = &a.inventory {
        for c in inv.components.values().filter(|c| !c.files.is_empty()) {
            cases.entry(c.keyform.as_str()).or_default();
        }
    }
    for f in &a.findings {
        cases.entry(f.component.as_str()).or_default().push(f);
    }
    cases
}

fn member(f: &Finding) -> String {
    match &f.file {
        Some(name) => name.clone(),
        None => "manifest".into(),
    }
}

impl Report for Junit {
    fn render(&self, a: &Audit, out: &mut dyn Write) -> io::Result<()> {
        let cases = cases(a);
        let tests = cases.len();
        let failures = a.findings.iter().filter(|f| self.fail_on.counts(f)).count();
        writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
        writeln!(
            out,
            r#"<testsuites name="sxsaudit" tests="{tests}" failures="{failures}" errors="0" skipped="0">"#
        )?;
        writeln!(
            out,
            r#"  <testsuite name="sxsaudit" tests="{tests}" failures="{failures}" errors="0" skipped="0">"#
        )?;
        writeln!(out, "    <properties>")?;
        let t = &a.totals;
        let props = [
            ("image", a.input.clone()),
            ("version", env!("CARGO_PKG_VERSION").to_string()),
            ("manifests", t.manifests.to_string()),
            ("components", t.components.to_string()),
            ("payload_files", t.payload_files.to_string()),
            ("bytes_hashed", t.bytes_hashed.to_string()),
            ("exit_code", self.fail_on.audit_status(a).to_string()),
        ];
        for (k, v) in props {
            writeln!(out, r#"      <property name="{k}" value="{}"/>"#, xml(&v))?;
        }
        for note in &a.notes {
            writeln!(
                out,
                r#"      <property name="note" value="{}"/>"#,
                xml(note)
            )?;
        }
        writeln!(out, "    </properties>")?;
        for (component, findings) in &cases {
            write!(
                out,
                r#"    <testcase classname="{}" name="{}""#,
                xml(component_name(component)),
                xml(component)
            )?;
            if findings.is_empty() {
                writeln!(out, "/>")?;
                continue;
            }
            writeln!(out, ">")?;
            let mut other = Vec::new();
            for f in findings {
                if !self.fail_on.counts(f) {
                    let how = match &f.waived {
                        Some(reason) => format!("waived ({reason})"),
                        None => "warning".into(),
                    };
                    other.push(format!(
                        "{how}: {}: {}: {}",
                        f.kind.as_str(),
                        member(f),
                        f.detail
                    ));
                    continue;
                }
                let mut body = f.path.clone();
                if let Some(e) = &f.expected {
                    body.push_str(&format!("\nexpected: {}", to_base64(e)));
                }
                if let Some(d) = &f.actual {
                    body.push_str(&format!("\nactual: {}", to_base64(d)));
                }
                if let Some(r) = a
                    .repairs
                    .as_ref()
                    .and_then(|r| r.of(&f.component, f.file.as_deref()?))
                {
                    body.push_str(&match &r.verdict {
                        crate::repair::Verdict::Repairable { source, path } => {
                            format!("\nrepair: a good copy is in {source} ({path})")
                        }
                        crate::repair::Verdict::SourceCorrupt { sources } => format!(
                            "\nrepair: corrupt in {} as well",
                            sources
                                .iter()
                                .map(|s| s.0.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                        crate::repair::Verdict::NoSource => {
                            "\nrepair: missing replacement payload (no source has it)".into()
                        }
                    });
                }
                writeln!(
                    out,
                    r#"      <failure type="{}" message="{}: {}">{}</failure>"#,
                    f.kind.as_str(),
                    xml(&member(f)),
                    xml(&f.detail),
                    xml(&body)
                )?;
            }
            if !other.is_empty() {
                writeln!(
                    out,
                    "      <system-out>{}</system-out>",
                    xml(&other.join("\n"))
                )?;
            }
            writeln!(out, "    </testcase>")?;
        }
        writeln!(out, "  </testsuite>")?;
        writeln!(out, "</testsuites>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_names_come_from_keyforms() {
        assert_eq!(component_name("amd64_microsoft-windows-classpnp_31bf3856ad364e35_10.0.17763.1911_none_62d03c227e118f87"), "microsoft-windows-classpnp");
        assert_eq!(
            component_name(
                "x86_microsoft.vc90.crt_1fc8b3b9a1e18e3b_9.0.30729.6161_none_50934f2ebcb7eb57"
            ),
            "microsoft.vc90.crt"
        );
        assert_eq!(component_name("amd64_a_b_c_1fc8_1.0_none_5093"), "a_b_c");
        assert_eq!(component_name("odd"), "odd");
        assert_eq!(component_name("a_____"), "a_____");
    }

    #[test]
    fn xml_text_is_escaped_and_valid() {
        assert_eq!(xml("a<b&\"c\"\u{1}"), "a&lt;b&amp;&quot;c&quot;\u{FFFD}");
    }
}

//! The text report, for people: the CBS.log lines administrators already know
//! (`(p) CSI Payload Corrupt <keyform>\<name>`, tab-separated, `Hashes for file member ... Found: {l:32 b:...}
//! Expected: {l:32 b:...}`), then a summary block modelled on DISM's, then the counts.

use std::io::{self, Write};

use super::Report;
use crate::audit::Audit;
use crate::findings::{Finding, Kind};
use crate::format::digest::to_base64;

/// Renders CBS-style text.
pub struct Text;

/// The CBS.log category of a finding.
pub fn category(kind: Kind) -> &'static str {
    match kind {
        Kind::HashMismatch => "CSI Payload Corrupt",
        Kind::MissingPayload => "CSI Payload Missing",
        Kind::Unverifiable => "CSI Payload Unverifiable",
        Kind::ManifestCorrupt => "CSI Manifest Corrupt",
        Kind::Unreadable => "CSI Payload Unreadable",
        Kind::KeyformMismatch => "CSI Keyform Mismatch",
        Kind::WimBlobCorrupt => "WIM Blob Corrupt",
        Kind::PayloadAbsentByDesign => "CSI Payload Absent By Design",
        Kind::ManifestHashMismatch => "CSI Manifest Corruption",
        Kind::ManifestMissing => "CSI Manifest Missing",
        Kind::OrphanManifest => "CSI Orphan Manifest",
    }
}

/// `<keyform>\<name>` as CBS.log writes members.
fn member(f: &Finding) -> String {
    match &f.file {
        Some(name) => format!("{}\\{}", f.component, name),
        None => f.component.clone(),
    }
}

/// `{l:32 b:<base64>}`.
fn cbs_digest(d: &[u8]) -> String {
    format!("{{l:{} b:{}}}", d.len(), to_base64(d))
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

impl Report for Text {
    fn render(&self, a: &Audit, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "sxsaudit {}: {}", env!("CARGO_PKG_VERSION"), a.input)?;
        if let Some(info) = &a.source_info {
            writeln!(out, "WIM {info}")?;
        }
        for note in &a.notes {
            writeln!(out, "note: {note}")?;
        }
        writeln!(out, "Checking System Update Readiness.")?;
        writeln!(out)?;
        for f in &a.findings {
            let marker = match f.kind.severity() {
                crate::findings::Severity::Error => "(p)",
                crate::findings::Severity::Warning => "(w)",
                crate::findings::Severity::Info => "(i)",
            };
            match f.kind {
                Kind::HashMismatch if f.actual.is_some() => {
                    writeln!(out, "{marker}\t{}\t{}", category(f.kind), member(f))?;
                    let name = f.file.as_deref().unwrap_or("");
                    let chars = name.encode_utf16().count();
                    writeln!(
                        out,
                        "\tHashes for file member \\SystemRoot\\WinSxS\\{} do not match actual file [l:{}{{{}}}]\"{}\" :",
                        member(f),
                        chars * 2,
                        chars,
                        name
                    )?;
                    writeln!(
                        out,
                        "\t  Found: {} Expected: {}",
                        cbs_digest(f.actual.as_deref().unwrap_or_default()),
                        cbs_digest(f.expected.as_deref().unwrap_or_default())
                    )?;
                }
                _ => writeln!(
                    out,
                    "{marker}\t{}\t{}\t{}",
                    category(f.kind),
                    member(f),
                    f.detail
                )?,
            }
            if let Some(r) = a
                .repairs
                .as_ref()
                .and_then(|r| r.of(&f.component, f.file.as_deref()?))
            {
                match &r.verdict {
                    crate::repair::Verdict::Repairable { source, path } => {
                        writeln!(out, "\tRepair: a good copy is in {source} ({path})")?
                    }
                    crate::repair::Verdict::SourceCorrupt { sources } => {
                        for (s, why) in sources {
                            writeln!(out, "\tRepair: not from {s}: {why}")?;
                        }
                        writeln!(out, "Repair failed: Missing replacement payload.")?
                    }
                    crate::repair::Verdict::NoSource => {
                        writeln!(out, "Repair failed: Missing replacement payload.")?
                    }
                }
            }
            if let Some(reason) = &f.waived {
                writeln!(out, "\tWaived: {reason}")?;
            }
        }
        if !a.findings.is_empty() {
            writeln!(out)?;
        }
        // The S256H mismatch is what CBS counts as "CSI Manifest Corruption"; a manifest that
        // does not parse is the same damage seen earlier.
        let manifest = a.count(Kind::ManifestCorrupt) + a.count(Kind::ManifestHashMismatch);
        let manifest_missing = a.count(Kind::ManifestMissing);
        let corrupt = a.count(Kind::HashMismatch);
        let missing = a.count(Kind::MissingPayload);
        writeln!(out, "Summary:")?;
        writeln!(out, "Operation: Detect only")?;
        writeln!(
            out,
            "Total Detected Corruption:\t{}",
            manifest + manifest_missing + corrupt + missing
        )?;
        writeln!(out, "\tCSI Manifest Corruption:\t{manifest}")?;
        writeln!(out, "\tCSI Manifest Missing:\t{manifest_missing}")?;
        writeln!(out, "\tCSI Payload Corruption:\t{corrupt}")?;
        writeln!(out, "\tCSI Payload Missing:\t{missing}")?;
        writeln!(
            out,
            "Not verified:\t{}",
            a.count(Kind::Unverifiable) + a.count(Kind::Unreadable)
        )?;
        writeln!(out, "\tUnverifiable:\t{}", a.count(Kind::Unverifiable))?;
        writeln!(out, "\tUnreadable:\t{}", a.count(Kind::Unreadable))?;
        writeln!(
            out,
            "Warnings:\t{}",
            a.count(Kind::KeyformMismatch) + a.count(Kind::OrphanManifest)
        )?;
        writeln!(
            out,
            "Payloads absent by design:\t{}",
            a.count(Kind::PayloadAbsentByDesign)
        )?;
        writeln!(out)?;
        let t = &a.totals;
        writeln!(
            out,
            "Manifests:\t{} ({} compressed)",
            t.manifests, t.manifests_compressed
        )?;
        writeln!(out, "Components with payloads:\t{}", t.components)?;
        writeln!(out, "Payload files:\t{}", t.payload_files)?;
        let secs = a.elapsed.as_secs_f64().max(1e-9);
        writeln!(
            out,
            "Bytes hashed:\t{} ({})",
            t.bytes_hashed,
            human_bytes(t.bytes_hashed)
        )?;
        writeln!(
            out,
            "Elapsed:\t{secs:.2} s ({}/s)",
            human_bytes((t.bytes_hashed as f64 / secs) as u64)
        )?;
        if let Some(r) = &a.repairs {
            writeln!(out, "Repair:\t{}", r.summary_line())?;
        }
        let code = a.exit_code();
        if code == 0 {
            writeln!(out, "Result:\tno corruption detected (exit 0)")
        } else {
            writeln!(out, "Result:\tthe image is NOT fit to deploy (exit {code})")
        }
    }
}

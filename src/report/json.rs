//! The JSON report: one document, sorted, byte-identical between runs and thread counts (no
//! timings, no dates). The wire types live here, apart from the domain types, so the schema
//! can only change on purpose.
//!
//! ```json
//! {
//!   "schema_version": 1,
//!   "tool": { "name": "sxsaudit", "version": "0.1.0" },
//!   "image": { "input": "/mnt/img", "layout": "root", "source": "directory" },
//!   "summary": { "manifests": 3, "manifests_compressed": 0, "components": 2, "payload_files": 4,
//!                "bytes_hashed": 81920, "findings": 1, "hash_mismatch": 1, "missing_payload": 0,
//!                "unverifiable": 0, "manifest_corrupt": 0, "unreadable": 0, "keyform_mismatch": 0,
//!                "wim_blob_corrupt": 0, "payload_absent_by_design": 0, "manifest_hash_mismatch": 0,
//!                "manifest_missing": 0, "orphan_manifest": 0, "exit_code": 1 },
//!   "notes": [],
//!   "findings": [ { "kind": "hash_mismatch", "severity": "error", "component": "amd64_...",
//!                   "file": "classpnp.sys", "path": "Windows/WinSxS/amd64_.../classpnp.sys",
//!                   "algorithm": "sha256", "expected": "<base64>", "expected_hex": "<hex>",
//!                   "actual": "<base64>", "actual_hex": "<hex>", "detail": "..." } ]
//! }
//! ```

use std::io::{self, Write};

use serde::Serialize;

use super::Report;
use crate::audit::Audit;
use crate::findings::{Finding, Kind, Severity};
use crate::format::digest::{to_base64, to_hex, Algorithm};
use crate::store::Layout;

/// The version of this document's shape.
pub const SCHEMA_VERSION: u32 = 1;

/// Renders the JSON document described above.
pub struct Json;

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct ImageW<'a> {
    input: &'a str,
    layout: Layout,
    source: &'static str,
    /// A WIM's image name, edition and build, from its XML data.
    #[serde(skip_serializing_if = "Option::is_none")]
    wim_image: Option<&'a str>,
}

/// The summary object.
#[derive(Serialize)]
pub struct Summary {
    manifests: u64,
    manifests_compressed: u64,
    components: u64,
    payload_files: u64,
    bytes_hashed: u64,
    findings: u64,
    hash_mismatch: u64,
    missing_payload: u64,
    unverifiable: u64,
    manifest_corrupt: u64,
    unreadable: u64,
    keyform_mismatch: u64,
    wim_blob_corrupt: u64,
    payload_absent_by_design: u64,
    manifest_hash_mismatch: u64,
    manifest_missing: u64,
    orphan_manifest: u64,
    exit_code: u8,
}

/// A finding on the wire.
#[derive(Serialize)]
pub struct FindingW<'a> {
    kind: Kind,
    severity: Severity,
    component: &'a str,
    file: Option<&'a str>,
    path: &'a str,
    algorithm: Option<Algorithm>,
    expected: Option<String>,
    expected_hex: Option<String>,
    actual: Option<String>,
    actual_hex: Option<String>,
    detail: &'a str,
    waived: Option<&'a str>,
    /// The repair verdict, when sources were given (`--source`).
    #[serde(skip_serializing_if = "Option::is_none")]
    repair: Option<RepairW<'a>>,
}

/// A repair verdict on the wire: `{"verdict": "repairable", "source": ..., "path": ...}`,
/// `{"verdict": "source_corrupt", "sources": [[source, why]...]}` or `{"verdict": "no_source"}`.
#[derive(Serialize)]
#[serde(transparent)]
pub struct RepairW<'a>(&'a crate::repair::Verdict);

#[derive(Serialize)]
struct RepairSummary<'a> {
    sources: &'a [String],
    bad_payloads: usize,
    repairable: usize,
    source_corrupt: usize,
    no_source: usize,
    line: String,
}

impl<'a> From<&'a Finding> for FindingW<'a> {
    fn from(f: &'a Finding) -> Self {
        FindingW {
            kind: f.kind,
            severity: f.kind.severity(),
            component: &f.component,
            file: f.file.as_deref(),
            path: &f.path,
            algorithm: f.algorithm,
            expected: f.expected.as_deref().map(to_base64),
            expected_hex: f.expected.as_deref().map(to_hex),
            actual: f.actual.as_deref().map(to_base64),
            actual_hex: f.actual.as_deref().map(to_hex),
            detail: &f.detail,
            waived: f.waived.as_deref(),
            repair: None,
        }
    }
}

#[derive(Serialize)]
struct Doc<'a> {
    schema_version: u32,
    tool: Tool,
    image: ImageW<'a>,
    summary: Summary,
    notes: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    repairs: Option<RepairSummary<'a>>,
    findings: Vec<FindingW<'a>>,
}

/// The summary of an audit, as on the wire.
pub fn summary(a: &Audit) -> Summary {
    Summary {
        manifests: a.totals.manifests,
        manifests_compressed: a.totals.manifests_compressed,
        components: a.totals.components,
        payload_files: a.totals.payload_files,
        bytes_hashed: a.totals.bytes_hashed,
        findings: a.findings.len() as u64,
        hash_mismatch: a.count(Kind::HashMismatch),
        missing_payload: a.count(Kind::MissingPayload),
        unverifiable: a.count(Kind::Unverifiable),
        manifest_corrupt: a.count(Kind::ManifestCorrupt),
        unreadable: a.count(Kind::Unreadable),
        keyform_mismatch: a.count(Kind::KeyformMismatch),
        wim_blob_corrupt: a.count(Kind::WimBlobCorrupt),
        payload_absent_by_design: a.count(Kind::PayloadAbsentByDesign),
        manifest_hash_mismatch: a.count(Kind::ManifestHashMismatch),
        manifest_missing: a.count(Kind::ManifestMissing),
        orphan_manifest: a.count(Kind::OrphanManifest),
        exit_code: a.exit_code(),
    }
}

impl Report for Json {
    fn render(&self, a: &Audit, out: &mut dyn Write) -> io::Result<()> {
        let doc = Doc {
            schema_version: SCHEMA_VERSION,
            tool: Tool {
                name: env!("CARGO_PKG_NAME"),
                version: env!("CARGO_PKG_VERSION"),
            },
            image: ImageW {
                input: &a.input,
                layout: a.layout,
                source: a.source,
                wim_image: a.source_info.as_deref(),
            },
            summary: summary(a),
            notes: &a.notes,
            repairs: a.repairs.as_ref().map(|r| {
                let count = |f: fn(&crate::repair::Verdict) -> bool| {
                    r.items.iter().filter(|i| f(&i.verdict)).count()
                };
                RepairSummary {
                    sources: &r.sources,
                    bad_payloads: r.items.len(),
                    repairable: count(|v| matches!(v, crate::repair::Verdict::Repairable { .. })),
                    source_corrupt: count(|v| {
                        matches!(v, crate::repair::Verdict::SourceCorrupt { .. })
                    }),
                    no_source: count(|v| matches!(v, crate::repair::Verdict::NoSource)),
                    line: r.summary_line(),
                }
            }),
            findings: a
                .findings
                .iter()
                .map(|f| {
                    let mut w = FindingW::from(f);
                    w.repair = a
                        .repairs
                        .as_ref()
                        .and_then(|r| r.of(&f.component, f.file.as_deref()?))
                        .map(|r| RepairW(&r.verdict));
                    w
                })
                .collect(),
        };
        serde_json::to_writer_pretty(&mut *out, &doc)?;
        out.write_all(b"\n")
    }
}

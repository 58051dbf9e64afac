//! The SARIF 2.1.0 report (`--format sarif`), for code-scanning dashboards (GitHub code
//! scanning, Azure DevOps, Defender for DevOps) and any tool that reads the OASIS standard.
//!
//! Shape (one run; keys sorted, so the document is byte-stable like the JSON report):
//!
//! - `runs[0].tool.driver`: name, version, and one rule per finding kind. Rule ids are
//!   `SXS1001`..`SXS1011` in [`Kind::ALL`] order and never change meaning; each rule has a
//!   `name`, short and full descriptions, `help` (what it means, what to do) and its default
//!   level.
//! - `results[]`: one per finding, in the audit's order. `level` is `error` when the kind fails
//!   the run (`--fail-on`), else `warning`. The location is `artifactLocation.uri`, the path
//!   relative to the image root with `/` separators, against the base id `IMAGEROOT`.
//!   `properties` carries the component, file, algorithm and both digests (base64 and hex).
//!   A waived finding keeps its result and gains an accepted external `suppression` whose
//!   justification is the waiver's reason.
//! - `partialFingerprints["sxsauditFinding/v1"]`: SHA-256 of the kind, the component and file
//!   (lower case, as Windows compares them) and the expected digest. Nothing that changes from
//!   run to run (paths of temporary folders, times, thread counts, the digest found) enters it,
//!   so code scanning follows one alert across runs instead of opening a new one each time.
//! - `invocations[0]`: `executionSuccessful`, the exit status, and the audit's notes (expired
//!   and unused waivers among them) as tool notifications.
//! - `runs[0].properties.summary`: the JSON report's summary object.

use std::io::{self, Write};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::Report;
use crate::audit::Audit;
use crate::exit::FailOn;
use crate::findings::{Finding, Kind};
use crate::format::digest::{to_base64, to_hex};

/// The `partialFingerprints` key; bump the version if the recipe ever changes.
pub const FINGERPRINT_KEY: &str = "sxsauditFinding/v1";

/// The base id every location is relative to.
pub const BASE_ID: &str = "IMAGEROOT";

/// Renders SARIF 2.1.0.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sarif {
    /// Which kinds fail (decides `level`).
    pub fail_on: FailOn,
}

/// What a reader needs to know about a finding kind.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// Stable SARIF rule id.
    pub id: &'static str,
    /// PascalCase name.
    pub name: &'static str,
    /// One sentence.
    pub short: &'static str,
    /// What it means.
    pub full: &'static str,
    /// What to do.
    pub help: &'static str,
}

/// The rule of a kind.
pub fn rule(kind: Kind) -> Rule {
    match kind {
        Kind::HashMismatch => Rule {
            id: "SXS1001",
            name: "PayloadHashMismatch",
            short: "A payload's digest differs from the one its component manifest promises.",
            full: "The payload file exists in the component store but its SHA-256 (SHA-1 for legacy Win32 assemblies) digest differs from its manifest's. DISM reports it as 'CSI Payload Corrupt'; servicing fails on such images (for example with 0x800f0986), and every machine built from the image inherits the damage.",
            help: "Do not deploy the image. Rebuild it from clean installation media, or repair the payload from a source that sxsaudit --source reports as good, then audit again. Repairing a deployed machine from another machine of the same image cannot work: they share the bad payload.",
        },
        Kind::MissingPayload => Rule {
            id: "SXS1002",
            name: "PayloadMissing",
            short: "A payload that a component manifest names is absent.",
            full: "The file, or the whole component folder, is missing from WinSxS although the component's manifest is present. DISM reports it as 'CSI Payload Missing' and servicing stops with 'Missing replacement payload'.",
            help: "Rebuild the image from clean installation media, or restore the component from a good source (sxsaudit --source), then audit again. If the component was removed on purpose, remove its manifest the supported way (DISM /Remove-Package) instead of deleting files.",
        },
        Kind::Unverifiable => Rule {
            id: "SXS1003",
            name: "PayloadUnverifiable",
            short: "A payload or manifest cannot be checked.",
            full: "sxsaudit could not check this file: an unknown digest algorithm or transform, a digest that is not valid base64 or has the wrong length, an unsupported compressed form, or a compressed manifest without its base. Nothing is known about the file's integrity.",
            help: "Check the detail: a newer sxsaudit may support the format. Until then, verify the component another way (DISM /ScanHealth on a test machine) and accept the finding with a waiver that says how it was verified.",
        },
        Kind::ManifestCorrupt => Rule {
            id: "SXS1004",
            name: "ManifestCorrupt",
            short: "A component manifest cannot be read or parsed.",
            full: "The manifest is truncated, is not well-formed XML, has no identity, or names a file outside its component folder. DISM reports it as 'CSI Manifest Corrupt'; nothing the manifest describes can be verified or serviced.",
            help: "Do not deploy the image. Rebuild it from clean installation media, or repair the component from a good source (sxsaudit --source), then audit again.",
        },
        Kind::Unreadable => Rule {
            id: "SXS1005",
            name: "PayloadUnreadable",
            short: "A payload or manifest cannot be read.",
            full: "Reading the file failed with an I/O error, or a symbolic link or another non-file stands where a payload or manifest should be (links are never followed). Its integrity is unknown.",
            help: "Check the detail and the medium the image was applied or mounted from (permissions, a damaged disk or WIM), then audit again. A link inside a component store is itself a sign of tampering.",
        },
        Kind::KeyformMismatch => Rule {
            id: "SXS1006",
            name: "KeyformMismatch",
            short: "A manifest is filed under a name its identity does not give.",
            full: "The manifest's file name is not the keyform computed from its assemblyIdentity. Windows looks components up by keyform, so servicing may not find this one; it usually means a hand-edited or mis-copied store.",
            help: "Find out how the file got its name; rebuild the image from clean media if it was not on purpose. This is a warning: it fails the run only with --fail-on keyform_mismatch.",
        },
        Kind::WimBlobCorrupt => Rule {
            id: "SXS1007",
            name: "WimBlobCorrupt",
            short: "A WIM blob does not match the archive's own SHA-1.",
            full: "The WIM or ESD archive itself is damaged: the blob holding this file does not hash to the SHA-1 the archive records for it. The component store inside may be fine; the copy in this archive is not.",
            help: "Copy or download the archive again and compare it with its published checksum, then audit again. wimlib-imagex verify shows the same damage.",
        },
        Kind::PayloadAbsentByDesign => Rule {
            id: "SXS1008",
            name: "PayloadAbsentByDesign",
            short: "A payload is absent, and the image's servicing state says it may be.",
            full: "The component's manifest names the file, but the COMPONENTS and SOFTWARE hives say its payload need not be in the store: every owning package is superseded, absent or resolved only, or the file is not staged. Superseded components cleaned up by DISM and features removed with /Remove look like this.",
            help: "Nothing to do. The detail names the owning packages and their states; if one of them should be installed, the servicing state itself is wrong.",
        },
        Kind::ManifestHashMismatch => Rule {
            id: "SXS1009",
            name: "ManifestHashMismatch",
            short: "A decoded manifest's SHA-256 differs from the S256H in the COMPONENTS hive.",
            full: "The COMPONENTS hive records the SHA-256 of every decoded manifest (S256H). This manifest decodes to different bytes: CBS reports it as 'CSI Manifest Corruption', and servicing fails on the component.",
            help: "Do not deploy the image. Rebuild it from clean installation media, or restore the manifest from a good source, then audit again.",
        },
        Kind::ManifestMissing => Rule {
            id: "SXS1010",
            name: "ManifestMissing",
            short: "A component in the COMPONENTS hive has no manifest file.",
            full: "The servicing state names the component, but WinSxS\\Manifests has no manifest for it. Servicing cannot read or repair the component.",
            help: "Rebuild the image from clean installation media, or restore the manifest from a good source, then audit again.",
        },
        Kind::OrphanManifest => Rule {
            id: "SXS1011",
            name: "OrphanManifest",
            short: "A manifest has no component in the COMPONENTS hive.",
            full: "The manifest is in WinSxS\\Manifests, but the COMPONENTS hive has no DerivedData\\Components key for it: Windows does not know the component. It is often left over from a manual copy or an interrupted operation.",
            help: "Find out how the manifest got there. This is a warning: it fails the run only with --fail-on orphan_manifest.",
        },
    }
}

/// A stable identity of a finding across runs, thread counts and image locations.
pub fn fingerprint(f: &Finding) -> String {
    let mut h = Sha256::new();
    h.update(f.kind.as_str().as_bytes());
    h.update([0]);
    h.update(f.component.to_lowercase().as_bytes());
    h.update([0]);
    h.update(f.file.as_deref().unwrap_or("").to_lowercase().as_bytes());
    h.update([0]);
    h.update(
        f.expected
            .as_deref()
            .map(to_hex)
            .unwrap_or_default()
            .as_bytes(),
    );
    to_hex(&h.finalize())
}

/// End a message with a period (SARIF's guidance for plain-text messages).
fn sentence(s: &str) -> String {
    let s = s.trim_end();
    if s.ends_with(['.', '!', '?']) {
        s.to_string()
    } else {
        format!("{s}.")
    }
}

fn level(fail_on: &FailOn, kind: Kind) -> &'static str {
    if fail_on.fails(kind) {
        "error"
    } else if kind.severity() == crate::findings::Severity::Info {
        "note"
    } else {
        "warning"
    }
}

fn result(f: &Finding, fail_on: &FailOn, repairs: Option<&crate::repair::Repairs>) -> Value {
    let r = rule(f.kind);
    let index = Kind::ALL.iter().position(|&k| k == f.kind).unwrap_or(0);
    let subject = match &f.file {
        Some(name) => format!("'{name}' of '{}'", f.component),
        None => format!("the manifest of '{}'", f.component),
    };
    let mut properties = json!({
        "kind": f.kind.as_str(),
        "component": f.component,
        "file": f.file,
        "algorithm": f.algorithm,
        "expected": f.expected.as_deref().map(to_base64),
        "expectedHex": f.expected.as_deref().map(to_hex),
        "actual": f.actual.as_deref().map(to_base64),
        "actualHex": f.actual.as_deref().map(to_hex),
        "detail": f.detail,
    });
    if let Value::Object(map) = &mut properties {
        map.retain(|_, v| !v.is_null());
        // With --source: where a good copy is, or that there is none.
        if let Some(r) = repairs.and_then(|r| r.of(&f.component, f.file.as_deref()?)) {
            map.insert(
                "repair".into(),
                serde_json::to_value(&r.verdict).unwrap_or(Value::Null),
            );
        }
    }
    let mut res = json!({
        "ruleId": r.id,
        "ruleIndex": index,
        "level": level(fail_on, f.kind),
        "message": { "text": sentence(&format!("{}: {subject}: {}", super::text::category(f.kind), f.detail)) },
        "locations": [{
            "physicalLocation": { "artifactLocation": { "uri": uri_path(&f.path), "uriBaseId": BASE_ID } }
        }],
        "partialFingerprints": { FINGERPRINT_KEY: fingerprint(f) },
        "properties": properties,
    });
    if let (Some(reason), Value::Object(map)) = (&f.waived, &mut res) {
        map.insert(
            "suppressions".into(),
            json!([{ "kind": "external", "status": "accepted", "justification": reason }]),
        );
    }
    res
}

/// Percent-encode what a relative URI reference cannot hold as is (RFC 3986 unreserved
/// characters, `/` and the sub-delimiters pass).
fn uri_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The whole SARIF log as a JSON value.
pub fn log(a: &Audit, fail_on: &FailOn) -> Value {
    let rules: Vec<Value> = Kind::ALL
        .into_iter()
        .map(|k| {
            let r = rule(k);
            json!({
                "id": r.id,
                "name": r.name,
                "shortDescription": { "text": r.short },
                "fullDescription": { "text": r.full },
                "help": { "text": r.help },
                "defaultConfiguration": { "level": level(&FailOn::default(), k) },
                "properties": { "kind": k.as_str(), "tags": ["windows-image", "winsxs", "integrity"] },
            })
        })
        .collect();
    let notifications: Vec<Value> = a
        .notes
        .iter()
        .map(|n| {
            let warning = n.starts_with("warning:");
            let text = n.strip_prefix("warning: ").unwrap_or(n);
            json!({ "level": if warning { "warning" } else { "note" }, "message": { "text": sentence(text) } })
        })
        .collect();
    let exit_code = fail_on.audit_status(a);
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": env!("CARGO_PKG_NAME"),
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            } },
            "originalUriBaseIds": { BASE_ID: { "description": { "text": "The root of the audited Windows image (the folder that holds Windows)." } } },
            "invocations": [{ "executionSuccessful": true, "exitCode": exit_code, "toolExecutionNotifications": notifications }],
            "results": a.findings.iter().map(|f| result(f, fail_on, a.repairs.as_ref())).collect::<Vec<_>>(),
            "columnKind": "unicodeCodePoints",
            "properties": { "image": a.input, "summary": super::jsonl::summary(a, fail_on) },
        }],
    })
}

impl Report for Sarif {
    fn render(&self, a: &Audit, out: &mut dyn Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, &log(a, &self.fail_on))?;
        out.write_all(b"\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_are_stable_and_distinct() {
        let ids: Vec<&str> = Kind::ALL.into_iter().map(|k| rule(k).id).collect();
        assert_eq!(
            ids,
            [
                "SXS1001", "SXS1002", "SXS1003", "SXS1004", "SXS1005", "SXS1006", "SXS1007",
                "SXS1008", "SXS1009", "SXS1010", "SXS1011"
            ]
        );
    }

    #[test]
    fn uris_escape_what_they_must() {
        assert_eq!(
            uri_path("Windows/WinSxS/a_b/x y#1%.dll"),
            "Windows/WinSxS/a_b/x%20y%231%25.dll"
        );
        assert_eq!(uri_path("Windows/WinSxS/é"), "Windows/WinSxS/%C3%A9");
    }

    #[test]
    fn fingerprints_ignore_case_and_the_actual_digest() {
        let f = Finding {
            kind: Kind::HashMismatch,
            component: "Amd64_X".into(),
            file: Some("A.dll".into()),
            path: "/tmp/one/Windows/WinSxS/amd64_x/a.dll".into(),
            algorithm: None,
            expected: Some(vec![1; 32]),
            actual: Some(vec![2; 32]),
            detail: "d".into(),
            waived: None,
        };
        let mut g = f.clone();
        g.component = "amd64_x".into();
        g.file = Some("a.DLL".into());
        g.path = "elsewhere".into();
        g.actual = Some(vec![3; 32]);
        assert_eq!(fingerprint(&f), fingerprint(&g));
        g.expected = Some(vec![4; 32]);
        assert_ne!(fingerprint(&f), fingerprint(&g));
    }
}

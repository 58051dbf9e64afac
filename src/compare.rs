//! `sxsaudit compare A B`: what differs between two images, component by component, without
//! trusting either. Both are audited with an inventory (each payload's content SHA-256 after
//! DCN/DCS decoding, so the same payload stored plain in one and compressed in the other is
//! equal); the inventories are then compared. Each payload is read once per image, and a WIM
//! blob shared by many paths once.

use std::io::{self, Write};

use serde::Serialize;

use crate::audit::{Audit, Inventory};
use crate::findings::Kind;
use crate::format::digest::to_hex;

/// The state of one payload present in either image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Only A holds it (readable).
    OnlyInA,
    /// Only B holds it (readable).
    OnlyInB,
    /// Both hold it with different content.
    Different,
}

/// One payload that differs.
#[derive(Debug, Clone, Serialize)]
pub struct PayloadDiff {
    /// Keyform.
    pub component: String,
    /// The manifest's name.
    pub file: String,
    /// How it differs.
    pub status: Status,
    /// SHA-256 of A's content (hex).
    pub a_sha256: Option<String>,
    /// SHA-256 of B's content (hex).
    pub b_sha256: Option<String>,
    /// Whether A's copy matches A's manifest (None: A has no readable copy).
    pub a_matches_manifest: Option<bool>,
    /// Whether B's copy matches B's manifest.
    pub b_matches_manifest: Option<bool>,
}

/// Counts.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Components in both.
    pub components_in_both: u64,
    /// Components only in A.
    pub components_only_in_a: u64,
    /// Components only in B.
    pub components_only_in_b: u64,
    /// Components whose decoded manifests differ.
    pub manifests_differ: u64,
    /// Payloads in both with equal content.
    pub payloads_equal: u64,
    /// Payloads in both with different content.
    pub payloads_different: u64,
    /// Payloads only in A.
    pub payloads_only_in_a: u64,
    /// Payloads only in B.
    pub payloads_only_in_b: u64,
}

/// The whole comparison.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// Schema of this document.
    pub schema_version: u32,
    /// Image A as given.
    pub a: String,
    /// Image B as given.
    pub b: String,
    /// Counts.
    pub summary: Summary,
    /// Keyforms only in A.
    pub components_only_in_a: Vec<String>,
    /// Keyforms only in B.
    pub components_only_in_b: Vec<String>,
    /// Keyforms whose decoded manifests differ.
    pub manifests_differ: Vec<String>,
    /// Payloads that differ, sorted.
    pub payloads: Vec<PayloadDiff>,
}

fn inv(a: &Audit) -> &Inventory {
    static EMPTY: std::sync::OnceLock<Inventory> = std::sync::OnceLock::new();
    a.inventory
        .as_ref()
        .unwrap_or_else(|| EMPTY.get_or_init(Inventory::default))
}

/// Compare two audits made with `inventory: true`.
pub fn compare(a: &Audit, b: &Audit) -> Comparison {
    let (ia, ib) = (inv(a), inv(b));
    let mut c = Comparison {
        schema_version: 1,
        a: a.input.clone(),
        b: b.input.clone(),
        summary: Summary::default(),
        components_only_in_a: Vec::new(),
        components_only_in_b: Vec::new(),
        manifests_differ: Vec::new(),
        payloads: Vec::new(),
    };
    let readable = |f: &crate::audit::FileRecord| f.content.clone();
    let matches = |f: &crate::audit::FileRecord| {
        f.content.as_ref().map(|_| {
            !matches!(
                f.verdict,
                Some(Kind::HashMismatch) | Some(Kind::WimBlobCorrupt)
            )
        })
    };
    for (key, ca) in &ia.components {
        let Some(cb) = ib.components.get(key) else {
            c.components_only_in_a.push(ca.keyform.clone());
            continue;
        };
        c.summary.components_in_both += 1;
        if ca.manifest_sha256 != cb.manifest_sha256 {
            c.manifests_differ.push(ca.keyform.clone());
        }
        let names: std::collections::BTreeSet<&String> =
            ca.files.keys().chain(cb.files.keys()).collect();
        for name in names {
            let (fa, fb) = (ca.files.get(name), cb.files.get(name));
            let (da, db) = (fa.and_then(readable), fb.and_then(readable));
            let status = match (&da, &db) {
                (Some(x), Some(y)) if x == y => {
                    c.summary.payloads_equal += 1;
                    continue;
                }
                (Some(_), Some(_)) => Status::Different,
                (Some(_), None) => Status::OnlyInA,
                (None, Some(_)) => Status::OnlyInB,
                (None, None) => continue,
            };
            match status {
                Status::Different => c.summary.payloads_different += 1,
                Status::OnlyInA => c.summary.payloads_only_in_a += 1,
                Status::OnlyInB => c.summary.payloads_only_in_b += 1,
            }
            c.payloads.push(PayloadDiff {
                component: ca.keyform.clone(),
                file: fa.or(fb).map(|f| f.name.clone()).unwrap_or_default(),
                status,
                a_sha256: da.as_deref().map(to_hex),
                b_sha256: db.as_deref().map(to_hex),
                a_matches_manifest: fa.and_then(matches),
                b_matches_manifest: fb.and_then(matches),
            });
        }
    }
    for (key, cb) in &ib.components {
        if !ia.components.contains_key(key) {
            c.components_only_in_b.push(cb.keyform.clone());
        }
    }
    c.summary.components_only_in_a = c.components_only_in_a.len() as u64;
    c.summary.components_only_in_b = c.components_only_in_b.len() as u64;
    c.summary.manifests_differ = c.manifests_differ.len() as u64;
    c.payloads
        .sort_by(|x, y| (&x.component, &x.file).cmp(&(&y.component, &y.file)));
    c
}

impl Comparison {
    /// 0 when the images agree on every payload both hold, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        u8::from(self.summary.payloads_different > 0)
    }

    /// JSON, sorted and byte-stable.
    pub fn write_json(&self, out: &mut dyn Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, self)?;
        out.write_all(b"\n")
    }

    /// Text for people.
    pub fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let yn = |m: Option<bool>| match m {
            Some(true) => "matches its manifest",
            Some(false) => "does NOT match its manifest",
            None => "absent",
        };
        writeln!(
            out,
            "sxsaudit {}: comparing\n  A: {}\n  B: {}\n",
            env!("CARGO_PKG_VERSION"),
            self.a,
            self.b
        )?;
        for k in &self.components_only_in_a {
            writeln!(out, "only in A\t{k}")?;
        }
        for k in &self.components_only_in_b {
            writeln!(out, "only in B\t{k}")?;
        }
        for k in &self.manifests_differ {
            writeln!(out, "manifest differs\t{k}")?;
        }
        for p in &self.payloads {
            match p.status {
                Status::Different => writeln!(
                    out,
                    "payload differs\t{}\\{}\tA {}, B {}",
                    p.component,
                    p.file,
                    yn(p.a_matches_manifest),
                    yn(p.b_matches_manifest)
                )?,
                Status::OnlyInA => writeln!(
                    out,
                    "payload only in A\t{}\\{}\tA {}",
                    p.component,
                    p.file,
                    yn(p.a_matches_manifest)
                )?,
                Status::OnlyInB => writeln!(
                    out,
                    "payload only in B\t{}\\{}\tB {}",
                    p.component,
                    p.file,
                    yn(p.b_matches_manifest)
                )?,
            }
        }
        let s = &self.summary;
        writeln!(
            out,
            "\nComponents:\t{} in both, {} only in A, {} only in B, {} with different manifests",
            s.components_in_both,
            s.components_only_in_a,
            s.components_only_in_b,
            s.manifests_differ
        )?;
        writeln!(
            out,
            "Payloads:\t{} equal, {} different, {} only in A, {} only in B",
            s.payloads_equal, s.payloads_different, s.payloads_only_in_a, s.payloads_only_in_b
        )?;
        writeln!(
            out,
            "Result:\t{}",
            if self.exit_code() == 0 {
                "the images agree on every shared payload (exit 0)"
            } else {
                "the images differ on shared payloads (exit 1)"
            }
        )
    }
}

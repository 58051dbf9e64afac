//! The domain model of an audit's result: findings and their kinds, independent of any output
//! format (the `report` modules turn these into wire formats).

use serde::Serialize;

use crate::format::digest::Algorithm;

/// What is wrong (or noteworthy) about one manifest or payload. The `snake_case` names are the
/// JSON `kind` values and are part of the interface: keep them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The payload exists and its digest differs from the manifest's ("CSI Payload Corrupt").
    HashMismatch,
    /// The payload file, or its whole component folder, is absent.
    MissingPayload,
    /// The file cannot be checked: unknown digest algorithm or transform, bad digest text,
    /// an unsupported compressed form, or a compressed manifest without its base.
    Unverifiable,
    /// The manifest cannot be read or parsed ("CSI Manifest Corrupt").
    ManifestCorrupt,
    /// An I/O error while reading a file.
    Unreadable,
    /// The manifest's file name is not the keyform its identity gives (a warning).
    KeyformMismatch,
    /// A WIM blob does not match the archive's own SHA-1: the archive is damaged (the store
    /// inside it may be fine).
    WimBlobCorrupt,
    /// A payload is absent and the image's servicing state says it may be: every owning
    /// package is superseded, absent or resolved only, or the file is not staged (info).
    PayloadAbsentByDesign,
    /// The decoded manifest's SHA-256 differs from the `S256H` the COMPONENTS hive records
    /// ("CSI Manifest Corruption").
    ManifestHashMismatch,
    /// The COMPONENTS hive has a component whose manifest file is absent.
    ManifestMissing,
    /// A manifest has no component in the COMPONENTS hive (a warning).
    OrphanManifest,
}

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Fails the audit.
    Error,
    /// Reported, does not change the exit code.
    Warning,
    /// Context, not a problem (e.g. a payload absent by design); never fails by default.
    Info,
}

impl Kind {
    /// Every kind, in report order.
    pub const ALL: [Kind; 11] = [
        Kind::HashMismatch,
        Kind::MissingPayload,
        Kind::Unverifiable,
        Kind::ManifestCorrupt,
        Kind::Unreadable,
        Kind::KeyformMismatch,
        Kind::WimBlobCorrupt,
        Kind::PayloadAbsentByDesign,
        Kind::ManifestHashMismatch,
        Kind::ManifestMissing,
        Kind::OrphanManifest,
    ];

    /// The JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::HashMismatch => "hash_mismatch",
            Kind::MissingPayload => "missing_payload",
            Kind::Unverifiable => "unverifiable",
            Kind::ManifestCorrupt => "manifest_corrupt",
            Kind::Unreadable => "unreadable",
            Kind::KeyformMismatch => "keyform_mismatch",
            Kind::WimBlobCorrupt => "wim_blob_corrupt",
            Kind::PayloadAbsentByDesign => "payload_absent_by_design",
            Kind::ManifestHashMismatch => "manifest_hash_mismatch",
            Kind::ManifestMissing => "manifest_missing",
            Kind::OrphanManifest => "orphan_manifest",
        }
    }

    /// Parse a JSON name.
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Whether it fails the audit.
    pub fn severity(self) -> Severity {
        match self {
            Kind::KeyformMismatch | Kind::OrphanManifest => Severity::Warning,
            Kind::PayloadAbsentByDesign => Severity::Info,
            _ => Severity::Error,
        }
    }

    /// Its bit in the exit status (see [`crate::exit`]).
    pub fn exit_bit(self) -> u8 {
        match self {
            Kind::HashMismatch => crate::exit::HASH_MISMATCH,
            Kind::MissingPayload => crate::exit::MISSING_PAYLOAD,
            Kind::Unverifiable
            | Kind::ManifestCorrupt
            | Kind::Unreadable
            | Kind::WimBlobCorrupt
            | Kind::ManifestHashMismatch
            | Kind::ManifestMissing => crate::exit::UNVERIFIABLE,
            Kind::KeyformMismatch | Kind::OrphanManifest | Kind::PayloadAbsentByDesign => 0,
        }
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What is wrong.
    pub kind: Kind,
    /// The component's keyform (the manifest file name without `.manifest`).
    pub component: String,
    /// The manifest's `name` of the file, or `None` for a manifest-level finding.
    pub file: Option<String>,
    /// The path relative to the image root, `/`-separated
    /// (`Windows/WinSxS/<keyform>/<name>` or `Windows/WinSxS/Manifests/<keyform>.manifest`).
    pub path: String,
    /// The digest algorithm, where one applies.
    pub algorithm: Option<Algorithm>,
    /// The digest the manifest promises.
    pub expected: Option<Vec<u8>>,
    /// The digest of the bytes found.
    pub actual: Option<Vec<u8>>,
    /// A human explanation.
    pub detail: String,
    /// The reason of the waiver that accepts this finding (`--waivers`): it stays in every
    /// report but no longer counts for the exit status.
    pub waived: Option<String>,
}

impl Finding {
    /// The order of every report: by component, then file, then kind, then path.
    pub fn sort_key(&self) -> (&str, Option<&str>, Kind, &str) {
        (&self.component, self.file.as_deref(), self.kind, &self.path)
    }
}

/// Counts over a whole audit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    /// Manifests found in `WinSxS\Manifests`.
    pub manifests: u64,
    /// Of which DCM-compressed.
    pub manifests_compressed: u64,
    /// Manifests that name at least one file.
    pub components: u64,
    /// `<file>` entries checked or attempted.
    pub payload_files: u64,
    /// Bytes read and hashed (after decompression).
    pub bytes_hashed: u64,
}

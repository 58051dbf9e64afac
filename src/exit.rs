//! Exit status: a bitmask in the AIDE/Tripwire tradition so that CI can tell kinds apart,
//! plus the sysexits-style codes for runs that verified nothing.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | clean (warnings alone exit 0) |
//! | bit 1 | at least one `hash_mismatch` |
//! | bit 2 | at least one `missing_payload` |
//! | bit 4 | at least one `unverifiable`, `manifest_corrupt`, `unreadable`, `manifest_hash_mismatch` or `manifest_missing` |
//! | bit 8 | a bad payload has no good repair source (`--source`) |
//! | bit 16 | a warning or info kind (`keyform_mismatch`, `orphan_manifest`, `payload_absent_by_design`) that `--fail-on` names |
//! | 64 | usage error |
//! | 66 | the input is not a Windows image (nothing verified) |
//! | 70 | internal error |
//!
//! Which kinds count is a [`FailOn`] policy (`--fail-on`): by default every kind of severity
//! error. Waived findings (`--waivers`) never count.

use crate::findings::{Finding, Kind, Severity};

/// No finding that fails.
pub const CLEAN: u8 = 0;
/// A payload's digest differs.
pub const HASH_MISMATCH: u8 = 1;
/// A payload is absent.
pub const MISSING_PAYLOAD: u8 = 2;
/// Something could not be verified (unverifiable, corrupt manifest, I/O error).
pub const UNVERIFIABLE: u8 = 4;
/// A bad payload has no good repair source.
pub const NO_SOURCE: u8 = 8;
/// A warning kind that `--fail-on` made fail.
pub const WARNING: u8 = 16;
/// Wrong flags or arguments.
pub const USAGE: u8 = 64;
/// The input is not a Windows image.
pub const NOT_AN_IMAGE: u8 = 66;
/// A bug or an unexpected failure.
pub const INTERNAL: u8 = 70;

/// Which kinds of finding fail the run (`--fail-on`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailOn {
    /// One bit per kind, by its position in [`Kind::ALL`].
    kinds: u32,
}

impl Default for FailOn {
    /// Every kind of severity error.
    fn default() -> Self {
        FailOn::of(
            Kind::ALL
                .into_iter()
                .filter(|k| k.severity() == Severity::Error),
        )
    }
}

fn index(kind: Kind) -> u32 {
    Kind::ALL.iter().position(|&k| k == kind).unwrap_or(0) as u32
}

impl FailOn {
    /// Exactly these kinds.
    pub fn of(kinds: impl IntoIterator<Item = Kind>) -> FailOn {
        FailOn {
            kinds: kinds.into_iter().fold(0, |acc, k| acc | 1 << index(k)),
        }
    }

    /// Parse a `--fail-on` list: kind names separated by commas, or `all`, `none`, `errors`
    /// (the default).
    pub fn parse(list: &str) -> Result<FailOn, String> {
        let mut kinds = Vec::new();
        for word in list.split(',').map(str::trim) {
            match word {
                "all" => kinds.extend(Kind::ALL),
                "none" => {}
                "errors" => kinds.extend(
                    Kind::ALL
                        .into_iter()
                        .filter(|k| k.severity() == Severity::Error),
                ),
                name => match Kind::from_name(name) {
                    Some(k) => kinds.push(k),
                    None => {
                        let names: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
                        return Err(format!("--fail-on: unknown kind {name:?} (expected a comma list of {}, or all, errors, none)", names.join(", ")));
                    }
                },
            }
        }
        Ok(FailOn::of(kinds))
    }

    /// Whether a finding of this kind fails the run (unless waived).
    pub fn fails(&self, kind: Kind) -> bool {
        self.kinds & (1 << index(kind)) != 0
    }

    /// Whether this finding counts for the exit status.
    pub fn counts(&self, f: &Finding) -> bool {
        f.waived.is_none() && self.fails(f.kind)
    }

    /// The exit status of an audit under this policy: its findings, and the repair bit.
    pub fn audit_status(&self, a: &crate::audit::Audit) -> u8 {
        self.status(&a.findings) | (a.exit_code() & NO_SOURCE)
    }

    /// The exit status for a set of findings under this policy.
    pub fn status<'a>(&self, findings: impl IntoIterator<Item = &'a Finding>) -> u8 {
        findings
            .into_iter()
            .filter(|f| self.counts(f))
            .fold(CLEAN, |acc, f| acc | bit(f.kind))
    }
}

/// The exit bit of a kind when it fails.
pub fn bit(kind: Kind) -> u8 {
    match kind.exit_bit() {
        0 => WARNING,
        b => b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(kind: Kind) -> Finding {
        Finding {
            kind,
            component: "c".into(),
            file: None,
            path: "p".into(),
            algorithm: None,
            expected: None,
            actual: None,
            detail: String::new(),
            waived: None,
        }
    }

    #[test]
    fn bits_combine_and_warnings_do_not_count() {
        assert_eq!(FailOn::default().status(&[]), 0);
        assert_eq!(FailOn::default().status(&[f(Kind::KeyformMismatch)]), 0);
        assert_eq!(
            FailOn::default().status(&[f(Kind::HashMismatch), f(Kind::HashMismatch)]),
            1
        );
        assert_eq!(
            FailOn::default().status(&[f(Kind::HashMismatch), f(Kind::MissingPayload)]),
            3
        );
        assert_eq!(
            FailOn::default().status(&[
                f(Kind::Unreadable),
                f(Kind::ManifestCorrupt),
                f(Kind::MissingPayload)
            ]),
            6
        );
        let mut waived = f(Kind::HashMismatch);
        waived.waived = Some("known, tracked in ticket 42".into());
        assert_eq!(
            FailOn::default().status(&[waived, f(Kind::MissingPayload)]),
            2
        );
    }

    #[test]
    fn fail_on_chooses_the_kinds() {
        let all = [
            f(Kind::HashMismatch),
            f(Kind::MissingPayload),
            f(Kind::Unverifiable),
            f(Kind::KeyformMismatch),
        ];
        assert_eq!(FailOn::parse("errors").unwrap(), FailOn::default());
        assert_eq!(FailOn::parse("hash_mismatch").unwrap().status(&all), 1);
        assert_eq!(
            FailOn::parse("missing_payload, unverifiable")
                .unwrap()
                .status(&all),
            6
        );
        assert_eq!(
            FailOn::parse("keyform_mismatch").unwrap().status(&all),
            WARNING
        );
        assert_eq!(FailOn::parse("all").unwrap().status(&all), 1 | 2 | 4 | 16);
        assert_eq!(FailOn::parse("none").unwrap().status(&all), 0);
        let err = FailOn::parse("hash_mismatch,md5").unwrap_err();
        assert!(
            err.contains("\"md5\"") && err.contains("keyform_mismatch"),
            "{err}"
        );
    }
}

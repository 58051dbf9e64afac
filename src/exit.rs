//! Exit status: a bitmask in the AIDE/Tripwire tradition so that CI can tell kinds apart,
//! plus the sysexits-style codes for runs that verified nothing.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | clean (warnings alone exit 0) |
//! | bit 1 | at least one `hash_mismatch` |
//! | bit 2 | at least one `missing_payload` |
//! | bit 4 | at least one `unverifiable`, `manifest_corrupt` or `unreadable` |
//! | bit 8 | a bad payload has no good repair source (`--source`) |
//! | 64 | usage error |
//! | 66 | the input is not a Windows image (nothing verified) |
//! | 70 | internal error |

use crate::findings::Finding;

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
/// Wrong flags or arguments.
pub const USAGE: u8 = 64;
/// The input is not a Windows image.
pub const NOT_AN_IMAGE: u8 = 66;
/// A bug or an unexpected failure.
pub const INTERNAL: u8 = 70;

/// The exit status for a set of findings.
pub fn for_findings<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> u8 {
    findings.into_iter().filter(|f| f.waived.is_none()).fold(CLEAN, |acc, f| acc | f.kind.exit_bit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::Kind;

    fn f(kind: Kind) -> Finding {
        Finding { kind, component: "c".into(), file: None, path: "p".into(), algorithm: None, expected: None, actual: None, detail: String::new(), waived: None }
    }

    #[test]
    fn bits_combine_and_warnings_do_not_count() {
        assert_eq!(for_findings(&[]), 0);
        assert_eq!(for_findings(&[f(Kind::KeyformMismatch)]), 0);
        assert_eq!(for_findings(&[f(Kind::HashMismatch), f(Kind::HashMismatch)]), 1);
        assert_eq!(for_findings(&[f(Kind::HashMismatch), f(Kind::MissingPayload)]), 3);
        assert_eq!(for_findings(&[f(Kind::Unreadable), f(Kind::ManifestCorrupt), f(Kind::MissingPayload)]), 6);
        let mut waived = f(Kind::HashMismatch);
        waived.waived = Some("known, tracked in ticket 42".into());
        assert_eq!(for_findings(&[waived, f(Kind::MissingPayload)]), 2);
    }
}

//! What a manifest's `<asmv2:hash>` promises about a payload, resolved into something we can
//! check, or into the reason we cannot.
//!
//! Facts (formats.md §1.4, §1.6): asm.v3 OS manifests use `xmldsig#sha256`; legacy asm.v1
//! (Win32 side-by-side) manifests use `xmldsig#sha1` in the same `asmv2:hash` element. The
//! only transform seen anywhere is `urn:schemas-microsoft-com:HashTransforms.Identity`
//! (the digest covers the file bytes unchanged). The value is standard base64, as CBS.log
//! prints it (`{l:32 b:...}`). Anything else is *unverifiable*, never corrupt: an unknown
//! algorithm or transform says nothing about the payload.

use base64::Engine;

use crate::format::manifest::HashSpec;

/// The only transform Windows is known to use.
pub const IDENTITY_TRANSFORM: &str = "urn:schemas-microsoft-com:HashTransforms.Identity";

/// A digest algorithm we can compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    /// SHA-256 (asm.v3 component manifests).
    Sha256,
    /// SHA-1 (legacy asm.v1 Win32 assemblies).
    Sha1,
}

impl Algorithm {
    /// The digest length in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 32,
            Algorithm::Sha1 => 20,
        }
    }

    /// Lower-case name, as used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha1 => "sha1",
        }
    }

    /// The algorithm named by a `DigestMethod` URI, if we know it.
    pub fn from_uri(uri: &str) -> Option<Algorithm> {
        const KNOWN: [(&str, Algorithm); 3] = [
            (
                "http://www.w3.org/2000/09/xmldsig#sha256",
                Algorithm::Sha256,
            ),
            ("http://www.w3.org/2001/04/xmlenc#sha256", Algorithm::Sha256),
            ("http://www.w3.org/2000/09/xmldsig#sha1", Algorithm::Sha1),
        ];
        KNOWN
            .iter()
            .find(|(u, _)| u.eq_ignore_ascii_case(uri.trim()))
            .map(|&(_, a)| a)
    }
}

/// A digest a payload must have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// The algorithm.
    pub algorithm: Algorithm,
    /// The raw digest bytes.
    pub value: Vec<u8>,
}

/// Resolve a manifest's hash element into an expected digest, or the reason it cannot be
/// checked (which becomes an `unverifiable` finding).
pub fn resolve(spec: Option<&HashSpec>, legacy_hash_attr: bool) -> Result<Expected, String> {
    let Some(spec) = spec else {
        return Err(if legacy_hash_attr {
            "only a legacy hash= attribute, whose digest algorithm is undocumented".into()
        } else {
            "the manifest gives no digest for this file".into()
        });
    };
    if let Some(t) = spec
        .transforms
        .iter()
        .find(|t| t.trim() != IDENTITY_TRANSFORM)
    {
        return Err(format!("unknown hash transform {t:?}"));
    }
    let method = spec
        .method
        .as_deref()
        .ok_or("the hash element has no DigestMethod")?;
    let algorithm = Algorithm::from_uri(method)
        .ok_or_else(|| format!("unknown digest algorithm {method:?}"))?;
    let text = spec
        .value
        .as_deref()
        .ok_or("the hash element has no DigestValue")?;
    // Whitespace inside a DigestValue is rare: copy only when there is some.
    let text: std::borrow::Cow<'_, str> = if text.bytes().any(|b| b.is_ascii_whitespace()) {
        text.chars().filter(|c| !c.is_ascii_whitespace()).collect()
    } else {
        text.into()
    };
    let value = base64::engine::general_purpose::STANDARD
        .decode(text.as_bytes())
        .map_err(|e| format!("DigestValue {text:?} is not valid base64 ({e})"))?;
    if value.len() != algorithm.digest_len() {
        return Err(format!(
            "DigestValue has {} bytes, {} needs {}",
            value.len(),
            algorithm.name(),
            algorithm.digest_len()
        ));
    }
    Ok(Expected { algorithm, value })
}

/// Standard base64, as CBS.log and manifests print digests.
pub fn to_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Lower-case hex.
pub fn to_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec<'a>(method: &'a str, value: &'a str, transforms: &[&'a str]) -> HashSpec<'a> {
        HashSpec {
            transforms: transforms.iter().map(|&s| s.into()).collect(),
            method: Some(method.into()),
            value: Some(value.into()),
        }
    }

    const SHA256: &str = "http://www.w3.org/2000/09/xmldsig#sha256";

    #[test]
    fn sha256_with_identity_transform() {
        let e = resolve(
            Some(&spec(
                SHA256,
                "nY4HDmpDGCawVpzT4PPY37NmlGtU+WDcSGctfJ0va4c=",
                &[IDENTITY_TRANSFORM],
            )),
            false,
        )
        .unwrap();
        assert_eq!(e.algorithm, Algorithm::Sha256);
        assert_eq!(to_hex(&e.value[..4]), "9d8e070e");
        assert_eq!(
            to_base64(&e.value),
            "nY4HDmpDGCawVpzT4PPY37NmlGtU+WDcSGctfJ0va4c="
        );
    }

    #[test]
    fn whitespace_inside_the_value_is_ignored() {
        let e = resolve(
            Some(&spec(
                SHA256,
                "\r\n  nY4HDmpDGCawVpzT4PPY37Nm\nlGtU+WDcSGctfJ0va4c=  ",
                &[],
            )),
            false,
        )
        .unwrap();
        assert_eq!(e.value.len(), 32);
    }

    #[test]
    fn sha1_length_is_checked() {
        let sha1 = "http://www.w3.org/2000/09/xmldsig#sha1";
        assert_eq!(
            resolve(
                Some(&spec(sha1, "AAAAAAAAAAAAAAAAAAAAAAAAAAA=", &[])),
                false
            )
            .unwrap()
            .algorithm,
            Algorithm::Sha1
        );
        let err = resolve(
            Some(&spec(
                sha1,
                "nY4HDmpDGCawVpzT4PPY37NmlGtU+WDcSGctfJ0va4c=",
                &[],
            )),
            false,
        )
        .unwrap_err();
        assert!(err.contains("32 bytes, sha1 needs 20"), "{err}");
    }

    #[test]
    fn unverifiable_reasons() {
        let md5 = "http://www.w3.org/2001/04/xmldsig-more#md5";
        assert!(resolve(Some(&spec(md5, "AAAA", &[])), false)
            .unwrap_err()
            .contains("unknown digest algorithm"));
        assert!(
            resolve(Some(&spec(SHA256, "AAAA", &["urn:x-other"])), false)
                .unwrap_err()
                .contains("unknown hash transform")
        );
        assert!(resolve(Some(&spec(SHA256, "not base64!", &[])), false)
            .unwrap_err()
            .contains("not valid base64"));
        assert!(resolve(None, true)
            .unwrap_err()
            .contains("legacy hash= attribute"));
        assert!(resolve(None, false).unwrap_err().contains("no digest"));
    }
}

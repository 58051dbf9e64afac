//! The component keyform: the name of a component's folder in `WinSxS` and of its manifest.
//!
//! Windows names each component folder
//! `<arch>_<name>_<publicKeyToken>_<version>_<culture>_<16-hex identity hash>`, all lowercase
//! (formats.md §4.1; Jon Wiswall, "What's that awful directory name under Windows\WinSxS?").
//! The manifest is `Manifests\<keyform>.manifest`, so the folder is found from the manifest's
//! file name. Computing the keyform again from `<assemblyIdentity>` catches a manifest filed
//! under the wrong name, which we report as a `keyform_mismatch` warning.
//!
//! Rules, from formats.md §4 (derived from himselfv/manifestenum and asdcorp/haveSxS
//! descriptions, re-implemented from the prose and checked on 19 real folder names):
//! - `arch`: `processorArchitecture` lowercased, `none` when absent.
//! - `name`: keep `A-Z a-z 0-9 . - _`, lowercase; when the result has 40 characters or more,
//!   keep the first 19, then `..`, then the last 19 (exactly 40 is shortened: verified).
//! - `culture`: `none` for an empty or `neutral` language, else lowercased; longer than 8
//!   characters: first 3 + `..` + last 3 (haveSxS; **unverified** on a real image).
//! - the hash: four 32-bit accumulators fed round-robin with the ASCII-lowercased characters
//!   (`a = a * 0x1003F + c`), combined as `a0 K^3 + a1 K^2 + a2 K + a3` with `K = 0x1FFFFFFF7`;
//!   each attribute contributes `H(name) K + H(value)`, folded as `acc = acc K + pair` over
//!   name, culture, type, version, publickeytoken, processorarchitecture, versionscope,
//!   skipping absent, empty, `neutral` (culture) and `none` values. All arithmetic mod 2^64.

use crate::format::manifest::Identity;

const K: u64 = 0x1_FFFF_FFF7;

/// The string hash H(s) of formats.md §4.2.
fn string_hash(s: &str) -> u64 {
    let mut acc = [0u32; 4];
    for (i, b) in s.bytes().enumerate() {
        let c = b.to_ascii_lowercase() as u32;
        acc[i % 4] = acc[i % 4].wrapping_mul(0x1003F).wrapping_add(c);
    }
    acc.iter()
        .fold(0u64, |h, &a| h.wrapping_mul(K).wrapping_add(a as u64))
}

fn pair_hash(name: &str, value: &str) -> u64 {
    string_hash(name)
        .wrapping_mul(K)
        .wrapping_add(string_hash(value))
}

/// The 64-bit identity hash ("pseudo-key") that ends every keyform.
pub fn identity_hash(id: &Identity) -> u64 {
    let culture = id
        .language
        .as_deref()
        .filter(|l| !l.eq_ignore_ascii_case("neutral"));
    let attrs: [(&str, Option<&str>); 7] = [
        ("name", id.name.as_deref()),
        ("culture", culture),
        ("type", id.type_.as_deref()),
        ("version", id.version.as_deref()),
        ("publickeytoken", id.public_key_token.as_deref()),
        (
            "processorarchitecture",
            id.processor_architecture.as_deref(),
        ),
        ("versionscope", id.version_scope.as_deref()),
    ];
    attrs
        .iter()
        .filter_map(|(n, v)| v.map(|v| (n, v)))
        .filter(|(_, v)| !v.is_empty() && !v.eq_ignore_ascii_case("none"))
        .fold(0u64, |acc, (n, v)| {
            acc.wrapping_mul(K).wrapping_add(pair_hash(n, v))
        })
}

/// Shorten what `s` holds from `start` (ASCII) to `head` + `..` + `tail` characters when it
/// is at least `limit` long.
fn shorten_from(s: &mut String, start: usize, limit: usize, head: usize, tail: usize) {
    let end = s.len();
    if end - start >= limit {
        s.replace_range(start + head..end - tail, "..");
    }
}

/// Append `chars` lower-cased.
fn push_lower(out: &mut String, chars: impl Iterator<Item = char>) {
    out.extend(chars.map(|c| c.to_ascii_lowercase()));
}

/// The keyform Windows gives the component with this identity.
pub fn keyform(id: &Identity) -> String {
    // Built in one buffer: this runs for every manifest.
    let mut out = String::with_capacity(128);
    let arch = id
        .processor_architecture
        .as_deref()
        .filter(|a| !a.is_empty())
        .unwrap_or("none");
    push_lower(&mut out, arch.chars());
    out.push('_');
    let start = out.len();
    let raw = id.name.as_deref().unwrap_or("");
    push_lower(
        &mut out,
        raw.chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')),
    );
    shorten_from(&mut out, start, 40, 19, 19);
    out.push('_');
    push_lower(
        &mut out,
        id.public_key_token.as_deref().unwrap_or("").chars(),
    );
    out.push('_');
    out.push_str(id.version.as_deref().unwrap_or(""));
    out.push('_');
    match id.language.as_deref() {
        None | Some("") => out.push_str("none"),
        Some(l) if l.eq_ignore_ascii_case("neutral") => out.push_str("none"),
        Some(l) => {
            let start = out.len();
            push_lower(&mut out, l.chars().filter(char::is_ascii));
            if out.len() - start > 8 {
                shorten_from(&mut out, start, 9, 3, 3);
            }
        }
    }
    use std::fmt::Write;
    let _ = write!(out, "_{:016x}", identity_hash(id));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id<'a>(
        name: &'a str,
        ver: &'a str,
        arch: &'a str,
        lang: &'a str,
        ty: Option<&'a str>,
        pkt: &'a str,
        scope: Option<&'a str>,
    ) -> Identity<'a> {
        Identity {
            name: Some(name.into()),
            version: Some(ver.into()),
            processor_architecture: Some(arch.into()),
            language: Some(lang.into()),
            type_: ty.map(Into::into),
            public_key_token: Some(pkt.into()),
            version_scope: scope.map(Into::into),
            build_type: Some("release".into()),
        }
    }

    fn os<'a>(name: &'a str, ver: &'a str, arch: &'a str) -> Identity<'a> {
        id(
            name,
            ver,
            arch,
            "neutral",
            None,
            "31bf3856ad364e35",
            Some("nonSxS"),
        )
    }

    /// The real folder names of formats.md §4.2, with the identities they come from.
    #[test]
    fn real_folder_names() {
        let cases = [
            (id("dual_netvg63a.inf", "10.0.26100.1", "amd64", "neutral", Some("dualModeDriver"), "31bf3856ad364e35", Some("nonSxS")),
             "amd64_dual_netvg63a.inf_31bf3856ad364e35_10.0.26100.1_none_9162a10543917fc7"),
            (os("Microsoft-Windows-Core", "10.0.26100.1", "amd64"),
             "amd64_microsoft-windows-core_31bf3856ad364e35_10.0.26100.1_none_a943f5e781a44c5c"),
            (os("Microsoft-Windows-Font-TrueType-Gadugi", "10.0.26100.1", "amd64"),
             "amd64_microsoft-windows-font-truetype-gadugi_31bf3856ad364e35_10.0.26100.1_none_e1326a4c8dcc8ee1"),
            (os("Microsoft-Windows-Network-Security", "10.0.26100.1591", "amd64"),
             "amd64_microsoft-windows-network-security_31bf3856ad364e35_10.0.26100.1591_none_68e46b0fda91af4d"),
            (id("Multipoint-SrcRes.Resources", "10.0.26100.1", "amd64", "en-US", None, "31bf3856ad364e35", Some("nonSxS")),
             "amd64_multipoint-srcres.resources_31bf3856ad364e35_10.0.26100.1_en-us_6ab3ac0cf789ac3d"),
            (os("Microsoft-Windows-OneCoreUAPCommonProxyStub", "10.0.26100.7309", "wow64"),
             "wow64_microsoft-windows-o..euapcommonproxystub_31bf3856ad364e35_10.0.26100.7309_none_38de5e2364a9fd20"),
            (os("Microsoft-Windows-Shlwapi", "10.0.19041.1706", "amd64"),
             "amd64_microsoft-windows-shlwapi_31bf3856ad364e35_10.0.19041.1706_none_6e6374325a0e351e"),
            (os("Microsoft-Windows-Shlwapi", "10.0.19041.1706", "wow64"),
             "wow64_microsoft-windows-shlwapi_31bf3856ad364e35_10.0.19041.1706_none_78b81e848e6ef719"),
            (os("Microsoft-Windows-Shlwapi", "10.0.19041.2075", "amd64"),
             "amd64_microsoft-windows-shlwapi_31bf3856ad364e35_10.0.19041.2075_none_6eb63e5a59cf066e"),
            (os("Microsoft-Windows-Shlwapi", "10.0.19041.2075", "wow64"),
             "wow64_microsoft-windows-shlwapi_31bf3856ad364e35_10.0.19041.2075_none_790ae8ac8e2fc869"),
            (os("Microsoft-Windows-UserExperience-Desktop", "10.0.19041.1741", "amd64"),
             "amd64_microsoft-windows-u..rexperience-desktop_31bf3856ad364e35_10.0.19041.1741_none_fb3f58b37ea27c55"),
            (os("Microsoft-Windows-FailoverCluster-ClientCore", "10.0.17763.3469", "amd64"),
             "amd64_microsoft-windows-f..rcluster-clientcore_31bf3856ad364e35_10.0.17763.3469_none_decef48d0a3310cc"),
            (os("Microsoft-Windows-Audio-MMECore-ACM", "10.0.19041.1", "wow64"),
             "wow64_microsoft-windows-audio-mmecore-acm_31bf3856ad364e35_10.0.19041.1_none_a12b40f4b4c7b751"),
            (os("Microsoft-Windows-Audio-VolumeControl", "10.0.19041.3636", "wow64"),
             "wow64_microsoft-windows-audio-volumecontrol_31bf3856ad364e35_10.0.19041.3636_none_4514b27cf12f35d5"),
            (os("WindowsSearchEngine", "7.0.14393.206", "wow64"),
             "wow64_windowssearchengine_31bf3856ad364e35_7.0.14393.206_none_b351c84b3e083664"),
            (id("prncacla.inf", "6.3.9600.16384", "amd64", "neutral", Some("driverUpdate"), "31bf3856ad364e35", Some("nonSxS")),
             "amd64_prncacla.inf_31bf3856ad364e35_6.3.9600.16384_none_9590ba64d5b91f79"),
            (os("Microsoft-Windows-Wintrust-Dll", "6.1.7601.23468", "amd64"),
             "amd64_microsoft-windows-wintrust-dll_31bf3856ad364e35_6.1.7601.23468_none_4e2b9c2fc9f33913"),
            (id("Microsoft.VC90.CRT", "9.0.30729.4974", "x86", "", Some("win32"), "1fc8b3b9a1e18e3b", None),
             "x86_microsoft.vc90.crt_1fc8b3b9a1e18e3b_9.0.30729.4974_none_50940634bcb759cb"),
        ];
        for (identity, want) in cases {
            assert_eq!(keyform(&identity), want, "{identity:?}");
        }
    }

    #[test]
    fn hash_of_empty_string_is_zero_and_case_folds() {
        assert_eq!(string_hash(""), 0);
        assert_eq!(string_hash("AbC"), string_hash("abc"));
        assert_ne!(string_hash("abc"), string_hash("abd"));
    }

    #[test]
    fn name_shortening_boundary() {
        // 39 characters stay, 40 are shortened (verified on a real folder name).
        let n39 = "a".repeat(39);
        let n40 = format!("{}{}", "b".repeat(20), "c".repeat(20));
        assert!(keyform(&os(&n39, "1.0", "amd64")).contains(&format!("_{n39}_")));
        let k = keyform(&os(&n40, "1.0", "amd64"));
        assert!(
            k.starts_with(&format!("amd64_{}..{}_", "b".repeat(19), "c".repeat(19))),
            "{k}"
        );
    }

    #[test]
    fn filtered_characters_and_missing_fields() {
        let mut i = os("Foo Bar+Baz", "1.0", "");
        i.processor_architecture = None;
        let k = keyform(&i);
        assert!(
            k.starts_with("none_foobarbaz_31bf3856ad364e35_1.0_none_"),
            "{k}"
        );
    }
}

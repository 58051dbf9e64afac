//! Every meaning in this crate that comes from community reverse engineering, in one place so
//! that it is easy to correct when a real Windows 10 17763 image proves it wrong.
//!
//! Nothing here is documented by Microsoft. Sources (see `shared/reference/formats.md` §5):
//!
//! - **Key paths.** `DerivedData\Components\<keyform>` and `CanonicalData\Deployments\<keyform>`
//!   in the COMPONENTS hive; `Microsoft\Windows\CurrentVersion\Component Based
//!   Servicing\Packages\<package>` in the SOFTWARE hive (cbs-docs CBSInternals.md;
//!   himselfv/manifestenum SxsUtils.pas comment block) \[source\].
//! - **Component values.** `S256H` = SHA-256 of the decoded manifest (himselfv: "apparently";
//!   gowim reports the same); `identity` = REG_BINARY ASCII identity string; `c!<deployment>` =
//!   link to an owning deployment; `f!<file>` = REG_DWORD flag bits, present once the file is
//!   staged (sysnative thread 41621 shows a value of `0x201`); `CF` = set when staged / when
//!   removed: the two sources conflict, so it is only carried, never interpreted \[source\].
//! - **Deployment values.** `p!<package>` (link), `s!<package>` (staged for), `i!<package>`
//!   (installed for) \[source\].
//! - **Package states.** `CurrentState` DWORD; numbers from WitherOrNot/cbsexploder CbsApi.h,
//!   enum `CbsState` \[source\]. The "Invalid" states are stored as negative numbers in a DWORD.
//! - **Decision rule** ([`payload_required`], [`ServicingState::expectation`](crate::ServicingState::expectation))
//!   is formats.md §5.2 "Decision rule \[inferred\]": a file is expected in the store when its
//!   component has an `f!` value for it, unless every package that owns the component is in a
//!   state where payloads may legitimately be gone (superseded, absent, resolved only). Which
//!   states are which is *our inference*, listed in [`payload_required`].
//! - **Pending work.** Subkeys and non-zero values of `PackagesPending` and `SessionsPending`
//!   under the CBS key, the `RebootPending` subkey and the `Unserviceable` value (cbs-docs)
//!   \[source\]; treating a zero DWORD there as "nothing pending" is \[inferred\].
//!
//! All names are compared ASCII-case-insensitively, as the registry does for these names.

use std::fmt;

use crate::Expectation;

/// `DerivedData\Components`, relative to the COMPONENTS hive root.
pub const COMPONENTS_PATH: [&str; 2] = ["DerivedData", "Components"];
/// `CanonicalData\Deployments`, relative to the COMPONENTS hive root.
pub const DEPLOYMENTS_PATH: [&str; 2] = ["CanonicalData", "Deployments"];
/// The CBS key, relative to the SOFTWARE hive root.
pub const CBS_PATH: [&str; 4] = [
    "Microsoft",
    "Windows",
    "CurrentVersion",
    "Component Based Servicing",
];
/// Subkey of the CBS key holding one key per package.
pub const PACKAGES_KEY: &str = "Packages";
/// Subkeys of the CBS key whose entries mean "operations are pending".
pub const PENDING_KEYS: [&str; 2] = ["PackagesPending", "SessionsPending"];
/// Subkey of the CBS key that exists while a reboot is pending.
pub const REBOOT_PENDING_KEY: &str = "RebootPending";
/// Value of the CBS key that marks the image unserviceable.
pub const UNSERVICEABLE_VALUE: &str = "Unserviceable";
/// Package key value holding the [`PackageState`] number.
pub const CURRENT_STATE_VALUE: &str = "CurrentState";

/// Component value: SHA-256 of the decoded manifest.
pub const S256H_VALUE: &str = "S256H";
/// Component value: identity string.
pub const IDENTITY_VALUE: &str = "identity";
/// Component value: opaque, carried verbatim.
pub const CF_VALUE: &str = "CF";
/// Component value prefix: one value per staged file, REG_DWORD flags.
pub const FILE_PREFIX: &str = "f!";
/// Component value prefix: link to an owning deployment.
pub const DEPLOYMENT_LINK_PREFIX: &str = "c!";

/// What a component value name means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComponentValue<'a> {
    /// `f!<file>`: the file is staged.
    File(&'a str),
    /// `c!<deployment>`.
    DeploymentLink(&'a str),
    /// `S256H`.
    S256h,
    /// `identity`.
    Identity,
    /// `CF`.
    Cf,
    /// Anything else (ignored).
    Other,
}

/// Classify a value name found under `DerivedData\Components\<keyform>`.
pub fn component_value(name: &str) -> ComponentValue<'_> {
    if let Some(rest) = strip_prefix_ci(name, FILE_PREFIX) {
        ComponentValue::File(rest)
    } else if let Some(rest) = strip_prefix_ci(name, DEPLOYMENT_LINK_PREFIX) {
        ComponentValue::DeploymentLink(rest)
    } else if name.eq_ignore_ascii_case(S256H_VALUE) {
        ComponentValue::S256h
    } else if name.eq_ignore_ascii_case(IDENTITY_VALUE) {
        ComponentValue::Identity
    } else if name.eq_ignore_ascii_case(CF_VALUE) {
        ComponentValue::Cf
    } else {
        ComponentValue::Other
    }
}

/// How a deployment names a package (the value-name prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LinkKind {
    /// `p!<package>`: the package references the deployment.
    P,
    /// `s!<package>`: staged for that package.
    S,
    /// `i!<package>`: installed for that package.
    I,
}

impl LinkKind {
    /// The value-name prefix (`"p!"`, `"s!"`, `"i!"`).
    pub fn prefix(self) -> &'static str {
        match self {
            LinkKind::P => "p!",
            LinkKind::S => "s!",
            LinkKind::I => "i!",
        }
    }
}

/// Classify a value name found under `CanonicalData\Deployments\<keyform>`: the link kind and
/// the package name, or `None` for other values (`appid`, `CatalogThumbprint`, ...).
pub fn deployment_value(name: &str) -> Option<(LinkKind, &str)> {
    [LinkKind::P, LinkKind::S, LinkKind::I]
        .into_iter()
        .find_map(|k| strip_prefix_ci(name, k.prefix()).map(|rest| (k, rest)))
}

/// `CurrentState` of a CBS package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PackageState {
    /// 0.
    Absent,
    /// 5.
    UninstallPending,
    /// 16 (0x10).
    Resolving,
    /// 32 (0x20).
    Resolved,
    /// 48 (0x30).
    Staging,
    /// 64 (0x40).
    Staged,
    /// 80 (0x50).
    Superseded,
    /// 96 (0x60).
    InstallPending,
    /// 101 (0x65).
    PartiallyInstalled,
    /// 112 (0x70).
    Installed,
    /// 128 (0x80).
    Permanent,
    /// -32 / -64 / -112 / -128: ResolvedInvalid, StagedInvalid, InstalledInvalid,
    /// PermanentInvalid (the DWORD read as `i32`).
    Invalid(i32),
    /// Any other number.
    Other(u32),
    /// A deployment names the package, but the SOFTWARE hive has no key for it, has no
    /// `CurrentState`, or was not given. Not a CBS state: our marker for "unknown".
    NotRegistered,
}

impl PackageState {
    /// Decode a `CurrentState` DWORD.
    pub fn from_u32(v: u32) -> Self {
        match v {
            0 => Self::Absent,
            5 => Self::UninstallPending,
            16 => Self::Resolving,
            32 => Self::Resolved,
            48 => Self::Staging,
            64 => Self::Staged,
            80 => Self::Superseded,
            96 => Self::InstallPending,
            101 => Self::PartiallyInstalled,
            112 => Self::Installed,
            128 => Self::Permanent,
            _ => match v as i32 {
                s @ (-32 | -64 | -112 | -128) => Self::Invalid(s),
                _ => Self::Other(v),
            },
        }
    }

    /// The number as stored (`Invalid` as its two's complement DWORD; `NotRegistered` has none).
    pub fn to_u32(self) -> Option<u32> {
        Some(match self {
            Self::Absent => 0,
            Self::UninstallPending => 5,
            Self::Resolving => 16,
            Self::Resolved => 32,
            Self::Staging => 48,
            Self::Staged => 64,
            Self::Superseded => 80,
            Self::InstallPending => 96,
            Self::PartiallyInstalled => 101,
            Self::Installed => 112,
            Self::Permanent => 128,
            Self::Invalid(s) => s as u32,
            Self::Other(v) => v,
            Self::NotRegistered => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Self::Absent => "Absent",
            Self::UninstallPending => "UninstallPending",
            Self::Resolving => "Resolving",
            Self::Resolved => "Resolved",
            Self::Staging => "Staging",
            Self::Staged => "Staged",
            Self::Superseded => "Superseded",
            Self::InstallPending => "InstallPending",
            Self::PartiallyInstalled => "PartiallyInstalled",
            Self::Installed => "Installed",
            Self::Permanent => "Permanent",
            Self::Invalid(-32) => "ResolvedInvalid",
            Self::Invalid(-64) => "StagedInvalid",
            Self::Invalid(-112) => "InstalledInvalid",
            Self::Invalid(-128) => "PermanentInvalid",
            Self::Invalid(_) => "Invalid",
            Self::Other(_) => "Unknown",
            Self::NotRegistered => "NotRegistered",
        }
    }
}

/// `Superseded (80)`, `StagedInvalid (-64)`, `NotRegistered`.
impl fmt::Display for PackageState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Invalid(s) => write!(f, "{} ({s})", self.name()),
            Self::NotRegistered => f.write_str(self.name()),
            other => match other.to_u32() {
                Some(v) => write!(f, "{} ({v})", self.name()),
                None => f.write_str(self.name()),
            },
        }
    }
}

/// Whether a package in `state` must have the payloads of its staged (`f!`) files in the
/// store. \[inferred\] from formats.md §5.1/§5.2:
///
/// - yes: Staged, Installed, Permanent, PartiallyInstalled, InstallPending (staged, waiting to
///   install), UninstallPending (still installed until the reboot), Staging (mid-way: files
///   already written are expected; the pending-operation warning covers the rest), the
///   Staged/Installed/Permanent *Invalid* states (the package was there; a missing payload is
///   what made it invalid or makes it worse), and `NotRegistered`/`Other` (unknown: the `f!`
///   value is the only evidence, and it says "staged").
/// - no: Absent, Resolving, Resolved, ResolvedInvalid (never staged), Superseded (its
///   payloads may have been scavenged).
pub fn payload_required(state: PackageState) -> bool {
    match state {
        PackageState::Absent
        | PackageState::Resolving
        | PackageState::Resolved
        | PackageState::Superseded => false,
        PackageState::Invalid(s) => s != -32,
        PackageState::UninstallPending
        | PackageState::Staging
        | PackageState::Staged
        | PackageState::InstallPending
        | PackageState::PartiallyInstalled
        | PackageState::Installed
        | PackageState::Permanent
        | PackageState::Other(_)
        | PackageState::NotRegistered => true,
    }
}

/// The decision rule of formats.md §5.2 \[inferred\]: `flags` is the component's `f!` value
/// for `file` (None: no such value), `owners` its packages and their states.
///
/// - no `f!` value: absent by design (not staged, or its payload was removed);
/// - no known owner: expected (the `f!` value is the only evidence, and it says "staged");
/// - an owner whose state needs payloads ([`payload_required`]): expected;
/// - otherwise absent by design, naming every owner's state.
pub fn decide(file: &str, flags: Option<u32>, owners: Vec<(String, PackageState)>) -> Expectation {
    let Some(flags) = flags else {
        return Expectation::AbsentByDesign {
            reason: format!(
                "component has no {FILE_PREFIX}{file} value (not staged, or payload removed)"
            ),
        };
    };
    if owners.is_empty() || owners.iter().any(|(_, s)| payload_required(*s)) {
        return Expectation::Expected { owners, flags };
    }
    let reason = owners
        .iter()
        .map(|(p, s)| format!("package {p} is {s}"))
        .collect::<Vec<_>>()
        .join("; ");
    Expectation::AbsentByDesign { reason }
}

/// `name` without `prefix`, compared ASCII-case-insensitively.
pub(crate) fn strip_prefix_ci<'a>(name: &'a str, prefix: &str) -> Option<&'a str> {
    let head = name.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| name.get(prefix.len()..))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_and_display() {
        for v in [
            0u32,
            5,
            16,
            32,
            48,
            64,
            80,
            96,
            101,
            112,
            128,
            7,
            (-64i32) as u32,
        ] {
            assert_eq!(PackageState::from_u32(v).to_u32(), Some(v));
        }
        assert_eq!(PackageState::from_u32(80).to_string(), "Superseded (80)");
        assert_eq!(
            PackageState::from_u32((-112i32) as u32).to_string(),
            "InstalledInvalid (-112)"
        );
        assert_eq!(PackageState::from_u32(7), PackageState::Other(7));
        assert_eq!(PackageState::from_u32(7).to_string(), "Unknown (7)");
    }

    #[test]
    fn value_names_are_case_insensitive() {
        assert_eq!(
            component_value("F!Foo.DLL"),
            ComponentValue::File("Foo.DLL")
        );
        assert_eq!(
            component_value("C!dep"),
            ComponentValue::DeploymentLink("dep")
        );
        assert_eq!(component_value("s256h"), ComponentValue::S256h);
        assert_eq!(component_value("Identity"), ComponentValue::Identity);
        assert_eq!(component_value("cf"), ComponentValue::Cf);
        assert_eq!(component_value("f"), ComponentValue::Other);
        assert_eq!(deployment_value("I!Pkg~1"), Some((LinkKind::I, "Pkg~1")));
        assert_eq!(deployment_value("appid"), None);
        // A multi-byte first character must not split a UTF-8 sequence.
        assert_eq!(component_value("é!x"), ComponentValue::Other);
    }
}

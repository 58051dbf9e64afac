//! Servicing state of an offline Windows image, read from its registry hives, so that the
//! auditor knows which WinSxS payloads *must* exist.
//!
//! A manifest alone does not say whether its payload must be present. DISM decides from
//! `Windows\System32\config\COMPONENTS` and `SOFTWARE`: components that are superseded,
//! removed or staged-never-installed may lack payloads legitimately; an installed one that
//! lacks one is the corruption that breaks the next cumulative update. COMPONENTS also holds
//! `S256H`, the SHA-256 of each decoded manifest ("CSI Manifest Corruption" when it differs).
//!
//! The crate is pure: bytes in, typed values out, no filesystem access.
//!
//! ```
//! use sxs_servicing::{regf_writer::HiveWriter, read_components, read_software, HiveFiles,
//!     ServicingState, Expectation};
//! let kf = "amd64_foo_31bf3856ad364e35_10.0.17763.1_none_0123456789abcdef";
//! let mut c = HiveWriter::new();
//! c.set_dword(&format!("DerivedData\\Components\\{kf}"), "f!foo.dll", 1);
//! c.set_binary(&format!("DerivedData\\Components\\{kf}"), "c!foo-deployment", &[]);
//! c.set_binary("CanonicalData\\Deployments\\foo-deployment", "i!Foo-Package~1", &[]);
//! let mut s = HiveWriter::new();
//! s.set_dword(r"Microsoft\Windows\CurrentVersion\Component Based Servicing\Packages\Foo-Package~1",
//!     "CurrentState", 112);
//! let (cb, sb) = (c.to_bytes(), s.to_bytes());
//! let state = ServicingState {
//!     components: read_components(HiveFiles::new(&cb))?,
//!     software: Some(read_software(HiveFiles::new(&sb))?),
//! };
//! assert!(matches!(state.expectation(kf, "FOO.DLL"), Expectation::Expected { .. }));
//! # Ok::<(), sxs_servicing::Error>(())
//! ```
//!
//! - [`read_components`] → [`ComponentsHive`]: `DerivedData\Components` and
//!   `CanonicalData\Deployments`.
//! - [`read_software`] → [`SoftwareHive`]: CBS packages and their `CurrentState`, pending work.
//! - [`ServicingState::owners`] and [`ServicingState::expectation`] apply the rule of
//!   `formats.md` §5.2; every reverse-engineered meaning is in [`meaning`].
//! - [`regf_writer`] writes hive files for tests and demo images.
//!
//! The hive reader is our own zero-copy [`reader`] of the `regf` format; its module doc
//! describes the format, what is checked and why we no longer use the `regf` crate.

#![deny(missing_docs)]

use std::collections::BTreeMap;

pub mod meaning;
pub mod reader;
#[cfg(test)]
mod reader_oracle;
pub mod regf_writer;

use meaning::{ComponentValue, CBS_PATH, COMPONENTS_PATH, DEPLOYMENTS_PATH};
pub use meaning::{LinkKind, PackageState};
use reader::{descend, subkeys, values, Hive};

/// Most warnings kept per hive; the rest are counted in the last one.
pub const MAX_WARNINGS: usize = 200;

/// Errors reading a hive.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file is bigger than [`reader::MAX_HIVE_BYTES`].
    #[error("hive is {len} bytes, more than the {cap}-byte cap")]
    TooLarge {
        /// Its size.
        len: u64,
        /// The cap.
        cap: u64,
    },
    /// The file ends before the base block or before the hive bins it announces.
    #[error("hive truncated: {have} bytes, base block needs {need}")]
    Truncated {
        /// Bytes present.
        have: u64,
        /// Bytes needed.
        need: u64,
    },
    /// No `regf` signature.
    #[error("not a registry hive: signature {found:02x?}, expected \"regf\"")]
    NotRegf {
        /// The first four bytes.
        found: [u8; 4],
    },
    /// The hive reader rejected a structure.
    #[error("corrupt hive: {0}")]
    Parse(String),
    /// A key this kind of hive must have is missing.
    #[error("not a {hive} hive: key {path} missing")]
    MissingKey {
        /// `COMPONENTS` or `SOFTWARE`.
        hive: &'static str,
        /// The missing path.
        path: String,
    },
    /// A count over its cap.
    #[error("key {key:?} has {count} {what}, more than the cap of {cap}")]
    TooMany {
        /// What was counted.
        what: &'static str,
        /// In which key.
        key: String,
        /// How many.
        count: u64,
        /// The cap.
        cap: u64,
    },
}

/// The bytes of one hive and, when present, of its transaction logs (`.LOG1`, `.LOG2`).
#[derive(Debug, Clone, Copy)]
pub struct HiveFiles<'a> {
    /// The hive file.
    pub base: &'a [u8],
    /// `<hive>.LOG1`.
    pub log1: Option<&'a [u8]>,
    /// `<hive>.LOG2`.
    pub log2: Option<&'a [u8]>,
}

impl<'a> HiveFiles<'a> {
    /// A hive without logs.
    pub fn new(base: &'a [u8]) -> Self {
        Self {
            base,
            log1: None,
            log2: None,
        }
    }
}

/// What matters in the COMPONENTS hive.
#[derive(Debug, Clone, Default)]
pub struct ComponentsHive {
    /// `DerivedData\Components`, by lower-cased keyform.
    pub components: BTreeMap<String, Component>,
    /// `CanonicalData\Deployments`, by lower-cased keyform.
    pub deployments: BTreeMap<String, Deployment>,
    /// The base block's sequence numbers differ: the last write did not complete, and
    /// changes may sit in the logs (not applied: [`reader`] has no log replay). Warn the user.
    pub dirty: bool,
    /// Whether the transaction logs were replayed (never, with the current reader).
    pub logs_applied: bool,
    /// Things skipped or suspicious (at most [`MAX_WARNINGS`]).
    pub warnings: Vec<String>,
}

/// One `DerivedData\Components\<keyform>` key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Component {
    /// `f!<file>` values: lower-cased file name → flag bits (REG_DWORD).
    pub files: BTreeMap<String, u32>,
    /// `S256H`: SHA-256 of the decoded manifest.
    pub s256h: Option<[u8; 32]>,
    /// `identity`, decoded as text.
    pub identity: Option<String>,
    /// `CF`, verbatim (its meaning is disputed: see [`meaning`]).
    pub cf: Option<Vec<u8>>,
    /// `c!<deployment>` links, lower-cased deployment keyforms.
    pub deployments: Vec<String>,
}

/// One `CanonicalData\Deployments\<keyform>` key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deployment {
    /// `p!`/`s!`/`i!` values: package name as written, and the link kind.
    pub packages: Vec<(String, LinkKind)>,
}

/// What matters in the SOFTWARE hive.
#[derive(Debug, Clone, Default)]
pub struct SoftwareHive {
    /// CBS `Packages` subkeys, by lower-cased package name.
    pub packages: BTreeMap<String, Package>,
    /// Entries of `PackagesPending` and `SessionsPending`, as `PackagesPending\<name>`.
    pub pending: Vec<String>,
    /// The CBS key has a `RebootPending` subkey.
    pub reboot_pending: bool,
    /// The CBS key has an `Unserviceable` value.
    pub unserviceable: bool,
    /// See [`ComponentsHive::dirty`].
    pub dirty: bool,
    /// See [`ComponentsHive::logs_applied`].
    pub logs_applied: bool,
    /// See [`ComponentsHive::warnings`].
    pub warnings: Vec<String>,
}

/// One CBS package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    /// The key name as written.
    pub name: String,
    /// `CurrentState` ([`PackageState::NotRegistered`] when the value is missing).
    pub current_state: PackageState,
}

/// Both hives of one image.
#[derive(Debug, Clone, Default)]
pub struct ServicingState {
    /// The COMPONENTS hive.
    pub components: ComponentsHive,
    /// The SOFTWARE hive, when it could be read.
    pub software: Option<SoftwareHive>,
}

/// Whether a payload file must be in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expectation {
    /// It must be there: its component has an `f!` value for it and an owning package is in a
    /// state that keeps payloads (or no owner is known). A missing file is corruption.
    Expected {
        /// The owning packages and their states.
        owners: Vec<(String, PackageState)>,
        /// The `f!` flag bits.
        flags: u32,
    },
    /// It may be missing: not staged, or every owner superseded, absent or resolved only.
    AbsentByDesign {
        /// Why, e.g. `package X is Superseded (80)`.
        reason: String,
    },
    /// The COMPONENTS hive has no key for the component.
    NotInHive,
}

/// Lower-case a keyform, file or package name the way this crate keys its maps.
pub fn fold_name(name: &str) -> String {
    // Same result for ASCII, without the per-character Unicode case mapping.
    if name.is_ascii() {
        name.to_ascii_lowercase()
    } else {
        name.to_lowercase()
    }
}

/// Read the COMPONENTS hive.
pub fn read_components(h: HiveFiles<'_>) -> Result<ComponentsHive, Error> {
    let hive = Hive::open(&h)?;
    let mut out = ComponentsHive {
        dirty: hive.dirty,
        logs_applied: false,
        ..ComponentsHive::default()
    };
    let mut warn = Warnings(hive.warnings.clone());
    let comps = descend(hive.root()?, &COMPONENTS_PATH)?.ok_or_else(|| Error::MissingKey {
        hive: "COMPONENTS",
        path: COMPONENTS_PATH.join("\\"),
    })?;
    for key in subkeys(&comps)? {
        let keyform = key.name();
        let mut skipped = Vec::new();
        let vals = match values(&key, &mut skipped) {
            Ok(v) => v,
            Err(e) => {
                warn.push(format!("component {keyform}: {e}"));
                continue;
            }
        };
        skipped.into_iter().for_each(|s| warn.push(s));
        let mut c = Component::default();
        for v in vals {
            match meaning::component_value(&v.name) {
                ComponentValue::File(f) => {
                    c.files.insert(fold_name(f), dword(&v.data));
                }
                ComponentValue::DeploymentLink(d) => c.deployments.push(fold_name(d)),
                ComponentValue::S256h => match <[u8; 32]>::try_from(v.data.as_ref()) {
                    Ok(h) => c.s256h = Some(h),
                    Err(_) => warn.push(format!(
                        "component {keyform}: S256H has {} bytes, expected 32",
                        v.data.len()
                    )),
                },
                ComponentValue::Identity => c.identity = Some(text(v.ty, &v.data)),
                ComponentValue::Cf => c.cf = Some(v.data.into_owned()),
                ComponentValue::Other => {}
            }
        }
        let folded = fold_name(&keyform);
        match out.components.entry(folded) {
            std::collections::btree_map::Entry::Occupied(_) => {
                warn.push(format!("component {keyform} appears twice; first kept"))
            }
            std::collections::btree_map::Entry::Vacant(slot) => {
                slot.insert(c);
            }
        }
    }
    match descend(hive.root()?, &DEPLOYMENTS_PATH)? {
        Some(deps) => {
            for key in subkeys(&deps)? {
                let name = key.name();
                let mut skipped = Vec::new();
                let vals = match values(&key, &mut skipped) {
                    Ok(v) => v,
                    Err(e) => {
                        warn.push(format!("deployment {name}: {e}"));
                        continue;
                    }
                };
                skipped.into_iter().for_each(|s| warn.push(s));
                let packages = vals
                    .iter()
                    .filter_map(|v| meaning::deployment_value(&v.name))
                    .map(|(k, p)| (p.to_owned(), k))
                    .collect();
                out.deployments
                    .entry(fold_name(&name))
                    .or_insert(Deployment { packages });
            }
        }
        None => warn.push(format!(
            "no {} key: package owners unknown",
            DEPLOYMENTS_PATH.join("\\")
        )),
    }
    out.warnings = warn.finish();
    Ok(out)
}

/// Read the SOFTWARE hive.
pub fn read_software(h: HiveFiles<'_>) -> Result<SoftwareHive, Error> {
    let hive = Hive::open(&h)?;
    let mut out = SoftwareHive {
        dirty: hive.dirty,
        logs_applied: false,
        ..SoftwareHive::default()
    };
    let mut warn = Warnings(hive.warnings.clone());
    let missing = || Error::MissingKey {
        hive: "SOFTWARE",
        path: format!("{}\\{}", CBS_PATH.join("\\"), meaning::PACKAGES_KEY),
    };
    let cbs = descend(hive.root()?, &CBS_PATH)?.ok_or_else(missing)?;
    let mut skipped = Vec::new();
    for v in values(&cbs, &mut skipped)? {
        if v.name.eq_ignore_ascii_case(meaning::UNSERVICEABLE_VALUE) {
            out.unserviceable = true;
        }
    }
    let mut found_packages = false;
    for sub in subkeys(&cbs)? {
        let name = sub.name();
        if name.eq_ignore_ascii_case(meaning::PACKAGES_KEY) {
            found_packages = true;
            for pkg in subkeys(&sub)? {
                let pname = pkg.name();
                let state = match values(&pkg, &mut skipped) {
                    Ok(vals) => vals
                        .iter()
                        .find(|v| v.name.eq_ignore_ascii_case(meaning::CURRENT_STATE_VALUE))
                        .map_or(PackageState::NotRegistered, |v| {
                            PackageState::from_u32(dword(&v.data))
                        }),
                    Err(e) => {
                        warn.push(format!("package {pname}: {e}"));
                        PackageState::NotRegistered
                    }
                };
                out.packages.entry(fold_name(&pname)).or_insert(Package {
                    name: pname.into_owned(),
                    current_state: state,
                });
            }
            if out.packages.is_empty() {
                warn.push("no CBS packages".into());
            }
        } else if name.eq_ignore_ascii_case(meaning::REBOOT_PENDING_KEY) {
            out.reboot_pending = true;
        } else if let Some(&label) = meaning::PENDING_KEYS
            .iter()
            .find(|p| name.eq_ignore_ascii_case(p))
        {
            for s in subkeys(&sub)? {
                out.pending.push(format!("{label}\\{}", s.name()));
            }
            for v in values(&sub, &mut skipped)? {
                if v.data.iter().any(|&b| b != 0) {
                    out.pending.push(format!("{label}\\{}", v.name));
                }
            }
        }
    }
    if !found_packages {
        return Err(missing());
    }
    skipped.into_iter().for_each(|s| warn.push(s));
    out.warnings = warn.finish();
    Ok(out)
}

impl ServicingState {
    /// The packages that own a component, with their states: `c!` links → deployments →
    /// `p!`/`s!`/`i!` → package `CurrentState`. Each package once, in link order. Empty when
    /// the component or its deployments are not in the hive.
    pub fn owners(&self, keyform: &str) -> Vec<(String, PackageState)> {
        let Some(comp) = self.components.components.get(&fold_name(keyform)) else {
            return Vec::new();
        };
        let mut out: Vec<(String, PackageState)> = Vec::new();
        for dep in &comp.deployments {
            let Some(d) = self.components.deployments.get(dep) else {
                continue;
            };
            for (pkg, _) in &d.packages {
                if out.iter().any(|(p, _)| p.eq_ignore_ascii_case(pkg)) {
                    continue;
                }
                let state = self
                    .software
                    .as_ref()
                    .and_then(|s| s.packages.get(&fold_name(pkg)))
                    .map_or(PackageState::NotRegistered, |p| p.current_state);
                out.push((pkg.clone(), state));
            }
        }
        out
    }

    /// Whether `WinSxS\<keyform>\<file>` must exist ([`meaning::decide`]).
    pub fn expectation(&self, keyform: &str, file: &str) -> Expectation {
        let Some(comp) = self.components.components.get(&fold_name(keyform)) else {
            return Expectation::NotInHive;
        };
        let flags = comp.files.get(&fold_name(file)).copied();
        meaning::decide(file, flags, self.owners(keyform))
    }
}

/// Warnings with a cap.
struct Warnings(Vec<String>);

impl Warnings {
    fn push(&mut self, w: String) {
        if self.0.len() <= MAX_WARNINGS {
            self.0.push(w);
        }
    }

    fn finish(mut self) -> Vec<String> {
        if self.0.len() > MAX_WARNINGS {
            self.0.truncate(MAX_WARNINGS);
            self.0.push("more warnings not shown".into());
        }
        self.0
    }
}

/// A REG_DWORD (short data is zero-extended; longer data is cut to four bytes).
fn dword(data: &[u8]) -> u32 {
    let mut b = [0u8; 4];
    for (d, s) in b.iter_mut().zip(data) {
        *d = *s;
    }
    u32::from_le_bytes(b)
}

/// Value data as text: UTF-16LE for the string types, else bytes (UTF-8, or Latin-1 when
/// not valid UTF-8); trailing NULs removed.
fn text(ty: u32, data: &[u8]) -> String {
    // Borrowed when the bytes are UTF-8 already: one allocation for the result.
    let s: std::borrow::Cow<'_, str> = if matches!(ty, 1 | 2 | 7) {
        let units: Vec<u16> = data
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16_lossy(&units).into()
    } else {
        match std::str::from_utf8(data) {
            Ok(s) => s.into(),
            Err(_) => data
                .iter()
                .map(|&b| char::from(b))
                .collect::<String>()
                .into(),
        }
    };
    s.trim_end_matches('\0').to_owned()
}

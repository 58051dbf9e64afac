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
    pub components: Components,
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

/// The keys of `DerivedData\Components`, found by keyform (any case), each decoded into a
/// [`Component`] only when asked for.
///
/// Why not a map of decoded components: an audit looks at one value of most components (the
/// manifest's `S256H`) and at the files of only those with a missing payload, while decoding
/// all of them up front cost about 1 KB of small allocations per component (a serviced hive
/// has 250,000 keys) and 8% of the quick audit's CPU (0.90 -> 0.83 s when it went).
/// [`read_components`] checks every component's values once, as before (the same warnings,
/// the same keys skipped), and keeps the hive's bytes, a sorted index of folded keyforms and
/// each `S256H`.
#[derive(Clone, Default)]
pub struct Components {
    /// The hive file.
    file: Vec<u8>,
    /// Folded keyforms, end to end; [`Entry::name`] indexes into it.
    names: String,
    /// By folded keyform, each once.
    entries: Vec<Entry>,
}

/// One component in [`Components`].
#[derive(Debug, Clone)]
struct Entry {
    /// Its folded keyform in [`Components::names`].
    name: std::ops::Range<usize>,
    /// Its `nk` cell in the hive bins data.
    nk: u32,
    s256h: Option<[u8; 32]>,
}

impl std::fmt::Debug for Components {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Components")
            .field("len", &self.entries.len())
            .field("hive_bytes", &self.file.len())
            .finish_non_exhaustive()
    }
}

impl Components {
    /// How many components the hive has (keys whose values could be read).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it has none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The folded keyforms, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &str> + '_ {
        self.entries.iter().map(|e| &self.names[e.name.clone()])
    }

    /// Whether the hive has `keyform` (any case).
    pub fn contains(&self, keyform: &str) -> bool {
        self.find(keyform).is_some()
    }

    /// The `S256H` of `keyform`: `None` when the hive has no such component, `Some(None)` when
    /// it has no (32-byte) `S256H`.
    pub fn s256h(&self, keyform: &str) -> Option<Option<[u8; 32]>> {
        self.find(keyform).map(|e| e.s256h)
    }

    /// The component `keyform` (any case), decoded from the hive.
    pub fn get(&self, keyform: &str) -> Option<Component> {
        let e = self.find(keyform)?;
        let hive = Hive::reopen(&self.file);
        // `read_components` read these same bytes without error, and the budget is a whole
        // hive's: this cannot fail, and if it did, the S256H alone is still right.
        let full = hive
            .key_at(e.nk)
            .and_then(|key| values(&key, &mut Vec::new()))
            .map(|vals| component(vals, true, |_| {}));
        debug_assert!(full.is_ok(), "{keyform}: {:?}", full.as_ref().err());
        Some(full.unwrap_or_else(|_| Component {
            s256h: e.s256h,
            ..Component::default()
        }))
    }

    fn find(&self, keyform: &str) -> Option<&Entry> {
        // A keyform (ASCII, under 256 bytes, as every real one) is folded on the stack: this
        // runs for every manifest, and memcmp beats comparing byte by byte while folding.
        let mut stack = [0u8; 256];
        let folded;
        let key: &[u8] = match stack.get_mut(..keyform.len()) {
            Some(buf) if keyform.is_ascii() => {
                buf.copy_from_slice(keyform.as_bytes());
                buf.make_ascii_lowercase();
                buf
            }
            _ => {
                folded = fold_name(keyform);
                folded.as_bytes()
            }
        };
        self.entries
            .binary_search_by(|e| self.names.as_bytes()[e.name.clone()].cmp(key))
            .ok()
            .map(|i| &self.entries[i])
    }
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
    let mut out = String::with_capacity(name.len());
    fold_into(name, &mut out);
    out
}

/// [`fold_name`], appended to `out`.
fn fold_into(name: &str, out: &mut String) {
    // Same result for ASCII, without the per-character Unicode case mapping.
    if name.is_ascii() {
        let start = out.len();
        out.push_str(name);
        out[start..].make_ascii_lowercase();
    } else {
        // `str::to_lowercase`, not per `char`: it knows a word-final sigma.
        out.push_str(&name.to_lowercase());
    }
}

/// Read the COMPONENTS hive. The file is copied into the result (see [`Components`]);
/// [`read_components_owned`] keeps the caller's bytes instead.
pub fn read_components(h: HiveFiles<'_>) -> Result<ComponentsHive, Error> {
    read_components_owned(h.base.to_vec(), h.log1, h.log2)
}

/// [`read_components`] of a hive file given away: its bytes are kept, not copied.
pub fn read_components_owned(
    base: Vec<u8>,
    log1: Option<&[u8]>,
    log2: Option<&[u8]>,
) -> Result<ComponentsHive, Error> {
    let mut out = scan_components(HiveFiles {
        base: &base,
        log1,
        log2,
    })?;
    out.components.file = base;
    Ok(out)
}

/// Everything of [`read_components`] but the file [`Components`] keeps.
fn scan_components(h: HiveFiles<'_>) -> Result<ComponentsHive, Error> {
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
    let mut names = String::new();
    let mut entries = Vec::new();
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
        let c = component(vals, false, |len| {
            warn.push(format!(
                "component {keyform}: S256H has {len} bytes, expected 32"
            ))
        });
        let start = names.len();
        fold_into(&keyform, &mut names);
        entries.push(Entry {
            name: start..names.len(),
            nk: key.offset(),
            s256h: c.s256h,
        });
    }
    // Stable: of equal keyforms the one met first stays first, and is kept.
    entries.sort_by(|a, b| names[a.name.clone()].cmp(&names[b.name.clone()]));
    let mut twice = Vec::new();
    entries.dedup_by(|later, kept| {
        let same = names[later.name.clone()] == names[kept.name.clone()];
        if same {
            twice.push(later.nk);
        }
        same
    });
    for nk in twice {
        if let Ok(key) = hive.key_at(nk) {
            warn.push(format!(
                "component {} appears twice; first kept",
                key.name()
            ));
        }
    }
    out.components = Components {
        file: Vec::new(),
        names,
        entries,
    };
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

/// One component from its key's values: all of them when `full`, else only `S256H` (which
/// allocates nothing). `bad_s256h` hears the size of an `S256H` that is not 32 bytes.
fn component(
    vals: Vec<reader::Value<'_>>,
    full: bool,
    mut bad_s256h: impl FnMut(usize),
) -> Component {
    let mut c = Component::default();
    for v in vals {
        match meaning::component_value(&v.name) {
            ComponentValue::S256h => match <[u8; 32]>::try_from(v.data.as_ref()) {
                Ok(h) => c.s256h = Some(h),
                Err(_) => bad_s256h(v.data.len()),
            },
            _ if !full => {}
            ComponentValue::File(f) => {
                c.files.insert(fold_name(f), dword(&v.data));
            }
            ComponentValue::DeploymentLink(d) => c.deployments.push(fold_name(d)),
            ComponentValue::Identity => c.identity = Some(text(v.ty, &v.data)),
            ComponentValue::Cf => c.cf = Some(v.data.into_owned()),
            ComponentValue::Other => {}
        }
    }
    c
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
        self.components
            .components
            .get(keyform)
            .map_or_else(Vec::new, |c| self.owners_of(&c))
    }

    fn owners_of(&self, comp: &Component) -> Vec<(String, PackageState)> {
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
        let Some(comp) = self.components.components.get(keyform) else {
            return Expectation::NotInHive;
        };
        let flags = comp.files.get(&fold_name(file)).copied();
        meaning::decide(file, flags, self.owners_of(&comp))
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

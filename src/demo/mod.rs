//! The image builder: a seeded, deterministic synthetic Windows image shaped like build 17763,
//! with faults planted like the motivating case. `sxsaudit demo` shows it off; the integration
//! tests and benches build their fixtures with it (see `manifests/README.md`).
//!
//! The image has what a real store has that an auditor can trip on: asm.v3 manifests in two
//! namespace styles, legacy asm.v1 (Win32 side-by-side) assemblies with SHA-1 digests, a
//! `hash=` attribute and a BOM, sub-paths in file names (`Amd64\X.DPB`), names long enough to
//! be shortened in the keyform, cultures, driver types, payload-less manifests, `f`/`r`/`n`
//! differential folders whose files must never be compared, and file names whose case on disk
//! differs from the manifest's.
//!
//! Faults are planted in the model before it is written, so the builder knows exactly which
//! findings the audit must report ([`Built::planted`]).
//!
//! The image also gets its servicing state, written with `sxs_servicing::regf_writer`:
//! `Windows\System32\config\COMPONENTS` (per component `identity`, `S256H` of its decoded
//! manifest, one `f!<file>` per payload and a `c!` link to its package's deployment; per
//! deployment `p!`/`i!` links) and `SOFTWARE` (each package's `CurrentState`, 112 Installed).
//! The servicing faults ([`Fault::Superseded`], [`Fault::PayloadRemoved`]) make components
//! whose payloads are legitimately gone, which the audit must call `payload_absent_by_design`.

pub mod hives;

pub mod pe;
pub mod rng;
mod xml;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::findings::Kind;
use crate::format::digest::Algorithm;
use crate::format::keyform;
use crate::format::manifest::Identity;
use rng::Rng;

/// How big an image to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scale {
    /// About 40 components, for unit-speed tests.
    Tiny,
    /// About 3,000 components and 60 MB: the default demo.
    Small,
    /// About 20,000 manifests and 80,000 payloads, but small payloads (~0.6 GB).
    Medium,
    /// 17763-scale: about 20,000 manifests, 80,000 payloads, ~5 GB with a heavy tail.
    Full,
}

impl Scale {
    fn components(self) -> usize {
        match self {
            Scale::Tiny => 40,
            Scale::Small => 3000,
            Scale::Medium | Scale::Full => 20_000,
        }
    }

    /// A payload size drawn from this scale's mix.
    fn payload_size(self, rng: &mut Rng) -> usize {
        let size = match self {
            Scale::Tiny => rng.log_uniform(16, 16 << 10),
            Scale::Small => rng.log_uniform(512, 64 << 10),
            Scale::Medium => rng.log_uniform(512, 32 << 10),
            // Most 1-200 KiB, some up to 2 MiB, a few 5-50 MiB: ~80,000 payloads, ~5 GB.
            Scale::Full => {
                let u = rng.below(10_000);
                if u < 5 {
                    rng.log_uniform(5 << 20, 50 << 20)
                } else if u < 205 {
                    rng.log_uniform(200 << 10, 2 << 20)
                } else {
                    rng.log_uniform(1 << 10, 200 << 10)
                }
            }
        };
        size as usize
    }
}

/// A fault to plant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    /// One byte of a payload flipped (the classpnp.sys of the motivating case).
    FlipByte,
    /// A payload cut short.
    Truncate,
    /// A payload deleted.
    DeletePayload,
    /// A whole component folder deleted.
    DeleteFolder,
    /// A manifest overwritten with binary garbage.
    GarbageManifest,
    /// A manifest cut in half.
    TruncateManifest,
    /// A digest method nobody knows (md5).
    UnknownAlgorithm,
    /// A DigestValue that is not base64.
    BadDigestValue,
    /// A manifest (and its folder) filed under a keyform its identity does not give.
    KeyformMismatch,
    /// A `<file name="..\..\x">` that would leave the component folder.
    EscapingName,
    /// The component's package is Superseded (80) and its payloads were scavenged: every
    /// file is `payload_absent_by_design`.
    Superseded,
    /// The component's feature was removed (`/Remove`): its package is Absent (0), its `f!`
    /// values and payloads are gone: `payload_absent_by_design`.
    PayloadRemoved,
    /// The COMPONENTS hive's `S256H` differs from the decoded manifest: `manifest_hash_mismatch`.
    ManifestHashMismatch,
    /// The component is in the COMPONENTS hive but its manifest file is gone: `manifest_missing`.
    HiveOnly,
    /// The manifest is there but the COMPONENTS hive does not know it: `orphan_manifest`.
    NotInHive,
}

/// What the image should look like.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Everything derives from this.
    pub seed: u64,
    /// The size.
    pub scale: Scale,
    /// Faults to plant, one component each.
    pub faults: Vec<Fault>,
    /// Store most manifests DCM-compressed (against a stand-in base manifest carried by a
    /// stand-in servicing-stack `wcp.dll`) and some payloads DCN-compressed, as on a real
    /// image; plain XML and plain payloads otherwise.
    pub compress: bool,
}

impl Spec {
    /// A clean image.
    pub fn clean(scale: Scale, seed: u64) -> Spec {
        Spec {
            seed,
            scale,
            faults: Vec::new(),
            compress: true,
        }
    }

    /// The demo: the motivating case's classpnp.sys and a few more of every kind.
    pub fn demo(scale: Scale, seed: u64) -> Spec {
        use Fault::*;
        Spec {
            seed,
            scale,
            faults: vec![
                FlipByte,
                FlipByte,
                FlipByte,
                Truncate,
                DeletePayload,
                DeleteFolder,
                GarbageManifest,
                TruncateManifest,
                UnknownAlgorithm,
                KeyformMismatch,
                Superseded,
                Superseded,
                PayloadRemoved,
            ],
            compress: true,
        }
    }
}

/// A finding the audit must report.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Planted {
    /// The kind of finding.
    pub kind: Kind,
    /// Its component (keyform as written).
    pub component: String,
    /// Its file, for payload findings.
    pub file: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Disk {
    Good,
    Flipped,
    Truncated,
    Deleted,
}

/// One payload of the model.
#[derive(Debug, Clone)]
pub struct PayloadFile {
    /// The manifest's name (may hold `\`).
    pub name: String,
    /// Written in lower case on disk, as real images often are.
    pub lower_on_disk: bool,
    /// Bytes.
    pub size: usize,
    /// Content seed.
    pub seed: u64,
    /// Digest algorithm of the manifest.
    pub algorithm: Algorithm,
    /// `destinationPath`.
    pub destination: Option<String>,
    /// Stored DCN-compressed.
    pub dcn: bool,
    disk: Disk,
    method_override: Option<String>,
    value_override: Option<String>,
}

/// One component of the model.
#[derive(Debug, Clone)]
pub struct Component {
    /// Its identity.
    pub identity: Identity<'static>,
    /// Manifest stem and folder name (normally the computed keyform).
    pub keyform: String,
    /// Legacy asm.v1 Win32 assembly.
    pub legacy: bool,
    /// Its files.
    pub files: Vec<PayloadFile>,
    /// Has `f`, `r`, `n` differential folders.
    pub diffs: bool,
    /// Declare `xmlns:dsig` on every dsig element (older builds) instead of once.
    pub dsig_each: bool,
    /// The manifest is stored DCM-compressed.
    pub dcm: bool,
    manifest: Disk,
    folder_deleted: bool,
    faulted: bool,
    /// How the servicing state describes it.
    servicing: hives::Servicing,
}

/// The built image.
#[derive(Debug, Clone)]
pub struct Built {
    /// The image root (holds `Windows`).
    pub root: PathBuf,
    /// The findings the audit must report, sorted.
    pub planted: Vec<Planted>,
    /// The model that was written.
    pub components: Vec<Component>,
    /// Payload bytes written, counted decoded (what an audit hashes).
    pub bytes: u64,
    /// The stand-in base manifest (in the stand-in wcp.dll) when manifests are compressed.
    pub base: Option<Vec<u8>>,
}

const WORDS: &[&str] = &[
    "Shell",
    "Kernel",
    "Audio",
    "Network",
    "Security",
    "Font",
    "Print",
    "Storage",
    "Usb",
    "Bluetooth",
    "Media",
    "Graphics",
    "Input",
    "Update",
    "Defender",
    "HyperV",
    "Wmi",
    "Tcpip",
    "Smb",
    "Crypto",
    "Power",
    "Display",
    "Search",
    "Speech",
    "Ink",
    "Camera",
    "Wifi",
    "Sensors",
    "Time",
    "Registry",
    "Setup",
    "UserExperience",
    "Desktop",
    "Firmware",
    "ClientCore",
    "AppxMain",
    "Experience",
    "Host",
    "Common",
    "Proxy",
    "Stub",
    "Management",
    "Provider",
    "Service",
    "Runtime",
    "Client",
    "Driver",
    "Cluster",
    "Failover",
    "SecureBoot",
    "OneCore",
    "Uap",
    "Modern",
];
const EXTS: &[&str] = &[
    "dll", "dll", "dll", "exe", "sys", "mui", "cat", "xml", "png", "inf",
];
const UPDATES: &[&str] = &["1", "1", "1", "107", "168", "379", "615", "1879", "1911"];

fn identity(
    name: String,
    version: String,
    arch: &str,
    lang: &str,
    ty: Option<&str>,
    pkt: &str,
    scope: Option<&str>,
) -> Identity<'static> {
    Identity {
        name: Some(name.into()),
        version: Some(version.into()),
        processor_architecture: Some(arch.into()),
        language: Some(lang.into()),
        type_: ty.map(Into::into),
        public_key_token: Some(pkt.into()),
        version_scope: scope.map(Into::into),
        build_type: Some("release".into()),
    }
    .into_owned()
}

fn file(
    rng: &mut Rng,
    scale: Scale,
    name: String,
    algorithm: Algorithm,
    compress: bool,
) -> PayloadFile {
    PayloadFile {
        lower_on_disk: name.chars().any(|c| c.is_ascii_uppercase()) && rng.chance(0.3),
        size: scale.payload_size(rng),
        seed: rng.next_u64(),
        algorithm,
        destination: if rng.chance(0.66) {
            Some("$(runtime.system32)\\".into())
        } else {
            None
        },
        // Drawn whether or not it is used, so that compressed and plain images share a model.
        dcn: rng.chance(0.05) && compress,
        name,
        disk: Disk::Good,
        method_override: None,
        value_override: None,
    }
}

/// Build the component model (nothing written yet).
fn model(spec: &Spec) -> Vec<Component> {
    let mut rng = Rng::new(spec.seed);
    let scale = spec.scale;
    let mut out: Vec<Component> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut push = |c: Component, out: &mut Vec<Component>| {
        if seen.insert(c.keyform.clone()) {
            out.push(c);
        }
    };
    // The motivating case's component comes first, so the demo's first fault lands on it.
    let classpnp = identity(
        "Microsoft-Windows-ClassPnP".into(),
        "10.0.17763.1911".into(),
        "amd64",
        "neutral",
        None,
        "31bf3856ad364e35",
        Some("nonSxS"),
    );
    push(
        Component {
            keyform: keyform::keyform(&classpnp),
            identity: classpnp,
            legacy: false,
            files: vec![file(
                &mut rng,
                scale,
                "classpnp.sys".into(),
                Algorithm::Sha256,
                spec.compress,
            )],
            diffs: true,
            dsig_each: false,
            dcm: spec.compress,
            manifest: Disk::Good,
            folder_deleted: false,
            faulted: false,
            servicing: hives::Servicing::default(),
        },
        &mut out,
    );
    let target = scale.components();
    let mut serial = 0u32;
    while out.len() < target {
        serial += 1;
        let kind = rng.below(100);
        let c = if kind < 2 {
            // A legacy Win32 side-by-side assembly, e.g. the VC90 runtime.
            let lib = *rng.pick(&["CRT", "ATL", "MFC", "MFCLOC", "OpenMP"]);
            let arch = *rng.pick(&["amd64", "x86"]);
            let id = identity(
                format!("Microsoft.VC90.{lib}"),
                format!("9.0.30729.{}", 4000 + serial),
                arch,
                "",
                Some("win32"),
                "1fc8b3b9a1e18e3b",
                None,
            );
            let names: Vec<String> = match lib {
                "CRT" => vec![
                    "msvcr90.dll".into(),
                    "msvcp90.dll".into(),
                    "msvcm90.dll".into(),
                ],
                "MFCLOC" => ["CHS", "DEU", "ENU", "JPN"]
                    .iter()
                    .map(|l| format!("MFC90{l}.DLL"))
                    .collect(),
                "ATL" => vec!["ATL90.dll".into()],
                "OpenMP" => vec!["vcomp90.dll".into()],
                _ => vec!["mfc90.dll".into(), "mfc90u.dll".into()],
            };
            let files = names
                .into_iter()
                .map(|n| file(&mut rng, scale, n, Algorithm::Sha1, spec.compress))
                .collect();
            Component {
                keyform: keyform::keyform(&id),
                identity: id,
                legacy: true,
                files,
                diffs: false,
                dsig_each: true,
                dcm: false,
                manifest: Disk::Good,
                folder_deleted: false,
                faulted: false,
                servicing: hives::Servicing::default(),
            }
        } else {
            let arch = match rng.below(20) {
                0..=12 => "amd64",
                13..=17 => "wow64",
                18 => "msil",
                _ => "x86",
            };
            let version = format!("10.0.17763.{}", rng.pick(UPDATES));
            let words = if rng.chance(0.15) {
                4
            } else {
                1 + rng.below(2) as usize
            };
            let stem: Vec<&str> = (0..words).map(|_| *rng.pick(WORDS)).collect();
            let stem = stem.join("-");
            let (name, lang, ty, files): (String, &str, Option<&str>, Vec<String>) = if kind < 10 {
                // A driver package: .inf, .sys and a sub-folder.
                let base = format!("{}{}", stem.to_ascii_lowercase().replace('-', ""), serial);
                let ty = if rng.chance(0.5) {
                    "dualModeDriver"
                } else {
                    "driverUpdate"
                };
                (
                    format!("{base}.inf"),
                    "neutral",
                    Some(ty),
                    vec![
                        format!("{base}.inf"),
                        format!("{base}.sys"),
                        format!("Amd64\\{}.DPB", base.to_ascii_uppercase()),
                    ],
                )
            } else if kind < 18 {
                let lang = *rng.pick(&["en-US", "de-DE", "ja-JP", "fr-FR"]);
                (
                    format!("Microsoft-Windows-{stem}.Resources"),
                    lang,
                    None,
                    vec![format!("{stem}.dll.mui")],
                )
            } else if kind < 30 {
                // Deployments and other manifests without payloads.
                (
                    format!("Microsoft-Windows-{stem}-Deployment{serial}"),
                    "neutral",
                    None,
                    vec![],
                )
            } else {
                let n = 1 + rng.below(match scale {
                    Scale::Tiny => 3,
                    Scale::Full => 10,
                    _ => 7,
                }) as usize;
                let files = (0..n)
                    .map(|i| {
                        let ext = rng.pick(EXTS);
                        if i > 0 && rng.chance(0.1) {
                            format!("Assets\\{stem}{i}.{ext}")
                        } else {
                            format!("{stem}{i}.{ext}")
                        }
                    })
                    .collect();
                (format!("Microsoft-Windows-{stem}"), "neutral", None, files)
            };
            let id = identity(
                name,
                version,
                arch,
                lang,
                ty,
                "31bf3856ad364e35",
                Some("nonSxS"),
            );
            let mut seen_names = std::collections::HashSet::new();
            let files = files
                .into_iter()
                .filter(|n| seen_names.insert(n.to_ascii_lowercase()))
                .map(|n| file(&mut rng, scale, n, Algorithm::Sha256, spec.compress))
                .collect::<Vec<_>>();
            Component {
                keyform: keyform::keyform(&id),
                identity: id,
                legacy: false,
                diffs: !files.is_empty() && rng.chance(0.2),
                files,
                dsig_each: rng.chance(0.3),
                dcm: rng.chance(0.9) && spec.compress,
                manifest: Disk::Good,
                folder_deleted: false,
                faulted: false,
                servicing: hives::Servicing::default(),
            }
        };
        push(c, &mut out);
    }
    // Last, so that compressed and plain images share every other component and fault.
    if spec.compress {
        // The servicing stack carries wcp.dll, where the audit finds the base manifest.
        let id = identity(
            "Microsoft-Windows-ServicingStack".into(),
            "10.0.17763.1911".into(),
            "amd64",
            "neutral",
            None,
            "31bf3856ad364e35",
            Some("nonSxS"),
        );
        let mut wcp = file(
            &mut Rng::new(spec.seed ^ WCP_SEED),
            scale,
            "wcp.dll".into(),
            Algorithm::Sha256,
            false,
        );
        wcp.dcn = false;
        wcp.size = 0; // the content is the stand-in DLL, see content()
        wcp.seed = WCP_SEED;
        push(
            Component {
                keyform: keyform::keyform(&id),
                identity: id,
                legacy: false,
                files: vec![wcp],
                diffs: false,
                dsig_each: false,
                dcm: false,
                manifest: Disk::Good,
                folder_deleted: false,
                faulted: true,
                servicing: hives::Servicing::default(),
            },
            &mut out,
        );
    }
    out
}

/// Plant the faults in the model; what the audit must find.
fn plant(components: &mut [Component], faults: &[Fault], seed: u64) -> Vec<Planted> {
    let mut rng = Rng::new(seed ^ 0xFA17);
    let mut planted = Vec::new();
    for (n, &fault) in faults.iter().enumerate() {
        // The first fault lands on component 0 (classpnp); the rest on free components with
        // files, chosen by the seed.
        let candidates: Vec<usize> = (0..components.len())
            .filter(|&i| {
                !components[i].faulted && !components[i].files.is_empty() && (n == 0 || i != 0)
            })
            .filter(|&i| !matches!(fault, Fault::Truncate) || components[i].files[0].size > 1)
            .collect();
        let Some(&i) = (if n == 0 {
            candidates.first()
        } else {
            candidates.get(rng.below(candidates.len().max(1) as u64) as usize)
        }) else {
            continue;
        };
        let c = &mut components[i];
        c.faulted = true;
        let comp = c.keyform.clone();
        let first = c.files[0].name.clone();
        let mut p = |kind: Kind, file: Option<String>| {
            planted.push(Planted {
                kind,
                component: comp.clone(),
                file,
            })
        };
        match fault {
            Fault::FlipByte => {
                c.files[0].disk = Disk::Flipped;
                p(Kind::HashMismatch, Some(first));
            }
            Fault::Truncate => {
                c.files[0].disk = Disk::Truncated;
                p(Kind::HashMismatch, Some(first));
            }
            Fault::DeletePayload => {
                c.files[0].disk = Disk::Deleted;
                p(Kind::MissingPayload, Some(first));
            }
            Fault::DeleteFolder => {
                c.folder_deleted = true;
                for f in &c.files {
                    p(Kind::MissingPayload, Some(f.name.clone()));
                }
            }
            Fault::GarbageManifest => {
                c.manifest = Disk::Flipped;
                p(Kind::ManifestCorrupt, None);
            }
            Fault::TruncateManifest => {
                c.manifest = Disk::Truncated;
                p(Kind::ManifestCorrupt, None);
            }
            Fault::UnknownAlgorithm => {
                c.files[0].method_override =
                    Some("http://www.w3.org/2001/04/xmldsig-more#md5".into());
                p(Kind::Unverifiable, Some(first));
            }
            Fault::BadDigestValue => {
                c.files[0].value_override = Some("not*base64*at*all".into());
                p(Kind::Unverifiable, Some(first));
            }
            Fault::KeyformMismatch => {
                // Filed under a neighbour's hash: the payloads are still found and good.
                let k = c.keyform.len();
                c.keyform = format!(
                    "{}{:016x}",
                    &c.keyform[..k - 16],
                    u64::from_str_radix(&c.keyform[k - 16..], 16).unwrap_or(0) ^ 1
                );
                planted.push(Planted {
                    kind: Kind::KeyformMismatch,
                    component: c.keyform.clone(),
                    file: None,
                });
            }
            Fault::EscapingName => {
                let mut f = c.files[0].clone();
                f.name = "..\\..\\System32\\evil.dll".into();
                c.files.push(f);
                p(Kind::ManifestCorrupt, None);
            }
            Fault::Superseded | Fault::PayloadRemoved => {
                let (state, staged) = if fault == Fault::Superseded {
                    (80, true)
                } else {
                    (0, false)
                };
                c.servicing.package =
                    Some((hives::own_package(&comp, fault == Fault::Superseded), state));
                c.servicing.staged = staged;
                c.folder_deleted = true;
                for f in &c.files {
                    p(Kind::PayloadAbsentByDesign, Some(f.name.clone()));
                }
            }
            Fault::ManifestHashMismatch => {
                c.servicing.wrong_s256h = true;
                p(Kind::ManifestHashMismatch, None);
            }
            Fault::HiveOnly => {
                c.servicing.manifest_deleted = true;
                planted.push(Planted {
                    kind: Kind::ManifestMissing,
                    component: comp.to_lowercase(),
                    file: None,
                });
            }
            Fault::NotInHive => {
                c.servicing.in_hive = false;
                p(Kind::OrphanManifest, None);
            }
        }
    }
    planted.sort();
    planted
}

/// Marks the servicing stack's wcp.dll, whose content is the stand-in DLL.
const WCP_SEED: u64 = 0x5743_5044_4C4C;

/// The stand-in base manifest: our own dictionary of the fragments every manifest repeats
/// (not Microsoft's text, which is theirs: real images carry the real one in wcp.dll).
pub fn base_manifest() -> Vec<u8> {
    let id = identity(
        "Microsoft-Windows-Deployment".into(),
        "10.0.17763.1".into(),
        "amd64",
        "neutral",
        None,
        "31bf3856ad364e35",
        Some("nonSxS"),
    );
    let c = Component {
        keyform: String::new(),
        identity: id,
        legacy: false,
        files: vec![PayloadFile {
            name: "file.dll".into(),
            lower_on_disk: false,
            size: 0,
            seed: 0,
            algorithm: Algorithm::Sha256,
            destination: Some("$(runtime.system32)\\".into()),
            dcn: false,
            disk: Disk::Good,
            method_override: None,
            value_override: None,
        }],
        diffs: false,
        dsig_each: false,
        dcm: false,
        manifest: Disk::Good,
        folder_deleted: false,
        faulted: false,
        servicing: hives::Servicing::default(),
    };
    xml::manifest(&c, &[vec![0u8; 32]]).into_bytes()
}

/// The content of a payload.
pub fn content(f: &PayloadFile) -> Vec<u8> {
    if f.seed == WCP_SEED && f.name == "wcp.dll" {
        return pe::dll_with_resource(
            crate::format::pe::RT_BASE_MANIFEST,
            crate::format::pe::RN_BASE_MANIFEST,
            &base_manifest(),
        );
    }
    let mut buf = vec![0u8; f.size];
    Rng::new(f.seed).fill_payload(&mut buf);
    if buf.len() >= 2 {
        buf[..2].copy_from_slice(b"MZ");
    }
    buf
}

fn disk_name(f: &PayloadFile) -> String {
    if f.lower_on_disk {
        // Only the leaf: on NTFS a folder has one name, whatever case its files use.
        match f.name.rsplit_once('\\') {
            Some((dir, leaf)) => format!("{dir}\\{}", leaf.to_ascii_lowercase()),
            None => f.name.to_ascii_lowercase(),
        }
    } else {
        f.name.clone()
    }
}

/// Write one component; the payload bytes written and the SHA-256 of its decoded manifest.
fn write_component(winsxs: &Path, c: &Component, base: &[u8]) -> io::Result<(u64, Vec<u8>)> {
    let folder = winsxs.join(&c.keyform);
    let mut digests = Vec::with_capacity(c.files.len());
    let mut bytes = 0u64;
    for f in &c.files {
        let mut data = content(f);
        digests.push(crate::hash::digest(f.algorithm, &data));
        if c.folder_deleted
            || f.disk == Disk::Deleted
            || crate::format::manifest::name_components(&f.name).is_err()
        {
            continue;
        }
        match f.disk {
            Disk::Flipped if !data.is_empty() && !f.dcn => {
                let at = data.len() / 2;
                data[at] ^= 0x5A;
            }
            Disk::Truncated if !f.dcn => data.truncate(data.len() / 2),
            _ => {}
        }
        let plain_len = data.len() as u64;
        if f.dcn {
            // DCN: a PA30 delta against nothing, with an MD5 of the target as Windows writes.
            let opts = sxs_pa30::EncodeOptions {
                md5: true,
                ..Default::default()
            };
            data = [b"DCN\x01".as_slice(), &sxs_pa30::encode(&data, &[], &opts)].concat();
            match f.disk {
                Disk::Flipped => {
                    let at = data.len() / 2;
                    data[at] ^= 0x5A;
                }
                Disk::Truncated => data.truncate(data.len() / 2),
                _ => {}
            }
        }
        let mut path = folder.clone();
        path.extend(disk_name(f).split('\\'));
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(&path, &data)?;
        bytes += if f.dcn { plain_len } else { data.len() as u64 };
        if c.diffs {
            // Differentials: deliberately not the payload's content; never to be compared.
            for d in ["f", "r"] {
                let mut p = folder.join(d);
                p.extend(disk_name(f).split('\\'));
                fs::create_dir_all(p.parent().unwrap_or(&folder))?;
                fs::write(
                    &p,
                    [b"PA30".as_slice(), &data[..data.len().min(64)]].concat(),
                )?;
            }
        }
    }
    if c.diffs && !c.folder_deleted {
        fs::create_dir_all(folder.join("n"))?;
    }
    let mut manifest = xml::manifest(c, &digests).into_bytes();
    let s256h = crate::hash::digest(Algorithm::Sha256, &manifest);
    if c.servicing.manifest_deleted {
        return Ok((bytes, s256h));
    }
    if c.dcm {
        let delta = sxs_pa30::encode(&manifest, base, &sxs_pa30::EncodeOptions::dcm());
        manifest = [b"DCM\x01".as_slice(), &delta].concat();
    }
    match c.manifest {
        Disk::Flipped => {
            manifest = Rng::new(c.files.len() as u64)
                .next_u64()
                .to_le_bytes()
                .repeat(32)
        }
        Disk::Truncated => manifest.truncate(manifest.len() / 2),
        _ => {}
    }
    fs::write(
        winsxs
            .join("Manifests")
            .join(format!("{}.manifest", c.keyform)),
        manifest,
    )?;
    Ok((bytes, s256h))
}

/// Build the image under `dir` (created if needed; must not already hold an image).
pub fn build(dir: &Path, spec: &Spec) -> io::Result<Built> {
    let mut components = model(spec);
    let planted = plant(&mut components, &spec.faults, spec.seed);
    let winsxs = dir.join("Windows").join("WinSxS");
    fs::create_dir_all(winsxs.join("Manifests"))?;
    for extra in ["Catalogs", "FileMaps", "Temp", "Backup"] {
        fs::create_dir_all(winsxs.join(extra))?;
    }
    fs::create_dir_all(dir.join("Windows").join("System32").join("config"))?;
    let base = base_manifest();
    let written = components
        .par_iter()
        .map(|c| write_component(&winsxs, c, &base))
        .collect::<io::Result<Vec<(u64, Vec<u8>)>>>()?;
    let bytes = written.iter().map(|w| w.0).sum();
    let s256h: Vec<Vec<u8>> = written.into_iter().map(|w| w.1).collect();
    let (comps, software) = hives::hives(&components, &s256h);
    let config = dir.join("Windows").join("System32").join("config");
    fs::write(config.join("COMPONENTS"), comps.to_bytes())?;
    fs::write(config.join("SOFTWARE"), software.to_bytes())?;
    Ok(Built {
        root: dir.to_path_buf(),
        planted,
        components,
        bytes,
        base: spec.compress.then_some(base),
    })
}

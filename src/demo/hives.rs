//! The built image's servicing state: COMPONENTS and SOFTWARE hives consistent with its
//! components, written with the `sxs-servicing` crate's regf writer, in the layout of
//! `shared/reference/formats.md` §5 (the meanings themselves live in `sxs_servicing::meaning`).
//!
//! Packages: every ordinary component belongs to one of a few stand-in packages, all
//! Installed (112), each with one deployment; a servicing fault gives its component a package
//! of its own in another state. Package and deployment names are ours, shaped like real ones.

use sxs_servicing::meaning::{
    CBS_PATH, COMPONENTS_PATH, CURRENT_STATE_VALUE, DEPLOYMENTS_PATH, PACKAGES_KEY,
};
use sxs_servicing::regf_writer::HiveWriter;

use super::Component;
use crate::format::manifest::Identity;

/// How the hives describe one component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Servicing {
    /// Its own package and `CurrentState`, instead of one of the shared Installed packages.
    pub package: Option<(String, u32)>,
    /// `f!` values written (the files are staged).
    pub staged: bool,
    /// It has a `DerivedData\Components` key at all.
    pub in_hive: bool,
    /// `S256H` is not the decoded manifest's digest.
    pub wrong_s256h: bool,
    /// The manifest file is not written.
    pub manifest_deleted: bool,
}

impl Default for Servicing {
    fn default() -> Self {
        Servicing {
            package: None,
            staged: true,
            in_hive: true,
            wrong_s256h: false,
            manifest_deleted: false,
        }
    }
}

/// The shared Installed packages.
const PACKAGES: [&str; 3] = [
    "Microsoft-Windows-Foundation-Package~31bf3856ad364e35~amd64~~10.0.17763.1",
    "Package_for_RollupFix~31bf3856ad364e35~amd64~~17763.1911.1.8",
    "Microsoft-Windows-Client-Features-Package~31bf3856ad364e35~amd64~~10.0.17763.1",
];

/// `CurrentState` Installed.
pub const INSTALLED: u32 = 112;

/// A package of one component's own, named after it (superseded: an older rollup).
pub fn own_package(keyform: &str, superseded: bool) -> String {
    let tag: String = keyform
        .split('_')
        .nth(1)
        .unwrap_or("component")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(40)
        .collect();
    if superseded {
        format!("Package_for_KB4489899_{tag}~31bf3856ad364e35~amd64~~17763.379.1.4")
    } else {
        format!("Microsoft-Windows-{tag}-FoD-Package~31bf3856ad364e35~amd64~~10.0.17763.1")
    }
}

/// The deployment that links a package to its components.
fn deployment(package: &str) -> String {
    let stem: String = package
        .split('~')
        .next()
        .unwrap_or(package)
        .to_ascii_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    format!(
        "amd64_{stem}-deployment_31bf3856ad364e35_10.0.17763.1_none_{:016x}",
        fnv(package)
    )
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// The `identity` value: the ".NET strong-name style" text of formats.md §5.2.
pub fn identity_text(id: &Identity<'_>) -> String {
    let mut s = id.name.as_deref().unwrap_or_default().to_string();
    let lang = id
        .language
        .as_deref()
        .filter(|l| !l.is_empty())
        .unwrap_or("neutral");
    s.push_str(&format!(
        ", Culture={lang}, Version={}",
        id.version.as_deref().unwrap_or("")
    ));
    s.push_str(&format!(
        ", PublicKeyToken={}",
        id.public_key_token.as_deref().unwrap_or("")
    ));
    s.push_str(&format!(
        ", ProcessorArchitecture={}",
        id.processor_architecture.as_deref().unwrap_or("")
    ));
    if let Some(v) = &id.version_scope {
        s.push_str(&format!(", versionScope={v}"));
    }
    if let Some(t) = &id.type_ {
        s.push_str(&format!(", Type={t}"));
    }
    s
}

/// The COMPONENTS and SOFTWARE hives of `components`; `s256h[i]` is the SHA-256 of the
/// decoded manifest of `components[i]`.
pub fn hives(components: &[Component], s256h: &[Vec<u8>]) -> (HiveWriter, HiveWriter) {
    let mut comps = HiveWriter::with_root_name("ROOT");
    let mut soft = HiveWriter::with_root_name("ROOT");
    let cpath = COMPONENTS_PATH.join("\\");
    let dpath = DEPLOYMENTS_PATH.join("\\");
    let ppath = format!("{}\\{PACKAGES_KEY}", CBS_PATH.join("\\"));
    comps.create_key(&cpath);
    comps.create_key(&dpath);
    soft.create_key(&ppath);
    soft.set_string(
        "Microsoft\\Windows NT\\CurrentVersion",
        "CurrentBuild",
        "17763",
    );
    soft.set_string(
        "Microsoft\\Windows NT\\CurrentVersion",
        "EditionID",
        "ServerStandard",
    );
    let mut packages: Vec<(String, u32)> = PACKAGES
        .iter()
        .map(|p| (p.to_string(), INSTALLED))
        .collect();
    for (i, c) in components.iter().enumerate() {
        let (package, state) = c
            .servicing
            .package
            .clone()
            .unwrap_or_else(|| (PACKAGES[i % PACKAGES.len()].to_string(), INSTALLED));
        if !packages.iter().any(|(p, _)| *p == package) {
            packages.push((package.clone(), state));
        }
        if !c.servicing.in_hive {
            continue;
        }
        let key = format!("{cpath}\\{}", c.keyform);
        comps.set_binary(&key, "identity", identity_text(&c.identity).as_bytes());
        let mut digest = s256h.get(i).cloned().unwrap_or_default();
        if c.servicing.wrong_s256h {
            digest.iter_mut().for_each(|b| *b ^= 0xFF);
        }
        comps.set_binary(&key, "S256H", &digest);
        if c.servicing.staged {
            for f in &c.files {
                comps.set_dword(&key, &format!("f!{}", f.name), 1);
            }
        }
        comps.set_binary(&key, &format!("c!{}", deployment(&package)), &[]);
    }
    for (package, state) in &packages {
        let dep = format!("{dpath}\\{}", deployment(package));
        comps.set_binary(&dep, &format!("p!{package}"), &[]);
        let link = if *state == INSTALLED { "i!" } else { "s!" };
        comps.set_binary(&dep, &format!("{link}{package}"), &[]);
        soft.set_dword(&format!("{ppath}\\{package}"), CURRENT_STATE_VALUE, *state);
    }
    (comps, soft)
}

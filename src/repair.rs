//! Repair sources: for every corrupt or missing payload of an image, is there a good copy in
//! another image (a folder or a WIM)? DISM only finds out by trying ("Repair failed: Missing
//! replacement payload"); in the motivating case a day was lost repairing from PCs built from
//! the same bad image. Here each bad payload gets a verdict in one run, by digest:
//!
//! - `repairable`: a source holds the same keyform and name whose content (after DCN/DCS
//!   decoding) hashes to the digest the audited image's manifest promises;
//! - `source_corrupt`: sources hold it, but none good (or readable): the motivating case;
//! - `no_source`: no source holds it (DISM's "Missing replacement payload").
//!
//! `export` then writes the good copies as a minimal repair source
//! (`DIR\Windows\WinSxS\<keyform>\<name>` plus the manifests) for
//! `DISM /Image:... /Cleanup-Image /RestoreHealth /Source:DIR\Windows /LimitAccess`.
//! Nothing is ever written into the audited image or a source; the export is built under a
//! temporary name beside DIR and renamed when complete.

use std::collections::HashMap;
use std::path::Path;

use rayon::prelude::*;
use serde::Serialize;

use crate::audit::{digest_path, read_capped};
use crate::codec::{self, Codecs};
use crate::findings::{Finding, Kind};
use crate::format::digest::Algorithm;
use crate::format::{manifest, Container};
use crate::store::{DirEntry, EntryKind, FolderResolver, Image, Resolved};

/// A repair source: an opened image, its decoding context and its name in reports.
pub struct Source {
    /// How reports name it (as the user gave it).
    pub label: String,
    /// The image.
    pub image: Image,
    /// Its decoding context.
    pub codecs: Codecs,
}

/// The verdict of one bad payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// A source holds a good copy.
    Repairable {
        /// Which source.
        source: String,
        /// Path of the good copy in it.
        path: String,
    },
    /// Sources hold it, none good.
    SourceCorrupt {
        /// Each source that holds a bad copy, and why it is bad.
        sources: Vec<(String, String)>,
    },
    /// No source holds it.
    NoSource,
}

/// One bad payload and its verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Repair {
    /// Keyform.
    pub component: String,
    /// The manifest's name of the file.
    pub file: String,
    /// `hash_mismatch` or `missing_payload`.
    pub kind: Kind,
    /// The verdict.
    #[serde(flatten)]
    pub verdict: Verdict,
}

/// Every verdict of a run, in the order of the findings.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Repairs {
    /// The sources, in the order given.
    pub sources: Vec<String>,
    /// One per bad payload.
    pub items: Vec<Repair>,
}

impl Repairs {
    /// The verdict of a finding, if it has one.
    pub fn of(&self, component: &str, file: &str) -> Option<&Repair> {
        self.items
            .iter()
            .find(|r| r.component == component && r.file == file)
    }

    /// Whether some bad payload has no good source (exit bit 8).
    pub fn any_unrepairable(&self) -> bool {
        self.items
            .iter()
            .any(|r| !matches!(r.verdict, Verdict::Repairable { .. }))
    }

    /// "94 corrupt payloads: 60 can be repaired from B, 30 are corrupt in B as well, 4 are in
    /// no source".
    pub fn summary_line(&self) -> String {
        let mut by_source: Vec<(String, usize)> =
            self.sources.iter().map(|s| (s.clone(), 0)).collect();
        let (mut corrupt, mut none) = (0, 0);
        for r in &self.items {
            match &r.verdict {
                Verdict::Repairable { source, .. } => {
                    if let Some(e) = by_source.iter_mut().find(|e| &e.0 == source) {
                        e.1 += 1;
                    }
                }
                Verdict::SourceCorrupt { .. } => corrupt += 1,
                Verdict::NoSource => none += 1,
            }
        }
        let repairable: usize = by_source.iter().map(|e| e.1).sum();
        let from = match by_source
            .iter()
            .filter(|e| e.1 > 0)
            .collect::<Vec<_>>()
            .as_slice()
        {
            [] => String::new(),
            [one] if by_source.len() == 1 || repairable == one.1 => format!(" from {}", one.0),
            many => format!(
                " ({})",
                many.iter()
                    .map(|e| format!("{}: {}", e.0, e.1))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let sources = if self.sources.len() == 1 {
            self.sources[0].clone()
        } else {
            "the sources".into()
        };
        format!(
            "{} bad payloads: {repairable} can be repaired{from}, {corrupt} are corrupt in {sources} as well, {none} are in no source",
            self.items.len()
        )
    }
}

/// Find a component's file in an image: the path components from the source root, or None.
fn locate(
    image: &Image,
    folders: &HashMap<String, DirEntry>,
    keyform: &str,
    name: &str,
) -> Result<Option<Vec<String>>, String> {
    let Some(folder) = folders
        .get(&keyform.to_ascii_lowercase())
        .filter(|f| f.kind == EntryKind::Dir)
    else {
        return Ok(None);
    };
    let parts = manifest::name_components(name)?;
    let mut base = image.winsxs();
    base.push(folder.name.as_str());
    let mut resolver = FolderResolver::new(&*image.source, base.clone());
    match resolver.resolve(&parts) {
        Resolved::Found(stored, e) if e.kind == EntryKind::File => {
            let mut p: Vec<String> = base.iter().map(|s| s.to_string()).collect();
            p.extend(stored);
            Ok(Some(p))
        }
        Resolved::Found(..) => Err("not a regular file".into()),
        Resolved::Missing => Ok(None),
        Resolved::Error(e) => Err(e),
    }
}

fn report_path(parts: &[String], image: &Image) -> String {
    let skip = image.winsxs.len();
    let mut p = String::from("Windows/WinSxS");
    for s in &parts[skip..] {
        p.push('/');
        p.push_str(s);
    }
    p
}

/// A verdict for every `hash_mismatch` and `missing_payload` finding that carries the
/// expected digest.
pub fn check(findings: &[Finding], sources: &[Source]) -> Repairs {
    let listings: Vec<HashMap<String, DirEntry>> = sources
        .iter()
        .map(|s| s.image.winsxs_by_name().unwrap_or_default())
        .collect();
    let bad: Vec<&Finding> = findings
        .iter()
        .filter(|f| {
            matches!(f.kind, Kind::HashMismatch | Kind::MissingPayload)
                && f.expected.is_some()
                && f.file.is_some()
        })
        .collect();
    let items = bad
        .par_iter()
        .map(|f| {
            let file = f.file.clone().unwrap_or_default();
            let expected = f.expected.as_deref().unwrap_or_default();
            let algorithm = f.algorithm.unwrap_or(Algorithm::Sha256);
            let mut corrupt = Vec::new();
            let mut verdict = None;
            for (s, folders) in sources.iter().zip(&listings) {
                let parts = match locate(&s.image, folders, &f.component, &file) {
                    Ok(Some(p)) => p,
                    Ok(None) => continue,
                    Err(e) => {
                        corrupt.push((s.label.clone(), format!("unusable: {e}")));
                        continue;
                    }
                };
                let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
                let d = digest_path(&s.image, &s.codecs, &refs, &[algorithm]);
                match (&d.values, d.container_ok) {
                    (_, Some(false)) => {
                        corrupt.push((s.label.clone(), "its archive blob is damaged".into()))
                    }
                    (Ok(v), _) if v.get(algorithm) == Some(expected) => {
                        verdict = Some(Verdict::Repairable {
                            source: s.label.clone(),
                            path: report_path(&parts, &s.image),
                        });
                        break;
                    }
                    (Ok(v), _) => corrupt.push((
                        s.label.clone(),
                        format!(
                            "its copy is corrupt too (found {})",
                            crate::format::digest::to_base64(v.get(algorithm).unwrap_or_default())
                        ),
                    )),
                    (Err((_, why)), _) => corrupt.push((s.label.clone(), why.clone())),
                }
            }
            let verdict = verdict.unwrap_or(if corrupt.is_empty() {
                Verdict::NoSource
            } else {
                Verdict::SourceCorrupt { sources: corrupt }
            });
            Repair {
                component: f.component.clone(),
                file,
                kind: f.kind,
                verdict,
            }
        })
        .collect();
    Repairs {
        sources: sources.iter().map(|s| s.label.clone()).collect(),
        items,
    }
}

/// Read a whole file of an image, decoded (DCN/DCS), refusing more than 1 GiB.
fn read_decoded(image: &Image, codecs: &Codecs, parts: &[&str]) -> Result<Vec<u8>, String> {
    let (bytes, info) =
        read_capped(image, parts, codec::MAX_COMPRESSED_PAYLOAD).map_err(|e| e.to_string())?;
    if info.container_ok == Some(false) {
        return Err("its archive blob is damaged".into());
    }
    match codecs.payload(Container::sniff(&bytes), &bytes) {
        codec::Decoded::Bytes(b) => Ok(b),
        codec::Decoded::Unverifiable(e) | codec::Decoded::Corrupt(e) => Err(e),
    }
}

/// Check that `dir` may receive an export: new or empty, and not inside an image we read.
pub fn check_export_dir(dir: &Path, images: &[&Path]) -> Result<(), String> {
    if dir.exists() {
        let empty = dir
            .read_dir()
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .next()
            .is_none();
        if !empty {
            return Err(format!(
                "{} is not empty: the export needs a new or empty folder",
                dir.display()
            ));
        }
    }
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let parent = parent
        .canonicalize()
        .map_err(|e| format!("{}: {e}", parent.display()))?;
    for img in images {
        if let Ok(img) = img.canonicalize() {
            if img.is_dir() && parent.starts_with(&img) {
                return Err(format!(
                    "{} is inside the image {}: sxsaudit never writes into an image it reads",
                    dir.display(),
                    img.display()
                ));
            }
        }
    }
    Ok(())
}

/// Write the good copies of the repairable payloads, and their components' manifests from the
/// same source, to `dir` (see the module doc). Returns how many payloads were written.
pub fn export(repairs: &Repairs, sources: &[Source], dir: &Path) -> Result<usize, String> {
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = tempfile::Builder::new()
        .prefix(".sxsaudit-export-")
        .tempdir_in(parent)
        .map_err(|e| format!("{}: {e}", parent.display()))?;
    let winsxs = tmp.path().join("Windows").join("WinSxS");
    std::fs::create_dir_all(winsxs.join("Manifests")).map_err(|e| e.to_string())?;
    let listings: Vec<HashMap<String, DirEntry>> = sources
        .iter()
        .map(|s| s.image.winsxs_by_name().unwrap_or_default())
        .collect();
    let mut written = 0;
    for r in &repairs.items {
        let Verdict::Repairable { source, .. } = &r.verdict else {
            continue;
        };
        let Some(i) = sources.iter().position(|s| &s.label == source) else {
            continue;
        };
        let s = &sources[i];
        let parts = locate(&s.image, &listings[i], &r.component, &r.file)?
            .ok_or_else(|| format!("{}: {} vanished from {source}", r.component, r.file))?;
        let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
        let data = read_decoded(&s.image, &s.codecs, &refs)
            .map_err(|e| format!("{}\\{} in {source}: {e}", r.component, r.file))?;
        let mut dest = winsxs.join(&r.component);
        dest.extend(manifest::name_components(&r.file)?);
        if let Some(p) = dest.parent() {
            std::fs::create_dir_all(p).map_err(|e| format!("{}: {e}", p.display()))?;
        }
        std::fs::write(&dest, &data).map_err(|e| format!("{}: {e}", dest.display()))?;
        written += 1;
        // The component's manifest, as the source stores it (DISM reads DCM manifests).
        let mdest = winsxs
            .join("Manifests")
            .join(format!("{}.manifest", r.component));
        if !mdest.exists() {
            let mut m = s.image.winsxs();
            let top = s.image.source.list(&m).unwrap_or_default();
            let mname = crate::store::find(&top, "Manifests")
                .map(|e| e.name.clone())
                .unwrap_or_else(|| "Manifests".into());
            m.push(&mname);
            let file = format!("{}.manifest", r.component);
            let listing = s.image.source.list(&m).unwrap_or_default();
            if let Some(e) = crate::store::find(&listing, &file) {
                let name = e.name.clone();
                let mut mp = m.clone();
                mp.push(&name);
                if let Ok((bytes, _)) = read_capped(&s.image, &mp, crate::audit::MAX_MANIFEST_BYTES)
                {
                    std::fs::write(&mdest, bytes)
                        .map_err(|e| format!("{}: {e}", mdest.display()))?;
                }
            }
        }
    }
    if dir.exists() {
        std::fs::remove_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let tmp = tmp.keep();
    std::fs::rename(&tmp, dir).map_err(|e| {
        let _ = std::fs::remove_dir_all(&tmp);
        format!("{}: {e}", dir.display())
    })?;
    Ok(written)
}

//! `sxsaudit info`: what an archive or image holds, before anyone audits it: the images of a
//! WIM/ESD (index, name, edition, build), and for an image the manifests of its store (plain
//! and DCM-compressed) and its servicing state: package counts by `CurrentState`, components
//! and deployments of the COMPONENTS hive, the servicing-stack version, pending operations.
//!
//! Build and edition come from the WIM's XML when there is one; otherwise the build is the
//! newest servicing stack's version and the edition is the installed
//! `Microsoft-Windows-<Edition>Edition` package, both \[inferred\] from naming conventions
//! (the `sxs-servicing` crate does not read `Windows NT\CurrentVersion`).

use std::path::Path;

use anyhow::Context;
use serde::Serialize;

use crate::format::Container;
use crate::store::wim::{self, WimImageInfo};
use crate::store::Image;

#[derive(Serialize)]
struct Archive {
    path: String,
    images: Vec<WimImageInfo>,
}

#[derive(Serialize)]
struct Store {
    image: String,
    source: &'static str,
    manifests: u64,
    manifests_compressed: u64,
    component_folders: u64,
    /// `10.0.17763.1911`, from the newest servicing-stack component folder.
    servicing_stack: Option<String>,
    /// The build, from the servicing stack's version \[inferred\].
    build: Option<String>,
    /// From an installed `Microsoft-Windows-<Edition>Edition` package \[inferred\].
    edition: Option<String>,
    servicing: Option<Servicing>,
    /// Why the image is mid-transaction (empty: it is not).
    pending: Vec<String>,
    /// Why servicing state is missing or partial.
    notes: Vec<String>,
}

#[derive(Serialize)]
struct Servicing {
    /// Components in `DerivedData\Components`.
    components: u64,
    /// Deployments in `CanonicalData\Deployments`.
    deployments: u64,
    /// CBS packages by state (`Installed (112)` -> count); empty without SOFTWARE.
    packages: std::collections::BTreeMap<String, u64>,
    components_dirty: bool,
    software_dirty: bool,
}

/// `10.0.17763.1911` from `amd64_microsoft-windows-servicingstack_..._10.0.17763.1911_none_...`.
fn stack_version(top: &[crate::store::DirEntry]) -> Option<String> {
    top.iter()
        .filter(|e| {
            e.kind == crate::store::EntryKind::Dir
                && e.name
                    .to_ascii_lowercase()
                    .contains("_microsoft-windows-servicingstack_")
        })
        .filter_map(|e| e.name.split('_').nth(3).map(str::to_string))
        .max_by_key(|v| {
            v.split('.')
                .map(|p| p.parse::<u64>().unwrap_or(0))
                .collect::<Vec<_>>()
        })
}

fn store(path: &Path) -> anyhow::Result<Store> {
    let image = Image::open(path, None)?;
    let ws = image.winsxs();
    let top = image
        .winsxs_listing()
        .with_context(|| format!("cannot list {}", image.source.display_path(&ws)))?;
    let mut mdir = ws.clone();
    let mname = crate::store::find(top, "Manifests")
        .map(|e| e.name.clone())
        .unwrap_or_default();
    mdir.push(&mname);
    let manifests: Vec<_> = image
        .source
        .list(&mdir)?
        .into_iter()
        .filter(|e| e.name.to_ascii_lowercase().ends_with(".manifest"))
        .collect();
    let mut compressed = 0;
    for m in &manifests {
        let mut p = mdir.clone();
        p.push(&m.name);
        let mut head = Vec::new();
        let _ = image.source.read(&p, &mut |c| {
            head.extend_from_slice(&c[..c.len().min(4)]);
            Err(std::io::Error::other("enough"))
        });
        compressed += (Container::sniff(&head) == Container::Dcm) as u64;
    }
    let folders = top
        .iter()
        .filter(|e| e.kind == crate::store::EntryKind::Dir && e.name.contains('_'))
        .count() as u64;
    let servicing_stack = stack_version(top);
    let build = servicing_stack.as_deref().and_then(|v| {
        v.split_once('.')
            .and_then(|(_, r)| r.split_once('.'))
            .map(|(_, b)| b.to_string())
    });
    let loaded = crate::store::servicing::load(&image);
    let mut edition = None;
    let servicing = loaded.state.as_ref().map(|st| {
        let mut packages = std::collections::BTreeMap::new();
        if let Some(sw) = &st.software {
            for p in sw.packages.values() {
                *packages.entry(p.current_state.to_string()).or_insert(0u64) += 1;
                let stem = p.name.split('~').next().unwrap_or("");
                let installed = matches!(
                    p.current_state,
                    sxs_servicing::PackageState::Installed | sxs_servicing::PackageState::Permanent
                );
                if let Some(ed) = stem
                    .strip_prefix("Microsoft-Windows-")
                    .and_then(|r| r.strip_suffix("Edition"))
                    .filter(|e| installed && !e.is_empty() && !e.contains('-'))
                {
                    edition = Some(ed.to_string());
                }
            }
        }
        Servicing {
            components: st.components.components.len() as u64,
            deployments: st.components.deployments.len() as u64,
            packages,
            components_dirty: st.components.dirty,
            software_dirty: st.software.as_ref().is_some_and(|s| s.dirty),
        }
    });
    Ok(Store {
        image: image.input.display().to_string(),
        source: image.source.kind(),
        manifests: manifests.len() as u64,
        manifests_compressed: compressed,
        component_folders: folders,
        servicing_stack,
        build,
        edition,
        servicing,
        pending: loaded.pending,
        notes: loaded.notes,
    })
}

/// Print what `path` holds; exit 0.
pub fn run(path: &Path, json: bool) -> anyhow::Result<u8> {
    let archive = (path.is_file() && wim::is_wim(path)).then(|| -> anyhow::Result<Archive> {
        let w = wim::open_archive(path)?;
        Ok(Archive {
            path: path.display().to_string(),
            images: wim::images(&w),
        })
    });
    let archive = archive.transpose()?;
    // For an archive, describe the store of the first image (or the one named `:N`).
    let store = store(path).ok();
    if json {
        #[derive(Serialize)]
        struct Doc {
            schema_version: u32,
            archive: Option<Archive>,
            store: Option<Store>,
        }
        println!(
            "{}",
            serde_json::to_string_pretty(&Doc {
                schema_version: 1,
                archive,
                store
            })?
        );
        return Ok(0);
    }
    if let Some(a) = &archive {
        println!("{}: WIM archive, {} image(s)", a.path, a.images.len());
        for i in &a.images {
            println!(
                "  [{}] {}  edition {}  build {}  {} files  {} bytes",
                i.index,
                i.name.as_deref().unwrap_or("(no name)"),
                i.edition.as_deref().unwrap_or("?"),
                i.version.as_deref().unwrap_or("?"),
                i.files.map(|n| n.to_string()).unwrap_or_else(|| "?".into()),
                i.bytes.map(|n| n.to_string()).unwrap_or_else(|| "?".into())
            );
        }
    }
    match store {
        Some(s) => {
            println!(
                "{} ({}): {} manifests ({} DCM-compressed, {} plain), {} component folders",
                s.image,
                s.source,
                s.manifests,
                s.manifests_compressed,
                s.manifests - s.manifests_compressed,
                s.component_folders
            );
            println!(
                "  build {}  edition {}  servicing stack {}",
                s.build.as_deref().unwrap_or("?"),
                s.edition.as_deref().unwrap_or("?"),
                s.servicing_stack.as_deref().unwrap_or("?")
            );
            if let Some(v) = &s.servicing {
                println!(
                    "  servicing state: {} components, {} deployments in COMPONENTS{}",
                    v.components,
                    v.deployments,
                    if v.components_dirty {
                        " (dirty hive)"
                    } else {
                        ""
                    }
                );
                let counts: Vec<String> =
                    v.packages.iter().map(|(k, n)| format!("{n} {k}")).collect();
                println!(
                    "  packages: {}{}",
                    if counts.is_empty() {
                        "unknown".into()
                    } else {
                        counts.join(", ")
                    },
                    if v.software_dirty {
                        " (dirty hive)"
                    } else {
                        ""
                    }
                );
            }
            if s.pending.is_empty() {
                println!("  pending operations: none");
            } else {
                println!("  pending operations: {}", s.pending.join("; "));
            }
            for n in &s.notes {
                println!("  note: {n}");
            }
        }
        None if archive.is_none() => {
            Image::open(path, None)?;
        }
        None => println!("(image 1 holds no Windows component store)"),
    }
    Ok(0)
}

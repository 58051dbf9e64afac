//! `sxsaudit info`: what an archive or image holds, before anyone audits it: the images of a
//! WIM/ESD (index, name, edition, build), and for an image the manifests of its store (plain
//! and DCM-compressed).

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
}

fn store(path: &Path) -> anyhow::Result<Store> {
    let image = Image::open(path, None)?;
    let ws = image.winsxs();
    let top = image.source.list(&ws).with_context(|| format!("cannot list {}", image.source.display_path(&ws)))?;
    let mut mdir = ws.clone();
    let mname = crate::store::find(&top, "Manifests").map(|e| e.name.clone()).unwrap_or_default();
    mdir.push(&mname);
    let manifests: Vec<_> = image.source.list(&mdir)?.into_iter().filter(|e| e.name.to_ascii_lowercase().ends_with(".manifest")).collect();
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
    let folders = top.iter().filter(|e| e.kind == crate::store::EntryKind::Dir && e.name.contains('_')).count() as u64;
    Ok(Store {
        image: image.input.display().to_string(),
        source: image.source.kind(),
        manifests: manifests.len() as u64,
        manifests_compressed: compressed,
        component_folders: folders,
    })
}

/// Print what `path` holds; exit 0.
pub fn run(path: &Path, json: bool) -> anyhow::Result<u8> {
    let archive = (path.is_file() && wim::is_wim(path)).then(|| -> anyhow::Result<Archive> {
        let w = wim::open_archive(path)?;
        Ok(Archive { path: path.display().to_string(), images: wim::images(&w) })
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
        println!("{}", serde_json::to_string_pretty(&Doc { schema_version: 1, archive, store })?);
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
        Some(s) => println!(
            "{} ({}): {} manifests ({} DCM-compressed, {} plain), {} component folders",
            s.image,
            s.source,
            s.manifests,
            s.manifests_compressed,
            s.manifests - s.manifests_compressed,
            s.component_folders
        ),
        None if archive.is_none() => {
            Image::open(path, None)?;
        }
        None => println!("(image 1 holds no Windows component store)"),
    }
    Ok(0)
}

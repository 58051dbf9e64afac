//! Finding the base manifest of an image: the newest servicing stack's `wcp.dll` in the store
//! (`WinSxS\{amd64,x86,arm64}_microsoft-windows-servicingstack_*\wcp.dll`), or a file the user
//! names with `--base` (a raw base manifest, or a `wcp.dll`). The PE parsing itself is the pure
//! `format::pe`; this module only reads files.

use std::sync::Arc;

use crate::codec::{Base, Codecs, Decoded};
use crate::format::{pe, Container};
use crate::store::{EntryKind, Image};

/// Larger than any wcp.dll (a few MiB).
const MAX_WCP: usize = 64 << 20;

/// A base manifest from bytes the user gave: a `wcp.dll` (starts with `MZ`) or raw XML.
pub fn from_file_bytes(bytes: Vec<u8>, origin: String) -> Result<Base, String> {
    let bytes = if bytes.starts_with(b"MZ") {
        pe::base_manifest(&bytes)?
    } else {
        bytes
    };
    Ok(Base {
        bytes: Arc::new(bytes),
        origin,
    })
}

/// Order keyform versions numerically (`10.0.17763.1911` > `10.0.17763.379`).
fn version_key(keyform: &str) -> Vec<u64> {
    keyform
        .split('_')
        .nth(3)
        .unwrap_or("")
        .split('.')
        .map(|p| p.parse().unwrap_or(0))
        .collect()
}

/// Look for the newest servicing stack's wcp.dll in the image and read its base manifest.
/// `Ok(None)` when the image has no servicing stack.
pub fn find(image: &Image) -> Result<Option<Base>, String> {
    let ws = image.winsxs();
    let Ok(top) = image.winsxs_listing() else {
        return Ok(None);
    };
    // Checked on every name of WinSxS (20,000 and more): no allocation per name.
    let starts = |n: &str, p: &str| n.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p));
    let mut stacks: Vec<_> = top
        .iter()
        .filter(|e| e.kind == EntryKind::Dir)
        .filter(|e| {
            ["amd64_", "x86_", "arm64_"].iter().any(|a| {
                starts(&e.name, a)
                    && starts(&e.name[a.len()..], "microsoft-windows-servicingstack_")
            })
        })
        .collect();
    stacks.sort_by_key(|e| std::cmp::Reverse((version_key(&e.name), e.name.starts_with("amd64"))));
    let mut last_err = None;
    for stack in stacks {
        let mut dir = ws.clone();
        dir.push(&stack.name);
        let Ok(files) = image.source.list(&dir) else {
            continue;
        };
        let Some(wcp) = crate::store::find(&files, "wcp.dll").filter(|e| e.kind == EntryKind::File)
        else {
            continue;
        };
        let mut path = dir.clone();
        path.push(&wcp.name);
        let origin = image.source.display_path(&path);
        let bytes = match crate::audit::read_capped(image, &path, MAX_WCP) {
            Ok((b, _)) => b,
            Err(e) => {
                last_err = Some(format!("{origin}: {e}"));
                continue;
            }
        };
        // The servicing stack's own files are loaded directly, so plain; decode just in case.
        let bytes = match Codecs::default().payload(Container::sniff(&bytes), &bytes) {
            Decoded::Bytes(b) => b,
            Decoded::Unverifiable(e) | Decoded::Corrupt(e) => {
                last_err = Some(format!("{origin}: {e}"));
                continue;
            }
        };
        match pe::base_manifest(&bytes) {
            Ok(b) => {
                return Ok(Some(Base {
                    bytes: Arc::new(b),
                    origin,
                }))
            }
            Err(e) => last_err = Some(format!("{origin}: {e}")),
        }
    }
    last_err.map_or(Ok(None), Err)
}

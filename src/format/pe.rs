//! The base manifest inside the servicing stack's `wcp.dll`: the dictionary every `DCM`
//! manifest is a PA30 delta against.
//!
//! Where it is (formats.md §2.2, from SafeBreach WindowsDowndate, smx-smx/wcpex and the cobalt.io
//! write-up): a PE resource of type 614 (0x266), name/ID 1, first language; 9,066 bytes of XML
//! whose SHA-256 is [`KNOWN_BASE_SHA256`] in every build seen so far (2016's SXSEXP copy and
//! build 26100's). We read it with the `object` crate (a well-kept PE reader), not by hand.
//!
//! What we reject: not a PE, no resource directory, no 614/1 resource, a resource that points
//! outside the file. A base of another length or digest is accepted with a warning: Microsoft
//! could change it, and the decode of each manifest checks the result anyway.

use object::pe;
use object::read::pe::{ImageNtHeaders, ResourceDirectoryEntryData, ResourceNameOrId};
use object::LittleEndian as LE;

/// Resource type of the base manifest.
pub const RT_BASE_MANIFEST: u16 = 614;
/// Resource name/ID of the base manifest.
pub const RN_BASE_MANIFEST: u16 = 1;
/// Length of the known base manifest.
pub const KNOWN_BASE_LEN: usize = 9066;
/// SHA-256 of the known base manifest.
pub const KNOWN_BASE_SHA256: &str =
    "0ad8f100f1c56f4a1aad990defade9191f7d5be929b930a04160ebbf99cd6b46";

fn find<Pe: ImageNtHeaders>(data: &[u8]) -> Result<Vec<u8>, String> {
    let file =
        object::read::pe::PeFile::<Pe>::parse(data).map_err(|e| format!("not a PE file ({e})"))?;
    let sections = file.section_table();
    let rsrc = file
        .data_directories()
        .resource_directory(data, &sections)
        .map_err(|e| format!("bad resource directory ({e})"))?
        .ok_or("the PE file has no resources")?;
    let pick = |entries: &[pe::ImageResourceDirectoryEntry], id: Option<u16>| {
        entries
            .iter()
            .find(|e| match (e.name_or_id(), id) {
                (ResourceNameOrId::Id(x), Some(want)) => x == want,
                (_, None) => true,
                _ => false,
            })
            .copied()
    };
    let root = rsrc
        .root()
        .map_err(|e| format!("bad resource directory ({e})"))?;
    let ty = pick(root.entries, Some(RT_BASE_MANIFEST))
        .ok_or("no resource of type 614 (the base manifest)")?;
    let names = match ty.data(rsrc).map_err(|e| e.to_string())? {
        ResourceDirectoryEntryData::Table(t) => t,
        _ => return Err("resource type 614 is not a directory".into()),
    };
    let name = pick(names.entries, Some(RN_BASE_MANIFEST))
        .ok_or("no resource 614/1 (the base manifest)")?;
    let langs = match name.data(rsrc).map_err(|e| e.to_string())? {
        ResourceDirectoryEntryData::Table(t) => t,
        ResourceDirectoryEntryData::Data(_) => {
            return Err("resource 614/1 has no language level".into())
        }
    };
    let lang = pick(langs.entries, None).ok_or("resource 614/1 has no language entry")?;
    let entry = match lang.data(rsrc).map_err(|e| e.to_string())? {
        ResourceDirectoryEntryData::Data(d) => d,
        _ => return Err("resource 614/1 nests too deep".into()),
    };
    let rva = entry.offset_to_data.get(LE);
    let size = entry.size.get(LE) as usize;
    let bytes = sections
        .pe_data_at(data, rva)
        .ok_or("resource 614/1 points outside the file")?;
    bytes
        .get(..size)
        .map(<[u8]>::to_vec)
        .ok_or_else(|| "resource 614/1 is cut short".to_string())
}

/// The base manifest (resource 614/1) of a `wcp.dll` image.
pub fn base_manifest(dll: &[u8]) -> Result<Vec<u8>, String> {
    match object::FileKind::parse(dll) {
        Ok(object::FileKind::Pe64) => find::<pe::ImageNtHeaders64>(dll),
        Ok(object::FileKind::Pe32) => find::<pe::ImageNtHeaders32>(dll),
        _ => Err("not a PE file".into()),
    }
}

/// Compare a base with the known one: `None` when identical, else a warning.
pub fn base_warning(base: &[u8]) -> Option<String> {
    let digest = crate::format::digest::to_hex(&crate::hash::digest(
        crate::format::digest::Algorithm::Sha256,
        base,
    ));
    (base.len() != KNOWN_BASE_LEN || digest != KNOWN_BASE_SHA256).then(|| {
        format!(
            "the base manifest ({} bytes, SHA-256 {digest}) is not the known one ({KNOWN_BASE_LEN} bytes, SHA-256 {KNOWN_BASE_SHA256}); manifests are still checked after decoding",
            base.len()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pe_written_by_the_builder_gives_its_resource_back() {
        let payload = b"<?xml version=\"1.0\"?><assembly/>".repeat(50);
        let dll = crate::demo::pe::dll_with_resource(RT_BASE_MANIFEST, RN_BASE_MANIFEST, &payload);
        assert_eq!(base_manifest(&dll).unwrap(), payload);
        assert!(base_warning(&payload)
            .unwrap()
            .contains("not the known one"));
    }

    #[test]
    fn rejections() {
        assert!(base_manifest(b"not a pe").unwrap_err().contains("not a PE"));
        let dll = crate::demo::pe::dll_with_resource(615, 1, b"x");
        assert!(base_manifest(&dll)
            .unwrap_err()
            .contains("no resource of type 614"));
        let dll = crate::demo::pe::dll_with_resource(614, 2, b"x");
        assert!(base_manifest(&dll)
            .unwrap_err()
            .contains("no resource 614/1"));
        let good = crate::demo::pe::dll_with_resource(614, 1, b"hello");
        for n in 0..good.len() {
            let _ = base_manifest(&good[..n]);
        }
    }
}

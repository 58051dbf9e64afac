//! Component manifests (`WinSxS\Manifests\<keyform>.manifest`), once decompressed: plain XML.
//!
//! What we read (formats.md §1.2-1.6):
//! - the root `<assembly>` in the `urn:schemas-microsoft-com:asm.v3` namespace (component
//!   manifests) or `asm.v1` (legacy Win32 side-by-side assemblies such as the VC90 runtime);
//! - its first direct `<assemblyIdentity>` child (nested identities, e.g. in `<dependency>`,
//!   name other assemblies and are ignored);
//! - every direct `<file>` child: `name` (may hold a sub-path with backslashes),
//!   `destinationPath` (may be absent), `sourceName`, `writeableType`, the legacy
//!   `hashalg`/`hash` attributes, and the `<hash>` element of the `asm.v2` namespace with the
//!   xmldsig `Transforms/Transform@Algorithm`, `DigestMethod@Algorithm` and `DigestValue`.
//!
//! Elements are matched by namespace URI, never by prefix: builds differ in the prefixes they
//! use and in where `xmlns:dsig` is declared. Input may be UTF-8 with or without a BOM, or
//! UTF-16 with a BOM; CRLF is fine.
//!
//! What we reject, as a corrupt manifest: not XML, a DTD (no entity expansion is ever done),
//! a root that is not an assembly, no identity, a `<file>` without a name, nesting deeper than
//! [`MAX_DEPTH`], more than [`MAX_FILES`] files.

use std::borrow::Cow;

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

/// Legacy Win32 side-by-side manifests.
pub const NS_ASM_V1: &str = "urn:schemas-microsoft-com:asm.v1";
/// The namespace of the `<hash>` element.
pub const NS_ASM_V2: &str = "urn:schemas-microsoft-com:asm.v2";
/// Component manifests since Vista.
pub const NS_ASM_V3: &str = "urn:schemas-microsoft-com:asm.v3";
/// XML digital signatures: `Transforms`, `DigestMethod`, `DigestValue`.
pub const NS_DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";

/// Deeper nesting than any real manifest (they stay under 10); guards the element stack.
pub const MAX_DEPTH: usize = 256;
/// More `<file>` elements than any real manifest (the largest known have a few thousand).
pub const MAX_FILES: usize = 100_000;

/// Which schema the root element is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// `urn:schemas-microsoft-com:asm.v1`: legacy Win32 assemblies.
    V1,
    /// `urn:schemas-microsoft-com:asm.v3`: component manifests.
    V3,
}

/// `<assemblyIdentity>` attributes that make up the keyform.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// `name`.
    pub name: Option<String>,
    /// `version`.
    pub version: Option<String>,
    /// `processorArchitecture`.
    pub processor_architecture: Option<String>,
    /// `language` (the culture).
    pub language: Option<String>,
    /// `type`, e.g. `win32`, `dualModeDriver`.
    pub type_: Option<String>,
    /// `publicKeyToken`.
    pub public_key_token: Option<String>,
    /// `versionScope`, e.g. `nonSxS`.
    pub version_scope: Option<String>,
    /// `buildType`.
    pub build_type: Option<String>,
}

/// The `<asmv2:hash>` element of a file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HashSpec {
    /// Every `Transform@Algorithm`.
    pub transforms: Vec<String>,
    /// `DigestMethod@Algorithm`.
    pub method: Option<String>,
    /// `DigestValue` text (base64).
    pub value: Option<String>,
}

/// One `<file>` of a manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileEntry {
    /// `name`: the path inside the component folder, `\`-separated.
    pub name: String,
    /// `destinationPath`, where the file is projected; absent for store-only files.
    pub destination_path: Option<String>,
    /// `sourceName`.
    pub source_name: Option<String>,
    /// `writeableType` (mutable files are not scanned by SFC).
    pub writeable_type: Option<String>,
    /// The `asm.v2` hash element.
    pub hash: Option<HashSpec>,
    /// The legacy `hash=` attribute (an undocumented digest: never compared).
    pub legacy_hash: Option<String>,
}

/// A parsed manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The root element's schema.
    pub schema: Schema,
    /// The assembly's own identity.
    pub identity: Identity,
    /// Its files, in document order.
    pub files: Vec<FileEntry>,
}

/// Why a manifest could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// Neither UTF-8 nor UTF-16 with a BOM.
    #[error("not text: {0}")]
    Encoding(String),
    /// Not well-formed XML.
    #[error("not well-formed XML at byte {position}: {message}")]
    Xml {
        /// Byte offset in the decoded text.
        position: u64,
        /// The parser's message.
        message: String,
    },
    /// A `<!DOCTYPE>`: manifests never have one, and we never expand entities.
    #[error("has a DTD, which manifests never have")]
    DocType,
    /// The document element is not an assembly.
    #[error("not an assembly manifest (root element {0})")]
    NotAssembly(String),
    /// No `<assemblyIdentity>` under the root.
    #[error("has no assemblyIdentity")]
    NoIdentity,
    /// An empty document.
    #[error("is empty")]
    Empty,
    /// A `<file>` without a `name`.
    #[error("a <file> element has no name")]
    FileWithoutName,
    /// Past a limit.
    #[error("exceeds a limit: {0}")]
    Limit(&'static str),
}

/// Turn the raw bytes into text: strip a UTF-8 BOM, decode UTF-16 with a BOM.
pub fn decode_text(bytes: &[u8]) -> Result<Cow<'_, str>, ManifestError> {
    let utf16 = |le: bool| -> Result<Cow<'_, str>, ManifestError> {
        let body = &bytes[2..];
        if !body.len().is_multiple_of(2) {
            return Err(ManifestError::Encoding("odd length for UTF-16".into()));
        }
        let units = body.chunks_exact(2).map(|c| {
            if le {
                u16::from_le_bytes([c[0], c[1]])
            } else {
                u16::from_be_bytes([c[0], c[1]])
            }
        });
        char::decode_utf16(units)
            .collect::<Result<String, _>>()
            .map(Cow::Owned)
            .map_err(|e| ManifestError::Encoding(format!("invalid UTF-16: {e}")))
    };
    match bytes {
        [0xEF, 0xBB, 0xBF, rest @ ..] => std::str::from_utf8(rest).map(Cow::Borrowed),
        [0xFF, 0xFE, ..] => return utf16(true),
        [0xFE, 0xFF, ..] => return utf16(false),
        _ => std::str::from_utf8(bytes).map(Cow::Borrowed),
    }
    .map_err(|e| ManifestError::Encoding(format!("invalid UTF-8 at byte {}", e.valid_up_to())))
}

/// Which of the elements we care about an open element is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Elem {
    Assembly,
    File,
    Hash,
    Transforms,
    DigestValue,
    Other,
}

fn is_asm(ns: &str) -> bool {
    ns == NS_ASM_V3 || ns == NS_ASM_V1 || ns == NS_ASM_V2
}

/// Parse a plain-XML manifest.
pub fn parse(bytes: &[u8]) -> Result<Manifest, ManifestError> {
    let text = decode_text(bytes)?;
    let mut reader = NsReader::from_str(&text);
    let mut stack: Vec<Elem> = Vec::new();
    let mut schema = None;
    let mut identity: Option<Identity> = None;
    let mut files: Vec<FileEntry> = Vec::new();
    let xml_err = |reader: &NsReader<&[u8]>, e: quick_xml::Error| ManifestError::Xml {
        position: reader.error_position(),
        message: e.to_string(),
    };
    loop {
        let (ns, event) = match reader.read_resolved_event() {
            Ok((ResolveResult::Bound(n), ev)) => (Some(n.into_inner().to_string()), ev),
            Ok((_, ev)) => (None, ev),
            Err(e) => return Err(xml_err(&reader, e)),
        };
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                let local = e.local_name();
                let local = local.as_ref();
                let ns = ns.as_deref().unwrap_or("");
                let parent = stack.last().copied();
                let elem = match parent {
                    None => {
                        if local != "assembly" || !is_asm(ns) {
                            return Err(ManifestError::NotAssembly(format!(
                                "{} in namespace {:?}",
                                local, ns
                            )));
                        }
                        schema = Some(if ns == NS_ASM_V1 {
                            Schema::V1
                        } else {
                            Schema::V3
                        });
                        Elem::Assembly
                    }
                    Some(Elem::Assembly) if is_asm(ns) && local == "assemblyIdentity" => {
                        if identity.is_none() {
                            identity = Some(read_identity(e));
                        }
                        Elem::Other
                    }
                    Some(Elem::Assembly) if is_asm(ns) && local == "file" => {
                        if files.len() >= MAX_FILES {
                            return Err(ManifestError::Limit(
                                "more than MAX_FILES <file> elements",
                            ));
                        }
                        files.push(read_file(e)?);
                        Elem::File
                    }
                    Some(Elem::File) if ns == NS_ASM_V2 && local == "hash" => {
                        if let Some(f) = files.last_mut() {
                            f.hash.get_or_insert_with(HashSpec::default);
                        }
                        Elem::Hash
                    }
                    Some(Elem::Hash) if ns == NS_DSIG => match local {
                        "Transforms" => Elem::Transforms,
                        "DigestMethod" => {
                            if let Some(h) = files.last_mut().and_then(|f| f.hash.as_mut()) {
                                h.method = attr(e, "Algorithm");
                            }
                            Elem::Other
                        }
                        "DigestValue" => {
                            if let Some(h) = files.last_mut().and_then(|f| f.hash.as_mut()) {
                                h.value.get_or_insert_with(String::new);
                            }
                            Elem::DigestValue
                        }
                        _ => Elem::Other,
                    },
                    Some(Elem::Transforms) if ns == NS_DSIG && local == "Transform" => {
                        if let (Some(h), Some(a)) = (
                            files.last_mut().and_then(|f| f.hash.as_mut()),
                            attr(e, "Algorithm"),
                        ) {
                            h.transforms.push(a);
                        }
                        Elem::Other
                    }
                    _ => Elem::Other,
                };
                if !empty {
                    if stack.len() >= MAX_DEPTH {
                        return Err(ManifestError::Limit(
                            "elements nested deeper than MAX_DEPTH",
                        ));
                    }
                    stack.push(elem);
                }
            }
            Event::End(_) => {
                stack.pop();
            }
            Event::Text(_) | Event::CData(_) => {
                let text = match event {
                    Event::Text(t) => t.into_inner(),
                    Event::CData(t) => t.into_inner(),
                    _ => Default::default(),
                };
                if stack.last() == Some(&Elem::DigestValue) {
                    if let Some(v) = files
                        .last_mut()
                        .and_then(|f| f.hash.as_mut())
                        .and_then(|h| h.value.as_mut())
                    {
                        v.push_str(&text);
                    }
                }
            }
            Event::GeneralRef(r) => {
                // `&amp;`-style references inside text. Only predefined entities and character
                // references exist without a DTD; anything else is malformed.
                let ch = match r.resolve_char_ref() {
                    Ok(Some(c)) => c,
                    Ok(None) => match r.as_ref() {
                        "lt" => '<',
                        "gt" => '>',
                        "amp" => '&',
                        "apos" => '\'',
                        "quot" => '"',
                        other => {
                            return Err(ManifestError::Xml {
                                position: reader.buffer_position(),
                                message: format!("unknown entity &{other};"),
                            })
                        }
                    },
                    Err(e) => return Err(xml_err(&reader, e)),
                };
                if stack.last() == Some(&Elem::DigestValue) {
                    if let Some(v) = files
                        .last_mut()
                        .and_then(|f| f.hash.as_mut())
                        .and_then(|h| h.value.as_mut())
                    {
                        v.push(ch);
                    }
                }
            }
            Event::DocType(_) => return Err(ManifestError::DocType),
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(ManifestError::Xml {
            position: reader.buffer_position(),
            message: "document ends inside an element".into(),
        });
    }
    let schema = schema.ok_or(ManifestError::Empty)?;
    let identity = identity.ok_or(ManifestError::NoIdentity)?;
    Ok(Manifest {
        schema,
        identity,
        files,
    })
}

/// The unprefixed attribute `name` of `e`, unescaped. Malformed values count as absent: the
/// element-level checks (a missing name, an unparsable digest) then report it.
fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.prefix().is_none() && a.key.local_name().as_ref() == name)
        .and_then(|a| {
            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .ok()
                .map(|v| v.into_owned())
        })
}

fn read_identity(e: &BytesStart<'_>) -> Identity {
    Identity {
        name: attr(e, "name"),
        version: attr(e, "version"),
        processor_architecture: attr(e, "processorArchitecture"),
        language: attr(e, "language"),
        type_: attr(e, "type"),
        public_key_token: attr(e, "publicKeyToken"),
        version_scope: attr(e, "versionScope"),
        build_type: attr(e, "buildType"),
    }
}

fn read_file(e: &BytesStart<'_>) -> Result<FileEntry, ManifestError> {
    let name = attr(e, "name")
        .filter(|n| !n.is_empty())
        .ok_or(ManifestError::FileWithoutName)?;
    Ok(FileEntry {
        name,
        destination_path: attr(e, "destinationPath"),
        source_name: attr(e, "sourceName"),
        writeable_type: attr(e, "writeableType"),
        hash: None,
        legacy_hash: attr(e, "hash"),
    })
}

/// Split a manifest file `name` into path components inside the component folder, refusing
/// anything that could leave it: empty components (absolute or doubled separators), `.`,
/// `..`, drive letters and stream names (`:`).
pub fn name_components(name: &str) -> Result<Vec<&str>, String> {
    let parts: Vec<&str> = name.split(['\\', '/']).collect();
    for p in &parts {
        if p.is_empty() || *p == "." || *p == ".." || p.contains(':') || p.contains('\0') {
            return Err(format!(
                "file name {name:?} does not stay inside the component folder"
            ));
        }
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    const V3: &str = "<?xml version=\"1.0\" encoding=\"utf-8\" standalone=\"yes\"?>\r\n\
<assembly xmlns=\"urn:schemas-microsoft-com:asm.v3\" manifestVersion=\"1.0\" copyright=\"&lt;file name=&quot;fake.dll&quot;&gt;\">\r\n\
  <assemblyIdentity name=\"Microsoft-Windows-Foo\" version=\"10.0.17763.1\" processorArchitecture=\"amd64\" language=\"neutral\" buildType=\"release\" publicKeyToken=\"31bf3856ad364e35\" versionScope=\"nonSxS\" />\r\n\
  <dependency><dependentAssembly><assemblyIdentity name=\"Other\" version=\"1.0.0.0\" /></dependentAssembly></dependency>\r\n\
  <file name=\"Amd64\\X.DPB\" destinationPath=\"$(runtime.system32)\\\" sourceName=\"X.DPB\">\r\n\
    <securityDescriptor name=\"WRP_FILE_DEFAULT_SDDL\" />\r\n\
    <asmv2:hash xmlns:asmv2=\"urn:schemas-microsoft-com:asm.v2\" xmlns:dsig=\"http://www.w3.org/2000/09/xmldsig#\">\r\n\
      <dsig:Transforms><dsig:Transform Algorithm=\"urn:schemas-microsoft-com:HashTransforms.Identity\" /></dsig:Transforms>\r\n\
      <dsig:DigestMethod Algorithm=\"http://www.w3.org/2000/09/xmldsig#sha256\" />\r\n\
      <dsig:DigestValue>nY4HDmpDGCawVpzT4PPY37NmlGtU+WDcSGctfJ0va4c=</dsig:DigestValue>\r\n\
    </asmv2:hash>\r\n\
  </file>\r\n\
  <file name=\"store-only.bin\" />\r\n\
</assembly>";

    #[test]
    fn asm_v3_with_identity_files_and_hash() {
        let m = parse(V3.as_bytes()).unwrap();
        assert_eq!(m.schema, Schema::V3);
        assert_eq!(m.identity.name.as_deref(), Some("Microsoft-Windows-Foo"));
        assert_eq!(m.identity.version_scope.as_deref(), Some("nonSxS"));
        assert_eq!(
            m.files.len(),
            2,
            "the <file> inside the copyright attribute is text, not an element"
        );
        let f = &m.files[0];
        assert_eq!(f.name, "Amd64\\X.DPB");
        assert_eq!(f.destination_path.as_deref(), Some("$(runtime.system32)\\"));
        let h = f.hash.as_ref().unwrap();
        assert_eq!(
            h.transforms,
            vec!["urn:schemas-microsoft-com:HashTransforms.Identity"]
        );
        assert_eq!(
            h.method.as_deref(),
            Some("http://www.w3.org/2000/09/xmldsig#sha256")
        );
        assert_eq!(
            h.value.as_deref(),
            Some("nY4HDmpDGCawVpzT4PPY37NmlGtU+WDcSGctfJ0va4c=")
        );
        assert_eq!(m.files[1].destination_path, None);
        assert_eq!(m.files[1].hash, None);
    }

    #[test]
    fn prefixes_do_not_matter_only_namespaces() {
        // Other prefixes, xmlns:dsig repeated on each element, and a default namespace for dsig.
        let doc = "\u{feff}<a:assembly xmlns:a=\"urn:schemas-microsoft-com:asm.v3\"><a:assemblyIdentity name=\"N\" version=\"1.0.0.0\"/>\
<a:file name=\"f.dll\"><h:hash xmlns:h=\"urn:schemas-microsoft-com:asm.v2\">\
<x:Transforms xmlns:x=\"http://www.w3.org/2000/09/xmldsig#\"><x:Transform Algorithm=\"urn:schemas-microsoft-com:HashTransforms.Identity\"/></x:Transforms>\
<DigestMethod xmlns=\"http://www.w3.org/2000/09/xmldsig#\" Algorithm=\"http://www.w3.org/2000/09/xmldsig#sha1\"/>\
<y:DigestValue xmlns:y=\"http://www.w3.org/2000/09/xmldsig#\">AAAA&#65;AAAAAAAAAAAAAAAAAAAAAA=</y:DigestValue></h:hash></a:file></a:assembly>";
        let m = parse(doc.as_bytes()).unwrap();
        let h = m.files[0].hash.as_ref().unwrap();
        assert_eq!(
            h.method.as_deref(),
            Some("http://www.w3.org/2000/09/xmldsig#sha1")
        );
        assert_eq!(h.value.as_deref(), Some("AAAAAAAAAAAAAAAAAAAAAAAAAAA="));
        assert_eq!(h.transforms.len(), 1);
    }

    #[test]
    fn wrong_namespace_is_not_a_digest() {
        // A DigestValue outside the xmldsig namespace must not be taken.
        let doc = "<assembly xmlns=\"urn:schemas-microsoft-com:asm.v3\"><assemblyIdentity name=\"N\"/>\
<file name=\"f\"><hash xmlns=\"urn:schemas-microsoft-com:asm.v2\"><DigestValue>AAAA</DigestValue></hash></file></assembly>";
        let m = parse(doc.as_bytes()).unwrap();
        assert_eq!(m.files[0].hash.as_ref().unwrap().value, None);
    }

    #[test]
    fn legacy_v1_with_hash_attribute() {
        let doc = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<assembly xmlns=\"urn:schemas-microsoft-com:asm.v1\" manifestVersion=\"1.0\">\
<noInheritable/><assemblyIdentity type=\"win32\" name=\"Microsoft.VC90.CRT\" version=\"9.0.30729.6161\" processorArchitecture=\"amd64\" publicKeyToken=\"1fc8b3b9a1e18e3b\"/>\
<file name=\"msvcr90.dll\" hashalg=\"SHA1\" hash=\"e0dcdcbfcb452747da530fae6b000d47c8674671\"><asmv2:hash xmlns:asmv2=\"urn:schemas-microsoft-com:asm.v2\" xmlns:dsig=\"http://www.w3.org/2000/09/xmldsig#\">\
<dsig:Transforms><dsig:Transform Algorithm=\"urn:schemas-microsoft-com:HashTransforms.Identity\"></dsig:Transform></dsig:Transforms>\
<dsig:DigestMethod Algorithm=\"http://www.w3.org/2000/09/xmldsig#sha1\"></dsig:DigestMethod><dsig:DigestValue>KSaO8M0iCtPF6YEr79P1dZsnomY=</dsig:DigestValue></asmv2:hash></file></assembly>";
        let m = parse(doc.as_bytes()).unwrap();
        assert_eq!(m.schema, Schema::V1);
        assert_eq!(m.identity.type_.as_deref(), Some("win32"));
        assert_eq!(
            m.files[0].legacy_hash.as_deref(),
            Some("e0dcdcbfcb452747da530fae6b000d47c8674671")
        );
        assert_eq!(
            m.files[0].hash.as_ref().unwrap().value.as_deref(),
            Some("KSaO8M0iCtPF6YEr79P1dZsnomY=")
        );
    }

    #[test]
    fn utf16_with_bom() {
        let doc = "<assembly xmlns=\"urn:schemas-microsoft-com:asm.v3\"><assemblyIdentity name=\"Ü\"/></assembly>";
        let mut bytes = vec![0xFF, 0xFE];
        bytes.extend(doc.encode_utf16().flat_map(|u| u.to_le_bytes()));
        assert_eq!(parse(&bytes).unwrap().identity.name.as_deref(), Some("Ü"));
    }

    #[test]
    fn rejections() {
        let ok_head = "<assembly xmlns=\"urn:schemas-microsoft-com:asm.v3\">";
        assert_eq!(parse(b""), Err(ManifestError::Empty));
        assert!(matches!(
            parse(&[0x00, 0xFF, 0x13, 0x37]),
            Err(ManifestError::Encoding(_)
                | ManifestError::Xml { .. }
                | ManifestError::NotAssembly(_))
        ));
        assert!(matches!(
            parse(b"<html/>"),
            Err(ManifestError::NotAssembly(_))
        ));
        assert_eq!(
            parse(format!("{ok_head}</assembly>").as_bytes()),
            Err(ManifestError::NoIdentity)
        );
        assert!(matches!(
            parse(format!("{ok_head}<assemblyIdentity name=\"a\"/>").as_bytes()),
            Err(ManifestError::Xml { .. })
        ));
        assert_eq!(
            parse(format!("{ok_head}<assemblyIdentity name=\"a\"/><file/></assembly>").as_bytes()),
            Err(ManifestError::FileWithoutName)
        );
        assert_eq!(
            parse(b"<!DOCTYPE x [<!ENTITY a \"b\">]><assembly/>"),
            Err(ManifestError::DocType)
        );
        let deep = format!(
            "{ok_head}<assemblyIdentity name=\"a\"/>{}",
            "<x>".repeat(MAX_DEPTH + 1)
        );
        assert!(matches!(
            parse(deep.as_bytes()),
            Err(ManifestError::Limit(_))
        ));
        assert!(matches!(
            parse(format!("{ok_head}<assemblyIdentity name=\"&bogus;\"/></assembly>").as_bytes()),
            Ok(_) | Err(_)
        ));
    }

    #[test]
    fn every_prefix_of_a_manifest_is_an_error_or_a_subset() {
        for n in 0..V3.len() {
            if let Ok(m) = parse(&V3.as_bytes()[..n]) {
                panic!("prefix {n} parsed: {m:?}");
            }
        }
    }

    #[test]
    fn names_stay_inside_the_component() {
        assert_eq!(
            name_components("Amd64\\X.DPB").unwrap(),
            vec!["Amd64", "X.DPB"]
        );
        for bad in [
            "..\\x",
            "a\\..\\..\\b",
            "\\abs",
            "C:\\x",
            "a\\\\b",
            "a/./b",
            "f.dll:stream",
        ] {
            assert!(name_components(bad).is_err(), "{bad}");
        }
    }
}

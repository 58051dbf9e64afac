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
//!
//! How: our tokenizer ([`super::xml`]: tokens borrowed from the decoded text, read as
//! quick-xml's `Reader` reads it and tested against it), with the namespace scopes and the
//! attribute scan written here; quick-xml still normalises attribute values, resolves
//! character references and reads the rare tag the fast attribute scan declines. quick-xml's
//! `NsReader` did the same work at more than twice the cost per manifest (an attribute pass per
//! element for declarations, a String per resolved name, one checked attribute pass per wanted
//! attribute, every event's bytes checked as UTF-8 again), and an image has ~20,000 manifests.
//! What is kept exactly as `NsReader` behaves, and tested against it on mutated documents:
//! - scopes: `xmlns` / `xmlns:p` on an element apply to it and its descendants; the raw value
//!   is the URI; `xmlns=""` and `xmlns:p=""` leave a name in no namespace; an undeclared prefix
//!   is no namespace, not an error; `xml` is bound from the start; binding `xmlns`, binding
//!   `xml` elsewhere, binding a prefix to the `xml` or `xmlns` URI, and more than
//!   `MAX_BINDINGS` bindings in scope are XML errors with quick-xml's messages; declarations
//!   after a malformed attribute are not read; `xmlns:="..."` (an empty prefix) declares the
//!   default namespace, as quick-xml reads it;
//! - attributes: quick-xml's tokenisation (whitespace is space, tab, CR, LF); of a duplicated
//!   name the first wins; a prefixed name is not the unprefixed one; values are normalised by
//!   quick-xml (entities, character references, whitespace), and a value it cannot normalise
//!   counts as absent. A tag with a malformed or duplicated attribute, or more than
//!   `MAX_FAST_ATTRS`, is read with quick-xml's own checked iterator, whose error recovery
//!   decides which attributes follow.

use std::borrow::Cow;

use quick_xml::events::attributes::Attribute;
use quick_xml::events::{BytesRef, BytesStart};
use quick_xml::name::{NamespaceError, QName};

use super::xml::{excerpt, is_ws, Tag, Token, Tokenizer};

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

/// An attribute value or a text: borrowed from the manifest's text unless unescaping changed
/// it (or the text was UTF-16). A manifest has some 20 values a file, and an image 20,000
/// manifests: owning each was a fifth of the audit's allocations.
pub type Text<'a> = Cow<'a, str>;

/// `<assemblyIdentity>` attributes that make up the keyform.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity<'a> {
    /// `name`.
    pub name: Option<Text<'a>>,
    /// `version`.
    pub version: Option<Text<'a>>,
    /// `processorArchitecture`.
    pub processor_architecture: Option<Text<'a>>,
    /// `language` (the culture).
    pub language: Option<Text<'a>>,
    /// `type`, e.g. `win32`, `dualModeDriver`.
    pub type_: Option<Text<'a>>,
    /// `publicKeyToken`.
    pub public_key_token: Option<Text<'a>>,
    /// `versionScope`, e.g. `nonSxS`.
    pub version_scope: Option<Text<'a>>,
    /// `buildType`.
    pub build_type: Option<Text<'a>>,
}

/// The `<asmv2:hash>` element of a file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HashSpec<'a> {
    /// Every `Transform@Algorithm`.
    pub transforms: Vec<Text<'a>>,
    /// `DigestMethod@Algorithm`.
    pub method: Option<Text<'a>>,
    /// `DigestValue` text (base64).
    pub value: Option<Text<'a>>,
}

/// One `<file>` of a manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileEntry<'a> {
    /// `name`: the path inside the component folder, `\`-separated.
    pub name: Text<'a>,
    /// `destinationPath`, where the file is projected; absent for store-only files.
    pub destination_path: Option<Text<'a>>,
    /// `sourceName`.
    pub source_name: Option<Text<'a>>,
    /// `writeableType` (mutable files are not scanned by SFC).
    pub writeable_type: Option<Text<'a>>,
    /// The `asm.v2` hash element.
    pub hash: Option<HashSpec<'a>>,
    /// The legacy `hash=` attribute (an undocumented digest: never compared).
    pub legacy_hash: Option<Text<'a>>,
}

/// A parsed manifest, borrowing from the text it was parsed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest<'a> {
    /// The root element's schema.
    pub schema: Schema,
    /// The assembly's own identity.
    pub identity: Identity<'a>,
    /// Its files, in document order.
    pub files: Vec<FileEntry<'a>>,
}

/// A value that no longer borrows.
fn own(t: Text<'_>) -> Text<'static> {
    Cow::Owned(t.into_owned())
}

impl Identity<'_> {
    /// The same identity, owning its values.
    pub fn into_owned(self) -> Identity<'static> {
        Identity {
            name: self.name.map(own),
            version: self.version.map(own),
            processor_architecture: self.processor_architecture.map(own),
            language: self.language.map(own),
            type_: self.type_.map(own),
            public_key_token: self.public_key_token.map(own),
            version_scope: self.version_scope.map(own),
            build_type: self.build_type.map(own),
        }
    }
}

impl Manifest<'_> {
    /// The same manifest, owning its values.
    pub fn into_owned(self) -> Manifest<'static> {
        Manifest {
            schema: self.schema,
            identity: self.identity.into_owned(),
            files: self
                .files
                .into_iter()
                .map(|f| FileEntry {
                    name: own(f.name),
                    destination_path: f.destination_path.map(own),
                    source_name: f.source_name.map(own),
                    writeable_type: f.writeable_type.map(own),
                    hash: f.hash.map(|h| HashSpec {
                        transforms: h.transforms.into_iter().map(own).collect(),
                        method: h.method.map(own),
                        value: h.value.map(own),
                    }),
                    legacy_hash: f.legacy_hash.map(own),
                })
                .collect(),
        }
    }
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

/// The URI quick-xml reserves for the `xml` prefix.
const NS_XML: &str = "http://www.w3.org/XML/1998/namespace";
/// The URI of `xmlns` declarations, which no prefix may be bound to.
const NS_XMLNS: &str = "http://www.w3.org/2000/xmlns/";

/// User namespace bindings in scope at once before the document is refused: quick-xml's
/// `NsReader` limit, kept so hostile input fails as it did (real manifests declare 3 or 4).
const MAX_BINDINGS: usize = quick_xml::name::DEFAULT_MAX_NAMESPACE_BINDINGS;

/// Attributes an element may carry for the single-pass fast path (an identity has 8); a longer
/// tag goes through quick-xml's attribute iterator, whose duplicate check is not quadratic.
const MAX_FAST_ATTRS: usize = 32;

/// A namespace URI, classified once when it is declared rather than compared per element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ns {
    /// No namespace: unprefixed without a default namespace, an undeclared prefix, `xmlns=""`.
    None,
    AsmV1,
    AsmV2,
    AsmV3,
    Dsig,
    Other,
}

impl Ns {
    fn of(uri: &str) -> Ns {
        match uri {
            "" => Ns::None,
            NS_ASM_V1 => Ns::AsmV1,
            NS_ASM_V2 => Ns::AsmV2,
            NS_ASM_V3 => Ns::AsmV3,
            NS_DSIG => Ns::Dsig,
            _ => Ns::Other,
        }
    }

    fn is_asm(self) -> bool {
        matches!(self, Ns::AsmV1 | Ns::AsmV2 | Ns::AsmV3)
    }
}

/// One `xmlns` / `xmlns:p` declaration in scope; prefix and URI live in [`Scopes::buf`].
struct Binding {
    start: usize,
    /// 0 for the default namespace, and for the odd `xmlns:="..."`, which quick-xml (hence
    /// this) takes as a default-namespace declaration.
    prefix_len: usize,
    uri_len: usize,
    /// The element depth that declared it.
    level: usize,
    ns: Ns,
}

/// The namespace bindings in scope, resolved exactly as quick-xml's `NamespaceResolver` does
/// (same reserved-prefix errors, same binding limit, `xmlns:p=""` unbinds, the raw attribute
/// value is the URI), without its per-element costs: one buffer per document, URIs classified
/// at declaration.
struct Scopes {
    buf: String,
    bindings: Vec<Binding>,
    level: usize,
}

impl Scopes {
    fn new() -> Self {
        // Room for the 3 or 4 declarations of a manifest, so no per-element growth.
        Scopes {
            buf: String::with_capacity(256),
            bindings: Vec::with_capacity(8),
            level: 0,
        }
    }

    /// Open an element whose attributes (after the name) are `attrs`. As quick-xml does, the
    /// declarations read are those before the first malformed attribute.
    fn push(&mut self, attrs: &str) -> Result<(), NamespaceError> {
        // quick-xml counts levels in a u16; MAX_DEPTH stops documents long before that.
        if self.level >= usize::from(u16::MAX) {
            return Err(NamespaceError::TooDeeplyNested(usize::from(u16::MAX)));
        }
        self.level += 1;
        // Most tags declare nothing; a declaration's key must contain the text "xmlns".
        if !attrs.contains("xmlns") {
            return Ok(());
        }
        for attr in AttrScan::new(attrs) {
            let Ok((key, uri)) = attr else { break };
            let Some(rest) = key.strip_prefix("xmlns") else {
                continue;
            };
            match rest.strip_prefix(':') {
                None if rest.is_empty() => self.add("", uri)?,
                None => {}
                Some("xml") if uri != NS_XML => {
                    return Err(NamespaceError::InvalidXmlPrefixBind(uri.to_string()))
                }
                // `xml` bound to its own URI: allowed, and already bound.
                Some("xml") => {}
                Some("xmlns") => {
                    return Err(NamespaceError::InvalidXmlnsPrefixBind(uri.to_string()))
                }
                Some(prefix) => {
                    if uri == NS_XML {
                        return Err(NamespaceError::InvalidPrefixForXml(prefix.to_string()));
                    }
                    if uri == NS_XMLNS {
                        return Err(NamespaceError::InvalidPrefixForXmlns(prefix.to_string()));
                    }
                    self.add(prefix, uri)?;
                }
            }
        }
        Ok(())
    }

    fn add(&mut self, prefix: &str, uri: &str) -> Result<(), NamespaceError> {
        if self.bindings.len() >= MAX_BINDINGS {
            return Err(NamespaceError::TooManyBindings(MAX_BINDINGS));
        }
        self.bindings.push(Binding {
            start: self.buf.len(),
            prefix_len: prefix.len(),
            uri_len: uri.len(),
            level: self.level,
            ns: Ns::of(uri),
        });
        self.buf.push_str(prefix);
        self.buf.push_str(uri);
        Ok(())
    }

    /// Close the innermost element, dropping its declarations.
    fn pop(&mut self) {
        self.level = self.level.saturating_sub(1);
        let keep = self
            .bindings
            .iter()
            .rposition(|b| b.level <= self.level)
            .map_or(0, |i| i + 1);
        if let Some(first_gone) = self.bindings.get(keep) {
            self.buf.truncate(first_gone.start);
            self.bindings.truncate(keep);
        }
    }

    /// The namespace of an element name with this prefix, and its URI ("" when none).
    fn resolve(&self, prefix: Option<&str>) -> (Ns, &str) {
        let uri = |b: &Binding| {
            let at = b.start + b.prefix_len;
            self.buf.get(at..at + b.uri_len).unwrap_or("")
        };
        match prefix {
            None => match self.bindings.iter().rev().find(|b| b.prefix_len == 0) {
                Some(b) if b.uri_len != 0 => (b.ns, uri(b)),
                _ => (Ns::None, ""),
            },
            Some(p) => {
                let found = self.bindings.iter().rev().find(|b| {
                    b.prefix_len != 0 && self.buf.get(b.start..b.start + b.prefix_len) == Some(p)
                });
                match found {
                    Some(b) if b.uri_len != 0 => (b.ns, uri(b)),
                    // Unbound again by `xmlns:p=""`.
                    Some(_) => (Ns::None, ""),
                    // The two prefixes bound from the start, which no declaration can rebind.
                    None if p == "xml" => (Ns::Other, NS_XML),
                    None if p == "xmlns" => (Ns::Other, NS_XMLNS),
                    None => (Ns::None, ""),
                }
            }
        }
    }
}

/// The attributes of a tag, tokenised exactly as quick-xml's `Attributes` iterator in XML mode
/// without duplicate checks, up to the first malformed attribute (after which it stops: callers
/// that need quick-xml's error recovery use quick-xml). Yields `(key, raw value)`.
struct AttrScan<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> AttrScan<'a> {
    fn new(s: &'a str) -> Self {
        AttrScan { s, pos: 0 }
    }
}

/// The first `needle` in `hay`, eight bytes at a time: attribute values (URIs, paths, digests)
/// are most of a tag's bytes, and a byte loop over them dominated the tag scan.
fn find_byte(hay: &[u8], needle: u8) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let pattern = LO * u64::from(needle);
    let mut chunks = hay.chunks_exact(8);
    let mut base = 0;
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(<[u8; 8]>::try_from(chunk).unwrap_or_default()) ^ pattern;
        // A byte of `word` is zero where `hay` holds `needle`; the lowest flagged byte is exact
        // (the borrow only causes false flags above a true one).
        let zero = word.wrapping_sub(LO) & !word & HI;
        if zero != 0 {
            return Some(base + (zero.trailing_zeros() / 8) as usize);
        }
        base += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == needle)
        .map(|p| base + p)
}

impl<'a> Iterator for AttrScan<'a> {
    /// `Err(())`: malformed; the scan is over.
    type Item = Result<(&'a str, &'a str), ()>;

    fn next(&mut self) -> Option<Self::Item> {
        let s = self.s.as_bytes();
        let at = |i: usize| s.get(i).copied();
        let mut i = self.pos;
        while at(i).is_some_and(is_ws) {
            i += 1;
        }
        if i >= s.len() {
            self.pos = usize::MAX;
            return None;
        }
        // Every malformed case ends the scan.
        self.pos = usize::MAX;
        let key_start = i;
        // As in quick-xml the first character belongs to the key whatever it is, even `=`.
        i += 1;
        i += s.get(i..).map_or(0, key_len);
        let key_end = i;
        while at(i).is_some_and(is_ws) {
            i += 1;
        }
        if at(i) != Some(b'=') {
            return Some(Err(()));
        }
        i += 1;
        while at(i).is_some_and(is_ws) {
            i += 1;
        }
        let quote = match at(i) {
            Some(q @ (b'"' | b'\'')) => q,
            _ => return Some(Err(())),
        };
        let value_start = i + 1;
        let Some(len) = s.get(value_start..).and_then(|v| find_byte(v, quote)) else {
            return Some(Err(()));
        };
        let value_end = value_start + len;
        match (
            self.s.get(key_start..key_end),
            self.s.get(value_start..value_end),
        ) {
            (Some(key), Some(value)) => {
                self.pos = value_end + 1;
                Some(Ok((key, value)))
            }
            _ => Some(Err(())),
        }
    }
}

/// The length of the attribute key at the start of `hay`: up to `=` or whitespace.
fn key_len(hay: &[u8]) -> usize {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let mut chunks = hay.chunks_exact(8);
    let mut base = 0;
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(<[u8; 8]>::try_from(chunk).unwrap_or_default());
        let eq = word ^ (LO * u64::from(b'='));
        // An `=` or a byte below 33 (whitespace, or a control byte the byte loop passes over).
        if (eq.wrapping_sub(LO) & !eq | word.wrapping_sub(LO * 33) & !word) & HI != 0 {
            break;
        }
        base += 8;
    }
    hay.get(base..)
        .and_then(|tail| tail.iter().position(|&b| b == b'=' || is_ws(b)))
        .map_or(hay.len(), |p| base + p)
}

/// Whether `value` holds a byte that XML 1.0 attribute-value normalisation acts on (`&`, tab,
/// CR, LF); may say yes for other control bytes, which quick-xml then handles exactly. Eight
/// bytes at a time: most values (paths, versions, URIs) have none.
fn may_need_normalizing(value: &[u8]) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let flagged = |word: u64| {
        let amp = word ^ (LO * u64::from(b'&'));
        // Zero bytes of `amp` (an `&`) and bytes below 14 (tab, LF, CR and a few others).
        (amp.wrapping_sub(LO) & !amp & HI) | (word.wrapping_sub(LO * 14) & !word & HI) != 0
    };
    let mut chunks = value.chunks_exact(8);
    for chunk in &mut chunks {
        if flagged(u64::from_le_bytes(
            <[u8; 8]>::try_from(chunk).unwrap_or_default(),
        )) {
            return true;
        }
    }
    chunks.remainder().iter().any(|&b| b == b'&' || b < 14)
}

/// `tag` for quick-xml's checked attribute iterator.
fn checked(tag: Tag<'_>) -> BytesStart<'_> {
    BytesStart::from_content(tag.content, tag.name_len)
}

/// The attribute value as quick-xml normalises it (entities, whitespace); malformed counts as
/// absent: the element-level checks (a missing name, an unparsable digest) then report it.
fn normalized<'a>(key: &str, value: &'a str) -> Option<Text<'a>> {
    if !may_need_normalizing(value.as_bytes()) {
        return Some(Cow::Borrowed(value));
    }
    Attribute {
        key: QName(key),
        value: Cow::Borrowed(value),
    }
    .normalized_value(quick_xml::XmlVersion::Implicit1_0)
    .ok()
    .map(own)
}

/// The unprefixed attributes `names` of `tag`, unescaped, in one pass. As with quick-xml's
/// checked iterator: the first occurrence of a name wins, malformed attributes are skipped.
fn attrs<'a, const N: usize>(tag: Tag<'a>, names: [&str; N]) -> [Option<Text<'a>>; N] {
    let raw = tag.attrs();
    let mut out: [Option<Text<'a>>; N] = std::array::from_fn(|_| None);
    const { assert!(N <= 32, "the names must fit the `seen` bits") };
    // Bit i: names[i] was met.
    let mut seen = 0u32;
    let mut keys = [""; MAX_FAST_ATTRS];
    for (count, attr) in AttrScan::new(raw).enumerate() {
        // quick-xml recovers from a malformed or duplicated attribute in ways that can shift
        // how the rest of the tag is read: leave such tags to it.
        let Ok((key, value)) = attr else {
            return attrs_checked(&checked(tag), names);
        };
        if keys.get(..count).is_some_and(|k| k.contains(&key)) {
            return attrs_checked(&checked(tag), names);
        }
        let Some(slot) = keys.get_mut(count) else {
            return attrs_checked(&checked(tag), names);
        };
        *slot = key;
        if key.as_bytes().contains(&b':') {
            continue;
        }
        if let Some(i) = names.iter().position(|n| *n == key) {
            if seen & (1 << i) == 0 {
                seen |= 1 << i;
                if let Some(o) = out.get_mut(i) {
                    *o = normalized(key, value);
                }
            }
        }
    }
    out
}

/// [`attrs`] through quick-xml's checked attribute iterator, for tags the fast path declines.
#[cold]
fn attrs_checked<const N: usize>(
    e: &BytesStart<'_>,
    names: [&str; N],
) -> [Option<Text<'static>>; N] {
    let mut out: [Option<Text<'static>>; N] = std::array::from_fn(|_| None);
    const { assert!(N <= 32, "the names must fit the `seen` bits") };
    // Bit i: names[i] was met.
    let mut seen = 0u32;
    for a in e.attributes().flatten() {
        if a.key.prefix().is_some() {
            continue;
        }
        let local = a.key.local_name();
        if let Some(i) = names.iter().position(|n| *n == local.as_ref()) {
            if seen & (1 << i) != 0 {
                continue;
            }
            seen |= 1 << i;
            if let Some(o) = out.get_mut(i) {
                *o = a
                    .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .ok()
                    .map(own);
            }
        }
    }
    out
}

/// Parse a plain-XML manifest.
pub fn parse(bytes: &[u8]) -> Result<Manifest<'_>, ManifestError> {
    match decode_text(bytes)? {
        Cow::Borrowed(text) => parse_text(text),
        Cow::Owned(text) => parse_text(&text).map(Manifest::into_owned),
    }
}

/// [`parse`] of the decoded text.
fn parse_text(text: &str) -> Result<Manifest<'_>, ManifestError> {
    let mut tokens = Tokenizer::new(text);
    let mut scopes = Scopes::new();
    let mut stack: Vec<Elem> = Vec::with_capacity(16);
    let mut schema = None;
    let mut identity: Option<Identity> = None;
    let mut files: Vec<FileEntry> = Vec::new();
    loop {
        // Where the token starts: the position an error in it is reported at.
        let at = tokens.position();
        let token = match tokens.next() {
            None => break,
            Some(Ok(token)) => token,
            Some(Err(e)) => {
                return Err(ManifestError::Xml {
                    position: e.position as u64,
                    message: e.message,
                })
            }
        };
        match token {
            Token::Start { tag, empty } => {
                let qname = tag.name();
                if let Err(ns_err) = scopes.push(tag.attrs()) {
                    return Err(ManifestError::Xml {
                        position: at as u64,
                        message: quick_xml::Error::Namespace(ns_err).to_string(),
                    });
                }
                // A byte search: `split_once` on a char pattern costs more on names this short.
                let (prefix, local) = match qname.bytes().position(|b| b == b':') {
                    Some(colon) => (qname.get(..colon), qname.get(colon + 1..).unwrap_or("")),
                    None => (None, qname),
                };
                let (ns, uri) = scopes.resolve(prefix);
                let parent = stack.last().copied();
                let elem = match parent {
                    None => {
                        if local != "assembly" || !ns.is_asm() {
                            return Err(ManifestError::NotAssembly(format!(
                                "{} in namespace {:?}",
                                local, uri
                            )));
                        }
                        schema = Some(if ns == Ns::AsmV1 {
                            Schema::V1
                        } else {
                            Schema::V3
                        });
                        Elem::Assembly
                    }
                    Some(Elem::Assembly) if ns.is_asm() && local == "assemblyIdentity" => {
                        if identity.is_none() {
                            identity = Some(read_identity(tag));
                        }
                        Elem::Other
                    }
                    Some(Elem::Assembly) if ns.is_asm() && local == "file" => {
                        if files.len() >= MAX_FILES {
                            return Err(ManifestError::Limit(
                                "more than MAX_FILES <file> elements",
                            ));
                        }
                        files.push(read_file(tag)?);
                        Elem::File
                    }
                    Some(Elem::File) if ns == Ns::AsmV2 && local == "hash" => {
                        if let Some(f) = files.last_mut() {
                            f.hash.get_or_insert_with(HashSpec::default);
                        }
                        Elem::Hash
                    }
                    Some(Elem::Hash) if ns == Ns::Dsig => match local {
                        "Transforms" => Elem::Transforms,
                        "DigestMethod" => {
                            if let Some(h) = files.last_mut().and_then(|f| f.hash.as_mut()) {
                                let [method] = attrs(tag, ["Algorithm"]);
                                h.method = method;
                            }
                            Elem::Other
                        }
                        "DigestValue" => {
                            if let Some(h) = files.last_mut().and_then(|f| f.hash.as_mut()) {
                                h.value.get_or_insert(Cow::Borrowed(""));
                            }
                            Elem::DigestValue
                        }
                        _ => Elem::Other,
                    },
                    Some(Elem::Transforms) if ns == Ns::Dsig && local == "Transform" => {
                        if let Some(h) = files.last_mut().and_then(|f| f.hash.as_mut()) {
                            if let [Some(a)] = attrs(tag, ["Algorithm"]) {
                                h.transforms.push(a);
                            }
                        }
                        Elem::Other
                    }
                    _ => Elem::Other,
                };
                if empty {
                    scopes.pop();
                } else {
                    if stack.len() >= MAX_DEPTH {
                        return Err(ManifestError::Limit(
                            "elements nested deeper than MAX_DEPTH",
                        ));
                    }
                    stack.push(elem);
                }
            }
            Token::End => {
                stack.pop();
                scopes.pop();
            }
            Token::Text(chunk) | Token::CData(chunk) => {
                if stack.last() == Some(&Elem::DigestValue) {
                    if let Some(v) = files
                        .last_mut()
                        .and_then(|f| f.hash.as_mut())
                        .and_then(|h| h.value.as_mut())
                    {
                        // A value in one piece (the usual) is borrowed; pieces split by a
                        // character reference are joined.
                        if v.is_empty() {
                            *v = Cow::Borrowed(chunk);
                        } else {
                            v.to_mut().push_str(chunk);
                        }
                    }
                }
            }
            Token::Ref(name) => {
                // `&amp;`-style references inside text. Only predefined entities and character
                // references exist without a DTD; anything else is malformed.
                let xml_err = |message: String| ManifestError::Xml {
                    position: at as u64,
                    message,
                };
                let ch = match BytesRef::new(name).resolve_char_ref() {
                    Ok(Some(c)) => c,
                    Ok(None) => predefined_entity(name)
                        .ok_or_else(|| xml_err(format!("unknown entity &{};", excerpt(name))))?,
                    Err(e) => return Err(xml_err(e.to_string())),
                };
                if stack.last() == Some(&Elem::DigestValue) {
                    if let Some(v) = files
                        .last_mut()
                        .and_then(|f| f.hash.as_mut())
                        .and_then(|h| h.value.as_mut())
                    {
                        v.to_mut().push(ch);
                    }
                }
            }
            Token::DocType => return Err(ManifestError::DocType),
        }
    }
    if !stack.is_empty() {
        return Err(ManifestError::Xml {
            position: text.len() as u64,
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

fn read_identity(tag: Tag<'_>) -> Identity<'_> {
    let [name, version, processor_architecture, language, type_, public_key_token, version_scope, build_type] =
        attrs(
            tag,
            [
                "name",
                "version",
                "processorArchitecture",
                "language",
                "type",
                "publicKeyToken",
                "versionScope",
                "buildType",
            ],
        );
    Identity {
        name,
        version,
        processor_architecture,
        language,
        type_,
        public_key_token,
        version_scope,
        build_type,
    }
}

fn read_file(tag: Tag<'_>) -> Result<FileEntry<'_>, ManifestError> {
    let [name, destination_path, source_name, writeable_type, legacy_hash] = attrs(
        tag,
        [
            "name",
            "destinationPath",
            "sourceName",
            "writeableType",
            "hash",
        ],
    );
    let name = name
        .filter(|n| !n.is_empty())
        .ok_or(ManifestError::FileWithoutName)?;
    Ok(FileEntry {
        name,
        destination_path,
        source_name,
        writeable_type,
        hash: None,
        legacy_hash,
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

/// The five entities XML predefines; without a DTD (which we refuse) there are no others.
fn predefined_entity(name: &str) -> Option<char> {
    Some(match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "apos" => '\'',
        "quot" => '"',
        _ => return None,
    })
}
#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use sxs_testdata::Rng;

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
    fn values_borrow_from_the_text_unless_unescaped() {
        let doc = concat!(
            "<assembly xmlns=\"urn:schemas-microsoft-com:asm.v3\">",
            "<assemblyIdentity name=\"a&amp;b\" version=\"1.0\"/>",
            "<file name=\"x.dll\"><asmv2:hash xmlns:asmv2=\"urn:schemas-microsoft-com:asm.v2\" ",
            "xmlns:dsig=\"http://www.w3.org/2000/09/xmldsig#\">",
            "<dsig:DigestMethod Algorithm=\"sha\"/><dsig:DigestValue>AAAA</dsig:DigestValue>",
            "</asmv2:hash></file>",
            "<file name=\"y.dll\"><asmv2:hash xmlns:asmv2=\"urn:schemas-microsoft-com:asm.v2\" ",
            "xmlns:dsig=\"http://www.w3.org/2000/09/xmldsig#\">",
            "<dsig:DigestValue>BB&#66;B</dsig:DigestValue></asmv2:hash></file></assembly>"
        );
        let m = parse(doc.as_bytes()).unwrap();
        assert!(matches!(&m.identity.name, Some(Cow::Owned(n)) if n == "a&b"));
        assert!(matches!(m.identity.version, Some(Cow::Borrowed("1.0"))));
        assert!(matches!(m.files[0].name, Cow::Borrowed("x.dll")));
        let hash = |i: usize| m.files[i].hash.clone().unwrap();
        assert!(matches!(hash(0).method, Some(Cow::Borrowed("sha"))));
        assert!(matches!(hash(0).value, Some(Cow::Borrowed("AAAA"))));
        // Split by a character reference: joined, so owned.
        assert!(matches!(hash(1).value, Some(Cow::Owned(v)) if v == "BBBB"));
        // UTF-16 text is decoded into a buffer of its own: every value is owned.
        let mut utf16 = vec![0xFF, 0xFE];
        utf16.extend(doc.encode_utf16().flat_map(|u| u.to_le_bytes()));
        let owned = parse(&utf16).unwrap();
        assert_eq!(owned, m);
        assert!(matches!(owned.files[0].name, Cow::Owned(_)));
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
    fn child_redeclaring_the_default_namespace() {
        // A child that moves the default namespace elsewhere is not ours, and its scope ends
        // with it; `xmlns=""` leaves no namespace at all.
        let doc = "<assembly xmlns=\"urn:schemas-microsoft-com:asm.v3\"><assemblyIdentity name=\"N\"/>\
<file xmlns=\"urn:other\" name=\"other.dll\"/>\
<file name=\"kept.dll\"><hash xmlns=\"urn:schemas-microsoft-com:asm.v2\">\
<DigestMethod xmlns=\"http://www.w3.org/2000/09/xmldsig#\" Algorithm=\"m\"/></hash></file>\
<file xmlns=\"\" name=\"unbound.dll\"/>\
<dependency xmlns=\"urn:other\"><file xmlns=\"urn:schemas-microsoft-com:asm.v3\" name=\"nested.dll\"/></dependency>\
<file name=\"last.dll\"/></assembly>";
        let m = parse(doc.as_bytes()).unwrap();
        let names: Vec<&str> = m.files.iter().map(|f| &*f.name).collect();
        assert_eq!(names, ["kept.dll", "last.dll"]);
        assert_eq!(
            m.files[0].hash.as_ref().unwrap().method.as_deref(),
            Some("m")
        );
    }

    #[test]
    fn any_prefix_bound_to_the_schema_counts() {
        // `cmi` is not `asmv3`, and `p` means asm.v3 only on the element that says so.
        let doc = "<assembly xmlns=\"urn:schemas-microsoft-com:asm.v1\" xmlns:cmi=\"urn:schemas-microsoft-com:asm.v3\" xmlns:p=\"urn:other\">\
<cmi:assemblyIdentity name=\"N\" version=\"1.0.0.0\"/>\
<cmi:file name=\"a.dll\"/><p:file name=\"not-ours.dll\"/>\
<p:file xmlns:p=\"urn:schemas-microsoft-com:asm.v3\" name=\"b.dll\"/>\
<p:file name=\"again-not-ours.dll\"/></assembly>";
        let m = parse(doc.as_bytes()).unwrap();
        assert_eq!(m.schema, Schema::V1);
        assert_eq!(m.identity.version.as_deref(), Some("1.0.0.0"));
        let names: Vec<&str> = m.files.iter().map(|f| &*f.name).collect();
        assert_eq!(names, ["a.dll", "b.dll"]);
    }

    #[test]
    fn file_in_an_unknown_namespace_is_ignored() {
        let doc =
            "<assembly xmlns=\"urn:schemas-microsoft-com:asm.v3\"><assemblyIdentity name=\"N\"/>\
<o:file xmlns:o=\"urn:other\" name=\"other.dll\"/>\
<z:file name=\"undeclared-prefix.dll\"/>\
<file xmlns=\"urn:schemas-microsoft-com:asm.v3.x\" name=\"near-miss.dll\"/>\
<q:file xmlns:q=\"\" name=\"unbound-prefix.dll\"/>\
<file name=\"f.dll\"/></assembly>";
        let m = parse(doc.as_bytes()).unwrap();
        let names: Vec<&str> = m.files.iter().map(|f| &*f.name).collect();
        assert_eq!(names, ["f.dll"]);
        // Nor is a root in no namespace an assembly.
        assert_eq!(
            parse(b"<z:assembly><assemblyIdentity name=\"N\"/></z:assembly>"),
            Err(ManifestError::NotAssembly(
                "assembly in namespace \"\"".into()
            ))
        );
    }

    #[test]
    fn first_of_duplicated_attributes_wins() {
        let doc = "<assembly xmlns=\"urn:schemas-microsoft-com:asm.v3\">\
<assemblyIdentity name=\"first\" name=\"second\" version=\"1\" x:name=\"prefixed\"/>\
<file name=\"a.dll\" name=\"\" sourceName=\"s\"/></assembly>";
        let m = parse(doc.as_bytes()).unwrap();
        assert_eq!(m.identity.name.as_deref(), Some("first"));
        assert_eq!(m.identity.version.as_deref(), Some("1"));
        assert_eq!(m.files[0].name, "a.dll");
        assert_eq!(m.files[0].source_name.as_deref(), Some("s"));
    }

    #[test]
    fn attribute_values_are_normalised() {
        let doc = "<assembly xmlns=\"urn:schemas-microsoft-com:asm.v3\"><assemblyIdentity name=\"a&amp;b&#x43;\tc\" version='1.0'/>\
<file name=\"x&lt;y\" destinationPath=\"&bogus;\"/></assembly>";
        let m = parse(doc.as_bytes()).unwrap();
        assert_eq!(m.identity.name.as_deref(), Some("a&bC c"));
        assert_eq!(m.identity.version.as_deref(), Some("1.0"));
        assert_eq!(m.files[0].name, "x<y");
        // An unknown entity makes the value malformed, hence absent.
        assert_eq!(m.files[0].destination_path, None);
    }

    #[test]
    fn namespace_errors_are_xml_errors() {
        let cases = [
            (
                " xmlns:xmlns=\"u\"",
                "the namespace prefix 'xmlns' cannot be bound to 'u'",
            ),
            (
                " xmlns:xml=\"u\"",
                "the namespace prefix 'xml' cannot be bound to 'u'",
            ),
            (
                " xmlns:p=\"http://www.w3.org/XML/1998/namespace\"",
                "the namespace prefix 'p' cannot be bound to 'http://www.w3.org/XML/1998/namespace'",
            ),
            (
                " xmlns:p=\"http://www.w3.org/2000/xmlns/\"",
                "the namespace prefix 'p' cannot be bound to 'http://www.w3.org/2000/xmlns/'",
            ),
        ];
        for (decl, message) in cases {
            let doc = format!(
                "<assembly xmlns=\"urn:schemas-microsoft-com:asm.v3\"><assemblyIdentity name=\"N\"{decl}/></assembly>"
            );
            match parse(doc.as_bytes()) {
                Err(ManifestError::Xml { message: m, .. }) => assert_eq!(m, message),
                other => panic!("{decl}: {other:?}"),
            }
        }
        // The right URI for `xml` is no error, and binds nothing new.
        let doc = "<assembly xmlns=\"urn:schemas-microsoft-com:asm.v3\" xmlns:xml=\"http://www.w3.org/XML/1998/namespace\"><assemblyIdentity name=\"N\"/></assembly>";
        assert!(parse(doc.as_bytes()).is_ok());
        // Declarations after a malformed attribute are not read, as quick-xml does.
        let doc = "<assembly bad xmlns=\"urn:schemas-microsoft-com:asm.v3\"><assemblyIdentity name=\"N\"/></assembly>";
        assert_eq!(
            parse(doc.as_bytes()),
            Err(ManifestError::NotAssembly(
                "assembly in namespace \"\"".into()
            ))
        );
        // The binding limit: MAX_BINDINGS in scope, then an error.
        let decls =
            |n: usize| -> String { (0..n).map(|i| format!(" xmlns:p{i}=\"urn:x\"")).collect() };
        let doc = |n: usize| {
            format!("<a:assembly xmlns:a=\"urn:schemas-microsoft-com:asm.v3\"{}><a:assemblyIdentity name=\"N\"/></a:assembly>", decls(n))
        };
        assert_eq!(
            parse(doc(MAX_BINDINGS - 1).as_bytes()).map(|m| m.schema),
            Ok(Schema::V3)
        );
        assert!(matches!(
            parse(doc(MAX_BINDINGS).as_bytes()),
            Err(ManifestError::Xml { message, .. }) if message.contains("more than 128 namespace bindings")
        ));
    }

    #[test]
    fn attribute_scan_tokenises_as_quick_xml() {
        let alphabet = [
            " ", "\t", "\r\n", "=", "\"", "'", "a", "b", ":", "xmlns", "é", "&amp;", "\"v\"",
        ];
        let mut rng = Rng(0x5EED_0001);
        for _ in 0..20_000 {
            let mut content = String::from("e");
            for _ in 0..rng.below(12) {
                content.push_str(alphabet[rng.below(alphabet.len())]);
            }
            let start = BytesStart::from_content(content.as_str(), 1);
            let mut theirs = Vec::new();
            for a in start.attributes().with_checks(false) {
                match a {
                    Ok(a) => theirs.push((a.key.into_inner().to_string(), a.value.into_owned())),
                    Err(_) => break,
                }
            }
            let ours: Vec<(String, String)> = AttrScan::new(start.attributes_raw())
                .map_while(Result::ok)
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            assert_eq!(ours, theirs, "{content:?}");
        }
    }

    #[test]
    fn byte_searches_match_byte_loops() {
        let mut rng = Rng(0x5EED_0002);
        let bytes = [
            b'a', b'"', b'=', b' ', b'\t', b'&', 0x01, 0x0D, 0xC3, 0xA9, b'\'',
        ];
        for _ in 0..20_000 {
            let hay: Vec<u8> = (0..rng.below(40))
                .map(|_| bytes[rng.below(bytes.len())])
                .collect();
            for q in [b'"', b'\''] {
                assert_eq!(find_byte(&hay, q), hay.iter().position(|&b| b == q));
            }
            assert_eq!(
                key_len(&hay),
                hay.iter()
                    .position(|&b| b == b'=' || is_ws(b))
                    .unwrap_or(hay.len())
            );
            let needs = hay
                .iter()
                .any(|&b| matches!(b, b'&' | b'\t' | b'\r' | b'\n'));
            assert!(may_need_normalizing(&hay) || !needs, "{hay:?}");
        }
    }

    /// The parser this module had before its own namespace scopes: quick-xml's `NsReader` and
    /// one attribute search per name. Kept as the oracle the faster one must agree with.
    fn nsreader_parse(bytes: &[u8]) -> Result<Manifest<'static>, ManifestError> {
        use quick_xml::events::Event;
        use quick_xml::name::ResolveResult;
        use quick_xml::NsReader;

        fn attr(e: &BytesStart<'_>, name: &str) -> Option<Text<'static>> {
            e.attributes()
                .flatten()
                .find(|a| a.key.prefix().is_none() && a.key.local_name().as_ref() == name)
                .and_then(|a| {
                    a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .ok()
                        .map(own)
                })
        }
        let is_asm = |ns: &str| ns == NS_ASM_V3 || ns == NS_ASM_V1 || ns == NS_ASM_V2;
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
                    let elem = match stack.last().copied() {
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
                                identity = Some(Identity {
                                    name: attr(e, "name"),
                                    version: attr(e, "version"),
                                    processor_architecture: attr(e, "processorArchitecture"),
                                    language: attr(e, "language"),
                                    type_: attr(e, "type"),
                                    public_key_token: attr(e, "publicKeyToken"),
                                    version_scope: attr(e, "versionScope"),
                                    build_type: attr(e, "buildType"),
                                });
                            }
                            Elem::Other
                        }
                        Some(Elem::Assembly) if is_asm(ns) && local == "file" => {
                            if files.len() >= MAX_FILES {
                                return Err(ManifestError::Limit(
                                    "more than MAX_FILES <file> elements",
                                ));
                            }
                            let name = attr(e, "name")
                                .filter(|n| !n.is_empty())
                                .ok_or(ManifestError::FileWithoutName)?;
                            files.push(FileEntry {
                                name,
                                destination_path: attr(e, "destinationPath"),
                                source_name: attr(e, "sourceName"),
                                writeable_type: attr(e, "writeableType"),
                                hash: None,
                                legacy_hash: attr(e, "hash"),
                            });
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
                                    h.value.get_or_insert_with(Default::default);
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
                Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) => {
                    let piece = match event {
                        Event::Text(t) => t.into_inner().into_owned(),
                        Event::CData(t) => t.into_inner().into_owned(),
                        Event::GeneralRef(r) => {
                            let ch = match r.resolve_char_ref() {
                                Ok(Some(c)) => c,
                                Ok(None) => match predefined_entity(r.as_ref()) {
                                    Some(c) => c,
                                    None => {
                                        return Err(ManifestError::Xml {
                                            position: reader.buffer_position(),
                                            message: format!("unknown entity &{};", r.as_ref()),
                                        })
                                    }
                                },
                                Err(e) => return Err(xml_err(&reader, e)),
                            };
                            ch.to_string()
                        }
                        _ => String::new(),
                    };
                    if stack.last() == Some(&Elem::DigestValue) {
                        if let Some(v) = files
                            .last_mut()
                            .and_then(|f| f.hash.as_mut())
                            .and_then(|h| h.value.as_mut())
                        {
                            v.to_mut().push_str(&piece);
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
        Ok(Manifest {
            schema: schema.ok_or(ManifestError::Empty)?,
            identity: identity.ok_or(ManifestError::NoIdentity)?,
            files,
        })
    }

    /// Manifests with 1 to 4 random edits each: bytes deleted, copied, flipped, or one of the
    /// pieces where a hand-made tokenizer, namespace scope or attribute scan could differ
    /// from quick-xml spliced in (declarations, reserved prefixes, duplicated and malformed
    /// attributes, entities, markup, names of the elements we read).
    /// `count` of them in a debug build, ten times as many in an optimised one.
    pub(crate) fn mutated_manifests(seed: u64, count: usize) -> impl Iterator<Item = Vec<u8>> {
        let count = if cfg!(debug_assertions) {
            count
        } else {
            count * 10
        };
        const PIECES: &[&str] = &[
            "<",
            ">",
            "/>",
            "</",
            "\"",
            "'",
            "=",
            " ",
            ":",
            "xmlns",
            "xmlns:",
            " xmlns=\"\"",
            " xmlns:q=\"\"",
            " xmlns:=\"urn:schemas-microsoft-com:asm.v3\"",
            " xmlns=\"urn:schemas-microsoft-com:asm.v3\"",
            " xmlns:q=\"urn:schemas-microsoft-com:asm.v2\"",
            " xmlns:d=\"http://www.w3.org/2000/09/xmldsig#\"",
            " xmlns:xml=\"u\"",
            " xmlns:xmlns=\"u\"",
            "q:",
            "d:",
            "z:",
            "xml:",
            "file",
            "name",
            "hash",
            "assembly",
            "assemblyIdentity",
            "DigestValue",
            "DigestMethod",
            "Transforms",
            "Transform",
            "Algorithm",
            " name=\"x\"",
            " name=''",
            " name=\"a\" name=\"b\"version=\"2\"",
            "\"b c\"",
            " Algorithm=\"A\" Algorithm='B'",
            "&amp;",
            "&#65;",
            "&bogus;",
            "&#9;",
            "\t",
            "\r\n",
            "<![CDATA[AB]]>",
            "<!--c-->",
            "<?pi?>",
            "é",
            "<!DOCTYPE a [",
            "<!doctype ",
            "]>",
            "<?",
            "?>",
            "<!--",
            "-->",
            "<![CDATA[",
            "]]>",
            "&",
            ";",
        ];
        let seeds = [
            V3.to_string(),
            "<a:assembly xmlns:a=\"urn:schemas-microsoft-com:asm.v1\"><a:assemblyIdentity name=\"N\" version=\"1\"/>\
<a:file name=\"f.dll\" hash=\"h\"><h:hash xmlns:h=\"urn:schemas-microsoft-com:asm.v2\">\
<x:Transforms xmlns:x=\"http://www.w3.org/2000/09/xmldsig#\"><x:Transform Algorithm=\"t\"/></x:Transforms>\
<DigestMethod xmlns=\"http://www.w3.org/2000/09/xmldsig#\" Algorithm=\"m\"/>\
<y:DigestValue xmlns:y=\"http://www.w3.org/2000/09/xmldsig#\">AA&#65;A</y:DigestValue></h:hash></a:file></a:assembly>"
                .to_string(),
        ];
        let mut rng = Rng(seed);
        (0..count).map(move |_| {
            let mut doc = seeds[rng.below(seeds.len())].as_bytes().to_vec();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(doc.len() + 1);
                match rng.below(5) {
                    0 => {
                        let len = rng.below(16).min(doc.len() - at);
                        doc.drain(at..at + len);
                    }
                    1 => {
                        let from = rng.below(doc.len());
                        let len = rng.below(40).min(doc.len() - from);
                        let piece = doc[from..from + len].to_vec();
                        doc.splice(at..at, piece);
                    }
                    2 if !doc.is_empty() => {
                        let i = rng.below(doc.len());
                        doc[i] ^= 1 << rng.below(8);
                    }
                    _ => {
                        let piece = PIECES[rng.below(PIECES.len())];
                        doc.splice(at..at, piece.bytes());
                    }
                }
            }
            doc
        })
    }

    #[test]
    fn agrees_with_the_namespace_reader_on_mutated_manifests() {
        for doc in mutated_manifests(0x5EED_0003, 6_000) {
            let ours = comparable(parse(&doc));
            let theirs = match comparable(nsreader_parse(&doc)) {
                // quick-xml reads a DTD on and may find it malformed first (see `xml`).
                Err(ManifestError::Xml { .. }) if ours == Err(ManifestError::DocType) => {
                    Err(ManifestError::DocType)
                }
                theirs => theirs,
            };
            assert_eq!(ours, theirs, "{:?}", String::from_utf8_lossy(&doc));
        }
    }

    /// What must agree between two parsers: the manifest, with [`digest_text_unspaced`], or
    /// the kind of error. Not an XML error's wording, which is our own, nor its position: ours
    /// is where the construct starts, quick-xml's after an unknown entity (the tokenizer's
    /// positions are compared with quick-xml's in `xml`).
    fn comparable(parsed: Result<Manifest, ManifestError>) -> Result<Manifest, ManifestError> {
        digest_text_unspaced(parsed).map_err(|e| match e {
            ManifestError::Xml { .. } => ManifestError::Xml {
                position: 0,
                message: String::new(),
            },
            e => e,
        })
    }

    /// The parse with whitespace removed from every DigestValue: `parse` skips the whitespace
    /// that starts a text (see there), and the value is base64, where whitespace is ignored.
    fn digest_text_unspaced(
        parsed: Result<Manifest, ManifestError>,
    ) -> Result<Manifest, ManifestError> {
        parsed.map(|mut m| {
            for h in m.files.iter_mut().filter_map(|f| f.hash.as_mut()) {
                if let Some(v) = h.value.as_mut() {
                    v.to_mut().retain(|c| !c.is_ascii_whitespace());
                }
            }
            m
        })
    }

    #[test]
    fn whitespace_around_a_digest_value_means_nothing() {
        let spaced = V3.replace("<dsig:DigestValue>nY4H", "<dsig:DigestValue> \r\n\t nY4H");
        assert_ne!(spaced, V3);
        let expected = |doc: &str| {
            let m = parse(doc.as_bytes()).unwrap();
            crate::format::digest::resolve(m.files[0].hash.as_ref(), false).unwrap()
        };
        assert_eq!(expected(&spaced), expected(V3));
        // And the parse is the reference parse, but for that whitespace.
        assert_eq!(
            digest_text_unspaced(parse(spaced.as_bytes())),
            digest_text_unspaced(nsreader_parse(spaced.as_bytes()))
        );
        assert_ne!(parse(spaced.as_bytes()), nsreader_parse(spaced.as_bytes()));
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

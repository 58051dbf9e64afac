//! The XML data resource (`wim-and-codecs.md` §1.10): UTF-16LE text with a BOM describing the
//! images, e.g. `<WIM><TOTALBYTES>…</TOTALBYTES><IMAGE INDEX="1"><NAME>…</NAME>
//! <WINDOWS><EDITIONID>…</EDITIONID><VERSION><MAJOR>10</MAJOR>…<BUILD>26100</BUILD>
//! <SPBUILD>1</SPBUILD></VERSION></WINDOWS></IMAGE></WIM>`.
//!
//! Nothing here is needed to decode resources (images map to metadata resources by blob-table
//! order), so the reader is lenient: unknown elements are ignored, numbers that do not parse
//! are `None`. Rejected: a resource above [`MAX_XML_SIZE`], an odd byte count, XML that is not
//! well formed.

use quick_xml::events::Event;
use quick_xml::Reader;

use crate::Error;

/// Largest XML resource accepted (16 MiB): Microsoft's multi-edition images carry a few tens of
/// KiB.
pub const MAX_XML_SIZE: u64 = 16 << 20;

/// Windows version of an image.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WindowsVersion {
    /// MAJOR.
    pub major: Option<u32>,
    /// MINOR.
    pub minor: Option<u32>,
    /// BUILD.
    pub build: Option<u32>,
    /// SPBUILD.
    pub spbuild: Option<u32>,
}

/// What the XML says about one image.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct XmlImage {
    /// INDEX attribute (1-based).
    pub index: u32,
    /// NAME.
    pub name: Option<String>,
    /// DESCRIPTION.
    pub description: Option<String>,
    /// DISPLAYNAME.
    pub display_name: Option<String>,
    /// FLAGS (often the edition, e.g. `Professional`).
    pub flags: Option<String>,
    /// WINDOWS/EDITIONID.
    pub edition_id: Option<String>,
    /// WINDOWS/ARCH (0 x86, 9 x64, 12 arm64).
    pub arch: Option<u32>,
    /// WINDOWS/VERSION.
    pub version: WindowsVersion,
    /// DIRCOUNT.
    pub dir_count: Option<u64>,
    /// FILECOUNT.
    pub file_count: Option<u64>,
    /// TOTALBYTES of the image.
    pub total_bytes: Option<u64>,
}

/// The parsed XML data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct XmlInfo {
    /// WIM/TOTALBYTES.
    pub total_bytes: Option<u64>,
    /// IMAGE elements in document order.
    pub images: Vec<XmlImage>,
    /// The decoded XML text.
    pub text: String,
}

impl XmlInfo {
    /// Image with INDEX `index`.
    pub fn image(&self, index: u32) -> Option<&XmlImage> {
        self.images.iter().find(|i| i.index == index)
    }
}

/// Decode UTF-16LE bytes (with or without BOM) and parse them.
pub fn parse_utf16(bytes: &[u8]) -> Result<XmlInfo, Error> {
    if bytes.len() % 2 != 0 {
        return Err(Error::Xml("odd byte count for UTF-16".into()));
    }
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let units = units.strip_prefix(&[0xFEFF]).unwrap_or(&units);
    let text = String::from_utf16(units).map_err(|_| Error::Xml("invalid UTF-16".into()))?;
    parse_str(text)
}

fn num<T: std::str::FromStr>(s: &str) -> Option<T> {
    let s = s.trim();
    if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        // wimlib writes some values in hex.
        return u64::from_str_radix(hex, 16)
            .ok()
            .and_then(|v| v.to_string().parse().ok());
    }
    s.parse().ok()
}

/// Parse XML text.
pub fn parse_str(text: String) -> Result<XmlInfo, Error> {
    let mut info = XmlInfo::default();
    {
        let mut reader = Reader::from_str(&text);
        let mut stack: Vec<String> = Vec::new();
        let mut cur: Option<XmlImage> = None;
        let mut buf_text = String::new();
        loop {
            let ev = reader.read_event().map_err(|e| Error::Xml(e.to_string()))?;
            match ev {
                Event::Start(e) => {
                    let name = e.name().as_ref().to_ascii_uppercase();
                    if name == "IMAGE" && stack.len() == 1 {
                        let mut img = XmlImage::default();
                        if let Ok(Some(a)) = e.try_get_attribute("INDEX") {
                            if let Ok(v) = a.normalized_value(quick_xml::XmlVersion::Implicit1_0) {
                                img.index = num(&v).unwrap_or(0);
                            }
                        }
                        cur = Some(img);
                    }
                    if stack.len() > 64 {
                        return Err(Error::Xml("elements nested too deep".into()));
                    }
                    stack.push(name);
                    buf_text.clear();
                }
                Event::Text(t) => buf_text.push_str(&t.xml10_content()),
                Event::CData(t) => buf_text.push_str(&t.xml10_content()),
                Event::GeneralRef(r) => {
                    if let Ok(Some(c)) = r.resolve_char_ref() {
                        buf_text.push(c);
                    } else if let Some(s) = quick_xml::escape::resolve_xml_entity(&r) {
                        buf_text.push_str(s);
                    }
                }
                Event::End(_) => {
                    let path: Vec<&str> = stack.iter().map(String::as_str).collect();
                    let v = buf_text.trim();
                    match (path.as_slice(), cur.as_mut()) {
                        (["WIM", "TOTALBYTES"], _) => info.total_bytes = num(v),
                        (["WIM", "IMAGE", rest @ ..], Some(img)) => match rest {
                            ["NAME"] => img.name = Some(v.to_string()),
                            ["DESCRIPTION"] => img.description = Some(v.to_string()),
                            ["DISPLAYNAME"] => img.display_name = Some(v.to_string()),
                            ["FLAGS"] => img.flags = Some(v.to_string()),
                            ["DIRCOUNT"] => img.dir_count = num(v),
                            ["FILECOUNT"] => img.file_count = num(v),
                            ["TOTALBYTES"] => img.total_bytes = num(v),
                            ["WINDOWS", "EDITIONID"] => img.edition_id = Some(v.to_string()),
                            ["WINDOWS", "ARCH"] => img.arch = num(v),
                            ["WINDOWS", "VERSION", "MAJOR"] => img.version.major = num(v),
                            ["WINDOWS", "VERSION", "MINOR"] => img.version.minor = num(v),
                            ["WINDOWS", "VERSION", "BUILD"] => img.version.build = num(v),
                            ["WINDOWS", "VERSION", "SPBUILD"] => img.version.spbuild = num(v),
                            [] => {
                                if let Some(img) = cur.take() {
                                    info.images.push(img);
                                }
                            }
                            _ => {}
                        },
                        _ => {}
                    }
                    stack.pop();
                    buf_text.clear();
                }
                Event::Eof => break,
                _ => {}
            }
        }
    }
    info.text = text;
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_images_versions_and_entities() {
        let text = "<WIM><TOTALBYTES>12345</TOTALBYTES><IMAGE INDEX=\"1\"><DIRCOUNT>3</DIRCOUNT>\
            <FILECOUNT>9</FILECOUNT><TOTALBYTES>999</TOTALBYTES><WINDOWS><ARCH>9</ARCH>\
            <EDITIONID>Professional</EDITIONID><VERSION><MAJOR>10</MAJOR><MINOR>0</MINOR>\
            <BUILD>26100</BUILD><SPBUILD>1742</SPBUILD></VERSION></WINDOWS>\
            <NAME>Windows 11 Pro &amp; more</NAME><DESCRIPTION>d&#x41;</DESCRIPTION>\
            <FLAGS>Professional</FLAGS></IMAGE><IMAGE INDEX=\"2\"><NAME>Two</NAME></IMAGE></WIM>";
        let bytes: Vec<u8> = std::iter::once(0xFEFFu16)
            .chain(text.encode_utf16())
            .flat_map(u16::to_le_bytes)
            .collect();
        let x = parse_utf16(&bytes).unwrap();
        assert_eq!(x.total_bytes, Some(12345));
        assert_eq!(x.images.len(), 2);
        let i = x.image(1).unwrap();
        assert_eq!(i.name.as_deref(), Some("Windows 11 Pro & more"));
        assert_eq!(i.description.as_deref(), Some("dA"));
        assert_eq!(i.edition_id.as_deref(), Some("Professional"));
        assert_eq!(
            i.version,
            WindowsVersion {
                major: Some(10),
                minor: Some(0),
                build: Some(26100),
                spbuild: Some(1742)
            }
        );
        assert_eq!(
            (i.arch, i.dir_count, i.file_count, i.total_bytes),
            (Some(9), Some(3), Some(9), Some(999))
        );
        assert_eq!(x.image(2).unwrap().name.as_deref(), Some("Two"));
    }

    #[test]
    fn rejects_malformed() {
        assert!(parse_utf16(&[0xFF, 0xFE, 0x3C]).is_err());
        let bad: Vec<u8> = "<WIM><IMAGE></WIM>"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert!(parse_utf16(&bad).is_err());
        // Lone surrogate.
        assert!(parse_utf16(&[0x00, 0xD8]).is_err());
    }
}

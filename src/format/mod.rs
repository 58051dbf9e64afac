//! Pure decoders of the on-disk formats of a Windows component store: bytes in, typed values
//! out. Nothing here touches the filesystem; the `store` module feeds these functions.

pub mod dcs;
pub mod digest;
pub mod keyform;
pub mod manifest;
pub mod pe;
pub mod xml;

/// The first bytes of a WinSxS file, which say how it is stored (formats.md §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// No `DC?\x01` header: the file is stored as is.
    Plain,
    /// `DCM\x01`: a PA30 delta against the base manifest from `wcp.dll` (manifests only).
    Dcm,
    /// `DCN\x01`: a PA30 delta against an empty source.
    Dcn,
    /// `DCS\x01`: LZMS blocks.
    Dcs,
    /// `DCD\x01`: a PA30 delta against an unknown basis file.
    Dcd,
    /// `DCH\x01`: header only.
    Dch,
    /// `DCX\x01`: undocumented.
    Dcx,
}

impl Container {
    /// Recognise the container from the first four bytes.
    pub fn sniff(head: &[u8]) -> Container {
        match head {
            [b'D', b'C', b'M', 1, ..] => Container::Dcm,
            [b'D', b'C', b'N', 1, ..] => Container::Dcn,
            [b'D', b'C', b'S', 1, ..] => Container::Dcs,
            [b'D', b'C', b'D', 1, ..] => Container::Dcd,
            [b'D', b'C', b'H', 1, ..] => Container::Dch,
            [b'D', b'C', b'X', 1, ..] => Container::Dcx,
            _ => Container::Plain,
        }
    }

    /// The name Windows tools use for this form.
    pub fn name(self) -> &'static str {
        match self {
            Container::Plain => "plain",
            Container::Dcm => "DCM",
            Container::Dcn => "DCN",
            Container::Dcs => "DCS",
            Container::Dcd => "DCD",
            Container::Dch => "DCH",
            Container::Dcx => "DCX",
        }
    }
}

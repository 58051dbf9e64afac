//! The XML tokenizer the manifest parser runs on: tags, text, references, CDATA, and the
//! markup it skips (comments, processing instructions) or refuses (a DTD).
//!
//! Why our own rather than quick-xml's `Reader`, which this replaces on the hot path and which
//! stays the oracle it is tested against: an image has ~20,000 manifests, and quick-xml 0.42
//! spends a third of its time per event on work a manifest does not need. It validates every
//! event's bytes as UTF-8 again (`from_utf8` alone was 4% of a quick audit's CPU) although the
//! manifest parser has already checked the whole text once, and it keeps its own buffer of open
//! names. Here the input is a `&str`, every token a slice of it cut at an ASCII delimiter, and
//! no token is copied.
//!
//! What is read, as quick-xml's `Reader` reads it with `trim_text_start` (so that the parser's
//! results do not change; a test compares the two token by token on mutated manifests):
//! - `<name attrs>` and `<name attrs/>`: the tag runs to the first `>` outside quotes, and both
//!   `"` and `'` open a quote anywhere in it (an unclosed one is an error). The name ends at
//!   the first whitespace (space, tab, CR, LF); a tag whose content ends with `/` is empty.
//!   Names are not checked further: `<>` is a start tag with an empty name.
//! - `</name>`: runs to the first `>`; trailing whitespace is not part of the name. It must
//!   close the innermost open element, by exact bytes.
//! - text: runs to the next `<` or `&`; whitespace at its start is dropped, and a text that is
//!   only whitespace is no token. `&name;` is a reference, ending at the first `;` before the
//!   next `<` or `&` (none is an error); the caller resolves it.
//! - `<![CDATA[...]]>`, `<!--...-->` (ends at the first `-->` after `<!--`), `<?...?>` (the
//!   first `?>` after `<?`; `<?>` is an error).
//! - `<!DOCTYPE` (the keyword in any case): a token of its own, because the parser refuses
//!   DTDs, and the last: nothing after it is read. (Here alone quick-xml may differ: it reads
//!   the declaration on, and reports one that is not closed or has no name as malformed XML.
//!   The document is refused either way.)
//! - any other `<!` is an error.
//!
//! What is not checked, as quick-xml does not: characters allowed in names and text, `--`
//! inside comments, what follows the root element. Open elements left at the end are the
//! caller's to report.

/// XML's whitespace: space, tab, CR, LF.
pub fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// `s` as an error message shows it: at most 64 bytes of it, so that a hostile name does not
/// make a report line of megabytes.
pub fn excerpt(s: &str) -> String {
    match s.char_indices().map(|(i, _)| i).find(|&i| i > 64) {
        Some(cut) => format!("{}…", &s[..cut]),
        None => s.to_string(),
    }
}

/// One piece of a document, borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token<'a> {
    /// A start tag or an empty-element tag.
    Start {
        /// Its name and attributes.
        tag: Tag<'a>,
        /// `<name/>`: no end tag follows.
        empty: bool,
    },
    /// An end tag (already matched against its start tag).
    End,
    /// Character data, its leading whitespace dropped; never empty.
    Text(&'a str),
    /// The content of a CDATA section.
    CData(&'a str),
    /// `&name;`: the name (`amp`, `#65`, `#x41`, or anything else, for the caller to refuse).
    Ref(&'a str),
    /// The start of a document type declaration; always the last token.
    DocType,
}

/// A start tag's content between `<` and `>` (without the `/` of an empty element), of which
/// the first `name_len` bytes are the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tag<'a> {
    /// Name and attributes.
    pub content: &'a str,
    /// The name's length in `content`.
    pub name_len: usize,
}

impl<'a> Tag<'a> {
    /// The name, prefix included.
    pub fn name(self) -> &'a str {
        self.content.get(..self.name_len).unwrap_or(self.content)
    }

    /// The attributes, with the whitespace before them.
    pub fn attrs(self) -> &'a str {
        self.content.get(self.name_len..).unwrap_or("")
    }
}

/// Not well-formed: where (the byte offset of the construct) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlError {
    /// Byte offset in the text where the offending construct starts.
    pub position: usize,
    /// What is wrong.
    pub message: String,
}

/// The tokens of a document, in order; `None` at its end, and after an error.
pub struct Tokenizer<'a> {
    doc: &'a str,
    pos: usize,
    /// The names of the open elements, innermost last.
    open: Vec<&'a str>,
}

impl<'a> Tokenizer<'a> {
    /// Tokenize `doc`.
    pub fn new(doc: &'a str) -> Self {
        Tokenizer {
            doc,
            pos: 0,
            // Real manifests nest under 10 deep.
            open: Vec::with_capacity(16),
        }
    }

    /// The byte offset the next token starts at or after.
    pub fn position(&self) -> usize {
        self.pos
    }

    fn error<T>(position: usize, message: impl Into<String>) -> Result<T, XmlError> {
        Err(XmlError {
            position,
            message: message.into(),
        })
    }

    /// The slice of the document between `from` and the first `pattern` at or after it, and
    /// the offset just past that pattern.
    fn until(&self, from: usize, pattern: &[u8]) -> Option<(&'a str, usize)> {
        let hay = self.doc.as_bytes().get(from..)?;
        let at = from + memchr::memmem::find(hay, pattern)?;
        Some((self.doc.get(from..at)?, at + pattern.len()))
    }

    fn reference(&mut self, start: usize) -> Result<Token<'a>, XmlError> {
        let bytes = self.doc.as_bytes();
        let rest = bytes.get(start + 1..).unwrap_or_default();
        match memchr::memchr3(b';', b'<', b'&', rest) {
            Some(n) if rest.get(n) == Some(&b';') => {
                self.pos = start + 1 + n + 1;
                match self.doc.get(start + 1..start + 1 + n) {
                    Some(name) => Ok(Token::Ref(name)),
                    None => Self::error(start, "a reference is not text"),
                }
            }
            _ => Self::error(start, "a reference has no `;` before the next `<` or `&`"),
        }
    }

    /// The markup at `start`; `None` for markup that makes no token.
    fn markup(&mut self, start: usize) -> Result<Option<Token<'a>>, XmlError> {
        let bytes = self.doc.as_bytes();
        match bytes.get(start + 1) {
            Some(b'/') => self.end_tag(start).map(Some),
            Some(b'!') => self.declaration(start),
            // `<?>` is refused even when a `?>` follows, as quick-xml does.
            Some(b'?') if bytes.get(start + 2) == Some(&b'>') => {
                Self::error(start, "a processing instruction is not closed by `?>`")
            }
            Some(b'?') => match self.until(start + 2, b"?>") {
                Some((_, next)) => {
                    // Processing instructions (the XML declaration among them) carry nothing
                    // a manifest parser reads.
                    self.pos = next;
                    Ok(None)
                }
                None => Self::error(start, "a processing instruction is not closed by `?>`"),
            },
            _ => self.start_tag(start).map(Some),
        }
    }

    fn start_tag(&mut self, start: usize) -> Result<Token<'a>, XmlError> {
        let bytes = self.doc.as_bytes();
        let mut at = start + 1;
        let gt = loop {
            let Some(n) = memchr::memchr3(b'>', b'"', b'\'', bytes.get(at..).unwrap_or_default())
            else {
                return Self::error(start, "a tag is not closed by `>`");
            };
            at += n;
            match bytes.get(at) {
                Some(&q @ (b'"' | b'\'')) => {
                    match memchr::memchr(q, bytes.get(at + 1..).unwrap_or_default()) {
                        Some(len) => at += 1 + len + 1,
                        None => {
                            return Self::error(
                                start,
                                "an attribute value is not closed by its quote",
                            )
                        }
                    }
                }
                _ => break at,
            }
        };
        self.pos = gt + 1;
        let Some(mut content) = self.doc.get(start + 1..gt) else {
            return Self::error(start, "a tag is not text");
        };
        let empty = content.ends_with('/');
        if empty {
            content = &content[..content.len() - 1];
        }
        let name_len = content.bytes().position(is_ws).unwrap_or(content.len());
        if !empty {
            self.open.push(&content[..name_len]);
        }
        Ok(Token::Start {
            tag: Tag { content, name_len },
            empty,
        })
    }

    fn end_tag(&mut self, start: usize) -> Result<Token<'a>, XmlError> {
        let Some((inner, next)) = self.until(start + 2, b">") else {
            return Self::error(start, "a tag is not closed by `>`");
        };
        self.pos = next;
        let name = inner.trim_end_matches(|c: char| c.is_ascii() && is_ws(c as u8));
        match self.open.pop() {
            Some(open) if open == name => Ok(Token::End),
            Some(open) => Self::error(
                start,
                format!(
                    "expected `</{}>`, found `</{}>`",
                    excerpt(open),
                    excerpt(inner)
                ),
            ),
            None => Self::error(
                start,
                format!("`</{}>` closes no open element", excerpt(inner)),
            ),
        }
    }

    fn declaration(&mut self, start: usize) -> Result<Option<Token<'a>>, XmlError> {
        let bytes = self.doc.as_bytes();
        let rest = bytes.get(start + 2..).unwrap_or_default();
        if rest.starts_with(b"--") {
            let Some((_, next)) = self.until(start + 4, b"-->") else {
                return Self::error(start, "a comment is not closed by `-->`");
            };
            self.pos = next;
            return Ok(None);
        }
        if rest.starts_with(b"[CDATA[") {
            let Some((data, next)) = self.until(start + 9, b"]]>") else {
                return Self::error(start, "a CDATA section is not closed by `]]>`");
            };
            self.pos = next;
            return Ok(Some(Token::CData(data)));
        }
        if rest
            .get(..7)
            .is_some_and(|k| k.eq_ignore_ascii_case(b"DOCTYPE"))
        {
            // The last token: a DTD is refused whatever follows, so its end is not looked
            // for (quick-xml parses the internal subset; which error it then reports, or
            // none, does not matter to a parser that refuses the document either way).
            self.pos = bytes.len();
            return Ok(Some(Token::DocType));
        }
        Self::error(start, "`<!` starts no comment, CDATA section or DOCTYPE")
    }
}

impl<'a> Iterator for Tokenizer<'a> {
    type Item = Result<Token<'a>, XmlError>;

    fn next(&mut self) -> Option<Self::Item> {
        let bytes = self.doc.as_bytes();
        loop {
            let start = self.pos;
            let &first = bytes.get(start)?;
            let token = match first {
                // Comments and processing instructions are skipped here, in the loop: a
                // document of nothing else must not recurse.
                b'<' => match self.markup(start) {
                    Ok(None) => continue,
                    Ok(Some(token)) => Ok(token),
                    Err(e) => Err(e),
                },
                b'&' => self.reference(start),
                _ => {
                    // Most text between tags is indentation: step over it first.
                    let mut at = start;
                    while bytes.get(at).copied().is_some_and(is_ws) {
                        at += 1;
                    }
                    let end = memchr::memchr2(b'<', b'&', bytes.get(at..).unwrap_or_default())
                        .map_or(bytes.len(), |n| at + n);
                    self.pos = end;
                    match self.doc.get(at..end) {
                        Some("") | None => continue,
                        Some(text) => Ok(Token::Text(text)),
                    }
                }
            };
            if token.is_err() {
                // Nothing more is read after an error.
                self.pos = bytes.len();
            }
            return Some(token);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tokens of `doc` as short strings, or the error's position and the tokens before it.
    fn tokens(doc: &str) -> Result<Vec<String>, (usize, Vec<String>)> {
        let mut out = Vec::new();
        for tok in Tokenizer::new(doc) {
            match tok {
                Ok(tok) => out.push(show(tok)),
                Err(e) => return Err((e.position, out)),
            }
        }
        Ok(out)
    }

    fn show(tok: Token<'_>) -> String {
        match tok {
            Token::Start { tag, empty } => format!(
                "{}({}|{})",
                if empty { "Empty" } else { "Start" },
                tag.name(),
                tag.attrs()
            ),
            Token::End => "End".into(),
            Token::Text(t) => format!("Text({t})"),
            Token::CData(t) => format!("CData({t})"),
            Token::Ref(t) => format!("Ref({t})"),
            Token::DocType => "DocType".into(),
        }
    }

    #[test]
    fn tags_text_and_references() {
        let ok = |doc: &str, want: &[&str]| {
            assert_eq!(
                tokens(doc),
                Ok(want.iter().map(|s| s.to_string()).collect()),
                "{doc:?}"
            )
        };
        ok(
            "<?xml version=\"1.0\"?>\r\n<a x=\"1\">\r\n  <b y='>' />\r\n  t &amp; u&#65;<![CDATA[<c>]]><!-- <d> --></a >",
            &[
                "Start(a| x=\"1\")",
                "Empty(b| y='>' )",
                "Text(t )",
                "Ref(amp)",
                "Text(u)",
                "Ref(#65)",
                "CData(<c>)",
                "End",
            ],
        );
        // Quotes count anywhere in a tag, not only after `=`.
        ok("<a b\"c>d\"/>", &["Empty(a| b\"c>d\")"]);
        // Names are what precedes the first whitespace, however odd.
        ok("<>", &["Start(|)"]);
        ok("< a>", &["Start(| a)"]);
        ok("<a/ >", &["Start(a/| )"]);
        ok("<a//>", &["Empty(a/|)"]);
        ok("<a\tb=\"1\"\n/>", &["Empty(a|\tb=\"1\"\n)"]);
        // Whitespace-only text is no token; other text keeps its trailing whitespace.
        ok(" <a>  x  </a>\n", &["Start(a|)", "Text(x  )", "End"]);
        ok("pre<a/>]]>", &["Text(pre)", "Empty(a|)", "Text(]]>)"]);
        ok("<a>&a b;&;</a>", &["Start(a|)", "Ref(a b)", "Ref()", "End"]);
        ok("<a></a\t\r\n>", &["Start(a|)", "End"]);
        ok(
            "<a/><!DOCTYPE a [ <!ENTITY x \"]>\"> ]><a/>",
            &["Empty(a|)", "DocType"],
        );
        ok("<!doctype", &["DocType"]);
        ok("<??><!----><![CDATA[a]]]>", &["CData(a])"]);
        // Open elements at the end are the caller's to report.
        ok("<a><b>", &["Start(a|)", "Start(b|)"]);
    }

    #[test]
    fn malformed_documents_are_errors_where_the_construct_starts() {
        let err = |doc: &str, at: usize| {
            assert_eq!(tokens(doc).map_err(|(p, _)| p), Err(at), "{doc:?}");
        };
        err("<a>x & y</a>", 5);
        err("<a>&amp</a>;", 3);
        err("<a></b>", 3);
        err("<a></a b>", 3);
        err("<a></A>", 3);
        err("</a>", 0);
        err("<a", 0);
        err("<a b=\"c>", 0);
        err("<a>x<", 4);
        err("<!-->", 0);
        err("<!--->", 0);
        err("<![cdata[x]]>", 0);
        err("<![CDATA[x]]", 0);
        err("<?pi", 0);
        err("<?>", 0);
        err("<!x>", 0);
        err("<!", 0);
        err("<!DOCTYPX a>", 0);
        // A hostile name is cut short in the message.
        let long = format!("<a></{}>", "b".repeat(1 << 20));
        let Some(Err(e)) = Tokenizer::new(&long).nth(1) else {
            panic!("a mismatched end tag must be an error")
        };
        assert!(e.message.len() < 200, "{}", e.message.len());
        assert!(e.message.contains("bbbb…"), "{}", e.message);
        assert_eq!(excerpt("short"), "short");
        assert_eq!(excerpt(&"é".repeat(40)).chars().count(), 34);
        // Nothing follows an error.
        let mut t = Tokenizer::new("</a><b/>");
        assert!(t.next().unwrap().is_err());
        assert!(t.next().is_none());
    }

    /// quick-xml's `Reader`, configured as the manifest parser was before this module: the
    /// same tokens, in the same short strings, or the error's position.
    fn quick_xml_tokens(doc: &str) -> Result<Vec<String>, (usize, Vec<String>)> {
        use quick_xml::events::Event;
        let mut reader = quick_xml::Reader::from_str(doc);
        reader.config_mut().trim_text_start = true;
        let mut out = Vec::new();
        loop {
            let tok = match reader.read_event() {
                Err(_) => return Err((reader.error_position() as usize, out)),
                Ok(Event::Eof) => return Ok(out),
                Ok(Event::Start(e)) => {
                    format!("Start({}|{})", e.name().as_ref(), e.attributes_raw())
                }
                Ok(Event::Empty(e)) => {
                    format!("Empty({}|{})", e.name().as_ref(), e.attributes_raw())
                }
                Ok(Event::End(_)) => "End".into(),
                Ok(Event::Text(t)) => format!("Text({})", t.into_inner()),
                Ok(Event::CData(t)) => format!("CData({})", t.into_inner()),
                Ok(Event::GeneralRef(r)) => format!("Ref({})", r.as_ref()),
                Ok(Event::DocType(_)) => "DocType".into(),
                Ok(Event::Comment(_) | Event::PI(_) | Event::Decl(_)) => continue,
            };
            out.push(tok);
        }
    }

    /// quick-xml's tokens cut where ours stop, after a DOCTYPE: the same tokens up to it, then
    /// either its DocType or an error in it.
    fn up_to_doctype(
        doc: &str,
        theirs: Result<Vec<String>, (usize, Vec<String>)>,
    ) -> Result<Vec<String>, (usize, Vec<String>)> {
        // Where our DOCTYPE token starts (or the whitespace before it), if there is one.
        let mut t = Tokenizer::new(doc);
        let doctype_at = loop {
            let at = t.position();
            match t.next() {
                Some(Ok(Token::DocType)) => break Some(at),
                Some(Ok(_)) => {}
                _ => break None,
            }
        };
        match (theirs, doctype_at) {
            (Ok(mut toks) | Err((_, mut toks)), _) if toks.iter().any(|t| t == "DocType") => {
                toks.truncate(toks.iter().position(|t| t == "DocType").unwrap_or(0) + 1);
                Ok(toks)
            }
            (Err((at, mut toks)), Some(start)) if at >= start => {
                toks.push("DocType".into());
                Ok(toks)
            }
            (theirs, _) => theirs,
        }
    }

    #[test]
    fn tokenizes_as_quick_xml_on_mutated_manifests() {
        let mut compared = 0;
        for doc in crate::format::manifest::tests::mutated_manifests(0x5EED_0004, 20_000) {
            // Both read text; a flipped bit that breaks UTF-8 is the caller's error.
            let Ok(doc) = std::str::from_utf8(&doc) else {
                continue;
            };
            assert_eq!(
                tokens(doc),
                up_to_doctype(doc, quick_xml_tokens(doc)),
                "{doc:?}"
            );
            compared += 1;
        }
        // Most edits keep the text UTF-8.
        assert!(compared > 10_000, "{compared}");
    }

    #[test]
    fn markup_that_makes_no_token_does_not_recurse() {
        let doc = "<!---->".repeat(200_000) + &"<??>".repeat(200_000) + "<a/>";
        assert_eq!(tokens(&doc), Ok(vec!["Empty(a|)".to_string()]));
    }
}

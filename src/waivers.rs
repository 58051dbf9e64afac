//! Waivers (`--waivers FILE`): accepting a known finding without switching the gate off.
//!
//! A waiver file is TOML, one `[[waiver]]` table per accepted finding:
//!
//! ```toml
//! [[waiver]]
//! kind = "hash_mismatch"                        # optional: a kind name
//! component = "amd64_microsoft-windows-classpnp_*"  # optional: the keyform, or a glob
//! file = "classpnp.sys"                         # optional: the manifest's file name, or a glob
//! actual = "492qP7aeK0wiu9OHxXHD4/jyW+sKPc5XPX5tZCVjz04="  # optional: the exact digest found
//! reason = "vendor hotfix, ticket OPS-4711"     # mandatory
//! expires = 2026-12-31                          # optional: a TOML date or "YYYY-MM-DD"
//! ```
//!
//! Every key given must match (globs and names case-insensitively, as NTFS compares names;
//! `\` is a literal path separator, never an escape). `actual` is base64 (as CBS.log prints
//! digests) or hex, and matches only a finding whose digest was computed and is exactly that:
//! when the payload changes again, the waiver stops applying. A waiver must name a component,
//! a file or a digest: accepting a whole kind is `--fail-on`'s job.
//!
//! A waived finding stays in every report, marked with the waiver's reason, and does not count
//! for the exit status. A waiver is valid up to and including its `expires` day (UTC); after
//! that it waives nothing and a warning says so. A waiver that matched nothing is reported so
//! that waiver files do not rot. A file that does not parse, an unknown key, kind or date, or
//! a missing reason is a usage error naming the line (exit 64): a gate must not run with a
//! waiver file it half understood.
//!
//! Dates are compared as civil dates computed from `SystemTime` (no time-zone database is
//! needed for UTC, so no date crate).

use std::fmt;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use globset::{GlobBuilder, GlobMatcher};
use serde::Deserialize;
use toml::Spanned;

use crate::audit::Audit;
use crate::findings::{Finding, Kind};

/// Larger than any sensible waiver file; a bigger one is refused rather than read whole.
pub const MAX_WAIVER_FILE: u64 = 4 << 20;

/// A waiver file that cannot be used: where and why.
#[derive(Debug, thiserror::Error)]
#[error("{source_name}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct WaiverError {
    /// The file as the user named it.
    pub source_name: String,
    /// The 1-based line, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

/// A civil date (UTC), ordered by day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    /// Year.
    pub year: i32,
    /// Month, 1-12.
    pub month: u8,
    /// Day, 1-31.
    pub day: u8,
}

impl Date {
    /// Today in UTC.
    pub fn today_utc() -> Date {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Date::from_days((secs / 86_400) as i64)
    }

    /// The date `days` after 1970-01-01 (the civil-from-days algorithm of H. Hinnant's
    /// "chrono-compatible low-level date algorithms").
    pub fn from_days(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Date { year, month, day }
    }

    /// Parse `YYYY-MM-DD`, checking the day exists.
    pub fn parse(s: &str) -> Option<Date> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let num = |r: std::ops::Range<usize>| {
            s.get(r)
                .filter(|t| t.bytes().all(|c| c.is_ascii_digit()))
                .and_then(|t| t.parse::<u32>().ok())
        };
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        let days_in_month = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        (1..=days_in_month).contains(&day).then_some(Date {
            year: year as i32,
            month: month as u8,
            day: day as u8,
        })
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// A name or glob, matched case-insensitively.
#[derive(Debug, Clone)]
struct Pattern {
    text: String,
    matcher: GlobMatcher,
}

/// One accepted finding.
#[derive(Debug, Clone)]
pub struct Waiver {
    /// Where it is written (1-based line of its `[[waiver]]` header).
    pub line: usize,
    kind: Option<Kind>,
    component: Option<Pattern>,
    file: Option<Pattern>,
    actual: Option<Vec<u8>>,
    /// Why the finding is accepted (mandatory).
    pub reason: String,
    /// Last day it applies, inclusive.
    pub expires: Option<Date>,
}

impl Waiver {
    /// Whether it matches a finding (expiry aside).
    pub fn matches(&self, f: &Finding) -> bool {
        self.kind.is_none_or(|k| k == f.kind)
            && self
                .component
                .as_ref()
                .is_none_or(|p| p.matcher.is_match(&f.component))
            && self.file.as_ref().is_none_or(|p| {
                f.file
                    .as_deref()
                    .is_some_and(|name| p.matcher.is_match(name))
            })
            && self
                .actual
                .as_ref()
                .is_none_or(|d| f.actual.as_ref() == Some(d))
    }

    /// Whether it has expired on `today`.
    pub fn expired(&self, today: Date) -> bool {
        self.expires.is_some_and(|e| today > e)
    }

    /// What it selects, for messages.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(k) = self.kind {
            parts.push(format!("kind {}", k.as_str()));
        }
        if let Some(p) = &self.component {
            parts.push(format!("component {}", p.text));
        }
        if let Some(p) = &self.file {
            parts.push(format!("file {}", p.text));
        }
        if let Some(d) = &self.actual {
            parts.push(format!("digest {}", crate::format::digest::to_base64(d)));
        }
        parts.join(", ")
    }
}

/// A loaded waiver file.
#[derive(Debug, Clone)]
pub struct Waivers {
    /// The file as the user named it.
    pub source_name: String,
    /// In file order; the first that matches a finding waives it.
    pub entries: Vec<Waiver>,
}

/// What applying waivers to an audit gave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// Findings now marked waived.
    pub waived: usize,
    /// Warnings (expired waivers), already added to the audit's notes.
    pub warnings: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileW {
    #[serde(default)]
    waiver: Vec<Spanned<EntryW>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryW {
    kind: Option<Spanned<String>>,
    component: Option<Spanned<String>>,
    file: Option<Spanned<String>>,
    actual: Option<Spanned<String>>,
    reason: Option<Spanned<String>>,
    expires: Option<Spanned<toml::Value>>,
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()
        .iter()
        .take(offset)
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// A digest written in hex or base64.
fn parse_digest(s: &str) -> Option<Vec<u8>> {
    let s: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    // Hex first: a base64 digest always ends in '=' (20 and 32 bytes need padding), so a
    // string of hex digits is never a base64 digest.
    let bytes = if s.len().is_multiple_of(2) && s.bytes().all(|c| c.is_ascii_hexdigit()) {
        (0..s.len())
            .step_by(2)
            .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
            .collect::<Option<Vec<u8>>>()?
    } else {
        base64::engine::general_purpose::STANDARD
            .decode(s.as_bytes())
            .ok()?
    };
    matches!(bytes.len(), 20 | 32).then_some(bytes)
}

impl Waivers {
    /// Read and check a waiver file.
    pub fn load(path: &Path) -> Result<Waivers, WaiverError> {
        let source_name = path.display().to_string();
        let fail = |message: String| WaiverError {
            source_name: source_name.clone(),
            line: None,
            message,
        };
        let meta = std::fs::metadata(path)
            .map_err(|e| fail(format!("cannot read the waiver file: {e}")))?;
        if meta.len() > MAX_WAIVER_FILE {
            return Err(fail(format!(
                "the waiver file has {} bytes, more than the {} MiB limit",
                meta.len(),
                MAX_WAIVER_FILE >> 20
            )));
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| fail(format!("cannot read the waiver file: {e}")))?;
        Waivers::parse(&text, &source_name)
    }

    /// Check a waiver file's text; `source_name` names it in errors and notes.
    pub fn parse(text: &str, source_name: &str) -> Result<Waivers, WaiverError> {
        let err = |offset: Option<usize>, message: String| WaiverError {
            source_name: source_name.to_string(),
            line: offset.map(|o| line_of(text, o)),
            message,
        };
        let file: FileW = toml::from_str(text)
            .map_err(|e| err(e.span().map(|s| s.start), e.message().trim().to_string()))?;
        let mut entries = Vec::with_capacity(file.waiver.len());
        for entry in file.waiver {
            let at = entry.span().start;
            let entry = entry.into_inner();
            let line = line_of(text, at);
            let kind = match &entry.kind {
                None => None,
                Some(k) => Some(Kind::from_name(k.get_ref()).ok_or_else(|| {
                    let names: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
                    err(
                        Some(k.span().start),
                        format!(
                            "unknown kind {:?} (expected one of {})",
                            k.get_ref(),
                            names.join(", ")
                        ),
                    )
                })?),
            };
            let pattern =
                |p: &Option<Spanned<String>>, what: &str| -> Result<Option<Pattern>, WaiverError> {
                    let Some(p) = p else { return Ok(None) };
                    let text = p.get_ref().trim();
                    if text.is_empty() {
                        return Err(err(Some(p.span().start), format!("an empty {what}")));
                    }
                    let glob = GlobBuilder::new(text)
                        .case_insensitive(true)
                        .backslash_escape(false)
                        .build()
                        .map_err(|e| {
                            err(
                                Some(p.span().start),
                                format!("{what} {text:?} is not a valid glob: {}", e.kind()),
                            )
                        })?;
                    Ok(Some(Pattern {
                        text: text.to_string(),
                        matcher: glob.compile_matcher(),
                    }))
                };
            let component = pattern(&entry.component, "component")?;
            let file = pattern(&entry.file, "file")?;
            let actual = match &entry.actual {
                None => None,
                Some(a) => Some(parse_digest(a.get_ref()).ok_or_else(|| {
                    err(
                        Some(a.span().start),
                        format!(
                            "actual {:?} is not a SHA-256 or SHA-1 digest in base64 or hex",
                            a.get_ref()
                        ),
                    )
                })?),
            };
            let reason = match &entry.reason {
                Some(r) if !r.get_ref().trim().is_empty() => r.get_ref().trim().to_string(),
                Some(r) => {
                    return Err(err(
                        Some(r.span().start),
                        "the reason is empty: say why this finding is accepted".into(),
                    ))
                }
                None => return Err(err(
                    Some(at),
                    "this waiver has no reason: every waiver must say why its finding is accepted"
                        .into(),
                )),
            };
            let expires = match &entry.expires {
                None => None,
                Some(v) => {
                    let date = match v.get_ref() {
                        toml::Value::String(s) => Date::parse(s),
                        toml::Value::Datetime(d) if d.time.is_none() && d.offset.is_none() => {
                            d.date.and_then(|d| Date::parse(&d.to_string()))
                        }
                        _ => None,
                    };
                    Some(date.ok_or_else(|| {
                        err(
                            Some(v.span().start),
                            format!("expires {} is not a date (YYYY-MM-DD)", v.get_ref()),
                        )
                    })?)
                }
            };
            if component.is_none() && file.is_none() && actual.is_none() {
                return Err(err(Some(at), "this waiver names no component, file or digest: to accept a whole kind, use --fail-on".into()));
            }
            entries.push(Waiver {
                line,
                kind,
                component,
                file,
                actual,
                reason,
                expires,
            });
        }
        Ok(Waivers {
            source_name: source_name.to_string(),
            entries,
        })
    }

    /// The waiver that waives a finding on `today`: the first live one that matches.
    pub fn waiver_for(&self, f: &Finding, today: Date) -> Option<&Waiver> {
        self.entries
            .iter()
            .find(|w| !w.expired(today) && w.matches(f))
    }

    /// Mark the findings this file waives, and add a note for every expired waiver (a
    /// warning, also returned) and every waiver that matched nothing.
    pub fn apply(&self, audit: &mut Audit, today: Date) -> Applied {
        let mut applied = Applied::default();
        let mut used = vec![false; self.entries.len()];
        for f in audit.findings.iter_mut().filter(|f| f.waived.is_none()) {
            if let Some(i) = self
                .entries
                .iter()
                .position(|w| !w.expired(today) && w.matches(f))
            {
                used[i] = true;
                f.waived = self.entries.get(i).map(|w| w.reason.clone());
                applied.waived += 1;
            }
        }
        for (w, used) in self.entries.iter().zip(used) {
            let at = format!("{}:{}", self.source_name, w.line);
            if let Some(date) = w.expires.filter(|_| w.expired(today)) {
                let msg = format!("warning: the waiver at {at} ({}) expired on {date} and no longer waives anything; reason was: {}", w.describe(), w.reason);
                applied.warnings.push(msg.clone());
                audit.notes.push(msg);
            } else if !used {
                audit.notes.push(format!(
                    "the waiver at {at} ({}) matched no finding: remove it or fix it; reason: {}",
                    w.describe(),
                    w.reason
                ));
            }
        }
        audit.notes.sort();
        audit.notes.dedup();
        applied
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(Date::from_days(0).to_string(), "1970-01-01");
        assert_eq!(Date::from_days(20_781).to_string(), "2026-11-24");
        assert_eq!(Date::from_days(11_016).to_string(), "2000-02-29");
        assert_eq!(Date::from_days(-1).to_string(), "1969-12-31");
        assert_eq!(
            Date::parse("2024-02-29"),
            Some(Date {
                year: 2024,
                month: 2,
                day: 29
            })
        );
        for bad in [
            "2023-02-29",
            "2026-13-01",
            "2026-1-01",
            "26-01-01x",
            "2026-00-10",
            "2026-04-31",
            "２０２６-01-01",
        ] {
            assert_eq!(Date::parse(bad), None, "{bad}");
        }
        assert!(Date::parse("2026-11-25").unwrap() > Date::parse("2026-11-24").unwrap());
        assert!(Date::today_utc() >= Date::parse("2026-01-01").unwrap());
    }

    #[test]
    fn digests_in_hex_or_base64() {
        let b64 = "+HG1IAH+NHWHBWpvXfMkcLBBMZgDtFI7wJtgAFvQ2xc=";
        let bytes = parse_digest(b64).unwrap();
        assert_eq!(bytes.len(), 32);
        assert_eq!(
            parse_digest(&crate::format::digest::to_hex(&bytes)),
            Some(bytes.clone())
        );
        assert_eq!(
            parse_digest(&crate::format::digest::to_hex(&bytes).to_uppercase()),
            Some(bytes)
        );
        assert_eq!(parse_digest("abcd"), None);
        assert_eq!(parse_digest("not a digest"), None);
    }

    #[test]
    fn errors_name_the_line() {
        let e = Waivers::parse(
            "[[waiver]]\ncomponent = \"x\"\nreason = \"r\"\n\n[[waiver]]\nfile = \"a.dll\"\n",
            "w.toml",
        )
        .unwrap_err();
        assert_eq!(e.line, Some(5), "{e}");
        assert!(
            e.to_string()
                .starts_with("w.toml:5: this waiver has no reason"),
            "{e}"
        );
        let e = Waivers::parse(
            "[[waiver]]\ncomponent = \"x\"\nreason = \"r\"\nkind = \"md5\"\n",
            "w.toml",
        )
        .unwrap_err();
        assert_eq!(e.line, Some(4), "{e}");
        let e = Waivers::parse(
            "[[waiver]]\ncomponent = \"x\"\nreason = \"r\"\nexpires = \"2026-02-30\"\n",
            "w.toml",
        )
        .unwrap_err();
        assert_eq!(e.line, Some(4), "{e}");
        let e = Waivers::parse(
            "[[waiver]]\ncomponent = \"x\"\nreason = \"r\"\ncolour = \"red\"\n",
            "w.toml",
        )
        .unwrap_err();
        assert_eq!(e.line, Some(4), "{e}");
        let e =
            Waivers::parse("[[waiver]]\ncomponent = \"x\nreason = \"r\"\n", "w.toml").unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
        let e = Waivers::parse(
            "[[waiver]]\nkind = \"hash_mismatch\"\nreason = \"r\"\n",
            "w.toml",
        )
        .unwrap_err();
        assert!(e.to_string().contains("--fail-on"), "{e}");
        let e = Waivers::parse("[[waiver]]\ncomponent = \"[x\"\nreason = \"r\"\n", "w.toml")
            .unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
    }

    #[test]
    fn matching() {
        let w = Waivers::parse(
            "[[waiver]]\ncomponent = \"AMD64_foo_*\"\nfile = \"amd64\\\\x.dpb\"\nreason = \"r\"\nexpires = 2026-12-31\n",
            "w.toml",
        )
        .unwrap();
        let f = Finding {
            kind: Kind::MissingPayload,
            component: "amd64_foo_31bf_1.0".into(),
            file: Some("Amd64\\X.DPB".into()),
            path: "p".into(),
            algorithm: None,
            expected: None,
            actual: None,
            detail: String::new(),
            waived: None,
        };
        let day = |s| Date::parse(s).unwrap();
        assert!(w.waiver_for(&f, day("2026-12-31")).is_some());
        assert!(w.waiver_for(&f, day("2027-01-01")).is_none());
        let mut manifest_level = f.clone();
        manifest_level.file = None;
        assert!(w.waiver_for(&manifest_level, day("2026-01-01")).is_none());
    }
}

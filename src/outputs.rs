//! Where results go: the output flags every auditing command shares, resolved once into
//! [`Outputs`], which streams findings while the audit runs (JSON Lines), then at the end
//! applies the waivers, writes every report (the main one, each `--report`, GitHub's
//! annotations and job summary) and gives the exit status under `--fail-on`.
//!
//! Everything that can be checked before the audit is checked in [`OutputArgs::resolve`]: a
//! bad waiver file or an unwritable report path fails in a second, not after an hour of
//! hashing.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, LineWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use clap::{Args, ValueEnum};

use crate::audit::{Audit, Observer};
use crate::error::Error;
use crate::exit::FailOn;
use crate::report::{github, json, jsonl, junit, sarif, text, Format, Report};
use crate::waivers::{Date, Waivers};

/// One `--report FORMAT=PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportSpec {
    /// The format.
    pub format: Format,
    /// Where to write it (`-` is standard output).
    pub path: PathBuf,
}

fn parse_report(s: &str) -> Result<ReportSpec, String> {
    let (format, path) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?} is not FORMAT=PATH (e.g. sarif=sxsaudit.sarif)"))?;
    let format = Format::from_str(format.trim(), true).map_err(|_| {
        let names: Vec<String> = Format::value_variants()
            .iter()
            .filter_map(|f| f.to_possible_value())
            .map(|v| v.get_name().to_string())
            .collect();
        format!(
            "unknown report format {format:?} (expected one of {})",
            names.join(", ")
        )
    })?;
    if path.is_empty() {
        return Err(format!("{s:?} names no file"));
    }
    Ok(ReportSpec {
        format,
        path: PathBuf::from(path),
    })
}

/// Output flags.
#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write the report to FILE instead of standard output (`-` is standard output).
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also write a report in FORMAT to PATH; repeatable (e.g. --report sarif=audit.sarif
    /// --report junit=audit.xml). The terminal still gets the main report.
    #[arg(long = "report", value_name = "FORMAT=PATH", value_parser = parse_report)]
    pub reports: Vec<ReportSpec>,
    /// GitHub Actions: annotate the first 10 findings, and append a Markdown summary to the
    /// file $GITHUB_STEP_SUMMARY names, when it is set.
    #[arg(long)]
    pub github: bool,
    /// Accept the known findings a TOML file lists (each with a reason and an optional expiry
    /// date); waived findings stay in every report but do not fail the run.
    #[arg(long, value_name = "FILE")]
    pub waivers: Option<PathBuf>,
    /// The kinds that fail the run: a comma list of kind names (hash_mismatch,
    /// missing_payload, unverifiable, manifest_corrupt, unreadable, keyform_mismatch), or
    /// `errors` (every kind but keyform_mismatch), `all`, `none`.
    #[arg(long, value_name = "KINDS", default_value = "errors", value_parser = FailOn::parse)]
    pub fail_on: FailOn,
    /// Print nothing but errors (the exit status tells the result; -o still writes).
    #[arg(short, long)]
    pub quiet: bool,
    /// No progress bar (it is only ever drawn when stderr is a terminal).
    #[arg(long)]
    pub no_progress: bool,
}

/// A JSON Lines report that findings stream into.
struct Stream {
    out: Mutex<Box<dyn Write + Send>>,
    /// Whether an observer was handed out, so findings went out as they were made.
    streamed: AtomicBool,
    /// The path, for messages (`None`: standard output).
    path: Option<PathBuf>,
}

impl Stream {
    fn describe(&self) -> String {
        self.path
            .as_ref()
            .map_or_else(|| "standard output".into(), |p| p.display().to_string())
    }

    fn write_line(&self, line: &str) -> io::Result<()> {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        writeln!(out, "{line}")
    }
}

/// Where a report goes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Sink {
    Stdout,
    File(PathBuf),
}

/// Resolved outputs of one run.
pub struct Outputs {
    format: Format,
    main: Option<Sink>,
    reports: Vec<(Format, Sink)>,
    quiet: bool,
    progress: bool,
    github: Option<GithubOut>,
    waivers: Option<Arc<Waivers>>,
    fail_on: FailOn,
    today: Date,
    streams: Vec<Arc<Stream>>,
}

struct GithubOut {
    summary: Option<PathBuf>,
}

fn usage(msg: String) -> anyhow::Error {
    anyhow::Error::new(Error::Usage(msg))
}

fn create(path: &Path) -> anyhow::Result<File> {
    File::create(path).with_context(|| format!("cannot create the report {}", path.display()))
}

impl OutputArgs {
    /// Check and resolve the flags: load the waivers, create the streamed reports.
    pub fn resolve(&self) -> anyhow::Result<Outputs> {
        let sink = |p: &Path| {
            if p == Path::new("-") {
                Sink::Stdout
            } else {
                Sink::File(p.to_path_buf())
            }
        };
        let main = match &self.output {
            Some(p) => Some(sink(p)),
            None if self.quiet => None,
            None => Some(Sink::Stdout),
        };
        let reports: Vec<(Format, Sink)> = self
            .reports
            .iter()
            .map(|r| (r.format, sink(&r.path)))
            .collect();
        let mut targets: Vec<&Sink> = main.iter().collect();
        targets.extend(reports.iter().map(|(_, s)| s));
        for (i, t) in targets.iter().enumerate() {
            if targets.iter().skip(i + 1).any(|u| u == t) {
                let name = match t {
                    Sink::Stdout => "standard output".to_string(),
                    Sink::File(p) => p.display().to_string(),
                };
                return Err(usage(format!("two reports would be written to {name}")));
            }
        }
        let waivers = match &self.waivers {
            Some(p) => Some(Arc::new(
                Waivers::load(p).map_err(|e| usage(format!("bad waiver file: {e}")))?,
            )),
            None => None,
        };
        let mut streams = Vec::new();
        let mut open_stream = |s: &Sink| -> anyhow::Result<()> {
            let (out, path): (Box<dyn Write + Send>, _) = match s {
                Sink::Stdout => (Box::new(LineWriter::new(io::stdout())), None),
                Sink::File(p) => (Box::new(LineWriter::new(create(p)?)), Some(p.clone())),
            };
            streams.push(Arc::new(Stream {
                out: Mutex::new(out),
                streamed: AtomicBool::new(false),
                path,
            }));
            Ok(())
        };
        if self.format == Format::Jsonl {
            if let Some(s) = &main {
                open_stream(s)?;
            }
        }
        for (f, s) in &reports {
            if *f == Format::Jsonl {
                open_stream(s)?;
            }
        }
        let github = self.github.then(|| GithubOut {
            summary: std::env::var_os("GITHUB_STEP_SUMMARY")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
        });
        Ok(Outputs {
            format: self.format,
            main,
            reports,
            quiet: self.quiet,
            progress: !self.quiet && !self.no_progress,
            github,
            waivers,
            fail_on: self.fail_on,
            today: Date::today_utc(),
            streams,
        })
    }
}

/// The renderer of a format under a policy.
fn renderer(format: Format, fail_on: FailOn) -> Box<dyn Report> {
    match format {
        Format::Text => Box::new(text::Text),
        Format::Json => Box::new(json::Json),
        Format::Sarif => Box::new(sarif::Sarif { fail_on }),
        Format::Junit => Box::new(junit::Junit { fail_on }),
        Format::Jsonl => Box::new(jsonl::Jsonl { fail_on }),
    }
}

impl Outputs {
    /// Whether to draw a progress bar.
    pub fn progress(&self) -> bool {
        self.progress
    }

    /// Whether to keep quiet on the terminal.
    pub fn quiet(&self) -> bool {
        self.quiet
    }

    /// Whether the audit should keep an inventory ([`crate::audit::Options::inventory`]): the
    /// JUnit report lists every component with payloads, passed or not.
    pub fn wants_inventory(&self) -> bool {
        (self.format == Format::Junit && self.main.is_some())
            || self.reports.iter().any(|(f, _)| *f == Format::Junit)
    }

    /// The exit-status policy.
    pub fn fail_on(&self) -> FailOn {
        self.fail_on
    }

    /// The observer to give the audit: it streams each finding, marked waived where a
    /// waiver applies, to every JSON Lines report.
    pub fn observer(&self) -> Option<Observer> {
        if self.streams.is_empty() {
            return None;
        }
        let streams = self.streams.clone();
        for s in &streams {
            s.streamed.store(true, Ordering::Relaxed);
        }
        let waivers = self.waivers.clone();
        let today = self.today;
        Some(Arc::new(move |f| {
            let line = match waivers.as_ref().and_then(|w| w.waiver_for(f, today)) {
                Some(w) => {
                    let mut f = f.clone();
                    f.waived = Some(w.reason.clone());
                    jsonl::finding_line(&f)
                }
                None => jsonl::finding_line(f),
            };
            for s in &streams {
                // A failed write shows again, with its cause, when the summary line is written.
                let _ = s.write_line(&line);
            }
        }))
    }

    /// Apply the waivers, write every report; the exit status of the run.
    pub fn finish(&self, audit: &mut Audit) -> anyhow::Result<u8> {
        audit.fail_on = self.fail_on;
        if let Some(w) = &self.waivers {
            let applied = w.apply(audit, self.today);
            if !self.quiet {
                for warning in &applied.warnings {
                    eprintln!("sxsaudit: {warning}");
                }
            }
        }
        let mut streams = self.streams.iter();
        let mut stdout_used = false;
        let main = self.main.iter().map(|s| (self.format, s));
        for (format, sink) in main.chain(self.reports.iter().map(|(f, s)| (*f, s))) {
            if format == Format::Jsonl {
                let stream = streams
                    .next()
                    .context("internal error: a JSON Lines report was not opened")?;
                let write = || -> io::Result<()> {
                    let mut out = stream.out.lock().unwrap_or_else(|e| e.into_inner());
                    if !stream.streamed.load(Ordering::Relaxed) {
                        jsonl::Jsonl {
                            fail_on: self.fail_on,
                        }
                        .render(audit, &mut *out)?;
                    } else {
                        writeln!(out, "{}", jsonl::summary_line(audit, &self.fail_on))?;
                    }
                    out.flush()
                };
                write()
                    .with_context(|| format!("cannot write the report to {}", stream.describe()))?;
                stdout_used |= *sink == Sink::Stdout;
                continue;
            }
            let r = renderer(format, self.fail_on);
            match sink {
                Sink::File(path) => {
                    let mut w = BufWriter::new(create(path)?);
                    r.render(audit, &mut w)
                        .and_then(|_| w.flush())
                        .with_context(|| format!("cannot write the report {}", path.display()))?;
                }
                Sink::Stdout => {
                    let mut w = BufWriter::new(io::stdout().lock());
                    r.render(audit, &mut w)
                        .and_then(|_| w.flush())
                        .context("cannot write the report to standard output")?;
                    stdout_used |= format != Format::Text;
                }
            }
        }
        if let Some(gh) = &self.github {
            // Workflow commands are read from both streams; keep a machine report on
            // standard output parseable.
            let mut buf = Vec::new();
            github::annotations(audit, &self.fail_on, &mut buf)?;
            if stdout_used {
                io::stderr()
                    .write_all(&buf)
                    .context("cannot write the annotations")?;
            } else {
                io::stdout()
                    .write_all(&buf)
                    .and_then(|_| io::stdout().flush())
                    .context("cannot write the annotations")?;
            }
            if let Some(path) = &gh.summary {
                let mut w = BufWriter::new(
                    OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(path)
                        .with_context(|| {
                            format!("cannot open $GITHUB_STEP_SUMMARY {}", path.display())
                        })?,
                );
                github::step_summary(audit, &self.fail_on, &mut w)
                    .and_then(|_| w.flush())
                    .with_context(|| {
                        format!("cannot write $GITHUB_STEP_SUMMARY {}", path.display())
                    })?;
            }
        }
        Ok(self.fail_on.audit_status(audit))
    }
}

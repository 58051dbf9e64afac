//! The CI-facing outputs on built images: SARIF checked by Microsoft's own validator and
//! stable across runs and thread counts, JUnit read back by an independent reader
//! (junitparser) with the JSON report's counts, JSON Lines streamed, several reports in one
//! run, GitHub annotations and job summary, waivers (one test per rule) and `--fail-on`, and
//! insta snapshots of every format on one small fixed image.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use sxsaudit::demo::{Fault, Scale, Spec};

use crate::util::*;

/// Run the binary with extra environment variables.
fn run_env(args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut cmd = assert_cmd::Command::cargo_bin("sxsaudit").unwrap();
    cmd.args(args).env_remove("GITHUB_STEP_SUMMARY");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&fs::read(p).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Whether an optional external checker must be present (CI sets the variable).
fn required(var: &str) -> bool {
    std::env::var_os(var).is_some_and(|v| v == "1")
}

/// Microsoft's SARIF validator: `$SARIF_MULTITOOL`, else where `.ci/run` installs it.
fn sarif_multitool() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = std::env::var_os("SARIF_MULTITOOL")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(PathBuf::from(home).join(".cache/sxsaudit/sarif-multitool/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool"));
    }
    candidates.into_iter().find(|p| p.is_file())
}

#[test]
fn sarif_passes_microsofts_validator_and_fingerprints_are_stable() {
    let img = TestImage::build(&Spec::demo(Scale::Tiny, 17763));
    let out_dir = tempfile::tempdir().unwrap();
    let run = |threads: &str, name: &str| {
        let path = out_dir.path().join(name);
        let out = sxsaudit(&[
            "audit",
            s(img.root()),
            "--format",
            "sarif",
            "-o",
            s(&path),
            "--threads",
            threads,
            "--no-progress",
        ]);
        assert_eq!(
            out.status.code(),
            Some(7),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        path
    };
    let one = run("1", "one.sarif");
    let two = run("2", "two.sarif");
    let again = run("2", "again.sarif");
    let bytes = fs::read(&one).unwrap();
    assert_eq!(bytes, fs::read(&two).unwrap());
    assert_eq!(bytes, fs::read(&again).unwrap());

    let sarif = read_json(&one);
    let (_, json, _) = audit_json(img.root(), &[]);
    let run0 = &sarif["runs"][0];
    assert_eq!(sarif["version"], "2.1.0");
    let rules = run0["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), sxsaudit::findings::Kind::ALL.len());
    assert!(rules
        .iter()
        .all(|r| r["help"]["text"].as_str().is_some_and(|t| t.len() > 40)));
    let results = run0["results"].as_array().unwrap();
    let findings = json["findings"].as_array().unwrap();
    assert_eq!(results.len(), findings.len());
    let mut prints = Vec::new();
    for (r, f) in results.iter().zip(findings) {
        let kind = f["kind"].as_str().unwrap();
        let rule = &rules[r["ruleIndex"].as_u64().unwrap() as usize];
        assert_eq!(rule["id"], r["ruleId"]);
        assert_eq!(rule["properties"]["kind"], kind);
        // The default policy fails exactly the kinds of severity error; info is a note.
        let want = match f["severity"].as_str() {
            Some("error") => "error",
            Some("info") => "note",
            _ => "warning",
        };
        assert_eq!(r["level"], want);
        let uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap();
        assert_eq!(
            uri,
            f["path"].as_str().unwrap(),
            "demo paths need no escaping"
        );
        assert!(
            uri.starts_with("Windows/WinSxS/") && !uri.contains('\\'),
            "{uri}"
        );
        assert_eq!(
            r["properties"]["expected"],
            f["expected"].as_str().map_or(Value::Null, Value::from)
        );
        assert_eq!(
            r["properties"]["actual"],
            f["actual"].as_str().map_or(Value::Null, Value::from)
        );
        prints.push(
            r["partialFingerprints"]["sxsauditFinding/v1"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    assert!(results
        .iter()
        .any(|r| r["properties"]["actualHex"].is_string()));
    let mut unique = prints.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        prints.len(),
        "every finding has its own fingerprint"
    );

    // The same image elsewhere (another temporary folder): the same fingerprints.
    let moved = tempfile::tempdir().unwrap();
    let status = Command::new("cp")
        .args(["-a", &format!("{}/.", s(img.root())), s(moved.path())])
        .status()
        .unwrap();
    assert!(status.success());
    let out = sxsaudit(&[
        "audit",
        s(moved.path()),
        "--format",
        "sarif",
        "--threads",
        "1",
    ]);
    let elsewhere: Value = serde_json::from_slice(&out.stdout).unwrap();
    let prints2: Vec<String> = elsewhere["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["partialFingerprints"]["sxsauditFinding/v1"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(prints, prints2);

    let Some(tool) = sarif_multitool() else {
        assert!(!required("SXSAUDIT_REQUIRE_SARIF"), "SXSAUDIT_REQUIRE_SARIF=1 but the SARIF multitool is not installed (set SARIF_MULTITOOL)");
        eprintln!("skipped: SARIF validation (no Sarif.Multitool; set SARIF_MULTITOOL)");
        return;
    };
    let log = out_dir.path().join("validation.sarif");
    let out = Command::new(&tool)
        .current_dir(out_dir.path())
        .args(["validate", s(&one), "-o", s(&log)])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let validation = read_json(&log);
    let errors: Vec<&Value> = validation["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["level"] == "error")
        .collect();
    assert!(
        errors.is_empty(),
        "the validator reports errors: {errors:#?}"
    );
    assert!(!text.contains(": error "), "{text}");
}

/// Counts of a JUnit file as junitparser reads them, or None (skipped) when it is missing.
fn junitparser(path: &Path) -> Option<Value> {
    let helper = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/helpers/junit_check.py");
    let out = Command::new("python3").arg(helper).arg(path).output();
    match out {
        Ok(o) if o.status.success() => Some(serde_json::from_slice(&o.stdout).unwrap()),
        Ok(o) if o.status.code() == Some(3) || o.status.code().is_none() => None,
        Ok(o) => panic!(
            "junit_check.py failed: {}",
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(_) => None,
    }
    .or_else(|| {
        assert!(
            !required("SXSAUDIT_REQUIRE_JUNITPARSER"),
            "SXSAUDIT_REQUIRE_JUNITPARSER=1 but python3 with junitparser is not available"
        );
        eprintln!("skipped: JUnit check (python3 with junitparser not found)");
        None
    })
}

#[test]
fn junit_reads_back_with_junitparser_and_counts_match_json() {
    let img = TestImage::build(&Spec::demo(Scale::Tiny, 17763));
    let dir = tempfile::tempdir().unwrap();
    let xml = dir.path().join("audit.xml");
    let (code, json, _) = audit_json(img.root(), &["--report", &format!("junit={}", s(&xml))]);
    assert_eq!(code, 7);
    let text = fs::read_to_string(&xml).unwrap();
    assert!(
        text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites"),
        "{text}"
    );
    let Some(counts) = junitparser(&xml) else {
        return;
    };
    let summary = &json["summary"];
    // Under the default policy, the kinds of severity error fail; their counts are the
    // summary's.
    let mut failing: Vec<&str> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error")
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    failing.sort();
    failing.dedup();
    assert!(failing.len() >= 4, "{failing:?}");
    let expected: u64 = failing.iter().map(|k| summary[*k].as_u64().unwrap()).sum();
    assert_eq!(counts["suites"], 1);
    assert_eq!(counts["failures"], expected, "{counts:#}");
    assert_eq!(counts["errors"], 0);
    assert_eq!(counts["skipped"], 0);
    for k in failing {
        assert_eq!(
            counts["failures_by_type"][k].as_u64().unwrap_or(0),
            summary[k].as_u64().unwrap(),
            "{k}"
        );
    }
    // The attributes agree with what the reader counted itself.
    assert_eq!(counts["declared"][0]["tests"], counts["tests"]);
    assert_eq!(counts["declared"][0]["failures"], counts["failures"]);
    // One test case per component with payloads (the CLI asks the audit for its inventory),
    // named by keyform: every component with a finding is among them, clean ones too.
    let mut components: Vec<&str> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["component"].as_str().unwrap())
        .collect();
    components.dedup();
    let names: Vec<&str> = counts["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for c in &components {
        assert!(names.contains(c), "{c} has findings but no test case");
    }
    assert!(
        names.len() as u64 >= json["summary"]["components"].as_u64().unwrap(),
        "{} cases",
        names.len()
    );
    assert!(
        names.len() > components.len(),
        "clean components are listed too"
    );
    let classpnp = counts["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"].as_str().unwrap().contains("classpnp"))
        .unwrap();
    assert_eq!(classpnp["classname"], "microsoft-windows-classpnp");
}

#[test]
fn jsonl_has_every_finding_then_the_json_summary() {
    let img = TestImage::build(&Spec::demo(Scale::Tiny, 17763));
    let (_, json, _) = audit_json(img.root(), &[]);
    for threads in ["1", "2"] {
        let out = sxsaudit(&[
            "audit",
            s(img.root()),
            "--format",
            "jsonl",
            "--threads",
            threads,
        ]);
        assert_eq!(out.status.code(), Some(7));
        let text = String::from_utf8(out.stdout).unwrap();
        let mut lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let last = lines.pop().unwrap();
        assert_eq!(last["type"], "summary");
        assert_eq!(last["summary"], json["summary"]);
        assert_eq!(last["notes"], json["notes"]);
        let mut found: Vec<Value> = lines
            .into_iter()
            .map(|mut l| {
                assert_eq!(l["type"], "finding");
                l.as_object_mut().unwrap().remove("type");
                l
            })
            .collect();
        // Streamed in discovery order: compare as sets.
        found.sort_by_key(|v| v.to_string());
        let mut want = json["findings"].as_array().unwrap().clone();
        want.sort_by_key(|v| v.to_string());
        assert_eq!(found, want);
    }
}

#[test]
fn jsonl_lines_are_written_while_the_audit_runs() {
    use clap::Parser;
    #[derive(Parser)]
    struct Flags {
        #[command(flatten)]
        out: sxsaudit::outputs::OutputArgs,
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stream.jsonl");
    let flags = Flags::try_parse_from(["x", "--quiet", "--report", &format!("jsonl={}", s(&path))])
        .unwrap();
    let outputs = flags.out.resolve().unwrap();
    let observer = outputs.observer().expect("a JSON Lines report streams");
    let f = sxsaudit::findings::Finding {
        kind: sxsaudit::findings::Kind::MissingPayload,
        component: "amd64_x_31bf3856ad364e35_1.0.0.0_none_0123456789abcdef".into(),
        file: Some("x.dll".into()),
        path: "Windows/WinSxS/amd64_x_31bf3856ad364e35_1.0.0.0_none_0123456789abcdef/x.dll".into(),
        algorithm: None,
        expected: None,
        actual: None,
        detail: "the payload file is absent".into(),
        waived: None,
    };
    observer(&f);
    // Before the audit ends, the line is already in the file.
    let text = fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    let line: Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(line["kind"], "missing_payload");
    assert_eq!(line["type"], "finding");
}

#[test]
fn several_reports_in_one_run_and_the_terminal_keeps_the_text() {
    let img = TestImage::build(&Spec {
        faults: vec![Fault::FlipByte],
        ..Spec::clean(Scale::Tiny, 3)
    });
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    let out = sxsaudit(&[
        "audit",
        s(img.root()),
        "--no-progress",
        "--report",
        &format!("sarif={}", s(&p("a.sarif"))),
        "--report",
        &format!("junit={}", s(&p("a.xml"))),
        "--report",
        &format!("jsonl={}", s(&p("a.jsonl"))),
        "--report",
        &format!("json={}", s(&p("a.json"))),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("Checking System Update Readiness.") && text.contains("CSI Payload Corrupt"),
        "{text}"
    );
    assert_eq!(read_json(&p("a.json"))["summary"]["hash_mismatch"], 1);
    assert_eq!(
        read_json(&p("a.sarif"))["runs"][0]["results"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(fs::read_to_string(p("a.xml"))
        .unwrap()
        .contains("<failure type=\"hash_mismatch\""));
    assert_eq!(fs::read_to_string(p("a.jsonl")).unwrap().lines().count(), 2);

    // Wrong uses are usage errors (64), before anything is audited.
    for bad in [
        vec!["--report", "yaml=x"],
        vec!["--report", "sarif"],
        vec!["--report", "sarif="],
        vec!["--report", "json=-", "-o", "-"],
        vec!["--fail-on", "md5"],
    ] {
        let mut args = vec!["audit", s(img.root())];
        args.extend(bad.iter().copied());
        let out = sxsaudit(&args);
        assert_eq!(
            out.status.code(),
            Some(64),
            "{bad:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn github_annotations_and_job_summary() {
    let img = TestImage::build(&Spec::demo(Scale::Tiny, 17763));
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.md");
    fs::write(&summary, "# earlier step\n").unwrap();
    let out = run_env(
        &["audit", s(img.root()), "--github", "--no-progress"],
        &[("GITHUB_STEP_SUMMARY", &summary)],
    );
    assert_eq!(out.status.code(), Some(7));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let annotations: Vec<&str> = stdout.lines().filter(|l| l.starts_with("::")).collect();
    let (_, json, _) = audit_json(img.root(), &[]);
    let n = json["findings"].as_array().unwrap().len();
    assert!(n > 10, "the demo has more findings than GitHub shows");
    assert_eq!(annotations.len(), 11, "{stdout}");
    assert!(
        annotations[..10]
            .iter()
            .all(|l| l.starts_with("::error file=Windows/WinSxS/")),
        "{stdout}"
    );
    assert_eq!(annotations[10], format!("::notice title=sxsaudit::{} more findings are not annotated (GitHub shows 10 per step); see the job summary or the report", n - 10));
    let md = fs::read_to_string(&summary).unwrap();
    assert!(
        md.starts_with("# earlier step\n## sxsaudit: :x: the image is NOT fit to deploy (exit 7)"),
        "{md}"
    );
    assert!(
        md.contains("| `hash_mismatch` | SXS1001 | 4 | 0 | yes |"),
        "{md}"
    );
    assert!(md.contains(&format!("### Findings ({n} of {n})")), "{md}");

    // With a machine format on standard output, annotations go to stderr, and without
    // $GITHUB_STEP_SUMMARY nothing else is written.
    let out = run_env(
        &["audit", s(img.root()), "--github", "--format", "json"],
        &[],
    );
    let _: Value = serde_json::from_slice(&out.stdout).expect("stdout stays JSON");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .filter(|l| l.starts_with("::error "))
            .count(),
        10
    );
}

/// Write a waiver file and audit with it; (exit, JSON report, stderr).
fn audit_with_waivers(root: &Path, waivers: &str, extra: &[&str]) -> (i32, Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("waivers.toml");
    fs::write(&file, waivers).unwrap();
    let mut args = vec!["--waivers", s(&file)];
    args.extend_from_slice(extra);
    audit_json(root, &args)
}

fn classpnp_image() -> TestImage {
    TestImage::build(&Spec {
        faults: vec![Fault::FlipByte, Fault::DeletePayload],
        ..Spec::clean(Scale::Tiny, 7)
    })
}

#[test]
fn waiver_by_component_glob_and_file_waives_and_keeps_the_finding() {
    let img = classpnp_image();
    let (code, plain, _) = audit_json(img.root(), &[]);
    assert_eq!(code, 3);
    let waivers = "[[waiver]]\nkind = \"hash_mismatch\"\ncomponent = \"AMD64_microsoft-windows-classpnp_*\"\nfile = \"CLASSPNP.SYS\"\nreason = \"vendor hotfix, OPS-4711\"\nexpires = 2999-12-31\n";
    let (code, json, _) = audit_with_waivers(img.root(), waivers, &[]);
    assert_eq!(code, 2, "only the missing payload still fails");
    assert_eq!(
        json["findings"].as_array().unwrap().len(),
        plain["findings"].as_array().unwrap().len(),
        "waived findings stay"
    );
    let waived: Vec<&Value> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["waived"].is_string())
        .collect();
    assert_eq!(waived.len(), 1);
    assert_eq!(waived[0]["kind"], "hash_mismatch");
    assert_eq!(waived[0]["waived"], "vendor hotfix, OPS-4711");
    assert_eq!(json["summary"]["exit_code"], 2);
    assert_eq!(
        json["notes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n.as_str().unwrap().contains("waiver"))
            .count(),
        0
    );

    // Every report marks it.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("w.toml");
    fs::write(&file, waivers).unwrap();
    let sarif = dir.path().join("r.sarif");
    let xml = dir.path().join("r.xml");
    let out = sxsaudit(&[
        "audit",
        s(img.root()),
        "--waivers",
        s(&file),
        "--report",
        &format!("sarif={}", s(&sarif)),
        "--report",
        &format!("junit={}", s(&xml)),
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("\tWaived: vendor hotfix, OPS-4711"), "{text}");
    let sarif = read_json(&sarif);
    let suppressed: Vec<&Value> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["suppressions"].is_array())
        .collect();
    assert_eq!(suppressed.len(), 1);
    assert_eq!(suppressed[0]["suppressions"][0]["status"], "accepted");
    assert_eq!(
        suppressed[0]["suppressions"][0]["justification"],
        "vendor hotfix, OPS-4711"
    );
    let xml = fs::read_to_string(&xml).unwrap();
    assert!(
        !xml.contains("<failure type=\"hash_mismatch\"")
            && xml.contains("waived (vendor hotfix, OPS-4711): hash_mismatch: classpnp.sys"),
        "{xml}"
    );
}

#[test]
fn waiver_with_exact_digest_waives_only_that_digest() {
    let img = classpnp_image();
    let (_, plain, _) = audit_json(img.root(), &[]);
    let bad = plain["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "hash_mismatch")
        .unwrap();
    let hex = bad["actual_hex"].as_str().unwrap();
    for digest in [hex.to_string(), bad["actual"].as_str().unwrap().to_string()] {
        let w = format!("[[waiver]]\nfile = \"classpnp.sys\"\nactual = \"{digest}\"\nreason = \"known build\"\n");
        let (code, json, _) = audit_with_waivers(img.root(), &w, &[]);
        assert_eq!(code, 2, "{json:#}");
        assert_eq!(
            json["findings"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| f["waived"] == "known build")
                .count(),
            1
        );
    }
    // Another digest (the payload changed again): not waived, and the waiver is reported unused.
    let other = format!(
        "{}{}",
        &hex[..63],
        if hex.ends_with('0') { "1" } else { "0" }
    );
    let w = format!(
        "[[waiver]]\nfile = \"classpnp.sys\"\nactual = \"{other}\"\nreason = \"known build\"\n"
    );
    let (code, json, _) = audit_with_waivers(img.root(), &w, &[]);
    assert_eq!(code, 3);
    assert!(
        json["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("matched no finding")),
        "{json:#}"
    );
}

#[test]
fn expired_waiver_warns_and_no_longer_waives() {
    let img = classpnp_image();
    let w = "[[waiver]]\ncomponent = \"amd64_microsoft-windows-classpnp_*\"\nreason = \"until the rebuild\"\nexpires = \"2020-01-31\"\n";
    let (code, json, stderr) = audit_with_waivers(img.root(), w, &[]);
    assert_eq!(code, 3);
    assert!(json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["waived"].is_null()));
    let notes: Vec<&str> = json["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("warning: the waiver at ")
                && n.contains("waivers.toml:1")
                && n.contains("expired on 2020-01-31")),
        "{notes:?}"
    );
    assert!(stderr.contains("expired on 2020-01-31"), "{stderr}");
}

#[test]
fn unmatched_waiver_is_reported() {
    let img = classpnp_image();
    let w = "[[waiver]]\ncomponent = \"amd64_microsoft-windows-classpnp_*\"\nfile = \"classpnp.sys\"\nreason = \"r1\"\n\n[[waiver]]\ncomponent = \"x86_never-there_*\"\nreason = \"stale\"\n";
    let (code, json, _) = audit_with_waivers(img.root(), w, &[]);
    assert_eq!(code, 2);
    let notes: Vec<&str> = json["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert_eq!(
        notes
            .iter()
            .filter(|n| n.contains("matched no finding"))
            .count(),
        1,
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.contains("waivers.toml:6 (component x86_never-there_*) matched no finding")),
        "{notes:?}"
    );
}

#[test]
fn malformed_waiver_file_is_a_usage_error_naming_the_line() {
    let img = classpnp_image();
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "[[waiver]]\ncomponent = \"x\"\nreason = \"r\"\n\n[[waiver]]\nfile = \"a.dll\n",
            ":6:",
        ),
        (
            "[[waiver]]\ncomponent = \"x\"\nreason = \"r\"\n\n[[waiver]]\nfile = \"a.dll\"\n",
            ":5: this waiver has no reason",
        ),
        (
            "[[waiver]]\ncomponent = \"x\"\nkind = \"hash_mismatches\"\nreason = \"r\"\n",
            ":3: unknown kind",
        ),
        (
            "[[waiver]]\ncomponent = \"x\"\nreason = \"r\"\nexpires = \"31.12.2026\"\n",
            ":4: expires",
        ),
        (
            "[[waiver]]\ncomponent = \"x\"\nreason = \"r\"\nactual = \"abc\"\n",
            ":4: actual",
        ),
        (
            "[[waiver]]\ncomponent = \"x\"\nreason = \"r\"\nreviewer = \"me\"\n",
            ":4:",
        ),
    ];
    for (text, want) in cases {
        let file = dir.path().join("bad.toml");
        fs::write(&file, text).unwrap();
        let out = sxsaudit(&["audit", s(img.root()), "--waivers", s(&file)]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(64), "{text}: {stderr}");
        assert!(
            stderr.contains(&format!("bad waiver file: {}{want}", s(&file))),
            "{text}: {stderr}"
        );
        assert!(out.stdout.is_empty());
    }
    let out = sxsaudit(&[
        "audit",
        s(img.root()),
        "--waivers",
        s(&dir.path().join("absent.toml")),
    ]);
    assert_eq!(out.status.code(), Some(64));
}

#[test]
fn fail_on_chooses_the_kinds_that_fail() {
    let img = TestImage::build(&Spec::demo(Scale::Tiny, 17763));
    let code = |fail_on: &str| {
        sxsaudit(&["audit", s(img.root()), "--quiet", "--fail-on", fail_on])
            .status
            .code()
    };
    assert_eq!(code("errors"), Some(7));
    assert_eq!(code("hash_mismatch"), Some(1));
    assert_eq!(code("missing_payload,unverifiable"), Some(6));
    assert_eq!(code("keyform_mismatch"), Some(16));
    assert_eq!(code("all"), Some(23));
    assert_eq!(code("none"), Some(0));
}

/// Replace what changes between machines and runs.
fn redact(text: &str, pairs: &[(&str, &str)]) -> String {
    let mut t = text.to_string();
    for (from, to) in pairs {
        t = t.replace(from, to);
    }
    t.lines()
        .map(|l| {
            if l.starts_with("Elapsed:\t") {
                "Elapsed:\t[ELAPSED]"
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn snapshots_of_every_format() {
    let img = TestImage::build(&Spec::demo(Scale::Tiny, 17763));
    let dir = tempfile::tempdir().unwrap();
    let waivers = dir.path().join("waivers.toml");
    fs::write(
        &waivers,
        "[[waiver]]\ncomponent = \"amd64_microsoft-windows-classpnp_*\"\nfile = \"classpnp.sys\"\nreason = \"vendor hotfix, OPS-4711\"\n\n[[waiver]]\ncomponent = \"x86_never-there_*\"\nreason = \"stale\"\n",
    )
    .unwrap();
    let summary = dir.path().join("summary.md");
    let p = |n: &str| dir.path().join(n);
    let mut args = vec![
        "audit",
        s(img.root()),
        "--threads",
        "1",
        "--no-progress",
        "--github",
        "--waivers",
        s(&waivers),
    ];
    let reports: Vec<String> = ["json", "sarif", "junit", "jsonl"]
        .iter()
        .map(|f| format!("{f}={}", s(&p(&format!("report.{f}")))))
        .collect();
    for r in &reports {
        args.extend(["--report", r.as_str()]);
    }
    let out = run_env(&args, &[("GITHUB_STEP_SUMMARY", &summary)]);
    assert_eq!(
        out.status.code(),
        Some(7),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let root = s(img.root()).to_string();
    let dirs = s(dir.path()).to_string();
    let pairs = [
        (root.as_str(), "[IMAGE]"),
        (dirs.as_str(), "[DIR]"),
        (env!("CARGO_PKG_VERSION"), "[VERSION]"),
    ];
    let stdout = String::from_utf8(out.stdout).unwrap();
    insta::with_settings!({ snapshot_path => "../snapshots", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("text_and_github_annotations", redact(&stdout, &pairs));
        insta::assert_snapshot!("github_step_summary", redact(&fs::read_to_string(&summary).unwrap(), &pairs));
        for f in ["json", "sarif", "junit", "jsonl"] {
            let mut text = fs::read_to_string(p(&format!("report.{f}"))).unwrap();
            if f == "jsonl" {
                // Streamed in discovery order: sort the finding lines, keep the summary last.
                let mut lines: Vec<&str> = text.lines().collect();
                let last = lines.pop().unwrap_or_default();
                lines.sort();
                lines.push(last);
                text = lines.join("\n");
            }
            insta::assert_snapshot!(format!("report_{f}"), redact(&text, &pairs));
        }
    });
}

#[test]
fn junit_lists_every_component_with_payloads_when_the_audit_keeps_an_inventory() {
    use sxsaudit::report::Report;
    let img = TestImage::build(&Spec::demo(Scale::Tiny, 17763));
    let image = sxsaudit::store::Image::open_dir(img.root()).unwrap();
    let codecs = sxsaudit::codec::Codecs {
        base: sxsaudit::store::base::find(&image).unwrap(),
    };
    let opts = sxsaudit::audit::Options {
        inventory: true,
        ..Default::default()
    };
    let audit = sxsaudit::audit::run(&image, &codecs, &opts).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inventory.xml");
    let mut bytes = Vec::new();
    sxsaudit::report::junit::Junit::default()
        .render(&audit, &mut bytes)
        .unwrap();
    fs::write(&path, &bytes).unwrap();
    let with_payloads: Vec<String> = audit
        .inventory
        .as_ref()
        .unwrap()
        .components
        .values()
        .filter(|c| !c.files.is_empty())
        .map(|c| c.keyform.clone())
        .collect();
    assert_eq!(
        with_payloads.len() as u64,
        audit.totals.components,
        "the inventory has every component with payloads"
    );
    let mut want: Vec<String> = with_payloads
        .into_iter()
        .chain(audit.findings.iter().map(|f| f.component.clone()))
        .collect();
    want.sort();
    want.dedup();
    let Some(counts) = junitparser(&path) else {
        return;
    };
    let names: Vec<&str> = counts["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, want);
    assert_eq!(counts["tests"], want.len() as u64);
    let failing = audit
        .findings
        .iter()
        .filter(|f| sxsaudit::exit::FailOn::default().counts(f))
        .count();
    assert_eq!(counts["failures"], failing as u64);
    let passed = counts["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["failures"] == 0)
        .count();
    assert!(
        passed > 20,
        "clean components show as passed tests: {passed}"
    );
}

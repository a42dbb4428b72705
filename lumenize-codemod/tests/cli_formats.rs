//! The machine formats of the real binary: `--format json` (its schema pinned by a snapshot),
//! `--format github` (workflow commands) and `--format sarif` (validated against the official
//! SARIF 2.1.0 schema, vendored in `tests/data/` from the oasis-tcs/sarif-spec repository).

use serde_json::Value;

mod support;
use support::*;

/// Edits (a `None` argument and an `.await`), a site that needs review (a `PostprocessOptions`
/// transform), a file that does not parse, and a crate that does not use lumenize.
const LIB: &str = "\
use lumenize_core::structured_clone::{parse, postprocess};

pub async fn load(s: String, t: Transform) -> Result<(), Box<dyn std::error::Error>> {
    let _v = parse(&s, None).await?;
    let _w = postprocess(&s, Some(t)).await?;
    Ok(())
}
";
const MANIFEST: &str = "\
[package]
name = \"app\"
version = \"0.1.0\"
edition = \"2021\"

[dependencies]
lumenize-core = \"0.9\"
";

fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("app");
    write(&app.join("Cargo.toml"), MANIFEST);
    write(&app.join("src/lib.rs"), LIB);
    write(
        &app.join("src/broken.rs"),
        "use lumenize_core::x;\nfn f( {\n",
    );
    let other = dir.path().join("other");
    write(
        &other.join("Cargo.toml"),
        "[package]\nname = \"other\"\nversion = \"0.1.0\"\n",
    );
    write(&other.join("src/lib.rs"), "pub fn f() {}\n");
    dir
}

#[test]
fn json_records_are_pinned() {
    let dir = workspace();
    let o = run(dir.path(), &["check", "--format", "json", "app", "other"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = stdout(&o);
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["schema_version"], 2, "{line}");
        if v.get("line").is_some() {
            assert!(
                v.get("end_line").is_some() && v.get("end_column").is_some(),
                "{line}"
            );
        }
    }
    insta::assert_snapshot!(text);
}

#[test]
fn json_schema_is_documented_in_help() {
    let dir = tempfile::tempdir().unwrap();
    let help = stdout(&run(dir.path(), &["check", "--help"]));
    for needle in [
        "schema_version",
        "end_line",
        "end_column",
        "--format github",
        "SARIF 2.1.0",
    ] {
        assert!(help.contains(needle), "--help mentions {needle}");
    }
}

#[test]
fn github_format_is_one_workflow_command_per_finding() {
    let dir = workspace();
    let o = run(dir.path(), &["check", "--format", "github", "app"]);
    assert_eq!(o.status.code(), Some(2));
    let text = stdout(&o);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines.contains(
            &"::notice file=app/src/lib.rs,line=4,col=22,endLine=4,endColumn=28,\
          title=sync-structured-clone::removed `, None`"
        ),
        "{text}"
    );
    let review = lines
        .iter()
        .find(|l| l.starts_with("::warning file=app/src/lib.rs,line=5,"))
        .unwrap_or_else(|| panic!("a warning for the transform: {text}"));
    assert!(review.contains("endLine=5,endColumn="), "{review}");
    assert!(review.contains("title=sync-structured-clone::"), "{review}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("::error file=app/src/broken.rs,line=")),
        "{text}"
    );
    assert!(
        lines.iter().all(|l| l.starts_with("::")),
        "only commands on stdout: {text}"
    );
}

#[test]
fn sarif_log_is_valid_and_carries_rules_regions_and_fixes() {
    let dir = workspace();
    let o = run(dir.path(), &["check", "--format", "sarif", "app"]);
    assert_eq!(o.status.code(), Some(2));
    let log: Value = serde_json::from_slice(&o.stdout).expect("one JSON document");
    let schema: Value = serde_json::from_str(include_str!("data/sarif-schema-2.1.0.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let errors: Vec<String> = validator.iter_errors(&log).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "invalid SARIF: {errors:#?}");

    assert_eq!(log["version"], "2.1.0");
    let run = &log["runs"][0];
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "lumenize-codemod");
    let rules = driver["rules"].as_array().unwrap();
    let rule = rules
        .iter()
        .find(|r| r["id"] == "sync-structured-clone")
        .expect("the rule is described");
    assert!(rule["help"]["text"].as_str().unwrap().len() > 40);
    let results = run["results"].as_array().unwrap();
    let edit = results
        .iter()
        .find(|r| r["ruleId"] == "sync-structured-clone" && r["level"] == "note")
        .expect("an edit");
    let region = &edit["locations"][0]["physicalLocation"]["region"];
    assert_eq!(
        (region["startLine"].as_u64(), region["endLine"].as_u64()),
        (Some(4), Some(4))
    );
    assert!(region["endColumn"].as_u64() > region["startColumn"].as_u64());
    let replacement = &edit["fixes"][0]["artifactChanges"][0]["replacements"][0];
    assert_eq!(replacement["insertedContent"]["text"], "");
    assert_eq!(replacement["deletedRegion"], *region);
    assert!(results.iter().any(|r| r["level"] == "warning"));
    assert!(results
        .iter()
        .any(|r| r["level"] == "error" && r["ruleId"] == "parse"));
    for r in results {
        let id = r["ruleId"].as_str().unwrap();
        let i = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[i]["id"], id);
    }
}

//! MIGRATION.md (at the repository root) against the rules, so the two cannot drift:
//! - every rule of `rules/builtin.toml`, and every rule implemented outside it (listed in
//!   [`RULES_OUTSIDE_BUILTIN`]), has a section `` ## `ID` `` with a before and an after example;
//! - every needs-review message the engine gives on the fixtures and workspaces (their
//!   snapshots) and on manifests is covered: its rule's section, or the section common to every call rule, has a
//!   bullet `- "words": …` whose quoted words appear in the message;
//! - no section describes a rule that does not exist.

use std::collections::BTreeSet;
use std::path::Path;

/// Rules that live in code rather than in `rules/builtin.toml`: add the id here when adding its
/// section to MIGRATION.md (and to `explain`, which reads the same sections).
const RULES_OUTSIDE_BUILTIN: &[&str] = &[];

/// The section about the cases every call rule reports.
const COMMON: &str = "## Needs review with any call rule";

fn guide() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../MIGRATION.md");
    std::fs::read_to_string(path).expect("MIGRATION.md at the repository root")
}

fn rule_ids() -> BTreeSet<String> {
    let builtin = include_str!("../rules/builtin.toml");
    let doc: toml_edit::DocumentMut = builtin.parse().unwrap();
    let mut ids: BTreeSet<String> = doc["rules"]
        .as_table()
        .unwrap()
        .iter()
        .map(|(k, _)| k.to_string())
        .collect();
    ids.extend(RULES_OUTSIDE_BUILTIN.iter().map(|s| s.to_string()));
    ids
}

/// The text from `heading` to the next level-2 heading.
fn section<'a>(guide: &'a str, heading: &str) -> Option<&'a str> {
    let start = guide.find(&format!("{heading}\n"))?;
    let body = &guide[start + heading.len()..];
    Some(&body[..body.find("\n## ").unwrap_or(body.len())])
}

/// The quoted words of the section's `- "words": …` bullets.
fn cases(section: &str) -> Vec<&str> {
    section
        .lines()
        .filter_map(|l| l.strip_prefix("- \""))
        .filter_map(|l| l.split_once("\":").map(|(words, _)| words))
        .collect()
}

#[test]
fn every_rule_has_a_section_with_before_and_after() {
    let guide = guide();
    for id in rule_ids() {
        let s = section(&guide, &format!("## `{id}`"))
            .unwrap_or_else(|| panic!("MIGRATION.md has no section \"## `{id}`\""));
        assert!(
            s.contains("\nBefore:\n") && s.contains("\nAfter:\n"),
            "{id}: before/after"
        );
        assert!(s.matches("```").count() >= 4, "{id}: two code blocks");
    }
    let ids = rule_ids();
    for line in guide.lines() {
        if let Some(id) = line.strip_prefix("## `").and_then(|l| l.strip_suffix('`')) {
            assert!(
                ids.contains(id),
                "MIGRATION.md describes `{id}`, which is no rule"
            );
        }
    }
}

/// Every needs-review message in the engine's fixture snapshots and the workspace snapshots
/// (`tests/cli_workspaces.rs`), as (rule, message).
fn fixture_reviews() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.starts_with("engine_fixtures__") && !name.starts_with("cli_workspaces__") {
            continue;
        }
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            let Some((_, rest)) = line.split_once(" needs-review [") else {
                continue;
            };
            let (rule, message) = rest.split_once("] ").unwrap();
            out.push((rule.to_string(), message.to_string()));
        }
    }
    out
}

fn manifest_reviews() -> Vec<(String, String)> {
    let manifest = "[package]\nname = \"a\"\nversion = \"0.1.0\"\n\n[dependencies]\n\
                    lumenize-core = { path = \"../core\" }\n\n[dev-dependencies]\n\
                    lumenize-core = { git = \"https://example.invalid/x\" }\n";
    let m = lumenize_codemod::migrate_manifest(
        Path::new("a/Cargo.toml"),
        manifest,
        &lumenize_codemod::RuleSet::builtin(),
    );
    m.diagnostics
        .into_iter()
        .filter(|d| d.severity == lumenize_codemod::Severity::NeedsReview)
        .map(|d| (d.rule, d.message))
        .collect()
}

#[test]
fn every_needs_review_case_says_how_to_migrate_it_by_hand() {
    let guide = guide();
    let common = cases(section(&guide, COMMON).expect("the common section"));
    let reviews: Vec<(String, String)> = fixture_reviews()
        .into_iter()
        .chain(manifest_reviews())
        .collect();
    assert!(reviews.len() > 20, "the fixtures report needs-review cases");
    let mut missing = Vec::new();
    for (rule, message) in &reviews {
        let own = section(&guide, &format!("## `{rule}`"))
            .map(cases)
            .unwrap_or_default();
        if !own
            .iter()
            .chain(&common)
            .any(|words| message.contains(words))
        {
            missing.push(format!("[{rule}] {message}"));
        }
    }
    assert!(
        missing.is_empty(),
        "MIGRATION.md does not say how to migrate these by hand:\n{}",
        missing.join("\n")
    );
}

//! `--format sarif`: one SARIF 2.1.0 log on standard output, for code-scanning uploads.
//!
//! The tool driver lists the active rules (and the file-level ids a run used, such as `parse`
//! or `write`) with their help text; each finding is a result with its `ruleId`, a level
//! (`note` for an edit, `warning` for a site that needs review, `error`), and a region with
//! end positions; an edit also carries a `fixes` entry holding its replacement. Results are
//! collected during the run and printed at its end. `tests/cli_formats.rs` validates the log
//! against the official schema.

use std::collections::BTreeSet;

use lumenize_codemod::{Diagnostic, Edit, RuleInfo, Severity};
use serde_json::{json, Value};

use super::explain;
use super::span::Span;

/// The results of a run, until it is printed.
#[derive(Debug, Default)]
pub struct Log {
    results: Vec<(String, Value)>,
}

impl Log {
    /// An edit of `file` (`original` is the replaced text).
    pub fn edit(&mut self, file: &str, e: &Edit, span: Span, original: &str) {
        let message = if e.replacement.is_empty() {
            format!("removed `{}`", one_line(original))
        } else {
            format!(
                "replaced `{}` with `{}`",
                one_line(original),
                one_line(&e.replacement)
            )
        };
        let fix = json!({
            "description": { "text": message },
            "artifactChanges": [{
                "artifactLocation": { "uri": uri(file) },
                "replacements": [{
                    "deletedRegion": region(span),
                    "insertedContent": { "text": e.replacement },
                }],
            }],
        });
        let mut result = result(&e.rule, "note", &message, file, span);
        result["fixes"] = json!([fix]);
        self.results.push((e.rule.clone(), result));
    }

    /// A diagnostic.
    pub fn diagnostic(&mut self, d: &Diagnostic, span: Span) {
        let level = match d.severity {
            Severity::Edited => "note",
            Severity::NeedsReview => "warning",
            Severity::Error => "error",
        };
        let file = d.file.to_string_lossy();
        let r = result(&d.rule, level, &d.message, &file, span);
        self.results.push((d.rule.clone(), r));
    }

    /// The whole log, with `rules` (the active ones) in the driver.
    pub fn render(&self, rules: &[RuleInfo]) -> Value {
        let mut ids: Vec<(String, String)> = rules
            .iter()
            .map(|r| (r.id.clone(), r.summary.clone()))
            .collect();
        let known: BTreeSet<String> = ids.iter().map(|(id, _)| id.clone()).collect();
        let extra: BTreeSet<&String> = self
            .results
            .iter()
            .map(|(id, _)| id)
            .filter(|id| !known.contains(*id))
            .collect();
        for id in extra {
            ids.push((id.clone(), file_level_summary(id).to_string()));
        }
        let descriptors: Vec<Value> = ids.iter().map(|(id, s)| descriptor(id, s)).collect();
        let results: Vec<Value> = self
            .results
            .iter()
            .map(|(id, r)| {
                let mut r = r.clone();
                if let Some(i) = ids.iter().position(|(x, _)| x == id) {
                    r["ruleIndex"] = json!(i);
                }
                r
            })
            .collect();
        json!({
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [{
                "tool": { "driver": {
                    "name": "lumenize-codemod",
                    "version": env!("CARGO_PKG_VERSION"),
                    "informationUri": env!("CARGO_PKG_REPOSITORY"),
                    "rules": descriptors,
                }},
                "columnKind": "unicodeCodePoints",
                "results": results,
            }],
        })
    }
}

fn result(rule: &str, level: &str, message: &str, file: &str, span: Span) -> Value {
    let mut location = json!({ "artifactLocation": { "uri": uri(file) } });
    if span.line > 0 {
        location["region"] = region(span);
    }
    json!({
        "ruleId": rule,
        "level": level,
        "message": { "text": message },
        "locations": [{ "physicalLocation": location }],
    })
}

fn region(span: Span) -> Value {
    json!({
        "startLine": span.line.max(1),
        "startColumn": span.column.max(1),
        "endLine": span.end_line.max(span.line).max(1),
        "endColumn": span.end_column.max(1),
    })
}

fn descriptor(id: &str, summary: &str) -> Value {
    let help = explain::help_markdown(id).unwrap_or_else(|| summary.to_string());
    json!({
        "id": id,
        "shortDescription": { "text": summary },
        "help": { "text": help, "markdown": help },
        "helpUri": explain::help_uri(id),
    })
}

/// What the ids that are not rules stand for.
fn file_level_summary(id: &str) -> &'static str {
    match id {
        "parse" => "The file could not be parsed (or nests too deeply); it was left unchanged",
        "io" => "A path could not be read",
        "encoding" => "The file is not valid UTF-8",
        "manifest" => "Cargo.toml could not be parsed",
        "write" => "The file could not be written (nothing of its crate was)",
        "safety-net" => "The planned edits were rejected by the safety net",
        "verify" => "A compiler message on a migrated line (apply --verify)",
        "verify-await" => "An `.await` on a value that is no longer a future, removed",
        _ => "A finding of lumenize-codemod",
    }
}

/// A relative URI reference for a displayed path: `/` separators, bytes outside the
/// unreserved set percent-encoded.
fn uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if path.starts_with('/') {
        format!("file://{out}")
    } else {
        out
    }
}

fn one_line(s: &str) -> String {
    let s = s.trim();
    let first = s.lines().next().unwrap_or("");
    if first.len() < s.len() {
        format!("{first}…")
    } else {
        first.to_string()
    }
}

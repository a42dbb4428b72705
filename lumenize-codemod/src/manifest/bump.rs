//! The `dependency` rules (bump `lumenize-core = "0.9"` to `"1"`), as a span splice of the
//! version string so every other byte (comments, order, spacing) stays; and what the crate
//! context needs from a manifest: renamed-dependency aliases (`lc = { package =
//! "lumenize-core" }`) and the library's name.

use rustc_hash::FxHashMap as HashMap;
use std::path::Path;

use toml_edit::{ImDocument, Item};

use crate::results::{Diagnostic, Edit, FileMigration, Severity};
use crate::rules::{Dependency, RuleSet};
use crate::text::LineIndex;

use super::{dependency_tables, package_of};

/// Records `alias -> canonical crate name` for renamed dependencies on a rule's package.
pub(crate) fn collect_aliases(text: &str, rules: &RuleSet, out: &mut HashMap<String, String>) {
    let Ok(doc) = ImDocument::parse(text) else {
        return;
    };
    // The crates rule paths start with: a renamed dependency on one of them is followed (a
    // config file's own crate). Not the `[targets]` packages: those keep their library name
    // (lumenize-core-legacy is reached as `lumenize_core`).
    let roots = rules.roots();
    for table in dependency_tables(doc.as_table()).filter(|t| t.edited()) {
        for (key, item) in table.table.iter() {
            let package = package_of(key, item);
            let targeted = rules.dependencies.iter().any(|d| d.package == package)
                || roots.contains(&package.replace('-', "_"));
            if package != key && targeted {
                out.insert(key.replace('-', "_"), package.replace('-', "_"));
            }
        }
    }
}

/// The name the crate's library is reached by from its tests, examples, benches and binaries:
/// `[lib] name`, else `[package] name` with `-` turned into `_`. `None` when the manifest has
/// no package (a virtual workspace) or cannot be parsed. The flag is true when the manifest
/// declares a `[lib]` target (else the library exists only if `src/lib.rs` does).
pub(crate) fn lib_name(text: &str) -> Option<(String, bool)> {
    let doc = ImDocument::parse(text).ok()?;
    let root = doc.as_table();
    let explicit = root
        .get("lib")
        .and_then(|l| l.get("name"))
        .and_then(|n| n.as_str());
    let package = root
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str());
    let name = explicit.or(package)?.replace('-', "_");
    (!name.is_empty()).then(|| (name, root.contains_key("lib")))
}

/// Does a version requirement (`0.9`, `^0.9.2`, `~0.9`, `=0.9.0`) fall in `from`?
fn requirement_matches(req: &str, from: &str) -> bool {
    let v = req.trim().trim_start_matches(['^', '~', '=', ' ']);
    v == from
        || v.strip_prefix(from)
            .is_some_and(|rest| rest.starts_with('.'))
}

pub(crate) fn migrate_manifest(file: &Path, source: &str, rules: &RuleSet) -> FileMigration {
    let lines = LineIndex::new(source);
    let diag = |offset: usize, rule: &str, message: String, severity| {
        let (line, column) = lines.line_col(offset);
        Diagnostic {
            file: file.to_path_buf(),
            line,
            column,
            rule: rule.to_string(),
            message,
            severity,
        }
    };
    let unchanged = |diagnostics| FileMigration {
        output: source.to_string(),
        edits: Vec::new(),
        diagnostics,
    };
    if rules.dependencies.is_empty() {
        return unchanged(Vec::new());
    }
    let doc = match ImDocument::parse(source) {
        Ok(d) => d,
        Err(e) => {
            let at = e.span().map_or(0, |s| s.start);
            return unchanged(vec![diag(
                at,
                "parse",
                format!(
                    "could not parse this manifest ({}); it was left unchanged",
                    e.message()
                ),
                Severity::Error,
            )]);
        }
    };
    let mut edits = Vec::new();
    let mut diagnostics = Vec::new();
    for table in dependency_tables(doc.as_table()).filter(|t| t.edited()) {
        let table = table.table;
        for (key, item) in table.iter() {
            let package = package_of(key, item);
            // `lumenize-core = { package = "lumenize-core-legacy", path = … }` counts too.
            let Some(rule) = rules
                .dependencies
                .iter()
                .find(|d| d.package == package || d.package == key)
            else {
                continue;
            };
            let at = table
                .get_key_value(key)
                .and_then(|(k, _)| k.span())
                .map_or(0, |s| s.start);
            bump(
                source,
                key,
                item,
                rule,
                at,
                &mut edits,
                &mut diagnostics,
                &diag,
            );
        }
    }
    edits.sort_by_key(|e: &Edit| e.start);
    let output = crate::text::apply(source, 0, &edits);
    // Safety net: the result must still be a manifest.
    let valid = output
        .as_deref()
        .is_some_and(|o| edits.is_empty() || ImDocument::parse(o).is_ok());
    let (Some(output), true) = (output, valid) else {
        diagnostics.retain(|d| d.severity != Severity::Edited);
        diagnostics.push(diag(
            edits[0].start,
            "safety-net",
            "the version edit produced an invalid manifest; it was left unchanged".into(),
            Severity::Error,
        ));
        return unchanged(diagnostics);
    };
    diagnostics.sort_by_key(|d| (d.line, d.column));
    FileMigration {
        output,
        edits,
        diagnostics,
    }
}

#[allow(clippy::too_many_arguments)]
fn bump(
    source: &str,
    key: &str,
    item: &Item,
    rule: &Dependency,
    at: usize,
    edits: &mut Vec<Edit>,
    diagnostics: &mut Vec<Diagnostic>,
    diag: &dyn Fn(usize, &str, String, Severity) -> Diagnostic,
) {
    let version = match item {
        Item::Value(v) if v.is_str() => Some(v),
        _ => item
            .as_table_like()
            .and_then(|t| t.get("version"))
            .and_then(Item::as_value),
    };
    if let Some(t) = item.as_table_like() {
        for src_kind in ["path", "git"] {
            if t.get(src_kind).is_some() {
                diagnostics.push(diag(
                    at,
                    &rule.rule,
                    format!(
                        "`{key}` is a {src_kind} dependency: point it at {} {} by hand",
                        rule.package, rule.to
                    ),
                    Severity::NeedsReview,
                ));
                return;
            }
        }
        if t.get("workspace").and_then(Item::as_bool) == Some(true) {
            return; // the workspace manifest carries the version
        }
    }
    let Some(v) = version else {
        return;
    };
    let (Some(req), Some(span)) = (v.as_str(), v.span()) else {
        return;
    };
    if !requirement_matches(req, &rule.from) {
        return;
    }
    let quote = source[span.clone()]
        .chars()
        .next()
        .filter(|c| *c == '\'')
        .unwrap_or('"');
    let replacement = format!("{quote}{}{quote}", rule.to);
    let (line, column) = {
        let d = diag(span.start, &rule.rule, String::new(), Severity::Edited);
        (d.line, d.column)
    };
    edits.push(Edit {
        rule: rule.rule.clone(),
        start: span.start,
        end: span.end,
        replacement,
        line,
        column,
    });
    diagnostics.push(diag(
        span.start,
        &rule.rule,
        format!("`{key}`: \"{req}\" became \"{}\"", rule.to),
        Severity::Edited,
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> FileMigration {
        migrate_manifest(Path::new("Cargo.toml"), text, &RuleSet::builtin())
    }

    #[test]
    fn bumps_plain_and_table_forms_keeping_layout() {
        let input = "[package]\nname = \"app\"\n\n[dependencies]\n# the runtime\nlumenize-core = \"0.9\"   # pinned\n\n[dev-dependencies.lumenize-core]\nversion = '^0.9.2'\nfeatures = [\"x\"]\n";
        let m = run(input);
        assert_eq!(
            m.output,
            "[package]\nname = \"app\"\n\n[dependencies]\n# the runtime\nlumenize-core = \"1\"   # pinned\n\n[dev-dependencies.lumenize-core]\nversion = '1'\nfeatures = [\"x\"]\n"
        );
        assert_eq!(m.edits.len(), 2);
        assert_eq!((m.edits[0].line, m.edits[0].column), (6, 17));
        assert!(run(&m.output).edits.is_empty(), "idempotent");
    }

    #[test]
    fn lib_name_from_lib_table_or_package() {
        assert_eq!(
            lib_name("[package]\nname = \"reminder-desk\"\n"),
            Some(("reminder_desk".to_string(), false))
        );
        assert_eq!(
            lib_name("[package]\nname = \"app\"\n[lib]\nname = \"app_core\"\n"),
            Some(("app_core".to_string(), true))
        );
        assert_eq!(lib_name("[workspace]\nmembers = [\"a\"]\n"), None);
        assert_eq!(lib_name("[package\n"), None);
    }

    #[test]
    fn inline_table_and_renamed_dependency() {
        let input = "[dependencies]\nlc = { package = \"lumenize-core\", version = \"0.9\", features = [\"a\"] }\n";
        let m = run(input);
        assert_eq!(
            m.output,
            "[dependencies]\nlc = { package = \"lumenize-core\", version = \"1\", features = [\"a\"] }\n"
        );
        let mut aliases = HashMap::default();
        collect_aliases(input, &RuleSet::builtin(), &mut aliases);
        assert_eq!(aliases.get("lc").map(String::as_str), Some("lumenize_core"));
    }

    #[test]
    fn path_and_git_dependencies_are_reported_not_edited() {
        let input = "[dependencies]\nlumenize-core = { package = \"lumenize-core-legacy\", path = \"../legacy\" }\n[target.'cfg(unix)'.dependencies]\nlumenize-core = { git = \"https://example.com/x\", version = \"0.9\" }\n";
        let m = run(input);
        assert_eq!(m.output, input);
        assert_eq!(m.diagnostics.len(), 2, "{:?}", m.diagnostics);
        assert!(m
            .diagnostics
            .iter()
            .all(|d| d.severity == Severity::NeedsReview));
        assert_eq!((m.diagnostics[0].line, m.diagnostics[1].line), (2, 4));
    }

    #[test]
    fn invalid_manifest_is_an_error_not_a_panic() {
        let m = run("[dependencies\nx = 1");
        assert_eq!(m.diagnostics[0].severity, Severity::Error);
        assert!(!m.changed());
    }
}

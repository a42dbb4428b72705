//! The shape of a rules file, checked strictly before it is read: an unknown section or key
//! (a typo such as `drop-none-args`) or a value of the wrong type is an error with its line
//! and column, instead of a rule that silently does less. The reader in `rules.rs` then checks
//! what a shape cannot say (declared rule ids, path patterns, required pairs).

use std::collections::BTreeMap;

use serde::Deserialize;

/// A whole rules file (`rules/builtin.toml` or `lumenize-codemod.toml`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // Read only for its shape.
struct RulesFile {
    #[serde(default)]
    rules: BTreeMap<String, RuleDef>,
    #[serde(default, rename = "sync-fn")]
    sync_fn: Vec<SyncFnDef>,
    #[serde(default, rename = "sync-method")]
    sync_method: Vec<SyncMethodDef>,
    #[serde(default, rename = "fn-to-method")]
    fn_to_method: Vec<FnToMethodDef>,
    #[serde(default, rename = "removed-item")]
    removed_item: Vec<RemovedItemDef>,
    #[serde(default)]
    dependency: Vec<DependencyDef>,
    targets: Option<TargetsDef>,
    macros: Option<MacrosDef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct RuleDef {
    summary: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[allow(dead_code)]
struct SyncFnDef {
    rule: String,
    paths: Vec<String>,
    drop_none_arg: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[allow(dead_code)]
struct SyncMethodDef {
    rule: String,
    methods: Vec<String>,
    receiver_types: Option<Vec<String>>,
    receiver_methods: Option<Vec<String>>,
    value_adapter: Option<String>,
    unwrapped_adapter: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[allow(dead_code)]
struct FnToMethodDef {
    rule: String,
    paths: Vec<String>,
    method: String,
    receiver_arg: u32,
    import: Option<String>,
    import_satisfied_by: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct RemovedItemDef {
    rule: String,
    paths: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct DependencyDef {
    rule: String,
    package: String,
    from: String,
    to: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct TargetsDef {
    packages: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[allow(dead_code)]
struct MacrosDef {
    expression_lists: Option<Vec<String>>,
    implicit_await: Option<Vec<String>>,
}

/// Where a rules file is wrong: 1-based line and column (0 when the parser gave no position),
/// and why.
#[derive(Debug)]
pub(crate) struct ShapeError {
    pub line: usize,
    pub column: usize,
    pub reason: String,
}

/// Checks the shape of a rules file's text.
pub(crate) fn check(text: &str) -> Result<(), ShapeError> {
    let Err(e) = toml_edit::de::from_str::<RulesFile>(text) else {
        return Ok(());
    };
    let (line, column) = e.span().map_or((0, 0), |s| line_col(text, s.start));
    Err(ShapeError {
        line,
        column,
        reason: e.message().trim().to_string(),
    })
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_and_wrong_types_are_errors_with_positions() {
        let typo = "[rules.db]\nsummary = \"s\"\n\n[[sync-fn]]\nrule = \"db\"\npaths = [\"a::b\"]\ndrop-none-args = 2\n";
        let e = check(typo).unwrap_err();
        assert_eq!((e.line, e.column), (7, 1), "{e:?}");
        assert!(e.reason.contains("drop-none-args"), "{e:?}");
        let wrong = "[rules.db]\nsummary = 3\n";
        let e = check(wrong).unwrap_err();
        assert_eq!((e.line, e.column), (2, 11), "{e:?}");
        let section = "[rule.db]\nsummary = \"s\"\n";
        assert!(check(section).unwrap_err().reason.contains("rule"));
        check(include_str!("../../rules/builtin.toml")).unwrap();
    }
}

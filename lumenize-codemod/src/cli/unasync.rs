//! The `unasync` rule's place in the pipeline: after every file of a crate went through the
//! per-file rules, the crate's texts (as those rules left them) go through `unasync_crate`,
//! and its edits are composed with the earlier ones, so each file's outcome still holds one
//! list of edits on the text that was read (`process` merges the [`Change`]s).

use std::path::{Path, PathBuf};

use lumenize_codemod::{
    apply_edits, compose_edits, may_hold_async, unasync_crate, CrateContext, CrateFile, Diagnostic,
    Edit, RuleSet, Severity, UnasyncOptions, UNASYNC_RULE,
};

use super::eol;

/// A Rust file of the crate: absolute path, crate-relative path, text, selected for editing.
pub struct Source<'a> {
    pub path: &'a Path,
    pub engine_path: &'a Path,
    pub text: &'a str,
    pub selected: bool,
}

/// What the rule did to one source.
pub struct Change {
    /// Index into the sources.
    pub source: usize,
    /// Every edit of the file on the text that was read (the other rules' and this rule's),
    /// when this rule edited it.
    pub edits: Option<Vec<Edit>>,
    /// The new text (with the file's line endings), when `edits` is set.
    pub output: String,
    /// The new text differs from the one read.
    pub differs: bool,
    /// This rule's diagnostics, paths as shown.
    pub diagnostics: Vec<Diagnostic>,
}

/// `true` when the crate may hold an `async fn` (one byte search per file): otherwise the
/// rule is skipped and costs nothing more.
pub fn wanted(sources: &[Source]) -> bool {
    sources.iter().any(|s| may_hold_async(s.text.as_bytes()))
}

/// Runs the rule on the crate. `firsts[i]` are the other rules' edits of source `i`.
pub fn run(
    sources: &[Source],
    firsts: &[&[Edit]],
    ctx: &CrateContext,
    rules: &RuleSet,
    options: UnasyncOptions,
    keep_edited: bool,
    show: &dyn Fn(&Path) -> String,
) -> Vec<Change> {
    // Each file's text as the per-file rules left it (their edits reproduce their output).
    let texts: Vec<String> = sources
        .iter()
        .zip(firsts)
        .map(|(s, first)| {
            Some(first)
                .filter(|f| !f.is_empty())
                .and_then(|f| apply_edits(s.text, f))
                .unwrap_or_else(|| s.text.to_string())
        })
        .collect();
    let files: Vec<CrateFile> = sources
        .iter()
        .zip(&texts)
        .map(|(s, t)| CrateFile {
            path: s.engine_path,
            text: t,
            editable: s.selected,
        })
        .collect();
    // On a pool thread (with its large stack: syn recurses on nesting), even when rayon ran
    // this crate's closure on the calling thread.
    let results = rayon::scope(|_| unasync_crate(&files, ctx, rules, options));
    let mut changes = Vec::new();
    for (i, m) in results.into_iter().enumerate() {
        if m.edits.is_empty() && m.diagnostics.is_empty() {
            continue;
        }
        let s = &sources[i];
        let shown = show(s.path);
        let mut change = Change {
            source: i,
            edits: None,
            output: String::new(),
            differs: false,
            diagnostics: m
                .diagnostics
                .into_iter()
                .filter(|d| keep_edited || d.severity != Severity::Edited)
                .map(|mut d| {
                    d.file = PathBuf::from(&shown);
                    d
                })
                .collect(),
        };
        if !m.edits.is_empty() {
            match compose_edits(s.text, firsts[i], &m.edits) {
                Some(edits) => {
                    change.output = eol::with_line_endings(s.text, m.output, &edits);
                    change.differs = *s.text != change.output;
                    change.edits = Some(edits);
                }
                None => change.diagnostics.push(Diagnostic {
                    file: PathBuf::from(&shown),
                    line: 0,
                    column: 0,
                    rule: UNASYNC_RULE.to_string(),
                    message: "the unasync edits overlap the other rules' edits and were not \
                              applied: please report this"
                        .to_string(),
                    severity: Severity::Error,
                }),
            }
        }
        changes.push(change);
    }
    changes
}

//! One file, start to finish: parse, plan the splices (rewriter, macro bodies, imports), apply
//! them through the safety net, and turn offsets into the public [`Edit`]s and [`Diagnostic`]s.

use rustc_hash::FxHashMap as HashMap;
use std::path::Path;

use crate::check::{self, deletions::Deletable};
use crate::plan::{imports, prefilter, Rewriter};
use crate::resolve::{collect_modules, module_path_for, CrateContext, Resolver};
use crate::results::{Diagnostic, Edit, FileMigration, Severity};
use crate::rules::RuleSet;
use crate::syntax::Src;
use crate::text::{parse_base, too_deep, LineIndex, Note, SpanPositions, MAX_NESTING};

pub(crate) fn migrate(
    file: &Path,
    source: &str,
    ctx: &CrateContext,
    rules: &RuleSet,
) -> FileMigration {
    let result = migrate_inner(file, source, ctx, rules);
    // Spans of every parse of this file are dead now; free the thread's source map.
    proc_macro2::extra::invalidate_current_thread_spans();
    result
}

fn migrate_inner(file: &Path, source: &str, ctx: &CrateContext, rules: &RuleSet) -> FileMigration {
    let lines = LineIndex::new(source);
    let unchanged = |diagnostics| FileMigration {
        output: source.to_string(),
        edits: Vec::new(),
        diagnostics,
    };
    let base = parse_base(source);
    let pos = SpanPositions::new(&source[base..]);
    let src = Src {
        text: source,
        base,
        pos: &pos,
    };
    // syn recurses on nesting and a stack overflow aborts the process: refuse first.
    if let Some(at) = too_deep(&source[base..], MAX_NESTING) {
        let (line, column) = lines.line_col(base + at);
        return unchanged(vec![Diagnostic {
            file: file.to_path_buf(),
            line,
            column,
            rule: "parse".into(),
            message: format!(
                "this file nests more than {MAX_NESTING} levels deep here (brackets, generics, \
                 closures); it was left unchanged: migrate it by hand"
            ),
            severity: Severity::Error,
        }]);
    }
    // The safety net lexes the units it checks on its own, so the file's tokens go to syn
    // (shared, they would be copied for it).
    let parsed = std::str::FromStr::from_str(&source[base..])
        .map_err(|e: proc_macro2::LexError| syn::Error::new(e.span(), e))
        .and_then(syn::parse2::<syn::File>);
    let parsed = match parsed {
        Ok(f) => f,
        Err(e) => {
            let (line, column) = lines.line_col(src.span(e.span()).0);
            return unchanged(vec![Diagnostic {
                file: file.to_path_buf(),
                line,
                column,
                rule: "parse".into(),
                message: format!("could not parse this file ({e}); it was left unchanged"),
                severity: Severity::Error,
            }]);
        }
    };
    let module = module_path_for(file);
    let mut file_modules = HashMap::default();
    collect_modules(&parsed.items, &module, &mut file_modules);
    let is_target = |p: &[String]| rules.names_path(p);
    let resolver = Resolver::new(ctx, &file_modules, &is_target);
    let evidence = prefilter::mentions_target_crate(source.as_bytes(), ctx, rules);
    let mut rw = Rewriter::new(src, rules, &resolver, module, evidence);
    // Imports of removed items: their names are watched while the rewriter runs (a use left
    // keeps the import), and dropped after it when no use is left.
    let leaves = imports::removed_leaves(&rw, &parsed);
    imports::watch_import_names(&mut rw, &leaves);
    syn::visit::Visit::visit_file(&mut rw, &parsed);
    imports::plan(&mut rw, &parsed, &leaves);
    drop(leaves);
    let (mut splices, mut notes) = rw.into_plan();

    // Deletions the grammar guarantees, read off the original tree (see `deletions`).
    let deletable = if splices.is_empty() {
        Deletable::default()
    } else {
        let mut near: Vec<usize> = splices.iter().map(|s| s.start).collect();
        near.sort_unstable();
        Deletable::collect(src, &parsed, &near)
    };
    drop(parsed);
    let output = match check::apply_and_verify(src, &deletable, &mut splices) {
        Ok(out) => out,
        Err(reason) => {
            let offset = splices.first().map_or(0, |s| s.start);
            notes.retain(|n| n.severity != Severity::Edited);
            notes.push(Note {
                offset,
                rule: "safety-net".into(),
                message: format!(
                    "the planned edits were rejected ({reason}); the file was left unchanged: \
                     please report this and migrate it by hand"
                ),
                severity: Severity::Error,
            });
            splices.clear();
            source.to_string()
        }
    };
    let edits = splices
        .into_iter()
        .map(|s| {
            let (line, column) = lines.line_col(s.start);
            Edit {
                rule: s.rule,
                start: s.start,
                end: s.end,
                replacement: s.replacement,
                line,
                column,
            }
        })
        .collect();
    notes.sort_by_key(|n| n.offset);
    let diagnostics = notes
        .into_iter()
        .map(|n| {
            let (line, column) = lines.line_col(n.offset);
            Diagnostic {
                file: file.to_path_buf(),
                line,
                column,
                rule: n.rule,
                message: n.message,
                severity: n.severity,
            }
        })
        .collect();
    FileMigration {
        output,
        edits,
        diagnostics,
    }
}

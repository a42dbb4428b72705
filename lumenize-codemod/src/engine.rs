//! One file, start to finish: parse, plan the splices (rewriter, macro bodies, imports), apply
//! them through the safety net, and turn offsets into the public [`Edit`]s and [`Diagnostic`]s.

use rustc_hash::FxHashMap as HashMap;
use std::path::Path;

use proc_macro2::Span;
use syn::spanned::Spanned;

use crate::deletions::Deletable;
use crate::resolve::{collect_modules, module_path_for, CrateContext, Resolver};
use crate::rules::RuleSet;
use crate::text::{LineIndex, SpanPositions};
use crate::{apply, imports, prefilter, rewrite, Diagnostic, Edit, FileMigration, Severity};

/// Byte offsets into the original text for spans of the parsed part of it (which starts after
/// a BOM and a shebang line, at `base`).
#[derive(Clone, Copy)]
pub(crate) struct Src<'a> {
    pub text: &'a str,
    pub base: usize,
    /// Line/column to byte conversion for the parsed part.
    pub pos: &'a SpanPositions<'a>,
}

impl Src<'_> {
    pub(crate) fn span(&self, span: Span) -> (usize, usize) {
        let r = self.pos.range(span);
        (r.start + self.base, r.end + self.base)
    }

    pub(crate) fn node<T: Spanned + ?Sized>(&self, node: &T) -> (usize, usize) {
        self.span(node.span())
    }

    /// Byte range of a statement: like [`Src::node`], from its first and last tokens when the
    /// common shapes show them directly (`Spanned` rebuilds the whole statement's tokens to
    /// find them, which showed up in profiles); debug builds check both agree.
    pub(crate) fn stmt(&self, stmt: &syn::Stmt) -> (usize, usize) {
        let quick = match stmt {
            syn::Stmt::Local(l) if l.attrs.is_empty() => Some((
                self.span(l.let_token.span).0,
                self.span(l.semi_token.span).1,
            )),
            syn::Stmt::Expr(e, Some(semi)) => {
                first_token(e).map(|f| (self.span(f).0, self.span(semi.span).1))
            }
            _ => None,
        };
        debug_assert!(quick.is_none_or(|q| q == self.node(stmt)), "{quick:?}");
        quick.unwrap_or_else(|| self.node(stmt))
    }

    /// Byte range of an expression: like [`Src::node`], from its first and last tokens for the
    /// shapes where both are a field or two away (call sites' callees and arguments mostly);
    /// debug builds check both agree.
    pub(crate) fn expr(&self, e: &syn::Expr) -> (usize, usize) {
        let quick = first_token(e)
            .zip(last_token(e))
            .map(|(f, l)| (self.span(f).0, self.span(l).1));
        debug_assert!(quick.is_none_or(|q| q == self.node(e)), "{quick:?}");
        quick.unwrap_or_else(|| self.node(e))
    }

    /// Byte offset where a statement starts, when its first token is a field or two away (no
    /// attributes on the way); `None` for the rest (items among them). Debug builds check it
    /// against [`Src::node`].
    pub(crate) fn stmt_start(&self, stmt: &syn::Stmt) -> Option<usize> {
        let first = match stmt {
            syn::Stmt::Local(l) if l.attrs.is_empty() => Some(l.let_token.span),
            syn::Stmt::Expr(e, _) => first_token(e),
            syn::Stmt::Macro(m) if m.attrs.is_empty() => macro_first_token(&m.mac),
            _ => None,
        };
        let start = first.map(|f| self.span(f).0);
        debug_assert!(start.is_none_or(|s| s == self.node(stmt).0), "{start:?}");
        start
    }

    pub(crate) fn slice(&self, (s, e): (usize, usize)) -> &str {
        self.text.get(s..e).unwrap_or("")
    }
}

/// The span of an expression's first token, for the shapes where it is one field away (no
/// attributes on the way); `None` for the rest.
fn first_token(e: &syn::Expr) -> Option<Span> {
    use syn::Expr;
    match e {
        Expr::Await(x) if x.attrs.is_empty() => first_token(&x.base),
        Expr::Call(x) if x.attrs.is_empty() => first_token(&x.func),
        Expr::MethodCall(x) if x.attrs.is_empty() => first_token(&x.receiver),
        Expr::Try(x) if x.attrs.is_empty() => first_token(&x.expr),
        Expr::Field(x) if x.attrs.is_empty() => first_token(&x.base),
        Expr::Index(x) if x.attrs.is_empty() => first_token(&x.expr),
        Expr::Assign(x) if x.attrs.is_empty() => first_token(&x.left),
        Expr::Binary(x) if x.attrs.is_empty() => first_token(&x.left),
        Expr::Path(x) if x.attrs.is_empty() && x.qself.is_none() => path_first_token(&x.path),
        Expr::Macro(x) if x.attrs.is_empty() => macro_first_token(&x.mac),
        Expr::If(x) if x.attrs.is_empty() => Some(x.if_token.span),
        Expr::Match(x) if x.attrs.is_empty() => Some(x.match_token.span),
        Expr::Return(x) if x.attrs.is_empty() => Some(x.return_token.span),
        Expr::Lit(x) if x.attrs.is_empty() => Some(x.lit.span()),
        Expr::Reference(x) if x.attrs.is_empty() => Some(x.and_token.span),
        _ => None,
    }
}

/// The span of an expression's last token, for the shapes where it is a field or two away
/// (no attributes); `None` for the rest.
fn last_token(e: &syn::Expr) -> Option<Span> {
    use syn::Expr;
    match e {
        Expr::Path(x) if x.attrs.is_empty() && x.qself.is_none() => {
            let last = x.path.segments.last()?;
            last.arguments.is_none().then(|| last.ident.span())
        }
        Expr::Lit(x) if x.attrs.is_empty() => Some(x.lit.span()),
        Expr::Call(x) if x.attrs.is_empty() => Some(x.paren_token.span.close()),
        Expr::MethodCall(x) if x.attrs.is_empty() => Some(x.paren_token.span.close()),
        Expr::Await(x) if x.attrs.is_empty() => Some(x.await_token.span),
        Expr::Try(x) if x.attrs.is_empty() => Some(x.question_token.span),
        Expr::Field(x) if x.attrs.is_empty() => Some(match &x.member {
            syn::Member::Named(i) => i.span(),
            syn::Member::Unnamed(i) => i.span,
        }),
        Expr::Reference(x) if x.attrs.is_empty() => last_token(&x.expr),
        _ => None,
    }
}

fn path_first_token(p: &syn::Path) -> Option<Span> {
    match &p.leading_colon {
        Some(c) => Some(c.spans[0]),
        None => p.segments.first().map(|s| s.ident.span()),
    }
}

fn macro_first_token(m: &syn::Macro) -> Option<Span> {
    path_first_token(&m.path)
}

/// The region the safety net re-parses for a splice, and as what.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UnitKind {
    /// A function body: re-parsed as a block.
    Block,
    /// One statement (the innermost holding the splices): re-parsed as a statement.
    Stmt,
    /// Zero or more whole items (imports): re-parsed as a file.
    Items,
    /// The whole file.
    Whole,
}

/// A re-parse unit: `start..end` of the original text.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Unit {
    pub kind: UnitKind,
    pub start: usize,
    pub end: usize,
}

/// A planned byte-range splice.
#[derive(Clone, Debug)]
pub(crate) struct Splice {
    pub rule: String,
    pub start: usize,
    pub end: usize,
    pub replacement: String,
    pub unit: Unit,
}

/// A planned diagnostic, at a byte offset of the original text.
#[derive(Clone, Debug)]
pub(crate) struct Note {
    pub offset: usize,
    pub rule: String,
    pub message: String,
    pub severity: Severity,
}

/// True when an external path is one the rules name (a target, a removed item, a receiver
/// type, an import that satisfies a rule).
pub(crate) fn is_rule_path(rules: &RuleSet, p: &[String]) -> bool {
    rules
        .sync_fns
        .iter()
        .flat_map(|r| &r.paths)
        .any(|x| x.matches(p))
        || rules.fn_to_methods.iter().any(|r| {
            r.paths.iter().any(|x| x.matches(p))
                || r.import_satisfied_by.iter().any(|x| x.matches(p))
        })
        || rules
            .removed
            .iter()
            .flat_map(|r| &r.paths)
            .any(|x| x.matches(p))
        || rules
            .sync_methods
            .iter()
            .flat_map(|r| &r.receiver_types)
            .any(|x| x.matches(p))
}

/// Where the parsed part of `source` starts: after a BOM and a shebang line (as syn does).
pub(crate) fn parse_base(source: &str) -> usize {
    let mut base = 0;
    if source.starts_with('\u{feff}') {
        base = 3;
    }
    let rest = &source[base..];
    if let Some(after) = rest.strip_prefix("#!") {
        if !after.trim_start().starts_with('[') {
            base += rest.find('\n').unwrap_or(rest.len());
        }
    }
    base
}

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
    let is_target = |p: &[String]| is_rule_path(rules, p);
    let resolver = Resolver::new(ctx, &file_modules, &is_target);
    let evidence = prefilter::mentions_target_crate(source.as_bytes(), ctx, rules);
    let mut rw = rewrite::Rewriter::new(src, rules, &resolver, module, evidence);
    // Imports of removed items: their names are watched while the rewriter runs (a use left
    // keeps the import), and dropped after it when no use is left.
    let leaves = imports::removed_leaves(&rw, &parsed);
    imports::watch_import_names(&mut rw, &leaves);
    syn::visit::Visit::visit_file(&mut rw, &parsed);
    imports::plan(&mut rw, &parsed, &leaves);
    drop(leaves);
    let rewrite::Rewriter {
        mut splices,
        mut notes,
        ..
    } = rw;

    // Deletions the grammar guarantees, read off the original tree (see `deletions`).
    let deletable = if splices.is_empty() {
        Deletable::default()
    } else {
        let mut near: Vec<usize> = splices.iter().map(|s| s.start).collect();
        near.sort_unstable();
        Deletable::collect(src, &parsed, &near)
    };
    drop(parsed);
    let output = match apply::apply_and_verify(src, &deletable, &mut splices) {
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

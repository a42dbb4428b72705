//! Deletions the safety net can accept without re-parsing: read off syn's parse of the
//! original file, not off the rewriter's plan.
//!
//! Most edits delete a `.await` or a call's last argument (`, None`). Re-parsing the statement
//! after such an edit can only confirm what the grammar already guarantees, so the net skips
//! that parse for a unit whose every splice is one of these deletions (it still re-lexes the
//! unit and compares token streams, which proves the splice removed exactly the element's
//! tokens and merged nothing). What makes each kind safe:
//!
//! * `base.await` → `base`. In syn's grammar `.await` is a postfix of the tightest precedence,
//!   so its operand parses wherever the whole did, with one exception: a statement-like base
//!   ending in `}` (`match x {}.await + 1;`, `let … = match x {}.await else {…}`), which
//!   changes meaning or stops parsing once the postfix is gone. A base whose last token is a
//!   `}` is therefore not listed.
//! * `f(a, b)` / `x.m(a, b)` → `f(a)` / `x.m(a)` (the comma before the last argument and the
//!   argument). A call's argument list is any number of comma-separated expressions, with or
//!   without a trailing comma, so one fewer still parses. Only calls with two or more
//!   arguments are listed.
//!
//! The elements are collected from the original syntax tree, so only code syn parsed is
//! covered: edits inside macro bodies (which the statement re-parse never looked into either)
//! and everything else go through the full re-parse.

use syn::punctuated::Punctuated;
use syn::visit::Visit;
use syn::{Expr, Token};

use crate::engine::Src;

/// Byte ranges (sorted) of the elements a splice may delete without a re-parse.
#[derive(Debug, Default)]
pub(crate) struct Deletable(Vec<(usize, usize)>);

impl Deletable {
    /// Collects the deletable elements of the original file.
    pub(crate) fn collect(src: Src<'_>, file: &syn::File) -> Deletable {
        let mut c = Collector {
            src,
            out: Vec::new(),
        };
        c.visit_file(file);
        c.out.sort_unstable();
        Deletable(c.out)
    }

    /// True when `text[start..end]`, less surrounding whitespace, is exactly one listed
    /// element (whitespace only around it: a comment there makes it not a plain deletion).
    pub(crate) fn covers(&self, text: &str, start: usize, end: usize) -> bool {
        let Some(s) = text.get(start..end) else {
            return false;
        };
        let a = start + (s.len() - s.trim_start().len());
        let b = end - (s.len() - s.trim_end().len());
        self.0.binary_search(&(a, b)).is_ok()
    }
}

struct Collector<'s> {
    src: Src<'s>,
    out: Vec<(usize, usize)>,
}

impl Collector<'_> {
    /// The comma before the last argument through the last argument's end (before any
    /// trailing comma and whitespace).
    fn last_argument(&mut self, args: &Punctuated<Expr, Token![,]>, close: proc_macro2::Span) {
        let n = args.len();
        if n < 2 {
            return;
        }
        let Some(comma) = args.pairs().nth(n - 2).and_then(|p| p.punct().copied()) else {
            return;
        };
        let start = self.src.span(comma.span).0;
        let after = match args.trailing_punct() {
            true => args.pairs().next_back().and_then(|p| p.punct().copied()),
            false => None,
        };
        let end = after.map_or_else(|| self.src.span(close).0, |t| self.src.span(t.span).0);
        let Some(between) = self.src.text.get(start..end) else {
            return;
        };
        self.out.push((start, start + between.trim_end().len()));
    }
}

impl<'ast> Visit<'ast> for Collector<'_> {
    fn visit_expr_await(&mut self, e: &'ast syn::ExprAwait) {
        let (dot, _) = self.src.span(e.dot_token.span);
        let (_, end) = self.src.span(e.await_token.span);
        // The base's last token is the last character before the dot, unless a comment sits
        // in between (`*/`, or `//` on that line): then the element is left to the re-parse.
        let before = self.src.text.get(..dot).unwrap_or("").trim_end();
        let line = before.rsplit('\n').next().unwrap_or("");
        if !before.is_empty() && !before.ends_with(['}', '/']) && !line.contains("//") {
            self.out.push((dot, end));
        }
        syn::visit::visit_expr_await(self, e);
    }

    fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
        self.last_argument(&c.args, c.paren_token.span.close());
        syn::visit::visit_expr_call(self, c);
    }

    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        self.last_argument(&m.args, m.paren_token.span.close());
        syn::visit::visit_expr_method_call(self, m);
    }
}

//! Edits the safety net can accept without re-parsing: read off syn's parse of the original
//! file, not off the rewriter's plan.
//!
//! Most edits delete a `.await` or a call's last argument (`, None`), or an import from a
//! `use` group. Re-parsing the unit after such an edit can only confirm what the grammar
//! already guarantees, so the net skips that parse for a unit whose every splice is one of
//! these (it still re-lexes the unit and compares token streams, which proves the splice
//! removed exactly the element's tokens and merged nothing). What makes each kind safe:
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
//! * `use a::{b, c, d}` → `use a::{b, d}` (one tree with the comma after it, or the last tree
//!   with the comma before it): a `use` group is any number of comma-separated trees.
//! * Any edit strictly inside the delimiters of a macro invocation that lies wholly inside the
//!   unit, when the text it removes and the text it inserts each lex to balanced delimiters.
//!   syn keeps a macro's body as opaque tokens, so the unit's re-parse never looks into it:
//!   with the tokens around the edit unchanged (the token check) and the nesting intact, the
//!   unit parses exactly as before. (The body itself was never re-parsed by the net either; it
//!   is parsed by the rewriter, which is how the edit was planned.)
//!
//! The elements are collected from the original syntax tree, so only code syn parsed is
//! covered; everything else goes through the full re-parse.

use syn::punctuated::Punctuated;
use syn::visit::Visit;
use syn::{Expr, Token};

use crate::syntax::Src;
use crate::text::Splice;

/// Byte ranges (sorted) of the elements a splice may delete without a re-parse, and of the
/// macro invocations in whose bodies any balanced edit is safe.
#[derive(Debug, Default)]
pub(crate) struct Deletable {
    elements: Vec<(usize, usize)>,
    /// `(open, close)`: offsets of each macro invocation's delimiters.
    macros: Vec<(usize, usize)>,
}

impl Deletable {
    /// Collects the deletable elements of the original file that could matter to splices
    /// starting at `near` (sorted offsets): an element or macro body only covers a splice that
    /// starts inside it, so blocks holding no such offset are not walked (most function
    /// bodies, on a typical file).
    pub(crate) fn collect(src: Src<'_>, file: &syn::File, near: &[usize]) -> Deletable {
        let mut c = Collector {
            src,
            near,
            in_block: false,
            out: Vec::new(),
            macros: Vec::new(),
        };
        c.visit_file(file);
        c.out.sort_unstable();
        c.macros.sort_unstable();
        Deletable {
            elements: c.out,
            macros: c.macros,
        }
    }

    /// True when the splice cannot make the unit (its `(start, end)` offsets) stop parsing:
    /// it deletes one listed element, or it edits a macro body inside the unit in balance.
    pub(crate) fn keeps_parsing(&self, text: &str, unit: (usize, usize), s: &Splice) -> bool {
        (s.replacement.is_empty() && self.covers(text, s.start, s.end))
            || self.inside_macro(unit, s.start, s.end)
                && text.get(s.start..s.end).is_some_and(balanced)
                && balanced(&s.replacement)
    }

    /// True when `start..end` lies inside the delimiters of a macro invocation that lies
    /// wholly inside the unit.
    fn inside_macro(&self, (us, ue): (usize, usize), start: usize, end: usize) -> bool {
        // Invocations opening at or before `start`; any of them may enclose the edit.
        let upto = self.macros.partition_point(|m| m.0 < start);
        self.macros[..upto]
            .iter()
            .any(|&(open, close)| us <= open && close < ue && end <= close)
    }

    /// True when `text[start..end]`, less surrounding whitespace, is exactly one listed
    /// element (whitespace only around it: a comment there makes it not a plain deletion).
    pub(crate) fn covers(&self, text: &str, start: usize, end: usize) -> bool {
        let Some(s) = text.get(start..end) else {
            return false;
        };
        let a = start + (s.len() - s.trim_start().len());
        let b = end - (s.len() - s.trim_end().len());
        self.elements.binary_search(&(a, b)).is_ok()
    }
}

/// True when `text` lexes (quick lexer) to tokens whose delimiters balance; `false` when it
/// does not, or is outside the quick lexer's subset.
fn balanced(text: &str) -> bool {
    crate::lex::lex(text, &mut Vec::new()).is_some()
}

struct Collector<'s> {
    src: Src<'s>,
    near: &'s [usize],
    /// Inside a block that holds a splice.
    in_block: bool,
    out: Vec<(usize, usize)>,
    macros: Vec<(usize, usize)>,
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
    fn visit_block(&mut self, b: &'ast syn::Block) {
        // Only the outermost block (a function body, mostly) is checked: the ones inside a
        // walked block are walked with it (each check costs two span lookups).
        if self.in_block {
            return syn::visit::visit_block(self, b);
        }
        let open = self.src.span(b.brace_token.span.open()).0;
        let close = self.src.span(b.brace_token.span.close()).0;
        let from = self.near.partition_point(|&n| n < open);
        if self.near.get(from).is_some_and(|&n| n <= close) {
            self.in_block = true;
            syn::visit::visit_block(self, b);
            self.in_block = false;
        }
    }

    // Types, signatures and attributes hold no element a rule edits: not walked. (An edit
    // there would only go through the re-parse.)
    fn visit_type(&mut self, _: &'ast syn::Type) {}
    fn visit_signature(&mut self, _: &'ast syn::Signature) {}
    fn visit_attribute(&mut self, _: &'ast syn::Attribute) {}
    fn visit_generics(&mut self, _: &'ast syn::Generics) {}

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        let span = match &m.delimiter {
            syn::MacroDelimiter::Paren(d) => d.span,
            syn::MacroDelimiter::Brace(d) => d.span,
            syn::MacroDelimiter::Bracket(d) => d.span,
        };
        let open = self.src.span(span.open()).0;
        let close = self.src.span(span.close()).0;
        self.macros.push((open, close));
        syn::visit::visit_macro(self, m);
    }

    fn visit_use_group(&mut self, g: &'ast syn::UseGroup) {
        if g.items.len() >= 2 {
            let mut prev_comma: Option<usize> = None;
            for pair in g.items.pairs() {
                let (start, end) = self.src.node(pair.value());
                if let Some(comma) = pair.punct() {
                    self.out.push((start, self.src.span(comma.span).1));
                }
                if let Some(c) = prev_comma {
                    self.out.push((c, end));
                }
                prev_comma = pair.punct().map(|c| self.src.span(c.span).0);
            }
        }
        syn::visit::visit_use_group(self, g);
    }

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

//! Byte ranges of syntax nodes: syn's spans turned into offsets of the original text.

use proc_macro2::Span;
use syn::spanned::Spanned;

use crate::text::SpanPositions;

/// Byte offsets into the original text for spans of the parsed part of it (which starts after
/// a BOM and a shebang line, at `base`).
#[derive(Clone, Copy)]
pub(crate) struct Src<'a> {
    pub text: &'a str,
    pub base: usize,
    /// Line/column to byte conversion for the parsed part.
    pub pos: &'a SpanPositions<'a>,
}

impl<'a> Src<'a> {
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

    pub(crate) fn slice(&self, (s, e): (usize, usize)) -> &'a str {
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

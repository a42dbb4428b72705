//! The outline walk over a proc-macro2 `TokenStream`: the fallback for text the quick lexer
//! ([`crate::lexer`]) does not follow, and the reference [`super::quick`] is checked against in
//! debug builds.

use proc_macro2::{Delimiter, Group, Ident, TokenStream, TokenTree};

use super::Outline;

/// The outline of a whole file, or `None` when it does not lex or the walk gives up.
pub(super) fn outline(text: &str) -> Option<Vec<Outline>> {
    let ts: TokenStream = text.parse().ok()?;
    items(ts)
}

fn into_stream(g: Group) -> TokenStream {
    // The only handle left to the stream, so iterating it moves the tokens (see `apply`).
    let inner = g.stream();
    drop(g);
    inner
}

fn items(ts: TokenStream) -> Option<Vec<Outline>> {
    let toks: Vec<TokenTree> = ts.into_iter().collect();
    let mut w = Walk { toks, at: 0 };
    let mut out = Vec::new();
    w.inner_attributes();
    while !w.done() {
        out.push(w.item()?);
    }
    Some(out)
}

/// A cursor over one level of tokens (a file's or an inline module's).
struct Walk {
    toks: Vec<TokenTree>,
    at: usize,
}

fn punct(t: Option<&TokenTree>, c: char) -> bool {
    matches!(t, Some(TokenTree::Punct(p)) if p.as_char() == c)
}

fn ident(t: Option<&TokenTree>) -> Option<&Ident> {
    match t {
        Some(TokenTree::Ident(i)) => Some(i),
        _ => None,
    }
}

fn keyword(t: Option<&TokenTree>, k: &str) -> bool {
    ident(t).is_some_and(|i| i == k)
}

fn group(t: Option<&TokenTree>, d: Delimiter) -> bool {
    matches!(t, Some(TokenTree::Group(g)) if g.delimiter() == d)
}

impl Walk {
    fn done(&self) -> bool {
        self.at >= self.toks.len()
    }

    fn peek(&self, k: usize) -> Option<&TokenTree> {
        self.toks.get(self.at + k)
    }

    /// `#![…]` attributes (and `//!` doc comments) at the start of a file or module.
    fn inner_attributes(&mut self) {
        while punct(self.peek(0), '#')
            && punct(self.peek(1), '!')
            && group(self.peek(2), Delimiter::Bracket)
        {
            self.at += 3;
        }
    }

    /// `#[…]` attributes (and `///` doc comments).
    fn outer_attributes(&mut self) {
        while punct(self.peek(0), '#') && group(self.peek(1), Delimiter::Bracket) {
            self.at += 2;
        }
    }

    /// `pub`, `pub(crate)`, `pub(in …)`, … (nothing when absent).
    fn visibility(&mut self) {
        if keyword(self.peek(0), "pub") {
            self.at += 1;
            if group(self.peek(0), Delimiter::Parenthesis) {
                self.at += 1;
            }
        }
    }

    /// The tokens `from..=` the next top-level `;`, moved out (replaced by placeholders).
    fn take_through_semi(&mut self, from: usize) -> Option<TokenStream> {
        let end = (self.at..self.toks.len()).find(|&i| punct(self.toks.get(i), ';'))?;
        let ts = self.toks[from..=end]
            .iter_mut()
            .map(|t| {
                std::mem::replace(
                    t,
                    TokenTree::Punct(proc_macro2::Punct::new(';', proc_macro2::Spacing::Alone)),
                )
            })
            .collect();
        self.at = end + 1;
        Some(ts)
    }

    /// Skips to the end of an item: through the next top-level `;`, or through the next
    /// brace group when `brace_ends` (a body).
    fn skip_item(&mut self, brace_ends: bool) -> Option<()> {
        while let Some(t) = self.peek(0) {
            let end = punct(Some(t), ';') || (brace_ends && group(Some(t), Delimiter::Brace));
            self.at += 1;
            if end {
                return Some(());
            }
        }
        None
    }

    /// The name after the current token (which the caller has checked), then the item skipped.
    /// syn keeps a function without a body, and a `const`, `static` or `type` without `=`, as
    /// unstructured tokens that bind nothing; so does this (they only occur in invalid code).
    fn named(&mut self, kind: &str) -> Option<Outline> {
        let name = ident(self.peek(0))?.to_string();
        self.at += 1;
        let from = self.at;
        let valued = matches!(kind, "const" | "static" | "type");
        self.skip_item(!valued)?;
        let body = &self.toks[from..self.at];
        let complete = match kind {
            "fn" => group(body.last(), Delimiter::Brace),
            _ if valued => body.iter().any(|t| punct(Some(t), '=')),
            _ => true,
        };
        Some(if complete {
            Outline::Named(name)
        } else {
            Outline::Unnamed
        })
    }

    fn item(&mut self) -> Option<Outline> {
        self.outer_attributes();
        let after_attrs = self.at;
        self.visibility();
        let t0 = self.peek(0);
        if keyword(t0, "use") {
            let ts = self.take_through_semi(after_attrs)?;
            return syn::parse2(ts)
                .ok()
                .map(|u| Outline::Item(Box::new(syn::Item::Use(u))));
        }
        if keyword(t0, "extern") && keyword(self.peek(1), "crate") {
            let ts = self.take_through_semi(after_attrs)?;
            return syn::parse2(ts)
                .ok()
                .map(|e| Outline::Item(Box::new(syn::Item::ExternCrate(e))));
        }
        if keyword(t0, "unsafe") && keyword(self.peek(1), "mod") {
            self.at += 1;
        }
        if keyword(self.peek(0), "mod") {
            self.at += 1;
            let name = ident(self.peek(0))?.to_string();
            self.at += 1;
            return match self.peek(0) {
                Some(t) if punct(Some(t), ';') => {
                    self.at += 1;
                    Some(Outline::Mod(name, None))
                }
                Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Brace => {
                    let placeholder =
                        TokenTree::Group(Group::new(Delimiter::Brace, TokenStream::new()));
                    let TokenTree::Group(g) =
                        std::mem::replace(&mut self.toks[self.at], placeholder)
                    else {
                        return None;
                    };
                    self.at += 1;
                    Some(Outline::Mod(name, Some(items(into_stream(g))?)))
                }
                _ => None,
            };
        }
        self.rest_of_item()
    }

    /// Every item kind but `use`, `extern crate` and `mod`, after attributes and visibility.
    fn rest_of_item(&mut self) -> Option<Outline> {
        // Qualifiers of functions (and of `unsafe impl`, `unsafe trait`, `auto trait`).
        loop {
            let t = self.peek(0);
            if (keyword(t, "const") && !self.const_item())
                || keyword(t, "async")
                || keyword(t, "unsafe")
                || keyword(t, "safe")
                || keyword(t, "default")
                || (keyword(t, "auto") && keyword(self.peek(1), "trait"))
            {
                self.at += 1;
            } else if keyword(t, "extern") {
                self.at += 1;
                if matches!(self.peek(0), Some(TokenTree::Literal(_))) {
                    self.at += 1; // the ABI string
                }
                if group(self.peek(0), Delimiter::Brace) {
                    self.at += 1; // an `extern` block: binds nothing we look up
                    return Some(Outline::Unnamed);
                }
            } else {
                break;
            }
        }
        let t = self.peek(0);
        let kw = ident(t).map(|i| i.to_string()).unwrap_or_default();
        match kw.as_str() {
            "fn" | "struct" | "enum" | "trait" | "const" | "type" => {
                self.at += 1;
                self.named(&kw)
            }
            "union" if ident(self.peek(1)).is_some() => {
                self.at += 1;
                self.named(&kw)
            }
            "static" => {
                self.at += 1;
                if keyword(self.peek(0), "mut") {
                    self.at += 1;
                }
                self.named(&kw)
            }
            "impl" => {
                self.at += 1;
                self.skip_item(true)?;
                Some(Outline::Unnamed)
            }
            "macro_rules" if punct(self.peek(1), '!') => {
                self.at += 2;
                ident(self.peek(0))?;
                self.at += 1;
                self.macro_body()
            }
            _ => self.macro_call(),
        }
    }

    /// At `const`: true when it starts a `const NAME`/`const _` item (not a `const fn`).
    fn const_item(&self) -> bool {
        let next = self.peek(1);
        (ident(next).is_some()
            && !keyword(next, "fn")
            && !keyword(next, "unsafe")
            && !keyword(next, "async")
            && !keyword(next, "extern"))
            || punct(next, '_')
    }

    /// A macro invocation item: `path!(…);`, `path![…];`, `path! { … }`.
    fn macro_call(&mut self) -> Option<Outline> {
        if punct(self.peek(0), ':') {
            self.at += 2; // a leading `::`
        }
        loop {
            ident(self.peek(0))?;
            self.at += 1;
            if punct(self.peek(0), ':') && punct(self.peek(1), ':') {
                self.at += 2;
            } else {
                break;
            }
        }
        if !punct(self.peek(0), '!') {
            return None;
        }
        self.at += 1;
        self.macro_body()
    }

    /// The delimited body of a macro, and its `;` (required after parentheses or brackets).
    fn macro_body(&mut self) -> Option<Outline> {
        let Some(TokenTree::Group(g)) = self.peek(0) else {
            return None;
        };
        let brace = g.delimiter() == Delimiter::Brace;
        self.at += 1;
        if punct(self.peek(0), ';') {
            self.at += 1;
        } else if !brace {
            return None;
        }
        Some(Outline::Unnamed)
    }
}

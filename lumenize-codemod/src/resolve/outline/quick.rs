//! The outline walk over flat tokens (see [`super`] for where they come from).
//!
//! The tokens are flat, so a group is its opening token, its contents and its closing token;
//! the index of each opening token's closing one is computed once, and stepping over a group
//! is one lookup. A doc comment is one token (proc-macro2's own form is `#`, `[doc = "…"]`,
//! or `#`, `!`, `[…]` for `//!` and `/*!`; [`crate::lex::fold_docs`] folds it the same way).
//!
//! `use` and `extern crate` items are parsed by syn from their text (from after the outer
//! attributes through the `;`).

use super::Outline;
use crate::lex::{kind, Tok};

/// The outline of `text` from its tokens (as [`crate::lex::lex`] gives them), or `None`
/// where the walk meets something it does not recognise.
pub(super) fn outline(text: &str, toks: &[Tok]) -> Option<Vec<Outline>> {
    let close = closes(toks)?;
    let walk = Walk {
        text,
        toks,
        close: &close,
        at: 0,
        end: toks.len(),
    };
    walk.items()
}

/// For each opening token, the index of its closing token (the other entries are unused);
/// `None` when the tokens do not nest (the lexer never gives such tokens).
fn closes(toks: &[Tok]) -> Option<Vec<usize>> {
    let mut close = vec![0; toks.len()];
    let mut open = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        match t.0 {
            kind::OPEN => open.push(i),
            kind::CLOSE => close[open.pop()?] = i,
            _ => {}
        }
    }
    open.is_empty().then_some(close)
}

/// A token of the current level, by index (`None` past the level's end).
type At = Option<usize>;

/// A cursor over one level of tokens (a file's or an inline module's): `toks[at..end]`,
/// where `end` is the level's closing token (or the end of the file).
#[derive(Clone, Copy)]
struct Walk<'a> {
    text: &'a str,
    toks: &'a [Tok],
    close: &'a [usize],
    at: usize,
    end: usize,
}

impl<'a> Walk<'a> {
    fn items(mut self) -> Option<Vec<Outline>> {
        let mut out = Vec::new();
        self.inner_attributes();
        while self.at < self.end {
            out.push(self.item()?);
        }
        Some(out)
    }

    /// The index after the token at `i`: after its whole group when it opens one.
    fn after(&self, i: usize) -> usize {
        if self.toks[i].0 == kind::OPEN {
            self.close[i] + 1
        } else {
            i + 1
        }
    }

    /// The `k`-th token of this level from the cursor.
    fn peek(&self, k: usize) -> At {
        let mut i = self.at;
        for _ in 0..k {
            if i >= self.end {
                return None;
            }
            i = self.after(i);
        }
        (i < self.end).then_some(i)
    }

    /// Moves the cursor over the token under it (a whole group for an opening token).
    fn bump(&mut self) {
        if self.at < self.end {
            self.at = self.after(self.at);
        }
    }

    fn is(&self, t: At, k: u8) -> bool {
        t.is_some_and(|i| self.toks[i].0 == k)
    }

    fn first_byte(&self, i: usize) -> u8 {
        self.text.as_bytes()[self.toks[i].1]
    }

    fn punct(&self, t: At, c: u8) -> bool {
        self.is(t, kind::PUNCT) && t.is_some_and(|i| self.first_byte(i) == c)
    }

    /// The identifier's text, as proc-macro2's `Ident::to_string` gives it (`r#` included).
    fn ident(&self, t: At) -> Option<&'a str> {
        let i = t.filter(|&i| self.toks[i].0 == kind::IDENT)?;
        Some(&self.text[self.toks[i].1..self.toks[i].2])
    }

    fn keyword(&self, t: At, k: &str) -> bool {
        self.ident(t) == Some(k)
    }

    /// A group opened by `open` (`(`, `[` or `{`).
    fn group(&self, t: At, open: u8) -> bool {
        self.is(t, kind::OPEN) && t.is_some_and(|i| self.first_byte(i) == open)
    }

    /// A doc comment, inner (`//!`, `/*!`) or outer (`///`, `/**`).
    fn doc(&self, t: At, inner: bool) -> bool {
        self.is(t, kind::DOC)
            && t.is_some_and(|i| {
                (self.text.as_bytes().get(self.toks[i].1 + 2) == Some(&b'!')) == inner
            })
    }

    /// The tokens of this level from `from` up to `to`.
    fn level(&self, from: usize, to: usize) -> impl Iterator<Item = usize> + '_ {
        let first = Some(from).filter(|&i| i < to);
        std::iter::successors(first, move |&i| Some(self.after(i)).filter(|&n| n < to))
    }

    /// `#![…]` attributes and `//!` doc comments at the start of a file or module.
    fn inner_attributes(&mut self) {
        loop {
            if self.doc(self.peek(0), true) {
                self.at += 1;
            } else if self.punct(self.peek(0), b'#')
                && self.punct(self.peek(1), b'!')
                && self.group(self.peek(2), b'[')
            {
                self.at += 2;
                self.bump();
            } else {
                break;
            }
        }
    }

    /// `#[…]` attributes and `///` doc comments.
    fn outer_attributes(&mut self) {
        loop {
            if self.doc(self.peek(0), false) {
                self.at += 1;
            } else if self.punct(self.peek(0), b'#') && self.group(self.peek(1), b'[') {
                self.at += 1;
                self.bump();
            } else {
                break;
            }
        }
    }

    /// `pub`, `pub(crate)`, `pub(in …)`, … (nothing when absent).
    fn visibility(&mut self) {
        if self.keyword(self.peek(0), "pub") {
            self.at += 1;
            if self.group(self.peek(0), b'(') {
                self.bump();
            }
        }
    }

    /// The text from token `from` through the next `;` of this level, the cursor moved past it.
    fn take_through_semi(&mut self, from: usize) -> Option<&'a str> {
        let semi = self
            .level(self.at, self.end)
            .find(|&i| self.punct(Some(i), b';'))?;
        self.at = semi + 1;
        Some(&self.text[self.toks[from].1..self.toks[semi].2])
    }

    /// Skips to the end of an item: through the next `;` of this level, or through the next
    /// brace group when `brace_ends` (a body). Returns the index of the item's last token.
    fn skip_item(&mut self, brace_ends: bool) -> Option<usize> {
        while self.at < self.end {
            let t = Some(self.at);
            let end = self.punct(t, b';') || (brace_ends && self.group(t, b'{'));
            let last = self.at;
            self.bump();
            if end {
                return Some(last);
            }
        }
        None
    }

    /// The name after the current token (which the caller has checked), then the item skipped;
    /// a body-less `fn` and a `const`, `static` or `type` without `=` bind nothing (as in syn).
    fn named(&mut self, kind: &str) -> Option<Outline> {
        let name = self.ident(self.peek(0))?;
        self.at += 1;
        let from = self.at;
        let valued = matches!(kind, "const" | "static" | "type");
        let last = self.skip_item(!valued)?;
        let complete = match kind {
            "fn" => self.group(Some(last), b'{'),
            _ if valued => self.level(from, self.at).any(|i| self.punct(Some(i), b'=')),
            _ => true,
        };
        Some(if complete {
            Outline::Named(name.to_string())
        } else {
            Outline::Unnamed
        })
    }

    fn item(&mut self) -> Option<Outline> {
        self.outer_attributes();
        let after_attrs = self.at;
        self.visibility();
        let t0 = self.peek(0);
        if self.keyword(t0, "use") {
            let text = self.take_through_semi(after_attrs)?;
            return syn::parse_str(text)
                .ok()
                .map(|u| Outline::Item(Box::new(syn::Item::Use(u))));
        }
        if self.keyword(t0, "extern") && self.keyword(self.peek(1), "crate") {
            let text = self.take_through_semi(after_attrs)?;
            return syn::parse_str(text)
                .ok()
                .map(|e| Outline::Item(Box::new(syn::Item::ExternCrate(e))));
        }
        if self.keyword(t0, "unsafe") && self.keyword(self.peek(1), "mod") {
            self.at += 1;
        }
        if self.keyword(self.peek(0), "mod") {
            self.at += 1;
            let name = self.ident(self.peek(0))?.to_string();
            self.at += 1;
            let t = self.peek(0);
            if self.punct(t, b';') {
                self.at += 1;
                return Some(Outline::Mod(name, None));
            }
            if !self.group(t, b'{') {
                return None;
            }
            let inner = Walk {
                at: self.at + 1,
                end: self.close[self.at],
                ..*self
            };
            self.bump();
            return Some(Outline::Mod(name, Some(inner.items()?)));
        }
        self.rest_of_item()
    }

    /// Every item kind but `use`, `extern crate` and `mod`, after attributes and visibility.
    fn rest_of_item(&mut self) -> Option<Outline> {
        // Qualifiers of functions (and of `unsafe impl`, `unsafe trait`, `auto trait`).
        loop {
            let t = self.peek(0);
            if (self.keyword(t, "const") && !self.const_item())
                || self.keyword(t, "async")
                || self.keyword(t, "unsafe")
                || self.keyword(t, "safe")
                || self.keyword(t, "default")
                || (self.keyword(t, "auto") && self.keyword(self.peek(1), "trait"))
            {
                self.at += 1;
            } else if self.keyword(t, "extern") {
                self.at += 1;
                if self.is(self.peek(0), kind::LITERAL) {
                    self.at += 1; // the ABI string
                }
                if self.group(self.peek(0), b'{') {
                    self.bump(); // an `extern` block: binds nothing we look up
                    return Some(Outline::Unnamed);
                }
            } else {
                break;
            }
        }
        let kw = self.ident(self.peek(0)).unwrap_or_default();
        match kw {
            "fn" | "struct" | "enum" | "trait" | "const" | "type" => {
                self.at += 1;
                self.named(kw)
            }
            "union" if self.ident(self.peek(1)).is_some() => {
                self.at += 1;
                self.named(kw)
            }
            "static" => {
                self.at += 1;
                if self.keyword(self.peek(0), "mut") {
                    self.at += 1;
                }
                self.named(kw)
            }
            "impl" => {
                self.at += 1;
                self.skip_item(true)?;
                Some(Outline::Unnamed)
            }
            "macro_rules" if self.punct(self.peek(1), b'!') => {
                self.at += 2;
                self.ident(self.peek(0))?;
                self.at += 1;
                self.macro_body()
            }
            _ => self.macro_call(),
        }
    }

    /// At `const`: true when it starts a `const NAME`/`const _` item (not a `const fn`).
    fn const_item(&self) -> bool {
        let next = self.peek(1);
        (self.ident(next).is_some()
            && !self.keyword(next, "fn")
            && !self.keyword(next, "unsafe")
            && !self.keyword(next, "async")
            && !self.keyword(next, "extern"))
            || self.punct(next, b'_')
    }

    /// A macro invocation item: `path!(…);`, `path![…];`, `path! { … }`.
    fn macro_call(&mut self) -> Option<Outline> {
        if self.punct(self.peek(0), b':') {
            // A leading `::`, whose second `:` is not looked at by the loop below: a doc comment
            // there (no path ever holds one) gives up.
            self.at += 1;
            let second = self.peek(0);
            if second.is_none() || self.is(second, kind::DOC) {
                return None;
            }
            self.bump();
        }
        loop {
            self.ident(self.peek(0))?;
            self.at += 1;
            if self.punct(self.peek(0), b':') && self.punct(self.peek(1), b':') {
                self.at += 2;
            } else {
                break;
            }
        }
        if !self.punct(self.peek(0), b'!') {
            return None;
        }
        self.at += 1;
        self.macro_body()
    }

    /// The delimited body of a macro, and its `;` (required after parentheses or brackets).
    fn macro_body(&mut self) -> Option<Outline> {
        let t = self.peek(0);
        if !self.is(t, kind::OPEN) {
            return None;
        }
        let brace = self.group(t, b'{');
        self.bump();
        if self.punct(self.peek(0), b';') {
            self.at += 1;
        } else if !brace {
            return None;
        }
        Some(Outline::Unnamed)
    }
}

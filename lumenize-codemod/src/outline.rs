//! A file's module-level outline, read without parsing function or `impl` bodies: what
//! [`CrateContext::scan`](crate::CrateContext::scan) needs from the files other files resolve
//! through (their `use` items, `extern crate`s, inline modules and the names of their items).
//!
//! The scan used to run a full `syn::parse_file` on each such file and then look only at its
//! module-level items, which cost an eighth of a migration on crates whose `lib.rs` is a parent
//! module: the file is parsed again when it is migrated. Here the file is lexed once and walked
//! at the top level only. `use` and `extern crate` items are parsed by syn (from their own
//! tokens), inline modules are walked recursively, and every other item contributes only its
//! name, with its body (a brace group) dropped unopened.
//!
//! The walk is strict: anything it does not recognise (an item shape it does not know, a brace
//! group in a place no item puts one, such as `fn f() -> A<{ N }>`) makes it give up with
//! `None`, and the caller falls back to the full parse. So it never guesses: on success it binds
//! the same names, in the same order, as [`collect_modules`](crate::resolve::collect_modules)
//! would from syn's items (a unit test checks that on every fixture). One deliberate difference:
//! a file whose function bodies do not parse still yields its outline (syn would reject it).

use proc_macro2::{Delimiter, Group, Ident, TokenStream, TokenTree};

/// One module-level item, as far as name resolution cares.
pub(crate) enum Outline {
    /// A `use` or `extern crate` item, parsed by syn (boxed: the other variants are small).
    Item(Box<syn::Item>),
    /// `mod name;` (`None`) or `mod name { … }` with its items.
    Mod(String, Option<Vec<Outline>>),
    /// Any other item that binds a name (fn, struct, enum, union, const, static, type, trait).
    Named(String),
    /// An item that binds no name (`impl`, a macro invocation, an `extern` block).
    Unnamed,
}

/// The outline of a whole file (`text` after any BOM and shebang line), or `None` when the
/// file does not lex or the walk meets something it does not recognise.
pub(crate) fn outline(text: &str) -> Option<Vec<Outline>> {
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

#[cfg(test)]
mod tests {
    use rustc_hash::FxHashMap as HashMap;

    use super::*;
    use crate::resolve::{collect_modules, collect_outline};

    /// Module scopes, as `collect_modules` builds them.
    type Scopes = HashMap<Vec<String>, crate::resolve::Scope>;

    /// The scopes from the outline, and from syn's full parse (`None` when it fails).
    fn both(text: &str) -> (Option<Scopes>, Option<Scopes>) {
        let m = vec!["crate:x".to_string()];
        let lite = outline(&text[crate::engine::parse_base(text)..]).map(|items| {
            let mut out = HashMap::default();
            collect_outline(&items, &m, &mut out);
            out
        });
        let full = syn::parse_file(text).ok().map(|f| {
            let mut out = HashMap::default();
            collect_modules(&f.items, &m, &mut out);
            out
        });
        proc_macro2::extra::invalidate_current_thread_spans();
        (lite, full)
    }

    #[test]
    fn binds_what_the_full_parse_binds_on_every_fixture() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let files = rust_files(dir);
        assert!(files.len() > 50, "fixtures not found");
        let mut outlined = 0;
        for f in &files {
            let text = std::fs::read_to_string(f).unwrap();
            let (lite, full) = both(&text);
            if let (Some(lite), Some(full)) = (&lite, &full) {
                assert_eq!(lite, full, "{}", f.display());
                outlined += 1;
            }
            assert!(
                lite.is_some() || full.is_none() || text.contains("<{"),
                "{}: outline gave up",
                f.display()
            );
        }
        assert!(
            outlined * 10 >= files.len() * 9,
            "{outlined} of {}",
            files.len()
        );
    }

    /// Every `.rs` file under `dir`.
    fn rust_files(dir: std::path::PathBuf) -> Vec<std::path::PathBuf> {
        let mut files = Vec::new();
        let mut stack = vec![dir];
        while let Some(d) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&d) else {
                continue;
            };
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    files.push(p);
                }
            }
        }
        files
    }

    /// The same comparison over a big corpus (the benchmark's third-party crates):
    /// `LUMENIZE_OUTLINE_CORPUS=/tmp/rust-corpus cargo test --release -p lumenize-codemod
    /// --lib outline -- --ignored`.
    #[test]
    #[ignore = "needs a corpus; see the doc comment"]
    fn binds_what_the_full_parse_binds_on_a_corpus() {
        let Some(dir) = std::env::var_os("LUMENIZE_OUTLINE_CORPUS") else {
            panic!("set LUMENIZE_OUTLINE_CORPUS to a directory of Rust sources");
        };
        let (mut same, mut gave_up, mut unparsable) = (0, 0, 0);
        for f in rust_files(dir.into()) {
            let Ok(text) = std::fs::read_to_string(&f) else {
                continue;
            };
            match both(&text) {
                (Some(lite), Some(full)) => {
                    assert_eq!(lite, full, "{}", f.display());
                    same += 1;
                }
                (None, Some(_)) => gave_up += 1,
                (_, None) => unparsable += 1,
            }
        }
        eprintln!("outline: {same} same as syn, {gave_up} gave up, {unparsable} not parsable");
        assert!(same > 0);
    }

    #[test]
    fn binds_every_item_kind_like_syn() {
        let text = "#![allow(dead_code)]\n\
            //! doc\n\
            use a::{b, c as d, e::*};\n\
            pub(crate) use ::f::g;\n\
            extern crate h as i;\n\
            /// doc\n#[cfg(test)]\n\
            pub mod j { #![allow(x)] use super::b as k; pub fn l() {} mod m; }\n\
            unsafe mod n2 {}\n\
            const fn o() -> u8 { 1 }\n\
            pub const unsafe extern \"C\" fn p() {}\n\
            async unsafe fn q<T: Into<u8>>(t: T) -> Result<(), ()> where T: Copy { Ok(()) }\n\
            const R: [u8; 2] = [1, 2];\n\
            const _: () = { let s = S { a: 1 }; };\n\
            static mut T1: u8 = 0;\n\
            pub(in crate::j) struct U { a: u8 }\n\
            struct V(u8) where u8: Copy;\n\
            struct W;\n\
            enum X { A = 1, B }\n\
            union Y { a: u8 }\n\
            unsafe auto trait Z {}\n\
            trait Z2 = Clone;\n\
            type A1<T = u8> = Vec<T>;\n\
            impl<T> Z for A1<T> where T: Fn() -> u8 { fn inner() {} }\n\
            unsafe impl Send for U {}\n\
            extern \"C\" { fn ext(); static EXT: u8; }\n\
            macro_rules! mac { () => {}; }\n\
            mac!();\n\
            ::std::println! { \"x\" }\n\
            lazy_static::lazy_static![static ref B1: u8 = 1;];\n";
        let (lite, full) = both(text);
        let (lite, full) = (lite.expect("outline"), full.expect("syn"));
        assert_eq!(lite, full);
        let root = &lite[&vec!["crate:x".to_string()]];
        for name in [
            "b", "d", "g", "i", "j", "o", "p", "q", "R", "_", "T1", "U", "V", "W", "X", "Y", "Z",
            "Z2", "A1",
        ] {
            assert!(root.names.contains_key(name), "{name} missing: {root:?}");
        }
        assert!(!root.names.contains_key("ext") && !root.names.contains_key("inner"));
        assert!(lite.contains_key(&vec!["crate:x".to_string(), "j".to_string()]));
    }

    #[test]
    fn gives_up_rather_than_guess() {
        // A brace group in a signature ends the walk's idea of the item early; what follows is
        // no item, so it gives up (and the caller parses the file fully).
        for text in [
            "fn f() -> A<{ N }> { 1 }",
            "impl X for Y<{ N }> {}",
            "struct S<const N: usize = { 3 }>;",
            "crate fn f() {}",
            "fn f() {} ;",
            "x + 1",
            "fn f() { (",
        ] {
            assert!(outline(text).is_none(), "{text}");
        }
        // It does not look inside bodies: a broken function body still has an outline.
        assert!(outline("use a::b; fn f() { let = ; }").is_some());
    }
}

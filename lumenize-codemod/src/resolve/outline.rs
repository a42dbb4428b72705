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
//!
//! The walk ([`quick`]) runs over flat tokens: the quick lexer's ([`crate::lex`]), which
//! neither allocates per token nor registers the text in proc-macro2's span map, or, for text
//! the quick lexer does not follow (non-ASCII, among others), proc-macro2's tokens in the same
//! shape (doc comments folded into one token, as the safety net compares them). One walk, two
//! token sources: the tests run it over both and insist on the same outline.

mod quick;
#[cfg(test)]
mod tests;

/// One module-level item, as far as name resolution cares.
#[derive(Debug, PartialEq)]
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
    quick::outline(text, &crate::lex::tokens(text)?)
}

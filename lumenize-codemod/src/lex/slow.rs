//! proc-macro2's lexer as a token-boundary lexer: the fallback for text the quick lexer does
//! not follow, and the reference it is checked against. Its tokens are flattened into the
//! quick lexer's shape ([`Tok`]); [`fold_docs`] folds a doc comment's tokens into one.

use std::str::FromStr;

use proc_macro2::{TokenStream, TokenTree};

use super::quick::{kind, Tok};
use crate::text::SpanPositions;

/// The contents of `g`, owned. proc-macro2 shares a group's stream between the group and every
/// handle to it, and iterating a shared stream copies every token in it (a `Box<str>` per
/// identifier): dropping the group first leaves the returned stream as the only handle, so
/// iterating it moves the tokens out instead. `flatten` consumes its streams this way, which
/// made it several times cheaper than walking a shared stream.
fn into_stream(g: proc_macro2::Group) -> TokenStream {
    let inner = g.stream();
    drop(g);
    inner
}

/// proc-macro2's tokens of `text`, flattened.
pub(crate) fn slow_tokens(text: &str) -> Result<Vec<Tok>, proc_macro2::LexError> {
    let mut out = Vec::new();
    flatten(
        TokenStream::from_str(text)?,
        &SpanPositions::new(text),
        &mut out,
    );
    Ok(out)
}

/// Every token of `ts` (consumed), in order, with its byte range in the text it was lexed from.
/// Each span lookup walks proc-macro2's thread-local source map, so they are kept few: a
/// group's delimiters come from its one span (a delimiter is one ASCII byte) and a
/// punctuation character's end from its start.
pub(crate) fn flatten(ts: TokenStream, pos: &SpanPositions<'_>, out: &mut Vec<Tok>) {
    for tt in ts {
        match tt {
            TokenTree::Group(g) => {
                let r = pos.range(g.span());
                out.push((kind::OPEN, r.start, r.start + 1));
                flatten(into_stream(g), pos, out);
                out.push((kind::CLOSE, r.end - 1, r.end));
            }
            TokenTree::Ident(i) => {
                let r = pos.range(i.span());
                out.push((kind::IDENT, r.start, r.end));
            }
            TokenTree::Punct(p) => {
                let s = pos.start(p.span());
                out.push((kind::PUNCT, s, s + p.as_char().len_utf8()));
            }
            TokenTree::Literal(l) => {
                let r = pos.range(l.span());
                out.push((kind::LITERAL, r.start, r.end));
            }
        }
    }
}

/// proc-macro2's tokens (as the safety net flattens them) with each doc comment's `#`, `!`,
/// `[doc = "…"]` folded into one token, as [`lex`] gives it: for checking one against the
/// other.
pub(crate) fn fold_docs(text: &str, toks: Vec<Tok>) -> Vec<Tok> {
    let mut out: Vec<Tok> = Vec::with_capacity(toks.len());
    let mut i = 0;
    while i < toks.len() {
        let (k, s, _) = toks[i];
        // A doc comment's `#` sits on the comment (a `/` punct is never followed by `/`, `*`).
        if k == kind::PUNCT && (text[s..].starts_with("//") || text[s..].starts_with("/*")) {
            // Then `!`, `[`, `doc`, `=`, the literal (all starting at the comment), and `]`.
            let mut j = i + 1;
            while j < toks.len() && toks[j].1 == s && toks[j].0 != 4 {
                j += 1;
            }
            let end = toks.get(j).map_or(text.len(), |t| t.2);
            out.push((kind::DOC, s, end));
            i = j + 1;
        } else {
            out.push(toks[i]);
            i += 1;
        }
    }
    out
}

//! Layer 2, lexing: where each token of a text starts and ends, as flat `(kind, start, end)`
//! triples ([`Tok`]). Two lexers give the same shape: the quick one ([`quick`], no allocation
//! per token, an ASCII subset) and proc-macro2's ([`slow`]), which the quick one falls back to
//! for any text outside its subset.
//!
//! Invariant: for any text the quick lexer accepts, its tokens equal proc-macro2's after
//! [`fold_docs`] (debug builds assert it on every unit the safety net checks).

pub(crate) mod quick;
pub(crate) mod slow;
#[cfg(test)]
mod tests;

pub(crate) use quick::{kind, lex, Tok};
pub(crate) use slow::{flatten, fold_docs, slow_tokens};

/// The tokens of `text` as the quick lexer gives them; for text outside its subset,
/// proc-macro2's, in the same shape. `None` when the text does not lex.
pub(crate) fn tokens(text: &str) -> Option<Vec<Tok>> {
    let mut toks = Vec::new();
    if lex(text, &mut toks).is_some() {
        return Some(toks);
    }
    let slow = slow_tokens(text).ok()?;
    Some(fold_docs(text, slow))
}

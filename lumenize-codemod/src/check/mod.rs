//! Layer 8, checking: applying splices, and the safety net that refuses a bad result.
//!
//! The splices are checked to be disjoint and on character boundaries, applied to the original
//! text, and then every re-parse unit they touch (the innermost statement holding them, else
//! the function body, a run of imports, or the whole file as a fallback) is re-lexed and
//! re-parsed; its old tokens come from lexing the unit's original text the same way. The
//! unit's new token stream must be its old one with exactly the planned changes: every old
//! token outside a splice kept, in order, at its shifted position; no token cut by a splice; no
//! token straddling a splice boundary (so a replacement can never merge with a neighbour or
//! swallow it into a comment). Only the touched units are re-parsed, which keeps the net cheap
//! even on files dense with call sites.
//!
//! Token boundaries come from the quick lexer (`lex::quick`, a port of proc-macro2's lexer to
//! an ASCII subset, with no allocation per token) when it can follow both texts, else from
//! proc-macro2 itself (`lex::slow`); the re-parse always lexes with proc-macro2, as syn needs
//! its tokens.

use std::str::FromStr;

use proc_macro2::TokenStream;

pub(crate) mod deletions;

use crate::lex::{self, flatten, slow_tokens};
use crate::syntax::Src;
use crate::text::{landings, Landing, SpanPositions, Splice, Unit, UnitKind};
use deletions::Deletable;

/// Why the safety net refused the planned splices (shown in the file's error diagnostic).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Rejection {
    #[error("overlapping edits at byte {0}")]
    Overlap(usize),
    #[error("edit {0}..{1} is not on character boundaries")]
    NotOnCharBoundary(usize, usize),
    #[error("edits out of order")]
    OutOfOrder,
    #[error("edits outside their unit")]
    OutsideUnit,
    #[error("the original does not lex: {0}")]
    OriginalDoesNotLex(String),
    #[error("the result does not lex: {0}")]
    ResultDoesNotLex(String),
    #[error("the result does not parse: {0}")]
    ResultDoesNotParse(String),
    #[error("an edit cuts the token `{0}`")]
    CutsToken(String),
    #[error("the token `{0}` straddles an edit boundary")]
    Straddles(String),
    #[error("the token stream changed outside the edits near `{0}`")]
    StreamChanged(String),
    #[error("tokens outside the edits disappeared")]
    TokensDisappeared,
}

/// Applies `splices` (sorted in place) to the text and verifies the result.
pub(crate) fn apply_and_verify(
    src: Src<'_>,
    deletable: &Deletable,
    splices: &mut Vec<Splice>,
) -> Result<String, Rejection> {
    if splices.is_empty() {
        return Ok(src.text.to_string());
    }
    splices.sort_by_key(|s| (s.start, s.end));
    splices.dedup_by(|b, a| a.start == b.start && a.end == b.end && a.replacement == b.replacement);
    let text = src.text;
    for w in splices.windows(2) {
        if w[1].start < w[0].end
            || (w[1].start == w[0].start && w[0].start == w[0].end && w[1].start == w[1].end)
        {
            return Err(Rejection::Overlap(w[1].start));
        }
    }
    for s in splices.iter() {
        if s.end > text.len() || !text.is_char_boundary(s.start) || !text.is_char_boundary(s.end) {
            return Err(Rejection::NotOnCharBoundary(s.start, s.end));
        }
    }
    let output = crate::text::apply(text, 0, splices).ok_or(Rejection::OutOfOrder)?;
    for (unit, members) in units(src, splices) {
        // A unit whose every splice is one the grammar guarantees (see `deletions`) is only
        // re-lexed and compared; any other is re-parsed too.
        let reparse = unit.kind == UnitKind::Whole
            || !members
                .iter()
                .all(|s| deletable.keeps_parsing(text, (unit.start, unit.end), s));
        verify_unit(text, unit, &members, reparse)?;
    }
    Ok(output)
}

/// Groups splices by re-parse unit, merging units that overlap or touch.
fn units(src: Src<'_>, splices: &[Splice]) -> Vec<(Unit, Vec<Splice>)> {
    let whole = Unit {
        kind: UnitKind::Whole,
        start: src.base,
        end: src.text.len(),
    };
    let mut groups: Vec<(Unit, Vec<Splice>)> = Vec::new();
    let mut sorted: Vec<&Splice> = splices.iter().collect();
    sorted.sort_by_key(|s| (s.unit.start, s.start));
    for s in sorted {
        // A splice must lie inside its unit; if not, fall back to the whole file.
        let mut u = s.unit;
        if s.start < u.start || s.end > u.end {
            u = whole;
        }
        match groups.last_mut() {
            // Statements that merely touch (`a;b;`) are separate units; imports that touch
            // (a deleted line and an insertion after it) are one.
            Some((g, members))
                if u.start < g.end || (u.start == g.end && u.kind == UnitKind::Items) =>
            {
                if g.kind != u.kind
                    || g.kind == UnitKind::Block && (u.start, u.end) != (g.start, g.end)
                {
                    *g = whole;
                }
                g.end = g.end.max(u.end);
                members.push(s.clone());
            }
            _ => groups.push((u, vec![s.clone()])),
        }
    }
    if groups.iter().any(|(g, _)| g.kind == UnitKind::Whole) {
        return vec![(whole, splices.to_vec())];
    }
    // Merged units (a statement inside a statement) collect splices out of order.
    for (_, members) in &mut groups {
        members.sort_by_key(|s| (s.start, s.end));
    }
    groups
}

/// Parses a unit's new tokens as what the unit was.
fn reparse_unit(kind: UnitKind, ts: &TokenStream) -> syn::Result<()> {
    match kind {
        UnitKind::Block => syn::parse2::<syn::Block>(ts.clone()).map(drop),
        // A block's tail expression has no `;`, which `Stmt` insists on.
        UnitKind::Stmt => syn::parse2::<syn::Stmt>(ts.clone())
            .map(drop)
            .or_else(|_| syn::parse2::<syn::Expr>(ts.clone()).map(drop)),
        UnitKind::Items | UnitKind::Whole => syn::parse2::<syn::File>(ts.clone()).map(drop),
    }
}

fn verify_unit(text: &str, unit: Unit, splices: &[Splice], reparse: bool) -> Result<(), Rejection> {
    // The unit's old tokens come from lexing its original text exactly as its new text is
    // lexed: a unit is a syntax node (or whole lines around items), so it starts and ends
    // outside any token or comment and lexes alone to the tokens the file's lexing gave it.
    let old = &text[unit.start..unit.end];
    let new =
        crate::text::apply(&text[..unit.end], unit.start, splices).ok_or(Rejection::OutsideUnit)?;
    let new = &new[..];
    // Both sides through the quick lexer when it can follow them, else through proc-macro2
    // (never one of each: they show a doc comment differently).
    let (mut old_toks, mut new_toks) = (Vec::new(), Vec::new());
    let quick = lex::lex(old, &mut old_toks).is_some() && lex::lex(new, &mut new_toks).is_some();
    // Debug builds (every test) re-parse the deletion-only units too and insist they parse:
    // a check on the grammar argument in `deletions`, over every fixture and property case.
    // They also lex every unit with proc-macro2 and insist the quick lexer agrees.
    let check_quick = quick && cfg!(debug_assertions);
    if !quick || check_quick {
        let slow = slow_tokens(old).map_err(|e| Rejection::OriginalDoesNotLex(e.to_string()))?;
        if check_quick {
            assert_eq!(old_toks, lex::fold_docs(old, slow), "quick lexer: {old}");
        } else {
            old_toks = slow;
        }
    }
    if reparse || !quick || cfg!(debug_assertions) {
        let new_ts =
            TokenStream::from_str(new).map_err(|e| Rejection::ResultDoesNotLex(e.to_string()))?;
        if reparse || cfg!(debug_assertions) {
            let parsed = reparse_unit(unit.kind, &new_ts);
            debug_assert!(
                reparse || parsed.is_ok(),
                "a grammar-guaranteed deletion did not parse: {new}"
            );
            parsed.map_err(|e| Rejection::ResultDoesNotParse(e.to_string()))?;
        }
        if !quick || check_quick {
            let mut slow = Vec::new();
            flatten(new_ts, &SpanPositions::new(new), &mut slow);
            if check_quick {
                assert_eq!(new_toks, lex::fold_docs(new, slow), "quick lexer: {new}");
            } else {
                new_toks = slow;
            }
        }
    }

    // Splices relative to the unit, with where their replacement lands in the new text.
    let rel: Vec<Landing> = landings(splices, unit.start).collect();
    // Old tokens kept, with their expected new start.
    let mut kept = Vec::with_capacity(old_toks.len());
    let mut k = 0;
    let mut delta: isize = 0;
    for &(kind, s, e) in &old_toks {
        while k < rel.len() && rel[k].end <= s {
            delta += rel[k].growth();
            k += 1;
        }
        let inside = rel[k..]
            .iter()
            .take_while(|r| r.start < e)
            .any(|r| r.start <= s && e <= r.end && r.start < r.end);
        let cut = rel[k..]
            .iter()
            .take_while(|r| r.start < e)
            .any(|r| (r.start > s && r.start < e) || (r.end > s && r.end < e));
        if cut {
            return Err(Rejection::CutsToken(old[s..e].to_string()));
        }
        if !inside {
            let ns = (s as isize + delta) as usize;
            kept.push((kind, s, e, ns));
        }
    }
    let mut ki = 0;
    for &(kind, s, e) in &new_toks {
        let in_repl = rel
            .iter()
            .any(|r| r.new_start <= s && e <= r.new_end && r.new_start < r.new_end);
        let straddles = rel.iter().any(|r| {
            r.new_start < r.new_end
                && ((s < r.new_start && e > r.new_start) || (s < r.new_end && e > r.new_end))
        });
        if straddles {
            return Err(Rejection::Straddles(new[s..e].to_string()));
        }
        if in_repl {
            continue;
        }
        match kept.get(ki) {
            Some(&(ok, os, oe, ns)) if ok == kind && ns == s && old[os..oe] == new[s..e] => ki += 1,
            _ => return Err(Rejection::StreamChanged(new[s..e].to_string())),
        }
    }
    if ki != kept.len() {
        return Err(Rejection::TokensDisappeared);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One splice per `(find, replace_with)`, all in `unit`.
    fn splices(text: &str, edits: &[(&str, &str)], unit: Unit) -> Vec<Splice> {
        edits
            .iter()
            .map(|(find, with)| {
                let start = text.find(find).unwrap();
                Splice {
                    rule: "t".into(),
                    start,
                    end: start + find.len(),
                    replacement: with.to_string(),
                    unit,
                }
            })
            .collect()
    }

    /// The block unit from `start` to the end of `text`.
    fn block(text: &str, start: usize) -> Unit {
        Unit {
            kind: UnitKind::Block,
            start,
            end: text.len(),
        }
    }

    /// Runs splices (given as `(find, replace_with)` on the text) through the net.
    fn run(text: &str, edits: &[(&str, &str)]) -> Result<String, String> {
        let mut splices = splices(text, edits, block(text, 0));
        let pos = SpanPositions::new(text);
        let r = apply_and_verify(
            Src {
                text,
                base: 0,
                pos: &pos,
            },
            &Deletable::default(),
            &mut splices,
        );
        proc_macro2::extra::invalidate_current_thread_spans();
        r.map_err(|e| e.to_string())
    }

    /// Like `run`, for a whole file whose one function body is the unit, with the deletions
    /// syn's tree of the file allows (so the no-re-parse path is taken where it applies).
    /// Returns the result and whether every splice was such a deletion.
    fn run_file(text: &str, edits: &[(&str, &str)]) -> (Result<String, String>, bool) {
        let file = syn::parse_file(text).unwrap();
        let pos = SpanPositions::new(text);
        let src = Src {
            text,
            base: 0,
            pos: &pos,
        };
        let body = text.find('{').unwrap();
        let mut splices = splices(text, edits, block(text, body));
        let mut near: Vec<usize> = splices.iter().map(|s| s.start).collect();
        near.sort_unstable();
        let deletable = Deletable::collect(src, &file, &near);
        drop(file);
        let fast = splices
            .iter()
            .all(|s| deletable.keeps_parsing(text, (s.unit.start, s.unit.end), s));
        let r = apply_and_verify(src, &deletable, &mut splices);
        proc_macro2::extra::invalidate_current_thread_spans();
        (r.map_err(|e| e.to_string()), fast)
    }

    #[test]
    fn grammar_guaranteed_deletions_skip_the_re_parse_but_not_the_token_check() {
        // `.await` and a last argument: listed, accepted without a re-parse.
        let (r, fast) = run_file(
            "fn t() { let x = f(a, None)\n        .await?; }",
            &[(", None", ""), ("\n        .await", "")],
        );
        assert!(fast);
        assert_eq!(r.unwrap(), "fn t() { let x = f(a)?; }");
        // A listed deletion whose result lexes differently is still refused: `1.await.0`
        // without `.await` is the float `1.0`, not `1` `.` `0`.
        let (r, fast) = run_file("fn t() { let x = (1.await.0); }", &[(".await", "")]);
        assert!(fast);
        let e = r.unwrap_err();
        assert!(e.contains("straddles") || e.contains("changed"), "{e}");
    }

    #[test]
    fn other_deletions_are_re_parsed() {
        // A lone comma (not an element the grammar lets go) goes through the re-parse.
        let (r, fast) = run_file("fn t() { f(a, b); }", &[(",", "")]);
        assert!(!fast);
        assert!(r.unwrap_err().contains("does not parse"));
        // The first of two arguments is not listed either (only the last, with its comma).
        let (r, fast) = run_file("fn t() { f(a, b); }", &[("a, ", "")]);
        assert!(!fast);
        assert_eq!(r.unwrap(), "fn t() { f(b); }");
        // `.await` on a base ending in `}` is left to the re-parse, which refuses a let-else
        // whose initializer would end in `}`.
        let (r, fast) = run_file(
            "fn t() { let Some(x) = match y { _ => z }.await else { return }; }",
            &[(".await", "")],
        );
        assert!(!fast);
        assert!(r.unwrap_err().contains("does not parse"));
        // A comment right before the dot hides the base's last token: re-parsed.
        let (_, fast) = run_file("fn t() { f() // c\n .await; }", &[("\n .await", "")]);
        assert!(!fast);
        // A deletion that takes a comment beside the element with it is not a plain deletion.
        let (r, fast) = run_file("fn t() { f(a /* c */, None); }", &[(" /* c */, None", "")]);
        assert!(!fast);
        assert_eq!(r.unwrap(), "fn t() { f(a); }");
    }

    #[test]
    fn balanced_edits_inside_a_macro_body_skip_the_re_parse() {
        // syn keeps `println!`'s body as tokens: the function body's re-parse never looks in.
        let (r, fast) = run_file(
            "fn t() { println!(\"{}\", load(a, None).await?); }",
            &[(", None", ""), (".await", ""), ("load", "g::h")],
        );
        assert!(fast);
        assert_eq!(r.unwrap(), "fn t() { println!(\"{}\", g::h(a)?); }");
        // An edit that unbalances the delimiters could end the invocation early: re-parsed.
        let (_, fast) = run_file("fn t() { m!(x); }", &[("x", "x)(y")]);
        assert!(!fast);
        // So is an edit that takes the delimiter itself, and one outside any macro body.
        let (_, fast) = run_file("fn t() { m!(x); }", &[("(x)", "[x]")]);
        assert!(!fast);
        let (_, fast) = run_file("fn t() { f(x); }", &[("x", "y")]);
        assert!(!fast);
    }

    #[test]
    fn an_import_leaves_its_use_group_without_a_re_parse() {
        let text = "use a::{b, c, d};\nfn t() {}\n";
        let file = syn::parse_file(text).unwrap();
        let pos = SpanPositions::new(text);
        let src = Src {
            text,
            base: 0,
            pos: &pos,
        };
        let deletable = Deletable::collect(src, &file, &[]);
        let end = text.find('\n').unwrap() + 1;
        let unit = Unit {
            kind: UnitKind::Items,
            start: 0,
            end,
        };
        let items = |find: &str| splices(text, &[(find, "")], unit).remove(0);
        for (find, out) in [("b, ", "use a::{c, d};"), (", d", "use a::{b, c};")] {
            let s = items(find);
            assert!(deletable.keeps_parsing(text, (0, end), &s), "{find}");
            let r = apply_and_verify(src, &deletable, &mut vec![s]).unwrap();
            assert!(r.starts_with(out), "{r}");
        }
        // Not an element: a tree without its comma, a bare comma.
        for find in ["c", ","] {
            assert!(
                !deletable.keeps_parsing(text, (0, end), &items(find)),
                "{find}"
            );
        }
        proc_macro2::extra::invalidate_current_thread_spans();
    }

    #[test]
    fn accepts_clean_splices() {
        let out = run("{ f(a, None).await?; }", &[(", None", ""), (".await", "")]).unwrap();
        assert_eq!(out, "{ f(a)?; }");
    }

    #[test]
    fn rejects_output_that_does_not_parse() {
        let e = run("{ f(a, b); }", &[(",", "")]).unwrap_err();
        assert!(e.contains("does not parse"), "{e}");
    }

    #[test]
    fn rejects_a_replacement_that_merges_with_its_neighbour() {
        // `a` + `1` lexes as one identifier `a1`: it parses, but is not the intended edit.
        let e = run("{ f(a, b); }", &[("(", "(1")]).unwrap_err();
        assert!(e.contains("straddles") || e.contains("changed"), "{e}");
        let e = run("{ f(a, b); }", &[(", ", ",1")]).unwrap_err();
        assert!(e.contains("straddles") || e.contains("changed"), "{e}");
    }

    #[test]
    fn units_outside_the_quick_lexers_subset_are_checked_through_proc_macro2() {
        // `é` is not ASCII: the quick lexer gives up and both sides are lexed by proc-macro2.
        let mut toks = Vec::new();
        assert!(lex::lex("{ f(é, None).await?; }", &mut toks).is_none());
        let out = run("{ f(é, None).await?; }", &[(", None", ""), (".await", "")]).unwrap();
        assert_eq!(out, "{ f(é)?; }");
        let e = run("{ f(é, b); }", &[("(", "(1")]).unwrap_err();
        assert!(e.contains("straddles") || e.contains("changed"), "{e}");
    }

    #[test]
    fn rejects_a_comment_that_swallows_the_rest_of_the_line() {
        let e = run("{ f(a,\n b); g(); }", &[("b", "b // note")]).unwrap_err();
        assert!(e.contains("parse") || e.contains("changed"), "{e}");
    }

    #[test]
    fn rejects_edits_that_cut_a_token_or_overlap() {
        let e = run("{ foo(a); }", &[("oo", "")]).unwrap_err();
        assert!(e.contains("cuts"), "{e}");
        let e = run("{ f(ab); }", &[("ab", "x"), ("b", "y")]).unwrap_err();
        assert!(e.contains("overlapping"), "{e}");
    }
}

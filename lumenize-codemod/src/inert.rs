//! Stretches of a file the rewriter can skip: those whose text names nothing it acts on.
//!
//! Everything the rewriter does starts from a name in the text: `.await`, a name a target call
//! could go by (`call_names`: targets, renames, re-exports), a method a rule knows, a name a
//! possibly-dead import binds (its uses keep the import), or a `use` (a block-level rename adds
//! a call name). A function body or macro body whose source text contains none of these, even
//! inside a longer word or a comment, would be visited for nothing, so it is skipped (so is a
//! statement of a visited body, its `let` bindings still recorded). The test is on bytes and
//! errs only toward visiting. It is recomputed when `call_names` grows. The same hits tell
//! whether a function names a method a rule knows: if not, no receiver in it is classified.

use crate::rewrite::Rewriter;

/// Every occurrence of every needle in the file, as sorted byte ranges.
#[derive(Default)]
pub(crate) struct Needles {
    hits: Vec<(usize, usize)>,
    /// Where a method a rule knows is named (a subset of `hits`, sorted).
    method_hits: Vec<usize>,
    longest: usize,
    /// `call_names.len()` when computed (`None`: not yet).
    names: Option<usize>,
}

impl Rewriter<'_> {
    /// True when `text[start..end]` contains no needle.
    pub(crate) fn inert(&mut self, start: usize, end: usize) -> bool {
        if start >= end || end > self.src.text.len() {
            return false;
        }
        let n = self.needles();
        let from = n.hits.partition_point(|h| h.0 + n.longest <= start);
        !n.hits[from..]
            .iter()
            .take_while(|h| h.0 < end)
            .any(|h| h.1 > start)
    }

    /// True when `text[start..end]` names no method a rule knows: no receiver in it needs
    /// classifying (see `Rewriter::classify`).
    pub(crate) fn names_no_method(&mut self, start: usize, end: usize) -> bool {
        let m = &self.needles().method_hits;
        let from = m.partition_point(|&h| h < start);
        m.get(from).is_none_or(|&h| h >= end)
    }

    /// The needle hits, recomputed first when the call names have grown since.
    fn needles(&mut self) -> &Needles {
        if self.needles.names != Some(self.call_names.len()) {
            self.needles = self.find_needles();
        }
        &self.needles
    }

    fn find_needles(&self) -> Needles {
        let text = self.src.text.as_bytes();
        let methods = self
            .rules
            .sync_methods
            .iter()
            .flat_map(|m| m.methods.iter());
        let mut needles: Vec<&str> = ["await", "use"]
            .into_iter()
            .chain(self.call_names.iter().map(String::as_str))
            .chain(self.watched.iter().map(String::as_str))
            .chain(methods.map(String::as_str))
            .filter(|n| !n.is_empty())
            .collect();
        // A watched import is often a call name too: one pass over the text each.
        needles.sort_unstable();
        needles.dedup();
        let mut hits = Vec::new();
        let mut longest = 0;
        for n in needles {
            longest = longest.max(n.len());
            hits.extend(memchr::memmem::find_iter(text, n.as_bytes()).map(|p| (p, p + n.len())));
        }
        hits.sort_unstable();
        let mut method_hits: Vec<usize> = hits
            .iter()
            .filter(|h| {
                self.rules
                    .sync_methods
                    .iter()
                    .any(|m| m.methods.iter().any(|n| n.as_bytes() == &text[h.0..h.1]))
            })
            .map(|h| h.0)
            .collect();
        method_hits.dedup();
        Needles {
            hits,
            method_hits,
            longest,
            names: Some(self.call_names.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use rustc_hash::FxHashMap as HashMap;

    use super::*;
    use crate::engine::Src;
    use crate::resolve::{CrateContext, Resolver};
    use crate::rules::RuleSet;
    use crate::text::SpanPositions;

    #[test]
    fn a_stretch_is_inert_only_without_any_needle() {
        let text = "fn a() { let v = x.len(); }\n\
                    fn b() { g().await; }\n\
                    fn c() { let o = PostprocessOptions::default(); }\n\
                    fn d() { use q as r; }\n\
                    fn e() { decode(s); }\n";
        let rules = RuleSet::builtin();
        let ctx = CrateContext::default();
        let modules = HashMap::default();
        let is_target = |_: &[String]| false;
        let resolver = Resolver::new(&ctx, &modules, &is_target);
        let pos = SpanPositions::new(text);
        let src = Src {
            text,
            base: 0,
            pos: &pos,
        };
        let mut rw = Rewriter::new(src, &rules, &resolver, vec!["crate:x".into()], true);
        rw.watched.push("PostprocessOptions".into());
        let line = |n: usize| {
            let start: usize = text.lines().take(n).map(|l| l.len() + 1).sum();
            (start, start + text.lines().nth(n).unwrap().len())
        };
        let inert = |rw: &mut Rewriter<'_>, n: usize| {
            let (s, e) = line(n);
            rw.inert(s, e)
        };
        assert!(inert(&mut rw, 0), "no needle");
        assert!(!inert(&mut rw, 1), "`await`");
        assert!(!inert(&mut rw, 2), "a watched import name");
        assert!(!inert(&mut rw, 3), "`use`");
        assert!(inert(&mut rw, 4), "`decode` is no call name yet");
        // A rename found later (`use …::parse as decode` in a block) makes it one: the needles
        // are recomputed when the call names grow.
        rw.call_names.insert("decode".into());
        assert!(!inert(&mut rw, 4));
        assert!(!rw.inert(5, 5), "an empty stretch is never skipped");
    }
}

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

use rustc_hash::FxHashSet as HashSet;

use crate::rules::RuleSet;

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

impl Needles {
    /// True when these needles were found for `call_names` of this length (call names only
    /// grow, so a length tells whether any was added since).
    pub(crate) fn is_current(&self, call_names: usize) -> bool {
        self.names == Some(call_names)
    }

    /// True when `start..end` (a non-empty range of the text) contains no needle.
    pub(crate) fn inert(&self, start: usize, end: usize) -> bool {
        let from = self.hits.partition_point(|h| h.0 + self.longest <= start);
        !self.hits[from..]
            .iter()
            .take_while(|h| h.0 < end)
            .any(|h| h.1 > start)
    }

    /// True when `start..end` names no method a rule knows.
    pub(crate) fn names_no_method(&self, start: usize, end: usize) -> bool {
        let m = &self.method_hits;
        let from = m.partition_point(|&h| h < start);
        m.get(from).is_none_or(|&h| h >= end)
    }

    /// Finds the needles of `text`: `await`, `use`, the call names, the watched import names
    /// and the methods the rules know.
    pub(crate) fn find(
        text: &str,
        rules: &RuleSet,
        call_names: &HashSet<String>,
        watched: &[String],
    ) -> Needles {
        let text = text.as_bytes();
        let methods = rules.sync_methods.iter().flat_map(|m| m.methods.iter());
        let mut needles: Vec<&str> = ["await", "use"]
            .into_iter()
            .chain(call_names.iter().map(String::as_str))
            .chain(watched.iter().map(String::as_str))
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
                rules
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
            names: Some(call_names.len()),
        }
    }
}

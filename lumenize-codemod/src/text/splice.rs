//! Changes to a text: byte-range splices (with the re-parse unit the safety net checks each
//! one in), diagnostics at a byte offset, and the one place that applies splices to a text and
//! maps offsets across them ([`apply`], [`landings`], [`OffsetMap`]).
//!
//! Both the planner's [`Splice`] and the public [`Edit`] are a [`Replacement`]: a range of the
//! original text and what replaces it. Every function here takes them sorted by start and
//! disjoint (the safety net checks that before anything is applied).

use crate::results::{Edit, Severity};

/// The region the safety net re-parses for a splice, and as what.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UnitKind {
    /// A function body: re-parsed as a block.
    Block,
    /// One statement (the innermost holding the splices): re-parsed as a statement.
    Stmt,
    /// Zero or more whole items (imports): re-parsed as a file.
    Items,
    /// The whole file.
    Whole,
}

/// A re-parse unit: `start..end` of the original text.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Unit {
    pub kind: UnitKind,
    pub start: usize,
    pub end: usize,
}

/// A planned byte-range splice.
#[derive(Clone, Debug)]
pub(crate) struct Splice {
    pub rule: String,
    pub start: usize,
    pub end: usize,
    pub replacement: String,
    pub unit: Unit,
}

/// A planned diagnostic, at a byte offset of the original text.
#[derive(Clone, Debug)]
pub(crate) struct Note {
    pub offset: usize,
    pub rule: String,
    pub message: String,
    pub severity: Severity,
}

/// A replacement of `start..end` of an original text (byte offsets).
pub(crate) trait Replacement {
    /// The replaced range of the original text.
    fn range(&self) -> (usize, usize);
    /// The text that replaces it.
    fn replacement(&self) -> &str;
}

impl Replacement for Splice {
    fn range(&self) -> (usize, usize) {
        (self.start, self.end)
    }
    fn replacement(&self) -> &str {
        &self.replacement
    }
}

impl Replacement for Edit {
    fn range(&self) -> (usize, usize) {
        (self.start, self.end)
    }
    fn replacement(&self) -> &str {
        &self.replacement
    }
}

/// A deletion.
impl Replacement for std::ops::Range<usize> {
    fn range(&self) -> (usize, usize) {
        (self.start, self.end)
    }
    fn replacement(&self) -> &str {
        ""
    }
}

/// `text[from..]` with `splices` (absolute offsets, sorted, disjoint, inside `from..`)
/// applied. `None` when a splice is out of order or outside the text.
pub(crate) fn apply<R: Replacement>(text: &str, from: usize, splices: &[R]) -> Option<String> {
    let mut out = String::with_capacity(text.len().saturating_sub(from) + 64);
    let mut at = from;
    for s in splices {
        let (start, end) = s.range();
        if start < at || end < start {
            return None;
        }
        out.push_str(text.get(at..start)?);
        out.push_str(s.replacement());
        at = end;
    }
    out.push_str(text.get(at..)?);
    Some(out)
}

/// Where a splice sits before and after the splices are applied, relative to some base.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Landing {
    /// The replaced range, in the original text.
    pub start: usize,
    pub end: usize,
    /// Where its replacement lands, in the new text.
    pub new_start: usize,
    pub new_end: usize,
}

impl Landing {
    /// How much the splice moves everything after it (new length minus old).
    pub(crate) fn growth(&self) -> isize {
        (self.new_end - self.new_start) as isize - (self.end - self.start) as isize
    }
}

/// Each splice's [`Landing`], offsets relative to `base` (splices sorted, disjoint, at or after
/// `base`).
pub(crate) fn landings<R: Replacement>(
    splices: &[R],
    base: usize,
) -> impl Iterator<Item = Landing> + '_ {
    let mut shift: isize = 0;
    splices.iter().map(move |s| {
        let (start, end) = s.range();
        let (start, end) = (start - base, end - base);
        let new_start = (start as isize + shift).max(0) as usize;
        let l = Landing {
            start,
            end,
            new_start,
            new_end: new_start + s.replacement().len(),
        };
        shift += l.growth();
        l
    })
}

/// Maps byte offsets of an original text to the text after the (sorted, disjoint) splices.
pub(crate) struct OffsetMap {
    landings: Vec<Landing>,
}

impl OffsetMap {
    pub(crate) fn new<R: Replacement>(splices: &[R]) -> Self {
        OffsetMap {
            landings: landings(splices, 0).collect(),
        }
    }

    /// Where each splice's replacement lands in the new text.
    pub(crate) fn landings(&self) -> &[Landing] {
        &self.landings
    }

    /// Where `offset` of the original text is in the new text; an offset inside a replaced
    /// range maps to the start of its replacement.
    pub(crate) fn map(&self, offset: usize) -> usize {
        let mut shift: isize = 0;
        for l in &self.landings {
            if offset < l.start {
                break;
            }
            if offset < l.end {
                return l.new_start;
            }
            shift += l.growth();
        }
        (offset as isize + shift).max(0) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(start: usize, end: usize, replacement: &str) -> Edit {
        Edit {
            rule: "r".into(),
            start,
            end,
            replacement: replacement.into(),
            line: 1,
            column: 1,
        }
    }

    #[test]
    fn applies_and_maps_offsets_across_splices() {
        let text = "abcdefgh";
        let edits = [edit(1, 3, "XYZ"), edit(5, 5, "+"), edit(6, 8, "")];
        assert_eq!(apply(text, 0, &edits).as_deref(), Some("aXYZde+f"));
        assert_eq!(apply(text, 1, &edits[..1]).as_deref(), Some("XYZdefgh"));
        assert_eq!(apply(text, 0, &[edit(3, 4, ""), edit(1, 2, "")]), None);
        assert_eq!(apply(text, 0, &[edit(7, 9, "")]), None);
        let map = OffsetMap::new(&edits);
        let starts: Vec<usize> = map.landings().iter().map(|l| l.new_start).collect();
        assert_eq!(starts, [1, 6, 8]);
        // Before, inside, and after the replaced ranges.
        assert_eq!(
            [0, 1, 2, 3, 5, 6, 7, 8].map(|o| map.map(o)),
            [0, 1, 1, 4, 7, 8, 8, 8]
        );
        let rel: Vec<Landing> = landings(&edits[1..], 4).collect();
        assert_eq!((rel[0].start, rel[0].new_end, rel[1].new_start), (1, 2, 3));
    }
}

//! Two rounds of edits as one: edits planned on a text that earlier edits produced, mapped
//! back onto the original, so a file's [`Edit`]s stay splices of what was read.

use crate::results::Edit;
use crate::text::LineIndex;

/// `second` (edits on the text `first` produced from `original`) and `first`, as edits on
/// `original`, sorted and disjoint; lines and columns are those of `original`. `None` when a
/// later edit reaches into text an earlier one inserted (they cannot be told apart then).
pub(super) fn compose(original: &str, first: &[Edit], second: &[Edit]) -> Option<Vec<Edit>> {
    let mut out: Vec<Edit> = first.to_vec();
    let lines = LineIndex::new(original);
    for e in second {
        let (start, end) = (back(first, e.start, true)?, back(first, e.end, false)?);
        if end < start {
            return None;
        }
        let (line, column) = lines.line_col(start);
        out.push(Edit {
            start,
            end,
            line,
            column,
            ..e.clone()
        });
    }
    out.sort_by_key(|e| (e.start, e.end));
    for w in out.windows(2) {
        if w[1].start < w[0].end {
            return None;
        }
    }
    Some(out)
}

/// The original offset of `offset` in the edited text; `None` when it lies inside text an
/// earlier edit inserted. A start edge right after a deletion maps past it, an end edge right
/// before one maps before it.
fn back(first: &[Edit], offset: usize, is_start: bool) -> Option<usize> {
    let mut delta: isize = 0;
    for e in first {
        let new_start = (e.start as isize + delta) as usize;
        let new_end = new_start + e.replacement.len();
        if is_start {
            if offset < new_start || (offset == new_start && new_end > new_start) {
                break;
            }
            if offset < new_end {
                return None;
            }
        } else {
            if offset <= new_start {
                break;
            }
            if offset <= new_end {
                return None;
            }
        }
        delta += e.replacement.len() as isize - (e.end - e.start) as isize;
    }
    Some((offset as isize - delta) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(start: usize, end: usize, r: &str) -> Edit {
        Edit {
            rule: "r".into(),
            start,
            end,
            replacement: r.into(),
            line: 0,
            column: 0,
        }
    }

    #[test]
    fn later_edits_map_back_across_earlier_ones() {
        let original = "a(x, None).await; b().await;";
        let first = [edit(3, 9, ""), edit(10, 16, "")];
        let mid = crate::text::apply(original, 0, &first).unwrap();
        assert_eq!(mid, "a(x); b().await;");
        let second = [edit(9, 15, "")];
        let all = compose(original, &first, &second).unwrap();
        assert_eq!(crate::text::apply(original, 0, &all).unwrap(), "a(x); b();");
        assert_eq!(all[2].start, 21);
    }

    #[test]
    fn an_edit_inside_inserted_text_is_refused() {
        let original = "f(x)";
        let first = [edit(0, 1, "ggg")];
        assert!(compose(original, &first, &[edit(1, 2, "")]).is_none());
        assert!(compose(original, &first, &[edit(3, 4, "")]).is_some());
    }
}

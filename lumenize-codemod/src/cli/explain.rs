//! `lumenize-codemod explain RULE`: what a rule does, before and after, and what to do by hand
//! for each case it leaves for review. The text is the rule's section of MIGRATION.md (at the
//! repository root, compiled in), so the guide and the tool say the same thing; a test checks
//! that every rule has its section.
//!
//! A section starts with a level-2 heading holding the rule id in backticks (`` ## `ID` ``) and
//! runs to the next level-2 heading. A rule that lives outside `rules/builtin.toml` (a rule
//! implemented in code) only needs such a section, and its id in `tests/migration_guide.rs`.

/// The migration guide.
pub const GUIDE: &str = include_str!("../../../MIGRATION.md");

/// Where the guide is published.
const GUIDE_URL: &str = concat!(env!("CARGO_PKG_REPOSITORY"), "/blob/main/MIGRATION.md");

/// The guide's section about `id`, heading included, or `None` when it has none.
pub fn section(id: &str) -> Option<&'static str> {
    let heading = format!("## `{id}`");
    let start = GUIDE.match_indices(&heading).map(|(i, _)| i).find(|&i| {
        (i == 0 || GUIDE[..i].ends_with('\n'))
            && GUIDE[i + heading.len()..].starts_with(['\n', '\r'])
    })?;
    let body = &GUIDE[start..];
    let end = body[heading.len()..]
        .find("\n## ")
        .map_or(body.len(), |n| heading.len() + n + 1);
    Some(body[..end].trim_end())
}

/// The help text of a rule for SARIF (its section), if the guide has one.
pub fn help_markdown(id: &str) -> Option<String> {
    section(id).map(|s| format!("{s}\n\nMore: {}", help_uri(id)))
}

/// The link to a rule's section (GitHub's anchor for `` ## `ID` `` is the id).
pub fn help_uri(id: &str) -> String {
    format!("{GUIDE_URL}#{id}")
}

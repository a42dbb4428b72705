//! `lumenize-codemod explain RULE`: what a rule does, before and after, and what to do by hand
//! for each case it leaves for review. The text is the rule's section of MIGRATION.md (at the
//! repository root, compiled in through the crate's `MIGRATION.md` symlink so a packaged crate
//! carries it), so the guide and the tool say the same thing; a test checks
//! that every rule has its section.
//!
//! A section starts with a level-2 heading holding the rule id in backticks (`` ## `ID` ``) and
//! runs to the next level-2 heading. A rule that lives outside `rules/builtin.toml` (a rule
//! implemented in code) only needs such a section, and its id in `tests/migration_guide.rs`.

use super::args::ExplainArgs;
use super::config::{self, RuleChoice};

/// The migration guide.
pub const GUIDE: &str = include_str!("../../MIGRATION.md");

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

/// The section about the cases every call rule reports (user rules included).
const COMMON: &str = "Needs review with any call rule";

/// `explain RULE`: prints the rule's section, or for a rule of a config file its summary and
/// the cases common to every rule. Returns the exit code (2 for an unknown id).
pub fn run(args: &ExplainArgs) -> u8 {
    if let Some(text) = section(&args.rule) {
        println!("{text}\n\nThe whole guide: {GUIDE_URL}");
        return 0;
    }
    let config = args.config.clone().or_else(|| {
        std::env::current_dir()
            .ok()
            .and_then(|d| std::fs::canonicalize(d).ok())
            .and_then(|d| config::discover(&d))
    });
    let set = match config::build(config.as_deref(), &RuleChoice::default()) {
        Ok(set) => set,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let rules = set.rules();
    let Some(rule) = rules.iter().find(|r| r.id == args.rule) else {
        let known: Vec<&str> = rules.iter().map(|r| r.id.as_str()).collect();
        eprintln!(
            "error: unknown rule `{}`; the rules are: {}",
            args.rule,
            known.join(", ")
        );
        return 2;
    };
    println!(
        "## `{}`\n\n{}\n\n(defined in {})",
        rule.id, rule.summary, rule.source
    );
    if let Some(common) = common_section() {
        println!("\n{common}");
    }
    0
}

fn common_section() -> Option<&'static str> {
    let heading = format!("## {COMMON}\n");
    let start = GUIDE.find(&heading)?;
    let body = &GUIDE[start..];
    let end = body[heading.len()..]
        .find("\n## ")
        .map_or(body.len(), |n| heading.len() + n + 1);
    Some(body[..end].trim_end())
}

//! What users read: messages of a config file's own rules speak of that rule (not of lumenize
//! 0.9/1.0), and doc-comment findings name a call, not any text containing the name.

use std::path::Path;

use lumenize_codemod::{migrate_source, CrateContext, Diagnostic, RuleSet, Severity};

const RULES: &str = "\
[rules.db-sync]
summary = \"my_db's fetch became synchronous\"

[[sync-fn]]
rule = \"db-sync\"
paths = [\"my_db::fetch\"]
drop-none-arg = 2

[[removed-item]]
rule = \"db-sync\"
paths = [\"my_db::FetchOptions\"]
";

fn migrate(rules: &RuleSet, src: &str) -> Vec<Diagnostic> {
    let path = Path::new("app/src/lib.rs");
    let ctx = CrateContext::scan_with([(path, src)], rules);
    migrate_source(path, src, &ctx, rules).diagnostics
}

#[test]
fn a_user_rules_messages_speak_of_that_rule() {
    let rules = RuleSet::builtin()
        .with_config(RULES, Path::new("lumenize-codemod.toml"))
        .unwrap();
    let src = "\
use my_db::{fetch, FetchOptions};

/// Loads: `let v = fetch(key, None).await?;`
pub async fn load(key: &str, o: FetchOptions) -> Result<(), my_db::Error> {
    let _a = fetch(key, None).await?;
    let _b = fetch(key, Some(o)).await?;
    let later = fetch(key, None);
    later.await?;
    Ok(())
}
";
    let diags = migrate(&rules, src);
    assert!(diags.len() >= 5, "{diags:#?}");
    for d in &diags {
        assert_eq!(d.rule, "db-sync");
        assert!(
            !d.message.contains("1.0") && !d.message.contains("0.9"),
            "a user rule's message speaks of lumenize: {}",
            d.message
        );
    }
    let has = |sev: Severity, words: &str| {
        diags
            .iter()
            .any(|d| d.severity == sev && d.message.contains(words))
    };
    assert!(
        has(Severity::Edited, "is synchronous now (rule `db-sync`)"),
        "{diags:#?}"
    );
    assert!(
        has(
            Severity::NeedsReview,
            "which the new API (rule `db-sync`) removed"
        ),
        "{diags:#?}"
    );
    assert!(
        has(
            Severity::NeedsReview,
            "documentation uses the old (rule `db-sync`) `fetch`"
        ),
        "{diags:#?}"
    );
    assert!(
        has(
            Severity::NeedsReview,
            "no longer exists now (rule `db-sync`) but is still used"
        ),
        "{diags:#?}"
    );
}

#[test]
fn doc_findings_name_a_call_not_any_text_containing_the_name() {
    let rules = RuleSet::builtin();
    let src = "\
use lumenize_core::structured_clone::parse;

/// `reparse(text, None).await` and `s.parse::<u8>().await` are not lumenize calls.
pub async fn a(s: &str) {
    let _ = parse(s, None).await;
}

/// Decode with `parse(text, None).await?`.
pub async fn b(s: &str) {
    let _ = parse(s, None).await;
}
";
    let docs: Vec<Diagnostic> = migrate(&rules, src)
        .into_iter()
        .filter(|d| d.message.starts_with("documentation uses"))
        .collect();
    assert_eq!(docs.len(), 1, "{docs:#?}");
    assert_eq!(docs[0].line, 8);
}

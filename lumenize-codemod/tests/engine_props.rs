//! Properties of the engine on inputs nobody wrote by hand:
//! - generated valid Rust files mixing 0.9 call sites (in every shape the rules know, inside
//!   macros, with comments and odd layout, LF or CRLF) with look-alikes that must not change;
//! - the real files of a local Rust corpus, when one exists (`LUMENIZE_CORPUS` or
//!   `/tmp/rust-corpus`; skipped with a message otherwise, never required in CI).
//!
//! For every input: the output parses, the safety net never has to reject (no `error`
//! diagnostic on a valid input), the edits reproduce the output, and a second run edits nothing.

use std::path::{Path, PathBuf};

use lumenize_codemod::{migrate_source, CrateContext, RuleSet, Severity};
use proptest::prelude::*;

const HEADERS: &[&str] = &[
    "use lumenize_core::structured_clone::{parse, stringify, preprocess, postprocess, PostprocessOptions};\n",
    "use lumenize_core::structured_clone::*;\n",
    "use lumenize_core::structured_clone::parse as decode;\nuse lumenize_core::structured_clone::stringify;\n",
    "use lumenize_core::ocan::{execute_operation_chain, OperationChain};\n",
    "use lumenize_core::alarms::Alarms;\nuse lumenize_core::prelude::*;\n",
    "use other::parse;\nuse std::sync::Arc;\n",
    "use lumenize_core::rpc::create_incoming_operations_transform;\n",
];

/// Statement templates. `{w}` is replaced by a whitespace/comment variant.
const STMTS: &[&str] = &[
    "let v = parse(s, None){w}.await?;",
    "let v = decode(s,{w}None).await.unwrap();",
    "let t = stringify(&v){w}.await?;",
    "let i = postprocess(&preprocess(&v).await?,{w}None).await;",
    "alarms.schedule(When::delay_secs(1), cb.clone()){w}.await?;",
    "let b = alarms.cancel_schedule(\"id\").await;",
    "let c = alarms.cancel_schedule(\"id\").await?;",
    "alarms.cancel_schedule(\"x\"){w}.await.unwrap();",
    "ctx.alarms().schedule(When::delay_secs(2), cb.clone()).await.expect(\"armed\");",
    "execute_operation_chain(&chain, &mut self_.parent).await?;",
    "execute_operation_chain(&chain,{w}&mut *boxed).await?;",
    "assert!(parse(s, None).await.is_ok(), \"{{}}\", s);",
    "println!(\"{:?}\", stringify(&v).await);",
    "let (a, b) = tokio::join!(async { parse(s, None).await }, other_future());",
    "let n: u32 = s.parse().unwrap();",
    "let o = other::parse(s, None).await;",
    "thing.schedule(job).await;",
    "my_macro!(parse(s, None).await);",
    "let f = parse(s, None); let g = f.await;",
    "let x = parse(&stringify(&v).await?, None).await?;",
    "let z = parse(\n        s, // keep me\n        None,\n    )\n    .await?;",
    "if cond { let _ = parse(\"{}\", Option::None).await; }",
];

const WS: &[&str] = &[
    "",
    " ",
    "\n        ",
    " /* note */ ",
    " // trailing\n        ",
];

fn file_strategy() -> impl Strategy<Value = String> {
    let header = prop::collection::vec(0..HEADERS.len(), 1..4);
    let stmts = prop::collection::vec((0..STMTS.len(), 0..WS.len()), 0..10);
    let fns = prop::collection::vec(stmts, 1..4);
    (header, fns, any::<bool>(), any::<bool>()).prop_map(|(h, fns, crlf, in_mod)| {
        let mut out = String::new();
        let mut seen = Vec::new();
        for i in h {
            if !seen.contains(&i) {
                seen.push(i);
                out.push_str(HEADERS[i]);
            }
        }
        out.push('\n');
        let indent = if in_mod { "    " } else { "" };
        if in_mod {
            out.push_str("mod inner {\n    use super::*;\n");
        }
        for (k, body) in fns.iter().enumerate() {
            out.push_str(&format!(
                "{indent}async fn f{k}(s: &str, v: Value, alarms: &Alarms, ctx: &Ctx, cb: Continuation, chain: OperationChain, self_: &mut Obj, boxed: &mut Box<Obj>, thing: &Thing, cond: bool) -> Result<(), Error> {{\n"
            ));
            for &(si, wi) in body {
                let stmt = STMTS[si].replace("{w}", WS[wi]);
                out.push_str(&format!("{indent}    {stmt}\n"));
            }
            out.push_str(&format!("{indent}    Ok(())\n{indent}}}\n\n"));
        }
        if in_mod {
            out.push_str("}\n");
        }
        if crlf {
            out = out.replace('\n', "\r\n");
        }
        out
    })
}

/// Runs the engine twice and checks every property; returns a description of a failure.
fn check(path: &Path, input: &str, ctx: &CrateContext, rules: &RuleSet) -> Result<(), String> {
    let m = migrate_source(path, input, ctx, rules);
    if let Some(e) = m
        .diagnostics
        .iter()
        .find(|d| d.severity == Severity::Error && d.rule != "parse")
    {
        return Err(format!("error diagnostic on a valid input: {}", e.message));
    }
    if m.changed() {
        syn::parse_file(&m.output).map_err(|e| format!("output does not parse: {e}"))?;
    }
    let mut rebuilt = input.to_string();
    for e in m.edits.iter().rev() {
        rebuilt.replace_range(e.start..e.end, &e.replacement);
    }
    if rebuilt != m.output {
        return Err("edits do not reproduce the output".into());
    }
    let again = migrate_source(path, &m.output, ctx, rules);
    if again.changed() {
        return Err(format!("second run edits again: {:?}", again.edits));
    }
    if m.changed() && !ctx.may_need_migration(input.as_bytes(), rules) {
        return Err("the prefilter would have skipped a file the engine edits".into());
    }
    Ok(())
}

proptest! {
    // Failures print the whole input; no regression file is written into the source tree.
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn generated_files_parse_after_migration_and_are_idempotent(input in file_strategy()) {
        syn::parse_file(&input).expect("the generator makes valid Rust");
        let path = PathBuf::from("app/src/lib.rs");
        let rules = RuleSet::builtin();
        let ctx = CrateContext::scan([(path.as_path(), input.as_str())]);
        if let Err(e) = check(&path, &input, &ctx, &rules) {
            prop_assert!(false, "{e}\n--- input\n{input}");
        }
    }
}

/// Rules that treat a few tokio APIs as if they had become synchronous.
const STRESS_RULES: &str = r#"
[rules.stress-fn]
summary = "tokio free functions (stress test only)"
[rules.stress-method]
summary = "tokio channel methods (stress test only)"

[[sync-fn]]
rule = "stress-fn"
paths = ["tokio::time::sleep", "tokio::time::timeout", "tokio::fs::read_to_string", "tokio::task::yield_now"]

[[sync-method]]
rule = "stress-method"
methods = ["recv", "send", "acquire", "lock"]
receiver-types = ["tokio::sync::**"]
receiver-methods = ["lock_owned"]
"#;

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 128,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Bad input never panics: a generated file cut anywhere (mostly invalid Rust) is either
    /// rejected with a diagnostic or migrated into something that still parses.
    #[test]
    fn truncated_files_never_panic(input in file_strategy(), cut in any::<prop::sample::Index>()) {
        let mut at = cut.index(input.len() + 1);
        while !input.is_char_boundary(at) {
            at -= 1;
        }
        let text = &input[..at];
        let path = PathBuf::from("app/src/lib.rs");
        let rules = RuleSet::builtin();
        let ctx = CrateContext::scan([(path.as_path(), text)]);
        let m = migrate_source(&path, text, &ctx, &rules);
        if m.changed() {
            prop_assert!(syn::parse_file(&m.output).is_ok(), "changed output must parse:\n{}", m.output);
        }
        if syn::parse_file(text).is_err() {
            prop_assert!(!m.changed());
        }
    }
}

fn corpus_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            corpus_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn real_corpus_files_stay_valid_and_idempotent() {
    // Opt-in: LUMENIZE_CORPUS, or the default location in a release build (in a debug build
    // the 4.5M-line corpus would take minutes).
    let dir = match std::env::var_os("LUMENIZE_CORPUS") {
        Some(d) => PathBuf::from(d),
        None if !cfg!(debug_assertions) => PathBuf::from("/tmp/rust-corpus"),
        None => {
            eprintln!(
                "skipped: set LUMENIZE_CORPUS to a directory of .rs files (or run with --release)"
            );
            return;
        }
    };
    if !dir.is_dir() {
        eprintln!("skipped: no corpus at {}", dir.display());
        return;
    }
    let mut files = Vec::new();
    corpus_files(&dir, &mut files);
    files.sort();
    // The real corpus never uses lumenize, so besides the built-in rules it is run with a
    // stress rule set that makes common tokio calls "synchronous": real edits on real code.
    let builtin = RuleSet::builtin();
    let stress = RuleSet::builtin()
        .with_config(STRESS_RULES, Path::new("stress.toml"))
        .expect("stress rules are valid");
    let ctx = CrateContext::default();
    let mut failures = Vec::new();
    let (mut checked, mut edited) = (0, 0);
    for f in &files {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        for rules in [&builtin, &stress] {
            // The engine only sees files the prefilter lets through (as in the CLI).
            if !ctx.may_need_migration(text.as_bytes(), rules) {
                continue;
            }
            checked += 1;
            if migrate_source(f, &text, &ctx, rules).changed() {
                edited += 1;
            }
            if let Err(e) = check(f, &text, &ctx, rules) {
                failures.push(format!("{}: {e}", f.display()));
            }
        }
    }
    eprintln!(
        "corpus: {} files, {checked} runs past the prefilter, {edited} edited",
        files.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

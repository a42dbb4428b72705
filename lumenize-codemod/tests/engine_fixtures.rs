//! File fixtures: `tests/fixtures/<case>/input.rs` is migrated and compared with `expected.rs`
//! (a case without `expected.rs` must not change). Optional files:
//! - `path.txt`: where the file sits in its crate (default `app/src/lib.rs`);
//! - `context/…`: other files of the crate (paths relative to `context/`), given to
//!   `CrateContext::scan` together with the input.
//!
//! Every case's diagnostics are snapshotted (`tests/snapshots/engine_fixtures__<case>.snap`),
//! and every case is run a second time on its own output, which must make no edit.

use std::fs;
use std::path::{Path, PathBuf};

mod support;

use lumenize_codemod::{migrate_source, CrateContext, RuleSet};

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn walk(dir: &Path, base: &Path, out: &mut Vec<(PathBuf, String)>) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, base, out);
        } else {
            let rel = p.strip_prefix(base).unwrap().to_path_buf();
            out.push((rel, fs::read_to_string(&p).unwrap()));
        }
    }
}

fn run_case(dir: &Path) -> Result<(), String> {
    let name = dir.file_name().unwrap().to_string_lossy().to_string();
    let input = fs::read_to_string(dir.join("input.rs")).map_err(|e| format!("{name}: {e}"))?;
    let expected = match fs::read_to_string(dir.join("expected.rs")) {
        Ok(t) => t,
        Err(_) => input.clone(),
    };
    let path = fs::read_to_string(dir.join("path.txt"))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "app/src/lib.rs".to_string());
    let path = PathBuf::from(path);
    let mut context = Vec::new();
    walk(&dir.join("context"), &dir.join("context"), &mut context);
    let mut files: Vec<(&Path, &str)> = context
        .iter()
        .map(|(p, t)| (p.as_path(), t.as_str()))
        .collect();
    files.push((path.as_path(), input.as_str()));
    let rules = RuleSet::builtin();
    let ctx = CrateContext::scan(files);
    let m = migrate_source(&path, &input, &ctx, &rules);
    if m.output != expected {
        return Err(format!(
            "{name}: output differs\n--- expected\n{expected}\n--- got\n{}\n--- diagnostics\n{}",
            m.output,
            support::render_diagnostics(&m.diagnostics)
        ));
    }
    assert_eq!(
        m.changed(),
        input != expected,
        "{name}: changed() disagrees with the output"
    );
    // The prefilter must never skip a file the engine edits or reports on.
    if !m.diagnostics.is_empty() {
        assert!(
            ctx.may_need_migration(input.as_bytes(), &rules),
            "{name}: the prefilter would have skipped this file"
        );
    }
    // Edits are splices of the original: applying them reproduces the output.
    let mut rebuilt = input.clone();
    for e in m.edits.iter().rev() {
        rebuilt.replace_range(e.start..e.end, &e.replacement);
    }
    assert_eq!(
        rebuilt, m.output,
        "{name}: edits do not reproduce the output"
    );
    let again = migrate_source(&path, &m.output, &ctx, &rules);
    if again.changed() {
        return Err(format!("{name}: second run still edits: {:?}", again.edits));
    }
    insta::with_settings!({
        snapshot_path => "snapshots",
        prepend_module_to_snapshot => true,
        omit_expression => true,
        description => format!("diagnostics of tests/fixtures/{name}"),
    }, {
        insta::assert_snapshot!(name.clone(), support::render_diagnostics(&m.diagnostics));
    });
    Ok(())
}

#[test]
fn fixtures() {
    support::run_cases(&fixtures_dir(), "input.rs", 40, run_case);
}

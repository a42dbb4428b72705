//! Crate fixtures for the `unasync` rule: `tests/unasync/<case>/before/` is a crate (paths
//! relative to it, `Cargo.toml` included when the case needs the library name), migrated as
//! the binary does it: every file through the per-file rules, then the crate through
//! `unasync`, the two rounds of edits composed. `after/` holds the expected text of every
//! file that changes (a file missing there must not change); `args.txt` may say
//! `--unasync-public`.
//!
//! Every case's diagnostics are snapshotted (`tests/snapshots/unasync_fixtures__<case>.snap`),
//! every migrated file must parse, and every case is run a second time on its own output,
//! which must make no edit.

use std::fs;
use std::path::{Path, PathBuf};

mod support;

use lumenize_codemod::{
    apply_edits, compose_edits, migrate_source, unasync_crate, CrateContext, CrateFile, Diagnostic,
    RuleSet, UnasyncOptions,
};

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

/// One run over the crate: the new text of every file, the edits made, the diagnostics.
struct Run {
    outputs: Vec<String>,
    edits: usize,
    diagnostics: Vec<Diagnostic>,
}

fn migrate_crate(files: &[(PathBuf, String)], opts: UnasyncOptions) -> Result<Run, String> {
    let rules = RuleSet::builtin();
    let ctx = CrateContext::scan(files.iter().map(|(p, t)| (p.as_path(), t.as_str())));
    let first: Vec<_> = files
        .iter()
        .map(|(p, t)| {
            if p.extension().is_some_and(|e| e == "rs") {
                migrate_source(p, t, &ctx, &rules)
            } else {
                lumenize_codemod::FileMigration {
                    output: t.clone(),
                    ..Default::default()
                }
            }
        })
        .collect();
    let crate_files: Vec<CrateFile> = files
        .iter()
        .zip(&first)
        .map(|((p, _), m)| CrateFile {
            path: p,
            text: &m.output,
            editable: true,
        })
        .collect();
    let second = unasync_crate(&crate_files, &ctx, &rules, opts);
    let mut run = Run {
        outputs: Vec::new(),
        edits: 0,
        diagnostics: Vec::new(),
    };
    for (((path, original), a), b) in files.iter().zip(&first).zip(second) {
        let edits = compose_edits(original, &a.edits, &b.edits)
            .ok_or_else(|| format!("{}: the two rounds of edits do not compose", path.display()))?;
        let rebuilt = apply_edits(original, &edits).ok_or("composed edits do not apply")?;
        if rebuilt != b.output {
            return Err(format!(
                "{}: composed edits do not reproduce the output",
                path.display()
            ));
        }
        let rust = path.extension().is_some_and(|e| e == "rs");
        if rust && syn::parse_file(original).is_ok() && syn::parse_file(&b.output).is_err() {
            return Err(format!("{}: the output does not parse", path.display()));
        }
        run.edits += edits.len();
        run.diagnostics.extend(a.diagnostics.iter().cloned());
        run.diagnostics.extend(b.diagnostics);
        run.outputs.push(b.output);
    }
    Ok(run)
}

fn run_case(dir: &Path) -> Result<(), String> {
    let name = dir.file_name().unwrap().to_string_lossy().to_string();
    let mut files = Vec::new();
    walk(&dir.join("before"), &dir.join("before"), &mut files);
    let public = fs::read_to_string(dir.join("args.txt"))
        .map(|a| a.contains("--unasync-public"))
        .unwrap_or(false);
    let opts = UnasyncOptions { public };
    let run = migrate_crate(&files, opts).map_err(|e| format!("{name}: {e}"))?;
    let mut failures = Vec::new();
    // UNASYNC_BLESS=1 writes `after/` from the output (review the diff before committing).
    let bless = std::env::var_os("UNASYNC_BLESS").is_some();
    for ((path, input), output) in files.iter().zip(&run.outputs) {
        if bless {
            let target = dir.join("after").join(path);
            if output != input {
                fs::create_dir_all(target.parent().unwrap()).unwrap();
                fs::write(&target, output).unwrap();
            } else {
                let _ = fs::remove_file(&target);
            }
            continue;
        }
        let expected = fs::read_to_string(dir.join("after").join(path)).unwrap_or(input.clone());
        if *output != expected {
            failures.push(format!(
                "{name}/{}: output differs\n--- expected\n{expected}\n--- got\n{output}",
                path.display()
            ));
        }
    }
    if !failures.is_empty() {
        return Err(format!(
            "{}\n--- diagnostics\n{}",
            failures.join("\n"),
            support::render_diagnostics(&run.diagnostics)
        ));
    }
    let again: Vec<(PathBuf, String)> = files
        .iter()
        .map(|(p, _)| p.clone())
        .zip(run.outputs.iter().cloned())
        .collect();
    let second = migrate_crate(&again, opts).map_err(|e| format!("{name} (second run): {e}"))?;
    if second.edits != 0 {
        return Err(format!(
            "{name}: the second run still edits ({} edits)",
            second.edits
        ));
    }
    insta::with_settings!({
        snapshot_path => "snapshots",
        prepend_module_to_snapshot => true,
        omit_expression => true,
        description => format!("diagnostics of tests/unasync/{name}"),
    }, {
        insta::assert_snapshot!(name.clone(), support::render_diagnostics(&run.diagnostics));
    });
    Ok(())
}

#[test]
fn unasync_fixtures() {
    support::run_cases(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/unasync"),
        "before",
        20,
        run_case,
    );
}

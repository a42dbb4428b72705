//! `apply --verify`: ask the compiler about the code the migration left behind.
//!
//! After `apply` has written a crate, [`verify`] runs `cargo check --message-format=json` in
//! it and keeps the compiler errors and warnings that fall on lines the migration edited or
//! left for review ([`Touched`]); the rest of the crate's messages are only counted, since
//! they were there before.
//!
//! One class of leftover is fixed on the spot: an `.await` on a value that is no longer a
//! future (rustc's E0277 "… is not a future" with its MachineApplicable "remove the `.await`"
//! suggestion). It is what a site the codemod could not rewrite leaves (a comment next to the
//! removed argument, a call behind an unknown receiver), and also a site it never recognised
//! (a lumenize function re-exported by the crate and called from its integration tests as
//! `my_crate::…`). Since the crate compiled before the migration, such an error anywhere in
//! the crate is the migration's: it is reported and fixed wherever it is, not only on touched
//! lines. The fix is rustc's own suggestion, applied only when the suggested range really
//! holds `.await` in the file; each applied fix is reported as an [`Severity::Edited`]
//! diagnostic with rule [`AWAIT_FIX_RULE`], and the crate is checked once more so the
//! findings describe the fixed code.
//!
//! Usage, after writing the migrated files:
//!
//! ```text
//! let mut touched = Touched::default();
//! for f in &migrated_files {
//!     touched.add_file(&f.path, &f.original, &f.output, &f.edits, &f.diagnostics);
//! }
//! let report = verify(crate_dir, &touched)?;
//! for d in report.diagnostics() { /* print like the other diagnostics */ }
//! ```
//!
//! The analysis ([`analyze`]) is a pure function over the JSON text, so it is tested without
//! running cargo.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::results::{Diagnostic, Edit, Severity};
use crate::text::{LineIndex, OffsetMap};

/// The rule id of the diagnostics that report an applied `.await` fix.
pub const AWAIT_FIX_RULE: &str = "verify-await";
/// The rule id of the diagnostics that report a compiler message on a migrated line.
pub const COMPILER_RULE: &str = "verify";

/// The lines (1-based, in the migrated text) the migration edited or left for review, per file.
#[derive(Debug, Clone, Default)]
pub struct Touched {
    lines: BTreeMap<PathBuf, BTreeSet<usize>>,
}

impl Touched {
    /// Records one migrated file: the lines its `edits` produced in `output`, and the lines of
    /// its needs-review and error `diagnostics` (given in `original` coordinates, as the engine
    /// reports them) mapped into `output`. `file` should be the path the file has on disk.
    pub fn add_file(
        &mut self,
        file: &Path,
        original: &str,
        output: &str,
        edits: &[Edit],
        diagnostics: &[Diagnostic],
    ) {
        let map = OffsetMap::new(edits);
        let (old_lines, new_lines) = (LineIndex::new(original), LineIndex::new(output));
        let set = self.lines.entry(normalize(file)).or_default();
        for l in map.landings() {
            set.extend(new_lines.line(l.new_start)..=new_lines.line(l.new_end));
        }
        for d in diagnostics
            .iter()
            .filter(|d| d.severity != Severity::Edited)
        {
            let offset = old_lines.offset(d.line, d.column);
            set.insert(new_lines.line(map.map(offset)));
        }
    }

    /// True when `line` of `file` was touched.
    pub fn contains(&self, file: &Path, line: usize) -> bool {
        self.lines
            .get(&normalize(file))
            .is_some_and(|s| s.contains(&line))
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.lines.values().all(BTreeSet::is_empty)
    }
}

/// Paths are compared canonicalized when they exist (so `/tmp/x` and `/private/tmp/x`, or a
/// relative and an absolute spelling, agree).
fn normalize(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// A compiler error or warning on a touched line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The file, as it exists on disk.
    pub file: PathBuf,
    /// 1-based line of the primary span.
    pub line: usize,
    /// 1-based column of the primary span.
    pub column: usize,
    /// `error` or `warning`.
    pub level: String,
    /// The error code (`E0277`), if any.
    pub code: Option<String>,
    /// The compiler's message.
    pub message: String,
}

/// rustc's suggestion to remove an `.await` from a value that is not a future.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwaitFix {
    /// The file, as it exists on disk.
    pub file: PathBuf,
    /// Byte range of `.await` (possibly with the whitespace before it) to delete.
    pub start: usize,
    /// End of the range (exclusive).
    pub end: usize,
    /// 1-based line of the range.
    pub line: usize,
    /// 1-based column of the range.
    pub column: usize,
    /// False when the codemod neither edited nor reported this line (a call it missed).
    pub on_touched_line: bool,
}

/// What [`analyze`] found in one `cargo check` output.
#[derive(Debug, Clone, Default)]
pub struct Analysis {
    /// Errors and warnings on touched lines, plus every "is not a future" error.
    pub findings: Vec<Finding>,
    /// Machine-applicable `.await` removals in the crate's own files.
    pub await_fixes: Vec<AwaitFix>,
    /// Errors elsewhere in the crate (not caused by the migration, or not attributable).
    pub other_errors: usize,
    /// Warnings elsewhere in the crate.
    pub other_warnings: usize,
}

/// Reads `cargo check --message-format=json` output. Relative file names are resolved against
/// `base_dir` (cargo reports them relative to the workspace root of the checked crate).
pub fn analyze(json_lines: &str, base_dir: &Path, touched: &Touched) -> Analysis {
    let mut out = Analysis::default();
    let mut seen = BTreeSet::new();
    for line in json_lines.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue; // cargo also prints non-JSON lines (build script output)
        };
        if v["reason"] != "compiler-message" {
            continue;
        }
        let msg = &v["message"];
        let level = msg["level"].as_str().unwrap_or_default();
        if level != "error" && level != "warning" {
            continue;
        }
        let Some(span) = primary_span(msg) else {
            continue; // summaries ("aborting due to …") have no span
        };
        let file = resolve(base_dir, span["file_name"].as_str().unwrap_or_default());
        let line_no = span["line_start"].as_u64().unwrap_or(0) as usize;
        let line_end = span["line_end"].as_u64().unwrap_or(0) as usize;
        let on_touched = (line_no..=line_end.max(line_no)).any(|l| touched.contains(&file, l));
        let code = msg["code"]["code"].as_str().map(str::to_string);
        let message = msg["message"].as_str().unwrap_or_default().to_string();
        let not_a_future = code.as_deref() == Some("E0277") && message.ends_with("is not a future");
        // The same message is emitted once per target (lib, test, …): keep one.
        if !seen.insert((file.clone(), line_no, message.clone())) {
            continue;
        }
        if !on_touched && !not_a_future {
            match level {
                "error" => out.other_errors += 1,
                _ => out.other_warnings += 1,
            }
            continue;
        }
        if not_a_future {
            let fix = remove_await_suggestion(msg, base_dir, on_touched);
            // Only the crate's own files, never a dependency's.
            out.await_fixes
                .extend(fix.filter(|f| f.file.starts_with(base_dir)));
        }
        out.findings.push(Finding {
            file,
            line: line_no,
            column: span["column_start"].as_u64().unwrap_or(0) as usize,
            level: level.to_string(),
            code,
            message,
        });
    }
    out
}

fn primary_span(msg: &serde_json::Value) -> Option<&serde_json::Value> {
    msg["spans"]
        .as_array()?
        .iter()
        .find(|s| s["is_primary"] == true)
}

fn resolve(base_dir: &Path, file: &str) -> PathBuf {
    let p = Path::new(file);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base_dir.join(p)
    }
}

/// The MachineApplicable empty replacement offered in a child of an E0277 message.
fn remove_await_suggestion(
    msg: &serde_json::Value,
    base_dir: &Path,
    on_touched_line: bool,
) -> Option<AwaitFix> {
    let children = msg["children"].as_array()?;
    children.iter().find_map(|child| {
        child["spans"].as_array()?.iter().find_map(|s| {
            let applicable = s["suggestion_applicability"] == "MachineApplicable";
            let removes = s["suggested_replacement"] == "";
            (applicable && removes).then(|| AwaitFix {
                file: resolve(base_dir, s["file_name"].as_str().unwrap_or_default()),
                start: s["byte_start"].as_u64().unwrap_or(0) as usize,
                end: s["byte_end"].as_u64().unwrap_or(0) as usize,
                line: s["line_start"].as_u64().unwrap_or(0) as usize,
                column: s["column_start"].as_u64().unwrap_or(0) as usize,
                on_touched_line,
            })
        })
    })
}

/// Why verification could not run (the findings themselves are not errors).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// `cargo` could not be started.
    #[error("--verify: cannot run `cargo check`: {0}")]
    Spawn(#[source] std::io::Error),
    /// A file to fix could not be read or dated.
    #[error("--verify: {path}: {1}", path = .0.display())]
    Io(PathBuf, #[source] std::io::Error),
    /// A fix could not be written (nothing was).
    #[error("--verify: {0}")]
    Write(#[source] crate::write::WriteError),
}

/// Applies `.await` removals, each only if the file still holds `.await` (after optional
/// whitespace) at that range. Returns one [`Severity::Edited`] diagnostic per applied fix.
pub fn apply_await_fixes(fixes: &[AwaitFix]) -> Result<Vec<Diagnostic>, VerifyError> {
    let mut by_file: BTreeMap<&Path, Vec<&AwaitFix>> = BTreeMap::new();
    for f in fixes {
        by_file.entry(&f.file).or_default().push(f);
    }
    let mut applied = Vec::new();
    for (file, mut list) in by_file {
        let text =
            std::fs::read_to_string(file).map_err(|e| VerifyError::Io(file.to_path_buf(), e))?;
        // Back to front, so each range is checked against text no later fix has moved;
        // duplicates and overlaps are skipped.
        list.sort_by_key(|f| std::cmp::Reverse(f.start));
        let mut floor = usize::MAX;
        let (mut cuts, mut reported) = (Vec::new(), Vec::new());
        for f in list {
            let Some(range) = await_range(&text, f).filter(|r| r.end <= floor) else {
                continue;
            };
            floor = range.start;
            cuts.push(range);
            reported.push(Diagnostic {
                file: f.file.clone(),
                line: f.line,
                column: f.column,
                rule: AWAIT_FIX_RULE.to_string(),
                message: if f.on_touched_line {
                    "removed `.await` on a value that is no longer a future \
                     (rustc's machine-applicable suggestion)"
                        .to_string()
                } else {
                    "removed `.await` on a value that is no longer a future, on a line the \
                     codemod did not recognise as a lumenize call (rustc's machine-applicable \
                     suggestion; please report the construct)"
                        .to_string()
                },
                severity: Severity::Edited,
            });
        }
        cuts.reverse();
        // The ranges are disjoint, in order, on character boundaries (`await_range`).
        let Some(new) = crate::text::apply(&text, 0, &cuts) else {
            continue;
        };
        applied.extend(reported);
        write_newer_than_last_check(file, &text, &new)?;
    }
    applied.reverse();
    Ok(applied)
}

/// Writes `text` and dates the file one second ahead. Cargo rebuilds a unit only when a source
/// is *newer* than the unit's last build, and file times move in coarse kernel ticks: a fix
/// written in the same tick as the check that asked for it would look fresh, and the next
/// `cargo check` would replay the old messages instead of checking the fixed file.
/// The file goes through the same atomic writer as `apply` (a concurrent edit since it was
/// read here is not overwritten; a read-only file is refused).
fn write_newer_than_last_check(file: &Path, old: &str, new: &str) -> Result<(), VerifyError> {
    crate::write::replace_all(&[crate::write::Replace {
        path: file,
        original: old.as_bytes(),
        contents: new.as_bytes(),
    }])
    .map_err(VerifyError::Write)?;
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(1);
    std::fs::File::options()
        .write(true)
        .open(file)
        .and_then(|f| f.set_modified(later))
        .map_err(|e| VerifyError::Io(file.to_path_buf(), e))
}

/// The bytes to delete for `fix`, if the file still holds `.await` at the end of its range.
/// rustc's range runs from the end of the awaited expression, so it may include a comment
/// (`call(..) // why\n    .await`): then only the `.await` itself goes and the comment stays.
fn await_range(text: &str, fix: &AwaitFix) -> Option<std::ops::Range<usize>> {
    let slice = text.get(fix.start..fix.end)?;
    let before = slice.strip_suffix(".await")?;
    let trivia = before.trim();
    if trivia.is_empty() {
        Some(fix.start..fix.end)
    } else if trivia.starts_with("//") || trivia.starts_with("/*") {
        Some(fix.end - ".await".len()..fix.end)
    } else {
        None // the file changed since the check: not the range rustc meant
    }
}

/// The outcome of [`verify`].
#[derive(Debug, Clone, Default)]
pub struct VerifyReport {
    /// `.await` removals applied (as diagnostics with rule [`AWAIT_FIX_RULE`]).
    pub fixed: Vec<Diagnostic>,
    /// Compiler messages on touched lines after the fixes.
    pub findings: Vec<Finding>,
    /// Errors elsewhere in the crate after the fixes.
    pub other_errors: usize,
    /// True when the last `cargo check` succeeded.
    pub build_ok: bool,
    /// When it did not: cargo's own first `error` line (`could not compile …`, or why cargo
    /// could not even start the build: a bad manifest, an unreachable registry).
    pub cargo_error: Option<String>,
}

impl VerifyReport {
    /// Everything as diagnostics: the fixes (edited), then each finding (errors as
    /// [`Severity::Error`], warnings as [`Severity::NeedsReview`]) with rule [`COMPILER_RULE`].
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        let mut out = self.fixed.clone();
        out.extend(self.findings.iter().map(|f| Diagnostic {
            file: f.file.clone(),
            line: f.line,
            column: f.column,
            rule: COMPILER_RULE.to_string(),
            message: match &f.code {
                Some(code) => format!("{} [{code}]: {}", f.level, f.message),
                None => format!("{}: {}", f.level, f.message),
            },
            severity: if f.level == "error" {
                Severity::Error
            } else {
                Severity::NeedsReview
            },
        }));
        out
    }
}

/// What one `cargo check` said.
#[derive(Debug, Clone)]
pub struct CheckRun {
    /// Standard output: the JSON messages.
    pub json: String,
    /// The check succeeded.
    pub ok: bool,
    /// The workspace root, which relative file names in the messages are relative to.
    pub root: PathBuf,
    /// The first line of standard error starting with `error` (when the check failed).
    pub error_line: Option<String>,
}

/// Runs `cargo check --all-targets --message-format=json` in `crate_dir` (with `--workspace`
/// when `workspace`, so the other members are compiled too) with the cargo named by the
/// `CARGO` environment variable (else `cargo`); the environment, `CARGO_TARGET_DIR` included,
/// is passed on unchanged.
pub fn cargo_check(crate_dir: &Path, workspace: bool) -> Result<CheckRun, VerifyError> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let root = Command::new(&cargo)
        .args(["locate-project", "--workspace", "--message-format", "plain"])
        .current_dir(crate_dir)
        .output()
        .map_err(VerifyError::Spawn)?;
    let root = Path::new(String::from_utf8_lossy(&root.stdout).trim())
        .parent()
        .map_or_else(|| crate_dir.to_path_buf(), Path::to_path_buf);
    let out = Command::new(&cargo)
        .args(["check", "--all-targets", "--message-format=json"])
        .args(workspace.then_some("--workspace"))
        .current_dir(crate_dir)
        .output()
        .map_err(VerifyError::Spawn)?;
    let ok = out.status.success();
    let error_line = (!ok)
        .then(|| {
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .map(str::trim)
                .find(|l| l.starts_with("error"))
                .map(str::to_string)
        })
        .flatten();
    Ok(CheckRun {
        json: String::from_utf8_lossy(&out.stdout).into_owned(),
        ok,
        root,
        error_line,
    })
}

/// How many check-and-fix rounds [`verify`] runs at most: a fix in the library can let cargo
/// reach the integration tests, which may hold more leftovers.
pub const MAX_ROUNDS: usize = 3;

/// Checks the crate and applies the `.await` fixes, then checks again, until a round fixes
/// nothing (at most [`MAX_ROUNDS`] rounds). The findings are those of the last check.
///
/// With `workspace`, every member of the crate's workspace is checked and fixed: a public
/// function made synchronous (`--unasync-public`) changes what other members may await, and
/// the compiler finds those `.await`s ("is not a future") where the rule cannot see them.
pub fn verify(
    crate_dir: &Path,
    touched: &Touched,
    workspace: bool,
) -> Result<VerifyReport, VerifyError> {
    let mut fixed = Vec::new();
    let mut round = 0;
    loop {
        round += 1;
        let run = cargo_check(crate_dir, workspace)?;
        let analysis = analyze(&run.json, &run.root, touched);
        let applied = if round < MAX_ROUNDS {
            apply_await_fixes(&analysis.await_fixes)?
        } else {
            Vec::new()
        };
        if applied.is_empty() {
            return Ok(VerifyReport {
                fixed,
                findings: analysis.findings,
                other_errors: analysis.other_errors,
                build_ok: run.ok,
                cargo_error: run.error_line,
            });
        }
        fixed.extend(applied);
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
            line: 0,
            column: 0,
        }
    }

    #[test]
    fn touched_lines_follow_the_edits_into_the_output() {
        let original = "use a::{b, C};\nfn f() {\n    let x = g()\n        .await?;\n    h(1, None).await;\n}\n";
        // Drop `, C` (line 1), drop "\n        .await" (lines 3-4), drop `, None` and `.await`.
        let s1 = original.find(", C").unwrap();
        let s2 = original.find("\n        .await").unwrap();
        let s3 = original.find(", None").unwrap();
        let s4 = original.rfind(".await").unwrap();
        let edits = [
            edit(s1, s1 + 3, ""),
            edit(s2, s2 + 15, ""),
            edit(s3, s3 + 6, ""),
            edit(s4, s4 + 6, ""),
        ];
        let mut output = original.to_string();
        for e in edits.iter().rev() {
            output.replace_range(e.start..e.end, e.replacement.as_str());
        }
        assert_eq!(
            output,
            "use a::{b};\nfn f() {\n    let x = g()?;\n    h(1);\n}\n"
        );
        let review = Diagnostic {
            file: "x.rs".into(),
            line: 6,
            column: 1,
            rule: "r".into(),
            message: String::new(),
            severity: Severity::NeedsReview,
        };
        let mut t = Touched::default();
        t.add_file(Path::new("x.rs"), original, &output, &edits, &[review]);
        let lines: Vec<usize> = (1..=6)
            .filter(|l| t.contains(Path::new("x.rs"), *l))
            .collect();
        // Original line 6 (`}`) is line 5 of the output.
        assert_eq!(lines, [1, 3, 4, 5]);
    }

    const E0277: &str = r#"{"reason":"compiler-message","message":{"level":"error","message":"`Result<u8, ()>` is not a future","code":{"code":"E0277"},"spans":[{"file_name":"src/lib.rs","byte_start":97,"byte_end":102,"line_start":4,"line_end":4,"column_start":10,"is_primary":true}],"children":[{"level":"help","message":"remove the `.await`","spans":[{"file_name":"src/lib.rs","byte_start":96,"byte_end":102,"line_start":4,"line_end":4,"column_start":9,"is_primary":true,"suggested_replacement":"","suggestion_applicability":"MachineApplicable"}]},{"level":"help","message":"make it async","spans":[{"file_name":"src/lib.rs","byte_start":0,"byte_end":0,"line_start":1,"line_end":1,"column_start":1,"is_primary":true,"suggested_replacement":"async ","suggestion_applicability":"MaybeIncorrect"}]}]}}"#;

    #[test]
    fn keeps_touched_lines_and_every_await_fix() {
        let base = Path::new("/nonexistent-crate");
        let file = base.join("src/lib.rs");
        let mut t = Touched::default();
        let e0061 = E0277
            .replace("E0277", "E0061")
            .replace("is not a future", "takes 1 argument");
        // Untouched: the E0061 is only counted (once, though every target reports it); the
        // not-a-future error is kept and fixed.
        let a = analyze(&format!("{e0061}\n{e0061}\n{E0277}"), base, &t);
        assert_eq!((a.findings.len(), a.other_errors), (1, 1));
        assert!(!a.await_fixes[0].on_touched_line);
        t.lines.entry(normalize(&file)).or_default().insert(4);
        let a = analyze(&format!("not json\n{E0277}\n{E0277}\n{e0061}"), base, &t);
        assert_eq!(a.findings.len(), 2, "duplicates across targets are folded");
        assert_eq!(a.findings[0].code.as_deref(), Some("E0277"));
        assert_eq!(a.findings[1].code.as_deref(), Some("E0061"));
        assert_eq!(
            a.await_fixes,
            [AwaitFix {
                file,
                start: 96,
                end: 102,
                line: 4,
                column: 9,
                on_touched_line: true,
            }]
        );
        // A suggestion pointing into another crate (a dependency) is never applied.
        let foreign = E0277.replace(
            r#""file_name":"src/lib.rs","byte_start":96"#,
            r#""file_name":"/registry/dep/src/lib.rs","byte_start":96"#,
        );
        assert_ne!(foreign, E0277);
        let a = analyze(&foreign, base, &t);
        assert_eq!((a.findings.len(), a.await_fixes.len()), (1, 0));
    }

    #[test]
    fn applies_only_fixes_that_still_point_at_await() {
        let dir = std::env::temp_dir().join(format!("lmz-verify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("lib.rs");
        let text = "fn f() {\n    let x = g()\n        .await?;\n    h().await;\n    k() // why\n        .await;\n}\n";
        std::fs::write(&file, text).unwrap();
        let at = |needle: &str, len: usize| {
            let s = text.find(needle).unwrap();
            AwaitFix {
                file: file.clone(),
                start: s,
                end: s + len,
                line: 0,
                column: 0,
                on_touched_line: true,
            }
        };
        let fixes = [
            at("\n        .await?", 15), // newline + indent + .await
            at("h()", 3),                // not an .await: refused
            at(".await;", 6),
            at(" // why\n        .await", 22), // rustc's range includes the comment
        ];
        let applied = apply_await_fixes(&fixes).unwrap();
        assert_eq!(applied.len(), 3);
        assert!(applied.iter().all(|d| d.rule == AWAIT_FIX_RULE));
        let out = std::fs::read_to_string(&file).unwrap();
        assert_eq!(
            out,
            "fn f() {\n    let x = g()?;\n    h();\n    k() // why\n        ;\n}\n"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn fixes_go_through_the_atomic_writer_and_refuse_read_only_files() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("lib.rs");
        let text = "fn f() {\n    h().await;\n}\n";
        std::fs::write(&file, text).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o444)).unwrap();
        let s = text.find(".await").unwrap();
        let fix = AwaitFix {
            file: file.clone(),
            start: s,
            end: s + 6,
            line: 2,
            column: 8,
            on_touched_line: true,
        };
        let err = apply_await_fixes(std::slice::from_ref(&fix)).unwrap_err();
        assert!(err.to_string().contains("read-only"), "{err}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
        apply_await_fixes(&[fix]).unwrap();
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            "fn f() {\n    h();\n}\n"
        );
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640, "permissions kept");
    }
}

//! Layer 10, the `unasync` rule: functions left `async` with nothing to await become plain
//! `fn`s, and their callers drop `.await`, to a fixpoint across the crate.
//!
//! Unlike the other rules this one needs the whole crate at once (a function changes only
//! when every call site is found), so it runs after them, on the crate's migrated texts:
//! 1. files that hold `async` are parsed, and so are files naming one of their async
//!    functions (`collect`); a crate without `async` costs one byte search per file;
//! 2. every use of those names is classified (`uses`): an awaited call the rule can rewrite,
//!    an argument of a `join!` made only of such calls (rewritten with the whole join), or a
//!    problem (a call without `.await`, a value, a receiver of unknown type, a macro body,
//!    `try_join!`/`select!`, any other `join!`, an unresolvable path);
//! 3. the fixpoint (`solve`) picks the groups to convert (a `join!` is rewritten only when
//!    every group in it converts, else all of them stay async); the splices (only `async `,
//!    `.await`, and a rewritten join's macro path and `!`, plus the `,` a single argument needs
//!    to stay a tuple) go through the safety net per file, and a file it rejects refuses its
//!    groups and the fixpoint runs again, so a function never changes without all of its
//!    callers.
//!
//! Invariant: a group of definitions (same kind, same name) changes completely or not at all.

mod collect;
mod compose;
mod model;
mod solve;
mod uses;

use std::collections::BTreeMap;
use std::path::Path;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use syn::visit::Visit;

use crate::check::{self, deletions::Deletable};
use crate::resolve::{collect_modules, module_path_for, CrateContext, Resolver};
use crate::results::{Diagnostic, Edit, FileMigration, Severity};
use crate::rules::RuleSet;
use crate::syntax::Src;
use crate::text::{parse_base, LineIndex, SpanPositions, Splice, Unit, UnitKind};
use collect::{Collector, Found};
use model::{GroupKey, Join, Kind, UseKind};
use solve::{Facts, Status};
use uses::{Index, Walker};

/// The rule's id (in diagnostics, `--rule`/`--skip-rule`).
pub const RULE: &str = "unasync";

/// One file of a crate, as the `unasync` rule sees it.
#[derive(Debug, Clone, Copy)]
pub struct CrateFile<'a> {
    /// Crate-relative path (as given to [`CrateContext::scan`]).
    pub path: &'a Path,
    /// Its current text (after the other rules' edits).
    pub text: &'a str,
    /// The run may edit it (a file outside the selection is read, never edited: a use there
    /// keeps its function async).
    pub editable: bool,
}

/// Options of the `unasync` rule.
#[derive(Debug, Clone, Copy, Default)]
pub struct UnasyncOptions {
    /// Convert public items too (`--unasync-public`): they change the crate's API, which is
    /// fine for an application crate. Otherwise they are reported.
    pub public: bool,
}

/// `true` when `text` may hold an `async fn`: otherwise the rule has nothing to do in a
/// crate made of such files.
///
/// ```
/// assert!(lumenize_codemod::may_hold_async(b"pub async fn f() {}"));
/// assert!(!lumenize_codemod::may_hold_async(b"fn f() { g() }"));
/// ```
pub fn may_hold_async(text: &[u8]) -> bool {
    memchr::memmem::find(text, b"async").is_some()
}

/// Runs the `unasync` rule on a whole crate: one [`FileMigration`] per file, in order, with
/// edits on the text given (compose them with earlier edits by [`compose_edits`]).
///
/// ```
/// use std::path::Path;
/// use lumenize_codemod::{unasync_crate, CrateContext, CrateFile, RuleSet, UnasyncOptions};
/// let lib = "async fn one() -> u8 { 1 }\npub async fn two() -> u8 { one().await + 1 }\n";
/// let path = Path::new("app/src/lib.rs");
/// let ctx = CrateContext::scan([(path, lib)]);
/// let files = [CrateFile { path, text: lib, editable: true }];
/// let out = unasync_crate(&files, &ctx, &RuleSet::builtin(), UnasyncOptions { public: true });
/// assert_eq!(out[0].output, "fn one() -> u8 { 1 }\npub fn two() -> u8 { one() + 1 }\n");
/// ```
pub fn unasync_crate(
    files: &[CrateFile],
    ctx: &CrateContext,
    rules: &RuleSet,
    opts: UnasyncOptions,
) -> Vec<FileMigration> {
    let out = run(files, ctx, rules, opts);
    // Spans of every parse are dead now; free the thread's source map.
    proc_macro2::extra::invalidate_current_thread_spans();
    out
}

/// Maps `second` (edits on the text `first` produced from `original`) back onto `original`
/// and merges both: the edits of two rounds as one sorted, disjoint list. `None` when a later
/// edit reaches into text an earlier one inserted.
pub fn compose_edits(original: &str, first: &[Edit], second: &[Edit]) -> Option<Vec<Edit>> {
    compose::compose(original, first, second)
}

/// A parsed file.
struct Parsed<'a> {
    idx: usize,
    base: usize,
    pos: SpanPositions<'a>,
    file: syn::File,
}

fn unchanged(files: &[CrateFile]) -> Vec<FileMigration> {
    files
        .iter()
        .map(|f| FileMigration {
            output: f.text.to_string(),
            ..FileMigration::default()
        })
        .collect()
}

/// Library-side files can expose items to other crates; tests, examples, benches and
/// binaries cannot.
fn lib_side(path: &Path) -> bool {
    let comps: Vec<String> = path
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    match comps
        .iter()
        .position(|c| matches!(c.as_str(), "src" | "tests" | "examples" | "benches"))
    {
        Some(i) if comps[i] == "src" => {
            let rest = &comps[i + 1..];
            !(rest.first().is_some_and(|c| c == "bin") || rest == ["main.rs"])
        }
        Some(_) => false,
        None => true,
    }
}

/// The identifiers of `text` that are in `names` (`r#name` matches a written `r#name`; any
/// non-ASCII byte counts as part of an identifier, so a non-ASCII name is found too).
fn words_in<'n>(text: &str, names: &'n HashSet<String>) -> Vec<&'n String> {
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80;
    let mut out = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if is_ident(b[i]) {
            let s = i;
            while i < b.len() && is_ident(b[i]) {
                i += 1;
            }
            if b[s].is_ascii_digit() {
                continue; // a number literal, suffix included
            }
            let word = &text[s..i];
            if let Some(n) = names.get(word) {
                out.push(n);
            }
            if s >= 2 && &b[s - 2..s] == b"r#" {
                if let Some(n) = names.get(&format!("r#{word}")) {
                    out.push(n);
                }
            }
        } else {
            i += 1;
        }
    }
    out
}

fn parse(idx: usize, text: &str) -> Result<Parsed<'_>, String> {
    let base = parse_base(text);
    // syn recurses on nesting; a file too deep for it is refused before it can overflow the
    // stack (the engine refuses it the same way).
    if let Some(at) = crate::text::too_deep(&text[base..], crate::text::MAX_NESTING) {
        return Err(format!(
            "it nests more than {} levels deep (at byte {})",
            crate::text::MAX_NESTING,
            base + at
        ));
    }
    let pos = SpanPositions::new(&text[base..]);
    let file = syn::parse_file(&text[base..]).map_err(|e| e.to_string())?;
    Ok(Parsed {
        idx,
        base,
        pos,
        file,
    })
}

fn run(
    files: &[CrateFile],
    ctx: &CrateContext,
    rules: &RuleSet,
    opts: UnasyncOptions,
) -> Vec<FileMigration> {
    if !rules.rules().iter().any(|r| r.id == RULE)
        || !files.iter().any(|f| may_hold_async(f.text.as_bytes()))
    {
        return unchanged(files);
    }
    let mut found = Found::default();
    let mut parsed: Vec<Parsed> = Vec::new();
    let mut forced: BTreeMap<GroupKey, String> = BTreeMap::new();
    let mut unparsable: Vec<usize> = Vec::new();
    let mut seen = vec![false; files.len()];
    let collect = |found: &mut Found, p: &Parsed, f: &CrateFile| {
        let src = Src {
            text: f.text,
            base: p.base,
            pos: &p.pos,
        };
        let mut c = Collector::new(found, p.idx, src, lib_side(f.path), f.editable);
        c.visit_file(&p.file);
    };
    for (i, f) in files.iter().enumerate() {
        if may_hold_async(f.text.as_bytes()) {
            seen[i] = true;
            match parse(i, f.text) {
                Ok(p) => {
                    collect(&mut found, &p, f);
                    parsed.push(p);
                }
                Err(_) => unparsable.push(i),
            }
        }
    }
    let names: HashSet<String> = found
        .defs
        .iter()
        .filter(|d| d.async_range.is_some())
        .map(|d| d.key.1.clone())
        .collect();
    if names.is_empty() {
        return unchanged(files);
    }
    // Files without `async` matter only when they name one of the async functions.
    for (i, f) in files.iter().enumerate() {
        if !seen[i] && !words_in(f.text, &names).is_empty() {
            match parse(i, f.text) {
                Ok(p) => {
                    collect(&mut found, &p, f);
                    parsed.push(p);
                }
                Err(_) => unparsable.push(i),
            }
        }
    }
    for i in unparsable {
        for n in words_in(files[i].text, &names) {
            for kind in [Kind::Free, Kind::Method] {
                forced.entry((kind, n.clone())).or_insert_with(|| {
                    format!(
                        "`{}` does not parse, and it names it",
                        files[i].path.display()
                    )
                });
            }
        }
    }
    for (idx, t) in std::mem::take(&mut found.trait_impls) {
        let d = &mut found.defs[idx];
        match found.traits.get(&t) {
            Some(public) => d.public = *public && lib_side(files[d.file].path),
            None => {
                d.blocker.get_or_insert_with(|| {
                    format!("it implements a method of `{t}`, a trait defined outside this crate")
                });
            }
        }
    }
    let mut free = HashSet::default();
    let mut method = HashSet::default();
    for d in found.defs.iter().filter(|d| d.async_range.is_some()) {
        match d.key.0 {
            Kind::Free => free.insert(d.key.1.clone()),
            Kind::Method => method.insert(d.key.1.clone()),
        };
    }
    let def_at: HashMap<(usize, usize), usize> = found
        .defs
        .iter()
        .enumerate()
        .map(|(i, d)| ((d.file, d.offset), i))
        .collect();
    let mut defs = std::mem::take(&mut found.defs);
    let mut uses = Vec::new();
    let mut joins = Vec::new();
    let index = Index {
        found: &found,
        free,
        method,
        expr_macros: &rules.expression_macros,
        await_macros: &rules.implicit_await_macros,
    };
    let not_target = |_: &[String]| false;
    for p in &parsed {
        let f = &files[p.idx];
        let module = module_path_for(f.path);
        let mut file_modules = HashMap::default();
        collect_modules(&p.file.items, &module, &mut file_modules);
        let resolver = Resolver::new(ctx, &file_modules, &not_target);
        let src = Src {
            text: f.text,
            base: p.base,
            pos: &p.pos,
        };
        let mut w = Walker::new(
            &index, &mut defs, &mut uses, &mut joins, &def_at, p.idx, src, &resolver, module,
        );
        w.visit_file(&p.file);
    }
    // A call in a file outside the selection cannot lose its `.await` (or its `join!`).
    for u in &mut uses {
        if !files[u.file].editable && !matches!(u.kind, UseKind::Problem(_)) {
            u.kind = UseKind::Problem(format!(
                "it is awaited in `{}`, which this run does not edit",
                files[u.file].path.display()
            ));
        }
    }
    let lines: Vec<LineIndex> = files.iter().map(|f| LineIndex::new(f.text)).collect();
    let place = |file: usize, offset: usize| {
        format!(
            "{}:{}",
            files[file].path.display(),
            lines[file].line_col(offset).0
        )
    };
    let bound: HashMap<String, String> = found
        .bound
        .iter()
        .filter(|(n, _)| index.free.contains(*n))
        .map(|(n, (file, off))| (n.clone(), place(*file, *off)))
        .collect();
    // A file the safety net rejects refuses every group edited in it; the fixpoint runs
    // again without them. Each round refuses at least one group, so this ends.
    loop {
        let facts = Facts {
            bound: &bound,
            public: opts.public,
            place: &place,
            forced: &forced,
        };
        let status = solve::solve(&defs, &uses, &joins, &facts);
        match plan(files, &parsed, &defs, &uses, &joins, &status, &lines) {
            Ok(out) => return out,
            Err((file, reason, keys)) => {
                let before = forced.len();
                for k in keys {
                    forced.entry(k).or_insert_with(|| {
                        format!(
                            "the edits in `{}` were rejected by the safety net ({reason}); \
                             please report this",
                            files[file].path.display()
                        )
                    });
                }
                if forced.len() == before {
                    return unchanged(files);
                }
            }
        }
    }
}

type Rejected = (usize, String, Vec<GroupKey>);

/// Splices and notes per file for the groups' statuses, through the safety net.
fn plan(
    files: &[CrateFile],
    parsed: &[Parsed],
    defs: &[model::Def],
    uses: &[model::Use],
    joins: &[Join],
    status: &BTreeMap<GroupKey, Status>,
    lines: &[LineIndex],
) -> Result<Vec<FileMigration>, Rejected> {
    let mut splices: Vec<Vec<(Splice, GroupKey)>> = vec![Vec::new(); files.len()];
    let mut notes: Vec<Vec<(usize, String, Severity)>> = vec![Vec::new(); files.len()];
    let mut sites: HashMap<&GroupKey, usize> = HashMap::default();
    for u in uses {
        if let (UseKind::Awaited { del }, Some(Status::Convert)) = (&u.kind, status.get(&u.key)) {
            *sites.entry(&u.key).or_default() += 1;
            let whole = Unit {
                kind: UnitKind::Whole,
                start: 0,
                end: files[u.file].text.len(),
            };
            splices[u.file].push((
                Splice {
                    rule: RULE.to_string(),
                    start: del.0,
                    end: del.1,
                    replacement: String::new(),
                    unit: whole,
                },
                u.key.clone(),
            ));
            notes[u.file].push((
                u.offset,
                format!("dropped `.await`: `{}` is synchronous now", u.key.1),
                Severity::Edited,
            ));
        }
    }
    for j in joins {
        if !j
            .keys
            .iter()
            .all(|(k, _)| status.get(k) == Some(&Status::Convert))
        {
            continue;
        }
        let whole = Unit {
            kind: UnitKind::Whole,
            start: 0,
            end: files[j.file].text.len(),
        };
        let edits = std::iter::once((j.del, "")).chain(j.comma.map(|at| ((at, at), ",")));
        for ((start, end), replacement) in edits {
            for (key, _) in &j.keys {
                splices[j.file].push((
                    Splice {
                        rule: RULE.to_string(),
                        start,
                        end,
                        replacement: replacement.to_string(),
                        unit: whole,
                    },
                    key.clone(),
                ));
            }
        }
        let names: Vec<String> = j.keys.iter().map(|(k, _)| format!("`{}`", k.1)).collect();
        notes[j.file].push((
            j.offset,
            format!(
                "`{}` of synchronous calls ({}) is a tuple now: they run in order",
                j.name,
                names.join(", ")
            ),
            Severity::Edited,
        ));
    }
    for d in defs {
        let Some(range) = d.async_range else { continue };
        match status.get(&d.key) {
            Some(Status::Convert) => {
                let n = match sites.get(&d.key).copied().unwrap_or(0) {
                    0 => String::new(),
                    1 => " (1 call site lost `.await`)".to_string(),
                    n => format!(" ({n} call sites lost `.await`)"),
                };
                splices[d.file].push((
                    Splice {
                        rule: RULE.to_string(),
                        start: range.0,
                        end: range.1,
                        replacement: String::new(),
                        unit: Unit {
                            kind: UnitKind::Whole,
                            start: 0,
                            end: files[d.file].text.len(),
                        },
                    },
                    d.key.clone(),
                ));
                notes[d.file].push((
                    d.offset,
                    format!("`{}` awaited nothing: it is a plain `fn` now{n}", d.display,),
                    Severity::Edited,
                ));
            }
            Some(Status::Refused(why)) => notes[d.file].push((
                d.offset,
                format!("`{}` awaits nothing but was left async: {why}", d.display),
                Severity::NeedsReview,
            )),
            _ => {}
        }
    }
    let mut out = Vec::with_capacity(files.len());
    for (i, f) in files.iter().enumerate() {
        let mut planned: Vec<Splice> = splices[i].iter().map(|(s, _)| s.clone()).collect();
        let output = if planned.is_empty() {
            f.text.to_string()
        } else {
            let p = parsed
                .iter()
                .find(|p| p.idx == i)
                .expect("edited files were parsed");
            let src = Src {
                text: f.text,
                base: p.base,
                pos: &p.pos,
            };
            match check::apply_and_verify(src, &Deletable::default(), &mut planned) {
                Ok(o) => o,
                Err(reason) => {
                    let keys = splices[i].iter().map(|(_, k)| k.clone()).collect();
                    return Err((i, reason.to_string(), keys));
                }
            }
        };
        let edits = planned
            .into_iter()
            .map(|s| {
                let (line, column) = lines[i].line_col(s.start);
                Edit {
                    rule: s.rule,
                    start: s.start,
                    end: s.end,
                    replacement: s.replacement,
                    line,
                    column,
                }
            })
            .collect();
        let mut ns = std::mem::take(&mut notes[i]);
        ns.sort_by_key(|n| n.0);
        let diagnostics = ns
            .into_iter()
            .map(|(offset, message, severity)| {
                let (line, column) = lines[i].line_col(offset);
                Diagnostic {
                    file: f.path.to_path_buf(),
                    line,
                    column,
                    rule: RULE.to_string(),
                    message,
                    severity,
                }
            })
            .collect();
        out.push(FileMigration {
            output,
            edits,
            diagnostics,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_found_whole_raw_and_non_ascii() {
        let names: HashSet<String> = ["load", "r#type", "größe"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let found = words_in("x.reload(); load(); r#type(); größe(); 9load", &names);
        let found: Vec<&str> = found.iter().map(|s| s.as_str()).collect();
        assert_eq!(found, ["load", "r#type", "größe"]);
    }

    #[test]
    fn only_library_files_expose_items() {
        assert!(lib_side(Path::new("app/src/lib.rs")));
        assert!(lib_side(Path::new("src/a/b.rs")));
        assert!(!lib_side(Path::new("src/main.rs")));
        assert!(!lib_side(Path::new("src/bin/tool.rs")));
        assert!(!lib_side(Path::new("tests/flow.rs")));
        assert!(!lib_side(Path::new("examples/x.rs")));
    }
}

//! Migrates Rust crates from the async `lumenize-core` 0.9 API to the synchronous 1.0 API,
//! changing only the bytes that must change.
//!
//! This is the library behind the `lumenize-codemod` binary. Give it a file's text (and what it
//! needs to know about the file's crate) and it returns the migrated text, the byte-range
//! [`Edit`]s it applied, and a [`Diagnostic`] for every site it changed or could not change
//! safely. Edits are splices on the original text, never a reprint: comments, layout, CRLF line
//! endings and a BOM survive, and every edited file is re-parsed and token-checked before it is
//! returned (see "Safety net" below).
//!
//! ```
//! use std::path::Path;
//! use lumenize_codemod::{migrate_source, CrateContext, RuleSet, Severity};
//!
//! let src = "use lumenize_core::structured_clone::{parse, PostprocessOptions};\n\
//!            async fn load(s: &str) -> Result<(), lumenize_core::CloneError> {\n\
//!                let v = parse(s, None) // decode\n        .await?;\n\
//!                Ok(())\n\
//!            }\n";
//! let rules = RuleSet::builtin();
//! let ctx = CrateContext::scan([(Path::new("app/src/lib.rs"), src)]);
//! let m = migrate_source(Path::new("app/src/lib.rs"), src, &ctx, &rules);
//! assert!(m.output.contains("let v = parse(s)?; // decode\n"));
//! assert!(m.output.starts_with("use lumenize_core::structured_clone::parse;\n"));
//! assert!(m.diagnostics.iter().all(|d| d.severity == Severity::Edited));
//! // Running again changes nothing.
//! assert!(!migrate_source(Path::new("app/src/lib.rs"), &m.output, &ctx, &rules).changed());
//! ```
//!
//! # What it changes, what it reports
//!
//! | rule | edit | reported instead (needs review) |
//! |---|---|---|
//! | `sync-structured-clone` | `parse(&s, None).await?` → `parse(&s)?`, same for `postprocess`; `.await` dropped after `stringify`/`preprocess` | options argument other than `None`; a call stored or passed on without `.await` |
//! | `sync-schedule` | `alarms.schedule(w, cb).await?` → `alarms.schedule(w, cb)?` | receiver not evidently an `Alarms` |
//! | `cancel-returns-schedule` | value use: `.map(\|s\| s.is_some())`; after `?`/`.unwrap()`/`.expect()`: `….is_some()`; statement: `.await` dropped | as above |
//! | `execute-chain-method` | `execute_operation_chain(&c, &mut t).await` → `t.__execute_chain(&c)` (parenthesised when needed) plus `use lumenize_core::prelude::ExecuteChain;` if no import provides the trait | not awaited directly |
//! | `remove-dead-imports` | unused imports of removed items dropped, groups kept tidy | still used; `pub use` re-exports |
//! | `bump-dependency` | `lumenize-core = "0.9"` → `"1"` in Cargo.toml ([`migrate_manifest`]) | path/git dependencies |
//! | `unasync` (crate-wide, [`unasync_crate`]) | an `async fn` that awaits nothing (after the rules above) → `fn`, every `….await` on it dropped, to a fixpoint; a `tokio::join!`/`futures::join!` whose every argument is a call converted in the same run → a tuple (`join!(x, y)` → `(x, y)`, `join!(x)` → `(x,)`) | a use it cannot rewrite (a value, a call not awaited, a receiver of unknown type, a macro body, `try_join!`/`select!`, a `join!` with an argument that stays a future, or with `[]`/`{}`), a same-named sync fn or local binding, an attribute macro; public items unless `--unasync-public` |
//!
//! A call is a lumenize call only if its path resolves to `lumenize_core` through the file's
//! `use` items (aliases, groups, globs, nested modules), `crate::`/`super::` re-exports the
//! [`CrateContext`] found (also reached as `<lib name>::…` from the crate's `tests/`,
//! `examples/`, `benches/` and `src/bin/`, when the context saw its `Cargo.toml`), another
//! crate's re-exports (`dep::clone::parse`, with `dep` a library given through
//! [`Dependencies::add_library`] and scanned with [`CrateContext::scan_library`]; the binary
//! does this for every `path` dependency, transitively), or its written path. A call through
//! a dependency that was not read but depends on a target package
//! ([`Dependencies::add_unread`]; the binary reads this from `Cargo.lock`) and is named like a
//! target function is reported ("may be … re-exported by …"), never edited.
//! `str::parse`, `other::parse(..).await`, a local `fn parse` and
//! `.schedule(..)` on a tokio/cron type are never touched. A method is edited
//! only when its receiver is evidently an `Alarms` (`….alarms()`, a binding/parameter typed
//! `Alarms`/`&Alarms`/`Arc<Alarms>`, a field of `self` declared as one); a receiver of another
//! known type is left alone; an unknown one is reported with its line and column.
//!
//! Inside known expression-list macros (`assert!`, `println!`, `vec!`, `tokio::join!`,
//! `tokio::select!` branches, …) the same rewrites apply; candidates inside other macros,
//! doc comments (doctests), or behind a deferred await (`let f = parse(s, None); f.await`) are
//! reported, never skipped silently, whichever way their path resolves (a `use`, a re-export
//! of this crate or of another crate).
//!
//! Not done: a registry or git dependency's sources are never read (even when Cargo has them
//! on disk), so what it re-exports is not known: calls through it named like a target (also
//! through a path crate's re-export of it) are reported, not edited; a library whose root is
//! not `src/lib.rs` is not read; path dependencies deeper than 16 crates are not followed.
//!
//! # Safety net
//!
//! After planning, the splices must be disjoint; each re-parse unit they touch (the innermost
//! statement, a run of imports, else the whole file) is re-lexed and re-parsed, and its token
//! stream must equal the original's with exactly the planned splices. Otherwise the file is returned
//! unchanged with an [`Severity::Error`] diagnostic. Running the engine on its own output
//! makes no edit.
//!
//! # Custom rules (`lumenize-codemod.toml`)
//!
//! The built-in rules are data (`rules/builtin.toml`), in the same format a user writes to
//! declare their own functions or methods that became synchronous; load it with
//! [`RuleSet::with_config`]. Every rule id gets a summary under `[rules.<id>]`; entries refer to
//! it with `rule = "<id>"` (entries may also extend a built-in id). Paths are written from the
//! crate name; `**` matches any number of segments, and a final `*` means a glob import.
//!
//! ```toml
//! [rules.db-sync]
//! summary = "my_db's query and fetch_all became synchronous"
//!
//! # Free functions: drop `.await`; optionally drop an argument that must be `None`.
//! [[sync-fn]]
//! rule = "db-sync"
//! paths = ["my_db::query::fetch_all", "my_db::query::fetch_one"]
//! drop-none-arg = 2            # 1-based; omit if no argument was removed
//!
//! # Methods: drop `.await` when the receiver is evidently of a listed type, or comes from a
//! # listed accessor method. Adapters (optional) keep the old value when the return type changed.
//! [[sync-method]]
//! rule = "db-sync"
//! methods = ["query"]
//! receiver-types = ["my_db::**::Db"]
//! receiver-methods = ["db"]    # `ctx.db().query(..).await`
//! # value-adapter = ".map(|s| s.is_some())"    # appended when the result is used as a value
//! # unwrapped-adapter = ".is_some()"           # appended after `?` / `.unwrap()` / `.expect()`
//!
//! # A free function that became a method on one of its arguments.
//! [[fn-to-method]]
//! rule = "db-sync"
//! paths = ["my_db::run_on"]
//! method = "run"
//! receiver-arg = 2             # 1-based; a leading `&mut`/`&` is dropped
//! import = "my_db::prelude::*" # added when no `import-satisfied-by` import is present
//! import-satisfied-by = ["my_db::prelude::*", "my_db::prelude::Run"]
//!
//! # Removed items: their imports are dropped when unused, reported when still used.
//! [[removed-item]]
//! rule = "db-sync"
//! paths = ["my_db::query::QueryOptions"]
//!
//! # Cargo.toml version bumps (path/git dependencies are reported).
//! [[dependency]]
//! rule = "db-sync"
//! package = "my-db"
//! from = "0.4"
//! to = "1"
//!
//! # Packages whose users are migrated, besides the `[[dependency]]` packages and the crates
//! # the paths above start with (see `RuleSet::target_packages`).
//! [targets]
//! packages = ["my-db-legacy"]
//!
//! # Macros whose bodies are comma-separated expressions (rewritten like code), and those of
//! # them that await their arguments themselves (a candidate given to them is reported).
//! [macros]
//! expression-lists = ["my_assert"]
//! implicit-await = []
//! ```
#![warn(missing_docs)]

use std::path::Path;

// The layers, bottom-up. Each may import only the layers declared before it; the files of one
// layer's folder may import each other, without circles. `tests/tidy.rs` reads this list and
// enforces it (ARCHITECTURE.md describes each layer).

// 0. What a migration returns: `FileMigration`, `Edit`, `Diagnostic`, `Severity`.
mod results;
// 1. Source text and positions: offsets, lines, columns; planned splices and notes.
mod text;
// 2. Lexing: token boundaries, the quick lexer with proc-macro2 as its fallback.
mod lex;
// 3. Syntax helpers: byte ranges of syn nodes, small shape queries.
mod syntax;
// 4. Rules as data (`RuleSet`) and the questions asked of them.
mod rules;
// 5. Cargo.toml: renamed dependencies, library names, version bumps.
mod manifest;
// 6. Name resolution: scopes, module layout, the crate scan, the resolver.
mod resolve;
// 7. Planning: the visitor and everything that turns a call site into splices and notes.
mod plan;
// 8. Checking: the safety net that applies the splices and re-lexes/re-parses the result.
mod check;
// 9. The engine: one file from text to `FileMigration`.
mod engine;
// 10. The `unasync` rule: crate-wide, after the per-file rules; async fns that await nothing.
mod unasync;
// 11. Replacing users' files: all of a group or none, never over a concurrent edit.
pub mod write;
// 12. `apply --verify`: the compiler's view of migrated crates.
pub mod verify;

pub use manifest::{DependencyEntry, ManifestError, ManifestInfo};
pub use resolve::{CrateContext, Dependencies};
pub use results::{Diagnostic, Edit, FileMigration, Severity};
pub use rules::{RuleError, RuleInfo, RuleSet};
pub use unasync::{
    compose_edits, may_hold_async, unasync_crate, CrateFile, UnasyncOptions, RULE as UNASYNC_RULE,
};

/// Migrates one file's text. Never panics; problems become diagnostics.
///
/// `file` is used in diagnostics and to place the file in its crate's module tree (the usual
/// Cargo layout: `src/a/b.rs` is `crate::a::b`), so pass the same paths given to
/// [`CrateContext::scan`]. Paths should be relative to the crate (or to a directory above it
/// with no `src`/`tests`/`examples`/`benches` component): the first such component anchors
/// the layout, so `src/tests/x.rs` is `crate::tests::x`.
pub fn migrate_source(
    file: &Path,
    source: &str,
    ctx: &CrateContext,
    rules: &RuleSet,
) -> FileMigration {
    engine::migrate(file, source, ctx, rules)
}

/// `original` with `edits` (sorted by start, disjoint, as in [`FileMigration::edits`]) applied:
/// the migration's output when they are its edits. `None` when an edit is out of order or
/// outside the text.
///
/// ```
/// use lumenize_codemod::{apply_edits, Edit};
/// let edit = Edit { rule: "r".into(), start: 4, end: 8, replacement: "g".into(), line: 1, column: 5 };
/// assert_eq!(apply_edits("let f(a).await;", &[edit]).as_deref(), Some("let g.await;"));
/// ```
pub fn apply_edits(original: &str, edits: &[Edit]) -> Option<String> {
    text::apply(original, 0, edits)
}

/// Migrates a `Cargo.toml` (the `bump-dependency` rule), format-preserving: only the version
/// string changes.
///
/// ```
/// use std::path::Path;
/// let m = lumenize_codemod::migrate_manifest(
///     Path::new("Cargo.toml"),
///     "[dependencies]\nlumenize-core = { version = \"0.9\", features = [\"x\"] } # rt\n",
///     &lumenize_codemod::RuleSet::builtin(),
/// );
/// assert_eq!(m.output, "[dependencies]\nlumenize-core = { version = \"1\", features = [\"x\"] } # rt\n");
/// ```
pub fn migrate_manifest(file: &Path, source: &str, rules: &RuleSet) -> FileMigration {
    manifest::migrate_manifest(file, source, rules)
}

/// A cheap byte test for the built-in rules without crate context: `false` means the engine
/// would neither edit nor report anything in this file. It looks for the target crate's name,
/// or for `await` plus a method name plus a receiver hint (`alarms`/`Alarms`). Use
/// [`CrateContext::may_need_migration`] when the crate renames or re-exports lumenize items,
/// or with custom rules.
///
/// ```
/// assert!(lumenize_codemod::may_need_migration(b"use lumenize_core::ocan;"));
/// assert!(!lumenize_codemod::may_need_migration(b"fn main() { let x: u8 = \"1\".parse().unwrap(); }"));
/// ```
pub fn may_need_migration(source: &[u8]) -> bool {
    plan::prefilter::builtin().may_need_migration(source)
}

impl CrateContext {
    /// The prefilter for this crate and rule set: like [`may_need_migration`], and also true
    /// for files naming a renamed dependency or a re-export this context found. Build it once
    /// per crate with [`CrateContext::prefilter`] when testing many files.
    pub fn may_need_migration(&self, source: &[u8], rules: &RuleSet) -> bool {
        self.prefilter(rules).may_need_migration(source)
    }

    /// A reusable prefilter for this crate and rule set.
    pub fn prefilter(&self, rules: &RuleSet) -> Prefilter {
        Prefilter(plan::prefilter::Prefilter::new(rules, self))
    }
}

/// A compiled byte prefilter (see [`CrateContext::prefilter`]).
pub struct Prefilter(plan::prefilter::Prefilter);

impl Prefilter {
    /// `false` means the engine would neither edit nor report anything in this file.
    pub fn may_need_migration(&self, source: &[u8]) -> bool {
        self.0.may_need_migration(source)
    }
}

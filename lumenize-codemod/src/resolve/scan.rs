//! The crate scan: reads a crate's manifests and the files other files resolve through, and
//! builds its [`CrateContext`].

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use rustc_hash::FxHashMap as HashMap;

use super::context::{CrateContext, Dependencies};
use super::layout::{crate_prefix, lib_root, module_path_for};
use super::outline;
use super::resolver::{Res, Resolver};
use super::scope::{collect_modules, collect_outline, Binding, ModPath};
use crate::rules::RuleSet;

impl CrateContext {
    /// Builds the context for the built-in rules from the crate's files (`(path, text)` pairs:
    /// its `.rs` files, and its `Cargo.toml` to learn a renamed dependency and the library's
    /// name, by which its tests, examples, benches and binaries reach it). Files that cannot
    /// lead to a target crate are skipped after a byte search, so this is cheap on big crates.
    pub fn scan<'a>(files: impl IntoIterator<Item = (&'a Path, &'a str)>) -> CrateContext {
        Self::scan_with(files, &RuleSet::builtin())
    }

    /// Like [`CrateContext::scan`], for the crates a custom [`RuleSet`] targets.
    pub fn scan_with<'a>(
        files: impl IntoIterator<Item = (&'a Path, &'a str)>,
        rules: &RuleSet,
    ) -> CrateContext {
        Self::scan_linked(files, rules, &Dependencies::default())
    }

    /// Like [`CrateContext::scan_with`], for a crate whose other crates are known: a path
    /// written `dep::…` with `dep` a library in `deps` is followed into that library's
    /// modules (so `dep::time::sleep` resolves to what `dep` re-exports as `time::sleep`), and
    /// calls through an unread dependency in `deps` named like a target are reported.
    pub fn scan_linked<'a>(
        files: impl IntoIterator<Item = (&'a Path, &'a str)>,
        rules: &RuleSet,
        deps: &Dependencies,
    ) -> CrateContext {
        let files: Vec<(&Path, &str)> = files.into_iter().collect();
        Self::scan_files(&files, rules, deps, String::new())
    }

    /// Scans a dependency's library (its `Cargo.toml` and `src/` files, paths relative to its
    /// directory; other files are ignored) for what it re-exports of the target crates, to be
    /// given to its dependents through [`Dependencies::add_library`]. Its own dependencies
    /// are `deps`. Its modules get a directory prefix unique in the process (`@dep<N>`), so
    /// that the modules of any number of libraries never share a key.
    pub fn scan_library<'a>(
        files: impl IntoIterator<Item = (&'a Path, &'a str)>,
        rules: &RuleSet,
        deps: &Dependencies,
    ) -> CrateContext {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let prefix = format!("@dep{}", NEXT.fetch_add(1, Ordering::Relaxed));
        let owned: Vec<(PathBuf, &str)> = files
            .into_iter()
            .map(|(p, t)| (Path::new(&prefix).join(p), t))
            .collect();
        let lib = lib_root(&prefix);
        let files: Vec<(&Path, &str)> = owned
            .iter()
            .filter(|(p, _)| {
                p.file_name().is_some_and(|n| n == "Cargo.toml")
                    || (p.extension().is_some_and(|e| e == "rs")
                        && module_path_for(p).first() == Some(&lib))
            })
            .map(|(p, t)| (p.as_path(), *t))
            .collect();
        Self::scan_files(&files, rules, deps, prefix)
    }

    fn scan_files(
        files: &[(&Path, &str)],
        rules: &RuleSet,
        deps: &Dependencies,
        prefix: String,
    ) -> CrateContext {
        let mut ctx = CrateContext {
            scanned: true,
            prefix,
            ..CrateContext::default()
        };
        ctx.link(deps);
        let roots = rules.roots();
        for (path, text) in files {
            if path.file_name().is_some_and(|n| n == "Cargo.toml") {
                crate::manifest::collect_aliases(text, rules, &mut ctx.aliases);
                let prefix = crate_prefix(path);
                ctx.manifests.insert(prefix.clone());
                if let Some((name, lib_table)) = crate::manifest::lib_name(text) {
                    let root = vec![lib_root(&prefix)];
                    let has_lib = lib_table
                        || files.iter().any(|(p, _)| {
                            p.file_name().is_some_and(|n| n == "lib.rs")
                                && module_path_for(p) == root
                        });
                    if has_lib {
                        ctx.libs.insert(prefix, name);
                    }
                }
            }
        }
        let mut needles: BTreeSet<String> = roots.iter().cloned().collect();
        needles.extend(ctx.aliases.keys().cloned());
        needles.extend(ctx.links.keys().cloned());
        let mut parsed = vec![false; files.len()];
        // Only two kinds of files can matter to *another* file's resolution: those with
        // re-exports (`pub use`, `pub(crate) use`), and parents of other files (whose private
        // imports their descendants see through `super::`). A leaf file's own imports are read
        // when that file is migrated, so scanning it would only cost a parse.
        let mods: Vec<Option<ModPath>> = files
            .iter()
            .map(|(p, _)| (p.extension().is_some_and(|e| e == "rs")).then(|| module_path_for(p)))
            .collect();
        let parents: std::collections::HashSet<&[String]> = mods
            .iter()
            .flatten()
            .flat_map(|m| (1..m.len()).map(move |k| &m[..k]))
            .collect();
        let is_parent = |m: &ModPath| parents.contains(m.as_slice());
        let relevant: Vec<bool> = files
            .iter()
            .zip(&mods)
            .map(|((_, text), m)| {
                let t = text.as_bytes();
                m.as_ref().is_some_and(|m| {
                    is_parent(m)
                        || memchr::memmem::find(t, b"pub use").is_some()
                        || memchr::memmem::find(t, b") use ").is_some()
                        || memchr::memmem::find(t, b"pub extern crate").is_some()
                })
            })
            .collect();
        let is_target = |p: &[String]| rules.names_path(p);
        // Re-exports chain through modules that never mention the target crate by name, so
        // iterate: each round adds the names the previous round found to lead to a target.
        for _round in 0..8 {
            let finders: Vec<memchr::memmem::Finder> = needles
                .iter()
                .map(|n| memchr::memmem::Finder::new(n.as_bytes()))
                .collect();
            let mut progressed = false;
            for (i, (path, text)) in files.iter().enumerate() {
                if parsed[i] || !relevant[i] {
                    continue;
                }
                if !finders.iter().any(|f| f.find(text.as_bytes()).is_some()) {
                    continue;
                }
                parsed[i] = true;
                progressed = true;
                let module = module_path_for(path);
                // The outline reads module-level items without parsing bodies; when it meets
                // something it does not know, the full parse decides.
                match outline::outline(&text[crate::text::parse_base(text)..]) {
                    Some(items) => collect_outline(&items, &module, &mut ctx.modules),
                    None => {
                        // syn recurses on nesting: a file too deep for it is reported
                        // when it is migrated.
                        let base = crate::text::parse_base(text);
                        let deep = crate::text::too_deep(&text[base..], crate::text::MAX_NESTING);
                        if let Some(Ok(file)) = deep.is_none().then(|| syn::parse_file(text)) {
                            collect_modules(&file.items, &module, &mut ctx.modules);
                        }
                    }
                }
            }
            if !progressed {
                break;
            }
            let before = needles.len();
            ctx.export_names = ctx.compute_export_names(&roots, &is_target);
            needles.extend(ctx.export_names.iter().cloned());
            if needles.len() == before {
                break;
            }
        }
        if ctx.export_names.is_empty() && !(ctx.links.is_empty() && ctx.unread.is_empty()) {
            // No file needed parsing: the dependencies alone give the names.
            ctx.export_names = ctx.compute_export_names(&roots, &is_target);
        }
        proc_macro2::extra::invalidate_current_thread_spans();
        ctx
    }

    /// Records the dependencies: the libraries that lead to a target (and, flattened, every
    /// library those reach), and the unread ones.
    fn link(&mut self, deps: &Dependencies) {
        for (name, lib) in &deps.libraries {
            if !lib.leads_to_target() || lib.prefix.is_empty() {
                continue;
            }
            self.links.insert(name.clone(), lib.prefix.clone());
            self.libraries.insert(lib.prefix.clone(), lib.clone());
            for (p, l) in &lib.libraries {
                self.libraries.insert(p.clone(), l.clone());
            }
            // What the library re-exports of its unread dependencies is reached here under
            // their names (its paths resolve to `dep::…` as the library writes them).
            for (n, package) in &lib.unread {
                self.unread
                    .entry(n.clone())
                    .or_insert_with(|| package.clone());
            }
        }
        for (name, package) in &deps.unread {
            self.unread.insert(name.clone(), package.clone());
        }
    }

    fn compute_export_names(
        &self,
        roots: &BTreeSet<String>,
        is_target: &dyn Fn(&[String]) -> bool,
    ) -> BTreeSet<String> {
        let empty = HashMap::default();
        let r = Resolver::new(self, &empty, is_target);
        let leads_to_root = |res: Res| matches!(res, Res::Extern(p) if roots.contains(&p[0]));
        let mut out = BTreeSet::new();
        // A library leading to a target is reached by its name, then by the names it
        // exports; an unread dependency that may re-export a target, by its name.
        for (name, prefix) in &self.links {
            out.insert(name.clone());
            if let Some(lib) = self.libraries.get(prefix) {
                out.extend(lib.export_names.iter().cloned());
            }
        }
        out.extend(self.unread.keys().cloned());
        for (m, scope) in &self.modules {
            let mut any = false;
            for (name, b) in &scope.names {
                if let Binding::Use(path) = b {
                    if leads_to_root(r.resolve(m, &[], path)) {
                        out.insert(name.clone());
                        any = true;
                    }
                }
            }
            for g in &scope.globs {
                if leads_to_root(r.resolve(m, &[], g)) {
                    any = true;
                }
            }
            if any && m.len() > 1 {
                out.insert(m[m.len() - 1].clone());
            }
        }
        out
    }
}

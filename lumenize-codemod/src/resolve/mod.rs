//! Name resolution, textual and crate-local: what does a path written in some module refer to?
//!
//! This is deliberately not rustc's resolver. It follows `use` items (aliases, groups, globs,
//! `self`/`super`/`crate`, `extern crate … as …`) through the modules it knows (the current
//! file's, plus those [`CrateContext::scan`] collected), and answers one of three things:
//! the path leads into an external crate (and which item), it names something defined in this
//! crate, or it cannot tell. Callers edit only on the first, and report on "cannot tell".

pub(crate) mod outline;

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::path::{Component, Path};

use rustc_hash::FxHashMap as HashMap;

use crate::rules::RuleSet;

/// A module path: the crate-root key first (see [`module_path_for`]), then module names.
pub(crate) type ModPath = Vec<String>;

/// What a name in a scope is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Binding {
    /// A `use` or `extern crate`: the path as written (`"::"` first when absolute), resolved
    /// relative to the module it appears in.
    Use(Vec<String>),
    /// A module defined here (`mod x;` or `mod x { … }`).
    Module,
    /// Any other item or a local variable: it shadows imports and is not an external item.
    Local,
}

/// The names one module (or block) binds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Scope {
    pub names: HashMap<String, Binding>,
    /// Sources of glob imports, as written.
    pub globs: Vec<Vec<String>>,
}

impl Scope {
    /// Records a `use` tree (`prefix` is what the enclosing tree levels contributed).
    pub(crate) fn add_use_tree(&mut self, tree: &syn::UseTree, prefix: &mut Vec<String>) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.add_use_tree(&p.tree, prefix);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                if n.ident == "self" {
                    if let Some(last) = prefix.last() {
                        self.names
                            .insert(last.clone(), Binding::Use(prefix.clone()));
                    }
                } else {
                    let name = n.ident.to_string();
                    let path = extended(prefix, Some(name.clone()));
                    self.names.insert(name, Binding::Use(path));
                }
            }
            syn::UseTree::Rename(r) => {
                if r.rename == "_" {
                    return;
                }
                let last = (r.ident != "self").then(|| r.ident.to_string());
                let path = extended(prefix, last);
                self.names.insert(r.rename.to_string(), Binding::Use(path));
            }
            syn::UseTree::Glob(_) => self.globs.push(prefix.clone()),
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.add_use_tree(t, prefix);
                }
            }
        }
    }

    /// Records the names an item binds in the scope it is declared in.
    pub(crate) fn add_item(&mut self, item: &syn::Item) {
        use syn::Item::*;
        let name = match item {
            Use(u) => {
                let mut prefix = Vec::new();
                if u.leading_colon.is_some() {
                    prefix.push("::".to_string());
                }
                self.add_use_tree(&u.tree, &mut prefix);
                return;
            }
            ExternCrate(e) => {
                if e.ident == "self" {
                    return;
                }
                let bound = e.rename.as_ref().map_or(&e.ident, |(_, r)| r).to_string();
                if bound != "_" {
                    let path = vec!["::".to_string(), e.ident.to_string()];
                    self.names.insert(bound, Binding::Use(path));
                }
                return;
            }
            Mod(m) => {
                self.names.insert(m.ident.to_string(), Binding::Module);
                return;
            }
            Fn(f) => &f.sig.ident,
            Struct(s) => &s.ident,
            Enum(e) => &e.ident,
            Const(c) => &c.ident,
            Static(s) => &s.ident,
            Type(t) => &t.ident,
            Trait(t) => &t.ident,
            TraitAlias(t) => &t.ident,
            Union(u) => &u.ident,
            _ => return,
        };
        self.names.insert(name.to_string(), Binding::Local);
    }
}

/// `prefix` and then `last`, allocated once at its final size (a clone and a push would
/// allocate twice: a clone's capacity is its length).
fn extended(prefix: &[String], last: Option<String>) -> Vec<String> {
    let mut path = Vec::with_capacity(prefix.len() + 1);
    path.extend_from_slice(prefix);
    path.extend(last);
    path
}

/// Collects the scopes of `items` (declared in module `m`) and of their inline modules.
pub(crate) fn collect_modules(items: &[syn::Item], m: &ModPath, out: &mut HashMap<ModPath, Scope>) {
    let mut scope = Scope::default();
    for item in items {
        scope.add_item(item);
        if let syn::Item::Mod(md) = item {
            if let Some((_, inner)) = &md.content {
                let mut child = m.clone();
                child.push(md.ident.to_string());
                collect_modules(inner, &child, out);
            }
        }
    }
    out.insert(m.clone(), scope);
}

/// [`collect_modules`] from a file's outline: the same scopes, without the bodies parsed.
pub(crate) fn collect_outline(
    items: &[outline::Outline],
    m: &ModPath,
    out: &mut HashMap<ModPath, Scope>,
) {
    use outline::Outline;
    let mut scope = Scope::default();
    for item in items {
        match item {
            Outline::Item(i) => scope.add_item(i),
            Outline::Named(name) => {
                scope.names.insert(name.clone(), Binding::Local);
            }
            Outline::Mod(name, content) => {
                scope.names.insert(name.clone(), Binding::Module);
                if let Some(inner) = content {
                    let mut child = m.clone();
                    child.push(name.clone());
                    collect_outline(inner, &child, out);
                }
            }
            Outline::Unnamed => {}
        }
    }
    out.insert(m.clone(), scope);
}

/// The module path of a file, from the usual Cargo layout: `<crate>/src/a/b.rs` and
/// `<crate>/src/a/b/mod.rs` are `crate::a::b`; `src/lib.rs`/`src/main.rs` are the root;
/// `src/bin/x.rs`, `tests/x.rs`, `examples/x.rs`, `benches/x.rs` are roots of their own.
/// The first element is a key naming the crate root, so two crates never share modules.
pub(crate) fn module_path_for(file: &Path) -> ModPath {
    let comps: Vec<String> = file
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    // The first anchor: paths are crate-relative, so a later `src`/`tests` is a module dir
    // (`src/tests/x.rs` is `crate::tests::x`).
    let anchor = comps
        .iter()
        .position(|c| matches!(c.as_str(), "src" | "tests" | "examples" | "benches"));
    let strip = |s: &str| s.strip_suffix(".rs").unwrap_or(s).to_string();
    let (root, mut rest): (String, Vec<String>) = match anchor {
        Some(i) => {
            let kind = comps[i].as_str();
            let prefix = comps[..i].join("/");
            let rest = &comps[i + 1..];
            if kind == "src" && rest.len() >= 2 && rest[0] == "bin" {
                // src/bin/x.rs, src/bin/x/main.rs, src/bin/x/util.rs
                (
                    format!("{prefix}#src/bin/{}", strip(&rest[1])),
                    rest[2..].to_vec(),
                )
            } else if kind == "src" {
                (format!("{prefix}#src"), rest.to_vec())
            } else {
                // tests/x.rs is a crate root of its own (so are examples and benches).
                let name = rest.first().map(|s| strip(s)).unwrap_or_default();
                (
                    format!("{prefix}#{kind}/{name}"),
                    rest.get(1..).unwrap_or(&[]).to_vec(),
                )
            }
        }
        // Not in a Cargo layout: the file is a crate root of its own.
        None => (format!("{}#file", comps.join("/")), Vec::new()),
    };
    if let Some(last) = rest.last_mut() {
        *last = strip(last);
    }
    if matches!(
        rest.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        rest.pop();
    }
    let mut out = vec![format!("crate:{root}")];
    out.extend(rest);
    out
}

/// What a path resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Res {
    /// An item of an external crate: the crate's canonical name first.
    Extern(Vec<String>),
    /// Something defined in this crate (or a local variable).
    Local,
    /// Could not tell (an unknown module, a glob from one, recursion limit).
    Unknown,
}

/// What the engine needs to know about the crate a file belongs to: the modules that re-export
/// items of the crates the rules target (`pub use lumenize_core::structured_clone as sc;`
/// in `src/compat.rs`, reached from another file as `crate::compat::sc::parse`), and renamed
/// dependencies (`lc = { package = "lumenize-core", … }` in Cargo.toml).
#[derive(Debug, Clone, Default)]
pub struct CrateContext {
    pub(crate) modules: HashMap<ModPath, Scope>,
    /// Name a crate is known by in code -> canonical (rule) name, e.g. `lc` -> `lumenize_core`.
    pub(crate) aliases: HashMap<String, String>,
    /// Names through which a target item can be reached in this crate (re-export names and the
    /// modules holding them): a file mentioning none of them needs nothing from the context.
    pub(crate) export_names: BTreeSet<String>,
    /// True once built by `scan`: modules it did not record hold nothing of interest.
    pub(crate) scanned: bool,
    /// Crate directory prefix (as in [`module_path_for`]'s root key) -> the library's name,
    /// for crates whose `Cargo.toml` was scanned and that have a library target: its tests,
    /// examples, benches and binaries reach it as `<name>::…`.
    pub(crate) libs: HashMap<String, String>,
    /// Crate directory prefixes whose `Cargo.toml` was scanned (so `libs` is authoritative).
    pub(crate) manifests: BTreeSet<String>,
}

/// The root key of the library of the crate in directory `prefix`.
fn lib_root(prefix: &str) -> String {
    format!("crate:{prefix}#src")
}

/// The crate directory (`a/b` for `a/b/Cargo.toml`) as [`module_path_for`] writes it.
fn crate_prefix(manifest: &Path) -> String {
    let comps: Vec<String> = manifest
        .parent()
        .map(|p| {
            p.components()
                .filter_map(|c| match c {
                    Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    comps.join("/")
}

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
        let files: Vec<(&Path, &str)> = files.into_iter().collect();
        let mut ctx = CrateContext {
            scanned: true,
            ..CrateContext::default()
        };
        let roots = rules.roots();
        for (path, text) in &files {
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
                        if let Ok(file) = syn::parse_file(text) {
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
        proc_macro2::extra::invalidate_current_thread_spans();
        ctx
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

/// Resolves paths written in the current file, consulting its own modules first.
///
/// Cheap per path because the rewriter asks for every candidate call: segments travel as
/// borrowed `&str`s (joined on the stack when a `use` is followed, see [`joined`]), owned
/// strings are made once for an external result, and the module last looked up is remembered
/// (a resolution mostly stays in the module it started in, and hashing a module path costs
/// more than comparing it).
pub(crate) struct Resolver<'a> {
    pub ctx: &'a CrateContext,
    pub file: &'a HashMap<ModPath, Scope>,
    /// True for the external paths the rules care about (used to pick among glob imports).
    pub is_target: &'a dyn Fn(&[String]) -> bool,
    /// Local globs being followed (module, name): glob cycles (`pub use child::*;` with
    /// `use super::*;` in the child) must not recurse.
    visiting: RefCell<Vec<(ModPath, String)>>,
    /// Lookups left for the current `resolve` (diamonds of globs stay bounded too).
    budget: Cell<usize>,
    /// The last module found by `scope` (its key, borrowed from the map holding it).
    last_scope: Cell<Option<(&'a [String], &'a Scope)>>,
    /// The module path `resolve_in` was given, by address and length, while that call runs
    /// (the caller's slice stays borrowed, so no other path can sit at that address), and its
    /// scope once looked up: most lookups of a resolution are in that module.
    entry: Cell<(usize, usize)>,
    entry_scope: Cell<Option<Option<&'a Scope>>>,
}

/// Lookups one `resolve` may make before giving up with "cannot tell".
const BUDGET: usize = 4096;

/// Paths up to this many segments are joined on the stack; longer ones allocate.
const INLINE: usize = 8;

/// Calls `f` with the segments of `a` followed by those of `b`, borrowed.
fn joined<A: AsRef<str>, B: AsRef<str>, R>(a: &[A], b: &[B], f: impl FnOnce(&[&str]) -> R) -> R {
    let all = a
        .iter()
        .map(AsRef::as_ref)
        .chain(b.iter().map(AsRef::as_ref));
    let n = a.len() + b.len();
    if n <= INLINE {
        let mut buf = [""; INLINE];
        for (slot, s) in buf.iter_mut().zip(all) {
            *slot = s;
        }
        f(&buf[..n])
    } else {
        f(&all.collect::<Vec<&str>>())
    }
}

/// Calls `f` with `segs` borrowed as `&str`s.
fn borrowed<R>(segs: &[String], f: impl FnOnce(&[&str]) -> R) -> R {
    joined(segs, &[] as &[&str], f)
}

impl<'a> Resolver<'a> {
    pub(crate) fn new(
        ctx: &'a CrateContext,
        file: &'a HashMap<ModPath, Scope>,
        is_target: &'a dyn Fn(&[String]) -> bool,
    ) -> Self {
        Resolver {
            ctx,
            file,
            is_target,
            visiting: RefCell::new(Vec::new()),
            budget: Cell::new(BUDGET),
            last_scope: Cell::new(None),
            entry: Cell::new((0, 0)),
            entry_scope: Cell::new(None),
        }
    }
}

const MAX_DEPTH: usize = 32;

impl<'a> Resolver<'a> {
    fn scope(&self, m: &[String]) -> Option<&'a Scope> {
        if self.entry.get() == (m.as_ptr() as usize, m.len()) {
            if let Some(known) = self.entry_scope.get() {
                return known;
            }
            let found = self.find_scope(m);
            self.entry_scope.set(Some(found));
            return found;
        }
        self.find_scope(m)
    }

    fn find_scope(&self, m: &[String]) -> Option<&'a Scope> {
        if let Some((key, scope)) = self.last_scope.get() {
            if key == m {
                return Some(scope);
            }
        }
        let (key, scope) = self
            .file
            .get_key_value(m)
            .or_else(|| self.ctx.modules.get_key_value(m))?;
        self.last_scope.set(Some((key.as_slice(), scope)));
        Some(scope)
    }

    /// The external path `path` names, its crate under its canonical name.
    fn canonical_extern(&self, path: &[&str]) -> Res {
        let Some((first, more)) = path.split_first() else {
            return Res::Unknown;
        };
        let mut out = Vec::with_capacity(path.len());
        out.push(match self.ctx.aliases.get(*first) {
            Some(c) => c.clone(),
            None => String::from(*first),
        });
        out.extend(more.iter().map(|s| String::from(*s)));
        Res::Extern(out)
    }

    /// The crate directory prefix of `m` when `m` is in one of the crate's tests, examples,
    /// benches or binaries: the places that reach the library by its name (the library itself
    /// cannot name itself that way).
    fn outside_lib<'m>(&self, m: &'m [String]) -> Option<&'m str> {
        let key = m.first()?.strip_prefix("crate:")?;
        // The library and lone files, by far the most common, in one suffix test.
        if key.ends_with("#src") || key.ends_with("#file") {
            return None;
        }
        let (prefix, kind) = key.rsplit_once('#')?;
        ["tests/", "examples/", "benches/", "src/bin/"]
            .iter()
            .any(|k| kind.starts_with(k))
            .then_some(prefix)
    }

    /// The root of this crate's library when `name`, written in module `m`, names it.
    fn own_lib(&self, m: &[String], name: &str) -> Option<ModPath> {
        self.lib_named(self.outside_lib(m)?, name)
    }

    /// The root of the library of the crate in directory `prefix`, when it is called `name`.
    fn lib_named(&self, prefix: &str, name: &str) -> Option<ModPath> {
        (self.ctx.libs.get(prefix)? == name).then(|| vec![lib_root(prefix)])
    }

    /// An absolute path (or one naming no binding): this crate's library when it starts with
    /// the library's name and `m` sits outside it, else an external crate. When the crate's
    /// `Cargo.toml` was not scanned, the library's name is unknown: a path that leads to a
    /// target through the library's modules as well cannot be told apart, so it is reported
    /// rather than skipped.
    fn external(&self, m: &[String], path: &[&str], depth: usize) -> Res {
        let Some(first) = path.first() else {
            return Res::Unknown;
        };
        let outside = self.outside_lib(m);
        if let Some(root) = outside.and_then(|prefix| self.lib_named(prefix, first)) {
            return self.walk(&root, &path[1..], depth + 1);
        }
        let res = self.canonical_extern(path);
        let Res::Extern(p) = &res else { return res };
        if let Some(prefix) = outside {
            let root = vec![lib_root(prefix)];
            let unnamed = !self.ctx.manifests.contains(prefix) && self.scope(&root).is_some();
            if unnamed && p.len() > 1 && !(self.is_target)(p) {
                let through_lib = borrowed(&p[1..], |more| self.walk(&root, more, depth + 1));
                if matches!(&through_lib, Res::Extern(q) if (self.is_target)(q)) {
                    return Res::Unknown;
                }
            }
        }
        res
    }

    /// Resolves `segs` as written in module `m`, inside the given block scopes (outermost
    /// first; they are searched innermost first).
    pub(crate) fn resolve(&self, m: &[String], blocks: &[&Scope], segs: &[String]) -> Res {
        self.resolve_in(m, blocks.iter().copied(), segs)
    }

    /// [`Resolver::resolve`] with the block scopes as an iterator (outermost first), so that a
    /// caller holding them in frames need not collect them.
    pub(crate) fn resolve_in<'s, I>(&self, m: &[String], blocks: I, segs: &[String]) -> Res
    where
        I: DoubleEndedIterator<Item = &'s Scope> + Clone,
    {
        self.budget.set(BUDGET);
        self.entry.set((m.as_ptr() as usize, m.len()));
        self.entry_scope.set(None);
        let res = borrowed(segs, |segs| self.resolve_blocks(m, blocks, segs));
        // The address means nothing once the caller's borrow ends.
        self.entry.set((0, 0));
        res
    }

    /// The first step of a resolution: block scopes shadow the module's names (and add their
    /// globs to its globs).
    fn resolve_blocks<'s, I>(&self, m: &[String], blocks: I, segs: &[&str]) -> Res
    where
        I: DoubleEndedIterator<Item = &'s Scope> + Clone,
    {
        let Some((first, rest)) = segs.split_first() else {
            return Res::Unknown;
        };
        if matches!(*first, "::" | "crate" | "self" | "super" | "Self") {
            return self.resolve_at(m, segs, 0);
        }
        for b in blocks.clone().rev() {
            if let Some(binding) = b.names.get(*first) {
                return self.follow(m, binding, first, rest, 0);
            }
        }
        let block_globs = blocks.flat_map(|b| b.globs.iter());
        match self.lookup(m, first, rest, block_globs, 0) {
            Some(res) => res,
            // Not bound anywhere: an extern crate (or a prelude / primitive name).
            None => self.external(m, segs, 0),
        }
    }

    fn resolve_at(&self, m: &[String], segs: &[&str], depth: usize) -> Res {
        let Some((first, rest)) = segs.split_first() else {
            return Res::Unknown;
        };
        if depth > MAX_DEPTH {
            return Res::Unknown;
        }
        match *first {
            "::" => match rest.first() {
                Some(_) => self.external(m, rest, depth),
                None => Res::Unknown,
            },
            "crate" => self.walk(&m[..1], rest, depth),
            "self" => self.walk(m, rest, depth),
            "super" => self.walk(m, segs, depth),
            "Self" => Res::Unknown,
            _ => match self.lookup(m, first, rest, std::iter::empty(), depth) {
                Some(res) => res,
                // Not bound anywhere: an extern crate (or a prelude / primitive name).
                None => self.external(m, segs, depth),
            },
        }
    }

    /// Walks module `m` with the remaining segments.
    fn walk(&self, m: &[String], rest: &[&str], depth: usize) -> Res {
        let Some((name, more)) = rest.split_first() else {
            return Res::Local;
        };
        match *name {
            "super" => {
                if m.len() <= 1 {
                    return Res::Unknown;
                }
                self.walk(&m[..m.len() - 1], more, depth + 1)
            }
            "self" => self.walk(m, more, depth + 1),
            _ => match self.lookup(m, name, more, std::iter::empty(), depth) {
                Some(res) => res,
                // A known module without that name: a macro-made item at worst, not a target.
                None if self.scope(m).is_some() || self.ctx.scanned => Res::Local,
                None => Res::Unknown,
            },
        }
    }

    /// Looks `name` up in module `m` (explicit names, then globs, then `extra_globs`).
    /// `None`: not bound there.
    fn lookup<'g>(
        &self,
        m: &[String],
        name: &str,
        rest: &[&str],
        extra_globs: impl Iterator<Item = &'g Vec<String>>,
        depth: usize,
    ) -> Option<Res> {
        let left = self.budget.get();
        if left == 0 {
            return Some(Res::Unknown);
        }
        self.budget.set(left - 1);
        let scope = self.scope(m);
        if let Some(b) = scope.and_then(|s| s.names.get(name)) {
            return Some(self.follow(m, b, name, rest, depth));
        }
        let mut unknown = false;
        let globs = scope.into_iter().flat_map(|s| s.globs.iter());
        for g in globs {
            if let Some(res) = self.through_glob(m, g, name, rest, depth, &mut unknown) {
                return Some(res);
            }
        }
        for g in extra_globs {
            if let Some(res) = self.through_glob(m, g, name, rest, depth, &mut unknown) {
                return Some(res);
            }
        }
        if unknown {
            return Some(Res::Unknown);
        }
        if scope.is_none() && !self.ctx.scanned && m.len() > 1 {
            return Some(Res::Unknown);
        }
        None
    }

    /// What glob `g` (in module `m`) supplies for `name`: `Some` ends the lookup; a glob that
    /// cannot tell sets `unknown`.
    fn through_glob(
        &self,
        m: &[String],
        g: &[String],
        name: &str,
        rest: &[&str],
        depth: usize,
        unknown: &mut bool,
    ) -> Option<Res> {
        match self.glob_source(m, g, depth + 1) {
            Res::Extern(mut p) => {
                p.reserve(1 + rest.len());
                p.push(name.to_string());
                p.extend(rest.iter().map(|s| String::from(*s)));
                // We cannot list an external module's items: a glob supplies the name
                // only if it makes a path the rules care about.
                if (self.is_target)(&p) {
                    return Some(Res::Extern(p));
                }
            }
            Res::Local => {
                // A glob of one of our modules: look inside it, if we know it (and are not
                // already looking there for this name: a glob cycle supplies nothing new).
                let gm = self.module_of(m, g, depth)?;
                let seen = self
                    .visiting
                    .borrow()
                    .iter()
                    .any(|(vm, vn)| *vm == gm && vn == name);
                if seen {
                    return None;
                }
                self.visiting
                    .borrow_mut()
                    .push((gm.clone(), name.to_string()));
                let found = self.lookup(&gm, name, rest, std::iter::empty(), depth + 1);
                self.visiting.borrow_mut().pop();
                match found {
                    Some(Res::Unknown) => *unknown = true,
                    Some(res) => return Some(res),
                    None => {}
                }
            }
            Res::Unknown => *unknown = true,
        }
        None
    }

    /// Resolves a glob's source path. Its first segment is looked up among explicit names only:
    /// consulting globs to resolve globs would loop (and is vanishingly rare in real code).
    fn glob_source(&self, m: &[String], g: &[String], depth: usize) -> Res {
        let Some(first) = g.first() else {
            return Res::Unknown;
        };
        if matches!(first.as_str(), "::" | "crate" | "self" | "super" | "Self") {
            return borrowed(g, |g| self.resolve_at(m, g, depth));
        }
        match self.scope(m).and_then(|s| s.names.get(first)) {
            Some(b) => borrowed(&g[1..], |rest| self.follow(m, b, first, rest, depth)),
            None => borrowed(g, |g| self.external(m, g, depth)),
        }
    }

    /// The module a path written in `m` names, when it is one of ours.
    fn module_of(&self, m: &[String], segs: &[String], depth: usize) -> Option<ModPath> {
        let unbound = |s: &String| self.scope(m).is_none_or(|sc| !sc.names.contains_key(s));
        let (mut cur, rest): (ModPath, &[String]) = match segs.first().map(String::as_str) {
            Some("crate") => (m[..1].to_vec(), &segs[1..]),
            Some("self") => (m.to_vec(), &segs[1..]),
            // `::<lib>::…`, or `<lib>::…` with no binding of that name: this crate's library.
            Some("::") => (self.own_lib(m, segs.get(1)?)?, &segs[2..]),
            Some(first) => match self.own_lib(m, first).filter(|_| unbound(&segs[0])) {
                Some(root) => (root, &segs[1..]),
                None => (m.to_vec(), segs),
            },
            None => (m.to_vec(), segs),
        };
        for s in rest {
            match s.as_str() {
                "super" if cur.len() > 1 => {
                    cur.pop();
                }
                "self" => {}
                _ => match self.scope(&cur).and_then(|sc| sc.names.get(s)) {
                    Some(Binding::Module) => cur.push(s.clone()),
                    Some(Binding::Use(p)) if depth < MAX_DEPTH => {
                        cur = self.module_of(&cur, p, depth + 1)?;
                    }
                    _ => return None,
                },
            }
        }
        Some(cur)
    }

    fn follow(&self, m: &[String], b: &Binding, name: &str, rest: &[&str], depth: usize) -> Res {
        match b {
            Binding::Local => Res::Local,
            Binding::Module => {
                let mut child = Vec::with_capacity(m.len() + 1);
                child.extend_from_slice(m);
                child.push(name.to_string());
                self.walk(&child, rest, depth + 1)
            }
            Binding::Use(path) => joined(path, rest, |full| self.resolve_at(m, full, depth + 1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(s: &str) -> Vec<String> {
        s.split("::").map(String::from).collect()
    }

    #[test]
    fn module_paths_follow_cargo_layout() {
        let m = |p: &str| module_path_for(Path::new(p))[1..].join("::");
        assert_eq!(m("app/src/lib.rs"), "");
        assert_eq!(m("app/src/a/b.rs"), "a::b");
        assert_eq!(m("app/src/a/mod.rs"), "a");
        assert_eq!(m("app/tests/it.rs"), "");
        // Paths are crate-relative: the first `src` anchors, a later one is a module dir.
        assert_eq!(m("src/tests/x.rs"), "tests::x");
        assert_eq!(m("app/src/tests/mod.rs"), "tests");
        assert_eq!(m("src/examples/benches.rs"), "examples::benches");
        assert_eq!(
            module_path_for(Path::new("src/tests/x.rs"))[0],
            module_path_for(Path::new("src/lib.rs"))[0]
        );
        assert_ne!(
            module_path_for(Path::new("app/src/bin/x.rs"))[0],
            module_path_for(Path::new("app/src/main.rs"))[0]
        );
        assert_eq!(
            module_path_for(Path::new("app/src/main.rs")),
            module_path_for(Path::new("app/src/lib.rs"))
        );
    }

    #[test]
    fn follows_reexports_across_files() {
        let files = [
            (
                Path::new("app/src/lib.rs"),
                "mod compat; mod b; pub use compat::sc as clone;",
            ),
            (
                Path::new("app/src/compat.rs"),
                "pub use lumenize_core::structured_clone as sc;",
            ),
            (Path::new("app/src/b.rs"), "pub use crate::clone::parse;"),
        ];
        let ctx = CrateContext::scan(files.iter().map(|(p, t)| (*p, *t)));
        let empty = HashMap::default();
        let is_target = |_: &[String]| false;
        let r = Resolver::new(&ctx, &empty, &is_target);
        let main = module_path_for(Path::new("app/src/main.rs"));
        assert_eq!(
            r.resolve(&main, &[], &segs("crate::b::parse")),
            Res::Extern(segs("lumenize_core::structured_clone::parse"))
        );
        assert_eq!(
            r.resolve(&main, &[], &segs("str::parse")),
            Res::Extern(segs("str::parse"))
        );
        assert!(ctx.export_names.contains("sc"));
    }

    #[test]
    fn lib_name_reaches_the_library_from_tests_and_binaries_only() {
        let files = [
            (
                Path::new("Cargo.toml"),
                "[package]\nname = \"reminder-desk\"\n",
            ),
            (Path::new("src/lib.rs"), "pub mod lmz;"),
            (
                Path::new("src/lmz.rs"),
                "pub use lumenize_core::structured_clone::stringify;",
            ),
        ];
        let ctx = CrateContext::scan(files.iter().map(|(p, t)| (*p, *t)));
        let empty = HashMap::default();
        let is_target = |_: &[String]| false;
        let r = Resolver::new(&ctx, &empty, &is_target);
        let target = Res::Extern(segs("lumenize_core::structured_clone::stringify"));
        for outside in [
            "tests/flow.rs",
            "examples/demo.rs",
            "benches/b.rs",
            "src/bin/cli.rs",
        ] {
            let m = module_path_for(Path::new(outside));
            let path = segs("reminder_desk::lmz::stringify");
            assert_eq!(r.resolve(&m, &[], &path), target, "{outside}");
        }
        // Inside the library the name is not itself (it would not compile).
        let lib = module_path_for(Path::new("src/lmz.rs"));
        assert_eq!(
            r.resolve(&lib, &[], &segs("reminder_desk::lmz::stringify")),
            Res::Extern(segs("reminder_desk::lmz::stringify"))
        );
        // Without a library target there is nothing to reach.
        let bin_only = [
            (Path::new("Cargo.toml"), "[package]\nname = \"tool\"\n"),
            (Path::new("src/main.rs"), "mod lmz;"),
        ];
        let ctx = CrateContext::scan(bin_only.iter().map(|(p, t)| (*p, *t)));
        assert!(ctx.libs.is_empty());
    }

    #[test]
    fn glob_cycles_terminate() {
        // `pub use child::*;` in a parent whose children all `use super::*;`: every lookup of
        // a missing name used to walk the cycle exponentially up to the depth limit.
        let mut lib = String::from("pub use lumenize_core::structured_clone::parse;\n");
        let mut files = Vec::new();
        for i in 0..8 {
            lib.push_str(&format!("mod c{i};\npub use c{i}::*;\n"));
            files.push((
                format!("app/src/c{i}.rs"),
                "use super::*;\npub use super::*;\npub fn parse_helper() {}\n".to_string(),
            ));
        }
        files.push(("app/src/lib.rs".to_string(), lib));
        let ctx = CrateContext::scan(
            files
                .iter()
                .map(|(p, t)| (Path::new(p.as_str()), t.as_str())),
        );
        // The file being migrated (c3) contributes its own scope, as in `migrate_source`.
        let c3 = module_path_for(Path::new("app/src/c3.rs"));
        let mut own = HashMap::default();
        let parsed = syn::parse_file("use super::*;\npub use super::*;\n").unwrap();
        collect_modules(&parsed.items, &c3, &mut own);
        let is_target = |p: &[String]| p.last().is_some_and(|l| l == "parse");
        let r = Resolver::new(&ctx, &own, &is_target);
        assert_eq!(
            r.resolve(&c3, &[], &segs("parse")),
            Res::Extern(segs("lumenize_core::structured_clone::parse"))
        );
        assert!(matches!(
            r.resolve(&c3, &[], &segs("missing")),
            Res::Extern(_) | Res::Local | Res::Unknown
        ));
    }

    #[test]
    fn paths_longer_than_the_stack_buffer_resolve_whole() {
        let files = [(
            Path::new("app/src/lib.rs"),
            "pub use lumenize_core::a::b::c::d::e::f::g as deep;",
        )];
        let ctx = CrateContext::scan(files.iter().map(|(p, t)| (*p, *t)));
        let empty = HashMap::default();
        let is_target = |_: &[String]| false;
        let r = Resolver::new(&ctx, &empty, &is_target);
        let root = module_path_for(Path::new("app/src/lib.rs"));
        // 3 + 8 segments once the re-export is followed: more than `INLINE`.
        let written = segs("crate::deep::h::i::j::k::l::m::n::o");
        assert!(written.len() > INLINE);
        assert_eq!(
            r.resolve(&root, &[], &written),
            Res::Extern(segs(
                "lumenize_core::a::b::c::d::e::f::g::h::i::j::k::l::m::n::o"
            ))
        );
        let mut long = segs("x::a::b::c::d::e::f::g::h::i");
        long.insert(0, "::".to_string());
        assert_eq!(
            r.resolve(&root, &[], &long),
            Res::Extern(long[1..].to_vec())
        );
    }

    #[test]
    fn the_remembered_module_never_answers_for_another() {
        // Two modules binding the same name differently, resolved alternately: the module
        // remembered from the previous lookup must not leak into the next one.
        let file = "use lumenize_core::alarms as x;\n\
                    mod a { use lumenize_core::structured_clone as x; }\n\
                    mod b { pub fn x() {} }\n";
        let m = module_path_for(Path::new("app/src/lib.rs"));
        let mut own = HashMap::default();
        collect_modules(&syn::parse_file(file).unwrap().items, &m, &mut own);
        let ctx = CrateContext::default();
        let is_target = |_: &[String]| false;
        let r = Resolver::new(&ctx, &own, &is_target);
        let child = |name: &str| {
            let mut c = m.clone();
            c.push(name.to_string());
            c
        };
        let (a, b, c) = (child("a"), child("b"), child("c"));
        for _ in 0..2 {
            assert_eq!(
                r.resolve(&a, &[], &segs("x::parse")),
                Res::Extern(segs("lumenize_core::structured_clone::parse"))
            );
            assert_eq!(
                r.resolve(&m, &[], &segs("x::Alarms")),
                Res::Extern(segs("lumenize_core::alarms::Alarms"))
            );
            assert_eq!(r.resolve(&b, &[], &segs("x")), Res::Local);
            // A module nobody recorded (in an unscanned crate): cannot tell.
            assert_eq!(r.resolve(&c, &[], &segs("x::parse")), Res::Unknown);
            assert_eq!(
                r.resolve(&m, &[], &segs("crate::a::x::parse")),
                Res::Extern(segs("lumenize_core::structured_clone::parse"))
            );
        }
    }

    #[test]
    fn block_scopes_shadow_innermost_first_and_lend_their_globs() {
        let m = module_path_for(Path::new("app/src/lib.rs"));
        let mut own = HashMap::default();
        let file = "use lumenize_core::structured_clone::parse;";
        collect_modules(&syn::parse_file(file).unwrap().items, &m, &mut own);
        let ctx = CrateContext::default();
        let is_target = |p: &[String]| p.join("::") == "lumenize_core::alarms::When";
        let r = Resolver::new(&ctx, &own, &is_target);
        let block = |src: &str| {
            let mut s = Scope::default();
            for item in syn::parse_file(src).unwrap().items {
                s.add_item(&item);
            }
            s
        };
        let outer = block("use lumenize_core::ocan::parse;");
        let inner = block("fn parse() {}");
        let globs = block("use lumenize_core::alarms::*;");
        assert_eq!(
            r.resolve(&m, &[], &segs("parse")),
            Res::Extern(segs("lumenize_core::structured_clone::parse"))
        );
        assert_eq!(
            r.resolve(&m, &[&outer], &segs("parse")),
            Res::Extern(segs("lumenize_core::ocan::parse"))
        );
        assert_eq!(r.resolve(&m, &[&outer, &inner], &segs("parse")), Res::Local);
        assert_eq!(
            r.resolve_in(&m, [&inner, &outer].into_iter(), &segs("parse")),
            Res::Extern(segs("lumenize_core::ocan::parse"))
        );
        // A block's glob supplies a name only when it makes a target path.
        assert_eq!(
            r.resolve(&m, &[&globs], &segs("When")),
            Res::Extern(segs("lumenize_core::alarms::When"))
        );
        assert_eq!(
            r.resolve(&m, &[&globs], &segs("Other")),
            Res::Extern(segs("Other"))
        );
    }
}

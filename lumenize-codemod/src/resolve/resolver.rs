//! The resolver: what a path written in some module refers to, through the file's scopes and
//! the crate's.

use std::cell::{Cell, RefCell};

use rustc_hash::FxHashMap as HashMap;

use super::context::CrateContext;
use super::layout::lib_root;
use super::scope::{Binding, ModPath, Scope};

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
    /// The last module found by `find_scope` (its key, borrowed from the map holding it),
    /// kept across resolutions: compared by content, so it never answers for another module.
    last_scope: Cell<Option<(&'a [String], &'a Scope)>>,
}

/// One resolution in progress (one [`Resolver::resolve_in`] call) and its state.
struct Lookup<'r, 'a> {
    r: &'r Resolver<'a>,
    /// The module the resolution started in, and its scope once looked up: most lookups of a
    /// resolution are in that module. Compared by content (see [`Lookup::scope`]).
    entry: &'r [String],
    entry_scope: Cell<Option<Option<&'a Scope>>>,
    /// Lookups left (diamonds of globs stay bounded too).
    budget: Cell<usize>,
    /// Local globs being followed (module, name): glob cycles (`pub use child::*;` with
    /// `use super::*;` in the child) must not recurse.
    visiting: RefCell<Vec<(ModPath, String)>>,
}

/// Lookups one `resolve` may make before giving up with "cannot tell".
const BUDGET: usize = 4096;

/// Paths up to this many segments are joined on the stack; longer ones allocate.
pub(super) const INLINE: usize = 8;

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
            last_scope: Cell::new(None),
        }
    }
}

const MAX_DEPTH: usize = 32;

impl<'a> Resolver<'a> {
    /// The scope of module `m`, from the file's modules first, then the crate's.
    fn find_scope(&self, m: &[String]) -> Option<&'a Scope> {
        if let Some((key, scope)) = self.last_scope.get() {
            if key == m {
                return Some(scope);
            }
        }
        let (key, scope) = self
            .file
            .get_key_value(m)
            .or_else(|| self.ctx.modules.get_key_value(m))
            .or_else(|| self.ctx.library_module(m))?;
        self.last_scope.set(Some((key.as_slice(), scope)));
        Some(scope)
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
        let lookup = Lookup {
            r: self,
            entry: m,
            entry_scope: Cell::new(None),
            budget: Cell::new(BUDGET),
            visiting: RefCell::new(Vec::new()),
        };
        borrowed(segs, |segs| lookup.resolve_blocks(m, blocks, segs))
    }
}

impl<'a> Lookup<'_, 'a> {
    /// The scope of module `m`. The entry module's is looked up once per resolution; it is
    /// recognised by content (the address test is only a shortcut: the same slice holds the
    /// same path).
    fn scope(&self, m: &[String]) -> Option<&'a Scope> {
        if std::ptr::eq(m, self.entry) || m == self.entry {
            if let Some(known) = self.entry_scope.get() {
                return known;
            }
            let found = self.r.find_scope(m);
            self.entry_scope.set(Some(found));
            return found;
        }
        self.r.find_scope(m)
    }

    /// The external path `path` (written in module `m`) names, its crate under its canonical
    /// name (the renames of the crate owning `m`).
    fn canonical_extern(&self, m: &[String], path: &[&str]) -> Res {
        let Some((first, more)) = path.split_first() else {
            return Res::Unknown;
        };
        let mut out = Vec::with_capacity(path.len());
        out.push(match self.r.ctx.owner(m).aliases.get(*first) {
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
        (self.r.ctx.libs.get(prefix)? == name).then(|| vec![lib_root(prefix)])
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
        // Another crate whose library was read: into its modules.
        if let Some(dep) = self.r.ctx.owner(m).links.get(*first) {
            return self.walk(&[lib_root(dep)], &path[1..], depth + 1);
        }
        let res = self.canonical_extern(m, path);
        let Res::Extern(p) = &res else { return res };
        if let Some(prefix) = outside {
            let root = vec![lib_root(prefix)];
            let unnamed = !self.r.ctx.manifests.contains(prefix) && self.scope(&root).is_some();
            if unnamed && p.len() > 1 && !(self.r.is_target)(p) {
                let through_lib = borrowed(&p[1..], |more| self.walk(&root, more, depth + 1));
                if matches!(&through_lib, Res::Extern(q) if (self.r.is_target)(q)) {
                    return Res::Unknown;
                }
            }
        }
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
                None if self.scope(m).is_some() || self.r.ctx.scanned => Res::Local,
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
        if scope.is_none() && !self.r.ctx.scanned && m.len() > 1 {
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
                if (self.r.is_target)(&p) {
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
                // `dep::…` with `dep` another crate whose library was read.
                None => match self.r.ctx.owner(m).links.get(first) {
                    Some(dep) if unbound(&segs[0]) => (vec![lib_root(dep)], &segs[1..]),
                    _ => (m.to_vec(), segs),
                },
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

//! Scopes: the names a module (or a block) binds, read from its items.

use rustc_hash::FxHashMap as HashMap;

use super::outline;

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

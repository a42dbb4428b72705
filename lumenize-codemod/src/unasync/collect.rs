//! The first walk: every function the crate defines (async or not, with what makes it
//! public, a test, or untouchable), the crate's type and trait names, and every name a pattern
//! binds (a local binding can shadow a function's name).

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use syn::visit::Visit;

use super::model::{has_await, Def, Kind};
use crate::syntax::Src;

/// Attributes that do not care whether a function is async.
const INERT_ATTRS: &[&str] = &[
    "doc",
    "allow",
    "warn",
    "deny",
    "forbid",
    "expect",
    "inline",
    "must_use",
    "cold",
    "track_caller",
    "deprecated",
    "cfg",
    "rustfmt",
    "clippy",
];

/// What the first walk found in the crate.
#[derive(Default)]
pub(super) struct Found {
    pub defs: Vec<Def>,
    /// Names of the crate's structs, enums, unions, type aliases and traits.
    pub types: HashSet<String>,
    /// The crate's traits, and whether each is `pub`.
    pub traits: HashMap<String, bool>,
    /// `(type or trait, method)` for every associated function defined.
    pub owners: HashSet<(String, String)>,
    /// Every name a pattern binds, with its first place (file, offset).
    pub bound: HashMap<String, (usize, usize)>,
    /// Local `macro_rules!` macros whose definition holds `.await`.
    pub awaiting_macros: HashSet<String>,
    /// Every local `macro_rules!` macro (a local `join!` is not the executor's).
    pub local_macros: HashSet<String>,
    /// Definitions inside `impl Trait for T`, with the trait's name (checked once every
    /// trait of the crate is known).
    pub trait_impls: Vec<(usize, String)>,
}

/// One file's walk.
pub(super) struct Collector<'a, 'f> {
    pub found: &'f mut Found,
    pub file: usize,
    pub src: Src<'a>,
    /// The file may expose items to other crates (a library file, not a test or binary).
    pub lib_side: bool,
    /// The file can be edited in this run.
    pub editable: bool,
    /// The enclosing impl or trait: (self type or trait name, trait implemented, public
    /// trait, blocker from its attributes).
    owner: Option<Owner>,
    /// Inside a function body.
    depth: usize,
}

#[derive(Clone)]
struct Owner {
    name: String,
    trait_impl: Option<String>,
    in_trait: Option<bool>,
    blocker: Option<String>,
}

impl<'a, 'f> Collector<'a, 'f> {
    pub(super) fn new(
        found: &'f mut Found,
        file: usize,
        src: Src<'a>,
        lib_side: bool,
        editable: bool,
    ) -> Self {
        Collector {
            found,
            file,
            src,
            lib_side,
            editable,
            owner: None,
            depth: 0,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn add(&mut self, attrs: &[syn::Attribute], sig: &syn::Signature, public: bool, kind: Kind) {
        let name = sig.ident.to_string();
        let (test_like, mut blocker) = attr_verdict(attrs);
        let owner = self.owner.clone();
        if blocker.is_none() {
            blocker = owner.as_ref().and_then(|o| o.blocker.clone());
        }
        if self.depth > 0 && blocker.is_none() {
            blocker = Some("it is defined inside a function body".to_string());
        }
        if !self.editable && blocker.is_none() {
            blocker = Some("its file is not being migrated in this run".to_string());
        }
        let async_range = sig.asyncness.map(|a| {
            let (s, e) = self.src.span(a.span);
            let rest = &self.src.text[e..];
            let blank = rest.len() - rest.trim_start().len();
            (s, e + blank)
        });
        let display = match &owner {
            Some(o) => format!("{}::{name}", o.name),
            None => name.clone(),
        };
        let public = match &owner {
            Some(Owner {
                in_trait: Some(p), ..
            }) => *p,
            Some(Owner {
                trait_impl: Some(_),
                ..
            }) => false, // decided once traits are known
            _ => public,
        } && self.lib_side;
        if let Some(o) = &owner {
            self.found.owners.insert((o.name.clone(), name.clone()));
        }
        let idx = self.found.defs.len();
        if let Some(Owner {
            trait_impl: Some(t),
            ..
        }) = &owner
        {
            self.found.trait_impls.push((idx, t.clone()));
        }
        self.found.defs.push(Def {
            file: self.file,
            key: (kind, name),
            display,
            offset: self.src.span(sig.ident.span()).0,
            async_range,
            public,
            test_like,
            blocker,
            hard: false,
            deps: Vec::new(),
        });
    }
}

/// (a test or entry point, why it must stay as it is).
fn attr_verdict(attrs: &[syn::Attribute]) -> (bool, Option<String>) {
    let mut test_like = false;
    let mut blocker = None;
    for a in attrs {
        let segs: Vec<String> = a
            .path()
            .segments
            .iter()
            .map(|s| s.ident.to_string())
            .collect();
        let first = segs.first().map(String::as_str).unwrap_or("");
        let last = segs.last().map(String::as_str).unwrap_or("");
        if INERT_ATTRS.contains(&first) {
            continue;
        }
        if matches!(last, "test" | "main" | "bench") || segs.iter().any(|s| s == "test") {
            test_like = true;
        } else if blocker.is_none() {
            blocker = Some(format!(
                "it carries the attribute `#[{}]`, which may rely on it being async",
                segs.join("::")
            ));
        }
    }
    (test_like, blocker)
}

fn is_pub(v: &syn::Visibility) -> bool {
    matches!(v, syn::Visibility::Public(_))
}

fn last_ident(ty: &syn::Type) -> Option<String> {
    match ty {
        syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        syn::Type::Reference(r) => last_ident(&r.elem),
        syn::Type::Paren(p) => last_ident(&p.elem),
        syn::Type::Group(g) => last_ident(&g.elem),
        _ => None,
    }
}

impl<'ast> Visit<'ast> for Collector<'_, '_> {
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        let saved = self.owner.take();
        self.add(&f.attrs, &f.sig, is_pub(&f.vis), Kind::Free);
        self.depth += 1;
        syn::visit::visit_item_fn(self, f);
        self.depth -= 1;
        self.owner = saved;
    }

    fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
        let name = last_ident(&i.self_ty).unwrap_or_else(|| "_".to_string());
        let trait_impl = i
            .trait_
            .as_ref()
            .and_then(|(_, p, _)| p.segments.last().map(|s| s.ident.to_string()));
        let (_, blocker) = attr_verdict(&i.attrs);
        let saved = self.owner.replace(Owner {
            name,
            trait_impl,
            in_trait: None,
            blocker,
        });
        syn::visit::visit_item_impl(self, i);
        self.owner = saved;
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        self.add(&f.attrs, &f.sig, is_pub(&f.vis), Kind::Method);
        let saved = self.owner.take();
        self.depth += 1;
        syn::visit::visit_impl_item_fn(self, f);
        self.depth -= 1;
        self.owner = saved;
    }

    fn visit_item_trait(&mut self, t: &'ast syn::ItemTrait) {
        let name = t.ident.to_string();
        self.found.types.insert(name.clone());
        self.found.traits.insert(name.clone(), is_pub(&t.vis));
        let (_, blocker) = attr_verdict(&t.attrs);
        let saved = self.owner.replace(Owner {
            name,
            trait_impl: None,
            in_trait: Some(is_pub(&t.vis)),
            blocker,
        });
        syn::visit::visit_item_trait(self, t);
        self.owner = saved;
    }

    fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
        self.add(&f.attrs, &f.sig, true, Kind::Method);
        let saved = self.owner.take();
        self.depth += 1;
        syn::visit::visit_trait_item_fn(self, f);
        self.depth -= 1;
        self.owner = saved;
    }

    fn visit_item_struct(&mut self, s: &'ast syn::ItemStruct) {
        self.found.types.insert(s.ident.to_string());
        syn::visit::visit_item_struct(self, s);
    }

    fn visit_item_enum(&mut self, s: &'ast syn::ItemEnum) {
        self.found.types.insert(s.ident.to_string());
        syn::visit::visit_item_enum(self, s);
    }

    fn visit_item_union(&mut self, s: &'ast syn::ItemUnion) {
        self.found.types.insert(s.ident.to_string());
        syn::visit::visit_item_union(self, s);
    }

    fn visit_item_type(&mut self, s: &'ast syn::ItemType) {
        self.found.types.insert(s.ident.to_string());
        syn::visit::visit_item_type(self, s);
    }

    fn visit_item_macro(&mut self, m: &'ast syn::ItemMacro) {
        if let Some(name) = &m.ident {
            if m.mac.path.is_ident("macro_rules") {
                self.found.local_macros.insert(name.to_string());
                if has_await(m.mac.tokens.clone()) {
                    self.found.awaiting_macros.insert(name.to_string());
                }
            }
        }
        syn::visit::visit_item_macro(self, m);
    }

    fn visit_pat_ident(&mut self, p: &'ast syn::PatIdent) {
        let at = (self.file, self.src.span(p.ident.span()).0);
        self.found.bound.entry(p.ident.to_string()).or_insert(at);
        syn::visit::visit_pat_ident(self, p);
    }
}

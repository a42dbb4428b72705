//! The second walk: every place that names a group (awaited calls, other calls, values, macro
//! bodies) and, for each function body, what it awaits at its own level (not inside closures
//! or async blocks, which stay async).

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use syn::punctuated::Punctuated;
use syn::visit::Visit;
use syn::{Expr, ExprAwait};

use super::collect::Found;
use super::model::{has_await, Def, GroupKey, Join, Kind, Use, UseKind};
use crate::resolve::{ModPath, Res, Resolver};
use crate::syntax::{peel, Src};
use crate::text::{is_blank, line_end_after_newline, line_start};

/// The names the walk looks for, and what the first walk learnt.
pub(super) struct Index<'f> {
    pub found: &'f Found,
    /// Names of free-function groups holding an async definition.
    pub free: HashSet<String>,
    /// Names of method groups holding an async definition.
    pub method: HashSet<String>,
    /// Macros whose bodies are comma-separated expressions.
    pub expr_macros: &'f std::collections::BTreeSet<String>,
    /// Macros that await their arguments themselves (`join!`, `select!`).
    pub await_macros: &'f std::collections::BTreeSet<String>,
}

/// What a call refers to.
enum Target {
    /// A group of this crate, certainly.
    Ours(GroupKey),
    /// Possibly a group of this crate: the reason the tool cannot tell.
    Unsure(GroupKey, &'static str),
    /// Nothing the rule acts on.
    Not,
}

/// One file's walk.
pub(super) struct Walker<'a, 'f> {
    pub ix: &'f Index<'f>,
    pub defs: &'f mut [Def],
    pub uses: &'f mut Vec<Use>,
    /// `join!`s of the crate's calls, rewritten when all of them convert.
    pub joins: &'f mut Vec<Join>,
    /// Definition index by (file, offset of its name).
    pub def_at: &'f HashMap<(usize, usize), usize>,
    pub file: usize,
    pub src: Src<'a>,
    pub resolver: &'f Resolver<'f>,
    pub module: ModPath,
    /// The function whose body is being walked, while at its own level.
    current: Option<usize>,
    self_ty: Option<String>,
    /// Types of the current function's bindings (`None`: unknown or conflicting).
    env: HashMap<String, Option<String>>,
}

impl<'a, 'f> Walker<'a, 'f> {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        ix: &'f Index<'f>,
        defs: &'f mut [Def],
        uses: &'f mut Vec<Use>,
        joins: &'f mut Vec<Join>,
        def_at: &'f HashMap<(usize, usize), usize>,
        file: usize,
        src: Src<'a>,
        resolver: &'f Resolver<'f>,
        module: ModPath,
    ) -> Self {
        Walker {
            ix,
            defs,
            uses,
            joins,
            def_at,
            file,
            src,
            resolver,
            module,
            current: None,
            self_ty: None,
            env: HashMap::default(),
        }
    }

    fn problem(&mut self, key: GroupKey, offset: usize, why: String) {
        self.uses.push(Use {
            file: self.file,
            key,
            offset,
            kind: UseKind::Problem(why),
        });
    }

    fn is_type(&self, name: &str) -> bool {
        self.ix.found.types.contains(name)
    }

    fn owner_name(&self, seg: &str) -> Option<String> {
        let name = if seg == "Self" {
            self.self_ty.clone()?
        } else {
            seg.to_string()
        };
        self.is_type(&name).then_some(name)
    }

    /// A path in callee or value position.
    fn path_target(&self, qself: bool, path: &syn::Path) -> Target {
        let segs: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        let Some(name) = segs.last() else {
            return Target::Not;
        };
        if qself {
            return if self.ix.method.contains(name) {
                Target::Unsure((Kind::Method, name.clone()), "a qualified path")
            } else {
                Target::Not
            };
        }
        if segs.len() >= 2 && self.owner_name(&segs[segs.len() - 2]).is_some() {
            return if self.ix.method.contains(name) {
                Target::Ours((Kind::Method, name.clone()))
            } else {
                Target::Not
            };
        }
        if !self.ix.free.contains(name) {
            return Target::Not;
        }
        match self.resolver.resolve(&self.module, &[], &segs) {
            Res::Extern(_) => Target::Not,
            Res::Local => Target::Ours((Kind::Free, name.clone())),
            Res::Unknown => Target::Unsure(
                (Kind::Free, name.clone()),
                "the path cannot be resolved to one of this crate's functions",
            ),
        }
    }

    fn call_target(&self, e: &Expr) -> Target {
        match peel(e) {
            Expr::Call(c) => match peel(&c.func) {
                Expr::Path(p) => self.path_target(p.qself.is_some(), &p.path),
                _ => Target::Not,
            },
            Expr::MethodCall(m) => {
                let name = m.method.to_string();
                if !self.ix.method.contains(&name) {
                    return Target::Not;
                }
                match self.infer(&m.receiver) {
                    Some(t) if self.ix.found.owners.contains(&(t.clone(), name.clone())) => {
                        Target::Ours((Kind::Method, name))
                    }
                    _ => Target::Unsure(
                        (Kind::Method, name),
                        "the receiver's type cannot be told (annotate the binding to help)",
                    ),
                }
            }
            _ => Target::Not,
        }
    }

    /// The local type of an expression, when it is evident.
    fn infer(&self, e: &Expr) -> Option<String> {
        match peel(e) {
            Expr::Reference(r) => self.infer(&r.expr),
            Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => self.infer(&u.expr),
            Expr::Path(p) if p.qself.is_none() => {
                let segs = path_idents(&p.path);
                match segs.as_slice() {
                    [one] if one == "self" => self.self_ty.clone(),
                    [one] if self.is_type(one) && !self.env.contains_key(one) => Some(one.clone()),
                    [one] => self.env.get(one).cloned().flatten(),
                    [.., ty, _] => self.owner_name(ty),
                    [] => None,
                }
            }
            Expr::Struct(s) if s.qself.is_none() => {
                let segs = path_idents(&s.path);
                match segs.as_slice() {
                    [.., last] if self.owner_name(last).is_some() => self.owner_name(last),
                    [.., ty, _] => self.owner_name(ty),
                    _ => None,
                }
            }
            Expr::Call(c) => match peel(&c.func) {
                Expr::Path(p) if p.qself.is_none() => {
                    let segs = path_idents(&p.path);
                    match segs.as_slice() {
                        [.., ty, f] if f == "new" || f == "default" => self.owner_name(ty),
                        _ => None,
                    }
                }
                _ => None,
            },
            _ => None,
        }
    }

    /// The range to delete to drop `.await` (as the other rules do it: from the end of the
    /// call when only blanks separate them, else just `.await`; a line left blank goes).
    fn await_deletion(&self, aw: &ExprAwait) -> (usize, usize) {
        let (dot, _) = self.src.span(aw.dot_token.span);
        let (_, end) = self.src.span(aw.await_token.span);
        let base_end = match peel(&aw.base) {
            Expr::Call(c) => self.src.span(c.paren_token.span.close()).1,
            Expr::MethodCall(m) => self.src.span(m.paren_token.span.close()).1,
            other => self.src.expr(other).1,
        };
        let (s, e) = if base_end <= dot && is_blank(&self.src.text[base_end..dot]) {
            (base_end, end)
        } else {
            (dot, end)
        };
        let text = self.src.text;
        let (ls, le) = (line_start(text, s), line_end_after_newline(text, e));
        if is_blank(&text[ls..s]) && is_blank(&text[e..le]) {
            (ls, le)
        } else {
            (s, e)
        }
    }

    fn on_await(&mut self, aw: &ExprAwait) {
        let at = self.src.span(aw.await_token.span).0;
        match self.call_target(&aw.base) {
            Target::Ours(key) => {
                let del = self.await_deletion(aw);
                if let Some(d) = self.current {
                    self.defs[d].deps.push((key.clone(), at));
                }
                self.uses.push(Use {
                    file: self.file,
                    key,
                    offset: at,
                    kind: UseKind::Awaited { del },
                });
            }
            Target::Unsure(key, why) => {
                if let Some(d) = self.current {
                    self.defs[d].deps.push((key.clone(), at));
                }
                self.problem(key, at, format!("it is awaited where {why}"));
            }
            Target::Not => {
                if let Some(d) = self.current {
                    self.defs[d].hard = true;
                }
            }
        }
        // The callee itself was just classified; its parts are walked as usual.
        self.visit_call_parts(&aw.base);
    }

    /// Walks the receiver and arguments of a call already classified (anything else whole).
    fn visit_call_parts(&mut self, e: &Expr) {
        match peel(e) {
            Expr::Call(c) => c.args.iter().for_each(|a| self.visit_expr(a)),
            Expr::MethodCall(m) => {
                self.visit_expr(&m.receiver);
                m.args.iter().for_each(|a| self.visit_expr(a));
            }
            other => self.visit_expr(other),
        }
    }

    /// A `join!` the rule may turn into a tuple: the executor's macro (`tokio::join!`,
    /// `futures::join!`, or `join!` with no local macro of that name), with parentheses and
    /// only calls of the crate's groups as arguments. Recorded, with its arguments' uses,
    /// and true; false leaves it to the refusal of any macro that awaits.
    fn on_join(&mut self, mac: &syn::Macro) -> bool {
        let segs = path_idents(&mac.path);
        let executor = match segs.as_slice() {
            [one] => one == "join" && !self.ix.found.local_macros.contains("join"),
            [krate, one] => {
                one == "join" && matches!(krate.as_str(), "tokio" | "futures" | "futures_util")
            }
            _ => false,
        };
        let syn::MacroDelimiter::Paren(paren) = &mac.delimiter else {
            return false;
        };
        if !executor {
            return false;
        }
        let Ok(args) = mac.parse_body_with(Punctuated::<Expr, syn::Token![,]>::parse_terminated)
        else {
            return false;
        };
        let mut keys = Vec::with_capacity(args.len());
        for a in &args {
            match self.call_target(a) {
                Target::Ours(key) => keys.push((key, self.src.expr(a).0)),
                _ => return false,
            }
        }
        let start = match &mac.path.leading_colon {
            Some(c) => self.src.span(c.spans[0]).0,
            None => self.src.span(mac.path.segments[0].ident.span()).0,
        };
        let bang = self.src.span(mac.bang_token.span).1;
        let open = self.src.span(paren.span.open()).0;
        if keys.is_empty() || !is_blank(&self.src.text[bang..open]) {
            return false;
        }
        let comma = match args.last() {
            Some(last) if args.len() == 1 && !args.trailing_punct() => Some(self.src.expr(last).1),
            _ => None,
        };
        for (key, at) in &keys {
            if let Some(d) = self.current {
                self.defs[d].deps.push((key.clone(), *at));
            }
            self.uses.push(Use {
                file: self.file,
                key: key.clone(),
                offset: *at,
                kind: UseKind::Joined,
            });
        }
        self.joins.push(Join {
            file: self.file,
            offset: start,
            name: self.src.text[start..bang].to_string(),
            del: (start, open),
            comma,
            keys,
        });
        args.iter().for_each(|a| self.visit_call_parts(a));
        true
    }

    fn unawaited(&mut self, target: Target, offset: usize, what: &str) {
        match target {
            Target::Ours(key) | Target::Unsure(key, _) => {
                self.problem(key, offset, format!("it is {what}"));
            }
            Target::Not => {}
        }
    }

    /// A macro call: expression lists are walked like code; anything else is opaque, and a
    /// group named in it cannot be rewritten.
    fn on_macro(&mut self, mac: &syn::Macro) {
        let name = mac
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default();
        if name == "join" && self.on_join(mac) {
            return;
        }
        if self.ix.await_macros.contains(&name) {
            if let Some(d) = self.current {
                self.defs[d].hard = true;
            }
            self.opaque(
                mac.tokens.clone(),
                &format!("given to `{name}!`, which awaits it"),
            );
            return;
        }
        if matches!(
            name.as_str(),
            "matches" | "assert_matches" | "debug_assert_matches"
        ) {
            // `matches!(expr, pattern)`: the expression is code, the pattern (and its guard)
            // stays opaque.
            let split = |input: syn::parse::ParseStream| {
                let e: Expr = input.parse()?;
                let rest: proc_macro2::TokenStream = input.parse()?;
                Ok((e, rest))
            };
            if let Ok((e, rest)) = mac.parse_body_with(split) {
                self.visit_expr(&e);
                self.opaque_in_body(rest, &name);
                return;
            }
        }
        if self.ix.expr_macros.contains(&name) {
            if let Ok(args) =
                mac.parse_body_with(Punctuated::<Expr, syn::Token![,]>::parse_terminated)
            {
                args.iter().for_each(|a| self.visit_expr(a));
                return;
            }
        }
        self.opaque_in_body(mac.tokens.clone(), &name);
    }

    /// Tokens of macro `name` the walk cannot read as code: a group named there cannot be
    /// rewritten, and the enclosing function cannot be shown not to await (an `.await` in
    /// the tokens or in the macro's local definition, or a call of a group it names).
    fn opaque_in_body(&mut self, tokens: proc_macro2::TokenStream, name: &str) {
        let named = self.opaque(tokens.clone(), &format!("named inside `{name}!`"));
        if let Some(d) = self.current {
            if named || has_await(tokens) || self.ix.found.awaiting_macros.contains(name) {
                self.defs[d].hard = true;
            }
        }
    }

    /// Reports every group named in `tokens`; true if there was one.
    fn opaque(&mut self, tokens: proc_macro2::TokenStream, what: &str) -> bool {
        let mut named = false;
        let mut after_dot = false;
        for tt in tokens {
            match tt {
                proc_macro2::TokenTree::Group(g) => {
                    named |= self.opaque(g.stream(), what);
                    after_dot = false;
                }
                proc_macro2::TokenTree::Ident(i) => {
                    let name = i.to_string();
                    let key = if after_dot
                        || self.ix.method.contains(&name) && !self.ix.free.contains(&name)
                    {
                        (Kind::Method, name)
                    } else {
                        (Kind::Free, name)
                    };
                    let known = match key.0 {
                        Kind::Method => self.ix.method.contains(&key.1),
                        Kind::Free => self.ix.free.contains(&key.1),
                    };
                    if known {
                        named = true;
                        let at = self.src.span(i.span()).0;
                        self.problem(key, at, format!("it is {what}"));
                    }
                    after_dot = false;
                }
                proc_macro2::TokenTree::Punct(p) => after_dot = p.as_char() == '.',
                proc_macro2::TokenTree::Literal(_) => after_dot = false,
            }
        }
        named
    }

    /// Walks a function body with its bindings' types and its definition.
    fn in_fn(&mut self, sig: &syn::Signature, body: Option<&syn::Block>) {
        let at = (self.file, self.src.span(sig.ident.span()).0);
        let saved_current = self.current.take();
        let saved_env = std::mem::take(&mut self.env);
        self.current = self.def_at.get(&at).copied();
        let mut env = Env {
            w: self,
            out: HashMap::default(),
        };
        for input in &sig.inputs {
            if let syn::FnArg::Typed(t) = input {
                let ty = ty_name(&t.ty).and_then(|n| env.w.owner_name(&n));
                env.bind(&t.pat, ty);
            }
        }
        if let Some(b) = body {
            env.visit_block(b);
        }
        self.env = env.out;
        if let Some(b) = body {
            self.visit_block(b);
        }
        self.current = saved_current;
        self.env = saved_env;
    }
}

fn ty_name(ty: &syn::Type) -> Option<String> {
    match ty {
        syn::Type::Path(p) if p.qself.is_none() => {
            p.path.segments.last().map(|s| s.ident.to_string())
        }
        syn::Type::Reference(r) => ty_name(&r.elem),
        syn::Type::Paren(p) => ty_name(&p.elem),
        syn::Type::Group(g) => ty_name(&g.elem),
        _ => None,
    }
}

/// The types of a function's bindings, flow-insensitively: a name bound twice with different
/// (or unknown) types is unknown.
struct Env<'w, 'a, 'f> {
    w: &'w Walker<'a, 'f>,
    out: HashMap<String, Option<String>>,
}

impl Env<'_, '_, '_> {
    fn bind(&mut self, pat: &syn::Pat, ty: Option<String>) {
        let (pat, ty) = match pat {
            syn::Pat::Type(t) => (&*t.pat, ty_name(&t.ty).and_then(|n| self.w.owner_name(&n))),
            _ => (pat, ty),
        };
        let mut names = Vec::new();
        let single = matches!(pat, syn::Pat::Ident(_));
        crate::syntax::pat_idents(pat, &mut names);
        for n in names {
            let ty = if single { ty.clone() } else { None };
            self.out
                .entry(n)
                .and_modify(|old| {
                    if *old != ty {
                        *old = None;
                    }
                })
                .or_insert(ty);
        }
    }
}

impl<'ast> Visit<'ast> for Env<'_, '_, '_> {
    fn visit_local(&mut self, l: &'ast syn::Local) {
        let ty = l
            .init
            .as_ref()
            .and_then(|i| self.w.infer_with(&i.expr, &self.out));
        self.bind(&l.pat, ty);
        syn::visit::visit_local(self, l);
    }

    fn visit_expr_for_loop(&mut self, f: &'ast syn::ExprForLoop) {
        let ty = match peel(&f.expr) {
            Expr::Array(a) => {
                let tys: Vec<_> = a
                    .elems
                    .iter()
                    .map(|e| self.w.infer_with(e, &self.out))
                    .collect();
                match tys.first() {
                    Some(Some(t)) if tys.iter().all(|x| x.as_ref() == Some(t)) => Some(t.clone()),
                    _ => None,
                }
            }
            _ => None,
        };
        self.bind(&f.pat, ty);
        syn::visit::visit_expr_for_loop(self, f);
    }

    fn visit_pat(&mut self, p: &'ast syn::Pat) {
        // Match arms, closure parameters, `if let`: bound to something unknown.
        let mut names = Vec::new();
        crate::syntax::pat_idents(p, &mut names);
        for n in names {
            self.out.entry(n).or_insert(None);
        }
    }

    fn visit_item(&mut self, _: &'ast syn::Item) {}
}

impl Walker<'_, '_> {
    /// [`Walker::infer`] with the bindings found so far.
    fn infer_with(&self, e: &Expr, env: &HashMap<String, Option<String>>) -> Option<String> {
        if let Expr::Path(p) = peel(e) {
            if let Some(one) = p.path.get_ident() {
                if let Some(ty) = env.get(&one.to_string()) {
                    return ty.clone();
                }
            }
        }
        self.infer(e)
    }
}

impl<'ast> Visit<'ast> for Walker<'_, '_> {
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        let saved = self.self_ty.take();
        self.in_fn(&f.sig, Some(&f.block));
        self.self_ty = saved;
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        self.in_fn(&f.sig, Some(&f.block));
    }

    fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
        self.in_fn(&f.sig, f.default.as_ref());
    }

    fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
        let saved = std::mem::replace(&mut self.self_ty, ty_name(&i.self_ty));
        syn::visit::visit_item_impl(self, i);
        self.self_ty = saved;
    }

    fn visit_item_trait(&mut self, t: &'ast syn::ItemTrait) {
        let saved = self.self_ty.replace(t.ident.to_string());
        syn::visit::visit_item_trait(self, t);
        self.self_ty = saved;
    }

    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        self.module.push(m.ident.to_string());
        syn::visit::visit_item_mod(self, m);
        self.module.pop();
    }

    fn visit_expr_closure(&mut self, c: &'ast syn::ExprClosure) {
        let saved = self.current.take();
        syn::visit::visit_expr_closure(self, c);
        self.current = saved;
    }

    fn visit_expr_async(&mut self, a: &'ast syn::ExprAsync) {
        let saved = self.current.take();
        syn::visit::visit_expr_async(self, a);
        self.current = saved;
    }

    fn visit_expr(&mut self, e: &'ast Expr) {
        match e {
            Expr::Await(aw) => self.on_await(aw),
            Expr::Call(c) => {
                let t = match peel(&c.func) {
                    Expr::Path(p) => self.path_target(p.qself.is_some(), &p.path),
                    _ => Target::Not,
                };
                if matches!(t, Target::Not) {
                    syn::visit::visit_expr_call(self, c);
                } else {
                    let at = self.src.expr(&c.func).0;
                    self.unawaited(t, at, "called without `.await` (its future is kept)");
                    c.args.iter().for_each(|a| self.visit_expr(a));
                }
            }
            Expr::MethodCall(m) => {
                let t = self.call_target(e);
                let at = self.src.span(m.method.span()).0;
                self.unawaited(t, at, "called without `.await` (its future is kept)");
                syn::visit::visit_expr_method_call(self, m);
            }
            Expr::Path(p) => {
                let t = self.path_target(p.qself.is_some(), &p.path);
                let at = self.src.expr(e).0;
                self.unawaited(t, at, "used as a value, not called");
            }
            _ => syn::visit::visit_expr(self, e),
        }
    }

    fn visit_use_rename(&mut self, r: &'ast syn::UseRename) {
        let name = r.ident.to_string();
        if r.rename != name {
            let at = self.src.span(r.ident.span()).0;
            for (kind, set) in [(Kind::Free, &self.ix.free), (Kind::Method, &self.ix.method)] {
                if set.contains(&name) {
                    let why = format!("it is imported under another name, `{}`", r.rename);
                    self.uses.push(Use {
                        file: self.file,
                        key: (kind, name.clone()),
                        offset: at,
                        kind: UseKind::Problem(why),
                    });
                }
            }
        }
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        self.on_macro(m);
    }
}

/// The identifiers of a path's segments (`a::b::C` -> `["a", "b", "C"]`).
fn path_idents(path: &syn::Path) -> Vec<String> {
    path.segments.iter().map(|s| s.ident.to_string()).collect()
}

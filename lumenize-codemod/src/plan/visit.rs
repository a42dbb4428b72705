//! The visitor: walks a parsed file keeping track of modules, block scopes and bindings, finds
//! the call sites the rules name, and hands them to the per-rule planners.
//!
//! Every rewrite is expressed as splices of the original text: the arguments, comments and
//! layout between them are never reprinted. The per-rule rewrites live in `sites`; receiver
//! typing in `receiver`, macro bodies in `macros`, imports in `imports`.

use syn::visit::{self, Visit};
use syn::Expr;

use super::receiver::collect_structs;
use super::state::{Ctx, Frame, Recv, Rewriter, Target};
use crate::resolve::{Binding, Scope};
use crate::syntax::{pat_idents, peel};
use crate::text::{Splice, Unit, UnitKind};

impl Rewriter<'_> {
    /// Records what a `let` binds: receiver classes, shadowing, and deferred target calls.
    fn bind_local(&mut self, local: &syn::Local) {
        let init = local.init.as_ref().map(|i| &*i.expr);
        let (pat, ty) = match &local.pat {
            syn::Pat::Type(pt) => (&*pt.pat, Some(&*pt.ty)),
            other => (other, None),
        };
        let mut names = Vec::new();
        pat_idents(pat, &mut names);
        let single = matches!(pat, syn::Pat::Ident(_)) && names.len() == 1;
        let n_rules = if self.classify() {
            self.rules().sync_methods.len()
        } else {
            0
        };
        let classes: Vec<Recv> = (0..n_rules)
            .map(|i| match (single, ty, init) {
                (true, Some(t), _) => self.type_class(t, i),
                (true, None, Some(e)) => self.receiver_class(e, i),
                _ => Recv::Unknown,
            })
            .collect();
        let deferred = match (single, init.map(peel)) {
            (true, Some(Expr::Call(c))) => match self.call_target(c) {
                Some(Target::SyncFn(i)) => Some(self.rules().sync_fns[i].rule.clone()),
                Some(Target::FnToMethod(i)) => Some(self.rules().fn_to_methods[i].rule.clone()),
                _ => None,
            }
            .map(|r| {
                (
                    r,
                    self.src().expr(&c.func).0,
                    format!("{}(..)", self.src().slice(self.src().expr(&c.func))),
                )
            }),
            (true, Some(Expr::MethodCall(mc))) => self
                .method_rule(mc)
                .filter(|&i| self.receiver_class(&mc.receiver, i) == Recv::Evident)
                .map(|i| {
                    let at = self.src().span(mc.method.span()).0;
                    (
                        self.rules().sync_methods[i].rule.clone(),
                        at,
                        format!(".{}(..)", mc.method),
                    )
                }),
            _ => None,
        };
        let Some(frame) = self.frame_mut() else {
            return;
        };
        for n in &names {
            frame.scope.names.insert(n.clone(), Binding::Local);
            frame.vars.insert(n.clone(), classes.clone());
            frame.deferred.remove(n);
        }
        if let (Some(d), Some(n)) = (deferred, names.first()) {
            frame.deferred.insert(n.clone(), d);
        }
    }

    /// Visits a function: parameters in a barrier frame, the body as the re-parse unit.
    fn visit_fn(&mut self, sig: &syn::Signature, block: &syn::Block) {
        // A removed item named in the signature (`o: PostprocessOptions`) is a use of it: its
        // import must stay (and be reported). Only when some import is watched (rarely).
        if self.watching() {
            syn::visit::visit_signature(self, sig);
        }
        let (s, _) = self.src().span(block.brace_token.span.open());
        let (_, e) = self.src().span(block.brace_token.span.close());
        // A body naming nothing the rewriter acts on holds nothing to do (see `inert`).
        if self.inert(s, e) {
            return;
        }
        let outer_classify = self.classify();
        let classify = !self.names_no_method(s, e);
        self.set_classify(classify);
        let n_rules = if self.classify() {
            self.rules().sync_methods.len()
        } else {
            0
        };
        let mut frame = Frame {
            barrier: true,
            ..Frame::default()
        };
        for input in &sig.inputs {
            if let syn::FnArg::Typed(pt) = input {
                let mut names = Vec::new();
                pat_idents(&pt.pat, &mut names);
                let classes: Vec<Recv> = (0..n_rules)
                    .map(|i| {
                        if names.len() == 1 {
                            self.type_class(&pt.ty, i)
                        } else {
                            Recv::Unknown
                        }
                    })
                    .collect();
                for n in names {
                    frame.scope.names.insert(n.clone(), Binding::Local);
                    frame.vars.insert(n, classes.clone());
                }
            }
        }
        let outer_unit = self.unit();
        if outer_unit.is_none() {
            self.set_unit(Some(Unit {
                kind: UnitKind::Block,
                start: s,
                end: e,
            }));
        }
        self.push_frame(frame);
        self.visit_block(block);
        self.pop_frame();
        self.set_unit(outer_unit);
        self.set_classify(outer_classify);
    }
}

impl<'ast> Visit<'ast> for Rewriter<'_> {
    fn visit_file(&mut self, f: &'ast syn::File) {
        collect_structs(self, &f.items, &self.module().clone());
        visit::visit_file(self, f);
    }

    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        let mut path = self.module().clone();
        path.push(m.ident.to_string());
        // Local variables and block items of an enclosing function do not reach into a module.
        let frames = self.enter_module(path);
        visit::visit_item_mod(self, m);
        self.leave_module(frames);
    }

    fn visit_item_use(&mut self, _: &'ast syn::ItemUse) {
        // Imports are handled by `imports`; their identifiers are not uses.
    }

    fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
        let self_ty = match &*i.self_ty {
            syn::Type::Path(tp) if tp.qself.is_none() => tp
                .path
                .segments
                .last()
                .map(|s| (self.module().clone(), s.ident.to_string())),
            _ => None,
        };
        self.push_impl(self_ty);
        visit::visit_item_impl(self, i);
        self.pop_impl();
    }

    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        for a in &f.attrs {
            self.visit_attribute(a);
        }
        self.push_impl(None);
        self.visit_fn(&f.sig, &f.block);
        self.pop_impl();
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        for a in &f.attrs {
            self.visit_attribute(a);
        }
        self.visit_fn(&f.sig, &f.block);
    }

    fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
        for a in &f.attrs {
            self.visit_attribute(a);
        }
        if let Some(b) = &f.default {
            self.visit_fn(&f.sig, b);
        }
    }

    fn visit_block(&mut self, b: &'ast syn::Block) {
        let mut frame = Frame::default();
        for stmt in &b.stmts {
            if let syn::Stmt::Item(item) = stmt {
                frame.scope.add_item(item);
                if let syn::Item::Use(u) = item {
                    // A block-level rename can lead to a target too.
                    let mut s = Scope::default();
                    s.add_item(&syn::Item::Use(u.clone()));
                    for (name, bnd) in s.names {
                        if let Binding::Use(p) = bnd {
                            if p.last() != Some(&name) {
                                self.add_call_name(name);
                            }
                        }
                    }
                }
            }
        }
        self.push_frame(frame);
        self.visit_stmts(b);
        self.pop_frame();
    }

    fn visit_stmt(&mut self, s: &'ast syn::Stmt) {
        let before = self.splice_count();
        self.visit_stmt_inner(s);
        // The safety net re-parses the innermost statement holding a splice, not the whole
        // function: only statements that got splices pay for computing their range.
        if self.splice_count() > before {
            let fresh = |sp: &Splice| sp.unit.kind != UnitKind::Stmt;
            if self.splices_since(before).iter().any(fresh) {
                let (start, end) = self.src().stmt(s);
                let unit = Unit {
                    kind: UnitKind::Stmt,
                    start,
                    end,
                };
                self.narrow_units(before, unit, fresh);
            }
        }
    }
    fn visit_local(&mut self, l: &'ast syn::Local) {
        visit::visit_local(self, l);
        self.bind_local(l);
    }

    fn visit_expr(&mut self, e: &'ast Expr) {
        match e {
            Expr::Await(aw) => self.on_await(aw, Ctx::Value),
            Expr::Try(t) => {
                if let Expr::Await(aw) = peel(&t.expr) {
                    let end = self.src().span(t.question_token.span).1;
                    self.on_await(aw, Ctx::Try(end));
                }
            }
            Expr::MethodCall(mc) if mc.method == "unwrap" || mc.method == "expect" => {
                if let Expr::Await(aw) = peel(&mc.receiver) {
                    let end = self.src().span(mc.paren_token.span.close()).1;
                    self.on_await(aw, Ctx::Unwrapped(end));
                }
            }
            Expr::Call(c) => self.on_unawaited_call(c),
            Expr::Closure(cl) => {
                let mut frame = Frame::default();
                for p in &cl.inputs {
                    let (pat, ty) = match p {
                        syn::Pat::Type(pt) => (&*pt.pat, Some(&*pt.ty)),
                        other => (other, None),
                    };
                    let mut names = Vec::new();
                    pat_idents(pat, &mut names);
                    let n_rules = if self.classify() {
                        self.rules().sync_methods.len()
                    } else {
                        0
                    };
                    let classes: Vec<Recv> = (0..n_rules)
                        .map(|i| match ty {
                            Some(t) if names.len() == 1 => self.type_class(t, i),
                            _ => Recv::Unknown,
                        })
                        .collect();
                    for n in names {
                        frame.scope.names.insert(n.clone(), Binding::Local);
                        frame.vars.insert(n, classes.clone());
                    }
                }
                self.push_frame(frame);
                visit::visit_expr(self, e);
                self.pop_frame();
                return;
            }
            _ => {}
        }
        visit::visit_expr(self, e);
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        self.macro_body(m);
    }

    fn visit_attribute(&mut self, a: &'ast syn::Attribute) {
        self.doc_attribute(a);
    }

    fn visit_ident(&mut self, i: &'ast proc_macro2::Ident) {
        self.record_ident(i);
    }
}

impl Rewriter<'_> {
    /// A block's statements. A statement whose text (through the start of the next one, or
    /// the closing brace) names nothing the rewriter acts on (see `inert`) is not visited: of
    /// it only what a `let` binds matters to later statements. Debug builds (every test)
    /// visit it anyway and insist the visit planned nothing.
    fn visit_stmts(&mut self, b: &syn::Block) {
        let close = self.src().span(b.brace_token.span.close()).0;
        let starts: Vec<Option<usize>> = b.stmts.iter().map(|s| self.src().stmt_start(s)).collect();
        for (k, stmt) in b.stmts.iter().enumerate() {
            let end = starts[k + 1..].iter().find_map(|&s| s).unwrap_or(close);
            let inert = starts[k].is_some_and(|start| self.inert(start, end));
            if !inert {
                self.visit_stmt(stmt);
            } else if cfg!(debug_assertions) {
                let before = self.progress();
                self.visit_stmt(stmt);
                assert_eq!(
                    before,
                    self.progress(),
                    "an inert statement planned something"
                );
            } else if let syn::Stmt::Local(l) = stmt {
                self.bind_local(l);
            }
        }
    }

    fn visit_stmt_inner(&mut self, s: &syn::Stmt) {
        match s {
            syn::Stmt::Expr(e, Some(_)) => self.statement_await(e),
            syn::Stmt::Local(l) if matches!(l.pat, syn::Pat::Wild(_)) => {
                if let Some(init) = &l.init {
                    self.statement_await(&init.expr);
                }
            }
            _ => {}
        }
        visit::visit_stmt(self, s);
    }

    /// `x.await;`, `x.await?;`, `x.await.unwrap();`, `let _ = x.await;`: the value is dropped.
    fn statement_await(&mut self, e: &Expr) {
        let inner = match peel(e) {
            Expr::Try(t) => peel(&t.expr),
            Expr::MethodCall(mc) if mc.method == "unwrap" || mc.method == "expect" => {
                peel(&mc.receiver)
            }
            other => other,
        };
        if let Expr::Await(aw) = inner {
            self.on_await(aw, Ctx::Statement);
        }
    }
}

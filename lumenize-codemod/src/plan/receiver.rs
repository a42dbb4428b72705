//! Is a method's receiver evidently the rule's receiver type (e.g. lumenize's `Alarms`)?
//!
//! Only syntax the reader can check counts as evidence: a call of a receiver accessor
//! (`….alarms()`), a binding or parameter whose declared type resolves to the type (through
//! `&`, `&mut`, `Arc`, `Rc`, `Box`), a `let` initialised from such an expression, or a field
//! of `self` declared with the type. A type that resolves elsewhere is evidence of the
//! opposite (a tokio or cron scheduler); anything else is "unknown".

use syn::Expr;

use super::state::{Recv, Rewriter};
use crate::resolve::{ModPath, Res};
use crate::syntax::peel;

/// Smart pointers and wrappers that forward method calls to their content.
const WRAPPERS: &[&str] = &["Arc", "Rc", "Box"];

/// Methods that hand back (a view of) their receiver.
const PASS_THROUGH: &[&str] = &["clone", "as_ref", "as_mut", "borrow", "borrow_mut", "deref"];

/// Records the named fields of every struct in `items` (and inline modules).
pub(crate) fn collect_structs(rw: &mut Rewriter<'_>, items: &[syn::Item], m: &ModPath) {
    for item in items {
        match item {
            syn::Item::Struct(s) => {
                let fields = s
                    .fields
                    .iter()
                    .filter_map(|f| Some((f.ident.as_ref()?.to_string(), f.ty.clone())))
                    .collect();
                rw.add_struct((m.clone(), s.ident.to_string()), fields);
            }
            syn::Item::Mod(md) => {
                if let Some((_, inner)) = &md.content {
                    let mut child = m.clone();
                    child.push(md.ident.to_string());
                    collect_structs(rw, inner, &child);
                }
            }
            _ => {}
        }
    }
}

impl Rewriter<'_> {
    /// A short name of rule `i`'s receiver type, for messages.
    pub(crate) fn receiver_hint(&self, i: usize) -> String {
        let r = &self.rules().sync_methods[i];
        r.receiver_types
            .first()
            .map(|t| t.last().to_string())
            .or_else(|| r.receiver_methods.first().map(|m| format!("….{m}()")))
            .unwrap_or_default()
    }

    /// Classifies a receiver expression for method rule `i`.
    pub(crate) fn receiver_class(&self, e: &Expr, i: usize) -> Recv {
        debug_assert!(
            self.classify(),
            "a receiver classified where no method is named"
        );
        let rule = &self.rules().sync_methods[i];
        match peel(e) {
            Expr::Reference(r) => self.receiver_class(&r.expr, i),
            Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => {
                self.receiver_class(&u.expr, i)
            }
            Expr::MethodCall(mc) => {
                if rule.receiver_methods.iter().any(|m| mc.method == m) {
                    Recv::Evident
                } else if PASS_THROUGH.iter().any(|m| mc.method == m) {
                    self.receiver_class(&mc.receiver, i)
                } else {
                    Recv::Unknown
                }
            }
            Expr::Path(p) if p.qself.is_none() && p.path.segments.len() == 1 => {
                let name = &p.path.segments[0].ident;
                if name == "self" {
                    // A method on the impl's own type: evident only if that type is the target.
                    return match self.current_impl() {
                        Some(Some((_, ty))) => self.path_class(std::slice::from_ref(ty), i),
                        _ => Recv::Unknown,
                    };
                }
                self.var_class(&name.to_string(), i)
            }
            Expr::Field(f) => {
                let syn::Member::Named(field) = &f.member else {
                    return Recv::Unknown;
                };
                let is_self = matches!(peel(&f.base), Expr::Path(p) if p.path.is_ident("self"));
                if !is_self {
                    return Recv::Unknown;
                }
                let Some(Some((m, ty))) = self.current_impl() else {
                    return Recv::Unknown;
                };
                let Some(fields) = self.struct_fields(&(m.clone(), ty.clone())) else {
                    return Recv::Unknown;
                };
                match fields.iter().find(|(n, _)| field == n) {
                    Some((_, t)) => self.type_class(t, i),
                    None => Recv::Unknown,
                }
            }
            Expr::Call(c) => match peel(&c.func) {
                // `Alarms::new(..)` and the like: the type is the path minus its last segment.
                Expr::Path(p) if p.qself.is_none() && p.path.segments.len() >= 2 => {
                    let mut segs: Vec<String> = p
                        .path
                        .segments
                        .iter()
                        .map(|s| s.ident.to_string())
                        .collect();
                    segs.pop();
                    match self.path_class(&segs, i) {
                        Recv::Evident => Recv::Evident,
                        _ => Recv::Unknown,
                    }
                }
                _ => Recv::Unknown,
            },
            _ => Recv::Unknown,
        }
    }

    fn var_class(&self, name: &str, i: usize) -> Recv {
        for f in self.frames().iter().rev() {
            if let Some(c) = f.vars.get(name) {
                return c.get(i).copied().unwrap_or(Recv::Unknown);
            }
            if f.barrier {
                break;
            }
        }
        Recv::Unknown
    }

    /// Classifies a declared type for method rule `i`.
    pub(crate) fn type_class(&self, t: &syn::Type, i: usize) -> Recv {
        match t {
            syn::Type::Reference(r) => self.type_class(&r.elem, i),
            syn::Type::Paren(p) => self.type_class(&p.elem, i),
            syn::Type::Group(g) => self.type_class(&g.elem, i),
            syn::Type::Path(tp) if tp.qself.is_none() => {
                let last = match tp.path.segments.last() {
                    Some(l) => l,
                    None => return Recv::Unknown,
                };
                if WRAPPERS.iter().any(|w| last.ident == w) {
                    if let syn::PathArguments::AngleBracketed(a) = &last.arguments {
                        if let Some(syn::GenericArgument::Type(inner)) = a.args.first() {
                            return self.type_class(inner, i);
                        }
                    }
                }
                let mut segs = Vec::new();
                if tp.path.leading_colon.is_some() {
                    segs.push("::".to_string());
                }
                segs.extend(tp.path.segments.iter().map(|s| s.ident.to_string()));
                self.path_class(&segs, i)
            }
            _ => Recv::Other,
        }
    }

    fn path_class(&self, segs: &[String], i: usize) -> Recv {
        let rule = &self.rules().sync_methods[i];
        match self.resolve(segs) {
            Res::Extern(p) if rule.receiver_types.iter().any(|t| t.matches(&p)) => Recv::Evident,
            Res::Extern(_) | Res::Local => Recv::Other,
            Res::Unknown => Recv::Unknown,
        }
    }
}

//! The planner's state: where the visitor is (module, block scopes, impl, re-parse unit),
//! what it knows about the file (struct fields, call names), and what it has planned so far
//! (splices, notes). The visitor (`visit`) and the per-site planners (`sites`, `receiver`,
//! `macros`, `imports`, `inert`) read and extend it.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use syn::{Expr, ExprCall, ExprMethodCall};

use super::inert::Needles;
use crate::resolve::{ModPath, Res, Resolver, Scope};
use crate::results::Severity;
use crate::rules::RuleSet;
use crate::syntax::{peel, Src};
use crate::text::{LineIndex, Note, Splice, Unit, UnitKind};

/// What a receiver expression is, for one method rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Recv {
    /// Evidently the rule's receiver type: rewrite.
    Evident,
    /// Evidently something else: leave alone, say nothing.
    Other,
    /// Cannot tell: report.
    Unknown,
}

/// A block scope (or a function's parameter scope, which is a barrier for local variables).
#[derive(Default)]
pub(crate) struct Frame {
    pub scope: Scope,
    /// Local variables: their receiver class per method rule.
    pub vars: HashMap<String, Vec<Recv>>,
    /// Variables holding a not-yet-awaited target call: name -> (rule, offset of the call).
    pub deferred: HashMap<String, (String, usize, String)>,
    /// Variables of outer functions are not visible past this frame (items still are).
    pub barrier: bool,
}

/// Where an awaited target call sits, which decides the shape of its rewrite.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Ctx {
    /// Its value is discarded (`x.await;`, `x.await?;`, `let _ = x.await;`).
    Statement,
    /// `x.await?` used as a value: adapters go after `?` (ending at this offset).
    Try(usize),
    /// `x.await.unwrap()` / `.expect(..)`: adapters go after the call (ending at this offset).
    Unwrapped(usize),
    /// Any other use of the value.
    Value,
}

/// What a free-function call resolves to.
pub(crate) enum Target {
    SyncFn(usize),
    FnToMethod(usize),
    /// Named like a target, but where it comes from could not be told.
    Unsure(String),
}

pub(crate) struct Rewriter<'a> {
    pub src: Src<'a>,
    pub rules: &'a RuleSet,
    pub resolver: &'a Resolver<'a>,
    pub modules: Vec<ModPath>,
    pub frames: Vec<Frame>,
    /// For `self` / `self.field`: the impl's self type (module it is in, type name).
    pub impls: Vec<Option<(ModPath, String)>>,
    /// Struct fields of this file: (module, struct) -> [(field, type)].
    pub structs: HashMap<(ModPath, String), Vec<(String, syn::Type)>>,
    /// Awaits already handled by an enclosing expression or statement (by `await` offset).
    pub handled: HashSet<usize>,
    /// Calls already handled by their `.await` (by [`Rewriter::call_key`]).
    pub handled_calls: HashSet<usize>,
    /// The re-parse unit of the code being visited (the outermost function body).
    pub unit: Option<Unit>,
    /// The file names the target crate (or a re-export of it): uncertain sites get reported.
    pub evidence: bool,
    /// Names of imports that may be dead, and where each occurs outside imports.
    pub watched: Vec<String>,
    pub ident_hits: Vec<(usize, usize)>,
    /// Modules where a rule needs its import (module, rule index).
    pub needs_import: Vec<(ModPath, usize)>,
    /// Last segments of target paths and local renames that may lead to a target.
    pub call_names: HashSet<String>,
    /// Where the names the rewriter acts on occur (see `inert`).
    pub needles: Needles,
    /// Bindings get receiver classes. Off inside a function whose text names no method a rule
    /// knows: no receiver there is ever classified, and classifying every parameter and `let`
    /// type was a measurable share of the visit.
    pub classify: bool,
    pub splices: Vec<Splice>,
    pub notes: Vec<Note>,
}

fn path_segments(path: &syn::Path) -> Vec<String> {
    let mut segs = Vec::with_capacity(path.segments.len() + 1);
    if path.leading_colon.is_some() {
        segs.push("::".to_string());
    }
    segs.extend(path.segments.iter().map(|s| s.ident.to_string()));
    segs
}

impl<'a> Rewriter<'a> {
    pub(crate) fn new(
        src: Src<'a>,
        rules: &'a RuleSet,
        resolver: &'a Resolver<'a>,
        module: ModPath,
        evidence: bool,
    ) -> Self {
        let mut call_names: HashSet<String> = rules
            .sync_fns
            .iter()
            .flat_map(|r| &r.paths)
            .chain(rules.fn_to_methods.iter().flat_map(|r| &r.paths))
            .map(|p| p.last().to_string())
            .collect();
        // Renames (`use …::parse as decode`) and re-export names can lead to a target too.
        for scope in resolver.file.values() {
            for (name, b) in &scope.names {
                if let crate::resolve::Binding::Use(p) = b {
                    if p.last() != Some(name) {
                        call_names.insert(name.clone());
                    }
                }
            }
        }
        call_names.extend(resolver.ctx.export_names.iter().cloned());
        Rewriter {
            src,
            rules,
            resolver,
            modules: vec![module],
            frames: Vec::new(),
            impls: Vec::new(),
            structs: HashMap::default(),
            handled: HashSet::default(),
            handled_calls: HashSet::default(),
            unit: None,
            evidence,
            watched: Vec::new(),
            ident_hits: Vec::new(),
            needs_import: Vec::new(),
            call_names,
            needles: Default::default(),
            classify: true,
            splices: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub(crate) fn module(&self) -> &ModPath {
        self.modules.last().expect("module stack is never empty")
    }

    pub(crate) fn resolve(&self, segs: &[String]) -> Res {
        let blocks = self.frames.iter().map(|f| &f.scope);
        self.resolver.resolve_in(self.module(), blocks, segs)
    }

    pub(crate) fn note(&mut self, offset: usize, rule: &str, severity: Severity, message: String) {
        self.notes.push(Note {
            offset,
            rule: rule.to_string(),
            message,
            severity,
        });
    }

    pub(crate) fn splice(&mut self, rule: &str, (start, end): (usize, usize), replacement: &str) {
        let unit = self.unit.unwrap_or(Unit {
            kind: UnitKind::Whole,
            start: self.src.base,
            end: self.src.text.len(),
        });
        self.splices.push(Splice {
            rule: rule.to_string(),
            start,
            end,
            replacement: replacement.to_string(),
            unit,
        });
    }

    /// A call's key in `handled_calls`: the offset of its `(`, one span lookup (the start of
    /// the callee would need syn to rebuild the callee's tokens).
    pub(crate) fn call_key(&self, call: &syn::ExprCall) -> usize {
        self.src.span(call.paren_token.span.open()).0
    }

    /// 1-based line of `offset` (rare: only notes that point at another line need it).
    pub(crate) fn line_of(&self, offset: usize) -> usize {
        LineIndex::new(self.src.text).line(offset)
    }

    /// What a call's function path refers to, if it is (or may be) a target.
    pub(crate) fn call_target(&self, call: &ExprCall) -> Option<Target> {
        let Expr::Path(p) = peel(&call.func) else {
            return None;
        };
        if p.qself.is_some() {
            return None;
        }
        let last = &p.path.segments.last()?.ident;
        if !self.call_names.iter().any(|n| last == n) {
            return None;
        }
        self.segs_target(&path_segments(&p.path))
    }

    /// What a path (as written, last segment = the function) resolves to, if a target.
    pub(crate) fn segs_target(&self, segs: &[String]) -> Option<Target> {
        let last = segs.last()?;
        match self.resolve(segs) {
            Res::Extern(path) => {
                let r = self.rules;
                if let Some(i) = r
                    .sync_fns
                    .iter()
                    .position(|f| f.paths.iter().any(|x| x.matches(&path)))
                {
                    return Some(Target::SyncFn(i));
                }
                r.fn_to_methods
                    .iter()
                    .position(|f| f.paths.iter().any(|x| x.matches(&path)))
                    .map(Target::FnToMethod)
            }
            Res::Local => None,
            Res::Unknown => Some(Target::Unsure(last.clone())),
        }
    }

    /// Index of the method rule for this method name, if any.
    pub(crate) fn method_rule(&self, mc: &ExprMethodCall) -> Option<usize> {
        self.rules
            .sync_methods
            .iter()
            .position(|m| m.methods.iter().any(|n| mc.method == n))
    }

    /// True when `text[start..end]` contains no needle (see `inert`): nothing in it can lead
    /// to a splice or a note, so the visitor may skip it.
    pub(crate) fn inert(&mut self, start: usize, end: usize) -> bool {
        if start >= end || end > self.src.text.len() {
            return false;
        }
        self.needles().inert(start, end)
    }

    /// True when `text[start..end]` names no method a rule knows: no receiver in it needs
    /// classifying (see `Rewriter::classify`).
    pub(crate) fn names_no_method(&mut self, start: usize, end: usize) -> bool {
        self.needles().names_no_method(start, end)
    }

    /// The needle hits, recomputed first when the call names have grown since.
    fn needles(&mut self) -> &Needles {
        if !self.needles.is_current(self.call_names.len()) {
            self.needles =
                Needles::find(self.src.text, self.rules, &self.call_names, &self.watched);
        }
        &self.needles
    }
}

#[cfg(test)]
mod tests {
    use rustc_hash::FxHashMap as HashMap;

    use super::*;
    use crate::resolve::CrateContext;
    use crate::text::SpanPositions;

    #[test]
    fn a_stretch_is_inert_only_without_any_needle() {
        let text = "fn a() { let v = x.len(); }\n\
                    fn b() { g().await; }\n\
                    fn c() { let o = PostprocessOptions::default(); }\n\
                    fn d() { use q as r; }\n\
                    fn e() { decode(s); }\n";
        let rules = RuleSet::builtin();
        let ctx = CrateContext::default();
        let modules = HashMap::default();
        let is_target = |_: &[String]| false;
        let resolver = Resolver::new(&ctx, &modules, &is_target);
        let pos = SpanPositions::new(text);
        let src = Src {
            text,
            base: 0,
            pos: &pos,
        };
        let mut rw = Rewriter::new(src, &rules, &resolver, vec!["crate:x".into()], true);
        rw.watched.push("PostprocessOptions".into());
        let line = |n: usize| {
            let start: usize = text.lines().take(n).map(|l| l.len() + 1).sum();
            (start, start + text.lines().nth(n).unwrap().len())
        };
        let inert = |rw: &mut Rewriter<'_>, n: usize| {
            let (s, e) = line(n);
            rw.inert(s, e)
        };
        assert!(inert(&mut rw, 0), "no needle");
        assert!(!inert(&mut rw, 1), "`await`");
        assert!(!inert(&mut rw, 2), "a watched import name");
        assert!(!inert(&mut rw, 3), "`use`");
        assert!(inert(&mut rw, 4), "`decode` is no call name yet");
        // A rename found later (`use …::parse as decode` in a block) makes it one: the needles
        // are recomputed when the call names grow.
        rw.call_names.insert("decode".into());
        assert!(!inert(&mut rw, 4));
        assert!(!rw.inert(5, 5), "an empty stretch is never skipped");
    }
}

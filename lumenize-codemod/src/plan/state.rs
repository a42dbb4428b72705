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
    /// Named like a target and reached through a dependency the run did not read that
    /// depends on a target package: it may re-export the target.
    Maybe(Maybe),
}

/// A call through an unread dependency (see [`Target::Maybe`]).
pub(crate) struct Maybe {
    /// The dependency's name in code.
    pub dep: String,
    /// The function's name (the call's last segment).
    pub name: String,
}

/// The planner: the visitor's position in the file, what it knows about the file, and the
/// splices and notes it has planned. Its fields are private; the planners in this layer read
/// and extend it through the methods below, which keep these invariants:
///
/// - `splices` and `notes` only grow while the file is visited (`imports` adds its own after
///   the visit); each splice carries the innermost re-parse unit known when it was planned
///   (narrowed to its statement by [`Rewriter::narrow_units`]).
/// - An `.await` is rewritten or reported once: its offset goes into `handled` when an
///   enclosing expression or statement takes care of it ([`Rewriter::claim_await`]).
/// - A call is rewritten or reported once: the offset of its `(` goes into `handled_calls`
///   when its `.await` handled it, so the visit of the call itself stays silent.
/// - `watched` holds the names bound by imports that may be dead (set before the visit);
///   `ident_hits` records `(index into watched, offset)` for every identifier outside imports
///   with such a name. An import is dropped only when every hit of its name lies inside a
///   splice (the use was rewritten away), see [`Rewriter::watched_name_used`].
/// - `call_names` holds every name a call of a target may be written with: last segments of
///   the rules' paths, renames and re-exports of them. It only grows (a block-level rename adds
///   one); the needles of `inert` are recomputed when it does. A call whose last segment is not
///   in it is never a target.
/// - The module, frame and impl stacks are pushed and popped in pairs by the visitor; the
///   module stack is never empty.
pub(crate) struct Rewriter<'a> {
    src: Src<'a>,
    rules: &'a RuleSet,
    resolver: &'a Resolver<'a>,
    /// The file names the target crate (or a re-export of it): uncertain sites get reported.
    evidence: bool,
    /// Where the visitor is.
    at: Position,
    /// What is known about the file's names.
    names: Names,
    /// What has been planned, and what is already taken care of.
    plan: Plan,
}

/// Where the visitor is in the file.
struct Position {
    /// The module stack: the file's module first, then inline modules being visited.
    modules: Vec<ModPath>,
    /// Block scopes of the function being visited, outermost first.
    frames: Vec<Frame>,
    /// For `self` / `self.field`: the impl's self type (module it is in, type name).
    impls: Vec<Option<(ModPath, String)>>,
    /// The re-parse unit of the code being visited (the outermost function body).
    unit: Option<Unit>,
    /// Bindings get receiver classes. Off inside a function whose text names no method a rule
    /// knows: no receiver there is ever classified, and classifying every parameter and `let`
    /// type was a measurable share of the visit.
    classify: bool,
}

/// What the planner knows about the file's names.
struct Names {
    /// Struct fields of this file: (module, struct) -> [(field, type)].
    structs: HashMap<(ModPath, String), Vec<(String, syn::Type)>>,
    /// Last segments of target paths and local renames that may lead to a target.
    call_names: HashSet<String>,
    /// Where the names the rewriter acts on occur (see `inert`).
    needles: Needles,
    /// Names of imports that may be dead.
    watched: Vec<String>,
    /// Where each watched name occurs outside imports: (index into `watched`, offset).
    ident_hits: Vec<(usize, usize)>,
}

/// What has been planned so far.
struct Plan {
    splices: Vec<Splice>,
    notes: Vec<Note>,
    /// Awaits already handled by an enclosing expression or statement (by `await` offset).
    handled: HashSet<usize>,
    /// Calls already handled by their `.await` (by [`Rewriter::call_key`]).
    handled_calls: HashSet<usize>,
    /// Modules where a rule needs its import (module, rule index).
    needs_import: Vec<(ModPath, usize)>,
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
            evidence,
            at: Position {
                modules: vec![module],
                frames: Vec::new(),
                impls: Vec::new(),
                unit: None,
                classify: true,
            },
            names: Names {
                structs: HashMap::default(),
                call_names,
                needles: Needles::default(),
                watched: Vec::new(),
                ident_hits: Vec::new(),
            },
            plan: Plan {
                splices: Vec::new(),
                notes: Vec::new(),
                handled: HashSet::default(),
                handled_calls: HashSet::default(),
                needs_import: Vec::new(),
            },
        }
    }

    /// The file's text and span positions.
    pub(crate) fn src(&self) -> Src<'a> {
        self.src
    }

    pub(crate) fn rules(&self) -> &'a RuleSet {
        self.rules
    }

    pub(crate) fn resolver(&self) -> &'a Resolver<'a> {
        self.resolver
    }

    /// True when the file names the target crate (or a re-export of it).
    pub(crate) fn evidence(&self) -> bool {
        self.evidence
    }

    /// Ends planning: the splices and notes.
    pub(crate) fn into_plan(self) -> (Vec<Splice>, Vec<Note>) {
        (self.plan.splices, self.plan.notes)
    }

    /// The file's own module (the bottom of the module stack).
    pub(crate) fn root_module(&self) -> &ModPath {
        &self.at.modules[0]
    }

    /// Enters an inline module: block scopes of an enclosing function do not reach into it, so
    /// they are set aside until [`Rewriter::leave_module`] gives them back.
    pub(crate) fn enter_module(&mut self, path: ModPath) -> Vec<Frame> {
        self.at.modules.push(path);
        std::mem::take(&mut self.at.frames)
    }

    pub(crate) fn leave_module(&mut self, frames: Vec<Frame>) {
        self.at.frames = frames;
        self.at.modules.pop();
    }

    /// Block scopes of the function being visited, outermost first.
    pub(crate) fn frames(&self) -> &[Frame] {
        &self.at.frames
    }

    pub(crate) fn frame_mut(&mut self) -> Option<&mut Frame> {
        self.at.frames.last_mut()
    }

    pub(crate) fn push_frame(&mut self, frame: Frame) {
        self.at.frames.push(frame);
    }

    pub(crate) fn pop_frame(&mut self) {
        self.at.frames.pop();
    }

    /// The self type of the impl being visited (`None` inside a trait or a free function).
    pub(crate) fn current_impl(&self) -> Option<&Option<(ModPath, String)>> {
        self.at.impls.last()
    }

    pub(crate) fn push_impl(&mut self, self_ty: Option<(ModPath, String)>) {
        self.at.impls.push(self_ty);
    }

    pub(crate) fn pop_impl(&mut self) {
        self.at.impls.pop();
    }

    pub(crate) fn add_struct(&mut self, key: (ModPath, String), fields: Vec<(String, syn::Type)>) {
        self.names.structs.insert(key, fields);
    }

    pub(crate) fn struct_fields(&self, key: &(ModPath, String)) -> Option<&[(String, syn::Type)]> {
        self.names.structs.get(key).map(Vec::as_slice)
    }

    /// The re-parse unit of the code being visited.
    pub(crate) fn unit(&self) -> Option<Unit> {
        self.at.unit
    }

    pub(crate) fn set_unit(&mut self, unit: Option<Unit>) {
        self.at.unit = unit;
    }

    /// Whether bindings get receiver classes here (see the field).
    pub(crate) fn classify(&self) -> bool {
        self.at.classify
    }

    pub(crate) fn set_classify(&mut self, on: bool) {
        self.at.classify = on;
    }

    /// Takes the `.await` at `offset` in hand: `false` when something already did.
    pub(crate) fn claim_await(&mut self, offset: usize) -> bool {
        self.plan.handled.insert(offset)
    }

    /// Marks a call as handled by its `.await`.
    pub(crate) fn mark_call_handled(&mut self, call: &syn::ExprCall) {
        let key = self.call_key(call);
        self.plan.handled_calls.insert(key);
    }

    pub(crate) fn call_handled(&self, call: &syn::ExprCall) -> bool {
        self.plan.handled_calls.contains(&self.call_key(call))
    }

    /// True when a call of a target may be written with this last segment.
    pub(crate) fn is_call_name(&self, name: &proc_macro2::Ident) -> bool {
        self.names.call_names.iter().any(|n| name == n)
    }

    /// Adds a name a target may be called by (a rename found in a block).
    pub(crate) fn add_call_name(&mut self, name: String) {
        self.names.call_names.insert(name);
    }

    /// Watches the name a possibly-dead import binds (before the visit).
    pub(crate) fn watch(&mut self, name: &str) {
        if name != "_" && !self.names.watched.iter().any(|w| w == name) {
            self.names.watched.push(name.to_string());
        }
    }

    /// Some import's name is watched (a removed item's; usually none is).
    pub(crate) fn watching(&self) -> bool {
        !self.names.watched.is_empty()
    }

    /// Records an identifier outside imports, if it has a watched name.
    pub(crate) fn record_ident(&mut self, ident: &proc_macro2::Ident) {
        // Only names that a possibly-dead import binds matter (usually none): no allocation.
        if let Some(k) = self.names.watched.iter().position(|w| ident == w) {
            let at = self.src.span(ident.span()).0;
            self.names.ident_hits.push((k, at));
        }
    }

    /// True when the watched `name` occurs outside imports somewhere no splice removes.
    pub(crate) fn watched_name_used(&self, name: &str) -> bool {
        self.names
            .watched
            .iter()
            .position(|w| w == name)
            .is_some_and(|k| {
                self.names.ident_hits.iter().any(|&(wk, at)| {
                    wk == k
                        && !self
                            .plan
                            .splices
                            .iter()
                            .any(|s| s.start <= at && at < s.end)
                })
            })
    }

    /// Records that module `m` needs the import of rule `rule`.
    pub(crate) fn need_import(&mut self, m: ModPath, rule: usize) {
        self.plan.needs_import.push((m, rule));
    }

    pub(crate) fn take_needed_imports(&mut self) -> Vec<(ModPath, usize)> {
        std::mem::take(&mut self.plan.needs_import)
    }

    /// Adds a splice with its own re-parse unit.
    pub(crate) fn push_splice(&mut self, splice: Splice) {
        self.plan.splices.push(splice);
    }

    /// How many splices are planned so far.
    pub(crate) fn splice_count(&self) -> usize {
        self.plan.splices.len()
    }

    /// The splices planned since there were `before`.
    pub(crate) fn splices_since(&self, before: usize) -> &[Splice] {
        &self.plan.splices[before..]
    }

    /// Gives the splices planned since there were `before` that lie inside `unit` and satisfy
    /// `narrower` (their unit is coarser than `unit`) that unit.
    pub(crate) fn narrow_units(
        &mut self,
        before: usize,
        unit: Unit,
        narrower: impl Fn(&Splice) -> bool,
    ) {
        for sp in &mut self.plan.splices[before..] {
            if narrower(sp) && sp.start >= unit.start && sp.end <= unit.end {
                sp.unit = unit;
            }
        }
    }

    /// How much has been planned or recorded so far (for the debug check in `visit_stmts`).
    pub(crate) fn progress(&self) -> [usize; 6] {
        [
            self.plan.splices.len(),
            self.plan.notes.len(),
            self.names.ident_hits.len(),
            self.plan.needs_import.len(),
            self.names.call_names.len(),
            self.plan.handled.len(),
        ]
    }

    pub(crate) fn module(&self) -> &ModPath {
        self.at.modules.last().expect("module stack is never empty")
    }

    pub(crate) fn resolve(&self, segs: &[String]) -> Res {
        let blocks = self.at.frames.iter().map(|f| &f.scope);
        self.resolver.resolve_in(self.module(), blocks, segs)
    }

    pub(crate) fn note(&mut self, offset: usize, rule: &str, severity: Severity, message: String) {
        self.plan.notes.push(Note {
            offset,
            rule: rule.to_string(),
            message,
            severity,
        });
    }

    pub(crate) fn splice(&mut self, rule: &str, (start, end): (usize, usize), replacement: &str) {
        let unit = self.at.unit.unwrap_or(Unit {
            kind: UnitKind::Whole,
            start: self.src.base,
            end: self.src.text.len(),
        });
        self.plan.splices.push(Splice {
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
        if !self.names.call_names.iter().any(|n| last == n) {
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
                if let Some(i) = r
                    .fn_to_methods
                    .iter()
                    .position(|f| f.paths.iter().any(|x| x.matches(&path)))
                {
                    return Some(Target::FnToMethod(i));
                }
                // Through a dependency the run did not read that may re-export the target.
                let unread = &self.resolver.ctx.unread;
                (path.len() > 1
                    && !unread.is_empty()
                    && unread.contains_key(&path[0])
                    && r.fn_path_named(last).is_some())
                .then(|| {
                    Target::Maybe(Maybe {
                        dep: path[0].clone(),
                        name: last.clone(),
                    })
                })
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
        if !self.names.needles.is_current(self.names.call_names.len()) {
            self.names.needles = Needles::find(
                self.src.text,
                self.rules,
                &self.names.call_names,
                &self.names.watched,
            );
        }
        &self.names.needles
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
        rw.names.watched.push("PostprocessOptions".into());
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
        rw.names.call_names.insert("decode".into());
        assert!(!inert(&mut rw, 4));
        assert!(!rw.inert(5, 5), "an empty stretch is never skipped");
    }
}

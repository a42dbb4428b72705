//! The byte prefilter: decides, without parsing, that a file certainly needs nothing.
//!
//! It must never say "no" for a file the engine would edit or report on, and should say "no" as
//! often as possible (most files of most crates never mention the target crate). The engine
//! edits a free-function call only when its path resolves to a target crate, which needs the
//! crate's name (or an alias or re-export name from the [`CrateContext`]) in the file; it
//! reports uncertain sites only in such files too. The one exception is a method call whose
//! receiver is evidently the target type (`ctx.alarms().schedule(..).await` with no import at
//! all), so `await` + a method name + a receiver hint also pass.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use memchr::memmem::Finder;

use crate::resolve::CrateContext;
use crate::rules::RuleSet;

/// Compiled needles for one rule set and context.
pub(crate) struct Prefilter {
    /// Any of these: the file mentions a target crate (or a name leading to one).
    crate_names: Vec<Finder<'static>>,
    /// Per method rule: all of `await`, one method name, one receiver hint.
    methods: Vec<(Vec<Finder<'static>>, Vec<Finder<'static>>)>,
    await_: Finder<'static>,
}

fn finders<'s>(names: impl IntoIterator<Item = &'s String>) -> Vec<Finder<'static>> {
    names
        .into_iter()
        .map(|n| Finder::new(n.as_bytes()).into_owned())
        .collect()
}

impl Prefilter {
    pub(crate) fn new(rules: &RuleSet, ctx: &CrateContext) -> Prefilter {
        let names = crate_names(rules, ctx);
        let methods = rules
            .sync_methods
            .iter()
            .map(|m| {
                let hints: BTreeSet<String> = m
                    .receiver_methods
                    .iter()
                    .cloned()
                    .chain(m.receiver_types.iter().map(|t| t.last().to_string()))
                    .collect();
                (finders(&m.methods), finders(&hints))
            })
            .collect();
        Prefilter {
            crate_names: finders(&names),
            methods,
            await_: Finder::new(b"await").into_owned(),
        }
    }

    pub(crate) fn may_need_migration(&self, source: &[u8]) -> bool {
        let has = |f: &Finder| f.find(source).is_some();
        if self.crate_names.iter().any(has) {
            return true;
        }
        !self.methods.is_empty()
            && has(&self.await_)
            && self
                .methods
                .iter()
                .any(|(names, hints)| names.iter().any(has) && hints.iter().any(has))
    }
}

fn crate_names(rules: &RuleSet, ctx: &CrateContext) -> BTreeSet<String> {
    let mut names = rules.roots();
    names.extend(ctx.aliases.keys().cloned());
    names.extend(ctx.export_names.iter().cloned());
    names
}

/// "Evidence" that a file deals with a target crate: it names it, an alias, or a re-export.
/// Uncertain sites are reported only in such files.
pub(crate) fn mentions_target_crate(source: &[u8], ctx: &CrateContext, rules: &RuleSet) -> bool {
    crate_names(rules, ctx)
        .iter()
        .any(|n| memchr::memmem::find(source, n.as_bytes()).is_some())
}

/// The prefilter of the built-in rules with no crate context (see [`crate::may_need_migration`]).
pub(crate) fn builtin() -> &'static Prefilter {
    static P: OnceLock<Prefilter> = OnceLock::new();
    P.get_or_init(|| Prefilter::new(&RuleSet::builtin(), &CrateContext::default()))
}

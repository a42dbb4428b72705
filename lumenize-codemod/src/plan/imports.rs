//! Imports: dropping the ones that name removed items (`remove-dead-imports`), keeping `use`
//! groups tidy, and adding the import a `fn-to-method` rewrite needs (the prelude trait).
//!
//! Runs after the rewriter, because whether an import is dead depends on the call sites the
//! rewriter removed.

use proc_macro2::Span;
use syn::visit::Visit;
use syn::{ItemUse, UseTree};

use super::state::Rewriter;
use crate::resolve::{ModPath, Res};
use crate::results::Severity;
use crate::rules::PathPattern;
use crate::syntax::Src;
use crate::text::{
    has_comment, indentation, is_blank, line_end_after_newline, line_ending, line_start,
};
use crate::text::{Splice, Unit, UnitKind};

/// A `use` leaf that imports a removed item.
pub(crate) struct Leaf<'f> {
    tree: &'f UseTree,
    item: &'f ItemUse,
    bound: String,
    rule: String,
}

/// The `use` items of a file, each with the index of its module in `modules` (one module path
/// per module met, not one per item).
struct Uses<'f> {
    modules: Vec<ModPath>,
    items: Vec<(&'f ItemUse, usize)>,
}

impl Uses<'_> {
    /// Adds the module `name` inside module `outer`; returns its index.
    fn child(&mut self, outer: usize, name: &syn::Ident) -> usize {
        let mut path = self.modules[outer].clone();
        path.push(name.to_string());
        self.modules.push(path);
        self.modules.len() - 1
    }
}

/// Every `use` item of the file with the module it is in (block-level ones included).
struct UseCollector<'u, 'f> {
    /// The index of the current module in `uses.modules`.
    index: usize,
    uses: &'u mut Uses<'f>,
}

impl<'f> Visit<'f> for UseCollector<'_, 'f> {
    fn visit_item_use(&mut self, u: &'f ItemUse) {
        self.uses.items.push((u, self.index));
    }
    fn visit_item_mod(&mut self, m: &'f syn::ItemMod) {
        let outer = self.index;
        self.index = self.uses.child(outer, &m.ident);
        syn::visit::visit_item_mod(self, m);
        self.index = outer;
    }
}

/// The `use` items of `items` (in module `index` of `uses.modules`) and of their inline
/// modules, in the order [`UseCollector`] meets them.
fn module_uses<'f>(items: &'f [syn::Item], index: usize, uses: &mut Uses<'f>) {
    for item in items {
        match item {
            syn::Item::Use(u) => uses.items.push((u, index)),
            syn::Item::Mod(m) => {
                if let Some((_, inner)) = &m.content {
                    let inner_index = uses.child(index, &m.ident);
                    module_uses(inner, inner_index, uses);
                }
            }
            _ => {}
        }
    }
}

/// How many times `use` occurs in `text` as a whole word (in code, comments or strings alike:
/// an upper bound on the number of `use` items).
fn use_keywords(text: &str) -> usize {
    let b = text.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || !c.is_ascii();
    memchr::memmem::find_iter(b, b"use")
        .filter(|&i| (i == 0 || !word(b[i - 1])) && b.get(i + 3).is_none_or(|&c| !word(c)))
        .count()
}

/// `pat.matches(p)`, rejecting most paths on their last segment first: a pattern that does
/// not end in `**` matches only paths ending in its own last segment (`*` included, which
/// `matches` compares literally too).
fn pattern_matches(pat: &PathPattern, p: &[String]) -> bool {
    let last = pat.last();
    (last == "**" || p.last().is_some_and(|l| l == last)) && pat.matches(p)
}

/// A path built segment by segment that keeps each segment's `String` when it is popped:
/// `use` items mostly share their first segments (`lumenize_core::…`), which are then
/// compared instead of printed again, and the others are printed into the old buffers.
#[derive(Default)]
struct Segs {
    buf: Vec<String>,
    len: usize,
}

impl Segs {
    fn push(&mut self, ident: &proc_macro2::Ident) {
        match self.buf.get_mut(self.len) {
            Some(s) if ident == s.as_str() => {}
            Some(s) => {
                use std::fmt::Write;
                s.clear();
                let _ = write!(s, "{ident}");
            }
            None => self.buf.push(ident.to_string()),
        }
        self.len += 1;
    }

    fn pop(&mut self) {
        self.len -= 1;
    }

    fn path(&self) -> &[String] {
        &self.buf[..self.len]
    }
}

/// The leaves of `tree` (below the segments in `path`, which it leaves as it found them) that
/// import a removed item.
fn find_removed<'f>(
    rw: &Rewriter<'_>,
    m: &[String],
    item: &'f ItemUse,
    tree: &'f UseTree,
    path: &mut Segs,
    out: &mut Vec<Leaf<'f>>,
) {
    // The path a leaf imports, as `add_use_tree` records it: `self` names the prefix itself.
    let (ident, rename) = match tree {
        UseTree::Path(p) => {
            path.push(&p.ident);
            find_removed(rw, m, item, &p.tree, path, out);
            path.pop();
            return;
        }
        UseTree::Group(g) => {
            for t in &g.items {
                find_removed(rw, m, item, t, path, out);
            }
            return;
        }
        UseTree::Glob(_) => return,
        UseTree::Name(n) => (&n.ident, None),
        UseTree::Rename(r) => (&r.ident, Some(&r.rename)),
    };
    let is_self = ident == "self";
    if !is_self {
        path.push(ident);
    }
    if let Res::Extern(p) = rw.resolver().resolve(m, &[], path.path()) {
        if let Some(r) = rw
            .rules()
            .removed
            .iter()
            .find(|r| r.paths.iter().any(|x| pattern_matches(x, &p)))
        {
            let bound = match rename {
                Some(alias) => alias.to_string(),
                // `self` binds the prefix's last segment (nothing when there is none).
                None => path.path().last().cloned().unwrap_or_default(),
            };
            out.push(Leaf {
                tree,
                item,
                bound,
                rule: r.rule.clone(),
            });
        }
    }
    if !is_self {
        path.pop();
    }
}

/// Leaves importing removed items. Cheap when the file never names one (the usual case);
/// otherwise it walks the whole syntax tree (for block-level imports), so it runs once per file.
pub(crate) fn removed_leaves<'f>(rw: &Rewriter<'_>, file: &'f syn::File) -> Vec<Leaf<'f>> {
    let text = rw.src().text.as_bytes();
    let named = rw
        .rules()
        .removed
        .iter()
        .flat_map(|r| &r.paths)
        .any(|p| memchr::memmem::find(text, p.last().as_bytes()).is_some());
    if !named {
        return Vec::new();
    }
    let mut uses = Uses {
        modules: vec![rw.root_module().clone()],
        items: Vec::new(),
    };
    // Block-level imports need a walk of the whole tree; skip it when every `use` keyword of
    // the text belongs to a module-level item (each item has its own keyword in the text, so
    // equal counts mean there is no other).
    module_uses(&file.items, 0, &mut uses);
    if use_keywords(rw.src().text) != uses.items.len() {
        uses.items.clear();
        uses.modules.truncate(1);
        let mut c = UseCollector {
            index: 0,
            uses: &mut uses,
        };
        c.visit_file(file);
    }
    let mut out = Vec::new();
    let mut path = Segs::default();
    for &(item, m) in &uses.items {
        // `::` first when absolute, as `add_use_tree` records it.
        path.len = 0;
        if item.leading_colon.is_some() {
            match path.buf.first_mut() {
                Some(s) => {
                    s.clear();
                    s.push_str("::");
                }
                None => path.buf.push("::".to_string()),
            }
            path.len = 1;
        }
        find_removed(rw, &uses.modules[m], item, &item.tree, &mut path, &mut out);
    }
    out
}

/// Before the rewriter runs: watch the names that possibly-dead imports (`leaves`, from
/// [`removed_leaves`]) bind.
pub(crate) fn watch_import_names(rw: &mut Rewriter<'_>, leaves: &[Leaf<'_>]) {
    for l in leaves {
        rw.watch(&l.bound);
    }
}

/// After the rewriter: drop dead imports (among `leaves`), add needed ones.
pub(crate) fn plan(rw: &mut Rewriter<'_>, file: &syn::File, leaves: &[Leaf<'_>]) {
    drop_dead_imports(rw, leaves);
    add_needed_imports(rw, file);
}

/// The span of a use tree's first token.
fn tree_first(t: &UseTree) -> Span {
    match t {
        UseTree::Path(p) => p.ident.span(),
        UseTree::Name(n) => n.ident.span(),
        UseTree::Rename(r) => r.ident.span(),
        UseTree::Glob(g) => g.star_token.span,
        UseTree::Group(g) => g.brace_token.span.open(),
    }
}

/// The span of a use tree's last token, and whether that token is one byte long (`*`, `}`).
fn tree_last(t: &UseTree) -> (Span, bool) {
    match t {
        UseTree::Path(p) => tree_last(&p.tree),
        UseTree::Name(n) => (n.ident.span(), false),
        UseTree::Rename(r) => (r.rename.span(), false),
        UseTree::Glob(g) => (g.star_token.span, true),
        UseTree::Group(g) => (g.brace_token.span.close(), true),
    }
}

/// Byte range of a one-byte token (`;`, `,`, `*`, a brace): a span's end costs a position
/// lookup as dear as its start, and is one byte further here. Debug builds check it.
fn one_byte(src: &Src<'_>, span: Span) -> (usize, usize) {
    let start = src.pos.start(span) + src.base;
    debug_assert_eq!((start, start + 1), src.span(span));
    (start, start + 1)
}

/// Where a use tree starts: like `src.node(t).0`, which rebuilds the tree's tokens to find the
/// first one (it showed up in profiles); debug builds check both agree.
fn tree_start(src: &Src<'_>, t: &UseTree) -> usize {
    let start = src.pos.start(tree_first(t)) + src.base;
    debug_assert_eq!(start, src.node(t).0);
    start
}

/// Where a use tree ends: like `src.node(t).1` (see [`tree_start`]).
fn tree_end(src: &Src<'_>, t: &UseTree) -> usize {
    let end = match tree_last(t) {
        (last, true) => one_byte(src, last).1,
        (last, false) => src.span(last).1,
    };
    debug_assert_eq!(end, src.node(t).1);
    end
}

/// Byte range of a `use` item: like `src.node(u)`, from its first token (outer attribute,
/// `pub`, or `use`) and its `;` (see [`tree_start`]).
fn item_range(src: &Src<'_>, u: &ItemUse) -> (usize, usize) {
    let first = match (u.attrs.first(), &u.vis) {
        (Some(a), _) if matches!(a.style, syn::AttrStyle::Outer) => a.pound_token.span,
        // An inner attribute is not printed (nor parsed, on a `use`): leave it to `node`.
        (Some(_), _) => return src.node(u),
        (None, syn::Visibility::Public(p)) => p.span,
        (None, syn::Visibility::Restricted(r)) => r.pub_token.span,
        (None, syn::Visibility::Inherited) => u.use_token.span,
    };
    let range = (
        src.pos.start(first) + src.base,
        one_byte(src, u.semi_token.span).1,
    );
    debug_assert_eq!(range, src.node(u));
    range
}

fn drop_dead_imports(rw: &mut Rewriter<'_>, leaves: &[Leaf<'_>]) {
    let src = rw.src();
    // Items in source order, each with its removable leaves.
    let mut items: Vec<(&ItemUse, Vec<&Leaf>)> = Vec::new();
    for leaf in leaves {
        let used = rw.watched_name_used(&leaf.bound);
        let now = rw.rules().era(&leaf.rule).now;
        if used {
            rw.note(
                tree_start(&src, leaf.tree),
                &leaf.rule,
                Severity::NeedsReview,
                format!(
                    "`{}` no longer exists {now} but is still used in this file: remove those \
                     uses, then this import",
                    leaf.bound
                ),
            );
            continue;
        }
        if !matches!(leaf.item.vis, syn::Visibility::Inherited) {
            rw.note(
                tree_start(&src, leaf.tree),
                &leaf.rule,
                Severity::NeedsReview,
                format!(
                    "this re-exports `{}`, which no longer exists {now}: remove it by hand \
                     (users of this crate may import it)",
                    leaf.bound
                ),
            );
            continue;
        }
        match items.iter_mut().find(|(i, _)| std::ptr::eq(*i, leaf.item)) {
            Some((_, v)) => v.push(leaf),
            None => items.push((leaf.item, vec![leaf])),
        }
    }
    for (item, dead) in items {
        let is_dead = |t: &UseTree| dead.iter().any(|l| std::ptr::eq(l.tree, t));
        let (is, ie) = item_range(&src, item);
        let edits = match prune(&src, &item.tree, &is_dead) {
            Err(why) => {
                for l in &dead {
                    let now = rw.rules().era(&l.rule).now;
                    rw.note(
                        tree_start(&src, l.tree),
                        &l.rule,
                        Severity::NeedsReview,
                        format!("`{}` no longer exists {now} and is unused, but {why}: remove it by hand", l.bound),
                    );
                }
                continue;
            }
            Ok(Prune::Keep) => continue,
            Ok(Prune::All) => {
                let text = src.text;
                let ls = line_start(text, is);
                let le = line_end_after_newline(text, ie);
                if is_blank(&text[ls..is]) && is_blank(&text[ie..le]) {
                    vec![(ls, le)]
                } else {
                    vec![(is, ie)]
                }
            }
            Ok(Prune::Edits(e)) => e,
        };
        let start = edits.iter().map(|e| e.0).min().unwrap_or(is).min(is);
        let end = edits.iter().map(|e| e.1).max().unwrap_or(ie).max(ie);
        let unit = Unit {
            kind: UnitKind::Items,
            start,
            end,
        };
        let rule = &dead[0].rule;
        for (s, e) in edits {
            rw.push_splice(Splice {
                rule: rule.clone(),
                start: s,
                end: e,
                replacement: String::new(),
                unit,
            });
        }
        for l in dead {
            let now = rw.rules().era(&l.rule).now;
            rw.note(
                tree_start(&src, l.tree),
                &l.rule,
                Severity::Edited,
                format!(
                    "`{}` no longer exists {now}: removed the unused import",
                    l.bound
                ),
            );
        }
    }
}

enum Prune {
    Keep,
    All,
    /// Deletions that leave a tidy tree.
    Edits(Vec<(usize, usize)>),
}

fn prune(src: &Src<'_>, tree: &UseTree, dead: &dyn Fn(&UseTree) -> bool) -> Result<Prune, String> {
    let g = match tree {
        UseTree::Path(p) => return prune(src, &p.tree, dead),
        UseTree::Group(g) => g,
        leaf => return Ok(if dead(leaf) { Prune::All } else { Prune::Keep }),
    };
    let items: Vec<&UseTree> = g.items.iter().collect();
    let states = items
        .iter()
        .map(|t| prune(src, t, dead))
        .collect::<Result<Vec<_>, _>>()?;
    if states.iter().all(|s| matches!(s, Prune::All)) {
        return Ok(Prune::All);
    }
    if states.iter().all(|s| matches!(s, Prune::Keep)) {
        return Ok(Prune::Keep);
    }
    let mut kept = (0..items.len()).filter(|&i| !matches!(states[i], Prune::All));
    let single_kept = match (kept.next(), kept.next()) {
        (Some(k), None) => Some(k),
        _ => None,
    };
    let mut edits = Vec::new();
    for s in &states {
        if let Prune::Edits(e) = s {
            edits.extend(e.iter().copied());
        }
    }
    let is_self = |t: &UseTree| match t {
        UseTree::Name(n) => n.ident == "self",
        UseTree::Rename(r) => r.ident == "self",
        _ => false,
    };
    if let Some(k) = single_kept {
        let (open_s, _) = one_byte(src, g.brace_token.span.open());
        let (_, close_e) = one_byte(src, g.brace_token.span.close());
        if !has_comment(src.slice((open_s, close_e))) && !is_self(items[k]) {
            // `{parse}` reads badly: drop the braces (and a trailing comma).
            edits.push((open_s, tree_start(src, items[k])));
            edits.push((tree_end(src, items[k]), close_e));
            return Ok(Prune::Edits(edits));
        }
    }
    // Item and comma positions are computed for the edges of dead runs only.
    let comma = |i: usize| {
        g.items
            .pairs()
            .nth(i)
            .and_then(|p| p.punct().map(|c| one_byte(src, c.span)))
    };
    let n = items.len();
    let mut i = 0;
    while i < n {
        if !matches!(states[i], Prune::All) {
            i += 1;
            continue;
        }
        let mut j = i;
        while j + 1 < n && matches!(states[j + 1], Prune::All) {
            j += 1;
        }
        let cut = if j + 1 < n {
            (tree_start(src, items[i]), tree_start(src, items[j + 1]))
        } else {
            // The run ends the group; `i > 0` because something is kept.
            match (comma(j), comma(i - 1)) {
                (Some(last), Some(prev)) => (prev.1, last.1),
                _ => (tree_end(src, items[i - 1]), tree_end(src, items[j])),
            }
        };
        if has_comment(src.slice(cut)) {
            return Err("a comment sits among the imports".into());
        }
        edits.push(cut);
        i = j + 1;
    }
    Ok(Prune::Edits(edits))
}

/// The items of module `m` of this file, if it is the file's root or an inline module.
fn module_items<'f>(file: &'f syn::File, root: &ModPath, m: &ModPath) -> Option<&'f [syn::Item]> {
    if !m.starts_with(root) {
        return None;
    }
    let mut items: &[syn::Item] = &file.items;
    for name in &m[root.len()..] {
        items = items.iter().find_map(|i| match i {
            syn::Item::Mod(md) if md.ident == name => {
                md.content.as_ref().map(|(_, c)| c.as_slice())
            }
            _ => None,
        })?;
    }
    Some(items)
}

fn add_needed_imports(rw: &mut Rewriter<'_>, file: &syn::File) {
    let mut needed = rw.take_needed_imports();
    needed.sort();
    needed.dedup();
    // Copies of the references, so that the rule and resolver borrows do not hold `rw`.
    let (rules, resolver, src) = (rw.rules(), rw.resolver(), rw.src());
    for (m, i) in needed {
        let rule = &rules.fn_to_methods[i];
        let Some(import) = &rule.import else {
            continue;
        };
        // Split once (as `&str`s): the check runs for every import of the module.
        let import_segs: Vec<&str> = import.split("::").map(str::trim).collect();
        let satisfied = |p: &[String]| {
            rule.import_satisfied_by
                .iter()
                .any(|x| pattern_matches(x, p))
                || (p.len() == import_segs.len() && p.iter().zip(&import_segs).all(|(a, b)| a == b))
        };
        let mut ok = false;
        if let Some(scope) = resolver.file.get(&m) {
            for b in scope.names.values() {
                if let crate::resolve::Binding::Use(path) = b {
                    if matches!(resolver.resolve(&m, &[], path), Res::Extern(p) if satisfied(&p)) {
                        ok = true;
                        break;
                    }
                }
            }
            if !ok {
                for g in &scope.globs {
                    if let Res::Extern(mut p) = resolver.resolve(&m, &[], g) {
                        p.push("*".into());
                        if satisfied(&p) {
                            ok = true;
                            break;
                        }
                    }
                }
            }
        }
        if ok {
            continue;
        }
        let Some(items) = module_items(file, rw.root_module(), &m) else {
            continue;
        };
        let text = src.text;
        let eol = line_ending(text);
        let stmt = format!("use {import};");
        let last_use = items.iter().rev().find_map(|i| match i {
            syn::Item::Use(u) => Some(u),
            _ => None,
        });
        let (at, insert) = match (last_use, items.first()) {
            (Some(u), _) => {
                let (us, ue) = item_range(&src, u);
                let at = line_end_after_newline(text, ue);
                let nl = if text[..at].ends_with('\n') { "" } else { eol };
                (at, format!("{nl}{}{stmt}{eol}", indentation(text, us)))
            }
            (None, Some(first)) => {
                let (fs, _) = src.node(first);
                let ls = line_start(text, fs);
                if is_blank(&text[ls..fs]) {
                    (ls, format!("{}{stmt}{eol}{eol}", indentation(text, fs)))
                } else {
                    (fs, format!("{stmt} "))
                }
            }
            (None, None) => continue,
        };
        rw.push_splice(Splice {
            rule: rule.rule.clone(),
            start: at,
            end: at,
            replacement: insert,
            unit: Unit {
                kind: UnitKind::Items,
                start: at,
                end: at,
            },
        });
        rw.note(
            at,
            &rule.rule,
            Severity::Edited,
            format!("added `{stmt}` for `.{}(..)`", rule.method),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_use_as_a_word_only() {
        assert_eq!(use_keywords("use a;\nfn f() { use b::c; }"), 2);
        // Inside words, raw identifiers, comments and strings: an upper bound, never fewer.
        assert_eq!(
            use_keywords("fn user() {} // reuse, use\nlet r#use = \"use\";"),
            3
        );
        assert_eq!(use_keywords("usefulness causes"), 0);
    }

    #[test]
    fn module_level_walk_sees_inline_modules_in_order() {
        let f: syn::File = syn::parse_str(
            "use a::b; mod m { use super::b as c; mod n { use d::*; } } fn f() { use e; }",
        )
        .unwrap();
        let mut uses = Uses {
            modules: vec![vec!["crate".to_string()]],
            items: Vec::new(),
        };
        module_uses(&f.items, 0, &mut uses);
        let mods: Vec<&[String]> = uses
            .items
            .iter()
            .map(|&(_, m)| uses.modules[m].as_slice())
            .collect();
        assert_eq!(
            mods,
            [&["crate"][..], &["crate", "m"], &["crate", "m", "n"]]
        );
        // The block-level `use e` is the fourth keyword: the full walk is needed here.
        assert_eq!(
            use_keywords(
                "use a::b; mod m { use super::b as c; mod n { use d::*; } } fn f() { use e; }"
            ),
            4
        );
    }

    #[test]
    fn full_walk_puts_block_level_uses_in_their_module() {
        let f: syn::File = syn::parse_str(
            "use a::b; mod m { fn f() { use c::d; } mod n {} } fn g() { use e; } mod o;",
        )
        .unwrap();
        let mut uses = Uses {
            modules: vec![vec!["crate".to_string()]],
            items: Vec::new(),
        };
        UseCollector {
            index: 0,
            uses: &mut uses,
        }
        .visit_file(&f);
        let mods: Vec<String> = uses
            .items
            .iter()
            .map(|&(_, m)| uses.modules[m].join("::"))
            .collect();
        assert_eq!(mods, ["crate", "crate::m", "crate"]);
    }

    /// Every subtree of `tree`, parents first.
    fn subtrees<'t>(tree: &'t UseTree, out: &mut Vec<&'t UseTree>) {
        out.push(tree);
        match tree {
            UseTree::Path(p) => subtrees(&p.tree, out),
            UseTree::Group(g) => g.items.iter().for_each(|t| subtrees(t, out)),
            _ => {}
        }
    }

    #[test]
    fn ranges_from_first_and_last_tokens_match_the_token_rebuild() {
        let text = "//! m\n#![allow(unused)]\n/// doc\n#[cfg(test)]\npub use ::a::{b as c, d::{self, *}};\n\
                    pub(crate) use e::{};\nuse f::{g::{h, i as _}, self as j,};\n\
                    mod k { pub(in crate::k) use é::ü; }\n";
        let file: syn::File = syn::parse_str(text).unwrap();
        let pos = crate::text::SpanPositions::new(text);
        let src = Src {
            text,
            base: 0,
            pos: &pos,
        };
        let mut uses = Uses {
            modules: vec![vec!["crate".to_string()]],
            items: Vec::new(),
        };
        module_uses(&file.items, 0, &mut uses);
        let mut items = Vec::new();
        let mut trees = Vec::new();
        for &(u, _) in &uses.items {
            // The quick ranges against `node` (the same check runs in debug builds anyway).
            assert_eq!(item_range(&src, u), src.node(u));
            items.push(src.slice(item_range(&src, u)));
            let mut all = Vec::new();
            subtrees(&u.tree, &mut all);
            for t in all {
                assert_eq!((tree_start(&src, t), tree_end(&src, t)), src.node(t));
                trees.push(src.slice((tree_start(&src, t), tree_end(&src, t))));
            }
        }
        assert_eq!(
            items,
            [
                "/// doc\n#[cfg(test)]\npub use ::a::{b as c, d::{self, *}};",
                "pub(crate) use e::{};",
                "use f::{g::{h, i as _}, self as j,};",
                "pub(in crate::k) use é::ü;",
            ]
        );
        assert_eq!(
            trees[..6],
            [
                "a::{b as c, d::{self, *}}",
                "{b as c, d::{self, *}}",
                "b as c",
                "d::{self, *}",
                "{self, *}",
                "self"
            ]
        );
        assert!(trees.contains(&"*") && trees.contains(&"{}") && trees.contains(&"é::ü"));
        assert!(trees.contains(&"{h, i as _}") && trees.contains(&"self as j"));
    }

    #[test]
    fn path_segments_reuse_their_buffers() {
        let f: syn::File = syn::parse_str("use a::b::c; use a::r#type::d;").unwrap();
        let mut segs = Segs::default();
        let mut seen = Vec::new();
        for item in &f.items {
            let syn::Item::Use(u) = item else { continue };
            segs.len = 0;
            let mut t = &u.tree;
            loop {
                match t {
                    UseTree::Path(p) => {
                        segs.push(&p.ident);
                        t = &p.tree;
                    }
                    UseTree::Name(n) => {
                        segs.push(&n.ident);
                        break;
                    }
                    _ => unreachable!(),
                }
            }
            seen.push(segs.path().join("::"));
        }
        assert_eq!(seen, ["a::b::c", "a::r#type::d"]);
        segs.pop();
        assert_eq!(segs.path(), ["a", "r#type"]);
    }
}

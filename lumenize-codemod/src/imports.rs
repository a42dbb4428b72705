//! Imports: dropping the ones that name removed items (`remove-dead-imports`), keeping `use`
//! groups tidy, and adding the import a `fn-to-method` rewrite needs (the prelude trait).
//!
//! Runs after the rewriter, because whether an import is dead depends on the call sites the
//! rewriter removed.

use syn::visit::Visit;
use syn::{ItemUse, UseTree};

use crate::engine::{Splice, Unit, UnitKind};
use crate::resolve::{ModPath, Res};
use crate::rewrite::Rewriter;
use crate::text::{
    has_comment, indentation, is_blank, line_end_after_newline, line_ending, line_start,
};
use crate::Severity;

/// A `use` leaf that imports a removed item.
pub(crate) struct Leaf<'f> {
    tree: &'f UseTree,
    item: &'f ItemUse,
    bound: String,
    rule: String,
}

/// Every `use` item of the file with the module it is in (block-level ones included).
struct UseCollector<'f> {
    module: ModPath,
    out: Vec<(&'f ItemUse, ModPath)>,
}

impl<'f> Visit<'f> for UseCollector<'f> {
    fn visit_item_use(&mut self, u: &'f ItemUse) {
        self.out.push((u, self.module.clone()));
    }
    fn visit_item_mod(&mut self, m: &'f syn::ItemMod) {
        self.module.push(m.ident.to_string());
        syn::visit::visit_item_mod(self, m);
        self.module.pop();
    }
}

/// The `use` items of `items` and of their inline modules, in the order [`UseCollector`]
/// meets them.
fn module_uses<'f>(
    items: &'f [syn::Item],
    module: &mut ModPath,
    out: &mut Vec<(&'f ItemUse, ModPath)>,
) {
    for item in items {
        match item {
            syn::Item::Use(u) => out.push((u, module.clone())),
            syn::Item::Mod(m) => {
                if let Some((_, inner)) = &m.content {
                    module.push(m.ident.to_string());
                    module_uses(inner, module, out);
                    module.pop();
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

fn leaves_of<'f>(
    tree: &'f UseTree,
    item: &'f ItemUse,
    prefix: &mut Vec<String>,
    out: &mut Vec<(&'f UseTree, &'f ItemUse, Vec<String>, String)>,
) {
    match tree {
        UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            leaves_of(&p.tree, item, prefix, out);
            prefix.pop();
        }
        UseTree::Name(n) => {
            let mut path = prefix.clone();
            let bound = if n.ident == "self" {
                prefix.last().cloned().unwrap_or_default()
            } else {
                path.push(n.ident.to_string());
                n.ident.to_string()
            };
            out.push((tree, item, path, bound));
        }
        UseTree::Rename(r) => {
            let mut path = prefix.clone();
            if r.ident != "self" {
                path.push(r.ident.to_string());
            }
            out.push((tree, item, path, r.rename.to_string()));
        }
        UseTree::Glob(_) => {}
        UseTree::Group(g) => g.items.iter().for_each(|t| leaves_of(t, item, prefix, out)),
    }
}

/// Leaves importing removed items. Cheap when the file never names one (the usual case);
/// otherwise it walks the whole syntax tree (for block-level imports), so it runs once per file.
pub(crate) fn removed_leaves<'f>(rw: &Rewriter<'_>, file: &'f syn::File) -> Vec<Leaf<'f>> {
    let text = rw.src.text.as_bytes();
    let named = rw
        .rules
        .removed
        .iter()
        .flat_map(|r| &r.paths)
        .any(|p| memchr::memmem::find(text, p.last().as_bytes()).is_some());
    if !named {
        return Vec::new();
    }
    let mut c = UseCollector {
        module: rw.modules[0].clone(),
        out: Vec::new(),
    };
    // Block-level imports need a walk of the whole tree; skip it when every `use` keyword of
    // the text belongs to a module-level item (each item has its own keyword in the text, so
    // equal counts mean there is no other).
    let mut module = rw.modules[0].clone();
    module_uses(&file.items, &mut module, &mut c.out);
    if use_keywords(rw.src.text) != c.out.len() {
        c.out.clear();
        c.visit_file(file);
    }
    let mut out = Vec::new();
    for (item, m) in c.out {
        let mut prefix = Vec::new();
        if item.leading_colon.is_some() {
            prefix.push("::".to_string());
        }
        let mut leaves = Vec::new();
        leaves_of(&item.tree, item, &mut prefix, &mut leaves);
        for (tree, item, path, bound) in leaves {
            if let Res::Extern(p) = rw.resolver.resolve(&m, &[], &path) {
                if let Some(r) = rw
                    .rules
                    .removed
                    .iter()
                    .find(|r| r.paths.iter().any(|x| x.matches(&p)))
                {
                    out.push(Leaf {
                        tree,
                        item,
                        bound,
                        rule: r.rule.clone(),
                    });
                }
            }
        }
    }
    out
}

/// Before the rewriter runs: watch the names that possibly-dead imports (`leaves`, from
/// [`removed_leaves`]) bind.
pub(crate) fn watch_import_names(rw: &mut Rewriter<'_>, leaves: &[Leaf<'_>]) {
    for l in leaves {
        if l.bound != "_" && !rw.watched.contains(&l.bound) {
            rw.watched.push(l.bound.clone());
        }
    }
}

/// After the rewriter: drop dead imports (among `leaves`), add needed ones.
pub(crate) fn plan(rw: &mut Rewriter<'_>, file: &syn::File, leaves: &[Leaf<'_>]) {
    drop_dead_imports(rw, leaves);
    add_needed_imports(rw, file);
}

fn drop_dead_imports(rw: &mut Rewriter<'_>, leaves: &[Leaf<'_>]) {
    // Items in source order, each with its removable leaves.
    let mut items: Vec<(&ItemUse, Vec<&Leaf>)> = Vec::new();
    for leaf in leaves {
        let used = rw
            .watched
            .iter()
            .position(|w| *w == leaf.bound)
            .is_some_and(|k| {
                rw.ident_hits.iter().any(|&(wk, at)| {
                    wk == k && !rw.splices.iter().any(|s| s.start <= at && at < s.end)
                })
            });
        let at = rw.src.node(leaf.tree).0;
        if used {
            rw.note(
                at,
                &leaf.rule,
                Severity::NeedsReview,
                format!(
                    "`{}` no longer exists in 1.0 but is still used in this file: remove those \
                     uses, then this import",
                    leaf.bound
                ),
            );
            continue;
        }
        if !matches!(leaf.item.vis, syn::Visibility::Inherited) {
            rw.note(
                at,
                &leaf.rule,
                Severity::NeedsReview,
                format!(
                    "this re-exports `{}`, which no longer exists in 1.0: remove it by hand \
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
        let (is, ie) = rw.src.node(item);
        let edits = match prune(rw, &item.tree, &is_dead) {
            Err(why) => {
                for l in &dead {
                    let at = rw.src.node(l.tree).0;
                    rw.note(
                        at,
                        &l.rule,
                        Severity::NeedsReview,
                        format!("`{}` no longer exists in 1.0 and is unused, but {why}: remove it by hand", l.bound),
                    );
                }
                continue;
            }
            Ok(Prune::Keep) => continue,
            Ok(Prune::All) => {
                let text = rw.src.text;
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
        let rule = dead[0].rule.clone();
        for (s, e) in edits {
            rw.splices.push(Splice {
                rule: rule.clone(),
                start: s,
                end: e,
                replacement: String::new(),
                unit,
            });
        }
        for l in dead {
            let at = rw.src.node(l.tree).0;
            rw.note(
                at,
                &l.rule,
                Severity::Edited,
                format!(
                    "`{}` no longer exists in 1.0: removed the unused import",
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

fn prune(
    rw: &Rewriter<'_>,
    tree: &UseTree,
    dead: &dyn Fn(&UseTree) -> bool,
) -> Result<Prune, String> {
    let g = match tree {
        UseTree::Path(p) => return prune(rw, &p.tree, dead),
        UseTree::Group(g) => g,
        leaf => return Ok(if dead(leaf) { Prune::All } else { Prune::Keep }),
    };
    let items: Vec<&UseTree> = g.items.iter().collect();
    let states = items
        .iter()
        .map(|t| prune(rw, t, dead))
        .collect::<Result<Vec<_>, _>>()?;
    if states.iter().all(|s| matches!(s, Prune::All)) {
        return Ok(Prune::All);
    }
    if states.iter().all(|s| matches!(s, Prune::Keep)) {
        return Ok(Prune::Keep);
    }
    let kept: Vec<usize> = (0..items.len())
        .filter(|&i| !matches!(states[i], Prune::All))
        .collect();
    let mut edits = Vec::new();
    for s in &states {
        if let Prune::Edits(e) = s {
            edits.extend(e.iter().copied());
        }
    }
    let (open_s, _) = rw.src.span(g.brace_token.span.open());
    let (_, close_e) = rw.src.span(g.brace_token.span.close());
    let ranges: Vec<(usize, usize)> = items.iter().map(|t| rw.src.node(*t)).collect();
    let is_self = |t: &UseTree| match t {
        UseTree::Name(n) => n.ident == "self",
        UseTree::Rename(r) => r.ident == "self",
        _ => false,
    };
    if kept.len() == 1 && !has_comment(rw.src.slice((open_s, close_e))) && !is_self(items[kept[0]])
    {
        // `{parse}` reads badly: drop the braces (and a trailing comma).
        let (ks, ke) = ranges[kept[0]];
        edits.push((open_s, ks));
        edits.push((ke, close_e));
        return Ok(Prune::Edits(edits));
    }
    let commas: Vec<Option<(usize, usize)>> = g
        .items
        .pairs()
        .map(|p| p.punct().map(|c| rw.src.span(c.span)))
        .collect();
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
            (ranges[i].0, ranges[j + 1].0)
        } else {
            // The run ends the group; `i > 0` because something is kept.
            match (commas[j], commas[i - 1]) {
                (Some(last), Some(prev)) => (prev.1, last.1),
                _ => (ranges[i - 1].1, ranges[j].1),
            }
        };
        if has_comment(rw.src.slice(cut)) {
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
    let mut needed = std::mem::take(&mut rw.needs_import);
    needed.sort();
    needed.dedup();
    let root = rw.modules[0].clone();
    for (m, i) in needed {
        let rule = rw.rules.fn_to_methods[i].clone();
        let Some(import) = rule.import.clone() else {
            continue;
        };
        let import_segs: Vec<String> = import.split("::").map(|s| s.trim().to_string()).collect();
        let satisfied = |p: &[String]| {
            rule.import_satisfied_by.iter().any(|x| x.matches(p)) || p == import_segs.as_slice()
        };
        let scope = rw.resolver.file.get(&m);
        let mut ok = false;
        if let Some(scope) = scope {
            for b in scope.names.values() {
                if let crate::resolve::Binding::Use(path) = b {
                    if matches!(rw.resolver.resolve(&m, &[], path), Res::Extern(p) if satisfied(&p))
                    {
                        ok = true;
                    }
                }
            }
            for g in &scope.globs {
                if let Res::Extern(mut p) = rw.resolver.resolve(&m, &[], g) {
                    p.push("*".into());
                    ok |= satisfied(&p);
                }
            }
        }
        if ok {
            continue;
        }
        let Some(items) = module_items(file, &root, &m) else {
            continue;
        };
        let text = rw.src.text;
        let eol = line_ending(text);
        let stmt = format!("use {import};");
        let last_use = items.iter().rev().find(|i| matches!(i, syn::Item::Use(_)));
        let (at, insert) = match (last_use, items.first()) {
            (Some(u), _) => {
                let (us, ue) = rw.src.node(u);
                let at = line_end_after_newline(text, ue);
                let nl = if text[..at].ends_with('\n') { "" } else { eol };
                (at, format!("{nl}{}{stmt}{eol}", indentation(text, us)))
            }
            (None, Some(first)) => {
                let (fs, _) = rw.src.node(first);
                let ls = line_start(text, fs);
                if is_blank(&text[ls..fs]) {
                    (ls, format!("{}{stmt}{eol}{eol}", indentation(text, fs)))
                } else {
                    (fs, format!("{stmt} "))
                }
            }
            (None, None) => continue,
        };
        rw.splices.push(Splice {
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
        let mut out = Vec::new();
        module_uses(&f.items, &mut vec!["crate".to_string()], &mut out);
        let mods: Vec<usize> = out.iter().map(|(_, m)| m.len()).collect();
        assert_eq!(mods, [1, 2, 3]);
        // The block-level `use e` is the fourth keyword: the full walk is needed here.
        assert_eq!(
            use_keywords(
                "use a::b; mod m { use super::b as c; mod n { use d::*; } } fn f() { use e; }"
            ),
            4
        );
    }
}

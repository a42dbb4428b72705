//! Rules as data: loading `rules/builtin.toml` and user `lumenize-codemod.toml` files into a
//! [`RuleSet`], and narrowing it with `--rule` / `--skip-rule`.
//!
//! The engine never hard-codes a lumenize name: everything it matches comes from here, so the
//! same machinery serves any "this async API became synchronous" migration.

use std::collections::BTreeSet;
use std::path::Path;

use toml_edit::{DocumentMut, Item, Table};

mod schema;

/// A short description of one rule, for `list-rules`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RuleInfo {
    /// The rule id, e.g. `sync-structured-clone`.
    pub id: String,
    /// One line: what it rewrites.
    pub summary: String,
    /// Where it came from: `built-in` or the config file's path.
    pub source: String,
}

/// A rule set could not be built (invalid config, unknown rule id).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// A rules file is invalid: which file, where, and why.
    #[error("{origin}:{}{reason}", at(*line, *column))]
    Config {
        /// The file (as given to [`RuleSet::with_config`]).
        origin: String,
        /// 1-based line of the problem, 0 when it is not about one place.
        line: usize,
        /// 1-based column (characters), 0 when it is not about one place.
        column: usize,
        /// What is wrong.
        reason: String,
    },
    /// `--rule` / `--skip-rule` named an id no rule has.
    #[error("unknown rule id `{id}` (known: {})", known.join(", "))]
    UnknownId {
        /// The id asked for.
        id: String,
        /// The ids of the rule set.
        known: Vec<String>,
    },
}

/// `line:column: ` when known, for [`RuleError::Config`].
fn at(line: usize, column: usize) -> String {
    if line == 0 {
        " ".to_string()
    } else {
        format!("{line}:{column}: ")
    }
}

const BUILTIN: &str = include_str!("../rules/builtin.toml");

/// A path pattern such as `lumenize_core::**::Alarms`: `**` matches any number of segments;
/// a `*` segment stands for a glob import (`lumenize_core::prelude::*`) and matches only that.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PathPattern(pub(crate) Vec<String>);

impl PathPattern {
    fn parse(text: &str) -> Result<PathPattern, String> {
        let segs: Vec<String> = text
            .trim()
            .trim_start_matches("::")
            .split("::")
            .map(|s| s.trim().to_string())
            .collect();
        if segs.iter().any(|s| s.is_empty()) || segs.len() < 2 {
            return Err(format!(
                "`{text}` is not a path like `my_crate::module::item`"
            ));
        }
        if segs[0] == "*" || segs[0] == "**" {
            return Err(format!(
                "`{text}` must start with a crate name, not a wildcard"
            ));
        }
        Ok(PathPattern(segs))
    }

    /// Does `path` (canonical, crate name first) match?
    pub(crate) fn matches(&self, path: &[String]) -> bool {
        fn go(pat: &[String], path: &[String]) -> bool {
            match pat.split_first() {
                None => path.is_empty(),
                Some((p, rest)) if p == "**" => (0..=path.len()).any(|k| go(rest, &path[k..])),
                Some((p, rest)) => match path.split_first() {
                    Some((s, prest)) => p == s && go(rest, prest),
                    None => false,
                },
            }
        }
        go(&self.0, path)
    }

    pub(crate) fn root(&self) -> &str {
        &self.0[0]
    }

    pub(crate) fn last(&self) -> &str {
        self.0.last().map(String::as_str).unwrap_or("")
    }
}

/// The words a message uses for a rule's before and after (see [`RuleSet::era`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Era {
    /// When the call is synchronous: `in 1.0`, or `now (rule `id`)`.
    pub now: String,
    /// What removed something: `1.0`, or `the new API (rule `id`)`.
    pub new_api: String,
    /// The old call: `0.9 form`, or `form from before rule `id``.
    pub old_form: String,
    /// Before a name: `the 0.9`, or `the old (rule `id`)`.
    pub old_name: String,
}

/// A free function whose 0.9 form returned a future (`sync-fn`).
#[derive(Debug, Clone)]
pub(crate) struct SyncFn {
    pub rule: String,
    pub paths: Vec<PathPattern>,
    /// 0-based index of an argument that was removed and must be `None`.
    pub drop_none_arg: Option<usize>,
}

/// A method whose 0.9 form returned a future (`sync-method`).
#[derive(Debug, Clone)]
pub(crate) struct SyncMethod {
    pub rule: String,
    pub methods: Vec<String>,
    pub receiver_types: Vec<PathPattern>,
    pub receiver_methods: Vec<String>,
    pub value_adapter: Option<String>,
    pub unwrapped_adapter: Option<String>,
}

/// A free function that became a method on one of its arguments (`fn-to-method`).
#[derive(Debug, Clone)]
pub(crate) struct FnToMethod {
    pub rule: String,
    pub paths: Vec<PathPattern>,
    pub method: String,
    /// 0-based index of the argument that becomes the receiver.
    pub receiver_arg: usize,
    pub import: Option<String>,
    pub import_satisfied_by: Vec<PathPattern>,
}

/// Items that no longer exist; imports of them are dropped when unused (`removed-item`).
#[derive(Debug, Clone)]
pub(crate) struct RemovedItem {
    pub rule: String,
    pub paths: Vec<PathPattern>,
}

/// A Cargo.toml dependency requirement to bump (`dependency`).
#[derive(Debug, Clone)]
pub(crate) struct Dependency {
    pub rule: String,
    pub package: String,
    pub from: String,
    pub to: String,
}

/// The rules to apply: the built-in lumenize rules, optionally extended by a user config file
/// and narrowed by `--rule` / `--skip-rule`.
///
/// ```
/// use lumenize_codemod::RuleSet;
/// let rules = RuleSet::builtin().skip(&["bump-dependency".to_string()]).unwrap();
/// assert!(rules.rules().iter().all(|r| r.id != "bump-dependency"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    pub(crate) infos: Vec<RuleInfo>,
    pub(crate) sync_fns: Vec<SyncFn>,
    pub(crate) sync_methods: Vec<SyncMethod>,
    pub(crate) fn_to_methods: Vec<FnToMethod>,
    pub(crate) removed: Vec<RemovedItem>,
    pub(crate) dependencies: Vec<Dependency>,
    pub(crate) expression_macros: BTreeSet<String>,
    pub(crate) implicit_await_macros: BTreeSet<String>,
    /// Packages whose users get migrated (see [`RuleSet::target_packages`]).
    packages: BTreeSet<String>,
}

impl RuleSet {
    /// The built-in lumenize 0.9 -> 1.0 rules (`rules/builtin.toml`).
    pub fn builtin() -> RuleSet {
        let mut set = RuleSet::default();
        // The built-in file is tested; failing here would be a build defect, not user input.
        if let Err(e) = set.load(BUILTIN, "built-in") {
            debug_assert!(false, "built-in rules are invalid: {e}");
        }
        set
    }

    /// The rules plus the rules declared in a config file's text (`lumenize-codemod.toml`
    /// format, see the crate docs). `origin` names the file in errors and in [`RuleInfo`].
    pub fn with_config(mut self, toml_text: &str, origin: &Path) -> Result<RuleSet, RuleError> {
        let origin = origin.display().to_string();
        schema::check(toml_text).map_err(|e| RuleError::Config {
            origin: origin.clone(),
            line: e.line,
            column: e.column,
            reason: e.reason,
        })?;
        self.load(toml_text, &origin)
            .map_err(|reason| RuleError::Config {
                origin: origin.clone(),
                line: 0,
                column: 0,
                reason,
            })?;
        Ok(self)
    }

    /// Keeps only the rules whose ids are listed (`--rule`). Unknown ids are an error.
    pub fn only(self, ids: &[String]) -> Result<RuleSet, RuleError> {
        self.check_ids(ids)?;
        Ok(self.retain(|id| ids.iter().any(|i| i == id)))
    }

    /// Drops the rules whose ids are listed (`--skip-rule`). Unknown ids are an error.
    pub fn skip(self, ids: &[String]) -> Result<RuleSet, RuleError> {
        self.check_ids(ids)?;
        Ok(self.retain(|id| !ids.iter().any(|i| i == id)))
    }

    /// Every active rule, in a stable order (declaration order: built-in first).
    pub fn rules(&self) -> Vec<RuleInfo> {
        self.infos.clone()
    }

    /// The packages whose users the rules migrate: the packages of the `[[dependency]]`
    /// entries, the crate each item path starts with (as written and with `-` for `_`), and
    /// those listed under `[targets] packages`. A crate depending on none of them is skipped
    /// unless forced. `--rule`/`--skip-rule` do not narrow this list.
    ///
    /// ```
    /// let rules = lumenize_codemod::RuleSet::builtin();
    /// assert!(rules.target_packages().contains("lumenize-core"));
    /// ```
    pub fn target_packages(&self) -> &BTreeSet<String> {
        &self.packages
    }

    /// Crate names the rules refer to (`lumenize_core` for the built-in set).
    pub(crate) fn roots(&self) -> BTreeSet<String> {
        let mut roots = BTreeSet::new();
        let pats = self
            .sync_fns
            .iter()
            .flat_map(|r| &r.paths)
            .chain(self.sync_methods.iter().flat_map(|r| &r.receiver_types))
            .chain(self.fn_to_methods.iter().flat_map(|r| &r.paths))
            .chain(self.removed.iter().flat_map(|r| &r.paths));
        for p in pats {
            roots.insert(p.root().to_string());
        }
        roots
    }

    /// How messages name the two sides of `rule`'s migration: the built-in rules speak of
    /// lumenize 0.9 and 1.0, a config file's rule of itself (its users migrate their own API).
    pub(crate) fn era(&self, rule: &str) -> Era {
        let builtin = self
            .infos
            .iter()
            .find(|i| i.id == rule)
            .is_none_or(|i| i.source == "built-in");
        if builtin {
            Era {
                now: "in 1.0".into(),
                new_api: "1.0".into(),
                old_form: "0.9 form".into(),
                old_name: "the 0.9".into(),
            }
        } else {
            Era {
                now: format!("now (rule `{rule}`)"),
                new_api: format!("the new API (rule `{rule}`)"),
                old_form: format!("form from before rule `{rule}`"),
                old_name: format!("the old (rule `{rule}`)"),
            }
        }
    }

    fn check_ids(&self, ids: &[String]) -> Result<(), RuleError> {
        for id in ids {
            if !self.infos.iter().any(|i| &i.id == id) {
                return Err(RuleError::UnknownId {
                    id: id.clone(),
                    known: self.infos.iter().map(|i| i.id.clone()).collect(),
                });
            }
        }
        Ok(())
    }

    fn retain(mut self, keep: impl Fn(&str) -> bool) -> RuleSet {
        self.infos.retain(|i| keep(&i.id));
        self.sync_fns.retain(|r| keep(&r.rule));
        self.sync_methods.retain(|r| keep(&r.rule));
        self.fn_to_methods.retain(|r| keep(&r.rule));
        self.removed.retain(|r| keep(&r.rule));
        self.dependencies.retain(|r| keep(&r.rule));
        self
    }

    fn load(&mut self, text: &str, origin: &str) -> Result<(), String> {
        let doc: DocumentMut = text.parse().map_err(|e| format!("invalid TOML: {e}"))?;
        for (key, _) in doc.iter() {
            if ![
                "rules",
                "sync-fn",
                "sync-method",
                "fn-to-method",
                "removed-item",
                "dependency",
                "macros",
                "targets",
            ]
            .contains(&key)
            {
                return Err(format!("unknown section `{key}`"));
            }
        }
        if let Some(rules) = doc.get("rules") {
            let rules = rules.as_table().ok_or("`rules` must be a table")?;
            for (id, def) in rules.iter() {
                if self.infos.iter().any(|i| i.id == id) {
                    return Err(format!("rule `{id}` is already defined"));
                }
                let def = def
                    .as_table()
                    .ok_or_else(|| format!("`rules.{id}` must be a table"))?;
                let summary = opt_str(def, "summary", id)?.unwrap_or_default();
                self.infos.push(RuleInfo {
                    id: id.to_string(),
                    summary,
                    source: origin.to_string(),
                });
            }
        }
        for t in tables(&doc, "sync-fn")? {
            let rule = self.rule_ref(t, "sync-fn")?;
            let drop_none_arg = opt_index(t, "drop-none-arg", &rule)?;
            self.sync_fns.push(SyncFn {
                paths: paths(t, "paths", &rule)?,
                rule,
                drop_none_arg,
            });
        }
        for t in tables(&doc, "sync-method")? {
            let rule = self.rule_ref(t, "sync-method")?;
            let methods = strings(t, "methods", &rule)?;
            if methods.is_empty() {
                return Err(format!("`{rule}`: `methods` must list at least one name"));
            }
            let receiver_types = match t.get("receiver-types") {
                Some(_) => paths(t, "receiver-types", &rule)?,
                None => Vec::new(),
            };
            let receiver_methods = match t.get("receiver-methods") {
                Some(_) => strings(t, "receiver-methods", &rule)?,
                None => Vec::new(),
            };
            if receiver_types.is_empty() && receiver_methods.is_empty() {
                return Err(format!(
                    "`{rule}`: a sync-method needs `receiver-types` or `receiver-methods` \
                     (without a receiver hint every same-named method would match)"
                ));
            }
            self.sync_methods.push(SyncMethod {
                methods,
                receiver_types,
                receiver_methods,
                value_adapter: opt_str(t, "value-adapter", &rule)?,
                unwrapped_adapter: opt_str(t, "unwrapped-adapter", &rule)?,
                rule,
            });
        }
        for t in tables(&doc, "fn-to-method")? {
            let rule = self.rule_ref(t, "fn-to-method")?;
            let method = opt_str(t, "method", &rule)?
                .ok_or_else(|| format!("`{rule}`: `method` is required"))?;
            let receiver_arg = opt_index(t, "receiver-arg", &rule)?
                .ok_or_else(|| format!("`{rule}`: `receiver-arg` is required"))?;
            let import_satisfied_by = match t.get("import-satisfied-by") {
                Some(_) => paths(t, "import-satisfied-by", &rule)?,
                None => Vec::new(),
            };
            let import = opt_str(t, "import", &rule)?;
            if let Some(imp) = &import {
                PathPattern::parse(imp).map_err(|e| format!("`{rule}`: import {e}"))?;
            }
            self.fn_to_methods.push(FnToMethod {
                paths: paths(t, "paths", &rule)?,
                method,
                receiver_arg,
                import,
                import_satisfied_by,
                rule,
            });
        }
        for t in tables(&doc, "removed-item")? {
            let rule = self.rule_ref(t, "removed-item")?;
            self.removed.push(RemovedItem {
                paths: paths(t, "paths", &rule)?,
                rule,
            });
        }
        for t in tables(&doc, "dependency")? {
            let rule = self.rule_ref(t, "dependency")?;
            let get = |k: &str| {
                opt_str(t, k, &rule)?.ok_or_else(|| format!("`{rule}`: `{k}` is required"))
            };
            self.dependencies.push(Dependency {
                package: get("package")?,
                from: get("from")?,
                to: get("to")?,
                rule: rule.clone(),
            });
        }
        if let Some(t) = doc.get("targets") {
            let t = t.as_table().ok_or("`targets` must be a table")?;
            if t.get("packages").is_some() {
                self.packages.extend(strings(t, "packages", "targets")?);
            }
        }
        self.packages.extend(packages_named(&doc));
        if let Some(m) = doc.get("macros") {
            let m = m.as_table().ok_or("`macros` must be a table")?;
            if m.get("expression-lists").is_some() {
                self.expression_macros
                    .extend(strings(m, "expression-lists", "macros")?);
            }
            if m.get("implicit-await").is_some() {
                self.implicit_await_macros
                    .extend(strings(m, "implicit-await", "macros")?);
            }
        }
        Ok(())
    }

    /// The rule id an entry refers to; it must be declared in `[rules.<id>]` (here or before).
    fn rule_ref(&self, t: &Table, section: &str) -> Result<String, String> {
        let rule = opt_str(t, "rule", section)?
            .ok_or_else(|| format!("every `[[{section}]]` entry needs `rule = \"<id>\"`"))?;
        if !self.infos.iter().any(|i| i.id == rule) {
            return Err(format!(
                "`[[{section}]]` refers to rule `{rule}`, which has no `[rules.{rule}]` summary"
            ));
        }
        Ok(rule)
    }
}

/// The packages a (validated) rules file names: `[[dependency]] package`, and the first
/// segment of every item path (`my_db::query::fetch` gives `my_db` and `my-db`).
fn packages_named(doc: &DocumentMut) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let entries = |name: &str| {
        doc.get(name)
            .and_then(Item::as_array_of_tables)
            .into_iter()
            .flat_map(|a| a.iter())
    };
    for t in entries("dependency") {
        if let Some(p) = t.get("package").and_then(Item::as_str) {
            out.insert(p.to_string());
        }
    }
    for kind in ["sync-fn", "fn-to-method", "removed-item", "sync-method"] {
        for t in entries(kind) {
            for key in ["paths", "receiver-types"] {
                let Some(paths) = t.get(key).and_then(Item::as_array) else {
                    continue;
                };
                for first in paths
                    .iter()
                    .filter_map(|v| v.as_str())
                    .filter_map(|p| p.split("::").next())
                    .filter(|c| !c.is_empty() && !c.contains('*'))
                {
                    out.insert(first.to_string());
                    out.insert(first.replace('_', "-"));
                }
            }
        }
    }
    out
}

fn tables<'d>(doc: &'d DocumentMut, key: &str) -> Result<Vec<&'d Table>, String> {
    match doc.get(key) {
        None => Ok(Vec::new()),
        Some(Item::ArrayOfTables(a)) => Ok(a.iter().collect()),
        Some(_) => Err(format!("`{key}` must be written as `[[{key}]]` entries")),
    }
}

fn opt_str(t: &Table, key: &str, ctx: &str) -> Result<Option<String>, String> {
    match t.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_str()
            .map(|s| Some(s.to_string()))
            .ok_or_else(|| format!("`{ctx}`: `{key}` must be a string")),
    }
}

fn opt_index(t: &Table, key: &str, ctx: &str) -> Result<Option<usize>, String> {
    match t.get(key) {
        None => Ok(None),
        Some(v) => match v.as_integer() {
            Some(n) if n >= 1 => Ok(Some(n as usize - 1)),
            _ => Err(format!(
                "`{ctx}`: `{key}` must be a 1-based argument position"
            )),
        },
    }
}

fn strings(t: &Table, key: &str, ctx: &str) -> Result<Vec<String>, String> {
    let arr = t
        .get(key)
        .and_then(Item::as_array)
        .ok_or_else(|| format!("`{ctx}`: `{key}` must be an array of strings"))?;
    arr.iter()
        .map(|v| {
            v.as_str()
                .map(str::to_string)
                .ok_or_else(|| format!("`{ctx}`: `{key}` must contain only strings"))
        })
        .collect()
}

fn paths(t: &Table, key: &str, ctx: &str) -> Result<Vec<PathPattern>, String> {
    let list = strings(t, key, ctx)?;
    if list.is_empty() {
        return Err(format!("`{ctx}`: `{key}` must not be empty"));
    }
    list.iter()
        .map(|s| PathPattern::parse(s).map_err(|e| format!("`{ctx}`: {e}")))
        .collect()
}

impl RuleSet {
    /// The rule a call of a free function named `name` belongs to, when the name could not be
    /// resolved: the function rule (sync-fn, then fn-to-method) with a path ending in `name`,
    /// else the first function rule. `None` when no function rule is active.
    pub(crate) fn fn_rule_named(&self, name: &str) -> Option<&str> {
        let named = |paths: &[PathPattern]| paths.iter().any(|p| p.last() == name);
        self.sync_fns
            .iter()
            .find(|f| named(&f.paths))
            .map(|f| f.rule.as_str())
            .or_else(|| {
                self.fn_to_methods
                    .iter()
                    .find(|f| named(&f.paths))
                    .map(|f| f.rule.as_str())
            })
            .or_else(|| self.default_fn_rule())
    }

    /// The function rule with a path ending in `name` (sync-fn first, then fn-to-method),
    /// and that path (`lumenize_core::structured_clone::parse`). No fallback.
    pub(crate) fn fn_path_named(&self, name: &str) -> Option<(&str, String)> {
        let sync = self.sync_fns.iter().map(|f| (&f.rule, &f.paths));
        let to_method = self.fn_to_methods.iter().map(|f| (&f.rule, &f.paths));
        sync.chain(to_method).find_map(|(rule, paths)| {
            let p = paths.iter().find(|p| p.last() == name)?;
            Some((rule.as_str(), p.0.join("::")))
        })
    }

    /// The rule an unresolvable call of a function-rule name is reported under: the first
    /// sync-fn rule, else the first fn-to-method rule.
    pub(crate) fn default_fn_rule(&self) -> Option<&str> {
        self.sync_fns
            .first()
            .map(|f| f.rule.as_str())
            .or_else(|| self.fn_to_methods.first().map(|f| f.rule.as_str()))
    }
}

impl RuleSet {
    /// True when an external path is one the rules name (a target, a removed item, a receiver
    /// type, an import that satisfies a rule).
    pub(crate) fn names_path(&self, p: &[String]) -> bool {
        self.sync_fns
            .iter()
            .flat_map(|r| &r.paths)
            .any(|x| x.matches(p))
            || self.fn_to_methods.iter().any(|r| {
                r.paths.iter().any(|x| x.matches(p))
                    || r.import_satisfied_by.iter().any(|x| x.matches(p))
            })
            || self
                .removed
                .iter()
                .flat_map(|r| &r.paths)
                .any(|x| x.matches(p))
            || self
                .sync_methods
                .iter()
                .flat_map(|r| &r.receiver_types)
                .any(|x| x.matches(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_rules_load_and_list_in_order() {
        let mut set = RuleSet::default();
        set.load(BUILTIN, "built-in").unwrap();
        let ids: Vec<String> = set.rules().into_iter().map(|r| r.id).collect();
        assert_eq!(
            ids,
            [
                "sync-structured-clone",
                "sync-schedule",
                "cancel-returns-schedule",
                "execute-chain-method",
                "remove-dead-imports",
                "bump-dependency",
                "unasync"
            ]
        );
        assert_eq!(
            set.roots().into_iter().collect::<Vec<_>>(),
            ["lumenize_core"]
        );
    }

    #[test]
    fn double_star_matches_any_depth() {
        let p = PathPattern::parse("lumenize_core::**::Alarms").unwrap();
        let s = |t: &str| t.split("::").map(String::from).collect::<Vec<_>>();
        assert!(p.matches(&s("lumenize_core::Alarms")));
        assert!(p.matches(&s("lumenize_core::alarms::Alarms")));
        assert!(!p.matches(&s("tokio::Alarms")));
        assert!(!p.matches(&s("lumenize_core::alarms::Other")));
    }

    #[test]
    fn config_errors_name_the_problem() {
        let base = RuleSet::builtin();
        let err = base
            .clone()
            .with_config(
                "[[sync-fn]]\nrule = \"nope\"\npaths = [\"a::b\"]\n",
                Path::new("x.toml"),
            )
            .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("x.toml") && msg.contains("nope"), "{err}");
        let err = base
            .clone()
            .with_config(
                "[rules.m]\nsummary = \"s\"\n[[sync-method]]\nrule = \"m\"\nmethods = [\"go\"]\n",
                Path::new("x.toml"),
            )
            .unwrap_err();
        assert!(err.to_string().contains("receiver"), "{err}");
        let err = base.clone().only(&["bogus".into()]).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("bogus") && msg.contains("sync-schedule"),
            "{err}"
        );
    }

    #[test]
    fn user_rules_extend_the_builtin_set() {
        let cfg = "[rules.db-sync]\nsummary = \"Db::query is sync\"\n\
                   [[sync-method]]\nrule = \"db-sync\"\nmethods = [\"query\"]\n\
                   receiver-types = [\"my_db::Db\"]\n";
        let set = RuleSet::builtin()
            .with_config(cfg, Path::new("lumenize-codemod.toml"))
            .unwrap();
        let last = set.rules().pop().unwrap();
        assert_eq!(last.id, "db-sync");
        assert_eq!(last.source, "lumenize-codemod.toml");
        assert!(set.roots().contains("my_db"));
        let only = set.only(&["db-sync".into()]).unwrap();
        assert_eq!(only.sync_methods.len(), 1);
        assert!(only.sync_fns.is_empty());
    }

    #[test]
    fn builtin_target_packages_are_data() {
        let p = RuleSet::builtin().target_packages().clone();
        for name in ["lumenize-core", "lumenize-core-legacy"] {
            assert!(p.contains(name), "{name} in {p:?}");
        }
    }

    #[test]
    fn config_target_packages() {
        let text = r#"
[rules.db-sync]
summary = "x"
[[sync-fn]]
rule = "db-sync"
paths = ["my_db::query::fetch_all"]
[[sync-method]]
rule = "db-sync"
methods = ["query"]
receiver-types = ["other_db::**::Db"]
[[dependency]]
rule = "db-sync"
package = "my-db-legacy"
from = "0.4"
to = "1"
"#;
        let set = RuleSet::default()
            .with_config(text, Path::new("lumenize-codemod.toml"))
            .unwrap();
        let p = set.target_packages();
        for name in ["my_db", "my-db", "other_db", "other-db", "my-db-legacy"] {
            assert!(p.contains(name), "{name} in {p:?}");
        }
        assert!(!p.iter().any(|n| n.contains('*')));
    }
}

//! The fixpoint: which groups become synchronous. Start from every group whose definitions
//! are all async, none awaits anything but calls of the crate's groups, and whose every use is
//! an awaited call the rule can rewrite (or an argument of a `join!` of the crate's calls); then
//! keep dropping a group that awaits a group staying async, and every group given to a `join!`
//! with a group staying async (the join keeps its futures), until nothing changes (the
//! greatest fixpoint, so mutual recursion converts).

use std::collections::BTreeMap;

use rustc_hash::FxHashMap as HashMap;

use super::model::{Def, GroupKey, Join, Kind, Use, UseKind};

/// What happens to a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Status {
    /// Every definition loses `async`, every use its `.await`.
    Convert,
    /// It awaits something really asynchronous, or is a test: nothing to say.
    Async,
    /// It could become synchronous but must not: why (reported).
    Refused(String),
}

/// The inputs of the fixpoint besides definitions and uses.
pub(super) struct Facts<'a> {
    /// Names bound by some pattern in the crate, and where (already as `file:line`).
    pub bound: &'a HashMap<String, String>,
    /// Convert public items too (`--unasync-public`).
    pub public: bool,
    /// `file:line` of an offset in a file.
    pub place: &'a dyn Fn(usize, usize) -> String,
    /// Groups refused from outside (a file that cannot be parsed, a rejected edit).
    pub forced: &'a BTreeMap<GroupKey, String>,
}

/// The status of every group holding an async definition.
pub(super) fn solve(
    defs: &[Def],
    uses: &[Use],
    joins: &[Join],
    f: &Facts,
) -> BTreeMap<GroupKey, Status> {
    let mut groups: BTreeMap<&GroupKey, Vec<&Def>> = BTreeMap::new();
    for d in defs {
        groups.entry(&d.key).or_default().push(d);
    }
    let mut problems: HashMap<&GroupKey, Vec<(&Use, &str)>> = HashMap::default();
    let mut callers: HashMap<&GroupKey, Vec<&Use>> = HashMap::default();
    for u in uses {
        match &u.kind {
            UseKind::Problem(why) => problems.entry(&u.key).or_default().push((u, why)),
            UseKind::Awaited { .. } | UseKind::Joined => callers.entry(&u.key).or_default().push(u),
        }
    }
    let mut status: BTreeMap<GroupKey, Status> = BTreeMap::new();
    for (key, ds) in &groups {
        if ds.iter().all(|d| d.async_range.is_none()) {
            continue;
        }
        let s = if ds.iter().any(|d| d.test_like || d.hard) {
            Status::Async
        } else if let Some(why) = f.forced.get(*key) {
            Status::Refused(why.clone())
        } else if let Some(sync) = ds.iter().find(|d| d.async_range.is_none()) {
            Status::Refused(format!(
                "`{}` ({}) has the same name and is not async, and calls cannot be told apart",
                sync.display,
                (f.place)(sync.file, sync.offset)
            ))
        } else if let Some(why) = ds.iter().find_map(|d| d.blocker.clone()) {
            Status::Refused(why)
        } else if let Some(at) = (key.0 == Kind::Free).then(|| f.bound.get(&key.1)).flatten() {
            Status::Refused(format!(
                "a local binding of the same name ({at}) could shadow it, and calls cannot be \
                 told apart"
            ))
        } else if let Some(ps) = problems.get(key) {
            let (u, why) = ps[0];
            let more = match ps.len() - 1 {
                0 => String::new(),
                n => format!(
                    " (and {n} more such place{})",
                    if n == 1 { "" } else { "s" }
                ),
            };
            Status::Refused(format!("{why}, in {}{more}", (f.place)(u.file, u.offset)))
        } else if !f.public && ds.iter().any(|d| d.public) {
            let mut at: Vec<String> = callers
                .get(key)
                .map(|cs| cs.iter().map(|u| (f.place)(u.file, u.offset)).collect())
                .unwrap_or_default();
            at.dedup();
            let callers = if at.is_empty() {
                "no callers in this crate".to_string()
            } else {
                format!("awaited at {}", at.join(", "))
            };
            Status::Refused(format!(
                "it is public, so making it synchronous changes the crate's API ({callers}); \
                 `--unasync-public` converts it (for application crates)"
            ))
        } else {
            Status::Convert
        };
        status.insert((*key).clone(), s);
    }
    loop {
        let mut changed = Vec::new();
        for (key, s) in &status {
            if *s != Status::Convert {
                continue;
            }
            let deps = groups[key]
                .iter()
                .flat_map(|d| d.deps.iter().map(move |x| (d, x)));
            for (d, (dep, at)) in deps {
                match status.get(dep) {
                    Some(Status::Convert) => {}
                    Some(Status::Refused(_)) => {
                        changed.push((
                            key.clone(),
                            Status::Refused(format!(
                                "it awaits `{}` ({}), which stays async",
                                dep.1,
                                (f.place)(d.file, *at)
                            )),
                        ));
                        break;
                    }
                    // A group with no async definition cannot be awaited as a call of ours.
                    Some(Status::Async) | None => {
                        changed.push((key.clone(), Status::Async));
                        break;
                    }
                }
            }
        }
        // A `join!` stays unless every group in it converts; then it needs their futures.
        for j in joins {
            let stays = j
                .keys
                .iter()
                .find(|(k, _)| status.get(k) != Some(&Status::Convert));
            let Some((stays, _)) = stays else { continue };
            for (key, _) in &j.keys {
                if status.get(key) == Some(&Status::Convert) {
                    changed.push((
                        key.clone(),
                        Status::Refused(format!(
                            "it is given to `{}` ({}) with `{}`, which stays async",
                            j.name,
                            (f.place)(j.file, j.offset),
                            stays.1
                        )),
                    ));
                }
            }
        }
        if changed.is_empty() {
            return status;
        }
        for (k, s) in changed {
            status.insert(k, s);
        }
    }
}

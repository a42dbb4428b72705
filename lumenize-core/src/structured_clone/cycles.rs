//! Freeing the cycles of decoded values: [`collect_cycles`].
//!
//! # Why
//! Objects are `Rc` handles, and W4 text may hold cycles (`{"$ref":0}` inside alias 0). A
//! decoded cycle keeps its own reference counts above zero, so reference counting alone never
//! frees it: a peer that sends cyclic messages would grow a runtime's memory without bound.
//!
//! # Design
//! The codec keeps cycles (the format has them, and handlers may rely on identity), and the
//! decoder remembers, per thread and as `Weak` handles, the alias objects of every decoded
//! document whose aliases form a cycle (only aliases can close one: without `$ref` the text is a
//! tree). A document without aliases, or whose aliases form no cycle, registers nothing: the
//! common case pays for nothing but the check of its alias edges.
//!
//! [`collect_cycles`], called by the hosts at the end of every turn, runs *trial deletion*
//! (Bacon and Rajan's synchronous cycle collection) on the subgraph reachable from those
//! registrations: it counts, for each object of the subgraph, the handles held by other objects
//! of the subgraph. An object with more handles than that is held from outside (a local
//! variable, a handler's state, another graph) and is live, and so is everything it reaches;
//! whatever is left is only held by itself, is garbage, and is freed by clearing its contents.
//! It is therefore safe whatever a handler keeps across turns, and its work is linear in the
//! subgraph scanned. Live objects that could still close a cycle (those with several handles)
//! stay registered and are scanned again when the work done on new registrations since the
//! last such scan reaches that scan's own size, so keeping a large cyclic value costs amortized
//! linear work, not a rescan per turn.
//!
//! The alternatives were worse: an arena per decode cannot tell when a handler let go of the
//! values; breaking cycles when the root handle is dropped would break values a handler kept;
//! a cycle-collecting handle type would change `Object` for every user.
//!
//! Cycles a handler builds itself with [`Object::borrow_mut`](super::Object::borrow_mut) are
//! not registered: freeing them (by breaking them) remains the handler's responsibility.

use std::cell::RefCell;

use super::addr::AddrMap;
use super::value::{Object, ObjectKind, WeakObject};

#[derive(Default)]
struct Registry {
    /// Alias objects of cyclic documents decoded since the last collection.
    young: Vec<WeakObject>,
    /// Objects found live by earlier collections that could still close a cycle.
    old: Vec<WeakObject>,
    /// Objects scanned from `young` since `old` was last scanned.
    young_work: usize,
    /// Objects scanned the last time `old` was.
    old_work: usize,
}

thread_local! {
    static REGISTRY: RefCell<Registry> = RefCell::new(Registry::default());
}

/// Registrations after which a decode collects by itself: a thread that decodes cyclic text
/// but never calls [`collect_cycles`] (a client thread, say) still frees its garbage, and its
/// registry (whose `Weak` handles each keep an object's allocation) stays bounded.
const AUTO_COLLECT: usize = 4096;

/// Remembers the objects of a freshly decoded cyclic graph (at least one per cycle).
pub(crate) fn register<'a>(objects: impl Iterator<Item = &'a Object>) {
    // `try_with`: during thread teardown the registry may be gone; then nothing is collected.
    let full = REGISTRY.try_with(|r| {
        let mut r = r.borrow_mut();
        r.young.extend(objects.map(Object::downgrade));
        r.young.len() >= AUTO_COLLECT
    });
    if full == Ok(true) {
        collect_cycles();
    }
}

/// What [`collect_cycles`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CycleCollection {
    scanned: usize,
    freed: usize,
}

impl CycleCollection {
    /// Objects scanned: the subgraph reachable from the registered objects (0 when no cyclic
    /// text was decoded since the last collection).
    pub fn scanned(&self) -> usize {
        self.scanned
    }

    /// Objects found unreachable from outside their cycles, and freed.
    pub fn freed(&self) -> usize {
        self.freed
    }
}

/// Frees the cycles of values decoded on this thread that nothing else holds any more.
///
/// The runtime hosts call it at the end of every turn. Elsewhere, decoding collects by itself
/// every few thousand cyclic documents; call it yourself to free memory sooner. It never frees a value that is still reachable
/// from outside its graph, whatever holds it, and costs nothing when no cyclic text was
/// decoded. See the module docs for the algorithm.
///
/// ```
/// use lumenize_core::structured_clone::{collect_cycles, parse};
/// let text = r#"{"json":{"$ref":0},"meta":{"aliases":{"0":{"me":{"$ref":0}}}}}"#;
/// let kept = parse(text).unwrap();
/// drop(parse(text).unwrap()); // a dropped cycle: garbage
/// let done = collect_cycles();
/// assert_eq!(done.freed(), 1);
/// // The kept value is intact.
/// let me = kept.get("me").unwrap();
/// assert!(me.as_object().unwrap().ptr_eq(kept.as_object().unwrap()));
/// ```
pub fn collect_cycles() -> CycleCollection {
    let Ok(young) = REGISTRY.try_with(|r| std::mem::take(&mut r.borrow_mut().young)) else {
        return CycleCollection::default();
    };
    let mut total = CycleCollection::default();
    if !young.is_empty() {
        let (done, survivors) = scan(&young);
        drop(young);
        total.scanned += done.scanned;
        total.freed += done.freed;
        let old = REGISTRY.with(|r| {
            let mut r = r.borrow_mut();
            r.old.extend(survivors);
            r.young_work += done.scanned;
            (r.young_work >= r.old_work).then(|| std::mem::take(&mut r.old))
        });
        if let Some(old) = old.filter(|o| !o.is_empty()) {
            let (done, survivors) = scan(&old);
            drop(old);
            total.scanned += done.scanned;
            total.freed += done.freed;
            REGISTRY.with(|r| {
                let mut r = r.borrow_mut();
                r.old.extend(survivors);
                r.old_work = done.scanned;
                r.young_work = 0;
            });
        }
    }
    total
}

/// Calls `f` on every object handle held directly by `kind`.
fn for_each_child(kind: &ObjectKind, mut f: impl FnMut(&Object)) {
    let mut v = |v: &super::Value| {
        if let super::Value::Object(o) = v {
            f(o)
        }
    };
    match kind {
        ObjectKind::Array(items) | ObjectKind::Set(items) => items.iter().for_each(v),
        ObjectKind::Plain(props) => props.iter().for_each(|(_, x)| v(x)),
        ObjectKind::Map(entries) => entries.iter().for_each(|(k, x)| {
            v(k);
            v(x)
        }),
        ObjectKind::Error(e) => {
            e.cause.iter().for_each(&mut v);
            e.props.iter().for_each(|(_, x)| v(x));
        }
        ObjectKind::RequestSync(r) => {
            v(&r.headers);
            v(&r.body)
        }
        ObjectKind::ResponseSync(r) => {
            v(&r.headers);
            v(&r.body)
        }
        _ => {}
    }
}

/// Trial deletion over the subgraph reachable from `roots`: frees the garbage, returns the
/// live objects that may still close a cycle (several handles), to be scanned again later.
fn scan(roots: &[WeakObject]) -> (CycleCollection, Vec<WeakObject>) {
    // One handle per object of the subgraph is ours (in `nodes`); `internal[i]` counts the
    // handles to `nodes[i]` held by objects of the subgraph.
    let mut nodes: Vec<Object> = Vec::new();
    let mut index: AddrMap<usize> = AddrMap::default();
    let mut internal: Vec<usize> = Vec::new();
    // Objects we could not look into (mutably borrowed right now): treated as held from
    // outside, with everything they reach, since their handles cannot be counted.
    let mut opaque: Vec<bool> = Vec::new();
    let mut add = |o: &Object, nodes: &mut Vec<Object>, internal: &mut Vec<usize>| -> usize {
        *index.entry(o.addr()).or_insert_with(|| {
            nodes.push(o.clone());
            internal.push(0);
            nodes.len() - 1
        })
    };
    for root in roots {
        if let Some(o) = root.upgrade() {
            add(&o, &mut nodes, &mut internal);
        }
    }
    let mut i = 0;
    while i < nodes.len() {
        let node = nodes[i].clone();
        match node.try_borrow() {
            Some(kind) => {
                opaque.push(false);
                for_each_child(&kind, |c| {
                    let j = add(c, &mut nodes, &mut internal);
                    internal[j] += 1;
                });
            }
            None => opaque.push(true),
        }
        i += 1;
    }
    // Live: held from outside (more handles than the subgraph's and ours), or opaque, and
    // everything reachable from those.
    let mut live: Vec<bool> = (0..nodes.len())
        .map(|i| opaque[i] || nodes[i].handle_count() > internal[i] + 1)
        .collect();
    let mut stack: Vec<usize> = (0..nodes.len()).filter(|&i| live[i]).collect();
    while let Some(i) = stack.pop() {
        let Some(kind) = nodes[i].try_borrow() else {
            continue;
        };
        for_each_child(&kind, |c| {
            let j = index[&c.addr()];
            if !live[j] {
                live[j] = true;
                stack.push(j);
            }
        });
    }
    let survivors = (0..nodes.len())
        .filter(|&i| live[i] && nodes[i].handle_count() > 2)
        .map(|i| nodes[i].downgrade())
        .collect();
    // Garbage: take the contents out first and drop them once no borrow is held, so the drops
    // (which release handles into the garbage itself) never meet a borrowed cell.
    let mut trash = Vec::new();
    for i in (0..nodes.len()).filter(|&i| !live[i]) {
        let kind = std::mem::replace(
            &mut *nodes[i].borrow_mut(),
            ObjectKind::Plain(Default::default()),
        );
        trash.push(kind);
    }
    let done = CycleCollection {
        scanned: nodes.len(),
        freed: trash.len(),
    };
    drop(nodes);
    drop(trash);
    (done, survivors)
}

//! The argument graph of a chain: one walk that both validates it and finds what resolution
//! has to rebuild ([`Analysis`]), the resolution itself ([`Run`]), and [`run_ops`], which runs
//! a chain's operations and resolves its arguments (the two recurse into each other through
//! nested markers, so they live in one file).
//!
//! Arguments are decoded structured-clone graphs, so they may share objects and contain
//! cycles: 48 levels of `[a, a]` are ~2 KB of wire text but 2^48 paths. Everything here works
//! on objects, not paths: each object is visited once (by handle identity), so cost is linear in
//! the size of the decoded graph, and a work budget ([`MAX_WORK`]) gives a clear error on top.

use super::dispatch::{Dispatch, MAX_ARGS, MAX_DEPTH};
use super::{is_nested_marker, marker_chain, ChainError, Operation, OperationChain};
use crate::context::Ctx;
use crate::structured_clone::{Object, ObjectKind, Props, Value};
use std::collections::{HashMap, HashSet};

/// Most steps one top-level run of a chain may take: objects visited in its argument graph
/// (once each, plus once per further reference to them), operations and arguments of the
/// nested-operation markers read, and nested objects rebuilt or operations run. Far above what
/// a real chain needs (a full 50-operation chain of 100 arguments each is 5,000), and low
/// enough that a turn ends in well under a second.
pub const MAX_WORK: usize = 1_000_000;

/// Deepest nesting of objects in a chain's arguments, counted from an argument (1) and through
/// nested-operation markers (a marker's arguments are one level below the marker). The same as
/// the codec's [`MAX_DEPTH`](crate::structured_clone::MAX_DEPTH), so whatever the codec writes
/// fits; but wire text can also chain aliases (`$ref`) into paths far longer than its own
/// nesting, and resolution recurses along paths: this bounds them.
pub const MAX_NESTING: usize = crate::structured_clone::MAX_DEPTH;

/// What one walk of a chain's argument graph found. Building it validates the chain.
pub(crate) struct Analysis {
    /// Objects whose resolution differs from themselves: markers, and arrays and plain objects
    /// from which a marker can be reached (without going through a marker).
    dirty: HashSet<usize>,
    /// The chain inside each marker, read once.
    markers: HashMap<usize, OperationChain>,
    /// Steps spent so far (carried into the run).
    work: usize,
    /// Every object visited, held so that no address in `dirty`/`markers` can be reused by a
    /// new object while this analysis lives (a handler may drop parts of its arguments).
    _keep: Vec<Object>,
}

struct Walker {
    seen: HashSet<usize>,
    /// `(child, parent)` edges between arrays/plain objects and their object children.
    edges: Vec<(usize, usize)>,
    markers: HashMap<usize, OperationChain>,
    keep: Vec<Object>,
    work: usize,
}

impl Walker {
    fn spend(&mut self, steps: usize) -> Result<(), ChainError> {
        self.work = self.work.saturating_add(steps);
        if self.work > MAX_WORK {
            return Err(ChainError::TooMuchWork { budget: MAX_WORK });
        }
        Ok(())
    }

    /// A chain's own limits, then its author-written arguments (one level below `depth`).
    fn chain(
        &mut self,
        chain: &OperationChain,
        depth: usize,
        level: usize,
    ) -> Result<(), ChainError> {
        check_shape(chain, level)?;
        for (oi, op) in chain.ops().iter().enumerate() {
            let Operation::Apply { args } = op else {
                continue;
            };
            self.spend(args.len())?;
            for (ai, arg) in args.iter().enumerate() {
                if !chain.is_data_arg(oi, ai) {
                    self.value(arg, depth + 1, level)?;
                }
            }
        }
        Ok(())
    }

    fn value(&mut self, value: &Value, depth: usize, level: usize) -> Result<(), ChainError> {
        let Some(obj) = value.as_object() else {
            return Ok(());
        };
        self.spend(1)?;
        let addr = obj.addr();
        if !self.seen.insert(addr) {
            return Ok(());
        }
        if depth > MAX_NESTING {
            return Err(ChainError::TooNested { max: MAX_NESTING });
        }
        self.keep.push(obj.clone());
        if is_nested_marker(value) {
            let chain = marker_chain(value)?;
            self.spend(chain.ops().len())?;
            self.chain(&chain, depth, level + 1)?;
            self.markers.insert(addr, chain);
            return Ok(());
        }
        // The children of an array or plain object; other kinds are leaves (markers in a `Map`
        // or an `Error` were never resolved, in the original either). Read in place: a shared
        // borrow held down the recursion (bounded by `MAX_NESTING`) is fine, as the walk
        // mutates nothing; copying the children cost an allocation and a count per child.
        let kind = obj.borrow();
        let children: &mut dyn Iterator<Item = &Value> = match &*kind {
            ObjectKind::Array(items) => &mut items.iter(),
            ObjectKind::Plain(props) => &mut props.iter().map(|(_, v)| v),
            _ => return Ok(()),
        };
        for child in children {
            if let Some(c) = child.as_object() {
                self.edges.push((c.addr(), addr));
            }
            self.value(child, depth + 1, level)?;
        }
        Ok(())
    }
}

/// The limits of one chain's own operations (its markers are checked as they are found).
fn check_shape(chain: &OperationChain, level: usize) -> Result<(), ChainError> {
    let ops = chain.ops();
    if ops.len() > MAX_DEPTH {
        return Err(ChainError::TooDeep {
            len: ops.len(),
            max: MAX_DEPTH,
        });
    }
    if level > MAX_DEPTH {
        return Err(ChainError::TooDeep {
            len: level,
            max: MAX_DEPTH,
        });
    }
    for op in ops {
        if let Operation::Apply { args } = op {
            if args.len() > MAX_ARGS {
                return Err(ChainError::TooManyArgs {
                    len: args.len(),
                    max: MAX_ARGS,
                });
            }
        }
    }
    Ok(())
}

impl Analysis {
    /// Walks `chain`'s argument graph once, validating it.
    pub(crate) fn of(chain: &OperationChain) -> Result<Analysis, ChainError> {
        let mut w = Walker {
            seen: HashSet::new(),
            edges: Vec::new(),
            markers: HashMap::new(),
            keep: Vec::new(),
            work: 0,
        };
        w.chain(chain, 0, 0)?;
        if w.markers.is_empty() {
            // Nothing to run, so nothing is dirty (most chains: jobs, results, continuations
            // whose arguments are plain data).
            return Ok(Analysis {
                dirty: HashSet::new(),
                markers: w.markers,
                work: w.work,
                _keep: w.keep,
            });
        }
        // Dirty = markers and everything that reaches one: a backward search over the edges
        // (linear, and correct on cycles, where a depth-first "does it contain a marker"
        // answer would depend on which node of the cycle was entered first).
        let mut parents: HashMap<usize, Vec<usize>> = HashMap::new();
        for (child, parent) in w.edges {
            parents.entry(child).or_default().push(parent);
        }
        let mut dirty: HashSet<usize> = w.markers.keys().copied().collect();
        let mut stack: Vec<usize> = dirty.iter().copied().collect();
        while let Some(node) = stack.pop() {
            for &p in parents.get(&node).map(Vec::as_slice).unwrap_or(&[]) {
                if dirty.insert(p) {
                    stack.push(p);
                }
            }
        }
        Ok(Analysis {
            dirty,
            markers: w.markers,
            work: w.work,
            _keep: w.keep,
        })
    }
}

/// The state of one object during a run.
enum Memo {
    /// Resolved: the marker's result, or the rebuilt array/object.
    Done(Value),
    /// An array/object being rebuilt at marker level `level`; `handle` is its (unfilled) copy.
    Building { level: usize, handle: Value },
    /// A marker whose chain is running.
    Running,
}

/// One top-level run of a chain and everything it runs through markers: the analysis, what is
/// resolved so far (each object once) and the work spent.
pub(crate) struct Run {
    analysis: Analysis,
    memo: HashMap<usize, Memo>,
    /// How many markers are running (0 for the top-level chain).
    level: usize,
}

impl Run {
    pub(crate) fn new(analysis: Analysis) -> Run {
        Run {
            analysis,
            memo: HashMap::new(),
            level: 0,
        }
    }

    pub(crate) fn spend(&mut self, steps: usize) -> Result<(), ChainError> {
        self.analysis.work = self.analysis.work.saturating_add(steps);
        if self.analysis.work > MAX_WORK {
            return Err(ChainError::TooMuchWork { budget: MAX_WORK });
        }
        Ok(())
    }

    pub(crate) fn level(&self) -> usize {
        self.level
    }

    /// The resolved form of an author-written argument at nesting `depth`: itself when no
    /// marker is reachable from it (identity kept); otherwise a copy with every marker replaced
    /// by its result. An object shared in the input is resolved once and shared in the output.
    pub(crate) fn resolve<T: Dispatch + ?Sized>(
        &mut self,
        target: &mut T,
        ctx: &Ctx<'_>,
        value: &Value,
        depth: usize,
    ) -> Result<Value, ChainError> {
        let Some(obj) = value.as_object() else {
            return Ok(value.clone());
        };
        let addr = obj.addr();
        if !self.analysis.dirty.contains(&addr) {
            return Ok(value.clone());
        }
        match self.memo.get(&addr) {
            Some(Memo::Done(v)) => return Ok(v.clone()),
            // A plain data cycle (`a = [a, marker]`): the copy refers to itself, like the input.
            Some(Memo::Building { level, handle }) if *level == self.level => {
                return Ok(handle.clone())
            }
            Some(Memo::Building { .. }) | Some(Memo::Running) => {
                return Err(ChainError::Malformed {
                    message: "a nested operation's arguments contain the value it is part of \
                              (a cycle through a nested operation)"
                        .into(),
                })
            }
            None => {}
        }
        self.spend(1)?;
        if depth > MAX_NESTING {
            // The analysis refuses this first; kept as the guard of this recursion.
            return Err(ChainError::TooNested { max: MAX_NESTING });
        }
        if let Some(chain) = self.analysis.markers.get(&addr).cloned() {
            self.memo.insert(addr, Memo::Running);
            self.level += 1;
            let result = run_ops(self, target, ctx, &chain, depth);
            self.level -= 1;
            let result = result?;
            self.memo.insert(addr, Memo::Done(result.clone()));
            return Ok(result);
        }
        let (items, keys) = match &*obj.borrow() {
            ObjectKind::Array(items) => (items.clone(), None),
            ObjectKind::Plain(props) => (
                props.iter().map(|(_, v)| v.clone()).collect(),
                Some(props.keys().map(str::to_string).collect::<Vec<_>>()),
            ),
            _ => return Ok(value.clone()),
        };
        let handle = Object::new(match keys {
            None => ObjectKind::Array(Vec::new()),
            Some(_) => ObjectKind::Plain(Props::new()),
        });
        self.memo.insert(
            addr,
            Memo::Building {
                level: self.level,
                handle: Value::Object(handle.clone()),
            },
        );
        let mut resolved = Vec::with_capacity(items.len());
        for item in &items {
            resolved.push(self.resolve(target, ctx, item, depth + 1)?);
        }
        *handle.borrow_mut() = match keys {
            None => ObjectKind::Array(resolved),
            Some(keys) => {
                let mut props = Props::with_capacity(keys.len());
                for (k, v) in keys.into_iter().zip(resolved) {
                    props.insert(k, v);
                }
                ObjectKind::Plain(props)
            }
        };
        let out = Value::Object(handle);
        self.memo.insert(addr, Memo::Done(out.clone()));
        Ok(out)
    }
}

/// Runs one chain's operations: the top-level chain (`depth` 0) or a marker's (at the marker's
/// nesting `depth`), within `run`.
pub(super) fn run_ops<T: Dispatch + ?Sized>(
    run: &mut Run,
    target: &mut T,
    ctx: &Ctx<'_>,
    chain: &OperationChain,
    depth: usize,
) -> Result<Value, ChainError> {
    let ops = chain.ops();
    if ops.len() > MAX_DEPTH || run.level() > MAX_DEPTH {
        return Err(ChainError::TooDeep {
            len: ops.len().max(run.level()),
            max: MAX_DEPTH,
        });
    }
    if ops.is_empty() {
        return Err(ChainError::Malformed {
            message: "empty operation chain".into(),
        });
    }
    let mut path: Vec<&str> = Vec::new();
    let mut current: Option<Value> = None;
    for (index, op) in ops.iter().enumerate() {
        run.spend(1)?;
        match op {
            Operation::Get { key } => match current.take() {
                Some(value) => current = Some(read_property(&value, key, index)?),
                None => path.push(key),
            },
            Operation::Apply { args } => {
                if current.is_some() {
                    return Err(ChainError::NotCallable {
                        index,
                        message: "a returned value cannot be called".into(),
                    });
                }
                if path.is_empty() {
                    return Err(ChainError::NotCallable {
                        index,
                        message: "apply without a method name before it".into(),
                    });
                }
                if args.len() > MAX_ARGS {
                    return Err(ChainError::TooManyArgs {
                        len: args.len(),
                        max: MAX_ARGS,
                    });
                }
                let mut resolved = Vec::with_capacity(args.len());
                for (i, arg) in args.iter().enumerate() {
                    if chain.is_data_arg(index, i) {
                        // Substituted data: passed as it is, never searched for markers.
                        resolved.push(arg.clone());
                    } else {
                        resolved.push(run.resolve(target, ctx, arg, depth + 1)?);
                    }
                }
                let method = path.join(".");
                path.clear();
                let _running = ctx.handler_running();
                current = Some(target.dispatch(ctx, &method, resolved)?);
            }
        }
    }
    match current {
        Some(value) if path.is_empty() => Ok(value),
        Some(_) => unreachable!("gets after a call are folded into `current`"),
        None if path == ["$result"] => Ok(Value::Undefined),
        None => Err(ChainError::NotCallable {
            index: ops.len() - 1,
            message: format!(
                "`{}` is read but never called (only handler methods can be reached)",
                path.join(".")
            ),
        }),
    }
}

fn read_property(value: &Value, key: &str, index: usize) -> Result<Value, ChainError> {
    let Some(obj) = value.as_object() else {
        return Err(ChainError::NotCallable {
            index,
            message: format!("cannot read `{key}` of a primitive"),
        });
    };
    let out = match &*obj.borrow() {
        ObjectKind::Plain(props) => props.get(key).cloned().unwrap_or(Value::Undefined),
        ObjectKind::Array(items) => match key {
            "length" => Value::from(items.len() as f64),
            _ => key
                .parse::<usize>()
                .ok()
                .and_then(|i| items.get(i).cloned())
                .unwrap_or(Value::Undefined),
        },
        _ => {
            return Err(ChainError::NotCallable {
                index,
                message: format!("cannot read `{key}` of {value:?}"),
            })
        }
    };
    Ok(out)
}

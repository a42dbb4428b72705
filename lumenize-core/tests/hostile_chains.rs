//! Operation chains under hostile input (issue 14, items 1, 2 and 5): shared and cyclic
//! argument graphs resolve in linear work, delivered results never execute, and every chain a
//! writer accepts, the reader accepts.
//!
//! Every test bounds its own work with a dispatch counter that fails the test (rather than
//! letting it run for 2^48 steps) when resolution does more than it should.

use lumenize_core::context::Ctx;
use lumenize_core::ocan::{
    ctn, execute_chain, is_nested_marker, result_marker, run_continuation, ChainError, Dispatch,
    OperationChain,
};
use lumenize_core::structured_clone::{self, Object, ObjectKind, Value};
use proptest::prelude::*;

mod detached;
use detached::with_ctx;

/// Past this many dispatches in one test, resolution is running away: fail at once.
const DISPATCH_GUARD: usize = 10_000;

/// A target that counts what runs: `leaf` returns 1, `top`/`got` keep their arguments, and
/// `steal` is the method a hostile result must never reach.
#[derive(Default)]
struct Target {
    dispatches: usize,
    leaf: usize,
    stolen: usize,
    received: Vec<Vec<Value>>,
}

impl Dispatch for Target {
    fn type_name(&self) -> &'static str {
        "Target"
    }

    fn dispatch(
        &mut self,
        _ctx: &Ctx<'_>,
        method: &str,
        args: Vec<Value>,
    ) -> Result<Value, ChainError> {
        self.dispatches += 1;
        assert!(
            self.dispatches <= DISPATCH_GUARD,
            "resolution ran away: more than {DISPATCH_GUARD} dispatches"
        );
        match method {
            "leaf" => {
                self.leaf += 1;
                Ok(Value::from(1.0))
            }
            "steal" => {
                self.stolen += 1;
                Ok(Value::from("stolen"))
            }
            "top" | "got" => {
                self.received.push(args);
                Ok(Value::Undefined)
            }
            other => Err(ChainError::UnknownMethod {
                target: "Target".into(),
                method: other.into(),
            }),
        }
    }
}

fn obj(v: &Value) -> &Object {
    v.as_object().expect("an object")
}

fn items(v: &Value) -> Vec<Value> {
    v.as_array().expect("an array")
}

/// Wire text of a chain as an older writer (without the checks) would have written it.
fn unchecked_wire(chain: &OperationChain) -> String {
    structured_clone::stringify(&chain.to_value()).expect("encodable")
}

/// Item 2: 48 levels of `[a, a]` with a nested operation at the bottom are ~2 KB of wire text
/// and 2^48 paths; resolution must run the marker once and keep the sharing.
#[test]
fn doubly_shared_levels_resolve_each_object_once() {
    let mut level = Value::array([ctn().call("leaf", vec![]).nested()]);
    for _ in 0..48 {
        level = Value::array([level.clone(), level.clone()]);
    }
    let text = unchecked_wire(&ctn().call("top", vec![level]));
    assert!(
        text.len() < 4_096,
        "the attack is small: {} bytes",
        text.len()
    );
    let chain = OperationChain::parse(&text).expect("a valid chain");
    with_ctx(|ctx| {
        let mut t = Target::default();
        execute_chain(&mut t, ctx, &chain).expect("runs");
        assert_eq!(t.leaf, 1, "the shared marker runs once");
        assert_eq!(t.dispatches, 2, "leaf, then top");
        // A node shared twice in the input is one resolved node shared twice in the output.
        let mut node = t.received[0][0].clone();
        for _ in 0..48 {
            let pair = items(&node);
            assert!(obj(&pair[0]).ptr_eq(obj(&pair[1])));
            node = pair[0].clone();
        }
        assert_eq!(items(&node)[0].as_f64(), Some(1.0));
    });
}

/// A data cycle that holds a marker keeps its shape: `a = [a, leaf()]` becomes `a' = [a', 1]`.
#[test]
fn a_cycle_through_data_resolves_to_the_same_cycle() {
    let a = Value::array([]);
    let marker = ctn().call("leaf", vec![]).nested();
    *obj(&a).borrow_mut() = ObjectKind::Array(vec![a.clone(), marker]);
    let text = unchecked_wire(&ctn().call("top", vec![a.clone()]));
    // Break the in-memory cycle so the test does not leak it.
    *obj(&a).borrow_mut() = ObjectKind::Array(vec![]);
    let chain = OperationChain::parse(&text).expect("a valid chain");
    with_ctx(|ctx| {
        let mut t = Target::default();
        execute_chain(&mut t, ctx, &chain).expect("runs");
        assert_eq!(t.leaf, 1);
        let resolved = t.received[0][0].clone();
        let parts = items(&resolved);
        assert!(obj(&parts[0]).ptr_eq(obj(&resolved)), "still a cycle");
        assert_eq!(parts[1].as_f64(), Some(1.0));
        *obj(&resolved).borrow_mut() = ObjectKind::Array(vec![]);
    });
    // The decoded input cycle, held by the chain.
    for op in chain.ops() {
        if let lumenize_core::ocan::Operation::Apply { args } = op {
            for arg in args {
                if let Some(o) = arg.as_object() {
                    *o.borrow_mut() = ObjectKind::Array(vec![]);
                }
            }
        }
    }
}

/// A marker whose own arguments contain the array it sits in can never be resolved: a clear
/// error, not endless recursion.
#[test]
fn a_cycle_through_a_marker_is_an_error() {
    let a = Value::array([]);
    let marker = ctn().call("leaf", vec![a.clone()]).nested();
    *obj(&a).borrow_mut() = ObjectKind::Array(vec![marker]);
    let chain = ctn().call("top", vec![a.clone()]);
    let result = with_ctx(|ctx| {
        let mut t = Target::default();
        let r = execute_chain(&mut t, ctx, &chain);
        assert_eq!(t.dispatches, 0);
        r
    });
    *obj(&a).borrow_mut() = ObjectKind::Array(vec![]);
    let e = result.unwrap_err();
    assert!(e.to_string().contains("cycle"), "{e}");
}

/// Item 5: a continuation's `$result` is data. A stored document shaped like a nested-operation
/// marker, returned by another object, must reach the handler as it is and run nothing.
#[test]
fn a_result_shaped_like_a_marker_does_not_run_the_callers_methods() {
    let continuation = ctn()
        .call("got", vec![Value::from("req-1"), result_marker()])
        .stringify()
        .unwrap();
    let document = ctn().call("steal", vec![]).nested();
    let wrapped = Value::object([("doc", ctn().call("steal", vec![]).nested())]);
    for hostile in [document, wrapped] {
        let outcome = Ok(structured_clone::stringify(&hostile).unwrap());
        with_ctx(|ctx| {
            let mut t = Target::default();
            run_continuation(&mut t, ctx, &continuation, &outcome).expect("runs");
            assert_eq!(t.stolen, 0, "the result ran as code");
            assert_eq!(t.dispatches, 1);
            let got = &t.received[0][1];
            let inner = got.get("doc").unwrap_or_else(|| got.clone());
            assert!(is_nested_marker(&inner), "delivered unchanged");
        });
    }
}

/// The same after the filled chain crosses the wire (the orchestrated design and the direct
/// fetch send a filled continuation to the origin as a chain).
#[test]
fn a_filled_continuation_stays_data_across_the_wire() {
    let hostile = Value::array([ctn().call("steal", vec![]).nested()]);
    for continuation in [
        ctn().call("got", vec![result_marker()]),
        ctn().call("got", vec![Value::from(1.0)]), // implicit: the result is appended
    ] {
        let filled = continuation.with_result(hostile.clone());
        let sent = OperationChain::parse(&filled.stringify().unwrap()).unwrap();
        with_ctx(|ctx| {
            let mut t = Target::default();
            execute_chain(&mut t, ctx, &sent).expect("runs");
            execute_chain(&mut t, ctx, &filled).expect("runs");
            assert_eq!(t.stolen, 0, "the result ran as code");
            assert_eq!(t.dispatches, 2);
        });
    }
    // The author's own markers still run, next to a substituted result.
    let mine = ctn().call(
        "got",
        vec![Value::array([ctn().call("leaf", vec![]).nested()])],
    );
    let filled = mine.with_result(hostile);
    let sent = OperationChain::parse(&filled.stringify().unwrap()).unwrap();
    with_ctx(|ctx| {
        let mut t = Target::default();
        execute_chain(&mut t, ctx, &sent).expect("runs");
        assert_eq!((t.leaf, t.stolen), (1, 0));
    });
}

/// Item 1: the writer refuses what the reader would refuse, at the exact limits.
#[test]
fn writers_refuse_exactly_what_readers_refuse() {
    let ok_args = ctn().call("m", vec![Value::Null; 100]);
    OperationChain::parse(&ok_args.stringify().unwrap()).unwrap();
    let e = ctn()
        .call("m", vec![Value::Null; 101])
        .stringify()
        .unwrap_err();
    assert!(
        matches!(e, ChainError::TooManyArgs { len: 101, max: 100 }),
        "{e}"
    );
    let ops = |n: usize| {
        (1..n)
            .fold(ctn(), |c, i| c.get(format!("k{i}")))
            .apply(vec![])
    };
    OperationChain::parse(&ops(50).stringify().unwrap()).unwrap();
    assert!(matches!(
        ops(51).stringify().unwrap_err(),
        ChainError::TooDeep { len: 51, max: 50 }
    ));
    // A nested marker's operations and arguments count too.
    let inner = ctn().call("m", vec![Value::Null; 101]).nested();
    let e = ctn()
        .call("m", vec![Value::array([inner.clone()])])
        .stringify()
        .unwrap_err();
    assert!(matches!(e, ChainError::TooManyArgs { len: 101, .. }), "{e}");
    // Which the reader refuses as well, if an older writer stored it.
    let old = unchecked_wire(&ctn().call("m", vec![Value::array([inner])]));
    assert!(OperationChain::parse(&old).is_err());
    // A continuation must have room for its result.
    let full = ctn().call("m", vec![Value::Null; 100]);
    assert!(full.stringify_continuation().is_err());
    let with_marker = ctn().call("m", {
        let mut v = vec![Value::Null; 99];
        v.push(result_marker());
        v
    });
    with_marker.stringify_continuation().unwrap();
}

// ---------------------------------------------------------------------------------------------
// Property tests.

/// A value nested `depth` arrays deep, optionally with a marker at the bottom.
fn nested_value(depth: usize, marker: bool) -> Value {
    let mut v = if marker {
        ctn().call("leaf", vec![]).nested()
    } else {
        Value::from(1.0)
    };
    for _ in 0..depth {
        v = Value::array([v]);
    }
    v
}

fn boundary_chain() -> impl Strategy<Value = OperationChain> {
    (
        45usize..=55,   // operations of the outer chain
        95usize..=105,  // arguments of its last apply
        45usize..=55,   // operations of a nested marker
        95usize..=105,  // arguments of the marker's apply
        115usize..=135, // how deep a value is nested
        any::<bool>(),  // a marker at the bottom of the deep value
        any::<bool>(),  // share the deep value twice
    )
        .prop_map(|(ops, args, m_ops, m_args, depth, marker, share)| {
            let marker_chain = (1..m_ops)
                .fold(ctn(), |c, i| c.get(format!("m{i}")))
                .apply(vec![Value::from(0.0); m_args]);
            let deep = nested_value(depth, marker);
            let mut last = vec![Value::Null; args.saturating_sub(3)];
            last.push(marker_chain.nested());
            last.push(deep.clone());
            if share {
                last.push(deep);
            }
            (1..ops)
                .fold(ctn(), |c, i| c.get(format!("k{i}")))
                .apply(last)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Every chain a writer accepts, the reader accepts, and reads back to the same text.
    #[test]
    fn what_the_writer_writes_the_reader_reads(chain in boundary_chain()) {
        if let Ok(text) = chain.stringify() {
            let back = OperationChain::parse(&text);
            prop_assert!(back.is_ok(), "written but refused: {:?}", back.err());
            prop_assert_eq!(back.unwrap().stringify().unwrap(), text);
        }
        if let Ok(text) = chain.stringify_continuation() {
            let back = OperationChain::parse(&text).unwrap();
            let filled = back.with_result(Value::Null).stringify();
            prop_assert!(filled.is_ok(), "filled continuation refused: {:?}", filled.err());
        }
    }
}

/// One generated argument graph: nodes are arrays, plain objects or markers; edges may point
/// anywhere (shared handles, cycles); `hostile` nodes are built for the delivered result.
#[derive(Debug, Clone)]
struct GraphSpec {
    kinds: Vec<u8>,
    edges: Vec<(usize, usize)>,
}

fn graph_spec() -> impl Strategy<Value = GraphSpec> {
    (1usize..40).prop_flat_map(|n| {
        (
            proptest::collection::vec(0u8..4, n),
            proptest::collection::vec((0..n, 0..n), 0..(3 * n)),
        )
            .prop_map(|(kinds, edges)| GraphSpec { kinds, edges })
    })
}

/// Builds the graph: kind 0 array, 1 plain object, 2 marker calling `method` with its children
/// as arguments, 3 array holding a number. Returns the nodes (node 0 is the root).
fn build(spec: &GraphSpec, method: &str) -> Vec<Value> {
    let nodes: Vec<Value> = spec
        .kinds
        .iter()
        .map(|k| match k {
            1 => Value::object::<String>([]),
            _ => Value::array([]),
        })
        .collect();
    let mut children: Vec<Vec<Value>> = vec![Vec::new(); nodes.len()];
    for &(from, to) in &spec.edges {
        children[from].push(nodes[to].clone());
    }
    for (i, node) in nodes.iter().enumerate() {
        let kids = std::mem::take(&mut children[i]);
        let kind = match spec.kinds[i] {
            1 => ObjectKind::Plain({
                let mut p = lumenize_core::structured_clone::Props::new();
                for (j, k) in kids.into_iter().enumerate() {
                    p.insert(format!("p{j}"), k);
                }
                p
            }),
            2 => {
                // A marker: `{__isNestedOperation, __operationChain}` calling `method(kids..)`.
                let m = ctn()
                    .call(method, kids.into_iter().take(100).collect())
                    .nested();
                let inner = m.as_object().unwrap().borrow().clone();
                inner
            }
            3 => ObjectKind::Array(vec![Value::from(2.0)]),
            _ => ObjectKind::Array(kids),
        };
        *obj(node).borrow_mut() = kind;
    }
    nodes
}

/// Empties every node so the generated cycles are freed.
fn unlink(nodes: &[Value]) {
    for n in nodes {
        *obj(n).borrow_mut() = ObjectKind::Array(Vec::new());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Alias DAGs and cycles, markers at the leaves and in the middle, and a hostile delivered
    /// result: the run ends (or fails cleanly) with at most one dispatch per marker plus the
    /// call itself, and nothing in the delivered result runs.
    #[test]
    fn shared_and_cyclic_graphs_run_in_bounded_work(author in graph_spec(), result in graph_spec()) {
        let mine = build(&author, "leaf");
        let theirs = build(&result, "steal");
        let markers = author.kinds.iter().filter(|k| **k == 2).count();
        let continuation = ctn().call("got", vec![mine[0].clone(), result_marker()]);
        let filled = continuation.with_result(theirs[0].clone());
        let outcome = with_ctx(|ctx| {
            let mut t = Target::default();
            let direct = execute_chain(&mut t, ctx, &filled);
            // The same through the wire, when the graph can be written.
            let wired = filled.stringify().ok().map(|text| {
                let back = OperationChain::parse(&text).expect("written, so readable");
                let r = execute_chain(&mut t, ctx, &back);
                unlink(&chain_values(&back));
                r
            });
            (t.dispatches, t.leaf, t.stolen, direct.is_ok(), wired.map(|r| r.is_ok()))
        });
        unlink(&mine);
        unlink(&theirs);
        let (dispatches, leaf, stolen, _direct_ok, _wired_ok) = outcome;
        prop_assert_eq!(stolen, 0, "a delivered result ran as code");
        prop_assert!(leaf <= 2 * markers, "{} leaf runs for {} markers", leaf, markers);
        prop_assert!(dispatches <= 2 * (markers + 1));
    }
}

/// Every object reachable from a chain's arguments (to unlink decoded cycles).
fn chain_values(chain: &OperationChain) -> Vec<Value> {
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut stack: Vec<Value> = chain
        .ops()
        .iter()
        .flat_map(|op| match op {
            lumenize_core::ocan::Operation::Apply { args } => args.clone(),
            _ => Vec::new(),
        })
        .collect();
    while let Some(v) = stack.pop() {
        let Some(o) = v.as_object() else { continue };
        if !seen.insert(o.addr()) {
            continue;
        }
        match &*o.borrow() {
            ObjectKind::Array(items) => stack.extend(items.iter().cloned()),
            ObjectKind::Plain(p) => stack.extend(p.iter().map(|(_, v)| v.clone())),
            _ => {}
        }
        out.push(v.clone());
    }
    out
}

/// A small message with much to read: distinct markers sharing one long chain. Each marker's
/// operations and arguments count; past the budget, a clear error before anything runs.
#[test]
fn the_work_budget_stops_a_small_message_with_much_to_read() {
    let long = (0..25).fold(ctn(), |c, i| {
        c.call(format!("m{i}"), vec![Value::Null; 100])
    });
    let shared = long.to_value();
    let markers: Vec<Value> = (0..500)
        .map(|_| {
            Value::object([
                ("__isNestedOperation", Value::Bool(true)),
                ("__operationChain", shared.clone()),
            ])
        })
        .collect();
    let chain = ctn().call("top", vec![Value::array(markers)]);
    let budget = lumenize_core::ocan::MAX_WORK;
    assert_eq!(chain.validate(), Err(ChainError::TooMuchWork { budget }));
    assert_eq!(
        chain.stringify().unwrap_err(),
        ChainError::TooMuchWork { budget }
    );
    let text = unchecked_wire(&chain);
    assert!(text.len() < 64 * 1024, "{} bytes", text.len());
    assert_eq!(
        OperationChain::parse(&text).unwrap_err(),
        ChainError::TooMuchWork { budget }
    );
    with_ctx(|ctx| {
        let mut t = Target::default();
        let e = execute_chain(&mut t, ctx, &chain).unwrap_err();
        assert_eq!(e, ChainError::TooMuchWork { budget });
        assert_eq!(t.dispatches, 0);
    });
}

/// Wire text whose aliases chain `arrays` arrays, each holding the next, the last holding a
/// nested `leaf()`: a path `arrays + 1` objects long in text only a few levels deep.
fn alias_path_text(arrays: usize) -> String {
    let marker = r#"{"__isNestedOperation":true,"__operationChain":[{"type":"get","key":"leaf"},{"type":"apply","args":[]}]}"#;
    let aliases: Vec<String> = (0..arrays)
        .map(|i| {
            let body = if i + 1 == arrays {
                format!("[{marker}]")
            } else {
                format!(r#"[{{"$ref":{}}}]"#, i + 1)
            };
            format!(r#""{i}":{body}"#)
        })
        .collect();
    format!(
        r#"{{"json":[{{"type":"get","key":"top"}},{{"type":"apply","args":[{{"$ref":0}}]}}],"meta":{{"aliases":{{{}}}}}}}"#,
        aliases.join(",")
    )
}

/// Aliases let a short, shallow text hold a long path; a path longer than `MAX_NESTING` is
/// refused by writer and reader alike, before resolution recurses along it.
#[test]
fn paths_deeper_than_the_nesting_limit_are_refused_by_writer_and_reader() {
    let max = lumenize_core::ocan::MAX_NESTING;
    // The argument is at depth 1, so `max - 1` arrays put the marker exactly at the limit.
    let fits = OperationChain::parse(&alias_path_text(max - 1)).expect("at the limit");
    with_ctx(|ctx| {
        let mut t = Target::default();
        execute_chain(&mut t, ctx, &fits).unwrap();
        assert_eq!(t.leaf, 1);
    });
    assert_eq!(
        OperationChain::parse(&alias_path_text(max)).unwrap_err(),
        ChainError::TooNested { max }
    );
    // The same in memory: the writer refuses it, and so does a direct run.
    let mut v = Value::array([ctn().call("leaf", vec![]).nested()]);
    for _ in 0..max {
        v = Value::array([v]);
    }
    let too_deep = ctn().call("top", vec![v]);
    assert_eq!(too_deep.validate(), Err(ChainError::TooNested { max }));
    assert!(too_deep.stringify().is_err());
    with_ctx(|ctx| {
        let mut t = Target::default();
        let e = execute_chain(&mut t, ctx, &too_deep).unwrap_err();
        assert_eq!(e, ChainError::TooNested { max });
        assert_eq!(t.dispatches, 0);
    });
}

//! Issue 14, item 2 (the codec side): a graph with shared references expands exponentially
//! when walked as a tree. The serde bridge (`from_value`), the fetch body conversion
//! (`FetchRequest::from_value` / `FetchResponse::from_value`, i.e. `value_to_json`) and the raw
//! body writer (`stringify` of a `RequestSync`/`ResponseSync`) must each cost work linear in the
//! decoded graph or refuse with a clear error; cycles are refused.
//!
//! The counting allocator refuses to allocate beyond a cap, so an exponential expansion aborts
//! this binary quickly (a bounded failure) instead of exhausting the machine.

mod alloc_counter;

use alloc_counter::measure;
use lumenize_core::fetch::{FetchRequest, FetchResponse};
use lumenize_core::structured_clone::{
    from_value, parse, stringify, Object, ObjectKind, RequestSync, ResponseSync, Value,
};

#[global_allocator]
static ALLOC: alloc_counter::Counting = alloc_counter::Counting;

/// Wire text of `levels` arrays, each holding the next one twice, with a small object at the
/// bottom: `levels` aliases, a tree of 2^levels leaves.
fn bomb_text(levels: usize) -> String {
    let mut aliases = Vec::new();
    for i in 0..levels {
        aliases.push(format!(
            r#""{i}":[{{"$ref":{n}}},{{"$ref":{n}}}]"#,
            n = i + 1
        ));
    }
    aliases.push(format!(r#""{levels}":{{"leaf":"x"}}"#));
    format!(
        r#"{{"json":{{"$ref":0}},"meta":{{"aliases":{{{}}}}}}}"#,
        aliases.join(",")
    )
}

/// The tree expansion of `bomb_text(levels)` as JSON.
fn bomb_json(levels: usize) -> serde_json::Value {
    let mut j = serde_json::json!({"leaf": "x"});
    for _ in 0..levels {
        j = serde_json::Value::Array(vec![j.clone(), j]);
    }
    j
}

fn request_with_body(body: Value) -> Value {
    Value::Object(Object::new(ObjectKind::RequestSync(RequestSync {
        url: "https://example.com/".into(),
        method: "POST".into(),
        headers: Value::Null,
        body,
    })))
}

fn response_with_body(body: Value) -> Value {
    Value::Object(Object::new(ObjectKind::ResponseSync(ResponseSync {
        status: 200,
        status_text: "OK".into(),
        headers: Value::Null,
        body,
    })))
}

/// Allocations a refused conversion may make: the expansion budget (2^20 units) plus a little.
const REFUSAL_ALLOCS: u64 = 4 << 20;

#[test]
fn from_value_refuses_an_exponential_expansion() {
    let text = bomb_text(48);
    assert!(text.len() < 2048, "{} bytes", text.len());
    let v = parse(&text).unwrap();
    let (r, allocs, _) = measure(|| from_value::<serde_json::Value>(&v));
    let e = r.unwrap_err();
    assert!(e.message.contains("expansion budget"), "{e}");
    assert!(e.path.starts_with("value"), "{e}");
    assert!(allocs < REFUSAL_ALLOCS, "{allocs} allocations");
}

#[test]
fn value_to_json_refuses_an_exponential_expansion() {
    let v = parse(&bomb_text(48)).unwrap();
    let (r, allocs, _) = measure(|| FetchRequest::from_value(&request_with_body(v.clone())));
    let e = r.unwrap_err().to_string();
    assert!(e.contains("expansion budget"), "{e}");
    assert!(allocs < REFUSAL_ALLOCS, "{allocs} allocations");
    let (r, allocs, _) = measure(|| FetchResponse::from_value(&response_with_body(v.clone())));
    assert!(r.is_none());
    assert!(allocs < REFUSAL_ALLOCS, "{allocs} allocations");
}

#[test]
fn raw_body_writer_refuses_an_exponential_expansion() {
    let v = parse(&bomb_text(48)).unwrap();
    for value in [request_with_body(v.clone()), response_with_body(v.clone())] {
        let (r, allocs, _) = measure(|| stringify(&value));
        let e = r.unwrap_err();
        assert!(e.message.contains("expansion budget"), "{e}");
        assert!(e.path.starts_with("json.data.body"), "{e}");
        assert!(allocs < REFUSAL_ALLOCS, "{allocs} allocations");
    }
}

#[test]
fn modest_sharing_still_converts_as_a_tree() {
    // 2^10 leaves from 11 objects: well inside the budget.
    let levels = 10;
    let v = parse(&bomb_text(levels)).unwrap();
    let want = bomb_json(levels);
    assert_eq!(from_value::<serde_json::Value>(&v).unwrap(), want);

    let req = FetchRequest::from_value(&request_with_body(v.clone())).unwrap();
    let body: serde_json::Value = serde_json::from_slice(&req.body.unwrap()).unwrap();
    assert_eq!(body, want);
    let resp = FetchResponse::from_value(&response_with_body(v.clone())).unwrap();
    let lumenize_core::fetch::Body::Json(text) = &resp.body else {
        panic!("expected JSON, got {:?}", resp.body)
    };
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(text).unwrap(),
        want
    );

    // The raw body repeats a shared object, as JSON.stringify does.
    let text = stringify(&request_with_body(v)).unwrap();
    let back = parse(&text).unwrap();
    let ObjectKind::RequestSync(r) = &*back.as_object().unwrap().borrow() else {
        panic!("expected a RequestSync");
    };
    assert_eq!(from_value::<serde_json::Value>(&r.body).unwrap(), want);
}

/// `[x, x]` with `x = {"me": x}` style self references, built by hand.
fn cyclic() -> Value {
    let inner = Value::object([("name", Value::from("loop"))]);
    if let ObjectKind::Plain(p) = &mut *inner.as_object().unwrap().borrow_mut() {
        p.insert("me", inner.clone());
    }
    Value::array([inner.clone(), inner])
}

fn break_cycle(v: &Value) {
    if let Some(items) = v.as_array() {
        for item in items {
            if let Some(o) = item.as_object() {
                *o.borrow_mut() = ObjectKind::Plain(Default::default());
            }
        }
    }
}

#[test]
fn cycles_are_refused_with_a_clear_error() {
    let v = cyclic();
    let e = from_value::<serde_json::Value>(&v).unwrap_err();
    assert!(e.message.contains("cycle"), "{e}");
    assert_eq!(e.path, "value[0].me");
    let e = FetchRequest::from_value(&request_with_body(v.clone()))
        .unwrap_err()
        .to_string();
    assert!(e.contains("cycle"), "{e}");
    let e = stringify(&request_with_body(v.clone())).unwrap_err();
    assert!(e.message.contains("circular"), "{e}");
    assert_eq!(e.path, "json.data.body[0].me");
    break_cycle(&v);
}

// ---- graph-shaped fuzzing ------------------------------------------------------------------

mod fuzz {
    use super::*;
    use alloc_counter::thread_net_bytes;
    use lumenize_core::structured_clone::collect_cycles;
    use proptest::prelude::*;

    /// What one slot of a node holds.
    #[derive(Clone, Debug)]
    enum Slot {
        Int(i32),
        /// A string of this many bytes (long ones spend the expansion budget quickly).
        Text(usize),
        /// A handle to node `n` (modulo the node count).
        Ref(usize),
    }

    /// A generated graph: node 0 is the root; each node is an array or a plain object.
    #[derive(Clone, Debug)]
    struct Graph {
        nodes: Vec<(bool, Vec<Slot>)>,
        /// Refs may point backwards (cycles) when true; otherwise only forwards (a DAG).
        cyclic: bool,
    }

    fn graph() -> impl Strategy<Value = Graph> {
        let slot = prop_oneof![
            2 => any::<i32>().prop_map(Slot::Int),
            2 => prop_oneof![Just(0usize), Just(7), Just(2_000), Just(40_000)].prop_map(Slot::Text),
            5 => (0usize..64).prop_map(Slot::Ref),
        ];
        let random = (
            prop::collection::vec((any::<bool>(), prop::collection::vec(slot, 0..5)), 1..13),
            prop::bool::weighted(0.3),
        )
            .prop_map(|(nodes, cyclic)| Graph { nodes, cyclic });
        // Diamond chains: each level holds the next one two or three times, a long string at
        // the bottom (so a bomb spends its budget in few visits and the test stays quick).
        let bomb = (
            prop::collection::vec((any::<bool>(), 2usize..4, any::<i32>()), 3..25),
            2_000usize..40_000,
        )
            .prop_map(|(levels, text)| {
                let n = levels.len();
                let mut nodes: Vec<(bool, Vec<Slot>)> = levels
                    .into_iter()
                    .map(|(array, fan, x)| {
                        let mut slots = vec![Slot::Ref(1); fan];
                        slots.push(Slot::Int(x));
                        (array, slots)
                    })
                    .collect();
                nodes[n - 1].1 = vec![Slot::Text(text)];
                Graph {
                    nodes,
                    cyclic: false,
                }
            });
        prop_oneof![3 => random, 1 => bomb]
    }

    impl Graph {
        /// The node a `Ref(r)` slot of node `i` points to, if any.
        fn target(&self, i: usize, r: usize) -> Option<usize> {
            let n = self.nodes.len();
            if self.cyclic {
                Some(r % n)
            } else if i + 1 < n {
                // Mostly the next two nodes: long diamond chains, whose expansion is exponential.
                let span = if r % 4 == 0 {
                    n - i - 1
                } else {
                    (n - i - 1).min(2)
                };
                Some(i + 1 + (r / 4) % span)
            } else {
                None
            }
        }

        /// Builds the value graph (only the root handle is returned: single-handle nodes stay
        /// untracked by the walks, as in decoded data).
        fn build(&self) -> Value {
            let objs: Vec<Object> = self
                .nodes
                .iter()
                .map(|(array, _)| {
                    Object::new(if *array {
                        ObjectKind::Array(Vec::new())
                    } else {
                        ObjectKind::Plain(Default::default())
                    })
                })
                .collect();
            for (i, (_, slots)) in self.nodes.iter().enumerate() {
                let values: Vec<Value> = slots
                    .iter()
                    .map(|s| match s {
                        Slot::Int(x) => Value::from(*x),
                        Slot::Text(len) => Value::from("t".repeat(*len)),
                        Slot::Ref(r) => match self.target(i, *r) {
                            Some(j) => Value::Object(objs[j].clone()),
                            None => Value::Null,
                        },
                    })
                    .collect();
                *objs[i].borrow_mut() = match self.nodes[i].0 {
                    true => ObjectKind::Array(values),
                    false => ObjectKind::Plain(
                        values
                            .into_iter()
                            .enumerate()
                            .map(|(k, v)| (format!("k{k}"), v))
                            .collect(),
                    ),
                };
            }
            Value::Object(objs[0].clone())
        }

        fn slot_units(s: &Slot) -> u128 {
            match s {
                Slot::Text(len) => 1 + *len as u128,
                _ => 1,
            }
        }

        /// Whether a cycle is reachable from the root.
        fn reaches_cycle(&self) -> bool {
            fn go(g: &Graph, i: usize, state: &mut [u8]) -> bool {
                if state[i] == 1 {
                    return true;
                }
                if state[i] == 2 {
                    return false;
                }
                state[i] = 1;
                for s in &g.nodes[i].1 {
                    if let Slot::Ref(r) = s {
                        if let Some(j) = g.target(i, *r) {
                            if go(g, j, state) {
                                return true;
                            }
                        }
                    }
                }
                state[i] = 2;
                false
            }
            go(self, 0, &mut vec![0; self.nodes.len()])
        }

        /// (units of the distinct nodes reachable from the root, units of the tree expansion);
        /// for an acyclic graph.
        fn units(&self) -> (u128, u128) {
            fn tree(g: &Graph, i: usize, memo: &mut [Option<u128>]) -> u128 {
                if let Some(t) = memo[i] {
                    return t;
                }
                let mut t = 1;
                for s in &g.nodes[i].1 {
                    t += match s {
                        Slot::Ref(r) => match g.target(i, *r) {
                            Some(j) => tree(g, j, memo),
                            None => 1,
                        },
                        other => Graph::slot_units(other),
                    };
                }
                memo[i] = Some(t);
                t
            }
            let n = self.nodes.len();
            let tree = tree(self, 0, &mut vec![None; n]);
            let mut seen = vec![false; n];
            let mut stack = vec![0];
            let mut graph = 0;
            while let Some(i) = stack.pop() {
                if std::mem::replace(&mut seen[i], true) {
                    continue;
                }
                graph += 1;
                for s in &self.nodes[i].1 {
                    match s {
                        Slot::Ref(r) => match self.target(i, *r) {
                            Some(j) => stack.push(j),
                            None => graph += 1,
                        },
                        other => graph += Self::slot_units(other),
                    }
                }
            }
            (graph, tree)
        }

        /// The tree expansion as JSON (acyclic graphs of modest expansion only).
        fn expected(&self, i: usize) -> serde_json::Value {
            let items = self.nodes[i].1.iter().map(|s| match s {
                Slot::Int(x) => serde_json::Value::from(*x),
                Slot::Text(len) => serde_json::Value::from("t".repeat(*len)),
                Slot::Ref(r) => match self.target(i, *r) {
                    Some(j) => self.expected(j),
                    None => serde_json::Value::Null,
                },
            });
            if self.nodes[i].0 {
                serde_json::Value::Array(items.collect())
            } else {
                serde_json::Value::Object(
                    items
                        .enumerate()
                        .map(|(k, v)| (format!("k{k}"), v))
                        .collect(),
                )
            }
        }
    }

    /// Breaks every cycle of a built graph (tests must not leak what they build themselves).
    fn dismantle(v: &Value) {
        let mut stack = vec![v.clone()];
        while let Some(Value::Object(o)) = stack.pop() {
            let kind = std::mem::replace(&mut *o.borrow_mut(), ObjectKind::Array(Vec::new()));
            match kind {
                ObjectKind::Array(items) => stack.extend(items),
                ObjectKind::Plain(p) => stack.extend(p.iter().map(|(_, x)| x.clone())),
                _ => {}
            }
        }
    }

    const BASE: u128 = 1 << 20;
    const FACTOR: u128 = 4;

    /// The three tree writers on `root`: (serde bridge, fetch body JSON, raw body writer).
    fn convert(root: &Value) -> [Result<serde_json::Value, String>; 3] {
        let serde = from_value::<serde_json::Value>(root).map_err(|e| e.to_string());
        let json = FetchRequest::from_value(&request_with_body(root.clone()))
            .map_err(|e| e.to_string())
            .map(|r| serde_json::from_slice(&r.body.unwrap_or_default()).unwrap());
        let raw = stringify(&request_with_body(root.clone()))
            .map_err(|e| e.to_string())
            .map(|text| {
                let back = parse(&text).unwrap();
                let ObjectKind::RequestSync(r) = &*back.as_object().unwrap().borrow() else {
                    panic!("expected a RequestSync");
                };
                from_value::<serde_json::Value>(&r.body).unwrap()
            });
        [serde, json, raw]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 160, ..ProptestConfig::default() })]

        /// Alias DAGs and cycles through `from_value::<serde_json::Value>`, `value_to_json`
        /// and the raw writer: exact tree output within the budget, a clear refusal beyond it
        /// or on a cycle, and work bounded by the graph (allocations counted).
        #[test]
        fn tree_writers_are_exact_bounded_or_refuse(g in graph()) {
            let root = g.build();
            let cycle = g.reaches_cycle();
            let (results, allocs, _) = measure(|| convert(&root));
            if cycle {
                for r in &results {
                    let e = r.as_ref().unwrap_err();
                    prop_assert!(
                        e.contains("cycle") || e.contains("expansion budget"),
                        "{e}"
                    );
                }
            } else {
                let (graph, tree) = g.units();
                let expanded = tree - graph;
                if expanded <= BASE {
                    let want = g.expected(0);
                    for r in &results {
                        prop_assert_eq!(r.as_ref().unwrap(), &want);
                    }
                } else if expanded > BASE + FACTOR * graph {
                    for r in &results {
                        let e = r.as_ref().unwrap_err();
                        prop_assert!(e.contains("expansion budget"), "{e}");
                    }
                }
                // Work: allocations stay within a linear function of the graph and the budget
                // (~4 conversions, each producing at most (1 + FACTOR) x graph + BASE units,
                // strings counting one allocation however long).
                let bound = 64 * (graph.min(1 << 24) * (1 + FACTOR) + BASE / 1024) + 10_000;
                prop_assert!((allocs as u128) < bound, "{allocs} allocations, bound {bound}");
            }
            dismantle(&root);
        }

        /// The same graphs decoded from wire text: whatever the writers did, dropping the value
        /// and collecting leaves nothing behind on this thread (no leak, cycles included).
        #[test]
        fn decoded_graphs_leave_nothing_behind(g in graph()) {
            let built = g.build();
            let text = stringify(&built).unwrap();
            dismantle(&built);
            drop(built);
            collect_cycles();
            let before = thread_net_bytes();
            {
                let root = parse(&text).unwrap();
                let _ = convert(&root);
                prop_assert_eq!(stringify(&root).unwrap(), text.clone());
            }
            collect_cycles();
            let leaked = thread_net_bytes() - before;
            prop_assert!(leaked <= 0, "{leaked} bytes left behind");
        }
    }
}

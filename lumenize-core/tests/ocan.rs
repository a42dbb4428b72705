//! Operation chains: the TS wire shape, `$result` substitution, nested operations, limits.

use lumenize_core::context::Ctx;
use lumenize_core::ocan::{ctn, execute_chain, result_marker, ChainError, OperationChain};
use lumenize_core::prelude::*;

mod detached;
use detached::with_ctx;

/// The exact text of the TS vector `ocan`-style chain (lumenize-ts-notes E.1).
const TS_CHAIN: &str = r#"{"json":[{"type":"get","key":"handleResult"},{"type":"apply","args":["user-1",{"__isNestedOperation":true,"__operationChain":[{"type":"get","key":"$result"}]}]}],"meta":{}}"#;

#[test]
fn chain_wire_text_matches_the_typescript_original() {
    let chain = ctn().call("handleResult", vec!["user-1".into(), result_marker()]);
    assert_eq!(chain.stringify().unwrap(), TS_CHAIN);
    let back = OperationChain::parse(TS_CHAIN).unwrap();
    assert_eq!(back.stringify().unwrap(), TS_CHAIN);
    assert_eq!(back.method_path().as_deref(), Some("handleResult"));
}

#[test]
fn with_result_replaces_markers_in_the_last_apply_or_appends() {
    let chain = ctn().call("h", vec!["a".into(), result_marker()]);
    let filled = chain.with_result(Value::from(42.0));
    // The substituted argument is data, and says so on the wire (`data`: its index).
    assert_eq!(
        filled.stringify().unwrap(),
        r#"{"json":[{"type":"get","key":"h"},{"type":"apply","args":["a",42],"data":[1]}],"meta":{}}"#
    );
    assert!(filled.is_data_arg(1, 1) && !filled.is_data_arg(1, 0));
    // No marker: appended (the original's implicit form).
    let implicit = ctn()
        .call("h", vec!["a".into()])
        .with_result(Value::from(1.0));
    assert_eq!(
        implicit.stringify().unwrap(),
        r#"{"json":[{"type":"get","key":"h"},{"type":"apply","args":["a",1],"data":[1]}],"meta":{}}"#
    );
    let back = OperationChain::parse(&implicit.stringify().unwrap()).unwrap();
    assert!(back.is_data_arg(1, 1) && !back.is_data_arg(1, 0));
    // Only the last op is touched: a chain ending in `get` is unchanged.
    let tail_get = ctn().call("h", vec![result_marker()]).get("x");
    assert_eq!(
        tail_get.with_result(Value::from(1.0)).stringify().unwrap(),
        tail_get.stringify().unwrap()
    );
}

#[test]
fn malformed_chains_are_rejected_with_a_reason() {
    let cases = [
        (r#"{"json":{"type":"get"},"meta":{}}"#, "must be an array"),
        (r#"{"json":[{"key":"x"}],"meta":{}}"#, "no string `type`"),
        (r#"{"json":[{"type":"get"}],"meta":{}}"#, "no string `key`"),
        (
            r#"{"json":[{"type":"apply","args":3}],"meta":{}}"#,
            "no `args` array",
        ),
        (
            r#"{"json":[{"type":"call"}],"meta":{}}"#,
            "unknown type \"call\"",
        ),
        ("not json", "structured-clone"),
    ];
    for (text, needle) in cases {
        let e = OperationChain::parse(text).unwrap_err().to_string();
        assert!(e.contains(needle), "{text}: {e}");
    }
    // Written without the writer's checks (which refuse both, see tests/hostile_chains.rs).
    let unchecked =
        |c: &OperationChain| lumenize_core::structured_clone::stringify(&c.to_value()).unwrap();
    let long = (0..60).fold(ctn(), |c, i| c.get(format!("k{i}")));
    let e = OperationChain::parse(&unchecked(&long)).unwrap_err();
    assert!(matches!(e, ChainError::TooDeep { len: 60, max: 50 }), "{e}");
    let many = ctn().call("m", (0..101).map(|i| Value::from(i as f64)).collect());
    let e = OperationChain::parse(&unchecked(&many)).unwrap_err();
    assert!(matches!(e, ChainError::TooManyArgs { len: 101, .. }), "{e}");
    let bad_data =
        r#"{"json":[{"type":"get","key":"m"},{"type":"apply","args":[1],"data":[1]}],"meta":{}}"#;
    let e = OperationChain::parse(bad_data).unwrap_err().to_string();
    assert!(e.contains("not an argument index"), "{e}");
}

#[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
struct Point {
    x: f64,
    y: f64,
}

#[derive(Default)]
struct Calc {
    calls: Vec<String>,
}

impl Calc {
    fn add(&mut self, _ctx: &Ctx<'_>, a: f64, b: f64) -> f64 {
        self.calls.push(format!("add({a},{b})"));
        a + b
    }
    fn seven(&mut self, _ctx: &Ctx<'_>) -> f64 {
        self.calls.push("seven".into());
        7.0
    }
    fn pair(&mut self, _ctx: &Ctx<'_>) -> Value {
        Value::object([("left", Value::from(1.0)), ("right", Value::from("r"))])
    }
    fn sum(&mut self, _ctx: &Ctx<'_>, xs: Vec<f64>) -> f64 {
        xs.iter().sum()
    }
    fn maybe(&mut self, _ctx: &Ctx<'_>, x: Option<String>) -> String {
        x.unwrap_or_else(|| "none".into())
    }
    fn norm(&mut self, _ctx: &Ctx<'_>, p: Serde<Point>) -> Serde<Point> {
        let len = (p.0.x * p.0.x + p.0.y * p.0.y).sqrt();
        Serde(Point {
            x: p.0.x / len,
            y: p.0.y / len,
        })
    }
    fn handle(&mut self, _ctx: &Ctx<'_>, id: String) -> String {
        format!("handled {id}")
    }
}

lumenize_core::handlers!(Calc {
    add(a: f64, b: f64),
    seven(),
    pair(),
    sum(xs: Vec<f64>),
    maybe(x: Option<String>),
    norm(p: Serde<Point>),
    handle as "svc.fetch.handle"(id: String),
});

#[test]
fn nested_operations_run_against_the_same_target_first() {
    with_ctx(|ctx| {
        let mut calc = Calc::default();
        // add(seven(), 1)
        let chain = ctn().call(
            "add",
            vec![ctn().call("seven", vec![]).nested(), 1.0.into()],
        );
        let v = execute_chain(&mut calc, ctx, &chain).unwrap();
        assert_eq!(v.as_f64(), Some(8.0));
        assert_eq!(calc.calls, ["seven", "add(7,1)"]);
        // Markers inside arrays are resolved too: sum([seven(), 2]).
        let chain = ctn().call(
            "sum",
            vec![Value::array([
                ctn().call("seven", vec![]).nested(),
                2.0.into(),
            ])],
        );
        assert_eq!(
            execute_chain(&mut calc, ctx, &chain).unwrap().as_f64(),
            Some(9.0)
        );
    });
}

#[test]
fn gets_after_a_call_read_the_result_and_dotted_paths_dispatch() {
    with_ctx(|ctx| {
        let mut calc = Calc::default();
        let v = execute_chain(&mut calc, ctx, &ctn().call("pair", vec![]).get("right")).unwrap();
        assert_eq!(v.as_str(), Some("r"));
        let v = execute_chain(
            &mut calc,
            ctx,
            &ctn()
                .get("svc")
                .get("fetch")
                .get("handle")
                .apply(vec!["r1".into()]),
        )
        .unwrap();
        assert_eq!(v.as_str(), Some("handled r1"));
        // Optional trailing parameters may be omitted.
        let v = execute_chain(&mut calc, ctx, &ctn().call("maybe", vec![])).unwrap();
        assert_eq!(v.as_str(), Some("none"));
        // An unfilled `$result` is undefined, as in the original.
        let v = execute_chain(&mut calc, ctx, &ctn().call("maybe", vec![result_marker()])).unwrap();
        assert_eq!(v.as_str(), Some("none"));
    });
}

#[test]
fn execute_chain_method_needs_a_context_and_uses_it() {
    let mut calc = Calc::default();
    let chain = ctn().call("seven", vec![]);
    assert_eq!(
        calc.__execute_chain(&chain).unwrap_err(),
        ChainError::NoContext
    );
    let v = with_ctx(|_| calc.__execute_chain(&chain)).unwrap();
    assert_eq!(v.as_f64(), Some(7.0));
}

#[test]
fn calling_a_result_or_an_unknown_method_fails_clearly() {
    with_ctx(|ctx| {
        let mut calc = Calc::default();
        let e =
            execute_chain(&mut calc, ctx, &ctn().call("seven", vec![]).apply(vec![])).unwrap_err();
        assert!(e.to_string().contains("cannot be called"), "{e}");
        let e = execute_chain(&mut calc, ctx, &ctn().call("nope", vec![])).unwrap_err();
        assert_eq!(
            e,
            ChainError::UnknownMethod {
                target: "Calc".into(),
                method: "nope".into()
            }
        );
        let e = execute_chain(
            &mut calc,
            ctx,
            &ctn().call("add", vec![1.5.into(), "x".into()]),
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("argument 1 of add: expected number, got string"),
            "{e}"
        );
        // The error crosses the wire as an Error value naming the variant.
        let v = e.to_value();
        let text = lumenize_core::structured_clone::stringify(&v).unwrap();
        assert!(
            text.contains("\"name\":\"ChainError\"") && text.contains("BadArgument"),
            "{text}"
        );
    });
}

#[test]
fn serde_parameters_and_results_cross_as_plain_objects() {
    with_ctx(|ctx| {
        let mut calc = Calc::default();
        let arg = Value::object([("x", Value::from(3.0)), ("y", Value::from(4.0))]);
        let v = execute_chain(&mut calc, ctx, &ctn().call("norm", vec![arg])).unwrap();
        assert_eq!(v.get("x").and_then(|x| x.as_f64()), Some(0.6));
        let e =
            execute_chain(&mut calc, ctx, &ctn().call("norm", vec!["nope".into()])).unwrap_err();
        assert!(e.to_string().contains("argument 0 of norm"), "{e}");
    });
}

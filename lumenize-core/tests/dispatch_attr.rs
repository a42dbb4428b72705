//! `#[dispatch]`: which methods it exposes and under which names, how it converts arguments
//! (the same budgeted conversion as `handlers!`), and its typed builders (the same chains as the
//! string form, `$result` and nested operations included), run directly and across objects.

use std::time::Duration;

use lumenize_core::ocan::{ctn, execute_chain, ChainError, Nested, OperationChain, ResultMarker};
use lumenize_core::prelude::*;

mod detached;
use detached::with_ctx;

#[derive(Default)]
pub struct Desk {
    rung: Vec<String>,
    seen: Vec<f64>,
}

#[lumenize_core::dispatch]
impl Desk {
    /// Not a handler: an associated function.
    pub fn new() -> Desk {
        Desk::default()
    }

    /// Records `what`; returns how many rang.
    pub fn ring(&mut self, _ctx: &Ctx<'_>, what: String) -> usize {
        self.rung.push(what);
        self.rung.len()
    }

    #[handler(name = "onFetched")]
    pub fn on_fetched(&mut self, _ctx: &Ctx<'_>, tag: String, outcome: Value) -> String {
        format!("{tag}:{}", outcome.as_f64().unwrap_or(-1.0))
    }

    /// A dotted name: the chain `svc.fetch.handle(..)`.
    #[handler(name = "svc.fetch.handle")]
    pub fn handle(&mut self, _ctx: &Ctx<'_>, n: f64) -> f64 {
        n * 2.0
    }

    /// Private but marked: exposed.
    #[handler]
    fn secret(&self, _ctx: &Ctx<'_>) -> &'static str {
        "psst"
    }

    /// `pub` but skipped.
    #[handler(skip)]
    pub fn skipped(&mut self, _ctx: &Ctx<'_>) {}

    /// Private, not marked: not exposed.
    #[allow(dead_code)]
    fn helper(&mut self, _ctx: &Ctx<'_>) {}

    /// Compiled out: neither dispatched nor in the builder.
    #[cfg(any())]
    pub fn gone(&mut self, _ctx: &Ctx<'_>) {}

    pub fn maybe(&mut self, _ctx: &Ctx<'_>, a: f64, b: Option<f64>) -> f64 {
        a + b.unwrap_or(100.0)
    }

    pub fn fail(&mut self, _ctx: &Ctx<'_>, why: String) -> Result<(), String> {
        Err(why)
    }

    pub fn rows(&mut self, _ctx: &Ctx<'_>, rows: Vec<Vec<f64>>) -> usize {
        rows.iter().map(Vec::len).sum()
    }

    pub fn total(&self, _ctx: &Ctx<'_>) -> f64 {
        self.seen.iter().sum()
    }

    pub fn add(&mut self, _ctx: &Ctx<'_>, n: f64) -> f64 {
        self.seen.push(n);
        n
    }
}

fn run(desk: &mut Desk, chain: &OperationChain) -> Result<Value, ChainError> {
    // Through the wire text, as a real caller's chain arrives.
    let chain = OperationChain::parse(&chain.stringify().unwrap()).unwrap();
    with_ctx(|ctx| execute_chain(desk, ctx, &chain))
}

#[test]
fn exposes_pub_and_marked_methods_under_their_names() {
    let mut d = Desk::new();
    assert_eq!(
        run(&mut d, &ctn().call("ring", vec!["a".into()]))
            .unwrap()
            .as_f64(),
        Some(1.0)
    );
    let v = run(
        &mut d,
        &ctn().call("onFetched", vec!["t".into(), 200.0.into()]),
    )
    .unwrap();
    assert_eq!(v.as_str(), Some("t:200"));
    let dotted = ctn()
        .get("svc")
        .get("fetch")
        .get("handle")
        .apply(vec![4.0.into()]);
    assert_eq!(run(&mut d, &dotted).unwrap().as_f64(), Some(8.0));
    assert_eq!(
        run(&mut d, &ctn().call("secret", vec![])).unwrap().as_str(),
        Some("psst")
    );
    // The Rust name of a renamed handler, skipped, private and associated functions: unknown.
    for name in ["on_fetched", "handle", "skipped", "helper", "new", "gone"] {
        let e = run(&mut d, &ctn().call(name, vec![])).unwrap_err();
        assert!(
            matches!(&e, ChainError::UnknownMethod { target, method } if target == "Desk" && method == name),
            "{name}: {e:?}"
        );
    }
    assert_eq!(d.type_name(), "Desk");
}

#[test]
fn lists_exactly_the_exposed_names_so_continuations_are_checked_when_written() {
    let names = Desk::new()
        .method_names()
        .expect("#[dispatch] lists its methods");
    let mut names = names.to_vec();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "add",
            "fail",
            "maybe",
            "onFetched",
            "ring",
            "rows",
            "secret",
            "svc.fetch.handle",
            "total"
        ]
    );

    // So a schedule naming a missing method is refused by `schedule` itself, not when it fires.
    pub struct Scheduler;

    #[lumenize_core::dispatch]
    impl Scheduler {
        pub fn later(
            &mut self,
            ctx: &Ctx<'_>,
            method: String,
        ) -> Result<String, lumenize_core::Error> {
            let s = ctx
                .alarms()
                .schedule(When::delay_secs(60.0), ctn().call(&method, vec![]))?;
            Ok(s.id)
        }

        pub fn tick(&mut self, _ctx: &Ctx<'_>) {}
    }

    let rt = Runtime::builder()
        .object("S", |_| Scheduler)
        .build()
        .unwrap();
    let s = rt.object("S", "s");
    let err = s
        .call(&Scheduler::ctn().later("tikc"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("no method \"tikc\""), "{err}");
    s.call(&Scheduler::ctn().later("tick")).unwrap();
}

#[test]
fn arguments_convert_as_with_handlers_macro() {
    let mut d = Desk::new();
    // A missing trailing argument is `undefined`: `None`.
    let v = run(&mut d, &ctn().call("maybe", vec![1.0.into()])).unwrap();
    assert_eq!(v.as_f64(), Some(101.0));
    let e = run(
        &mut d,
        &ctn().call("maybe", vec![1.0.into(), 2.0.into(), 3.0.into()]),
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            ChainError::WrongArgCount {
                expected: 2,
                got: 3,
                ..
            }
        ),
        "{e:?}"
    );
    let e = run(&mut d, &ctn().call("maybe", vec![1.0.into(), "x".into()])).unwrap_err();
    assert!(
        matches!(&e, ChainError::BadArgument { index: 1, got, .. } if got == "string"),
        "{e:?}"
    );
    let e = run(&mut d, &ctn().call("fail", vec!["nope".into()])).unwrap_err();
    assert!(e.to_string().contains("nope"), "{e}");
}

/// The generated dispatch converts through the call's one budgeted scope: 3000 handles to one
/// array of 3000 numbers (9 million numbers as `Vec<Vec<f64>>`) is refused, not expanded.
#[test]
fn argument_conversion_is_budgeted() {
    let mut d = Desk::new();
    let shared = Value::array((0..3000).map(|_| Value::from(0.0)));
    let bomb = Value::array((0..3000).map(|_| shared.clone()));
    let e = run(&mut d, &ctn().call("rows", vec![bomb])).unwrap_err();
    assert!(matches!(e, ChainError::BadArgument { .. }), "{e:?}");
    assert!(e.to_string().contains("expansion budget"), "{e}");
    let small = Value::array((0..3).map(|_| shared.clone()));
    assert_eq!(
        run(&mut d, &ctn().call("rows", vec![small]))
            .unwrap()
            .as_f64(),
        Some(9000.0)
    );
}

#[test]
fn typed_builders_make_the_chains_of_the_string_form() {
    let same = |typed: OperationChain, by_hand: OperationChain| {
        assert_eq!(typed.stringify().unwrap(), by_hand.stringify().unwrap());
    };
    same(Desk::ctn().ring("a"), ctn().call("ring", vec!["a".into()]));
    same(
        Desk::ctn().ring(String::from("a")),
        ctn().call("ring", vec!["a".into()]),
    );
    same(
        Desk::ctn().on_fetched("t", ResultMarker),
        ctn().call("onFetched", vec!["t".into(), result_marker()]),
    );
    same(
        Desk::ctn().handle(1.0),
        ctn()
            .get("svc")
            .get("fetch")
            .get("handle")
            .apply(vec![1.0.into()]),
    );
    same(
        Desk::ctn().maybe(1.0, None),
        ctn().call("maybe", vec![1.0.into(), Value::Null]),
    );
    same(
        Desk::ctn().add(Nested(Desk::ctn().total())),
        ctn().call("add", vec![ctn().call("total", vec![]).nested()]),
    );
}

#[test]
fn typed_builders_run_with_results_and_nested_operations() {
    let mut d = Desk::new();
    run(&mut d, &Desk::ctn().add(2.0)).unwrap();
    run(&mut d, &Desk::ctn().add(3.0)).unwrap();
    // `add(total())`: the nested call runs first.
    assert_eq!(
        run(&mut d, &Desk::ctn().add(Nested(Desk::ctn().total())))
            .unwrap()
            .as_f64(),
        Some(5.0)
    );
    // A continuation, filled as a delivered result fills it.
    let then = Desk::ctn()
        .on_fetched("late", ResultMarker)
        .with_result(Value::from(7.0));
    assert_eq!(run(&mut d, &then).unwrap().as_str(), Some("late:7"));
}

/// An object calls another with typed chains and receives the result in its typed continuation.
#[test]
fn typed_call_and_continuation_across_objects() {
    pub struct Asker;

    #[lumenize_core::dispatch]
    impl Asker {
        pub fn ask(&mut self, ctx: &Ctx<'_>, peer: String, n: f64) -> Result<(), String> {
            let to = Address::object("DESK", peer);
            let then = Asker::ctn().answered(ResultMarker);
            ctx.call_raw(&to, &Desk::ctn().add(n), Some(&then))
                .map_err(|e| e.to_string())
        }

        pub fn answered(&mut self, ctx: &Ctx<'_>, answer: Value) -> Result<(), String> {
            let n = answer.as_f64().ok_or("not a number")?;
            ctx.kv()
                .put("answer", &Value::from(n))
                .map_err(|e| e.to_string())
        }

        pub fn answer(&mut self, ctx: &Ctx<'_>) -> Result<Value, String> {
            let v = ctx.kv().get("answer").map_err(|e| e.to_string())?;
            Ok(v.unwrap_or(Value::Null))
        }
    }

    let rt = Runtime::builder()
        .object("DESK", |_| Desk::new())
        .object("ASKER", |_| Asker)
        .build()
        .unwrap();
    let asker = rt.object("ASKER", "a");
    asker.call(&Asker::ctn().ask("d", 4.5)).unwrap();
    rt.settle(Duration::from_secs(10)).unwrap();
    assert_eq!(
        asker.call(&Asker::ctn().answer()).unwrap().as_f64(),
        Some(4.5)
    );
}

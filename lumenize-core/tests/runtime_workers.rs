//! Workers, RPC targets, injected latency and accounting.

mod common;

use common::*;
use lumenize_core::clock::ManualClock;
use lumenize_core::prelude::*;
use lumenize_core::runtime::{NativeExt, RuntimeError};
use lumenize_core::structured_clone::{Object, ObjectKind, RequestSync, ResponseSync};
use std::sync::Arc;
use std::time::Duration;

const SETTLE: Duration = Duration::from_secs(10);

/// A stateless worker: doubles numbers, and can answer later from async work.
struct Doubler;
impl Doubler {
    fn double(&mut self, _ctx: &Ctx<'_>, x: f64) -> f64 {
        x * 2.0
    }
    /// The HTTP-style entry point: reads a `RequestSync`, answers a `ResponseSync`.
    fn fetch(&mut self, _ctx: &Ctx<'_>, request: Value) -> Result<Value, String> {
        let (method, url) = match request.as_object().map(|o| o.borrow().clone()) {
            Some(ObjectKind::RequestSync(r)) => (r.method, r.url),
            _ => return Err("expected a RequestSync".into()),
        };
        Ok(Value::Object(Object::new(ObjectKind::ResponseSync(
            ResponseSync {
                status: 200,
                status_text: "OK".into(),
                headers: Value::Object(Object::new(ObjectKind::Headers(vec![]))),
                body: Value::from(format!("{method} {url}")),
            },
        ))))
    }
    /// Replies to the caller's probe from a spawned task (the executor pattern of issue 4).
    fn later(&mut self, ctx: &Ctx<'_>, name: String, tag: String) -> Result<(), String> {
        let ext = NativeExt::of(ctx).ok_or("not native")?;
        let sender = ext.sender();
        ext.spawn(async move {
            let chain = ctn()
                .call("bump", vec![Value::from(tag), Value::from(5.0)])
                .stringify()
                .expect("encode");
            sender
                .call_raw_wire(&Address::object("PROBE", name), chain, None)
                .expect("send");
        });
        Ok(())
    }
    fn explode(&mut self, ctx: &Ctx<'_>) -> f64 {
        ctx.call(
            &Address::object("PROBE", "victim"),
            "bump",
            vec!["boom".into(), 1.0.into()],
            None,
        )
        .expect("queue");
        panic!("worker panic")
    }
    fn storage_is_refused(&mut self, ctx: &Ctx<'_>) -> String {
        ctx.kv().put("x", &Value::Null).unwrap_err().to_string()
    }
}
lumenize_core::handlers!(Doubler {
    double(x: f64),
    fetch(request: Value),
    later(name: String, tag: String),
    storage_is_refused(),
    explode(),
});

fn runtime() -> (Runtime, Arc<ManualClock>) {
    let clock = ManualClock::new(T0);
    let rt = Runtime::builder()
        .object("PROBE", Probe::new)
        .worker("DOUBLER", |_| Doubler)
        .rpc_target("DOUBLER_RPC", |_| Doubler)
        .manual_clock(clock.clone())
        .build()
        .unwrap();
    (rt, clock)
}

#[test]
fn workers_and_rpc_targets_answer_calls() {
    let (rt, _) = runtime();
    assert_eq!(
        num(rt
            .worker("DOUBLER")
            .call_method("double", vec![21.0.into()])
            .unwrap()),
        42.0
    );
    assert_eq!(
        num(rt
            .rpc_target("DOUBLER_RPC")
            .call_method("double", vec![4.0.into()])
            .unwrap()),
        8.0
    );
    // Addressing an RPC target as a worker (or the reverse) is an unknown target.
    let e = rt
        .worker("DOUBLER_RPC")
        .call_method("double", vec![1.0.into()])
        .unwrap_err();
    assert!(matches!(e, RuntimeError::UnknownTarget(_)), "{e}");
    let refused = text(
        rt.worker("DOUBLER")
            .call_method("storage_is_refused", vec![])
            .unwrap(),
    );
    assert!(refused.contains("no storage"), "{refused}");
}

#[test]
fn object_calls_worker_with_continuation() {
    let (rt, _) = runtime();
    let p = rt.object("PROBE", "a");
    p.run(|_, ctx| {
        ctx.call(
            &Address::worker("DOUBLER"),
            "double",
            vec![Value::from(8.0)],
            Some(&ctn().call("got", vec![Value::from("w"), result_marker()])),
        )
        .map_err(|e| ChainError::handler(e.to_string()))
    })
    .unwrap();
    rt.settle(SETTLE).unwrap();
    assert_eq!(
        text(p.call_method("got_value", vec!["w".into()]).unwrap()),
        "16"
    );
}

#[test]
fn spawned_async_work_can_call_back_later() {
    let (rt, _) = runtime();
    rt.worker("DOUBLER")
        .call_method("later", vec!["cb".into(), "async".into()])
        .unwrap();
    rt.settle(SETTLE).unwrap();
    let p = rt.object("PROBE", "cb");
    assert_eq!(
        num(p.call_method("count", vec!["async".into()]).unwrap()),
        5.0
    );
}

#[test]
fn injected_latency_holds_messages_until_the_clock_passes_it() {
    let (rt, clock) = runtime();
    rt.set_hop_latency("PROBE", "PROBE", Duration::from_millis(250));
    let a = rt.object("PROBE", "a");
    a.call_method("call_other", vec!["b".into(), "lat".into(), 1.0.into()])
        .unwrap();
    // The request hop is held: settling now would wait for the clock, so don't.
    std::thread::yield_now();
    let b = rt.object("PROBE", "b");
    assert_eq!(
        num(b.call_method("count", vec!["lat".into()]).unwrap()),
        0.0
    );
    clock.advance(250); // request delivered; the reply hop now waits 250 ms more
    let wait = || {
        let start = std::time::Instant::now();
        while num(b.call_method("count", vec!["lat".into()]).unwrap()) == 0.0 {
            assert!(start.elapsed() < SETTLE, "request never delivered");
            std::thread::yield_now();
        }
    };
    wait();
    assert!(a
        .call_method("got_value", vec!["lat".into()])
        .unwrap()
        .is_null());
    clock.advance(250);
    rt.settle(SETTLE).unwrap();
    assert_eq!(
        text(a.call_method("got_value", vec!["lat".into()]).unwrap()),
        "1"
    );
    assert_eq!(
        rt.accounting(a.address()).injected_latency,
        Duration::from_millis(250)
    );
    assert_eq!(
        rt.accounting(b.address()).injected_latency,
        Duration::from_millis(250)
    );
}

#[test]
fn accounting_counts_requests_rows_and_time() {
    let (rt, _) = runtime();
    let p = rt.object("PROBE", "acct");
    for i in 0..10 {
        p.call_method("bump", vec![format!("k{i}").into(), 1.0.into()])
            .unwrap();
    }
    p.call_method("schedule_bump", vec!["s".into(), 0.0.into()])
        .unwrap();
    rt.settle(SETTLE).unwrap();
    let a = rt.accounting(p.address());
    // 10 bumps + schedule + 1 alarm invocation.
    assert_eq!(a.requests, 12);
    // 10 counter rows (+ schema), schedule insert + alarm mirror, claim delete + mirror delete,
    // the fired bump.
    assert!(a.rows_written >= 15, "{a:?}");
    assert!(a.awake > Duration::ZERO && a.cpu > Duration::ZERO, "{a:?}");
    assert!(a.awake >= a.cpu / 2, "awake is wall time: {a:?}");
    let w = rt.worker("DOUBLER");
    w.call_method("double", vec![1.0.into()]).unwrap();
    let wa = rt.accounting(w.address());
    assert_eq!(wa.requests, 1);
    assert_eq!(wa.rows_written, 0);
    let cost = a.object_cost(&lumenize_core::runtime::CLOUDFLARE_PRICES);
    assert!(cost > 0.0 && cost < 1e-3, "{cost}");
}

#[test]
fn workers_take_http_style_requests_rpc_targets_do_not() {
    let (rt, _) = runtime();
    let request = Value::Object(Object::new(ObjectKind::RequestSync(RequestSync {
        url: "https://example.com/a".into(),
        method: "POST".into(),
        headers: Value::Object(Object::new(ObjectKind::Headers(vec![]))),
        body: Value::Null,
    })));
    let response = rt.worker("DOUBLER").fetch(request.clone()).unwrap();
    let (status, body) = match response.as_object().map(|o| o.borrow().clone()) {
        Some(ObjectKind::ResponseSync(r)) => (r.status, r.body.as_str().map(str::to_string)),
        _ => panic!("not a ResponseSync: {response:?}"),
    };
    assert_eq!(
        (status, body.as_deref()),
        (200, Some("POST https://example.com/a"))
    );
    let e = rt.rpc_target("DOUBLER_RPC").fetch(request).unwrap_err();
    assert!(e.to_string().contains("only workers"), "{e}");
}

#[test]
fn ten_thousand_continuations_in_flight_through_one_object() {
    let (rt, _) = runtime();
    let p = rt.object("PROBE", "origin");
    let n: i64 = 10_000;
    p.call_method("fan_out", vec!["DOUBLER".into(), (n as f64).into()])
        .unwrap();
    rt.settle(Duration::from_secs(120)).unwrap();
    // Each continuation adds 2i exactly once: the sum is n(n-1).
    assert_eq!(
        num(p.call_method("count", vec!["fan".into()]).unwrap()),
        (n * (n - 1)) as f64
    );
    let a = rt.accounting(p.address());
    assert_eq!(a.messages_sent, n as u64);
    // fan_out + n continuations + count.
    assert_eq!(a.requests, n as u64 + 2);
    assert_eq!(
        rt.accounting(&Address::worker("DOUBLER")).requests,
        n as u64
    );
}

#[test]
fn a_panicking_worker_answers_panicked_and_sends_nothing() {
    let (rt, _) = runtime();
    let e = rt
        .worker("DOUBLER")
        .call_method("explode", vec![])
        .unwrap_err();
    assert!(
        matches!(e, RuntimeError::Chain(ChainError::Panicked { .. })),
        "{e}"
    );
    rt.settle(SETTLE).unwrap();
    let p = rt.object("PROBE", "victim");
    assert_eq!(
        num(p.call_method("count", vec!["boom".into()]).unwrap()),
        0.0
    );
    assert_eq!(rt.accounting(&Address::worker("DOUBLER")).failed_turns, 1);
}

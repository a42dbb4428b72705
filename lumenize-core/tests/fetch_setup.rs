//! The setup a new user follows from the README: a plain object (no wrapper) starts a proxied
//! fetch against the local endpoint server, and its continuation runs. Forgetting a setup step
//! is refused at once with an error that says what to do.

use lumenize_core::clock::ManualClock;
use lumenize_core::fetch::{self, EndpointServer, FetchOptions, FetchPolicy};
use lumenize_core::prelude::*;
use std::time::Duration;

/// A user's object, registered as it is: no `Fetching` wrapper.
#[derive(Default)]
struct Origin;

impl Origin {
    fn go(&mut self, ctx: &Ctx<'_>, url: String) -> Result<String, String> {
        let cont = ctn().call("done", vec![result_marker()]);
        let options = FetchOptions {
            policy: FetchPolicy::default().allow_loopback(),
            ..FetchOptions::default()
        };
        fetch::proxy_fetch_simple(ctx, &Value::from(url), &cont, &options)
            .map_err(|e| e.to_string())
    }

    fn done(&mut self, ctx: &Ctx<'_>, outcome: Value) -> Result<(), String> {
        let status = match fetch::outcome_from_value(&outcome) {
            Ok(r) => r.status as f64,
            Err(_) => -1.0,
        };
        ctx.kv()
            .put("status", &Value::from(status))
            .map_err(|e| e.to_string())
    }

    fn status(&mut self, ctx: &Ctx<'_>) -> Result<Value, String> {
        Ok(ctx
            .kv()
            .get("status")
            .map_err(|e| e.to_string())?
            .unwrap_or_default())
    }
}

lumenize_core::handlers!(Origin { go(url: String), done(outcome: Value), status() });

#[test]
fn proxy_fetch_simple_runs_the_continuation_of_an_unwrapped_object() {
    let server = EndpointServer::start().unwrap();
    let clock = ManualClock::new(1_700_000_000_000);
    let rt =
        fetch::install_with_policy(Runtime::builder(), FetchPolicy::default().allow_loopback())
            .object("ORIGIN", |_| Origin)
            .manual_clock(clock.clone())
            .build()
            .unwrap();
    let o = rt.object("ORIGIN", "o1");
    o.call_method("go", vec![Value::from(server.url("/uuid"))])
        .unwrap();
    rt.settle(Duration::from_secs(10)).unwrap();
    assert_eq!(
        o.call_method("status", vec![]).unwrap().as_f64(),
        Some(200.0)
    );
    assert_eq!(rt.counters().failures(), 0, "{:?}", rt.counters());
    // The backstop alarm was cancelled by the result: nothing fires later.
    clock.advance(120_000);
    rt.settle(Duration::from_secs(10)).unwrap();
    assert_eq!(rt.counters().failures(), 0, "{:?}", rt.counters());
}

#[test]
fn without_the_fetch_bindings_the_call_is_refused_and_says_what_to_do() {
    let rt = Runtime::builder()
        .object("ORIGIN", |_| Origin)
        .manual_clock(ManualClock::new(1_700_000_000_000))
        .build()
        .unwrap();
    let o = rt.object("ORIGIN", "o1");
    let err = o
        .call_method("go", vec![Value::from("http://127.0.0.1:1/")])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("lumenize_core::fetch::install(builder)"),
        "{err}"
    );
    let pending = o
        .run(|_, ctx| fetch::pending_count(ctx).map_err(|e| ChainError::Storage(e.to_string())))
        .unwrap();
    assert_eq!(pending, 0, "nothing was scheduled");
}

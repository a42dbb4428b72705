//! A continuation that names a method its object does not have is refused when it is written
//! (`schedule`, `call_raw`'s continuation, a proxied fetch's), not days later when it runs.

use lumenize_core::clock::ManualClock;
use lumenize_core::fetch::{self, Design, FetchOptions, FetchPolicy};
use lumenize_core::prelude::*;
use lumenize_core::runtime::NativeExt;
use lumenize_core::transport::Delivery;

#[derive(Default)]
struct Desk;

impl Desk {
    fn remind(&mut self, ctx: &Ctx<'_>, method: String) -> Result<String, lumenize_core::Error> {
        let s = ctx
            .alarms()
            .schedule(When::delay_secs(60.0), ctn().call(&method, vec![]))?;
        Ok(s.id)
    }

    fn ask(&mut self, ctx: &Ctx<'_>, method: String) -> Result<(), lumenize_core::Error> {
        let to = Address::object("DESK", "other");
        let cont = ctn().call(&method, vec![result_marker()]);
        ctx.call_raw(&to, &ctn().call("ring", vec![]), Some(&cont))?;
        Ok(())
    }

    fn fetch(&mut self, ctx: &Ctx<'_>, method: String) -> Result<String, lumenize_core::Error> {
        let cont = ctn().call(&method, vec![result_marker()]);
        let url = Value::from("http://127.0.0.1:1/");
        let opts = FetchOptions::default();
        // Every design refuses it; the simple one last, so its id is the answer.
        for design in [Design::Direct, Design::Orchestrated] {
            if let Err(e) = fetch::start_fetch(design, ctx, &url, &cont, &opts) {
                return Err(e.into());
            }
        }
        Ok(fetch::proxy_fetch_simple(ctx, &url, &cont, &opts)?)
    }

    fn ring(&mut self, _ctx: &Ctx<'_>) {}

    fn on_done(&mut self, _ctx: &Ctx<'_>, _outcome: Value) {}
}

lumenize_core::handlers!(Desk {
    remind(method: String),
    ask(method: String),
    fetch(method: String),
    ring(),
    on_done as "onDone"(outcome: Value),
});

fn runtime() -> Runtime {
    fetch::install_with_policy(Runtime::builder(), FetchPolicy::default().allow_loopback())
        .object("DESK", |_| Desk)
        .manual_clock(ManualClock::new(1_700_000_000_000))
        .build()
        .unwrap()
}

fn refused(desk: &lumenize_core::runtime::Stub, handler: &str, method: &str) -> String {
    desk.call_method(handler, vec![Value::from(method)])
        .unwrap_err()
        .to_string()
}

#[test]
fn a_schedule_naming_a_missing_method_is_refused_at_once() {
    let rt = runtime();
    let desk = rt.object("DESK", "d");
    let err = refused(&desk, "remind", "rnig");
    assert!(err.contains("no method \"rnig\""), "{err}");
    assert!(err.contains("ring"), "the message lists the methods: {err}");
    // Nothing was scheduled; a correct name still is.
    let count = desk
        .run(|_, ctx| {
            ctx.alarms()
                .count()
                .map_err(|e| ChainError::handler(e.to_string()))
        })
        .unwrap();
    assert_eq!(count, 0);
    desk.call_method("remind", vec![Value::from("ring")])
        .unwrap();
}

#[test]
fn a_call_or_fetch_continuation_naming_a_missing_method_is_refused_at_once() {
    let rt = runtime();
    let desk = rt.object("DESK", "d");
    let err = refused(&desk, "ask", "ondone");
    assert!(err.contains("no method \"ondone\""), "{err}");
    desk.call_method("ask", vec![Value::from("onDone")])
        .unwrap();

    let err = refused(&desk, "fetch", "on_done");
    assert!(err.contains("no method \"on_done\""), "{err}");
    let pending = desk
        .run(|_, ctx| fetch::pending_count(ctx).map_err(|e| ChainError::Storage(e.to_string())))
        .unwrap();
    assert_eq!(pending, 0, "no fetch alarm was written");
    desk.call_method("fetch", vec![Value::from("onDone")])
        .unwrap();
}

#[test]
fn messages_run_as_one_group_are_checked_the_same_way() {
    let rt = runtime();
    let desk = rt.object("DESK", "d");
    // Delivered while the object is busy in this turn, both wait in its mailbox and run as one
    // group; each runs `remind` with the delivered name, and the misspelt one must be refused.
    desk.run(|_, ctx| {
        let sender = NativeExt::of(ctx).expect("native").sender();
        for name in ["rnig", "ring"] {
            let continuation = ctn().call("remind", vec![result_marker()]);
            let outcome = lumenize_core::structured_clone::stringify(&Value::from(name)).unwrap();
            sender
                .deliver(Delivery {
                    to: ctx.me().clone(),
                    continuation: continuation.stringify().unwrap(),
                    outcome: Ok(outcome),
                })
                .map_err(|e| ChainError::handler(e.to_string()))?;
        }
        Ok(())
    })
    .unwrap();
    let settled = rt.settle(std::time::Duration::from_secs(10)).unwrap();
    assert_eq!(settled.failures().len(), 1, "{settled}");
    assert!(
        settled.failures()[0].error.contains("no method \"rnig\""),
        "{settled}"
    );
    let count = desk
        .run(|_, ctx| {
            ctx.alarms()
                .count()
                .map_err(|e| ChainError::handler(e.to_string()))
        })
        .unwrap();
    assert_eq!(count, 1, "only the correct one was scheduled");
}

//! A direct fetch is an output of its turn, like a message: the exchange starts only once the
//! turn has committed, and a turn that rolls back (alone, or as one message of a group)
//! fetches nothing, as on Cloudflare (`lumenize_cloudflare::direct_fetch`).

use lumenize_core::clock::ManualClock;
use lumenize_core::fetch::{self, EndpointServer, FetchOptions, FetchPolicy};
use lumenize_core::prelude::*;
use lumenize_core::runtime::NativeExt;
use lumenize_core::transport::Delivery;
use std::time::Duration;

#[derive(Default)]
struct Desk;

impl Desk {
    /// Starts a direct fetch of `url`, then fails when `fail` is true.
    fn get(&mut self, ctx: &Ctx<'_>, url: String, fail: bool) -> Result<(), lumenize_core::Error> {
        let opts = FetchOptions {
            policy: FetchPolicy::default().allow_loopback(),
            ..FetchOptions::default()
        };
        let cont = ctn().call("got", vec![result_marker()]);
        fetch::direct_fetch(ctx, &Value::from(url), &cont, &opts)?;
        ctx.kv().put("started", &Value::from(true))?;
        if fail {
            return Err(lumenize_core::Error::msg("failed after starting the fetch"));
        }
        Ok(())
    }

    fn got(&mut self, ctx: &Ctx<'_>, _outcome: Value) -> Result<(), lumenize_core::Error> {
        let n = ctx.kv().get_as::<f64>("got")?.unwrap_or(0.0);
        ctx.kv().put_as("got", &(n + 1.0))?;
        Ok(())
    }

    fn got_count(&mut self, ctx: &Ctx<'_>) -> Result<f64, lumenize_core::Error> {
        Ok(ctx.kv().get_as::<f64>("got")?.unwrap_or(0.0))
    }
}

lumenize_core::handlers!(Desk {
    get(url: String, fail: bool),
    got(outcome: Value),
    got_count as "gotCount"(),
});

fn runtime() -> Runtime {
    Runtime::builder()
        .object("DESK", |_| Desk)
        .manual_clock(ManualClock::new(1_700_000_000_000))
        .build()
        .unwrap()
}

fn got_count(desk: &lumenize_core::runtime::Stub) -> f64 {
    desk.call_method("gotCount", vec![])
        .unwrap()
        .as_f64()
        .unwrap()
}

#[test]
fn a_turn_that_fails_after_starting_a_direct_fetch_fetches_nothing() {
    let server = EndpointServer::start().unwrap();
    let rt = runtime();
    let desk = rt.object("DESK", "d");
    let err = desk
        .call_method(
            "get",
            vec![Value::from(server.url("/uuid")), Value::from(true)],
        )
        .unwrap_err();
    assert!(err.to_string().contains("failed after starting"), "{err}");
    rt.settle(Duration::from_secs(10)).unwrap();
    assert_eq!(
        server.requests(),
        0,
        "the rolled-back turn's fetch went out"
    );
    assert_eq!(got_count(&desk), 0.0);

    // The same call that commits fetches once and continues once.
    desk.call_method(
        "get",
        vec![Value::from(server.url("/uuid")), Value::from(false)],
    )
    .unwrap();
    rt.settle(Duration::from_secs(10)).unwrap();
    assert_eq!(server.requests(), 1);
    assert_eq!(got_count(&desk), 1.0);
}

#[test]
fn in_a_group_only_the_messages_that_commit_fetch() {
    let server = EndpointServer::start().unwrap();
    let rt = runtime();
    let desk = rt.object("DESK", "d");
    let url = server.url("/uuid");
    // Delivered while the object is busy in this turn, the three wait in its mailbox and run
    // as one group: the middle one fails after starting its fetch and rolls back alone.
    desk.run(move |_, ctx| {
        let sender = NativeExt::of(ctx).expect("native").sender();
        for fail in [false, true, false] {
            let continuation = ctn().call("get", vec![Value::from(url.as_str()), result_marker()]);
            let outcome = lumenize_core::structured_clone::stringify(&Value::from(fail)).unwrap();
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
    let settled = rt.settle(Duration::from_secs(10)).unwrap();
    assert_eq!(settled.failures().len(), 1, "{settled}");
    assert_eq!(
        server.requests(),
        2,
        "only the two committed messages fetch"
    );
    assert_eq!(got_count(&desk), 2.0);
}

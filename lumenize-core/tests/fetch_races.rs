//! Exactly-once under races, lost deliveries, origin restarts and load, for the simple design
//! (and load for all three). Real HTTP; time moves only through the manual clock.

mod fetch_support;

use fetch_support::*;
use lumenize_core::fetch::{Body, EndpointServer, FetchResponse, RESULT_METHOD};
use lumenize_core::prelude::*;
use lumenize_core::runtime::Stub;

fn response_value() -> Value {
    FetchResponse {
        status: 200,
        status_text: "OK".into(),
        headers: vec![],
        body: Body::Text("late".into()),
    }
    .to_value()
}

/// Delivers a result for `id` the way an executor does (a call of the result method).
fn deliver(o: &Stub, id: &str) {
    o.send(&ctn().call(RESULT_METHOD, vec![Value::from(id), response_value()]))
        .unwrap();
}

#[test]
fn result_and_timeout_back_to_back_in_both_orders_run_the_continuation_once() {
    let server = EndpointServer::start().unwrap();
    let (rt, _clock) = runtime(None);
    let o = origin(&rt);
    let n = 1000;
    let lost = || opts(&[("simulate", Value::Bool(true))]);
    for i in 0..n {
        // Result first, then the alarm in the very next mailbox slot.
        let id = start(&o, "simple", &server.url("/uuid"), &format!("a{i}"), lost()).unwrap();
        deliver(&o, &id);
        let fired = o.trigger_alarms(1).unwrap();
        assert!(
            fired.is_empty(),
            "the result cancelled the alarm: {fired:?}"
        );
        // Alarm first, then the result.
        let id = start(&o, "simple", &server.url("/uuid"), &format!("b{i}"), lost()).unwrap();
        let fired = o.trigger_alarms(1).unwrap();
        assert_eq!(fired, vec![format!("fetch-{id}")]);
        deliver(&o, &id);
    }
    settle(&rt);
    let got = results(&o);
    assert_eq!(got.len(), 2 * n, "one continuation per fetch");
    for (tag, kind, _) in &got {
        let want = if tag.starts_with('a') {
            "Response"
        } else {
            "FetchTimeoutError"
        };
        assert_eq!(kind, want, "{tag}");
    }
    let mut tags: Vec<&String> = got.iter().map(|(t, _, _)| t).collect();
    tags.sort();
    tags.dedup();
    assert_eq!(tags.len(), 2 * n, "no tag twice");
    assert_eq!(
        pending_and_no_ops(&o),
        (0, n as u64),
        "every late result is a counted no-op"
    );
}

#[test]
fn real_results_racing_the_deadline_resolve_exactly_once() {
    let server = EndpointServer::start().unwrap();
    let (rt, clock) = runtime(None);
    let o = origin(&rt);
    let (batches, per) = (10, 200);
    // The executor's own (real-time) timeout is far away, so on a loaded machine only the
    // origin's alarm (manual clock) can end a fetch without a response.
    let o2 = || {
        opts(&[
            ("timeoutMs", Value::from(60_000)),
            ("graceMs", Value::from(0)),
        ])
    };
    for b in 0..batches {
        start_many(
            &o,
            "simple",
            &server.url("/uuid"),
            &format!("b{b}-"),
            per,
            o2(),
        );
        // Once a quarter of the batch has been delivered (polled, not slept), the deadline
        // passes while the rest are still being fetched and delivered: both paths race.
        let target = (b * per + per / 4) as usize;
        while result_count(&o) < target {
            std::thread::yield_now();
        }
        clock.advance(60_000);
    }
    settle(&rt);
    let got = results(&o);
    let total = (batches * per) as usize;
    assert_eq!(got.len(), total);
    let mut tags: Vec<&String> = got.iter().map(|(t, _, _)| t).collect();
    tags.sort();
    tags.dedup();
    assert_eq!(tags.len(), total, "each continuation once");
    let timeouts = got
        .iter()
        .filter(|(_, k, _)| k == "FetchTimeoutError")
        .count();
    let responses = got.iter().filter(|(_, k, _)| k == "Response").count();
    assert_eq!(timeouts + responses, total, "{got:?}");
    let (pending, no_ops) = pending_and_no_ops(&o);
    assert_eq!(pending, 0, "no schedule left behind");
    assert_eq!(
        no_ops as usize, timeouts,
        "every fetch the alarm won has its result counted as a no-op"
    );
    println!("race split: {responses} results won, {timeouts} timeouts won");
    assert!(
        responses >= total / 4 && timeouts > 0,
        "both paths won some races: {responses} results, {timeouts} timeouts"
    );
}

#[test]
fn a_lost_delivery_times_out_and_the_late_result_is_a_logged_no_op() {
    let server = EndpointServer::start().unwrap();
    let (rt, clock) = runtime(None);
    let o = origin(&rt);
    let id = start(
        &o,
        "simple",
        &server.url("/uuid"),
        "x",
        opts(&[("simulate", Value::Bool(true))]),
    )
    .unwrap();
    settle(&rt);
    assert_eq!(server.requests(), 1, "the executor did fetch");
    clock.advance(35_000); // default timeout 30 s + grace 5 s
    settle(&rt);
    assert_eq!(
        results(&o),
        vec![("x".into(), "FetchTimeoutError".into(), 0)]
    );
    deliver(&o, &id);
    settle(&rt);
    assert_eq!(results(&o).len(), 1, "the late result changed nothing");
    assert_eq!(pending_and_no_ops(&o), (0, 1));
    assert_eq!(rt.counters().late_outcomes(), 1, "{:?}", rt.counters());
}

#[test]
fn the_origin_restarting_mid_fetch_still_runs_each_continuation_once() {
    let server = EndpointServer::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (hanging, surviving) = {
        let (rt, _clock) = runtime(Some(dir.path()));
        let o = origin(&rt);
        let long = opts(&[("timeoutMs", Value::from(60_000))]);
        let a = start(&o, "simple", &server.url("/hang"), "a", long).unwrap();
        let b = start(
            &o,
            "simple",
            &server.url("/uuid"),
            "b",
            opts(&[("simulate", Value::Bool(true))]),
        )
        .unwrap();
        (a, b)
        // The runtime drops here with both fetches in flight: a crash, as far as they know.
    };
    let (rt, clock) = runtime(Some(dir.path()));
    let o = origin(&rt);
    assert_eq!(
        pending_and_no_ops(&o),
        (2, 0),
        "both alarms survived the restart"
    );
    // An executor that outlived the restart delivers `b`: it runs once, with the result.
    deliver(&o, &surviving);
    settle(&rt);
    // `a`'s executor died with the old runtime: its alarm fires after 60 s + 5 s.
    clock.advance(65_000);
    settle(&rt);
    assert_eq!(
        results(&o),
        vec![
            ("b".into(), "Response".into(), 200),
            ("a".into(), "FetchTimeoutError".into(), 0)
        ]
    );
    deliver(&o, &hanging);
    settle(&rt);
    assert_eq!(results(&o).len(), 2);
    assert_eq!(pending_and_no_ops(&o), (0, 1));
}

#[test]
fn a_thousand_concurrent_fetches_through_one_origin_for_each_design() {
    let server = EndpointServer::start().unwrap();
    let (rt, _clock) = runtime(None);
    let n = 1000u32;
    for (design, executor) in [
        ("simple", "worker"),
        ("simple", "rpc"),
        ("orchestrated", "worker"),
        ("direct", "worker"),
    ] {
        let o = rt.object(ORIGIN, &format!("{design}-{executor}"));
        let before = server.requests();
        start_many(
            &o,
            design,
            &server.url("/uuid"),
            "t",
            n,
            opts(&[("executor", Value::from(executor))]),
        );
        settle(&rt);
        let got = results(&o);
        assert_eq!(got.len(), n as usize, "{design}/{executor}");
        assert!(got.iter().all(|(_, k, s)| k == "Response" && *s == 200));
        let mut tags: Vec<&String> = got.iter().map(|(t, _, _)| t).collect();
        tags.sort();
        tags.dedup();
        assert_eq!(tags.len(), n as usize, "{design}: each continuation once");
        assert_eq!(pending_and_no_ops(&o), (0, 0), "{design}: no schedule left");
        assert_eq!(server.requests() - before, n as u64);
    }
    let orchestrator = rt.object("FETCH_ORCHESTRATOR", "singleton");
    assert_eq!(
        orchestrator
            .call_method("queueLength", vec![])
            .unwrap()
            .as_f64(),
        Some(0.0)
    );
    let alarms_left = orchestrator
        .run(|_, ctx| {
            ctx.alarms()
                .count()
                .map_err(|e| ChainError::handler(e.to_string()))
        })
        .unwrap();
    assert_eq!(
        alarms_left, 0,
        "the orchestrator's timeouts were all cancelled"
    );
}

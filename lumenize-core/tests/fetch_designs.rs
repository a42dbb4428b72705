//! Every outcome, for both executor forms and all three designs, with real HTTP against the
//! local endpoint server and a manual clock for the origin-side deadline.

mod fetch_support;

use fetch_support::*;
use lumenize_core::fetch::EndpointServer;
use lumenize_core::prelude::*;

/// (design, executor) combinations; the direct design has no executor.
const COMBOS: [(&str, &str); 5] = [
    ("simple", "worker"),
    ("simple", "rpc"),
    ("orchestrated", "worker"),
    ("orchestrated", "rpc"),
    ("direct", "worker"),
];

/// A URL whose connection is refused. Port 1 (tcpmux) is privileged and unused: no test's
/// server can take it, as one could take a port bound and released here (which made this
/// test see a parallel test's `/uuid` answer 200 in CI).
fn refused_url() -> String {
    "http://127.0.0.1:1/uuid".to_string()
}

#[test]
fn every_definite_outcome_for_every_design_and_executor() {
    let server = EndpointServer::start().unwrap();
    let (rt, _clock) = runtime(None);
    let o = origin(&rt);
    let refused = refused_url();
    // (url, extra options, expected kind, expected status)
    let cases: Vec<(String, Value, &str, i64)> = vec![
        (server.url("/uuid"), opts(&[]), "Response", 200),
        (server.url("/status/404"), opts(&[]), "Response", 404),
        (server.url("/status/503"), opts(&[]), "Response", 503),
        (server.url("/bytes/300"), opts(&[]), "Response", 200),
        ("not a url".into(), opts(&[]), "FetchInvalidRequestError", 0),
        (refused.clone(), opts(&[]), "FetchConnectError", 0),
        (
            server.url("/bytes/5000"),
            opts(&[("maxBody", Value::from(1000))]),
            "FetchBodyTooLargeError",
            0,
        ),
        (
            server.url("/hang"),
            opts(&[("timeoutMs", Value::from(150))]),
            "FetchExecutorTimeoutError",
            0,
        ),
    ];
    let mut expected = Vec::new();
    for (design, executor) in COMBOS {
        for (i, (url, extra, kind, status)) in cases.iter().enumerate() {
            let tag = format!("{design}/{executor}/{i}");
            let mut o2 = vec![("executor", Value::from(executor))];
            for k in ["maxBody", "timeoutMs"] {
                if let Some(v) = extra.get(k) {
                    o2.push((k, v));
                }
            }
            start(&o, design, url, &tag, opts(&o2)).unwrap();
            expected.push((tag, kind.to_string(), *status));
        }
    }
    settle(&rt);
    let mut got = results(&o);
    got.sort();
    expected.sort();
    assert_eq!(got, expected);
    assert_eq!(pending_and_no_ops(&o), (0, 0), "no schedule left, no no-op");
    // Bodies survive the wire: JSON, text, and binary (base64 on the wire) byte for byte.
    for (tag, detail) in details(&o) {
        let case: usize = tag.rsplit('/').next().unwrap().parse().unwrap();
        let want = match case {
            0 => "json:true",
            1 => "text:status 404",
            2 => "text:status 503",
            3 => "bytes:300:ok",
            _ => "",
        };
        assert_eq!(detail, want, "{tag}");
    }
    let orchestrator = rt.object("FETCH_ORCHESTRATOR", "singleton");
    assert_eq!(
        orchestrator
            .call_method("queueLength", vec![])
            .unwrap()
            .as_f64(),
        Some(0.0),
        "the orchestrator queue is empty"
    );
}

#[test]
fn no_reply_by_the_deadline_is_the_ambiguous_outcome_for_both_proxy_designs() {
    let server = EndpointServer::start().unwrap();
    let (rt, clock) = runtime(None);
    let o = origin(&rt);
    for (design, executor) in &COMBOS[..4] {
        let o2 = opts(&[
            ("executor", Value::from(*executor)),
            ("simulate", Value::Bool(true)),
            ("timeoutMs", Value::from(1000)),
            ("graceMs", Value::from(500)),
        ]);
        start(
            &o,
            design,
            &server.url("/uuid"),
            &format!("{design}/{executor}"),
            o2,
        )
        .unwrap();
    }
    settle(&rt);
    assert!(
        results(&o).is_empty(),
        "nothing delivered before the deadline"
    );
    clock.advance(1499);
    settle(&rt);
    assert!(
        results(&o).is_empty(),
        "not yet: the deadline is timeout + grace"
    );
    clock.advance(1);
    settle(&rt);
    let got = results(&o);
    assert_eq!(got.len(), 4, "{got:?}");
    assert!(
        got.iter().all(|(_, k, _)| k == "FetchTimeoutError"),
        "{got:?}"
    );
    assert_eq!(
        server.requests(),
        4,
        "each executor did fetch, only delivery was lost"
    );
    assert_eq!(pending_and_no_ops(&o).0, 0);
}

#[test]
fn an_unknown_executor_fails_at_once_without_writing_an_alarm() {
    let (rt, _clock) = runtime(None);
    let o = origin(&rt);
    let err = start(
        &o,
        "simple",
        "http://127.0.0.1:1/",
        "x",
        opts(&[("executor", Value::from("NO_SUCH_EXECUTOR"))]),
    )
    .unwrap_err();
    assert!(err.contains("NO_SUCH_EXECUTOR"), "{err}");
    assert_eq!(pending_and_no_ops(&o), (0, 0), "no alarm was written");
    // The orchestrated design learns it in the orchestrator: a definite executor error, at once.
    start(
        &o,
        "orchestrated",
        "http://127.0.0.1:1/",
        "orch",
        opts(&[("executor", Value::from("NO_SUCH_EXECUTOR"))]),
    )
    .unwrap();
    settle(&rt);
    assert_eq!(
        results(&o),
        vec![("orch".to_string(), "FetchExecutorError".to_string(), 0)]
    );
}

#[test]
fn a_reused_pending_request_id_is_refused() {
    let server = EndpointServer::start().unwrap();
    let (rt, _clock) = runtime(None);
    let o = origin(&rt);
    let o2 = || {
        opts(&[
            ("requestId", Value::from("same")),
            ("simulate", Value::Bool(true)),
        ])
    };
    assert_eq!(
        start(&o, "simple", &server.url("/uuid"), "a", o2()).unwrap(),
        "same"
    );
    let err = start(&o, "simple", &server.url("/uuid"), "b", o2()).unwrap_err();
    assert!(err.contains("already pending"), "{err}");
    settle(&rt);
    assert_eq!(pending_and_no_ops(&o).0, 1);
}

#[test]
fn the_executor_replies_to_the_address_the_origin_was_reached_by() {
    let server = EndpointServer::start().unwrap();
    let (rt, _clock) = runtime(None);
    // Reached by id only: the reply must still find it (and not invent a name).
    let by_id = rt.object_by_id(ORIGIN, &lumenize_core::runtime::object_id(ORIGIN, "anon"));
    start(&by_id, "simple", &server.url("/uuid"), "by-id", opts(&[])).unwrap();
    let by_name = rt.object(ORIGIN, "named");
    start(
        &by_name,
        "simple",
        &server.url("/uuid"),
        "by-name",
        opts(&[]),
    )
    .unwrap();
    settle(&rt);
    assert_eq!(results(&by_id).len(), 1);
    assert_eq!(results(&by_name).len(), 1);
    assert_eq!(rt.counters().failures(), 0, "{:?}", rt.counters());
}

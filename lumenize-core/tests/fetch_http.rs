//! The HTTP execution core and the local endpoint server, with real HTTP on 127.0.0.1.

use std::time::Duration;

use lumenize_core::fetch::{
    Body, EndpointServer, FetchError, FetchPolicy, FetchRequest, FetchResponse, HttpClient,
    HttpLimits,
};
use lumenize_core::structured_clone::{Object, ObjectKind, RequestSync, Value};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The endpoint server listens on loopback, which the default policy refuses.
fn local_client() -> HttpClient {
    HttpClient::with_policy(FetchPolicy::default().allow_loopback())
}

fn fetch(req: &FetchRequest, limits: HttpLimits) -> Result<FetchResponse, FetchError> {
    rt().block_on(local_client().execute(req, limits))
}

fn get(url: &str) -> Result<FetchResponse, FetchError> {
    fetch(&FetchRequest::get(url), HttpLimits::default())
}

#[test]
fn uuid_is_json_and_differs_each_time() {
    let server = EndpointServer::start().unwrap();
    let a = get(&server.url("/uuid")).unwrap();
    let b = get(&server.url("/uuid")).unwrap();
    assert_eq!(a.status, 200);
    assert!(a.ok());
    assert_eq!(a.status_text, "OK");
    assert!(a
        .header("Content-Type")
        .unwrap()
        .contains("application/json"));
    let uuid = |r: &FetchResponse| match &r.body {
        Body::Json(j) => json(j)["uuid"].as_str().unwrap().to_string(),
        other => panic!("expected JSON, got {other:?}"),
    };
    let (ua, ub) = (uuid(&a), uuid(&b));
    assert_eq!(ua.len(), 36);
    assert_eq!(&ua[14..15], "4", "version nibble of {ua}");
    assert_ne!(ua, ub);
    assert_eq!(server.requests(), 2);
}

#[test]
fn error_statuses_are_responses_not_errors() {
    let server = EndpointServer::start().unwrap();
    for code in [201u16, 404, 418, 500, 503] {
        let r = get(&server.url(&format!("/status/{code}"))).unwrap();
        assert_eq!(r.status, code);
        assert_eq!(r.ok(), code < 300);
        assert_eq!(r.body, Body::Text(format!("status {code}")));
    }
    let bad = get(&server.url("/status/99")).unwrap();
    assert_eq!(bad.status, 400);
}

#[test]
fn bytes_arrive_whole_and_the_cap_is_enforced() {
    let server = EndpointServer::start().unwrap();
    let r = get(&server.url("/bytes/70000")).unwrap();
    let Body::Bytes(b) = &r.body else {
        panic!("expected bytes, got {:?}", r.body)
    };
    assert_eq!(b.len(), 70000);
    assert!(b.iter().enumerate().all(|(i, &x)| x == (i % 251) as u8));
    let limits = HttpLimits {
        max_body_bytes: 1000,
        ..HttpLimits::default()
    };
    let at_cap = fetch(&FetchRequest::get(server.url("/bytes/1000")), limits).unwrap();
    assert!(matches!(at_cap.body, Body::Bytes(ref b) if b.len() == 1000));
    let err = fetch(&FetchRequest::get(server.url("/bytes/1001")), limits).unwrap_err();
    assert_eq!(
        err,
        FetchError::BodyTooLarge {
            url: server.url("/bytes/1001"),
            limit: 1000,
            status: 200
        }
    );
    assert!(!err.is_ambiguous());
    assert_eq!(get(&server.url("/bytes/0")).unwrap().body, Body::Empty);
}

#[test]
fn echo_returns_method_headers_and_body_of_a_request_sync() {
    let server = EndpointServer::start().unwrap();
    let payload = Value::object([("name", Value::from("Alice")), ("n", Value::from(3))]);
    let req = Value::Object(Object::new(ObjectKind::RequestSync(RequestSync {
        url: server.url("/echo?q=1"),
        method: "put".into(),
        headers: Value::Object(Object::new(ObjectKind::Headers(vec![(
            "x-trace".into(),
            "abc".into(),
        )]))),
        body: payload,
    })));
    let req = FetchRequest::from_value(&req).unwrap();
    assert_eq!(req.method, "PUT");
    let r = fetch(&req, HttpLimits::default()).unwrap();
    let Body::Json(j) = &r.body else {
        panic!("expected JSON, got {:?}", r.body)
    };
    let j = json(j);
    assert_eq!(j["method"], "PUT");
    assert_eq!(j["path"], "/echo?q=1");
    assert_eq!(j["body"], r#"{"name":"Alice","n":3}"#);
    let headers = j["headers"].as_array().unwrap();
    let has = |k: &str, v: &str| headers.iter().any(|h| h[0] == k && h[1] == v);
    assert!(has("x-trace", "abc"), "{headers:?}");
    assert!(has("content-type", "application/json"), "{headers:?}");
}

#[test]
fn text_body_and_string_url_requests() {
    let server = EndpointServer::start().unwrap();
    let mut req = FetchRequest::from_value(&Value::from(server.url("/echo"))).unwrap();
    req.method = "POST".into();
    req.body = Some(b"plain text".to_vec());
    let r = fetch(&req, HttpLimits::default()).unwrap();
    let Body::Json(j) = &r.body else {
        panic!("expected JSON, got {:?}", r.body)
    };
    let j = json(j);
    assert_eq!(j["body"], "plain text");
    assert!(FetchRequest::from_value(&Value::from(3)).is_err());
}

#[test]
fn the_executor_timeout_is_definite_and_reported() {
    let server = EndpointServer::start().unwrap();
    let limits = HttpLimits {
        timeout: Duration::from_millis(100),
        ..HttpLimits::default()
    };
    let err = fetch(&FetchRequest::get(server.url("/hang")), limits).unwrap_err();
    assert_eq!(
        err,
        FetchError::ExecutorTimeout {
            url: server.url("/hang"),
            timeout_ms: 100
        }
    );
    assert!(!err.is_ambiguous());
    // The hanging request is still open on the server; dropping the server must not wait on it.
    drop(server);
}

#[test]
fn a_delay_shorter_than_the_timeout_completes() {
    let server = EndpointServer::start().unwrap();
    let r = get(&server.url("/delay/20")).unwrap();
    assert!(matches!(r.body, Body::Json(ref j) if json(j)["delayMs"] == 20));
}

#[test]
fn connection_refused_is_a_connect_error() {
    // Port 1 (tcpmux) is privileged and unused: unlike a port bound and released here, no
    // parallel test's server can take it in between.
    let url = "http://127.0.0.1:1/uuid".to_string();
    match get(&url).unwrap_err() {
        FetchError::Connect { url: u, message } => {
            assert_eq!(u, url);
            assert!(!message.is_empty());
        }
        other => panic!("expected Connect, got {other:?}"),
    }
}

#[test]
fn bad_urls_methods_and_headers_are_invalid_requests() {
    for url in ["not a url", "ftp://127.0.0.1/x", ""] {
        let err = get(url).unwrap_err();
        assert!(
            matches!(err, FetchError::InvalidRequest { .. }),
            "{url}: {err:?}"
        );
    }
    let mut req = FetchRequest::get("http://127.0.0.1:1/");
    req.method = "BAD METHOD".into();
    assert!(matches!(
        fetch(&req, HttpLimits::default()),
        Err(FetchError::InvalidRequest { .. })
    ));
    let mut req = FetchRequest::get("http://127.0.0.1:1/");
    req.headers.push(("x-bad".into(), "line\nbreak".into()));
    assert!(matches!(
        fetch(&req, HttpLimits::default()),
        Err(FetchError::InvalidRequest { .. })
    ));
}

#[test]
fn many_concurrent_requests_share_one_client() {
    let server = EndpointServer::start().unwrap();
    let client = local_client();
    let results = rt().block_on(async {
        let tasks: Vec<_> = (0..300)
            .map(|_| {
                let c = client.clone();
                let req = FetchRequest::get(server.url("/uuid"));
                tokio::spawn(async move { c.execute(&req, HttpLimits::default()).await })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    });
    assert!(results
        .iter()
        .all(|r| r.as_ref().is_ok_and(|r| r.status == 200)));
    assert_eq!(server.requests(), 300);
}

/// A JSON body's text as a serde_json tree (for indexing in assertions).
fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).expect("a JSON body")
}

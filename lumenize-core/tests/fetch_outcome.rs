//! Fetch outcomes as values: every `FetchError` variant and responses survive the
//! structured-clone wire format and can be told apart by the continuation.

use lumenize_core::fetch::{outcome_from_value, outcome_to_value, Body, FetchError, FetchResponse};
use lumenize_core::structured_clone::{parse, stringify, ObjectKind, Value};

fn all_errors() -> Vec<FetchError> {
    let url = "https://api.example.com/x".to_string();
    vec![
        FetchError::InvalidRequest {
            url: url.clone(),
            message: "relative URL without a base".into(),
        },
        FetchError::Connect {
            url: url.clone(),
            message: "connection refused".into(),
        },
        FetchError::Network {
            url: url.clone(),
            message: "connection reset".into(),
        },
        FetchError::BodyTooLarge {
            url: url.clone(),
            limit: 1024,
            status: 200,
        },
        FetchError::ExecutorTimeout {
            url: url.clone(),
            timeout_ms: 30_000,
        },
        FetchError::Executor {
            url: url.clone(),
            message: "no executor bound as FETCH_EXECUTOR".into(),
        },
        FetchError::Denied {
            url: url.clone(),
            message: "refused by the fetch policy: 127.0.0.1 is a loopback address".into(),
        },
        FetchError::NoReply {
            url,
            request_id: "req-1".into(),
            timeout_ms: 30_000,
            grace_ms: 5_000,
        },
    ]
}

fn sample_responses() -> Vec<FetchResponse> {
    let headers = vec![("content-type".to_string(), "application/json".to_string())];
    vec![
        FetchResponse {
            status: 200,
            status_text: "OK".into(),
            headers: headers.clone(),
            body: Body::Json(r#"{"uuid":"abc","list":[1,"two",null]}"#.into()),
        },
        FetchResponse {
            status: 404,
            status_text: "Not Found".into(),
            headers: vec![],
            body: Body::Text("not found".into()),
        },
        FetchResponse {
            status: 204,
            status_text: "No Content".into(),
            headers: vec![],
            body: Body::Empty,
        },
        FetchResponse {
            status: 200,
            status_text: "OK".into(),
            headers: vec![],
            body: Body::Bytes(vec![0, 1, 2, 255]),
        },
    ]
}

#[test]
fn every_error_has_a_distinct_name_and_only_no_reply_is_ambiguous() {
    let errors = all_errors();
    let mut names: Vec<&str> = errors.iter().map(FetchError::name).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), errors.len());
    for e in &errors {
        assert_eq!(e.is_ambiguous(), matches!(e, FetchError::NoReply { .. }));
        assert_eq!(e.url(), "https://api.example.com/x");
    }
}

#[test]
fn errors_round_trip_as_values() {
    for e in all_errors() {
        let v = e.to_value();
        let kind = v.as_object().unwrap().borrow().clone();
        let ObjectKind::Error(err) = kind else {
            panic!("not an Error value")
        };
        assert_eq!(err.name, e.name());
        assert_eq!(err.message, e.to_string());
        assert_eq!(
            err.props.get("ambiguous").and_then(Value::as_bool),
            Some(e.is_ambiguous())
        );
        assert_eq!(FetchError::from_value(&v), Some(e.clone()));
        assert_eq!(outcome_from_value(&v), Err(e));
    }
}

#[test]
fn foreign_values_are_not_mistaken_for_outcomes() {
    assert_eq!(
        FetchError::from_value(&Value::error("TypeError", "x")),
        None
    );
    assert_eq!(
        FetchError::from_value(&Value::from("FetchTimeoutError")),
        None
    );
    assert!(matches!(
        outcome_from_value(&Value::Null),
        Err(FetchError::Executor { .. })
    ));
}

#[test]
fn outcomes_survive_the_wire_format() {
    let outcomes: Vec<Result<FetchResponse, FetchError>> = sample_responses()
        .into_iter()
        .map(Ok)
        .chain(all_errors().into_iter().map(Err))
        .collect();
    for o in outcomes {
        let text = stringify(&outcome_to_value(&o)).unwrap();
        let back = parse(&text).unwrap();
        assert_eq!(outcome_from_value(&back), o, "wire text: {text}");
    }
}

#[test]
fn no_reply_is_encoded_like_the_typescript_fetch_timeout_error() {
    let e = all_errors().pop().unwrap();
    let text = stringify(&e.to_value()).unwrap();
    assert!(
        text.starts_with(r#"{"json":{"$type":"error","name":"FetchTimeoutError","message":"#),
        "{text}"
    );
    assert!(
        text.contains(r#""url":"https://api.example.com/x""#),
        "{text}"
    );
    assert!(text.contains(r#""requestId":"req-1""#), "{text}");
}

#[test]
fn binary_bodies_travel_as_marked_base64_text() {
    let r = sample_responses().pop().unwrap();
    let text = stringify(&outcome_to_value(&Ok(r.clone()))).unwrap();
    assert!(text.contains(r#""body":"AAEC/w==""#), "{text}");
    assert!(
        text.contains(r#"["x-lumenize-body-encoding","base64"]"#),
        "{text}"
    );
    let back = outcome_from_value(&parse(&text).unwrap()).unwrap();
    assert_eq!(back, r, "the marker header is removed again");
}

#[test]
fn binary_request_bodies_survive_the_wire_and_the_marker_is_not_sent() {
    use lumenize_core::fetch::FetchRequest;
    let req = FetchRequest {
        url: "http://127.0.0.1:1/echo".into(),
        method: "POST".into(),
        headers: vec![("x-a".into(), "1".into())],
        body: Some(vec![0, 159, 146, 150, 255]),
    };
    let text = stringify(&req.to_value()).unwrap();
    assert!(text.contains("x-lumenize-body-encoding"), "{text}");
    let back = FetchRequest::from_value(&parse(&text).unwrap()).unwrap();
    assert_eq!(
        back, req,
        "bytes intact, marker header stripped before sending"
    );
}

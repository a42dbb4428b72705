//! Byte compatibility with `@lumenize/structured-clone` 0.26: every vector in
//! `tests/data/structured-clone-w4.json` (made with the real npm package) is checked.
//!
//! For each vector that does not throw: `parse` of the JavaScript `stringify` text succeeds,
//! [`describe`] of the decoded value equals the vector's `decoded` description (identity and
//! cycles included), and re-encoding gives the same bytes (or `reencoded` where JavaScript's own
//! re-encoding differs). Throwing vectors that Rust can express are built and must fail.

use lumenize_core::structured_clone::{
    describe, parse, parse_json, stringify, Object, ObjectKind, TypedArrayKind, Value,
};
use serde_json::Value as Json;

const VECTORS: &str = include_str!("data/structured-clone-w4.json");

/// Vectors whose *input* only exists in JavaScript; the reason is part of the skip.
const JS_ONLY: [(&str, &str); 3] = [
    (
        "native-request",
        "a native fetch Request has no Value form (RequestSync does)",
    ),
    (
        "native-response",
        "a native fetch Response has no Value form (ResponseSync does)",
    ),
    ("symbol-in-array", "Value has no symbol type"),
];

/// Structural equality of a description (`describe`'s serde_json tree) with the vector's
/// (read by the codec's own JSON reader, so its numbers are exact whatever serde_json's
/// features); numbers compare by value (`42` == `42.0`). Key order is not compared here
/// (serde_json's maps may sort it): the byte-exact re-encoding below checks it.
fn same(a: &Json, b: &Value) -> bool {
    match (a, b) {
        (Json::Null, Value::Null) => true,
        (Json::Bool(x), Value::Bool(y)) => x == y,
        (Json::Number(x), Value::Number(y)) => x.as_f64() == Some(*y),
        (Json::String(x), Value::String(y)) => x == y,
        (Json::Array(x), _) => b
            .as_array()
            .is_some_and(|y| x.len() == y.len() && x.iter().zip(&y).all(|(p, q)| same(p, q))),
        (Json::Object(x), Value::Object(o)) => match &*o.borrow() {
            ObjectKind::Plain(y) => {
                x.len() == y.len()
                    && y.iter()
                        .all(|(k, vb)| x.get(k).is_some_and(|va| same(va, vb)))
            }
            _ => false,
        },
        _ => false,
    }
}

/// The vectors file, read with exact numbers and key order.
fn vectors() -> (Value, Vec<Value>) {
    let doc = parse_json(VECTORS).expect("vectors file is JSON");
    let all = doc
        .get("vectors")
        .and_then(|v| v.as_array())
        .expect("vectors array");
    (doc, all)
}

fn field(v: &Value, key: &str) -> Value {
    v.get(key).unwrap_or(Value::Undefined)
}

fn text(v: &Value, key: &str) -> String {
    field(v, key)
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not a string"))
        .to_string()
}

fn throws(v: &Value) -> bool {
    !matches!(field(v, "throws"), Value::Null | Value::Undefined)
}

#[test]
fn every_vector_round_trips_byte_exactly() {
    let (doc, all) = vectors();
    let count = field(&field(&doc, "summary"), "count").as_f64().unwrap();
    assert_eq!(all.len() as f64, count);
    let mut checked = 0;
    let mut failures = Vec::new();
    for v in &all {
        let name = text(v, "name");
        if throws(v) || name == "lone-surrogate" {
            continue; // covered by the tests below
        }
        let text_in = text(v, "stringify");
        let decoded = match parse(&text_in) {
            Ok(d) => d,
            Err(e) => {
                failures.push(format!("{name}: parse failed: {e}"));
                continue;
            }
        };
        let got = describe(&decoded);
        let want_description = field(v, "decoded");
        if !same(&got, &want_description) {
            failures.push(format!(
                "{name}: decoded description differs\n  want {want_description:?}\n  got  {got}"
            ));
        }
        let want = if field(v, "reencodeStable").as_bool() == Some(false) {
            text(v, "reencoded")
        } else {
            text_in
        };
        match stringify(&decoded) {
            Ok(again) if again == want => {}
            Ok(again) => failures.push(format!(
                "{name}: re-encoding differs\n  want {want}\n  got  {again}"
            )),
            Err(e) => failures.push(format!("{name}: re-encoding failed: {e}")),
        }
        checked += 1;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // 87 vectors: 5 throw (3 of them JS-only inputs), 1 is the lone surrogate.
    assert_eq!(checked, all.len() - 6);
}

#[test]
fn lone_surrogate_is_a_clear_error() {
    let v = vectors()
        .1
        .into_iter()
        .find(|v| text(v, "name") == "lone-surrogate")
        .unwrap();
    let err = parse(&text(&v, "stringify")).unwrap_err();
    assert!(
        err.message.contains("lone UTF-16 surrogate \\ud800"),
        "{err}"
    );
    assert_eq!(err.path, "json");
}

#[test]
fn throwing_vectors_that_rust_can_express_fail_to_encode() {
    let (_, all) = vectors();
    let throwing: Vec<String> = all
        .iter()
        .filter(|v| throws(v))
        .map(|v| text(v, "name"))
        .collect();
    for name in &throwing {
        let input = match name.as_str() {
            "date-invalid" => Value::date(f64::NAN),
            "bigint64array" => Value::Object(Object::new(ObjectKind::TypedArray {
                kind: TypedArrayKind::BigInt64Array,
                values: vec![1.0, -1.0],
            })),
            other => {
                let reason = JS_ONLY
                    .iter()
                    .find(|(n, _)| *n == other)
                    .map(|(_, why)| *why);
                assert!(
                    reason.is_some(),
                    "throwing vector {other} is neither built nor skipped"
                );
                continue;
            }
        };
        let err = stringify(&input).unwrap_err();
        assert_eq!(err.path, "json", "{name}: {err}");
        let expected = match name.as_str() {
            "date-invalid" => "Invalid time value",
            _ => "Do not know how to serialize a BigInt",
        };
        assert!(err.message.contains(expected), "{name}: {err}");
    }
}

//! Byte compatibility with `@lumenize/structured-clone` 0.26: every vector in
//! `tests/data/structured-clone-w4.json` (made with the real npm package) is checked.
//!
//! For each vector that does not throw: `parse` of the JavaScript `stringify` text succeeds,
//! [`describe`] of the decoded value equals the vector's `decoded` description (identity and
//! cycles included), and re-encoding gives the same bytes (or `reencoded` where JavaScript's own
//! re-encoding differs). Throwing vectors that Rust can express are built and must fail.

use lumenize_core::structured_clone::{
    describe, parse, stringify, Object, ObjectKind, TypedArrayKind, Value,
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

/// Structural equality of descriptions; numbers compare by value (`42` == `42.0`), object keys
/// compare in order (key order is part of the format).
fn same(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => x.as_f64() == y.as_f64(),
        (Json::Array(x), Json::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((ka, va), (kb, vb))| ka == kb && same(va, vb))
        }
        _ => a == b,
    }
}

fn vectors() -> Vec<Json> {
    let doc: Json = serde_json::from_str(VECTORS).expect("vectors file is JSON");
    doc["vectors"].as_array().expect("vectors array").clone()
}

#[test]
fn every_vector_round_trips_byte_exactly() {
    let all = vectors();
    let doc: Json = serde_json::from_str(VECTORS).unwrap();
    assert_eq!(all.len() as u64, doc["summary"]["count"].as_u64().unwrap());
    let mut checked = 0;
    let mut failures = Vec::new();
    for v in &all {
        let name = v["name"].as_str().unwrap();
        if v.get("throws").is_some_and(|t| !t.is_null()) || name == "lone-surrogate" {
            continue; // covered by the tests below
        }
        let text = v["stringify"].as_str().unwrap();
        let decoded = match parse(text) {
            Ok(d) => d,
            Err(e) => {
                failures.push(format!("{name}: parse failed: {e}"));
                continue;
            }
        };
        let got = describe(&decoded);
        if !same(&got, &v["decoded"]) {
            failures.push(format!(
                "{name}: decoded description differs\n  want {}\n  got  {}",
                v["decoded"], got
            ));
        }
        let want = if v["reencodeStable"].as_bool() == Some(false) {
            v["reencoded"].as_str().unwrap()
        } else {
            text
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
        .into_iter()
        .find(|v| v["name"] == "lone-surrogate")
        .unwrap();
    let err = parse(v["stringify"].as_str().unwrap()).unwrap_err();
    assert!(
        err.message.contains("lone UTF-16 surrogate \\ud800"),
        "{err}"
    );
    assert_eq!(err.path, "json");
}

#[test]
fn throwing_vectors_that_rust_can_express_fail_to_encode() {
    let all = vectors();
    let throws: Vec<&str> = all
        .iter()
        .filter(|v| v.get("throws").is_some_and(|t| !t.is_null()))
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    for name in throws {
        let input = match name {
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
        let expected = match name {
            "date-invalid" => "Invalid time value",
            _ => "Do not know how to serialize a BigInt",
        };
        assert!(err.message.contains(expected), "{name}: {err}");
    }
}

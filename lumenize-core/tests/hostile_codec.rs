//! Issue 14, item 2 (the codec side): a graph with shared references expands exponentially
//! when walked as a tree. The serde bridge (`from_value`), the fetch body conversion
//! (`FetchRequest::from_value` / `FetchResponse::from_value`, i.e. `value_to_json`) and the raw
//! body writer (`stringify` of a `RequestSync`/`ResponseSync`) must each cost work linear in the
//! decoded graph or refuse with a clear error; cycles are refused.
//!
//! The counting allocator refuses to allocate beyond a cap, so an exponential expansion aborts
//! this binary quickly (a bounded failure) instead of exhausting the machine.

mod alloc_counter;

use alloc_counter::measure;
use lumenize_core::fetch::{FetchRequest, FetchResponse};
use lumenize_core::structured_clone::{
    from_value, parse, stringify, Object, ObjectKind, RequestSync, ResponseSync, Value,
};

#[global_allocator]
static ALLOC: alloc_counter::Counting = alloc_counter::Counting;

/// Wire text of `levels` arrays, each holding the next one twice, with a small object at the
/// bottom: `levels` aliases, a tree of 2^levels leaves.
fn bomb_text(levels: usize) -> String {
    let mut aliases = Vec::new();
    for i in 0..levels {
        aliases.push(format!(
            r#""{i}":[{{"$ref":{n}}},{{"$ref":{n}}}]"#,
            n = i + 1
        ));
    }
    aliases.push(format!(r#""{levels}":{{"leaf":"x"}}"#));
    format!(
        r#"{{"json":{{"$ref":0}},"meta":{{"aliases":{{{}}}}}}}"#,
        aliases.join(",")
    )
}

/// The tree expansion of `bomb_text(levels)` as JSON.
fn bomb_json(levels: usize) -> serde_json::Value {
    let mut j = serde_json::json!({"leaf": "x"});
    for _ in 0..levels {
        j = serde_json::Value::Array(vec![j.clone(), j]);
    }
    j
}

fn request_with_body(body: Value) -> Value {
    Value::Object(Object::new(ObjectKind::RequestSync(RequestSync {
        url: "https://example.com/".into(),
        method: "POST".into(),
        headers: Value::Null,
        body,
    })))
}

fn response_with_body(body: Value) -> Value {
    Value::Object(Object::new(ObjectKind::ResponseSync(ResponseSync {
        status: 200,
        status_text: "OK".into(),
        headers: Value::Null,
        body,
    })))
}

/// Allocations a refused conversion may make: the expansion budget (2^20 units) plus a little.
const REFUSAL_ALLOCS: u64 = 4 << 20;

#[test]
fn from_value_refuses_an_exponential_expansion() {
    let text = bomb_text(48);
    assert!(text.len() < 2048, "{} bytes", text.len());
    let v = parse(&text).unwrap();
    let (r, allocs, _) = measure(|| from_value::<serde_json::Value>(&v));
    let e = r.unwrap_err();
    assert!(e.message.contains("expansion budget"), "{e}");
    assert!(e.path.starts_with("value"), "{e}");
    assert!(allocs < REFUSAL_ALLOCS, "{allocs} allocations");
}

#[test]
fn value_to_json_refuses_an_exponential_expansion() {
    let v = parse(&bomb_text(48)).unwrap();
    let (r, allocs, _) = measure(|| FetchRequest::from_value(&request_with_body(v.clone())));
    let e = r.unwrap_err().to_string();
    assert!(e.contains("expansion budget"), "{e}");
    assert!(allocs < REFUSAL_ALLOCS, "{allocs} allocations");
    let (r, allocs, _) = measure(|| FetchResponse::from_value(&response_with_body(v.clone())));
    assert!(r.is_none());
    assert!(allocs < REFUSAL_ALLOCS, "{allocs} allocations");
}

#[test]
fn raw_body_writer_refuses_an_exponential_expansion() {
    let v = parse(&bomb_text(48)).unwrap();
    for value in [request_with_body(v.clone()), response_with_body(v.clone())] {
        let (r, allocs, _) = measure(|| stringify(&value));
        let e = r.unwrap_err();
        assert!(e.message.contains("expansion budget"), "{e}");
        assert!(e.path.starts_with("json.data.body"), "{e}");
        assert!(allocs < REFUSAL_ALLOCS, "{allocs} allocations");
    }
}

#[test]
fn modest_sharing_still_converts_as_a_tree() {
    // 2^10 leaves from 11 objects: well inside the budget.
    let levels = 10;
    let v = parse(&bomb_text(levels)).unwrap();
    let want = bomb_json(levels);
    assert_eq!(from_value::<serde_json::Value>(&v).unwrap(), want);

    let req = FetchRequest::from_value(&request_with_body(v.clone())).unwrap();
    let body: serde_json::Value = serde_json::from_slice(&req.body.unwrap()).unwrap();
    assert_eq!(body, want);
    let resp = FetchResponse::from_value(&response_with_body(v.clone())).unwrap();
    assert_eq!(resp.body, lumenize_core::fetch::Body::Json(want.clone()));

    // The raw body repeats a shared object, as JSON.stringify does.
    let text = stringify(&request_with_body(v)).unwrap();
    let back = parse(&text).unwrap();
    let ObjectKind::RequestSync(r) = &*back.as_object().unwrap().borrow() else {
        panic!("expected a RequestSync");
    };
    assert_eq!(from_value::<serde_json::Value>(&r.body).unwrap(), want);
}

/// `[x, x]` with `x = {"me": x}` style self references, built by hand.
fn cyclic() -> Value {
    let inner = Value::object([("name", Value::from("loop"))]);
    if let ObjectKind::Plain(p) = &mut *inner.as_object().unwrap().borrow_mut() {
        p.insert("me", inner.clone());
    }
    Value::array([inner.clone(), inner])
}

fn break_cycle(v: &Value) {
    if let Some(items) = v.as_array() {
        for item in items {
            if let Some(o) = item.as_object() {
                *o.borrow_mut() = ObjectKind::Plain(Default::default());
            }
        }
    }
}

#[test]
fn cycles_are_refused_with_a_clear_error() {
    let v = cyclic();
    let e = from_value::<serde_json::Value>(&v).unwrap_err();
    assert!(e.message.contains("cycle"), "{e}");
    assert_eq!(e.path, "value[0].me");
    let e = FetchRequest::from_value(&request_with_body(v.clone()))
        .unwrap_err()
        .to_string();
    assert!(e.contains("cycle"), "{e}");
    let e = stringify(&request_with_body(v.clone())).unwrap_err();
    assert!(e.message.contains("circular"), "{e}");
    assert_eq!(e.path, "json.data.body[0].me");
    break_cycle(&v);
}

//! The serde bridge: user types ⇄ `Value` ⇄ wire text.

use std::collections::{BTreeMap, HashMap};

use lumenize_core::structured_clone::{
    from_str, from_value, parse, stringify, to_string, to_value, ObjectKind, Value,
};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
enum Status {
    Idle,
    Busy(u32),
    Failed { code: i64, reason: String },
    Pair(u8, bool),
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct Point {
    x: f64,
    y: f64,
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct Job {
    id: u64,
    name: String,
    owner: Option<String>,
    retries: Option<u8>,
    path: Vec<Point>,
    status: Status,
    history: Vec<Status>,
    labels: HashMap<String, i32>,
    by_number: BTreeMap<u32, String>,
    big: i64,
    #[serde(with = "bytes")]
    blob: Vec<u8>,
}

mod bytes {
    use serde::{Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(v)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E>(self, v: &[u8]) -> Result<Vec<u8>, E> {
                Ok(v.to_vec())
            }
        }
        d.deserialize_bytes(V)
    }
}

fn sample() -> Job {
    Job {
        id: 42,
        name: "rebuild \"index\"".into(),
        owner: Some("ada".into()),
        retries: None,
        path: vec![Point { x: 0.5, y: -1.0 }, Point { x: 1e21, y: 5e-324 }],
        status: Status::Failed {
            code: -7,
            reason: "disk".into(),
        },
        history: vec![Status::Idle, Status::Busy(3), Status::Pair(9, true)],
        labels: HashMap::from([("$weird".to_string(), 1), ("plain".to_string(), 2)]),
        by_number: BTreeMap::from([(2, "two".to_string()), (10, "ten".to_string())]),
        big: i64::MAX,
        blob: vec![0, 1, 255],
    }
}

#[test]
fn derived_struct_round_trips_through_value_and_text() {
    let job = sample();
    let v = to_value(&job).unwrap();
    assert_eq!(from_value::<Job>(&v).unwrap(), job);
    let text = to_string(&job).unwrap();
    assert_eq!(from_str::<Job>(&text).unwrap(), job);
    // The text is ordinary W4: it parses as a Value and re-encodes to the same bytes.
    assert_eq!(stringify(&parse(&text).unwrap()).unwrap(), text);
}

#[test]
fn mapping_is_javascript_shaped() {
    let v = to_value(&sample()).unwrap();
    // Struct -> plain object, in field order.
    let ObjectKind::Plain(props) = &*v.as_object().unwrap().borrow() else {
        panic!("a struct must become a plain object");
    };
    let keys: Vec<&str> = props.keys().collect();
    assert_eq!(
        keys,
        [
            "id",
            "name",
            "owner",
            "retries",
            "path",
            "status",
            "history",
            "labels",
            "by_number",
            "big",
            "blob"
        ]
    );
    assert!(v.get("retries").unwrap().is_null()); // None -> null
                                                  // Unit variant -> string; struct variant -> {Variant: {...}}.
    let history = v.get("history").unwrap().as_array().unwrap();
    assert_eq!(history[0].as_str(), Some("Idle"));
    let failed = v.get("status").unwrap().get("Failed").unwrap();
    assert_eq!(failed.get("code").unwrap().as_f64(), Some(-7.0));
    // Integer keys -> a Map (keys keep their type); i64::MAX -> bigint (beyond 2^53).
    assert!(matches!(
        &*v.get("by_number").unwrap().as_object().unwrap().borrow(),
        ObjectKind::Map(_)
    ));
    assert!(
        matches!(v.get("big").unwrap(), Value::BigInt(b) if b.as_str() == "9223372036854775807")
    );
    // Bytes -> ArrayBuffer.
    assert!(matches!(
        &*v.get("blob").unwrap().as_object().unwrap().borrow(),
        ObjectKind::ArrayBuffer(b) if b == &[0, 1, 255]
    ));
    // `$` keys of user maps are escaped on the wire like any other key.
    assert!(to_string(&sample()).unwrap().contains(r#""$$weird":1"#));
}

#[test]
fn javascript_forms_deserialize_naturally() {
    #[derive(Deserialize, Debug, PartialEq)]
    struct Event {
        at: String,
        count: u32,
        label: Option<String>,
        tags: Vec<String>,
        link: String,
    }
    // A Date reads as its ISO string, a Set as a sequence, undefined as None, a URL as href,
    // a boxed number as a number.
    let text = r#"{"json":{"at":{"$type":"date","iso":"1970-01-01T00:00:00.000Z"},"count":{"$type":"number-object","value":3},"label":{"$type":"undefined"},"tags":{"$type":"set","values":["a","b"]},"link":{"$type":"url","href":"https://x.test/"}},"meta":{}}"#;
    let e: Event = from_str(text).unwrap();
    assert_eq!(
        e,
        Event {
            at: "1970-01-01T00:00:00.000Z".into(),
            count: 3,
            label: None,
            tags: vec!["a".into(), "b".into()],
            link: "https://x.test/".into(),
        }
    );
}

#[test]
fn errors_name_the_path_in_the_value() {
    let text = r#"{"json":{"id":1,"name":"n","owner":null,"retries":null,"path":[{"x":1,"y":2},{"x":"oops","y":2}],"status":"Idle","history":[],"labels":{},"by_number":{},"big":1,"blob":{"$type":"arraybuffer","subtype":"ArrayBuffer","data":[]}},"meta":{}}"#;
    let err = from_str::<Job>(text).unwrap_err();
    assert_eq!(err.path, "value.path[1].x", "{err}");
    assert!(err.message.contains("invalid type"), "{err}");

    let err = from_value::<u8>(&Value::from(300)).unwrap_err();
    assert!(err.message.contains("300"), "{err}");
    let err = from_value::<Status>(&Value::from("Unknown")).unwrap_err();
    assert!(err.message.contains("unknown variant"), "{err}");
}

#[test]
fn a_cyclic_value_is_an_error_not_a_hang() {
    let v = Value::object([("name", Value::from("loop"))]);
    let obj = v.as_object().unwrap().clone();
    if let ObjectKind::Plain(p) = &mut *obj.borrow_mut() {
        p.insert("next", v.clone());
    }
    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Node {
        name: String,
        next: Option<Box<Node>>,
    }
    let err = from_value::<Node>(&v).unwrap_err();
    assert!(err.message.contains("cycle"), "{err}");
    assert_eq!(err.path, "value.next");
    // Break the cycle so the test does not leak.
    *obj.borrow_mut() = ObjectKind::Plain(Default::default());
}

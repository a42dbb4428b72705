//! Property tests: `parse` never panics on any input, and arbitrary value graphs (shared
//! references and cycles included) round-trip with their structure and identity intact.

use lumenize_core::structured_clone::{
    describe, parse, stringify, BigInt, ErrorValue, Object, ObjectKind, Props, RequestSync,
    ResponseSync, TypedArrayKind, Value,
};
use proptest::prelude::*;

// ---- never panics -----------------------------------------------------------------------

/// Text drawn from JSON's alphabet plus the format's keywords, so inputs get past the first
/// byte and exercise the typed, alias and escape paths.
fn jsonish() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("{".to_string()),
        Just("}".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just(",".to_string()),
        Just(":".to_string()),
        Just("\"json\":".to_string()),
        Just("\"meta\":{\"aliases\":{\"0\":".to_string()),
        Just("{\"$ref\":0}".to_string()),
        Just("\"$type\":".to_string()),
        Just("\"map\"".to_string()),
        Just("\"error\"".to_string()),
        Just("\"date\"".to_string()),
        Just("\"arraybuffer\"".to_string()),
        Just("\"request-sync\"".to_string()),
        Just("\"\\ud800\"".to_string()),
        Just("\"\\u00e9\\n\"".to_string()),
        Just("-0.5e-3".to_string()),
        Just("1e400".to_string()),
        Just("null".to_string()),
        Just("true".to_string()),
        "[ -~]{0,3}",
    ];
    prop::collection::vec(token, 0..40).prop_map(|t| t.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn parse_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = parse(&text);
    }

    #[test]
    fn parse_never_panics_on_jsonish_text(body in jsonish()) {
        for text in [format!("{{\"json\":{body}"), body] {
            if let Ok(v) = parse(&text) {
                // Whatever decodes must encode again without panicking.
                let _ = stringify(&v);
            }
        }
    }
}

// ---- arbitrary graphs round-trip --------------------------------------------------------

/// Numbers JSON can carry exactly (no -0, which JavaScript itself turns into 0).
fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>().prop_map(|n| if n == 0.0 { 0.0 } else { n }),
        (-1000i32..1000).prop_map(f64::from),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(1e21),
        Just(5e-324),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z$]{0,3}",
        "[0-9]{1,3}",
        Just("$type".to_string()),
        Just("$ref".to_string()),
        Just("$$x".to_string()),
        any::<String>(),
    ]
}

fn obj(kind: ObjectKind) -> Value {
    Value::Object(Object::new(kind))
}

fn primitive() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Undefined),
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number().prop_map(Value::Number),
        any::<i128>().prop_map(|n| Value::BigInt(BigInt::from(n))),
        any::<String>().prop_map(Value::String),
    ]
}

/// Plain JSON for raw request/response bodies (what `JSON.stringify` carries unchanged).
fn raw_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-1e6f64..1e6).prop_map(|n| Value::Number(if n == 0.0 { 0.0 } else { n })),
        "[a-z ]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::array),
            prop::collection::vec(("[a-z$0-9]{0,3}", inner), 0..4).prop_map(Value::object),
        ]
    })
}

fn headers() -> impl Strategy<Value = Value> {
    prop::collection::vec(("[a-z-]{1,6}", "[ -~]{0,6}"), 0..3)
        .prop_map(|e| obj(ObjectKind::Headers(e)))
}

/// Objects without children.
fn leaf_object() -> impl Strategy<Value = Value> {
    let typed = (0usize..9, prop::collection::vec(number(), 0..5)).prop_map(|(k, xs)| {
        let kind = TypedArrayKind::ALL[k];
        // Stored as the array would hold them; NaN/±Infinity/-0 are lossy on the wire.
        let values = xs
            .into_iter()
            .map(|x| kind.coerce(x))
            .map(|x| if x.is_finite() && x != 0.0 { x } else { 0.0 })
            .collect();
        obj(ObjectKind::TypedArray { kind, values })
    });
    let dataview = (
        prop::collection::vec(any::<u8>(), 0..8),
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
    )
        .prop_map(|(buffer, a, b)| {
            let off = a.index(buffer.len() + 1);
            let len = b.index(buffer.len() - off + 1);
            obj(ObjectKind::DataView {
                buffer,
                byte_offset: off,
                byte_length: len,
            })
        });
    prop_oneof![
        (-8_640_000_000_000_000i64..=8_640_000_000_000_000).prop_map(|ms| Value::date(ms as f64)),
        (any::<String>(), "[dgimsuy]{0,3}")
            .prop_map(|(source, flags)| obj(ObjectKind::RegExp { source, flags })),
        any::<String>().prop_map(|u| obj(ObjectKind::Url(u))),
        headers(),
        prop::collection::vec(any::<u8>(), 0..8).prop_map(|b| obj(ObjectKind::ArrayBuffer(b))),
        typed,
        dataview,
        any::<bool>().prop_map(|b| obj(ObjectKind::BooleanObject(b))),
        number().prop_map(|n| obj(ObjectKind::NumberObject(n))),
        any::<String>().prop_map(|s| obj(ObjectKind::StringObject(s))),
        any::<i64>().prop_map(|n| obj(ObjectKind::BigIntObject(n.into()))),
        ("[ -~]{0,10}", "[A-Z]{0,3}", headers(), raw_json()).prop_map(
            |(url, method, headers, body)| {
                obj(ObjectKind::RequestSync(RequestSync {
                    url,
                    method,
                    headers,
                    body,
                }))
            }
        ),
        (any::<u16>(), "[ -~]{0,8}", headers(), raw_json()).prop_map(
            |(status, status_text, headers, body)| {
                obj(ObjectKind::ResponseSync(ResponseSync {
                    status,
                    status_text,
                    headers,
                    body,
                }))
            }
        ),
    ]
}

/// Trees of every kind; sharing and cycles are added afterwards by [`link`].
fn tree() -> impl Strategy<Value = Value> {
    prop_oneof![primitive(), leaf_object()].prop_recursive(5, 48, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::array),
            prop::collection::vec((key(), inner.clone()), 0..5).prop_map(Value::object),
            prop::collection::vec((inner.clone(), inner.clone()), 0..4)
                .prop_map(|e| obj(ObjectKind::Map(e))),
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| obj(ObjectKind::Set(v))),
            (
                "[A-Za-z]{0,10}",
                any::<String>(),
                prop::option::of(any::<String>()),
                prop::option::of(inner.clone()),
                prop::collection::vec((key(), inner), 0..3),
            )
                .prop_map(|(name, message, stack, cause, props)| {
                    obj(ObjectKind::Error(ErrorValue {
                        name,
                        message,
                        stack,
                        cause,
                        props: props.into_iter().collect::<Props>(),
                    }))
                }),
        ]
    })
}

/// Every object reachable from `v`, each once, in depth-first order.
fn objects(v: &Value, out: &mut Vec<Object>) {
    let Value::Object(o) = v else { return };
    if out.iter().any(|x| x.ptr_eq(o)) {
        return;
    }
    out.push(o.clone());
    let kind = o.borrow();
    let children: Vec<Value> = match &*kind {
        ObjectKind::Array(items) | ObjectKind::Set(items) => items.clone(),
        ObjectKind::Plain(p) => p.iter().map(|(_, v)| v.clone()).collect(),
        ObjectKind::Map(e) => e.iter().flat_map(|(k, v)| [k.clone(), v.clone()]).collect(),
        ObjectKind::Error(e) => e
            .cause
            .iter()
            .cloned()
            .chain(e.props.iter().map(|(_, v)| v.clone()))
            .collect(),
        _ => Vec::new(),
    };
    drop(kind);
    for c in &children {
        objects(c, out);
    }
}

/// Adds extra references: for each `(from, to)`, object `to` is also put into container
/// `from`, which creates shared references, and cycles whenever `to` encloses `from`.
fn link(root: &Value, links: &[(prop::sample::Index, prop::sample::Index)]) {
    let mut all = Vec::new();
    objects(root, &mut all);
    for (n, (from, to)) in links.iter().enumerate() {
        let (from, to) = (from.get(&all).clone(), Value::Object(to.get(&all).clone()));
        let mut kind = from.borrow_mut();
        match &mut *kind {
            ObjectKind::Array(items) => items.push(to),
            ObjectKind::Plain(p) => p.insert(format!("link{n}"), to),
            // A string key: a JavaScript Map keeps one entry per key identity.
            ObjectKind::Map(e) => e.push((Value::String(format!("link{n}")), to)),
            ObjectKind::Error(e) if e.cause.is_none() => e.cause = Some(to),
            ObjectKind::Error(e) => e.props.insert(format!("link{n}"), to),
            _ => {} // Sets hold each object once; leaves hold none
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn graphs_round_trip_with_structure_and_identity(
        root in prop_oneof![tree(), tree().prop_map(|t| Value::array([t]))],
        links in prop::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>()), 0..6),
    ) {
        if matches!(root, Value::Object(_)) {
            link(&root, &links);
        }
        let text = stringify(&root).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let back = parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        // The description records every kind and value, and identity: a shared object gets an
        // id where first met and is a `ref` afterwards, so equal descriptions mean the same
        // sharing and the same cycles.
        prop_assert_eq!(describe(&back), describe(&root), "{}", text);
        prop_assert_eq!(stringify(&back).unwrap(), text);
    }
}

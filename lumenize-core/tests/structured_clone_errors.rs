//! Bad input: every case is a `CloneError` that says what and where, never a panic, and
//! recursion is bounded in both directions. Also the decisions on key order, aliases, raw
//! bodies and the intermediate form.

use lumenize_core::structured_clone::{
    parse, postprocess, preprocess, stringify, stringify_json, Object, ObjectKind, RequestSync,
    Value, MAX_DEPTH,
};

fn err(text: &str) -> lumenize_core::structured_clone::CloneError {
    match parse(text) {
        Ok(v) => panic!("{text} should not parse, got {v:?}"),
        Err(e) => e,
    }
}

/// Runs `f` on a thread with a 2 MiB stack (the default for spawned threads and tokio workers).
fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn malformed_json_is_reported_with_a_byte_offset() {
    let cases = [
        "",
        "   ",
        "{",
        "[1]",
        r#"{"json":}"#,
        r#"{"json":1,}"#,
        r#"{"json":[1,2}"#,
        r#"{"json":"abc"#,
        r#"{"json":1} x"#,
        r#"{"json":tru}"#,
        r#"{"json":01}"#,
        r#"{"json":1.}"#,
        r#"{"json":-}"#,
        r#"{"json":"\x"}"#,
        r#"{"json":"\u12"}"#,
        "{\"json\":\"a\u{1}b\"}",
        r#"{"json":{"a" 1}}"#,
        r#"{"json":{1:2}}"#,
    ];
    for text in cases {
        let e = err(text);
        assert!(
            e.message.contains("malformed JSON") || e.message.contains("envelope"),
            "{text}: {e}"
        );
        assert!(e.message.contains("byte"), "{text}: {e}");
    }
    let e = err(r#"{"json":{"list":[1,2,{"x":tru}]}}"#);
    assert_eq!(e.path, "json.list[2].x");
    assert!(e.message.contains("byte 26"), "{e}");
}

#[test]
fn the_envelope_must_have_json() {
    let e = err(r#"{"meta":{}}"#);
    assert!(e.message.contains("no `json`"), "{e}");
    assert_eq!(e.path, "$");
    assert_eq!(err("[1]").path, "$");
    // A missing meta is fine, unknown top-level keys are ignored.
    assert!(parse(r#"{"json":1,"extra":[1,{"$ref":9}]}"#).is_ok());
}

#[test]
fn a_ref_to_a_missing_alias_is_an_error() {
    let e = err(r#"{"json":{"a":[0,{"$ref":3}]},"meta":{}}"#);
    assert_eq!(e.path, "meta.aliases");
    assert!(
        e.message.contains("missing alias 3") && e.message.contains("byte 16"),
        "{e}"
    );
    let e = err(r#"{"json":{"$ref":1.5},"meta":{}}"#);
    assert!(e.message.contains("names no possible alias"), "{e}");
    let e = err(r#"{"json":{"$ref":99999999999},"meta":{}}"#);
    assert!(e.message.contains("names no possible alias"), "{e}");
}

#[test]
fn alias_bodies_must_be_objects_defined_once() {
    for (text, what) in [
        (
            r#"{"json":{"$ref":0},"meta":{"aliases":{"0":5}}}"#,
            "must be an object or an array",
        ),
        (
            r#"{"json":{"$ref":0},"meta":{"aliases":{"0":{"$ref":0}}}}"#,
            "cannot itself be",
        ),
        (
            r#"{"json":{"$ref":0},"meta":{"aliases":{"0":{"$type":"undefined"}}}}"#,
            "must be an object",
        ),
        (
            r#"{"json":{"$ref":0},"meta":{"aliases":{"0":[],"0":[]}}}"#,
            "defined twice",
        ),
        (
            r#"{"json":{"$ref":0},"meta":{"aliases":{"x":[]}}}"#,
            "alias ids",
        ),
    ] {
        let e = err(text);
        assert!(e.message.contains(what), "{text}: {e}");
        assert!(e.path.starts_with("meta.aliases"), "{text}: {e}");
    }
}

#[test]
fn a_ref_with_other_keys_is_a_plain_object() {
    let v = parse(r#"{"json":{"$ref":0,"x":1},"meta":{}}"#).unwrap();
    assert_eq!(v.get("$ref").and_then(|n| n.as_f64()), Some(0.0));
    assert_eq!(
        stringify(&v).unwrap(),
        r#"{"json":{"$$ref":0,"x":1},"meta":{}}"#
    );
}

#[test]
fn unknown_type_decodes_as_a_plain_object_keeping_its_tag() {
    let v = parse(r#"{"json":{"$type":"widget","size":2,"$$x":1},"meta":{}}"#).unwrap();
    assert_eq!(
        v.get("$type")
            .and_then(|t| t.as_str().map(String::from))
            .as_deref(),
        Some("widget")
    );
    assert_eq!(v.get("size").and_then(|n| n.as_f64()), Some(2.0));
    assert_eq!(v.get("$x").and_then(|n| n.as_f64()), Some(1.0));
    // Re-encoded, the tag is now user data and is escaped (as JavaScript does).
    assert_eq!(
        stringify(&v).unwrap(),
        r#"{"json":{"$$type":"widget","size":2,"$$x":1},"meta":{}}"#
    );
}

#[test]
fn wrong_field_types_name_the_field() {
    let cases = [
        (
            r#"{"json":{"$type":"date","iso":5}}"#,
            "json.iso",
            "expected a string, found a number",
        ),
        (
            r#"{"json":{"$type":"date","iso":"yesterday"}}"#,
            "json.iso",
            "invalid date string",
        ),
        (
            r#"{"json":{"$type":"date"}}"#,
            "json",
            "missing field `iso`",
        ),
        (
            r#"{"json":{"$type":"map","entries":5}}"#,
            "json.entries",
            "expected an array, found a number",
        ),
        (
            r#"{"json":{"$type":"map","entries":[[1]]}}"#,
            "json.entries[0]",
            "[key, value] pair",
        ),
        (
            r#"{"json":{"$type":"set","values":{}}}"#,
            "json.values",
            "expected an array",
        ),
        (
            r#"{"json":{"$type":"error","name":7}}"#,
            "json.name",
            "expected a string",
        ),
        (
            r#"{"json":{"$type":"bigint","value":"12x"}}"#,
            "json.value",
            "invalid bigint",
        ),
        (
            r#"{"json":{"$type":"boolean-object","value":"yes"}}"#,
            "json.value",
            "expected a boolean",
        ),
        (
            r#"{"json":{"$type":"arraybuffer","subtype":"Uint8Array","data":["1"]}}"#,
            "json.data[0]",
            "expected a number",
        ),
        (
            r#"{"json":{"$type":"arraybuffer","subtype":"DataView","data":[1,2],"byteOffset":1,"byteLength":5}}"#,
            "json",
            "exceeds its 2-byte buffer",
        ),
        (
            r#"{"json":{"$type":"arraybuffer","subtype":"BigInt64Array","data":[1]}}"#,
            "json.subtype",
            "cannot be built from numbers",
        ),
        (
            r#"{"json":{"$type":"headers","entries":[["a",1]]}}"#,
            "json.entries[0][1]",
            "expected a string",
        ),
        (
            r#"{"json":{"$type":"request-sync","data":{"method":"GET"}}}"#,
            "json.data",
            "missing field `url`",
        ),
        (
            r#"{"json":{"$type":"request-sync","data":{"url":"u","headers":[]}}}"#,
            "json.data.headers",
            "expected a Headers object",
        ),
        (
            r#"{"json":{"$type":"response-sync","data":{"status":70000}}}"#,
            "json.data.status",
            "out of range",
        ),
        (
            r#"{"json":{"$type":"response-sync","data":{"status":200,"headers":{"$ref":0}}},"meta":{"aliases":{"0":{"a":1}}}}"#,
            "meta.aliases",
            "not a Headers object",
        ),
    ];
    for (text, path, what) in cases {
        let e = err(text);
        assert_eq!(e.path, path, "{text}: {e}");
        assert!(e.message.contains(what), "{text}: {e}");
    }
}

#[test]
fn huge_numbers_are_errors() {
    for text in [r#"{"json":1e400}"#, r#"{"json":[-1e309]}"#] {
        let e = err(text);
        assert!(e.message.contains("out of the double range"), "{text}: {e}");
    }
    let digits = format!(r#"{{"json":{{"n":1{}}}}}"#, "0".repeat(400));
    let e = err(&digits);
    assert_eq!(e.path, "json.n");
    // Long but representable numbers are fine, and denormals too.
    let v = parse(&format!(r#"{{"json":0.{}1}}"#, "0".repeat(300))).unwrap();
    assert_eq!(v.as_f64(), Some(1e-301));
}

#[test]
fn lone_surrogates_are_errors_pairs_are_fine() {
    let v = parse(r#"{"json":"\ud83d\ude00 \u00e9"}"#).unwrap();
    assert_eq!(v.as_str(), Some("😀 é"));
    for text in [
        r#"{"json":"\ud83d"}"#,
        r#"{"json":"\ude00x"}"#,
        r#"{"json":"\ud83d\u0041"}"#,
    ] {
        let e = err(text);
        assert!(e.message.contains("lone UTF-16 surrogate"), "{text}: {e}");
    }
}

fn nested_arrays(levels: usize) -> Value {
    let mut v = Value::from("leaf");
    for _ in 0..levels {
        v = Value::array([v]);
    }
    v
}

#[test]
fn decoding_depth_is_bounded() {
    on_small_stack(|| {
        // The envelope is one level: MAX_DEPTH - 1 arrays inside it is the deepest allowed.
        let ok = format!(
            "{{\"json\":{}0{}}}",
            "[".repeat(MAX_DEPTH - 1),
            "]".repeat(MAX_DEPTH - 1)
        );
        assert!(parse(&ok).is_ok());
        let deep = format!(
            "{{\"json\":{}0{}}}",
            "[".repeat(MAX_DEPTH),
            "]".repeat(MAX_DEPTH)
        );
        let e = parse(&deep).unwrap_err();
        assert!(
            e.message
                .contains(&format!("nesting deeper than the limit of {MAX_DEPTH}")),
            "{e}"
        );
        assert!(e.path.starts_with("json[0][0]"), "{e}");
        // Far deeper input still fails cleanly (no stack overflow).
        let abyss = format!("{{\"json\":{}", "{\"a\":".repeat(100_000));
        assert!(parse(&abyss).is_err());
    });
}

#[test]
fn encoding_depth_is_bounded() {
    on_small_stack(|| {
        let ok = nested_arrays(MAX_DEPTH - 1);
        let text = stringify(&ok).unwrap();
        assert_eq!(stringify(&parse(&text).unwrap()).unwrap(), text);
        let e = stringify(&nested_arrays(MAX_DEPTH)).unwrap_err();
        assert!(e.message.contains("nesting deeper"), "{e}");
        assert!(e.path.starts_with("json[0][0]"), "{e}");
        let e = stringify(&nested_arrays(2 * MAX_DEPTH)).unwrap_err();
        assert!(e.message.contains("nesting deeper"), "{e}");
    });
}

/// The deepest document of each nesting shape the limit allows: `open` and `close` wrap the
/// inner value once and add `levels` containers.
fn deepest(open: &str, close: &str, levels: usize) -> String {
    let n = (MAX_DEPTH - 1) / levels; // the envelope is one level
    format!(
        "{{\"json\":{}0{},\"meta\":{{}}}}",
        open.repeat(n),
        close.repeat(n)
    )
}

#[test]
fn every_nesting_shape_at_the_limit_fits_a_small_stack() {
    on_small_stack(|| {
        let shapes = [
            deepest("[", "]", 1),
            deepest("{\"a\":", "}", 1),
            deepest("{\"$type\":\"map\",\"entries\":[[1,", "]]}", 3),
            deepest("{\"$type\":\"set\",\"values\":[", "]}", 2),
            deepest(
                "{\"$type\":\"error\",\"name\":\"E\",\"message\":\"m\",\"cause\":",
                "}",
                1,
            ),
            deepest(
                "{\"$type\":\"error\",\"name\":\"E\",\"message\":\"m\",\"p\":",
                "}",
                1,
            ),
        ];
        for text in shapes {
            let v = parse(&text).unwrap_or_else(|e| panic!("{e}: {}", &text[..80]));
            assert_eq!(stringify(&v).unwrap(), text);
        }
    });
}

#[test]
fn whatever_stringify_writes_parse_accepts_even_through_deep_aliases() {
    on_small_stack(|| {
        // A self-referencing array nested k levels: the root is an alias whose body sits
        // inside `meta.aliases`, three levels down, however shallow the first reference is.
        let (mut accepted, mut refused) = (0, 0);
        for k in MAX_DEPTH - 8..MAX_DEPTH {
            let a = Value::array([]);
            let mut inner = a.clone();
            for _ in 0..k {
                inner = Value::array([inner]);
            }
            if let ObjectKind::Array(items) = &mut *a.as_object().unwrap().borrow_mut() {
                items.push(inner);
            }
            match stringify(&a) {
                Ok(text) => {
                    accepted += 1;
                    let back = parse(&text).unwrap_or_else(|e| panic!("k={k}: {e}"));
                    assert_eq!(stringify(&back).unwrap(), text);
                }
                Err(e) => {
                    refused += 1;
                    assert!(e.message.contains("nesting deeper"), "{e}");
                }
            }
            // Break the cycle so the test does not leak.
            if let ObjectKind::Array(items) = &mut *a.as_object().unwrap().borrow_mut() {
                items.clear();
            };
        }
        assert!(
            accepted > 0 && refused > 0,
            "{accepted} accepted, {refused} refused"
        );
    });
}

#[test]
fn encoding_errors_carry_the_path() {
    let v = Value::object([(
        "list",
        Value::array([
            Value::from(1),
            Value::from(2),
            Value::object([("when", Value::date(f64::NAN))]),
        ]),
    )]);
    let e = stringify(&v).unwrap_err();
    assert_eq!(e.path, "json.list[2].when");
    assert!(e.message.contains("Invalid time value"), "{e}");
    assert_eq!(e.to_string(), format!("{} at json.list[2].when", e.message));

    // A mutably borrowed object is reported, not a panic.
    let inner = Value::array([]);
    let outer = Value::array([inner.clone()]);
    let guard = inner.as_object().unwrap().borrow_mut();
    let e = stringify(&outer).unwrap_err();
    assert!(e.message.contains("mutably borrowed"), "{e}");
    drop(guard);
}

#[test]
fn keys_follow_javascript_order_and_json_parse_duplicates() {
    let v = parse(r#"{"json":{"b":1,"2":2,"a":3,"1":4,"-1":5,"01":6},"meta":{}}"#).unwrap();
    assert_eq!(
        stringify(&v).unwrap(),
        r#"{"json":{"1":4,"2":2,"b":1,"a":3,"-1":5,"01":6},"meta":{}}"#
    );
    let v = parse(r#"{"json":{"a":1,"b":2,"a":3},"meta":{}}"#).unwrap();
    assert_eq!(
        stringify(&v).unwrap(),
        r#"{"json":{"a":3,"b":2},"meta":{}}"#
    );
}

#[test]
fn identity_survives_and_aliases_are_numbered_pre_order() {
    // root [A, B] where A (shared) contains C (shared): A=0, C=1 (inside A), B=2.
    let c = Value::object([("c", Value::from(1))]);
    let a = Value::object([("c1", c.clone()), ("c2", c.clone())]);
    let b = Value::array([]);
    let root = Value::array([a.clone(), b.clone(), a.clone(), b.clone()]);
    let text = stringify(&root).unwrap();
    assert_eq!(
        text,
        r#"{"json":[{"$ref":0},{"$ref":2},{"$ref":0},{"$ref":2}],"meta":{"aliases":{"0":{"c1":{"$ref":1},"c2":{"$ref":1}},"1":{"c":1},"2":[]}}}"#
    );
    let back = parse(&text).unwrap();
    let items = back.as_array().unwrap();
    let obj = |v: &Value| v.as_object().unwrap().clone();
    assert!(obj(&items[0]).ptr_eq(&obj(&items[2])));
    assert!(obj(&items[1]).ptr_eq(&obj(&items[3])));
    assert!(!obj(&items[0]).ptr_eq(&obj(&items[1])));
    let (c1, c2) = (items[0].get("c1").unwrap(), items[0].get("c2").unwrap());
    assert!(obj(&c1).ptr_eq(&obj(&c2)));
}

#[test]
fn request_bodies_are_raw() {
    let headers = Value::Object(Object::new(ObjectKind::Headers(vec![(
        "a".into(),
        "1".into(),
    )])));
    let body = Value::object([
        ("when", Value::date(0.0)),
        ("gone", Value::Undefined),
        ("$type", Value::from("kept raw")),
        ("n", Value::from(f64::NAN)),
    ]);
    let req = Value::Object(Object::new(ObjectKind::RequestSync(RequestSync {
        url: "https://x.test/".into(),
        method: "POST".into(),
        headers,
        body,
    })));
    let text = stringify(&req).unwrap();
    assert_eq!(
        text,
        r#"{"json":{"$type":"request-sync","data":{"url":"https://x.test/","method":"POST","headers":{"$type":"headers","entries":[["a","1"]]},"body":{"when":"1970-01-01T00:00:00.000Z","$type":"kept raw","n":null}}},"meta":{}}"#
    );
    // Decoded raw: the `$type` inside the body is just a key.
    let back = parse(&text).unwrap();
    let ObjectKind::RequestSync(r) = &*back.as_object().unwrap().borrow() else {
        panic!("expected a RequestSync");
    };
    assert_eq!(r.body.get("$type").unwrap().as_str(), Some("kept raw"));

    // A bigint or a cycle in a raw body cannot be written.
    let cyclic = Value::object([("x", Value::from(1))]);
    if let ObjectKind::Plain(p) = &mut *cyclic.as_object().unwrap().borrow_mut() {
        p.insert("self", cyclic.clone());
    }
    for (body, what) in [(Value::BigInt(5i64.into()), "bigint"), (cyclic, "circular")] {
        let req = Value::Object(Object::new(ObjectKind::RequestSync(RequestSync {
            url: "u".into(),
            method: "GET".into(),
            headers: Value::Null,
            body,
        })));
        let e = stringify(&req).unwrap_err();
        assert!(e.message.contains(what), "{e}");
        assert!(e.path.starts_with("json.data.body"), "{e}");
    }
}

#[test]
fn intermediate_form_round_trips() {
    let shared = Value::object([("k", Value::from(1e21))]);
    let v = Value::array([
        shared.clone(),
        shared,
        Value::from(f64::INFINITY),
        Value::from(0.1),
    ]);
    let inter = preprocess(&v).unwrap();
    assert_eq!(
        stringify_json(&inter.json).unwrap(),
        r#"[{"$ref":0},{"$ref":0},{"$type":"number-special","value":"Infinity"},0.1]"#
    );
    let k = ["aliases", "0", "k"]
        .iter()
        .try_fold(inter.meta.clone(), |v, key| v.get(key));
    assert_eq!(k.and_then(|k| k.as_f64()), Some(1e21));
    let back = postprocess(&inter).unwrap();
    assert_eq!(stringify(&back).unwrap(), stringify(&v).unwrap());
}

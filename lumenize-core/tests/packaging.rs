//! What depending on lumenize-core does to a user's program: no serde_json feature switched on
//! by us, no axum unless asked for (`endpoint-server`); and the JSON the codec reads itself
//! (fetch bodies, the `{json, meta}` form) keeps JavaScript's key order and exact numbers
//! without serde_json's `preserve_order` / `float_roundtrip`.

use std::path::Path;
use std::process::Command;

use lumenize_core::fetch::{decode_body, Body, FetchResponse};
use lumenize_core::structured_clone::{
    parse, postprocess, preprocess, stringify, stringify_json, ObjectKind, Value,
};

/// `(package name, enabled features)` of every package a fresh user crate depending on
/// lumenize-core (by path, with `extra` in its dependency line) compiles, from `cargo tree`
/// offline: the workspace's Cargo.lock is copied in, so nothing is resolved anew.
fn user_crate_tree(extra: &str) -> Vec<(String, String)> {
    let core = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Cargo.toml"),
        format!(
            "[package]\nname = \"user-app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
             [dependencies]\nlumenize-core = {{ path = {:?}{extra} }}\nserde_json = \"1\"\n\n\
             [workspace]\n",
            core.display().to_string()
        ),
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/main.rs"), "fn main() {}\n").unwrap();
    std::fs::copy(core.join("../Cargo.lock"), dir.path().join("Cargo.lock")).unwrap();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args(["tree", "--offline", "-e", "normal", "--prefix", "none"])
        .args(["--format", "{p}|{f}"])
        .current_dir(dir.path())
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo tree failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (p, f) = l.split_once('|')?;
            let name = p.split_whitespace().next()?.to_string();
            Some((name, f.to_string()))
        })
        .collect()
}

#[test]
fn a_user_crate_gets_plain_serde_json_and_no_axum_by_default() {
    let tree = user_crate_tree("");
    assert!(tree.iter().any(|(p, _)| p == "lumenize-core"), "{tree:?}");
    assert!(
        tree.iter().any(|(p, _)| p == "rusqlite"),
        "native is the default: {tree:?}"
    );
    let serde_json: Vec<&String> = tree
        .iter()
        .filter(|(p, _)| p == "serde_json")
        .map(|(_, f)| f)
        .collect();
    assert!(!serde_json.is_empty(), "{tree:?}");
    for features in serde_json {
        assert!(
            !features.contains("preserve_order") && !features.contains("float_roundtrip"),
            "serde_json features forced on the user: {features}"
        );
    }
    assert!(
        !tree.iter().any(|(p, _)| p == "axum"),
        "axum compiled by default"
    );
    // The same check sees axum once the feature is asked for.
    let with_server = user_crate_tree(", features = [\"endpoint-server\"]");
    assert!(
        with_server.iter().any(|(p, _)| p == "axum"),
        "{with_server:?}"
    );
}

fn keys(v: &Value) -> Vec<String> {
    match &*v.as_object().expect("an object").borrow() {
        ObjectKind::Plain(p) => p.keys().map(str::to_string).collect(),
        _ => panic!("not a plain object"),
    }
}

const DOC: &str =
    r#"{"zeta":1,"alpha":1.2345678901234567e+20,"10":true,"2":null,"mid":[3.402823466385289e+38]}"#;

#[test]
fn json_fetch_bodies_keep_javascript_key_order_and_exact_numbers() {
    let body = decode_body("application/json", DOC.as_bytes().to_vec());
    let response = FetchResponse {
        status: 200,
        status_text: "OK".into(),
        headers: vec![("content-type".into(), "application/json".into())],
        body,
    };
    let value = response.to_value();
    let Value::Object(o) = &value else { panic!() };
    let ObjectKind::ResponseSync(r) = &*o.borrow() else {
        panic!()
    };
    // JavaScript's order: integer-like keys ascending, then the others as written.
    assert_eq!(keys(&r.body), ["2", "10", "zeta", "alpha", "mid"]);
    let alpha = r.body.get("alpha").unwrap().as_f64().unwrap();
    assert_eq!(alpha, "1.2345678901234567e+20".parse::<f64>().unwrap());
    let mid = r.body.get("mid").unwrap().as_array().unwrap()[0].as_f64();
    assert_eq!(mid, Some("3.402823466385289e+38".parse::<f64>().unwrap()));
    // And back to JSON text, as JSON.stringify writes it.
    let written = r#"{"2":null,"10":true,"zeta":1,"alpha":123456789012345670000,"mid":[3.402823466385289e+38]}"#;
    assert_eq!(stringify_json(&r.body).unwrap(), written);
    let back = FetchResponse::from_value(&value).unwrap();
    assert_eq!(back.body, Body::Json(written.into()));
}

#[test]
fn the_intermediate_form_keeps_key_order_and_exact_numbers() {
    let text = format!(r#"{{"json":{DOC},"meta":{{}}}}"#);
    let value = parse(&text).unwrap();
    let inter = preprocess(&value).unwrap();
    assert_eq!(keys(&inter.json), ["2", "10", "zeta", "alpha", "mid"]);
    let back = postprocess(&inter).unwrap();
    assert_eq!(stringify(&back).unwrap(), stringify(&value).unwrap());
    assert_eq!(
        back.get("alpha").unwrap().as_f64(),
        Some("1.2345678901234567e+20".parse::<f64>().unwrap())
    );
}

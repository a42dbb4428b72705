//! The plain benchmark data shared by `codec` and `codec_vs_node`: records of strings,
//! integers, floats, booleans, nested objects and arrays, deterministic.

use lumenize_core::structured_clone::Value;
use serde_json::{json, Value as Json};

/// A small deterministic generator (no dependency, same data on every run).
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.next() as usize % items.len()]
    }
}

pub const WORDS: [&str; 8] = [
    "alpha", "bravo", "charlie", "delta", "echo", "fox", "golf", "hotel",
];

/// One plain record, roughly 350 bytes of JSON.
pub fn record(i: u64, r: &mut Lcg) -> Json {
    json!({
        "id": i,
        "name": format!("{} {}", r.pick(&WORDS), r.pick(&WORDS)),
        "email": format!("user{}@example.com", r.next() % 100_000),
        "active": r.next() & 1 == 0,
        "score": ((r.next() % 1_000_000) as f64 + 0.5) / 1000.0,
        "ratio": 1.0 / ((r.next() % 97) as f64 + 3.0),
        "tags": [r.pick(&WORDS), r.pick(&WORDS), "note: \"quoted\"\n"],
        "address": {"street": format!("{} Main St", r.next() % 9999), "city": r.pick(&WORDS), "zip": "04101"},
        "history": [
            {"ts": 1_700_000_000_000u64 + r.next() % 1_000_000, "event": "login", "ok": true},
            {"ts": 1_700_000_000_000u64 + r.next() % 1_000_000, "event": "update", "ok": false}
        ],
        "parent": null
    })
}

/// An array of records whose serde_json text is at least `bytes` long.
pub fn plain_data(bytes: usize) -> Json {
    let mut r = Lcg(42);
    let mut items = Vec::new();
    let mut len = 2;
    while len < bytes {
        let rec = record(items.len() as u64, &mut r);
        len += serde_json::to_string(&rec).unwrap().len() + 1;
        items.push(rec);
    }
    Json::Array(items)
}

/// The same data as a codec `Value`.
pub fn to_value(j: &Json) -> Value {
    match j {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => Value::Number(n.as_f64().unwrap_or(0.0)),
        Json::String(s) => Value::String(s.clone()),
        Json::Array(a) => Value::array(a.iter().map(to_value)),
        Json::Object(m) => Value::object(m.iter().map(|(k, v)| (k.clone(), to_value(v)))),
    }
}

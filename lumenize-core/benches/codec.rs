//! Codec throughput: `stringify` and `parse` in MB/s.
//!
//! (a) Plain JSON-shaped data (records of strings, integers, floats, booleans, nested objects
//! and arrays) of about 1 KB, 100 KB and 10 MB, against serde_json (`serde_json::Value`,
//! `to_string` / `from_str`) on the very same data in the same run. Throughput is counted on the
//! serde_json text's length for both, so MB/s ratios are time ratios.
//! (b) Rich data: dates, maps, sets, errors with causes, bigints, `undefined`, and objects shared
//! between records (aliases).
//!
//! Run: `cargo bench -p lumenize-core --bench codec` (a few minutes; `-- plain/100KB` for one
//! size). Results and ratios: docs/benchmarks/codec.md.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use lumenize_core::structured_clone::{
    parse, stringify, ErrorValue, Object, ObjectKind, Props, Value,
};
use serde_json::Value as Json;

#[path = "support/codec_data.rs"]
mod codec_data;
use codec_data::{plain_data, to_value, Lcg, WORDS};

/// Records with every rich kind, and owners shared between records (aliases).
fn rich_data(records: usize) -> Value {
    let mut r = Lcg(7);
    let owners: Vec<Value> = (0..10)
        .map(|i| {
            Value::object([
                ("owner", Value::from(format!("team-{i}"))),
                ("since", Value::date(1.6e12)),
            ])
        })
        .collect();
    let items = (0..records).map(|i| {
        let cause = Value::error("TypeError", format!("inner {i}"));
        let err = Value::Object(Object::new(ObjectKind::Error(ErrorValue {
            name: "Error".into(),
            message: "request failed".into(),
            stack: Some("Error: request failed\n    at handler (worker.js:10:5)".into()),
            cause: Some(cause),
            props: [("status", Value::from(503))]
                .into_iter()
                .collect::<Props>(),
        })));
        let counts = (0..4)
            .map(|k| (Value::from(WORDS[k]), Value::from((r.next() % 1000) as f64)))
            .collect();
        Value::object([
            ("id", Value::from(i as f64)),
            (
                "created",
                Value::date(1.7e12 + (r.next() % 1_000_000) as f64),
            ),
            ("owner", owners[i % owners.len()].clone()),
            (
                "counts",
                Value::Object(Object::new(ObjectKind::Map(counts))),
            ),
            (
                "labels",
                Value::Object(Object::new(ObjectKind::Set(vec![
                    Value::from(r.pick(&WORDS)),
                    Value::from("x"),
                ]))),
            ),
            ("big", Value::BigInt(((r.next() as i128) << 40).into())),
            ("missing", Value::Undefined),
            ("ratio", Value::from(f64::NAN)),
            ("error", err),
        ])
    });
    Value::array(items.collect::<Vec<_>>())
}

fn plain(c: &mut Criterion) {
    for (label, bytes) in [("1KB", 1_000), ("100KB", 100_000), ("10MB", 10_000_000)] {
        let json = plain_data(bytes);
        let json_text = serde_json::to_string(&json).unwrap();
        let value = to_value(&json);
        let wire = stringify(&value).unwrap();
        // Same data: our wire document's `json` part is the serde_json text, byte for byte.
        assert_eq!(&wire[8..wire.len() - 11], json_text);

        let mut g = c.benchmark_group(format!("plain/{label}"));
        g.throughput(Throughput::Bytes(json_text.len() as u64));
        if bytes >= 10_000_000 {
            g.sample_size(10).measurement_time(Duration::from_secs(8));
        }
        g.bench_function(BenchmarkId::new("stringify", "lumenize"), |b| {
            b.iter(|| stringify(black_box(&value)).unwrap())
        });
        g.bench_function(BenchmarkId::new("stringify", "serde_json"), |b| {
            b.iter(|| serde_json::to_string(black_box(&json)).unwrap())
        });
        g.bench_function(BenchmarkId::new("parse", "lumenize"), |b| {
            b.iter(|| parse(black_box(&wire)).unwrap())
        });
        g.bench_function(BenchmarkId::new("parse", "serde_json"), |b| {
            b.iter(|| serde_json::from_str::<Json>(black_box(&json_text)).unwrap())
        });
        g.finish();
    }
}

fn rich(c: &mut Criterion) {
    let value = rich_data(250);
    let wire = stringify(&value).unwrap();
    let mut g = c.benchmark_group(format!("rich/{}KB", wire.len() / 1000));
    g.throughput(Throughput::Bytes(wire.len() as u64));
    g.bench_function("stringify", |b| {
        b.iter(|| stringify(black_box(&value)).unwrap())
    });
    g.bench_function("parse", |b| b.iter(|| parse(black_box(&wire)).unwrap()));
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = plain, rich
}
criterion_main!(benches);

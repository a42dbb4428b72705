//! Shared by the fetch design tests: an origin object that starts fetches with any design and
//! records every continuation run in its own SQLite table, plus runtime setup.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use lumenize_core::clock::ManualClock;
use lumenize_core::fetch::{
    self, outcome_from_value, Body, Design, FetchError, FetchOptions, FetchPolicy, TestMode,
};
use lumenize_core::prelude::*;
use lumenize_core::runtime::Stub;

pub const ORIGIN: &str = "ORIGIN";
pub const T0: i64 = 1_700_000_000_000;

/// The test origin: `start` begins a fetch whose continuation is `onResult(tag, $result)`.
#[derive(Default)]
pub struct Origin;

fn design_of(name: &str) -> Result<Design, String> {
    match name {
        "direct" => Ok(Design::Direct),
        "orchestrated" => Ok(Design::Orchestrated),
        "simple" => Ok(Design::Simple),
        other => Err(format!("unknown design {other}")),
    }
}

/// Options as a plain object: `{executor: "worker"|"rpc", timeoutMs, graceMs, maxBody,
/// simulate, requestId, strict}`. The direct design may reach the local endpoint server
/// (loopback) unless `strict` is true.
pub fn options_from(v: &Value) -> FetchOptions {
    let mut o = match v.get("executor").and_then(|e| e.as_str().map(String::from)) {
        Some(e) if e == "rpc" => FetchOptions::with_rpc_target_executor(),
        Some(e) if e != "worker" => FetchOptions {
            executor: Address::worker(e),
            ..FetchOptions::default()
        },
        _ => FetchOptions::default(),
    };
    let ms = |k: &str| v.get(k).and_then(|x| x.as_f64()).map(|n| n as u64);
    if let Some(t) = ms("timeoutMs") {
        o.timeout = Duration::from_millis(t);
    }
    if let Some(g) = ms("graceMs") {
        o.grace_period = Duration::from_millis(g);
    }
    if let Some(b) = ms("maxBody") {
        o.max_body_bytes = b;
    }
    o.test_mode = TestMode {
        simulate_delivery_failure: v.get("simulate").and_then(|b| b.as_bool()) == Some(true),
    };
    o.request_id = v
        .get("requestId")
        .and_then(|x| x.as_str().map(String::from));
    if v.get("strict").and_then(|b| b.as_bool()) != Some(true) {
        o.policy = FetchPolicy::default().allow_loopback();
    }
    o
}

impl Origin {
    fn start(
        &mut self,
        ctx: &Ctx<'_>,
        design: String,
        url: String,
        tag: String,
        opts: Value,
    ) -> Result<String, String> {
        let cont = ctn().call("onResult", vec![Value::from(tag), result_marker()]);
        fetch::start_fetch(
            design_of(&design)?,
            ctx,
            &Value::from(url),
            &cont,
            &options_from(&opts),
        )
        .map_err(|e| e.to_string())
    }

    fn start_many(
        &mut self,
        ctx: &Ctx<'_>,
        design: String,
        url: String,
        prefix: String,
        n: u32,
        opts: Value,
    ) -> Result<(), String> {
        for i in 0..n {
            self.start(
                ctx,
                design.clone(),
                url.clone(),
                format!("{prefix}{i}"),
                opts.clone(),
            )?;
        }
        Ok(())
    }

    fn on_result(&mut self, ctx: &Ctx<'_>, tag: String, outcome: Value) -> Result<(), String> {
        let (kind, status, detail) = match outcome_from_value(&outcome) {
            Ok(r) => {
                let detail = match &r.body {
                    Body::Bytes(b) => {
                        let pattern = b.iter().enumerate().all(|(i, &x)| x == (i % 251) as u8);
                        format!("bytes:{}:{}", b.len(), if pattern { "ok" } else { "bad" })
                    }
                    Body::Json(j) => format!("json:{}", j.starts_with('{')),
                    Body::Text(t) => format!("text:{t}"),
                    Body::Empty => "empty".into(),
                };
                ("Response".to_string(), r.status as i64, detail)
            }
            Err(e) => (e.name().to_string(), 0, String::new()),
        };
        let sql = ctx.sql();
        sql.exec(
            "CREATE TABLE IF NOT EXISTS results (seq INTEGER PRIMARY KEY, tag TEXT, kind TEXT, status INTEGER, detail TEXT)",
            &[],
        )
        .map_err(|e| e.to_string())?;
        sql.exec(
            "INSERT INTO results (tag, kind, status, detail) VALUES (?1, ?2, ?3, ?4)",
            &[
                SqlValue::from(tag),
                SqlValue::from(kind),
                SqlValue::Integer(status),
                SqlValue::from(detail),
            ],
        )
        .map_err(|e| e.to_string())?;
        Ok(())
    }
}

lumenize_core::handlers!(Origin {
    start(design: String, url: String, tag: String, opts: Value),
    start_many as "startMany"(design: String, url: String, prefix: String, n: u32, opts: Value),
    on_result as "onResult"(tag: String, outcome: Value),
});

/// A runtime with the fetch bindings, the origin, and a manual clock at [`T0`].
pub fn runtime(dir: Option<&std::path::Path>) -> (Runtime, Arc<ManualClock>) {
    runtime_with_clock(dir, ManualClock::new(T0))
}

pub fn runtime_with_clock(
    dir: Option<&std::path::Path>,
    clock: Arc<ManualClock>,
) -> (Runtime, Arc<ManualClock>) {
    runtime_with_policy(dir, clock, FetchPolicy::default().allow_loopback())
}

/// A runtime whose executors reach what `policy` allows (the other constructors allow
/// loopback, where the endpoint server listens).
pub fn runtime_with_policy(
    dir: Option<&std::path::Path>,
    clock: Arc<ManualClock>,
    policy: FetchPolicy,
) -> (Runtime, Arc<ManualClock>) {
    let mut b = fetch::install_with_policy(Runtime::builder(), policy)
        // No wrapper: every object answers the simple design's result method.
        .object(ORIGIN, |_| Origin)
        .manual_clock(clock.clone());
    if let Some(d) = dir {
        b = b.data_dir(d);
    }
    (b.build().unwrap(), clock)
}

pub fn origin(rt: &Runtime) -> Stub {
    rt.object(ORIGIN, "o1")
}

/// Starts one fetch; returns the request id or the synchronous error text.
pub fn start(o: &Stub, design: &str, url: &str, tag: &str, opts: Value) -> Result<String, String> {
    o.call_method(
        "start",
        vec![
            Value::from(design),
            Value::from(url),
            Value::from(tag),
            opts,
        ],
    )
    .map(|v| v.as_str().unwrap_or_default().to_string())
    .map_err(|e| e.to_string())
}

pub fn opts(pairs: &[(&str, Value)]) -> Value {
    Value::object(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())))
}

/// Every continuation run so far: (tag, kind, status), in order.
pub fn results(o: &Stub) -> Vec<(String, String, i64)> {
    o.run(|_, ctx| {
        ctx.sql()
            .exec(
                "CREATE TABLE IF NOT EXISTS results (seq INTEGER PRIMARY KEY, tag TEXT, kind TEXT, status INTEGER, detail TEXT)",
                &[],
            )
            .map_err(|e| ChainError::Storage(e.to_string()))?;
        let rows = ctx
            .sql()
            .exec("SELECT tag, kind, status FROM results ORDER BY seq", &[])
            .map_err(|e| ChainError::Storage(e.to_string()))?;
        Ok(rows
            .rows
            .iter()
            .map(|r| {
                (
                    r[0].as_str().unwrap_or_default().to_string(),
                    r[1].as_str().unwrap_or_default().to_string(),
                    r[2].as_i64().unwrap_or(0),
                )
            })
            .collect())
    })
    .unwrap()
}

/// (pending `fetch-*` schedules, no-op count) of the origin.
pub fn pending_and_no_ops(o: &Stub) -> (u64, u64) {
    o.run(|_, ctx| {
        let p = fetch::pending_count(ctx).map_err(|e| ChainError::Storage(e.to_string()))?;
        let n = fetch::no_op_count(ctx).map_err(|e| ChainError::Storage(e.to_string()))?;
        Ok((p, n))
    })
    .unwrap()
}

pub fn settle(rt: &Runtime) {
    rt.settle(Duration::from_secs(60)).unwrap();
}

/// The error name a continuation saw for `e`.
pub fn name(e: &FetchError) -> &'static str {
    e.name()
}

/// Starts `n` fetches in one turn of the origin, tagged `{prefix}{i}`.
pub fn start_many(o: &Stub, design: &str, url: &str, prefix: &str, n: u32, opts: Value) {
    o.call_method(
        "startMany",
        vec![
            Value::from(design),
            Value::from(url),
            Value::from(prefix),
            Value::from(n),
            opts,
        ],
    )
    .unwrap();
}

/// (tag, body detail) of every response seen: `bytes:<len>:ok|bad`, `json:..`, `text:..`.
pub fn details(o: &Stub) -> Vec<(String, String)> {
    o.run(|_, ctx| {
        let rows = ctx
            .sql()
            .exec("SELECT tag, detail FROM results ORDER BY seq", &[])
            .map_err(|e| ChainError::Storage(e.to_string()))?;
        Ok(rows
            .rows
            .iter()
            .map(|r| {
                (
                    r[0].as_str().unwrap_or_default().to_string(),
                    r[1].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect())
    })
    .unwrap()
}

/// How many continuations have run on `o` so far.
pub fn result_count(o: &Stub) -> usize {
    results(o).len()
}

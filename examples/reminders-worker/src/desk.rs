//! The object: reminders on the multiplexed alarms, and proxied fetches whose outcomes are
//! kept. Plain `lumenize-core` code with no backend in sight: the native runtime and the
//! Cloudflare backend run this same file.

use lumenize_core::alarms::{Schedule, ScheduleFilter, When};
use lumenize_core::fetch::{self, Design, FetchOptions, FetchPolicy, TestMode};
use lumenize_core::ocan::ResultMarker;
use lumenize_core::prelude::*;
use lumenize_core::structured_clone::ObjectKind;
use std::time::Duration;

/// The binding the desk is registered under, on both backends.
pub const DESK_BINDING: &str = "DESK";

/// A reminders desk. Reminders ring by writing a row; fetch outcomes are written with the tag
/// the caller chose, so a test (or a user) can read back exactly what ran, and how often.
#[derive(Debug, Default)]
pub struct Desk {
    /// Where the desk's own (direct) fetches may connect: public addresses unless the host
    /// that registers the desk allows more (a local test configuration). Not the caller's
    /// choice, as the executor's policy is not.
    direct_policy: FetchPolicy,
}

const SCHEMA: &str = "\
CREATE TABLE IF NOT EXISTS rung (id INTEGER PRIMARY KEY, text TEXT NOT NULL, at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS fetched (id INTEGER PRIMARY KEY, tag TEXT NOT NULL, outcome TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS fetch_done (id INTEGER PRIMARY KEY, tag TEXT NOT NULL, at INTEGER NOT NULL);";

/// The handlers: every `pub` method below with `&mut self` (the constructor is not one).
/// `Desk::ctn().ring(text)` is the chain calling `ring`, checked when this compiles.
#[lumenize_core::dispatch]
impl Desk {
    /// The desk, with its tables.
    pub fn new(ctx: &Ctx<'_>) -> Desk {
        // A failure here fails the first turn, which then constructs again.
        let _ = ctx.sql().exec_batch(SCHEMA);
        Desk::default()
    }

    /// Schedules `ring(text)` in `delay_ms`; returns the schedule's id.
    pub fn remind(&mut self, ctx: &Ctx<'_>, text: String, delay_ms: f64) -> Result<String, String> {
        let when = When::delay_secs(delay_ms / 1000.0);
        let s = ctx
            .alarms()
            .schedule(when, Desk::ctn().ring(text))
            .map_err(|e| e.to_string())?;
        Ok(s.id)
    }

    /// Schedules `ring(text)` at `at_ms` under the id `id`.
    #[handler(name = "remindAt")]
    pub fn remind_at(
        &mut self,
        ctx: &Ctx<'_>,
        id: String,
        text: String,
        at_ms: f64,
    ) -> Result<String, String> {
        let s = ctx
            .alarms()
            .schedule_with_id(&id, When::at_ms(at_ms as i64), Desk::ctn().ring(text))
            .map_err(|e| e.to_string())?;
        Ok(s.id)
    }

    /// Records `text`; returns how many reminders have rung here.
    pub fn ring(&mut self, ctx: &Ctx<'_>, text: String) -> Result<f64, String> {
        let rows = ctx
            .sql()
            .exec(
                "INSERT INTO rung (text, at) VALUES (?1, ?2) RETURNING (SELECT count(*) FROM rung)",
                &[SqlValue::from(text), SqlValue::Integer(ctx.now_ms())],
            )
            .map_err(|e| e.to_string())?;
        Ok(rows.scalar().and_then(SqlValue::as_f64).unwrap_or(0.0))
    }

    /// Asks the desk named `peer` to run `method(text)`; its answer (or error) comes back to
    /// [`Desk::answered`] as a continuation.
    pub fn ask(
        &mut self,
        ctx: &Ctx<'_>,
        peer: String,
        method: String,
        text: String,
    ) -> Result<(), String> {
        let to = Address::object(DESK_BINDING, peer);
        let cont = Desk::ctn().answered(ResultMarker);
        ctx.call(&to, &method, vec![Value::from(text)], Some(&cont))
            .map_err(|e| e.to_string())
    }

    /// The continuation of [`Desk::ask`]: records `answer:<value>` or `error:<name>`.
    pub fn answered(&mut self, ctx: &Ctx<'_>, answer: Value) -> Result<f64, String> {
        let error_name = match &answer {
            Value::Object(o) => match &*o.borrow() {
                ObjectKind::Error(e) => Some(e.name.clone()),
                _ => None,
            },
            _ => None,
        };
        let text = match (answer.as_f64(), error_name) {
            (Some(n), _) => format!("answer:{n}"),
            (None, Some(name)) => format!("error:{name}"),
            (None, None) => "answer:?".to_string(),
        };
        self.ring(ctx, text)
    }

    /// The cancelled schedule (`null` when there was none): what `cancel_schedule` returns.
    pub fn cancel(&mut self, ctx: &Ctx<'_>, id: String) -> Result<Value, String> {
        let s = ctx
            .alarms()
            .cancel_schedule(&id)
            .map_err(|e| e.to_string())?;
        Ok(s.as_ref().map_or(Value::Null, schedule_value))
    }

    /// The ids of the pending schedules.
    pub fn pending(&mut self, ctx: &Ctx<'_>) -> Result<Vec<String>, String> {
        let all = ctx
            .alarms()
            .get_schedules(&ScheduleFilter::default())
            .map_err(|e| e.to_string())?;
        Ok(all.into_iter().map(|s| s.id).collect())
    }

    /// Every reminder that rang, in order.
    pub fn rung(&mut self, ctx: &Ctx<'_>) -> Result<Vec<String>, String> {
        let rows = ctx
            .sql()
            .exec("SELECT text FROM rung ORDER BY id", &[])
            .map_err(|e| e.to_string())?;
        Ok(rows
            .rows
            .iter()
            .filter_map(|r| r[0].as_str().map(String::from))
            .collect())
    }

    /// Starts a proxied fetch; its outcome is recorded under `tag`.
    pub fn fetch(
        &mut self,
        ctx: &Ctx<'_>,
        tag: String,
        url: String,
        timeout_ms: f64,
        grace_ms: f64,
        lose_delivery: bool,
    ) -> Result<String, String> {
        let options = FetchOptions {
            timeout: Duration::from_millis(timeout_ms as u64),
            grace_period: Duration::from_millis(grace_ms as u64),
            request_id: Some(tag.clone()),
            test_mode: TestMode {
                simulate_delivery_failure: lose_delivery,
            },
            ..FetchOptions::default()
        };
        let cont = Desk::ctn().fetched(tag, ResultMarker);
        fetch::proxy_fetch_simple(ctx, &Value::from(url), &cont, &options)
            .map_err(|e| e.to_string())
    }

    /// Starts a proxied fetch whose response body may have at most `max_body` bytes; its
    /// outcome is recorded under `tag`.
    #[handler(name = "fetchCapped")]
    pub fn fetch_capped(
        &mut self,
        ctx: &Ctx<'_>,
        tag: String,
        url: String,
        timeout_ms: f64,
        max_body: f64,
    ) -> Result<String, String> {
        let options = FetchOptions {
            timeout: Duration::from_millis(timeout_ms as u64),
            request_id: Some(tag.clone()),
            max_body_bytes: max_body as u64,
            ..FetchOptions::default()
        };
        let cont = Desk::ctn().fetched(tag, ResultMarker);
        fetch::proxy_fetch_simple(ctx, &Value::from(url), &cont, &options)
            .map_err(|e| e.to_string())
    }

    /// The continuation: records what the fetch came to (`200`, `FetchTimeoutError`...).
    pub fn fetched(&mut self, ctx: &Ctx<'_>, tag: String, outcome: Value) -> Result<(), String> {
        let text = match fetch::outcome_from_value(&outcome) {
            Ok(resp) => resp.status.to_string(),
            Err(e) => e.name().to_string(),
        };
        ctx.sql()
            .exec(
                "INSERT INTO fetched (tag, outcome) VALUES (?1, ?2)",
                &[SqlValue::from(tag), SqlValue::from(text)],
            )
            .map(drop)
            .map_err(|e| e.to_string())
    }

    /// Starts a fetch of `url` with `design` (`"direct"`, `"simple"` or `"orchestrated"`): the
    /// three designs called the same way, for comparisons. The continuation records the
    /// outcome under `tag` (see [`Desk::outcomes`]) and the time it ran (see
    /// [`Desk::done_times`]). Returns the request id (`tag`). Direct fetches reach what the
    /// host allowed ([`Desk::with_direct_policy`]); natively they need `lumenize-core`'s
    /// `native` feature, on Cloudflare they use `lumenize_cloudflare::direct_fetch`.
    #[handler(name = "fetchVia")]
    pub fn fetch_via(
        &mut self,
        ctx: &Ctx<'_>,
        design: String,
        tag: String,
        url: String,
        timeout_ms: f64,
    ) -> Result<String, String> {
        let design = design_named(&design)?;
        let options = FetchOptions {
            timeout: Duration::from_millis(timeout_ms as u64),
            request_id: Some(tag.clone()),
            policy: self.direct_policy.clone(),
            ..FetchOptions::default()
        };
        let cont = Desk::ctn().fetched_at(tag, ResultMarker);
        start_fetch(ctx, design, &Value::from(url), &cont, &options)
    }

    /// Starts a fetch of `url` with `design` whose continuation names a method the desk does
    /// not have (`fetchedd`, written by hand rather than with the typed builder): every design
    /// must refuse it when the fetch starts, not fail when the outcome arrives.
    #[handler(name = "fetchMisnamed")]
    pub fn fetch_misnamed(
        &mut self,
        ctx: &Ctx<'_>,
        design: String,
        url: String,
    ) -> Result<String, String> {
        let design = design_named(&design)?;
        let options = FetchOptions {
            policy: self.direct_policy.clone(),
            ..FetchOptions::default()
        };
        let cont = ctn().call("fetchedd", vec![result_marker()]);
        start_fetch(ctx, design, &Value::from(url), &cont, &options)
    }

    /// The continuation of [`Desk::fetch_via`]: records the outcome as [`Desk::fetched`]
    /// does, and the time it ran.
    #[handler(name = "fetchedAt")]
    pub fn fetched_at(&mut self, ctx: &Ctx<'_>, tag: String, outcome: Value) -> Result<(), String> {
        self.fetched(ctx, tag.clone(), outcome)?;
        ctx.sql()
            .exec(
                "INSERT INTO fetch_done (tag, at) VALUES (?1, ?2)",
                &[SqlValue::from(tag), SqlValue::Integer(ctx.now_ms())],
            )
            .map(drop)
            .map_err(|e| e.to_string())
    }

    /// `tag=ms` for every [`Desk::fetch_via`] continuation whose tag starts with `prefix`: the
    /// backend's clock (ms since the epoch) when it ran, in arrival order.
    #[handler(name = "doneTimes")]
    pub fn done_times(&mut self, ctx: &Ctx<'_>, prefix: String) -> Result<Vec<String>, String> {
        let rows = ctx
            .sql()
            .exec(
                "SELECT tag, at FROM fetch_done WHERE substr(tag, 1, length(?1)) = ?1 ORDER BY id",
                &[SqlValue::from(prefix)],
            )
            .map_err(|e| e.to_string())?;
        Ok(rows
            .rows
            .iter()
            .map(|r| {
                format!(
                    "{}={}",
                    r[0].as_str().unwrap_or("?"),
                    r[1].as_i64().unwrap_or(-1)
                )
            })
            .collect())
    }

    /// Every recorded outcome as `tag=outcome`, in arrival order.
    pub fn outcomes(&mut self, ctx: &Ctx<'_>) -> Result<Vec<String>, String> {
        let rows = ctx
            .sql()
            .exec("SELECT tag, outcome FROM fetched ORDER BY id", &[])
            .map_err(|e| e.to_string())?;
        Ok(rows
            .rows
            .iter()
            .map(|r| {
                format!(
                    "{}={}",
                    r[0].as_str().unwrap_or("?"),
                    r[1].as_str().unwrap_or("?")
                )
            })
            .collect())
    }

    /// Test hook of the backend suite: records `before:<sql>`, then runs `sql` (as a batch when
    /// `batch`). A refused statement fails the turn, and the record rolls back with it.
    #[handler(name = "trySql")]
    pub fn try_sql(&mut self, ctx: &Ctx<'_>, sql: String, batch: bool) -> Result<f64, String> {
        self.ring(ctx, format!("before:{sql}"))?;
        let ran = if batch {
            ctx.sql().exec_batch(&sql)
        } else {
            ctx.sql().exec(&sql, &[]).map(drop)
        };
        ran.map_err(|e| e.to_string())?;
        Ok(1.0)
    }

    /// Runs `sql` (a batch when `batch`) and returns the rows it wrote, as the backend counts
    /// them: natively lumenize's count, on Cloudflare the SQL cursors' own `rowsWritten`.
    #[handler(name = "rowsWrittenBy")]
    pub fn rows_written_by(
        &mut self,
        ctx: &Ctx<'_>,
        sql: String,
        batch: bool,
    ) -> Result<f64, String> {
        let before = ctx.sql().stats().rows_written;
        let ran = if batch {
            ctx.sql().exec_batch(&sql)
        } else {
            ctx.sql().exec(&sql, &[]).map(drop)
        };
        ran.map_err(|e| e.to_string())?;
        Ok(ctx.sql().stats().rows_written.saturating_sub(before) as f64)
    }

    /// `[rows read, rows written]` by this object's storage since it was opened.
    #[handler(name = "rowStats")]
    pub fn row_stats(&mut self, ctx: &Ctx<'_>) -> Vec<f64> {
        let s = ctx.sql().stats();
        vec![s.rows_read as f64, s.rows_written as f64]
    }

    /// `[no-ops, pending fetches]`: outcomes that lost the race, and fetches still waiting.
    #[handler(name = "fetchStats")]
    pub fn fetch_stats(&mut self, ctx: &Ctx<'_>) -> Result<Vec<f64>, String> {
        let no_ops = fetch::no_op_count(ctx).map_err(|e| e.to_string())?;
        let pending = fetch::pending_count(ctx).map_err(|e| e.to_string())?;
        Ok(vec![no_ops as f64, pending as f64])
    }

    /// The desk's settings from the Worker's environment, on Cloudflare: the var `GREETING`
    /// and the size of the secret `DESK_SECRET` (a secret's value is never handed back to a
    /// caller). Natively there is no Worker environment: read your own configuration.
    pub fn settings(&mut self, ctx: &Ctx<'_>) -> Result<Vec<String>, String> {
        #[cfg(target_arch = "wasm32")]
        if let Some(cf) = lumenize_cloudflare::CfExt::of(ctx) {
            let greeting = cf.var("GREETING").unwrap_or_default();
            let secret = cf.secret("DESK_SECRET").map_or(0, |s| s.len());
            return Ok(vec![greeting, format!("secret of {secret} bytes")]);
        }
        let _ = ctx;
        Err("no Worker environment on this host".into())
    }
}

impl Desk {
    /// This desk, whose direct fetches ([`Desk::fetch_via`] with `"direct"`) may reach what
    /// `policy` allows (the default reaches public addresses only).
    pub fn with_direct_policy(self, policy: FetchPolicy) -> Desk {
        Desk {
            direct_policy: policy,
        }
    }
}

/// A schedule as a plain object: `{id, type, time, method}`.
fn schedule_value(s: &Schedule) -> Value {
    Value::object([
        ("id", Value::from(s.id.as_str())),
        ("type", Value::from(s.kind.type_name())),
        ("time", Value::Number(s.time as f64)),
        (
            "method",
            Value::from(s.callback.method_path().unwrap_or_default()),
        ),
    ])
}

/// The desk as both backends register it. No wrapper is needed for the proxied fetch: the
/// turn engine routes its result method to [`fetch::handle_result`] for every object.
pub fn desk(ctx: &Ctx<'_>) -> Desk {
    Desk::new(ctx)
}

/// The design called `name` in `fetchVia`/`fetchMisnamed`.
fn design_named(name: &str) -> Result<Design, String> {
    match name {
        "direct" => Ok(Design::Direct),
        "simple" => Ok(Design::Simple),
        "orchestrated" => Ok(Design::Orchestrated),
        other => Err(format!(
            "unknown design {other:?}: direct, simple or orchestrated"
        )),
    }
}

/// Starts a fetch with `design`. The core's direct design awaits inside the native runtime;
/// on Cloudflare the object's host awaits it (`lumenize_cloudflare::direct_fetch`).
fn start_fetch(
    ctx: &Ctx<'_>,
    design: Design,
    url: &Value,
    cont: &Continuation,
    options: &FetchOptions,
) -> Result<String, String> {
    #[cfg(target_arch = "wasm32")]
    if design == Design::Direct {
        return lumenize_cloudflare::direct_fetch(ctx, url, cont, options)
            .map_err(|e| e.to_string());
    }
    fetch::start_fetch(design, ctx, url, cont, options).map_err(|e| e.to_string())
}

//! A probe object used by the runtime tests: counters in SQL, schedules, calls, failures.
#![allow(dead_code)]

use lumenize_core::prelude::*;
use lumenize_core::storage::SqlValue;

/// A test object. Its state lives in SQLite so that rollback and restart are observable.
#[derive(Default)]
pub struct Probe;

pub fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

impl Probe {
    pub fn new(ctx: &Ctx<'_>) -> Probe {
        ctx.sql()
            .exec_batch(
                "CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, n INTEGER NOT NULL);",
            )
            .expect("schema");
        Probe
    }

    fn bump(&mut self, ctx: &Ctx<'_>, name: String, by: f64) -> Result<f64, String> {
        let rows = ctx
            .sql()
            .exec(
                "INSERT INTO counters (name, n) VALUES (?1, ?2) \
                 ON CONFLICT(name) DO UPDATE SET n = n + excluded.n RETURNING n",
                &[SqlValue::from(name), SqlValue::Integer(by as i64)],
            )
            .map_err(err)?;
        Ok(rows.scalar().and_then(|v| v.as_f64()).unwrap_or(0.0))
    }

    fn count(&mut self, ctx: &Ctx<'_>, name: String) -> Result<f64, String> {
        let rows = ctx
            .sql()
            .exec(
                "SELECT n FROM counters WHERE name = ?1",
                &[SqlValue::from(name)],
            )
            .map_err(err)?;
        Ok(rows.scalar().and_then(|v| v.as_f64()).unwrap_or(0.0))
    }

    /// Writes, then fails: the write must roll back.
    fn bump_then_fail(&mut self, ctx: &Ctx<'_>, name: String) -> Result<(), String> {
        self.bump(ctx, name, 1.0)?;
        ctx.call(ctx.me(), "ping", vec![Value::from("from-failed")], None)
            .ok();
        Err("deliberate failure".into())
    }

    /// Writes, then panics.
    fn bump_then_panic(&mut self, ctx: &Ctx<'_>, name: String) -> Result<(), String> {
        self.bump(ctx, name, 1.0)?;
        panic!("deliberate panic");
    }

    /// Schedules `bump(tag, 1)` after `delay_ms` (absolute time when `at` is true).
    fn schedule_bump(
        &mut self,
        ctx: &Ctx<'_>,
        tag: String,
        delay_ms: f64,
    ) -> Result<String, String> {
        let s = ctx
            .alarms()
            .schedule(
                When::DelayMs(delay_ms as i64),
                ctn().call("bump", vec![Value::from(tag), Value::from(1.0)]),
            )
            .map_err(err)?;
        Ok(s.id)
    }

    fn schedule_bump_with_id(
        &mut self,
        ctx: &Ctx<'_>,
        id: String,
        tag: String,
        delay_ms: f64,
    ) -> Result<String, String> {
        let s = ctx
            .alarms()
            .schedule_with_id(
                &id,
                When::DelayMs(delay_ms as i64),
                ctn().call("bump", vec![Value::from(tag), Value::from(1.0)]),
            )
            .map_err(err)?;
        Ok(s.id)
    }

    fn schedule_cron(
        &mut self,
        ctx: &Ctx<'_>,
        tag: String,
        expr: String,
    ) -> Result<String, String> {
        let s = ctx
            .alarms()
            .schedule(
                When::cron(expr),
                ctn().call("bump", vec![Value::from(tag), Value::from(1.0)]),
            )
            .map_err(err)?;
        Ok(s.id)
    }

    /// The result path of a race: whoever cancels the schedule runs its continuation.
    fn resolve(&mut self, ctx: &Ctx<'_>, id: String) -> Result<bool, String> {
        match ctx.alarms().cancel_schedule(&id).map_err(err)? {
            Some(s) => {
                self.__execute_chain(&s.callback).map_err(err)?;
                Ok(true)
            }
            None => {
                self.bump(ctx, "lost".into(), 1.0)?;
                Ok(false)
            }
        }
    }

    /// The proxy-fetch convergence pattern: claim schedule `id` by cancelling it; only the
    /// winner bumps `tag`.
    fn claim_own(&mut self, ctx: &Ctx<'_>, id: String, tag: String) -> Result<bool, String> {
        if ctx.alarms().cancel_schedule(&id).map_err(err)?.is_some() {
            self.bump(ctx, tag, 1.0)?;
            Ok(true)
        } else {
            self.bump(ctx, "lost".into(), 1.0)?;
            Ok(false)
        }
    }

    fn schedule_claim_own(
        &mut self,
        ctx: &Ctx<'_>,
        id: String,
        tag: String,
        delay_ms: f64,
    ) -> Result<String, String> {
        let s = ctx
            .alarms()
            .schedule_with_id(
                &id,
                When::DelayMs(delay_ms as i64),
                ctn().call("claim_own", vec![Value::from(id.clone()), Value::from(tag)]),
            )
            .map_err(err)?;
        Ok(s.id)
    }

    /// Sends `n` calls `double(i)` to the worker `binding` in one turn, each with the
    /// continuation `bump("fan", $result)`.
    fn fan_out(&mut self, ctx: &Ctx<'_>, binding: String, n: f64) -> Result<(), String> {
        let to = Address::worker(binding);
        for i in 0..n as i64 {
            ctx.call(
                &to,
                "double",
                vec![Value::from(i as f64)],
                Some(&ctn().call("bump", vec![Value::from("fan"), result_marker()])),
            )
            .map_err(err)?;
        }
        Ok(())
    }

    fn cancel(&mut self, ctx: &Ctx<'_>, id: String) -> Result<bool, String> {
        Ok(ctx.alarms().cancel_schedule(&id).map_err(err)?.is_some())
    }

    fn pending(&mut self, ctx: &Ctx<'_>) -> Result<f64, String> {
        Ok(ctx.alarms().count().map_err(err)? as f64)
    }

    /// Calls `bump(tag, by)` on another probe and records the result via a continuation.
    fn call_other(
        &mut self,
        ctx: &Ctx<'_>,
        name: String,
        tag: String,
        by: f64,
    ) -> Result<(), String> {
        let to = Address::object("PROBE", name);
        ctx.call_raw(
            &to,
            &ctn().call("bump", vec![Value::from(tag.clone()), Value::from(by)]),
            Some(&ctn().call("got", vec![Value::from(tag), result_marker()])),
        )
        .map_err(err)
    }

    /// A continuation: records the result (or "error:<message>").
    fn got(&mut self, ctx: &Ctx<'_>, tag: String, result: Value) -> Result<(), String> {
        let text = match result.as_f64() {
            Some(n) => format!("{n}"),
            None => match result.as_object().map(|o| o.borrow().clone()) {
                Some(lumenize_core::structured_clone::ObjectKind::Error(e)) => {
                    format!("error:{}", e.message)
                }
                _ => format!("{result:?}"),
            },
        };
        ctx.kv()
            .put(&format!("got:{tag}"), &Value::from(text))
            .map_err(err)
    }

    fn got_value(&mut self, ctx: &Ctx<'_>, tag: String) -> Result<Value, String> {
        Ok(ctx
            .kv()
            .get(&format!("got:{tag}"))
            .map_err(err)?
            .unwrap_or(Value::Null))
    }

    fn ping(&mut self, ctx: &Ctx<'_>, tag: String) -> Result<f64, String> {
        self.bump(ctx, format!("ping:{tag}"), 1.0)
    }

    fn fail_always(&mut self, ctx: &Ctx<'_>, tag: String) -> Result<(), String> {
        self.bump(ctx, format!("side-effect:{tag}"), 1.0)?;
        Err(format!("always fails ({tag})"))
    }

    fn schedule_failing(&mut self, ctx: &Ctx<'_>, tag: String) -> Result<String, String> {
        let s = ctx
            .alarms()
            .schedule(
                When::DelayMs(0),
                ctn().call("fail_always", vec![Value::from(tag)]),
            )
            .map_err(err)?;
        Ok(s.id)
    }

    /// Writes inside the turn's transaction, announces it on stdout, then never returns
    /// (the crash test kills the process holding it).
    fn hang(&mut self, ctx: &Ctx<'_>, tag: String) -> Result<(), String> {
        self.bump(ctx, tag, 1.0)?;
        println!("HANGING");
        use std::io::Write;
        std::io::stdout().flush().ok();
        loop {
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
    }

    fn now(&mut self, ctx: &Ctx<'_>) -> f64 {
        ctx.now_ms() as f64
    }

    /// Runs `batch` (the handler's own SQL).
    fn sql(&mut self, ctx: &Ctx<'_>, batch: String) -> Result<(), String> {
        ctx.sql().exec_batch(&batch).map_err(err)
    }
}

lumenize_core::handlers!(Probe {
    bump(name: String, by: f64),
    count(name: String),
    bump_then_fail(name: String),
    bump_then_panic(name: String),
    schedule_bump(tag: String, delay_ms: f64),
    schedule_bump_with_id(id: String, tag: String, delay_ms: f64),
    schedule_cron(tag: String, expr: String),
    resolve(id: String),
    cancel(id: String),
    fan_out(binding: String, n: f64),
    claim_own(id: String, tag: String),
    schedule_claim_own(id: String, tag: String, delay_ms: f64),
    pending(),
    call_other(name: String, tag: String, by: f64),
    got(tag: String, result: Value),
    got_value(tag: String),
    ping(tag: String),
    fail_always(tag: String),
    schedule_failing(tag: String),
    hang(tag: String),
    now(),
    sql(batch: String),
});

pub const T0: i64 = 1_700_000_000_000;

pub fn num(v: Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

pub fn text(v: Value) -> String {
    v.as_str().map(str::to_string).unwrap_or_default()
}

//! Reminders on the native runtime, end to end, in a few seconds:
//!
//! `cargo run -p lumenize-core --example reminders`
//!
//! Two desks (objects named `alice` and `bob`), each with its own SQLite state; one-shot and
//! cron schedules firing; a cancel that hands back the [`Schedule`] it removed (and a second
//! cancel that gets nothing: whoever cancels first wins); and a proxied fetch against a local
//! HTTP endpoint on 127.0.0.1 whose response reaches a continuation. Time is a
//! [`ManualClock`], so "an hour later" takes no time and the run always prints the same story
//! (only the fetched UUID differs).
//!
//! The endpoint is lumenize's own `EndpointServer` (feature `endpoint-server`, off by
//! default): this crate's examples, tests and benchmarks get it through a dev-dependency on
//! the crate itself, so the command above works with the default features. In your own
//! program enable it with `lumenize-core = { version = "1", features = ["endpoint-server"] }`
//! (or fetch any URL your `FetchPolicy` allows).

use std::time::Duration;

use lumenize_core::alarms::{Schedule, ScheduleKind, When};
use lumenize_core::clock::ManualClock;
use lumenize_core::fetch::{self, EndpointServer, FetchOptions, FetchPolicy};
use lumenize_core::prelude::*;

/// 2026-01-01T00:00:00Z: where the manual clock starts.
const T0: i64 = 1_767_225_600_000;

/// A reminders desk: what rang and what was fetched, in its own tables.
struct Desk;

const SCHEMA: &str = "\
CREATE TABLE IF NOT EXISTS rung (id INTEGER PRIMARY KEY, text TEXT NOT NULL, at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS fetched (id INTEGER PRIMARY KEY, what TEXT NOT NULL);";

impl Desk {
    fn new(ctx: &Ctx<'_>) -> Desk {
        // A failure here fails the first turn, which then constructs the desk again.
        let _ = ctx.sql().exec_batch(SCHEMA);
        Desk
    }

    /// A one-shot reminder `delay_s` from now; returns its schedule id.
    fn remind(&mut self, ctx: &Ctx<'_>, text: String, delay_s: f64) -> Result<String, String> {
        let ring = ctn().call("ring", vec![Value::from(text)]);
        let s: Schedule = ctx
            .alarms()
            .schedule(When::delay_secs(delay_s), ring)
            .map_err(|e| e.to_string())?;
        Ok(s.id)
    }

    /// A recurring reminder on a cron expression (UTC); returns its schedule id.
    fn every(&mut self, ctx: &Ctx<'_>, text: String, cron: String) -> Result<String, String> {
        let ring = ctn().call("ring", vec![Value::from(text)]);
        let s = ctx
            .alarms()
            .schedule(When::cron(cron), ring)
            .map_err(|e| e.to_string())?;
        Ok(s.id)
    }

    /// Cancels a schedule and says what was removed, from the `Schedule` the cancel returns;
    /// `None` (null) when it was already gone.
    fn cancel(&mut self, ctx: &Ctx<'_>, id: String) -> Result<Option<String>, String> {
        let removed = ctx
            .alarms()
            .cancel_schedule(&id)
            .map_err(|e| e.to_string())?;
        Ok(removed.map(|s| {
            let kind = match &s.kind {
                ScheduleKind::Cron { expr } => format!("cron {expr:?}"),
                ScheduleKind::Delayed { delay_ms } => format!("{} s delay", delay_ms / 1000),
                ScheduleKind::Scheduled => "fixed time".to_string(),
            };
            format!(
                "{} ({kind}, due at +{} s, would have called {})",
                s.id,
                (s.time - T0) / 1000,
                s.callback.method_path().unwrap_or_default()
            )
        }))
    }

    /// What a reminder does when it fires: writes a row.
    fn ring(&mut self, ctx: &Ctx<'_>, text: String) -> Result<(), String> {
        ctx.sql()
            .exec(
                "INSERT INTO rung (text, at) VALUES (?1, ?2)",
                &[SqlValue::from(text), SqlValue::from(ctx.now_ms())],
            )
            .map(drop)
            .map_err(|e| e.to_string())
    }

    /// Everything that rang here, as `+N s text`.
    fn rung(&mut self, ctx: &Ctx<'_>) -> Result<Vec<String>, String> {
        let rows = ctx
            .sql()
            .exec("SELECT text, at FROM rung ORDER BY id", &[])
            .map_err(|e| e.to_string())?;
        Ok(rows
            .rows
            .iter()
            .map(|r| {
                let text = r[0].as_str().unwrap_or_default();
                let at = r[1].as_i64().unwrap_or_default();
                format!("+{} s {text}", (at - T0) / 1000)
            })
            .collect())
    }

    /// Starts a proxied fetch: the object does not wait (nor stay billed); `checked` runs
    /// with the outcome, exactly once.
    fn check(&mut self, ctx: &Ctx<'_>, url: String) -> Result<String, String> {
        let then = ctn().call("checked", vec![result_marker()]);
        let options = FetchOptions {
            timeout: Duration::from_secs(10),
            ..FetchOptions::default()
        };
        fetch::proxy_fetch_simple(ctx, &Value::from(url), &then, &options)
            .map_err(|e| e.to_string())
    }

    /// The fetch's continuation: records the status and body (or the error's name).
    fn checked(&mut self, ctx: &Ctx<'_>, outcome: Value) -> Result<(), String> {
        let what = match fetch::outcome_from_value(&outcome) {
            Ok(resp) => format!("{} {}", resp.status, resp.text().unwrap_or_default()),
            Err(e) => e.name().to_string(),
        };
        ctx.sql()
            .exec(
                "INSERT INTO fetched (what) VALUES (?1)",
                &[SqlValue::from(what)],
            )
            .map(drop)
            .map_err(|e| e.to_string())
    }

    fn fetched(&mut self, ctx: &Ctx<'_>) -> Result<Vec<String>, String> {
        let rows = ctx
            .sql()
            .exec("SELECT what FROM fetched ORDER BY id", &[])
            .map_err(|e| e.to_string())?;
        Ok(rows
            .rows
            .iter()
            .filter_map(|r| r[0].as_str().map(String::from))
            .collect())
    }
}

lumenize_core::handlers!(Desk {
    remind(text: String, delay_s: f64),
    every(text: String, cron: String),
    cancel(id: String),
    ring(text: String),
    rung(),
    check(url: String),
    checked(outcome: Value),
    fetched(),
});

type Error = Box<dyn std::error::Error>;

/// The whole story; `say` receives each line as it happens.
pub fn run(say: &mut dyn FnMut(String)) -> Result<(), Error> {
    let clock = ManualClock::new(T0);
    let server = EndpointServer::start()?;
    // The fetch executor may reach loopback here (by default, public addresses only).
    let rt =
        fetch::install_with_policy(Runtime::builder(), FetchPolicy::default().allow_loopback())
            .object("DESK", Desk::new)
            .manual_clock(clock.clone())
            .build()?;
    let settle = || rt.settle(Duration::from_secs(10));
    let text = |v: Value| v.as_str().unwrap_or_default().to_string();
    let (alice, bob) = (rt.object("DESK", "alice"), rt.object("DESK", "bob"));

    let tea = text(alice.call_method("remind", vec!["tea".into(), 30.0.into()])?);
    say(format!("alice: 'tea' in 30 s, schedule {tea}"));
    let stretch = text(bob.call_method("remind", vec!["stretch".into(), 90.0.into()])?);
    say(format!("bob: 'stretch' in 90 s, schedule {stretch}"));
    let standup = text(bob.call_method("every", vec!["standup".into(), "* * * * *".into()])?);
    say(format!("bob: 'standup' every minute, schedule {standup}"));
    let mum = text(alice.call_method("remind", vec!["call mum".into(), 45.0.into()])?);
    say(format!("alice: 'call mum' in 45 s, schedule {mum}"));

    // Cancel with the id from the returned `Schedule`; the cancel hands the schedule back.
    let first = alice.call_method("cancel", vec![mum.as_str().into()])?;
    say(format!("alice: cancelled {}", text(first)));
    let second = alice.call_method("cancel", vec![mum.as_str().into()])?;
    if second.is_null() {
        say("alice: cancelling it again gets nothing (whoever cancels first wins)".into());
    }

    for _ in 0..4 {
        clock.advance(30_000);
        settle()?;
        say(format!(
            "clock +{} s: alice rang {:?}, bob rang {:?}",
            (rt.now_ms() - T0) / 1000,
            strings(alice.call_method("rung", vec![])?),
            strings(bob.call_method("rung", vec![])?)
        ));
    }
    let cancelled = bob.call_method("cancel", vec![standup.as_str().into()])?;
    say(format!("bob: stopped the standups: {}", text(cancelled)));

    let url = server.url("/uuid");
    let id = text(alice.call_method("check", vec![url.as_str().into()])?);
    say(format!(
        "alice: fetching {url} through the executor (request {id})"
    ));
    settle()?;
    for line in strings(alice.call_method("fetched", vec![])?) {
        say(format!("alice: the continuation got {line}"));
    }
    Ok(())
}

fn strings(v: Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_default()
        .iter()
        .filter_map(|s| s.as_str().map(String::from))
        .collect()
}

#[allow(dead_code)] // the test includes this file and calls `run`
fn main() {
    if let Err(e) = run(&mut |line| println!("{line}")) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

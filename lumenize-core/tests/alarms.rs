//! Alarms: timing, cancel, cron, retries, bad input — driven through the native runtime with a
//! manual clock.

mod common;

use common::*;
use lumenize_core::alarms::{fire::failures, next_cron_time, ScheduleFilter, When, MAX_TIME_MS};
use lumenize_core::clock::ManualClock;
use lumenize_core::prelude::*;
use std::sync::Arc;
use std::time::Duration;

const SETTLE: Duration = Duration::from_secs(10);

fn runtime() -> (Runtime, Arc<ManualClock>) {
    let clock = ManualClock::new(T0);
    let rt = Runtime::builder()
        .object("PROBE", Probe::new)
        .manual_clock(clock.clone())
        .build()
        .expect("runtime");
    (rt, clock)
}

fn count(p: &lumenize_core::runtime::Stub, tag: &str) -> f64 {
    num(p.call_method("count", vec![tag.into()]).unwrap())
}

fn next_alarm(p: &lumenize_core::runtime::Stub) -> Option<i64> {
    p.run(|_, ctx| Ok(ctx.alarms().next_alarm())).unwrap()
}

#[test]
fn past_and_zero_delay_schedules_fire_at_once() {
    let (rt, _clock) = runtime();
    let p = rt.object("PROBE", "a");
    p.call_method("schedule_bump", vec!["zero".into(), 0.0.into()])
        .unwrap();
    p.run(|_, ctx| {
        ctx.alarms()
            .schedule(
                When::at_ms(T0 - 60_000),
                ctn().call("bump", vec!["past".into(), 1.0.into()]),
            )
            .map_err(|e| ChainError::handler(e.to_string()))?;
        Ok(())
    })
    .unwrap();
    // No clock movement at all: the alarm is armed for a time already due.
    rt.settle(SETTLE).unwrap();
    assert_eq!(count(&p, "zero"), 1.0);
    assert_eq!(count(&p, "past"), 1.0);
    assert_eq!(num(p.call_method("pending", vec![]).unwrap()), 0.0);
    assert_eq!(next_alarm(&p), None);
}

#[test]
fn delayed_schedule_fires_when_due_and_not_before() {
    let (rt, clock) = runtime();
    let p = rt.object("PROBE", "a");
    p.call_method("schedule_bump", vec!["d".into(), 5_000.0.into()])
        .unwrap();
    assert_eq!(next_alarm(&p), Some(T0 + 5_000));
    clock.advance(4_999);
    rt.settle(SETTLE).unwrap();
    assert_eq!(count(&p, "d"), 0.0);
    clock.advance(1);
    rt.settle(SETTLE).unwrap();
    assert_eq!(count(&p, "d"), 1.0);
    clock.advance(60_000);
    rt.settle(SETTLE).unwrap();
    assert_eq!(count(&p, "d"), 1.0, "fires exactly once");
}

#[test]
fn alarm_is_always_armed_for_the_earliest_schedule() {
    let (rt, _clock) = runtime();
    let p = rt.object("PROBE", "a");
    let late = text(
        p.call_method("schedule_bump", vec!["late".into(), 9_000.0.into()])
            .unwrap(),
    );
    assert_eq!(next_alarm(&p), Some(T0 + 9_000));
    let early = text(
        p.call_method("schedule_bump", vec!["early".into(), 3_000.0.into()])
            .unwrap(),
    );
    assert_eq!(next_alarm(&p), Some(T0 + 3_000));
    assert_eq!(
        p.call_method("cancel", vec![early.into()])
            .unwrap()
            .as_bool(),
        Some(true)
    );
    assert_eq!(next_alarm(&p), Some(T0 + 9_000));
    p.call_method("cancel", vec![late.into()]).unwrap();
    assert_eq!(next_alarm(&p), None);
}

#[test]
fn cancel_is_get_and_delete_once_and_unknown_is_none() {
    let (rt, clock) = runtime();
    let p = rt.object("PROBE", "a");
    let id = text(
        p.call_method("schedule_bump", vec!["c".into(), 1_000.0.into()])
            .unwrap(),
    );
    let (first, second, unknown) = p
        .run(move |_, ctx| {
            let a = ctx.alarms();
            let first = a
                .cancel_schedule(&id)
                .map_err(|e| ChainError::handler(e.to_string()))?;
            let second = a
                .cancel_schedule(&id)
                .map_err(|e| ChainError::handler(e.to_string()))?;
            let unknown = a
                .cancel_schedule("never-existed")
                .map_err(|e| ChainError::handler(e.to_string()))?;
            Ok((
                first.map(|s| (s.id, s.time, s.callback.method_path())),
                second.is_none(),
                unknown.is_none(),
            ))
        })
        .unwrap();
    let (_, time, method) = first.expect("the first cancel gets the schedule");
    assert_eq!(time, T0 + 1_000);
    assert_eq!(method.as_deref(), Some("bump"));
    assert!(second && unknown);
    clock.advance(5_000);
    rt.settle(SETTLE).unwrap();
    assert_eq!(count(&p, "c"), 0.0, "a cancelled schedule never fires");
}

#[test]
fn cron_schedule_recurs_at_known_times() {
    let (rt, clock) = runtime();
    // T0 = 2023-11-14T22:13:20Z. "*/15 * * * *" next fires at 22:15:00, then 22:30:00.
    let p = rt.object("PROBE", "a");
    p.call_method("schedule_cron", vec!["cron".into(), "*/15 * * * *".into()])
        .unwrap();
    let first = 1_700_000_100_000; // 2023-11-14T22:15:00Z
    assert_eq!(next_alarm(&p), Some(first));
    clock.set(first);
    rt.settle(SETTLE).unwrap();
    assert_eq!(count(&p, "cron"), 1.0);
    assert_eq!(next_alarm(&p), Some(first + 15 * 60_000));
    clock.set(first + 15 * 60_000);
    rt.settle(SETTLE).unwrap();
    assert_eq!(count(&p, "cron"), 2.0);
    assert_eq!(num(p.call_method("pending", vec![]).unwrap()), 1.0);
}

#[test]
fn cron_next_fire_times_match_known_values() {
    // (expression, after, expected next) — computed by hand, UTC.
    let cases: &[(&str, &str, &str)] = &[
        ("30 9 * * *", "2024-01-01T10:00:00Z", "2024-01-02T09:30:00Z"),
        ("30 9 * * *", "2024-01-01T09:29:59Z", "2024-01-01T09:30:00Z"),
        ("0 0 1 * *", "2024-01-31T12:00:00Z", "2024-02-01T00:00:00Z"),
        (
            "0 12 29 2 *",
            "2024-03-01T00:00:00Z",
            "2028-02-29T12:00:00Z",
        ),
        ("0 0 * * 1", "2024-05-01T00:00:00Z", "2024-05-06T00:00:00Z"), // Wed → Monday
        (
            "*/10 * * * * *",
            "2024-01-01T00:00:05Z",
            "2024-01-01T00:00:10Z",
        ), // with seconds
        (
            "59 23 31 12 *",
            "2024-12-31T23:59:00Z",
            "2025-12-31T23:59:00Z",
        ), // strictly after
    ];
    for (expr, after, expected) in cases {
        let after = chrono::DateTime::parse_from_rfc3339(after)
            .unwrap()
            .timestamp_millis();
        let expected = chrono::DateTime::parse_from_rfc3339(expected)
            .unwrap()
            .timestamp_millis();
        assert_eq!(next_cron_time(expr, after).unwrap(), expected, "{expr}");
    }
}

#[test]
fn bad_input_is_a_clear_error_and_changes_nothing() {
    let (rt, _clock) = runtime();
    let p = rt.object("PROBE", "a");
    p.call_method("bump", vec!["x".into(), 1.0.into()]).unwrap();
    let before = rt.accounting(p.address()).rows_written;
    let errors: Vec<String> = p
        .run(|_, ctx| {
            let a = ctx.alarms();
            let cb = || ctn().call("bump", vec!["x".into(), 1.0.into()]);
            let results = vec![
                a.schedule("not a cron", cb()).map(|_| ()),
                a.schedule("61 * * * *", cb()).map(|_| ()),
                a.schedule("", cb()).map(|_| ()),
                a.schedule(When::at_ms(-1), cb()).map(|_| ()),
                a.schedule(When::at_ms(MAX_TIME_MS + 1), cb()).map(|_| ()),
                a.schedule(When::delay_secs(f64::NAN), cb()).map(|_| ()),
                a.schedule(When::delay_secs(-5.0), cb()).map(|_| ()),
                a.schedule(When::DelayMs(i64::MAX), cb()).map(|_| ()),
                a.schedule(Duration::from_secs(u64::MAX), cb()).map(|_| ()),
                a.schedule(When::DelayMs(10), ctn()).map(|_| ()),
                a.schedule(When::DelayMs(10), ctn().get("x")).map(|_| ()),
                a.schedule_with_id("", When::DelayMs(10), cb()).map(|_| ()),
            ];
            Ok(results
                .into_iter()
                .map(|r| r.expect_err("must be rejected").to_string())
                .collect())
        })
        .unwrap();
    assert!(
        errors[0].contains("invalid cron expression \"not a cron\""),
        "{}",
        errors[0]
    );
    assert!(errors[1].contains("61 * * * *"), "{}", errors[1]);
    assert!(errors[3].contains("invalid time"), "{}", errors[3]);
    assert!(errors[5].contains("invalid time"), "{}", errors[5]);
    assert!(errors[6].contains("negative"), "{}", errors[6]);
    assert!(errors[9].contains("invalid continuation"), "{}", errors[9]);
    assert!(errors[11].contains("invalid schedule id"), "{}", errors[11]);
    assert_eq!(num(p.call_method("pending", vec![]).unwrap()), 0.0);
    assert_eq!(next_alarm(&p), None);
    assert_eq!(rt.accounting(p.address()).rows_written, before);
}

#[test]
fn schedules_can_be_listed_and_filtered() {
    let (rt, _clock) = runtime();
    let p = rt.object("PROBE", "a");
    for (tag, delay) in [("a", 3_000.0), ("b", 1_000.0), ("c", 2_000.0)] {
        p.call_method("schedule_bump", vec![tag.into(), delay.into()])
            .unwrap();
    }
    p.call_method("schedule_cron", vec!["k".into(), "0 * * * *".into()])
        .unwrap();
    let (all, delayed_in_range, cron, one) = p
        .run(|_, ctx| {
            let a = ctx.alarms();
            let e = |e: AlarmError| ChainError::handler(e.to_string());
            let all: Vec<i64> = a
                .get_schedules(&ScheduleFilter::default())
                .map_err(e)?
                .iter()
                .map(|s| s.time)
                .collect();
            let ranged = a
                .get_schedules(&ScheduleFilter {
                    kind: Some("delayed".into()),
                    from_ms: Some(T0 + 1_000),
                    to_ms: Some(T0 + 2_000),
                    ..Default::default()
                })
                .map_err(e)?
                .len();
            let cron = a
                .get_schedules(&ScheduleFilter {
                    kind: Some("cron".into()),
                    ..Default::default()
                })
                .map_err(e)?;
            let id = cron[0].id.clone();
            let one = a.get_schedule(&id).map_err(e)?.map(|s| s.kind);
            Ok((all, ranged, cron.len(), one))
        })
        .unwrap();
    assert_eq!(all.len(), 4);
    assert!(
        all.windows(2).all(|w| w[0] <= w[1]),
        "earliest first: {all:?}"
    );
    assert_eq!(delayed_in_range, 2);
    assert_eq!(cron, 1);
    assert_eq!(
        one,
        Some(ScheduleKind::Cron {
            expr: "0 * * * *".into()
        })
    );
}

#[test]
fn trigger_alarms_runs_future_schedules_now() {
    let (rt, _clock) = runtime();
    let p = rt.object("PROBE", "a");
    let a = text(
        p.call_method("schedule_bump", vec!["t1".into(), 3_600_000.0.into()])
            .unwrap(),
    );
    let b = text(
        p.call_method("schedule_bump", vec!["t2".into(), 7_200_000.0.into()])
            .unwrap(),
    );
    let ran = p.trigger_alarms(1).unwrap();
    assert_eq!(ran, vec![a]);
    assert_eq!(count(&p, "t1"), 1.0);
    assert_eq!(count(&p, "t2"), 0.0);
    assert_eq!(next_alarm(&p), Some(T0 + 7_200_000));
    assert_eq!(p.trigger_alarms(5).unwrap(), vec![b]);
    assert_eq!(next_alarm(&p), None);
}

#[test]
fn schedule_with_same_id_replaces_and_rearms() {
    let (rt, clock) = runtime();
    let p = rt.object("PROBE", "a");
    p.call_method(
        "schedule_bump_with_id",
        vec!["job".into(), "v1".into(), 1_000.0.into()],
    )
    .unwrap();
    p.call_method(
        "schedule_bump_with_id",
        vec!["job".into(), "v2".into(), 5_000.0.into()],
    )
    .unwrap();
    assert_eq!(num(p.call_method("pending", vec![]).unwrap()), 1.0);
    assert_eq!(next_alarm(&p), Some(T0 + 5_000));
    clock.advance(10_000);
    rt.settle(SETTLE).unwrap();
    assert_eq!((count(&p, "v1"), count(&p, "v2")), (0.0, 1.0));
}

#[test]
fn failing_schedule_retries_with_backoff_then_gives_up() {
    let (rt, clock) = runtime();
    let p = rt.object("PROBE", "a");
    let id = text(p.call_method("schedule_failing", vec!["f".into()]).unwrap());
    rt.settle(SETTLE).unwrap();
    let mut expected_at = rt.now_ms();
    for (attempt, secs) in [2, 4, 8, 16, 32, 64].into_iter().enumerate() {
        expected_at += secs * 1000;
        let id2 = id.clone();
        let s = p
            .run(move |_, ctx| {
                ctx.alarms()
                    .get_schedule(&id2)
                    .map_err(|e| ChainError::handler(e.to_string()))
                    .map(|s| s.map(|s| (s.time, s.attempts)))
            })
            .unwrap();
        assert_eq!(
            s,
            Some((expected_at, attempt as u32 + 1)),
            "retry {}",
            attempt + 1
        );
        clock.set(expected_at);
        rt.settle(SETTLE).unwrap();
    }
    // 1 try + 6 retries failed: given up and recorded; the failing side effect never stuck.
    assert_eq!(num(p.call_method("pending", vec![]).unwrap()), 0.0);
    assert_eq!(count(&p, "side-effect:f"), 0.0);
    let failed = p
        .run(|_, ctx| failures(ctx.sql()).map_err(|e| ChainError::handler(e.to_string())))
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].id, id);
    assert_eq!(failed[0].attempts, 7);
    assert!(
        failed[0].error.contains("always fails"),
        "{}",
        failed[0].error
    );
    assert_eq!(next_alarm(&p), None);
}

#[test]
fn a_failing_schedule_does_not_block_others() {
    let (rt, _clock) = runtime();
    let p = rt.object("PROBE", "a");
    p.call_method("schedule_failing", vec!["f".into()]).unwrap();
    p.call_method("schedule_bump", vec!["ok".into(), 0.0.into()])
        .unwrap();
    rt.settle(SETTLE).unwrap();
    assert_eq!(count(&p, "ok"), 1.0);
    assert_eq!(num(p.call_method("pending", vec![]).unwrap()), 1.0);
}

#[test]
fn a_firing_schedule_wins_its_own_cancel_and_the_late_result_loses() {
    // The proxy-fetch shape: the alarm's continuation and the result path both call
    // `cancel_schedule(id)`; the alarm path must win its own race (the original deleted the
    // row only after the handler returned), and a result arriving afterwards must lose.
    let (rt, clock) = runtime();
    let p = rt.object("PROBE", "a");
    p.call_method(
        "schedule_claim_own",
        vec!["fetch-1".into(), "timeout".into(), 1_000.0.into()],
    )
    .unwrap();
    clock.advance(1_000);
    rt.settle(SETTLE).unwrap();
    assert_eq!(count(&p, "timeout"), 1.0);
    assert_eq!(
        p.call_method("claim_own", vec!["fetch-1".into(), "result".into()])
            .unwrap()
            .as_bool(),
        Some(false)
    );
    assert_eq!((count(&p, "result"), count(&p, "lost")), (0.0, 1.0));
    assert_eq!(num(p.call_method("pending", vec![]).unwrap()), 0.0);
}

/// An object whose handlers try the host's alarm steps (`alarms::fire`), which take the same
/// `Ctx` a handler has.
struct Thief;

impl Thief {
    fn arm(&mut self, ctx: &Ctx<'_>) -> Result<String, String> {
        ctx.alarms()
            .schedule(When::at_ms(T0 + 60_000), ctn().call("arm", vec![]))
            .map(|s| s.id)
            .map_err(|e| e.to_string())
    }
    fn steal(&mut self, ctx: &Ctx<'_>) -> Result<String, String> {
        match lumenize_core::alarms::fire::claim_next(ctx, true) {
            Ok(Some(s)) => Ok(format!("took {}", s.id)),
            Ok(None) => Ok("nothing".into()),
            Err(e) => Err(e.to_string()),
        }
    }
    fn complete(&mut self, ctx: &Ctx<'_>) -> Result<(), String> {
        lumenize_core::alarms::fire::complete(ctx).map_err(|e| e.to_string())
    }
    fn fail(&mut self, ctx: &Ctx<'_>, id: String) -> Result<String, String> {
        lumenize_core::alarms::fire::record_failure(ctx, &id, "failed by hand")
            .map(|o| format!("{o:?}"))
            .map_err(|e| e.to_string())
    }
    fn pending(&mut self, ctx: &Ctx<'_>) -> Result<f64, String> {
        ctx.alarms()
            .count()
            .map(|n| n as f64)
            .map_err(|e| e.to_string())
    }
}
lumenize_core::handlers!(Thief {
    arm(),
    steal(),
    complete(),
    fail(id: String),
    pending(),
});

/// The host's alarm steps are the host's: handler code that calls them (they take the same
/// `Ctx`) gets an error and changes nothing. A claimed schedule would otherwise be gone
/// without running, a pending fetch's timeout included.
#[test]
fn handler_code_cannot_run_the_hosts_alarm_steps() {
    let rt = Runtime::builder()
        .object("THIEF", |_| Thief)
        .manual_clock(ManualClock::new(T0))
        .build()
        .expect("runtime");
    let t = rt.object("THIEF", "t");
    let id = match t.call_method("arm", vec![]).unwrap() {
        Value::String(s) => s.to_string(),
        other => panic!("{other:?}"),
    };
    for (method, args) in [
        ("steal", vec![]),
        ("complete", vec![]),
        ("fail", vec![Value::from(id.as_str())]),
    ] {
        let err = t.call_method(method, args).expect_err(method).to_string();
        assert!(err.contains("host step"), "{method}: {err}");
    }
    assert_eq!(num(t.call_method("pending", vec![]).unwrap()), 1.0);
    assert_eq!(next_alarm(&t), Some(T0 + 60_000));
}

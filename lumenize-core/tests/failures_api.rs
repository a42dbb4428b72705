//! Failures of work nobody waits for are readable through the API, not only as log text:
//! `settle` reports them, `Runtime::failures` keeps the last ones, `Stub::alarm_failures`
//! reads the schedules given up. Time moves by a manual clock only.

use lumenize_core::clock::ManualClock;
use lumenize_core::prelude::*;
use lumenize_core::runtime::{FailureKind, NativeExt, ScheduleFate};
use lumenize_core::transport::Delivery;
use std::sync::Arc;
use std::time::Duration;

const T0: i64 = 1_700_000_000_000;
const SETTLE: Duration = Duration::from_secs(10);

#[derive(Default)]
struct Desk;

impl Desk {
    fn later(&mut self, ctx: &Ctx<'_>, secs: f64) -> Result<String, lumenize_core::Error> {
        let s = ctx
            .alarms()
            .schedule(When::delay_secs(secs), ctn().call("ring", vec![]))?;
        Ok(s.id)
    }

    fn ring(&mut self, _ctx: &Ctx<'_>) -> Result<(), String> {
        Err("the bell is broken".into())
    }

    fn ask(&mut self, ctx: &Ctx<'_>) -> Result<(), lumenize_core::Error> {
        let cont = ctn().call("answer", vec![result_marker()]);
        ctx.call_raw(ctx.me(), &ctn().call("ping", vec![]), Some(&cont))?;
        Ok(())
    }

    fn ping(&mut self, _ctx: &Ctx<'_>) -> f64 {
        1.0
    }

    fn answer(&mut self, _ctx: &Ctx<'_>, _got: Value) -> Result<(), String> {
        Err("cannot take the answer".into())
    }
}

lumenize_core::handlers!(Desk { later(secs: f64), ring(), ask(), ping(), answer(got: Value) });

fn runtime() -> (Runtime, Arc<ManualClock>) {
    let clock = ManualClock::new(T0);
    let rt = Runtime::builder()
        .in_memory()
        .object("DESK", |_| Desk)
        .manual_clock(clock.clone())
        .build()
        .unwrap();
    (rt, clock)
}

#[test]
fn settle_reports_a_failed_continuation() {
    let (rt, _clock) = runtime();
    rt.object("DESK", "d").call_method("ask", vec![]).unwrap();
    let settled = rt.settle(SETTLE).unwrap();
    assert_eq!(settled.failures().len(), 1, "{settled}");
    let f = &settled.failures()[0];
    assert_eq!(f.kind, FailureKind::Continuation);
    assert!(f.error.contains("cannot take the answer"), "{f}");
    assert_eq!(f.address.name(), Some("d"));
    assert!(settled.clone().check().is_err());
    // The next settle reports only what failed since.
    assert!(rt.settle(SETTLE).unwrap().is_clean());
    assert_eq!(rt.failures(), settled.failures());
}

#[test]
fn failed_continuations_run_as_one_group_are_each_reported() {
    let (rt, _clock) = runtime();
    let desk = rt.object("DESK", "d");
    // Delivered while the object is busy in this turn, the three wait in its mailbox and the
    // host runs them as one group (a savepoint each); each failure must still be reported.
    desk.run(|_, ctx| {
        let sender = NativeExt::of(ctx).expect("native").sender();
        for i in 0..3 {
            let delivery = Delivery {
                to: ctx.me().clone(),
                continuation: ctn()
                    .call("answer", vec![result_marker()])
                    .stringify()
                    .unwrap(),
                outcome: Ok(format!("{{\"json\":{i},\"meta\":{{}}}}")),
            };
            sender
                .deliver(delivery)
                .map_err(|e| ChainError::handler(e.to_string()))?;
        }
        Ok(())
    })
    .unwrap();
    let settled = rt.settle(SETTLE).unwrap();
    assert_eq!(settled.failures().len(), 3, "{settled}");
    for f in settled.failures() {
        assert_eq!(f.kind, FailureKind::Continuation);
        assert!(f.error.contains("cannot take the answer"), "{f}");
    }
}

#[test]
fn a_failing_schedule_is_reported_with_each_retry_then_recorded_as_given_up() {
    let (rt, clock) = runtime();
    let desk = rt.object("DESK", "d");
    let id = desk.call_method("later", vec![Value::from(60.0)]).unwrap();
    let id = id.as_str().unwrap().to_string();
    assert!(rt.settle(SETTLE).unwrap().is_clean(), "nothing due yet");

    clock.advance(60_000);
    let settled = rt.settle(SETTLE).unwrap();
    let f = &settled.failures()[0];
    assert_eq!(f.kind, FailureKind::Schedule);
    assert!(f.error.contains("the bell is broken"), "{f}");
    let at = T0 + 60_000 + 2_000;
    assert_eq!(
        f.schedule,
        Some((id.clone(), ScheduleFate::Retry { attempt: 1, at }))
    );

    // Retries at +2, 4, 8, 16, 32, 64 s; after the sixth it is given up.
    for secs in [2, 4, 8, 16, 32, 64] {
        clock.advance(secs * 1_000);
        assert_eq!(rt.settle(SETTLE).unwrap().failures().len(), 1);
    }
    let last = rt.failures().last().cloned().unwrap();
    assert_eq!(last.schedule, Some((id.clone(), ScheduleFate::GaveUp)));
    let given_up = desk.alarm_failures().unwrap();
    assert_eq!(given_up.len(), 1);
    assert_eq!(given_up[0].id, id);
    assert_eq!(given_up[0].attempts, 7);
    assert!(given_up[0].error.contains("the bell is broken"));
    assert_eq!(rt.failures().len(), 7);
    assert_eq!(rt.counters().failed_schedules(), 7);
}

#[test]
fn trigger_alarms_runs_a_future_schedule_now_and_its_failure_is_reported() {
    let (rt, _clock) = runtime();
    let desk = rt.object("DESK", "d");
    desk.call_method("later", vec![Value::from(86_400.0)])
        .unwrap();
    assert_eq!(desk.trigger_alarms(1).unwrap(), Vec::<String>::new());
    let settled = rt.settle(SETTLE).unwrap();
    assert_eq!(settled.failures().len(), 1, "{settled}");
    assert_eq!(settled.failures()[0].kind, FailureKind::Schedule);
    assert_eq!(rt.failures(), settled.failures());
}

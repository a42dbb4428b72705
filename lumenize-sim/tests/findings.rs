//! Plain regression tests of what the simulator found in lumenize-core, written against the
//! turn engine directly (no simulator). Both failed on the code they were found in.

use lumenize_core::alarms::When;
use lumenize_core::prelude::*;
use lumenize_core::storage::sqlite::SqliteStorage;
use lumenize_core::storage::{RowStats, Rows, StorageError, TxStorage};
use lumenize_core::transport::{id_from_name, Transport};
use lumenize_core::turn::{TurnEngine, TurnEnv};
use std::cell::Cell;

/// SQLite with one failure on demand: the next statement outside a transaction, or the next
/// statement inside one.
struct Flaky {
    db: SqliteStorage,
    fail_outside: Cell<bool>,
    fail_inside: Cell<bool>,
}

impl Storage for Flaky {
    fn exec(&self, sql: &str, params: &[SqlValue]) -> Result<Rows, StorageError> {
        let flag = if self.db.in_transaction() {
            &self.fail_inside
        } else {
            &self.fail_outside
        };
        if flag.replace(false) {
            return Err(StorageError::new("injected I/O error", sql));
        }
        self.db.exec(sql, params)
    }
    fn exec_batch(&self, sql: &str) -> Result<(), StorageError> {
        self.db.exec_batch(sql)
    }
    fn stats(&self) -> RowStats {
        self.db.stats()
    }
}

impl TxStorage for Flaky {
    fn transaction(&self, body: &mut dyn FnMut() -> bool) -> Result<bool, StorageError> {
        self.db.transaction(body)
    }
}

struct Sched;
impl Sched {
    fn arm(&mut self, ctx: &Ctx<'_>, at: f64) -> Result<(), String> {
        ctx.alarms()
            .schedule_with_id("x", When::at_ms(at as i64), ctn().call("noop", vec![]))
            .map(drop)
            .map_err(|e| e.to_string())
    }
    fn cancel_then_fail(&mut self, ctx: &Ctx<'_>) -> Result<(), String> {
        ctx.alarms()
            .cancel_schedule("x")
            .map_err(|e| e.to_string())?;
        Err("the handler fails after cancelling".into())
    }
    fn noop(&mut self, _ctx: &Ctx<'_>) {}
}
lumenize_core::handlers!(Sched { arm(at: f64), cancel_then_fail(), noop() });

struct Nowhere;
impl Transport for Nowhere {
    fn knows(&self, _: &Address) -> bool {
        false
    }
}

fn engine() -> TurnEngine<Flaky, impl Fn(&Ctx<'_>) -> Box<dyn Dispatch>> {
    let storage = Flaky {
        db: SqliteStorage::in_memory().unwrap(),
        fail_outside: Cell::new(false),
        fail_inside: Cell::new(false),
    };
    let factory = |_: &Ctx<'_>| -> Box<dyn Dispatch> { Box::new(Sched) };
    TurnEngine::open(storage, "S", &id_from_name("S", "a"), Some("a"), factory).unwrap()
}

fn call(
    e: &mut TurnEngine<Flaky, impl lumenize_core::turn::Factory>,
    now: i64,
    chain: OperationChain,
) -> bool {
    let clock = move || now;
    let env = TurnEnv::new(&Nowhere, &clock);
    let text = chain.stringify().unwrap();
    let mut t = e.call(&env, &text);
    let _ = t.outputs_mut().take_outbox();
    t.result().is_ok()
}

fn mirror(e: &TurnEngine<Flaky, impl lumenize_core::turn::Factory>) -> Option<i64> {
    e.storage()
        .db
        .exec("SELECT min(time) FROM __lmz_alarms", &[])
        .unwrap()
        .scalar()
        .and_then(SqlValue::as_i64)
}

/// Finding 2 (simulator seed 119 with `--reload-faults`; fixed): when the re-read of the alarm
/// slot after a rolled-back turn failed, the engine kept the rolled-back arming in memory; the
/// next committed turn flushed it, deleting the mirror row of a schedule still pending, and
/// the platform alarm was disarmed: the schedule never fired (a `proxy_fetch_simple` timeout
/// lost, so its continuation may never run).
#[test]
fn a_failed_slot_reread_after_rollback_does_not_lose_the_alarm() {
    let mut e = engine();
    assert!(call(
        &mut e,
        1_000,
        ctn().call("arm", vec![Value::from(5_000.0)])
    ));
    assert_eq!((e.armed(), mirror(&e)), (Some(5_000), Some(5_000)));
    e.storage().fail_outside.set(true);
    assert!(!call(&mut e, 1_100, ctn().call("cancel_then_fail", vec![])));
    assert!(call(&mut e, 1_200, ctn().call("noop", vec![])));
    // Schedule x is still pending at 5000: the slot and its mirror must say so.
    assert_eq!(e.armed(), Some(5_000), "in-memory slot");
    assert_eq!(mirror(&e), Some(5_000), "mirror row");
}

/// Finding 1 (simulator seed 27, with the host re-arming as the engine said; fixed): when an
/// alarm run failed before it could claim a schedule (a storage fault), the engine reported
/// the past-due slot as the alarm to re-arm, so the platform alarm fired again at once, and
/// again, for as long as the fault lasted (a hot loop; with a manual clock, forever).
#[test]
fn an_alarm_fault_is_retried_later_not_at_once() {
    let mut e = engine();
    assert!(call(
        &mut e,
        1_000,
        ctn().call("arm", vec![Value::from(2_000.0)])
    ));
    e.storage().fail_inside.set(true);
    let now = 3_000;
    let clock = move || now;
    let env = TurnEnv::new(&Nowhere, &clock);
    let mut run = e.alarm(&env);
    let _ = run.outputs_mut().take_outbox();
    assert!(run.fault().is_some(), "the claim should have failed");
    match run.outputs().alarm_change() {
        Some(Some(at)) => assert!(at > now, "re-armed at {at}, not after now ({now})"),
        other => panic!("the alarm must be re-armed (schedule x is pending), got {other:?}"),
    }
}

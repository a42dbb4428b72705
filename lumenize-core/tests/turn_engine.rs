//! The turn engine's contract, through its public API (`lumenize_core::turn`): what a turn
//! returns to its host when it commits, rolls back, panics or fails to commit, and what an
//! alarm run returns. The hosts (native runtime, Cloudflare, the simulator) rely on exactly
//! this. Mutant tests run with `--features sim-mutants`.

use lumenize_core::alarms::fire::FailureOutcome;
use lumenize_core::prelude::*;
use lumenize_core::storage::sqlite::SqliteStorage;
use lumenize_core::storage::{RowStats, Rows, StorageError, TxStorage};
use lumenize_core::transport::{id_from_name, Transport};
use lumenize_core::turn::{stateless_turn, Message, TurnEngine, TurnEnv};
use std::cell::Cell;
use std::rc::Rc;

const T0: i64 = 1_700_000_000_000;

struct Probe;

impl Probe {
    fn put(&mut self, ctx: &Ctx<'_>, key: String) -> Result<(), String> {
        ctx.kv()
            .put(&key, &Value::from(1.0))
            .map_err(|e| e.to_string())
    }
    fn put_then_fail(&mut self, ctx: &Ctx<'_>, key: String) -> Result<(), String> {
        self.send(ctx)?;
        self.put(ctx, key)?;
        Err("handler failed".into())
    }
    fn put_then_panic(&mut self, ctx: &Ctx<'_>, key: String) -> Result<(), String> {
        self.put(ctx, key)?;
        panic!("handler panicked");
    }
    fn send(&mut self, ctx: &Ctx<'_>) -> Result<(), String> {
        ctx.call(&Address::worker("W"), "ping", vec![], None)
            .map_err(|e| e.to_string())
    }
    fn arm(&mut self, ctx: &Ctx<'_>, at: f64, method: String) -> Result<String, String> {
        let s = ctx
            .alarms()
            .schedule(
                When::at_ms(at as i64),
                ctn().call(&method, vec![Value::from("fired")]),
            )
            .map_err(|e| e.to_string())?;
        Ok(s.id)
    }
    fn arm_send_then_fail(&mut self, ctx: &Ctx<'_>, at: f64) -> Result<(), String> {
        self.arm(ctx, at, "put".into())?;
        self.send(ctx)?;
        Err("handler failed after arming".into())
    }
    fn fail(&mut self, _ctx: &Ctx<'_>, _why: String) -> Result<(), String> {
        Err("schedule failed".into())
    }
    fn boom(&mut self, _ctx: &Ctx<'_>, _why: String) -> Result<(), String> {
        panic!("boom");
    }
    fn arm_many(&mut self, ctx: &Ctx<'_>, n: f64) -> Result<(), String> {
        for i in 0..n as i64 {
            ctx.alarms()
                .schedule(
                    When::at_ms(T0 + 10_000 + i),
                    ctn().call("put", vec![Value::from("fired")]),
                )
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }
    fn arm_cron(&mut self, ctx: &Ctx<'_>, expr: String) -> Result<(), String> {
        ctx.alarms()
            .schedule_with_id(
                "cron",
                expr.as_str(),
                ctn().call("put", vec![Value::from("ticked")]),
            )
            .map(drop)
            .map_err(|e| e.to_string())
    }
    fn cancel_then_fail(&mut self, ctx: &Ctx<'_>, id: String) -> Result<(), String> {
        ctx.alarms()
            .cancel_schedule(&id)
            .map_err(|e| e.to_string())?;
        Err("handler failed after cancelling".into())
    }

    fn sql(&mut self, ctx: &Ctx<'_>, batch: String) -> Result<(), String> {
        ctx.sql().exec_batch(&batch).map_err(|e| e.to_string())
    }
    /// Runs `batch`, ignores its error, then writes `key`: a handler that goes on (and
    /// succeeds) after its statement failed.
    fn sql_then_put(&mut self, ctx: &Ctx<'_>, batch: String, key: String) -> Result<(), String> {
        let _ = ctx.sql().exec_batch(&batch);
        let _ = self.put(ctx, key);
        Ok(())
    }
    /// Schedules `sql(batch)` at `at`.
    fn arm_sql(&mut self, ctx: &Ctx<'_>, at: f64, batch: String) -> Result<(), String> {
        ctx.alarms()
            .schedule(
                When::at_ms(at as i64),
                ctn().call("sql", vec![Value::from(batch)]),
            )
            .map(drop)
            .map_err(|e| e.to_string())
    }
    /// Sets the switch PRAGMA `name` to `on`, then fails.
    fn switch_then_fail(&mut self, ctx: &Ctx<'_>, name: String, on: bool) -> Result<(), String> {
        let sql = format!("PRAGMA {name} = {}", if on { "ON" } else { "OFF" });
        ctx.sql().exec(&sql, &[]).map_err(|e| e.to_string())?;
        Err("handler failed after a PRAGMA".into())
    }
    /// Records the switch `name` as the handler sees it, under the key `name`.
    fn record_switch(&mut self, ctx: &Ctx<'_>, name: String) -> Result<(), String> {
        let on = switch(ctx.sql(), &name);
        ctx.kv()
            .put(&name, &Value::Bool(on))
            .map_err(|e| e.to_string())
    }
    /// Arms a schedule at `at`, then runs `batch`: fails with its error, or (`swallow`) goes
    /// on as `sql_then_put` with the key `after`.
    fn arm_then_sql(
        &mut self,
        ctx: &Ctx<'_>,
        at: f64,
        batch: String,
        swallow: bool,
    ) -> Result<(), String> {
        self.arm(ctx, at, "put".into())?;
        if swallow {
            return self.sql_then_put(ctx, batch, "after".into());
        }
        self.sql(ctx, batch)
    }
}
lumenize_core::handlers!(Probe {
    put(key: String),
    put_then_fail(key: String),
    put_then_panic(key: String),
    send(),
    arm(at: f64, method: String),
    arm_send_then_fail(at: f64),
    fail(why: String),
    boom(why: String),
    cancel_then_fail(id: String),
    arm_many(n: f64),
    arm_cron(expr: String),
    sql(batch: String),
    sql_then_put(batch: String, key: String),
    arm_then_sql(at: f64, batch: String, swallow: bool),
    switch_then_fail(name: String, on: bool),
    arm_sql(at: f64, batch: String),
    record_switch(name: String),
});

/// The switch PRAGMAs a handler may set.
const SWITCHES: [&str; 6] = [
    "foreign_keys",
    "defer_foreign_keys",
    "case_sensitive_like",
    "ignore_check_constraints",
    "recursive_triggers",
    "reverse_unordered_selects",
];

/// Whether the switch `name` is on, as SQL sees it (`case_sensitive_like` cannot be read: its
/// effect is).
fn switch(sql: &dyn Storage, name: &str) -> bool {
    let q = if name == "case_sensitive_like" {
        "SELECT NOT ('a' LIKE 'A')".to_string()
    } else {
        format!("PRAGMA {name}")
    };
    let rows = sql.exec(&q, &[]).unwrap();
    rows.scalar().and_then(SqlValue::as_i64) == Some(1)
}

/// Knows every address (the engine only asks whether `call_raw` may queue).
struct Everywhere;
impl Transport for Everywhere {
    fn knows(&self, _: &Address) -> bool {
        true
    }
}

/// SQLite with faults on demand (each fires once): the next statement outside a transaction,
/// the next statement inside one, a COMMIT that fails (the body ran, nothing stays), or a
/// COMMIT that writes and then reports failure.
struct Faulty {
    inner: SqliteStorage,
    fail_outside: Cell<bool>,
    fail_inside: Cell<bool>,
    failing_commit: Cell<bool>,
    lying_commit: Cell<bool>,
    /// Transactions begun (a group is one).
    begun: Cell<u32>,
    /// Refuse savepoints (as a storage without them): a group runs one turn per message.
    no_savepoints: bool,
}

impl Faulty {
    fn new() -> Faulty {
        Faulty {
            inner: SqliteStorage::in_memory().unwrap(),
            fail_outside: Cell::new(false),
            fail_inside: Cell::new(false),
            failing_commit: Cell::new(false),
            lying_commit: Cell::new(false),
            begun: Cell::new(0),
            no_savepoints: false,
        }
    }
}

impl Storage for Faulty {
    fn exec(&self, sql: &str, params: &[SqlValue]) -> Result<Rows, StorageError> {
        let flag = if self.inner.in_transaction() {
            &self.fail_inside
        } else {
            &self.fail_outside
        };
        if flag.replace(false) {
            return Err(StorageError::new("injected I/O error", sql));
        }
        self.inner.exec(sql, params)
    }
    fn exec_batch(&self, sql: &str) -> Result<(), StorageError> {
        self.inner.exec_batch(sql)
    }
    fn stats(&self) -> RowStats {
        self.inner.stats()
    }
}

impl TxStorage for Faulty {
    fn transaction(&self, body: &mut dyn FnMut() -> bool) -> Result<bool, StorageError> {
        self.begun.set(self.begun.get() + 1);
        if self.failing_commit.replace(false) {
            self.inner.transaction(&mut || {
                body();
                false
            })?;
            return Err(StorageError::new("disk full", "COMMIT"));
        }
        let kept = self.inner.transaction(body)?;
        if kept && self.lying_commit.replace(false) {
            return Err(StorageError::new("I/O error after the write", "COMMIT"));
        }
        Ok(kept)
    }
    fn has_savepoints(&self) -> bool {
        !self.no_savepoints
    }
    fn savepoint(&self, body: &mut dyn FnMut() -> bool) -> Result<bool, StorageError> {
        self.inner.savepoint(body)
    }
    fn rolled_back_by_statement(&self) -> bool {
        self.inner.rolled_back_by_statement()
    }
}

type Factory = Box<dyn Fn(&Ctx<'_>) -> Box<dyn Dispatch>>;

/// A factory that counts constructions and writes one row each time (rolled back with a
/// failed first turn).
fn counting_factory(built: &Rc<Cell<u32>>) -> Factory {
    let built = built.clone();
    Box::new(move |ctx| {
        built.set(built.get() + 1);
        let _ = ctx.kv().put("constructed", &Value::from(1.0));
        Box::new(Probe)
    })
}

fn open<S: TxStorage>(storage: S, built: &Rc<Cell<u32>>) -> TurnEngine<S, Factory> {
    let id = id_from_name("PROBE", "p");
    TurnEngine::open(storage, "PROBE", &id, Some("p"), counting_factory(built)).unwrap()
}

fn chain(method: &str, args: Vec<Value>) -> String {
    ctn().call(method, args).stringify().unwrap()
}

fn kv_has<S: TxStorage, F: lumenize_core::turn::Factory>(e: &TurnEngine<S, F>, key: &str) -> bool {
    lumenize_core::storage::Kv::new(e.storage())
        .get(key)
        .unwrap()
        .is_some()
}

/// The earliest stored schedule: what the engine's slot must equal between turns (and what a
/// restart arms).
fn mirror<S: TxStorage, F: lumenize_core::turn::Factory>(e: &TurnEngine<S, F>) -> Option<i64> {
    e.storage()
        .exec("SELECT min(time) FROM __lmz_alarms", &[])
        .unwrap()
        .scalar()
        .and_then(SqlValue::as_i64)
}

#[test]
fn a_committed_turn_returns_its_outbox_and_alarm_change_for_the_host_to_release() {
    let built = Rc::new(Cell::new(0));
    let mut e = open(SqliteStorage::in_memory().unwrap(), &built);
    assert_eq!(e.me(), &Address::object("PROBE", "p"));
    let now = || T0;
    let env = TurnEnv::new(&Everywhere, &now);

    let mut t = e.call(&env, &chain("send", vec![]));
    assert!(t.result().is_ok(), "{:?}", t.result());
    let out = t.outputs_mut().take_outbox();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].to, Address::worker("W"));
    assert_eq!(t.outputs().alarm_change(), None);
    assert_eq!((t.outputs().turns(), t.outputs().failed_turns()), (1, 0));

    let at = T0 + 5_000;
    let t = e.call(
        &env,
        &chain("arm", vec![Value::from(at as f64), "put".into()]),
    );
    assert!(t.result().is_ok(), "{:?}", t.result());
    assert_eq!(t.outputs().alarm_change(), Some(Some(at)));
    // The schedule row (the alarm time is derived from it: no mirror row).
    assert_eq!(
        t.outputs().rows().rows_written,
        1,
        "{:?}",
        t.outputs().rows()
    );
    // The schedule committed; the engine reports its time.
    assert_eq!((e.armed(), mirror(&e)), (Some(at), Some(at)));
    assert_eq!(built.get(), 1);
}

#[test]
fn a_failed_turn_rolls_back_and_returns_nothing_to_send() {
    let built = Rc::new(Cell::new(0));
    let mut e = open(SqliteStorage::in_memory().unwrap(), &built);
    let now = || T0;
    let env = TurnEnv::new(&Everywhere, &now);
    assert!(e
        .call(&env, &chain("put", vec!["a".into()]))
        .result()
        .is_ok());

    let t = e.call(&env, &chain("put_then_fail", vec!["b".into()]));
    assert!(t.result().is_err());
    assert!(t.outputs().outbox().is_empty());
    assert_eq!((t.outputs().turns(), t.outputs().failed_turns()), (1, 1));
    assert!(kv_has(&e, "a") && !kv_has(&e, "b"));

    let at = T0 + 1_000;
    let t = e.call(
        &env,
        &chain("arm_send_then_fail", vec![Value::from(at as f64)]),
    );
    assert!(t.result().is_err());
    assert!(t.outputs().outbox().is_empty());
    assert_eq!(t.outputs().alarm_change(), None);
    assert_eq!((e.armed(), mirror(&e)), (None, None));
    // An instance that survived its constructor turn is kept across failures.
    assert_eq!(built.get(), 1);
}

#[test]
fn a_failed_commit_is_a_failed_turn_and_the_slot_rereads_what_committed() {
    let built = Rc::new(Cell::new(0));
    let mut e = open(Faulty::new(), &built);
    let now = || T0;
    let env = TurnEnv::new(&Everywhere, &now);
    assert!(e
        .call(&env, &chain("put", vec!["a".into()]))
        .result()
        .is_ok());

    e.storage().failing_commit.set(true);
    let at = T0 + 1_000;
    let t = e.call(
        &env,
        &chain("arm", vec![Value::from(at as f64), "put".into()]),
    );
    assert!(
        matches!(t.result(), Err(ChainError::Storage(m)) if m.contains("disk full")),
        "{:?}",
        t.result()
    );
    assert!(t.outputs().outbox().is_empty());
    assert_eq!(t.outputs().alarm_change(), None);
    assert_eq!((e.armed(), mirror(&e)), (None, None));

    // The next turn is whole again.
    let t = e.call(
        &env,
        &chain("arm", vec![Value::from(at as f64), "put".into()]),
    );
    assert!(t.result().is_ok(), "{:?}", t.result());
    assert_eq!(t.outputs().alarm_change(), Some(Some(at)));
}

#[test]
fn a_panic_or_a_failed_first_turn_builds_a_fresh_instance_next_turn() {
    let built = Rc::new(Cell::new(0));
    let mut e = open(SqliteStorage::in_memory().unwrap(), &built);
    let now = || T0;
    let env = TurnEnv::new(&Everywhere, &now);

    // The first turn fails: the constructor's write rolled back with it, so it runs again.
    assert!(e
        .call(&env, &chain("put_then_fail", vec!["x".into()]))
        .result()
        .is_err());
    assert!(!e.has_instance() && !kv_has(&e, "constructed"));
    assert!(e
        .call(&env, &chain("put", vec!["a".into()]))
        .result()
        .is_ok());
    assert_eq!(built.get(), 2);
    assert!(kv_has(&e, "constructed"));

    let t = e.call(&env, &chain("put_then_panic", vec!["p".into()]));
    assert!(t.panicked());
    assert!(
        matches!(t.result(), Err(ChainError::Panicked { message }) if message.contains("handler panicked"))
    );
    assert!(!kv_has(&e, "p") && !e.has_instance());
    assert!(e
        .call(&env, &chain("put", vec!["b".into()]))
        .result()
        .is_ok());
    assert_eq!(built.get(), 3);
}

#[test]
fn an_alarm_run_fires_due_schedules_records_failures_and_always_reports_the_slot() {
    let built = Rc::new(Cell::new(0));
    let mut e = open(SqliteStorage::in_memory().unwrap(), &built);
    let now = Cell::new(T0);
    let clock = || now.get();
    let env = TurnEnv::new(&Everywhere, &clock);
    let arm = |e: &mut TurnEngine<_, _>, at: i64, method: &str| {
        let t = e.call(
            &env,
            &chain("arm", vec![Value::from(at as f64), method.into()]),
        );
        text(t.result().as_ref().unwrap())
    };
    let ok = arm(&mut e, T0 + 100, "put");
    let bad = arm(&mut e, T0 + 200, "fail");
    let later = arm(&mut e, T0 + 60_000, "put");

    // Nothing due yet: the run does nothing, and still reports the slot to re-arm.
    let run = e.alarm(&env);
    assert!(run.ran().is_empty() && run.failures().is_empty());
    assert_eq!(run.outputs().alarm_change(), Some(Some(T0 + 100)));

    now.set(T0 + 1_000);
    let run = e.alarm(&env);
    assert_eq!(run.ran(), std::slice::from_ref(&ok));
    assert_eq!(run.failures().len(), 1);
    let f = &run.failures()[0];
    assert_eq!(f.id(), bad);
    assert!(f.error().contains("schedule failed"), "{}", f.error());
    let retry_at = T0 + 1_000 + 2_000;
    assert_eq!(
        f.recorded().as_ref().unwrap(),
        &FailureOutcome::Retry {
            attempt: 1,
            at: retry_at
        }
    );
    // Claim turn (ok), claim turn (rolled back), failure-recording turn.
    assert_eq!(
        (run.outputs().turns(), run.outputs().failed_turns()),
        (3, 1)
    );
    assert_eq!(run.outputs().alarm_change(), Some(Some(retry_at)));
    assert_eq!((e.armed(), mirror(&e)), (Some(retry_at), Some(retry_at)));
    assert!(kv_has(&e, "fired"));

    // The test hook ignores time; one step at a time is also possible.
    let step = e.fire_next(&env, true);
    assert_eq!(step.failures().len(), 1);
    // Retries 3..6 of `bad` come before `later` (backoff 8, 16, 32, 64 s).
    let run = e.trigger(&env, 5);
    assert_eq!(run.ran(), [later]);
    assert_eq!((run.failures().len(), run.exhausted()), (4, false));
    let run = e.trigger(&env, 5);
    assert_eq!(
        run.failures()[0].recorded().as_ref().unwrap(),
        &FailureOutcome::GaveUp { attempts: 7 }
    );
    assert!(run.exhausted());
    assert_eq!(run.outputs().alarm_change(), Some(None));
}

#[test]
fn reopening_after_a_crash_arms_from_what_committed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.sqlite");
    let built = Rc::new(Cell::new(0));
    let now = || T0;
    let env = TurnEnv::new(&Everywhere, &now);
    let at = T0 + 5_000;
    {
        let mut e = open(SqliteStorage::open(&path).unwrap(), &built);
        let mut t = e.call(
            &env,
            &chain("arm", vec![Value::from(at as f64), "put".into()]),
        );
        assert!(t.result().is_ok());
        // Crash after commit: the outputs are never released.
        let _ = t.outputs_mut().take_outbox();
    }
    let e = open(SqliteStorage::open(&path).unwrap(), &built);
    assert_eq!(e.armed(), Some(at));
}

#[test]
fn a_crash_keeps_only_what_committed_and_builds_a_fresh_instance() {
    let built = Rc::new(Cell::new(0));
    let mut e = open(SqliteStorage::in_memory().unwrap(), &built);
    let now = || T0;
    let env = TurnEnv::new(&Everywhere, &now);
    let at = T0 + 5_000;
    let t = e.call(
        &env,
        &chain("arm", vec![Value::from(at as f64), "put".into()]),
    );
    assert!(t.result().is_ok());
    // Crash between commit and re-arm: the outputs are dropped with the engine.
    drop(t);
    let mut e = open(e.into_storage(), &built);
    assert_eq!((e.armed(), e.has_instance()), (Some(at), false));
    assert!(e
        .call(&env, &chain("put", vec!["a".into()]))
        .result()
        .is_ok());
    assert_eq!(built.get(), 2);
}

#[test]
fn a_stateless_turn_releases_its_outbox_only_on_success() {
    let now = || T0;
    let env = TurnEnv::new(&Everywhere, &now);
    let factory = |_: &Ctx<'_>| -> Box<dyn Dispatch> { Box::new(Probe) };
    let me = Address::worker("PROBE_W");
    let run = |method: &str| {
        let c = ctn().call(method, vec!["k".into()]);
        stateless_turn(&env, me.clone(), &factory, |obj, ctx| {
            lumenize_core::ocan::execute_chain(obj, ctx, &ctn().call("send", vec![]))?;
            lumenize_core::ocan::execute_chain(obj, ctx, &c)
        })
    };
    // `put` fails here (a worker has no storage): the queued message is dropped.
    let t = run("put");
    assert!(t.result().is_err() && !t.panicked());
    assert!(t.outputs().outbox().is_empty());
    assert_eq!(t.outputs().failed_turns(), 1);
    let t = run("boom");
    assert!(t.panicked() && t.outputs().outbox().is_empty());
    let t = stateless_turn(&env, me.clone(), &factory, |obj, ctx| {
        lumenize_core::ocan::execute_chain(obj, ctx, &ctn().call("send", vec![]))
    });
    assert!(t.result().is_ok());
    assert_eq!(t.outputs().outbox().len(), 1);
}

/// Simulator finding 1 (seed 27): an alarm run whose claim hits a storage fault must not
/// re-arm the past-due slot (the platform alarm would fire again at once, a hot loop for as
/// long as the fault lasts); it re-arms after a backoff that grows while the faults go on.
#[test]
fn an_alarm_fault_before_any_claim_is_retried_after_a_backoff_not_at_once() {
    let built = Rc::new(Cell::new(0));
    let mut e = open(Faulty::new(), &built);
    let now = Cell::new(T0);
    let clock = || now.get();
    let env = TurnEnv::new(&Everywhere, &clock);
    let t = e.call(
        &env,
        &chain("arm", vec![Value::from((T0 + 100) as f64), "put".into()]),
    );
    assert!(t.result().is_ok());

    now.set(T0 + 1_000);
    let mut expected = T0 + 1_000;
    for secs in [2, 4, 8] {
        e.storage().fail_inside.set(true);
        let run = e.alarm(&env);
        assert!(run.fault().is_some() && run.ran().is_empty());
        expected += secs * 1_000;
        assert_eq!(run.retry_at(), Some(expected));
        assert_eq!(run.outputs().alarm_change(), Some(Some(expected)));
        // The slot itself still says what is pending (past due).
        assert_eq!((e.armed(), mirror(&e)), (Some(T0 + 100), Some(T0 + 100)));
        now.set(expected);
    }
    // Counting the due schedules fails too: still not at once (one step is taken).
    e.storage().fail_outside.set(true);
    e.storage().fail_inside.set(true);
    let run = e.alarm(&env);
    assert_eq!(run.retry_at(), Some(expected + 16_000));
    // The fault is over: the schedule runs, the backoff starts again from the first delay.
    let run = e.alarm(&env);
    assert_eq!((run.ran().len(), run.retry_at()), (1, None));
    assert_eq!(run.outputs().alarm_change(), Some(None));
    let t = e.call(
        &env,
        &chain("arm", vec![Value::from(T0 as f64), "put".into()]),
    );
    assert!(t.result().is_ok());
    e.storage().fail_inside.set(true);
    let step = e.fire_next(&env, false);
    assert_eq!(step.retry_at(), Some(expected + 2_000));
    assert_eq!(step.outputs().alarm_change(), Some(Some(expected + 2_000)));
}

/// Simulator finding 2 (seed 119 with `--reload-faults`): when the re-read of the alarm slot
/// after a rolled-back turn fails, the rolled-back change must not survive in memory; before
/// the fix the next committed turn flushed it, deleting the mirror row of a pending schedule.
/// (A clean rollback is now undone in memory and re-reads nothing: the re-read follows a
/// failed COMMIT, whose outcome only the table can tell.)
#[test]
fn a_failed_slot_reread_after_a_rollback_does_not_lose_the_alarm() {
    let built = Rc::new(Cell::new(0));
    let mut e = open(Faulty::new(), &built);
    let now = || T0;
    let env = TurnEnv::new(&Everywhere, &now);
    let at = T0 + 5_000;
    let t = e.call(
        &env,
        &chain("arm", vec![Value::from(at as f64), "put".into()]),
    );
    let id = text(t.result().as_ref().unwrap());
    assert_eq!((e.armed(), mirror(&e)), (Some(at), Some(at)));

    e.storage().failing_commit.set(true);
    e.storage().fail_outside.set(true);
    let t = e.call(&env, &chain("cancel_then_fail", vec![id.into()]));
    assert!(t.result().is_err());
    assert_eq!(t.outputs().alarm_faults(), 1);
    assert_eq!(
        e.armed(),
        Some(at),
        "in-memory slot after the failed re-read"
    );

    let t = e.call(&env, &chain("put", vec!["a".into()]));
    assert!(t.result().is_ok());
    assert_eq!(t.outputs().alarm_change(), None);
    assert_eq!((e.armed(), mirror(&e)), (Some(at), Some(at)));
}

/// A turn that schedules at `at` and whose COMMIT writes, then reports failure; the re-read of
/// the slot after it fails too. The turn fails.
fn arm_through_a_lying_commit_then_fail_the_reread(
    e: &mut TurnEngine<Faulty, Factory>,
    env: &TurnEnv<'_>,
    at: i64,
) -> lumenize_core::turn::Turn<String> {
    e.storage().lying_commit.set(true);
    e.storage().fail_outside.set(true);
    let t = e.call(
        env,
        &chain("arm", vec![Value::from(at as f64), "put".into()]),
    );
    assert!(t.result().is_err());
    t
}

/// A slot whose re-read failed is unknown: it is re-read inside the next turn's transaction
/// before anything can flush it (that turn fails if the re-read fails), and a committed value
/// the host was never told about (a COMMIT that wrote, then reported failure) is reported.
#[test]
fn a_slot_left_unknown_is_reread_in_the_next_turn_before_it_can_flush() {
    let built = Rc::new(Cell::new(0));
    let mut e = open(Faulty::new(), &built);
    let now = || T0;
    let env = TurnEnv::new(&Everywhere, &now);
    let at = T0 + 5_000;
    let t = arm_through_a_lying_commit_then_fail_the_reread(&mut e, &env, at);
    // Not the slot (unknown): a retry, 2 s later.
    let retry = Some(Some(T0 + 2_000));
    assert_eq!(t.outputs().alarm_change(), retry);
    assert_eq!(mirror(&e), Some(at), "the write did commit");

    // The re-read inside the next turn fails: that turn fails, nothing is flushed.
    e.storage().fail_inside.set(true);
    e.storage().fail_outside.set(true);
    let t = e.call(&env, &chain("put", vec!["a".into()]));
    assert!(t.result().is_err());
    assert!(!kv_has(&e, "a"));
    assert_eq!(t.outputs().alarm_change(), retry);
    assert_eq!(mirror(&e), Some(at));

    // The re-read succeeds: the host learns the committed alarm.
    let t = e.call(&env, &chain("put", vec!["b".into()]));
    assert!(t.result().is_ok(), "{:?}", t.result());
    assert_eq!(t.outputs().alarm_change(), Some(Some(at)));
    assert_eq!((e.armed(), mirror(&e)), (Some(at), Some(at)));
}

/// Found by the simulator's lying commits (seed 19): an alarm step's claim turn whose COMMIT
/// wrote and then reported failure had its schedule recorded as failed. But the continuation
/// had run and committed, and so had the cron's move to its next time: the failure record
/// backed the cron off to 2 s later, so it fired again before its next time (and a failure
/// was counted against a schedule that had not failed). An unknown commit outcome is a storage
/// fault: the step stops and retries after the backoff, and the retry finds what committed.
#[test]
fn a_fired_schedule_whose_commit_reports_failure_is_not_recorded_as_failed() {
    let built = Rc::new(Cell::new(0));
    let mut e = open(Faulty::new(), &built);
    let now = Cell::new(T0);
    let clock = || now.get();
    let env = TurnEnv::new(&Everywhere, &clock);
    const EVERY_5S: &str = "*/5 * * * * *";
    let t = e.call(&env, &chain("arm_cron", vec![EVERY_5S.into()]));
    assert!(t.result().is_ok(), "{:?}", t.result());
    let first = lumenize_core::alarms::next_cron_time(EVERY_5S, T0).unwrap();
    let next = lumenize_core::alarms::next_cron_time(EVERY_5S, first).unwrap();

    now.set(first);
    e.storage().lying_commit.set(true);
    let step = e.fire_next(&env, false);
    assert!(kv_has(&e, "ticked"), "the continuation committed");
    assert!(step.failures().is_empty(), "{:?}", step.failures());
    assert_eq!(mirror(&e), Some(next), "the cron moved to its next time");
    assert_eq!(e.armed(), Some(next));
    // Stopped at the fault; the retry is not before the cron's next time.
    let retry = step.retry_at().expect("a retry after the fault");
    assert!(step.fault().is_some());
    assert_eq!(step.outputs().alarm_change(), Some(Some(retry)));
    now.set(retry);
    let run = e.alarm(&env);
    assert!(run.ran().is_empty() && run.failures().is_empty());
    assert_eq!(run.outputs().alarm_change(), Some(Some(next)));
}

/// Found by the simulator's lying commits with `--reload-faults`: a COMMIT that wrote a
/// schedule, then reported failure, and the re-read of the slot after it failed. The slot
/// kept the value from before the turn (none), the host was told no change, so no alarm was
/// armed: the committed schedule fired only if another message reached the object first
/// (never, for a simple fetch whose executor call was in the lost outbox). The host is now
/// told to arm a retry, which re-reads the slot and re-arms it.
#[test]
fn a_schedule_committed_by_a_lying_commit_fires_even_if_the_slot_cannot_be_reread() {
    let built = Rc::new(Cell::new(0));
    let mut e = open(Faulty::new(), &built);
    let now = Cell::new(T0);
    let clock = || now.get();
    let env = TurnEnv::new(&Everywhere, &clock);
    let at = T0 + 5_000;
    let t = arm_through_a_lying_commit_then_fail_the_reread(&mut e, &env, at);
    assert_eq!(mirror(&e), Some(at), "the write did commit");
    assert!(!e.armed_is_known());
    // No other message comes: only the platform alarm can bring the object back.
    let Some(Some(retry)) = t.outputs().alarm_change() else {
        panic!("no alarm armed: {:?}", t.outputs().alarm_change());
    };
    assert!(retry <= at, "retry at {retry}, after the schedule at {at}");
    now.set(retry);
    let run = e.alarm(&env);
    assert!(e.armed_is_known());
    assert_eq!(run.outputs().alarm_change(), Some(Some(at)));
    now.set(at);
    let run = e.alarm(&env);
    assert_eq!(run.ran().len(), 1);
    assert!(kv_has(&e, "fired"));
}

fn ok_count(turns: &[lumenize_core::turn::Turn<Option<String>>]) -> Vec<bool> {
    turns.iter().map(|t| t.result().is_ok()).collect()
}

#[test]
fn a_group_is_one_transaction_and_a_failing_message_rolls_back_alone() {
    let built = Rc::new(Cell::new(0));
    let mut e = open(Faulty::new(), &built);
    let now = || T0;
    let env = TurnEnv::new(&Everywhere, &now);
    let texts = [
        chain("put", vec!["a".into()]),
        chain("put_then_fail", vec!["b".into()]),
        chain("send", vec![]),
        chain("put_then_panic", vec!["p".into()]),
        chain("put", vec!["c".into()]),
    ];
    let msgs: Vec<Message<'_>> = texts.iter().map(|t| Message::Call(t)).collect();
    let begun = e.storage().begun.get();
    let mut turns = e.group(&env, &msgs);
    assert_eq!(e.storage().begun.get() - begun, 1, "one transaction");
    assert_eq!(ok_count(&turns), [true, false, true, false, true]);
    assert!(matches!(
        turns[3].result(),
        Err(ChainError::Panicked { .. })
    ));
    assert!(turns[3].panicked() && !turns[1].panicked());
    // Replies: the call's encoded result; the failed ones have their own error.
    assert!(
        matches!(turns[0].result(), Ok(Some(_))),
        "a call replies with its encoded result"
    );
    assert!(matches!(turns[1].result(), Err(e) if e.to_string().contains("handler failed")));
    // Only the kept messages' outboxes: `put_then_fail` queued one before failing.
    let outs: Vec<usize> = turns
        .iter_mut()
        .map(|t| t.outputs_mut().take_outbox().len())
        .collect();
    assert_eq!(outs, [0, 0, 1, 0, 0]);
    let failed: u64 = turns.iter().map(|t| t.outputs().failed_turns()).sum();
    assert_eq!(failed, 2);
    assert!(kv_has(&e, "a") && kv_has(&e, "c") && kv_has(&e, "constructed"));
    assert!(!kv_has(&e, "b") && !kv_has(&e, "p"));
    // Built by the first message, rebuilt after the panic (the fourth), kept after.
    assert_eq!(built.get(), 2);
    assert!(e.has_instance());
}

/// A message whose handler succeeded but left a deferred foreign key unresolved is rolled back
/// alone (the group's COMMIT would refuse it), and its error says so.
#[test]
fn a_message_left_with_a_deferred_foreign_key_says_why_it_failed() {
    let built = Rc::new(Cell::new(0));
    let mut e = open(SqliteStorage::in_memory().unwrap(), &built);
    let now = || T0;
    let env = TurnEnv::new(&Everywhere, &now);
    let schema = chain(
        "sql",
        vec!["CREATE TABLE parent (id INTEGER PRIMARY KEY); CREATE TABLE child (p REFERENCES parent(id))".into()],
    );
    assert!(e.call(&env, &schema).result().is_ok());
    let texts = [
        chain("put", vec!["a".into()]),
        chain(
            "sql",
            vec!["PRAGMA defer_foreign_keys = ON; INSERT INTO child VALUES (99)".into()],
        ),
        chain("put", vec!["c".into()]),
    ];
    let msgs: Vec<Message<'_>> = texts.iter().map(|t| Message::Call(t)).collect();
    let turns = e.group(&env, &msgs);
    assert_eq!(ok_count(&turns), [true, false, true]);
    let why = turns[1].result().as_ref().unwrap_err().to_string();
    assert!(why.contains("deferred foreign key"), "{why}");
    assert!(kv_has(&e, "a") && kv_has(&e, "c"));
}

/// Tables on which a statement makes SQLite roll back the whole transaction, not just itself.
const ROLLBACK_SCHEMA: &str = "CREATE TABLE u (x UNIQUE); INSERT INTO u VALUES (1); \
     CREATE TABLE r (x UNIQUE ON CONFLICT ROLLBACK); INSERT INTO r VALUES (1); \
     CREATE TABLE trig (x); \
     CREATE TRIGGER no_insert BEFORE INSERT ON trig BEGIN SELECT RAISE(ROLLBACK, 'refused'); END;";

/// Each way a handler's statement makes SQLite roll back the transaction it runs in.
const ROLLS_BACK: [&str; 3] = [
    "INSERT OR ROLLBACK INTO u VALUES (1)",
    "INSERT INTO r VALUES (1)",
    "INSERT INTO trig VALUES (1)",
];

fn rollback_engine(built: &Rc<Cell<u32>>) -> TurnEngine<Faulty, Factory> {
    let mut e = open(Faulty::new(), built);
    let now = || T0;
    let env = TurnEnv::new(&Everywhere, &now);
    let t = e.call(&env, &chain("sql", vec![ROLLBACK_SCHEMA.into()]));
    assert!(t.result().is_ok(), "{:?}", t.result());
    e
}

/// One message whose statement makes SQLite roll back the whole transaction (`INSERT OR
/// ROLLBACK`, a column's `ON CONFLICT ROLLBACK`, `RAISE(ROLLBACK)` in a trigger), whether its
/// handler then fails or goes on: before the fix every message of its group failed and lost
/// its writes (one client could fail everyone's). Now it fails alone, with an error that says
/// why; the others, before and after it, run again in a fresh transaction and commit, each
/// outbox released once, the alarm slot equal to what committed.
#[test]
fn a_message_that_rolls_back_the_transaction_fails_alone_in_its_group() {
    for hostile in ROLLS_BACK {
        for swallow in [false, true] {
            let built = Rc::new(Cell::new(0));
            let mut e = rollback_engine(&built);
            let now = || T0;
            let env = TurnEnv::new(&Everywhere, &now);
            // It arms an early schedule first: that must not stay either.
            let culprit = chain(
                "arm_then_sql",
                vec![
                    Value::from((T0 + 10) as f64),
                    hostile.into(),
                    Value::Bool(swallow),
                ],
            );
            let texts = [
                chain("put", vec!["a".into()]),
                chain("arm", vec![Value::from((T0 + 5_000) as f64), "put".into()]),
                chain("send", vec![]),
                chain("arm", vec![Value::from((T0 + 1_000) as f64), "put".into()]),
                culprit,
                chain("put_then_fail", vec!["x".into()]),
                chain("put", vec!["c".into()]),
                chain("send", vec![]),
            ];
            let msgs: Vec<Message<'_>> = texts.iter().map(|t| Message::Call(t)).collect();
            let mut turns = e.group(&env, &msgs);
            let case = format!("{hostile} (swallowed: {swallow})");
            assert_eq!(
                ok_count(&turns),
                [true, true, true, true, false, false, true, true],
                "{case}: {:?}",
                turns
                    .iter()
                    .map(|t| t.result().as_ref().err().map(|e| e.to_string()))
                    .collect::<Vec<_>>()
            );
            let why = turns[4].result().as_ref().unwrap_err().to_string();
            assert!(
                why.contains("rolled back the whole transaction"),
                "{case}: {why}"
            );
            let outs: Vec<usize> = turns
                .iter_mut()
                .map(|t| t.outputs_mut().take_outbox().len())
                .collect();
            assert_eq!(outs, [0, 0, 1, 0, 0, 0, 0, 1], "{case}");
            assert!(kv_has(&e, "a") && kv_has(&e, "c"), "{case}");
            assert!(!kv_has(&e, "x") && !kv_has(&e, "after"), "{case}");
            let first = T0 + 1_000;
            assert_eq!(
                (e.armed(), mirror(&e)),
                (Some(first), Some(first)),
                "{case}"
            );
            let changes: Vec<_> = turns
                .iter()
                .filter_map(|t| t.outputs().alarm_change())
                .collect();
            assert_eq!(changes.last(), Some(&Some(first)), "{case}");
            // The instance saw writes that rolled back: built again for the second run.
            assert_eq!(built.get(), 2, "{case}");
            // Each run is a turn: the first run's five (the culprit's included) failed, charged
            // to the culprit; then the other seven ran again, of which `put_then_fail` failed
            // on its own.
            let count = |f: fn(&lumenize_core::turn::Outputs) -> u64| -> u64 {
                turns.iter().map(|t| f(t.outputs())).sum()
            };
            assert_eq!(
                (count(|o| o.turns()), count(|o| o.failed_turns())),
                (5 + 7, 5 + 1),
                "{case}"
            );
            let failed: Vec<u64> = turns.iter().map(|t| t.outputs().failed_turns()).collect();
            assert_eq!(failed, [0, 0, 0, 0, 5, 1, 0, 0], "{case}");
        }
    }
}

/// Every culprit is taken out, and the work stays bounded: a second culprit in the second run
/// makes the rest run one message per transaction, so a group of n messages costs at most
/// n + 2 transactions however many of its messages roll back.
#[test]
fn several_messages_that_roll_back_the_transaction_cost_bounded_work() {
    let built = Rc::new(Cell::new(0));
    let mut e = rollback_engine(&built);
    let now = || T0;
    let env = TurnEnv::new(&Everywhere, &now);
    let hostile = chain("sql", vec![ROLLS_BACK[0].into()]);
    let texts: Vec<String> = (0..8)
        .map(|i| {
            if i % 2 == 1 {
                hostile.clone()
            } else {
                chain("put", vec![format!("k{i}").into()])
            }
        })
        .collect();
    let msgs: Vec<Message<'_>> = texts.iter().map(|t| Message::Call(t)).collect();
    let begun = e.storage().begun.get();
    let turns = e.group(&env, &msgs);
    assert_eq!(
        ok_count(&turns),
        [true, false, true, false, true, false, true, false]
    );
    for i in [0, 2, 4, 6] {
        assert!(kv_has(&e, &format!("k{i}")), "k{i}");
    }
    let tx = e.storage().begun.get() - begun;
    assert!(tx <= 8 + 2, "{tx} transactions for 8 messages");
}

/// A single turn whose statement rolled back its transaction, and whose handler went on and
/// succeeded: the turn fails with the reason (not as a COMMIT whose outcome is unknown), and
/// nothing of it stays.
#[test]
fn a_turn_whose_statement_rolled_it_back_fails_with_the_reason() {
    let built = Rc::new(Cell::new(0));
    let mut e = rollback_engine(&built);
    let now = || T0;
    let env = TurnEnv::new(&Everywhere, &now);
    let t = e.call(
        &env,
        &chain("sql_then_put", vec![ROLLS_BACK[2].into(), "after".into()]),
    );
    let why = t.result().as_ref().unwrap_err().to_string();
    assert!(why.contains("rolled back the whole transaction"), "{why}");
    assert!(!kv_has(&e, "after"));
    assert!(e
        .call(&env, &chain("put", vec!["next".into()]))
        .result()
        .is_ok());
    assert!(kv_has(&e, "next"));
}

/// A switch PRAGMA set by a message that then failed: before the fix it stayed set on the
/// connection, so a rolled-back turn had a lasting effect (later turns' triggers recursed,
/// their check constraints were ignored...). A message rolled back, alone in a single turn or
/// to its savepoint in a group, now also restores the switches it set.
#[test]
fn a_rolled_back_message_leaves_the_switch_pragmas_as_they_were() {
    for name in SWITCHES {
        let built = Rc::new(Cell::new(0));
        let mut e = open(SqliteStorage::in_memory().unwrap(), &built);
        let now = || T0;
        let env = TurnEnv::new(&Everywhere, &now);
        let before = switch(e.storage(), name);
        let set = chain("switch_then_fail", vec![name.into(), Value::Bool(!before)]);
        // A single turn.
        assert!(e.call(&env, &set).result().is_err());
        assert_eq!(
            switch(e.storage(), name),
            before,
            "{name} after a failed turn"
        );
        // In a group: the next message sees the switch as it was, and so does the next turn.
        let record = chain("record_switch", vec![name.into()]);
        let turns = e.group(&env, &[Message::Call(&set), Message::Call(&record)]);
        assert_eq!(ok_count(&turns), [false, true], "{name}");
        let seen = lumenize_core::storage::Kv::new(e.storage())
            .get(name)
            .unwrap();
        assert!(
            matches!(seen, Some(Value::Bool(b)) if b == before),
            "{name} in the same group: {seen:?}"
        );
        assert_eq!(switch(e.storage(), name), before, "{name} after the group");
    }
}

/// An alarm's continuation whose statement rolls back its transaction: its claim turn fails
/// (a known rollback, not a fault), and the failure is recorded in a second turn, so the
/// schedule backs off and is given up in time rather than retried as a storage fault forever.
/// (A guard: this held before the fix too, since the claim's `complete` is refused once the
/// transaction is gone.)
#[test]
fn an_alarm_whose_continuation_rolls_back_its_transaction_is_recorded_as_failed() {
    let built = Rc::new(Cell::new(0));
    let mut e = rollback_engine(&built);
    let now = || T0;
    let env = TurnEnv::new(&Everywhere, &now);
    let at = Value::from(T0 as f64);
    let t = e.call(&env, &chain("arm_sql", vec![at, ROLLS_BACK[1].into()]));
    assert!(t.result().is_ok(), "{:?}", t.result());
    let run = e.alarm(&env);
    assert!(run.ran().is_empty() && run.fault().is_none() && run.retry_at().is_none());
    assert_eq!(run.failures().len(), 1);
    assert!(run.failures()[0].recorded().is_ok());
    assert!(run.failures()[0]
        .error()
        .contains("rolled back the whole transaction"));
}

#[test]
fn a_group_whose_first_message_fails_rebuilds_the_instance_it_rolled_back() {
    let built = Rc::new(Cell::new(0));
    let mut e = open(SqliteStorage::in_memory().unwrap(), &built);
    let now = || T0;
    let env = TurnEnv::new(&Everywhere, &now);
    let (x, a) = (
        chain("put_then_fail", vec!["x".into()]),
        chain("put", vec!["a".into()]),
    );
    let turns = e.group(&env, &[Message::Call(&x), Message::Call(&a)]);
    assert_eq!(ok_count(&turns), [false, true]);
    assert_eq!(built.get(), 2);
    assert!(kv_has(&e, "constructed") && kv_has(&e, "a") && !kv_has(&e, "x"));
}

#[test]
fn a_failed_group_commit_fails_every_message_and_releases_nothing() {
    let built = Rc::new(Cell::new(0));
    let mut e = open(Faulty::new(), &built);
    let now = || T0;
    let env = TurnEnv::new(&Everywhere, &now);
    let at = T0 + 1_000;
    let texts = [
        chain("send", vec![]),
        chain("arm", vec![Value::from(at as f64), "put".into()]),
        chain("put_then_fail", vec!["b".into()]),
        chain("put", vec!["a".into()]),
    ];
    let msgs: Vec<Message<'_>> = texts.iter().map(|t| Message::Call(t)).collect();
    e.storage().failing_commit.set(true);
    let turns = e.group(&env, &msgs);
    assert_eq!(ok_count(&turns), [false; 4]);
    for (i, t) in turns.iter().enumerate() {
        assert!(t.outputs().outbox().is_empty(), "message {i}");
        assert_eq!(t.outputs().alarm_change(), None, "message {i}");
        assert_eq!(t.outputs().failed_turns(), 1);
        if i != 2 {
            assert!(matches!(t.result(), Err(ChainError::Storage(m)) if m.contains("disk full")));
        }
    }
    assert!(matches!(turns[2].result(), Err(e) if e.to_string().contains("handler failed")));
    assert_eq!((e.armed(), mirror(&e)), (None, None));
    assert!(!kv_has(&e, "a") && !kv_has(&e, "constructed"));
    // The instance built in the group rolled back with it.
    assert!(!e.has_instance());

    // A COMMIT that wrote, then failed: the slot re-reads it and the host is told.
    e.storage().lying_commit.set(true);
    let turns = e.group(&env, &msgs);
    assert_eq!(ok_count(&turns), [false; 4]);
    assert!(turns.iter().all(|t| t.outputs().outbox().is_empty()));
    assert_eq!(turns[3].outputs().alarm_change(), Some(Some(at)));
    assert_eq!((e.armed(), mirror(&e)), (Some(at), Some(at)));
}

#[test]
fn a_group_flushes_the_alarm_once_and_a_rolled_back_arming_or_cancel_does_not_count() {
    let built = Rc::new(Cell::new(0));
    let mut e = open(SqliteStorage::in_memory().unwrap(), &built);
    let now = Cell::new(T0);
    let clock = || now.get();
    let env = TurnEnv::new(&Everywhere, &clock);
    let (late, early) = (T0 + 5_000, T0 + 1_000);
    let arm = chain("arm", vec![Value::from(late as f64), "put".into()]);
    let fail = chain("arm_send_then_fail", vec![Value::from(early as f64)]);
    let turns = e.group(&env, &[Message::Call(&arm), Message::Call(&fail)]);
    assert_eq!(ok_count(&turns), [true, false]);
    let id = text(turns[0].result().as_ref().unwrap().as_deref().unwrap());
    // The change travels on the last message, and is the kept arming, not the undone one.
    assert_eq!(turns[0].outputs().alarm_change(), None);
    assert_eq!(turns[1].outputs().alarm_change(), Some(Some(late)));
    assert_eq!((e.armed(), mirror(&e)), (Some(late), Some(late)));

    // A cancel that rolls back leaves the schedule; one kept in the same group removes it.
    let undo = chain("cancel_then_fail", vec![id.as_str().into()]);
    let put = chain("put", vec!["k".into()]);
    let turns = e.group(&env, &[Message::Call(&undo), Message::Call(&put)]);
    assert_eq!(ok_count(&turns), [false, true]);
    assert_eq!(turns[1].outputs().alarm_change(), None);
    assert_eq!(e.armed(), Some(late));
    now.set(late);
    let run = e.alarm(&env);
    assert_eq!(run.ran(), [id]);
    assert_eq!((e.armed(), mirror(&e)), (None, None));
}

#[test]
fn without_savepoints_a_group_is_one_turn_per_message() {
    let built = Rc::new(Cell::new(0));
    let mut storage = Faulty::new();
    storage.no_savepoints = true;
    let mut e = open(storage, &built);
    let now = || T0;
    let env = TurnEnv::new(&Everywhere, &now);
    let (x, a) = (
        chain("put_then_fail", vec!["x".into()]),
        chain("send", vec![]),
    );
    let begun = e.storage().begun.get();
    let mut turns = e.group(&env, &[Message::Call(&x), Message::Call(&a)]);
    assert_eq!(e.storage().begun.get() - begun, 2);
    assert_eq!(ok_count(&turns), [false, true]);
    assert_eq!(turns[1].outputs_mut().take_outbox().len(), 1);
}

fn text(v: &str) -> String {
    match lumenize_core::structured_clone::parse(v).unwrap() {
        Value::String(s) => s.to_string(),
        other => panic!("not a string: {other:?}"),
    }
}

#[cfg(feature = "sim-mutants")]
mod mutants {
    use super::*;
    use lumenize_core::turn::{select_mutant, Mutant};

    /// Selects `m` for the closure only (the selection is per thread).
    fn with<R>(m: Mutant, f: impl FnOnce() -> R) -> R {
        select_mutant(Some(m));
        let out = f();
        select_mutant(None);
        out
    }

    #[test]
    fn outbox_before_commit_releases_a_rolled_back_outbox() {
        let built = Rc::new(Cell::new(0));
        let mut e = open(SqliteStorage::in_memory().unwrap(), &built);
        let now = || T0;
        let env = TurnEnv::new(&Everywhere, &now);
        let c = chain("put_then_fail", vec!["b".into()]);
        assert!(e.call(&env, &c).outputs().outbox().is_empty());
        let t = with(Mutant::OutboxBeforeCommit, || e.call(&env, &c));
        assert!(t.result().is_err());
        assert_eq!(t.outputs().outbox().len(), 1);
    }

    #[test]
    fn stale_alarm_slot_keeps_an_arming_that_rolled_back() {
        let built = Rc::new(Cell::new(0));
        let mut e = open(SqliteStorage::in_memory().unwrap(), &built);
        let now = || T0;
        let env = TurnEnv::new(&Everywhere, &now);
        let c = chain("arm_send_then_fail", vec![Value::from((T0 + 1_000) as f64)]);
        let _ = e.call(&env, &c);
        assert_eq!(e.armed(), None);
        let _ = with(Mutant::StaleAlarmSlot, || e.call(&env, &c));
        assert_eq!(e.armed(), Some(T0 + 1_000));
        assert_eq!(mirror(&e), None);
    }

    #[test]
    fn double_continuation_fires_a_schedule_twice() {
        let built = Rc::new(Cell::new(0));
        let mut e = open(SqliteStorage::in_memory().unwrap(), &built);
        let now = || T0 + 10_000;
        let env = TurnEnv::new(&Everywhere, &now);
        let arm = chain("arm", vec![Value::from(T0 as f64), "put".into()]);
        let _ = e.call(&env, &arm);
        let run = e.alarm(&env);
        assert_eq!(run.ran().len(), 1);
        assert!(e.alarm(&env).ran().is_empty());

        let _ = e.call(&env, &arm);
        let first = with(Mutant::DoubleContinuation, || e.alarm(&env));
        let second = e.alarm(&env);
        assert_eq!((first.ran().len(), second.ran().len()), (1, 1));
        assert_eq!(first.ran(), second.ran());
    }

    #[test]
    fn failed_commit_rewinds_forgets_what_a_lying_commit_wrote() {
        let built = Rc::new(Cell::new(0));
        let mut e = open(Faulty::new(), &built);
        let now = || T0;
        let env = TurnEnv::new(&Everywhere, &now);
        let at = T0 + 1_000;
        let c = chain("arm", vec![Value::from(at as f64), "put".into()]);
        e.storage().lying_commit.set(true);
        let t = with(Mutant::FailedCommitRewinds, || e.call(&env, &c));
        assert!(t.result().is_err());
        assert_eq!((e.armed(), mirror(&e)), (None, Some(at)));
        // The real rule re-reads what the lying COMMIT wrote.
        e.storage().lying_commit.set(true);
        let t = e.call(&env, &c);
        assert!(t.result().is_err());
        assert_eq!((e.armed(), mirror(&e)), (Some(at), Some(at)));
    }

    #[test]
    fn failure_after_unknown_commit_backs_off_a_cron_that_ran() {
        let built = Rc::new(Cell::new(0));
        let mut e = open(Faulty::new(), &built);
        let now = Cell::new(T0);
        let clock = || now.get();
        let env = TurnEnv::new(&Everywhere, &clock);
        let _ = e.call(&env, &chain("arm_cron", vec!["*/5 * * * * *".into()]));
        now.set(T0 + 5_000);
        e.storage().lying_commit.set(true);
        let step = with(Mutant::FailureAfterUnknownCommit, || {
            e.fire_next(&env, false)
        });
        assert_eq!(step.failures().len(), 1);
        assert_eq!(
            mirror(&e),
            Some(T0 + 7_000),
            "backed off before its next time"
        );
    }

    #[test]
    fn statement_rollback_fails_group_fails_the_innocent_messages() {
        let built = Rc::new(Cell::new(0));
        let mut e = rollback_engine(&built);
        let now = || T0;
        let env = TurnEnv::new(&Everywhere, &now);
        let (a, h) = (
            chain("put", vec!["a".into()]),
            chain("sql", vec![ROLLS_BACK[0].into()]),
        );
        let msgs = [Message::Call(&a), Message::Call(&h), Message::Call(&a)];
        let turns = with(Mutant::StatementRollbackFailsGroup, || e.group(&env, &msgs));
        assert_eq!(ok_count(&turns), [false; 3]);
        assert!(!kv_has(&e, "a"));
        assert_eq!(ok_count(&e.group(&env, &msgs)), [true, false, true]);
        assert!(kv_has(&e, "a"));
    }

    #[test]
    fn group_outputs_before_commit_releases_a_failed_groups_outboxes() {
        let built = Rc::new(Cell::new(0));
        let mut e = open(Faulty::new(), &built);
        let now = || T0;
        let env = TurnEnv::new(&Everywhere, &now);
        let (s, p) = (chain("send", vec![]), chain("put", vec!["a".into()]));
        let msgs = [Message::Call(&s), Message::Call(&p)];
        e.storage().failing_commit.set(true);
        assert!(e.group(&env, &msgs)[0].outputs().outbox().is_empty());
        e.storage().failing_commit.set(true);
        let turns = with(Mutant::GroupOutputsBeforeCommit, || e.group(&env, &msgs));
        assert!(turns[0].result().is_err());
        assert_eq!(turns[0].outputs().outbox().len(), 1);
    }

    /// A body that queues the effect `n` (`Ctx::after_commit`), then runs `sql` if given.
    fn effect_then(
        n: u32,
        sql: Option<&'static str>,
    ) -> impl FnMut(&mut dyn Dispatch, &Ctx<'_>) -> Result<(), ChainError> {
        move |_, ctx| {
            ctx.after_commit(lumenize_core::context::Effect::new(n));
            match sql {
                Some(sql) => ctx
                    .sql()
                    .exec(sql, &[])
                    .map(drop)
                    .map_err(|e| ChainError::handler(e.to_string())),
                None => Ok(()),
            }
        }
    }

    /// Each turn's effects, as the numbers `effect_then` queued.
    fn effects<R>(turns: Vec<lumenize_core::turn::Turn<R>>) -> Vec<Vec<u32>> {
        turns
            .into_iter()
            .map(|t| {
                let (_, mut out) = t.into_parts();
                let effects = out.take_effects().into_iter();
                effects.map(|e| e.downcast::<u32>().unwrap()).collect()
            })
            .collect()
    }

    #[test]
    fn effects_of_rolled_back_turn_releases_a_failed_turns_effects() {
        let built = Rc::new(Cell::new(0));
        let mut e = open(Faulty::new(), &built);
        let now = || T0;
        let env = TurnEnv::new(&Everywhere, &now);
        let failing = Some("INSERT INTO no_such_table VALUES (1)");
        assert_eq!(
            effects(vec![e.turn(&env, effect_then(1, failing))]),
            [Vec::<u32>::new()]
        );
        let t = with(Mutant::EffectsOfRolledBackTurn, || {
            e.turn(&env, effect_then(1, failing))
        });
        assert!(t.result().is_err());
        assert_eq!(effects(vec![t]), [vec![1]]);
        // A message of a group that rolls back to its savepoint.
        let bodies = || vec![effect_then(1, None), effect_then(2, failing)];
        assert_eq!(effects(e.group_with(&env, bodies())), [vec![1], vec![]]);
        let turns = with(Mutant::EffectsOfRolledBackTurn, || {
            e.group_with(&env, bodies())
        });
        assert_eq!(effects(turns), [vec![1], vec![2]]);
    }

    #[test]
    fn rerun_releases_spoiled_effects_releases_an_innocent_messages_effect_twice() {
        let built = Rc::new(Cell::new(0));
        let mut e = rollback_engine(&built);
        let now = || T0;
        let env = TurnEnv::new(&Everywhere, &now);
        // The second message rolls the whole transaction back: the first runs again.
        let bodies = || {
            vec![
                effect_then(1, None),
                effect_then(2, Some(ROLLS_BACK[0])),
                effect_then(3, None),
            ]
        };
        let expected: [Vec<u32>; 3] = [vec![1], vec![], vec![3]];
        assert_eq!(effects(e.group_with(&env, bodies())), expected);
        let turns = with(Mutant::RerunReleasesSpoiledEffects, || {
            e.group_with(&env, bodies())
        });
        assert_eq!(effects(turns), [vec![1, 1], vec![], vec![3]]);
    }
}

/// A message that fails costs what it did, not what the object holds: rolling back its
/// schedule changes (in a single turn, or to its savepoint in a group) reads no row of the
/// pending schedules, however many there are. (A re-read of the whole table per failed
/// message let any caller who can make a handler fail cost the object time linear in its
/// pending schedules.)
#[test]
fn a_failed_message_costs_no_scan_of_the_pending_schedules() {
    let built = Rc::new(Cell::new(0));
    let mut e = open(SqliteStorage::in_memory().unwrap(), &built);
    let now = || T0;
    let env = TurnEnv::new(&Everywhere, &now);
    let pending = 2_000;
    let t = e.call(&env, &chain("arm_many", vec![Value::from(pending as f64)]));
    assert!(t.result().is_ok(), "{:?}", t.result());
    let first = T0 + 10_000;
    assert_eq!((e.armed(), mirror(&e)), (Some(first), Some(first)));

    // A single turn that arms an earlier schedule, then fails.
    let t = e.call(
        &env,
        &chain("arm_send_then_fail", vec![Value::from((T0 + 1) as f64)]),
    );
    assert!(t.result().is_err());
    assert!(
        t.outputs().rows().rows_read < 10,
        "a failed turn read {} rows",
        t.outputs().rows().rows_read
    );
    assert_eq!(t.outputs().alarm_change(), None);
    assert_eq!((e.armed(), mirror(&e)), (Some(first), Some(first)));

    // In a group: the failing message rolls back to its savepoint, the others commit.
    let fail = chain("arm_send_then_fail", vec![Value::from((T0 + 2) as f64)]);
    let put = chain("put", vec!["k".into()]);
    let turns = e.group(&env, &[Message::Call(&fail), Message::Call(&put)]);
    assert_eq!(ok_count(&turns), [false, true]);
    let read: u64 = turns.iter().map(|t| t.outputs().rows().rows_read).sum();
    assert!(read < 10, "a group with a failed message read {read} rows");
    assert_eq!((e.armed(), mirror(&e)), (Some(first), Some(first)));

    // The undone changes are really undone: the earliest schedule still fires first, and a
    // cancel that rolls back leaves its schedule pending.
    let id = e
        .storage()
        .exec("SELECT id FROM __lmz_alarms ORDER BY time LIMIT 1", &[])
        .unwrap()
        .scalar()
        .and_then(SqlValue::as_str)
        .map(str::to_string)
        .unwrap();
    let t = e.call(&env, &chain("cancel_then_fail", vec![id.as_str().into()]));
    assert!(t.result().is_err());
    assert!(t.outputs().rows().rows_read < 10);
    assert_eq!((e.armed(), mirror(&e)), (Some(first), Some(first)));
}

//! Poison schedules (issue 14, item 1): a schedule whose continuation cannot be read back must
//! neither block the object's later schedules nor make the host fire again and again. Writers
//! refuse such continuations; rows written before that (by an older version, simulated with
//! raw SQL) are recorded as failed and removed the first time they come up.
//!
//! Driven by a manual clock and `trigger_alarms`; alarm invocations are counted from the
//! runtime's accounting, never timed.

mod common;

use common::*;
use lumenize_core::alarms::{fire::failures, When};
use lumenize_core::clock::ManualClock;
use lumenize_core::fetch::{self, FetchOptions};
use lumenize_core::ocan::{result_marker, OperationChain};
use lumenize_core::prelude::*;
use lumenize_core::runtime::Stub;
use lumenize_core::structured_clone;
use std::sync::Arc;
use std::time::Duration;

const SETTLE: Duration = Duration::from_secs(10);

/// File-backed objects (in a fresh directory, kept alive by the returned guard): rows an older
/// version wrote are planted through a second connection to the object's file, since a
/// handler's SQL may not write the runtime's tables.
fn runtime() -> (Runtime, Arc<ManualClock>, tempfile::TempDir) {
    let clock = ManualClock::new(T0);
    let dir = tempfile::tempdir().unwrap();
    (runtime_in(&dir, &clock), clock, dir)
}

/// A runtime over the objects stored in `dir`, on `clock`.
fn runtime_in(dir: &tempfile::TempDir, clock: &Arc<ManualClock>) -> Runtime {
    fetch::install(Runtime::builder())
        .data_dir(dir.path())
        .object("PROBE", Probe::new)
        .object("UNLISTED", |ctx| Unlisted(Probe::new(ctx)))
        .manual_clock(clock.clone())
        .build()
        .expect("runtime")
}

/// Wire texts an older writer stored without the reader's checks.
fn poison_texts() -> Vec<String> {
    let unchecked = |c: OperationChain| structured_clone::stringify(&c.to_value()).unwrap();
    let nested_too_long = ctn().call("m", vec![Value::Null; 101]).nested();
    vec![
        unchecked(ctn().call("bump", vec![Value::Null; 101])),
        unchecked(
            (0..51)
                .fold(ctn(), |c, i| c.get(format!("k{i}")))
                .apply(vec![]),
        ),
        unchecked(ctn().call("bump", vec![Value::array([nested_too_long])])),
        "not structured clone at all".to_string(),
    ]
}

/// Inserts a schedule row directly, as an older version would have written it: through a
/// second connection to the file of object `PROBE/a`, with no runtime running. Returns a fresh
/// runtime on the same directory and clock, which reads the row like any other: the object's
/// schedule order is rebuilt from the table when it opens, and the runtime arms for the
/// stored schedules when it starts.
fn insert_raw(
    rt: Runtime,
    dir: &tempfile::TempDir,
    clock: &Arc<ManualClock>,
    id: &str,
    chain: String,
    time: i64,
) -> (Runtime, Stub) {
    with_file(rt, dir, clock, |raw| {
        raw.execute(
            "INSERT INTO __lmz_alarms (id, operation_chain, type, time, delay_ms, cron, created_at, attempts) \
             VALUES (?1, ?2, 'scheduled', ?3, NULL, NULL, ?3, 0)",
            rusqlite::params![id, chain, time],
        )
        .map(drop)
    })
}

/// Runs `edit` on the file of object `PROBE/a` through a second connection, with the runtime
/// stopped, as an older version (with no authorizer) could have left it; returns a fresh
/// runtime on the same directory and clock.
fn with_file(
    rt: Runtime,
    dir: &tempfile::TempDir,
    clock: &Arc<ManualClock>,
    edit: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<()>,
) -> (Runtime, Stub) {
    rt.object("PROBE", "a").run(|_, _| Ok(())).unwrap(); // the object (and its file) exists
    rt.settle(SETTLE).unwrap();
    drop(rt);
    let files: Vec<_> = std::fs::read_dir(dir.path().join("PROBE"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|f| f.extension().is_some_and(|x| x == "sqlite"))
        .collect();
    assert_eq!(files.len(), 1, "one object per test: {files:?}");
    let raw = rusqlite::Connection::open(&files[0]).unwrap();
    raw.busy_timeout(SETTLE).unwrap();
    edit(&raw).unwrap();
    drop(raw);
    let rt = runtime_in(dir, clock);
    let p = rt.object("PROBE", "a");
    (rt, p)
}

fn count(p: &Stub, tag: &str) -> f64 {
    num(p.call_method("count", vec![tag.into()]).unwrap())
}

fn schedule_bump_at(p: &Stub, tag: &str, at: i64) -> String {
    let tag = tag.to_string();
    p.run(move |_, ctx| {
        ctx.alarms()
            .schedule(
                When::at_ms(at),
                ctn().call("bump", vec![tag.into(), 1.0.into()]),
            )
            .map(|s| s.id)
            .map_err(|e| ChainError::handler(e.to_string()))
    })
    .unwrap()
}

fn failure_ids(p: &Stub) -> Vec<(String, String)> {
    p.run(|_, ctx| {
        failures(ctx.sql())
            .map(|f| f.into_iter().map(|r| (r.id, r.error)).collect())
            .map_err(|e| ChainError::handler(e.to_string()))
    })
    .unwrap()
}

fn pending(p: &Stub) -> f64 {
    num(p.call_method("pending", vec![]).unwrap())
}

fn next_alarm(p: &Stub) -> Option<i64> {
    p.run(|_, ctx| Ok(ctx.alarms().next_alarm())).unwrap()
}

#[test]
fn unreadable_schedules_are_recorded_and_later_ones_still_fire() {
    let (mut rt, clock, dir) = runtime();
    let mut p = rt.object("PROBE", "a");
    let poisons = poison_texts();
    for (i, text) in poisons.iter().enumerate() {
        (rt, p) = insert_raw(
            rt,
            &dir,
            &clock,
            &format!("poison-{i}"),
            text.clone(),
            T0 - 10_000 + i as i64,
        );
    }
    // Not due yet, so the runtime's own timer leaves it to `trigger_alarms`.
    let good = schedule_bump_at(&p, "good", T0 + 1_000_000);
    // Bounded: at most 10 schedules in one call. Before the fix the first poison row failed
    // the claim, the turn rolled back, and nothing ever ran.
    let ran = p.trigger_alarms(10).unwrap();
    assert_eq!(ran, vec![good]);
    assert_eq!(count(&p, "good"), 1.0);
    let failed = failure_ids(&p);
    assert_eq!(failed.len(), poisons.len(), "{failed:?}");
    for (i, (id, error)) in failed.iter().enumerate() {
        assert_eq!(id, &format!("poison-{i}"));
        assert!(error.contains("unreadable schedule"), "{error}");
    }
    assert!(failed[0].1.contains("101 arguments"), "{}", failed[0].1);
    assert_eq!(pending(&p), 0.0);
    assert_eq!(next_alarm(&p), None);
    rt.settle(SETTLE).unwrap();
}

#[test]
fn the_idle_runtime_does_not_fire_again_and_again_for_a_poison_row() {
    let (rt, clock, dir) = runtime();
    // First the guard: with the old claim, this already fails (and the natural path below
    // would spin forever instead of failing).
    let (rt, p) = insert_raw(
        rt,
        &dir,
        &clock,
        "poison-early",
        poison_texts().remove(0),
        T0 - 1,
    );
    let first = schedule_bump_at(&p, "first", T0 + 1_000_000);
    assert_eq!(p.trigger_alarms(1).unwrap(), vec![first]);

    // Now the timer path: a poison row due just before a good schedule.
    let (rt, p) = insert_raw(
        rt,
        &dir,
        &clock,
        "poison-late",
        poison_texts().remove(1),
        T0 + 4_000,
    );
    schedule_bump_at(&p, "late", T0 + 5_000);
    assert_eq!(next_alarm(&p), Some(T0 + 4_000));
    let before = rt.accounting(p.address()).requests;
    clock.advance(5_000);
    rt.settle(SETTLE).unwrap();
    // Alarm invocations while settling: one (a spinning host makes a new one per pass).
    let invocations = rt.accounting(p.address()).requests - before;
    assert!(
        invocations <= 2,
        "{invocations} alarm invocations: the host fired again and again"
    );
    assert_eq!(count(&p, "late"), 1.0);
    assert_eq!(failure_ids(&p).len(), 2);
    assert_eq!(next_alarm(&p), None, "nothing left to arm");
}

#[test]
fn writers_refuse_what_the_reader_would_refuse() {
    let (rt, _clock, _dir) = runtime();
    let p = rt.object("PROBE", "a");
    let outcome = p
        .run(|_, ctx| {
            let too_many = ctn().call("bump", vec![Value::Null; 101]);
            let too_long = (0..51)
                .fold(ctn(), |c, i| c.get(format!("k{i}")))
                .apply(vec![]);
            let nested = ctn().call(
                "bump",
                vec![Value::object([(
                    "x",
                    ctn().call("m", vec![Value::Null; 101]).nested(),
                )])],
            );
            // No room for the result: 100 arguments and no `$result` marker.
            let full = ctn().call("bump", vec![Value::Null; 100]);
            let mut refused = Vec::new();
            for chain in [&too_many, &too_long, &nested] {
                refused.push(
                    ctx.alarms()
                        .schedule(When::at_ms(T0), chain.clone())
                        .is_err(),
                );
                refused.push(ctx.call_raw(ctx.me(), chain, None).is_err());
                refused.push(
                    ctx.call_raw(ctx.me(), &ctn().call("ping", vec![]), Some(chain))
                        .is_err(),
                );
            }
            refused.push(
                ctx.call_raw(ctx.me(), &ctn().call("ping", vec![]), Some(&full))
                    .is_err(),
            );
            let url = Value::from("http://127.0.0.1:9/x");
            for chain in [&too_many, &full] {
                let opts = FetchOptions::default();
                refused.push(fetch::proxy_fetch_simple(ctx, &url, chain, &opts).is_err());
                refused.push(fetch::proxy_fetch(ctx, &url, chain, &opts).is_err());
            }
            // The same continuation with its marker fits.
            let fits = ctn().call("bump", {
                let mut v = vec![Value::Null; 99];
                v.push(result_marker());
                v
            });
            let accepted = ctx
                .call_raw(ctx.me(), &ctn().call("ping", vec![]), Some(&fits))
                .is_ok();
            let queued = ctx.take_outbox().len();
            Ok((refused, accepted, queued, ctx.alarms().count().unwrap()))
        })
        .unwrap();
    let (refused, accepted, queued, stored) = outcome;
    assert!(
        refused.iter().all(|r| *r),
        "accepted by a writer: {refused:?}"
    );
    assert!(accepted);
    assert_eq!(queued, 1, "only the valid call was queued");
    assert_eq!(stored, 0, "nothing was scheduled");
}

/// The probe without its method list: schedules naming any method pass the method check, so
/// the chain limits alone decide what a writer accepts.
struct Unlisted(Probe);

impl Dispatch for Unlisted {
    fn type_name(&self) -> &'static str {
        "Unlisted"
    }

    fn dispatch(
        &mut self,
        ctx: &Ctx<'_>,
        method: &str,
        args: Vec<Value>,
    ) -> Result<Value, ChainError> {
        self.0.dispatch(ctx, method, args)
    }
}

/// A chain around the limits: `ops` operations, `args` arguments in its last call, and an
/// argument nested `depth` arrays deep (the codec refuses past 128 levels, envelope included).
fn chain_near_limits(ops: usize, args: usize, depth: usize) -> OperationChain {
    let mut deep = Value::from(1.0);
    for _ in 0..depth {
        deep = Value::array([deep]);
    }
    let mut last = vec![Value::Null; args.saturating_sub(1)];
    last.push(deep);
    (1..ops)
        .fold(ctn(), |c, i| c.get(format!("k{i}")))
        .apply(last)
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 48, ..Default::default() })]

    /// Every continuation `Alarms::schedule` stores, the firing side reads back.
    #[test]
    fn every_schedule_the_writer_accepts_the_reader_reads(
        ops in 48usize..=52,
        args in 98usize..=102,
        depth in 118usize..=130,
    ) {
        let (rt, _clock, _dir) = runtime();
        let p = rt.object("UNLISTED", "a");
        let (written, read) = p
            .run(move |_, ctx| {
                let chain = chain_near_limits(ops, args, depth);
                let written = ctx.alarms().schedule(When::at_ms(T0 + 1_000_000), chain);
                let read = match &written {
                    Ok(s) => Some(ctx.alarms().get_schedule(&s.id).map(|s| s.is_some())),
                    Err(_) => None,
                };
                Ok((written.is_ok(), read))
            })
            .unwrap();
        if written {
            proptest::prop_assert_eq!(read, Some(Ok(true)));
        }
        proptest::prop_assert_eq!(written, ops <= 50 && args <= 100 && depth <= 124);
    }
}

/// A trigger or index on a runtime table, left by a version without the authorizer's rules,
/// must not reach into the runtime's own writes: a trigger whose `RAISE(IGNORE)` skipped the
/// delete of a cancelled schedule let it fire although `cancel_schedule` had won, and a
/// unique index refused a second schedule at the same time. The object drops them when it
/// opens.
#[test]
fn hooks_an_older_version_left_on_the_runtime_tables_are_dropped() {
    let (rt, clock, dir) = runtime();
    let (rt, p) = with_file(rt, &dir, &clock, |raw| {
        raw.execute_batch(
            "CREATE TRIGGER keep BEFORE DELETE ON __lmz_alarms BEGIN SELECT RAISE(IGNORE); END;
             CREATE UNIQUE INDEX one_per_time ON __lmz_alarms (time);
             CREATE TABLE mine (a); CREATE INDEX mine_a ON mine (a);",
        )
    });
    let id = schedule_bump_at(&p, "cancelled", T0 + 5_000);
    // A second schedule at the same time (the unique index refused it).
    schedule_bump_at(&p, "same-time", T0 + 5_000);
    let cancelled = p
        .run(move |_, ctx| {
            ctx.alarms()
                .cancel_schedule(&id)
                .map(|s| s.is_some())
                .map_err(|e| ChainError::handler(e.to_string()))
        })
        .unwrap();
    assert!(cancelled, "the cancel won");
    // Restarted, the object rebuilds its schedules from the table.
    let (rt, p) = with_file(rt, &dir, &clock, |_| Ok(()));
    clock.advance(10_000);
    rt.settle(SETTLE).unwrap();
    assert_eq!(count(&p, "cancelled"), 0.0, "a cancelled schedule fired");
    assert_eq!(count(&p, "same-time"), 1.0);
    // The handler's own index on its own table stays.
    let kept = p
        .run(|_, ctx| {
            let rows = ctx
                .sql()
                .exec(
                    "SELECT name FROM sqlite_schema WHERE type = 'index' ORDER BY name",
                    &[],
                )
                .map_err(|e| ChainError::handler(e.to_string()))?;
            Ok(rows
                .rows
                .iter()
                .filter_map(|r| r[0].as_str().map(String::from))
                .collect::<Vec<_>>())
        })
        .unwrap();
    assert!(kept.contains(&"mine_a".to_string()), "{kept:?}");
    assert!(!kept.contains(&"one_per_time".to_string()), "{kept:?}");
    rt.settle(SETTLE).unwrap();
}

//! What the runtime counts, checked against independently known numbers: rows written per
//! statement (DDL and no-op statements count none), CPU of spawned async work, sub-millisecond
//! hop latency, and snapshot diffs.

use lumenize_core::clock::ManualClock;
use lumenize_core::prelude::*;
use lumenize_core::runtime::{Accounting, NativeExt, RuntimeError};
use lumenize_core::storage::sqlite::SqliteStorage;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SETTLE: Duration = Duration::from_secs(10);

/// Thread CPU time, measured by the test itself (not through the runtime).
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn written(s: &SqliteStorage) -> u64 {
    s.stats().rows_written
}

#[test]
fn ddl_and_no_op_statements_count_no_rows_written() {
    let s = SqliteStorage::in_memory().unwrap();
    s.exec("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)", &[])
        .unwrap();
    assert_eq!(written(&s), 0);
    s.exec("INSERT INTO t (v) VALUES ('a'), ('b'), ('c')", &[])
        .unwrap();
    assert_eq!(written(&s), 3);
    // Each of these changed nothing; `sqlite3_changes()` would still report 3 after them.
    s.exec(
        "CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY, v TEXT)",
        &[],
    )
    .unwrap();
    s.exec("CREATE INDEX IF NOT EXISTS t_v ON t (v)", &[])
        .unwrap();
    s.exec("UPDATE t SET v = 'z' WHERE k > 100", &[]).unwrap();
    s.exec("SELECT * FROM t", &[]).unwrap();
    assert_eq!(written(&s), 3);
    // Two rows, each with its new entry in the index on `v`: 4, as Cloudflare counts them.
    s.exec("UPDATE t SET v = 'x' WHERE k <= 2", &[]).unwrap();
    assert_eq!(written(&s), 7);
    // A delete counts its rows, not their index entries.
    s.exec("DELETE FROM t", &[]).unwrap();
    assert_eq!(written(&s), 10);
    s.exec(
        "CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY, v TEXT)",
        &[],
    )
    .unwrap();
    s.exec("DROP TABLE IF EXISTS missing", &[]).unwrap();
    assert_eq!(written(&s), 10);
}

/// Appends one row per call, after making sure its table exists (the orchestrator's pattern).
struct Journal;
impl Journal {
    fn append(&mut self, ctx: &Ctx<'_>, v: String) -> Result<(), String> {
        let sql = ctx.sql();
        sql.exec(
            "CREATE TABLE IF NOT EXISTS journal (seq INTEGER PRIMARY KEY, v TEXT)",
            &[],
        )
        .map_err(|e| e.to_string())?;
        sql.exec("INSERT INTO journal (v) VALUES (?1)", &[SqlValue::from(v)])
            .map_err(|e| e.to_string())?;
        Ok(())
    }
}
lumenize_core::handlers!(Journal { append(v: String) });

/// Spawns async work that burns at least `ms` of CPU over several polls and records, as it
/// measured itself, how much it burned.
struct Burner {
    burned: Arc<Mutex<Duration>>,
}
impl Burner {
    fn burn(&mut self, ctx: &Ctx<'_>, ms: u32) -> Result<(), String> {
        let ext = NativeExt::of(ctx).ok_or("not native")?;
        let burned = self.burned.clone();
        ext.spawn(async move {
            let per_poll = Duration::from_millis(u64::from(ms)) / 4;
            for _ in 0..4 {
                let t0 = thread_cpu();
                let mut x = 0u64;
                while thread_cpu() - t0 < per_poll {
                    x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
                }
                *burned.lock().unwrap() += thread_cpu() - t0;
                tokio::task::yield_now().await;
            }
        });
        Ok(())
    }
}
lumenize_core::handlers!(Burner { burn(ms: u32) });

fn runtime(burned: Arc<Mutex<Duration>>) -> (Runtime, Arc<ManualClock>) {
    let clock = ManualClock::new(1_700_000_000_000);
    let rt = Runtime::builder()
        .object("JOURNAL", |_| Journal)
        .worker("BURNER", move |_| Burner {
            burned: burned.clone(),
        })
        .manual_clock(clock.clone())
        .build()
        .unwrap();
    (rt, clock)
}

#[test]
fn ddl_before_a_write_in_every_turn_counts_only_the_write() {
    let (rt, _) = runtime(Arc::default());
    let j = rt.object("JOURNAL", "j");
    j.call_method("append", vec!["first".into()]).unwrap();
    for i in 0..5 {
        let before = rt.accounting(j.address());
        j.call_method("append", vec![format!("v{i}").into()])
            .unwrap();
        let d = rt.accounting(j.address()).since(&before);
        assert_eq!(
            (d.requests, d.rows_written),
            (1, 1),
            "call {i}: one request, one row: {d:?}"
        );
    }
}

#[test]
fn cpu_of_spawned_work_is_charged_to_the_spawner() {
    let burned = Arc::new(Mutex::new(Duration::ZERO));
    let (rt, _) = runtime(burned.clone());
    let w = rt.worker("BURNER");
    w.call_method("burn", vec![40.into()]).unwrap();
    rt.settle(SETTLE).unwrap();
    let burned = *burned.lock().unwrap();
    assert!(burned >= Duration::from_millis(40), "{burned:?}");
    let a = rt.accounting(w.address());
    assert_eq!(a.requests, 1);
    // The account holds the turn's CPU plus every poll of the spawned work.
    assert!(a.cpu >= burned, "charged {:?}, burned {burned:?}", a.cpu);
    assert!(a.cpu < burned * 2, "charged {:?}, burned {burned:?}", a.cpu);
}

#[test]
fn hop_latency_keeps_its_sub_millisecond_part() {
    let (rt, clock) = runtime(Arc::default());
    rt.set_hop_latency("__outside", "JOURNAL", Duration::from_micros(1_500));
    let j = rt.object("JOURNAL", "late");
    j.send(&ctn().call("append", vec!["x".into()])).unwrap();
    // 1.5 ms is not 1 ms: after 1 ms the message is still held.
    clock.advance(1);
    assert!(matches!(
        rt.settle(Duration::from_millis(300)),
        Err(RuntimeError::Timeout(_))
    ));
    assert_eq!(rt.accounting(j.address()).requests, 0);
    clock.advance(1);
    rt.settle(SETTLE).unwrap();
    assert_eq!(rt.accounting(j.address()).requests, 1);
}

#[test]
fn since_is_the_usage_between_two_snapshots() {
    let (rt, _) = runtime(Arc::default());
    let j = rt.object("JOURNAL", "snap");
    j.call_method("append", vec!["a".into()]).unwrap();
    let mid = rt.accounting(j.address());
    for v in ["b", "c"] {
        j.call_method("append", vec![v.into()]).unwrap();
    }
    let end = rt.accounting(j.address());
    let d = end.since(&mid);
    assert_eq!((d.requests, d.rows_written), (2, 2));
    assert_eq!(d.awake, end.awake - mid.awake);
    assert_eq!(mid.since(&end), Accounting::default(), "saturates");
}

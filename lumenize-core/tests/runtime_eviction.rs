//! Objects over a long life: idle objects close (hibernate) and reopen with their state, the
//! number of open objects stays under a cap, alarms of closed objects still fire, and a failed
//! open is retried instead of being remembered.

mod common;

use common::*;
use lumenize_core::clock::ManualClock;
use lumenize_core::prelude::*;
use lumenize_core::runtime::RuntimeBuilder;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const SETTLE: Duration = Duration::from_secs(60);
const CHILD_ENV: &str = "LMZ_EVICTION_CHILD";

/// A scratch directory, in memory when the system has one (10,000 SQLite files on a real
/// disk would make the suite slow for no benefit).
fn scratch() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(d) = tempfile::tempdir_in(shm) {
            return d;
        }
    }
    tempfile::tempdir().unwrap()
}

fn count(rt: &Runtime, name: &str, tag: &str) -> f64 {
    num(rt
        .object("PROBE", name)
        .call_method("count", vec![tag.into()])
        .unwrap())
}

/// Runs the test named `name` of this binary in a child process with `CHILD_ENV` set, and
/// fails if the child fails.
fn run_in_child(name: &str) {
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "child failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The child really ran the scenario (not zero tests by a typo in the name).
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("scenario done"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// 10,000 objects touched one after the other with only 256 file descriptors for the whole
/// process: every one answers, and schedules of objects closed long ago still fire.
#[test]
fn ten_thousand_objects_under_256_open_files_all_answer_and_their_alarms_fire() {
    if std::env::var_os(CHILD_ENV).is_none() {
        run_in_child("ten_thousand_objects_under_256_open_files_all_answer_and_their_alarms_fire");
        return;
    }
    let limit = libc::rlimit {
        rlim_cur: 256,
        rlim_max: 256,
    };
    // SAFETY: plain syscall on a valid struct.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);
    let dir = scratch();
    let clock = ManualClock::new(T0);
    let rt = Runtime::builder()
        .object("PROBE", Probe::new)
        .data_dir(dir.path())
        .manual_clock(clock.clone())
        .build()
        .expect("runtime");
    const N: usize = 10_000;
    const EVERY: usize = 100; // every 100th object schedules an alarm
                              // Many calls in flight at once (far more than may be open), so both runtime threads work.
    let bump = ctn()
        .call("bump", vec!["touched".into(), 1.0.into()])
        .stringify()
        .unwrap();
    let schedule = ctn()
        .call("schedule_bump", vec!["alarm".into(), 1_000.0.into()])
        .stringify()
        .unwrap();
    let handle = rt.tokio();
    for batch in (0..N).collect::<Vec<_>>().chunks(500) {
        let calls: Vec<_> = batch
            .iter()
            .map(|&i| {
                let p = rt.object("PROBE", &format!("o{i}"));
                let (bump, schedule) = (bump.clone(), schedule.clone());
                handle.spawn(async move {
                    let touched = p.call_async(bump).await?;
                    if i % EVERY == 0 {
                        p.call_async(schedule).await?;
                    }
                    Ok::<_, lumenize_core::runtime::RuntimeError>(touched)
                })
            })
            .collect();
        for (i, call) in batch.iter().zip(calls) {
            let wire = handle
                .block_on(call)
                .unwrap()
                .unwrap_or_else(|e| panic!("object {i}: {e}"));
            let v = lumenize_core::structured_clone::parse(&wire).unwrap();
            assert_eq!(num(v), 1.0, "object {i}");
        }
        // The default cap under this limit: an eighth of it.
        assert!(rt.open_objects() <= 32, "{} open", rt.open_objects());
    }
    clock.advance(1_000);
    rt.settle(SETTLE).unwrap();
    for i in (0..N).step_by(EVERY) {
        assert_eq!(count(&rt, &format!("o{i}"), "alarm"), 1.0, "object {i}");
    }
    // Every object still has its state (the first ones were closed long ago).
    assert_eq!(count(&rt, "o0", "touched"), 1.0);
    assert_eq!(count(&rt, "o1", "touched"), 1.0);
    println!("scenario done");
}

/// A failed open is not remembered: once the cause is gone, the next message opens the object.
#[test]
fn a_failed_open_is_retried_by_the_next_message() {
    let dir = scratch();
    let clock = ManualClock::new(T0);
    let rt = Runtime::builder()
        .object("PROBE", Probe::new)
        .data_dir(dir.path())
        .manual_clock(clock)
        .build()
        .expect("runtime");
    // A file where the binding's directory should be: opening any PROBE object fails.
    let blocker: PathBuf = dir.path().join("PROBE");
    std::fs::write(&blocker, b"not a directory").unwrap();
    let p = rt.object("PROBE", "a");
    let err = p
        .call_method("bump", vec!["x".into(), 1.0.into()])
        .unwrap_err();
    assert!(err.to_string().contains("PROBE"), "{err}");
    // The cause goes away: the next message succeeds.
    std::fs::remove_file(&blocker).unwrap();
    assert_eq!(
        num(p.call_method("bump", vec!["x".into(), 1.0.into()]).unwrap()),
        1.0
    );
}

/// An alarm that fires while its object cannot be opened is not lost: it is retried later.
#[test]
fn an_alarm_whose_object_cannot_open_is_retried() {
    let dir = scratch();
    {
        let clock = ManualClock::new(T0);
        let rt = Runtime::builder()
            .object("PROBE", Probe::new)
            .data_dir(dir.path())
            .manual_clock(clock)
            .build()
            .expect("runtime");
        rt.object("PROBE", "a")
            .call_method("schedule_bump", vec!["alarm".into(), 1_000.0.into()])
            .unwrap();
    }
    // Reopen: the stored alarm is armed, then the object's directory goes away.
    let clock = ManualClock::new(T0);
    let rt = Runtime::builder()
        .object("PROBE", Probe::new)
        .data_dir(dir.path())
        .manual_clock(clock.clone())
        .build()
        .expect("runtime");
    let real = dir.path().join("PROBE");
    let away = dir.path().join("PROBE.away");
    std::fs::rename(&real, &away).unwrap();
    std::fs::write(&real, b"not a directory").unwrap();
    clock.advance(1_000);
    rt.settle(SETTLE).unwrap();
    // The directory comes back; a minute later the alarm has run, exactly once.
    std::fs::remove_file(&real).unwrap();
    std::fs::rename(&away, &real).unwrap();
    clock.advance(60_000);
    rt.settle(SETTLE).unwrap();
    assert_eq!(count(&rt, "a", "alarm"), 1.0);
}

/// Counts its calls in memory and in SQLite: the first shows whether the instance was
/// rebuilt, the second that the state survived.
struct Memo {
    in_memory: u32,
}

impl Memo {
    fn hit(&mut self, ctx: &Ctx<'_>) -> Result<Vec<Value>, String> {
        self.in_memory += 1;
        let stored = ctx
            .kv()
            .get("hits")
            .map_err(err)?
            .and_then(|v| v.as_f64())
            .unwrap_or(0.0)
            + 1.0;
        ctx.kv().put("hits", &Value::from(stored)).map_err(err)?;
        Ok(vec![
            Value::from(self.in_memory as f64),
            Value::from(stored),
        ])
    }
}

/// Guards that hold objects awake across turns, by tag (as a pending direct fetch does).
static HELD: std::sync::Mutex<Vec<(String, lumenize_core::runtime::AwakeGuard)>> =
    std::sync::Mutex::new(Vec::new());

fn release(tag: &str) {
    HELD.lock().unwrap().retain(|(t, _)| t != tag);
}

impl Memo {
    fn hold(&mut self, ctx: &Ctx<'_>, tag: String) -> Result<(), String> {
        let ext = lumenize_core::runtime::NativeExt::of(ctx).ok_or("not native")?;
        HELD.lock().unwrap().push((tag, ext.hold_awake()));
        Ok(())
    }
}

lumenize_core::handlers!(Memo { hit(), hold(tag: String) });

fn memo_runtime(
    dir: Option<&Path>,
    build: impl FnOnce(RuntimeBuilder) -> RuntimeBuilder,
) -> (Runtime, std::sync::Arc<ManualClock>) {
    let clock = ManualClock::new(T0);
    let mut b = Runtime::builder()
        .object("MEMO", |_| Memo { in_memory: 0 })
        .manual_clock(clock.clone());
    if let Some(dir) = dir {
        b = b.data_dir(dir);
    }
    (build(b).build().expect("runtime"), clock)
}

/// (calls counted in memory, calls counted in SQLite)
fn hit(rt: &Runtime, name: &str) -> (f64, f64) {
    let v = rt.object("MEMO", name).call_method("hit", vec![]).unwrap();
    let items = match v.as_object().map(|o| o.borrow().clone()) {
        Some(lumenize_core::structured_clone::ObjectKind::Array(items)) => items,
        _ => panic!("not an array"),
    };
    (num(items[0].clone()), num(items[1].clone()))
}

#[test]
fn an_idle_object_hibernates_keeping_its_sql_state_but_not_its_fields() {
    let dir = scratch();
    let (rt, clock) = memo_runtime(Some(dir.path()), |b| {
        b.idle_timeout(Duration::from_secs(10))
    });
    assert_eq!(hit(&rt, "m"), (1.0, 1.0));
    clock.advance(9_999);
    assert_eq!(
        hit(&rt, "m"),
        (2.0, 2.0),
        "not idle long enough: still open"
    );
    clock.advance(10_000);
    assert_eq!(
        hit(&rt, "m"),
        (1.0, 3.0),
        "reopened: a new instance over the same database"
    );
}

#[test]
fn objects_in_memory_never_hibernate() {
    let (rt, clock) = memo_runtime(None, |b| b.idle_timeout(Duration::from_secs(1)));
    assert_eq!(hit(&rt, "m"), (1.0, 1.0));
    clock.advance(3_600_000);
    assert_eq!(
        hit(&rt, "m"),
        (2.0, 2.0),
        "closing would have lost everything"
    );
}

#[test]
fn open_objects_stay_under_the_cap_and_every_one_answers() {
    let dir = scratch();
    let (rt, _clock) = memo_runtime(Some(dir.path()), |b| b.max_open_objects(2));
    for round in 1..=3 {
        for i in 0..20 {
            let (_, stored) = hit(&rt, &format!("m{i}"));
            assert_eq!(stored, round as f64, "object {i}");
            assert!(rt.open_objects() <= 2, "{} open", rt.open_objects());
        }
    }
}

#[test]
fn an_alarm_reopens_its_closed_object() {
    let dir = scratch();
    let clock = ManualClock::new(T0);
    let rt = Runtime::builder()
        .object("PROBE", Probe::new)
        .data_dir(dir.path())
        .manual_clock(clock.clone())
        .max_open_objects(1)
        .build()
        .expect("runtime");
    rt.object("PROBE", "a")
        .call_method("schedule_bump", vec!["alarm".into(), 1_000.0.into()])
        .unwrap();
    // "b" needs the only slot: "a" closes.
    rt.object("PROBE", "b")
        .call_method("bump", vec!["x".into(), 1.0.into()])
        .unwrap();
    assert_eq!(rt.open_objects(), 1);
    clock.advance(1_000);
    rt.settle(SETTLE).unwrap();
    assert_eq!(count(&rt, "a", "alarm"), 1.0);
    assert_eq!(count(&rt, "b", "x"), 1.0);
}

#[test]
fn an_object_held_awake_does_not_hibernate_until_released() {
    let dir = scratch();
    let (rt, clock) = memo_runtime(Some(dir.path()), |b| {
        b.idle_timeout(Duration::from_secs(10))
    });
    assert_eq!(hit(&rt, "m"), (1.0, 1.0));
    rt.object("MEMO", "m")
        .call_method("hold", vec!["held-idle".into()])
        .unwrap();
    clock.advance(3_600_000);
    assert_eq!(hit(&rt, "m"), (2.0, 2.0), "held awake: still open");
    release("held-idle");
    clock.advance(10_000);
    assert_eq!(hit(&rt, "m"), (1.0, 3.0), "released, then idle: reopened");
}

#[test]
fn a_released_object_gives_its_slot_to_a_waiting_one() {
    let dir = scratch();
    let (rt, _clock) = memo_runtime(Some(dir.path()), |b| b.max_open_objects(1));
    rt.object("MEMO", "a")
        .call_method("hold", vec!["held-slot".into()])
        .unwrap();
    // "b" needs the only slot, held by an object that may not close: it waits, until the
    // release wakes "a" to close.
    rt.object("MEMO", "b")
        .send(&ctn().call("hit", vec![]))
        .unwrap();
    // Cannot finish whatever the timing (b has no slot); the bounded wait only gives both
    // tasks time to reach their waiting states, so that the release below is what must
    // wake "a" (without that wake-up, b would wait forever).
    assert!(rt.settle(Duration::from_millis(100)).is_err());
    assert_eq!(rt.open_objects(), 1);
    release("held-slot");
    rt.settle(SETTLE).unwrap();
    assert_eq!(hit(&rt, "b"), (2.0, 2.0), "b ran, and stayed open");
}

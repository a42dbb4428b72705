//! Runtime and alarms benchmarks, printed as a table (run with
//! `cargo bench -p lumenize-core --bench runtime`; `LMZ_BENCH_QUICK=1` for a smoke run).
//!
//! 1. schedule+cancel throughput vs raw rusqlite insert+delete on the same schema, same file;
//! 2. schedule+cancel cost with 1k vs 1M pending schedules (the next alarm from the index);
//! 3. firing 100k due schedules through the runtime (one transaction each);
//! 4. `call_raw` round trip between two objects (median, p99).

use lumenize_core::alarms::{init_schema, SlotState, SqlAlarmSlot, When};
use lumenize_core::clock::ManualClock;
use lumenize_core::context::{Ctx, CtxParts};
use lumenize_core::prelude::*;
use lumenize_core::storage::sqlite::SqliteStorage;
use lumenize_core::transport::Transport;
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

const T0: i64 = 1_700_000_000_000;

fn quick() -> bool {
    std::env::var_os("LMZ_BENCH_QUICK").is_some()
}

struct Anywhere;
impl Transport for Anywhere {
    fn knows(&self, _to: &Address) -> bool {
        true
    }
}

/// Runs `f` in one transaction with a context over `storage`.
fn turn<R>(storage: &SqliteStorage, slot: &SlotState, f: impl FnOnce(&Ctx<'_>) -> R) -> R {
    storage.begin().unwrap();
    let view = SqlAlarmSlot {
        state: slot,
        storage,
    };
    let ctx = Ctx::new(CtxParts {
        storage,
        slot: &view,
        transport: &Anywhere,
        now_ms: T0,
        me: Address::object("BENCH", "b"),
        ext: None,
    });
    let r = f(&ctx);
    slot.flush(storage).unwrap();
    storage.commit().unwrap();
    r
}

fn callback(i: usize) -> Continuation {
    ctn().call(
        "remind",
        vec![
            Value::from("user-1"),
            Value::from(i as f64),
            result_marker(),
        ],
    )
}

/// `pairs` schedule+cancel pairs, `per_tx` pairs per transaction. Returns pairs/s.
fn lumenize_pairs(
    storage: &SqliteStorage,
    slot: &SlotState,
    pairs: usize,
    per_tx: usize,
    decode: bool,
) -> f64 {
    let start = Instant::now();
    let mut done = 0;
    while done < pairs {
        let n = per_tx.min(pairs - done);
        turn(storage, slot, |ctx| {
            let a = ctx.alarms();
            for i in 0..n {
                let s = a
                    .schedule(When::DelayMs(60_000 + i as i64), callback(i))
                    .unwrap();
                let back = if decode {
                    a.cancel_schedule(&s.id).unwrap().is_some()
                } else {
                    a.cancel_schedule_raw(&s.id).unwrap().is_some()
                };
                assert!(back);
            }
        });
        done += n;
    }
    pairs as f64 / start.elapsed().as_secs_f64()
}

/// The raw equivalent: the same rows through prepared rusqlite statements, with the chain
/// pre-encoded once (`codec: false`) or encoded per insert and decoded per delete, as the
/// alarms layer must (`codec: true`).
fn raw_pairs(s: &SqliteStorage, pairs: usize, per_tx: usize, codec: bool) -> f64 {
    // The runtime's table: only the runtime's own statements (and the host's, here) write it.
    s.as_runtime(|| raw_pairs_as_runtime(s, pairs, per_tx, codec))
}

fn raw_pairs_as_runtime(s: &SqliteStorage, pairs: usize, per_tx: usize, codec: bool) -> f64 {
    // Transactions through the storage: its authorizer refuses raw `BEGIN`/`COMMIT`.
    let conn = s.connection();
    let fixed = callback(0).stringify().unwrap();
    let start = Instant::now();
    let mut done = 0;
    while done < pairs {
        let n = per_tx.min(pairs - done);
        s.begin().unwrap();
        {
            let mut ins = conn
                .prepare_cached(
                    "INSERT INTO __lmz_alarms (id, operation_chain, type, time, delay_ms, cron, created_at, attempts) VALUES (?1, ?2, 'delayed', ?3, 60000, NULL, ?4, 0)",
                )
                .unwrap();
            let mut del = conn
                .prepare_cached("DELETE FROM __lmz_alarms WHERE id = ?1")
                .unwrap();
            let mut sel = conn
                .prepare_cached("SELECT operation_chain FROM __lmz_alarms WHERE id = ?1")
                .unwrap();
            for i in 0..n {
                let id = format!("raw-{done}-{i}");
                let chain = if codec {
                    callback(i).stringify().unwrap()
                } else {
                    fixed.clone()
                };
                ins.execute(rusqlite::params![id, chain, T0 + 60_000 + i as i64, T0])
                    .unwrap();
                if codec {
                    let text: String = sel.query_row([&id], |r| r.get(0)).unwrap();
                    OperationChain::parse(&text).unwrap();
                }
                del.execute([&id]).unwrap();
            }
        }
        s.commit().unwrap();
        done += n;
    }
    pairs as f64 / start.elapsed().as_secs_f64()
}

fn fresh_db(dir: &std::path::Path, name: &str) -> (SqliteStorage, SlotState) {
    let s = SqliteStorage::open(&dir.join(name)).unwrap();
    init_schema(&s).unwrap();
    let slot = SlotState::load(&s).unwrap();
    (s, slot)
}

fn bench_throughput(dir: &std::path::Path) {
    println!("\n## 1. schedule+cancel vs raw rusqlite insert+delete (file-backed, WAL)\n");
    println!(
        "| pairs per transaction | pairs | lumenize pairs/s | ratio to raw | without decoding the cancelled chain | ratio | raw pairs/s | raw + same encode/decode pairs/s | lumenize ratio to it |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let plans: &[(usize, usize)] = if quick() {
        &[(1, 200), (1000, 5_000)]
    } else {
        &[(1, 5_000), (100, 50_000), (1000, 100_000)]
    };
    for &(per_tx, pairs) in plans {
        let (s, slot) = fresh_db(dir, &format!("tp-{per_tx}.sqlite"));
        // Warm both paths once (statement caches, file growth).
        lumenize_pairs(&s, &slot, per_tx.min(100), per_tx, true);
        raw_pairs(&s, per_tx.min(100), per_tx, false);
        let ours = lumenize_pairs(&s, &slot, pairs, per_tx, true);
        let undecoded = lumenize_pairs(&s, &slot, pairs, per_tx, false);
        let raw = raw_pairs(&s, pairs, per_tx, false);
        let raw_codec = raw_pairs(&s, pairs, per_tx, true);
        println!(
            "| {per_tx} | {pairs} | {ours:.0} | {:.2} | {undecoded:.0} | {:.2} | {raw:.0} | {raw_codec:.0} | {:.2} |",
            ours / raw,
            undecoded / raw,
            ours / raw_codec
        );
    }
}

fn bulk_pending(s: &SqliteStorage, n: usize) {
    let chain = callback(0).stringify().unwrap();
    let conn = s.connection();
    s.begin().unwrap();
    s.as_runtime(|| {
        let mut ins = conn
            .prepare("INSERT INTO __lmz_alarms (id, operation_chain, type, time, delay_ms, cron, created_at, attempts) VALUES (?1, ?2, 'scheduled', ?3, NULL, NULL, ?4, 0)")
            .unwrap();
        for i in 0..n {
            // Spread over the next ~11 days, all later than the schedules measured below.
            let t = T0 + 1_000_000 + (i as i64 * 7919) % 1_000_000_000;
            ins.execute(rusqlite::params![format!("bulk-{i:08}"), chain, t, T0])
                .unwrap();
        }
    });
    s.commit().unwrap();
    // No arming here: the caller's `SlotState::load` reads the order, and so the alarm time,
    // from these rows, as opening the object would.
}

fn bench_growth(dir: &std::path::Path) {
    println!("\n## 2. cost growth: schedule+cancel with N pending (100 pairs per transaction)\n");
    println!("| pending | earliest? | µs per schedule+cancel pair | next alarm after the run |");
    println!("|---|---|---|---|");
    let sizes: &[usize] = if quick() {
        &[1_000, 20_000]
    } else {
        &[1_000, 1_000_000]
    };
    for &n in sizes {
        let (s, _) = fresh_db(dir, &format!("growth-{n}.sqlite"));
        let setup = Instant::now();
        bulk_pending(&s, n);
        let slot = SlotState::load(&s).unwrap();
        eprintln!("(setup of {n} pending: {:.2?})", setup.elapsed());
        for earliest in [false, true] {
            let pairs = if quick() { 2_000 } else { 20_000 };
            let start = Instant::now();
            let mut done = 0;
            while done < pairs {
                turn(&s, &slot, |ctx| {
                    let a = ctx.alarms();
                    for i in 0..100 {
                        // Earliest: it becomes the armed schedule, so its cancel must find the
                        // next one (from the time index). Otherwise: somewhere in the middle.
                        let when = if earliest {
                            When::at_ms(T0 + 10 + i as i64)
                        } else {
                            When::at_ms(T0 + 500_000_000 + i as i64)
                        };
                        let sch = a.schedule(when, callback(i)).unwrap();
                        a.cancel_schedule(&sch.id).unwrap().unwrap();
                    }
                });
                done += 100;
            }
            let us = start.elapsed().as_secs_f64() * 1e6 / pairs as f64;
            println!(
                "| {n} | {earliest} | {us:.1} | {:?} |",
                slot.armed().map(|t| t - T0)
            );
        }
    }
}

#[derive(Default)]
struct Sink;
impl Sink {
    fn remind(&mut self, _ctx: &Ctx<'_>, _user: String, _i: f64, _r: Value) {}
}
lumenize_core::handlers!(Sink {
    remind(user: String, i: f64, r: Value)
});

fn bench_firing(dir: &std::path::Path) {
    let n = if quick() { 5_000 } else { 100_000 };
    println!("\n## 3. firing {n} due schedules (one transaction each, file-backed)\n");
    let clock = ManualClock::new(T0);
    let rt = Runtime::builder()
        .object("SINK", |_| Sink)
        .data_dir(dir.join("firing"))
        .manual_clock(clock.clone())
        .build()
        .unwrap();
    let stub = rt.object("SINK", "s");
    stub.run(move |_, ctx| {
        let a = ctx.alarms();
        for i in 0..n {
            a.schedule(When::at_ms(T0 + 1_000 + (i % 1000) as i64), callback(i))
                .map_err(|e| ChainError::handler(e.to_string()))?;
        }
        Ok(())
    })
    .unwrap();
    let start = Instant::now();
    clock.advance(10_000);
    rt.settle(Duration::from_secs(3600)).unwrap();
    let secs = start.elapsed().as_secs_f64();
    let left = stub
        .run(|_, ctx| Ok(ctx.alarms().count().unwrap()))
        .unwrap();
    assert_eq!(left, 0);
    println!("| schedules | seconds | schedules/s |");
    println!("|---|---|---|");
    println!("| {n} | {secs:.2} | {:.0} |", n as f64 / secs);
    let acc = rt.accounting(stub.address());
    println!(
        "\n(accounting: {} requests, {} rows written, {} rows read, awake {:.2?}, cpu {:.2?})",
        acc.requests, acc.rows_written, acc.rows_read, acc.awake, acc.cpu
    );
}

static DONE: OnceLock<Mutex<Option<mpsc::Sender<Instant>>>> = OnceLock::new();

struct Pinger;
impl Pinger {
    fn kick(&mut self, ctx: &Ctx<'_>) -> Result<(), String> {
        ctx.call(
            &Address::object("PONG", "b"),
            "pong",
            vec![],
            Some(&ctn().call("done", vec![result_marker()])),
        )
        .map_err(|e| e.to_string())
    }
    fn done(&mut self, _ctx: &Ctx<'_>, _r: Value) {
        let now = Instant::now();
        if let Some(tx) = DONE.get().and_then(|m| m.lock().ok()?.clone()) {
            let _ = tx.send(now);
        }
    }
}
lumenize_core::handlers!(Pinger { kick(), done(r: Value) });

struct Ponger;
impl Ponger {
    fn pong(&mut self, _ctx: &Ctx<'_>) -> f64 {
        1.0
    }
}
lumenize_core::handlers!(Ponger { pong() });

fn bench_round_trip(dir: &std::path::Path) {
    let n = if quick() { 500 } else { 10_000 };
    println!("\n## 4. call_raw round trip between two objects ({n} sequential, file-backed, no latency)\n");
    let (tx, rx) = mpsc::channel();
    *DONE.get_or_init(|| Mutex::new(None)).lock().unwrap() = Some(tx);
    let rt = Runtime::builder()
        .object("PING", |_| Pinger)
        .object("PONG", |_| Ponger)
        .data_dir(dir.join("rt"))
        .build()
        .unwrap();
    let a = rt.object("PING", "a");
    let kick = ctn().call("kick", vec![]);
    // Measured inside: from the moment A's `kick` turn is picked up is not observable from
    // outside, so measure A.kick sent → A.done ran (4 hops: outside→A, A→B, B→A, done).
    let mut samples = Vec::with_capacity(n);
    for i in 0..n + 200 {
        let start = Instant::now();
        a.send(&kick).unwrap();
        let end = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        if i >= 200 {
            samples.push(end.duration_since(start));
        }
    }
    samples.sort();
    let pct = |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)];
    println!("| median | p90 | p99 | max |");
    println!("|---|---|---|---|");
    println!(
        "| {:.1} µs | {:.1} µs | {:.1} µs | {:.1} µs |",
        pct(0.5).as_secs_f64() * 1e6,
        pct(0.9).as_secs_f64() * 1e6,
        pct(0.99).as_secs_f64() * 1e6,
        samples[samples.len() - 1].as_secs_f64() * 1e6
    );
}

fn main() {
    // `cargo bench` passes `--bench`; ignore arguments.
    let dir = tempfile::tempdir().unwrap();
    println!(
        "# lumenize-core runtime benchmarks{}",
        if quick() { " (quick)" } else { "" }
    );
    let only = std::env::var("LMZ_BENCH_ONLY").unwrap_or_default();
    let run = |name: &str| only.is_empty() || only.split(',').any(|o| o == name);
    if run("throughput") {
        bench_throughput(dir.path());
    }
    if run("growth") {
        bench_growth(dir.path());
    }
    if run("firing") {
        bench_firing(dir.path());
    }
    if run("roundtrip") {
        bench_round_trip(dir.path());
    }
}

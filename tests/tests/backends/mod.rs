//! One scenario suite, two backends: the reminders desk of `examples/reminders-worker` driven
//! the same way on the native runtime and inside a local `workerd`. Any behaviour that differs
//! between the backends fails here.
//!
//! Time is real on both sides (workerd's clock cannot be moved from outside), so the suite
//! keeps every wait short and never sleeps for a fixed time: it either forces schedules with
//! `trigger` (the backends' `trigger_alarms`), or polls a condition until a deadline, and a
//! missed deadline fails with what was last seen.

use std::time::{Duration, Instant};

use lumenize_core::ocan::FromValue;
use lumenize_core::structured_clone::Value;

/// What the suite needs from a backend.
pub trait Backend {
    /// Runs `method(args)` on the desk named `desk` and returns its result (or the error
    /// message of the chain).
    fn call(&self, desk: &str, method: &str, args: Vec<Value>) -> Result<Value, String>;
    /// Runs up to `limit` pending schedules of `desk` now; the ids that ran.
    fn trigger(&self, desk: &str, limit: u32) -> Vec<String>;
    /// Stops the backend (as a crash would: work in flight is lost) and starts it again on
    /// the same storage.
    fn restart(&mut self);
    /// The base URL of the local endpoint server (`/delay/{ms}`, `/status/{code}`, `/hang`...).
    fn endpoint(&self) -> String;
}

/// Polls `check` until it returns `Some`, for at most `limit`.
pub fn eventually<T>(
    what: &str,
    limit: Duration,
    mut check: impl FnMut() -> Result<T, String>,
) -> T {
    let deadline = Instant::now() + limit;
    let mut pause = Duration::from_millis(5);
    loop {
        match check() {
            Ok(v) => return v,
            Err(last) if Instant::now() >= deadline => {
                panic!("{what}: not within {limit:?}; last seen: {last}")
            }
            Err(_) => {
                std::thread::park_timeout(pause);
                pause = (pause * 2).min(Duration::from_millis(100));
            }
        }
    }
}

fn s(v: &str) -> Value {
    Value::from(v)
}

fn n(v: f64) -> Value {
    Value::Number(v)
}

fn strings(b: &dyn Backend, desk: &str, method: &str) -> Vec<String> {
    let v = b
        .call(desk, method, vec![])
        .unwrap_or_else(|e| panic!("{method}: {e}"));
    Vec::<String>::from_value(v.clone()).unwrap_or_else(|| panic!("{method}: not strings: {v:?}"))
}

fn call(b: &dyn Backend, desk: &str, method: &str, args: Vec<Value>) -> Value {
    b.call(desk, method, args)
        .unwrap_or_else(|e| panic!("{desk}.{method}: {e}"))
}

fn fetch_stats(b: &dyn Backend, desk: &str) -> (u64, u64) {
    let v = call(b, desk, "fetchStats", vec![]);
    let s = Vec::<f64>::from_value(v).expect("two numbers");
    (s[0] as u64, s[1] as u64)
}

/// `cancel_schedule` is atomic and returns the schedule; a second cancel finds nothing.
pub fn cancel_returns_the_schedule(b: &mut dyn Backend) {
    let desk = "cancel";
    let id = call(b, desk, "remind", vec![s("dentist"), n(60_000.0)]);
    let id = id.as_str().expect("an id").to_string();
    assert_eq!(strings(b, desk, "pending"), vec![id.clone()]);
    let cancelled = call(b, desk, "cancel", vec![s(&id)]);
    assert_eq!(
        cancelled
            .get("id")
            .and_then(|v| v.as_str().map(String::from)),
        Some(id.clone())
    );
    assert_eq!(
        cancelled
            .get("type")
            .and_then(|v| v.as_str().map(String::from))
            .as_deref(),
        Some("delayed")
    );
    assert_eq!(
        cancelled
            .get("method")
            .and_then(|v| v.as_str().map(String::from))
            .as_deref(),
        Some("ring")
    );
    assert!(
        call(b, desk, "cancel", vec![s(&id)]).is_null(),
        "a second cancel returns null"
    );
    assert!(strings(b, desk, "pending").is_empty());
    assert!(b.trigger(desk, 10).is_empty(), "nothing left to run");
    assert!(
        strings(b, desk, "rung").is_empty(),
        "a cancelled reminder never rings"
    );
}

/// Forced schedules run once each, in time order.
pub fn trigger_runs_each_schedule_once(b: &mut dyn Backend) {
    let desk = "trigger";
    call(b, desk, "remind", vec![s("second"), n(50_000.0)]);
    call(b, desk, "remind", vec![s("first"), n(40_000.0)]);
    assert_eq!(b.trigger(desk, 1).len(), 1);
    assert_eq!(strings(b, desk, "rung"), vec!["first"]);
    assert_eq!(b.trigger(desk, 10).len(), 1);
    assert!(b.trigger(desk, 10).is_empty());
    assert_eq!(strings(b, desk, "rung"), vec!["first", "second"]);
    assert!(strings(b, desk, "pending").is_empty());
}

/// The platform alarm really fires (no trigger): a short reminder rings by itself.
pub fn a_real_alarm_fires(b: &mut dyn Backend) {
    let desk = "alarm";
    call(b, desk, "remind", vec![s("soon"), n(300.0)]);
    call(b, desk, "remind", vec![s("now"), n(0.0)]);
    eventually("both reminders ring", Duration::from_secs(10), || {
        let rung = strings(b, desk, "rung");
        if rung.len() == 2 {
            Ok(rung)
        } else {
            Err(format!("{rung:?}"))
        }
    });
    assert_eq!(strings(b, desk, "rung"), vec!["now", "soon"]);
    assert!(strings(b, desk, "pending").is_empty());
}

/// Cancels raced against real alarms: each reminder either was cancelled (and the cancel got
/// the schedule) or rang, exactly once — never both, never neither.
pub fn cancel_races_the_alarm(b: &mut dyn Backend) {
    let desk = "race-cancel";
    let count = 24;
    let mut ids = Vec::new();
    for i in 0..count {
        let id = call(
            b,
            desk,
            "remind",
            vec![s(&format!("r{i}")), n((i % 6) as f64 * 40.0)],
        );
        ids.push((i, id.as_str().expect("id").to_string()));
    }
    let mut cancelled = Vec::new();
    for (i, id) in ids.iter().rev() {
        if !call(b, desk, "cancel", vec![s(id)]).is_null() {
            cancelled.push(format!("r{i}"));
        }
    }
    let rung = eventually("every reminder settles", Duration::from_secs(10), || {
        let rung = strings(b, desk, "rung");
        let pending = strings(b, desk, "pending");
        if pending.is_empty() && rung.len() + cancelled.len() == count {
            Ok(rung)
        } else {
            Err(format!(
                "rung {rung:?}, cancelled {cancelled:?}, pending {pending:?}"
            ))
        }
    });
    for i in 0..count {
        let tag = format!("r{i}");
        let times_rung = rung.iter().filter(|r| **r == tag).count();
        let was_cancelled = cancelled.contains(&tag);
        assert_eq!(
            times_rung + was_cancelled as usize,
            1,
            "{tag}: rang {times_rung} time(s), cancelled: {was_cancelled}"
        );
    }
}

/// Schedules and data survive a restart, and the alarm is re-armed from storage.
pub fn data_survives_a_restart(b: &mut dyn Backend) {
    let desk = "restart";
    let far = call(b, desk, "remind", vec![s("far"), n(120_000.0)]);
    call(b, desk, "remind", vec![s("near"), n(800.0)]);
    call(b, desk, "ring", vec![s("before")]);
    b.restart();
    assert_eq!(strings(b, desk, "rung"), vec!["before"]);
    eventually(
        "the near reminder rings after the restart",
        Duration::from_secs(10),
        || {
            let rung = strings(b, desk, "rung");
            if rung.len() == 2 {
                Ok(())
            } else {
                Err(format!("{rung:?}"))
            }
        },
    );
    assert_eq!(strings(b, desk, "rung"), vec!["before", "near"]);
    assert_eq!(
        strings(b, desk, "pending"),
        vec![far.as_str().unwrap().to_string()]
    );
}

fn wait_outcomes(b: &dyn Backend, desk: &str, count: usize, limit: Duration) -> Vec<String> {
    eventually(
        &format!("{count} fetch outcome(s) on {desk}"),
        limit,
        || {
            let o = strings(b, desk, "outcomes");
            if o.len() >= count {
                Ok(o)
            } else {
                Err(format!("{o:?}"))
            }
        },
    )
}

/// Responses of any status reach the continuation; definite failures are told apart.
pub fn proxy_fetch_outcomes(b: &mut dyn Backend) {
    let desk = "fetch";
    let ep = b.endpoint();
    let go = |tag: &str, url: String, timeout: f64| {
        call(
            b,
            desk,
            "fetch",
            vec![s(tag), s(&url), n(timeout), n(60_000.0), Value::Bool(false)],
        );
    };
    go("teapot", format!("{ep}/status/418"), 5_000.0);
    go("uuid", format!("{ep}/uuid"), 5_000.0);
    go("hang", format!("{ep}/hang"), 300.0);
    // Port 1 (tcpmux) is privileged and unused: no test's server can take it, as one could a
    // port bound and released.
    go("refused", "http://127.0.0.1:1/".to_string(), 5_000.0);
    let mut got = wait_outcomes(b, desk, 4, Duration::from_secs(15));
    got.sort();
    assert_eq!(
        got,
        vec![
            "hang=FetchExecutorTimeoutError",
            "refused=FetchConnectError",
            "teapot=418",
            "uuid=200"
        ]
    );
    assert_eq!(fetch_stats(b, desk), (0, 0), "no no-ops, nothing pending");
    let dup = b.call(
        desk,
        "fetch",
        vec![
            s("teapot"),
            s(&format!("{ep}/hang")),
            n(60_000.0),
            n(60_000.0),
            Value::Bool(false),
        ],
    );
    assert!(dup.is_ok(), "a finished request id can be reused: {dup:?}");
    let again = b.call(
        desk,
        "fetch",
        vec![
            s("teapot"),
            s(&format!("{ep}/uuid")),
            n(60_000.0),
            n(60_000.0),
            Value::Bool(false),
        ],
    );
    let err = again.expect_err("a pending request id is refused");
    assert!(err.contains("already pending"), "{err}");
}

/// A lost delivery is noticed by the alarm alone: the continuation gets the ambiguous
/// no-reply outcome, once.
pub fn a_lost_delivery_times_out_by_the_alarm(b: &mut dyn Backend) {
    let desk = "lost";
    let ep = b.endpoint();
    call(
        b,
        desk,
        "fetch",
        vec![
            s("lost"),
            s(&format!("{ep}/uuid")),
            n(200.0),
            n(100.0),
            Value::Bool(true),
        ],
    );
    let got = wait_outcomes(b, desk, 1, Duration::from_secs(10));
    assert_eq!(got, vec!["lost=FetchTimeoutError"]);
    assert_eq!(fetch_stats(b, desk), (0, 0));
}

/// Results and forced alarms race for every fetch: each continuation runs exactly once, and
/// every result that lost is a counted no-op.
pub fn proxy_fetch_is_exactly_once_under_a_race(b: &mut dyn Backend) {
    let desk = "race-fetch";
    let ep = b.endpoint();
    let count = 16;
    for i in 0..count {
        // 0 to 150 ms: the forced alarms reliably beat the slower results, while the fast
        // ones often win, so both paths win some.
        let url = format!("{ep}/delay/{}", (i % 4) * 50);
        call(
            b,
            desk,
            "fetch",
            vec![
                s(&format!("f{i}")),
                s(&url),
                n(30_000.0),
                n(30_000.0),
                Value::Bool(false),
            ],
        );
        if i % 3 == 1 {
            b.trigger(desk, 2);
        }
    }
    b.trigger(desk, 3);
    let got = wait_outcomes(b, desk, count, Duration::from_secs(20));
    // Let every late result arrive: each alarm win leaves one result to be a no-op.
    let timeouts = got
        .iter()
        .filter(|o| o.ends_with("=FetchTimeoutError"))
        .count() as u64;
    eventually(
        "every late result is counted as a no-op",
        Duration::from_secs(20),
        || {
            let stats = fetch_stats(b, desk);
            if stats == (timeouts, 0) {
                Ok(())
            } else {
                Err(format!(
                    "stats {stats:?}, expected ({timeouts}, 0); outcomes {got:?}"
                ))
            }
        },
    );
    let got = strings(b, desk, "outcomes");
    assert_eq!(got.len(), count, "{got:?}");
    for i in 0..count {
        let tag = format!("f{i}=");
        let mine: Vec<&String> = got.iter().filter(|o| o.starts_with(&tag)).collect();
        assert_eq!(mine.len(), 1, "f{i} ran {} times: {got:?}", mine.len());
        assert!(
            mine[0].ends_with("=200") || mine[0].ends_with("=FetchTimeoutError"),
            "{mine:?}"
        );
    }
    assert!(timeouts > 0, "some alarms won: {got:?}");
}

/// A crash while a fetch is in flight: after the restart the stored alarm still fires, and
/// the continuation runs once, with the no-reply outcome.
pub fn a_crash_mid_fetch_still_runs_the_continuation_once(b: &mut dyn Backend) {
    let desk = "crash";
    let ep = b.endpoint();
    call(
        b,
        desk,
        "fetch",
        vec![
            s("slow"),
            s(&format!("{ep}/delay/5000")),
            n(500.0),
            n(300.0),
            Value::Bool(false),
        ],
    );
    b.restart();
    let got = wait_outcomes(b, desk, 1, Duration::from_secs(15));
    assert_eq!(got, vec!["slow=FetchTimeoutError"]);
    assert_eq!(fetch_stats(b, desk), (0, 0));
}

/// `call_raw` between objects with a continuation: the callee's answer, and its error, come
/// back to the caller as new turns.
pub fn calls_between_objects_reply_to_continuations(b: &mut dyn Backend) {
    call(b, "caller", "ask", vec![s("callee"), s("ring"), s("hello")]);
    call(
        b,
        "caller",
        "ask",
        vec![s("callee"), s("noSuchMethod"), s("x")],
    );
    let got = eventually("both answers come back", Duration::from_secs(10), || {
        let rung = strings(b, "caller", "rung");
        if rung.len() == 2 {
            Ok(rung)
        } else {
            Err(format!("{rung:?}"))
        }
    });
    assert!(got.contains(&"answer:1".to_string()), "{got:?}");
    assert!(got.iter().any(|r| r.starts_with("error:")), "{got:?}");
    assert_eq!(strings(b, "callee", "rung"), vec!["hello"]);
}

/// A handler cannot end, roll back or nest its turn's transaction, nor reach another database
/// or change the connection's modes, however the statement is spelled: the backend refuses it
/// (SQLite's authorizer natively, workerd's on Cloudflare), the turn fails, and its earlier
/// write rolls back with it.
pub fn handlers_cannot_escape_the_turn_transaction(b: &mut dyn Backend) {
    let desk = "sql-rules";
    let hostile = [
        ("/* c */ COMMIT", false),
        ("-- x\nROLLBACK", false),
        ("commit", false),
        ("END", false),
        ("BEGIN", false),
        ("SAVEPOINT s", false),
        ("release s", false),
        ("SELECT 1; COMMIT", true),
        ("SELECT 1; /* c */ rollback", true),
        ("ATTACH DATABASE ':memory:' AS x", false),
        ("SELECT 1; ATTACH ':memory:' AS x", true),
        ("DETACH DATABASE x", false),
        ("PRAGMA journal_mode = DELETE", false),
        ("PRAGMA writable_schema = ON", false),
        ("CREATE TEMP TABLE t (a)", false),
    ];
    for (sql, batch) in hostile {
        match b.call(desk, "trySql", vec![s(sql), Value::Bool(batch)]) {
            Ok(v) => panic!("{sql:?} (batch: {batch}) ran: {v:?}"),
            Err(e) => assert!(e.contains("not allowed"), "{sql:?}: {e}"),
        }
    }
    // The host's own commit still works, and nothing a refused turn wrote survived.
    assert_eq!(
        call(b, desk, "trySql", vec![s("SELECT 1"), Value::Bool(false)]).as_f64(),
        Some(1.0)
    );
    assert_eq!(
        strings(b, desk, "rung"),
        vec!["before:SELECT 1".to_string()]
    );
}

/// A statement that makes SQLite roll the whole transaction back itself (`INSERT OR
/// ROLLBACK`, a trigger's `RAISE(ROLLBACK)`) fails its turn and keeps none of the turn's
/// writes, nor anything after it in that turn; the next turn works. Natively the error is
/// SQLite's; workerd (1.20261117.1) answers "internal error" (the rollback took its own
/// `_cf_sync_savepoint` with it), with the same outcome otherwise.
pub fn a_statement_that_rolls_back_fails_only_its_turn(b: &mut dyn Backend) {
    let desk = "sql-rollback";
    let setup = "CREATE TABLE IF NOT EXISTS once (a INTEGER PRIMARY KEY); \
                 INSERT INTO once VALUES (1); \
                 CREATE TABLE IF NOT EXISTS guarded (a); \
                 CREATE TRIGGER IF NOT EXISTS refuse BEFORE INSERT ON guarded \
                 BEGIN SELECT RAISE(ROLLBACK, 'guarded is read-only'); END";
    call(b, desk, "trySql", vec![s(setup), Value::Bool(true)]);
    let hostile = [
        ("INSERT OR ROLLBACK INTO once VALUES (1)", false, "UNIQUE"),
        (
            "INSERT OR ROLLBACK INTO once VALUES (1); INSERT INTO once VALUES (2)",
            true,
            "UNIQUE",
        ),
        (
            "INSERT INTO guarded VALUES (1)",
            false,
            "guarded is read-only",
        ),
        (
            "INSERT INTO guarded VALUES (1); INSERT INTO once VALUES (3)",
            true,
            "read-only",
        ),
    ];
    for (sql, batch, says) in hostile {
        match b.call(desk, "trySql", vec![s(sql), Value::Bool(batch)]) {
            Ok(v) => panic!("{sql:?} (batch: {batch}) succeeded: {v:?}"),
            Err(e) => assert!(
                e.contains(says) || e.contains("internal error"),
                "{sql:?}: {e}"
            ),
        }
    }
    // Nothing after the statement that rolled back was kept: 2 and 3 are free (the primary
    // key would refuse them otherwise), and only the setup's turn and this one wrote their
    // "before:" rows.
    let check = "INSERT INTO once VALUES (2); INSERT INTO once VALUES (3)";
    call(b, desk, "trySql", vec![s(check), Value::Bool(true)]);
    assert_eq!(
        strings(b, desk, "rung"),
        vec![format!("before:{setup}"), format!("before:{check}")]
    );
}

/// A switch PRAGMA set by a turn that then fails is undone with the turn: the next turn runs
/// under the switches as they were (CHECK constraints enforced, `LIKE` case-insensitive),
/// while a switch set by a turn that succeeds stays set.
pub fn a_failed_turn_leaves_no_pragma_behind(b: &mut dyn Backend) {
    let desk = "sql-pragma";
    let setup = "CREATE TABLE IF NOT EXISTS checked (a CHECK (a > 0)); \
                 CREATE TABLE IF NOT EXISTS liked (a CHECK (a LIKE 'A'))";
    call(b, desk, "trySql", vec![s(setup), Value::Bool(true)]);
    let try_sql =
        |b: &dyn Backend, sql: &str| b.call(desk, "trySql", vec![s(sql), Value::Bool(true)]);
    for failing in [
        "PRAGMA ignore_check_constraints = ON; SELECT no_such_function()",
        "PRAGMA case_sensitive_like = ON; SELECT no_such_function()",
    ] {
        match try_sql(b, failing) {
            Ok(v) => panic!("{failing:?} succeeded: {v:?}"),
            Err(e) => assert!(e.contains("no_such_function"), "{failing:?}: {e}"),
        }
    }
    let refused = "INSERT INTO checked VALUES (-1)";
    match try_sql(b, refused) {
        Ok(v) => panic!("a failed turn's PRAGMA outlived it: {refused:?} succeeded: {v:?}"),
        Err(e) => assert!(e.contains("CHECK"), "{refused:?}: {e}"),
    }
    let insensitive = "INSERT INTO liked VALUES ('a')";
    if let Err(e) = try_sql(b, insensitive) {
        panic!("a failed turn's case_sensitive_like outlived it: {insensitive:?}: {e}");
    }
    // A turn that succeeds keeps its switch, as SQLite does.
    try_sql(b, "PRAGMA case_sensitive_like = ON").unwrap();
    match try_sql(b, insensitive) {
        Ok(v) => panic!("a committed turn's PRAGMA was undone: {insensitive:?} succeeded: {v:?}"),
        Err(e) => assert!(e.contains("CHECK"), "{insensitive:?}: {e}"),
    }
}

/// The executor stops reading a response at the body cap, whatever the length header says:
/// `/trickle` sends more than the cap without a length and never ends, so an executor that
/// waited for the whole body before checking would time out instead.
pub fn a_fetch_response_stops_at_the_cap(b: &mut dyn Backend) {
    let desk = "capped";
    let ep = b.endpoint();
    let go = |tag: &str, url: String| {
        call(
            b,
            desk,
            "fetchCapped",
            vec![s(tag), s(&url), n(20_000.0), n(1000.0)],
        );
    };
    go("endless", format!("{ep}/trickle/300000"));
    go("fits", format!("{ep}/bytes/1000"));
    go("declared", format!("{ep}/bytes/1001"));
    let mut got = wait_outcomes(b, desk, 3, Duration::from_secs(15));
    got.sort();
    assert_eq!(
        got,
        vec![
            "declared=FetchBodyTooLargeError",
            "endless=FetchBodyTooLargeError",
            "fits=200"
        ]
    );
}

/// Every redirect hop passes the executor's policy: a hop to "this host" (0.0.0.0, `::`,
/// refused even where loopback is allowed) is refused before any connection, an allowed hop
/// is followed. (Were the check missing, the 0.0.0.0 hop would reach the local endpoint
/// server and answer 200: nothing here can reach beyond this machine.)
pub fn redirects_are_checked_hop_by_hop(b: &mut dyn Backend) {
    let desk = "hops";
    let ep = b.endpoint();
    let port = ep.rsplit(':').next().expect("a port").to_string();
    let go = |tag: &str, url: String| {
        call(
            b,
            desk,
            "fetch",
            vec![
                s(tag),
                s(&url),
                n(10_000.0),
                n(60_000.0),
                Value::Bool(false),
            ],
        );
    };
    go(
        "unspecified4",
        format!("{ep}/redirect?to=http://0.0.0.0:{port}/uuid"),
    );
    go(
        "unspecified6",
        format!("{ep}/redirect?to=http://[::]:{port}/uuid"),
    );
    go("local", format!("{ep}/redirect?to={ep}/uuid"));
    let mut got = wait_outcomes(b, desk, 3, Duration::from_secs(15));
    got.sort();
    assert_eq!(
        got,
        vec![
            "local=200",
            "unspecified4=FetchDeniedError",
            "unspecified6=FetchDeniedError"
        ]
    );
}

/// The statements of `lumenize-core/tests/data/rows_written.txt` and the rows each writes as
/// Cloudflare counts them (workerd's `rowsWritten`: index entries included).
const ROWS_WRITTEN: &str = include_str!("../../../lumenize-core/tests/data/rows_written.txt");

/// Rows written as Cloudflare counts them: each statement of the shared cases writes the
/// listed rows (natively as lumenize counts them, in workerd as the SQL cursors' own counter
/// does), and a simple fetch writes its schedule's insert and delete, plus the desk's own
/// outcome row: 3.
pub fn rows_written_as_cloudflare_counts_them(b: &mut dyn Backend) {
    let desk = "rows";
    let lines = ROWS_WRITTEN
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split_once('\t').expect("`<rows>\\t<statement>`"));
    let mut schema = String::new();
    let mut cases = Vec::new();
    for (count, sql) in lines {
        if count == "schema" {
            schema.push_str(sql);
            schema.push('\n');
        } else {
            cases.push((sql, count.parse::<f64>().expect("a row count")));
        }
    }
    call(
        b,
        desk,
        "rowsWrittenBy",
        vec![s(&schema), Value::Bool(true)],
    );
    let mut wrong = Vec::new();
    for (sql, expected) in &cases {
        let got = call(b, desk, "rowsWrittenBy", vec![s(sql), Value::Bool(false)]);
        if got.as_f64() != Some(*expected) {
            wrong.push(format!("{sql}: {got:?}, expected {expected}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "rows written differ:\n{}",
        wrong.join("\n")
    );

    let written = |b: &dyn Backend| {
        let v = call(b, desk, "rowStats", vec![]);
        Vec::<f64>::from_value(v).expect("two numbers")[1]
    };
    // A first fetch opens what a fetch needs (its tables); the second is measured.
    let ep = b.endpoint();
    let go = |b: &dyn Backend, tag: &str| {
        call(
            b,
            desk,
            "fetch",
            vec![
                s(tag),
                s(&format!("{ep}/uuid")),
                n(5_000.0),
                n(60_000.0),
                Value::Bool(false),
            ],
        );
    };
    go(b, "warm");
    wait_outcomes(b, desk, 1, Duration::from_secs(15));
    let before = written(b);
    go(b, "measured");
    wait_outcomes(b, desk, 2, Duration::from_secs(15));
    assert_eq!(
        written(b) - before,
        3.0,
        "schedule insert + delete + outcome row"
    );
}

/// The three fetch designs called the same way (`fetchVia`): direct (the desk fetches
/// itself), simple (`proxy_fetch_simple`) and orchestrated (`proxy_fetch` through the
/// orchestrator object): each runs its continuation exactly once, with the response, and
/// leaves nothing pending on the desk.
/// A continuation naming a method the object does not have is refused when the fetch starts,
/// by every design on every backend (Cloudflare's direct fetch did not check it).
pub fn a_misnamed_continuation_is_refused_when_the_fetch_starts(b: &mut dyn Backend) {
    let desk = "misnamed";
    let url = format!("{}/uuid", b.endpoint());
    for d in ["direct", "simple", "orchestrated"] {
        let err = b
            .call(desk, "fetchMisnamed", vec![s(d), s(&url)])
            .expect_err(d);
        assert!(err.contains("no method \"fetchedd\""), "{d}: {err}");
    }
}

pub fn the_three_fetch_designs_each_continue_once(b: &mut dyn Backend) {
    let desk = "designs";
    let url = format!("{}/status/201", b.endpoint());
    let designs = ["direct", "simple", "orchestrated"];
    for d in designs {
        let id = call(
            b,
            desk,
            "fetchVia",
            vec![s(d), s(&format!("{d}-1")), s(&url), n(10_000.0)],
        );
        assert_eq!(
            id.as_str(),
            Some(format!("{d}-1").as_str()),
            "{d}: the request id"
        );
    }
    let outcomes = eventually(
        "every design's continuation runs",
        Duration::from_secs(10),
        || {
            let o = strings(b, desk, "outcomes");
            if o.len() >= designs.len() {
                Ok(o)
            } else {
                Err(format!("{o:?}"))
            }
        },
    );
    let mut sorted = outcomes.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        vec!["direct-1=201", "orchestrated-1=201", "simple-1=201"],
        "each design's continuation ran once with the response: {outcomes:?}"
    );
    let times = call(b, desk, "doneTimes", vec![s("")]);
    let times = Vec::<String>::from_value(times).expect("strings");
    assert_eq!(
        times.len(),
        designs.len(),
        "one recorded time each: {times:?}"
    );
    assert_eq!(fetch_stats(b, desk), (0, 0), "no simple fetch left pending");
    let refused = b.call(
        desk,
        "fetchVia",
        vec![s("pigeon"), s("x"), s(&url), n(1_000.0)],
    );
    assert!(
        refused
            .as_ref()
            .is_err_and(|e| e.contains("unknown design")),
        "an unknown design is refused: {refused:?}"
    );
}

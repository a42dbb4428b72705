//! The runtime's own tables (`__lmz_*`: the schedules, the alarm mirror, the failures, the kv
//! view, the fetch designs' state) belong to the runtime: a handler's SQL may read them but not
//! change them, however the statement reaches them (mixed case, a batch, a trigger body, a
//! cached statement of the runtime's own text). The runtime's own paths keep working.
//!
//! Natively the authorizer enforces it; these tests run the real SQLite, through a real object
//! handler (`ctx.sql()`) and at the `SqliteStorage` level, and a real HTTP server for the
//! simple fetch design. Time moves only through the manual clock.

mod fetch_support;

use fetch_support::*;
use lumenize_core::alarms::{init_schema, When};
use lumenize_core::fetch::EndpointServer;
use lumenize_core::prelude::*;
use lumenize_core::runtime::Stub;
use lumenize_core::storage::sqlite::SqliteStorage;
use lumenize_core::storage::{SqlValue, Storage};

const SCHEDULE_ROW: &str =
    "INSERT INTO __lmz_alarms (id, operation_chain, type, time, created_at) \
     VALUES ('forged', '[]', 'scheduled', 1, 1)";

/// A storage set up as a host sets up an object (the alarms' tables), plus a handler's own
/// table `t` and view `v`. Statements run on it as a handler's would.
fn storage() -> SqliteStorage {
    let db = SqliteStorage::in_memory().unwrap();
    init_schema(&db).unwrap();
    db.exec_batch("CREATE TABLE t (a); CREATE VIEW v AS SELECT a FROM t;")
        .unwrap();
    db
}

fn runtime_objects(db: &SqliteStorage) -> Vec<Vec<SqlValue>> {
    db.exec(
        "SELECT type, name, tbl_name FROM sqlite_schema ORDER BY type, name",
        &[],
    )
    .unwrap()
    .rows
}

/// Statements that change a runtime table (or create an object under its prefix), each with
/// the name the refusal must give.
const REFUSED: &[(&str, &str)] = &[
    (SCHEDULE_ROW, "__lmz_alarms"),
    ("UPDATE __lmz_alarms SET time = 0", "__lmz_alarms"),
    ("DELETE FROM __lmz_alarms", "__lmz_alarms"),
    (
        "DELETE FROM __lmz_alarms WHERE id = 'fetch-x'",
        "__lmz_alarms",
    ),
    (
        "WITH k AS (SELECT 1) DELETE FROM __lmz_alarms",
        "__lmz_alarms",
    ),
    ("DELETE FROM main.__lmz_alarms", "__lmz_alarms"),
    ("DELETE FROM __LMZ_ALARMS", "__lmz_alarms"),
    ("delete from \"__Lmz_Alarms\"", "__lmz_alarms"),
    ("/* c */ dElEtE FROM [__lmz_alarms]", "__lmz_alarms"),
    (
        "INSERT INTO __lmz_meta (key, value) VALUES ('alarm', 1)",
        "__lmz_meta",
    ),
    ("REPLACE INTO __lmz_meta SELECT 'alarm', 1", "__lmz_meta"),
    ("UPDATE __lmz_meta SET value = 0", "__lmz_meta"),
    ("DELETE FROM __lmz_alarm_failures", "__lmz_alarm_failures"),
    ("DROP TABLE __lmz_alarms", "__lmz_alarms"),
    ("DROP TABLE IF EXISTS __lmz_meta", "__lmz_meta"),
    ("ALTER TABLE __lmz_alarms ADD COLUMN z", "__lmz_alarms"),
    ("ALTER TABLE __lmz_alarms RENAME TO mine", "__lmz_alarms"),
    (
        "ALTER TABLE __lmz_alarms RENAME COLUMN time TO t2",
        "__lmz_alarms",
    ),
    ("CREATE INDEX i ON __lmz_alarms (time)", "__lmz_alarms"),
    ("CREATE INDEX __lmz_i ON t (a)", "__lmz_i"),
    ("CREATE INDEX __LMZ_I ON t (a)", "__LMZ_I"),
    (
        "CREATE TRIGGER tr AFTER INSERT ON __lmz_alarms BEGIN SELECT 1; END",
        "__lmz_alarms",
    ),
    (
        "CREATE TRIGGER __lmz_tr AFTER INSERT ON t BEGIN SELECT 1; END",
        "__lmz_tr",
    ),
    ("CREATE TABLE __lmz_foo (a)", "__lmz_foo"),
    ("CREATE TABLE __LMZ_Foo (a)", "__LMZ_Foo"),
    (
        "CREATE TABLE IF NOT EXISTS __lmz_fetch_queue (id)",
        "__lmz_fetch_queue",
    ),
    ("CREATE TABLE __lmz_copy AS SELECT * FROM t", "__lmz_copy"),
    ("CREATE VIEW __lmz_v AS SELECT 1", "__lmz_v"),
    ("CREATE VIRTUAL TABLE __lmz_fts USING fts5(a)", "__lmz_fts"),
];

#[test]
fn every_write_of_a_runtime_table_is_refused_with_its_name() {
    for (sql, name) in REFUSED {
        for batch in [false, true] {
            let db = storage();
            db.exec(
                "INSERT INTO __lmz_alarm_failures VALUES ('f', '[]', 'scheduled', NULL, 1, 'e', 1)",
                &[],
            )
            .expect_err("a handler cannot write the failures either");
            let before = runtime_objects(&db);
            let err = if batch {
                db.exec_batch(&format!("SELECT 1; {sql}"))
            } else {
                db.exec(sql, &[]).map(drop)
            }
            .expect_err(sql)
            .to_string();
            assert!(
                err.contains(&format!("`{name}` belongs to the runtime")),
                "{sql} (batch: {batch}): {err}"
            );
            assert_eq!(
                runtime_objects(&db),
                before,
                "{sql}: the schema is unchanged"
            );
        }
    }
}

#[test]
fn the_refusal_says_what_to_use_instead() {
    let db = storage();
    let err = db
        .exec("DELETE FROM __lmz_alarms WHERE id = 'x'", &[])
        .unwrap_err();
    assert!(
        err.message
            .contains("`__lmz_alarms` belongs to the runtime: use ctx.alarms()"),
        "{err}"
    );
    assert!(err.message.contains("DELETE from __lmz_alarms"), "{err}");
}

#[test]
fn reads_of_the_runtime_tables_stay_allowed() {
    let db = storage();
    for sql in [
        "SELECT count(*) FROM __lmz_alarms",
        "SELECT * FROM __LMZ_META",
        "SELECT id FROM __lmz_alarms a JOIN __lmz_alarm_failures f USING (id)",
        "INSERT INTO t SELECT count(*) FROM __lmz_alarms",
        "UPDATE t SET a = (SELECT count(*) FROM __lmz_meta)",
        "PRAGMA table_info(__lmz_alarms)",
        "CREATE VIEW pending AS SELECT id, time FROM __lmz_alarms",
        "CREATE TABLE mine (a); ALTER TABLE mine ADD COLUMN b",
    ] {
        db.exec_batch(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    let rows = db.exec("SELECT count(*) FROM pending", &[]).unwrap();
    assert_eq!(rows.scalar().and_then(SqlValue::as_i64), Some(0));
}

#[test]
fn a_trigger_cannot_smuggle_a_write_into_a_runtime_table() {
    let smugglers = [
        "CREATE TRIGGER s AFTER INSERT ON t BEGIN DELETE FROM __lmz_alarms; END",
        "CREATE TRIGGER s BEFORE INSERT ON t BEGIN \
         INSERT INTO __lmz_alarms (id, operation_chain, type, time, created_at) \
         VALUES ('forged', '[]', 'scheduled', 1, 1); END",
        "CREATE TRIGGER s AFTER INSERT ON t BEGIN UPDATE __LMZ_META SET value = 0; END",
        "CREATE TRIGGER s INSTEAD OF INSERT ON v BEGIN DELETE FROM __lmz_meta; END",
    ];
    for trigger in smugglers {
        let db = storage();
        // Creating the trigger is allowed (its body is judged where it runs) ...
        db.exec_batch(trigger).unwrap();
        // ... but a handler statement that fires it is refused as a whole.
        let target = if trigger.contains(" ON v ") { "v" } else { "t" };
        let err = db
            .exec(&format!("INSERT INTO {target} (a) VALUES (1)"), &[])
            .expect_err(trigger)
            .to_string();
        assert!(
            err.contains("belongs to the runtime") && err.contains("in the body of trigger s"),
            "{trigger}: {err}"
        );
        let n = db.exec("SELECT count(*) FROM t", &[]).unwrap();
        assert_eq!(n.scalar().and_then(SqlValue::as_i64), Some(0), "{trigger}");
    }
}

/// A database from before these rules may hold a handler's trigger or index on a runtime
/// table. The handler can drop it (the runtime makes none, so nothing of the runtime's goes),
/// and the runtime's own writes work again; creating one stays refused.
#[test]
fn a_handler_can_drop_its_old_trigger_or_index_on_a_runtime_table() {
    let db = storage();
    db.as_runtime(|| {
        db.exec_batch(
            "CREATE TRIGGER legacy AFTER INSERT ON __lmz_alarms \
             BEGIN DELETE FROM __lmz_alarm_failures; END; \
             CREATE INDEX legacy_by_time ON __lmz_alarms (time);",
        )
    })
    .unwrap();
    // The old trigger's body writes a runtime table: the runtime's insert that fires it fails.
    let schedule = "INSERT INTO __lmz_alarms (id, operation_chain, type, time, created_at) \
                    VALUES ('s', '[]', 'scheduled', 1, 1)";
    assert!(db.as_runtime(|| db.exec(schedule, &[])).is_err());
    db.exec("DROP TRIGGER legacy", &[]).unwrap();
    db.exec("DROP INDEX legacy_by_time", &[]).unwrap();
    db.as_runtime(|| db.exec(schedule, &[])).unwrap();
    for sql in [
        "CREATE TRIGGER again AFTER INSERT ON __lmz_alarms BEGIN SELECT 1; END",
        "CREATE INDEX again ON __lmz_alarms (time)",
    ] {
        let err = db.exec(sql, &[]).expect_err(sql).to_string();
        assert!(err.contains("belongs to the runtime"), "{sql}: {err}");
    }
}

#[test]
fn a_handler_table_cannot_be_renamed_into_the_runtime_prefix() {
    for new_name in ["__lmz_fetch_queue", "__LMZ_Fetch_Queue", "__lmz_x"] {
        let db = storage();
        db.exec("INSERT INTO t VALUES (1)", &[]).unwrap();
        let sql = format!("ALTER TABLE t RENAME TO {new_name}");
        // Twice: the second run of the same text must not find a compiled statement to reuse.
        for _ in 0..2 {
            let err = db.exec(&sql, &[]).expect_err(&sql).to_string();
            assert!(
                err.contains(&format!("`{new_name}` belongs to the runtime")),
                "{sql}: {err}"
            );
        }
        // Nothing was renamed: the handler's table is still there under its own name, and
        // the check's savepoint is gone (it left no transaction open).
        let n = db.exec("SELECT count(*) FROM t", &[]).unwrap();
        assert_eq!(n.scalar().and_then(SqlValue::as_i64), Some(1), "{sql}");
        assert!(
            !db.in_transaction(),
            "{sql}: the check's savepoint was left open"
        );
        let batch = format!("SELECT 1; {sql}; SELECT 2");
        db.exec_batch(&batch).expect_err(&batch);
        let n = db.exec("SELECT count(*) FROM t", &[]).unwrap();
        assert_eq!(n.scalar().and_then(SqlValue::as_i64), Some(1), "{batch}");
    } // A handler renaming its own tables among its own names is fine, again and again.
    let db = storage();
    for _ in 0..2 {
        db.exec("ALTER TABLE t RENAME TO t2", &[]).unwrap();
        db.exec("ALTER TABLE t2 RENAME TO t", &[]).unwrap();
    }
    db.exec("ALTER TABLE t ADD COLUMN b", &[]).unwrap();
}

// ---- Through a real object and the runtime ----

fn call_sql(o: &Stub, sql: &'static str, params: Vec<SqlValue>) -> Result<usize, String> {
    o.run(move |_, ctx| {
        Ok(ctx
            .sql()
            .exec(sql, &params)
            .map(|rows| rows.len())
            .map_err(|e| e.to_string()))
    })
    .unwrap()
}

fn pending(o: &Stub) -> i64 {
    o.run(|_, ctx| {
        Ok(ctx
            .sql()
            .exec("SELECT count(*) FROM __lmz_alarms", &[])
            .unwrap()
            .scalar()
            .and_then(SqlValue::as_i64)
            .unwrap_or(-1))
    })
    .unwrap()
}

#[test]
fn a_handler_cannot_delete_a_pending_fetch_schedule_and_the_timeout_still_runs_once() {
    let server = EndpointServer::start().unwrap();
    let (rt, _clock) = runtime(None);
    let o = origin(&rt);
    let lost = opts(&[("simulate", Value::Bool(true))]);
    let id = start(&o, "simple", &server.url("/uuid"), "t1", lost).unwrap();
    let alarm = format!("fetch-{id}");
    assert_eq!(pending(&o), 1);
    // The delete `proxy_fetch_simple`'s exactly-once rule rests on ("whoever cancels the
    // alarm wins"), tried by the handler itself, in several spellings.
    for sql in [
        "DELETE FROM __lmz_alarms WHERE id = ?1",
        "delete from __LMZ_ALARMS where id = ?1",
        "UPDATE __lmz_alarms SET time = time + 1 WHERE id = ?1",
    ] {
        let err = call_sql(&o, sql, vec![SqlValue::from(alarm.as_str())]).expect_err(sql);
        assert!(
            err.contains("`__lmz_alarms` belongs to the runtime"),
            "{sql}: {err}"
        );
    }
    assert_eq!(pending(&o), 1, "the schedule is still pending");
    let fired = o.trigger_alarms(1).unwrap();
    assert_eq!(fired, vec![alarm]);
    settle(&rt);
    let got = results(&o);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].1, "FetchTimeoutError");
}

#[test]
fn a_handler_cannot_forge_a_schedule_or_the_alarm_mirror() {
    let (rt, _clock) = runtime(None);
    let o = origin(&rt);
    for (sql, table) in [
        (
            "INSERT INTO __lmz_alarms (id, operation_chain, type, time, created_at) \
             VALUES ('forged', '[]', 'scheduled', 1, 1)",
            "__lmz_alarms",
        ),
        (
            "INSERT OR REPLACE INTO __lmz_meta VALUES ('alarm', 1)",
            "__lmz_meta",
        ),
        ("DELETE FROM __lmz_kv", "__lmz_kv"),
        ("DROP TABLE __lmz_kv", "__lmz_kv"),
        (
            "CREATE TABLE __lmz_fetch_stats (key, n)",
            "__lmz_fetch_stats",
        ),
    ] {
        let err = call_sql(&o, sql, vec![]).expect_err(sql);
        assert!(
            err.contains(&format!("`{table}` belongs to the runtime")),
            "{sql}: {err}"
        );
    }
    assert_eq!(pending(&o), 0);
    assert!(
        o.trigger_alarms(10).unwrap().is_empty(),
        "nothing forged fires"
    );
}

/// The runtime compiles its statements with the privilege and SQLite caches them: a handler
/// running the very same text must still be judged (and refused).
#[test]
fn the_runtimes_cached_statements_do_not_lend_their_privilege() {
    let (rt, _clock) = runtime(None);
    let o = origin(&rt);
    let schedule = |tag: &'static str| {
        o.run(move |_, ctx| {
            ctx.alarms()
                .schedule(
                    When::delay_secs(60.0),
                    ctn().call("onResult", vec![Value::from(tag), Value::Null]),
                )
                .map(|s| s.id)
                .map_err(|e| ChainError::handler(e.to_string()))
        })
        .unwrap()
    };
    let a = schedule("a");
    let b = schedule("b");
    // The runtime's own cancel: its DELETE is now compiled and cached, with the privilege.
    let cancelled = o
        .run(move |_, ctx| {
            ctx.alarms()
                .cancel_schedule(&a)
                .map(|s| s.is_some())
                .map_err(|e| ChainError::handler(e.to_string()))
        })
        .unwrap();
    assert!(cancelled);
    // The same text from the handler, in a later turn and in the same turn as a cancel.
    let same = "DELETE FROM __lmz_alarms WHERE id = ?1";
    let err = call_sql(&o, same, vec![SqlValue::from(b.as_str())]).unwrap_err();
    assert!(err.contains("belongs to the runtime"), "{err}");
    let b2 = b.clone();
    let err = o
        .run(move |_, ctx| {
            let c = schedule_in(ctx, "c");
            ctx.alarms().cancel_schedule(&c).unwrap();
            Ok(ctx
                .sql()
                .exec(same, &[SqlValue::from(b2.as_str())])
                .map_err(|e| e.to_string()))
        })
        .unwrap()
        .unwrap_err();
    assert!(err.contains("belongs to the runtime"), "{err}");
    // And the runtime's insert text.
    let insert = "INSERT INTO __lmz_alarms (id, operation_chain, type, time, delay_ms, cron, created_at, attempts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0)";
    let params = || {
        vec![
            SqlValue::from("forged"),
            SqlValue::from("[]"),
            SqlValue::from("scheduled"),
            SqlValue::Integer(1),
            SqlValue::Null,
            SqlValue::Null,
            SqlValue::Integer(1),
        ]
    };
    let err = call_sql(&o, insert, params()).unwrap_err();
    assert!(err.contains("belongs to the runtime"), "{err}");
    assert_eq!(pending(&o), 1, "only b is pending");
    // The runtime's own statements still run (from the cache) after the refusals.
    let cancelled = o
        .run(move |_, ctx| {
            ctx.alarms()
                .cancel_schedule(&b)
                .map(|s| s.is_some())
                .map_err(|e| ChainError::handler(e.to_string()))
        })
        .unwrap();
    assert!(cancelled);
    assert_eq!(pending(&o), 0);
}

/// `SqliteStorage::as_runtime` lends the runtime's privilege to that storage's own
/// connection, not to whatever runs on the thread meanwhile: a handler that makes a database
/// of its own cannot lend it to the object's.
#[test]
fn a_storage_of_the_handlers_own_lends_no_privilege_to_the_objects() {
    let (rt, _clock) = runtime(None);
    let o = origin(&rt);
    let scheduled = o.run(|_, ctx| Ok(schedule_in(ctx, "kept"))).unwrap();
    let err = o
        .run(|_, ctx| {
            let own = SqliteStorage::in_memory().map_err(|e| ChainError::handler(e.to_string()))?;
            Ok(own
                .as_runtime(|| ctx.sql().exec("DELETE FROM __lmz_alarms", &[]))
                .map_err(|e| e.to_string()))
        })
        .unwrap()
        .unwrap_err();
    assert!(err.contains("belongs to the runtime"), "{err}");
    assert_eq!(pending(&o), 1, "{scheduled} is still pending");
    // The storage's own connection still gets it (what hosts and benchmarks use it for).
    let db = storage();
    let other = storage();
    assert!(other.as_runtime(|| db.exec(SCHEDULE_ROW, &[])).is_err());
    db.as_runtime(|| db.exec(SCHEDULE_ROW, &[])).unwrap();
}

fn schedule_in(ctx: &Ctx<'_>, tag: &str) -> String {
    ctx.alarms()
        .schedule(
            When::delay_secs(60.0),
            ctn().call("onResult", vec![Value::from(tag), Value::Null]),
        )
        .unwrap()
        .id
}

#[test]
fn the_runtimes_own_paths_still_write_their_tables() {
    let server = EndpointServer::start().unwrap();
    let (rt, clock) = runtime(None);
    let o = origin(&rt);
    // kv: put, overwrite, delete.
    let kv = o
        .run(|_, ctx| {
            let kv = ctx.kv();
            let e = |e: lumenize_core::storage::StorageError| ChainError::handler(e.to_string());
            kv.put("k", &Value::from(1.0)).map_err(e)?;
            kv.put("k", &Value::from(2.0)).map_err(e)?;
            kv.put("gone", &Value::from(3.0)).map_err(e)?;
            let deleted = kv.delete("gone").map_err(e)?;
            Ok((kv.get("k").map_err(e)?.and_then(|v| v.as_f64()), deleted))
        })
        .unwrap();
    assert_eq!(kv, (Some(2.0), true));
    // Schedules: one cancelled, one fired by the clock, one cron that re-inserts itself.
    o.run(|_, ctx| {
        let a = schedule_in(ctx, "cancelled");
        ctx.alarms().cancel_schedule(&a).unwrap();
        ctx.alarms()
            .schedule(
                When::delay_secs(1.0),
                ctn().call("onResult", vec![Value::from("x"), Value::Null]),
            )
            .unwrap();
        ctx.alarms()
            .schedule_with_id(
                "every-minute",
                "* * * * *",
                ctn().call("onResult", vec![Value::from("y"), Value::Null]),
            )
            .unwrap();
        Ok(())
    })
    .unwrap();
    assert_eq!(pending(&o), 2);
    clock.advance(61_000);
    settle(&rt);
    assert_eq!(
        pending(&o),
        1,
        "the delayed one fired, the cron one is back"
    );
    // A simple fetch all the way to its continuation (its schedule inserted, then deleted by
    // the result), and a second whose result is lost, ended by the alarm.
    start(&o, "simple", &server.url("/uuid"), "ok", opts(&[])).unwrap();
    let lost = opts(&[("simulate", Value::Bool(true))]);
    start(&o, "simple", &server.url("/uuid"), "lost", lost).unwrap();
    settle(&rt);
    while result_count(&o) < 1 {
        std::thread::yield_now();
    }
    clock.advance(120_000);
    settle(&rt);
    let mut got = results(&o);
    assert!(
        got.iter().any(|(t, _, _)| t == "x"),
        "the delayed schedule ran: {got:?}"
    );
    got.retain(|(t, _, _)| t == "ok" || t == "lost");
    got.sort();
    let kinds: Vec<(&str, &str)> = got
        .iter()
        .map(|(t, k, _)| (t.as_str(), k.as_str()))
        .collect();
    assert_eq!(kinds, [("lost", "FetchTimeoutError"), ("ok", "Response")]);
    assert_eq!(pending(&o), 1, "only the cron schedule is left");
}

/// A failing continuation goes through the runtime's retry path: its schedule's attempts are
/// updated, and after the last retry it moves to `__lmz_alarm_failures`.
#[test]
fn the_runtimes_retry_path_still_writes_its_tables() {
    let (rt, clock) = runtime(None);
    let o = origin(&rt);
    o.run(|_, ctx| {
        // `onResult` takes a text tag: a number makes every run fail.
        ctx.alarms()
            .schedule_with_id(
                "bad",
                When::delay_secs(1.0),
                ctn().call("onResult", vec![Value::from(1.0), Value::Null]),
            )
            .map(drop)
            .map_err(|e| ChainError::handler(e.to_string()))
    })
    .unwrap();
    let read = |sql: &'static str| {
        o.run(move |_, ctx| {
            Ok(ctx
                .sql()
                .exec(sql, &[])
                .unwrap()
                .scalar()
                .and_then(SqlValue::as_i64))
        })
        .unwrap()
    };
    clock.advance(1_000);
    settle(&rt);
    assert_eq!(
        read("SELECT attempts FROM __lmz_alarms WHERE id = 'bad'"),
        Some(1)
    );
    // Past every backoff (2, 4, ... 64 s), one step at a time.
    for _ in 0..7 {
        clock.advance(70_000);
        settle(&rt);
    }
    assert_eq!(read("SELECT count(*) FROM __lmz_alarms"), Some(0));
    assert_eq!(
        read("SELECT count(*) FROM __lmz_alarm_failures WHERE id = 'bad'"),
        Some(1)
    );
}

/// SQLite enforces foreign keys here (rusqlite's bundled build turns them on, and a handler
/// cannot turn them off inside its transaction). A handler's table with a foreign key to a
/// runtime table would let the handler's rows block the runtime's own DELETE of a schedule
/// ("FOREIGN KEY constraint failed"), hook the handler's triggers into it (`ON DELETE
/// CASCADE`), or make every write of that table fail ("foreign key mismatch" when the key is
/// not unique), rows or not. So such a foreign key is refused, in `CREATE TABLE` and `ALTER
/// TABLE ... ADD COLUMN`, also to a runtime table not created yet; one between the handler's
/// own tables is fine. (Found by `tests/sql_fuzz.rs`.)
#[test]
fn a_foreign_key_to_a_runtime_table_is_refused() {
    let refused = [
        ("CREATE TABLE c (x REFERENCES __lmz_alarms(id))", "__lmz_alarms"),
        (
            "CREATE TABLE c (x REFERENCES __lmz_alarms ON DELETE CASCADE)",
            "__lmz_alarms",
        ),
        (
            "create table c (x, foreign key (x) references \"__LMZ_KV\"(key) deferrable initially deferred)",
            "__LMZ_KV",
        ),
        (
            "CREATE TABLE c (x REFERENCES [__lmz_alarm_failures])",
            "__lmz_alarm_failures",
        ),
        (
            "ALTER TABLE t ADD COLUMN x REFERENCES __lmz_alarms(created_at)",
            "__lmz_alarms",
        ),
        (
            "CREATE TABLE IF NOT EXISTS c (x REFERENCES __lmz_fetch_poll_queue(id))",
            "__lmz_fetch_poll_queue",
        ),
    ];
    let schedule = |id: &str| {
        format!(
            "INSERT INTO __lmz_alarms (id, operation_chain, type, time, created_at) \
             VALUES ('{id}', '[]', 'scheduled', 1, 1)"
        )
    };
    for (sql, parent) in refused {
        let db = storage();
        db.as_runtime(|| db.exec(&schedule("s"), &[])).unwrap();
        let before = runtime_objects(&db);
        // Twice (the second may find a cached statement), and in a batch.
        for _ in 0..2 {
            let err = db.exec(sql, &[]).expect_err(sql).to_string();
            assert!(
                err.contains(&format!("`{parent}` belongs to the runtime"))
                    && err.contains("foreign key"),
                "{sql}: {err}"
            );
        }
        let batch = format!("SELECT 1; {sql}");
        db.exec_batch(&batch).expect_err(&batch);
        assert_eq!(runtime_objects(&db), before, "{sql}: nothing was created");
        // The runtime's own writes of its tables still work.
        db.as_runtime(|| -> Result<(), lumenize_core::storage::StorageError> {
            db.exec(&schedule("s2"), &[])?;
            db.exec("DELETE FROM __lmz_alarms WHERE id = 's'", &[])?;
            db.exec(
                "INSERT INTO __lmz_alarm_failures VALUES ('f', '[]', 'scheduled', NULL, 1, 'e', 1)",
                &[],
            )?;
            db.exec("DELETE FROM __lmz_alarm_failures", &[])?;
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{sql}: the runtime's write failed: {e}"));
    }
    // A `CREATE TABLE IF NOT EXISTS` that did nothing (its table was there) stays compiled in
    // the statement cache; once the table is gone, the same text (recompiled by SQLite while
    // it runs) is judged again.
    let db = storage();
    let sql = "CREATE TABLE IF NOT EXISTS c (x REFERENCES __lmz_alarms(id))";
    db.exec("CREATE TABLE c (x)", &[]).unwrap();
    for _ in 0..2 {
        db.exec(sql, &[]).unwrap();
    }
    db.exec("DROP TABLE c", &[]).unwrap();
    for _ in 0..2 {
        let err = db.exec(sql, &[]).expect_err(sql).to_string();
        assert!(err.contains("foreign key from c to __lmz_alarms"), "{err}");
    }
    let fks = db
        .exec("SELECT count(*) FROM sqlite_schema WHERE name = 'c'", &[])
        .unwrap();
    assert_eq!(fks.scalar().and_then(SqlValue::as_i64), Some(0));
    // Between the handler's own tables, foreign keys work as before.
    let db = storage();
    db.exec_batch(
        "CREATE TABLE p (id INTEGER PRIMARY KEY); \
         CREATE TABLE c (x REFERENCES p(id) ON DELETE CASCADE); \
         ALTER TABLE t ADD COLUMN y REFERENCES p(id); \
         INSERT INTO p VALUES (1); INSERT INTO c VALUES (1); DELETE FROM p;",
    )
    .unwrap();
    let n = db.exec("SELECT count(*) FROM c", &[]).unwrap();
    assert_eq!(n.scalar().and_then(SqlValue::as_i64), Some(0), "cascaded");
    assert!(
        db.exec("INSERT INTO c VALUES (5)", &[]).is_err(),
        "enforced"
    );
}

//! "One turn, one transaction" and "one object, one database", enforced by SQLite itself: a
//! handler's SQL cannot end, roll back or nest the turn's transaction, reach another database,
//! or switch the connection's journal, locking or schema modes, however the statement is
//! spelled (comments, case, a batch whose first statement is harmless).

mod common;

use common::*;
use lumenize_core::clock::ManualClock;
use lumenize_core::prelude::*;
use lumenize_core::runtime::Stub;
use lumenize_core::storage::sqlite::SqliteStorage;
use lumenize_core::storage::{SqlValue, Storage};
use std::time::Duration;

fn runtime() -> Runtime {
    Runtime::builder()
        .object("PROBE", Probe::new)
        .manual_clock(ManualClock::new(T0))
        .build()
        .expect("runtime")
}

/// How a statement reaches SQLite.
#[derive(Clone, Copy, Debug)]
enum Via {
    Exec,
    Batch,
}

fn run_sql(ctx: &Ctx<'_>, via: Via, sql: &str) -> Result<(), String> {
    match via {
        Via::Exec => ctx.sql().exec(sql, &[]).map(drop),
        Via::Batch => ctx.sql().exec_batch(sql),
    }
    .map_err(|e| e.to_string())
}

/// Runs one turn of `p` that bumps `x`, queues a ping to itself, runs `sql`, then fails.
/// Returns what running `sql` gave (carried out through the turn's error).
fn write_try_then_fail(p: &Stub, via: Via, sql: &str) -> Result<(), String> {
    let sql = sql.to_string();
    let err = p
        .run(move |_, ctx| {
            ctx.sql()
                .exec(
                    "INSERT INTO counters (name, n) VALUES ('x', 1) \
                     ON CONFLICT(name) DO UPDATE SET n = n + 1",
                    &[],
                )
                .map_err(|e| ChainError::handler(e.to_string()))?;
            ctx.call(ctx.me(), "ping", vec![Value::from("from-failed")], None)
                .map_err(|e| ChainError::handler(e.to_string()))?;
            let outcome = run_sql(ctx, via, &sql);
            Err::<(), _>(ChainError::handler(format!("{outcome:?}")))
        })
        .unwrap_err()
        .to_string();
    if err.contains("Ok(())") {
        Ok(())
    } else {
        Err(err)
    }
}

fn count(p: &Stub, name: &str) -> f64 {
    num(p.call_method("count", vec![name.into()]).unwrap())
}

const TRANSACTION_CONTROL: &[(Via, &str)] = &[
    (Via::Exec, "/* c */ COMMIT"),
    (Via::Exec, "-- x\nROLLBACK"),
    (Via::Exec, "commit"),
    (Via::Exec, "CoMmIt TrAnSaCtIoN"),
    (Via::Exec, "END"),
    (Via::Exec, "/**/end"),
    (Via::Exec, "BEGIN"),
    (Via::Exec, "begin immediate"),
    (Via::Exec, "SAVEPOINT s"),
    (Via::Exec, "RELEASE s"),
    (Via::Exec, "release savepoint s"),
    (Via::Exec, "ROLLBACK TO s"),
    (Via::Batch, "SELECT 1; COMMIT"),
    (Via::Batch, "SELECT 1;\n/* c */ commit;"),
    (Via::Batch, "SELECT 1; -- x\nROLLBACK"),
    (Via::Batch, "/* c */ COMMIT"),
    (Via::Batch, "select 1; savepoint s; release s"),
    (Via::Batch, "SELECT 1; End; BEGIN"),
];

#[test]
fn transaction_control_is_refused_and_the_failed_turn_rolls_back() {
    let rt = runtime();
    for (i, (via, sql)) in TRANSACTION_CONTROL.iter().enumerate() {
        let p = rt.object("PROBE", &format!("tx-{i}"));
        let outcome = write_try_then_fail(&p, *via, sql);
        let err = outcome.expect_err(&format!("{via:?} {sql:?} ran"));
        assert!(
            err.contains("transaction control is not allowed"),
            "{via:?} {sql:?}: {err}"
        );
        rt.settle(Duration::from_secs(5)).unwrap();
        // The write before the refused statement rolled back with the failed turn, and the
        // ping it queued was dropped.
        assert_eq!(count(&p, "x"), 0.0, "{via:?} {sql:?}");
        assert_eq!(count(&p, "ping:from-failed"), 0.0, "{via:?} {sql:?}");
    }
}

#[test]
fn a_refused_commit_leaves_the_turn_to_commit_normally() {
    let rt = runtime();
    let p = rt.object("PROBE", "ok");
    let refused = p
        .run(|_, ctx| {
            ctx.sql()
                .exec("INSERT INTO counters (name, n) VALUES ('x', 1)", &[])
                .map_err(|e| ChainError::handler(e.to_string()))?;
            ctx.call(ctx.me(), "ping", vec![Value::from("after")], None)
                .map_err(|e| ChainError::handler(e.to_string()))?;
            let a = run_sql(ctx, Via::Exec, "/* c */ COMMIT").is_err();
            let b = run_sql(ctx, Via::Batch, "SELECT 1; COMMIT").is_err();
            Ok(a && b)
        })
        .expect("the host's own COMMIT still works");
    assert!(refused);
    rt.settle(Duration::from_secs(5)).unwrap();
    assert_eq!(count(&p, "x"), 1.0);
    assert_eq!(count(&p, "ping:after"), 1.0, "the outbox was sent");
}

#[test]
fn other_databases_are_out_of_reach() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.sqlite");
    let other_sql = other.display().to_string().replace('\'', "''");
    let cases = [
        (Via::Exec, format!("ATTACH DATABASE '{other_sql}' AS x")),
        (Via::Exec, format!("/* c */ attach '{other_sql}' as x")),
        (Via::Exec, "ATTACH ':memory:' AS m".to_string()),
        (Via::Exec, "DETACH DATABASE m".to_string()),
        (Via::Exec, "detach x".to_string()),
        (
            Via::Batch,
            format!("SELECT 1; COMMIT; ATTACH '{other_sql}' AS x; CREATE TABLE x.t (a);"),
        ),
        (
            Via::Batch,
            format!("SELECT 1; ATTACH '{other_sql}' AS x; CREATE TABLE x.t (a);"),
        ),
    ];
    for (i, (via, sql)) in cases.iter().enumerate() {
        let p = rt.object("PROBE", &format!("attach-{i}"));
        let err = write_try_then_fail(&p, *via, sql).expect_err(sql);
        assert!(
            err.contains("is not allowed") && !err.contains("Ok(())"),
            "{via:?} {sql:?}: {err}"
        );
        rt.settle(Duration::from_secs(5)).unwrap();
        assert_eq!(count(&p, "x"), 0.0, "{sql:?}");
    }
    assert!(!other.exists(), "no statement created the other database");
}

#[test]
fn connection_modes_temporary_objects_and_extensions_are_refused() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.sqlite");
    let refused = [
        "PRAGMA journal_mode = DELETE".to_string(),
        "pragma JOURNAL_MODE=memory".to_string(),
        "PRAGMA locking_mode = EXCLUSIVE".to_string(),
        "PRAGMA writable_schema = ON".to_string(),
        "PRAGMA synchronous = OFF".to_string(),
        "PRAGMA main.query_only = 1".to_string(),
        "PRAGMA temp_store_directory = '/tmp'".to_string(),
        "PRAGMA user_version = 7".to_string(),
        "PRAGMA wal_checkpoint(TRUNCATE)".to_string(),
        "PRAGMA foreign_keys = 2".to_string(),
        "CREATE TEMP TABLE t (a)".to_string(),
        "CREATE TABLE temp.t (a)".to_string(),
        "CREATE TEMPORARY VIEW v AS SELECT 1".to_string(),
        "SELECT load_extension('libnothing')".to_string(),
        "CREATE VIRTUAL TABLE r USING rtree(id, x0, x1)".to_string(),
        "VACUUM".to_string(),
        format!(
            "VACUUM INTO '{}'",
            copy.display().to_string().replace('\'', "''")
        ),
    ];
    for (i, sql) in refused.iter().enumerate() {
        for via in [Via::Exec, Via::Batch] {
            let p = rt.object("PROBE", &format!("mode-{i}-{via:?}"));
            let err = write_try_then_fail(&p, via, sql).expect_err(sql);
            assert!(!err.contains("Ok(())"), "{via:?} {sql:?}: {err}");
            if !sql.starts_with("VACUUM") {
                // VACUUM has no authorizer code: SQLite itself refuses it inside the turn's
                // transaction.
                assert!(err.contains("not allowed"), "{via:?} {sql:?}: {err}");
            }
        }
    }
    assert!(!copy.exists(), "VACUUM INTO wrote no copy");
}

#[test]
fn ordinary_sql_and_introspection_still_run() {
    let rt = runtime();
    let p = rt.object("PROBE", "ordinary");
    let sqls = [
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)",
        "CREATE INDEX t_v ON t (v)",
        "INSERT INTO t (v) VALUES ('a'), ('b') RETURNING id",
        "UPDATE t SET v = upper(v) WHERE id = 1",
        "CREATE VIEW tv AS SELECT v FROM t",
        "CREATE TRIGGER tt AFTER INSERT ON t BEGIN UPDATE t SET v = v WHERE id = new.id; END",
        "ALTER TABLE t ADD COLUMN w INTEGER",
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5) SELECT sum(i) FROM n",
        "SELECT json_extract('{\"a\":1}', '$.a'), datetime(0, 'unixepoch')",
        "CREATE VIRTUAL TABLE docs USING fts5(body)",
        "INSERT INTO docs (body) VALUES ('hello world')",
        "SELECT * FROM docs WHERE docs MATCH 'hello'",
        "PRAGMA table_list",
        "PRAGMA table_info(t)",
        "pragma TABLE_INFO('t')",
        "PRAGMA index_list(t)",
        "PRAGMA foreign_key_list(t)",
        "PRAGMA foreign_keys",
        "PRAGMA foreign_keys = ON",
        "PRAGMA defer_foreign_keys = true",
        "PRAGMA data_version",
        "SELECT name FROM pragma_table_info('t')",
        "SELECT name FROM sqlite_schema",
        "DELETE FROM t WHERE id = 2",
        "DROP VIEW tv",
        "DROP TABLE docs",
        "ANALYZE",
    ];
    let failures = p
        .run(move |_, ctx| {
            let mut failures = Vec::new();
            for sql in sqls {
                if let Err(e) = ctx.sql().exec(sql, &[]) {
                    failures.push(format!("exec {sql:?}: {e}"));
                }
            }
            if let Err(e) = ctx
                .sql()
                .exec_batch("CREATE TABLE u (a); INSERT INTO u VALUES (1); DROP TABLE u;")
            {
                failures.push(format!("batch: {e}"));
            }
            Ok(failures)
        })
        .unwrap();
    assert!(failures.is_empty(), "{failures:#?}");
}

/// The host's own transaction-control statements are compiled once and kept: a handler that
/// sends their exact text still gets the authorizer's refusal, not the host's statement.
#[test]
fn the_hosts_exact_statements_lend_no_privilege() {
    let s = SqliteStorage::in_memory().unwrap();
    s.exec_batch("CREATE TABLE t (a)").unwrap();
    let group = |s: &SqliteStorage| {
        s.begin().unwrap();
        use lumenize_core::storage::TxStorage;
        s.savepoint(&mut || true).unwrap();
        s.savepoint(&mut || false).unwrap();
        s.commit().unwrap();
    };
    group(&s);
    s.begin().unwrap();
    for text in [
        "BEGIN IMMEDIATE",
        "COMMIT",
        "ROLLBACK",
        "SAVEPOINT lmz_msg",
        "RELEASE lmz_msg",
        "ROLLBACK TO lmz_msg",
    ] {
        let err = s.exec(text, &[]).unwrap_err();
        assert!(
            err.message.contains("not allowed"),
            "{text}: {}",
            err.message
        );
        assert!(s.in_transaction(), "{text} changed the transaction");
    }
    s.exec("INSERT INTO t VALUES (1)", &[]).unwrap();
    s.commit().unwrap();
    group(&s);
    let n = s.exec("SELECT count(*) FROM t", &[]).unwrap();
    assert_eq!(n.scalar(), Some(&SqlValue::Integer(1)));
}

#[test]
fn the_host_path_keeps_its_transaction_control() {
    let s = SqliteStorage::in_memory().unwrap();
    s.exec_batch("CREATE TABLE t (a)").unwrap();
    s.begin().unwrap();
    s.exec("INSERT INTO t VALUES (?1)", &[SqlValue::Integer(1)])
        .unwrap();
    let err = s.exec("/* c */ COMMIT", &[]).unwrap_err();
    assert!(
        err.message.contains("transaction control is not allowed")
            && err.message.contains("COMMIT"),
        "{err}"
    );
    assert!(s.in_transaction(), "the refused COMMIT changed nothing");
    s.rollback().unwrap();
    let n = s.exec("SELECT count(*) FROM t", &[]).unwrap();
    assert_eq!(n.scalar(), Some(&SqlValue::Integer(0)));
    s.begin().unwrap();
    s.exec("INSERT INTO t VALUES (2)", &[]).unwrap();
    s.commit().unwrap();
    assert!(!s.in_transaction());
    // A refused statement is refused again when it comes back (prepared statements are cached).
    for _ in 0..2 {
        assert!(s.exec("SAVEPOINT a", &[]).is_err());
    }
    let n = s.exec("SELECT count(*) FROM t", &[]).unwrap();
    assert_eq!(n.scalar(), Some(&SqlValue::Integer(1)));
}

#[test]
fn file_backed_objects_keep_wal_and_refuse_mode_changes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("o.sqlite");
    let wal = dir.path().join("o.sqlite-wal");
    let s = SqliteStorage::open(&path).unwrap();
    s.exec_batch("CREATE TABLE t (a)").unwrap();
    assert!(wal.exists(), "WAL mode");
    for sql in [
        "PRAGMA journal_mode = DELETE",
        "/* */ pragma journal_mode=delete",
    ] {
        let err = s.exec(sql, &[]).unwrap_err();
        assert!(err.message.contains("PRAGMA journal_mode"), "{err}");
    }
    let err = s
        .exec_batch("SELECT 1; PRAGMA journal_mode=DELETE")
        .unwrap_err();
    assert!(err.message.contains("is not allowed"), "{err}");
    s.begin().unwrap();
    s.exec("INSERT INTO t VALUES (1)", &[]).unwrap();
    s.commit().unwrap();
    // Leaving WAL mode would have checkpointed and deleted the -wal file.
    assert!(wal.exists(), "still in WAL mode");
}

/// Statements that make SQLite itself roll back the whole transaction (the host's): a conflict
/// resolved with ROLLBACK (`INSERT OR ROLLBACK`, `UPDATE OR ROLLBACK`, a column's `ON CONFLICT
/// ROLLBACK`) or `RAISE(ROLLBACK)` in a trigger. No authorizer action names them.
const ROLLS_BACK_THE_TURN: &[(&str, &str)] = &[
    (
        "CREATE TABLE u (a UNIQUE); INSERT INTO u VALUES (1);",
        "INSERT OR ROLLBACK INTO u VALUES (1)",
    ),
    (
        "CREATE TABLE u (a UNIQUE); INSERT INTO u VALUES (1), (2);",
        "/* c */ update or rollback u set a = 1",
    ),
    (
        "CREATE TABLE u (a UNIQUE ON CONFLICT ROLLBACK); INSERT INTO u VALUES (1);",
        "INSERT INTO u VALUES (1)",
    ),
    (
        "CREATE TABLE u (a); \
         CREATE TRIGGER r AFTER INSERT ON u BEGIN SELECT RAISE(ROLLBACK, 'no'); END;",
        "INSERT INTO u VALUES (2)",
    ),
];

/// After such a statement the connection is in autocommit: before the fix, the handler's later
/// statements (and the runtime's own writes it asked for) each committed at once, kept even
/// though the turn then failed. They are refused until the host ends the turn; the host's
/// savepoint and commit report that the transaction is gone, and nothing of the turn stays.
#[test]
fn a_statement_that_rolls_back_the_turn_leaves_no_later_write() {
    use lumenize_core::storage::{Kv, TxStorage, KV_SCHEMA};
    for (setup, sql) in ROLLS_BACK_THE_TURN {
        let s = SqliteStorage::in_memory().unwrap();
        s.exec_batch(setup).unwrap();
        s.exec_batch("CREATE TABLE t (a)").unwrap();
        s.as_runtime(|| s.exec_batch(KV_SCHEMA)).unwrap();
        s.begin().unwrap();
        let mut later = Vec::new();
        let sp = s.savepoint(&mut || {
            s.exec("INSERT INTO t VALUES ('before')", &[]).unwrap();
            assert!(s.exec(sql, &[]).is_err(), "{sql}");
            later.push(s.exec("INSERT INTO t VALUES ('after')", &[]).map(drop));
            later.push(s.exec_batch("SELECT 1; INSERT INTO t VALUES ('batch')"));
            later.push(Kv::new(&s).put_text("k", "v"));
            true
        });
        let rows = |table: &str| {
            let sql = format!("SELECT count(*) FROM {table}");
            let n = s.connection().query_row(&sql, [], |r| r.get::<_, i64>(0));
            n.unwrap()
        };
        assert_eq!(
            (rows("t"), rows("__lmz_kv")),
            (0, 0),
            "{sql}: a later write stayed"
        );
        for r in later {
            let e = r.expect_err(sql);
            assert!(e.message.contains("rolled back"), "{sql}: {e}");
        }
        assert!(sp.is_err(), "{sql}: the savepoint reported nothing");
        assert!(s.commit().is_err(), "{sql}: the commit reported nothing");
        s.rollback().unwrap();
        // The next turn runs normally.
        s.begin().unwrap();
        s.exec("INSERT INTO t VALUES ('next')", &[]).unwrap();
        s.commit().unwrap();
        assert_eq!(rows("t"), 1, "{sql}");
    }
}

/// The same through a real object: the handler's write after the statement that rolled the
/// turn back does not stay, and the turn fails.
#[test]
fn a_handler_that_rolls_back_its_turn_keeps_nothing() {
    let rt = runtime();
    let p = rt.object("PROBE", "rolls-back");
    p.run(|_, ctx| {
        ctx.sql()
            .exec_batch("CREATE TABLE u (a UNIQUE); INSERT INTO u VALUES (1);")
            .map_err(|e| ChainError::handler(e.to_string()))
    })
    .unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let turn = p.run(move |_, ctx| {
        let bump = "INSERT INTO counters (name, n) VALUES (?1, 1)";
        ctx.sql().exec(bump, &["before".into()]).unwrap();
        let rolled = ctx.sql().exec("INSERT OR ROLLBACK INTO u VALUES (1)", &[]);
        let after = ctx.sql().exec(bump, &["after".into()]);
        log.lock()
            .unwrap()
            .extend([rolled.is_err(), after.is_err()]);
        Ok(())
    });
    rt.settle(Duration::from_secs(5)).unwrap();
    assert_eq!(count(&p, "before"), 0.0);
    assert_eq!(
        count(&p, "after"),
        0.0,
        "the write after the rollback stayed"
    );
    assert_eq!(
        *seen.lock().unwrap(),
        [true, true],
        "both statements failed"
    );
    turn.expect_err("the turn cannot commit");
}

/// A message of a group that leaves a deferred foreign-key violation on its own tables
/// (`PRAGMA defer_foreign_keys`, or a key declared `DEFERRABLE INITIALLY DEFERRED`) and
/// succeeds: SQLite checks deferred keys only at the outermost COMMIT, so before the fix the
/// group's commit failed, and with it every other message of the group. Its savepoint is now
/// rolled back instead (the message fails alone), and the others commit.
#[test]
fn a_deferred_foreign_key_left_by_one_message_fails_only_that_message() {
    use lumenize_core::storage::TxStorage;
    for orphan in [
        "PRAGMA defer_foreign_keys = ON; INSERT INTO child VALUES (99)",
        "INSERT INTO lazy_child VALUES (99)",
    ] {
        let s = SqliteStorage::in_memory().unwrap();
        s.exec_batch(
            "CREATE TABLE parent (id INTEGER PRIMARY KEY); \
             CREATE TABLE child (p REFERENCES parent(id)); \
             CREATE TABLE lazy_child (p REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED); \
             CREATE TABLE t (a);",
        )
        .unwrap();
        let mut kept = Vec::new();
        let tx = s.transaction(&mut || {
            kept.push(s.savepoint(&mut || s.exec_batch("INSERT INTO t VALUES (1)").is_ok()));
            kept.push(s.savepoint(&mut || {
                s.exec_batch(&format!("INSERT INTO t VALUES (2); {orphan}"))
                    .unwrap();
                true
            }));
            kept.push(s.savepoint(&mut || s.exec_batch("INSERT INTO t VALUES (3)").is_ok()));
            true
        });
        assert_eq!(tx, Ok(true), "{orphan}: the group's commit failed");
        assert_eq!(kept, [Ok(true), Ok(false), Ok(true)], "{orphan}");
        let n = s.exec("SELECT group_concat(a) FROM t", &[]).unwrap();
        assert_eq!(n.scalar(), Some(&SqlValue::from("1,3")), "{orphan}");
    }
}

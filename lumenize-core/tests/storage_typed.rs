//! serde-typed storage on real rusqlite files: `kv().get_as`/`put_as` through the structured
//! clone serde bridge, `sql().query_as` rows by column name or position, and handlers that use
//! `?` on all of it with `lumenize_core::Error`.

use lumenize_core::clock::ManualClock;
use lumenize_core::prelude::*;
use lumenize_core::storage::sqlite::SqliteStorage;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Settings {
    volume: u8,
    muted: bool,
    name: Option<String>,
    tags: Vec<String>,
    limits: BTreeMap<String, f64>,
}

#[derive(Deserialize, Debug, PartialEq)]
enum Status {
    Open,
    Done,
}

#[derive(Deserialize, Debug, PartialEq)]
struct Task {
    id: i64,
    title: String,
    done: bool,
    due: Option<f64>,
    status: Status,
    blob: Option<Vec<u8>>,
}

fn settings() -> Settings {
    Settings {
        volume: 7,
        muted: false,
        name: None,
        tags: vec!["a".into(), "b".into()],
        limits: BTreeMap::from([("x".to_string(), 1.5)]),
    }
}

fn file_db(dir: &tempfile::TempDir) -> SqliteStorage {
    SqliteStorage::open(&dir.path().join("typed.sqlite")).unwrap()
}

#[test]
fn query_as_reads_rows_by_name_and_by_position_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let db = file_db(&dir);
    let db: &dyn Storage = &db;
    db.exec_batch(
        "CREATE TABLE tasks (id INTEGER PRIMARY KEY, title TEXT, done INTEGER, due REAL, status TEXT, blob BLOB);
         INSERT INTO tasks VALUES (9007199254740993, 'big id', 0, 1.5, 'Open', x'0102ff');
         INSERT INTO tasks VALUES (2, 'small', 1, NULL, 'Done', NULL);",
    )
    .unwrap();
    let tasks: Vec<Task> = db.query_as("SELECT * FROM tasks ORDER BY id", &[]).unwrap();
    assert_eq!(
        tasks,
        [
            Task {
                id: 2,
                title: "small".into(),
                done: true,
                due: None,
                status: Status::Done,
                blob: None
            },
            Task {
                id: 9_007_199_254_740_993, // beyond 2^53: exact, not rounded through an f64
                title: "big id".into(),
                done: false,
                due: Some(1.5),
                status: Status::Open,
                blob: Some(vec![1, 2, 255]),
            },
        ]
    );
    let pairs: Vec<(String, bool)> = db
        .query_as(
            "SELECT title, done FROM tasks WHERE id = ?1",
            &[SqlValue::Integer(2)],
        )
        .unwrap();
    assert_eq!(pairs, [("small".to_string(), true)]);
    let counts: Vec<BTreeMap<String, i64>> =
        db.query_as("SELECT count(*) AS n FROM tasks", &[]).unwrap();
    assert_eq!(counts[0]["n"], 2);
}

#[test]
fn a_row_that_does_not_fit_is_an_error_naming_the_row_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let db = file_db(&dir);
    let db: &dyn Storage = &db;
    db.exec_batch("CREATE TABLE t (id INTEGER, title TEXT); INSERT INTO t VALUES (1, NULL);")
        .unwrap();
    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Row {
        id: i64,
        title: String,
    }
    let err = db
        .query_as::<Row>("SELECT * FROM t", &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains("row 0"), "{err}");
    assert!(err.contains("SELECT * FROM t"), "{err}");
    let err = db
        .query_as::<Row>("SELECT id FROM t", &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing field `title`"), "{err}");
}

#[derive(Default)]
struct Prefs;

impl Prefs {
    fn save(&mut self, ctx: &Ctx<'_>, volume: f64) -> Result<(), lumenize_core::Error> {
        let mut s = ctx
            .kv()
            .get_as::<Settings>("settings")?
            .unwrap_or_else(settings);
        s.volume = volume as u8;
        ctx.kv().put_as("settings", &s)?;
        ctx.sql().exec(
            "CREATE TABLE IF NOT EXISTS history (seq INTEGER PRIMARY KEY, volume INTEGER)",
            &[],
        )?;
        ctx.sql().exec(
            "INSERT INTO history (volume) VALUES (?1)",
            &[SqlValue::Integer(s.volume as i64)],
        )?;
        Ok(())
    }

    fn history(&mut self, ctx: &Ctx<'_>) -> Result<Vec<f64>, lumenize_core::Error> {
        let rows: Vec<(i64,)> = ctx
            .sql()
            .query_as("SELECT volume FROM history ORDER BY seq", &[])?;
        Ok(rows.into_iter().map(|(v,)| v as f64).collect())
    }

    fn wrong_shape(&mut self, ctx: &Ctx<'_>) -> Result<(), lumenize_core::Error> {
        ctx.kv().put("settings", &Value::from("not settings"))?;
        ctx.kv().get_as::<Settings>("settings")?;
        Ok(())
    }
}

lumenize_core::handlers!(Prefs { save(volume: f64), history(), wrong_shape() });

#[test]
fn handlers_use_typed_kv_and_rows_with_question_marks_on_a_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let build = || {
        Runtime::builder()
            .data_dir(dir.path())
            .object("PREFS", |_| Prefs)
            .manual_clock(ManualClock::new(1_700_000_000_000))
            .build()
            .unwrap()
    };
    let rt = build();
    assert_eq!(rt.data_dir(), Some(dir.path()));
    let p = rt.object("PREFS", "me");
    p.call_method("save", vec![Value::from(3.0)]).unwrap();
    p.call_method("save", vec![Value::from(9.0)]).unwrap();
    let err = p
        .call_method("wrong_shape", vec![])
        .unwrap_err()
        .to_string();
    assert!(err.contains("is not a"), "{err}");
    drop(rt);

    // Reopened from the files: the typed value and the rows are there.
    let rt = build();
    let p = rt.object("PREFS", "me");
    let history = p.call_method("history", vec![]).unwrap();
    let got: Vec<f64> = lumenize_core::structured_clone::from_value(&history).unwrap();
    assert_eq!(got, [3.0, 9.0]);
    let stored = p
        .run(|_, ctx| {
            ctx.kv()
                .get_as::<Settings>("settings")
                .map_err(|e| ChainError::Storage(e.to_string()))
        })
        .unwrap();
    assert_eq!(
        stored,
        Some(Settings {
            volume: 9,
            ..settings()
        })
    );
}

//! Rows written as Cloudflare counts them (workerd's `rowsWritten`: every table or index entry
//! inserted, one per row deleted), statement by statement, on a real SQLite file. The same
//! statements (`data/rows_written.txt`) run in the backend suite on workerd too, which checks
//! these counts against the SQL cursors' own counter.
#![cfg(feature = "native")]

use lumenize_core::storage::sqlite::SqliteStorage;
use lumenize_core::storage::{SqlValue, Storage};

/// The cases, shared with the backend suite (which runs them in workerd too).
const CASES: &str = include_str!("data/rows_written.txt");

/// `(schema, [(statement, rows written as Cloudflare counts them)])`.
fn cases() -> (String, Vec<(&'static str, u64)>) {
    let mut schema = String::new();
    let mut cases = Vec::new();
    for line in CASES
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (count, sql) = line.split_once('\t').expect("`<rows>\t<statement>`");
        if count == "schema" {
            schema.push_str(sql);
            schema.push('\n');
        } else {
            cases.push((sql, count.parse().expect("a row count")));
        }
    }
    (schema, cases)
}

fn written(s: &SqliteStorage) -> u64 {
    s.stats().rows_written
}

#[test]
fn each_statement_counts_its_rows_and_index_entries_as_cloudflare_does() {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStorage::open(&dir.path().join("db.sqlite")).unwrap();
    let (schema, cases) = cases();
    assert!(cases.len() >= 16);
    s.exec_batch(&schema).unwrap();
    for (sql, expected) in cases {
        let before = written(&s);
        s.exec(sql, &[]).unwrap();
        assert_eq!(written(&s) - before, expected, "{sql}");
    }
}

#[test]
fn a_cached_statement_counts_the_same_every_time_and_sees_a_new_index() {
    let s = SqliteStorage::in_memory().unwrap();
    s.exec_batch("CREATE TABLE t (k TEXT PRIMARY KEY NOT NULL, t INTEGER) WITHOUT ROWID")
        .unwrap();
    let insert = "INSERT INTO t (k, t) VALUES (?1, 1)";
    for i in 0..3 {
        let before = written(&s);
        s.exec(insert, &[SqlValue::from(format!("k{i}"))]).unwrap();
        assert_eq!(written(&s) - before, 1, "run {i}");
    }
    // An index created later costs one more entry per insert, from then on.
    s.exec("CREATE INDEX t_t ON t (t)", &[]).unwrap();
    let before = written(&s);
    s.exec(insert, &[SqlValue::from("k9")]).unwrap();
    assert_eq!(written(&s) - before, 2);
}

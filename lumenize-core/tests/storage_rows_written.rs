//! Rows written as Cloudflare counts them (workerd's `rowsWritten`: every table or index entry
//! inserted, one per row deleted), statement by statement, on a real SQLite file. The same
//! statements run in the workerd suite (`rowsWrittenCases` of the example worker), which
//! checks these counts against the cursors' own counter.
#![cfg(feature = "native")]

use lumenize_core::storage::sqlite::SqliteStorage;
use lumenize_core::storage::{SqlValue, Storage};

/// The schema of the cases: a rowid table with one index, a `WITHOUT ROWID` table without
/// secondary index, a rowid table whose text primary key is an index of its own, and a
/// `WITHOUT ROWID` table with one secondary index.
pub const SCHEMA: &str = "
CREATE TABLE t_rowid (a INTEGER, b TEXT, c TEXT);
CREATE INDEX t_rowid_b ON t_rowid (b);
CREATE TABLE t_wr (k TEXT PRIMARY KEY NOT NULL, v TEXT) WITHOUT ROWID;
CREATE TABLE t_textpk (k TEXT PRIMARY KEY NOT NULL, v TEXT);
CREATE TABLE t_wr_ix (k TEXT PRIMARY KEY NOT NULL, t INTEGER, v TEXT) WITHOUT ROWID;
CREATE INDEX t_wr_ix_t ON t_wr_ix (t, k);
";

/// `(statement, rows written as Cloudflare counts them)`, run in this order.
pub const CASES: &[(&str, u64)] = &[
    // Row + its index entry.
    ("INSERT INTO t_rowid (a, b, c) VALUES (1, 'x', 'y')", 2),
    (
        "INSERT INTO t_rowid (a, b, c) VALUES (2, 'x', 'y'), (3, 'z', 'y')",
        4,
    ),
    // The changed column is not indexed: the row only.
    ("UPDATE t_rowid SET c = 'w' WHERE a = 1", 1),
    // The indexed column changes: row + new index entry.
    ("UPDATE t_rowid SET b = 'q' WHERE a = 1", 2),
    // A delete counts the rows, not their index entries.
    ("DELETE FROM t_rowid WHERE a >= 2", 2),
    // The primary key is the row.
    ("INSERT INTO t_wr (k, v) VALUES ('a', '1')", 1),
    ("INSERT OR REPLACE INTO t_wr (k, v) VALUES ('a', '2')", 1),
    (
        "INSERT INTO t_wr (k, v) VALUES ('a', '3') ON CONFLICT(k) DO UPDATE SET v = excluded.v",
        1,
    ),
    ("DELETE FROM t_wr WHERE k = 'a'", 1),
    // A text primary key on a rowid table is an index of its own.
    ("INSERT INTO t_textpk (k, v) VALUES ('a', '1')", 2),
    ("DELETE FROM t_textpk WHERE k = 'a'", 1),
    ("INSERT INTO t_wr_ix (k, t, v) VALUES ('a', 5, 'x')", 2),
    ("UPDATE t_wr_ix SET v = 'y' WHERE k = 'a'", 1),
    ("UPDATE t_wr_ix SET t = 6 WHERE k = 'a'", 2),
    ("DELETE FROM t_wr_ix WHERE k = 'a'", 1),
    // Nothing changed: nothing written.
    ("DELETE FROM t_wr_ix WHERE k = 'nope'", 0),
];

fn written(s: &SqliteStorage) -> u64 {
    s.stats().rows_written
}

#[test]
fn each_statement_counts_its_rows_and_index_entries_as_cloudflare_does() {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStorage::open(&dir.path().join("db.sqlite")).unwrap();
    s.exec_batch(SCHEMA).unwrap();
    for (sql, expected) in CASES {
        let before = written(&s);
        s.exec(sql, &[]).unwrap();
        assert_eq!(written(&s) - before, *expected, "{sql}");
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

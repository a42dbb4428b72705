//! The native [`Storage`]: one rusqlite connection per object, file-backed (WAL) or in memory.

use super::{check_not_transaction_control, RowStats, Rows, SqlValue, Storage, StorageError};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, StatementStatus};
use std::cell::Cell;
use std::path::Path;

/// An object's SQLite database.
///
/// Counting (the basis of [`RowStats`]), per statement:
/// - **rows read** = the larger of the rows the statement returned and SQLite's
///   `SQLITE_STMTSTATUS_FULLSCAN_STEP` (rows stepped through by full table scans), so a
///   `SELECT count(*)` over 1,000 rows counts 1,000 and an indexed point lookup counts the rows
///   it returns;
/// - **rows written** = the growth of `sqlite3_total_changes()` across the statement (rows
///   inserted, updated or deleted; `INSERT OR REPLACE` that replaces counts 1). Not
///   `sqlite3_changes()`: that keeps the count of the last INSERT/UPDATE/DELETE, so a DDL or
///   other statement that changes nothing (`CREATE TABLE IF NOT EXISTS`) would count it again.
///   Index updates are not counted separately (Cloudflare counts them; see
///   `runtime::Accounting`).
pub struct SqliteStorage {
    conn: Connection,
    read: Cell<u64>,
    written: Cell<u64>,
}

impl SqliteStorage {
    /// Opens (creating if needed) a file-backed database in WAL mode.
    ///
    /// `synchronous=NORMAL`: a committed transaction survives a process crash (the WAL is
    /// written before `COMMIT` returns) but may be lost on an OS crash or power cut.
    pub fn open(path: &Path) -> Result<SqliteStorage, StorageError> {
        let conn = Connection::open(path)
            .map_err(|e| StorageError::new(e.to_string(), format!("open {}", path.display())))?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
        )
        .map_err(|e| StorageError::new(e.to_string(), "PRAGMA journal_mode=WAL"))?;
        Ok(Self::wrap(conn))
    }

    /// A fresh in-memory database (gone when dropped).
    pub fn in_memory() -> Result<SqliteStorage, StorageError> {
        let conn = Connection::open_in_memory()
            .map_err(|e| StorageError::new(e.to_string(), "open :memory:"))?;
        Ok(Self::wrap(conn))
    }

    fn wrap(conn: Connection) -> SqliteStorage {
        conn.set_prepared_statement_cache_capacity(128);
        SqliteStorage {
            conn,
            read: Cell::new(0),
            written: Cell::new(0),
        }
    }

    /// Starts the handler's transaction (`BEGIN IMMEDIATE`: takes the write lock now, so a
    /// second connection to the same file can never interleave inside it).
    pub fn begin(&self) -> Result<(), StorageError> {
        self.control("BEGIN IMMEDIATE")
    }

    /// Commits the handler's transaction.
    pub fn commit(&self) -> Result<(), StorageError> {
        self.control("COMMIT")
    }

    /// Rolls the handler's transaction back (a no-op when none is open).
    pub fn rollback(&self) -> Result<(), StorageError> {
        if self.conn.is_autocommit() {
            return Ok(());
        }
        self.control("ROLLBACK")
    }

    /// True while a transaction is open.
    pub fn in_transaction(&self) -> bool {
        !self.conn.is_autocommit()
    }

    fn control(&self, sql: &str) -> Result<(), StorageError> {
        self.conn
            .execute_batch(sql)
            .map_err(|e| StorageError::new(e.to_string(), sql))
    }

    /// The underlying connection (benchmarks and tests compare against raw rusqlite).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

impl rusqlite::ToSql for SqlValue {
    /// Binds by reference (no copy of text or blobs).
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::ToSqlOutput::Borrowed;
        Ok(match self {
            SqlValue::Null => Borrowed(ValueRef::Null),
            SqlValue::Integer(n) => Borrowed(ValueRef::Integer(*n)),
            SqlValue::Real(f) => Borrowed(ValueRef::Real(*f)),
            SqlValue::Text(s) => Borrowed(ValueRef::Text(s.as_bytes())),
            SqlValue::Blob(b) => Borrowed(ValueRef::Blob(b)),
        })
    }
}

fn from_ref(v: ValueRef<'_>) -> SqlValue {
    match v {
        ValueRef::Null => SqlValue::Null,
        ValueRef::Integer(n) => SqlValue::Integer(n),
        ValueRef::Real(f) => SqlValue::Real(f),
        ValueRef::Text(t) => SqlValue::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => SqlValue::Blob(b.to_vec()),
    }
}

impl Storage for SqliteStorage {
    fn exec(&self, sql: &str, params: &[SqlValue]) -> Result<Rows, StorageError> {
        check_not_transaction_control(sql)?;
        let err = |e: rusqlite::Error| StorageError::new(e.to_string(), sql);
        let mut stmt = self.conn.prepare_cached(sql).map_err(err)?;
        let columns: Vec<String> = stmt.column_names().iter().map(|c| c.to_string()).collect();
        let ncol = columns.len();
        let changes0 = self.conn.total_changes();
        let mut out = Vec::new();
        {
            let mut rows = stmt
                .query(rusqlite::params_from_iter(params.iter()))
                .map_err(err)?;
            while let Some(row) = rows.next().map_err(err)? {
                let mut cells = Vec::with_capacity(ncol);
                for i in 0..ncol {
                    cells.push(from_ref(row.get_ref(i).map_err(err)?));
                }
                out.push(cells);
            }
        }
        let scanned = stmt.reset_status(StatementStatus::FullscanStep).max(0) as u64;
        self.read
            .set(self.read.get() + scanned.max(out.len() as u64));
        let changed = self.conn.total_changes().saturating_sub(changes0);
        self.written.set(self.written.get() + changed);
        Ok(Rows { columns, rows: out })
    }

    fn exec_batch(&self, sql: &str) -> Result<(), StorageError> {
        check_not_transaction_control(sql)?;
        self.conn
            .execute_batch(sql)
            .map_err(|e| StorageError::new(e.to_string(), sql))
    }

    fn stats(&self) -> RowStats {
        RowStats {
            rows_read: self.read.get(),
            rows_written: self.written.get(),
        }
    }
}

//! [`FaultyStorage`]: the real [`SqliteStorage`] (in memory) behind a wrapper that fails what
//! the seed says: statement k of a turn, the COMMIT, the open, every write while the disk is
//! full.
//!
//! A crash needs no help from here: the in-memory database *is* the object's disk. A crash
//! rolls back the open transaction and drops everything in memory; what committed stays.

use lumenize_core::storage::sqlite::SqliteStorage;
use lumenize_core::storage::{RowStats, Rows, SqlValue, Storage, StorageError};
use std::cell::Cell;

/// The real storage with injected failures. The host arms the faults of each turn.
pub struct FaultyStorage {
    inner: SqliteStorage,
    /// Statements run since the turn began.
    count: Cell<u32>,
    /// Fail the statement with this index (0-based) in the current turn.
    fail_at: Cell<Option<u32>>,
    /// Fail the next COMMIT.
    fail_commit: Cell<bool>,
    /// Writes fail (SQLITE_FULL) while set.
    disk_full: Cell<bool>,
    /// Failures injected so far.
    injected: Cell<u64>,
}

impl FaultyStorage {
    /// A fresh in-memory database.
    pub fn new() -> Result<FaultyStorage, StorageError> {
        Ok(FaultyStorage {
            inner: SqliteStorage::in_memory()?,
            count: Cell::new(0),
            fail_at: Cell::new(None),
            fail_commit: Cell::new(false),
            disk_full: Cell::new(false),
            injected: Cell::new(0),
        })
    }

    /// Arms the faults of the next turn.
    pub fn arm(&self, fail_at: Option<u32>, fail_commit: bool, disk_full: bool) {
        self.count.set(0);
        self.fail_at.set(fail_at);
        self.fail_commit.set(fail_commit);
        self.disk_full.set(disk_full);
    }

    /// Disarms every fault (checks and quiescence read the truth).
    pub fn disarm(&self) {
        self.arm(None, false, false);
    }

    /// Failures injected so far.
    pub fn injected(&self) -> u64 {
        self.injected.get()
    }

    fn inject(&self, what: &str, sql: &str) -> StorageError {
        self.injected.set(self.injected.get() + 1);
        StorageError::new(format!("simulated fault: {what}"), sql)
    }

    /// `BEGIN IMMEDIATE`.
    pub fn begin(&self) -> Result<(), StorageError> {
        self.inner.begin()
    }

    /// `COMMIT`, unless the seed fails it (then nothing commits: the host rolls back).
    pub fn commit(&self) -> Result<(), StorageError> {
        if self.fail_commit.replace(false) {
            return Err(self.inject("COMMIT failed", "COMMIT"));
        }
        self.inner.commit()
    }

    /// `ROLLBACK` (a no-op outside a transaction).
    pub fn rollback(&self) -> Result<(), StorageError> {
        self.inner.rollback()
    }

    /// True while a transaction is open.
    pub fn in_transaction(&self) -> bool {
        self.inner.in_transaction()
    }

    fn check(&self, sql: &str) -> Result<(), StorageError> {
        let k = self.count.get();
        self.count.set(k + 1);
        if self.fail_at.get() == Some(k) {
            return Err(self.inject(&format!("statement {k} failed"), sql));
        }
        if self.disk_full.get() {
            // Asked of SQLite (does the statement write?), not read from its text.
            let writes = self
                .inner
                .connection()
                .prepare_cached(sql)
                .map(|s| !s.readonly())
                .unwrap_or(true);
            if writes {
                return Err(self.inject("database or disk is full", sql));
            }
        }
        Ok(())
    }
}

impl Storage for FaultyStorage {
    fn exec(&self, sql: &str, params: &[SqlValue]) -> Result<Rows, StorageError> {
        self.check(sql)?;
        self.inner.exec(sql, params)
    }

    fn exec_batch(&self, sql: &str) -> Result<(), StorageError> {
        self.check(sql)?;
        self.inner.exec_batch(sql)
    }

    fn stats(&self) -> RowStats {
        self.inner.stats()
    }
}

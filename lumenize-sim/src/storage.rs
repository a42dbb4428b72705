//! [`FaultyStorage`]: the real [`SqliteStorage`] (in memory) behind a wrapper that fails what
//! the seed says: statement k of a turn, the COMMIT, the open, every write while the disk is
//! full.
//!
//! A crash needs no help from here: the in-memory database *is* the object's disk. A crash
//! rolls back the open transaction and drops everything in memory; what committed stays.

use lumenize_core::storage::sqlite::SqliteStorage;
use lumenize_core::storage::{RowStats, Rows, SqlValue, Storage, StorageError, TxStorage};
use std::cell::Cell;
use std::rc::Rc;

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
    /// The next COMMIT is where the process dies: it rolls back instead.
    crash_at_commit: Cell<bool>,
    /// The process died: nothing runs until the object is reopened.
    dead: Cell<bool>,
    /// Statement faults also hit statements outside a transaction (the engine's re-read of
    /// the alarm slot after a rollback: finding 2).
    outside_tx: Cell<bool>,
    /// An open (`TurnEngine::open`) is running: its transaction is not a turn.
    opening: Cell<bool>,
    /// Armed for a turn (the host's own queries run disarmed and are not a turn's work).
    in_turn: Cell<bool>,
    /// What the disk saw of turns' transactions (the oracle's side of the accounting).
    work: Cell<DiskWork>,
    /// Savepoints opened and kept in the open transaction (a group: one turn each).
    savepoints: Cell<(u64, u64)>,
}

/// The transactions of turns as the disk saw them, opens left out: the work the host's
/// accounting of the turns' `Outputs` must add up to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DiskWork {
    /// Transactions attempted (a `BEGIN` refused by a dead process included).
    pub begun: u64,
    /// Transactions committed.
    pub committed: u64,
    /// Rows written inside them, committed or rolled back.
    pub rows_written: u64,
    /// Statements that failed outside any transaction, injected or refused by a dead process
    /// (the alarm slot's re-read after a rollback).
    pub outside_faults: u64,
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
            crash_at_commit: Cell::new(false),
            dead: Cell::new(false),
            outside_tx: Cell::new(false),
            opening: Cell::new(false),
            in_turn: Cell::new(false),
            work: Cell::new(DiskWork::default()),
            savepoints: Cell::new((0, 0)),
        })
    }

    /// Arms the faults of the next turn.
    pub fn arm(&self, fail_at: Option<u32>, fail_commit: bool, disk_full: bool) {
        self.in_turn.set(true);
        self.count.set(0);
        self.fail_at.set(fail_at);
        self.fail_commit.set(fail_commit);
        self.disk_full.set(disk_full);
    }

    /// Disarms every fault (checks and quiescence read the truth).
    pub fn disarm(&self) {
        self.arm(None, false, false);
        self.crash_at_commit.set(false);
        self.in_turn.set(false);
    }

    /// The process dies at the next COMMIT (before it).
    pub fn crash_at_commit(&self) {
        self.crash_at_commit.set(true);
    }

    /// Lets statement faults hit statements outside a transaction too (finding 2).
    pub fn faults_outside_transactions(&self, on: bool) {
        self.outside_tx.set(on);
    }

    /// True after the process died (until the object is reopened).
    pub fn is_dead(&self) -> bool {
        self.dead.get()
    }

    /// The process is dead (`true`) or restarted (`false`): a dead process runs nothing.
    pub fn set_dead(&self, dead: bool) {
        self.dead.set(dead);
    }

    /// Failures injected so far.
    pub fn injected(&self) -> u64 {
        self.injected.get()
    }

    /// Marks the transactions that follow as an open's (not a turn's) until cleared.
    pub fn set_opening(&self, on: bool) {
        self.opening.set(on);
    }

    /// The turns' transactions so far.
    pub fn work(&self) -> DiskWork {
        self.work.get()
    }

    fn note(&self, f: impl FnOnce(&mut DiskWork)) {
        if !self.opening.get() {
            let mut w = self.work.get();
            f(&mut w);
            self.work.set(w);
        }
    }

    fn inject(&self, what: &str, sql: &str) -> StorageError {
        self.injected.set(self.injected.get() + 1);
        if self.in_turn.get() && !self.inner.in_transaction() {
            self.note(|w| w.outside_faults += 1);
        }
        StorageError::new(format!("simulated fault: {what}"), sql)
    }

    /// `BEGIN IMMEDIATE` (refused while the process is dead).
    pub fn begin(&self) -> Result<(), StorageError> {
        if self.dead.get() {
            return Err(StorageError::new("the process is dead", "BEGIN"));
        }
        self.inner.begin()
    }

    /// `COMMIT`, unless the seed fails it or the process dies here (then nothing commits:
    /// the caller rolls back).
    pub fn commit(&self) -> Result<(), StorageError> {
        if self.crash_at_commit.replace(false) {
            self.dead.set(true);
            return Err(StorageError::new(
                "the process died before COMMIT",
                "COMMIT",
            ));
        }
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
        if self.dead.get() {
            if self.in_turn.get() && !self.inner.in_transaction() {
                self.note(|w| w.outside_faults += 1);
            }
            return Err(StorageError::new("the process is dead", sql));
        }
        if !self.outside_tx.get() && !self.inner.in_transaction() {
            return Ok(());
        }
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

/// The object's disk as the turn engine holds it: shared with the host, which keeps it when
/// it drops the engine in a crash and reopens a new engine on it.
#[derive(Clone)]
pub struct Disk(pub Rc<FaultyStorage>);

impl Storage for Disk {
    fn exec(&self, sql: &str, params: &[SqlValue]) -> Result<Rows, StorageError> {
        self.0.exec(sql, params)
    }

    fn exec_batch(&self, sql: &str) -> Result<(), StorageError> {
        self.0.exec_batch(sql)
    }

    fn stats(&self) -> RowStats {
        self.0.stats()
    }
}

impl TxStorage for Disk {
    /// The same contract as `SqliteStorage`'s, with the injected faults. The disk counts
    /// turns: a transaction is one, unless it holds savepoints (a group of messages): then
    /// each savepoint is one, and it committed if it was kept and the transaction committed.
    fn transaction(&self, body: &mut dyn FnMut() -> bool) -> Result<bool, StorageError> {
        let disk = &self.0;
        disk.savepoints.set((0, 0));
        let written = disk.inner.stats().rows_written;
        let result = disk.begin().and_then(|()| {
            if !body() {
                disk.rollback()?;
                return Ok(false);
            }
            match disk.commit() {
                Ok(()) => Ok(true),
                Err(e) => {
                    let _ = disk.rollback();
                    Err(e)
                }
            }
        });
        let rows = disk.inner.stats().rows_written - written;
        let ok = matches!(result, Ok(true));
        let (turns, kept) = match disk.savepoints.replace((0, 0)) {
            (0, _) => (1, u64::from(ok)),
            (n, k) => (n, if ok { k } else { 0 }),
        };
        disk.note(|w| {
            w.begun += turns;
            w.rows_written += rows;
            w.committed += kept;
        });
        result
    }

    fn has_savepoints(&self) -> bool {
        true
    }

    fn savepoint(&self, body: &mut dyn FnMut() -> bool) -> Result<bool, StorageError> {
        let disk = &self.0;
        if disk.dead.get() {
            return Err(StorageError::new("the process is dead", "SAVEPOINT"));
        }
        let kept = disk.inner.savepoint(body);
        let (n, k) = disk.savepoints.get();
        disk.savepoints
            .set((n + 1, k + u64::from(matches!(kept, Ok(true)))));
        kept
    }
}

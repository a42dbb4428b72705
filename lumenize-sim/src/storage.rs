//! [`FaultyStorage`]: the real [`SqliteStorage`] (in memory) behind a wrapper that fails what
//! the seed says: statement k of a turn, the COMMIT, the open, every write while the disk is
//! full; or that lies: a COMMIT that succeeds and then reports failure (an fsync error after
//! the write, a remote storage's lost reply).
//!
//! The disk also tells the truth the engine cannot know: whether each transaction of a turn
//! committed ([`TxReport`], [`DiskWork`]), so the oracle applies exactly what became durable.
//!
//! A crash needs no help from here: the in-memory database *is* the object's disk. A crash
//! rolls back the open transaction and drops everything in memory; what committed stays.

use lumenize_core::storage::sqlite::SqliteStorage;
use lumenize_core::storage::{RowStats, Rows, SqlValue, Storage, StorageError, TxStorage};
use std::cell::{Cell, RefCell};
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
    /// The next COMMIT commits, then reports failure.
    lie_commit: Cell<bool>,
    /// The last COMMIT lied (read and cleared by the transaction that ran it).
    lied: Cell<bool>,
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
    /// The savepoints of the open transaction, in order: kept (`true`) or rolled back (a
    /// group: one turn each).
    savepoints: RefCell<Vec<bool>>,
    /// The first transaction since the turn was armed, as the disk saw it.
    first_tx: RefCell<Option<TxReport>>,
    /// Every transaction since the turn was armed, in order (a group whose message rolled
    /// the transaction back runs again in another).
    txs: RefCell<Vec<TxReport>>,
    /// A savepoint's body is running.
    in_savepoint: Cell<bool>,
}

/// One transaction as the disk saw it: the truth a lying COMMIT hides from the engine.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TxReport {
    /// It committed (whatever the COMMIT reported).
    pub committed: bool,
    /// It committed, but its COMMIT reported failure.
    pub lied: bool,
    /// Its savepoints in order (a group's messages): kept or rolled back.
    pub savepoints: Vec<bool>,
}

impl TxReport {
    /// Whether the work of savepoint `i` (message `i` of a group) became durable.
    pub fn kept(&self, i: usize) -> bool {
        self.committed && self.savepoints.get(i).copied().unwrap_or(false)
    }

    /// Whether the work at `sp` ([`FaultyStorage::position`]'s savepoint) became durable.
    pub fn kept_at(&self, sp: Option<usize>) -> bool {
        sp.map_or(self.committed, |i| self.kept(i))
    }
}

/// The transactions of turns as the disk saw them, opens left out: the work the host's
/// accounting of the turns' `Outputs` must add up to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DiskWork {
    /// Transactions attempted (a `BEGIN` refused by a dead process included).
    pub begun: u64,
    /// Transactions committed (a lying COMMIT's included: it did commit).
    pub committed: u64,
    /// Of those, the ones whose COMMIT reported failure: the engine counts them as failed.
    pub lied: u64,
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
            lie_commit: Cell::new(false),
            lied: Cell::new(false),
            disk_full: Cell::new(false),
            injected: Cell::new(0),
            crash_at_commit: Cell::new(false),
            dead: Cell::new(false),
            outside_tx: Cell::new(false),
            opening: Cell::new(false),
            in_turn: Cell::new(false),
            work: Cell::new(DiskWork::default()),
            savepoints: RefCell::new(Vec::new()),
            first_tx: RefCell::new(None),
            txs: RefCell::new(Vec::new()),
            in_savepoint: Cell::new(false),
        })
    }

    /// Arms the faults of the next turn.
    pub fn arm(&self, fail_at: Option<u32>, fail_commit: bool, disk_full: bool) {
        self.in_turn.set(true);
        self.count.set(0);
        self.fail_at.set(fail_at);
        self.fail_commit.set(fail_commit);
        self.lie_commit.set(false);
        self.disk_full.set(disk_full);
        self.first_tx.replace(None);
        self.txs.replace(Vec::new());
    }

    /// The next COMMIT of this turn commits, then reports failure.
    pub fn lie_at_commit(&self) {
        self.lie_commit.set(true);
    }

    /// Whether this turn's COMMIT is armed to lie.
    pub fn will_lie(&self) -> bool {
        self.lie_commit.get()
    }

    /// The id of the schedule an alarm step at `now` claims (the earliest due), read past the
    /// faults: what a lying claim turn's lost outbox was about.
    pub fn first_due(&self, now: i64) -> Option<String> {
        let rows = self
            .inner
            .exec(
                "SELECT id FROM __lmz_alarms WHERE time <= ?1 ORDER BY time, id LIMIT 1",
                &[SqlValue::Integer(now)],
            )
            .ok()?;
        rows.scalar().and_then(|v| v.as_str().map(str::to_string))
    }

    /// The first transaction since the turn was armed (an alarm step's claim turn, a
    /// group's first transaction), if one began.
    pub fn first_tx(&self) -> Option<TxReport> {
        self.first_tx.borrow().clone()
    }

    /// Every transaction since the turn was armed, in order: a group runs again in a second
    /// one (and then one per message) when a message's statement rolls the first back.
    pub fn txs(&self) -> Vec<TxReport> {
        self.txs.borrow().clone()
    }

    /// Where the statement running now is: the index of its transaction among
    /// [`txs`](Self::txs) (the open one is the next), and of its savepoint in that
    /// transaction (`None` outside a savepoint: a turn of its own).
    pub fn position(&self) -> (usize, Option<usize>) {
        let sp = self
            .in_savepoint
            .get()
            .then(|| self.savepoints.borrow().len());
        (self.txs.borrow().len(), sp)
    }

    /// Disarms every fault (checks and quiescence read the truth). The turn's
    /// [`first_tx`](Self::first_tx) stays readable until the next turn is armed.
    pub fn disarm(&self) {
        let first = self.first_tx.take();
        let txs = self.txs.take();
        self.arm(None, false, false);
        self.first_tx.replace(first);
        self.txs.replace(txs);
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
    /// the caller rolls back), or lies (then it commits and reports failure; the caller's
    /// rollback finds no transaction and does nothing).
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
        if self.lie_commit.replace(false) {
            self.inner.commit()?;
            self.lied.set(true);
            // Not `inject`: no statement failed outside a transaction.
            self.injected.set(self.injected.get() + 1);
            return Err(StorageError::new(
                "simulated fault: COMMIT reported failure after it committed",
                "COMMIT",
            ));
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
    /// each savepoint is one, and it committed if it was kept and the transaction committed
    /// (whatever the COMMIT reported).
    fn transaction(&self, body: &mut dyn FnMut() -> bool) -> Result<bool, StorageError> {
        let disk = &self.0;
        disk.savepoints.replace(Vec::new());
        disk.lied.set(false);
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
        let lied = disk.lied.replace(false);
        let committed = matches!(result, Ok(true)) || lied;
        let savepoints = disk.savepoints.replace(Vec::new());
        let (turns, kept) = match savepoints.len() as u64 {
            0 => (1, u64::from(committed)),
            n if committed => (n, savepoints.iter().filter(|k| **k).count() as u64),
            n => (n, 0),
        };
        disk.note(|w| {
            w.begun += turns;
            w.rows_written += rows;
            w.committed += kept;
            if lied {
                w.lied += kept;
            }
        });
        if disk.in_turn.get() && !disk.opening.get() {
            let report = TxReport {
                committed,
                lied,
                savepoints,
            };
            disk.txs.borrow_mut().push(report.clone());
            let mut first = disk.first_tx.borrow_mut();
            if first.is_none() {
                *first = Some(report);
            }
        }
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
        disk.in_savepoint.set(true);
        let kept = disk.inner.savepoint(body);
        disk.in_savepoint.set(false);
        disk.savepoints.borrow_mut().push(matches!(kept, Ok(true)));
        kept
    }

    /// The real storage's answer: a hostile message's `INSERT OR ROLLBACK` (the group's other
    /// messages then run again without it).
    fn rolled_back_by_statement(&self) -> bool {
        self.0.inner.rolled_back_by_statement()
    }
}

//! The native [`Storage`]: one rusqlite connection per object, file-backed (WAL) or in memory.
//!
//! Every connection carries a SQLite *authorizer* (`sqlite3_set_authorizer`): SQLite asks it
//! about each action of a statement while compiling it, whatever the statement's spelling, so
//! the rules of the [module docs](super#what-a-handler-may-run) hold for comments, mixed case
//! and batches alike. Only the host's own `BEGIN IMMEDIATE`/`COMMIT`/`ROLLBACK`
//! ([`SqliteStorage::begin`], [`commit`](SqliteStorage::commit),
//! [`rollback`](SqliteStorage::rollback)) run with the check lifted.
//!
//! The runtime's own tables (`__lmz_*`) are read-only to handlers: only the runtime's own
//! statements, compiled inside its crate-private scope, may write them (the invariant and why
//! a handler cannot reach the scope: the crate-private module `storage::runtime_tables`).

use super::authorizer::{Guard, HostScope};
use super::handler_ddl::{
    Cached, CachedCreates, DdlCheck, FlushCacheIfAltered, HostControl, REFERENCES_INTO_RUNTIME,
    TABLE_EXISTS,
};
use super::runtime_tables;
use super::switches::SwitchLog;
use super::{RowStats, Rows, SqlValue, Storage, StorageError};
use rusqlite::config::DbConfig;
use rusqlite::hooks::AuthContext;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, StatementStatus};
use std::cell::{Cell, RefCell};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// The host's transaction-control statements, each run by [`SqliteStorage::control`] with the
/// check lifted and kept compiled: their texts are privileged from the start.
const HOST_CONTROL: &[&str] = &[
    "BEGIN IMMEDIATE",
    "COMMIT",
    "ROLLBACK",
    "SAVEPOINT lmz_msg",
    "RELEASE lmz_msg",
    "ROLLBACK TO lmz_msg",
    "SAVEPOINT lmz_alter",
    "RELEASE lmz_alter",
    "ROLLBACK TO lmz_alter",
];

/// Why a statement (or the host's COMMIT) finds the host's transaction gone.
const ROLLED_BACK: &str = "the turn's transaction was rolled back by an earlier statement (a \
     conflict resolved with ROLLBACK, or RAISE(ROLLBACK) in a trigger): nothing more runs in \
     this turn, which fails";

/// An object's SQLite database.
///
/// Counting (the basis of [`RowStats`]), per statement:
/// - **rows read** = the larger of the rows the statement returned and SQLite's
///   `SQLITE_STMTSTATUS_FULLSCAN_STEP` (rows stepped through by full table scans), so a
///   `SELECT count(*)` over 1,000 rows counts 1,000 and an indexed point lookup counts the rows
///   it returns;
/// - **rows written** = as Cloudflare counts them (workerd's `rowsWritten`: every b-tree entry
///   a statement inserts, and one per row it deletes): the rows the statement changed (the
///   growth of `sqlite3_total_changes()`, so a DDL or a statement that changes nothing counts
///   0; `INSERT OR REPLACE` that replaces counts 1), each times the entries one such row
///   writes, from the table's indexes (see [`write_cost`](self)): an INSERT writes the row
///   and one entry per index (a `WITHOUT ROWID` table's primary key *is* its row); an UPDATE
///   the row and the indexes holding a changed column; a DELETE counts 1 (workerd does not
///   count index deletions).
pub struct SqliteStorage {
    conn: Connection,
    guard: Arc<Guard>,
    read: Cell<u64>,
    written: Cell<u64>,
    costs: super::write_cost::WriteCosts,
    /// The text of every statement that was compiled inside the runtime's scope and needed it
    /// (it writes a runtime table), and of the host's transaction-control statements (compiled
    /// with the check lifted, see [`control`](Self::control)). Such a statement may sit in the
    /// statement cache, compiled with the privilege: outside the scope its text is compiled
    /// afresh, so the authorizer judges it. Bounded by the runtime's own statements (all
    /// `&'static str` constants, a few dozen) and those the host runs in
    /// [`as_runtime`](Self::as_runtime): a list, searched by length first, costs a handler's
    /// statement less than hashing its text.
    privileged: RefCell<Vec<Box<str>>>,
    /// The host began a transaction ([`begin`](Self::begin)) and has not ended it. If the
    /// connection is nevertheless in autocommit, a handler's statement made SQLite roll the
    /// transaction back (see [`turn_is_open`](Self::turn_is_open)).
    host_tx: Cell<bool>,
    /// Since the host's last [`begin`](Self::begin): a statement failed on a constraint and
    /// left the connection in autocommit, i.e. SQLite rolled the host's transaction back on a
    /// conflict resolved with ROLLBACK or `RAISE(ROLLBACK)`, the statement's own doing (see
    /// [`TxStorage::rolled_back_by_statement`](super::TxStorage::rolled_back_by_statement)).
    /// A fault that rolls a transaction back (a full disk, an I/O error) has another code.
    statement_rollback: Cell<bool>,
    /// The switch PRAGMAs the open transaction's handlers set, and their values before, to
    /// put back when a message rolls back (`switches.rs`).
    switches: SwitchLog,
    /// The texts of a handler's `CREATE TABLE` statements left in the statement cache, with
    /// the table each creates (see [`exec`](Storage::exec)); a bounded list ([`CachedCreates`]).
    cached_creates: CachedCreates,
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
        Self::wrap(conn)
    }

    /// A fresh in-memory database (gone when dropped).
    pub fn in_memory() -> Result<SqliteStorage, StorageError> {
        let conn = Connection::open_in_memory()
            .map_err(|e| StorageError::new(e.to_string(), "open :memory:"))?;
        Self::wrap(conn)
    }

    fn wrap(conn: Connection) -> Result<SqliteStorage, StorageError> {
        conn.set_prepared_statement_cache_capacity(128);
        // Defensive mode: no `writable_schema` tricks or raw writes to shadow tables, even
        // should an action slip past the authorizer.
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)
            .map_err(|e| StorageError::new(e.to_string(), "SQLITE_DBCONFIG_DEFENSIVE"))?;
        let guard = Arc::new(Guard {
            scope: runtime_tables::scope_id(),
            ..Guard::default()
        });
        let hook = guard.clone();
        conn.authorizer(Some(move |ctx: AuthContext<'_>| hook.authorize(ctx)));
        let switches = SwitchLog::open(&conn, &guard);
        Ok(SqliteStorage {
            conn,
            guard,
            read: Cell::new(0),
            written: Cell::new(0),
            costs: Default::default(),
            privileged: RefCell::new(
                HOST_CONTROL
                    .iter()
                    .chain([&REFERENCES_INTO_RUNTIME, &TABLE_EXISTS])
                    .map(|&t| t.into())
                    .collect(),
            ),
            host_tx: Cell::new(false),
            statement_rollback: Cell::new(false),
            switches,
            cached_creates: CachedCreates::default(),
        })
    }

    /// Starts the handler's transaction (`BEGIN IMMEDIATE`: takes the write lock now, so a
    /// second connection to the same file can never interleave inside it).
    pub fn begin(&self) -> Result<(), StorageError> {
        self.statement_rollback.set(false);
        self.control("BEGIN IMMEDIATE")?;
        self.host_tx.set(true);
        Ok(())
    }

    /// Commits the handler's transaction. Fails when a handler's statement rolled it back.
    pub fn commit(&self) -> Result<(), StorageError> {
        if self.host_tx.get() && self.conn.is_autocommit() {
            self.host_tx.set(false);
            return Err(StorageError::new(ROLLED_BACK, "COMMIT"));
        }
        let done = self.control("COMMIT");
        // A failed COMMIT may leave the transaction open (SQLITE_BUSY): still the host's.
        if self.conn.is_autocommit() {
            self.host_tx.set(false);
        }
        if done.is_ok() {
            self.switches.committed();
        }
        done
    }

    /// Rolls the handler's transaction back (a no-op when none is open), and puts back the
    /// switch PRAGMAs its handlers set.
    pub fn rollback(&self) -> Result<(), StorageError> {
        self.host_tx.set(false);
        let done = if self.conn.is_autocommit() {
            Ok(())
        } else {
            self.control("ROLLBACK")
        };
        self.switches.rolled_back(&self.conn, &self.guard);
        done
    }

    /// After compiling a handler's statement that sets the switch PRAGMAs `bits` (SQLite sets
    /// them while it compiles): inside the host's transaction, notes their old values, to put
    /// back if its message rolls back.
    fn note_switches(&self, bits: u8) {
        if bits != 0 {
            let in_tx = self.host_tx.get() && !self.conn.is_autocommit();
            self.switches.changed(&self.conn, &self.guard, bits, in_tx);
        }
    }

    /// True while a transaction is open.
    pub fn in_transaction(&self) -> bool {
        !self.conn.is_autocommit()
    }

    /// Runs one of the host's transaction-control statements with the check lifted.
    ///
    /// Kept in the statement cache (compiling `SAVEPOINT` and `RELEASE` for every message of a
    /// group cost more than running them). A statement compiled with the check lifted must
    /// never serve `exec`, whose authorization is decided when it compiles, so every such text
    /// is on the privileged list from the start ([`HOST_CONTROL`]): `exec` compiles a
    /// handler's identical text afresh, and the authorizer refuses it.
    fn control(&self, sql: &'static str) -> Result<(), StorageError> {
        // One statement (a prepared statement runs only the first of several), and one whose
        // text is on the privileged list from the start.
        debug_assert!(HOST_CONTROL.contains(&sql), "{sql} is not in HOST_CONTROL");
        let _host = HostScope::enter(&self.guard);
        self.conn
            .prepare_cached(sql)
            .and_then(|mut stmt| stmt.raw_execute())
            .map(drop)
            .map_err(|e| StorageError::new(e.to_string(), sql))
    }

    /// Runs `body` with the runtime's right to write its own `__lmz_*` tables *on this
    /// storage's connection*, for the host that owns this storage (tests that plant rows an
    /// older version wrote, benchmarks that compare against raw rusqlite). A handler holds
    /// the object's storage only as `&dyn Storage` ([`Ctx::sql`](crate::context::Ctx::sql)),
    /// which has no way back to this type; a storage it makes of its own lends nothing to the
    /// object's, whatever `body` runs.
    ///
    /// Statements `body` compiles through [`connection`](Self::connection) are compiled with
    /// the privilege, so the statement cache is emptied afterwards: no such statement can be
    /// found there by a handler's identical text.
    ///
    /// ```
    /// use lumenize_core::storage::{sqlite::SqliteStorage, Storage, KV_SCHEMA};
    /// let db = SqliteStorage::in_memory().unwrap();
    /// assert!(db.exec_batch(KV_SCHEMA).is_err()); // what a handler's SQL would get
    /// db.as_runtime(|| db.exec_batch(KV_SCHEMA)).unwrap();
    /// ```
    pub fn as_runtime<R>(&self, body: impl FnOnce() -> R) -> R {
        let out = super::runtime_tables::as_runtime(self.guard.scope, body);
        self.conn.flush_prepared_statement_cache();
        out
    }

    /// The underlying connection (benchmarks and tests compare against raw rusqlite). The
    /// authorizer applies to it too: transactions go through [`begin`](Self::begin),
    /// [`commit`](Self::commit) and [`rollback`](Self::rollback), and the runtime's `__lmz_*`
    /// tables are written only inside [`as_runtime`](Self::as_runtime).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The checks around a handler's `CREATE TABLE` and `ALTER TABLE` on this connection.
    fn ddl(&self) -> DdlCheck<'_> {
        DdlCheck::new(&self.conn, &self.guard, self)
    }

    /// Whether `sql` is the text of a statement compiled with the runtime's privilege.
    fn is_privileged(&self, sql: &str) -> bool {
        self.privileged
            .borrow()
            .iter()
            .any(|p| p.len() == sql.len() && **p == *sql)
    }

    /// What the statements compiled since the last call write, and whether they change the
    /// schema (which forgets the tables' index lists).
    fn take_compiled(&self) -> super::write_cost::Compiled {
        let c = self
            .guard
            .compiled
            .lock()
            .map(|mut c| std::mem::take(&mut *c))
            .unwrap_or_default();
        if c.changes_schema() {
            self.costs.schema_changed();
        }
        c
    }

    /// The indexes of `table`, read with the check lifted (two or three PRAGMAs, once per
    /// table until the schema changes).
    fn table_shape(&self, table: &str) -> super::write_cost::TableShape {
        let _host = HostScope::enter(&self.guard);
        super::write_cost::TableShape::read(&self.conn, table)
    }

    /// Refuses every statement once a handler's statement rolled back the host's transaction.
    ///
    /// SQLite rolls the whole transaction back, not just the statement, on a conflict resolved
    /// with ROLLBACK (`INSERT OR ROLLBACK`, a column's `ON CONFLICT ROLLBACK`) and on
    /// `RAISE(ROLLBACK)` in a trigger; no authorizer action names either. The connection is
    /// then in autocommit, so each later statement would commit at once, kept even when the
    /// turn fails. Seen here as a state (the host's transaction is open, the connection is
    /// not in one), whatever the statement was: until the host ends the turn, nothing runs,
    /// the runtime's own writes included, and the host's commit (or savepoint) fails. The
    /// statement's failure is noted ([`error`](Self::error)), so the host can tell it from a
    /// fault ([`TxStorage::rolled_back_by_statement`](super::TxStorage::rolled_back_by_statement)).
    fn turn_is_open(&self, sql: &str) -> Result<(), StorageError> {
        if self.host_tx.get() && self.conn.is_autocommit() {
            return Err(StorageError::new(ROLLED_BACK, sql));
        }
        Ok(())
    }

    /// The error for a failed statement: the authorizer's reason when it refused it.
    ///
    /// Also notes a statement that rolled the host's transaction back on a constraint (a
    /// conflict resolved with ROLLBACK, `RAISE(ROLLBACK)`): SQLite reports both as
    /// `SQLITE_CONSTRAINT`, and a fault that ends a transaction (`SQLITE_FULL`,
    /// `SQLITE_IOERR`, `SQLITE_NOMEM`...) never does.
    fn error(&self, e: rusqlite::Error, sql: &str) -> StorageError {
        if self.host_tx.get()
            && self.conn.is_autocommit()
            && e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation)
        {
            self.statement_rollback.set(true);
        }
        match self.guard.take_refusal() {
            Some(why) => StorageError::new(why, sql),
            None => StorageError::new(e.to_string(), sql),
        }
    }
}

impl SqliteStorage {
    /// Each statement of `sql` in turn, stepped once (as rusqlite's `execute_batch`), a
    /// handler's ALTER TABLE under
    /// [`no_runtime_name_or_reference`](DdlCheck::no_runtime_name_or_reference), its CREATE TABLE
    /// under [`no_reference_into_runtime`](DdlCheck::no_reference_into_runtime) (each compiled
    /// afresh: a batch does not use the statement cache).
    fn run_batch(&self, sql: &str) -> Result<(), StorageError> {
        let err = |e: rusqlite::Error| self.error(e, sql);
        let mut batch = rusqlite::Batch::new(&self.conn, sql);
        loop {
            self.turn_is_open(sql)?;
            self.guard.alters.store(false, Ordering::Release);
            self.guard.take_created();
            self.guard.take_switches();
            let Some(mut stmt) = batch.next().map_err(err)? else {
                return Ok(());
            };
            self.note_switches(self.guard.take_switches());
            let mut step = || stmt.raw_query().next().map(drop).map_err(err);
            if self.guard.alters.swap(false, Ordering::AcqRel) {
                self.ddl().no_runtime_name_or_reference(sql, step)?;
            } else if let Some(table) = self.guard.take_created() {
                let exists = self.ddl().table_exists(&table)?;
                self.ddl()
                    .no_reference_into_runtime(&table, exists, sql, step)?;
            } else {
                step()?;
            }
        }
    }
}

impl HostControl for SqliteStorage {
    fn control(&self, sql: &'static str) -> Result<(), StorageError> {
        SqliteStorage::control(self, sql)
    }
}

impl super::TxStorage for SqliteStorage {
    fn transaction(&self, body: &mut dyn FnMut() -> bool) -> Result<bool, StorageError> {
        self.begin()?;
        if !body() {
            self.rollback()?;
            return Ok(false);
        }
        match self.commit() {
            Ok(()) => Ok(true),
            Err(e) => {
                // A failed COMMIT may leave the transaction open (SQLITE_BUSY): end it, so
                // the next turn starts clean and nothing of this one stays.
                let _ = self.rollback();
                Err(e)
            }
        }
    }

    fn has_savepoints(&self) -> bool {
        true
    }

    fn savepoint(&self, body: &mut dyn FnMut() -> bool) -> Result<bool, StorageError> {
        self.run_savepoint(body)
    }

    fn rolled_back_by_statement(&self) -> bool {
        self.statement_rollback.get()
    }
}

impl SqliteStorage {
    /// `SAVEPOINT`, the body, then `RELEASE` or `ROLLBACK TO` + `RELEASE` (also when the body
    /// succeeded but left a deferred foreign key unresolved: `Ok(false)`); `Err` when the
    /// outer transaction is gone (SQLite rolls a whole transaction back on some errors, such
    /// as a full disk, and on a handler's `OR ROLLBACK` or `RAISE(ROLLBACK)`) or a control
    /// statement failed.
    fn run_savepoint(&self, body: &mut dyn FnMut() -> bool) -> Result<bool, StorageError> {
        if !self.in_transaction() {
            return Err(StorageError::new("no transaction is open", "SAVEPOINT"));
        }
        self.control("SAVEPOINT lmz_msg")?;
        let outer = self.switches.begin_savepoint();
        let owed_before = self.unresolved_foreign_keys();
        let keep = body();
        if !self.in_transaction() {
            // Its switches stay noted for the transaction: the host's rollback puts them back.
            self.switches
                .end_savepoint(&self.conn, &self.guard, outer, true);
            return Err(StorageError::new(
                "the transaction was rolled back inside the savepoint",
                "RELEASE lmz_msg",
            ));
        }
        // A deferred foreign key the message left unresolved (`PRAGMA defer_foreign_keys`, a
        // key declared `DEFERRABLE INITIALLY DEFERRED`) is checked only by the group's COMMIT,
        // which would then fail every message of the group: the message fails alone instead
        // (rolling back to its savepoint also restores SQLite's count of them).
        let keep = keep && (owed_before || !self.unresolved_foreign_keys());
        let done = if keep {
            self.control("RELEASE lmz_msg")
        } else {
            self.control("ROLLBACK TO lmz_msg")
                .and_then(|()| self.control("RELEASE lmz_msg"))
        };
        // Rolled back: so are the switches it set (SQLite leaves them as they are).
        self.switches
            .end_savepoint(&self.conn, &self.guard, outer, keep || done.is_err());
        done?;
        Ok(keep)
    }
}

impl SqliteStorage {
    /// Whether a foreign key is left unresolved in the open transaction (a deferred one, which
    /// SQLite checks only at COMMIT): SQLite's `SQLITE_DBSTATUS_DEFERRED_FKS`, a counter read.
    fn unresolved_foreign_keys(&self) -> bool {
        use rusqlite::ffi;
        let (mut current, mut highwater) = (0, 0);
        // SAFETY: the handle is this open connection's, used on the thread that owns `self`
        // (`SqliteStorage` is not `Sync`); the call reads one counter into two local ints.
        let rc = unsafe {
            ffi::sqlite3_db_status(
                self.conn.handle(),
                ffi::SQLITE_DBSTATUS_DEFERRED_FKS,
                &mut current,
                &mut highwater,
                0,
            )
        };
        rc == ffi::SQLITE_OK && current > 0
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
        self.turn_is_open(sql)?;
        self.guard.take_refusal();
        let err = |e: rusqlite::Error| self.error(e, sql);
        self.take_compiled();
        let in_scope = runtime_tables::in_scope(self.guard.scope);
        // A statement cached with the runtime's privilege must not run outside its scope:
        // compile that text afresh, so the authorizer judges it (and refuses it).
        let afresh = !in_scope && self.is_privileged(sql);
        self.guard.used_scope.store(false, Ordering::Release);
        self.guard.alters.store(false, Ordering::Release);
        self.guard.take_created();
        self.guard.take_switches();
        let changes0 = self.conn.total_changes();
        // Declared before the statement, so dropped after it went back to the cache, also when
        // the statement fails.
        let altered = FlushCacheIfAltered(&self.conn, Cell::new(false));
        // The statement lives in this block: a cached one goes back to the cache at its end.
        let (columns, out) = {
            let mut fresh;
            let mut cached = Cached {
                stmt: None,
                discard: false,
            };
            let stmt: &mut rusqlite::Statement<'_> = if afresh {
                fresh = self.conn.prepare(sql).map_err(err)?;
                &mut fresh
            } else {
                cached
                    .stmt
                    .insert(self.conn.prepare_cached(sql).map_err(err)?)
            };
            // A statement that sets a switch is never kept in the cache: compiled each time,
            // the authorizer tells each time.
            let switches = self.guard.take_switches();
            cached.discard = switches != 0;
            self.note_switches(switches);
            // Compiled now, or found in the cache as a CREATE TABLE judged before.
            let created = self
                .guard
                .take_created()
                .or_else(|| self.cached_creates.get(sql));
            if in_scope
                && self.guard.used_scope.swap(false, Ordering::AcqRel)
                && !self.is_privileged(sql)
            {
                self.privileged.borrow_mut().push(sql.into());
            }
            // Compiled now (a cache miss): remember what it writes. A cache hit compiles nothing.
            let compiled = self.take_compiled();
            if compiled.writes_anything() && self.costs.remember(sql, compiled) {
                // The shapes are full: start over with the statement cache too, so that no cached
                // statement is left without its shape.
                self.conn.flush_prepared_statement_cache();
            }
            let columns: Vec<String> = stmt.column_names().iter().map(|c| c.to_string()).collect();
            let ncol = columns.len();
            let mut run = || {
                let mut out = Vec::new();
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
                Ok(out)
            };
            let out = if self.guard.alters.swap(false, Ordering::AcqRel) {
                altered.1.set(true);
                self.ddl().no_runtime_name_or_reference(sql, run)?
            } else if let Some(table) = &created {
                let exists = self.ddl().table_exists(table)?;
                // A CREATE TABLE that creates nothing stays cached (compiling it again in every
                // message cost ten times the rest of a small message), remembered so that it
                // is judged again whenever it comes from the cache: SQLite recompiles it
                // while it runs once the schema changed, unseen. One that creates a table is
                // compiled afresh next time.
                cached.discard = !(exists && self.cached_creates.remember(sql, table));
                self.ddl()
                    .no_reference_into_runtime(table, exists, sql, run)?
            } else {
                run()?
            };
            let scanned = stmt.reset_status(StatementStatus::FullscanStep).max(0) as u64;
            self.read
                .set(self.read.get() + scanned.max(out.len() as u64));
            (columns, out)
        };
        drop(altered);
        let changed = self.conn.total_changes().saturating_sub(changes0);
        if changed > 0 {
            let rows = self
                .costs
                .rows_written(sql, changed, &|t| self.table_shape(t));
            self.written.set(self.written.get() + rows);
        }
        Ok(Rows { columns, rows: out })
    }

    fn exec_batch(&self, sql: &str) -> Result<(), StorageError> {
        self.guard.take_refusal();
        let done = self.run_batch(sql);
        // A batch may change the schema (indexes): forget what the tables looked like.
        if self.take_compiled().changes_schema() {
            self.costs.schema_changed();
        }
        done
    }

    fn stats(&self) -> RowStats {
        RowStats {
            rows_read: self.read.get(),
            rows_written: self.written.get(),
        }
    }
}

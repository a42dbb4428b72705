//! An object's storage, as a backend-neutral trait: synchronous SQL ([`Storage::exec`]) plus a
//! key-value view ([`Kv`]) built on SQL, like Cloudflare's `ctx.storage.sql` and
//! `ctx.storage.kv` (whose data lives in the hidden `__cf_kv` table; ours is `__lmz_kv`).
//!
//! Transactions are *not* part of [`Storage`] (a handler cannot open one): the host's turn
//! engine wraps each handler in one through [`TxStorage`] (rusqlite `BEGIN IMMEDIATE`/`COMMIT`
//! natively, `transactionSync` on Cloudflare).
//!
//! # What a handler may run
//!
//! Anything that reads or changes the object's own database: `SELECT` (also `WITH RECURSIVE`),
//! `INSERT`/`UPDATE`/`DELETE` (with `RETURNING`), `CREATE`/`DROP`/`ALTER` of tables, indexes,
//! views and triggers, `ANALYZE`, `REINDEX`, full-text search (`CREATE VIRTUAL TABLE ... USING
//! fts5`), SQLite's functions, and these PRAGMAs: `table_list`, `table_info(t)`,
//! `data_version` (read only); `foreign_key_check(t)`, `foreign_key_list(t)`, `index_info(i)`,
//! `index_list(t)`, `index_xinfo(i)` (with a name); the switches `foreign_keys`,
//! `defer_foreign_keys`, `case_sensitive_like`, `ignore_check_constraints`,
//! `recursive_triggers`, `reverse_unordered_selects` (read, or set to a boolean). That is the set
//! a Cloudflare Durable Object allows, so the same SQL runs on both backends. A switch set by
//! a message that then fails is put back as it was (SQLite keeps these settings through a
//! rollback: natively the storage notes what each message changed, `switches.rs`; on
//! Cloudflare `CfStorage` reads them before the first statement that may set one); one set
//! by a message that commits stays set on the object's connection for later turns.
//!
//! Refused with a [`StorageError`] that names the kind of statement:
//! - **transaction control**: `BEGIN`, `COMMIT`/`END`, `ROLLBACK`, `SAVEPOINT`, `RELEASE`,
//!   `ROLLBACK TO`: every handler already runs in one transaction, committed when it succeeds
//!   and rolled back when it fails (with the messages it queued). A statement that makes
//!   SQLite roll that transaction back itself (`INSERT OR ROLLBACK`, a column's `ON CONFLICT
//!   ROLLBACK`, `RAISE(ROLLBACK)` in a trigger) fails its message, and nothing more runs in
//!   that transaction; in a group of messages it fails that message alone: the storage tells
//!   this from a fault ([`TxStorage::rolled_back_by_statement`]), and the turn engine runs
//!   the other messages of the group again, without it, in a fresh transaction;
//! - **other databases**: `ATTACH`, `DETACH`, and temporary tables, indexes, views and triggers
//!   (`CREATE TEMP ...`, `temp.` names): an object reaches only its own database;
//! - **connection settings**: every other PRAGMA (`journal_mode`, `locking_mode`,
//!   `synchronous`, `writable_schema`, `user_version`, `wal_checkpoint`...);
//! - `load_extension()` and virtual tables other than fts5;
//! - `VACUUM` (also `VACUUM INTO`): SQLite refuses it inside a transaction, which a handler is
//!   always in;
//! - **changing the runtime's own tables** (natively): every name starting with `__lmz_`, in
//!   any case, belongs to the runtime: the schedules (`__lmz_alarms`), the alarm mirror
//!   (`__lmz_meta`), given-up schedules (`__lmz_alarm_failures`), the [`Kv`] view
//!   (`__lmz_kv`) and the fetch designs' state (`__lmz_fetch_*`). A handler may read them
//!   (`SELECT`, joins, views over them, `PRAGMA table_info`), but `INSERT`/`UPDATE`/`DELETE`
//!   on them, `DROP`/`ALTER TABLE` of them, creating an index or trigger on them, and
//!   creating or dropping a table, view, index or trigger under such a name (also `ALTER
//!   TABLE t RENAME TO __lmz_x`), and a foreign key from a handler's table to one of them
//!   (`CREATE TABLE`, `ALTER TABLE … ADD COLUMN … REFERENCES`: its rows would block or hook
//!   into the runtime's own writes) are refused with an error naming the table and what to use instead
//!   ([`Ctx::alarms`](crate::context::Ctx::alarms), [`Ctx::kv`](crate::context::Ctx::kv)). A
//!   trigger on a handler's own table whose body writes one may be created, but a statement
//!   that fires it is refused. A handler's own index or trigger on them (made before these
//!   rules) may be dropped, and an object drops every one when it opens (the runtime makes
//!   none; they could skip or refuse its writes: `runtime_tables::drop_handler_hooks`). Their rules live in the runtime's code: deleting a `fetch-…`
//!   schedule would break the simple fetch design's exactly-once rule ("whoever cancels the
//!   alarm wins"), and a row inserted there would be run as an operation chain. Only the
//!   runtime's own statements, in a scope handler code cannot enter, write them (why it
//!   cannot: `runtime_tables`, beside the code). `ANALYZE` and `REINDEX` stay allowed (they
//!   change no row).
//!
//! The check is not a reading of the text: natively it is SQLite's authorizer
//! (`sqlite3_set_authorizer`, see [`sqlite::SqliteStorage`]), consulted for every action of
//! every statement as SQLite compiles it, so comments, case and batches (`exec_batch("SELECT 1;
//! COMMIT")`) change nothing. Two rules need more than the authorizer, which SQLite does not
//! tell the new name of `ALTER TABLE ... RENAME TO` nor the `REFERENCES` of a new table or
//! column: a handler's `ALTER TABLE`, and its `CREATE TABLE` of a table that does not exist
//! yet, run inside a savepoint and are undone and refused when the schema then holds a table
//! under `__lmz_`, or a foreign key into one, that it did not hold before (the schema is
//! compared, not the text: `handler_ddl`). And a message of a group that leaves a deferred
//! foreign key unresolved fails alone, rolled back to its savepoint, rather than failing the
//! group's COMMIT for every message. On Cloudflare
//! workerd's own authorizer refuses the same set, except the rule on the runtime's tables.
//!
//! # Limitation on Cloudflare: the runtime's tables are not protected there
//!
//! workerd compiles a Durable Object's SQL under its own authorizer, which knows only
//! workerd's rules (its own internal tables among them), not ours; the JavaScript API gives
//! the Cloudflare backend no authorizer or hook of its own, and reading the statement text
//! would be a check that comments, case, quoting, batches or a trigger body get around. So on Cloudflare a handler's SQL *can*
//! write the `__lmz_*` tables, and nothing refuses it: do not. What still holds there: a
//! schedule's continuation is checked when it is read back (an unreadable one is recorded in
//! `__lmz_alarm_failures`, not run), but a well-formed forged schedule runs, and a deleted
//! `fetch-…` schedule ends that fetch's exactly-once guarantee.

#[cfg(feature = "native")]
mod authorizer;
#[cfg(feature = "native")]
mod handler_ddl;
pub(crate) mod runtime_tables;
#[cfg(feature = "native")]
#[cfg_attr(docsrs, doc(cfg(feature = "native")))]
pub mod sqlite;
#[cfg(feature = "native")]
mod switches;
mod typed;
#[cfg(feature = "native")]
mod write_cost;

use crate::structured_clone::{self, Value};

/// A SQLite value, as bound parameters and result cells carry it.
#[derive(Clone, Debug, PartialEq)]
pub enum SqlValue {
    /// `NULL`.
    Null,
    /// A 64-bit integer. (On Cloudflare integers cross JavaScript numbers: keep them within
    /// ±2^53 for portable code.)
    Integer(i64),
    /// A double.
    Real(f64),
    /// Text.
    Text(String),
    /// Bytes.
    Blob(Vec<u8>),
}

impl SqlValue {
    /// The integer, if this is one.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            SqlValue::Integer(n) => Some(*n),
            _ => None,
        }
    }
    /// The text, if this is text.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            SqlValue::Text(s) => Some(s),
            _ => None,
        }
    }
    /// The number as f64 (integers widen), if numeric.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            SqlValue::Integer(n) => Some(*n as f64),
            SqlValue::Real(f) => Some(*f),
            _ => None,
        }
    }
}

impl From<i64> for SqlValue {
    fn from(n: i64) -> Self {
        SqlValue::Integer(n)
    }
}
impl From<f64> for SqlValue {
    fn from(n: f64) -> Self {
        SqlValue::Real(n)
    }
}
impl From<&str> for SqlValue {
    fn from(s: &str) -> Self {
        SqlValue::Text(s.to_string())
    }
}
impl From<String> for SqlValue {
    fn from(s: String) -> Self {
        SqlValue::Text(s)
    }
}
impl<T: Into<SqlValue>> From<Option<T>> for SqlValue {
    fn from(o: Option<T>) -> Self {
        o.map_or(SqlValue::Null, Into::into)
    }
}

/// The result of one statement: column names and rows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rows {
    /// Column names, in order.
    pub columns: Vec<String>,
    /// The rows, each with one cell per column.
    pub rows: Vec<Vec<SqlValue>>,
}

impl Rows {
    /// The first row, if any.
    pub fn first(&self) -> Option<&[SqlValue]> {
        self.rows.first().map(Vec::as_slice)
    }
    /// The first cell of the first row, if any.
    pub fn scalar(&self) -> Option<&SqlValue> {
        self.rows.first().and_then(|r| r.first())
    }
    /// The number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }
    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// Why a storage operation failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message} (sql: {sql})")]
pub struct StorageError {
    /// What went wrong.
    pub message: String,
    /// The statement, or the operation, that failed.
    pub sql: String,
}

impl StorageError {
    /// An error for `sql`.
    pub fn new(message: impl Into<String>, sql: impl Into<String>) -> StorageError {
        StorageError {
            message: message.into(),
            sql: sql.into(),
        }
    }
}

/// Rows read and written so far (cumulative counters of one storage).
///
/// How they are counted natively (see [`sqlite::SqliteStorage`]) and how that maps to
/// Cloudflare's billing is documented on [`crate::runtime::Accounting`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RowStats {
    /// Rows read.
    pub rows_read: u64,
    /// Rows written.
    pub rows_written: u64,
}

/// An object's synchronous SQL storage. Implemented natively over rusqlite
/// ([`sqlite::SqliteStorage`]) and, in a Cloudflare backend, over `ctx.storage.sql`.
pub trait Storage {
    /// Runs one statement with positional parameters (`?1`, `?2`... or `?`) and returns its
    /// rows (empty for statements that return none). Statements outside the
    /// [allowed set](self#what-a-handler-may-run) are refused.
    fn exec(&self, sql: &str, params: &[SqlValue]) -> Result<Rows, StorageError>;

    /// Runs several `;`-separated statements without parameters (schema setup), in order,
    /// stopping at the first that fails or is refused (the ones before it stay in the turn's
    /// transaction, which rolls back if the handler then fails).
    fn exec_batch(&self, sql: &str) -> Result<(), StorageError>;

    /// Cumulative rows read and written through this storage.
    fn stats(&self) -> RowStats;
}

impl dyn Storage + '_ {
    /// Runs a query and deserializes each row as a `T`, with serde: a struct or a map by
    /// column name, a tuple by position. Integers stay exact (`i64`), `0`/`1` read as `bool`,
    /// `NULL` as `None`, a blob as `Vec<u8>`, text as a unit enum variant. A row that does not
    /// fit is an error naming the row and the field.
    ///
    /// ```
    /// # #[cfg(feature = "native")] {
    /// use lumenize_core::storage::{sqlite::SqliteStorage, SqlValue, Storage};
    /// #[derive(serde::Deserialize, Debug, PartialEq)]
    /// struct Task { id: i64, title: String, done: bool, due: Option<f64> }
    ///
    /// let db = SqliteStorage::in_memory().unwrap();
    /// let db: &dyn Storage = &db; // what `ctx.sql()` gives a handler
    /// db.exec_batch("CREATE TABLE tasks (id INTEGER PRIMARY KEY, title TEXT, done INTEGER, due REAL);
    ///                INSERT INTO tasks VALUES (1, 'write docs', 1, NULL)").unwrap();
    /// let tasks: Vec<Task> = db.query_as("SELECT * FROM tasks WHERE id = ?1", &[SqlValue::Integer(1)]).unwrap();
    /// assert_eq!(tasks, [Task { id: 1, title: "write docs".into(), done: true, due: None }]);
    /// let (n,): (i64,) = db.query_as("SELECT count(*) FROM tasks", &[]).unwrap().remove(0);
    /// assert_eq!(n, 1);
    /// # }
    /// ```
    pub fn query_as<T: serde::de::DeserializeOwned>(
        &self,
        sql: &str,
        params: &[SqlValue],
    ) -> Result<Vec<T>, StorageError> {
        typed::rows_as(&self.exec(sql, params)?, sql)
    }
}

/// A [`Storage`] that can run a body in one transaction: what a turn engine
/// ([`crate::turn::TurnEngine`]) needs from a host. Natively `BEGIN IMMEDIATE`/`COMMIT`/
/// `ROLLBACK` ([`sqlite::SqliteStorage`]); on Cloudflare `ctx.storage.transactionSync`, which
/// only exists in this callback form, hence the shape of the method.
///
/// ```
/// # #[cfg(feature = "native")] {
/// use lumenize_core::storage::{sqlite::SqliteStorage, Storage, TxStorage};
/// let db = SqliteStorage::in_memory().unwrap();
/// db.exec_batch("CREATE TABLE t (x)").unwrap();
/// // `false` asks for a rollback: nothing of the body stays.
/// let kept = db.transaction(&mut || db.exec("INSERT INTO t VALUES (1)", &[]).is_err()).unwrap();
/// assert!(!kept);
/// assert_eq!(db.exec("SELECT count(*) FROM t", &[]).unwrap().scalar().unwrap().as_i64(), Some(0));
/// # }
/// ```
pub trait TxStorage: Storage {
    /// Runs `body` once inside one transaction. `body` returns `true` to commit, `false` to
    /// roll back. Returns `Ok(true)` when the body's writes committed, `Ok(false)` when they
    /// were rolled back as asked, and `Err` when the transaction itself failed (it could not
    /// start, in which case `body` did not run, or its commit failed): then nothing of the
    /// body stays. `body` must not unwind (the engine catches panics inside it).
    fn transaction(&self, body: &mut dyn FnMut() -> bool) -> Result<bool, StorageError>;

    /// Whether [`savepoint`](Self::savepoint) works. The turn engine runs several queued
    /// messages in one transaction (a savepoint each) only when it does; otherwise each
    /// message is its own transaction.
    fn has_savepoints(&self) -> bool {
        false
    }

    /// Runs `body` once inside a savepoint of the transaction open in
    /// [`transaction`](Self::transaction)'s body: `true` keeps its writes (in that
    /// transaction, still to commit), `false` undoes them alone. Returns `Ok(kept)`, or `Err`
    /// when the savepoint itself failed (SQLite may have rolled the whole transaction back):
    /// then the caller must end the transaction with a rollback. The default has none.
    fn savepoint(&self, body: &mut dyn FnMut() -> bool) -> Result<bool, StorageError> {
        let _ = body;
        Err(StorageError::new(
            "this storage has no savepoints",
            "SAVEPOINT",
        ))
    }

    /// Whether the last transaction begun by [`transaction`](Self::transaction) was rolled
    /// back by one of its own statements rather than by a fault: SQLite ends the whole
    /// transaction on a conflict resolved with ROLLBACK (`INSERT OR ROLLBACK`, a column's `ON
    /// CONFLICT ROLLBACK`) and on `RAISE(ROLLBACK)` in a trigger. Then nothing of the
    /// transaction stays (the outcome is known, unlike a failed COMMIT's), and the message
    /// that ran the statement is to blame: the turn engine fails it alone and runs the other
    /// messages of its group again. Read after the savepoint or transaction reported the
    /// transaction gone; cleared when the next transaction begins. The default: never (a
    /// storage without savepoints runs each message as its own transaction anyway).
    fn rolled_back_by_statement(&self) -> bool {
        false
    }
}

/// Rejects statements whose first word is a transaction-control keyword.
///
/// Not a guard: it reads only the first word, so `/* c */ COMMIT` or `SELECT 1; COMMIT` pass.
/// Both backends now enforce the [rules](self#what-a-handler-may-run) inside SQLite.
#[deprecated(
    note = "reads only the first word; the backends enforce the rules with SQLite's authorizer"
)]
pub fn check_not_transaction_control(sql: &str) -> Result<(), StorageError> {
    let head: String = sql
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect::<String>()
        .to_ascii_uppercase();
    if matches!(
        head.as_str(),
        "BEGIN" | "COMMIT" | "END" | "ROLLBACK" | "SAVEPOINT" | "RELEASE"
    ) {
        return Err(StorageError::new(
            "transaction control is not allowed: every handler already runs in one transaction",
            sql,
        ));
    }
    Ok(())
}

/// A [`Storage`] for contexts that have none (workers, RPC targets): every call fails.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoStorage;

impl Storage for NoStorage {
    fn exec(&self, sql: &str, _params: &[SqlValue]) -> Result<Rows, StorageError> {
        Err(StorageError::new(
            "this context has no storage (workers and RPC targets are stateless)",
            sql,
        ))
    }
    fn exec_batch(&self, sql: &str) -> Result<(), StorageError> {
        self.exec(sql, &[]).map(|_| ())
    }
    fn stats(&self) -> RowStats {
        RowStats::default()
    }
}

/// Schema of the key-value table, created by hosts when they open an object.
pub const KV_SCHEMA: &str =
    "CREATE TABLE IF NOT EXISTS __lmz_kv (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) WITHOUT ROWID;";

/// A key-value view of an object's storage: values are any structured-clone [`Value`], stored
/// as wire text in `__lmz_kv`.
///
/// ```no_run
/// # fn demo(ctx: &lumenize_core::context::Ctx<'_>) -> Result<(), lumenize_core::storage::StorageError> {
/// use lumenize_core::structured_clone::Value;
/// ctx.kv().put("count", &Value::from(1.0))?;
/// assert_eq!(ctx.kv().get("count")?.and_then(|v| v.as_f64()), Some(1.0));
/// # Ok(()) }
/// ```
pub struct Kv<'a> {
    storage: &'a dyn Storage,
}

impl<'a> Kv<'a> {
    /// A view over `storage`.
    pub fn new(storage: &'a dyn Storage) -> Kv<'a> {
        Kv { storage }
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Result<Option<Value>, StorageError> {
        match self.get_text(key)? {
            Some(text) => structured_clone::parse(&text)
                .map(Some)
                .map_err(|e| StorageError::new(format!("stored value is unreadable: {e}"), key)),
            None => Ok(None),
        }
    }

    /// Stores `value` under `key`.
    pub fn put(&self, key: &str, value: &Value) -> Result<(), StorageError> {
        let text = structured_clone::stringify(value)
            .map_err(|e| StorageError::new(format!("value cannot be encoded: {e}"), key))?;
        self.put_text(key, &text)
    }

    /// The value under `key` as a `T`, through the serde bridge
    /// ([`structured_clone::from_value`]): what [`put_as`](Self::put_as) stored, or any value
    /// of the same shape (a TypeScript object written by [`put`](Self::put)).
    ///
    /// ```no_run
    /// # fn demo(ctx: &lumenize_core::context::Ctx<'_>) -> Result<(), lumenize_core::Error> {
    /// #[derive(serde::Serialize, serde::Deserialize)]
    /// struct Settings { volume: u8, muted: bool }
    /// ctx.kv().put_as("settings", &Settings { volume: 7, muted: false })?;
    /// let s: Option<Settings> = ctx.kv().get_as("settings")?;
    /// assert_eq!(s.map(|s| s.volume), Some(7));
    /// # Ok(()) }
    /// ```
    pub fn get_as<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<T>, StorageError> {
        match self.get(key)? {
            Some(v) => structured_clone::from_value(&v).map(Some).map_err(|e| {
                StorageError::new(
                    format!("stored value is not a {}: {e}", std::any::type_name::<T>()),
                    key,
                )
            }),
            None => Ok(None),
        }
    }

    /// Stores `value` under `key` through the serde bridge ([`structured_clone::to_value`]):
    /// the same wire text a TypeScript object of that shape has.
    pub fn put_as<T: serde::Serialize + ?Sized>(
        &self,
        key: &str,
        value: &T,
    ) -> Result<(), StorageError> {
        let v = structured_clone::to_value(value)
            .map_err(|e| StorageError::new(format!("value cannot be encoded: {e}"), key))?;
        self.put(key, &v)
    }

    /// The raw wire text under `key`.
    pub fn get_text(&self, key: &str) -> Result<Option<String>, StorageError> {
        let rows = self.storage.exec(
            "SELECT value FROM __lmz_kv WHERE key = ?1",
            &[SqlValue::from(key)],
        )?;
        Ok(rows.scalar().and_then(|v| v.as_str().map(str::to_string)))
    }

    /// Stores raw text under `key`.
    pub fn put_text(&self, key: &str, text: &str) -> Result<(), StorageError> {
        runtime_tables::runtime(self.storage).exec(
            "INSERT INTO __lmz_kv (key, value) VALUES (?1, ?2) \
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            &[SqlValue::from(key), SqlValue::from(text)],
        )?;
        Ok(())
    }

    /// Deletes `key`; true when it existed.
    pub fn delete(&self, key: &str) -> Result<bool, StorageError> {
        let rows = runtime_tables::runtime(self.storage).exec(
            "DELETE FROM __lmz_kv WHERE key = ?1 RETURNING key",
            &[SqlValue::from(key)],
        )?;
        Ok(!rows.is_empty())
    }

    /// Keys starting with `prefix`, in order, with their raw wire text.
    pub fn list_text(&self, prefix: &str) -> Result<Vec<(String, String)>, StorageError> {
        // Range scan rather than LIKE: keys may contain `%` or `_`.
        let rows = self.storage.exec(
            "SELECT key, value FROM __lmz_kv WHERE key >= ?1 AND substr(key, 1, length(?1)) = ?1 ORDER BY key",
            &[SqlValue::from(prefix)],
        )?;
        Ok(rows
            .rows
            .into_iter()
            .filter_map(|r| match (&r[0], &r[1]) {
                (SqlValue::Text(k), SqlValue::Text(v)) => Some((k.clone(), v.clone())),
                _ => None,
            })
            .collect())
    }
}

//! [`CfStorage`]: lumenize's [`Storage`] (and [`TxStorage`], for the turn engine) over a
//! Durable Object's SQLite (`ctx.storage.sql`), and [`transaction_sync`], the binding of
//! `ctx.storage.transactionSync` that workers-rs 0.8 lacks.

use std::cell::Cell;

use crate::switches::{may_set_a_switch, Switches};

use lumenize_core::storage::{RowStats, Rows, SqlValue, Storage, StorageError, TxStorage};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use worker::{SqlStorage, SqlStorageValue};

/// An object's SQL storage on Cloudflare. Counts rows read and written from the cursors'
/// own counters, which are what Cloudflare bills.
///
/// Which statements a handler may run is enforced by workerd itself: `ctx.storage.sql` compiles
/// every statement under workerd's SQLite authorizer, which refuses transaction control
/// (`BEGIN`, `COMMIT`, `ROLLBACK`, `SAVEPOINT`, `RELEASE`, however spelled, also inside a
/// batch), `ATTACH`/`DETACH`, temporary objects and every PRAGMA outside a small allowlist:
/// the set the native backend's authorizer mirrors (see `lumenize_core::storage`). The
/// JavaScript API offers no authorizer of our own, and a reading of the text would be the
/// bypassable check the native side replaced, so this type adds none: it only turns the
/// platform's refusals into errors that say what was refused.
///
/// **Not enforced here: the runtime's own tables.** Natively a handler's SQL may read but not
/// change the `__lmz_*` tables (schedules, alarm mirror, kv, fetch state), refused by the
/// native authorizer. workerd's authorizer knows nothing of them, and this type has no hook
/// into it, so on Cloudflare such a write (a deleted `fetch-…` schedule, a forged schedule
/// row) goes through: handlers must not do it. See "Limitation on Cloudflare" in
/// `lumenize_core::storage`.
///
/// A switch PRAGMA set inside a transaction that then rolls back is set back as well (SQLite
/// keeps switches outside transactions; see `switches`).
///
/// **A statement that rolls the transaction back itself** (`INSERT OR ROLLBACK`, a column's
/// `ON CONFLICT ROLLBACK`, `RAISE(ROLLBACK)` in a trigger) takes workerd's own savepoint with
/// it: workerd (1.20261117.1) then fails the whole request with "internal error" (`no such
/// savepoint: _cf_sync_savepoint` in its log) instead of our error. The turn's writes are
/// gone and the next request works (the scenario
/// `a_statement_that_rolls_back_fails_only_its_turn`); nothing in the JavaScript API can
/// refuse the statement beforehand.
pub struct CfStorage {
    sql: SqlStorage,
    /// The object's storage, for `transactionSync` (`None`: built by [`CfStorage::new`], which
    /// runs statements but has no transactions).
    storage: Option<worker::Storage>,
    stats: Cell<RowStats>,
    /// Whether a [`TxStorage::transaction`] body is running.
    in_tx: Cell<bool>,
    /// The switches as they were before the first statement of the running transaction that
    /// may set one (`None` until then): put back if the transaction rolls back.
    before: Cell<Option<Switches>>,
}

impl CfStorage {
    /// Wraps `ctx.storage.sql` (statements only: [`TxStorage::transaction`] fails; use
    /// [`CfStorage::for_object`] for a turn engine).
    pub fn new(sql: SqlStorage) -> CfStorage {
        CfStorage {
            sql,
            storage: None,
            stats: Cell::new(RowStats::default()),
            in_tx: Cell::new(false),
            before: Cell::new(None),
        }
    }

    /// Wraps an object's storage: its SQL, and `transactionSync` for
    /// [`TxStorage::transaction`].
    ///
    /// ```ignore
    /// let storage = CfStorage::for_object(state.storage());
    /// ```
    pub fn for_object(storage: worker::Storage) -> CfStorage {
        CfStorage {
            sql: storage.sql(),
            storage: Some(storage),
            stats: Cell::new(RowStats::default()),
            in_tx: Cell::new(false),
            before: Cell::new(None),
        }
    }

    fn run(&self, sql: &str, params: Vec<SqlStorageValue>) -> Result<Rows, StorageError> {
        if self.in_tx.get() && self.before.get().is_none() && may_set_a_switch(sql) {
            self.before.set(Some(self.read_switches()?));
        }
        self.run_counted(sql, params)
    }

    /// The switches' values now.
    fn read_switches(&self) -> Result<Switches, StorageError> {
        let mut values = Vec::with_capacity(Switches::READS.len());
        for read in Switches::READS {
            let rows = self.run_counted(read, Vec::new())?;
            values.push(rows.scalar().and_then(SqlValue::as_i64));
        }
        Switches::from_values(&values).ok_or_else(|| {
            StorageError::new("a switch PRAGMA returned no value", Switches::READS[0])
        })
    }

    /// Runs one statement (or a batch without bindings), counting its rows.
    fn run_counted(&self, sql: &str, params: Vec<SqlStorageValue>) -> Result<Rows, StorageError> {
        let cursor = self
            .sql
            .exec(sql, params)
            .map_err(|e| refusal(e.to_string(), sql))?;
        let columns = cursor.column_names();
        let mut rows = Vec::new();
        for row in cursor.raw() {
            let row = row.map_err(|e| StorageError::new(e.to_string(), sql))?;
            rows.push(row.into_iter().map(from_cf).collect());
        }
        // Read after the cursor is drained: the counters grow as rows are stepped.
        let mut s = self.stats.get();
        s.rows_read += cursor.rows_read() as u64;
        s.rows_written += cursor.rows_written() as u64;
        self.stats.set(s);
        Ok(Rows { columns, rows })
    }
}

impl Storage for CfStorage {
    fn exec(&self, sql: &str, params: &[SqlValue]) -> Result<Rows, StorageError> {
        let params = params.iter().map(to_cf).collect::<Result<Vec<_>, _>>()?;
        self.run(sql, params)
    }

    fn exec_batch(&self, sql: &str) -> Result<(), StorageError> {
        // `exec` runs every `;`-separated statement when there are no bindings, each one
        // compiled under workerd's authorizer.
        self.run(sql, Vec::new()).map(drop)
    }

    fn stats(&self) -> RowStats {
        self.stats.get()
    }
}

impl TxStorage for CfStorage {
    fn transaction(&self, body: &mut dyn FnMut() -> bool) -> Result<bool, StorageError> {
        let Some(storage) = &self.storage else {
            return Err(StorageError::new(
                "this CfStorage has no transactions (build it with CfStorage::for_object)",
                "transactionSync",
            ));
        };
        self.in_tx.set(true);
        let outcome = run_transaction(storage, body);
        self.in_tx.set(false);
        let before = self.before.take();
        let outcome = outcome
            .map_err(|js| StorageError::new(format!("commit failed: {js}"), "transactionSync"));
        match (before, &outcome) {
            // Rolled back (as asked, or by a failed commit) after a statement that may have
            // set a switch: the switches go back with the rows.
            (Some(before), Ok(false) | Err(_)) => {
                let batch = before.restore_batch();
                if let Err(e) = self.run_counted(&batch, Vec::new()) {
                    return Err(StorageError::new(
                        format!(
                            "rolled back, but the connection's switches could not be set back: {e}"
                        ),
                        batch,
                    ));
                }
                outcome
            }
            _ => outcome,
        }
    }
}

/// The error for a statement workerd rejected, saying so when its authorizer refused it (the
/// same wording as the native backend where the kind is known).
fn refusal(message: String, sql: &str) -> StorageError {
    let text = if message.contains("please use the state.storage.transaction") {
        format!(
            "transaction control is not allowed: every handler already runs in one \
             transaction, which the host commits when the handler succeeds and rolls back when \
             it fails (workerd: {message})"
        )
    } else if message.contains("not authorized") {
        format!(
            "statement is not allowed in a handler (ATTACH/DETACH, temporary objects, PRAGMAs \
             outside the allowed set...; see lumenize_core::storage) (workerd: {message})"
        )
    } else {
        message
    };
    StorageError::new(text, sql)
}

/// Integers cross JavaScript numbers: outside ±2^53 they would silently change, so they are
/// refused instead.
fn to_cf(v: &SqlValue) -> Result<SqlStorageValue, StorageError> {
    Ok(match v {
        SqlValue::Null => SqlStorageValue::Null,
        SqlValue::Integer(n) => SqlStorageValue::try_from_i64(*n)
            .map_err(|e| StorageError::new(format!("{e}: {n}"), "bind"))?,
        SqlValue::Real(f) => SqlStorageValue::Float(*f),
        SqlValue::Text(s) => SqlStorageValue::String(s.clone()),
        SqlValue::Blob(b) => SqlStorageValue::Blob(b.clone()),
    })
}

fn from_cf(v: SqlStorageValue) -> SqlValue {
    match v {
        SqlStorageValue::Null => SqlValue::Null,
        SqlStorageValue::Boolean(b) => SqlValue::Integer(b as i64),
        SqlStorageValue::Integer(n) => SqlValue::Integer(n),
        SqlStorageValue::Float(f) => SqlValue::Real(f),
        SqlStorageValue::String(s) => SqlValue::Text(s),
        SqlStorageValue::Blob(b) => SqlValue::Blob(b),
    }
}

#[wasm_bindgen]
extern "C" {
    /// `DurableObjectStorage`, seen through the one method we bind ourselves.
    #[wasm_bindgen(extends = js_sys::Object)]
    type StorageExt;

    /// `transactionSync` with a closure that lives on the stack for the call only (wasm-bindgen
    /// invalidates it when the call returns), so the body may borrow.
    #[wasm_bindgen(method, catch, js_name = transactionSync)]
    fn transaction_sync_raw(
        this: &StorageExt,
        f: &mut dyn FnMut() -> Result<JsValue, JsValue>,
    ) -> Result<JsValue, JsValue>;
}

/// Marks the exception thrown to make `transactionSync` roll back (the real error travels
/// beside it, in Rust).
const ROLLBACK: &str = "lumenize: turn failed, rolling back";

/// Runs `body` inside `ctx.storage.transactionSync`: its SQL writes commit together when it
/// returns `true`, and roll back when it returns `false`. `Err` carries the JavaScript
/// exception when the transaction itself failed (or `body` trapped).
pub fn transaction_sync(
    storage: &worker::Storage,
    body: impl FnOnce() -> bool + 'static,
) -> Result<bool, String> {
    let mut body = Some(body);
    run_transaction(storage, &mut || body.take().is_some_and(|b| b()))
}

/// [`transaction_sync`] for a borrowing body (called once).
fn run_transaction(
    storage: &worker::Storage,
    body: &mut dyn FnMut() -> bool,
) -> Result<bool, String> {
    let mut call = || -> Result<JsValue, JsValue> {
        if body() {
            Ok(JsValue::UNDEFINED)
        } else {
            Err(JsValue::from_str(ROLLBACK))
        }
    };
    let raw: &StorageExt = storage.as_raw().unchecked_ref();
    match raw.transaction_sync_raw(&mut call) {
        Ok(_) => Ok(true),
        Err(e) if e.as_string().as_deref() == Some(ROLLBACK) => Ok(false),
        Err(e) => Err(js_error_text(&e)),
    }
}

/// A readable text for a JavaScript exception.
pub(crate) fn js_error_text(e: &JsValue) -> String {
    if let Some(s) = e.as_string() {
        return s;
    }
    e.dyn_ref::<js_sys::Error>()
        .map(|err| String::from(err.to_string()))
        .unwrap_or_else(|| format!("{e:?}"))
}

//! The runtime's own tables (`__lmz_*`) and the one way to write them: [`RuntimeSql`].
//!
//! # The invariant
//!
//! *Only the runtime's own statement text writes an object that is named `__lmz_*`* (case
//! insensitively, as SQLite compares names): the schedules (`__lmz_alarms`, whose
//! delete-by-id decides which of two racing paths runs a fetch's continuation, and whose
//! rows name operation chains the host will run), `__lmz_meta`, `__lmz_alarm_failures`,
//! `__lmz_kv`, the fetch designs' tables. A handler's SQL may read them.
//!
//! Natively the authorizer of [`SqliteStorage`](super::sqlite::SqliteStorage) enforces it:
//! every action that writes, creates, drops or alters such an object (or puts an index,
//! trigger or view under such a name, or on such a table) is refused unless
//! 1. the statement is being compiled inside the runtime's scope on this thread, for this
//!    connection: [`RuntimeSql`]'s (any connection), or
//!    [`SqliteStorage::as_runtime`](super::sqlite::SqliteStorage::as_runtime)'s (that
//!    storage's own connection only), and
//! 2. the action is not reached through a trigger body (SQLite names the trigger as the
//!    action's accessor): the runtime creates no triggers, so any trigger is a handler's,
//!    and the privilege never extends to what a handler wrote.
//!
//! Why a handler cannot enter the scope: the flag is a private thread-local of this module;
//! the code that sets it for any connection is [`RuntimeSql`], which is crate-private (a
//! handler cannot name it) and only runs one statement of `&'static str` text (the runtime's
//! constants, never text a handler supplied) with it set, calling back into nothing; the one
//! other user, [`drop_handler_hooks`], runs `DROP TRIGGER`/`DROP INDEX` of a quoted name read
//! from the schema.
//! `SqliteStorage::as_runtime` is public (hosts and benchmarks own their storage) and runs
//! any closure, so it lends the privilege to its own connection only: a handler, which holds
//! the object's storage as `&dyn Storage`, can make a database of its own and call it, but
//! the object's connection is not in that scope (it was, while the flag was one bit per
//! thread: `a_storage_of_the_handlers_own_lends_no_privilege_to_the_objects`). Public functions
//! that use it ([`Kv`](super::Kv), [`init_schema`](crate::alarms::init_schema),
//! [`Alarms`](crate::alarms::Alarms), and the host's alarm steps in
//! [`alarms::fire`](crate::alarms::fire), which take the turn's `Ctx`) are the runtime's own
//! API over these tables and keep their rules (the in-memory schedule order, the checks of
//! continuations); what they allow, they allow a handler too (`Alarms::cancel_schedule` of a
//! `fetch-…` id included: that is an API decision, not a hole in this invariant).
//!
//! Compiled statements outlive the scope in SQLite's statement cache, and authorization is
//! decided when a statement is compiled: `SqliteStorage` therefore remembers the text of every
//! statement that needed the scope and compiles that text afresh (so the authorizer sees it)
//! when it is run outside the scope.

use super::{Rows, SqlValue, Storage, StorageError};
use std::cell::Cell;

/// The prefix of the runtime's own tables, indexes and triggers.
pub(crate) const PREFIX: &str = "__lmz_";

/// The scope's value for "every connection" ([`RuntimeSql`]); `0` is "none", and any other
/// value is the one connection that may use it (a connection's [`scope_id`]).
const ANY: u64 = u64::MAX;

thread_local! {
    /// Which connection may use the runtime's privilege on this thread now: `0` none, [`ANY`]
    /// every one, else a connection's [`scope_id`].
    static IN_RUNTIME: Cell<u64> = const { Cell::new(0) };
}

/// A fresh id for a connection, never `0` or [`ANY`] (a process would need 2^64 connections
/// to wrap).
#[cfg_attr(not(feature = "native"), allow(dead_code))]
pub(crate) fn scope_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// True while the runtime runs one of its own statements on this thread with connection `id`
/// (read by the native authorizer while it compiles that statement).
#[cfg_attr(not(feature = "native"), allow(dead_code))]
pub(crate) fn in_scope(id: u64) -> bool {
    let v = IN_RUNTIME.with(Cell::get);
    v == ANY || (v != 0 && v == id)
}

/// True when `name` belongs to the runtime (`__lmz_` in any case).
#[cfg_attr(not(feature = "native"), allow(dead_code))]
pub(crate) fn is_reserved(name: &str) -> bool {
    name.as_bytes()
        .get(..PREFIX.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(PREFIX.as_bytes()))
}

/// What a handler should use instead of writing runtime table `name` itself.
#[cfg_attr(not(feature = "native"), allow(dead_code))]
pub(crate) fn instead(name: &str) -> &'static str {
    let lower = name.to_ascii_lowercase();
    match lower.as_str() {
        "__lmz_alarms" | "__lmz_alarm_failures" => "use ctx.alarms() to schedule and cancel",
        "__lmz_kv" => "use ctx.kv()",
        "__lmz_meta" => "the host keeps the object's name and alarm there",
        _ if lower.starts_with("__lmz_fetch") => "the fetch designs keep their state there",
        _ => "names starting with __lmz_ are reserved for the runtime",
    }
}

/// Sets the flag for its lifetime and restores what was there (also on unwind).
struct Scope(u64);

impl Scope {
    fn enter(to: u64) -> Scope {
        Scope(IN_RUNTIME.with(|f| f.replace(to)))
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        IN_RUNTIME.with(|f| f.set(self.0));
    }
}

/// The runtime's own statements on its `__lmz_*` tables (see the [module docs](self)).
#[derive(Clone, Copy)]
pub(crate) struct RuntimeSql<'a>(&'a dyn Storage);

/// The runtime's view of `storage`, for its own statements.
pub(crate) fn runtime(storage: &dyn Storage) -> RuntimeSql<'_> {
    RuntimeSql(storage)
}

impl RuntimeSql<'_> {
    /// [`Storage::exec`] of one of the runtime's statements, allowed to write its tables.
    pub(crate) fn exec(
        &self,
        sql: &'static str,
        params: &[SqlValue],
    ) -> Result<Rows, StorageError> {
        let _scope = Scope::enter(ANY);
        self.0.exec(sql, params)
    }

    /// [`Storage::exec_batch`] of the runtime's schema, allowed to create its tables.
    pub(crate) fn exec_batch(&self, sql: &'static str) -> Result<(), StorageError> {
        let _scope = Scope::enter(ANY);
        self.0.exec_batch(sql)
    }
}

/// Drops every trigger and index on a runtime table, and returns their names. The runtime
/// creates none (its tables' keys need no `CREATE INDEX`, and its rules forbid triggers), so
/// each one is a handler's, left by a version without the authorizer's rules, and reaches
/// into the runtime's own writes: a trigger's `RAISE(IGNORE)` can skip the delete of a
/// cancelled schedule (which then fires after a restart although its cancel won), a unique
/// index can refuse a schedule. Run when an object opens.
///
/// The drops are built from the names the schema holds, quoted, and run in the runtime's
/// scope (a handler may not drop an object under a reserved name): the only statement texts
/// this module runs that are not constants, and all they can do is drop that one object.
pub(crate) fn drop_handler_hooks(storage: &dyn Storage) -> Result<Vec<String>, StorageError> {
    let rows = storage.exec(
        "SELECT type, name FROM sqlite_schema \
         WHERE type IN ('trigger', 'index') AND sql IS NOT NULL \
         AND substr(lower(tbl_name), 1, 6) = '__lmz_'",
        &[],
    )?;
    let mut dropped = Vec::new();
    for row in &rows.rows {
        let (Some(kind), Some(name)) = (row[0].as_str(), row[1].as_str()) else {
            continue;
        };
        let kind = if kind == "trigger" {
            "TRIGGER"
        } else {
            "INDEX"
        };
        let sql = format!("DROP {kind} IF EXISTS \"{}\"", name.replace('"', "\"\""));
        let _scope = Scope::enter(ANY);
        storage.exec_batch(&sql)?;
        dropped.push(name.to_string());
    }
    Ok(dropped)
}

/// For hosts that own a [`SqliteStorage`](super::sqlite::SqliteStorage): runs `body` with
/// the runtime's privilege for the connection whose [`scope_id`] is `id`, and no other.
#[cfg(feature = "native")]
pub(crate) fn as_runtime<R>(id: u64, body: impl FnOnce() -> R) -> R {
    let _scope = Scope::enter(id);
    body()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_names_match_case_insensitively() {
        assert!(is_reserved("__lmz_alarms"));
        assert!(is_reserved("__LMZ_Alarms"));
        assert!(is_reserved("__lmz_"));
        assert!(!is_reserved("__lmz"));
        assert!(!is_reserved("lmz_alarms"));
        assert!(!is_reserved("_é_lmz_x"));
        assert!(!is_reserved(""));
    }

    #[test]
    fn the_scope_is_restored_on_unwind() {
        assert!(!in_scope(7));
        let r = std::panic::catch_unwind(|| {
            let _s = Scope::enter(ANY);
            assert!(in_scope(7));
            panic!("inside");
        });
        assert!(r.is_err());
        assert!(!in_scope(7));
    }

    #[test]
    fn a_connections_scope_is_its_own() {
        let (a, b) = (scope_id(), scope_id());
        let _s = Scope::enter(a);
        assert!(in_scope(a) && !in_scope(b));
        {
            let _inner = Scope::enter(ANY);
            assert!(in_scope(b));
        }
        assert!(!in_scope(b), "the outer scope is back");
    }
}

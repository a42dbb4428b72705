//! The checks around a handler's `CREATE TABLE` and `ALTER TABLE` that the authorizer cannot
//! make alone, because SQLite does not tell it the whole effect: the new name of `ALTER TABLE
//! … RENAME TO`, the `REFERENCES` of a new table or column. Each such statement runs inside a
//! savepoint, and the schema (never the statement's text) is compared before and after it:
//! a table renamed into the runtime's prefix, or a foreign key into one of its tables, rolls
//! the savepoint back and refuses the statement. [`SqliteStorage`](super::sqlite::SqliteStorage)
//! calls them from `exec` and `exec_batch`; they read the schema with the check lifted
//! ([`HostScope`]) and run their savepoints through the host's own statements
//! ([`HostControl`]).

use super::authorizer::{Guard, HostScope};
use super::runtime_tables;
use super::StorageError;
use rusqlite::Connection;
use std::cell::{Cell, RefCell};

/// The foreign keys of table `?1` to a runtime table (by the parent's name), read by the host
/// with the check lifted and kept compiled, so its text is on the privileged list from the
/// start (see `sqlite::HOST_CONTROL`).
pub(super) const REFERENCES_INTO_RUNTIME: &str =
    "SELECT DISTINCT \"table\" FROM pragma_foreign_key_list(?1) \
     WHERE lower(substr(\"table\", 1, 6)) = '__lmz_'";

/// Whether table `?1` exists (names compare as SQLite compares them: ASCII case folded), read
/// like [`REFERENCES_INTO_RUNTIME`].
pub(super) const TABLE_EXISTS: &str =
    "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1 COLLATE NOCASE";

/// The host's own statements, run with the check lifted (`SAVEPOINT lmz_alter`, `ROLLBACK TO
/// lmz_alter`, `RELEASE lmz_alter` here): the storage's `control`.
pub(super) trait HostControl {
    /// Runs one of the host's listed statements.
    fn control(&self, sql: &'static str) -> Result<(), StorageError>;
}

/// The checks of one connection: its authorizer's state and the host's statements on it.
pub(super) struct DdlCheck<'a> {
    conn: &'a Connection,
    guard: &'a Guard,
    host: &'a dyn HostControl,
}

impl<'a> DdlCheck<'a> {
    /// The checks of `conn`, whose authorizer is `guard` and whose host is `host`.
    pub(super) fn new(conn: &'a Connection, guard: &'a Guard, host: &'a dyn HostControl) -> Self {
        DdlCheck { conn, guard, host }
    }

    fn control(&self, sql: &'static str) -> Result<(), StorageError> {
        self.host.control(sql)
    }

    /// Runs a handler's `ALTER TABLE` and undoes it when it gave a table a runtime name or a
    /// foreign key to a runtime table.
    ///
    /// The authorizer is told which table `ALTER TABLE ... RENAME TO` renames, never the new
    /// name, and a table renamed into `__lmz_*` would be adopted by the runtime (its
    /// `CREATE TABLE IF NOT EXISTS` of a lazily created table would find it, rows and
    /// triggers included). Nor is it told a new column's `REFERENCES`: SQLite enforces foreign
    /// keys here, so a handler's table referencing a runtime table would block the runtime's
    /// own deletes, run the handler's triggers inside them (`ON DELETE CASCADE`), or fail
    /// every write of that table ("foreign key mismatch"). So the statement runs inside a
    /// savepoint, and the schema (not the statement's text) is compared before and after: a
    /// new runtime-named table or a new foreign key to one rolls the savepoint back and
    /// refuses the statement.
    pub(super) fn no_runtime_name_or_reference<T>(
        &self,
        sql: &str,
        run: impl FnOnce() -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        let before = self.runtime_footprint()?;
        self.control("SAVEPOINT lmz_alter")?;
        let out = run();
        // A schema that cannot be read back is no evidence either way: undone like a refusal,
        // and the savepoint closed whatever happened (never left open for the turn's COMMIT).
        let after = match &out {
            Ok(_) => self.runtime_footprint(),
            Err(_) => Ok(Vec::new()),
        };
        let added = after
            .as_ref()
            .ok()
            .and_then(|a| a.iter().find(|n| !before.contains(n)));
        if out.is_err() || after.is_err() || added.is_some() {
            self.control("ROLLBACK TO lmz_alter")?;
        }
        self.control("RELEASE lmz_alter")?;
        match added {
            Some((name, None)) => Err(refused(
                name,
                &format!("ALTER TABLE ... RENAME TO {name}"),
                sql,
            )),
            Some((child, Some(parent))) => Err(refused(parent, &reference(child, parent), sql)),
            None => after.and(out),
        }
    }

    /// Runs a handler's `CREATE TABLE` of `table` and undoes it when it gave `table` a foreign
    /// key to a runtime table (why: [`no_runtime_name_or_reference`](Self::no_runtime_name_or_reference)). Only `table` can have gained one, and a CREATE TABLE
    /// cannot take a runtime name (the authorizer refuses it), so a read of `table`'s keys
    /// after it ran does. When `table` exists (`exists`, read just before) the statement
    /// creates nothing (`IF NOT EXISTS`, or it fails): it runs as it is (a table from before
    /// this rule keeps its keys), the common case of a handler that makes sure of its schema
    /// in every message.
    pub(super) fn no_reference_into_runtime<T>(
        &self,
        table: &str,
        exists: bool,
        sql: &str,
        run: impl FnOnce() -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        if exists {
            return run();
        }
        self.control("SAVEPOINT lmz_alter")?;
        let out = run();
        let after = match &out {
            Ok(_) => self.references_into_runtime(table),
            Err(_) => Ok(Vec::new()),
        };
        let added = after.as_ref().ok().and_then(|a| a.first());
        if out.is_err() || after.is_err() || added.is_some() {
            self.control("ROLLBACK TO lmz_alter")?;
        }
        self.control("RELEASE lmz_alter")?;
        match added {
            Some(parent) => Err(refused(parent, &reference(table, parent), sql)),
            None => after.and(out),
        }
    }

    /// The runtime tables `table`'s foreign keys name, read with the check lifted.
    fn references_into_runtime(&self, table: &str) -> Result<Vec<String>, StorageError> {
        let _host = HostScope::enter(self.guard);
        let e = |e: rusqlite::Error| StorageError::new(e.to_string(), REFERENCES_INTO_RUNTIME);
        let mut stmt = self
            .conn
            .prepare_cached(REFERENCES_INTO_RUNTIME)
            .map_err(e)?;
        let parents = stmt
            .query_map([table], |r| r.get(0))
            .map_err(e)?
            .collect::<Result<Vec<String>, _>>()
            .map_err(e)?;
        Ok(parents)
    }

    /// Whether `table` exists, read with the check lifted.
    pub(super) fn table_exists(&self, table: &str) -> Result<bool, StorageError> {
        let _host = HostScope::enter(self.guard);
        let e = |e: rusqlite::Error| StorageError::new(e.to_string(), TABLE_EXISTS);
        let mut stmt = self.conn.prepare_cached(TABLE_EXISTS).map_err(e)?;
        stmt.exists([table]).map_err(e)
    }

    /// The tables whose names start with `__lmz_` (any case), as `(name, None)`, and the
    /// foreign keys from any table to such a name, as `(table, Some(parent))`; read with the
    /// check lifted. One pass over the schema (around a handler's ALTER TABLE only).
    fn runtime_footprint(&self) -> Result<Vec<(String, Option<String>)>, StorageError> {
        // `lower(substr(..))` rather than LIKE: a handler may make LIKE case-sensitive.
        const SQL: &str = "SELECT name, NULL FROM sqlite_schema WHERE type = 'table' \
                           AND lower(substr(name, 1, 6)) = '__lmz_' \
                           UNION SELECT m.name, f.\"table\" FROM sqlite_schema AS m, \
                           pragma_foreign_key_list(m.name) AS f WHERE m.type = 'table' \
                           AND lower(substr(f.\"table\", 1, 6)) = '__lmz_'";
        let _host = HostScope::enter(self.guard);
        let e = |e: rusqlite::Error| StorageError::new(e.to_string(), SQL);
        let mut stmt = self.conn.prepare(SQL).map_err(e)?;
        let names = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(e)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(e)?;
        Ok(names)
    }
}

/// How many of a handler's `CREATE TABLE` texts stay cached (more are compiled every time).
const CACHED_CREATES: usize = 32;

/// The texts of a handler's `CREATE TABLE` statements left in the statement cache, with the
/// table each creates; at most [`CACHED_CREATES`].
#[derive(Default)]
pub(super) struct CachedCreates(RefCell<Vec<(Box<str>, String)>>);

impl CachedCreates {
    /// The table `sql` creates, when it is a handler's `CREATE TABLE` left in the cache.
    pub(super) fn get(&self, sql: &str) -> Option<String> {
        let creates = self.0.borrow();
        let found = creates.iter().find(|(text, _)| **text == *sql);
        found.map(|(_, table)| table.clone())
    }

    /// Remembers that `sql`, which creates `table`, stays in the cache; false when the list is
    /// full (the statement is then not kept).
    pub(super) fn remember(&self, sql: &str, table: &str) -> bool {
        let mut creates = self.0.borrow_mut();
        if creates.iter().any(|(text, _)| **text == *sql) {
            return true;
        }
        if creates.len() >= CACHED_CREATES {
            return false;
        }
        creates.push((sql.into(), table.to_string()));
        true
    }
}

/// Empties the statement cache on drop when a handler's `ALTER TABLE` ran: a cached ALTER must
/// never be reused, since SQLite would recompile it while it runs (its schema changed, or was
/// rolled back), after `no_runtime_name_or_reference` was decided for it.
pub(super) struct FlushCacheIfAltered<'c>(pub(super) &'c Connection, pub(super) Cell<bool>);

impl Drop for FlushCacheIfAltered<'_> {
    fn drop(&mut self) {
        if self.1.get() {
            self.0.flush_prepared_statement_cache();
        }
    }
}

/// A statement from the cache that goes back to it when dropped (also on an early return),
/// unless `discard` was set: a handler's `CREATE TABLE` is compiled, and so checked, every time
/// it runs (a cached one, recompiled by SQLite while it runs once the schema changed, would
/// escape [`DdlCheck::no_reference_into_runtime`]); the rest
/// of the cache stays.
pub(super) struct Cached<'c> {
    pub(super) stmt: Option<rusqlite::CachedStatement<'c>>,
    pub(super) discard: bool,
}

impl Drop for Cached<'_> {
    fn drop(&mut self) {
        if let Some(stmt) = self.stmt.take().filter(|_| self.discard) {
            stmt.discard();
        }
    }
}

/// The refusal of a handler's statement that would give the runtime's table `name` to the
/// handler (`what` it did).
fn refused(name: &str, what: &str, sql: &str) -> StorageError {
    StorageError::new(
        format!(
            "`{name}` belongs to the runtime: {} (refused: {what}; a handler may read the \
             runtime's __lmz_ tables but not change them)",
            runtime_tables::instead(name)
        ),
        sql,
    )
}

fn reference(child: &str, parent: &str) -> String {
    format!(
        "a foreign key from {child} to {parent}, whose rows would block or hook into the \
         runtime's own writes"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::limits::Limit;

    /// The host's statements, run directly on the connection.
    struct Direct<'c>(&'c Connection);

    impl HostControl for Direct<'_> {
        fn control(&self, sql: &'static str) -> Result<(), StorageError> {
            self.0
                .execute_batch(sql)
                .map_err(|e| StorageError::new(e.to_string(), sql))
        }
    }

    /// When the schema cannot be read back after the handler's statement ran (here: the
    /// statement shrank SQLite's longest statement, so the read does not compile; in life an
    /// I/O error), the statement is undone and its savepoint closed, as when it is refused.
    #[test]
    fn a_failed_read_after_the_statement_leaves_no_savepoint_open() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE h (a)").unwrap();
        let guard = Guard::default();
        let host = Direct(&conn);
        let check = DdlCheck::new(&conn, &guard, &host);
        for alter in [true, false] {
            let run = || {
                conn.execute_batch("ALTER TABLE h ADD COLUMN b; CREATE TABLE h2 (k)")
                    .map_err(|e| StorageError::new(e.to_string(), "run"))?;
                conn.set_limit(Limit::SQLITE_LIMIT_SQL_LENGTH, 40);
                Ok(())
            };
            let out = if alter {
                check.no_runtime_name_or_reference("ALTER …", run)
            } else {
                check.no_reference_into_runtime("h2", false, "CREATE …", run)
            };
            conn.set_limit(Limit::SQLITE_LIMIT_SQL_LENGTH, 1_000_000);
            assert!(out.is_err(), "alter: {alter}");
            assert!(
                conn.is_autocommit(),
                "a savepoint was left open (alter: {alter})"
            );
            let tables: i64 = conn
                .query_row(
                    "SELECT count(*) FROM sqlite_schema WHERE name = 'h2'",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(tables, 0, "the statement was not undone (alter: {alter})");
        }
    }
}

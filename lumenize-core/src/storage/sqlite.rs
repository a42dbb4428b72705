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
//! a handler cannot reach the scope: [`runtime_tables`](super::runtime_tables)).

use super::runtime_tables;
use super::{RowStats, Rows, SqlValue, Storage, StorageError};
use rusqlite::config::DbConfig;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization, TransactionOperation};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, StatementStatus};
use std::cell::{Cell, RefCell};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

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
    /// (it writes a runtime table). Such a statement may sit in the statement cache, compiled
    /// with the privilege: outside the scope its text is compiled afresh, so the authorizer
    /// judges it. Bounded by the runtime's own statements (all `&'static str` constants, a
    /// few dozen): a list, searched by length first, costs a handler's statement less than
    /// hashing its text.
    privileged: RefCell<Vec<Box<str>>>,
}

/// State shared with the authorizer callback (which SQLite requires to be `Send + 'static`).
#[derive(Default)]
struct Guard {
    /// True only while the host runs its own transaction-control statement.
    host: AtomicBool,
    /// Why the statement being compiled was refused (the first refused action).
    refused: Mutex<Option<String>>,
    /// What the statements compiled since the last `take_compiled` write (for the row count).
    compiled: Mutex<super::write_cost::Compiled>,
    /// An action was allowed only because the runtime's scope was entered (see
    /// `SqliteStorage::privileged`).
    used_scope: AtomicBool,
    /// A handler's statement compiled since the flag was last cleared alters a table (it may
    /// rename one: see `SqliteStorage::no_rename_into_runtime`).
    alters: AtomicBool,
}

impl Guard {
    fn authorize(&self, ctx: AuthContext<'_>) -> Authorization {
        if self.host.load(Ordering::Acquire) {
            return Authorization::Allow;
        }
        if let Ok(mut c) = self.compiled.lock() {
            c.note(&ctx.action);
        }
        if matches!(ctx.action, AuthAction::AlterTable { .. }) && !runtime_tables::in_scope() {
            self.alters.store(true, Ordering::Release);
        }
        let verdict = policy(&ctx).and_then(|()| match runtime_table_write(&ctx) {
            None => Ok(()),
            // The runtime's own statement (never a trigger body: the runtime creates none, so
            // any trigger is a handler's, and its body gets a handler's rights).
            Some(_) if ctx.accessor.is_none() && runtime_tables::in_scope() => {
                self.used_scope.store(true, Ordering::Release);
                Ok(())
            }
            Some(why) => Err(why),
        });
        match verdict {
            Ok(()) => Authorization::Allow,
            Err(why) => {
                if let Ok(mut slot) = self.refused.lock() {
                    slot.get_or_insert(why);
                }
                Authorization::Deny
            }
        }
    }

    fn take_refusal(&self) -> Option<String> {
        self.refused.lock().ok().and_then(|mut slot| slot.take())
    }
}

/// Lifts the authorizer for the host's own statement; restores it on drop (also on unwind).
struct HostScope<'a>(&'a Guard);

impl<'a> HostScope<'a> {
    fn enter(guard: &'a Guard) -> HostScope<'a> {
        guard.host.store(true, Ordering::Release);
        HostScope(guard)
    }
}

impl Drop for HostScope<'_> {
    fn drop(&mut self) {
        self.0.host.store(false, Ordering::Release);
    }
}

const TRANSACTION_REFUSED: &str = "every handler already runs in one transaction, which the \
     host commits when the handler succeeds and rolls back when it fails";

const TEMP_REFUSED: &str = "temporary tables, indexes, views and triggers are not allowed: \
     they live outside the object's database and vanish whenever the object is closed";

/// PRAGMAs a handler may run (the set workerd allows in a Durable Object, so that the same SQL
/// runs on both backends): how each may take an argument.
#[derive(Clone, Copy)]
enum PragmaArg {
    /// Any form (`table_list`).
    Any,
    /// Read only: no argument.
    None,
    /// A switch: no argument (read it) or a boolean literal.
    Boolean,
    /// A table or index name, required.
    Name,
}

const ALLOWED_PRAGMAS: &[(&str, PragmaArg)] = &[
    ("table_list", PragmaArg::Any),
    ("table_info", PragmaArg::Name),
    ("data_version", PragmaArg::None),
    ("case_sensitive_like", PragmaArg::Boolean),
    ("foreign_keys", PragmaArg::Boolean),
    ("defer_foreign_keys", PragmaArg::Boolean),
    ("ignore_check_constraints", PragmaArg::Boolean),
    ("recursive_triggers", PragmaArg::Boolean),
    ("reverse_unordered_selects", PragmaArg::Boolean),
    ("foreign_key_check", PragmaArg::Name),
    ("foreign_key_list", PragmaArg::Name),
    ("index_info", PragmaArg::Name),
    ("index_list", PragmaArg::Name),
    ("index_xinfo", PragmaArg::Name),
];

fn pragma_allowed(name: &str, value: Option<&str>) -> bool {
    let Some((_, arg)) = ALLOWED_PRAGMAS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
    else {
        return false;
    };
    match (arg, value) {
        (PragmaArg::Any, _) | (PragmaArg::None, None) | (PragmaArg::Boolean, None) => true,
        (PragmaArg::Boolean, Some(v)) => {
            let v = v.trim_matches(|c| c == '\'' || c == '"');
            ["true", "false", "yes", "no", "on", "off", "1", "0"]
                .iter()
                .any(|b| b.eq_ignore_ascii_case(v))
        }
        (PragmaArg::Name, Some(_)) => true,
        (PragmaArg::None, Some(_)) | (PragmaArg::Name, None) => false,
    }
}

/// Why `ctx` is refused to a handler because it changes a runtime table (`None`: it does not),
/// see [`runtime_tables`]. Reads stay allowed: they change nothing, and handlers (and the
/// tests, and the simulator's oracle) inspect schedules with SQL.
///
/// `ANALYZE` (statistics in `sqlite_stat1`) and `REINDEX` (rebuilds an index from the table's
/// rows) are not refused: neither changes a row, and refusing them would make a plain
/// `ANALYZE` or `REINDEX` of the handler's own tables fail.
fn runtime_table_write(ctx: &AuthContext<'_>) -> Option<String> {
    use AuthAction as A;
    let (what, names) = match ctx.action {
        A::Insert { table_name } => ("INSERT into", [table_name, ""]),
        A::Update { table_name, .. } => ("UPDATE of", [table_name, ""]),
        A::Delete { table_name } => ("DELETE from", [table_name, ""]),
        A::CreateTable { table_name } => ("CREATE TABLE", [table_name, ""]),
        A::DropTable { table_name } => ("DROP TABLE", [table_name, ""]),
        A::AlterTable { table_name, .. } => ("ALTER TABLE", [table_name, ""]),
        A::CreateView { view_name } => ("CREATE VIEW", [view_name, ""]),
        A::DropView { view_name } => ("DROP VIEW", [view_name, ""]),
        A::CreateVtable { table_name, .. } => ("CREATE VIRTUAL TABLE", [table_name, ""]),
        A::DropVtable { table_name, .. } => ("DROP VIRTUAL TABLE", [table_name, ""]),
        A::CreateIndex {
            index_name,
            table_name,
        } => ("CREATE INDEX", [index_name, table_name]),
        A::DropIndex {
            index_name,
            table_name,
        } => ("DROP INDEX", [index_name, table_name]),
        A::CreateTrigger {
            trigger_name,
            table_name,
        } => ("CREATE TRIGGER", [trigger_name, table_name]),
        A::DropTrigger {
            trigger_name,
            table_name,
        } => ("DROP TRIGGER", [trigger_name, table_name]),
        _ => return None,
    };
    let name = names.into_iter().find(|n| runtime_tables::is_reserved(n))?;
    let via = ctx
        .accessor
        .map(|t| format!(", in the body of trigger {t}"))
        .unwrap_or_default();
    Some(format!(
        "`{name}` belongs to the runtime: {} (refused: {what} {name}{via}; a handler may read \
         the runtime's __lmz_ tables but not change them)",
        runtime_tables::instead(name)
    ))
}

/// The rules of the module docs, one compiled action at a time: `Err` says why it is refused.
fn policy(ctx: &AuthContext<'_>) -> Result<(), String> {
    match ctx.database_name {
        None | Some("main") => {}
        // Nothing can be created in `temp` (below), so only reads of its empty schema remain.
        Some("temp") => {
            if !matches!(
                ctx.action,
                AuthAction::Read { .. } | AuthAction::Update { .. }
            ) {
                return Err(TEMP_REFUSED.into());
            }
        }
        Some(db) => {
            return Err(format!(
                "database {db:?} is not allowed: an object reaches only its own database"
            ))
        }
    }
    match ctx.action {
        AuthAction::Transaction { operation } => {
            let kind = match operation {
                TransactionOperation::Begin => "BEGIN",
                TransactionOperation::Rollback => "ROLLBACK",
                _ => "COMMIT/END",
            };
            Err(format!(
                "transaction control is not allowed ({kind}): {TRANSACTION_REFUSED}"
            ))
        }
        AuthAction::Savepoint { operation, .. } => {
            let kind = match operation {
                TransactionOperation::Begin => "SAVEPOINT",
                TransactionOperation::Release => "RELEASE",
                TransactionOperation::Rollback => "ROLLBACK TO",
                _ => "savepoint",
            };
            Err(format!(
                "transaction control is not allowed ({kind}): {TRANSACTION_REFUSED}"
            ))
        }
        AuthAction::Attach { .. } => {
            Err("ATTACH is not allowed: an object reaches only its own database".into())
        }
        AuthAction::Detach { .. } => {
            Err("DETACH is not allowed: an object reaches only its own database".into())
        }
        AuthAction::CreateTempTable { .. }
        | AuthAction::CreateTempIndex { .. }
        | AuthAction::CreateTempTrigger { .. }
        | AuthAction::CreateTempView { .. }
        | AuthAction::DropTempTable { .. }
        | AuthAction::DropTempIndex { .. }
        | AuthAction::DropTempTrigger { .. }
        | AuthAction::DropTempView { .. } => Err(TEMP_REFUSED.into()),
        AuthAction::Pragma {
            pragma_name,
            pragma_value,
        } => {
            if pragma_allowed(pragma_name, pragma_value) {
                Ok(())
            } else {
                Err(format!(
                    "PRAGMA {pragma_name}{} is not allowed: a handler may run only the PRAGMAs \
                     listed in lumenize_core::storage's documentation",
                    pragma_value.map(|v| format!(" = {v}")).unwrap_or_default()
                ))
            }
        }
        AuthAction::Function { function_name }
            if function_name.eq_ignore_ascii_case("load_extension") =>
        {
            Err("load_extension() is not allowed".into())
        }
        AuthAction::CreateVtable { module_name, .. }
        | AuthAction::DropVtable { module_name, .. }
            if !module_name.eq_ignore_ascii_case("fts5") =>
        {
            Err(format!(
                "virtual tables using {module_name} are not allowed (only fts5, as on Cloudflare)"
            ))
        }
        AuthAction::Unknown { code, .. } => Err(format!(
            "SQLite action {code} is not allowed (unknown to lumenize's authorizer)"
        )),
        _ => Ok(()),
    }
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
        let guard = Arc::new(Guard::default());
        let hook = guard.clone();
        conn.authorizer(Some(move |ctx: AuthContext<'_>| hook.authorize(ctx)));
        Ok(SqliteStorage {
            conn,
            guard,
            read: Cell::new(0),
            written: Cell::new(0),
            costs: Default::default(),
            privileged: RefCell::default(),
        })
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
        // Not cached: a statement compiled with the check lifted must never be reused by
        // `exec` (its authorization is decided when it is compiled, not when it runs).
        let _host = HostScope::enter(&self.guard);
        self.conn
            .execute_batch(sql)
            .map_err(|e| StorageError::new(e.to_string(), sql))
    }

    /// Runs `body` with the runtime's right to write its own `__lmz_*` tables, for the host
    /// that owns this storage (tests that plant rows an older version wrote, benchmarks that
    /// compare against raw rusqlite). Handlers cannot call it: they hold only `&dyn Storage`
    /// ([`Ctx::sql`](crate::context::Ctx::sql)), which has no way back to this type.
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
        let out = super::runtime_tables::as_runtime(body);
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

    /// The error for a failed statement: the authorizer's reason when it refused it.
    fn error(&self, e: rusqlite::Error, sql: &str) -> StorageError {
        match self.guard.take_refusal() {
            Some(why) => StorageError::new(why, sql),
            None => StorageError::new(e.to_string(), sql),
        }
    }
}

/// Empties the statement cache on drop when a handler's `ALTER TABLE` ran: a cached ALTER must
/// never be reused, since SQLite would recompile it while it runs (its schema changed, or was
/// rolled back), after `no_rename_into_runtime` was decided for it.
struct FlushCacheIfAltered<'c>(&'c Connection, Cell<bool>);

impl Drop for FlushCacheIfAltered<'_> {
    fn drop(&mut self) {
        if self.1.get() {
            self.0.flush_prepared_statement_cache();
        }
    }
}

impl SqliteStorage {
    /// Each statement of `sql` in turn, stepped once (as rusqlite's `execute_batch`), a
    /// handler's ALTER TABLE under [`no_rename_into_runtime`](Self::no_rename_into_runtime).
    fn run_batch(&self, sql: &str) -> Result<(), StorageError> {
        let err = |e: rusqlite::Error| self.error(e, sql);
        let mut batch = rusqlite::Batch::new(&self.conn, sql);
        loop {
            self.guard.alters.store(false, Ordering::Release);
            let Some(mut stmt) = batch.next().map_err(err)? else {
                return Ok(());
            };
            let mut step = || stmt.raw_query().next().map(drop).map_err(err);
            if self.guard.alters.swap(false, Ordering::AcqRel) {
                self.no_rename_into_runtime(sql, step)?;
            } else {
                step()?;
            }
        }
    }

    /// Runs a handler's `ALTER TABLE` and undoes it when it gave a table a runtime name.
    ///
    /// The authorizer is told which table `ALTER TABLE ... RENAME TO` renames, never the new
    /// name, and a table renamed into `__lmz_*` would be adopted by the runtime (its
    /// `CREATE TABLE IF NOT EXISTS` of a lazily created table would find it, rows and
    /// triggers included). So the statement runs inside a savepoint, and the runtime-named
    /// tables in the schema (not the statement's text) are compared before and after: a new
    /// one rolls the savepoint back and refuses the statement.
    fn no_rename_into_runtime<T>(
        &self,
        sql: &str,
        run: impl FnOnce() -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        let before = self.runtime_table_names()?;
        self.control("SAVEPOINT lmz_alter")?;
        let out = run();
        let added = match &out {
            Ok(_) => self
                .runtime_table_names()?
                .into_iter()
                .find(|n| !before.contains(n)),
            Err(_) => None,
        };
        if out.is_err() || added.is_some() {
            self.control("ROLLBACK TO lmz_alter; RELEASE lmz_alter")?;
        } else {
            self.control("RELEASE lmz_alter")?;
        }
        match added {
            Some(name) => Err(StorageError::new(
                format!(
                    "`{name}` belongs to the runtime: {} (refused: ALTER TABLE ... RENAME TO \
                     {name}; a handler may read the runtime's __lmz_ tables but not change them)",
                    runtime_tables::instead(&name)
                ),
                sql,
            )),
            None => out,
        }
    }

    /// The tables whose names start with `__lmz_` (any case), read with the check lifted.
    fn runtime_table_names(&self) -> Result<Vec<String>, StorageError> {
        // `lower(substr(..))` rather than LIKE: a handler may make LIKE case-sensitive.
        const SQL: &str = "SELECT name FROM sqlite_schema WHERE type = 'table' \
                           AND lower(substr(name, 1, 6)) = '__lmz_'";
        let _host = HostScope::enter(&self.guard);
        let e = |e: rusqlite::Error| StorageError::new(e.to_string(), SQL);
        let mut stmt = self.conn.prepare(SQL).map_err(e)?;
        let names = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(e)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(e)?;
        Ok(names)
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
}

impl SqliteStorage {
    /// `SAVEPOINT`, the body, then `RELEASE` or `ROLLBACK TO` + `RELEASE`; `Err` when the
    /// outer transaction is gone (SQLite rolls a whole transaction back on some errors, such
    /// as a full disk) or a control statement failed.
    fn run_savepoint(&self, body: &mut dyn FnMut() -> bool) -> Result<bool, StorageError> {
        if !self.in_transaction() {
            return Err(StorageError::new("no transaction is open", "SAVEPOINT"));
        }
        self.control("SAVEPOINT lmz_msg")?;
        let keep = body();
        if !self.in_transaction() {
            return Err(StorageError::new(
                "the transaction was rolled back inside the savepoint",
                "RELEASE lmz_msg",
            ));
        }
        if keep {
            self.control("RELEASE lmz_msg")?;
        } else {
            self.control("ROLLBACK TO lmz_msg; RELEASE lmz_msg")?;
        }
        Ok(keep)
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
        self.guard.take_refusal();
        let err = |e: rusqlite::Error| self.error(e, sql);
        self.take_compiled();
        let in_scope = runtime_tables::in_scope();
        // A statement cached with the runtime's privilege must not run outside its scope:
        // compile that text afresh, so the authorizer judges it (and refuses it).
        let afresh = !in_scope && self.is_privileged(sql);
        self.guard.used_scope.store(false, Ordering::Release);
        self.guard.alters.store(false, Ordering::Release);
        let changes0 = self.conn.total_changes();
        // Declared before the statement, so dropped after it went back to the cache, also when
        // the statement fails.
        let altered = FlushCacheIfAltered(&self.conn, Cell::new(false));
        // The statement lives in this block: a cached one goes back to the cache at its end.
        let (columns, out) = {
            let (mut cached, mut fresh);
            let stmt: &mut rusqlite::Statement<'_> = if afresh {
                fresh = self.conn.prepare(sql).map_err(err)?;
                &mut fresh
            } else {
                cached = self.conn.prepare_cached(sql).map_err(err)?;
                &mut cached
            };
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
                self.no_rename_into_runtime(sql, run)?
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

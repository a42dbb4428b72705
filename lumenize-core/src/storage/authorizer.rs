//! The native authorizer: what a handler's statement may do, judged by SQLite action by action
//! while it compiles (`sqlite3_set_authorizer`), whatever the statement's spelling. The rules
//! are those of the [module docs](super#what-a-handler-may-run);
//! [`SqliteStorage`](super::sqlite::SqliteStorage) installs [`Guard::authorize`] on every
//! connection, and lifts it only for the host's own statements ([`HostScope`]).

use super::runtime_tables;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization, TransactionOperation};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Mutex;

/// State shared with the authorizer callback (which SQLite requires to be `Send + 'static`).
#[derive(Default)]
pub(super) struct Guard {
    /// The connection's id for the runtime's scope (`runtime_tables::scope_id`).
    pub(super) scope: u64,
    /// True only while the host runs its own transaction-control statement.
    pub(super) host: AtomicBool,
    /// Why the statement being compiled was refused (the first refused action).
    pub(super) refused: Mutex<Option<String>>,
    /// What the statements compiled since the last `take_compiled` write (for the row count).
    pub(super) compiled: Mutex<super::write_cost::Compiled>,
    /// An action was allowed only because the runtime's scope was entered (see
    /// `SqliteStorage::privileged`).
    pub(super) used_scope: AtomicBool,
    /// A handler's statement compiled since the flag was last cleared alters a table (it may
    /// rename one into the runtime's prefix, or give one a foreign key to a runtime table,
    /// neither of which the authorizer is told: see
    /// `handler_ddl::DdlCheck::no_runtime_name_or_reference`).
    pub(super) alters: AtomicBool,
    /// The table a handler's statement compiled since the field was last taken creates (its
    /// foreign keys are checked once it ran: see `handler_ddl::DdlCheck::no_reference_into_runtime`).
    pub(super) creates: Mutex<Option<String>>,
    /// The switch PRAGMAs ([`SWITCHES`], one bit each) a handler's statement compiled since
    /// the field was last taken sets: the storage notes their values before it runs, to put
    /// them back if its message rolls back (`switches.rs`).
    pub(super) switches: AtomicU8,
}

impl Guard {
    pub(super) fn authorize(&self, ctx: AuthContext<'_>) -> Authorization {
        if self.host.load(Ordering::Acquire) {
            return Authorization::Allow;
        }
        if let Ok(mut c) = self.compiled.lock() {
            c.note(&ctx.action);
        }
        match ctx.action {
            AuthAction::AlterTable { .. } if !runtime_tables::in_scope(self.scope) => {
                self.alters.store(true, Ordering::Release);
            }
            AuthAction::CreateTable { table_name } if !runtime_tables::in_scope(self.scope) => {
                if let Ok(mut slot) = self.creates.lock() {
                    *slot = Some(table_name.to_string());
                }
            }
            AuthAction::Pragma {
                pragma_name,
                pragma_value: Some(_),
            } => {
                if let Some(i) = switch_index(pragma_name) {
                    self.switches.fetch_or(1 << i, Ordering::AcqRel);
                }
            }
            _ => {}
        }
        let verdict = policy(&ctx).and_then(|()| match runtime_table_write(&ctx) {
            None => Ok(()),
            // The runtime's own statement (never a trigger body: the runtime creates none, so
            // any trigger is a handler's, and its body gets a handler's rights).
            Some(_) if ctx.accessor.is_none() && runtime_tables::in_scope(self.scope) => {
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

    pub(super) fn take_refusal(&self) -> Option<String> {
        self.refused.lock().ok().and_then(|mut slot| slot.take())
    }

    /// The switches the statements compiled since the last call set (see `switches`).
    pub(super) fn take_switches(&self) -> u8 {
        self.switches.swap(0, Ordering::AcqRel)
    }

    /// The table the statements compiled since the last call create (see `creates`).
    pub(super) fn take_created(&self) -> Option<String> {
        self.creates.lock().ok().and_then(|mut slot| slot.take())
    }
}

/// Lifts the authorizer for the host's own statement; restores it on drop (also on unwind).
pub(super) struct HostScope<'a>(&'a Guard);

impl<'a> HostScope<'a> {
    pub(super) fn enter(guard: &'a Guard) -> HostScope<'a> {
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

/// The switch PRAGMAs a handler may set: connection settings that a rollback does not undo
/// (`defer_foreign_keys` is reset by SQLite when the transaction ends; `foreign_keys` cannot
/// change inside one), so the storage puts back those a rolled-back message set.
pub(super) const SWITCHES: [&str; 6] = [
    "foreign_keys",
    "defer_foreign_keys",
    "case_sensitive_like",
    "ignore_check_constraints",
    "recursive_triggers",
    "reverse_unordered_selects",
];

/// The index of the switch PRAGMA `name` in [`SWITCHES`] (any case).
pub(super) fn switch_index(name: &str) -> Option<usize> {
    SWITCHES.iter().position(|s| s.eq_ignore_ascii_case(name))
}

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
        // Dropping an index or trigger is judged by its own name: the runtime makes none on
        // its tables but under its prefix, so one named otherwise is a handler's, perhaps
        // made before these rules existed (a trigger whose body writes a runtime table would
        // otherwise make the runtime's own writes fail, with no way to remove it).
        A::DropIndex { index_name, .. } => ("DROP INDEX", [index_name, ""]),
        A::CreateTrigger {
            trigger_name,
            table_name,
        } => ("CREATE TRIGGER", [trigger_name, table_name]),
        A::DropTrigger { trigger_name, .. } => ("DROP TRIGGER", [trigger_name, ""]),
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

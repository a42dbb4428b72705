//! Rows written as Cloudflare counts them, for the native [`SqliteStorage`](super::sqlite).
//!
//! Cloudflare bills a SQLite-backed Durable Object for the rows its statements write, and
//! "every row update of an index counts as an additional row written". workerd reads the
//! count from a counter its SQLite patch (`patches/sqlite/0001-row-counts-plain.patch`, from
//! libSQL) adds to the VDBE: +1 for every b-tree entry inserted into a table or an index
//! (`OP_Insert`, `OP_IdxInsert`; an UPDATE re-inserts its row), +1 per row a DELETE removes
//! (`OP_Delete` of the row; index entries removed with it, `OP_IdxDelete`, are not counted),
//! never for ephemeral (temporary) b-trees. So, per row changed:
//!
//! | statement | entries counted |
//! |---|---|
//! | INSERT (also `OR REPLACE`, upsert) | 1 + every index of the table (a `WITHOUT ROWID` table's primary key is its row, not an index; a rowid table's non-integer primary key or `UNIQUE` is one) |
//! | UPDATE | 1 + the indexes holding a changed column (all of them when a primary-key column changes) |
//! | DELETE | 1 |
//!
//! The native build has no such counter. Instead the storage multiplies the rows a statement
//! changed (`sqlite3_total_changes()`) by the entries one such row writes, from what the
//! statement writes (told by SQLite's authorizer while it compiles the statement: which
//! table, which kind, which columns) and the table's indexes (read once from
//! `PRAGMA index_list`/`index_info`/`table_list`, again after any DDL). Where a statement's
//! rows differ it counts the largest: a partial index is counted as if every row matched, an
//! upsert that updates as if it inserted, rows changed by triggers as the statement's own
//! table. `tests/storage_rows_written.rs` holds the cases and their counts, which the
//! workerd suite checks against Cloudflare's own counter.

use rusqlite::hooks::AuthAction;
use rusqlite::Connection;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

/// What one table write of a statement does.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    Insert,
    Delete,
    /// The columns it sets.
    Update(Vec<String>),
}

/// What the statements compiled since it was last taken write, as the authorizer reported it.
#[derive(Debug, Default)]
pub(crate) struct Compiled {
    writes: Vec<(String, Kind)>,
    schema: bool,
}

impl Compiled {
    /// Records one action the authorizer was asked about.
    pub(crate) fn note(&mut self, action: &AuthAction<'_>) {
        let (table, kind) = match action {
            AuthAction::Insert { table_name } => (*table_name, Kind::Insert),
            AuthAction::Delete { table_name } => (*table_name, Kind::Delete),
            AuthAction::Update {
                table_name,
                column_name,
            } => {
                if let Some((_, Kind::Update(cols))) = self
                    .writes
                    .iter_mut()
                    .find(|(t, k)| t == table_name && matches!(k, Kind::Update(_)))
                {
                    cols.push(column_name.to_string());
                    return;
                }
                (*table_name, Kind::Update(vec![column_name.to_string()]))
            }
            AuthAction::CreateIndex { .. }
            | AuthAction::DropIndex { .. }
            | AuthAction::CreateTable { .. }
            | AuthAction::DropTable { .. }
            | AuthAction::AlterTable { .. }
            | AuthAction::CreateVtable { .. }
            | AuthAction::DropVtable { .. } => {
                self.schema = true;
                return;
            }
            _ => return,
        };
        // SQLite's own tables (the schema rows a DDL writes) change no row it counts.
        if table.starts_with("sqlite_") || self.writes.iter().any(|(t, k)| t == table && *k == kind)
        {
            return;
        }
        self.writes.push((table.to_string(), kind));
    }

    /// Whether any write was compiled.
    pub(crate) fn writes_anything(&self) -> bool {
        !self.writes.is_empty()
    }

    /// Whether a compiled statement changes the schema.
    pub(crate) fn changes_schema(&self) -> bool {
        self.schema
    }
}

/// A table's indexes, as far as the count needs them.
#[derive(Debug, Default)]
pub(crate) struct TableShape {
    /// The columns of each index that is a b-tree of its own (for a `WITHOUT ROWID` table,
    /// not the primary key). An expression column is named `""`: any update touches it.
    indexes: Vec<Vec<String>>,
    /// The primary-key columns (a change rewrites every index).
    primary_key: Vec<String>,
}

impl TableShape {
    /// Reads `table`'s indexes. A table that cannot be read (a view, a virtual table, a
    /// PRAGMA that fails) has no indexes as far as the count goes.
    pub(crate) fn read(conn: &Connection, table: &str) -> TableShape {
        let without_rowid = conn
            .query_row(
                "SELECT wr FROM pragma_table_list WHERE schema = 'main' AND name = ?1",
                [table],
                |r| r.get::<_, i64>(0),
            )
            .map(|wr| wr != 0)
            .unwrap_or(false);
        let primary_key = conn
            .prepare("SELECT name FROM pragma_table_info(?1) WHERE pk > 0")
            .and_then(|mut s| {
                s.query_map([table], |r| r.get::<_, String>(0))?
                    .collect::<Result<Vec<_>, _>>()
            })
            .unwrap_or_default();
        let lists = conn
            .prepare("SELECT name, origin FROM pragma_index_list(?1)")
            .and_then(|mut s| {
                s.query_map([table], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })?
                .collect::<Result<Vec<_>, _>>()
            })
            .unwrap_or_default();
        let mut indexes = Vec::new();
        for (name, origin) in lists {
            if without_rowid && origin == "pk" {
                continue;
            }
            let cols = conn
                .prepare("SELECT name FROM pragma_index_info(?1)")
                .and_then(|mut s| {
                    s.query_map([&name], |r| {
                        Ok(r.get::<_, Option<String>>(0)?.unwrap_or_default())
                    })?
                    .collect::<Result<Vec<_>, _>>()
                })
                .unwrap_or_default();
            indexes.push(cols);
        }
        TableShape {
            indexes,
            primary_key,
        }
    }

    /// Entries one changed row of `kind` writes.
    fn per_row(&self, kind: &Kind) -> u64 {
        match kind {
            Kind::Insert => 1 + self.indexes.len() as u64,
            Kind::Delete => 1,
            Kind::Update(cols) => {
                if cols.iter().any(|c| self.primary_key.contains(c)) {
                    return 1 + self.indexes.len() as u64;
                }
                let touched = self
                    .indexes
                    .iter()
                    .filter(|ix| ix.iter().any(|c| c.is_empty() || cols.contains(c)))
                    .count();
                1 + touched as u64
            }
        }
    }
}

/// What one statement writes: each table and how.
type Shape = Arc<Vec<(String, Kind)>>;

/// The most statements whose shape is kept: beyond it the shapes (and the statement cache,
/// so no cached statement is left without one) start over.
const MAX_SHAPES: usize = 1024;

/// Per connection: what each cached statement writes, and each written table's indexes.
#[derive(Default)]
pub(crate) struct WriteCosts {
    shapes: RefCell<HashMap<String, Shape>>,
    tables: RefCell<HashMap<String, Arc<TableShape>>>,
}

impl WriteCosts {
    /// Remembers what statement `sql`, just compiled, writes. Returns `true` when the shapes
    /// were full and have been forgotten (the caller then flushes its statement cache).
    pub(crate) fn remember(&self, sql: &str, compiled: Compiled) -> bool {
        let mut shapes = self.shapes.borrow_mut();
        let full = shapes.len() >= MAX_SHAPES;
        if full {
            shapes.clear();
        }
        shapes.insert(sql.to_string(), Arc::new(compiled.writes));
        full
    }

    /// The schema changed: the tables' indexes are read again when next needed.
    pub(crate) fn schema_changed(&self) {
        self.tables.borrow_mut().clear();
    }

    /// Rows written, as Cloudflare counts them, by statement `sql` that changed `changed` rows.
    /// `read` reads a table's indexes (called once per table until the schema changes).
    pub(crate) fn rows_written(
        &self,
        sql: &str,
        changed: u64,
        read: &dyn Fn(&str) -> TableShape,
    ) -> u64 {
        let Some(writes) = self.shapes.borrow().get(sql).cloned() else {
            // Not compiled through `exec` (cannot happen for a statement that changed rows;
            // counted as the rows themselves rather than guessed).
            return changed;
        };
        let mut per_row = 1;
        for (table, kind) in writes.iter() {
            let shape = self.tables.borrow().get(table).cloned();
            let shape = match shape {
                Some(s) => s,
                None => {
                    let s = Arc::new(read(table));
                    self.tables.borrow_mut().insert(table.clone(), s.clone());
                    s
                }
            };
            per_row = per_row.max(shape.per_row(kind));
        }
        changed.saturating_mul(per_row)
    }
}

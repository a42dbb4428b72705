//! The switch PRAGMAs a handler may set (`recursive_triggers`, `ignore_check_constraints`...,
//! listed in [`SWITCHES`]) are settings of the connection, not data: SQLite does not undo them
//! when a transaction or savepoint rolls back. So that a message that fails leaves nothing
//! behind, the storage puts back the switches a message set when that message rolls back: to
//! its savepoint, or with the whole transaction.
//!
//! SQLite changes a switch while it *compiles* the `PRAGMA` (not when it runs), right after the
//! authorizer allowed it, and the authorizer may not query the connection. So the storage keeps
//! each switch's value ([`SwitchLog`]'s `shadow`, read once when the connection opens), and
//! after compiling a statement the authorizer says sets switches, reads their new values and
//! notes the old ones. Nothing is read on the common path: a turn that sets no switch costs
//! one atomic swap per statement. A statement that sets one is never left in the statement
//! cache, so that every run of it is compiled, and seen by the authorizer.
//!
//! What SQLite itself does (checked by `turn_engine::a_rolled_back_message_leaves_the_switch_
//! pragmas_as_they_were`): `foreign_keys` cannot change inside a transaction, where every
//! handler runs (its set is a no-op there); `defer_foreign_keys` is turned off when the
//! transaction ends, but not by a rollback to a savepoint; the other four stay as set through
//! every rollback.

use super::authorizer::{Guard, HostScope, SWITCHES};
use rusqlite::Connection;
use std::cell::{Cell, RefCell};

/// `defer_foreign_keys`: SQLite turns it off itself when the transaction ends.
const DEFER_FOREIGN_KEYS: usize = 1;
/// `case_sensitive_like`: it cannot be read, only its effect.
const CASE_SENSITIVE_LIKE: usize = 2;

/// The switches' values, and what the open transaction's handlers changed of them.
///
/// Invariants: `shadow` holds each switch's value on the connection, as long as switches are
/// changed only by statements run through the storage (a host that sets one through
/// `SqliteStorage::connection` directly leaves it stale until that switch is set again).
/// Each entry of `entries` is a switch and its value before the first statement of its level
/// that changed it; a level is the transaction outside savepoints, or one message's savepoint
/// (its entries from `mark` on while it runs, kept in place when it is released). At most one
/// entry per switch per level, so the log is bounded by six entries per message of the
/// transaction (a group holds at most 64).
pub(super) struct SwitchLog {
    shadow: Cell<[bool; SWITCHES.len()]>,
    entries: RefCell<Vec<(usize, bool)>>,
    /// Where the current savepoint's entries start.
    mark: Cell<usize>,
}

impl SwitchLog {
    /// Reads every switch of a connection just opened (six reads, once per connection).
    pub(super) fn open(conn: &Connection, guard: &Guard) -> SwitchLog {
        let mut shadow = [false; SWITCHES.len()];
        for (i, on) in shadow.iter_mut().enumerate() {
            *on = read(conn, guard, i).unwrap_or(false);
        }
        SwitchLog {
            shadow: Cell::new(shadow),
            entries: RefCell::new(Vec::new()),
            mark: Cell::new(0),
        }
    }

    /// After compiling a statement that sets the switches `bits` (SQLite has set them): reads
    /// their values; inside the host's transaction (`in_tx`), notes the old value of each
    /// that changed and is not yet noted at this level.
    pub(super) fn changed(&self, conn: &Connection, guard: &Guard, bits: u8, in_tx: bool) {
        let mut shadow = self.shadow.get();
        for (i, value) in shadow.iter_mut().enumerate() {
            if bits & (1 << i) == 0 {
                continue;
            }
            let old = *value;
            *value = read(conn, guard, i).unwrap_or(old);
            let noted = self.entries.borrow()[self.mark.get()..]
                .iter()
                .any(|(s, _)| *s == i);
            if in_tx && *value != old && !noted {
                self.entries.borrow_mut().push((i, old));
            }
        }
        self.shadow.set(shadow);
    }

    /// Starts a savepoint's level; returns the mark to give back to
    /// [`end_savepoint`](Self::end_savepoint).
    pub(super) fn begin_savepoint(&self) -> usize {
        self.mark.replace(self.entries.borrow().len())
    }

    /// Ends the savepoint begun when the outer mark was `outer`: rolled back (`kept` false),
    /// its switches are put back; kept, its entries join the outer level (a later rollback
    /// of the transaction puts them back).
    pub(super) fn end_savepoint(&self, conn: &Connection, guard: &Guard, outer: usize, kept: bool) {
        let from = self.mark.replace(outer);
        if !kept {
            self.restore(conn, guard, from, true);
        }
    }

    /// The transaction committed: its settings stay (`defer_foreign_keys` is now off).
    pub(super) fn committed(&self) {
        self.entries.borrow_mut().clear();
        self.ended();
    }

    /// The transaction rolled back: every switch it set is put back, except
    /// `defer_foreign_keys`, which SQLite has turned off (set now, outside a transaction, it
    /// would last into the next one).
    pub(super) fn rolled_back(&self, conn: &Connection, guard: &Guard) {
        self.restore(conn, guard, 0, false);
        self.ended();
    }

    fn ended(&self) {
        self.mark.set(0);
        let mut shadow = self.shadow.get();
        shadow[DEFER_FOREIGN_KEYS] = false;
        self.shadow.set(shadow);
    }

    fn restore(&self, conn: &Connection, guard: &Guard, from: usize, defer_too: bool) {
        let undo: Vec<(usize, bool)> = {
            let mut entries = self.entries.borrow_mut();
            let from = from.min(entries.len());
            entries.drain(from..).rev().collect()
        };
        let mut shadow = self.shadow.get();
        for (i, on) in undo {
            if i != DEFER_FOREIGN_KEYS || defer_too {
                write(conn, guard, i, on);
                shadow[i] = on;
            }
        }
        self.shadow.set(shadow);
    }
}

/// The switch's current value, read with the check lifted (`None`: the read failed).
fn read(conn: &Connection, guard: &Guard, i: usize) -> Option<bool> {
    let _host = HostScope::enter(guard);
    let sql = if i == CASE_SENSITIVE_LIKE {
        "SELECT NOT ('a' LIKE 'A')".to_string()
    } else {
        format!("PRAGMA {}", SWITCHES[i])
    };
    // Not cached: the host's statements never serve a handler's identical text.
    conn.query_row(&sql, [], |r| r.get::<_, i64>(0))
        .ok()
        .map(|v| v != 0)
}

/// Sets the switch back, with the check lifted.
fn write(conn: &Connection, guard: &Guard, i: usize, on: bool) {
    let _host = HostScope::enter(guard);
    let sql = format!("PRAGMA {} = {}", SWITCHES[i], u8::from(on));
    if let Err(e) = conn.execute_batch(&sql) {
        tracing::error!(error = %e, sql, "cannot put a switch PRAGMA back");
    }
}

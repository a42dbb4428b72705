//! The object's one native alarm, as a trait ([`AlarmSlot`]), and the portable implementation
//! that mirrors it in SQL ([`SlotState`] + [`SqlAlarmSlot`]).
//!
//! The mirror row (`__lmz_meta`, key `alarm`) is written in the handler's transaction, so the
//! armed time commits or rolls back with the schedules that justify it; after commit the host
//! pushes a changed value to the real alarm (the native timer, or Cloudflare's `setAlarm`). On
//! restart the host re-arms from the row. Each change is one row written, as `setAlarm` is
//! billed on Cloudflare.

use crate::storage::{SqlValue, Storage, StorageError};
use std::cell::Cell;

/// An object's single alarm: at most one pending time.
pub trait AlarmSlot {
    /// The armed time (ms since the epoch), if any.
    fn get(&self) -> Option<i64>;
    /// Arms at `at`, or disarms with `None`.
    fn set(&self, at: Option<i64>) -> Result<(), StorageError>;
}

/// For contexts without an alarm (workers): always empty; arming fails.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoAlarmSlot;

impl AlarmSlot for NoAlarmSlot {
    fn get(&self) -> Option<i64> {
        None
    }
    fn set(&self, _at: Option<i64>) -> Result<(), StorageError> {
        Err(StorageError::new(
            "this context has no alarm (workers and RPC targets are stateless)",
            "setAlarm",
        ))
    }
}

/// The host-owned state of a SQL-mirrored slot: the armed time, what the mirror row holds,
/// and whether the current turn changed it.
///
/// Arming only changes memory; the host writes the mirror row once per turn with
/// [`SlotState::flush`] just before committing (so a turn that arms and disarms a thousand
/// times writes at most one row, as a handler calling `setAlarm` once at its end would).
///
/// After a rollback the host re-reads the committed value ([`SlotState::reload`]). When that
/// read fails the slot is *stale* ([`SlotState::mark_stale`]): it holds the last value it
/// knew, refuses to [`flush`](SlotState::flush), reports no change, and is re-read inside the
/// next turn's transaction ([`SlotState::ensure_fresh`]) before anything can change it.
///
/// ```
/// # #[cfg(feature = "native")] {
/// use lumenize_core::alarms::{init_schema, SlotState};
/// use lumenize_core::storage::sqlite::SqliteStorage;
/// let db = SqliteStorage::in_memory().unwrap();
/// init_schema(&db).unwrap();
/// let slot = SlotState::load(&db).unwrap();
/// slot.mark_stale(Some(5));
/// assert!(slot.is_stale() && slot.flush(&db).is_err());
/// slot.ensure_fresh(&db).unwrap(); // nothing stored: the guess was wrong
/// assert_eq!((slot.is_stale(), slot.armed(), slot.take_change()), (false, None, Some(None)));
/// # }
/// ```
#[derive(Debug, Default)]
pub struct SlotState {
    armed: Cell<Option<i64>>,
    persisted: Cell<Option<i64>>,
    dirty: Cell<bool>,
    /// The committed value could not be re-read: `armed` is the last value known.
    stale: Cell<bool>,
}

/// Creates the meta table holding the mirror row.
pub const META_SCHEMA: &str =
    "CREATE TABLE IF NOT EXISTS __lmz_meta (key TEXT PRIMARY KEY NOT NULL, value) WITHOUT ROWID;";

impl SlotState {
    /// Reads the committed alarm time from `storage` (hosts call this on open and after a
    /// rollback).
    pub fn load(storage: &dyn Storage) -> Result<SlotState, StorageError> {
        let state = SlotState::default();
        state.reload(storage)?;
        Ok(state)
    }

    /// Re-reads the committed value and clears the turn's change flag (and staleness). On
    /// error nothing changes: a host then calls [`mark_stale`](Self::mark_stale).
    pub fn reload(&self, storage: &dyn Storage) -> Result<(), StorageError> {
        let rows = storage.exec("SELECT value FROM __lmz_meta WHERE key = 'alarm'", &[])?;
        let stored = rows.scalar().and_then(SqlValue::as_i64);
        self.armed.set(stored);
        self.persisted.set(stored);
        self.dirty.set(false);
        self.stale.set(false);
        Ok(())
    }

    /// The committed value could not be re-read after a rollback: forget the rolled-back
    /// change, hold `last_known` (the value before the turn, which a rollback restores), and
    /// re-read before the next flush.
    pub fn mark_stale(&self, last_known: Option<i64>) {
        self.armed.set(last_known);
        self.persisted.set(last_known);
        self.dirty.set(false);
        self.stale.set(true);
    }

    /// Whether the slot is stale (see [`mark_stale`](Self::mark_stale)).
    pub fn is_stale(&self) -> bool {
        self.stale.get()
    }

    /// Re-reads a stale slot; nothing to do otherwise. Hosts call this inside the turn's
    /// transaction before the handler runs, and fail the turn when it fails. When the value
    /// read differs from the one held, the turn reports it as a change (the host armed the
    /// old one).
    pub fn ensure_fresh(&self, storage: &dyn Storage) -> Result<(), StorageError> {
        if !self.stale.get() {
            return Ok(());
        }
        let held = self.armed.get();
        self.reload(storage)?;
        if self.armed.get() != held {
            self.dirty.set(true);
        }
        Ok(())
    }

    /// Writes the armed time to the mirror row if it differs from what the row holds. Hosts
    /// call this inside the turn's transaction, right before committing. Fails on a stale
    /// slot: what the row holds is unknown.
    pub fn flush(&self, storage: &dyn Storage) -> Result<(), StorageError> {
        if self.stale.get() {
            return Err(StorageError::new(
                "the alarm slot is stale (its re-read failed): re-read it first",
                "flush",
            ));
        }
        let at = self.armed.get();
        if self.persisted.get() == at {
            return Ok(());
        }
        match at {
            Some(t) => storage.exec(
                "INSERT INTO __lmz_meta (key, value) VALUES ('alarm', ?1) \
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                &[SqlValue::Integer(t)],
            )?,
            None => storage.exec("DELETE FROM __lmz_meta WHERE key = 'alarm'", &[])?,
        };
        self.persisted.set(at);
        Ok(())
    }

    /// What a savepoint rollback restores: the armed time and whether it changed.
    pub(crate) fn mark(&self) -> (Option<i64>, bool) {
        (self.armed.get(), self.dirty.get())
    }

    /// Back to a [`mark`](Self::mark) taken in the same transaction (a message of a group
    /// rolled back to its savepoint; the mirror row is only written by `flush`, after it).
    pub(crate) fn rewind(&self, (armed, dirty): (Option<i64>, bool)) {
        self.armed.set(armed);
        self.dirty.set(dirty);
    }

    /// The armed time.
    pub fn armed(&self) -> Option<i64> {
        self.armed.get()
    }

    /// After commit: `Some(new value)` if the turn changed the alarm (then cleared). Never
    /// a change while stale.
    pub fn take_change(&self) -> Option<Option<i64>> {
        if self.dirty.replace(false) && !self.stale.get() {
            Some(self.armed.get())
        } else {
            None
        }
    }
}

/// A [`SlotState`] bound to the storage of the current turn.
pub struct SqlAlarmSlot<'a> {
    /// The state.
    pub state: &'a SlotState,
    /// The storage the mirror row lives in (written by [`SlotState::flush`]).
    pub storage: &'a dyn Storage,
}

impl AlarmSlot for SqlAlarmSlot<'_> {
    fn get(&self) -> Option<i64> {
        self.state.armed.get()
    }

    fn set(&self, at: Option<i64>) -> Result<(), StorageError> {
        if self.state.armed.get() != at {
            self.state.armed.set(at);
            self.state.dirty.set(true);
        }
        Ok(())
    }
}

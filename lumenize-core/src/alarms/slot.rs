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
#[derive(Debug, Default)]
pub struct SlotState {
    armed: Cell<Option<i64>>,
    persisted: Cell<Option<i64>>,
    dirty: Cell<bool>,
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

    /// Re-reads the committed value and clears the turn's change flag.
    pub fn reload(&self, storage: &dyn Storage) -> Result<(), StorageError> {
        let rows = storage.exec("SELECT value FROM __lmz_meta WHERE key = 'alarm'", &[])?;
        let stored = rows.scalar().and_then(SqlValue::as_i64);
        self.armed.set(stored);
        self.persisted.set(stored);
        self.dirty.set(false);
        Ok(())
    }

    /// Writes the armed time to the mirror row if it differs from what the row holds. Hosts
    /// call this inside the turn's transaction, right before committing.
    pub fn flush(&self, storage: &dyn Storage) -> Result<(), StorageError> {
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

    /// The armed time.
    pub fn armed(&self) -> Option<i64> {
        self.armed.get()
    }

    /// After commit: `Some(new value)` if the turn changed the alarm (then cleared).
    pub fn take_change(&self) -> Option<Option<i64>> {
        if self.dirty.replace(false) {
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

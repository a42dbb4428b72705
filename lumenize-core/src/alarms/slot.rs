//! The object's one native alarm, as a trait ([`AlarmSlot`]), and the portable implementation
//! that derives it from the schedules ([`SlotState`] + [`SqlAlarmSlot`]).
//!
//! Nothing but the schedules is stored: the slot is, by invariant, the earliest pending
//! schedule's time, so it is derived from the `__lmz_alarms` rows rather than mirrored in a
//! row of its own. [`SlotState`] keeps the pending schedules' `(time, id)` order in memory
//! ([`ScheduleOrder`]), rebuilt with one scan of the table when the object opens and after a
//! rollback; in between, every alarms operation updates it next to its SQL. So the table needs
//! no time index, and a schedule costs one row written to insert and one to delete, as
//! Cloudflare counts them (an index entry is one more). After commit the host pushes a changed
//! value to the real alarm: Cloudflare's `setAlarm`, which is itself durable; natively the
//! runtime re-arms its timer from the schedules when it starts.

use crate::storage::{SqlValue, Storage, StorageError};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, HashMap};

/// An object's single alarm: at most one pending time.
pub trait AlarmSlot {
    /// The armed time (ms since the epoch), if any.
    fn get(&self) -> Option<i64>;
    /// Arms at `at`, or disarms with `None`.
    fn set(&self, at: Option<i64>) -> Result<(), StorageError>;
    /// The in-memory order of the pending schedules, when this slot keeps one
    /// ([`SqlAlarmSlot`] does). Without it, alarms find the earliest schedule with a scan of
    /// the table.
    fn order(&self) -> Option<&ScheduleOrder> {
        None
    }
}

/// The pending schedules' `(time, id)` order, in memory: what a time index on
/// `__lmz_alarms` would hold, without an index entry written per schedule. Memory is linear
/// in the pending schedules (about 100 bytes each plus the id).
///
/// It is only as good as the code that keeps it: every alarms operation updates it next to
/// its SQL, and [`SlotState`] rebuilds it from the table (one scan) on open and after a
/// rollback. Handler SQL that writes `__lmz_alarms` directly is not seen (as before, a
/// handler that writes lumenize's own tables breaks its own alarms).
#[derive(Debug, Default)]
pub struct ScheduleOrder {
    by_time: RefCell<BTreeSet<(i64, String)>>,
    by_id: RefCell<HashMap<String, i64>>,
}

impl ScheduleOrder {
    /// Schedule `id` is pending at `time` (replacing its previous time, if any).
    pub fn put(&self, id: &str, time: i64) {
        let old = self.by_id.borrow_mut().insert(id.to_string(), time);
        let mut by_time = self.by_time.borrow_mut();
        if let Some(t) = old {
            by_time.remove(&(t, id.to_string()));
        }
        by_time.insert((time, id.to_string()));
    }

    /// Schedule `id` is no longer pending; returns the time it had.
    pub fn remove(&self, id: &str) -> Option<i64> {
        let old = self.by_id.borrow_mut().remove(id)?;
        self.by_time.borrow_mut().remove(&(old, id.to_string()));
        Some(old)
    }

    /// Whether schedule `id` is pending.
    pub fn contains(&self, id: &str) -> bool {
        self.by_id.borrow().contains_key(id)
    }

    /// The earliest pending schedule, `(time, id)`.
    pub fn first(&self) -> Option<(i64, String)> {
        self.by_time.borrow().first().cloned()
    }

    /// The number of pending schedules due at `now_ms` (time <= now).
    pub fn due(&self, now_ms: i64) -> usize {
        self.by_time
            .borrow()
            .range(..(now_ms.saturating_add(1), String::new()))
            .count()
    }

    /// Replaces the whole order with the table's rows (one scan: a row read per pending
    /// schedule). On error nothing changes.
    fn rebuild(&self, storage: &dyn Storage) -> Result<(), StorageError> {
        let rows = storage.exec("SELECT id, time FROM __lmz_alarms", &[])?;
        let mut by_time = BTreeSet::new();
        let mut by_id = HashMap::with_capacity(rows.rows.len());
        for r in &rows.rows {
            if let (Some(id), Some(t)) = (
                r.first().and_then(SqlValue::as_str),
                r.get(1).and_then(SqlValue::as_i64),
            ) {
                by_time.insert((t, id.to_string()));
                by_id.insert(id.to_string(), t);
            }
        }
        *self.by_time.borrow_mut() = by_time;
        *self.by_id.borrow_mut() = by_id;
        Ok(())
    }
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

/// The host-owned state of the slot: the armed time, the schedule order it is derived from
/// ([`ScheduleOrder`]), and whether the current turn changed it.
///
/// Arming only changes memory and writes nothing: the armed time is the earliest schedule's,
/// and the schedules are already in the turn's transaction. The host calls
/// [`SlotState::flush`] just before committing (a check that writes nothing).
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
    dirty: Cell<bool>,
    /// The committed value could not be re-read: `armed` is the last value known.
    stale: Cell<bool>,
    /// Invariant (unless stale): equals the pending rows of `__lmz_alarms` in the turn's
    /// transaction, and `armed` is its first time.
    order: ScheduleOrder,
}

/// Creates the meta table (the object's name; older versions also kept a copy of the armed
/// time there, under key `alarm`, which is no longer read or written).
pub const META_SCHEMA: &str =
    "CREATE TABLE IF NOT EXISTS __lmz_meta (key TEXT PRIMARY KEY NOT NULL, value) WITHOUT ROWID;";

impl SlotState {
    /// Reads the committed schedules' order, and so the alarm time, from `storage` (hosts call
    /// this on open and after a rollback): one scan of `__lmz_alarms`.
    pub fn load(storage: &dyn Storage) -> Result<SlotState, StorageError> {
        let state = SlotState::default();
        state.reload(storage)?;
        Ok(state)
    }

    /// Re-reads the committed value and clears the turn's change flag (and staleness). On
    /// error nothing changes: a host then calls [`mark_stale`](Self::mark_stale).
    pub fn reload(&self, storage: &dyn Storage) -> Result<(), StorageError> {
        self.order.rebuild(storage)?;
        let stored = self.order.first().map(|(t, _)| t);
        self.armed.set(stored);
        self.dirty.set(false);
        self.stale.set(false);
        Ok(())
    }

    /// The committed value could not be re-read after a rollback: forget the rolled-back
    /// change, hold `last_known` (the value before the turn, which a rollback restores), and
    /// re-read before the next flush.
    pub fn mark_stale(&self, last_known: Option<i64>) {
        self.armed.set(last_known);
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

    /// Checks the slot can commit. Hosts call this inside the turn's transaction, right
    /// before committing. It writes nothing (the time is derived from the schedules, which
    /// the transaction holds); `storage` is kept for hosts written against the mirror row of
    /// earlier versions. Fails on a stale slot: the committed schedules are unknown.
    pub fn flush(&self, _storage: &dyn Storage) -> Result<(), StorageError> {
        if self.stale.get() {
            return Err(StorageError::new(
                "the alarm slot is stale (its re-read failed): re-read it first",
                "flush",
            ));
        }
        Ok(())
    }

    /// What a savepoint rollback restores: the armed time and whether it changed.
    pub(crate) fn mark(&self) -> (Option<i64>, bool) {
        (self.armed.get(), self.dirty.get())
    }

    /// Back to a [`mark`](Self::mark) taken in the same transaction: a message of a group
    /// rolled back to its savepoint. The message may have changed the schedules' order, so it
    /// is re-read from the table (inside the transaction, after the rollback). On error the
    /// order is unknown: the host fails the whole group, whose rollback reloads the slot.
    pub(crate) fn rewind(
        &self,
        (armed, dirty): (Option<i64>, bool),
        storage: &dyn Storage,
    ) -> Result<(), StorageError> {
        self.order.rebuild(storage)?;
        self.armed.set(armed);
        self.dirty.set(dirty);
        Ok(())
    }

    /// The pending schedules' order.
    pub fn order(&self) -> &ScheduleOrder {
        &self.order
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
    /// The storage of the turn (the schedules live there).
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

    fn order(&self) -> Option<&ScheduleOrder> {
        Some(&self.state.order)
    }
}

//! The object's one native alarm, as a trait ([`AlarmSlot`]), and the portable implementation
//! that derives it from the schedules ([`SlotState`] + [`SqlAlarmSlot`]).
//!
//! Nothing but the schedules is stored: the slot is, by invariant, the earliest pending
//! schedule's time, so it is derived from the `__lmz_alarms` rows rather than mirrored in a
//! row of its own. [`SlotState`] keeps the pending schedules' `(time, id)` order in memory
//! ([`ScheduleOrder`]), rebuilt with one scan of the table when the object opens (and after a
//! rollback whose outcome is unknown, a failed COMMIT); in between, every alarms operation
//! updates it next to its SQL, and a rollback is undone from its undo log. So the table needs
//! no time index, and a schedule costs one row written to insert and one to delete, as
//! Cloudflare counts them (an index entry is one more). After commit the host pushes a changed
//! value to the real alarm: Cloudflare's `setAlarm`, which is itself durable; natively the
//! runtime re-arms its timer from the schedules when it starts.

use crate::storage::{SqlValue, Storage, StorageError};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

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
/// in the pending schedules (about 100 bytes each plus one copy of the id).
///
/// It is only as good as the code that keeps it: every alarms operation updates it next to
/// its SQL, and [`SlotState`] rebuilds it from the table (one scan) on open and after a
/// rollback whose outcome is unknown. Handler code reaches neither side: its SQL may not
/// write `__lmz_alarms` (natively the authorizer refuses it; on Cloudflare nothing can), and
/// the order's mutators are crate-private, as is the slot a handler's `Ctx` holds.
///
/// Every change is also written to an undo log, so that a rollback (a failed turn, or one
/// message of a group back to its savepoint) puts back what it undid in time linear in what
/// the rolled-back work changed, not in the pending schedules (a re-read of the table per
/// failed message let anyone who can make a handler fail cost the object a scan of every
/// pending schedule). The log is emptied when the turn commits or the order is re-read.
#[derive(Debug, Default)]
pub struct ScheduleOrder {
    /// Invariant: holds `(t, id)` exactly when `by_id` maps `id` to `t`; both hold the same
    /// `Arc` (one copy of each id; `Arc` because the engine moves between threads with its task).
    by_time: RefCell<BTreeSet<(i64, Arc<str>)>>,
    by_id: RefCell<HashMap<Arc<str>, i64>>,
    /// `(id, its time before the change)`, oldest first (`None`: it was not pending).
    undo: RefCell<Vec<(Arc<str>, Option<i64>)>>,
}

impl ScheduleOrder {
    /// Schedule `id` is pending at `time` (replacing its previous time, if any). Only the
    /// alarms code changes the order, next to the SQL it mirrors.
    pub(crate) fn put(&self, id: &str, time: i64) {
        let key = self.key(id);
        let old = self.set(&key, Some(time));
        self.undo.borrow_mut().push((key, old));
    }

    /// Schedule `id` is no longer pending; returns the time it had.
    pub(crate) fn remove(&self, id: &str) -> Option<i64> {
        let key = self.by_id.borrow().get_key_value(id)?.0.clone();
        let old = self.set(&key, None)?;
        self.undo.borrow_mut().push((key, Some(old)));
        Some(old)
    }

    /// The shared copy of `id` when it is pending, else a new one.
    fn key(&self, id: &str) -> Arc<str> {
        match self.by_id.borrow().get_key_value(id) {
            Some((k, _)) => k.clone(),
            None => Arc::from(id),
        }
    }

    /// Makes `id` pending at `time` (or not pending, for `None`); returns its previous time.
    fn set(&self, id: &Arc<str>, time: Option<i64>) -> Option<i64> {
        let mut by_id = self.by_id.borrow_mut();
        let mut by_time = self.by_time.borrow_mut();
        let old = match time {
            Some(t) => by_id.insert(id.clone(), t),
            None => by_id.remove(&**id),
        };
        if let Some(t) = old {
            by_time.remove(&(t, id.clone()));
        }
        if let Some(t) = time {
            by_time.insert((t, id.clone()));
        }
        old
    }

    /// The undo log's length: a point to [`undo_to`](Self::undo_to) later.
    fn undo_len(&self) -> usize {
        self.undo.borrow().len()
    }

    /// Reverts every change made after the log had `len` entries, newest first.
    fn undo_to(&self, len: usize) {
        let undone = {
            let mut log = self.undo.borrow_mut();
            let at = len.min(log.len());
            log.split_off(at)
        };
        for (id, before) in undone.into_iter().rev() {
            self.set(&id, before);
        }
    }

    /// The changes so far are final (their transaction committed).
    fn forget_undo(&self) {
        self.undo.borrow_mut().clear();
    }

    /// Whether schedule `id` is pending.
    pub fn contains(&self, id: &str) -> bool {
        self.by_id.borrow().contains_key(id)
    }

    /// The earliest pending schedule, `(time, id)`.
    pub fn first(&self) -> Option<(i64, String)> {
        let by_time = self.by_time.borrow();
        let (t, id) = by_time.first()?;
        Some((*t, id.to_string()))
    }

    /// The number of pending schedules due at `now_ms` (time <= now).
    pub fn due(&self, now_ms: i64) -> usize {
        self.by_time
            .borrow()
            .range(..(now_ms.saturating_add(1), Arc::from("")))
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
                let id: Arc<str> = Arc::from(id);
                by_time.insert((t, id.clone()));
                by_id.insert(id, t);
            }
        }
        *self.by_time.borrow_mut() = by_time;
        *self.by_id.borrow_mut() = by_id;
        self.forget_undo();
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
/// After a clean rollback the engine undoes the turn's changes in memory; after one whose
/// outcome is unknown (a failed COMMIT) it re-reads the committed value ([`SlotState::reload`]). When that
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

/// Where a turn or a message started, for [`SlotState::rewind`]: the slot's values and the
/// length of the order's undo log then.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SlotMark {
    armed: Option<i64>,
    dirty: bool,
    stale: bool,
    undo_len: usize,
}

/// Creates the meta table (the object's name; older versions also kept a copy of the armed
/// time there, under key `alarm`, which is no longer read or written).
pub const META_SCHEMA: &str =
    "CREATE TABLE IF NOT EXISTS __lmz_meta (key TEXT PRIMARY KEY NOT NULL, value) WITHOUT ROWID;";

impl SlotState {
    /// Reads the committed schedules' order, and so the alarm time, from `storage` (hosts call
    /// this on open): one scan of `__lmz_alarms`.
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
    ///
    /// After a successful flush only the commit or, when it fails, a re-read follows, so the
    /// schedule order's undo log is emptied here: it stays bounded by one turn's changes even
    /// for a host that never calls [`take_change`](Self::take_change).
    pub fn flush(&self, _storage: &dyn Storage) -> Result<(), StorageError> {
        if self.stale.get() {
            return Err(StorageError::new(
                "the alarm slot is stale (its re-read failed): re-read it first",
                "flush",
            ));
        }
        self.order.forget_undo();
        Ok(())
    }

    /// A point to go back to with [`rewind`](Self::rewind): taken at the start of a turn or a
    /// group (outside its transaction) and before each message of a group (inside it).
    pub(crate) fn mark(&self) -> SlotMark {
        SlotMark {
            armed: self.armed.get(),
            dirty: self.dirty.get(),
            stale: self.stale.get(),
            undo_len: self.order.undo_len(),
        }
    }

    /// Back to `mark` after SQLite rolled back cleanly to the same point (a failed turn, or a
    /// message of a group back to its savepoint): the schedule changes made since are undone
    /// in memory from the undo log, reading nothing. Returns `false`, changing nothing, when
    /// the slot was stale at the mark or is stale now: then only a re-read can tell
    /// ([`reload`](Self::reload)).
    pub(crate) fn rewind(&self, mark: SlotMark) -> bool {
        if mark.stale || self.stale.get() {
            return false;
        }
        self.order.undo_to(mark.undo_len);
        self.armed.set(mark.armed);
        self.dirty.set(mark.dirty);
        true
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
    /// a change while stale. The turn's schedule changes become final (nothing left to undo).
    pub fn take_change(&self) -> Option<Option<i64>> {
        self.order.forget_undo();
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

#[cfg(test)]
mod tests {
    use super::ScheduleOrder;
    use proptest::prelude::*;

    /// Everything the order holds, by time, and by id (which must agree).
    fn snapshot(order: &ScheduleOrder) -> Vec<(i64, String)> {
        let by_time: Vec<(i64, String)> = order
            .by_time
            .borrow()
            .iter()
            .map(|(t, id)| (*t, id.to_string()))
            .collect();
        let mut by_id: Vec<(i64, String)> = order
            .by_id
            .borrow()
            .iter()
            .map(|(id, t)| (*t, id.to_string()))
            .collect();
        by_id.sort();
        assert_eq!(by_time, by_id, "the two views disagree");
        by_time
    }

    fn apply(order: &ScheduleOrder, (put, id, time): (bool, u8, i64)) {
        let id = format!("s{id}");
        if put {
            order.put(&id, time);
        } else {
            order.remove(&id);
        }
    }

    /// A host that flushes before each commit (the documented protocol) keeps the undo log to
    /// one turn's changes, even if it never asks for the change.
    #[cfg(feature = "native")]
    #[test]
    fn a_flush_empties_the_undo_log() {
        let db = crate::storage::sqlite::SqliteStorage::in_memory().unwrap();
        crate::alarms::init_schema(&db).unwrap();
        let slot = super::SlotState::load(&db).unwrap();
        for turn in 0..3 {
            slot.order().put(&format!("s{turn}"), turn);
            slot.order().remove("s0");
            assert!(slot.order().undo_len() > 0);
            slot.flush(&db).unwrap();
            assert_eq!(slot.order().undo_len(), 0, "turn {turn}");
        }
    }

    proptest! {
        /// Undoing to a mark restores exactly what the order held there, whatever puts,
        /// replacements and removals came after.
        #[test]
        fn undo_to_a_mark_restores_the_order_held_there(
            before in prop::collection::vec((any::<bool>(), 0u8..6, 0i64..5), 0..20),
            after in prop::collection::vec((any::<bool>(), 0u8..6, 0i64..5), 0..20),
        ) {
            let order = ScheduleOrder::default();
            for op in before {
                apply(&order, op);
            }
            let held = snapshot(&order);
            let mark = order.undo_len();
            for op in after {
                apply(&order, op);
            }
            snapshot(&order);
            order.undo_to(mark);
            prop_assert_eq!(snapshot(&order), held);
        }
    }
}

//! Many schedules multiplexed onto an object's one alarm.
//!
//! **These are synchronous.** [`Alarms::schedule`], [`Alarms::cancel_schedule`],
//! [`Alarms::get_schedule`] and the rest are plain calls, no `.await` (the TypeScript
//! original's were `async`): they read and write the object's own SQLite inside the
//! caller's handler transaction, so what a handler schedules or cancels commits or rolls back
//! with everything else it did.
//!
//! Schedules live in the object's own SQLite table `__lmz_alarms` (keyed by id; their time
//! order is kept in memory by the slot, see [`ScheduleOrder`], so no index entry is written
//! per schedule); the object's single [`AlarmSlot`] is always armed for the earliest pending
//! schedule — including
//! one that is already past due, which then fires at once (the TypeScript original armed only
//! future ones, so `schedule(0)` never fired by itself). Running inside the caller's
//! transaction is what makes [`Alarms::cancel_schedule`] an atomic get-and-delete: the
//! primitive the exactly-once proxy-fetch design rests on.
//!
//! ```no_run
//! # use lumenize_core::prelude::*;
//! # fn demo(ctx: &Ctx<'_>) -> Result<(), AlarmError> {
//! let s = ctx.alarms().schedule(When::delay_secs(30.0), ctn().call("remind", vec![Value::from("tea")]))?;
//! // Whoever cancels first gets the schedule; everyone else gets None.
//! assert!(ctx.alarms().cancel_schedule(&s.id)?.is_some());
//! assert!(ctx.alarms().cancel_schedule(&s.id)?.is_none());
//! # Ok(()) }
//! ```
//!
//! # What a firing alarm calls
//!
//! When the object's alarm goes off (natively the runtime's timer, on Cloudflare the Durable
//! Object's `alarm()`; in tests `Stub::trigger_alarms` or a manual clock), the host runs
//! `TurnEngine::alarm`, which gives each due schedule its own turn and transaction:
//!
//! 1. [`fire::claim_next`] deletes the earliest due row and remembers it in the turn's context;
//! 2. the schedule's continuation runs on the object through
//!    [`ExecuteChain::__execute_chain`](crate::ocan::ExecuteChain::__execute_chain) (with the
//!    turn's context as the current one), exactly as a chain a handler executes itself; its
//!    return value is dropped;
//! 3. [`fire::complete`] re-inserts a cron schedule at its next time, and the turn commits:
//!    the claim and the continuation's effects land together.
//!
//! If step 2 fails (an error or a panic), the turn rolls back — the schedule is pending again,
//! nothing the continuation wrote survives, its outgoing messages are dropped — and a second
//! turn ([`fire::record_failure`]) retries it with Cloudflare's backoff (2, 4, 8, 16, 32,
//! 64 s), then gives it up and records it in `__lmz_alarm_failures`.
//!
//! # Idempotency pattern
//!
//! When two paths may finish the same piece of work — an answer arriving, and a timeout alarm
//! firing — let both start with `cancel_schedule` of the timeout's id: it is get-and-delete in
//! the caller's transaction, so **whoever cancels wins**, exactly once, however the two
//! interleave, and the loser sees `None` and does nothing. Inside the turn that fires a
//! schedule, cancelling that very schedule returns it (`Some`): the alarm path can use the
//! same rule. This is how [`proxy_fetch_simple`](crate::fetch::proxy_fetch_simple) runs a
//! fetch's continuation exactly once: the executor's reply and the `fetch-{id}` timeout alarm
//! both end in [`handle_result`](crate::fetch::handle_result), whose first step is this cancel.
//!
//! ```no_run
//! use lumenize_core::prelude::*;
//!
//! /// Starts a request whose answer must arrive within 30 s.
//! fn start(ctx: &Ctx<'_>, request_id: &str) -> Result<(), AlarmError> {
//!     // The timeout: at the deadline the alarm calls `finish(request_id, null)`.
//!     ctx.alarms().schedule_with_id(
//!         &format!("timeout-{request_id}"),
//!         When::delay_secs(30.0),
//!         ctn().call("finish", vec![Value::from(request_id), Value::Null]),
//!     )?;
//!     // ... send the request; its answer calls `finish(request_id, answer)`.
//!     Ok(())
//! }
//!
//! /// Both paths end here: the answer, or the timeout alarm.
//! fn finish(ctx: &Ctx<'_>, request_id: &str, answer: Value) -> Result<(), AlarmError> {
//!     if let Some(s) = ctx.alarms().cancel_schedule(&format!("timeout-{request_id}"))? {
//!         // Won: this runs exactly once. `s` is the timeout schedule (its time, its
//!         // continuation); `answer` is null when the timeout got here first.
//!         println!("{request_id}: {answer:?} (deadline was {})", s.time);
//!     } else {
//!         // Lost: the other path already finished (or this is a duplicate). Do nothing.
//!     }
//!     Ok(())
//! }
//! ```

pub mod fire;
mod schedule;
mod slot;
mod when;

pub use schedule::{Schedule, ScheduleFilter, ScheduleKind, ScheduleRow};
pub(crate) use slot::SlotMark;
pub use slot::{AlarmSlot, NoAlarmSlot, ScheduleOrder, SlotState, SqlAlarmSlot, META_SCHEMA};
pub use when::{next_cron_time, When, MAX_TIME_MS};

use crate::ocan::Continuation;
use crate::storage::{SqlValue, Storage, StorageError};
use std::cell::RefCell;

/// Why an alarms operation failed. Nothing was changed when one is returned.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AlarmError {
    /// The time is absurd (before 1970, beyond JavaScript's Date range, a negative or NaN
    /// delay...).
    #[error("invalid time for {when}: {reason}")]
    InvalidTime {
        /// What was given.
        when: String,
        /// Why it is rejected.
        reason: String,
    },
    /// The cron expression does not parse, or never fires.
    #[error("invalid cron expression {expr:?}: {reason}")]
    InvalidCron {
        /// The expression.
        expr: String,
        /// The parser's reason.
        reason: String,
    },
    /// The continuation is empty, calls nothing, or would not be read back when it fires
    /// (too many operations or arguments, a malformed nested marker, too deep or too large an
    /// argument graph: see `OperationChain::validate`).
    #[error("invalid continuation: {0}")]
    InvalidContinuation(String),
    /// The caller-chosen id is unusable.
    #[error("invalid schedule id {0:?}: ids must be 1..=256 characters")]
    InvalidId(String),
    /// The continuation could not be encoded or a stored one decoded.
    #[error("continuation encoding: {0}")]
    Codec(String),
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// One of the host's alarm steps ([`fire::claim_next`], [`fire::complete`],
    /// [`fire::record_failure`]) was called from handler code. They take the turn's `Ctx`, but
    /// only the host may run them: a claim from a handler would take a schedule (a pending
    /// fetch's timeout included) without running it.
    #[error("alarms::fire::{0} is a host step: handler code cannot run it")]
    HostStep(&'static str),
}

impl AlarmError {
    /// A continuation the writer refuses: [`AlarmError::Codec`] when the codec cannot encode
    /// it, [`AlarmError::InvalidContinuation`] when a reader would refuse it.
    pub(crate) fn from_chain(e: crate::ocan::ChainError) -> AlarmError {
        match e {
            crate::ocan::ChainError::Codec(c) => AlarmError::Codec(c.to_string()),
            other => AlarmError::InvalidContinuation(other.to_string()),
        }
    }
}

/// The alarms table and the table of given-up schedules.
///
/// No time index: the order by time is kept in memory ([`ScheduleOrder`], rebuilt with one
/// scan when the object opens, with an undo log for rollbacks), because on Cloudflare every index entry written is billed as
/// one more row written. Earlier versions created `__lmz_alarms_time`; it is dropped here.
///
/// The `type` check is spelled with `OR` rather than `IN (…)`: SQLite builds an ephemeral
/// table for an `IN` list on every insert, which cost more than the rest of the insert's
/// constraint checks together.
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS __lmz_alarms (
  id TEXT PRIMARY KEY NOT NULL,
  operation_chain TEXT NOT NULL,
  type TEXT NOT NULL CHECK (type = 'scheduled' OR type = 'delayed' OR type = 'cron'),
  time INTEGER NOT NULL,
  delay_ms INTEGER,
  cron TEXT,
  created_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
DROP INDEX IF EXISTS __lmz_alarms_time;
CREATE TABLE IF NOT EXISTS __lmz_alarm_failures (
  id TEXT NOT NULL,
  operation_chain TEXT NOT NULL,
  type TEXT NOT NULL,
  cron TEXT,
  attempts INTEGER NOT NULL,
  error TEXT NOT NULL,
  failed_at INTEGER NOT NULL
);
";

/// Creates the alarm tables (hosts call this once when they open an object), and drops any
/// trigger or index a handler left on a runtime table under an older version's rules (each
/// one is logged as a warning: it could skip or refuse the runtime's own writes).
pub fn init_schema(storage: &dyn Storage) -> Result<(), StorageError> {
    let runtime = crate::storage::runtime_tables::runtime(storage);
    runtime.exec_batch(SCHEMA)?;
    runtime.exec_batch(META_SCHEMA)?;
    for name in crate::storage::runtime_tables::drop_handler_hooks(storage)? {
        tracing::warn!(
            name = %name,
            "dropped a trigger or index on the runtime's tables (left by an older version: it \
             reached into the runtime's own writes)"
        );
    }
    Ok(())
}

/// The method every object answers without declaring it (`fetch::RESULT_METHOD`, defined
/// here because schedules are checked against it and this layer sits below `fetch`).
pub(crate) const FETCH_RESULT_METHOD: &str = "svc.fetch.handleResult";

/// The alarms' own state for one turn, held by the turn's context: the schedule being fired,
/// if any (claimed by [`fire::claim_next`], completed by [`fire::complete`], or taken by a
/// `cancel_schedule` of its id from inside its own continuation).
///
/// It also holds the object's method names ([`Dispatch::method_names`](crate::ocan::Dispatch::method_names)),
/// set by the turn engine, so that a continuation this object will run is checked when it is
/// written.
#[derive(Debug, Default)]
pub(crate) struct TurnAlarms {
    fired: RefCell<Option<ScheduleRow>>,
    methods: std::cell::Cell<Option<(&'static str, &'static [&'static str])>>,
}

impl TurnAlarms {
    /// The schedule being fired in this turn.
    pub(crate) fn fired(&self) -> &RefCell<Option<ScheduleRow>> {
        &self.fired
    }

    /// Records the object's type name and method names (`None`: unknown, nothing is checked).
    pub(crate) fn set_methods(
        &self,
        type_name: &'static str,
        names: Option<&'static [&'static str]>,
    ) {
        self.methods.set(names.map(|n| (type_name, n)));
    }

    /// Why `chain`, run later on this object, would fail at once: it names a method the object
    /// does not have. `None` when it does, or when the object's methods are not known.
    pub(crate) fn unknown_method(&self, chain: &crate::ocan::OperationChain) -> Option<String> {
        let (ty, names) = self.methods.get()?;
        let path = chain.method_path()?;
        // The fetch result method is answered by the turn engine for every object.
        if names.contains(&path.as_str()) || path == FETCH_RESULT_METHOD {
            return None;
        }
        Some(format!(
            "{ty} has no method {path:?} (it has: {}), so the continuation would fail when it runs",
            names.join(", ")
        ))
    }
}

/// The alarms service of one object, for one turn. Get it from
/// [`Ctx::alarms`](crate::context::Ctx::alarms).
pub struct Alarms<'a> {
    storage: &'a dyn Storage,
    slot: &'a dyn AlarmSlot,
    now_ms: i64,
    turn: &'a TurnAlarms,
}

/// The column list every alarm query reads, in `ScheduleRow::from_cells` order.
macro_rules! columns {
    () => {
        "id, operation_chain, type, time, delay_ms, cron, created_at, attempts"
    };
}
pub(crate) use columns;

impl<'a> Alarms<'a> {
    /// The service over a turn's storage, slot, clock and alarm state (built by `Ctx`).
    pub(crate) fn new(
        storage: &'a dyn Storage,
        slot: &'a dyn AlarmSlot,
        now_ms: i64,
        turn: &'a TurnAlarms,
    ) -> Alarms<'a> {
        Alarms {
            storage,
            slot,
            now_ms,
            turn,
        }
    }

    fn storage(&self) -> &'a dyn Storage {
        self.storage
    }

    /// Schedules `callback` to run against this object at `when`: a [`When::At`] time, a
    /// delay (`std::time::Duration` or [`When::delay_secs`]) or a cron expression (`&str`).
    /// The id is generated (time-ordered). Arms the object's alarm if this is now the
    /// earliest schedule.
    pub fn schedule(
        &self,
        when: impl Into<When>,
        callback: Continuation,
    ) -> Result<Schedule, AlarmError> {
        let id = fresh_id(self.now_ms);
        self.insert(&id, &when.into(), callback, false)
    }

    /// Like [`Alarms::schedule`] with a caller-chosen id. A pending schedule with the same id
    /// is replaced (as in the original's `INSERT OR REPLACE`).
    pub fn schedule_with_id(
        &self,
        id: &str,
        when: impl Into<When>,
        callback: Continuation,
    ) -> Result<Schedule, AlarmError> {
        self.insert_with_id(id, &when.into(), callback, true)
    }

    /// Like [`Alarms::schedule_with_id`] for an id the caller knows is free (checked with
    /// [`Alarms::exists`] in the same turn): a plain insert, so the armed time only moves if
    /// the new schedule is earlier, with no lookup of the earliest schedule. Fails (a storage
    /// error) if the id is taken after all.
    pub(crate) fn schedule_new_with_id(
        &self,
        id: &str,
        when: impl Into<When>,
        callback: Continuation,
    ) -> Result<Schedule, AlarmError> {
        self.insert_with_id(id, &when.into(), callback, false)
    }

    fn insert_with_id(
        &self,
        id: &str,
        when: &When,
        callback: Continuation,
        replace: bool,
    ) -> Result<Schedule, AlarmError> {
        if id.is_empty() || id.len() > 256 {
            return Err(AlarmError::InvalidId(id.to_string()));
        }
        self.insert(id, when, callback, replace)
    }

    /// True when schedule `id` is pending (a point lookup that decodes nothing).
    pub fn exists(&self, id: &str) -> Result<bool, AlarmError> {
        let rows = self.storage().exec(
            "SELECT 1 FROM __lmz_alarms WHERE id = ?1",
            &[SqlValue::from(id)],
        )?;
        Ok(!rows.is_empty())
    }

    fn insert(
        &self,
        id: &str,
        when: &When,
        callback: Continuation,
        replace: bool,
    ) -> Result<Schedule, AlarmError> {
        let now = self.now_ms;
        if callback.method_path().is_none() {
            return Err(AlarmError::InvalidContinuation(
                "it calls nothing (build it with ctn().call(..))".into(),
            ));
        }
        if let Some(why) = self.turn.unknown_method(&callback) {
            return Err(AlarmError::InvalidContinuation(why));
        }
        let time = when::resolve(when, now)?;
        // Checked exactly as `claim_next` will read it back (`OperationChain::validate`):
        // refused here rather than stored as a schedule that can never fire.
        let chain_text = callback.stringify().map_err(AlarmError::from_chain)?;
        let kind = ScheduleKind::from_when(when);
        let row = ScheduleRow {
            id: id.to_string(),
            operation_chain: chain_text,
            kind: kind.clone(),
            time,
            created_at: now,
            attempts: 0,
        };
        let sql = if replace {
            "INSERT OR REPLACE INTO __lmz_alarms (id, operation_chain, type, time, delay_ms, cron, created_at, attempts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0)"
        } else {
            "INSERT INTO __lmz_alarms (id, operation_chain, type, time, delay_ms, cron, created_at, attempts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0)"
        };
        let replaced_armed = replace && self.slot.get().is_some();
        crate::storage::runtime_tables::runtime(self.storage()).exec(sql, &row.params())?;
        if let Some(order) = self.slot.order() {
            order.put(id, time);
            arm_first(order, self.slot)?;
        } else if replaced_armed {
            // The replaced row may have been the armed one: recompute exactly.
            rearm(self.storage, self.slot)?;
        } else if self.slot.get().is_none_or(|armed| time < armed) {
            self.slot.set(Some(time))?;
        }
        Ok(Schedule {
            id: row.id,
            kind,
            time,
            callback,
            created_at: now,
            attempts: 0,
        })
    }

    /// Atomically gets and deletes schedule `id`: `Some(schedule)` to exactly one caller,
    /// `None` when it already fired, was cancelled, or never existed. Re-arms the alarm.
    ///
    /// Inside the turn that is firing schedule `id`, the first cancel of `id` returns the
    /// firing schedule (the alarm path "wins" its own race, as in the original, whose row was
    /// deleted only after its handler returned).
    pub fn cancel_schedule(&self, id: &str) -> Result<Option<Schedule>, AlarmError> {
        match self.cancel_schedule_raw(id)? {
            Some(row) => row.into_schedule().map(Some),
            None => Ok(None),
        }
    }

    /// [`Alarms::cancel_schedule`] without decoding the continuation: the stored row, with the
    /// chain still as wire text (for hot paths that may not need it).
    pub fn cancel_schedule_raw(&self, id: &str) -> Result<Option<ScheduleRow>, AlarmError> {
        // SELECT then DELETE rather than `DELETE … RETURNING`: SQLite buffers RETURNING rows
        // in an ephemeral table, which costs more than a second point lookup. Both run in the
        // caller's transaction, so the pair is still one atomic get-and-delete.
        let rows = self.storage().exec(
            concat!("SELECT ", columns!(), " FROM __lmz_alarms WHERE id = ?1"),
            &[SqlValue::from(id)],
        )?;
        let row = match rows.rows.first() {
            Some(cells) => {
                let row = ScheduleRow::from_cells(cells)?;
                crate::storage::runtime_tables::runtime(self.storage()).exec(
                    "DELETE FROM __lmz_alarms WHERE id = ?1",
                    &[SqlValue::from(id)],
                )?;
                row
            }
            None => {
                let mut fired = self.turn.fired().borrow_mut();
                match fired.as_ref() {
                    Some(f) if f.id == id => match fired.take() {
                        Some(row) => row,
                        None => return Ok(None),
                    },
                    _ => return Ok(None),
                }
            }
        };
        if let Some(order) = self.slot.order() {
            order.remove(id);
        }
        if self.slot.get() == Some(row.time) {
            rearm(self.storage, self.slot)?;
        }
        Ok(Some(row))
    }

    /// The pending schedule `id`.
    pub fn get_schedule(&self, id: &str) -> Result<Option<Schedule>, AlarmError> {
        let rows = self.storage().exec(
            concat!("SELECT ", columns!(), " FROM __lmz_alarms WHERE id = ?1"),
            &[SqlValue::from(id)],
        )?;
        match rows.rows.first() {
            Some(cells) => ScheduleRow::from_cells(cells)?.into_schedule().map(Some),
            None => Ok(None),
        }
    }

    /// Pending schedules matching `filter`, earliest first.
    pub fn get_schedules(&self, filter: &ScheduleFilter) -> Result<Vec<Schedule>, AlarmError> {
        let (clause, params) = filter.to_sql();
        let rows = self.storage().exec(
            &format!(
                concat!(
                    "SELECT ",
                    columns!(),
                    " FROM __lmz_alarms {} ORDER BY time, id"
                ),
                clause
            ),
            &params,
        )?;
        rows.rows
            .iter()
            .map(|cells| ScheduleRow::from_cells(cells)?.into_schedule())
            .collect()
    }

    /// The number of pending schedules.
    pub fn count(&self) -> Result<u64, AlarmError> {
        let rows = self
            .storage()
            .exec("SELECT count(*) FROM __lmz_alarms", &[])?;
        Ok(rows.scalar().and_then(SqlValue::as_i64).unwrap_or(0) as u64)
    }

    /// When the object's alarm is armed (the earliest pending schedule), if at all.
    pub fn next_alarm(&self) -> Option<i64> {
        self.slot.get()
    }
}

/// Sets the slot to the earliest pending schedule (from the slot's order, or else a scan of
/// the table), or clears it.
pub(crate) fn rearm(storage: &dyn Storage, slot: &dyn AlarmSlot) -> Result<(), AlarmError> {
    if let Some(order) = slot.order() {
        return arm_first(order, slot);
    }
    let rows = storage.exec(
        "SELECT time FROM __lmz_alarms ORDER BY time, id LIMIT 1",
        &[],
    )?;
    slot.set(rows.scalar().and_then(SqlValue::as_i64))?;
    Ok(())
}

/// Arms `slot` at the first time of `order` (or disarms it).
fn arm_first(order: &ScheduleOrder, slot: &dyn AlarmSlot) -> Result<(), AlarmError> {
    slot.set(order.first().map(|(t, _)| t))?;
    Ok(())
}

/// A fresh, time-ordered schedule id: 12 hex digits of ms, 8 of a per-process random seed,
/// 8 of a per-process counter. Unique across processes (random seed) and sortable by creation.
pub fn fresh_id(now_ms: i64) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    static SEED: OnceLock<u32> = OnceLock::new();
    let seed = *SEED.get_or_init(|| {
        // std has no randomness on wasm32-unknown-unknown (RandomState is constant there):
        // take it from `crypto.getRandomValues` instead.
        #[cfg(target_arch = "wasm32")]
        {
            let mut b = [0u8; 4];
            let _ = getrandom::getrandom(&mut b);
            u32::from_le_bytes(b) ^ now_ms as u32
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            use std::hash::{BuildHasher, Hasher};
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u64(now_ms as u64);
            h.finish() as u32
        }
    });
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{:012x}{:08x}{:08x}", now_ms.max(0), seed, n as u32)
}

//! Host-facing steps of firing schedules. A host runs, for each due schedule, one turn (one
//! transaction):
//!
//! 1. [`claim_next`] removes the earliest due schedule and remembers it in the turn's context;
//! 2. the host runs its continuation through `__execute_chain`;
//! 3. on success [`complete`] re-inserts a cron schedule at its next time; the host commits.
//!
//! If step 2 fails, the host rolls the turn back (the schedule is pending again, nothing the
//! continuation did survives, its outgoing messages are dropped) and runs [`record_failure`]
//! in a new turn, which backs the schedule off (2, 4, 8, 16, 32, 64 s) or, after the sixth
//! retry, gives up and records it in `__lmz_alarm_failures`. Since the claim and the
//! continuation's effects commit together, a schedule's continuation takes effect at most once
//! per firing, and — unless cancelled — at least once across crashes.

use super::{columns, rearm, when, AlarmError, Schedule, ScheduleKind, ScheduleRow};
use crate::context::Ctx;
use crate::storage::runtime_tables::runtime;
use crate::storage::{SqlValue, Storage};

/// Cloudflare's alarm retry delays, in seconds: retry `n` (1-based) waits `BACKOFF_SECS[n-1]`.
pub const BACKOFF_SECS: [i64; 6] = [2, 4, 8, 16, 32, 64];

/// The number of schedules due at `now_ms` (a scan of the table: there is no time index; a
/// host holding the slot's [`ScheduleOrder`](super::ScheduleOrder) can ask it instead).
pub fn due_count(storage: &dyn Storage, now_ms: i64) -> Result<u64, AlarmError> {
    let rows = storage.exec(
        "SELECT count(*) FROM __lmz_alarms WHERE time <= ?1",
        &[SqlValue::Integer(now_ms)],
    )?;
    Ok(rows.scalar().and_then(SqlValue::as_i64).unwrap_or(0) as u64)
}

/// The host's steps refuse to run inside a handler method ([`AlarmError::HostStep`]): the
/// handler's `Ctx` is the one the host passes them, so only where they are called tells.
fn host_only(ctx: &Ctx<'_>, step: &'static str) -> Result<(), AlarmError> {
    if ctx.in_handler() {
        return Err(AlarmError::HostStep(step));
    }
    Ok(())
}

/// Claims the earliest schedule — due now, or any with `ignore_time` (the `trigger_alarms`
/// test hook) — by deleting it, and records it as the turn's firing schedule. `None` when
/// there is nothing to fire.
///
/// A row that cannot be read back (a continuation the reader refuses, e.g. written by an older
/// version without the writer's checks, or a corrupt row) is not an error of the turn, which
/// would roll back and leave it first in line to fail again at once: it is recorded in
/// `__lmz_alarm_failures` with the reason, removed from the queue in this same turn, and the
/// next schedule is claimed instead. Each such row is visited once, so the work is bounded by
/// the rows in the table.
pub fn claim_next(ctx: &Ctx<'_>, ignore_time: bool) -> Result<Option<Schedule>, AlarmError> {
    host_only(ctx, "claim_next")?;
    let mut dropped_unreadable = false;
    loop {
        let Some(cells) = next_row(ctx, ignore_time)? else {
            if dropped_unreadable {
                rearm(ctx.sql(), ctx.slot())?;
            }
            return Ok(None);
        };
        runtime(ctx.sql()).exec(
            "DELETE FROM __lmz_alarms WHERE id = ?1",
            &[cells[0].clone()],
        )?;
        if let (Some(order), Some(id)) = (ctx.slot().order(), cells[0].as_str()) {
            order.remove(id);
        }
        let decoded = ScheduleRow::from_cells(&cells)
            .and_then(|row| row.clone().into_schedule().map(|s| (row, s)));
        match decoded {
            Ok((row, schedule)) => {
                let time = row.time;
                *ctx.fired().borrow_mut() = Some(row);
                if dropped_unreadable || ctx.slot().get() == Some(time) {
                    rearm(ctx.sql(), ctx.slot())?;
                }
                return Ok(Some(schedule));
            }
            // Decoding touches no storage: every error here is about the row itself.
            Err(e) => {
                record_unreadable(ctx, &cells, &e)?;
                dropped_unreadable = true;
            }
        }
    }
}

/// The earliest schedule's row (due now, or any with `ignore_time`): the slot's order names
/// it and a primary-key lookup reads it; without an order (a slot that keeps none), a scan.
fn next_row(ctx: &Ctx<'_>, ignore_time: bool) -> Result<Option<Vec<SqlValue>>, AlarmError> {
    const BY_ID: &str = concat!("SELECT ", columns!(), " FROM __lmz_alarms WHERE id = ?1");
    let Some(order) = ctx.slot().order() else {
        // Static statements (cached by the storage), one per mode.
        const DUE: &str = concat!(
            "SELECT ",
            columns!(),
            " FROM __lmz_alarms WHERE time <= ?1 ORDER BY time, id LIMIT 1"
        );
        const ANY: &str = concat!(
            "SELECT ",
            columns!(),
            " FROM __lmz_alarms ORDER BY time, id LIMIT 1"
        );
        let rows = if ignore_time {
            ctx.sql().exec(ANY, &[])?
        } else {
            ctx.sql().exec(DUE, &[SqlValue::Integer(ctx.now_ms())])?
        };
        return Ok(rows.rows.into_iter().next());
    };
    loop {
        let Some((time, id)) = order.first() else {
            return Ok(None);
        };
        if !ignore_time && time > ctx.now_ms() {
            return Ok(None);
        }
        let rows = ctx.sql().exec(BY_ID, &[SqlValue::from(id.as_str())])?;
        match rows.rows.into_iter().next() {
            Some(cells) => return Ok(Some(cells)),
            // Not in the table (handler SQL deleted it): forget it and look again.
            None => {
                order.remove(&id);
            }
        }
    }
}

/// Records a schedule row that cannot be read as given up (it was deleted by the caller).
fn record_unreadable(
    ctx: &Ctx<'_>,
    cells: &[SqlValue],
    error: &AlarmError,
) -> Result<(), AlarmError> {
    let text = |i: usize, fallback: &str| {
        SqlValue::from(
            cells
                .get(i)
                .and_then(|c| match c {
                    SqlValue::Text(t) => Some(t.clone()),
                    SqlValue::Integer(n) => Some(n.to_string()),
                    SqlValue::Real(x) => Some(x.to_string()),
                    _ => None,
                })
                .unwrap_or_else(|| fallback.to_string()),
        )
    };
    let attempts = cells.get(7).and_then(SqlValue::as_i64).unwrap_or(0).max(0);
    let why = format!("unreadable schedule, removed without running: {error}");
    runtime(ctx.sql()).exec(
        "INSERT INTO __lmz_alarm_failures (id, operation_chain, type, cron, attempts, error, failed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        &[
            text(0, "?"),
            text(1, ""),
            text(2, "unknown"),
            cells.get(5).cloned().unwrap_or(SqlValue::Null),
            SqlValue::Integer(attempts.saturating_add(1)),
            SqlValue::from(why.as_str()),
            SqlValue::Integer(ctx.now_ms()),
        ],
    )?;
    let id = cells.first().and_then(SqlValue::as_str).unwrap_or("?");
    tracing::error!(address = %ctx.me(), schedule_id = %id, error = %error, "unreadable schedule removed without running");
    Ok(())
}

/// After a successful run: a cron schedule goes back in at its next time (unless the
/// continuation cancelled it, or scheduled something else under the same id).
pub fn complete(ctx: &Ctx<'_>) -> Result<(), AlarmError> {
    host_only(ctx, "complete")?;
    let Some(row) = ctx.fired().borrow_mut().take() else {
        return Ok(());
    };
    if let ScheduleKind::Cron { expr } = &row.kind {
        let next = when::next_cron_time(expr, ctx.now_ms())?;
        let next_row = ScheduleRow {
            time: next,
            attempts: 0,
            ..row.clone()
        };
        runtime(ctx.sql()).exec(
            "INSERT OR IGNORE INTO __lmz_alarms (id, operation_chain, type, time, delay_ms, cron, created_at, attempts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0)",
            &next_row.params(),
        )?;
        // Ignored when the continuation scheduled something else under this id: that one,
        // already in the order, stays.
        if let Some(order) = ctx.slot().order() {
            if !order.contains(&row.id) {
                order.put(&row.id, next);
            }
        }
        if ctx.slot().get().is_none_or(|armed| next < armed) {
            ctx.slot().set(Some(next))?;
        }
    }
    Ok(())
}

/// What [`record_failure`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FailureOutcome {
    /// Retry number `attempt` (1..=6) is scheduled at `at`.
    Retry {
        /// Which retry.
        attempt: u32,
        /// When, ms.
        at: i64,
    },
    /// Given up after this many failed tries and recorded in `__lmz_alarm_failures` (a cron
    /// schedule moves on to its next time).
    GaveUp {
        /// Failed tries, the first included.
        attempts: u32,
    },
    /// The schedule no longer exists (nothing to do).
    Gone,
}

/// Records that schedule `id` failed with `error` (call in a fresh turn after rolling the
/// failed one back).
pub fn record_failure(ctx: &Ctx<'_>, id: &str, error: &str) -> Result<FailureOutcome, AlarmError> {
    host_only(ctx, "record_failure")?;
    let rows = ctx.sql().exec(
        concat!("SELECT ", columns!(), " FROM __lmz_alarms WHERE id = ?1"),
        &[SqlValue::from(id)],
    )?;
    let Some(cells) = rows.rows.first() else {
        return Ok(FailureOutcome::Gone);
    };
    let row = ScheduleRow::from_cells(cells)?;
    let attempt = row.attempts + 1;
    let now = ctx.now_ms();
    let outcome = if let Some(secs) = BACKOFF_SECS.get(attempt as usize - 1) {
        let at = now + secs * 1000;
        runtime(ctx.sql()).exec(
            "UPDATE __lmz_alarms SET attempts = ?2, time = ?3 WHERE id = ?1",
            &[
                SqlValue::from(id),
                SqlValue::Integer(attempt as i64),
                SqlValue::Integer(at),
            ],
        )?;
        if let Some(order) = ctx.slot().order() {
            order.put(id, at);
        }
        FailureOutcome::Retry { attempt, at }
    } else {
        let cron = match &row.kind {
            ScheduleKind::Cron { expr } => Some(expr.clone()),
            _ => None,
        };
        runtime(ctx.sql()).exec(
            "INSERT INTO __lmz_alarm_failures (id, operation_chain, type, cron, attempts, error, failed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            &[
                SqlValue::from(id),
                SqlValue::from(row.operation_chain.as_str()),
                SqlValue::from(row.kind.type_name()),
                SqlValue::from(cron.clone()),
                SqlValue::Integer(attempt as i64),
                SqlValue::from(error),
                SqlValue::Integer(now),
            ],
        )?;
        let order = ctx.slot().order();
        match cron.map(|expr| when::next_cron_time(&expr, now)) {
            Some(Ok(next)) => {
                runtime(ctx.sql()).exec(
                    "UPDATE __lmz_alarms SET attempts = 0, time = ?2 WHERE id = ?1",
                    &[SqlValue::from(id), SqlValue::Integer(next)],
                )?;
                if let Some(order) = order {
                    order.put(id, next);
                }
            }
            _ => {
                runtime(ctx.sql()).exec(
                    "DELETE FROM __lmz_alarms WHERE id = ?1",
                    &[SqlValue::from(id)],
                )?;
                if let Some(order) = order {
                    order.remove(id);
                }
            }
        };
        FailureOutcome::GaveUp { attempts: attempt }
    };
    rearm(ctx.sql(), ctx.slot())?;
    Ok(outcome)
}

/// One given-up schedule, as recorded in `__lmz_alarm_failures`.
#[derive(Clone, Debug, PartialEq)]
pub struct FailureRecord {
    /// The schedule id.
    pub id: String,
    /// Failed tries.
    pub attempts: u32,
    /// The last error.
    pub error: String,
    /// When it was given up, ms.
    pub failed_at: i64,
}

/// The given-up schedules, oldest first.
pub fn failures(storage: &dyn Storage) -> Result<Vec<FailureRecord>, AlarmError> {
    let rows = storage.exec(
        "SELECT id, attempts, error, failed_at FROM __lmz_alarm_failures ORDER BY failed_at, rowid",
        &[],
    )?;
    Ok(rows
        .rows
        .iter()
        .map(|r| FailureRecord {
            id: r[0].as_str().unwrap_or_default().to_string(),
            attempts: r[1].as_i64().unwrap_or(0) as u32,
            error: r[2].as_str().unwrap_or_default().to_string(),
            failed_at: r[3].as_i64().unwrap_or(0),
        })
        .collect())
}

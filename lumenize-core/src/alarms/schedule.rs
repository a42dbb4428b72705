//! [`Schedule`] (what callers see), [`ScheduleRow`] (what the table holds) and
//! [`ScheduleFilter`].

use super::{AlarmError, When};
use crate::ocan::{Continuation, OperationChain};
use crate::storage::SqlValue;

/// What kind of schedule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScheduleKind {
    /// At an absolute time.
    Scheduled,
    /// After a delay (kept for information).
    Delayed {
        /// The delay, in ms.
        delay_ms: i64,
    },
    /// Recurring on a cron expression (UTC).
    Cron {
        /// The expression.
        expr: String,
    },
}

impl ScheduleKind {
    pub(crate) fn from_when(when: &When) -> ScheduleKind {
        match when {
            When::At(_) => ScheduleKind::Scheduled,
            When::DelayMs(d) => ScheduleKind::Delayed { delay_ms: *d },
            When::Cron(e) => ScheduleKind::Cron { expr: e.clone() },
        }
    }

    /// The `type` column value: `scheduled`, `delayed` or `cron`.
    pub fn type_name(&self) -> &'static str {
        match self {
            ScheduleKind::Scheduled => "scheduled",
            ScheduleKind::Delayed { .. } => "delayed",
            ScheduleKind::Cron { .. } => "cron",
        }
    }
}

/// A pending (or just cancelled / fired) schedule.
#[derive(Clone, Debug)]
pub struct Schedule {
    /// Its id.
    pub id: String,
    /// Scheduled, delayed or cron.
    pub kind: ScheduleKind,
    /// When it fires next, in ms since the epoch.
    pub time: i64,
    /// The continuation it runs.
    pub callback: Continuation,
    /// When it was created, in ms since the epoch.
    pub created_at: i64,
    /// Failed attempts so far for the current firing (0 until a run fails).
    pub attempts: u32,
}

/// A schedule as stored: plain `Send` data with the continuation still as wire text.
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduleRow {
    /// Its id.
    pub id: String,
    /// The continuation, as structured-clone wire text.
    pub operation_chain: String,
    /// The kind.
    pub kind: ScheduleKind,
    /// Next fire time, ms.
    pub time: i64,
    /// Creation time, ms.
    pub created_at: i64,
    /// Failed attempts for the current firing.
    pub attempts: u32,
}

impl ScheduleRow {
    /// Bind parameters `?1..?7` in the order of the insert statements.
    pub(crate) fn params(&self) -> [SqlValue; 7] {
        let (delay, cron) = match &self.kind {
            ScheduleKind::Scheduled => (SqlValue::Null, SqlValue::Null),
            ScheduleKind::Delayed { delay_ms } => (SqlValue::Integer(*delay_ms), SqlValue::Null),
            ScheduleKind::Cron { expr } => (SqlValue::Null, SqlValue::from(expr.as_str())),
        };
        [
            SqlValue::from(self.id.as_str()),
            SqlValue::from(self.operation_chain.as_str()),
            SqlValue::from(self.kind.type_name()),
            SqlValue::Integer(self.time),
            delay,
            cron,
            SqlValue::Integer(self.created_at),
        ]
    }

    /// Reads `id, operation_chain, type, time, delay_ms, cron, created_at, attempts`.
    pub(crate) fn from_cells(cells: &[SqlValue]) -> Result<ScheduleRow, AlarmError> {
        let bad = |what: &str| {
            AlarmError::Storage(crate::storage::StorageError::new(
                format!("corrupt __lmz_alarms row: {what}"),
                "SELECT FROM __lmz_alarms",
            ))
        };
        if cells.len() < 8 {
            return Err(bad("too few columns"));
        }
        let text = |i: usize| cells[i].as_str().map(str::to_string);
        let kind = match cells[2].as_str() {
            Some("scheduled") => ScheduleKind::Scheduled,
            Some("delayed") => ScheduleKind::Delayed {
                delay_ms: cells[4].as_i64().unwrap_or(0),
            },
            Some("cron") => ScheduleKind::Cron {
                expr: text(5).ok_or_else(|| bad("cron row without expression"))?,
            },
            _ => return Err(bad("unknown type")),
        };
        Ok(ScheduleRow {
            id: text(0).ok_or_else(|| bad("id"))?,
            operation_chain: text(1).ok_or_else(|| bad("operation_chain"))?,
            kind,
            time: cells[3].as_i64().ok_or_else(|| bad("time"))?,
            created_at: cells[6].as_i64().unwrap_or(0),
            attempts: cells[7].as_i64().unwrap_or(0).clamp(0, u32::MAX as i64) as u32,
        })
    }

    /// Decodes the continuation.
    pub fn into_schedule(self) -> Result<Schedule, AlarmError> {
        let callback = OperationChain::parse(&self.operation_chain)
            .map_err(|e| AlarmError::Codec(format!("schedule {}: {e}", self.id)))?;
        Ok(Schedule {
            id: self.id,
            kind: self.kind,
            time: self.time,
            callback,
            created_at: self.created_at,
            attempts: self.attempts,
        })
    }
}

/// Which schedules [`get_schedules`](super::Alarms::get_schedules) returns. All fields are
/// optional and combine with AND; the time range is inclusive at both ends.
#[derive(Clone, Debug, Default)]
pub struct ScheduleFilter {
    /// Only this id.
    pub id: Option<String>,
    /// Only this type (`"scheduled"`, `"delayed"`, `"cron"`).
    pub kind: Option<String>,
    /// Only schedules firing at or after this time (ms).
    pub from_ms: Option<i64>,
    /// Only schedules firing at or before this time (ms).
    pub to_ms: Option<i64>,
}

impl ScheduleFilter {
    pub(crate) fn to_sql(&self) -> (String, Vec<SqlValue>) {
        let mut clauses = Vec::new();
        let mut params = Vec::new();
        if let Some(id) = &self.id {
            params.push(SqlValue::from(id.as_str()));
            clauses.push(format!("id = ?{}", params.len()));
        }
        if let Some(kind) = &self.kind {
            params.push(SqlValue::from(kind.as_str()));
            clauses.push(format!("type = ?{}", params.len()));
        }
        if let Some(from) = self.from_ms {
            params.push(SqlValue::Integer(from));
            clauses.push(format!("time >= ?{}", params.len()));
        }
        if let Some(to) = self.to_ms {
            params.push(SqlValue::Integer(to));
            clauses.push(format!("time <= ?{}", params.len()));
        }
        if clauses.is_empty() {
            (String::new(), params)
        } else {
            (format!("WHERE {}", clauses.join(" AND ")), params)
        }
    }
}

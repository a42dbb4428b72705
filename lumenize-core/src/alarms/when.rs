//! [`When`] a schedule fires, and the arithmetic that turns it into a time: absolute, delay,
//! or cron (UTC, via the `croner` crate).

use super::AlarmError;
use chrono::{DateTime, TimeZone, Utc};
use std::time::Duration;

/// The latest time accepted: JavaScript's maximum `Date` (8.64e15 ms, year 275760). Anything
/// beyond is an absurd date and rejected.
pub const MAX_TIME_MS: i64 = 8_640_000_000_000_000;

/// When a schedule fires.
#[derive(Clone, Debug, PartialEq)]
pub enum When {
    /// At an absolute time, in ms since the Unix epoch (a past time fires at once).
    At(i64),
    /// After a delay, in ms from now.
    DelayMs(i64),
    /// On a cron expression (5 fields, or 6 with leading seconds), in UTC. Recurring.
    Cron(String),
}

impl When {
    /// At `ms` since the epoch.
    pub fn at_ms(ms: i64) -> When {
        When::At(ms)
    }

    /// After `seconds` (fractions allowed; NaN, infinite or negative values are rejected when
    /// scheduling).
    pub fn delay_secs(seconds: f64) -> When {
        if !seconds.is_finite() || seconds.abs() > (MAX_TIME_MS / 1000) as f64 {
            return When::DelayMs(i64::MAX);
        }
        When::DelayMs((seconds * 1000.0).round() as i64)
    }

    /// On a cron expression.
    pub fn cron(expr: impl Into<String>) -> When {
        When::Cron(expr.into())
    }
}

impl From<Duration> for When {
    fn from(d: Duration) -> When {
        When::DelayMs(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }
}

impl From<&str> for When {
    /// A cron expression.
    fn from(expr: &str) -> When {
        When::Cron(expr.to_string())
    }
}

impl From<String> for When {
    /// A cron expression.
    fn from(expr: String) -> When {
        When::Cron(expr)
    }
}

impl<Tz: TimeZone> From<DateTime<Tz>> for When {
    fn from(t: DateTime<Tz>) -> When {
        When::At(t.timestamp_millis())
    }
}

/// Checks that `ms` is a sane absolute time.
pub(crate) fn check_time(ms: i64, what: &str) -> Result<i64, AlarmError> {
    if !(0..=MAX_TIME_MS).contains(&ms) {
        return Err(AlarmError::InvalidTime {
            when: what.to_string(),
            reason: format!(
                "{ms} ms is outside 1970-01-01 ..= +275760-09-13 (JavaScript's Date range)"
            ),
        });
    }
    Ok(ms)
}

/// The first time the cron `expr` matches strictly after `after_ms` (UTC, second resolution).
///
/// ```
/// use lumenize_core::alarms::next_cron_time;
/// // Every day at 09:30 UTC; from 2024-01-01T10:00:00Z the next one is 2024-01-02T09:30:00Z.
/// assert_eq!(next_cron_time("30 9 * * *", 1_704_103_200_000).unwrap(), 1_704_187_800_000);
/// ```
pub fn next_cron_time(expr: &str, after_ms: i64) -> Result<i64, AlarmError> {
    let invalid = |reason: String| AlarmError::InvalidCron {
        expr: expr.to_string(),
        reason,
    };
    if expr.trim().is_empty() {
        return Err(invalid("empty expression".into()));
    }
    let cron = croner::Cron::new(expr)
        .with_seconds_optional()
        .parse()
        .map_err(|e| invalid(e.to_string()))?;
    let start = Utc
        .timestamp_opt(after_ms.div_euclid(1000), 0)
        .single()
        .ok_or_else(|| invalid(format!("start time {after_ms} ms is out of range")))?;
    let next = cron
        .find_next_occurrence(&start, false)
        .map_err(|e| invalid(format!("no next occurrence: {e}")))?;
    check_time(next.timestamp_millis(), expr)
}

/// The absolute time of `when` evaluated at `now_ms`.
pub(crate) fn resolve(when: &When, now_ms: i64) -> Result<i64, AlarmError> {
    match when {
        When::At(ms) => check_time(*ms, "absolute time"),
        When::DelayMs(d) => {
            if *d < 0 {
                return Err(AlarmError::InvalidTime {
                    when: format!("delay of {d} ms"),
                    reason: "a delay cannot be negative".into(),
                });
            }
            let t = now_ms
                .checked_add(*d)
                .ok_or_else(|| AlarmError::InvalidTime {
                    when: format!("delay of {d} ms"),
                    reason: "overflows".into(),
                })?;
            check_time(t, &format!("delay of {d} ms"))
        }
        When::Cron(expr) => next_cron_time(expr, now_ms),
    }
}

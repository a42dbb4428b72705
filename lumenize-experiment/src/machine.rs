//! Where and when a run happened: date, CPU model, cores, memory, load. Read from `/proc` on
//! Linux; fields that cannot be read say "unknown".

use std::time::{SystemTime, UNIX_EPOCH};

/// The machine a run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct MachineInfo {
    /// Start time, UTC, `YYYY-MM-DD HH:MM:SS UTC`.
    pub date_utc: String,
    /// CPU model (first `model name` in `/proc/cpuinfo`).
    pub cpu_model: String,
    /// Logical CPUs available to this process.
    pub nproc: usize,
    /// Total memory, KiB (`MemTotal`), 0 when unknown.
    pub mem_total_kib: u64,
    /// Load average (1, 5, 15 min) when the run started.
    pub load_before: Option<[f64; 3]>,
    /// `uname`-style kernel string from `/proc/version` (first three words).
    pub kernel: String,
}

impl MachineInfo {
    /// Reads it now.
    pub fn collect() -> MachineInfo {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_else(|| "unknown".into());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let mem_total_kib = meminfo
            .lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let kernel = std::fs::read_to_string("/proc/version")
            .map(|v| v.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|_| "unknown".into());
        MachineInfo {
            date_utc: utc_now(),
            cpu_model,
            nproc: std::thread::available_parallelism().map_or(0, |n| n.get()),
            mem_total_kib,
            load_before: load_average(),
            kernel,
        }
    }
}

/// The 1/5/15-minute load average from `/proc/loadavg`.
pub fn load_average() -> Option<[f64; 3]> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut it = text.split_whitespace().map(|w| w.parse::<f64>().ok());
    Some([it.next()??, it.next()??, it.next()??])
}

/// The current UTC time as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    format_utc(secs)
}

/// Formats Unix seconds as `YYYY-MM-DD HH:MM:SS UTC` (proleptic Gregorian calendar).
///
/// ```
/// assert_eq!(lumenize_experiment::machine::format_utc(0), "1970-01-01 00:00:00 UTC");
/// assert_eq!(lumenize_experiment::machine::format_utc(1_700_000_000), "2023-11-14 22:13:20 UTC");
/// ```
pub fn format_utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

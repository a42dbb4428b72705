//! `Date` ⇄ ISO-8601 text, as `Date.prototype.toISOString` writes it and `new Date(text)` reads
//! the same shape back.
//!
//! Output: `YYYY-MM-DDTHH:mm:ss.sssZ`, with a signed six-digit year (`-000001`, `+010000`)
//! outside `0..=9999`. Input: the ECMAScript date-time string format (`YYYY`, `YYYY-MM`,
//! `YYYY-MM-DD`, optionally `THH:mm`, `:ss`, `.fraction`, then `Z` or `±HH:mm`). One deliberate
//! difference: a date-time without an offset is read as UTC, where JavaScript would use the
//! machine's local zone (no JavaScript encoder ever writes that form).

const MS_PER_DAY: i64 = 86_400_000;
/// The largest magnitude a JavaScript time value may have (±100 000 000 days).
pub(crate) const MAX_TIME: f64 = 8.64e15;

/// `toISOString`, or `None` for an invalid date (NaN, infinite or out of range), where
/// JavaScript throws `RangeError: Invalid time value`. Fractional milliseconds are truncated,
/// as JavaScript's `TimeClip` does when the date is made.
pub(crate) fn to_iso(ms: f64) -> Option<String> {
    if !ms.is_finite() || ms.abs() > MAX_TIME {
        return None;
    }
    let ms = ms.trunc() as i64;
    let days = ms.div_euclid(MS_PER_DAY);
    let mut rem = ms.rem_euclid(MS_PER_DAY);
    let (y, m, d) = civil_from_days(days);
    let milli = rem % 1000;
    rem /= 1000;
    let (sec, min, hour) = (rem % 60, (rem / 60) % 60, rem / 3600);
    let year = if (0..=9999).contains(&y) {
        format!("{y:04}")
    } else if y < 0 {
        format!("-{:06}", -y)
    } else {
        format!("+{y:06}")
    };
    Some(format!(
        "{year}-{m:02}-{d:02}T{hour:02}:{min:02}:{sec:02}.{milli:03}Z"
    ))
}

/// Reads the ECMAScript date-time string format; `None` when the text is not in that format
/// or names an impossible or out-of-range instant.
pub(crate) fn from_iso(text: &str) -> Option<f64> {
    let mut p = Cursor {
        b: text.as_bytes(),
        i: 0,
    };
    let year = match p.peek() {
        Some(sign @ (b'+' | b'-')) => {
            p.i += 1;
            let y = p.digits(6)?;
            if sign == b'-' && y == 0 {
                return None; // "-000000" is explicitly invalid
            }
            if sign == b'-' {
                -y
            } else {
                y
            }
        }
        _ => p.digits(4)?,
    };
    let (mut month, mut day) = (1, 1);
    if p.eat(b'-') {
        month = p.digits(2)?;
        if p.eat(b'-') {
            day = p.digits(2)?;
        }
    }
    let (mut hour, mut min, mut sec, mut milli) = (0, 0, 0, 0);
    let mut offset_min = 0;
    if p.eat(b'T') {
        hour = p.digits(2)?;
        if !p.eat(b':') {
            return None;
        }
        min = p.digits(2)?;
        if p.eat(b':') {
            sec = p.digits(2)?;
            if p.eat(b'.') {
                // Any number of fraction digits; only the first three count (as V8 does).
                let start = p.i;
                while p.peek().is_some_and(|b| b.is_ascii_digit()) {
                    p.i += 1;
                }
                let frac = &p.b[start..p.i];
                if frac.is_empty() {
                    return None;
                }
                for k in 0..3 {
                    milli = milli * 10 + frac.get(k).map_or(0, |d| (d - b'0') as i64);
                }
            }
        }
        match p.peek() {
            Some(b'Z') => p.i += 1,
            Some(sign @ (b'+' | b'-')) => {
                p.i += 1;
                let oh = p.digits(2)?;
                if !p.eat(b':') {
                    return None;
                }
                let om = p.digits(2)?;
                if oh > 23 || om > 59 {
                    return None;
                }
                offset_min = (oh * 60 + om) * if sign == b'-' { -1 } else { 1 };
            }
            _ => {}
        }
    }
    if p.i != p.b.len() {
        return None;
    }
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let end_of_day = hour == 24 && min == 0 && sec == 0 && milli == 0;
    if (hour > 23 && !end_of_day) || min > 59 || sec > 59 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let ms = days * MS_PER_DAY + ((hour * 60 + min - offset_min) * 60 + sec) * 1000 + milli;
    let ms = ms as f64;
    (ms.abs() <= MAX_TIME).then_some(ms)
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn eat(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        self.i += hit as usize;
        hit
    }
    /// Exactly `n` ASCII digits.
    fn digits(&mut self, n: usize) -> Option<i64> {
        let chunk = self.b.get(self.i..self.i + n)?;
        if !chunk.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.i += n;
        Some(chunk.iter().fold(0, |acc, d| acc * 10 + (d - b'0') as i64))
    }
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + (m <= 2) as i64;
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_to_iso_string() {
        assert_eq!(to_iso(0.0).unwrap(), "1970-01-01T00:00:00.000Z");
        assert_eq!(to_iso(86_400_000.0).unwrap(), "1970-01-02T00:00:00.000Z");
        assert_eq!(to_iso(-1.0).unwrap(), "1969-12-31T23:59:59.999Z");
        assert_eq!(
            to_iso(-62_198_755_200_000.0).unwrap(),
            "-000001-01-01T00:00:00.000Z"
        );
        assert_eq!(to_iso(MAX_TIME).unwrap(), "+275760-09-13T00:00:00.000Z");
        assert_eq!(to_iso(f64::NAN), None);
        assert_eq!(to_iso(MAX_TIME + 1.0), None);
    }

    #[test]
    fn reads_the_date_time_format() {
        for ms in [
            0.0,
            -1.0,
            1.6e12,
            -62_198_755_200_000.0,
            MAX_TIME,
            -MAX_TIME,
        ] {
            assert_eq!(from_iso(&to_iso(ms).unwrap()), Some(ms));
        }
        assert_eq!(from_iso("1970-01-02"), Some(86_400_000.0));
        assert_eq!(from_iso("1970-01-01T01:00+01:00"), Some(0.0));
        assert_eq!(from_iso("1970-01-01T00:00:00.5Z"), Some(500.0));
        assert_eq!(from_iso("1970-02-30"), None);
        assert_eq!(from_iso("-000000-01-01T00:00:00.000Z"), None);
        assert_eq!(from_iso("garbage"), None);
        assert_eq!(from_iso("+275760-09-13T00:00:00.001Z"), None);
    }
}

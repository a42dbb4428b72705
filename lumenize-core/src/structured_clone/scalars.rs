//! The scalar part of the JSON reader: numbers and string literals.
//!
//! Numbers follow the JSON grammar strictly; up to 15 integer digits take an exact fast path,
//! anything else goes through Rust's correctly rounded parser, and a number beyond the double
//! range is an error (JavaScript would make it Infinity). Strings copy runs without escapes in
//! one go; `\\u` escapes must pair surrogates, since a Rust `String` cannot hold a lone one.

use super::error::{CloneError, Res};
use super::read::Reader;

impl Reader<'_> {
    pub(crate) fn read_number(&mut self) -> Res<f64> {
        let start = self.pos;
        let neg = self.peek() == Some(b'-');
        self.pos += neg as usize;
        let int_start = self.pos;
        let mut int: u64 = 0;
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                while let Some(c @ b'0'..=b'9') = self.peek() {
                    int = int.wrapping_mul(10).wrapping_add((c - b'0') as u64);
                    self.pos += 1;
                }
            }
            _ => return Err(self.syntax("invalid number")),
        }
        let int_digits = self.pos - int_start;
        let mut simple = true;
        if self.peek() == Some(b'.') {
            simple = false;
            self.pos += 1;
            self.digits()?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            simple = false;
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            self.digits()?;
        }
        // Up to 15 digits fit a double exactly: no rounding question, no float parser.
        if simple && int_digits <= 15 {
            let v = int as f64;
            return Ok(if neg { -v } else { v });
        }
        let text = &self.src[start..self.pos];
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(v),
            _ => Err(CloneError::here(format!(
                "number {} is out of the double range (byte {start})",
                if text.len() > 40 { &text[..40] } else { text }
            ))),
        }
    }

    fn digits(&mut self) -> Res<()> {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.syntax("invalid number"));
        }
        Ok(())
    }

    /// Reads a string literal at the cursor (which is on the opening quote).
    pub(crate) fn read_string(&mut self) -> Res<String> {
        self.pos += 1;
        let start = self.pos;
        // Fast path: no escapes.
        loop {
            match self.b.get(self.pos) {
                Some(b'"') => {
                    let s = self.src[start..self.pos].to_owned();
                    self.pos += 1;
                    return Ok(s);
                }
                Some(b'\\') => break,
                Some(&c) if c < 0x20 => return Err(self.syntax("control character in a string")),
                Some(_) => self.pos += 1,
                None => return Err(self.syntax("unterminated string")),
            }
        }
        let mut s = String::with_capacity(self.pos - start + 16);
        s.push_str(&self.src[start..self.pos]);
        loop {
            let run = self.pos;
            loop {
                match self.b.get(self.pos) {
                    Some(b'"' | b'\\') => break,
                    Some(&c) if c < 0x20 => {
                        return Err(self.syntax("control character in a string"))
                    }
                    Some(_) => self.pos += 1,
                    None => return Err(self.syntax("unterminated string")),
                }
            }
            s.push_str(&self.src[run..self.pos]);
            if self.bump() == Some(b'"') {
                return Ok(s);
            }
            let esc_at = self.pos - 1;
            match self.bump() {
                Some(b'"') => s.push('"'),
                Some(b'\\') => s.push('\\'),
                Some(b'/') => s.push('/'),
                Some(b'b') => s.push('\u{8}'),
                Some(b'f') => s.push('\u{c}'),
                Some(b'n') => s.push('\n'),
                Some(b'r') => s.push('\r'),
                Some(b't') => s.push('\t'),
                Some(b'u') => {
                    let unit = self.hex4()?;
                    let c = if (0xD800..0xDC00).contains(&unit) {
                        let low = if self.b[self.pos..].starts_with(b"\\u") {
                            self.pos += 2;
                            Some(self.hex4()?)
                        } else {
                            None
                        };
                        match low {
                            Some(lo @ 0xDC00..0xE000) => {
                                char::from_u32(0x10000 + ((unit - 0xD800) << 10) + (lo - 0xDC00))
                            }
                            _ => return Err(lone_surrogate(unit, esc_at)),
                        }
                    } else if (0xDC00..0xE000).contains(&unit) {
                        return Err(lone_surrogate(unit, esc_at));
                    } else {
                        char::from_u32(unit)
                    };
                    s.push(c.unwrap_or('\u{FFFD}'));
                }
                _ => {
                    self.pos = esc_at;
                    return Err(self.syntax("invalid escape in a string"));
                }
            }
        }
    }

    fn hex4(&mut self) -> Res<u32> {
        let chunk = self
            .b
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.syntax("invalid \\u escape"))?;
        let mut v = 0;
        for &c in chunk {
            let d = (c as char)
                .to_digit(16)
                .ok_or_else(|| self.syntax("invalid \\u escape"))?;
            v = v * 16 + d;
        }
        self.pos += 4;
        Ok(v)
    }
}

fn lone_surrogate(unit: u32, at: usize) -> CloneError {
    CloneError::here(format!(
        "lone UTF-16 surrogate \\u{unit:04x} in a string (byte {at}); a Rust string cannot \
         hold it"
    ))
}

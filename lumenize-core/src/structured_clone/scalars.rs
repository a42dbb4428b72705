//! The scalar part of the JSON reader: numbers and string literals.
//!
//! Numbers follow the JSON grammar strictly; up to 15 integer digits take an exact fast path,
//! anything else goes through Rust's correctly rounded parser, and a number beyond the double
//! range is an error (JavaScript would make it Infinity). Strings copy runs without escapes in
//! one go; `\\u` escapes must pair surrogates, since a Rust `String` cannot hold a lone one.

use super::error::{CloneError, Res};
use super::key::Key;
use super::read::Reader;
use super::text::needs_escape;

impl Reader<'_> {
    pub(crate) fn read_number(&mut self) -> Res<f64> {
        let start = self.pos;
        let neg = self.peek() == Some(b'-');
        self.pos += neg as usize;
        // The decimal significand (every digit, integer and fraction part) while it fits,
        // and the power of ten to scale it by.
        let mut sig: u64 = 0;
        let mut sig_ok = true;
        let mut scale: i64 = 0;
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.significand(&mut sig, &mut sig_ok, 0, &mut scale),
            _ => return Err(self.syntax("invalid number")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            let at = self.pos;
            self.significand(&mut sig, &mut sig_ok, -1, &mut scale);
            if self.pos == at {
                return Err(self.syntax("invalid number"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            let exp_neg = match self.peek() {
                Some(b'-') => {
                    self.pos += 1;
                    true
                }
                Some(b'+') => {
                    self.pos += 1;
                    false
                }
                _ => false,
            };
            let at = self.pos;
            let mut exp: i64 = 0;
            while let Some(c @ b'0'..=b'9') = self.peek() {
                exp = (exp * 10 + i64::from(c - b'0')).min(1 << 20);
                self.pos += 1;
            }
            if self.pos == at {
                return Err(self.syntax("invalid number"));
            }
            scale += if exp_neg { -exp } else { exp };
        }
        // Clinger's fast path: a significand below 2^53 and a power of ten up to 10^22 are
        // both exact doubles, so one IEEE multiplication or division is correctly rounded,
        // the same double the full parser gives.
        const POW10: [f64; 23] = [
            1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
            1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
        ];
        if sig_ok && sig < (1 << 53) && (-22..=22).contains(&scale) {
            let m = sig as f64;
            let v = if scale >= 0 {
                m * POW10[scale as usize]
            } else {
                m / POW10[(-scale) as usize]
            };
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

    /// Reads a run of digits into the significand `sig` (clearing `ok` when it no longer
    /// fits), adding `per_digit` to `scale` for each (-1 in the fraction part).
    #[inline]
    fn significand(&mut self, sig: &mut u64, ok: &mut bool, per_digit: i64, scale: &mut i64) {
        let start = self.pos;
        while let Some(c @ b'0'..=b'9') = self.peek() {
            match sig
                .checked_mul(10)
                .and_then(|s| s.checked_add(u64::from(c - b'0')))
            {
                Some(s) => *sig = s,
                None => *ok = false,
            }
            self.pos += 1;
        }
        *scale += per_digit * (self.pos - start) as i64;
    }

    /// Reads a string literal used as a property key: without escapes (nearly always) it is
    /// copied straight into the key, with no `String` in between.
    pub(crate) fn read_key_text(&mut self) -> Res<Key> {
        let quote = self.pos;
        self.pos += 1;
        let start = self.pos;
        while let Some(&c) = self.b.get(self.pos) {
            match c {
                b'"' => {
                    let key = Key::from_text_at(self.src, start, self.pos);
                    self.pos += 1;
                    return Ok(key);
                }
                b'\\' => break,
                c if c < 0x20 => break,
                _ => self.pos += 1,
            }
        }
        // Escapes, or an error: the general reader says which.
        self.pos = quote;
        self.read_string().map(Key::from)
    }

    /// Reads a string literal at the cursor (which is on the opening quote).
    pub(crate) fn read_string(&mut self) -> Res<String> {
        self.pos += 1;
        let start = self.pos;
        // Fast path: no escapes. Eight bytes at a time while none is `"`, `\\` or a control.
        while let Some(chunk) = self.b.get(self.pos..self.pos + 8) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            if needs_escape(u64::from_ne_bytes(word)) {
                break;
            }
            self.pos += 8;
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Res<f64> {
        Reader::new_for_tests(text).read_number()
    }

    /// The fast path gives the very double Rust's correctly rounded parser gives, bit for
    /// bit (sign of zero included), on decimal texts of every shape near its edges.
    #[test]
    fn the_number_fast_path_agrees_with_the_full_parser() {
        let mut s: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let mut checked = 0;
        for _ in 0..300_000 {
            let r = next();
            let int_digits = 1 + (r % 20) as usize;
            let frac_digits = ((r >> 8) % 20) as usize;
            let mut text = String::new();
            if r & (1 << 20) != 0 {
                text.push('-');
            }
            let mut d = next();
            for i in 0..int_digits {
                let c = (d % 10) as u8;
                d /= 10;
                if d == 0 {
                    d = next();
                }
                text.push(if i == 0 && int_digits > 1 {
                    (b'1' + c % 9) as char
                } else {
                    (b'0' + c) as char
                });
            }
            if frac_digits > 0 {
                text.push('.');
                for _ in 0..frac_digits {
                    text.push((b'0' + (next() % 10) as u8) as char);
                }
            }
            if r & (1 << 21) != 0 {
                let e = ((r >> 24) % 60) as i64 - 30;
                text.push_str(&format!("e{e}"));
            }
            let want: f64 = text.parse().unwrap();
            let got = read(&text).unwrap();
            assert_eq!(got.to_bits(), want.to_bits(), "{text}");
            checked += 1;
        }
        assert_eq!(checked, 300_000);
        for t in [
            "0",
            "-0",
            "0.0",
            "-0.0",
            "9007199254740993",
            "0.1",
            "1e22",
            "1e23",
            "123456789012345678901234567890",
            "4.9e-324",
            "2.2250738585072014e-308",
        ] {
            assert_eq!(
                read(t).unwrap().to_bits(),
                t.parse::<f64>().unwrap().to_bits(),
                "{t}"
            );
        }
        for bad in ["-", "1.", "1e", "1e+", ".5", "-x"] {
            assert!(read(bad).is_err(), "{bad}");
        }
        assert!(read("1e400").is_err());
    }
}

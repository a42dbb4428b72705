//! The scalar part of the JSON reader: numbers and string literals.
//!
//! Numbers follow the JSON grammar strictly; up to 15 integer digits take an exact fast path,
//! anything else goes through Rust's correctly rounded parser, and a number beyond the double
//! range is an error (JavaScript would make it Infinity). Strings copy runs without escapes in
//! one go; `\\u` escapes must pair surrogates, since a Rust `String` cannot hold a lone one.

use super::error::{CloneError, Res};
use super::key::Key;
use super::read::{Fail, Hot, Reader};
use super::text::find_special;

impl Reader<'_> {
    /// Reads a number at the cursor.
    #[cfg(test)]
    pub(crate) fn read_number(&mut self) -> Res<f64> {
        self.number_hot().map_err(Fail::into_error)
    }

    /// [`Reader::read_number`] for the reader's hot paths.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn number_hot(&mut self) -> Hot<f64> {
        let b = self.b;
        let start = self.pos;
        let neg = b.get(start) == Some(&b'-');
        let mut i = start + neg as usize;
        // The decimal significand (every digit, integer and fraction part, wrapping once it
        // no longer fits: `digits` counts them, and past 19 it is not used), and the power
        // of ten to scale it by.
        let mut sig: u64 = 0;
        let int_start = i;
        match b.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => i = digits(b, i, &mut sig),
            _ => {
                self.pos = i;
                return Err(self.syntax("invalid number").into());
            }
        }
        let mut ndigits = i - int_start;
        let mut scale: i64 = 0;
        if b.get(i) == Some(&b'.') {
            i += 1;
            let at = i;
            i = digits(b, i, &mut sig);
            if i == at {
                self.pos = i;
                return Err(self.syntax("invalid number").into());
            }
            ndigits += i - at;
            scale = -((i - at) as i64);
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            i += 1;
            let exp_neg = match b.get(i) {
                Some(b'-') => {
                    i += 1;
                    true
                }
                Some(b'+') => {
                    i += 1;
                    false
                }
                _ => false,
            };
            let at = i;
            let mut exp: i64 = 0;
            while let Some(c @ b'0'..=b'9') = b.get(i) {
                exp = (exp * 10 + i64::from(c - b'0')).min(1 << 20);
                i += 1;
            }
            if i == at {
                self.pos = i;
                return Err(self.syntax("invalid number").into());
            }
            scale += if exp_neg { -exp } else { exp };
        }
        self.pos = i;
        // Clinger's fast path: a significand below 2^53 and a power of ten up to 10^22 are
        // both exact doubles, so one IEEE multiplication or division is correctly rounded,
        // the same double the full parser gives. (19 digits cannot overflow a u64.)
        const POW10: [f64; 23] = [
            1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
            1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
        ];
        if ndigits <= 19 && sig < (1 << 53) && (-22..=22).contains(&scale) {
            let m = sig as f64;
            let v = if scale >= 0 {
                m * POW10[scale as usize]
            } else {
                m / POW10[(-scale) as usize]
            };
            let v = if neg { -v } else { v };
            debug_assert_eq!(
                v.to_bits(),
                self.src[start..i]
                    .parse::<f64>()
                    .map(f64::to_bits)
                    .ok()
                    .unwrap_or(0),
                "{}",
                &self.src[start..i]
            );
            return Ok(v);
        }
        Ok(self.number_slow(start)?)
    }

    /// A number the fast path cannot take: Rust's correctly rounded parser, and the range
    /// check.
    #[inline(never)]
    fn number_slow(&self, start: usize) -> Res<f64> {
        let text = &self.src[start..self.pos];
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(v),
            _ => Err(CloneError::here(format!(
                "number {} is out of the double range (byte {start})",
                if text.len() > 40 { &text[..40] } else { text }
            ))),
        }
    }

    /// Reads a string literal used as a property key: without escapes (nearly always) it is
    /// copied straight into the key, with no `String` in between.
    pub(crate) fn read_key_text(&mut self) -> Res<Key> {
        let start = self.pos + 1;
        let end = find_special(self.b, start);
        if self.b.get(end) == Some(&b'"') {
            self.pos = end + 1;
            return Ok(Key::from_text_at(self.src, start, end));
        }
        // Escapes, or an error: the general reader says which.
        self.read_string().map(Key::from)
    }

    /// Reads a string literal at the cursor (which is on the opening quote).
    pub(crate) fn read_string(&mut self) -> Res<String> {
        self.string_hot().map_err(Fail::into_error)
    }

    /// [`Reader::read_string`] for the reader's hot paths.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn string_hot(&mut self) -> Hot<String> {
        let start = self.pos + 1;
        let end = find_special(self.b, start);
        if self.b.get(end) == Some(&b'"') {
            self.pos = end + 1;
            return Ok(self.src[start..end].to_owned());
        }
        self.pos = end;
        Ok(self.read_string_escaped(start)?)
    }

    /// The rest of a string literal that started at `start` (after its quote), the cursor
    /// being on its first `\\`, control character or the end of input.
    #[inline(never)]
    fn read_string_escaped(&mut self, start: usize) -> Res<String> {
        let mut s = String::with_capacity(self.pos - start + 16);
        s.push_str(&self.src[start..self.pos]);
        loop {
            let run = self.pos;
            self.pos = find_special(self.b, run);
            match self.b.get(self.pos) {
                Some(b'"' | b'\\') => {}
                Some(_) => return Err(self.syntax("control character in a string")),
                None => return Err(self.syntax("unterminated string")),
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

/// Reads the run of ASCII digits at `b[i..]` into `sig` (`sig * 10 + digit` each, wrapping:
/// exact for up to 19 digits in all, which the caller counts), returning the index after it.
#[inline(always)]
fn digits(b: &[u8], mut i: usize, sig: &mut u64) -> usize {
    let mut s = *sig;
    while let Some(&c) = b.get(i) {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        s = s.wrapping_mul(10).wrapping_add(u64::from(d));
        i += 1;
    }
    *sig = s;
    i
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

    /// Edge cases of the number fast path: the sign of zero, the double range's ends, more
    /// digits than a u64 holds, integers beyond 2^53, and where a number stops (a leading
    /// zero ends it, so `01` leaves `1` for the caller to refuse).
    #[test]
    fn number_edges() {
        let bits = |t: &str| read(t).unwrap().to_bits();
        assert_eq!(bits("-0"), (-0.0f64).to_bits());
        assert_eq!(bits("-0.0e5"), (-0.0f64).to_bits());
        assert_eq!(bits("0e-400"), 0.0f64.to_bits());
        for t in [
            "1e308",
            "1.7976931348623157e308",
            "-1.7976931348623157e308",
            "5e-324",
            "1e-400",
            "0.1000000000000000055511151231257827",
            "0.30000000000000004",
            "9007199254740992",
            "9007199254740993",
            "18446744073709551615",
            "18446744073709551616",
            "99999999999999999999",
            "1234567890123456789",
            "12345678901234567890123",
            "0.0000000000000000000000001",
            "123.456e-30",
            "1E+2",
            "-1e-2",
        ] {
            assert_eq!(bits(t), t.parse::<f64>().unwrap().to_bits(), "{t}");
        }
        for t in ["1e309", "-1e309", "1.8e308", "1e99999999999"] {
            let e = read(t).unwrap_err();
            assert!(e.message.contains("out of the double range"), "{t}: {e:?}");
        }
        let mut r = Reader::new_for_tests("01");
        assert_eq!(r.read_number().unwrap(), 0.0);
        assert_eq!(r.pos, 1);
        let mut r = Reader::new_for_tests("-12.5e1,");
        assert_eq!(r.read_number().unwrap(), -125.0);
        assert_eq!(r.pos, 7);
    }

    fn string(text: &str) -> Res<String> {
        Reader::new_for_tests(text).read_string()
    }

    /// The word-at-a-time string scan agrees with JSON's rules at every position relative to
    /// its 8-byte words: escapes, quotes and control characters are found wherever they sit,
    /// multi-byte characters are copied whole, and the reference (serde_json) decodes the
    /// same text to the same string or refuses it too.
    #[test]
    fn strings_at_every_word_offset() {
        let specials = [
            "\\\"",
            "\\\\",
            "\\n",
            "\\u00e9",
            "\\ud83d\\ude00",
            "é",
            "€",
            "😀",
            "\u{1}",
            "\u{1f}",
            "\t",
            "\u{7f}",
            "\\/",
            "\\x",
            "\\ud800",
            "\\udc00",
            "\\ud800\\u0041",
        ];
        for pre in 0..20 {
            for post in [0, 1, 7, 8, 9, 17] {
                for sp in specials {
                    let body = format!("{}{sp}{}", "a".repeat(pre), "b".repeat(post));
                    let text = format!("\"{body}\"");
                    let want = serde_json::from_str::<String>(&text).ok();
                    let mut r = Reader::new_for_tests(&text);
                    let got = r.read_string().ok();
                    assert_eq!(got, want, "{text:?}");
                    if got.is_some() {
                        assert_eq!(r.pos, text.len(), "{text:?}");
                    }
                    // Unterminated: an error, never a panic.
                    assert!(string(&text[..text.len() - 1]).is_err(), "{text:?}");
                    // As a key, the same text.
                    let key = Reader::new_for_tests(&text).read_key_text().ok();
                    assert_eq!(key.as_ref().map(Key::as_str), want.as_deref(), "{text:?}");
                }
            }
        }
        let e = string("\"ab\u{1}c\"").unwrap_err();
        assert!(
            e.message.contains("control character in a string (byte 3)"),
            "{e:?}"
        );
        let e = string("\"abcdefghij\\ud800\"").unwrap_err();
        assert!(e.message.contains("lone UTF-16 surrogate \\ud800"), "{e:?}");
        assert!(e.message.contains("(byte 11)"), "{e:?}");
    }
}

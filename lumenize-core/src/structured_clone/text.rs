//! Byte-exact JSON text output, as JavaScript's `JSON.stringify` writes it.
//!
//! Strings: `\"` `\\` `\b` `\f` `\n` `\r` `\t`, other C0 controls as lowercase `\u00xx`,
//! everything else (DEL, U+2028/2029, `/`, all non-ASCII) raw. Numbers: ECMAScript
//! `Number::toString` (shortest round-trip digits; exponent form from `1e21` and below `1e-6`),
//! with integers below 2^53 taking a fast path that prints the same digits.

/// Escape action per byte: 0 = copy, b'u' = `\u00xx`, other = the letter after a backslash.
static ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0a] = b'n';
    t[0x0c] = b'f';
    t[0x0d] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

/// Appends `s` as a quoted JSON string literal.
#[inline]
pub(crate) fn write_str(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    write_str_body(out, s);
    out.push('"');
}

/// Appends a plain-object key and its colon. User keys that start with `$` get one more `$`
/// on the wire, so they never collide with `$type` / `$ref`.
#[inline]
pub(crate) fn write_user_key(out: &mut String, key: &str) {
    out.reserve(key.len() + 4);
    out.push('"');
    if key.starts_with('$') {
        out.push('$');
    }
    write_str_body(out, key);
    out.push_str("\":");
}

/// Appends the escaped contents of a string literal, without quotes.
#[inline]
fn write_str_body(out: &mut String, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    // Long strings: skip eight bytes at a time while none needs escaping.
    if bytes.len() >= 16 {
        while let Some(chunk) = bytes.get(i..i + 8) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            if needs_escape(u64::from_ne_bytes(word)) {
                break;
            }
            i += 8;
        }
    }
    while let Some(&b) = bytes.get(i) {
        let esc = ESCAPE[b as usize];
        if esc != 0 {
            // Every escaped byte is ASCII, so `start..i` and `i + 1..` are char boundaries.
            out.push_str(&s[start..i]);
            if esc == b'u' {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 0xf) as usize] as char);
            } else {
                out.push('\\');
                out.push(esc as char);
            }
            start = i + 1;
        }
        i += 1;
    }
    out.push_str(&s[start..]);
}

/// True when any byte of `w` is a control character, `"` or `\` (exact, branch-free: the
/// classic "has zero byte" / "has byte less than" bit tricks).
#[inline]
pub(crate) fn needs_escape(w: u64) -> bool {
    special_bytes(w) != 0
}

/// The bytes of `w` that are a control character, `"` or `\`, as their high bits (`0x80`
/// in each such byte's position). Bits above the lowest set one may be false alarms (the
/// subtractions borrow upwards past a flagged byte), never below it: with `w` loaded
/// little-endian, `trailing_zeros() / 8` is exactly the index of the first such byte.
#[inline]
fn special_bytes(w: u64) -> u64 {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let has_zero = |v: u64| v.wrapping_sub(LO) & !v & HI;
    let below_space = w.wrapping_sub(LO * 0x20) & !w & HI;
    below_space | has_zero(w ^ (LO * b'"' as u64)) | has_zero(w ^ (LO * b'\\' as u64))
}

/// The index of the first byte at or after `i` that is `"`, `\\` or a control character
/// (below 0x20), or `b.len()` if there is none: eight bytes at a time, then byte by byte.
#[inline(always)]
pub(crate) fn find_special(b: &[u8], i: usize) -> usize {
    let mut at = i;
    let found = loop {
        let Some(chunk) = b.get(at..at + 8) else {
            break b[at.min(b.len())..]
                .iter()
                .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
                .map_or(b.len(), |k| at + k);
        };
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let m = special_bytes(u64::from_le_bytes(word));
        if m != 0 {
            break at + (m.trailing_zeros() / 8) as usize;
        }
        at += 8;
    };
    // The word-at-a-time search finds what the byte-at-a-time one finds.
    debug_assert_eq!(
        found,
        b[i.min(b.len())..]
            .iter()
            .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
            .map_or(b.len(), |k| i + k)
    );
    found
}

/// Appends a finite number exactly as JavaScript prints it (`-0` prints as `0`).
/// Callers handle NaN and the infinities, which have no JSON number form.
#[inline]
pub(crate) fn write_f64(out: &mut String, n: f64) {
    debug_assert!(n.is_finite());
    // Integers below 2^53 are exact, and their shortest round-trip digits are the integer's
    // own digits, so a plain integer print matches JavaScript byte for byte.
    // (A cast round-trip, not `fract`, which is a libm call on baseline x86-64.)
    let i = n as i64;
    let abs = n.abs();
    if i as f64 == n && i.unsigned_abs() < 9_007_199_254_740_992 {
        write_i64(out, i);
    } else if (1e-5..9_007_199_254_740_992.0).contains(&abs) {
        // Non-integers in [1e-5, 2^53): both Żmij and JavaScript print the shortest
        // round-trip digits in plain decimal notation here, and Żmij is about twice as fast
        // as ryu. (Checked against ryu-js in the tests below.)
        out.push_str(zmij::Buffer::new().format_finite(n));
    } else {
        // Exponent forms (`1e+21`, `1e-7`) and the edges: ryu-js implements
        // ECMAScript's Number::toString exactly.
        out.push_str(ryu_js::Buffer::new().format_finite(n));
    }
}

/// Appends an integer in decimal.
#[inline]
pub(crate) fn write_i64(out: &mut String, n: i64) {
    out.push_str(itoa::Buffer::new().format(n));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(n: f64) -> String {
        let mut s = String::new();
        write_f64(&mut s, n);
        s
    }

    #[test]
    fn numbers_print_like_javascript() {
        assert_eq!(num(0.0), "0");
        assert_eq!(num(-0.0), "0");
        assert_eq!(num(42.0), "42");
        assert_eq!(num(-2.75), "-2.75");
        assert_eq!(num(1e21), "1e+21");
        assert_eq!(num(123456789012345680000.0), "123456789012345680000");
        assert_eq!(num(0.000001), "0.000001");
        assert_eq!(num(1e-7), "1e-7");
        assert_eq!(num(5e-324), "5e-324");
        assert_eq!(num(f64::MAX), "1.7976931348623157e+308");
        assert_eq!(num(9007199254740994.0), "9007199254740994");
        assert_eq!(num(i64::MIN as f64), "-9223372036854776000");
    }

    #[test]
    fn fast_float_path_matches_ecmascript_formatting() {
        // xorshift over raw bit patterns and over decimal-looking values in the fast range.
        let mut s: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut checked = 0;
        for i in 0..400_000u64 {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let x = match i % 3 {
                0 => f64::from_bits(s),
                1 => (s >> 11) as f64 / (1u64 << 53) as f64 * 10f64.powi((s % 22) as i32 - 5),
                _ => ((s >> 20) % 100_000_000) as f64 / 1000.0 + 0.001,
            };
            if !x.is_finite() {
                continue;
            }
            checked += 1;
            assert_eq!(num(x), ryu_js::Buffer::new().format_finite(x), "{x:e}");
        }
        assert!(checked > 300_000);
    }

    #[test]
    fn integers_print_in_decimal() {
        for n in [0, 7, 10, 99, 100, 12345, -1, -100, i64::MAX, i64::MIN] {
            let mut s = String::new();
            write_i64(&mut s, n);
            assert_eq!(s, n.to_string());
        }
    }

    #[test]
    fn escape_scan_finds_every_special_byte_in_any_position() {
        for special in ["\"", "\\", "\n", "\u{0}", "\u{1f}"] {
            for pos in 0..20 {
                let mut text = "abcdefghijklmnopqrst".to_string();
                text.replace_range(pos..pos + 1, special);
                let mut fast = String::new();
                write_str(&mut fast, &text);
                assert_eq!(fast, serde_json::to_string(&text).unwrap(), "{text:?}");
            }
        }
    }

    #[test]
    fn strings_escape_like_json_stringify() {
        let mut s = String::new();
        write_str(
            &mut s,
            "q\" b\\ s/ \n\r\t\u{8}\u{c}\u{0}\u{1f}\u{7f}\u{2028}é",
        );
        assert_eq!(
            s,
            "\"q\\\" b\\\\ s/ \\n\\r\\t\\b\\f\\u0000\\u001f\u{7f}\u{2028}é\""
        );
    }
}

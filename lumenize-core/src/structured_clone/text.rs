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
pub(crate) fn write_str(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    write_str_body(out, s);
    out.push('"');
}

/// Appends a plain-object key and its colon. User keys that start with `$` get one more `$`
/// on the wire, so they never collide with `$type` / `$ref`.
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
fn write_str_body(out: &mut String, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc = ESCAPE[b as usize];
        if esc == 0 {
            continue;
        }
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
    out.push_str(&s[start..]);
}

/// Appends a finite number exactly as JavaScript prints it (`-0` prints as `0`).
/// Callers handle NaN and the infinities, which have no JSON number form.
pub(crate) fn write_f64(out: &mut String, n: f64) {
    debug_assert!(n.is_finite());
    // Integers below 2^53 are exact, and their shortest round-trip digits are the integer's
    // own digits, so a plain integer print matches JavaScript byte for byte.
    if n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 {
        write_i64(out, n as i64);
    } else {
        let mut buf = ryu_js::Buffer::new();
        out.push_str(buf.format_finite(n));
    }
}

/// Appends an integer in decimal.
pub(crate) fn write_i64(out: &mut String, n: i64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut v = n.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if n < 0 {
        out.push('-');
    }
    // The buffer holds ASCII digits only.
    out.push_str(std::str::from_utf8(&buf[i..]).unwrap_or("0"));
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
        assert_eq!(num(-3.14), "-3.14");
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

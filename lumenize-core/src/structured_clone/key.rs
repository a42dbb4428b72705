//! [`Key`]: a plain-object property key, short ones stored inline.
//!
//! Reading a document makes one key per property; with `String` keys that is one allocation
//! (and one free) each, about half of all the allocations of typical JSON-shaped data. Keys of
//! up to [`INLINE`] bytes (nearly all) live inside the entry instead.

/// Longest key kept inline (the enum is then as large as a `String`).
const INLINE: usize = 22;

/// A property key. Invariant: `Inline { len, bytes }` holds `len <= INLINE`, `bytes[..len]` is
/// a copy of the bytes of a `&str` (so valid UTF-8) and `bytes[len..]` are zero; keys of up to
/// `INLINE` bytes are always `Inline`, longer ones always `Heap`. Every constructor upholds it
/// and nothing mutates a key in place. (The zero padding lets two inline keys compare as two
/// fixed-size arrays, without a call to `memcmp`.)
#[derive(Clone)]
pub(crate) enum Key {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<str>),
}

impl Key {
    /// A key with the text `s`.
    #[inline]
    pub(crate) fn new(s: &str) -> Key {
        if s.len() <= INLINE {
            let mut bytes = [0u8; INLINE];
            bytes[..s.len()].copy_from_slice(s.as_bytes());
            Key::Inline {
                len: s.len() as u8,
                bytes,
            }
        } else {
            Key::Heap(s.into())
        }
    }

    /// The key whose text is `src[start..end]` (both char boundaries of `src`). Made for the
    /// reader: when 22 bytes of `src` follow `start`, a short key is one fixed-size copy and a
    /// mask, not a variable-length `memcpy` and a zero fill.
    #[inline(always)]
    pub(crate) fn from_text_at(src: &str, start: usize, end: usize) -> Key {
        let len = end - start;
        match src.as_bytes().get(start..start + INLINE) {
            Some(window) if len <= INLINE => {
                let mut lo = [0u8; 16];
                lo.copy_from_slice(&window[..16]);
                let mut hi = [0u8; 8];
                hi[..INLINE - 16].copy_from_slice(&window[16..]);
                // Keep the first `len` bytes, clear the rest (the invariant's zero padding).
                let lo_keep = if len >= 16 {
                    u128::MAX
                } else {
                    (1u128 << (8 * len)) - 1
                };
                let hi_keep = if len <= 16 {
                    0
                } else {
                    (1u64 << (8 * (len - 16))) - 1
                };
                let lo = (u128::from_le_bytes(lo) & lo_keep).to_le_bytes();
                let hi = (u64::from_le_bytes(hi) & hi_keep).to_le_bytes();
                let mut bytes = [0u8; INLINE];
                bytes[..16].copy_from_slice(&lo);
                bytes[16..].copy_from_slice(&hi[..INLINE - 16]);
                // `bytes[..len]` is `src[start..end]`: valid UTF-8, as the invariant asks.
                Key::Inline {
                    len: len as u8,
                    bytes,
                }
            }
            _ => Key::new(&src[start..end]),
        }
    }

    /// A summary of the key's text (its length and first 16 bytes): equal keys have equal
    /// fingerprints, so different fingerprints prove two keys differ, in one comparison.
    #[inline]
    pub(crate) fn fingerprint(&self) -> u64 {
        let mut head = [0u8; 16];
        let len = match self {
            // Zero past `len` by the invariant; a `Heap` key is longer than 16 bytes.
            Key::Inline { len, bytes } => {
                head.copy_from_slice(&bytes[..16]);
                usize::from(*len)
            }
            Key::Heap(s) => {
                head.copy_from_slice(&s.as_bytes()[..16]);
                s.len()
            }
        };
        let w = u128::from_le_bytes(head);
        (w as u64) ^ ((w >> 64) as u64).rotate_left(29) ^ (len as u64).rotate_right(8)
    }

    /// The key's text.
    #[inline]
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Key::Inline { len, bytes } => {
                let b = &bytes[..usize::from(*len)];
                // SAFETY: by the type's invariant `bytes[..len]` was copied whole from a
                // `&str` in `Key::new` (the only place an `Inline` is made) and is never
                // changed, so it is valid UTF-8. Checking it again here would cost every
                // reader of every key (the encoder reads each key it writes).
                unsafe { std::str::from_utf8_unchecked(b) }
            }
            Key::Heap(s) => s,
        }
    }
}

impl From<String> for Key {
    fn from(s: String) -> Key {
        if s.len() <= INLINE {
            Key::new(&s)
        } else {
            Key::Heap(s.into_boxed_str())
        }
    }
}

impl PartialEq for Key {
    #[inline]
    fn eq(&self, other: &Key) -> bool {
        match (self, other) {
            // Zero padding past `len` (the invariant): equal texts are equal arrays.
            (Key::Inline { len: a, bytes: x }, Key::Inline { len: b, bytes: y }) => {
                a == b && x == y
            }
            _ => self.as_str() == other.as_str(),
        }
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.as_str().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_keep_their_text_inline_or_not() {
        let long = "k".repeat(INLINE + 1);
        for s in [
            "",
            "id",
            "é€😀",
            "a\u{0}b",
            &"x".repeat(INLINE),
            long.as_str(),
        ] {
            assert_eq!(Key::new(s).as_str(), s);
            assert_eq!(Key::from(s.to_string()).as_str(), s);
            assert_eq!(Key::new(s), Key::from(s.to_string()));
        }
        assert!(matches!(Key::new(&long), Key::Heap(_)));
        // The reader's constructor: every length, with and without 22 bytes after the key,
        // gives the same key (padding included) as `Key::new`.
        let text = format!("\"é€😀 tail that is long enough{}", "x".repeat(40));
        for start in 0..8 {
            for end in start..text.len().min(start + INLINE + 3) {
                if !text.is_char_boundary(start) || !text.is_char_boundary(end) {
                    continue;
                }
                for src in [text.as_str(), &text[..end]] {
                    let k = Key::from_text_at(src, start, end);
                    assert_eq!(k.as_str(), &text[start..end]);
                    assert!(k == Key::new(&text[start..end]));
                    if let (Key::Inline { bytes: a, .. }, Key::Inline { bytes: b, .. }) =
                        (&k, &Key::new(&text[start..end]))
                    {
                        assert_eq!(a, b, "padding");
                    }
                }
            }
        }
        assert!(Key::new("ab") != Key::new("abc"));
        for s in ["", "a", "ab", &"y".repeat(16), &"y".repeat(30)] {
            assert_eq!(
                Key::new(s).fingerprint(),
                Key::from(s.to_string()).fingerprint()
            );
        }
        assert!(Key::new(&long) != Key::new(&long[1..]));
        assert!(matches!(Key::new("history"), Key::Inline { .. }));
        assert_eq!(std::mem::size_of::<Key>(), std::mem::size_of::<String>());
    }
}

//! [`Key`]: a plain-object property key, short ones stored inline.
//!
//! Reading a document makes one key per property; with `String` keys that is one allocation
//! (and one free) each, about half of all the allocations of typical JSON-shaped data. Keys of
//! up to [`INLINE`] bytes (nearly all) live inside the entry instead.

/// Longest key kept inline (the enum is then as large as a `String`).
const INLINE: usize = 22;

/// A property key. Invariant: `Inline { len, bytes }` holds `len <= INLINE` and
/// `bytes[..len]` is a copy of the bytes of a `&str` (so valid UTF-8); every constructor
/// upholds it and nothing mutates a key in place.
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
    fn eq(&self, other: &Key) -> bool {
        self.as_str() == other.as_str()
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
        assert!(matches!(Key::new("history"), Key::Inline { .. }));
        assert_eq!(std::mem::size_of::<Key>(), std::mem::size_of::<String>());
    }
}

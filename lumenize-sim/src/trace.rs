//! The event trace of a seed: every line is hashed (the digest in the summary line) and, when
//! asked for, kept to print.

use sha2::{Digest, Sha256};
use std::fmt::{self, Write as _};

/// A seed's trace.
pub struct Trace {
    hasher: Sha256,
    buf: String,
    keep: bool,
    lines: Vec<String>,
}

impl Trace {
    /// A trace that keeps its lines when `keep`.
    pub fn new(keep: bool) -> Trace {
        Trace {
            hasher: Sha256::new(),
            buf: String::new(),
            keep,
            lines: Vec::new(),
        }
    }

    /// Adds one line.
    pub fn line(&mut self, args: fmt::Arguments<'_>) {
        self.buf.clear();
        let _ = self.buf.write_fmt(args);
        self.buf.push('\n');
        self.hasher.update(self.buf.as_bytes());
        if self.keep {
            self.lines.push(self.buf.trim_end().to_string());
        }
    }

    /// The kept lines.
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// The digest of every line so far.
    pub fn digest(&self) -> [u8; 32] {
        self.hasher.clone().finalize().into()
    }
}

//! Addresses and the transport of `call_raw` messages, as a backend-neutral trait.
//!
//! Everything here is `Send` plain data: chains and results cross between objects as
//! structured-clone wire text, exactly as Cloudflare structured-clones every RPC hop.

use sha2::{Digest, Sha256};
use std::fmt;

/// Where a message goes: an object (by binding and id), a worker or an RPC target (by binding).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Address {
    /// A Durable-Object-style object.
    Object {
        /// The binding its type is registered under.
        binding: String,
        /// Its id: 64 lowercase hex digits.
        id: String,
        /// The name it was addressed by, when known. Not part of routing; it lets a callee
        /// reply to its caller by the same name the caller was reached by.
        name: Option<String>,
    },
    /// A stateless worker.
    Worker {
        /// Its binding.
        binding: String,
    },
    /// An RPC target (RPC only, no HTTP-style requests).
    RpcTarget {
        /// Its binding.
        binding: String,
    },
}

impl Address {
    /// The object named `name` of type `binding`; its id is [`id_from_name`].
    pub fn object(binding: impl Into<String>, name: impl Into<String>) -> Address {
        let binding = binding.into();
        let name = name.into();
        Address::Object {
            id: id_from_name(&binding, &name),
            binding,
            name: Some(name),
        }
    }

    /// The object with this id (64 hex digits) of type `binding`.
    pub fn object_by_id(binding: impl Into<String>, id: impl Into<String>) -> Address {
        Address::Object {
            binding: binding.into(),
            id: id.into(),
            name: None,
        }
    }

    /// The worker registered as `binding`.
    pub fn worker(binding: impl Into<String>) -> Address {
        Address::Worker {
            binding: binding.into(),
        }
    }

    /// The RPC target registered as `binding`.
    pub fn rpc_target(binding: impl Into<String>) -> Address {
        Address::RpcTarget {
            binding: binding.into(),
        }
    }

    /// The binding.
    pub fn binding(&self) -> &str {
        match self {
            Address::Object { binding, .. }
            | Address::Worker { binding }
            | Address::RpcTarget { binding } => binding,
        }
    }

    /// The object id, for objects.
    pub fn id(&self) -> Option<&str> {
        match self {
            Address::Object { id, .. } => Some(id),
            _ => None,
        }
    }

    /// The object name, when known.
    pub fn name(&self) -> Option<&str> {
        match self {
            Address::Object { name, .. } => name.as_deref(),
            _ => None,
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Object {
                binding,
                name: Some(name),
                ..
            } => write!(f, "{binding}/{name}"),
            Address::Object { binding, id, .. } if is_object_id(id) => {
                write!(f, "{binding}#{}", &id[..12])
            }
            // Not an id this runtime issues (e.g. hostile input to `object_by_id`): shown
            // escaped and cut by characters, never by bytes, so displaying it cannot panic.
            Address::Object { binding, id, .. } => {
                write!(f, "{binding}#{}", shown_id(id))
            }
            Address::Worker { binding } => write!(f, "worker {binding}"),
            Address::RpcTarget { binding } => write!(f, "rpc-target {binding}"),
        }
    }
}

/// The deterministic id of the object named `name` under `binding`: SHA-256 of
/// `binding`, a NUL byte and `name`, as 64 lowercase hex digits (like `idFromName`).
///
/// ```
/// use lumenize_core::transport::id_from_name;
/// let id = id_from_name("COUNTER", "alice");
/// assert_eq!(id.len(), 64);
/// assert_eq!(id, id_from_name("COUNTER", "alice"));
/// assert_ne!(id, id_from_name("COUNTER", "bob"));
/// ```
pub fn id_from_name(binding: &str, name: &str) -> String {
    let mut h = Sha256::new();
    h.update(binding.as_bytes());
    h.update([0u8]);
    h.update(name.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// True when `id` looks like an object id (64 lowercase hex digits). Hosts refuse any other
/// id before it reaches storage: an id becomes a file name, so it must never carry a path
/// separator, `..`, a NUL or anything else outside this alphabet.
///
/// ```
/// use lumenize_core::transport::{id_from_name, is_object_id};
/// assert!(is_object_id(&id_from_name("COUNTER", "alice")));
/// assert!(!is_object_id("../../etc/passwd"));
/// ```
pub fn is_object_id(id: &str) -> bool {
    id.len() == 64 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A short, escaped rendering of an id that may be hostile (for errors and logs): at most
/// 24 characters, debug-escaped, so control characters or a huge id cannot flood a log line.
pub(crate) fn shown_id(id: &str) -> String {
    const SHOWN: usize = 24;
    let mut cut: String = id.chars().take(SHOWN).collect();
    if cut.len() < id.len() {
        cut.push('…');
    }
    format!("{cut:?}")
}

/// Where the outcome of a call goes: a continuation to run on the caller.
#[derive(Clone, Debug)]
pub struct ReplyTo {
    /// The caller.
    pub to: Address,
    /// The continuation chain, as wire text; its `$result` marker is filled with the result
    /// (or an `Error` value) before it runs.
    pub continuation: String,
}

/// A message: run `chain` on `to`, optionally replying to a continuation.
#[derive(Clone, Debug)]
pub struct Outgoing {
    /// The sender.
    pub from: Address,
    /// The receiver.
    pub to: Address,
    /// What to run, as wire text.
    pub chain: String,
    /// Where the outcome goes (none: fire-and-forget).
    pub reply: Option<ReplyTo>,
}

/// The outcome of a call, sent back to a continuation: the result value or an `Error` value,
/// as wire text.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// The caller that receives it.
    pub to: Address,
    /// The continuation to run, as wire text.
    pub continuation: String,
    /// The result (`Ok`) or the error value (`Err`), each as wire text.
    pub outcome: Result<String, String>,
}

/// What a turn asks of the host's message routing: whether an address exists. Hosts send the
/// messages a turn queued ([`Outgoing`]) only after its transaction committed (the output
/// gate), each with its own routing; this trait is only the check `call_raw` makes at once.
pub trait Transport {
    /// True when `to` names something registered (a known binding of the right kind). Checked
    /// synchronously by `call_raw`, so a typo fails at once instead of timing out later.
    fn knows(&self, to: &Address) -> bool;
}

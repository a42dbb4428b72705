//! The runtime's message protocol: what its tasks pass each other ([`Msg`], [`Reply`]), how a
//! refused message comes back ([`Refused`]), the runtime's errors, and the interface to the
//! router ([`Router`]) that hosts and workers send through. Below every other part of the
//! runtime: it names no task, state or router implementation.

use crate::context::Ctx;
use crate::ocan::{ChainError, Dispatch};
use crate::transport::{Address, Delivery, Outgoing, ReplyTo};
use std::any::Any;
use std::time::Duration;

/// (binding, id): how the runtime keys a live object.
pub(crate) type ObjKey = (String, String);

/// Something kept alive until a message has run, then dropped (an
/// [`AwakeGuard`](super::AwakeGuard): the address stays accounted awake until then).
pub(crate) type KeepAwake = Box<dyn Send>;

pub(crate) type RunFn =
    Box<dyn FnOnce(&mut dyn Dispatch, &Ctx<'_>) -> Result<Box<dyn Any + Send>, ChainError> + Send>;

/// What the runtime's tasks pass around.
pub(crate) enum Msg {
    Call {
        chain: String,
        reply: Reply,
    },
    Deliver {
        continuation: String,
        outcome: Result<String, String>,
    },
    /// The rest of an invocation that awaited async work (a direct fetch's continuation):
    /// one more turn, but not a new request. `awake` keeps the address awake until it ran.
    Resume {
        chain: String,
        awake: Option<KeepAwake>,
    },
    /// The object's alarm is due. Never queued in a mailbox: `Shared::send_object` turns it
    /// into the task's alarm flag, so a full mailbox cannot refuse (and lose) it.
    Alarm,
    Trigger {
        n: usize,
        done: std::sync::mpsc::Sender<Result<Vec<String>, RuntimeError>>,
    },
    Run {
        f: RunFn,
        done: std::sync::mpsc::Sender<Result<Box<dyn Any + Send>, RuntimeError>>,
    },
}

pub(crate) enum Reply {
    None,
    Continuation(ReplyTo),
    Sync(std::sync::mpsc::Sender<Result<String, RuntimeError>>),
    Async(tokio::sync::oneshot::Sender<Result<String, RuntimeError>>),
}

/// A message the runtime did not take, with the reason (the caller answers it).
pub(crate) struct Refused {
    pub msg: Msg,
    pub err: RuntimeError,
}

impl Refused {
    /// Boxed: refusals are rare, and the happy path should not carry their size.
    pub fn new(msg: Msg, err: RuntimeError) -> Box<Refused> {
        Box::new(Refused { msg, err })
    }
}

/// Builds the delivery of `result` to a continuation on `to`.
pub(crate) fn delivery(
    to: Address,
    continuation: String,
    result: Result<String, ChainError>,
) -> Delivery {
    Delivery {
        to,
        continuation,
        outcome: result.map_err(|e| e.to_wire()),
    }
}

/// How hosts, workers and the native extras send: implemented by the router
/// (`routing.rs`), so that they depend on this interface and the router on them.
pub(crate) trait Router {
    /// Sends a message produced by a committed turn (or by async work after one); a refusal
    /// is answered (see [`Router::refuse`]).
    fn send_outgoing(&self, msg: Outgoing);
    /// [`Router::send_outgoing`] that hands a refusal back to the caller (with the target).
    fn route_outgoing(&self, msg: Outgoing) -> Result<(), (Box<Refused>, Address)>;
    /// Sends the outcome of a call back to the caller's continuation, handing a refusal back.
    fn route_delivery(&self, from: &Address, d: Delivery) -> Result<(), Box<Refused>>;
    /// Hands `m` to `to` now, without hop latency.
    fn deliver_now(&self, to: &Address, m: Msg) -> Result<(), Box<Refused>>;
    /// Sends a turn's result where its message asked.
    fn reply(&self, me: &Address, reply: Reply, result: Result<String, ChainError>);
    /// Answers a message that `target` will not run with `err`: a waiting caller gets the
    /// error, a caller's continuation runs with it as an `Error` value, and what nobody waits
    /// for is a `tracing` event and a count.
    fn refuse(&self, target: &Address, msg: Msg, err: RuntimeError);
}

/// Why a runtime operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The call ran and failed (or could not be decoded).
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// Nothing is registered under that binding (or not of that kind).
    #[error("unknown target: {0}")]
    UnknownTarget(Address),
    /// The configuration is unusable.
    #[error("invalid runtime configuration: {0}")]
    Config(String),
    /// The runtime is shut down or the target's task ended without answering (e.g. a worker
    /// handler panicked).
    #[error("the runtime closed before answering")]
    Closed,
    /// `settle` gave up.
    #[error("still busy after {0:?}")]
    Timeout(Duration),
    /// Filesystem or database error while opening (an object that could not be opened is
    /// tried again by its next message).
    #[error("storage: {0}")]
    Storage(String),
    /// The target's mailbox is full (see [`RuntimeBuilder::mailbox_capacity`](super::RuntimeBuilder::mailbox_capacity)): the message
    /// was not queued. Try again later; nothing of it ran.
    #[error("{to} is overloaded: {capacity} messages are already waiting")]
    Overloaded {
        /// The target.
        to: Address,
        /// The mailbox capacity it reached.
        capacity: usize,
    },
    /// An object id that this runtime never issues: ids are 64 lowercase hex digits
    /// ([`object_id`](super::object_id)). Anything else (path separators, `..`, NUL, other lengths or
    /// characters) is refused before it can reach storage.
    #[error("invalid object id {id} for {binding}: an object id is 64 lowercase hex digits")]
    InvalidObjectId {
        /// The binding.
        binding: String,
        /// The refused id, escaped and shortened.
        id: String,
    },
}

impl RuntimeError {
    /// The error as a continuation sees it.
    pub(crate) fn into_chain(self) -> ChainError {
        match self {
            RuntimeError::Chain(c) => c,
            other => ChainError::Handler {
                name: "RuntimeError".into(),
                message: other.to_string(),
            },
        }
    }
}

//! The turn engine: the rules of a *turn*, written once for every host.
//!
//! A host (the native runtime, the Cloudflare backend, the simulator `lumenize-sim`) owns the
//! mailbox, the timers and the network. Everything between taking a message and having
//! something to send is here, in [`TurnEngine`]:
//!
//! - **one transaction per turn**: begin, the handler, the slot checked
//!   ([`SlotState::flush`](crate::alarms::SlotState::flush), which writes nothing: the alarm
//!   time is derived from the schedules), commit. On error, panic or a
//!   failed commit: everything rolls back, the queued messages are dropped, the alarm slot
//!   undoes the turn's schedule changes in memory (after a failed commit, whose outcome is
//!   unknown, it re-reads the committed time), and the instance is discarded when it panicked or was
//!   constructed in that turn (its constructor's writes rolled back with it);
//! - **group commit**: messages already queued may run as one group
//!   ([`TurnEngine::group`]): one transaction, a savepoint per message (a rolled-back one's schedule
//!   changes are undone in memory, reading nothing), one commit. A message that fails (error or panic) rolls back to its savepoint alone: its
//!   result is the error, its outbox is dropped, its alarm change undone. One whose statement
//!   makes SQLite roll back the whole transaction (`INSERT OR ROLLBACK`, `RAISE(ROLLBACK)`)
//!   fails alone too: the others run again without it in a fresh transaction (see
//!   [`TurnEngine::group_with`]). Outputs are
//!   released only after the shared commit (Cloudflare's output gate does the same), and a
//!   failed commit fails every message of the group. Storage without savepoints
//!   ([`TxStorage::has_savepoints`](crate::storage::TxStorage::has_savepoints), the Cloudflare
//!   backend) runs each message as its own turn;
//! - **alarms**: claim the earliest due schedule, run its continuation and complete it in one
//!   turn; when that turn fails, record the failure (backoff 2..64 s, then given up) in a
//!   second turn ([`crate::alarms::fire`]); when its COMMIT fails, whose outcome is unknown
//!   (the claim and the continuation may have committed), record nothing and retry the alarm
//!   after a backoff, as after a fault before the claim;
//! - **outputs, not effects**: the engine sends nothing and arms no timer. Each turn returns
//!   what it committed ([`Outputs`]): the outbox, the new alarm time, counts. A turn that
//!   rolled back returns an empty outbox and no alarm change (unless its re-read of the slot
//!   finds a committed value the host was not told about);
//! - **a failed message costs what it did**: undoing it reads no row, however many schedules
//!   are pending (a scan per failed message would let any caller who can make a handler fail
//!   cost the object time linear in its schedules);
//! - **a slot never flushed from a guess**: when the re-read after a rollback fails, the slot
//!   forgets the rolled-back change, holds the value from before the turn, and is re-read
//!   inside the next turn's transaction before the handler runs (that turn fails if the
//!   re-read does); meanwhile it reports no change;
//! - **faults are retried later**: an alarm run that stops at a storage fault before it can
//!   claim a schedule re-arms after a backoff ([`AlarmRun::retry_at`]; 2 s, doubling to 64 s
//!   while the faults go on), never at the past-due slot, which would fire again at once.
//!
//! # Entry points
//!
//! [`TurnEngine::open`] (schema, name, the schedules' order: one transaction), then per message
//! [`TurnEngine::call`], [`TurnEngine::deliver`], [`TurnEngine::resume`] or the general
//! [`TurnEngine::turn`], or for several queued messages [`TurnEngine::group`] (a
//! [`Message`] each) or [`TurnEngine::group_with`]; per alarm [`TurnEngine::alarm`] (every schedule due now),
//! [`TurnEngine::trigger`] (the next `n`, whatever their time: a test hook) or one step at a
//! time [`TurnEngine::fire_next`]. Workers and RPC targets have no engine, only
//! [`stateless_turn`] (a fresh instance, no storage; the outbox released on success). Each
//! takes a [`TurnEnv`]: the host's clock, its
//! [`Transport`] (which `call_raw` checks targets against) and optional extras for `Ctx::ext`.
//!
//! # What a host does with a turn's outputs
//!
//! In this order, and only with what the engine returned (it is committed):
//! 1. answer the caller with the turn's result (after a `call`);
//! 2. send [`Outputs::take_outbox`] in order, then perform [`Outputs::take_effects`];
//! 3. when [`Outputs::alarm_change`] is `Some(at)`, arm the platform alarm at `at` (`None`:
//!    disarm). [`TurnEngine::alarm`] and [`TurnEngine::trigger`] always report the alarm to
//!    re-arm (the slot, or a retry time after a fault), because firing consumed the platform
//!    alarm; after driving [`TurnEngine::fire_next`] itself, a host re-arms at
//!    [`TurnEngine::armed`], or stops at a step with [`AlarmRun::retry_at`] set (its alarm
//!    change is that retry time).
//!
//! # Crash points a host may simulate
//!
//! Nothing durable happens outside a transaction, so a host (the simulator) may drop the
//! engine ([`TurnEngine::into_storage`] keeps an in-memory database) and reopen it from
//! storage at any of these points, and the invariants below hold:
//! before a turn, inside it (a storage fault: the turn rolls back), after commit before
//! sending the outbox (the messages are lost, as in-flight messages are on Cloudflare), after
//! sending before re-arming (on reopen the host arms from [`TurnEngine::armed`], derived from
//! the schedules that committed).
//!
//! # Invariants
//!
//! - A turn's writes, its alarm change and the release of its outbox and effects
//!   ([`Ctx::after_commit`](crate::context::Ctx::after_commit)) are all or nothing: they are
//!   returned only when the commit succeeded (in a group: when its savepoint was kept and the
//!   group's commit succeeded).
//! - [`TurnEngine::armed`] equals the earliest pending schedule in storage between turns
//!   (past-due ones included).
//! - A schedule's claim commits together with its continuation's effects, so a firing takes
//!   effect at most once; a failed firing stays pending and is retried with backoff.
//!
//! # Example
//!
//! ```
//! # #[cfg(feature = "native")] {
//! use lumenize_core::prelude::*;
//! use lumenize_core::storage::sqlite::SqliteStorage;
//! use lumenize_core::transport::{Address, Transport};
//! use lumenize_core::turn::{TurnEngine, TurnEnv};
//!
//! struct Counter;
//! impl Counter {
//!     fn add(&mut self, ctx: &Ctx<'_>, by: f64) -> Result<f64, String> {
//!         let n = ctx.kv().get("n").map_err(|e| e.to_string())?.and_then(|v| v.as_f64()).unwrap_or(0.0) + by;
//!         ctx.kv().put("n", &Value::from(n)).map_err(|e| e.to_string())?;
//!         Ok(n)
//!     }
//! }
//! lumenize_core::handlers!(Counter { add(by: f64) });
//!
//! struct Nowhere;
//! impl Transport for Nowhere {
//!     fn knows(&self, _: &Address) -> bool { false }
//! }
//!
//! let storage = SqliteStorage::in_memory().unwrap();
//! let id = lumenize_core::transport::id_from_name("COUNTER", "a");
//! let factory = |_: &Ctx<'_>| -> Box<dyn Dispatch> { Box::new(Counter) };
//! let mut engine = TurnEngine::open(storage, "COUNTER", &id, Some("a"), factory).unwrap();
//! let now = || 1_000;
//! let env = TurnEnv::new(&Nowhere, &now);
//! let chain = ctn().call("add", vec![Value::from(2.0)]).stringify().unwrap();
//! let mut turn = engine.call(&env, &chain);
//! assert!(turn.result().is_ok());
//! // Committed: the host now sends the outbox and applies the alarm change.
//! assert!(turn.outputs_mut().take_outbox().is_empty());
//! assert_eq!(turn.outputs().alarm_change(), None);
//! # }
//! ```

mod alarm;
mod engine;
mod group;
mod mutant;
mod outputs;
mod stateless;

pub use engine::TurnEngine;
pub use group::Message;
#[cfg(feature = "sim-mutants")]
pub use mutant::{select_mutant, selected_mutant, Mutant};
pub use outputs::{AlarmRun, Outputs, ScheduleFailure, Turn};
pub use stateless::stateless_turn;

use crate::context::Ctx;
use crate::ocan::Dispatch;
use crate::transport::Transport;
use std::any::Any;

/// What a host lends a turn: its clock, its transport, and extras for
/// [`Ctx::ext`](crate::context::Ctx::ext).
///
/// ```
/// use lumenize_core::transport::{Address, Transport};
/// use lumenize_core::turn::TurnEnv;
/// struct Nowhere;
/// impl Transport for Nowhere {
///     fn knows(&self, _: &Address) -> bool { false }
/// }
/// let now = || 42;
/// let env = TurnEnv::new(&Nowhere, &now);
/// assert_eq!(env.now_ms(), 42);
/// ```
#[derive(Clone, Copy)]
pub struct TurnEnv<'a> {
    transport: &'a dyn Transport,
    /// Read once at the start of each turn: a turn sees one instant.
    now: &'a dyn Fn() -> i64,
    ext: Option<&'a dyn Any>,
}

impl<'a> TurnEnv<'a> {
    /// An environment with `transport` and the clock `now` (ms since the epoch), no extras.
    pub fn new(transport: &'a dyn Transport, now: &'a dyn Fn() -> i64) -> TurnEnv<'a> {
        TurnEnv {
            transport,
            now,
            ext: None,
        }
    }

    /// The same, with `ext` reachable from handlers through `Ctx::ext`.
    pub fn with_ext(self, ext: &'a dyn Any) -> TurnEnv<'a> {
        TurnEnv {
            ext: Some(ext),
            ..self
        }
    }

    /// The host's current time, ms.
    pub fn now_ms(&self) -> i64 {
        (self.now)()
    }
}

/// An object instance the engine can dispatch to: a boxed [`Dispatch`], `Send` or not.
///
/// ```
/// use lumenize_core::ocan::Dispatch;
/// use lumenize_core::turn::Instance;
/// fn name<I: Instance>(i: &mut I) -> &'static str { i.dispatch().type_name() }
/// # let _ = name::<Box<dyn Dispatch>>;
/// ```
pub trait Instance {
    /// The instance as a dispatch target.
    fn dispatch(&mut self) -> &mut dyn Dispatch;
}

impl Instance for Box<dyn Dispatch> {
    fn dispatch(&mut self) -> &mut dyn Dispatch {
        &mut **self
    }
}

impl Instance for Box<dyn Dispatch + Send> {
    fn dispatch(&mut self) -> &mut dyn Dispatch {
        &mut **self
    }
}

/// Builds an object's instance, inside the first turn that needs one (so it may read
/// storage). Any `Fn(&Ctx<'_>) -> I` closure is one.
///
/// ```
/// use lumenize_core::context::Ctx;
/// use lumenize_core::ocan::Dispatch;
/// use lumenize_core::turn::Factory;
/// fn takes(_: impl Factory) {}
/// # struct Noop;
/// # impl Dispatch for Noop {
/// #     fn type_name(&self) -> &'static str { "Noop" }
/// #     fn dispatch(&mut self, _: &Ctx<'_>, m: &str, _: Vec<lumenize_core::structured_clone::Value>)
/// #         -> Result<lumenize_core::structured_clone::Value, lumenize_core::ocan::ChainError> {
/// #         Err(lumenize_core::ocan::ChainError::handler(m))
/// #     }
/// # }
/// takes(|_: &Ctx<'_>| -> Box<dyn Dispatch> { Box::new(Noop) });
/// ```
pub trait Factory {
    /// What it builds.
    type Instance: Instance;
    /// Builds one instance.
    fn construct(&self, ctx: &Ctx<'_>) -> Self::Instance;
}

impl<T, I> Factory for T
where
    T: Fn(&Ctx<'_>) -> I,
    I: Instance,
{
    type Instance = I;
    fn construct(&self, ctx: &Ctx<'_>) -> I {
        self(ctx)
    }
}

/// The text of a panic payload.
pub(crate) fn panic_message(p: &Box<dyn Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".into()
    }
}

//! [`Ctx`]: what a handler can reach during its turn — storage (SQL and key-value), alarms,
//! the clock, its own address, and outgoing calls (queued, sent only after commit).
//!
//! Hosts (the native runtime, a Cloudflare backend) build one `Ctx` per turn from their
//! implementations of the traits in [`crate::storage`], [`crate::alarms`] and
//! [`crate::transport`], install it with [`Ctx::enter`] (so
//! [`__execute_chain`](crate::ocan::ExecuteChain::__execute_chain) can find it), and drain its
//! outbox after the turn's transaction commits.

use crate::alarms::{AlarmSlot, Alarms, ScheduleRow, TurnAlarms};
use crate::ocan::{Continuation, OperationChain};
use crate::storage::{Kv, Storage};
use crate::structured_clone::Value;
use crate::transport::{Address, Outgoing, ReplyTo, Transport};
use std::any::Any;
use std::cell::{Cell, RefCell};

/// Why `call_raw` refused a call (nothing was queued).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallError {
    /// No object type, worker or RPC target is registered under that binding (or it is
    /// registered as another kind).
    #[error("no {0} is registered (unknown binding or wrong kind)")]
    UnknownTarget(Address),
    /// The chain or continuation could not be encoded.
    #[error("cannot encode the call: {0}")]
    Encode(String),
    /// The chain is empty, has no call in it, or the receiver would refuse to read it (or the
    /// continuation, filled with its result): see `OperationChain::validate`.
    #[error("invalid chain: {0}")]
    InvalidChain(String),
}

impl CallError {
    /// [`CallError::Encode`] when the codec cannot encode it, [`CallError::InvalidChain`] when
    /// the receiver would refuse to read it.
    fn from_chain(e: crate::ocan::ChainError) -> CallError {
        match e {
            crate::ocan::ChainError::Codec(c) => CallError::Encode(c.to_string()),
            other => CallError::InvalidChain(other.to_string()),
        }
    }
}

/// The pieces a host assembles into a [`Ctx`].
pub struct CtxParts<'a> {
    /// The object's storage ([`crate::storage::NoStorage`] for workers).
    pub storage: &'a dyn Storage,
    /// The object's alarm slot ([`crate::alarms::NoAlarmSlot`] for workers).
    pub slot: &'a dyn AlarmSlot,
    /// Where `call_raw` checks its targets.
    pub transport: &'a dyn Transport,
    /// "Now" for this whole turn.
    pub now_ms: i64,
    /// The handler's own address.
    pub me: Address,
    /// Backend-specific extras (the native runtime puts a handle here for `spawn`).
    pub ext: Option<&'a dyn Any>,
}

/// A handler's context for one turn. All methods take `&self`: a context is shared by the
/// handler and any chain it runs re-entrantly.
///
/// Everything a handler does through it belongs to the turn: its SQL and key-value writes and
/// its schedules commit together when the handler returns `Ok`, and its calls are sent only
/// then; an error or a panic undoes all of it.
///
/// ```
/// use lumenize_core::prelude::*;
/// use lumenize_core::transport::Address;
/// use std::time::Duration;
///
/// #[derive(Default)]
/// struct Desk;
///
/// #[lumenize_core::dispatch]
/// impl Desk {
///     pub fn note(&mut self, ctx: &Ctx<'_>, text: String) -> Result<f64, lumenize_core::Error> {
///         ctx.sql().exec_batch("CREATE TABLE IF NOT EXISTS notes (text TEXT)")?;
///         ctx.sql().exec("INSERT INTO notes VALUES (?1)", &[text.clone().into()])?;
///         let n = ctx.kv().get_as::<f64>("count")?.unwrap_or(0.0) + 1.0;
///         ctx.kv().put_as("count", &n)?;
///         // Runs `seen(text)` on this desk in a minute (a durable schedule).
///         ctx.alarms().schedule(Duration::from_secs(60), Desk::ctn().seen(text.clone()))?;
///         // Asks the echo desk; its answer comes back to `answered` as a new turn.
///         let echo = Address::object("DESK", "echo");
///         ctx.call(&echo, "seen", vec![text.into()], Some(&Desk::ctn().answered(ResultMarker)))?;
///         Ok(n)
///     }
///     pub fn seen(&mut self, _ctx: &Ctx<'_>, text: String) -> Result<String, lumenize_core::Error> {
///         Ok(text)
///     }
///     pub fn answered(&mut self, ctx: &Ctx<'_>, answer: Value) -> Result<(), lumenize_core::Error> {
///         ctx.kv().put("answer", &answer)?;
///         Ok(())
///     }
/// }
///
/// let rt = Runtime::builder().in_memory().object("DESK", |_| Desk).build().unwrap();
/// let desk = rt.object("DESK", "mine");
/// assert_eq!(desk.call(&Desk::ctn().note("milk".to_string())).unwrap().as_f64(), Some(1.0));
/// rt.settle(Duration::from_secs(5)).unwrap().check().unwrap();
/// let answer = desk.run(|_, ctx| Ok(ctx.kv().get_as::<String>("answer").unwrap()));
/// assert_eq!(answer.unwrap().as_deref(), Some("milk"));
/// ```
pub struct Ctx<'a> {
    parts: CtxParts<'a>,
    outbox: RefCell<Vec<Outgoing>>,
    effects: RefCell<Vec<Effect>>,
    alarms: TurnAlarms,
    late_outcomes: Cell<u64>,
    /// How many handler methods are running on this context (nested chains included): the
    /// host's own steps ([`alarms::fire`](crate::alarms::fire)) refuse to run inside one.
    in_handler: Cell<u32>,
}

thread_local! {
    static CURRENT: Cell<*const ()> = const { Cell::new(std::ptr::null()) };
}

/// Runs `f` with the context of the handler running on this thread, if any.
pub fn with_current<R>(f: impl FnOnce(&Ctx<'_>) -> R) -> Option<R> {
    let ptr = CURRENT.with(Cell::get);
    if ptr.is_null() {
        return None;
    }
    // SAFETY: the pointer is set only by `Ctx::enter`, which keeps the `Ctx` borrowed for the
    // whole time it is installed and restores the previous value (also on unwind) before the
    // borrow ends. The thread-local makes it visible to this thread only, and `Ctx` is only
    // handed out as a shared reference.
    let ctx = unsafe { &*(ptr as *const Ctx<'_>) };
    Some(f(ctx))
}

/// See [`Ctx::handler_running`]: ends the mark on drop (also on unwind).
pub(crate) struct HandlerRunning<'c>(&'c Cell<u32>);

impl Drop for HandlerRunning<'_> {
    fn drop(&mut self) {
        self.0.set(self.0.get().saturating_sub(1));
    }
}

struct Restore(*const ());
impl Drop for Restore {
    fn drop(&mut self) {
        let prev = self.0;
        CURRENT.with(|c| c.set(prev));
    }
}

impl<'a> Ctx<'a> {
    /// A context from its parts, with an empty outbox.
    pub fn new(parts: CtxParts<'a>) -> Ctx<'a> {
        Ctx {
            parts,
            outbox: RefCell::new(Vec::new()),
            effects: RefCell::new(Vec::new()),
            alarms: TurnAlarms::default(),
            late_outcomes: Cell::new(0),
            in_handler: Cell::new(0),
        }
    }

    /// Marks a handler method as running on this context until the guard drops (chain
    /// execution calls every object method through this).
    pub(crate) fn handler_running(&self) -> HandlerRunning<'_> {
        self.in_handler.set(self.in_handler.get().saturating_add(1));
        HandlerRunning(&self.in_handler)
    }

    /// Whether a handler method is running on this context.
    pub(crate) fn in_handler(&self) -> bool {
        self.in_handler.get() > 0
    }

    /// Runs `f` with this context installed as the thread's current one.
    pub fn enter<R>(&self, f: impl FnOnce() -> R) -> R {
        let prev = CURRENT.with(|c| c.replace(self as *const Ctx<'a> as *const ()));
        let _restore = Restore(prev);
        f()
    }

    /// SQL storage.
    pub fn sql(&self) -> &'a dyn Storage {
        self.parts.storage
    }

    /// Key-value storage (values are structured-clone [`Value`]s).
    pub fn kv(&self) -> Kv<'a> {
        Kv::new(self.parts.storage)
    }

    /// The alarms service: many schedules on the object's one alarm.
    pub fn alarms(&self) -> Alarms<'_> {
        Alarms::new(
            self.parts.storage,
            self.parts.slot,
            self.parts.now_ms,
            &self.alarms,
        )
    }

    /// The alarm slot, for [`Alarms`] and the host's alarm steps only. Not public: the slot is
    /// derived from the schedules (the earliest pending one's time), and a handler that armed
    /// it by hand, or edited the schedule order behind it, would part the two: a schedule
    /// already due would not fire until the runtime restarted. Handlers schedule and cancel
    /// through [`Ctx::alarms`], which keeps them together.
    pub(crate) fn slot(&self) -> &'a dyn AlarmSlot {
        self.parts.slot
    }

    /// "Now" in ms since the epoch, frozen for the whole turn.
    pub fn now_ms(&self) -> i64 {
        self.parts.now_ms
    }

    /// This handler's own address.
    pub fn me(&self) -> &Address {
        &self.parts.me
    }

    /// The object id (`None` for workers).
    pub fn id(&self) -> Option<&str> {
        self.parts.me.id()
    }

    /// The object name, when it was addressed by name.
    pub fn name(&self) -> Option<&str> {
        self.parts.me.name()
    }

    /// Backend-specific extras.
    pub fn ext(&self) -> Option<&'a dyn Any> {
        self.parts.ext
    }

    /// Sends `chain` to `to`, fire-and-forget. With a `continuation`, the outcome comes back
    /// later as a new turn on this object (or worker) running the continuation with its
    /// `$result` marker replaced by the result, or by an `Error` value when the call failed.
    ///
    /// The message is queued and sent only after this handler's transaction commits; if the
    /// handler fails, it is dropped. An unknown target, or a chain or continuation the receiver
    /// would refuse to read ([`OperationChain::validate`],
    /// [`OperationChain::validate_continuation`]), fails at once.
    pub fn call_raw(
        &self,
        to: &Address,
        chain: &OperationChain,
        continuation: Option<&Continuation>,
    ) -> Result<(), CallError> {
        if chain.method_path().is_none() {
            return Err(CallError::InvalidChain(
                "the chain calls nothing (build it with ctn().call(..))".into(),
            ));
        }
        if !self.parts.transport.knows(to) {
            return Err(CallError::UnknownTarget(to.clone()));
        }
        if let Some(why) = continuation.and_then(|c| self.alarms.unknown_method(c)) {
            return Err(CallError::InvalidChain(why));
        }
        // Both are checked as their reader will check them (`OperationChain::validate`), so
        // nothing is sent that the receiver would refuse.
        let text = chain.stringify().map_err(CallError::from_chain)?;
        let reply = match continuation {
            Some(c) => Some(ReplyTo {
                to: self.parts.me.clone(),
                continuation: c.stringify_continuation().map_err(CallError::from_chain)?,
            }),
            None => None,
        };
        self.outbox.borrow_mut().push(Outgoing {
            from: self.parts.me.clone(),
            to: to.clone(),
            chain: text,
            reply,
        });
        Ok(())
    }

    /// Shorthand for `call_raw(to, &ctn().call(method, args), continuation)`.
    pub fn call(
        &self,
        to: &Address,
        method: &str,
        args: Vec<Value>,
        continuation: Option<&Continuation>,
    ) -> Result<(), CallError> {
        self.call_raw(to, &crate::ocan::ctn().call(method, args), continuation)
    }

    /// Queues an already-encoded message (hosts and executors that relay wire text).
    pub fn push_outgoing(&self, msg: Outgoing) {
        self.outbox.borrow_mut().push(msg);
    }

    /// Takes the queued messages (hosts call this after commit).
    pub fn take_outbox(&self) -> Vec<Outgoing> {
        std::mem::take(&mut *self.outbox.borrow_mut())
    }

    /// Drops the queued messages and effects (hosts call this on rollback).
    pub fn discard_outbox(&self) {
        self.outbox.borrow_mut().clear();
        self.effects.borrow_mut().clear();
    }

    /// Queues `effect` for the host to perform once this turn has committed, and never if it
    /// rolls back, exactly like a message in the outbox. Backends use it for their own
    /// after-commit work (natively, a direct fetch's exchange); handlers call the APIs built
    /// on it rather than this.
    ///
    /// ```
    /// use lumenize_core::context::{Ctx, Effect};
    /// fn queue(ctx: &Ctx<'_>) {
    ///     ctx.after_commit(Effect::new("the host's own work"));
    /// }
    /// ```
    pub fn after_commit(&self, effect: Effect) {
        self.effects.borrow_mut().push(effect);
    }

    /// Takes the queued effects (the turn engine calls this when the turn committed).
    pub fn take_effects(&self) -> Vec<Effect> {
        std::mem::take(&mut *self.effects.borrow_mut())
    }

    /// Emits `line` as an `INFO` `tracing` event with this handler's address. Contexts no
    /// longer keep lines for the host to collect.
    #[deprecated(note = "emit a `tracing` event (with structured fields) instead")]
    pub fn log(&self, line: impl Into<String>) {
        tracing::info!(address = %self.parts.me, "{}", line.into());
    }

    /// Counts an outcome that arrived after the other path of a race had won (the caller
    /// emits its `tracing` event); the native host adds these to its counters.
    pub(crate) fn count_late_outcome(&self) {
        self.late_outcomes.set(self.late_outcomes.get() + 1);
    }

    /// Takes the count of [`count_late_outcome`](Self::count_late_outcome).
    #[cfg_attr(not(feature = "native"), allow(dead_code))]
    pub(crate) fn take_late_outcomes(&self) -> u64 {
        self.late_outcomes.replace(0)
    }

    pub(crate) fn fired(&self) -> &RefCell<Option<ScheduleRow>> {
        self.alarms.fired()
    }

    /// Tells the context which object runs in it (its type name and
    /// [`method_names`](crate::ocan::Dispatch::method_names)), so that continuations this
    /// object will run later are checked when they are written. Hosts call it once the
    /// instance exists; without it nothing is checked.
    pub(crate) fn set_object_methods(
        &self,
        type_name: &'static str,
        names: Option<&'static [&'static str]>,
    ) {
        self.alarms.set_methods(type_name, names);
    }

    /// Why `continuation`, run later on this object, would fail at once: it names a method
    /// the object does not have (see [`set_object_methods`](Self::set_object_methods)).
    pub(crate) fn unknown_own_method(&self, continuation: &Continuation) -> Option<String> {
        self.alarms.unknown_method(continuation)
    }
}

/// Work a backend performs after a turn commits and never if it rolls back (see
/// [`Ctx::after_commit`]). The turn engine only keeps or drops it with its turn; what it is
/// belongs to the backend that queued it, which takes it back with [`Effect::downcast`].
///
/// ```
/// use lumenize_core::context::Effect;
/// let e = Effect::new(42u32);
/// let e = e.downcast::<String>().unwrap_err(); // not a String: handed back
/// assert_eq!(e.downcast::<u32>().ok(), Some(42));
/// ```
pub struct Effect(Box<dyn Any + Send>);

impl Effect {
    /// Wraps a backend's value.
    pub fn new<T: Any + Send>(value: T) -> Effect {
        Effect(Box::new(value))
    }

    /// The value, when it is a `T`; otherwise the effect back.
    pub fn downcast<T: Any>(self) -> Result<T, Effect> {
        self.0.downcast::<T>().map(|b| *b).map_err(Effect)
    }
}

impl std::fmt::Debug for Effect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Effect(..)")
    }
}

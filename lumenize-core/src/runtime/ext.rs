//! The native extras a handler reaches through `Ctx::ext`: [`NativeExt`] (spawn async work,
//! send later, hold the object awake), [`MessageSender`] and [`AwakeGuard`].

use super::accounting::CpuCharged;
use super::protocol::{KeepAwake, Msg, Router, RuntimeError};
use super::shared::Shared;
use crate::context::{Ctx, Effect};
use crate::transport::{Address, Delivery, Outgoing, ReplyTo};
use std::sync::Arc;

/// Native extras reachable from a handler's [`Ctx`]: spawn async work, send messages later,
/// hold the object awake. Get it with [`NativeExt::of`].
#[derive(Clone)]
pub struct NativeExt {
    shared: Arc<Shared>,
    me: Address,
}

impl NativeExt {
    /// The extras of `me` (hosts and workers build one per turn).
    pub(crate) fn new(shared: Arc<Shared>, me: Address) -> NativeExt {
        NativeExt { shared, me }
    }
}

impl NativeExt {
    /// The native extras of `ctx`, when it runs in the native runtime.
    pub fn of<'c>(ctx: &Ctx<'c>) -> Option<&'c NativeExt> {
        ctx.ext()?.downcast_ref::<NativeExt>()
    }

    /// Runs `fut` on the runtime (like `ctx.waitUntil`). [`Runtime::settle`](super::Runtime::settle) waits for it.
    /// The thread CPU time of its polls is charged to this address's
    /// [`Accounting::cpu`](super::Accounting::cpu).
    pub fn spawn<F: std::future::Future<Output = ()> + Send + 'static>(&self, fut: F) {
        let shared = self.shared.clone();
        shared.work_begin();
        let (charged_to, who) = (shared.clone(), self.me.clone());
        let charged = CpuCharged {
            fut: Box::pin(fut),
            charge: move |cpu| charged_to.account(&who, |a| a.totals.cpu += cpu),
        };
        self.shared.handle.spawn(async move {
            charged.await;
            shared.work_end();
        });
    }

    /// Runs `fut` on the runtime once the turn of `ctx` has committed, and never if it rolls
    /// back (in a group: if its own message rolls back), like a message it sends. Use it for
    /// work with effects outside the object, such as a request: [`spawn`](Self::spawn) starts
    /// at once, even if the turn then fails.
    ///
    /// ```
    /// use lumenize_core::prelude::*;
    /// use lumenize_core::runtime::NativeExt;
    /// fn notify(ctx: &Ctx<'_>) -> Result<(), String> {
    ///     let ext = NativeExt::of(ctx).ok_or("not the native runtime")?;
    ///     ext.spawn_after_commit(ctx, async { /* talk to the outside world */ });
    ///     Ok(())
    /// }
    /// ```
    pub fn spawn_after_commit<F: std::future::Future<Output = ()> + Send + 'static>(
        &self,
        ctx: &Ctx<'_>,
        fut: F,
    ) {
        ctx.after_commit(Effect::new(Deferred {
            ext: self.clone(),
            fut: Box::pin(fut),
        }));
    }

    /// A handle that sends messages as this address at any later time (from async work). No
    /// output gate applies: the sending turn has long committed.
    pub fn sender(&self) -> MessageSender {
        MessageSender {
            shared: self.shared.clone(),
            me: self.me.clone(),
        }
    }

    /// Keeps this address accounted as awake until the guard drops (an object awaiting a
    /// direct fetch is not hibernateable, so Cloudflare bills the wait). The runtime does not
    /// close an object held awake, whatever its idle time.
    pub fn hold_awake(&self) -> AwakeGuard {
        self.shared.awake_enter(&self.me);
        AwakeGuard {
            shared: self.shared.clone(),
            me: self.me.clone(),
        }
    }

    /// The tokio runtime handle.
    pub fn tokio(&self) -> tokio::runtime::Handle {
        self.shared.handle.clone()
    }

    /// The runtime's clock, in ms.
    pub fn now_ms(&self) -> i64 {
        self.shared.now_ms()
    }
}

/// Sends wire-level messages as one address. `Send + Clone`: move it into async work.
#[derive(Clone)]
pub struct MessageSender {
    shared: Arc<Shared>,
    me: Address,
}

impl MessageSender {
    /// The address messages are sent as.
    pub fn me(&self) -> &Address {
        &self.me
    }

    /// Sends `chain` (wire text) to `to`, with an optional continuation to reply to. Fails at
    /// once when `to` or the reply address is not a known address, or when `to`'s mailbox is
    /// full ([`RuntimeError::Overloaded`]; nothing was sent).
    pub fn call_raw_wire(
        &self,
        to: &Address,
        chain: String,
        reply: Option<ReplyTo>,
    ) -> Result<(), RuntimeError> {
        self.shared.check_address(to)?;
        if let Some(r) = &reply {
            self.shared.check_address(&r.to)?;
        }
        self.shared
            .route_outgoing(Outgoing {
                from: self.me.clone(),
                to: to.clone(),
                chain,
                reply,
            })
            .map_err(|(r, _)| r.err)
    }

    /// Runs `chain` (wire text) on this very address as the rest of the invocation that
    /// spawned the async work, like the code after an `await` in a Durable Object: one more
    /// turn, but not a new request (Cloudflare bills an awaited `fetch()` inside the request
    /// that made it), not a message sent, no hop latency. Pass the invocation's
    /// [`AwakeGuard`] to keep the address awake until that turn has run.
    pub fn resume_wire(
        &self,
        chain: String,
        awake: Option<AwakeGuard>,
    ) -> Result<(), RuntimeError> {
        self.shared
            .deliver_now(
                &self.me,
                Msg::Resume {
                    chain,
                    awake: awake.map(|g| Box::new(g) as KeepAwake),
                },
            )
            .map_err(|r| r.err)
    }

    /// Delivers an outcome to a continuation (what a callee does after a call). Fails, like
    /// every other way of sending, when `delivery.to` is not a known address or its mailbox
    /// is full.
    pub fn deliver(&self, delivery: Delivery) -> Result<(), RuntimeError> {
        self.shared
            .route_delivery(&self.me, delivery)
            .map_err(|r| r.err)
    }
}

/// Accounts its holder as awake while alive. See [`NativeExt::hold_awake`].
pub struct AwakeGuard {
    shared: Arc<Shared>,
    me: Address,
}

impl Drop for AwakeGuard {
    fn drop(&mut self) {
        self.shared.awake_exit(&self.me);
        // An object that was held awake while idle may close now.
        self.shared.wake_object(&self.me);
    }
}

/// Work queued by [`NativeExt::spawn_after_commit`], waiting for its turn's commit.
struct Deferred {
    ext: NativeExt,
    fut: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
}

/// Starts the committed turns' effects (after their outbox was sent). The native runtime only
/// queues [`Deferred`] work; anything else came from another backend's code and is dropped
/// with a warning.
pub(crate) fn start_effects(effects: Vec<Effect>) {
    for effect in effects {
        match effect.downcast::<Deferred>() {
            Ok(d) => d.ext.spawn(d.fut),
            Err(_) => tracing::warn!("an effect the native runtime does not know was dropped"),
        }
    }
}

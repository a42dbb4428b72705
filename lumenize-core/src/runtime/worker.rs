//! Workers and RPC targets: stateless, concurrent. Every message gets a fresh instance and
//! runs as its own tokio task (no storage, no alarm, no transaction; outgoing messages are
//! still sent only if the handler succeeds).

use super::accounting::thread_cpu;
use super::counters::Kind;
use super::ext::NativeExt;
use super::protocol::{Msg, Refused, Reply, Router, RuntimeError};
use super::shared::Shared;
use crate::alarms::NoAlarmSlot;
use crate::context::{Ctx, CtxParts};
use crate::ocan::run_continuation;
use crate::ocan::{execute_chain, ChainError, OperationChain};
use crate::storage::NoStorage;
use crate::structured_clone;
use crate::transport::Address;
use crate::turn::panic_message;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Runs `m` on a fresh instance of the worker or RPC target at `to`, in a new task. Refuses
/// when the binding already has its mailbox capacity of messages in flight.
pub(crate) fn spawn_turn(shared: Arc<Shared>, to: Address, m: Msg) -> Result<(), Box<Refused>> {
    let Some(wt) = shared.workers.get(to.binding()) else {
        return Err(Refused::new(m, RuntimeError::UnknownTarget(to)));
    };
    let capacity = shared.limits.bound_for(&m);
    if wt.inflight.fetch_add(1, Ordering::SeqCst) >= capacity {
        wt.inflight.fetch_sub(1, Ordering::SeqCst);
        return Err(Refused::new(m, RuntimeError::Overloaded { to, capacity }));
    }
    shared.work_begin();
    let handle = shared.handle.clone();
    handle.spawn(async move {
        run(&shared, &to, m);
        if let Some(wt) = shared.workers.get(to.binding()) {
            wt.inflight.fetch_sub(1, Ordering::SeqCst);
        }
        shared.work_end();
    });
    Ok(())
}

fn run(shared: &Arc<Shared>, me: &Address, m: Msg) {
    let Some(wt) = shared.workers.get(me.binding()) else {
        tracing::warn!(address = %me, "no worker or RPC target under this binding");
        shared.count(Kind::UnknownTarget);
        shared.refuse(me, m, RuntimeError::UnknownTarget(me.clone()));
        return;
    };
    // A resumed invocation is part of the request that spawned its async work.
    if !matches!(m, Msg::Resume { .. }) {
        shared.account(me, |a| a.totals.requests += 1);
    }
    shared.awake_enter(me);
    let cpu0 = thread_cpu();
    let ext = NativeExt::new(shared.clone(), me.clone());
    let transport = shared.clone();
    let ctx = Ctx::new(CtxParts {
        storage: &NoStorage,
        slot: &NoAlarmSlot,
        transport: &transport,
        now_ms: shared.now_ms(),
        me: me.clone(),
        ext: Some(&ext),
    });
    let factory = wt.factory.clone();
    // Keep the reply channel outside the unwind boundary, so a panicking handler still
    // answers its caller (with `Panicked`) instead of dropping the channel.
    let mut _resumed_awake = None;
    let (work, reply) = match m {
        Msg::Call { chain, reply } => (Ok(chain), Some(reply)),
        Msg::Resume { chain, awake } => {
            // Dropped at the end of this function, after the turn's own awake time.
            _resumed_awake = awake;
            (Ok(chain), Some(Reply::None))
        }
        Msg::Deliver {
            continuation,
            outcome,
        } => (Err((continuation, outcome)), None),
        other => {
            shared.refuse(
                me,
                other,
                RuntimeError::Chain(ChainError::NotCallable {
                    index: 0,
                    message: "workers have no alarms or storage turns".into(),
                }),
            );
            shared.awake_exit(me);
            return;
        }
    };
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        ctx.enter(|| {
            let mut instance = factory(&ctx);
            match &work {
                Ok(chain) => Some(
                    OperationChain::parse(chain)
                        .and_then(|c| execute_chain(&mut *instance, &ctx, &c))
                        .and_then(|v| structured_clone::stringify(&v).map_err(ChainError::Codec)),
                ),
                Err((continuation, outcome)) => {
                    if let Err(e) = run_continuation(&mut *instance, &ctx, continuation, outcome) {
                        ctx.discard_outbox();
                        tracing::warn!(address = %me, error = %e, "continuation failed");
                        shared.count(Kind::FailedContinuation);
                    }
                    None
                }
            }
        })
    }));
    // Free the cycles of what the turn decoded (issue 14 item 3; structured_clone/cycles.rs).
    structured_clone::collect_cycles();
    let cpu = thread_cpu().saturating_sub(cpu0);
    let result = match outcome {
        Ok(result) => result,
        Err(p) => {
            let message = panic_message(&p);
            tracing::error!(address = %me, panic = %message, "handler panicked");
            shared.count(Kind::Panic);
            ctx.discard_outbox();
            reply
                .is_some()
                .then_some(Err(ChainError::Panicked { message }))
        }
    };
    let failed = result.as_ref().is_some_and(|r| r.is_err());
    if failed {
        ctx.discard_outbox();
    }
    shared
        .counters
        .add(Kind::LateOutcome, ctx.take_late_outcomes());
    for msg in ctx.take_outbox() {
        shared.send_outgoing(msg);
    }
    shared.account(me, |a| {
        a.totals.cpu += cpu;
        if failed {
            a.totals.failed_turns += 1;
        }
    });
    shared.awake_exit(me);
    if let (Some(result), Some(reply)) = (result, reply) {
        shared.reply(me, reply, result);
    }
}

//! Workers and RPC targets: stateless, concurrent. Every message gets a fresh instance and
//! runs as its own tokio task (no storage, no alarm, no transaction; outgoing messages are
//! still sent only if the handler succeeds).

use super::accounting::thread_cpu;
use super::counters::Kind;
use super::ext::NativeExt;
use super::failures::FailureKind;
use super::protocol::{Msg, Refused, Reply, Router, RuntimeError};
use super::shared::Shared;
use crate::context::Ctx;
use crate::ocan::{execute_chain, run_continuation, ChainError, Dispatch, OperationChain};
use crate::structured_clone;
use crate::transport::Address;
use crate::turn::{stateless_turn, Outputs, Turn, TurnEnv};
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
    let now = || shared.now_ms();
    let env = TurnEnv::new(&transport, &now).with_ext(&ext);
    let factory = wt.factory.clone();
    let factory = |ctx: &Ctx<'_>| -> Box<dyn Dispatch + Send> { factory(ctx) };
    let call = |chain: &str| {
        parts(stateless_turn(&env, me.clone(), &factory, |obj, ctx| {
            OperationChain::parse(chain)
                .and_then(|c| execute_chain(obj, ctx, &c))
                .and_then(|v| structured_clone::stringify(&v).map_err(ChainError::Codec))
        }))
    };
    // Dropped at the end of this function, after the turn's own awake time.
    let mut _resumed_awake = None;
    let (result, outputs, panicked, reply) = match m {
        Msg::Call { chain, reply } => {
            let (result, outputs, panicked) = call(&chain);
            (Some(result), outputs, panicked, Some(reply))
        }
        Msg::Resume { chain, awake } => {
            _resumed_awake = awake;
            let (result, outputs, panicked) = call(&chain);
            (Some(result), outputs, panicked, Some(Reply::None))
        }
        Msg::Deliver {
            continuation,
            outcome,
        } => {
            let (result, outputs, panicked) =
                parts(stateless_turn(&env, me.clone(), &factory, |obj, ctx| {
                    run_continuation(obj, ctx, &continuation, &outcome)
                }));
            if let (Err(e), false) = (&result, panicked) {
                tracing::warn!(address = %me, error = %e, "continuation failed");
                shared.fail(FailureKind::Continuation, me, e.to_string());
            }
            (None, outputs, panicked, None)
        }
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
    let cpu = thread_cpu().saturating_sub(cpu0);
    if panicked {
        if let Some(Err(ChainError::Panicked { message })) = &result {
            tracing::error!(address = %me, panic = %message, "handler panicked");
        } else {
            tracing::error!(address = %me, "handler panicked");
        }
        shared.count(Kind::Panic);
    }
    let mut outputs = outputs;
    shared
        .counters
        .add(Kind::LateOutcome, outputs.late_outcomes());
    for msg in outputs.take_outbox() {
        shared.send_outgoing(msg);
    }
    super::ext::start_effects(outputs.take_effects());
    shared.account(me, |a| {
        a.totals.cpu += cpu;
        a.totals.failed_turns += outputs.failed_turns();
    });
    shared.awake_exit(me);
    if let (Some(result), Some(reply)) = (result, reply) {
        shared.reply(me, reply, result);
    }
}

/// A turn's result, outputs, and whether it panicked.
fn parts<R>(turn: Turn<R>) -> (Result<R, ChainError>, Outputs, bool) {
    let panicked = turn.panicked();
    let (result, outputs) = turn.into_parts();
    (result, outputs, panicked)
}

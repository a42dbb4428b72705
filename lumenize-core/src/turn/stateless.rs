//! [`stateless_turn`]: the turn of a worker or RPC target, for every host.

use super::mutant::{active, Mutant};
use super::outputs::{Outputs, Turn};
use super::{panic_message, Factory, Instance, TurnEnv};
use crate::alarms::NoAlarmSlot;
use crate::context::{Ctx, CtxParts};
use crate::ocan::{ChainError, Dispatch};
use crate::storage::{NoStorage, RowStats};
use crate::structured_clone;
use crate::transport::Address;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// One turn of a stateless worker or RPC target at `me`: a fresh instance from `factory`, no
/// storage, no alarm, no transaction. The outbox is released only when `body` succeeds; a
/// panic is an error ([`ChainError::Panicked`], [`Turn::panicked`]).
///
/// ```
/// use lumenize_core::prelude::*;
/// use lumenize_core::transport::{Address, Transport};
/// use lumenize_core::turn::{stateless_turn, TurnEnv};
///
/// struct Doubler;
/// impl Doubler {
///     fn double(&mut self, _ctx: &Ctx<'_>, x: f64) -> Result<f64, String> { Ok(2.0 * x) }
/// }
/// lumenize_core::handlers!(Doubler { double(x: f64) });
/// struct Nowhere;
/// impl Transport for Nowhere {
///     fn knows(&self, _: &Address) -> bool { false }
/// }
///
/// let now = || 0;
/// let env = TurnEnv::new(&Nowhere, &now);
/// let factory = |_: &Ctx<'_>| -> Box<dyn Dispatch> { Box::new(Doubler) };
/// let chain = ctn().call("double", vec![Value::from(2.0)]);
/// let turn = stateless_turn(&env, Address::worker("DOUBLER"), &factory, |obj, ctx| {
///     lumenize_core::ocan::execute_chain(obj, ctx, &chain)
/// });
/// assert_eq!(turn.result().as_ref().unwrap().as_f64(), Some(4.0));
/// ```
pub fn stateless_turn<F: Factory, R>(
    env: &TurnEnv<'_>,
    me: Address,
    factory: &F,
    body: impl FnOnce(&mut dyn Dispatch, &Ctx<'_>) -> Result<R, ChainError>,
) -> Turn<R> {
    let ctx = Ctx::new(CtxParts {
        storage: &NoStorage,
        slot: &NoAlarmSlot,
        transport: env.transport,
        now_ms: env.now_ms(),
        me,
        ext: env.ext,
    });
    let run = catch_unwind(AssertUnwindSafe(|| {
        ctx.enter(|| {
            let mut instance = factory.construct(&ctx);
            body(instance.dispatch(), &ctx)
        })
    }));
    let (result, panicked) = match run {
        Ok(r) => (r, false),
        Err(p) => (
            Err(ChainError::Panicked {
                message: panic_message(&p),
            }),
            true,
        ),
    };
    let late = ctx.take_late_outcomes();
    let committed = result.is_ok().then(|| (ctx.take_outbox(), None));
    let leaked = (result.is_err() && active(Mutant::OutboxBeforeCommit)).then(|| ctx.take_outbox());
    let effects = if committed.is_some() {
        ctx.take_effects()
    } else {
        Vec::new()
    };
    drop(ctx);
    // Free the cycles of what the turn decoded (structured_clone/cycles.rs).
    structured_clone::collect_cycles();
    let mut outputs = Outputs::of_turn(committed, late, RowStats::default(), false);
    outputs.add_effects(effects);
    if let Some(outbox) = leaked {
        outputs.leak_outbox(outbox);
    }
    Turn::new(result, outputs, panicked)
}

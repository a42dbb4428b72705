//! A handler context outside any runtime, for tests that run chains directly: no storage, no
//! alarm slot, a transport that knows no address.

use lumenize_core::alarms::NoAlarmSlot;
use lumenize_core::context::{Ctx, CtxParts};
use lumenize_core::storage::NoStorage;
use lumenize_core::transport::{Address, Transport};

struct Nowhere;
impl Transport for Nowhere {
    fn knows(&self, _to: &Address) -> bool {
        false
    }
}

/// Runs `f` with a detached context entered (so `__execute_chain` finds it too).
pub fn with_ctx<R>(f: impl FnOnce(&Ctx<'_>) -> R) -> R {
    let ctx = Ctx::new(CtxParts {
        storage: &NoStorage,
        slot: &NoAlarmSlot,
        transport: &Nowhere,
        now_ms: 0,
        me: Address::worker("TEST"),
        ext: None,
    });
    ctx.enter(|| f(&ctx))
}

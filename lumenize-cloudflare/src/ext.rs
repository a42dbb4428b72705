//! [`CfExt`]: what a handler reaches of Cloudflare through `Ctx::ext`, as `NativeExt` is
//! natively: the Worker's [`Env`] (bindings, secrets, vars).

use lumenize_core::context::Ctx;
use worker::Env;

/// Cloudflare extras reachable from a handler's [`Ctx`] (objects hosted by
/// [`ObjectHost`](crate::ObjectHost) and workers served by [`Workers`](crate::Workers)): the
/// Worker's [`Env`], with its bindings (KV, R2, D1, queues, services, Durable Object
/// namespaces), secrets and vars. Get it with [`CfExt::of`]; it is `None` on other hosts, so
/// portable object code can fall back.
///
/// ```ignore
/// fn greeting(&mut self, ctx: &Ctx<'_>) -> Result<String, String> {
///     let cf = CfExt::of(ctx).ok_or("not running on Cloudflare")?;
///     cf.var("GREETING").ok_or_else(|| "GREETING is not set".to_string())
/// }
/// ```
///
/// Everything in the environment is reachable, the secret [`TOKEN_BINDING`] included: a
/// handler that hands secrets back to its caller gives them to whoever can send it a message.
///
/// [`TOKEN_BINDING`]: crate::envelope::TOKEN_BINDING
pub struct CfExt {
    env: Env,
    /// True for objects, whose host awaits direct fetches after the turn (a worker cannot).
    waits: bool,
}

impl CfExt {
    /// The extras of a worker invocation over `env`.
    pub(crate) fn new(env: Env) -> CfExt {
        CfExt { env, waits: false }
    }

    /// The extras of an object instance over `env`: its host awaits direct fetches.
    pub(crate) fn for_object(env: Env) -> CfExt {
        CfExt { env, waits: true }
    }

    /// True when the host awaits the direct fetches its turns queue (objects).
    pub(crate) fn waits(&self) -> bool {
        self.waits
    }

    /// The Cloudflare extras of `ctx`, when it runs on the Cloudflare backend.
    pub fn of<'c>(ctx: &Ctx<'c>) -> Option<&'c CfExt> {
        ctx.ext()?.downcast_ref::<CfExt>()
    }

    /// The Worker's environment: every binding, with workers-rs's typed accessors
    /// (`env.kv("…")`, `env.d1("…")`, `env.durable_object("…")`, `env.service("…")`...).
    pub fn env(&self) -> &Env {
        &self.env
    }

    /// The text of var `name` (`[vars]` in `wrangler.toml`, a `text` binding in workerd), if
    /// set. The runtime cannot tell a var from a secret: this reads either.
    pub fn var(&self, name: &str) -> Option<String> {
        self.env.var(name).ok().map(|v| v.to_string())
    }

    /// The text of secret `name` (`wrangler secret put`), if set.
    pub fn secret(&self, name: &str) -> Option<String> {
        self.env.secret(name).ok().map(|v| v.to_string())
    }
}

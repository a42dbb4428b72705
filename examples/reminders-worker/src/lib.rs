//! Example: a reminders desk with a proxied fetch, written once against `lumenize-core` and
//! run on two backends.
//!
//! - [`desk`](mod@desk) is the object: reminders on the multiplexed alarms (schedule, cancel
//!   returning the schedule) and `proxy_fetch_simple` with a continuation.
//! - On `wasm32`, this crate is also a Cloudflare Worker (module `cloudflare`): a Durable
//!   Object class `DeskObject` hosting the desk, and a worker serving the fetch executor. See
//!   the README's "Cloudflare" section to build it with `worker-build`, run it in `workerd`
//!   and deploy it with wrangler.
//! - Natively, register [`desk::desk`] with `lumenize_core::runtime::Runtime::builder()`.
#![warn(missing_docs)]

pub mod desk;

#[cfg(target_arch = "wasm32")]
mod cloudflare {
    //! The Cloudflare entry points. Everything lumenize-specific is one line each.

    use lumenize_cloudflare::{CfExt, ObjectHost, Workers};
    use lumenize_core::context::Ctx;
    use lumenize_core::fetch::{FetchPolicy, EXECUTOR_BINDING};
    use worker::*;

    use crate::desk::{desk, DESK_BINDING};

    /// The desk as a Durable Object class (bound as `DESK`).
    #[durable_object]
    pub struct DeskObject(ObjectHost);

    impl DurableObject for DeskObject {
        fn new(state: State, env: Env) -> Self {
            DeskObject(ObjectHost::new(state, env, DESK_BINDING, desk))
        }

        async fn fetch(&self, req: Request) -> Result<Response> {
            self.0.fetch(req).await
        }

        async fn alarm(&self) -> Result<Response> {
            self.0.alarm().await
        }
    }

    /// A stateless worker (served as `SETTINGS`): like the desk's `settings`, its handler
    /// reads the Worker's `Env` through `CfExt`.
    struct Settings;

    impl Settings {
        fn greeting(&mut self, ctx: &Ctx<'_>) -> std::result::Result<String, String> {
            let cf = CfExt::of(ctx).ok_or("not running on Cloudflare")?;
            cf.var("GREETING")
                .ok_or_else(|| "GREETING is not set".to_string())
        }
    }

    lumenize_core::handlers!(Settings { greeting() });

    /// Set to `"1"` only in local configurations (the workerd config of the tests): lets the
    /// fetch executor reach loopback, where a local test server listens. Deployed, the
    /// executor reaches public addresses only.
    const ALLOW_LOCAL_FETCH: &str = "ALLOW_LOCAL_FETCH";

    #[event(fetch)]
    async fn main(req: Request, env: Env, ctx: Context) -> Result<Response> {
        let local = env
            .var(ALLOW_LOCAL_FETCH)
            .is_ok_and(|v| v.to_string() == "1");
        let policy = if local {
            FetchPolicy::default().allow_loopback()
        } else {
            FetchPolicy::default()
        };
        let workers = Workers::new()
            .fetch_executor_with_policy(EXECUTOR_BINDING, policy)
            .worker("SETTINGS", |_| Settings);
        match workers.serve(req, env, ctx).await? {
            Ok(answered) => Ok(answered),
            Err(req) if req.path() == "/health" => Response::ok("ok"),
            Err(_) => Response::error("not found", 404),
        }
    }
}

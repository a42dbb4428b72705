//! Example: a reminders desk with a proxied fetch, written once against `lumenize-core` and
//! run on two backends.
//!
//! - [`desk`](mod@desk) is the object: reminders on the multiplexed alarms (schedule, cancel
//!   returning the schedule) and `proxy_fetch_simple` with a continuation.
//! - On `wasm32`, this crate is also a Cloudflare Worker (module `cloudflare`): a Durable
//!   Object class `DeskObject` hosting the desk, a class `OrchestratorObject` hosting the
//!   orchestrated design's `FetchOrchestrator`, and a worker serving the fetch executor. See
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
    use lumenize_core::fetch::{
        FetchOrchestrator, FetchPolicy, EXECUTOR_BINDING, ORCHESTRATOR_BINDING,
    };
    use worker::*;

    use crate::desk::{desk, DESK_BINDING};

    /// The desk as a Durable Object class (bound as `DESK`).
    #[durable_object]
    pub struct DeskObject(ObjectHost);

    impl DurableObject for DeskObject {
        fn new(state: State, env: Env) -> Self {
            let policy = local_policy(&env);
            DeskObject(ObjectHost::new(state, env, DESK_BINDING, move |ctx| {
                desk(ctx).with_direct_policy(policy.clone())
            }))
        }

        async fn fetch(&self, req: Request) -> Result<Response> {
            self.0.fetch(req).await
        }

        async fn alarm(&self) -> Result<Response> {
            self.0.alarm().await
        }
    }

    /// The orchestrated design's orchestrator (bound as `FETCH_ORCHESTRATOR`, the object
    /// `proxy_fetch` calls): the core's `FetchOrchestrator`, with an alarm per request.
    #[durable_object]
    pub struct OrchestratorObject(ObjectHost);

    impl DurableObject for OrchestratorObject {
        fn new(state: State, env: Env) -> Self {
            OrchestratorObject(ObjectHost::new(state, env, ORCHESTRATOR_BINDING, |_| {
                FetchOrchestrator
            }))
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
    /// fetch executor and the desk's direct fetches reach loopback, where a local test server
    /// listens. Deployed, they reach public addresses only.
    const ALLOW_LOCAL_FETCH: &str = "ALLOW_LOCAL_FETCH";

    /// The fetch policy this deployment's configuration allows.
    fn local_policy(env: &Env) -> FetchPolicy {
        let local = env
            .var(ALLOW_LOCAL_FETCH)
            .is_ok_and(|v| v.to_string() == "1");
        if local {
            FetchPolicy::default().allow_loopback()
        } else {
            FetchPolicy::default()
        }
    }

    #[event(fetch)]
    async fn main(req: Request, env: Env, ctx: Context) -> Result<Response> {
        let policy = local_policy(&env);
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

//! [`CfTransport`]: where messages go on Cloudflare. Objects are reached through their
//! Durable Object namespace binding (by name when the address has one, else by Cloudflare id),
//! workers through service bindings; every message is an [`Envelope`] posted to
//! [`MESSAGE_PATH`] with the shared token.

use lumenize_core::transport::{Address, Transport};
use worker::{Env, Headers, Method, Request, RequestInit, Response};

use crate::envelope::{Answer, Envelope, Target, MESSAGE_PATH, TOKEN_BINDING, TOKEN_HEADER};
use crate::guard::{check_token, test_hooks_enabled, TEST_HOOKS_BINDING};

/// The transport of one invocation (it only needs the environment's bindings).
#[derive(Clone)]
pub struct CfTransport {
    env: Env,
}

impl CfTransport {
    /// The transport over `env`'s bindings.
    pub fn new(env: Env) -> CfTransport {
        CfTransport { env }
    }

    /// The token messages must carry: the secret [`TOKEN_BINDING`]. (The runtime shows
    /// secrets and `[vars]` alike, so a plaintext var cannot be told apart here: keep the
    /// token out of `[vars]`.)
    pub fn token(&self) -> Option<String> {
        self.env.secret(TOKEN_BINDING).map(|s| s.to_string()).ok()
    }

    /// Whether the test hooks are on ([`TEST_HOOKS_BINDING`]).
    pub(crate) fn test_hooks(&self) -> bool {
        let flag = self.env.var(TEST_HOOKS_BINDING).map(|v| v.to_string()).ok();
        test_hooks_enabled(flag.as_deref())
    }

    /// Posts `envelope` to its receiver and reads the answer.
    pub async fn send(&self, envelope: &Envelope) -> Result<Answer, String> {
        let token = self.token();
        // The same rules as for incoming messages: never send under a weak token.
        check_token(token.as_deref(), token.as_deref()).map_err(|e| e.to_string())?;
        let token = token.unwrap_or_default();
        let body = serde_json::to_string(envelope).map_err(|e| e.to_string())?;
        let headers = Headers::new();
        headers
            .set(TOKEN_HEADER, &token)
            .and_then(|()| headers.set("content-type", "application/json"))
            .map_err(|e| e.to_string())?;
        let mut init = RequestInit::new();
        init.with_method(Method::Post)
            .with_headers(headers)
            .with_body(Some(body.into()));
        let url = format!("https://lumenize.internal{MESSAGE_PATH}");
        let request = Request::new_with_init(&url, &init).map_err(|e| e.to_string())?;
        let mut response = self.post(envelope.to(), request).await?;
        let text = response.text().await.map_err(|e| e.to_string())?;
        if response.status_code() != 200 {
            return Err(format!(
                "{} answered HTTP {}: {text}",
                describe(envelope.to()),
                response.status_code()
            ));
        }
        serde_json::from_str(&text).map_err(|e| format!("unreadable answer ({e}): {text}"))
    }

    async fn post(&self, to: &Target, request: Request) -> Result<Response, String> {
        let err = |e: worker::Error| format!("{}: {e}", describe(to));
        match to {
            Target::Object { binding, id, name } => {
                let ns = self.env.durable_object(binding).map_err(err)?;
                let stub = match (name, id) {
                    (Some(n), _) => ns.get_by_name(n).map_err(err)?,
                    (None, Some(id)) => ns
                        .id_from_string(id)
                        .and_then(|i| i.get_stub())
                        .map_err(err)?,
                    (None, None) => return Err(format!("{}: no name and no id", describe(to))),
                };
                stub.fetch_with_request(request).await.map_err(err)
            }
            Target::Worker { binding } => self
                .env
                .service(binding)
                .map_err(err)?
                .fetch_request(request)
                .await
                .map_err(err),
            Target::RpcTarget { .. } => Err(format!(
                "{}: RPC targets are not offered on Cloudflare; register a worker",
                describe(to)
            )),
        }
    }
}

impl Transport for CfTransport {
    fn knows(&self, to: &Address) -> bool {
        match to {
            Address::Object { binding, .. } => self.env.durable_object(binding).is_ok(),
            Address::Worker { binding } => self.env.service(binding).is_ok(),
            Address::RpcTarget { .. } => false,
        }
    }
}

fn describe(t: &Target) -> String {
    match t {
        Target::Object {
            binding,
            name: Some(n),
            ..
        } => format!("object {binding}/{n}"),
        Target::Object { binding, id, .. } => {
            format!("object {binding}#{}", id.as_deref().unwrap_or("?"))
        }
        Target::Worker { binding } => format!("worker {binding}"),
        Target::RpcTarget { binding } => format!("rpc-target {binding}"),
    }
}

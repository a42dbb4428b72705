//! The messages Cloudflare hosts exchange, as JSON over `fetch` (a POST to [`MESSAGE_PATH`]
//! on a Durable Object stub or a service binding), and the answer to each.
//!
//! Portable on purpose: host-side tools and tests build the same envelopes to drive a
//! deployed (or local `workerd`) worker, so there is one definition of the protocol.
//!
//! Chains, continuations and outcomes stay structured-clone wire text inside the JSON, exactly
//! as the native runtime carries them; only the frame is JSON.

use lumenize_core::transport::Address;
use serde::{Deserialize, Serialize};

/// The path every host message is posted to.
pub const MESSAGE_PATH: &str = "/__lmz/msg";

/// The header carrying the shared secret (see [`TOKEN_BINDING`]).
pub const TOKEN_HEADER: &str = "x-lumenize-token";

/// The name of the secret (or variable) holding the token that every message must carry.
/// Without it a worker refuses all messages: its public URL must not run chains for anyone.
pub const TOKEN_BINDING: &str = "LUMENIZE_TOKEN";

/// An [`Address`] as JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Target {
    /// An object, by name (routed with `idFromName`) and/or by Cloudflare id.
    Object {
        /// Its binding (a Durable Object namespace binding).
        binding: String,
        /// Its id (Cloudflare's hex id), when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// Its name, when known; routing prefers it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    /// A worker, by service binding.
    Worker {
        /// The service binding.
        binding: String,
    },
    /// An RPC target (not offered by this backend; kept so every address has a form).
    RpcTarget {
        /// The binding.
        binding: String,
    },
}

impl From<&Address> for Target {
    fn from(a: &Address) -> Target {
        match a {
            Address::Object { binding, id, name } => Target::Object {
                binding: binding.clone(),
                id: Some(id.clone()),
                name: name.clone(),
            },
            Address::Worker { binding } => Target::Worker {
                binding: binding.clone(),
            },
            Address::RpcTarget { binding } => Target::RpcTarget {
                binding: binding.clone(),
            },
        }
    }
}

impl Target {
    /// The object named `name` under `binding`.
    pub fn object(binding: &str, name: &str) -> Target {
        Target::Object {
            binding: binding.to_string(),
            id: None,
            name: Some(name.to_string()),
        }
    }

    /// The binding.
    pub fn binding(&self) -> &str {
        match self {
            Target::Object { binding, .. }
            | Target::Worker { binding }
            | Target::RpcTarget { binding } => binding,
        }
    }
}

/// A message between hosts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Envelope {
    /// Run `chain` on `to`. The answer carries the result; with `reply`, the callee also sends
    /// it to the caller's continuation after its turn commits.
    Call {
        /// The receiver.
        to: Target,
        /// The chain, as wire text.
        chain: String,
        /// Where the outcome goes as well, if anywhere.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply: Option<ReplyTarget>,
    },
    /// Run `continuation` on `to` with its `$result` marker filled by `outcome`.
    Deliver {
        /// The caller that receives it.
        to: Target,
        /// The continuation, as wire text.
        continuation: String,
        /// The result (`ok`) or the error value (`err`), as wire text.
        outcome: Outcome,
    },
    /// Run up to `limit` pending schedules of `to` now, whatever their time (the Cloudflare
    /// form of the native runtime's `Stub::trigger_alarms`). A test hook: refused (403) unless
    /// the worker sets [`TEST_HOOKS_BINDING`](crate::guard::TEST_HOOKS_BINDING), and `limit` is
    /// lowered to [`MAX_TRIGGER`](crate::guard::MAX_TRIGGER).
    Trigger {
        /// The object.
        to: Target,
        /// Most schedules to run.
        limit: u32,
    },
}

impl Envelope {
    /// The receiver.
    pub fn to(&self) -> &Target {
        match self {
            Envelope::Call { to, .. }
            | Envelope::Deliver { to, .. }
            | Envelope::Trigger { to, .. } => to,
        }
    }
}

/// Where a callee sends the outcome of a call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReplyTarget {
    /// The caller.
    pub to: Target,
    /// The continuation, as wire text.
    pub continuation: String,
}

/// A result or an error, each as structured-clone wire text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The value.
    Ok(String),
    /// An `Error` value.
    Err(String),
}

impl From<Result<String, String>> for Outcome {
    fn from(r: Result<String, String>) -> Outcome {
        match r {
            Ok(t) => Outcome::Ok(t),
            Err(t) => Outcome::Err(t),
        }
    }
}

impl From<Outcome> for Result<String, String> {
    fn from(o: Outcome) -> Result<String, String> {
        match o {
            Outcome::Ok(t) => Ok(t),
            Outcome::Err(t) => Err(t),
        }
    }
}

/// The answer to a message (HTTP 200 whenever the message was processed, even when the chain
/// failed; any other status means it was not).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    /// For a call: the result or the error value. For a trigger: the ids that ran, as a JSON
    /// array in `ok`. For a delivery: `ok` with an empty string, or the error.
    pub outcome: Outcome,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_envelope_reads_back_as_written() {
        let e = Envelope::Call {
            to: Target::object("DESK", "alice"),
            chain: "{\"json\":1}".into(),
            reply: Some(ReplyTarget {
                to: Target::Worker {
                    binding: "W".into(),
                },
                continuation: "c".into(),
            }),
        };
        let text = serde_json::to_string(&e).unwrap();
        assert!(text.contains("\"type\":\"call\""), "{text}");
        assert!(text.contains("\"kind\":\"object\""), "{text}");
        assert_eq!(serde_json::from_str::<Envelope>(&text).unwrap(), e);
    }

    #[test]
    fn an_object_address_keeps_its_id_and_name() {
        let a = Address::object("DESK", "bob");
        match Target::from(&a) {
            Target::Object { binding, id, name } => {
                assert_eq!(binding, "DESK");
                assert_eq!(id.as_deref(), a.id());
                assert_eq!(name.as_deref(), Some("bob"));
            }
            other => panic!("{other:?}"),
        }
    }
}

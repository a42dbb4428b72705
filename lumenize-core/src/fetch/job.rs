//! [`Job`]: what an executor is asked to do, as it travels on the wire (one plain-object
//! argument of `executeFetch`) and as `Send` data inside the executor.

use std::time::Duration;

use super::limits::HttpLimits;
use super::message::FetchRequest;
use super::options::{EXECUTE_METHOD, RESULT_METHOD};
use crate::ocan::{ctn, result_marker, ChainError, OperationChain};
use crate::structured_clone::Value;
use crate::transport::Address;

/// Where the executor sends the outcome.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ReplyMode {
    /// Call [`RESULT_METHOD`]`(requestId, outcome)` on the origin (simple design).
    Simple,
    /// Run `continuation` (wire text) on the origin with the outcome, then report to the
    /// orchestrator (orchestrated baseline).
    Orchestrated {
        continuation: String,
        orchestrator: Address,
    },
}

/// One fetch to execute.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    pub request_id: String,
    /// The request value as given (decoded by the executor, so a malformed one becomes an
    /// outcome for the continuation rather than a lost message).
    pub request: Value,
    pub origin: Address,
    pub limits: HttpLimits,
    pub simulate_delivery_failure: bool,
    pub reply: ReplyMode,
}

/// A fetch an executor accepted, decoded from the `executeFetch(job)` call: what to fetch,
/// within which limits, and (through [`ExecutorJob::deliveries`]) which messages carry the
/// outcome back. `Send`, so it can move into the executor's async work.
///
/// Every executor (the native [`FetchExecutor`](super::FetchExecutor), a Cloudflare worker)
/// reads its job and builds its replies through this type, so all backends speak the same
/// protocol to the origin.
#[derive(Debug, Clone)]
pub struct ExecutorJob {
    /// The request id chosen by the origin (its timeout alarm is `fetch-{id}`).
    pub request_id: String,
    /// The decoded request, or why it could not be decoded (itself an outcome to deliver).
    pub request: Result<FetchRequest, super::FetchError>,
    /// The origin, addressed exactly as it addressed itself.
    pub origin: Address,
    /// Timeout and body cap of the HTTP exchange.
    pub limits: HttpLimits,
    /// Test mode: perform the fetch but deliver nothing.
    pub simulate_delivery_failure: bool,
    pub(crate) reply: ReplyMode,
}

impl ExecutorJob {
    /// Reads the job from an executor call: `method` must be
    /// [`EXECUTE_METHOD`](super::EXECUTE_METHOD) with one argument.
    pub fn from_call(
        target: &str,
        method: &str,
        args: &[Value],
    ) -> Result<ExecutorJob, ChainError> {
        if method != EXECUTE_METHOD {
            return Err(ChainError::UnknownMethod {
                target: target.to_string(),
                method: method.to_string(),
            });
        }
        match args {
            [job] => Ok(Job::from_value(job)?.into_send()),
            _ => Err(ChainError::WrongArgCount {
                method: method.to_string(),
                expected: 1,
                got: args.len(),
            }),
        }
    }

    /// The messages that deliver `outcome`, in order, as (destination, chain wire text): the
    /// result call to the origin, then (orchestrated design) the delivery report to the
    /// orchestrator. Empty in test mode `simulate_delivery_failure`.
    pub fn deliveries(
        &self,
        outcome: &Result<super::FetchResponse, super::FetchError>,
    ) -> Result<Vec<(Address, String)>, String> {
        if self.simulate_delivery_failure {
            return Ok(Vec::new());
        }
        let value = super::outcome_to_value(outcome);
        let text = |c: OperationChain| c.stringify().map_err(|e| e.to_string());
        match &self.reply {
            ReplyMode::Simple => Ok(vec![(
                self.origin.clone(),
                text(result_chain(&self.request_id, value))?,
            )]),
            ReplyMode::Orchestrated {
                continuation,
                orchestrator,
            } => {
                let resumed = OperationChain::parse(continuation)
                    .map_err(|e| e.to_string())?
                    .with_result(value);
                let report = ctn().call(
                    "reportDelivery",
                    vec![Value::from(self.request_id.as_str())],
                );
                Ok(vec![
                    (self.origin.clone(), text(resumed)?),
                    (orchestrator.clone(), text(report)?),
                ])
            }
        }
    }
}

impl Job {
    /// The chain that asks an executor to run this job.
    pub fn to_chain(&self) -> OperationChain {
        let mut props = vec![
            ("requestId", Value::from(self.request_id.as_str())),
            ("request", self.request.clone()),
            ("origin", address_to_value(&self.origin)),
            (
                "timeoutMs",
                Value::Number(self.limits.timeout.as_millis() as f64),
            ),
            (
                "maxBodyBytes",
                Value::Number(self.limits.max_body_bytes as f64),
            ),
            (
                "simulateDeliveryFailure",
                Value::Bool(self.simulate_delivery_failure),
            ),
        ];
        match &self.reply {
            ReplyMode::Simple => props.push(("reply", Value::from("simple"))),
            ReplyMode::Orchestrated {
                continuation,
                orchestrator,
            } => {
                props.push(("reply", Value::from("orchestrated")));
                props.push(("continuation", Value::from(continuation.as_str())));
                props.push(("orchestrator", address_to_value(orchestrator)));
            }
        }
        ctn().call(EXECUTE_METHOD, vec![Value::object(props)])
    }

    /// Reads the job argument back (executor side).
    pub fn from_value(v: &Value) -> Result<Job, ChainError> {
        let bad = |what: &str| ChainError::handler(format!("executeFetch: {what}"));
        let text = |k: &str| {
            v.get(k)
                .and_then(|x| x.as_str().map(String::from))
                .ok_or_else(|| bad(&format!("missing string `{k}`")))
        };
        let num = |k: &str| {
            v.get(k)
                .and_then(|x| x.as_f64())
                .filter(|n| *n >= 0.0 && n.is_finite())
                .ok_or_else(|| bad(&format!("missing non-negative number `{k}`")))
        };
        let addr = |k: &str| {
            v.get(k)
                .as_ref()
                .and_then(address_from_value)
                .ok_or_else(|| bad(&format!("missing address `{k}`")))
        };
        let reply = match text("reply")?.as_str() {
            "simple" => ReplyMode::Simple,
            "orchestrated" => ReplyMode::Orchestrated {
                continuation: text("continuation")?,
                orchestrator: addr("orchestrator")?,
            },
            other => return Err(bad(&format!("unknown reply mode {other:?}"))),
        };
        Ok(Job {
            request_id: text("requestId")?,
            request: v.get("request").unwrap_or_default(),
            origin: addr("origin")?,
            limits: HttpLimits {
                timeout: Duration::from_millis(num("timeoutMs")? as u64),
                max_body_bytes: num("maxBodyBytes")? as u64,
            },
            simulate_delivery_failure: v
                .get("simulateDeliveryFailure")
                .and_then(|b| b.as_bool())
                .unwrap_or(false),
            reply,
        })
    }

    /// Splits off the `Send` part (decoding the request now).
    pub fn into_send(self) -> ExecutorJob {
        let request = FetchRequest::from_value(&self.request);
        ExecutorJob {
            request_id: self.request_id,
            request,
            origin: self.origin,
            limits: self.limits,
            simulate_delivery_failure: self.simulate_delivery_failure,
            reply: self.reply,
        }
    }
}

/// The chain the simple design's executor sends to the origin.
pub(crate) fn result_chain(request_id: &str, outcome: Value) -> OperationChain {
    // The outcome (a response from anywhere) is substituted as data: nothing inside it runs.
    ctn()
        .call(
            RESULT_METHOD,
            vec![Value::from(request_id), result_marker()],
        )
        .with_result(outcome)
}

/// An address as a plain object: `{kind, binding, id?, name?}`.
pub fn address_to_value(a: &Address) -> Value {
    match a {
        Address::Object { binding, id, name } => Value::object([
            ("kind", Value::from("object")),
            ("binding", Value::from(binding.as_str())),
            ("id", Value::from(id.as_str())),
            ("name", Value::from(name.clone())),
        ]),
        Address::Worker { binding } => Value::object([
            ("kind", Value::from("worker")),
            ("binding", Value::from(binding.as_str())),
        ]),
        Address::RpcTarget { binding } => Value::object([
            ("kind", Value::from("rpc-target")),
            ("binding", Value::from(binding.as_str())),
        ]),
    }
}

/// Reads [`address_to_value`]'s output back. `None` for anything else.
pub fn address_from_value(v: &Value) -> Option<Address> {
    let s = |k: &str| v.get(k).and_then(|x| x.as_str().map(String::from));
    let binding = s("binding")?;
    Some(match s("kind")?.as_str() {
        "object" => Address::Object {
            binding,
            id: s("id").filter(|id| crate::transport::is_object_id(id))?,
            name: s("name"),
        },
        "worker" => Address::Worker { binding },
        "rpc-target" => Address::RpcTarget { binding },
        _ => return None,
    })
}

//! The orchestrated baseline, `proxy_fetch` (the original's v1): origin → [`FetchOrchestrator`]
//! object → executor → origin. The origin stores nothing; the continuation travels in the
//! messages. The orchestrator persists each request in its SQLite queue
//! (`__lmz_fetch_queue`), guards it with its own alarm (`orch-{id}` at `timeout + grace`), and
//! dispatches it to the executor, which runs the continuation on the origin and then reports
//! delivery so the orchestrator can drop the entry and its alarm.
//!
//! Kept deliberately as the original built it, including its weakness: the executor delivers
//! to the origin *directly*, so a result that arrives after the orchestrator's timeout fired
//! reaches the origin as well (two outcomes), and the other order happens too: when the
//! executor's delivery report is lost or arrives late, the orchestrator's timeout fires after
//! the result was delivered (the simulator counts both as `orch_double`). The simple design
//! removes that race.

use super::job::{address_from_value, address_to_value, Job, ReplyMode};
use super::message::FetchRequest;
use super::options::{check_continuation, millis, FetchOptions, ProxyFetchError};
use super::{new_uuid, FetchError, HttpLimits};
use crate::alarms::When;
use crate::context::Ctx;
use crate::ocan::{ctn, ChainError, Continuation, Dispatch, OperationChain};
use crate::storage::SqlValue;
use crate::structured_clone::Value;

const QUEUE_SCHEMA: &str = "CREATE TABLE IF NOT EXISTS __lmz_fetch_queue (
  id TEXT PRIMARY KEY NOT NULL,
  origin TEXT NOT NULL,
  continuation TEXT NOT NULL,
  url TEXT NOT NULL,
  timeout_ms INTEGER NOT NULL,
  grace_ms INTEGER NOT NULL
) WITHOUT ROWID";

/// Starts a fetch through the orchestrator. Same contract as
/// [`proxy_fetch_simple`](super::proxy_fetch_simple), except that the origin needs no result
/// handler (the continuation is run on it directly) and a late result can follow a timeout.
pub fn proxy_fetch(
    ctx: &Ctx<'_>,
    request: &Value,
    continuation: &Continuation,
    options: &FetchOptions,
) -> Result<String, ProxyFetchError> {
    // Normalized so it survives the wire (binary bodies as marked base64).
    let normalized = FetchRequest::from_value(request).map_err(ProxyFetchError::InvalidRequest)?;
    check_continuation(ctx, continuation)?;
    let id = options.request_id.clone().unwrap_or_else(new_uuid);
    let inner = continuation
        .stringify_continuation()
        .map_err(|e| ProxyFetchError::Alarm(crate::alarms::AlarmError::from_chain(e)))?;
    let msg = Value::object([
        ("requestId", Value::from(id.as_str())),
        ("request", normalized.to_value()),
        ("origin", address_to_value(ctx.me())),
        ("continuation", Value::from(inner)),
        ("executor", address_to_value(&options.executor)),
        ("timeoutMs", Value::Number(millis(options.timeout) as f64)),
        (
            "graceMs",
            Value::Number(millis(options.grace_period) as f64),
        ),
        ("maxBodyBytes", Value::Number(options.max_body_bytes as f64)),
        (
            "simulateDeliveryFailure",
            Value::Bool(options.test_mode.simulate_delivery_failure),
        ),
    ]);
    ctx.call_raw(
        &options.orchestrator,
        &ctn().call("enqueueFetch", vec![msg]),
        None,
    )?;
    Ok(id)
}

/// The orchestrator object. Register it with [`install`](super::install) or
/// `RuntimeBuilder::object(ORCHESTRATOR_BINDING, |_| FetchOrchestrator)`.
#[derive(Debug, Default, Clone, Copy)]
pub struct FetchOrchestrator;

impl Dispatch for FetchOrchestrator {
    fn type_name(&self) -> &'static str {
        "FetchOrchestrator"
    }

    fn dispatch(
        &mut self,
        ctx: &Ctx<'_>,
        method: &str,
        args: Vec<Value>,
    ) -> Result<Value, ChainError> {
        let arg = args.into_iter().next().unwrap_or_default();
        ctx.sql()
            .exec(QUEUE_SCHEMA, &[])
            .map_err(|e| ChainError::Storage(e.to_string()))?;
        match method {
            "enqueueFetch" => enqueue(ctx, &arg),
            "reportDelivery" => report_delivery(ctx, &text(&arg, "requestId")?),
            "timeoutFetch" => timeout(ctx, &text(&arg, "requestId")?),
            "queueLength" => queue_length(ctx),
            _ => Err(ChainError::UnknownMethod {
                target: self.type_name().into(),
                method: method.into(),
            }),
        }
    }
}

fn text(v: &Value, key: &str) -> Result<String, ChainError> {
    if let Some(s) = v.as_str() {
        return Ok(s.to_string());
    }
    v.get(key)
        .and_then(|x| x.as_str().map(String::from))
        .ok_or_else(|| ChainError::handler(format!("orchestrator: missing string `{key}`")))
}

fn num(v: &Value, key: &str) -> Result<u64, ChainError> {
    v.get(key)
        .and_then(|x| x.as_f64())
        .filter(|n| *n >= 0.0 && n.is_finite())
        .map(|n| n as u64)
        .ok_or_else(|| ChainError::handler(format!("orchestrator: missing number `{key}`")))
}

fn storage(e: crate::storage::StorageError) -> ChainError {
    ChainError::Storage(e.to_string())
}

fn enqueue(ctx: &Ctx<'_>, msg: &Value) -> Result<Value, ChainError> {
    let id = text(msg, "requestId")?;
    let continuation = text(msg, "continuation")?;
    let origin = msg
        .get("origin")
        .as_ref()
        .and_then(address_from_value)
        .ok_or_else(|| ChainError::handler("orchestrator: bad origin"))?;
    let executor = msg
        .get("executor")
        .as_ref()
        .and_then(address_from_value)
        .ok_or_else(|| ChainError::handler("orchestrator: bad executor"))?;
    let request = msg.get("request").unwrap_or_default();
    let url = FetchRequest::from_value(&request)
        .map(|r| r.url)
        .unwrap_or_default();
    let (timeout_ms, grace_ms) = (num(msg, "timeoutMs")?, num(msg, "graceMs")?);
    let job = Job {
        request_id: id.clone(),
        request,
        origin,
        limits: HttpLimits {
            timeout: std::time::Duration::from_millis(timeout_ms),
            max_body_bytes: num(msg, "maxBodyBytes")?,
        },
        simulate_delivery_failure: msg
            .get("simulateDeliveryFailure")
            .and_then(|b| b.as_bool())
            .unwrap_or(false),
        reply: ReplyMode::Orchestrated {
            continuation,
            orchestrator: ctx.me().clone(),
        },
    };
    // An unknown executor is a definite failure the origin hears about at once; nothing is
    // queued for it.
    if let Err(e) = ctx.call_raw(&executor, &job.to_chain(), None) {
        let err = FetchError::Executor {
            url,
            message: format!("the orchestrator could not dispatch: {e}; nothing was sent"),
        };
        let ReplyMode::Orchestrated { continuation, .. } = &job.reply else {
            return Ok(Value::Undefined);
        };
        let chain = OperationChain::parse(continuation)?.with_result(err.to_value());
        ctx.call_raw(&job.origin, &chain, None)
            .map_err(|e| ChainError::handler(format!("orchestrator: {e}")))?;
        return Ok(Value::Undefined);
    }
    let origin_text = crate::structured_clone::stringify(&address_to_value(&job.origin))
        .map_err(ChainError::Codec)?;
    let continuation = match &job.reply {
        ReplyMode::Orchestrated { continuation, .. } => continuation.clone(),
        ReplyMode::Simple => String::new(),
    };
    ctx.sql()
        .exec(
            "INSERT INTO __lmz_fetch_queue (id, origin, continuation, url, timeout_ms, grace_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            &[
                SqlValue::from(id.as_str()),
                SqlValue::from(origin_text),
                SqlValue::from(continuation),
                SqlValue::from(url),
                SqlValue::Integer(timeout_ms as i64),
                SqlValue::Integer(grace_ms as i64),
            ],
        )
        .map_err(storage)?;
    let at = ctx
        .now_ms()
        .saturating_add(timeout_ms.saturating_add(grace_ms) as i64);
    ctx.alarms()
        .schedule_with_id(
            &format!("orch-{id}"),
            When::at_ms(at),
            ctn().call("timeoutFetch", vec![Value::from(id.as_str())]),
        )
        .map_err(|e| ChainError::handler(e.to_string()))?;
    Ok(Value::Undefined)
}

fn report_delivery(ctx: &Ctx<'_>, id: &str) -> Result<Value, ChainError> {
    let rows = ctx
        .sql()
        .exec(
            "DELETE FROM __lmz_fetch_queue WHERE id = ?1 RETURNING id",
            &[SqlValue::from(id)],
        )
        .map_err(storage)?;
    ctx.alarms()
        .cancel_schedule(&format!("orch-{id}"))
        .map_err(|e| ChainError::handler(e.to_string()))?;
    if rows.is_empty() {
        tracing::info!(
            address = %ctx.me(),
            fetch_id = %id,
            "orchestrator: delivery reported after its timeout; ignored"
        );
        ctx.count_late_outcome();
    }
    Ok(Value::Bool(!rows.is_empty()))
}

fn timeout(ctx: &Ctx<'_>, id: &str) -> Result<Value, ChainError> {
    let rows = ctx
        .sql()
        .exec(
            "DELETE FROM __lmz_fetch_queue WHERE id = ?1 \
             RETURNING origin, continuation, url, timeout_ms, grace_ms",
            &[SqlValue::from(id)],
        )
        .map_err(storage)?;
    let Some(row) = rows.first() else {
        return Ok(Value::Bool(false));
    };
    let cell = |i: usize| row[i].as_str().unwrap_or_default().to_string();
    let origin = crate::structured_clone::parse(&cell(0))
        .ok()
        .as_ref()
        .and_then(address_from_value)
        .ok_or_else(|| ChainError::handler("orchestrator: stored origin unreadable"))?;
    let err = FetchError::NoReply {
        url: cell(2),
        request_id: id.to_string(),
        timeout_ms: row[3].as_i64().unwrap_or(0) as u64,
        grace_ms: row[4].as_i64().unwrap_or(0) as u64,
    };
    let chain = OperationChain::parse(&cell(1))?.with_result(err.to_value());
    ctx.call_raw(&origin, &chain, None)
        .map_err(|e| ChainError::handler(format!("orchestrator: {e}")))?;
    Ok(Value::Bool(true))
}

fn queue_length(ctx: &Ctx<'_>) -> Result<Value, ChainError> {
    let rows = ctx
        .sql()
        .exec("SELECT count(*) FROM __lmz_fetch_queue", &[])
        .map_err(storage)?;
    Ok(Value::Number(
        rows.scalar().and_then(SqlValue::as_i64).unwrap_or(0) as f64,
    ))
}

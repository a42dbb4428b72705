//! The orchestrated baseline, `proxy_fetch` (the original's v1): origin → [`FetchOrchestrator`]
//! object → executor → origin. The origin stores nothing; the continuation travels in the
//! messages. The orchestrator persists each request in its SQLite queue
//! (`__lmz_fetch_queue`), guards it with its own alarm (`orch-{id}` at `timeout + grace`), and
//! dispatches it to the executor, which runs the continuation on the origin and then reports
//! delivery so the orchestrator can drop the entry and its alarm.
//!
//! The original's orchestrator checked its queue for timeouts with one alarm polling every
//! 5 s; [`FetchOrchestrator`] guards each request with an alarm of its own instead (exact
//! timeouts, two rows per request). [`FetchOrchestratorPolling`] is the original's timing:
//! no alarm per request, one `orch-poll` schedule every [`POLL_INTERVAL_MS`] while the queue
//! is not empty, so a timeout is reported up to 5 s late. The experiment measures both.
//!
//! Kept deliberately as the original built it, including its weakness: the executor delivers
//! to the origin *directly*, so a result that arrives after the orchestrator's timeout fired
//! reaches the origin as well (two outcomes), and the other order happens too: when the
//! executor's delivery report is lost or arrives late, the orchestrator's timeout fires after
//! the result was delivered (the simulator counts both as `orch_double`). The simple design
//! removes that race.

use super::job::{address_from_value, address_to_value, Job, ReplyMode};
use super::message::FetchRequest;
use super::options::{encode_continuation, millis, FetchOptions, ProxyFetchError};
use super::{new_request_id, FetchError, HttpLimits};
use crate::alarms::When;
use crate::context::Ctx;
use crate::ocan::{ctn, ChainError, Continuation, Dispatch, OperationChain};
use crate::storage::runtime_tables::runtime;
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

/// The polling orchestrator's queue: the same, with each entry's deadline (what the poll
/// compares; no index, the poll scans the queue).
const POLL_QUEUE_SCHEMA: &str = "CREATE TABLE IF NOT EXISTS __lmz_fetch_poll_queue (
  id TEXT PRIMARY KEY NOT NULL,
  origin TEXT NOT NULL,
  continuation TEXT NOT NULL,
  url TEXT NOT NULL,
  timeout_ms INTEGER NOT NULL,
  grace_ms INTEGER NOT NULL,
  deadline INTEGER NOT NULL
) WITHOUT ROWID";

/// The binding of [`FetchOrchestratorPolling`] (its object is [`ORCHESTRATOR_NAME`](super::ORCHESTRATOR_NAME)
/// like the other's); point [`FetchOptions::orchestrator`] at it to use it.
pub const ORCHESTRATOR_POLLING_BINDING: &str = "FETCH_ORCHESTRATOR_POLLING";

/// How often [`FetchOrchestratorPolling`] checks its queue for timeouts, ms (the original's
/// 5 s).
pub const POLL_INTERVAL_MS: i64 = 5_000;

/// The id of the polling orchestrator's one schedule.
const POLL_SCHEDULE: &str = "orch-poll";

/// How an orchestrator notices timeouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// One alarm per request, at its deadline ([`FetchOrchestrator`]).
    AlarmPerRequest,
    /// One alarm polling every [`POLL_INTERVAL_MS`] ([`FetchOrchestratorPolling`]).
    Polling,
}

impl Mode {
    fn schema(self) -> &'static str {
        match self {
            Mode::AlarmPerRequest => QUEUE_SCHEMA,
            Mode::Polling => POLL_QUEUE_SCHEMA,
        }
    }

    fn table(self) -> &'static str {
        match self {
            Mode::AlarmPerRequest => "__lmz_fetch_queue",
            Mode::Polling => "__lmz_fetch_poll_queue",
        }
    }

    /// Removes a delivered request (constant text: the runtime's statements that write its
    /// tables are `&'static str`, see `storage::runtime_tables`).
    fn delete_delivered(self) -> &'static str {
        match self {
            Mode::AlarmPerRequest => "DELETE FROM __lmz_fetch_queue WHERE id = ?1 RETURNING id",
            Mode::Polling => "DELETE FROM __lmz_fetch_poll_queue WHERE id = ?1 RETURNING id",
        }
    }

    /// Removes a timed-out request, returning what its timeout needs.
    fn delete_timed_out(self) -> &'static str {
        match self {
            Mode::AlarmPerRequest => {
                "DELETE FROM __lmz_fetch_queue WHERE id = ?1 \
                 RETURNING origin, continuation, url, timeout_ms, grace_ms"
            }
            Mode::Polling => {
                "DELETE FROM __lmz_fetch_poll_queue WHERE id = ?1 \
                 RETURNING origin, continuation, url, timeout_ms, grace_ms"
            }
        }
    }
}

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
    let inner = encode_continuation(ctx, continuation)?;
    let id = options
        .request_id
        .clone()
        .unwrap_or_else(|| new_request_id(ctx.now_ms()));
    let msg = Value::object([
        ("requestId", Value::from(id.as_str())),
        ("request", normalized.to_compact_value()),
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
        dispatch(Mode::AlarmPerRequest, self.type_name(), ctx, method, args)
    }
}

/// The orchestrator object with the original's timing: one alarm polls the queue every
/// [`POLL_INTERVAL_MS`] (see the module docs). Registered by [`install`](super::install) as
/// [`ORCHESTRATOR_POLLING_BINDING`].
#[derive(Debug, Default, Clone, Copy)]
pub struct FetchOrchestratorPolling;

impl Dispatch for FetchOrchestratorPolling {
    fn type_name(&self) -> &'static str {
        "FetchOrchestratorPolling"
    }

    fn dispatch(
        &mut self,
        ctx: &Ctx<'_>,
        method: &str,
        args: Vec<Value>,
    ) -> Result<Value, ChainError> {
        dispatch(Mode::Polling, self.type_name(), ctx, method, args)
    }
}

fn dispatch(
    mode: Mode,
    target: &str,
    ctx: &Ctx<'_>,
    method: &str,
    args: Vec<Value>,
) -> Result<Value, ChainError> {
    let arg = args.into_iter().next().unwrap_or_default();
    runtime(ctx.sql())
        .exec(mode.schema(), &[])
        .map_err(|e| ChainError::Storage(e.to_string()))?;
    match method {
        "enqueueFetch" => enqueue(mode, ctx, &arg),
        "reportDelivery" => report_delivery(mode, ctx, &text(&arg, "requestId")?),
        "timeoutFetch" => timeout(mode, ctx, &text(&arg, "requestId")?),
        "pollTimeouts" if mode == Mode::Polling => poll(ctx),
        "queueLength" => queue_length(mode, ctx),
        _ => Err(ChainError::UnknownMethod {
            target: target.into(),
            method: method.into(),
        }),
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

fn enqueue(mode: Mode, ctx: &Ctx<'_>, msg: &Value) -> Result<Value, ChainError> {
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
    let at = ctx
        .now_ms()
        .saturating_add(timeout_ms.saturating_add(grace_ms) as i64);
    let mut params = vec![
        SqlValue::from(id.as_str()),
        SqlValue::from(origin_text),
        SqlValue::from(continuation),
        SqlValue::from(url),
        SqlValue::Integer(timeout_ms as i64),
        SqlValue::Integer(grace_ms as i64),
    ];
    let insert = match mode {
        Mode::AlarmPerRequest => {
            "INSERT INTO __lmz_fetch_queue (id, origin, continuation, url, timeout_ms, grace_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
        }
        Mode::Polling => {
            params.push(SqlValue::Integer(at));
            "INSERT INTO __lmz_fetch_poll_queue (id, origin, continuation, url, timeout_ms, grace_ms, deadline) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
        }
    };
    runtime(ctx.sql()).exec(insert, &params).map_err(storage)?;
    match mode {
        Mode::AlarmPerRequest => {
            ctx.alarms()
                .schedule_with_id(
                    &format!("orch-{id}"),
                    When::at_ms(at),
                    ctn().call("timeoutFetch", vec![Value::from(id.as_str())]),
                )
                .map_err(|e| ChainError::handler(e.to_string()))?;
        }
        Mode::Polling => ensure_poll(ctx)?,
    }
    Ok(Value::Undefined)
}

/// Arms the polling orchestrator's one schedule unless it is pending.
fn ensure_poll(ctx: &Ctx<'_>) -> Result<(), ChainError> {
    let alarm = |e: crate::alarms::AlarmError| ChainError::handler(e.to_string());
    if ctx.alarms().exists(POLL_SCHEDULE).map_err(alarm)? {
        return Ok(());
    }
    ctx.alarms()
        .schedule_new_with_id(
            POLL_SCHEDULE,
            When::at_ms(ctx.now_ms().saturating_add(POLL_INTERVAL_MS)),
            ctn().call("pollTimeouts", vec![]),
        )
        .map_err(alarm)?;
    Ok(())
}

/// The poll: times out every entry past its deadline, and polls again while the queue is
/// not empty. Returns how many it timed out.
fn poll(ctx: &Ctx<'_>) -> Result<Value, ChainError> {
    let due = ctx
        .sql()
        .exec(
            "SELECT id FROM __lmz_fetch_poll_queue WHERE deadline <= ?1",
            &[SqlValue::Integer(ctx.now_ms())],
        )
        .map_err(storage)?;
    let mut n = 0u32;
    for row in &due.rows {
        if let Some(id) = row.first().and_then(SqlValue::as_str) {
            timeout(Mode::Polling, ctx, id)?;
            n += 1;
        }
    }
    let left = ctx
        .sql()
        .exec("SELECT 1 FROM __lmz_fetch_poll_queue LIMIT 1", &[])
        .map_err(storage)?;
    if !left.is_empty() {
        ensure_poll(ctx)?;
    }
    Ok(Value::Number(f64::from(n)))
}

fn report_delivery(mode: Mode, ctx: &Ctx<'_>, id: &str) -> Result<Value, ChainError> {
    let rows = runtime(ctx.sql())
        .exec(mode.delete_delivered(), &[SqlValue::from(id)])
        .map_err(storage)?;
    if mode == Mode::AlarmPerRequest {
        ctx.alarms()
            .cancel_schedule(&format!("orch-{id}"))
            .map_err(|e| ChainError::handler(e.to_string()))?;
    }
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

fn timeout(mode: Mode, ctx: &Ctx<'_>, id: &str) -> Result<Value, ChainError> {
    let rows = runtime(ctx.sql())
        .exec(mode.delete_timed_out(), &[SqlValue::from(id)])
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

fn queue_length(mode: Mode, ctx: &Ctx<'_>) -> Result<Value, ChainError> {
    let rows = ctx
        .sql()
        .exec(&format!("SELECT count(*) FROM {}", mode.table()), &[])
        .map_err(storage)?;
    Ok(Value::Number(
        rows.scalar().and_then(SqlValue::as_i64).unwrap_or(0) as f64,
    ))
}

//! `proxy_fetch_simple`: the origin writes one alarm, `fetch-{id}`, that holds the continuation
//! and fires at `timeout + grace`, then calls the executor directly. The executor's result and
//! the alarm both arrive at [`handle_result`], whose first step is the atomic
//! `cancel_schedule("fetch-{id}")`: exactly one of them gets the schedule and runs the
//! continuation; the other is a no-op, counted ([`no_op_count`]) and logged.
//!
//! Why this is exactly-once: both paths are turns of the same object, serialized by its
//! mailbox, and the cancel commits in the same transaction as the continuation's effects. If
//! the continuation fails, the turn rolls back and the schedule is pending again, so the
//! timeout path runs it later (with [`FetchError::NoReply`](super::FetchError::NoReply)).

use super::job::{Job, ReplyMode};
use super::message::FetchRequest;
use super::options::{encode_continuation, millis, FetchOptions, ProxyFetchError, RESULT_METHOD};
use super::{new_request_id, FetchError, HttpLimits};
use crate::alarms::When;
use crate::context::Ctx;
use crate::ocan::{ctn, execute_chain, ChainError, Continuation, Dispatch, OperationChain};
use crate::storage::SqlValue;
use crate::structured_clone::Value;

/// KV-style counter of results that lost the race (see [`no_op_count`]).
const NO_OP_TABLE: &str =
    "CREATE TABLE IF NOT EXISTS __lmz_fetch_stats (key TEXT PRIMARY KEY NOT NULL, n INTEGER NOT NULL) WITHOUT ROWID";

/// The alarm id of request `id`.
pub fn alarm_id(request_id: &str) -> String {
    format!("fetch-{request_id}")
}

/// Starts a fetch of `request` (a URL string, a `URL` or a `RequestSync` value) whose outcome
/// (a `ResponseSync` or a fetch `Error` value, see [`FetchError`]) later runs `continuation`
/// on this object, exactly once. Returns the request id.
///
/// Order matters and is the fix of two flaws of the original: the executor call is queued
/// first, so an unknown executor fails here before any alarm exists; and a pending request
/// id is refused instead of silently replacing its backstop. Both the call and the alarm are
/// part of this turn's transaction: if the handler fails afterwards, neither happens.
///
/// Any object can call it: the turn engine routes [`RESULT_METHOD`] to [`handle_result`].
/// Without the executor registered (natively [`install`](super::install)) it fails at once.
pub fn proxy_fetch_simple(
    ctx: &Ctx<'_>,
    request: &Value,
    continuation: &Continuation,
    options: &FetchOptions,
) -> Result<String, ProxyFetchError> {
    // Normalized so it survives the wire (binary bodies as marked base64).
    let normalized = FetchRequest::from_value(request).map_err(ProxyFetchError::InvalidRequest)?;
    let url = normalized.url.clone();
    if continuation.method_path().is_none() {
        return Err(ProxyFetchError::Alarm(
            crate::alarms::AlarmError::InvalidContinuation("it calls nothing".into()),
        ));
    }
    // Refused before anything is queued: the alarm would hold a continuation that cannot be
    // read back (or filled with its result) when it fires. The user's chain travels as opaque
    // wire text (as in the original): stored as a value, its `$result` marker would be
    // resolved as a nested operation when the alarm chain runs. Encoding it checks it as
    // `validate_continuation` does, so it is checked once, here.
    let inner = encode_continuation(ctx, continuation)?;
    let id = options
        .request_id
        .clone()
        .unwrap_or_else(|| new_request_id(ctx.now_ms()));
    let job = Job {
        request_id: id.clone(),
        request: normalized.to_compact_value(),
        origin: ctx.me().clone(),
        limits: HttpLimits {
            timeout: options.timeout,
            max_body_bytes: options.max_body_bytes,
        },
        simulate_delivery_failure: options.test_mode.simulate_delivery_failure,
        reply: ReplyMode::Simple,
    };
    ctx.call_raw(&options.executor, &job.to_chain(), None)?;
    let scheduled = schedule_timeout(ctx, &id, &url, inner, options);
    if let Err(e) = scheduled {
        // Un-queue the executor call we just queued (the last message), keeping the others.
        let mut out = ctx.take_outbox();
        out.pop();
        for m in out {
            ctx.push_outgoing(m);
        }
        return Err(e);
    }
    Ok(id)
}

fn schedule_timeout(
    ctx: &Ctx<'_>,
    id: &str,
    url: &str,
    inner: String,
    options: &FetchOptions,
) -> Result<(), ProxyFetchError> {
    let at = ctx
        .now_ms()
        .saturating_add(millis(options.timeout + options.grace_period) as i64);
    // Only what the NoReply error is built from when the alarm fires, not the error itself:
    // every pending fetch holds a row, and a small row is cheaper to insert and delete.
    let deadline = Deadline {
        url: url.to_string(),
        timeout_ms: millis(options.timeout),
        grace_ms: millis(options.grace_period),
    };
    let chain = ctn().call(
        RESULT_METHOD,
        vec![Value::from(id), deadline.to_value(), Value::from(inner)],
    );
    // A plain insert, no search for the earliest. The primary key refuses a pending id; the
    // lookup that tells that apart from other failures runs only when the insert failed.
    match ctx
        .alarms()
        .schedule_new_with_id(&alarm_id(id), When::at_ms(at), chain)
    {
        Ok(_) => Ok(()),
        Err(e) => match ctx.alarms().exists(&alarm_id(id)) {
            Ok(true) => Err(ProxyFetchError::DuplicateRequestId(id.to_string())),
            _ => Err(ProxyFetchError::Alarm(e)),
        },
    }
}

/// What a `fetch-{id}` alarm stores besides the continuation: enough to build
/// [`FetchError::NoReply`] when it fires. On the wire: `[url, timeoutMs, gracePeriodMs]`.
struct Deadline {
    url: String,
    timeout_ms: u64,
    grace_ms: u64,
}

impl Deadline {
    fn to_value(&self) -> Value {
        Value::array([
            Value::from(self.url.as_str()),
            Value::Number(self.timeout_ms as f64),
            Value::Number(self.grace_ms as f64),
        ])
    }

    fn from_value(v: &Value) -> Option<Deadline> {
        let items = v.as_array()?;
        let ms = |i: usize| {
            items
                .get(i)?
                .as_f64()
                .filter(|n| *n >= 0.0 && n.is_finite())
                .map(|n| n as u64)
        };
        Some(Deadline {
            url: items.first()?.as_str()?.to_string(),
            timeout_ms: ms(1)?,
            grace_ms: ms(2)?,
        })
    }

    fn no_reply(self, request_id: String) -> FetchError {
        FetchError::NoReply {
            url: self.url,
            request_id,
            timeout_ms: self.timeout_ms,
            grace_ms: self.grace_ms,
        }
    }
}

/// The convergence point of both paths, run on the origin: `args` are `(requestId, outcome)`
/// from the executor, or `(requestId, deadline, continuation)` from the alarm, whose outcome is
/// [`FetchError::NoReply`]. Returns `true` when this call ran the continuation, `false` for a
/// counted no-op.
pub fn handle_result<T: Dispatch + ?Sized>(
    target: &mut T,
    ctx: &Ctx<'_>,
    args: Vec<Value>,
) -> Result<Value, ChainError> {
    let from_alarm = args.len() >= 3;
    let mut args = args.into_iter();
    let id = match args.next() {
        Some(Value::String(s)) => s,
        other => {
            return Err(ChainError::handler(format!(
                "{RESULT_METHOD}: expected a request id string, got {other:?}"
            )))
        }
    };
    let alarm = alarm_id(&id);
    // The raw row: only its apply's arguments are read below, so the stored chain is not
    // decoded into an `OperationChain` (nor validated: it is our own, and the continuation
    // inside it is parsed and validated before it runs).
    let schedule = ctx
        .alarms()
        .cancel_schedule_raw(&alarm)
        .map_err(|e| ChainError::handler(e.to_string()))?;
    let Some(schedule) = schedule else {
        count_no_op(ctx).map_err(|e| ChainError::Storage(e.to_string()))?;
        let outcome = if from_alarm {
            "no reply by the deadline".to_string()
        } else {
            describe_outcome(&args.next().unwrap_or_default())
        };
        tracing::info!(
            address = %ctx.me(),
            fetch_id = %id,
            outcome = %outcome,
            "fetch outcome arrived after the other path won; ignored"
        );
        ctx.count_late_outcome();
        return Ok(Value::Bool(false));
    };
    let (deadline, inner) = stored_parts(&schedule.operation_chain).ok_or_else(|| {
        ChainError::handler(format!(
            "schedule {alarm} does not hold a fetch continuation"
        ))
    })?;
    let outcome = if from_alarm {
        deadline.no_reply(id).to_value()
    } else {
        args.next().unwrap_or_default()
    };
    let continuation = OperationChain::parse(&inner)?;
    execute_chain(target, ctx, &continuation.with_result(outcome))?;
    Ok(Value::Bool(true))
}

/// The deadline and the user continuation inside a `fetch-{id}` alarm chain's wire text (the
/// second and third arguments of its last operation, an apply: see
/// [`OperationChain::to_value`]).
fn stored_parts(chain_text: &str) -> Option<(Deadline, String)> {
    let ops = crate::structured_clone::parse(chain_text)
        .ok()?
        .as_array()?;
    let apply = ops.last()?;
    if apply.get("type")?.as_str()? != "apply" {
        return None;
    }
    let args = apply.get("args")?.as_array()?;
    Some((
        Deadline::from_value(args.get(1)?)?,
        args.get(2)?.as_str()?.to_string(),
    ))
}

fn describe_outcome(v: &Value) -> String {
    match super::outcome_from_value(v) {
        Ok(r) => format!("response {}", r.status),
        Err(e) => e.name().to_string(),
    }
}

fn count_no_op(ctx: &Ctx<'_>) -> Result<(), crate::storage::StorageError> {
    let runtime = crate::storage::runtime_tables::runtime(ctx.sql());
    runtime.exec(NO_OP_TABLE, &[])?;
    runtime.exec(
        "INSERT INTO __lmz_fetch_stats (key, n) VALUES ('no_ops', 1) \
         ON CONFLICT(key) DO UPDATE SET n = n + 1",
        &[],
    )?;
    Ok(())
}

/// How many fetch outcomes arrived at this object after the other path had already won (late
/// results after a timeout, or the alarm after a result in a tie). Each is a no-op.
pub fn no_op_count(ctx: &Ctx<'_>) -> Result<u64, crate::storage::StorageError> {
    crate::storage::runtime_tables::runtime(ctx.sql()).exec(NO_OP_TABLE, &[])?;
    let rows = ctx
        .sql()
        .exec("SELECT n FROM __lmz_fetch_stats WHERE key = 'no_ops'", &[])?;
    Ok(rows.scalar().and_then(SqlValue::as_i64).unwrap_or(0) as u64)
}

/// The pending simple-design fetches of this object (their `fetch-*` alarms).
pub fn pending_count(ctx: &Ctx<'_>) -> Result<u64, crate::storage::StorageError> {
    let rows = ctx.sql().exec(
        "SELECT count(*) FROM __lmz_alarms WHERE id >= 'fetch-' AND id < 'fetch.'",
        &[],
    )?;
    Ok(rows.scalar().and_then(SqlValue::as_i64).unwrap_or(0) as u64)
}

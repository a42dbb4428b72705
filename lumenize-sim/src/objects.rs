//! The workload's objects, written as any lumenize user writes them (`handlers!`, `Ctx`,
//! `proxy_fetch_simple`, `proxy_fetch`, `call_raw`, alarms), plus the simulated executor.
//!
//! Every handler reports what it did through [`observe`]; the host hands a turn's
//! observations to the oracle only when the turn commits, so the oracle sees exactly the
//! effects that became durable. Each handler also writes a row to `sim_log` in the same
//! transaction, which the oracle compares with its own counts at quiescence.

use crate::rng::fnv;
use crate::Mutant;
use lumenize_core::alarms::When;
use lumenize_core::context::Ctx;
use lumenize_core::fetch::{
    self, ExecutorJob, FetchOptions, EXECUTOR_BINDING, EXECUTOR_RPC_BINDING, RESULT_METHOD,
};
use lumenize_core::ocan::{
    ctn, execute_chain, result_marker, ChainError, Dispatch, Operation, OperationChain,
};
use lumenize_core::storage::SqlValue;
use lumenize_core::structured_clone::Value;
use lumenize_core::transport::Address;
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::time::Duration;

/// The binding of the workload's origin objects.
pub const ORIGIN: &str = "ORIGIN";
/// The binding of the objects `call_raw` calls.
pub const PEER: &str = "PEER";
/// The grace period of every fetch, ms.
pub const GRACE_MS: i64 = 1_000;

/// Tables of the workload (created by the host when it opens an origin).
pub const ORIGIN_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sim_started (tag TEXT PRIMARY KEY NOT NULL, kind TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sim_log (tag TEXT NOT NULL, what TEXT NOT NULL, at INTEGER NOT NULL);
";

/// What kind of work a tag names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// `proxy_fetch_simple` through the worker executor.
    Simple,
    /// `proxy_fetch_simple` through the RPC-target executor.
    SimpleRpc,
    /// The orchestrated `proxy_fetch`.
    Orchestrated,
    /// The direct fetch ([`crate::direct`]): the object fetches itself after its turn commits.
    Direct,
    /// `call_raw` with a continuation.
    Call,
    /// A one-shot schedule (raced by a cancel).
    Once,
    /// A cron schedule.
    Cron,
}

impl Kind {
    /// Its name in `sim_started`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Simple => "simple",
            Kind::SimpleRpc => "simple-rpc",
            Kind::Orchestrated => "orchestrated",
            Kind::Direct => "direct",
            Kind::Call => "call",
            Kind::Once => "once",
            Kind::Cron => "cron",
        }
    }
}

/// One effect a handler reports (applied to the oracle only if its turn commits).
#[derive(Clone, Debug, PartialEq)]
pub enum Obs {
    /// Work `tag` started.
    Started(String, Kind),
    /// A fetch continuation ran with this outcome (a status, or a `FetchError` name).
    Ran(String, String),
    /// A `call_raw` continuation ran.
    Called(String, String),
    /// A one-shot schedule fired at this time (by the turn's clock), scheduled for that one.
    Fired(String, i64, i64),
    /// A one-shot schedule was cancelled before it fired.
    Cancelled(String),
    /// A cron schedule fired at this time.
    Tick(String, i64),
    /// A cron schedule was stopped.
    Stopped(String),
    /// `handle_result` ran: true when it ran the continuation, false for a counted no-op.
    HandleResult(bool),
}

thread_local! {
    static OBS: RefCell<Vec<Obs>> = const { RefCell::new(Vec::new()) };
}

/// Records an effect of the running turn.
pub fn observe(o: Obs) {
    OBS.with(|v| v.borrow_mut().push(o));
}

/// Takes the running turn's observations.
pub fn take_observations() -> Vec<Obs> {
    OBS.with(|v| std::mem::take(&mut *v.borrow_mut()))
}

fn sql_err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

fn log(ctx: &Ctx<'_>, tag: &str, what: &str) -> Result<(), String> {
    ctx.sql()
        .exec(
            "INSERT INTO sim_log (tag, what, at) VALUES (?1, ?2, ?3)",
            &[
                SqlValue::from(tag),
                SqlValue::from(what),
                SqlValue::Integer(ctx.now_ms()),
            ],
        )
        .map(drop)
        .map_err(sql_err)
}

/// Records the start; a second start of the same tag (a duplicated client message) fails on
/// the primary key, so its turn rolls back and nothing is sent twice.
fn start(ctx: &Ctx<'_>, tag: &str, kind: Kind) -> Result<(), String> {
    ctx.sql()
        .exec(
            "INSERT INTO sim_started (tag, kind) VALUES (?1, ?2)",
            &[SqlValue::from(tag), SqlValue::from(kind.name())],
        )
        .map(drop)
        .map_err(sql_err)
}

fn continuation(method: &str, tag: &str) -> OperationChain {
    ctn().call(method, vec![Value::from(tag), result_marker()])
}

/// The origin: starts fetches, calls, schedules; its continuations record what arrived.
pub struct Origin {
    /// Tags whose continuation fails the first time it runs (rate from the seed).
    flaky_ppm: u32,
    /// Tags that already failed once (in memory: a crash forgets them, as a real bug would).
    failed_once: BTreeSet<String>,
}

impl Origin {
    /// An origin whose continuations fail once at `flaky_ppm`.
    pub fn new(flaky_ppm: u32) -> Origin {
        Origin {
            flaky_ppm,
            failed_once: BTreeSet::new(),
        }
    }

    fn flaky(&mut self, tag: &str) -> Result<(), String> {
        if fnv(tag) % 1_000_000 < u64::from(self.flaky_ppm) && self.failed_once.insert(tag.into()) {
            return Err(format!("continuation of {tag} fails once (simulated bug)"));
        }
        Ok(())
    }

    fn options(tag: &str, timeout_ms: f64) -> FetchOptions {
        FetchOptions {
            timeout: Duration::from_millis(timeout_ms as u64),
            grace_period: Duration::from_millis(GRACE_MS as u64),
            request_id: Some(tag.to_string()),
            ..FetchOptions::default()
        }
    }

    fn start_simple(
        &mut self,
        ctx: &Ctx<'_>,
        tag: String,
        url: String,
        rpc: bool,
        timeout_ms: f64,
    ) -> Result<(), String> {
        let kind = if rpc { Kind::SimpleRpc } else { Kind::Simple };
        start(ctx, &tag, kind)?;
        let mut options = Origin::options(&tag, timeout_ms);
        if rpc {
            options.executor = Address::rpc_target(EXECUTOR_RPC_BINDING);
        }
        fetch::proxy_fetch_simple(
            ctx,
            &Value::from(url),
            &continuation("fetched", &tag),
            &options,
        )
        .map_err(sql_err)?;
        observe(Obs::Started(tag, kind));
        Ok(())
    }

    fn start_orchestrated(
        &mut self,
        ctx: &Ctx<'_>,
        tag: String,
        url: String,
        timeout_ms: f64,
    ) -> Result<(), String> {
        start(ctx, &tag, Kind::Orchestrated)?;
        fetch::proxy_fetch(
            ctx,
            &Value::from(url),
            &continuation("fetched", &tag),
            &Origin::options(&tag, timeout_ms),
        )
        .map_err(sql_err)?;
        observe(Obs::Started(tag, Kind::Orchestrated));
        Ok(())
    }

    /// Queues the direct fetch before recording the start, so a turn that rolls back (a
    /// duplicated client message refused by the primary key, a failing statement or COMMIT)
    /// has queued an effect the engine must drop.
    fn start_direct(
        &mut self,
        ctx: &Ctx<'_>,
        tag: String,
        url: String,
        timeout_ms: f64,
    ) -> Result<(), String> {
        crate::direct::direct_fetch(
            ctx,
            &tag,
            &Value::from(url),
            &continuation("fetched", &tag),
            &Origin::options(&tag, timeout_ms),
        )
        .map_err(sql_err)?;
        start(ctx, &tag, Kind::Direct)?;
        observe(Obs::Started(tag, Kind::Direct));
        Ok(())
    }

    /// Schedules a direct fetch's start at `at_ms`: its claim turn (an alarm step) queues the
    /// effect, so the host takes it from the alarm run's outputs. A marker row refuses a
    /// duplicated client message (a second schedule would start the fetch again).
    fn schedule_direct(
        &mut self,
        ctx: &Ctx<'_>,
        tag: String,
        url: String,
        timeout_ms: f64,
        at_ms: f64,
    ) -> Result<(), String> {
        ctx.sql()
            .exec(
                "INSERT INTO sim_started (tag, kind) VALUES (?1, 'direct-schedule')",
                &[SqlValue::from(format!("{tag}/scheduled"))],
            )
            .map_err(sql_err)?;
        let start = ctn().call(
            "startDirect",
            vec![
                Value::from(tag.as_str()),
                Value::from(url),
                Value::from(timeout_ms),
            ],
        );
        ctx.alarms()
            .schedule_with_id(&format!("direct-{tag}"), When::at_ms(at_ms as i64), start)
            .map_err(sql_err)?;
        Ok(())
    }

    fn fetched(&mut self, ctx: &Ctx<'_>, tag: String, outcome: Value) -> Result<(), String> {
        self.flaky(&tag)?;
        let what = match fetch::outcome_from_value(&outcome) {
            Ok(r) => format!("status {}", r.status),
            Err(e) => e.name().to_string(),
        };
        log(ctx, &tag, "ran")?;
        observe(Obs::Ran(tag, what));
        Ok(())
    }

    fn call_peer(
        &mut self,
        ctx: &Ctx<'_>,
        tag: String,
        peer: String,
        x: f64,
    ) -> Result<(), String> {
        start(ctx, &tag, Kind::Call)?;
        ctx.call_raw(
            &Address::object(PEER, peer),
            &ctn().call("add", vec![Value::from(x)]),
            Some(&continuation("called", &tag)),
        )
        .map_err(sql_err)?;
        observe(Obs::Started(tag, Kind::Call));
        Ok(())
    }

    fn called(&mut self, ctx: &Ctx<'_>, tag: String, outcome: Value) -> Result<(), String> {
        self.flaky(&tag)?;
        let what = match outcome.as_f64() {
            Some(n) => format!("sum {n}"),
            None => "error".to_string(),
        };
        log(ctx, &tag, "called")?;
        observe(Obs::Called(tag, what));
        Ok(())
    }

    fn schedule_once(&mut self, ctx: &Ctx<'_>, tag: String, at_ms: f64) -> Result<(), String> {
        start(ctx, &tag, Kind::Once)?;
        ctx.alarms()
            .schedule_with_id(
                &format!("once-{tag}"),
                When::at_ms(at_ms as i64),
                ctn().call("fired", vec![Value::from(tag.as_str()), Value::from(at_ms)]),
            )
            .map_err(sql_err)?;
        observe(Obs::Started(tag, Kind::Once));
        Ok(())
    }

    fn cancel_once(&mut self, ctx: &Ctx<'_>, tag: String) -> Result<bool, String> {
        let cancelled = ctx
            .alarms()
            .cancel_schedule(&format!("once-{tag}"))
            .map_err(sql_err)?
            .is_some();
        if cancelled {
            log(ctx, &tag, "cancelled")?;
            observe(Obs::Cancelled(tag));
        }
        Ok(cancelled)
    }

    fn fired(&mut self, ctx: &Ctx<'_>, tag: String, due_ms: f64) -> Result<(), String> {
        self.flaky(&tag)?;
        log(ctx, &tag, "fired")?;
        observe(Obs::Fired(tag, ctx.now_ms(), due_ms as i64));
        Ok(())
    }

    fn schedule_cron(&mut self, ctx: &Ctx<'_>, tag: String, expr: String) -> Result<(), String> {
        start(ctx, &tag, Kind::Cron)?;
        ctx.alarms()
            .schedule_with_id(
                &format!("cron-{tag}"),
                expr.as_str(),
                ctn().call("tick", vec![Value::from(tag.as_str())]),
            )
            .map_err(sql_err)?;
        observe(Obs::Started(tag, Kind::Cron));
        Ok(())
    }

    fn stop_cron(&mut self, ctx: &Ctx<'_>, tag: String) -> Result<(), String> {
        // A tombstone, so a start that arrives after its stop (a delayed message) is refused.
        ctx.sql()
            .exec(
                "INSERT OR IGNORE INTO sim_started (tag, kind) VALUES (?1, 'stopped')",
                &[SqlValue::from(tag.as_str())],
            )
            .map_err(sql_err)?;
        if ctx
            .alarms()
            .cancel_schedule(&format!("cron-{tag}"))
            .map_err(sql_err)?
            .is_some()
        {
            observe(Obs::Stopped(tag));
        }
        Ok(())
    }

    fn tick(&mut self, ctx: &Ctx<'_>, tag: String) -> Result<(), String> {
        self.flaky(&tag)?;
        log(ctx, &tag, "tick")?;
        observe(Obs::Tick(tag, ctx.now_ms()));
        Ok(())
    }

    fn no_ops(&mut self, ctx: &Ctx<'_>) -> Result<f64, String> {
        fetch::no_op_count(ctx).map(|n| n as f64).map_err(sql_err)
    }

    fn pending(&mut self, ctx: &Ctx<'_>) -> Result<f64, String> {
        fetch::pending_count(ctx).map(|n| n as f64).map_err(sql_err)
    }

    /// A hostile co-tenant's message: a conflict resolved with ROLLBACK, which makes SQLite
    /// roll back the whole transaction, the other messages of its group with it. It fails
    /// with the error, or (`swallow`) ignores it and succeeds as far as it can tell.
    fn hostile(&mut self, ctx: &Ctx<'_>, swallow: bool) -> Result<(), String> {
        let out = ctx
            .sql()
            .exec(
                "INSERT OR ROLLBACK INTO sim_started (tag, kind) \
                 VALUES ('~hostile', 'hostile'), ('~hostile', 'hostile')",
                &[],
            )
            .map(drop)
            .map_err(sql_err);
        if swallow {
            return Ok(());
        }
        out
    }
}

lumenize_core::handlers!(Origin {
    start_simple as "startSimple"(tag: String, url: String, rpc: bool, timeout_ms: f64),
    start_orchestrated as "startOrchestrated"(tag: String, url: String, timeout_ms: f64),
    start_direct as "startDirect"(tag: String, url: String, timeout_ms: f64),
    schedule_direct as "scheduleDirect"(tag: String, url: String, timeout_ms: f64, at_ms: f64),
    fetched(tag: String, outcome: Value),
    call_peer as "callPeer"(tag: String, peer: String, x: f64),
    called(tag: String, outcome: Value),
    schedule_once as "scheduleOnce"(tag: String, at_ms: f64),
    cancel_once as "cancelOnce"(tag: String),
    fired(tag: String, due_ms: f64),
    schedule_cron as "scheduleCron"(tag: String, expr: String),
    stop_cron as "stopCron"(tag: String),
    tick(tag: String),
    no_ops as "noOps"(),
    pending(),
    hostile(swallow: bool),
});

/// [`fetch::Fetching`] around the origin (the real router of [`RESULT_METHOD`]), reporting
/// each `handle_result` outcome.
pub struct Counted(pub fetch::Fetching<Origin>);

impl Dispatch for Counted {
    fn type_name(&self) -> &'static str {
        self.0.type_name()
    }

    fn dispatch(
        &mut self,
        ctx: &Ctx<'_>,
        method: &str,
        args: Vec<Value>,
    ) -> Result<Value, ChainError> {
        if method == RESULT_METHOD && args.len() == 2 && mutant() == Mutant::UnclaimedResult {
            return double_continuation(&mut self.0 .0, ctx, args);
        }
        let out = self.0.dispatch(ctx, method, args);
        if method == RESULT_METHOD {
            if let Ok(Value::Bool(ran)) = &out {
                observe(Obs::HandleResult(*ran));
            }
        }
        out
    }
}

thread_local! {
    static MUTANT: std::cell::Cell<Mutant> = const { std::cell::Cell::new(Mutant::None) };
}

/// Sets the mutant of the seeds that run on this thread.
pub fn set_mutant(m: Mutant) {
    MUTANT.with(|c| c.set(m));
}

fn mutant() -> Mutant {
    MUTANT.with(std::cell::Cell::get)
}

/// The `unclaimed-result` mutant of the result path: it reads the timeout alarm instead of
/// claiming it (`get_schedule` where `handle_result` calls `cancel_schedule`), so the alarm
/// can later run the continuation a second time.
fn double_continuation(
    origin: &mut Origin,
    ctx: &Ctx<'_>,
    args: Vec<Value>,
) -> Result<Value, ChainError> {
    let mut args = args.into_iter();
    let id = args
        .next()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let outcome = args.next().unwrap_or_default();
    let Some(schedule) = ctx
        .alarms()
        .get_schedule(&fetch::alarm_id(&id))
        .map_err(|e| ChainError::handler(e.to_string()))?
    else {
        observe(Obs::HandleResult(false));
        return Ok(Value::Bool(false));
    };
    let inner = match schedule.callback.ops().last() {
        Some(Operation::Apply { args }) => args.get(2).and_then(|v| v.as_str().map(str::to_string)),
        _ => None,
    }
    .ok_or_else(|| ChainError::handler("not a fetch alarm"))?;
    let continuation = OperationChain::parse(&inner)?;
    execute_chain(origin, ctx, &continuation.with_result(outcome))?;
    observe(Obs::HandleResult(true));
    Ok(Value::Bool(true))
}

/// The object `call_raw` reaches: adds to a sum in its key-value storage; refuses multiples
/// of 5 (so continuations also see errors).
#[derive(Default)]
pub struct Peer;

impl Peer {
    fn add(&mut self, ctx: &Ctx<'_>, x: f64) -> Result<f64, String> {
        if (x as i64) % 5 == 0 {
            return Err(format!("peer refuses {x}"));
        }
        let sum = ctx
            .kv()
            .get("sum")
            .map_err(sql_err)?
            .and_then(|v| v.as_f64())
            .unwrap_or(0.0)
            + x;
        ctx.kv().put("sum", &Value::from(sum)).map_err(sql_err)?;
        Ok(sum)
    }
}

lumenize_core::handlers!(Peer { add(x: f64) });

/// What the host lends the executor during its turn (Cloudflare's `waitUntil`, the native
/// runtime's `NativeExt::spawn`): the jobs it accepted, to run as simulated exchanges.
#[derive(Default)]
pub struct ExecutorExt {
    /// Jobs accepted in this turn.
    pub jobs: RefCell<Vec<ExecutorJob>>,
    /// This call fails (seed's executor fault).
    pub fail: bool,
}

/// The executor, in both forms (worker and RPC target): reads its job with the real
/// [`ExecutorJob`] protocol and hands it to the host, which runs the exchange against the
/// simulated endpoint and delivers with [`ExecutorJob::deliveries`].
pub struct SimExecutor;

impl Dispatch for SimExecutor {
    fn type_name(&self) -> &'static str {
        "SimExecutor"
    }

    fn dispatch(
        &mut self,
        ctx: &Ctx<'_>,
        method: &str,
        args: Vec<Value>,
    ) -> Result<Value, ChainError> {
        let job = ExecutorJob::from_call(self.type_name(), method, &args)?;
        let ext = ctx
            .ext()
            .and_then(|e| e.downcast_ref::<ExecutorExt>())
            .ok_or_else(|| ChainError::handler("the executor needs the simulator's host"))?;
        if ext.fail {
            return Err(ChainError::handler("simulated executor failure"));
        }
        ext.jobs.borrow_mut().push(job);
        Ok(Value::Undefined)
    }
}

/// The bindings of the executors.
pub fn is_executor(a: &Address) -> bool {
    matches!(a, Address::Worker { binding } if binding == EXECUTOR_BINDING)
        || matches!(a, Address::RpcTarget { binding } if binding == EXECUTOR_RPC_BINDING)
}

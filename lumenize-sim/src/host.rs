//! The third host: objects, workers, the network, the endpoint and the platform alarms of one
//! seed, on one seeded event queue with a virtual clock, running the real lumenize-core code.
//!
//! Everything that is random comes from the seed's generators; everything iterated is ordered
//! (`Vec`, `BTreeMap`, the queue ordered by (time, sequence number)); nothing reads the wall
//! clock or depends on thread timing. So a seed replays exactly, and the trace digest is the
//! same on every machine.

use crate::accounting::{self, Ledger};
use crate::faults::Faults;
use crate::objects::{
    is_executor, take_observations, Counted, ExecutorExt, Kind, Obs, Origin, Peer, SimExecutor,
    GRACE_MS, ORIGIN, ORIGIN_SCHEMA, PEER,
};
use crate::oracle::{Oracle, CRON_EXPR};
use crate::rng::Rng;
use crate::storage::{Disk, FaultyStorage, TxReport};
use crate::trace::Trace;
use crate::Mutant;
use lumenize_core::alarms::fire::{self, FailureOutcome};
use lumenize_core::context::Ctx;
use lumenize_core::fetch::{
    Body, ExecutorJob, FetchError, FetchOrchestrator, FetchResponse, Fetching, EXECUTOR_BINDING,
    EXECUTOR_RPC_BINDING, ORCHESTRATOR_BINDING, ORCHESTRATOR_NAME,
};
use lumenize_core::ocan::{ctn, execute_chain, ChainError, Dispatch, OperationChain};
use lumenize_core::storage::{SqlValue, Storage, StorageError};
use lumenize_core::structured_clone::{self, Value};
use lumenize_core::transport::{Address, Outgoing, ReplyTo, Transport};
use lumenize_core::turn::{stateless_turn, Outputs, Turn as EngineTurn, TurnEngine, TurnEnv};
use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap};
use std::rc::Rc;

/// When the workload's client operations happen: within the first minute.
pub const HORIZON_MS: i64 = 60_000;
/// Virtual time allowed after the horizon to reach quiescence.
const DRAIN_MS: i64 = 4 * 3_600_000;
/// Retry delay of an alarm whose object could not be opened (the native runtime's).
const OPEN_RETRY_MS: i64 = 1_000;
/// The virtual epoch: 2026-01-01T00:00:00Z.
const EPOCH_MS: i64 = 1_767_225_600_000;

mod group;

/// A message between addresses.
#[derive(Clone, Debug)]
enum Msg {
    /// Run `chain`; send the outcome to `reply`'s continuation.
    Call {
        chain: String,
        reply: Option<ReplyTo>,
    },
    /// Run `continuation` with `outcome`.
    Deliver {
        continuation: String,
        outcome: Result<String, String>,
    },
}

impl Msg {
    fn text(&self) -> (&str, &str) {
        match self {
            Msg::Call { chain, reply } => (chain, reply.as_ref().map_or("", |r| &r.continuation)),
            Msg::Deliver {
                continuation,
                outcome,
            } => (
                continuation,
                match outcome {
                    Ok(t) | Err(t) => t,
                },
            ),
        }
    }
}

enum Ev {
    Msg {
        from: Address,
        to: Address,
        msg: Msg,
    },
    Client {
        to: Address,
        chain: OperationChain,
    },
    Timer {
        obj: usize,
        gen: u64,
    },
    Exchange {
        job: Box<ExecutorJob>,
        outcome: Result<FetchResponse, FetchError>,
        twice: bool,
    },
    Restart {
        obj: usize,
    },
    ClockJump {
        ms: i64,
    },
    /// The clock the objects read goes back (the queue's time does not).
    ClockBack {
        ms: i64,
    },
    Heal,
    StopCrons,
}

struct Entry {
    at: i64,
    seq: u64,
    ev: Ev,
}

impl PartialEq for Entry {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Entry {
    /// Reversed: the heap pops the earliest (time, sequence) first.
    fn cmp(&self, o: &Self) -> Ordering {
        (o.at, o.seq).cmp(&(self.at, self.seq))
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum ObjKind {
    Origin,
    Peer,
    Orchestrator,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Crash {
    /// The turn ran; the process died before COMMIT.
    BeforeCommit,
    /// Committed; died before sending the outbox.
    AfterCommit,
    /// Committed and sent; died before pushing the alarm change.
    AfterSend,
}

/// Builds an object's instance.
type Factory = Box<dyn Fn(&Ctx<'_>) -> Box<dyn Dispatch>>;
/// An open object: the real turn engine over the simulated disk. Dropped on a crash.
type Engine = TurnEngine<Disk, Factory>;

struct Obj {
    addr: Address,
    label: String,
    kind: ObjKind,
    /// The object's disk: survives crashes.
    disk: Rc<FaultyStorage>,
    engine: Option<Engine>,
    /// The platform alarm (Cloudflare keeps it across crashes; `setAlarm` after commit).
    timer: Option<i64>,
    gen: u64,
    /// Crashed and not reopened yet.
    crashed: bool,
    disk_full_until: i64,
    /// The platform alarm is a retry after an alarm fault (later than the slot).
    backoff: bool,
}

/// The outputs of a turn, for the host to send and re-arm.
struct Turned<R> {
    result: Result<R, ChainError>,
    /// Messages to send (committed turns only).
    out: Vec<(Address, Address, Msg)>,
    /// The alarm change to push to the platform alarm.
    change: Option<Option<i64>>,
    /// A crash after commit.
    crash: Option<Crash>,
    /// The object crashed before commit: nothing of the turn happened.
    crashed: bool,
    /// The alarm change is a retry (the slot could not be re-read), not the slot.
    retry: bool,
}

struct Known;

impl Transport for Known {
    fn knows(&self, to: &Address) -> bool {
        match to {
            Address::Object { binding, .. } => {
                binding == ORIGIN || binding == PEER || binding == ORCHESTRATOR_BINDING
            }
            Address::Worker { binding } => binding == EXECUTOR_BINDING,
            Address::RpcTarget { binding } => binding == EXECUTOR_RPC_BINDING,
        }
    }
}

/// Counters of one seed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Events processed.
    pub events: u64,
    /// Turns run (object and worker).
    pub turns: u64,
    /// Turns that failed (rolled back).
    pub failed_turns: u64,
    /// Object crashes.
    pub crashes: u64,
    /// Messages sent.
    pub messages: u64,
    /// Messages lost.
    pub lost: u64,
    /// Messages duplicated.
    pub duplicated: u64,
    /// Storage faults injected (statements, commits, opens, disk full).
    pub storage_faults: u64,
    /// Failed opens.
    pub open_failures: u64,
    /// Executor jobs that hung.
    pub hung: u64,
    /// Hostile messages that joined a group (`Faults::hostile_ppm`).
    pub hostile: u64,
}

/// One seed's simulation.
pub struct Sim {
    /// The queue's time (true time; forward clock jumps move it).
    now: i64,
    /// What the clock the objects read (and alarms are armed in) is off from `now`: the sum
    /// of the backward jumps so far (zero or negative).
    skew: i64,
    seq: u64,
    queue: BinaryHeap<Entry>,
    objs: Vec<Obj>,
    index: BTreeMap<(String, String), usize>,
    faults: Faults,
    net: Rng,
    flt: Rng,
    /// Lying commits (a stream of their own: the older kinds draw what they drew before).
    lie: Rng,
    /// Hostile messages joining groups (a stream of their own, likewise).
    hostile: Rng,
    /// The oracle (public for the report).
    pub oracle: Oracle,
    /// The trace.
    pub trace: Trace,
    mutant: Mutant,
    healed: bool,
    /// Counters.
    pub stats: Stats,
    endpoint_seen: Vec<String>,
    cron_tags: Vec<(Address, String)>,
    touched: Vec<usize>,
    horizon: i64,
    stop_at: i64,
    /// The sums of the objects' turns' outputs, by address (what a real host counts).
    pub ledger: Ledger,
    /// The same for the executors.
    pub executors: Ledger,
    /// The `lost-accounting` mutant has skipped its turn.
    lost_one: bool,
}

/// The tags (`tg` + 6 digits) mentioned in wire text.
fn tags_in(text: &str) -> impl Iterator<Item = String> + '_ {
    text.match_indices("tg").filter_map(move |(i, _)| {
        let t = text.get(i..i + 8)?;
        t[2..]
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| t.to_string())
    })
}

fn method_of(chain: &str) -> String {
    OperationChain::parse(chain)
        .ok()
        .and_then(|c| c.method_path())
        .unwrap_or_else(|| "?".into())
}

impl Sim {
    /// Builds the seed's world and workload: `ops` client operations within the horizon.
    pub fn new(seed: u64, ops: u32, mutant: Mutant, faults_on: bool, keep_trace: bool) -> Sim {
        let mut wl = Rng::new(seed, 1);
        let faults = if faults_on {
            Faults::pick(&mut Rng::new(seed, 2))
        } else {
            Faults::none()
        };
        let mut sim = Sim {
            now: EPOCH_MS,
            skew: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            objs: Vec::new(),
            index: BTreeMap::new(),
            net: Rng::new(seed, 3),
            flt: Rng::new(seed, 4),
            lie: Rng::new(seed, 5),
            hostile: Rng::new(seed, 6),
            oracle: Oracle::default(),
            trace: Trace::new(keep_trace),
            mutant,
            healed: false,
            stats: Stats::default(),
            endpoint_seen: Vec::new(),
            cron_tags: Vec::new(),
            touched: Vec::new(),
            horizon: EPOCH_MS + HORIZON_MS,
            stop_at: EPOCH_MS + HORIZON_MS + faults.max_delay_ms + faults.jitter_ms + 100,
            ledger: Ledger::default(),
            executors: Ledger::default(),
            lost_one: false,
            faults,
        };
        sim.trace.line(format_args!(
            "seed {seed} ops {ops} mutant {mutant:?} faults {}",
            sim.faults
        ));
        let origins = wl.range(1, 3) as usize;
        for i in 0..origins {
            sim.add(ObjKind::Origin, Address::object(ORIGIN, format!("o{i}")));
        }
        for i in 0..2 {
            sim.add(ObjKind::Peer, Address::object(PEER, format!("p{i}")));
        }
        sim.add(
            ObjKind::Orchestrator,
            Address::object(ORCHESTRATOR_BINDING, ORCHESTRATOR_NAME),
        );
        for i in 0..ops {
            let at = EPOCH_MS + wl.range(0, HORIZON_MS);
            let origin = sim.objs[wl.below(origins as u64) as usize].addr.clone();
            let tag = format!("tg{i:06}");
            let url = format!("https://endpoint.test/{tag}");
            let timeout = Value::from(wl.range(500, 5_000) as f64);
            let r = wl.below(100);
            let chain = match r {
                0..=39 => ctn().call(
                    "startSimple",
                    vec![tag.as_str().into(), url.into(), false.into(), timeout],
                ),
                40..=59 => ctn().call(
                    "startSimple",
                    vec![tag.as_str().into(), url.into(), true.into(), timeout],
                ),
                60..=84 => ctn().call(
                    "startOrchestrated",
                    vec![tag.as_str().into(), url.into(), timeout],
                ),
                85..=92 => ctn().call(
                    "callPeer",
                    vec![
                        tag.as_str().into(),
                        format!("p{}", wl.below(2)).into(),
                        Value::from(wl.range(1, 20) as f64),
                    ],
                ),
                93..=98 => {
                    let fire_at = at + wl.range(0, 5_000);
                    let cancel_at = at + wl.range(0, 6_000);
                    sim.push(
                        cancel_at,
                        Ev::Client {
                            to: origin.clone(),
                            chain: ctn().call("cancelOnce", vec![tag.as_str().into()]),
                        },
                    );
                    ctn().call(
                        "scheduleOnce",
                        vec![tag.as_str().into(), Value::from(fire_at as f64)],
                    )
                }
                _ => {
                    sim.cron_tags.push((origin.clone(), tag.clone()));
                    ctn().call("scheduleCron", vec![tag.as_str().into(), CRON_EXPR.into()])
                }
            };
            sim.push(at, Ev::Client { to: origin, chain });
        }
        for _ in 0..sim.faults.clock_jumps {
            let at = EPOCH_MS + wl.range(0, HORIZON_MS);
            let ms = wl.range(1, sim.faults.max_jump_ms);
            sim.push(at, Ev::ClockJump { ms });
        }
        // Drawn after everything else, so the older workload and faults are unchanged.
        for _ in 0..sim.faults.back_jumps {
            let at = EPOCH_MS + wl.range(0, HORIZON_MS);
            let ms = wl.range(1, sim.faults.max_back_ms);
            sim.push(at, Ev::ClockBack { ms });
        }
        let (h, s) = (sim.horizon, sim.stop_at);
        sim.push(h, Ev::Heal);
        sim.push(s, Ev::StopCrons);
        sim
    }

    /// Lets statement faults hit the engine's re-read of the alarm slot after a rollback,
    /// which runs outside any transaction (finding 2).
    pub fn set_reload_faults(&mut self, on: bool) {
        for o in &self.objs {
            o.disk.faults_outside_transactions(on);
        }
    }

    fn add(&mut self, kind: ObjKind, addr: Address) {
        let key = (
            addr.binding().to_string(),
            addr.id().unwrap_or("").to_string(),
        );
        let storage = match FaultyStorage::new() {
            Ok(s) => s,
            Err(e) => {
                self.oracle
                    .fail(0, format!("cannot create a database: {e}"));
                return;
            }
        };
        self.index.insert(key, self.objs.len());
        self.objs.push(Obj {
            label: addr.to_string(),
            addr,
            kind,
            disk: Rc::new(storage),
            engine: None,
            timer: None,
            gen: 0,
            crashed: false,
            disk_full_until: 0,
            backoff: false,
        });
    }

    fn push(&mut self, at: i64, ev: Ev) {
        self.seq += 1;
        self.queue.push(Entry {
            at,
            seq: self.seq,
            ev,
        });
    }

    /// The clock the objects read: the queue's time, less the backward jumps so far.
    fn clock(&self) -> i64 {
        self.now + self.skew
    }

    fn fault(&mut self, rate: u32) -> bool {
        !self.healed && self.flt.ppm(rate)
    }

    /// Runs to quiescence and checks the end state.
    pub fn run(&mut self, max_events: u64) {
        while let Some(e) = self.queue.pop() {
            self.stats.events += 1;
            self.now = self.now.max(e.at);
            if self.stats.events > max_events || self.now > self.horizon + DRAIN_MS {
                let now = self.now;
                self.oracle.fail(
                    now,
                    format!(
                        "no quiescence after {} events ({} ms past the horizon)",
                        self.stats.events,
                        self.now - self.horizon
                    ),
                );
                break;
            }
            self.handle(e.ev);
            let touched = std::mem::take(&mut self.touched);
            for oi in touched {
                self.check_object(oi);
            }
            if !self.oracle.violations.is_empty() {
                break;
            }
        }
        if self.oracle.violations.is_empty() {
            self.quiescence();
        }
        for v in self.oracle.violations.clone() {
            self.trace.line(format_args!("VIOLATION {v}"));
        }
        self.stats.storage_faults = self.objs.iter().map(|o| o.disk.injected()).sum();
    }

    fn handle(&mut self, ev: Ev) {
        match ev {
            Ev::Msg { from, to, msg } => self.on_msg(from, to, msg),
            Ev::Client { to, chain } => match chain.stringify() {
                Ok(text) => {
                    let from = Address::worker("CLIENT");
                    self.send(
                        from,
                        to,
                        Msg::Call {
                            chain: text,
                            reply: None,
                        },
                        true,
                    )
                }
                Err(e) => self.oracle.fail(self.now, format!("workload chain: {e}")),
            },
            Ev::Timer { obj, gen } => {
                if self.objs[obj].gen == gen {
                    self.on_timer(obj);
                }
            }
            Ev::Exchange {
                job,
                outcome,
                twice,
            } => self.on_exchange(&job, &outcome, twice),
            Ev::Restart { obj } => {
                if self.objs[obj].engine.is_none() {
                    self.trace.line(format_args!(
                        "{} restart {}",
                        self.now, self.objs[obj].label
                    ));
                    if !self.ensure_open(obj) {
                        let at = self.now + OPEN_RETRY_MS;
                        self.push(at, Ev::Restart { obj });
                    }
                }
            }
            Ev::ClockJump { ms } => {
                self.trace
                    .line(format_args!("{} clock jumps {ms} ms", self.now));
                self.now += ms;
            }
            Ev::ClockBack { ms } => {
                self.skew -= ms;
                self.trace.line(format_args!(
                    "{} clock goes back {ms} ms (reads {})",
                    self.now,
                    self.clock()
                ));
            }
            Ev::Heal => {
                self.trace
                    .line(format_args!("{} heal: no new faults", self.now));
                self.healed = true;
            }
            Ev::StopCrons => {
                for (to, tag) in self.cron_tags.clone() {
                    let chain = ctn().call("stopCron", vec![tag.as_str().into()]);
                    if let Ok(text) = chain.stringify() {
                        let from = Address::worker("CLIENT");
                        self.send(
                            from,
                            to,
                            Msg::Call {
                                chain: text,
                                reply: None,
                            },
                            false,
                        );
                    }
                }
            }
        }
    }

    // ---- network -------------------------------------------------------------------------

    fn send(&mut self, from: Address, to: Address, msg: Msg, dup_ok: bool) {
        self.stats.messages += 1;
        let jitter = self.faults.jitter_ms;
        if self.fault(self.faults.loss_ppm) {
            self.stats.lost += 1;
            let (a, b) = msg.text();
            let tags: Vec<String> = tags_in(a).chain(tags_in(b)).collect();
            self.trace
                .line(format_args!("{} lost {from} -> {to} {tags:?}", self.now));
            self.oracle.disturb(tags);
            return;
        }
        let mut latency = self.net.range(1, jitter);
        if self.fault(self.faults.delay_ppm) {
            latency += self.net.range(0, self.faults.max_delay_ms);
        }
        if dup_ok && self.fault(self.faults.dup_ppm) {
            self.stats.duplicated += 1;
            let again = self.now + latency + self.net.range(0, jitter);
            self.push(
                again,
                Ev::Msg {
                    from: from.clone(),
                    to: to.clone(),
                    msg: msg.clone(),
                },
            );
        }
        let at = self.now + latency;
        self.push(at, Ev::Msg { from, to, msg });
    }

    fn on_msg(&mut self, from: Address, to: Address, msg: Msg) {
        let oi = match &to {
            Address::Object { binding, id, .. } => {
                self.index.get(&(binding.clone(), id.clone())).copied()
            }
            _ => {
                if matches!(msg, Msg::Call { .. }) {
                    self.oracle.work.call_delivered(&to.to_string());
                }
                self.worker_turn(from, to, msg);
                return;
            }
        };
        let Some(oi) = oi else {
            self.oracle
                .fail(self.now, format!("message to unknown object {to}"));
            return;
        };
        if !self.ensure_open(oi) {
            self.refuse(&to, msg, "cannot open the object (simulated open failure)");
            return;
        }
        let group = self.take_group(&to, (from, msg));
        if group.len() > 1 {
            self.on_group(oi, &to, group);
            return;
        }
        let Some((from, msg)) = group.into_iter().next() else {
            return;
        };
        let label = self.objs[oi].label.clone();
        match msg {
            Msg::Call { chain, reply } => {
                let method = method_of(&chain);
                let t = self.turn(oi, |e, env| e.call(env, &chain));
                self.trace.line(format_args!(
                    "{} call {label}.{method} from {from}: {}",
                    self.now,
                    outcome_line(&t)
                ));
                let failed = t.result.is_err();
                if t.crashed || (failed && reply.is_none()) {
                    self.oracle.disturb(
                        tags_in(&chain)
                            .chain(reply.iter().flat_map(|r| tags_in(&r.continuation)))
                            .collect::<Vec<_>>(),
                    );
                }
                if t.crashed {
                    return;
                }
                let mut out = t.out;
                if let Some(r) = reply {
                    let outcome = t.result.map_err(|e| e.to_wire());
                    out.push((
                        to.clone(),
                        r.to,
                        Msg::Deliver {
                            continuation: r.continuation,
                            outcome,
                        },
                    ));
                }
                if self.emit(oi, out, t.change, t.crash) && t.retry {
                    self.objs[oi].backoff = true;
                }
            }
            Msg::Deliver {
                continuation,
                outcome,
            } => {
                let t = self.turn(oi, |e, env| e.deliver(env, &continuation, &outcome));
                self.trace.line(format_args!(
                    "{} deliver {label}.{} from {from}: {}",
                    self.now,
                    method_of(&continuation),
                    outcome_line(&t)
                ));
                if t.result.is_err() {
                    self.oracle
                        .disturb(tags_in(&continuation).collect::<Vec<_>>());
                }
                if !t.crashed && self.emit(oi, t.out, t.change, t.crash) && t.retry {
                    self.objs[oi].backoff = true;
                }
            }
        }
    }

    /// Answers a message the target will not run: a waiting continuation gets the error.
    fn refuse(&mut self, target: &Address, msg: Msg, why: &str) {
        self.trace
            .line(format_args!("{} refused at {target}: {why}", self.now));
        match msg {
            Msg::Call {
                reply: Some(r),
                chain,
            } => {
                let _ = chain;
                let err = ChainError::Storage(why.to_string()).to_wire();
                self.send(
                    target.clone(),
                    r.to,
                    Msg::Deliver {
                        continuation: r.continuation,
                        outcome: Err(err),
                    },
                    false,
                );
            }
            other => {
                let (a, b) = other.text();
                let tags: Vec<String> = tags_in(a).chain(tags_in(b)).collect();
                self.oracle.disturb(tags);
            }
        }
    }

    // ---- objects -------------------------------------------------------------------------

    /// Opens the object if it is not (first use, or after a crash): the engine's open (one
    /// transaction: schema, name, the schedules' order), then the platform alarm re-armed at the
    /// committed slot (what a restarted host does).
    fn ensure_open(&mut self, oi: usize) -> bool {
        if self.objs[oi].engine.is_some() {
            return true;
        }
        self.touched.push(oi);
        let fail = self.fault(self.faults.open_fail_ppm);
        let flaky = self.faults.flaky_ppm;
        let obj = &mut self.objs[oi];
        let disk = obj.disk.clone();
        disk.set_dead(false);
        disk.disarm();
        if fail {
            disk.arm(Some(0), false, false);
        }
        let kind = obj.kind;
        let factory: Factory = Box::new(move |ctx: &Ctx<'_>| -> Box<dyn Dispatch> {
            match kind {
                ObjKind::Origin => {
                    // The workload's tables; if this fails, the turn's own statements fail
                    // and the instance is built again by the next turn.
                    let _ = ctx.sql().exec_batch(ORIGIN_SCHEMA);
                    Box::new(Counted(Fetching(Origin::new(flaky))))
                }
                ObjKind::Peer => Box::new(Peer),
                ObjKind::Orchestrator => Box::new(FetchOrchestrator),
            }
        });
        let id = obj.addr.id().unwrap_or("").to_string();
        disk.set_opening(true);
        let opened = TurnEngine::open(
            Disk(disk.clone()),
            obj.addr.binding(),
            &id,
            obj.addr.name(),
            factory,
        );
        disk.set_opening(false);
        disk.disarm();
        match opened {
            Ok(engine) => {
                let armed = engine.armed();
                obj.engine = Some(engine);
                obj.crashed = false;
                self.timer_set(oi, armed);
                true
            }
            Err(e) => {
                self.stats.open_failures += 1;
                let label = obj.label.clone();
                self.trace
                    .line(format_args!("{} open {label} failed: {e}", self.now));
                false
            }
        }
    }

    /// Draws the faults of the next turn(s) on `oi` and arms its disk with them.
    fn arm_turn(&mut self, oi: usize) -> Option<Crash> {
        let crash = if self.fault(self.faults.crash_ppm) {
            Some(match self.flt.below(3) {
                0 => Crash::BeforeCommit,
                1 => Crash::AfterCommit,
                _ => Crash::AfterSend,
            })
        } else {
            None
        };
        let fail_at = if self.fault(self.faults.stmt_fail_ppm) {
            Some(self.flt.below(8) as u32)
        } else {
            None
        };
        let fail_commit = self.fault(self.faults.commit_fail_ppm);
        if self.fault(self.faults.disk_full_ppm) {
            let until = self.now + self.flt.range(1, self.faults.disk_full_ms);
            self.objs[oi].disk_full_until = until;
        }
        let disk_full = !self.healed && self.now < self.objs[oi].disk_full_until;
        let lie = !self.healed && self.lie.ppm(self.faults.commit_lie_ppm);
        let disk = &self.objs[oi].disk;
        disk.arm(fail_at, fail_commit, disk_full);
        if crash == Some(Crash::BeforeCommit) {
            disk.crash_at_commit();
        }
        if lie {
            disk.lie_at_commit();
        }
        take_observations();
        crash
    }

    /// One turn through the engine (`f` picks the entry point), with the seed's faults.
    fn turn<R>(
        &mut self,
        oi: usize,
        f: impl FnOnce(&mut Engine, &TurnEnv<'_>) -> EngineTurn<R>,
    ) -> Turned<R> {
        self.stats.turns += 1;
        self.touched.push(oi);
        let crash = self.arm_turn(oi);
        let now = self.clock();
        let clock = move || now;
        let env = TurnEnv::new(&Known, &clock);
        let Some(engine) = self.objs[oi].engine.as_mut() else {
            return Turned {
                result: Err(ChainError::NoContext),
                out: Vec::new(),
                change: None,
                crash: None,
                crashed: false,
                retry: false,
            };
        };
        let turn = f(engine, &env);
        self.account(oi, turn.outputs());
        self.objs[oi].disk.disarm();
        let obs = take_observations();
        let (result, mut outputs) = turn.into_parts();
        let outbox = outputs.take_outbox();
        let change = outputs.alarm_change();
        let retry = outputs.alarm_faults() > 0;
        let out: Vec<(Address, Address, Msg)> = outbox.into_iter().map(outgoing).collect();
        if self.objs[oi].disk.is_dead() {
            // Died before COMMIT: nothing happened, except what a broken engine released.
            for (from, to, msg) in out {
                self.send(from, to, msg, false);
            }
            self.crash(oi, "before commit");
            return Turned {
                result,
                out: Vec::new(),
                change: None,
                crash: None,
                crashed: true,
                retry: false,
            };
        }
        // What the disk saw, not what the engine reported: a lying COMMIT committed.
        let tx = self.objs[oi].disk.first_tx().unwrap_or_default();
        if result.is_err() {
            self.stats.failed_turns += 1;
        }
        self.committed(oi, now, &tx, result.is_ok(), obs);
        Turned {
            result,
            out,
            change,
            crash: crash.filter(|c| *c != Crash::BeforeCommit),
            crashed: false,
            retry,
        }
    }

    /// Hands the oracle the observations of a turn whose transaction `tx` committed (even if
    /// its COMMIT lied); `reported`: the engine reported success, which it may only do for a
    /// transaction that committed.
    fn committed(&mut self, oi: usize, now: i64, tx: &TxReport, reported: bool, obs: Vec<Obs>) {
        if reported && !tx.committed {
            let label = self.objs[oi].label.clone();
            self.oracle.fail(
                now,
                format!("{label}: the engine reported a commit the disk did not see"),
            );
        }
        if !tx.committed {
            return;
        }
        if !obs.is_empty() {
            let lied = if tx.lied { " (COMMIT lied)" } else { "" };
            self.trace
                .line(format_args!("{} commit{lied} {obs:?}", self.now));
        }
        self.oracle.apply(now, oi, obs, reported);
    }

    /// After a committed turn: sends its messages, then pushes its alarm change, unless the
    /// object crashes between those steps. Returns false when it crashed.
    fn emit(
        &mut self,
        oi: usize,
        out: Vec<(Address, Address, Msg)>,
        change: Option<Option<i64>>,
        crash: Option<Crash>,
    ) -> bool {
        if crash == Some(Crash::AfterCommit) {
            let tags: Vec<String> = out
                .iter()
                .flat_map(|(_, _, m)| {
                    let (a, b) = m.text();
                    tags_in(a).chain(tags_in(b)).collect::<Vec<_>>()
                })
                .collect();
            self.oracle.disturb(tags);
            self.crash(oi, "after commit, before sending");
            return false;
        }
        for (from, to, msg) in out {
            let dup_ok = matches!(&from, Address::Object { binding, .. } if binding == ORIGIN)
                && is_executor(&to);
            self.send(from, to, msg, dup_ok);
        }
        if crash == Some(Crash::AfterSend) {
            self.crash(oi, "after sending, before re-arming");
            return false;
        }
        if let Some(at) = change {
            if self.mutant != Mutant::LostAlarmChange {
                self.timer_set(oi, at);
            }
        }
        true
    }

    /// The object's process dies: the engine (instance, slot, outputs) is gone; the disk
    /// keeps what committed; it restarts a little later (or at its next message).
    fn crash(&mut self, oi: usize, point: &str) {
        self.stats.crashes += 1;
        let obj = &mut self.objs[oi];
        let _ = obj.disk.rollback();
        obj.disk.set_dead(true);
        obj.engine = None;
        obj.crashed = true;
        let label = obj.label.clone();
        self.trace
            .line(format_args!("{} CRASH {label} {point}", self.now));
        let at = self.now + self.flt.range(0, 2_000);
        self.push(at, Ev::Restart { obj: oi });
    }

    fn timer_set(&mut self, oi: usize, at: Option<i64>) {
        let obj = &mut self.objs[oi];
        obj.backoff = false;
        if obj.timer == at {
            return;
        }
        obj.timer = at;
        obj.gen += 1;
        let gen = obj.gen;
        if let Some(t) = at {
            // Armed by the clock, counted in the queue's time (as a monotonic timer): a clock
            // that goes back later makes it fire before its time by the clock.
            let when = t.saturating_sub(self.skew).max(self.now);
            self.push(when, Ev::Timer { obj: oi, gen });
        }
    }

    fn on_timer(&mut self, oi: usize) {
        self.objs[oi].timer = None;
        self.touched.push(oi);
        if !self.ensure_open(oi) {
            let at = self.clock() + OPEN_RETRY_MS;
            self.timer_set(oi, Some(at));
            return;
        }
        // By the clock, which may have gone back since the alarm was armed: then nothing
        // is due yet, and the slot is re-armed.
        // Unknown (a storage fault): one step, as `TurnEngine::alarm` takes.
        let due = fire::due_count(&*self.objs[oi].disk, self.clock()).unwrap_or(1);
        // As `TurnEngine::alarm`: a slot that could not be re-read gets one step, which
        // re-reads it.
        let known = self.objs[oi]
            .engine
            .as_ref()
            .is_some_and(|e| e.armed_is_known());
        let due = if known { due } else { due.max(1) };
        // The `trusted-alarm` mutant: the alarm fired, so its schedule "must" be due.
        let trusted = self.mutant == Mutant::TrustedAlarm;
        let due = if trusted { due.max(1) } else { due };
        self.trace.line(format_args!(
            "{} alarm {} due {due}",
            self.now, self.objs[oi].label
        ));
        self.run_alarms(oi, due as usize, trusted);
    }

    /// Runs up to `limit` due schedules one engine step at a time (`TurnEngine::fire_next`),
    /// so the seed can crash the object between any two of them (`ignore_time`: the earliest
    /// schedules whatever their time, only for the `trusted-alarm` mutant).
    fn run_alarms(&mut self, oi: usize, limit: usize, ignore_time: bool) {
        for _ in 0..limit {
            self.stats.turns += 1;
            self.touched.push(oi);
            let crash = self.arm_turn(oi);
            let now = self.clock();
            // A lying claim turn loses its outbox: remember what it was about.
            let claims = if self.objs[oi].disk.will_lie() {
                self.objs[oi].disk.first_due(now)
            } else {
                None
            };
            let clock = move || now;
            let env = TurnEnv::new(&Known, &clock);
            let Some(engine) = self.objs[oi].engine.as_mut() else {
                return;
            };
            let mut step = engine.fire_next(&env, ignore_time);
            self.account(oi, step.outputs());
            self.objs[oi].disk.disarm();
            let obs = take_observations();
            let out: Vec<(Address, Address, Msg)> = step
                .outputs_mut()
                .take_outbox()
                .into_iter()
                .map(outgoing)
                .collect();
            let change = step.outputs().alarm_change();
            self.trace.line(format_args!(
                "{} fire {}: ran {:?} failed {:?}{}",
                self.now,
                self.objs[oi].label,
                step.ran(),
                step.failures()
                    .iter()
                    .map(|f| format!("{} ({}) -> {:?}", f.id(), f.error(), f.recorded()))
                    .collect::<Vec<_>>(),
                step.fault()
                    .map_or(String::new(), |e| format!(" fault {e}"))
            ));
            if self.objs[oi].disk.is_dead() {
                for (from, to, msg) in out {
                    self.send(from, to, msg, false);
                }
                self.crash(oi, "before commit");
                return;
            }
            // The observations are the claim turn's (the step's first transaction); they count
            // only if it committed, whether or not its COMMIT said so.
            let tx = self.objs[oi].disk.first_tx().unwrap_or_default();
            let reported = !step.ran().is_empty();
            self.committed(oi, now, &tx, reported, obs);
            if tx.lied {
                // E.g. the orchestrator's timeout: its NoReply was in the lost outbox.
                self.oracle
                    .disturb(claims.iter().flat_map(|id| tags_in(id)).collect::<Vec<_>>());
            }
            let gave_up: Vec<String> = step
                .failures()
                .iter()
                .filter(|f| matches!(f.recorded(), Ok(FailureOutcome::GaveUp { .. })))
                .map(|f| f.id().to_string())
                .collect();
            for id in gave_up {
                self.gave_up(&id);
            }
            let retry = step.retry_at().is_some();
            let exhausted = step.exhausted();
            if !self.emit(oi, out, change, crash) {
                return;
            }
            if retry {
                // A fault before the claim (or a slot that could not be re-read): the
                // engine's alarm change is a retry after a backoff, not the past-due slot
                // (which would fire again at once while the fault lasts: finding 1).
                self.objs[oi].backoff = true;
                return;
            }
            if exhausted {
                break;
            }
        }
        // The platform alarm was consumed when it fired: re-sync it with the slot.
        let armed = self.objs[oi].engine.as_ref().and_then(|e| e.armed());
        self.timer_set(oi, armed);
    }

    /// Adds a turn's (or alarm step's) outputs to the object's account, as a real host feeds
    /// its counters. The `lost-accounting` mutant skips the first turn that rolled back.
    fn account(&mut self, oi: usize, out: &Outputs) {
        if self.mutant == Mutant::LostAccounting && !self.lost_one && out.failed_turns() > 0 {
            self.lost_one = true;
            return;
        }
        self.ledger.add(&self.objs[oi].label, out);
    }

    fn gave_up(&mut self, id: &str) {
        let Some((prefix, tag)) = id.split_once('-') else {
            return;
        };
        match prefix {
            "fetch" | "once" => self.oracle.rec(tag).gave_up = true,
            // The orchestrator gave up its timeout: the NoReply is never sent.
            "orch" => self.oracle.rec(tag).disturbed = true,
            _ => {}
        }
    }

    // ---- workers, the executor and the endpoint ----------------------------------------

    fn worker_turn(&mut self, from: Address, to: Address, msg: Msg) {
        self.stats.turns += 1;
        let Msg::Call { chain, reply } = msg else {
            let (a, b) = msg.text();
            let tags: Vec<String> = tags_in(a).chain(tags_in(b)).collect();
            self.oracle.disturb(tags);
            return;
        };
        let ext = ExecutorExt {
            fail: self.fault(self.faults.exec_fail_ppm),
            ..ExecutorExt::default()
        };
        let (result, out) = {
            let now = self.clock();
            let clock = move || now;
            let env = TurnEnv::new(&Known, &clock).with_ext(&ext);
            let factory = |_: &Ctx<'_>| -> Box<dyn Dispatch> { Box::new(SimExecutor) };
            // The engine's stateless turn: a fresh instance, no storage, the outbox released
            // only on success (as the native and Cloudflare workers run).
            let turn = stateless_turn(&env, to.clone(), &factory, |obj, ctx| {
                let c = OperationChain::parse(&chain)?;
                let v = execute_chain(obj, ctx, &c)?;
                structured_clone::stringify(&v).map_err(ChainError::Codec)
            });
            let (result, mut outputs) = turn.into_parts();
            let who = to.to_string();
            self.executors.add(&who, &outputs);
            self.executors
                .add_requests(&who, ext.jobs.borrow().len() as u64);
            (result, outputs.take_outbox())
        };
        self.trace.line(format_args!(
            "{} worker {to} {} from {from}: {}",
            self.now,
            method_of(&chain),
            match &result {
                Ok(_) => "ok".to_string(),
                Err(e) => format!("failed: {e}"),
            }
        ));
        if result.is_err() {
            self.stats.failed_turns += 1;
            if reply.is_none() {
                self.oracle.disturb(tags_in(&chain).collect::<Vec<_>>());
            }
        }
        for job in ext.jobs.into_inner() {
            self.start_exchange(job);
        }
        for o in out {
            self.send(
                o.from,
                o.to,
                Msg::Call {
                    chain: o.chain,
                    reply: o.reply,
                },
                false,
            );
        }
        if let Some(r) = reply {
            let outcome = result.map_err(|e| e.to_wire());
            self.send(
                to,
                r.to,
                Msg::Deliver {
                    continuation: r.continuation,
                    outcome,
                },
                false,
            );
        }
    }

    fn start_exchange(&mut self, job: ExecutorJob) {
        self.endpoint_seen.push(job.request_id.clone());
        if self.fault(self.faults.exec_hang_ppm) {
            self.stats.hung += 1;
            self.trace.line(format_args!(
                "{} executor hangs on {}",
                self.now, job.request_id
            ));
            return;
        }
        let timeout_ms = job.limits.timeout.as_millis() as i64;
        let f = self.faults.clone();
        let (outcome, mut took) = match &job.request {
            Err(e) => (Err(e.clone()), 1),
            Ok(req) => {
                let url = req.url.clone();
                let ok = |status: u16| FetchResponse {
                    status,
                    status_text: String::new(),
                    headers: Vec::new(),
                    body: Body::Text(format!("answer {}", job.request_id)),
                };
                if self.net.ppm(f.ep_timeout_ppm) {
                    (
                        Err(FetchError::ExecutorTimeout {
                            url,
                            timeout_ms: timeout_ms as u64,
                        }),
                        timeout_ms,
                    )
                } else if self.net.ppm(f.ep_refused_ppm) {
                    let message = "connection refused".to_string();
                    (
                        Err(FetchError::Connect { url, message }),
                        self.net.range(1, 20),
                    )
                } else if self.net.ppm(f.ep_huge_ppm) {
                    let limit = job.limits.max_body_bytes;
                    let e = FetchError::BodyTooLarge {
                        url,
                        limit,
                        status: 200,
                    };
                    (Err(e), self.net.range(5, 300))
                } else if self.net.ppm(f.ep_status_ppm) {
                    (Ok(ok(500)), self.net.range(5, 300))
                } else {
                    (Ok(ok(200)), self.net.range(5, 300))
                }
            }
        };
        if self.fault(f.exec_slow_ppm) {
            took += timeout_ms + GRACE_MS + self.flt.range(0, 5_000);
        }
        let twice = self.fault(f.exec_twice_ppm);
        let at = self.now + took;
        self.push(
            at,
            Ev::Exchange {
                job: Box::new(job),
                outcome,
                twice,
            },
        );
    }

    fn on_exchange(
        &mut self,
        job: &ExecutorJob,
        outcome: &Result<FetchResponse, FetchError>,
        twice: bool,
    ) {
        self.oracle.work.exchanges += 1;
        let messages = match job.deliveries(outcome) {
            Ok(m) => m,
            Err(e) => {
                let msg = format!(
                    "{}: the executor cannot build its deliveries: {e}",
                    job.request_id
                );
                self.oracle.fail(self.now, msg);
                return;
            }
        };
        // One message: the simple design (a result call the origin deduplicates); two: the
        // orchestrated baseline (the continuation itself, which nothing deduplicates).
        let simple = messages.len() == 1;
        self.trace.line(format_args!(
            "{} exchange {} ends: {}{}",
            self.now,
            job.request_id,
            match outcome {
                Ok(r) => format!("status {}", r.status),
                Err(e) => e.name().to_string(),
            },
            if twice && simple {
                " (answered twice)"
            } else {
                ""
            }
        ));
        let from = Address::worker(EXECUTOR_BINDING);
        for _ in 0..if twice && simple { 2 } else { 1 } {
            for (to, text) in &messages {
                let msg = Msg::Call {
                    chain: text.clone(),
                    reply: None,
                };
                self.send(from.clone(), to.clone(), msg, simple);
            }
        }
    }

    // ---- invariants ------------------------------------------------------------------------

    fn query_i64(&mut self, oi: usize, sql: &str) -> Result<Option<i64>, StorageError> {
        let storage = &self.objs[oi].disk;
        storage.disarm();
        Ok(storage.exec(sql, &[])?.scalar().and_then(SqlValue::as_i64))
    }

    /// After every step: the alarm slot (in memory, and the platform alarm) equals the
    /// earliest stored schedule, and the pending fetch alarms match the oracle.
    fn check_object(&mut self, oi: usize) {
        let now = self.now;
        self.check_accounts(oi);
        let earliest = match self.query_i64(oi, "SELECT min(time) FROM __lmz_alarms") {
            Ok(e) => e,
            // Never opened successfully: no tables yet.
            Err(_) => return,
        };
        let label = self.objs[oi].label.clone();
        if let Some(engine) = &self.objs[oi].engine {
            // A slot whose re-read failed is the last value known: it is re-read by the next
            // turn, and until then the platform alarm must be armed (a retry), or a schedule
            // the lost re-read would have shown may never fire.
            let known = engine.armed_is_known();
            if !known && self.objs[oi].timer.is_none() {
                self.oracle.fail(
                    now,
                    format!(
                        "{label}: slot unknown (its re-read failed) and no platform alarm armed"
                    ),
                );
            }
            if known && engine.armed() != earliest {
                let armed = engine.armed();
                self.oracle.fail(
                    now,
                    format!(
                        "{label}: slot armed at {armed:?} in memory but earliest schedule {earliest:?}"
                    ),
                );
            }
            let timer = self.objs[oi].timer;
            let retrying = self.objs[oi].backoff && timer.is_some();
            if timer != earliest && !retrying {
                self.oracle.fail(
                    now,
                    format!("{label}: platform alarm {timer:?} but earliest schedule {earliest:?}"),
                );
            }
        }
        if self.objs[oi].kind == ObjKind::Origin {
            let pending = self.query_i64(
                oi,
                "SELECT count(*) FROM __lmz_alarms WHERE id >= 'fetch-' AND id < 'fetch.'",
            );
            let expected = self.oracle.pending_simple(oi);
            if let Ok(p) = pending {
                if p.unwrap_or(0) as u64 != expected {
                    self.oracle.fail(
                        now,
                        format!(
                            "{label}: {p:?} fetch alarms pending, {expected} simple fetches open"
                        ),
                    );
                }
            }
        }
    }

    fn call_direct(&mut self, oi: usize, method: &str) -> Option<f64> {
        if !self.ensure_open(oi) {
            return None;
        }
        let chain = ctn().call(method, vec![]);
        let t = self.turn(oi, |e, env| {
            e.turn(env, |obj, ctx| execute_chain(obj, ctx, &chain))
        });
        match t.result {
            Ok(v) => v.as_f64(),
            Err(e) => {
                let label = self.objs[oi].label.clone();
                self.oracle.fail(
                    self.now,
                    format!("{label}.{method} failed at quiescence: {e}"),
                );
                None
            }
        }
    }

    /// At quiescence (faults healed, queue empty): nothing left pending, every decidable
    /// outcome happened exactly once, the durable logs agree with the oracle, the counters
    /// with the work done.
    fn quiescence(&mut self) {
        let now = self.now;
        self.trace.line(format_args!("{now} quiescence"));
        for oi in 0..self.objs.len() {
            if !self.ensure_open(oi) {
                let label = self.objs[oi].label.clone();
                self.oracle
                    .fail(now, format!("{label}: cannot open at quiescence"));
                continue;
            }
            let label = self.objs[oi].label.clone();
            let rows = self.objs[oi]
                .disk
                .exec("SELECT id, time FROM __lmz_alarms ORDER BY time, id", &[]);
            if let Ok(rows) = rows {
                for r in rows.rows {
                    self.oracle.fail(
                        now,
                        format!(
                            "{label}: schedule {:?} at {:?} still pending at quiescence",
                            r[0], r[1]
                        ),
                    );
                }
            }
            if let Some(t) = self.objs[oi].timer {
                self.oracle
                    .fail(now, format!("{label}: platform alarm still armed at {t}"));
            }
            match self.objs[oi].kind {
                ObjKind::Origin => {
                    let no_ops = self.call_direct(oi, "noOps").unwrap_or(-1.0);
                    let expected = self.oracle.no_ops.get(&oi).copied().unwrap_or(0);
                    if no_ops != expected as f64 {
                        self.oracle.fail(
                            now,
                            format!(
                                "{label}: no_op_count {no_ops}, but {expected} no-ops committed"
                            ),
                        );
                    }
                    self.check_log(oi);
                }
                ObjKind::Orchestrator => {
                    let q = self.call_direct(oi, "queueLength").unwrap_or(-1.0);
                    if q != 0.0 {
                        self.oracle
                            .fail(now, format!("{label}: {q} requests left in its queue"));
                    }
                }
                ObjKind::Peer => {}
            }
        }
        for id in std::mem::take(&mut self.endpoint_seen) {
            if self.oracle.tags.get(&id).and_then(|r| r.kind).is_none() {
                self.oracle.fail(
                    now,
                    format!("output gate: the endpoint was asked for {id}, which never started"),
                );
            }
        }
        for oi in 0..self.objs.len() {
            self.check_accounts(oi);
        }
        let hung = self.stats.hung;
        for f in accounting::check_executors(&self.executors, &self.oracle.work, hung) {
            self.oracle.fail(now, f);
        }
        self.oracle.at_quiescence(now);
    }

    /// The object's account against the work seen done: its disk's transactions, and for an
    /// origin the no-op results that committed.
    fn check_accounts(&mut self, oi: usize) {
        let label = &self.objs[oi].label;
        let account = self.ledger.get(label);
        let mut found = accounting::check_object(label, &account, &self.objs[oi].disk.work());
        if self.objs[oi].kind == ObjKind::Origin {
            // The no-ops of turns the engine reported committed (a lying COMMIT's are not).
            let no_ops = self.oracle.no_ops.get(&oi).copied().unwrap_or(0)
                - self.oracle.no_ops_unreported.get(&oi).copied().unwrap_or(0);
            found.extend(accounting::check_late(label, &account, no_ops));
        }
        for f in found {
            self.oracle.fail(self.now, f);
        }
    }

    /// The durable `sim_log` agrees with what the oracle saw commit.
    fn check_log(&mut self, oi: usize) {
        let rows = self.objs[oi].disk.exec(
            "SELECT tag, what, count(*) FROM sim_log GROUP BY tag, what ORDER BY tag, what",
            &[],
        );
        let Ok(rows) = rows else { return };
        let mut durable: BTreeMap<(String, String), i64> = BTreeMap::new();
        for r in rows.rows {
            if let (Some(t), Some(w), Some(n)) = (r[0].as_str(), r[1].as_str(), r[2].as_i64()) {
                durable.insert((t.to_string(), w.to_string()), n);
            }
        }
        let mut seen: BTreeMap<(String, String), i64> = BTreeMap::new();
        for (tag, rec) in &self.oracle.tags {
            if rec.origin != oi || rec.kind.is_none() {
                continue;
            }
            let mut put = |what: &str, n: usize| {
                if n > 0 {
                    seen.insert((tag.clone(), what.to_string()), n as i64);
                }
            };
            match rec.kind {
                Some(Kind::Call) => put("called", rec.outcomes.len()),
                Some(Kind::Once) => {
                    put("fired", rec.outcomes.len());
                    put("cancelled", rec.cancelled as usize);
                }
                Some(Kind::Cron) => put("tick", rec.ticks.len()),
                _ => put("ran", rec.outcomes.len()),
            }
        }
        if durable != seen {
            let label = self.objs[oi].label.clone();
            let diff: Vec<_> = durable
                .iter()
                .filter(|(k, v)| seen.get(*k) != Some(v))
                .chain(seen.iter().filter(|(k, v)| durable.get(*k) != Some(v)))
                .take(4)
                .collect();
            self.oracle.fail(
                self.now,
                format!("{label}: sim_log differs from the committed observations: {diff:?}"),
            );
        }
    }
}

fn outgoing(o: Outgoing) -> (Address, Address, Msg) {
    (
        o.from,
        o.to,
        Msg::Call {
            chain: o.chain,
            reply: o.reply,
        },
    )
}

fn outcome_line<R>(t: &Turned<R>) -> String {
    if t.crashed {
        return "CRASH before commit".into();
    }
    let base = match &t.result {
        Ok(_) => "committed".to_string(),
        Err(e) => format!("rolled back: {e}"),
    };
    match t.crash {
        Some(c) => format!("{base}, then CRASH {c:?}"),
        None => base,
    }
}

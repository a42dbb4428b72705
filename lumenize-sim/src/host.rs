//! The third host: objects, workers, the network, the endpoint and the platform alarms of one
//! seed, on one seeded event queue with a virtual clock, running the real lumenize-core code.
//!
//! Everything that is random comes from the seed's generators; everything iterated is ordered
//! (`Vec`, `BTreeMap`, the queue ordered by (time, sequence number)); nothing reads the wall
//! clock or depends on thread timing. So a seed replays exactly, and the trace digest is the
//! same on every machine.

use crate::accounting::Ledger;
use crate::direct::SimDirect;
use crate::faults::Faults;
use crate::objects::{ORIGIN, PEER};
use crate::oracle::{Oracle, CRON_EXPR};
use crate::rng::Rng;
use crate::storage::{Disk, FaultyStorage};
use crate::trace::Trace;
use crate::Mutant;
use lumenize_core::context::Ctx;
use lumenize_core::fetch::{
    ExecutorJob, FetchError, FetchResponse, EXECUTOR_BINDING, EXECUTOR_RPC_BINDING,
    ORCHESTRATOR_BINDING, ORCHESTRATOR_NAME,
};
use lumenize_core::ocan::{ctn, ChainError, Dispatch, OperationChain};
use lumenize_core::structured_clone::Value;
use lumenize_core::transport::{Address, Outgoing, ReplyTo, Transport};
use lumenize_core::turn::TurnEngine;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap};
use std::rc::Rc;

/// When the workload's client operations happen: within the first minute.
pub const HORIZON_MS: i64 = 60_000;
/// Of the workload's fetches, the share (ppm) that are direct fetches, drawn from a stream of
/// their own so the rest of the workload is what it was before they existed.
const DIRECT_PPM: u32 = 200_000;
/// Virtual time allowed after the horizon to reach quiescence.
const DRAIN_MS: i64 = 4 * 3_600_000;
/// Retry delay of an alarm whose object could not be opened (the native runtime's).
const OPEN_RETRY_MS: i64 = 1_000;
/// The virtual epoch: 2026-01-01T00:00:00Z.
const EPOCH_MS: i64 = 1_767_225_600_000;

mod alarms;
mod direct;
mod group;
mod invariants;
mod network;
mod turns;
mod workers;

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
    /// The rest of an invocation that awaited a direct fetch: `chain` holds the outcome. Never
    /// on the network (the object's own process resumes it).
    Resume { chain: String },
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
            Msg::Resume { chain } => (chain, ""),
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
    /// A direct fetch's exchange ends, on the process `life` of object `obj`.
    Direct {
        obj: usize,
        life: u64,
        direct: Box<SimDirect>,
        outcome: Result<FetchResponse, FetchError>,
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
    /// The object's process: counts its crashes (work in flight dies with its process).
    life: u64,
    disk_full_until: i64,
    /// The platform alarm is a retry after an alarm fault (later than the slot).
    backoff: bool,
}

/// The outputs of a turn, for the host to send and re-arm.
struct Turned<R> {
    result: Result<R, ChainError>,
    /// Messages to send (committed turns only).
    out: Vec<(Address, Address, Msg)>,
    /// Direct fetches to start after the messages (committed turns only).
    effects: Vec<SimDirect>,
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
    /// Which fetches are direct (likewise).
    direct: Rng,
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
    /// The `lost-effect` mutant has dropped its direct fetch.
    lost_effect: bool,
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
            direct: Rng::new(seed, 7),
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
            lost_effect: false,
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
                0..=84 if sim.direct.ppm(DIRECT_PPM) => {
                    let args = vec![tag.as_str().into(), url.into(), timeout];
                    if sim.direct.below(4) == 0 {
                        // Started by a schedule: the effect comes from an alarm run.
                        let at = Value::from((at + sim.direct.range(0, 3_000)) as f64);
                        ctn().call("scheduleDirect", [args, vec![at]].concat())
                    } else {
                        ctn().call("startDirect", args)
                    }
                }
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
            life: 0,
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
            Ev::Direct {
                obj,
                life,
                direct,
                outcome,
            } => self.on_direct_done(obj, life, &direct, &outcome),
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

//! Workers, the executor and the endpoint: stateless turns, the HTTP exchange an executor
//! starts, and its outcome coming back.

use super::{method_of, tags_in, Ev, Known, Msg, Sim};
use crate::objects::{ExecutorExt, SimExecutor, GRACE_MS};
use lumenize_core::context::Ctx;
use lumenize_core::fetch::{
    Body, ExecutorJob, FetchError, FetchRequest, FetchResponse, HttpLimits, EXECUTOR_BINDING,
};
use lumenize_core::ocan::{execute_chain, ChainError, Dispatch, OperationChain};
use lumenize_core::structured_clone;
use lumenize_core::transport::Address;
use lumenize_core::turn::{stateless_turn, TurnEnv};

impl Sim {
    pub(super) fn worker_turn(&mut self, from: Address, to: Address, msg: Msg) {
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

    pub(super) fn start_exchange(&mut self, job: ExecutorJob) {
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
            Ok(req) => self.endpoint(&job.request_id, req, job.limits),
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

    /// The simulated endpoint's answer to one exchange, and how long it takes (ms): a
    /// timeout at the exchange's limit, a refused connection, a body over the cap, a 500, or
    /// a 200, at the seed's rates.
    pub(super) fn endpoint(
        &mut self,
        id: &str,
        req: &FetchRequest,
        limits: HttpLimits,
    ) -> (Result<FetchResponse, FetchError>, i64) {
        let timeout_ms = limits.timeout.as_millis() as i64;
        let f = &self.faults;
        let (timeout, refused, huge, status) = (
            f.ep_timeout_ppm,
            f.ep_refused_ppm,
            f.ep_huge_ppm,
            f.ep_status_ppm,
        );
        let url = req.url.clone();
        let ok = |status: u16| FetchResponse {
            status,
            status_text: String::new(),
            headers: Vec::new(),
            body: Body::Text(format!("answer {id}")),
        };
        if self.net.ppm(timeout) {
            (
                Err(FetchError::ExecutorTimeout {
                    url,
                    timeout_ms: timeout_ms as u64,
                }),
                timeout_ms,
            )
        } else if self.net.ppm(refused) {
            let message = "connection refused".to_string();
            (
                Err(FetchError::Connect { url, message }),
                self.net.range(1, 20),
            )
        } else if self.net.ppm(huge) {
            let limit = limits.max_body_bytes;
            let e = FetchError::BodyTooLarge {
                url,
                limit,
                status: 200,
            };
            (Err(e), self.net.range(5, 300))
        } else if self.net.ppm(status) {
            (Ok(ok(500)), self.net.range(5, 300))
        } else {
            (Ok(ok(200)), self.net.range(5, 300))
        }
    }

    pub(super) fn on_exchange(
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
}

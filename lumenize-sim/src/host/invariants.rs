//! The invariants checked during a run and at quiescence: each object's tables against the
//! oracle, the accounts, the log.

use super::{ObjKind, Sim};
use crate::accounting;
use crate::objects::Kind;
use lumenize_core::ocan::{ctn, execute_chain};
use lumenize_core::storage::{SqlValue, Storage, StorageError};
use std::collections::BTreeMap;

impl Sim {
    pub(super) fn query_i64(&mut self, oi: usize, sql: &str) -> Result<Option<i64>, StorageError> {
        let storage = &self.objs[oi].disk;
        storage.disarm();
        Ok(storage.exec(sql, &[])?.scalar().and_then(SqlValue::as_i64))
    }

    /// After every step: the alarm slot (in memory, and the platform alarm) equals the
    /// earliest stored schedule, and the pending fetch alarms match the oracle.
    pub(super) fn check_object(&mut self, oi: usize) {
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

    pub(super) fn call_direct(&mut self, oi: usize, method: &str) -> Option<f64> {
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
    pub(super) fn quiescence(&mut self) {
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
    pub(super) fn check_accounts(&mut self, oi: usize) {
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
    pub(super) fn check_log(&mut self, oi: usize) {
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

//! Accounting: the host sums every turn's [`Outputs`] per object and per executor, as a real
//! host feeds its counters (`runtime/host.rs`, `runtime/worker.rs`), and the oracle checks the
//! sums against the work it saw done by other means.
//!
//! The other means are never the `Outputs` themselves: the object's disk counts its turns'
//! transactions, commits and written rows ([`DiskWork`]); the oracle counts the committed
//! `handle_result` no-ops, the calls delivered to each executor and the exchanges the endpoint
//! finished. So a host that skips one turn's outputs (mutant `lost-accounting`), or an engine
//! that miscounts a turn, breaks an equality.

use crate::storage::DiskWork;
use lumenize_core::turn::Outputs;
use std::collections::BTreeMap;

/// The sums of one object's or executor's outputs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Account {
    /// Turns run ([`Outputs::turns`]).
    pub turns: u64,
    /// Turns rolled back ([`Outputs::failed_turns`]).
    pub failed_turns: u64,
    /// Rows written ([`Outputs::rows`]).
    pub rows_written: u64,
    /// Rows read.
    pub rows_read: u64,
    /// Late outcomes, every turn ([`Outputs::late_outcomes`]).
    pub late_outcomes: u64,
    /// Late outcomes of outputs whose turns all committed.
    pub late_committed: u64,
    /// Alarm-slot re-reads that failed ([`Outputs::alarm_faults`]).
    pub alarm_faults: u64,
    /// Executor jobs its turns handed to the HTTP exchange.
    pub requests: u64,
}

impl std::ops::AddAssign for Account {
    fn add_assign(&mut self, a: Account) {
        self.turns += a.turns;
        self.failed_turns += a.failed_turns;
        self.rows_written += a.rows_written;
        self.rows_read += a.rows_read;
        self.late_outcomes += a.late_outcomes;
        self.late_committed += a.late_committed;
        self.alarm_faults += a.alarm_faults;
        self.requests += a.requests;
    }
}

/// Per object or executor (by address), the sums of its outputs.
#[derive(Debug, Default)]
pub struct Ledger {
    accounts: BTreeMap<String, Account>,
}

impl Ledger {
    /// Adds one turn's (or one alarm step's) outputs to `who`'s account.
    pub fn add(&mut self, who: &str, out: &Outputs) {
        let a = self.accounts.entry(who.to_string()).or_default();
        a.turns += out.turns();
        a.failed_turns += out.failed_turns();
        a.rows_written += out.rows().rows_written;
        a.rows_read += out.rows().rows_read;
        a.late_outcomes += out.late_outcomes();
        if out.failed_turns() == 0 {
            a.late_committed += out.late_outcomes();
        }
        a.alarm_faults += out.alarm_faults();
    }

    /// Adds executor jobs to `who`'s account.
    pub fn add_requests(&mut self, who: &str, n: u64) {
        self.accounts.entry(who.to_string()).or_default().requests += n;
    }

    /// `who`'s account (zero when it never ran).
    pub fn get(&self, who: &str) -> Account {
        self.accounts.get(who).copied().unwrap_or_default()
    }

    /// The sum of every account.
    pub fn total(&self) -> Account {
        let mut t = Account::default();
        for a in self.accounts.values() {
            t += *a;
        }
        t
    }
}

/// What the oracle saw done, other than through `Outputs`.
#[derive(Debug, Default)]
pub struct Work {
    /// Calls delivered to each executor (worker or RPC target), by address.
    pub executor_calls: BTreeMap<String, u64>,
    /// HTTP exchanges the endpoint finished for the executors. A direct fetch's exchange is
    /// not one (the object performs it, no executor request is billed); its resumed turn is a
    /// turn of the object like any other, counted against the disk.
    pub exchanges: u64,
}

impl Work {
    /// A call reached the executor `to` (it will run one turn).
    pub fn call_delivered(&mut self, to: &str) {
        *self.executor_calls.entry(to.to_string()).or_default() += 1;
    }
}

/// Checks an object's account against its disk's transactions (after every step): one turn
/// per transaction attempted, a failed turn per transaction that did not commit or whose
/// COMMIT reported failure although it committed (the engine cannot tell those apart, and
/// must count them as failed: it released nothing), the rows written inside them, and one
/// alarm fault per fault injected outside a transaction.
pub fn check_object(label: &str, a: &Account, d: &DiskWork) -> Vec<String> {
    let mut found = Vec::new();
    let mut eq = |what: &str, accounted: u64, done: u64| {
        if accounted != done {
            found.push(format!(
                "{label}: accounting says {accounted} {what}, the disk saw {done}"
            ));
        }
    };
    eq("turns", a.turns, d.begun);
    eq(
        "failed turns",
        a.failed_turns,
        d.begun - d.committed + d.lied,
    );
    eq("rows written", a.rows_written, d.rows_written);
    eq("alarm faults", a.alarm_faults, d.outside_faults);
    found
}

/// Checks an origin's late outcomes (after every step): each committed `handle_result` that
/// found its fetch already ended (a no-op) is one late outcome of a committed turn.
pub fn check_late(label: &str, a: &Account, no_ops: u64) -> Option<String> {
    (a.late_committed != no_ops).then(|| {
        format!(
            "{label}: accounting says {} late outcomes committed, {no_ops} no-op results committed",
            a.late_committed
        )
    })
}

/// Checks the executors at quiescence (`ledger` holds only theirs): each ran one turn per
/// call delivered to it, and their requests are the exchanges the endpoint finished plus those
/// that hung.
pub fn check_executors(ledger: &Ledger, work: &Work, hung: u64) -> Vec<String> {
    let mut found = Vec::new();
    let mut names: Vec<&String> = work.executor_calls.keys().collect();
    names.extend(ledger.accounts.keys());
    names.sort();
    names.dedup();
    let mut requests = 0;
    for who in names {
        let a = ledger.get(who);
        let calls = work.executor_calls.get(who).copied().unwrap_or(0);
        if a.turns != calls {
            found.push(format!(
                "{who}: accounting says {} turns, {calls} calls were delivered",
                a.turns
            ));
        }
        requests += a.requests;
    }
    if requests != work.exchanges + hung {
        found.push(format!(
            "executors: accounting says {requests} requests, the endpoint finished {} and {hung} hung",
            work.exchanges
        ));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_skipped_turn_breaks_the_object_equalities() {
        let d = DiskWork {
            begun: 3,
            committed: 2,
            rows_written: 5,
            outside_faults: 0,
            lied: 0,
        };
        let a = Account {
            turns: 3,
            failed_turns: 1,
            rows_written: 5,
            ..Account::default()
        };
        assert!(check_object("o", &a, &d).is_empty());
        let skipped = Account {
            turns: 2,
            failed_turns: 0,
            ..a
        };
        assert_eq!(check_object("o", &skipped, &d).len(), 2);
        // One of the two commits lied: the engine must have counted it as failed.
        let lied = DiskWork { lied: 1, ..d };
        assert_eq!(check_object("o", &a, &lied).len(), 1);
        let failed = Account {
            failed_turns: 2,
            ..a
        };
        assert!(check_object("o", &failed, &lied).is_empty());
    }

    #[test]
    fn a_miscounted_executor_breaks_its_equalities() {
        let mut ledger = Ledger::default();
        let work = Work {
            executor_calls: BTreeMap::from([("worker:EXECUTOR".to_string(), 1)]),
            exchanges: 1,
        };
        assert_eq!(check_executors(&ledger, &work, 0).len(), 2);
        let out = Outputs::default();
        ledger.add("worker:EXECUTOR", &out);
        ledger.add_requests("worker:EXECUTOR", 1);
        // `Outputs::default()` counts no turn: still one short.
        assert_eq!(check_executors(&ledger, &work, 0).len(), 1);
        // One request, but one exchange finished and one hung.
        assert_eq!(check_executors(&ledger, &work, 1).len(), 2);
    }
}

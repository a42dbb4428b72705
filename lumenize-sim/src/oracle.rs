//! The oracle: what committed, per tag, and the invariants over it.

use crate::objects::{Kind, Obs};
use lumenize_core::alarms::next_cron_time;
use std::collections::BTreeMap;

/// The cron expression of every cron schedule (every 5 s).
pub const CRON_EXPR: &str = "*/5 * * * * *";

/// What is known about one tag.
#[derive(Debug, Default)]
pub struct Rec {
    /// Its kind, once its start committed.
    pub kind: Option<Kind>,
    /// The origin it runs on.
    pub origin: usize,
    /// Outcomes its continuation ran with, in order.
    pub outcomes: Vec<String>,
    /// A message carrying it was lost, dropped or failed (its outcome is not decidable for
    /// the designs that do not promise delivery: orchestrated and `call_raw`).
    pub disturbed: bool,
    /// Its schedule was given up after every retry failed.
    pub gave_up: bool,
    /// One-shot: cancelled before firing.
    pub cancelled: u32,
    /// Cron: firing times.
    pub ticks: Vec<i64>,
    /// Cron: stopped.
    pub stopped: bool,
    /// Its start committed and the engine reported so (false after a lying COMMIT, whose
    /// turn the engine reports failed and whose outputs it drops).
    pub start_reported: bool,
    /// Direct: exchanges the endpoint saw for it.
    pub exchanges: u32,
}

/// Everything the oracle knows, and the violations found.
#[derive(Default)]
pub struct Oracle {
    /// Per tag (BTreeMap: its order is part of the trace).
    pub tags: BTreeMap<String, Rec>,
    /// Per origin: `handle_result` no-ops that committed.
    pub no_ops: BTreeMap<usize, u64>,
    /// Per origin: of those, the ones whose COMMIT reported failure (the engine counts
    /// their turn as failed, so its accounting does not count them as committed).
    pub no_ops_unreported: BTreeMap<usize, u64>,
    /// Orchestrated fetches that got a late result after their NoReply (the documented
    /// weakness of the baseline, counted, not a violation).
    pub orch_late: u64,
    /// Orchestrated fetches whose orchestrator timed out after the result had run the
    /// continuation (its delivery report lost or late): the same weakness, other order.
    pub orch_timeout_after_result: u64,
    /// Direct fetches whose continuation never ran because the object's process died between
    /// the commit and the end of the exchange (the design's documented trade-off).
    pub direct_lost: u64,
    /// Work seen done that the executors' accounting must add up to.
    pub work: crate::accounting::Work,
    /// Violations, in the order found.
    pub violations: Vec<String>,
}

impl Oracle {
    /// A violation.
    pub fn fail(&mut self, now: i64, what: String) {
        self.violations.push(format!("t={now}: {what}"));
    }

    /// The record of `tag`.
    pub fn rec(&mut self, tag: &str) -> &mut Rec {
        self.tags.entry(tag.to_string()).or_default()
    }

    /// Marks tags whose message was lost or failed.
    pub fn disturb(&mut self, tags: impl IntoIterator<Item = String>) {
        for t in tags {
            self.rec(&t).disturbed = true;
        }
    }

    /// Applies a committed turn's observations, checking the at-most-once rules at once.
    /// `reported`: the engine reported the commit (false when the COMMIT lied).
    pub fn apply(&mut self, now: i64, origin: usize, obs: Vec<Obs>, reported: bool) {
        for o in obs {
            match o {
                Obs::Started(tag, kind) => {
                    let r = self.rec(&tag);
                    if let Some(k) = r.kind {
                        let msg = format!("{tag} ({k:?}) started twice");
                        self.fail(now, msg);
                    }
                    let r = self.rec(&tag);
                    r.kind = Some(kind);
                    r.origin = origin;
                    r.start_reported = reported;
                }
                Obs::Ran(tag, what) => {
                    let r = self.rec(&tag);
                    let kind = r.kind;
                    let prior = r.outcomes.clone();
                    r.outcomes.push(what.clone());
                    match (kind, prior.as_slice()) {
                        (None, _) => self.fail(
                            now,
                            format!("{tag}: continuation ran for a fetch that never started"),
                        ),
                        (_, []) => {}
                        // The baseline's documented weakness: a result after its NoReply.
                        (Some(Kind::Orchestrated), [first])
                            if first == "FetchTimeoutError" && what != "FetchTimeoutError" =>
                        {
                            self.orch_late += 1
                        }
                        // The same weakness the other way round: the delivery report was lost
                        // or late, so the orchestrator's timeout follows the result.
                        (Some(Kind::Orchestrated), [first])
                            if first != "FetchTimeoutError" && what == "FetchTimeoutError" =>
                        {
                            self.orch_timeout_after_result += 1
                        }
                        (Some(k), _) => self.fail(
                            now,
                            format!(
                                "{tag} ({k:?}): continuation ran again with {what} after {prior:?}"
                            ),
                        ),
                    }
                }
                Obs::Called(tag, what) => {
                    let r = self.rec(&tag);
                    let prior = r.outcomes.clone();
                    r.outcomes.push(what.clone());
                    if !prior.is_empty() {
                        self.fail(
                            now,
                            format!(
                                "{tag}: call continuation ran again with {what} after {prior:?}"
                            ),
                        );
                    }
                }
                Obs::Fired(tag, at, due) => {
                    if at < due {
                        let msg = format!(
                            "{tag}: one-shot schedule fired at {at}, before its time {due}"
                        );
                        self.fail(now, msg);
                    }
                    self.once_outcome(now, &tag, true)
                }
                Obs::Cancelled(tag) => self.once_outcome(now, &tag, false),
                Obs::Tick(tag, at) => {
                    let last = self.rec(&tag).ticks.last().copied();
                    if let Some(last) = last {
                        let next = next_cron_time(CRON_EXPR, last).unwrap_or(i64::MAX);
                        if at < next {
                            let msg = format!("{tag}: cron fired at {at}, before its next time {next} after {last}");
                            self.fail(now, msg);
                        }
                    }
                    let stopped = self.rec(&tag).stopped;
                    if stopped {
                        self.fail(now, format!("{tag}: cron fired after it was stopped"));
                    }
                    self.rec(&tag).ticks.push(at);
                }
                Obs::Stopped(tag) => self.rec(&tag).stopped = true,
                Obs::HandleResult(ran) => {
                    if !ran {
                        *self.no_ops.entry(origin).or_default() += 1;
                        if !reported {
                            *self.no_ops_unreported.entry(origin).or_default() += 1;
                        }
                    }
                }
            }
        }
    }

    /// The endpoint sees the exchange of direct fetch `tag`: only for a start that committed
    /// and was reported (never for a turn or group message that rolled back, a failed
    /// group, a lying COMMIT or the spoiled first run of a group), and only once.
    pub fn direct_exchange(&mut self, now: i64, tag: &str) {
        let r = self.rec(tag);
        r.exchanges += 1;
        let (kind, reported, n) = (r.kind, r.start_reported, r.exchanges);
        if kind != Some(Kind::Direct) || !reported {
            let msg = format!(
                "output gate: the endpoint saw the direct exchange {tag}, whose start did not \
                 commit (kind {kind:?}, reported {reported})"
            );
            self.fail(now, msg);
        } else if n > 1 {
            self.fail(
                now,
                format!("{tag}: the endpoint saw {n} exchanges of one direct fetch"),
            );
        }
    }

    /// Direct fetch `tag` lost its continuation: its process died mid-fetch.
    pub fn direct_lost(&mut self, tag: &str) {
        self.direct_lost += 1;
        self.rec(tag).disturbed = true;
    }

    fn once_outcome(&mut self, now: i64, tag: &str, fired: bool) {
        let r = self.rec(tag);
        let before = r.outcomes.len() as u32 + r.cancelled;
        if fired {
            r.outcomes.push("fired".into());
        } else {
            r.cancelled += 1;
        }
        if before > 0 {
            self.fail(
                now,
                format!("{tag}: one-shot schedule fired or was cancelled twice"),
            );
        }
    }

    /// Simple fetches of `origin` that started and have not ended (the oracle's count of
    /// pending `fetch-*` alarms).
    pub fn pending_simple(&self, origin: usize) -> u64 {
        self.tags
            .values()
            .filter(|r| {
                r.origin == origin
                    && matches!(r.kind, Some(Kind::Simple | Kind::SimpleRpc))
                    && r.outcomes.is_empty()
                    && !r.gave_up
            })
            .count() as u64
    }

    /// The checks at quiescence: every decidable outcome happened exactly once.
    pub fn at_quiescence(&mut self, now: i64) {
        let mut found = Vec::new();
        for (tag, r) in &self.tags {
            let Some(kind) = r.kind else { continue };
            let n = r.outcomes.len();
            match kind {
                Kind::Simple | Kind::SimpleRpc => {
                    if n + usize::from(r.gave_up) != 1 {
                        found.push(format!(
                            "{tag} ({kind:?}): ended in {n} outcomes {:?} (gave up: {})",
                            r.outcomes, r.gave_up
                        ));
                    }
                }
                // At most once is checked as it runs; exactly once unless a crash between the
                // commit and the end of the exchange, or a failing turn (the start's outputs
                // lost, the resumed turn rolled back), prevented it: nothing retries it.
                Kind::Direct => {
                    if n == 0 && !r.disturbed {
                        found.push(format!(
                            "{tag} (Direct): nothing prevented it, yet its continuation never \
                             ran ({} exchanges)",
                            r.exchanges
                        ));
                    }
                }
                Kind::Orchestrated | Kind::Call => {
                    if n == 0 && !r.disturbed {
                        found.push(format!("{tag} ({kind:?}): nothing lost, yet no outcome"));
                    }
                }
                Kind::Once => {
                    if n as u32 + r.cancelled + u32::from(r.gave_up) != 1 {
                        found.push(format!(
                            "{tag}: one-shot fired {n}x, cancelled {}x, gave up {}",
                            r.cancelled, r.gave_up
                        ));
                    }
                }
                Kind::Cron => {}
            }
        }
        for f in found {
            self.fail(now, f);
        }
    }
}

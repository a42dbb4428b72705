//! Deliberately broken rules, for the simulator to prove it can fail (issue 15). Compiled in
//! with the test-only feature `sim-mutants`; even then nothing changes until a mutant is
//! selected on the thread ([`select_mutant`]). Without the feature, [`active`] is `false`.

/// A deliberately broken rule of the engine.
///
/// ```
/// # #[cfg(feature = "sim-mutants")] {
/// use lumenize_core::turn::{select_mutant, selected_mutant, Mutant};
/// let m: Mutant = "double-continuation".parse().unwrap();
/// select_mutant(Some(m));
/// assert_eq!(selected_mutant(), Some(Mutant::DoubleContinuation));
/// select_mutant(None);
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(not(feature = "sim-mutants"), allow(dead_code))]
pub enum Mutant {
    /// `double-continuation`: a fired one-shot schedule is put back after its continuation
    /// committed, so it can run again (by its next firing or a racing `cancel_schedule`).
    DoubleContinuation,
    /// `outbox-before-commit`: a turn that rolled back still releases its outbox.
    OutboxBeforeCommit,
    /// `stale-alarm-slot`: after a rollback the slot is not re-read, so an arming that rolled
    /// back survives in memory and is flushed by a later turn.
    StaleAlarmSlot,
    /// `group-outputs-before-commit`: when a group's shared commit fails, the messages whose
    /// savepoints were kept still release their outboxes (no output gate).
    GroupOutputsBeforeCommit,
    /// `failed-commit-rewinds`: a failed COMMIT is taken for a clean rollback: the slot is
    /// rewound from its undo log instead of re-read. Right when nothing committed, wrong when
    /// the COMMIT wrote and then reported failure (only a lying commit tells them apart).
    FailedCommitRewinds,
    /// `failure-after-unknown-commit`: an alarm step whose claim turn's COMMIT failed records
    /// the schedule as failed (backoff), as if it had rolled back. Harmless when nothing
    /// committed; when the COMMIT wrote and then reported failure, a schedule that ran is
    /// backed off (a cron fires again before its next time). The defect lying commits found.
    FailureAfterUnknownCommit,
    /// `statement-rollback-fails-group`: a message whose statement makes SQLite roll the
    /// whole transaction back (`INSERT OR ROLLBACK`, `RAISE(ROLLBACK)`) fails its whole group,
    /// as before the fix: every other message gets an error and loses its writes.
    StatementRollbackFailsGroup,
    /// `effects-of-rolled-back-turn`: a turn, or a message of a group, that rolled back still
    /// releases the effects it queued with `Ctx::after_commit` (a direct fetch starts for
    /// work that never committed).
    EffectsOfRolledBackTurn,
    /// `rerun-releases-spoiled-effects`: when a message's statement rolls a group's whole
    /// transaction back, the effects the other messages queued in that spoiled first run are
    /// released with their turns, besides those of the run that counts (a direct fetch
    /// starts twice, or for a message whose rerun failed).
    RerunReleasesSpoiledEffects,
}

#[cfg(feature = "sim-mutants")]
mod select {
    use super::Mutant;
    use std::cell::Cell;

    impl Mutant {
        /// Every mutant.
        pub const ALL: [Mutant; 9] = [
            Mutant::DoubleContinuation,
            Mutant::OutboxBeforeCommit,
            Mutant::StaleAlarmSlot,
            Mutant::GroupOutputsBeforeCommit,
            Mutant::FailedCommitRewinds,
            Mutant::FailureAfterUnknownCommit,
            Mutant::StatementRollbackFailsGroup,
            Mutant::EffectsOfRolledBackTurn,
            Mutant::RerunReleasesSpoiledEffects,
        ];

        /// Its command-line name.
        pub fn name(self) -> &'static str {
            match self {
                Mutant::DoubleContinuation => "double-continuation",
                Mutant::OutboxBeforeCommit => "outbox-before-commit",
                Mutant::StaleAlarmSlot => "stale-alarm-slot",
                Mutant::GroupOutputsBeforeCommit => "group-outputs-before-commit",
                Mutant::FailedCommitRewinds => "failed-commit-rewinds",
                Mutant::FailureAfterUnknownCommit => "failure-after-unknown-commit",
                Mutant::StatementRollbackFailsGroup => "statement-rollback-fails-group",
                Mutant::EffectsOfRolledBackTurn => "effects-of-rolled-back-turn",
                Mutant::RerunReleasesSpoiledEffects => "rerun-releases-spoiled-effects",
            }
        }
    }

    impl std::str::FromStr for Mutant {
        type Err = String;
        fn from_str(s: &str) -> Result<Mutant, String> {
            Mutant::ALL
                .into_iter()
                .find(|m| m.name() == s)
                .ok_or_else(|| {
                    let names: Vec<_> = Mutant::ALL.iter().map(|m| m.name()).collect();
                    format!("unknown mutant {s:?} (known: {})", names.join(", "))
                })
        }
    }

    thread_local! {
        // Per thread: the simulator is single-threaded, and other tests in the same process
        // (features are unified across a workspace) never see a selection.
        static SELECTED: Cell<Option<Mutant>> = const { Cell::new(None) };
    }

    /// Selects the mutant for every engine on this thread (`None`: the correct rules).
    pub fn select_mutant(m: Option<Mutant>) {
        SELECTED.with(|s| s.set(m));
    }

    /// The mutant selected on this thread.
    pub fn selected_mutant() -> Option<Mutant> {
        SELECTED.with(Cell::get)
    }

    pub(crate) fn active(m: Mutant) -> bool {
        selected_mutant() == Some(m)
    }
}

#[cfg(feature = "sim-mutants")]
pub(crate) use select::active;
#[cfg(feature = "sim-mutants")]
pub use select::{select_mutant, selected_mutant};

/// Without `sim-mutants`: never.
#[cfg(not(feature = "sim-mutants"))]
#[inline(always)]
pub(crate) fn active(_: Mutant) -> bool {
    false
}

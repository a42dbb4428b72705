//! The simulator in CI: thousands of seeds clean, every mutant caught, and determinism.
//!
//! Seeds here are smaller (`CI_OPS` client operations) than the command line's default, so
//! the whole file runs in about a minute in a debug build on two cores.

use lumenize_sim::{run_seed, run_seeds, Mutant, Options};

/// Client operations per seed in CI.
const CI_OPS: u32 = 24;

fn ci() -> Options {
    Options {
        ops: CI_OPS,
        ..Options::default()
    }
}

#[test]
fn two_thousand_seeds_have_no_violation() {
    let sum = run_seeds(0, 2_000, 2, &ci());
    assert_eq!(
        sum.violations, 0,
        "first failing seed {:?}: {:?}\nreplay: cargo run --release -p lumenize-sim -- --seeds 1 --start-seed {} --ops {CI_OPS} --trace",
        sum.failed_seeds.first(),
        sum.first_violation,
        sum.failed_seeds.first().copied().unwrap_or(0),
    );
    // The run did real work and the faults really happened.
    assert!(sum.fetches > 30_000, "{}", sum.line());
    assert!(sum.crashes > 0 && sum.lost > 0 && sum.duplicated > 0 && sum.storage_faults > 0);
    assert!(sum.hostile > 0, "{}", sum.line());
    // Direct fetches ran, and some lost their continuation to a crash mid-fetch.
    assert!(sum.direct > 3_000 && sum.direct_lost > 0, "{}", sum.line());
}

/// The first seed (from 0) at which `mutant` is caught, searching at most `limit` seeds.
fn caught_at(mutant: Mutant, limit: u64) -> Option<u64> {
    let opts = Options { mutant, ..ci() };
    (0..limit).find(|&seed| !run_seed(seed, &opts).violations.is_empty())
}

#[test]
fn every_mutant_is_caught_within_a_thousand_seeds() {
    for mutant in [
        Mutant::DoubleContinuation,
        Mutant::OutboxBeforeCommit,
        Mutant::StaleAlarmSlot,
        Mutant::GroupOutputsBeforeCommit,
        Mutant::FailedCommitRewinds,
        Mutant::FailureAfterUnknownCommit,
        Mutant::StatementRollbackFailsGroup,
        Mutant::EffectsOfRolledBackTurn,
        Mutant::RerunReleasesSpoiledEffects,
        Mutant::LostAlarmChange,
        Mutant::UnclaimedResult,
        Mutant::LostAccounting,
        Mutant::LostEffect,
        Mutant::TrustedAlarm,
    ] {
        let at = caught_at(mutant, 1_000);
        assert!(at.is_some(), "{mutant:?} was not caught in 1,000 seeds");
    }
}

#[test]
fn double_continuation_is_caught_as_a_second_run_of_a_continuation() {
    // Not only some invariant: the exactly-once rule itself, once the accounting check that
    // usually fires first cannot (a one-shot schedule has no pending counter).
    let opts = Options {
        mutant: Mutant::DoubleContinuation,
        ..ci()
    };
    let found = (0..1_000)
        .flat_map(|seed| run_seed(seed, &opts).violations)
        .any(|v| v.contains("twice") || v.contains("ran again"));
    assert!(found, "no double run reported");
}

/// The first violation of the first seed (from 0) where `mutant` is caught.
fn first_violation(mutant: Mutant) -> String {
    let opts = Options { mutant, ..ci() };
    (0..1_000)
        .find_map(|seed| run_seed(seed, &opts).violations.into_iter().next())
        .unwrap_or_default()
}

#[test]
fn released_effects_of_rolled_back_work_are_caught_at_the_endpoint() {
    // A direct fetch is an effect of its turn: the endpoint sees it only for a start that
    // committed, once. Both engine mutants break that rule, and are caught by it.
    for mutant in [
        Mutant::EffectsOfRolledBackTurn,
        Mutant::RerunReleasesSpoiledEffects,
    ] {
        let v = first_violation(mutant);
        assert!(
            v.contains("exchanges of one direct fetch") || v.contains("did not commit"),
            "{mutant:?}: {v}"
        );
    }
}

#[test]
fn a_direct_fetch_nothing_prevented_runs_its_continuation() {
    // Exactly once, not only at most once: a released direct fetch the host never starts is
    // caught at quiescence.
    let v = first_violation(Mutant::LostEffect);
    assert!(v.contains("never ran"), "{v}");
}

#[test]
fn lost_accounting_is_caught_by_the_accounting_check() {
    // Skipping one rolled-back turn's outputs breaks the equality with the disk's count of
    // transactions, at the step it happens.
    let opts = Options {
        mutant: Mutant::LostAccounting,
        ..ci()
    };
    let first = (0..1_000)
        .map(|seed| run_seed(seed, &opts).violations)
        .find(|v| !v.is_empty())
        .unwrap_or_default();
    assert!(
        first.first().is_some_and(|v| v.contains("accounting says")),
        "{first:?}"
    );
}

#[test]
fn the_accounting_shows_real_work() {
    // The sums the oracle checks are not all zero: failures, rows, late outcomes (the losers
    // of exactly-once races) and executor requests all happen in a CI-sized run.
    let sum = run_seeds(0, 100, 2, &ci());
    assert_eq!(sum.violations, 0, "{:?}", sum.first_violation);
    assert!(
        sum.failed_turns > 0 && sum.rows_written > 0,
        "{}",
        sum.line()
    );
    assert!(sum.late_outcomes > 0 && sum.requests > 0, "{}", sum.line());
}

#[test]
fn the_mutants_leave_the_next_seeds_alone() {
    // The engine's mutant is chosen per thread: a mutant run must not leak into a later one.
    let _ = run_seed(
        0,
        &Options {
            mutant: Mutant::StaleAlarmSlot,
            ..ci()
        },
    );
    assert!(run_seed(1, &ci()).violations.is_empty());
}

#[test]
fn a_seed_replays_to_the_same_trace() {
    let a = run_seed(
        7,
        &Options {
            trace: true,
            ..ci()
        },
    );
    let b = run_seed(
        7,
        &Options {
            trace: true,
            ..ci()
        },
    );
    assert_eq!(a.digest, b.digest);
    assert_eq!(a.trace, b.trace);
    assert!(a.trace.len() > 10);
    // Keeping the readable trace does not change what is hashed.
    assert_eq!(run_seed(7, &ci()).digest, a.digest);
    // Different seeds, different runs.
    assert_ne!(run_seed(8, &ci()).digest, a.digest);
}

#[test]
fn the_summary_does_not_depend_on_the_thread_count() {
    let one = run_seeds(100, 24, 1, &ci());
    let three = run_seeds(100, 24, 3, &ci());
    assert_eq!(one.line(), three.line());
}

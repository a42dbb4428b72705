//! Sequential operations are measured one at a time: the next starts only once the previous
//! one's late messages (the orchestrator's delivery report) have been handled, so every
//! operation of a batch costs the same rows and requests.

use lumenize_core::fetch;
use lumenize_experiment::harness::Harness;
use lumenize_experiment::model::Variant;
use std::time::Duration;

fn integral(x: f64) -> bool {
    (x - x.round()).abs() < 1e-9
}

#[test]
fn sequential_orchestrated_operations_each_cost_the_same_counts() {
    let dir = tempfile::tempdir().unwrap();
    let h = Harness::new(2, dir.path()).unwrap();
    // The executor's delivery report reaches the orchestrator well after its result reaches
    // the origin (as it may on any real network).
    h.runtime().set_hop_latency(
        fetch::EXECUTOR_BINDING,
        fetch::ORCHESTRATOR_BINDING,
        Duration::from_millis(30),
    );
    // Warm up: the origin's and orchestrator's first turns write their schema.
    h.sequential("seq", Variant::Orchestrated, 0, 1, &|| {})
        .unwrap();
    // Before the fix, the origin's continuation could run before the orchestrator handled the
    // executor's delivery report, so the next operation's schedule landed while the previous
    // one was still pending (then skipping an alarm-mirror write that no longer exists): a
    // fractional count per op.
    for round in 0..2 {
        let (_, usage) = h
            .sequential("seq", Variant::Orchestrated, 0, 5, &|| {})
            .unwrap();
        let q = usage.orchestrator;
        for x in [q.rows_written, q.rows_read, q.requests] {
            assert!(integral(x), "round {round}: {usage:?}");
        }
    }
}

//! `cargo run -p lumenize-core --example reminders` tells its story: this runs the example's
//! body (the same file, included) and checks each event it reports, without a second cargo.

#[path = "../examples/reminders.rs"]
mod reminders;

#[test]
fn the_reminders_example_runs_its_story() {
    let mut lines = Vec::new();
    reminders::run(&mut |line| lines.push(line)).expect("the example runs");
    let all = lines.join("\n");
    for want in [
        "alice: cancelled ",
        "(45 s delay, due at +45 s, would have called ring)",
        "alice: cancelling it again gets nothing (whoever cancels first wins)",
        "clock +30 s: alice rang [\"+30 s tea\"], bob rang []",
        "clock +60 s: alice rang [\"+30 s tea\"], bob rang [\"+60 s standup\"]",
        "clock +120 s: alice rang [\"+30 s tea\"], bob rang [\"+60 s standup\", \"+90 s stretch\", \"+120 s standup\"]",
        "(cron \"* * * * *\", due at +180 s, would have called ring)",
        "alice: the continuation got 200 {\"uuid\":\"",
    ] {
        assert!(all.contains(want), "missing {want:?} in:\n{all}");
    }
    // The cancelled reminder never rang, and the fetch's continuation ran exactly once.
    assert!(!all.contains("call mum\""), "{all}");
    assert_eq!(all.matches("the continuation got").count(), 1, "{all}");
}

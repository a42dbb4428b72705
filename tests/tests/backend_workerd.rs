//! The backend scenario suite (`backends/mod.rs`) inside a local workerd: the example worker
//! (`examples/reminders-worker`) built with worker-build, workerd from npm, object storage on
//! disk. Its twin, `backend_native.rs`, runs the same scenarios on the native runtime. The
//! first run installs the pinned tools (see `backends/tools.rs`).

#[path = "backends/mod.rs"]
mod suite;
#[path = "backends/tools.rs"]
mod tools;
#[path = "backends/workerd.rs"]
mod workerd;

use workerd::Workerd;

#[test]
fn cancel_returns_the_schedule() {
    suite::cancel_returns_the_schedule(&mut Workerd::start());
}

#[test]
fn trigger_runs_each_schedule_once() {
    suite::trigger_runs_each_schedule_once(&mut Workerd::start());
}

#[test]
fn a_real_alarm_fires() {
    suite::a_real_alarm_fires(&mut Workerd::start());
}

#[test]
fn cancel_races_the_alarm() {
    suite::cancel_races_the_alarm(&mut Workerd::start());
}

#[test]
fn data_survives_a_restart() {
    suite::data_survives_a_restart(&mut Workerd::start());
}

#[test]
fn proxy_fetch_outcomes() {
    suite::proxy_fetch_outcomes(&mut Workerd::start());
}

#[test]
fn a_lost_delivery_times_out_by_the_alarm() {
    suite::a_lost_delivery_times_out_by_the_alarm(&mut Workerd::start());
}

#[test]
fn proxy_fetch_is_exactly_once_under_a_race() {
    suite::proxy_fetch_is_exactly_once_under_a_race(&mut Workerd::start());
}

#[test]
fn a_crash_mid_fetch_still_runs_the_continuation_once() {
    suite::a_crash_mid_fetch_still_runs_the_continuation_once(&mut Workerd::start());
}

/// Workers reachable from the internet must not run chains for anyone: messages need the
/// shared token, and malformed ones are refused without side effects.
#[test]
fn messages_need_the_token_and_a_valid_envelope() {
    use lumenize_cloudflare::envelope::{Envelope, Target};
    let w = Workerd::start();
    let chain = lumenize_core::ocan::ctn()
        .call("ring", vec!["intruder".into()])
        .stringify()
        .unwrap();
    let body = serde_json::to_string(&Envelope::Call {
        to: Target::object("DESK", "guarded"),
        chain,
        reply: None,
    })
    .unwrap();
    assert_eq!(w.post_raw(None, &body).0, 403);
    assert_eq!(w.post_raw(Some("wrong"), &body).0, 403);
    let (status, text) = w.post_raw(Some(workerd::TOKEN), "{not json");
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("not a lumenize message"), "{text}");
    let rung = suite::Backend::call(&w, "guarded", "rung", vec![]).unwrap();
    let rung = <Vec<String> as lumenize_core::ocan::FromValue>::from_value(rung).unwrap();
    assert!(rung.is_empty(), "a refused message ran: {rung:?}");
    // The object's data lives in a SQLite file on disk, as on Cloudflare.
    assert!(!w.object_files().is_empty(), "{}", w.logs());
}

#[test]
fn calls_between_objects_reply_to_continuations() {
    suite::calls_between_objects_reply_to_continuations(&mut Workerd::start());
}

#[test]
fn handlers_cannot_escape_the_turn_transaction() {
    suite::handlers_cannot_escape_the_turn_transaction(&mut Workerd::start());
}

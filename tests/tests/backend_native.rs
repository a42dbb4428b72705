//! The backend scenario suite (`backends/mod.rs`) on the native runtime. Its twin,
//! `backend_workerd.rs`, runs the same scenarios inside a local workerd.

#[path = "backends/native.rs"]
mod native;
#[path = "backends/mod.rs"]
mod suite;

use native::Native;

#[test]
fn cancel_returns_the_schedule() {
    suite::cancel_returns_the_schedule(&mut Native::start());
}

#[test]
fn trigger_runs_each_schedule_once() {
    suite::trigger_runs_each_schedule_once(&mut Native::start());
}

#[test]
fn a_real_alarm_fires() {
    suite::a_real_alarm_fires(&mut Native::start());
}

#[test]
fn cancel_races_the_alarm() {
    suite::cancel_races_the_alarm(&mut Native::start());
}

#[test]
fn data_survives_a_restart() {
    suite::data_survives_a_restart(&mut Native::start());
}

#[test]
fn rows_written_as_cloudflare_counts_them() {
    suite::rows_written_as_cloudflare_counts_them(&mut Native::start());
}

#[test]
fn proxy_fetch_outcomes() {
    suite::proxy_fetch_outcomes(&mut Native::start());
}

#[test]
fn a_lost_delivery_times_out_by_the_alarm() {
    suite::a_lost_delivery_times_out_by_the_alarm(&mut Native::start());
}

#[test]
fn proxy_fetch_is_exactly_once_under_a_race() {
    suite::proxy_fetch_is_exactly_once_under_a_race(&mut Native::start());
}

#[test]
fn a_crash_mid_fetch_still_runs_the_continuation_once() {
    suite::a_crash_mid_fetch_still_runs_the_continuation_once(&mut Native::start());
}

#[test]
fn calls_between_objects_reply_to_continuations() {
    suite::calls_between_objects_reply_to_continuations(&mut Native::start());
}

#[test]
fn handlers_cannot_escape_the_turn_transaction() {
    suite::handlers_cannot_escape_the_turn_transaction(&mut Native::start());
}

#[test]
fn a_statement_that_rolls_back_fails_only_its_turn() {
    suite::a_statement_that_rolls_back_fails_only_its_turn(&mut Native::start());
}

#[test]
fn a_failed_turn_leaves_no_pragma_behind() {
    suite::a_failed_turn_leaves_no_pragma_behind(&mut Native::start());
}

#[test]
fn a_fetch_response_stops_at_the_cap() {
    suite::a_fetch_response_stops_at_the_cap(&mut Native::start());
}

#[test]
fn a_misnamed_continuation_is_refused_when_the_fetch_starts() {
    suite::a_misnamed_continuation_is_refused_when_the_fetch_starts(&mut Native::start());
}

#[test]
fn the_three_fetch_designs_each_continue_once() {
    suite::the_three_fetch_designs_each_continue_once(&mut Native::start());
}

#[test]
fn redirects_are_checked_hop_by_hop() {
    suite::redirects_are_checked_hop_by_hop(&mut Native::start());
}

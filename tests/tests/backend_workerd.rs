//! The backend scenario suite (`backends/mod.rs`) inside a local workerd: the example worker
//! (`examples/reminders-worker`) built with worker-build, workerd from npm, object storage on
//! disk. Its twin, `backend_native.rs`, runs the same scenarios on the native runtime. The
//! first run installs the pinned tools (see `backends/tools.rs`).

#[path = "backends/latency.rs"]
mod latency;
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
fn rows_written_as_cloudflare_counts_them() {
    suite::rows_written_as_cloudflare_counts_them(&mut Workerd::start());
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

#[test]
fn a_statement_that_rolls_back_fails_only_its_turn() {
    suite::a_statement_that_rolls_back_fails_only_its_turn(&mut Workerd::start());
}

#[test]
fn a_failed_turn_leaves_no_pragma_behind() {
    suite::a_failed_turn_leaves_no_pragma_behind(&mut Workerd::start());
}

#[test]
fn a_fetch_response_stops_at_the_cap() {
    suite::a_fetch_response_stops_at_the_cap(&mut Workerd::start());
}

#[test]
fn a_misnamed_continuation_is_refused_when_the_fetch_starts() {
    suite::a_misnamed_continuation_is_refused_when_the_fetch_starts(&mut Workerd::start());
}

#[test]
fn the_three_fetch_designs_each_continue_once() {
    suite::the_three_fetch_designs_each_continue_once(&mut Workerd::start());
}

#[test]
fn redirects_are_checked_hop_by_hop() {
    suite::redirects_are_checked_hop_by_hop(&mut Workerd::start());
}

/// The latency comparison of the three fetch designs in workerd (minutes, a measurement):
/// writes `workerd.json` and `workerd.md` into `docs/experiment` (or `$LUMENIZE_WORKERD_OUT`).
/// See `backends/latency.rs`.
#[test]
#[ignore = "a measurement that takes minutes: run it on demand (see backends/latency.rs)"]
fn measure_the_designs_in_workerd() {
    let out = std::env::var_os("LUMENIZE_WORKERD_OUT").map_or_else(
        || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/experiment"),
        std::path::PathBuf::from,
    );
    latency::measure(&out);
}

fn envelope_text(e: &lumenize_cloudflare::envelope::Envelope) -> String {
    serde_json::to_string(e).unwrap()
}

fn ring_envelope(desk: &str) -> String {
    use lumenize_cloudflare::envelope::{Envelope, Target};
    let chain = lumenize_core::ocan::ctn()
        .call("ring", vec!["hello".into()])
        .stringify()
        .unwrap();
    envelope_text(&Envelope::Call {
        to: Target::object("DESK", desk),
        chain,
        reply: None,
    })
}

/// The `Trigger` test hook runs every schedule early: a deployment without the test flag
/// refuses it (the example's config sets the flag for local runs only).
#[test]
fn trigger_is_refused_without_the_test_hooks_flag() {
    use lumenize_cloudflare::envelope::{Envelope, Target};
    let flag = "(name = \"LUMENIZE_TEST_HOOKS\", text = \"1\"),";
    let w = Workerd::start_with(|c| {
        assert!(c.contains(flag), "the example config sets the flag");
        c.replace(flag, "")
    });
    let id = suite::Backend::call(
        &w,
        "hooks",
        "remind",
        vec![
            "later".into(),
            lumenize_core::structured_clone::Value::Number(60_000.0),
        ],
    )
    .unwrap();
    let trigger = envelope_text(&Envelope::Trigger {
        to: Target::object("DESK", "hooks"),
        limit: u32::MAX,
    });
    let (status, text) = w.post_raw(Some(workerd::TOKEN), &trigger);
    assert_eq!(status, 403, "{text}");
    assert!(text.contains("LUMENIZE_TEST_HOOKS"), "{text}");
    let pending = suite::Backend::call(&w, "hooks", "pending", vec![]).unwrap();
    let pending = <Vec<String> as lumenize_core::ocan::FromValue>::from_value(pending).unwrap();
    assert_eq!(
        pending,
        vec![id.as_str().unwrap().to_string()],
        "nothing ran"
    );
}

/// A guessable token is refused outright, with a clear error, even when the message carries
/// it: the worker is misconfigured.
#[test]
fn a_short_token_refuses_every_message() {
    let short = "short-but-matching";
    let w =
        Workerd::start_with(|c| c.replace(&format!("{:?}", workerd::TOKEN), &format!("{short:?}")));
    let (status, text) = w.post_raw(Some(short), &ring_envelope("weak"));
    assert_eq!(status, 500, "{text}");
    assert!(text.contains("fewer than 32"), "{text}");
}

/// A message body above the cap is refused with 413 as soon as its declared length is read
/// (the server does not wait for the body: a watchdog fails the test if it does).
#[test]
fn an_oversized_message_gets_413() {
    use lumenize_cloudflare::envelope::{MESSAGE_PATH, TOKEN_HEADER};
    use lumenize_cloudflare::guard::MAX_MESSAGE_BYTES;
    let w = Workerd::start();
    let head = format!(
        "POST {MESSAGE_PATH} HTTP/1.1\r\nhost: 127.0.0.1:{}\r\n{TOKEN_HEADER}: {}\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{{",
        w.port(),
        workerd::TOKEN,
        MAX_MESSAGE_BYTES + 1
    );
    let answer = w.raw_exchange(head.as_bytes(), std::time::Duration::from_secs(10));
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    // Without a declared length (chunked), reading stops at the cap.
    let answer = w.chunked_exchange(
        MESSAGE_PATH,
        &[(TOKEN_HEADER, workerd::TOKEN)],
        MAX_MESSAGE_BYTES as usize + 1,
        std::time::Duration::from_secs(20),
    );
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    // A message within the cap is still served.
    let (status, text) = w.post_raw(Some(workerd::TOKEN), &ring_envelope("fine"));
    assert_eq!(status, 200, "{text}");
}

/// The executor's default policy (no local opt-in in the config) refuses the local server,
/// by address and by name, with a definite outcome, and so does the desk's own direct fetch;
/// nothing reaches the server.
#[test]
fn the_default_executor_refuses_loopback() {
    use lumenize_core::structured_clone::Value;
    let opt_in = "(name = \"ALLOW_LOCAL_FETCH\", text = \"1\"),";
    let w = Workerd::start_with(|c| {
        assert!(
            c.contains(opt_in),
            "the example config opts in for local runs"
        );
        c.replace(opt_in, "")
    });
    let ep = suite::Backend::endpoint(&w);
    let port = ep.rsplit(':').next().unwrap().to_string();
    for (tag, url) in [
        ("literal", format!("{ep}/uuid")),
        ("name", format!("http://localhost:{port}/uuid")),
    ] {
        suite::Backend::call(
            &w,
            "strict",
            "fetch",
            vec![
                tag.into(),
                url.into(),
                Value::Number(10_000.0),
                Value::Number(60_000.0),
                Value::Bool(false),
            ],
        )
        .unwrap();
    }
    // The desk's own (direct) fetches obey the same configuration.
    suite::Backend::call(
        &w,
        "strict",
        "fetchVia",
        vec![
            "direct".into(),
            "direct".into(),
            format!("{ep}/uuid").into(),
            Value::Number(10_000.0),
        ],
    )
    .unwrap();
    let got = suite::eventually("every outcome", std::time::Duration::from_secs(15), || {
        let v = suite::Backend::call(&w, "strict", "outcomes", vec![])?;
        let mut o = <Vec<String> as lumenize_core::ocan::FromValue>::from_value(v).unwrap();
        o.sort();
        if o.len() == 3 {
            Ok(o)
        } else {
            Err(format!("{o:?}"))
        }
    });
    assert_eq!(
        got,
        vec![
            "direct=FetchDeniedError",
            "literal=FetchDeniedError",
            "name=FetchDeniedError"
        ]
    );
    assert_eq!(w.endpoint_requests(), 0, "nothing reached the local server");
}

/// When the alarm fires and the object cannot be opened, nothing ran and nothing was re-armed,
/// so the handler fails and workerd retries the alarm with its backoff. (Were the failure
/// swallowed, the alarm would be consumed after one attempt and the schedules stranded.)
#[test]
fn an_alarm_that_cannot_open_the_object_is_retried() {
    use lumenize_core::structured_clone::Value;
    const ATTEMPT: &str = "alarm: cannot open the object";
    let mut w = Workerd::start();
    let desk = "unopenable";
    // Due soon: the platform alarm is armed for it, and fires after the restart below.
    suite::Backend::call(
        &w,
        desk,
        "remind",
        vec!["stranded?".into(), Value::Number(2000.0)],
    )
    .unwrap();
    // Break the alarm mirror the engine reads when it opens. The running instance is already
    // open, so this turn commits; a fresh instance cannot open any more.
    suite::Backend::call(
        &w,
        desk,
        "trySql",
        vec![
            "ALTER TABLE __lmz_meta RENAME COLUMN value TO broken".into(),
            Value::Bool(false),
        ],
    )
    .unwrap();
    suite::Backend::restart(&mut w);
    // workerd retries a failing alarm 2 s after the first failure, then with a growing delay.
    suite::eventually(
        "the alarm is retried",
        std::time::Duration::from_secs(20),
        || match w.log_count(ATTEMPT) {
            n if n >= 2 => Ok(n),
            n => Err(format!("{n} attempt(s) so far\n{}", w.logs())),
        },
    );
}

/// Handlers reach the Worker's `Env` through `CfExt`: the desk's `settings` reads a var and a
/// secret of the example's workerd configuration (the secret only by its size).
#[test]
fn handlers_read_vars_and_secrets_through_cf_ext() {
    let w = Workerd::start();
    let got = suite::Backend::call(&w, "settings-desk", "settings", vec![]).unwrap();
    let got = <Vec<String> as lumenize_core::ocan::FromValue>::from_value(got).unwrap();
    assert_eq!(
        got,
        [
            "hello from workerd".to_string(),
            format!("secret of {} bytes", "example-secret-not-secret".len())
        ]
    );
}

/// Workers' handlers reach the `Env` the same way (the example's `SETTINGS` worker).
#[test]
fn worker_handlers_read_vars_through_cf_ext() {
    use lumenize_cloudflare::envelope::{Answer, Envelope, Outcome, Target};
    let w = Workerd::start();
    let chain = lumenize_core::ocan::ctn()
        .call("greeting", vec![])
        .stringify()
        .unwrap();
    let body = envelope_text(&Envelope::Call {
        to: Target::Worker {
            binding: "SETTINGS".into(),
        },
        chain,
        reply: None,
    });
    let (status, text) = w.post_raw(Some(workerd::TOKEN), &body);
    assert_eq!(status, 200, "{text}");
    let answer: Answer = serde_json::from_str(&text).unwrap();
    let Outcome::Ok(wire) = answer.outcome else {
        panic!("{text}\n{}", w.logs())
    };
    let got = lumenize_core::structured_clone::parse(&wire).unwrap();
    assert_eq!(got.as_str(), Some("hello from workerd"));
}

/// A direct fetch belongs to its turn: when the turn rolls back (here the chain fails after
/// `fetchVia` returned), the exchange is never made and no continuation runs. The host awaits
/// direct fetches before answering, so once the answer is in, nothing more can happen.
#[test]
fn a_rolled_back_turn_makes_no_direct_fetch() {
    use lumenize_cloudflare::envelope::{Envelope, Target};
    use lumenize_core::structured_clone::Value;
    let w = Workerd::start();
    let url = format!("{}/uuid", suite::Backend::endpoint(&w));
    let chain = lumenize_core::ocan::ctn()
        .call(
            "fetchVia",
            vec![
                "direct".into(),
                "undone".into(),
                url.into(),
                Value::Number(10_000.0),
            ],
        )
        .call("noSuchMethod", vec![])
        .stringify()
        .unwrap();
    let body = envelope_text(&Envelope::Call {
        to: Target::object("DESK", "rollback"),
        chain,
        reply: None,
    });
    let (status, text) = w.post_raw(Some(workerd::TOKEN), &body);
    assert_eq!(status, 200, "{text}");
    let answer: lumenize_cloudflare::envelope::Answer = serde_json::from_str(&text).unwrap();
    assert!(
        matches!(
            answer.outcome,
            lumenize_cloudflare::envelope::Outcome::Err(_)
        ),
        "the chain failed: {text}"
    );
    let outcomes = suite::Backend::call(&w, "rollback", "outcomes", vec![]).unwrap();
    let outcomes = <Vec<String> as lumenize_core::ocan::FromValue>::from_value(outcomes).unwrap();
    assert!(outcomes.is_empty(), "a continuation ran: {outcomes:?}");
    assert_eq!(w.endpoint_requests(), 0, "the exchange was made");
}

//! The runtime's core promises: one transaction per handler, rollback on error and panic,
//! calls with continuations, accounting.

mod common;

use common::*;
use lumenize_core::clock::ManualClock;
use lumenize_core::prelude::*;
use lumenize_core::runtime::{RuntimeError, Stub};
use std::time::Duration;

fn runtime() -> (Runtime, std::sync::Arc<ManualClock>) {
    let clock = ManualClock::new(T0);
    let rt = Runtime::builder()
        .object("PROBE", Probe::new)
        .manual_clock(clock.clone())
        .build()
        .expect("runtime");
    (rt, clock)
}

#[test]
fn handler_result_and_state_persist_across_calls() {
    let (rt, _) = runtime();
    let p = rt.object("PROBE", "a");
    assert_eq!(
        num(p.call_method("bump", vec!["x".into(), 2.0.into()]).unwrap()),
        2.0
    );
    assert_eq!(
        num(p.call_method("bump", vec!["x".into(), 3.0.into()]).unwrap()),
        5.0
    );
    // Another object has its own database.
    let q = rt.object("PROBE", "b");
    assert_eq!(num(q.call_method("count", vec!["x".into()]).unwrap()), 0.0);
}

#[test]
fn error_rolls_back_writes_and_drops_outgoing_messages() {
    let (rt, _) = runtime();
    let p = rt.object("PROBE", "a");
    let err = p
        .call_method("bump_then_fail", vec!["x".into()])
        .unwrap_err();
    assert!(err.to_string().contains("deliberate failure"), "{err}");
    rt.settle(Duration::from_secs(5)).unwrap();
    assert_eq!(num(p.call_method("count", vec!["x".into()]).unwrap()), 0.0);
    // The ping queued by the failed handler was never sent.
    assert_eq!(
        num(p
            .call_method("count", vec!["ping:from-failed".into()])
            .unwrap()),
        0.0
    );
    assert_eq!(rt.accounting(p.address()).failed_turns, 1);
}

#[test]
fn panic_rolls_back_and_object_stays_usable() {
    let (rt, _) = runtime();
    let p = rt.object("PROBE", "a");
    let err = p
        .call_method("bump_then_panic", vec!["x".into()])
        .unwrap_err();
    assert!(
        matches!(err, RuntimeError::Chain(ChainError::Panicked { .. })),
        "{err}"
    );
    assert_eq!(num(p.call_method("count", vec!["x".into()]).unwrap()), 0.0);
    assert_eq!(
        num(p.call_method("bump", vec!["x".into(), 1.0.into()]).unwrap()),
        1.0
    );
}

#[test]
fn call_raw_delivers_result_to_continuation() {
    let (rt, _) = runtime();
    let a = rt.object("PROBE", "a");
    a.call_method("call_other", vec!["b".into(), "t".into(), 7.0.into()])
        .unwrap();
    rt.settle(Duration::from_secs(5)).unwrap();
    assert_eq!(
        text(a.call_method("got_value", vec!["t".into()]).unwrap()),
        "7"
    );
    let b = rt.object("PROBE", "b");
    assert_eq!(num(b.call_method("count", vec!["t".into()]).unwrap()), 7.0);
    let acc = rt.accounting(a.address());
    assert_eq!(acc.messages_sent, 1);
    // call_other, the delivered continuation, got_value.
    assert_eq!(acc.requests, 3);
    assert!(acc.rows_written >= 1);
}

#[test]
fn call_raw_delivers_errors_to_continuation() {
    let (rt, _) = runtime();
    let a = rt.object("PROBE", "a");
    // "bump" with a string where a number is expected: the callee fails, the caller's
    // continuation gets an Error value.
    a.call(&ctn().call(
        "call_other",
        vec!["b".into(), "t".into(), Value::from("not a number")],
    ))
    .unwrap_err();
    a.run(|_, ctx| {
        ctx.call_raw(
            &Address::object("PROBE", "b"),
            &ctn().call("no_such_method", vec![]),
            Some(&ctn().call("got", vec![Value::from("t"), result_marker()])),
        )
        .map_err(|e| ChainError::handler(e.to_string()))
    })
    .unwrap();
    rt.settle(Duration::from_secs(5)).unwrap();
    let got = text(a.call_method("got_value", vec!["t".into()]).unwrap());
    assert!(
        got.starts_with("error:") && got.contains("no_such_method"),
        "{got}"
    );
}

#[test]
fn call_raw_to_unknown_binding_fails_at_once() {
    let (rt, _) = runtime();
    let a = rt.object("PROBE", "a");
    let err = a
        .run(|_, ctx| {
            Ok(ctx
                .call_raw(
                    &Address::object("NOPE", "x"),
                    &ctn().call("m", vec![]),
                    None,
                )
                .unwrap_err()
                .to_string())
        })
        .unwrap();
    assert!(err.contains("NOPE"), "{err}");
}

#[test]
fn unknown_method_and_malformed_chain_are_clear_errors() {
    let (rt, _) = runtime();
    let p = rt.object("PROBE", "a");
    let e = p.call_method("nope", vec![]).unwrap_err().to_string();
    assert!(e.contains("no method \"nope\""), "{e}");
    let e = p
        .call_method("bump", vec![Value::from(1.0), Value::from(1.0)])
        .unwrap_err()
        .to_string();
    assert!(e.contains("argument 0 of bump: expected string"), "{e}");
    let e = p
        .call_method("count", vec!["a".into(), "b".into()])
        .unwrap_err()
        .to_string();
    assert!(e.contains("takes 1 argument"), "{e}");
    // A chain that only reads a property.
    let e = p.call(&ctn().get("count")).unwrap_err().to_string();
    assert!(e.contains("never called"), "{e}");
    // Nothing was written by any of these.
    assert_eq!(rt.accounting(p.address()).rows_written, 0);
}

#[test]
fn unknown_object_binding_is_an_error_not_a_hang() {
    let (rt, _) = runtime();
    let e = rt
        .object("MISSING", "a")
        .call_method("x", vec![])
        .unwrap_err();
    assert!(matches!(e, RuntimeError::UnknownTarget(_)), "{e}");
}

#[test]
fn kv_stores_structured_values_and_lists_by_prefix() {
    let (rt, _) = runtime();
    let p = rt.object("PROBE", "kv");
    let (got, listed, deleted, gone) = p
        .run(|_, ctx| {
            let e = |e: lumenize_core::storage::StorageError| ChainError::Storage(e.to_string());
            let kv = ctx.kv();
            let v = Value::object([("when", Value::date(0.0)), ("n", Value::from(1.0))]);
            kv.put("user:1", &v).map_err(e)?;
            kv.put("user:2", &Value::from("two")).map_err(e)?;
            kv.put("user_3", &Value::Null).map_err(e)?; // `_` is not a wildcard
            let got = kv
                .get("user:1")
                .map_err(e)?
                .and_then(|v| v.get("n")?.as_f64());
            let listed: Vec<String> = kv
                .list_text("user:")
                .map_err(e)?
                .into_iter()
                .map(|(k, _)| k)
                .collect();
            let deleted = kv.delete("user:2").map_err(e)?;
            let gone = kv.get("user:2").map_err(e)?.is_none() && !kv.delete("user:2").map_err(e)?;
            Ok((got, listed, deleted, gone))
        })
        .unwrap();
    assert_eq!(got, Some(1.0));
    assert_eq!(listed, ["user:1", "user:2"]);
    assert!(deleted && gone);
}

#[test]
fn handlers_cannot_control_transactions() {
    let (rt, _) = runtime();
    let p = rt.object("PROBE", "tx");
    let errors = p
        .run(|_, ctx| {
            Ok(
                ["BEGIN", "commit", "  ROLLBACK", "SAVEPOINT x", "RELEASE x"]
                    .iter()
                    .map(|sql| ctx.sql().exec(sql, &[]).unwrap_err().to_string())
                    .collect::<Vec<_>>(),
            )
        })
        .unwrap();
    assert!(
        errors
            .iter()
            .all(|e| e.contains("transaction control is not allowed")),
        "{errors:?}"
    );
}

/// Sends `messages` to `p` (object `PROBE/a`) while the object is held inside a turn, so they
/// wait in its mailbox and the host takes them as one group (one transaction, a savepoint per
/// message); returns once they ran and the runtime settled.
fn send_as_one_group(rt: &Runtime, p: &Stub, messages: Vec<(&str, Vec<Value>)>) {
    let (inside_tx, inside_rx) = std::sync::mpsc::channel();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let held = rt.object("PROBE", "a");
    let blocker = std::thread::spawn(move || {
        held.run(move |_, _| {
            inside_tx.send(()).ok();
            go_rx.recv().ok();
            Ok(())
        })
    });
    inside_rx.recv().unwrap();
    for (method, args) in messages {
        p.send(&ctn().call(method, args)).unwrap();
    }
    go_tx.send(()).unwrap();
    blocker.join().unwrap().unwrap();
    rt.settle(Duration::from_secs(5)).unwrap();
}

#[test]
fn queued_messages_run_as_one_group_and_a_failing_one_rolls_back_alone() {
    let (rt, _) = runtime();
    let p = rt.object("PROBE", "a");
    send_as_one_group(
        &rt,
        &p,
        vec![
            ("bump", vec!["x".into(), 1.0.into()]),
            ("bump_then_fail", vec!["x".into()]),
            ("bump_then_panic", vec!["x".into()]),
            ("bump", vec!["x".into(), 2.0.into()]),
        ],
    );
    // The two good messages committed; the failing and the panicking one rolled back alone,
    // with the ping the failing one queued.
    assert_eq!(num(p.call_method("count", vec!["x".into()]).unwrap()), 3.0);
    assert_eq!(
        num(p
            .call_method("count", vec!["ping:from-failed".into()])
            .unwrap()),
        0.0
    );
    assert_eq!(rt.accounting(p.address()).failed_turns, 2);
}

/// One client's message that makes SQLite roll back the whole transaction (here `INSERT OR
/// ROLLBACK`) fails alone: before the fix it failed every message of its group, before and
/// after it (one client could deny service to every other client of the object).
#[test]
fn a_message_that_rolls_back_the_transaction_does_not_fail_its_group() {
    let (rt, _) = runtime();
    let p = rt.object("PROBE", "a");
    p.call_method(
        "sql",
        vec!["CREATE TABLE u (x UNIQUE); INSERT INTO u VALUES (1)".into()],
    )
    .unwrap();
    send_as_one_group(
        &rt,
        &p,
        vec![
            ("bump", vec!["x".into(), 1.0.into()]),
            ("sql", vec!["INSERT OR ROLLBACK INTO u VALUES (1)".into()]),
            ("bump", vec!["x".into(), 2.0.into()]),
        ],
    );
    assert_eq!(num(p.call_method("count", vec!["x".into()]).unwrap()), 3.0);
    // The first run's two messages (the culprit's included) rolled back; the second run
    // committed both bumps.
    assert_eq!(rt.accounting(p.address()).failed_turns, 2);
}

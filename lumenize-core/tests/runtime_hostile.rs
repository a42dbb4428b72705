//! The runtime under hostile addresses and floods: every path checks that its target exists,
//! an object id never reaches outside the data directory, and mailboxes are bounded.

mod common;

use common::*;
use lumenize_core::clock::ManualClock;
use lumenize_core::ocan::OperationChain;
use lumenize_core::prelude::*;
use lumenize_core::runtime::{NativeExt, RuntimeError};
use lumenize_core::transport::{Delivery, Outgoing, ReplyTo};
use std::path::Path;
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::Duration;

const SETTLE: Duration = Duration::from_secs(10);

/// Sends messages to addresses it is given, through every path a handler has.
#[derive(Default)]
struct Relay;

fn bogus(binding: String, id: String) -> Address {
    Address::object_by_id(binding, id)
}

impl Relay {
    fn deliver_to(&mut self, ctx: &Ctx<'_>, binding: String, id: String) -> String {
        let sender = NativeExt::of(ctx).expect("native").sender();
        let r = sender.deliver(Delivery {
            to: bogus(binding, id),
            continuation: ctn().call("ping", vec!["x".into()]).stringify().unwrap(),
            outcome: Ok("{\"json\":1,\"meta\":{}}".into()),
        });
        format!("{r:?}")
    }

    fn reply_via(&mut self, ctx: &Ctx<'_>, binding: String, id: String) -> String {
        let sender = NativeExt::of(ctx).expect("native").sender();
        let r = sender.call_raw_wire(
            &Address::object("PROBE", "callee"),
            ctn().call("count", vec!["x".into()]).stringify().unwrap(),
            Some(ReplyTo {
                to: bogus(binding, id),
                continuation: ctn().call("ping", vec!["x".into()]).stringify().unwrap(),
            }),
        );
        format!("{r:?}")
    }

    fn push(&mut self, ctx: &Ctx<'_>, binding: String, id: String) {
        let chain = ctn().call("ping", vec!["x".into()]).stringify().unwrap();
        ctx.push_outgoing(Outgoing {
            from: ctx.me().clone(),
            to: bogus(binding.clone(), id.clone()),
            chain: chain.clone(),
            reply: None,
        });
        ctx.push_outgoing(Outgoing {
            from: ctx.me().clone(),
            to: Address::object("PROBE", "callee"),
            chain,
            reply: Some(ReplyTo {
                to: bogus(binding, id),
                continuation: ctn().call("ping", vec!["x".into()]).stringify().unwrap(),
            }),
        });
    }
}

lumenize_core::handlers!(Relay {
    deliver_to(binding: String, id: String),
    reply_via(binding: String, id: String),
    push(binding: String, id: String),
});

/// Ids an attacker would try.
fn hostile_ids() -> Vec<String> {
    vec![
        "../../escaped".into(),
        "../escaped".into(),
        "/tmp/escaped".into(),
        "a/../../escaped".into(),
        "..".into(),
        String::new(),
        "nul\0byte".into(),
        "x".repeat(10_000),
        "é".repeat(40),
        // Right length, wrong alphabet (upper case, a dot).
        "A".repeat(64),
        format!("{}.", "a".repeat(63)),
    ]
}

/// Every file under `root`, relative to it.
fn files_under(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p.clone());
            }
            out.push(p.strip_prefix(root).unwrap().display().to_string());
        }
    }
    out.sort();
    out
}

fn file_runtime(dir: &Path) -> Runtime {
    Runtime::builder()
        .object("PROBE", Probe::new)
        .object("RELAY", |_| Relay)
        .data_dir(dir)
        .manual_clock(ManualClock::new(T0))
        .build()
        .expect("runtime")
}

/// Only the registered bindings' directories, holding only 64-hex-digit object files.
fn assert_only_object_files(root: &Path) {
    for f in files_under(root) {
        let ok = f == "data"
            || f == "data/PROBE"
            || f == "data/RELAY"
            || f.strip_prefix("data/PROBE/")
                .or_else(|| f.strip_prefix("data/RELAY/"))
                .and_then(|n| n.split('.').next())
                .is_some_and(lumenize_core::transport::is_object_id);
        assert!(ok, "unexpected file {f:?} under {}", root.display());
    }
}

#[test]
fn hostile_object_ids_never_create_files_outside_the_data_dir() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let rt = file_runtime(&data);
    for id in hostile_ids() {
        let err = rt
            .object_by_id("PROBE", &id)
            .call_method("bump", vec!["x".into(), 1.0.into()])
            .unwrap_err();
        // The error names the problem and displays without panicking.
        let text = err.to_string();
        assert!(text.contains("object id"), "{text}");
        for method in ["deliver_to", "reply_via", "push"] {
            rt.object("RELAY", "r")
                .call_method(method, vec!["PROBE".into(), id.clone().into()])
                .unwrap();
        }
    }
    rt.settle(SETTLE).unwrap();
    drop(rt);
    assert_only_object_files(root.path());
}

#[test]
fn messages_to_unregistered_bindings_create_nothing() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let rt = file_runtime(&data);
    let good_id = lumenize_core::runtime::object_id("NOPE", "x");
    for method in ["deliver_to", "reply_via", "push"] {
        rt.object("RELAY", "r")
            .call_method(method, vec!["NOPE".into(), good_id.clone().into()])
            .unwrap();
    }
    rt.settle(SETTLE).unwrap();
    drop(rt);
    assert_only_object_files(root.path());
}

#[test]
fn deliver_and_reply_to_an_unknown_address_fail_clearly() {
    let root = tempfile::tempdir().unwrap();
    let rt = file_runtime(root.path());
    let good_id = lumenize_core::runtime::object_id("NOPE", "x");
    for method in ["deliver_to", "reply_via"] {
        let r = text(
            rt.object("RELAY", "r")
                .call_method(method, vec!["NOPE".into(), good_id.clone().into()])
                .unwrap(),
        );
        assert!(r.starts_with("Err(UnknownTarget"), "{method}: {r}");
        let r = text(
            rt.object("RELAY", "r")
                .call_method(method, vec!["PROBE".into(), "../../x".into()])
                .unwrap(),
        );
        assert!(r.starts_with("Err(InvalidObjectId"), "{method}: {r}");
    }
}

#[test]
fn an_address_with_a_multibyte_id_displays_without_panicking() {
    let a = Address::object_by_id("PROBE", format!("a{}", "é".repeat(10)));
    let shown = a.to_string();
    assert!(shown.starts_with("PROBE#"), "{shown}");
}

// ---- bounded mailboxes -------------------------------------------------------------------

/// Named latches: a handler holding latch `name` tells the test it is running, then blocks
/// until the test releases it. No sleeps: the test knows exactly when the handler is stuck.
struct Latch {
    entered: mpsc::Sender<()>,
    release: std::sync::Arc<Mutex<mpsc::Receiver<()>>>,
}

static LATCHES: Mutex<Vec<(String, Latch)>> = Mutex::new(Vec::new());

/// Registers latch `name`: returns (entered, release).
fn latch(name: &str) -> (mpsc::Receiver<()>, mpsc::Sender<()>) {
    let (entered_tx, entered_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel();
    LATCHES.lock().unwrap().push((
        name.to_string(),
        Latch {
            entered: entered_tx,
            release: std::sync::Arc::new(Mutex::new(release_rx)),
        },
    ));
    (entered_rx, release_tx)
}

fn hold_latch(name: &str) {
    let (entered, release) = {
        let l = LATCHES.lock().unwrap();
        let (_, latch) = l.iter().find(|(n, _)| n == name).expect("latch");
        (latch.entered.clone(), latch.release.clone())
    };
    let _ = entered.send(());
    let _ = release.lock().unwrap().recv();
}

/// Holds latches, counts ticks, calls other gates.
#[derive(Default)]
struct Gate;

impl Gate {
    fn hold(&mut self, _ctx: &Ctx<'_>, latch: String) {
        hold_latch(&latch);
    }
    fn tick(&mut self, ctx: &Ctx<'_>) -> Result<f64, String> {
        let n = ctx
            .kv()
            .get("n")
            .map_err(err)?
            .and_then(|v| v.as_f64())
            .unwrap_or(0.0)
            + 1.0;
        ctx.kv().put("n", &Value::from(n)).map_err(err)?;
        Ok(n)
    }
    /// Calls `tick` on gate `name`, its outcome going to `got`.
    fn call_gate(&mut self, ctx: &Ctx<'_>, name: String) -> Result<(), String> {
        ctx.call(
            &Address::object("GATE", name),
            "tick",
            vec![],
            Some(&ctn().call("got", vec![result_marker()])),
        )
        .map_err(err)
    }
    fn got(&mut self, ctx: &Ctx<'_>, result: Value) -> Result<(), String> {
        let text = match result.as_object().map(|o| o.borrow().clone()) {
            Some(lumenize_core::structured_clone::ObjectKind::Error(e)) => {
                format!("error:{}", e.message)
            }
            _ => format!("{:?}", result.as_f64()),
        };
        ctx.kv().put("got", &Value::from(text)).map_err(err)
    }
    fn got_text(&mut self, ctx: &Ctx<'_>) -> Result<String, String> {
        Ok(ctx
            .kv()
            .get("got")
            .map_err(err)?
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default())
    }
}

lumenize_core::handlers!(Gate {
    hold(latch: String),
    tick(),
    call_gate(name: String),
    got(result: Value),
    got_text(),
});

const CAP: usize = 64;

fn gate_runtime() -> Runtime {
    Runtime::builder()
        .object("GATE", |_| Gate)
        .worker("GATE_WORKER", |_| Gate)
        .mailbox_capacity(CAP)
        .manual_clock(ManualClock::new(T0))
        .build()
        .expect("runtime")
}

/// Sends `tick` until refused; returns how many were accepted and the refusal.
fn flood(stub: &lumenize_core::runtime::Stub, chain: &OperationChain) -> (usize, RuntimeError) {
    for accepted in 0..100 * CAP {
        if let Err(e) = stub.send(chain) {
            return (accepted, e);
        }
    }
    panic!("the mailbox took {} messages", 100 * CAP);
}

#[test]
fn a_flooded_object_refuses_messages_instead_of_queueing_without_bound() {
    let (entered, release) = latch("object");
    let rt = gate_runtime();
    let g = rt.object("GATE", "g");
    g.send(&ctn().call("hold", vec!["object".into()])).unwrap();
    // The handler runs and blocks: from now on nothing leaves the mailbox.
    entered.recv().unwrap();
    let (accepted, refused) = flood(&g, &ctn().call("tick", vec![]));
    assert_eq!(accepted, CAP);
    assert!(
        matches!(&refused, RuntimeError::Overloaded { capacity, .. } if *capacity == CAP),
        "{refused:?}"
    );
    assert!(refused.to_string().contains("overloaded"), "{refused}");
    // A blocking call is refused the same way, at once.
    let err = g.call_method("tick", vec![]).unwrap_err();
    assert!(matches!(err, RuntimeError::Overloaded { .. }), "{err:?}");
    release.send(()).unwrap();
    rt.settle(SETTLE).unwrap();
    // Everything accepted ran; the object is usable again.
    assert_eq!(
        num(g.call_method("tick", vec![]).unwrap()),
        accepted as f64 + 1.0
    );
}

#[test]
fn a_flooded_worker_refuses_messages_instead_of_spawning_without_bound() {
    let (entered, release) = latch("worker");
    let rt = gate_runtime();
    let w = rt.worker("GATE_WORKER");
    // Every message holds the latch: none finishes until the test releases it.
    let (accepted, refused) = flood(&w, &ctn().call("hold", vec!["worker".into()]));
    entered.recv().unwrap();
    assert_eq!(accepted, CAP);
    assert!(
        matches!(&refused, RuntimeError::Overloaded { capacity, .. } if *capacity == CAP),
        "{refused:?}"
    );
    for _ in 0..accepted {
        release.send(()).unwrap();
    }
    rt.settle(SETTLE).unwrap();
    assert!(w.send(&ctn().call("tick", vec![])).is_ok());
    rt.settle(SETTLE).unwrap();
}

#[test]
fn a_call_refused_for_overload_runs_its_continuation_with_the_error() {
    let (entered, release) = latch("callee");
    let rt = gate_runtime();
    let callee = rt.object("GATE", "callee");
    callee
        .send(&ctn().call("hold", vec!["callee".into()]))
        .unwrap();
    entered.recv().unwrap();
    let (accepted, _) = flood(&callee, &ctn().call("tick", vec![]));
    assert_eq!(accepted, CAP);
    let caller = rt.object("GATE", "caller");
    caller
        .call_method("call_gate", vec!["callee".into()])
        .unwrap();
    release.send(()).unwrap();
    rt.settle(SETTLE).unwrap();
    let got = text(caller.call_method("got_text", vec![]).unwrap());
    assert!(
        got.starts_with("error:") && got.contains("overloaded"),
        "{got}"
    );
}

#[test]
fn a_flooded_object_still_receives_the_answers_to_its_own_calls() {
    let (callee_entered, callee_release) = latch("reserve-callee");
    let (caller_entered, caller_release) = latch("reserve-caller");
    let rt = gate_runtime();
    let callee = rt.object("GATE", "reserve-callee");
    let caller = rt.object("GATE", "reserve-caller");
    // The callee is stuck, so the caller's call waits in its mailbox.
    callee
        .send(&ctn().call("hold", vec!["reserve-callee".into()]))
        .unwrap();
    callee_entered.recv().unwrap();
    caller
        .call_method("call_gate", vec!["reserve-callee".into()])
        .unwrap();
    // Now the caller is stuck too, and its mailbox is flooded with requests.
    caller
        .send(&ctn().call("hold", vec!["reserve-caller".into()]))
        .unwrap();
    caller_entered.recv().unwrap();
    let (accepted, _) = flood(&caller, &ctn().call("tick", vec![]));
    assert_eq!(accepted, CAP);
    // The callee answers: the reply finds the caller's mailbox full of requests, and still
    // gets in.
    callee_release.send(()).unwrap();
    // The callee takes messages in order: once this call answers, the caller's call has run
    // and its reply has been handed to the caller's mailbox.
    callee.call_method("tick", vec![]).unwrap();
    caller_release.send(()).unwrap();
    rt.settle(SETTLE).unwrap();
    assert_eq!(
        text(caller.call_method("got_text", vec![]).unwrap()),
        "Some(1.0)"
    );
}

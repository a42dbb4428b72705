//! The runtime under hostile addresses and floods: every path checks that its target exists,
//! an object id never reaches outside the data directory, and mailboxes are bounded.

mod common;

use common::*;
use lumenize_core::clock::ManualClock;
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

/// Signals the test when its handler is running, then waits until the test releases it.
static ENTERED: Mutex<Option<mpsc::Sender<()>>> = Mutex::new(None);
static RELEASE: Mutex<Option<mpsc::Receiver<()>>> = Mutex::new(None);

#[derive(Default)]
struct Gate;

impl Gate {
    fn hold(&mut self, _ctx: &Ctx<'_>) {
        if let Some(tx) = ENTERED.lock().unwrap().as_ref() {
            tx.send(()).unwrap();
        }
        let rx = RELEASE.lock().unwrap().take();
        if let Some(rx) = rx {
            rx.recv().unwrap();
        }
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
}

lumenize_core::handlers!(Gate { hold(), tick() });

const FLOOD: usize = 20_000;

#[test]
fn a_flooded_object_refuses_messages_instead_of_queueing_without_bound() {
    let (entered_tx, entered_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel();
    *ENTERED.lock().unwrap() = Some(entered_tx);
    *RELEASE.lock().unwrap() = Some(release_rx);
    let rt = Runtime::builder()
        .object("GATE", |_| Gate)
        .manual_clock(ManualClock::new(T0))
        .build()
        .expect("runtime");
    let g = rt.object("GATE", "g");
    g.send(&ctn().call("hold", vec![])).unwrap();
    // The handler runs and blocks: from now on nothing leaves the mailbox.
    entered_rx.recv().unwrap();
    let mut accepted = 0usize;
    let mut refused = None;
    for _ in 0..FLOOD {
        match g.send(&ctn().call("tick", vec![])) {
            Ok(()) => accepted += 1,
            Err(e) => {
                refused = Some(e);
                break;
            }
        }
    }
    let refused = refused.expect("the mailbox took every message");
    assert!(
        matches!(refused, RuntimeError::Overloaded { .. }),
        "{refused:?}"
    );
    assert!(refused.to_string().contains("overloaded"), "{refused}");
    release_tx.send(()).unwrap();
    rt.settle(SETTLE).unwrap();
    // Everything accepted ran; the object is usable again.
    assert_eq!(
        num(g.call_method("tick", vec![]).unwrap()),
        accepted as f64 + 1.0
    );
}

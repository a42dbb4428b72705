//! The runtime reports what goes wrong as `tracing` events (structured: the address, the
//! schedule id, the error) and keeps only bounded per-kind counters, never a growing log.

mod common;

use common::*;
use lumenize_core::clock::ManualClock;
use lumenize_core::prelude::*;
use std::collections::BTreeMap;
use std::sync::{Mutex, Once};
use std::time::Duration;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// One event as a test sees it.
#[derive(Clone, Debug)]
struct Seen {
    level: Level,
    target: String,
    fields: BTreeMap<String, String>,
}

static SEEN: Mutex<Vec<Seen>> = Mutex::new(Vec::new());

/// A minimal subscriber that keeps every event (the runtime's threads emit them, so it is
/// installed process-wide; tests tell their events apart by the address field).
struct Collect;

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().to_string(), format!("{value:?}"));
    }
}

impl Subscriber for Collect {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        let seen = Seen {
            level: *event.metadata().level(),
            target: event.metadata().target().to_string(),
            fields,
        };
        SEEN.lock().unwrap().push(seen);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| tracing::subscriber::set_global_default(Collect).expect("one subscriber"));
}

/// The events whose `address` field is `address`.
fn seen_for(address: &str) -> Vec<Seen> {
    SEEN.lock()
        .unwrap()
        .iter()
        .filter(|s| s.fields.get("address").map(String::as_str) == Some(address))
        .cloned()
        .collect()
}

fn runtime() -> Runtime {
    Runtime::builder()
        .object("PROBE", Probe::new)
        .manual_clock(ManualClock::new(T0))
        .build()
        .expect("runtime")
}

#[test]
fn failures_are_tracing_events_with_structured_fields() {
    install();
    let rt = runtime();
    let p = rt.object("PROBE", "traced");
    // A call nobody waits for fails.
    p.send(&ctn().call("fail_always", vec!["unanswered".into()]))
        .unwrap();
    // A continuation fails.
    p.run(|_, ctx| {
        ctx.call(
            ctx.me(),
            "ping",
            vec![Value::from("x")],
            Some(&ctn().call(
                "fail_always",
                vec![Value::from("continuation"), result_marker()],
            )),
        )
        .map_err(|e| ChainError::handler(e.to_string()))
    })
    .unwrap();
    // A schedule fails.
    let id = text(
        p.call_method("schedule_failing", vec!["schedule".into()])
            .unwrap(),
    );
    // Due at once: `settle` fires it (no `trigger_alarms`, which ignores time and would also
    // claim the retry the failure just scheduled 2 s later, if the timer fired first).
    rt.settle(Duration::from_secs(5)).unwrap();

    let events = seen_for("PROBE/traced");
    let find = |needle: &str| {
        events
            .iter()
            .find(|e| e.fields.get("error").is_some_and(|m| m.contains(needle)))
            .unwrap_or_else(|| panic!("no event about {needle:?} in {events:#?}"))
    };
    let unanswered = find("always fails (unanswered)");
    assert_eq!(unanswered.level, Level::WARN);
    assert!(unanswered.target.starts_with("lumenize_core::runtime"));
    // The continuation names a method that exists (a missing one is refused when the call is
    // queued) but passes it one argument too many: it fails when it runs.
    assert!(find("fail_always").fields["message"].contains("continuation"));
    let schedule = find("always fails (schedule)");
    assert_eq!(
        schedule.fields.get("schedule_id"),
        Some(&id),
        "{schedule:?}"
    );

    let c = rt.counters();
    assert_eq!(c.unanswered_failures(), 1, "{c:?}");
    assert_eq!(c.failed_continuations(), 1, "{c:?}");
    assert_eq!(c.failed_schedules(), 1, "{c:?}");
    assert_eq!(c.failures(), 3, "{c:?}");
    assert_eq!(c.late_outcomes(), 0, "{c:?}");
}

#[test]
fn an_object_that_cannot_open_is_an_error_event() {
    install();
    let dir = tempfile::tempdir().unwrap();
    // A file where the binding's directory should be: no object of it can open.
    std::fs::write(dir.path().join("PROBE"), b"not a directory").unwrap();
    let rt = Runtime::builder()
        .object("PROBE", Probe::new)
        .manual_clock(ManualClock::new(T0))
        .data_dir(dir.path())
        .build()
        .expect("runtime");
    let p = rt.object("PROBE", "unopenable");
    assert!(p.call_method("count", vec!["x".into()]).is_err());
    rt.settle(Duration::from_secs(5)).unwrap();
    assert!(rt.counters().open_failures() >= 1, "{:?}", rt.counters());
    let id = lumenize_core::runtime::object_id("PROBE", "unopenable");
    let seen = SEEN.lock().unwrap().clone();
    assert!(
        seen.iter()
            .any(|e| e.level == Level::ERROR && e.fields.get("id") == Some(&id)),
        "{seen:#?}"
    );
}

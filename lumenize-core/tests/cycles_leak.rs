//! Issue 14, item 3: a decoded message whose wire text holds a cycle (legal in W4) must not
//! outlive its turn. The counting allocator measures the process's live heap bytes; tests in
//! this binary run one at a time (a lock) so that they measure only themselves.

mod alloc_counter;

use alloc_counter::live_bytes;
use lumenize_core::ocan::ctn;
use lumenize_core::prelude::*;
use lumenize_core::structured_clone::{ObjectKind, Value};
use std::sync::Mutex;

#[global_allocator]
static ALLOC: alloc_counter::Counting = alloc_counter::Counting;

/// Tests measure the whole process's heap: one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// A value that holds itself, with `payload` bytes of text so a leak shows clearly.
fn cyclic(payload: usize) -> Value {
    let v = Value::object([("text", Value::from("x".repeat(payload)))]);
    if let ObjectKind::Plain(p) = &mut *v.as_object().unwrap().borrow_mut() {
        p.insert("me", v.clone());
        p.insert("list", Value::array([v.clone(), Value::from(1)]));
    }
    v
}

/// Breaks the cycle of a value made by [`cyclic`].
fn break_cycle(v: &Value) {
    *v.as_object().unwrap().borrow_mut() = ObjectKind::Plain(Default::default());
}

/// An object whose method takes any value.
struct Sink;

impl Sink {
    fn new(_: &Ctx<'_>) -> Sink {
        Sink
    }

    fn take(&mut self, _: &Ctx<'_>, v: Value) -> Result<f64, String> {
        Ok(v.get("text")
            .and_then(|t| t.as_str().map(str::len))
            .unwrap_or(0) as f64)
    }
}

lumenize_core::handlers!(Sink { take(v: Value) });

#[test]
fn cyclic_messages_through_object_turns_do_not_grow_memory() {
    let _one = lock();
    let rt = Runtime::builder()
        .object("SINK", Sink::new)
        .build()
        .expect("runtime");
    sends_cyclic_messages(rt.object("SINK", "a"));
}

#[test]
fn cyclic_messages_through_worker_turns_do_not_grow_memory() {
    let _one = lock();
    let rt = Runtime::builder()
        .worker("SINK", Sink::new)
        .build()
        .expect("runtime");
    sends_cyclic_messages(rt.worker("SINK"));
}

/// Calls `sink.take(cyclic value)` many times; the live heap must stay flat.
fn sends_cyclic_messages(sink: lumenize_core::runtime::Stub) {
    let arg = cyclic(1024);
    let chain = ctn().call("take", vec![arg.clone()]);
    let call = || {
        let n = sink.call(&chain).unwrap();
        assert_eq!(n.as_f64(), Some(1024.0));
    };
    // Warm up: the object opens, tables and caches reach their steady size.
    for _ in 0..200 {
        call();
    }
    let before = live_bytes();
    const CALLS: usize = 3_000;
    for _ in 0..CALLS {
        call();
    }
    let grown = live_bytes() - before;
    // A leak keeps the 1 KiB payload of every message: ~3 MiB here. Allow 256 KiB of noise.
    assert!(
        grown < 256 << 10,
        "live heap grew by {grown} bytes over {CALLS} cyclic messages"
    );
    drop(chain);
    break_cycle(&arg);
}

/// Wire text of a cyclic message: an object holding itself twice, a 256-byte string and a
/// two-alias cycle (alias 1 -> alias 2 -> alias 1).
fn cyclic_text(i: usize) -> String {
    format!(
        r#"{{"json":{{"$ref":0}},"meta":{{"aliases":{{"0":{{"n":{i},"me":{{"$ref":0}},"also":[{{"$ref":0}},{{"$ref":1}}],"pad":"{}"}},"1":{{"next":{{"$ref":2}}}},"2":{{"back":{{"$ref":1}}}}}}}}}}"#,
        "p".repeat(256)
    )
}

#[test]
fn cyclic_messages_decoded_and_dropped_do_not_grow_memory() {
    let _one = lock();
    use lumenize_core::structured_clone::{collect_cycles, parse};
    // Warm up the collector's thread-local registry and the allocator's pools.
    for i in 0..1_000 {
        drop(parse(&cyclic_text(i)).unwrap());
        collect_cycles();
    }
    let before = live_bytes();
    let mut freed = 0;
    const MESSAGES: usize = 100_000;
    for i in 0..MESSAGES {
        let v = parse(&cyclic_text(i)).unwrap();
        assert_eq!(v.get("n").and_then(|n| n.as_f64()), Some(i as f64));
        drop(v);
        // As a host does at the end of each turn.
        freed += collect_cycles().freed();
    }
    let grown = live_bytes() - before;
    // Per message: the three alias objects and the array inside alias 0.
    assert_eq!(
        freed,
        4 * MESSAGES,
        "every object of every message is garbage"
    );
    // A leak keeps ~500 bytes per message: ~50 MB here. Allow 64 KiB of noise.
    assert!(
        grown < 64 << 10,
        "live heap grew by {grown} bytes over {MESSAGES} cyclic messages"
    );
}

#[test]
fn a_decoding_thread_that_never_collects_stays_bounded() {
    let _one = lock();
    use lumenize_core::structured_clone::parse;
    std::thread::spawn(|| {
        for i in 0..2_000 {
            drop(parse(&cyclic_text(i)).unwrap());
        }
        let before = live_bytes();
        for i in 0..20_000 {
            drop(parse(&cyclic_text(i)).unwrap());
        }
        let grown = live_bytes() - before;
        // Decoding collects by itself every few thousand cyclic documents.
        assert!(grown < 4 << 20, "live heap grew by {grown} bytes");
    })
    .join()
    .unwrap();
}

#[test]
fn a_kept_cyclic_value_survives_collections_and_is_freed_once_dropped() {
    let _one = lock();
    use lumenize_core::structured_clone::{collect_cycles, parse, stringify};
    let kept = parse(&cyclic_text(7)).unwrap();
    let text = stringify(&kept).unwrap();
    // Only a part of another graph kept: alias 1 of a second message, through a plain handle.
    let other = parse(&cyclic_text(8)).unwrap();
    let part = other.get("also").unwrap().as_array().unwrap()[1].clone();
    drop(other);
    for _ in 0..3 {
        collect_cycles();
        drop(parse(&cyclic_text(9)).unwrap()); // new garbage each round
    }
    collect_cycles();
    // Intact: identity, contents and the exact wire text.
    let me = kept.get("me").unwrap();
    assert!(me.as_object().unwrap().ptr_eq(kept.as_object().unwrap()));
    assert_eq!(stringify(&kept).unwrap(), text);
    let back = part.get("next").unwrap().get("back").unwrap();
    assert!(back.as_object().unwrap().ptr_eq(part.as_object().unwrap()));
    // Once dropped, the next collections free them (the registrations were kept).
    drop((me, back));
    drop(kept);
    drop(part);
    let mut freed = 0;
    for _ in 0..4 {
        drop(parse(&cyclic_text(10)).unwrap());
        freed += collect_cycles().freed();
    }
    // 4 dropped messages and the kept one (4 objects each), and the part (2).
    assert_eq!(freed, 4 * 4 + 4 + 2);
}

#[test]
fn acyclic_documents_register_nothing() {
    let _one = lock();
    use lumenize_core::structured_clone::{collect_cycles, parse};
    collect_cycles();
    // A tree, and a DAG with aliases but no cycle.
    let tree = parse(r#"{"json":{"a":[1,2,{"b":"c"}]},"meta":{}}"#).unwrap();
    let dag = parse(
        r#"{"json":[{"$ref":0},{"$ref":0}],"meta":{"aliases":{"0":{"x":{"$ref":1},"y":{"$ref":1}},"1":[1]}}}"#,
    )
    .unwrap();
    assert_eq!(collect_cycles().scanned(), 0);
    drop((tree, dag));
}

//! A long-lived runtime that keeps failing keeps its memory: what it reports goes to `tracing`
//! and to fixed-size counters, not to a log that grows until someone takes it.
//!
//! Its own test binary: it counts every live heap byte of the process, so nothing else may run
//! beside it.

mod common;

use common::*;
use lumenize_core::clock::ManualClock;
use lumenize_core::prelude::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Duration;

/// Live bytes allocated through Rust's allocator (SQLite's own allocations are not included).
static LIVE: AtomicIsize = AtomicIsize::new(0);

struct Counting;

// SAFETY: every call is forwarded to `System` unchanged; only a counter is updated beside it.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            LIVE.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

#[test]
fn ten_thousand_failures_do_not_grow_memory() {
    let rt = Runtime::builder()
        .object("PROBE", Probe::new)
        .manual_clock(ManualClock::new(T0))
        .build()
        .expect("runtime");
    let p = rt.object("PROBE", "failing");
    let failing = ctn().call("fail_always", vec!["again".into()]);
    let burst = |n: usize| {
        for _ in 0..n {
            p.send(&failing).unwrap();
        }
        rt.settle(Duration::from_secs(120)).unwrap();
    };
    // Warm every cache (statements, mailbox blocks, accounting entry) first.
    burst(1_000);
    let before = LIVE.load(Ordering::SeqCst);
    burst(10_000);
    let grown = LIVE.load(Ordering::SeqCst) - before;
    // Each failure used to keep a ~100-byte line (over 1 MB for this burst).
    assert!(grown < 128 * 1024, "live heap grew by {grown} bytes");
}

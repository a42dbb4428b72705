//! A counting global allocator for tests that bound memory and work.
//!
//! It tracks the process's live heap bytes (to show memory stays flat) and, per thread, how many
//! allocations and bytes the thread made (a work counter that other test threads do not
//! disturb). Above [`LIVE_CAP`] live bytes it refuses to allocate, so code that would expand
//! exponentially aborts the test binary quickly instead of exhausting the machine.

#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, Ordering};

/// Live bytes above which allocation fails (the process aborts with "memory allocation failed").
pub const LIVE_CAP: isize = 768 << 20;

pub struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
    static BYTES: Cell<u64> = const { Cell::new(0) };
    /// Bytes allocated minus bytes freed by this thread.
    static NET: Cell<i64> = const { Cell::new(0) };
}

fn note(size: usize) {
    let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
    let _ = BYTES.try_with(|c| c.set(c.get() + size as u64));
}

fn net(delta: i64) {
    let _ = NET.try_with(|c| c.set(c.get() + delta));
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed) > LIVE_CAP {
            LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
            return std::ptr::null_mut();
        }
        note(layout.size());
        net(layout.size() as i64);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        net(-(layout.size() as i64));
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let grow = new_size as isize - layout.size() as isize;
        if LIVE.fetch_add(grow, Ordering::Relaxed) > LIVE_CAP && grow > 0 {
            LIVE.fetch_sub(grow, Ordering::Relaxed);
            return std::ptr::null_mut();
        }
        note(new_size);
        net(grow as i64);
        System.realloc(ptr, layout, new_size)
    }
}

/// The process's live heap bytes.
pub fn live_bytes() -> isize {
    LIVE.load(Ordering::Relaxed)
}

/// Bytes this thread allocated minus those it freed (values are `!Send`: a value graph is
/// allocated and freed on one thread, so this shows a leak even while other tests run).
pub fn thread_net_bytes() -> i64 {
    NET.with(Cell::get)
}

/// (allocations, bytes allocated) by this thread so far.
pub fn thread_work() -> (u64, u64) {
    (ALLOCS.with(Cell::get), BYTES.with(Cell::get))
}

/// Runs `f` and returns its result with the (allocations, bytes) this thread made meanwhile.
pub fn measure<R>(f: impl FnOnce() -> R) -> (R, u64, u64) {
    let (a0, b0) = thread_work();
    let r = f();
    let (a1, b1) = thread_work();
    (r, a1 - a0, b1 - b0)
}

//! Time, passed in rather than read from the OS: [`Clock`], the real [`SystemClock`] (native
//! only: `SystemTime::now()` panics on `wasm32-unknown-unknown`) and [`ManualClock`] for tests.
//!
//! A handler sees one instant for its whole turn ([`crate::context::Ctx::now_ms`]), like
//! Workers, where `Date.now()` only advances across I/O.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

/// A source of "now", in milliseconds since the Unix epoch.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now_ms(&self) -> i64;
}

/// The operating system's clock.
#[cfg(feature = "native")]
#[cfg_attr(docsrs, doc(cfg(feature = "native")))]
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

#[cfg(feature = "native")]
impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }
}

type Listener = Box<dyn Fn(i64) + Send + Sync>;

/// A clock that only moves when told to. Share it with [`Arc`]; a runtime built on it fires
/// alarms as soon as [`ManualClock::advance`] or [`ManualClock::set`] makes them due.
///
/// ```
/// use lumenize_core::clock::{Clock, ManualClock};
/// let clock = ManualClock::new(1_000);
/// clock.advance(500);
/// assert_eq!(clock.now_ms(), 1_500);
/// ```
pub struct ManualClock {
    now: AtomicI64,
    listeners: Mutex<Vec<Listener>>,
}

impl ManualClock {
    /// A clock stopped at `start_ms`.
    pub fn new(start_ms: i64) -> Arc<ManualClock> {
        Arc::new(ManualClock {
            now: AtomicI64::new(start_ms),
            listeners: Mutex::new(Vec::new()),
        })
    }

    /// Moves time forward by `ms` (negative values are ignored: time never goes back).
    pub fn advance(&self, ms: i64) {
        let now = self.now.fetch_add(ms.max(0), Ordering::SeqCst) + ms.max(0);
        self.notify(now);
    }

    /// Sets the time, if it is later than now.
    pub fn set(&self, ms: i64) {
        let now = self.now.fetch_max(ms, Ordering::SeqCst).max(ms);
        self.notify(now);
    }

    /// Registers `f`, called with the new time after every move (runtimes use this to wake
    /// their alarm timer).
    pub fn on_change(&self, f: impl Fn(i64) + Send + Sync + 'static) {
        if let Ok(mut l) = self.listeners.lock() {
            l.push(Box::new(f));
        }
    }

    fn notify(&self, now: i64) {
        if let Ok(l) = self.listeners.lock() {
            for f in l.iter() {
                f(now);
            }
        }
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.now.load(Ordering::SeqCst)
    }
}

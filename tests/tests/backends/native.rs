//! The suite's native backend: `lumenize_core::runtime` on SQLite files in a temporary
//! directory, with the system clock (the suite's time is real on both backends).

use lumenize_core::fetch::{self, EndpointServer, FetchPolicy};
use lumenize_core::ocan::ctn;
use lumenize_core::runtime::Runtime;
use lumenize_core::structured_clone::Value;
use reminders_worker::desk::{desk, DESK_BINDING};

use crate::suite::Backend;

/// The native runtime with the desk and the fetch executor registered (allowed to reach
/// loopback, where the suite's endpoint server listens).
pub struct Native {
    runtime: Option<Runtime>,
    dir: tempfile::TempDir,
    server: EndpointServer,
}

fn build(dir: &std::path::Path) -> Runtime {
    fetch::install_with_policy(Runtime::builder(), FetchPolicy::default().allow_loopback())
        // The desk's direct fetches reach the endpoint server too, as in the workerd config.
        .object(DESK_BINDING, |ctx| {
            desk(ctx).with_direct_policy(FetchPolicy::default().allow_loopback())
        })
        .data_dir(dir)
        .build()
        .expect("the runtime starts")
}

impl Native {
    /// A fresh runtime on a new data directory.
    pub fn start() -> Native {
        let dir = tempfile::tempdir().expect("temp dir");
        Native {
            runtime: Some(build(dir.path())),
            server: EndpointServer::start().expect("endpoint server"),
            dir,
        }
    }

    fn rt(&self) -> &Runtime {
        self.runtime.as_ref().expect("running")
    }
}

impl Backend for Native {
    fn call(&self, desk: &str, method: &str, args: Vec<Value>) -> Result<Value, String> {
        self.rt()
            .object(DESK_BINDING, desk)
            .call(&ctn().call(method, args))
            .map_err(|e| e.to_string())
    }

    fn trigger(&self, desk: &str, limit: u32) -> Vec<String> {
        self.rt()
            .object(DESK_BINDING, desk)
            .trigger_alarms(limit as usize)
            .expect("trigger_alarms")
    }

    fn restart(&mut self) {
        // Dropping the runtime stops its threads and drops work in flight, as a crash would
        // (only committed turns are on disk).
        drop(self.runtime.take());
        self.runtime = Some(build(self.dir.path()));
    }

    fn endpoint(&self) -> String {
        self.server.base_url()
    }
}

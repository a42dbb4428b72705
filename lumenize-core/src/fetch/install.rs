//! Registering the executors and the orchestrator on a native runtime.

use super::executor::{FetchExecutor, FetchExecutorRpcTarget};
use super::options::{EXECUTOR_BINDING, EXECUTOR_RPC_BINDING, ORCHESTRATOR_BINDING};
use super::orchestrated::{
    FetchOrchestrator, FetchOrchestratorPolling, ORCHESTRATOR_POLLING_BINDING,
};
use super::policy::FetchPolicy;
use crate::runtime::RuntimeBuilder;

/// Registers the worker executor ([`EXECUTOR_BINDING`]), the RPC-target executor
/// ([`EXECUTOR_RPC_BINDING`]) and the orchestrator objects ([`ORCHESTRATOR_BINDING`], and
/// [`ORCHESTRATOR_POLLING_BINDING`] with the original's 5 s polling). The executors reach
/// public addresses only; see [`install_with_policy`].
pub fn install(builder: RuntimeBuilder) -> RuntimeBuilder {
    install_with_policy(builder, FetchPolicy::default())
}

/// [`install`], with executors that reach what `policy` allows (e.g.
/// `FetchPolicy::default().allow_loopback()` for a local test server).
pub fn install_with_policy(builder: RuntimeBuilder, policy: FetchPolicy) -> RuntimeBuilder {
    let rpc = policy.clone();
    builder
        .worker(EXECUTOR_BINDING, move |_| {
            FetchExecutor::with_policy(policy.clone())
        })
        .rpc_target(EXECUTOR_RPC_BINDING, move |_| {
            FetchExecutorRpcTarget::with_policy(rpc.clone())
        })
        .object(ORCHESTRATOR_BINDING, |_| FetchOrchestrator)
        .object(ORCHESTRATOR_POLLING_BINDING, |_| FetchOrchestratorPolling)
}

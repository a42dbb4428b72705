# Runs the example in a local workerd (no wrangler, no Node 22 needed):
#
#   cd examples/reminders-worker && worker-build --release
#   cd workerd && mkdir -p do-disk          # paths below are relative to the working directory
#   npx workerd@1.20261117.1 serve config.capnp
#
# The backend scenario suite (tests/tests/backend_workerd.rs) starts workerd from this very
# file, with its own port, token and storage directory substituted.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    # Durable Object storage on disk: SQLite-backed objects need it (inMemory has no SQL).
    (name = "do-disk", disk = (path = "do-disk", writable = true)),
    # The default network refuses private and loopback addresses; allow them so a local
    # endpoint can be proxied. On Cloudflare this service does not exist.
    (name = "internet", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:8787", http = (), service = "main")],
);

const worker :Workerd.Worker = (
  modules = [
    (name = "index.js", esModule = embed "../build/index.js"),
    (name = "index_bg.wasm", wasm = embed "../build/index_bg.wasm"),
  ],
  compatibilityDate = "2025-09-01",
  durableObjectNamespaces = [
    (className = "DeskObject", uniqueKey = "reminders-worker-desk", enableSql = true),
    # The orchestrated fetch design's orchestrator (lumenize_core::fetch::FetchOrchestrator).
    (className = "OrchestratorObject", uniqueKey = "reminders-worker-orchestrator", enableSql = true),
  ],
  durableObjectStorage = (localDisk = "do-disk"),
  bindings = [
    (name = "DESK", durableObjectNamespace = "DeskObject"),
    (name = "FETCH_ORCHESTRATOR", durableObjectNamespace = "OrchestratorObject"),
    # The fetch executor is this same worker, reached through a service binding.
    (name = "FETCH_EXECUTOR", service = "main"),
    # Local runs only: in production set it with `wrangler secret put LUMENIZE_TOKEN` to a
    # random value of at least 32 bytes (`openssl rand -hex 32`); shorter ones are refused.
    (name = "LUMENIZE_TOKEN", text = "dev-only-token-not-a-secret-0123456789abcdef"),
    # Local runs and tests only: serves the `Trigger` test hook (runs schedules early).
    # Never set it in a deployment.
    (name = "LUMENIZE_TEST_HOOKS", text = "1"),
    # Local runs and tests only: the fetch executor and the desk's direct fetches may reach
    # loopback (a local test server).
    (name = "ALLOW_LOCAL_FETCH", text = "1"),
    # Read by the desk's `settings` handler through `CfExt` (the Worker's Env): a var and a
    # secret (both are text bindings to workerd; in production `[vars]` and
    # `wrangler secret put DESK_SECRET`).
    (name = "GREETING", text = "hello from workerd"),
    (name = "DESK_SECRET", text = "example-secret-not-secret"),
  ],
  globalOutbound = "internet",
);
